/**
 * `pytcp up --tun`: the stack on a TUN device (bare IP, no ARP), with the kernel of the
 * lab's switch namespace as the peer on the other side of the point-to-point link.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, tunAvailable, type Lab } from '../lab/lab.js';
import { until } from './wait';

const BIN = path.resolve(__dirname, '../../bin/pytcp.js');

function collect(stream: NodeJS.ReadableStream | null): { text: string } {
  const out = { text: '' };
  stream?.on('data', (chunk) => (out.text += String(chunk)));
  return out;
}

describe.skipIf(!tunAvailable())('the stack on a TUN device against the Linux kernel', () => {
  let lab: Lab;
  const tun = `tun${process.pid % 100000}`;

  beforeAll(async () => {
    lab = await createLab({ name: 'tun' });
    for (const argv of [
      ['ip', 'tuntap', 'add', 'mode', 'tun', 'name', tun],
      ['ip', 'addr', 'add', '10.78.0.1/24', 'dev', tun],
      ['ip', 'link', 'set', tun, 'up'],
    ]) {
      const r = await lab.exec(lab.switchNs, argv);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('uses its address at once (no link layer to probe), answers the kernel\'s pings, and stops cleanly', async () => {
    const child = lab.spawn(lab.switchNs, [process.execPath, BIN, 'up', '--tun', tun, '--ipv4', '10.78.0.2/24', '--log']);
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until(() => stdout.text.includes('pytcp: ipv4 10.78.0.2/24 ready'), 5_000, () => stdout.text + stderr.text);
    expect(stdout.text.split('\n')[0]).toBe(`pytcp: ${tun} up, mtu 1500`);
    const ping = await lab.exec(lab.switchNs, ['ping', '-c', '5', '-i', '0.05', '-W', '1', '10.78.0.2'], { timeoutMs: 10_000 });
    expect(ping.stdout).toContain(' 5 received');
    expect(stderr.text).toMatch(/rx IPv4 10\.78\.0\.1 > 10\.78\.0\.2 ttl 64 .*ICMP echo request/);
    expect(stderr.text).toMatch(/tx IPv4 10\.78\.0\.2 > 10\.78\.0\.1 ttl 64 .*ICMP echo reply/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout.text.trimEnd().split('\n').pop()).toBe('pytcp: down');
  }, 20_000);
});
