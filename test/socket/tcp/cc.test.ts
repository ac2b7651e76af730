import { describe, expect, it } from 'vitest';
import { createCongestionControl, initialWindow, type CongestionControl } from '../../../lib/socket/tcp/cc/index';
import { CUBIC_BETA, CUBIC_C, CubicCongestionControl } from '../../../lib/socket/tcp/cc/cubic';
import { CSS_ROUNDS, HyStart } from '../../../lib/socket/tcp/cc/hystart';

const MSS = 1460;

/**
 * One round trip of ACKs: every whole segment of the window when the round starts is
 * acknowledged, `perAck` segments per ACK; `bytesInFlight` is what is left of the round.
 */
function round(cc: CongestionControl, now: number, rttMs: number | undefined, perAck = 1, mss = MSS): void {
  const segments = Math.floor(cc.cwnd / mss);
  for (let i = 0; i < segments; i += perAck) {
    const n = Math.min(perAck, segments - i);
    cc.onAck(n * mss, now, rttMs, (segments - i - n) * mss);
  }
}

/**
 * An ACK-clocked sender: keeps cwnd full, each segment acknowledged rttAt(sentAt) ms after it
 * was sent (non-decreasing, so ACKs come back in order). Runs until `until` ms, bounded.
 */
function ackClock(
  cc: CongestionControl,
  mss: number,
  rttAt: (sentAt: number) => number,
  until: number,
  onAck: (now: number, before: number) => void = () => {},
  start = 0,
): number {
  const inflight: { sentAt: number; ackAt: number }[] = [];
  let now = start;
  const fill = () => {
    while ((inflight.length + 1) * mss <= cc.cwnd) inflight.push({ sentAt: now, ackAt: now + rttAt(now) });
  };
  fill();
  for (let acks = 0; acks < 200_000; acks++) {
    const seg = inflight[0];
    if (seg === undefined || seg.ackAt > until) break;
    inflight.shift();
    now = seg.ackAt;
    const before = cc.cwnd;
    cc.onAck(mss, now, seg.ackAt - seg.sentAt, inflight.length * mss);
    onAck(now, before);
    fill();
  }
  return now;
}

describe('initial window (RFC 6928)', () => {
  it.each([
    [536, 5360],
    [1460, 14600],
    [8960, 17920],
  ])('MSS %i gives %i bytes', (mss, iw) => {
    expect(initialWindow(mss)).toBe(iw);
    expect(createCongestionControl('reno', mss).cwnd).toBe(iw);
    expect(createCongestionControl('cubic', mss).cwnd).toBe(iw);
  });

  it('starts in slow start with an unbounded ssthresh, unless the window is configured', () => {
    const cc = createCongestionControl('reno', MSS);
    expect(cc.name).toBe('reno');
    expect(cc.ssthresh).toBe(Infinity);
    expect(cc.inSlowStart).toBe(true);
    expect(createCongestionControl('reno', MSS, { initialWindow: 4 * MSS }).cwnd).toBe(4 * MSS);
  });
});

