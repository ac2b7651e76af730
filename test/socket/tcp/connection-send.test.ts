/**
 * The sender: segmentation, the retransmission timer to the millisecond (RFC 6298), fast
 * retransmit and NewReno (RFC 5681 §3.2, RFC 6582), zero-window probing (RFC 9293 §3.8.6.1),
 * Nagle and sender-side SWS avoidance (§3.7.4, §3.8.6.2.1), the path MTU (RFC 1191, 8201),
 * and sequence numbers across the 2^32 wrap.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../lib/socket/tcp/connection';
import { TcpState } from '../../../lib/socket/tcp/state';
import type { TcpRepr } from '../../../lib/wire/tcp';
import { ACK, bytes, Env, established, expectSeg, ISS, Pair, PEER_ISS, peerSegment, PSH, TUPLE6 } from './helpers';

/** NewReno's arithmetic in whole segments: Reno, no SACK, no timestamps, MSS 1460, 65535 window. */
function plain(extra: Parameters<typeof established>[0] = {}) {
  return established({ config: { congestionControl: 'reno', timestamps: false, quickAckSegments: 0 }, peerOptions: { mss: 1460 }, rtt: 50, ...extra });
}

const MSS = 1460;
const segs = (out: TcpRepr[]) => out.map((s) => [s.seq - ISS - 1, s.payloadLen]);

describe('segmentation', () => {
  it('cuts a write into full segments, PSH on the last', () => {
    const env = established();
    env.conn.write(bytes(5000), env.now);
    const out = env.link.take();
    expect(out.map((s) => s.payloadLen)).toEqual([1448, 1448, 1448, 656]);
    expect(out.map((s) => s.flags)).toEqual([ACK, ACK, ACK, ACK | PSH]);
    expect(out.map((s) => s.seq - ISS - 1)).toEqual([0, 1448, 2896, 4344]);
    // The payload reached the wire intact.
    const wire = new Uint8Array(5000);
    for (const s of out) wire.set(s.payload, s.seq - ISS - 1);
    expect(wire).toEqual(bytes(5000));
  });

  it('sends no more than the initial window (RFC 6928: 10 segments)', () => {
    const env = plain();
    env.conn.write(bytes(20 * MSS), env.now);
    expect(env.link.take()).toHaveLength(10);
    expect(env.conn.vars.cwnd).toBe(14600);
  });

  it('write takes what fits in the send buffer, and wakes the owner when space frees', () => {
    const env = plain({ config: { congestionControl: 'reno', timestamps: false, sendBufferSize: 4096 } });
    expect(env.conn.write(bytes(10_000), env.now)).toBe(4096);
    expect(env.conn.writableBytes).toBe(0);
    expect(env.conn.write(bytes(1), env.now)).toBe(0);
    env.link.take();
    env.inject(env.peer({ ack: ISS + 1 + 1460 }));
    expect(env.conn.writableBytes).toBe(1460);
    expect(env.notice.writable).toBe(true);
  });
});

