import type { DropReason } from '../wire/drop';
import type { ProtocolCounters } from '../stats';

/** The caps both reassemblers enforce; each has its own defaults. */
export interface ReassemblyConfig {
  /** From the first-arriving fragment until an incomplete datagram is discarded. */
  timeoutMs: number;
  /** Cap on bytes held by all incomplete datagrams together (Linux ipfrag_high_thresh: 4 MiB). */
  maxBytes: number;
  /** Cap on datagrams tracked at once, discarded ones awaiting their timeout included. */
  maxDatagrams: number;
  /** Cap on fragments per datagram: bounds the work one datagram can cost. */
  maxFragments: number;
}

/** A fragment's data and where it sits in the reassembled data. */
export interface Fragment {
  offset: number;
  end: number;
  data: Uint8Array;
}

/** What the reassembler keeps from the fragment at offset 0; `quote` goes into ICMP Time Exceeded. */
export interface FirstFragmentBase {
  quote: Uint8Array;
}

export interface PendingDatagram<A, F extends FirstFragmentBase> {
  readonly key: string;
  readonly src: A;
  readonly dst: A;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  fragments: Fragment[];
  /** Bytes charged to the memory cap (data held plus overhead per fragment). */
  charged: number;
  /** Data bytes held; with no overlaps, the datagram is whole when this reaches totalLen. */
  held: number;
  /** The highest end seen so far. */
  maxEnd: number;
  /** Known once the last fragment (MF / M clear) has arrived. */
  totalLen: number | undefined;
  first: F | undefined;
  /** Bit n set when a fragment with ECN codepoint n arrived. */
  ecnSeen: number;
  /** A tombstone: the datagram was discarded, its later fragments are too (RFC 5722 §4). */
  discarded: boolean;
}

/** One arriving fragment, already checked by the reassembler's own rules. */
export interface ArrivingFragment<A, F extends FirstFragmentBase> {
  key: string;
  src: A;
  dst: A;
  offset: number;
  data: Uint8Array;
  isLast: boolean;
  ecn: number;
  /** Kept when this is the fragment at offset 0. */
  first: F | undefined;
  /** Bytes charged on top of the data and the per-fragment overhead. */
  extraCost: number;
}

/** An incomplete datagram whose timeout passed: what ICMP Time Exceeded (code 1) needs. */
export interface TimedOutDatagram<A> {
  /** The first fragment's quote, when the first fragment had arrived. */
  firstFragment: Uint8Array | undefined;
  src: A;
  dst: A;
}

/** Bytes charged per held fragment on top of what it holds: what bookkeeping costs. */
const FRAGMENT_OVERHEAD = 64;
/** RFC 3168 §5.3 codepoints. */
const ECN_NOT_ECT = 0;
const ECN_CE = 3;

/**
 * The datagrams being reassembled, keyed by the caller's key in arrival order of their first
 * fragments, with the caps on memory, datagram count and fragments per datagram, and tombstones
 * for discarded datagrams until their timeout. What makes a fragment valid, and how a whole
 * datagram is rebuilt, stay with each IP version's reassembler.
 */
export class FragmentTable<A, F extends FirstFragmentBase> {
  /** Insertion order is arrival order of first-arriving fragments, hence deadline order and age order. */
  private readonly datagrams = new Map<string, PendingDatagram<A, F>>();
  private bytes = 0;

  constructor(
    private readonly stats: ProtocolCounters,
    private readonly config: ReassemblyConfig,
  ) {}

  /** Bytes charged for all fragments held; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.bytes;
  }

  /** Datagrams tracked: incomplete ones and discarded ones awaiting their timeout. */
  get datagramsHeld(): number {
    return this.datagrams.size;
  }

  get(key: string): PendingDatagram<A, F> | undefined {
    return this.datagrams.get(key);
  }

  /**
   * Holds a fragment of `d` (the live datagram under `f.key`, or undefined to start one). Returns
   * the datagram when this fragment makes it whole; undefined when it does not, or when the
   * fragment was dropped, its reason counted.
   */
  hold(d: PendingDatagram<A, F> | undefined, f: ArrivingFragment<A, F>, now: number): PendingDatagram<A, F> | undefined {
    const end = f.offset + f.data.length;
    if (d) {
      const verdict = classify(d, f.offset, end, f.isLast, f.data);
      // RFC 8200 §4.5: exact duplicates may be dropped alone, the datagram going on.
      if (verdict === 'duplicate') return this.drop('frag-duplicate');
      if (verdict === 'overlap') return this.discard(d, 'frag-overlap');
      if (d.fragments.length >= this.config.maxFragments) return this.discard(d, 'frag-too-many');
    }
    const cost = f.data.length + FRAGMENT_OVERHEAD + f.extraCost;
    if (!this.makeRoom(cost, d)) return this.drop('frag-memory');
    if (!d) {
      if (this.datagrams.size >= this.config.maxDatagrams) this.evictOldest();
      d = newDatagram(f.key, f.src, f.dst, now + this.config.timeoutMs);
      this.datagrams.set(f.key, d);
    }
    // Copied, so the received batch buffer is not pinned for up to the timeout.
    insertSorted(d.fragments, { offset: f.offset, end, data: f.data.slice() });
    d.charged += cost;
    this.bytes += cost;
    d.held += f.data.length;
    d.maxEnd = Math.max(d.maxEnd, end);
    if (f.isLast) d.totalLen = end;
    d.ecnSeen |= 1 << f.ecn;
    if (f.first) d.first = f.first;
    return d.held === d.totalLen ? d : undefined;
  }

