/**
 * SACK as the sender uses it (RFC 2018, RFC 6675): the scoreboard from the peer's blocks,
 * entering recovery, several holes repaired in one round trip; and RACK-TLP (RFC 8985) on it.
 */
import { describe, expect, it } from 'vitest';
import type { TcpOptions, TcpRepr } from '../../../lib/wire/tcp';
import { bytes, established, ISS } from './helpers';

const SEG = 1448;

function sender() {
  const env = established({ config: { congestionControl: 'reno' }, rtt: 50 });
  env.conn.write(bytes(10 * SEG), env.now);
  expect(env.link.take()).toHaveLength(10);
  return env;
}

/** Segment numbers (from ISS + 1) of what was sent. */
const nums = (out: TcpRepr[]) => out.filter((s) => s.payloadLen > 0).map((s) => (s.seq - ISS - 1) / SEG);

/** A duplicate ACK with SACK blocks given as [first, last + 1) in segments. */
function dup(env: ReturnType<typeof sender>, blocks: [number, number][]): TcpRepr[] {
  const options: TcpOptions = { ...env.peerTsOption(), sack: blocks.map(([a, b]) => ({ left: ISS + 1 + a * SEG, right: ISS + 1 + b * SEG })) };
  return env.inject(env.peer({ ack: ISS + 1, options }));
}

describe('RFC 6675 SACK-based recovery', () => {
  it('repairs two holes in one round trip, the second as soon as IsLost() says so', () => {
    const env = sender();
    // Segments 0 and 3 are lost; the peer's duplicate ACKs SACK what arrives.
    expect(nums(dup(env, [[1, 2]]))).toEqual([]);
    expect(nums(dup(env, [[1, 3]]))).toEqual([]);
    // The third duplicate: segment 0 has three SACKed segments above it: recovery, resend it.
    expect(nums(dup(env, [[4, 5], [1, 3]]))).toEqual([0]);
    expect(env.conn.vars.ssthresh).toBe(5 * SEG);
    expect(nums(dup(env, [[4, 6], [1, 3]]))).toEqual([]);
    // Segment 3 now has three SACKed above it; pipe (10 - 5 SACKed - 1 lost) leaves room.
    expect(nums(dup(env, [[4, 7], [1, 3]]))).toEqual([3]);
    // Both repairs arrive: everything acknowledged, recovery over, cwnd = ssthresh.
    env.inject(env.peer({ ack: ISS + 1 + 10 * SEG }));
    expect(env.conn.vars.cwnd).toBe(5 * SEG);
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('ignores SACK blocks outside what is outstanding', () => {
    const env = sender();
    // Each with a new window, so that only SACK information could make them duplicates.
    for (let i = 0; i < 5; i++) {
      const out = env.inject(env.peer({ ack: ISS + 1, window: 1000 + i, options: { ...env.peerTsOption(), sack: [{ left: ISS + 1 + 20 * SEG, right: ISS + 1 + 30 * SEG }] } }));
      expect(nums(out)).toEqual([]);
    }
    expect(env.conn.vars.ssthresh).toBeUndefined();
  });

  it('after a timeout, resends only what the peer did not SACK', () => {
    const env = sender();
    dup(env, [[2, 4]]);
    // RACK gives up on segments 0 and 1 after the reordering window (see below) and recovery
    // resends 0; nothing comes back, and the RTO resends it again.
    expect(nums(env.advance(200))).toEqual([0, 0]);
    expect(env.conn.vars.cwnd).toBe(SEG);
    // cwnd grows to two segments: 1, then 4 (2 and 3 are SACKed).
    const next = env.inject(env.peer({ ack: ISS + 1 + SEG, options: { ...env.peerTsOption(), sack: [{ left: ISS + 1 + 2 * SEG, right: ISS + 1 + 4 * SEG }] } }));
    expect(nums(next)).toEqual([1, 4]);
  });
});

describe('RACK (RFC 8985 §6)', () => {
  it('calls a segment lost once a later one was delivered and an RTT plus the reordering window passed', () => {
    const env = sender();
    env.clock.advance(50);
    // Segment 1 arrived, 0 did not (yet): wait min_RTT / 4 = 12.5 ms for reordering.
    expect(nums(dup(env, [[1, 2]]))).toEqual([]);
    expect(env.conn.pollAt()).toBe(env.now + 12.5);
    expect(nums(env.advance(12))).toEqual([]);
    expect(nums(env.advance(1))).toEqual([0]);
    expect(env.conn.vars.ssthresh).toBe(5 * SEG);
  });

  it('a reordered segment that shows up within the window is no loss', () => {
    const env = sender();
    env.clock.advance(50);
    dup(env, [[1, 2]]);
    env.clock.advance(5);
    env.inject(env.peer({ ack: ISS + 1 + 2 * SEG }));
    expect(nums(env.advance(100))).toEqual([]);
    expect(env.conn.vars.ssthresh).toBeUndefined();
  });
});

describe('TLP (RFC 8985 §7)', () => {
  it('probes with the last segment two SRTTs after the ACKs stop; its SACK starts recovery at once', () => {
    const env = established({ config: { congestionControl: 'reno' }, rtt: 50 });
    const t0 = env.now;
    env.conn.write(bytes(3 * SEG), t0);
    env.link.take();
    expect(env.conn.pollAt()).toBe(t0 + 100);
    const [probe] = env.advance(100);
    expect(nums([probe])).toEqual([2]);
    // The probe arrived, 0 and 1 did not: RACK calls them lost, and recovery resends both
    // (cwnd = 2 segments, pipe = the first resent one).
    env.clock.advance(50);
    const out = dup(env, [[2, 3]]);
    expect(nums(out)).toEqual([0, 1]);
    expect(env.now - t0).toBeLessThan(200);
  });

  it('a lone lost segment is probed at the RTO time without the RTO (no back-off, cwnd kept)', () => {
    const env = established({ rtt: 50 });
    const t0 = env.now;
    env.conn.write(bytes(100), t0);
    env.link.take();
    // 2 SRTT + 200 ms for a lone segment (its ACK may be delayed), capped by the RTO.
    expect(env.conn.pollAt()).toBe(t0 + 200);
    const [probe] = env.advance(200);
    expect(nums([probe])).toEqual([0]);
    expect(env.conn.vars.rto).toBe(200);
    expect(env.conn.vars.cwnd).toBe(10 * SEG);
    env.inject(env.peer({ ack: ISS + 101 }));
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('probes with new data when there is some the peer has room for', () => {
    const env = established({ config: { congestionControl: 'reno' }, rtt: 50 });
    env.conn.write(bytes(12 * SEG), env.now);
    expect(env.link.take()).toHaveLength(10);
    const [probe] = env.advance(100);
    expect(nums([probe])).toEqual([10]);
  });
});
