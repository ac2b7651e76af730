/**
 * The timestamps option once negotiated (RFC 7323 §3-§5): our TSval clock, TS.Recent (what we
 * echo), PAWS, and RTT measurement from the echo.
 */
import { seqGe, seqLe, seqLt } from './seq';

/** RFC 7323 §5.5: a TS.Recent older than 24 days may have wrapped and no longer guards anything. */
export const PAWS_IDLE_LIMIT_MS = 24 * 24 * 3600 * 1000;

export class TcpTimestamps {
  /** TS.Recent: the peer's TSval we echo (RFC 7323 §4.3). */
  private recent = 0;
  /** When TS.Recent was set; undefined until the first one. */
  private recentAt: number | undefined;

  /**
   * `offset` is added to the clock (RFC 7323 §5.4 and §7.1: a random offset per connection, so
   * TSval reveals neither uptime nor other connections' clocks). One tick per millisecond,
   * within §5.4's 1 ms to 1 s.
   */
  constructor(private readonly offset: number) {}

  /** Our TSval at `now`. */
  value(now: number): number {
    return (Math.floor(now) + this.offset) >>> 0;
  }

  /** The TSecr to send: TS.Recent. */
  get echo(): number {
    return this.recent;
  }

  /** RFC 7323 §4.3: TS.Recent starts as the TSval of the peer's SYN or SYN-ACK. */
  init(tsval: number, now: number): void {
    this.recent = tsval >>> 0;
    this.recentAt = now;
  }

  /**
   * RFC 7323 §5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is a duplicate from
   * an earlier wrap of the sequence space, unless TS.Recent is itself older than 24 days
   * (§5.5), when it no longer says anything.
   */
  rejects(tsval: number, now: number): boolean {
    return this.recentValid(now) && seqLt(tsval, this.recent);
  }

  /**
   * RFC 7323 §4.3 (2): TS.Recent takes SEG.TSval when it is not older and the segment covers
   * the left edge of what our next ACK acknowledges (SEG.SEQ <= Last.ACK.sent), so the echo is
   * the timestamp of the earliest segment an ACK answers. Linux (tcp_replace_ts_recent) also
   * takes it when the old value has expired under §5.5.
   */
  update(tsval: number, seq: number, lastAckSent: number, now: number): void {
    if (!seqLe(seq, lastAckSent)) return;
    if (seqGe(tsval, this.recent) || !this.recentValid(now)) {
      this.recent = tsval >>> 0;
      this.recentAt = now;
    }
  }

  /**
   * RFC 7323 §4.1 (RTTM): the round trip of the transmission whose TSval the peer echoes. An
   * echo of 0 is taken as "none" (Linux does the same: a SYN carries TSecr 0), and one from
   * the future is not a measurement.
   */
  rtt(tsecr: number, now: number): number | undefined {
    if (tsecr === 0) return undefined;
    const rtt = (this.value(now) - tsecr) | 0;
    return rtt >= 0 ? rtt : undefined;
  }

  private recentValid(now: number): boolean {
    return this.recentAt !== undefined && now - this.recentAt < PAWS_IDLE_LIMIT_MS;
  }
}
