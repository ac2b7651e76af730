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
    if (!(this.payloadLen >= 0 && this.payloadLen <= MAX_PAYLOAD_LEN) || !Number.isInteger(this.payloadLen)) {
      throw new RangeError(`IPv6 payload length out of range: ${this.payloadLen}`);
    }
    for (const [name, value, max] of [
      ['next header', this.nextHeader, 0xff],
      ['hop limit', this.hopLimit, 0xff],
      ['traffic class', this.trafficClass, 0xff],
      ['flow label', this.flowLabel, MAX_FLOW_LABEL],
    ] as const) {
      if (!(Number.isInteger(value) && value >= 0 && value <= max)) throw new RangeError(`IPv6 ${name} out of range: ${value}`);
    }
  }

  static parse(pkt: Ipv6Packet): Ipv6Repr | DropReason {
    // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a jumbogram; not supported.
    if (pkt.payloadLength === 0 && pkt.nextHeader === Ipv6NextHeader.HopByHop) return 'jumbogram';
    return new Ipv6Repr({
      src: pkt.src,
      dst: pkt.dst,
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
    buf[offset] = 0x60 | (this.trafficClass >> 4);
    buf[offset + 1] = ((this.trafficClass & 0xf) << 4) | (this.flowLabel >> 16);
    buf[offset + 2] = (this.flowLabel >> 8) & 0xff;
    buf[offset + 3] = this.flowLabel & 0xff;
    buf[offset + PAYLOAD_LENGTH] = this.payloadLen >> 8;
    buf[offset + PAYLOAD_LENGTH + 1] = this.payloadLen & 0xff;
    buf[offset + NEXT_HEADER] = this.nextHeader;
    buf[offset + HOP_LIMIT] = this.hopLimit;
    this.src.writeTo(buf, offset + SRC);
    this.dst.writeTo(buf, offset + DST);
  }
}
