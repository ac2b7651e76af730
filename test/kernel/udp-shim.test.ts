/**
 * Unmodified dgram programs on the stack against a real Linux kernel: the examples and the
 * small apps in test/kernel/apps run under `node --require pytcp/register` (or
 * `--import`) with lab.startApp, and `pytcp up --service`; the kernel peer talks to them
 * with socat, nc and a Python socket (test/kernel/apps/udp-peer.py).
 *
 * The switch namespace the apps run in has no address of its own, so every answer the peer
 * gets comes from the stack. Each test has its own lab (one process holds a TAP) and the
 * tests run together. The preload uses its address at once (announced, not probed);
 * `pytcp up` spends ~5–9 s probing its address (RFC 5227) before the peer can reach it. tcpdump records the peer's side where a test reads the wire; the
 * pcaps are kept, and their paths printed with the apps' output, only when a test failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import { prerequisiteProblems, tunAvailable, type StackProcess } from '../lab/lab.js';
import { escape, exitWithin, labRunner, LINE_MS, READY_MS, Scenario, TEST_MS } from './scenario';

const PYTHON = '/usr/bin/python3';
const problems = tunAvailable() ? prerequisiteProblems(['ping', 'socat', 'nc', 'tcpdump']) : ['/dev/net/tun is missing (needs root and the tun module)'];
if (!fs.existsSync(PYTHON)) problems.push(`${PYTHON} is missing: install it with \`apt-get install -y python3\``);
if (problems.length > 0) console.warn(`SKIPPING test/kernel/udp-shim: ${problems.join('; ')}`);

const REPO = path.resolve(__dirname, '../..');
const EXAMPLES = path.join(REPO, 'examples');
const APPS = path.join(__dirname, 'apps');
const UDP_PEER = path.join(APPS, 'udp-peer.py');
const REGISTER_URL = pathToFileURL(path.join(REPO, 'dist', 'shim', 'register.js')).href;

/** The EUI-64 link-local address of a MAC (RFC 4291 Appendix A): the U/L bit flipped, ff:fe in the middle. */
function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const words = [(b[0] ^ 0x02) * 256 + b[1], b[2] * 256 + 0xff, 0xfe00 + b[3], b[4] * 256 + b[5]];
  return `fe80::${words.map((w) => w.toString(16)).join(':')}`;
}

/** A lab for the dgram apps: they run under the preload, and the peer exchanges datagrams with udp-peer.py. */
class UdpScenario extends Scenario {
  /** An app under the preload, IPv4 only (no DAD or MLD of its own on the wire). */
  app(script: string, args: string[] = [], nodeArgs?: string[]): StackProcess {
    return this.startApp(script, args, { PYTCP_IPV4: `${this.ip}/${this.lab.prefixLen}`, PYTCP_IPV6: 'off' }, nodeArgs);
  }

  /** `udp-peer.py`'s one line: `reply N bytes same`, `error E...` or `timeout`. */
  async exchange(host: string, port: number, size: number, waitS = 2): Promise<string> {
    const result = await this.peer([PYTHON, UDP_PEER, host, String(port), String(size), String(waitS)]);
    return (result.stdout + result.stderr).trim();
  }
}

const inLab = labRunner('udp-shim', UdpScenario);

