import { Ipv6Address } from './address';
import type { DropReason } from './drop';

/**
 * The IPv6 header (RFC 8200 §3). The view reads a received packet in place; the repr is its
 * validated meaning and writes the 40-byte header (the payload, extension headers included, is
 * the caller's to place after it), so a whole frame is built in one buffer. Extension headers
 * are walked by ipv6-ext.ts.
 */
export const IPV6_HEADER_LEN = 40;

/** RFC 8200 §4.1 and the IANA "Assigned Internet Protocol Numbers" registry. */
export const Ipv6NextHeader = {
  HopByHop: 0,
  Tcp: 6,
  Udp: 17,
  Routing: 43,
  Fragment: 44,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  NoNextHeader: 59,
  DestinationOptions: 60,
} as const;

/** RFC 8200 §5: every link carries packets of 1280 octets. */
export const IPV6_MIN_MTU = 1280;

const VERSION_TC_FLOW = 0;
const PAYLOAD_LENGTH = 4;
const NEXT_HEADER = 6;
const HOP_LIMIT = 7;
const SRC = 8;
const DST = 24;

const MAX_PAYLOAD_LEN = 0xffff;
const MAX_FLOW_LABEL = 0xfffff;

export class Ipv6Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * Accepts a buffer that holds the header and the whole payload its Payload Length announces;
   * bytes after that (Ethernet padding) are allowed and ignored.
   */
  static checked(buf: Uint8Array): Ipv6Packet | DropReason {
    if (buf.length < IPV6_HEADER_LEN) return 'truncated';
    if (buf[VERSION_TC_FLOW] >> 4 !== 6) return 'bad-version';
    if (IPV6_HEADER_LEN + ((buf[PAYLOAD_LENGTH] << 8) | buf[PAYLOAD_LENGTH + 1]) > buf.length) return 'bad-payload-length';
    return new Ipv6Packet(buf);
  }

  /**
   * The view of a packet quoted in an ICMPv6 error (RFC 4443 §2.4 (c)): the whole header, but
   * only as much of the payload as the error carried, so Payload Length may exceed the buffer;
   * `payload` is what is there.
   */
  static quoted(buf: Uint8Array): Ipv6Packet | DropReason {
    if (buf.length < IPV6_HEADER_LEN) return 'truncated';
    if (buf[VERSION_TC_FLOW] >> 4 !== 6) return 'bad-version';
    return new Ipv6Packet(buf);
  }

  get version(): number {
    return this.buffer[VERSION_TC_FLOW] >> 4;
  }

  /** RFC 8200 §7: the eight bits after the version. */
  get trafficClass(): number {
    return ((this.buffer[0] & 0xf) << 4) | (this.buffer[1] >> 4);
  }

  /** RFC 2474: the top six bits of the traffic class. */
  get dscp(): number {
    return this.trafficClass >> 2;
  }

  /** RFC 3168: the low two bits of the traffic class. */
  get ecn(): number {
    return this.trafficClass & 0x3;
  }

  /** RFC 6437: 20 bits. */
  get flowLabel(): number {
    return ((this.buffer[1] & 0xf) << 16) | (this.buffer[2] << 8) | this.buffer[3];
  }

  get payloadLength(): number {
    return (this.buffer[PAYLOAD_LENGTH] << 8) | this.buffer[PAYLOAD_LENGTH + 1];
  }

  get nextHeader(): number {
    return this.buffer[NEXT_HEADER];
  }

  get hopLimit(): number {
    return this.buffer[HOP_LIMIT];
  }

  get src(): Ipv6Address {
    return Ipv6Address.fromBytes(this.buffer, SRC);
  }

  get dst(): Ipv6Address {
    return Ipv6Address.fromBytes(this.buffer, DST);
  }

  /** Bytes 40 up to 40 + Payload Length (link padding excluded), or up to the end of a quote. */
  get payload(): Uint8Array {
    return this.buffer.subarray(IPV6_HEADER_LEN, Math.min(this.buffer.length, IPV6_HEADER_LEN + this.payloadLength));
  }
}

export interface Ipv6ReprFields {
  src: Ipv6Address;
  dst: Ipv6Address;
  nextHeader: number;
  /** Bytes after the 40-byte header, extension headers included. */
  payloadLen: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

export class Ipv6Repr {
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly nextHeader: number;
  readonly payloadLen: number;
  readonly hopLimit: number;
  readonly trafficClass: number;
  readonly flowLabel: number;

  /** Throws a RangeError for values the header cannot carry: these are the caller's bugs, not input. */
  constructor(f: Ipv6ReprFields) {
    this.src = f.src;
    this.dst = f.dst;
    this.nextHeader = f.nextHeader;
    this.payloadLen = f.payloadLen;
    this.hopLimit = f.hopLimit ?? 64;
    this.trafficClass = f.trafficClass ?? 0;
    this.flowLabel = f.flowLabel ?? 0;
    checkRepr(this);
  }

