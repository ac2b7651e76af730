/**
 * One TCP connection, sans-IO: the owner's calls (RFC 9293 §3.10: OPEN, SEND, RECEIVE, CLOSE,
 * ABORT and the socket options), the timers (retransmission, persist, delayed ACK, keepalive,
 * TIME-WAIT), ICMP errors. The layer (tcp.ts) owns demultiplexing, listeners and SYN cookies,
 * and hands this the segments of its four-tuple (arrival.ts); time comes in as `now`, segments
 * leave through TcpLink (tcb.ts), and the owner learns what happened from takeNotice() after
 * notify().
 */
import type { TcpOptions, TcpRepr } from '../../wire/tcp';
import { SegmentArrival } from './arrival';
import { minPathMtu, synAckOptions, synOptions } from './options';
import { seqAdd, seqLt } from './seq';
import { canSend, isSynchronized, TcpState } from './state';
import type { ConnectionOptions, TcpVars } from './tcb';
import type { QueuedDeadline } from './timer-queue';
import { ORPHAN_FIN_WAIT_2_MS } from './timers';
import { TcpTimestamps } from './timestamps';
import type { TcpErrno, TcpIcmpError, TcpNotice } from './types';

export type { ConnectionOptions, TcpVars } from './tcb';

export class TcpConnection extends SegmentArrival {
  private readonly notifyFn: (conn: TcpConnection) => void;
  private readonly closedFn: ((conn: TcpConnection) => void) | undefined;

  private constructor(opts: ConnectionOptions, passive: boolean) {
    super(opts, passive);
    this.notifyFn = opts.notify;
    this.closedFn = opts.closed;
    const earlier = opts.timerEarlier;
    if (earlier) this.timers.onEarlier = (at) => earlier(this, at);
  }

  /** Where this connection stands in the layer's timer queue (timer-queue.ts). */
  get deadline(): QueuedDeadline {
    return this.timers;
  }

  /** Active open (RFC 9293 §3.10.1): SYN-SENT; the SYN goes out before this returns. */
  static connect(opts: ConnectionOptions): TcpConnection {
    const c = new TcpConnection(opts, false);
    const now = opts.now;
    c.ourOptions = synOptions(c.config, c.ourMss(now), c.tsClock.value(now));
    c.st = TcpState.SynSent;
    c.sendSyn(now);
    return c;
  }

  /**
   * Passive open from a SYN the layer validated (RFC 9293 §3.10.7.2): SYN-RECEIVED, SYN-ACK
   * sent. Data on the SYN is not taken (no TCP Fast Open): the peer sends it again.
   */
  static accept(opts: ConnectionOptions, syn: TcpRepr): TcpConnection {
    const c = new TcpConnection(opts, true);
    const now = opts.now;
    c.rcv.start(syn.seq);
    c.ourOptions = synAckOptions(c.config, c.ourMss(now), syn.options, c.tsClock.value(now));
    c.applyNegotiation(syn.options, now);
    c.st = TcpState.SynReceived;
    c.sendSyn(now);
    return c;
  }

  /**
   * ESTABLISHED straight from a SYN cookie's ACK (RFC 4987 §3.6): `offered` is what the SYN
   * offered, as the layer decoded it; opts.iss is the ISS the cookie's SYN-ACK used, whose
   * options the layer built with options.ts synAckOptions().
   */
  static fromCookie(
    opts: ConnectionOptions,
    offered: { irs: number; mss: number; sackPermitted: boolean; windowScale: number | undefined; timestamps: boolean },
    ack: TcpRepr,
  ): TcpConnection {
    const c = new TcpConnection(opts, true);
    const now = opts.now;
    const echo = ack.options.timestamp?.echo;
    const peer: TcpOptions = { mss: offered.mss };
    if (offered.windowScale !== undefined) peer.windowScale = offered.windowScale;
    if (offered.sackPermitted) peer.sackPermitted = true;
    if (offered.timestamps && ack.options.timestamp) peer.timestamp = { value: ack.options.timestamp.value, echo: 0 };
    // Our TSval continues from the one the cookie's SYN-ACK carried (the ACK echoes it), so the
    // peer's PAWS never sees our clock go back.
    if (echo !== undefined) c.tsClock = new TcpTimestamps((echo - Math.floor(now)) >>> 0);
    c.rcv.start(offered.irs);
    c.ourOptions = synAckOptions(c.config, c.ourMss(now), peer, c.tsClock.value(now));
    c.applyNegotiation(peer, now);
    c.handshakeTimed = false;
    c.st = TcpState.SynReceived;
    c.snd.synSent();
    c.lastAckSent = c.rcv.nxt;
    c.segment(ack, now);
    return c;
  }

