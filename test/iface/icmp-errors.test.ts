import { describe, expect, it } from 'vitest';
import { MacAddress } from '../../lib/wire/address';
import { EtherType } from '../../lib/wire/ethernet';
import { Icmpv4Repr, Icmpv4Type } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Repr } from '../../lib/wire/ipv4';
import { arpFrame, ethernetFrame, ip, parseArp, parseIcmp } from '../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC } from '../helpers/harness';

const PEER_IP = ip('10.0.0.1');
const STACK_IP = ip('10.0.0.2');

/** An IPv4 frame with an arbitrary protocol and payload. */
function ipFrame(f: { protocol: number; payload: Uint8Array; src?: string; dst?: string; dstMac?: MacAddress; fragmentOffset?: number }): Uint8Array {
  const ipr = new Ipv4Repr({ src: ip(f.src ?? '10.0.0.1'), dst: ip(f.dst ?? '10.0.0.2'), protocol: f.protocol, payloadLen: f.payload.length, fragmentOffset: f.fragmentOffset });
  return ethernetFrame(PEER_MAC, f.dstMac ?? STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + f.payload.length, (b, o) => {
    ipr.emit(b, o);
    b.set(f.payload, o + ipr.bufferLen());
  });
}

/** An ICMP error from `reporter` quoting `quoted` (an IP packet). */
function icmpErrorFrame(type: number, code: number, quoted: Uint8Array, restOfHeader = 0, reporter = '10.0.0.1'): Uint8Array {
  const icmp = new Icmpv4Repr({ type, code, restOfHeader, payload: quoted });
  const payload = new Uint8Array(icmp.bufferLen());
  icmp.emit(payload, 0);
  return ipFrame({ protocol: IpProtocol.Icmp, payload, src: reporter });
}

/** A harness that already knows the peer's MAC, so errors go straight out. */
function known() {
  const h = readyHarness();
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
  h.sent();
  return h;
}

describe('ICMPv4 errors sent (RFC 1122 §3.2.2)', () => {
  it('answers an unknown protocol with protocol unreachable quoting the datagram', () => {
    const h = known();
    const frame = ipFrame({ protocol: 253, payload: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) });
    h.inject(frame);
    const [err] = h.sent().map(parseIcmp);
    expect(err.icmp.type).toBe(Icmpv4Type.DestUnreachable);
    expect(err.icmp.code).toBe(2);
    expect(err.ip.src.equals(STACK_IP)).toBe(true);
    expect(err.ip.dst.equals(PEER_IP)).toBe(true);
    expect(Array.from(err.icmp.payload)).toEqual(Array.from(frame.subarray(14)));
    expect(h.stack.stats.ipv4.dropped['unknown-protocol']).toBe(1);
  });

  it('quotes at most what fits in a 576-byte datagram (RFC 1812 §4.3.2.3)', () => {
    const h = known();
    h.inject(ipFrame({ protocol: 253, payload: new Uint8Array(1200) }));
    const [err] = h.sent().map(parseIcmp);
    expect(20 + 8 + err.icmp.payload.length).toBe(576);
  });

  it.each([
    ['a datagram to the limited broadcast', { dst: '255.255.255.255', dstMac: MacAddress.BROADCAST }, 'no-error-link-broadcast'],
    ['a datagram to the subnet broadcast, sent unicast', { dst: '10.0.0.255' }, 'no-error-broadcast'],
    ['a datagram in a link-layer broadcast frame', { dstMac: MacAddress.BROADCAST }, 'no-error-link-broadcast'],
    ['a datagram from 0.0.0.0', { src: '0.0.0.0' }, 'no-error-bad-source'],
    ['a datagram from class E', { src: '240.0.0.1' }, 'no-error-bad-source'],
  ])('stays silent about %s', (_what, f, reason) => {
    const h = known();
    h.inject(ipFrame({ protocol: 253, payload: new Uint8Array(8), ...f }));
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.icmpv4.dropped[reason]).toBe(1);
  });

  it('never answers an ICMP error with an error, but does answer an unknown ICMP query type', () => {
    const h = known();
    const aboutError = icmpErrorFrame(Icmpv4Type.DestUnreachable, 3, new Uint8Array(28));
    // Make the inner "protocol" unknown so the stack would want to complain about the outer datagram.
    const outer = ipFrame({ protocol: 253, payload: aboutError.subarray(34) });
    h.inject(outer);
    expect(h.sent()).toHaveLength(1);
    const sendError = (h.stack.icmpv4 as unknown as { sendError: (...a: unknown[]) => void }).sendError.bind(h.stack.icmpv4);
    const iface = h.stack.interface('pipe0')!;
    const packet = aboutError.subarray(14);
    const about = new Ipv4Repr({ src: PEER_IP, dst: STACK_IP, protocol: IpProtocol.Icmp, payloadLen: packet.length - 20 });
    sendError(Icmpv4Type.DestUnreachable, 3, about, { iface, packet, linkBroadcast: false }, h.clock.now());
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.icmpv4.dropped['no-error-about-error']).toBe(1);
  });

  it('rate-limits errors to a burst of 50, then the configured rate', () => {
    const h = known();
    for (let i = 0; i < 100; i++) h.wire.transmit(ipFrame({ protocol: 253, payload: new Uint8Array(8) }));
    h.wire.flush();
    h.advance(0);
    expect(h.sent()).toHaveLength(50);
    expect(h.stack.stats.icmpv4.dropped['error-rate-limited']).toBe(50);
    h.advance(10);
    for (let i = 0; i < 100; i++) h.wire.transmit(ipFrame({ protocol: 253, payload: new Uint8Array(8) }));
    h.wire.flush();
    h.advance(0);
    expect(h.sent()).toHaveLength(10);
  });
});

