/**
 * Opening a connection: the handshake both ways and simultaneously (RFC 9293 §3.5,
 * §3.10.7.3), SYN and SYN-ACK retransmission (RFC 6298 §5, Linux's retry counts), option
 * negotiation (RFC 9293 §3.7.1 MSS, RFC 7323, RFC 2018) and SYN cookies (RFC 4987 §3.6).
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../lib/socket/tcp/connection';
import { TcpState } from '../../../lib/socket/tcp/state';
import {
  ACK,
  bytes,
  Env,
  established,
  expectSeg,
  FIN,
  ISS,
  Pair,
  PEER_ISS,
  peerSegment,
  peerSynOptions,
  PSH,
  RST,
  SYN,
  synReceived,
  synSent,
  TUPLE6,
} from './helpers';

describe('active open (RFC 9293 §3.10.7.3)', () => {
  it('sends a SYN with every option the configuration enables', () => {
    const { env, syn } = synSent();
    expectSeg(syn, { seq: ISS, ack: 0, flags: SYN, window: 65535, len: 0 });
    // MSS from the link: 1480 bytes of IP payload less the TCP header; window scale from the
    // largest receive buffer (6 MiB needs a shift of 7); SACK-permitted; timestamps.
    expect(syn.options.mss).toBe(1460);
    expect(syn.options.windowScale).toBe(7);
    expect(syn.options.sackPermitted).toBe(true);
    expect(syn.options.timestamp?.echo).toBe(0);
    expect(env.conn.vars.sndNxt).toBe(ISS + 1);
    expect(env.conn.pollAt()).toBe(env.now + 1000);
  });

  it('reaches ESTABLISHED on the SYN-ACK, acknowledges it and tells the owner', () => {
    const { env, syn } = synSent();
    env.clock.advance(30);
    const out = env.inject(
      peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, window: 29200, options: { ...peerSynOptions(), timestamp: { value: 4242, echo: syn.options.timestamp!.value } } }),
    );
    expect(env.conn.state).toBe(TcpState.Established);
    expect(out).toHaveLength(1);
    // RFC 7323 §2.2: the SYN-ACK's window is not scaled; our ACK's is (131072 >> 7).
    expectSeg(out[0], { seq: ISS + 1, ack: PEER_ISS + 1, flags: ACK, window: 1024, tsecr: 4242 });
    expect(env.conn.vars.sndWnd).toBe(29200);
    expect(env.conn.vars.srtt).toBe(30);
    expect(env.notices).toEqual([{ connected: true, readable: false, writable: false, closed: false }]);
  });

  it('takes data that comes with the SYN-ACK', () => {
    const { env } = synSent({ config: { timestamps: false } });
    const out = env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK | PSH, payload: bytes(10) }));
    expectSeg(out[0], { ack: PEER_ISS + 11, flags: ACK });
    expect(env.conn.read()).toEqual(bytes(10));
  });

  it('answers a SYN-ACK for another ISS with a RST <SEQ=SEG.ACK> and stays in SYN-SENT', () => {
    const { env } = synSent();
    for (const ack of [ISS, ISS + 2, ISS - 1000]) {
      const out = env.inject(peerSegment({ seq: PEER_ISS, ack, flags: SYN | ACK }));
      expect(out).toHaveLength(1);
      expectSeg(out[0], { seq: ack >>> 0, flags: RST, len: 0 });
      expect(out[0].options).toEqual({});
    }
    expect(env.conn.state).toBe(TcpState.SynSent);
  });

  it('fails with ECONNREFUSED on a RST that acknowledges the SYN', () => {
    const { env } = synSent();
    expect(env.inject(peerSegment({ seq: 0, ack: ISS + 1, flags: RST | ACK, window: 0 }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ECONNREFUSED');
    expect(env.notice.closed).toBe(true);
    expect(env.conn.finished).toBe(true);
  });

  it('is finished only once the owner has taken the last notice', () => {
    const env = new Env();
    let woken = 0;
    env.conn = TcpConnection.connect({ ...env.connOptions(), notify: () => woken++ });
    env.inject(peerSegment({ seq: 0, ack: ISS + 1, flags: RST | ACK }));
    expect(woken).toBe(1);
    expect(env.conn.finished).toBe(false);
    expect(env.conn.takeNotice()).toEqual({ connected: false, readable: false, writable: false, closed: true });
    expect(env.conn.finished).toBe(true);
    expect(env.conn.takeNotice()).toBeUndefined();
  });

  it('ignores a RST without ACK, and a RST whose ACK is not for the SYN', () => {
    const { env } = synSent();
    expect(env.inject(peerSegment({ seq: 0, flags: RST }))).toEqual([]);
    expect(env.inject(peerSegment({ seq: 0, ack: ISS + 5, flags: RST | ACK }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.SynSent);
  });

  it('drops a segment with neither SYN nor RST', () => {
    const { env } = synSent();
    expect(env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: ACK }))).toEqual([]);
    expect(env.inject(peerSegment({ seq: PEER_ISS, flags: FIN }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.SynSent);
    expect(env.drops).toEqual(['no-syn', 'no-syn']);
  });

  it('retransmits the SYN at 1, 3, 7, 15, 31 and 63 s and fails with ETIMEDOUT at 127 s (synRetries = 6)', () => {
    const { env, syn } = synSent();
    const start = env.now;
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - start);
    const out = env.advance(200_000);
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000, 63000]);
    for (const s of out) {
      expectSeg(s, { seq: ISS, flags: SYN });
      expect(s.options.mss).toBe(1460);
    }
    // Each retransmission carries a fresh TSval.
    expect(out[5].options.timestamp!.value - syn.options.timestamp!.value).toBe(63000);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ETIMEDOUT');
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('follows the configured SYN retry count', () => {
    const { env } = synSent({ config: { synRetries: 2 } });
    const start = env.now;
    let closedAt = 0;
    for (let i = 0; i < 10 && env.conn.state !== TcpState.Closed; i++) {
      env.advance((env.conn.pollAt() as number) - env.now);
      closedAt = env.now - start;
    }
    expect(closedAt).toBe(7000);
    expect(env.conn.error).toBe('ETIMEDOUT');
  });

  it('starts data at a 3 s RTO after a retransmitted SYN with no RTT sample (RFC 6298 §5.7)', () => {
    const { env } = synSent({ config: { timestamps: false } });
    env.advance(1500);
    env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK }));
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.conn.vars.rto).toBe(3000);
    expect(env.conn.vars.srtt).toBeUndefined();
  });

  it('times the handshake from the timestamp echo even after a retransmission', () => {
    const { env } = synSent();
    const [again] = env.advance(1000);
    expectSeg(again, { flags: SYN });
    env.clock.advance(40);
    const echo = again.options.timestamp!.value;
    env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, options: { ...peerSynOptions(), timestamp: { value: 1, echo } } }));
    expect(env.conn.vars.srtt).toBe(40);
    expect(env.conn.vars.rto).toBe(200);
  });
});

describe('passive open (RFC 9293 §3.10.7.2)', () => {
  it('answers the SYN with a SYN-ACK offering only what the SYN offered', () => {
    const { synAck } = synReceived();
    expectSeg(synAck, { seq: ISS, ack: PEER_ISS + 1, flags: SYN | ACK, window: 65535 });
    expect(synAck.options.mss).toBe(1460);
    expect(synAck.options.windowScale).toBe(7);
    expect(synAck.options.sackPermitted).toBe(true);
    expect(synAck.options.timestamp?.echo).toBe(7000);
    const bare = synReceived({ peerOptions: null }).synAck;
    expect(bare.options).toEqual({ mss: 1460 });
  });

  it('is ESTABLISHED on the ACK of the SYN-ACK and tells the owner', () => {
    const { env } = synReceived();
    expect(env.inject(env.peer())).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.notice.connected).toBe(true);
  });

  it('takes data on the handshake-completing ACK', () => {
    const { env } = synReceived();
    const out = env.sendData(bytes(100));
    expect(env.conn.state).toBe(TcpState.Established);
    expectSeg(out[0], { flags: ACK, ack: PEER_ISS + 101 });
    expect(env.conn.read()).toEqual(bytes(100));
  });

  it('SYN-RECEIVED → CLOSE-WAIT when the completing ACK carries a FIN', () => {
    const { env } = synReceived();
    const out = env.sendData(bytes(3), FIN | ACK);
    expect(env.conn.state).toBe(TcpState.CloseWait);
    expectSeg(out[0], { flags: ACK, ack: PEER_ISS + 5 });
    expect(env.notice).toEqual({ connected: true, readable: true, writable: false, closed: false });
  });

  it('a shutdown in SYN-RECEIVED sends the FIN once ESTABLISHED (FIN-WAIT-1)', () => {
    const { env } = synReceived();
    env.conn.shutdown(env.now);
    expect(env.link.take()).toEqual([]);
    const out = env.inject(env.peer());
    expect(env.conn.state).toBe(TcpState.FinWait1);
    expectSeg(out[0], { seq: ISS + 1, flags: FIN | ACK });
  });

  it('sends the SYN-ACK again when the SYN comes again (Linux tcp_check_req)', () => {
    const { env } = synReceived();
    const out = env.inject(peerSegment({ seq: PEER_ISS, flags: SYN, options: peerSynOptions(7000) }));
    expectSeg(out[0], { seq: ISS, ack: PEER_ISS + 1, flags: SYN | ACK });
    expect(env.conn.state).toBe(TcpState.SynReceived);
  });

  it('answers an ACK that does not acknowledge the SYN-ACK with a RST <SEQ=SEG.ACK>', () => {
    const { env } = synReceived({ peerOptions: null });
    const out = env.inject(peerSegment({ seq: PEER_ISS + 1, ack: ISS + 7, flags: ACK }));
    expectSeg(out[0], { seq: ISS + 7, flags: RST });
    expect(env.conn.state).toBe(TcpState.SynReceived);
  });

  it('goes away silently on a RST (back to LISTEN, RFC 9293 §3.10.7.4)', () => {
    const { env } = synReceived({ peerOptions: null });
    expect(env.inject(peerSegment({ seq: PEER_ISS + 1, flags: RST }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBeUndefined();
  });

  it('retransmits the SYN-ACK synAckRetries times, then gives up', () => {
    const { env } = synReceived({ config: { synAckRetries: 5 } });
    const start = env.now;
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - start);
    const out = env.advance(100_000);
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000]);
    for (const s of out) expectSeg(s, { seq: ISS, ack: PEER_ISS + 1, flags: SYN | ACK });
    expect(env.conn.state).toBe(TcpState.Closed);
  });

  it('does not take data on a SYN (no Fast Open): the peer sends it again', () => {
    const env = new Env();
    env.conn = TcpConnection.accept(env.connOptions(), peerSegment({ seq: PEER_ISS, flags: SYN, payload: bytes(5) }));
    expectSeg(env.link.take()[0], { ack: PEER_ISS + 1, flags: SYN | ACK });
  });
});

describe('simultaneous open (RFC 9293 §3.5, Figure 8)', () => {
  it('SYN-SENT → SYN-RECEIVED on a bare SYN, then ESTABLISHED on the SYN-ACK', () => {
    const { env } = synSent({ config: { timestamps: false } });
    const out = env.inject(peerSegment({ seq: PEER_ISS, flags: SYN, options: { mss: 1400, windowScale: 2, sackPermitted: true } }));
    expect(env.conn.state).toBe(TcpState.SynReceived);
    expectSeg(out[0], { seq: ISS, ack: PEER_ISS + 1, flags: SYN | ACK });
    expect(out[0].options).toEqual({ mss: 1460, windowScale: 7, sackPermitted: true });
    // The peer's SYN-ACK crosses ours (Linux accepts it as the handshake's ACK).
    expect(env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, window: 1000 }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.conn.vars.sndWnd).toBe(1000);
    expect(env.conn.vars.mss).toBe(1400);
    expect(env.notice.connected).toBe(true);
  });

  it('also completes on a plain ACK of our SYN-ACK', () => {
    const { env } = synSent({ config: { timestamps: false } });
    env.inject(peerSegment({ seq: PEER_ISS, flags: SYN }));
    expect(env.inject(peerSegment({ seq: PEER_ISS + 1, ack: ISS + 1, flags: ACK, window: 100 }))).toEqual([]);
    expect(env.conn.state).toBe(TcpState.Established);
  });

  it('two connections that connect to each other at once', () => {
    const p = new Pair({ delay: 5 });
    p.a = TcpConnection.connect(p.options('a', ISS));
    p.b = TcpConnection.connect(p.options('b', PEER_ISS));
    p.runUntil(() => p.a.state === TcpState.Established && p.b.state === TcpState.Established, 5_000);
    // The SYNs cross at 5 ms, the SYN-ACKs at 10 ms.
    expect(p.clock.now() - 1_000).toBe(10);
    expect(p.a.write(bytes(1000), p.clock.now())).toBe(1000);
    p.runUntil(() => p.b.readableBytes === 1000, 1_000);
    expect(p.b.read()).toEqual(bytes(1000));
  });
});

describe('options (RFC 9293 §3.7.1, RFC 7323, RFC 2018)', () => {
  it('with a peer that offers none: no timestamps, no scaling, MSS 536', () => {
    const env = established({ peerOptions: null, peerWindow: 65535 });
    expect(env.conn.vars.mss).toBe(536);
    env.conn.write(bytes(2000), env.now);
    const out = env.link.take();
    expect(out.map((s) => s.payloadLen)).toEqual([536, 536, 536, 392]);
    for (const s of out) {
      expect(s.options).toEqual({});
      // Unscaled: the window is the buffer, up to 65535.
      expect(s.window).toBe(65535);
    }
  });

  it('over IPv6 without an MSS option: 1220', () => {
    const env = established({ tuple: TUPLE6, peerOptions: null });
    expect(env.conn.vars.mss).toBe(1220);
  });

  it('subtracts the timestamp option from the segment size (RFC 6691)', () => {
    const env = established();
    expect(env.conn.vars.mss).toBe(1448);
    env.conn.write(bytes(3000), env.now);
    const out = env.link.take();
    expect(out.map((s) => s.payloadLen)).toEqual([1448, 1448, 104]);
    for (const s of out) expect(s.headerLen()).toBe(32);
  });

  it('honours a smaller peer MSS and a smaller link', () => {
    const env = established({ peerOptions: { mss: 1000 } });
    expect(env.conn.vars.mss).toBe(1000);
    const small = new Env();
    small.link.maxPayloadBytes = 576 - 20;
    small.conn = TcpConnection.connect(small.connOptions());
    expect(small.link.take()[0].options.mss).toBe(536);
  });

  it('scales windows both ways only when both SYNs carried the option', () => {
    const env = established({ peerOptions: { mss: 1460, windowScale: 3 }, peerWindow: 1000 });
    env.inject(env.peer({ window: 1000 }));
    expect(env.conn.vars.sndWnd).toBe(8000);
    const noScale = established({ config: { windowScaling: false }, peerOptions: { mss: 1460, windowScale: 3 } });
    noScale.inject(noScale.peer({ window: 1000 }));
    expect(noScale.conn.vars.sndWnd).toBe(1000);
    // Unscaled: the whole buffer cannot be offered, 65535 can; one byte later the right edge
    // stays where it was (RFC 9293 §3.8.6.2.2).
    const ack = noScale.sendData(bytes(1));
    expect(ack[0].window).toBe(65534);
  });

  it('a shift over 14 in the SYN-ACK is taken as 14 (RFC 7323 §2.3)', () => {
    const env = established({ peerOptions: { mss: 1460, windowScale: 14 } });
    env.inject(env.peer({ window: 2 }));
    expect(env.conn.vars.sndWnd).toBe(2 * 16384);
  });

  it('puts timestamps on every segment but RST once negotiated, echoing TS.Recent', () => {
    const env = established();
    const out = env.saw(env.sendData(bytes(10)));
    expect(out[0].options.timestamp?.echo).toBe(env.peerTs);
    env.conn.abort(env.now);
    const [rst] = env.link.take();
    expectSeg(rst, { flags: RST | ACK });
    expect(rst.options).toEqual({});
  });

  it('without SACK-permitted from the peer, no SACK blocks', () => {
    const env = established({ peerOptions: { mss: 1460, windowScale: 7, timestamp: { value: 1, echo: 0 } } });
    const out = env.sendData(bytes(100));
    expect(out.length).toBe(1);
    const ooo = env.inject(env.peer({ seq: env.peerNxt + 500, payload: bytes(100) }));
    expectSeg(ooo[0], { ack: env.peerNxt, flags: ACK });
    expect(ooo[0].options.sack).toBeUndefined();
  });
});

describe('SYN cookies (RFC 4987 §3.6)', () => {
  it('fromCookie is ESTABLISHED from the ACK, with what the SYN offered', () => {
    const env = new Env();
    const ack = peerSegment({ seq: PEER_ISS + 1, ack: ISS + 1, flags: ACK, window: 100, options: { timestamp: { value: 900, echo: 123456 } } });
    env.conn = TcpConnection.fromCookie(env.connOptions(), { irs: PEER_ISS, mss: 1200, sackPermitted: true, windowScale: 2, timestamps: true }, ack);
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.link.take()).toEqual([]);
    expect(env.conn.vars.sndWnd).toBe(400);
    expect(env.conn.vars.mss).toBe(1188);
    env.conn.write(bytes(10), env.now);
    const [seg] = env.link.take();
    // Our clock continues from the TSval the cookie's SYN-ACK carried; TS.Recent is the ACK's.
    expectSeg(seg, { seq: ISS + 1, ack: PEER_ISS + 1, tsval: 123456, tsecr: 900, len: 10 });
  });

  it('fromCookie takes data on the ACK', () => {
    const env = new Env({ config: { timestamps: false } });
    const ack = peerSegment({ seq: PEER_ISS + 1, ack: ISS + 1, flags: ACK | PSH, payload: bytes(20) });
    env.conn = TcpConnection.fromCookie(env.connOptions(), { irs: PEER_ISS, mss: 1460, sackPermitted: false, windowScale: undefined, timestamps: false }, ack);
    expect(env.conn.readableBytes).toBe(20);
    expectSeg(env.link.take()[0], { ack: PEER_ISS + 21, flags: ACK });
  });
});
