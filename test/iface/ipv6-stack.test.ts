import { describe, expect, it } from 'vitest';
import { Icmpv6Repr, Icmpv6Type } from '../../lib/wire/icmpv6';
import { MacAddress, type Ipv6Address } from '../../lib/wire/address';
import { Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import { UdpPacket } from '../../lib/wire/udp';
import { Dhcp6Repr } from '../../lib/wire/dhcp6';
import { emptyNdpOptions, ndpToIcmp, parseNdp } from '../../lib/wire/ndp';
import { parseMldReport } from '../../lib/wire/mld';
import { isDrop } from '../../lib/wire/drop';
import { harness, PEER_MAC, STACK_MAC } from '../helpers/harness';
import { icmpv6Frame, icmpv6Sent, ip6 } from '../helpers/frames6';

// EUI-64 of 02:00:00:00:00:02 (RFC 4291 App. A: U/L flipped, ff:fe inserted).
const LINK_LOCAL = ip6('fe80::ff:fe00:2');
const PEER_LL = ip6('fe80::1');

function v6(opts: Parameters<typeof harness>[0] = {}) {
  return harness({ ipv4: [], ipv6: { dad: { transmits: 1 }, ...(opts.ipv6 || {}) }, ...opts, stack: { ...opts.stack } });
}

function ndp(p: { icmp: Icmpv6Repr }) {
  const m = parseNdp(p.icmp);
  if (isDrop(m)) throw new Error(m);
  return m;
}

describe('IPv6 in the stack', () => {
  it('forms its EUI-64 link-local address, joins its solicited-node group by MLDv2, probes it (DAD) and reports it ready', () => {
    const h = v6();
    h.advance(3_000);
    const sent = icmpv6Sent(h.sent());
    const dadNs = sent.filter((p) => p.icmp.type === Icmpv6Type.NeighborSolicit);
    expect(dadNs).toHaveLength(1);
    expect(dadNs[0].ip.src.isUnspecified).toBe(true);
    expect(dadNs[0].ip.dst.equals(LINK_LOCAL.solicitedNode())).toBe(true);
    expect(dadNs[0].ip.hopLimit).toBe(255);
    const ns = ndp(dadNs[0]);
    expect(ns.type === 'ns' && ns.target.equals(LINK_LOCAL)).toBe(true);
    expect(ns.options.nonce).toBeDefined();
    const reports = sent.filter((p) => p.icmp.type === Icmpv6Type.MldV2Report);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(reports[0].ip.dst.toString()).toBe('ff02::16');
    expect(reports[0].ip.hopLimit).toBe(1);
    expect(reports[0].headers).toEqual([0]);
    const records = parseMldReport(reports[0].icmp);
    expect(!isDrop(records) && records.map((r) => r.group.toString())).toEqual([LINK_LOCAL.solicitedNode().toString()]);
    expect(h.events.filter((e) => e.type === 'ipv6-address-ready').map((e) => e.type === 'ipv6-address-ready' && e.address.toString())).toEqual([LINK_LOCAL.toString()]);
    // Router solicitations follow (RFC 4861 §6.3.7).
    expect(sent.some((p) => p.icmp.type === Icmpv6Type.RouterSolicit)).toBe(true);
  });

  it('answers a Neighbor Solicitation for its address with a solicited NA carrying its MAC, and then a ping', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    const ns = ndpToIcmp({ type: 'ns', target: LINK_LOCAL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: LINK_LOCAL.solicitedNode(), icmp: ns, hopLimit: 255 }));
    const [na] = icmpv6Sent(h.sent());
    expect(na.eth.dst.equals(PEER_MAC)).toBe(true);
    const m = ndp(na);
    expect(m.type).toBe('na');
    if (m.type !== 'na') return;
    expect(m.solicited && m.override).toBe(true);
    expect(m.options.targetLinkAddr?.equals(STACK_MAC)).toBe(true);
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_LL, dst: LINK_LOCAL, icmp: Icmpv6Repr.echoRequest(5, 9, new Uint8Array([1, 2, 3])) }));
    const [reply] = icmpv6Sent(h.sent());
    expect(reply.icmp.type).toBe(Icmpv6Type.EchoReply);
    expect(reply.ip.src.equals(LINK_LOCAL)).toBe(true);
    expect([reply.icmp.ident, reply.icmp.seqNo]).toEqual([5, 9]);
  });

  it('drops ND messages whose hop limit is not 255', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    const ns = ndpToIcmp({ type: 'ns', target: LINK_LOCAL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: LINK_LOCAL.solicitedNode(), icmp: ns, hopLimit: 64 }));
    expect(icmpv6Sent(h.sent())).toEqual([]);
    expect(h.stack.stats.icmpv6.dropped['nd-hop-limit']).toBe(1);
  });

  it('reports a duplicate when another node defends the tentative address, and never uses it', () => {
    const h = v6({ ipv6: { addresses: ['fd00::2/64'] } });
    h.advance(100);
    const na = ndpToIcmp({ type: 'na', router: false, solicited: false, override: true, target: ip6('fd00::2'), options: { ...emptyNdpOptions(), targetLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: ip6('fd00::2'), dst: ip6('ff02::1'), icmp: na, hopLimit: 255 }));
    h.advance(3_000);
    const dup = h.events.filter((e) => e.type === 'ipv6-address-duplicate');
    expect(dup.map((e) => e.type === 'ipv6-address-duplicate' && e.address.toString())).toEqual(['fd00::2']);
    expect(h.events.filter((e) => e.type === 'ipv6-address-ready').map((e) => e.type === 'ipv6-address-ready' && e.address.toString())).toEqual([LINK_LOCAL.toString()]);
  });

  it('configures a SLAAC address and a default router from a Router Advertisement', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    const ra = ndpToIcmp({
      type: 'ra', curHopLimit: 64, managed: false, other: false, preference: 'medium', routerLifetimeS: 1800, reachableTimeMs: 0, retransTimerMs: 0,
      options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC, prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLen: 64, onLink: true, autonomous: true, validLifetimeS: 3600, preferredLifetimeS: 1800 }] },
    });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: ip6('ff02::1'), icmp: ra, hopLimit: 255 }));
    h.advance(3_000);
    const ready = h.events.filter((e) => e.type === 'ipv6-address-ready').map((e) => e.type === 'ipv6-address-ready' && `${e.address} ${e.origin}`);
    expect(ready).toEqual([`${LINK_LOCAL} link-local`, '2001:db8:1::ff:fe00:2 slaac']);
    const path = h.stack.ipv6.route(ip6('2001:db8:99::1'), undefined, h.clock.now());
    expect(!isDrop(path) && `${path.nextHop} ${path.src}`).toBe('fe80::1 2001:db8:1::ff:fe00:2');
    const onLink = h.stack.ipv6.route(ip6('2001:db8:1::77'), undefined, h.clock.now());
    expect(!isDrop(onLink) && onLink.nextHop.toString()).toBe('2001:db8:1::77');
  });

  it('pings ::1 and its own addresses through the loopback interface', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    h.stack.icmpv6.ping({ dst: ip6('::1'), ident: 1, seq: 1 }, h.clock.now());
    h.stack.icmpv6.ping({ dst: LINK_LOCAL, ident: 1, seq: 2 }, h.clock.now());
    h.advance(0);
    expect(icmpv6Sent(h.sent())).toEqual([]);
    expect(h.events.filter((e) => e.type === 'echo-reply').map((e) => e.type === 'echo-reply' && `${e.from} ${e.seq}`)).toEqual(['::1 1', `${LINK_LOCAL} 2`]);
  });

  it('can be turned off', () => {
    const h = harness({ ipv4: [], ipv6: false });
    h.advance(5_000);
    expect(icmpv6Sent(h.sent())).toEqual([]);
    expect(h.stack.interface('pipe0')!.ipv6).toBeUndefined();
  });

  it('answers pings to all-nodes from its link-local address', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    const ns = ndpToIcmp({ type: 'ns', target: LINK_LOCAL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: LINK_LOCAL.solicitedNode(), icmp: ns, hopLimit: 255 }));
    h.sent();
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: MacAddress.fromIpv6Multicast(ip6('ff02::1')), src: PEER_LL, dst: ip6('ff02::1'), icmp: Icmpv6Repr.echoRequest(1, 1, new Uint8Array(4)) }));
    const [reply] = icmpv6Sent(h.sent());
    expect(reply?.ip.src.equals(LINK_LOCAL)).toBe(true);
  });
});

