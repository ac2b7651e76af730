import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { ALL_IGMPV3_ROUTERS, ALL_ROUTERS, IgmpHost, type IgmpConfig } from '../../lib/iface/igmp';
import { createPipe } from '../../lib/phy/pipe';
import { SeededRandom } from '../../lib/random';
import { createStack } from '../../lib/stack';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { describeFrame } from '../../lib/wire/describe';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame } from '../../lib/wire/ethernet';
import { emitIgmp, igmpLen, IgmpRecordType, parseIgmp, ROUTER_ALERT_OPTION, type IgmpMessage, type IgmpQuery, type IgmpRecord } from '../../lib/wire/igmp';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { ethernetFrame, ip } from '../helpers/frames';
import { harness, PEER_MAC, readyHarness, type Harness } from '../helpers/harness';

const G1 = ip('239.1.2.3');
const G2 = ip('232.1.1.1');
const S1 = ip('10.9.9.1');
const S2 = ip('10.9.9.2');
const S3 = ip('10.9.9.3');
const ALL_SYSTEMS = ip('224.0.0.1');

const NAMES: Record<number, string> = {
  [IgmpRecordType.ModeIsInclude]: 'IS_IN',
  [IgmpRecordType.ModeIsExclude]: 'IS_EX',
  [IgmpRecordType.ChangeToInclude]: 'TO_IN',
  [IgmpRecordType.ChangeToExclude]: 'TO_EX',
  [IgmpRecordType.AllowNewSources]: 'ALLOW',
  [IgmpRecordType.BlockOldSources]: 'BLOCK',
};

/** 'TO_EX 239.1.2.3 {10.9.9.1,10.9.9.2}', sources sorted so the order of a set does not matter. */
function show(r: IgmpRecord): string {
  return `${NAMES[r.type]} ${r.group} {${r.sources.map(String).sort().join(',')}}`;
}

/** One message as text: a Report's records, or 'v2-report 239.1.2.3 → 239.1.2.3'. */
function text(m: IgmpMessage, dst: Ipv4Address): string[] {
  if (m.type === 'v3-report') {
    expect(dst.equals(ALL_IGMPV3_ROUTERS)).toBe(true);
    return m.records.map(show);
  }
  if (m.type === 'query') throw new Error('a host sent a query');
  return [`${m.type} ${m.group} → ${dst}`];
}

interface Sent {
  at: number;
  records: string[];
}

/** An IgmpHost on a number clock; `sent` holds every message with the time it was sent. */
function host(seed = 1, config: Partial<IgmpConfig> = {}, recordsBudget = 1_468) {
  const sent: Sent[] = [];
  const raw: IgmpRecord[][] = [];
  const t = { now: 0 };
  const igmp = new IgmpHost(
    {
      recordsBudget,
      send: (m, dst, now) => {
        expect(now).toBe(t.now);
        if (m.type === 'v3-report') raw.push(m.records);
        sent.push({ at: now, records: text(m, dst) });
      },
    },
    new SeededRandom(seed),
    config,
  );
  /** Runs every timer due up to `until`, polling exactly at each pollAt (bounded). */
  const runUntil = (until: number) => {
    for (let i = 0; i < 10_000; i++) {
      const at = igmp.pollAt();
      if (at === undefined || at > until) break;
      expect(at).toBeGreaterThanOrEqual(t.now);
      t.now = at;
      igmp.poll(at);
    }
    t.now = Math.max(t.now, until);
  };
  /** Calls `f` at `now` (so the sink sees the right time). */
  const at = <T>(now: number, f: () => T): T => {
    t.now = now;
    return f();
  };
  const take = () => sent.splice(0);
  return { igmp, t, sent, raw, runUntil, at, take };
}

