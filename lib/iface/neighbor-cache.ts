import type { MacAddress } from '../wire/address';

/**
 * A neighbor cache with the reachability state machine of RFC 4861 §7.3, which Linux
 * also runs for ARP (RFC 826 says only "keep a table"; RFC 1122 §2.3.2.1 asks that stale
 * entries be revalidated, which is what DELAY and PROBE do). Shared by ARP now and by
 * IPv6 Neighbor Discovery later; the protocol supplies how to solicit.
 *
 *   INCOMPLETE  resolution in progress: broadcast (or multicast) solicitations every
 *               `retransMs`, up to `maxMulticastProbes`; packets wait in a bounded queue.
 *   REACHABLE   confirmed within `reachableMs`.
 *   STALE       usable but unconfirmed; the first use moves it to DELAY.
 *   DELAY       used while stale: wait `delayFirstProbeMs` for upper-layer confirmation.
 *   PROBE       unicast solicitations every `retransMs`, up to `maxUnicastProbes`;
 *               then the entry is removed.
 * Sans-IO: time comes in as `now`; due work happens in `poll(now)`.
 */

export type NeighborState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe';

export interface NeighborConfig {
  reachableMs: number;
  retransMs: number;
  delayFirstProbeMs: number;
  maxMulticastProbes: number;
  maxUnicastProbes: number;
  /** A STALE entry unused for this long is forgotten (Linux gc_stale_time). */
  staleGcMs: number;
  /** Packets held per unresolved neighbor (Linux unres_qlen is per entry too). */
  maxPending: number;
  /** Entries held at most; beyond it the least recently used stale entry goes. */
  maxEntries: number;
}

/** Linux's defaults for ARP (net.ipv4.neigh.default.*), reachable time not randomised. */
export const DEFAULT_NEIGHBOR_CONFIG: NeighborConfig = {
  reachableMs: 30_000,
  retransMs: 1_000,
  delayFirstProbeMs: 5_000,
  maxMulticastProbes: 3,
  maxUnicastProbes: 3,
  staleGcMs: 60_000,
  maxPending: 16,
  maxEntries: 1024,
};

export interface NeighborEvents<K, P> {
  /** Send a solicitation for `key`: broadcast/multicast when `unicast` is undefined. */
  solicit(key: K, unicast: MacAddress | undefined): void;
  /** Resolution finished: send the packets that waited for it, in order. */
  resolved(key: K, mac: MacAddress, pending: P[]): void;
  /** Resolution failed: the waiting packets are undeliverable. */
  failed(key: K, pending: P[], now: number): void;
}

export interface NeighborEntry<K> {
  readonly key: K;
  readonly state: NeighborState;
  readonly mac: MacAddress | undefined;
  /** When the entry's state last changed or its address was last confirmed. */
  readonly updatedAt: number;
}

interface Entry<K, P> {
  key: K;
  state: NeighborState;
  mac: MacAddress | undefined;
  updatedAt: number;
  usedAt: number;
  /** When the current state's timer fires. */
  timerAt: number;
  probes: number;
  pending: P[];
}

export class NeighborCache<K, P> {
  private readonly entries = new Map<K, Entry<K, P>>();
  /** Packets dropped because a neighbor's queue was full or resolution failed. */
  droppedPending = 0;

  constructor(
    private readonly events: NeighborEvents<K, P>,
    readonly config: NeighborConfig = DEFAULT_NEIGHBOR_CONFIG,
  ) {}

  /**
   * The link address to send to `key`, or undefined after queueing `packet` and
   * starting resolution. Using a STALE entry starts reachability confirmation.
   */
  resolve(key: K, packet: P, now: number): MacAddress | undefined {
    let e = this.entries.get(key);
    if (e && e.state !== 'incomplete') {
      e.usedAt = now;
      if (e.state === 'stale') this.enter(e, 'delay', now, now + this.config.delayFirstProbeMs);
      return e.mac;
    }
    if (!e) {
      this.makeRoom(now);
      e = { key, state: 'incomplete', mac: undefined, updatedAt: now, usedAt: now, timerAt: now + this.config.retransMs, probes: 1, pending: [] };
      this.entries.set(key, e);
      this.events.solicit(key, undefined);
    }
    if (e.pending.length >= this.config.maxPending) {
      e.pending.shift();
      this.droppedPending++;
    }
    e.pending.push(packet);
    return undefined;
  }

  /**
   * A solicited answer (an ARP reply to us, an NA with S set): the neighbor is
   * reachable at `mac`. Creates no entry: an unsolicited answer for an address we never
   * asked about is only merged (RFC 826 "merge" step); see `learn`.
   */
  confirm(key: K, mac: MacAddress, now: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.enter(e, 'reachable', now, now + this.config.reachableMs);
    this.setMac(e, mac);
  }

