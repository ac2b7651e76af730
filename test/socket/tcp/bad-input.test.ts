/**
 * Hostile input (issue 6, "Bad input"): every combination of the eight control bits in every
 * state, SACK blocks that lie, a window that shrinks under data in flight, ACKs for data never
 * sent, and malformed headers at the layer. Each is handled as the RFC says and counted; the
 * real check is that the connection then still works (or ended as the RFC says it should).
 */
import { describe, expect, it } from 'vitest';
import type { TcpConnection } from '../../../lib/socket/tcp/connection';
import type { TcpListener } from '../../../lib/socket/tcp/listener';
import { TcpState } from '../../../lib/socket/tcp/state';
import { isDrop } from '../../../lib/wire/drop';
import { EtherType, EthernetFrame } from '../../../lib/wire/ethernet';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../../lib/wire/ipv4';
import { flagsText, TcpPacket, TcpRepr } from '../../../lib/wire/tcp';
import { arpFrame, ethernetFrame, ip } from '../../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC, type Harness } from '../../helpers/harness';
import {
  ACK,
  bytes,
  closeWait,
  Env,
  established,
  expectSeg,
  FIN,
  finWait1,
  finWait2,
  ISS,
  lastAck,
  PEER_ISS,
  peerSegment,
  peerSynOptions,
  PSH,
  RST,
  SYN,
  synReceived,
  synSent,
  timeWait,
} from './helpers';

const ALL_FLAGS = [...Array(256).keys()];
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const DATA = enc('abc');

/** CLOSING (simultaneous close, RFC 9293 Figure 13): our FIN out, the peer's FIN in before its ACK of ours. */
function closing(): Env {
  const { env } = finWait1();
  const out = env.inject(env.peer({ flags: FIN | ACK, ack: env.conn.vars.sndUna }));
  env.peerNxt++;
  expectSeg(out[0], { flags: ACK, ack: env.peerNxt });
  expect(env.conn.state).toBe(TcpState.Closing);
  return env;
}

/** A connection reset by its peer: CLOSED, as §3.10.7.1 sees it. */
function closedByReset(): Env {
  const env = established();
  env.inject(env.peer({ flags: RST }));
  expect(env.conn.state).toBe(TcpState.Closed);
  return env;
}

type Synchronized = 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

const FACTORIES: Record<Synchronized, () => Env> = {
  'SYN-RECEIVED': () => synReceived().env,
  ESTABLISHED: () => established(),
  'FIN-WAIT-1': () => finWait1().env,
  'FIN-WAIT-2': () => finWait2(),
  'CLOSE-WAIT': () => closeWait(),
  CLOSING: closing,
  'LAST-ACK': () => lastAck().env,
  'TIME-WAIT': () => timeWait(),
};

/** What RFC 9293 §3.10.7.4 says a segment with an acceptable ACK field does. */
interface Outcome {
  /** The state once the ACK field is processed, and once the FIN is (when it arrives in order). */
  ackState: TcpState;
  state: TcpState;
  /** Data bytes taken, and whether the FIN was (once in order). */
  taken: number;
  fin: boolean;
  /** 'one-ack': exactly one (a challenge ACK, or the answer to an unacceptable or out-of-order segment); 'none': nothing; 'acks': pure ACKs only, if any. */
  reply: 'none' | 'one-ack' | 'acks';
  drop?: string;
}

/**
 * Where the segment starts: at RCV.NXT; in the window past a hole of HOLE bytes; or wholly
 * below RCV.NXT (an old duplicate).
 */
type Position = 'at RCV.NXT' | 'past a hole' | 'old duplicate';
const HOLE = 100;

