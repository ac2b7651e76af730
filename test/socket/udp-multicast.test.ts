/**
 * UDP sockets and IP multicast / send options (Linux semantics): memberships through IGMP and
 * MLD with Linux's error codes (checked against Linux 6.18 with IP_ADD_MEMBERSHIP & co. in a
 * network namespace), per-socket source filters, IP_MULTICAST_LOOP, IP_MULTICAST_IF,
 * IP_MULTICAST_TTL, IP_TTL and SO_BROADCAST.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { createPipe, type PipeEnd } from '../../lib/phy/pipe';
import { SeededRandom } from '../../lib/random';
import type { UdpSocket, UdpSocketTable } from '../../lib/socket/udp-socket';
import { createStack } from '../../lib/stack';
import { Ipv4Address, Ipv6Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame } from '../../lib/wire/ethernet';
import { parseIgmp } from '../../lib/wire/igmp';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { Ipv6NextHeader, Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import { isChainError, walkIpv6Chain } from '../../lib/wire/ipv6-ext';
import { parseMldReport } from '../../lib/wire/mld';
import { Icmpv6Packet, Icmpv6Repr } from '../../lib/wire/icmpv6';
import { UdpRepr } from '../../lib/wire/udp';
import { arpFrame, ethernetFrame, ip } from '../helpers/frames';
import { ip6 } from '../helpers/frames6';
import { harness, PEER_MAC, readyHarness, STACK_MAC, type Harness } from '../helpers/harness';

const STACK_IP = ip('10.0.0.2');
const PEER_IP = ip('10.0.0.1');
const G1 = ip('239.1.2.3');
const G2 = ip('232.1.1.1');
const S1 = ip('10.9.9.1');
const S2 = ip('10.9.9.2');
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/** A UDP datagram from the peer's side of the link, to a group (its MAC by RFC 1112 §6.4 / RFC 2464 §7) or to us. */
function udpFrame(f: { dst: Ipv4Address | Ipv6Address; src?: Ipv4Address | Ipv6Address; dstPort: number; payload: string; srcPort?: number }): Uint8Array {
  const payload = text(f.payload);
  const udp = new UdpRepr({ srcPort: f.srcPort ?? 40000, dstPort: f.dstPort, payloadLen: payload.length });
  const seg = new Uint8Array(8 + payload.length);
  seg.set(payload, 8);
  if (f.dst instanceof Ipv4Address) {
    const src = (f.src as Ipv4Address | undefined) ?? PEER_IP;
    udp.emit(seg, 0, { src, dst: f.dst });
    const ipr = new Ipv4Repr({ src, dst: f.dst, protocol: IpProtocol.Udp, payloadLen: seg.length });
    const mac = f.dst.isMulticast ? MacAddress.fromIpv4Multicast(f.dst) : MacAddress.BROADCAST;
    return ethernetFrame(PEER_MAC, mac, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
      ipr.emit(b, o);
      b.set(seg, o + ipr.bufferLen());
    });
  }
  const src = (f.src as Ipv6Address | undefined) ?? ip6('fe80::1');
  udp.emit(seg, 0, { src, dst: f.dst });
  const ipr = new Ipv6Repr({ src, dst: f.dst, nextHeader: Ipv6NextHeader.Udp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, MacAddress.fromIpv6Multicast(f.dst), EtherType.Ipv6, 40 + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + 40);
  });
}

interface SentPacket {
  mac: string;
  src: string;
  dst: string;
  /** TTL or hop limit. */
  ttl: number;
  protocol: 'udp' | 'igmp' | 'mld' | 'other';
  payload?: string;
  /** The IGMP or MLD records, as 'TO_EX 239.1.2.3 {}'. */
  records?: string[];
}

const RECORD_NAMES = ['', 'IS_IN', 'IS_EX', 'TO_IN', 'TO_EX', 'ALLOW', 'BLOCK'];