describe('ICMPv4 errors received', () => {
  function echoRequestPacket(ident: number, seq: number): Uint8Array {
    const icmp = Icmpv4Repr.echoRequest(ident, seq, new Uint8Array(56));
    const ipr = new Ipv4Repr({ src: STACK_IP, dst: ip('192.0.2.9'), protocol: IpProtocol.Icmp, payloadLen: icmp.bufferLen() });
    const p = new Uint8Array(ipr.bufferLen() + icmp.bufferLen());
    ipr.emit(p, 0);
    icmp.emit(p, ipr.bufferLen());
    return p;
  }

  it('parses an error down to the quoted header and hands it to the protocol that sent the datagram', () => {
    const h = known();
    h.inject(icmpErrorFrame(Icmpv4Type.DestUnreachable, 1, echoRequestPacket(7, 3).subarray(0, 28)));
    expect(h.events.filter((e) => e.type === 'echo-error')).toEqual([
      { type: 'echo-error', to: ip('192.0.2.9'), ident: 7, seq: 3, kind: 'host-unreachable', reporter: PEER_IP },
    ]);
  });

  it.each([
    [Icmpv4Type.DestUnreachable, 0, 'net-unreachable'],
    [Icmpv4Type.DestUnreachable, 3, 'port-unreachable'],
    [Icmpv4Type.DestUnreachable, 4, 'frag-needed'],
    [Icmpv4Type.DestUnreachable, 13, 'prohibited'],
    [Icmpv4Type.TimeExceeded, 0, 'time-exceeded'],
    [Icmpv4Type.ParamProblem, 0, 'param-problem'],
  ])('classifies type %i code %i as %s', (type, code, kind) => {
    const h = known();
    h.inject(icmpErrorFrame(type, code, echoRequestPacket(1, 1)));
    expect(h.events.filter((e) => e.type === 'echo-error').map((e) => e.type === 'echo-error' && e.kind)).toEqual([kind]);
  });

  it('reads the next-hop MTU of "fragmentation needed" (RFC 1191 §4)', () => {
    const h = known();
    const reports: unknown[] = [];
    h.stack.ipv4.register(IpProtocol.Udp, { receive: () => {}, error: (r) => reports.push({ kind: r.kind, mtu: r.mtu, ports: Array.from(r.transport.subarray(0, 4)) }) });
    const ipr = new Ipv4Repr({ src: STACK_IP, dst: ip('192.0.2.9'), protocol: IpProtocol.Udp, payloadLen: 8 });
    const quoted = new Uint8Array(28);
    ipr.emit(quoted, 0);
    quoted.set([0x30, 0x39, 0x00, 0x35], 20);
    h.inject(icmpErrorFrame(Icmpv4Type.DestUnreachable, 4, quoted, 1400));
    expect(reports).toEqual([{ kind: 'frag-needed', mtu: 1400, ports: [0x30, 0x39, 0x00, 0x35] }]);
  });

  it('drops errors about datagrams it could not have sent, and malformed quotes', () => {
    const h = known();
    const foreign = echoRequestPacket(1, 1);
    foreign[12] = 10;
    foreign[15] = 77; // source 10.0.0.77: not ours
    h.inject(icmpErrorFrame(Icmpv4Type.DestUnreachable, 3, foreign));
    h.inject(icmpErrorFrame(Icmpv4Type.DestUnreachable, 3, new Uint8Array(12)));
    expect(h.stack.stats.icmpv4.dropped['error-not-ours']).toBe(1);
    expect(h.stack.stats.icmpv4.dropped['bad-quote-truncated']).toBe(1);
    expect(h.events.filter((e) => e.type === 'echo-error')).toEqual([]);
  });

  it('tells the sender "host unreachable" when ARP never resolves the next hop', () => {
    const h = readyHarness();
    h.stack.icmpv4.ping({ dst: ip('10.0.0.77'), ident: 9, seq: 4 }, h.clock.now());
    h.advance(5_000);
    expect(h.sent().map(parseArp)).toHaveLength(3);
    expect(h.events.filter((e) => e.type === 'echo-error')).toEqual([
      { type: 'echo-error', to: ip('10.0.0.77'), ident: 9, seq: 4, kind: 'host-unreachable', reporter: undefined },
    ]);
  });
});

describe('Parameter Problem for a malformed option (RFC 1122 §3.2.2.5)', () => {
  it('points at the bad option length and quotes the datagram', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    h.sent();
    // Header with 4 option bytes: NOP, then an option whose length (9) runs past the header.
    const ipr = new Ipv4Repr({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: 253, payloadLen: 8, options: new Uint8Array([1, 0x07, 9, 4]) });
    const frame = ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + 8, (b, o) => ipr.emit(b, o));
    h.inject(frame);
    const [err] = h.sent().map(parseIcmp);
    expect(err.icmp.type).toBe(Icmpv4Type.ParamProblem);
    expect(err.icmp.code).toBe(0);
    expect(err.icmp.restOfHeader >>> 24).toBe(22);
    expect(Array.from(err.icmp.payload)).toEqual(Array.from(frame.subarray(14)));
    expect(h.stack.stats.ipv4.dropped['bad-options']).toBe(1);
  });

  it('says nothing about a bad option in a datagram that is not for it', () => {
    const h = readyHarness();
    const ipr = new Ipv4Repr({ src: ip('10.0.0.1'), dst: ip('10.0.0.99'), protocol: 253, payloadLen: 8, options: new Uint8Array([0x07, 1, 0, 0]) });
    h.inject(ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + 8, (b, o) => ipr.emit(b, o)));
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.ipv4.dropped['bad-options']).toBe(1);
  });
});
