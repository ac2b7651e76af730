import { checksumIsValid, internetChecksum } from './checksum';
import type { DropReason } from './drop';

/**
 * ICMP for IPv4 (RFC 792): type, code, checksum over the whole message, four bytes whose
 * meaning depends on the type (ident and sequence number for echo, a pointer for a
 * parameter problem, a gateway for a redirect, the next-hop MTU for "fragmentation
 * needed" per RFC 1191 §4), then the payload. Unknown types stay numbers.
 */
export const Icmpv4Type = { EchoReply: 0, DestUnreachable: 3, Redirect: 5, EchoRequest: 8, TimeExceeded: 11, ParamProblem: 12 } as const;

export const ICMPV4_HEADER_LEN = 8;

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

export class Icmpv4Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /** The buffer is the whole ICMP message (the IPv4 payload). */
  static checked(buf: Uint8Array): Icmpv4Packet | DropReason {
    if (buf.length < ICMPV4_HEADER_LEN) return 'truncated';
    return new Icmpv4Packet(buf);
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

  get restOfHeader(): number {
    return readU32(this.buffer, REST);
  }

  /** Echo request and reply (RFC 792 p.14). */
  get ident(): number {
    return (this.buffer[REST] << 8) | this.buffer[REST + 1];
  }

  get seqNo(): number {
    return (this.buffer[REST + 2] << 8) | this.buffer[REST + 3];
  }

  get payload(): Uint8Array {
    return this.buffer.subarray(ICMPV4_HEADER_LEN);
  }

  checksumIsValid(): boolean {
    return checksumIsValid(this.buffer, 0, this.buffer.length);
  }
}

export class Icmpv4Repr {
  readonly type: number;
  readonly code: number;
  /** The type-specific second word, as an unsigned 32-bit number. */
  readonly restOfHeader: number;
  readonly payload: Uint8Array;

  constructor(f: { type: number; code: number; restOfHeader: number; payload: Uint8Array }) {
    this.type = f.type;
    this.code = f.code;
    this.restOfHeader = f.restOfHeader >>> 0;
    this.payload = f.payload;
  }

  static echoRequest(ident: number, seqNo: number, payload: Uint8Array): Icmpv4Repr {
    return new Icmpv4Repr({ type: Icmpv4Type.EchoRequest, code: 0, restOfHeader: echoWord(ident, seqNo), payload });
  }

  static echoReply(ident: number, seqNo: number, payload: Uint8Array): Icmpv4Repr {
    return new Icmpv4Repr({ type: Icmpv4Type.EchoReply, code: 0, restOfHeader: echoWord(ident, seqNo), payload });
  }

  get ident(): number {
    return this.restOfHeader >>> 16;
  }

  get seqNo(): number {
    return this.restOfHeader & 0xffff;
  }

  /** The payload stays a subarray of the packet (no copy). */
  static parse(pkt: Icmpv4Packet, opts?: { verifyChecksum?: boolean }): Icmpv4Repr | DropReason {
    if ((opts?.verifyChecksum ?? true) && !pkt.checksumIsValid()) return 'bad-checksum';
    return new Icmpv4Repr({ type: pkt.type, code: pkt.code, restOfHeader: pkt.restOfHeader, payload: pkt.payload });
  }

  bufferLen(): number {
    return ICMPV4_HEADER_LEN + this.payload.length;
  }

  /** Writes the header and the payload, then the checksum over the whole message (RFC 792). */
  emit(buf: Uint8Array, offset = 0): void {
    const rest = this.restOfHeader;
    // The payload first: it may be a subarray of `buf` itself (an echo reply built in place).
    buf.set(this.payload, offset + ICMPV4_HEADER_LEN);
    buf[offset + TYPE] = this.type;
    buf[offset + CODE] = this.code;
    buf[offset + CHECKSUM] = 0;
    buf[offset + CHECKSUM + 1] = 0;
    buf[offset + REST] = rest >>> 24;
    buf[offset + REST + 1] = (rest >>> 16) & 0xff;
    buf[offset + REST + 2] = (rest >>> 8) & 0xff;
    buf[offset + REST + 3] = rest & 0xff;
    const checksum = internetChecksum(buf, offset, offset + this.bufferLen());
    buf[offset + CHECKSUM] = checksum >> 8;
    buf[offset + CHECKSUM + 1] = checksum & 0xff;
  }
}

function echoWord(ident: number, seqNo: number): number {
  return (((ident & 0xffff) << 16) | (seqNo & 0xffff)) >>> 0;
}