/** `ackAll`: the ACK field covers everything sent (our FIN too); else it acknowledges nothing new. */
function rfcOutcome(state: Synchronized, flags: number, ackAll: boolean, at: Position): Outcome {
  const same = { ackState: state as TcpState, state: state as TcpState, taken: 0, fin: false };
  const closed = { ...same, ackState: TcpState.Closed, state: TcpState.Closed, reply: 'none' as const };
  // RFC 6191 §2 (before the sequence check): a SYN with a newer timestamp ends TIME-WAIT for
  // a new incarnation, wherever its sequence number.
  if (state === 'TIME-WAIT' && flags & SYN && !(flags & (ACK | RST))) return closed;
  // First step: an unacceptable segment gets an ACK, unless it is a RST.
  if (at === 'old duplicate') return flags & RST ? { ...same, reply: 'none', drop: 'out-of-window' } : { ...same, reply: 'one-ack', drop: 'out-of-window' };
  // Second step: a RST exactly at RCV.NXT closes; elsewhere in the window it gets a challenge ACK (RFC 5961 §3.2).
  if (flags & RST) return at === 'at RCV.NXT' ? closed : { ...same, reply: 'one-ack', drop: 'rst-in-window' };
  // Fourth step: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4.2).
  if (flags & SYN) return { ...same, reply: 'one-ack', drop: 'syn-in-window' };
  // Fifth step: no ACK, no processing.
  if (!(flags & ACK)) return { ...same, reply: 'none', drop: 'no-ack' };
  let s: TcpState = state === 'SYN-RECEIVED' ? TcpState.Established : state;
  if (ackAll) {
    if (s === TcpState.FinWait1) s = TcpState.FinWait2;
    else if (s === TcpState.Closing) s = TcpState.TimeWait;
    else if (s === TcpState.LastAck) return closed;
  }
  // Seventh and eighth steps: data and FIN only where the peer has not sent its FIN yet.
  const open = s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2;
  const reply = at === 'past a hole' && open ? 'one-ack' : 'acks';
  if (!open) return { ackState: s, state: s, taken: 0, fin: false, reply };
  const fin = (flags & FIN) !== 0;
  const after = !fin ? s : s === TcpState.Established ? TcpState.CloseWait : s === TcpState.FinWait1 ? TcpState.Closing : TcpState.TimeWait;
  return { ackState: s, state: after, taken: DATA.length, fin, reply };
}

/** Every segment sent is a pure ACK <SEQ=SND.NXT><ACK=RCV.NXT>: the only answer a synchronized connection gives here. */
function expectPureAcks(env: Env, out: TcpRepr[]): void {
  for (const s of out) expectSeg(s, { flags: ACK, seq: env.conn.vars.sndNxt, ack: env.conn.vars.rcvNxt, len: 0 });
}

/** A normal exchange from wherever the connection is, to its end or to data both ways. */
function carryOn(env: Env, readBefore: Uint8Array): void {
  const conn = env.conn;
  const ping = enc('ping');
  const expectPing = () => {
    env.sendData(ping);
    expect(dec(conn.read()!)).toBe(dec(readBefore) + 'ping');
  };
  switch (conn.state) {
    case TcpState.SynReceived:
      expect(env.inject(env.peer())).toEqual([]);
      expect(conn.state).toBe(TcpState.Established);
      return carryOn(env, readBefore);
    case TcpState.Established: {
      expectPing();
      expect(conn.write(enc('pong'), env.now)).toBe(4);
      const [seg] = env.saw(env.link.take());
      expectSeg(seg, { seq: conn.vars.sndNxt - 4, ack: env.peerNxt, payload: enc('pong') });
      env.inject(env.peer());
      expect(conn.vars.sndUna).toBe(conn.vars.sndNxt);
      return;
    }
    case TcpState.FinWait1:
      expectPing();
      env.inject(env.peer());
      expect(conn.state).toBe(TcpState.FinWait2);
      return carryOn(env, new Uint8Array(0));
    case TcpState.FinWait2:
      expectPing();
      env.sendData(new Uint8Array(0), FIN | ACK);
      expect(conn.state).toBe(TcpState.TimeWait);
      return carryOn(env, new Uint8Array(0));
    case TcpState.CloseWait:
      expect(conn.read() ?? new Uint8Array(0)).toEqual(readBefore);
      expect(conn.read()).toBeNull();
      expect(conn.write(enc('pong'), env.now)).toBe(4);
      env.saw(env.link.take());
      env.inject(env.peer());
      conn.shutdown(env.now);
      expectSeg(env.saw(env.link.take())[0], { flags: FIN | ACK });
      return carryOn(env, readBefore);
    case TcpState.Closing:
    case TcpState.LastAck: {
      const next = conn.state === TcpState.Closing ? TcpState.TimeWait : TcpState.Closed;
      env.inject(env.peer());
      expect(conn.state).toBe(next);
      return carryOn(env, readBefore);
    }
    case TcpState.TimeWait:
      env.advance(2 * env.config.mslMs);
      expect(conn.state).toBe(TcpState.Closed);
      return;
    case TcpState.Closed:
      // RFC 9293 §3.10.7.1: from now on, a RST for anything but a RST.
      expect(env.inject(env.peer({ ack: 777 }))).toMatchObject([{ flags: RST, seq: 777 }]);
      return;
  }
  throw new Error(`no way on from ${conn.state}`);
}

