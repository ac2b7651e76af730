import type { Ipv4Address } from '../wire/address';
import { IPV4_HEADER_LEN, Ipv4Repr } from '../wire/ipv4';
import type { ProtocolCounters } from '../stats';

/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815), hardened the way Linux is: any overlap other
 * than an exact duplicate discards the whole datagram (RFC 5722 §4, written for IPv6 and
 * applied to IPv4 by Linux since 4.19), memory and table size are capped, and every
 * incomplete datagram times out from its first fragment's arrival.
 */
export interface ReassemblyConfig {
  /** Linux ipfrag_time: 30 s. */
  timeoutMs: number;
  /** Cap on bytes held by all incomplete datagrams together (Linux ipfrag_high_thresh: 4 MiB). */
  maxBytes: number;
  /** Cap on datagrams tracked at once, discarded ones awaiting their timeout included. */
  maxDatagrams: number;
  /** Cap on fragments per datagram: bounds the work one datagram can cost. */
  maxFragments: number;
}

export const DEFAULT_REASSEMBLY_CONFIG: ReassemblyConfig = {
  timeoutMs: 30_000,
  maxBytes: 4 * 1024 * 1024,
  maxDatagrams: 1024,
  maxFragments: 64,
};

export interface ReassembledDatagram {
  /** Fragment 0's header fields (options included), MF clear, offset 0, payloadLen the whole. */
  ip: Ipv4Repr;
  /** One fresh buffer holding the whole payload. */
  payload: Uint8Array;
}

export interface ExpiredDatagram {
  /** Fragment 0's IP header and first 8 payload bytes as received, to quote in ICMP Time Exceeded
   *  (RFC 792); present only when fragment 0 had arrived (RFC 1122 §3.3.2). */
  firstFragment: Uint8Array | undefined;
  src: Ipv4Address;
  dst: Ipv4Address;
}

/** Bytes charged per held fragment on top of its payload: what bookkeeping costs. */
const FRAGMENT_OVERHEAD = 64;
/** RFC 791 §3.1: total length is 16 bits, and a header is at least 20 bytes. */
const MAX_TOTAL_LEN = 0xffff;
/** RFC 792: Time Exceeded quotes the header and the first 64 bits of data. */
const QUOTED_DATA_LEN = 8;
/** RFC 3168 §5.3 codepoints. */
const ECN_NOT_ECT = 0;
const ECN_CE = 3;

interface Fragment {
  offset: number;
  end: number;
  data: Uint8Array;
}

interface PendingDatagram {
  readonly key: string;
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  fragments: Fragment[];
  /** Bytes charged to the memory cap (payload held plus overhead per fragment). */
  charged: number;
  /** Payload bytes held; with no overlaps, the datagram is whole when this reaches totalLen. */
  held: number;
  /** The highest end seen so far. */
  maxEnd: number;
  /** Known once the fragment with MF clear has arrived. */
  totalLen: number | undefined;
  /** Fragment 0's header (options copied), and its quote for ICMP. */
  first: Ipv4Repr | undefined;
  firstQuote: Uint8Array | undefined;
  /** Bit n set when a fragment with ECN codepoint n arrived. */
  ecnSeen: number;
  /** A tombstone: the datagram was discarded, its later fragments are too. */
  discarded: boolean;
}

export class Ipv4Reassembler {
  private readonly config: ReassemblyConfig;
  /** Insertion order is arrival order of first fragments, hence deadline order and age order. */
  private readonly datagrams = new Map<string, PendingDatagram>();
  private bytes = 0;

  constructor(private readonly stats: ProtocolCounters, config?: Partial<ReassemblyConfig>) {
    this.config = { ...DEFAULT_REASSEMBLY_CONFIG, ...config };
  }

  /** Bytes charged for all fragments held; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.bytes;
  }

  /** Datagrams tracked: incomplete ones and discarded ones awaiting their timeout. */
  get datagramsHeld(): number {
    return this.datagrams.size;
  }

