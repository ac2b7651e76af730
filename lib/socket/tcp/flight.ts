/**
 * The segments in flight, one record per transmission unit from SND.UNA to SND.MAX: where it
 * starts and ends, when it was last sent, whether it was ever retransmitted, and whether the
 * peer SACKed it. The send buffer keeps only bytes; this is what an ACK is matched against:
 *
 * - RTT samples that obey Karn's rule (RFC 6298 §3): an ACK that covers a retransmitted
 *   segment gives no sample from its send time (Linux: tcp_clean_rtx_queue()).
 * - The SACK scoreboard of RFC 6675 §3 (what has been SACKed, what is lost, pipe), kept per
 *   segment as Linux does rather than per octet.
 *
 * Records live in parallel typed arrays used as a ring that doubles when full: no allocation
 * per segment.
 */
import { seqGe, seqGt, seqLt, seqSub } from './seq';

const RETRANSMITTED = 1;
const SACKED = 2;
const LOST = 4;

/** Small enough that V8 keeps the first arrays on its heap (cheap for short connections); they double. */
const INITIAL_RECORDS = 8;

/**
 * Told of each segment newly delivered (cumulatively acknowledged or SACKed): RACK (RFC 8985
 * §6.2). `order` numbers transmissions as they happened: RFC 8985's RACK_sent_after() compares
 * send times and breaks ties by sequence number, which at a millisecond clock cannot tell a
 * retransmission from the original sent in the same millisecond; the count can.
 */
export interface DeliveryObserver {
  delivered(sentAt: number, order: number, end: number, retransmitted: boolean, now: number): void;
}

/** What an ACK of new data covered. */
export interface AckedRun {
  /** Whole segments taken off (a partly acknowledged one is trimmed, not counted). */
  segments: number;
  /** Any of them was retransmitted: their send times say nothing (Karn). */
  retransmitted: boolean;
  /** When the oldest and the newest of them were last sent (ms). */
  oldestSentAt: number;
  newestSentAt: number;
}

export class Flight {
  private starts = new Uint32Array(INITIAL_RECORDS);
  private ends = new Uint32Array(INITIAL_RECORDS);
  private sentAt = new Float64Array(INITIAL_RECORDS);
  private order = new Float64Array(INITIAL_RECORDS);
  private marks = new Uint8Array(INITIAL_RECORDS);
  private head = 0;
  private count = 0;
  /** Sequence space SACKed and not yet cumulatively acknowledged. */
  private sackedBytes = 0;
  /** Sequence space marked lost and not retransmitted since. */
  private lostBytes = 0;
  /** Segments SACKed and not yet cumulatively acknowledged. */
  private sackedCount = 0;
  /** Transmissions so far (the `order` of the next one). */
  private transmissions = 0;
  /** Reused result of ack(). */
  private readonly run: AckedRun = { segments: 0, retransmitted: false, oldestSentAt: 0, newestSentAt: 0 };

  get size(): number {
    return this.count;
  }

  get lost(): number {
    return this.lostBytes;
  }

  get sackedSegments(): number {
    return this.sackedCount;
  }

  /** First transmission of start..end-1, which continues the flight. */
  sent(start: number, end: number, now: number): void {
    if (this.count > 0 && !seqGe(start, this.ends[this.slot(this.count - 1)])) {
      // Data below the end of the flight is a retransmission, whatever the caller thought.
      this.resent(start, end, now);
      return;
    }
    if (this.count === this.starts.length) this.grow();
    const i = this.slot(this.count++);
    this.starts[i] = start;
    this.ends[i] = end;
    this.sentAt[i] = now;
    this.order[i] = this.transmissions++;
    this.marks[i] = 0;
  }

