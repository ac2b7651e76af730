/**
 * Congestion control behind one interface: the sender reports ACKs, congestion events and
 * timeouts; the algorithm answers with cwnd and ssthresh, in bytes. Nothing here sees a
 * sequence number, a segment or a clock: `now` (ms) comes in with every call.
 *
 * What the sender owns, not this module: the fast-retransmit trigger and NewReno/SACK recovery
 * (RFC 6582, RFC 6675, RACK), including any window inflation during recovery; the receive
 * window; and deciding when it is idle (see onIdleRestart).
 *
 * `bytesInFlight` is always the flight after the event was applied: SND.NXT - SND.UNA, or the
 * RFC 6675 "pipe" when SACK is in use. It is FlightSize in RFC 5681 §3.2 eq. (4).
 */
import { CubicCongestionControl } from './cubic';
import { RenoCongestionControl } from './reno';

export { initialWindow } from './reno';

export type CongestionControlName = 'reno' | 'cubic';

export interface CongestionControl {
  readonly name: CongestionControlName;
  /** Congestion window in bytes. */
  readonly cwnd: number;
  /** Slow-start threshold in bytes; Infinity until the first congestion event (RFC 5681 §3.1). */
  readonly ssthresh: number;
  readonly inSlowStart: boolean;
  /**
   * New data was acknowledged outside fast recovery (also after an RTO, where slow start
   * restarts from the loss window): grow cwnd. `rttMs` is a fresh sample from this ACK, if
   * Karn's rule allowed one. Rounds of HyStart++ are derived from these calls (see hystart.ts).
   */
  onAck(ackedBytes: number, now: number, rttMs: number | undefined, bytesInFlight: number): void;
  /** Entering loss recovery (3 dupacks / SACK loss / RACK): set ssthresh and cwnd (RFC 5681 §3.2 / RFC 9438 §4.6). */
  onCongestionEvent(now: number, bytesInFlight: number): void;
  /** Leaving recovery on a full ACK (RFC 6582 §3.2 step 3): cwnd = ssthresh. */
  onRecoveryEnd(now: number): void;
  /**
   * The retransmission timer fired: cwnd = 1 SMSS, the loss window; ssthresh as on a loss
   * (RFC 5681 §3.1 eq. 4 for Reno, RFC 9438 §4.8 for CUBIC), held on repeated timeouts with
   * no ACK of new data in between (RFC 5681 §3.1).
   */
  onRetransmitTimeout(now: number, bytesInFlight: number): void;
  /**
   * An ACK carried ECN-Echo (RFC 3168 §6.1.2): reduce as for a loss, at most once per window
   * of data. The sender sets CWR on its next new segment.
   */
  onEcnEcho(now: number, bytesInFlight: number): void;
  /**
   * Call whenever the sender is about to send new data with nothing in flight (Linux's
   * CA_EVENT_TX_START). Idleness is measured from the last ACK this algorithm saw, which with
   * nothing in flight ends within an RTT of the last send. Idle longer than `rto`:
   * cwnd = min(cwnd, IW) (RFC 5681 §4.1). CUBIC also keeps idle time out of its curve
   * (RFC 9438 §5.8).
   */
  onIdleRestart(now: number, rto: number): void;
  /** The MSS changed (PMTU): the window keeps its size in segments, as Linux's does. */
  setMss(mss: number): void;
}

export interface CongestionControlOptions {
  /** Initial (and restart) window in bytes; default RFC 6928's, see initialWindow(). */
  initialWindow?: number;
  /** CUBIC only: HyStart++ (RFC 9406) in the initial slow start; default on, like Linux. */
  hystart?: boolean;
  /** CUBIC only: fast convergence (RFC 9438 §4.7); default on, like Linux. */
  fastConvergence?: boolean;
}

export function createCongestionControl(
  name: CongestionControlName,
  mss: number,
  opts: CongestionControlOptions = {},
): CongestionControl {
  return name === 'cubic' ? new CubicCongestionControl(mss, opts) : new RenoCongestionControl(mss, opts);
}
