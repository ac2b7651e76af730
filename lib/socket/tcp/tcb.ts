/**
 * The transmission control block (RFC 9293 §3.3.1) and what it does to the world: the segments
 * it sends (the ACK field, the window and the options on each, the payload straight from the
 * send buffer), the notices to its owner, the handshake's bookkeeping and the moves to CLOSED
 * and TIME-WAIT. The rules that drive it live in arrival.ts (segments) and connection.ts (the
 * owner's calls and the timers).
 *
 * The halves live apart: snd.ts (SND.*, the send buffer, retransmission and persist timers,
 * RTT, congestion control and loss recovery through cc/ and loss/), rcv.ts (RCV.*, the receive
 * buffer and reassembly, the offered window, ACK policy), options.ts (what the handshake
 * negotiates), timestamps.ts (RFC 7323 TSval, TS.Recent, PAWS).
 */
import { isDrop, type DropReason } from '../../wire/drop';
import { ReusableTcpRepr, TcpFlag, type TcpOptions, type TcpRepr } from '../../wire/tcp';
import type { Random } from '../../random';
import type { TcpConfig } from './config';
import type { TcpConnection } from './connection';
import type { TcpMemory } from './memory';
import { announcedMss, familyOf, ipHeaderLen, negotiate, receiveWindowScale, sackOptionLen, TCP_BASE_HEADER, TIMESTAMP_OPTION_LEN } from './options';
import { TcpReceiver } from './rcv';
import type { SendBuffer } from './send-buffer';
import { seqSub } from './seq';
import { TcpSender } from './snd';
import { TcpState } from './state';
import { TcpTimers } from './timers';
import { TcpTimestamps } from './timestamps';
import type { TcpErrno, TcpFourTuple, TcpLink, TcpNotice, TcpSegmentOut } from './types';

export interface ConnectionOptions {
  tuple: TcpFourTuple;
  /** Initial send sequence number, chosen by the layer (RFC 6528). */
  iss: number;
  /** The offset of our TSval clock (isn.ts timestampOffset); a random one when absent. */
  timestampOffset?: number;
  config: TcpConfig;
  link: TcpLink;
  /** lib/random.ts (timestamp offset per RFC 7323 §5.4, jitter). */
  random: Random;
  now: number;
  /** Called when takeNotice() would return something new (at most once until it is taken). */
  notify(conn: TcpConnection): void;
  /**
   * RFC 5961 §7: the stack-wide budget of challenge ACKs; true when one may be sent now.
   * Without it every challenge ACK is sent.
   */
  challengeAck?(now: number): boolean;
  /** Counts a segment this connection dropped, by reason (the layer's stats); optional. */
  drop?(reason: DropReason): void;
  /** The stack-wide budget the buffers are charged to (memory.ts); without it, only the per-connection limits apply. */
  memory?: TcpMemory;
  /** Told when the earliest deadline moves before the one queued (the layer's timer queue, timer-queue.ts); optional. */
  timerEarlier?(conn: TcpConnection, at: number): void;
  /** Told when the connection reaches CLOSED, so the layer can forget it once its owner has looked; optional. */
  closed?(conn: TcpConnection): void;
}

/**
 * The connection's variables for tests, the packet log and the layer's ICMP check (a
 * Readonly<Record<string, number | undefined>> with the names spelled out).
 */
export type TcpVars = {
  readonly sndUna: number;
  readonly sndNxt: number;
  readonly sndWnd: number;
  readonly rcvNxt: number;
  readonly rcvWnd: number;
  readonly cwnd: number | undefined;
  readonly ssthresh: number | undefined;
  readonly srtt: number | undefined;
  readonly rto: number;
  readonly mss: number;
};

/** RFC 7323 §2.2/§3.2, RFC 2018 §4: at most 3 SACK blocks fit beside timestamps, 4 without. */
const SACK_BLOCKS_WITH_TS = 3;
const SACK_BLOCKS_WITHOUT_TS = 4;

const NO_OPTIONS: TcpOptions = Object.freeze({});

/**
 * The segment handed to the link: its header, rewritten for every segment, and a writer that
 * copies the payload straight from the send buffer into the frame. One per connection,
 * reused: the link writes the frame inside send(), before the buffer moves, and keeps nothing.
 */
class SegmentOut implements TcpSegmentOut {
  readonly repr = new ReusableTcpRepr();
  private offset = 0;
  private len = 0;

