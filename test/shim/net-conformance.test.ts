/**
 * The net shim judged against Node itself: every scenario runs once on Node's real `net`
 * over the kernel's loopback and once on the shim over the stack's loopback interface,
 * and both runs must observe the same events, in the same order per socket, with the same
 * errors (message, errno, code, syscall, address, port). Ports differ between the runs,
 * so each scenario names the ports it learns and the log shows names instead of numbers.
 * The two ends of a connection run concurrently, so their events are compared per socket
 * (each socket's own order is kept), not interleaved.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createStack } from '../../lib/stack';
import { StackDriver } from '../../lib/driver';
import { ShimHost } from '../../shim/host';
import { netOver, type ShimNet } from '../../shim/net';

interface Run {
  net: ShimNet;
  log(label: string, line: string): void;
  /** Records every event `target` emits under `label`, except those in `quiet`. */
  watch<T extends net.Socket | net.Server>(target: T, label: string, quiet?: string[]): T;
  name(port: number, label: string): number;
  until(pred: () => boolean, ms?: number): Promise<void>;
  describe(value: unknown): string;
}

type Scenario = (t: Run) => Promise<void>;

function describeError(e: Error & Record<string, unknown>): string {
  const own = Object.keys(e)
    .filter((k) => k !== 'stack')
    .map((k) => `${k}=${String(e[k])}`)
    .join(' ');
  return `${e.name} "${e.message}" ${own}`;
}

async function record(impl: ShimNet, scenario: Scenario): Promise<string[]> {
  const lines: Array<[string, string]> = [];
  const ports = new Map<number, string>();
  const closers: Array<() => void> = [];
  const scrub = (text: string) => text.replace(/\b\d{2,5}\b/g, (m) => ports.get(Number(m)) ?? m);
  const describe = (value: unknown): string => {
    if (value instanceof Error) return describeError(value as Error & Record<string, unknown>);
    if (value instanceof net.Socket) return 'socket';
    if (Buffer.isBuffer(value)) return value.length > 32 ? `<${value.length} bytes>` : `<${value.toString()}>`;
    return JSON.stringify(value) ?? String(value);
  };
  const t: Run = {
    net: impl,
    log: (label, line) => lines.push([label, line]),
    watch(target, label, quiet = []) {
      target.on('error', () => {});
      closers.push(() => (target instanceof net.Socket ? target.destroy() : target.close()));
      const emit = target.emit;
      target.emit = function (this: typeof target, event: string, ...args: unknown[]) {
        if (event !== 'newListener' && event !== 'removeListener' && !quiet.includes(event)) lines.push([label, `${event} ${args.map(describe).join(' ')}`.trim()]);
        return (emit as (this: unknown, event: string, ...a: unknown[]) => boolean).call(this, event, ...args);
      } as typeof target.emit;
      return target;
    },
    name(port, label) {
      ports.set(port, label);
      return port;
    },
    async until(pred, ms = 3000) {
      const end = Date.now() + ms;
      while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 30));
    },
    describe,
  };
  try {
    await scenario(t);
  } finally {
    for (const close of closers) close();
    await new Promise((r) => setTimeout(r, 20));
  }
  // Each socket's own order, sockets in the order they first spoke.
  const order = [...new Set(lines.map(([label]) => label))];
  return order.flatMap((label) => lines.filter(([l]) => l === label).map(([, line]) => scrub(`${label} ${line}`)));
}

