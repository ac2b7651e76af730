/**
 * Closing: every transition from ESTABLISHED to CLOSED (RFC 9293 §3.6, Figures 12 and 13),
 * half-close both ways, TIME-WAIT's 2 MSL, close() with unread data (RFC 2525 §2.17), abort.
 */
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../lib/socket/tcp/state';
import {
  ACK,
  bytes,
  closeWait,
  established,
  expectSeg,
  FIN,
  finWait1,
  finWait2,
  ISS,
  lastAck,
  Pair,
  PSH,
  RST,
  synReceived,
  synSent,
  timeWait,
} from './helpers';

describe('active close (Figure 12)', () => {
  it('ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2 MSL', () => {
    const { env, fin } = finWait1();
    expectSeg(fin, { seq: ISS + 1, ack: env.peerNxt, flags: FIN | ACK, len: 0 });
    expect(env.inject(env.peer())).toEqual([]);
    expect(env.conn.state).toBe(TcpState.FinWait2);
    expect(env.conn.pollAt()).toBeUndefined();
    const out = env.sendData(new Uint8Array(0), FIN | ACK);
    expectSeg(out[0], { seq: ISS + 2, ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.TimeWait);
    expect(env.notice.closed).toBe(true);
    expect(env.conn.error).toBeUndefined();
    expect(env.conn.read()).toBeNull();
    const entered = env.now;
    expect(env.conn.pollAt()).toBe(entered + 60_000);
    env.advance(59_999);
    expect(env.conn.state).toBe(TcpState.TimeWait);
    expect(env.conn.finished).toBe(false);
    env.advance(1);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.finished).toBe(true);
  });

  it('TIME-WAIT follows the configured MSL', () => {
    const env = timeWait({ config: { mslMs: 1000 } });
    expect(env.conn.pollAt()).toBe(env.now + 2000);
  });

  it('a retransmitted FIN in TIME-WAIT is ACKed and restarts the 2 MSL', () => {
    const env = timeWait();
    const entered = env.now;
    env.advance(30_000);
    const out = env.inject(env.peer({ seq: env.peerNxt - 1, flags: FIN | ACK }));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.pollAt()).toBe(entered + 30_000 + 60_000);
  });

  it('FIN-WAIT-1 → TIME-WAIT when the peer ACKs our FIN and sends its own at once', () => {
    const { env } = finWait1();
    const out = env.sendData(new Uint8Array(0), FIN | ACK);
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.TimeWait);
  });

  it('the FIN is retransmitted on the RTO until acknowledged', () => {
    const { env, fin } = finWait1();
    const out = env.advance(700);
    expect(out.length).toBe(2);
    for (const s of out) expectSeg(s, { seq: fin.seq, flags: FIN | ACK });
    env.inject(env.peer());
    expect(env.conn.state).toBe(TcpState.FinWait2);
  });

  it('data the peer sends in FIN-WAIT-2 is still received (half-close)', () => {
    const env = finWait2();
    const out = env.sendData(bytes(100));
    expect(env.conn.read()).toEqual(bytes(100));
    expect(out.length).toBeLessThanOrEqual(1);
    expect(env.conn.write(bytes(1), env.now)).toBe(-1);
    expect(env.conn.error).toBe('EPIPE');
  });
});