describe('IPv6 destination cache: Packet Too Big and Redirect', () => {
  /** A stack with a SLAAC address and fe80::1 as its router, the router's MAC known. */
  function routed() {
    const h = v6();
    h.advance(3_000);
    const ra = ndpToIcmp({
      type: 'ra', curHopLimit: 64, managed: false, other: false, preference: 'medium', routerLifetimeS: 1800, reachableTimeMs: 0, retransTimerMs: 0,
      options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC, prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLen: 64, onLink: true, autonomous: true, validLifetimeS: 3600, preferredLifetimeS: 1800 }] },
    });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: ip6('ff02::1'), icmp: ra, hopLimit: 255 }));
    h.advance(3_000);
    h.sent();
    return h;
  }
  const GLOBAL = ip6('2001:db8:1::ff:fe00:2');
  const FAR = ip6('2001:db8:99::7');

  /** The first 48 bytes of an echo request we sent to FAR, as a router would quote it. */
  function quotedEcho(seq: number): Uint8Array {
    const echo = Icmpv6Repr.echoRequest(3, seq, new Uint8Array(1400));
    const p = new Uint8Array(40 + echo.bufferLen());
    new Ipv6Repr({ src: GLOBAL, dst: FAR, nextHeader: 58, payloadLen: echo.bufferLen() }).emit(p, 0);
    echo.emit(p, 40, GLOBAL, FAR);
    return p.subarray(0, 1232);
  }

  it('lowers the path MTU on Packet Too Big, fragments to it, and reports the error for ping', () => {
    const h = routed();
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_LL, dst: GLOBAL, icmp: Icmpv6Repr.packetTooBig(1280, quotedEcho(1)) }));
    expect(h.events.filter((e) => e.type === 'echo-error').map((e) => e.type === 'echo-error' && `${e.to} ${e.seq} ${e.kind}`)).toEqual([`${FAR} 1 packet-too-big`]);
    expect(h.stack.ipv6.destinations.pathMtu(FAR, h.clock.now())).toBe(1280);
    h.stack.icmpv6.ping({ dst: FAR, ident: 3, seq: 2, data: new Uint8Array(1400) }, h.clock.now());
    h.advance(0);
    const frames = h.sent();
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => f.length - 14 <= 1280)).toBe(true);
  });

  it('never lowers the path MTU below 1280 (RFC 8201 §4)', () => {
    const h = routed();
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_LL, dst: GLOBAL, icmp: Icmpv6Repr.packetTooBig(600, quotedEcho(1)) }));
    expect(h.stack.ipv6.destinations.pathMtu(FAR, h.clock.now())).toBe(1280);
  });

  it('follows a Redirect from its router to a better first hop, and ignores one from anyone else', () => {
    const h = routed();
    const better = ip6('fe80::99');
    const betterMac = MacAddress.parse('02:00:00:00:00:99');
    const redirect = (src: Ipv6Address) =>
      icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src, dst: GLOBAL, hopLimit: 255, icmp: ndpToIcmp({ type: 'redirect', target: better, destination: FAR, options: { ...emptyNdpOptions(), targetLinkAddr: betterMac } }) });
    h.inject(redirect(ip6('fe80::55')));
    expect(h.stack.stats.icmpv6.dropped['redirect-not-from-router']).toBe(1);
    h.inject(redirect(PEER_LL));
    const path = h.stack.ipv6.route(FAR, undefined, h.clock.now());
    expect(!isDrop(path) && path.nextHop.toString()).toBe('fe80::99');
    h.stack.icmpv6.ping({ dst: FAR, ident: 1, seq: 1 }, h.clock.now());
    h.advance(0);
    const [echo] = icmpv6Sent(h.sent());
    expect(echo.eth.dst.equals(betterMac)).toBe(true);
  });
});

