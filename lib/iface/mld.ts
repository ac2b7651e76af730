import { uniformInt, type Random } from '../random';
import { Ipv6Address } from '../wire/address';
import { MldRecordType, type MldQuery, type MldRecord } from '../wire/mld';

/**
 * The host side of MLDv2 (RFC 3810) for one interface, sans-IO: which multicast groups the
 * interface listens to, with which source filters, and the Reports that tell the routers.
 *
 *   join/leave   per-socket filters merge into the interface state (§4.2); a change sends a
 *                State Change Report at once and [Robustness Variable] − 1 retransmissions
 *                (§6.1), kept as per-group retransmission counters so later changes merge.
 *   onQuery      schedules Current State Reports (§6.2) sent by `poll` when due (§6.3).
 *
 * Timers are data (`pollAt`). MLDv1 compatibility mode (§8) is not implemented: a version 1
 * query is answered like a version 2 query, with version 2 reports.
 */

export interface MldConfig {
  /** [Robustness Variable] (§9.1); a query's QRV replaces it (§5.1.8). */
  robustness: number;
  /** [Unsolicited Report Interval] (§9.11). */
  unsolicitedReportIntervalMs: number;
  /** [Query Response Interval] (§9.3), used when a query's Maximum Response Delay is 0. */
  queryResponseIntervalMs: number;
  /** Bytes of Multicast Address Records per Report: 1280 (IPv6 minimum MTU, RFC 8200 §5) − 40 IPv6 − 8 Hop-by-Hop − 8 Report header. */
  maxRecordsBytes: number;
  /** Groups held at once, including groups still reporting their leave. */
  maxGroups: number;
  /** Sources in one filter and in one group's interface state (Linux's mld_max_msf is 64). */
  maxSources: number;
  /** (group, owner) pairs held at once. */
  maxMemberships: number;
}

export const DEFAULT_MLD_CONFIG: MldConfig = {
  robustness: 2,
  unsolicitedReportIntervalMs: 1_000,
  queryResponseIntervalMs: 10_000,
  maxRecordsBytes: 1_224,
  maxGroups: 1_024,
  maxSources: 64,
  maxMemberships: 4_096,
};

export interface MldSink {
  /**
   * Send an MLDv2 Report with these records (the caller builds the IPv6 packet: to ff02::16,
   * hop limit 1, Hop-by-Hop Router Alert, from a link-local address or :: — RFC 3810 §5.2.13).
   * Each call's records fit in `maxRecordsBytes`.
   */
  sendReport(records: MldRecord[]): void;
}

export type FilterMode = 'include' | 'exclude';

/** Why `join` refused a filter; nothing changed. */
export type MldJoinRefusal = 'not-multicast' | 'too-many-groups' | 'too-many-sources' | 'too-many-memberships';

/** Sources by their text form: a set of addresses with value equality. */
type SourceSet = Map<string, Ipv6Address>;

interface Filter {
  mode: FilterMode;
  sources: SourceSet;
}

interface GroupState {
  readonly address: Ipv6Address;
  readonly owners: Map<string, Filter>;
  /** The interface state (§4.2), merged from the owners' filters. */
  state: Filter;
  /** §6.1 Filter Mode Retransmission Counter: reports still to carry a TO_IN/TO_EX record. */
  modeChangesLeft: number;
  /** §6.1 per-source retransmission counters: reports still to carry the source in ALLOW/BLOCK. */
  readonly sourceChangesLeft: Map<string, { source: Ipv6Address; left: number }>;
  changeReportAt: number | undefined;
  /** §6.2 Multicast Address Timer and the recorded queried sources (undefined: the whole group). */
  queryReportAt: number | undefined;
  querySources: SourceSet | undefined;
}

/** Bytes of a Multicast Address Record before its sources (§5.2.4: type, aux len, count, address). */
const RECORD_HEADER_LEN = 20;

export class MldHost {
  private readonly config: MldConfig;
  private robustness: number;
  private readonly table = new Map<string, GroupState>();
  private memberships = 0;
  /** §6.2 Interface Timer: the pending response to a General Query. */
  private generalReportAt: number | undefined;

