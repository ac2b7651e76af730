import type { DropReason } from './drop';

/**
 * The record of a membership report, one layout for both address families: the Group Record
 * of an IGMPv3 Report (RFC 3376 §4.2.4) and the Multicast Address Record of an MLDv2 Report
 * (RFC 3810 §5.2.4). Record Type, Aux Data Len (in 32-bit words), Number of Sources (16
 * bits), the group, the sources, then auxiliary data, which a receiver ignores (§4.2.6,
 * §5.2.10) and this stack never sends.
 */
export interface GroupRecord<A> {
  type: number;
  group: A;
  sources: A[];
}

/** Record Types (§4.2.12, §5.2.12: the same values in both). */
export const GroupRecordType = {
  ModeIsInclude: 1,
  ModeIsExclude: 2,
  ChangeToInclude: 3,
  ChangeToExclude: 4,
  AllowNewSources: 5,
  BlockOldSources: 6,
} as const;

/** An address type as records hold it: its length and how to read one. */
export interface RecordAddress<A> {
  readonly len: number;
  read(buf: Uint8Array, offset: number): A;
}

/** Record Type, Aux Data Len and Number of Sources, before the group. */
const FIXED_LEN = 4;

/** Bytes of a record with `sourceCount` sources of `addressLen` bytes and no auxiliary data. */
export function groupRecordLen(sourceCount: number, addressLen: number): number {
  return FIXED_LEN + addressLen * (1 + sourceCount);
}

/**
 * Reads `count` records from `buf` at `at` to its end. A record or a source list that runs
 * past the end is 'bad-record-count': each count is checked against what is left before
 * anything is read. Bytes after the last record are ignored.
 */
export function readGroupRecords<A>(buf: Uint8Array, at: number, count: number, address: RecordAddress<A>): GroupRecord<A>[] | DropReason {
  const headerLen = FIXED_LEN + address.len;
  const records: GroupRecord<A>[] = [];
  for (let r = 0; r < count; r++) {
    if (buf.length - at < headerLen) return 'bad-record-count';
    const sourceCount = (buf[at + 2] << 8) | buf[at + 3];
    const end = at + headerLen + address.len * sourceCount + 4 * buf[at + 1];
    if (end > buf.length) return 'bad-record-count';
    const sources: A[] = [];
    for (let i = 0; i < sourceCount; i++) sources.push(address.read(buf, at + headerLen + address.len * i));
    records.push({ type: buf[at], group: address.read(buf, at + FIXED_LEN), sources });
    at = end;
  }
  return records;
}

/**
 * Writes `records` at `at` (the sum of their `groupRecordLen`), Aux Data Len 0, into bytes
 * the caller has zeroed; returns the offset after them.
 */
export function writeGroupRecords<A extends { writeTo(buf: Uint8Array, offset: number): void }>(
  records: GroupRecord<A>[],
  addressLen: number,
  buf: Uint8Array,
  at: number,
): number {
  for (const r of records) {
    buf[at] = r.type;
    buf[at + 2] = r.sources.length >> 8;
    buf[at + 3] = r.sources.length & 0xff;
    r.group.writeTo(buf, at + FIXED_LEN);
    r.sources.forEach((s, i) => s.writeTo(buf, at + FIXED_LEN + addressLen * (1 + i)));
    at += groupRecordLen(r.sources.length, addressLen);
  }
  return at;
}
