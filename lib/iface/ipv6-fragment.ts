import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6NextHeader, Ipv6Repr } from '../wire/ipv6';
import { emitFragmentHeader, IPV6_FRAGMENT_HEADER_LEN } from '../wire/ipv6-ext';

/** RFC 8200 §4.5: fragment data is counted in 8-octet units. */
const FRAGMENT_BLOCK = 8;
const MAX_PAYLOAD_LEN = 0xffff;

/**
 * Where the last header of an encoded unfragmentable part starts (Hop-by-Hop, Destination Options
 * and Routing headers all count their length as RFC 8200 §4.3 does), or undefined when empty.
 * Throws a RangeError when the headers do not end exactly at the end of the bytes.
 */
export function lastHeaderOffset(headers: Uint8Array): number | undefined {
  let last: number | undefined;
  let i = 0;
  while (i < headers.length) {
    if (i + 2 > headers.length) break;
    last = i;
    i += (headers[i + 1] + 1) * 8;
  }
  if (i !== headers.length) throw new RangeError(`IPv6 extension headers of ${headers.length} bytes do not end on a header boundary`);
  return last;
}

/**
 * Splits one packet into fragment frames that each fit `mtu` (IPv6 bytes), each built in one
 * allocation with `linkHeaderLen` bytes left blank in front for the link layer (RFC 8200 §4.5):
 * every fragment carries the IPv6 header and the unfragmentable part (the headers a router or
 * the destination must see before reassembly: Hop-by-Hop, Routing and the Destination Options
 * before it), then a fragment header (Next Header `nextHeaderAfterFragment`, Identification
 * `ident`), then a piece of the fragmentable part: a multiple of 8 bytes in all but the last.
 *
 * `ip.nextHeader` names the first unfragmentable header; when there is none the IPv6 header names
 * the fragment header. The last unfragmentable header's Next Header is rewritten to 44 (Fragment).
 * `ip.payloadLen` is not used: each fragment's is its own.
 *
 * Throws a RangeError on the caller's bugs: an MTU under 1280 (RFC 8201 §4: the path MTU is never
 * estimated below it), one that cannot carry the headers and 8 bytes, or a packet whose payload
 * would pass 65535 bytes.
 */
export function fragmentIpv6(
  ip: Ipv6Repr,
  unfragmentable: Uint8Array,
  fragmentable: Uint8Array,
  nextHeaderAfterFragment: number,
  mtu: number,
  linkHeaderLen: number,
  ident: number,
): Uint8Array[] {
  if (mtu < IPV6_MIN_MTU) throw new RangeError(`IPv6 MTU ${mtu} is below the minimum of 1280`);
  if (unfragmentable.length + fragmentable.length > MAX_PAYLOAD_LEN) {
    throw new RangeError(`IPv6 payload of ${unfragmentable.length + fragmentable.length} bytes cannot be fragmented`);
  }
  const last = lastHeaderOffset(unfragmentable);
  const firstNextHeader = last === undefined ? Ipv6NextHeader.Fragment : ip.nextHeader;
  const headersLen = IPV6_HEADER_LEN + unfragmentable.length + IPV6_FRAGMENT_HEADER_LEN;
  const room = mtu - headersLen;
  const blockRoom = room - (room % FRAGMENT_BLOCK);
  if (blockRoom < FRAGMENT_BLOCK) throw new RangeError(`MTU ${mtu} cannot carry ${headersLen} bytes of headers and 8 bytes`);
  const frames: Uint8Array[] = [];
  let done = 0;
  do {
    const remaining = fragmentable.length - done;
    // Only the last fragment may end off an 8-byte boundary, so it may use the whole room.
    const isLast = remaining <= room;
    const dataLen = isLast ? remaining : blockRoom;
    const header = new Ipv6Repr({ ...ip, nextHeader: firstNextHeader, payloadLen: unfragmentable.length + IPV6_FRAGMENT_HEADER_LEN + dataLen });
    const frame = new Uint8Array(linkHeaderLen + headersLen + dataLen);
    let at = linkHeaderLen;
    header.emit(frame, at);
    at += IPV6_HEADER_LEN;
    frame.set(unfragmentable, at);
    if (last !== undefined) frame[at + last] = Ipv6NextHeader.Fragment;
    at += unfragmentable.length;
    emitFragmentHeader(frame, at, { nextHeader: nextHeaderAfterFragment, offset: done, moreFragments: !isLast, ident });
    frame.set(fragmentable.subarray(done, done + dataLen), at + IPV6_FRAGMENT_HEADER_LEN);
    frames.push(frame);
    done += dataLen;
  } while (done < fragmentable.length);
  return frames;
}
