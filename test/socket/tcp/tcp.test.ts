import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/random';
import type { TcpConnection } from '../../../lib/socket/tcp/connection';
import type { TcpListener } from '../../../lib/socket/tcp/listener';
import { TcpState } from '../../../lib/socket/tcp/state';
import { Ipv4Address, Ipv6Address, MacAddress } from '../../../lib/wire/address';
import { isDrop } from '../../../lib/wire/drop';
import { EtherType, EthernetFrame } from '../../../lib/wire/ethernet';
import { Icmpv4Repr, Icmpv4Type } from '../../../lib/wire/icmpv4';
import { Icmpv6Repr } from '../../../lib/wire/icmpv6';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../../lib/wire/ipv4';
import { Ipv6NextHeader, Ipv6Packet, Ipv6Repr } from '../../../lib/wire/ipv6';
import { emptyNdpOptions, ndpToIcmp } from '../../../lib/wire/ndp';
import { TcpFlag, TcpPacket, TcpRepr, type TcpOptions } from '../../../lib/wire/tcp';
import { arpFrame, ethernetFrame, ip } from '../../helpers/frames';
import { icmpv6Frame, ip6 } from '../../helpers/frames6';
import { harness, PEER_MAC, readyHarness, STACK_MAC, type Harness, type HarnessOptions } from '../../helpers/harness';

const { Syn, Ack, Fin, Rst, Psh } = TcpFlag;
const PEER = ip('10.0.0.1');
const STACK = ip('10.0.0.2');
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface SegmentFields {
  src?: Ipv4Address;
  dst?: Ipv4Address;
  srcPort?: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
  dstMac?: MacAddress;
  corrupt?: boolean;
}

/** A segment as the peer (or anyone on the link) would send it to the stack. */
function tcpFrame(f: SegmentFields): Uint8Array {
  const src = f.src ?? PEER;
  const dst = f.dst ?? STACK;
  const payload = f.payload ?? new Uint8Array(0);
  const tcp = new TcpRepr({ srcPort: f.srcPort ?? 40000, dstPort: f.dstPort, seq: f.seq ?? 1000, ack: f.ack ?? 0, flags: f.flags, window: f.window ?? 65535, options: f.options, payloadLen: payload.length });
  const seg = new Uint8Array(tcp.headerLen() + payload.length);
  tcp.emit(seg, 0, payload, { src, dst });
  if (f.corrupt) seg[4] ^= 1;
  const ipr = new Ipv4Repr({ src, dst, protocol: IpProtocol.Tcp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, f.dstMac ?? STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + ipr.bufferLen());
  });
}

interface SentTcp {
  ip: Ipv4Repr;
  tcp: TcpRepr;
}

/** The TCP segments among frames the stack sent, their checksums verified. */
function tcpSent(frames: Uint8Array[]): SentTcp[] {
  const out: SentTcp[] = [];
  for (const f of frames) {
    const eth = EthernetFrame.checked(f);
    if (isDrop(eth) || eth.ethertype !== EtherType.Ipv4) continue;
    const pkt = Ipv4Packet.checked(eth.payload);
    if (isDrop(pkt)) throw new Error(`bad IPv4 from the stack: ${pkt}`);
    const ipr = Ipv4Repr.parse(pkt);
    if (isDrop(ipr)) throw new Error(`bad IPv4 from the stack: ${ipr}`);
    if (ipr.protocol !== IpProtocol.Tcp) continue;
    const view = TcpPacket.checked(pkt.payload);
    if (isDrop(view)) throw new Error(`bad TCP from the stack: ${view}`);
    const tcp = TcpRepr.parse(view, { src: ipr.src, dst: ipr.dst });
    if (isDrop(tcp)) throw new Error(`bad TCP from the stack: ${tcp}`);
    out.push({ ip: ipr, tcp });
  }
  return out;
}

/** A stack that already knows the peer's MAC (from its ARP request). */
function known(opts: HarnessOptions = {}): Harness {
  const h = readyHarness(opts);
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER, targetIp: STACK }));
  h.sent();
  return h;
}

function listen(h: Harness, port: number, backlog = 16, address?: Ipv4Address | Ipv6Address, family: 4 | 6 = 4, reusePort = false): TcpListener {
  const l = h.stack.tcp.listen({ port, backlog, family, address, reusePort });
  if (typeof l === 'string') throw new Error(`listen: ${l}`);
  return l;
}