/** What the stack sent, one line of facts per frame. */
function sentPackets(frames: Uint8Array[]): SentPacket[] {
  const out: SentPacket[] = [];
  for (const f of frames) {
    const eth = EthernetFrame.checked(f);
    if (isDrop(eth)) throw new Error(eth);
    const mac = eth.dst.toString();
    if (eth.ethertype === EtherType.Ipv4) {
      const pkt = Ipv4Packet.checked(eth.payload) as Ipv4Packet;
      const base = { mac, src: `${pkt.src}`, dst: `${pkt.dst}`, ttl: pkt.ttl };
      if (pkt.protocol === IpProtocol.Udp) out.push({ ...base, protocol: 'udp', payload: str(pkt.payload.subarray(8)) });
      else if (pkt.protocol === IpProtocol.Igmp) {
        const m = parseIgmp(pkt.payload);
        if (isDrop(m) || m.type !== 'v3-report') throw new Error(`unexpected IGMP ${JSON.stringify(m)}`);
        out.push({ ...base, protocol: 'igmp', records: m.records.map((r) => `${RECORD_NAMES[r.type]} ${r.group} {${r.sources.join(',')}}`) });
      } else out.push({ ...base, protocol: 'other' });
    } else if (eth.ethertype === EtherType.Ipv6) {
      const pkt = Ipv6Packet.checked(eth.payload) as Ipv6Packet;
      const base = { mac, src: `${pkt.src}`, dst: `${pkt.dst}`, ttl: pkt.hopLimit };
      const chain = walkIpv6Chain(pkt.nextHeader, pkt.payload);
      if (isChainError(chain)) throw new Error(chain.reason);
      const upper = pkt.payload.subarray(chain.upperOffset);
      if (chain.upperProtocol === Ipv6NextHeader.Udp) out.push({ ...base, protocol: 'udp', payload: str(upper.subarray(8)) });
      else if (chain.upperProtocol === Ipv6NextHeader.Icmpv6 && upper[0] === 143) {
        const icmp = Icmpv6Repr.parse(Icmpv6Packet.checked(upper) as Icmpv6Packet, pkt.src, pkt.dst) as Icmpv6Repr;
        const records = parseMldReport(icmp);
        if (isDrop(records)) throw new Error(records);
        out.push({ ...base, protocol: 'mld', records: records.map((r) => `${RECORD_NAMES[r.type]} ${r.group} {${r.sources.join(',')}}`) });
      } else out.push({ ...base, protocol: 'other' });
    }
  }
  return out;
}

function flushed(h: Harness): SentPacket[] {
  h.inject();
  return sentPackets(h.sent());
}

function bound(t: UdpSocketTable, port: number, family: 4 | 6 = 4, address?: Ipv4Address | Ipv6Address): UdpSocket {
  const s = t.open(family);
  expect(t.bind(s, { address, port, reuseAddr: true })).toBeUndefined();
  return s;
}

function received(t: UdpSocketTable, s: UdpSocket): string[] {
  const out: string[] = [];
  for (let d = t.receive(s); d; d = t.receive(s)) out.push(`${str(d.payload)} from ${d.from.address}`);
  return out;
}

