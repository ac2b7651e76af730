/**
 * TCP on the stack against the real Linux kernel (issue 6, "Real kernel, in the lab"): the
 * small apps in test/kernel/apps/tcp-*.js run the stack in the lab's switch namespace
 * (under the preload, over the minimal socket API in lib/tcp-socket.ts) and the kernel
 * peer talks to them with nc, curl and its own TCP.
 *
 * Each test has its own lab and they run together. Bulk data is one random file made
 * once (the peer reads it: the namespaces share the file system) or the apps' AES-CTR
 * keystream, whose SHA-256 the app prints; a transfer is byte-exact when both ends print
 * the same hash. Loss comes from nftables in the peer's namespace (`numgen random`), the
 * peer forwarding for a kernel host behind it: this kernel has no netem (and no modules to
 * load), so reordering and delay cannot be injected here. Each transfer prints its time and
 * throughput. pcaps (headers only) are kept, with the apps' output, only when a test failed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { prerequisiteProblems, type Capture, type StackProcess } from '../lab/lab.js';
import { escape, exitWithin, labRunner, LINE_MS, Scenario, TEST_MS } from './scenario';
import { until } from './wait';

/** What the peer runs, with the Debian package that brings it (the lab's own list lacks some). */
const PEER_TOOLS: [tool: string, pkg: string][] = [
  ['nc', 'netcat-openbsd'],
  ['curl', 'curl'],
  ['nft', 'nftables'],
  ['ethtool', 'ethtool'],
  ['tcpdump', 'tcpdump'],
  ['ss', 'iproute2'],
  ['sha256sum', 'coreutils'],
];

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, tool)));
}

const problems = prerequisiteProblems();
for (const [tool, pkg] of PEER_TOOLS) if (!onPath(tool)) problems.push(`\`${tool}\` is missing: install it with \`apt-get install -y ${pkg}\``);
if (problems.length > 0) console.warn(`SKIPPING test/kernel/tcp: ${problems.join('; ')}`);

const APPS = path.join(__dirname, 'apps');
/** A bulk transfer, 100 MB, and what one under loss carries each way. */
const BULK = 100_000_000;
const LOSSY = 20_000_000;
const SMALL = 1_000_000;
/** The loss nftables applies each way, in percent. */
const LOSS_PERCENT = 2;
/** Time for the last packets to reach tcpdump before it is stopped. */
const CAPTURE_SETTLE_MS = 300;

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** One line for the run's log: how long a transfer took and its goodput. */
function logTransfer(what: string, bytes: number, ms: number): void {
  const mbps = (bytes * 8) / (ms * 1000);
  console.log(`tcp kernel: ${what}: ${(bytes / 1e6).toFixed(0)} MB in ${Math.round(ms)} ms, ${(mbps / 8).toFixed(1)} MB/s (${mbps.toFixed(0)} Mbit/s)`);
}

/** The random files the peer sends and uploads: prefixes of one buffer, with their SHA-256. */
interface TestData {
  dir: string;
  bulk: { file: string; sha: string };
  lossy: { file: string; sha: string };
  small: { file: string; sha: string };
}

function writeTestData(): TestData {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-tcp-data-'));
  const bytes = crypto.randomBytes(BULK);
  const write = (name: string, size: number) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes.subarray(0, size));
    return { file, sha: sha256(bytes.subarray(0, size)) };
  };
  return { dir, bulk: write('bulk.bin', BULK), lossy: write('lossy.bin', LOSSY), small: write('small.bin', SMALL) };
}

/** A lab for the TCP apps, with the peer's kernel TCP, nftables and a headers-only tcpdump. */
class TcpScenario extends Scenario {
  protected override readonly settleMs = CAPTURE_SETTLE_MS;

  /** An app in the switch namespace, IPv4 only; `nodeArgs: []` runs it without the preload. */
  app(script: string, args: string[] = [], nodeArgs?: string[], extraEnv: NodeJS.ProcessEnv = {}): StackProcess {
    const env = { PYTCP_IPV4: `${this.ip}/${this.lab.prefixLen}`, PYTCP_IPV6: 'off', ...extraEnv };
    return this.startApp(path.join(APPS, script), args, env, nodeArgs);
  }

