import { MacAddress } from './address';
import type { DropReason } from './drop';

/**
 * Ethernet II framing (IEEE 802.3 clause 3.2.6 "Length/Type", RFC 894): destination,
 * source, EtherType, payload. The FCS is not part of what a TAP carries, and neither is
 * the padding to 60 bytes (a TAP does not need it; a received frame may carry it, which
 * the layer above ignores through its own length field).
 */
export const ETHERNET_HEADER_LEN = 14;

export const EtherType = { Ipv4: 0x0800, Arp: 0x0806, Ipv6: 0x86dd } as const;

/** IEEE 802.3: values below 0x0600 in the Length/Type field are a length (802.3/LLC), not a type. */
const MIN_ETHERTYPE = 0x0600;

const DST = 0;
const SRC = 6;
const TYPE = 12;

/** A view: a typed window on a received frame, no copy. Built only through `checked`. */
export class EthernetFrame {
  private constructor(readonly buffer: Uint8Array) {}

  static checked(buf: Uint8Array): EthernetFrame | DropReason {
    if (buf.length < ETHERNET_HEADER_LEN) return 'truncated';
    return new EthernetFrame(buf);
  }

  get dst(): MacAddress {
    return MacAddress.fromBytes(this.buffer, DST);
  }

  get src(): MacAddress {
    return MacAddress.fromBytes(this.buffer, SRC);
  }

  get ethertype(): number {
    return (this.buffer[TYPE] << 8) | this.buffer[TYPE + 1];
  }

  get payload(): Uint8Array {
    return this.buffer.subarray(ETHERNET_HEADER_LEN);
  }
}

/** The meaning of an Ethernet II header. */
export class EthernetRepr {
  readonly src: MacAddress;
  readonly dst: MacAddress;
  readonly ethertype: number;

  constructor(f: { src: MacAddress; dst: MacAddress; ethertype: number }) {
    this.src = f.src;
    this.dst = f.dst;
    this.ethertype = f.ethertype;
  }

  static parse(frame: EthernetFrame): EthernetRepr | DropReason {
    const ethertype = frame.ethertype;
    if (ethertype < MIN_ETHERTYPE) return 'length-field';
    return new EthernetRepr({ src: frame.src, dst: frame.dst, ethertype });
  }

  bufferLen(): number {
    return ETHERNET_HEADER_LEN;
  }

  emit(buf: Uint8Array, offset = 0): void {
    this.dst.writeTo(buf, offset + DST);
    this.src.writeTo(buf, offset + SRC);
    buf[offset + TYPE] = this.ethertype >> 8;
    buf[offset + TYPE + 1] = this.ethertype & 0xff;
  }
}
