import type { Ipv6Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6NextHeader, Ipv6Repr } from '../wire/ipv6';
import { type Ipv6FragmentHeader, isAtomic, isChainError, walkIpv6Chain } from '../wire/ipv6-ext';
import type { ProtocolCounters } from '../stats';
import type { ReassemblyConfig } from './ipv4-reassembly';
import { lastHeaderOffset } from './ipv6-fragment';

/**
 * IPv6 reassembly (RFC 8200 §4.5), hardened as RFC 5722 (any overlap discards the whole packet),
 * RFC 6946 (atomic fragments are whole packets) and RFC 7112 (the first fragment holds the whole
 * header chain) ask, with the IPv4 reassembler's caps: bytes held by all incomplete packets,
 * packets tracked, fragments per packet; the oldest packet is evicted under pressure.
 */
export const DEFAULT_IPV6_REASSEMBLY_CONFIG: ReassemblyConfig = {
  /** RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving fragment" (Linux ip6frag_time). */
  timeoutMs: 60_000,
  maxBytes: 4 * 1024 * 1024,
  maxDatagrams: 1024,
  maxFragments: 64,
};

export interface ReassembledIpv6Packet {
  /** The first fragment's header fields; payloadLen the whole; nextHeader the first unfragmentable header's, or the fragment header's Next Header when there is none. */
  ip: Ipv6Repr;
  /** One fresh buffer: the first fragment's unfragmentable headers (the last one's Next Header rewritten to the fragment header's), then the reassembled data. */
  payload: Uint8Array;
}

/** A fragment discarded with an ICMPv6 Parameter Problem the RFC asks the receiver to send to its source (subject to RFC 4443 §2.4 (e): not for a multicast destination). */
export interface RejectedIpv6Fragment {
  error: DropReason;
  /** Code 0 (erroneous header field) or 3 (incomplete header chain, RFC 7112 §5); pointer from the start of the IPv6 header. */
  icmp: { code: 0 | 3; pointer: number };
}

export interface ExpiredIpv6Datagram {
  /** The first fragment as received, cut to what an ICMPv6 error may quote (RFC 4443 §2.4 (c)), for Time Exceeded code 1; present only when it had arrived (RFC 8200 §4.5). */
  firstFragment: Uint8Array | undefined;
  src: Ipv6Address;
  dst: Ipv6Address;
}

/** Bytes charged per held fragment on top of what it holds: what bookkeeping costs. */
const FRAGMENT_OVERHEAD = 64;
const MAX_PAYLOAD_LEN = 0xffff;
const PAYLOAD_LENGTH_FIELD = 4;
/** Within the fragment header. */
const FRAGMENT_OFFSET_FIELD = 2;
/** RFC 4443 §2.4 (c): an error message does not exceed the minimum MTU; 40 + 8 bytes of headers. */
const MAX_QUOTE_LEN = IPV6_MIN_MTU - IPV6_HEADER_LEN - 8;
/** RFC 3168 §5.3 codepoints. */
const ECN_NOT_ECT = 0;
const ECN_CE = 3;

/** The part of an upper-layer header RFC 7112 §5 needs in the first fragment: the ports, the ICMPv6 type and code (Linux requires the same). */
const UPPER_HEADER_NEEDED: Record<number, number> = {
  [Ipv6NextHeader.Tcp]: 20,
  [Ipv6NextHeader.Udp]: 8,
  [Ipv6NextHeader.Icmpv6]: 8,
  [Ipv6NextHeader.NoNextHeader]: 0,
};

interface Fragment {
  offset: number;
  end: number;
  data: Uint8Array;
}

interface FirstFragment {
  ip: Ipv6Repr;
  unfragmentable: Uint8Array;
  nextHeader: number;
  quote: Uint8Array;
}

interface PendingDatagram {
  readonly key: string;
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  fragments: Fragment[];
  charged: number;
  /** Data bytes held; with no overlaps, the packet is whole when this reaches totalLen. */
  held: number;
  maxEnd: number;
  /** Known once the fragment with M clear has arrived. */
  totalLen: number | undefined;
  first: FirstFragment | undefined;
  /** Bit n set when a fragment with ECN codepoint n arrived. */
  ecnSeen: number;
  /** A tombstone: the packet was discarded, its later fragments are too (RFC 5722 §4). */
  discarded: boolean;
}

export class Ipv6Reassembler {
  private readonly config: ReassemblyConfig;
  /** Insertion order is arrival order of first-arriving fragments, hence deadline order and age order. */
  private readonly datagrams = new Map<string, PendingDatagram>();
  private bytes = 0;

  constructor(private readonly stats: ProtocolCounters, config?: Partial<ReassemblyConfig>) {
    this.config = { ...DEFAULT_IPV6_REASSEMBLY_CONFIG, ...config };
  }

