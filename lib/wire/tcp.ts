import { Ipv4Address, type Ipv6Address } from './address';
import { checksumIsValid, internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from './checksum';
import type { DropReason } from './drop';

/**
 * The TCP header (RFC 9293 §3.1) and its options (RFC 9293 §3.2; window scale and
 * timestamps, RFC 7323; SACK, RFC 2018). The view reads a received segment in place; the
 * repr is its validated meaning and writes a header whose data the caller places straight
 * into the frame, then checksums the segment there, with no copy. ReusableTcpRepr is the
 * same repr rewritten in place segment after segment, for the per-segment paths.
 */
export const TCP_HEADER_LEN = 20;

/** RFC 9293 §3.1: Data Offset counts 32-bit words in 4 bits, so options fill at most 40 bytes. */
const MAX_HEADER_LEN = 60;
const MAX_OPTIONS_LEN = MAX_HEADER_LEN - TCP_HEADER_LEN;

/** IANA protocol number, the pseudo-header's protocol / next header field. */
const PROTOCOL_TCP = 6;

const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
const DATA_OFFSET = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

/** RFC 9293 §3.1 control bits; ECE and CWR from RFC 3168 §6.1. */
export const TcpFlag = { Fin: 0x01, Syn: 0x02, Rst: 0x04, Psh: 0x08, Ack: 0x10, Urg: 0x20, Ece: 0x40, Cwr: 0x80 } as const;

/** Option kinds (RFC 9293 §3.2, RFC 7323 §2.2 and §3.2, RFC 2018 §2 and §3). */
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WINDOW_SCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMPS = 8;

/** RFC 7323 §2.3: the largest shift a window scale may use. */
export const MAX_WINDOW_SCALE = 14;

/** The addresses of the IP header that carries the segment, for the pseudo-header sum. */
export type TcpPseudoHeader = { src: Ipv4Address; dst: Ipv4Address } | { src: Ipv6Address; dst: Ipv6Address };

/** The options this stack understands; all numbers unsigned (u16 MSS, u32 edges and timestamps). */
export interface TcpOptions {
  mss?: number;
  /** The shift to use: a received value over 14 is already clamped to 14 (RFC 7323 §2.3). */
  windowScale?: number;
  /**
   * Set by parse only when the received shift exceeded 14, for the socket to count
   * (RFC 7323 §2.3: SHOULD log it); emit ignores it.
   */
  windowScaleRaw?: number;
  sackPermitted?: boolean;
  /** RFC 2018 §3: left edge (first sequence number of a block) and right edge (one past its last). */
  sack?: { left: number; right: number }[];
  timestamp?: { value: number; echo: number };
}

/** The IPv4 (RFC 9293 §3.1) or IPv6 (RFC 8200 §8.1) pseudo-header sum, unfolded. */
function pseudoHeaderSum(pseudo: TcpPseudoHeader, length: number): number {
  if (pseudo.src instanceof Ipv4Address) {
    return pseudoHeaderSumV4(pseudo.src.value, (pseudo.dst as Ipv4Address).value, PROTOCOL_TCP, length);
  }
  return pseudoHeaderSumV6(pseudo.src.bytes, (pseudo.dst as Ipv6Address).bytes, PROTOCOL_TCP, length);
}

function read16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function read32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function write16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

function write32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** tcpdump's letters and order: F S R P, "." for ACK, U, E (ECE), W (CWR). */
const FLAG_LETTERS: ReadonlyArray<[number, string]> = [
  [TcpFlag.Fin, 'F'],
  [TcpFlag.Syn, 'S'],
  [TcpFlag.Rst, 'R'],
  [TcpFlag.Psh, 'P'],
  [TcpFlag.Ack, '.'],
  [TcpFlag.Urg, 'U'],
  [TcpFlag.Ece, 'E'],
  [TcpFlag.Cwr, 'W'],
];

/** The control bits as tcpdump prints them: "S", "S.", "P.", "F.", "R", "."; "none" when no bit is set. */
export function flagsText(flags: number): string {
  let text = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) text += letter;
  return text || 'none';
}

