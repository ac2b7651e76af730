import { describe, expect, it } from 'vitest';
import { DEFAULT_NEIGHBOR_CONFIG, NeighborCache } from '../../lib/iface/neighbor-cache';
import { MacAddress } from '../../lib/wire/address';

const A = MacAddress.parse('02:00:00:00:00:0a');
const B = MacAddress.parse('02:00:00:00:00:0b');

function cache(config = DEFAULT_NEIGHBOR_CONFIG) {
  const log: string[] = [];
  const c = new NeighborCache<number, string>(
    {
      solicit: (key, unicast) => log.push(`solicit ${key} ${unicast ? `unicast ${unicast}` : 'broadcast'}`),
      resolved: (key, mac, pending) => log.push(`resolved ${key} ${mac} [${pending.join(',')}]`),
      failed: (key, pending) => log.push(`failed ${key} [${pending.join(',')}]`),
    },
    config,
  );
  /** Runs every timer due up to `until`. */
  const runUntil = (until: number) => {
    for (let at = c.pollAt(); at !== undefined && at <= until; at = c.pollAt()) c.poll(at);
  };
  return { c, log, runUntil };
}

describe('neighbor cache state machine', () => {
  it('queues packets while INCOMPLETE and sends them in order once resolved', () => {
    const { c, log } = cache();
    expect(c.resolve(7, 'p1', 0)).toBeUndefined();
    expect(c.resolve(7, 'p2', 10)).toBeUndefined();
    expect(log).toEqual(['solicit 7 broadcast']);
    expect(c.lookup(7)?.state).toBe('incomplete');
    c.learn(7, A, 20, true);
    c.confirm(7, A, 20);
    expect(log).toEqual(['solicit 7 broadcast', 'resolved 7 02:00:00:00:00:0a [p1,p2]']);
    expect(c.lookup(7)?.state).toBe('reachable');
    expect(c.resolve(7, 'p3', 30)?.equals(A)).toBe(true);
  });

  it('retransmits the broadcast request every second, three in all, then fails the queue', () => {
    const { c, log, runUntil } = cache();
    c.resolve(9, 'p1', 0);
    runUntil(2_999);
    expect(log).toEqual(['solicit 9 broadcast', 'solicit 9 broadcast', 'solicit 9 broadcast']);
    runUntil(3_000);
    expect(log.at(-1)).toBe('failed 9 [p1]');
    expect(c.lookup(9)).toBeUndefined();
    expect(c.droppedPending).toBe(1);
  });

  it('bounds the pending queue per neighbor, dropping the oldest', () => {
    const { c, log } = cache({ ...DEFAULT_NEIGHBOR_CONFIG, maxPending: 2 });
    for (const p of ['a', 'b', 'c']) c.resolve(1, p, 0);
    c.confirm(1, A, 1);
    expect(log.at(-1)).toBe('resolved 1 02:00:00:00:00:0a [b,c]');
    expect(c.droppedPending).toBe(1);
  });

  it('goes REACHABLE -> STALE after the reachable time, STALE -> DELAY on use, DELAY -> PROBE with unicast probes, then forgets', () => {
    const { c, log, runUntil } = cache();
    c.resolve(5, 'p', 0);
    c.confirm(5, A, 0);
    runUntil(29_999);
    expect(c.lookup(5)?.state).toBe('reachable');
    runUntil(30_000);
    expect(c.lookup(5)?.state).toBe('stale');
    // A stale entry is still used to send, and starts confirmation.
    expect(c.resolve(5, 'q', 31_000)?.equals(A)).toBe(true);
    expect(c.lookup(5)?.state).toBe('delay');
    runUntil(35_999);
    expect(c.lookup(5)?.state).toBe('delay');
    runUntil(36_000);
    expect(c.lookup(5)?.state).toBe('probe');
    expect(log.at(-1)).toBe('solicit 5 unicast 02:00:00:00:00:0a');
    runUntil(38_000);
    expect(log.filter((l) => l.startsWith('solicit 5 unicast'))).toHaveLength(3);
    runUntil(39_000);
    expect(c.lookup(5)).toBeUndefined();
  });

  it('a confirmation during PROBE makes the entry REACHABLE again', () => {
    const { c, runUntil } = cache();
    c.resolve(5, 'p', 0);
    c.confirm(5, A, 0);
    runUntil(30_000);
    c.resolve(5, 'q', 30_000);
    runUntil(35_000);
    expect(c.lookup(5)?.state).toBe('probe');
    c.confirm(5, A, 35_500);
    expect(c.lookup(5)?.state).toBe('reachable');
  });

  it('learn creates a STALE entry only when asked to, and a changed MAC makes a known entry STALE', () => {
    const { c } = cache();
    expect(c.learn(3, A, 0, false)).toBe(false);
    expect(c.lookup(3)).toBeUndefined();
    expect(c.learn(3, A, 0, true)).toBe(false);
    expect(c.lookup(3)?.state).toBe('stale');
    c.confirm(3, A, 1);
    expect(c.learn(3, A, 2, false)).toBe(true);
    expect(c.lookup(3)?.state).toBe('reachable');
    c.learn(3, B, 3, false);
    expect(c.lookup(3)?.state).toBe('stale');
    expect(c.lookup(3)?.mac?.equals(B)).toBe(true);
  });

  it('forgets a STALE entry nobody used for the gc time', () => {
    const { c, runUntil } = cache();
    c.learn(4, A, 0, true);
    runUntil(59_999);
    expect(c.lookup(4)?.state).toBe('stale');
    runUntil(60_000);
    expect(c.lookup(4)).toBeUndefined();
  });

  it('stays within maxEntries, evicting the least recently used known neighbor first', () => {
    const { c } = cache({ ...DEFAULT_NEIGHBOR_CONFIG, maxEntries: 3 });
    c.learn(1, A, 0, true);
    c.learn(2, A, 1, true);
    c.resolve(3, 'p', 2);
    c.resolve(4, 'p', 3);
    expect(c.size).toBe(3);
    expect(c.lookup(1)).toBeUndefined();
    expect(c.lookup(3)?.state).toBe('incomplete');
    for (let k = 10; k < 1_000; k++) c.resolve(k, 'p', 4);
    expect(c.size).toBe(3);
  });
});
