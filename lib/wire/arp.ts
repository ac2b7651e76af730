import { Ipv4Address, MacAddress } from './address';
import type { DropReason } from './drop';
import { EtherType } from './ethernet';

/**
 * ARP (RFC 826) for Ethernet and IPv4, the only pairing the stack speaks. The view reads
 * the generic header (hardware/protocol type and lengths); the address getters read the
 * Ethernet/IPv4 layout, so they mean something only once `ArpRepr.parse` has accepted
 * hardwareLen 6 and protocolLen 4.
 */
export const ARP_PACKET_LEN = 28;

export const ArpOperation = { Request: 1, Reply: 2 } as const;

/** RFC 826 ar$hrd: 1 is Ethernet (IANA "Hardware Types"). */
const HARDWARE_ETHERNET = 1;
const MAC_LEN = 6;
const IPV4_LEN = 4;

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;
const FIXED_LEN = 8;

export class ArpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  /** Accepts a buffer that holds the fixed part and the four addresses its lengths announce. */
  static checked(buf: Uint8Array): ArpPacket | DropReason {
    if (buf.length < FIXED_LEN) return 'truncated';
    if (buf.length < FIXED_LEN + 2 * buf[HLEN] + 2 * buf[PLEN]) return 'truncated';
    return new ArpPacket(buf);
  }

  get hardwareType(): number {
    return (this.buffer[HTYPE] << 8) | this.buffer[HTYPE + 1];
  }

  get protocolType(): number {
    return (this.buffer[PTYPE] << 8) | this.buffer[PTYPE + 1];
  }

  get hardwareLen(): number {
    return this.buffer[HLEN];
  }

  get protocolLen(): number {
    return this.buffer[PLEN];
  }

  get operation(): number {
    return (this.buffer[OPER] << 8) | this.buffer[OPER + 1];
  }

  get senderMac(): MacAddress {
    return MacAddress.fromBytes(this.buffer, SHA);
  }

  get senderIp(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, SPA);
  }

  get targetMac(): MacAddress {
    return MacAddress.fromBytes(this.buffer, THA);
  }

  get targetIp(): Ipv4Address {
    return Ipv4Address.fromBytes(this.buffer, TPA);
  }
}

export class ArpRepr {
  readonly operation: number;
  readonly senderMac: MacAddress;
  readonly senderIp: Ipv4Address;
  readonly targetMac: MacAddress;
  readonly targetIp: Ipv4Address;

  constructor(f: { operation: number; senderMac: MacAddress; senderIp: Ipv4Address; targetMac: MacAddress; targetIp: Ipv4Address }) {
    this.operation = f.operation;
    this.senderMac = f.senderMac;
    this.senderIp = f.senderIp;
    this.targetMac = f.targetMac;
    this.targetIp = f.targetIp;
  }

  static parse(pkt: ArpPacket): ArpRepr | DropReason {
    if (pkt.hardwareType !== HARDWARE_ETHERNET || pkt.hardwareLen !== MAC_LEN) return 'unsupported-hardware';
    if (pkt.protocolType !== EtherType.Ipv4 || pkt.protocolLen !== IPV4_LEN) return 'unsupported-protocol';
    const operation = pkt.operation;
    if (operation !== ArpOperation.Request && operation !== ArpOperation.Reply) return 'bad-operation';
    return new ArpRepr({
      operation,
      senderMac: pkt.senderMac,
      senderIp: pkt.senderIp,
      targetMac: pkt.targetMac,
      targetIp: pkt.targetIp,
    });
  }

  bufferLen(): number {
    return ARP_PACKET_LEN;
  }

  emit(buf: Uint8Array, offset = 0): void {
    buf[offset + HTYPE] = 0;
    buf[offset + HTYPE + 1] = HARDWARE_ETHERNET;
    buf[offset + PTYPE] = EtherType.Ipv4 >> 8;
    buf[offset + PTYPE + 1] = EtherType.Ipv4 & 0xff;
    buf[offset + HLEN] = MAC_LEN;
    buf[offset + PLEN] = IPV4_LEN;
    buf[offset + OPER] = this.operation >> 8;
    buf[offset + OPER + 1] = this.operation & 0xff;
    this.senderMac.writeTo(buf, offset + SHA);
    this.senderIp.writeTo(buf, offset + SPA);
    this.targetMac.writeTo(buf, offset + THA);
    this.targetIp.writeTo(buf, offset + TPA);
  }
}