export class TcpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * The buffer is the whole segment (the IP payload): TCP has no length field of its own,
   * so the data runs from the data offset to the end of the buffer.
   */
  static checked(buf: Uint8Array): TcpPacket | DropReason {
    return lengthProblem(buf) ?? new TcpPacket(buf);
  }

  get srcPort(): number {
    return read16(this.buffer, SRC_PORT);
  }

  get dstPort(): number {
    return read16(this.buffer, DST_PORT);
  }

  get seq(): number {
    return read32(this.buffer, SEQ);
  }

  get ack(): number {
    return read32(this.buffer, ACK);
  }

  /** The header length in bytes (the field counts 32-bit words). */
  get dataOffset(): number {
    return (this.buffer[DATA_OFFSET] >> 4) * 4;
  }

  /**
   * The eight control bits of byte 13. The reserved bits of byte 12 are left out: RFC 9293
   * §3.1 says they "must be ignored in received segments".
   */
  get flags(): number {
    return this.buffer[FLAGS];
  }

  /** As received: the scale (RFC 7323 §2.2) is the connection's to apply, never to a SYN. */
  get window(): number {
    return read16(this.buffer, WINDOW);
  }

  get checksum(): number {
    return read16(this.buffer, CHECKSUM);
  }

  get urgentPointer(): number {
    return read16(this.buffer, URGENT);
  }

  get optionsBytes(): Uint8Array {
    return this.buffer.subarray(TCP_HEADER_LEN, this.dataOffset);
  }

  get payload(): Uint8Array {
    return this.buffer.subarray(this.dataOffset);
  }

  /** True when pseudo-header, header and data sum to all ones (RFC 1071 §2). */
  checksumIsValid(pseudo: TcpPseudoHeader): boolean {
    const length = this.buffer.length;
    return checksumIsValid(this.buffer, 0, length, pseudoHeaderSum(pseudo, length));
  }
}

/** Why `buf` cannot hold a segment, or undefined when its header fits it. */
function lengthProblem(buf: Uint8Array): DropReason | undefined {
  if (buf.length < TCP_HEADER_LEN) return 'truncated';
  const dataOffset = (buf[DATA_OFFSET] >> 4) * 4;
  // RFC 9293 §3.1: at least the 5 words of the fixed header, and no more than the segment.
  if (dataOffset < TCP_HEADER_LEN || dataOffset > buf.length) return 'bad-data-offset';
  return undefined;
}

/** The objects a ReusableTcpRepr parses options into, instead of new ones per segment. */
interface OptionSlots {
  timestamp: { value: number; echo: number };
  /** sack[n - 1] is an array of the first n of the same 4 blocks (RFC 2018 §3: 40 option bytes hold at most 4). */
  sack: { left: number; right: number }[][];
}

/**
 * Reads the options area as hostile input (RFC 9293 §3.2): EOL ends the list (the rest is
 * padding), NOP is one byte, every other option is kind, length (counting both) and data.
 * An option this stack does not implement is skipped by its length (MUST-5). A length
 * under 2 or running past the header is malformed (MUST-7 allows a reset; we drop the
 * segment and count it), and so is an option of a known kind with the wrong length. Linux
 * ignores a known option of the wrong length instead; dropping keeps a mangled SYN from
 * opening a connection with options it did not mean.
 */
