'use strict';
/**
 * The connection part of `npm run bench`: two of the project's target numbers, "tens of
 * thousands of short connections per second" and "10,000 concurrent connections on one
 * stack", each beside the same Node program on the kernel's sockets, measured in the same
 * lab. As in http-runs.js, the stack's side runs in the lab's switch namespace (TAP) under
 * `--require pytcp/register`, the kernel's sides in the client and peer namespaces, so every
 * path crosses the lab's bridge once.
 *   - short connections: open, one byte each way, the server ends first, the client closes;
 *     C in flight; stack client → kernel server, kernel client → stack server, and the
 *     reference kernel client → kernel server;
 *   - concurrency: N connections opened and held, one round trip on each, all closed; the
 *     stack as the server and as the client, beside kernel → kernel.
 * The programs are conn-bench-server.js and conn-bench-client.js.
 *
 * The server ends the short connections first so that TIME-WAIT (RFC 9293 §3.6, 2 MSL) is
 * held by the server, keyed by the client's port: the client's ephemeral ports (the stack has
 * 16,384) are free again at once, and MAX_SHORT bounds every run below what one range holds.
 */
const path = require('node:path');
const { listening, lastJson } = require('./http-runs.js');

const SERVER = path.join(__dirname, 'conn-bench-server.js');
const CLIENT = path.join(__dirname, 'conn-bench-client.js');
const REGISTER = path.join(__dirname, '..', '..', 'dist', 'shim', 'register.js');
const PORT = 8081;
const SHORT_SECONDS = 3;
const WARM_SECONDS = 1;
/** Connections in flight: one at a time (the latency of one), and enough to fill the path. */
const IN_FLIGHT = [1, 50];
/** Per run, warm-up included: below the stack's 16,384 ephemeral ports and the kernel's 28,232. */
const MAX_SHORT = 12_000;
/** The target; fewer when the kernel processes may not open that many descriptors. */
const HOLD_TARGET = 10_000;
/** Connections in the handshake at a time while opening: under the server's listen backlog (1024), so its accept queue never overflows. */
const OPENING = 500;
/** What the client counts apart as slow (conn-bench-client.js SLOW_US): a retransmission timeout was waited out. */
const SLOW_MS = 500;
/** Bounds each of the three phases of a hold run. */
const PHASE_SECONDS = 30;
/** Descriptors a Node process holds besides its connections (stdio, libuv, the listener). */
const SPARE_FDS = 100;
/** Bounds any one client's life: a hold run's three phases, a short run's two runs, and start-up. */
const CLIENT_TIMEOUT_MS = 120_000;

/**
 * @typedef {{ inFlight: number; count: number; seconds: number; perSecond: number; p50Us: number; p99Us: number; slow: number; total: number; errors: number; firstError?: string }} ShortFigures
 * @typedef {{ n: number; opening: number; opened: number; openSeconds: number; answered: number; roundTripSeconds: number; closed: number; closeSeconds: number; dropped: number; errors: number; firstError?: string; timedOut?: string }} HoldFigures
 * @typedef {HoldFigures | { failed: string }} HoldRow
 * @typedef {{ stackClient: ShortFigures[]; stackServer: ShortFigures[]; kernel: ShortFigures[]; holdStackServer: HoldRow; holdStackClient: HoldRow; holdKernel: HoldRow; holdN: number; fdLimit: string; stackServerNote?: string }} ConnFigures
 */

/**
 * The hard RLIMIT_NOFILE the lab's processes get (Node raises its soft limit to it at start).
 * @param {import('../lab/lab.js').Lab} lab @param {string} ns
 */
async function fdLimit(lab, ns) {
  const result = await lab.exec(ns, ['sh', '-c', 'ulimit -Hn']);
  return result.stdout.trim();
}

/**
 * @param {import('../lab/lab.js').Lab} lab
 * @param {import('../lab/lab.js').KernelPeer} client the kernel host every kernel client runs on
 * @param {{ stackIp: string; cpu: number | undefined }} opts
 * @returns {Promise<ConnFigures>}
 */