describe.skipIf(problems.length > 0).concurrent('unmodified dgram programs on the stack against the Linux kernel', () => {
  it('the echo example answers socat, nc and the echo client example', async ({ expect }) => {
    await inLab('echo', async (s) => {
      const app = s.app(path.join(EXAMPLES, 'udp-echo-server.js'));
      await app.waitForLine(/^udp echo listening on 0\.0\.0\.0:7$/, LINE_MS, 'stdout');
      await s.reachable();

      const socat = await s.peer(['sh', '-c', `printf 'hello from socat\\n' | socat -t2 -T2 - UDP:${s.ip}:7`]);
      expect(socat.stdout, socat.stderr).toBe('hello from socat\n');
      const nc = await s.peer(['sh', '-c', `printf 'hello from nc\\n' | nc -u -w1 ${s.ip} 7`]);
      expect(nc.stdout, nc.stderr).toBe('hello from nc\n');
      const client = await s.peer([process.execPath, path.join(EXAMPLES, 'udp-echo-client.js'), s.ip, '7', 'hello from node']);
      expect({ code: client.code, out: client.stdout }, client.stderr).toEqual({ code: 0, out: `reply from ${s.ip}:7: hello from node\n` });
    });
  }, TEST_MS);

  it('echoes a 4000-byte datagram byte-exact, fragmented on the 1500-byte link both ways (RFC 791 §3.2)', async ({ expect }) => {
    await inLab('fragments', async (s) => {
      const link = await s.peer(['ip', '-o', 'link', 'show', 'dev', s.lab.peerIf]);
      expect(link.stdout).toMatch(/ mtu 1500 /);
      const app = s.app(path.join(EXAMPLES, 'udp-echo-server.js'));
      await app.waitForLine(/^udp echo listening on /, LINE_MS, 'stdout');
      await s.reachable();

      const capture = await s.capture('fragments');
      expect(await s.exchange(s.ip, 7, 4000)).toBe('reply 4000 bytes same');
      // MF set or a non-zero offset: a fragment. 4008 bytes of UDP take 1480 + 1480 + 1048.
      const fragments = await s.read(capture, 'ip[6:2] & 0x3fff != 0');
      const from = (src: string, dst: string) => fragments.filter((line) => new RegExp(`IP ${escape(src)}(\\.\\d+)? > ${escape(dst)}(\\.\\d+)?: `).test(line)).length;
      expect({ toStack: from(s.lab.peerIpv4, s.ip), fromStack: from(s.ip, s.lab.peerIpv4) }, fragments.join('\n')).toEqual({ toStack: 3, fromStack: 3 });
    });
  }, TEST_MS);

  it('answers a datagram to a closed port with ICMP port unreachable, which the kernel reports as ECONNREFUSED', async ({ expect }) => {
    await inLab('closed-port', async (s) => {
      const app = s.app(path.join(EXAMPLES, 'udp-echo-server.js'));
      await app.waitForLine(/^udp echo listening on /, LINE_MS, 'stdout');
      await s.reachable();

      const capture = await s.capture('closed-port');
      expect(await s.exchange(s.ip, 9999, 20)).toBe('error ECONNREFUSED');
      const icmp = await s.read(capture, 'icmp');
      expect(icmp.some((line) => line.includes(`IP ${s.ip} > ${s.lab.peerIpv4}: ICMP ${s.ip} udp port 9999 unreachable`)), icmp.join('\n')).toBe(true);
    });
  }, TEST_MS);

  it('a group joined with addMembership receives the kernel\'s multicast, announced by an IGMPv3 report (RFC 3376)', async ({ expect }) => {
    await inLab('multicast', async (s) => {
      const capture = await s.capture('multicast');
      const app = s.app(path.join(APPS, 'multicast-receiver.js'), ['239.77.0.7', '5007', '1']);
      await app.waitForLine('joined 239.77.0.7 on 5007', LINE_MS, 'stdout');
      await s.reachable();
      // A group nobody joined first: the stack must not hand it to the socket.
      await s.peer([PYTHON, path.join(APPS, 'multicast-sender.py'), s.lab.peerIpv4, '239.77.0.8', '5007', 'not joined']);
      await s.peer([PYTHON, path.join(APPS, 'multicast-sender.py'), s.lab.peerIpv4, '239.77.0.7', '5007', 'to the group']);
      expect(await app.waitForLine(/^from /, LINE_MS, 'stdout')).toBe(`from ${s.lab.peerIpv4}: to the group`);
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
      expect((await s.read(capture, 'igmp')).length).toBeGreaterThanOrEqual(2);
      // -v shows the group records: the join is a change to exclude {} (any source), and
      // closing the socket leaves the group with a change to include {} (§5.1).
      const verbose = await s.peer(['tcpdump', '-r', capture.file, '-n', '-v', 'igmp']);
      const records = verbose.stdout.replace(/\n\s+/g, ' ');
      expect(records, records).toMatch(new RegExp(`${escape(s.ip)} > 224\\.0\\.0\\.22: igmp v3 report, 1 group record\\(s\\) \\[gaddr 239\\.77\\.0\\.7 to_ex, 0 source\\(s\\)\\]`));
      expect(records, records).toMatch(/\[gaddr 239\.77\.0\.7 to_in, 0 source\(s\)\]/);
      expect(records, records).toMatch(/options \(RA\)/);
      expect(app.stdout).not.toContain('not joined');
    });
  }, TEST_MS);

  it("reports the kernel's ICMP port unreachable to a connected shim socket as ECONNREFUSED", async ({ expect }) => {
    await inLab('refused', async (s) => {
      const app = s.app(path.join(APPS, 'connect-refused.js'), ['5000', '9999']);
      await app.waitForLine('waiting on 5000', LINE_MS, 'stdout');
      await s.reachable();
      // The go-ahead: the app answers it by sending from a socket connected to the peer's port 9999.
      await s.exchange(s.ip, 5000, 2, 0.2);
      expect(await app.waitForLine(/^(error|no error)/, LINE_MS, 'stdout')).toBe('error ECONNREFUSED recvmsg');
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
    });
  }, TEST_MS);

  it('pytcp up --service runs echo, daytime and discard on IPv4 and IPv6', async ({ expect }) => {
    await inLab('services', async (s) => {
      const ip6 = 'fd00:77::10';
      const stack = s.stack(['--ipv6', `${ip6}/64`, '--service', 'echo', '--service', 'daytime', '--service', 'discard']);
      for (const [name, port] of [['echo', 7], ['daytime', 13], ['discard', 9]]) {
        await stack.waitForLine(`pytcp: udp ${name} service on port ${port}`, LINE_MS, 'stdout');
      }
      await stack.waitForLine(new RegExp(`^pytcp: ipv4 ${escape(s.ip)}/24 ready$`), READY_MS, 'stdout');
      await stack.waitForLine(`pytcp: ipv6 ${ip6}/64 ready`, READY_MS, 'stdout');
      await s.reachable();

      const echo = await s.peer(['sh', '-c', `printf 'echo me\\n' | nc -u -w1 ${s.ip} 7`]);
      expect(echo.stdout, echo.stderr).toBe('echo me\n');
      expect(await s.exchange(ip6, 7, 1200)).toBe('reply 1200 bytes same');

      const before = Date.now();
      const daytime = await s.peer(['sh', '-c', `printf 'time?' | nc -u -w1 ${s.ip} 13`]);
      expect(daytime.stdout, daytime.stderr).toMatch(/^[^\r\n]+\r\n$/);
      // Date.parse reads what Date#toString wrote; the line has whole seconds.
      const when = Date.parse(daytime.stdout.trim());
      expect(when).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(when).toBeLessThanOrEqual(Date.now());

      // No reply and no ICMP error: the port is open and drops what it gets.
      expect(await s.exchange(s.ip, 9, 100, 1)).toBe('timeout');
      expect(await s.exchange(ip6, 9, 100, 1)).toBe('timeout');

      expect(await stack.stop()).toBe(0);
      expect(stack.stdout).toMatch(/^pytcp: down$/m);
    });
  }, TEST_MS);

  it('ends by itself, exit code 0, once its one socket is closed after a datagram', async ({ expect }) => {
    await inLab('exit-after', async (s) => {
      const app = s.app(path.join(APPS, 'receive-once.js'), ['5001']);
      await app.waitForLine('bound to 5001', LINE_MS, 'stdout');
      await s.reachable();
      const sent = s.exchange(s.ip, 5001, 5, 0.2);
      expect(await exitWithin(app, 3_000)).toEqual({ code: 0, signal: null });
      await sent;
      expect(app.stdout).toContain(`got 5 bytes from ${s.lab.peerIpv4}\n`);
    });
  }, TEST_MS);

  it('ends at once, exit code 0, when the app uses no network at all', async ({ expect }) => {
    await inLab('no-network', async (s) => {
      const app = s.app(path.join(APPS, 'no-network.js'));
      expect(await exitWithin(app, 5_000)).toEqual({ code: 0, signal: null });
      expect(app.stdout).toBe('sum 6\n');
      expect(app.stderr).toBe('');
    });
  }, TEST_MS);

  it('answers a link-local IPv6 peer: rinfo carries the zone (fe80::…%tap) and the reply leaves by it', async ({ expect }) => {
    await inLab('link-local', async (s) => {
      // PYTCP_IPV6 unset: IPv6 with the EUI-64 link-local address only (RFC 4291 §2.5.6, RFC 4862 §5.3).
      const env = { PYTCP_IPV4: `${s.ip}/${s.lab.prefixLen}` };
      const app = s.startApp(path.join(APPS, 'echo-rinfo.js'), ['7'], env);
      await app.waitForLine('echo-rinfo on :::7', LINE_MS, 'stdout');
      const linkLocal = eui64LinkLocal(s.lab.stackMac);
      // DAD (1 s) before the address answers; the peer's first tries may time out.
      let reply = '';
      for (let i = 0; i < 10 && !reply.startsWith('reply'); i++) reply = await s.exchange(`${linkLocal}%${s.lab.peerIf}`, 7, 64, 1);
      expect(reply).toBe('reply 64 bytes same');
      expect(await app.waitForLine(/^from fe80::/, LINE_MS, 'stdout')).toMatch(new RegExp(`^from fe80::[0-9a-f:]+%${escape(s.lab.tap)} IPv6$`));
    });
  }, TEST_MS);

  it("runs an ES module's default and named dgram imports over the stack with --import", async ({ expect }) => {
    await inLab('esm', async (s) => {
      const app = s.app(path.join(APPS, 'echo.mjs'), ['7000'], ['--import', REGISTER_URL]);
      await app.waitForLine('default import echo on 7000', LINE_MS, 'stdout');
      await app.waitForLine('named import echo on 7001', LINE_MS, 'stdout');
      await s.reachable();
      expect(await s.exchange(s.ip, 7000, 100)).toBe('reply 100 bytes same');
      expect(await s.exchange(s.ip, 7001, 100)).toBe('reply 100 bytes same');
    });
  }, TEST_MS);
});
