/**
 * Sequence number arithmetic (RFC 9293 §3.4, RFC 1982): sums wrap at 2^32, comparisons
 * hold across the wrap, windows may straddle it.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/random';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../../lib/socket/tcp/seq';

const MAX = 0xffffffff;

describe('seqAdd and seqSub', () => {
  it.each([
    [0, 1, 1],
    [MAX, 1, 0],
    [MAX, 2, 1],
    [MAX - 9, 20, 10],
    [0, -1, MAX],
    [5, -10, MAX - 4],
    [0x80000000, 0x80000000, 0],
    [1234, 0, 1234],
  ])('seqAdd(%i, %i) = %i', (a, n, sum) => {
    expect(seqAdd(a, n)).toBe(sum);
  });

  it.each([
    [1, 0, 1],
    [0, MAX, 1],
    [MAX, 0, -1],
    [10, MAX - 9, 20],
    [MAX - 9, 10, -20],
    [0x7fffffff, 0, 0x7fffffff],
    [0, 0x7fffffff, -0x7fffffff],
    [7, 7, 0],
  ])('seqSub(%i, %i) = %i', (a, b, distance) => {
    expect(seqSub(a, b)).toBe(distance);
  });

  it('2^31 apart has no order (RFC 1982 §3.2): the distance is -2^31 both ways, as Linux has it', () => {
    expect(seqSub(0x80000000, 0)).toBe(-0x80000000);
    expect(seqSub(0, 0x80000000)).toBe(-0x80000000);
    expect(seqLt(0, 0x80000000) && seqLt(0x80000000, 0)).toBe(true);
  });

  it('seqAdd undoes seqSub for 10,000 seeded pairs, and results stay in 0..2^32-1', () => {
    const random = new SeededRandom(1982);
    for (let n = 0; n < 10_000; n++) {
      const a = random.u32();
      const b = random.u32();
      const d = seqSub(a, b);
      expect(d).toBeGreaterThanOrEqual(-(2 ** 31));
      expect(d).toBeLessThan(2 ** 31);
      expect(seqAdd(b, d)).toBe(a);
      const sum = seqAdd(a, b);
      expect(Number.isInteger(sum) && sum >= 0 && sum <= MAX).toBe(true);
    }
  });
});

describe('comparisons across the wrap', () => {
  it.each([
    ['0xffffffff is before 0', MAX, 0],
    ['0xfffffff0 is before 0x10', 0xfffffff0, 0x10],
    ['1 is before 2', 1, 2],
    ['0 is before 2^31 - 1', 0, 0x7fffffff],
    ['0x80000000 is before 0xffffffff', 0x80000000, MAX],
  ])('%s', (_name, before, after) => {
    expect([seqLt(before, after), seqLe(before, after), seqGt(before, after), seqGe(before, after)]).toEqual([true, true, false, false]);
    expect([seqLt(after, before), seqLe(after, before), seqGt(after, before), seqGe(after, before)]).toEqual([false, false, true, true]);
    expect([seqMax(before, after), seqMax(after, before)]).toEqual([after, after]);
    expect([seqMin(before, after), seqMin(after, before)]).toEqual([before, before]);
  });

  it.each([0, 1, 0x7fffffff, 0x80000000, MAX])('%i equals itself: Le and Ge, not Lt or Gt', (x) => {
    expect([seqLt(x, x), seqLe(x, x), seqGt(x, x), seqGe(x, x), seqMax(x, x), seqMin(x, x)]).toEqual([false, true, false, true, x, x]);
  });
});

describe('seqInWindow: start <= x < start + len, modulo 2^32', () => {
  it.each([
    ['the left edge', 100, 100, 10, true],
    ['the last sequence number', 109, 100, 10, true],
    ['the right edge is outside', 110, 100, 10, false],
    ['before the window', 99, 100, 10, false],
    ['a window straddling the wrap, before it', MAX, MAX - 4, 10, true],
    ['a window straddling the wrap, after it', 4, MAX - 4, 10, true],
    ['a window straddling the wrap, its right edge', 5, MAX - 4, 10, false],
    ['a window straddling the wrap, just before its start', MAX - 5, MAX - 4, 10, false],
    ['a window ending at the wrap, its last number', MAX, MAX, 1, true],
    ['a window ending at the wrap, 0 is past it', 0, MAX, 1, false],
    ['a zero window holds nothing, not even its start', 100, 100, 0, false],
    ['a window of 2^32 holds everything', 12345, 100, 2 ** 32, true],
    ['a window of 2^31 from 0 holds 2^31 - 1', 0x7fffffff, 0, 2 ** 31, true],
    ['a window of 2^31 from 0 does not hold 2^31', 0x80000000, 0, 2 ** 31, false],
  ])('%s', (_name, x, start, len, inside) => {
    expect(seqInWindow(x, start, len)).toBe(inside);
  });
});
