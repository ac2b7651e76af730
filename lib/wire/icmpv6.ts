import type { Ipv6Address } from './address';
import { checksumIsValid, internetChecksum, pseudoHeaderSumV6 } from './checksum';
import type { DropReason } from './drop';

/**
 * ICMP for IPv6 (RFC 4443): type, code, a checksum over the message and the RFC 8200 §8.1
 * pseudo-header, then the message body. Every message RFC 4443, RFC 4861 (Neighbor
 * Discovery) and RFC 3810 (MLDv2) define starts its body with a 32-bit field (ident and
 * sequence number, an MTU, a pointer, flags or reserved bytes), kept here as `restOfHeader`.
 * Unknown types stay numbers. Neighbor Discovery and MLD read their fields from the repr
 * (ndp.ts, mld.ts).
 */
export const Icmpv6Type = {
  DestUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParamProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MldQuery: 130,
  MldV1Report: 131,
  MldV1Done: 132,
  RouterSolicit: 133,
  RouterAdvert: 134,
  NeighborSolicit: 135,
  NeighborAdvert: 136,
  Redirect: 137,
  MldV2Report: 143,
} as const;

/** Codes of Destination Unreachable (RFC 4443 §3.1). */
export const Icmpv6DestUnreachableCode = {
  NoRoute: 0,
  AdminProhibited: 1,
  BeyondScope: 2,
  AddressUnreachable: 3,
  PortUnreachable: 4,
  SourcePolicyFailed: 5,
  RejectRoute: 6,
} as const;

/** Codes of Parameter Problem (RFC 4443 §3.4). */
export const Icmpv6ParamProblemCode = { ErroneousField: 0, UnrecognizedNextHeader: 1, UnrecognizedOption: 2 } as const;

export const ICMPV6_HEADER_LEN = 8;

/**
 * RFC 4443 §2.4 (c): an error message carries as much of the invoking packet as fits
 * without the error exceeding the minimum IPv6 MTU (RFC 8200 §5: 1280), after a 40-byte
 * IPv6 header and the 8-byte ICMPv6 header.
 */
export const ICMPV6_ERROR_MAX_INVOKING = 1280 - 40 - ICMPV6_HEADER_LEN;

const NEXT_HEADER_ICMPV6 = 58;
const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

export class Icmpv6Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * The buffer is the whole ICMPv6 message (the upper-layer payload of the IPv6 packet).
   * Only type, code and checksum are required here; `Icmpv6Repr.parse` wants the 32-bit
   * field as well.
   */
  static checked(buf: Uint8Array): Icmpv6Packet | DropReason {
    if (buf.length < REST) return 'truncated';
    return new Icmpv6Packet(buf);
  }

  get type(): number {
    return this.buffer[TYPE];
  }

  get code(): number {
    return this.buffer[CODE];
  }

  get checksum(): number {
    return (this.buffer[CHECKSUM] << 8) | this.buffer[CHECKSUM + 1];
  }

  /** The u32 at bytes 4..8; 0 when the message is shorter. */
  get restOfHeader(): number {
    return this.buffer.length < ICMPV6_HEADER_LEN ? 0 : readU32(this.buffer, REST);
  }

  /** The message body (RFC 4443 §2.1), from byte 4. */
  get body(): Uint8Array {
    return this.buffer.subarray(REST);
  }

  /** What follows the 32-bit field, from byte 8 (empty when the message is shorter). */
  get payload(): Uint8Array {
    return this.buffer.subarray(Math.min(ICMPV6_HEADER_LEN, this.buffer.length));
  }

  /** RFC 4443 §2.3: the checksum covers the message and the RFC 8200 §8.1 pseudo-header. */
  checksumIsValid(src: Ipv6Address, dst: Ipv6Address): boolean {
    const len = this.buffer.length;
    return checksumIsValid(this.buffer, 0, len, pseudoHeaderSumV6(src.bytes, dst.bytes, NEXT_HEADER_ICMPV6, len));
  }
}

export class Icmpv6Repr {
  readonly type: number;
  readonly code: number;
  /** The type-specific 32-bit field, as an unsigned number. */
  readonly restOfHeader: number;
  readonly payload: Uint8Array;

  constructor(f: { type: number; code: number; restOfHeader: number; payload: Uint8Array }) {
    this.type = f.type;
    this.code = f.code;
    this.restOfHeader = f.restOfHeader >>> 0;
    this.payload = f.payload;
  }

  /** RFC 4443 §4.1. */
  static echoRequest(ident: number, seqNo: number, data: Uint8Array): Icmpv6Repr {
    return new Icmpv6Repr({ type: Icmpv6Type.EchoRequest, code: 0, restOfHeader: echoWord(ident, seqNo), payload: data });
  }

