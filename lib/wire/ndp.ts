import { Ipv6Address, MacAddress } from './address';
import type { DropReason } from './drop';
import { ICMPV6_ERROR_MAX_INVOKING, ICMPV6_HEADER_LEN, Icmpv6Repr, Icmpv6Type } from './icmpv6';

/**
 * Neighbor Discovery messages (RFC 4861 §4) read from and written to an `Icmpv6Repr`:
 * Router Solicitation and Advertisement, Neighbor Solicitation and Advertisement, Redirect,
 * with their options (§4.6, Nonce RFC 3971 §5.3.2, RDNSS RFC 8106 §5.1) and the router
 * preference of RFC 4191 §2.2. The checks that need the IP header (hop limit 255, source
 * and destination address rules of §6.1, §7.1, §8.1) are the caller's.
 */

export interface NdpPrefixInfo {
  /** The prefix with the bits past `prefixLen` cleared (RFC 4861 §4.6.2: ignored by the receiver). */
  prefix: Ipv6Address;
  prefixLen: number;
  onLink: boolean;
  autonomous: boolean;
  /** 0xffffffff = infinity (RFC 4861 §4.6.2). */
  validLifetimeS: number;
  preferredLifetimeS: number;
}

/**
 * The options of a message. Link-layer addresses, MTU, Redirected Header and Nonce keep the
 * first occurrence; Prefix Information and RDNSS may repeat. Byte fields are copies, so the
 * message outlives the receive buffer.
 */
export interface NdpOptions {
  sourceLinkAddr?: MacAddress;
  targetLinkAddr?: MacAddress;
  prefixes: NdpPrefixInfo[];
  mtu?: number;
  rdnss: { lifetimeS: number; servers: Ipv6Address[] }[];
  /** The IP header and data of the redirected packet (RFC 4861 §4.6.3). */
  redirectedHeader?: Uint8Array;
  /** RFC 3971 §5.3.2; enhanced DAD (RFC 7527) uses it to tell a looped-back probe from a duplicate. */
  nonce?: Uint8Array;
}

export type NdpRouterPreference = 'low' | 'medium' | 'high';

export type NdpMessage =
  | { type: 'rs'; options: NdpOptions }
  | {
      type: 'ra';
      curHopLimit: number;
      managed: boolean;
      other: boolean;
      preference: NdpRouterPreference;
      routerLifetimeS: number;
      reachableTimeMs: number;
      retransTimerMs: number;
      options: NdpOptions;
    }
  | { type: 'ns'; target: Ipv6Address; options: NdpOptions }
  | { type: 'na'; router: boolean; solicited: boolean; override: boolean; target: Ipv6Address; options: NdpOptions }
  | { type: 'redirect'; target: Ipv6Address; destination: Ipv6Address; options: NdpOptions };

export const NdpOptionType = {
  SourceLinkAddr: 1,
  TargetLinkAddr: 2,
  PrefixInfo: 3,
  RedirectedHeader: 4,
  Mtu: 5,
  Nonce: 14,
  Rdnss: 25,
} as const;

/** The bytes before the options, after the 32-bit field (RFC 4861 §4.1-§4.5). */
const FIXED_LEN = { rs: 0, ra: 8, ns: 16, na: 16, redirect: 32 } as const;
const TYPE_OF = {
  [Icmpv6Type.RouterSolicit]: 'rs',
  [Icmpv6Type.RouterAdvert]: 'ra',
  [Icmpv6Type.NeighborSolicit]: 'ns',
  [Icmpv6Type.NeighborAdvert]: 'na',
  [Icmpv6Type.Redirect]: 'redirect',
} as const;
const ICMP_TYPE = { rs: 133, ra: 134, ns: 135, na: 136, redirect: 137 } as const;

// RA flags byte (RFC 4861 §4.2, RFC 4191 §2.2 Prf in bits 3-4) and NA flags (RFC 4861 §4.4).
const RA_MANAGED = 0x80;
const RA_OTHER = 0x40;
const PRF_SHIFT = 3;
const PRF = { high: 0b01, medium: 0b00, low: 0b11 } as const;
const NA_ROUTER = 0x8000_0000;
const NA_SOLICITED = 0x4000_0000;
const NA_OVERRIDE = 0x2000_0000;
const PIO_ON_LINK = 0x80;
const PIO_AUTONOMOUS = 0x40;

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

export function emptyNdpOptions(): NdpOptions {
  return { prefixes: [], rdnss: [] };
}

/**
 * Message-level validity (RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1) that does not need
 * the IP header: code 0 ('bad-code'), the minimum length ('truncated'), every option of
 * length > 0 ('bad-option-length') and inside the message ('truncated'), a unicast NS/NA
 * target ('multicast-target'), a unicast Redirect destination ('multicast-destination')
 * and a Redirect target that is link-local or the destination itself ('bad-redirect-target').
 */