function parseOptions(b: Uint8Array, start: number, end: number, options: TcpOptions, slots?: OptionSlots): DropReason | undefined {
  let i = start;
  while (i < end) {
    const kind = b[i];
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return 'bad-options';
    const len = b[i + 1];
    if (len < 2 || i + len > end) return 'bad-options';
    const at = i + 2;
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return 'bad-options';
        options.mss = read16(b, at);
        break;
      case OPT_WINDOW_SCALE: {
        if (len !== 3) return 'bad-options';
        // RFC 7323 §2.3: a shift over 14 MUST be taken as 14.
        const shift = b[at];
        options.windowScale = Math.min(shift, MAX_WINDOW_SCALE);
        if (shift > MAX_WINDOW_SCALE) options.windowScaleRaw = shift;
        break;
      }
      case OPT_SACK_PERMITTED:
        if (len !== 2) return 'bad-options';
        options.sackPermitted = true;
        break;
      case OPT_SACK: {
        // RFC 2018 §3: 2 + 8n bytes; 40 bytes of options leave room for n of 1 to 4.
        if (len < 10 || (len - 2) % 8 !== 0) return 'bad-options';
        const n = (len - 2) / 8;
        const blocks = slots ? slots.sack[n - 1] : [];
        for (let k = 0, p = at; k < n; k++, p += 8) {
          if (slots) {
            blocks[k].left = read32(b, p);
            blocks[k].right = read32(b, p + 4);
          } else {
            blocks.push({ left: read32(b, p), right: read32(b, p + 4) });
          }
        }
        options.sack = blocks;
        break;
      }
      case OPT_TIMESTAMPS: {
        if (len !== 10) return 'bad-options';
        const ts = slots ? slots.timestamp : { value: 0, echo: 0 };
        ts.value = read32(b, at);
        ts.echo = read32(b, at + 4);
        options.timestamp = ts;
        break;
      }
    }
    i += len;
  }
  return undefined;
}

/**
 * The length of the options as Linux lays them out (tcp_options_write): each in a 4-byte
 * word of its own, so the header needs no EOL padding.
 */
function optionsLen(o: TcpOptions): number {
  let len = 0;
  if (o.mss !== undefined) len += 4;
  if (o.timestamp) len += 12;
  else if (o.sackPermitted) len += 4;
  if (o.windowScale !== undefined) len += 4;
  if (o.sack?.length) len += 4 + 8 * o.sack.length;
  return len;
}

/**
 * Linux's order and packing: MSS; timestamps, with SACK-permitted in the two bytes that
 * would otherwise be NOPs (so a SYN reads "mss, sackOK, TS, nop, wscale"), or NOP NOP
 * SACK-permitted alone; NOP window scale; NOP NOP SACK blocks.
 */
function writeOptions(o: TcpOptions, b: Uint8Array, at: number): void {
  if (o.mss !== undefined) {
    b[at++] = OPT_MSS;
    b[at++] = 4;
    write16(b, at, o.mss);
    at += 2;
  }
  if (o.timestamp) {
    b[at++] = o.sackPermitted ? OPT_SACK_PERMITTED : OPT_NOP;
    b[at++] = o.sackPermitted ? 2 : OPT_NOP;
    b[at++] = OPT_TIMESTAMPS;
    b[at++] = 10;
    write32(b, at, o.timestamp.value);
    write32(b, at + 4, o.timestamp.echo);
    at += 8;
  } else if (o.sackPermitted) {
    writeWord(b, at, OPT_NOP, OPT_NOP, OPT_SACK_PERMITTED, 2);
    at += 4;
  }
  if (o.windowScale !== undefined) {
    writeWord(b, at, OPT_NOP, OPT_WINDOW_SCALE, 3, o.windowScale);
    at += 4;
  }
  const sack = o.sack;
  if (sack?.length) {
    writeWord(b, at, OPT_NOP, OPT_NOP, OPT_SACK, 2 + 8 * sack.length);
    at += 4;
    for (let k = 0; k < sack.length; k++) {
      write32(b, at, sack[k].left);
      write32(b, at + 4, sack[k].right);
      at += 8;
    }
  }
}

function writeWord(b: Uint8Array, at: number, b0: number, b1: number, b2: number, b3: number): void {
  b[at] = b0;
  b[at + 1] = b1;
  b[at + 2] = b2;
  b[at + 3] = b3;
}