  constructor(
    private readonly sink: MldSink,
    private readonly random: Random,
    config: Partial<MldConfig> = {},
  ) {
    this.config = { ...DEFAULT_MLD_CONFIG, ...config };
    // §9.1: the Robustness Variable MUST NOT be zero.
    this.robustness = Math.max(1, this.config.robustness);
  }

  /**
   * `owner` (a socket, or the stack for solicited-node groups) wants `group` through `filter`;
   * an any-source join is exclude {} (§4.1). Joining again replaces the owner's filter;
   * include {} is a leave (§4.1). Returns why the filter was refused, if it was.
   */
  join(
    group: Ipv6Address,
    owner: string,
    now: number,
    filter: { mode: FilterMode; sources: Ipv6Address[] } = { mode: 'exclude', sources: [] },
  ): MldJoinRefusal | undefined {
    if (!group.isMulticast) return 'not-multicast';
    if (group.equals(Ipv6Address.ALL_NODES)) return undefined;
    const sources = toSet(filter.sources);
    if (sources.size > this.config.maxSources) return 'too-many-sources';
    if (filter.mode === 'include' && sources.size === 0) {
      this.leave(group, owner, now);
      return undefined;
    }
    const key = group.toString();
    const existing = this.table.get(key);
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
    this.table.set(key, g);
    this.changeState(g, next, now);
    return undefined;
  }

  /** `owner` no longer wants `group`; the last owner's leave is a change to include {} (§6.1). */
  leave(group: Ipv6Address, owner: string, now: number): void {
    const g = this.table.get(group.toString());
    if (!g || !g.owners.delete(owner)) return;
    this.memberships--;
    this.changeState(g, mergeFilters(g.owners.values()), now);
  }

  /** A valid query (the caller checked §5.1.14: link-local source, hop limit 1, Router Alert). */
  onQuery(query: MldQuery, now: number): void {
    // §5.1.8, §9.1: a non-zero QRV is the querier's [Robustness Variable] (3 bits: 1..7).
    if (query.robustness >= 1 && query.robustness <= 7) this.robustness = query.robustness;
    const maxDelay = query.maxResponseDelayMs > 0 ? query.maxResponseDelayMs : this.config.queryResponseIntervalMs;
    const at = now + this.randomDelay(maxDelay);
    // §6.2 rule 1: a pending General Query response sent sooner answers this query too.
    if (this.generalReportAt !== undefined && this.generalReportAt <= at) return;
    if (query.group.isUnspecified) {
      // §6.2 rule 2: the new General Query response replaces the later-scheduled one.
      this.generalReportAt = at;
      return;
    }
    const g = this.table.get(query.group.toString());
    if (!g || !hasReceptionState(g.state) || !isReported(g.address)) return;
    const queried = toSet(query.sources);
    if (g.queryReportAt === undefined) {
      // §6.2 rule 3.
      g.queryReportAt = at;
      g.querySources = queried.size > 0 ? queried : undefined;
    } else {
      g.queryReportAt = Math.min(g.queryReportAt, at);
      if (queried.size === 0 || g.querySources === undefined) {
        // §6.2 rule 4: an address-specific query (pending or new) answers the whole group.
        g.querySources = undefined;
      } else {
        // §6.2 rule 5: the recorded source list grows by the new query's sources.
        for (const [k, s] of queried) g.querySources.set(k, s);
      }
    }
    // Bounded: past maxSources the response covers the whole group, which says more, never less.
    if (g.querySources && g.querySources.size > this.config.maxSources) g.querySources = undefined;
  }

