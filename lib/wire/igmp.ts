import { Ipv4Address } from './address';
import { checksumIsValid, internetChecksum } from './checksum';
import { isDrop, type DropReason } from './drop';
import { decodeFloatCode, encodeFloatCode } from './float-code';
import { groupRecordLen, readGroupRecords, writeGroupRecords, GroupRecordType, type GroupRecord, type RecordAddress } from './group-record';

/**
 * IGMP messages (RFC 3376 §4, RFC 2236 §2, RFC 1112 Appendix I), read from and written to
 * the payload of an IPv4 packet: the Membership Query of all three versions, told apart by
 * length and Max Resp Code (RFC 3376 §7.1), the Version 3 Membership Report (§4.2), and the
 * version 1 and 2 Reports and the version 2 Leave that a host sends in compatibility mode
 * (§7.2.1). Every message carries a checksum over the whole message (§4.1.2, §4.2.2).
 */

export const IgmpType = {
  Query: 0x11,
  V1Report: 0x12,
  V2Report: 0x16,
  V2Leave: 0x17,
  V3Report: 0x22,
} as const;

export interface IgmpQuery {
  /** RFC 3376 §7.1: by length and Max Resp Code. */
  version: 1 | 2 | 3;
  /**
   * The Max Resp Time in milliseconds: for version 3 the decoded Max Resp Code (§4.1.1), for
   * version 2 the code itself (tenths of a second, RFC 2236 §2.2), for version 1 the 10 s an
   * IGMPv1 querier implies (RFC 2236 §4).
   */
  maxResponseTimeMs: number;
  /** 0.0.0.0 for a General Query (§4.1.3). */
  group: Ipv4Address;
  suppressRouterProcessing: boolean;
  /** QRV (§4.1.6); 0 when the querier's value exceeds 7, and for versions 1 and 2, which carry none. */
  robustness: number;
  /** The decoded QQIC in seconds (§4.1.7); 0 for versions 1 and 2. */
  queryIntervalS: number;
  sources: Ipv4Address[];
}

/** Group Record Types (§4.2.12). */
export const IgmpRecordType = GroupRecordType;

/** A Group Record (§4.2.4); auxiliary data is skipped on receipt (§4.2.6: ignored) and never sent. */
export type IgmpRecord = GroupRecord<Ipv4Address>;

export type IgmpMessage =
  | ({ type: 'query' } & IgmpQuery)
  | { type: 'v1-report' | 'v2-report' | 'v2-leave'; group: Ipv4Address }
  | { type: 'v3-report'; records: IgmpRecord[] };

/** RFC 2113 §2.1: the IP Router Alert option (type 148, length 4, value 0: "examine packet"), which every IGMP message carries (RFC 3376 §4). */
export const ROUTER_ALERT_OPTION: Uint8Array = Uint8Array.of(0x94, 0x04, 0x00, 0x00);

/** Version 1 and 2 messages, and the part of every message before its variable fields. */
const BASE_LEN = 8;
const V3_QUERY_MIN_LEN = 12;
const IPV4: RecordAddress<Ipv4Address> = { len: 4, read: (buf, at) => Ipv4Address.fromBytes(buf, at) };
const S_FLAG = 0x08;
const QRV_MASK = 0x07;
/** RFC 2236 §4: an IGMPv1 Query carries no Max Resp Time; 10 s is meant. */
const V1_MAX_RESPONSE_MS = 10_000;

/**
 * RFC 3376 §4.1.1 and §4.1.7: a code below 128 is the value itself, else a 3-bit exponent and
 * a 4-bit mantissa, (mant | 0x10) << (exp + 3). In tenths of a second for the Max Resp Code,
 * in seconds for the QQIC.
 */
export function decodeIgmpCode(code: number): number {
  return decodeFloatCode(code, 4);
}

/** The code for `value`, rounded down to a value the code can express; 0xff above 31744. */
export function encodeIgmpCode(value: number): number {
  return encodeFloatCode(value, 4);
}

/**
 * Reads one IGMP message, the whole IPv4 payload, checksum verified. Unknown types are
 * 'unknown-type' (RFC 3376 §4: silently ignored); a Query of 9 to 11 octets is 'bad-length'
 * (§7.1); octets past a Query's source list are ignored (§4.1.10), as are a Report's past
 * its records; a count that runs past the message is 'bad-source-count' or 'bad-record-count'.
 */
export function parseIgmp(buf: Uint8Array, opts?: { verifyChecksum?: boolean }): IgmpMessage | DropReason {
  if (buf.length < BASE_LEN) return 'truncated';
  if ((opts?.verifyChecksum ?? true) && !checksumIsValid(buf, 0, buf.length)) return 'bad-checksum';
  switch (buf[0]) {
    case IgmpType.Query:
      return parseQuery(buf);
    case IgmpType.V1Report:
      return { type: 'v1-report', group: Ipv4Address.fromBytes(buf, 4) };
    case IgmpType.V2Report:
      return { type: 'v2-report', group: Ipv4Address.fromBytes(buf, 4) };
    case IgmpType.V2Leave:
      return { type: 'v2-leave', group: Ipv4Address.fromBytes(buf, 4) };
    case IgmpType.V3Report:
      return parseV3Report(buf);
    default:
      return 'unknown-type';
  }
}

