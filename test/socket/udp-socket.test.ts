import { describe, expect, it } from 'vitest';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame } from '../../lib/wire/ethernet';
import { Icmpv4Repr } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { Ipv6NextHeader, Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import { Icmpv6Repr } from '../../lib/wire/icmpv6';
import { UdpPacket, UdpRepr } from '../../lib/wire/udp';
import { arpFrame, ethernetFrame, ip } from '../helpers/frames';
import { icmpv6Frame, ip6 } from '../helpers/frames6';
import { PEER_LL, readyIpv6Harness, STACK_LL, udp6Frame } from '../helpers/udp6';
import { PEER_MAC, readyHarness, STACK_MAC, type Harness, type HarnessOptions } from '../helpers/harness';

const PEER_IP = ip('10.0.0.1');
const STACK_IP = ip('10.0.0.2');
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

function udp4(f: { dstPort: number; payload: Uint8Array; srcPort?: number; src?: Ipv4Address; dst?: Ipv4Address; dstMac?: MacAddress }): Uint8Array {
  const src = f.src ?? PEER_IP;
  const dst = f.dst ?? STACK_IP;
  const udp = new UdpRepr({ srcPort: f.srcPort ?? 40000, dstPort: f.dstPort, payloadLen: f.payload.length });
  const seg = new Uint8Array(8 + f.payload.length);
  seg.set(f.payload, 8);
  udp.emit(seg, 0, { src, dst });
  const ipr = new Ipv4Repr({ src, dst, protocol: IpProtocol.Udp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, f.dstMac ?? STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + ipr.bufferLen());
  });
}

/** The UDP datagrams among the frames the stack sent, with the IP packet for quoting. */
function udpSent(frames: Uint8Array[]) {
  const out: { src: string; dst: string; srcPort: number; dstPort: number; payload: string; packet: Uint8Array }[] = [];
  for (const f of frames) {
    const eth = EthernetFrame.checked(f);
    if (isDrop(eth)) throw new Error(eth);
    if (eth.ethertype === EtherType.Ipv4) {
      const pkt = Ipv4Packet.checked(eth.payload);
      if (isDrop(pkt) || pkt.protocol !== IpProtocol.Udp) continue;
      const ipr = Ipv4Repr.parse(pkt) as Ipv4Repr;
      const u = UdpPacket.checked(pkt.payload) as UdpPacket;
      const r = UdpRepr.parse(u, ipr);
      if (isDrop(r)) throw new Error(`bad UDP from the stack: ${r}`);
      out.push({ src: `${ipr.src}`, dst: `${ipr.dst}`, srcPort: r.srcPort, dstPort: r.dstPort, payload: str(u.payload)!, packet: eth.payload.subarray(0, pkt.totalLength) });
    } else if (eth.ethertype === EtherType.Ipv6) {
      const pkt = Ipv6Packet.checked(eth.payload);
      if (isDrop(pkt) || pkt.nextHeader !== Ipv6NextHeader.Udp) continue;
      const ipr = Ipv6Repr.parse(pkt) as Ipv6Repr;
      const u = UdpPacket.checked(pkt.payload) as UdpPacket;
      const r = UdpRepr.parse(u, ipr);
      if (isDrop(r)) throw new Error(`bad UDP from the stack: ${r}`);
      out.push({ src: `${ipr.src}`, dst: `${ipr.dst}`, srcPort: r.srcPort, dstPort: r.dstPort, payload: str(u.payload)!, packet: eth.payload });
    }
  }
  return out;
}

/** An ICMPv4 Destination Unreachable from the peer quoting `packet` (RFC 792). */
function unreachable4(code: number, packet: Uint8Array): Uint8Array {
  const icmp = new Icmpv4Repr({ type: 3, code, restOfHeader: 0, payload: packet.subarray(0, 28) });
  const ipr = new Ipv4Repr({ src: PEER_IP, dst: STACK_IP, protocol: IpProtocol.Icmp, payloadLen: icmp.bufferLen() });
  return ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + icmp.bufferLen(), (b, o) => {
    ipr.emit(b, o);
    icmp.emit(b, o + ipr.bufferLen());
  });
}

