/**
 * The DHCPv4 client against a real server: dnsmasq in the peer namespace leases the stack
 * an address, the stack probes it (RFC 5227), uses it (the kernel pings it), and releases
 * it on SIGTERM (dnsmasq logs the RELEASE).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, tunAvailable, type Lab, type StackProcess } from '../lab/lab.js';
import { until } from './wait';

const HAVE_DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].some((p) => fs.existsSync(p));
if (!tunAvailable()) console.warn('SKIPPING test/kernel/dhcp: /dev/net/tun is missing (needs root and the tun module)');
else if (!HAVE_DNSMASQ) console.warn('SKIPPING test/kernel/dhcp: dnsmasq is not installed (apt-get install -y dnsmasq; .ci/run does)');

describe.skipIf(!tunAvailable() || !HAVE_DNSMASQ)('DHCPv4 against dnsmasq', () => {
  let lab: Lab;
  let dir: string;
  let log: string;
  let stack: StackProcess;
  let leased = '';

  beforeAll(async () => {
    lab = await createLab({ name: 'dhcp' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-dhcp-'));
    log = path.join(dir, 'dnsmasq.log');
    // LAB-NOTES: no config file, no DNS, no ping before offering, our interface only.
    lab.spawn(lab.peerNs, [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--no-ping', '--bind-interfaces', `--interface=${lab.peerIf}`,
      '--dhcp-range=10.77.0.100,10.77.0.120,2m', '--dhcp-option=option:dns-server,10.77.0.1', `--dhcp-leasefile=${path.join(dir, 'leases')}`,
      `--pid-file=${path.join(dir, 'pid')}`, '--log-dhcp', `--log-facility=${log}`,
    ]);
    await until(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('DHCP, IP range'), 10_000, () => 'dnsmasq did not start');
    stack = lab.startStack(['--dhcp']);
    const line = await stack.waitForLine(/^pytcp: dhcp lease \S+ from /, 30_000, 'stdout');
    leased = /lease (\d+\.\d+\.\d+\.\d+)\/24/.exec(line)![1];
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('gets a lease from the range, with the router, the DNS server and the lease time', () => {
    const line = stack.stdout.split('\n').find((l) => l.startsWith('pytcp: dhcp lease'))!;
    expect(line).toBe(`pytcp: dhcp lease ${leased}/24 from 10.77.0.1, router 10.77.0.1, dns 10.77.0.1, lease 120 s`);
    expect(Number(leased.split('.')[3])).toBeGreaterThanOrEqual(100);
    expect(Number(leased.split('.')[3])).toBeLessThanOrEqual(120);
    // The address was probed and cleared before the lease was applied.
    expect(stack.stdout).toContain(`pytcp: ipv4 ${leased}/24 ready`);
  });

  it('answers the kernel\'s pings on the leased address', async () => {
    const ping = await lab.exec(lab.peerNs, ['ping', '-c', '5', '-i', '0.05', '-W', '1', leased], { timeoutMs: 10_000 });
    expect(ping.stdout).toContain(' 5 received');
  });

  it('is what dnsmasq recorded for its MAC', () => {
    const leases = fs.readFileSync(path.join(dir, 'leases'), 'utf8');
    expect(leases).toContain(`${lab.stackMac.toLowerCase()} ${leased}`);
  });

  it('releases the lease on SIGTERM', async () => {
    expect(await stack.stop('SIGTERM')).toBe(0);
    expect(stack.stdout).toContain(`pytcp: dhcp lease ${leased}/24 ended (released)`);
    await until(() => fs.readFileSync(log, 'utf8').includes(`DHCPRELEASE(${lab.peerIf}) ${leased}`), 5_000, () => fs.readFileSync(log, 'utf8').slice(-2000));
  });
});