/** A server on 127.0.0.1 whose accepted sockets are watched as `srv`; resolves once it listens. */
async function serve(t: Run, label: string, opts: net.ServerOpts, onSocket: (s: net.Socket) => void, quiet?: string[]): Promise<number> {
  const server = t.watch(
    t.net.createServer(opts, (s) => onSocket(t.watch(s, 'srv', quiet))),
    label,
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return t.name((server.address() as net.AddressInfo).port, 'PORT');
}

const scenarios: Record<string, Scenario> = {
  'connect, echo round trip, end: connect, ready, data, end, finish, close': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.on('data', (d) => s.write(d));
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => c.write('hello'));
    c.on('data', () => c.end());
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
    t.log('client', `bytesRead ${c.bytesRead} bytesWritten ${c.bytesWritten}`);
  },
  'connect to a closed port: ECONNREFUSED, then close(true)': async (t) => {
    const probe = t.net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = t.name((probe.address() as net.AddressInfo).port, 'CLOSED');
    await new Promise<void>((r) => probe.close(() => r()));
    let closed = false;
    const c = t.watch(t.net.createConnection(port, '127.0.0.1'), 'client');
    c.on('close', () => (closed = true));
    await t.until(() => closed);
  },
  'listen(0) on the wildcard: address() is the dual-stack ::, close() emits close': async (t) => {
    const server = t.watch(t.net.createServer(), 'server');
    await new Promise<void>((r) => server.listen(0, () => r()));
    const a = server.address() as net.AddressInfo;
    t.name(a.port, 'PORT');
    t.log('server', `address ${a.address} ${a.family} listening ${server.listening}`);
    let closed = false;
    server.close(() => (closed = true));
    await t.until(() => closed);
    t.log('server', `after close address ${JSON.stringify(server.address())} listening ${server.listening}`);
  },
  'half-close with allowHalfOpen: the server answers after the client ended': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', { allowHalfOpen: true }, (s) => {
      s.on('data', () => {});
      s.on('end', () => setTimeout(() => s.end('pong'), 30));
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }), 'client');
    c.on('connect', () => c.end('ping'));
    c.on('data', () => {});
    c.on('end', () => setTimeout(() => c.destroy(), 10));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'writes of 1 MB until back-pressure: write() returns false, drain, and every byte arrives': async (t) => {
    const mb = Buffer.alloc(1 << 20);
    for (let i = 0; i < mb.length; i++) mb[i] = (i * 7 + (i >> 8)) & 0xff;
    let mbSum = 0;
    for (const b of mb) mbSum = (mbSum + b) % 65521;
    let received = 0;
    let sum = 0;
    let sent = 0;
    let closed = 0;
    const port = await serve(
      t,
      'server',
      {},
      (s) => {
        // A reader that waits makes the writer wait, on the kernel as on the stack (whose buffers differ in size).
        s.pause();
        setTimeout(() => s.resume(), 100);
        s.on('data', (d: Buffer) => {
          received += d.length;
          for (const b of d) sum = (sum + b) % 65521;
        });
        s.on('end', () => t.log('srv', `received all that was sent, intact: ${received === sent && sum === (mbSum * (sent >> 20)) % 65521}`));
        s.on('close', () => closed++);
      },
      ['data'],
    );
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => {
      let more = true;
      // The kernel's buffers grow to several MB on loopback: 32 MB is past them.
      while (more && sent < 32 << 20) {
        more = c.write(mb);
        sent += mb.length;
      }
      t.log('client', `write() returned ${more}`);
      c.once('drain', () => c.end());
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2, 10_000);
  },
  'addresses of both ends, on 127.0.0.1 and through a dual-stack :: server (IPv4-mapped)': async (t) => {
    for (const host of ['127.0.0.1', '::']) {
      const server = t.net.createServer();
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      await new Promise<void>((r) => server.listen(0, host, () => r()));
      const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
      const c = t.net.connect(port, '127.0.0.1');
      const s = await accepted;
      await new Promise<void>((r) => (c.connecting ? c.once('connect', () => r()) : r()));
      t.name(c.localPort ?? 0, 'CPORT');
      const show = (x: net.Socket) => `${x.localAddress} ${x.localFamily} ${x.localPort} -> ${x.remoteAddress} ${x.remoteFamily} ${x.remotePort}`;
      t.log(host, `client ${show(c)}`);
      t.log(host, `accepted ${show(s)}`);
      c.destroy();
      s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
  'listen on a port in use: EADDRINUSE from listen': async (t) => {
    const first = t.watch(t.net.createServer(), 'first');
    await new Promise<void>((r) => first.listen(0, '127.0.0.1', () => r()));
    const port = t.name((first.address() as net.AddressInfo).port, 'PORT');
    const second = t.watch(t.net.createServer(), 'second');
    second.listen(port, '127.0.0.1');
    await t.until(() => false, 50);
    t.log('second', `listening ${second.listening}`);
  },
  'closing with data left unread sends RST: the peer reads ECONNRESET': async (t) => {
    let closed = 0;
    // pauseOnConnect: the handle never reads, so the byte stays in the socket as close(2) finds it.
    const port = await serve(t, 'server', { pauseOnConnect: true }, (s) => {
      setTimeout(() => s.destroy(), 50);
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => c.write('x'));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
};

describe("net shim conformance: the same scenario on Node's net and on the shim", () => {
  const stack = createStack({ interfaces: [], loopback: true });
  const driver = new StackDriver(stack).start();
  const shim = netOver(new ShimHost(driver));
  const real: ShimNet = { Socket: net.Socket, Server: net.Server, connect: net.connect, createConnection: net.createConnection, createServer: net.createServer };
  afterAll(() => driver.stop());

  for (const [title, scenario] of Object.entries(scenarios)) {
    it(title, async () => {
      const expected = await record(real, scenario);
      const actual = await record(shim, scenario);
      expect(actual).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    });
  }
});
