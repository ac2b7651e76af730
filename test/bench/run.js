#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: ping round-trip time to the stack next to the same figure for a Linux
 * kernel, measured in one run over the same path; then UDP round trips to the echo
 * example run unmodified under `--require pytcp/register` (dgram over the stack) next to
 * the same program on Node's own dgram over the kernel. A second kernel namespace on the lab's
 * bridge pings both the stack (through bridge → TAP) and the kernel peer (through bridge →
 * veth), so both paths cross the bridge. Then TCP (tcp-runs.js): bulk throughput into and
 * out of the stack and 1-byte request/response rates, beside Node's net between two kernel
 * namespaces. Then HTTP (http-runs.js): keep-alive request rates and a 100 MB download with
 * Node's own http and fetch under `--require pytcp/register`, beside the same programs on the
 * kernel. Then connections (conn-runs.js): short connections per second and 10,000 held at
 * once, a plain net program on the stack beside the same program on the kernel. Everything
 * is pinned to one CPU when taskset exists: waking a process on the other CPU costs ~30 µs
 * here (LAB-NOTES), which would swamp the difference being measured.
 *
 *   node test/bench/run.js [--only PART[,PART...]] [--profile DIR]
 *   npm run bench -- --only http
 * --only runs just those parts: ping, udp, tcp, http, conn (default: all, ~2.5 min).
 * --profile DIR adds profiled runs of the stack's process with `node --cpu-prof` (tcp: one
 * bulk run each way; http: one keep-alive request-rate run of the client on the stack),
 * profiles under DIR, not counted in the figures, and prints the top functions by self time.
 *
 * It reports; it never fails on a time. Exit 1 only when the lab or the stack cannot run.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { createLab, prerequisiteProblems } = require('../lab/lab.js');
const { measureTcp, printTcp } = require('./tcp-runs.js');
const { measureHttp, printHttp } = require('./http-runs.js');
const { measureConn, printConn } = require('./conn-runs.js');

const COUNT = 200;
const INTERVAL_S = '0.01';
const WARMUP = 5;
const CPU = 0;
const UDP_COUNT = 2000;
const UDP_SIZE = 64;
const UDP_PORT = 7;
const ECHO = path.join(__dirname, '..', '..', 'examples', 'udp-echo-server.js');
const UDP_CLIENT = path.join(__dirname, 'udp-rtt-client.js');

/**
 * @typedef {{ sent: number; received: number; min: number; avg: number; max: number; mdev: number }} PingStats
 */

/**
 * @param {string} output the summary of `ping -q`
 * @returns {PingStats | undefined}
 */
function parsePing(output) {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output);
  if (!counts || !rtt) return undefined;
  const [min, avg, max, mdev] = rtt.slice(1).map(Number);
  return { sent: Number(counts[1]), received: Number(counts[2]), min, avg, max, mdev };
}

function tasksetWorks() {
  return spawnSync('taskset', ['-c', String(CPU), 'true'], { timeout: 5_000 }).status === 0;
}

/** @param {string} text */
function say(text = '') {
  process.stdout.write(text + '\n');
}

const PARTS = ['ping', 'udp', 'tcp', 'http', 'conn'];

/** @returns {{ parts: Set<string>; profileDir?: string }} */
function parseArgs(argv = process.argv.slice(2)) {
  const usage = () => new Error(`usage: node test/bench/run.js [--only PART[,PART...]] [--profile DIR]; parts: ${PARTS.join(', ')}`);
  /** @type {{ parts: Set<string>; profileDir?: string }} */
  const parsed = { parts: new Set(PARTS) };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw usage();
    if (argv[i] === '--profile') parsed.profileDir = path.resolve(value);
    else if (argv[i] === '--only') {
      parsed.parts = new Set(value.split(','));
      if ([...parsed.parts].some((p) => !PARTS.includes(p))) throw usage();
    } else throw usage();
  }
  return parsed;
}

