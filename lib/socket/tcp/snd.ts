/**
 * The sending half of a connection (RFC 9293 §3.3.1 SND.*): the send buffer, what may go out
 * and when (windows, Nagle, sender-side SWS avoidance), the retransmission and persist timers,
 * RTT measurement, and the ACK's effect on all of these. Segments leave through the
 * connection (SenderHost), which adds the ACK field, the window and the options.
 *
 * Sequence variables follow BSD: `nxt` is the next sequence number to transmit and goes back
 * to `una` when the retransmission timer fires (go-back-N: what was in flight is resent as
 * the window allows), while `max` is the highest ever sent (RFC 9293's SND.NXT for every
 * test that asks whether something was sent).
 */
import type { DropReason } from '../../wire/drop';
import { TcpFlag } from '../../wire/tcp';
import { createCongestionControl, type CongestionControl } from './cc';
import type { TcpConfig } from './config';
import { NewRenoRecovery } from './loss/newreno';
import { probeTimeout, Rack } from './loss/rack';
import { SackRecovery } from './loss/sack';
import type { SackBlock } from './recv-buffer';
import type { AckEvent, LossAction, LossRecovery } from './loss/index';
import type { TcpMemory } from './memory';
import { RttEstimator } from './rtt';
import { TIMESTAMP_OPTION_LEN } from './options';
import { SendBuffer } from './send-buffer';
import { Flight } from './flight';
import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqSub } from './seq';
import type { TcpTimers } from './timers';

export interface SenderHost {
  /**
   * Transmits `len` bytes of the send buffer from `seq` (0 for none) with these control bits;
   * the host adds ACK, the window and the options.
   */
  send(seq: number, len: number, flags: number, now: number): DropReason | undefined;
  /**
   * Option and data bytes a segment may carry beyond the 20-byte header as the path allows:
   * RFC 9293 §3.7.1's MMS_S less 20 (the path MTU less the IP and TCP headers).
   */
  segmentRoom(now: number): number;
  /** The option bytes the next segment will carry (timestamps, SACK blocks). */
  optionBytes(): number;
  /** Counts what was ignored, by reason (the layer's stats). */
  dropped(reason: DropReason): void;
}

/** RFC 9293 §3.8.6.2.1: the sender's Fs, the fraction of the largest window worth a short segment. */
const SWS_FRACTION = 1 / 2;

export class TcpSender {
  readonly buf: SendBuffer;
  readonly rtt: RttEstimator;
  /** SND.UNA, BSD's snd_nxt, BSD's snd_max. */
  una: number;
  nxt: number;
  max: number;
  /** SND.WND (scaled), SND.WL1, SND.WL2, and the largest window the peer has offered. */
  wnd = 0;
  wl1 = 0;
  wl2 = 0;
  maxWnd = 0;
  /** The shift applied to the peer's window (RFC 7323 §2.2), once negotiated; at most 14 (options.ts), so `1 << shift` is exact. */
  shift = 0;
  /** The sequence number of the send buffer's first byte. */
  bufSeq: number;
  /** The app shut the write side: a FIN follows the last byte. */
  finQueued = false;
  nodelay = false;
  /** The peer's MSS (the most it takes in one segment), set by the handshake. */
  peerMss = 536;
  /** Timestamps in use: every segment loses TIMESTAMP_OPTION_LEN to them, and RTT comes from the echo. */
  timestamps = false;
  /** SACK in use (RFC 2018): the peer's blocks feed the scoreboard and RFC 6675 recovery. */
  sackOn = false;
  /** Retransmission timeouts since an ACK last acknowledged new data (RFC 1122 §4.2.3.5). */
  retransmits = 0;
  /** Zero-window probes sent since the window was last open (RFC 9293 §3.8.6.1). */
  private persistBackoff = 0;
  private ccImpl: CongestionControl | undefined;
  private recovery: LossRecovery | undefined;
  /** RFC 8985: RACK's state, with SACK. */
  private rack: Rack | undefined;
  /** RFC 8985 §7: TLP.end_seq while a probe is unanswered, and whether it was a retransmission. */
  private tlpEnd: number | undefined;
  private tlpRetrans = false;
  /** The segments in flight: what each ACK covers, Karn's rule, the SACK scoreboard. */
  readonly flight = new Flight();
  /** The end of the last short segment sent (Linux's snd_sml, for Minshall's Nagle). */
  private lastSmallEnd: number;
  private retransmitDue = false;
  private smssNow: number;
  /** payloadRoom() while output() sends a burst of segments; undefined otherwise. */
  private burstRoom: number | undefined;
  private readonly ackEvent: AckEvent = { ack: 0, acked: 0, duplicate: false, sndMax: 0, mss: 0, flight: 0, newlySacked: 0, now: 0 };