describe('UDP multicast: memberships and delivery', () => {
  it('a socket hears a group once some socket joined it; the join and the close are reported by IGMP', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const joined = bound(t, 5000);
    const other = bound(t, 5000);
    const elsewhere = bound(t, 5000, 4, ip('239.9.9.9'));
    h.inject(udpFrame({ dst: G1, dstPort: 5000, payload: 'early' }));
    expect([received(t, joined), received(t, other)], 'nobody joined: the frame never gets in').toEqual([[], []]);
    expect(h.stack.stats.ethernet.dropped['not-for-us']).toBe(1);
    expect(t.addMembership(joined, G1, undefined, h.clock.now())).toBeUndefined();
    expect(flushed(h)).toEqual([{ mac: '01:00:5e:00:00:16', src: '10.0.0.2', dst: '224.0.0.22', ttl: 1, protocol: 'igmp', records: ['TO_EX 239.1.2.3 {}'] }]);
    h.inject(udpFrame({ dst: G1, dstPort: 5000, payload: 'hello' }));
    expect(received(t, joined)).toEqual(['hello from 10.0.0.1']);
    // Linux (mc_all = 1): a socket with no membership of its own hears what the host receives.
    expect(received(t, other)).toEqual(['hello from 10.0.0.1']);
    expect(received(t, elsewhere), 'bound to another group').toEqual([]);
    expect(h.sent(), 'no port unreachable for a multicast').toEqual([]);
    t.close(joined, h.clock.now());
    expect(flushed(h)).toEqual([{ mac: '01:00:5e:00:00:16', src: '10.0.0.2', dst: '224.0.0.22', ttl: 1, protocol: 'igmp', records: ['TO_IN 239.1.2.3 {}'] }]);
    h.inject(udpFrame({ dst: G1, dstPort: 5000, payload: 'late' }));
    expect(received(t, other)).toEqual([]);
  });

  it('source-specific memberships filter per interface and per socket (RFC 3376 §3.2, Linux ip_mc_sf_allow)', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const ssm = bound(t, 6000);
    const any = bound(t, 6000);
    expect(t.addSourceMembership(ssm, S1, G2, undefined, h.clock.now())).toBeUndefined();
    expect(flushed(h).map((p) => p.records)).toEqual([['ALLOW 232.1.1.1 {10.9.9.1}']]);
    h.inject(udpFrame({ dst: G2, src: S2, dstPort: 6000, payload: 'from S2' }));
    expect([received(t, ssm), received(t, any)], 'the interface filter keeps S2 out').toEqual([[], []]);
    h.inject(udpFrame({ dst: G2, src: S1, dstPort: 6000, payload: 'from S1' }));
    expect([received(t, ssm), received(t, any)]).toEqual([['from S1 from 10.9.9.1'], ['from S1 from 10.9.9.1']]);
    expect(t.addMembership(any, G2, undefined, h.clock.now())).toBeUndefined();
    expect(flushed(h).map((p) => p.records)).toEqual([['TO_EX 232.1.1.1 {}']]);
    h.inject(udpFrame({ dst: G2, src: S2, dstPort: 6000, payload: 'from S2' }));
    expect([received(t, ssm), received(t, any)], 'the socket filter keeps S2 from the SSM socket').toEqual([[], ['from S2 from 10.9.9.2']]);
    expect(t.addSourceMembership(ssm, S2, G2, undefined, h.clock.now())).toBeUndefined();
    h.inject(udpFrame({ dst: G2, src: S2, dstPort: 6000, payload: 'again' }));
    expect(received(t, ssm)).toEqual(['again from 10.9.9.2']);
    expect(t.dropSourceMembership(ssm, S2, G2, undefined, h.clock.now())).toBeUndefined();
    expect(t.dropSourceMembership(ssm, S1, G2, undefined, h.clock.now()), 'the last source: a leave').toBeUndefined();
    expect(ssm.memberships.size).toBe(0);
  });

  it('a datagram from a source outside the filter is delivered to no socket, and sends no error', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const s = bound(t, 6001);
    t.addSourceMembership(s, S1, G2, STACK_IP, h.clock.now());
    flushed(h);
    h.inject(udpFrame({ dst: G2, src: S2, dstPort: 6001, payload: 'x' }));
    expect(received(t, s)).toEqual([]);
    expect(h.sent()).toEqual([]);
  });
});