  get error(): TcpErrno | undefined {
    return this.err;
  }

  /** CLOSED (or TIME-WAIT done) and nothing left for the owner: the layer forgets it. */
  get finished(): boolean {
    return this.st === TcpState.Closed && this.notice === undefined;
  }

  get readableBytes(): number {
    return this.rcv.buf.readable;
  }

  /** Free send-buffer space. */
  get writableBytes(): number {
    return this.snd.buf.free;
  }

  /** For tests and the packet log: SND.UNA, SND.NXT (the highest sent), SND.WND, RCV.NXT, RCV.WND, cwnd, ssthresh, srtt, rto, and the SMSS. */
  get vars(): TcpVars {
    const cc = this.snd.cc;
    return {
      sndUna: this.snd.una,
      sndNxt: this.snd.max,
      sndWnd: this.snd.wnd,
      rcvNxt: this.rcv.nxt,
      rcvWnd: this.rcv.wnd,
      cwnd: cc?.cwnd,
      ssthresh: cc === undefined || cc.ssthresh === Infinity ? undefined : cc.ssthresh,
      srtt: this.snd.rtt.srtt,
      rto: this.snd.rtt.rto,
      mss: this.snd.smss,
    };
  }

  /**
   * Whether this connection, in TIME-WAIT, may give its 4-tuple to a new connect() (Linux
   * tcp_twsk_unique): only when timestamps were in use, as PAWS (RFC 7323 §5) then lets the
   * peer tell the new incarnation's segments from the old one's, and only after `delayMs`.
   */
  timeWaitReusable(now: number, delayMs: number): boolean {
    return this.st === TcpState.TimeWait && this.tsOn && this.timeWaitSince !== undefined && now - this.timeWaitSince >= delayMs;
  }

  icmpError(err: TcpIcmpError, now: number): void {
    this.lastNow = now;
    if (this.st === TcpState.Closed) return;
    if (err.kind === 'too-big') {
      this.pathMtuDropped(err.mtu, now);
      return;
    }
    const errno: TcpErrno = err.kind === 'port-unreachable' ? 'ECONNREFUSED' : err.kind === 'net-unreachable' ? 'ENETUNREACH' : 'EHOSTUNREACH';
    if (this.st === TcpState.SynSent || this.st === TcpState.SynReceived) {
      // Linux (tcp_v4_err): a hard error aborts a connection still opening; RFC 1122
      // §4.2.3.9 calls them soft, but a connect() that will fail should fail now. A passive
      // one is dropped silently (tcp_req_err).
      this.closeNow(this.passive ? undefined : errno);
      return;
    }
    // RFC 1122 §4.2.3.9, Linux (sk_err_soft): kept, and reported only if the connection times out.
    this.softErr = errno;
  }

  /**
   * RFC 1191 §6.5, RFC 8201 §5.4: the path MTU dropped. The segment size follows, never below
   * options.ts minPathMtu(); a report that lowers nothing changes nothing (RFC 8201 §4). The
   * layer may have lowered the link's maxPayload already: the segment size is compared, not
   * the MTU.
   */
  private pathMtuDropped(mtu: number, now: number): void {
    const next = Math.max(minPathMtu(this.family), mtu);
    if (this.pathMtu === undefined || next < this.pathMtu) this.pathMtu = next;
    if (!isSynchronized(this.st) || !this.snd.refreshMss(now)) return;
    this.snd.resendAfterMtuDrop();
    this.output(now);
  }

