/**
 * Multicast Listener Discovery (RFC 3810, RFC 2710): queries from the Linux bridge's MLD
 * querier and reports from the Linux kernel, parsed field by field and rebuilt byte-exact,
 * checksums included; then construction, the Max Resp Code and QQIC encodings, malformed
 * messages and random bytes.
 *
 * Captured on 2026-11-23 (Linux 6.18) with
 *   ip netns exec A tcpdump -Z root -i w0 -U -w w0.pcap   (and the same on v0)
 * in a lab of namespaces joined by veth pairs: A (w0, 02:00:00:00:00:11, a host) and Q (w1
 * in a bridge of MAC 02:00:00:00:00:12 that is an MLD querier; IPv6 off on w1, accept_dad 0),
 * and A (v0, 02:00:00:00:00:01) and B (v1, 02:00:00:00:00:02, forwarding on). The bridge:
 *   ip -n Q link add brq address 02:00:00:00:00:12 type bridge stp_state 0 forward_delay 0 \
 *     mcast_snooping 1 mcast_querier 1 mcast_mld_version 2 mcast_startup_query_interval 200 \
 *     mcast_startup_query_count 3 mcast_last_member_count 1
 * then deleted and made again with mcast_mld_version 1 mcast_query_response_interval 100.
 * A joined and left groups through sockets (Debian's python3): MCAST_JOIN_SOURCE_GROUP /
 * MCAST_LEAVE_SOURCE_GROUP for (ff3e::4321, fd00:500::7), IPV6_JOIN_GROUP /
 * IPV6_LEAVE_GROUP for ff05::1234, each held 1.5 s ("join-leave" below). Each message is the
 * ICMPv6 part of a frame: the IPv6 header and the 8-byte Hop-by-Hop header (Router Alert 0)
 * stripped at fixed offsets, with the addresses its checksum covers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { Ipv6Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Icmpv6Packet, Icmpv6Repr, Icmpv6Type } from '../../lib/wire/icmpv6';
import {
  decodeMaxRespCode,
  decodeQqic,
  encodeMaxRespCode,
  encodeQqic,
  mldQueryToIcmp,
  MldRecordType,
  mldReportToIcmp,
  mldV1ToIcmp,
  parseMldQuery,
  parseMldReport,
  parseMldV1Group,
  type MldQuery,
} from '../../lib/wire/mld';
import { a5, fromHex, hex, ok } from './fixtures/fields';

const ip = (text: string) => Ipv6Address.parse(text);
const QUERIER = 'fe80::ff:fe00:12';
const HOST = 'fe80::ff:fe00:11';
const ZERO16 = '00'.repeat(16);

/** A message as plain data: addresses as text, so one toEqual reads every field. */
function plain(x: unknown): unknown {
  if (x instanceof Ipv6Address) return x.toString();
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

function icmpOf(text: string, src: string, dst: string, verifyChecksum = true): Icmpv6Repr | string {
  const pkt = Icmpv6Packet.checked(fromHex(text));
  return isDrop(pkt) ? pkt : Icmpv6Repr.parse(pkt, ip(src), ip(dst), { verifyChecksum });
}

function emitted(repr: Icmpv6Repr, src: string, dst: string): string {
  const out = a5(repr.bufferLen());
  repr.emit(out, 0, ip(src), ip(dst));
  return hex(out);
}

interface Golden {
  name: string;
  command: string;
  src: string;
  dst: string;
  hex: string;
  fields: unknown;
}

const v2 = { version: 2, suppressRouterProcessing: false, robustness: 2, queryIntervalS: 125 };
const v1 = { version: 1, suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] };

