/**
 * The receive buffer: in-order bytes the app has not read, and out-of-order data waiting for
 * the hole before it (RFC 9293 §3.10.7.4, seventh step: "segments with higher beginning
 * sequence numbers ... may be held for later processing"), with the SACK blocks that describe
 * what is held (RFC 2018 §4).
 *
 * One ring holds both: a byte with sequence number s sits `s - RCV.NXT` bytes past the last
 * unread byte, so out-of-order data is copied once, into its final place, and a segment that
 * fills a hole only moves RCV.NXT over what is already there. This works because the window
 * never offers more than the free space (the caller trims every segment to the window), so
 * everything that can arrive has its place.
 *
 * Memory is bounded by the window, by `maxOutOfOrder` bytes held beyond a hole, and by
 * MAX_OUT_OF_ORDER_BLOCKS separate holes (so a peer sending one byte in every two cannot
 * make the block list grow with the window); and across connections by the stack's budget
 * (memory.ts), which every byte held, read or not, is charged to.
 */
import type { TcpMemory } from './memory';
import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from './seq';

/** Disjoint runs of held out-of-order data are limited to this many. */
export const MAX_OUT_OF_ORDER_BLOCKS = 512;

/**
 * The smallest ring, taken at the first byte (a connection that never carries data allocates
 * none): 64 bytes stay on V8's heap, cheap for the few bytes of a short exchange.
 */
const FIRST_CAPACITY = 64;
const NO_RING = new Uint8Array(0);

/** A run of held data: sequence numbers start..end-1. */
interface Block {
  start: number;
  end: number;
}

export interface SackBlock {
  left: number;
  right: number;
}

/**
 * What insert did: 'in-order' moved RCV.NXT, 'filled' moved it and took held data along
 * (a hole was filled: RFC 5681 §4.2 wants an immediate ACK), 'out-of-order' holds data past a
 * hole; anything else refused it, and says why (a drop reason, counted by the caller).
 */
export type InsertResult = 'in-order' | 'filled' | 'out-of-order' | InsertRefusal;

/**
 * 'out-of-order-full': this connection's out-of-order bytes or holes are spent;
 * 'memory-pressure': the stack is under memory pressure and holds no more out-of-order data;
 * 'memory-limit': the stack's memory is spent (memory.ts).
 */
export type InsertRefusal = 'out-of-order-full' | 'memory-pressure' | 'memory-limit';

export function isRefusal(result: InsertResult): result is InsertRefusal {
  return result !== 'in-order' && result !== 'filled' && result !== 'out-of-order';
}

export class RecvBuffer {
  private ring: Uint8Array;
  private head = 0;
  private unread = 0;
  private cap: number;
  /** RCV.NXT for data: the next in-order sequence number. */
  private next: number;
  /** Held out-of-order runs, in sequence order, disjoint and not touching. */
  private readonly blocks: Block[] = [];
  /** The same runs, the most recently changed first (RFC 2018 §4's reporting order). */
  private readonly recent: Block[] = [];
  private held = 0;

  /** The stack's budget, charged for every byte held until the connection ends (releaseMemory). */
  private memory: TcpMemory | undefined;

  constructor(nxt: number, capacity: number, private readonly maxOutOfOrder: number, memory?: TcpMemory) {
    this.memory = memory;
    this.next = nxt >>> 0;
    this.cap = Math.max(1, capacity);
    this.ring = NO_RING;
  }

  get nxt(): number {
    return this.next;
  }

  /** Sets RCV.NXT once the peer's SYN tells it, before any data. */
  begin(nxt: number): void {
    this.next = nxt >>> 0;
  }

  /** How many separate runs are held past holes. */
  get blockCount(): number {
    return this.blocks.length;
  }

