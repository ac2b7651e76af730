import { Ipv4Address } from './address';
import { checksumIsValid, internetChecksum } from './checksum';
import type { DropReason } from './drop';

/**
 * The IPv4 header (RFC 791 §3.1). The view reads a received packet in place; the repr is
 * its validated meaning and writes a header (the payload is the caller's to place after
 * it), so a whole frame is built in one buffer.
 */
export const IPV4_HEADER_LEN = 20;

export const IpProtocol = { Icmp: 1, Igmp: 2, Tcp: 6, Udp: 17, Icmpv6: 58 } as const;

/** RFC 791 §3.1: the header is at most 15 words; options fill what is beyond 20 bytes. */
const MAX_HEADER_LEN = 60;
const MAX_TOTAL_LEN = 0xffff;

const VER_IHL = 0;
const DSCP_ECN = 1;
const LENGTH = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC = 12;
const DST = 16;

const FLAG_DF = 0x40;
const FLAG_MF = 0x20;

/** RFC 791 §3.1 "Options": End of Option List and No Operation are single octets. */
const OPTION_EOL = 0;
const OPTION_NOP = 1;

const NO_OPTIONS = new Uint8Array(0);

export class Ipv4Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * Accepts a buffer that holds the whole header and the whole packet its total length
   * announces; bytes after that (Ethernet padding) are allowed and ignored.
   */
  static checked(buf: Uint8Array): Ipv4Packet | DropReason {
    if (buf.length < IPV4_HEADER_LEN) return 'truncated';
    if (buf[VER_IHL] >> 4 !== 4) return 'bad-version';
    const headerLen = (buf[VER_IHL] & 0xf) * 4;
    if (headerLen < IPV4_HEADER_LEN) return 'bad-header-length';
    if (buf.length < headerLen) return 'truncated';
    const totalLength = (buf[LENGTH] << 8) | buf[LENGTH + 1];
    if (totalLength < headerLen) return 'bad-total-length';
    if (buf.length < totalLength) return 'truncated';
    return new Ipv4Packet(buf);
  }

  /**
   * The view of a datagram quoted in an ICMP error (RFC 792): the whole header, but
   * only as much of the payload as the error carried, so the total length may exceed
   * the buffer; `payload` is what is there.
   */
  static quoted(buf: Uint8Array): Ipv4Packet | DropReason {
    if (buf.length < IPV4_HEADER_LEN) return 'truncated';
    if (buf[VER_IHL] >> 4 !== 4) return 'bad-version';
    const headerLen = (buf[VER_IHL] & 0xf) * 4;
    if (headerLen < IPV4_HEADER_LEN) return 'bad-header-length';
    if (buf.length < headerLen) return 'truncated';
    if (((buf[LENGTH] << 8) | buf[LENGTH + 1]) < headerLen) return 'bad-total-length';
    return new Ipv4Packet(buf);
  }

  get version(): number {
    return this.buffer[VER_IHL] >> 4;
  }

  /** In bytes. */
  get headerLen(): number {
    return (this.buffer[VER_IHL] & 0xf) * 4;
  }

  /** RFC 2474 Differentiated Services codepoint: the top six bits of the old TOS byte. */
  get dscp(): number {
    return this.buffer[DSCP_ECN] >> 2;
  }

  /** RFC 3168 ECN: the low two bits of the old TOS byte. */
  get ecn(): number {
    return this.buffer[DSCP_ECN] & 0x3;
  }

  get totalLength(): number {
    return (this.buffer[LENGTH] << 8) | this.buffer[LENGTH + 1];
  }

  get ident(): number {
    return (this.buffer[IDENT] << 8) | this.buffer[IDENT + 1];
  }

  get dontFragment(): boolean {
    return (this.buffer[FLAGS_FRAG] & FLAG_DF) !== 0;
  }

  get moreFragments(): boolean {
    return (this.buffer[FLAGS_FRAG] & FLAG_MF) !== 0;
  }

  /** In bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (((this.buffer[FLAGS_FRAG] & 0x1f) << 8) | this.buffer[FLAGS_FRAG + 1]) * 8;
  }

  get ttl(): number {
    return this.buffer[TTL];
  }

  get protocol(): number {
    return this.buffer[PROTOCOL];
  }

  get checksum(): number {
    return (this.buffer[CHECKSUM] << 8) | this.buffer[CHECKSUM + 1];
  }

  get src(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, SRC);
  }

  get dst(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, DST);
  }

  get options(): Uint8Array {
    return this.buffer.subarray(IPV4_HEADER_LEN, this.headerLen);
  }

  get payload(): Uint8Array {
    return this.buffer.subarray(this.headerLen, this.totalLength);
  }

  checksumIsValid(): boolean {
    return checksumIsValid(this.buffer, 0, this.headerLen);
  }
}

/**
 * RFC 791 §3.1 option format: EOL ends the list (what follows is padding), NOP is one
 * octet, every other option is type, length (counting both) and data, inside the header.
 */