function query(f: Partial<IgmpQuery> = {}): IgmpQuery {
  return { version: 3, maxResponseTimeMs: 10_000, group: Ipv4Address.UNSPECIFIED, suppressRouterProcessing: false, robustness: 0, queryIntervalS: 125, sources: [], ...f };
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('IGMPv3 host: State Change Reports (RFC 3376 §5.1)', () => {
  it('join sends CHANGE_TO_EXCLUDE {} at once and one retransmission within the Unsolicited Report Interval', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      expect(h.igmp.join(G1, 'sock1', 0)).toBeUndefined();
      expect(h.take()).toEqual([{ at: 0, records: ['TO_EX 239.1.2.3 {}'] }]);
      expect(h.igmp.isMember(G1)).toBe(true);
      h.runUntil(60_000);
      const again = h.take();
      expect(again).toHaveLength(1);
      expect(again[0].records).toEqual(['TO_EX 239.1.2.3 {}']);
      expect(again[0].at).toBeGreaterThan(0);
      expect(again[0].at).toBeLessThanOrEqual(1_000);
      expect(h.igmp.pollAt()).toBeUndefined();
    }
  });

  it('pollAt is exact: nothing a millisecond early, the retransmission at the deadline', () => {
    const h = host(3);
    h.at(100, () => h.igmp.join(G1, 'sock1', 100));
    h.take();
    const at = h.igmp.pollAt()!;
    expect(at).toBeGreaterThan(100);
    expect(Number.isInteger(at)).toBe(true);
    h.at(at - 1, () => h.igmp.poll(at - 1));
    expect(h.take()).toEqual([]);
    h.at(at, () => h.igmp.poll(at));
    expect(h.take().map((s) => s.records)).toEqual([['TO_EX 239.1.2.3 {}']]);
    expect(h.igmp.pollAt()).toBeUndefined();
  });

  it('leave sends CHANGE_TO_INCLUDE {} at once and once more within 1 s, then forgets the group', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      h.igmp.join(G1, 'sock1', 0);
      h.runUntil(5_000);
      h.take();
      h.igmp.leave(G1, 'sock1', 5_000);
      expect(h.take()).toEqual([{ at: 5_000, records: ['TO_IN 239.1.2.3 {}'] }]);
      expect(h.igmp.isMember(G1)).toBe(false);
      expect(h.igmp.groups().map(String)).toEqual(['224.0.0.1']);
      h.runUntil(60_000);
      const again = h.take();
      expect(again.map((s) => s.records)).toEqual([['TO_IN 239.1.2.3 {}']]);
      expect(again[0].at - 5_000).toBeGreaterThan(0);
      expect(again[0].at - 5_000).toBeLessThanOrEqual(1_000);
      expect(h.igmp.pollAt()).toBeUndefined();
      h.igmp.onQuery(query({ group: G1 }), 60_000);
      expect(h.igmp.pollAt(), 'a forgotten group is not answered').toBeUndefined();
    }
  });

  it('a robustness of 3 sends the change three times, each within 1 s of the one before', () => {
    const h = host(9, { robustness: 3 });
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(60_000);
    const sent = h.take();
    expect(sent.map((s) => s.records)).toEqual([['TO_EX 239.1.2.3 {}'], ['TO_EX 239.1.2.3 {}'], ['TO_EX 239.1.2.3 {}']]);
    for (const i of [1, 2]) {
      expect(sent[i].at - sent[i - 1].at).toBeGreaterThan(0);
      expect(sent[i].at - sent[i - 1].at).toBeLessThanOrEqual(1_000);
    }
  });

  it('two owners of one group: the second joining and the first leaving send nothing; the last leaving sends', () => {
    const h = host();
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.join(G1, 'sock2', 5_000);
    h.igmp.leave(G1, 'sock1', 5_000);
    h.igmp.leave(G1, 'nobody', 5_000);
    h.runUntil(10_000);
    expect(h.take()).toEqual([]);
    h.at(10_000, () => h.igmp.leave(G1, 'sock2', 10_000));
    expect(h.take().map((s) => s.records)).toEqual([['TO_IN 239.1.2.3 {}']]);
  });

  it('source-specific joins: include {S1,S2} is ALLOW {S1,S2}; adding S3 is ALLOW {S3}; dropping S1 is BLOCK {S1}; each twice', () => {
    const h = host(4);
    h.igmp.join(G2, 'sock1', 0, { mode: 'include', sources: [S1, S2] });
    h.runUntil(5_000);
    expect(h.take().map((s) => s.records)).toEqual([['ALLOW 232.1.1.1 {10.9.9.1,10.9.9.2}'], ['ALLOW 232.1.1.1 {10.9.9.1,10.9.9.2}']]);
    h.at(5_000, () => h.igmp.join(G2, 'sock1', 5_000, { mode: 'include', sources: [S1, S2, S3] }));
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([['ALLOW 232.1.1.1 {10.9.9.3}'], ['ALLOW 232.1.1.1 {10.9.9.3}']]);
    h.at(10_000, () => h.igmp.join(G2, 'sock1', 10_000, { mode: 'include', sources: [S2, S3] }));
    h.runUntil(15_000);
    expect(h.take().map((s) => s.records)).toEqual([['BLOCK 232.1.1.1 {10.9.9.1}'], ['BLOCK 232.1.1.1 {10.9.9.1}']]);
    expect(h.igmp.isMemberFor(G2, S2)).toBe(true);
    expect(h.igmp.isMemberFor(G2, S1)).toBe(false);
    // include {} is a leave (§3.1); within include mode that is BLOCK of the last sources (§5.1), as Linux sends.
    h.at(15_000, () => h.igmp.join(G2, 'sock1', 15_000, { mode: 'include', sources: [] }));
    expect(h.take().map((s) => s.records)).toEqual([['BLOCK 232.1.1.1 {10.9.9.2,10.9.9.3}']]);
    expect(h.igmp.isMember(G2)).toBe(false);
  });

  it('merges owners per §3.2: exclude lists intersect, include sources come off them, all exclude gone → include union', () => {
    const h = host();
    h.igmp.join(G1, 'a', 0, { mode: 'exclude', sources: [S1, S2, S3] });
    h.igmp.join(G1, 'b', 0, { mode: 'exclude', sources: [S2, S3] });
    h.igmp.join(G1, 'c', 0, { mode: 'include', sources: [S3] });
    expect(h.igmp.filterOf(G1).mode).toBe('exclude');
    expect(h.igmp.filterOf(G1).sources.map(String)).toEqual(['10.9.9.2']);
    expect([S1, S2, S3].map((s) => h.igmp.isMemberFor(G1, s))).toEqual([true, false, true]);
    h.igmp.leave(G1, 'a', 0);
    h.igmp.leave(G1, 'b', 0);
    expect(h.igmp.filterOf(G1)).toEqual({ mode: 'include', sources: [S3] });
    expect(h.igmp.filterOf(G2)).toEqual({ mode: 'include', sources: [] });
  });

  it('never reports 224.0.0.1 (§5), which is always a member; a group that is not multicast is refused', () => {
    const h = host();
    expect(h.igmp.join(ALL_SYSTEMS, 'sock1', 0)).toBeUndefined();
    h.igmp.leave(ALL_SYSTEMS, 'sock1', 0);
    expect(h.igmp.isMember(ALL_SYSTEMS)).toBe(true);
    expect(h.igmp.isMemberFor(ALL_SYSTEMS, S1)).toBe(true);
    h.igmp.onQuery(query({ maxResponseTimeMs: 100 }), 0);
    h.igmp.onQuery(query({ group: ALL_SYSTEMS, maxResponseTimeMs: 100 }), 0);
    h.runUntil(60_000);
    expect(h.take()).toEqual([]);
    expect(h.igmp.join(ip('10.0.0.1'), 'sock1', 0)).toBe('not-multicast');
  });
});

