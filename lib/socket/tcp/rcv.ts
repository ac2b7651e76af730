/**
 * The receiving half of a connection (RFC 9293 §3.3.1 RCV.*): the receive buffer, the window
 * we offer (receiver-side SWS avoidance, RFC 9293 §3.8.6.2.2, with RFC 7323 scaling), the
 * peer's FIN, and when an ACK is owed (RFC 1122 §4.2.3.2, RFC 5681 §4.2).
 */
import type { TcpMemory } from './memory';
import { RecvBuffer, type InsertResult } from './recv-buffer';
import { seqAdd, seqGt, seqSub } from './seq';
import type { TcpTimers } from './timers';

/** Linux: TCP_MSS_DEFAULT; the first guess at the peer's segment size, until segments show it. */
const INITIAL_RCV_MSS = 536;

export class TcpReceiver {
  readonly buf: RecvBuffer;
  /** IRS, once the peer's SYN is seen. */
  irs = 0;
  /**
   * Our window's shift (RFC 7323 §2.2), once negotiated; at most 14, so `1 << shift` is exact
   * (and ~5x cheaper per segment than `2 ** shift`, a call into pow).
   */
  shift = 0;
  /** The peer's FIN: its sequence number once seen, and whether RCV.NXT has passed it. */
  finSeq: number | undefined;
  finReceived = false;
  /** An ACK must go out before the current event ends. */
  ackNow = false;
  /** Linux's rcv_mss: the size of the peer's full segments, as seen. */
  private rcvMss: number;
  /** In-order bytes received since our last ACK. */
  private unacked = 0;
  private quickAcks: number;
  /** RCV.NXT + RCV.WND as last advertised: never moved left (RFC 9293 §3.8.6.2.2). */
  private advRight = 0;
  /** Autotuning: on until the owner sets a size; the start and the bytes read of this round. */
  private autotune = true;
  private tuneFrom: number | undefined;
  private tuneBytes = 0;

  constructor(
    capacity: number,
    maxOutOfOrder: number,
    quickAcks: number,
    private readonly ourMss: number,
    private readonly timers: TcpTimers,
    private readonly delayedAckMs: number,
    private readonly maxCapacity: number,
    private readonly memory?: TcpMemory,
  ) {
    this.buf = new RecvBuffer(0, capacity, maxOutOfOrder, memory);
    this.quickAcks = quickAcks;
    this.rcvMss = Math.min(INITIAL_RCV_MSS, ourMss);
  }

  /** The peer's SYN: IRS, RCV.NXT = IRS + 1, and the window our SYN (or SYN-ACK) offers. */
  start(irs: number): void {
    this.irs = irs >>> 0;
    this.buf.begin(seqAdd(irs, 1));
    this.advRight = seqAdd(this.buf.nxt, this.synWindow());
  }

  /** RCV.NXT: the data's, and one past the peer's FIN once it is in. */
  get nxt(): number {
    return this.finReceived ? seqAdd(this.buf.nxt, 1) : this.buf.nxt;
  }

  /** RCV.WND: what our last segment offered, less what has arrived since. */
  get wnd(): number {
    return Math.max(0, seqSub(this.advRight, this.nxt));
  }

  /** The window field of a SYN or SYN-ACK: never scaled (RFC 7323 §2.2). */
  synWindow(): number {
    return Math.min(0xffff, this.buf.space);
  }

  /** The window field of any other segment; remembers the right edge it offers. */
  windowField(): number {
    const field = Math.min(0xffff, Math.floor(this.offer() / (1 << this.shift)));
    const right = seqAdd(this.nxt, field * (1 << this.shift));
    // The scaled field rounds down; the right edge already offered stays (RFC 7323 §2.4).
    if (seqGt(right, this.advRight)) this.advRight = right;
    return field;
  }