/** What the stack sent: frames leave the device at the end of a poll. */
function flushed(h: Harness): Uint8Array[] {
  h.inject();
  return h.sent();
}

function known(opts: HarnessOptions = {}) {
  const h = readyHarness(opts);
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
  h.sent();
  return h;
}

describe('UDP sockets: bind rules', () => {
  it('follows Linux without SO_REUSEADDR, and shares a port when both set reuseAddr', () => {
    const t = known().stack.udpSockets;
    const a = t.open(4);
    expect(t.bind(a, { address: STACK_IP, port: 5000 })).toBeUndefined();
    expect(t.bind(a, { port: 5001 }), 'already bound').toBe('EINVAL');
    expect(t.bind(t.open(4), { address: STACK_IP, port: 5000 })).toBe('EADDRINUSE');
    expect(t.bind(t.open(4), { port: 5000 }), 'wildcard vs specific').toBe('EADDRINUSE');
    expect(t.bind(t.open(4), { address: ip('127.0.0.1'), port: 5000 }), 'another local address').toBeUndefined();
    expect(t.bind(t.open(4), { address: ip('10.9.9.9'), port: 5000 })).toBe('EADDRNOTAVAIL');
    expect(t.bind(t.open(4), { address: ip6('::1'), port: 5002 }), 'wrong family').toBe('EINVAL');
    expect(t.bind(t.open(4), { port: 70000 })).toBe('EINVAL');
    const v6only = t.open(6);
    v6only.v6only = true;
    expect(t.bind(v6only, { port: 5000 }), 'a v6-only socket is separate from IPv4').toBeUndefined();
    expect(t.bind(t.open(6), { port: 5000 }), 'a dual-stack :: also takes IPv4 (Linux)').toBe('EADDRINUSE');
    const r1 = t.open(4);
    const r2 = t.open(4);
    expect(t.bind(r1, { port: 6000, reuseAddr: true })).toBeUndefined();
    expect(t.bind(r2, { port: 6000, reuseAddr: true })).toBeUndefined();
    expect(t.bind(t.open(4), { address: STACK_IP, port: 6000 }), 'one without reuseAddr').toBe('EADDRINUSE');
    expect(t.bind(t.open(4), { address: ip('239.1.2.3'), port: 6000, reuseAddr: true }), 'a multicast group').toBeUndefined();
  });

  it('frees the port on close', () => {
    const t = known().stack.udpSockets;
    const a = t.open(4);
    t.bind(a, { port: 5000 });
    t.close(a, 0);
    expect(t.bind(t.open(4), { port: 5000 })).toBeUndefined();
  });

  it('picks random, distinct ephemeral ports in 49152–65535, reproducibly for a seed', () => {
    const ports = (seed: number) => {
      const t = known({ seed }).stack.udpSockets;
      return Array.from({ length: 50 }, () => {
        const s = t.open(4);
        expect(t.bind(s, { port: 0 })).toBeUndefined();
        return s.local!.port;
      });
    };
    const run = ports(7);
    expect(run.every((p) => p >= 49152 && p <= 65535)).toBe(true);
    expect(new Set(run).size).toBe(50);
    expect(ports(7)).toEqual(run);
    expect(ports(8)).not.toEqual(run);
    // Random starts, not a counter: the spread covers much of the range.
    expect(Math.max(...run) - Math.min(...run)).toBeGreaterThan(8000);
  });

  it('says EADDRINUSE when the ephemeral range is exhausted', () => {
    const t = known({ stack: { udpSockets: { ephemeralPorts: [50000, 50003] } } }).stack.udpSockets;
    const got = Array.from({ length: 4 }, () => {
      const s = t.open(4);
      expect(t.bind(s, { port: 0 })).toBeUndefined();
      return s.local!.port;
    });
    expect(got.sort()).toEqual([50000, 50001, 50002, 50003]);
    expect(t.bind(t.open(4), { port: 0 })).toBe('EADDRINUSE');
    expect(t.send(t.open(4), text('x'), { address: PEER_IP, port: 9 }, 0), 'implicit bind on send').toBe('EADDRINUSE');
  });
});