  poll(now: number): void {
    this.lastNow = now;
    const t = this.timers;
    if (t.timeWait !== undefined && now >= t.timeWait) {
      // RFC 9293 §3.10.8: the 2 MSL of TIME-WAIT are over.
      this.closeNow(undefined);
      return;
    }
    if (t.finWait2 !== undefined && now >= t.finWait2) {
      this.abortWithReset(now);
      return;
    }
    // RFC 8985 §7.3: a probe due with the RTO goes first (Linux: it takes the RTO's place).
    if (t.probe !== undefined && now >= t.probe) this.snd.onProbeTimeout(now);
    if (t.retransmit !== undefined && now >= t.retransmit) this.retransmitTimeout(now);
    if (this.st === TcpState.Closed) return;
    if (t.reorder !== undefined && now >= t.reorder) this.snd.onReorderTimeout(now);
    if (t.persist !== undefined && now >= t.persist) {
      // RFC 9293 §3.8.6.1: probing goes on while the peer answers; unanswered probes count
      // as retransmissions do (Linux: tcp_probe_timer against tcp_retries2).
      if (this.zeroWindowProbes >= this.config.retries2) {
        this.closeNow(this.softErr ?? 'ETIMEDOUT');
        return;
      }
      this.zeroWindowProbes++;
      this.snd.onPersistTimeout(now);
    }
    if (t.delayedAck !== undefined && now >= t.delayedAck) {
      t.delayedAck = undefined;
      this.rcv.ackNow = true;
    }
    if (t.keepalive !== undefined && now >= t.keepalive) this.keepaliveTimeout(now);
    if (this.state === TcpState.Closed) return;
    if (t.immediate !== undefined) {
      t.immediate = undefined;
      if (this.rcv.windowUpdateDue()) this.rcv.ackNow = true;
    }
    this.output(now);
  }

  pollAt(): number | undefined {
    return this.timers.next();
  }

  /** Bytes taken into the send buffer; 0 when full; -1 (error EPIPE) when the write side is shut or the connection gone. */
  write(data: Uint8Array, now: number): number {
    this.lastNow = now;
    const open = this.st === TcpState.SynSent || this.st === TcpState.SynReceived || canSend(this.st);
    if (!open || this.snd.finQueued || this.orphan) {
      this.err = 'EPIPE';
      return -1;
    }
    const n = this.snd.buf.write(data);
    if (n < data.length) this.writeBlocked = true;
    if (n > 0) this.output(now);
    return n;
  }

  /** In-order bytes (a copy the caller owns); null at EOF (the peer's FIN, all read, or the connection gone); undefined when nothing yet. */
  read(max?: number): Uint8Array | null | undefined {
    const buf = this.rcv.buf;
    if (buf.readable > 0) {
      const data = buf.read(max ?? buf.readable);
      this.rcv.onRead(data.length, this.lastNow, this.snd.rtt.srtt);
      // A window update may be worth sending; read() has no `now`, so the next poll sends it.
      if (isSynchronized(this.st) && this.rcv.windowUpdateDue()) this.timers.immediate = this.lastNow;
      return data;
    }
    if (this.rcv.finReceived || this.st === TcpState.Closed) return null;
    return undefined;
  }