async function measureConn(lab, client, opts) {
  const pin = opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)];
  const stackEnv = { PYTCP_IPV4: `${opts.stackIp}/${lab.prefixLen}`, PYTCP_IPV6: 'off' };
  const limit = await fdLimit(lab, client.ns);
  const holdN = limit === 'unlimited' ? HOLD_TARGET : Math.min(HOLD_TARGET, Number(limit) - SPARE_FDS);
  const shortArgs = (/** @type {string} */ host) => ['short', host, String(PORT), String(SHORT_SECONDS), String(WARM_SECONDS), String(MAX_SHORT), IN_FLIGHT.join(',')];
  const holdArgs = (/** @type {string} */ host) => ['hold', host, String(PORT), String(holdN), String(OPENING), String(PHASE_SECONDS)];

  /** The client program under the preload, to its end. @param {string[]} args */
  const stackClient = async (args) => {
    // Its life is bounded by timeoutMs: the lab kills it then, and `exited` resolves.
    const app = lab.startApp(CLIENT, args, { env: stackEnv, cpu: opts.cpu, nodeArgs: ['--require', REGISTER], timeoutMs: CLIENT_TIMEOUT_MS });
    const { code } = await app.exited;
    if (code !== 0) throw new Error(`conn-bench-client.js ${args[0]} on the stack failed (exit ${code})\n${app.describe()}`);
    return lastJson(app.stdout, `conn-bench-client.js ${args.join(' ')} on the stack`);
  };
  /** The same program on the kernel, in the client namespace. @param {string[]} args */
  const kernelClient = async (args) => {
    const result = await lab.exec(client.ns, [...pin, process.execPath, CLIENT, ...args], { timeoutMs: CLIENT_TIMEOUT_MS });
    if (result.code !== 0) throw new Error(`conn-bench-client.js ${args.join(' ')} in ${client.ns} failed (exit ${result.code})\n${result.stderr}`);
    return lastJson(result.stdout, `conn-bench-client.js ${args.join(' ')} in ${client.ns}`);
  };
  /** A hold run may fail on either side: the row says why instead of ending the bench. @param {() => Promise<HoldFigures>} run @returns {Promise<HoldRow>} */
  const holdRow = async (run) => {
    try {
      return await run();
    } catch (err) {
      return { failed: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
    }
  };

  // The kernel server in the peer namespace, for the stack's client and the reference runs.
  const kernelServer = lab.spawn(lab.peerNs, [...pin, process.execPath, SERVER, String(PORT)], { timeoutMs: 10 * CLIENT_TIMEOUT_MS });
  /** @type {{ stackClient: ShortFigures[]; kernel: ShortFigures[]; holdKernel: HoldRow; holdStackClient: HoldRow }} */
  let toKernel;
  try {
    await listening(kernelServer, `conn-bench-server.js in ${lab.peerNs}`);
    // Holds first: the short runs leave thousands of the server's TIME-WAITs behind, which a
    // client reusing a port within 60 s meets; a hold run's client ends first and keeps its own.
    const holdKernel = await holdRow(() => kernelClient(holdArgs(lab.peerIpv4)));
    const holdStackClient = await holdRow(() => stackClient(holdArgs(lab.peerIpv4)));
    const kernel = (await kernelClient(shortArgs(lab.peerIpv4))).runs;
    const stackClientRuns = (await stackClient(shortArgs(lab.peerIpv4))).runs;
    toKernel = { stackClient: stackClientRuns, kernel, holdKernel, holdStackClient };
  } finally {
    kernelServer.kill();
  }

  // The reverse direction: the same server on the stack, the kernel client calling it.
  const stackServer = lab.startApp(SERVER, [String(PORT)], { env: stackEnv, cpu: opts.cpu, timeoutMs: 10 * CLIENT_TIMEOUT_MS });
  try {
    await stackServer.waitForLine(/^listening$/, 20_000, 'stdout');
    const holdStackServer = await holdRow(() => kernelClient(holdArgs(opts.stackIp)));
    const stackServerRuns = (await kernelClient(shortArgs(opts.stackIp))).runs;
    // A server that died under the load explains the client's errors: say so beside them.
    const stackServerNote = stackServer.hasExited ? `the stack's server exited during the runs:\n${stackServer.describe()}` : undefined;
    return { ...toKernel, stackServer: stackServerRuns, holdStackServer, holdN, fdLimit: limit, stackServerNote };
  } finally {
    if (!stackServer.hasExited) await stackServer.stop();
  }
}

/**
 * @param {ConnFigures} f
 * @param {{ stackIp: string; clientIp: string; peerIp: string; pinned: boolean; cpu: number }} where
 * @param {(line?: string) => void} say
 */
