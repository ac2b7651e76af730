/**
 * Time, injected. The sans-IO core reads time only through the `now` argument of
 * `poll(now)`; the driver takes it from a `Clock`. Milliseconds, possibly fractional.
 */
export interface Clock {
  now(): number;
}

/** The real monotonic clock, for the driver only. */
export class MonotonicClock implements Clock {
  now(): number {
    return performance.now();
  }
}

/** A clock that moves only when told to: what makes protocol tests deterministic. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock cannot go back: ${ms}`);
    this.current += ms;
    return this.current;
  }

  set(ms: number): number {
    if (ms < this.current) throw new RangeError(`ManualClock cannot go back: ${ms} < ${this.current}`);
    this.current = ms;
    return this.current;
  }
}