  poll(now: number): void {
    const records: MldRecord[] = [];
    const generalDue = this.generalReportAt !== undefined && this.generalReportAt <= now;
    if (generalDue) {
      // §6.3 rule 1: one Current State Record per group with reception state.
      this.generalReportAt = undefined;
      for (const g of this.table.values()) {
        const r = isReported(g.address) ? currentStateRecord(g) : undefined;
        if (r) records.push(r);
      }
    }
    for (const [key, g] of this.table) {
      if (g.queryReportAt !== undefined && g.queryReportAt <= now) {
        // §6.3 rules 2 and 3; a General Query response in this same Report already holds it.
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
    this.send(records);
  }

  pollAt(): number | undefined {
    let at = this.generalReportAt;
    for (const g of this.table.values()) at = earliest(earliest(at, g.queryReportAt), g.changeReportAt);
    return at;
  }

  /** The groups this interface listens to, all-nodes first (RFC 4291 §2.8: every node is in ff02::1). */
  groups(): Ipv6Address[] {
    const out = [Ipv6Address.ALL_NODES];
    for (const g of this.table.values()) if (hasReceptionState(g.state)) out.push(g.address);
    return out;
  }

  isMember(group: Ipv6Address): boolean {
    if (group.equals(Ipv6Address.ALL_NODES)) return true;
    const g = this.table.get(group.toString());
    return g !== undefined && hasReceptionState(g.state);
  }

  /** The interface state of `group` (§4.2), include {} when not a member. */
  filterOf(group: Ipv6Address): { mode: FilterMode; sources: Ipv6Address[] } {
    const g = this.table.get(group.toString());
    return g ? { mode: g.state.mode, sources: [...g.state.sources.values()] } : { mode: 'include', sources: [] };
  }

  private changeState(g: GroupState, next: Filter, now: number): void {
    const prev = g.state;
    g.state = next;
    if (isReported(g.address) && !sameFilter(prev, next)) {
      if (prev.mode !== next.mode) {
        // §6.1: a filter-mode change is reported by the next [Robustness Variable] reports as a
        // TO_IN/TO_EX record carrying the whole new source list, which also says every source change.
        g.modeChangesLeft = this.robustness;
        g.sourceChangesLeft.clear();
      } else if (g.modeChangesLeft > 0) {
        // Simplified §6.1 merge: a source change while TO_IN/TO_EX records are still pending
        // rides in them (they carry the new list) and restarts their count.
        g.modeChangesLeft = this.robustness;
      } else {
        // §6.1: each changed source is reported (ALLOW or BLOCK, by where it stands now) in the
        // next [Robustness Variable] reports; sources already pending have their count restarted.
        for (const s of symmetricDifference(prev.sources, next.sources)) {
          g.sourceChangesLeft.set(s.toString(), { source: s, left: this.robustness });
        }
      }
      // §6.1: the (merged) State Change Report goes at once and becomes the first of
      // [Robustness Variable] transmissions; the rest follow at random intervals.
      this.send(this.nextChangeRecords(g));
      g.changeReportAt = hasChangesLeft(g) ? now + this.randomDelay(this.config.unsolicitedReportIntervalMs) : undefined;
    }
    if (isIdle(g)) this.table.delete(g.address.toString());
  }

  /** The State Change Report records for `g` now, counting this transmission (§6.1). */
  private nextChangeRecords(g: GroupState): MldRecord[] {
    if (g.modeChangesLeft > 0) {
      g.modeChangesLeft--;
      const type = g.state.mode === 'include' ? MldRecordType.ChangeToInclude : MldRecordType.ChangeToExclude;
      return [{ type, group: g.address, sources: [...g.state.sources.values()] }];
    }
    const allow: Ipv6Address[] = [];
    const block: Ipv6Address[] = [];
    for (const [key, change] of g.sourceChangesLeft) {
      (receivesFrom(g.state, change.source) ? allow : block).push(change.source);
      if (--change.left <= 0) g.sourceChangesLeft.delete(key);
    }
    const records: MldRecord[] = [];
    if (allow.length > 0) records.push({ type: MldRecordType.AllowNewSources, group: g.address, sources: allow });
    if (block.length > 0) records.push({ type: MldRecordType.BlockOldSources, group: g.address, sources: block });
    return records;
  }

  /** Records into as few Reports as fit `maxRecordsBytes`, a record too big split per §5.2.15. */
  private send(records: MldRecord[]): void {
    const budget = this.config.maxRecordsBytes;
    const sourcesPerRecord = Math.max(1, Math.floor((budget - RECORD_HEADER_LEN) / 16));
    let batch: MldRecord[] = [];
    let used = 0;
    for (const record of records) {
      for (const part of splitRecord(record, sourcesPerRecord)) {
        const len = RECORD_HEADER_LEN + 16 * part.sources.length;
        if (batch.length > 0 && used + len > budget) {
          this.sink.sendReport(batch);
          batch = [];
          used = 0;
        }
        batch.push(part);
        used += len;
      }
    }
    if (batch.length > 0) this.sink.sendReport(batch);
  }

  /** §6.1, §6.2: a delay in (0, max], whole milliseconds. */
  private randomDelay(maxMs: number): number {
    return maxMs < 1 ? 0 : uniformInt(this.random, 1, Math.floor(maxMs));
  }
}

function newGroup(address: Ipv6Address): GroupState {
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

/**
 * §4.2: any exclude filter makes the interface exclude the sources every exclude filter
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

/**
 * §6: ff02::1 is never reported; RFC 2710 §5 (kept by RFC 3810): nor are scope 0 (reserved)
 * and scope 1 (interface-local) groups, which never leave the node.
 */
function isReported(group: Ipv6Address): boolean {
  return (group.bytes[1] & 0x0f) > 1 && !group.equals(Ipv6Address.ALL_NODES);
}

/** §4.1: include {} is no reception state at all. */
function hasReceptionState(f: Filter): boolean {
  return f.mode === 'exclude' || f.sources.size > 0;
}

function receivesFrom(f: Filter, source: Ipv6Address): boolean {
  return f.sources.has(source.toString()) === (f.mode === 'include');
}

function hasChangesLeft(g: GroupState): boolean {
  return g.modeChangesLeft > 0 || g.sourceChangesLeft.size > 0;
}

/** Nobody wants the group and its leave has been fully reported. */
function isIdle(g: GroupState): boolean {
  return g.owners.size === 0 && !hasChangesLeft(g);
}

function currentStateRecord(g: GroupState): MldRecord | undefined {
  if (!hasReceptionState(g.state)) return undefined;
  const type = g.state.mode === 'include' ? MldRecordType.ModeIsInclude : MldRecordType.ModeIsExclude;
  return { type, group: g.address, sources: [...g.state.sources.values()] };
}

/** §6.3 rule 3: IS_IN of the queried sources the interface receives; nothing when none. */
function sourceSpecificRecord(g: GroupState, queried: SourceSet): MldRecord | undefined {
  const sources = [...queried.values()].filter((s) => receivesFrom(g.state, s));
  return sources.length > 0 ? { type: MldRecordType.ModeIsInclude, group: g.address, sources } : undefined;
}

/**
 * §5.2.15: a record whose sources do not fit is split into records with parts of the list,
 * except IS_EX and TO_EX, which keep as many sources as fit and drop the rest.
 */
function splitRecord(r: MldRecord, sourcesPerRecord: number): MldRecord[] {
  if (r.sources.length <= sourcesPerRecord) return [r];
  if (r.type === MldRecordType.ModeIsExclude || r.type === MldRecordType.ChangeToExclude) {
    return [{ ...r, sources: r.sources.slice(0, sourcesPerRecord) }];
  }
  const parts: MldRecord[] = [];
  for (let i = 0; i < r.sources.length; i += sourcesPerRecord) {
    parts.push({ ...r, sources: r.sources.slice(i, i + sourcesPerRecord) });
  }
  return parts;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || (b !== undefined && b < a) ? b : a;
}

function toSet(sources: Ipv6Address[]): SourceSet {
  return new Map(sources.map((s) => [s.toString(), s]));
}

function sameFilter(a: Filter, b: Filter): boolean {
  if (a.mode !== b.mode || a.sources.size !== b.sources.size) return false;
  for (const k of a.sources.keys()) if (!b.sources.has(k)) return false;
  return true;
}

function symmetricDifference(a: SourceSet, b: SourceSet): Ipv6Address[] {
  const out: Ipv6Address[] = [];
  for (const [k, s] of a) if (!b.has(k)) out.push(s);
  for (const [k, s] of b) if (!a.has(k)) out.push(s);
  return out;
}
