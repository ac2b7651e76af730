/** IPv6 frame builders and checkers for sans-IO tests. */
import { expect } from 'vitest';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame, EthernetRepr } from '../../lib/wire/ethernet';
import { Icmpv6Packet, Icmpv6Repr } from '../../lib/wire/icmpv6';
import { Ipv6NextHeader, Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import { walkIpv6Chain, isChainError } from '../../lib/wire/ipv6-ext';
import { ethernetFrame } from './frames';

export const ip6 = (s: string) => Ipv6Address.parse(s);

export function icmpv6Frame(f: { srcMac: MacAddress; dstMac?: MacAddress; src: Ipv6Address; dst: Ipv6Address; icmp: Icmpv6Repr; hopLimit?: number }): Uint8Array {
  const ip = new Ipv6Repr({ src: f.src, dst: f.dst, nextHeader: Ipv6NextHeader.Icmpv6, payloadLen: f.icmp.bufferLen(), hopLimit: f.hopLimit ?? 64 });
  const dstMac = f.dstMac ?? (f.dst.isMulticast ? MacAddress.fromIpv6Multicast(f.dst) : MacAddress.BROADCAST);
  return ethernetFrame(f.srcMac, dstMac, EtherType.Ipv6, ip.bufferLen() + f.icmp.bufferLen(), (b, o) => {
    ip.emit(b, o);
    f.icmp.emit(b, o + ip.bufferLen(), f.src, f.dst);
  });
}

export interface ParsedIcmpv6 {
  eth: EthernetRepr;
  ip: Ipv6Repr;
  icmp: Icmpv6Repr;
  /** Extension headers walked before ICMPv6 (0 = Hop-by-Hop). */
  headers: number[];
}

/** The ICMPv6 messages among frames; anything else is skipped. */
export function icmpv6Sent(frames: Uint8Array[]): ParsedIcmpv6[] {
  const out: ParsedIcmpv6[] = [];
  for (const f of frames) {
    const view = EthernetFrame.checked(f);
    if (isDrop(view) || view.ethertype !== EtherType.Ipv6) continue;
    const eth = EthernetRepr.parse(view) as EthernetRepr;
    const pkt = Ipv6Packet.checked(view.payload);
    if (isDrop(pkt)) throw new Error(`bad IPv6 from the stack: ${pkt}`);
    const ip = Ipv6Repr.parse(pkt) as Ipv6Repr;
    const chain = walkIpv6Chain(ip.nextHeader, pkt.payload);
    if (isChainError(chain)) throw new Error(`bad chain from the stack: ${chain.reason}`);
    if (chain.upperProtocol !== Ipv6NextHeader.Icmpv6) continue;
    const icmpPkt = Icmpv6Packet.checked(pkt.payload.subarray(chain.upperOffset));
    if (isDrop(icmpPkt)) throw new Error(`bad ICMPv6 from the stack: ${icmpPkt}`);
    const icmp = Icmpv6Repr.parse(icmpPkt, ip.src, ip.dst);
    if (isDrop(icmp)) throw new Error(`bad ICMPv6 from the stack: ${icmp}`);
    expect(eth.ethertype).toBe(EtherType.Ipv6);
    out.push({ eth, ip, icmp, headers: chain.headers });
  }
  return out;
}
