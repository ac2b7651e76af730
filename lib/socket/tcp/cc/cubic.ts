/**
 * CUBIC (RFC 9438), Linux's default: after a reduction the window follows
 * W_cubic(t) = C*(t-K)^3 + W_max, concave up to the last maximum W_max and convex past it,
 * never slower than Reno would be (the Reno-friendly region). Windows are in segments here
 * (the RFC's unit, and Linux's), times in seconds; `window` turns them into bytes.
 *
 * Slow start is Reno's (RFC 9438 §4.10) with HyStart++ (RFC 9406) deciding when the initial
 * one ends; timeouts and restart after idle are Reno's with β_cubic (§4.8, §5.8).
 */
import type { CongestionControlName, CongestionControlOptions } from './index';
import { ABC_LIMIT_SEGMENTS, RenoCongestionControl } from './reno';
import { CSS_GROWTH_DIVISOR, HyStart } from './hystart';

/** RFC 9438 §5.1: C = 0.4 (segments/s^3). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: β_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: α_cubic = 3(1-β)/(1+β), Reno's average rate for a flow that backs off to β. */
const ALPHA_CUBIC = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
/** RFC 9438 §4.2: the target is at most 1.5 cwnd, so cwnd grows at most 1.5x per RTT. */
const MAX_TARGET_RATIO = 1.5;

export class CubicCongestionControl extends RenoCongestionControl {
  override readonly name: CongestionControlName = 'cubic';
  private readonly fastConvergence: boolean;
  /** Present until the initial slow start ends (RFC 9406 §4.3: only the initial one). */
  private hystart: HyStart | undefined;
  /** Segments: the window before the last reduction, the curve's plateau; undefined before one. */
  private maxWindow: number | undefined;
  /** Segments: cwnd when ssthresh was last set (cwnd_prior, RFC 9438 §4.6). */
  private priorWindow: number | undefined;
  /** ms: start of the current congestion-avoidance stage (t_epoch); undefined outside one. */
  private epochStart: number | undefined;
  /** Seconds for W_cubic to climb from cwnd_epoch back to W_max (RFC 9438 eq. 2). */
  private period = 0;
  /** Segments: Reno's window, had it run since the epoch began (W_est, RFC 9438 §4.3). */
  private renoEstimate = 0;
  /** The next congestion-avoidance stage follows an RTO (RFC 9438 §4.8). */
  private afterTimeout = false;
  /** ms: a smoothed RTT of the samples given to onAck; RFC 9438 §4.2 projects W_cubic one RTT ahead. */
  private srtt: number | undefined;

  constructor(mss: number, opts: CongestionControlOptions = {}) {
    super(mss, opts);
    this.fastConvergence = opts.fastConvergence ?? true;
    if (opts.hystart ?? true) this.hystart = new HyStart();
  }

  /** W_max in segments, once a congestion event (or an epoch after an RTO) set it. */
  get wMax(): number | undefined {
    return this.maxWindow;
  }

  /** K in seconds for the current congestion-avoidance stage, if one is running. */
  get k(): number | undefined {
    return this.epochStart === undefined ? undefined : this.period;
  }

  override onAck(ackedBytes: number, now: number, rttMs: number | undefined, bytesInFlight: number): void {
    // A sample that is not a duration (a bogus timestamp echo) would poison the curve and HyStart++.
    const rtt = rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0 ? rttMs : undefined;
    // RFC 9438 §4.2 names the smoothed RTT; the usual RFC 6298 gain of 1/8.
    if (rtt !== undefined) this.srtt = this.srtt === undefined ? rtt : this.srtt + (rtt - this.srtt) / 8;
    super.onAck(ackedBytes, now, rtt, bytesInFlight);
  }

  override onRetransmitTimeout(now: number, bytesInFlight: number): void {
    // RFC 9438 §4.8 (Figure 5): remember cwnd_prior; the first congestion-avoidance stage
    // after the timeout restarts the curve from wherever slow start leaves cwnd.
    if (!this.timedOut) this.priorWindow = this.window / this.mss;
    this.afterTimeout = true;
    this.epochStart = undefined;
    this.hystart = undefined;
    super.onRetransmitTimeout(now, bytesInFlight);
  }

