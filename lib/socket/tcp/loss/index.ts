/**
 * Loss detection and recovery, behind one seam, so the sender does not know which algorithm
 * runs: NewReno (RFC 5681 §3.2 fast retransmit and fast recovery, RFC 6582 partial ACKs, RFC
 * 3042 limited transmit) when the peer does not SACK; with SACK, RFC 6675 recovery over the
 * scoreboard in flight.ts, with RACK (RFC 8985 §6) marking losses by time as well. TLP's probe
 * (RFC 8985 §7) is the sender's, in snd.ts.
 *
 * The sender reports every ACK and every retransmission timeout; the algorithm tells the
 * congestion control when recovery starts and ends (cc/index.ts: those are the sender's to
 * decide), says what to retransmit, and how far past cwnd the sender may go meanwhile.
 */
export interface AckEvent {
  /** SEG.ACK. */
  ack: number;
  /** Sequence space newly acknowledged by this ACK; 0 for one that does not advance SND.UNA. */
  acked: number;
  /** RFC 5681 §2's duplicate ACK: data outstanding, no data, no SYN/FIN, SEG.ACK = SND.UNA, same window. */
  duplicate: boolean;
  /** The highest sequence number sent so far, plus one (BSD's snd_max). */
  sndMax: number;
  /** SMSS: the size of a full segment. */
  mss: number;
  /** FlightSize after the ACK was applied (SND.NXT - SND.UNA). */
  flight: number;
  /** Segments this ACK's SACK blocks reported for the first time. */
  newlySacked: number;
  now: number;
}

/**
 * What the sender does next: nothing more, or retransmit the segment at SND.UNA; 'retransmit'
 * restarts the retransmission timer as any ACK of new data does (RFC 6298 §5.3), while
 * 'retransmit-keep-timer' leaves it running (RFC 6582 §3.2 step 5: only the first partial
 * ACK of a recovery resets the timer, so a long recovery falls back on the RTO).
 */
export type LossAction = 'none' | 'retransmit' | 'retransmit-keep-timer';

export interface LossRecovery {
  readonly inRecovery: boolean;
  /** Bytes the sender may have in flight beyond cwnd: fast-recovery inflation, limited transmit. */
  extraWindow(mss: number): number;
  /**
   * What counts against cwnd (cc/index.ts's bytesInFlight): FlightSize (SND.NXT - SND.UNA), or
   * with SACK RFC 6675's pipe (what is neither SACKed nor presumed lost).
   */
  pipe(flightSize: number, nxt: number): number;
  onAck(ev: AckEvent): LossAction;
  /** The next sequence number to retransmit within cwnd (RFC 6675 NextSeg() rule 1), if any. */
  nextRetransmission(): number | undefined;
  /** RFC 8985 §6.2: ms until the reordering timer should look again (0: not needed), after each event. */
  readonly reorderWait: number;
  /** The reordering timer fired (`ev` describes the flight now; acked 0, not a duplicate). */
  onReorderTimeout(ev: AckEvent): LossAction;
  /** The retransmission timer fired: whatever recovery was under way is over. */
  onTimeout(sndMax: number): void;
}