describe('Reno (RFC 5681)', () => {
  it('doubles per round trip in slow start, with one ACK per segment or per two', () => {
    const cc = createCongestionControl('reno', MSS);
    round(cc, 100, 100);
    expect(cc.cwnd).toBe(20 * MSS);
    round(cc, 200, 100);
    expect(cc.cwnd).toBe(40 * MSS);
    const delayed = createCongestionControl('reno', MSS);
    round(delayed, 100, 100, 2);
    expect(delayed.cwnd).toBe(20 * MSS);
  });

  it('limits slow-start growth per ACK to 2 SMSS (RFC 3465 L)', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onAck(10 * MSS, 100, 100, 0);
    expect(cc.cwnd).toBe(12 * MSS);
  });

  it('grows about 1 SMSS per round trip in congestion avoidance', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onCongestionEvent(0, 20 * MSS);
    cc.onRecoveryEnd(50);
    expect(cc.cwnd).toBe(10 * MSS);
    expect(cc.inSlowStart).toBe(false);
    for (let r = 1; r <= 5; r++) {
      round(cc, 50 + 100 * r, 100);
      expect(cc.cwnd).toBe((10 + r) * MSS);
    }
  });

  it('on a congestion event sets ssthresh = max(FlightSize/2, 2 SMSS) and cwnd = ssthresh', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onCongestionEvent(0, 15 * MSS);
    expect(cc.ssthresh).toBe(Math.floor(7.5 * MSS));
    expect(cc.cwnd).toBe(cc.ssthresh);
    cc.onCongestionEvent(10, MSS);
    expect(cc.ssthresh).toBe(2 * MSS);
  });

  it('on an RTO drops to 1 SMSS with ssthresh = max(FlightSize/2, 2 SMSS), held on repeats', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onRetransmitTimeout(0, 10 * MSS);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(5 * MSS);
    cc.onRetransmitTimeout(1000, MSS); // the same segment timed out again
    expect(cc.ssthresh).toBe(5 * MSS);
    expect(cc.cwnd).toBe(MSS);
    cc.onAck(MSS, 1100, undefined, 0);
    cc.onRetransmitTimeout(2000, 2 * MSS); // a new loss after progress
    expect(cc.ssthresh).toBe(2 * MSS);
  });

  it('slow-starts up to ssthresh after an RTO, then continues in congestion avoidance', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onRetransmitTimeout(0, 8 * MSS);
    for (let i = 0; i < 3; i++) cc.onAck(MSS, 100 + i, 100, 0);
    expect(cc.cwnd).toBe(4 * MSS);
    expect(cc.inSlowStart).toBe(false);
    cc.onAck(2 * MSS, 200, 100, 0); // half a window acknowledged: no growth yet
    expect(cc.cwnd).toBe(4 * MSS);
    cc.onAck(2 * MSS, 201, 100, 0);
    expect(cc.cwnd).toBe(5 * MSS);
  });

  it('reacts to ECN-Echo like a loss, once per window of data (RFC 3168 §6.1.2)', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onEcnEcho(0, 10 * MSS);
    expect(cc.ssthresh).toBe(5 * MSS);
    expect(cc.cwnd).toBe(5 * MSS);
    for (let i = 0; i < 10; i++) {
      cc.onEcnEcho(i, 5 * MSS); // ECE repeated until our CWR arrives: same window
      cc.onAck(MSS, i, 10, 5 * MSS);
    }
    expect(cc.ssthresh).toBe(5 * MSS);
    cc.onAck(MSS, 20, 10, 5 * MSS); // data sent after the reduction
    cc.onEcnEcho(20, 6 * MSS);
    expect(cc.ssthresh).toBe(3 * MSS);
  });

  it('restarts from the initial window after idling longer than the RTO (RFC 5681 §4.1)', () => {
    const cc = createCongestionControl('reno', MSS);
    round(cc, 100, 100);
    expect(cc.cwnd).toBe(20 * MSS);
    cc.onIdleRestart(900, 1000);
    expect(cc.cwnd).toBe(20 * MSS);
    cc.onIdleRestart(1901, 1000);
    expect(cc.cwnd).toBe(10 * MSS);
  });

  it('keeps the window in segments when the MSS changes', () => {
    const cc = createCongestionControl('reno', MSS);
    cc.onCongestionEvent(0, 20 * MSS);
    cc.setMss(1200);
    expect(cc.cwnd).toBe(10 * 1200);
    expect(cc.ssthresh).toBe(10 * 1200);
  });
});

