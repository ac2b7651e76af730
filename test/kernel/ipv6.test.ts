/**
 * IPv6 against a real Linux kernel: the kernel peer pings the stack's EUI-64 link-local and a
 * static address, with big payloads that arrive and leave in fragments (RFC 8200 §4.5),
 * learns its MAC by Neighbor Discovery (RFC 4861) and with ndisc6; an address the kernel
 * already holds fails Duplicate Address Detection (RFC 4862 §5.4); radvd's Router
 * Advertisement gives the stack a SLAAC address (RFC 4862 §5.5); the stack joins its
 * solicited-node groups with MLDv2 reports (RFC 3810 §5.2); and `--no-ipv6` keeps the stack
 * off IPv6 altogether.
 *
 * Only one process can hold a lab's TAP, so each scenario has its own lab; the labs are built
 * and the stacks started together in beforeAll. tcpdump records each peer's side from before
 * the stack starts; the pcaps are kept, and their paths printed, only when something failed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ipv6Address } from '../../lib/wire/address';
import { createLab, tunAvailable, type Capture, type Lab, type StackProcess } from '../lab/lab.js';
import { until } from './wait';

function installed(tool: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((dir) => fs.existsSync(path.join(dir, tool)));
}

const HAVE_TCPDUMP = installed('tcpdump');
const HAVE_RADVD = installed('radvd');
const HAVE_NDISC6 = installed('ndisc6');
if (!tunAvailable()) {
  console.warn('SKIPPING test/kernel/ipv6: /dev/net/tun is missing, so the stack cannot meet a real kernel here (needs root and the tun module)');
} else if (!HAVE_TCPDUMP) {
  console.warn('SKIPPING test/kernel/ipv6: tcpdump is not installed (apt-get install -y tcpdump; .ci/run does)');
} else {
  if (!HAVE_RADVD) console.warn('SKIPPING the SLAAC test in test/kernel/ipv6: radvd is not installed (apt-get install -y radvd)');
  if (!HAVE_NDISC6) console.warn('SKIPPING the ndisc6 test in test/kernel/ipv6: ndisc6 is not installed (apt-get install -y ndisc6)');
}

/** DAD takes ~1–2 s here; the margin is for a busy 2-core machine. */
const READY_MS = 15_000;
/** radvd answers the stack's Router Solicitation at once, or sends unsolicited every 3–4 s. */
const SLAAC_MS = 15_000;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function received(pingOutput: string): number {
  const match = / (\d+) received/.exec(pingOutput);
  return match ? Number(match[1]) : -1;
}

/**
 * The /64 `prefix` (its four groups, 'fe80:0:0:0') with the modified EUI-64 interface
 * identifier of `mac` (RFC 4291 Appendix A: the universal/local bit inverted, ff:fe in the
 * middle), in canonical text (RFC 5952). Computed here by hand, not with the stack's code.
 */
function eui64Address(prefix: string, mac: string): string {
  const m = mac.split(':').map((part) => parseInt(part, 16));
  const iid = [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]];
  const groups = [0, 2, 4, 6].map((i) => ((iid[i] << 8) | iid[i + 1]).toString(16));
  return Ipv6Address.parse(`${prefix}:${groups.join(':')}`).toString();
}

/** RFC 4291 §2.7.1: ff02::1:ff + the low 24 bits of the address. */
function solicitedNode(address: string): string {
  const bytes = Ipv6Address.parse(address).bytes;
  return Ipv6Address.parse(`ff02::1:ff${bytes[13].toString(16).padStart(2, '0')}:${((bytes[14] << 8) | bytes[15]).toString(16)}`).toString();
}