  /** Half-close (RFC 9293 §3.10.4 CLOSE): a FIN after the queued data. */
  shutdown(now: number): void {
    this.lastNow = now;
    if (this.snd.finQueued) return;
    switch (this.st) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
        // Queued until ESTABLISHED (RFC 9293 §3.10.4, SYN-RECEIVED).
        this.snd.finQueued = true;
        return;
      case TcpState.Established:
        this.snd.finQueued = true;
        this.st = TcpState.FinWait1;
        break;
      case TcpState.CloseWait:
        this.snd.finQueued = true;
        this.st = TcpState.LastAck;
        break;
      default:
        return;
    }
    this.output(now);
  }

  /** Shutdown and stop reading; unread data means RST (RFC 2525 §2.17, Linux tcp_close()). */
  close(now: number): void {
    this.lastNow = now;
    this.orphan = true;
    this.notice = undefined;
    switch (this.st) {
      case TcpState.Closed:
        return;
      case TcpState.SynSent:
        // RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB.
        this.closeNow(undefined);
        return;
    }
    if (this.rcv.buf.readable > 0) {
      this.abortWithReset(now);
      return;
    }
    this.shutdown(now);
    if (this.st === TcpState.FinWait2) this.timers.finWait2 = now + ORPHAN_FIN_WAIT_2_MS;
  }

  /** RST now (RFC 9293 §3.10.5 ABORT), CLOSED. */
  abort(now: number): void {
    this.lastNow = now;
    this.orphan = true;
    this.notice = undefined;
    this.abortWithReset(now);
  }

  setNoDelay(on: boolean): void {
    this.snd.nodelay = on;
    // Linux: TCP_NODELAY set sends what Nagle was holding, at the next poll here.
    if (on && this.snd.unsent > 0) this.timers.immediate = this.lastNow;
  }

  setKeepAlive(on: boolean, idleMs?: number): void {
    this.keepAliveOn = on;
    if (idleMs !== undefined && idleMs > 0) this.keepAliveIdle = idleMs;
    this.keepAliveSent = 0;
    this.timers.keepalive = on && isSynchronized(this.st) && this.st !== TcpState.TimeWait ? this.lastNow + this.keepAliveIdle : undefined;
  }

  setSendBufferSize(bytes: number): void {
    this.snd.buf.setLimit(bytes);
  }

  setReceiveBufferSize(bytes: number): void {
    this.rcv.setCapacity(bytes);
  }

  takeNotice(): TcpNotice | undefined {
    const n = this.notice;
    this.notice = undefined;
    this.signalled = false;
    return n;
  }

  /** RFC 6298 §5.4-5.7 and the give-up rules of RFC 1122 §4.2.3.5 (R2) and RFC 9293 §3.8.3. */
  private retransmitTimeout(now: number): void {
    this.timers.retransmit = undefined;
    const snd = this.snd;
    if (this.st === TcpState.SynSent || this.st === TcpState.SynReceived) {
      const limit = this.passive ? this.config.synAckRetries : this.config.synRetries;
      if (this.synRetransmits >= limit) {
        this.closeNow(this.passive ? undefined : (this.softErr ?? 'ETIMEDOUT'));
        return;
      }
      this.synRetransmits++;
      snd.rtt.backoff();
      this.sendSyn(now, true);
      this.timers.retransmit = now + snd.rtt.rto;
      return;
    }
    if (!seqLt(snd.una, snd.max)) return;
    if (snd.wnd === 0 && !this.orphan) {
      // Linux (tcp_retransmit_timer): the peer shrank its window to zero under our data; the
      // retransmissions are window probes now and do not count, but a peer silent for longer
      // than the largest RTO is gone.
      if (now - this.lastRcvAt > this.config.rtt.maxRto) {
        this.closeNow(this.softErr ?? 'ETIMEDOUT');
        return;
      }
    } else if (snd.retransmits >= this.config.retries2) {
      this.closeNow(this.softErr ?? 'ETIMEDOUT');
      return;
    } else {
      snd.retransmits++;
    }
    snd.onRetransmitTimeout(now);
  }

  /**
   * RFC 1122 §4.2.3.6: after `idle` ms with nothing received and nothing to send, probe with
   * SEG.SEQ = SND.UNA - 1 and no data (which the peer must answer); `keepAliveProbes`
   * unanswered probes `keepAliveIntervalMs` apart end the connection (Linux: with a RST).
   */
  private keepaliveTimeout(now: number): void {
    this.timers.keepalive = undefined;
    if (!this.keepAliveOn || !isSynchronized(this.st) || this.st === TcpState.TimeWait) return;
    if (this.snd.inFlight > 0 || this.snd.unsent > 0) {
      // Linux: data outstanding, the retransmission timer watches the peer.
      this.timers.keepalive = now + this.keepAliveIdle;
      return;
    }
    if (now - this.lastRcvAt < this.keepAliveIdle) {
      this.timers.keepalive = this.lastRcvAt + this.keepAliveIdle;
      return;
    }
    if (this.keepAliveSent >= this.config.keepAliveProbes) {
      this.sendRst(this.snd.max, this.rcv.nxt, now);
      this.closeNow(this.softErr ?? 'ETIMEDOUT');
      return;
    }
    this.keepAliveSent++;
    this.emit(seqAdd(this.snd.una, -1), 0, 0, now);
    this.timers.keepalive = now + this.config.keepAliveIntervalMs;
  }

  protected notifyOwner(): void {
    this.notifyFn(this);
  }

  protected notifyClosed(): void {
    this.closedFn?.(this);
  }
}
