/**
 * Two whole stacks over the in-memory pipe, each transmitting through the seeded fault
 * device, on one ManualClock: TCP transfers checked byte for byte (SHA-256 of what was
 * written against SHA-256 of what was read) under loss, reordering, duplication and delay,
 * in one direction and in both at once. Simulated time only: the clock jumps to the next
 * deadline whenever both stacks are idle.
 */
import { createHash, type Hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock';
import { FaultDevice, type FaultOptions } from '../../../lib/phy/fault';
import { createPipe, type PipeEnd } from '../../../lib/phy/pipe';
import { SeededRandom } from '../../../lib/random';
import type { TcpConnection } from '../../../lib/socket/tcp/connection';
import type { TcpListener } from '../../../lib/socket/tcp/listener';
import { TcpState } from '../../../lib/socket/tcp/state';
import { createStack, type InterfaceOptions, type Stack } from '../../../lib/stack';
import { Ipv4Address, Ipv6Address } from '../../../lib/wire/address';

const MB = 1024 * 1024;

/** Deterministic bytes (xorshift32), produced in chunks, hashed as they are written. */
class Source {
  readonly hash: Hash = createHash('sha256');
  written = 0;
  private chunk = new Uint8Array(0);
  private offset = 0;
  private state: number;
  private shut = false;

  constructor(readonly total: number, seed: number) {
    this.state = seed >>> 0 || 1;
  }

  pump(conn: TcpConnection, now: number): void {
    while (this.written < this.total) {
      if (this.offset === this.chunk.length) this.refill();
      const n = conn.write(this.chunk.subarray(this.offset), now);
      if (n < 0) throw new Error(`write failed: ${conn.error}`);
      if (n === 0) return;
      this.hash.update(this.chunk.subarray(this.offset, this.offset + n));
      this.offset += n;
      this.written += n;
    }
    if (!this.shut) {
      this.shut = true;
      conn.shutdown(now);
    }
  }

  private refill(): void {
    const len = Math.min(64 * 1024, this.total - this.written);
    const words = new Uint32Array(Math.ceil(len / 4));
    let x = this.state;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    this.state = x >>> 0;
    this.chunk = new Uint8Array(words.buffer, 0, len);
    this.offset = 0;
  }
}

/** Reads everything, hashing it, until the peer's FIN. */
class Sink {
  readonly hash: Hash = createHash('sha256');
  received = 0;
  eof = false;

  drain(conn: TcpConnection): void {
    while (!this.eof) {
      const chunk = conn.read();
      if (chunk === undefined) return;
      if (chunk === null) {
        this.eof = true;
        return;
      }
      this.hash.update(chunk);
      this.received += chunk.length;
    }
  }
}

interface Network {
  clock: ManualClock;
  a: Stack;
  b: Stack;
  ends: [PipeEnd, PipeEnd];
  faults: [FaultDevice, FaultDevice];
  addresses: [Ipv4Address | Ipv6Address, Ipv4Address | Ipv6Address];
}

function network(faults: Omit<FaultOptions, 'seed'>, seed: number, family: 4 | 6 = 4): Network {
  const clock = new ManualClock(0);
  const ends = createPipe();
  const fa = new FaultDevice(ends[0], clock, { ...faults, seed });
  const fb = new FaultDevice(ends[1], clock, { ...faults, seed: seed + 1 });
  const iface = (device: FaultDevice, n: number): InterfaceOptions =>
    family === 4
      ? { device, mac: `02:00:00:00:00:0${n}`, ipv4: [`10.0.0.${n}/24`], acd: { enabled: false }, ipv6: false }
      : { device, mac: `02:00:00:00:00:0${n}`, ipv6: { addresses: [`2001:db8::${n}/64`], slaac: false, dad: { transmits: 0 } } };
  const a = createStack({ interfaces: [iface(fa, 1)], random: new SeededRandom(seed + 10), loopback: false });
  const b = createStack({ interfaces: [iface(fb, 2)], random: new SeededRandom(seed + 20), loopback: false });
  // A first poll makes the configured addresses usable.
  a.poll(0);
  b.poll(0);
  const addresses: Network['addresses'] = family === 4 ? [Ipv4Address.parse('10.0.0.1'), Ipv4Address.parse('10.0.0.2')] : [Ipv6Address.parse('2001:db8::1'), Ipv6Address.parse('2001:db8::2')];
  return { clock, a, b, ends, faults: [fa, fb], addresses };
}

/**
 * Polls both stacks until `done`, running `each` after every poll; when neither has frames
 * waiting, the clock jumps to the earlier deadline. Fails if both go idle or `limitMs` of
 * simulated time pass first.
 */
function run(net: Network, each: () => void, done: () => boolean, limitMs: number): void {
  const { clock, a, b, ends } = net;
  const deadline = clock.now() + limitMs;
  for (;;) {
    a.poll(clock.now());
    b.poll(clock.now());
    // The app's side: whatever has news gets its notice taken, as a socket owner would.
    for (const c of [...a.tcp.takeReady().connections, ...b.tcp.takeReady().connections]) c.takeNotice();
    each();
    if (done()) return;
    if (ends[0].backlog > 0 || ends[1].backlog > 0) continue;
    const at = [a.pollAt(), b.pollAt()].filter((t): t is number => t !== undefined);
    if (at.length === 0) throw new Error('both stacks idle before the transfer finished');
    const next = Math.max(clock.now(), Math.min(...at));
    if (next > deadline) throw new Error(`not done after ${limitMs} ms of simulated time`);
    clock.set(next);
  }
}

/** Connects A to a listener on B and returns both ends. */
function connect(net: Network): { client: TcpConnection; server: TcpConnection } {
  const listener = net.b.tcp.listen({ port: 5001, backlog: 8, family: net.addresses[1] instanceof Ipv4Address ? 4 : 6 }) as TcpListener;
  const client = net.a.tcp.connect({ remote: { address: net.addresses[1], port: 5001 } }, net.clock.now());
  if (typeof client === 'string') throw new Error(client);
  let server: TcpConnection | undefined;
  run(net, () => (server ??= listener.accept()), () => server !== undefined && client.state === TcpState.Established, 60_000);
  return { client, server: server! };
}

interface Transfer {
  /** Bytes from the client to the server, and back. */
  up: number;
  down: number;
}

/** Sends `up` bytes client→server and `down` bytes server→client at once; each side ends its half when done. */
function transfer(net: Network, t: Transfer): { simulatedMs: number; realMs: number } {
  const started = performance.now();
  const simStart = net.clock.now();
  const { client, server } = connect(net);
  const upSrc = new Source(t.up, 0x1234);
  const downSrc = new Source(t.down, 0x9876);
  const upSink = new Sink();
  const downSink = new Sink();
  run(
    net,
    () => {
      const now = net.clock.now();
      upSrc.pump(client, now);
      downSrc.pump(server, now);
      upSink.drain(server);
      downSink.drain(client);
    },
    () => upSink.eof && downSink.eof,
    3_600_000,
  );
  expect(upSink.received).toBe(t.up);
  expect(downSink.received).toBe(t.down);
  expect(upSink.hash.digest('hex')).toBe(upSrc.hash.digest('hex'));
  expect(downSink.hash.digest('hex')).toBe(downSrc.hash.digest('hex'));
  // Both sides closed: the connections finish (one through TIME-WAIT).
  run(net, () => {}, () => client.finished && server.finished, 600_000);
  return { simulatedMs: net.clock.now() - simStart, realMs: performance.now() - started };
}

const LOSSY = (loss: number): Omit<FaultOptions, 'seed'> => ({ loss, reorder: loss, duplicate: loss, delayMs: 5, jitterMs: 3 });

describe('TCP between two stacks over a faulty pipe', () => {
  // About 1-4 s of real time each for 100 MB (the simulated time runs to minutes under loss).
  const cases: { name: string; faults: Omit<FaultOptions, 'seed'>; t: Transfer; family?: 4 | 6 }[] = [
    { name: '100 MB up, clean link', faults: { delayMs: 1 }, t: { up: 100 * MB, down: 0 } },
    { name: '100 MB down, 1% loss, reordering, duplication, delay', faults: LOSSY(0.01), t: { up: 0, down: 100 * MB } },
    { name: '100 MB up, 5% loss, reordering, duplication, delay', faults: LOSSY(0.05), t: { up: 100 * MB, down: 0 } },
    { name: '100 MB each way at once, 1% loss', faults: LOSSY(0.01), t: { up: 100 * MB, down: 100 * MB } },
    { name: '100 MB each way at once, 5% loss', faults: LOSSY(0.05), t: { up: 100 * MB, down: 100 * MB } },
    { name: '8 MB each way over IPv6, 5% loss', faults: LOSSY(0.05), t: { up: 8 * MB, down: 8 * MB }, family: 6 },
  ];

  it.each(cases)('$name: byte-exact', ({ faults, t, family }) => {
    const net = network(faults, 42, family);
    const took = transfer(net, t);
    if (faults.loss) expect(net.faults[0].stats.dropped + net.faults[1].stats.dropped).toBeGreaterThan(0);
    expect(took.simulatedMs).toBeGreaterThan(0);
  }, 120_000);

  it('other seeds shuffle the faults and still arrive byte-exact', () => {
    for (const seed of [1, 2, 3, 4, 5]) transfer(network(LOSSY(0.05), seed), { up: 2 * MB, down: 2 * MB });
  }, 120_000);
});