  /** In-order bytes the app can read. */
  get readable(): number {
    return this.unread;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Room past RCV.NXT: the most a window may offer. */
  get space(): number {
    return Math.max(0, this.cap - this.unread);
  }

  get hasOutOfOrder(): boolean {
    return this.blocks.length > 0;
  }

  /** The caller keeps the capacity at least what it has offered (a window is never taken back). */
  setCapacity(bytes: number): void {
    this.cap = Math.max(1, bytes);
  }

  /**
   * Stores `data`, which starts at `seq`. The caller has trimmed it to the window: it starts
   * at or after RCV.NXT and ends within `space` of it.
   */
  insert(seq: number, data: Uint8Array): InsertResult {
    const len = data.length;
    const off = seqSub(seq, this.next);
    if (off < 0 || off + len > this.space) throw new RangeError(`segment ${seq}+${len} outside the window at ${this.next}`);
    if (off === 0) {
      if (!this.chargeInOrder(len - this.heldWithin(seq, seqAdd(seq, len)))) return 'memory-limit';
      this.place(0, data);
      this.unread += len;
      this.next = seqAdd(this.next, len);
      return this.absorb() ? 'filled' : 'in-order';
    }
    return this.hold(seq, data);
  }

  /** Up to `max` in-order bytes, as a copy the caller owns. */
  read(max: number): Uint8Array {
    const n = Math.max(0, Math.min(max, this.unread));
    const out = new Uint8Array(n);
    if (n === 0) return out;
    this.copy(this.head, n, out, 0);
    this.head = (this.head + n) % this.ring.length;
    this.unread -= n;
    this.memory?.release(n);
    if (this.unread === 0 && this.blocks.length === 0) this.head = 0;
    return out;
  }

  /**
   * Up to `max` SACK blocks (RFC 2018 §4): first the run holding the most recently received
   * out-of-order segment, then the others, most recently changed first, so that each run is
   * reported in several successive ACKs.
   */
  sackBlocks(max: number): SackBlock[] {
    const n = Math.min(max, this.recent.length);
    const out: SackBlock[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { left: this.recent[i].start, right: this.recent[i].end };
    return out;
  }

  /** Forgets everything held (the connection was reset: RFC 9293 §3.10.7.4 flushes the queues). */
  discard(): void {
    this.memory?.release(this.unread + this.held);
    this.unread = 0;
    this.head = 0;
    this.blocks.length = 0;
    this.recent.length = 0;
    this.held = 0;
  }

  /**
   * The connection ended: what it charged goes back to the stack's budget and nothing more is
   * counted (memory.ts). Data not yet read stays readable; no more can arrive.
   */
  releaseMemory(): void {
    this.memory?.release(this.unread + this.held);
    this.memory = undefined;
  }

  /**
   * Charges the stack's budget for `fresh` in-order bytes. At the limit they are refused,
   * unless nothing waits to be read (Linux: tcp_data_queue() forces the charge when the receive
   * queue is empty), so a connection always moves once its owner has read what it had.
   */
  private chargeInOrder(fresh: number): boolean {
    const memory = this.memory;
    if (memory === undefined || fresh <= 0 || memory.charge(fresh)) return true;
    if (this.unread > 0) return false;
    memory.force(fresh);
    return true;
  }

  /** Bytes of seq..end-1 already held past a hole. */
  private heldWithin(seq: number, end: number): number {
    let n = 0;
    for (const b of this.blocks) {
      if (!seqLt(b.start, end)) break;
      if (seqGt(b.end, seq)) n += seqSub(seqMin(b.end, end), seqMax(b.start, seq));
    }
    return n;
  }

  /** Moves RCV.NXT over held runs that now touch it; true if any did. */
  private absorb(): boolean {
    let took = false;
    while (this.blocks.length > 0 && seqLe(this.blocks[0].start, this.next)) {
      const b = this.blocks.shift() as Block;
      this.forgetRecent(b);
      this.held -= seqSub(b.end, b.start);
      if (seqGt(b.end, this.next)) {
        this.unread += seqSub(b.end, this.next);
        this.next = b.end;
      }
      took = true;
    }
    return took;
  }

  private hold(seq: number, data: Uint8Array): InsertResult {
    const end = seqAdd(seq, data.length);
    // The runs this one overlaps or touches: blocks[first..last).
    let first = 0;
    while (first < this.blocks.length && seqLt(this.blocks[first].end, seq)) first++;
    let last = first;
    let covered = 0;
    while (last < this.blocks.length && seqLe(this.blocks[last].start, end)) {
      const b = this.blocks[last];
      covered += Math.max(0, seqSub(seqMin(b.end, end), seqMax(b.start, seq)));
      last++;
    }
    const fresh = data.length - covered;
    const merged = last - first;
    if (fresh > 0) {
      if (this.held + fresh > this.maxOutOfOrder) return 'out-of-order-full';
      if (merged === 0 && this.blocks.length >= MAX_OUT_OF_ORDER_BLOCKS) return 'out-of-order-full';
      const memory = this.memory;
      if (memory !== undefined) {
        // memory.ts: under pressure, nothing more is held past a hole; it is never forced.
        if (memory.underPressure) return 'memory-pressure';
        if (!memory.charge(fresh)) return 'memory-limit';
      }
      this.place(seqSub(seq, this.next), data);
      this.held += fresh;
    }
    let run: Block;
    if (merged === 0) {
      run = { start: seq, end };
      this.blocks.splice(first, 0, run);
    } else {
      run = this.blocks[first];
      run.start = seqMin(run.start, seq);
      run.end = seqMax(this.blocks[last - 1].end, end);
      for (let i = first + 1; i < last; i++) this.forgetRecent(this.blocks[i]);
      this.blocks.splice(first + 1, merged - 1);
      this.forgetRecent(run);
    }
    this.recent.unshift(run);
    return 'out-of-order';
  }

  private forgetRecent(b: Block): void {
    const i = this.recent.indexOf(b);
    if (i >= 0) this.recent.splice(i, 1);
  }

  /** Writes `data` at `off` bytes past RCV.NXT, growing the ring if it reaches past it. */
  private place(off: number, data: Uint8Array): void {
    const from = this.unread + off;
    this.reserve(from + data.length);
    const ring = this.ring;
    const at = (this.head + from) % ring.length;
    const first = Math.min(data.length, ring.length - at);
    ring.set(data.subarray(0, first), at);
    if (first < data.length) ring.set(data.subarray(first), 0);
  }

  private copy(from: number, len: number, dst: Uint8Array, at: number): void {
    const ring = this.ring;
    const first = Math.min(len, ring.length - from);
    dst.set(ring.subarray(from, from + first), at);
    if (first < len) dst.set(ring.subarray(0, len - first), at + first);
  }

  /** Grows the ring to hold `need` bytes from the head, keeping unread and held data in place. */
  private reserve(need: number): void {
    if (need <= this.ring.length) return;
    let len = Math.max(this.ring.length, FIRST_CAPACITY);
    while (len < need) len *= 2;
    const next = new Uint8Array(Math.max(need, Math.min(len, this.cap)));
    // Everything from the head to the end of the last held run moves, holes included.
    const last = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1].end : this.next;
    this.copy(this.head, this.unread + seqSub(last, this.next), next, 0);
    this.ring = next;
    this.head = 0;
  }
}