describe('every flag combination in every synchronized state (RFC 9293 §3.10.7.4)', () => {
  const cases: { state: Synchronized; ackAll: boolean; at: Position }[] = [];
  for (const at of ['at RCV.NXT', 'past a hole', 'old duplicate'] as Position[]) {
    for (const state of Object.keys(FACTORIES) as Synchronized[]) {
      cases.push({ state, ackAll: false, at });
      if (state === 'FIN-WAIT-1' || state === 'CLOSING' || state === 'LAST-ACK') cases.push({ state, ackAll: true, at });
    }
  }
  describe.each(cases)('$state, $at, ACK of everything sent: $ackAll', ({ state, ackAll, at }) => {
    it.each(ALL_FLAGS)('flags %i', (flags) => {
      const env = FACTORIES[state]();
      const conn = env.conn;
      const before = conn.vars;
      const readable = conn.readableBytes;
      const want = rfcOutcome(state, flags, ackAll, at);
      // SYN-RECEIVED: an ACK of our SYN; elsewhere SND.UNA, or SND.NXT (our FIN too).
      const ack = state === 'SYN-RECEIVED' || ackAll ? before.sndNxt : before.sndUna;
      const seq = at === 'at RCV.NXT' ? before.rcvNxt : at === 'past a hole' ? before.rcvNxt + HOLE : before.rcvNxt - 2000;
      env.drops.length = 0;
      const out = env.saw(env.inject(env.peer({ flags, seq, ack, payload: DATA })));
      const what = `${state} ${flagsText(flags)}`;
      if (want.reply === 'none') expect(out, what).toEqual([]);
      else if (want.reply === 'one-ack') expect(out, what).toHaveLength(1);
      if (want.drop) expect(env.drops, what).toContain(want.drop);
      if (want.state === TcpState.Closed) {
        expect(conn.state, what).toBe(TcpState.Closed);
        // Linux (tcp_reset): ECONNRESET, but EPIPE once the peer's FIN came (CLOSE-WAIT).
        const reset = flags & RST && ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'].includes(state);
        expect(conn.error, what).toBe(reset ? (state === 'CLOSE-WAIT' ? 'EPIPE' : 'ECONNRESET') : undefined);
        return carryOn(env, new Uint8Array(0));
      }
      expectPureAcks(env, out);
      let gap: Uint8Array = new Uint8Array(0);
      if (at === 'past a hole' && want.taken > 0) {
        // Held past the hole, FIN and all, until the peer fills it.
        expect(conn.state, what).toBe(want.ackState);
        expect([conn.vars.rcvNxt, conn.readableBytes], what).toEqual([before.rcvNxt, readable]);
        expect(out[0].options.sack, what).toEqual([{ left: seq, right: seq + DATA.length }]);
        gap = bytes(HOLE, 9);
        expectPureAcks(env, env.saw(env.inject(env.peer({ seq: before.rcvNxt, ack, payload: gap }))));
      }
      expect(conn.state, what).toBe(want.state);
      const taken = want.taken > 0 ? gap.length + want.taken : 0;
      expect(conn.vars.rcvNxt, what).toBe((before.rcvNxt + taken + (want.fin ? 1 : 0)) >>> 0);
      expect(conn.readableBytes, what).toBe(readable + taken);
      env.peerNxt = conn.vars.rcvNxt;
      carryOn(env, want.taken > 0 ? Uint8Array.from([...gap, ...DATA]) : new Uint8Array(0));
    });
  });
});

describe('every flag combination in SYN-SENT (RFC 9293 §3.10.7.3)', () => {
  describe.each([
    { name: 'an acceptable ACK field', good: true },
    { name: 'an ACK field at the ISS (unacceptable)', good: false },
  ])('$name', ({ good }) => {
    it.each(ALL_FLAGS)('flags %i', (flags) => {
      const { env } = synSent();
      const conn = env.conn;
      const ack = good ? ISS + 1 : ISS;
      const what = flagsText(flags);
      const out = env.saw(env.inject(peerSegment({ seq: PEER_ISS, ack, flags, options: peerSynOptions(env.peerTs), payload: DATA })));
      env.tsOn = true;
      const hasAck = (flags & ACK) !== 0;
      if (hasAck && !good) {
        // First: an unacceptable ACK is answered with <SEQ=SEG.ACK><CTL=RST>, unless a RST.
        expect(out, what).toEqual(flags & RST ? [] : [expect.objectContaining({ flags: RST, seq: ISS })]);
        expect(conn.state).toBe(TcpState.SynSent);
      } else if (flags & RST) {
        // Second: a RST with an acceptable ACK refuses the connection; one without is dropped.
        expect(out, what).toEqual([]);
        expect(conn.state).toBe(hasAck ? TcpState.Closed : TcpState.SynSent);
        if (hasAck) expect(conn.error).toBe('ECONNREFUSED');
      } else if (!(flags & SYN)) {
        expect(out, what).toEqual([]);
        expect(conn.state).toBe(TcpState.SynSent);
      } else if (hasAck) {
        // Fourth: SYN-ACK. ESTABLISHED, the data after the SYN taken, and the FIN.
        const fin = (flags & FIN) !== 0;
        expect(conn.state, what).toBe(fin ? TcpState.CloseWait : TcpState.Established);
        expect(conn.vars.rcvNxt).toBe(PEER_ISS + 1 + DATA.length + (fin ? 1 : 0));
        expectSeg(out[0], { flags: ACK, seq: ISS + 1, ack: conn.vars.rcvNxt });
        env.peerNxt = conn.vars.rcvNxt;
        return carryOn(env, DATA);
      } else {
        // A SYN alone: simultaneous open, SYN-RECEIVED and a SYN-ACK; what else it carried is
        // left for the peer to send again.
        expect(conn.state, what).toBe(TcpState.SynReceived);
        expectSeg(out[0], { flags: SYN | ACK, seq: ISS, ack: PEER_ISS + 1 });
        env.peerNxt = PEER_ISS + 1;
        return carryOn(env, new Uint8Array(0));
      }
      if (conn.state === TcpState.Closed) return;
      // Still SYN-SENT: the real SYN-ACK completes the handshake.
      const synAck = peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, options: { ...peerSynOptions(env.peerTs), timestamp: { value: env.peerTs, echo: env.lastTsval } } });
      expectSeg(env.saw(env.inject(synAck))[0], { flags: ACK, ack: PEER_ISS + 1 });
      expect(conn.state).toBe(TcpState.Established);
      carryOn(env, new Uint8Array(0));
    });
  });
});

