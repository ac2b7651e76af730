/**
 * Receive offload on a real TAP (TunTapOptions.offload: IFF_VNET_HDR with TSO4/TSO6 and
 * CSUM): the kernel hands the device TCP super-segments far larger than the MTU, and
 * frames whose checksum it left partial; the addon finishes those checksums, so the stack,
 * which verifies every checksum, takes them as ordinary packets. On the way out the addon
 * joins consecutive segments of a flow into super-segments the kernel cuts back (GSO,
 * native/gso.c): the kernel's side of the TAP counts far fewer packets than the stack sent
 * segments, and what the kernel's nc receives is byte-exact.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StackDriver } from '../../lib/driver';
import type { Device } from '../../lib/phy/device';
import { TapDevice } from '../../lib/phy/tuntap';
import { createStack } from '../../lib/stack';
import { createTcpServer, tcpConnect } from '../../lib/tcp-socket';
import { dgramOver } from '../../shim/dgram';
import { ShimHost } from '../../shim/host';
import { createNetns, deleteNetns, hasTun, ifName, ipIn } from './lab';

if (!hasTun) console.warn('SKIPPING test/phy/offload.test.ts: /dev/net/tun is absent, so no TAP device can be opened here');

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** The device, recording the largest frame it handed to the stack. */
class Measured implements Device {
  largest = 0;
  /** Frames whose checksum the device vouched for (the addon finished it, or the kernel verified it). */
  vouched = 0;
  constructor(private readonly dev: TapDevice) {}
  get name(): string {
    return this.dev.name;
  }
  get medium(): Device['medium'] {
    return this.dev.medium;
  }
  get mtu(): number {
    return this.dev.mtu;
  }
  receive(): Uint8Array | undefined {
    const frame = this.dev.receive();
    if (frame && frame.length > this.largest) this.largest = frame.length;
    return frame;
  }
  receivedChecksumGood(): boolean {
    const good = this.dev.receivedChecksumGood();
    if (good) this.vouched++;
    return good;
  }
  transmit(frame: Uint8Array): void {
    this.dev.transmit(frame);
  }
  flush(): void {
    this.dev.flush();
  }
  attach(listener: Parameters<Device['attach']>[0]): void {
    this.dev.attach(listener);
  }
  close(): void {
    this.dev.close();
  }
}

/** A command in `ns`, asynchronously (the stack runs on this event loop meanwhile), killed after `ms`. */
function inNs(ns: string, command: string, ms = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Until something listens on `port` in `ns` (bounded). */
async function waitForListener(ns: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await inNs(ns, `ss -Hltn 'sport = :${port}'`)).stdout.includes(String(port))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listens on ${port} in ${ns}`);
}

describe.skipIf(!hasTun)('offload on a TAP, both ways', () => {
  it('takes the kernel’s TCP super-segments (larger than the MTU) and partial UDP checksums, and sends its own segments joined, byte-exact both ways', async () => {
    const ns = createNetns('o');
    cleanups.push(() => deleteNetns(ns));
    const tap = TapDevice.open({ name: ifName('o'), netns: ns, offload: true });
    cleanups.push(() => tap.close());
    ipIn(ns, 'addr', 'add', '10.203.0.1/24', 'dev', tap.name);
    const dev = new Measured(tap);
    const stack = createStack({ interfaces: [{ device: dev, mac: '02:00:00:00:00:02', ipv4: ['10.203.0.2/24'], acd: { probe: false } }], loopback: false });
    const driver = new StackDriver(stack).start();
    cleanups.push(() => driver.stop());

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-offload-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const data = randomBytes(8 << 20);
    fs.writeFileSync(path.join(dir, 'data'), data);

    const hash = createHash('sha256');
    let received = 0;
    const ended = new Promise<void>((resolve) => {
      createTcpServer(driver, (socket) => {
        socket.on('data', (chunk: Uint8Array) => {
          received += chunk.length;
          hash.update(chunk);
        });
        socket.on('end', () => {
          socket.end();
          resolve();
        });
      }).listen(5000);
    });
    const sent = await inNs(ns, `nc -N -w 5 10.203.0.2 5000 < ${path.join(dir, 'data')}`);
    expect(sent.code, sent.stderr).toBe(0);
    await ended;
    expect(received).toBe(data.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    // Super-segments: frames far past the 1514 bytes of a 1500-byte MTU.
    expect(dev.largest).toBeGreaterThan(8 * 1514);
    // Their checksums were finished by the addon, so the stack did not sum them again.
    expect(dev.vouched).toBeGreaterThan(0);
    expect(stack.stats.tcp.dropped['bad-checksum'] ?? 0).toBe(0);

    // The other way: 8 MB from the stack to the kernel's nc, in super-segments.
    const rxPackets = async () => Number((await inNs(ns, `cat /sys/class/net/${tap.name}/statistics/rx_packets`)).stdout.trim());
    const before = await rxPackets();
    const sink = path.join(dir, 'sink');
    const listening = inNs(ns, `nc -l -N -w 5 10.203.0.1 5001 > ${sink}`);
    await waitForListener(ns, 5001);
    const sentByStack = new Promise<void>((resolve, reject) => {
      const c = tcpConnect(driver, { host: '10.203.0.1', port: 5001 });
      c.on('connect', () => {
        c.write(data);
        c.end();
      });
      c.on('error', reject);
      c.on('close', () => resolve());
    });
    expect((await listening).code).toBe(0);
    await sentByStack;
    expect(createHash('sha256').update(fs.readFileSync(sink)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const segments = Math.ceil(data.length / 1448);
    expect(await rxPackets() - before).toBeLessThan(segments / 4);

    // UDP from the kernel leaves its checksum partial on an offloading TAP: finished by the addon, it verifies.
    const socket = dgramOver(ShimHost.for(driver)).createSocket('udp4');
    cleanups.push(() => socket.close());
    const message = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    await new Promise<void>((resolve) => socket.bind(7000, '10.203.0.2', () => resolve()));
    const udp = await inNs(ns, `printf 'hello over offload' | nc -u -w 1 10.203.0.2 7000`);
    expect(udp.code, udp.stderr).toBe(0);
    expect((await message).toString()).toBe('hello over offload');
    expect(stack.stats.udp.dropped['bad-checksum'] ?? 0).toBe(0);
  }, 30_000);
});
