/**
 * HyStart++ (RFC 9406): leave slow start when the round-trip time starts to rise, before the
 * doubling overshoots the bottleneck queue, through a short Conservative Slow Start (CSS) that
 * lets jitter-induced false exits undo themselves.
 *
 * Rounds (RFC 9406 §4.2 marks them by sequence: a round ends when SND.UNA passes the SND.NXT
 * of its start) are derived from what the sender already reports to the congestion control,
 * with no sequence numbers here: `delivered` adds up ackedBytes (SND.UNA's advance), so a
 * round that starts when delivered = D with bytesInFlight = F in flight ends at delivered =
 * D + F, SND.NXT at the start. The first ACK beyond it opens the next round, as Linux's
 * `after(snd_una, end_seq)` does. This holds while the sender reports every cumulative ACK of
 * new data through onAck, which is so during slow start: HyStart++ stops at the first loss.
 *
 * This class only decides the phase; the congestion control applies the growth
 * (cwnd += min(N, L*SMSS), divided by CSS_GROWTH_DIVISOR in CSS) and the exit (ssthresh = cwnd).
 */

/** RFC 9406 §4.3 constants; times in ms. */
export const MIN_RTT_THRESH = 4;
export const MAX_RTT_THRESH = 16;
export const MIN_RTT_DIVISOR = 8;
export const N_RTT_SAMPLE = 8;
export const CSS_GROWTH_DIVISOR = 4;
export const CSS_ROUNDS = 5;

/** Where this ACK leaves slow start: still standard, conservative, or over (enter congestion avoidance). */
export type HyStartPhase = 'slow-start' | 'css' | 'exit';

export class HyStart {
  private delivered = 0;
  /** `delivered` at which the current round's data is all acknowledged; undefined before the first ACK. */
  private roundEnd: number | undefined;
  private lastRoundMinRtt = Infinity;
  private currentRoundMinRtt = Infinity;
  private rttSampleCount = 0;
  /** The round minimum that triggered CSS; Infinity outside CSS. */
  private cssBaselineMinRtt = Infinity;
  private cssRounds = 0;

  get phase(): 'slow-start' | 'css' {
    return this.cssBaselineMinRtt === Infinity ? 'slow-start' : 'css';
  }

  /** One ACK of new data during slow start: `bytesInFlight` after it, `rttMs` its sample if any. */
  onAck(ackedBytes: number, rttMs: number | undefined, bytesInFlight: number): HyStartPhase {
    this.delivered += ackedBytes;
    if (this.roundEnd === undefined || this.delivered > this.roundEnd) {
      this.roundEnd = this.delivered + bytesInFlight;
      // RFC 9406 §4.2: at the start of each round, during slow start and CSS.
      this.lastRoundMinRtt = this.currentRoundMinRtt;
      this.currentRoundMinRtt = Infinity;
      this.rttSampleCount = 0;
      // RFC 9406 §4.2: after CSS_ROUNDS rounds of CSS (the partial round CSS began in counts,
      // RFC 9406 §4.2), enter congestion avoidance.
      if (this.phase === 'css' && ++this.cssRounds >= CSS_ROUNDS) return 'exit';
    }
    if (rttMs !== undefined) {
      this.currentRoundMinRtt = Math.min(this.currentRoundMinRtt, rttMs);
      this.rttSampleCount++;
    }
    if (this.rttSampleCount >= N_RTT_SAMPLE) {
      if (this.phase === 'slow-start') this.checkDelayIncrease();
      else if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
        // RFC 9406 §4.2: the RTT fell below the baseline, so the exit was spurious (jitter):
        // resume slow start, HyStart++ included.
        this.cssBaselineMinRtt = Infinity;
      }
    }
    return this.phase;
  }

  private checkDelayIncrease(): void {
    if (this.lastRoundMinRtt === Infinity || this.currentRoundMinRtt === Infinity) return;
    // RFC 9406 §4.2: the threshold is an eighth of the last round's minimum, within [4, 16] ms.
    const thresh = Math.max(MIN_RTT_THRESH, Math.min(this.lastRoundMinRtt / MIN_RTT_DIVISOR, MAX_RTT_THRESH));
    if (this.currentRoundMinRtt >= this.lastRoundMinRtt + thresh) {
      this.cssBaselineMinRtt = this.currentRoundMinRtt;
      this.cssRounds = 0;
    }
  }
}
