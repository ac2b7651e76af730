import { describe, expect, it } from 'vitest';
import { MldHost, type MldConfig } from '../../lib/iface/mld';
import { SeededRandom } from '../../lib/random';
import { Ipv6Address } from '../../lib/wire/address';
import { MldRecordType, mldReportToIcmp, parseMldReport, type MldQuery, type MldRecord } from '../../lib/wire/mld';

const G1 = Ipv6Address.parse('ff3e::4321');
const G2 = Ipv6Address.parse('ff05::1:3');
const S1 = Ipv6Address.parse('2001:db8::1');
const S2 = Ipv6Address.parse('2001:db8::2');
const S3 = Ipv6Address.parse('2001:db8::3');

const NAMES: Record<number, string> = {
  [MldRecordType.ModeIsInclude]: 'IS_IN',
  [MldRecordType.ModeIsExclude]: 'IS_EX',
  [MldRecordType.ChangeToInclude]: 'TO_IN',
  [MldRecordType.ChangeToExclude]: 'TO_EX',
  [MldRecordType.AllowNewSources]: 'ALLOW',
  [MldRecordType.BlockOldSources]: 'BLOCK',
};

/** 'TO_EX ff3e::4321 {2001:db8::1,2001:db8::2}', sources sorted so the order of a set does not matter. */
function show(r: MldRecord): string {
  return `${NAMES[r.type]} ${r.group} {${r.sources.map(String).sort().join(',')}}`;
}

interface Sent {
  at: number;
  records: string[];
}

/** An MldHost on a number clock; `sent` holds every Report with the time it was sent. */
function host(seed = 1, config: Partial<MldConfig> = {}) {
  const sent: Sent[] = [];
  const raw: MldRecord[][] = [];
  const t = { now: 0 };
  const mld = new MldHost(
    {
      sendReport: (records) => {
        raw.push(records);
        sent.push({ at: t.now, records: records.map(show) });
      },
    },
    new SeededRandom(seed),
    config,
  );
  /** Runs every timer due up to `until`, polling exactly at each pollAt (bounded). */
  const runUntil = (until: number) => {
    for (let i = 0; i < 10_000; i++) {
      const at = mld.pollAt();
      if (at === undefined || at > until) break;
      expect(at).toBeGreaterThanOrEqual(t.now);
      t.now = at;
      mld.poll(at);
    }
    t.now = Math.max(t.now, until);
  };
  /** Takes the Reports sent so far. */
  const take = () => sent.splice(0);
  return { mld, t, sent, raw, runUntil, take };
}