describe('UDP multicast: sending', () => {
  it('a multicast leaves with TTL 1 (IP_MULTICAST_TTL), a unicast with 64 or IP_TTL, both to the wire', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    expect([s.ttl, s.multicastTtl, s.multicastLoop, s.broadcast, s.multicastInterface]).toEqual([undefined, 1, true, false, undefined]);
    expect(t.send(s, text('m'), { address: G1, port: 7000 }, h.clock.now())).toBeUndefined();
    s.multicastTtl = 32;
    s.ttl = 9;
    expect(t.send(s, text('m32'), { address: G1, port: 7000 }, h.clock.now())).toBeUndefined();
    expect(flushed(h)).toEqual([
      { mac: '01:00:5e:01:02:03', src: '10.0.0.2', dst: '239.1.2.3', ttl: 1, protocol: 'udp', payload: 'm' },
      { mac: '01:00:5e:01:02:03', src: '10.0.0.2', dst: '239.1.2.3', ttl: 32, protocol: 'udp', payload: 'm32' },
    ]);
    const u = t.open(4);
    t.send(u, text('u64'), { address: PEER_IP, port: 7000 }, h.clock.now());
    u.ttl = 5;
    t.send(u, text('u5'), { address: PEER_IP, port: 7000 }, h.clock.now());
    // Both wait for ARP; answer it and look at what leaves.
    h.inject(arpFrame({ op: 'reply', senderMac: PEER_MAC, senderIp: PEER_IP, targetMac: STACK_MAC, targetIp: STACK_IP, dst: STACK_MAC }));
    expect(sentPackets(h.sent()).map((p) => [p.payload, p.ttl])).toEqual([['u64', 64], ['u5', 5]]);
  });

  it('loops a multicast back to this host’s sockets while the interface is in the group (IP_MULTICAST_LOOP)', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const listener = bound(t, 7001);
    const sender = bound(t, 7001);
    t.send(sender, text('nobody joined'), { address: G1, port: 7001 }, h.clock.now());
    expect(received(t, listener)).toEqual([]);
    expect(flushed(h).map((p) => p.payload)).toEqual(['nobody joined']);
    t.addMembership(listener, G1, undefined, h.clock.now());
    flushed(h);
    t.send(sender, text('looped'), { address: G1, port: 7001 }, h.clock.now());
    expect(received(t, listener)).toEqual(['looped from 10.0.0.2']);
    expect(received(t, sender), 'the sender hears itself too, as on Linux').toEqual(['looped from 10.0.0.2']);
    expect(flushed(h).map((p) => p.payload), 'and it went on the wire').toEqual(['looped']);
    sender.multicastLoop = false;
    t.send(sender, text('quiet'), { address: G1, port: 7001 }, h.clock.now());
    expect(received(t, listener)).toEqual([]);
    expect(flushed(h).map((p) => p.payload)).toEqual(['quiet']);
  });

  it('loops a datagram too big for one frame back whole (Linux loops before fragmenting)', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const listener = bound(t, 7002);
    t.addMembership(listener, G1, undefined, h.clock.now());
    flushed(h);
    const big = 'x'.repeat(4000);
    expect(t.send(t.open(4), text(big), { address: G1, port: 7002 }, h.clock.now())).toBeUndefined();
    expect(received(t, listener)).toEqual([`${big} from 10.0.0.2`]);
    expect(flushed(h).length).toBe(3);
  });

  it('SO_BROADCAST: a send or connect to the limited or a directed broadcast is EACCES without it', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    for (const dst of [Ipv4Address.BROADCAST, ip('10.0.0.255'), ip('127.255.255.255')]) {
      expect(t.send(s, text('x'), { address: dst, port: 67 }, h.clock.now()), `${dst}`).toBe('EACCES');
    }
    expect(t.send(s, text('net'), { address: ip('10.0.0.0'), port: 9 }, h.clock.now()), 'the network address is no broadcast on Linux').toBeUndefined();
    const c = t.open(4);
    expect(t.connect(c, { address: Ipv4Address.BROADCAST, port: 67 }, h.clock.now())).toBe('EACCES');
    s.broadcast = true;
    s.ttl = 3;
    expect(t.send(s, text('all'), { address: Ipv4Address.BROADCAST, port: 67 }, h.clock.now())).toBeUndefined();
    expect(flushed(h).filter((p) => p.payload === 'all')).toEqual([{ mac: 'ff:ff:ff:ff:ff:ff', src: '10.0.0.2', dst: '255.255.255.255', ttl: 3, protocol: 'udp', payload: 'all' }]);
  });
});

