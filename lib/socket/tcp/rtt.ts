/**
 * The retransmission timeout (RFC 6298), with Linux's bounds, and a windowed minimum RTT
 * for RACK (RFC 8985 §6.2) and HyStart++ (RFC 9406).
 *
 * Contract with the caller (the sender):
 * - Karn's rule (RFC 6298 §3, §5): never `sample()` an RTT measured on a segment that was
 *   retransmitted, because the ACK cannot say which transmission it answers, unless the
 *   segment carried a timestamp whose echo (TSecr) names the transmission (RFC 7323 §4).
 * - At most one sample per ACK; with timestamps (RFC 7323 §4.1) that is one per ACK that
 *   acknowledges new data. Pass `samplesPerWindow` then, see `sample()`.
 * - Times are milliseconds from the injected clock; nothing here reads a clock.
 */

export interface RttConfig {
  /** RTO before any sample: 1 s (RFC 6298 §2.1). */
  initialRto: number;
  /** Lower bound: 200 ms. RFC 6298 §2.4 says 1 s; Linux: TCP_RTO_MIN, because 1 s stalls LAN recovery. */
  minRto: number;
  /** Upper bound: 120 s (RFC 6298 §2.5 allows any maximum of at least 60 s; Linux: TCP_RTO_MAX). */
  maxRto: number;
  /** Clock granularity G (RFC 6298 §2): 1 ms. */
  granularity: number;
}

export const DEFAULT_RTT_CONFIG: Readonly<RttConfig> = {
  initialRto: 1000,
  minRto: 200,
  maxRto: 120_000,
  granularity: 1,
};

/** RFC 6298 §5.7 (Linux: TCP_TIMEOUT_FALLBACK): the RTO once a handshake needed a retransmission. */
export const SYN_FALLBACK_RTO = 3000;

/** How far back `minRtt` looks (BBR's min_rtt window; RACK only needs a recent floor). */
export const MIN_RTT_WINDOW = 10_000;

const ALPHA = 1 / 8; // RFC 6298 §2.3
const BETA = 1 / 4; // RFC 6298 §2.3
const K = 4; // RFC 6298 §2.2

export interface RttSampleOptions {
  /**
   * How many samples the caller takes per window of data. With timestamps every ACK gives a
   * sample, and RFC 7323 Appendix G divides alpha and beta by ExpectedSamples =
   * ceil(FlightSize / (2 * SMSS)) so the estimator keeps the time constant RFC 6298 meant
   * (about one sample per RTT). Linux does not scale; omit it (or pass 1) to behave the same.
   */
  samplesPerWindow?: number;
}

export class RttEstimator {
  private readonly cfg: RttConfig;
  private smoothed: number | undefined;
  private variation: number | undefined;
  /** RTO before back-off, already clamped to [minRto, maxRto]. */
  private baseRto: number;
  private backoffs = 0;
  private readonly minFilter = new WindowedMin(MIN_RTT_WINDOW);

  constructor(cfg: Partial<RttConfig> = {}) {
    this.cfg = { ...DEFAULT_RTT_CONFIG, ...cfg };
    this.baseRto = this.clamp(this.cfg.initialRto);
  }

  /** The current RTO in ms, back-off included, within [minRto, maxRto]. */
  get rto(): number {
    // RFC 6298 §5.5: each expiry doubles the RTO; §2.5 lets the maximum bound the doubling.
    return Math.min(this.cfg.maxRto, this.baseRto * 2 ** this.backoffs);
  }

  get srtt(): number | undefined {
    return this.smoothed;
  }

  get rttvar(): number | undefined {
    return this.variation;
  }

  /** The smallest sample of roughly the last MIN_RTT_WINDOW ms, or undefined before any sample. */
  get minRtt(): number | undefined {
    return this.minFilter.value;
  }