describe('every flag combination to a connection that is gone (RFC 9293 §3.10.7.1)', () => {
  it.each(ALL_FLAGS)('flags %i', (flags) => {
    const env = closedByReset();
    const seg = env.peer({ flags, ack: 4242, seq: 9000, payload: DATA });
    const out = env.inject(seg);
    const len = DATA.length + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    if (flags & RST) expect(out).toEqual([]);
    else if (flags & ACK) expect(out).toMatchObject([{ flags: RST, seq: 4242 }]);
    else expect(out).toMatchObject([{ flags: RST | ACK, seq: 0, ack: 9000 + len }]);
    expect(env.conn.state).toBe(TcpState.Closed);
  });
});

describe('ACKs for data never sent, and ACKs too old (RFC 9293 §3.10.7.4 fifth step, RFC 5961 §5.2)', () => {
  const states = Object.keys(FACTORIES).filter((s) => s !== 'SYN-RECEIVED') as Synchronized[];
  const beyond = [
    { name: 'one past SND.NXT', ack: (v: { sndNxt: number }) => v.sndNxt + 1 },
    { name: 'a gigabyte past SND.NXT', ack: (v: { sndNxt: number }) => v.sndNxt + 0x4000_0000 },
  ];
  describe.each(states)('%s', (state) => {
    it.each(beyond)('$name: a challenge ACK, the segment dropped, nothing changes', ({ ack }) => {
      const env = FACTORIES[state]();
      const before = env.conn.vars;
      const out = env.saw(env.inject(env.peer({ ack: ack(before) >>> 0, flags: ACK | PSH | FIN, payload: DATA })));
      expect(out).toHaveLength(1);
      expectPureAcks(env, out);
      expect(env.drops).toContain('ack-unsent');
      expect(env.conn.state).toBe(state);
      expect([env.conn.vars.rcvNxt, env.conn.vars.sndUna, env.conn.readableBytes]).toEqual([before.rcvNxt, before.sndUna, 0]);
      carryOn(env, new Uint8Array(0));
    });

    it('older than SND.UNA - MAX.SND.WND: a challenge ACK, the segment dropped', () => {
      const env = FACTORIES[state]();
      const before = env.conn.vars;
      // The peer's SYN offered 65535 unscaled, its ACKs 65535 << 7: MAX.SND.WND.
      const old = (before.sndUna - (0xffff << 7) - 1) >>> 0;
      const out = env.saw(env.inject(env.peer({ ack: old, flags: ACK | PSH, payload: DATA })));
      expect(out).toHaveLength(1);
      expectPureAcks(env, out);
      expect(env.drops).toContain('ack-too-old');
      expect([env.conn.state, env.conn.vars.rcvNxt]).toEqual([state, before.rcvNxt]);
      carryOn(env, new Uint8Array(0));
    });
  });

  it('SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>, and the handshake can still complete', () => {
    const { env } = synReceived();
    const out = env.inject(env.peer({ ack: ISS + 2, payload: DATA }));
    expect(out).toMatchObject([{ flags: RST, seq: ISS + 2 }]);
    expect(env.drops).toEqual(['bad-ack']);
    expect(env.conn.state).toBe(TcpState.SynReceived);
    carryOn(env, new Uint8Array(0));
  });

  it('SYN-SENT: <SEQ=SEG.ACK><CTL=RST>, and the real SYN-ACK still completes it', () => {
    const { env } = synSent();
    const out = env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 2, flags: SYN | ACK, options: peerSynOptions() }));
    expect(out).toMatchObject([{ flags: RST, seq: ISS + 2 }]);
    expect(env.conn.state).toBe(TcpState.SynSent);
    env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, options: { mss: 1460 } }));
    expect(env.conn.state).toBe(TcpState.Established);
    carryOn(env, new Uint8Array(0));
  });
});