const QUERIES: Golden[] = [
  {
    name: 'MLDv2 General Query (bridge defaults: 10 s, QRV 2, QQIC 125)',
    command: 'ip -n Q link set brq up (mcast_mld_version 2)',
    src: QUERIER,
    dst: 'ff02::1',
    hex: '8200578527100000' + ZERO16 + '027d0000',
    fields: { ...v2, maxResponseDelayMs: 10000, group: '::', sources: [] },
  },
  {
    name: 'MLDv2 Group-and-Source-Specific Query',
    command: 'join-leave (ff3e::4321, fd00:500::7)',
    src: QUERIER,
    dst: 'ff3e::4321',
    hex: '8200f2d703e80000ff3e0000000000000000000000004321027d0001fd000500000000000000000000000007',
    fields: { ...v2, maxResponseDelayMs: 1000, group: 'ff3e::4321', sources: ['fd00:500::7'] },
  },
  {
    name: 'MLDv2 Group-Specific Query',
    command: 'join-leave ff05::1234',
    src: QUERIER,
    dst: 'ff05::1234',
    hex: '8200573d03e80000ff050000000000000000000000001234027d0000',
    fields: { ...v2, maxResponseDelayMs: 1000, group: 'ff05::1234', sources: [] },
  },
  {
    // The Linux bridge writes its response interval (60000 ms) and query interval (300 s)
    // as plain numbers, 0xea60 and 300 & 0xff, where RFC 3810 §5.1.3 and §5.1.9 want the
    // float form: by the RFC these bytes mean 3457024 ms and 44 s, as tshark reads them.
    name: 'MLDv2 General Query of a bridge set to 60 s / 300 s',
    command: 'ip -n Q link add brq type bridge ... mcast_query_response_interval 6000 mcast_query_interval 30000',
    src: 'fe80::1408:5ff:fe3a:42c1',
    dst: 'ff02::1',
    hex: '82003894ea600000' + ZERO16 + '022c0000',
    fields: { ...v2, maxResponseDelayMs: 3457024, queryIntervalS: 44, group: '::', sources: [] },
  },
  {
    name: 'MLDv1 General Query (24 octets)',
    command: 'ip -n Q link set brq1 up (mcast_mld_version 1 mcast_query_response_interval 100)',
    src: QUERIER,
    dst: 'ff02::1',
    hex: '82007d2e03e80000' + ZERO16,
    fields: { ...v1, maxResponseDelayMs: 1000, group: '::' },
  },
  {
    name: 'MLDv1 Multicast-Address-Specific Query (sent to ff02::1 by the bridge)',
    command: 'join-leave ff05::1234 (MLDv1)',
    src: QUERIER,
    dst: 'ff02::1',
    hex: '82006bf403e80000ff050000000000000000000000001234',
    fields: { ...v1, maxResponseDelayMs: 1000, group: 'ff05::1234' },
  },
];

const record = (type: number, group: string, sources: string[] = []) => ({ type, group, sources });

const REPORTS: Golden[] = [
  {
    name: "A's DAD join of its solicited-node group, from ::",
    command: 'ip -n B link set v1 up',
    src: '::',
    dst: 'ff02::16',
    hex: '8f006f890000000104000000ff0200000000000000000001ff000001',
    fields: [record(MldRecordType.ChangeToExclude, 'ff02::1:ff00:1')],
  },
  {
    name: 'B (a router) joins three groups in one report',
    command: 'ip -n B link set v1 up',
    src: 'fe80::ff:fe00:2',
    dst: 'ff02::16',
    hex:
      '8f006cd100000003' +
      '04000000ff0200000000000000000001ff000000' +
      '04000000ff0200000000000000000001ff000002' +
      '04000000ff020000000000000000000000000002',
    fields: [record(4, 'ff02::1:ff00:0'), record(4, 'ff02::1:ff00:2'), record(4, 'ff02::2')],
  },
  {
    name: 'a source-specific join: ALLOW_NEW_SOURCES',
    command: 'join-leave (ff3e::4321, fd00:500::7)',
    src: HOST,
    dst: 'ff02::16',
    hex: '8f002a840000000105000001ff3e0000000000000000000000004321fd000500000000000000000000000007',
    fields: [record(MldRecordType.AllowNewSources, 'ff3e::4321', ['fd00:500::7'])],
  },
  {
    name: 'its leave merged with the next join: BLOCK_OLD_SOURCES, CHANGE_TO_EXCLUDE',
    command: 'join-leave (ff3e::4321, fd00:500::7); join-leave ff05::1234',
    src: HOST,
    dst: 'ff02::16',
    hex:
      '8f00143500000002' +
      '06000001ff3e0000000000000000000000004321fd000500000000000000000000000007' +
      '04000000ff050000000000000000000000001234',
    fields: [record(MldRecordType.BlockOldSources, 'ff3e::4321', ['fd00:500::7']), record(MldRecordType.ChangeToExclude, 'ff05::1234')],
  },
  {
    name: 'a leave: CHANGE_TO_INCLUDE with no source',
    command: 'join-leave ff05::1234',
    src: HOST,
    dst: 'ff02::16',
    hex: '8f005fc30000000103000000ff050000000000000000000000001234',
    fields: [record(MldRecordType.ChangeToInclude, 'ff05::1234')],
  },
  {
    name: 'the answer to a General Query: MODE_IS_EXCLUDE',
    command: '(A answers the bridge)',
    src: HOST,
    dst: 'ff02::16',
    hex: '8f0073e70000000102000000ff0200000000000000000001ff000011',
    fields: [record(MldRecordType.ModeIsExclude, 'ff02::1:ff00:11')],
  },
];