/** The peer's side of a three-way handshake with a listener; the accepted connection and the sequence numbers. */
function handshake(h: Harness, l: TcpListener, srcPort: number, isn = 5000): { conn: TcpConnection; iss: number; irs: number } {
  h.inject(tcpFrame({ srcPort, dstPort: l.port, seq: isn, flags: Syn, options: { mss: 1460 } }));
  const [synAck] = tcpSent(h.sent());
  expect(synAck.tcp.flags).toBe(Syn | Ack);
  expect(synAck.tcp.ack).toBe(isn + 1);
  h.inject(tcpFrame({ srcPort, dstPort: l.port, seq: isn + 1, ack: (synAck.tcp.seq + 1) >>> 0, flags: Ack }));
  const conn = l.accept();
  expect(conn?.state).toBe(TcpState.Established);
  return { conn: conn!, iss: synAck.tcp.seq, irs: isn };
}

describe('segments for no connection (RFC 9293 §3.10.7.1)', () => {
  const cases: { name: string; seg: Omit<SegmentFields, 'dstPort'>; rst: { seq: number; ack: number; flags: number } }[] = [
    { name: 'SYN', seg: { seq: 1000, flags: Syn }, rst: { seq: 0, ack: 1001, flags: Rst | Ack } },
    { name: 'SYN with data', seg: { seq: 1000, flags: Syn, payload: enc('hello') }, rst: { seq: 0, ack: 1006, flags: Rst | Ack } },
    { name: 'SYN+FIN', seg: { seq: 1000, flags: Syn | Fin }, rst: { seq: 0, ack: 1002, flags: Rst | Ack } },
    { name: 'FIN', seg: { seq: 7000, flags: Fin }, rst: { seq: 0, ack: 7001, flags: Rst | Ack } },
    { name: 'no flags, with data', seg: { seq: 0xfffffffe, flags: 0, payload: enc('abcd') }, rst: { seq: 0, ack: 2, flags: Rst | Ack } },
    { name: 'ACK', seg: { seq: 1, ack: 777, flags: Ack }, rst: { seq: 777, ack: 0, flags: Rst } },
    { name: 'ACK with data', seg: { seq: 1, ack: 0xdeadbeef, flags: Ack | Psh, payload: enc('xyz') }, rst: { seq: 0xdeadbeef, ack: 0, flags: Rst } },
    { name: 'FIN+ACK', seg: { seq: 9, ack: 4242, flags: Fin | Ack }, rst: { seq: 4242, ack: 0, flags: Rst } },
    { name: 'SYN+ACK', seg: { seq: 9, ack: 31337, flags: Syn | Ack }, rst: { seq: 31337, ack: 0, flags: Rst } },
    { name: 'all flags but RST', seg: { seq: 9, ack: 55, flags: 0xff & ~Rst }, rst: { seq: 55, ack: 0, flags: Rst } },
  ];

  it.each(cases)('$name is answered with a RST the sender accepts', ({ seg, rst }) => {
    const h = known();
    h.inject(tcpFrame({ ...seg, srcPort: 41000, dstPort: 9 }));
    const [reply, ...more] = tcpSent(h.sent());
    expect(more).toEqual([]);
    expect({ seq: reply.tcp.seq, ack: reply.tcp.ack, flags: reply.tcp.flags }).toEqual(rst);
    expect([reply.tcp.srcPort, reply.tcp.dstPort, reply.tcp.window, reply.tcp.payloadLen]).toEqual([9, 41000, 0, 0]);
    expect([reply.ip.src.toString(), reply.ip.dst.toString()]).toEqual(['10.0.0.2', '10.0.0.1']);
    expect(h.stack.stats.tcp.resetsSent).toBe(1);
    expect(h.stack.stats.tcp.dropped['no-connection']).toBe(1);
  });

  it('never answers a RST, with or without ACK', () => {
    const h = known();
    h.inject(tcpFrame({ dstPort: 9, flags: Rst }), tcpFrame({ dstPort: 9, seq: 5, ack: 6, flags: Rst | Ack }), tcpFrame({ dstPort: 9, flags: Rst | Syn }));
    expect(tcpSent(h.sent())).toEqual([]);
    expect(h.stack.stats.tcp.resetsSent).toBe(0);
  });

  it('never answers a broadcast or multicast destination (RFC 1122 §4.2.3.10)', () => {
    const h = known();
    h.inject(
      tcpFrame({ dstPort: 9, flags: Syn, dst: ip('255.255.255.255'), dstMac: MacAddress.BROADCAST }),
      tcpFrame({ dstPort: 9, flags: Syn, dst: ip('10.0.0.255'), dstMac: MacAddress.BROADCAST }),
      tcpFrame({ dstPort: 9, flags: Syn, dst: ip('224.0.0.1'), dstMac: MacAddress.parse('01:00:5e:00:00:01') }),
      tcpFrame({ dstPort: 9, flags: Syn, dstMac: MacAddress.BROADCAST }),
    );
    expect(tcpSent(h.sent())).toEqual([]);
    expect(h.stack.stats.tcp.dropped['not-unicast']).toBe(4);
  });

  it('drops a segment with a bad checksum or a bad data offset without answering', () => {
    const h = known();
    h.inject(tcpFrame({ dstPort: 9, flags: Syn, corrupt: true }));
    const bad = tcpFrame({ dstPort: 9, flags: Syn });
    bad[14 + 20 + 12] = 0x40; // data offset 4 words
    h.inject(bad);
    expect(tcpSent(h.sent())).toEqual([]);
    expect(h.stack.stats.tcp.dropped['bad-checksum']).toBe(1);
    expect(h.stack.stats.tcp.dropped['bad-data-offset']).toBe(1);
  });

  it('does not sum the checksum again when the device vouches for it (receive offload), and still does otherwise', () => {
    const h = known();
    const device = h.stack.interfaces[0].device as { receivedChecksumGood?: () => boolean };
    // A device that finished or verified every checksum (Device.receivedChecksumGood): the
    // stack takes its word. A corrupted checksum then passes: proof that it was not summed.
    device.receivedChecksumGood = () => true;
    h.inject(tcpFrame({ dstPort: 9, flags: Syn, corrupt: true }));
    expect(h.stack.stats.tcp.dropped['bad-checksum']).toBeUndefined();
    expect(tcpSent(h.sent()).map((s) => s.tcp.flags)).toEqual([Rst | Ack]);
    device.receivedChecksumGood = () => false;
    h.inject(tcpFrame({ dstPort: 9, flags: Syn, corrupt: true }));
    expect(h.stack.stats.tcp.dropped['bad-checksum']).toBe(1);
    expect(tcpSent(h.sent())).toEqual([]);
  });

  it('answers over IPv6 too, and not to a multicast destination', () => {
    const LL = ip6('fe80::ff:fe00:2');
    const PEER6 = ip6('fe80::1');
    const h = harness({ ipv4: [], ipv6: {} });
    h.advance(3_000);
    const ns = ndpToIcmp({ type: 'ns', target: LL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER6, dst: LL.solicitedNode(), icmp: ns, hopLimit: 255 }));
    h.sent();
    const frame6 = (dst: Ipv6Address, dstMac: MacAddress) => {
      const tcp = new TcpRepr({ srcPort: 40000, dstPort: 22, seq: 100, ack: 0, flags: Syn, window: 1000, payloadLen: 0 });
      const seg = new Uint8Array(tcp.headerLen());
      tcp.emit(seg, 0, new Uint8Array(0), { src: PEER6, dst });
      const ipr = new Ipv6Repr({ src: PEER6, dst, nextHeader: Ipv6NextHeader.Tcp, payloadLen: seg.length });
      return ethernetFrame(PEER_MAC, dstMac, EtherType.Ipv6, 40 + seg.length, (b, o) => {
        ipr.emit(b, o);
        b.set(seg, o + 40);
      });
    };
    h.inject(frame6(LL, STACK_MAC));
    const replies = h.sent().flatMap((f) => {
      const eth = EthernetFrame.checked(f);
      if (isDrop(eth) || eth.ethertype !== EtherType.Ipv6) return [];
      const pkt = Ipv6Packet.checked(eth.payload) as Ipv6Packet;
      if (pkt.nextHeader !== Ipv6NextHeader.Tcp) return [];
      const tcp = TcpRepr.parse(TcpPacket.checked(pkt.payload) as TcpPacket, { src: pkt.src, dst: pkt.dst });
      if (isDrop(tcp)) throw new Error(tcp);
      return [tcp];
    });
    expect(replies.map((r) => [r.flags, r.seq, r.ack, r.srcPort, r.dstPort])).toEqual([[Rst | Ack, 0, 101, 22, 40000]]);
    h.inject(frame6(ip6('ff02::1'), MacAddress.fromIpv6Multicast(ip6('ff02::1'))));
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.tcp.dropped['not-unicast']).toBe(1);
  });
});