/** The header length for these options: 20 bytes and the options in Linux's layout; a RangeError past 60. */
function headerLenFor(options: TcpOptions): number {
  const len = optionsLen(options);
  if (len > MAX_OPTIONS_LEN) throw new RangeError(`TCP options need ${len} bytes, at most ${MAX_OPTIONS_LEN} fit`);
  return TCP_HEADER_LEN + len;
}

/** Writes `h`'s header at `offset` with a zero checksum. */
function emitHeaderOf(h: TcpRepr, buf: Uint8Array, offset: number): void {
  const headerLen = headerLenFor(h.options);
  write16(buf, offset + SRC_PORT, h.srcPort);
  write16(buf, offset + DST_PORT, h.dstPort);
  write32(buf, offset + SEQ, h.seq);
  write32(buf, offset + ACK, h.ack);
  // RFC 9293 §3.1: the reserved bits "must be zero in generated segments".
  buf[offset + DATA_OFFSET] = (headerLen / 4) << 4;
  buf[offset + FLAGS] = h.flags;
  write16(buf, offset + WINDOW, h.window);
  write16(buf, offset + CHECKSUM, 0);
  write16(buf, offset + URGENT, h.urgentPointer);
  writeOptions(h.options, buf, offset + TCP_HEADER_LEN);
}

function fillChecksumAt(buf: Uint8Array, offset: number, segmentLen: number, pseudo: TcpPseudoHeader): void {
  write16(buf, offset + CHECKSUM, 0);
  write16(buf, offset + CHECKSUM, internetChecksum(buf, offset, offset + segmentLen, pseudoHeaderSum(pseudo, segmentLen)));
}

function emitSegment(h: TcpRepr, buf: Uint8Array, offset: number, payload: Uint8Array, pseudo: TcpPseudoHeader): void {
  if (payload.length !== h.payloadLen) {
    throw new RangeError(`TCP payload of ${payload.length} bytes, payloadLen ${h.payloadLen}`);
  }
  const headerLen = headerLenFor(h.options);
  emitHeaderOf(h, buf, offset);
  buf.set(payload, offset + headerLen);
  fillChecksumAt(buf, offset, headerLen + payload.length, pseudo);
}

export interface TcpReprFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** Raw, as on the wire: the sender scales it (RFC 7323 §2.2). */
  window: number;
  urgentPointer?: number;
  options?: TcpOptions;
  /** The number of data bytes after the header. */
  payloadLen: number;
  /** A received segment's data; a repr built to send leaves it out (see TcpRepr.payload). */
  payload?: Uint8Array;
}

const NO_PAYLOAD = new Uint8Array(0);
const U16 = 0xffff;
const U32 = 0xffffffff;

function checkUint(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`TCP ${what} out of range: ${value}`);
}