const V1_MESSAGES: Golden[] = [
  { name: 'MLDv1 Report (compatibility mode)', command: 'join-leave ff05::1234 (MLDv1)', src: HOST, dst: 'ff05::1234', hex: '83005ca700000000ff050000000000000000000000001234', fields: 'ff05::1234' },
  { name: 'MLDv1 Report answering a query', command: '(A answers the bridge)', src: HOST, dst: 'ff02::1:ff00:11', hex: '830082ef00000000ff0200000000000000000001ff000011', fields: 'ff02::1:ff00:11' },
  { name: 'MLDv1 Done', command: 'join-leave ff05::1234 (MLDv1)', src: HOST, dst: 'ff02::2', hex: '84006ddc00000000ff050000000000000000000000001234', fields: 'ff05::1234' },
];

describe('golden MLD messages: every field, and rebuilt byte-exact', () => {
  it.each(QUERIES)('$name', (g) => {
    const query = ok(parseMldQuery(ok(icmpOf(g.hex, g.src, g.dst))));
    expect(plain(query)).toEqual(g.fields);
    expect(emitted(mldQueryToIcmp(query), g.src, g.dst)).toBe(g.hex);
  });

  it.each(REPORTS)('$name', (g) => {
    const records = ok(parseMldReport(ok(icmpOf(g.hex, g.src, g.dst))));
    expect(plain(records)).toEqual(g.fields);
    expect(emitted(mldReportToIcmp(records), g.src, g.dst)).toBe(g.hex);
  });

  it.each(V1_MESSAGES)('$name', (g) => {
    const icmp = ok(icmpOf(g.hex, g.src, g.dst));
    const group = ok(parseMldV1Group(icmp));
    expect(group.toString()).toBe(g.fields);
    expect(emitted(mldV1ToIcmp(icmp.type as 131 | 132, group), g.src, g.dst)).toBe(g.hex);
  });
});

describe('construction into a buffer of 0xa5', () => {
  function built(repr: Icmpv6Repr): string {
    const out = a5(repr.bufferLen() + 1);
    repr.emit(out, 0, ip(HOST), ip('ff02::16'));
    expect(out[out.length - 1]).toBe(0xa5);
    expect(ok(Icmpv6Packet.checked(out.subarray(0, -1))).checksumIsValid(ip(HOST), ip('ff02::16'))).toBe(true);
    return hex(out.subarray(0, 2)) + hex(out.subarray(4, -1));
  }

  it('an MLDv2 query: S flag, a robustness above 7 sent as 0, times in the float form, two sources', () => {
    const query: MldQuery = {
      version: 2, maxResponseDelayMs: 60000, group: ip('ff05::1'), suppressRouterProcessing: true, robustness: 9,
      queryIntervalS: 300, sources: [ip('2001:db8::1'), ip('2001:db8::2')],
    };
    expect(built(mldQueryToIcmp(query))).toBe(
      '8200' + '8d4c0000' + 'ff050000000000000000000000000001' + '08' + '92' + '0002' +
        '20010db8000000000000000000000001' + '20010db8000000000000000000000002',
    );
    // 300 s has no exact code: the nearest below is 288 s.
    expect(ok(parseMldQuery(mldQueryToIcmp(query)))).toEqual({ ...query, robustness: 0, queryIntervalS: 288 });
  });

  it('an MLDv1 query: 24 octets, the delay in plain milliseconds', () => {
    const query: MldQuery = { version: 1, maxResponseDelayMs: 65535, group: ip('ff05::1'), suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] };
    expect(built(mldQueryToIcmp(query))).toBe('8200' + 'ffff0000' + 'ff050000000000000000000000000001');
  });

  it('a report of two records, no auxiliary data', () => {
    const repr = mldReportToIcmp([
      { type: MldRecordType.ModeIsInclude, group: ip('ff3e::1'), sources: [ip('2001:db8::7')] },
      { type: MldRecordType.ChangeToExclude, group: ip('ff02::1:ff00:1'), sources: [] },
    ]);
    expect(built(repr)).toBe(
      '8f00' + '00000002' + '01000001' + 'ff3e0000000000000000000000000001' + '20010db8000000000000000000000007' +
        '04000000' + 'ff0200000000000000000001ff000001',
    );
  });

  it('MLDv1 Report and Done', () => {
    expect(built(mldV1ToIcmp(Icmpv6Type.MldV1Report, ip('ff05::2')))).toBe('8300' + '00000000' + 'ff050000000000000000000000000002');
    expect(built(mldV1ToIcmp(Icmpv6Type.MldV1Done, ip('ff05::2')))).toBe('8400' + '00000000' + 'ff050000000000000000000000000002');
  });
});

