/**
 * IPv6 UDP over a harness: the stack's EUI-64 link-local address, a link-local peer it
 * already knows (its Neighbor Solicitation carried the peer's MAC), and datagrams from it.
 */
import type { Ipv6Address } from '../../lib/wire/address';
import { EtherType } from '../../lib/wire/ethernet';
import { Ipv6NextHeader, Ipv6Repr } from '../../lib/wire/ipv6';
import { emptyNdpOptions, ndpToIcmp } from '../../lib/wire/ndp';
import { UdpRepr } from '../../lib/wire/udp';
import { ethernetFrame } from './frames';
import { icmpv6Frame, ip6 } from './frames6';
import { harness, PEER_MAC, STACK_MAC, type Harness } from './harness';

/** The stack's link-local address (EUI-64 of STACK_MAC) and the peer's. */
export const STACK_LL = ip6('fe80::ff:fe00:2');
export const PEER_LL = ip6('fe80::1');

/** A UDP datagram from `src` (the peer by default) to the stack's link-local address; `zeroChecksum` clears the checksum field. */
export function udp6Frame(f: { dstPort: number; payload: Uint8Array; src?: Ipv6Address; srcPort?: number; zeroChecksum?: boolean }): Uint8Array {
  const src = f.src ?? PEER_LL;
  const udp = new UdpRepr({ srcPort: f.srcPort ?? 40000, dstPort: f.dstPort, payloadLen: f.payload.length });
  const seg = new Uint8Array(8 + f.payload.length);
  seg.set(f.payload, 8);
  udp.emit(seg, 0, { src, dst: STACK_LL });
  if (f.zeroChecksum) seg[6] = seg[7] = 0;
  const ipr = new Ipv6Repr({ src, dst: STACK_LL, nextHeader: Ipv6NextHeader.Udp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv6, 40 + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + 40);
  });
}

/** An IPv6-only harness past DAD that has learned the peer's MAC from its solicitation; what it sent so far is taken. */
export function readyIpv6Harness(): Harness {
  const h = harness({ ipv4: [], ipv6: {} });
  h.advance(3_000);
  const ns = ndpToIcmp({ type: 'ns', target: STACK_LL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
  h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: STACK_LL.solicitedNode(), icmp: ns, hopLimit: 255 }));
  h.sent();
  return h;
}
