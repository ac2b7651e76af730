/**
 * A connection's timers as deadlines in ms (DESIGN.md §1: timers are data, `poll(now)` fires
 * what is due, `pollAt()` is the earliest).
 */
import type { QueuedDeadline } from './timer-queue';

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

/**
 * Each deadline is an accessor over a plain field so that setting one can tell the layer's
 * timer queue (timer-queue.ts) when the earliest deadline moves earlier: the queue then polls
 * only connections that have something due.
 */
export class TcpTimers implements QueuedDeadline {
  /** The deadline this connection has in the layer's queue (timer-queue.ts), if any. */
  queuedAt: number | undefined;
  /** Told of a deadline earlier than the one queued (the layer pushes it on its queue). */
  onEarlier: ((at: number) => void) | undefined;
  private retransmitAt: number | undefined;
  private persistAt: number | undefined;
  private reorderAt: number | undefined;
  private probeAt: number | undefined;
  private delayedAckAt: number | undefined;
  private keepaliveAt: number | undefined;
  private timeWaitAt: number | undefined;
  private finWait2At: number | undefined;
  /**
   * Work owed by a call that has no `now` (read() opened the window, setNoDelay() released
   * held data): due at once, done by the next poll.
   */
  private immediateAt: number | undefined;

  /** RFC 6298: retransmission of the SYN, SYN-ACK, data or FIN. */
  get retransmit(): number | undefined {
    return this.retransmitAt;
  }

  set retransmit(at: number | undefined) {
    this.retransmitAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 9293 §3.8.6.1: the next zero-window probe. */
  get persist(): number | undefined {
    return this.persistAt;
  }

  set persist(at: number | undefined) {
    this.persistAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 8985 §6.2: RACK's reordering timer, when a segment may yet turn out lost. */
  get reorder(): number | undefined {
    return this.reorderAt;
  }

  set reorder(at: number | undefined) {
    this.reorderAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 8985 §7.2: TLP's probe timeout (PTO). */
  get probe(): number | undefined {
    return this.probeAt;
  }

  set probe(at: number | undefined) {
    this.probeAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 1122 §4.2.3.2 / RFC 5681 §4.2: the latest an owed ACK may wait. */
  get delayedAck(): number | undefined {
    return this.delayedAckAt;
  }

  set delayedAck(at: number | undefined) {
    this.delayedAckAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 1122 §4.2.3.6: the next keepalive check. */
  get keepalive(): number | undefined {
    return this.keepaliveAt;
  }

  set keepalive(at: number | undefined) {
    this.keepaliveAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** RFC 9293 §3.4.2: the end of TIME-WAIT (2 MSL). */
  get timeWait(): number | undefined {
    return this.timeWaitAt;
  }

  set timeWait(at: number | undefined) {
    this.timeWaitAt = at;
    if (at !== undefined) this.queue(at);
  }

  /** The end of an orphan's FIN-WAIT-2 (ORPHAN_FIN_WAIT_2_MS). */
  get finWait2(): number | undefined {
    return this.finWait2At;
  }

  set finWait2(at: number | undefined) {
    this.finWait2At = at;
    if (at !== undefined) this.queue(at);
  }

  /** Work owed by a call that has no `now`: see immediateAt. */
  get immediate(): number | undefined {
    return this.immediateAt;
  }

  set immediate(at: number | undefined) {
    this.immediateAt = at;
    if (at !== undefined) this.queue(at);
  }

  next(): number | undefined {
    let at = earlier(this.retransmitAt, this.persistAt);
    at = earlier(at, this.reorderAt);
    at = earlier(at, this.probeAt);
    at = earlier(at, this.delayedAckAt);
    at = earlier(at, this.keepaliveAt);
    at = earlier(at, this.timeWaitAt);
    at = earlier(at, this.immediateAt);
    return earlier(at, this.finWait2At);
  }

  requeue(): void {
    const at = this.next();
    if (at !== undefined) this.queue(at);
  }

  clear(): void {
    this.retransmitAt = undefined;
    this.persistAt = undefined;
    this.reorderAt = undefined;
    this.probeAt = undefined;
    this.delayedAckAt = undefined;
    this.keepaliveAt = undefined;
    this.timeWaitAt = undefined;
    this.finWait2At = undefined;
    this.immediateAt = undefined;
  }

  private queue(at: number): void {
    if (this.queuedAt !== undefined && this.queuedAt <= at) return;
    if (this.onEarlier === undefined) return;
    this.queuedAt = at;
    this.onEarlier(at);
  }
}

function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}
