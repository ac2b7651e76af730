/**
 * A connection's timers as deadlines in ms (DESIGN.md §1: timers are data, `poll(now)` fires
 * what is due, `pollAt()` is the earliest).
 */

/**
 * Linux: tcp_fin_timeout = 60 s. A connection its owner has closed that sits in FIN-WAIT-2
 * (the peer acknowledged our FIN but never sends its own) is dropped after this; RFC 9293 has
 * no limit, and without one a vanished peer would hold the connection forever.
 */
export const ORPHAN_FIN_WAIT_2_MS = 60_000;

/**
 * Linux: tcp_invalid_ratelimit = 500 ms. A duplicate ACK for an out-of-window segment that
 * carries no data is sent at most this often, so two ends that disagree about the sequence
 * space do not ACK each other in a loop (RFC 9293 §3.10.7.4 would answer every one).
 */
export const INVALID_ACK_INTERVAL_MS = 500;

export class TcpTimers {
  /** RFC 6298: retransmission of the SYN, SYN-ACK, data or FIN. */
  retransmit: number | undefined;
  /** RFC 9293 §3.8.6.1: the next zero-window probe. */
  persist: number | undefined;
  /** RFC 8985 §6.2: RACK's reordering timer, when a segment may yet turn out lost. */
  reorder: number | undefined;
  /** RFC 8985 §7.2: TLP's probe timeout (PTO). */
  probe: number | undefined;
  /** RFC 1122 §4.2.3.2 / RFC 5681 §4.2: the latest an owed ACK may wait. */
  delayedAck: number | undefined;
  /** RFC 1122 §4.2.3.6: the next keepalive check. */
  keepalive: number | undefined;
  /** RFC 9293 §3.4.2: the end of TIME-WAIT (2 MSL). */
  timeWait: number | undefined;
  /** The end of an orphan's FIN-WAIT-2 (ORPHAN_FIN_WAIT_2_MS). */
  finWait2: number | undefined;
  /**
   * Work owed by a call that has no `now` (read() opened the window, setNoDelay() released
   * held data): due at once, done by the next poll.
   */
  immediate: number | undefined;

  next(): number | undefined {
    let at = earlier(this.retransmit, this.persist);
    at = earlier(at, this.reorder);
    at = earlier(at, this.probe);
    at = earlier(at, this.delayedAck);
    at = earlier(at, this.keepalive);
    at = earlier(at, this.timeWait);
    at = earlier(at, this.immediate);
    return earlier(at, this.finWait2);
  }

  clear(): void {
    this.retransmit = undefined;
    this.persist = undefined;
    this.reorder = undefined;
    this.probe = undefined;
    this.delayedAck = undefined;
    this.keepalive = undefined;
    this.timeWait = undefined;
    this.finWait2 = undefined;
    this.immediate = undefined;
  }
}

function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}