  constructor(private readonly buf: SendBuffer) {}

  /** The payload: `len` bytes from `offset` in the send buffer. */
  payloadFrom(offset: number, len: number): this {
    this.offset = offset;
    this.len = len;
    return this;
  }

  writePayload(buf: Uint8Array, offset: number): void {
    if (this.len > 0) this.buf.copyOut(this.offset, this.len, buf, offset);
  }
}

export abstract class Tcb {
  readonly tuple: TcpFourTuple;
  protected st: TcpState = TcpState.Closed;
  protected err: TcpErrno | undefined;
  /** RFC 1122 §4.2.3.9 soft errors (ICMP in a synchronized state): reported only if the connection then times out. */
  protected softErr: TcpErrno | undefined;
  protected readonly config: TcpConfig;
  protected readonly link: TcpLink;
  protected readonly challengeBudget: ((now: number) => boolean) | undefined;
  protected readonly countDrop: ((reason: DropReason) => void) | undefined;
  protected readonly family: 4 | 6;
  protected readonly timers = new TcpTimers();
  protected readonly snd: TcpSender;
  protected readonly rcv: TcpReceiver;
  protected readonly out: SegmentOut;
  /** Our TSval clock; used on the wire only when `tsOn`. */
  protected tsClock: TcpTimestamps;
  protected tsOn = false;
  protected sackOn = false;
  /** RFC 7323 §4.3: Last.ACK.sent, the RCV.NXT our last ACK carried. */
  protected lastAckSent = 0;
  /** The options our SYN or SYN-ACK carries. */
  protected ourOptions: TcpOptions = NO_OPTIONS;
  protected readonly passive: boolean;
  protected synRetransmits = 0;
  protected synSentAt = 0;
  /** A handshake RTT sample may be taken (not for a SYN cookie: the layer sent that SYN-ACK). */
  protected handshakeTimed = true;
  /** close() was called: the owner is gone, data arriving now is answered with RST. */
  protected orphan = false;
  protected notice: TcpNotice | undefined;
  protected signalled = false;
  protected keepAliveOn = false;
  protected keepAliveIdle: number;
  protected keepAliveSent = 0;
  protected zeroWindowProbes = 0;
  protected lastRcvAt: number;
  protected lastInvalidAckAt = -Infinity;
  protected writeBlocked = false;
  /** The peer's FIN has been taken (RCV.NXT passed it and the state moved). */
  protected finTaken = false;
  /** The path MTU a 'too-big' ICMP reported, if lower than the link's. */
  protected pathMtu: number | undefined;
  /** The latest time any call brought; read() and setNoDelay() have none of their own. */
  protected lastNow: number;
  /** When the connection entered TIME-WAIT. */
  protected timeWaitSince: number | undefined;

  protected constructor(opts: ConnectionOptions, passive: boolean) {
    this.tuple = opts.tuple;
    this.config = opts.config;
    this.link = opts.link;
    this.challengeBudget = opts.challengeAck;
    this.countDrop = opts.drop;
    this.passive = passive;
    this.family = familyOf(opts.tuple);
    this.lastNow = opts.now;
    this.lastRcvAt = opts.now;
    this.keepAliveIdle = opts.config.keepAliveIdleMs;
    this.tsClock = new TcpTimestamps(opts.timestampOffset ?? opts.random.u32());
    const mss = announcedMss(opts.link.maxPayload(opts.tuple, opts.now));
    this.snd = new TcpSender(opts.iss >>> 0, opts.config, this.senderHost(), this.timers, opts.memory);
    const cfg = opts.config;
    const maxWindow = 0xffff * 2 ** receiveWindowScale(cfg);
    this.rcv = new TcpReceiver(cfg.receiveBufferSize, cfg.maxOutOfOrderBytes, cfg.quickAckSegments, mss, this.timers, cfg.delayedAckMs, Math.min(cfg.maxReceiveBufferSize, maxWindow), opts.memory);
    this.out = new SegmentOut(this.snd.buf);
  }

  get state(): TcpState {
    return this.st;
  }

  /** Wakes the owner (ConnectionOptions.notify). */
  protected abstract notifyOwner(): void;

  /** Tells the layer the connection is CLOSED (ConnectionOptions.closed). */
  protected abstract notifyClosed(): void;

