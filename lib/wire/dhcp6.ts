import { Ipv6Address, type MacAddress } from './address';
import type { DropReason } from './drop';

/**
 * DHCPv6 client/server messages (RFC 8415 §8): a message type, a 24-bit transaction id
 * and options, each a 16-bit code, a 16-bit length and data (§21.1). The repr holds the
 * options a client needs, decoded and checked; options we do not know are skipped
 * (§16: a client ignores options it does not understand) and not re-emitted. Nesting is
 * walked only as deep as IA_NA → IAADDR (→ its options, bounds-checked and skipped), so
 * hostile input cannot recurse. Relay messages (§9) are for relays and servers: dropped.
 */
export const DHCP6_CLIENT_PORT = 546;
export const DHCP6_SERVER_PORT = 547;

/** RFC 8415 §7.1: ff02::1:2, where a client sends every message. */
export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = Ipv6Address.parse('ff02::1:2');

/** RFC 8415 §7.3. Others (RECONFIGURE 10, leasequery, ...) stay numbers. */
export const Dhcp6MessageType = {
  Solicit: 1,
  Advertise: 2,
  Request: 3,
  Confirm: 4,
  Renew: 5,
  Rebind: 6,
  Reply: 7,
  Release: 8,
  Decline: 9,
  InformationRequest: 11,
  RelayForw: 12,
  RelayRepl: 13,
} as const;

/** RFC 8415 §21 option codes; DNS_SERVERS from RFC 3646 §3. */
export const Dhcp6Option = {
  ClientId: 1,
  ServerId: 2,
  IaNa: 3,
  IaAddr: 5,
  Oro: 6,
  Preference: 7,
  ElapsedTime: 8,
  StatusCode: 13,
  RapidCommit: 14,
  DnsServers: 23,
} as const;

/** RFC 8415 §21.13 status codes. */
export const Dhcp6StatusCode = { Success: 0, UnspecFail: 1, NoAddrsAvail: 2, NoBinding: 3, NotOnLink: 4, UseMulticast: 5 } as const;

/** §7.7: a lifetime or T1/T2 of all ones never ends. */
export const DHCP6_INFINITY = 0xffff_ffff;

/** §11.1: a DUID is at most 128 octets after its 2-octet type. */
const MAX_DUID_LEN = 130;
const HEADER_LEN = 4;
const OPTION_HEADER_LEN = 4;
/** §21.4: IAID, T1, T2. */
const IA_NA_FIXED_LEN = 12;
/** §21.6: address, preferred and valid lifetimes. */
const IAADDR_FIXED_LEN = 24;
const DUID_LL = 3;
const HARDWARE_ETHERNET = 1;

export interface Dhcp6Status {
  code: number;
  message: string;
}

export interface Dhcp6IaAddress {
  address: Ipv6Address;
  preferredS: number;
  validS: number;
}

export interface Dhcp6IaNa {
  iaid: number;
  t1S: number;
  t2S: number;
  addresses: Dhcp6IaAddress[];
  status?: Dhcp6Status;
}

export interface Dhcp6ReprFields {
  messageType: number;
  transactionId: number;
  clientId?: Uint8Array;
  serverId?: Uint8Array;
  iaNa?: Dhcp6IaNa[];
  oro?: number[];
  /** §21.9: hundredths of a second since the client began the exchange. */
  elapsedCs?: number;
  preference?: number;
  status?: Dhcp6Status;
  dnsServers?: Ipv6Address[];
  rapidCommit?: boolean;
}

/** §11.4: DUID-LL from an Ethernet MAC (type 3, hardware type 1), stable for the interface. */
export function duidLl(mac: MacAddress): Uint8Array {
  const duid = new Uint8Array(10);
  duid[1] = DUID_LL;
  duid[3] = HARDWARE_ETHERNET;
  mac.writeTo(duid, 4);
  return duid;
}

function readU16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function writeU16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  writeU16(buf, at, v >>> 16);
  writeU16(buf, at + 2, v & 0xffff);
}

/**
 * Calls `visit(code, data)` for every option in `region`; every option must fit inside
 * the region (§21.1). A visitor's drop reason stops the walk.
 */
