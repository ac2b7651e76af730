/**
 * Fast retransmit and NewReno fast recovery (RFC 5681 §3.2, RFC 6582), with limited transmit
 * (RFC 3042). Without SACK, the sender learns of one loss per round trip: the third duplicate
 * ACK retransmits the first unacknowledged segment, and each partial ACK during recovery
 * retransmits the next one, until an ACK covers everything that was outstanding when
 * recovery began.
 */
import type { CongestionControl } from '../cc';
import { seqGe, seqGt } from '../seq';
import type { AckEvent, LossAction, LossRecovery } from './index';

/** RFC 5681 §3.2: DupThresh. */
export const DUP_THRESH = 3;
/** RFC 3042 §2: new segments on each of the first two duplicate ACKs. */
const LIMITED_TRANSMIT_SEGMENTS = 2;

export class NewRenoRecovery implements LossRecovery {
  private dupAcks = 0;
  private recovering = false;
  /**
   * RFC 6582 §3.2: "recover", where the highest data sent stood when recovery (or an RTO)
   * began; kept as SND.MAX, one past it, as FreeBSD's snd_recover.
   */
  private recover: number;
  /** RFC 5681 §3.2 steps 3-4, RFC 6582 §3.2 step 5: cwnd's inflation (or deflation) during recovery. */
  private inflation = 0;
  private partialAcks = 0;

  /** RFC 6582 §3.2 step 1: recover starts at the initial send sequence number. */
  constructor(private readonly cc: CongestionControl, iss: number) {
    this.recover = iss >>> 0;
  }

  get inRecovery(): boolean {
    return this.recovering;
  }

  extraWindow(mss: number): number {
    if (this.recovering) return this.inflation;
    return Math.min(this.dupAcks, LIMITED_TRANSMIT_SEGMENTS) * mss;
  }

  pipe(flightSize: number, _nxt: number): number {
    return flightSize;
  }

  /** Without SACK there is nothing to time: no reordering timer. */
  readonly reorderWait = 0;

  onReorderTimeout(): LossAction {
    return 'none';
  }

  /** NewReno retransmits only the segment at SND.UNA, through LossAction. */
  nextRetransmission(): number | undefined {
    return undefined;
  }

  onAck(ev: AckEvent): LossAction {
    if (ev.acked > 0) return this.newData(ev);
    if (!ev.duplicate) return 'none';
    this.dupAcks++;
    if (this.recovering) {
      // RFC 5681 §3.2 step 4: each further duplicate means a segment left the network.
      this.inflation += ev.mss;
      return 'none';
    }
    if (this.dupAcks !== DUP_THRESH) return 'none';
    // RFC 6582 §3.2 step 2: duplicates that do not cover more than "recover" are about data
    // sent before the last recovery or timeout; acting on them would halve cwnd twice for one
    // loss.
    if (!seqGt(ev.ack, this.recover)) return 'none';
    this.recover = ev.sndMax;
    this.recovering = true;
    this.partialAcks = 0;
    // RFC 5681 §3.2 steps 2-3: ssthresh from FlightSize, cwnd = ssthresh + 3*SMSS.
    this.cc.onCongestionEvent(ev.now, ev.flight);
    this.inflation = DUP_THRESH * ev.mss;
    return 'retransmit';
  }

  onTimeout(sndMax: number): void {
    this.dupAcks = 0;
    this.recovering = false;
    this.inflation = 0;
    // RFC 6582 §3.2 step 4 (the timeout case): duplicates for data sent before the timeout
    // must not start a fast retransmit.
    this.recover = sndMax;
  }

  private newData(ev: AckEvent): LossAction {
    this.dupAcks = 0;
    if (!this.recovering) return 'none';
    if (seqGe(ev.ack, this.recover)) {
      // RFC 6582 §3.2 step 3: a full acknowledgment ends recovery; cwnd deflates to ssthresh.
      this.recovering = false;
      this.inflation = 0;
      this.cc.onRecoveryEnd(ev.now);
      return 'none';
    }
    // RFC 6582 §3.2 step 5: a partial ACK. The next hole is lost too: retransmit it; deflate
    // by what was acknowledged, adding one SMSS back when at least that much was.
    this.inflation -= ev.acked;
    if (ev.acked >= ev.mss) this.inflation += ev.mss;
    this.partialAcks++;
    return this.partialAcks === 1 ? 'retransmit' : 'retransmit-keep-timer';
  }
}