describe('IGMPv3 host: answering queries (RFC 3376 §5.2)', () => {
  it('a General Query gets one Report with a current-state record per group, after a random delay ≤ the Max Resp Time', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      h.igmp.join(G1, 'sock1', 0);
      h.igmp.join(G2, 'sock2', 0, { mode: 'include', sources: [S1] });
      h.igmp.join(ip('239.9.9.9'), 'sock3', 0);
      h.igmp.leave(ip('239.9.9.9'), 'sock3', 0);
      h.runUntil(10_000);
      h.take();
      h.igmp.onQuery(query({ maxResponseTimeMs: 2_000 }), 10_000);
      const at = h.igmp.pollAt()!;
      expect(at - 10_000).toBeGreaterThan(0);
      expect(at - 10_000).toBeLessThanOrEqual(2_000);
      h.runUntil(100_000);
      expect(h.take()).toEqual([{ at, records: ['IS_EX 239.1.2.3 {}', 'IS_IN 232.1.1.1 {10.9.9.1}'] }]);
    }
  });

  it('a Group-Specific Query gets only that group; a Group-and-Source-Specific one the queried sources received', () => {
    const h = host(3);
    h.igmp.join(G1, 'sock1', 0);
    h.igmp.join(G2, 'sock1', 0, { mode: 'include', sources: [S1, S2] });
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ group: G1, maxResponseTimeMs: 1_000 }), 5_000);
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([['IS_EX 239.1.2.3 {}']]);
    h.igmp.onQuery(query({ group: G2, sources: [S2, S3], maxResponseTimeMs: 1_000 }), 10_000);
    h.runUntil(15_000);
    expect(h.take().map((s) => s.records)).toEqual([['IS_IN 232.1.1.1 {10.9.9.2}']]);
    h.igmp.onQuery(query({ group: G2, sources: [S3], maxResponseTimeMs: 1_000 }), 15_000);
    h.runUntil(20_000);
    expect(h.take(), 'none of the queried sources is received').toEqual([]);
  });

  it('a pending General Query response sent sooner absorbs a later group query (rule 1)', () => {
    const h = host(5);
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ maxResponseTimeMs: 1 }), 5_000);
    h.igmp.onQuery(query({ group: G1, maxResponseTimeMs: 10_000 }), 5_000);
    h.runUntil(60_000);
    expect(h.take()).toEqual([{ at: 5_001, records: ['IS_EX 239.1.2.3 {}'] }]);
  });

  it('a Max Resp Time of 0 is answered at the next poll; QRV sets the robustness of later changes (§4.1.6)', () => {
    const h = host(6);
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ maxResponseTimeMs: 0, robustness: 3 }), 5_000);
    expect(h.igmp.pollAt()).toBe(5_000);
    h.runUntil(5_000);
    expect(h.take()).toEqual([{ at: 5_000, records: ['IS_EX 239.1.2.3 {}'] }]);
    h.at(5_000, () => h.igmp.leave(G1, 'sock1', 5_000));
    h.runUntil(60_000);
    expect(h.take().map((s) => s.records)).toEqual([['TO_IN 239.1.2.3 {}'], ['TO_IN 239.1.2.3 {}'], ['TO_IN 239.1.2.3 {}']]);
  });

  it('receive: ignores forged General Queries (§9.1), queries for a unicast group, and messages for routers', () => {
    const h = host();
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    const general: IgmpMessage = { type: 'query', ...query() };
    expect(h.igmp.receive(general, G1, 5_000)).toBe('general-query-not-all-systems');
    expect(h.igmp.receive({ ...general, sources: [S1] }, ALL_SYSTEMS, 5_000)).toBe('general-query-with-sources');
    expect(h.igmp.receive({ ...general, group: ip('10.0.0.1') }, ip('10.0.0.1'), 5_000)).toBe('query-not-multicast');
    expect(h.igmp.receive({ type: 'v2-leave', group: G1 }, ALL_ROUTERS, 5_000)).toBeUndefined();
    expect(h.igmp.receive({ type: 'v3-report', records: [] }, ALL_IGMPV3_ROUTERS, 5_000)).toBeUndefined();
    expect(h.igmp.pollAt()).toBeUndefined();
    // A unicast General Query is allowed; so is a version 1 one to any group.
    expect(h.igmp.receive({ ...general, maxResponseTimeMs: 100 }, ip('10.0.0.2'), 5_000)).toBeUndefined();
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([['IS_EX 239.1.2.3 {}']]);
  });
});

