/**
 * Hand-built Ethernet/ARP/IPv4/ICMP frames for the device tests, byte by byte, so these
 * tests depend on nothing but the device and the checksum helper.
 */
import { internetChecksum } from '../../lib/wire/checksum';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ipv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function u16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

function putU16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >> 8;
  buf[at + 1] = value & 0xff;
}

function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(14 + payload.length);
  frame.set(dst, 0);
  frame.set(src, 6);
  putU16(frame, 12, type);
  frame.set(payload, 14);
  return frame;
}

/** RFC 826 request: who has `targetIp`? tell `senderIp` at `senderMac` (broadcast). */
export function arpRequest(senderMac: Uint8Array, senderIp: Uint8Array, targetIp: Uint8Array): Uint8Array {
  const arp = new Uint8Array(28);
  putU16(arp, 0, 1); // hardware: Ethernet
  putU16(arp, 2, ETHERTYPE_IPV4);
  arp[4] = 6;
  arp[5] = 4;
  putU16(arp, 6, 1); // request
  arp.set(senderMac, 8);
  arp.set(senderIp, 14);
  arp.set(targetIp, 24); // target MAC stays zero
  return ethernet(mac('ff:ff:ff:ff:ff:ff'), senderMac, ETHERTYPE_ARP, arp);
}

export interface ArpReply {
  dst: Uint8Array;
  senderMac: Uint8Array;
  senderIp: Uint8Array;
  targetMac: Uint8Array;
  targetIp: Uint8Array;
}

export function parseArpReply(frame: Uint8Array): ArpReply | undefined {
  if (frame.length < 42 || u16(frame, 12) !== ETHERTYPE_ARP || u16(frame, 20) !== 2) return undefined;
  return {
    dst: frame.subarray(0, 6),
    senderMac: frame.subarray(22, 28),
    senderIp: frame.subarray(28, 32),
    targetMac: frame.subarray(32, 38),
    targetIp: frame.subarray(38, 42),
  };
}

/** An IPv4 packet (RFC 791) carrying an ICMP echo request (RFC 792). */
export function icmpEchoPacket(src: Uint8Array, dst: Uint8Array, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(20 + 8 + payload.length);
  packet[0] = 0x45;
  putU16(packet, 2, packet.length);
  putU16(packet, 4, seq); // identification
  packet[6] = 0x40; // DF
  packet[8] = 64; // TTL
  packet[9] = 1; // ICMP
  packet.set(src, 12);
  packet.set(dst, 16);
  putU16(packet, 10, internetChecksum(packet, 0, 20));
  packet[20] = 8; // echo request
  putU16(packet, 24, id);
  putU16(packet, 26, seq);
  packet.set(payload, 28);
  putU16(packet, 22, internetChecksum(packet, 20, packet.length));
  return packet;
}

export function icmpEchoFrame(
  srcMac: Uint8Array,
  dstMac: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  return ethernet(dstMac, srcMac, ETHERTYPE_IPV4, icmpEchoPacket(src, dst, id, seq, payload));
}

export interface EchoReply {
  src: Uint8Array;
  dst: Uint8Array;
  id: number;
  seq: number;
  payload: Uint8Array;
  checksumsValid: boolean;
}

/** An ICMP echo reply in a bare IPv4 packet, or undefined for anything else. */
export function parseEchoReplyPacket(packet: Uint8Array): EchoReply | undefined {
  if (packet.length < 28 || packet[0] !== 0x45 || packet[9] !== 1 || packet[20] !== 0) return undefined;
  const end = u16(packet, 2);
  if (end > packet.length) return undefined;
  return {
    src: packet.subarray(12, 16),
    dst: packet.subarray(16, 20),
    id: u16(packet, 24),
    seq: u16(packet, 26),
    payload: packet.subarray(28, end),
    checksumsValid: internetChecksum(packet, 0, 20) === 0 && internetChecksum(packet, 20, end) === 0,
  };
}

export function parseEchoReplyFrame(frame: Uint8Array): (EchoReply & { dstMac: Uint8Array; srcMac: Uint8Array }) | undefined {
  if (frame.length < 14 || u16(frame, 12) !== ETHERTYPE_IPV4) return undefined;
  const reply = parseEchoReplyPacket(frame.subarray(14));
  return reply && { ...reply, dstMac: frame.subarray(0, 6), srcMac: frame.subarray(6, 12) };
}