  /** A shell command line in the peer that must succeed; its output. */
  async peerOk(command: string, timeoutMs = 10_000): Promise<string> {
    const result = await this.peer(['sh', '-c', command], timeoutMs);
    if (result.code !== 0) throw new Error(`peer: \`${command}\` exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Waits until a kernel socket in the peer listens on TCP `port`. */
  async listening(port: number): Promise<void> {
    const end = Date.now() + LINE_MS;
    while (!(await this.peerOk(`ss -Hltn 'sport = :${port}'`)).trim()) {
      if (Date.now() > end) throw new Error(`nothing listens on the peer's port ${port} after ${LINE_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Loads an nftables ruleset into the peer's namespace (only there: the host's rules are untouched). */
  async nft(ruleset: string): Promise<void> {
    const file = path.join(this.dir, `nft-${Date.now()}.conf`);
    fs.writeFileSync(file, ruleset);
    await this.peerOk(`nft -f ${file}`);
  }

  /**
   * tcpdump on the peer's side of the link, headers only (128 bytes a frame, so a 40 MB
   * transfer makes a few MB of pcap); started when this resolves.
   */
  override async capture(name: string): Promise<Capture> {
    const file = path.join(this.dir, `${name}.pcap`);
    const child = this.lab.spawn(this.lab.peerNs, ['tcpdump', '-i', this.lab.peerIf, '-n', '-s', '128', '-U', '--immediate-mode', '-Z', 'root', '-w', file]);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start within ${LINE_MS} ms: ${stderr}`)), LINE_MS);
      child.stderr?.on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited (${code}): ${stderr}`));
      });
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const capture = {
      file,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
      },
    };
    this.captures.push(capture);
    return capture;
  }
}

const inLab = labRunner('tcp', TcpScenario);

