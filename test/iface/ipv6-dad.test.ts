import { describe, expect, it } from 'vitest';
import { DAD_NONCE_LEN, DadClaim, DEFAULT_DAD_CONFIG, type DadConfig, type DadSink } from '../../lib/iface/ipv6-dad';
import { SeededRandom } from '../../lib/random';
import { Ipv6Address } from '../../lib/wire/address';

const ip6 = (s: string) => Ipv6Address.parse(s);
const ADDR = ip6('2001:db8::5054:ff:fe12:3456');
const PEER = ip6('fe80::1');

type Event =
  | { t: number; kind: 'probe'; nonce: Uint8Array }
  | { t: number; kind: 'ready' }
  | { t: number; kind: 'duplicate'; how: 'ns' | 'na' };

/** A claim on a recording sink; `run` polls it at each deadline, like the driver would. */
function setup(config: Partial<DadConfig> = {}, seed = 1) {
  const events: Event[] = [];
  let now = 0;
  const sink: DadSink = {
    sendProbe: (address, nonce) => {
      expect(address.equals(ADDR)).toBe(true);
      events.push({ t: now, kind: 'probe', nonce });
    },
    ready: (address, t) => {
      expect(address.equals(ADDR)).toBe(true);
      events.push({ t, kind: 'ready' });
    },
    duplicate: (address, t, how) => {
      expect(address.equals(ADDR)).toBe(true);
      events.push({ t, kind: 'duplicate', how });
    },
  };
  const claim = new DadClaim(ADDR, { ...DEFAULT_DAD_CONFIG, ...config }, new SeededRandom(seed), sink);
  /** Polls at every deadline up to `until` (bounded: at most 100 wake-ups). */
  const run = (until: number) => {
    for (let i = 0; i < 100; i++) {
      const at = claim.pollAt();
      if (at === undefined || at > until) break;
      now = Math.max(now, at);
      claim.poll(now);
    }
    now = until;
  };
  /** One poll at time t. */
  const step = (t: number) => {
    now = t;
    claim.poll(t);
  };
  const probes = () => events.filter((e): e is Extract<Event, { kind: 'probe' }> => e.kind === 'probe');
  return { claim, events, run, step, probes };
}

