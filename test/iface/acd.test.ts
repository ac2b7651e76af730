import { describe, expect, it } from 'vitest';
import { ArpOperation } from '../../lib/wire/arp';
import { arpFrame, ip, mac, parseArp, pingFrame } from '../helpers/frames';
import { harness, PEER_MAC, STACK_MAC } from '../helpers/harness';

const OTHER = mac('02:00:00:00:00:99');

/** Times (ms since start) and kinds of the ARP packets the stack sent while the clock ran. */
function arpTimeline(h: ReturnType<typeof harness>, untilMs: number, stepMs = 10) {
  const start = h.clock.now();
  const out: { t: number; kind: 'probe' | 'announce' | 'other'; target: string }[] = [];
  for (let t = 0; t <= untilMs; t += stepMs) {
    h.advance(t === 0 ? 0 : stepMs);
    for (const f of h.sent()) {
      const { eth, arp } = parseArp(f);
      expect(eth.dst.isBroadcast).toBe(true);
      expect(arp.senderMac.equals(STACK_MAC)).toBe(true);
      const kind = arp.senderIp.isUnspecified ? 'probe' : arp.senderIp.equals(arp.targetIp) ? 'announce' : 'other';
      out.push({ t: h.clock.now() - start, kind, target: arp.targetIp.toString() });
    }
  }
  return out;
}

