#!/usr/bin/env node
'use strict';
/**
 * `npm run demo`: builds the lab (network namespaces, a bridge, a TAP), starts `pytcp up`
 * on the TAP with the packet log on, lets the Linux kernel next door ping and arping it,
 * then runs an unmodified Node program (examples/udp-echo-server.js, plain node:dgram)
 * over the stack with `--require pytcp/register` and the kernel's nc talks to it, then the
 * TCP echo example; shows what both sides saw, and removes everything again (also on Ctrl-C).
 * Exit 0 when the kernel got its answers, 1 with one message saying why otherwise.
 */
const fs = require('node:fs');
const path = require('node:path');
const { createLab, prerequisiteProblems } = require('../test/lab/lab.js');

const REPO = path.resolve(__dirname, '..');
const PROBE_TIMEOUT_MS = 30_000;

/** @param {string} text */
function say(text = '') {
  process.stdout.write(text + '\n');
}

/** @param {string} text */
function indent(text) {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

class DemoFailure extends Error {}

/** @type {import('../test/lab/lab').Lab | undefined} */
let lab;
let interrupted = false;

/** Ctrl-C (or SIGTERM): take the lab down, then exit 130. The 'exit' hook of the lab backs this up. */
function onInterrupt(/** @type {NodeJS.Signals} */ signal) {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\npytcp demo: ${signal}: removing the lab\n`);
  (lab ? lab.destroy() : Promise.resolve()).finally(() => process.exit(130));
}

async function demo() {
  const problems = prerequisiteProblems(['ping', 'arping', 'nc']);
  if (!fs.existsSync(path.join(REPO, 'dist', 'lib', 'cli.js'))) problems.push('pytcp is not built: run `npm run build` first (`npm run demo` does)');
  if (problems.length > 0) throw new DemoFailure(problems.join('\n  '));

  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    lab = await createLab({ name: 'demo' });
    const address = lab.stackIpv4(0);
    say('pytcp demo: a user-space TCP/IP stack on a TAP, and the Linux kernel next to it\n');
    say(`namespace ${lab.switchNs}: bridge ${lab.bridge} with the stack's TAP ${lab.tap}`);
    say(`namespace ${lab.peerNs}:   the kernel, ${lab.peerIf} ${lab.peerIpv4}/${lab.prefixLen} (mac ${lab.peerMac}), on the same bridge\n`);

    const started = Date.now();
    const stack = lab.startStack(['--ipv4', `${address}/${lab.prefixLen}`, '--log']);
    say(`$ ip netns exec ${lab.switchNs} pytcp up --tap ${lab.tap} --mac ${lab.stackMac} --ipv4 ${address}/${lab.prefixLen} --log`);
    let shown = 0;
    const showStackLines = () => {
      const lines = stack.stdout.split('\n').slice(0, -1);
      for (const line of lines.slice(shown)) say(`    ${line}`);
      shown = lines.length;
    };
    stack.child.stdout?.on('data', showStackLines);
    await stack.waitForLine(/^pytcp: .* up, mac /, 10_000, 'stdout').catch(() => {
      throw new DemoFailure(`the stack did not start:\n${stack.describe()}`);
    });
    say(`    (probing ${address} for conflicts first, RFC 5227: about 6 s)`);
    const outcome = await stack.waitForLine(/^pytcp: ipv4 .* (ready|not used)$/, PROBE_TIMEOUT_MS, 'stdout').catch(() => {
      throw new DemoFailure(`the stack never finished probing ${address}:\n${stack.describe()}`);
    });
    showStackLines();
    if (!outcome.endsWith('ready')) throw new DemoFailure(`another host on the lab's link holds ${address}: ${outcome}`);
    say(`    (ready after ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

    say(`$ ip netns exec ${lab.peerNs} ping -c 5 -i 0.2 ${address}`);
    const ping = await lab.exec(lab.peerNs, ['ping', '-c', '5', '-i', '0.2', '-W', '1', address], { timeoutMs: 15_000 });
    say(indent(ping.stdout + ping.stderr) + '\n');
    const replies = / (\d+) received/.exec(ping.stdout);
    if (!replies || replies[1] !== '5') throw new DemoFailure(`the kernel's ping got ${replies ? replies[1] : 'no'} of 5 replies from the stack`);

    say(`$ ip netns exec ${lab.peerNs} arping -c 2 -I ${lab.peerIf} ${address}`);
    const arping = await lab.exec(lab.peerNs, ['arping', '-c', '2', '-I', lab.peerIf, address], { timeoutMs: 10_000 });
    say(indent(arping.stdout + arping.stderr) + '\n');
    if (!arping.stdout.toLowerCase().includes(lab.stackMac)) throw new DemoFailure(`arping did not learn the stack's MAC ${lab.stackMac}`);

    const neigh = await lab.exec(lab.peerNs, ['ip', 'neigh', 'show', address]);
    say(`$ ip netns exec ${lab.peerNs} ip neigh show ${address}`);
    say(indent(neigh.stdout) + '\n');

    say(`$ kill -TERM ${stack.pid}   (the stack)`);
    const code = await stack.stop('SIGTERM');
    showStackLines();
    say('the stack\'s packet log (--log, on stderr): time, device, direction, what the frame is');
    say(indent(stack.stderr) + '\n');
    if (code !== 0) throw new DemoFailure(`the stack exited with code ${code} on SIGTERM:\n${stack.describe()}`);

    await appDemo(lab, address);
  } finally {
    await lab?.destroy();
  }
  say('lab removed: demo OK');
}

/**
 * An unmodified dgram program over the stack: the preload starts a stack from PYTCP_*
 * variables and routes node:dgram through it; the kernel's nc is the client. Then the TCP
 * echo example (the temporary TCP API, until the net shim) for nc over TCP.
 * @param {import('../test/lab/lab').Lab} lab
 * @param {string} address
 */
async function appDemo(lab, address) {
  const env = { PYTCP_IPV4: `${address}/${lab.prefixLen}`, PYTCP_IPV6: 'off', PYTCP_LOG: '1' };
  say('an unmodified Node program over the stack: examples/udp-echo-server.js uses only node:dgram');
  say(`$ PYTCP_TAP=${lab.tap} PYTCP_MAC=${lab.stackMac} PYTCP_IPV4=${env.PYTCP_IPV4} PYTCP_LOG=1 node --require pytcp/register examples/udp-echo-server.js`);
  const udp = lab.startApp(path.join(REPO, 'examples', 'udp-echo-server.js'), [], { env, timeoutMs: 60_000 });
  say(`    ${await udp.waitForLine(/listening/, 15_000, 'stdout').catch(() => { throw new DemoFailure(`the UDP echo example did not start:\n${udp.describe()}`); })}`);
  const udpCmd = `printf 'hello over dgram\\n' | nc -u -w1 ${address} 7`;
  say(`$ ip netns exec ${lab.peerNs} sh -c "${udpCmd}"`);
  const udpReply = await lab.exec(lab.peerNs, ['sh', '-c', `printf 'hello over dgram\n' | nc -u -w1 ${address} 7`], { timeoutMs: 10_000 });
  say(indent(udpReply.stdout || '(no reply)') + '\n');
  await udp.stop('SIGTERM');
  say('its packet log (PYTCP_LOG=1):');
  say(indent(udp.stderr.split('\n').filter((l) => / UDP /.test(l)).join('\n')) + '\n');
  if (udpReply.stdout !== 'hello over dgram\n') throw new DemoFailure(`nc got ${JSON.stringify(udpReply.stdout)} from the UDP echo example`);

  say('and TCP: examples/tcp-echo-server.js on the stack, the kernel\'s nc as the client');
  const tcp = lab.startApp(path.join(REPO, 'examples', 'tcp-echo-server.js'), ['--host', address], { env: { ...env, PYTCP_LOG: '' }, nodeArgs: [], timeoutMs: 60_000 });
  say(`    ${await tcp.waitForLine(/listening/, 15_000, 'stdout').catch(() => { throw new DemoFailure(`the TCP echo example did not start:\n${tcp.describe()}`); })}`);
  say(`$ ip netns exec ${lab.peerNs} sh -c "printf 'hello over TCP\\n' | nc -N ${address} 7"`);
  const tcpReply = await lab.exec(lab.peerNs, ['sh', '-c', `printf 'hello over TCP\n' | nc -N -w2 ${address} 7`], { timeoutMs: 10_000 });
  say(indent(tcpReply.stdout || '(no reply)') + '\n');
  await tcp.stop('SIGTERM');
  if (tcpReply.stdout !== 'hello over TCP\n') throw new DemoFailure(`nc got ${JSON.stringify(tcpReply.stdout)} from the TCP echo example`);
}

demo().then(
  () => process.exit(0),
  (err) => {
    if (interrupted) return; // the signal handler exits once the lab is gone
    const message = err instanceof DemoFailure ? err.message : err && err.stack ? err.stack : String(err);
    process.stderr.write(`pytcp demo failed: ${message}\n`);
    process.exit(1);
  },
);
