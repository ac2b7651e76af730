/**
 * IPv4 against a real Linux kernel: fragmentation both ways (RFC 791 §3.2) and routing beyond
 * a gateway. The kernel pings the stack with payloads that do not fit the 1500-byte link, and
 * `pytcp ping` pings the kernel: plainly, with a big payload, and through the peer acting as a
 * router (lab.addRoutedHost()) to a host one hop away.
 *
 * Only one process can hold a lab's TAP, and each stack spends ~5–9 s probing its address
 * (RFC 5227) before it sends anything, so every scenario has its own lab; the labs are built,
 * and the `pytcp ping` runs started, together in beforeAll. tcpdump records each peer's side;
 * the pcaps are kept, and their paths printed, only when something failed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, tunAvailable, type Capture, type ExecResult, type Lab, type RoutedHost, type StackProcess } from '../lab/lab.js';

if (!tunAvailable()) {
  console.warn('SKIPPING test/kernel/ipv4: /dev/net/tun is missing, so the stack cannot meet a real kernel here (needs root and the tun module)');
}

const READY_MS = 25_000;
/** Probing (up to 9 s) and three requests 0.2 s apart, with room for a busy 2-core machine. */
const CLI_PING_MS = 30_000;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function received(pingOutput: string): number {
  const match = / (\d+) received/.exec(pingOutput);
  return match ? Number(match[1]) : -1;
}

/** The kernel's IPv4 counters in one namespace (/proc/net/snmp is per namespace). */
async function ipCounters(lab: Lab, ns: string): Promise<Record<string, number>> {
  const { stdout } = await lab.exec(ns, ['cat', '/proc/net/snmp']);
  const [names, values] = stdout.split('\n').filter((line) => line.startsWith('Ip:')).map((line) => line.split(/\s+/).slice(1));
  return Object.fromEntries(names.map((name, i) => [name, Number(values[i])]));
}

function delta(after: Record<string, number>, before: Record<string, number>, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, after[name] - before[name]]));
}

/** Polls `check` every 20 ms until it holds, at most `ms`: the log reaches us through a pipe, a little after the wire. */
async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

const FRAGMENT_COUNTERS = ['FragOKs', 'FragCreates', 'ReasmOKs', 'ReasmFails'];