describe('IGMPv3 host: older version queriers (RFC 3376 §7.2.1)', () => {
  /** §8.12 with the defaults: 2 × 125 s + 10 s. */
  const TIMEOUT = 260_000;

  it('a version 2 Query: v2 Reports to the group per queried group, a v2 Leave to 224.0.0.2, back to v3 after the timeout', () => {
    const h = host(7);
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ version: 2, maxResponseTimeMs: 3_000, robustness: 0, queryIntervalS: 0 }), 5_000);
    expect(h.igmp.version(5_000)).toBe(2);
    h.runUntil(10_000);
    const answer = h.take();
    expect(answer.map((s) => s.records)).toEqual([['v2-report 239.1.2.3 → 239.1.2.3']]);
    expect(answer[0].at - 5_000).toBeLessThanOrEqual(3_000);
    // A join repeats its v2 Report robustness times; a source-specific join is a plain group join.
    h.at(10_000, () => h.igmp.join(G2, 'sock2', 10_000, { mode: 'include', sources: [S1] }));
    h.runUntil(20_000);
    expect(h.take().map((s) => s.records)).toEqual([['v2-report 232.1.1.1 → 232.1.1.1'], ['v2-report 232.1.1.1 → 232.1.1.1']]);
    // A source change says nothing; the last source going is a leave.
    h.at(20_000, () => h.igmp.join(G2, 'sock2', 20_000, { mode: 'include', sources: [S1, S2] }));
    expect(h.take()).toEqual([]);
    h.at(20_000, () => h.igmp.leave(G2, 'sock2', 20_000));
    expect(h.take()).toEqual([{ at: 20_000, records: ['v2-leave 232.1.1.1 → 224.0.0.2'] }]);
    expect(h.igmp.version(5_000 + TIMEOUT - 1)).toBe(2);
    expect(h.igmp.version(5_000 + TIMEOUT)).toBe(3);
    h.t.now = 5_000 + TIMEOUT;
    h.at(h.t.now, () => h.igmp.leave(G1, 'sock1', h.t.now));
    expect(h.take().map((s) => s.records)).toEqual([['TO_IN 239.1.2.3 {}']]);
  });

  it('suppression: another host’s Report cancels our pending answer, and the Leave becomes theirs to send', () => {
    const h = host(8);
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ version: 2, maxResponseTimeMs: 10_000 }), 5_000);
    expect(h.igmp.pollAt()).toBeDefined();
    expect(h.igmp.receive({ type: 'v2-report', group: G1 }, G1, 5_001)).toBeUndefined();
    h.runUntil(60_000);
    expect(h.take()).toEqual([]);
    h.at(60_000, () => h.igmp.leave(G1, 'sock1', 60_000));
    expect(h.take(), 'not the last reporter: no Leave').toEqual([]);
  });

  it('a version 1 Query: v1 Reports within 10 s whatever the query says, no Leave; a v3 Query is answered the v1 way', () => {
    const h = host(9);
    h.igmp.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.igmp.onQuery(query({ version: 1, maxResponseTimeMs: 10_000, queryIntervalS: 0 }), 5_000);
    expect(h.igmp.version(5_000)).toBe(1);
    h.runUntil(20_000);
    expect(h.take().map((s) => s.records)).toEqual([['v1-report 239.1.2.3 → 239.1.2.3']]);
    h.igmp.onQuery(query({ group: G2, maxResponseTimeMs: 100 }), 20_000);
    const at = h.igmp.pollAt()!;
    expect(at - 20_000).toBeLessThanOrEqual(10_000);
    h.runUntil(40_000);
    expect(h.take().map((s) => s.records), 'a group query for another group is general in v1 mode').toEqual([['v1-report 239.1.2.3 → 239.1.2.3']]);
    h.at(40_000, () => h.igmp.leave(G1, 'sock1', 40_000));
    expect(h.take()).toEqual([]);
  });

  it('a change of mode cancels pending responses and retransmissions (§7.2.1)', () => {
    const h = host(10);
    h.igmp.join(G1, 'sock1', 0);
    expect(h.take()).toHaveLength(1);
    expect(h.igmp.pollAt()).toBeDefined();
    h.igmp.onQuery(query({ version: 2, maxResponseTimeMs: 1_000, group: G2 }), 1);
    expect(h.igmp.pollAt(), 'only the Querier Present timer').toBe(1 + TIMEOUT);
    h.runUntil(1 + TIMEOUT);
    expect(h.take()).toEqual([]);
    expect(h.igmp.version(1 + TIMEOUT)).toBe(3);
  });
});