export class TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly urgentPointer: number;
  readonly options: TcpOptions;
  readonly payloadLen: number;
  /**
   * A parsed segment's data, a view into the received buffer (no copy). Empty on a repr
   * built to send: its caller writes the `payloadLen` bytes into the frame itself, between
   * emitHeader and fillChecksum.
   */
  readonly payload: Uint8Array;

  /**
   * Throws a RangeError for values the header cannot carry: these are the caller's bugs,
   * not input (whatever parse reads is in range).
   */
  constructor(f: TcpReprFields) {
    checkUint('source port', f.srcPort, U16);
    checkUint('destination port', f.dstPort, U16);
    checkUint('sequence number', f.seq, U32);
    checkUint('acknowledgment number', f.ack, U32);
    checkUint('flags', f.flags, 0xff);
    checkUint('window', f.window, U16);
    checkUint('urgent pointer', f.urgentPointer ?? 0, U16);
    checkUint('payload length', f.payloadLen, U32);
    const o = f.options ?? {};
    if (o.mss !== undefined) checkUint('MSS', o.mss, U16);
    if (o.windowScale !== undefined) checkUint('window scale', o.windowScale, MAX_WINDOW_SCALE);
    if (o.timestamp) {
      checkUint('timestamp value', o.timestamp.value, U32);
      checkUint('timestamp echo', o.timestamp.echo, U32);
    }
    for (const block of o.sack ?? []) {
      checkUint('SACK left edge', block.left, U32);
      checkUint('SACK right edge', block.right, U32);
    }
    if (f.payload && f.payload.length !== f.payloadLen) {
      throw new RangeError(`TCP payload of ${f.payload.length} bytes, payloadLen ${f.payloadLen}`);
    }
    this.srcPort = f.srcPort;
    this.dstPort = f.dstPort;
    this.seq = f.seq;
    this.ack = f.ack;
    this.flags = f.flags;
    this.window = f.window;
    this.urgentPointer = f.urgentPointer ?? 0;
    this.options = o;
    this.payloadLen = f.payloadLen;
    this.payload = f.payload ?? NO_PAYLOAD;
  }

  /** Never throws: malformed input comes back as a drop reason. */
  static parse(pkt: TcpPacket, pseudo: TcpPseudoHeader, opts?: { verifyChecksum?: boolean }): TcpRepr | DropReason {
    if ((opts?.verifyChecksum ?? true) && !pkt.checksumIsValid(pseudo)) return 'bad-checksum';
    const options: TcpOptions = {};
    const bad = parseOptions(pkt.buffer, TCP_HEADER_LEN, pkt.dataOffset, options);
    if (bad !== undefined) return bad;
    const payload = pkt.payload;
    return new TcpRepr({
      srcPort: pkt.srcPort,
      dstPort: pkt.dstPort,
      seq: pkt.seq,
      ack: pkt.ack,
      flags: pkt.flags,
      window: pkt.window,
      urgentPointer: pkt.urgentPointer,
      options,
      payloadLen: payload.length,
      payload,
    });
  }

  /**
   * 20 bytes and the options in Linux's layout. Throws a RangeError when they do not fit in
   * 40 bytes: the caller asked for too many (timestamps leave room for 3 SACK blocks, RFC
   * 2018 §3). A parsed repr may hold a set of options that does not fit this layout.
   */
  headerLen(): number {
    return headerLenFor(this.options);
  }

  /** Writes the header at `offset` with a zero checksum; the data goes after it, then fillChecksum. */
  emitHeader(buf: Uint8Array, offset: number): void {
    emitHeaderOf(this, buf, offset);
  }

  /**
   * Checksums the `segmentLen` bytes at `offset` (header and data, in place) with the
   * pseudo-header, and stores the sum in the header. Unlike UDP, a computed 0 is sent as
   * is: TCP's checksum is never optional.
   */
  fillChecksum(buf: Uint8Array, offset: number, segmentLen: number, pseudo: TcpPseudoHeader): void {
    fillChecksumAt(buf, offset, segmentLen, pseudo);
  }

  /** The whole segment at `offset`: header, a copy of `payload`, checksum. */
  emit(buf: Uint8Array, offset: number, payload: Uint8Array, pseudo: TcpPseudoHeader): void {
    emitSegment(this, buf, offset, payload, pseudo);
  }
}

/**
 * A TcpRepr that its owner (the layer, a connection) rewrites in place for every segment, so
 * the per-segment paths allocate no repr, no options and no option values: a sender sets the
 * fields and the options and hands it on wherever a TcpRepr goes; a receiver `parse`s into it.
 * Its options object, the timestamp and SACK blocks in it, and `payload` are the owner's and
 * change with the next segment: whoever reads a segment copies what must outlive the call.
 * The fields are not range-checked as the TcpRepr constructor does: they come from the
 * connection's own variables (or from parse), never from a caller's arbitrary values.
 */
export class ReusableTcpRepr implements TcpRepr {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgentPointer = 0;
  payloadLen = 0;
  /** A parsed segment's data (a view into its buffer); empty when sending, as on a TcpRepr. */
  payload: Uint8Array = NO_PAYLOAD;
  /** Every key always present (undefined when absent), so the object keeps one shape. */
  readonly options: TcpOptions = { mss: undefined, windowScale: undefined, windowScaleRaw: undefined, sackPermitted: undefined, sack: undefined, timestamp: undefined };
  private readonly slots: OptionSlots;

