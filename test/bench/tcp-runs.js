'use strict';
/**
 * The TCP part of `npm run bench`: bulk throughput into and out of the stack, and 1-byte
 * request/response round trips to a server on the stack, each beside the same figure for
 * Node's own sockets between two kernel namespaces, measured in the same lab and run with
 * the same program (tcp-bench.js) on both. The stack's side runs under
 * `--require pytcp/register` in the lab's switch namespace (TAP), the kernel's sides in the
 * client and peer namespaces; every path crosses the lab's bridge once.
 */
const fs = require('node:fs');
const path = require('node:path');
const { formatTop } = require('./cpu-profile-top.js');

const PROGRAM = path.join(__dirname, 'tcp-bench.js');
const REGISTER = path.join(__dirname, '..', '..', 'dist', 'shim', 'register.js');
const BULK_SECONDS = 5;
const RR_SECONDS = 3;
/** Every client spends this long first on the same code, uncounted, so the JIT has compiled it. */
const WARM_SECONDS = 1;
const PROFILE_SECONDS = 3;
const SINK_PORT = 5001;
const ECHO_PORT = 5007;
const TOP_FUNCTIONS = 10;

/**
 * @typedef {{ rxFrames: number; rxBatches: number; txFrames: number; txBatches: number }} DeviceCounts
 * @typedef {{ bytes: number; seconds: number; mbPerSecond: number; device?: DeviceCounts }} SinkFigures
 * @typedef {{ count: number; seconds: number; perSecond: number; p50Us: number; p99Us: number }} RrFigures
 * @typedef {{ stackIn: SinkFigures; stackOut: SinkFigures; kernelIn: SinkFigures; kernelOut: SinkFigures; stackRr: RrFigures; kernelRr: RrFigures; profiles: string[] }} TcpFigures
 */

/**
 * The lines a child prints, read in order: next() resolves with the next one that matches.
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} label for error messages
 */
