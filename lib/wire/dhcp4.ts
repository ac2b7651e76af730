import { Ipv4Address, MacAddress } from './address';
import { isDrop, type DropReason } from './drop';

/**
 * DHCPv4 messages (RFC 2131 §2: the BOOTP format of RFC 951 with the options field of
 * RFC 2132 behind a magic cookie). The view reads the fixed part in place; the repr holds
 * the fixed fields and the options a client needs, decoded and checked. Options we do not
 * know are skipped (RFC 2131 §4.1: a client ignores options it does not understand) and
 * not re-emitted; the 'sname' and 'file' fields are read only as option overflow.
 */
export const DHCP4_SERVER_PORT = 67;
export const DHCP4_CLIENT_PORT = 68;

/** RFC 2131 §3: 99.130.83.99 opens the options field. */
export const DHCP4_MAGIC_COOKIE = 0x63825363;

/** op: RFC 951 BOOTREQUEST (client to server) and BOOTREPLY. */
export const BootpOp = { Request: 1, Reply: 2 } as const;

/** Option 53 values (RFC 2132 §9.6). Others (RFC 3203 FORCERENEW, leasequery) stay numbers. */
export const Dhcp4MessageType = { Discover: 1, Offer: 2, Request: 3, Decline: 4, Ack: 5, Nak: 6, Release: 7, Inform: 8 } as const;

/** RFC 2132 option codes. */
export const Dhcp4Option = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServer: 6,
  Hostname: 12,
  InterfaceMtu: 26,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParamRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientId: 61,
  End: 255,
} as const;

/** Where the options begin: after the 236-byte fixed part (RFC 2131 §2, Figure 1) and the cookie. */
export const DHCP4_OPTIONS_OFFSET = 240;
/**
 * RFC 951's message is 300 bytes (its 'vend' field is 64); BOOTP relays and servers may
 * expect at least that (RFC 1542), so DHCP messages are padded to it.
 */
export const DHCP4_MIN_LEN = 300;

const HTYPE_ETHERNET = 1;
const HLEN_ETHERNET = 6;
const FLAG_BROADCAST = 0x8000;
/** The lease time that never ends (RFC 2131 §3.3). */
export const DHCP4_INFINITE_LEASE = 0xffff_ffff;

const OP = 0;
const HTYPE = 1;
const HLEN = 2;
const HOPS = 3;
const XID = 4;
const SECS = 8;
const FLAGS = 10;
const CIADDR = 12;
const YIADDR = 16;
const SIADDR = 20;
const GIADDR = 24;
const CHADDR = 28;
const SNAME = 44;
const FILE = 108;
const COOKIE = 236;
const SNAME_LEN = 64;
const FILE_LEN = 128;

/** RFC 2132 §9.3 option 52: which of 'file' (1), 'sname' (2) or both (3) carry options. */
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

export class Dhcp4Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /** The buffer is the UDP payload: the fixed part and the cookie must be there. */
  static checked(buf: Uint8Array): Dhcp4Packet | DropReason {
    if (buf.length < DHCP4_OPTIONS_OFFSET) return 'truncated';
    if (readU32(buf, COOKIE) !== DHCP4_MAGIC_COOKIE) return 'bad-magic-cookie';
    return new Dhcp4Packet(buf);
  }

  get op(): number {
    return this.buffer[OP];
  }
  get htype(): number {
    return this.buffer[HTYPE];
  }
  get hlen(): number {
    return this.buffer[HLEN];
  }
  get hops(): number {
    return this.buffer[HOPS];
  }
  get xid(): number {
    return readU32(this.buffer, XID);
  }
  get secs(): number {
    return (this.buffer[SECS] << 8) | this.buffer[SECS + 1];
  }
  get flags(): number {
    return (this.buffer[FLAGS] << 8) | this.buffer[FLAGS + 1];
  }
  get broadcast(): boolean {
    return (this.flags & FLAG_BROADCAST) !== 0;
  }
  get ciaddr(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, CIADDR);
  }
  get yiaddr(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, YIADDR);
  }
  get siaddr(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, SIADDR);
  }
  get giaddr(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, GIADDR);
  }
  /** The first six bytes of 'chaddr': the client's MAC on Ethernet. */
  get clientMac(): MacAddress {
    return MacAddress.fromBytes(this.buffer, CHADDR);
  }
  get sname(): Uint8Array {
    return this.buffer.subarray(SNAME, SNAME + SNAME_LEN);
  }
  get file(): Uint8Array {
    return this.buffer.subarray(FILE, FILE + FILE_LEN);
  }
  get options(): Uint8Array {
    return this.buffer.subarray(DHCP4_OPTIONS_OFFSET);
  }
}