/** A stack with two Ethernet interfaces, eth0 10.0.0.2/24 and eth1 10.1.0.2/24. */
function twoLinks() {
  const clock = new ManualClock(1_000);
  const [a, wireA] = createPipe({ names: ['eth0', 'peer0'] });
  const [b, wireB] = createPipe({ names: ['eth1', 'peer1'] });
  const stack = createStack({
    interfaces: [
      { device: a, ipv4: ['10.0.0.2/24'], ipv6: false, acd: { enabled: false } },
      { device: b, ipv4: ['10.1.0.2/24'], ipv6: false, acd: { enabled: false } },
    ],
    random: new SeededRandom(5),
  });
  const poll = () => stack.poll(clock.now());
  poll();
  const drain = (w: PipeEnd) => {
    poll();
    const out: Uint8Array[] = [];
    for (let f = w.receive(); f; f = w.receive()) out.push(f);
    return sentPackets(out);
  };
  drain(wireA);
  drain(wireB);
  return { stack, clock, t: stack.udpSockets, eth0: () => drain(wireA), eth1: () => drain(wireB) };
}

describe('UDP multicast: choosing the interface', () => {
  it('IP_MULTICAST_IF by address or name sends multicasts out of that interface; unknown is EADDRNOTAVAIL', () => {
    const n = twoLinks();
    const s = n.t.open(4);
    n.t.send(s, text('default'), { address: G1, port: 9 }, n.clock.now());
    expect(n.t.setMulticastInterface(s, ip('10.1.0.2'))).toBeUndefined();
    expect(s.multicastInterface?.name).toBe('eth1');
    n.t.send(s, text('by address'), { address: G1, port: 9 }, n.clock.now());
    expect(n.t.setMulticastInterface(s, ip('10.9.9.9'))).toBe('EADDRNOTAVAIL');
    expect(n.t.setMulticastInterface(s, 'nope')).toBe('EADDRNOTAVAIL');
    expect(s.multicastInterface?.name, 'a refused change keeps the old one').toBe('eth1');
    expect(n.t.setMulticastInterface(s, ip('0.0.0.0'))).toBeUndefined();
    expect(s.multicastInterface).toBeUndefined();
    n.t.send(s, text('default again'), { address: G1, port: 9 }, n.clock.now());
    expect(n.t.setMulticastInterface(s, 'eth1')).toBeUndefined();
    n.t.send(s, text('by name'), { address: G1, port: 9 }, n.clock.now());
    expect(n.eth0().map((p) => `${p.payload} from ${p.src}`)).toEqual(['default from 10.0.0.2', 'default again from 10.0.0.2']);
    expect(n.eth1().map((p) => `${p.payload} from ${p.src}`)).toEqual(['by address from 10.1.0.2', 'by name from 10.1.0.2']);
  });

  it('joins on the interface named; the same group on two interfaces is two memberships', () => {
    const n = twoLinks();
    const s = n.t.open(4);
    expect(n.t.addMembership(s, G1, ip('10.1.0.2'), n.clock.now())).toBeUndefined();
    expect(n.eth0()).toEqual([]);
    expect(n.eth1().map((p) => p.records)).toEqual([['TO_EX 239.1.2.3 {}']]);
    expect(n.t.addMembership(s, G1, undefined, n.clock.now()), 'the route picks eth0').toBeUndefined();
    expect(n.eth0().map((p) => p.records)).toEqual([['TO_EX 239.1.2.3 {}']]);
    expect(n.t.addMembership(s, G1, 'eth1', n.clock.now())).toBe('EADDRINUSE');
    expect(n.t.dropMembership(s, G1, 'eth1', n.clock.now())).toBeUndefined();
    expect(n.eth1().map((p) => p.records)).toEqual([['TO_IN 239.1.2.3 {}']]);
    expect(n.t.dropMembership(s, G1, undefined, n.clock.now()), 'no interface: the first membership of the group').toBeUndefined();
    expect(n.eth0().map((p) => p.records)).toEqual([['TO_IN 239.1.2.3 {}']]);
  });
});

