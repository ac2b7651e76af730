/**
 * Segment arrival (RFC 9293 §3.10.7): SYN-SENT's rules (§3.10.7.3) and, from SYN-RECEIVED on,
 * the checks in the RFC's order (§3.10.7.4): sequence number, RST, SYN, ACK, URG, text, FIN,
 * with RFC 5961's defences (challenge ACKs, ACK validity), RFC 7323's PAWS and TS.Recent, and
 * RFC 6191's new incarnation from TIME-WAIT.
 */
import type { TcpRepr } from '../../wire/tcp';
import { TcpFlag } from '../../wire/tcp';
import { synAckOptions } from './options';
import { isRefusal } from './recv-buffer';
import { seqAdd, seqGt, seqInWindow, seqLe, seqLt, seqSub } from './seq';
import { canReceive, TcpState } from './state';
import { Tcb } from './tcb';
import { INVALID_ACK_INTERVAL_MS, ORPHAN_FIN_WAIT_2_MS } from './timers';

export abstract class SegmentArrival extends Tcb {
  /** A segment for this connection (RFC 9293 §3.10.7.3 in SYN-SENT, §3.10.7.4 otherwise); may send. */
  segment(seg: TcpRepr, now: number): void {
    this.lastNow = now;
    if (this.st === TcpState.Closed) {
      this.replyClosed(seg);
      return;
    }
    if (this.st === TcpState.SynSent) this.synSentArrival(seg, now);
    else this.arrival(seg, now);
    this.output(now);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  protected synSentArrival(seg: TcpRepr, now: number): void {
    const ack = (seg.flags & TcpFlag.Ack) !== 0;
    // First: the ACK must acknowledge our SYN and nothing more.
    if (ack && (seqLe(seg.ack, this.snd.iss) || seqGt(seg.ack, this.snd.max))) {
      if (!(seg.flags & TcpFlag.Rst)) this.sendRst(seg.ack, undefined, now);
      this.dropped('bad-ack');
      return;
    }
    // Second: RST. RFC 5961 §3.2 changes nothing here: the ACK check above already makes a
    // blind reset guess the ISS. A connecting socket learns ECONNREFUSED (Linux).
    if (seg.flags & TcpFlag.Rst) {
      if (ack) this.closeNow('ECONNREFUSED');
      else this.dropped('rst-without-ack');
      return;
    }
    // Fourth: SYN (the third, security, is not implemented: RFC 9293 §3.10.7.3 allows it).
    if (!(seg.flags & TcpFlag.Syn)) {
      this.dropped('no-syn');
      return;
    }
    this.rcv.start(seg.seq);
    this.applyNegotiation(seg.options, now);
    if (!ack) {
      // Simultaneous open (RFC 9293 §3.5, Figure 8): SYN-RECEIVED, and SYN-ACK with our ISS.
      // Data on the SYN is dropped (the peer resends it once established).
      this.ourOptions = synAckOptions(this.config, this.ourMss(now), seg.options, this.tsClock.value(now));
      this.st = TcpState.SynReceived;
      this.sendSyn(now);
      return;
    }
    this.timeHandshake(seg, now);
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    this.establish(seg.ack, seg.seq, seg.window, now);
    this.rcv.ackNow = true;
    // "If there are other controls or text in the segment, then continue processing at the
    // sixth step" (URG), after the SYN's sequence number.
    if (seg.payloadLen > 0 || seg.flags & TcpFlag.Fin) this.textAndFin(seg, seqAdd(seg.seq, 1), false, now);
  }

  /** RFC 9293 §3.10.7.4: every state from SYN-RECEIVED on. */
  protected arrival(seg: TcpRepr, now: number): void {
    const flags = seg.flags;
    const rst = (flags & TcpFlag.Rst) !== 0;
    const syn = (flags & TcpFlag.Syn) !== 0;
    if (this.st === TcpState.SynReceived && syn && !rst && seg.seq === this.rcv.irs) {
      // Linux (tcp_check_req): the peer's SYN again means our SYN-ACK was lost; send it again
      // rather than the bare ACK the sequence check would give, which a SYN-SENT peer drops.
      if (!(flags & TcpFlag.Ack)) {
        this.sendSyn(now, true);
        return;
      }
      // Linux (tcp_validate_incoming): in a simultaneous open the peer's SYN-ACK completes the
      // handshake; without this both ends would answer each other's SYN-ACK with an ACK.
      if (!this.passive && seg.ack === this.snd.max) {
        this.handshakeAck(seg, seg.window, now);
        if (this.state === TcpState.Established && (seg.payloadLen > 0 || flags & TcpFlag.Fin)) this.textAndFin(seg, seqAdd(seg.seq, 1), false, now);
        return;
      }
    }
    const ts = seg.options.timestamp;
    if (this.st === TcpState.TimeWait && syn && !rst && !(flags & TcpFlag.Ack) && this.newIncarnation(seg.seq, ts?.value)) {
      // RFC 6191 §2 (RFC 9293 §3.10.7.4, RFC 1122 §4.2.2.13): a new connection's SYN may end
      // TIME-WAIT; the layer then opens it from its listener.
      this.closeNow(undefined);
      return;
    }
    // RFC 7323 §5.3 R1 (PAWS), before the sequence check; §5.2: a RST is exempt. A segment
    // without the option is taken (Linux; §3.2 says SHOULD drop, but middleboxes strip options).
    if (this.tsOn && ts !== undefined && !rst && this.tsClock.rejects(ts.value, now)) {
      this.dropped('paws');
      this.ackUnacceptable(seg, now);
      return;
    }
    // First: the sequence number (RFC 9293 §3.10.7.4, the four cases).
    const segLen = seg.payloadLen + (syn ? 1 : 0) + (flags & TcpFlag.Fin ? 1 : 0);
    let zeroWindow = false;
    if (!this.acceptable(seg.seq, segLen)) {
      // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should
      // be made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT is processed with
      // its data dropped (and ACKed).
      if (this.rcv.wnd === 0 && seg.seq === this.rcv.nxt && !syn) {
        zeroWindow = true;
      } else {
        if (this.st === TcpState.TimeWait && flags & TcpFlag.Fin && seqAdd(seg.seq, segLen) === this.rcv.nxt) {
          // RFC 9293 §3.10.7.4 eighth step, TIME-WAIT: the peer's FIN again (our ACK was
          // lost): acknowledge it and restart the 2 MSL wait.
          this.timers.timeWait = now + 2 * this.config.mslMs;
        }
        this.dropped('out-of-window');
        if (!rst) this.ackUnacceptable(seg, now);
        return;
      }
    }
    this.lastRcvAt = now;
    this.keepAliveSent = 0;
    // Second: RST (RFC 5961 §3.2): only one exactly at RCV.NXT resets; one elsewhere in the
    // window may be a blind attack, answered with a challenge ACK.
    if (rst) {
      if (seg.seq === this.rcv.nxt) this.resetArrived();
      else {
        this.dropped('rst-in-window');
        this.challengeAck(now);
      }
      return;
    }
    // Third, security: not implemented. Fourth: SYN (RFC 5961 §4.2, RFC 9293 §3.10.7.4): a
    // SYN in a synchronized state, whatever its sequence number, gets a challenge ACK.
    if (syn) {
      this.dropped('syn-in-window');
      this.challengeAck(now);
      return;
    }
    // RFC 7323 §4.3 (2): TS.Recent, for a segment that passed the checks above.
    if (this.tsOn && ts !== undefined) this.tsClock.update(ts.value, seg.seq, this.lastAckSent, now);
    // Fifth: ACK.
    if (!(flags & TcpFlag.Ack)) {
      this.dropped('no-ack');
      return;
    }
    if (this.st === TcpState.SynReceived) {
      this.handshakeAck(seg, seg.window * (1 << this.snd.shift), now);
      if (this.state !== TcpState.Established) return;
    }
    if (!this.ackArrived(seg, now)) return;
    if (this.st === TcpState.Closed || this.st === TcpState.TimeWait) return;
    // Sixth: URG. RFC 6093 §4: urgent data is delivered inline, in sequence, as data; the
    // pointer is not acted on.
    this.textAndFin(seg, seg.seq, zeroWindow, now);
  }

  /**
   * RFC 6191 §2: with timestamps on both, a SYN whose TSval is newer than TS.Recent; without,
   * one whose sequence number is beyond the old connection's (SEG.SEQ > RCV.NXT).
   */
  protected newIncarnation(seq: number, tsval: number | undefined): boolean {
    if (this.tsOn && tsval !== undefined) return seqGt(tsval, this.tsClock.echo);
    return seqGt(seq, this.rcv.nxt);
  }

  /**
   * RFC 9293 §3.10.7.4 first step: SEG.LEN 0 needs SEG.SEQ in the window (or at RCV.NXT when
   * it is 0); otherwise the first or the last octet must be in it.
   */
  protected acceptable(seq: number, segLen: number): boolean {
    const nxt = this.rcv.nxt;
    const wnd = this.rcv.wnd;
    if (segLen === 0) return wnd === 0 ? seq === nxt : seqInWindow(seq, nxt, wnd);
    if (wnd === 0) return false;
    return seqInWindow(seq, nxt, wnd) || seqInWindow(seqAdd(seq, segLen - 1), nxt, wnd);
  }

  /**
   * The ACK of our SYN-ACK (RFC 9293 §3.10.7.4 fifth step, SYN-RECEIVED): ESTABLISHED if it
   * acknowledges the SYN, a RST <SEQ=SEG.ACK> if it does not.
   */
  protected handshakeAck(seg: TcpRepr, win: number, now: number): void {
    if (!(seqGt(seg.ack, this.snd.una) && seqLe(seg.ack, this.snd.max))) {
      this.dropped('bad-ack');
      this.sendRst(seg.ack, undefined, now);
      return;
    }
    this.timeHandshake(seg, now);
    this.establish(seg.ack, seg.seq, win, now);
  }

  /** The fifth step in a synchronized state; false when the segment was dropped. */
  protected ackArrived(seg: TcpRepr, now: number): boolean {
    const snd = this.snd;
    // RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, else ACK and drop (an ACK
    // for data never sent, RFC 9293 §3.10.7.4, gets the same answer).
    if (seqGt(seg.ack, snd.max)) {
      this.dropped('ack-unsent');
      this.challengeAck(now);
      return false;
    }
    if (seqLt(seg.ack, seqAdd(snd.una, -snd.maxWnd))) {
      this.dropped('ack-too-old');
      this.challengeAck(now);
      return false;
    }
    this.zeroWindowProbes = 0;
    if (this.st === TcpState.TimeWait) return true;
    const ts = seg.options.timestamp;
    // RFC 7323 §4.1 (RTTM): a sample from the echo of every ACK that acknowledges new data.
    const tsRtt = this.tsOn && ts !== undefined && seqGt(seg.ack, snd.una) ? this.tsClock.rtt(ts.echo, now) : undefined;
    const finOrSyn = (seg.flags & (TcpFlag.Fin | TcpFlag.Syn)) !== 0;
    const freed = snd.onAck(seg.seq, seg.ack, seg.window * (1 << snd.shift), seg.payloadLen, finOrSyn, tsRtt, seg.options.sack, now);
    if (freed > 0 && this.writeBlocked && snd.buf.free > 0) {
      this.writeBlocked = false;
      this.signal('writable');
    }
    if (!snd.finAcked) return true;
    switch (this.st) {
      case TcpState.FinWait1:
        this.st = TcpState.FinWait2;
        if (this.orphan) this.timers.finWait2 = now + ORPHAN_FIN_WAIT_2_MS;
        break;
      case TcpState.Closing:
        this.enterTimeWait(now);
        break;
      case TcpState.LastAck:
        this.closeNow(undefined);
        return false;
    }
    return true;
  }

  /**
   * Seventh and eighth steps: the data (trimmed to the window) and the FIN. `dataSeq` is the
   * sequence number of the first data byte.
   */
  protected textAndFin(seg: TcpRepr, dataSeq: number, zeroWindow: boolean, now: number): void {
    const rcv = this.rcv;
    const len = seg.payloadLen;
    if (len > 0 && canReceive(this.st)) {
      if (this.orphan) {
        // RFC 2525 §2.17, Linux (tcp_rcv_state_process): data for a socket closed by its
        // owner can never be read; the peer learns at once with a RST.
        this.dropped('data-after-close');
        this.abortWithReset(now);
        return;
      }
      const segEnd = seqAdd(dataSeq, len);
      // Trimmed to the window (RFC 9293 §3.10.7.4: "only the new parts are processed"), and
      // never past a FIN already seen.
      let right = seqAdd(rcv.nxt, rcv.wnd);
      if (rcv.finSeq !== undefined && seqLt(rcv.finSeq, right)) right = rcv.finSeq;
      const start = seqLt(dataSeq, rcv.nxt) ? rcv.nxt : dataSeq;
      const end = seqLt(segEnd, right) ? segEnd : right;
      if (zeroWindow || !seqLt(start, end)) {
        if (zeroWindow) this.dropped('zero-window');
        rcv.ackNow = true;
      } else {
        // Data cut off at the right edge: the peer learns the window at once. Data that was
        // partly here already: the peer is retransmitting, and learns what arrived at once
        // (Linux acknowledges a retransmission immediately too).
        if (end !== segEnd || start !== dataSeq) rcv.ackNow = true;
        const before = rcv.buf.readable;
        // The whole payload as it came, unless trimmed (no second view of it).
        const data = start === dataSeq && end === segEnd ? seg.payload : seg.payload.subarray(seqSub(start, dataSeq), seqSub(end, dataSeq));
        const result = rcv.onData(start, data, now);
        if (isRefusal(result)) this.dropped(result);
        if (rcv.buf.readable > before) this.signal('readable');
      }
    }
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN came before any of this data,
    // so there is none to take (RFC 9293 §3.10.7.4 seventh step).
    if (seg.flags & TcpFlag.Fin) {
      const finSeq = seqAdd(dataSeq, len);
      // The FIN takes no buffer space: it is taken at the right edge too, and alone at a zero
      // window (Linux: tcp_data_queue, for peers that send a bare FIN into a closed window).
      const fits = !(zeroWindow && len > 0) && seqLe(finSeq, seqAdd(rcv.nxt, rcv.wnd)) && !seqLt(finSeq, rcv.nxt);
      // A FIN past a hole is held like out-of-order data, and ACKed at once as such.
      if (!fits || (rcv.finSeq === undefined && !rcv.onFin(finSeq))) rcv.ackNow = true;
    }
    this.finArrived(now);
  }

  /** RFC 9293 §3.10.7.4 eighth step, once RCV.NXT reaches the peer's FIN. */
  protected finArrived(now: number): void {
    const rcv = this.rcv;
    if (!rcv.finReceived || rcv.finSeq === undefined || this.finTaken) return;
    this.finTaken = true;
    rcv.ackNow = true;
    this.signal('readable');
    switch (this.st) {
      case TcpState.SynReceived:
      case TcpState.Established:
        this.st = TcpState.CloseWait;
        break;
      case TcpState.FinWait1:
        if (this.snd.finAcked) this.enterTimeWait(now);
        else this.st = TcpState.Closing;
        break;
      case TcpState.FinWait2:
        this.enterTimeWait(now);
        break;
    }
  }

  /** RFC 9293 §3.10.7.4 second step: an acceptable RST. */
  protected resetArrived(): void {
    switch (this.st) {
      case TcpState.SynReceived:
        // Passive: back to LISTEN, which for us means the layer forgets it; active
        // (simultaneous open): "connection refused".
        this.closeNow(this.passive ? undefined : 'ECONNREFUSED');
        break;
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
        this.closeNow('ECONNRESET');
        break;
      case TcpState.CloseWait:
        // Linux (tcp_reset): the peer had already closed its side, so what the app meets is
        // a broken pipe on its next write; its reads still end cleanly at the FIN.
        this.closeNow('EPIPE');
        break;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED. Linux, like RFC 9293, lets a RST end
        // TIME-WAIT (RFC 1337's protection is off by default there: tcp_rfc1337 = 0).
        this.closeNow(undefined);
    }
  }

  /** §3.10.7.1: a segment for a connection that is gone. */
  protected replyClosed(seg: TcpRepr): void {
    if (seg.flags & TcpFlag.Rst) return;
    if (seg.flags & TcpFlag.Ack) this.sendRst(seg.ack, undefined, this.lastNow);
    else {
      const len = seg.payloadLen + (seg.flags & TcpFlag.Syn ? 1 : 0) + (seg.flags & TcpFlag.Fin ? 1 : 0);
      this.sendRst(0, seqAdd(seg.seq, len), this.lastNow);
    }
  }

  /**
   * RFC 9293 §3.10.7.4: an unacceptable segment is answered with an ACK. Linux
   * (tcp_oow_rate_limited): for one without data at most every INVALID_ACK_INTERVAL_MS, so two
   * ends that disagree about sequence numbers cannot ACK each other in a loop.
   */
  protected ackUnacceptable(seg: TcpRepr, now: number): void {
    if (seg.payloadLen === 0 && !(seg.flags & (TcpFlag.Syn | TcpFlag.Fin))) {
      if (now - this.lastInvalidAckAt < INVALID_ACK_INTERVAL_MS) return;
      this.lastInvalidAckAt = now;
    }
    this.rcv.ackNow = true;
  }

  /** RFC 5961 §3.2, §4.2, §5.2: an ACK that a true peer answers and a blind attacker never sees; §7 rate limit. */
  protected challengeAck(now: number): void {
    if (this.challengeBudget === undefined || this.challengeBudget(now)) this.rcv.ackNow = true;
  }
}