describe('DHCPv6 follows the Router Advertisement flags', () => {
  function udpTo547(frames: Uint8Array[]): { src: string; dst: string; type: number }[] {
    const out: { src: string; dst: string; type: number }[] = [];
    for (const f of frames) {
      if (f.length < 14 + 48 || f[12] !== 0x86 || f[13] !== 0xdd || f[14 + 6] !== 17) continue;
      const ipPkt = Ipv6Packet.checked(f.subarray(14)) as Ipv6Packet;
      const udp = UdpPacket.checked(ipPkt.payload) as UdpPacket;
      if (udp.dstPort !== 547) continue;
      const msg = Dhcp6Repr.parse(udp.payload);
      if (isDrop(msg)) throw new Error(msg);
      out.push({ src: ipPkt.src.toString(), dst: ipPkt.dst.toString(), type: msg.messageType });
    }
    return out;
  }

  function raWith(managed: boolean, other: boolean) {
    return ndpToIcmp({ type: 'ra', curHopLimit: 64, managed, other, preference: 'medium', routerLifetimeS: 1800, reachableTimeMs: 0, retransTimerMs: 0, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
  }

  it('solicits from the link-local address to ff02::1:2 when M is set', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: ip6('ff02::1'), icmp: raWith(true, false), hopLimit: 255 }));
    h.advance(1_200);
    expect(udpTo547(h.sent())).toEqual([{ src: LINK_LOCAL.toString(), dst: 'ff02::1:2', type: 1 }]);
  });

  it('asks only for other configuration when O is set without M, and stays quiet with neither', () => {
    const h = v6();
    h.advance(3_000);
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: ip6('ff02::1'), icmp: raWith(false, false), hopLimit: 255 }));
    h.advance(2_000);
    expect(udpTo547(h.sent())).toEqual([]);
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: ip6('ff02::1'), icmp: raWith(false, true), hopLimit: 255 }));
    h.advance(1_200);
    expect(udpTo547(h.sent()).map((m) => m.type)).toEqual([11]);
  });
});