describe('UDP multicast: Linux error codes', () => {
  it('addMembership and dropMembership', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const now = h.clock.now();
    const s = t.open(4);
    expect(t.addMembership(s, ip('10.1.1.1'), undefined, now), 'not multicast').toBe('EINVAL');
    expect(t.addMembership(s, ip6('ff05::1'), undefined, now), 'the other family').toBe('EINVAL');
    expect(t.addMembership(s, G1, ip('10.9.9.9'), now), 'not a local address').toBe('ENODEV');
    expect(t.addMembership(s, G1, 'nope', now), 'no such interface').toBe('ENODEV');
    expect(t.addMembership(s, G1, ip('127.0.0.1'), now), 'loopback keeps memberships, as Linux').toBeUndefined();
    expect(t.dropMembership(s, G1, ip('127.0.0.1'), now)).toBeUndefined();
    expect(t.addMembership(s, G1, undefined, now)).toBeUndefined();
    expect(t.addMembership(s, G1, undefined, now)).toBe('EADDRINUSE');
    expect(t.addMembership(s, G1, STACK_IP, now), 'the same interface named').toBe('EADDRINUSE');
    for (let i = 1; i < 20; i++) expect(t.addMembership(s, Ipv4Address.fromNumber(0xef090000 + i), undefined, now)).toBeUndefined();
    expect(t.addMembership(s, ip('239.9.9.9'), undefined, now), "Linux's igmp_max_memberships, 20").toBe('ENOBUFS');
    expect(t.dropMembership(s, ip('239.7.7.7'), undefined, now), 'not a member').toBe('EADDRNOTAVAIL');
    expect(t.dropMembership(s, G1, ip('10.9.9.9'), now), 'an unknown interface').toBe('EADDRNOTAVAIL');
    expect(t.dropMembership(s, ip('10.1.1.1'), undefined, now), 'not multicast (IPv4 says EADDRNOTAVAIL)').toBe('EADDRNOTAVAIL');
    expect(t.dropMembership(s, ip6('ff05::1'), undefined, now)).toBe('EINVAL');
    expect(t.dropMembership(s, G1, undefined, now)).toBeUndefined();
    expect(t.dropMembership(s, G1, undefined, now)).toBe('EADDRNOTAVAIL');
    const lonely = createStack({ interfaces: [{ device: createPipe()[0], ipv4: [], ipv6: false }], random: new SeededRandom(1) });
    expect(lonely.udpSockets.addMembership(lonely.udpSockets.open(4), G1, undefined, 0), 'no route to the group').toBe('ENODEV');
  });

  it('addSourceMembership and dropSourceMembership', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const now = h.clock.now();
    const s = t.open(4);
    expect(t.addSourceMembership(s, S1, ip('10.1.1.1'), undefined, now)).toBe('EINVAL');
    expect(t.addSourceMembership(s, ip6('2001:db8::1'), G2, undefined, now)).toBe('EINVAL');
    expect(t.addSourceMembership(s, S1, G2, ip('10.9.9.9'), now)).toBe('ENODEV');
    expect(t.dropSourceMembership(s, S1, G2, undefined, now), 'no membership of the group').toBe('EINVAL');
    expect(t.dropSourceMembership(s, S1, G2, ip('10.9.9.9'), now)).toBe('ENODEV');
    expect(t.addSourceMembership(s, S1, G2, undefined, now)).toBeUndefined();
    expect(t.addSourceMembership(s, S1, G2, undefined, now), 'already in the filter').toBe('EADDRNOTAVAIL');
    expect(t.addMembership(s, G2, undefined, now), 'an any-source join on top').toBe('EADDRINUSE');
    for (let i = 2; i <= 10; i++) expect(t.addSourceMembership(s, Ipv4Address.fromNumber(0x0a090900 + i), G2, undefined, now)).toBeUndefined();
    expect(t.addSourceMembership(s, ip('10.9.9.11'), G2, undefined, now), "Linux's igmp_max_msf, 10").toBe('ENOBUFS');
    expect(t.dropSourceMembership(s, ip('10.8.8.8'), G2, undefined, now), 'not in the filter').toBe('EADDRNOTAVAIL');
    // Linux: a source added to an any-source membership switches it to include {source}.
    expect(t.addMembership(s, G1, undefined, now)).toBeUndefined();
    expect(t.dropSourceMembership(s, S1, G1, undefined, now), 'an any-source membership has no source list').toBe('EADDRNOTAVAIL');
    flushed(h);
    expect(t.addSourceMembership(s, S1, G1, undefined, now)).toBeUndefined();
    expect(flushed(h).map((p) => p.records)).toEqual([['TO_IN 239.1.2.3 {10.9.9.1}']]);
    expect(s.memberships.get('239.1.2.3%pipe0')?.sources?.map(String)).toEqual(['10.9.9.1']);
  });

  it('a closed socket refuses everything with EINVAL', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    t.close(s, h.clock.now());
    expect([t.addMembership(s, G1, undefined, 0), t.dropMembership(s, G1, undefined, 0), t.addSourceMembership(s, S1, G2, undefined, 0), t.dropSourceMembership(s, S1, G2, undefined, 0)]).toEqual([
      'EINVAL',
      'EINVAL',
      'EINVAL',
      'EINVAL',
    ]);
  });
});

