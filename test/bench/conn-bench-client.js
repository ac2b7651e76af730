'use strict';
/**
 * The client side of the connection part of `npm run bench`: plain Node net, run as it is on
 * the kernel or under `--require pytcp/register` on the stack, against conn-bench-server.js.
 *
 *   node conn-bench-client.js short HOST PORT SEC WARM MAX C[,C...]
 *   node conn-bench-client.js hold HOST PORT N OPENING PHASE_SEC
 *
 * short: for each C, C loops, each opening a connection, writing one byte, reading the
 * server's one-byte answer to the end (the server ends first) and opening the next once the
 * socket has closed; WARM seconds (or a tenth of MAX, if sooner) uncounted (JIT, ARP), then
 * SEC seconds, and never more than MAX connections in all, warm-up included, so a run cannot
 * use up the ephemeral ports. Latency is from
 * `net.connect()` to `close`; those over SLOW_US are also counted apart.
 * hold: opens N connections with at most OPENING in the handshake at a time, holds them all,
 * writes one byte on every one at once and waits for every answer, then ends every one and
 * waits for every `close`; each phase timed, and bounded by PHASE_SEC.
 *
 * Failures are counted, not fatal: the figures say how many and the first error. Prints one
 * JSON line and exits.
 */
const net = require('node:net');

const SHORT = Buffer.from('s');
const ECHO = Buffer.from('e');
/** One short connection that has not closed by then is counted as failed: bounds each wait. */
const SHORT_TIMEOUT_MS = 5_000;
/** Connections slower than this waited out a retransmission timeout (RFC 6298 §2.1: 1 s at first): counted apart. */
const SLOW_US = 500_000;
/** The warm-up ends after WARM seconds or this share of MAX, whichever comes first, so MAX leaves most to the measured part. */
const WARM_SHARE = 0.1;

const nowNs = () => process.hrtime.bigint();
const ns = (/** @type {number} */ sec) => BigInt(Math.round(sec * 1e9));
const since = (/** @type {bigint} */ t) => Number(nowNs() - t) / 1e9;

/** Counts failures and keeps the first one's message. */
class Failures {
  count = 0;
  /** @type {string | undefined} */
  first;
  /** @param {Error & { code?: string }} err */
  add(err) {
    this.count++;
    this.first ??= err.code ?? err.message;
  }
}

/**
 * @typedef {{ inFlight: number; count: number; seconds: number; perSecond: number; p50Us: number; p99Us: number; slow: number; total: number; errors: number; firstError?: string }} ShortFigures
 * @param {string} host @param {number} port @param {number} seconds @param {number} warm @param {number} max @param {number} inFlight
 * @returns {Promise<ShortFigures>}
 */
function shortConnections(host, port, seconds, warm, max, inFlight) {
  return new Promise((resolve) => {
    const latencies = new Float64Array(max);
    const failures = new Failures();
    let count = 0;
    let total = 0;
    const warmUntil = nowNs() + ns(warm);
    const warmMax = Math.floor(max * WARM_SHARE);
    /** @type {bigint | undefined} set when the warm-up ends; only connections opened after it count */
    let start;
    let end = 0n;
    let lastEnd = 0n;
    let looping = inFlight;
    const finish = () => {
      const elapsed = start === undefined ? 0 : Number(lastEnd - start) / 1e9;
      const sorted = latencies.subarray(0, count).sort();
      const at = (/** @type {number} */ q) => (count > 0 ? sorted[Math.min(count - 1, Math.floor(q * count))] : 0);
      const firstSlow = sorted.findIndex((us) => us >= SLOW_US);
      const slow = firstSlow < 0 ? 0 : count - firstSlow;
      resolve({ inFlight, count, seconds: elapsed, perSecond: elapsed > 0 ? count / elapsed : 0, p50Us: at(0.5), p99Us: at(0.99), slow, total, errors: failures.count, firstError: failures.first });
    };
    const loop = () => {
      const openedAt = nowNs();
      if (start === undefined && (openedAt >= warmUntil || total >= warmMax)) {
        start = openedAt;
        end = start + ns(seconds);
        lastEnd = start;
      }
      if (total >= max || (start !== undefined && openedAt >= end)) {
        if (--looping === 0) finish();
        return;
      }
      total++;
      const counted = start !== undefined;
      let answered = 0;
      let failed = false;
      const socket = net.connect({ host, port, noDelay: true });
      socket.setTimeout(SHORT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('no close within 5 s'), { code: 'TIMEOUT' })));
      socket.once('connect', () => socket.write(SHORT));
      socket.on('data', (/** @type {Buffer} */ chunk) => {
        answered += chunk.length;
      });
      socket.once('error', (err) => {
        failed = true;
        failures.add(err);
      });
      socket.once('close', () => {
        const t = nowNs();
        if (!failed && answered !== 1) failures.add(new Error(`${answered} bytes answered, not 1`));
        else if (!failed && counted) {
          latencies[count++] = Number(t - openedAt) / 1e3;
          if (t > lastEnd) lastEnd = t;
        }
        loop();
      });
    };
    for (let i = 0; i < inFlight; i++) loop();
  });
}