  /**
   * Called with every received fragment (MF set or offset non-zero). `packet` is the whole IP packet
   * so fragment 0 can be kept for quoting. Returns the datagram when this fragment completes it.
   * `now` must not go backwards between calls.
   */
  add(ip: Ipv4Repr, packet: Uint8Array, payload: Uint8Array, now: number): ReassembledDatagram | undefined {
    const offset = ip.fragmentOffset;
    const end = offset + payload.length;
    const isLast = !ip.moreFragments;
    // RFC 791 §3.2: every fragment but the last carries whole 8-octet blocks; an empty one carries nothing.
    if (payload.length === 0 || (!isLast && payload.length % 8 !== 0)) return this.dropFragment('frag-bad-length');
    // RFC 791 §3.1: key is (source, destination, protocol, identification).
    const key = `${ip.src.value}>${ip.dst.value}/${ip.protocol}#${ip.ident}`;
    let d = this.datagrams.get(key);
    // RFC 5722 §4: "any constituent fragments, including those not yet received" are discarded.
    if (d?.discarded) return this.dropFragment('frag-discarded');
    if (end > MAX_TOTAL_LEN - IPV4_HEADER_LEN) return this.reject(d, 'frag-too-big');
    if (d) {
      const verdict = classify(d, offset, end, isLast, payload);
      // RFC 8200 §4.5: exact duplicates may be dropped alone, the datagram going on.
      if (verdict === 'duplicate') return this.dropFragment('frag-duplicate');
      if (verdict === 'overlap') return this.reject(d, 'frag-overlap');
      if (d.fragments.length >= this.config.maxFragments) return this.reject(d, 'frag-too-many');
    }
    const cost = payload.length + FRAGMENT_OVERHEAD;
    if (!this.makeRoom(cost, d)) return this.dropFragment('frag-memory');
    if (!d) {
      if (this.datagrams.size >= this.config.maxDatagrams) this.evictOldest();
      d = newDatagram(key, ip, now + this.config.timeoutMs);
      this.datagrams.set(key, d);
    }
    // Copied, so the received batch buffer is not pinned for up to the timeout.
    insertSorted(d.fragments, { offset, end, data: payload.slice() });
    d.charged += cost;
    this.bytes += cost;
    d.held += payload.length;
    d.maxEnd = Math.max(d.maxEnd, end);
    if (isLast) d.totalLen = end;
    d.ecnSeen |= 1 << ip.ecn;
    if (offset === 0) {
      d.first = new Ipv4Repr({ ...ip, options: ip.options.slice() });
      d.firstQuote = packet.slice(0, ip.bufferLen() + Math.min(QUOTED_DATA_LEN, payload.length));
    }
    return d.held === d.totalLen ? this.complete(d) : undefined;
  }

  /** Discards datagrams whose timeout has passed; the live ones are returned for ICMP Time Exceeded (code 1). */
  poll(now: number): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const d of this.datagrams.values()) {
      if (now < d.deadline) break;
      this.remove(d);
      // RFC 5722 §4: a discarded datagram is discarded silently, so no Time Exceeded for a tombstone.
      if (d.discarded) continue;
      this.stats.drop('frag-timeout');
      expired.push({ firstFragment: d.firstQuote, src: d.src, dst: d.dst });
    }
    return expired;
  }

  pollAt(): number | undefined {
    return this.datagrams.values().next().value?.deadline;
  }

  private complete(d: PendingDatagram): ReassembledDatagram | undefined {
    const first = d.first!;
    const totalLen = d.totalLen!;
    // RFC 791 §3.1: the whole datagram, fragment 0's header included, must fit the 16-bit total length.
    if (first.bufferLen() + totalLen > MAX_TOTAL_LEN) return this.reject(d, 'frag-too-big');
    // RFC 3168 §5.3: CE on any fragment marks the datagram; Not-ECT mixed with ECT is invalid (Linux drops it).
    const ecnSeen = d.ecnSeen;
    if ((ecnSeen & (1 << ECN_NOT_ECT)) !== 0 && ecnSeen !== 1 << ECN_NOT_ECT) return this.reject(d, 'frag-ecn-mismatch');
    const ecn = (ecnSeen & (1 << ECN_CE)) !== 0 ? ECN_CE : first.ecn;
    const payload = new Uint8Array(totalLen);
    for (const f of d.fragments) payload.set(f.data, f.offset);
    this.remove(d);
    const ip = new Ipv4Repr({ ...first, payloadLen: totalLen, moreFragments: false, fragmentOffset: 0, ecn });
    return { ip, payload };
  }

  private dropFragment(reason: string): undefined {
    this.stats.drop(reason);
    return undefined;
  }

  /**
   * Discards a whole datagram and keeps a tombstone until its timeout, so its later fragments are
   * dropped too (RFC 5722 §4) rather than starting a datagram that can never complete and would
   * end in a Time Exceeded. (Linux unhashes the queue instead and lets later fragments start anew.)
   */
  private reject(d: PendingDatagram | undefined, reason: string): undefined {
    this.stats.drop(reason);
    if (!d) return undefined;
    this.bytes -= d.charged;
    d.charged = 0;
    d.fragments = [];
    d.first = undefined;
    d.firstQuote = undefined;
    d.discarded = true;
    return undefined;
  }

  /** Evicts the oldest other datagrams until `cost` more bytes fit under the cap (Linux evicts under pressure). */
  private makeRoom(cost: number, keep: PendingDatagram | undefined): boolean {
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

  private remove(d: PendingDatagram): void {
    this.datagrams.delete(d.key);
    this.bytes -= d.charged;
  }
}

function newDatagram(key: string, ip: Ipv4Repr, deadline: number): PendingDatagram {
  return {
    key,
    src: ip.src,
    dst: ip.dst,
    deadline,
    fragments: [],
    charged: 0,
    held: 0,
    maxEnd: 0,
    totalLen: undefined,
    first: undefined,
    firstQuote: undefined,
    ecnSeen: 0,
    discarded: false,
  };
}

/**
 * Where a new fragment stands against what is held. RFC 791 §3.2 leaves overlaps to the
 * implementation; like Linux, a last fragment that moves the known end, or data beyond it,
 * is an inconsistency and counts as an overlap.
 */
function classify(d: PendingDatagram, offset: number, end: number, isLast: boolean, data: Uint8Array): 'fits' | 'duplicate' | 'overlap' {
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