describe('CUBIC (RFC 9438)', () => {
  const SEG = 1000; // segment size for round numbers
  const cubic = (segments: number, opts = {}) =>
    new CubicCongestionControl(SEG, { initialWindow: segments * SEG, hystart: false, ...opts });
  const wCubic = (t: number, k: number, wMax: number) => CUBIC_C * (t - k) ** 3 + wMax;

  it('reduces to β_cubic = 0.7 of W_max on a loss and computes K', () => {
    const cc = cubic(100);
    expect(cc.name).toBe('cubic');
    cc.onCongestionEvent(0, 100 * SEG);
    expect(cc.wMax).toBe(100);
    expect(cc.cwnd).toBe(70 * SEG);
    expect(cc.ssthresh).toBe(70 * SEG);
    cc.onRecoveryEnd(10);
    cc.onAck(SEG, 20, 100, 69 * SEG);
    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(30 / 0.4) = cbrt(75)
    expect(cc.k).toBeCloseTo(4.2172, 4);
  });

  it('follows W_cubic(t) through the concave and convex regions', () => {
    // A long RTT and a large W_max keep Reno's estimate below the curve throughout.
    const cc = cubic(400);
    cc.onCongestionEvent(0, 400 * SEG);
    cc.onRecoveryEnd(0);
    const k = Math.cbrt((400 - 280) / CUBIC_C);
    let epoch: number | undefined;
    let outside = 0;
    let acks = 0;
    ackClock(cc, SEG, () => 200, 10_000, (now) => {
      epoch ??= now;
      const t = (now - epoch) / 1000;
      // Each ACK aims at W_cubic(t + RTT) (§4.2) and closes (target - cwnd)/cwnd of the gap,
      // so cwnd trails the target but stays within one RTT of the curve.
      const w = cc.cwnd / SEG;
      if (w < wCubic(t - 0.2, k, 400) * 0.995 || w > wCubic(t + 0.2, k, 400) * 1.005) outside++;
      acks++;
    });
    expect(acks).toBeGreaterThan(10_000);
    expect(outside).toBe(0);
    expect(cc.cwnd / SEG).toBeGreaterThan(410); // the convex region, past K ≈ 6.7 s
  });

  it('grows at least like Reno when the RTT is short (Reno-friendly region, §4.3)', () => {
    const cc = cubic(100);
    cc.onCongestionEvent(0, 100 * SEG);
    cc.onRecoveryEnd(0);
    let epoch: number | undefined;
    const now = ackClock(cc, SEG, () => 2, 40, (t) => {
      epoch ??= t;
    });
    const rounds = (now - (epoch ?? 0)) / 2;
    const alpha = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
    expect(cc.cwnd / SEG).toBeCloseTo(70 + alpha * rounds, 0);
    expect(cc.cwnd / SEG).toBeGreaterThan(wCubic((now - (epoch ?? 0)) / 1000, Math.cbrt(30 / CUBIC_C), 100) + 5);
  });

  it('grows at most 1.5x per round trip far into the convex region (§4.2)', () => {
    const cc = cubic(10);
    cc.onCongestionEvent(0, 10 * SEG);
    cc.onRecoveryEnd(0);
    // With a 1 s RTT every ACK of a round arrives at the same instant: keep the window after each.
    const windows: number[] = [];
    let last: number | undefined;
    ackClock(cc, SEG, () => 1000, 12_000, (now) => {
      if (now !== last) windows.push(cc.cwnd);
      else windows[windows.length - 1] = cc.cwnd;
      last = now;
    });
    expect(windows.length).toBe(12);
    const ratios = windows.slice(1).map((w, i) => w / (windows[i] as number));
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1.5);
    expect(Math.max(...ratios)).toBeGreaterThan(1.45); // W_cubic(t + RTT) alone would be more
  });

  it('lowers W_max on a loss before reaching the last one (fast convergence, §4.7)', () => {
    const cc = cubic(100);
    cc.onCongestionEvent(0, 100 * SEG);
    cc.onRecoveryEnd(0);
    cc.onCongestionEvent(100, 70 * SEG);
    expect(cc.wMax).toBeCloseTo(70 * (1 + CUBIC_BETA) / 2, 9);
    expect(cc.cwnd).toBe(49 * SEG);
    const plain = cubic(100, { fastConvergence: false });
    plain.onCongestionEvent(0, 100 * SEG);
    plain.onRecoveryEnd(0);
    plain.onCongestionEvent(100, 70 * SEG);
    expect(plain.wMax).toBe(70);
  });

  it('lets ECN-Echo take cwnd down to 1 SMSS (§4.6)', () => {
    const cc = cubic(10);
    cc.onEcnEcho(0, SEG);
    expect(cc.cwnd).toBe(SEG);
    expect(cc.ssthresh).toBe(2 * SEG);
  });

  it('after an RTO slow-starts from 1 SMSS to β_cubic*FlightSize, then restarts the curve with K = 0 (§4.8)', () => {
    const cc = cubic(100);
    cc.onRetransmitTimeout(0, 100 * SEG);
    expect(cc.cwnd).toBe(SEG);
    expect(cc.ssthresh).toBe(70 * SEG);
    let t = 0;
    while (cc.inSlowStart) cc.onAck(SEG, ++t, 100, 0);
    expect(cc.cwnd).toBe(70 * SEG);
    cc.onAck(SEG, ++t, 100, 0);
    expect(cc.k).toBe(0);
    expect(cc.wMax).toBe(70);
  });

  it('keeps idle time out of t (§5.8)', () => {
    const make = () => {
      const cc = cubic(100);
      cc.onCongestionEvent(0, 100 * SEG);
      cc.onRecoveryEnd(0);
      cc.onAck(SEG, 100, 100, 0); // the epoch starts here
      return cc;
    };
    const idle = make();
    idle.onIdleRestart(5100, 60_000);
    idle.onAck(SEG, 5200, 100, 0);
    const busy = make();
    busy.onAck(SEG, 200, 100, 0);
    const unaware = make();
    unaware.onAck(SEG, 5200, 100, 0);
    expect(idle.cwnd).toBe(busy.cwnd);
    expect(unaware.cwnd).toBeGreaterThan(idle.cwnd);
  });
});