describe.skipIf(!tunAvailable())('IPv4 fragmentation and routing against the Linux kernel', () => {
  let dir = '';
  let failed = false;
  const labs: Lab[] = [];
  const captures: Capture[] = [];
  const runs: Record<string, Promise<ExecResult>> = {};
  const outputs: Record<string, ExecResult> = {};
  /** `pytcp up --log`, pinged by its kernel peer. */
  let target: Lab;
  let stack: StackProcess;
  let plain: Lab;
  let big: Lab;
  let routed: Lab;
  let far: RoutedHost;
  let unrouted: Lab;
  let unroutedFar: RoutedHost;

  /** `pytcp ping` from the lab's TAP with the stack's first address, to its end. */
  function cliPing(lab: Lab, args: string[]): Promise<ExecResult> {
    return lab.runCli(['ping', '--tap', lab.tap, '--mac', lab.stackMac, '--ipv4', `${lab.stackIpv4(0)}/${lab.prefixLen}`, ...args], { timeoutMs: CLI_PING_MS });
  }

  async function result(name: string): Promise<ExecResult> {
    outputs[name] = await runs[name];
    return outputs[name];
  }

  beforeAll(async () => {
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-ipv4-'));
      const build = async (name: string) => {
        const lab = await createLab({ name });
        labs.push(lab);
        captures.push(await lab.capture(path.join(dir, `${name}.pcap`)));
        return lab;
      };
      [target, plain, big, routed, unrouted] = await Promise.all(['kernel-pings', 'stack-pings', 'stack-big', 'gateway', 'no-gateway'].map(build));
      [far, unroutedFar] = await Promise.all([routed.addRoutedHost(), unrouted.addRoutedHost()]);

      stack = target.startStack(['--ipv4', `${target.stackIpv4(0)}/${target.prefixLen}`, '--log']);
      runs.plain = cliPing(plain, ['-c', '3', '-i', '0.2', plain.peerIpv4]);
      runs.big = cliPing(big, ['-c', '3', '-i', '0.2', '-s', '3000', big.peerIpv4]);
      runs.routed = cliPing(routed, ['--gateway', far.gatewayIpv4, '-c', '3', '-i', '0.2', far.ipv4]);
      runs.unrouted = cliPing(unrouted, ['-c', '3', '-i', '0.2', unroutedFar.ipv4]);
      await stack.waitForLine(new RegExp(`^pytcp: ipv4 ${escape(target.stackIpv4(0))}/24 ready$`), READY_MS, 'stdout');
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 60_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    // Let the runs end (each is bounded) before their labs go, so none is killed mid-line.
    await Promise.all(Object.values(runs));
    await Promise.all(captures.map((capture) => capture.stop()));
    await Promise.all(labs.map((lab) => lab.destroy()));
    if (!dir) return;
    if (failed) {
      console.warn(`test/kernel/ipv4 failed: packet captures kept for inspection:\n${captures.map((c) => `  ${c.file}`).join('\n')}`);
      if (stack) console.warn(stack.describe());
      for (const [name, out] of Object.entries(outputs)) console.warn(`--- pytcp ping (${name}), exit ${out.code} ---\n${out.stdout}${out.stderr}`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe('the kernel pings the stack', () => {
    /** The stack's --log lines for one datagram it sent to the peer, fragments in order. */
    function txFragments(id: number): string[] {
      const me = escape(target.stackIpv4(0));
      const peer = escape(target.peerIpv4);
      const pattern = new RegExp(`tx ${target.stackMac} > ${target.peerMac} IPv4 ${me} > ${peer} ttl 64 id ${id}( MF)?( frag \\d+)? ICMP fragment len \\d+$`);
      return stack.stderr.split('\n').filter((line) => pattern.test(line));
    }

    function txFragmentIds(): Set<number> {
      const ids = new Set<number>();
      for (const line of stack.stderr.split('\n')) {
        const match = new RegExp(`tx .* IPv4 ${escape(target.stackIpv4(0))} > .* id (\\d+) .*ICMP fragment`).exec(line);
        if (match) ids.add(Number(match[1]));
      }
      return ids;
    }

    it('reassembles a 4000-byte echo request in 3 fragments and answers in 3 fragments the kernel reassembles', async () => {
      const idsBefore = txFragmentIds();
      const before = await ipCounters(target, target.peerNs);
      const ping = await target.exec(target.peerNs, ['ping', '-c', '3', '-i', '0.2', '-s', '4000', '-W', '1', target.stackIpv4(0)], { timeoutMs: 10_000 });
      expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
      expect(ping.stdout).toMatch(/^4008 bytes from .*icmp_seq=1 ttl=64/m);
      // The kernel fragmented each request into 3 and reassembled each of the stack's replies.
      expect(delta(await ipCounters(target, target.peerNs), before, FRAGMENT_COUNTERS)).toEqual({ FragOKs: 3, FragCreates: 9, ReasmOKs: 3, ReasmFails: 0 });

      // And the stack sent each reply as 3 fragments: 1480 + 1480 + 1048 = 8 + 4000 bytes.
      const newIds = () => [...txFragmentIds()].filter((id) => !idsBefore.has(id));
      await until(() => newIds().length >= 3 && txFragments(Math.max(...newIds())).length >= 3, 2_000);
      const ids = newIds();
      expect(ids, stack.stderr.slice(-3000)).toHaveLength(3);
      for (const id of ids) {
        const lines = txFragments(id);
        expect(lines.map((line) => / ICMP fragment len (\d+)$/.exec(line)?.[1])).toEqual(['1480', '1480', '1048']);
        expect(lines[0]).toMatch(/ MF ICMP/);
        expect(lines[1]).toMatch(/ MF frag 1480 ICMP/);
        expect(lines[2]).toMatch(/ id \d+ frag 2960 ICMP/);
      }
      // It logged the kernel's request fragments too, MF set on all but the last.
      const rxRequest = new RegExp(`rx ${target.peerMac} > ${target.stackMac} IPv4 ${escape(target.peerIpv4)} > ${escape(target.stackIpv4(0))} ttl 64 id \\d+ MF ICMP fragment len 1480$`);
      expect(stack.stderr.split('\n').some((line) => rxRequest.test(line))).toBe(true);
    });

    it('does the same for 8000 bytes in 6 fragments with DF off (ping -M dont)', async () => {
      const idsBefore = txFragmentIds();
      const before = await ipCounters(target, target.peerNs);
      const ping = await target.exec(target.peerNs, ['ping', '-c', '3', '-i', '0.2', '-s', '8000', '-M', 'dont', '-W', '1', target.stackIpv4(0)], { timeoutMs: 10_000 });
      expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
      expect(delta(await ipCounters(target, target.peerNs), before, FRAGMENT_COUNTERS)).toEqual({ FragOKs: 3, FragCreates: 18, ReasmOKs: 3, ReasmFails: 0 });
      const newIds = () => [...txFragmentIds()].filter((id) => !idsBefore.has(id));
      await until(() => newIds().length >= 3 && txFragments(Math.max(...newIds())).length >= 6, 2_000);
      const ids = newIds();
      expect(ids, stack.stderr.slice(-3000)).toHaveLength(3);
      for (const id of ids) {
        const lines = txFragments(id);
        expect(lines.map((line) => / frag (\d+) /.exec(line)?.[1] ?? '0')).toEqual(['0', '1480', '2960', '4440', '5920', '7400']);
        expect(lines.map((line) => / MF /.test(line))).toEqual([true, true, true, true, true, false]);
        expect(lines[5]).toMatch(/ ICMP fragment len 608$/);
      }
    });

    it('is not reached by a 1600-byte ping with DF set (a local error in the kernel) and keeps answering', async () => {
      const ping = await target.exec(target.peerNs, ['ping', '-c', '1', '-M', 'do', '-s', '1600', '-W', '1', target.stackIpv4(0)], { timeoutMs: 10_000 });
      expect(ping.code).not.toBe(0);
      expect(ping.stdout + ping.stderr).toMatch(/message too long, mtu=1500/);
      expect(received(ping.stdout)).toBe(0);
      expect(stack.stderr).not.toMatch(/ICMP echo request id \d+ seq \d+ len 1600$/m);
      const after = await target.exec(target.peerNs, ['ping', '-c', '3', '-i', '0.05', '-W', '1', target.stackIpv4(0)], { timeoutMs: 10_000 });
      expect(received(after.stdout), after.stdout + after.stderr).toBe(3);
      expect(stack.hasExited).toBe(false);
    });
  });

  describe('the stack pings (pytcp ping)', () => {
    it('pings its kernel peer: 3 of 3', async () => {
      const { code, stdout } = await result('plain');
      expect(stdout).toContain(`PING ${plain.peerIpv4} 56(84) bytes of data.`);
      expect(stdout.match(new RegExp(`^64 bytes from ${escape(plain.peerIpv4)}: icmp_seq=\\d ttl=64 time=`, 'gm'))).toHaveLength(3);
      expect(stdout).toContain(`--- ${plain.peerIpv4} ping statistics ---`);
      expect(stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss$/m);
      expect(code).toBe(0);
    });

    it('pings the host beyond the gateway: 3 of 3, one hop off the TTL', async () => {
      const { code, stdout } = await result('routed');
      const replies = stdout.match(new RegExp(`^64 bytes from ${escape(far.ipv4)}: icmp_seq=\\d ttl=\\d+ `, 'gm')) ?? [];
      expect(replies, stdout).toHaveLength(3);
      for (const reply of replies) expect(reply).toContain(' ttl=63 ');
      expect(stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss$/m);
      expect(code).toBe(0);
      // The peer forwarded them: its counters say so, in its own namespace.
      expect((await ipCounters(routed, routed.peerNs)).ForwDatagrams).toBeGreaterThanOrEqual(6);
    });

    it('pings with 3000 bytes: it fragments, the kernel reassembles, and it reassembles the fragmented replies', async () => {
      const { code, stdout } = await result('big');
      expect(stdout).toContain(`PING ${big.peerIpv4} 3000(3028) bytes of data.`);
      expect(stdout.match(new RegExp(`^3008 bytes from ${escape(big.peerIpv4)}: icmp_seq=\\d ttl=64 `, 'gm'))).toHaveLength(3);
      expect(stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss$/m);
      expect(code).toBe(0);
      // A fresh namespace: all of its fragment traffic was this ping's (1480 + 1480 + 48 bytes each way).
      const counters = await ipCounters(big, big.peerNs);
      expect({ ReasmOKs: counters.ReasmOKs, ReasmFails: counters.ReasmFails, FragOKs: counters.FragOKs, FragCreates: counters.FragCreates }).toEqual({ ReasmOKs: 3, ReasmFails: 0, FragOKs: 3, FragCreates: 9 });
    });

    it('without --gateway has no route beyond its subnet: one no-route line per request, exit 1', async () => {
      const { code, stdout } = await result('unrouted');
      for (const seq of [1, 2, 3]) expect(stdout).toContain(`ping: icmp_seq=${seq}: no-route\n`);
      expect(stdout).not.toMatch(/bytes from/);
      expect(stdout).toMatch(/ 0 received/);
      expect(code).toBe(1);
      // Nothing left the stack for the far host: the peer forwarded nothing.
      expect((await ipCounters(unrouted, unrouted.peerNs)).ForwDatagrams).toBe(0);
    });
  });
});