  constructor() {
    const blocks = [0, 1, 2, 3].map(() => ({ left: 0, right: 0 }));
    this.slots = { timestamp: { value: 0, echo: 0 }, sack: [1, 2, 3, 4].map((n) => blocks.slice(0, n)) };
  }

  /** No options (a RST, or a segment without timestamps or SACK). */
  clearOptions(): void {
    const o = this.options;
    o.mss = undefined;
    o.windowScale = undefined;
    o.windowScaleRaw = undefined;
    o.sackPermitted = undefined;
    o.sack = undefined;
    o.timestamp = undefined;
  }

  /** RFC 7323 §3.2: TSval and TSecr. */
  setTimestamp(value: number, echo: number): void {
    const ts = this.slots.timestamp;
    ts.value = value;
    ts.echo = echo;
    this.options.timestamp = ts;
  }

  /** RFC 2018 §3: a copy of `blocks`, at most 4 (3 beside timestamps, which headerLen checks). */
  setSack(blocks: readonly { left: number; right: number }[]): void {
    const n = blocks.length;
    if (n === 0) {
      this.options.sack = undefined;
      return;
    }
    if (n > 4) throw new RangeError(`TCP SACK option of ${n} blocks, at most 4 fit`);
    const into = this.slots.sack[n - 1];
    for (let k = 0; k < n; k++) {
      into[k].left = blocks[k].left;
      into[k].right = blocks[k].right;
    }
    this.options.sack = into;
  }

  /** A copy of `o` (a SYN's options): the values are taken, never the objects. */
  setOptions(o: TcpOptions): void {
    this.clearOptions();
    const own = this.options;
    own.mss = o.mss;
    own.windowScale = o.windowScale;
    own.sackPermitted = o.sackPermitted;
    if (o.timestamp) this.setTimestamp(o.timestamp.value, o.timestamp.echo);
    if (o.sack) this.setSack(o.sack);
  }

  /**
   * Fills this from a received segment, as TcpPacket.checked and TcpRepr.parse would (the
   * same checks, in the same order, with the same drop reasons); undefined when it is good.
   * On a drop the fields hold whatever was read so far.
   */
  parse(buf: Uint8Array, pseudo: TcpPseudoHeader, verifyChecksum = true): DropReason | undefined {
    const problem = lengthProblem(buf);
    if (problem !== undefined) return problem;
    const length = buf.length;
    if (verifyChecksum && !checksumIsValid(buf, 0, length, pseudoHeaderSum(pseudo, length))) return 'bad-checksum';
    const dataOffset = (buf[DATA_OFFSET] >> 4) * 4;
    this.clearOptions();
    const bad = parseOptions(buf, TCP_HEADER_LEN, dataOffset, this.options, this.slots);
    if (bad !== undefined) return bad;
    this.srcPort = read16(buf, SRC_PORT);
    this.dstPort = read16(buf, DST_PORT);
    this.seq = read32(buf, SEQ);
    this.ack = read32(buf, ACK);
    this.flags = buf[FLAGS];
    this.window = read16(buf, WINDOW);
    this.urgentPointer = read16(buf, URGENT);
    this.payloadLen = length - dataOffset;
    this.payload = this.payloadLen === 0 ? NO_PAYLOAD : buf.subarray(dataOffset);
    return undefined;
  }

  headerLen(): number {
    return headerLenFor(this.options);
  }

  emitHeader(buf: Uint8Array, offset: number): void {
    emitHeaderOf(this, buf, offset);
  }

  fillChecksum(buf: Uint8Array, offset: number, segmentLen: number, pseudo: TcpPseudoHeader): void {
    fillChecksumAt(buf, offset, segmentLen, pseudo);
  }

  emit(buf: Uint8Array, offset: number, payload: Uint8Array, pseudo: TcpPseudoHeader): void {
    emitSegment(this, buf, offset, payload, pseudo);
  }
}