describe('UDP sockets: demultiplexing and queues', () => {
  it('prefers a connected socket, then a specific address, then the wildcard (unicast to the latest bound)', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const wild = t.open(4);
    const specific = t.open(4);
    const connected = t.open(4);
    t.bind(wild, { port: 7000, reuseAddr: true });
    t.bind(specific, { address: STACK_IP, port: 7000, reuseAddr: true });
    t.bind(connected, { address: STACK_IP, port: 7000, reuseAddr: true });
    expect(t.connect(connected, { address: PEER_IP, port: 40000 }, h.clock.now())).toBeUndefined();
    h.inject(udp4({ dstPort: 7000, srcPort: 40000, payload: text('a') }));
    h.inject(udp4({ dstPort: 7000, srcPort: 40001, payload: text('b') }));
    h.inject(udp4({ dstPort: 7000, srcPort: 40001, payload: text('c'), dst: ip('127.0.0.1') }));
    expect(h.sent(), 'no port unreachable').toEqual([]);
    expect(str(t.receive(connected)?.payload)).toBe('a');
    expect(t.receive(connected)).toBeUndefined();
    expect(t.receive(specific)).toMatchObject({ from: { port: 40001 }, family: 4 });
    expect(str(t.receive(wild)?.payload), 'not bound to it').toBeUndefined();
    expect(h.stack.stats.udp.rx).toBe(2);
    expect(new Set(t.takeReady())).toEqual(new Set([connected, specific]));
    expect(t.takeReady()).toEqual([]);
  });

  it('gives a copy of a broadcast to every reuseAddr socket, and falls back to listeners, then port unreachable', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const a = t.open(4);
    const b = t.open(4);
    t.bind(a, { port: 8000, reuseAddr: true });
    t.bind(b, { port: 8000, reuseAddr: true });
    h.inject(udp4({ dstPort: 8000, payload: text('all'), dst: Ipv4Address.BROADCAST, dstMac: MacAddress.BROADCAST }));
    expect([str(t.receive(a)?.payload), str(t.receive(b)?.payload)]).toEqual(['all', 'all']);
    h.inject(udp4({ dstPort: 8000, payload: text('one') }));
    expect([t.receive(a), str(t.receive(b)?.payload)]).toEqual([undefined, 'one']);
    let heard = 0;
    h.stack.udp.listen(8001, () => heard++);
    h.inject(udp4({ dstPort: 8001, payload: text('dhcp') }));
    expect(heard).toBe(1);
    t.close(a, h.clock.now());
    t.close(b, h.clock.now());
    h.inject(udp4({ dstPort: 8000, payload: text('nobody') }));
    expect(h.sent()).toHaveLength(1);
    expect(h.stack.stats.udp.dropped['port-unreachable']).toBe(1);
  });

  it('bounds the receive queue in bytes and counts the drops', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    t.bind(s, { port: 9000 });
    s.recvBufferSize = 2500;
    for (let i = 0; i < 4; i++) h.inject(udp4({ dstPort: 9000, payload: new Uint8Array(1000).fill(i) }));
    expect(s.drops).toBe(2);
    expect(h.stack.stats.udp.dropped['receive-buffer-full']).toBe(2);
    expect(t.receive(s)?.payload[0]).toBe(0);
    h.inject(udp4({ dstPort: 9000, payload: new Uint8Array(1000).fill(9) }));
    expect([t.receive(s)?.payload[0], t.receive(s)?.payload[0], t.receive(s)]).toEqual([1, 9, undefined]);
  });

  it('hands out a copy that outlives the frame', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    t.bind(s, { port: 9001 });
    const frame = udp4({ dstPort: 9001, payload: text('keep') });
    h.inject(frame);
    frame.fill(0);
    expect(str(t.receive(s)?.payload)).toBe('keep');
  });
});

