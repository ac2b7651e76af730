import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/random';
import { cookieTimestamp, SYN_COOKIE_MSS_V4, SYN_COOKIE_MSS_V6, SynCookies } from '../../../lib/socket/tcp/syn-cookies';
import type { TcpFourTuple } from '../../../lib/socket/tcp/types';
import { Ipv4Address, Ipv6Address } from '../../../lib/wire/address';
import { TcpFlag, TcpRepr, type TcpOptions } from '../../../lib/wire/tcp';

const T4: TcpFourTuple = { local: { address: Ipv4Address.parse('10.0.0.2'), port: 80 }, remote: { address: Ipv4Address.parse('10.0.0.1'), port: 40000 } };
const T6: TcpFourTuple = { local: { address: Ipv6Address.parse('2001:db8::2'), port: 80 }, remote: { address: Ipv6Address.parse('2001:db8::1'), port: 40000 } };
const CLIENT_ISN = 0xfffffff0;
const MINUTE = 60_000;

/** The client's third segment: SEQ = ISN + 1, ACK = cookie + 1. */
function ackFor(cookie: number, opts: { isn?: number; options?: TcpOptions } = {}): TcpRepr {
  return new TcpRepr({ srcPort: 40000, dstPort: 80, seq: ((opts.isn ?? CLIENT_ISN) + 1) >>> 0, ack: (cookie + 1) >>> 0, flags: TcpFlag.Ack, window: 1000, options: opts.options, payloadLen: 0 });
}

describe('SYN cookies (RFC 4987 §3.6, Linux layout)', () => {
  it('round-trip: the ACK gives back the client ISN and the MSS, rounded down to the table', () => {
    const cookies = new SynCookies(new SeededRandom(1));
    const cases: [number | undefined, number][] = [[1460, 1460], [1400, 1300], [9000, 1460], [1440, 1440], [600, 536], [100, 536], [undefined, 536]];
    for (const [offered, expected] of cases) {
      const { cookie, mss } = cookies.make(T4, CLIENT_ISN, offered, 10 * MINUTE);
      expect(mss).toBe(expected);
      expect(cookies.check(T4, ackFor(cookie), 10 * MINUTE + 5_000, true)).toEqual({ irs: CLIENT_ISN, mss: expected, sackPermitted: false, windowScale: undefined, timestamps: false });
    }
    const six = cookies.make(T6, 7, 8940, 0);
    expect(six.mss).toBe(8940);
    expect(cookies.check(T6, ackFor(six.cookie, { isn: 7 }), 1, true)).toMatchObject({ irs: 7, mss: 8940 });
    expect(cookies.make(T6, 7, undefined, 0).mss).toBe(1220);
    expect(SYN_COOKIE_MSS_V4).toEqual([536, 1300, 1440, 1460]);
    expect(SYN_COOKIE_MSS_V6).toEqual([1220, 1420, 1440, 8940]);
  });

  it('hold for the minute they were made and the next, and are refused after', () => {
    const cookies = new SynCookies(new SeededRandom(1));
    const made = 100 * MINUTE + 59_000;
    const { cookie } = cookies.make(T4, CLIENT_ISN, 1460, made);
    expect(cookies.check(T4, ackFor(cookie), made + 60_999, true)).toMatchObject({ mss: 1460 });
    expect(cookies.check(T4, ackFor(cookie), made + 61_000, true)).toBe('syn-cookie-expired');
    expect(cookies.check(T4, ackFor(cookie), made + 10 * MINUTE, true)).toBe('syn-cookie-expired');
  });

  it('refuse an ACK for another 4-tuple, another client ISN, another secret, or a guessed number', () => {
    const cookies = new SynCookies(new SeededRandom(1));
    const { cookie } = cookies.make(T4, CLIENT_ISN, 1460, 0);
    const otherPort: TcpFourTuple = { local: T4.local, remote: { address: T4.remote.address, port: 40001 } };
    expect(typeof cookies.check(otherPort, ackFor(cookie), 0, true)).toBe('string');
    expect(typeof cookies.check(T4, ackFor(cookie, { isn: CLIENT_ISN + 1000 }), 0, true)).toBe('string');
    expect(typeof new SynCookies(new SeededRandom(2)).check(T4, ackFor(cookie), 0, true)).toBe('string');
    // A blind attacker guessing ACK numbers: 2^-22 per guess to pass the index check at most.
    const guesses = new SeededRandom(99);
    let passed = 0;
    for (let i = 0; i < 20_000; i++) if (typeof cookies.check(T4, ackFor(guesses.u32()), 0, true) !== 'string') passed++;
    expect(passed).toBe(0);
  });

  it('carry window scale and SACK-permitted in the timestamp low bits when the client offered timestamps', () => {
    const cookies = new SynCookies(new SeededRandom(3));
    const { cookie } = cookies.make(T4, CLIENT_ISN, 1460, 0);
    const tsNow = 0x12345678;
    const tsval = cookieTimestamp(tsNow, 7, true);
    expect(tsval & 0x3f).toBe(7 | 16);
    expect(((tsNow - tsval) | 0) >= 0 && ((tsNow - tsval) | 0) < 64).toBe(true);
    const ts = (echo: number): TcpOptions => ({ timestamp: { value: 555, echo } });
    expect(cookies.check(T4, ackFor(cookie, { options: ts(tsval) }), 0, true)).toEqual({ irs: CLIENT_ISN, mss: 1460, sackPermitted: true, windowScale: 7, timestamps: true });
    const plain = cookieTimestamp(tsNow, undefined, false);
    expect(plain & 0x3f).toBe(15);
    expect(cookies.check(T4, ackFor(cookie, { options: ts(plain) }), 0, true)).toMatchObject({ sackPermitted: false, windowScale: undefined, timestamps: true });
    // With timestamps off here, the echo says nothing.
    expect(cookies.check(T4, ackFor(cookie, { options: ts(tsval) }), 0, false)).toMatchObject({ sackPermitted: false, windowScale: undefined, timestamps: false });
  });

  it('never put the timestamp ahead of the clock, even across the 32-bit wrap', () => {
    for (const tsNow of [0, 5, 63, 64, 0xffffffff, 0x80000000]) {
      for (const scale of [undefined, 0, 14]) {
        const ts = cookieTimestamp(tsNow, scale, true);
        const behind = (tsNow - ts) | 0;
        expect(behind >= 0 && behind < 64).toBe(true);
        expect(ts & 0xf).toBe(scale ?? 15);
      }
    }
  });
});