  /**
   * Takes one RTT measurement (ms) made at `now`. The caller has applied Karn's rule (see the
   * module comment). A negative or non-finite value, as a peer's bogus timestamp echo can
   * produce, is not a measurement and is ignored.
   */
  sample(rttMs: number, now: number, opts: RttSampleOptions = {}): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    const n = opts.samplesPerWindow !== undefined && Number.isFinite(opts.samplesPerWindow) ? Math.max(1, opts.samplesPerWindow) : 1;
    if (this.smoothed === undefined || this.variation === undefined) {
      // RFC 6298 §2.2: the first measurement.
      this.smoothed = rttMs;
      this.variation = rttMs / 2;
    } else {
      // RFC 6298 §2.3: RTTVAR first, since it uses the SRTT before this sample.
      const alpha = ALPHA / n;
      const beta = BETA / n;
      this.variation = (1 - beta) * this.variation + beta * Math.abs(this.smoothed - rttMs);
      this.smoothed = (1 - alpha) * this.smoothed + alpha * rttMs;
    }
    const g = this.cfg.granularity;
    // RFC 6298 §2.2/§2.3: RTO = SRTT + max(G, K*RTTVAR), rounded up to the clock's granularity
    // so a timer deadline is a whole tick; then §2.4/§2.5 bounds.
    this.baseRto = this.clamp(Math.ceil((this.smoothed + Math.max(g, K * this.variation)) / g) * g);
    // RFC 6298 §5: a fresh sample recomputes the RTO, collapsing any back-off.
    this.backoffs = 0;
    this.minFilter.update(rttMs, now);
  }

  /** The retransmission timer expired (RFC 6298 §5.5): double the RTO, up to maxRto. */
  backoff(): void {
    if (this.rto < this.cfg.maxRto) this.backoffs++;
  }

  /**
   * Forget the back-off without a sample, when what was being retried is over: e.g. zero-window
   * probing once the window opens (Linux: tcp_ack_probe()). Not for every ACK: RFC 6298 §5 and
   * Linux (tcp_ack_update_rtt(): "only reset backoff on valid RTT measurement") keep the
   * backed-off RTO until a sample Karn's rule allows.
   */
  resetBackoff(): void {
    this.backoffs = 0;
  }

  /**
   * Call once the connection is established if the SYN or SYN-ACK had to be retransmitted on a
   * timeout. RFC 6298 §5.7: with no RTT sample (Karn's rule forbids one from a retransmitted
   * SYN unless timestamps disambiguate), the RTO MUST start from 3 s rather than 1 s, since the
   * path just showed an RTT near 1 s is possible. Linux does this in tcp_init_transfer().
   */
  afterSynTimeout(): void {
    this.backoffs = 0;
    if (this.smoothed === undefined) this.baseRto = this.clamp(SYN_FALLBACK_RTO);
  }

  private clamp(rto: number): number {
    return Math.min(this.cfg.maxRto, Math.max(this.cfg.minRto, rto));
  }
}

interface TimedValue {
  value: number;
  at: number;
}

/**
 * A windowed minimum in constant space (Kathleen Nichols' filter, as Linux's lib/win_minmax.c):
 * the best, second and third best values from successive quarters/halves of the window, so the
 * minimum can expire without keeping every sample. Exact when the minimum is fresh; otherwise
 * it may report a value a little older than the window but never a stale one once a full
 * window passes.
 */
class WindowedMin {
  /** Best, second and third choice; all three equal right after a reset. */
  private s: [TimedValue, TimedValue, TimedValue] | undefined;

  constructor(private readonly window: number) {}

  get value(): number | undefined {
    return this.s?.[0].value;
  }

  update(value: number, now: number): void {
    const fresh = { value, at: now };
    const s = this.s;
    if (s === undefined || value <= s[0].value || now - s[2].at > this.window) {
      // A new minimum, or every candidate has left the window: start over.
      this.s = [fresh, fresh, fresh];
      return;
    }
    if (value <= s[1].value) {
      s[1] = fresh;
      s[2] = fresh;
    } else if (value <= s[2].value) {
      s[2] = fresh;
    }
    const elapsed = now - s[0].at;
    if (elapsed > this.window) {
      // The best value left the window: promote the next candidates.
      s[0] = s[1];
      s[1] = s[2];
      s[2] = fresh;
      if (now - s[0].at > this.window) {
        s[0] = s[1];
        s[1] = s[2];
      }
    } else if (s[1].at === s[0].at && elapsed > this.window / 4) {
      // A quarter of the window went by with no distinct second choice: keep one from now on.
      s[1] = fresh;
      s[2] = fresh;
    } else if (s[2].at === s[1].at && elapsed > this.window / 2) {
      s[2] = fresh;
    }
  }
}
