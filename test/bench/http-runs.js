'use strict';
/**
 * The HTTP part of `npm run bench` (issue 7): Node's own http and fetch, unmodified, under
 * `--require pytcp/register` (net over the stack) beside the same programs on the kernel,
 * measured in the same lab. The stack's side runs in the lab's switch namespace (TAP), the
 * kernel's sides in the client and peer namespaces, so every path crosses the lab's bridge
 * once: stack client → kernel server (peer), kernel client → stack server, and the reference
 * kernel client → kernel server (client → peer).
 *   - keep-alive request rate: small GETs over http.Agent({ keepAlive: true, maxSockets: N }),
 *     N requests in flight, both directions;
 *   - a 100 MB download from a kernel server, with http.get and with the global fetch.
 * The programs are http-bench-server.js and http-bench-client.js.
 */
const fs = require('node:fs');
const path = require('node:path');
const { formatTop, topSelfTime } = require('./cpu-profile-top.js');

const SERVER = path.join(__dirname, 'http-bench-server.js');
const CLIENT = path.join(__dirname, 'http-bench-client.js');
const REGISTER = path.join(__dirname, '..', '..', 'dist', 'shim', 'register.js');
const PORT = 8080;
const RPS_SECONDS = 3;
/** Each rate run first spends this long uncounted, so the JIT has compiled the path and the connections are open. */
const WARM_SECONDS = 1;
/** Requests in flight (the agent's maxSockets): one at a time, and a small pool. */
const SOCKETS = [1, 8];
const DOWNLOAD_BYTES = 100_000_000;
const PROFILE_SECONDS = 3;
const PROFILE_SOCKETS = 1;
const TOP_FUNCTIONS = 10;
/** Bounds any one client's life: the slowest run here takes well under a minute. */
const CLIENT_TIMEOUT_MS = 120_000;

/**
 * @typedef {{ sockets: number; count: number; seconds: number; perSecond: number; p50Us: number; p99Us: number; connections: number; total: number }} RpsFigures
 * @typedef {{ bytes: number; seconds: number; mbPerSecond: number }} DownloadFigures
 * @typedef {{ get: DownloadFigures; fetch: DownloadFigures }} Downloads
 * @typedef {{ stackClient: RpsFigures[]; stackServer: RpsFigures[]; kernel: RpsFigures[]; stackDownload: Downloads; kernelDownload: Downloads; profile?: { file: string; requests: number } }} HttpFigures
 */

/**
 * The one JSON line a client prints last.
 * @param {string} stdout @param {string} what for the error message
 */
function lastJson(stdout, what) {
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`no figures from ${what}:\n${stdout}`);
  return JSON.parse(line);
}

/**
 * Resolves once a server spawned in a kernel namespace prints `listening`.
 * @param {import('node:child_process').ChildProcess} child @param {string} label
 * @returns {Promise<void>}
 */
function listening(child, label) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const settle = (/** @type {Error | undefined} */ failure) => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.off('close', onClose);
      if (failure) reject(failure);
      else resolve();
    };
    const onOut = (/** @type {string} */ chunk) => {
      out += chunk;
      if (/^listening$/m.test(out)) settle(undefined);
    };
    const onClose = () => settle(new Error(`${label} exited before listening\n${err.trim()}`));
    const timer = setTimeout(() => settle(new Error(`${label}: not listening within 20 s\n${err.trim()}`)), 20_000);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (/** @type {string} */ chunk) => {
      err += chunk;
    });
    child.stdout?.on('data', onOut);
    child.once('close', onClose);
  });
}

/**
 * @param {import('../lab/lab.js').Lab} lab
 * @param {import('../lab/lab.js').KernelPeer} client the kernel host every kernel client runs on
 * @param {{ stackIp: string; cpu: number | undefined; profileDir?: string }} opts
 * @returns {Promise<HttpFigures>}
 */
