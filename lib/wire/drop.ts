/**
 * Why a received packet was dropped: a short kebab-case word ('truncated',
 * 'bad-checksum', ...) that is also the name of the counter it increments.
 *
 * Parsers return a reason instead of throwing, so malformed input is ordinary input:
 * `const repr = Ipv4Repr.parse(pkt); if (isDrop(repr)) { count(repr); return; }`.
 */
export type DropReason = string;

export function isDrop(x: unknown): x is DropReason {
  return typeof x === 'string';
}