/** Runs `fn` and returns its result with the milliseconds it took. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

describe.skipIf(problems.length > 0).concurrent('TCP on the stack against the Linux kernel', () => {
  let data: TestData;
  beforeAll(() => {
    data = writeTestData();
  });
  afterAll(() => {
    if (data) fs.rmSync(data.dir, { recursive: true, force: true });
  });

  it("the kernel's nc talks to an echo server on the stack: a line, then 1 MB byte-exact, each closed cleanly", async ({ expect }) => {
    await inLab('nc-echo', async (s) => {
      const app = s.app('tcp-echo-server.js', ['7']);
      await app.waitForLine('tcp echo listening on 7', LINE_MS, 'stdout');

      // -N: half-close after stdin's end; nc then reads until the stack's FIN.
      const line = await s.peer(['sh', '-c', `printf 'hello from nc\\n' | nc -N ${s.ip} 7`]);
      expect(line, line.stderr).toMatchObject({ code: 0, stdout: 'hello from nc\n' });
      const [bulk, ms] = await timed(() => s.peer(['sh', '-c', `nc -N ${s.ip} 7 < ${data.small.file} | sha256sum`], 30_000));
      expect(bulk.stdout, bulk.stderr).toBe(`${data.small.sha}  -\n`);
      logTransfer('nc -> stack echo -> nc', SMALL, ms);

      const closed = new RegExp(`^closed ${escape(s.lab.peerIpv4)}:\\d+ hadError=false$`, 'gm');
      await until(() => (app.stdout.match(closed) ?? []).length === 2, LINE_MS, () => app.describe());
      expect(app.stdout).not.toMatch(/^error/m);
    });
  }, TEST_MS);

  it("a stack client talks to the kernel's nc -l: a line each way, then both ends close", async ({ expect }) => {
    await inLab('nc-listen', async (s) => {
      const nc = s.peer(['sh', '-c', `printf 'hello from the kernel\\n' | nc -N -l 5000`], 20_000);
      await s.listening(5000);
      const app = s.app('tcp-client.js', [s.lab.peerIpv4, '5000', 'hello from the stack']);
      expect(await app.waitForLine(/^connected /, LINE_MS, 'stdout')).toMatch(new RegExp(`^connected ${escape(s.ip)}:\\d+$`));
      expect(await app.waitForLine(/^received /, LINE_MS, 'stdout')).toBe('received "hello from the kernel\\n"');
      expect(await app.waitForLine(/^closed /, LINE_MS, 'stdout')).toBe('closed hadError=false');
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
      expect(await nc).toMatchObject({ code: 0, stdout: 'hello from the stack\n' });
    });
  }, TEST_MS);

  it('curl downloads 100 MB from an HTTP server on the stack, byte-exact', async ({ expect }) => {
    await inLab('curl-get', async (s) => {
      const app = s.app('tcp-http-server.js', ['80']);
      await app.waitForLine('http listening on 80', LINE_MS, 'stdout');
      const [curl, ms] = await timed(() => s.peer(['sh', '-c', `curl -sS --fail http://${s.ip}/bytes/${BULK} | sha256sum`], 60_000));
      const sent = await app.waitForLine(/^sent /, LINE_MS, 'stdout');
      expect(sent).toMatch(new RegExp(`^sent ${BULK} bytes sha256 [0-9a-f]{64} in \\d+ ms$`));
      expect(curl.stdout, curl.stderr).toBe(`${sent.split(' ')[4]}  -\n`);
      logTransfer('curl GET from the stack (stack sends)', BULK, ms);
    });
  }, TEST_MS);

  it('curl uploads 100 MB to an HTTP server on the stack (after 100 Continue), byte-exact', async ({ expect }) => {
    await inLab('curl-put', async (s) => {
      const app = s.app('tcp-http-server.js', ['80']);
      await app.waitForLine('http listening on 80', LINE_MS, 'stdout');
      // -T streams the file with a Content-Length and `Expect: 100-continue`.
      const [curl, ms] = await timed(() => s.peer(['curl', '-sS', '--fail', '-T', data.bulk.file, `http://${s.ip}/upload`], 60_000));
      expect(curl.stdout, curl.stderr).toBe(`${BULK} ${data.bulk.sha}\n`);
      expect(await app.waitForLine(/^received /, LINE_MS, 'stdout')).toMatch(new RegExp(`^received ${BULK} bytes sha256 ${data.bulk.sha} in \\d+ ms$`));
      logTransfer('curl PUT to the stack (stack receives)', BULK, ms);
    });
  }, TEST_MS);

  it("a stack client downloads 100 MB from the kernel's nc -l, byte-exact", async ({ expect }) => {
    await inLab('client-get', async (s) => {
      const nc = s.peer(['sh', '-c', `nc -N -l 5001 < ${data.bulk.file}`], 60_000);
      await s.listening(5001);
      const app = s.app('tcp-download.js', [s.lab.peerIpv4, '5001']);
      const received = await app.waitForLine(/^received /, 60_000, 'stdout');
      expect(received).toMatch(new RegExp(`^received ${BULK} bytes sha256 ${data.bulk.sha} in \\d+ ms$`));
      expect(await app.waitForLine(/^closed /, LINE_MS, 'stdout')).toBe('closed hadError=false');
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
      expect(await nc).toMatchObject({ code: 0 });
      // The app times it from 'connect' to the server's end.
      const ms = Number(/in (\d+) ms$/.exec(received)![1]);
      logTransfer('stack client reads from nc -l (stack receives)', BULK, ms);
    });
  }, TEST_MS);

  it("connects again and again from one local port to a kernel server that closes first: each SYN gets past the server's TIME-WAIT at once", async ({ expect }) => {
    await inLab('port-reuse', async (s) => {
      const rounds = 10;
      // A kernel server that answers each connection's byte by closing: TIME-WAIT stays on its side.
      const server = `require('net').createServer((c) => { c.on('data', () => c.end()); c.on('error', () => {}); }).listen(5001)`;
      const peer = s.peer(['timeout', '30', process.execPath, '-e', server], 35_000);
      await s.listening(5001);
      const app = s.app('tcp-port-reuse.js', [s.lab.peerIpv4, '5001', '40123', String(rounds)]);
      await app.waitForLine('done', 20_000, 'stdout');
      const connects = [...app.stdout.matchAll(/^round (\d+) connect (\d+)$/gm)].map((m) => Number(m[2]));
      expect(connects, app.stdout).toHaveLength(rounds);
      // A SYN the server's PAWS refused would be sent again only after the initial RTO (1 s).
      expect(Math.max(...connects), app.stdout).toBeLessThan(500);
      expect(app.stdout).not.toMatch(/^error/m);
      await s.peer(['pkill', '-f', 'listen\\(5001\\)']);
      await peer;
    });
  }, TEST_MS);

  it('connect to a closed kernel port fails with ECONNREFUSED (the kernel answers the SYN with RST)', async ({ expect }) => {
    await inLab('refused', async (s) => {
      const app = s.app('tcp-client.js', [s.lab.peerIpv4, '9', 'anyone?']);
      expect(await app.waitForLine(/^(error|connected) /, LINE_MS, 'stdout')).toBe('error ECONNREFUSED connect');
      expect(await app.waitForLine(/^closed /, LINE_MS, 'stdout')).toBe('closed hadError=true');
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
    });
  }, TEST_MS);

  it('a peer that vanishes after connect (nft drops everything) fails the connection with ETIMEDOUT after retries2 retransmissions', async ({ expect }) => {
    await inLab('vanish', async (s) => {
      const retries2 = 3;
      s.lab.spawn(s.lab.peerNs, ['sh', '-c', 'nc -l 5002 > /dev/null']);
      await s.listening(5002);
      const capture = await s.capture('vanish');
      // Its own stack, with a short retries2, built from the same variables (no preload).
      const app = s.app('tcp-vanishing-peer.js', [s.lab.peerIpv4, '5002', String(retries2)], []);
      await app.waitForLine('connected', LINE_MS, 'stdout');
      await s.nft(['table inet vanish {', '  chain in { type filter hook input priority 0; policy drop; }', '  chain out { type filter hook output priority 0; policy drop; }', '}', ''].join('\n'));
      app.child.kill('SIGUSR1');
      await app.waitForLine('wrote', LINE_MS, 'stdout');
      const failed = await app.waitForLine(/^error /, 20_000, 'stdout');
      expect(failed).toMatch(/^error ETIMEDOUT read after \d+ ms$/);
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });

      // The 21 bytes went out once, then as the tail-loss probe (RFC 8985 §7.3; with one
      // segment in flight its timeout, 2 SRTT + 200 ms, takes the RTO's place), then once per
      // RTO, backed off 200, 400, 800 ms (RFC 6298 §5.5); after the last, 1600 ms more and the
      // connection gives up (RFC 1122 §4.2.3.5 R2): ~3.2 s in all, and no RST (as Linux).
      const sent = (await s.read(capture, `tcp and src host ${s.ip}`, ['-tt'])).filter((line) => line.endsWith('length 21'));
      const times = sent.map((line) => parseFloat(line) * 1000);
      expect(times.length, sent.join('\n')).toBe(retries2 + 2);
      const gaps = times.slice(1).map((t, i) => Math.round(t - times[i]));
      for (let i = 2; i < gaps.length; i++) expect(gaps[i] / gaps[i - 1], `gaps ${gaps.join(', ')} ms`).toBeCloseTo(2, 0);
      // It gives up one doubled RTO after the last retransmission.
      const after = Number(/after (\d+) ms/.exec(failed)![1]);
      const last = gaps[gaps.length - 1];
      const giveUp = after - gaps.reduce((a, b) => a + b, 0);
      expect(giveUp / last, `${failed}; gaps ${gaps.join(', ')} ms`).toBeCloseTo(2, 0);
      expect(await s.read(capture, `tcp and src host ${s.ip} and tcp[tcpflags] & tcp-rst != 0`)).toEqual([]);
      console.log(`tcp kernel: ETIMEDOUT ${after} ms after the write; retransmission gaps ${gaps.join(', ')} ms`);
    });
  }, TEST_MS);

  it("the stack offers MSS 1460, SACK-permitted, TS and WS on its SYN and honours the kernel's SYN-ACK options", async ({ expect }) => {
    await inLab('options', async (s) => {
      const bytes = 4_000_000;
      // The addon joins the stack's segments into GSO super-segments (native/gso.c) that the
      // kernel cuts where a wire would; with segmentation offload off on the bridge's port to
      // the peer the bridge cuts them there, so the capture sees the segments a wire carries.
      const cut = await s.lab.exec(s.lab.switchNs, ['ethtool', '-K', s.lab.peerSwitchPort, 'tso', 'off', 'gso', 'off']);
      expect(cut.code, cut.stderr).toBe(0);
      const nc = s.peer(['sh', '-c', 'nc -l 5003 | sha256sum'], 30_000);
      await s.listening(5003);
      const capture = await s.capture('options');
      const app = s.app('tcp-upload.js', [s.lab.peerIpv4, '5003', String(bytes)]);
      const sent = await app.waitForLine(/^sent /, 20_000, 'stdout');
      expect(await app.waitForLine(/^closed /, LINE_MS, 'stdout')).toBe('closed hadError=false');
      expect((await nc).stdout).toBe(`${sent.split(' ')[4]}  -\n`);

      const from = (ip: string) => new RegExp(`IP .*\\) ${escape(ip)}\\.\\d+ > `);
      const syns = await s.read(capture, 'tcp[tcpflags] & tcp-syn != 0', ['-v']);
      console.log(`tcp kernel: the handshake (tcpdump -v):\n${syns.join('\n')}`);
      const syn = syns.find((line) => from(s.ip).test(line) && line.includes('Flags [S],'));
      const synAck = syns.find((line) => from(s.lab.peerIpv4).test(line) && line.includes('Flags [S.],'));
      // RFC 9293 §3.7.1: MSS from the 1500-byte link (1500 - 20 - 20); RFC 2018 §2, RFC 7323 §3.2 and §2.2.
      const synOptions = /cksum 0x[0-9a-f]+ \(correct\), seq \d+, win \d+, options \[mss 1460,sackOK,TS val (\d+) ecr 0,nop,wscale (\d+)\], length 0$/.exec(syn ?? '');
      expect(synOptions, syns.join('\n')).not.toBeNull();
      expect(Number(synOptions![2])).toBeGreaterThan(0);
      const synAckOptions = /options \[mss 1460,sackOK,TS val (\d+) ecr (\d+),nop,wscale (\d+)\], length 0$/.exec(synAck ?? '');
      expect(synAckOptions, syns.join('\n')).not.toBeNull();
      // The kernel echoes the stack's TSval: it took the stack's timestamps.
      expect(synAckOptions![2]).toBe(synOptions![1]);
      const kernelTsVal = synAckOptions![1];
      const kernelScale = Number(synAckOptions![3]);

      // All of it, so that tcpdump numbers the sequence space from the SYNs; then past them.
      const segments = (await s.read(capture, 'tcp')).filter((line) => !line.includes('Flags [S'));
      const stackSegments = segments.filter((line) => line.includes(`IP ${s.ip}.`));
      // The handshake's last ACK echoes the SYN-ACK's TSval (RFC 7323 §4.3), and every later
      // segment carries TS (§3.2: once negotiated, on all of them); no SYN-only option again.
      expect(stackSegments[0]).toMatch(new RegExp(`Flags \\[\\.\\], ack 1, win \\d+, options \\[nop,nop,TS val \\d+ ecr ${kernelTsVal}\\], length 0$`));
      expect(stackSegments.filter((line) => !/options \[nop,nop,TS val \d+ ecr \d+\]/.test(line)), 'segments without TS').toEqual([]);
      expect(stackSegments.filter((line) => /mss|wscale|sackOK/.test(line))).toEqual([]);

      // MSS honoured: full segments of 1460 - 12 (the TS option) bytes, none larger.
      const lengths = stackSegments.map((line) => Number(/length (\d+)/.exec(line)![1]));
      expect(Math.max(...lengths)).toBe(1448);
      // Window scaling honoured: the kernel's window field counts 2^wscale-byte units (RFC 7323
      // §2.3). The stack sends right up to it, never past ack + (win << wscale), and far past
      // the bare field, which alone would not let one full segment out.
      let ack = 0;
      let win = 0;
      let pastBareField = 0;
      const overruns: string[] = [];
      for (const line of segments) {
        const kernelAck = new RegExp(`IP ${escape(s.lab.peerIpv4)}\\.5003 > .* ack (\\d+), win (\\d+),`).exec(line);
        if (kernelAck) [ack, win] = [Number(kernelAck[1]), Number(kernelAck[2])];
        const segment = new RegExp(`IP ${escape(s.ip)}\\.\\d+ > .* seq \\d+:(\\d+),`).exec(line);
        if (!segment || ack === 0) continue;
        const end = Number(segment[1]);
        if (end - ack > win) pastBareField++;
        if (end - ack > win * 2 ** kernelScale) overruns.push(line);
      }
      expect(overruns, `beyond the kernel's window (wscale ${kernelScale})`).toEqual([]);
      expect(pastBareField).toBeGreaterThan(100);
    });
  }, TEST_MS);

  it(`transfers 20 MB each way at once byte-exact with ${LOSS_PERCENT}% loss both ways (nftables in the peer, as a router)`, async ({ expect }) => {
    await inLab('loss', async (s) => {
      // The kernel end is a host behind the peer, so that the peer's forward chain drops
      // packets in flight: a drop on the sending host's own output is seen by its TCP and
      // retried at once, never lost.
      const far = await s.lab.addRoutedHost();
      // One segment per packet from that host (no TSO/GSO trains): one drop is one segment.
      const gso = await s.lab.exec(far.ns, ['ip', 'link', 'set', 'dev', far.ifName, 'gso_max_segs', '1']);
      expect(gso.code, gso.stderr).toBe(0);
      const app = s.app('tcp-http-server.js', ['80'], undefined, { PYTCP_GATEWAY: far.gatewayIpv4 });
      await app.waitForLine('http listening on 80', LINE_MS, 'stdout');
      const capture = await s.capture('loss');
      const drop = `meta l4proto tcp numgen random mod 100 < ${LOSS_PERCENT} counter drop`;
      await s.nft(['table inet loss {', '  chain forward {', '    type filter hook forward priority 0;', `    iifname "${s.lab.peerIf}" ${drop}`, `    oifname "${s.lab.peerIf}" ${drop}`, '  }', '}', ''].join('\n'));

      const farExec = (argv: string[]) => timed(() => s.lab.exec(far.ns, argv, { timeoutMs: 60_000 }));
      const [[get, put], ms] = await timed(() =>
        Promise.all([
          farExec(['sh', '-c', `curl -sS --fail http://${s.ip}/bytes/${LOSSY} | sha256sum`]),
          farExec(['curl', '-sS', '--fail', '-T', data.lossy.file, `http://${s.ip}/upload`]),
        ]),
      );
      const sent = await app.waitForLine(/^sent /, LINE_MS, 'stdout');
      expect(get[0].stdout, get[0].stderr).toBe(`${sent.split(' ')[4]}  -\n`);
      expect(put[0].stdout, put[0].stderr).toBe(`${LOSSY} ${data.lossy.sha}\n`);

      const counters = [...(await s.peerOk('nft list table inet loss')).matchAll(/(iif|oif)name "[^"]+" .* counter packets (\d+)/g)];
      const dropped = Object.fromEntries(counters.map((m) => [m[1] === 'iif' ? 'fromStack' : 'toStack', Number(m[2])]));
      // 2% of ~14,000 segments and as many ACKs each way.
      expect(dropped.fromStack).toBeGreaterThan(100);
      expect(dropped.toStack).toBeGreaterThan(100);

      // What the stack put on the wire (seen before the peer's drops): SACK blocks for the
      // upload's holes (RFC 2018 §4); for the download, retransmissions of a few percent of its
      // segments, near the 2% lost (RFC 6675 repairs the holes; resending the window from each
      // hole, as without SACK, would be tens of percent).
      const stackLines = await s.read(capture, `tcp and src host ${s.ip}`);
      const seen = new Set<string>();
      let segments = 0;
      let retransmitted = 0;
      let sackAcks = 0;
      for (const line of stackLines) {
        const port = /> [\d.]+\.(\d+):/.exec(line)?.[1];
        const seq = /seq (\d+):\d+,/.exec(line);
        if (seq) {
          segments++;
          const key = `${port} ${seq[1]}`;
          if (seen.has(key)) retransmitted++;
          seen.add(key);
        } else if (/sack \d+ \{/.test(line)) sackAcks++;
      }
      expect(sackAcks).toBeGreaterThan(50);
      expect(retransmitted).toBeGreaterThan(0);
      expect(retransmitted).toBeLessThan(0.1 * segments);

      console.log(`tcp kernel: ${LOSS_PERCENT}% loss: dropped ${dropped.fromStack} packets from the stack, ${dropped.toStack} to it; the stack retransmitted ${retransmitted} of ${segments} segments, sent ${sackAcks} ACKs with SACK blocks`);
      logTransfer(`GET under ${LOSS_PERCENT}% loss (stack sends)`, LOSSY, get[1]);
      logTransfer(`PUT under ${LOSS_PERCENT}% loss (stack receives)`, LOSSY, put[1]);
      logTransfer(`GET and PUT at once under ${LOSS_PERCENT}% loss`, 2 * LOSSY, ms);
    });
  }, TEST_MS);
});
