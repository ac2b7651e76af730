import type { DropReason } from './drop';
import { IPV6_HEADER_LEN, Ipv6NextHeader } from './ipv6';

/**
 * IPv6 extension headers (RFC 8200 §4): the walk a receiver makes from the IPv6 header to the
 * upper-layer header, applying the rules that decide whether a packet is accepted, and the two
 * headers this stack sends (Hop-by-Hop Router Alert for MLD, Fragment).
 *
 * Pointers in the results count from the start of the IPv6 header, as an ICMPv6 Parameter
 * Problem's pointer does (RFC 4443 §3.4); offsets count from the start of the IPv6 payload.
 */

export interface Ipv6Option {
  type: number;
  /** A subarray of the walked payload, not a copy. */
  data: Uint8Array;
  /** Where the option's type byte is, from the start of the IPv6 header. */
  offset: number;
}

export interface Ipv6FragmentHeader {
  nextHeader: number;
  /** In bytes, a multiple of 8. */
  offset: number;
  moreFragments: boolean;
  ident: number;
  /** Where the fragment header starts, from the start of the IPv6 payload. */
  headerOffset: number;
}

export interface Ipv6Chain {
  /**
   * The first header that is not an extension header we walk: 6, 17, 58, 59, 50 (ESP), 51 (AH),
   * or any other value, which the caller answers with `unknownNextHeaderError` when it has no
   * handler for it. After a fragment header that is not atomic, its Next Header (the walk stops).
   */
  upperProtocol: number;
  /** Its offset from the start of the IPv6 payload (after a non-atomic fragment header: where the fragment data starts). */
  upperOffset: number;
  /** Where the Next Header field that names `upperProtocol` is, from the start of the IPv6 header (6 when there are no extension headers). */
  nextHeaderPointer: number;
  /** The Hop-by-Hop options other than padding, in order; undefined without a Hop-by-Hop header. */
  hopByHop: Ipv6Option[] | undefined;
  /** The Router Alert option's value (RFC 2711 §2.1), e.g. 0 for MLD. */
  routerAlert: number | undefined;
  /**
   * The fragment header. RFC 8200 §4.5: the headers after it are processed only after reassembly,
   * so the walk stops after a fragment header unless it is atomic (offset 0, M clear: RFC 6946 §4,
   * processed as a whole packet, so the walk goes on).
   */
  fragment: Ipv6FragmentHeader | undefined;
  /** The extension header types walked, in order. */
  headers: number[];
}

/** What the receiver must do about a header it cannot accept (RFC 8200 §4.2, §4.4, RFC 4443 §3.4). */
export interface Ipv6ChainError {
  reason: DropReason;
  /** When the RFC asks for an ICMPv6 Parameter Problem: its code (0 erroneous field, 1 unrecognized next header, 2 unrecognized option) and pointer (from the start of the IPv6 header). */
  icmp?: { code: 0 | 1 | 2; pointer: number };
  /** Option action 11: send the error only if the destination was not multicast. */
  icmpOnlyIfUnicast?: boolean;
}

export const IPV6_FRAGMENT_HEADER_LEN = 8;

/** RFC 8504 §5.3 lets a host bound the number of extension headers it processes. */
const DEFAULT_MAX_HEADERS = 16;

/** RFC 8200 §4.2 padding options; RFC 2711 §2.1 Router Alert. */
const OPTION_PAD1 = 0;
const OPTION_PADN = 1;
const OPTION_ROUTER_ALERT = 5;
const ROUTER_ALERT_LEN = 2;

/** RFC 8200 §4.2: the two high-order bits of an option type say what to do when it is unknown. */
const ACTION_SKIP = 0;
const ACTION_DISCARD = 1;
const ACTION_DISCARD_ICMP = 2;

const IPV6_NEXT_HEADER_FIELD = 6;
const FRAGMENT_OFFSET_MASK = 0xfff8;
const FRAGMENT_M = 1;

export function isChainError(x: Ipv6Chain | Ipv6ChainError): x is Ipv6ChainError {
  return 'reason' in x;
}

/**
 * RFC 8200 §4: "If, as a result of processing a header, the destination node is required to
 * proceed to the next header but the Next Header value in the current header is unrecognized by
 * the node, it should discard the packet and send an ICMP Parameter Problem message to the
 * source of the packet, with an ICMP Code value of 1 ... and the ICMP Pointer field containing
 * the offset of the unrecognized value within the original packet." The walk cannot know which
 * upper protocols the stack has handlers (or raw sockets) for, so it returns the chain and the
 * IP layer builds this error when nothing takes `chain.upperProtocol`.
 */
export function unknownNextHeaderError(chain: Ipv6Chain): Ipv6ChainError {
  return { reason: 'unknown-next-header', icmp: { code: 1, pointer: chain.nextHeaderPointer } };
}

