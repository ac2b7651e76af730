#!/usr/bin/env node
'use strict';
/**
 * `npm run demo`: builds the lab (network namespaces, a bridge, a TAP), starts `pytcp up`
 * on the TAP with the packet log on, lets the Linux kernel next door ping and arping it,
 * then runs unmodified Node programs over the stack with `--require pytcp/register`:
 * http.get and fetch download from a kernel HTTP server in the peer namespace (with the
 * stack's packet log), curl fetches from an http server on the stack, nc talks to a dgram
 * echo; shows what both sides saw, and removes everything again (also on Ctrl-C).
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
  const problems = prerequisiteProblems(['ping', 'arping', 'nc', 'curl']);
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
 * The main job: unmodified Node programs over the stack. The preload starts a stack from
 * PYTCP_* variables and routes node:net (so http and fetch) and node:dgram through it.
 * A kernel HTTP server in the peer namespace serves http.get and fetch from the stack;
 * then an HTTP server on the stack serves the kernel's curl; then dgram answers nc.
 * @param {import('../test/lab/lab').Lab} lab
 * @param {string} address
 */
async function appDemo(lab, address) {
  const env = { PYTCP_IPV4: `${address}/${lab.prefixLen}`, PYTCP_IPV6: 'off', PYTCP_LOG: '1' };
  const preload = `PYTCP_TAP=${lab.tap} PYTCP_MAC=${lab.stackMac} PYTCP_IPV4=${env.PYTCP_IPV4} PYTCP_LOG=1 node --require pytcp/register`;
  const example = (name) => path.join(REPO, 'examples', name);
  const started = (proc, pattern, what) =>
    proc.waitForLine(pattern, 15_000, 'stdout').catch(() => {
      throw new DemoFailure(`${what} did not start:\n${proc.describe()}`);
    });

  say(`unmodified Node programs over the stack. First, a kernel HTTP server in ${lab.peerNs}:`);
  say(`$ ip netns exec ${lab.peerNs} node examples/http-server.js --port 8080`);
  const server = lab.spawn(lab.peerNs, [process.execPath, example('http-server.js'), '--port', '8080']);
  let serverOut = '';
  server.stdout?.on('data', (d) => (serverOut += d));
  const end = Date.now() + 15_000;
  while (!serverOut.includes('listening') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  say(indent(serverOut || '(nothing)') + '\n');
  if (!serverOut.includes('listening')) throw new DemoFailure('the kernel HTTP server did not start');

  try {
    const url = `http://${lab.peerIpv4}:8080/bytes/1000000`;
    for (const [script, what] of [
      ['http-client.js', 'http.get'],
      ['fetch-get.js', 'the global fetch'],
    ]) {
      say(`${what}, on the stack (examples/${script} uses only Node's own API):`);
      say(`$ ${preload} examples/${script} ${url}`);
      const app = lab.startApp(example(script), [url], { env, timeoutMs: 60_000 });
      const result = await app.exited;
      say(indent(app.stdout || '(no output)'));
      const tcp = app.stderr.split('\n').filter((l) => / TCP /.test(l));
      say(`  its packet log (PYTCP_LOG=1), ${tcp.length} TCP segments (rx ones past 1448 bytes are the kernel's super-segments: receive offload); the first ones and the last:`);
      say(indent([...tcp.slice(0, 6), '...', ...tcp.slice(-3)].join('\n')) + '\n');
      if (result.code !== 0 || !/status 200, 1000000 bytes/.test(app.stdout)) throw new DemoFailure(`${what} over the stack failed:\n${app.describe()}`);
    }
  } finally {
    server.kill('SIGTERM');
  }

  say('an HTTP server on the stack (examples/http-server.js, Node\'s own http), the kernel\'s curl as the client:');
  say(`$ ${preload.replace(' PYTCP_LOG=1', '')} examples/http-server.js --port 80`);
  const web = lab.startApp(example('http-server.js'), ['--port', '80'], { env: { ...env, PYTCP_LOG: '' }, timeoutMs: 60_000 });
  say(`    ${await started(web, /listening/, 'the HTTP server example')}`);
  say(`$ ip netns exec ${lab.peerNs} curl -sS http://${address}/`);
  const curl = await lab.exec(lab.peerNs, ['curl', '-sS', '--max-time', '10', `http://${address}/`], { timeoutMs: 15_000 });
  say(indent(curl.stdout + curl.stderr || '(no reply)') + '\n');
  await web.stop('SIGTERM');
  if (curl.code !== 0 || curl.stdout.length === 0) throw new DemoFailure(`curl got nothing from the HTTP server on the stack:\n${web.describe()}`);

  say('and UDP: examples/udp-echo-server.js (only node:dgram) on the stack, the kernel\'s nc as the client');
  say(`$ ${preload.replace(' PYTCP_LOG=1', '')} examples/udp-echo-server.js`);
  const udp = lab.startApp(example('udp-echo-server.js'), [], { env: { ...env, PYTCP_LOG: '' }, timeoutMs: 60_000 });
  say(`    ${await started(udp, /listening/, 'the UDP echo example')}`);
  say(`$ ip netns exec ${lab.peerNs} sh -c "printf 'hello over dgram\\n' | nc -u -w1 ${address} 7"`);
  const udpReply = await lab.exec(lab.peerNs, ['sh', '-c', `printf 'hello over dgram\n' | nc -u -w1 ${address} 7`], { timeoutMs: 10_000 });
  say(indent(udpReply.stdout || '(no reply)') + '\n');
  await udp.stop('SIGTERM');
  if (udpReply.stdout !== 'hello over dgram\n') throw new DemoFailure(`nc got ${JSON.stringify(udpReply.stdout)} from the UDP echo example`);
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