async function measureHttp(lab, client, opts) {
  const pin = opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)];
  const stackEnv = { PYTCP_IPV4: `${opts.stackIp}/${lab.prefixLen}`, PYTCP_IPV6: 'off' };
  const rpsArgs = (/** @type {string} */ host, seconds = RPS_SECONDS, sockets = SOCKETS) => ['rps', `http://${host}:${PORT}/`, String(seconds), String(WARM_SECONDS), sockets.join(',')];
  const downloadUrl = `http://${lab.peerIpv4}:${PORT}/bytes/${DOWNLOAD_BYTES}`;

  /** The client program under the preload, to its end. @param {string[]} args @param {string[]} [nodeArgs] */
  const stackClient = async (args, nodeArgs = []) => {
    const app = lab.startApp(CLIENT, args, { env: stackEnv, cpu: opts.cpu, nodeArgs: ['--require', REGISTER, ...nodeArgs], timeoutMs: CLIENT_TIMEOUT_MS });
    const { code } = await app.exited;
    if (code !== 0) throw new Error(`http-bench-client.js ${args[0]} on the stack failed (exit ${code})\n${app.describe()}`);
    return lastJson(app.stdout, `http-bench-client.js ${args.join(' ')} on the stack`);
  };
  /** The same program on the kernel, in the client namespace. @param {string[]} args */
  const kernelClient = async (args) => {
    const result = await lab.exec(client.ns, [...pin, process.execPath, CLIENT, ...args], { timeoutMs: CLIENT_TIMEOUT_MS });
    if (result.code !== 0) throw new Error(`http-bench-client.js ${args.join(' ')} in ${client.ns} failed (exit ${result.code})\n${result.stderr}`);
    return lastJson(result.stdout, `http-bench-client.js ${args.join(' ')} in ${client.ns}`);
  };

  // Every client talks to one kernel server in the peer namespace, except the reverse runs.
  const kernelServer = lab.spawn(lab.peerNs, [...pin, process.execPath, SERVER, String(PORT)]);
  await listening(kernelServer, `http-bench-server.js in ${lab.peerNs}`);
  const stackClientRps = (await stackClient(rpsArgs(lab.peerIpv4))).runs;
  const kernelRps = (await kernelClient(rpsArgs(lab.peerIpv4))).runs;
  // One process per download: each is a program's first request, as a one-off download is.
  const stackDownload = { get: await stackClient(['get', downloadUrl]), fetch: await stackClient(['fetch', downloadUrl]) };
  const kernelDownload = { get: await kernelClient(['get', downloadUrl]), fetch: await kernelClient(['fetch', downloadUrl]) };

  /** @type {{ file: string; requests: number } | undefined} */
  let profile;
  if (opts.profileDir) {
    // A profiled run of its own, so the profiler's cost lands in none of the figures above.
    const dir = path.join(opts.profileDir, 'http-keepalive-client');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const { runs } = await stackClient(rpsArgs(lab.peerIpv4, PROFILE_SECONDS, [PROFILE_SOCKETS]), ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`node --cpu-prof wrote no profile into ${dir}`);
    profile = { file: path.join(dir, file), requests: runs[0].total };
  }
  kernelServer.kill();

  // The reverse direction: the same server on the stack, the kernel client calling it.
  const stackServer = lab.startApp(SERVER, [String(PORT)], { env: stackEnv, cpu: opts.cpu });
  await stackServer.waitForLine(/^listening$/, 20_000, 'stdout');
  const stackServerRps = (await kernelClient(rpsArgs(opts.stackIp))).runs;
  await stackServer.stop();

  return { stackClient: stackClientRps, stackServer: stackServerRps, kernel: kernelRps, stackDownload, kernelDownload, profile };
}

/**
 * @param {HttpFigures} f
 * @param {{ stackIp: string; clientIp: string; peerIp: string; pinned: boolean; cpu: number }} where
 * @param {(line?: string) => void} say
 */