  protected override growSlowStart(ackedBytes: number, rttMs: number | undefined, bytesInFlight: number): number {
    if (this.hystart === undefined) return super.growSlowStart(ackedBytes, rttMs, bytesInFlight);
    const phase = this.hystart.onAck(ackedBytes, rttMs, bytesInFlight);
    if (phase === 'exit') {
      // RFC 9406 §4.2: CSS is over; enter congestion avoidance at the current window.
      this.threshold = this.window;
      this.hystart = undefined;
      return 0;
    }
    // RFC 9406 §4.2: cwnd += min(N, L*SMSS), a quarter of that in CSS. L is RFC 3465's 2, not
    // RFC 9406's 8 for unpaced senders: the same burst bound as Reno.
    const growth = Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * this.mss);
    this.window += phase === 'css' ? growth / CSS_GROWTH_DIVISOR : growth;
    return 0;
  }

  protected override growCongestionAvoidance(ackedBytes: number, now: number): void {
    const cwnd = this.window / this.mss;
    const acked = ackedBytes / this.mss;
    const epochStart = this.epochStart ?? this.startEpoch(now, cwnd);
    const t = (now - epochStart) / 1000;
    const rtt = (this.srtt ?? 0) / 1000;
    // RFC 9438 §4.2: aim at where the curve will be one RTT from now, never below cwnd (no
    // shrinking in congestion avoidance) and at most 1.5 cwnd.
    const target = Math.min(Math.max(this.wCubic(t + rtt), cwnd), MAX_TARGET_RATIO * cwnd);
    // RFC 9438 §4.4/§4.5: (target - cwnd)/cwnd per acknowledged segment, so about target - cwnd
    // over the RTT it takes to acknowledge a window; a stretch ACK stops at the target.
    let next = Math.min(target, cwnd + ((target - cwnd) / cwnd) * acked);
    // RFC 9438 §4.3: Reno's window grows by α_cubic per RTT until it reaches cwnd_prior, then
    // by 1 like Reno's own AIMD(1, 0.5).
    const alpha = this.renoEstimate >= (this.priorWindow ?? 0) ? 1 : ALPHA_CUBIC;
    this.renoEstimate += (alpha * acked) / cwnd;
    // RFC 9438 §4.3: where the curve is below Reno's estimate, cwnd follows the estimate.
    if (this.wCubic(t) < this.renoEstimate) next = Math.max(next, this.renoEstimate);
    this.window = next * this.mss;
  }

  protected override reduce(bytesInFlight: number, cause: 'loss' | 'ecn'): void {
    const cwnd = this.window / this.mss;
    // RFC 9438 §4.7: a reduction below the last maximum means a new flow is taking its share;
    // release bandwidth sooner by remembering a lower plateau.
    this.maxWindow = this.fastConvergence && this.maxWindow !== undefined && cwnd < this.maxWindow ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    // RFC 9438 §4.6 (Figure 5): from FlightSize, not cwnd. Linux multiplies cwnd, which the RFC
    // allows only with growth stopped while not cwnd-limited, and that is the sender's to know.
    this.priorWindow = cwnd;
    this.window = Math.max(bytesInFlight * CUBIC_BETA, (cause === 'loss' ? 2 : 1) * this.mss);
    this.threshold = this.reducedThreshold(bytesInFlight);
    this.epochStart = undefined;
    this.afterTimeout = false;
    // RFC 9406 §4.2: loss or ECN ends HyStart++; the reduction above is the response.
    this.hystart = undefined;
  }

  /** RFC 9438 §4.6/§4.8: ssthresh = max(FlightSize * β_cubic, 2 SMSS). */
  protected override reducedThreshold(bytesInFlight: number): number {
    return Math.max(bytesInFlight * CUBIC_BETA, 2 * this.mss);
  }

  protected override afterIdle(idleMs: number, restarted: boolean): void {
    if (this.epochStart === undefined) return;
    // RFC 9438 §5.8: t MUST NOT count time the window was not in use, or W_cubic(t) would
    // leap ahead on the first ACK after the pause (Linux: CA_EVENT_TX_START shifts epoch_start).
    // After a restart, cwnd is far below the curve: the next stage starts a fresh epoch.
    if (restarted) this.epochStart = undefined;
    else this.epochStart += idleMs;
  }

  /** Begins a congestion-avoidance stage (RFC 9438 §4.2) and returns its t_epoch. */
  private startEpoch(now: number, cwnd: number): number {
    this.epochStart = now;
    if (this.maxWindow === undefined || this.afterTimeout) {
      // RFC 9438 §4.8: after an RTO, K = 0 and W_max = cwnd_epoch; §4.10: the same when
      // HyStart++ ended slow start without a loss, so no W_max exists yet.
      this.maxWindow = cwnd;
      this.period = 0;
    } else {
      // RFC 9438 eq. (2): K = cbrt((W_max - cwnd_epoch) / C); negative when cwnd_epoch is above
      // W_max, which puts the epoch on the convex side of the curve.
      this.period = Math.cbrt((this.maxWindow - cwnd) / CUBIC_C);
    }
    this.afterTimeout = false;
    // RFC 9438 §4.3: W_est starts at cwnd_epoch. §4.10: with no reduction yet, cwnd_prior = cwnd,
    // so α is 1 from the start.
    this.renoEstimate = cwnd;
    this.priorWindow ??= cwnd;
    return now;
  }

  /** RFC 9438 eq. (1), in segments. */
  private wCubic(t: number): number {
    return CUBIC_C * (t - this.period) ** 3 + (this.maxWindow ?? 0);
  }
}
