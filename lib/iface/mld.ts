import type { Random } from '../random';
import { Ipv6Address } from '../wire/address';
import type { MldQuery, MldRecord } from '../wire/mld';
import { emptyGroup, MulticastHost, type MulticastFamily, type MulticastGroup, type MulticastJoinRefusal } from './multicast-host';

export type { FilterMode } from './multicast-filter';

/**
 * The host side of MLDv2 (RFC 3810) for one interface, sans-IO: which multicast groups the
 * interface listens to, with which source filters, and the Reports that tell the routers.
 * The machinery it shares with IGMPv3 is MulticastHost (lib/iface/multicast-host.ts):
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

/** Why `join` refused a filter; nothing changed. */
export type MldJoinRefusal = MulticastJoinRefusal;

type MldGroup = MulticastGroup<Ipv6Address, string>;

const MLD_FAMILY: MulticastFamily<Ipv6Address, string> = {
  // RFC 4291 §2.8: every node is in ff02::1.
  allHosts: Ipv6Address.ALL_NODES,
  key: (a) => a.key,
  isReported,
  addressLen: 16,
};

export class MldHost extends MulticastHost<Ipv6Address, string, MldConfig> {
  constructor(
    private readonly sink: MldSink,
    random: Random,
    config: Partial<MldConfig> = {},
  ) {
    super(MLD_FAMILY, random, { ...DEFAULT_MLD_CONFIG, ...config });
  }

  /** A valid query (the caller checked §5.1.14: link-local source, hop limit 1, Router Alert). */
  onQuery(query: MldQuery, now: number): void {
    // §5.1.8, §9.1: a non-zero QRV is the querier's [Robustness Variable] (3 bits: 1..7).
    if (query.robustness >= 1 && query.robustness <= 7) this.robustness = query.robustness;
    const maxDelay = query.maxResponseDelayMs > 0 ? query.maxResponseDelayMs : this.config.queryResponseIntervalMs;
    this.scheduleQueryResponse(query.group, query.sources, now + this.randomDelay(maxDelay));
  }

  protected newGroup(address: Ipv6Address): MldGroup {
    return emptyGroup(address);
  }

  protected recordsBudget(): number {
    return this.config.maxRecordsBytes;
  }

  protected sendReport(records: MldRecord[]): void {
    this.sink.sendReport(records);
  }
}

/**
 * §6: ff02::1 is never reported; RFC 2710 §5 (kept by RFC 3810): nor are scope 0 (reserved)
 * and scope 1 (interface-local) groups, which never leave the node.
 */
function isReported(group: Ipv6Address): boolean {
  return (group.bytes[1] & 0x0f) > 1 && !group.equals(Ipv6Address.ALL_NODES);
}