describe('listeners', () => {
  it('take a SYN to their address before the wildcard one, per family (an IPv6 listener hears no IPv4)', () => {
    const h = known({ ipv4: ['10.0.0.2/24', '10.0.0.3/24'] });
    // Sharing a port across overlapping addresses takes SO_REUSEPORT on both, as on Linux.
    const wildcard = listen(h, 80, 16, undefined, 4, true);
    const specific = listen(h, 80, 16, ip('10.0.0.2'), 4, true);
    listen(h, 81, 16, undefined, 6);
    h.inject(tcpFrame({ srcPort: 1111, dstPort: 80, flags: Syn }));
    h.inject(tcpFrame({ srcPort: 2222, dstPort: 80, flags: Syn, dst: ip('10.0.0.3') }));
    expect([specific.synReceived, wildcard.synReceived]).toEqual([1, 1]);
    const synAcks = tcpSent(h.sent());
    expect(synAcks.map((s) => [s.ip.src.toString(), s.tcp.dstPort, s.tcp.flags])).toEqual([
      ['10.0.0.2', 1111, Syn | Ack],
      ['10.0.0.3', 2222, Syn | Ack],
    ]);
    h.inject(tcpFrame({ srcPort: 3333, dstPort: 81, flags: Syn }));
    expect(tcpSent(h.sent()).map((s) => s.tcp.flags)).toEqual([Rst | Ack]);
  });

  it('complete the handshake into the accept queue, and the listener is reported ready', () => {
    const h = known();
    const l = listen(h, 80);
    h.stack.tcp.takeReady();
    h.inject(tcpFrame({ srcPort: 1111, dstPort: 80, seq: 99, flags: Syn, options: { mss: 1400 } }));
    const [synAck] = tcpSent(h.sent());
    expect(synAck.tcp.options.mss).toBe(1460);
    expect(synAck.ip.dontFragment).toBe(true);
    expect(l.acceptable).toBe(0);
    expect(h.stack.tcp.takeReady().listeners).toEqual([]);
    h.inject(tcpFrame({ srcPort: 1111, dstPort: 80, seq: 100, ack: synAck.tcp.seq + 1, flags: Ack, payload: enc('hi') }));
    expect([l.synReceived, l.acceptable]).toEqual([0, 1]);
    expect(h.stack.tcp.takeReady().listeners).toEqual([l]);
    const conn = l.accept()!;
    expect(l.accept()).toBeUndefined();
    expect(dec(conn.read()!)).toBe('hi');
    expect(h.stack.stats.tcp.passiveOpens).toBe(1);
  });

  it('refuse a port another listener or an opened connection holds (EADDRINUSE), unless the addresses differ', () => {
    const h = known({ ipv4: ['10.0.0.2/24', '10.0.0.3/24'] });
    const tcp = h.stack.tcp;
    listen(h, 80);
    expect(tcp.listen({ port: 80, backlog: 1, family: 4 })).toBe('EADDRINUSE');
    expect(tcp.listen({ port: 80, backlog: 1, family: 4, address: ip('10.0.0.2') })).toBe('EADDRINUSE');
    expect(tcp.listen({ port: 80, backlog: 1, family: 4, address: ip('10.0.0.2'), reusePort: true })).toBe('EADDRINUSE');
    listen(h, 90, 1, ip('10.0.0.2'), 4, true);
    expect(tcp.listen({ port: 90, backlog: 1, family: 4, address: ip('10.0.0.2'), reusePort: true })).toBe('EADDRINUSE');
    listen(h, 81, 1, ip('10.0.0.2'));
    listen(h, 81, 1, ip('10.0.0.3'));
    expect(tcp.listen({ port: 81, backlog: 1, family: 4 })).toBe('EADDRINUSE');
    // IPv4 and IPv6 ports are separate spaces (the IPv6 listener is v6-only).
    listen(h, 80, 1, undefined, 6);
    expect(tcp.listen({ port: 80, backlog: 1, family: 6 })).toBe('EADDRINUSE');
    const conn = tcp.connect({ remote: { address: PEER, port: 443 } }, h.clock.now()) as TcpConnection;
    expect(tcp.listen({ port: conn.tuple.local.port, backlog: 1, family: 4 })).toBe('EADDRINUSE');
    expect(tcp.connect({ remote: { address: PEER, port: 443 }, local: { port: 80 } }, h.clock.now())).toBe('EADDRINUSE');
    expect(tcp.connect({ remote: { address: PEER, port: 443 }, local: { port: conn.tuple.local.port } }, h.clock.now())).toBe('EADDRINUSE');
  });

  it('check their arguments: EADDRNOTAVAIL for an address not ours, EINVAL for a bad port or family', () => {
    const h = known();
    const tcp = h.stack.tcp;
    expect(tcp.listen({ port: 80, backlog: 1, family: 4, address: ip('10.0.0.9') })).toBe('EADDRNOTAVAIL');
    expect(tcp.listen({ port: 80, backlog: 1, family: 6, address: ip('10.0.0.2') })).toBe('EINVAL');
    expect(tcp.listen({ port: 70000, backlog: 1, family: 4 })).toBe('EINVAL');
    const any = listen(h, 0);
    expect(any.port).toBeGreaterThanOrEqual(49152);
    expect(listen(h, 82, 1, ip('0.0.0.0')).address).toBeUndefined();
    expect(listen(h, 83, 100_000).backlog).toBe(4096);
  });

  it('stop on close: the connections not yet accepted are reset, and new SYNs are refused', () => {
    const h = known();
    const l = listen(h, 80);
    h.inject(tcpFrame({ srcPort: 1111, dstPort: 80, seq: 1, flags: Syn }));
    const [synAck] = tcpSent(h.sent());
    h.inject(tcpFrame({ srcPort: 1111, dstPort: 80, seq: 2, ack: synAck.tcp.seq + 1, flags: Ack }));
    l.close(h.clock.now());
    h.advance(0);
    expect(tcpSent(h.sent()).map((s) => [s.tcp.dstPort, s.tcp.flags & Rst])).toEqual([[1111, Rst]]);
    h.inject(tcpFrame({ srcPort: 2222, dstPort: 80, seq: 1, flags: Syn }));
    expect(tcpSent(h.sent()).map((s) => s.tcp.flags)).toEqual([Rst | Ack]);
    expect(h.stack.tcp.connectionCount).toBe(0);
  });
});