  /**
   * Upper-layer proof of two-way reachability (RFC 4861 §7.3.1: TCP progress); keeps a
   * known entry REACHABLE without probing.
   */
  confirmReachability(key: K, now: number): void {
    const e = this.entries.get(key);
    if (e && e.mac) this.enter(e, 'reachable', now, now + this.config.reachableMs);
  }

  /**
   * The neighbor told us its address without our asking (a request addressed to us,
   * RFC 826): create the entry if `create`, else only update one we hold. A new or
   * changed address is STALE until confirmed (as Linux does); the same address keeps
   * its state. Returns whether an entry existed before (RFC 826's merge flag).
   */
  learn(key: K, mac: MacAddress, now: number, create: boolean): boolean {
    const e = this.entries.get(key);
    if (!e) {
      if (create) {
        this.makeRoom(now);
        this.entries.set(key, { key, state: 'stale', mac, updatedAt: now, usedAt: now, timerAt: now + this.config.staleGcMs, probes: 0, pending: [] });
      }
      return false;
    }
    if (e.state === 'incomplete' || !e.mac || !e.mac.equals(mac)) {
      this.enter(e, 'stale', now, now + this.config.staleGcMs);
      this.setMac(e, mac);
    }
    return true;
  }

  lookup(key: K): NeighborEntry<K> | undefined {
    const e = this.entries.get(key);
    return e && { key: e.key, state: e.state, mac: e.mac, updatedAt: e.updatedAt };
  }

  delete(key: K, now: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.pending.length > 0) this.fail(e, now);
  }

  *list(): IterableIterator<NeighborEntry<K>> {
    for (const e of this.entries.values()) yield { key: e.key, state: e.state, mac: e.mac, updatedAt: e.updatedAt };
  }

  get size(): number {
    return this.entries.size;
  }

  pollAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) if (next === undefined || e.timerAt < next) next = e.timerAt;
    return next;
  }

  poll(now: number): void {
    for (const e of this.entries.values()) {
      if (e.timerAt > now) continue;
      switch (e.state) {
        case 'incomplete':
          if (e.probes >= this.config.maxMulticastProbes) {
            this.entries.delete(e.key);
            this.fail(e, now);
          } else {
            e.probes++;
            e.timerAt = now + this.config.retransMs;
            this.events.solicit(e.key, undefined);
          }
          break;
        case 'reachable':
          this.enter(e, 'stale', now, now + this.config.staleGcMs);
          break;
        case 'stale':
          // Not used since it went stale: forget it (Linux gc_stale_time).
          if (now - e.usedAt >= this.config.staleGcMs) this.entries.delete(e.key);
          else e.timerAt = e.usedAt + this.config.staleGcMs;
          break;
        case 'delay':
          this.enter(e, 'probe', now, now + this.config.retransMs);
          e.probes = 1;
          this.events.solicit(e.key, e.mac);
          break;
        case 'probe':
          if (e.probes >= this.config.maxUnicastProbes) {
            this.entries.delete(e.key);
          } else {
            e.probes++;
            e.timerAt = now + this.config.retransMs;
            this.events.solicit(e.key, e.mac);
          }
          break;
      }
    }
  }

  private enter(e: Entry<K, P>, state: NeighborState, now: number, timerAt: number): void {
    e.state = state;
    e.updatedAt = now;
    e.timerAt = timerAt;
    e.probes = 0;
  }

  private setMac(e: Entry<K, P>, mac: MacAddress): void {
    e.mac = mac;
    if (e.pending.length > 0) {
      const pending = e.pending;
      e.pending = [];
      this.events.resolved(e.key, mac, pending);
    }
  }

  private fail(e: Entry<K, P>, now: number): void {
    const pending = e.pending;
    e.pending = [];
    this.droppedPending += pending.length;
    this.events.failed(e.key, pending, now);
  }

  /**
   * Keeps the table bounded: evicts the least recently used entry, preferring one that
   * is not being resolved (a flood of lookups must not push out known neighbors' queues).
   */
  private makeRoom(now: number): void {
    if (this.entries.size < this.config.maxEntries) return;
    let victim: Entry<K, P> | undefined;
    for (const e of this.entries.values()) {
      const better = !victim || (victim.state === 'incomplete') > (e.state === 'incomplete') || ((victim.state === 'incomplete') === (e.state === 'incomplete') && e.usedAt < victim.usedAt);
      if (better) victim = e;
    }
    if (victim) this.delete(victim.key, now);
  }
}
