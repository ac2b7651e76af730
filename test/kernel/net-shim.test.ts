/**
 * `net` under the preload against the Linux kernel: an ES module's default and named
 * imports of node:net listen and connect on the stack (`--import pytcp/register`), while a
 * Unix-domain path in the same program stays on the kernel's net (issue 7 item 4), and the
 * rest of node:net is Node's own (item 3). The
 * peer reaches the servers at the stack's address, which only the stack holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import { prerequisiteProblems, tunAvailable } from '../lab/lab.js';
import { labRunner, LINE_MS, Scenario, TEST_MS } from './scenario';

const problems = tunAvailable() ? prerequisiteProblems(['nc']) : ['/dev/net/tun is missing (needs root and the tun module)'];
if (problems.length > 0) console.warn(`SKIPPING test/kernel/net-shim: ${problems.join('; ')}`);

const REPO = path.resolve(__dirname, '../..');
const APPS = path.join(__dirname, 'apps');
const REGISTER_URL = pathToFileURL(path.join(REPO, 'dist', 'shim', 'register.js')).href;

const inLab = labRunner('net-shim', Scenario);

describe.skipIf(problems.length > 0)('node:net under --import pytcp/register against the kernel', () => {
  it('default and named imports listen and connect on the stack; a Unix-domain path stays on the kernel', async ({ expect }) => {
    await inLab('esm', async (s) => {
      const peerPort = 7100;
      const received = s.lab.spawn(s.lab.peerNs, ['nc', '-l', '-N', '-s', s.lab.peerIpv4, '-p', String(peerPort)]);
      let line = '';
      received.stdout?.on('data', (d: Buffer) => (line += d.toString()));
      // The app connects at once: nc must be listening first.
      for (let i = 0; i < 100 && !(await s.peer(['ss', '-Hltn', `sport = :${peerPort}`])).stdout.includes(String(peerPort)); i++) await new Promise((r) => setTimeout(r, 20));
      const ipcPath = path.join(s.dir, 'app.sock');
      const env = { PYTCP_IPV4: `${s.ip}/${s.lab.prefixLen}`, PYTCP_IPV6: 'off' };
      const app = s.startApp(path.join(APPS, 'net-esm.mjs'), ['7000', s.lab.peerIpv4, String(peerPort), ipcPath], env, ['--import', REGISTER_URL]);
      expect(await app.waitForLine(/^default import echo/, LINE_MS, 'stdout')).toBe('default import echo on 7000 handle StackTcpHandle');
      expect(await app.waitForLine(/^named import echo/, LINE_MS, 'stdout')).toBe('named import echo on 7001 handle StackTcpHandle');
      expect(await app.waitForLine(/^ipc echo/, LINE_MS, 'stdout')).toBe('ipc echo: hello over ipc handle Pipe');
      // Node 20's answers (getDefaultAutoSelectFamily is true from Node 20 on).
      expect(await app.waitForLine(/^rest of net/, LINE_MS, 'stdout')).toBe(
        'rest of net: isIP 6 4 0 isIPv4 true isIPv6 true blocked true false address ::1 ipv6 80 autoSelectFamily true',
      );
      expect(await app.waitForLine(/^connect/, LINE_MS, 'stdout')).toBe(
        `connected to ${s.lab.peerIpv4}:${peerPort} from ${s.ip} instanceof Socket true handle StackTcpHandle`,
      );
      await s.reachable();
      for (const port of [7000, 7001]) {
        const nc = await s.peer(['sh', '-c', `printf 'ping ${port}\\n' | nc -N -w 3 ${s.ip} ${port}`]);
        expect(nc.stdout, nc.stderr).toBe(`ping ${port}\n`);
      }
      const end = Date.now() + LINE_MS;
      while (!line.includes('\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(line).toBe('hello from the stack\n');
      expect(fs.existsSync(ipcPath)).toBe(false);
    });
  }, TEST_MS);

  it("connects over IPv6 on the program's first line: the preload's addresses are in use at once, not tentative (no DAD wait)", async ({ expect }) => {
    await inLab('ipv6-at-start', async (s) => {
      const port = 7200;
      const stackIpv6 = 'fd00:77::10';
      const received = s.lab.spawn(s.lab.peerNs, ['nc', '-6', '-l', '-N', '-s', s.lab.peerIpv6, '-p', String(port)]);
      let line = '';
      received.stdout?.on('data', (d: Buffer) => (line += d.toString()));
      for (let i = 0; i < 100 && !(await s.peer(['ss', '-Hltn', `sport = :${port}`])).stdout.includes(String(port)); i++) await new Promise((r) => setTimeout(r, 20));
      const env = { PYTCP_IPV4: `${s.ip}/${s.lab.prefixLen}`, PYTCP_IPV6: `${stackIpv6}/64` };
      const app = s.startApp(path.join(APPS, 'connect-at-start.js'), [s.lab.peerIpv6, String(port)], env, ['--require', path.join(REPO, 'dist', 'shim', 'register.js')]);
      const connected = await app.waitForLine(/^(connected|error)/, LINE_MS, 'stdout');
      expect(connected).toMatch(new RegExp(`^connected ${stackIpv6} in \\d+ ms$`));
      // DAD would have held the address for about a second (RFC 4862 §5.4: RetransTimer after a random delay).
      expect(Number(/in (\d+) ms/.exec(connected)?.[1])).toBeLessThan(500);
      const end = Date.now() + LINE_MS;
      while (!line.includes('\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(line).toBe('hello at start\n');
    });
  }, TEST_MS);
});
