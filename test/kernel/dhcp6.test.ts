/**
 * DHCPv6 against a real server: dnsmasq in the peer namespace advertises the prefix with
 * the M flag (--enable-ra) and leases addresses; the stack, following the RA (--slaac),
 * takes a lease, runs DAD on it, uses it (the kernel pings it) and releases it on SIGTERM.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, tunAvailable, type Lab, type StackProcess } from '../lab/lab.js';
import { until } from './wait';

const HAVE_DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].some((p) => fs.existsSync(p));
if (!tunAvailable()) console.warn('SKIPPING test/kernel/dhcp6: /dev/net/tun is missing (needs root and the tun module)');
else if (!HAVE_DNSMASQ) console.warn('SKIPPING test/kernel/dhcp6: dnsmasq is not installed (apt-get install -y dnsmasq-base; .ci/run does)');

describe.skipIf(!tunAvailable() || !HAVE_DNSMASQ)('DHCPv6 against dnsmasq', () => {
  let lab: Lab;
  let dir: string;
  let log: string;
  let stack: StackProcess;
  let leased = '';

  beforeAll(async () => {
    lab = await createLab({ name: 'dhcp6' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-dhcp6-'));
    log = path.join(dir, 'dnsmasq.log');
    // Router Advertisements need forwarding on in the peer's namespace (only there).
    await lab.exec(lab.peerNs, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    lab.spawn(lab.peerNs, [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--enable-ra', '--bind-interfaces', `--interface=${lab.peerIf}`,
      '--dhcp-range=fd00:77::100,fd00:77::1ff,64,2m', '--dhcp-option=option6:dns-server,[fd00:77::1]', `--dhcp-leasefile=${path.join(dir, 'leases')}`,
      `--pid-file=${path.join(dir, 'pid')}`, '--log-dhcp', `--log-facility=${log}`,
    ]);
    await until(() => fs.existsSync(log) && /DHCPv6|IPv6 router advertisement/.test(fs.readFileSync(log, 'utf8')), 10_000, () => 'dnsmasq did not start');
    stack = lab.startStack(['--slaac', '--ipv4', `${lab.stackIpv4(0)}/24`]);
    const line = await stack.waitForLine(/^pytcp: dhcp6 lease \S+\/128/, 30_000, 'stdout');
    leased = /lease (\S+)\/128/.exec(line)![1];
    await stack.waitForLine(`pytcp: ipv6 ${leased}/128 ready (dhcp)`, 10_000, 'stdout');
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('takes an address from the range, with the DNS server, once the RA sets M', () => {
    expect(leased).toMatch(/^fd00:77::1[0-9a-f]{2}$/);
    expect(stack.stdout).toContain(`pytcp: dhcp6 lease ${leased}/128, dns fd00:77::1, valid 120 s`);
  });

  it('answers the kernel\'s pings on the leased address', async () => {
    const ping = await lab.exec(lab.peerNs, ['ping', '-6', '-c', '3', '-i', '0.05', '-W', '1', leased], { timeoutMs: 10_000 });
    expect(ping.stdout).toContain(' 3 received');
  });

  it('releases the lease on SIGTERM', async () => {
    expect(await stack.stop('SIGTERM')).toBe(0);
    expect(stack.stdout).toContain(`pytcp: dhcp6 lease ${leased}/128 ended (released)`);
    await until(() => /DHCPRELEASE/.test(fs.readFileSync(log, 'utf8')), 5_000, () => fs.readFileSync(log, 'utf8').slice(-2000));
  });
});
