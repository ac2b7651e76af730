import type { Ipv4Address } from '../wire/address';
import { IPV4_HEADER_LEN, Ipv4Repr } from '../wire/ipv4';
import type { ProtocolCounters } from '../stats';
import { FragmentTable, type PendingDatagram, type ReassemblyConfig, reassembledEcn, type TimedOutDatagram } from './fragment-table';

export type { ReassemblyConfig } from './fragment-table';

/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815), hardened the way Linux is: any overlap other
 * than an exact duplicate discards the whole datagram (RFC 5722 §4, written for IPv6 and
 * applied to IPv4 by Linux since 4.19), memory and table size are capped, and every
 * incomplete datagram times out from its first fragment's arrival.
 */
export const DEFAULT_REASSEMBLY_CONFIG: ReassemblyConfig = {
  /** Linux ipfrag_time: 30 s. */
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

/** `firstFragment` is fragment 0's IP header and first 8 payload bytes as received, to quote in ICMP
 *  Time Exceeded (RFC 792); present only when fragment 0 had arrived (RFC 1122 §3.3.2). */
export type ExpiredDatagram = TimedOutDatagram<Ipv4Address>;

/** RFC 791 §3.1: total length is 16 bits, and a header is at least 20 bytes. */
const MAX_TOTAL_LEN = 0xffff;
/** RFC 792: Time Exceeded quotes the header and the first 64 bits of data. */
const QUOTED_DATA_LEN = 8;

/** Fragment 0's header (options copied), and its quote for ICMP. */
interface FirstFragment {
  ip: Ipv4Repr;
  quote: Uint8Array;
}

export class Ipv4Reassembler {
  private readonly table: FragmentTable<Ipv4Address, FirstFragment>;

  constructor(stats: ProtocolCounters, config?: Partial<ReassemblyConfig>) {
    this.table = new FragmentTable(stats, { ...DEFAULT_REASSEMBLY_CONFIG, ...config });
  }

  /** Bytes charged for all fragments held; never above `maxBytes`. */
  get bytesHeld(): number {
    return this.table.bytesHeld;
  }

  /** Datagrams tracked: incomplete ones and discarded ones awaiting their timeout. */
  get datagramsHeld(): number {
    return this.table.datagramsHeld;
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
    if (payload.length === 0 || (!isLast && payload.length % 8 !== 0)) return this.table.drop('frag-bad-length');
    // RFC 791 §3.1: key is (source, destination, protocol, identification).
    const key = `${ip.src.value}>${ip.dst.value}/${ip.protocol}#${ip.ident}`;
    const d = this.table.get(key);
    // RFC 5722 §4: "any constituent fragments, including those not yet received" are discarded.
    if (d?.discarded) return this.table.drop('frag-discarded');
    if (end > MAX_TOTAL_LEN - IPV4_HEADER_LEN) return this.table.discard(d, 'frag-too-big');
    const first = offset === 0 ? firstFragment(ip, packet, payload) : undefined;
    const whole = this.table.hold(d, { key, src: ip.src, dst: ip.dst, offset, data: payload, isLast, ecn: ip.ecn, first, extraCost: 0 }, now);
    return whole && this.complete(whole);
  }

  /** Discards datagrams whose timeout has passed; the live ones are returned for ICMP Time Exceeded (code 1). */
  poll(now: number): ExpiredDatagram[] {
    return this.table.poll(now);
  }

  pollAt(): number | undefined {
    return this.table.pollAt();
  }

  private complete(d: PendingDatagram<Ipv4Address, FirstFragment>): ReassembledDatagram | undefined {
    const first = d.first!.ip;
    const totalLen = d.totalLen!;
    // RFC 791 §3.1: the whole datagram, fragment 0's header included, must fit the 16-bit total length.
    if (first.bufferLen() + totalLen > MAX_TOTAL_LEN) return this.table.discard(d, 'frag-too-big');
    const ecn = reassembledEcn(d.ecnSeen, first.ecn);
    if (ecn === undefined) return this.table.discard(d, 'frag-ecn-mismatch');
    const payload = new Uint8Array(totalLen);
    for (const f of d.fragments) payload.set(f.data, f.offset);
    this.table.remove(d);
    const ip = new Ipv4Repr({ ...first, payloadLen: totalLen, moreFragments: false, fragmentOffset: 0, ecn });
    return { ip, payload };
  }
}

function firstFragment(ip: Ipv4Repr, packet: Uint8Array, payload: Uint8Array): FirstFragment {
  return {
    ip: new Ipv4Repr({ ...ip, options: ip.options.slice() }),
    quote: packet.slice(0, ip.bufferLen() + Math.min(QUOTED_DATA_LEN, payload.length)),
  };
}