function printHttp(f, where, say) {
  const num = (/** @type {number} */ n, digits = 0) => n.toFixed(digits).padStart(10);
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-').padStart(10);
  const label = (/** @type {string} */ text) => text.padEnd(40);
  say(`\nHTTP keep-alive request rate: GET of a 13-byte body, ${RPS_SECONDS} s after ${WARM_SECONDS} s uncounted; http.Agent({ keepAlive: true, maxSockets: N }) with N requests in flight`);
  say('the same programs (test/bench/http-bench-server.js, http-bench-client.js): under --require pytcp/register (the stack) or plain (the kernel)');
  say(where.pinned ? `pinned: every process on CPU ${where.cpu} (taskset)` : 'not pinned (taskset not found)');
  say(`stack: pytcp ${where.stackIp} (TAP); kernel: client ${where.clientIp} and peer ${where.peerIp} (veth); all across the lab's bridge\n`);
  const head = SOCKETS.map((n) => `${`req/s N=${n}`.padStart(10)}${'p50 µs'.padStart(10)}${'p99 µs'.padStart(10)}`).join('  ');
  say(`${label('')}${head}   connections`);
  /** @param {string} text @param {RpsFigures[]} runs */
  const row = (text, runs) => say(`${label(text)}${runs.map((r) => `${num(r.perSecond)}${num(r.p50Us)}${num(r.p99Us)}`).join('  ')}   ${runs.map((r) => r.connections).join(', ')}`);
  /** @param {string} text @param {RpsFigures[]} runs */
  const ratioRow = (text, runs) => say(`${label(text)}${runs.map((r, i) => `${ratio(r.perSecond, f.kernel[i].perSecond)}${ratio(r.p50Us, f.kernel[i].p50Us)}${ratio(r.p99Us, f.kernel[i].p99Us)}`).join('  ')}`);
  row(`client on the stack → kernel server`, f.stackClient);
  row(`kernel client → server on the stack`, f.stackServer);
  row(`kernel client → kernel server`, f.kernel);
  ratioRow('stack client / kernel', f.stackClient);
  ratioRow('stack server / kernel', f.stackServer);

  say(`\nHTTP download of ${DOWNLOAD_BYTES / 1e6} MB from a kernel http server (${where.peerIp}), timed from the request to the last byte, each the first request of a fresh process\n`);
  say(`${label('')}${'get MB/s'.padStart(10)}${'get s'.padStart(10)}  ${'fetch MB/s'.padStart(10)}${'fetch s'.padStart(10)}`);
  /** @param {string} text @param {Downloads} d */
  const downloadRow = (text, d) => say(`${label(text)}${num(d.get.mbPerSecond, 1)}${num(d.get.seconds, 3)}  ${num(d.fetch.mbPerSecond, 1)}${num(d.fetch.seconds, 3)}`);
  downloadRow('client on the stack', f.stackDownload);
  downloadRow('client on the kernel', f.kernelDownload);
  const s = f.stackDownload;
  const k = f.kernelDownload;
  say(`${label('stack / kernel')}${ratio(s.get.mbPerSecond, k.get.mbPerSecond)}${ratio(s.get.seconds, k.get.seconds)}  ${ratio(s.fetch.mbPerSecond, k.fetch.mbPerSecond)}${ratio(s.fetch.seconds, k.fetch.seconds)}`);

  if (f.profile) printProfile(f.profile, say);
}

/**
 * Where the busy time of the process goes, per request. Pinned to one CPU, the TAP write
 * (`flush`) also holds the time the woken kernel server runs before the client gets the CPU
 * back, as a kernel client's socket write does: it is mostly not the stack's own cost.
 * @param {{ file: string; requests: number }} profile @param {(line?: string) => void} say
 */
function printProfile({ file, requests }, say) {
  say(`\nCPU profile of the stack's http client, keep-alive GETs with maxSockets ${PROFILE_SOCKETS}, the whole process (${WARM_SECONDS} s warm-up, ${PROFILE_SECONDS} s measured, ${requests} requests); top ${TOP_FUNCTIONS} by self time`);
  for (const line of formatTop(file, TOP_FUNCTIONS)) say(line);
  const { top } = topSelfTime(JSON.parse(fs.readFileSync(file, 'utf8')), Infinity);
  /** @type {Map<string, number>} */
  const byPlace = new Map();
  for (const e of top) {
    const place = e.name === 'flush' && e.where.startsWith('dist/lib/phy/tuntap') ? 'TAP write (flush)' : e.where.startsWith('dist/lib/') ? 'pytcp lib' : e.where.startsWith('dist/shim/') ? 'pytcp shim' : e.where.startsWith('node:') ? 'Node internals' : 'other (GC, native, program)';
    byPlace.set(place, (byPlace.get(place) ?? 0) + e.selfMs);
  }
  const perRequest = [...byPlace].sort((a, b) => b[1] - a[1]).map(([place, ms]) => `${place} ${((ms * 1e3) / requests).toFixed(1)}`);
  say(`busy µs per request, by place: ${perRequest.join(', ')}`);
  say('(the TAP write also holds the time the kernel server runs on the same CPU before the client gets it back)');
}

module.exports = { measureHttp, printHttp, listening, lastJson };
