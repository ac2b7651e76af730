/**
 * Conservative SACK-based loss recovery (RFC 6675), with limited transmit (RFC 3042) before it
 * and RACK (RFC 8985 §6, rack.ts) marking lost what time shows missing.
 * The scoreboard is flight.ts: SACKed segments, and those presumed lost by IsLost() (a segment
 * with DupThresh SACKed segments, or DupThresh * SMSS SACKed bytes, above it). During
 * recovery the sender keeps cwnd - pipe >= SMSS filled with NextSeg(): lost segments first,
 * then new data; several holes are repaired in one round trip, where NewReno repairs one.
 */
import type { CongestionControl } from '../cc';
import type { Flight } from '../flight';
import { seqGe, seqGt } from '../seq';
import type { AckEvent, LossAction, LossRecovery } from './index';
import { DUP_THRESH } from './newreno';
import type { Rack } from './rack';

/** RFC 3042 §2: new segments on each of the first two duplicate ACKs. */
const LIMITED_TRANSMIT_SEGMENTS = 2;

export class SackRecovery implements LossRecovery {
  private dupAcks = 0;
  private recovering = false;
  /** RFC 6675 §5: RecoveryPoint, SND.MAX when recovery (or an RTO) began; starts at the ISS. */
  private recoveryPoint: number;

  /** RFC 8985 §6.2: ms until RACK's reordering timer should look again. */
  reorderWait = 0;

  constructor(
    private readonly cc: CongestionControl,
    private readonly flight: Flight,
    private readonly rack: Rack,
    iss: number,
  ) {
    this.recoveryPoint = iss >>> 0;
  }

  get inRecovery(): boolean {
    return this.recovering;
  }

  extraWindow(mss: number): number {
    return this.recovering ? 0 : Math.min(this.dupAcks, LIMITED_TRANSMIT_SEGMENTS) * mss;
  }

  pipe(_flightSize: number, nxt: number): number {
    return this.flight.pipeBelow(nxt);
  }

  nextRetransmission(): number | undefined {
    return this.recovering ? this.flight.firstLost() : undefined;
  }

  onAck(ev: AckEvent): LossAction {
    // RFC 6675 §2: with SACK, a "duplicate" is an ACK that does not advance SND.UNA but carries
    // new SACK information (or is a duplicate in RFC 5681's sense).
    if (ev.acked > 0) this.dupAcks = 0;
    else if (ev.duplicate || ev.newlySacked > 0) this.dupAcks++;
    // RFC 6675 §4 IsLost(), then RFC 8985 §6.2 (the RACK update ran as the ACK was taken).
    if (ev.newlySacked > 0) this.flight.markLost(DUP_THRESH, ev.mss);
    return this.decide(ev);
  }

  onReorderTimeout(ev: AckEvent): LossAction {
    return this.decide(ev);
  }

  /** RACK, then whether recovery starts or ends. */
  private decide(ev: AckEvent): LossAction {
    this.reorderWait = this.rack.detectLoss(ev.now, this.recovering);
    if (this.recovering) {
      if (seqGe(ev.ack, this.recoveryPoint)) {
        // RFC 6675 §5 (2): everything outstanding at the start is acknowledged.
        this.recovering = false;
        this.cc.onRecoveryEnd(ev.now);
      }
      return 'none';
    }
    // RFC 6675 §5 (4): DupThresh duplicates, or a segment lost by IsLost() or by RACK (RFC
    // 8985 §6.1); but only once per window of data (SND.UNA past RecoveryPoint).
    if (!(this.dupAcks >= DUP_THRESH || this.flight.lost > 0) || !seqGt(ev.ack, this.recoveryPoint)) return 'none';
    this.recovering = true;
    this.recoveryPoint = ev.sndMax;
    // (4.2): ssthresh = cwnd = FlightSize / 2 (or CUBIC's β); (4.3): retransmit the first
    // segment at once, then NextSeg() within cwnd - pipe.
    this.cc.onCongestionEvent(ev.now, ev.flight);
    this.flight.markLostAt(ev.ack);
    return 'retransmit';
  }

  onTimeout(sndMax: number): void {
    // RFC 6675 §5.1: an RTO ends recovery; RecoveryPoint = HighData. The SACK marks stay: the
    // resent data skips what the peer holds.
    this.dupAcks = 0;
    this.recovering = false;
    this.recoveryPoint = sndMax;
    this.reorderWait = 0;
  }
}
