/**
 * The connection's storage on its own: the send ring, the receive ring with out-of-order runs
 * and SACK blocks (RFC 2018 §4), and the in-flight scoreboard (Karn's rule, RFC 6675 marks).
 */
import { describe, expect, it } from 'vitest';
import { Flight } from '../../../lib/socket/tcp/flight';
import { MAX_OUT_OF_ORDER_BLOCKS, RecvBuffer } from '../../../lib/socket/tcp/recv-buffer';
import { SendBuffer } from '../../../lib/socket/tcp/send-buffer';
import { bytes } from './helpers';

describe('SendBuffer', () => {
  it('takes writes up to its limit and copies any range out, across the ring', () => {
    const b = new SendBuffer(40_000);
    const data = bytes(40_000);
    expect(b.write(data.subarray(0, 30_000))).toBe(30_000);
    expect(b.write(data.subarray(30_000))).toBe(10_000);
    expect(b.write(data)).toBe(0);
    b.consume(25_000);
    expect(b.free).toBe(25_000);
    // The next write wraps around the end of the ring.
    const more = bytes(20_000, 5);
    expect(b.write(more)).toBe(20_000);
    const out = new Uint8Array(35_000).fill(0xa5);
    b.copyOut(0, 35_000, out, 0);
    expect(out.subarray(0, 15_000)).toEqual(data.subarray(25_000));
    expect(out.subarray(15_000)).toEqual(more);
  });

  it('a smaller limit keeps what is held and refuses writes until below it', () => {
    const b = new SendBuffer(1000);
    b.write(bytes(800));
    b.setLimit(500);
    expect(b.free).toBe(0);
    expect(b.write(bytes(1))).toBe(0);
    b.consume(400);
    expect(b.write(bytes(200))).toBe(100);
  });

  it('refuses to copy past what it holds (a caller bug)', () => {
    const b = new SendBuffer(100);
    b.write(bytes(10));
    expect(() => b.copyOut(5, 6, new Uint8Array(6), 0)).toThrow(RangeError);
  });
});

describe('RecvBuffer', () => {
  it('delivers in order across the ring, and across sequence-number wrap', () => {
    const b = new RecvBuffer(0xfffffff0, 64, 1000);
    const data = bytes(200, 2);
    let read = new Uint8Array(0);
    for (let off = 0; off < 200; off += 40) {
      expect(b.insert((0xfffffff0 + off) >>> 0, data.subarray(off, off + 40))).toBe('in-order');
      const r = b.read(1000);
      read = Uint8Array.from([...read, ...r]);
    }
    expect(read).toEqual(data);
    expect(b.nxt).toBe((0xfffffff0 + 200) >>> 0);
  });

  it('holds data past a hole in place, and a filling segment takes it along', () => {
    const b = new RecvBuffer(100, 10_000, 10_000);
    const data = bytes(3000, 3);
    expect(b.insert(1100, data.subarray(1000, 2000))).toBe('out-of-order');
    expect(b.insert(2600, data.subarray(2500, 3000))).toBe('out-of-order');
    expect(b.readable).toBe(0);
    expect(b.sackBlocks(4)).toEqual([
      { left: 2600, right: 3100 },
      { left: 1100, right: 2100 },
    ]);
    expect(b.insert(100, data.subarray(0, 1000))).toBe('filled');
    expect(b.nxt).toBe(2100);
    expect(b.sackBlocks(4)).toEqual([{ left: 2600, right: 3100 }]);
    expect(b.insert(2100, data.subarray(2000, 2500))).toBe('filled');
    expect(b.read(5000)).toEqual(data);
    expect(b.hasOutOfOrder).toBe(false);
  });

  it('merges overlapping and touching runs into one block', () => {
    const b = new RecvBuffer(0, 10_000, 10_000);
    b.insert(100, bytes(100));
    b.insert(300, bytes(100));
    b.insert(200, bytes(100));
    expect(b.sackBlocks(4)).toEqual([{ left: 100, right: 400 }]);
    expect(b.blockCount).toBe(1);
  });

  it('refuses held data beyond its byte budget or block count', () => {
    const b = new RecvBuffer(0, 100_000, 1000);
    expect(b.insert(10, bytes(1000))).toBe('out-of-order');
    expect(b.insert(5000, bytes(1))).toBe('out-of-order-full');
    // Data already held costs nothing.
    expect(b.insert(10, bytes(1000))).toBe('out-of-order');
    const many = new RecvBuffer(0, 100_000, 100_000);
    for (let i = 0; i < MAX_OUT_OF_ORDER_BLOCKS; i++) expect(many.insert(2 + 2 * i, bytes(1))).toBe('out-of-order');
    expect(many.insert(2 + 2 * MAX_OUT_OF_ORDER_BLOCKS, bytes(1))).toBe('out-of-order-full');
  });

  it('keeps held data in place when the ring grows', () => {
    const b = new RecvBuffer(0, 200_000, 200_000);
    const data = bytes(100_000, 6);
    expect(b.insert(50_000, data.subarray(50_000))).toBe('out-of-order');
    expect(b.insert(0, data.subarray(0, 50_000))).toBe('filled');
    expect(b.read(200_000)).toEqual(data);
  });

  it('refuses data outside the window (a caller bug)', () => {
    const b = new RecvBuffer(0, 100, 100);
    expect(() => b.insert(50, bytes(60))).toThrow(RangeError);
  });
});

describe('Flight', () => {
  it('tells an ACK which segments it covered, and whether any was sent twice', () => {
    const f = new Flight();
    f.sent(0, 100, 10);
    f.sent(100, 200, 20);
    f.sent(200, 300, 30);
    let run = f.ack(200);
    expect(run).toMatchObject({ segments: 2, retransmitted: false, oldestSentAt: 10, newestSentAt: 20 });
    f.resent(200, 300, 50);
    run = f.ack(300);
    expect(run).toMatchObject({ segments: 1, retransmitted: true, oldestSentAt: 50 });
    expect(f.size).toBe(0);
  });

  it('trims a partly acknowledged segment', () => {
    const f = new Flight();
    f.sent(0, 100, 0);
    expect(f.ack(40).segments).toBe(0);
    expect(f.segmentEnd(40)).toBe(100);
    expect(f.segmentEnd(39)).toBeUndefined();
  });

  it('marks lost what has DupThresh SACKed segments above it (RFC 6675 IsLost)', () => {
    const f = new Flight();
    for (let i = 0; i < 6; i++) f.sent(i * 100, (i + 1) * 100, i);
    expect(f.sack(100, 300)).toBe(2);
    expect(f.markLost(3, 100)).toBe(0);
    f.sack(400, 500);
    // Segment 0 has 100-300 and 400-500 above it: 3 segments. Segment 3 has one.
    expect(f.markLost(3, 100)).toBe(100);
    expect(f.firstLost()).toBe(0);
    expect(f.pipeBelow(600)).toBe(600 - 300 - 100);
    f.resent(0, 100, 9);
    expect(f.firstLost()).toBeUndefined();
    expect(f.pipeBelow(600)).toBe(300);
    expect(f.sackedEnd(150)).toBe(200);
    expect(f.sackedEnd(350)).toBeUndefined();
  });

  it('grows past its first capacity and keeps order across the ring', () => {
    const f = new Flight();
    for (let i = 0; i < 50; i++) f.sent(i, i + 1, i);
    f.ack(40);
    for (let i = 50; i < 500; i++) f.sent(i, i + 1, i);
    expect(f.size).toBe(460);
    expect(f.ack(499)).toMatchObject({ segments: 459, oldestSentAt: 40, newestSentAt: 498 });
  });
});