describe('retransmission timer (RFC 6298)', () => {
  it('backs off from the 200 ms floor, doubling, after an RTT sample', () => {
    const env = plain();
    expect(env.conn.vars.srtt).toBe(50);
    expect(env.conn.vars.rto).toBe(200);
    const t0 = env.now;
    env.conn.write(bytes(100), t0);
    expect(env.link.take()).toHaveLength(1);
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    const out = env.advance(3000);
    expect(times).toEqual([200, 600, 1400, 3000]);
    for (const s of out) expectSeg(s, { seq: ISS + 1, len: 100 });
    expect(env.conn.vars.rto).toBe(3200);
  });

  it('starts at 1 s without a sample, doubling', () => {
    const env = new Env({ config: { timestamps: false } });
    env.conn = TcpConnection.fromCookie(env.connOptions(), { irs: PEER_ISS, mss: 1460, sackPermitted: false, windowScale: undefined, timestamps: false }, peerSegment({ seq: PEER_ISS + 1, ack: ISS + 1, flags: ACK }));
    const t0 = env.now;
    env.conn.write(bytes(10), t0);
    env.link.take();
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    env.advance(7000);
    expect(times).toEqual([1000, 3000, 7000]);
  });

  it('restarts on an ACK of new data, from that ACK (§5.3), and stops when all is acknowledged (§5.2)', () => {
    const env = plain();
    env.conn.setNoDelay(true);
    const t0 = env.now;
    env.conn.write(bytes(100), t0);
    env.clock.advance(100);
    env.conn.write(bytes(100), env.now);
    expect(env.link.take()).toHaveLength(2);
    env.clock.advance(50);
    env.inject(env.peer({ ack: ISS + 101 }));
    // A sample of 150 ms: SRTT 62.5, RTTVAR 43.75, RTO 238 (RFC 6298 §2.3).
    expect(env.conn.vars.rto).toBe(238);
    expect(env.conn.pollAt()).toBe(t0 + 150 + 238);
    env.inject(env.peer({ ack: ISS + 201 }));
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('gives up with ETIMEDOUT after retries2 retransmissions (924.6 s for 15, as Linux)', () => {
    const env = plain();
    const t0 = env.now;
    env.conn.write(bytes(100), t0);
    env.link.take();
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    env.advance(2_000_000);
    expect(times).toHaveLength(15);
    expect(times.slice(-3)).toEqual([564_600, 684_600, 804_600]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ETIMEDOUT');
    expect(env.notice.closed).toBe(true);
    void t0;
  });

  it('reports a soft ICMP error instead of ETIMEDOUT when one came (RFC 1122 §4.2.3.9)', () => {
    const env = plain({ config: { congestionControl: 'reno', timestamps: false, retries2: 2 } });
    env.conn.write(bytes(100), env.now);
    env.conn.icmpError({ kind: 'host-unreachable' }, env.now);
    expect(env.conn.state).toBe(TcpState.Established);
    env.advance(10_000);
    expect(env.conn.error).toBe('EHOSTUNREACH');
  });

  it('an ACK after a timeout with a clean sample collapses the back-off', () => {
    const env = plain();
    env.conn.write(bytes(100), env.now);
    env.advance(700);
    expect(env.conn.vars.rto).toBe(800);
    env.conn.setNoDelay(true);
    // The retransmitted segment's ACK gives no sample (Karn); new data's does.
    env.inject(env.peer({ ack: ISS + 101 }));
    expect(env.conn.vars.rto).toBe(800);
    env.conn.write(bytes(100), env.now);
    env.clock.advance(30);
    env.inject(env.peer({ ack: ISS + 201 }));
    expect(env.conn.vars.rto).toBe(200);
  });

  it('goes back to SND.UNA after a timeout and resends what was in flight as cwnd grows', () => {
    const env = plain();
    env.conn.write(bytes(4 * MSS), env.now);
    env.link.take();
    const [first] = env.advance(200);
    expectSeg(first, { seq: ISS + 1, len: MSS });
    expect(env.conn.vars.cwnd).toBe(MSS);
    expect(segs(env.inject(env.peer({ ack: ISS + 1 + MSS })))).toEqual([
      [MSS, MSS],
      [2 * MSS, MSS],
    ]);
  });
});

describe('fast retransmit and NewReno (RFC 5681 §3.2, RFC 6582)', () => {
  it('limited transmit on the first two duplicates, retransmits on the third', () => {
    const env = plain();
    env.conn.write(bytes(30 * MSS), env.now);
    expect(env.link.take()).toHaveLength(10);
    const dup = () => segs(env.inject(env.peer({ ack: ISS + 1 })));
    expect(dup()).toEqual([[10 * MSS, MSS]]);
    expect(dup()).toEqual([[11 * MSS, MSS]]);
    expect(dup()).toEqual([[0, MSS]]);
    // ssthresh = FlightSize / 2 = 12 segments / 2; cwnd = ssthresh + 3 segments.
    expect(env.conn.vars.ssthresh).toBe(6 * MSS);
    expect(dup()).toEqual([]);
    expect(dup()).toEqual([]);
    expect(dup()).toEqual([]);
    // Inflated to ssthresh + 7 segments: one past the 12 in flight.
    expect(dup()).toEqual([[12 * MSS, MSS]]);
  });

  it('does not count an ACK with data, a window change or nothing outstanding as a duplicate', () => {
    const env = plain();
    env.conn.write(bytes(10 * MSS), env.now);
    env.link.take();
    env.inject(env.peer({ ack: ISS + 1, payload: bytes(1) }));
    env.peerNxt += 1;
    env.inject(env.peer({ ack: ISS + 1, window: 60000 }));
    env.inject(env.peer({ ack: ISS + 1, window: 60000 }));
    env.inject(env.peer({ ack: ISS + 1, window: 60000 }));
    // Only two duplicates so far (the first with the new window is a window update).
    expect(env.link.take().every((s) => s.seq !== ISS + 1 || s.payloadLen === 0)).toBe(true);
    expect(env.conn.vars.ssthresh).toBeUndefined();
  });

  it('retransmits the next hole on a partial ACK and leaves recovery on a full one', () => {
    const env = plain();
    env.conn.write(bytes(30 * MSS), env.now);
    env.link.take();
    for (let i = 0; i < 3; i++) env.inject(env.peer({ ack: ISS + 1 }));
    env.link.take();
    // Segments 0-2 arrive with the retransmission, segment 3 was lost too: a partial ACK.
    const partial = segs(env.inject(env.peer({ ack: ISS + 1 + 3 * MSS })));
    expect(partial[0]).toEqual([3 * MSS, MSS]);
    expect(env.conn.vars.ssthresh).toBe(6 * MSS);
    // Everything sent before recovery began (12 segments) acknowledged: cwnd = ssthresh.
    env.inject(env.peer({ ack: ISS + 1 + 12 * MSS }));
    expect(env.conn.vars.cwnd).toBe(6 * MSS);
  });

  it('does not start a second recovery on duplicates for data sent before the last (RFC 6582 §3.2 step 2)', () => {
    const env = plain();
    env.conn.write(bytes(30 * MSS), env.now);
    env.link.take();
    env.advance(200);
    env.link.take();
    // After the timeout, three duplicates of an old ACK do not halve the window again.
    for (let i = 0; i < 3; i++) env.inject(env.peer({ ack: ISS + 1 }));
    expect(env.link.take().filter((s) => s.seq === ISS + 1)).toHaveLength(0);
  });
});

describe('zero window (RFC 9293 §3.8.6.1)', () => {
  it('probes with SND.UNA - 1 from one RTO on, backing off, while the peer answers', () => {
    const env = plain();
    env.inject(env.peer({ window: 0 }));
    const t0 = env.now;
    env.conn.write(bytes(100), t0);
    expect(env.link.take()).toEqual([]);
    expect(env.conn.pollAt()).toBe(t0 + 200);
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    for (let i = 0; i < 5; i++) {
      const [probe] = env.advance((env.conn.pollAt() as number) - env.now);
      expectSeg(probe, { seq: ISS, ack: env.peerNxt, flags: ACK, len: 0 });
      // The peer answers each probe: still zero.
      env.inject(env.peer({ window: 0 }));
    }
    expect(times).toEqual([200, 600, 1400, 3000, 6200]);
    expect(env.conn.state).toBe(TcpState.Established);
    // The window opens: the data goes at once, and probing stops.
    const out = env.inject(env.peer({ window: 1000 }));
    expectSeg(out[0], { seq: ISS + 1, len: 100 });
    expect(env.conn.pollAt()).toBe(env.now + 200);
  });

  it('gives up when probes go unanswered for retries2 rounds', () => {
    const env = plain({ config: { congestionControl: 'reno', timestamps: false, retries2: 3 } });
    env.inject(env.peer({ window: 0 }));
    env.conn.write(bytes(100), env.now);
    env.advance(100_000);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ETIMEDOUT');
  });

  it('with a small window, sends what fits when the persist timer fires (§3.8.6.2.1)', () => {
    const env = plain({ peerWindow: 5000 });
    env.conn.write(bytes(10_000), env.now);
    expect(segs(env.link.take())).toEqual([
      [0, MSS],
      [MSS, MSS],
      [2 * MSS, MSS],
    ]);
    // 620 bytes of window left: less than half the largest window, so wait.
    env.inject(env.peer({ ack: ISS + 1 + 3 * MSS, window: 620 }));
    expect(env.link.take()).toEqual([]);
    const out = env.advance(200);
    expect(segs(out)).toEqual([[3 * MSS, 620]]);
  });
});

describe('Nagle (RFC 896, RFC 9293 §3.7.4)', () => {
  it('holds a short segment while a short one is unacknowledged', () => {
    const env = established();
    env.conn.write(bytes(10), env.now);
    expect(env.link.take()).toHaveLength(1);
    env.conn.write(bytes(10, 2), env.now);
    env.conn.write(bytes(10, 3), env.now);
    expect(env.link.take()).toEqual([]);
    const out = env.inject(env.peer());
    expectSeg(out[0], { seq: ISS + 11, len: 20, flags: ACK | PSH });
  });

  it('a short tail after full segments is not held (Linux: Minshall)', () => {
    const env = established();
    env.conn.write(bytes(1448 + 10), env.now);
    expect(env.link.take().map((s) => s.payloadLen)).toEqual([1448, 10]);
  });

  it('with NODELAY, short segments go at once; turning it on releases what was held', () => {
    const env = established();
    env.conn.write(bytes(10), env.now);
    env.conn.write(bytes(10), env.now);
    expect(env.link.take()).toHaveLength(1);
    env.conn.setNoDelay(true);
    expect(env.conn.pollAt()).toBe(env.now);
    expectSeg(env.poll()[0], { seq: ISS + 11, len: 10 });
    env.conn.write(bytes(10), env.now);
    expectSeg(env.link.take()[0], { seq: ISS + 21, len: 10 });
  });
});

describe('path MTU (RFC 1191, RFC 8201)', () => {
  it("'too-big' lowers the segment size and resends what was in flight, cut to it", () => {
    const env = established();
    env.conn.write(bytes(4 * 1448), env.now);
    env.link.take();
    env.conn.icmpError({ kind: 'too-big', mtu: 1280 }, env.now);
    expect(env.conn.vars.mss).toBe(1228);
    expect(env.link.take().map((s) => s.payloadLen)).toEqual([1228, 1228, 1228, 1228, 880]);
    expect(env.conn.vars.ssthresh).toBeUndefined();
  });

  it('never below 576 (IPv4) or 1280 (IPv6); a larger MTU is ignored', () => {
    const env = established();
    env.conn.icmpError({ kind: 'too-big', mtu: 68 }, env.now);
    expect(env.conn.vars.mss).toBe(576 - 40 - 12);
    env.conn.icmpError({ kind: 'too-big', mtu: 1500 }, env.now);
    expect(env.conn.vars.mss).toBe(576 - 40 - 12);
    const v6 = established({ tuple: TUPLE6 });
    v6.conn.icmpError({ kind: 'too-big', mtu: 1000 }, v6.now);
    expect(v6.conn.vars.mss).toBe(1280 - 60 - 12);
  });

  it("a link that answers 'too-big' makes the next segments smaller", () => {
    const env = established();
    // The route's MTU dropped as the frame was built: the link says so and knows the new size.
    env.link.onSend = () => {
      env.link.maxPayloadBytes = 1000;
      env.link.result = 'too-big';
      env.link.onSend = () => (env.link.result = undefined);
    };
    env.conn.write(bytes(1448), env.now);
    // The refused frame, then the same data cut to the new size.
    expect(env.link.take().map((s) => [s.seq - ISS - 1, s.payloadLen])).toEqual([
      [0, 1448],
      [0, 968],
      [968, 480],
    ]);
    expect(env.conn.vars.mss).toBe(1000 - 20 - 12);
  });
});

describe('sequence numbers across 2^32', () => {
  it('a connection whose ISS is just below the wrap', () => {
    const iss = 0xffffff00;
    const env = established({ iss, config: { timestamps: false } });
    env.conn.write(bytes(1000), env.now);
    const [seg] = env.link.take();
    expectSeg(seg, { seq: (iss + 1) >>> 0, len: 1000 });
    env.inject(env.peer({ ack: (iss + 1001) >>> 0 }));
    expect(env.conn.vars.sndUna).toBe((iss + 1001) >>> 0);
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('both ends near the wrap move data across it byte-exact, with loss', () => {
    const p = new Pair({ loss: 0.02, seed: 3 });
    p.open(0xffff0000, 0xfffff000);
    const data = bytes(400_000);
    const back = bytes(200_000, 9);
    let off = 0;
    let boff = 0;
    const ha = createHash('sha256');
    const hb = createHash('sha256');
    let na = 0;
    let nb = 0;
    p.runUntil(() => {
      const now = p.clock.now();
      if (off < data.length) off += Math.max(0, p.a.write(data.subarray(off), now));
      if (boff < back.length) boff += Math.max(0, p.b.write(back.subarray(boff), now));
      for (let r = p.b.read(); r; r = p.b.read()) {
        hb.update(r);
        nb += r.length;
      }
      for (let r = p.a.read(); r; r = p.a.read()) {
        ha.update(r);
        na += r.length;
      }
      return nb === data.length && na === back.length;
    }, 600_000);
    expect(hb.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(ha.digest('hex')).toBe(createHash('sha256').update(back).digest('hex'));
    expect(p.lost).toBeGreaterThan(0);
  });
});