describe('simultaneous close (Figure 13)', () => {
  it('FIN-WAIT-1 → CLOSING on a crossing FIN that does not acknowledge ours, → TIME-WAIT on the ACK', () => {
    const { env, fin } = finWait1();
    const out = env.inject(env.peer({ flags: FIN | ACK, ack: fin.seq }));
    env.peerNxt += 1;
    expectSeg(out[0], { seq: fin.seq + 1, ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Closing);
    expect(env.inject(env.peer())).toEqual([]);
    expect(env.conn.state).toBe(TcpState.TimeWait);
  });

  it('two connections closing at once both pass TIME-WAIT', () => {
    const p = new Pair();
    p.open();
    p.a.shutdown(p.clock.now());
    p.b.shutdown(p.clock.now());
    expect(p.a.state).toBe(TcpState.FinWait1);
    expect(p.b.state).toBe(TcpState.FinWait1);
    p.runUntil(() => p.a.state === TcpState.TimeWait && p.b.state === TcpState.TimeWait, 1_000);
    p.runUntil(() => p.a.state === TcpState.Closed && p.b.state === TcpState.Closed, 61_000);
  });
});

describe('passive close', () => {
  it('CLOSE-WAIT → LAST-ACK → CLOSED', () => {
    const env = closeWait();
    expect(env.notice.readable).toBe(true);
    expect(env.conn.read()).toBeNull();
    env.conn.shutdown(env.now);
    expect(env.conn.state).toBe(TcpState.LastAck);
    const [fin] = env.link.take();
    expectSeg(fin, { flags: FIN | ACK, ack: env.peerNxt });
    expect(env.inject(env.peer())).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBeUndefined();
    expect(env.notice.closed).toBe(true);
  });

  it('LAST-ACK retransmits the FIN and ignores a retransmitted FIN from the peer with an ACK', () => {
    const { env, fin } = lastAck();
    const out = env.inject(env.peer({ seq: env.peerNxt - 1, flags: FIN | ACK, ack: fin.seq }));
    expectSeg(out[0], { seq: fin.seq + 1, ack: env.peerNxt, flags: ACK });
    const again = env.advance(250);
    expectSeg(again[0], { seq: fin.seq, flags: FIN | ACK });
    expect(env.conn.state).toBe(TcpState.LastAck);
  });

  it('we keep sending after the peer half-closed', () => {
    const env = closeWait();
    expect(env.conn.write(bytes(100), env.now)).toBe(100);
    expectSeg(env.link.take()[0], { len: 100, flags: ACK | PSH });
    env.inject(env.peer());
    expect(env.conn.vars.sndUna).toBe(ISS + 101);
  });

  it('an out-of-order FIN is taken once the hole before it is filled', () => {
    const env = established();
    const ooo = env.inject(env.peer({ seq: env.peerNxt + 10, flags: FIN | ACK }));
    expectSeg(ooo[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Established);
    const out = env.inject(env.peer({ payload: bytes(10) }));
    expectSeg(out[0], { ack: env.peerNxt + 11, flags: ACK });
    expect(env.conn.state).toBe(TcpState.CloseWait);
    expect(env.conn.read()).toEqual(bytes(10));
    expect(env.conn.read()).toBeNull();
  });
});

describe('the FIN after the data', () => {
  it('rides on the last data segment', () => {
    const env = established();
    env.conn.write(bytes(2000), env.now);
    env.link.take();
    env.inject(env.peer());
    env.conn.write(bytes(100), env.now);
    env.conn.shutdown(env.now);
    const out = env.link.take();
    // The 100 bytes went out at once (nothing small outstanding); the FIN follows alone.
    expectSeg(out[0], { len: 100, flags: ACK | PSH });
    expectSeg(out[1], { len: 0, flags: FIN | ACK });
    const env2 = established({ config: { timestamps: false } });
    env2.conn.write(bytes(10), env2.now);
    env2.link.take();
    env2.conn.write(bytes(10), env2.now);
    env2.conn.shutdown(env2.now);
    // Nagle held the second write (a short segment is outstanding); the FIN frees it, on it.
    expectSeg(env2.link.take()[0], { seq: ISS + 11, len: 10, flags: FIN | PSH | ACK });
  });

  it('a shutdown before the handshake ends sends the FIN once ESTABLISHED', () => {
    const { env } = synSent({ config: { timestamps: false } });
    env.conn.write(bytes(10), env.now);
    env.conn.shutdown(env.now);
    expect(env.link.take()).toEqual([]);
    const out = env.inject(env.peer({ seq: 5000, ack: ISS + 1, flags: 0x12 }));
    expect(env.conn.state).toBe(TcpState.FinWait1);
    expectSeg(out[0], { seq: ISS + 1, len: 10, flags: FIN | PSH | ACK });
    expect(out).toHaveLength(1);
  });
});

describe('close() and abort()', () => {
  it('close with unread data sends a RST (RFC 2525 §2.17)', () => {
    const env = established();
    env.sendData(bytes(10));
    env.conn.close(env.now);
    const [rst] = env.link.take();
    expectSeg(rst, { seq: ISS + 1, ack: env.peerNxt, flags: RST | ACK });
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.finished).toBe(true);
  });

  it('close with everything read is a FIN; data arriving after it gets a RST', () => {
    const env = established();
    env.conn.close(env.now);
    expectSeg(env.link.take()[0], { flags: FIN | ACK });
    env.inject(env.peer());
    expect(env.conn.state).toBe(TcpState.FinWait2);
    const out = env.inject(env.peer({ payload: bytes(5) }));
    expectSeg(out[0], { seq: ISS + 2, flags: RST | ACK });
    expect(env.conn.state).toBe(TcpState.Closed);
  });

  it('an orphan in FIN-WAIT-2 is dropped after 60 s (Linux tcp_fin_timeout)', () => {
    const env = established();
    env.conn.close(env.now);
    env.link.take();
    env.inject(env.peer());
    const out = env.advance(60_000);
    expectSeg(out[0], { flags: RST | ACK });
    expect(env.conn.state).toBe(TcpState.Closed);
  });

  it('close in SYN-SENT deletes the connection without a segment', () => {
    const { env } = synSent();
    env.conn.close(env.now);
    expect(env.link.take()).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.finished).toBe(true);
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('abort sends RST <SEQ=SND.NXT> in a synchronized state, nothing in SYN-SENT or TIME-WAIT', () => {
    const env = established();
    env.conn.write(bytes(100), env.now);
    env.link.take();
    env.conn.abort(env.now);
    expectSeg(env.link.take()[0], { seq: ISS + 101, ack: env.peerNxt, flags: RST | ACK });
    expect(env.conn.state).toBe(TcpState.Closed);
    const s = synSent().env;
    s.conn.abort(s.now);
    expect(s.link.take()).toEqual([]);
    const tw = timeWait();
    tw.conn.abort(tw.now);
    expect(tw.link.take()).toEqual([]);
    const sr = synReceived().env;
    sr.conn.abort(sr.now);
    expectSeg(sr.link.take()[0], { seq: ISS + 1, flags: RST | ACK });
  });

  it('a RST in CLOSING, LAST-ACK or TIME-WAIT closes without an error', () => {
    const { env } = lastAck();
    env.inject(env.peer({ flags: RST, options: {} }));
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBeUndefined();
    const tw = timeWait();
    tw.inject(tw.peer({ flags: RST, options: {} }));
    expect(tw.conn.state).toBe(TcpState.Closed);
    expect(tw.conn.error).toBeUndefined();
  });

  it('read returns EOF at the peer FIN once the data is read; undefined before', () => {
    const env = established();
    expect(env.conn.read()).toBeUndefined();
    env.sendData(bytes(5), FIN | ACK | PSH);
    expect(env.conn.read(2)).toEqual(bytes(5).subarray(0, 2));
    expect(env.conn.read()).toEqual(bytes(5).subarray(2));
    expect(env.conn.read()).toBeNull();
  });

  it('a full exchange between two connections ends with one in TIME-WAIT, then both CLOSED', () => {
    const p = new Pair();
    p.open();
    p.a.write(bytes(5000), p.clock.now());
    p.a.shutdown(p.clock.now());
    let got = 0;
    p.runUntil(() => {
      for (let r = p.b.read(); r; r = p.b.read()) got += r.length;
      return got === 5000 && p.b.read() === null;
    }, 1_000);
    expect(p.b.state).toBe(TcpState.CloseWait);
    p.b.close(p.clock.now());
    p.runUntil(() => p.b.state === TcpState.Closed, 1_000);
    expect(p.a.state).toBe(TcpState.TimeWait);
    p.runUntil(() => p.a.state === TcpState.Closed, 60_100);
  });
});
