/**
 * The send buffer: the bytes the app wrote that the peer has not acknowledged yet, sent or
 * not (RFC 9293 §3.3.1: from SND.UNA on). One ring of bytes: a write copies in once, a
 * segment's payload is copied out once, straight into the frame (TcpSegmentOut), and an ACK
 * only moves the head. Segment boundaries are not kept: a retransmission is cut afresh to the
 * MSS of the moment, which is what resegmenting after a PMTU drop needs.
 *
 * The ring is taken at the first write (FIRST_CAPACITY) and doubles as data arrives, up to
 * the limit, so an idle connection does not hold its whole buffer. Every byte held is charged
 * to the stack's budget
 * (memory.ts) until it is acknowledged or the connection ends.
 */
import { FORCED_WRITE_BYTES, type TcpMemory } from './memory';

/**
 * The smallest ring, taken at the first byte (a connection that never carries data allocates
 * none): 64 bytes stay on V8's heap, cheap for the few bytes of a short exchange.
 */
const FIRST_CAPACITY = 64;
const NO_RING = new Uint8Array(0);

export class SendBuffer {
  private ring: Uint8Array;
  private head = 0;
  private size = 0;
  private cap: number;
  /** The stack's budget; undefined once the connection has ended (releaseMemory). */
  private memory: TcpMemory | undefined;

  constructor(limit: number, memory?: TcpMemory) {
    this.cap = Math.max(1, limit);
    this.memory = memory;
    this.ring = NO_RING;
  }

  /** Bytes held: unacknowledged, sent or not. */
  get length(): number {
    return this.size;
  }

  /** Room for more writes. */
  get free(): number {
    return Math.max(0, this.cap - this.size);
  }

  /** A smaller limit keeps what is held (nothing is dropped) and takes writes again below it. */
  setLimit(bytes: number): void {
    this.cap = Math.max(1, bytes);
  }

  /** Copies in as much of `data` as there is room for, here and in the stack's budget; returns the count taken. */
  write(data: Uint8Array): number {
    let n = Math.min(data.length, this.free);
    if (n > 0 && this.memory !== undefined) n = this.charge(n);
    if (n === 0) return 0;
    this.reserve(this.size + n);
    const ring = this.ring;
    const tail = (this.head + this.size) % ring.length;
    const first = Math.min(n, ring.length - tail);
    ring.set(data.subarray(0, first), tail);
    if (first < n) ring.set(data.subarray(first, n), 0);
    this.size += n;
    return n;
  }

  /** Copies `len` bytes starting `offset` bytes after the head into `dst` at `at`. */
  copyOut(offset: number, len: number, dst: Uint8Array, at: number): void {
    if (offset < 0 || len < 0 || offset + len > this.size) throw new RangeError(`send buffer holds ${this.size} bytes, asked for ${offset}+${len}`);
    const ring = this.ring;
    const start = (this.head + offset) % ring.length;
    const first = Math.min(len, ring.length - start);
    dst.set(ring.subarray(start, start + first), at);
    if (first < len) dst.set(ring.subarray(0, len - first), at + first);
  }

  /** Drops `n` acknowledged bytes from the head. */
  consume(n: number): void {
    const k = Math.min(n, this.size);
    this.size -= k;
    this.memory?.release(k);
    this.head = this.size === 0 ? 0 : (this.head + k) % this.ring.length;
  }

  /** The connection ended: what it charged goes back to the stack's budget, and nothing more is counted. */
  releaseMemory(): void {
    this.memory?.release(this.size);
    this.memory = undefined;
  }

  /**
   * What the stack's budget grants of `n` bytes (memory.ts): what is left below the limit, and
   * at least a page when nothing is queued (Linux: tcp_stream_alloc_skb() forces the charge
   * when the write and retransmit queues are empty), so the owner can always write again once
   * its data is acknowledged.
   */
  private charge(n: number): number {
    const memory = this.memory as TcpMemory;
    let granted = memory.chargeUpTo(n);
    const floor = this.size === 0 ? Math.min(n, FORCED_WRITE_BYTES) : 0;
    if (granted < floor) {
      memory.force(floor - granted);
      granted = floor;
    }
    return granted;
  }

  /** Grows the ring (doubling, within the limit) to hold `need` bytes, unwrapping it. */
  private reserve(need: number): void {
    if (need <= this.ring.length) return;
    let len = Math.max(this.ring.length, FIRST_CAPACITY);
    while (len < need) len *= 2;
    const next = new Uint8Array(Math.max(need, Math.min(len, this.cap)));
    this.copyOut(0, this.size, next, 0);
    this.ring = next;
    this.head = 0;
  }
}
