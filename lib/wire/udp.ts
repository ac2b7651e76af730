import { Ipv4Address, type Ipv6Address } from './address';
import { fold, internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16 } from './checksum';
import type { DropReason } from './drop';

/**
 * The UDP header (RFC 768): source port, destination port, length (header and data),
 * checksum over a pseudo-header, the header and the data. The view reads a received
 * datagram in place; the repr writes the header into a buffer whose payload the caller
 * has already placed after it, and checksums both there, with no copy.
 */
export const UDP_HEADER_LEN = 8;

/** IANA protocol number, the pseudo-header's protocol / next header field. */
const PROTOCOL_UDP = 17;

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

/** The addresses of the IP header that carries the datagram, for the pseudo-header sum. */
export type UdpPseudoHeader = { src: Ipv4Address; dst: Ipv4Address } | { src: Ipv6Address; dst: Ipv6Address };

/** The pseudo-header sum (RFC 768; RFC 8200 §8.1 for IPv6), unfolded. */
function pseudoHeaderSum(pseudo: UdpPseudoHeader, length: number): number {
  if (pseudo.src instanceof Ipv4Address) {
    return pseudoHeaderSumV4(pseudo.src.value, (pseudo.dst as Ipv4Address).value, PROTOCOL_UDP, length);
  }
  return pseudoHeaderSumV6(pseudo.src.bytes, (pseudo.dst as Ipv6Address).bytes, PROTOCOL_UDP, length);
}

export class UdpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * The buffer is the IP payload. The length field must cover the header and fit in the
   * buffer; bytes after it (a longer IP payload) are ignored, as Linux trims them.
   */
  static checked(buf: Uint8Array): UdpPacket | DropReason {
    if (buf.length < UDP_HEADER_LEN) return 'truncated';
    const length = (buf[LENGTH] << 8) | buf[LENGTH + 1];
    if (length < UDP_HEADER_LEN || length > buf.length) return 'bad-length';
    return new UdpPacket(buf);
  }

  get srcPort(): number {
    return (this.buffer[SRC_PORT] << 8) | this.buffer[SRC_PORT + 1];
  }

  get dstPort(): number {
    return (this.buffer[DST_PORT] << 8) | this.buffer[DST_PORT + 1];
  }

  /** Header and data, in bytes. */
  get length(): number {
    return (this.buffer[LENGTH] << 8) | this.buffer[LENGTH + 1];
  }

  get checksum(): number {
    return (this.buffer[CHECKSUM] << 8) | this.buffer[CHECKSUM + 1];
  }

  get payload(): Uint8Array {
    return this.buffer.subarray(UDP_HEADER_LEN, this.length);
  }

  /** True when pseudo-header, header and data sum to all ones (RFC 1071 §2). */
  checksumIsValid(pseudo: UdpPseudoHeader): boolean {
    const length = this.length;
    return fold(sum16(this.buffer, 0, length, pseudoHeaderSum(pseudo, length))) === 0xffff;
  }
}

export class UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payloadLen: number;

  /** Throws a RangeError for values the header cannot carry: these are the caller's bugs, not input. */
  constructor(f: { srcPort: number; dstPort: number; payloadLen: number }) {
    for (const port of [f.srcPort, f.dstPort]) {
      if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`UDP port out of range: ${port}`);
    }
    if (!Number.isInteger(f.payloadLen) || f.payloadLen < 0 || f.payloadLen > 0xffff - UDP_HEADER_LEN) {
      throw new RangeError(`UDP payload length out of range: ${f.payloadLen}`);
    }
    this.srcPort = f.srcPort;
    this.dstPort = f.dstPort;
    this.payloadLen = f.payloadLen;
  }

  /**
   * A zero checksum field means "not computed": allowed over IPv4 (RFC 768), forbidden
   * over IPv6 (RFC 8200 §8.1: "IPv6 receivers must discard UDP packets containing a zero
   * checksum"), whether or not the device verified checksums for us.
   */
  static parse(pkt: UdpPacket, pseudo: UdpPseudoHeader, opts?: { verifyChecksum?: boolean }): UdpRepr | DropReason {
    const isIpv4 = pseudo.src instanceof Ipv4Address;
    if (pkt.checksum === 0) {
      if (!isIpv4) return 'zero-checksum';
    } else if ((opts?.verifyChecksum ?? true) && !pkt.checksumIsValid(pseudo)) {
      return 'bad-checksum';
    }
    // Port 0 is reserved (RFC 768 allows it as "no source port"): kept, the socket layer decides.
    return new UdpRepr({ srcPort: pkt.srcPort, dstPort: pkt.dstPort, payloadLen: pkt.length - UDP_HEADER_LEN });
  }

  bufferLen(): number {
    return UDP_HEADER_LEN;
  }

  /**
   * Writes the header at `offset` and checksums it with the `payloadLen` bytes the caller
   * has already placed at `offset + 8`. RFC 768: a computed checksum of zero is sent as
   * all ones, since zero on the wire means "no checksum".
   */
  emit(buf: Uint8Array, offset: number, pseudo: UdpPseudoHeader): void {
    const length = UDP_HEADER_LEN + this.payloadLen;
    buf[offset + SRC_PORT] = this.srcPort >> 8;
    buf[offset + SRC_PORT + 1] = this.srcPort & 0xff;
    buf[offset + DST_PORT] = this.dstPort >> 8;
    buf[offset + DST_PORT + 1] = this.dstPort & 0xff;
    buf[offset + LENGTH] = length >> 8;
    buf[offset + LENGTH + 1] = length & 0xff;
    buf[offset + CHECKSUM] = 0;
    buf[offset + CHECKSUM + 1] = 0;
    const checksum = internetChecksum(buf, offset, offset + length, pseudoHeaderSum(pseudo, length)) || 0xffff;
    buf[offset + CHECKSUM] = checksum >> 8;
    buf[offset + CHECKSUM + 1] = checksum & 0xff;
  }
}
