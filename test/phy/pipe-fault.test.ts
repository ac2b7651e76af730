import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { FaultDevice } from '../../lib/phy/fault';
import { createPipe } from '../../lib/phy/pipe';

const frame = (n: number) => new Uint8Array([n >> 8, n & 0xff, 0xaa, 0xbb]);
const ids = (frames: Uint8Array[]) => frames.map((f) => (f[0] << 8) | f[1]);

function drain(end: { receive(): Uint8Array | undefined }): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = end.receive(); f; f = end.receive()) out.push(f);
  return out;
}

describe('in-memory pipe', () => {
  it('carries frames in order from one end to the other, both ways, only after flush', () => {
    const [a, b] = createPipe();
    let wakeups = 0;
    b.attach({ readable: () => wakeups++, error: () => {} });
    a.transmit(frame(1));
    a.transmit(frame(2));
    expect(b.receive()).toBeUndefined();
    a.flush();
    expect(wakeups).toBe(1);
    expect(ids(drain(b))).toEqual([1, 2]);
    b.transmit(frame(3));
    b.flush();
    expect(ids(drain(a))).toEqual([3]);
  });

  it('drops everything once closed', () => {
    const [a, b] = createPipe();
    b.close();
    a.transmit(frame(1));
    a.flush();
    expect(b.receive()).toBeUndefined();
  });
});

describe('seeded fault injection', () => {
  function run(opts: ConstructorParameters<typeof FaultDevice>[2], n = 2_000) {
    const clock = new ManualClock();
    const [a, b] = createPipe();
    const faulty = new FaultDevice(a, clock, opts);
    for (let i = 0; i < n; i++) faulty.transmit(frame(i));
    faulty.flush();
    for (let t = 0; t < 10_000; t += 1) {
      clock.set(t);
      faulty.flush();
    }
    return { got: ids(drain(b)), stats: faulty.stats };
  }

  it('loses about the configured share of frames, and the same seed loses the same ones', () => {
    const first = run({ seed: 7, loss: 0.1 });
    expect(first.stats.dropped).toBeGreaterThan(150);
    expect(first.stats.dropped).toBeLessThan(250);
    expect(first.got).toHaveLength(2_000 - first.stats.dropped);
    expect(run({ seed: 7, loss: 0.1 }).got).toEqual(first.got);
    expect(run({ seed: 8, loss: 0.1 }).got).not.toEqual(first.got);
  });

  it('duplicates, reorders and corrupts without losing anything', () => {
    const { got, stats } = run({ seed: 3, duplicate: 0.05, reorder: 0.05 });
    expect(stats.duplicated).toBeGreaterThan(0);
    expect(stats.reordered).toBeGreaterThan(0);
    expect(got).toHaveLength(2_000 + stats.duplicated);
    expect(new Set(got).size).toBe(2_000);
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
    const corrupt = run({ seed: 3, corrupt: 0.5 }, 200);
    expect(corrupt.stats.corrupted).toBeGreaterThan(50);
  });

  it('never changes the sender\'s buffer when it corrupts', () => {
    const clock = new ManualClock();
    const [a, b] = createPipe();
    const faulty = new FaultDevice(a, clock, { seed: 1, corrupt: 1 });
    const f = frame(5);
    faulty.transmit(f);
    faulty.flush();
    expect(Array.from(f)).toEqual([0, 5, 0xaa, 0xbb]);
    expect(Array.from(drain(b)[0])).not.toEqual([0, 5, 0xaa, 0xbb]);
  });

  it('delays frames until their time, and says when through pollAt', () => {
    const clock = new ManualClock(100);
    const [a, b] = createPipe();
    const faulty = new FaultDevice(a, clock, { seed: 1, delayMs: 50, jitterMs: 10 });
    faulty.transmit(frame(1));
    faulty.flush();
    expect(b.receive()).toBeUndefined();
    const at = faulty.pollAt()!;
    expect(at).toBeGreaterThanOrEqual(150);
    expect(at).toBeLessThan(160);
    clock.set(at);
    faulty.flush();
    expect(ids(drain(b))).toEqual([1]);
    expect(faulty.pollAt()).toBeUndefined();
  });
});
