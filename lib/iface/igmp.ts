import { uniformInt, type Random } from '../random';
import { Ipv4Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import { IgmpRecordType, type IgmpMessage, type IgmpQuery, type IgmpRecord } from '../wire/igmp';

/**
 * The host side of IGMPv3 (RFC 3376) for one IPv4 interface, sans-IO: which multicast
 * groups the interface listens to, with which source filters, and the Reports that tell the
 * routers. The IPv4 twin of MldHost (lib/iface/mld.ts).
 *
 *   join/leave   per-socket filters merge into the interface state (§3.2); a change sends a
 *                State Change Report at once and [Robustness Variable] − 1 retransmissions
 *                (§5.1), kept as per-group retransmission counters so later changes merge.
 *   onQuery      schedules Current State Reports (§5.2), sent by `poll` when due.
 *   older queriers: a version 1 or 2 Query puts the interface in IGMPv1 or IGMPv2
 *                compatibility mode for the Older Version Querier Present Timeout (§7.2.1):
 *                version 1/2 Reports (and version 2 Leaves), report suppression, no sources.
 *
 * 224.0.0.1 is always joined and never reported (§5). Timers are data (`pollAt`).
 */

export interface IgmpConfig {
  /** [Robustness Variable] (§8.1); a query's QRV replaces it (§4.1.6). */
  robustness: number;
  /** [Unsolicited Report Interval] (§8.11). */
  unsolicitedReportIntervalMs: number;
  /** [Query Interval] (§8.2) until a query's QQIC says otherwise (§4.1.7). */
  queryIntervalMs: number;
  /** [Query Response Interval] (§8.3): part of the Older Version Querier Present Timeout (§8.12). */
  queryResponseIntervalMs: number;
  /** Groups held at once, including groups still reporting their leave. */
  maxGroups: number;
  /** Sources in one filter and in one group's interface state. */
  maxSources: number;
  /** (group, owner) pairs held at once. */
  maxMemberships: number;
}

export const DEFAULT_IGMP_CONFIG: IgmpConfig = {
  robustness: 2,
  unsolicitedReportIntervalMs: 1_000,
  queryIntervalMs: 125_000,
  queryResponseIntervalMs: 10_000,
  maxGroups: 1_024,
  maxSources: 64,
  maxMemberships: 4_096,
};

export interface IgmpSink {
  /** Bytes of Group Records that fit one Report on the link (§4.2.16: as the MTU allows). */
  readonly recordsBudget: number;
  /**
   * Send `message` to `dst` (the caller builds the IPv4 packet: TTL 1, Router Alert, from the
   * interface's address or 0.0.0.0 while it has none — RFC 3376 §4, §4.2.13).
   */
  send(message: IgmpMessage, dst: Ipv4Address, now: number): void;
}

export type FilterMode = 'include' | 'exclude';

/** Why `join` refused a filter; nothing changed. */
export type IgmpJoinRefusal = 'not-multicast' | 'too-many-groups' | 'too-many-sources' | 'too-many-memberships';

/** RFC 3376 §7.2.1: the Host Compatibility Mode. */
export type IgmpVersion = 1 | 2 | 3;

/** Sources by their 32-bit value: a set of addresses with value equality. */
type SourceSet = Map<number, Ipv4Address>;

interface Filter {
  mode: FilterMode;
  sources: SourceSet;
}

interface GroupState {
  readonly address: Ipv4Address;
  readonly owners: Map<string, Filter>;
  /** The interface state (§3.2), merged from the owners' filters. */
  state: Filter;
  /** §5.1 Filter Mode Retransmission Counter (version 3), or the version 1/2 unsolicited Reports still to send. */
  modeChangesLeft: number;
  /** §5.1 per-source retransmission counters: reports still to carry the source in ALLOW/BLOCK. */
  readonly sourceChangesLeft: Map<number, { source: Ipv4Address; left: number }>;
  changeReportAt: number | undefined;
  /** §5.2 group timer and the recorded queried sources (undefined: the whole group). */
  queryReportAt: number | undefined;
  querySources: SourceSet | undefined;
  /** RFC 2236 §3: this host sent the last version 1/2 Report for the group, so it owes the Leave. */
  lastReporter: boolean;
}

/** RFC 1112 §4, RFC 3376 §5: the all-systems group every host is in, never reported. */
export const ALL_SYSTEMS = Ipv4Address.parse('224.0.0.1');
/** RFC 3376 §4.2.14: version 3 Reports go to all IGMPv3-capable routers. */
export const ALL_IGMPV3_ROUTERS = Ipv4Address.parse('224.0.0.22');
/** RFC 2236 §9: version 2 Leaves go to all routers. */
export const ALL_ROUTERS = Ipv4Address.parse('224.0.0.2');

/** Bytes of a Group Record before its sources (§4.2.4: type, aux len, count, address). */
const RECORD_HEADER_LEN = 8;

export class IgmpHost {
  private readonly config: IgmpConfig;
  private robustness: number;
  private queryIntervalMs: number;
  private readonly table = new Map<number, GroupState>();
  private memberships = 0;
  /** §5.2 Interface Timer: the pending response to a General Query. */
  private generalReportAt: number | undefined;
  /** §7.2.1 IGMPv1 and IGMPv2 Querier Present timers. */
  private v1QuerierUntil: number | undefined;
  private v2QuerierUntil: number | undefined;
  private mode: IgmpVersion = 3;

  constructor(
    private readonly sink: IgmpSink,
    private readonly random: Random,
    config: Partial<IgmpConfig> = {},
  ) {
    this.config = { ...DEFAULT_IGMP_CONFIG, ...config };
    // §8.1: the Robustness Variable MUST NOT be zero.
    this.robustness = Math.max(1, this.config.robustness);
    this.queryIntervalMs = this.config.queryIntervalMs;
  }

  /** The Host Compatibility Mode (§7.2.1) at `now`. */
  version(now: number): IgmpVersion {
    this.updateMode(now);
    return this.mode;
  }

  /**
   * `owner` (a socket) wants `group` through `filter`; an any-source join is exclude {}
   * (§3.1). Joining again replaces the owner's filter; include {} is a leave (§3.1). Returns
   * why the filter was refused, if it was.
   */
  join(
    group: Ipv4Address,
    owner: string,
    now: number,
    filter: { mode: FilterMode; sources: Ipv4Address[] } = { mode: 'exclude', sources: [] },
  ): IgmpJoinRefusal | undefined {
    if (!group.isMulticast) return 'not-multicast';
    if (group.equals(ALL_SYSTEMS)) return undefined;
    this.updateMode(now);
    const sources = toSet(filter.sources);
    if (sources.size > this.config.maxSources) return 'too-many-sources';
    if (filter.mode === 'include' && sources.size === 0) {
      this.leave(group, owner, now);
      return undefined;
    }
    const existing = this.table.get(group.value);
    if (!existing && this.table.size >= this.config.maxGroups) return 'too-many-groups';
    const g = existing ?? newGroup(group);
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
    this.table.set(group.value, g);
    this.changeState(g, next, now);
    return undefined;
  }

  /** `owner` no longer wants `group`; the last owner's leave is a change to include {} (§5.1). */
  leave(group: Ipv4Address, owner: string, now: number): void {
    this.updateMode(now);
    const g = this.table.get(group.value);
    if (!g || !g.owners.delete(owner)) return;
    this.memberships--;
    this.changeState(g, mergeFilters(g.owners.values()), now);
  }

  /**
   * A parsed message that came to `dst`; a reason when it is not one a host acts on. Leaves
   * and version 3 Reports are for routers (§6) and are taken without effect.
   */
  receive(message: IgmpMessage, dst: Ipv4Address, now: number): DropReason | undefined {
    switch (message.type) {
      case 'query':
        if (message.group.isUnspecified) {
          // §9.1: a version 2 or 3 General Query sent to another group than 224.0.0.1 is a forgery.
          if (message.version !== 1 && dst.isMulticast && !dst.equals(ALL_SYSTEMS)) return 'general-query-not-all-systems';
          // §4.1.9: a General Query names no sources.
          if (message.sources.length > 0) return 'general-query-with-sources';
        } else if (!message.group.isMulticast) {
          return 'query-not-multicast';
        }
        this.onQuery(message, now);
        return undefined;
      case 'v1-report':
      case 'v2-report':
        this.onReport(message.group, now);
        return undefined;
      default:
        return undefined;
    }
  }

  /** A valid Query (see `receive` for the checks). */
  onQuery(query: IgmpQuery, now: number): void {
    // §4.1.6, §8.1: a non-zero QRV is the querier's [Robustness Variable]; §4.1.7: QQIC its
    // [Query Interval] (versions 1 and 2 carry neither).
    if (query.robustness >= 1) this.robustness = query.robustness;
    if (query.queryIntervalS > 0) this.queryIntervalMs = query.queryIntervalS * 1000;
    this.noteQuerier(query, now);
    if (this.mode !== 3) return this.onOlderQuery(query, now);
    // Linux: a Max Resp Time of 0 asks for an answer at once.
    const at = now + this.randomDelay(query.maxResponseTimeMs);
    // §5.2 rule 1: a pending General Query response sent sooner answers this query too.
    if (this.generalReportAt !== undefined && this.generalReportAt <= at) return;
    if (query.group.isUnspecified) {
      // §5.2 rule 2: the new General Query response replaces the later-scheduled one.
      this.generalReportAt = at;
      return;
    }
    const g = this.table.get(query.group.value);
    if (!g || !hasReceptionState(g.state) || !isReported(g.address)) return;
    const queried = toSet(query.sources);
    if (g.queryReportAt === undefined) {
      // §5.2 rule 3.
      g.queryReportAt = at;
      g.querySources = queried.size > 0 ? queried : undefined;
    } else {
      g.queryReportAt = Math.min(g.queryReportAt, at);
      if (queried.size === 0 || g.querySources === undefined) {
        // §5.2 rule 4: a group-specific query (pending or new) answers the whole group.
        g.querySources = undefined;
      } else {
        // §5.2 rule 5: the recorded source list grows by the new query's sources.
        for (const [k, s] of queried) g.querySources.set(k, s);
      }
    }
    // Bounded: past maxSources the response covers the whole group, which says more, never less.
    if (g.querySources && g.querySources.size > this.config.maxSources) g.querySources = undefined;
  }

  /**
   * Another host's version 1 or 2 Report for `group`. RFC 2236 §3 (kept by RFC 3376 §7.2.1
   * for the older modes): it answers the pending query for us, and the Leave becomes theirs.
   * Version 3 hosts do not suppress (§5.2), so it changes nothing in version 3 mode.
   */
  onReport(group: Ipv4Address, now: number): void {
    this.updateMode(now);
    if (this.mode === 3) return;
    const g = this.table.get(group.value);
    if (!g) return;
    g.queryReportAt = undefined;
    g.lastReporter = false;
  }

  poll(now: number): void {
    this.updateMode(now);
    if (this.mode !== 3) return this.pollOlder(now);
    const records: IgmpRecord[] = [];
    const generalDue = this.generalReportAt !== undefined && this.generalReportAt <= now;
    if (generalDue) {
      // §5.2: one Current State Record per group with reception state.
      this.generalReportAt = undefined;
      for (const g of this.table.values()) {
        const r = isReported(g.address) ? currentStateRecord(g) : undefined;
        if (r) records.push(r);
      }
    }
    for (const [key, g] of this.table) {
      if (g.queryReportAt !== undefined && g.queryReportAt <= now) {
        // §5.2; a General Query response in this same Report already holds it.
        const r = g.querySources ? sourceSpecificRecord(g, g.querySources) : currentStateRecord(g);
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
    this.sendRecords(records, now);
  }

  pollAt(): number | undefined {
    let at = earliest(earliest(this.generalReportAt, this.v1QuerierUntil), this.v2QuerierUntil);
    for (const g of this.table.values()) at = earliest(earliest(at, g.queryReportAt), g.changeReportAt);
    return at;
  }

  /** The groups this interface listens to, all-systems first. */
  groups(): Ipv4Address[] {
    const out = [ALL_SYSTEMS];
    for (const g of this.table.values()) if (hasReceptionState(g.state)) out.push(g.address);
    return out;
  }

  isMember(group: Ipv4Address): boolean {
    if (group.equals(ALL_SYSTEMS)) return true;
    const g = this.table.get(group.value);
    return g !== undefined && hasReceptionState(g.state);
  }

  /** §3.2: whether the interface state of `group` lets a datagram from `source` in. */
  isMemberFor(group: Ipv4Address, source: Ipv4Address): boolean {
    if (group.equals(ALL_SYSTEMS)) return true;
    const g = this.table.get(group.value);
    return g !== undefined && receivesFrom(g.state, source);
  }

  /** The interface state of `group` (§3.2), include {} when not a member. */
  filterOf(group: Ipv4Address): { mode: FilterMode; sources: Ipv4Address[] } {
    const g = this.table.get(group.value);
    return g ? { mode: g.state.mode, sources: [...g.state.sources.values()] } : { mode: 'include', sources: [] };
  }

  private changeState(g: GroupState, next: Filter, now: number): void {
    const prev = g.state;
    g.state = next;
    if (isReported(g.address) && !sameFilter(prev, next)) {
      if (this.mode !== 3) this.changeStateOlder(g, hasReceptionState(prev), now);
      else this.changeStateV3(g, prev, next, now);
    }
    if (isIdle(g)) this.table.delete(g.address.value);
  }

  private changeStateV3(g: GroupState, prev: Filter, next: Filter, now: number): void {
    if (prev.mode !== next.mode) {
      // §5.1: a filter-mode change is reported by the next [Robustness Variable] reports as a
      // TO_IN/TO_EX record carrying the whole new source list, which also says every source change.
      g.modeChangesLeft = this.robustness;
      g.sourceChangesLeft.clear();
    } else if (g.modeChangesLeft > 0) {
      // Simplified §5.1 merge: a source change while TO_IN/TO_EX records are still pending
      // rides in them (they carry the new list) and restarts their count.
      g.modeChangesLeft = this.robustness;
    } else {
      // §5.1: each changed source is reported (ALLOW or BLOCK, by where it stands now) in the
      // next [Robustness Variable] reports; sources already pending have their count restarted.
      for (const s of symmetricDifference(prev.sources, next.sources)) {
        g.sourceChangesLeft.set(s.value, { source: s, left: this.robustness });
      }
    }
    // §5.1: the (merged) State Change Report goes at once and becomes the first of
    // [Robustness Variable] transmissions; the rest follow at random intervals.
    this.sendRecords(this.nextChangeRecords(g), now);
    g.changeReportAt = hasChangesLeft(g) ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
  }

  /**
   * §7.2.1: the older protocols know groups, not sources. Gaining reception state is a join
   * (RFC 2236 §3: a Report at once, repeated), losing it a leave (a version 2 Leave from the
   * host that sent the last Report; version 1 has none); source changes say nothing.
   */
  private changeStateOlder(g: GroupState, wasMember: boolean, now: number): void {
    const member = hasReceptionState(g.state);
    if (member === wasMember) return;
    g.queryReportAt = undefined;
    if (member) {
      g.modeChangesLeft = this.robustness;
      this.sendOlderReport(g, now);
      g.modeChangesLeft--;
      g.changeReportAt = g.modeChangesLeft > 0 ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
      return;
    }
    g.modeChangesLeft = 0;
    g.changeReportAt = undefined;
    if (this.mode === 2 && g.lastReporter) this.sink.send({ type: 'v2-leave', group: g.address }, ALL_ROUTERS, now);
    g.lastReporter = false;
  }

  /** The State Change Report records for `g` now, counting this transmission (§5.1). */
  private nextChangeRecords(g: GroupState): IgmpRecord[] {
    if (g.modeChangesLeft > 0) {
      g.modeChangesLeft--;
      const type = g.state.mode === 'include' ? IgmpRecordType.ChangeToInclude : IgmpRecordType.ChangeToExclude;
      return [{ type, group: g.address, sources: [...g.state.sources.values()] }];
    }
    const allow: Ipv4Address[] = [];
    const block: Ipv4Address[] = [];
    for (const [key, change] of g.sourceChangesLeft) {
      (receivesFrom(g.state, change.source) ? allow : block).push(change.source);
      if (--change.left <= 0) g.sourceChangesLeft.delete(key);
    }
    const records: IgmpRecord[] = [];
    if (allow.length > 0) records.push({ type: IgmpRecordType.AllowNewSources, group: g.address, sources: allow });
    if (block.length > 0) records.push({ type: IgmpRecordType.BlockOldSources, group: g.address, sources: block });
    return records;
  }

  /** §7.2.1: a version 1 or 2 Query starts (or restarts) its Querier Present timer. */
  private noteQuerier(query: IgmpQuery, now: number): void {
    // §8.12: Older Version Querier Present Timeout = [Robustness] × [Query Interval] + [Query Response Interval].
    const timeout = this.robustness * this.queryIntervalMs + this.config.queryResponseIntervalMs;
    if (query.version === 1) this.v1QuerierUntil = now + timeout;
    if (query.version === 2) this.v2QuerierUntil = now + timeout;
    this.updateMode(now);
  }

  /**
   * RFC 2236 §3 (RFC 1112 Appendix I for version 1): each group queried gets a Report after
   * a random delay up to the Max Resp Time; a running timer is reset only when the new
   * Max Resp Time is shorter than what it has left. Linux: in version 1 mode a version 2 or
   * 3 Query is a General Query with the version 1 Max Resp Time; in version 2 mode the
   * sources of a version 3 Query are ignored.
   */
  private onOlderQuery(query: IgmpQuery, now: number): void {
    const maxDelay = this.mode === 1 ? 10_000 : query.maxResponseTimeMs;
    const general = this.mode === 1 || query.group.isUnspecified;
    for (const g of this.table.values()) {
      if (!general && !g.address.equals(query.group)) continue;
      if (!hasReceptionState(g.state) || !isReported(g.address)) continue;
      if (g.queryReportAt === undefined || g.queryReportAt - now > maxDelay) g.queryReportAt = now + this.randomDelay(maxDelay);
    }
  }

  private pollOlder(now: number): void {
    for (const [key, g] of this.table) {
      const queryDue = g.queryReportAt !== undefined && g.queryReportAt <= now;
      const changeDue = g.changeReportAt !== undefined && g.changeReportAt <= now;
      if (queryDue) g.queryReportAt = undefined;
      if (changeDue) {
        g.modeChangesLeft = Math.max(0, g.modeChangesLeft - 1);
        g.changeReportAt = g.modeChangesLeft > 0 ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
      }
      if ((queryDue || changeDue) && hasReceptionState(g.state)) this.sendOlderReport(g, now);
      if (isIdle(g)) this.table.delete(key);
    }
  }

  /** RFC 2236 §9: a version 1 or 2 Report goes to the group itself. */
  private sendOlderReport(g: GroupState, now: number): void {
    this.sink.send({ type: this.mode === 1 ? 'v1-report' : 'v2-report', group: g.address }, g.address, now);
    g.lastReporter = true;
  }

  /**
   * Expires the Querier Present timers; §7.2.1: a change of Host Compatibility Mode cancels
   * every pending response and retransmission timer.
   */
  private updateMode(now: number): void {
    if (this.v1QuerierUntil !== undefined && this.v1QuerierUntil <= now) this.v1QuerierUntil = undefined;
    if (this.v2QuerierUntil !== undefined && this.v2QuerierUntil <= now) this.v2QuerierUntil = undefined;
    const mode: IgmpVersion = this.v1QuerierUntil !== undefined ? 1 : this.v2QuerierUntil !== undefined ? 2 : 3;
    if (mode === this.mode) return;
    this.mode = mode;
    this.generalReportAt = undefined;
    for (const [key, g] of this.table) {
      g.queryReportAt = undefined;
      g.querySources = undefined;
      g.changeReportAt = undefined;
      g.modeChangesLeft = 0;
      g.sourceChangesLeft.clear();
      g.lastReporter = false;
      if (isIdle(g)) this.table.delete(key);
    }
  }

  /** Records into as few Reports as fit the link, a record too big split per §4.2.16. */
  private sendRecords(records: IgmpRecord[], now: number): void {
    const budget = Math.max(RECORD_HEADER_LEN + 4, this.sink.recordsBudget);
    const sourcesPerRecord = Math.max(1, Math.floor((budget - RECORD_HEADER_LEN) / 4));
    let batch: IgmpRecord[] = [];
    let used = 0;
    const flush = () => {
      if (batch.length > 0) this.sink.send({ type: 'v3-report', records: batch }, ALL_IGMPV3_ROUTERS, now);
      batch = [];
      used = 0;
    };
    for (const record of records) {
      for (const part of splitRecord(record, sourcesPerRecord)) {
        const len = RECORD_HEADER_LEN + 4 * part.sources.length;
        if (used + len > budget) flush();
        batch.push(part);
        used += len;
      }
    }
    flush();
  }

  /** §5.1, §5.2: a delay in (0, max], whole milliseconds. */
  private randomDelay(maxMs: number): number {
    return maxMs < 1 ? 0 : uniformInt(this.random, 1, Math.floor(maxMs));
  }
}

function newGroup(address: Ipv4Address): GroupState {
  return {
    address,
    owners: new Map(),
    state: { mode: 'include', sources: new Map() },
    modeChangesLeft: 0,
    sourceChangesLeft: new Map(),
    changeReportAt: undefined,
    queryReportAt: undefined,
    querySources: undefined,
    lastReporter: false,
  };
}

/**
 * §3.2: any exclude filter makes the interface exclude the sources every exclude filter
 * excludes, minus the sources an include filter asks for; otherwise include the union.
 */
function mergeFilters(filters: Iterable<Filter>): Filter {
  let excluded: SourceSet | undefined;
  const included: SourceSet = new Map();
  for (const f of filters) {
    if (f.mode === 'include') {
      for (const [k, s] of f.sources) included.set(k, s);
    } else {
      excluded = excluded === undefined ? new Map(f.sources) : new Map([...excluded].filter(([k]) => f.sources.has(k)));
    }
  }
  if (excluded === undefined) return { mode: 'include', sources: included };
  for (const k of included.keys()) excluded.delete(k);
  return { mode: 'exclude', sources: excluded };
}

/** §5: 224.0.0.1 is never reported. */
function isReported(group: Ipv4Address): boolean {
  return !group.equals(ALL_SYSTEMS);
}

/** §3.1: include {} is no reception state at all. */
function hasReceptionState(f: Filter): boolean {
  return f.mode === 'exclude' || f.sources.size > 0;
}

function receivesFrom(f: Filter, source: Ipv4Address): boolean {
  return f.sources.has(source.value) === (f.mode === 'include');
}

function hasChangesLeft(g: GroupState): boolean {
  return g.modeChangesLeft > 0 || g.sourceChangesLeft.size > 0;
}

/** Nobody wants the group and its leave has been fully reported. */
function isIdle(g: GroupState): boolean {
  return g.owners.size === 0 && !hasChangesLeft(g);
}

function currentStateRecord(g: GroupState): IgmpRecord | undefined {
  if (!hasReceptionState(g.state)) return undefined;
  const type = g.state.mode === 'include' ? IgmpRecordType.ModeIsInclude : IgmpRecordType.ModeIsExclude;
  return { type, group: g.address, sources: [...g.state.sources.values()] };
}

/** §5.2: IS_IN of the queried sources the interface receives; nothing when none. */
function sourceSpecificRecord(g: GroupState, queried: SourceSet): IgmpRecord | undefined {
  const sources = [...queried.values()].filter((s) => receivesFrom(g.state, s));
  return sources.length > 0 ? { type: IgmpRecordType.ModeIsInclude, group: g.address, sources } : undefined;
}

/**
 * §4.2.16: a record whose sources do not fit is split into records with parts of the list,
 * except IS_EX and TO_EX, which keep as many sources as fit and drop the rest.
 */
function splitRecord(r: IgmpRecord, sourcesPerRecord: number): IgmpRecord[] {
  if (r.sources.length <= sourcesPerRecord) return [r];
  if (r.type === IgmpRecordType.ModeIsExclude || r.type === IgmpRecordType.ChangeToExclude) {
    return [{ ...r, sources: r.sources.slice(0, sourcesPerRecord) }];
  }
  const parts: IgmpRecord[] = [];
  for (let i = 0; i < r.sources.length; i += sourcesPerRecord) {
    parts.push({ ...r, sources: r.sources.slice(i, i + sourcesPerRecord) });
  }
  return parts;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || (b !== undefined && b < a) ? b : a;
}

function toSet(sources: Ipv4Address[]): SourceSet {
  return new Map(sources.map((s) => [s.value, s]));
}

function sameFilter(a: Filter, b: Filter): boolean {
  if (a.mode !== b.mode || a.sources.size !== b.sources.size) return false;
  for (const k of a.sources.keys()) if (!b.sources.has(k)) return false;
  return true;
}

function symmetricDifference(a: SourceSet, b: SourceSet): Ipv4Address[] {
  const out: Ipv4Address[] = [];
  for (const [k, s] of a) if (!b.has(k)) out.push(s);
  for (const [k, s] of b) if (!a.has(k)) out.push(s);
  return out;
}