function parseQuery(buf: Uint8Array): IgmpMessage | DropReason {
  const code = buf[1];
  const group = Ipv4Address.fromBytes(buf, 4);
  if (buf.length === BASE_LEN) {
    // §7.1: 8 octets with a zero Max Resp Code is version 1, non-zero version 2.
    const version = code === 0 ? 1 : 2;
    const maxResponseTimeMs = version === 1 ? V1_MAX_RESPONSE_MS : code * 100;
    return { type: 'query', version, maxResponseTimeMs, group, suppressRouterProcessing: false, robustness: 0, queryIntervalS: 0, sources: [] };
  }
  if (buf.length < V3_QUERY_MIN_LEN) return 'bad-length';
  const count = (buf[10] << 8) | buf[11];
  if (V3_QUERY_MIN_LEN + 4 * count > buf.length) return 'bad-source-count';
  const sources: Ipv4Address[] = [];
  for (let i = 0; i < count; i++) sources.push(Ipv4Address.fromBytes(buf, V3_QUERY_MIN_LEN + 4 * i));
  return {
    type: 'query',
    version: 3,
    maxResponseTimeMs: decodeIgmpCode(code) * 100,
    group,
    suppressRouterProcessing: (buf[8] & S_FLAG) !== 0,
    robustness: buf[8] & QRV_MASK,
    queryIntervalS: decodeIgmpCode(buf[9]),
    sources,
  };
}

/** §4.2: type, reserved, checksum, reserved, the number of records; each record checked against what is left before it is read. */
function parseV3Report(buf: Uint8Array): IgmpMessage | DropReason {
  const records = readGroupRecords(buf, BASE_LEN, (buf[6] << 8) | buf[7], IPV4);
  return isDrop(records) ? records : { type: 'v3-report', records };
}

/** The length of `msg` on the wire. */
export function igmpLen(msg: IgmpMessage): number {
  switch (msg.type) {
    case 'query':
      return msg.version === 3 ? V3_QUERY_MIN_LEN + 4 * msg.sources.length : BASE_LEN;
    case 'v3-report': {
      let len = BASE_LEN;
      for (const r of msg.records) len += groupRecordLen(r.sources.length, IPV4.len);
      return len;
    }
    default:
      return BASE_LEN;
  }
}

/**
 * Writes `msg` at `offset` (`igmpLen(msg)` bytes), checksum included. Reserved fields are
 * zero (§4.1.5, §4.2.1); times are encoded as their version says, rounded down. Fitting the
 * records of a Report into the link MTU (§4.2.16) is the caller's.
 */
export function emitIgmp(msg: IgmpMessage, buf: Uint8Array, offset = 0): void {
  const len = igmpLen(msg);
  buf.fill(0, offset, offset + len);
  switch (msg.type) {
    case 'query':
      buf[offset] = IgmpType.Query;
      msg.group.writeTo(buf, offset + 4);
      if (msg.version === 1) break;
      if (msg.version === 2) {
        buf[offset + 1] = Math.min(0xff, Math.max(1, Math.floor(msg.maxResponseTimeMs / 100)));
        break;
      }
      buf[offset + 1] = encodeIgmpCode(msg.maxResponseTimeMs / 100);
      // §4.1.6: a robustness above 7 is sent as 0.
      buf[offset + 8] = (msg.suppressRouterProcessing ? S_FLAG : 0) | (msg.robustness > QRV_MASK ? 0 : msg.robustness);
      buf[offset + 9] = encodeIgmpCode(msg.queryIntervalS);
      buf[offset + 10] = msg.sources.length >> 8;
      buf[offset + 11] = msg.sources.length & 0xff;
      msg.sources.forEach((s, i) => s.writeTo(buf, offset + V3_QUERY_MIN_LEN + 4 * i));
      break;
    case 'v3-report': {
      buf[offset] = IgmpType.V3Report;
      buf[offset + 6] = msg.records.length >> 8;
      buf[offset + 7] = msg.records.length & 0xff;
      writeGroupRecords(msg.records, IPV4.len, buf, offset + BASE_LEN);
      break;
    }
    default:
      buf[offset] = msg.type === 'v1-report' ? IgmpType.V1Report : msg.type === 'v2-report' ? IgmpType.V2Report : IgmpType.V2Leave;
      msg.group.writeTo(buf, offset + 4);
  }
  const checksum = internetChecksum(buf, offset, offset + len);
  buf[offset + 2] = checksum >> 8;
  buf[offset + 3] = checksum & 0xff;
}
