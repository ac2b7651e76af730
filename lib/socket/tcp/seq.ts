/**
 * Sequence number arithmetic (RFC 9293 §3.4): sequence numbers live in a 32-bit space
 * that wraps, so "before" and "after" are serial-number comparisons (RFC 1982 §3.2),
 * valid for numbers less than 2^31 apart. Every value is a plain number in 0..2^32-1;
 * every result that is a sequence number is brought back into that range with `>>> 0`.
 * Use these wherever a sequence number is compared: `a < b` is wrong across the wrap.
 */

/** a + n modulo 2^32; n may be negative. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * The signed distance from b to a (a - b), in -2^31..2^31-1. Two numbers exactly 2^31
 * apart have no defined order (RFC 1982 §3.2); like Linux's `before()`, this calls the
 * distance -2^31 both ways.
 */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return seqSub(a, b) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return seqSub(a, b) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return seqSub(a, b) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return seqSub(a, b) >= 0;
}

/**
 * start <= x < start + len, modulo 2^32 (RFC 9293 §3.4's window tests): x's offset from
 * start, taken unsigned, is below len. A window of 0 holds nothing; len is at most 2^32.
 */
export function seqInWindow(x: number, start: number, len: number): boolean {
  return ((x - start) >>> 0) < len;
}

/** The later of a and b. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/** The earlier of a and b. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
