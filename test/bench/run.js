#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: ping round-trip time to the stack next to the same figure for a Linux
 * kernel, measured in one run over the same path. A second kernel namespace on the lab's
 * bridge pings both the stack (through bridge → TAP) and the kernel peer (through bridge →
 * veth), so both paths cross the bridge. ping and the stack are pinned to one CPU when
 * taskset exists: waking a process on the other CPU costs ~30 µs here (LAB-NOTES), which
 * would swamp the difference being measured.
 *
 * It reports; it never fails on a time. Exit 1 only when the lab or the stack cannot run.
 */
const { spawnSync } = require('node:child_process');
const { createLab, prerequisiteProblems } = require('../lab/lab.js');

const COUNT = 200;
const INTERVAL_S = '0.01';
const WARMUP = 5;
const CPU = 0;

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

async function bench() {
  const problems = prerequisiteProblems(['ping']);
  if (problems.length > 0) throw new Error(problems.join('\n  '));
  const pinned = tasksetWorks();
  const pin = pinned ? ['taskset', '-c', String(CPU)] : [];

  const lab = await createLab({ name: 'bench' });
  const onSignal = () => lab.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const client = await lab.addKernelPeer();
    const stackIp = lab.stackIpv4(0);
    say(`pytcp bench: lab up; starting the stack on ${lab.tap} (it probes ${stackIp} first, ~6 s)`);
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

    say(`ping RTT from a kernel host (${client.ipv4}, namespace ${client.ns}), ${COUNT} echo requests at ${Number(INTERVAL_S) * 1000} ms intervals, 56 bytes`);
    say(pinned
      ? `pinned: ping and the stack on CPU ${CPU} (taskset -c ${CPU}); the kernel peer answers in softirq on the same CPU`
      : 'not pinned (taskset not found, install util-linux): ping and the stack may run on different CPUs, so the stack pays cross-CPU wake-ups the kernel does not');
    say('both paths cross the same bridge: client veth → bridge → TAP → pytcp, and client veth → bridge → veth → kernel\n');
    const cell = (/** @type {number} */ n) => n.toFixed(3).padStart(9);
    const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? `${(a / b).toFixed(1)}x` : '-').padStart(9);
    say(`${'ms'.padEnd(30)}${'min'.padStart(9)}${'avg'.padStart(9)}${'max'.padStart(9)}${'mdev'.padStart(9)}   replies`);
    /** @param {string} label @param {PingStats} s */
    const row = (label, s) => say(`${label.padEnd(30)}${cell(s.min)}${cell(s.avg)}${cell(s.max)}${cell(s.mdev)}   ${s.received}/${s.sent}`);
    row(`pytcp stack   ${stackIp}`, toStack);
    row(`Linux kernel  ${lab.peerIpv4}`, toKernel);
    say(`${'stack / kernel'.padEnd(30)}${ratio(toStack.min, toKernel.min)}${ratio(toStack.avg, toKernel.avg)}${ratio(toStack.max, toKernel.max)}${ratio(toStack.mdev, toKernel.mdev)}`);
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