function walkOptions(region: Uint8Array, visit: (code: number, data: Uint8Array) => DropReason | undefined): DropReason | undefined {
  let i = 0;
  while (i < region.length) {
    if (i + OPTION_HEADER_LEN > region.length) return 'truncated';
    const len = readU16(region, i + 2);
    if (i + OPTION_HEADER_LEN + len > region.length) return 'bad-option-length';
    const bad = visit(readU16(region, i), region.subarray(i + OPTION_HEADER_LEN, i + OPTION_HEADER_LEN + len));
    if (bad) return bad;
    i += OPTION_HEADER_LEN + len;
  }
  return undefined;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

/** §21.13: a 2-octet code and a UTF-8 message. */
function parseStatus(data: Uint8Array): Dhcp6Status | DropReason {
  if (data.length < 2) return 'bad-option';
  return { code: readU16(data, 0), message: textDecoder.decode(data.subarray(2)) };
}

/** §21.6: an IAADDR; its own options (a status code at most) are bounds-checked and skipped. */
function parseIaAddr(data: Uint8Array): Dhcp6IaAddress | DropReason {
  if (data.length < IAADDR_FIXED_LEN) return 'bad-option';
  const bad = walkOptions(data.subarray(IAADDR_FIXED_LEN), () => undefined);
  if (bad) return bad;
  return { address: Ipv6Address.fromBytes(data, 0), preferredS: readU32(data, 16), validS: readU32(data, 20) };
}

/** §21.4: an IA_NA with its addresses and status. */
function parseIaNa(data: Uint8Array): Dhcp6IaNa | DropReason {
  if (data.length < IA_NA_FIXED_LEN) return 'bad-option';
  const ia: Dhcp6IaNa = { iaid: readU32(data, 0), t1S: readU32(data, 4), t2S: readU32(data, 8), addresses: [] };
  const bad = walkOptions(data.subarray(IA_NA_FIXED_LEN), (code, inner) => {
    if (code === Dhcp6Option.IaAddr) {
      const address = parseIaAddr(inner);
      if (typeof address === 'string') return address;
      ia.addresses.push(address);
    } else if (code === Dhcp6Option.StatusCode) {
      const status = parseStatus(inner);
      if (typeof status === 'string') return status;
      ia.status = status;
    }
    return undefined;
  });
  return bad ?? ia;
}

export class Dhcp6Repr {
  readonly messageType: number;
  readonly transactionId: number;
  readonly clientId: Uint8Array | undefined;
  readonly serverId: Uint8Array | undefined;
  readonly iaNa: Dhcp6IaNa[];
  readonly oro: number[];
  readonly elapsedCs: number | undefined;
  readonly preference: number | undefined;
  readonly status: Dhcp6Status | undefined;
  readonly dnsServers: Ipv6Address[];
  readonly rapidCommit: boolean;

  constructor(f: Dhcp6ReprFields) {
    this.messageType = f.messageType;
    this.transactionId = f.transactionId & 0xff_ffff;
    this.clientId = f.clientId;
    this.serverId = f.serverId;
    this.iaNa = f.iaNa ?? [];
    this.oro = f.oro ?? [];
    this.elapsedCs = f.elapsedCs;
    this.preference = f.preference;
    this.status = f.status;
    this.dnsServers = f.dnsServers ?? [];
    this.rapidCommit = f.rapidCommit ?? false;
  }

  /** The buffer is the UDP payload. */
  static parse(buf: Uint8Array): Dhcp6Repr | DropReason {
    if (buf.length < HEADER_LEN) return 'truncated';
    const messageType = buf[0];
    if (messageType === Dhcp6MessageType.RelayForw || messageType === Dhcp6MessageType.RelayRepl) return 'relay-unsupported';
    const f: Dhcp6ReprFields & { iaNa: Dhcp6IaNa[] } = {
      messageType,
      transactionId: (buf[1] << 16) | (buf[2] << 8) | buf[3],
      iaNa: [],
    };
    const seen = new Set<number>();
    const bad = walkOptions(buf.subarray(HEADER_LEN), (code, data) => {
      // §21: only IA options may appear more than once at the top level.
      if (code !== Dhcp6Option.IaNa && seen.has(code)) return code in DECODED ? 'duplicate-option' : undefined;
      seen.add(code);
      return decodeOption(code, data, f);
    });
    return bad ?? new Dhcp6Repr(f);
  }

  /** Options in emission order (dnsmasq's, so its messages re-emit byte-exact): each code with its data. */
  private encodedOptions(): Array<[number, Uint8Array]> {
    const out: Array<[number, Uint8Array]> = [];
    if (this.clientId) out.push([Dhcp6Option.ClientId, this.clientId]);
    if (this.serverId) out.push([Dhcp6Option.ServerId, this.serverId]);
    for (const ia of this.iaNa) out.push([Dhcp6Option.IaNa, encodeIaNa(ia)]);
    if (this.status) out.push([Dhcp6Option.StatusCode, encodeStatus(this.status)]);
    if (this.oro.length > 0) {
      const oro = new Uint8Array(2 * this.oro.length);
      this.oro.forEach((code, i) => writeU16(oro, 2 * i, code));
      out.push([Dhcp6Option.Oro, oro]);
    }
    if (this.elapsedCs !== undefined) out.push([Dhcp6Option.ElapsedTime, Uint8Array.of(this.elapsedCs >> 8, this.elapsedCs & 0xff)]);
    if (this.preference !== undefined) out.push([Dhcp6Option.Preference, Uint8Array.of(this.preference)]);
    if (this.rapidCommit) out.push([Dhcp6Option.RapidCommit, new Uint8Array(0)]);
    if (this.dnsServers.length > 0) {
      const dns = new Uint8Array(16 * this.dnsServers.length);
      this.dnsServers.forEach((a, i) => a.writeTo(dns, 16 * i));
      out.push([Dhcp6Option.DnsServers, dns]);
    }
    return out;
  }

  bufferLen(): number {
    return this.encodedOptions().reduce((n, [, data]) => n + OPTION_HEADER_LEN + data.length, HEADER_LEN);
  }

  emit(buf: Uint8Array, offset = 0): void {
    buf[offset] = this.messageType;
    buf[offset + 1] = this.transactionId >>> 16;
    writeU16(buf, offset + 2, this.transactionId & 0xffff);
    writeOptions(buf, offset + HEADER_LEN, this.encodedOptions());
  }
}

/** The top-level options this repr decodes (a duplicate of one is ambiguous, so dropped). */
const DECODED: Record<number, true> = {
  [Dhcp6Option.ClientId]: true,
  [Dhcp6Option.ServerId]: true,
  [Dhcp6Option.Oro]: true,
  [Dhcp6Option.Preference]: true,
  [Dhcp6Option.ElapsedTime]: true,
  [Dhcp6Option.StatusCode]: true,
  [Dhcp6Option.RapidCommit]: true,
  [Dhcp6Option.DnsServers]: true,
};

function decodeOption(code: number, data: Uint8Array, f: Dhcp6ReprFields & { iaNa: Dhcp6IaNa[] }): DropReason | undefined {
  switch (code) {
    case Dhcp6Option.ClientId:
    case Dhcp6Option.ServerId:
      // §11.1: a DUID has a 2-octet type and at least one octet of identifier.
      if (data.length < 3 || data.length > MAX_DUID_LEN) return 'bad-option';
      if (code === Dhcp6Option.ClientId) f.clientId = data.slice();
      else f.serverId = data.slice();
      return undefined;
    case Dhcp6Option.IaNa: {
      const ia = parseIaNa(data);
      if (typeof ia === 'string') return ia;
      f.iaNa.push(ia);
      return undefined;
    }
    case Dhcp6Option.Oro:
      if (data.length % 2 !== 0) return 'bad-option';
      f.oro = [];
      for (let i = 0; i < data.length; i += 2) f.oro.push(readU16(data, i));
      return undefined;
    case Dhcp6Option.Preference:
      if (data.length !== 1) return 'bad-option';
      f.preference = data[0];
      return undefined;
    case Dhcp6Option.ElapsedTime:
      if (data.length !== 2) return 'bad-option';
      f.elapsedCs = readU16(data, 0);
      return undefined;
    case Dhcp6Option.StatusCode: {
      const status = parseStatus(data);
      if (typeof status === 'string') return status;
      f.status = status;
      return undefined;
    }
    case Dhcp6Option.RapidCommit:
      if (data.length !== 0) return 'bad-option';
      f.rapidCommit = true;
      return undefined;
    case Dhcp6Option.DnsServers:
      // RFC 3646 §3: a list of 16-octet addresses.
      if (data.length % 16 !== 0) return 'bad-option';
      f.dnsServers = [];
      for (let i = 0; i < data.length; i += 16) f.dnsServers.push(Ipv6Address.fromBytes(data, i));
      return undefined;
  }
  return undefined;
}

function encodeStatus(status: Dhcp6Status): Uint8Array {
  const text = textEncoder.encode(status.message);
  const out = new Uint8Array(2 + text.length);
  writeU16(out, 0, status.code);
  out.set(text, 2);
  return out;
}

function encodeIaNa(ia: Dhcp6IaNa): Uint8Array {
  const inner: Array<[number, Uint8Array]> = ia.addresses.map((a) => {
    const data = new Uint8Array(IAADDR_FIXED_LEN);
    a.address.writeTo(data, 0);
    writeU32(data, 16, a.preferredS);
    writeU32(data, 20, a.validS);
    return [Dhcp6Option.IaAddr, data];
  });
  if (ia.status) inner.push([Dhcp6Option.StatusCode, encodeStatus(ia.status)]);
  const out = new Uint8Array(inner.reduce((n, [, d]) => n + OPTION_HEADER_LEN + d.length, IA_NA_FIXED_LEN));
  writeU32(out, 0, ia.iaid);
  writeU32(out, 4, ia.t1S);
  writeU32(out, 8, ia.t2S);
  writeOptions(out, IA_NA_FIXED_LEN, inner);
  return out;
}

function writeOptions(buf: Uint8Array, at: number, options: Array<[number, Uint8Array]>): void {
  for (const [code, data] of options) {
    writeU16(buf, at, code);
    writeU16(buf, at + 2, data.length);
    buf.set(data, at + OPTION_HEADER_LEN);
    at += OPTION_HEADER_LEN + data.length;
  }
}