const SEG = 1448;

/**
 * ESTABLISHED (Reno, so cwnd is simple), `segments` full segments written, the first ten sent.
 * `sack` false: the peer offers no SACK, so no RACK-TLP probes either.
 */
function sending(segments = 10, config = {}, sack = true): Env {
  const peerOptions = { ...peerSynOptions(), sackPermitted: sack ? true : undefined };
  const env = established({ config: { congestionControl: 'reno', ...config }, rtt: 50, peerOptions });
  env.conn.write(bytes(segments * SEG), env.now);
  expect(env.saw(env.link.take())).toHaveLength(10);
  return env;
}

/**
 * A peer that takes data in order only and ACKs everything that reaches it with `window`;
 * runs for `ms`, answering at every timer. Returns RCV.NXT at the peer (as an offset from ISS + 1)
 * and what came.
 */
function peerTakesInOrder(env: Env, window: number, ms: number, start = 0): { got: number; sent: TcpRepr[] } {
  let got = start;
  const sent: TcpRepr[] = [];
  const end = env.now + ms;
  let pending = env.saw(env.link.take());
  for (let i = 0; i < 10_000 && env.now <= end && env.conn.state === TcpState.Established; i++) {
    for (const s of pending) {
      sent.push(s);
      if (s.payloadLen > 0 && s.seq - ISS - 1 === got) got += s.payloadLen;
    }
    if (pending.length > 0) {
      pending = env.saw(env.inject(env.peer({ ack: ISS + 1 + got, window })));
      continue;
    }
    const at = env.conn.pollAt();
    if (at === undefined || at > end) break;
    pending = env.saw(env.advance(at - env.now));
  }
  return { got, sent };
}

describe('a window that shrinks under data in flight (RFC 9293 §3.8.6)', () => {
  it('to zero: nothing sent is taken back, the window is probed and the connection kept while the peer answers, then all arrives', () => {
    const env = sending(20, { retries2: 3 }, false);
    const max = env.conn.vars.sndNxt;
    // The peer took only the first segment, and its window closed.
    const out = env.inject(env.peer({ ack: ISS + 1 + SEG, window: 0 }));
    expect(out).toEqual([]);
    expect(env.conn.vars.sndNxt).toBe(max);
    const { got, sent } = peerTakesInOrder(env, 0, 600_000, SEG);
    expect(got).toBe(SEG);
    // "If the window shrinks to zero, the TCP implementation MUST probe it": no data goes, an
    // answered probe is not a failure (retries2 is 3 here), and probing backs off.
    expect(sent.length).toBeGreaterThan(5);
    for (const s of sent) expectSeg(s, { seq: ISS + SEG, len: 0, flags: ACK });
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.conn.vars.sndNxt).toBe(max);
    // The window opens: everything arrives, in order.
    env.inject(env.peer({ ack: ISS + 1 + SEG, window: 0xffff }));
    expect(peerTakesInOrder(env, 0xffff, 60_000, SEG).got).toBe(20 * SEG);
    expect(env.conn.vars.sndUna).toBe(ISS + 1 + 20 * SEG);
  });

  it('below what is in flight: no new data, and after a timeout only what fits is resent', () => {
    const env = sending(20, {}, false);
    const max = env.conn.vars.sndNxt;
    // Two segments taken; the right edge moves from far past SND.NXT to one segment past SND.UNA.
    expect(env.inject(env.peer({ ack: ISS + 1 + 2 * SEG, window: Math.ceil(SEG / 128) }))).toEqual([]);
    expect(env.conn.vars.sndWnd).toBe(Math.ceil(SEG / 128) * 128);
    expect(env.conn.vars.sndNxt).toBe(max);
    // The RTO: the segment at SND.UNA again (RFC 9293 §3.8.6: "retransmit normally the old
    // unacknowledged data between SND.UNA and SND.UNA+SND.WND"), nothing past the window.
    const again = env.saw(env.advance(env.conn.pollAt()! - env.now));
    expect(again.map((s) => [s.seq - ISS - 1, s.payloadLen])).toEqual([[2 * SEG, SEG]]);
    expect(peerTakesInOrder(env, 0xffff, 60_000, 2 * SEG).got).toBe(20 * SEG);
  });
});