describe('HyStart++ (RFC 9406)', () => {
  /** A round of `acks` ACKs of one segment each, all with the same RTT sample. */
  const hyRound = (h: HyStart, acks: number, rtt: number) => {
    const phases: string[] = [];
    for (let i = 0; i < acks; i++) phases.push(h.onAck(MSS, rtt, (acks - 1 - i) * MSS));
    return phases;
  };

  it('stays in slow start while the RTT holds', () => {
    const h = new HyStart();
    for (let r = 0; r < 10; r++) expect(hyRound(h, 10, 100 + (r % 2) * 12)).not.toContain('css');
  });

  it('enters CSS on the 8th sample of a round whose minimum rose by the threshold', () => {
    const h = new HyStart();
    hyRound(h, 10, 100);
    // threshold = clamp(100/8, 4, 16) = 12.5 ms
    const phases = hyRound(h, 10, 113);
    expect(phases.slice(0, 7)).toEqual(Array(7).fill('slow-start'));
    expect(phases.slice(7)).toEqual(['css', 'css', 'css']);
  });

  it('needs N_RTT_SAMPLE samples in a round', () => {
    const h = new HyStart();
    hyRound(h, 7, 100);
    expect(hyRound(h, 7, 200)).not.toContain('css');
  });

  it('ends after CSS_ROUNDS rounds of CSS, counting the partial one', () => {
    const h = new HyStart();
    hyRound(h, 10, 100);
    hyRound(h, 10, 113);
    for (let r = 1; r < CSS_ROUNDS; r++) expect(hyRound(h, 10, 113)).toEqual(Array(10).fill('css'));
    expect(h.onAck(MSS, 113, 9 * MSS)).toBe('exit');
  });

  it('resumes slow start when the RTT drops below the CSS baseline (a spurious exit)', () => {
    const h = new HyStart();
    hyRound(h, 10, 100);
    hyRound(h, 10, 113);
    const phases = hyRound(h, 10, 105);
    expect(phases[6]).toBe('css');
    expect(phases[7]).toBe('slow-start');
    expect(h.phase).toBe('slow-start');
  });

  describe('in CUBIC', () => {
    const SEG = 1000;
    // The queue starts to build for what is sent from 150 ms on: 50 ms RTT becomes 70 ms.
    const rising = (sentAt: number) => (sentAt < 150 ? 50 : 70);

    it('leaves slow start through CSS when the RTT rises, without a loss', () => {
      const cc = createCongestionControl('cubic', SEG);
      const growth = new Set<number>();
      let exitedAt: number | undefined;
      ackClock(cc, SEG, rising, 2000, (now, before) => {
        if (cc.inSlowStart) growth.add(cc.cwnd - before);
        else exitedAt ??= now;
      });
      expect(growth).toEqual(new Set([SEG, SEG / 4])); // standard, then conservative
      expect(cc.inSlowStart).toBe(false);
      expect(cc.ssthresh).toBeLessThan(Infinity);
      // Six rounds of 50 ms, the rise seen in round 4, five rounds of CSS: out by ~500 ms.
      expect(exitedAt).toBeGreaterThan(400);
      expect(exitedAt).toBeLessThan(600);
    });

    it('stays in slow start when the RTT is steady', () => {
      const cc = createCongestionControl('cubic', SEG);
      ackClock(cc, SEG, () => 50, 350);
      expect(cc.inSlowStart).toBe(true);
      expect(cc.ssthresh).toBe(Infinity);
      expect(cc.cwnd).toBe(10 * SEG * 2 ** 7);
    });

    it('is standard slow start with HyStart++ turned off', () => {
      const cc = createCongestionControl('cubic', SEG, { hystart: false });
      ackClock(cc, SEG, rising, 400);
      expect(cc.ssthresh).toBe(Infinity);
    });
  });
});
