/**
 * Segment arrival in a synchronized state, rule by rule (RFC 9293 §3.10.7.4 in its order:
 * sequence number, RST, SYN, ACK, URG, text, FIN), with RFC 5961's defences, RFC 7323's PAWS
 * and the answer for a connection that is gone (§3.10.7.1).
 */
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../lib/socket/tcp/state';
import { TcpFlag } from '../../../lib/wire/tcp';
import { ACK, bytes, established, expectSeg, FIN, ISS, PEER_ISS, peerSegment, PSH, RST, SYN, timeWait } from './helpers';

const URG = TcpFlag.Urg;

/** ESTABLISHED with a 4 KiB receive buffer (no scaling needed) and no timestamps. */
function small(config = {}) {
  return established({ config: { receiveBufferSize: 4096, maxReceiveBufferSize: 4096, timestamps: false, quickAckSegments: 0, ...config } });
}

describe('first: the sequence number (the four cases)', () => {
  it('SEG.LEN = 0, RCV.WND > 0: RCV.NXT <= SEG.SEQ < RCV.NXT + RCV.WND', () => {
    const env = small();
    const nxt = env.peerNxt;
    // In the window: a window update is taken.
    // (The peer's windows are scaled by its shift of 7.)
    expect(env.inject(env.peer({ seq: nxt + 4095, window: 100 }))).toEqual([]);
    expect(env.conn.vars.sndWnd).toBe(100 << 7);
    // Left of it and past its end: an ACK, and the segment is dropped (SND.WND stays).
    env.clock.advance(1000);
    const left = env.inject(env.peer({ seq: nxt - 1, window: 7 }));
    expectSeg(left[0], { seq: ISS + 1, ack: nxt, flags: ACK, window: 4096 });
    env.clock.advance(1000);
    const right = env.inject(env.peer({ seq: nxt + 4096, window: 7 }));
    expectSeg(right[0], { seq: ISS + 1, ack: nxt, flags: ACK });
    expect(env.conn.vars.sndWnd).toBe(100 << 7);
    expect(env.drops).toEqual(['out-of-window', 'out-of-window']);
  });

  it('answers out-of-window bare ACKs at most every 500 ms (Linux: no ACK loops)', () => {
    const env = small();
    expect(env.inject(env.peer({ seq: env.peerNxt + 9000 }))).toHaveLength(1);
    expect(env.inject(env.peer({ seq: env.peerNxt + 9000 }))).toHaveLength(0);
    env.clock.advance(499);
    expect(env.inject(env.peer({ seq: env.peerNxt + 9000 }))).toHaveLength(0);
    env.clock.advance(1);
    expect(env.inject(env.peer({ seq: env.peerNxt + 9000 }))).toHaveLength(1);
    // Data is never rate limited: the peer must learn its retransmission is a duplicate.
    expect(env.inject(env.peer({ seq: env.peerNxt - 10, payload: bytes(10) }))).toHaveLength(1);
  });

  it('SEG.LEN = 0, RCV.WND = 0: only SEG.SEQ = RCV.NXT', () => {
    const env = small();
    env.sendData(bytes(4096));
    expect(env.conn.vars.rcvWnd).toBe(0);
    expect(env.inject(env.peer({ window: 222 }))).toEqual([]);
    expect(env.conn.vars.sndWnd).toBe(222 << 7);
    const out = env.inject(env.peer({ seq: env.peerNxt + 1, window: 333 }));
    expectSeg(out[0], { ack: env.peerNxt, window: 0, flags: ACK });
    expect(env.conn.vars.sndWnd).toBe(222 << 7);
  });

  it('SEG.LEN > 0, RCV.WND = 0: the data is refused, the ACK field still counts', () => {
    const env = small();
    env.sendData(bytes(4096));
    env.conn.write(bytes(100), env.now);
    const [data] = env.link.take();
    expectSeg(data, { seq: ISS + 1, len: 100 });
    // The peer probes our closed window with a byte, acknowledging our data on the way.
    const out = env.inject(env.peer({ payload: bytes(1), ack: ISS + 101 }));
    expectSeg(out[0], { ack: env.peerNxt, window: 0, flags: ACK });
    expect(env.conn.readableBytes).toBe(4096);
    expect(env.conn.vars.sndUna).toBe(ISS + 101);
    expect(env.drops).toEqual(['zero-window']);
  });

  it('SEG.LEN > 0, RCV.WND > 0: only the new part of an overlapping segment is taken', () => {
    const env = small();
    env.sendData(bytes(100, 3));
    const all = bytes(300, 3);
    const out = env.inject(env.peer({ seq: env.peerNxt - 100, payload: all.subarray(0, 300) }));
    expectSeg(out[0], { ack: PEER_ISS + 1 + 300 });
    expect(env.conn.read()).toEqual(all);
  });

  it('SEG.LEN > 0, RCV.WND > 0: data past the right edge is cut off and ACKed at once', () => {
    const env = small();
    const out = env.inject(env.peer({ payload: bytes(5000) }));
    expectSeg(out[0], { ack: env.peerNxt + 4096, window: 0 });
    expect(env.conn.readableBytes).toBe(4096);
  });

  it('a duplicate segment is answered with an ACK and not taken again', () => {
    const env = small();
    env.sendData(bytes(100));
    env.conn.read();
    const out = env.inject(env.peer({ seq: env.peerNxt - 100, payload: bytes(100) }));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.read()).toBeUndefined();
  });
});

