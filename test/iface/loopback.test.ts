import { describe, expect, it } from 'vitest';
import { ip, pingFrame } from '../helpers/frames';
import { harness, PEER_MAC, readyHarness, STACK_MAC } from '../helpers/harness';

describe('the loopback interface', () => {
  it('exists by default as lo with 127.0.0.1/8, and reports no event of its own', () => {
    const h = readyHarness();
    const lo = h.stack.interface('lo');
    expect(lo?.isLoopback).toBe(true);
    expect(lo?.bindings.map((b) => b.cidr.toString())).toEqual(['127.0.0.1/8']);
    expect(h.events.filter((e) => e.type === 'address-ready').map((e) => e.interface)).toEqual(['pipe0']);
  });

  it('carries pings to 127.0.0.1 and to 127.x.y.z without touching the device', () => {
    const h = readyHarness();
    for (const [dst, seq] of [['127.0.0.1', 1], ['127.8.9.10', 2]] as const) {
      expect(h.stack.icmpv4.ping({ dst: ip(dst), ident: 1, seq }, h.clock.now())).toBeUndefined();
    }
    h.advance(0);
    expect(h.sent()).toEqual([]);
    const replies = h.events.filter((e) => e.type === 'echo-reply');
    expect(replies.map((e) => e.type === 'echo-reply' && [e.from.toString(), e.seq])).toEqual([
      ['127.0.0.1', 1],
      ['127.8.9.10', 2],
    ]);
  });

  it('carries traffic to the stack\'s own interface addresses too, from that address', () => {
    const h = readyHarness({ ipv4: ['10.0.0.2/24', '10.0.0.3/24'] });
    h.stack.icmpv4.ping({ dst: ip('10.0.0.3'), ident: 1, seq: 5 }, h.clock.now());
    h.advance(0);
    expect(h.sent()).toEqual([]);
    expect(h.events.filter((e) => e.type === 'echo-reply').map((e) => e.type === 'echo-reply' && e.from.toString())).toEqual(['10.0.0.3']);
    expect(h.stack.stats.ipv4.rx).toBe(2);
  });

  it('does not reach an address that is still being probed', () => {
    const h = harness();
    expect(h.stack.icmpv4.ping({ dst: ip('10.0.0.2'), ident: 1, seq: 1 }, h.clock.now())).toBe('no-route');
  });

  it('drops 127/8 sources and destinations arriving from a wire (RFC 1122 §3.2.1.3)', () => {
    const h = readyHarness();
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: ip('127.0.0.1'), dst: ip('10.0.0.2') }));
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: ip('10.0.0.1'), dst: ip('127.0.0.1') }));
    expect(h.stack.stats.ipv4.dropped['martian-loopback']).toBe(2);
    expect(h.sent()).toEqual([]);
  });

  it('can be turned off', async () => {
    const { createStack } = await import('../../lib/stack');
    const { createPipe } = await import('../../lib/phy/pipe');
    const stack = createStack({ interfaces: [{ device: createPipe()[0], mac: STACK_MAC, ipv4: ['10.0.0.2/24'] }], loopback: false });
    expect(stack.interface('lo')).toBeUndefined();
    expect(stack.icmpv4.ping({ dst: ip('127.0.0.1'), ident: 1, seq: 1 }, 0)).toBe('no-route');
  });
});
