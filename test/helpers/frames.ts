/**
 * Frame builders and checkers for sans-IO tests, in the spirit of gVisor's checker
 * package: build what a peer would send, and pick apart what the stack sent.
 */
import { expect } from 'vitest';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { ArpOperation, ArpPacket, ArpRepr } from '../../lib/wire/arp';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame, EthernetRepr } from '../../lib/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';

export const mac = (s: string) => MacAddress.parse(s);
export const ip = (s: string) => Ipv4Address.parse(s);

export function ethernetFrame(src: MacAddress, dst: MacAddress, ethertype: number, payloadLen: number, write: (buf: Uint8Array, off: number) => void): Uint8Array {
  const eth = new EthernetRepr({ src, dst, ethertype });
  const frame = new Uint8Array(eth.bufferLen() + payloadLen);
  eth.emit(frame, 0);
  write(frame, eth.bufferLen());
  return frame;
}

export function arpFrame(f: { op: 'request' | 'reply'; senderMac: MacAddress; senderIp: Ipv4Address; targetMac?: MacAddress; targetIp: Ipv4Address; dst?: MacAddress }): Uint8Array {
  const arp = new ArpRepr({
    operation: f.op === 'request' ? ArpOperation.Request : ArpOperation.Reply,
    senderMac: f.senderMac,
    senderIp: f.senderIp,
    targetMac: f.targetMac ?? MacAddress.UNSPECIFIED,
    targetIp: f.targetIp,
  });
  return ethernetFrame(f.senderMac, f.dst ?? MacAddress.BROADCAST, EtherType.Arp, arp.bufferLen(), (b, o) => arp.emit(b, o));
}

export function pingFrame(f: { srcMac: MacAddress; dstMac: MacAddress; src: Ipv4Address; dst: Ipv4Address; ident?: number; seq?: number; data?: Uint8Array; ttl?: number; reply?: boolean }): Uint8Array {
  const echo = f.reply ? Icmpv4Repr.echoReply : Icmpv4Repr.echoRequest;
  const icmp = echo(f.ident ?? 0x1234, f.seq ?? 1, f.data ?? new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  const ipr = new Ipv4Repr({ src: f.src, dst: f.dst, protocol: IpProtocol.Icmp, payloadLen: icmp.bufferLen(), ttl: f.ttl ?? 64 });
  return ethernetFrame(f.srcMac, f.dstMac, EtherType.Ipv4, ipr.bufferLen() + icmp.bufferLen(), (b, o) => {
    ipr.emit(b, o);
    icmp.emit(b, o + ipr.bufferLen());
  });
}

export interface ParsedArp {
  eth: EthernetRepr;
  arp: ArpRepr;
}

export function parseArp(frame: Uint8Array | undefined): ParsedArp {
  expect(frame, 'a frame was sent').toBeDefined();
  const view = EthernetFrame.checked(frame!);
  if (isDrop(view)) throw new Error(`bad Ethernet frame: ${view}`);
  const eth = EthernetRepr.parse(view);
  if (isDrop(eth)) throw new Error(`bad Ethernet frame: ${eth}`);
  expect(eth.ethertype).toBe(EtherType.Arp);
  const pkt = ArpPacket.checked(view.payload);
  if (isDrop(pkt)) throw new Error(`bad ARP: ${pkt}`);
  const arp = ArpRepr.parse(pkt);
  if (isDrop(arp)) throw new Error(`bad ARP: ${arp}`);
  return { eth, arp };
}

export interface ParsedIcmp {
  eth: EthernetRepr;
  ip: Ipv4Repr;
  icmp: Icmpv4Repr;
}

export function parseIcmp(frame: Uint8Array | undefined): ParsedIcmp {
  expect(frame, 'a frame was sent').toBeDefined();
  const view = EthernetFrame.checked(frame!);
  if (isDrop(view)) throw new Error(`bad Ethernet frame: ${view}`);
  const eth = EthernetRepr.parse(view);
  if (isDrop(eth)) throw new Error(`bad Ethernet frame: ${eth}`);
  expect(eth.ethertype).toBe(EtherType.Ipv4);
  const ipv = Ipv4Packet.checked(view.payload);
  if (isDrop(ipv)) throw new Error(`bad IPv4: ${ipv}`);
  const ipr = Ipv4Repr.parse(ipv);
  if (isDrop(ipr)) throw new Error(`bad IPv4: ${ipr}`);
  expect(ipr.protocol).toBe(IpProtocol.Icmp);
  const icv = Icmpv4Packet.checked(ipv.payload);
  if (isDrop(icv)) throw new Error(`bad ICMP: ${icv}`);
  const icmp = Icmpv4Repr.parse(icv);
  if (isDrop(icmp)) throw new Error(`bad ICMP: ${icmp}`);
  return { eth, ip: ipr, icmp };
}