  /** `addresses`, when given, supplies src and dst (see Ipv6AddressReuse). */
  static parse(pkt: Ipv6Packet, addresses?: Ipv6AddressReuse): Ipv6Repr | DropReason {
    // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a jumbogram; not supported.
    if (pkt.payloadLength === 0 && pkt.nextHeader === Ipv6NextHeader.HopByHop) return 'jumbogram';
    return new Ipv6Repr({
      src: addresses ? addresses.src(pkt) : pkt.src,
      dst: addresses ? addresses.dst(pkt) : pkt.dst,
      nextHeader: pkt.nextHeader,
      payloadLen: pkt.payloadLength,
      hopLimit: pkt.hopLimit,
      trafficClass: pkt.trafficClass,
      flowLabel: pkt.flowLabel,
    });
  }

  get dscp(): number {
    return this.trafficClass >> 2;
  }

  get ecn(): number {
    return this.trafficClass & 0x3;
  }

  bufferLen(): number {
    return IPV6_HEADER_LEN;
  }

  /** Writes the header only; `payloadLen` bytes follow it in the buffer. */
  emit(buf: Uint8Array, offset = 0): void {
    emitHeader(this, buf, offset);
  }
}

/**
 * An Ipv6Repr that its owner (the IPv6 layer) rewrites in place for every packet it sends, so
 * sending allocates no repr. It goes wherever an Ipv6Repr to emit goes; nobody keeps it.
 */
export class ReusableIpv6Repr implements Ipv6Repr {
  src = Ipv6Address.UNSPECIFIED;
  dst = Ipv6Address.UNSPECIFIED;
  nextHeader = 0;
  payloadLen = 0;
  hopLimit = 64;
  trafficClass = 0;
  flowLabel = 0;

  /** The Ipv6Repr constructor's RangeErrors, for the values set since. */
  check(): void {
    checkRepr(this);
  }

  get dscp(): number {
    return this.trafficClass >> 2;
  }

  get ecn(): number {
    return this.trafficClass & 0x3;
  }

  bufferLen(): number {
    return IPV6_HEADER_LEN;
  }

  emit(buf: Uint8Array, offset = 0): void {
    emitHeader(this, buf, offset);
  }
}

/**
 * A receiver's last source and destination, given out again while packets carry the same
 * ones: addresses are immutable, so a flow's packets share two objects instead of copying
 * 16 bytes into two new ones each.
 */
export class Ipv6AddressReuse {
  private lastSrc = Ipv6Address.UNSPECIFIED;
  private lastDst = Ipv6Address.UNSPECIFIED;

  src(pkt: Ipv6Packet): Ipv6Address {
    if (!holdsAddress(pkt.buffer, SRC, this.lastSrc)) this.lastSrc = pkt.src;
    return this.lastSrc;
  }

  dst(pkt: Ipv6Packet): Ipv6Address {
    if (!holdsAddress(pkt.buffer, DST, this.lastDst)) this.lastDst = pkt.dst;
    return this.lastDst;
  }
}

function holdsAddress(buf: Uint8Array, offset: number, address: Ipv6Address): boolean {
  const bytes = address.bytes;
  for (let i = 0; i < 16; i++) if (buf[offset + i] !== bytes[i]) return false;
  return true;
}

function checkField(name: string, value: number, max: number): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= max)) throw new RangeError(`IPv6 ${name} out of range: ${value}`);
}

/** Throws a RangeError for values the header cannot carry. */
function checkRepr(ip: Ipv6Repr): void {
  if (!(ip.payloadLen >= 0 && ip.payloadLen <= MAX_PAYLOAD_LEN) || !Number.isInteger(ip.payloadLen)) {
    throw new RangeError(`IPv6 payload length out of range: ${ip.payloadLen}`);
  }
  checkField('next header', ip.nextHeader, 0xff);
  checkField('hop limit', ip.hopLimit, 0xff);
  checkField('traffic class', ip.trafficClass, 0xff);
  checkField('flow label', ip.flowLabel, MAX_FLOW_LABEL);
}

function emitHeader(ip: Ipv6Repr, buf: Uint8Array, offset: number): void {
  buf[offset] = 0x60 | (ip.trafficClass >> 4);
  buf[offset + 1] = ((ip.trafficClass & 0xf) << 4) | (ip.flowLabel >> 16);
  buf[offset + 2] = (ip.flowLabel >> 8) & 0xff;
  buf[offset + 3] = ip.flowLabel & 0xff;
  buf[offset + PAYLOAD_LENGTH] = ip.payloadLen >> 8;
  buf[offset + PAYLOAD_LENGTH + 1] = ip.payloadLen & 0xff;
  buf[offset + NEXT_HEADER] = ip.nextHeader;
  buf[offset + HOP_LIMIT] = ip.hopLimit;
  ip.src.writeTo(buf, offset + SRC);
  ip.dst.writeTo(buf, offset + DST);
}
