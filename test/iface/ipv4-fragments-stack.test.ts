import { describe, expect, it } from 'vitest';
import { fragmentIpv4 } from '../../lib/iface/ipv4-fragment';
import { Ipv4Reassembler } from '../../lib/iface/ipv4-reassembly';
import { SeededRandom } from '../../lib/random';
import { ProtocolCounters } from '../../lib/stats';
import { isDrop } from '../../lib/wire/drop';
import { EthernetFrame } from '../../lib/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { arpFrame, ip, parseIcmp } from '../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC, type HarnessOptions } from '../helpers/harness';

const PEER_IP = ip('10.0.0.1');
const STACK_IP = ip('10.0.0.2');

/** An echo request of `size` data bytes from the peer, cut into Ethernet frames at `mtu`. */
function fragmentedPing(size: number, mtu: number, ident = 0x4242): { frames: Uint8Array[]; data: Uint8Array } {
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const icmp = Icmpv4Repr.echoRequest(0x77, 1, data);
  const payload = new Uint8Array(icmp.bufferLen());
  icmp.emit(payload, 0);
  const ipr = new Ipv4Repr({ src: PEER_IP, dst: STACK_IP, protocol: IpProtocol.Icmp, payloadLen: payload.length, ident });
  const frames = fragmentIpv4(ipr, payload, mtu, 14).map((f) => {
    STACK_MAC.writeTo(f, 0);
    PEER_MAC.writeTo(f, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    return f;
  });
  return { frames, data };
}

function known(opts: HarnessOptions = {}) {
  const h = readyHarness(opts);
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
  h.sent();
  return h;
}

/** Reassembles the stack's fragmented output, as the peer's kernel would. */
function reassembleSent(frames: Uint8Array[]): { ip: Ipv4Repr; payload: Uint8Array } {
  const r = new Ipv4Reassembler(new ProtocolCounters());
  for (const f of frames) {
    const eth = EthernetFrame.checked(f);
    if (isDrop(eth)) throw new Error(eth);
    const pkt = Ipv4Packet.checked(eth.payload);
    if (isDrop(pkt)) throw new Error(pkt);
    const ipr = Ipv4Repr.parse(pkt);
    if (isDrop(ipr)) throw new Error(ipr);
    expect(pkt.totalLength).toBeLessThanOrEqual(1500);
    expect(ipr.dontFragment).toBe(false);
    const whole = r.add(ipr, pkt.buffer.subarray(0, pkt.totalLength), pkt.payload, 0);
    if (whole) return whole;
  }
  throw new Error('the fragments never made a datagram');
}

describe('IPv4 fragmentation and reassembly in the stack', () => {
  it('reassembles a 4000-byte ping arriving out of order and fragments the reply back', () => {
    const h = known();
    const { frames, data } = fragmentedPing(4000, 1500);
    expect(frames).toHaveLength(3);
    h.inject(frames[2], frames[0], frames[1]);
    const sent = h.sent();
    expect(sent).toHaveLength(3);
    const reply = reassembleSent(sent);
    expect(reply.ip.src.equals(STACK_IP)).toBe(true);
    const icmp = Icmpv4Repr.parse(Icmpv4Packet.checked(reply.payload) as Icmpv4Packet);
    if (isDrop(icmp)) throw new Error(icmp);
    expect(icmp.type).toBe(Icmpv4Type.EchoReply);
    expect(Array.from(icmp.payload)).toEqual(Array.from(data));
  });

  it('survives duplicated and reordered fragments at small MTUs, with random sizes', () => {
    const random = new SeededRandom(5);
    for (let round = 0; round < 20; round++) {
      const h = known();
      const size = 100 + (random.u32() % 6000);
      const mtu = 68 + 8 * (random.u32() % 100);
      const { frames } = fragmentedPing(size, mtu, round);
      const shuffled = [...frames, frames[0], frames[frames.length - 1]].sort(() => (random.u32() & 1 ? 1 : -1));
      h.inject(...shuffled);
      const reply = reassembleSent(h.sent());
      expect(reply.payload.length).toBe(size + 8);
    }
  });

  it('sends Time Exceeded (code 1) 30 s after fragment 0 arrived without the rest', () => {
    const h = known();
    const { frames } = fragmentedPing(3000, 1500);
    h.inject(frames[0]);
    h.advance(29_999);
    expect(h.sent().map(parseIcmp).filter((p) => p.icmp.type === Icmpv4Type.TimeExceeded)).toEqual([]);
    h.advance(1);
    const [err] = h.sent().map(parseIcmp);
    expect(err.icmp.type).toBe(Icmpv4Type.TimeExceeded);
    expect(err.icmp.code).toBe(1);
    expect(err.ip.dst.equals(PEER_IP)).toBe(true);
    expect(Array.from(err.icmp.payload.subarray(0, 28))).toEqual(Array.from(frames[0].subarray(14, 42)));
    expect(h.stack.stats.ipv4.dropped['frag-timeout']).toBe(1);
  });

  it('stays silent when fragment 0 never came', () => {
    const h = known();
    const { frames } = fragmentedPing(3000, 1500);
    h.inject(frames[1], frames[2]);
    h.advance(31_000);
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.ipv4.dropped['frag-timeout']).toBe(1);
  });

  it('fragments its own big ping, and refuses a don\'t-fragment datagram that does not fit', () => {
    const h = known();
    expect(h.stack.icmpv4.ping({ dst: PEER_IP, ident: 1, seq: 1, data: new Uint8Array(3000) }, h.clock.now())).toBeUndefined();
    h.advance(0);
    const frames = h.sent();
    expect(frames).toHaveLength(3);
    expect(reassembleSent(frames).payload.length).toBe(3008);
    const dropped = h.stack.ipv4.send({ dst: PEER_IP, protocol: 253, dontFragment: true, payloadLen: 1481, writePayload: () => {} }, h.clock.now());
    expect(dropped).toBe('too-big');
    expect(h.stack.ipv4.send({ dst: PEER_IP, protocol: 253, dontFragment: true, payloadLen: 1480, writePayload: () => {} }, h.clock.now())).toBeUndefined();
  });

  it('keeps reassembly memory under its cap during a fragment flood, and still serves', () => {
    const cap = 64 * 1024;
    const h = known({ stack: { reassembly: { maxBytes: cap } } });
    const stack = h.stack;
    for (let i = 0; i < 5_000; i++) {
      const { frames } = fragmentedPing(2000, 1500, i);
      h.wire.transmit(frames[0]);
      if (i % 100 === 0) {
        h.wire.flush();
        stack.poll(h.clock.now());
        expect(stack.ipv4.reassemblyBytes).toBeLessThanOrEqual(cap);
        h.sent();
      }
    }
    h.wire.flush();
    stack.poll(h.clock.now());
    expect(stack.ipv4.reassemblyBytes).toBeLessThanOrEqual(cap);
    h.sent();
    const { frames } = fragmentedPing(2000, 1500, 9999);
    h.inject(...frames);
    expect(h.sent()).toHaveLength(2);
  });
});