describe('SACK blocks that lie (RFC 2018 §4-5, RFC 6675 §5)', () => {
  /** A duplicate ACK at SND.UNA, with a new window so that only its SACK blocks could count, and them. */
  function dupWith(env: Env, sack: { left: number; right: number }[], window: number): TcpRepr[] {
    return env.inject(env.peer({ ack: ISS + 1, window, options: { ...env.peerTsOption(), sack } }));
  }
  const at = (n: number) => ISS + 1 + n * SEG;

  it.each([
    { name: 'reversed', block: { left: at(3), right: at(2) }, reason: 'sack-reversed' },
    { name: 'empty', block: { left: at(3), right: at(3) }, reason: 'sack-reversed' },
    { name: 'above SND.NXT', block: { left: at(8), right: at(11) }, reason: 'sack-unsent' },
    { name: 'far outside the window', block: { left: at(1) + 0x4000_0000, right: at(2) + 0x4000_0000 }, reason: 'sack-unsent' },
    { name: 'starting at the cumulative ACK', block: { left: at(0), right: at(3) }, reason: 'sack-below-ack' },
    { name: 'straddling the cumulative ACK', block: { left: at(0) - 500, right: at(3) }, reason: 'sack-below-ack' },
  ])('$name: ignored and counted', ({ block, reason }) => {
    const env = sending();
    for (let i = 0; i < 4; i++) expect(dupWith(env, [block], 1000 + i)).toEqual([]);
    expect(env.drops.filter((d) => d === reason)).toHaveLength(4);
    // No recovery began on them: nothing presumed lost, cwnd untouched.
    expect(env.conn.vars.ssthresh).toBeUndefined();
    expect(peerTakesInOrder(env, 0xffff, 60_000).got).toBe(10 * SEG);
  });

  it('a D-SACK (at or below the cumulative ACK, RFC 2883) is no lie: ignored, not counted', () => {
    const env = sending();
    env.inject(env.peer({ ack: at(2) }));
    env.drops.length = 0;
    env.inject(env.peer({ ack: at(2), options: { ...env.peerTsOption(), sack: [{ left: at(1), right: at(2) }] } }));
    expect(env.drops).toEqual([]);
  });

  it('good blocks beside bad ones still count', () => {
    const env = sending();
    const bad = { left: at(9), right: at(12) };
    dupWith(env, [{ left: at(1), right: at(2) }, bad], 2000);
    dupWith(env, [{ left: at(1), right: at(3) }, bad], 2001);
    const out = dupWith(env, [{ left: at(1), right: at(4) }, bad], 2002);
    // RFC 6675: three segments SACKed above segment 0: it is lost, and resent.
    expect(out.filter((s) => s.payloadLen > 0).map((s) => s.seq)).toEqual([at(0)]);
    expect(env.drops.filter((d) => d === 'sack-unsent')).toHaveLength(3);
  });

  it('a peer that reneges on what it SACKed (RFC 2018 §8): everything is resent after a timeout', () => {
    const env = sending();
    // Everything but segment 0 arrived and was SACKed; recovery resends segment 0.
    let out: TcpRepr[] = [];
    for (let n = 2; n <= 10; n++) out.push(...env.saw(dupWith(env, [{ left: at(1), right: at(n) }], 3000 + n)));
    expect(out.filter((s) => s.payloadLen > 0).map((s) => s.seq)).toContain(at(0));
    // But the peer then dropped what it held: its ACK stops at segment 1, which it SACKed.
    out = env.saw(env.inject(env.peer({ ack: at(1) })));
    expect(peerTakesInOrder(env, 0xffff, 120_000, SEG).got).toBe(10 * SEG);
    expect(env.conn.vars.sndUna).toBe(at(10));
  });
});

// ------------------------------------------------------------------ at the layer

const PEER = ip('10.0.0.1');
const STACK = ip('10.0.0.2');

interface RawSegment {
  srcPort?: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: number;
  /** Option bytes as they go on the wire, unchecked. */
  options?: number[];
  /** The data offset field, in 32-bit words; by default what the options need. */
  dataOffset?: number;
  payload?: Uint8Array;
  /** Cut the segment to this many bytes (the checksum still covers what is left). */
  length?: number;
}