describe('TIME-WAIT', () => {
  /** A connection the stack closed first, through to TIME-WAIT; the peer's next sequence number is returned. */
  function inTimeWait(h: Harness, l: TcpListener): { conn: TcpConnection; peerNxt: number; ourNxt: number } {
    const { conn, iss, irs } = handshake(h, l, 1234);
    conn.close(h.clock.now());
    h.advance(0);
    const [fin] = tcpSent(h.sent());
    expect(fin.tcp.flags & Fin).toBe(Fin);
    h.inject(tcpFrame({ srcPort: 1234, dstPort: l.port, seq: irs + 1, ack: iss + 2, flags: Fin | Ack }));
    expect(conn.state).toBe(TcpState.TimeWait);
    h.sent();
    return { conn, peerNxt: irs + 2, ourNxt: iss + 2 };
  }

  it('a new SYN beyond the old RCV.NXT opens a new incarnation at once (RFC 6191, Linux), with an ISS above the old SND.NXT', () => {
    const h = known();
    const l = listen(h, 80);
    const { conn, peerNxt, ourNxt } = inTimeWait(h, l);
    h.inject(tcpFrame({ srcPort: 1234, dstPort: 80, seq: peerNxt + 100_000, flags: Syn, options: { mss: 1460 } }));
    const [synAck] = tcpSent(h.sent());
    expect(synAck.tcp.flags).toBe(Syn | Ack);
    expect(synAck.tcp.seq).toBe(ourNxt + 65537);
    expect(conn.state).toBe(TcpState.Closed);
    expect(l.synReceived).toBe(1);
  });

  it('an old SYN (not beyond RCV.NXT) stays with the TIME-WAIT connection, which answers with an ACK', () => {
    const h = known();
    const l = listen(h, 80);
    const { conn, peerNxt } = inTimeWait(h, l);
    h.inject(tcpFrame({ srcPort: 1234, dstPort: 80, seq: peerNxt - 10, flags: Syn }));
    const replies = tcpSent(h.sent());
    expect(replies.map((r) => [r.tcp.flags, r.tcp.ack])).toEqual([[Ack, peerNxt]]);
    expect(conn.state).toBe(TcpState.TimeWait);
    expect(l.synReceived).toBe(0);
  });
});

