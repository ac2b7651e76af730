/**
 * The stack against a real Linux kernel: `pytcp up` on a TAP in the lab (test/lab/lab.js),
 * the kernel peer pings and arpings it, learns its MAC, and already holds one address of a
 * second stack, which must see the conflict (RFC 5227) and use only the others.
 *
 * Both labs and stacks start together in beforeAll (each stack spends ~5–9 s probing).
 * tcpdump records each peer's side; the pcaps are kept, and their paths printed, only when
 * something failed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, tunAvailable, type Capture, type Lab, type StackProcess } from '../lab/lab.js';

if (!tunAvailable()) {
  console.warn('SKIPPING test/kernel: /dev/net/tun is missing, so the stack cannot meet a real kernel here (needs root and the tun module)');
}

const READY_MS = 25_000;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function received(pingOutput: string): number {
  const match = / (\d+) received/.exec(pingOutput);
  return match ? Number(match[1]) : -1;
}

describe.skipIf(!tunAvailable())('the stack against the Linux kernel', () => {
  let dir = '';
  let failed = false;
  const labs: Lab[] = [];
  const captures: Capture[] = [];
  let main: Lab;
  let stack: StackProcess;
  let acdLab: Lab;
  let acdStack: StackProcess;

  beforeAll(async () => {
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-kernel-'));
      const build = async (name: string) => {
        const lab = await createLab({ name });
        labs.push(lab);
        captures.push(await lab.capture(path.join(dir, `${name}.pcap`)));
        return lab;
      };
      [main, acdLab] = await Promise.all([build('ping-arp'), build('acd')]);
      // The kernel already holds the second stack's middle address.
      await acdLab.exec(acdLab.peerNs, ['ip', 'addr', 'add', `${acdLab.stackIpv4(1)}/${acdLab.prefixLen}`, 'dev', acdLab.peerIf]);

      const addresses = (lab: Lab) => [0, 1, 2].flatMap((n) => ['--ipv4', `${lab.stackIpv4(n)}/${lab.prefixLen}`]);
      stack = main.startStack([...addresses(main), '--log']);
      acdStack = acdLab.startStack(addresses(acdLab));
      await Promise.all([0, 1, 2].map((n) => stack.waitForLine(new RegExp(`^pytcp: ipv4 ${escape(main.stackIpv4(n))}/24 ready$`), READY_MS, 'stdout')));
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 60_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await Promise.all(captures.map((capture) => capture.stop()));
    await Promise.all(labs.map((lab) => lab.destroy()));
    if (!dir) return;
    if (failed) {
      console.warn(`test/kernel failed: packet captures kept for inspection:\n${captures.map((c) => `  ${c.file}`).join('\n')}`);
      if (stack) console.warn(stack.describe());
      if (acdStack) console.warn(acdStack.describe());
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('announces the device with the MAC it was given', () => {
    expect(stack.stdout.split('\n')[0]).toBe(`pytcp: ${main.tap} up, mac ${main.stackMac}, mtu 1500`);
  });

  it('answers 20 of 20 kernel pings', async () => {
    const ping = await main.exec(main.peerNs, ['ping', '-c', '20', '-i', '0.05', '-W', '1', main.stackIpv4(0)], { timeoutMs: 15_000 });
    expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(20);
  });

  it('answers pings on each of its addresses', async () => {
    for (const n of [1, 2]) {
      const ping = await main.exec(main.peerNs, ['ping', '-c', '3', '-i', '0.05', '-W', '1', main.stackIpv4(n)], { timeoutMs: 10_000 });
      expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
    }
  });

  it('answers arping with its MAC', async () => {
    const arping = await main.exec(main.peerNs, ['arping', '-c', '3', '-I', main.peerIf, main.stackIpv4(0)], { timeoutMs: 10_000 });
    expect(arping.stdout.toLowerCase()).toContain(main.stackMac.toLowerCase());
    expect(arping.stdout).toMatch(/Received 3 response/);
  });

  it("is in the kernel's ARP cache with its MAC", async () => {
    const neigh = await main.exec(main.peerNs, ['ip', 'neigh', 'show', main.stackIpv4(0), 'dev', main.peerIf]);
    expect(neigh.stdout.toLowerCase()).toContain(`lladdr ${main.stackMac.toLowerCase()}`);
  });

  it('logs the echo request and its reply, and its ARP reply, with --log', () => {
    const lines = stack.stderr.split('\n');
    const { peerMac, stackMac, peerIpv4 } = main;
    const me = main.stackIpv4(0);
    const request = new RegExp(`rx ${peerMac} > ${stackMac} IPv4 ${escape(peerIpv4)} > ${escape(me)} ttl 64 id \\d+ DF ICMP echo request id \\d+ seq 1 len 56$`);
    const reply = new RegExp(`tx ${stackMac} > ${peerMac} IPv4 ${escape(me)} > ${escape(peerIpv4)} ttl 64 id \\d+ ICMP echo reply id \\d+ seq 1 len 56$`);
    const arpReply = new RegExp(`tx ${stackMac} > ${peerMac} ARP reply ${escape(me)} is-at ${stackMac}$`);
    for (const pattern of [request, reply, arpReply]) expect(lines.some((line) => pattern.test(line)), `${pattern}\n${stack.stderr.slice(-3000)}`).toBe(true);
  });

  it('reports the address the kernel already holds as a conflict and uses the others', async () => {
    const held = `${acdLab.stackIpv4(1)}/24`;
    await acdStack.waitForLine(new RegExp(`^pytcp: ipv4 ${escape(held)} conflict with ${acdLab.peerMac}, not used$`), READY_MS, 'stdout');
    for (const n of [0, 2]) await acdStack.waitForLine(new RegExp(`^pytcp: ipv4 ${escape(acdLab.stackIpv4(n))}/24 ready$`), READY_MS, 'stdout');
    expect(acdStack.stdout).not.toContain(`${held} ready`);
    for (const n of [0, 2]) {
      const ping = await acdLab.exec(acdLab.peerNs, ['ping', '-c', '3', '-i', '0.05', '-W', '1', acdLab.stackIpv4(n)], { timeoutMs: 10_000 });
      expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
    }
  }, 40_000);

  it('ends with one clear error and exit code 1 when its TAP is deleted under it', async () => {
    await acdLab.exec(acdLab.switchNs, ['ip', 'link', 'del', acdLab.tap]);
    const { code } = await Promise.race([
      acdStack.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${acdStack.describe()}`)), 5_000)),
    ]);
    expect(code).toBe(1);
    expect(acdStack.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^pytcp: ${escape(acdLab.tap)} failed: read EBADFD: .*the device is gone`));
  }, 20_000);

  it('on SIGTERM prints "down", exits 0 and releases the TAP it attached to, which stays', async () => {
    const flags = async () => {
      const { stdout } = await main.exec(main.switchNs, ['ip', '-j', 'link', 'show', 'dev', main.tap]);
      return JSON.parse(stdout)[0].flags as string[];
    };
    expect(await flags()).toContain('LOWER_UP');
    expect(await stack.stop('SIGTERM')).toBe(0);
    expect(stack.stdout.trimEnd().split('\n').pop()).toBe('pytcp: down');
    // Still there (persistent, created by the lab), and nobody holds it any more.
    expect(await flags()).toContain('NO-CARRIER');
  });
});