const cell = (/** @type {number} */ n) => n.toFixed(3).padStart(9);
const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${(a / b).toFixed(1)}x` : '-').padStart(9);

/**
 * @typedef {{ lab: import('../lab/lab.js').Lab; client: import('../lab/lab.js').KernelPeer; stackIp: string; pinned: boolean; pin: string[] }} Setting
 * @typedef {{ min: number; avg: number; p50: number; p99: number; max: number; received: number; sent: number }} UdpStats
 */

/**
 * Ping to the stack (a `pytcp up` of its own) and to the kernel peer.
 * @param {Setting} s
 * @returns {Promise<{ toStack: PingStats; toKernel: PingStats }>}
 */
async function measurePing({ lab, client, stackIp, pinned, pin }) {
  say(`ping: starting the stack on ${lab.tap} (it probes ${stackIp} first, ~6 s)`);
  const stack = lab.startStack(['--ipv4', `${stackIp}/${lab.prefixLen}`], pinned ? { cpu: CPU } : {});
  const ready = await stack.waitForLine(/^pytcp: ipv4 .* (ready|not used)$/, 30_000, 'stdout');
  if (!ready.endsWith('ready')) throw new Error(`the stack could not use ${stackIp}: ${ready}`);
  /**
   * @param {string} target
   * @param {number} count
   */
  const ping = async (target, count) => {
    const argv = [...pin, 'ping', '-c', String(count), '-i', INTERVAL_S, '-W', '1', '-q', target];
    const result = await lab.exec(client.ns, argv, { timeoutMs: 10_000 + count * 100 });
    const stats = parsePing(result.stdout);
    if (!stats) throw new Error(`no statistics from ${argv.join(' ')}:\n${result.stdout}${result.stderr}`);
    return stats;
  };
  // ARP first, so no resolution delay lands in the measured pings.
  await ping(stackIp, WARMUP);
  await ping(lab.peerIpv4, WARMUP);
  const toStack = await ping(stackIp, COUNT);
  const toKernel = await ping(lab.peerIpv4, COUNT);
  await stack.stop();
  return { toStack, toKernel };
}

/**
 * UDP: the same Node echo program, over the stack (preload) and over the kernel (peer namespace).
 * @param {Setting} s
 * @returns {Promise<{ udpToStack: UdpStats; udpToKernel: UdpStats }>}
 */
async function measureUdp({ lab, client, stackIp, pinned, pin }) {
  const shimEcho = lab.startApp(ECHO, ['--port', String(UDP_PORT)], { env: { PYTCP_IPV4: `${stackIp}/${lab.prefixLen}`, PYTCP_IPV6: 'off' }, nodeArgs: ['--require', path.join(__dirname, '..', '..', 'dist', 'shim', 'register.js')], cpu: pinned ? CPU : undefined });
  await shimEcho.waitForLine(/listening/, 20_000, 'stdout');
  const kernelEcho = lab.spawn(lab.peerNs, [...pin, process.execPath, ECHO, '--port', String(UDP_PORT)]);
  /** @param {string} target */
  const udpRtt = async (target) => {
    const argv = [...pin, process.execPath, UDP_CLIENT, target, String(UDP_PORT), String(UDP_COUNT), String(UDP_SIZE)];
    const result = await lab.exec(client.ns, argv, { timeoutMs: 60_000 });
    const line = result.stdout.trim().split('\n').pop() ?? '';
    if (!line.startsWith('{')) throw new Error(`no figures from ${argv.join(' ')}:\n${result.stdout}${result.stderr}`);
    return JSON.parse(line);
  };
  await udpRtt(stackIp);
  await udpRtt(lab.peerIpv4);
  const udpToStack = await udpRtt(stackIp);
  const udpToKernel = await udpRtt(lab.peerIpv4);
  await shimEcho.stop();
  kernelEcho.kill();
  return { udpToStack, udpToKernel };
}

/** @param {Setting} s @param {{ toStack: PingStats; toKernel: PingStats }} f */
function printPing({ lab, client, stackIp, pinned }, { toStack, toKernel }) {
  say(`\nping RTT from a kernel host (${client.ipv4}, namespace ${client.ns}), ${COUNT} echo requests at ${Number(INTERVAL_S) * 1000} ms intervals, 56 bytes`);
  say(pinned
    ? `pinned: ping and the stack on CPU ${CPU} (taskset -c ${CPU}); the kernel peer answers in softirq on the same CPU`
    : 'not pinned (taskset not found, install util-linux): ping and the stack may run on different CPUs, so the stack pays cross-CPU wake-ups the kernel does not');
  say('both paths cross the same bridge: client veth → bridge → TAP → pytcp, and client veth → bridge → veth → kernel\n');
  say(`${'ms'.padEnd(30)}${'min'.padStart(9)}${'avg'.padStart(9)}${'max'.padStart(9)}${'mdev'.padStart(9)}   replies`);
  /** @param {string} label @param {PingStats} s */
  const row = (label, s) => say(`${label.padEnd(30)}${cell(s.min)}${cell(s.avg)}${cell(s.max)}${cell(s.mdev)}   ${s.received}/${s.sent}`);
  row(`pytcp stack   ${stackIp}`, toStack);
  row(`Linux kernel  ${lab.peerIpv4}`, toKernel);
  say(`${'stack / kernel'.padEnd(30)}${ratio(toStack.min, toKernel.min)}${ratio(toStack.avg, toKernel.avg)}${ratio(toStack.max, toKernel.max)}${ratio(toStack.mdev, toKernel.mdev)}`);
}

/** @param {Setting} s @param {{ udpToStack: UdpStats; udpToKernel: UdpStats }} f */
function printUdp({ lab, client, stackIp }, { udpToStack, udpToKernel }) {
  say(`\nUDP round trips from a Node client on the kernel (${client.ipv4}) to examples/udp-echo-server.js, ${UDP_COUNT} x ${UDP_SIZE} bytes, one at a time`);
  say('the same echo program: under --require pytcp/register (dgram over the stack) and on Node\'s own dgram in the kernel peer\n');
  say(`${'ms'.padEnd(30)}${'min'.padStart(9)}${'avg'.padStart(9)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}   replies`);
  /** @param {string} label @param {UdpStats} s */
  const udpRow = (label, s) => say(`${label.padEnd(30)}${cell(s.min)}${cell(s.avg)}${cell(s.p50)}${cell(s.p99)}${cell(s.max)}   ${s.received}/${s.sent}`);
  udpRow(`pytcp shim    ${stackIp}`, udpToStack);
  udpRow(`Node, kernel  ${lab.peerIpv4}`, udpToKernel);
  say(`${'shim / kernel'.padEnd(30)}${ratio(udpToStack.min, udpToKernel.min)}${ratio(udpToStack.avg, udpToKernel.avg)}${ratio(udpToStack.p50, udpToKernel.p50)}${ratio(udpToStack.p99, udpToKernel.p99)}${ratio(udpToStack.max, udpToKernel.max)}`);
}

async function bench() {
  const { parts, profileDir } = parseArgs();
  const problems = prerequisiteProblems(parts.has('ping') ? ['ping'] : []);
  if (problems.length > 0) throw new Error(problems.join('\n  '));
  const pinned = tasksetWorks();
  const pin = pinned ? ['taskset', '-c', String(CPU)] : [];
  const cpu = pinned ? CPU : undefined;

  const lab = await createLab({ name: 'bench' });
  const onSignal = () => lab.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const client = await lab.addKernelPeer();
    const stackIp = lab.stackIpv4(0);
    /** @type {Setting} */
    const setting = { lab, client, stackIp, pinned, pin };
    const where = { stackIp, clientIp: client.ipv4, peerIp: lab.peerIpv4, pinned, cpu: CPU };
    say(`pytcp bench: lab up; parts: ${[...parts].join(', ')}`);
    const ping = parts.has('ping') ? await measurePing(setting) : undefined;
    if (parts.has('udp')) say('UDP: round trips to an echo server, shim vs kernel (~5 s)');
    const udp = parts.has('udp') ? await measureUdp(setting) : undefined;
    if (parts.has('tcp')) say(`TCP: bulk both ways and request/response, stack vs kernel (~${profileDir ? 50 : 35} s)`);
    const tcp = parts.has('tcp') ? await measureTcp(lab, client, { stackIp, cpu, profileDir }) : undefined;
    if (parts.has('http')) say(`HTTP: keep-alive request rates both ways and a 100 MB download, stack vs kernel (~${profileDir ? 35 : 30} s)`);
    const http = parts.has('http') ? await measureHttp(lab, client, { stackIp, cpu, profileDir }) : undefined;
    if (parts.has('conn')) say('connections: short connections per second and 10,000 held at once, stack vs kernel (~1 min)');
    const conn = parts.has('conn') ? await measureConn(lab, client, { stackIp, cpu }) : undefined;

    if (ping) printPing(setting, ping);
    if (udp) printUdp(setting, udp);
    if (tcp) printTcp(tcp, where, say);
    if (http) printHttp(http, where, say);
    if (conn) printConn(conn, where, say);
  } finally {
    await lab.destroy();
  }
}

bench().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`pytcp bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