  constructor(
    readonly iss: number,
    private readonly config: TcpConfig,
    private readonly host: SenderHost,
    private readonly timers: TcpTimers,
    memory?: TcpMemory,
  ) {
    this.buf = new SendBuffer(config.sendBufferSize, memory);
    this.rtt = new RttEstimator(config.rtt);
    this.una = iss;
    this.nxt = iss;
    this.max = iss;
    this.bufSeq = seqAdd(iss, 1);
    this.lastSmallEnd = iss;
    this.smssNow = this.peerMss;
  }

  get cc(): CongestionControl | undefined {
    return this.ccImpl;
  }

  /** FlightSize (RFC 5681 §2): sent and not acknowledged, as cc/index.ts counts it. */
  get inFlight(): number {
    return seqSub(this.nxt, this.una);
  }

  /** The sequence number after the last byte written: where the FIN goes. */
  get endSeq(): number {
    return seqAdd(this.bufSeq, this.buf.length);
  }

  get finSent(): boolean {
    return this.finQueued && seqGt(this.max, this.endSeq);
  }

  get finAcked(): boolean {
    return this.finQueued && seqGt(this.una, this.endSeq);
  }

  /** Bytes written and never sent. */
  get unsent(): number {
    return Math.max(0, this.buf.length - seqSub(seqMax(this.max, this.bufSeq), this.bufSeq));
  }

  /** SMSS: a full-sized data segment, options subtracted (RFC 9293 §3.7.1's Eff.snd.MSS). */
  get smss(): number {
    return this.smssNow;
  }

  /** The SYN (or SYN-ACK) went out: it holds sequence number ISS. */
  synSent(): void {
    this.nxt = seqAdd(this.iss, 1);
    this.max = this.nxt;
  }

  /**
   * The handshake is over (RFC 9293 §3.10.7.3/§3.10.7.4): the SYN is acknowledged, the peer's
   * MSS and window are known. `win` is SEG.WND already scaled as it should be.
   */
  establish(ack: number, seq: number, win: number, now: number): void {
    this.una = ack;
    this.nxt = seqMax(this.nxt, ack);
    this.max = seqMax(this.max, ack);
    this.wnd = win;
    this.wl1 = seq;
    this.wl2 = ack;
    this.maxWnd = win;
    this.smssNow = this.computeSmss(now);
    this.ccImpl = createCongestionControl(this.config.congestionControl, this.smssNow);
    if (this.sackOn) {
      this.rack = new Rack(this.flight, this.rtt);
      this.recovery = new SackRecovery(this.ccImpl, this.flight, this.rack, this.iss);
    } else {
      this.recovery = new NewRenoRecovery(this.ccImpl, this.iss);
    }
  }

  /** The path MTU or options changed: a new SMSS, and cwnd keeps its size in segments. */
  refreshMss(now: number): boolean {
    const smss = this.computeSmss(now);
    if (smss === this.smssNow) return false;
    this.smssNow = smss;
    this.ccImpl?.setMss(smss);
    return true;
  }

  /** The RTT sample of the handshake (RFC 6298 §2: the SYN's own round trip, if it went once). */
  sampleHandshake(rttMs: number | undefined, now: number): void {
    if (rttMs !== undefined) this.rtt.sample(rttMs, now);
  }