describe('ICMPv6 errors sent (RFC 4443 §2.4)', () => {
  it('answers an unknown next header with Parameter Problem code 1, but never an ICMPv6 error with an error', () => {
    const h = v6();
    h.advance(3_000);
    const ns = ndpToIcmp({ type: 'ns', target: LINK_LOCAL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER_LL, dst: LINK_LOCAL.solicitedNode(), icmp: ns, hopLimit: 255 }));
    h.sent();
    // A packet with next header 253 (experimental): nothing takes it.
    const ip = new Ipv6Repr({ src: PEER_LL, dst: LINK_LOCAL, nextHeader: 253, payloadLen: 8 });
    const frame = new Uint8Array(14 + 48);
    STACK_MAC.writeTo(frame, 0);
    PEER_MAC.writeTo(frame, 6);
    frame[12] = 0x86;
    frame[13] = 0xdd;
    ip.emit(frame, 14);
    h.inject(frame);
    const [err] = icmpv6Sent(h.sent());
    expect([err.icmp.type, err.icmp.code, err.icmp.pointer]).toEqual([4, 1, 6]);
    // An ICMPv6 error whose own destination unreachable quote is malformed: no error back.
    const bad = Icmpv6Repr.destUnreachable(4, new Uint8Array(8));
    h.stack.icmpv6.sendErrorAbout(Icmpv6Repr.paramProblem(0, 40, (() => {
      const p = new Uint8Array(40 + bad.bufferLen());
      new Ipv6Repr({ src: PEER_LL, dst: LINK_LOCAL, nextHeader: 58, payloadLen: bad.bufferLen() }).emit(p, 0);
      bad.emit(p, 40, PEER_LL, LINK_LOCAL);
      return p;
    })()), new Ipv6Repr({ src: PEER_LL, dst: LINK_LOCAL, nextHeader: 58, payloadLen: 8 }), h.stack.interface('pipe0')!, h.clock.now());
    h.advance(0);
    expect(icmpv6Sent(h.sent())).toEqual([]);
    expect(h.stack.stats.icmpv6.dropped['no-error-about-error']).toBe(1);
  });
});