describe('UDP sockets: sending and errors', () => {
  it('sends from an implicit ephemeral port and gets the reply back', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    expect(t.send(s, text('ping'), { address: PEER_IP, port: 53 }, h.clock.now())).toBeUndefined();
    const [out] = udpSent(flushed(h));
    expect(out).toMatchObject({ src: '10.0.0.2', dst: '10.0.0.1', dstPort: 53, payload: 'ping', srcPort: s.local!.port });
    expect(out.srcPort).toBeGreaterThanOrEqual(49152);
    h.inject(udp4({ srcPort: 53, dstPort: out.srcPort, payload: text('pong') }));
    expect(t.receive(s)).toMatchObject({ from: { port: 53 }, family: 4 });
  });

  it('a dual-stack IPv6 socket carries IPv4 as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2); a v6-only one does not', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const dual = t.open(6);
    expect(t.bind(dual, { port: 7 })).toBeUndefined();
    h.inject(udp4({ srcPort: 1234, dstPort: 7, payload: text('v4 in') }));
    const got = t.receive(dual)!;
    expect([got.from.address.toString(), got.from.port, got.family, str(got.payload)]).toEqual(['::ffff:10.0.0.1', 1234, 6, 'v4 in']);
    expect(t.send(dual, text('v4 out'), got.from, h.clock.now())).toBeUndefined();
    expect(udpSent(flushed(h))).toMatchObject([{ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 7, dstPort: 1234, payload: 'v4 out' }]);

    const only = t.open(6);
    only.v6only = true;
    expect(t.bind(only, { port: 8 })).toBeUndefined();
    h.inject(udp4({ dstPort: 8, payload: text('nobody') }));
    expect(t.receive(only)).toBeUndefined();
    expect(t.send(only, text('x'), { address: ip6('::ffff:10.0.0.1'), port: 9 }, h.clock.now()), 'Linux: ENETUNREACH').toBe('ENETUNREACH');
    expect(t.bind(t.open(6), { address: ip6('::ffff:10.0.0.2'), port: 9 }), 'a mapped local address').toBeUndefined();
    const mappedOnly = t.open(6);
    mappedOnly.v6only = true;
    expect(t.bind(mappedOnly, { address: ip6('::ffff:10.0.0.2'), port: 10 }), 'v6-only cannot bind a mapped address').toBe('EINVAL');
  });

  it('checks the destination and the size', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const s = t.open(4);
    const now = h.clock.now();
    expect(t.send(s, text('x'), undefined, now)).toBe('EDESTADDRREQ');
    expect(t.send(s, new Uint8Array(65_508), { address: PEER_IP, port: 9 }, now)).toBe('EMSGSIZE');
    expect(t.send(s, text('x'), { address: ip('192.168.7.7'), port: 9 }, now)).toBe('ENETUNREACH');
    expect(t.connect(s, { address: PEER_IP, port: 9 }, now)).toBeUndefined();
    expect(s.local!.address?.toString(), 'connect takes the route source').toBe('10.0.0.2');
    expect(t.send(s, text('x'), { address: PEER_IP, port: 9 }, now)).toBe('EISCONN');
    expect(t.send(s, text('x'), undefined, now)).toBeUndefined();
    expect(udpSent(flushed(h)).map((d) => d.dstPort)).toEqual([9]);
    t.disconnect(s);
    expect(s.local!.address, 'the address connect chose goes back to wildcard').toBeUndefined();
    expect(t.send(s, text('x'), undefined, now)).toBe('EDESTADDRREQ');
  });

  it('reports ECONNREFUSED to a connected socket after port unreachable, and nothing to an unconnected one', () => {
    const h = known();
    const t = h.stack.udpSockets;
    const c = t.open(4);
    t.connect(c, { address: PEER_IP, port: 4444 }, h.clock.now());
    t.send(c, text('hello'), undefined, h.clock.now());
    const u = t.open(4);
    t.send(u, text('hello'), { address: PEER_IP, port: 4444 }, h.clock.now());
    const [toC, toU] = udpSent(flushed(h));
    h.inject(unreachable4(3, toU.packet));
    expect(t.takeError(u)).toBeUndefined();
    expect(t.takeError(c)).toBeUndefined();
    h.inject(unreachable4(3, toC.packet));
    expect(t.takeReady()).toEqual([c]);
    expect(t.takeError(c)).toBe('ECONNREFUSED');
    expect(t.takeError(c), 'cleared once read').toBeUndefined();
    h.inject(unreachable4(1, toC.packet));
    expect(t.takeError(c)).toBe('EHOSTUNREACH');
    h.inject(unreachable4(4, toC.packet));
    expect(t.takeError(c)).toBe('EMSGSIZE');
  });
});

