/**
 * Names resolved through the stack against a real DNS server: dnsmasq in the peer namespace
 * serves `pytcp-test.lab` (and is authoritative for `.lab`, so other names there are
 * NXDOMAIN), and an app under `node --require pytcp/register` (test/kernel/apps/dns-resolve.js)
 * looks the name up with the preload's resolver, sends a datagram to it by name with plain
 * dgram (a Python socket in the peer receives it), and gets ENOTFOUND for a name dnsmasq does
 * not know. The server comes from PYTCP_DNS in one test and from the DHCP lease in the other.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { prerequisiteProblems, tunAvailable, type Lab, type StackProcess } from '../lab/lab.js';
import { labRunner, Scenario, TEST_MS } from './scenario';
import { until } from './wait';

const PYTHON = '/usr/bin/python3';
const problems = tunAvailable() ? prerequisiteProblems(['dnsmasq']) : ['/dev/net/tun is missing (needs root and the tun module)'];
if (!fs.existsSync(PYTHON)) problems.push(`${PYTHON} is missing: install it with \`apt-get install -y python3\``);
if (problems.length > 0) console.warn(`SKIPPING test/kernel/dns: ${problems.join('; ')}`);

const APP = path.join(__dirname, 'apps', 'dns-resolve.js');
const NAME = 'pytcp-test.lab';
const MISSING = 'not-here.lab';
const PORT = 5099;

/** One datagram received on the peer's address: prints `ready`, then `got <payload> from <address>`. */
const RECEIVE_ONE = [
  'import socket',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  `s.bind(("10.77.0.1", ${PORT}))`,
  's.settimeout(60)',
  'print("ready", flush=True)',
  'data, addr = s.recvfrom(2048)',
  'print("got", data.decode(), "from", addr[0], flush=True)',
].join('\n');

function output(child: ChildProcess): { text: string } {
  const out = { text: '' };
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (out.text += chunk));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (out.text += chunk));
  return out;
}

/** dnsmasq on the peer's interface only: DNS for `.lab` from its own records, never forwarded; DHCP when `dhcp`. */
async function startDnsmasq(lab: Lab, dir: string, dhcp: boolean): Promise<string> {
  const log = path.join(dir, 'dnsmasq.log');
  const dhcpArgs = dhcp ? ['--no-ping', '--dhcp-range=10.77.0.100,10.77.0.120,2m', '--dhcp-option=option:dns-server,10.77.0.1', `--dhcp-leasefile=${path.join(dir, 'leases')}`] : [];
  lab.spawn(lab.peerNs, [
    'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--local=/lab/', `--host-record=${NAME},10.77.0.1`,
    '--bind-interfaces', `--interface=${lab.peerIf}`, `--pid-file=${path.join(dir, 'pid')}`, '--log-queries', `--log-facility=${log}`, ...dhcpArgs,
  ]);
  await until(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('started, version'), 10_000, () => 'dnsmasq did not start');
  return log;
}

const runInLab = labRunner('dns', Scenario);

/** Runs the app against dnsmasq in a lab of its own; the lab always goes, the output stays when it failed. */
async function inLab(name: string, env: NodeJS.ProcessEnv, dhcp: boolean, check: (app: StackProcess, received: string, log: string) => void): Promise<void> {
  await runInLab(name, async (s) => {
    const log = await startDnsmasq(s.lab, s.dir, dhcp);
    const receiver = output(s.lab.spawn(s.lab.peerNs, [PYTHON, '-c', RECEIVE_ONE], { timeoutMs: TEST_MS }));
    await until(() => receiver.text.includes('ready'), 10_000, () => `the peer's receiver did not start: ${receiver.text}`);
    const app = s.startApp(APP, [NAME, MISSING, String(PORT)], { PYTCP_IPV6: 'off', ...env });
    const exit = await app.exited;
    if (exit.code !== 0) throw new Error(`the app exited with ${exit.code ?? exit.signal}\n${app.describe()}`);
    await until(() => receiver.text.includes('got '), 5_000, () => `the peer received nothing: ${receiver.text}`);
    check(app, receiver.text, fs.readFileSync(log, 'utf8'));
  });
}

describe.skipIf(problems.length > 0).concurrent('names resolved through the stack by dnsmasq in the peer namespace', () => {
  it('with PYTCP_DNS: lookup and a dgram send by name reach the peer; an unknown name is ENOTFOUND as Node reports it', async ({ expect }) => {
    await inLab('dns-env', { PYTCP_IPV4: '10.77.0.10/24', PYTCP_DNS: '10.77.0.1' }, false, (app, received, log) => {
      expect(app.stdout.split('\n').filter(Boolean), app.stderr).toEqual([
        'servers 10.77.0.1',
        `lookup ${NAME} 10.77.0.1 4`,
        `sent to ${NAME}:${PORT}`,
        `lookup ${MISSING} error ENOTFOUND getaddrinfo -3008 ${MISSING} "getaddrinfo ENOTFOUND ${MISSING}"`,
      ]);
      expect(received.trim().split('\n')).toEqual(['ready', `got hello ${NAME} from 10.77.0.10`]);
      // The queries came from the stack's address: A and AAAA for the name, and for the unknown one.
      expect(log).toMatch(new RegExp(`query\\[A\\] ${NAME} from 10\\.77\\.0\\.10`));
      expect(log).toMatch(new RegExp(`query\\[AAAA\\] ${NAME} from 10\\.77\\.0\\.10`));
      expect(log).toMatch(new RegExp(`query\\[A\\] ${MISSING} from 10\\.77\\.0\\.10`));
    });
  }, TEST_MS);

  it('without PYTCP_DNS: the server comes from the DHCP lease', async ({ expect }) => {
    await inLab('dns-dhcp', { PYTCP_IPV4: 'dhcp' }, true, (app, received, log) => {
      const lines = app.stdout.split('\n').filter(Boolean);
      expect(lines, app.stderr).toEqual([
        'servers 10.77.0.1',
        `lookup ${NAME} 10.77.0.1 4`,
        `sent to ${NAME}:${PORT}`,
        `lookup ${MISSING} error ENOTFOUND getaddrinfo -3008 ${MISSING} "getaddrinfo ENOTFOUND ${MISSING}"`,
      ]);
      const leased = /got hello \S+ from (10\.77\.0\.1\d\d)/.exec(received)?.[1];
      expect(leased, received).toBeDefined();
      expect(log).toMatch(new RegExp(`query\\[A\\] ${NAME} from ${leased!.replace(/\./g, '\\.')}`));
    });
  }, TEST_MS);
});