describe('Maximum Response Code (RFC 3810 §5.1.3) and QQIC (§5.1.9)', () => {
  it.each([
    [0, 0],
    [1, 1],
    [10000, 10000],
    [0x7fff, 32767],
    [0x8000, 32768], // exp 0, mant 0: 0x1000 << 3, the first value of the float form
    [0x8001, 32776],
    [0x8d4c, 60000],
    [0x8fff, 65528],
    [0x9000, 65536],
    [0xea60, 3457024],
    [0xffff, 8387584], // mant 0xfff, exp 7: 0x1fff << 10, the largest
  ])('Max Resp Code %i → %i ms, and back', (code, ms) => {
    expect(decodeMaxRespCode(code)).toBe(ms);
    expect(encodeMaxRespCode(ms)).toBe(code);
  });

  it.each([
    [0, 0],
    [125, 125],
    [127, 127],
    [0x80, 128],
    [0x8f, 248],
    [0x90, 256],
    [0x92, 288],
    [0xff, 31744],
  ])('QQIC %i → %i s, and back', (code, seconds) => {
    expect(decodeQqic(code)).toBe(seconds);
    expect(encodeQqic(seconds)).toBe(code);
  });

  it('every code decodes to a value that encodes back to it', () => {
    for (let code = 0; code <= 0xffff; code++) if (encodeMaxRespCode(decodeMaxRespCode(code)) !== code) expect.fail(`Max Resp Code ${code}`);
    for (let code = 0; code <= 0xff; code++) expect(encodeQqic(decodeQqic(code))).toBe(code);
  });

  it.each([
    ['Max Resp Code', encodeMaxRespCode, decodeMaxRespCode, [32769, 60001, 100000, 3457025, 8387583]],
    ['QQIC', encodeQqic, decodeQqic, [129, 300, 1000, 31743]],
  ] as const)('%s: a value between codes rounds down to the nearest one', (_name, encode, decode, values) => {
    for (const v of values) {
      const below = decode(encode(v));
      expect(below).toBeLessThanOrEqual(v);
      expect(decode(encode(v) + 1)).toBeGreaterThan(v);
    }
  });

  it('values past the largest code clamp to it; fractions and negatives round down to the range', () => {
    expect([encodeMaxRespCode(1e9), encodeQqic(1e6), encodeMaxRespCode(999.9), encodeQqic(-5)]).toEqual([0xffff, 0xff, 999, 0]);
  });
});

describe('malformed MLD messages are dropped with a reason', () => {
  const icmp = (type: number, restOfHeader: number, payloadHex: string) => new Icmpv6Repr({ type, code: 0, restOfHeader, payload: fromHex(payloadHex) });
  const group = 'ff050000000000000000000000001234';

  it.each([
    ['an NS is no query', 'not-mld-query', icmp(135, 0, ZERO16)],
    ['a query of 23 octets', 'truncated', icmp(130, 0, ZERO16.slice(2))],
    ['a query of 25 octets', 'bad-length', icmp(130, 0, ZERO16 + '02')],
    ['a query of 27 octets', 'bad-length', icmp(130, 0, ZERO16 + '027d00')],
    ['an MLDv2 query announcing a source it does not hold', 'bad-source-count', icmp(130, 0, group + '027d0001')],
    ['an MLDv2 query announcing 2 sources, holding 1', 'bad-source-count', icmp(130, 0, group + '027d0002' + ZERO16)],
    ['an MLDv2 query announcing 65535 sources', 'bad-source-count', icmp(130, 0, group + '027dffff' + ZERO16)],
  ])('%s → %s', (_name, reason, repr) => {
    expect(parseMldQuery(repr)).toBe(reason);
  });

  it.each([
    ['an MLDv1 report is no v2 report', 'not-mld-report', icmp(131, 1, '04000000' + group)],
    ['one record announced, none held', 'bad-record-count', icmp(143, 1, '')],
    ['a record header cut short', 'bad-record-count', icmp(143, 1, '04000000' + group.slice(2))],
    ['2 records announced, 1 held', 'bad-record-count', icmp(143, 2, '04000000' + group)],
    // The malformed report of PyTCP's screenshots: a record count far past what the packet holds.
    ['65535 records announced, 1 held', 'bad-record-count', icmp(143, 0xffff, '04000000' + group)],
    ['a record announcing a source it does not hold', 'bad-record-count', icmp(143, 1, '04000001' + group)],
    ['a record announcing 65535 sources', 'bad-record-count', icmp(143, 1, '0400ffff' + group + ZERO16)],
    ['a record announcing aux data it does not hold', 'bad-record-count', icmp(143, 1, '04010000' + group + '000000')],
    ['a sound record, then a cut one', 'bad-record-count', icmp(143, 2, '04000000' + group + '0400')],
  ])('%s → %s', (_name, reason, repr) => {
    expect(parseMldReport(repr)).toBe(reason);
  });

  it.each([
    ['a query is no v1 report', 'not-mld-v1', icmp(130, 0, group)],
    ['a Done of 23 octets', 'truncated', icmp(132, 0, group.slice(2))],
  ])('%s → %s', (_name, reason, repr) => {
    expect(parseMldV1Group(repr)).toBe(reason);
  });

  it('a golden report with a bit flipped fails its checksum', () => {
    const g = REPORTS[2];
    const bytes = fromHex(g.hex);
    bytes[30] ^= 0x80;
    expect(icmpOf(hex(bytes), g.src, g.dst)).toBe('bad-checksum');
  });

  it('what the formats allow and the parser must skip: octets after the sources, auxiliary data', () => {
    const query = ok(parseMldQuery(icmp(130, 0x03e8_0000, group + '027d0000' + 'abcdef')));
    expect(plain(query)).toEqual({ ...v2, maxResponseDelayMs: 1000, group: 'ff05::1234', sources: [] });
    const records = ok(parseMldReport(icmp(143, 2, '04010000' + group + 'aabbccdd' + '03000000' + group + 'ee')));
    expect(plain(records)).toEqual([record(4, 'ff05::1234'), record(3, 'ff05::1234')]);
  });
});

