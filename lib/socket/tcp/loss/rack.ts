/**
 * RACK-TLP (RFC 8985), used with SACK. RACK decides loss by time instead of by counting: once
 * a segment sent later has been delivered, one sent earlier that is still missing after an
 * RTT and a reordering window is lost (§6). That catches lost retransmissions and losses near
 * the end of a flight that too few SACKs follow for RFC 6675's DupThresh. TLP (§7) sends a probe
 * when the ACKs stop while data is outstanding, so that a lost tail draws a SACK (and RACK)
 * within two round trips instead of waiting for the retransmission timer.
 */
import type { DeliveryObserver, Flight } from '../flight';
import type { RttEstimator } from '../rtt';
import { seqGt, seqLt } from '../seq';
import { DUP_THRESH } from './newreno';

/** RFC 8985 §7.2: WCDelAckT, the longest a receiver may delay the ACK of a lone segment. */
export const WORST_CASE_DELAYED_ACK_MS = 200;
/** RFC 8985 §7.2: the PTO before any RTT sample. */
const INITIAL_PTO_MS = 1000;

export class Rack implements DeliveryObserver {
  /** RACK.xmit_ts (as the transmission's order, flight.ts): the most recently sent of the segments delivered. */
  private xmitOrder = -1;
  /** RACK.rtt: the RTT of that delivery. */
  private rtt = 0;
  /** RACK.fack: the highest end of what was delivered. */
  private fack: number | undefined;
  /** RACK.reordering_seen. */
  private reorderingSeen = false;

  constructor(
    private readonly flight: Flight,
    private readonly rttEstimator: RttEstimator,
  ) {}

  /** RFC 8985 §6.2 step 2 (RACK_update) and step 3 (RACK_detect_reordering). */
  delivered(sentAt: number, order: number, end: number, retransmitted: boolean, now: number): void {
    const min = this.rttEstimator.minRtt;
    // The ACK of a retransmitted segment may be for the original: a round trip shorter than
    // the minimum RTT says it is, and then the send time means nothing.
    if (retransmitted && min !== undefined && now - sentAt < min) return;
    if (this.fack === undefined || seqGt(end, this.fack)) this.fack = end;
    else if (seqLt(end, this.fack) && !retransmitted) this.reorderingSeen = true;
    if (order > this.xmitOrder) {
      this.xmitOrder = order;
      this.rtt = now - sentAt;
    }
  }

  /**
   * RFC 8985 §6.2 steps 4-5: marks lost what the last delivery shows missing; returns the ms
   * before the reordering timer should look again (0: no need).
   */
  detectLoss(now: number, recovering: boolean): number {
    if (this.xmitOrder < 0) return 0;
    return this.flight.rackMarkLost(this.xmitOrder, this.rtt + this.reorderingWindow(recovering), now);
  }

  /**
   * RFC 8985 §6.2 step 4 (RACK_update_reo_wnd): a quarter of the minimum RTT, at most SRTT;
   * none while no reordering has been seen and recovery is under way or DupThresh segments
   * are SACKed (then the classic rule would call it loss too).
   */
  private reorderingWindow(recovering: boolean): number {
    if (!this.reorderingSeen && (recovering || this.flight.sackedSegments >= DUP_THRESH)) return 0;
    const srtt = this.rttEstimator.srtt ?? 0;
    return Math.min((this.rttEstimator.minRtt ?? 0) / 4, srtt);
  }
}

/**
 * RFC 8985 §7.2 (TLP_calc_PTO): two smoothed RTTs, plus the worst-case delayed ACK when one
 * segment is all that is in flight (its ACK may be delayed).
 */
export function probeTimeout(srtt: number | undefined, oneSegment: boolean): number {
  if (srtt === undefined) return INITIAL_PTO_MS;
  return Math.ceil(2 * srtt + (oneSegment ? WORST_CASE_DELAYED_ACK_MS : 0));
}