/**
 * Walks one region of options into `into` (fragments per code, in order). PAD is one
 * octet; END, or the region's end when END is missing (tolerated: the region's length
 * is known, so nothing is ambiguous), ends the list; every other option is code,
 * length, data, and must fit inside the region.
 */
function walkOptions(region: Uint8Array, into: Map<number, Uint8Array[]>): DropReason | undefined {
  let i = 0;
  while (i < region.length) {
    const code = region[i];
    if (code === Dhcp4Option.End) return undefined;
    if (code === Dhcp4Option.Pad) {
      i++;
      continue;
    }
    if (i + 1 >= region.length) return 'bad-option-length';
    const len = region[i + 1];
    if (i + 2 + len > region.length) return 'bad-option-length';
    const parts = into.get(code);
    const data = region.subarray(i + 2, i + 2 + len);
    if (parts) parts.push(data);
    else into.set(code, [data]);
    i += 2 + len;
  }
  return undefined;
}

/**
 * All options of the message, each code's instances concatenated (RFC 3396: the
 * aggregate buffer is 'options', then 'file', then 'sname', when option 52 says they are
 * overloaded). A duplicate of a fixed-size option therefore fails its length check. The
 * overload option counts only in the 'options' field: one in 'file' or 'sname' would
 * point at itself, so it is rejected rather than followed; there is no recursion.
 */
function collectOptions(pkt: Dhcp4Packet): Map<number, Uint8Array> | DropReason {
  const parts = new Map<number, Uint8Array[]>();
  const bad = walkOptions(pkt.options, parts);
  if (bad) return bad;
  const overload = parts.get(Dhcp4Option.Overload);
  if (overload) {
    if (overload.length !== 1 || overload[0].length !== 1) return 'bad-overload';
    const which = overload[0][0];
    if (which < 1 || which > 3) return 'bad-overload';
    const regions = [which & OVERLOAD_FILE ? pkt.file : undefined, which & OVERLOAD_SNAME ? pkt.sname : undefined];
    for (const region of regions) {
      if (!region) continue;
      const badRegion = walkOptions(region, parts);
      if (badRegion) return badRegion;
      if (parts.get(Dhcp4Option.Overload)!.length !== 1) return 'bad-overload';
    }
  }
  const options = new Map<number, Uint8Array>();
  for (const [code, fragments] of parts) {
    if (fragments.length === 1) {
      options.set(code, fragments[0]);
      continue;
    }
    const joined = new Uint8Array(fragments.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of fragments) {
      joined.set(f, at);
      at += f.length;
    }
    options.set(code, joined);
  }
  return options;
}

/** A contiguous mask as its prefix length; undefined for a non-contiguous one (unusable since CIDR, RFC 4632). */
function maskToPrefixLen(mask: number): number | undefined {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return Math.clz32(inverted);
}

function prefixLenToMask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

