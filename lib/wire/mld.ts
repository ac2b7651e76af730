import { Ipv6Address } from './address';
import type { DropReason } from './drop';
import { decodeFloatCode, encodeFloatCode } from './float-code';
import { groupRecordLen, readGroupRecords, writeGroupRecords, GroupRecordType, type GroupRecord, type RecordAddress } from './group-record';
import { Icmpv6Repr, Icmpv6Type } from './icmpv6';

/**
 * Multicast Listener Discovery messages read from and written to an `Icmpv6Repr`: the
 * Query of MLDv2 (RFC 3810 §5.1) and of MLDv1 (RFC 2710 §3), told apart by length (RFC 3810
 * §8.1), the Version 2 Report (RFC 3810 §5.2), and the MLDv1 Report and Done a host sends
 * in compatibility mode (RFC 3810 §8.2.1). The code field is ignored on receipt (§5.1, §5.2).
 */

export interface MldQuery {
  version: 1 | 2;
  /** MLDv1: Maximum Response Delay; MLDv2: the decoded Maximum Response Code (§5.1.3). */
  maxResponseDelayMs: number;
  /** The unspecified address (::) for a General Query (§5.1.5). */
  group: Ipv6Address;
  suppressRouterProcessing: boolean;
  /** QRV (§5.1.8); 0 when the querier's value exceeds 7 and for MLDv1, which carries none. */
  robustness: number;
  /** The decoded QQIC (§5.1.9); 0 for MLDv1, which carries none. */
  queryIntervalS: number;
  sources: Ipv6Address[];
}

/** Multicast Address Record Types (§5.2.12). */
export const MldRecordType = GroupRecordType;

/** A Multicast Address Record (§5.2.4); its auxiliary data is dropped (§5.2.10: ignored). */
export type MldRecord = GroupRecord<Ipv6Address>;

const V1_LEN = 24;
const V2_QUERY_MIN_LEN = 28;
const QUERY_FIXED = 20;
const IPV6: RecordAddress<Ipv6Address> = { len: 16, read: (buf, at) => Ipv6Address.fromBytes(buf, at) };
const S_FLAG = 0x08;
const QRV_MASK = 0x07;

/** RFC 3810 §5.1.3: a code below 32768 is milliseconds, else a 3-bit exponent and 12-bit mantissa. */
export function decodeMaxRespCode(code: number): number {
  return decodeFloatCode(code, 12);
}

/** The code for `ms`, rounded down to a value the code can express; 0xffff above 8387584 ms. */
export function encodeMaxRespCode(ms: number): number {
  return encodeFloatCode(ms, 12);
}

/** RFC 3810 §5.1.9: a QQIC below 128 is seconds, else a 3-bit exponent and 4-bit mantissa. */
export function decodeQqic(code: number): number {
  return decodeFloatCode(code, 4);
}

/** The QQIC for `seconds`, rounded down to a value it can express; 0xff above 31744 s. */
export function encodeQqic(seconds: number): number {
  return encodeFloatCode(seconds, 4);
}

/**
 * RFC 3810 §8.1: a Query of 24 octets is MLDv1, of 28 or more MLDv2; other lengths are
 * ignored ('truncated' below 24, 'bad-length' for 25-27). Octets past the source list are
 * ignored (§5.1.12); sources the packet does not hold are 'bad-source-count'.
 */
export function parseMldQuery(icmp: Icmpv6Repr): MldQuery | DropReason {
  if (icmp.type !== Icmpv6Type.MldQuery) return 'not-mld-query';
  const len = icmp.bufferLen();
  const body = icmp.payload;
  const code = icmp.restOfHeader >>> 16;
  if (len < V1_LEN) return 'truncated';
  const group = Ipv6Address.fromBytes(body, 0);
  if (len === V1_LEN) {
    return { version: 1, maxResponseDelayMs: code, group, suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] };
  }
  if (len < V2_QUERY_MIN_LEN) return 'bad-length';
  const count = (body[18] << 8) | body[19];
  if (QUERY_FIXED + 16 * count > body.length) return 'bad-source-count';
  const sources: Ipv6Address[] = [];
  for (let i = 0; i < count; i++) sources.push(Ipv6Address.fromBytes(body, QUERY_FIXED + 16 * i));
  return {
    version: 2,
    maxResponseDelayMs: decodeMaxRespCode(code),
    group,
    suppressRouterProcessing: (body[16] & S_FLAG) !== 0,
    robustness: body[16] & QRV_MASK,
    queryIntervalS: decodeQqic(body[17]),
    sources,
  };
}