  /**
   * An acceptable ACK in a synchronized state (RFC 9293 §3.10.7.4 fifth step, after RFC 5961's
   * validity check). `win` is SEG.WND scaled; `tsRtt` the timestamp echo's RTT, if any.
   * Returns the data bytes it acknowledged.
   */
  onAck(
    seq: number,
    ack: number,
    win: number,
    payloadLen: number,
    synOrFin: boolean,
    tsRtt: number | undefined,
    sack: readonly SackBlock[] | undefined,
    now: number,
  ): number {
    const cc = this.ccImpl as CongestionControl;
    const recovery = this.recovery as LossRecovery;
    const newlySacked = this.sackOn && sack !== undefined ? this.takeSacks(ack, sack, now) : 0;
    // RFC 5681 §2: a duplicate ACK.
    const duplicate = payloadLen === 0 && !synOrFin && ack === this.una && seqLt(this.una, this.max) && win === this.wnd;
    // RFC 9293 §3.10.7.4 fifth step: take the window from the newest segment only (SND.WL1,
    // SND.WL2), so an old reordered segment cannot shrink it.
    if (seqLe(this.una, ack) && (seqLt(this.wl1, seq) || (this.wl1 === seq && seqLe(this.wl2, ack)))) {
      this.wnd = win;
      this.wl1 = seq;
      this.wl2 = ack;
      if (win > this.maxWnd) this.maxWnd = win;
    }
    if (this.wnd > 0 && this.timers.persist !== undefined) {
      // RFC 9293 §3.8.6.1: the window opened, probing is over.
      this.timers.persist = undefined;
      this.persistBackoff = 0;
      this.rtt.resetBackoff();
    }
    if (!seqGt(ack, this.una)) {
      if (duplicate || newlySacked > 0) this.lossEvent(recovery.onAck(this.event(ack, 0, duplicate, newlySacked, now)), now);
      this.probeAnswered(ack, payloadLen === 0 && !synOrFin && newlySacked === 0, now);
      return 0;
    }
    const acked = seqSub(ack, this.una);
    const data = Math.max(0, Math.min(seqSub(ack, this.bufSeq), this.buf.length));
    this.buf.consume(data);
    this.bufSeq = seqAdd(this.bufSeq, data);
    this.una = ack;
    if (seqLt(this.nxt, ack)) this.nxt = ack;
    // RFC 6298 §3 (Karn): an ACK that covers a retransmitted segment cannot say which
    // transmission it answers, so only ACKs of segments sent once are timed; Linux
    // (tcp_clean_rtx_queue): SRTT from the oldest of them, congestion control from the newest.
    // Otherwise the timestamp echo names the transmission (RFC 7323 §4), provided it is not
    // older than the last sending of what was acknowledged: a peer that got a segment twice
    // echoes the first (RFC 7323 §4.3), which would time the retransmission timeout instead.
    const run = this.flight.ack(ack, now, this.rack);
    let sample: number | undefined;
    let ccSample: number | undefined;
    if (run.segments > 0 && !run.retransmitted) {
      sample = now - run.oldestSentAt;
      ccSample = now - run.newestSentAt;
    } else if (tsRtt !== undefined && run.segments > 0 && tsRtt <= now - Math.floor(run.oldestSentAt)) {
      sample = ccSample = tsRtt;
    }
    if (sample !== undefined) this.rtt.sample(sample, now);
    this.retransmits = 0;
    const wasRecovering = recovery.inRecovery;
    const action = recovery.onAck(this.event(ack, acked, false, newlySacked, now));
    if (!wasRecovering) cc.onAck(acked, now, ccSample, this.pipe());
    if (this.una === this.max) {
      // RFC 6298 §5.2: everything acknowledged, the timer stops.
      this.timers.retransmit = undefined;
    } else if (action !== 'retransmit-keep-timer') {
      // RFC 6298 §5.3: new data acknowledged, the timer restarts.
      this.timers.retransmit = now + this.rtt.rto;
    }
    this.lossEvent(action, now);
    this.probeAnswered(ack, false, now);
    this.armProbe(now);
    return data;
  }

  /**
   * Sends what the windows allow: a retransmission loss recovery asked for, then new data (or,
   * after a timeout, the data being resent from SND.UNA), then a FIN. Arms the persist timer
   * when data waits on a closed window with nothing in flight (RFC 9293 §3.8.6.1).
   */
  output(now: number): void {
    const recovery = this.recovery;
    if (recovery !== undefined) {
      if (this.retransmitDue) {
        // RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5, RFC 6675 §5 (4.3): this one goes out
        // whatever cwnd says.
        this.retransmitDue = false;
        this.retransmitAt(recovery.nextRetransmission() ?? this.una, now);
      }
      // RFC 6675 §5 (C): while cwnd - pipe >= 1 SMSS, NextSeg() rule 1 (lost segments) comes
      // before new data (rule 2, below).
      for (let n = this.flight.size; n > 0 && this.cwndNow() - this.pipe() >= this.smssNow; n--) {
        const seq = recovery.nextRetransmission();
        if (seq === undefined) break;
        this.retransmitAt(seq, now);
      }
    }
    // One payloadRoom() for the whole burst: it asks the IP layer for a route and the path MTU,
    // which sending cannot change (a 'too-big' drop clears it, see transmit()).
    this.burstRoom = this.payloadRoom(now);
    while (this.sendNext(now, false));
    this.burstRoom = undefined;
    this.checkPersist(now);
  }

