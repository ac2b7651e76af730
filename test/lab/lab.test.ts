/**
 * The lab itself: it builds the topology it promises, and destroy() leaves nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, sweepStaleLabs, tunAvailable, type Lab } from './lab.js';

if (!tunAvailable()) console.warn('SKIPPING test/lab: /dev/net/tun is missing, so no TAP lab can be built here (needs root and the tun module)');

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 })
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter(Boolean);
}

describe.skipIf(!tunAvailable())('the real-kernel lab', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: 'lab-test' });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('names everything after this process, within the 15-byte interface limit', () => {
    expect(lab.switchNs).toMatch(new RegExp(`^pytcp-${process.pid}-\\d+-sw$`));
    expect(lab.peerNs).toMatch(new RegExp(`^pytcp-${process.pid}-\\d+-peer$`));
    for (const name of [lab.tap, lab.peerIf, lab.bridge]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
    expect(namespaces()).toEqual(expect.arrayContaining([lab.switchNs, lab.peerNs]));
  });

  it('puts the TAP on the bridge, up, with IPv6 off in the switch namespace', async () => {
    const { stdout } = await lab.exec(lab.switchNs, ['ip', '-j', '-d', 'link', 'show', 'dev', lab.tap]);
    const [tap] = JSON.parse(stdout);
    expect(tap.master).toBe(lab.bridge);
    expect(tap.flags).toContain('UP');
    expect(tap.linkinfo.info_kind).toBe('tun');
    expect(tap.linkinfo.info_data.type).toBe('tap');
    // The stack's MAC must not be the TAP's own: the bridge keeps frames for that one.
    expect(tap.address).not.toBe(lab.stackMac);
    expect(lab.stackMac).toMatch(/^02(:[0-9a-f]{2}){5}$/);

    const bridge = JSON.parse((await lab.exec(lab.switchNs, ['ip', '-j', '-d', 'link', 'show', 'dev', lab.bridge])).stdout)[0];
    expect(bridge.linkinfo.info_data.stp_state).toBe(0);
    expect(bridge.linkinfo.info_data.mcast_snooping).toBe(0);

    const ipv6Off = await lab.exec(lab.switchNs, ['sysctl', '-n', `net.ipv6.conf.${lab.tap}.disable_ipv6`]);
    expect(ipv6Off.stdout.trim()).toBe('1');
  });

  it('gives the peer its addresses on a veth whose other end is on the bridge', async () => {
    const [peer] = JSON.parse((await lab.exec(lab.peerNs, ['ip', '-j', 'addr', 'show', 'dev', lab.peerIf])).stdout);
    expect(peer.address).toBe(lab.peerMac);
    expect(peer.operstate).toBe('UP');
    const addrs = peer.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
    expect(addrs).toEqual(expect.arrayContaining([`${lab.peerIpv4}/${lab.prefixLen}`, `${lab.peerIpv6}/64`]));
    const ports = (await lab.exec(lab.switchNs, ['ip', '-o', 'link', 'show', 'master', lab.bridge])).stdout;
    expect(ports.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('adds kernel hosts that reach the peer across the bridge', async () => {
    const host = await lab.addKernelPeer();
    expect(host.ipv4).toBe('10.77.0.2');
    const ping = await lab.exec(host.ns, ['ping', '-c', '2', '-i', '0.05', '-W', '1', lab.peerIpv4]);
    expect(ping.stdout).toMatch(/ 2 received/);
  });

  it('adds a host beyond the peer, which routes for it (forwarding on in its namespace only)', async () => {
    const far = await lab.addRoutedHost();
    expect(far).toMatchObject({ ipv4: '10.78.0.2', routerIpv4: '10.78.0.1', gatewayIpv4: lab.peerIpv4, prefixLen: 24 });
    expect(far.ns).toMatch(new RegExp(`^pytcp-${process.pid}-\\d+-far1$`));
    expect(Buffer.byteLength(far.ifName)).toBeLessThanOrEqual(15);
    expect(lab.namespaces).toContain(far.ns);
    const forwarding = async (ns: string) => (await lab.exec(ns, ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
    expect(await forwarding(lab.peerNs)).toBe('1');
    expect(await forwarding(lab.switchNs)).toBe('0');
    expect(await forwarding(far.ns)).toBe('0');
    const route = await lab.exec(far.ns, ['ip', 'route', 'show', 'default']);
    expect(route.stdout).toContain(`default via ${far.routerIpv4} dev ${far.ifName}`);
    // A host on the bridge that routes 10.78.0.0/24 via the peer (as the stack does with
    // --gateway) reaches the far host through one forwarding hop.
    const host = await lab.addKernelPeer();
    const via = await lab.exec(host.ns, ['ip', 'route', 'add', `${far.ipv4}/32`, 'via', far.gatewayIpv4]);
    expect(via.code, via.stderr).toBe(0);
    const ping = await lab.exec(host.ns, ['ping', '-c', '2', '-i', '0.05', '-W', '1', far.ipv4]);
    expect(ping.stdout).toMatch(/ 2 received/);
    expect(ping.stdout).toMatch(/ttl=63/);
    const second = await lab.addRoutedHost();
    expect(second).toMatchObject({ ipv4: '10.78.1.2', routerIpv4: '10.78.1.1' });
  });

  it('runs the pytcp CLI in the switch namespace, bounded', async () => {
    const help = await lab.runCli(['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pytcp up /);
  });

  it('bounds every command, reports a failing one without throwing, and runs only in its own namespaces', async () => {
    const slow = await lab.exec(lab.peerNs, ['sleep', '5'], { timeoutMs: 200 });
    expect(slow.timedOut).toBe(true);
    expect(slow.code).not.toBe(0);
    expect(() => lab.exec('pytcp-not-ours', ['true'])).toThrow(/not a namespace of this lab/);
    const bad = await lab.exec(lab.peerNs, ['ip', 'link', 'show', 'no-such-dev']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/does not exist/);
  });

  it('sweeps the namespaces of a process that is gone, and only those', async () => {
    const gone = spawnSync('true').pid as number;
    const stale = `pytcp-${gone}-1-sw`;
    const mine = `pytcp-${process.pid}-999-sw`;
    execFileSync('ip', ['netns', 'add', stale], { timeout: 10_000 });
    execFileSync('ip', ['netns', 'add', mine], { timeout: 10_000 });
    try {
      expect(sweepStaleLabs()).toContain(stale);
      expect(namespaces()).not.toContain(stale);
      expect(namespaces()).toContain(mine);
    } finally {
      spawnSync('ip', ['netns', 'del', stale], { timeout: 10_000 });
      spawnSync('ip', ['netns', 'del', mine], { timeout: 10_000 });
    }
  });

  it('destroy() kills its processes and leaves no namespace behind, however often it is called', async () => {
    const other = await createLab({ name: 'lab-test-destroy' });
    const far = await other.addRoutedHost();
    const sleeper = other.spawn(other.switchNs, ['sleep', '60']);
    const made = other.namespaces;
    expect(made).toEqual([other.switchNs, other.peerNs, far.ns]);
    expect(namespaces()).toEqual(expect.arrayContaining(made));
    // A second call (a signal handler's, say) waits for the same teardown.
    await Promise.all([other.destroy(), other.destroy()]);
    expect(sleeper.exitCode !== null || sleeper.signalCode !== null).toBe(true);
    const left = namespaces();
    for (const ns of made) expect(left).not.toContain(ns);
    // The TAP went with its namespace; it did not fall back into this one.
    const root = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 });
    expect(root).not.toContain(other.tap);
  });
});