describe('robustness: nothing throws, whatever the bytes', () => {
  const RUNS = 10_000;
  const goldens = [...QUERIES, ...REPORTS, ...V1_MESSAGES];

  /** Every MLD parse; what one accepts survives a rebuild unchanged. */
  function exercise(bytes: Uint8Array): number {
    const icmp = icmpOf(hex(bytes), HOST, 'ff02::16', false);
    if (isDrop(icmp)) return 0;
    let accepted = 0;
    const query = parseMldQuery(icmp);
    if (!isDrop(query)) {
      accepted++;
      expect(parseMldQuery(mldQueryToIcmp(query))).toEqual(query);
    }
    const records = parseMldReport(icmp);
    if (!isDrop(records)) {
      accepted++;
      expect(parseMldReport(mldReportToIcmp(records))).toEqual(records);
    }
    const v1Group = parseMldV1Group(icmp);
    if (!isDrop(v1Group)) {
      accepted++;
      expect(parseMldV1Group(mldV1ToIcmp(icmp.type as 131 | 132, v1Group))).toEqual(v1Group);
    }
    return accepted;
  }

  function run(name: string, make: (random: SeededRandom, i: number) => Uint8Array): number {
    const random = new SeededRandom(name.length * 104729);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const bytes = make(random, i);
      try {
        accepted += exercise(bytes);
      } catch (err) {
        throw new Error(`${name} run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
    return accepted;
  }

  it(`${RUNS} random messages of 0..120 bytes, most of an MLD type with small counts`, () => {
    const accepted = run('random', (random) => {
      const b = new Uint8Array(uniformInt(random, 0, 120));
      for (let i = 0; i < b.length; i++) b[i] = random.u32() & 0xff;
      if (b.length < 8 || random.u32() % 8 === 0) return b;
      b[0] = [130, 131, 132, 143][uniformInt(random, 0, 3)];
      if (b[0] === 143) {
        b[6] = 0;
        b[7] = uniformInt(random, 0, 3);
        // Records with small source and aux counts, which fit the message now and then.
        for (let at = 8; at + 4 <= b.length; at += 20 + 16 * b[at + 3] + 4 * b[at + 1]) {
          b[at + 1] = uniformInt(random, 0, 1);
          b[at + 2] = 0;
          b[at + 3] = uniformInt(random, 0, 2);
        }
      } else if (b.length >= 28) {
        b[26] = 0;
        b[27] = uniformInt(random, 0, 3);
      }
      return b;
    });
    expect(accepted).toBeGreaterThan(RUNS / 10);
  });

  it(`${RUNS} golden messages with 1 to 4 bits flipped`, () => {
    const accepted = run('bit-flipped', (random, i) => {
      const b = fromHex(goldens[i % goldens.length].hex);
      const flips = uniformInt(random, 1, 4);
      for (let f = 0; f < flips; f++) b[uniformInt(random, 0, b.length - 1)] ^= 1 << uniformInt(random, 0, 7);
      return b;
    });
    expect(accepted).toBeGreaterThan(RUNS / 4);
  });
});