  /** RFC 6298 §5.4-5.6: the retransmission timer fired (the caller counts and gives up). */
  onRetransmitTimeout(now: number): void {
    this.ccImpl?.onRetransmitTimeout(now, this.inFlight);
    this.recovery?.onTimeout(this.max);
    this.rtt.backoff();
    this.retransmitDue = false;
    this.nxt = this.una;
    this.timers.retransmit = undefined;
    this.timers.reorder = undefined;
    this.timers.probe = undefined;
    this.tlpEnd = undefined;
  }

  /** RFC 8985 §6.2: the reordering timer fired; RACK looks again. */
  onReorderTimeout(now: number): void {
    this.timers.reorder = undefined;
    const recovery = this.recovery;
    if (recovery === undefined) return;
    this.lossEvent(recovery.onReorderTimeout(this.event(this.una, 0, false, 0, now)), now);
  }

  /**
   * RFC 8985 §7.3: the probe timeout fired with data outstanding and no ACK for two RTTs: send
   * one new segment if the peer's window allows (cwnd does not apply), else the last segment
   * again, so that whatever of the tail was lost draws a SACK; then the RTO runs again.
   */
  onProbeTimeout(now: number): void {
    this.timers.probe = undefined;
    if (this.rack === undefined || this.tlpEnd !== undefined || this.recovery?.inRecovery || !seqLt(this.una, this.max)) return;
    const fresh = this.unsent > 0 && this.nxt === this.max && seqSub(seqAdd(this.una, this.wnd), this.nxt) > 0 && this.sendNext(now, true);
    if (!fresh) {
      const last = this.flight.lastStart();
      if (last !== undefined) this.retransmitAt(last, now);
    }
    // One probe per episode, until an ACK answers it (RFC 8985 §7.4).
    this.tlpRetrans = !fresh;
    this.tlpEnd = this.max;
    this.timers.probe = undefined;
    this.timers.retransmit = now + this.rtt.rto;
  }

  /**
   * The path MTU dropped (RFC 1191 §6.5, RFC 8201 §5.4): what is in flight was probably too
   * big to arrive; resend it, cut to the new size, without a congestion response (Linux:
   * tcp_simple_retransmit()).
   */
  resendAfterMtuDrop(): void {
    this.nxt = this.una;
  }

  /**
   * The persist timer fired (RFC 9293 §3.8.6.1): with the window closed, a probe (Linux:
   * tcp_xmit_probe_skb(), SND.UNA-1 and no data, which the receiver must answer with an ACK
   * carrying its window, and no probe byte needs tracking); with a window too small for SWS
   * avoidance, the data that fits (§3.8.6.2.1's override timeout).
   */
  onPersistTimeout(now: number): void {
    this.timers.persist = undefined;
    if (this.wnd === 0 || !this.sendNext(now, true)) this.host.send(seqAdd(this.una, -1), 0, 0, now);
    this.persistBackoff++;
    this.timers.persist = now + this.persistInterval();
  }

  /** Sends one segment if the rules allow; `force` ignores Nagle and SWS avoidance. */
  private sendNext(now: number, force: boolean): boolean {
    const room = this.burstRoom ?? this.payloadRoom(now);
    const off = seqSub(this.nxt, this.bufSeq);
    const left = this.buf.length - off;
    const resending = seqLt(this.nxt, this.max);
    if (resending) {
      // Going back after a timeout: what the peer SACKed is not sent again (RFC 6675 §5.1).
      const sacked = this.flight.sackedEnd(this.nxt);
      if (sacked !== undefined) {
        this.nxt = sacked;
        return true;
      }
    }
    if (left <= 0) {
      // A FIN alone: when the last byte went out without it, or to resend it.
      if (this.finQueued && this.nxt === this.endSeq && (resending || !this.finSent)) {
        this.transmit(this.nxt, 0, TcpFlag.Fin, resending, now);
        return false;
      }
      return false;
    }
    const wndRoom = seqSub(seqAdd(this.una, this.wnd), this.nxt);
    // cc/index.ts: new data with nothing in flight may follow an idle period.
    if (!resending && this.inFlight === 0 && wndRoom > 0) this.ccImpl?.onIdleRestart(now, this.rtt.rto);
    const cwndRoom = this.cwndNow() - this.pipe();
    let len = Math.min(room, left, wndRoom, force ? left : cwndRoom);
    if (len <= 0) return false;
    if (len < room && !force) {
      if (len < left) {
        // Cut short by a window. Linux counts cwnd in segments: wait for a whole one.
        if (cwndRoom <= wndRoom) return false;
        // RFC 9293 §3.8.6.2.1: a short segment for a small offered window only when it is at
        // least Fs of the largest window seen; otherwise wait (the persist timer overrides).
        if (!resending && len < this.maxWnd * SWS_FRACTION) return false;
      } else if (!resending && !this.nodelay && !this.finQueued && seqGt(this.lastSmallEnd, this.una)) {
        // RFC 896, RFC 9293 §3.7.4 (Nagle): hold a short tail while a short segment is
        // unacknowledged. Linux: Minshall's variant (only a short one outstanding holds it,
        // not full-sized ones); a segment with the FIN is never held.
        return false;
      }
    }
    if (len > room) len = room;
    const last = off + len === this.buf.length;
    let flags = last ? TcpFlag.Psh : 0;
    if (last && this.finQueued) flags |= TcpFlag.Fin;
    if (len < this.smssNow) this.lastSmallEnd = seqAdd(this.nxt, len);
    this.transmit(this.nxt, len, flags, resending, now);
    return true;
  }

