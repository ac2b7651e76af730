import { Ipv4Address } from '../../wire/address';
import type { TcpRepr } from '../../wire/tcp';
import type { Random } from '../../random';
import { randomSecret, tupleHash } from './isn';
import { seqAdd } from './seq';
import type { TcpFourTuple } from './types';

/**
 * SYN cookies (RFC 4987 §3.6) in Linux's layout (net/ipv4/syncookies.c): when a listener's
 * queue is full, the SYN-ACK's sequence number carries what the connection needs, and no
 * state is kept until the client's ACK brings it back:
 *
 *   cookie = H0(tuple) + client ISN + (minute << 24) + ((H1(tuple, minute) + mssIndex) mod 2^24)
 *
 * H0 and H1 are keyed hashes (isn.ts) under a per-stack secret. The top 8 bits date the
 * cookie by a minute counter, the low 24 bits carry the MSS index under a keyed mask, so
 * forging one means guessing a 24-bit value whose decoded index is one of 4 (2^-22).
 *
 * The MSS is rounded down to a small table (Linux's msstab); window scale and SACK-permitted
 * have no room in the sequence number, so, as Linux does, they ride in the low 6 bits of our
 * SYN-ACK's timestamp, which the client echoes in TSecr. A client that offered no timestamps
 * gets a connection without window scaling or SACK: the honest cost of keeping no state.
 */

/** Linux's msstab for IPv4: the common MSS values, smallest first. */
export const SYN_COOKIE_MSS_V4: readonly number[] = [536, 1300, 1440, 1460];
/** Linux's msstab for IPv6: 1280, 1480, 1500 and 9000 byte paths minus 60 bytes of headers. */
export const SYN_COOKIE_MSS_V6: readonly number[] = [1220, 1420, 1440, 8940];

const COUNTER_SHIFT = 24;
const DATA_MASK = 0xffffff;
/** Linux's MAX_SYNCOOKIE_AGE: a cookie is good in the minute it was made and the next one. */
const MAX_AGE_MINUTES = 2;
const MINUTE_MS = 60_000;

/** Linux's TSBITS: the timestamp's low 6 bits hold the options. */
const TS_OPTION_BITS = 6;
const TS_OPTION_MASK = (1 << TS_OPTION_BITS) - 1;
/** Window scale 0..14 in 4 bits; 15 means the client offered none. */
const TS_WSCALE_MASK = 0xf;
const TS_SACK = 1 << 4;

/** RFC 9293 §3.7.1: the MSS assumed when a SYN carries none. */
const DEFAULT_MSS = { 4: 536, 6: 1220 } as const;

/** What the client's SYN offered, recovered from its ACK. */
export interface SynCookieOffer {
  /** The client's ISN. */
  irs: number;
  mss: number;
  sackPermitted: boolean;
  /** The client's shift; undefined when it offered no window scaling. */
  windowScale: number | undefined;
  timestamps: boolean;
}

/** Why an ACK's cookie was refused, counted by the layer. */
export type SynCookieFailure = 'syn-cookie-expired' | 'syn-cookie-invalid';

export class SynCookies {
  private readonly secret: Buffer;

  constructor(random: Random) {
    this.secret = randomSecret(random);
  }

  /**
   * The ISN of a cookie SYN-ACK answering a SYN whose sequence number is `clientIsn`, and
   * the MSS it commits the connection to (the largest table entry not above the client's).
   */
  make(tuple: TcpFourTuple, clientIsn: number, clientMss: number | undefined, now: number): { cookie: number; mss: number } {
    const table = mssTable(tuple);
    const mss = clientMss ?? DEFAULT_MSS[familyOf(tuple)];
    let index = table.length - 1;
    while (index > 0 && mss < table[index]) index--;
    const minute = minuteOf(now);
    const data = (tupleHash(this.secret, tuple, minute, 1) + index) & DATA_MASK;
    const cookie = (tupleHash(this.secret, tuple, 0, 0) + clientIsn + ((minute << COUNTER_SHIFT) >>> 0) + data) >>> 0;
    return { cookie, mss: table[index] };
  }

  /**
   * Validates the ACK that completes a cookie handshake (ACK - 1 is the cookie, SEQ - 1 the
   * client's ISN) and recovers what the SYN offered. `timestamps` says whether this stack
   * uses them: the options in TSecr count only then.
   */
  check(tuple: TcpFourTuple, ack: TcpRepr, now: number, timestamps: boolean): SynCookieOffer | SynCookieFailure {
    const cookie = seqAdd(ack.ack, -1);
    const irs = seqAdd(ack.seq, -1);
    const rest = (cookie - tupleHash(this.secret, tuple, 0, 0) - irs) >>> 0;
    const minute = minuteOf(now);
    // Linux (check_tcp_syn_cookie): the 8-bit counter's age, modulo 256.
    const age = (minute - (rest >>> COUNTER_SHIFT)) & 0xff;
    if (age >= MAX_AGE_MINUTES) return 'syn-cookie-expired';
    const index = (rest - tupleHash(this.secret, tuple, minute - age, 1)) & DATA_MASK;
    const table = mssTable(tuple);
    if (index >= table.length) return 'syn-cookie-invalid';
    const offer: SynCookieOffer = { irs, mss: table[index], sackPermitted: false, windowScale: undefined, timestamps: false };
    const ts = ack.options.timestamp;
    if (!ts || !timestamps) return offer;
    // Linux (cookie_timestamp_decode): TSecr echoes our SYN-ACK's TSval and its option bits.
    offer.timestamps = true;
    offer.sackPermitted = (ts.echo & TS_SACK) !== 0;
    const shift = ts.echo & TS_WSCALE_MASK;
    if (shift !== TS_WSCALE_MASK) {
      if (shift > 14) return 'syn-cookie-invalid';
      offer.windowScale = shift;
    }
    return offer;
  }
}

/**
 * Linux's cookie_init_timestamp: our timestamp clock `tsNow` with its low 6 bits replaced by
 * the client's window scale (15 for none) and SACK-permitted, never ahead of the clock, so
 * the value stays monotonic for the connection that follows (RFC 7323 §5.4).
 */
export function cookieTimestamp(tsNow: number, windowScale: number | undefined, sackPermitted: boolean): number {
  const options = (windowScale ?? TS_WSCALE_MASK) | (sackPermitted ? TS_SACK : 0);
  let ts = ((tsNow & ~TS_OPTION_MASK) | options) >>> 0;
  if (((ts - tsNow) | 0) > 0) ts = (ts - (1 << TS_OPTION_BITS)) >>> 0;
  return ts;
}

function mssTable(tuple: TcpFourTuple): readonly number[] {
  return familyOf(tuple) === 4 ? SYN_COOKIE_MSS_V4 : SYN_COOKIE_MSS_V6;
}

function familyOf(tuple: TcpFourTuple): 4 | 6 {
  return tuple.local.address instanceof Ipv4Address ? 4 : 6;
}

function minuteOf(now: number): number {
  return Math.floor(now / MINUTE_MS);
}