describe('active opens', () => {
  it('take the source from the route and an ephemeral port from the IANA range, one per 4-tuple', () => {
    const h = known();
    const tcp = h.stack.tcp;
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const conn = tcp.connect({ remote: { address: PEER, port: 80 } }, h.clock.now()) as TcpConnection;
      expect(conn.state).toBe(TcpState.SynSent);
      expect(conn.tuple.local.address.toString()).toBe('10.0.0.2');
      expect(conn.tuple.local.port).toBeGreaterThanOrEqual(49152);
      ports.add(conn.tuple.local.port);
    }
    expect(ports.size).toBe(50);
    h.advance(0);
    const syns = tcpSent(h.sent());
    expect(syns).toHaveLength(50);
    expect(syns.every((s) => s.tcp.flags === Syn && s.ip.dontFragment && s.tcp.options.mss === 1460)).toBe(true);
    expect(h.stack.stats.tcp.activeOpens).toBe(50);
  });

  it('walk the ephemeral range in turn toward one destination (RFC 6056 Algorithm 3), from a keyed offset per destination', () => {
    const h = known();
    const tcp = h.stack.tcp;
    const portsTo = (port: number) =>
      [0, 1, 2].map(() => (tcp.connect({ remote: { address: PEER, port } }, h.clock.now()) as TcpConnection).tuple.local.port);
    const to80 = portsTo(80);
    // Each port taken moves the counter on, so the next search toward 80 goes on from there.
    const next80 = portsTo(80);
    const inRange = (p: number) => 49152 + ((p - 49152 + 16384) % 16384);
    expect(to80).toEqual([to80[0], inRange(to80[0] + 1), inRange(to80[0] + 2)]);
    expect(next80[0]).toBe(inRange(to80[0] + 3));
    // Another destination has its own offset: no reason to follow on from port 80's.
    const to443 = portsTo(443);
    expect(to443[0]).not.toBe(inRange(next80[2] + 1));
  });

  it('keep our TSval rising from one connection to the next toward a peer (one clock offset per address pair), so its PAWS in TIME-WAIT takes the new SYN', () => {
    const h = known();
    const tcp = h.stack.tcp;
    const synTsval = (port: number) => {
      tcp.connect({ remote: { address: PEER, port } }, h.clock.now());
      h.advance(0);
      const [syn] = tcpSent(h.sent());
      return syn.tcp.options.timestamp?.value as number;
    };
    const first = synTsval(80);
    h.advance(250);
    h.sent();
    const second = synTsval(81);
    expect(second - first).toBeGreaterThanOrEqual(250);
    expect(second - first).toBeLessThan(300);
  });

  it('fail with Linux errors: no route, a broadcast or multicast peer, port 0, an address not ours', () => {
    const h = known();
    const tcp = h.stack.tcp;
    const now = h.clock.now();
    expect(tcp.connect({ remote: { address: ip('192.0.2.1'), port: 80 } }, now)).toBe('ENETUNREACH');
    expect(tcp.connect({ remote: { address: ip('10.0.0.255'), port: 80 } }, now)).toBe('ENETUNREACH');
    expect(tcp.connect({ remote: { address: ip('224.0.0.9'), port: 80 } }, now)).toBe('ENETUNREACH');
    expect(tcp.connect({ remote: { address: PEER, port: 0 } }, now)).toBe('EINVAL');
    expect(tcp.connect({ remote: { address: PEER, port: 80 }, local: { address: ip('10.0.0.7') } }, now)).toBe('EADDRNOTAVAIL');
    expect(tcp.connect({ remote: { address: PEER, port: 80 }, local: { address: ip6('::1') } }, now)).toBe('EINVAL');
    expect(tcpSent(h.sent())).toEqual([]);
  });

  it('reach the stack itself through loopback: a connection to its own address completes', () => {
    const h = known();
    const l = listen(h, 7);
    const client = h.stack.tcp.connect({ remote: { address: STACK, port: 7 } }, h.clock.now()) as TcpConnection;
    h.advance(10);
    const server = l.accept()!;
    expect([client.state, server.state]).toEqual([TcpState.Established, TcpState.Established]);
    client.write(enc('ping'), h.clock.now());
    h.advance(10);
    expect(dec(server.read()!)).toBe('ping');
    expect(tcpSent(h.sent())).toEqual([]);
  });

  it('are reported by takeReady when they connect, and forgotten once finished', () => {
    const h = known();
    const tcp = h.stack.tcp;
    const conn = tcp.connect({ remote: { address: PEER, port: 80 } }, h.clock.now()) as TcpConnection;
    h.advance(0);
    const [syn] = tcpSent(h.sent());
    tcp.takeReady();
    h.inject(tcpFrame({ srcPort: 80, dstPort: syn.tcp.srcPort, seq: 500, ack: syn.tcp.seq + 1, flags: Syn | Ack, options: { mss: 1460 } }));
    expect(conn.state).toBe(TcpState.Established);
    expect(tcp.takeReady().connections).toEqual([conn]);
    expect(conn.takeNotice()?.connected).toBe(true);
    h.inject(tcpFrame({ srcPort: 80, dstPort: syn.tcp.srcPort, seq: 501, flags: Rst }));
    expect(conn.error).toBe('ECONNRESET');
    // Kept until its owner has taken the news, then forgotten.
    expect(tcp.connectionCount).toBe(1);
    expect(tcp.takeReady().connections).toEqual([conn]);
    expect(conn.takeNotice()?.closed).toBe(true);
    h.advance(0);
    expect(tcp.connectionCount).toBe(0);
  });
});

