import type { Clock } from '../clock';
import { SeededRandom, uniform } from '../random';
import type { Device, DeviceListener } from './device';

/**
 * Seeded fault injection on the transmit side of a device (smoltcp's FaultInjector):
 * loss, duplication, reordering, delay with jitter and corruption, each a probability or
 * a time. The same seed gives the same faults, so a failure replays exactly.
 */
export interface FaultOptions {
  seed: number;
  /** Probability that a frame is dropped. */
  loss?: number;
  /** Probability that a frame is sent twice. */
  duplicate?: number;
  /** Probability that a frame is held back and sent after the next one. */
  reorder?: number;
  /** Probability that one random bit of a frame is flipped (in a copy). */
  corrupt?: number;
  /** Delay added to every frame, in ms, plus a uniform jitter in [0, jitterMs). */
  delayMs?: number;
  jitterMs?: number;
}

export interface FaultStats {
  passed: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

interface Held {
  due: number;
  order: number;
  frame: Uint8Array;
}

export class FaultDevice implements Device {
  readonly stats: FaultStats = { passed: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0 };
  private readonly random: SeededRandom;
  private held: Held[] = [];
  private reorderSlot: Uint8Array | undefined;
  private order = 0;

  constructor(private readonly inner: Device, private readonly clock: Clock, private readonly opts: FaultOptions) {
    this.random = new SeededRandom(opts.seed);
  }

  get name(): string {
    return this.inner.name;
  }
  get medium() {
    return this.inner.medium;
  }
  get mtu(): number {
    return this.inner.mtu;
  }

  receive(): Uint8Array | undefined {
    return this.inner.receive();
  }

  transmit(frame: Uint8Array): void {
    if (this.chance(this.opts.loss)) {
      this.stats.dropped++;
      return;
    }
    let out = frame;
    if (this.chance(this.opts.corrupt) && frame.length > 0) {
      out = frame.slice();
      const bit = Math.floor(uniform(this.random, 0, frame.length * 8));
      out[bit >> 3] ^= 1 << (bit & 7);
      this.stats.corrupted++;
    }
    if (this.chance(this.opts.reorder) && this.reorderSlot === undefined) {
      this.reorderSlot = out;
      this.stats.reordered++;
      return;
    }
    this.hold(out);
    if (this.chance(this.opts.duplicate)) {
      this.stats.duplicated++;
      this.hold(out);
    }
    if (this.reorderSlot !== undefined) {
      this.hold(this.reorderSlot);
      this.reorderSlot = undefined;
    }
  }

  flush(): void {
    // A frame held for reordering goes out at the latest with its burst, so reordering
    // never turns into loss.
    if (this.reorderSlot !== undefined) {
      this.hold(this.reorderSlot);
      this.reorderSlot = undefined;
    }
    const now = this.clock.now();
    if (this.held.length > 0) {
      const due = this.held.filter((h) => h.due <= now).sort((a, b) => a.due - b.due || a.order - b.order);
      if (due.length > 0) {
        this.held = this.held.filter((h) => h.due > now);
        for (const h of due) {
          this.stats.passed++;
          this.inner.transmit(h.frame);
        }
      }
    }
    this.inner.flush();
  }

  pollAt(): number | undefined {
    let next: number | undefined;
    for (const h of this.held) if (next === undefined || h.due < next) next = h.due;
    const inner = this.inner.pollAt?.();
    if (inner !== undefined && (next === undefined || inner < next)) next = inner;
    return next;
  }

  attach(listener: DeviceListener | undefined): void {
    this.inner.attach(listener);
  }

  close(): void {
    this.held = [];
    this.reorderSlot = undefined;
    this.inner.close();
  }

  private hold(frame: Uint8Array): void {
    const delay = (this.opts.delayMs ?? 0) + (this.opts.jitterMs ? uniform(this.random, 0, this.opts.jitterMs) : 0);
    this.held.push({ due: this.clock.now() + delay, order: this.order++, frame });
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && uniform(this.random, 0, 1) < p;
  }
}