/** Polls `check` every 50 ms until it holds; throws after `ms`. */
describe.skipIf(!tunAvailable() || !HAVE_TCPDUMP)('IPv6 against the Linux kernel', () => {
  let dir = '';
  let failed = false;
  const labs: Lab[] = [];
  const stacks: StackProcess[] = [];
  const captures: Record<string, Capture> = {};
  // ping: --ipv6 fd00:77::20/64 --log; dad: the kernel holds ::30; slaac: radvd; off: --no-ipv6.
  let pingLab: Lab;
  let pingStack: StackProcess;
  let linkLocal = '';
  let dadLab: Lab;
  let dadStack: StackProcess;
  let slaacLab: Lab | undefined;
  let slaacStack: StackProcess | undefined;
  let slaacAddress = '';
  let offLab: Lab;
  let offStack: StackProcess;

  const STATIC = 'fd00:77::20';
  const HELD = 'fd00:77::30';
  const FREE = 'fd00:77::31';

  beforeAll(async () => {
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-ipv6-'));
      const build = async (name: string) => {
        const lab = await createLab({ name });
        labs.push(lab);
        captures[name] = await lab.capture(path.join(dir, `${name}.pcap`));
        return lab;
      };
      const start = (lab: Lab, args: string[]) => {
        const stack = lab.startStack(args);
        stacks.push(stack);
        return stack;
      };

      const ping = async () => {
        pingLab = await build('ping');
        pingStack = start(pingLab, ['--ipv6', `${STATIC}/64`, '--log']);
        linkLocal = eui64Address('fe80:0:0:0', pingLab.stackMac);
        await Promise.all([
          pingStack.waitForLine(`pytcp: ipv6 ${STATIC}/64 ready (static)`, READY_MS, 'stdout'),
          pingStack.waitForLine(`pytcp: ipv6 ${linkLocal}/64 ready (link-local)`, READY_MS, 'stdout'),
        ]);
      };

      const dad = async () => {
        dadLab = await build('dad');
        // The kernel holds ::30 already (nodad: it is its own at once) and defends it.
        const add = await dadLab.exec(dadLab.peerNs, ['ip', '-6', 'addr', 'add', `${HELD}/64`, 'dev', dadLab.peerIf, 'nodad']);
        if (add.code !== 0) throw new Error(`ip addr add ${HELD}: ${add.stderr}`);
        dadStack = start(dadLab, ['--ipv6', `${HELD}/64`, '--ipv6', `${FREE}/64`]);
        await Promise.all([
          dadStack.waitForLine(`pytcp: ipv6 ${HELD}/64 duplicate, not used`, READY_MS, 'stdout'),
          dadStack.waitForLine(`pytcp: ipv6 ${FREE}/64 ready (static)`, READY_MS, 'stdout'),
        ]);
      };

      const slaac = async () => {
        const lab = await build('slaac');
        slaacLab = lab;
        // radvd wants IPv6 forwarding on (LAB-NOTES); this namespace only.
        const sysctl = await lab.exec(lab.peerNs, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
        if (sysctl.code !== 0) throw new Error(`sysctl forwarding: ${sysctl.stderr}`);
        const conf = path.join(dir, 'radvd.conf');
        fs.writeFileSync(conf, [
          `interface ${lab.peerIf} {`,
          '  AdvSendAdvert on;',
          '  MinRtrAdvInterval 3;',
          '  MaxRtrAdvInterval 4;',
          '  prefix fd00:77::/64 { AdvOnLink on; AdvAutonomous on; };',
          '  RDNSS fd00:77::1 {};',
          '};',
          '',
        ].join('\n'), { mode: 0o644 });
        const radvd = lab.spawn(lab.peerNs, ['radvd', '-n', '-C', conf, '-p', path.join(dir, 'radvd.pid'), '-m', 'stderr']);
        let radvdLog = '';
        radvd.stderr?.setEncoding('utf8').on('data', (chunk: string) => (radvdLog += chunk));
        radvd.stdout?.resume();
        // radvd has no "ready" line; its pid file is written once the config is read and the socket is open.
        await until(() => fs.existsSync(path.join(dir, 'radvd.pid')) || radvd.exitCode !== null, 10_000, () => `radvd did not start: ${radvdLog}`);
        if (radvd.exitCode !== null) throw new Error(`radvd exited (${radvd.exitCode}): ${radvdLog}`);
        slaacAddress = eui64Address('fd00:77:0:0', lab.stackMac);
        slaacStack = start(lab, ['--slaac']);
        await slaacStack.waitForLine(`pytcp: ipv6 ${slaacAddress}/64 ready (slaac)`, SLAAC_MS, 'stdout');
      };

      const off = async () => {
        offLab = await build('off');
        offStack = start(offLab, ['--ipv4', `${offLab.stackIpv4(0)}/24`, '--no-ipv6']);
        // Probing the IPv4 address (RFC 5227) takes 5–9 s: by then the stack is fully up.
        await offStack.waitForLine(`pytcp: ipv4 ${offLab.stackIpv4(0)}/24 ready`, 25_000, 'stdout');
      };

      await Promise.all([ping(), dad(), HAVE_RADVD ? slaac() : Promise.resolve(), off()]);
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 45_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await Promise.all(Object.values(captures).map((capture) => capture.stop()));
    await Promise.all(labs.map((lab) => lab.destroy()));
    if (!dir) return;
    if (failed) {
      console.warn(`test/kernel/ipv6 failed: packet captures kept for inspection:\n${Object.values(captures).map((c) => `  ${c.file}`).join('\n')}`);
      for (const stack of stacks) console.warn(stack.describe());
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('answers 5 of 5 kernel pings on its EUI-64 link-local and on its static address', async () => {
    for (const target of [`${linkLocal}%${pingLab.peerIf}`, STATIC]) {
      const ping = await pingLab.exec(pingLab.peerNs, ['ping', '-6', '-c', '5', '-i', '0.05', '-W', '1', target], { timeoutMs: 10_000 });
      expect(received(ping.stdout), `${target}\n${ping.stdout}${ping.stderr}`).toBe(5);
    }
  });

  it("is in the kernel's neighbor cache with its MAC for both addresses (ND both ways)", async () => {
    const neigh = await pingLab.exec(pingLab.peerNs, ['ip', '-6', 'neigh', 'show', 'dev', pingLab.peerIf]);
    const mac = pingLab.stackMac.toLowerCase();
    for (const address of [linkLocal, STATIC]) {
      expect(neigh.stdout, neigh.stdout).toMatch(new RegExp(`^${escape(address)} lladdr ${escape(mac)} `, 'm'));
    }
  });

  it('reassembles 4000-byte echo requests and answers them in fragments', async () => {
    const ping = await pingLab.exec(pingLab.peerNs, ['ping', '-6', '-c', '3', '-i', '0.2', '-s', '4000', '-W', '1', STATIC], { timeoutMs: 10_000 });
    expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
    expect(ping.stdout).toContain(`4008 bytes from ${STATIC}`);
    // The replies left the stack as fragments (next header 44, RFC 8200 §4.5).
    const { peerMac, stackMac } = pingLab;
    const fragment = new RegExp(`tx ${stackMac} > ${peerMac} IPv6 ${escape(STATIC)} > ${escape(pingLab.peerIpv6)} hlim 64 frag \\d+`);
    await until(() => pingStack.stderr.split('\n').filter((line) => fragment.test(line)).length >= 9, 2_000, () => pingStack.stderr.slice(-3000));
  });

  it('logs IPv6 echo requests and replies with --log', async () => {
    const { peerMac, stackMac, peerIpv6 } = pingLab;
    const request = new RegExp(`rx ${peerMac} > ${stackMac} IPv6 ${escape(peerIpv6)} > ${escape(STATIC)} hlim 64 ICMPv6 echo request id \\d+ seq \\d+ len 64$`);
    const reply = new RegExp(`tx ${stackMac} > ${peerMac} IPv6 ${escape(STATIC)} > ${escape(peerIpv6)} hlim 64 ICMPv6 echo reply id \\d+ seq \\d+ len 64$`);
    const lines = () => pingStack.stderr.split('\n');
    await until(() => [request, reply].every((pattern) => lines().some((line) => pattern.test(line))), 2_000, () => pingStack.stderr.slice(-3000));
  });

  it.skipIf(!HAVE_NDISC6)("answers ndisc6's Neighbor Solicitation with its MAC", async () => {
    const ndisc = await pingLab.exec(pingLab.peerNs, ['ndisc6', '-1', '-r', '3', '-w', '1000', STATIC, pingLab.peerIf], { timeoutMs: 10_000 });
    expect(ndisc.code, ndisc.stdout + ndisc.stderr).toBe(0);
    expect(ndisc.stdout.toLowerCase()).toContain(`target link-layer address: ${pingLab.stackMac.toLowerCase()}`);
  });

  it("reports its solicited-node groups to ff02::16 with MLDv2 (type 143) while starting", async () => {
    // The report carries a Hop-by-Hop header (Router Alert, RFC 3810 §5): ICMPv6 starts at 48.
    const read = await pingLab.exec(pingLab.peerNs, ['tcpdump', '-r', captures.ping.file, '-n', '-v', `ether src ${pingLab.stackMac} and ip6 and ip6[6] == 0 and ip6[48] == 143`]);
    expect(read.code, read.stderr).toBe(0);
    const text = read.stdout;
    expect(text, text).toMatch(/ > ff02::16: HBH \(rtalert: 0x0000\).*\[icmp6 sum ok\] ICMP6, multicast listener report v2/);
    // Joins: EXCLUDE mode with no sources ("to_ex"), one for each address's group.
    for (const address of [STATIC, linkLocal]) expect(text, text).toContain(`gaddr ${solicitedNode(address)} to_ex, 0 source(s)`);
  });

  it('reports an address the kernel holds as duplicate and uses the other', async () => {
    expect(dadStack.stdout).not.toContain(`pytcp: ipv6 ${HELD}/64 ready`);
    const ping = await dadLab.exec(dadLab.peerNs, ['ping', '-6', '-c', '3', '-i', '0.05', '-W', '1', FREE], { timeoutMs: 10_000 });
    expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
    // ::30 is answered by the kernel itself (it is local there), never by the stack.
    const neigh = await dadLab.exec(dadLab.peerNs, ['ip', '-6', 'neigh', 'show', HELD, 'dev', dadLab.peerIf]);
    expect(neigh.stdout).not.toContain(dadLab.stackMac.toLowerCase());
  });

  it.skipIf(!HAVE_RADVD)("forms a SLAAC address from radvd's prefix, which the kernel pings", async () => {
    const lab = slaacLab!;
    const ping = await lab.exec(lab.peerNs, ['ping', '-6', '-c', '3', '-i', '0.05', '-W', '1', slaacAddress], { timeoutMs: 10_000 });
    expect(received(ping.stdout), ping.stdout + ping.stderr).toBe(3);
    expect(slaacStack!.stdout).toContain(`pytcp: ipv6 ${eui64Address('fe80:0:0:0', lab.stackMac)}/64 ready (link-local)`);
  });

  it('speaks no IPv6 at all with --no-ipv6', async () => {
    expect(offStack.stdout).not.toMatch(/ipv6/i);
    const wouldBe = `${eui64Address('fe80:0:0:0', offLab.stackMac)}%${offLab.peerIf}`;
    const ping6 = await offLab.exec(offLab.peerNs, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '1', wouldBe], { timeoutMs: 10_000 });
    expect(ping6.code, ping6.stdout + ping6.stderr).not.toBe(0);
    expect(received(ping6.stdout)).toBeLessThanOrEqual(0);
    // Alive all the while: IPv4 answers.
    const ping4 = await offLab.exec(offLab.peerNs, ['ping', '-c', '2', '-i', '0.05', '-W', '1', offLab.stackIpv4(0)], { timeoutMs: 10_000 });
    expect(received(ping4.stdout), ping4.stdout + ping4.stderr).toBe(2);
    // Not one IPv6 frame from the stack's MAC since it started (RS, MLD, NS, NA, echo reply).
    const read = await offLab.exec(offLab.peerNs, ['tcpdump', '-r', captures.off.file, '-n', `ether src ${offLab.stackMac} and ip6`]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('');
  });
});
