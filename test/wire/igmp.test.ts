/**
 * IGMP (RFC 3376, RFC 2236, RFC 1112): queries from the Linux bridge's IGMP querier and
 * reports from the Linux kernel, parsed field by field and rebuilt byte-exact, checksums
 * included; messages built by hand from the RFC 3376 §4 layouts; the Max Resp Code and
 * QQIC float form (§4.1.1, §4.1.7); malformed messages and random bytes.
 *
 * Captured on 2026-11-23 (Linux 6.18) in a network namespace: a veth pair v0
 * (02:00:00:00:00:11, 10.0.0.2/24, the host) and v1, enslaved to a bridge br0
 * (02:00:00:00:00:12, 10.0.0.1/24) made with
 *   ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 1 mcast_querier 1 \
 *     mcast_igmp_version 3 mcast_startup_query_interval 100 mcast_startup_query_count 2 \
 *     mcast_last_member_count 1
 * and `tcpdump -i v0 -w igmp.pcap igmp`, while a Python program joined 239.1.2.3
 * (IP_ADD_MEMBERSHIP), added and removed the sources 10.9.9.9 and 10.9.9.8 of 232.1.1.1
 * (IP_ADD_SOURCE_MEMBERSHIP / IP_DROP_SOURCE_MEMBERSHIP) and left 239.1.2.3, 1.5 s apart;
 * then again with mcast_igmp_version 2. Each message is the IGMP part of a frame (the IPv4
 * header with its Router Alert option, 24 octets, stripped).
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { Ipv4Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { decodeIgmpCode, emitIgmp, encodeIgmpCode, IgmpRecordType, igmpLen, parseIgmp, ROUTER_ALERT_OPTION, type IgmpMessage } from '../../lib/wire/igmp';
import { a5, fromHex, hex, ok, referenceChecksum } from './fixtures/fields';

const ip = (text: string) => Ipv4Address.parse(text);

/** A message as plain data: addresses as text, so one toEqual reads every field. */
function plain(x: unknown): unknown {
  if (x instanceof Ipv4Address) return x.toString();
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

function emitted(msg: IgmpMessage): string {
  const out = a5(igmpLen(msg));
  emitIgmp(msg, out, 0);
  return hex(out);
}

/** Writes a valid checksum into hand-made bytes, so only the intended fault remains. */
function withChecksum(text: string): Uint8Array {
  const b = fromHex(text);
  b[2] = 0;
  b[3] = 0;
  const c = referenceChecksum(b);
  b[2] = c >> 8;
  b[3] = c & 0xff;
  return b;
}

interface Golden {
  name: string;
  hex: string;
  fields: unknown;
}

const v3 = { type: 'query', version: 3, suppressRouterProcessing: false, robustness: 2, queryIntervalS: 125 };
const older = { type: 'query', suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] };

const QUERIES: Golden[] = [
  {
    name: 'IGMPv3 General Query (bridge defaults: 10 s, QRV 2, QQIC 125), from 0.0.0.0 to 224.0.0.1',
    hex: '1164ec1e00000000027d0000',
    fields: { ...v3, maxResponseTimeMs: 10000, group: '0.0.0.0', sources: [] },
  },
  {
    name: 'IGMPv3 Group-and-Source-Specific Query, to 232.1.1.1',
    hex: '110af062e8010101027d00010a090909',
    fields: { ...v3, maxResponseTimeMs: 1000, group: '232.1.1.1', sources: ['10.9.9.9'] },
  },
  {
    name: 'IGMPv3 Group-Specific Query, to 239.1.2.3',
    hex: '110afb73ef010203027d0000',
    fields: { ...v3, maxResponseTimeMs: 1000, group: '239.1.2.3', sources: [] },
  },
  {
    name: 'IGMPv2 General Query (8 octets, Max Resp Time 100 tenths)',
    hex: '1164ee9b00000000',
    fields: { ...older, version: 2, maxResponseTimeMs: 10000, group: '0.0.0.0' },
  },
  {
    name: 'IGMPv2 Group-Specific Query (sent to 224.0.0.1 by the bridge)',
    hex: '110afdf0ef010203',
    fields: { ...older, version: 2, maxResponseTimeMs: 1000, group: '239.1.2.3' },
  },
  {
    // By hand (RFC 1112 Appendix I): 8 octets, the "unused" octet zero, so version 1 (RFC 3376 §7.1).
    name: 'IGMPv1 Query: a zero Max Resp Code means 10 s (RFC 2236 §4)',
    hex: '1100eeff00000000',
    fields: { ...older, version: 1, maxResponseTimeMs: 10000, group: '0.0.0.0' },
  },
];

const record = (type: number, group: string, sources: string[] = []) => ({ type, group, sources });

