import { describe, expect, it } from 'vitest';
import { MacAddress } from '../../lib/wire/address';
import { EtherType } from '../../lib/wire/ethernet';
import { Icmpv4Type } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Repr } from '../../lib/wire/ipv4';
import { UdpRepr } from '../../lib/wire/udp';
import type { UdpDatagram } from '../../lib/socket/udp';
import { arpFrame, ethernetFrame, ip, parseIcmp } from '../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC } from '../helpers/harness';
import { icmpv6Sent } from '../helpers/frames6';
import { readyIpv6Harness, udp6Frame } from '../helpers/udp6';

const PEER_IP = ip('10.0.0.1');
const STACK_IP = ip('10.0.0.2');

function udpFrame(f: { dstPort: number; payload: Uint8Array; dst?: string; dstMac?: MacAddress; corrupt?: boolean }): Uint8Array {
  const dst = ip(f.dst ?? '10.0.0.2');
  const udp = new UdpRepr({ srcPort: 40000, dstPort: f.dstPort, payloadLen: f.payload.length });
  const seg = new Uint8Array(8 + f.payload.length);
  seg.set(f.payload, 8);
  udp.emit(seg, 0, { src: PEER_IP, dst });
  if (f.corrupt) seg[8] ^= 1;
  const ipr = new Ipv4Repr({ src: PEER_IP, dst, protocol: IpProtocol.Udp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, f.dstMac ?? STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + ipr.bufferLen());
  });
}

function known() {
  const h = readyHarness();
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
  h.sent();
  return h;
}

describe('UDP demultiplexing in the core', () => {
  it('delivers a datagram to the listener on its port, and sends one back with a valid checksum', () => {
    const h = known();
    const got: UdpDatagram[] = [];
    h.stack.udp.listen(7, (d, now) => {
      got.push({ ...d, payload: d.payload.slice() });
      h.stack.udp.send({ src: d.dst, dst: d.src, srcPort: 7, dstPort: d.srcPort, payload: d.payload }, now);
    });
    h.inject(udpFrame({ dstPort: 7, payload: new TextEncoder().encode('hello') }));
    expect(got.map((d) => [d.src.toString(), d.srcPort, new TextDecoder().decode(d.payload)])).toEqual([['10.0.0.1', 40000, 'hello']]);
    const [echo] = h.sent();
    expect(echo).toBeDefined();
    expect(h.stack.stats.udp.rx).toBe(1);
    expect(h.stack.stats.udp.tx).toBe(1);
  });

  it('answers a closed port with ICMP port unreachable (RFC 1122 §4.1.3.1), but not for a broadcast', () => {
    const h = known();
    h.inject(udpFrame({ dstPort: 9999, payload: new Uint8Array(4) }));
    const [err] = h.sent().map(parseIcmp);
    expect(err.icmp.type).toBe(Icmpv4Type.DestUnreachable);
    expect(err.icmp.code).toBe(3);
    h.inject(udpFrame({ dstPort: 9999, payload: new Uint8Array(4), dst: '255.255.255.255', dstMac: MacAddress.BROADCAST }));
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.udp.dropped['port-unreachable']).toBe(2);
  });

  it('drops a datagram with a bad checksum before any listener sees it', () => {
    const h = known();
    let calls = 0;
    h.stack.udp.listen(7, () => calls++);
    h.inject(udpFrame({ dstPort: 7, payload: new Uint8Array([1, 2, 3]), corrupt: true }));
    expect(calls).toBe(0);
    expect(h.stack.stats.udp.dropped['bad-checksum']).toBe(1);
  });

  it('stops delivering once the listener is removed', () => {
    const h = known();
    let calls = 0;
    const off = h.stack.udp.listen(7, () => calls++);
    h.inject(udpFrame({ dstPort: 7, payload: new Uint8Array(1) }));
    off();
    h.inject(udpFrame({ dstPort: 7, payload: new Uint8Array(1) }));
    expect(calls).toBe(1);
  });
});

describe('UDP over IPv6', () => {
  it('delivers a datagram and answers it over IPv6', () => {
    const h = readyIpv6Harness();
    const got: string[] = [];
    h.stack.udp.listen(7, (d, now) => {
      got.push(`${d.src} ${d.srcPort} ${new TextDecoder().decode(d.payload)}`);
      h.stack.udp.send({ src: d.dst, dst: d.src, srcPort: 7, dstPort: d.srcPort, payload: d.payload }, now);
    });
    h.inject(udp6Frame({ dstPort: 7, payload: new TextEncoder().encode('hi6') }));
    expect(got).toEqual(['fe80::1 40000 hi6']);
    expect(h.sent()).toHaveLength(1);
  });

  it('answers a closed port with ICMPv6 port unreachable (code 4) and drops a zero checksum (RFC 8200 §8.1)', () => {
    const h = readyIpv6Harness();
    h.inject(udp6Frame({ dstPort: 9999, payload: new Uint8Array(4) }));
    const [err] = icmpv6Sent(h.sent());
    expect([err.icmp.type, err.icmp.code]).toEqual([1, 4]);
    h.inject(udp6Frame({ dstPort: 9999, payload: new Uint8Array(4), zeroChecksum: true }));
    expect(h.stack.stats.udp.dropped['zero-checksum']).toBe(1);
  });
});
