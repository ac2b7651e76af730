/**
 * The stack-wide budget for TCP's buffers, as Linux's tcp_mem: every connection's send buffer,
 * receive buffer and out-of-order data draw on one count of bytes, so that many connections
 * (or a few peers that flood out-of-order data) cannot take more memory than the stack allows,
 * however large each connection's own limits are.
 *
 * Two thresholds, in bytes of data held:
 * - pressure (Linux: tcp_mem[1], tcp_memory_pressure): receive windows stop growing
 *   (autotuning pauses, as tcp_rcv_space_adjust() does under pressure), and out-of-order data
 *   that would add to what is held is refused (Linux prunes its out-of-order queue,
 *   tcp_prune_ofo_queue(); refusing it up front never takes back a SACK, RFC 2018 §8).
 * - limit (Linux: tcp_mem[2]): nothing more is charged. Arriving data that would pass it is
 *   dropped unacknowledged, so the peer sends it again (tcp_data_queue(), TCPRcvQDrop), and
 *   writes are refused until memory frees.
 *
 * So that no connection is ever stuck while others hold the memory, a connection with an empty
 * queue may always take one allocation past the limit (Linux: sk_forced_mem_schedule()): an
 * in-order segment when nothing waits to be read, and one page of writes when nothing waits
 * to be sent. Its next read, or the ACK of that page, frees it again.
 *
 * Bytes of data are counted, not the rings that hold them (Linux counts truesize); each buffer
 * keeps what it charged and gives it all back when the connection ends (tcb.ts).
 */

/** Linux: SK_MEM_QUANTUM, one page; what an empty send buffer may always take. */
export const FORCED_WRITE_BYTES = 4096;

export class TcpMemory {
  private used = 0;

  constructor(
    readonly pressureBytes: number,
    readonly limitBytes: number,
  ) {}

  /** Bytes charged now, by every connection together. */
  get allocated(): number {
    return this.used;
  }

  /** Above the pressure threshold: windows stop growing, out-of-order data is refused. */
  get underPressure(): boolean {
    return this.used > this.pressureBytes;
  }

  /** Charges `bytes` if the limit allows all of them; false (nothing charged) otherwise. */
  charge(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  /** Charges as many of `bytes` as the limit allows; returns how many. */
  chargeUpTo(bytes: number): number {
    const n = Math.max(0, Math.min(bytes, this.limitBytes - this.used));
    this.used += n;
    return n;
  }

  /** Charges past the limit (sk_forced_mem_schedule): only for a connection with an empty queue. */
  force(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
