'use strict';
/**
 * The real-kernel lab: network namespaces in which the stack meets a Linux kernel on a bridge.
 *
 *   switchNs (IPv6 off)                peerNs: the kernel peer
 *     bridge ── TAP  (the stack's)       veth 10.77.0.1/24, fd00:77::1/64 (nodad)
 *       ├────── veth ─────────────────── ┘
 *       └────── veth ─── addKernelPeer(): 10.77.0.<k> in namespace peer<k>
 *
 *   addRoutedHost(): a host one router hop away, the peer being the router:
 *     peerNs (ip_forward=1) veth 10.78.<k-1>.1/24 ─── veth 10.78.<k-1>.2/24 in namespace far<k>,
 *                                                      default via 10.78.<k-1>.1
 *
 * Plain CommonJS with JSDoc types (test/lab/lab.d.ts for TypeScript), so the vitest suites,
 * examples/demo.js and test/bench/run.js share one implementation without a build step.
 * It installs nothing: `prerequisiteProblems()` says what is missing and how to get it.
 *
 * Safety: every device lives in a namespace this module created, and exec/spawn run only in
 * those, so nothing here touches the host's interfaces. Every name carries the pid and a
 * per-process counter (parallel test files never collide); every command is bounded by a
 * timeout; destroy(), the process 'exit' hook and the sweep of namespaces left by dead
 * processes remove everything the lab made.
 */
const { execFile, execFileSync, spawn: spawnChild } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
/** The preload, as `--require` takes it. */
const REGISTER = path.join(REPO, 'dist', 'shim', 'register.js');
const CLI = path.join(REPO, 'bin', 'pytcp.js');
/** Every namespace made here is `pytcp-<pid>-<lab counter>-<role>`; the sweep parses the pid back. */
const NS_NAME = /^pytcp-(\d+)-(\d+)-[a-z0-9]+$/;
const SUBNET_V4 = '10.77.0';
const SUBNET_V6 = 'fd00:77:';
const PREFIX_LEN = 24;
const PREFIX_LEN_V6 = 64;
/** Kernel peers take .1 to .9; the stack's addresses start at .10 (stackIpv4(0)). */
const MAX_KERNEL_PEERS = 9;
/** Routed host k lives on 10.78.<k-1>.0/24: the peer (its router) is .1, the host .2. */
const ROUTED_SUBNET_V4 = '10.78';
const MAX_ROUTED_HOSTS = 9;
const COMMAND_TIMEOUT_MS = 10_000;
/** A backstop for spawned processes nobody stops: none outlives a run by long. */
const SPAWN_LIFETIME_MS = 10 * 60_000;
const KILL_GRACE_MS = 5_000;

/** Whether this machine can run the lab at all: the TUN/TAP device node exists. */
function tunAvailable() {
  return fs.existsSync('/dev/net/tun');
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** @type {Record<string, string>} the Debian package that provides each tool */
const PACKAGE_OF = {
  ip: 'iproute2',
  sysctl: 'procps',
  ping: 'iputils-ping',
  arping: 'iputils-arping',
  tcpdump: 'tcpdump',
  taskset: 'util-linux',
};

/**
 * What stops the lab from running here, one sentence each saying how to fix it; empty when
 * nothing does.
 * @param {string[]} [tools] commands needed besides `ip` and `sysctl`
 * @returns {string[]}
 */
function prerequisiteProblems(tools = []) {
  const problems = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('not running as root: the lab creates network namespaces and a TAP device (run it as root, e.g. `sudo npm run demo`)');
  }
  if (!tunAvailable()) {
    problems.push('/dev/net/tun is missing: load the tun module (`modprobe tun`); in a container, pass it in (`--device /dev/net/tun --cap-add NET_ADMIN`)');
  }
  for (const tool of ['ip', 'sysctl', ...tools]) {
    if (!onPath(tool)) problems.push(`\`${tool}\` is not installed: install it with \`apt-get install -y ${PACKAGE_OF[tool] ?? tool}\``);
  }
  return problems;
}

/**
 * @typedef {{ code: number; stdout: string; stderr: string; timedOut: boolean }} ExecResult
 */