  protected ourMss(now: number): number {
    return announcedMss(this.link.maxPayload(this.tuple, now));
  }

  /** What both SYNs settled (options.ts), applied to both halves. */
  protected applyNegotiation(peer: TcpOptions, now: number): void {
    const n = negotiate(this.family, this.ourOptions, peer);
    this.snd.peerMss = n.peerMss;
    this.snd.shift = n.sndShift;
    this.rcv.shift = n.rcvShift;
    this.sackOn = n.sack;
    this.tsOn = n.timestamps;
    this.snd.timestamps = n.timestamps;
    this.snd.sackOn = n.sack;
    // RFC 7323 §4.3: TS.Recent starts from the peer's SYN.
    if (n.timestamps && peer.timestamp) this.tsClock.init(peer.timestamp.value, now);
    this.lastAckSent = this.rcv.nxt;
  }

  /** The handshake's RTT: from the timestamp echo, or (Karn) from a SYN sent only once. */
  protected timeHandshake(seg: TcpRepr, now: number): void {
    if (!this.handshakeTimed) return;
    const echo = seg.options.timestamp?.echo;
    const rtt = this.tsOn && echo !== undefined ? this.tsClock.rtt(echo, now) : this.synRetransmits === 0 ? now - this.synSentAt : undefined;
    this.snd.sampleHandshake(rtt, now);
  }

  /** SYN acknowledged: ESTABLISHED (RFC 9293 §3.10.7.3 fourth step, §3.10.7.4 fifth step). */
  protected establish(ack: number, seq: number, win: number, now: number): void {
    this.snd.establish(ack, seq, win, now);
    // RFC 6298 §5.7: a handshake that needed a retransmission starts data at a 3 s RTO
    // unless it measured the path.
    if (this.synRetransmits > 0) this.snd.rtt.afterSynTimeout();
    this.timers.retransmit = undefined;
    this.st = TcpState.Established;
    this.signal('connected');
    if (this.keepAliveOn) this.timers.keepalive = now + this.keepAliveIdle;
    // A shutdown() before the handshake ended (RFC 9293 §3.10.4, SYN-RECEIVED: the FIN was
    // queued "for processing after entering ESTABLISHED").
    if (this.snd.finQueued) this.st = TcpState.FinWait1;
  }

  /** SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), first or again. */
  protected sendSyn(now: number, again = false): void {
    const options: TcpOptions = { ...this.ourOptions };
    if (options.timestamp) options.timestamp = { value: this.tsClock.value(now), echo: this.tsOn || this.st === TcpState.SynReceived ? this.tsClock.echo : 0 };
    const flags = this.st === TcpState.SynSent ? TcpFlag.Syn : TcpFlag.Syn | TcpFlag.Ack;
    this.emit(this.snd.iss, 0, flags, now, options);
    if (again) return;
    this.snd.synSent();
    this.synSentAt = now;
    this.timers.retransmit = now + this.snd.rtt.rto;
  }

  /** Sends what is owed: data and FIN the windows allow, then an ACK if one is still owed. */
  protected output(now: number): void {
    switch (this.st) {
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.SynSent:
        return;
      case TcpState.Established:
      case TcpState.CloseWait:
      case TcpState.FinWait1:
      case TcpState.Closing:
      case TcpState.LastAck:
        this.snd.output(now);
        break;
    }
    // A pure ACK carries SND.NXT (RFC 9293 §3.10.7.4), the highest sent: an earlier one
    // would fall left of the peer's window.
    if (this.rcv.ackNow) this.emit(this.snd.max, 0, 0, now);
  }