describe('IGMPv3 host: bounded state', () => {
  it('refuses groups past maxGroups, sources past maxSources, memberships past maxMemberships', () => {
    const h = host(1, { maxGroups: 4, maxSources: 3, maxMemberships: 6 });
    const group = (i: number) => Ipv4Address.fromNumber(0xef000001 + i);
    for (let i = 0; i < 4; i++) expect(h.igmp.join(group(i), 'sock', 0)).toBeUndefined();
    expect(h.igmp.join(group(4), 'sock', 0)).toBe('too-many-groups');
    expect(h.igmp.isMember(group(4))).toBe(false);
    expect(h.igmp.join(group(0), 'other', 0, { mode: 'exclude', sources: [S1, S2, S3, ip('10.9.9.4')] })).toBe('too-many-sources');
    h.igmp.leave(group(0), 'sock', 0);
    expect(h.igmp.join(group(0), 'a', 0, { mode: 'include', sources: [S1, S2] })).toBeUndefined();
    expect(h.igmp.join(group(0), 'b', 0, { mode: 'include', sources: [S3, ip('10.9.9.4')] })).toBe('too-many-sources');
    expect(h.igmp.filterOf(group(0)).sources).toHaveLength(2);
    expect(h.igmp.join(group(1), 'x', 0)).toBeUndefined();
    expect(h.igmp.join(group(1), 'y', 0)).toBeUndefined();
    expect(h.igmp.join(group(2), 'z', 0)).toBe('too-many-memberships');
  });

  it('splits Reports to fit the link (§4.2.16): a General Query response over several, an ALLOW too big in parts, TO_EX cut', () => {
    const h = host(2, {}, 8 * 3);
    for (let i = 0; i < 7; i++) h.igmp.join(Ipv4Address.fromNumber(0xef000001 + i), 'sock', 0);
    h.runUntil(10_000);
    h.raw.length = 0;
    h.igmp.onQuery(query({ maxResponseTimeMs: 100 }), 10_000);
    h.runUntil(20_000);
    expect(h.raw.splice(0).map((r) => r.length)).toEqual([3, 3, 1]);
    const g = host(3, {}, 8 + 4 * 4);
    const srcs = Array.from({ length: 6 }, (_, i) => Ipv4Address.fromNumber(0x0a090901 + i));
    g.igmp.join(G1, 'sock', 0, { mode: 'include', sources: srcs });
    expect(g.raw.splice(0).map((r) => r.map((x) => x.sources.length))).toEqual([[4], [2]]);
    g.igmp.join(G2, 'sock', 0, { mode: 'exclude', sources: srcs });
    expect(g.raw.splice(0).map((r) => r.map((x) => [x.type, x.sources.length]))).toEqual([[[IgmpRecordType.ChangeToExclude, 4]]]);
  });
});