/**
 * Walks the extension headers of a received packet. RFC 8200 §4.1: receivers "must accept and
 * attempt to process extension headers in any order and occurring any number of times", except
 * Hop-by-Hop, which comes first. `payload` is the IPv6 payload (Payload Length bytes). Never throws.
 */
export function walkIpv6Chain(firstNextHeader: number, payload: Uint8Array, opts?: { maxHeaders?: number }): Ipv6Chain | Ipv6ChainError {
  const maxHeaders = opts?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  const chain: Ipv6Chain = {
    upperProtocol: firstNextHeader,
    upperOffset: 0,
    nextHeaderPointer: IPV6_NEXT_HEADER_FIELD,
    hopByHop: undefined,
    routerAlert: undefined,
    fragment: undefined,
    headers: [],
  };
  let nextHeader = firstNextHeader;
  let off = 0;
  for (;;) {
    chain.upperProtocol = nextHeader;
    chain.upperOffset = off;
    if (!isWalkedHeader(nextHeader)) return chain;
    // RFC 8200 §4.1: "The Hop-by-Hop Options header, when present, must immediately follow the IPv6 header."
    if (nextHeader === Ipv6NextHeader.HopByHop && off !== 0) {
      return { reason: 'hbh-not-first', icmp: { code: 1, pointer: chain.nextHeaderPointer } };
    }
    if (chain.headers.length >= maxHeaders) return { reason: 'too-many-headers' };
    const len = headerLen(nextHeader, payload, off);
    if (len === undefined || off + len > payload.length) return { reason: 'truncated' };
    const error = processHeader(nextHeader, payload, off, len, chain);
    if (error) return error;
    const walked = nextHeader;
    chain.headers.push(walked);
    chain.nextHeaderPointer = IPV6_HEADER_LEN + off;
    nextHeader = payload[off];
    off += len;
    if (walked === Ipv6NextHeader.Fragment && !isAtomic(chain.fragment!)) {
      chain.upperProtocol = nextHeader;
      chain.upperOffset = off;
      return chain;
    }
  }
}

/** RFC 6946 §4: offset 0 and M clear, a whole packet behind a fragment header. */
export function isAtomic(frag: Ipv6FragmentHeader): boolean {
  return frag.offset === 0 && !frag.moreFragments;
}

/** The extension headers the walk goes through; ESP and AH end it like an upper protocol. */
function isWalkedHeader(nextHeader: number): boolean {
  return (
    nextHeader === Ipv6NextHeader.HopByHop ||
    nextHeader === Ipv6NextHeader.DestinationOptions ||
    nextHeader === Ipv6NextHeader.Routing ||
    nextHeader === Ipv6NextHeader.Fragment
  );
}

/** RFC 8200 §4.3–§4.6: Hdr Ext Len counts 8-octet units beyond the first 8; the fragment header is 8. */
function headerLen(nextHeader: number, payload: Uint8Array, off: number): number | undefined {
  if (nextHeader === Ipv6NextHeader.Fragment) return IPV6_FRAGMENT_HEADER_LEN;
  if (off + 2 > payload.length) return undefined;
  return (payload[off + 1] + 1) * 8;
}

function processHeader(nextHeader: number, payload: Uint8Array, off: number, len: number, chain: Ipv6Chain): Ipv6ChainError | undefined {
  switch (nextHeader) {
    case Ipv6NextHeader.HopByHop: {
      const options: Ipv6Option[] = [];
      const error = walkOptions(payload, off + 2, off + len, true, options);
      if (error) return error;
      chain.hopByHop = options;
      const alert = options.find((o) => o.type === OPTION_ROUTER_ALERT);
      chain.routerAlert = alert && ((alert.data[0] << 8) | alert.data[1]);
      return undefined;
    }
    case Ipv6NextHeader.DestinationOptions:
      return walkOptions(payload, off + 2, off + len, false, []);
    case Ipv6NextHeader.Routing:
      return checkRouting(payload, off);
    default: // Fragment, the last type the walk goes through.
      chain.fragment = readFragmentHeader(payload, off);
      return undefined;
  }
}

/**
 * RFC 8200 §4.4: with Segments Left 0 a node ignores the Routing header, whatever its type, and
 * goes on to the next header. Otherwise an unrecognized type is an error pointing at the Routing
 * Type field. A host recognizes no type: type 0 is deprecated and treated as unrecognized
 * (RFC 5095 §3), type 2 is Mobile IPv6's and the others are for routers.
 */
