/**
 * TapDevice/TunDevice and the native addon against the real kernel: every device lives
 * in a network namespace this file creates, and the namespace's kernel is the peer.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTunTap, type TunTapError } from '../../lib/phy/native';
import { TapDevice, TunDevice, type TunTapDevice } from '../../lib/phy/tuntap';
import {
  arpRequest,
  icmpEchoFrame,
  icmpEchoPacket,
  ipv4,
  mac,
  parseArpReply,
  parseEchoReplyFrame,
  parseEchoReplyPacket,
  sameBytes,
} from './frames';
import { createNetns, deleteNetns, hasTun, ifName, ipIn, linkNames, openFdCount } from './lab';

if (!hasTun) {
  console.warn('SKIPPING test/phy/tuntap.test.ts: /dev/net/tun is absent, so no TAP/TUN device can be opened here');
}

const STACK_MAC = mac('02:00:00:00:00:02');
const STACK_IP = ipv4('10.201.0.2');
const KERNEL_IP = ipv4('10.201.0.1');

/** Namespaces and devices made by the running test, removed after it whatever happens. */
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

function netns(tag: string): string {
  const name = createNetns(tag);
  cleanups.push(() => deleteNetns(name));
  return name;
}

function track<T extends TunTapDevice>(dev: T): T {
  // Closed before the namespace goes: an open fd would keep the namespace alive.
  cleanups.push(() => dev.close());
  return dev;
}

/** A TAP in its own namespace whose kernel side is 10.201.0.1/24. */
function tapWithKernelPeer(tag: string): { ns: string; dev: TapDevice } {
  const ns = netns(tag);
  const dev = track(TapDevice.open({ name: ifName(tag), netns: ns }));
  ipIn(ns, 'addr', 'add', '10.201.0.1/24', 'dev', dev.name);
  return { ns, dev };
}

/** Collects received frames until `done` says so; rejects on a device error or after `ms`. */
function collect(dev: TunTapDevice, done: (frames: Uint8Array[]) => boolean, ms = 3000): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const frames: Uint8Array[] = [];
    const timer = setTimeout(() => {
      dev.attach(undefined);
      reject(new Error(`timed out after ${ms} ms with ${frames.length} frames`));
    }, ms);
    const drain = (): void => {
      for (let frame = dev.receive(); frame !== undefined; frame = dev.receive()) frames.push(frame);
      if (done(frames)) {
        clearTimeout(timer);
        dev.attach(undefined);
        resolve(frames);
      }
    };
    dev.attach({
      readable: drain,
      error(err) {
        clearTimeout(timer);
        reject(err);
      },
    });
    drain();
  });
}

/** The network namespace this thread is in (setns moves a thread, so read thread-self). */
function threadNetns(): string {
  return fs.readlinkSync('/proc/thread-self/ns/net');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A real gc() without starting the worker with --expose-gc. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Runs a script in a plain `node` that can require the TypeScript sources. */
const TS_HOOK = path.join(__dirname, 'ts-hook.cjs');
const TUNTAP_SOURCE = path.resolve(__dirname, '../../lib/phy/tuntap.ts');
function nodeChild(prefix: string[], script: string, timeout: number) {
  const args = [...prefix, process.execPath, '-r', TS_HOOK, '-e', script];
  return spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout });
}

