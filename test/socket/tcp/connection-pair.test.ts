/**
 * Two connections back to back through the fake link, on a ManualClock: bulk transfers
 * byte-exact (SHA-256 of both ends) with seeded loss, reordering, both directions at once,
 * with and without SACK and timestamps, and a slow reader (flow control, zero windows).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../lib/socket/tcp/state';
import type { TcpConnection } from '../../../lib/socket/tcp/connection';
import { bytes, ISS, Pair, type NetOptions } from './helpers';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A stream from one end to the other: writes as room allows, reads everything, hashes it. */
class Stream {
  private off = 0;
  private got = 0;
  private readonly hash = createHash('sha256');
  constructor(
    private readonly from: () => TcpConnection,
    private readonly to: () => TcpConnection,
    readonly data: Uint8Array,
    private readonly readMax = Infinity,
  ) {}

  pump(now: number): void {
    if (this.off < this.data.length) this.off += Math.max(0, this.from().write(this.data.subarray(this.off), now));
    // At most readMax per call when it is given (a slow reader), everything otherwise.
    for (let r = this.to().read(this.readMax); r; r = this.readMax === Infinity ? this.to().read() : null) {
      this.hash.update(r);
      this.got += r.length;
    }
  }

  get done(): boolean {
    return this.got === this.data.length;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

function transfer(opts: NetOptions, aToB: number, bToA = 0, limitMs = 600_000): Pair {
  const p = new Pair(opts);
  p.open();
  const ab = new Stream(() => p.a, () => p.b, bytes(aToB, 1));
  const ba = new Stream(() => p.b, () => p.a, bytes(bToA, 2));
  p.runUntil(() => {
    ab.pump(p.clock.now());
    ba.pump(p.clock.now());
    return ab.done && ba.done;
  }, limitMs);
  expect(ab.digest()).toBe(sha(ab.data));
  expect(ba.digest()).toBe(sha(ba.data));
  return p;
}

describe('bulk transfer between two connections', () => {
  it('4 MB without loss', () => {
    const p = transfer({}, 4_000_000);
    expect(p.lost).toBe(0);
    expect(p.a.state).toBe(TcpState.Established);
  });

  it('the receive buffer grows with what the reader drains per round trip, unless the owner set it', () => {
    const widest = (pin: boolean): number => {
      const p = new Pair({ seed: 27 });
      p.open();
      if (pin) p.b.setReceiveBufferSize(131_072);
      const s = new Stream(() => p.a, () => p.b, bytes(2_000_000, 5));
      let wnd = 0;
      p.runUntil(() => {
        s.pump(p.clock.now());
        wnd = Math.max(wnd, p.b.vars.rcvWnd);
        return s.done;
      }, 60_000);
      expect(s.digest()).toBe(sha(s.data));
      return wnd;
    };
    expect(widest(false)).toBeGreaterThan(131_072);
    expect(widest(true)).toBe(131_072);
  });

  it('3 MB with 2% loss each way (SACK, timestamps)', () => {
    const p = transfer({ loss: 0.02, seed: 21 }, 3_000_000);
    expect(p.lost).toBeGreaterThan(50);
  });

  it('3 MB with 5% loss and reordering', () => {
    const p = transfer({ loss: 0.05, jitter: 15, seed: 22 }, 3_000_000);
    expect(p.lost).toBeGreaterThan(100);
  });

  it('2 MB with 3% loss without SACK or timestamps (NewReno, Karn)', () => {
    transfer({ loss: 0.03, seed: 23, config: { sack: false, timestamps: false, windowScaling: false } }, 2_000_000);
  });

  it('both directions at once, 2 MB each, 2% loss and reordering', () => {
    transfer({ loss: 0.02, jitter: 5, seed: 24 }, 2_000_000, 2_000_000);
  });

  it('a slow reader with a small buffer: zero windows, probes and window updates', () => {
    const p = new Pair({ configB: { receiveBufferSize: 8192, maxReceiveBufferSize: 8192 }, seed: 25 });
    p.open();
    const s = new Stream(() => p.a, () => p.b, bytes(300_000, 3), 1000);
    p.wake = p.clock.now();
    p.runUntil(() => {
      const now = p.clock.now();
      // The reader takes at most 1000 bytes every 5 ms of simulated time.
      if (now >= (p.wake as number)) {
        p.wake = now + 5;
        s.pump(now);
      }
      return s.done;
    }, 600_000);
    expect(s.digest()).toBe(sha(s.data));
    // 300 kB at 1000 bytes per 5 ms: the reader set the pace.
    expect(p.clock.now()).toBeGreaterThan(1_000 + 1_400);
  });

  it('a 1 MB transfer at a 1000-byte path MTU after a drop mid-way', () => {
    const p = new Pair({ seed: 26 });
    p.open();
    const s = new Stream(() => p.a, () => p.b, bytes(1_000_000, 4));
    let dropped = false;
    p.runUntil(() => {
      s.pump(p.clock.now());
      if (!dropped && p.a.vars.sndUna - ISS > 300_000) {
        dropped = true;
        p.linkA.maxPayloadBytes = 980;
        p.a.icmpError({ kind: 'too-big', mtu: 1000 }, p.clock.now());
      }
      return s.done;
    }, 600_000);
    expect(s.digest()).toBe(sha(s.data));
    expect(p.a.vars.mss).toBe(1000 - 40 - 12);
  });
});