describe('SYN cookies when the backlog is full (RFC 4987 §3.6)', () => {
  /** Spoofed sources beyond the gateway, so the SYN-ACKs to them need no neighbor of their own. */
  function flooded(opts: HarnessOptions = {}) {
    const h = known({ gateway: '10.0.0.1', ...opts });
    return h;
  }

  function spoofedSyn(random: SeededRandom, dstPort: number): Uint8Array {
    const src = Ipv4Address.fromNumber((0xc6120000 | (random.u32() & 0x1ffff)) >>> 0);
    return tcpFrame({ src, srcPort: 1024 + (random.u32() % 60000), dstPort, seq: random.u32(), flags: Syn, options: { mss: 1460 } });
  }

  it('keep a legitimate client connecting through a flood of thousands of spoofed SYNs, with bounded state', () => {
    const h = flooded();
    const l = listen(h, 80, 16);
    const random = new SeededRandom(7);
    const stats = h.stack.stats.tcp;
    let conn: TcpConnection | undefined;
    for (let round = 0; round < 50; round++) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < 100; i++) batch.push(spoofedSyn(random, 80));
      h.inject(...batch);
      // The backlog's 16, and the legitimate connection once accepted: the flood adds nothing.
      expect(h.stack.tcp.connectionCount).toBeLessThanOrEqual(conn ? 17 : 16);
      if (round === 25) {
        h.sent();
        h.inject(tcpFrame({ srcPort: 5555, dstPort: 80, seq: 70000, flags: Syn, options: { mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 1234, echo: 0 } } }));
        const [synAck] = tcpSent(h.sent()).filter((s) => s.tcp.dstPort === 5555);
        expect(synAck.tcp.flags).toBe(Syn | Ack);
        expect(synAck.tcp.options).toMatchObject({ mss: 1460, sackPermitted: true });
        expect(synAck.tcp.options.windowScale).toBeDefined();
        const tsval = synAck.tcp.options.timestamp!.value;
        expect(synAck.tcp.options.timestamp!.echo).toBe(1234);
        h.stack.tcp.takeReady();
        h.inject(tcpFrame({ srcPort: 5555, dstPort: 80, seq: 70001, ack: synAck.tcp.seq + 1, flags: Ack | Psh, options: { timestamp: { value: 1240, echo: tsval } }, payload: enc('GET /') }));
        expect(h.stack.tcp.takeReady()).toEqual({ connections: [], listeners: [l] });
        conn = l.accept();
        expect(conn?.state).toBe(TcpState.Established);
        expect(dec(conn!.read()!)).toBe('GET /');
        conn!.write(enc('200 OK'), h.clock.now());
        h.advance(0);
        const [reply] = tcpSent(h.sent()).filter((s) => s.tcp.dstPort === 5555 && s.tcp.payloadLen > 0);
        expect(dec(reply.tcp.payload)).toBe('200 OK');
        expect(reply.tcp.seq).toBe(synAck.tcp.seq + 1);
      }
      h.sent();
    }
    expect(conn).toBeDefined();
    expect(stats.synCookiesSent).toBeGreaterThanOrEqual(5000 - 16);
    expect(stats.synCookiesValidated).toBe(1);
    expect(l.synReceived).toBe(16);
    expect(h.stack.tcp.connectionCount).toBe(17);
  });

  it('refuse a forged ACK (RST, counted) and an expired cookie, and take a fresh one', () => {
    const h = flooded({ stack: { tcp: { synAckRetries: 50 } } });
    const l = listen(h, 80, 1);
    const stats = h.stack.stats.tcp;
    h.inject(spoofedSyn(new SeededRandom(1), 80));
    h.sent();
    const cookieFor = (srcPort: number, isn: number) => {
      h.inject(tcpFrame({ srcPort, dstPort: 80, seq: isn, flags: Syn, options: { mss: 1300 } }));
      const [synAck] = tcpSent(h.sent()).filter((s) => s.tcp.dstPort === srcPort);
      return synAck.tcp.seq;
    };
    const old = cookieFor(7000, 1);
    expect(stats.synCookiesSent).toBe(1);
    h.inject(tcpFrame({ srcPort: 6000, dstPort: 80, seq: 2, ack: 12345, flags: Ack }));
    expect(tcpSent(h.sent()).filter((s) => s.tcp.dstPort === 6000).map((s) => [s.tcp.flags, s.tcp.seq])).toEqual([[Rst, 12345]]);
    expect(stats.synCookiesFailed).toBe(1);
    // 150 s on, the peer (also the gateway to the spoofed source) keeps its ARP entry fresh,
    // so the one SYN-RECEIVED connection keeps the backlog full.
    for (let i = 0; i < 15; i++) {
      h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER, targetIp: STACK }));
      h.advance(10_000);
    }
    expect(l.synReceived).toBe(1);
    h.sent();
    const fresh = cookieFor(7001, 1);
    const expiredBefore = stats.dropped['syn-cookie-expired'] ?? 0;
    h.inject(tcpFrame({ srcPort: 7000, dstPort: 80, seq: 2, ack: old + 1, flags: Ack }));
    expect(tcpSent(h.sent()).filter((s) => s.tcp.dstPort === 7000).map((s) => s.tcp.flags)).toEqual([Rst]);
    expect(stats.synCookiesFailed).toBe(2);
    expect(stats.dropped['syn-cookie-expired']).toBe(expiredBefore + 1);
    h.inject(tcpFrame({ srcPort: 7001, dstPort: 80, seq: 2, ack: fresh + 1, flags: Ack }));
    expect(stats.synCookiesValidated).toBe(1);
    const conn = l.accept()!;
    expect(conn.tuple.remote.port).toBe(7001);
    // No timestamps offered, so the cookie kept only the MSS.
    expect(conn.state).toBe(TcpState.Established);
  });

  it('answers a bare ACK with a RST when no cookie went out lately', () => {
    const h = known();
    listen(h, 80);
    h.inject(tcpFrame({ srcPort: 6000, dstPort: 80, seq: 2, ack: 999, flags: Ack }));
    expect(tcpSent(h.sent()).map((s) => [s.tcp.flags, s.tcp.seq])).toEqual([[Rst, 999]]);
    expect(h.stack.stats.tcp.synCookiesFailed).toBe(0);
  });
});