describe('RFC 5227 address conflict detection', () => {
  it('probes with the §2.1.1 timing, then announces twice 2 s apart and reports the address ready', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const h = harness({ seed });
      const timeline = arpTimeline(h, 12_000);
      const probes = timeline.filter((e) => e.kind === 'probe');
      const announces = timeline.filter((e) => e.kind === 'announce');
      expect(probes.map((p) => p.target)).toEqual(['10.0.0.2', '10.0.0.2', '10.0.0.2']);
      // First probe after a random delay in [0, PROBE_WAIT = 1 s).
      expect(probes[0].t).toBeGreaterThanOrEqual(0);
      expect(probes[0].t).toBeLessThan(1_000 + 10);
      // Then PROBE_MIN..PROBE_MAX (1-2 s) apart.
      for (const i of [1, 2]) {
        const gap = probes[i].t - probes[i - 1].t;
        expect(gap).toBeGreaterThanOrEqual(1_000 - 10);
        expect(gap).toBeLessThanOrEqual(2_000 + 10);
      }
      // ANNOUNCE_WAIT (2 s) after the last probe, then ANNOUNCE_NUM = 2 announcements ANNOUNCE_INTERVAL = 2 s apart.
      expect(announces).toHaveLength(2);
      expect(announces[0].t - probes[2].t).toBeGreaterThanOrEqual(2_000 - 10);
      expect(announces[0].t - probes[2].t).toBeLessThanOrEqual(2_000 + 10);
      expect(announces[1].t - announces[0].t).toBeGreaterThanOrEqual(2_000 - 10);
      expect(announces[1].t - announces[0].t).toBeLessThanOrEqual(2_000 + 10);
      expect(timeline.filter((e) => e.kind === 'other')).toEqual([]);
      expect(h.events).toEqual([expect.objectContaining({ type: 'address-ready', interface: 'pipe0' })]);
    }
  });

  it('without probing (the preload), the address is usable at once, announced twice and still defended', () => {
    const h = harness({ acd: { probe: false } });
    const timeline = arpTimeline(h, 5_000);
    expect(timeline.filter((e) => e.kind === 'probe')).toEqual([]);
    expect(timeline.filter((e) => e.kind === 'announce').map((e) => e.t)).toEqual([0, 2_000]);
    expect(h.events).toEqual([expect.objectContaining({ type: 'address-ready', interface: 'pipe0' })]);
    // §2.4: another host claiming it is answered with one announcement.
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.9') }));
    h.advance(0);
    const defended = h.sent().map((f) => parseArp(f).arp);
    expect(defended).toHaveLength(1);
    expect(defended[0].senderIp.equals(ip('10.0.0.2')) && defended[0].targetIp.equals(ip('10.0.0.2'))).toBe(true);
  });

  it('does not answer ARP or ping for an address still being probed', () => {
    const h = harness();
    h.advance(500);
    h.sent();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: ip('10.0.0.1'), dst: ip('10.0.0.2') }));
    expect(h.sent().filter((f) => !parseArp(f).arp.senderIp.isUnspecified)).toEqual([]);
    expect(h.stack.stats.ipv4.dropped['not-for-us']).toBe(1);
  });

  it('gives the address up when another host uses it during probing, and reports who', () => {
    const h = harness();
    h.advance(1_500);
    h.inject(arpFrame({ op: 'reply', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    expect(h.events).toEqual([expect.objectContaining({ type: 'address-conflict', holder: OTHER })]);
    expect(h.events[0].type === 'address-conflict' && h.events[0].address.toString()).toBe('10.0.0.2/24');
    h.sent();
    h.advance(20_000);
    // No more probes or announcements, and the address stays unused.
    expect(h.sent()).toEqual([]);
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    expect(h.sent()).toEqual([]);
  });

  it('treats another host probing for the same address at the same time as a conflict', () => {
    const h = harness();
    h.advance(1_200);
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('0.0.0.0'), targetIp: ip('10.0.0.2') }));
    expect(h.events.map((e) => e.type)).toEqual(['address-conflict']);
  });

  it('ignores probes for other addresses and its own packets looped back', () => {
    const h = harness();
    h.advance(1_200);
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('0.0.0.0'), targetIp: ip('10.0.0.3') }));
    h.inject(arpFrame({ op: 'request', senderMac: STACK_MAC, senderIp: ip('0.0.0.0'), targetIp: ip('10.0.0.2') }));
    h.advance(10_000);
    expect(h.events.map((e) => e.type)).toEqual(['address-ready']);
  });

  it('defends a bound address once, then yields on a second conflict within DEFEND_INTERVAL', () => {
    const h = harness();
    h.advance(15_000);
    h.sent();
    expect(h.events.map((e) => e.type)).toEqual(['address-ready']);
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    const defence = h.sent().map(parseArp);
    expect(defence).toHaveLength(1);
    expect(defence[0].arp.operation).toBe(ArpOperation.Request);
    expect(defence[0].arp.senderIp.toString()).toBe('10.0.0.2');
    expect(defence[0].arp.targetIp.toString()).toBe('10.0.0.2');
    expect(h.events.map((e) => e.type)).toEqual(['address-ready']);
    h.advance(5_000);
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    expect(h.events.map((e) => e.type)).toEqual(['address-ready', 'address-conflict']);
    // Once yielded, the address answers nothing.
    h.sent();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    expect(h.sent()).toEqual([]);
  });

  it('defends again after DEFEND_INTERVAL has passed', () => {
    const h = harness();
    h.advance(15_000);
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    h.advance(10_001);
    h.sent();
    h.inject(arpFrame({ op: 'request', senderMac: OTHER, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    expect(h.sent()).toHaveLength(1);
    expect(h.events.map((e) => e.type)).toEqual(['address-ready']);
  });

  it('probes every configured address independently; a conflict on one leaves the others in use', () => {
    const h = harness({ ipv4: ['10.0.0.2/24', '10.0.0.3/24', '10.0.1.2/24'] });
    h.advance(1_500);
    h.inject(arpFrame({ op: 'reply', senderMac: OTHER, senderIp: ip('10.0.0.3'), targetIp: ip('10.0.0.1') }));
    h.advance(15_000);
    const kinds = h.events.map((e) => `${e.type} ${'address' in e ? e.address : ''}`).sort();
    expect(kinds).toEqual(['address-conflict 10.0.0.3/24', 'address-ready 10.0.0.2/24', 'address-ready 10.0.1.2/24']);
    h.sent();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.3') }));
    const replies = h.sent().map(parseArp);
    expect(replies.map((r) => r.arp.senderIp.toString())).toEqual(['10.0.0.2']);
  });
});