describe.skipIf(!hasTun)('TapDevice and TunDevice on the real kernel', () => {
  it('exchanges ARP and ICMP echo with the kernel of a namespace', async () => {
    const ownNetns = threadNetns();
    const { ns, dev } = tapWithKernelPeer('a');
    expect(threadNetns()).toBe(ownNetns); // the open stepped into the namespace and back
    expect(linkNames(ns)).toContain(dev.name);
    expect(dev.medium).toBe('ethernet');
    expect(dev.mtu).toBe(1500);
    expect(dev.kernelMac.isUnicast).toBe(true);
    const kernelMac = new Uint8Array(6);
    dev.kernelMac.writeTo(kernelMac);

    const arpReply = collect(dev, (frames) => frames.some((f) => parseArpReply(f) !== undefined));
    dev.transmit(arpRequest(STACK_MAC, STACK_IP, KERNEL_IP));
    dev.flush();
    const reply = (await arpReply).map(parseArpReply).find((r) => r !== undefined)!;
    expect(sameBytes(reply.dst, STACK_MAC)).toBe(true);
    expect(sameBytes(reply.senderMac, kernelMac)).toBe(true);
    expect(sameBytes(reply.senderIp, KERNEL_IP)).toBe(true);
    expect(sameBytes(reply.targetMac, STACK_MAC)).toBe(true);
    expect(sameBytes(reply.targetIp, STACK_IP)).toBe(true);

    // The ARP request taught the kernel our address, so the echo reply needs no ARP of its own.
    const payload = new TextEncoder().encode('pytcp tuntap echo');
    const echoReply = collect(dev, (frames) => frames.some((f) => parseEchoReplyFrame(f) !== undefined));
    dev.transmit(icmpEchoFrame(STACK_MAC, kernelMac, STACK_IP, KERNEL_IP, 0x5054, 7, payload));
    dev.flush();
    const echo = (await echoReply).map(parseEchoReplyFrame).find((r) => r !== undefined)!;
    expect(sameBytes(echo.dstMac, STACK_MAC)).toBe(true);
    expect(sameBytes(echo.srcMac, kernelMac)).toBe(true);
    expect(sameBytes(echo.src, KERNEL_IP)).toBe(true);
    expect(sameBytes(echo.dst, STACK_IP)).toBe(true);
    expect([echo.id, echo.seq]).toEqual([0x5054, 7]);
    expect(sameBytes(echo.payload, payload)).toBe(true);
    expect(echo.checksumsValid).toBe(true);
    expect(dev.stats).toMatchObject({ txFrames: 2, txBatches: 2, txDropped: 0 });
  });

  it('hands over what the kernel queued in batches, one callback for many frames', async () => {
    const { ns, dev } = tapWithKernelPeer('b');
    ipIn(ns, 'neigh', 'replace', '10.201.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', dev.name, 'nud', 'permanent');
    const kernelMac = new Uint8Array(6);
    dev.kernelMac.writeTo(kernelMac);
    const count = 200;
    const payload = new Uint8Array(56).fill(0xa5);

    const seen = new Set<number>();
    const replies = collect(dev, (frames) => {
      for (const f of frames.splice(0)) {
        const r = parseEchoReplyFrame(f);
        if (r !== undefined && r.id === 0xb00c) seen.add(r.seq);
      }
      return seen.size === count;
    });
    for (let seq = 0; seq < count; seq++) dev.transmit(icmpEchoFrame(STACK_MAC, kernelMac, STACK_IP, KERNEL_IP, 0xb00c, seq, payload));
    dev.flush();
    await replies;

    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(dev.stats).toMatchObject({ txFrames: count, txBatches: 1, txDropped: 0, rxDropped: 0 });
    expect(dev.stats.rxFrames).toBe(count);
    expect(dev.stats.rxBatches).toBeLessThan(dev.stats.rxFrames);
  });

  it('opens and closes 1,000 times without leaking fds, poll handles or memory', async () => {
    const ns = netns('c');
    const name = ifName('c');
    ipIn(ns, 'tuntap', 'add', 'mode', 'tap', 'name', name); // persistent: opening only attaches
    const addon = loadTunTap();
    const gc = gcFunction();
    const cycle = (times: number): void => {
      for (let i = 0; i < times; i++) TapDevice.open({ name, netns: ns }).close();
    };
    const settle = async (): Promise<void> => {
      await sleep(20); // uv_close callbacks run on the next loop iteration
      gc();
      await sleep(20); // node-api finalizers run in an immediate after the collection
      gc();
    };
    const resources = (): string[] => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();

    cycle(100); // warm up code paths and allocator pools
    await settle();
    const before = { fds: openFdCount(), live: addon.liveHandles(), resources: resources(), memory: process.memoryUsage() };

    const started = performance.now();
    cycle(1000);
    const elapsed = performance.now() - started;
    await settle();
    const after = { fds: openFdCount(), live: addon.liveHandles(), resources: resources(), memory: process.memoryUsage() };

    expect(after.fds).toBe(before.fds);
    expect(after.live).toEqual(before.live);
    expect(after.resources).toEqual(before.resources);
    const heapGrowth = after.memory.heapUsed + after.memory.external - (before.memory.heapUsed + before.memory.external);
    expect(heapGrowth).toBeLessThan(4 * 1024 * 1024);
    expect(after.memory.rss - before.memory.rss).toBeLessThan(16 * 1024 * 1024);
    expect(linkNames(ns).filter((n) => n.startsWith('tt'))).toEqual([name]);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('closes a device that was dropped without close() once it is unref’ed and collected', async () => {
    const ns = netns('d');
    const addon = loadTunTap();
    const gc = gcFunction();
    const baseline = { fds: openFdCount(), live: addon.liveHandles() };

    const referenced = track(TapDevice.open({ name: ifName('d0'), netns: ns }));
    (() => {
      for (const tag of ['d1', 'd2', 'd3']) TapDevice.open({ name: ifName(tag), netns: ns }).unref();
    })();
    expect(openFdCount()).toBe(baseline.fds + 4);
    // Finalizers run in an immediate after the collection that found the objects dead.
    for (let i = 0; i < 50 && openFdCount() > baseline.fds + 1; i++) {
      gc();
      await sleep(20);
    }
    await sleep(20); // and the uv_close callbacks on the iteration after that
    // The three dropped ones are gone; the referenced one lives on.
    expect(openFdCount()).toBe(baseline.fds + 1);
    expect(addon.liveHandles()).toEqual({ fds: baseline.live.fds + 1, polls: baseline.live.polls + 1 });
    referenced.close();
  });

  it('keeps the process alive only while a device is open and ref’ed', async () => {
    const ns = netns('e');
    const script = (mode: string): string => `
      const { TapDevice } = require(${JSON.stringify(TUNTAP_SOURCE)});
      const dev = TapDevice.open({ name: ${JSON.stringify(ifName('e'))}, netns: ${JSON.stringify(ns)} });
      if (${JSON.stringify(mode)} === 'close') dev.close();
      if (${JSON.stringify(mode)} === 'unref') dev.unref();
      console.log('opened');`;

    for (const mode of ['close', 'unref']) {
      const child = nodeChild([], script(mode), 10_000);
      expect({ mode, status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr }).toEqual({
        mode,
        status: 0,
        signal: null,
        stdout: 'opened\n',
        stderr: '',
      });
    }

    // Ref'ed and open: still running well after it opened the device, until we end it.
    const held = spawn(process.execPath, ['-r', TS_HOOK, '-e', script('ref')], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => held.kill('SIGKILL'));
    const exited = new Promise<string>((resolve) => held.on('exit', (code, signal) => resolve(`${code}/${signal}`)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child did not open the device within 10 s')), 10_000);
      held.stdout.on('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const outcome = await Promise.race([exited, sleep(500).then(() => 'running')]);
    expect(outcome).toBe('running');
    held.kill('SIGTERM');
    expect(await exited).toBe('null/SIGTERM');
  });

  it('fails without CAP_NET_ADMIN with a Node-style system error that says what to do', () => {
    const ns = netns('f');
    const name = ifName('f');
    const script = `
      const { TapDevice } = require(${JSON.stringify(TUNTAP_SOURCE)});
      try {
        TapDevice.open({ name: ${JSON.stringify(name)} }).close();
        console.log(JSON.stringify({ opened: true }));
      } catch (e) {
        console.log(JSON.stringify({ errno: e.errno, code: e.code, syscall: e.syscall, message: e.message, dev: e.dev, path: e.path }));
      }`;
    const noCaps = ['--inh-caps=-all', '--bounding-set=-all'];
    const inNs = ['ip', 'netns', 'exec', ns, 'setpriv'];

    // root without capabilities: /dev/net/tun opens (owner root), creating the device is refused.
    const root = nodeChild([...inNs, ...noCaps, '--'], script, 15_000);
    expect(root.stderr).toBe('');
    const eperm = JSON.parse(root.stdout);
    expect(eperm).toMatchObject({ errno: -1, code: 'EPERM', syscall: 'ioctl', dev: name });
    expect(eperm.message).toMatch(/^ioctl EPERM: operation not permitted, TUNSETIFF /);
    expect(eperm.message).toContain('needs CAP_NET_ADMIN: run as root or grant the capability (setcap cap_net_admin+ep $(which node))');

    // An ordinary user: /dev/net/tun is mode 0600, so open(2) itself is refused.
    const user = nodeChild([...inNs, '--reuid=65534', '--regid=65534', '--clear-groups', ...noCaps, '--'], script, 15_000);
    expect(user.stderr).toBe('');
    const eacces = JSON.parse(user.stdout);
    expect(eacces).toMatchObject({ errno: -13, code: 'EACCES', syscall: 'open', path: '/dev/net/tun', dev: name });
    expect(eacces.message).toMatch(/^open EACCES: permission denied/);
    expect(eacces.message).toContain('needs CAP_NET_ADMIN');
    expect(linkNames(ns)).not.toContain(name);
  });

  it('attaches to an existing persistent TAP instead of creating another', () => {
    const ns = netns('g');
    const name = ifName('g');
    ipIn(ns, 'tuntap', 'add', 'mode', 'tap', 'name', name);
    const kernelMac = /link\/ether ([0-9a-f:]+)/.exec(ipIn(ns, 'link', 'show', name))![1];
    const linksBefore = linkNames(ns);

    const dev = track(TapDevice.open({ name, netns: ns, mtu: 1400 }));
    expect(dev.name).toBe(name);
    expect(linkNames(ns)).toEqual(linksBefore);
    expect(dev.kernelMac.toString()).toBe(kernelMac);
    expect(dev.mtu).toBe(1400);
    const link = ipIn(ns, '-d', 'link', 'show', name);
    expect(link).toMatch(/mtu 1400/);
    expect(link).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(link).toMatch(/tun type tap/);

    // A second opener of a single-queue TAP is refused, with the reason.
    const ownNetns = threadNetns();
    let busy: TunTapError | undefined;
    try {
      track(TapDevice.open({ name, netns: ns }));
    } catch (err) {
      busy = err as TunTapError;
    }
    expect(busy).toMatchObject({ code: 'EBUSY', syscall: 'ioctl', dev: name });
    expect(threadNetns()).toBe(ownNetns); // back home after a failure inside the namespace too

    dev.close();
    expect(linkNames(ns)).toContain(name); // persistent: it outlives our fd
  });

  it('exchanges IP packets over a TUN device', async () => {
    const ns = netns('h');
    const dev = track(TunDevice.open({ name: ifName('h'), netns: ns }));
    expect(dev.medium).toBe('ip');
    expect(dev.mtu).toBe(1500);
    ipIn(ns, 'addr', 'add', '10.202.0.1/24', 'dev', dev.name);
    expect(ipIn(ns, '-d', 'link', 'show', dev.name)).toMatch(/tun type tun/);

    const payload = new TextEncoder().encode('over tun');
    const replies = collect(dev, (packets) => packets.some((p) => parseEchoReplyPacket(p) !== undefined));
    dev.transmit(icmpEchoPacket(ipv4('10.202.0.2'), ipv4('10.202.0.1'), 0x7075, 1, payload));
    dev.flush();
    const echo = (await replies).map(parseEchoReplyPacket).find((r) => r !== undefined)!;
    expect(sameBytes(echo.src, ipv4('10.202.0.1'))).toBe(true);
    expect(sameBytes(echo.dst, ipv4('10.202.0.2'))).toBe(true);
    expect([echo.id, echo.seq]).toEqual([0x7075, 1]);
    expect(sameBytes(echo.payload, payload)).toBe(true);
    expect(echo.checksumsValid).toBe(true);
  });

  it('reports a device deleted under it as an errno error, promptly, and stops', async () => {
    const ns = netns('i');
    const dev = track(TapDevice.open({ name: ifName('i'), netns: ns }));
    const addon = loadTunTap();
    const liveBefore = addon.liveHandles();
    const failed = new Promise<TunTapError>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no error() within 2 s of ip link del')), 2000);
      dev.attach({
        readable() {},
        error(err) {
          clearTimeout(timer);
          resolve(err as TunTapError);
        },
      });
    });
    ipIn(ns, 'link', 'del', dev.name);
    const err = await failed;

    // Linux: the fd reports POLLERR and read(2) fails with EBADFD (77) from then on.
    expect(err).toMatchObject({ errno: -77, code: 'EBADFD', syscall: 'read', dev: dev.name });
    expect(err.message).toMatch(new RegExp(`^read EBADFD: file descriptor in bad state, ${dev.name}; the device is gone`));
    expect(addon.liveHandles().fds).toBe(liveBefore.fds - 1);
    expect(dev.receive()).toBeUndefined();
    dev.transmit(new Uint8Array(60));
    dev.flush();
    expect(dev.stats.txBatches).toBe(0);
    dev.close(); // still safe
  });

  it('fails once, after flush() returns, when a write finds the device deleted', async () => {
    const ns = netns('k');
    const dev = track(TapDevice.open({ name: ifName('k'), netns: ns }));
    const errors: Error[] = [];
    dev.attach({ readable() {}, error: (err) => errors.push(err) });
    ipIn(ns, 'link', 'del', dev.name);
    dev.transmit(new Uint8Array(60));
    dev.flush(); // before the poll has seen anything
    expect(errors).toEqual([]); // never from inside the stack's own call
    await sleep(100);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ errno: -77, code: 'EBADFD', syscall: 'write', dev: dev.name });
  });

  it('rejects bad arguments before touching the kernel', () => {
    expect(() => TapDevice.open({ name: 'x'.repeat(16) })).toThrow(/at most 15 bytes/);
    expect(() => TapDevice.open({ name: 'ok', netns: '' })).toThrow(TypeError);
    expect(() => TapDevice.open({ name: 'ok', mtu: 10 })).toThrow(/68 to 65535/);
    const missing = (() => {
      try {
        TapDevice.open({ name: ifName('j'), netns: `pytcp-tuntap-${process.pid}-absent` });
      } catch (err) {
        return err as TunTapError;
      }
    })();
    expect(missing).toMatchObject({ code: 'ENOENT', syscall: 'open', path: `/run/netns/pytcp-tuntap-${process.pid}-absent` });
    expect(missing!.message).toContain('no such network namespace');
  });
});
