import type { Random } from '../random';
import { Ipv4Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import type { IgmpMessage, IgmpQuery, IgmpRecord } from '../wire/igmp';
import { hasReceptionState, type Filter } from './multicast-filter';
import { earliest, emptyGroup, isIdle, MulticastHost, type MulticastFamily, type MulticastGroup, type MulticastJoinRefusal } from './multicast-host';

export type { FilterMode } from './multicast-filter';

/**
 * The host side of IGMPv3 (RFC 3376) for one IPv4 interface, sans-IO: which multicast
 * groups the interface listens to, with which source filters, and the Reports that tell the
 * routers. The machinery it shares with MLDv2 is MulticastHost (lib/iface/multicast-host.ts):
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

/** Why `join` refused a filter; nothing changed. */
export type IgmpJoinRefusal = MulticastJoinRefusal;

/** RFC 3376 §7.2.1: the Host Compatibility Mode. */
export type IgmpVersion = 1 | 2 | 3;

/** A group's state; in the version 1/2 modes `modeChangesLeft` counts the unsolicited Reports still to send. */
interface IgmpGroup extends MulticastGroup<Ipv4Address, number> {
  /** RFC 2236 §3: this host sent the last version 1/2 Report for the group, so it owes the Leave. */
  lastReporter: boolean;
}

/** RFC 1112 §4, RFC 3376 §5: the all-systems group every host is in, never reported. */
export const ALL_SYSTEMS = Ipv4Address.parse('224.0.0.1');
/** RFC 3376 §4.2.14: version 3 Reports go to all IGMPv3-capable routers. */
export const ALL_IGMPV3_ROUTERS = Ipv4Address.parse('224.0.0.22');
/** RFC 2236 §9: version 2 Leaves go to all routers. */
export const ALL_ROUTERS = Ipv4Address.parse('224.0.0.2');

const IGMP_FAMILY: MulticastFamily<Ipv4Address, number> = {
  allHosts: ALL_SYSTEMS,
  key: (a) => a.value,
  isReported,
  addressLen: 4,
};

export class IgmpHost extends MulticastHost<Ipv4Address, number, IgmpConfig, IgmpGroup> {
  private queryIntervalMs: number;
  /** §7.2.1 IGMPv1 and IGMPv2 Querier Present timers. */
  private v1QuerierUntil: number | undefined;
  private v2QuerierUntil: number | undefined;
  private mode: IgmpVersion = 3;

  constructor(
    private readonly sink: IgmpSink,
    random: Random,
    config: Partial<IgmpConfig> = {},
  ) {
    super(IGMP_FAMILY, random, { ...DEFAULT_IGMP_CONFIG, ...config });
    this.queryIntervalMs = this.config.queryIntervalMs;
  }

  /** The Host Compatibility Mode (§7.2.1) at `now`. */
  version(now: number): IgmpVersion {
    this.updateMode(now);
    return this.mode;
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
    this.scheduleQueryResponse(query.group, query.sources, now + this.randomDelay(query.maxResponseTimeMs));
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

  override poll(now: number): void {
    this.updateMode(now);
    if (this.mode !== 3) return this.pollOlder(now);
    super.poll(now);
  }

  override pollAt(): number | undefined {
    return earliest(earliest(super.pollAt(), this.v1QuerierUntil), this.v2QuerierUntil);
  }

  /** §3.2: whether the interface state of `group` lets a datagram from `source` in. */
  isMemberFor(group: Ipv4Address, source: Ipv4Address): boolean {
    return group.equals(ALL_SYSTEMS) || this.receives(group, source);
  }

  protected newGroup(address: Ipv4Address): IgmpGroup {
    return { ...emptyGroup(address), lastReporter: false };
  }

  protected recordsBudget(): number {
    return this.sink.recordsBudget;
  }

  protected sendReport(records: IgmpRecord[], now: number): void {
    this.sink.send({ type: 'v3-report', records }, ALL_IGMPV3_ROUTERS, now);
  }

  protected override reportChange(g: IgmpGroup, prev: Filter<Ipv4Address, number>, now: number): void {
    if (this.mode !== 3) this.changeStateOlder(g, hasReceptionState(prev), now);
    else super.reportChange(g, prev, now);
  }

  /**
   * §7.2.1: the older protocols know groups, not sources. Gaining reception state is a join
   * (RFC 2236 §3: a Report at once, repeated), losing it a leave (a version 2 Leave from the
   * host that sent the last Report; version 1 has none); source changes say nothing.
   */
  private changeStateOlder(g: IgmpGroup, wasMember: boolean, now: number): void {
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
  private sendOlderReport(g: IgmpGroup, now: number): void {
    this.sink.send({ type: this.mode === 1 ? 'v1-report' : 'v2-report', group: g.address }, g.address, now);
    g.lastReporter = true;
  }

  /**
   * Expires the Querier Present timers; §7.2.1: a change of Host Compatibility Mode cancels
   * every pending response and retransmission timer.
   */
  protected override updateMode(now: number): void {
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
}

/** §5: 224.0.0.1 is never reported. */
function isReported(group: Ipv4Address): boolean {
  return !group.equals(ALL_SYSTEMS);
}
