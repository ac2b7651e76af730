import { describe, expect, it } from 'vitest';
import { MIN_RTT_WINDOW, RttEstimator } from '../../../lib/socket/tcp/rtt';

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO of 1 s with no estimate', () => {
    const e = new RttEstimator();
    expect(e.rto).toBe(1000);
    expect(e.srtt).toBeUndefined();
    expect(e.rttvar).toBeUndefined();
    expect(e.minRtt).toBeUndefined();
  });

  it('takes the first sample as SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR) (§2.2)', () => {
    const e = new RttEstimator();
    e.sample(100, 0);
    expect(e.srtt).toBe(100);
    expect(e.rttvar).toBe(50);
    expect(e.rto).toBe(300);
  });

  it('smooths later samples with alpha 1/8 and beta 1/4, RTTVAR from the old SRTT (§2.3)', () => {
    const e = new RttEstimator();
    e.sample(100, 0);
    e.sample(200, 100);
    // RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5
    expect(e.rttvar).toBe(62.5);
    expect(e.srtt).toBe(112.5);
    expect(e.rto).toBe(363); // 112.5 + 250, rounded up to G = 1 ms
    e.sample(50, 200);
    // RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 62.5; SRTT = 7/8*112.5 + 1/8*50 = 104.6875
    expect(e.rttvar).toBe(62.5);
    expect(e.srtt).toBe(104.6875);
    expect(e.rto).toBe(355);
  });

  it('adds the clock granularity G when 4*RTTVAR is smaller, and rounds up to G', () => {
    const e = new RttEstimator({ minRto: 0, granularity: 10 });
    e.sample(1, 0); // SRTT 1, RTTVAR 0.5: 1 + max(10, 2) = 11 -> 20
    expect(e.rto).toBe(20);
  });

  it('never goes below 200 ms (Linux TCP_RTO_MIN) nor above 120 s (TCP_RTO_MAX)', () => {
    const lan = new RttEstimator();
    lan.sample(10, 0); // 10 + 20 = 30 ms
    expect(lan.rto).toBe(200);
    const far = new RttEstimator();
    far.sample(100_000, 0); // 100 s + 200 s
    expect(far.rto).toBe(120_000);
  });

  it('backs off by doubling up to 120 s (§5.5), and resets', () => {
    const e = new RttEstimator();
    const seen = [e.rto];
    for (let i = 0; i < 9; i++) {
      e.backoff();
      seen.push(e.rto);
    }
    expect(seen).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 120_000, 120_000, 120_000]);
    e.resetBackoff();
    expect(e.rto).toBe(1000);
  });

  it('collapses the back-off when a new sample arrives (§5)', () => {
    const e = new RttEstimator();
    e.sample(100, 0);
    e.backoff();
    e.backoff();
    expect(e.rto).toBe(1200);
    e.sample(100, 5000); // RTTVAR 3/4*50 = 37.5: 100 + 150
    expect(e.rto).toBe(250);
  });

  it('falls back to 3 s after a SYN timeout when there is no sample (§5.7)', () => {
    const e = new RttEstimator();
    e.backoff();
    e.afterSynTimeout();
    expect(e.rto).toBe(3000);
    const timed = new RttEstimator();
    timed.sample(100, 0); // timestamps disambiguated the retransmitted SYN
    timed.backoff();
    timed.afterSynTimeout();
    expect(timed.rto).toBe(300);
  });

  it('scales alpha and beta by the samples per window with timestamps (RFC 7323 Appendix G)', () => {
    const e = new RttEstimator();
    e.sample(100, 0, { samplesPerWindow: 4 });
    e.sample(200, 10, { samplesPerWindow: 4 });
    // beta' = 1/16: 15/16*50 + 1/16*100 = 53.125; alpha' = 1/32: 31/32*100 + 200/32 = 103.125
    expect(e.rttvar).toBe(53.125);
    expect(e.srtt).toBe(103.125);
  });

  it('ignores samples that are not durations', () => {
    const e = new RttEstimator();
    e.sample(100, 0);
    for (const bad of [-1, NaN, Infinity]) e.sample(bad, 10);
    expect(e.srtt).toBe(100);
    expect(e.rttvar).toBe(50);
    expect(e.minRtt).toBe(100);
  });

  describe('minRtt', () => {
    it('follows a new minimum at once', () => {
      const e = new RttEstimator();
      e.sample(50, 0);
      e.sample(80, 1000);
      expect(e.minRtt).toBe(50);
      e.sample(30, 2000);
      expect(e.minRtt).toBe(30);
    });

    it('forgets a minimum older than the window', () => {
      const e = new RttEstimator();
      e.sample(50, 0);
      e.sample(80, 5000);
      expect(e.minRtt).toBe(50);
      e.sample(90, MIN_RTT_WINDOW + 500);
      expect(e.minRtt).toBe(80);
    });

    it('keeps the best value still inside the window', () => {
      const e = new RttEstimator();
      e.sample(50, 0);
      e.sample(60, 9000);
      e.sample(70, MIN_RTT_WINDOW + 500);
      expect(e.minRtt).toBe(60);
      e.sample(75, 9000 + MIN_RTT_WINDOW + 1);
      expect(e.minRtt).toBe(70);
    });

    it('starts over when every candidate is out of the window', () => {
      const e = new RttEstimator();
      e.sample(50, 0);
      e.sample(120, 3 * MIN_RTT_WINDOW);
      expect(e.minRtt).toBe(120);
    });
  });
});