  private transmit(seq: number, len: number, flags: number, resending: boolean, now: number): void {
    const fin = flags & TcpFlag.Fin ? 1 : 0;
    const result = this.host.send(seq, len, flags, now);
    // 'too-big': the path MTU shrank under us (TcpLink.send); cut the segment again to the new
    // size at once. Any other failure, or a size that did not change, is a loss the timer
    // recovers from.
    if (result === 'too-big') this.burstRoom = undefined;
    if (result === 'too-big' && this.refreshMss(now)) return;
    const end = seqAdd(seq, len + fin);
    if (resending) this.flight.resent(seq, end, now);
    else this.flight.sent(seq, end, now);
    this.nxt = end;
    this.max = seqMax(this.max, this.nxt);
    // RFC 6298 §5.1: data (or a FIN) sent and the timer not running: start it.
    if (this.timers.retransmit === undefined) this.timers.retransmit = now + this.rtt.rto;
    if (!resending) this.armProbe(now);
    if (this.timers.persist !== undefined && this.wnd > 0) this.timers.persist = undefined;
  }

  /**
   * Resends the segment that starts at `seq` (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5,
   * RFC 6675 NextSeg()), cut to the current size if the path MTU shrank since.
   */
  private retransmitAt(seq: number, now: number): void {
    if (!seqLt(seq, this.max) || seqLt(seq, this.una)) return;
    const end = this.flight.segmentEnd(seq) ?? this.max;
    const room = this.payloadRoom(now);
    // Bounded: each round sends at least a byte, or the FIN and stops.
    for (let at = seq; seqLt(at, end); ) {
      const off = seqSub(at, this.bufSeq);
      const len = Math.max(0, Math.min(room, this.buf.length - off, seqSub(end, at)));
      const last = off + len === this.buf.length;
      const fin = last && this.finSent ? TcpFlag.Fin : 0;
      if (len === 0 && !fin) return;
      this.host.send(at, len, (last && len > 0 ? TcpFlag.Psh : 0) | fin, now);
      const next = seqAdd(at, len + (fin ? 1 : 0));
      this.flight.resent(at, next, now);
      if (seqLt(this.nxt, next)) this.nxt = next;
      at = next;
    }
  }

  /** RFC 2018 §4: SACK blocks, checked against what is outstanding; returns the segments newly SACKed. */
  private takeSacks(ack: number, blocks: readonly SackBlock[], now: number): number {
    let fresh = 0;
    for (const b of blocks) {
      // A block at or below the cumulative ACK (a D-SACK, RFC 2883) says nothing here. RFC 2018
      // §4: any other reports data held past RCV.NXT; one that is reversed, reaches past
      // anything sent or starts at or below the ACK is not believed (Linux:
      // tcp_is_sackblock_valid()), and is counted.
      if (!seqLt(b.left, b.right)) this.host.dropped('sack-reversed');
      else if (!seqGt(b.right, ack)) continue;
      else if (seqGt(b.right, this.max)) this.host.dropped('sack-unsent');
      else if (!seqGt(b.left, ack)) this.host.dropped('sack-below-ack');
      else fresh += this.flight.sack(b.left, b.right, now, this.rack);
    }
    return fresh;
  }