/**
 * Runs a command, bounded; resolves with its exit code and output, never rejects.
 * @param {string[]} argv
 * @param {number} timeoutMs
 * @param {(child: import('node:child_process').ChildProcess) => void} [track]
 * @returns {Promise<ExecResult>}
 */
function run(argv, timeoutMs, track) {
  return new Promise((resolve) => {
    const child = execFile(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      /** @type {any} */
      const e = err;
      const timedOut = Boolean(e && e.killed);
      let code = 0;
      if (e) code = typeof e.code === 'number' ? e.code : -1;
      if (timedOut) stderr += `\nlab: ${argv.join(' ')} timed out after ${timeoutMs} ms`;
      else if (e && typeof e.code !== 'number') stderr += `\nlab: ${e.message}`;
      resolve({ code, stdout, stderr, timedOut });
    });
    if (track) track(child);
  });
}

/**
 * `ip ...` that must succeed (only ever on our own namespaces).
 * @param {string[]} args
 */
async function ip(args) {
  const result = await run(['ip', ...args], COMMAND_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`lab: ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** @param {string[]} args */
function ipSync(args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** @param {number} pid */
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/** @param {string} pid */
function killQuietly(pid) {
  try {
    process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Kills what still runs in one of our namespaces, then deletes it; synchronous, for the
 * 'exit' hook and the sweep. The processes go first: one holding the TAP open keeps the
 * namespace (and the TAP) alive.
 * @param {string} ns
 */
function deleteNamespaceSync(ns) {
  for (const pid of ipSync(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) killQuietly(pid);
  ipSync(['netns', 'del', ns]);
}

/**
 * Deletes the `pytcp-<pid>-*` namespaces of processes that no longer exist (a run killed
 * with SIGKILL cannot clean up after itself). Returns the names it deleted.
 * @returns {string[]}
 */
function sweepStaleLabs() {
  const swept = [];
  for (const ns of ipSync(['netns', 'list']).split('\n').map((line) => line.trim().split(/\s+/)[0])) {
    const match = NS_NAME.exec(ns ?? '');
    if (!match || Number(match[1]) === process.pid || pidAlive(Number(match[1]))) continue;
    deleteNamespaceSync(ns);
    swept.push(ns);
  }
  return swept;
}

/**
 * Waits for a child to exit, at most `timeoutMs`; resolves with its exit code (null after a
 * signal), or undefined when it still runs.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} timeoutMs
 * @returns {Promise<number | null | undefined>}
 */
function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(undefined);
    }, timeoutMs);
    /** @param {number | null} code */
    const onExit = (code) => {
      clearTimeout(timer);
      resolve(code);
    };
    child.once('exit', onExit);
  });
}

/** @param {RegExp | string} pattern */
function asRegExp(pattern) {
  return typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
}

/** A running `pytcp up`: its output so far, waits for lines, and a clean stop. */
class StackProcess {
  /**
   * @param {import('node:child_process').ChildProcess} child
   * @param {string[]} argv
   */
  constructor(child, argv) {
    this.child = child;
    this.argv = argv;
    this.pid = /** @type {number} */ (child.pid);
    this.stdout = '';
    this.stderr = '';
    /** @type {Set<() => void>} */
    this.waiters = new Set();
    this.hasExited = false;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (/** @type {string} */ chunk) => {
      this.stdout += chunk;
      this.wake();
    });
    child.stderr?.on('data', (/** @type {string} */ chunk) => {
      this.stderr += chunk;
      this.wake();
    });
    /** @type {Promise<{ code: number | null; signal: NodeJS.Signals | null }>} */
    this.exited = new Promise((resolve) => {
      // 'close' comes after the pipes drained: the buffers then hold the last lines.
      child.once('close', (code, signal) => {
        this.hasExited = true;
        resolve({ code, signal });
        this.wake();
      });
    });
  }

  wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The command line and the tail of both outputs, for error messages. */
  describe() {
    const tail = (/** @type {string} */ text) => text.trimEnd().split('\n').slice(-20).join('\n');
    return `pytcp ${this.argv.join(' ')}\n--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`;
  }

  /**
   * Resolves with the first complete line that matches (stdout first, then stderr, unless
   * `stream` says); rejects after `timeoutMs` or when the process exits without printing it.
   * @param {RegExp | string} pattern
   * @param {number} [timeoutMs]
   * @param {'stdout' | 'stderr' | 'any'} [stream]
   * @returns {Promise<string>}
   */
  waitForLine(pattern, timeoutMs = 20_000, stream = 'any') {
    const regexp = asRegExp(pattern);
    const find = () => {
      const texts = stream === 'any' ? [this.stdout, this.stderr] : [this[stream]];
      for (const text of texts) {
        const line = text.split('\n').slice(0, -1).find((l) => regexp.test(l));
        if (line !== undefined) return line;
      }
      return undefined;
    };
    return new Promise((resolve, reject) => {
      /** @param {() => void} settle */
      const done = (settle) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const check = () => {
        const line = find();
        if (line !== undefined) done(() => resolve(line));
        else if (this.hasExited) done(() => reject(new Error(`${regexp} never appeared: the stack exited\n${this.describe()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${regexp} did not appear within ${timeoutMs} ms\n${this.describe()}`))), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Sends SIGTERM (or `signal`); SIGKILL after `timeoutMs` if it still runs. Resolves with the
   * exit code (null after a kill).
   * @param {NodeJS.Signals} [signal]
   * @param {number} [timeoutMs]
   * @returns {Promise<number | null>}
   */
  async stop(signal = 'SIGTERM', timeoutMs = KILL_GRACE_MS) {
    if (!this.hasExited) {
      this.child.kill(signal);
      if ((await waitForExit(this.child, timeoutMs)) === undefined) this.child.kill('SIGKILL');
    }
    return (await this.exited).code;
  }
}

/** @param {number} n */
function hex2(n) {
  return (n & 0xff).toString(16).padStart(2, '0');
}

/** @type {Set<Lab>} labs not yet destroyed, for the 'exit' hook (process-wide by nature) */
const liveLabs = new Set();
let labCounter = 0;

function onExit() {
  for (const lab of [...liveLabs]) lab.destroySync();
}

/**
 * @typedef {{ ns: string; ifName: string; mac: string; ipv4: string; ipv6: string; prefixLen: number }} KernelPeer
 * @typedef {{ ns: string; ifName: string; ipv4: string; prefixLen: number; routerIpv4: string; gatewayIpv4: string }} RoutedHost
 */

class Lab {
  /** @param {string} label */
  constructor(label) {
    const pid = process.pid;
    const n = ++labCounter;
    this.label = label;
    this.base = `pytcp-${pid}-${n}`;
    // Interface names live in our namespaces, but are unique anyway so logs and pcaps say
    // which lab they came from: <role><pid base 36>-<n base 36>, well under 15 bytes.
    this.ifId = `${pid.toString(36)}-${n.toString(36)}`;
    // Locally administered unicast MACs: 02:<role>:<pid, 3 bytes>:<lab counter>.
    this.macTail = `${hex2(pid >> 16)}:${hex2(pid >> 8)}:${hex2(pid)}:${hex2(n)}`;
    this.switchNs = `${this.base}-sw`;
    this.bridge = `br${this.ifId}`;
    this.tap = `tap${this.ifId}`;
    // The TAP's kernel MAC is not the stack's: the bridge treats a port's own MAC as local
    // and would never forward frames for it to the TAP (LAB-NOTES).
    this.tapKernelMac = `02:1f:${this.macTail}`;
    this.stackMac = `02:10:${this.macTail}`;
    this.prefixLen = PREFIX_LEN;
    /** @type {KernelPeer[]} */
    this.peers = [];
    /** @type {RoutedHost[]} */
    this.routedHosts = [];
    /** @type {string[]} namespaces made so far, in order (destroy deletes exactly these) */
    this.made = [];
    /** @type {Set<import('node:child_process').ChildProcess>} */
    this.children = new Set();
    this.destroyed = false;
    /** @type {Promise<void> | undefined} */
    this.destroying = undefined;
  }

  get peerNs() {
    return this.peers[0].ns;
  }
  get peerIf() {
    return this.peers[0].ifName;
  }
  /** The bridge's port (in the switch namespace) toward the first kernel peer. */
  get peerSwitchPort() {
    return `s1${this.ifId}`;
  }
  get peerMac() {
    return this.peers[0].mac;
  }
  get peerIpv4() {
    return this.peers[0].ipv4;
  }
  get peerIpv6() {
    return this.peers[0].ipv6;
  }
  get namespaces() {
    return [...this.made];
  }

  /** @param {number} n */
  stackIpv4(n) {
    if (!Number.isInteger(n) || n < 0 || n > 240) throw new RangeError(`lab: stackIpv4(${n}): n must be 0..240`);
    return `${SUBNET_V4}.${10 + n}`;
  }

  /** @param {string} ns */
  async addNamespace(ns) {
    await ip(['netns', 'add', ns]);
    this.made.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /**
   * @param {string} ns
   * @param {string[]} settings
   */
  async sysctl(ns, settings) {
    const result = await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings], COMMAND_TIMEOUT_MS);
    if (result.code !== 0) throw new Error(`lab: sysctl ${settings.join(' ')} in ${ns} failed: ${result.stderr.trim()}`);
  }

  async build() {
    const sw = this.switchNs;
    await this.addNamespace(sw);
    // IPv6 off before any device exists there: else the kernel sends its own RS, MLD and DAD
    // from the bridge and the TAP into the stack's link (LAB-NOTES).
    await this.sysctl(sw, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await ip(['-n', sw, 'link', 'add', this.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
    await ip(['-n', sw, 'link', 'set', this.bridge, 'up']);
    await ip(['-n', sw, 'tuntap', 'add', 'dev', this.tap, 'mode', 'tap']);
    await ip(['-n', sw, 'link', 'set', this.tap, 'address', this.tapKernelMac, 'master', this.bridge, 'up']);
    await this.addKernelPeer();
  }

  /**
   * Another Linux host on the bridge, in its own namespace: 10.77.0.<k>, fd00:77::<k>.
   * @returns {Promise<KernelPeer>}
   */
  async addKernelPeer() {
    this.assertLive();
    const k = this.peers.length + 1;
    if (k > MAX_KERNEL_PEERS) throw new Error(`lab: at most ${MAX_KERNEL_PEERS} kernel peers`);
    const peer = {
      ns: k === 1 ? `${this.base}-peer` : `${this.base}-peer${k}`,
      ifName: `p${k}${this.ifId}`,
      mac: `02:3${k}:${this.macTail}`,
      ipv4: `${SUBNET_V4}.${k}`,
      ipv6: `${SUBNET_V6}:${k}`,
      prefixLen: PREFIX_LEN,
    };
    const switchPort = `s${k}${this.ifId}`;
    await this.addNamespace(peer.ns);
    // Set before the veth appears there: no DAD (a tentative link-local leaves RS and NS
    // unanswered for 1–2 s, LAB-NOTES) and no router solicitations of its own.
    await this.sysctl(peer.ns, ['net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.default.router_solicitations=0']);
    await ip(['-n', this.switchNs, 'link', 'add', switchPort, 'address', `02:2${k}:${this.macTail}`,
      'type', 'veth', 'peer', 'name', peer.ifName, 'address', peer.mac, 'netns', peer.ns]);
    await ip(['-n', this.switchNs, 'link', 'set', switchPort, 'master', this.bridge, 'up']);
    await ip(['-n', peer.ns, 'addr', 'add', `${peer.ipv4}/${PREFIX_LEN}`, 'dev', peer.ifName]);
    await ip(['-n', peer.ns, 'addr', 'add', `${peer.ipv6}/${PREFIX_LEN_V6}`, 'dev', peer.ifName, 'nodad']);
    await ip(['-n', peer.ns, 'link', 'set', peer.ifName, 'up']);
    this.peers.push(peer);
    return { ...peer };
  }

  /**
   * A Linux host beyond a router: its own namespace, joined to the first peer's namespace by
   * a veth on 10.78.<k-1>.0/24 (the peer .1, the host .2, its default route via the peer).
   * The peer forwards IPv4 (in its own namespace only); the stack reaches the host with
   * `--gateway <peerIpv4>`, and its replies arrive with one hop taken off the TTL.
   * @returns {Promise<RoutedHost>}
   */
  async addRoutedHost() {
    this.assertLive();
    const k = this.routedHosts.length + 1;
    if (k > MAX_ROUTED_HOSTS) throw new Error(`lab: at most ${MAX_ROUTED_HOSTS} routed hosts`);
    const subnet = `${ROUTED_SUBNET_V4}.${k - 1}`;
    const host = {
      ns: `${this.base}-far${k}`,
      ifName: `f${k}${this.ifId}`,
      ipv4: `${subnet}.2`,
      prefixLen: PREFIX_LEN,
      routerIpv4: `${subnet}.1`,
      gatewayIpv4: this.peerIpv4,
    };
    const routerIf = `r${k}${this.ifId}`;
    await this.addNamespace(host.ns);
    // This host speaks IPv4 only: no RS, DAD or MLD of its own on the routed link.
    await this.sysctl(host.ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    // Forwarding is per namespace: turning it on in the peer's touches nothing else.
    await this.sysctl(this.peerNs, ['net.ipv4.ip_forward=1']);
    await ip(['-n', this.peerNs, 'link', 'add', routerIf, 'address', `02:4${k}:${this.macTail}`,
      'type', 'veth', 'peer', 'name', host.ifName, 'address', `02:5${k}:${this.macTail}`, 'netns', host.ns]);
    await ip(['-n', this.peerNs, 'addr', 'add', `${host.routerIpv4}/${PREFIX_LEN}`, 'dev', routerIf]);
    await ip(['-n', this.peerNs, 'link', 'set', routerIf, 'up']);
    await ip(['-n', host.ns, 'addr', 'add', `${host.ipv4}/${PREFIX_LEN}`, 'dev', host.ifName]);
    await ip(['-n', host.ns, 'link', 'set', host.ifName, 'up']);
    await ip(['-n', host.ns, 'route', 'add', 'default', 'via', host.routerIpv4]);
    this.routedHosts.push(host);
    return { ...host };
  }

  assertLive() {
    if (this.destroyed) throw new Error('lab: already destroyed');
  }

  /** @param {string} ns */
  assertOwn(ns) {
    this.assertLive();
    if (!this.made.includes(ns)) throw new Error(`lab: ${ns} is not a namespace of this lab`);
  }

  /** @param {import('node:child_process').ChildProcess} child */
  track(child) {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /**
   * @param {string} ns
   * @param {string[]} argv
   * @param {{ timeoutMs?: number }} [opts]
   */
  exec(ns, argv, opts = {}) {
    this.assertOwn(ns);
    return run(['ip', 'netns', 'exec', ns, ...argv], opts.timeoutMs ?? COMMAND_TIMEOUT_MS, (child) => this.track(child));
  }

  /**
   * @param {string} ns
   * @param {string[]} argv
   * @param {{ timeoutMs?: number; env?: NodeJS.ProcessEnv }} [opts]
   */
  spawn(ns, argv, opts = {}) {
    this.assertOwn(ns);
    // `ip netns exec` execs the command in place: the child's pid is the command's own.
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.env ?? {}) },
    });
    const lifetime = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? SPAWN_LIFETIME_MS);
    lifetime.unref();
    child.once('exit', () => clearTimeout(lifetime));
    return this.track(child);
  }

  /**
   * @param {string[]} args
   * @param {{ mac?: string; cpu?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number }} [opts]
   */
  startStack(args, opts = {}) {
    const argv = [CLI, 'up', '--tap', this.tap, '--mac', opts.mac ?? this.stackMac, ...args];
    const command = [process.execPath, ...argv];
    const child = this.spawn(this.switchNs, opts.cpu === undefined ? command : ['taskset', '-c', String(opts.cpu), ...command], opts);
    return new StackProcess(child, argv.slice(1));
  }

  /**
   * Runs an unmodified Node program over the stack: `node --require pytcp/register script
   * ...args` in switchNs, with PYTCP_TAP and PYTCP_MAC set for this lab and `env` beside
   * (PYTCP_IPV4 and the rest). Tracked like spawn().
   * @param {string} script
   * @param {string[]} args
   * @param {{ mac?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; nodeArgs?: string[]; cpu?: number }} [opts]
   */
  startApp(script, args, opts = {}) {
    const argv = [...(opts.nodeArgs ?? ['--require', REGISTER]), script, ...args];
    const env = { PYTCP_TAP: this.tap, PYTCP_MAC: opts.mac ?? this.stackMac, ...(opts.env ?? {}) };
    const command = [process.execPath, ...argv];
    const pinned = opts.cpu === undefined ? command : ['taskset', '-c', String(opts.cpu), ...command];
    const child = this.spawn(this.switchNs, pinned, { env, timeoutMs: opts.timeoutMs });
    return new StackProcess(child, argv);
  }

  /**
   * Runs `node bin/pytcp.js ...args` (any command: `ping --tap <tap> ...`, `--help`) in
   * switchNs to its end, bounded like exec(); only one process at a time can hold the TAP.
   * @param {string[]} args
   * @param {{ timeoutMs?: number }} [opts]
   */
  runCli(args, opts = {}) {
    return this.exec(this.switchNs, [process.execPath, CLI, ...args], opts);
  }

  /**
   * Records the first peer's side of the link into a pcap file; started when this resolves.
   * @param {string} file
   */
  async capture(file) {
    // -Z root: else tcpdump drops to its own user first and may not write where it is told.
    const child = this.spawn(this.peerNs, ['tcpdump', '-i', this.peerIf, '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', file]);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab: tcpdump did not start within 10 s: ${stderr.trim()}`)), 10_000);
      child.stderr?.on('data', (/** @type {string} */ chunk) => {
        stderr += chunk;
        if (/listening on/.test(stderr)) {
          clearTimeout(timer);
          resolve(undefined);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`lab: tcpdump exited (${code}): ${stderr.trim()}`));
      });
    });
    return {
      file,
      stop: async () => {
        child.kill('SIGINT');
        if ((await waitForExit(child, KILL_GRACE_MS)) === undefined) child.kill('SIGKILL');
      },
    };
  }

  /** Stops the lab's processes, then deletes its namespaces; every call returns the same promise. */
  destroy() {
    if (!this.destroying) {
      this.destroyed = true;
      this.destroying = this.teardown();
    }
    return this.destroying;
  }

  async teardown() {
    // Processes first (a stack holding the TAP keeps its namespace alive): SIGTERM, then
    // SIGKILL for whatever has not gone after the grace period.
    const running = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(running.map(async (child) => {
      if ((await waitForExit(child, KILL_GRACE_MS)) === undefined) {
        child.kill('SIGKILL');
        await waitForExit(child, KILL_GRACE_MS);
      }
    }));
    while (this.made.length > 0) {
      const ns = /** @type {string} */ (this.made[this.made.length - 1]);
      const pids = await run(['ip', 'netns', 'pids', ns], COMMAND_TIMEOUT_MS);
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) killQuietly(pid);
      await run(['ip', 'netns', 'del', ns], COMMAND_TIMEOUT_MS);
      this.made.pop();
    }
    liveLabs.delete(this);
    if (liveLabs.size === 0) process.off('exit', onExit);
  }

  /**
   * The 'exit' hook's teardown: no waiting, SIGKILL for whatever still runs, then whatever
   * namespaces are left (also those an unfinished destroy() had not reached yet).
   */
  destroySync() {
    this.destroyed = true;
    liveLabs.delete(this);
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const ns of [...this.made].reverse()) deleteNamespaceSync(ns);
    this.made = [];
  }
}

/**
 * Builds a lab: a switch namespace with a bridge and the stack's TAP, a kernel peer on it.
 * @param {{ name?: string }} [opts] `name` labels the lab in messages
 */
async function createLab(opts = {}) {
  const problems = prerequisiteProblems();
  if (problems.length > 0) throw new Error(`lab: ${problems.join('; ')}`);
  sweepStaleLabs();
  const lab = new Lab(opts.name ?? 'lab');
  if (liveLabs.size === 0) process.on('exit', onExit);
  liveLabs.add(lab);
  try {
    await lab.build();
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

module.exports = { createLab, tunAvailable, prerequisiteProblems, sweepStaleLabs, NS_NAME };
