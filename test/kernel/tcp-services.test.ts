/**
 * The TCP echo, discard and daytime services (RFC 862, 863, 867) on the stack against a real
 * Linux kernel: `pytcp up --service ...` and the examples/tcp-*.js programs (run with
 * lab.startApp, on the temporary socket API of lib/tcp-socket.ts), with the kernel's `nc`
 * as the client; and examples/tcp-echo-client.js on the stack against a kernel echo server
 * (socat running cat).
 *
 * The switch namespace the stack runs in has no address of its own, so every answer the
 * peer gets comes from the stack. Each test has its own lab (one process holds a TAP) and
 * the tests run together. The preload uses its address at once (announced, not probed);
 * `pytcp up` spends ~5–9 s probing its IPv4 address (RFC 5227) before the peer can reach it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, type ExpectStatic } from 'vitest';
import { prerequisiteProblems, tunAvailable, type ExecResult, type StackProcess } from '../lab/lab.js';
import { labRunner, LINE_MS, READY_MS, Scenario, TEST_MS } from './scenario';
import { until } from './wait';

const PYTHON = '/usr/bin/python3';
const problems = tunAvailable() ? prerequisiteProblems(['ping', 'nc', 'socat', 'ss']) : ['/dev/net/tun is missing (needs root and the tun module)'];
if (!fs.existsSync(PYTHON)) problems.push(`${PYTHON} is missing: install it with \`apt-get install -y python3\``);
if (problems.length > 0) console.warn(`SKIPPING test/kernel/tcp-services: ${problems.join('; ')}`);

const EXAMPLES = path.resolve(__dirname, '../../examples');
/** nc's idle timeout: far above what a working exchange takes, far below the test's limit. */
const NC_IDLE_S = 20;
/** A daytime connection that ends by the server's FIN ends long before nc's idle timeout. */
const EOF_MS = 5_000;
const IPV6 = 'fd00:77::10';
/** Connects to argv[1]:argv[2], says so, then reads once: `eof` (a FIN), `data` or `reset` (an RST). */
const READ_ONE = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print('connected', flush=True)
try:
    print('eof' if s.recv(1) == b'' else 'data', flush=True)
except ConnectionResetError:
    print('reset', flush=True)