export function parseNdp(icmp: Icmpv6Repr): NdpMessage | DropReason {
  const type = TYPE_OF[icmp.type as keyof typeof TYPE_OF];
  if (type === undefined) return 'not-ndp';
  if (icmp.code !== 0) return 'bad-code';
  const body = icmp.payload;
  if (body.length < FIXED_LEN[type]) return 'truncated';
  const options = parseNdpOptions(body.subarray(FIXED_LEN[type]));
  if (typeof options === 'string') return options;
  const rest = icmp.restOfHeader;
  switch (type) {
    case 'rs':
      return { type, options };
    case 'ra': {
      const flags = (rest >>> 16) & 0xff;
      return {
        type,
        curHopLimit: rest >>> 24,
        managed: (flags & RA_MANAGED) !== 0,
        other: (flags & RA_OTHER) !== 0,
        preference: preferenceOf((flags >> PRF_SHIFT) & 0b11),
        routerLifetimeS: rest & 0xffff,
        reachableTimeMs: readU32(body, 0),
        retransTimerMs: readU32(body, 4),
        options,
      };
    }
    case 'ns':
    case 'na': {
      const target = Ipv6Address.fromBytes(body, 0);
      if (target.isMulticast) return 'multicast-target';
      if (type === 'ns') return { type, target, options };
      return { type, router: (rest & NA_ROUTER) !== 0, solicited: (rest & NA_SOLICITED) !== 0, override: (rest & NA_OVERRIDE) !== 0, target, options };
    }
    case 'redirect': {
      const target = Ipv6Address.fromBytes(body, 0);
      const destination = Ipv6Address.fromBytes(body, 16);
      if (destination.isMulticast) return 'multicast-destination';
      if (!target.isLinkLocal && !target.equals(destination)) return 'bad-redirect-target';
      return { type, target, destination, options };
    }
  }
}

/** RFC 4191 §2.2: the reserved value 10 is treated as 00 (medium). */
function preferenceOf(prf: number): NdpRouterPreference {
  return prf === PRF.high ? 'high' : prf === PRF.low ? 'low' : 'medium';
}

/**
 * RFC 4861 §4.6: type, length in units of 8 octets, data. A length of 0 makes the whole
 * message invalid (§6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1); unknown options are skipped
 * (§4.6); a known option of a length it cannot have is skipped too (a link-layer address
 * option on Ethernet has length 1, RFC 2464 §6; any other is some other link's).
 */
function parseNdpOptions(buf: Uint8Array): NdpOptions | DropReason {
  const opts = emptyNdpOptions();
  for (let at = 0; at < buf.length; ) {
    if (buf.length - at < 2) return 'truncated';
    const type = buf[at];
    const len = buf[at + 1] * 8;
    if (len === 0) return 'bad-option-length';
    if (at + len > buf.length) return 'truncated';
    readOption(type, buf.subarray(at, at + len), opts);
    at += len;
  }
  return opts;
}

function readOption(type: number, opt: Uint8Array, opts: NdpOptions): void {
  const len = opt.length;
  switch (type) {
    case NdpOptionType.SourceLinkAddr:
      if (len === 8 && !opts.sourceLinkAddr) opts.sourceLinkAddr = MacAddress.fromBytes(opt, 2);
      return;
    case NdpOptionType.TargetLinkAddr:
      if (len === 8 && !opts.targetLinkAddr) opts.targetLinkAddr = MacAddress.fromBytes(opt, 2);
      return;
    case NdpOptionType.PrefixInfo: {
      // RFC 4861 §4.6.2: length 4; the reserved bits and fields are ignored. A prefix
      // longer than 128 bits names nothing.
      const prefixLen = opt[2];
      if (len !== 32 || prefixLen > 128) return;
      opts.prefixes.push({
        prefix: maskedPrefix(opt.subarray(16, 32), prefixLen),
        prefixLen,
        onLink: (opt[3] & PIO_ON_LINK) !== 0,
        autonomous: (opt[3] & PIO_AUTONOMOUS) !== 0,
        validLifetimeS: readU32(opt, 4),
        preferredLifetimeS: readU32(opt, 8),
      });
      return;
    }
    case NdpOptionType.RedirectedHeader:
      // RFC 4861 §4.6.3: 6 reserved bytes, then the redirected packet.
      if (!opts.redirectedHeader) opts.redirectedHeader = opt.slice(8);
      return;
    case NdpOptionType.Mtu:
      if (len === 8 && opts.mtu === undefined) opts.mtu = readU32(opt, 4);
      return;
    case NdpOptionType.Nonce:
      if (!opts.nonce) opts.nonce = opt.slice(2);
      return;
    case NdpOptionType.Rdnss: {
      // RFC 8106 §5.1: length 3 for one server, +2 for each more, so >= 3 and odd.
      const units = len / 8;
      if (units < 3 || units % 2 === 0) return;
      const servers: Ipv6Address[] = [];
      for (let at = 8; at < len; at += 16) servers.push(Ipv6Address.fromBytes(opt, at));
      opts.rdnss.push({ lifetimeS: readU32(opt, 4), servers });
      return;
    }
  }
}