  /** Another transmission of start..end-1: every segment it overlaps is now retransmitted. */
  resent(start: number, end: number, now: number): void {
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (!seqLt(this.starts[i], end)) break;
      if (!seqGt(this.ends[i], start)) continue;
      if (this.marks[i] & LOST) this.lostBytes -= seqSub(this.ends[i], this.starts[i]);
      this.marks[i] = (this.marks[i] | RETRANSMITTED) & ~LOST;
      this.sentAt[i] = now;
      this.order[i] = this.transmissions++;
    }
  }

  /** The cumulative ACK reached `una`: drops what it covers; what did it cover? */
  ack(una: number, now = 0, observer?: DeliveryObserver): AckedRun {
    const run = this.run;
    run.segments = 0;
    run.retransmitted = false;
    while (this.count > 0) {
      const i = this.head;
      if (seqGt(this.ends[i], una)) {
        // Partly acknowledged (the peer took part of a segment): keep the rest.
        if (seqGt(una, this.starts[i])) {
          const cut = seqSub(una, this.starts[i]);
          if (this.marks[i] & SACKED) this.sackedBytes -= cut;
          if (this.marks[i] & LOST) this.lostBytes -= cut;
          this.starts[i] = una;
        }
        break;
      }
      const len = seqSub(this.ends[i], this.starts[i]);
      if (this.marks[i] & SACKED) {
        this.sackedBytes -= len;
        this.sackedCount--;
      } else {
        observer?.delivered(this.sentAt[i], this.order[i], this.ends[i], (this.marks[i] & RETRANSMITTED) !== 0, now);
      }
      if (this.marks[i] & LOST) this.lostBytes -= len;
      if (this.marks[i] & RETRANSMITTED) run.retransmitted = true;
      if (run.segments === 0) run.oldestSentAt = this.sentAt[i];
      run.newestSentAt = this.sentAt[i];
      run.segments++;
      this.head = (this.head + 1) % this.starts.length;
      this.count--;
    }
    if (this.count === 0) this.head = 0;
    // RFC 2018 §8: a cumulative ACK that stops at data the peer SACKed means it dropped that
    // data (reneged), which a receiver may do. Its SACKs are believed no longer, so that a
    // timeout resends everything from SND.UNA (Linux: tcp_check_sack_reneging()).
    else if (this.marks[this.head] & SACKED) this.forgetSacks();
    return run;
  }

  /** RFC 2018 §4 / RFC 6675 §3: segments wholly inside left..right-1 are SACKed; returns how many were new. */
  sack(left: number, right: number, now = 0, observer?: DeliveryObserver): number {
    let fresh = 0;
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (!seqLt(this.starts[i], right)) break;
      if (seqLt(this.starts[i], left) || seqGt(this.ends[i], right) || this.marks[i] & SACKED) continue;
      const len = seqSub(this.ends[i], this.starts[i]);
      if (this.marks[i] & LOST) this.lostBytes -= len;
      this.marks[i] = (this.marks[i] | SACKED) & ~LOST;
      this.sackedBytes += len;
      this.sackedCount++;
      observer?.delivered(this.sentAt[i], this.order[i], this.ends[i], (this.marks[i] & RETRANSMITTED) !== 0, now);
      fresh++;
    }
    return fresh;
  }

  /**
   * RFC 6675 §4 (IsLost): marks lost every un-SACKed segment below the highest SACKed one by
   * at least `dupThresh` SACKed segments or `dupThresh * mss` SACKed bytes; returns the bytes
   * newly marked.
   */
  markLost(dupThresh: number, mss: number): number {
    let sackedAbove = 0;
    let sackedBytesAbove = 0;
    let marked = 0;
    for (let k = this.count - 1; k >= 0; k--) {
      const i = this.slot(k);
      const len = seqSub(this.ends[i], this.starts[i]);
      if (this.marks[i] & SACKED) {
        sackedAbove++;
        sackedBytesAbove += len;
        continue;
      }
      if (this.marks[i] & (LOST | RETRANSMITTED)) continue;
      if (sackedAbove >= dupThresh || sackedBytesAbove >= dupThresh * mss) {
        this.marks[i] |= LOST;
        this.lostBytes += len;
        marked += len;
      }
    }
    return marked;
  }

  /**
   * RFC 6675 §4 SetPipe(), per segment: the bytes below `nxt` neither SACKed nor presumed lost
   * (a lost segment resent since counts again: resent() clears its mark).
   */
  pipeBelow(nxt: number): number {
    if (this.count === 0) return 0;
    const first = this.starts[this.head];
    const last = this.ends[this.slot(this.count - 1)];
    if (!seqLt(nxt, last)) return Math.max(0, seqSub(nxt, first) - this.sackedBytes - this.lostBytes);
    // Sending again from SND.UNA after a timeout: only what lies below `nxt` counts.
    let pipe = 0;
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (!seqLt(this.starts[i], nxt)) break;
      if (this.marks[i] & (SACKED | LOST)) continue;
      pipe += seqSub(seqLt(this.ends[i], nxt) ? this.ends[i] : nxt, this.starts[i]);
    }
    return pipe;
  }

  /**
   * RFC 8985 §6.2 step 5 (RACK_detect_loss): every segment neither SACKed nor already lost that
   * was sent before the most recently sent of those delivered (`xmitOrder`), and longer ago
   * than `window` (RACK.rtt + RACK.reo_wnd), is lost. Returns the ms until the first of the
   * others would be (the reordering timer), 0 when none waits.
   */
  rackMarkLost(xmitOrder: number, window: number, now: number): number {
    let wait = 0;
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (this.marks[i] & (SACKED | LOST) || this.order[i] >= xmitOrder) continue;
      const left = this.sentAt[i] + window - now;
      if (left <= 0) {
        this.marks[i] |= LOST;
        this.lostBytes += seqSub(this.ends[i], this.starts[i]);
      } else if (left > wait) {
        wait = left;
      }
    }
    return wait;
  }

  /** Where the last segment in flight starts (TLP's probe, RFC 8985 §7.3), or undefined. */
  lastStart(): number | undefined {
    return this.count === 0 ? undefined : this.starts[this.slot(this.count - 1)];
  }

  /** RFC 6675 §5 (4.3): the segment at SND.UNA is presumed lost when recovery begins. */
  markLostAt(seq: number): void {
    const k = this.find(seq);
    if (k === undefined) return;
    const i = this.slot(k);
    if (this.marks[i] & (SACKED | LOST)) return;
    this.marks[i] |= LOST;
    this.lostBytes += seqSub(this.ends[i], this.starts[i]);
  }

  /** RFC 6675 §4 NextSeg() rule (1): where the first segment marked lost (and not resent since) starts. */
  firstLost(): number | undefined {
    if (this.lostBytes <= 0) return undefined;
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (this.marks[i] & LOST) return this.starts[i];
    }
    return undefined;
  }

  /** The end of the segment holding `seq`, or undefined when none does. */
  segmentEnd(seq: number): number | undefined {
    const k = this.find(seq);
    return k === undefined ? undefined : this.ends[this.slot(k)];
  }

  /** The end of the SACKed segment holding `seq`; undefined when it is not SACKed. */
  sackedEnd(seq: number): number | undefined {
    if (this.sackedBytes <= 0) return undefined;
    const k = this.find(seq);
    if (k === undefined) return undefined;
    const i = this.slot(k);
    return this.marks[i] & SACKED ? this.ends[i] : undefined;
  }

  private forgetSacks(): void {
    for (let k = 0; k < this.count; k++) this.marks[this.slot(k)] &= ~SACKED;
    this.sackedBytes = 0;
    this.sackedCount = 0;
  }

  /** The index (from the head) of the segment holding `seq`. */
  private find(seq: number): number | undefined {
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      if (seqGt(this.starts[i], seq)) return undefined;
      if (seqLt(seq, this.ends[i])) return k;
    }
    return undefined;
  }

  private slot(k: number): number {
    return (this.head + k) % this.starts.length;
  }

  private grow(): void {
    const n = this.starts.length * 2;
    const starts = new Uint32Array(n);
    const ends = new Uint32Array(n);
    const sentAt = new Float64Array(n);
    const order = new Float64Array(n);
    const marks = new Uint8Array(n);
    for (let k = 0; k < this.count; k++) {
      const i = this.slot(k);
      starts[k] = this.starts[i];
      ends[k] = this.ends[i];
      sentAt[k] = this.sentAt[i];
      order[k] = this.order[i];
      marks[k] = this.marks[i];
    }
    this.starts = starts;
    this.ends = ends;
    this.sentAt = sentAt;
    this.order = order;
    this.marks = marks;
    this.head = 0;
  }
}