/** An IGMP message in an IPv4 packet with the Router Alert (RFC 3376 §4), from the peer. */
function igmpFrame(msg: IgmpMessage, dst: Ipv4Address, f: { src?: Ipv4Address; dstMac?: MacAddress; corrupt?: boolean } = {}): Uint8Array {
  const len = igmpLen(msg);
  const ipr = new Ipv4Repr({ src: f.src ?? ip('10.0.0.1'), dst, protocol: IpProtocol.Igmp, payloadLen: len, ttl: 1, options: ROUTER_ALERT_OPTION });
  return ethernetFrame(PEER_MAC, f.dstMac ?? MacAddress.fromIpv4Multicast(dst), EtherType.Ipv4, ipr.bufferLen() + len, (b, o) => {
    ipr.emit(b, o);
    emitIgmp(msg, b, o + ipr.bufferLen());
    if (f.corrupt) b[o + ipr.bufferLen() + 4] ^= 1;
  });
}

/** The IGMP messages among frames, with their Ethernet and IPv4 headers. */
function igmpSent(frames: Uint8Array[]) {
  const out: { mac: string; ip: Ipv4Repr; igmp: IgmpMessage; frame: Uint8Array }[] = [];
  for (const frame of frames) {
    const eth = EthernetFrame.checked(frame);
    if (isDrop(eth) || eth.ethertype !== EtherType.Ipv4) continue;
    const pkt = Ipv4Packet.checked(eth.payload);
    if (isDrop(pkt) || pkt.protocol !== IpProtocol.Igmp) continue;
    const ipr = Ipv4Repr.parse(pkt);
    if (isDrop(ipr)) throw new Error(`bad IPv4 from the stack: ${ipr}`);
    const igmp = parseIgmp(pkt.payload);
    if (isDrop(igmp)) throw new Error(`bad IGMP from the stack: ${igmp}`);
    out.push({ mac: eth.dst.toString(), ip: ipr, igmp, frame });
  }
  return out;
}