  /**
   * Data inside the window, in sequence order or not (the caller trimmed it). RFC 5681 §4.2:
   * out-of-order data and data that fills a hole are acknowledged at once; in-order data at
   * least every second full segment (RFC 1122 §4.2.3.2: Linux counts more than one rcv_mss
   * unacknowledged), the first `quickAcks` segments at once (Linux's quick-ACK mode, so slow
   * start is not held back), otherwise after the delayed-ACK timeout.
   */
  onData(seq: number, data: Uint8Array, now: number): InsertResult {
    const result = this.buf.insert(seq, data);
    if (result !== 'in-order') {
      this.ackNow = true;
    } else {
      if (data.length > this.rcvMss) this.rcvMss = Math.min(data.length, this.ourMss);
      this.unacked += data.length;
      if (this.quickAcks > 0) {
        this.quickAcks--;
        this.ackNow = true;
      } else if (this.unacked > this.rcvMss) {
        this.ackNow = true;
      } else if (this.timers.delayedAck === undefined) {
        this.timers.delayedAck = now + this.delayedAckMs;
      }
    }
    this.takeFin();
    return result;
  }

  /** The peer's FIN at `seq`, in the window; true when RCV.NXT has reached it. */
  onFin(seq: number): boolean {
    if (this.finSeq === undefined) this.finSeq = seq;
    return this.takeFin();
  }

  /** An ACK went out: nothing is owed any more. */
  ackSent(): void {
    this.ackNow = false;
    this.unacked = 0;
    this.timers.delayedAck = undefined;
  }

  /**
   * After the app read: is the window that reading opened worth an ACK of its own? Linux
   * (tcp_cleanup_rbuf): yes once the offered window had fallen to half the buffer or less and
   * the new one is at least twice as big, so a sender stalled on a small window learns at once.
   */
  windowUpdateDue(): boolean {
    const cur = this.wnd;
    if (2 * cur > this.buf.capacity) return false;
    const next = this.offer();
    return next > 0 && next >= 2 * cur;
  }

  /**
   * A new buffer size from the owner, never below what is already offered or held (RFC 9293
   * §3.8.6.2.2: the right edge is not taken back). It ends autotuning (Linux: SO_RCVBUF locks
   * the buffer).
   */
  setCapacity(bytes: number): void {
    this.autotune = false;
    this.buf.setCapacity(Math.max(bytes, this.buf.readable + this.wnd));
  }

  /**
   * Receive-buffer autotuning (Linux: tcp_rcv_space_adjust(), "dynamic right-sizing"): what
   * the app reads in one round trip is what the peer managed to send in one; a buffer of twice
   * that keeps the window from being what limits it. Grows only, up to the largest buffer the
   * window scale was chosen for, and not while the stack is under memory pressure (memory.ts;
   * Linux: tcp_rcv_space_adjust() and tcp_grow_window() hold back then).
   */
  onRead(bytes: number, now: number, rtt: number | undefined): void {
    if (!this.autotune || rtt === undefined || this.memory?.underPressure) return;
    if (this.tuneFrom === undefined) this.tuneFrom = now;
    this.tuneBytes += bytes;
    if (now - this.tuneFrom < Math.max(rtt, 1)) return;
    const want = Math.min(this.maxCapacity, 2 * this.tuneBytes);
    if (want > this.buf.capacity) this.buf.setCapacity(want);
    this.tuneFrom = now;
    this.tuneBytes = 0;
  }

  private takeFin(): boolean {
    if (!this.finReceived && this.finSeq !== undefined && this.buf.nxt === this.finSeq) this.finReceived = true;
    return this.finReceived;
  }

  /**
   * RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): the offered right edge moves only once the
   * free space beyond it reaches min(half the buffer, a full segment); in between, the window
   * shrinks as data arrives.
   */
  private offer(): number {
    const space = Math.min(this.buf.space, 0xffff * (1 << this.shift));
    const cur = this.wnd;
    if (space - cur >= Math.min(this.buf.capacity / 2, this.rcvMss)) return space;
    return cur;
  }
}
