/**
 * Standard TCP congestion control, RFC 5681, with byte counting (RFC 3465). This class is
 * also the frame CUBIC builds on: RFC 9438 keeps Reno's slow start, timeout handling and
 * restart, and changes only the growth in congestion avoidance and the size of a reduction.
 */
import type { CongestionControl, CongestionControlName, CongestionControlOptions } from './index';

/** RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)) bytes. */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

/** RFC 3465 §2.2: slow start grows by at most L = 2*SMSS per ACK, so a stretch ACK cannot burst. */
export const ABC_LIMIT_SEGMENTS = 2;

export class RenoCongestionControl implements CongestionControl {
  readonly name: CongestionControlName = 'reno';
  /** Bytes; CUBIC's per-ACK arithmetic can leave a fraction, `cwnd` reports whole bytes. */
  protected window: number;
  protected threshold = Infinity;
  protected mss: number;
  /** Bytes acknowledged through onAck, ever: the clock for "a window of data" (ECN). */
  private delivered = 0;
  private readonly fixedInitialWindow: number | undefined;
  /** RFC 3465 §2.1: bytes acknowledged toward the next SMSS of congestion-avoidance growth. */
  private bytesAcked = 0;
  /** After a reduction, ECN-Echo is ignored until `delivered` passes this (RFC 3168 §6.1.2). */
  private ecnQuietUntil: number | undefined;
  /** An RTO fired and no new data has been acknowledged since. */
  protected timedOut = false;
  /** When the flight last drained or grew: the last ACK, recovery end or restart. */
  private lastActiveAt: number | undefined;

  constructor(mss: number, opts: CongestionControlOptions = {}) {
    this.mss = mss;
    this.fixedInitialWindow = opts.initialWindow;
    this.window = this.restartWindow();
  }

  get cwnd(): number {
    return Math.floor(this.window);
  }

  get ssthresh(): number {
    return Math.floor(this.threshold);
  }

  get inSlowStart(): boolean {
    // RFC 5681 §3.1: slow start while cwnd < ssthresh (Linux: tcp_in_slow_start()).
    return this.window < this.threshold;
  }

  onAck(ackedBytes: number, now: number, rttMs: number | undefined, bytesInFlight: number): void {
    if (!(ackedBytes > 0)) return;
    this.delivered += ackedBytes;
    this.lastActiveAt = now;
    this.timedOut = false;
    let rest = ackedBytes;
    if (this.inSlowStart) rest = this.growSlowStart(ackedBytes, rttMs, bytesInFlight);
    if (rest > 0 && !this.inSlowStart) this.growCongestionAvoidance(rest, now);
  }

  onCongestionEvent(_now: number, bytesInFlight: number): void {
    this.reduce(bytesInFlight, 'loss');
    this.afterReduction(bytesInFlight);
  }

  onRecoveryEnd(now: number): void {
    // RFC 6582 §3.2 step 3, option (2): deflate to ssthresh. Everything outstanding at the
    // congestion event is now acknowledged, so ECN-Echo counts again.
    this.window = this.threshold;
    this.ecnQuietUntil = undefined;
    this.lastActiveAt = now;
  }

  onRetransmitTimeout(_now: number, bytesInFlight: number): void {
    // RFC 5681 §3.1: a segment retransmitted by the timer timing out again keeps ssthresh, or
    // each backed-off retry would halve it toward 2*SMSS for no new information.
    if (!this.timedOut) this.threshold = this.reducedThreshold(bytesInFlight);
    this.timedOut = true;
    // RFC 5681 §3.1: after an RTO, cwnd MUST be no more than the loss window, 1 SMSS.
    this.window = this.mss;
    this.afterReduction(bytesInFlight);
  }

  onEcnEcho(_now: number, bytesInFlight: number): void {
    // RFC 3168 §6.1.2: react at most once per window of data; the ECN-Echo that follows a
    // reduction is about data sent before it, until the receiver sees our CWR.
    if (this.ecnQuietUntil !== undefined && this.delivered <= this.ecnQuietUntil) return;
    this.reduce(bytesInFlight, 'ecn');
    this.afterReduction(bytesInFlight);
  }

  onIdleRestart(now: number, rto: number): void {
    if (this.lastActiveAt === undefined) return;
    const idle = now - this.lastActiveAt;
    this.lastActiveAt = now;
    // RFC 5681 §4.1: idle longer than an RTO, the ACK clock is gone; restart from
    // RW = min(IW, cwnd) so the first flight is not a line-rate burst.
    const restart = idle > rto && this.window > this.restartWindow();
    if (restart) this.window = this.restartWindow();
    this.afterIdle(idle, restart);
  }

  setMss(mss: number): void {
    const scale = mss / this.mss;
    this.window *= scale;
    this.threshold *= scale;
    this.bytesAcked *= scale;
    this.mss = mss;
  }

  /** Slow start (RFC 5681 §3.1, RFC 3465 §2.2); returns the bytes left for congestion avoidance. */
  protected growSlowStart(ackedBytes: number, _rttMs: number | undefined, _bytesInFlight: number): number {
    const grown = this.window + Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * this.mss);
    if (grown < this.threshold) {
      this.window = grown;
      return 0;
    }
    // Linux (tcp_slow_start): stop at ssthresh and give what is left to congestion avoidance.
    const used = this.threshold - this.window;
    this.window = this.threshold;
    return ackedBytes - used;
  }

  /** Congestion avoidance (RFC 5681 §3.1, RFC 3465 §2.1): one SMSS per cwnd of bytes acknowledged. */
  protected growCongestionAvoidance(ackedBytes: number, _now: number): void {
    this.bytesAcked += ackedBytes;
    if (this.bytesAcked < this.window) return;
    // A stretch ACK may cover more than a window: the steps it earned all count (Linux:
    // tcp_cong_avoid_ai()), still at most one SMSS per window of data.
    const steps = Math.floor(this.bytesAcked / this.window);
    this.bytesAcked -= steps * this.window;
    this.window += steps * this.mss;
  }

  /** Sets ssthresh and cwnd for a loss or an ECN-Echo. */
  protected reduce(bytesInFlight: number, _cause: 'loss' | 'ecn'): void {
    // RFC 5681 §3.2 step 2, eq. (4); RFC 3168 §6.1.2 halves the same way for ECN.
    this.threshold = this.reducedThreshold(bytesInFlight);
    this.window = this.threshold;
  }

  /** ssthresh after a loss, an ECN-Echo or an RTO: RFC 5681 §3.1 eq. (4), max(FlightSize/2, 2*SMSS). */
  protected reducedThreshold(bytesInFlight: number): number {
    return Math.max(Math.floor(bytesInFlight / 2), 2 * this.mss);
  }

  /** What else an idle period changes; `restarted` says cwnd went back to the restart window. */
  protected afterIdle(_idleMs: number, _restarted: boolean): void {}

  private afterReduction(bytesInFlight: number): void {
    this.bytesAcked = 0;
    this.ecnQuietUntil = this.delivered + bytesInFlight;
  }

  private restartWindow(): number {
    return this.fixedInitialWindow ?? initialWindow(this.mss);
  }
}