function flushed(h: Harness): Uint8Array[] {
  h.inject();
  return h.sent();
}

describe('IGMP in the stack', () => {
  it('a join reports TO_EX {} to 224.0.0.22 from the interface address: TTL 1, Router Alert, TOS 0xc0, 01:00:5e:00:00:16', () => {
    const h = readyHarness();
    const iface = h.stack.interfaces[0];
    expect(iface.joinIpv4Group(G1, 'app', h.clock.now())).toBeUndefined();
    const [report, ...rest] = igmpSent(flushed(h));
    expect(rest).toEqual([]);
    expect(report.mac).toBe('01:00:5e:00:00:16');
    expect({ src: `${report.ip.src}`, dst: `${report.ip.dst}`, ttl: report.ip.ttl, dscp: report.ip.dscp, options: [...report.ip.options] }).toEqual({
      src: '10.0.0.2',
      dst: '224.0.0.22',
      ttl: 1,
      dscp: 48,
      options: [0x94, 0x04, 0x00, 0x00],
    });
    expect(report.igmp).toEqual({ type: 'v3-report', records: [{ type: IgmpRecordType.ChangeToExclude, group: G1, sources: [] }] });
    expect(describeFrame(report.frame, 'ethernet')).toBe(
      '02:00:00:00:00:02 > 01:00:5e:00:00:16 IPv4 10.0.0.2 > 224.0.0.22 ttl 1 id ' + report.ip.ident + ' tos 0xc0 DF options 4 IGMP v3 report [to_ex 239.1.2.3 {}] len 16',
    );
    h.advance(2_000);
    expect(igmpSent(h.sent()).map((r) => r.igmp.type)).toEqual(['v3-report']);
    expect(h.stack.stats.igmp.tx).toBe(2);
    iface.leaveIpv4Group(G1, 'app', h.clock.now());
    expect(igmpSent(flushed(h)).map((r) => r.igmp)).toEqual([{ type: 'v3-report', records: [{ type: IgmpRecordType.ChangeToInclude, group: G1, sources: [] }] }]);
  });

  it('reports from 0.0.0.0 while the interface has no usable address (§4.2.13)', () => {
    const h = harness({ ipv4: [] });
    h.sent();
    h.stack.interfaces[0].joinIpv4Group(G1, 'app', h.clock.now());
    const [report] = igmpSent(flushed(h));
    expect(`${report.ip.src}`).toBe('0.0.0.0');
  });

  it('answers a General Query from the wire within its Max Resp Time with the current state', () => {
    const h = readyHarness();
    h.stack.interfaces[0].joinIpv4Group(G1, 'app', h.clock.now());
    h.advance(5_000);
    h.sent();
    h.inject(igmpFrame({ type: 'query', ...query({ maxResponseTimeMs: 1_000, robustness: 2 }) }, ALL_SYSTEMS));
    expect(h.stack.stats.igmp.rx).toBe(1);
    h.advance(1_000);
    expect(igmpSent(h.sent()).map((r) => r.igmp)).toEqual([{ type: 'v3-report', records: [{ type: IgmpRecordType.ModeIsExclude, group: G1, sources: [] }] }]);
  });

  it('counts and drops malformed IGMP: bad checksum, truncated, a forged General Query; a query for a group not joined never gets in', () => {
    const h = readyHarness();
    const stats = h.stack.stats;
    h.inject(igmpFrame({ type: 'query', ...query() }, ALL_SYSTEMS, { corrupt: true }));
    const truncated = igmpFrame({ type: 'v2-report', group: ALL_SYSTEMS }, ALL_SYSTEMS);
    const short = truncated.slice(0, truncated.length - 2);
    // Shorten the IP total length to match, and refresh the header checksum.
    const pkt = short.subarray(14);
    pkt[3] -= 2;
    pkt[10] = 0;
    pkt[11] = 0;
    const header = new Ipv4Repr({ src: ip('10.0.0.1'), dst: ALL_SYSTEMS, protocol: IpProtocol.Igmp, payloadLen: 6, ttl: 1, options: ROUTER_ALERT_OPTION });
    header.emit(pkt, 0);
    h.inject(short);
    h.inject(igmpFrame({ type: 'query', ...query() }, G1, { dstMac: MacAddress.fromIpv4Multicast(G1) }));
    h.stack.interfaces[0].joinIpv4Group(G1, 'app', h.clock.now());
    h.inject(igmpFrame({ type: 'query', ...query() }, G1));
    expect(stats.igmp.dropped).toEqual({ 'bad-checksum': 1, truncated: 1, 'general-query-not-all-systems': 1 });
    expect(stats.ethernet.dropped['not-for-us'], 'the group MAC before the join').toBe(1);
    expect(stats.igmp.rx).toBe(0);
  });

  it('accepts frames to a group MAC only while a group on it is joined; two groups sharing a MAC keep it', () => {
    const h = readyHarness();
    const iface = h.stack.interfaces[0];
    const twin = ip('224.129.2.3'); // the same low 23 bits as 239.1.2.3 (RFC 1112 §6.4)
    expect(MacAddress.fromIpv4Multicast(twin).equals(MacAddress.fromIpv4Multicast(G1))).toBe(true);
    const probe = () => {
      const before = h.stack.stats.ipv4.rx + (h.stack.stats.ipv4.dropped['not-for-us'] ?? 0);
      h.inject(igmpFrame({ type: 'v2-report', group: G1 }, G1));
      return h.stack.stats.ipv4.rx + (h.stack.stats.ipv4.dropped['not-for-us'] ?? 0) > before;
    };
    expect(probe()).toBe(false);
    iface.joinIpv4Group(G1, 'a', h.clock.now());
    iface.joinIpv4Group(twin, 'b', h.clock.now());
    expect(probe()).toBe(true);
    expect(iface.acceptsIpv4(G1)).toBe(true);
    iface.leaveIpv4Group(G1, 'a', h.clock.now());
    expect(iface.acceptsIpv4(G1)).toBe(false);
    expect(probe(), 'the twin still needs the MAC').toBe(true);
    iface.leaveIpv4Group(twin, 'b', h.clock.now());
    expect(probe()).toBe(false);
  });

  it('the source filter applies on receive (§3.2), except to IGMP itself', () => {
    const h = readyHarness();
    const iface = h.stack.interfaces[0];
    iface.joinIpv4Group(G2, 'a', h.clock.now(), { mode: 'include', sources: [S1] });
    expect(iface.acceptsIpv4(G2, S1)).toBe(true);
    expect(iface.acceptsIpv4(G2, S2)).toBe(false);
    h.advance(5_000);
    h.sent();
    h.inject(igmpFrame({ type: 'query', ...query({ group: G2, sources: [S1], maxResponseTimeMs: 100 }) }, G2, { src: ip('10.0.0.1') }));
    h.advance(1_000);
    expect(igmpSent(h.sent()).map((r) => r.igmp)).toEqual([{ type: 'v3-report', records: [{ type: IgmpRecordType.ModeIsInclude, group: G2, sources: [S1] }] }]);
  });

  it('a TUN interface runs IGMP without a MAC; loopback keeps memberships but reports none', () => {
    const [stackEnd, wire] = createPipe({ medium: 'ip' });
    const clock = new ManualClock(1_000);
    const stack = createStack({ interfaces: [{ device: stackEnd, ipv4: ['10.0.0.2/24'] }], random: new SeededRandom(1) });
    stack.poll(clock.now());
    const tun = stack.interfaces[0];
    expect(tun.joinIpv4Group(G1, 'app', clock.now())).toBeUndefined();
    stack.poll(clock.now());
    const packet = wire.receive()!;
    const pkt = Ipv4Packet.checked(packet) as Ipv4Packet;
    expect([`${pkt.dst}`, pkt.ttl, pkt.protocol]).toEqual(['224.0.0.22', 1, IpProtocol.Igmp]);
    const loopbackOnly = createStack({ interfaces: [], random: new SeededRandom(2) });
    const lo = loopbackOnly.interface('lo')!;
    expect(lo.joinIpv4Group(G1, 'app', clock.now())).toBeUndefined();
    expect(lo.acceptsIpv4(G1)).toBe(true);
    for (let i = 0; i < 20; i++) loopbackOnly.poll(clock.advance(500));
    expect(loopbackOnly.stats.igmp.tx).toBe(0);
  });
});