  /** Bytes charged for all fragments held; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.bytes;
  }

  /** Packets tracked: incomplete ones and discarded ones awaiting their timeout. */
  get datagramsHeld(): number {
    return this.datagrams.size;
  }

  /**
   * Called with every received packet that has a fragment header. `packet` is the whole IPv6 packet
   * (kept, from the first fragment, to quote in Time Exceeded), `fragPayload` the data after the
   * fragment header, `unfragmentable` the headers between the IPv6 header and the fragment header.
   * Returns the packet when this fragment completes it, a rejection when the RFC asks for a
   * Parameter Problem, else undefined. `now` must not go backwards between calls.
   */
  add(
    ip: Ipv6Repr,
    packet: Uint8Array,
    frag: Ipv6FragmentHeader,
    fragPayload: Uint8Array,
    unfragmentable: Uint8Array,
    now: number,
  ): ReassembledIpv6Packet | RejectedIpv6Fragment | undefined {
    // RFC 6946 §4: an atomic fragment is a whole packet, never mixed with queued fragments of its ident.
    if (isAtomic(frag)) return joined(ip, unfragmentable, frag.nextHeader, [{ offset: 0, end: fragPayload.length, data: fragPayload }], fragPayload.length, ip.ecn);
    const offset = frag.offset;
    const end = offset + fragPayload.length;
    const isLast = !frag.moreFragments;
    // RFC 8200 §4.5: a fragment other than the last is a multiple of 8 octets long.
    if (!isLast && fragPayload.length % 8 !== 0) return this.rejectFragment('frag-bad-length', 0, PAYLOAD_LENGTH_FIELD);
    if (fragPayload.length === 0) return this.dropFragment('frag-empty');
    // RFC 8200 §4.5: a fragment whose reassembled Payload Length would pass 65535 is discarded, pointing at its offset.
    if (unfragmentable.length + end > MAX_PAYLOAD_LEN) {
      return this.rejectFragment('frag-too-big', 0, IPV6_HEADER_LEN + frag.headerOffset + FRAGMENT_OFFSET_FIELD);
    }
    // RFC 8200 §4.5, RFC 7112 §5: the first fragment holds every header up to the upper-layer header (Linux points at 0).
    if (offset === 0 && headerChainIsIncomplete(frag.nextHeader, fragPayload)) return this.rejectFragment('frag-tiny-first', 3, 0);
    // RFC 8200 §4.5: fragments are matched by source, destination and identification.
    const key = keyOf(ip.src, ip.dst, frag.ident);
    let d = this.datagrams.get(key);
    // RFC 5722 §4: "any constituent fragments, including those not yet received" are discarded.
    if (d?.discarded) return this.dropFragment('frag-discarded');
    if (d) {
      const verdict = classify(d, offset, end, isLast, fragPayload);
      // RFC 8200 §4.5: an exact duplicate may be dropped alone, the packet going on.
      if (verdict === 'duplicate') return this.dropFragment('frag-duplicate');
      if (verdict === 'overlap') return this.discard(d, 'frag-overlap');
      if (d.fragments.length >= this.config.maxFragments) return this.discard(d, 'frag-too-many');
    }
    const first = offset === 0 ? firstFragment(ip, packet, frag, unfragmentable) : undefined;
    const cost = fragPayload.length + FRAGMENT_OVERHEAD + (first ? first.unfragmentable.length + first.quote.length : 0);
    if (!this.makeRoom(cost, d)) return this.dropFragment('frag-memory');
    if (!d) {
      if (this.datagrams.size >= this.config.maxDatagrams) this.evictOldest();
      d = newDatagram(key, ip, now + this.config.timeoutMs);
      this.datagrams.set(key, d);
    }
    // Copied, so the received batch buffer is not pinned for up to the timeout.
    insertSorted(d.fragments, { offset, end, data: fragPayload.slice() });
    d.charged += cost;
    this.bytes += cost;
    d.held += fragPayload.length;
    d.maxEnd = Math.max(d.maxEnd, end);
    if (isLast) d.totalLen = end;
    d.ecnSeen |= 1 << ip.ecn;
    if (first) d.first = first;
    return d.held === d.totalLen ? this.complete(d) : undefined;
  }

  /** Discards packets whose timeout has passed; the live ones are returned for ICMPv6 Time Exceeded code 1. */
  poll(now: number): ExpiredIpv6Datagram[] {
    const expired: ExpiredIpv6Datagram[] = [];
    for (const d of this.datagrams.values()) {
      if (now < d.deadline) break;
      this.remove(d);
      // RFC 5722 §4: a discarded packet is discarded silently, so no Time Exceeded for a tombstone.
      if (d.discarded) continue;
      this.stats.drop('frag-timeout');
      expired.push({ firstFragment: d.first?.quote, src: d.src, dst: d.dst });
    }
    return expired;
  }

  pollAt(): number | undefined {
    return this.datagrams.values().next().value?.deadline;
  }

