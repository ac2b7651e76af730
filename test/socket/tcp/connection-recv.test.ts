/**
 * The receiver: ACK policy (RFC 1122 §4.2.3.2, RFC 5681 §4.2, Linux's quick-ACK mode),
 * reassembly of out-of-order data with SACK blocks (RFC 2018 §4) in bounded memory, and the
 * window it offers (receiver SWS avoidance, RFC 9293 §3.8.6.2.2).
 */
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../lib/socket/tcp/state';
import { ACK, bytes, established, expectSeg, ISS, PEER_ISS } from './helpers';

function delayed(config = {}) {
  return established({ config: { quickAckSegments: 0, ...config } });
}

describe('delayed ACK', () => {
  it('waits 40 ms for a lone segment', () => {
    const env = delayed();
    expect(env.sendData(bytes(1448))).toEqual([]);
    expect(env.conn.pollAt()).toBe(env.now + 40);
    const out = env.advance(39);
    expect(out).toEqual([]);
    const [ack] = env.advance(1);
    expectSeg(ack, { seq: ISS + 1, ack: env.peerNxt, flags: ACK });
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('ACKs every second full segment at once', () => {
    const env = delayed();
    expect(env.sendData(bytes(1448))).toEqual([]);
    const out = env.sendData(bytes(1448));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.pollAt()).toBeUndefined();
    expect(env.sendData(bytes(1448))).toEqual([]);
  });

  it('rides on data going the other way', () => {
    const env = delayed();
    env.sendData(bytes(100));
    env.conn.write(bytes(10), env.now);
    const [seg] = env.link.take();
    expectSeg(seg, { ack: env.peerNxt, len: 10 });
    expect(env.conn.pollAt()).toBe(env.now + 200);
  });

  it('the delay is configurable', () => {
    const env = delayed({ delayedAckMs: 100 });
    env.sendData(bytes(10));
    expect(env.conn.pollAt()).toBe(env.now + 100);
  });

  it('quick-ACK mode ACKs the first segments at once (Linux)', () => {
    const env = established({ config: { quickAckSegments: 3 } });
    for (let i = 0; i < 3; i++) expect(env.sendData(bytes(100))).toHaveLength(1);
    expect(env.sendData(bytes(100))).toEqual([]);
  });
});

describe('out-of-order data and SACK (RFC 2018 §4)', () => {
  it('ACKs out-of-order data at once with a SACK block, and a filled hole at once', () => {
    const env = delayed();
    const base = env.peerNxt;
    const data = bytes(3000, 4);
    const out = env.inject(env.peer({ seq: base + 1000, payload: data.subarray(1000, 2000) }));
    expectSeg(out[0], { ack: base, flags: ACK, sack: [{ left: base + 1000, right: base + 2000 }] });
    expect(env.conn.readableBytes).toBe(0);
    const fill = env.inject(env.peer({ seq: base, payload: data.subarray(0, 1000) }));
    expectSeg(fill[0], { ack: base + 2000, flags: ACK });
    expect(fill[0].options.sack).toBeUndefined();
    env.inject(env.peer({ seq: base + 2000, payload: data.subarray(2000) }));
    expect(env.conn.read()).toEqual(data);
  });

  it('reports the newest block first, then the others most recently changed first; 3 beside timestamps', () => {
    const env = delayed();
    const b = env.peerNxt;
    const send = (off: number) => env.inject(env.peer({ seq: b + off, payload: bytes(100) }))[0];
    send(200);
    send(400);
    send(600);
    const s = send(800);
    expectSeg(s, {
      ack: b,
      sack: [
        { left: b + 800, right: b + 900 },
        { left: b + 600, right: b + 700 },
        { left: b + 400, right: b + 500 },
      ],
    });
    // Extending an older block brings it to the front.
    const t = send(300);
    expectSeg(t, {
      sack: [
        { left: b + 200, right: b + 500 },
        { left: b + 800, right: b + 900 },
        { left: b + 600, right: b + 700 },
      ],
    });
  });

  it('four blocks without timestamps', () => {
    const env = established({ config: { quickAckSegments: 0, timestamps: false } });
    const b = env.peerNxt;
    let last;
    for (const off of [200, 400, 600, 800, 1000]) last = env.inject(env.peer({ seq: b + off, payload: bytes(100) }))[0];
    expect(last!.options.sack).toHaveLength(4);
    expect(last!.options.sack![0]).toEqual({ left: b + 1000, right: b + 1100 });
  });

  it('keeps at most maxOutOfOrderBytes past a hole', () => {
    const env = delayed({ maxOutOfOrderBytes: 2000 });
    const b = env.peerNxt;
    env.inject(env.peer({ seq: b + 100, payload: bytes(1500) }));
    const out = env.inject(env.peer({ seq: b + 3000, payload: bytes(1000) }));
    // Refused: the ACK reports only what is kept.
    expectSeg(out[0], { ack: b, sack: [{ left: b + 100, right: b + 1600 }] });
    expect(env.drops).toContain('out-of-order-full');
    // A duplicate of what is held costs nothing.
    env.inject(env.peer({ seq: b + 100, payload: bytes(1500) }));
    env.inject(env.peer({ seq: b, payload: bytes(100) }));
    expect(env.conn.readableBytes).toBe(1600);
  });

  it('reassembles a shuffled stream byte-exact', () => {
    const env = delayed();
    const b = env.peerNxt;
    const data = bytes(20_000, 8);
    const order = [5, 2, 9, 0, 7, 1, 3, 8, 6, 4, 12, 11, 10, 13];
    const cut = (i: number) => [i * 1448, Math.min(data.length, (i + 1) * 1448)];
    for (const i of order) {
      const [from, to] = cut(i);
      env.inject(env.peer({ seq: b + from, payload: data.subarray(from, to) }));
    }
    expect(env.conn.read()).toEqual(data);
    expect(env.conn.vars.rcvNxt).toBe(b + 20_000);
  });
});

describe('the offered window (RFC 9293 §3.8.6.2.2)', () => {
  function small() {
    return established({ config: { receiveBufferSize: 4096, maxReceiveBufferSize: 4096, timestamps: false, quickAckSegments: 0 } });
  }

  it('shrinks as data arrives and reopens only in steps worth a segment', () => {
    const env = small();
    const [ack] = env.sendData(bytes(4096));
    expectSeg(ack, { window: 0, ack: env.peerNxt });
    expect(env.conn.read(100)?.length).toBe(100);
    expect(env.conn.pollAt()).toBeUndefined();
    expect(env.conn.read(1360)?.length).toBe(1360);
    // 1460 bytes free: a full segment; the update is due at once (read has no clock: next poll).
    expect(env.conn.pollAt()).toBe(env.now);
    expectSeg(env.poll()[0], { window: 1460, ack: env.peerNxt, flags: ACK });
  });

  it('never moves the right edge back', () => {
    const env = small();
    env.sendData(bytes(1000));
    env.conn.read(500);
    // 500 bytes freed, less than a segment (1000 here): the right edge stays, the window
    // offered is what is left of it.
    const [ack] = env.sendData(bytes(1000));
    expectSeg(ack, { window: 2096 });
    // A smaller buffer does not take back what was offered.
    env.conn.setReceiveBufferSize(1024);
    const [dup] = env.inject(env.peer({ seq: env.peerNxt + 5000 }));
    expectSeg(dup, { window: 2096 });
  });

  it('read gives a copy the caller owns', () => {
    const env = delayed();
    env.sendData(bytes(10));
    const a = env.conn.read(5) as Uint8Array;
    a.fill(0);
    expect(env.conn.read()).toEqual(bytes(10).subarray(5));
  });

  it('tells the owner when data arrives', () => {
    const env = delayed();
    env.sendData(bytes(10));
    expect(env.notice.readable).toBe(true);
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.conn.vars.rcvNxt).toBe(PEER_ISS + 11);
  });
});