function checkRouting(payload: Uint8Array, off: number): Ipv6ChainError | undefined {
  const routingType = payload[off + 2];
  const segmentsLeft = payload[off + 3];
  if (segmentsLeft === 0) return undefined;
  return { reason: routingType === 0 ? 'routing-type-0' : 'bad-routing', icmp: { code: 0, pointer: IPV6_HEADER_LEN + off + 2 } };
}

function readFragmentHeader(payload: Uint8Array, off: number): Ipv6FragmentHeader {
  const offsetFlags = (payload[off + 2] << 8) | payload[off + 3];
  return {
    nextHeader: payload[off],
    offset: offsetFlags & FRAGMENT_OFFSET_MASK,
    moreFragments: (offsetFlags & FRAGMENT_M) !== 0,
    ident: ((payload[off + 4] << 24) | (payload[off + 5] << 16) | (payload[off + 6] << 8) | payload[off + 7]) >>> 0,
    headerOffset: off,
  };
}

/**
 * The options of a Hop-by-Hop or Destination Options header, in `payload[start, end)` (RFC 8200 §4.2):
 * type-length-value, except Pad1, a single zero octet. Known options are padding and, in Hop-by-Hop
 * only, Router Alert; an unknown one is handled by the two high-order bits of its type.
 */
function walkOptions(payload: Uint8Array, start: number, end: number, hopByHop: boolean, out: Ipv6Option[]): Ipv6ChainError | undefined {
  let i = start;
  while (i < end) {
    const type = payload[i];
    if (type === OPTION_PAD1) {
      i++;
      continue;
    }
    // RFC 4443 §3.4: a field the receiver cannot process is answered with code 0 pointing at it
    // (Linux drops such a packet silently).
    if (i + 2 > end) return { reason: 'bad-option-length', icmp: { code: 0, pointer: IPV6_HEADER_LEN + i } };
    const len = payload[i + 1];
    const lengthPointer = IPV6_HEADER_LEN + i + 1;
    if (i + 2 + len > end) return { reason: 'bad-option-length', icmp: { code: 0, pointer: lengthPointer } };
    const option = { type, data: payload.subarray(i + 2, i + 2 + len), offset: IPV6_HEADER_LEN + i };
    i += 2 + len;
    if (type === OPTION_PADN) continue;
    if (hopByHop && type === OPTION_ROUTER_ALERT) {
      // RFC 2711 §2.1: the Router Alert option's length is 2.
      if (len !== ROUTER_ALERT_LEN) return { reason: 'bad-option-length', icmp: { code: 0, pointer: lengthPointer } };
      out.push(option);
      continue;
    }
    const action = type >> 6;
    if (action === ACTION_SKIP) {
      out.push(option);
      continue;
    }
    if (action === ACTION_DISCARD) return { reason: 'unknown-option' };
    // RFC 8200 §4.2 action 10: Parameter Problem code 2 even to a multicast destination; action 11:
    // "only if the packet's Destination Address was not a multicast address" (RFC 4443 §2.4 (e.3)).
    const icmp = { code: 2 as const, pointer: option.offset };
    return action === ACTION_DISCARD_ICMP ? { reason: 'unknown-option', icmp } : { reason: 'unknown-option', icmp, icmpOnlyIfUnicast: true };
  }
  return undefined;
}

/** A Hop-by-Hop header carrying a Router Alert option (RFC 2711 §2.1), then PadN to 8 bytes, as Linux builds it for MLD (value 0, RFC 3810 §5). */
export function hopByHopRouterAlert(nextHeader: number, value: number): Uint8Array {
  return Uint8Array.from([nextHeader, 0, OPTION_ROUTER_ALERT, ROUTER_ALERT_LEN, (value >> 8) & 0xff, value & 0xff, OPTION_PADN, 0]);
}

/** Writes a fragment header (RFC 8200 §4.5); throws a RangeError for an offset the 13-bit field cannot carry. */
export function emitFragmentHeader(buf: Uint8Array, offset: number, f: { nextHeader: number; offset: number; moreFragments: boolean; ident: number }): void {
  if (f.offset % 8 !== 0 || f.offset < 0 || f.offset > FRAGMENT_OFFSET_MASK) {
    throw new RangeError(`IPv6 fragment offset must be a multiple of 8 up to 65528: ${f.offset}`);
  }
  const offsetFlags = f.offset | (f.moreFragments ? FRAGMENT_M : 0);
  buf[offset] = f.nextHeader;
  buf[offset + 1] = 0;
  buf[offset + 2] = offsetFlags >> 8;
  buf[offset + 3] = offsetFlags & 0xff;
  buf[offset + 4] = (f.ident >>> 24) & 0xff;
  buf[offset + 5] = (f.ident >>> 16) & 0xff;
  buf[offset + 6] = (f.ident >>> 8) & 0xff;
  buf[offset + 7] = f.ident & 0xff;
}