/** A TCP segment from the peer, built byte by byte so that it may be malformed, in a frame to the stack. */
function rawFrame(f: RawSegment): Uint8Array {
  const options = Uint8Array.from(f.options ?? []);
  const payload = f.payload ?? new Uint8Array(0);
  const header = 20 + Math.ceil(options.length / 4) * 4;
  const repr = new TcpRepr({ srcPort: f.srcPort ?? 41000, dstPort: f.dstPort, seq: f.seq ?? 1000, ack: f.ack ?? 0, flags: f.flags, window: 0xffff, payloadLen: payload.length });
  let seg = new Uint8Array(header + payload.length);
  repr.emitHeader(seg, 0);
  seg.set(options, 20);
  seg.set(payload, header);
  seg[12] = (f.dataOffset ?? header / 4) << 4;
  if (f.length !== undefined) seg = seg.slice(0, f.length);
  repr.fillChecksum(seg, 0, seg.length, { src: PEER, dst: STACK });
  const ipr = new Ipv4Repr({ src: PEER, dst: STACK, protocol: IpProtocol.Tcp, payloadLen: seg.length });
  return ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
    ipr.emit(b, o);
    b.set(seg, o + ipr.bufferLen());
  });
}

/** The TCP segments among the frames the stack sent. */
function tcpOut(frames: Uint8Array[]): TcpRepr[] {
  const out: TcpRepr[] = [];
  for (const f of frames) {
    const eth = EthernetFrame.checked(f);
    if (isDrop(eth) || eth.ethertype !== EtherType.Ipv4) continue;
    const pkt = Ipv4Packet.checked(eth.payload) as Ipv4Packet;
    if (pkt.protocol !== IpProtocol.Tcp) continue;
    const tcp = TcpRepr.parse(TcpPacket.checked(pkt.payload) as TcpPacket, { src: STACK, dst: PEER });
    if (isDrop(tcp)) throw new Error(`bad TCP from the stack: ${tcp}`);
    out.push(tcp);
  }
  return out;
}

/** A stack that knows the peer's MAC, listening on port 80. */
function listening(): { h: Harness; l: TcpListener } {
  const h = readyHarness();
  h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER, targetIp: STACK }));
  h.sent();
  const l = h.stack.tcp.listen({ port: 80, backlog: 16, family: 4 });
  if (typeof l === 'string') throw new Error(l);
  return { h, l };
}

/** A handshake from `srcPort` to the listener, and a byte each way: the listener and the stack still work. */
function connects(h: Harness, l: TcpListener, srcPort: number): TcpConnection {
  h.inject(rawFrame({ srcPort, dstPort: 80, seq: 70_000, flags: SYN, options: [2, 4, 0x05, 0xb4] }));
  const [synAck] = tcpOut(h.sent()).filter((s) => s.dstPort === srcPort);
  expect(synAck.flags).toBe(SYN | ACK);
  h.inject(rawFrame({ srcPort, dstPort: 80, seq: 70_001, ack: synAck.seq + 1, flags: ACK | PSH, payload: enc('hi') }));
  let conn: TcpConnection | undefined;
  for (let c = l.accept(); c; c = l.accept()) if (c.tuple.remote.port === srcPort) conn = c;
  expect(conn?.state).toBe(TcpState.Established);
  expect(dec(conn!.read()!)).toBe('hi');
  conn!.write(enc('yo'), h.clock.now());
  h.advance(0);
  const reply = tcpOut(h.sent()).find((s) => s.dstPort === srcPort && s.payloadLen > 0);
  expect(dec(reply!.payload)).toBe('yo');
  return conn!;
}

describe('every flag combination in LISTEN (RFC 9293 §3.10.7.2)', () => {
  it.each(ALL_FLAGS)('flags %i', (flags) => {
    const { h, l } = listening();
    const stats = h.stack.stats.tcp;
    h.inject(rawFrame({ dstPort: 80, seq: 1000, ack: 777, flags, options: [2, 4, 0x05, 0xb4], payload: DATA }));
    const out = tcpOut(h.sent());
    if (flags & RST) {
      // First: a RST is ignored.
      expect(out).toEqual([]);
      expect(stats.dropped['listen-rst']).toBe(1);
    } else if (flags & ACK) {
      // Second: an ACK is answered with <SEQ=SEG.ACK><CTL=RST>.
      expect(out).toMatchObject([{ flags: RST, seq: 777 }]);
    } else if (flags & SYN && !(flags & FIN)) {
      // Third: a SYN opens SYN-RECEIVED; the data is not taken (no Fast Open), so the ACK is of the SYN.
      expect(out).toMatchObject([{ flags: SYN | ACK, ack: 1001 }]);
      expect(l.synReceived).toBe(1);
    } else {
      // Linux: SYN with FIN is discarded; anything else without SYN too.
      expect(out).toEqual([]);
      expect(stats.dropped[flags & SYN ? 'syn-fin' : 'listen-no-syn']).toBe(1);
    }
    connects(h, l, 42000);
  });
});

