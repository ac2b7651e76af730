/**
 * A token bucket: `rate` tokens a second up to `burst`, one taken per event. Used to
 * rate-limit ICMP errors (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)); Linux's defaults are
 * 1000 messages a second with a burst of 50 (net.ipv4.icmp_msgs_per_sec/_burst).
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(readonly ratePerSecond: number, readonly burst: number) {
    this.tokens = burst;
  }

  /** Takes a token if one is there; time in ms. */
  take(now: number): boolean {
    if (this.updatedAt !== undefined && now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
    }
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