  /**
   * Builds and sends one segment: the ACK field and window from the receiver, timestamps and
   * SACK blocks when in use (RFC 7323 §3.2: on every segment but RST), the payload straight
   * from the send buffer.
   */
  protected emit(seq: number, len: number, flags: number, now: number, synOptions?: TcpOptions): DropReason | undefined {
    const ack = this.st !== TcpState.SynSent;
    const repr = this.out.repr;
    repr.srcPort = this.tuple.local.port;
    repr.dstPort = this.tuple.remote.port;
    repr.seq = seq;
    repr.ack = ack ? this.rcv.nxt : 0;
    repr.flags = ack ? flags | TcpFlag.Ack : flags;
    repr.window = flags & TcpFlag.Syn ? this.rcv.synWindow() : ack ? this.rcv.windowField() : 0;
    repr.payloadLen = len;
    if (synOptions !== undefined) {
      repr.setOptions(synOptions);
    } else {
      repr.clearOptions();
      if (this.tsOn) repr.setTimestamp(this.tsClock.value(now), this.tsClock.echo);
      if (this.sackOn && this.rcv.buf.hasOutOfOrder) repr.setSack(this.rcv.buf.sackBlocks(this.tsOn ? SACK_BLOCKS_WITH_TS : SACK_BLOCKS_WITHOUT_TS));
    }
    const result = this.link.send(this.tuple, this.out.payloadFrom(seqSub(seq, this.snd.bufSeq), len), now);
    if (ack) {
      this.lastAckSent = this.rcv.nxt;
      this.rcv.ackSent();
    }
    return isDrop(result) ? result : undefined;
  }

  /** A RST: <SEQ=seq><CTL=RST>, or with an ACK field when `ack` is given. Never options (RFC 7323 §3.2). */
  protected sendRst(seq: number, ack: number | undefined, now: number): void {
    const repr = this.out.repr;
    repr.srcPort = this.tuple.local.port;
    repr.dstPort = this.tuple.remote.port;
    repr.seq = seq >>> 0;
    repr.ack = ack === undefined ? 0 : ack >>> 0;
    repr.flags = ack === undefined ? TcpFlag.Rst : TcpFlag.Rst | TcpFlag.Ack;
    repr.window = 0;
    repr.payloadLen = 0;
    repr.clearOptions();
    this.link.send(this.tuple, this.out.payloadFrom(0, 0), now);
  }

  /**
   * RFC 9293 §3.10.5 ABORT: a RST <SEQ=SND.NXT> in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2
   * and CLOSE-WAIT (Linux: with ACK, tcp_send_active_reset()); CLOSED.
   */
  protected abortWithReset(now: number): void {
    switch (this.st) {
      case TcpState.SynReceived:
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.CloseWait:
        this.sendRst(this.snd.max, this.rcv.nxt, now);
    }
    this.closeNow(undefined);
  }

  private senderHost() {
    return {
      send: (seq: number, len: number, flags: number, now: number) => this.emit(seq, len, flags, now),
      segmentRoom: (now: number) => {
        const ip = ipHeaderLen(this.family);
        const payload = Math.min(this.link.maxPayload(this.tuple, now), this.pathMtu === undefined ? Infinity : this.pathMtu - ip);
        return payload - TCP_BASE_HEADER;
      },
      dropped: (reason: DropReason) => this.dropped(reason),
      optionBytes: () => {
        let n = this.tsOn ? TIMESTAMP_OPTION_LEN : 0;
        if (this.sackOn && this.rcv.buf.hasOutOfOrder) {
          n += sackOptionLen(Math.min(this.rcv.buf.blockCount, this.tsOn ? SACK_BLOCKS_WITH_TS : SACK_BLOCKS_WITHOUT_TS));
        }
        return n;
      },
    };
  }

  /** RFC 9293 §3.10.7.4 eighth step: TIME-WAIT, for 2 MSL; the connection is over for its owner. */
  protected enterTimeWait(now: number): void {
    this.st = TcpState.TimeWait;
    this.timeWaitSince = now;
    this.timers.clear();
    this.timers.timeWait = now + 2 * this.config.mslMs;
    this.signal('closed');
  }

  protected closeNow(err: TcpErrno | undefined): void {
    const wasTimeWait = this.st === TcpState.TimeWait;
    this.st = TcpState.Closed;
    this.timers.clear();
    // memory.ts: nothing more is sent or arrives; the buffers leave the stack's budget (what is
    // left to read stays readable).
    this.snd.buf.releaseMemory();
    this.rcv.buf.releaseMemory();
    if (err !== undefined) this.err = err;
    if (!wasTimeWait) this.signal('closed');
    this.notifyClosed();
  }

  protected signal(kind: keyof TcpNotice): void {
    if (this.orphan) return;
    const n = (this.notice ??= { connected: false, readable: false, writable: false, closed: false });
    n[kind] = true;
    if (!this.signalled) {
      this.signalled = true;
      this.notifyOwner();
    }
  }

  protected dropped(reason: DropReason): void {
    this.countDrop?.(reason);
  }
}