const REPORTS: Golden[] = [
  { name: 'a join: CHANGE_TO_EXCLUDE {}', hex: '2200e8f90000000104000000ef010203', fields: [record(IgmpRecordType.ChangeToExclude, '239.1.2.3')] },
  {
    name: 'a source-specific join: ALLOW_NEW_SOURCES',
    hex: '2200dce80000000105000001e80101010a090909',
    fields: [record(IgmpRecordType.AllowNewSources, '232.1.1.1', ['10.9.9.9'])],
  },
  {
    name: 'the answer to a General Query: MODE_IS_INCLUDE and MODE_IS_EXCLUDE',
    hex: '2200ede20000000201000001e80101010a09090902000000ef010203',
    fields: [record(IgmpRecordType.ModeIsInclude, '232.1.1.1', ['10.9.9.9']), record(IgmpRecordType.ModeIsExclude, '239.1.2.3')],
  },
  {
    name: 'a source removed: BLOCK_OLD_SOURCES',
    hex: '2200dbe80000000106000001e80101010a090909',
    fields: [record(IgmpRecordType.BlockOldSources, '232.1.1.1', ['10.9.9.9'])],
  },
  { name: 'a leave: CHANGE_TO_INCLUDE {}', hex: '2200e9f90000000103000000ef010203', fields: [record(IgmpRecordType.ChangeToInclude, '239.1.2.3')] },
];

const OLDER: Golden[] = [
  { name: 'IGMPv2 Report, to the group', hex: '1600f8faef010203', fields: { type: 'v2-report', group: '239.1.2.3' } },
  { name: 'IGMPv2 Leave Group, to 224.0.0.2', hex: '1700f7faef010203', fields: { type: 'v2-leave', group: '239.1.2.3' } },
  // By hand (RFC 1112 Appendix I): version 1 and type 2 make the octet 0x12.
  { name: 'IGMPv1 Report', hex: '1200fcfaef010203', fields: { type: 'v1-report', group: '239.1.2.3' } },
];

describe('golden IGMP messages: every field, and rebuilt byte-exact', () => {
  it.each(QUERIES)('$name', (g) => {
    const msg = ok(parseIgmp(fromHex(g.hex)));
    expect(plain(msg)).toEqual(g.fields);
    expect(emitted(msg)).toBe(g.hex);
  });

  it.each(REPORTS)('$name', (g) => {
    const msg = ok(parseIgmp(fromHex(g.hex)));
    expect(msg.type).toBe('v3-report');
    expect(plain(msg)).toEqual({ type: 'v3-report', records: g.fields });
    expect(emitted(msg)).toBe(g.hex);
  });

  it.each(OLDER)('$name', (g) => {
    const msg = ok(parseIgmp(fromHex(g.hex)));
    expect(plain(msg)).toEqual(g.fields);
    expect(emitted(msg)).toBe(g.hex);
  });

  it('every golden checksum agrees with an independent RFC 1071 sum', () => {
    for (const g of [...QUERIES, ...REPORTS, ...OLDER]) expect(referenceChecksum(fromHex(g.hex)), g.name).toBe(0);
  });

  it('the Router Alert option is RFC 2113 §2.1: type 148, length 4, value 0', () => {
    expect(hex(ROUTER_ALERT_OPTION)).toBe('94040000');
  });
});

describe('construction into a buffer of 0xa5, from the RFC 3376 §4 layouts', () => {
  /** The message with the checksum octets cut out (checked on their own), and the octet after it untouched. */
  function built(msg: IgmpMessage): string {
    const out = a5(igmpLen(msg) + 1);
    emitIgmp(msg, out, 0);
    expect(out[out.length - 1]).toBe(0xa5);
    expect(referenceChecksum(out.subarray(0, -1))).toBe(0);
    return hex(out.subarray(0, 2)) + hex(out.subarray(4, -1));
  }

  it('a version 3 query (§4.1): S flag, a robustness above 7 sent as 0, both times in the float form, two sources', () => {
    const msg: IgmpMessage = {
      type: 'query', version: 3, maxResponseTimeMs: 30_000, group: ip('239.9.9.9'), suppressRouterProcessing: true, robustness: 9,
      queryIntervalS: 300, sources: [ip('10.0.0.7'), ip('10.0.0.8')],
    };
    // Neither 300 tenths nor 300 s has an exact code: both round down to 0x92, (0x10 | 2) << 4 = 288.
    expect(built(msg)).toBe('11' + '92' + 'ef090909' + '08' + '92' + '0002' + '0a000007' + '0a000008');
    expect(ok(parseIgmp(fromHex(emitted(msg))))).toEqual({ ...msg, robustness: 0, maxResponseTimeMs: 28_800, queryIntervalS: 288 });
  });

  it('a version 3 report (§4.2) of two records, reserved octets zero, no auxiliary data', () => {
    const msg: IgmpMessage = {
      type: 'v3-report',
      records: [
        { type: IgmpRecordType.ModeIsInclude, group: ip('232.1.1.1'), sources: [ip('10.9.9.9'), ip('10.9.9.8')] },
        { type: IgmpRecordType.ChangeToExclude, group: ip('239.1.2.3'), sources: [] },
      ],
    };
    expect(built(msg)).toBe('22' + '00' + '0000' + '0002' + '01' + '00' + '0002' + 'e8010101' + '0a090909' + '0a090908' + '04000000' + 'ef010203');
  });

  it('version 2 query (tenths, clamped to 1–255) and version 1 query (0)', () => {
    const query = { type: 'query', group: ip('0.0.0.0'), suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] as Ipv4Address[] } as const;
    expect(built({ ...query, version: 2, maxResponseTimeMs: 99_999 })).toBe('11ff00000000');
    expect(built({ ...query, version: 2, maxResponseTimeMs: 0 })).toBe('110100000000');
    expect(built({ ...query, version: 1, maxResponseTimeMs: 5_000 })).toBe('110000000000');
  });

  it('a report with auxiliary data parses (the data skipped, §4.2.6) and the next record is read after it', () => {
    const bytes = withChecksum('2200000000000002' + '01010001e80101010a090909' + 'deadbeef' + '02000000ef010203');
    expect(plain(ok(parseIgmp(bytes)))).toEqual({
      type: 'v3-report',
      records: [record(IgmpRecordType.ModeIsInclude, '232.1.1.1', ['10.9.9.9']), record(IgmpRecordType.ModeIsExclude, '239.1.2.3')],
    });
  });

  it('octets past a query source list (§4.1.10) and past the report records are ignored', () => {
    expect(plain(ok(parseIgmp(withChecksum('110a0000e8010101027d00010a090909' + 'cafe'))))).toMatchObject({ version: 3, sources: ['10.9.9.9'] });
    expect(plain(ok(parseIgmp(withChecksum('2200000000000001' + '04000000ef010203' + '00000000'))))).toEqual({
      type: 'v3-report',
      records: [record(IgmpRecordType.ChangeToExclude, '239.1.2.3')],
    });
  });
});

