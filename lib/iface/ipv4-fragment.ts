import { IPV4_HEADER_LEN, Ipv4Repr } from '../wire/ipv4';

/** RFC 791 §3.1 "Options": the copied flag is the top bit of the option type. */
const OPTION_COPIED = 0x80;
const OPTION_EOL = 0;
const OPTION_NOP = 1;

/** RFC 791 §3.2: fragment data is counted in 8-octet blocks. */
const FRAGMENT_BLOCK = 8;

/**
 * Options that must be copied into every fragment (RFC 791 §3.1: the copied flag; §3.2
 * fragmentation step (3): the first fragment keeps all options, later ones only the copied
 * ones). NOP and EOL are not copied (their copied flag is 0); the result is not padded, as
 * `Ipv4Repr.emit` pads the option field with EOL to a whole number of words.
 */
export function copiedOptions(options: Uint8Array): Uint8Array {
  const copied: number[] = [];
  let i = 0;
  while (i < options.length) {
    const type = options[i];
    if (type === OPTION_EOL) break;
    if (type === OPTION_NOP) {
      i++;
      continue;
    }
    const len = options[i + 1];
    // Malformed lists never get here from the wire (Ipv4Repr.parse rejects them); stop rather than guess.
    if (i + 1 >= options.length || len < 2 || i + len > options.length) break;
    if (type & OPTION_COPIED) for (let j = i; j < i + len; j++) copied.push(options[j]);
    i += len;
  }
  return Uint8Array.from(copied);
}

/**
 * Splits one datagram into frames that each fit `mtu` (IP bytes), each built in one allocation
 * with `linkHeaderLen` bytes left blank in front for the link layer (RFC 791 §3.2 fragmentation
 * procedure, RFC 815). Every fragment but the last carries a multiple of 8 payload bytes; MF is
 * set on all but the last; the first keeps every option, later ones only the copied ones.
 *
 * A datagram that is itself a fragment (offset or MF set) is split relative to its offset and its
 * last piece keeps its MF, so re-fragmenting is correct too. The caller has checked DF.
 * Throws a RangeError on the caller's bugs: DF set, `payload` not `ip.payloadLen` long, or an MTU
 * that cannot carry the header and 8 bytes (RFC 791 §3.2: every link carries 68 octets).
 */
export function fragmentIpv4(ip: Ipv4Repr, payload: Uint8Array, mtu: number, linkHeaderLen: number): Uint8Array[] {
  if (ip.dontFragment) throw new RangeError('IPv4 datagram with DF set cannot be fragmented');
  if (payload.length !== ip.payloadLen) {
    throw new RangeError(`IPv4 payload is ${payload.length} bytes, header says ${ip.payloadLen}`);
  }
  const laterOptions = copiedOptions(ip.options);
  const frames: Uint8Array[] = [];
  let done = 0;
  do {
    const options = done === 0 ? ip.options : laterOptions;
    const headerLen = IPV4_HEADER_LEN + ((options.length + 3) & ~3);
    const room = mtu - headerLen;
    const blockRoom = room - (room % FRAGMENT_BLOCK);
    if (blockRoom < FRAGMENT_BLOCK) throw new RangeError(`MTU ${mtu} cannot carry a ${headerLen}-byte header and 8 bytes`);
    const remaining = payload.length - done;
    // Only the last fragment may end off an 8-byte boundary, so it may use the whole room.
    const isLast = remaining <= room;
    const dataLen = isLast ? remaining : blockRoom;
    const fragment = new Ipv4Repr({
      ...ip,
      payloadLen: dataLen,
      options,
      fragmentOffset: ip.fragmentOffset + done,
      moreFragments: isLast ? ip.moreFragments : true,
    });
    const frame = new Uint8Array(linkHeaderLen + headerLen + dataLen);
    fragment.emit(frame, linkHeaderLen);
    frame.set(payload.subarray(done, done + dataLen), linkHeaderLen + headerLen);
    frames.push(frame);
    done += dataLen;
  } while (done < payload.length);
  return frames;
}