  /** The AckEvent for loss recovery, one object reused (no allocation per ACK). */
  private event(ack: number, acked: number, duplicate: boolean, newlySacked: number, now: number): AckEvent {
    const ev = this.ackEvent;
    ev.ack = ack;
    ev.acked = acked;
    ev.duplicate = duplicate;
    ev.sndMax = this.max;
    ev.mss = this.smssNow;
    ev.flight = this.inFlight;
    ev.newlySacked = newlySacked;
    ev.now = now;
    return ev;
  }

  /** What counts against cwnd: FlightSize, or RFC 6675's pipe during SACK recovery. */
  private pipe(): number {
    return this.recovery === undefined ? this.inFlight : this.recovery.pipe(this.inFlight, this.nxt);
  }

  /** What loss recovery decided: a retransmission due, RACK's reordering timer; recovery ends any probe episode. */
  private lossEvent(action: LossAction, now: number): void {
    if (action !== 'none') this.retransmitDue = true;
    const wait = this.recovery?.reorderWait ?? 0;
    this.timers.reorder = wait > 0 ? now + wait : undefined;
    if (this.recovery?.inRecovery) {
      this.tlpEnd = undefined;
      this.timers.probe = undefined;
    }
  }

  /**
   * RFC 8985 §7.2: after new data goes out or an ACK acknowledges some, the probe timeout is
   * two SRTTs away (see rack.ts), never later than the RTO (Linux: the probe then takes its
   * place), and only with SACK, outside recovery, with data outstanding and no probe unanswered.
   */
  private armProbe(now: number): void {
    this.timers.probe = undefined;
    if (this.rack === undefined || this.tlpEnd !== undefined || this.recovery?.inRecovery || !seqLt(this.una, this.max)) return;
    let at = now + probeTimeout(this.rtt.srtt, seqSub(this.max, this.una) <= this.smssNow);
    const rto = this.timers.retransmit;
    if (rto !== undefined && rto < at) at = rto;
    this.timers.probe = at;
  }

  /**
   * RFC 8985 §7.4, as Linux (tcp_process_tlp_ack()): a probe that was new data needs no verdict;
   * a retransmitted one repaired a loss when an ACK goes past it (no D-SACK says it was a
   * duplicate), and cwnd comes down as after a recovery; a bare duplicate ACK at its end means
   * the original and the probe both arrived.
   */
  private probeAnswered(ack: number, pureDuplicate: boolean, now: number): void {
    const end = this.tlpEnd;
    if (end === undefined || seqLt(ack, end)) return;
    if (!this.tlpRetrans || pureDuplicate) {
      this.tlpEnd = undefined;
    } else if (seqGt(ack, end)) {
      this.tlpEnd = undefined;
      const cc = this.ccImpl as CongestionControl;
      cc.onCongestionEvent(now, this.inFlight);
      cc.onRecoveryEnd(now);
    }
  }

  private cwndNow(): number {
    const cc = this.ccImpl;
    if (cc === undefined) return 0;
    return Math.max(this.smssNow, cc.cwnd + (this.recovery as LossRecovery).extraWindow(this.smssNow));
  }

  /**
   * RFC 9293 §3.8.6.1: when nothing can go out and no timer runs, the persist timer probes the
   * window. That includes data in flight after a timeout when the peer shrank its window to
   * zero under it: nothing may be resent, and §3.8.6 says "If the window shrinks to zero, the
   * TCP implementation MUST probe it".
   */
  private checkPersist(now: number): void {
    const stalled = (this.unsent > 0 || this.una !== this.max) && this.timers.retransmit === undefined;
    if (!stalled) {
      if (this.timers.persist !== undefined && this.una !== this.max) this.timers.persist = undefined;
      return;
    }
    if (this.timers.persist === undefined) this.timers.persist = now + this.persistInterval();
  }

  /** RFC 9293 §3.8.6.1 (SHLD-29, SHLD-30): the first probe after an RTO, then backing off to the maximum. */
  private persistInterval(): number {
    return Math.min(this.config.rtt.maxRto, this.rtt.rto * 2 ** this.persistBackoff);
  }

  private computeSmss(now: number): number {
    return Math.max(1, Math.min(this.peerMss, this.host.segmentRoom(now)) - (this.timestamps ? TIMESTAMP_OPTION_LEN : 0));
  }

  /** RFC 9293 §3.7.1: Eff.snd.MSS for the next segment, less the options it carries. */
  private payloadRoom(now: number): number {
    return Math.max(1, Math.min(this.peerMss, this.host.segmentRoom(now)) - this.host.optionBytes());
  }
}