describe('every flag combination for no connection at all (RFC 9293 §3.10.7.1)', () => {
  it.each(ALL_FLAGS)('flags %i', (flags) => {
    const { h, l } = listening();
    h.inject(rawFrame({ dstPort: 81, seq: 1000, ack: 777, flags, payload: DATA }));
    const out = tcpOut(h.sent());
    const len = DATA.length + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    if (flags & RST) expect(out).toEqual([]);
    else if (flags & ACK) expect(out).toMatchObject([{ flags: RST, seq: 777, ack: 0 }]);
    else expect(out).toMatchObject([{ flags: RST | ACK, seq: 0, ack: 1000 + len }]);
    expect(h.stack.tcp.connectionCount).toBe(0);
    connects(h, l, 42000);
  });
});

describe('malformed headers and options at the layer: dropped, counted, and the connection goes on', () => {
  const cases: { name: string; seg: Partial<RawSegment>; reason: string }[] = [
    { name: 'data offset 0', seg: { dataOffset: 0 }, reason: 'bad-data-offset' },
    { name: 'data offset 4 (inside the fixed header)', seg: { dataOffset: 4 }, reason: 'bad-data-offset' },
    { name: 'data offset past the end of the segment', seg: { dataOffset: 15 }, reason: 'bad-data-offset' },
    { name: 'shorter than the fixed header', seg: { length: 19 }, reason: 'truncated' },
    { name: 'an option of length 0', seg: { options: [0xfd, 0, 1, 1] }, reason: 'bad-options' },
    { name: 'an option of length 1', seg: { options: [0xfd, 1, 1, 1] }, reason: 'bad-options' },
    { name: 'an option that runs past the header', seg: { options: [1, 1, 2, 4] }, reason: 'bad-options' },
    { name: 'an unknown option longer than the header', seg: { options: [0xfd, 40, 0, 0] }, reason: 'bad-options' },
    { name: 'a kind with no length byte at the end', seg: { options: [1, 1, 1, 8] }, reason: 'bad-options' },
    { name: 'MSS of length 5', seg: { options: [2, 5, 5, 0xb4, 0, 1, 1, 1] }, reason: 'bad-options' },
    { name: 'window scale of length 2', seg: { options: [3, 2, 1, 1] }, reason: 'bad-options' },
    { name: 'SACK-permitted of length 3', seg: { options: [4, 3, 0, 1] }, reason: 'bad-options' },
    { name: 'SACK without a block', seg: { options: [1, 1, 5, 2] }, reason: 'bad-options' },
    { name: 'SACK of length 9', seg: { options: [5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1] }, reason: 'bad-options' },
    { name: 'timestamps of length 9', seg: { options: [8, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1] }, reason: 'bad-options' },
  ];

  it.each(cases)('$name', ({ seg, reason }) => {
    const { h, l } = listening();
    const conn = connects(h, l, 42000);
    h.sent();
    const rcvNxt = conn.vars.rcvNxt;
    const sndNxt = conn.vars.sndNxt;
    const before = h.stack.stats.tcp.dropped[reason] ?? 0;
    for (const flags of [ACK | PSH, ACK | FIN, RST, SYN]) {
      h.inject(rawFrame({ srcPort: 42000, dstPort: 80, seq: rcvNxt, ack: sndNxt, flags, payload: DATA, ...seg }));
    }
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.tcp.dropped[reason]).toBe(before + 4);
    expect([conn.state, conn.vars.rcvNxt, conn.readableBytes]).toEqual([TcpState.Established, rcvNxt, 0]);
    h.inject(rawFrame({ srcPort: 42000, dstPort: 80, seq: rcvNxt, ack: sndNxt, flags: ACK | PSH, payload: enc('ok') }));
    expect(dec(conn.read()!)).toBe('ok');
  });

  it('options it does not know, or does not use on this segment, are skipped (RFC 9293 §3.2 MUST-5)', () => {
    const { h, l } = listening();
    const conn = connects(h, l, 42000);
    const rcvNxt = conn.vars.rcvNxt;
    const sndNxt = conn.vars.sndNxt;
    // An unknown kind, MSS and window scale off a SYN, SACK blocks on a connection without SACK,
    // and garbage after the end-of-list.
    const options = [0xfd, 6, 1, 2, 3, 4, 2, 4, 0, 1, 3, 3, 14, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0xff, 0xff, 0xff];
    h.inject(rawFrame({ srcPort: 42000, dstPort: 80, seq: rcvNxt, ack: sndNxt, flags: ACK | PSH, options, payload: enc('fine') }));
    expect(dec(conn.read()!)).toBe('fine');
    expect(conn.vars.mss).toBe(1460);
  });
});
