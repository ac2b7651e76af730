import { uniformInt, type Random } from '../random';
import { GroupRecordType, groupRecordLen, type GroupRecord } from '../wire/group-record';
import {
  hasReceptionState,
  mergeFilters,
  receivesFrom,
  sameFilter,
  symmetricDifference,
  toSourceSet,
  type Filter,
  type FilterMode,
  type SourceSet,
} from './multicast-filter';

/**
 * The host side of source-filtered multicast membership, sans-IO, shared by IGMPv3 (RFC 3376,
 * lib/iface/igmp.ts) and MLDv2 (RFC 3810, lib/iface/mld.ts), which define the same machinery
 * over IPv4 and IPv6 (section numbers below: RFC 3376 first, RFC 3810 second):
 *
 *   join/leave   per-socket filters merge into the interface state (§3.2, §4.2); a change
 *                sends a State Change Report at once and [Robustness Variable] − 1
 *                retransmissions (§5.1, §6.1), kept as per-group retransmission counters so
 *                later changes merge.
 *   queries      `scheduleQueryResponse` keeps the Current State Reports a query asks for
 *                (§5.2, §6.2), sent by `poll` when due (§6.3).
 *
 * A subclass brings its messages and wire sizes, reads its own queries, and may run an older
 * protocol version beside this one (the hooks `updateMode` and `reportChange`). Timers are
 * data (`pollAt`).
 */

/** What the shared host needs of an address. */
export interface MulticastAddress<A> {
  readonly isMulticast: boolean;
  readonly isUnspecified: boolean;
  equals(other: A): boolean;
}

/** An address family and its wire format, as the shared host sees them. */
export interface MulticastFamily<A, K> {
  /** The group every host is in and never reports (224.0.0.1, ff02::1): `join` takes it as done. */
  readonly allHosts: A;
  /** The key by which addresses compare. */
  key(address: A): K;
  /** Whether the host reports its membership of `group` (§5, §6). */
  isReported(group: A): boolean;
  /** Bytes of an address in a record (§4.2.4, §5.2.4). */
  readonly addressLen: number;
}

export interface MulticastHostConfig {
  /** [Robustness Variable] (§8.1, §9.1). */
  robustness: number;
  /** [Unsolicited Report Interval] (§8.11, §9.11). */
  unsolicitedReportIntervalMs: number;
  /** Groups held at once, including groups still reporting their leave. */
  maxGroups: number;
  /** Sources in one filter and in one group's interface state. */
  maxSources: number;
  /** (group, owner) pairs held at once. */
  maxMemberships: number;
}

/** Why `join` refused a filter; nothing changed. */
export type MulticastJoinRefusal = 'not-multicast' | 'too-many-groups' | 'too-many-sources' | 'too-many-memberships';

export interface MulticastGroup<A, K> {
  readonly address: A;
  readonly owners: Map<string, Filter<A, K>>;
  /** The interface state (§3.2, §4.2), merged from the owners' filters. */
  state: Filter<A, K>;
  /** §5.1, §6.1 Filter Mode Retransmission Counter: reports still to carry a TO_IN/TO_EX record. */
  modeChangesLeft: number;
  /** §5.1, §6.1 per-source retransmission counters: reports still to carry the source in ALLOW/BLOCK. */
  readonly sourceChangesLeft: Map<K, { source: A; left: number }>;
  changeReportAt: number | undefined;
  /** §5.2, §6.2 group timer and the recorded queried sources (undefined: the whole group). */
  queryReportAt: number | undefined;
  querySources: SourceSet<A, K> | undefined;
}

export function emptyGroup<A, K>(address: A): MulticastGroup<A, K> {
  return {
    address,
    owners: new Map(),
    state: { mode: 'include', sources: new Map() },
    modeChangesLeft: 0,
    sourceChangesLeft: new Map(),
    changeReportAt: undefined,
    queryReportAt: undefined,
    querySources: undefined,
  };
}

function hasChangesLeft<A, K>(g: MulticastGroup<A, K>): boolean {
  return g.modeChangesLeft > 0 || g.sourceChangesLeft.size > 0;
}

/** Nobody wants the group and its leave has been fully reported. */
export function isIdle<A, K>(g: MulticastGroup<A, K>): boolean {
  return g.owners.size === 0 && !hasChangesLeft(g);
}