  private complete(d: PendingDatagram): ReassembledIpv6Packet | undefined {
    const first = d.first!;
    // RFC 8200 §4.5: the Payload Length is the first fragment's unfragmentable part plus the last fragment's offset and length.
    if (first.unfragmentable.length + d.totalLen! > MAX_PAYLOAD_LEN) return this.discard(d, 'frag-too-big');
    // RFC 3168 §5.3: CE on any fragment marks the packet; Not-ECT mixed with ECT is invalid (Linux drops it).
    const ecnSeen = d.ecnSeen;
    if ((ecnSeen & (1 << ECN_NOT_ECT)) !== 0 && ecnSeen !== 1 << ECN_NOT_ECT) return this.discard(d, 'frag-ecn-mismatch');
    const ecn = (ecnSeen & (1 << ECN_CE)) !== 0 ? ECN_CE : first.ip.ecn;
    this.remove(d);
    return joined(first.ip, first.unfragmentable, first.nextHeader, d.fragments, d.totalLen!, ecn);
  }

  private dropFragment(reason: DropReason): undefined {
    this.stats.drop(reason);
    return undefined;
  }

  private rejectFragment(reason: DropReason, code: 0 | 3, pointer: number): RejectedIpv6Fragment {
    this.stats.drop(reason);
    return { error: reason, icmp: { code, pointer } };
  }

  /**
   * Discards a whole packet and keeps a tombstone until its timeout, so its later fragments are
   * dropped too (RFC 5722 §4) rather than starting a packet that can never complete.
   */
  private discard(d: PendingDatagram, reason: DropReason): undefined {
    this.stats.drop(reason);
    this.bytes -= d.charged;
    d.charged = 0;
    d.fragments = [];
    d.first = undefined;
    d.discarded = true;
    return undefined;
  }

  /** Evicts the oldest other packets until `cost` more bytes fit under the cap (Linux evicts under pressure). */
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

/** The packet as RFC 8200 §4.5 rebuilds it: unfragmentable part, its last Next Header from the fragment header, then the data. */
function joined(first: Ipv6Repr, unfragmentable: Uint8Array, nextHeader: number, fragments: Fragment[], dataLen: number, ecn: number): ReassembledIpv6Packet {
  const payload = new Uint8Array(unfragmentable.length + dataLen);
  payload.set(unfragmentable);
  const last = lastHeaderOffset(unfragmentable);
  if (last !== undefined) payload[last] = nextHeader;
  for (const f of fragments) payload.set(f.data, unfragmentable.length + f.offset);
  const ip = new Ipv6Repr({
    ...first,
    nextHeader: last === undefined ? nextHeader : first.nextHeader,
    payloadLen: payload.length,
    trafficClass: (first.trafficClass & ~0x3) | ecn,
  });
  return { ip, payload };
}

/**
 * RFC 7112 §5: whether the first fragment's data, which starts with the header named by the
 * fragment header, ends before the upper-layer header does. Other faults in those headers are the
 * reassembled packet's, found when it is walked again.
 */
function headerChainIsIncomplete(nextHeader: number, fragPayload: Uint8Array): boolean {
  const chain = walkIpv6Chain(nextHeader, fragPayload);
  if (isChainError(chain)) return chain.reason === 'truncated';
  if (chain.fragment && !isAtomic(chain.fragment)) return false;
  return chain.upperOffset + (UPPER_HEADER_NEEDED[chain.upperProtocol] ?? 1) > fragPayload.length;
}

function firstFragment(ip: Ipv6Repr, packet: Uint8Array, frag: Ipv6FragmentHeader, unfragmentable: Uint8Array): FirstFragment {
  const quoteLen = Math.min(packet.length, IPV6_HEADER_LEN + ip.payloadLen, MAX_QUOTE_LEN);
  return { ip, unfragmentable: unfragmentable.slice(), nextHeader: frag.nextHeader, quote: packet.slice(0, quoteLen) };
}

function keyOf(src: Ipv6Address, dst: Ipv6Address, ident: number): string {
  let key = '';
  for (let i = 0; i < 16; i += 2) key += String.fromCharCode((src.bytes[i] << 8) | src.bytes[i + 1], (dst.bytes[i] << 8) | dst.bytes[i + 1]);
  return key + String.fromCharCode(ident >>> 16, ident & 0xffff);
}

function newDatagram(key: string, ip: Ipv6Repr, deadline: number): PendingDatagram {
  return { key, src: ip.src, dst: ip.dst, deadline, fragments: [], charged: 0, held: 0, maxEnd: 0, totalLen: undefined, first: undefined, ecnSeen: 0, discarded: false };
}

/**
 * Where a new fragment stands against what is held. RFC 5722 §4: any overlap discards the packet,
 * and, as Linux does, a last fragment that moves the known end, or data beyond it, counts as one.
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