describe('IPv6 static routes', () => {
  it('sends through a static route\'s gateway, longest prefix first, ahead of the default router', () => {
    const h = v6({ ipv6: { addresses: ['fd00:1::2/64'] } });
    h.advance(3_000);
    const iface = h.stack.interface('pipe0')!;
    h.stack.ipv6.routes.add({ prefix: ip6('fd00:9::'), prefixLen: 32, iface, gateway: ip6('fe80::a') });
    h.stack.ipv6.routes.add({ prefix: ip6('fd00:9:1::'), prefixLen: 48, iface, gateway: ip6('fe80::b') });
    const via = (dst: string) => {
      const p = h.stack.ipv6.route(ip6(dst), undefined, h.clock.now());
      return isDrop(p) ? p : `${p.nextHop} ${p.src}`;
    };
    expect(via('fd00:9:1::5')).toBe('fe80::b fd00:1::2');
    expect(via('fd00:9:2::5')).toBe('fe80::a fd00:1::2');
    expect(via('fd00:1::77')).toBe('fd00:1::77 fd00:1::2');
    expect(via('2001:db8::1')).toBe('no-route');
  });
});

describe('ICMPv6 errors received reach the protocol that sent the packet', () => {
  it('parses the quote down to the upper-layer header and hands over kind, reporter and bytes', () => {
    const h = v6();
    h.advance(3_000);
    h.sent();
    const reports: unknown[] = [];
    h.stack.ipv6.register(253, { receive: () => {}, error: (r) => reports.push({ kind: r.kind, code: r.code, dst: r.dst.toString(), first: Array.from(r.transport.subarray(0, 4)) }) });
    const quoted = new Uint8Array(48);
    new Ipv6Repr({ src: LINK_LOCAL, dst: ip6('fe80::9'), nextHeader: 253, payloadLen: 8 }).emit(quoted, 0);
    quoted.set([1, 2, 3, 4], 40);
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_LL, dst: LINK_LOCAL, icmp: Icmpv6Repr.destUnreachable(4, quoted) }));
    expect(reports).toEqual([{ kind: 'unreachable', code: 4, dst: 'fe80::9', first: [1, 2, 3, 4] }]);
  });
});

describe('Neighbor Discovery failure', () => {
  it('solicits three times, then tells the sender "address unreachable" (RFC 4861 §7.2.2)', () => {
    const h = v6({ ipv6: { addresses: ['fd00:1::2/64'] } });
    h.advance(3_000);
    h.sent();
    h.stack.icmpv6.ping({ dst: ip6('fd00:1::99'), ident: 4, seq: 8 }, h.clock.now());
    h.advance(5_000);
    const solicits = icmpv6Sent(h.sent()).filter((p) => p.icmp.type === Icmpv6Type.NeighborSolicit);
    expect(solicits).toHaveLength(3);
    expect(solicits[0].ip.dst.toString()).toBe(ip6('fd00:1::99').solicitedNode().toString());
    expect(h.events.filter((e) => e.type === 'echo-error')).toEqual([
      { type: 'echo-error', to: ip6('fd00:1::99'), ident: 4, seq: 8, kind: 'address-unreachable', reporter: undefined },
    ]);
  });
});