function query(f: Partial<MldQuery> = {}): MldQuery {
  return {
    version: 2,
    maxResponseDelayMs: 10_000,
    group: Ipv6Address.UNSPECIFIED,
    suppressRouterProcessing: false,
    robustness: 0,
    queryIntervalS: 125,
    sources: [],
    ...f,
  };
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('MLDv2 host: State Change Reports (RFC 3810 §6.1)', () => {
  it('join sends CHANGE_TO_EXCLUDE {} at once and one retransmission within the Unsolicited Report Interval', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      expect(h.mld.join(G1, 'sock1', 0)).toBeUndefined();
      expect(h.take()).toEqual([{ at: 0, records: ['TO_EX ff3e::4321 {}'] }]);
      expect(h.mld.isMember(G1)).toBe(true);
      h.runUntil(60_000);
      const again = h.take();
      expect(again).toHaveLength(1);
      expect(again[0].records).toEqual(['TO_EX ff3e::4321 {}']);
      expect(again[0].at).toBeGreaterThan(0);
      expect(again[0].at).toBeLessThanOrEqual(1_000);
      expect(h.mld.pollAt()).toBeUndefined();
    }
  });

  it('pollAt is exact: nothing a millisecond early, the retransmission at the deadline', () => {
    const h = host(3);
    h.mld.join(G1, 'sock1', 100);
    h.take();
    const at = h.mld.pollAt()!;
    expect(at).toBeGreaterThan(100);
    expect(Number.isInteger(at)).toBe(true);
    h.mld.poll(at - 1);
    expect(h.take()).toEqual([]);
    expect(h.mld.pollAt()).toBe(at);
    h.mld.poll(at);
    expect(h.take().map((s) => s.records)).toEqual([['TO_EX ff3e::4321 {}']]);
    expect(h.mld.pollAt()).toBeUndefined();
  });

  it('leave sends CHANGE_TO_INCLUDE {} at once and once more within 1 s, then forgets the group', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      h.mld.join(G1, 'sock1', 0);
      h.runUntil(5_000);
      h.take();
      h.mld.leave(G1, 'sock1', 5_000);
      expect(h.take()).toEqual([{ at: 5_000, records: ['TO_IN ff3e::4321 {}'] }]);
      expect(h.mld.isMember(G1)).toBe(false);
      expect(h.mld.groups().map(String)).toEqual(['ff02::1']);
      h.runUntil(60_000);
      const again = h.take();
      expect(again.map((s) => s.records)).toEqual([['TO_IN ff3e::4321 {}']]);
      expect(again[0].at - 5_000).toBeGreaterThan(0);
      expect(again[0].at - 5_000).toBeLessThanOrEqual(1_000);
      expect(h.mld.pollAt()).toBeUndefined();
      // Forgotten: a query for it is not answered.
      h.mld.onQuery(query({ group: G1 }), 60_000);
      expect(h.mld.pollAt()).toBeUndefined();
    }
  });

  it('two owners of one group: the second joining and the first leaving send nothing; the last leaving sends', () => {
    const h = host();
    h.mld.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.mld.join(G1, 'sock2', 5_000);
    h.mld.leave(G1, 'sock1', 5_000);
    h.mld.leave(G1, 'nobody', 5_000);
    h.runUntil(10_000);
    expect(h.take()).toEqual([]);
    expect(h.mld.isMember(G1)).toBe(true);
    h.mld.leave(G1, 'sock2', 10_000);
    expect(h.take().map((s) => s.records)).toEqual([['TO_IN ff3e::4321 {}']]);
  });

  it('a robustness of 3 sends the change three times; every retransmission within the interval of the one before', () => {
    const h = host(9, { robustness: 3 });
    h.mld.join(G1, 'sock1', 0);
    h.runUntil(60_000);
    const sent = h.take();
    expect(sent.map((s) => s.records)).toEqual([['TO_EX ff3e::4321 {}'], ['TO_EX ff3e::4321 {}'], ['TO_EX ff3e::4321 {}']]);
    for (const i of [1, 2]) {
      expect(sent[i].at - sent[i - 1].at).toBeGreaterThan(0);
      expect(sent[i].at - sent[i - 1].at).toBeLessThanOrEqual(1_000);
    }
  });

  it('SSM: include {S1,S2} is ALLOW {S1,S2}; adding S3 later is ALLOW {S3}; dropping S1 is BLOCK {S1}', () => {
    const h = host();
    h.mld.join(G1, 'sock1', 0, { mode: 'include', sources: [S1, S2] });
    expect(h.take().map((s) => s.records)).toEqual([['ALLOW ff3e::4321 {2001:db8::1,2001:db8::2}']]);
    h.runUntil(5_000);
    expect(h.take().map((s) => s.records)).toEqual([['ALLOW ff3e::4321 {2001:db8::1,2001:db8::2}']]);
    h.mld.join(G1, 'sock1', 5_000, { mode: 'include', sources: [S1, S2, S3] });
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([['ALLOW ff3e::4321 {2001:db8::3}'], ['ALLOW ff3e::4321 {2001:db8::3}']]);
    h.mld.join(G1, 'sock1', 10_000, { mode: 'include', sources: [S2, S3] });
    h.runUntil(15_000);
    expect(h.take().map((s) => s.records)).toEqual([['BLOCK ff3e::4321 {2001:db8::1}'], ['BLOCK ff3e::4321 {2001:db8::1}']]);
    expect(h.mld.filterOf(G1)).toEqual({ mode: 'include', sources: [S2, S3] });
    // The last include source gone: include {} (§6.1), reported as BLOCK of the rest.
    h.mld.leave(G1, 'sock1', 15_000);
    expect(h.take().map((s) => s.records)).toEqual([['BLOCK ff3e::4321 {2001:db8::2,2001:db8::3}']]);
    expect(h.mld.isMember(G1)).toBe(false);
  });

  it('merges a change into pending retransmissions without losing either: every change is sent robustness times', () => {
    const h = host(4);
    h.mld.join(G1, 'sock1', 0, { mode: 'include', sources: [S1] });
    h.mld.join(G1, 'sock1', 0, { mode: 'include', sources: [S1, S2] });
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([
      ['ALLOW ff3e::4321 {2001:db8::1}'],
      ['ALLOW ff3e::4321 {2001:db8::1,2001:db8::2}'],
      ['ALLOW ff3e::4321 {2001:db8::2}'],
    ]);
    // A source added then taken back before its retransmission: the retransmission blocks it.
    h.mld.join(G1, 'sock1', 10_000, { mode: 'include', sources: [S1, S2, S3] });
    h.mld.join(G1, 'sock1', 10_000, { mode: 'include', sources: [S1, S2] });
    h.runUntil(20_000);
    expect(h.take().map((s) => s.records)).toEqual([
      ['ALLOW ff3e::4321 {2001:db8::3}'],
      ['BLOCK ff3e::4321 {2001:db8::3}'],
      ['BLOCK ff3e::4321 {2001:db8::3}'],
    ]);
  });

  it('a join then a leave before the retransmission: TO_IN {} twice, the stale TO_EX never repeated', () => {
    const h = host(5);
    h.mld.join(G1, 'sock1', 0);
    h.mld.leave(G1, 'sock1', 0);
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([['TO_EX ff3e::4321 {}'], ['TO_IN ff3e::4321 {}'], ['TO_IN ff3e::4321 {}']]);
    expect(h.mld.pollAt()).toBeUndefined();
  });

  it('a source change while a filter-mode change is pending rides in the TO_EX record, repeated robustness times', () => {
    const h = host(6);
    h.mld.join(G1, 'sock1', 0, { mode: 'exclude', sources: [S1] });
    h.mld.join(G1, 'sock1', 0, { mode: 'exclude', sources: [S1, S2] });
    h.runUntil(10_000);
    expect(h.take().map((s) => s.records)).toEqual([
      ['TO_EX ff3e::4321 {2001:db8::1}'],
      ['TO_EX ff3e::4321 {2001:db8::1,2001:db8::2}'],
      ['TO_EX ff3e::4321 {2001:db8::1,2001:db8::2}'],
    ]);
  });

  it('merges owners per §4.2: exclude lists intersect, include sources come off them, all exclude gone → include union', () => {
    const h = host();
    const step = (at: number, f: () => void): string[][] => {
      f();
      const now = h.take().map((s) => s.records);
      h.runUntil(at + 5_000);
      h.take();
      return now;
    };
    expect(step(0, () => h.mld.join(G1, 'a', 0, { mode: 'exclude', sources: [S1, S2] }))).toEqual([['TO_EX ff3e::4321 {2001:db8::1,2001:db8::2}']]);
    expect(step(5_000, () => h.mld.join(G1, 'b', 5_000, { mode: 'exclude', sources: [S2, S3] }))).toEqual([['ALLOW ff3e::4321 {2001:db8::1}']]);
    expect(h.mld.filterOf(G1)).toEqual({ mode: 'exclude', sources: [S2] });
    expect(step(10_000, () => h.mld.join(G1, 'c', 10_000, { mode: 'include', sources: [S2] }))).toEqual([['ALLOW ff3e::4321 {2001:db8::2}']]);
    expect(h.mld.filterOf(G1)).toEqual({ mode: 'exclude', sources: [] });
    expect(step(15_000, () => h.mld.leave(G1, 'a', 15_000))).toEqual([['BLOCK ff3e::4321 {2001:db8::3}']]);
    expect(h.mld.filterOf(G1)).toEqual({ mode: 'exclude', sources: [S3] });
    expect(step(20_000, () => h.mld.leave(G1, 'b', 20_000))).toEqual([['TO_IN ff3e::4321 {2001:db8::2}']]);
  });

  it('never reports ff02::1 (§6) or interface-local groups, and ff02::1 is always a member', () => {
    const h = host();
    expect(h.mld.isMember(Ipv6Address.ALL_NODES)).toBe(true);
    expect(h.mld.join(Ipv6Address.ALL_NODES, 'stack', 0)).toBeUndefined();
    h.mld.leave(Ipv6Address.ALL_NODES, 'stack', 0);
    expect(h.mld.isMember(Ipv6Address.ALL_NODES)).toBe(true);
    const local = Ipv6Address.parse('ff01::1234');
    h.mld.join(local, 'sock1', 0);
    expect(h.mld.isMember(local)).toBe(true);
    h.mld.onQuery(query({ maxResponseDelayMs: 100 }), 0);
    h.runUntil(60_000);
    expect(h.take()).toEqual([]);
    expect(h.mld.groups().map(String)).toEqual(['ff02::1', 'ff01::1234']);
    expect(h.mld.join(S1, 'sock1', 0)).toBe('not-multicast');
  });
});