export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || (b !== undefined && b < a) ? b : a;
}

export abstract class MulticastHost<
  A extends MulticastAddress<A>,
  K,
  C extends MulticastHostConfig = MulticastHostConfig,
  G extends MulticastGroup<A, K> = MulticastGroup<A, K>,
> {
  protected readonly config: C;
  protected robustness: number;
  protected readonly table = new Map<K, G>();
  private memberships = 0;
  /** §5.2, §6.2 Interface Timer: the pending response to a General Query. */
  protected generalReportAt: number | undefined;

  protected constructor(
    private readonly family: MulticastFamily<A, K>,
    private readonly random: Random,
    config: C,
  ) {
    this.config = config;
    // §8.1, §9.1: the Robustness Variable MUST NOT be zero.
    this.robustness = Math.max(1, config.robustness);
  }

  /**
   * `owner` (a socket, or the stack itself) wants `group` through `filter`; an any-source
   * join is exclude {} (§3.1, §4.1). Joining again replaces the owner's filter; include {} is
   * a leave. Returns why the filter was refused, if it was.
   */
  join(group: A, owner: string, now: number, filter: { mode: FilterMode; sources: A[] } = { mode: 'exclude', sources: [] }): MulticastJoinRefusal | undefined {
    if (!group.isMulticast) return 'not-multicast';
    if (group.equals(this.family.allHosts)) return undefined;
    this.updateMode(now);
    const sources = this.toSet(filter.sources);
    if (sources.size > this.config.maxSources) return 'too-many-sources';
    if (filter.mode === 'include' && sources.size === 0) {
      this.leave(group, owner, now);
      return undefined;
    }
    const key = this.family.key(group);
    const existing = this.table.get(key);
    if (!existing && this.table.size >= this.config.maxGroups) return 'too-many-groups';
    const g = existing ?? this.newGroup(group);
    const previous = g.owners.get(owner);
    if (!previous && this.memberships >= this.config.maxMemberships) return 'too-many-memberships';
    g.owners.set(owner, { mode: filter.mode, sources });
    const next = mergeFilters(g.owners.values());
    if (next.sources.size > this.config.maxSources) {
      if (previous) g.owners.set(owner, previous);
      else g.owners.delete(owner);
      return 'too-many-sources';
    }
    if (!previous) this.memberships++;
    this.table.set(key, g);
    this.changeState(g, next, now);
    return undefined;
  }

  /** `owner` no longer wants `group`; the last owner's leave is a change to include {} (§5.1, §6.1). */
  leave(group: A, owner: string, now: number): void {
    this.updateMode(now);
    const g = this.table.get(this.family.key(group));
    if (!g || !g.owners.delete(owner)) return;
    this.memberships--;
    this.changeState(g, mergeFilters(g.owners.values()), now);
  }

  /** Sends the Current State and State Change Reports due at `now`. */
  poll(now: number): void {
    const records: GroupRecord<A>[] = [];
    const generalDue = this.generalReportAt !== undefined && this.generalReportAt <= now;
    if (generalDue) {
      // §5.2, §6.3 rule 1: one Current State Record per group with reception state.
      this.generalReportAt = undefined;
      for (const g of this.table.values()) {
        const r = this.family.isReported(g.address) ? this.currentStateRecord(g) : undefined;
        if (r) records.push(r);
      }
    }
    for (const [key, g] of this.table) {
      if (g.queryReportAt !== undefined && g.queryReportAt <= now) {
        // §5.2, §6.3 rules 2 and 3; a General Query response in this same Report already holds it.
        const r = g.querySources ? this.sourceSpecificRecord(g, g.querySources) : this.currentStateRecord(g);
        if (r && !generalDue) records.push(r);
        g.queryReportAt = undefined;
        g.querySources = undefined;
      }
      if (g.changeReportAt !== undefined && g.changeReportAt <= now) {
        records.push(...this.nextChangeRecords(g));
        g.changeReportAt = hasChangesLeft(g) ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
      }
      if (isIdle(g)) this.table.delete(key);
    }
    this.send(records, now);
  }

  pollAt(): number | undefined {
    let at = this.generalReportAt;
    for (const g of this.table.values()) at = earliest(earliest(at, g.queryReportAt), g.changeReportAt);
    return at;
  }

  /** The groups this interface listens to, the all-hosts group first (every host is in it). */
  groups(): A[] {
    const out = [this.family.allHosts];
    for (const g of this.table.values()) if (hasReceptionState(g.state)) out.push(g.address);
    return out;
  }

  isMember(group: A): boolean {
    if (group.equals(this.family.allHosts)) return true;
    const g = this.table.get(this.family.key(group));
    return g !== undefined && hasReceptionState(g.state);
  }

  /** The interface state of `group` (§3.2, §4.2), include {} when not a member. */
  filterOf(group: A): { mode: FilterMode; sources: A[] } {
    const g = this.table.get(this.family.key(group));
    return g ? { mode: g.state.mode, sources: [...g.state.sources.values()] } : { mode: 'include', sources: [] };
  }

  /** A new, empty group record for the table. */
  protected abstract newGroup(address: A): G;

  /** Bytes of records that fit one Report. */
  protected abstract recordsBudget(): number;

  /** Sends one Report with these records, which fit `recordsBudget()`. */
  protected abstract sendReport(records: GroupRecord<A>[], now: number): void;

  /** Brings an older-version compatibility mode up to `now`; `join` and `leave` call it before any change. */
  protected updateMode(_now: number): void {}

  /**
   * A reported group's interface state changed from `prev` to `g.state` (§5.1, §6.1): a
   * filter-mode change is reported by the next [Robustness Variable] reports as a TO_IN/TO_EX
   * record carrying the whole new source list, which also says every source change.
   */
  protected reportChange(g: G, prev: Filter<A, K>, now: number): void {
    if (prev.mode !== g.state.mode) {
      g.modeChangesLeft = this.robustness;
      g.sourceChangesLeft.clear();
    } else if (g.modeChangesLeft > 0) {
      // Simplified §5.1/§6.1 merge: a source change while TO_IN/TO_EX records are still
      // pending rides in them (they carry the new list) and restarts their count.
      g.modeChangesLeft = this.robustness;
    } else {
      // Each changed source is reported (ALLOW or BLOCK, by where it stands now) in the next
      // [Robustness Variable] reports; sources already pending have their count restarted.
      for (const s of symmetricDifference(prev.sources, g.state.sources)) {
        g.sourceChangesLeft.set(this.family.key(s), { source: s, left: this.robustness });
      }
    }
    // The (merged) State Change Report goes at once and becomes the first of [Robustness
    // Variable] transmissions; the rest follow at random intervals.
    this.send(this.nextChangeRecords(g), now);
    g.changeReportAt = hasChangesLeft(g) ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
  }

  /**
   * Keeps the response a query for `group` (unspecified: a General Query) and `sources` asks
   * for, to be sent at `at` (§5.2, §6.2).
   */
  protected scheduleQueryResponse(group: A, sources: A[], at: number): void {
    // Rule 1: a pending General Query response sent sooner answers this query too.
    if (this.generalReportAt !== undefined && this.generalReportAt <= at) return;
    if (group.isUnspecified) {
      // Rule 2: the new General Query response replaces the later-scheduled one.
      this.generalReportAt = at;
      return;
    }
    const g = this.table.get(this.family.key(group));
    if (!g || !hasReceptionState(g.state) || !this.family.isReported(g.address)) return;
    const queried = this.toSet(sources);
    if (g.queryReportAt === undefined) {
      // Rule 3.
      g.queryReportAt = at;
      g.querySources = queried.size > 0 ? queried : undefined;
    } else {
      g.queryReportAt = Math.min(g.queryReportAt, at);
      if (queried.size === 0 || g.querySources === undefined) {
        // Rule 4: a group-specific query (pending or new) answers the whole group.
        g.querySources = undefined;
      } else {
        // Rule 5: the recorded source list grows by the new query's sources.
        for (const [k, s] of queried) g.querySources.set(k, s);
      }
    }
    // Bounded: past maxSources the response covers the whole group, which says more, never less.
    if (g.querySources && g.querySources.size > this.config.maxSources) g.querySources = undefined;
  }

  /** Whether the interface state of `group` lets traffic from `source` in (§3.2, §4.2). */
  protected receives(group: A, source: A): boolean {
    const g = this.table.get(this.family.key(group));
    return g !== undefined && receivesFrom(g.state, this.family.key(source));
  }

  /** A delay in (0, max], whole milliseconds (§5.1, §5.2, §6.1, §6.2). */
  protected randomDelay(maxMs: number): number {
    return maxMs < 1 ? 0 : uniformInt(this.random, 1, Math.floor(maxMs));
  }

  private changeState(g: G, next: Filter<A, K>, now: number): void {
    const prev = g.state;
    g.state = next;
    if (this.family.isReported(g.address) && !sameFilter(prev, next)) this.reportChange(g, prev, now);
    if (isIdle(g)) this.table.delete(this.family.key(g.address));
  }

  /** The State Change Report records for `g` now, counting this transmission (§5.1, §6.1). */
  private nextChangeRecords(g: G): GroupRecord<A>[] {
    if (g.modeChangesLeft > 0) {
      g.modeChangesLeft--;
      const type = g.state.mode === 'include' ? GroupRecordType.ChangeToInclude : GroupRecordType.ChangeToExclude;
      return [{ type, group: g.address, sources: [...g.state.sources.values()] }];
    }
    const allow: A[] = [];
    const block: A[] = [];
    for (const [key, change] of g.sourceChangesLeft) {
      (receivesFrom(g.state, key) ? allow : block).push(change.source);
      if (--change.left <= 0) g.sourceChangesLeft.delete(key);
    }
    const records: GroupRecord<A>[] = [];
    if (allow.length > 0) records.push({ type: GroupRecordType.AllowNewSources, group: g.address, sources: allow });
    if (block.length > 0) records.push({ type: GroupRecordType.BlockOldSources, group: g.address, sources: block });
    return records;
  }

  private currentStateRecord(g: G): GroupRecord<A> | undefined {
    if (!hasReceptionState(g.state)) return undefined;
    const type = g.state.mode === 'include' ? GroupRecordType.ModeIsInclude : GroupRecordType.ModeIsExclude;
    return { type, group: g.address, sources: [...g.state.sources.values()] };
  }

  /** §5.2, §6.3 rule 3: IS_IN of the queried sources the interface receives; nothing when none. */
  private sourceSpecificRecord(g: G, queried: SourceSet<A, K>): GroupRecord<A> | undefined {
    const sources = [...queried].filter(([k]) => receivesFrom(g.state, k)).map(([, s]) => s);
    return sources.length > 0 ? { type: GroupRecordType.ModeIsInclude, group: g.address, sources } : undefined;
  }

  /**
   * Records into as few Reports as fit `recordsBudget()` (at least one record with one source),
   * a record too big split per §4.2.16, §5.2.15.
   */
  private send(records: GroupRecord<A>[], now: number): void {
    const { addressLen } = this.family;
    const budget = Math.max(groupRecordLen(1, addressLen), this.recordsBudget());
    const sourcesPerRecord = Math.max(1, Math.floor((budget - groupRecordLen(0, addressLen)) / addressLen));
    let batch: GroupRecord<A>[] = [];
    let used = 0;
    for (const record of records) {
      for (const part of this.splitRecord(record, sourcesPerRecord)) {
        const len = groupRecordLen(part.sources.length, addressLen);
        if (batch.length > 0 && used + len > budget) {
          this.sendReport(batch, now);
          batch = [];
          used = 0;
        }
        batch.push(part);
        used += len;
      }
    }
    if (batch.length > 0) this.sendReport(batch, now);
  }

  /**
   * §4.2.16, §5.2.15: a record whose sources do not fit is split into records with parts of
   * the list, except IS_EX and TO_EX, which keep as many sources as fit and drop the rest.
   */
  private splitRecord(r: GroupRecord<A>, sourcesPerRecord: number): GroupRecord<A>[] {
    if (r.sources.length <= sourcesPerRecord) return [r];
    if (r.type === GroupRecordType.ModeIsExclude || r.type === GroupRecordType.ChangeToExclude) {
      return [{ ...r, sources: r.sources.slice(0, sourcesPerRecord) }];
    }
    const parts: GroupRecord<A>[] = [];
    for (let i = 0; i < r.sources.length; i += sourcesPerRecord) {
      parts.push({ ...r, sources: r.sources.slice(i, i + sourcesPerRecord) });
    }
    return parts;
  }

  private toSet(sources: A[]): SourceSet<A, K> {
    return toSourceSet(sources, (s) => this.family.key(s));
  }
}