describe('ICMP errors (RFC 5927)', () => {
  /** An ICMP error from the peer quoting `quoted` (an IP packet the stack sent). */
  function icmpAbout(quoted: Uint8Array, type: number, code: number, mtu = 0): Uint8Array {
    const icmp = new Icmpv4Repr({ type, code, restOfHeader: mtu & 0xffff, payload: quoted.subarray(0, 28) });
    const ipr = new Ipv4Repr({ src: PEER, dst: STACK, protocol: IpProtocol.Icmp, payloadLen: icmp.bufferLen() });
    return ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + icmp.bufferLen(), (b, o) => {
      ipr.emit(b, o);
      icmp.emit(b, o + ipr.bufferLen());
    });
  }

  /** The IP packet of a sent frame, with the TCP sequence number replaced. */
  function withSeq(frame: Uint8Array, seq: number): Uint8Array {
    const packet = frame.slice(14);
    new DataView(packet.buffer).setUint32(20 + 4, seq >>> 0);
    return packet;
  }

  it('reach a connection only when the quoted sequence number is in flight: port unreachable refuses a SYN', () => {
    const h = known();
    const conn = h.stack.tcp.connect({ remote: { address: PEER, port: 80 } }, h.clock.now()) as TcpConnection;
    h.advance(0);
    const [frame] = h.sent();
    const iss = tcpSent([frame])[0].tcp.seq;
    h.inject(icmpAbout(withSeq(frame, iss + 1), Icmpv4Type.DestUnreachable, 3));
    h.inject(icmpAbout(withSeq(frame, iss - 1), Icmpv4Type.DestUnreachable, 3));
    expect(h.stack.stats.tcp.dropped['icmp-out-of-window']).toBe(2);
    expect(conn.state).toBe(TcpState.SynSent);
    const other = frame.slice(14);
    other[20 + 1] ^= 1; // another source port
    h.inject(icmpAbout(other, Icmpv4Type.DestUnreachable, 3));
    expect(h.stack.stats.tcp.dropped['icmp-no-connection']).toBe(1);
    h.inject(icmpAbout(frame.slice(14), Icmpv4Type.DestUnreachable, 3));
    expect(conn.error).toBe('ECONNREFUSED');
    expect(conn.state).toBe(TcpState.Closed);
  });

  it('come over ICMPv6 too: port unreachable (code 4) about our SYN refuses the connection', () => {
    const LL = ip6('fe80::ff:fe00:2');
    const PEER6 = ip6('fe80::1');
    const h = harness({ ipv4: [], ipv6: {} });
    h.advance(3_000);
    const ns = ndpToIcmp({ type: 'ns', target: LL, options: { ...emptyNdpOptions(), sourceLinkAddr: PEER_MAC } });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, src: PEER6, dst: LL.solicitedNode(), icmp: ns, hopLimit: 255 }));
    h.sent();
    const conn = h.stack.tcp.connect({ remote: { address: PEER6, port: 80 } }, h.clock.now()) as TcpConnection;
    expect(conn.tuple.local.address.toString()).toBe('fe80::ff:fe00:2');
    h.advance(0);
    const [syn] = h.sent();
    const packet = syn.slice(14);
    const wrongSeq = packet.slice();
    wrongSeq[40 + 4] ^= 0x80;
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER6, dst: LL, icmp: Icmpv6Repr.destUnreachable(4, wrongSeq) }));
    expect(conn.state).toBe(TcpState.SynSent);
    expect(h.stack.stats.tcp.dropped['icmp-out-of-window']).toBe(1);
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER6, dst: LL, icmp: Icmpv6Repr.destUnreachable(4, packet) }));
    expect(conn.error).toBe('ECONNREFUSED');
  });

  it('lower the IPv4 path MTU on "fragmentation needed" for data in flight, and the connection resegments', () => {
    const h = known();
    const l = listen(h, 80);
    const { conn } = handshake(h, l, 1234);
    h.sent();
    conn.write(new Uint8Array(3000).fill(7), h.clock.now());
    h.advance(0);
    const first = h.sent();
    const sizes = tcpSent(first).map((s) => s.tcp.payloadLen);
    expect(Math.max(...sizes)).toBe(1460);
    h.inject(icmpAbout(first[0].slice(14), Icmpv4Type.DestUnreachable, 4, 1000));
    h.advance(5_000);
    const again = tcpSent(h.sent()).filter((s) => s.tcp.payloadLen > 0);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((s) => s.ip.bufferLen() + s.tcp.headerLen() + s.tcp.payloadLen <= 1000)).toBe(true);
  });
});
