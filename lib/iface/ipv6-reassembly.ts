import type { Ipv6Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6NextHeader, Ipv6Repr } from '../wire/ipv6';
import { type Ipv6FragmentHeader, isAtomic, isChainError, walkIpv6Chain } from '../wire/ipv6-ext';
import type { ProtocolCounters } from '../stats';
import { FragmentTable, type Fragment, type PendingDatagram, type ReassemblyConfig, reassembledEcn, type TimedOutDatagram } from './fragment-table';
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

/** `firstFragment` is the first fragment as received, cut to what an ICMPv6 error may quote (RFC 4443 §2.4 (c)), for Time Exceeded code 1; present only when it had arrived (RFC 8200 §4.5). */
export type ExpiredIpv6Datagram = TimedOutDatagram<Ipv6Address>;

const MAX_PAYLOAD_LEN = 0xffff;
const PAYLOAD_LENGTH_FIELD = 4;
/** Within the fragment header. */
const FRAGMENT_OFFSET_FIELD = 2;
/** RFC 4443 §2.4 (c): an error message does not exceed the minimum MTU; 40 + 8 bytes of headers. */
const MAX_QUOTE_LEN = IPV6_MIN_MTU - IPV6_HEADER_LEN - 8;

/** The part of an upper-layer header RFC 7112 §5 needs in the first fragment: the ports, the ICMPv6 type and code (Linux requires the same). */
const UPPER_HEADER_NEEDED: Record<number, number> = {
  [Ipv6NextHeader.Tcp]: 20,
  [Ipv6NextHeader.Udp]: 8,
  [Ipv6NextHeader.Icmpv6]: 8,
  [Ipv6NextHeader.NoNextHeader]: 0,
};

interface FirstFragment {
  ip: Ipv6Repr;
  unfragmentable: Uint8Array;
  nextHeader: number;
  quote: Uint8Array;
}

export class Ipv6Reassembler {
  private readonly table: FragmentTable<Ipv6Address, FirstFragment>;

  constructor(stats: ProtocolCounters, config?: Partial<ReassemblyConfig>) {
    this.table = new FragmentTable(stats, { ...DEFAULT_IPV6_REASSEMBLY_CONFIG, ...config });
  }

  /** Bytes charged for all fragments held; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.table.bytesHeld;
  }

  /** Packets tracked: incomplete ones and discarded ones awaiting their timeout. */
  get datagramsHeld(): number {
    return this.table.datagramsHeld;
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
    if (fragPayload.length === 0) return this.table.drop('frag-empty');
    // RFC 8200 §4.5: a fragment whose reassembled Payload Length would pass 65535 is discarded, pointing at its offset.
    if (unfragmentable.length + end > MAX_PAYLOAD_LEN) {
      return this.rejectFragment('frag-too-big', 0, IPV6_HEADER_LEN + frag.headerOffset + FRAGMENT_OFFSET_FIELD);
    }
    // RFC 8200 §4.5, RFC 7112 §5: the first fragment holds every header up to the upper-layer header (Linux points at 0).
    if (offset === 0 && headerChainIsIncomplete(frag.nextHeader, fragPayload)) return this.rejectFragment('frag-tiny-first', 3, 0);
    // RFC 8200 §4.5: fragments are matched by source, destination and identification.
    const key = keyOf(ip.src, ip.dst, frag.ident);
    const d = this.table.get(key);
    // RFC 5722 §4: "any constituent fragments, including those not yet received" are discarded.
    if (d?.discarded) return this.table.drop('frag-discarded');
    const first = offset === 0 ? firstFragment(ip, packet, frag, unfragmentable) : undefined;
    const extraCost = first ? first.unfragmentable.length + first.quote.length : 0;
    const whole = this.table.hold(d, { key, src: ip.src, dst: ip.dst, offset, data: fragPayload, isLast, ecn: ip.ecn, first, extraCost }, now);
    return whole && this.complete(whole);
  }

  /** Discards packets whose timeout has passed; the live ones are returned for ICMPv6 Time Exceeded code 1. */
  poll(now: number): ExpiredIpv6Datagram[] {
    return this.table.poll(now);
  }

  pollAt(): number | undefined {
    return this.table.pollAt();
  }

  private complete(d: PendingDatagram<Ipv6Address, FirstFragment>): ReassembledIpv6Packet | undefined {
    const first = d.first!;
    // RFC 8200 §4.5: the Payload Length is the first fragment's unfragmentable part plus the last fragment's offset and length.
    if (first.unfragmentable.length + d.totalLen! > MAX_PAYLOAD_LEN) return this.table.discard(d, 'frag-too-big');
    const ecn = reassembledEcn(d.ecnSeen, first.ip.ecn);
    if (ecn === undefined) return this.table.discard(d, 'frag-ecn-mismatch');
    this.table.remove(d);
    return joined(first.ip, first.unfragmentable, first.nextHeader, d.fragments, d.totalLen!, ecn);
  }

  private rejectFragment(reason: DropReason, code: 0 | 3, pointer: number): RejectedIpv6Fragment {
    this.table.drop(reason);
    return { error: reason, icmp: { code, pointer } };
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