describe('second: RST (RFC 5961 §3)', () => {
  it('exactly at RCV.NXT: ECONNRESET, CLOSED, nothing sent; writes then fail with EPIPE', () => {
    const env = established();
    expect(env.inject(env.peer({ flags: RST, options: {} }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ECONNRESET');
    expect(env.notice.closed).toBe(true);
    expect(env.conn.write(bytes(1), env.now)).toBe(-1);
    expect(env.conn.error).toBe('EPIPE');
    expect(env.conn.read()).toBeNull();
  });

  it('in the window but not at RCV.NXT: a challenge ACK, and the connection stays', () => {
    const env = established();
    const out = env.inject(env.peer({ seq: env.peerNxt + 1000, flags: RST }));
    expectSeg(out[0], { seq: ISS + 1, ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.drops).toEqual(['rst-in-window']);
  });

  it('the challenge ACK respects the stack-wide budget (RFC 5961 §7)', () => {
    let budget = 1;
    const env = established({ challengeAck: () => budget-- > 0 });
    expect(env.inject(env.peer({ seq: env.peerNxt + 1, flags: RST }))).toHaveLength(1);
    expect(env.inject(env.peer({ seq: env.peerNxt + 1, flags: RST }))).toHaveLength(0);
  });

  it('out of the window: dropped without an answer', () => {
    const env = established();
    expect(env.inject(env.peer({ seq: env.peerNxt - 1, flags: RST }))).toEqual([]);
    expect(env.inject(env.peer({ seq: env.peerNxt + 10_000_000, flags: RST }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Established);
  });

  it('is not subject to PAWS (RFC 7323 §5.2)', () => {
    const env = established();
    expect(env.inject(env.peer({ flags: RST, options: { timestamp: { value: 1, echo: 0 } } }))).toEqual([]);
    expect(env.conn.error).toBe('ECONNRESET');
  });

  it('drops the data already received? No: it stays readable (Linux), then EOF', () => {
    const env = established();
    env.sendData(bytes(10));
    env.inject(env.peer({ flags: RST, options: {} }));
    expect(env.conn.read()).toEqual(bytes(10));
    expect(env.conn.read()).toBeNull();
  });
});

describe('fourth: SYN (RFC 5961 §4)', () => {
  it('in the window: a challenge ACK, nothing else changes', () => {
    const env = established();
    const out = env.inject(env.peer({ flags: SYN }));
    expectSeg(out[0], { seq: ISS + 1, ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.drops).toEqual(['syn-in-window']);
  });

  it('with any sequence number: an ACK (the window check answers those outside)', () => {
    const env = established();
    const out = env.inject(env.peer({ seq: env.peerNxt - 50000, flags: SYN }));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Established);
  });

  it('SYN with RST at RCV.NXT resets (RST is checked first)', () => {
    const env = established();
    env.inject(env.peer({ flags: SYN | RST }));
    expect(env.conn.error).toBe('ECONNRESET');
  });
});

describe('fifth: ACK (RFC 9293 §3.10.7.4, RFC 5961 §5)', () => {
  it('a segment without ACK is dropped, data and all', () => {
    const env = established();
    expect(env.inject(env.peer({ flags: PSH, payload: bytes(10) }))).toEqual([]);
    expect(env.conn.readableBytes).toBe(0);
    expect(env.drops).toEqual(['no-ack']);
  });

  it('an ACK for data never sent: an ACK back, the segment dropped', () => {
    const env = established();
    const out = env.inject(env.peer({ ack: ISS + 2, payload: bytes(10) }));
    expectSeg(out[0], { seq: ISS + 1, ack: env.peerNxt, flags: ACK });
    expect(env.conn.readableBytes).toBe(0);
    expect(env.drops).toEqual(['ack-unsent']);
  });

  it('an ACK older than SND.UNA - MAX.SND.WND: a challenge ACK, the segment dropped', () => {
    const env = established({ peerWindow: 1000, config: { timestamps: false } });
    const out = env.inject(env.peer({ ack: ISS + 1 - 1001, payload: bytes(10) }));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK });
    expect(env.conn.readableBytes).toBe(0);
    expect(env.drops).toEqual(['ack-too-old']);
    // Within MAX.SND.WND of SND.UNA it is only an old ACK: the data is taken.
    env.inject(env.peer({ ack: ISS + 1 - 1000, payload: bytes(10) }));
    expect(env.conn.readableBytes).toBe(10);
  });

  it('takes the window only from a newer segment (SND.WL1, SND.WL2)', () => {
    const env = established({ config: { timestamps: false } });
    env.sendData(bytes(10));
    env.inject(env.peer({ window: 5000 }));
    expect(env.conn.vars.sndWnd).toBe(5000 << 7);
    // A reordered older segment (lower SEG.SEQ) does not shrink it.
    env.inject(env.peer({ seq: env.peerNxt - 10, payload: bytes(10), window: 1 }));
    expect(env.conn.vars.sndWnd).toBe(5000 << 7);
  });
});

describe('sixth: URG (RFC 6093)', () => {
  it('urgent data is ordinary inline data', () => {
    const env = established();
    env.inject(peerSegment({ seq: env.peerNxt, ack: ISS + 1, flags: ACK | URG | PSH, payload: bytes(20), options: env.peerTsOption() }));
    expect(env.conn.read()).toEqual(bytes(20));
  });
});

describe('PAWS (RFC 7323 §5)', () => {
  it('drops a segment with a TSval older than TS.Recent and ACKs', () => {
    const env = established();
    env.sendData(bytes(10));
    const out = env.inject(env.peer({ payload: bytes(10), options: { timestamp: { value: env.peerTs - 5, echo: 0 } } }));
    expectSeg(out[0], { ack: env.peerNxt, flags: ACK, tsecr: env.peerTs });
    expect(env.conn.readableBytes).toBe(10);
    expect(env.drops).toEqual(['paws']);
  });

  it('takes it once TS.Recent is more than 24 days old (§5.5)', () => {
    const env = established();
    env.sendData(bytes(10));
    env.clock.advance(24 * 24 * 3600 * 1000 + 1);
    const out = env.inject(env.peer({ payload: bytes(10), options: { timestamp: { value: env.peerTs - 5, echo: 0 } } }));
    expectSeg(out[0], { ack: env.peerNxt + 10 });
    expect(env.conn.readableBytes).toBe(20);
  });

  it('TS.Recent follows the segment at the left edge (§4.3), not one past a hole', () => {
    const env = established();
    const before = env.peerTs;
    env.inject(env.peer({ seq: env.peerNxt + 100, payload: bytes(10), options: { timestamp: { value: before + 100, echo: 0 } } }));
    const [ack] = env.inject(env.peer({ payload: bytes(100), options: { timestamp: { value: before + 1, echo: 0 } } }));
    expectSeg(ack, { ack: env.peerNxt + 110, tsecr: before + 1 });
  });
});

describe('a segment for a connection that is gone (§3.10.7.1)', () => {
  it('answers with a RST: <SEQ=SEG.ACK> for an ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN> otherwise', () => {
    const env = established();
    env.conn.abort(env.now);
    env.link.take();
    expectSeg(env.inject(env.peer({ ack: ISS + 1, payload: bytes(5) }))[0], { seq: ISS + 1, flags: RST });
    expectSeg(env.inject(peerSegment({ seq: 777, flags: SYN | FIN, payload: bytes(3) }))[0], { seq: 0, ack: 782, flags: RST | ACK });
    expect(env.inject(peerSegment({ seq: 777, flags: RST }))).toEqual([]);
  });
});

describe('TIME-WAIT and a new SYN (RFC 6191)', () => {
  it('with timestamps: a newer TSval ends TIME-WAIT for a new connection; an older one does not', () => {
    const env = timeWait();
    env.inject(peerSegment({ seq: 1, flags: SYN, options: { timestamp: { value: env.peerTs - 1, echo: 0 } } }));
    expect(env.conn.state).toBe(TcpState.TimeWait);
    env.inject(peerSegment({ seq: 1, flags: SYN, options: { timestamp: { value: env.peerTs + 1, echo: 0 } } }));
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.finished).toBe(true);
  });

  it('without: a sequence number beyond RCV.NXT', () => {
    const env = timeWait({ peerOptions: null });
    env.inject(peerSegment({ seq: env.peerNxt - 5, flags: SYN }));
    expect(env.conn.state).toBe(TcpState.TimeWait);
    expect(env.inject(peerSegment({ seq: env.peerNxt + 5, flags: SYN }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
  });
});

describe('every flag combination in ESTABLISHED (hostile input)', () => {
  const all = [...Array(256).keys()];
  it.each(all)('flags %i at RCV.NXT: handled per the rules, never a throw', (flags) => {
    const env = established();
    const out = env.inject(env.peer({ flags, payload: bytes(3) }));
    if (flags & RST) {
      expect(env.conn.state).toBe(TcpState.Closed);
      expect(out).toEqual([]);
    } else if (flags & SYN) {
      expect(env.conn.state).toBe(TcpState.Established);
      expectSeg(out[0], { flags: ACK, ack: env.peerNxt });
    } else if (!(flags & ACK)) {
      expect(out).toEqual([]);
      expect(env.conn.readableBytes).toBe(0);
    } else {
      expect(env.conn.readableBytes).toBe(3);
      expect(env.conn.state).toBe(flags & FIN ? TcpState.CloseWait : TcpState.Established);
    }
  });
});