describe('MLDv2 host: answering queries (RFC 3810 §6.2, §6.3)', () => {
  it('a General Query gets one Report with every group after a random delay ≤ the Maximum Response Delay', () => {
    for (const seed of SEEDS) {
      const h = host(seed);
      h.mld.join(G1, 'sock1', 0);
      h.mld.join(G2, 'sock2', 0, { mode: 'include', sources: [S1] });
      h.mld.join(Ipv6Address.parse('ff02::1:ff00:1'), 'stack', 0);
      h.mld.join(Ipv6Address.parse('ff3e::dead'), 'sock3', 0);
      h.mld.leave(Ipv6Address.parse('ff3e::dead'), 'sock3', 0);
      h.runUntil(10_000);
      h.take();
      h.mld.onQuery(query({ maxResponseDelayMs: 2_000 }), 10_000);
      const at = h.mld.pollAt()!;
      expect(at - 10_000).toBeGreaterThan(0);
      expect(at - 10_000).toBeLessThanOrEqual(2_000);
      h.mld.poll(at - 1);
      expect(h.take()).toEqual([]);
      h.runUntil(100_000);
      const sent = h.take();
      expect(sent).toHaveLength(1);
      expect(sent[0].at).toBe(at);
      expect(sent[0].records).toEqual(['IS_EX ff3e::4321 {}', 'IS_IN ff05::1:3 {2001:db8::1}', 'IS_EX ff02::1:ff00:1 {}']);
    }
  });

  it('a second General Query keeps the earlier-scheduled response, one Report in all', () => {
    const h = host(2);
    h.mld.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ maxResponseDelayMs: 10_000 }), 5_000);
    const first = h.mld.pollAt()!;
    h.mld.onQuery(query({ maxResponseDelayMs: 1 }), 5_000);
    expect(h.mld.pollAt()).toBe(5_001);
    h.mld.onQuery(query({ maxResponseDelayMs: 10_000 }), 5_000);
    expect(h.mld.pollAt()).toBe(5_001);
    expect(first).toBeGreaterThanOrEqual(5_001);
    h.runUntil(30_000);
    expect(h.take()).toEqual([{ at: 5_001, records: ['IS_EX ff3e::4321 {}'] }]);
  });

  it('a Multicast Address Specific Query gets only that group', () => {
    const h = host(3);
    h.mld.join(G1, 'sock1', 0);
    h.mld.join(G2, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ group: G2, maxResponseDelayMs: 1_000 }), 5_000);
    const at = h.mld.pollAt()!;
    expect(at - 5_000).toBeGreaterThan(0);
    expect(at - 5_000).toBeLessThanOrEqual(1_000);
    h.runUntil(30_000);
    expect(h.take()).toEqual([{ at, records: ['IS_EX ff05::1:3 {}'] }]);
  });

  it('a pending General Query response sent sooner absorbs a group query (rule 1)', () => {
    const h = host(4);
    h.mld.join(G1, 'sock1', 0);
    h.mld.join(G2, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ maxResponseDelayMs: 1 }), 5_000);
    h.mld.onQuery(query({ group: G2, maxResponseDelayMs: 10_000 }), 5_000);
    h.mld.onQuery(query({ group: G1, sources: [S1], maxResponseDelayMs: 10_000 }), 5_000);
    h.runUntil(30_000);
    expect(h.take()).toEqual([{ at: 5_001, records: ['IS_EX ff3e::4321 {}', 'IS_EX ff05::1:3 {}'] }]);
  });

  it('a query for a group we are not in (or for ff02::1) schedules nothing', () => {
    const h = host();
    h.mld.join(G1, 'sock1', 0);
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ group: G2 }), 5_000);
    h.mld.onQuery(query({ group: Ipv6Address.ALL_NODES }), 5_000);
    h.mld.onQuery(query({ group: G2, sources: [S1] }), 5_000);
    expect(h.mld.pollAt()).toBeUndefined();
    h.runUntil(60_000);
    expect(h.take()).toEqual([]);
  });

  it('a source-specific query reports the queried sources we receive, and nothing when there are none', () => {
    const h = host(5);
    h.mld.join(G1, 'sock1', 0, { mode: 'include', sources: [S1, S2] });
    h.mld.join(G2, 'sock1', 0, { mode: 'exclude', sources: [S1] });
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ group: G1, sources: [S2, S3], maxResponseDelayMs: 1_000 }), 5_000);
    h.mld.onQuery(query({ group: G2, sources: [S1, S2], maxResponseDelayMs: 1_000 }), 5_000);
    h.runUntil(10_000);
    expect(h.take().flatMap((s) => s.records).sort()).toEqual(['IS_IN ff05::1:3 {2001:db8::2}', 'IS_IN ff3e::4321 {2001:db8::2}']);
    h.mld.onQuery(query({ group: G2, sources: [S1], maxResponseDelayMs: 1_000 }), 10_000);
    h.mld.onQuery(query({ group: G1, sources: [S3], maxResponseDelayMs: 1_000 }), 10_000);
    expect(h.mld.pollAt()).toBeDefined();
    h.runUntil(20_000);
    expect(h.take()).toEqual([]);
  });

  it('queries for one group merge: sources accumulate (rule 5), an address-specific query widens to the group (rule 4)', () => {
    const h = host(6);
    h.mld.join(G1, 'sock1', 0, { mode: 'exclude', sources: [S3] });
    h.runUntil(5_000);
    h.take();
    h.mld.onQuery(query({ group: G1, sources: [S1], maxResponseDelayMs: 5_000 }), 5_000);
    const first = h.mld.pollAt()!;
    h.mld.onQuery(query({ group: G1, sources: [S2, S3], maxResponseDelayMs: 5_000 }), 5_000);
    const at = h.mld.pollAt()!;
    expect(at).toBeLessThanOrEqual(first);
    h.runUntil(20_000);
    expect(h.take()).toEqual([{ at, records: ['IS_IN ff3e::4321 {2001:db8::1,2001:db8::2}'] }]);

    h.mld.onQuery(query({ group: G1, sources: [S1], maxResponseDelayMs: 5_000 }), 20_000);
    h.mld.onQuery(query({ group: G1, maxResponseDelayMs: 5_000 }), 20_000);
    h.mld.onQuery(query({ group: G1, sources: [S2], maxResponseDelayMs: 5_000 }), 20_000);
    h.runUntil(40_000);
    expect(h.take().map((s) => s.records)).toEqual([['IS_EX ff3e::4321 {2001:db8::3}']]);
  });

  it('a Maximum Response Delay of 0 uses the Query Response Interval', () => {
    for (const seed of SEEDS) {
      const h = host(seed, { queryResponseIntervalMs: 3_000 });
      h.mld.join(G1, 'sock1', 0);
      h.runUntil(5_000);
      h.take();
      h.mld.onQuery(query({ maxResponseDelayMs: 0 }), 5_000);
      const at = h.mld.pollAt()!;
      expect(at - 5_000).toBeGreaterThan(0);
      expect(at - 5_000).toBeLessThanOrEqual(3_000);
    }
  });

  it('a query with QRV sets the robustness of later changes (§5.1.8); QRV 0 keeps it', () => {
    const h = host(7);
    // Queries for a group we are not in: only their QRV matters.
    h.mld.onQuery(query({ robustness: 4, group: G2 }), 0);
    h.mld.onQuery(query({ robustness: 0, group: G2 }), 0);
    h.mld.join(G1, 'sock1', 0);
    h.runUntil(60_000);
    expect(h.take().map((s) => s.records)).toEqual(Array(4).fill(['TO_EX ff3e::4321 {}']));
    h.mld.onQuery(query({ robustness: 1, group: G2 }), 60_000);
    h.mld.leave(G1, 'sock1', 60_000);
    h.runUntil(120_000);
    expect(h.take().map((s) => s.records)).toEqual([['TO_IN ff3e::4321 {}']]);
  });
});