  /** Discards datagrams whose timeout has passed; the live ones are returned for ICMP Time Exceeded (code 1). */
  poll(now: number): TimedOutDatagram<A>[] {
    const expired: TimedOutDatagram<A>[] = [];
    for (const d of this.datagrams.values()) {
      if (now < d.deadline) break;
      this.remove(d);
      // RFC 5722 §4: a discarded datagram is discarded silently, so no Time Exceeded for a tombstone.
      if (d.discarded) continue;
      this.stats.drop('frag-timeout');
      expired.push({ firstFragment: d.first?.quote, src: d.src, dst: d.dst });
    }
    return expired;
  }

  pollAt(): number | undefined {
    return this.datagrams.values().next().value?.deadline;
  }

  /**
   * Drops the fragment for `reason` and, given its datagram, discards the whole datagram and keeps
   * a tombstone until its timeout, so its later fragments are dropped too (RFC 5722 §4) rather than
   * starting a datagram that can never complete and would end in a Time Exceeded. (Linux unhashes
   * the queue instead and lets later fragments start anew.)
   */
  discard(d: PendingDatagram<A, F> | undefined, reason: DropReason): undefined {
    this.stats.drop(reason);
    if (!d) return undefined;
    this.bytes -= d.charged;
    d.charged = 0;
    d.fragments = [];
    d.first = undefined;
    d.discarded = true;
    return undefined;
  }

  /** Counts a fragment dropped alone, its datagram (if any) going on. */
  drop(reason: DropReason): undefined {
    this.stats.drop(reason);
    return undefined;
  }

  /** Forgets a datagram, whole or evicted, and releases what it was charged. */
  remove(d: PendingDatagram<A, F>): void {
    this.datagrams.delete(d.key);
    this.bytes -= d.charged;
  }

  /** Evicts the oldest other datagrams until `cost` more bytes fit under the cap (Linux evicts under pressure). */
  private makeRoom(cost: number, keep: PendingDatagram<A, F> | undefined): boolean {
    const max = this.config.maxBytes;
    if (cost > max) return false;
    for (const d of this.datagrams.values()) {
      if (this.bytes + cost <= max) return true;
      if (d === keep || d.charged === 0) continue;
      this.remove(d);
      this.stats.drop('frag-evicted');
    }
    return this.bytes + cost <= max;
  }

  private evictOldest(): void {
    const oldest = this.datagrams.values().next().value;
    if (!oldest) return;
    this.remove(oldest);
    if (!oldest.discarded) this.stats.drop('frag-evicted');
  }
}

/**
 * The ECN codepoint of the reassembled datagram, or undefined when its fragments' codepoints may
 * not be combined. RFC 3168 §5.3: CE on any fragment marks the datagram; Not-ECT mixed with ECT
 * is invalid (Linux drops it).
 */
export function reassembledEcn(ecnSeen: number, firstEcn: number): number | undefined {
  if ((ecnSeen & (1 << ECN_NOT_ECT)) !== 0 && ecnSeen !== 1 << ECN_NOT_ECT) return undefined;
  return (ecnSeen & (1 << ECN_CE)) !== 0 ? ECN_CE : firstEcn;
}

function newDatagram<A, F extends FirstFragmentBase>(key: string, src: A, dst: A, deadline: number): PendingDatagram<A, F> {
  return { key, src, dst, deadline, fragments: [], charged: 0, held: 0, maxEnd: 0, totalLen: undefined, first: undefined, ecnSeen: 0, discarded: false };
}

/**
 * Where a new fragment stands against what is held. RFC 791 §3.2 leaves overlaps to the
 * implementation; RFC 5722 §4 discards the packet on any overlap (Linux applies it to IPv4 too).
 * As Linux does, a last fragment that moves the known end, or data beyond it, is an
 * inconsistency and counts as an overlap.
 */
function classify<A, F extends FirstFragmentBase>(
  d: PendingDatagram<A, F>,
  offset: number,
  end: number,
  isLast: boolean,
  data: Uint8Array,
): 'fits' | 'duplicate' | 'overlap' {
  if (d.totalLen !== undefined) {
    if (isLast ? end !== d.totalLen : end > d.totalLen) return 'overlap';
  } else if (isLast && end < d.maxEnd) {
    return 'overlap';
  }
  for (const f of d.fragments) {
    if (f.end <= offset || f.offset >= end) continue;
    return f.offset === offset && f.end === end && sameBytes(f.data, data) ? 'duplicate' : 'overlap';
  }
  return 'fits';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fragments mostly arrive in order, so the search runs from the end. */
function insertSorted(fragments: Fragment[], f: Fragment): void {
  let i = fragments.length;
  while (i > 0 && fragments[i - 1].offset > f.offset) i--;
  fragments.splice(i, 0, f);
}