function optionsAreWellFormed(options: Uint8Array): boolean {
  return badOptionOffset(options) === undefined;
}

/**
 * The offset, within the option bytes, of the first malformed option, or undefined
 * when all are well formed: what a Parameter Problem's pointer names (RFC 792).
 */
export function badOptionOffset(options: Uint8Array): number | undefined {
  let i = 0;
  while (i < options.length) {
    const type = options[i];
    if (type === OPTION_EOL) return undefined;
    if (type === OPTION_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= options.length) return i;
    const len = options[i + 1];
    if (len < 2 || i + len > options.length) return i + 1;
    i += len;
  }
  return undefined;
}

export interface Ipv4ReprFields {
  src: Ipv4Address;
  dst: Ipv4Address;
  protocol: number;
  payloadLen: number;
  ttl?: number;
  dscp?: number;
  ecn?: number;
  ident?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In bytes, a multiple of 8. */
  fragmentOffset?: number;
  /** Raw option bytes as they go on the wire; padded with EOL to a multiple of 4 on emit. */
  options?: Uint8Array;
}

export class Ipv4Repr {
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly protocol: number;
  readonly payloadLen: number;
  readonly ttl: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly ident: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  readonly fragmentOffset: number;
  /** Kept as received (a subarray of the packet, no copy) until specific options are supported. */
  readonly options: Uint8Array;

  /** Throws a RangeError for values the header cannot carry: these are the caller's bugs, not input. */
  constructor(f: Ipv4ReprFields) {
    this.src = f.src;
    this.dst = f.dst;
    this.protocol = f.protocol;
    this.payloadLen = f.payloadLen;
    this.ttl = f.ttl ?? 64;
    this.dscp = f.dscp ?? 0;
    this.ecn = f.ecn ?? 0;
    this.ident = f.ident ?? 0;
    this.dontFragment = f.dontFragment ?? false;
    this.moreFragments = f.moreFragments ?? false;
    this.fragmentOffset = f.fragmentOffset ?? 0;
    this.options = f.options ?? NO_OPTIONS;
    checkRepr(this);
  }

  /** `addresses`, when given, supplies src and dst (see Ipv4AddressReuse). */
  static parse(pkt: Ipv4Packet, opts?: { verifyChecksum?: boolean; addresses?: Ipv4AddressReuse }): Ipv4Repr | DropReason {
    if ((opts?.verifyChecksum ?? true) && !pkt.checksumIsValid()) return 'bad-checksum';
    // Most headers have no options: no view of none.
    const options = pkt.headerLen === IPV4_HEADER_LEN ? NO_OPTIONS : pkt.options;
    if (!optionsAreWellFormed(options)) return 'bad-options';
    const addresses = opts?.addresses;
    // The reserved flag bit (RFC 791 §3.1, "must be zero") is ignored on receipt, as Linux does.
    return new Ipv4Repr({
      src: addresses ? addresses.src(pkt) : pkt.src,
      dst: addresses ? addresses.dst(pkt) : pkt.dst,
      protocol: pkt.protocol,
      payloadLen: pkt.totalLength - pkt.headerLen,
      ttl: pkt.ttl,
      dscp: pkt.dscp,
      ecn: pkt.ecn,
      ident: pkt.ident,
      dontFragment: pkt.dontFragment,
      moreFragments: pkt.moreFragments,
      fragmentOffset: pkt.fragmentOffset,
      options,
    });
  }

  /** The header length: 20 plus the options padded to a whole number of 32-bit words. */
  bufferLen(): number {
    return headerLenOf(this);
  }

  /** Writes the header only; the payload of `payloadLen` bytes follows it in the buffer. */
  emit(buf: Uint8Array, offset = 0): void {
    emitHeader(this, buf, offset);
  }
}

/**
 * A receiver's last source and destination, given out again while packets carry the same
 * ones: addresses are immutable, so a flow's packets share two objects instead of making two
 * each.
 */