describe('MLDv2 host: bounded state', () => {
  it('refuses the group past maxGroups, sources past maxSources, memberships past maxMemberships', () => {
    const h = host(1, { maxMemberships: 1_100 });
    const group = (i: number) => Ipv6Address.parse(`ff3e::${(i + 1).toString(16)}`);
    for (let i = 0; i < 1_024; i++) expect(h.mld.join(group(i), 'sock', 0)).toBeUndefined();
    expect(h.mld.join(group(1_024), 'sock', 0)).toBe('too-many-groups');
    expect(h.mld.isMember(group(1_024))).toBe(false);
    expect(h.mld.groups()).toHaveLength(1 + 1_024);
    // A filter of 65 sources, or owners whose include union passes 64, is refused and changes nothing.
    const many = (n: number, base: number) => Array.from({ length: n }, (_, i) => Ipv6Address.parse(`2001:db8::${(base + i).toString(16)}`));
    expect(h.mld.join(group(0), 'other', 0, { mode: 'exclude', sources: many(65, 1) })).toBe('too-many-sources');
    h.mld.leave(group(0), 'sock', 0);
    expect(h.mld.join(group(0), 'a', 0, { mode: 'include', sources: many(40, 1) })).toBeUndefined();
    expect(h.mld.join(group(0), 'b', 0, { mode: 'include', sources: many(40, 100) })).toBe('too-many-sources');
    expect(h.mld.filterOf(group(0)).sources).toHaveLength(40);
    for (let i = 1; i < 100; i++) h.mld.join(group(i), `s${i}`, 0);
    expect(h.mld.join(group(200), 'x', 0)).toBe('too-many-memberships');
  });

  it('splits a General Query response over Reports that fit maxRecordsBytes, every group in exactly one', () => {
    const h = host(2);
    for (let i = 0; i < 1_024; i++) h.mld.join(Ipv6Address.parse(`ff3e::${(i + 1).toString(16)}`), 'sock', 0);
    h.runUntil(10_000);
    h.take();
    h.raw.length = 0;
    h.mld.onQuery(query({ maxResponseDelayMs: 100 }), 10_000);
    h.runUntil(20_000);
    const reports = h.raw.splice(0);
    expect(reports.length).toBe(Math.ceil(1_024 / Math.floor(1_224 / 20)));
    for (const r of reports) expect(r.length * 20).toBeLessThanOrEqual(1_224);
    const groups = new Set(reports.flat().map((r) => r.group.toString()));
    expect(groups.size).toBe(1_024);
    // Through the wire codec: each Report, with IPv6 (40) and Hop-by-Hop (8) headers, fits 1280 (RFC 8200 §5).
    for (const r of reports) {
      const icmp = mldReportToIcmp(r);
      expect(40 + 8 + icmp.bufferLen()).toBeLessThanOrEqual(1_280);
      expect((parseMldReport(icmp) as MldRecord[]).map(show)).toEqual(r.map(show));
    }
  });

  it('a full 64-source TO_EX fits one Report of the default size', () => {
    const h = host(5);
    const srcs = Array.from({ length: 64 }, (_, i) => Ipv6Address.parse(`2001:db8::${(i + 1).toString(16)}`));
    h.mld.join(G1, 'sock1', 0, { mode: 'exclude', sources: srcs });
    const reports = h.raw.splice(0);
    expect(reports.map((r) => r.map((x) => [x.type, x.sources.length]))).toEqual([[[MldRecordType.ChangeToExclude, 64]]]);
    expect(40 + 8 + mldReportToIcmp(reports[0]).bufferLen()).toBeLessThanOrEqual(1_280);
  });

  it('splits an ALLOW too big for a Report; keeps as many TO_EX sources as fit (§5.2.15)', () => {
    const h = host(3, { maxRecordsBytes: 20 + 4 * 16 });
    const srcs = Array.from({ length: 6 }, (_, i) => Ipv6Address.parse(`2001:db8::${i + 1}`));
    h.mld.join(G1, 'sock1', 0, { mode: 'include', sources: srcs });
    expect(h.raw.splice(0).map((r) => r.map((x) => x.sources.length))).toEqual([[4], [2]]);
    h.mld.join(G2, 'sock1', 0, { mode: 'exclude', sources: srcs });
    expect(h.raw.splice(0).map((r) => r.map((x) => [x.type, x.sources.length]))).toEqual([[[MldRecordType.ChangeToExclude, 4]]]);
  });

  it('a flood of source-specific queries keeps at most maxSources recorded, then answers for the whole group', () => {
    const h = host(4);
    h.mld.join(G1, 'sock1', 0, { mode: 'exclude', sources: [S1] });
    h.runUntil(5_000);
    h.take();
    for (let i = 0; i < 1_000; i++) {
      const srcs = Array.from({ length: 10 }, (_, j) => Ipv6Address.parse(`2001:db8:1::${(i * 10 + j + 1).toString(16)}`));
      h.mld.onQuery(query({ group: G1, sources: srcs, maxResponseDelayMs: 10_000 }), 5_000);
    }
    h.runUntil(60_000);
    expect(h.take().map((s) => s.records)).toEqual([['IS_EX ff3e::4321 {2001:db8::1}']]);
  });
});