/** A Query: MLDv1 (24 octets) or MLDv2, its times encoded as §5.1.3 and §5.1.9 say. */
export function mldQueryToIcmp(q: MldQuery): Icmpv6Repr {
  if (q.version === 1) {
    const payload = new Uint8Array(V1_LEN - 8);
    q.group.writeTo(payload, 0);
    const delay = Math.min(0xffff, Math.max(0, Math.floor(q.maxResponseDelayMs)));
    return new Icmpv6Repr({ type: Icmpv6Type.MldQuery, code: 0, restOfHeader: delay * 0x10000, payload });
  }
  const payload = new Uint8Array(QUERY_FIXED + 16 * q.sources.length);
  q.group.writeTo(payload, 0);
  // §5.1.8: a robustness above 7 is sent as 0.
  const qrv = q.robustness > QRV_MASK ? 0 : q.robustness;
  payload[16] = (q.suppressRouterProcessing ? S_FLAG : 0) | qrv;
  payload[17] = encodeQqic(q.queryIntervalS);
  payload[18] = q.sources.length >> 8;
  payload[19] = q.sources.length & 0xff;
  q.sources.forEach((s, i) => s.writeTo(payload, QUERY_FIXED + 16 * i));
  const restOfHeader = encodeMaxRespCode(q.maxResponseDelayMs) * 0x10000;
  return new Icmpv6Repr({ type: Icmpv6Type.MldQuery, code: 0, restOfHeader, payload });
}

/**
 * RFC 3810 §5.2: 2 reserved octets, the number of records, then each record: type, aux data
 * length (in 32-bit words), number of sources, group, sources, aux data. A record or a
 * source list that runs past the message is 'bad-record-count': the count is checked
 * against what is left before anything is read.
 */
export function parseMldReport(icmp: Icmpv6Repr): MldRecord[] | DropReason {
  if (icmp.type !== Icmpv6Type.MldV2Report) return 'not-mld-report';
  return readGroupRecords(icmp.payload, 0, icmp.restOfHeader & 0xffff, IPV6);
}

/**
 * A Version 2 Report (type 143) with these records, no auxiliary data. Fitting the
 * records into the link MTU (§5.2.15: split across several reports) is the caller's.
 */
export function mldReportToIcmp(records: MldRecord[]): Icmpv6Repr {
  let len = 0;
  for (const r of records) len += groupRecordLen(r.sources.length, IPV6.len);
  const payload = new Uint8Array(len);
  writeGroupRecords(records, IPV6.len, payload, 0);
  return new Icmpv6Repr({ type: Icmpv6Type.MldV2Report, code: 0, restOfHeader: records.length & 0xffff, payload });
}

/** The group of an MLDv1 Report or Done (RFC 2710 §3: 24 octets, the group at 8). */
export function parseMldV1Group(icmp: Icmpv6Repr): Ipv6Address | DropReason {
  if (icmp.type !== Icmpv6Type.MldV1Report && icmp.type !== Icmpv6Type.MldV1Done) return 'not-mld-v1';
  if (icmp.bufferLen() < V1_LEN) return 'truncated';
  return Ipv6Address.fromBytes(icmp.payload, 0);
}

/** An MLDv1 Report (131) or Done (132) for `group`, sent in MLDv1 compatibility mode. */
export function mldV1ToIcmp(type: typeof Icmpv6Type.MldV1Report | typeof Icmpv6Type.MldV1Done, group: Ipv6Address): Icmpv6Repr {
  const payload = new Uint8Array(V1_LEN - 8);
  group.writeTo(payload, 0);
  return new Icmpv6Repr({ type, code: 0, restOfHeader: 0, payload });
}