function maskedPrefix(bytes: Uint8Array, prefixLen: number): Ipv6Address {
  const b = bytes.slice();
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - 8 * i));
    b[i] &= (0xff00 >> keep) & 0xff;
  }
  return Ipv6Address.fromBytes(b);
}

/**
 * The ICMPv6 message for an NDP message, options included, each padded with zeros to a
 * multiple of 8 bytes (RFC 4861 §4.6). The RFC sets no order; this one is radvd's for RAs:
 * Prefix Information, RDNSS, MTU, then the link-layer addresses, Redirected Header, Nonce.
 */
export function ndpToIcmp(msg: NdpMessage): Icmpv6Repr {
  const fixed = FIXED_LEN[msg.type];
  const optionsLen = optionsLength(msg.options, fixed);
  const payload = new Uint8Array(fixed + optionsLen);
  let rest = 0;
  switch (msg.type) {
    case 'ra': {
      const flags = (msg.managed ? RA_MANAGED : 0) | (msg.other ? RA_OTHER : 0) | (PRF[msg.preference] << PRF_SHIFT);
      rest = ((msg.curHopLimit & 0xff) << 24) | (flags << 16) | (msg.routerLifetimeS & 0xffff);
      writeU32(payload, 0, msg.reachableTimeMs);
      writeU32(payload, 4, msg.retransTimerMs);
      break;
    }
    case 'ns':
      msg.target.writeTo(payload, 0);
      break;
    case 'na':
      rest = (msg.router ? NA_ROUTER : 0) | (msg.solicited ? NA_SOLICITED : 0) | (msg.override ? NA_OVERRIDE : 0);
      msg.target.writeTo(payload, 0);
      break;
    case 'redirect':
      msg.target.writeTo(payload, 0);
      msg.destination.writeTo(payload, 16);
      break;
  }
  writeOptions(msg.options, payload, fixed);
  return new Icmpv6Repr({ type: ICMP_TYPE[msg.type], code: 0, restOfHeader: rest, payload });
}

function padded(len: number): number {
  return Math.ceil(len / 8) * 8;
}

/**
 * RFC 4861 §4.6.3: the redirected packet is cut so that the Redirect does not exceed the
 * minimum MTU, which is the room an ICMPv6 error has (RFC 4443 §2.4 (c)).
 */
function redirectedRoom(opts: NdpOptions, fixed: number): number {
  const maxMessage = ICMPV6_HEADER_LEN + ICMPV6_ERROR_MAX_INVOKING;
  const others = optionsLength({ ...opts, redirectedHeader: undefined }, fixed);
  return Math.max(0, maxMessage - ICMPV6_HEADER_LEN - fixed - others - 8);
}

function optionsLength(opts: NdpOptions, fixed: number): number {
  let len = 32 * opts.prefixes.length;
  for (const r of opts.rdnss) len += 8 + 16 * r.servers.length;
  if (opts.mtu !== undefined) len += 8;
  if (opts.sourceLinkAddr) len += 8;
  if (opts.targetLinkAddr) len += 8;
  if (opts.nonce) len += padded(2 + opts.nonce.length);
  if (opts.redirectedHeader) len += 8 + padded(Math.min(opts.redirectedHeader.length, redirectedRoom(opts, fixed)));
  return len;
}

function writeOptions(opts: NdpOptions, buf: Uint8Array, start: number): void {
  let at = start;
  const header = (type: number, len: number): number => {
    buf[at] = type;
    buf[at + 1] = len / 8;
    const begin = at;
    at += len;
    return begin;
  };
  for (const p of opts.prefixes) {
    const o = header(NdpOptionType.PrefixInfo, 32);
    buf[o + 2] = p.prefixLen;
    buf[o + 3] = (p.onLink ? PIO_ON_LINK : 0) | (p.autonomous ? PIO_AUTONOMOUS : 0);
    writeU32(buf, o + 4, p.validLifetimeS);
    writeU32(buf, o + 8, p.preferredLifetimeS);
    p.prefix.writeTo(buf, o + 16);
  }
  for (const r of opts.rdnss) {
    const o = header(NdpOptionType.Rdnss, 8 + 16 * r.servers.length);
    writeU32(buf, o + 4, r.lifetimeS);
    r.servers.forEach((s, i) => s.writeTo(buf, o + 8 + 16 * i));
  }
  if (opts.mtu !== undefined) writeU32(buf, header(NdpOptionType.Mtu, 8) + 4, opts.mtu);
  if (opts.sourceLinkAddr) opts.sourceLinkAddr.writeTo(buf, header(NdpOptionType.SourceLinkAddr, 8) + 2);
  if (opts.targetLinkAddr) opts.targetLinkAddr.writeTo(buf, header(NdpOptionType.TargetLinkAddr, 8) + 2);
  if (opts.redirectedHeader) {
    const data = opts.redirectedHeader.subarray(0, redirectedRoom(opts, start));
    buf.set(data, header(NdpOptionType.RedirectedHeader, 8 + padded(data.length)) + 8);
  }
  if (opts.nonce) buf.set(opts.nonce, header(NdpOptionType.Nonce, padded(2 + opts.nonce.length)) + 2);
}