export class Ipv4AddressReuse {
  private lastSrc = Ipv4Address.UNSPECIFIED;
  private lastDst = Ipv4Address.UNSPECIFIED;

  src(pkt: Ipv4Packet): Ipv4Address {
    if (this.lastSrc.value !== read32(pkt.buffer, SRC)) this.lastSrc = pkt.src;
    return this.lastSrc;
  }

  dst(pkt: Ipv4Packet): Ipv4Address {
    if (this.lastDst.value !== read32(pkt.buffer, DST)) this.lastDst = pkt.dst;
    return this.lastDst;
  }
}

function read32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * An Ipv4Repr that its owner (the IPv4 layer) rewrites in place for every datagram it sends,
 * so sending allocates no repr. It goes wherever an Ipv4Repr to emit goes; nobody keeps it.
 */
export class ReusableIpv4Repr implements Ipv4Repr {
  src = Ipv4Address.UNSPECIFIED;
  dst = Ipv4Address.UNSPECIFIED;
  protocol = 0;
  payloadLen = 0;
  ttl = 64;
  dscp = 0;
  ecn = 0;
  ident = 0;
  dontFragment = false;
  moreFragments = false;
  fragmentOffset = 0;
  options: Uint8Array = NO_OPTIONS;

  /** The Ipv4Repr constructor's RangeErrors, for the values set since. */
  check(): void {
    checkRepr(this);
  }

  bufferLen(): number {
    return headerLenOf(this);
  }

  emit(buf: Uint8Array, offset = 0): void {
    emitHeader(this, buf, offset);
  }
}

function headerLenOf(ip: Ipv4Repr): number {
  return IPV4_HEADER_LEN + ((ip.options.length + 3) & ~3);
}

function checkRepr(ip: Ipv4Repr): void {
  if (IPV4_HEADER_LEN + ip.options.length > MAX_HEADER_LEN) {
    throw new RangeError(`IPv4 options too long: ${ip.options.length} bytes`);
  }
  if (ip.fragmentOffset % 8 !== 0 || ip.fragmentOffset < 0 || ip.fragmentOffset > 0x1fff * 8) {
    throw new RangeError(`IPv4 fragment offset must be a multiple of 8 up to 65528: ${ip.fragmentOffset}`);
  }
  if (!(ip.payloadLen >= 0) || headerLenOf(ip) + ip.payloadLen > MAX_TOTAL_LEN) {
    throw new RangeError(`IPv4 payload length out of range: ${ip.payloadLen}`);
  }
}

function emitHeader(ip: Ipv4Repr, buf: Uint8Array, offset: number): void {
  const headerLen = headerLenOf(ip);
  const totalLength = headerLen + ip.payloadLen;
  const frag = ip.fragmentOffset / 8;
  const options = ip.options;
  if (options.length > 0) {
    const optionsStart = offset + IPV4_HEADER_LEN;
    // The options first: they may be a subarray of `buf` itself (a header rewritten in place).
    buf.set(options, optionsStart);
    buf.fill(OPTION_EOL, optionsStart + options.length, offset + headerLen);
  }
  buf[offset + VER_IHL] = 0x40 | (headerLen >> 2);
  buf[offset + DSCP_ECN] = ((ip.dscp & 0x3f) << 2) | (ip.ecn & 0x3);
  buf[offset + LENGTH] = totalLength >> 8;
  buf[offset + LENGTH + 1] = totalLength & 0xff;
  buf[offset + IDENT] = (ip.ident >> 8) & 0xff;
  buf[offset + IDENT + 1] = ip.ident & 0xff;
  buf[offset + FLAGS_FRAG] = (ip.dontFragment ? FLAG_DF : 0) | (ip.moreFragments ? FLAG_MF : 0) | (frag >> 8);
  buf[offset + FLAGS_FRAG + 1] = frag & 0xff;
  buf[offset + TTL] = ip.ttl;
  buf[offset + PROTOCOL] = ip.protocol;
  buf[offset + CHECKSUM] = 0;
  buf[offset + CHECKSUM + 1] = 0;
  ip.src.writeTo(buf, offset + SRC);
  ip.dst.writeTo(buf, offset + DST);
  const checksum = internetChecksum(buf, offset, offset + headerLen);
  buf[offset + CHECKSUM] = checksum >> 8;
  buf[offset + CHECKSUM + 1] = checksum & 0xff;
}