function lineReader(child, label) {
  /** @type {string[]} */
  const lines = [];
  let partial = '';
  let stderr = '';
  let cursor = 0;
  let exited = false;
  /** @type {Set<() => void>} */
  const waiters = new Set();
  const wake = () => waiters.forEach((w) => w());
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (/** @type {string} */ chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = /** @type {string} */ (parts.pop());
    lines.push(...parts);
    wake();
  });
  child.stderr?.on('data', (/** @type {string} */ chunk) => {
    stderr += chunk;
  });
  child.once('close', () => {
    exited = true;
    wake();
  });
  return {
    /**
     * @param {RegExp} pattern
     * @param {number} timeoutMs
     * @returns {Promise<string>}
     */
    next(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const settle = (/** @type {() => void} */ how) => {
          clearTimeout(timer);
          waiters.delete(check);
          how();
        };
        const check = () => {
          for (; cursor < lines.length; cursor++) {
            if (pattern.test(lines[cursor])) {
              const line = lines[cursor++];
              return settle(() => resolve(line));
            }
          }
          if (exited) settle(() => reject(new Error(`${label} exited before printing ${pattern}\n${stderr.trim().split('\n').slice(-10).join('\n')}`)));
        };
        const timer = setTimeout(() => settle(() => reject(new Error(`${label}: no ${pattern} within ${timeoutMs} ms\n${stderr.trim()}`))), timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** @param {string} line */
const figures = (line) => JSON.parse(line);

/**
 * @param {import('../lab/lab.js').Lab} lab
 * @param {import('../lab/lab.js').KernelPeer} client the kernel host every run talks to or from
 * @param {{ stackIp: string; cpu: number | undefined; profileDir?: string }} opts
 * @returns {Promise<TcpFigures>}
 */
async function measureTcp(lab, client, opts) {
  const pin = opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)];
  const stackEnv = { PYTCP_IPV4: `${opts.stackIp}/${lab.prefixLen}`, PYTCP_IPV6: 'off' };
  const bulkTimeoutMs = (WARM_SECONDS + BULK_SECONDS) * 1000 + 60_000;

  /** @param {string[]} args @param {string[]} [nodeArgs] */
  const onStack = (args, nodeArgs = []) => {
    const app = lab.startApp(PROGRAM, ['--stack', ...args], { env: stackEnv, cpu: opts.cpu, nodeArgs: ['--require', REGISTER, ...nodeArgs] });
    return { app, out: lineReader(app.child, `tcp-bench.js --stack ${args[0]}`) };
  };
  /** @param {string} ns @param {string[]} args */
  const inKernel = (ns, args) => {
    const child = lab.spawn(ns, [...pin, process.execPath, PROGRAM, ...args]);
    return { child, out: lineReader(child, `tcp-bench.js ${args[0]} in ${ns}`) };
  };
  /** A client in a kernel namespace, to its end. @param {string} ns @param {string[]} args */
  const kernelClient = async (ns, args) => {
    const result = await lab.exec(ns, [...pin, process.execPath, PROGRAM, ...args], { timeoutMs: bulkTimeoutMs });
    const line = result.stdout.trim().split('\n').pop() ?? '';
    if (!line.startsWith('{')) throw new Error(`no figures from tcp-bench.js ${args.join(' ')} in ${ns}:\n${result.stdout}${result.stderr}`);
    return figures(line);
  };
  /** The sink's figures for the measured (second) connection, checked against what the source sent. */
  const measuredSink = async (/** @type {ReturnType<typeof lineReader>} */ out, /** @type {{ bytes: number }} */ sent) => {
    await out.next(/^\{/, bulkTimeoutMs);
    const got = figures(await out.next(/^\{/, 10_000));
    if (got.bytes !== sent.bytes) throw new Error(`the sink counted ${got.bytes} bytes, the source sent ${sent.bytes}`);
    return got;
  };
  const sourceArgs = (/** @type {string} */ host, seconds = BULK_SECONDS) => ['source', host, String(SINK_PORT), String(seconds), String(WARM_SECONDS)];

  // Kernel → stack: a kernel source into a sink on the stack.
  const stackSink = onStack(['sink', String(SINK_PORT)]);
  await stackSink.out.next(/^listening$/, 20_000);
  const stackIn = await measuredSink(stackSink.out, await kernelClient(client.ns, sourceArgs(opts.stackIp)));
  await stackSink.app.stop();

  // Stack → kernel: a source on the stack into a kernel sink.
  const clientSink = inKernel(client.ns, ['sink', String(SINK_PORT)]);
  await clientSink.out.next(/^listening$/, 20_000);
  const stackSource = onStack(sourceArgs(client.ipv4));
  const sent = figures(await stackSource.out.next(/^\{/, bulkTimeoutMs));
  // The sink's timing, the stack's device counts (only the stack's side has them).
  const stackOut = { ...(await measuredSink(clientSink.out, sent)), device: sent.device };

  // The reference: Node's net on both ends, client namespace ↔ peer namespace, both ways.
  const peerSink = inKernel(lab.peerNs, ['sink', String(SINK_PORT)]);
  await peerSink.out.next(/^listening$/, 20_000);
  const kernelIn = await measuredSink(peerSink.out, await kernelClient(client.ns, sourceArgs(lab.peerIpv4)));
  const kernelOut = await measuredSink(clientSink.out, await kernelClient(lab.peerNs, sourceArgs(client.ipv4)));
  peerSink.child.kill();

  // Request/response: the client in the kernel, the echo server on the stack or in the peer.
  const rrArgs = (/** @type {string} */ host) => ['rr', host, String(ECHO_PORT), String(RR_SECONDS), String(WARM_SECONDS)];
  const stackEcho = onStack(['echo', String(ECHO_PORT)]);
  await stackEcho.out.next(/^listening$/, 20_000);
  const stackRr = await kernelClient(client.ns, rrArgs(opts.stackIp));
  await stackEcho.app.stop();
  const peerEcho = inKernel(lab.peerNs, ['echo', String(ECHO_PORT)]);
  await peerEcho.out.next(/^listening$/, 20_000);
  const kernelRr = await kernelClient(client.ns, rrArgs(lab.peerIpv4));
  peerEcho.child.kill();

  /** @type {string[]} */
  const profiles = [];
  if (opts.profileDir) {
    // Profiled runs of their own, so the profiler's cost lands in none of the figures above.
    const profileArgs = (/** @type {string} */ dir) => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    };
    const inDir = path.join(opts.profileDir, 'kernel-to-stack');
    const profiledSink = onStack(['sink', String(SINK_PORT)], profileArgs(inDir));
    await profiledSink.out.next(/^listening$/, 20_000);
    await measuredSink(profiledSink.out, await kernelClient(client.ns, sourceArgs(opts.stackIp, PROFILE_SECONDS)));
    // SIGTERM: the program exits normally, which writes the profile.
    await profiledSink.app.stop();
    const outDir = path.join(opts.profileDir, 'stack-to-kernel');
    const profiledSource = onStack(sourceArgs(client.ipv4, PROFILE_SECONDS), profileArgs(outDir));
    await measuredSink(clientSink.out, figures(await profiledSource.out.next(/^\{/, bulkTimeoutMs)));
    await profiledSource.app.exited;
    for (const dir of [inDir, outDir]) profiles.push(...fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f)));
  }
  clientSink.child.kill();
  return { stackIn, stackOut, kernelIn, kernelOut, stackRr, kernelRr, profiles };
}

/**
 * @param {TcpFigures} f
 * @param {{ stackIp: string; clientIp: string; peerIp: string; pinned: boolean; cpu: number }} where
 * @param {(line?: string) => void} say
 */
function printTcp(f, where, say) {
  const num = (/** @type {number} */ n, digits = 1) => n.toFixed(digits).padStart(12);
  const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-').padStart(12);
  say(`\nTCP bulk throughput, MB/s (10^6 bytes), ${BULK_SECONDS} s of 64 KiB writes after ${WARM_SECONDS} s uncounted, timed at the sink from first byte to FIN`);
  say('the same program (test/bench/tcp-bench.js) on both ends: the minimal socket API over the stack, or Node\'s net over the kernel');
  say(where.pinned ? `pinned: every process on CPU ${where.cpu} (taskset)` : 'not pinned (taskset not found)');
  say(`stack: pytcp ${where.stackIp} (TAP); kernel: client ${where.clientIp} and peer ${where.peerIp} (veth); all across the lab's bridge\n`);
  say(`${''.padEnd(30)}${'into'.padStart(12)}${'out of'.padStart(12)}`);
  say(`${'pytcp stack'.padEnd(30)}${num(f.stackIn.mbPerSecond)}${num(f.stackOut.mbPerSecond)}   (kernel client → stack, stack → kernel client)`);
  say(`${'Node net, kernel ↔ kernel'.padEnd(30)}${num(f.kernelIn.mbPerSecond)}${num(f.kernelOut.mbPerSecond)}   (client → peer, peer → client)`);
  say(`${'stack / kernel'.padEnd(30)}${ratio(f.stackIn.mbPerSecond, f.kernelIn.mbPerSecond)}${ratio(f.stackOut.mbPerSecond, f.kernelOut.mbPerSecond)}`);
  /** How the stack's TAP carried it: frames per system call, and how full the data frames were. */
  const frames = (/** @type {string} */ label, /** @type {SinkFigures} */ r, /** @type {number} */ dataFrames) => {
    const d = r.device;
    if (!d) return;
    const per = (/** @type {number} */ n, /** @type {number} */ of) => (of > 0 ? (n / of).toFixed(1) : '-');
    say(`  stack's TAP, ${label}: ${d.rxFrames} frames read (${per(d.rxFrames, d.rxBatches)} per wake-up), ${d.txFrames} written (${per(d.txFrames, d.txBatches)} per write call); ${per(r.bytes, dataFrames)} payload bytes per data frame`);
  };
  if (f.stackIn.device) frames('into', f.stackIn, f.stackIn.device.rxFrames);
  if (f.stackOut.device) frames('out of', f.stackOut, f.stackOut.device.txFrames);

  say(`\nTCP request/response, 1 byte each way, one at a time, ${RR_SECONDS} s after ${WARM_SECONDS} s uncounted; a Node net client on the kernel (${where.clientIp}) to an echo server\n`);
  say(`${''.padEnd(30)}${'per second'.padStart(12)}${'p50 µs'.padStart(12)}${'p99 µs'.padStart(12)}`);
  /** @param {string} label @param {RrFigures} r */
  const rrRow = (label, r) => say(`${label.padEnd(30)}${num(r.perSecond, 0)}${num(r.p50Us)}${num(r.p99Us)}`);
  rrRow(`pytcp stack   ${where.stackIp}`, f.stackRr);
  rrRow(`Node, kernel  ${where.peerIp}`, f.kernelRr);
  say(`${'stack / kernel'.padEnd(30)}${ratio(f.stackRr.perSecond, f.kernelRr.perSecond)}${ratio(f.stackRr.p50Us, f.kernelRr.p50Us)}${ratio(f.stackRr.p99Us, f.kernelRr.p99Us)}`);

  for (const file of f.profiles) {
    say(`\nCPU profile of the stack's process, ${path.basename(path.dirname(file))} (${PROFILE_SECONDS} s bulk after ${WARM_SECONDS} s), top ${TOP_FUNCTIONS} by self time`);
    for (const line of formatTop(file, TOP_FUNCTIONS)) say(line);
  }
}

module.exports = { measureTcp, printTcp };