function addressList(data: Uint8Array): Ipv4Address[] {
  const out: Ipv4Address[] = [];
  for (let i = 0; i < data.length; i += 4) out.push(Ipv4Address.fromBytes(data, i));
  return out;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

export interface Dhcp4ReprFields {
  op: number;
  xid: number;
  clientMac: MacAddress;
  messageType: number;
  hops?: number;
  secs?: number;
  broadcast?: boolean;
  ciaddr?: Ipv4Address;
  yiaddr?: Ipv4Address;
  siaddr?: Ipv4Address;
  giaddr?: Ipv4Address;
  serverId?: Ipv4Address;
  requestedIp?: Ipv4Address;
  /** Seconds; DHCP4_INFINITE_LEASE never ends. */
  leaseTime?: number;
  /** T1, seconds. */
  renewalTime?: number;
  /** T2, seconds. */
  rebindingTime?: number;
  /** Option 1, the subnet mask, as a prefix length (only contiguous masks exist). */
  prefixLen?: number;
  routers?: Ipv4Address[];
  dnsServers?: Ipv4Address[];
  interfaceMtu?: number;
  paramRequestList?: number[];
  clientId?: Uint8Array;
  hostname?: string;
  maxMessageSize?: number;
  /** Option 56, a human-readable error (in a NAK or DECLINE). */
  message?: string;
}

export class Dhcp4Repr {
  readonly op: number;
  readonly xid: number;
  readonly clientMac: MacAddress;
  readonly messageType: number;
  readonly hops: number;
  readonly secs: number;
  readonly broadcast: boolean;
  readonly ciaddr: Ipv4Address;
  readonly yiaddr: Ipv4Address;
  readonly siaddr: Ipv4Address;
  readonly giaddr: Ipv4Address;
  readonly serverId: Ipv4Address | undefined;
  readonly requestedIp: Ipv4Address | undefined;
  readonly leaseTime: number | undefined;
  readonly renewalTime: number | undefined;
  readonly rebindingTime: number | undefined;
  readonly prefixLen: number | undefined;
  readonly routers: Ipv4Address[];
  readonly dnsServers: Ipv4Address[];
  readonly interfaceMtu: number | undefined;
  readonly paramRequestList: number[] | undefined;
  readonly clientId: Uint8Array | undefined;
  readonly hostname: string | undefined;
  readonly maxMessageSize: number | undefined;
  readonly message: string | undefined;

  constructor(f: Dhcp4ReprFields) {
    this.op = f.op;
    this.xid = f.xid >>> 0;
    this.clientMac = f.clientMac;
    this.messageType = f.messageType;
    this.hops = f.hops ?? 0;
    this.secs = f.secs ?? 0;
    this.broadcast = f.broadcast ?? false;
    this.ciaddr = f.ciaddr ?? Ipv4Address.UNSPECIFIED;
    this.yiaddr = f.yiaddr ?? Ipv4Address.UNSPECIFIED;
    this.siaddr = f.siaddr ?? Ipv4Address.UNSPECIFIED;
    this.giaddr = f.giaddr ?? Ipv4Address.UNSPECIFIED;
    this.serverId = f.serverId;
    this.requestedIp = f.requestedIp;
    this.leaseTime = f.leaseTime;
    this.renewalTime = f.renewalTime;
    this.rebindingTime = f.rebindingTime;
    this.prefixLen = f.prefixLen;
    this.routers = f.routers ?? [];
    this.dnsServers = f.dnsServers ?? [];
    this.interfaceMtu = f.interfaceMtu;
    this.paramRequestList = f.paramRequestList;
    this.clientId = f.clientId;
    this.hostname = f.hostname;
    this.maxMessageSize = f.maxMessageSize;
    this.message = f.message;
  }

  static parse(pkt: Dhcp4Packet): Dhcp4Repr | DropReason {
    if (pkt.op !== BootpOp.Request && pkt.op !== BootpOp.Reply) return 'bad-op';
    if (pkt.htype !== HTYPE_ETHERNET || pkt.hlen !== HLEN_ETHERNET) return 'unsupported-hardware';
    const options = collectOptions(pkt);
    if (isDrop(options)) return options;
    const decoded = decodeOptions(options);
    if (isDrop(decoded)) return decoded;
    if (decoded.messageType === undefined) return 'no-message-type';
    return new Dhcp4Repr({
      ...decoded,
      messageType: decoded.messageType,
      op: pkt.op,
      xid: pkt.xid,
      clientMac: pkt.clientMac,
      hops: pkt.hops,
      secs: pkt.secs,
      broadcast: pkt.broadcast,
      ciaddr: pkt.ciaddr,
      yiaddr: pkt.yiaddr,
      siaddr: pkt.siaddr,
      giaddr: pkt.giaddr,
    });
  }

  /** The options in the order they are emitted: code and data, before splitting into ≤255-byte instances. */
  private encodedOptions(): Array<[number, Uint8Array]> {
    const out: Array<[number, Uint8Array]> = [[Dhcp4Option.MessageType, Uint8Array.of(this.messageType)]];
    const address = (code: number, a: Ipv4Address | undefined) => a && out.push([code, addressBytes([a])]);
    const u32 = (code: number, v: number | undefined) => v !== undefined && out.push([code, u32Bytes(v)]);
    const u16 = (code: number, v: number | undefined) => v !== undefined && out.push([code, Uint8Array.of(v >> 8, v & 0xff)]);
    const text = (code: number, s: string | undefined) => s !== undefined && out.push([code, textEncoder.encode(s)]);
    if (this.clientId) out.push([Dhcp4Option.ClientId, this.clientId]);
    address(Dhcp4Option.RequestedIp, this.requestedIp);
    address(Dhcp4Option.ServerId, this.serverId);
    u16(Dhcp4Option.MaxMessageSize, this.maxMessageSize);
    text(Dhcp4Option.Hostname, this.hostname);
    if (this.paramRequestList) out.push([Dhcp4Option.ParamRequestList, Uint8Array.from(this.paramRequestList)]);
    u32(Dhcp4Option.LeaseTime, this.leaseTime);
    u32(Dhcp4Option.RenewalTime, this.renewalTime);
    u32(Dhcp4Option.RebindingTime, this.rebindingTime);
    if (this.prefixLen !== undefined) out.push([Dhcp4Option.SubnetMask, u32Bytes(prefixLenToMask(this.prefixLen))]);
    if (this.routers.length > 0) out.push([Dhcp4Option.Router, addressBytes(this.routers)]);
    if (this.dnsServers.length > 0) out.push([Dhcp4Option.DnsServer, addressBytes(this.dnsServers)]);
    u16(Dhcp4Option.InterfaceMtu, this.interfaceMtu);
    text(Dhcp4Option.Message, this.message);
    return out;
  }

  /** Fixed part, cookie, options (each longer than 255 bytes split per RFC 3396), END, padded to 300 bytes. */
  bufferLen(): number {
    let len = DHCP4_OPTIONS_OFFSET + 1;
    for (const [, data] of this.encodedOptions()) len += data.length + 2 * Math.max(1, Math.ceil(data.length / 255));
    return Math.max(len, DHCP4_MIN_LEN);
  }

  emit(buf: Uint8Array, offset = 0): void {
    const end = offset + this.bufferLen();
    buf.fill(0, offset, end);
    buf[offset + OP] = this.op;
    buf[offset + HTYPE] = HTYPE_ETHERNET;
    buf[offset + HLEN] = HLEN_ETHERNET;
    buf[offset + HOPS] = this.hops;
    buf.set(u32Bytes(this.xid), offset + XID);
    buf[offset + SECS] = this.secs >> 8;
    buf[offset + SECS + 1] = this.secs & 0xff;
    buf[offset + FLAGS] = this.broadcast ? FLAG_BROADCAST >> 8 : 0;
    this.ciaddr.writeTo(buf, offset + CIADDR);
    this.yiaddr.writeTo(buf, offset + YIADDR);
    this.siaddr.writeTo(buf, offset + SIADDR);
    this.giaddr.writeTo(buf, offset + GIADDR);
    this.clientMac.writeTo(buf, offset + CHADDR);
    buf.set(u32Bytes(DHCP4_MAGIC_COOKIE), offset + COOKIE);
    let at = offset + DHCP4_OPTIONS_OFFSET;
    for (const [code, data] of this.encodedOptions()) {
      // RFC 3396: a value longer than 255 bytes goes out as consecutive instances.
      let from = 0;
      do {
        const chunk = data.subarray(from, from + 255);
        buf[at] = code;
        buf[at + 1] = chunk.length;
        buf.set(chunk, at + 2);
        at += 2 + chunk.length;
        from += 255;
      } while (from < data.length);
    }
    buf[at] = Dhcp4Option.End;
  }
}

function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function addressBytes(list: Ipv4Address[]): Uint8Array {
  const out = new Uint8Array(4 * list.length);
  list.forEach((a, i) => a.writeTo(out, 4 * i));
  return out;
}

type DecodedOptions = Omit<Dhcp4ReprFields, 'op' | 'xid' | 'clientMac' | 'messageType'> & { messageType?: number };

/** Reads one option's value, or undefined when its bytes cannot be that value. */
type Decoder = (data: Uint8Array) => unknown;

const address: Decoder = (d) => (d.length === 4 ? Ipv4Address.fromBytes(d) : undefined);
const addresses: Decoder = (d) => (d.length > 0 && d.length % 4 === 0 ? addressList(d) : undefined);
const u32: Decoder = (d) => (d.length === 4 ? readU32(d, 0) : undefined);
const u16AtLeast = (min: number): Decoder => (d) => (d.length === 2 && ((d[0] << 8) | d[1]) >= min ? (d[0] << 8) | d[1] : undefined);
const text: Decoder = (d) => (d.length > 0 ? textDecoder.decode(d) : undefined);

/**
 * The options we understand, each checked against RFC 2132: a value of the wrong size is
 * 'bad-option', and so is a non-contiguous subnet mask, an MTU under 68 (§5.1), a maximum
 * message size under 576 (§9.10) or a client id without an identifier (§9.14).
 */
const DECODERS = new Map<number, [keyof DecodedOptions, Decoder]>([
  [Dhcp4Option.MessageType, ['messageType', (d) => (d.length === 1 ? d[0] : undefined)]],
  [Dhcp4Option.ServerId, ['serverId', address]],
  [Dhcp4Option.RequestedIp, ['requestedIp', address]],
  [Dhcp4Option.LeaseTime, ['leaseTime', u32]],
  [Dhcp4Option.RenewalTime, ['renewalTime', u32]],
  [Dhcp4Option.RebindingTime, ['rebindingTime', u32]],
  [Dhcp4Option.SubnetMask, ['prefixLen', (d) => (d.length === 4 ? maskToPrefixLen(readU32(d, 0)) : undefined)]],
  [Dhcp4Option.Router, ['routers', addresses]],
  [Dhcp4Option.DnsServer, ['dnsServers', addresses]],
  [Dhcp4Option.InterfaceMtu, ['interfaceMtu', u16AtLeast(68)]],
  [Dhcp4Option.MaxMessageSize, ['maxMessageSize', u16AtLeast(576)]],
  [Dhcp4Option.ParamRequestList, ['paramRequestList', (d) => (d.length > 0 ? Array.from(d) : undefined)]],
  [Dhcp4Option.ClientId, ['clientId', (d) => (d.length >= 2 ? d.slice() : undefined)]],
  [Dhcp4Option.Hostname, ['hostname', text]],
  [Dhcp4Option.Message, ['message', text]],
]);

function decodeOptions(options: Map<number, Uint8Array>): DecodedOptions | DropReason {
  const out: Record<string, unknown> = {};
  for (const [code, data] of options) {
    const decoder = DECODERS.get(code);
    if (!decoder) continue;
    const value = decoder[1](data);
    if (value === undefined) return 'bad-option';
    out[decoder[0]] = value;
  }
  return out as DecodedOptions;
}