describe('Max Resp Code and QQIC (RFC 3376 §4.1.1, §4.1.7)', () => {
  it.each([
    [0, 0],
    [100, 100],
    [127, 127],
    [0x80, 128], // exp 0, mant 0: 0x10 << 3, the first value of the float form
    [0x8f, 248],
    [0x90, 256],
    [0xa2, 576],
    [0xff, 31744], // mant 0xf, exp 7: 0x1f << 10, the largest
  ])('code %i → %i, and back', (code, value) => {
    expect(decodeIgmpCode(code)).toBe(value);
    expect(encodeIgmpCode(value)).toBe(code);
  });

  it('every code decodes to a value that encodes back to it; a value between codes rounds down', () => {
    for (let code = 0; code <= 0xff; code++) expect(encodeIgmpCode(decodeIgmpCode(code))).toBe(code);
    for (const v of [129, 300, 1000, 31743]) {
      expect(decodeIgmpCode(encodeIgmpCode(v))).toBeLessThanOrEqual(v);
      expect(decodeIgmpCode(encodeIgmpCode(v) + 1)).toBeGreaterThan(v);
    }
    expect([encodeIgmpCode(1e6), encodeIgmpCode(12.9), encodeIgmpCode(-3)]).toEqual([0xff, 12, 0]);
  });
});

describe('malformed IGMP messages are dropped with a reason', () => {
  it.each([
    ['7 octets', 'truncated', fromHex('11640000000000')],
    ['a flipped bit', 'bad-checksum', fromHex('1164ec1e00000001027d0000')],
    ['a query of 10 octets (§7.1: ignored)', 'bad-length', withChecksum('11640000000000000000')],
    ['a query of 11 octets', 'bad-length', withChecksum('1164000000000000027d00')],
    ['a version 3 query announcing a source it does not hold', 'bad-source-count', withChecksum('110a0000e8010101027d0001')],
    ['a version 3 query announcing 65535 sources', 'bad-source-count', withChecksum('110a0000e8010101027dffff0a090909')],
    ['a report announcing 2 records, holding 1', 'bad-record-count', withChecksum('2200000000000002' + '04000000ef010203')],
    ['a report record announcing a source it does not hold', 'bad-record-count', withChecksum('2200000000000001' + '05000001ef010203')],
    ['a report record whose auxiliary data runs past the end', 'bad-record-count', withChecksum('2200000000000001' + '04010000ef010203')],
    ['a report record cut in its header', 'bad-record-count', withChecksum('2200000000000001' + '040000')],
    ['an unknown type (DVMRP, 0x13)', 'unknown-type', withChecksum('1300000000000000')],
  ])('%s → %s', (_name, reason, bytes) => {
    expect(parseIgmp(bytes)).toBe(reason);
  });

  it('random bytes, with and without a valid checksum, never throw and parse to a message or a reason', () => {
    const random = new SeededRandom(3376);
    const types = [0x11, 0x12, 0x16, 0x17, 0x22, 0x13];
    for (let i = 0; i < 5_000; i++) {
      const bytes = new Uint8Array(uniformInt(random, 0, 64)).map(() => random.u32() & 0xff);
      if (bytes.length > 0) bytes[0] = types[i % types.length];
      const fixed = bytes.length >= 8 ? withChecksum(hex(bytes)) : bytes;
      for (const b of [bytes, fixed]) {
        const msg = parseIgmp(b);
        if (!isDrop(msg)) expect(igmpLen(msg)).toBeLessThanOrEqual(b.length);
      }
    }
  });
});