  /** RFC 4443 §4.2: the ident, sequence number and data of the request, echoed. */
  static echoReply(ident: number, seqNo: number, data: Uint8Array): Icmpv6Repr {
    return new Icmpv6Repr({ type: Icmpv6Type.EchoReply, code: 0, restOfHeader: echoWord(ident, seqNo), payload: data });
  }

  /** RFC 4443 §3.1: the 32-bit field is unused (zero). */
  static destUnreachable(code: number, invoking: Uint8Array): Icmpv6Repr {
    return Icmpv6Repr.error(Icmpv6Type.DestUnreachable, code, 0, invoking);
  }

  /** RFC 4443 §3.2: the 32-bit field is the MTU of the next-hop link. */
  static packetTooBig(mtu: number, invoking: Uint8Array): Icmpv6Repr {
    return Icmpv6Repr.error(Icmpv6Type.PacketTooBig, 0, mtu, invoking);
  }

  /** RFC 4443 §3.3: code 0 hop limit exceeded, 1 fragment reassembly time exceeded. */
  static timeExceeded(code: number, invoking: Uint8Array): Icmpv6Repr {
    return Icmpv6Repr.error(Icmpv6Type.TimeExceeded, code, 0, invoking);
  }

  /** RFC 4443 §3.4: the pointer is the offset of the faulty octet in the invoking packet. */
  static paramProblem(code: number, pointer: number, invoking: Uint8Array): Icmpv6Repr {
    return Icmpv6Repr.error(Icmpv6Type.ParamProblem, code, pointer, invoking);
  }

  /** An error message quoting the invoking packet, cut to ICMPV6_ERROR_MAX_INVOKING (RFC 4443 §2.4 (c)). */
  static error(type: number, code: number, restOfHeader: number, invoking: Uint8Array): Icmpv6Repr {
    return new Icmpv6Repr({ type, code, restOfHeader, payload: invoking.subarray(0, ICMPV6_ERROR_MAX_INVOKING) });
  }

  /** RFC 4443 §2.1: types 0-127 are errors, 128-255 informational. */
  get isError(): boolean {
    return this.type < 128;
  }

  get ident(): number {
    return this.restOfHeader >>> 16;
  }

  get seqNo(): number {
    return this.restOfHeader & 0xffff;
  }

  /** Packet Too Big: the MTU (RFC 4443 §3.2). */
  get mtu(): number {
    return this.restOfHeader;
  }

  /** Parameter Problem: the pointer (RFC 4443 §3.4). */
  get pointer(): number {
    return this.restOfHeader;
  }

  /**
   * The payload stays a subarray of the packet (no copy). A message without the 32-bit
   * field is dropped as 'truncated': every type defined has it, and a receiver discards an
   * unknown informational message anyway (RFC 4443 §2.4 (b)).
   */
  static parse(pkt: Icmpv6Packet, src: Ipv6Address, dst: Ipv6Address, opts?: { verifyChecksum?: boolean }): Icmpv6Repr | DropReason {
    if (pkt.buffer.length < ICMPV6_HEADER_LEN) return 'truncated';
    if ((opts?.verifyChecksum ?? true) && !pkt.checksumIsValid(src, dst)) return 'bad-checksum';
    return new Icmpv6Repr({ type: pkt.type, code: pkt.code, restOfHeader: pkt.restOfHeader, payload: pkt.payload });
  }

  bufferLen(): number {
    return ICMPV6_HEADER_LEN + this.payload.length;
  }

  /** Writes the message, then its checksum with the RFC 8200 §8.1 pseudo-header (RFC 4443 §2.3). */
  emit(buf: Uint8Array, offset: number, src: Ipv6Address, dst: Ipv6Address): void {
    const rest = this.restOfHeader;
    const len = this.bufferLen();
    // The payload first: it may be a subarray of `buf` itself (an echo reply built in place).
    buf.set(this.payload, offset + ICMPV6_HEADER_LEN);
    buf[offset + TYPE] = this.type;
    buf[offset + CODE] = this.code;
    buf[offset + CHECKSUM] = 0;
    buf[offset + CHECKSUM + 1] = 0;
    buf[offset + REST] = rest >>> 24;
    buf[offset + REST + 1] = (rest >>> 16) & 0xff;
    buf[offset + REST + 2] = (rest >>> 8) & 0xff;
    buf[offset + REST + 3] = rest & 0xff;
    const checksum = internetChecksum(buf, offset, offset + len, pseudoHeaderSumV6(src.bytes, dst.bytes, NEXT_HEADER_ICMPV6, len));
    buf[offset + CHECKSUM] = checksum >> 8;
    buf[offset + CHECKSUM + 1] = checksum & 0xff;
  }
}

function echoWord(ident: number, seqNo: number): number {
  return (((ident & 0xffff) << 16) | (seqNo & 0xffff)) >>> 0;
}