describe('UDP sockets over IPv6', () => {
  const LL = STACK_LL;
  const PEER6 = PEER_LL;

  it('binds to the link-local address, receives, and refuses foreign addresses and oversized payloads', () => {
    const h = readyIpv6Harness();
    const t = h.stack.udpSockets;
    const s = t.open(6);
    expect(t.bind(t.open(6), { address: ip6('2001:db8::99'), port: 7 })).toBe('EADDRNOTAVAIL');
    expect(t.bind(s, { address: LL, port: 7 })).toBeUndefined();
    h.inject(udp6Frame({ dstPort: 7, payload: text('hi6') }));
    const got = t.receive(s);
    expect([str(got?.payload), got?.from.address.toString(), got?.family]).toEqual(['hi6', 'fe80::1', 6]);
    // RFC 4007 §6: a link-local source comes with its zone, the interface it arrived on.
    expect(got?.from.scope).toBe('pipe0');
    expect(t.send(s, new Uint8Array(65_528), { address: PEER6, port: 9 }, h.clock.now())).toBe('EMSGSIZE');
  });

  it('answers a link-local peer through the zone it came from', () => {
    const h = readyIpv6Harness();
    const t = h.stack.udpSockets;
    const s = t.open(6);
    t.bind(s, { port: 7 });
    h.inject(udp6Frame({ dstPort: 7, payload: text('zone') }));
    const got = t.receive(s)!;
    expect(t.send(s, got.payload, got.from, h.clock.now())).toBeUndefined();
    const [sent] = udpSent(flushed(h));
    expect(sent).toMatchObject({ src: 'fe80::ff:fe00:2', dst: 'fe80::1', srcPort: 7, dstPort: 40000, payload: 'zone' });
  });

  it('reports ICMPv6 port unreachable (code 4) to the connected socket as ECONNREFUSED', () => {
    const h = readyIpv6Harness();
    const t = h.stack.udpSockets;
    const s = t.open(6);
    t.bind(s, { address: LL, port: 5555 });
    expect(t.connect(s, { address: PEER6, port: 4444 }, h.clock.now())).toBeUndefined();
    expect(t.send(s, text('x'), undefined, h.clock.now())).toBeUndefined();
    const [sent] = udpSent(flushed(h));
    expect(sent).toMatchObject({ src: 'fe80::ff:fe00:2', dst: 'fe80::1', srcPort: 5555, dstPort: 4444, payload: 'x' });
    h.inject(icmpv6Frame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER6, dst: LL, icmp: Icmpv6Repr.destUnreachable(4, sent.packet) }));
    expect(t.takeError(s)).toBe('ECONNREFUSED');
  });
});