describe('UDP multicast over IPv6', () => {
  const G6 = ip6('ff05::1234');

  function ready6() {
    const h = harness({ ipv4: [], ipv6: {} });
    h.advance(3_000);
    flushed(h);
    return h;
  }

  it('joins through MLD, accepts the group MAC, delivers, loops back, honours hop limits, and leaves on close', () => {
    const h = ready6();
    const t = h.stack.udpSockets;
    const s = bound(t, 8000, 6);
    h.inject(udpFrame({ dst: G6, dstPort: 8000, payload: 'early' }));
    expect(received(t, s)).toEqual([]);
    expect(t.addMembership(s, G6, undefined, h.clock.now())).toBeUndefined();
    expect(flushed(h)).toEqual([{ mac: '33:33:00:00:00:16', src: 'fe80::ff:fe00:2', dst: 'ff02::16', ttl: 1, protocol: 'mld', records: ['TO_EX ff05::1234 {}'] }]);
    h.inject(udpFrame({ dst: G6, dstPort: 8000, payload: 'hi6' }));
    expect(received(t, s)).toEqual(['hi6 from fe80::1']);
    const sender = t.open(6);
    expect(t.send(sender, text('loop6'), { address: G6, port: 8000 }, h.clock.now())).toBeUndefined();
    expect(received(t, s)).toEqual(['loop6 from fe80::ff:fe00:2']);
    sender.multicastTtl = 5;
    sender.multicastLoop = false;
    t.send(sender, text('hop5'), { address: G6, port: 8000 }, h.clock.now());
    expect(received(t, s)).toEqual([]);
    expect(flushed(h).map((p) => [p.mac, p.dst, p.ttl, p.payload])).toEqual([
      ['33:33:00:00:12:34', 'ff05::1234', 1, 'loop6'],
      ['33:33:00:00:12:34', 'ff05::1234', 5, 'hop5'],
    ]);
    t.close(s, h.clock.now());
    expect(flushed(h).map((p) => p.records)).toEqual([['TO_IN ff05::1234 {}']]);
    h.inject(udpFrame({ dst: G6, dstPort: 8000, payload: 'late' }));
    expect(h.stack.stats.ethernet.dropped['not-for-us']).toBe(2);
  });

  it('interfaces by name (scope id); Linux errors; source-specific joins through MLD', () => {
    const h = ready6();
    const t = h.stack.udpSockets;
    const now = h.clock.now();
    const s = t.open(6);
    expect(t.setMulticastInterface(s, 'pipe0')).toBeUndefined();
    expect(t.setMulticastInterface(s, 'nope')).toBe('EADDRNOTAVAIL');
    expect(t.setMulticastInterface(s, 'lo'), 'no IPv6 on lo').toBe('EADDRNOTAVAIL');
    expect(t.setMulticastInterface(s, STACK_IP), 'an IPv4 address').toBe('EADDRNOTAVAIL');
    expect(t.addMembership(s, ip6('2001:db8::1'), undefined, now)).toBe('EINVAL');
    expect(t.addMembership(s, G1, undefined, now)).toBe('EINVAL');
    expect(t.addMembership(s, G6, 'nope', now)).toBe('ENODEV');
    expect(t.addMembership(s, G6, 'pipe0', now)).toBeUndefined();
    expect(t.addMembership(s, G6, undefined, now)).toBe('EADDRINUSE');
    expect(t.dropMembership(s, ip6('2001:db8::1'), undefined, now), 'IPv6 says EINVAL').toBe('EINVAL');
    expect(t.dropMembership(s, G6, 'pipe0', now)).toBeUndefined();
    flushed(h);
    const src = ip6('2001:db8::7');
    expect(t.addSourceMembership(s, src, ip6('ff3e::4321'), undefined, now)).toBeUndefined();
    expect(flushed(h).map((p) => p.records)).toEqual([['ALLOW ff3e::4321 {2001:db8::7}']]);
    expect(t.addSourceMembership(s, src, ip6('ff3e::4321'), undefined, now)).toBe('EADDRNOTAVAIL');
    expect(t.dropSourceMembership(s, src, ip6('ff3e::4321'), undefined, now)).toBeUndefined();
    expect(flushed(h).map((p) => p.records)).toEqual([['BLOCK ff3e::4321 {2001:db8::7}']]);
  });

  it('leaving a group keeps the MAC another group on it still needs (the solicited-node group of our address)', () => {
    const h = ready6();
    const t = h.stack.udpSockets;
    const s = t.open(6);
    // ff05::1:ff00:2 shares 33:33:ff:00:00:02 with ff02::1:ff00:2, the solicited-node group of fe80::ff:fe00:2.
    const twin = ip6('ff05::1:ff00:2');
    expect(t.addMembership(s, twin, undefined, h.clock.now())).toBeUndefined();
    expect(t.dropMembership(s, twin, undefined, h.clock.now())).toBeUndefined();
    const iface = h.stack.interfaces[0];
    expect(iface.ipv6!.isMember(ip6('ff02::1:ff00:2'))).toBe(true);
    const before = h.stack.stats.ethernet.dropped['not-for-us'] ?? 0;
    h.inject(udpFrame({ dst: ip6('ff02::1:ff00:2'), dstPort: 9, payload: 'still heard' }));
    expect(h.stack.stats.ethernet.dropped['not-for-us'] ?? 0).toBe(before);
  });
  it('removing our address keeps the MAC a socket\'s group on it still needs (the other way round)', () => {
    const h = ready6();
    const t = h.stack.udpSockets;
    const s = bound(t, 9, 6);
    const twin = ip6('ff05::1:ff00:2');
    expect(t.addMembership(s, twin, undefined, h.clock.now())).toBeUndefined();
    // The solicited-node group ff02::1:ff00:2 goes with the address; the twin's MAC must stay.
    h.stack.interfaces[0].ipv6!.removeAddress(ip6('fe80::ff:fe00:2'));
    h.inject(udpFrame({ dst: twin, dstPort: 9, payload: 'still heard' }));
    expect(received(t, s)).toEqual(['still heard from fe80::1']);
  });
});

describe('UDP multicast: the IGMP records a socket causes', () => {
  it('two sockets with source-specific joins of one group merge into the interface state', () => {
    const h = readyHarness();
    const t = h.stack.udpSockets;
    const a = t.open(4);
    const b = t.open(4);
    t.addSourceMembership(a, S1, G2, undefined, h.clock.now());
    t.addSourceMembership(b, S2, G2, undefined, h.clock.now());
    expect(h.stack.interfaces[0].igmp!.filterOf(G2)).toEqual({ mode: 'include', sources: [S1, S2] });
    h.advance(5_000);
    expect(sentPackets(h.sent()).map((p) => p.records)).toEqual([['ALLOW 232.1.1.1 {10.9.9.1}'], ['ALLOW 232.1.1.1 {10.9.9.1,10.9.9.2}'], ['ALLOW 232.1.1.1 {10.9.9.2}']]);
    t.close(a, h.clock.now());
    expect(h.stack.interfaces[0].igmp!.filterOf(G2)).toEqual({ mode: 'include', sources: [S2] });
    expect(flushed(h).map((p) => p.records)).toEqual([['BLOCK 232.1.1.1 {10.9.9.1}']]);
  });
});