`;

/** A lab for the TCP services: the examples under the preload or `pytcp up`, the peer's nc against them. */
class ServicesScenario extends Scenario {
  /** An example under the preload, on IPv4 and on `IPV6` (its DAD takes about a second). */
  app(script: string, args: string[] = []): StackProcess {
    return this.startApp(path.join(EXAMPLES, script), args, { PYTCP_IPV4: `${this.ip}/${this.lab.prefixLen}`, PYTCP_IPV6: `${IPV6}/64` });
  }

  /** A shell pipeline in the kernel peer's namespace. */
  sh(script: string, timeoutMs = 30_000): Promise<ExecResult> {
    return this.peer(['sh', '-c', script], timeoutMs);
  }

  /** `nc` to `host`:`port` with `input` (then a FIN: -N); what came back, and how long it took. */
  async nc(host: string, port: number, input: string): Promise<ExecResult & { ms: number }> {
    const start = Date.now();
    const result = await this.sh(`${input} | nc -N -w ${NC_IDLE_S} ${host} ${port}`);
    return { ...result, ms: Date.now() - start };
  }

  /** A command left running in the peer's namespace (stopped with the lab); what it printed so far. */
  peerProcess(argv: string[]): { stdout: () => string } {
    const child = this.lab.spawn(this.lab.peerNs, argv, { timeoutMs: TEST_MS });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    return { stdout: () => stdout };
  }

  /** A kernel TCP echo server on the peer (socat running cat per connection), once it listens on `port`. */
  async kernelEcho(port: number): Promise<void> {
    this.lab.spawn(this.lab.peerNs, ['socat', `TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat'], { timeoutMs: TEST_MS });
    const end = Date.now() + LINE_MS;
    for (;;) {
      const ss = await this.lab.exec(this.lab.peerNs, ['ss', '-Htln', `( sport = :${port} )`]);
      if (ss.stdout.trim() !== '') return;
      if (Date.now() > end) throw new Error(`socat never listened on ${port}: ${ss.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Echo, daytime and discard checks from the peer's `nc` against `host`, on the services' usual ports unless given. */
  async checkWithNc(expect: ExpectStatic, host: string, which: { echo?: number; discard?: number; daytime?: number }): Promise<void> {
    if (which.echo !== undefined) {
      const echo = await this.nc(host, which.echo, `printf 'echo me over ${host}\\n'`);
      expect({ code: echo.code, out: echo.stdout }, echo.stderr).toEqual({ code: 0, out: `echo me over ${host}\n` });
      // 300 kB span many segments and windows each way; cmp compares what came back with what went.
      const big = await this.sh(`f=$(mktemp); head -c 300000 /dev/urandom > $f; nc -N -w ${NC_IDLE_S} ${host} ${which.echo} < $f | cmp - $f && echo same; rm -f $f`);
      expect(big.stdout, big.stderr).toBe('same\n');
    }
    if (which.daytime !== undefined) {
      const before = Date.now();
      // No -N: nc sends nothing and waits; it ends when the server's FIN comes (stdin is at EOF already).
      const day = await this.sh(`nc -w ${NC_IDLE_S} ${host} ${which.daytime} < /dev/null`);
      const ms = Date.now() - before;
      expect(day.code, day.stderr).toBe(0);
      expect(day.stdout).toMatch(/^[^\r\n]+\r\n$/);
      // Date.parse reads what Date#toString wrote; the line has whole seconds.
      const when = Date.parse(day.stdout.trim());
      expect(when).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(when).toBeLessThanOrEqual(Date.now());
      expect(ms, 'nc ended by the server closing, not by its idle timeout').toBeLessThan(EOF_MS);
    }
    if (which.discard !== undefined) {
      // Accepted (a refused connect makes nc exit 1), read to the end, and nothing sent back.
      const discard = await this.nc(host, which.discard, 'head -c 100000 /dev/zero');
      expect({ code: discard.code, out: discard.stdout }, discard.stderr).toEqual({ code: 0, out: '' });
    }
  }
}

const inLab = labRunner('tcp-services', ServicesScenario);

describe.skipIf(problems.length > 0).concurrent('TCP echo, discard and daytime on the stack against the Linux kernel', () => {
  it('pytcp up --service serves echo, discard and daytime over TCP on IPv4 and IPv6, and ends its connections at SIGTERM', async ({ expect }) => {
    await inLab('tcp-services', async (s) => {
      const stack = s.stack(['--ipv6', `${IPV6}/64`, '--service', 'echo', '--service', 'discard', '--service', 'daytime']);
      for (const [name, port] of [['echo', 7], ['discard', 9], ['daytime', 13]] as const) {
        await stack.waitForLine(`pytcp: udp ${name} service on port ${port}`, LINE_MS, 'stdout');
        await stack.waitForLine(`pytcp: tcp ${name} service on port ${port}`, LINE_MS, 'stdout');
      }
      await stack.waitForLine(`pytcp: ipv4 ${s.ip}/24 ready`, READY_MS, 'stdout');
      await stack.waitForLine(`pytcp: ipv6 ${IPV6}/64 ready`, READY_MS, 'stdout');
      await s.reachable(s.ip);
      for (const host of [s.ip, IPV6]) await s.checkWithNc(expect, host, { echo: 7, discard: 9, daytime: 13 });

      // A connection still open at SIGTERM is closed with a FIN first: the peer reads EOF, not a reset.
      const idle = s.peerProcess([PYTHON, '-c', READ_ONE, s.ip, '9']);
      await until(() => idle.stdout().includes('connected\n'), LINE_MS, () => `the peer did not connect: ${idle.stdout()}`);
      expect(await stack.stop()).toBe(0);
      expect(stack.stdout).toMatch(/^pytcp: down$/m);
      await until(() => /\n(eof|data|reset)\n/.test(idle.stdout()), LINE_MS, () => `the peer read nothing: ${idle.stdout()}`);
      expect(idle.stdout()).toBe('connected\neof\n');
    });
  }, TEST_MS);

  it('the TCP echo, discard and daytime examples answer nc on IPv4 and IPv6', async ({ expect }) => {
    await inLab('tcp-examples', async (s) => {
      for (const [name, port] of [['echo', 7], ['discard', 9], ['daytime', 13]] as const) {
        const app = s.app(`tcp-${name}-server.js`);
        await app.waitForLine(`tcp ${name} listening on :::${port}`, LINE_MS, 'stdout');
        await s.reachable(s.ip);
        await s.reachable(IPV6);
        for (const host of [s.ip, IPV6]) await s.checkWithNc(expect, host, { [name]: port });
        expect(await app.stop()).toBe(null);
        expect(app.stderr).toBe('');
      }
    });
  }, TEST_MS);

  it('the TCP echo client example on the stack gets its reply from a kernel echo server, or ECONNREFUSED', async ({ expect }) => {
    await inLab('tcp-client', async (s) => {
      await s.kernelEcho(7007);
      // IPv4 only: a new stack's IPv6 address is still tentative (DAD, RFC 4862 §5.4) when the client connects at once.
      const client = s.app('tcp-echo-client.js', [s.lab.peerIpv4, '7007', 'hello from the stack']);
      expect({ exit: await client.exited, out: client.stdout }, client.describe()).toEqual({ exit: { code: 0, signal: null }, out: `reply from ${s.lab.peerIpv4}:7007: hello from the stack\n` });
      const refused = s.app('tcp-echo-client.js', [s.lab.peerIpv4, '7008']);
      expect(await refused.exited, refused.describe()).toEqual({ code: 1, signal: null });
      expect(refused.stderr).toBe(`tcp echo client: connect ECONNREFUSED ${s.lab.peerIpv4}:7008\n`);
    });
  }, TEST_MS);
});