describe('RFC 4862 §5.4 duplicate address detection', () => {
  it('waits before the first poll, then a random delay in [0, 1 s) before the first NS', () => {
    const delays = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const { claim, probes, step } = setup({}, seed);
      expect(claim.pollAt()).toBe(0);
      expect(claim.state).toBe('waiting');
      expect(claim.tentative).toBe(true);
      claim.poll(0);
      const first = claim.pollAt()!;
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(1_000);
      delays.add(first);
      step(first - 1);
      expect(probes()).toHaveLength(0);
      step(first);
      expect(probes()).toHaveLength(1);
    }
    // Different seeds, different delays: it is random, not a constant.
    expect(delays.size).toBeGreaterThan(10);
  });

  it('sends one NS with a 6-byte nonce, then assigns the address RetransTimer later', () => {
    const { claim, events, run } = setup();
    run(0);
    const sentAt = claim.pollAt()!;
    run(sentAt);
    expect(claim.state).toBe('probing');
    expect(claim.tentative).toBe(true);
    expect(events).toEqual([{ t: sentAt, kind: 'probe', nonce: expect.any(Uint8Array) }]);
    expect((events[0] as { nonce: Uint8Array }).nonce).toHaveLength(DAD_NONCE_LEN);
    expect(claim.pollAt()).toBe(sentAt + 1_000);
    run(sentAt + 999);
    expect(claim.tentative).toBe(true);
    run(sentAt + 1_000);
    expect(events.at(-1)).toEqual({ t: sentAt + 1_000, kind: 'ready' });
    expect(claim.state).toBe('done');
    expect(claim.tentative).toBe(false);
    expect(claim.pollAt()).toBeUndefined();
    run(60_000);
    expect(events).toHaveLength(2);
  });

  it('with DupAddrDetectTransmits 3: three NS RetransTimer apart, each with its own nonce, then ready', () => {
    const { events, run, probes } = setup({ transmits: 3, retransMs: 500 });
    run(10_000);
    const [a, b, c] = probes();
    expect(probes()).toHaveLength(3);
    expect(b.t - a.t).toBe(500);
    expect(c.t - b.t).toBe(500);
    expect(new Set(probes().map((p) => Buffer.from(p.nonce).toString('hex'))).size).toBe(3);
    expect(events.at(-1)).toEqual({ t: c.t + 500, kind: 'ready' });
    expect(events).toHaveLength(4);
  });

  it('sends the first NS on the first poll when the delay is 0', () => {
    const { probes, claim, step } = setup({ maxDelayMs: 0 });
    step(42);
    expect(probes()).toEqual([{ t: 42, kind: 'probe', nonce: expect.any(Uint8Array) }]);
    expect(claim.pollAt()).toBe(1_042);
  });

  it('is a duplicate on an NS from :: with another nonce (another node doing DAD), and stops', () => {
    const { claim, events, run, probes } = setup({ transmits: 3 });
    run(1_500);
    expect(probes()).toHaveLength(1);
    claim.observeSolicit(Ipv6Address.UNSPECIFIED, new Uint8Array([1, 2, 3, 4, 5, 6]), 1_500);
    expect(claim.state).toBe('duplicate');
    expect(claim.tentative).toBe(false);
    expect(events.at(-1)).toEqual({ t: 1_500, kind: 'duplicate', how: 'ns' });
    expect(claim.pollAt()).toBeUndefined();
    run(20_000);
    expect(probes()).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'ready')).toEqual([]);
  });

  it('is a duplicate on an NS from :: without a nonce (a node without RFC 7527)', () => {
    const { claim, events, run } = setup();
    run(1_500);
    claim.observeSolicit(Ipv6Address.UNSPECIFIED, undefined, 1_500);
    expect(events.at(-1)).toEqual({ t: 1_500, kind: 'duplicate', how: 'ns' });
  });

  it('is a duplicate on an NS from :: even before its own first NS', () => {
    const { claim, events, run } = setup();
    run(0);
    expect(claim.state).toBe('waiting');
    claim.observeSolicit(Ipv6Address.UNSPECIFIED, undefined, 1);
    expect(events).toEqual([{ t: 1, kind: 'duplicate', how: 'ns' }]);
    run(10_000);
    expect(events).toHaveLength(1);
  });

  it('ignores its own NS looped back (RFC 7527 §4.2), any of the nonces it sent', () => {
    const { claim, events, run, probes } = setup({ transmits: 3 });
    run(2_100);
    expect(probes().length).toBeGreaterThanOrEqual(2);
    for (const p of probes()) claim.observeSolicit(Ipv6Address.UNSPECIFIED, p.nonce.slice(), 2_100);
    expect(claim.tentative).toBe(true);
    run(10_000);
    expect(events.at(-1)).toMatchObject({ kind: 'ready' });
    expect(events.filter((e) => e.kind === 'duplicate')).toEqual([]);
  });

  it('a nonce that matches only in part is not ours', () => {
    const { claim, events, run, probes } = setup();
    run(1_000);
    const nonce = probes()[0].nonce.slice();
    nonce[5] ^= 1;
    claim.observeSolicit(Ipv6Address.UNSPECIFIED, nonce, 1_000);
    expect(events.at(-1)).toMatchObject({ kind: 'duplicate', how: 'ns' });
  });

  it('ignores an NS from a unicast source while tentative (§5.4.3: address resolution, not DAD)', () => {
    const { claim, events, run } = setup();
    run(1_000);
    claim.observeSolicit(PEER, undefined, 1_000);
    expect(claim.tentative).toBe(true);
    run(5_000);
    expect(events.at(-1)).toMatchObject({ kind: 'ready' });
  });

  it('is a duplicate on an NA for the address while tentative (§5.4.4), waiting or probing', () => {
    for (const when of [0, 1_500]) {
      const { claim, events, run } = setup();
      run(when);
      claim.observeAdvert(when);
      expect(events.at(-1)).toEqual({ t: when, kind: 'duplicate', how: 'na' });
      expect(claim.state).toBe('duplicate');
    }
  });

  it('leaves an assigned address alone: NS from :: and NA are then Neighbor Discovery business', () => {
    const { claim, events, run } = setup();
    run(5_000);
    expect(claim.state).toBe('done');
    claim.observeSolicit(Ipv6Address.UNSPECIFIED, undefined, 5_000);
    claim.observeAdvert(5_000);
    expect(claim.state).toBe('done');
    expect(events.map((e) => e.kind)).toEqual(['probe', 'ready']);
  });

  it('with DupAddrDetectTransmits 0 (DAD off): ready on the first poll, no NS', () => {
    const { claim, events, step } = setup({ transmits: 0 });
    expect(claim.pollAt()).toBe(0);
    step(7);
    expect(events).toEqual([{ t: 7, kind: 'ready' }]);
    expect(claim.state).toBe('done');
    expect(claim.pollAt()).toBeUndefined();
  });
});