/**
 * Resolves when `done()` says so or after `seconds`, whichever is first; `poke` is what the
 * events call after each step.
 * @param {number} seconds @param {() => boolean} done
 * @returns {{ finished: Promise<boolean>; poke: () => void }}
 */
function phase(seconds, done) {
  /** @type {(ok: boolean) => void} */
  let settle = () => {};
  const finished = new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), seconds * 1000);
    settle = (ok) => {
      clearTimeout(timer);
      resolve(ok);
    };
  });
  return { finished, poke: () => done() && settle(true) };
}

/**
 * @typedef {{ n: number; opening: number; opened: number; openSeconds: number; answered: number; roundTripSeconds: number; closed: number; closeSeconds: number; dropped: number; errors: number; firstError?: string; timedOut?: string }} HoldFigures
 * @param {string} host @param {number} port @param {number} n @param {number} opening @param {number} phaseSeconds
 * @returns {Promise<HoldFigures>}
 */
async function hold(host, port, n, opening, phaseSeconds) {
  const failures = new Failures();
  /** @type {net.Socket[]} */
  const open = [];
  let attempted = 0;
  let settledOpen = 0;
  let answered = 0;
  let closed = 0;
  /** Connections that closed before the close phase: the other end (or the stack) dropped them. */
  let dropped = 0;
  let closing = false;
  /** @type {string | undefined} */
  let timedOut;

  let t = nowNs();
  const opened = phase(phaseSeconds, () => settledOpen === n);
  const answers = phase(phaseSeconds, () => answered >= open.length - dropped);
  const closes = phase(phaseSeconds, () => closed === open.length);
  const next = () => {
    if (attempted >= n) return;
    attempted++;
    const socket = net.connect({ host, port, noDelay: true });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      open.push(socket);
      settledOpen++;
      opened.poke();
      next();
    });
    socket.on('data', (/** @type {Buffer} */ chunk) => {
      answered += chunk.length;
      answers.poke();
    });
    socket.on('error', (err) => failures.add(err));
    socket.once('close', () => {
      if (!connected) {
        settledOpen++;
        opened.poke();
        return next();
      }
      if (closing) {
        closed++;
        closes.poke();
      } else {
        dropped++;
        answers.poke();
      }
    });
  };
  for (let i = 0; i < opening; i++) next();
  if (!(await opened.finished)) timedOut = 'open';
  const openSeconds = since(t);

  t = nowNs();
  for (const socket of open) socket.write(ECHO);
  answers.poke();
  if (!(await answers.finished)) timedOut ??= 'round trips';
  const roundTripSeconds = since(t);

  t = nowNs();
  closing = true;
  // The ones dropped earlier have closed already: count them as closed, so `closes` can end.
  closed = dropped;
  for (const socket of open) socket.end();
  closes.poke();
  if (!(await closes.finished)) timedOut ??= 'close';
  const closeSeconds = since(t);
  for (const socket of open) socket.destroy();
  return { n, opening, opened: open.length, openSeconds, answered, roundTripSeconds, closed, closeSeconds, dropped, errors: failures.count, firstError: failures.first, timedOut };
}

async function main() {
  const [mode, host, portText, ...rest] = process.argv.slice(2);
  const port = Number(portText);
  if (mode === 'short' && rest.length === 4) {
    const [seconds, warm, max] = rest.slice(0, 3).map(Number);
    const runs = [];
    for (const c of rest[3].split(',').map(Number)) runs.push(await shortConnections(host, port, seconds, warm, max, c));
    return { mode, runs };
  }
  if (mode === 'hold' && rest.length === 3) {
    const [n, opening, phaseSeconds] = rest.map(Number);
    return { mode, ...(await hold(host, port, n, opening, phaseSeconds)) };
  }
  throw new Error('usage: conn-bench-client.js short HOST PORT SEC WARM MAX C[,C...] | hold HOST PORT N OPENING PHASE_SEC');
}

main().then(
  (figures) => {
    process.stdout.write(JSON.stringify(figures) + '\n');
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`conn-bench-client: ${err.message}\n`);
    process.exit(1);
  },
);