function printConn(f, where, say) {
  const num = (/** @type {number} */ n, digits = 0) => n.toFixed(digits).padStart(10);
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-').padStart(10);
  const label = (/** @type {string} */ text) => text.padEnd(40);
  const failures = (/** @type {{ errors: number; firstError?: string }} */ r) => (r.errors > 0 ? `${r.errors} (${r.firstError})` : '0');

  say(`\nShort connections: connect, 1 byte each way, the server ends first (TIME-WAIT on the server), the client reads to the end and closes; C connections in flight`);
  say(`${SHORT_SECONDS} s after ${WARM_SECONDS} s (or ${MAX_SHORT / 10} connections) uncounted, at most ${MAX_SHORT} connections per run; latency from connect() to close`);
  say('the same programs (test/bench/conn-bench-server.js, conn-bench-client.js): under --require pytcp/register (the stack) or plain (the kernel)');
  say(where.pinned ? `pinned: every process on CPU ${where.cpu} (taskset)` : 'not pinned (taskset not found)');
  say(`stack: pytcp ${where.stackIp} (TAP); kernel: client ${where.clientIp} and peer ${where.peerIp} (veth); all across the lab's bridge\n`);
  const head = IN_FLIGHT.map((c) => `${`conn/s C=${c}`.padStart(12)}${'p50 µs'.padStart(10)}${'p99 µs'.padStart(10)}`).join('  ');
  say(`${label('')}${head}   counted; over ${SLOW_MS} ms; errors`);
  /** @param {string} text @param {ShortFigures[]} runs */
  const row = (text, runs) => say(`${label(text)}${runs.map((r) => `${num(r.perSecond).padStart(12)}${num(r.p50Us)}${num(r.p99Us)}`).join('  ')}   ${runs.map((r) => `${r.count}; ${r.slow}; ${failures(r)}`).join(', ')}`);
  /** @param {string} text @param {ShortFigures[]} runs */
  const ratioRow = (text, runs) => say(`${label(text)}${runs.map((r, i) => `${ratio(r.perSecond, f.kernel[i].perSecond).padStart(12)}${ratio(r.p50Us, f.kernel[i].p50Us)}${ratio(r.p99Us, f.kernel[i].p99Us)}`).join('  ')}`);
  row('client on the stack → kernel server', f.stackClient);
  row('kernel client → server on the stack', f.stackServer);
  row('kernel client → kernel server', f.kernel);
  ratioRow('stack client / kernel', f.stackClient);
  ratioRow('stack server / kernel', f.stackServer);

  const reduced = f.holdN < HOLD_TARGET ? ` (not ${HOLD_TARGET}: a kernel process may open only ${f.fdLimit} descriptors here)` : '';
  say(`\nConcurrent connections: ${f.holdN} opened${reduced}, at most ${OPENING} in the handshake at a time, all held; then 1 byte each way on every one at once; then the client ends every one`);
  say(`seconds per phase (each bounded by ${PHASE_SECONDS} s); kernel processes may open ${f.fdLimit} descriptors (RLIMIT_NOFILE, hard), one per connection\n`);
  say(`${label('')}${'open s'.padStart(10)}${'1 RTT s'.padStart(10)}${'close s'.padStart(10)}${'opened'.padStart(9)}${'answered'.padStart(10)}${'closed'.padStart(9)}${'dropped'.padStart(9)}   errors`);
  /** @param {string} text @param {HoldRow} r */
  const holdRow = (text, r) => {
    if ('failed' in r) return say(`${label(text)}failed: ${r.failed}`);
    const timedOut = r.timedOut ? `; timed out in: ${r.timedOut}` : '';
    say(`${label(text)}${num(r.openSeconds, 3)}${num(r.roundTripSeconds, 3)}${num(r.closeSeconds, 3)}${String(r.opened).padStart(9)}${String(r.answered).padStart(10)}${String(r.closed).padStart(9)}${String(r.dropped).padStart(9)}   ${failures(r)}${timedOut}`);
  };
  /** @param {string} text @param {HoldRow} r */
  const holdRatio = (text, r) => {
    const k = f.holdKernel;
    if ('failed' in r || 'failed' in k) return;
    say(`${label(text)}${ratio(r.openSeconds, k.openSeconds)}${ratio(r.roundTripSeconds, k.roundTripSeconds)}${ratio(r.closeSeconds, k.closeSeconds)}`);
  };
  holdRow('kernel client → server on the stack', f.holdStackServer);
  holdRow('client on the stack → kernel server', f.holdStackClient);
  holdRow('kernel client → kernel server', f.holdKernel);
  holdRatio('stack server / kernel', f.holdStackServer);
  holdRatio('stack client / kernel', f.holdStackClient);
  if (f.stackServerNote) say(f.stackServerNote);
}

module.exports = { measureConn, printConn };
