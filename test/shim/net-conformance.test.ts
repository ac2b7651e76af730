/**
 * The net shim judged against Node itself: every scenario runs once on Node's real `net`
 * over the kernel's loopback and once on the shim over the stack's loopback interface,
 * and both runs must observe the same events, in the same order per socket, with the same
 * errors (message, errno, code, syscall, address, port). Ports differ between the runs,
 * so each scenario names the ports it learns and the log shows names instead of numbers.
 * The two ends of a connection run concurrently, so their events are compared per socket
 * (each socket's own order is kept), not interleaved; a scenario that needs an order
 * across sockets logs it under one label, and only where Node's own code fixes it.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, waitUntil } from '../helpers/conformance';
import { createStack } from '../../lib/stack';
import { StackDriver } from '../../lib/driver';
import { ShimHost } from '../../shim/host';
import { netOver, type ShimNet } from '../../shim/net';

interface Run {
  net: ShimNet;
  log(label: string, line: string): void;
  /** Records every event `target` emits under `label`, except those in `quiet`. */
  watch<T extends net.Socket | net.Server>(target: T, label: string, quiet?: string[]): T;
  /** Closes `target` at the end of the run without recording it. */
  own<T extends net.Socket | net.Server>(target: T): T;
  name(port: number, label: string): number;
  /** Runs `fn` under `label`, logging what it returned or threw. */
  attempt(label: string, what: string, fn: () => unknown): void;
  until(pred: () => boolean, ms?: number): Promise<void>;
  settle(ms?: number): Promise<void>;
  describe(value: unknown): string;
}

type Scenario = (t: Run) => Promise<void>;

async function record(impl: ShimNet, scenario: Scenario): Promise<string[]> {
  const lines: Array<[string, string]> = [];
  const ports = new Map<number, string>();
  const closers: Array<() => void> = [];
  const scrub = (text: string) => text.replace(/\b\d{2,5}\b/g, (m) => ports.get(Number(m)) ?? m);
  const describe = (value: unknown): string => {
    if (value instanceof Error) return describeError(value as Error & Record<string, unknown>);
    if (value instanceof net.Socket) return 'socket';
    if (value instanceof net.Server) return 'server';
    if (Buffer.isBuffer(value)) return value.length > 32 ? `<${value.length} bytes>` : `<${value.toString()}>`;
    return JSON.stringify(value) ?? String(value);
  };
  const own = <T extends net.Socket | net.Server>(target: T): T => {
    target.on('error', () => {});
    closers.push(() => (target instanceof net.Socket ? target.destroy() : target.close()));
    return target;
  };
  const t: Run = {
    net: impl,
    log: (label, line) => lines.push([label, line]),
    watch(target, label, quiet = []) {
      own(target);
      const emit = target.emit;
      target.emit = function (this: typeof target, event: string, ...args: unknown[]) {
        if (event !== 'newListener' && event !== 'removeListener' && !quiet.includes(event)) lines.push([label, `${event} ${args.map(describe).join(' ')}`.trim()]);
        return (emit as (this: unknown, event: string, ...a: unknown[]) => boolean).call(this, event, ...args);
      } as typeof target.emit;
      return target;
    },
    own,
    name(port, label) {
      ports.set(port, label);
      return port;
    },
    attempt(label, what, fn) {
      try {
        const r = fn();
        lines.push([label, `${what} -> ${describe(r)}`]);
      } catch (e) {
        lines.push([label, `${what} threw ${describe(e)}`]);
      }
    },
    until: (pred, ms = 3000) => waitUntil(pred, ms, 30),
    settle: (ms = 60) => new Promise((r) => setTimeout(r, ms)),
    describe,
  };
  try {
    await scenario(t);
  } finally {
    for (const close of closers) close();
    await new Promise((r) => setTimeout(r, 20));
  }
  // Each socket's own order; sockets by label, so that which spoke first (a race) does not matter.
  const order = [...new Set(lines.map(([label]) => label))].sort();
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

/** A port nothing listens on (one a server on 127.0.0.1 just gave back), named `label`. */
async function freePort(t: Run, label: string): Promise<number> {
  const probe = t.net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = t.name((probe.address() as net.AddressInfo).port, label);
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/**
 * Logs, at 'end', all that `s` received and whether every chunk was a string: how the bytes
 * were cut into chunks depends on when the reader woke, on the kernel as on the stack.
 */
function received(t: Run, s: net.Socket, label: string): void {
  const chunks: Array<string | Buffer> = [];
  s.on('data', (d: string | Buffer) => chunks.push(d));
  s.on('end', () => t.log(label, `received ${chunks.map(String).join('')}, all strings ${chunks.every((d) => typeof d === 'string')}`));
}

/** A client whose every event is logged as `label`; `closed()` says when it closed. */
function client(t: Run, label: string, socket: net.Socket): { c: net.Socket; closed: () => boolean } {
  let done = false;
  t.watch(socket, label).on('close', () => (done = true));
  return { c: socket, closed: () => done };
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
  'writing after the peer closed: the first write draws a RST, the next fails with EPIPE': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.destroy();
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }), 'client');
    c.on('end', () => {
      c.write('one', (err) => t.log('client', `first write callback ${t.describe(err)}`));
      setTimeout(() => c.write('two', (err) => t.log('client', `second write callback ${t.describe(err)}`)), 80);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'the peer ends, then resets, while this end is paused: the end, not an error (the FIN came first)': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', { pauseOnConnect: true }, (s) => {
      setTimeout(() => s.resume(), 100);
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => c.end());
    c.on('finish', () => setTimeout(() => c.resetAndDestroy(), 20));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'a local connect is established before connect() reports it: the server, closed from the client\'s connect handler, still has the connection': async (t) => {
    let closed = 0;
    const server = t.watch(
      t.net.createServer((s) => {
        t.watch(s, 'srv');
        s.on('data', () => s.end('bye'));
        s.on('close', () => closed++);
      }),
      'server',
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      server.close();
      c.write('hi');
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
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
  // ---- connect forms ----
  'connect(port, host, callback): the callback runs on connect, before ready': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(
      t.net.connect(port, '127.0.0.1', () => {
        t.log('client', 'connect callback');
        c.end();
      }),
      'client',
    );
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'new Socket(), then connect({ port, host }): readyState, pending and connecting across the lifecycle': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(new t.net.Socket(), 'client');
    const show = (when: string) => t.log('client', `${when}: readyState ${c.readyState} pending ${c.pending} connecting ${c.connecting} destroyed ${c.destroyed}`);
    show('new');
    const r = c.connect({ port, host: '127.0.0.1' });
    t.log('client', `connect() returns the socket: ${r === c}`);
    show('connect()');
    c.on('connect', () => {
      show('on connect');
      c.end();
      show('after end()');
    });
    c.on('finish', () => show('on finish'));
    c.on('end', () => show('on end'));
    c.on('close', () => {
      show('on close');
      closed++;
    });
    await t.until(() => closed === 2);
  },
  'localAddress and localPort: the client is bound where it asked': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      t.log('srv', `peer ${s.remoteAddress} ${s.remotePort}`);
      s.on('close', () => closed++);
    });
    // Asked for once the server listens, so it cannot be the server's port.
    const lport = await freePort(t, 'LPORT');
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: lport }), 'client');
    c.on('connect', () => {
      t.log('client', `local ${c.localAddress} ${c.localPort}`);
      c.end();
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'localAddress of the other family: bind EINVAL; one not on this host: bind EADDRNOTAVAIL': async (t) => {
    const port = await freePort(t, 'PORT');
    for (const localAddress of ['::1', '10.255.255.1']) {
      const { closed } = client(t, localAddress, t.net.connect({ port, host: '127.0.0.1', localAddress }));
      await t.until(closed);
    }
  },
  'localPort held by a listener: bind EADDRINUSE (libuv keeps it for getsockname, where checkBindError finds it)': async (t) => {
    const port = await serve(t, 'server', {}, () => {});
    const held = t.own(t.net.createServer());
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
    const lport = t.name((held.address() as net.AddressInfo).port, 'HELD');
    const { closed } = client(t, 'client', t.net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: lport }));
    await t.until(closed);
  },
  'localPort that a connection of this host was opened from: bind EADDRINUSE; listening there too': async (t) => {
    const port = await serve(t, 'server', {}, (s) => t.own(s));
    const first = t.own(t.net.connect(port, '127.0.0.1'));
    await new Promise<void>((r) => first.once('connect', () => r()));
    const taken = t.name(first.localPort ?? 0, 'TAKEN');
    const { closed } = client(t, 'client', t.net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: taken }));
    await t.until(closed);
    const server = t.watch(t.net.createServer(), 'listener');
    server.listen(taken, '127.0.0.1');
    await t.settle(50);
  },
  'family 4 to localhost: lookup, then connect': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect({ port, host: 'localhost', family: 4 }), 'client');
    c.on('connect', () => c.end());
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'a custom lookup: its arguments, the lookup event, then connect (single and all)': async (t) => {
    const port = await serve(t, 'server', {}, () => {});
    for (const family of [4, 0]) {
      const lookup = (host: string, opts: object, cb: (...a: unknown[]) => void) => {
        t.log(`family${family}`, `lookup(${host}, ${JSON.stringify(opts)})`);
        const all = (opts as { all?: boolean }).all;
        setTimeout(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)), 5);
      };
      const { c, closed } = client(t, `family${family}`, t.net.connect({ port, host: 'example.test', family, lookup } as net.NetConnectOpts));
      c.on('connect', () => c.destroy());
      await t.until(closed);
    }
  },
  'a custom lookup that fails: lookup with the error, then error and close': async (t) => {
    const lookup = (_host: string, _opts: object, cb: (...a: unknown[]) => void) => {
      const err = Object.assign(new Error('getaddrinfo ENOTFOUND example.test'), { code: 'ENOTFOUND' });
      process.nextTick(() => cb(err));
    };
    const { closed } = client(t, 'client', t.net.connect({ port: 9, host: 'example.test', family: 4, lookup } as net.NetConnectOpts));
    await t.until(closed);
  },
  'two addresses from lookup, the first refused: Happy Eyeballs moves on to the second': async (t) => {
    const port = await serve(t, 'server', {}, () => {});
    const lookup = (_host: string, _opts: object, cb: (...a: unknown[]) => void) =>
      process.nextTick(() =>
        cb(null, [
          { address: '::1', family: 6 },
          { address: '127.0.0.1', family: 4 },
        ]),
      );
    const { c, closed } = client(t, 'client', t.net.connect({ port, host: 'example.test', lookup, autoSelectFamily: true } as net.NetConnectOpts));
    c.on('connect', () => {
      t.log('client', `remote ${c.remoteAddress} tried ${JSON.stringify(c.autoSelectFamilyAttemptedAddresses.map((a) => a.replace(/\d+$/, 'P')))}`);
      c.destroy();
    });
    await t.until(closed);
  },
  'noDelay, keepAlive and keepAliveInitialDelay on connect; setNoDelay and setKeepAlive return the socket': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.on('data', (d) => s.end(d));
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 }), 'client');
    c.on('data', () => {});
    c.on('connect', () => {
      t.log('client', `setNoDelay(false) returns the socket: ${c.setNoDelay(false) === c}, setKeepAlive(false) too: ${c.setKeepAlive(false) === c}`);
      c.setNoDelay(true).setKeepAlive(true, 2000);
      c.write('ping');
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'the timeout option: timeout fires on an idle socket, then destroy': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', timeout: 80 }), 'client');
    c.on('timeout', () => {
      t.log('client', `timeout ${c.timeout}`);
      c.destroy();
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'signal already aborted: AbortError and close at once, and still Node tries the address (refused here)': async (t) => {
    const port = await freePort(t, 'PORT');
    const { closed } = client(t, 'client', t.net.connect({ port, host: '127.0.0.1', signal: AbortSignal.abort() } as net.NetConnectOpts));
    await t.until(closed);
  },
  'signal aborted while connecting: AbortError, close, no connect': async (t) => {
    const server = t.own(t.net.createServer((s) => t.own(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const ac = new AbortController();
    const { c, closed } = client(t, 'client', t.net.connect({ port, host: '127.0.0.1', signal: ac.signal } as net.NetConnectOpts));
    // After Node's internalConnect (queued on the next tick by connect()): the SYN is out, the answer not yet read.
    process.nextTick(() => {
      t.log('client', `connecting ${c.connecting} pending ${c.pending}`);
      ac.abort();
    });
    await t.until(closed);
  },

  // ---- listen forms ----
  'listen(port, host, callback), listen(port, host, backlog, callback), listen({ port, host, backlog }, callback)': async (t) => {
    const port = await freePort(t, 'FREE');
    const forms: Array<[string, (s: net.Server, cb: () => void) => net.Server]> = [
      ['port, host', (s, cb) => s.listen(port, '127.0.0.1', cb)],
      ['port, host, backlog', (s, cb) => s.listen(0, '127.0.0.1', 5, cb)],
      ['options', (s, cb) => s.listen({ port: 0, host: '127.0.0.1', backlog: 5 }, cb)],
      ['options on ::1', (s, cb) => s.listen({ port: 0, host: '::1' }, cb)],
    ];
    for (const [label, listen] of forms) {
      const server = t.watch(t.net.createServer(), label);
      let called = false;
      const r = listen(server, () => {
        called = true;
        t.log(label, 'callback');
      });
      t.log(label, `returns the server: ${r === server}, listening ${server.listening}`);
      await t.until(() => called);
      const a = server.address() as net.AddressInfo;
      if (label !== 'port, host') t.name(a.port, 'EPH');
      t.log(label, `address ${a.address} ${a.family} ${a.port} listening ${server.listening}`);
      const accepted = new Promise<void>((r) => server.once('connection', (s: net.Socket) => r(void t.own(s))));
      const s = t.own(t.net.connect(a.port, a.address));
      await Promise.all([accepted, new Promise<void>((r) => s.once('connect', () => r()))]);
      s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
  'listen with a signal, then abort: the server closes': async (t) => {
    const ac = new AbortController();
    const server = t.watch(t.net.createServer(), 'server');
    server.listen({ port: 0, host: '127.0.0.1', signal: ac.signal }, () => {
      t.name((server.address() as net.AddressInfo).port, 'PORT');
      ac.abort();
      t.log('server', `listening after abort ${server.listening}`);
    });
    await t.until(() => !server.listening && ac.signal.aborted);
  },
  'listen with a signal already aborted: close, no listening': async (t) => {
    const server = t.watch(t.net.createServer(), 'server');
    server.listen({ port: 0, host: '127.0.0.1', signal: AbortSignal.abort() });
    await t.settle(80);
    t.log('server', `listening ${server.listening}`);
  },
  'ipv6Only on ::: an IPv6 client connects, an IPv4 one is refused': async (t) => {
    const server = t.watch(t.net.createServer((s) => t.own(s)), 'server');
    await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: true }, () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    for (const host of ['::1', '127.0.0.1']) {
      const { c, closed } = client(t, host, t.net.connect(port, host));
      c.on('connect', () => c.destroy());
      await t.until(closed);
    }
  },

  // ---- server options ----
  'pauseOnConnect, then resume(): what arrived meanwhile is read': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', { pauseOnConnect: true }, (s) => {
      t.log('srv', `isPaused ${s.isPaused()} readableFlowing ${s.readableFlowing}`);
      setTimeout(() => s.resume(), 60);
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => c.end('early'));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'noDelay and keepAlive server options: an echo still runs': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', { noDelay: true, keepAlive: true, keepAliveInitialDelay: 3000 }, (s) => {
      s.on('data', (d) => s.write(d));
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => c.write('a'));
    c.on('data', () => c.end());
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },

  // ---- reading ----
  'setTimeout on an accepted socket: timeout, then destroy; the client sees the end': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      const r = s.setTimeout(60, () => {
        t.log('srv', 'timeout callback');
        s.destroy();
      });
      t.log('srv', `setTimeout returns the socket: ${r === s}`);
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'setTimeout(0) disables an idle timeout; activity pushes it back': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => (received(t, s, 'srv'), s.on('close', () => closed++)), ['data', 'readable']);
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    // Writes 40 ms apart outlast a 200 ms timeout only because each one pushes it back.
    c.setTimeout(200);
    c.on('connect', () => {
      let n = 0;
      const tick = setInterval(() => {
        c.write('.');
        if (++n === 7) {
          clearInterval(tick);
          c.setTimeout(0);
          setTimeout(() => c.end(), 250);
        }
      }, 40);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'pause() with data arriving, then resume(): what was buffered comes out in order': async (t) => {
    let closed = 0;
    const port = await serve(
      t,
      'server',
      {},
      (s) => {
        s.pause();
        received(t, s, 'srv');
        setTimeout(() => {
          t.log('srv', `readableLength ${s.readableLength} isPaused ${s.isPaused()}`);
          s.resume();
        }, 200);
        s.on('close', () => closed++);
      },
      ['data', 'readable'],
    );
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => {
      c.write('one');
      setTimeout(() => c.write('two'), 30);
      setTimeout(() => c.end('three'), 60);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'setEncoding(utf8): data as strings, a character split across writes arrives whole': async (t) => {
    let closed = 0;
    const port = await serve(
      t,
      'server',
      {},
      (s) => {
        s.setEncoding('utf8');
        received(t, s, 'srv');
        s.on('close', () => closed++);
      },
      ['data', 'readable'],
    );
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    const e = Buffer.from('é', 'utf8');
    c.on('connect', () => {
      c.write(Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]));
      setTimeout(() => c.end(e.subarray(1)), 40);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'bytesRead and bytesWritten on both ends, during and after close': async (t) => {
    let closed = 0;
    let srv: net.Socket | undefined;
    const port = await serve(t, 'server', {}, (s) => {
      srv = s;
      s.on('data', (d) => s.write(Buffer.concat([d, d])));
      s.on('end', () => s.end());
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1' }), 'client');
    c.on('connect', () => {
      t.log('client', `at connect read ${c.bytesRead} written ${c.bytesWritten}`);
      c.write('hello');
    });
    c.once('data', () => {
      t.log('client', `after echo read ${c.bytesRead} written ${c.bytesWritten}`);
      c.end('!');
      t.log('client', `after end read ${c.bytesRead} written ${c.bytesWritten}`);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
    t.log('client', `after close read ${c.bytesRead} written ${c.bytesWritten}`);
    t.log('srv', `after close read ${srv?.bytesRead} written ${srv?.bytesWritten}`);
  },

  // ---- destroy at every stage ----
  'destroy() before connect: close without error, no handle': async (t) => {
    const c = t.watch(new t.net.Socket(), 'client');
    c.destroy();
    t.log('client', `destroyed ${c.destroyed} readyState ${c.readyState}`);
    await t.settle(30);
  },
  'destroy() right after connect(): close, no connect': async (t) => {
    const port = await freePort(t, 'PORT');
    const { c, closed } = client(t, 'client', t.net.connect(port, '127.0.0.1'));
    c.destroy();
    await t.until(closed);
    await t.settle(30);
  },
  'destroy() while the handshake is in flight: close, no connect': async (t) => {
    const server = t.own(t.net.createServer((s) => t.own(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const { c, closed } = client(t, 'client', t.net.connect(port, '127.0.0.1'));
    process.nextTick(() => c.destroy());
    await t.until(closed);
    await t.settle(30);
  },
  'destroy() on connect, before any data: the server reads the end': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => c.destroy());
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'destroy(err): error, then close(true); the server reads the end': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => c.destroy(Object.assign(new Error('boom'), { code: 'EBOOM' })));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'destroy() with writes pending: each write callback learns the fate of its data': async (t) => {
    const server = t.own(t.net.createServer({ pauseOnConnect: true }, (s) => t.own(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const { c, closed } = client(t, 'client', t.net.connect(port, '127.0.0.1'));
    c.on('connect', () => {
      // More than the kernel's buffers (and the stack's) take: the first write stays in the handle, the second in the stream.
      const big = Buffer.alloc(48 << 20);
      c.write(big, (err) => t.log('client', `big write callback ${t.describe(err)}`));
      c.write('small', (err) => t.log('client', `small write callback ${t.describe(err)}`));
      setTimeout(() => {
        t.log('client', `writableLength ${c.writableLength > 0} writableNeedDrain ${c.writableNeedDrain}`);
        c.destroy();
      }, 80);
    });
    await t.until(closed);
  },
  'destroySoon(): the written data goes out, finish, then close': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('data', () => {}).on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      c.write('last words');
      c.destroySoon();
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'end(data) then destroy() at once: the data and the end still reach the server': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('data', () => {}).on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      c.end('bye');
      c.destroy();
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },

  // ---- writing after the fact ----
  'write after end(): ERR_STREAM_WRITE_AFTER_END to the callback and as error': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      c.end();
      t.attempt('client', 'write after end', () => c.write('late', (err) => t.log('client', `write callback ${t.describe(err)}`)));
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'write after destroy(): ERR_STREAM_DESTROYED to the callback': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      c.destroy();
      t.attempt('client', 'write after destroy', () => c.write('late', (err) => t.log('client', `write callback ${t.describe(err)}`)));
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'writing after the peer reset, not reading: the write fails with ECONNRESET': async (t) => {
    let closed = 0;
    // The peer closes with a byte unread: RST.
    const port = await serve(t, 'server', { pauseOnConnect: true }, (s) => {
      setTimeout(() => s.destroy(), 40);
      s.on('close', () => closed++);
    });
    // onread makes pause() stop the handle reading, so the RST is met by the write, not a read.
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(64), callback: () => true } } as net.NetConnectOpts), 'client');
    c.on('connect', () => {
      c.pause();
      c.write('x');
      setTimeout(() => c.write('y', (err) => t.log('client', `write callback ${t.describe(err)}`)), 120);
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'resetAndDestroy() on a connected socket: close here, ECONNRESET there': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => t.attempt('client', 'resetAndDestroy', () => c.resetAndDestroy() === c));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'resetAndDestroy() on an accepted socket while the client reads: ECONNRESET at the client': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.on('data', () => s.resetAndDestroy());
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => c.write('hi'));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },

  'end(), then resetAndDestroy() once finished: the FIN went first, the RST after it': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('data', () => {}).on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => c.end());
    // At once: a turn later the peer's answering FIN may be here already (on the stack's loopback, one poll per hop).
    c.on('finish', () => t.attempt('client', 'resetAndDestroy', () => c.resetAndDestroy() === c));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },


  // ---- servers ----
  'server.close() waits for open connections: its callback only after they end': async (t) => {
    let closed = 0;
    const server = t.watch(
      t.net.createServer((s) => {
        t.watch(s, 'srv');
        s.on('close', () => t.log('order', 'accepted socket closed'));
      }),
      'server',
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () =>
      setTimeout(() => {
        server.close((err) => {
          t.log('order', `close callback ${t.describe(err)}`);
          closed++;
        });
        t.log('order', `closing, listening ${server.listening}`);
        setTimeout(() => {
          t.log('order', 'client ends');
          c.end();
        }, 60);
      }, 20),
    );
    await t.until(() => closed === 1);
  },
  'getConnections() counts open connections': async (t) => {
    const sockets: net.Socket[] = [];
    const server = t.watch(t.net.createServer((s) => sockets.push(t.own(s))), 'server');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const count = () => new Promise<void>((r) => server.getConnections((err, n) => (t.log('server', `getConnections ${t.describe(err)} ${n}`), r())));
    await count();
    const a = t.own(t.net.connect(port, '127.0.0.1'));
    await t.until(() => sockets.length === 1);
    await count();
    const b = t.own(t.net.connect(port, '127.0.0.1'));
    await t.until(() => sockets.length === 2);
    await count();
    a.destroy();
    b.destroy();
    await t.until(() => sockets.every((s) => s.destroyed));
    await count();
  },
  'maxConnections: one more connection is dropped with its addresses': async (t) => {
    let first = false;
    const server = t.watch(
      t.net.createServer((s) => {
        first = true;
        t.own(s);
      }),
      'server',
    );
    server.maxConnections = 1;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    t.own(t.net.connect(port, '127.0.0.1'));
    await t.until(() => first);
    const { c, closed } = client(t, 'second', t.net.connect(port, '127.0.0.1'));
    c.on('connect', () => t.name(c.localPort ?? 0, 'CPORT'));
    await t.until(closed);
  },
  'server ref() and unref() return the server, before and while listening': async (t) => {
    const server = t.watch(t.net.createServer(), 'server');
    t.attempt('server', 'unref() before listen', () => server.unref() === server);
    t.attempt('server', 'ref() before listen', () => server.ref() === server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.name((server.address() as net.AddressInfo).port, 'PORT');
    t.attempt('server', 'unref() listening', () => server.unref() === server);
    t.attempt('server', 'ref() listening', () => server.ref() === server);
    const accepted = new Promise<void>((r) => server.once('connection', (s: net.Socket) => r(void t.own(s))));
    const c = t.own(t.net.connect((server.address() as net.AddressInfo).port, '127.0.0.1'));
    t.attempt('client', 'unref() connecting', () => c.unref() === c);
    t.attempt('client', 'ref() connecting', () => c.ref() === c);
    await Promise.all([accepted, new Promise<void>((r) => c.once('connect', () => r()))]);
  },
  'server[Symbol.asyncDispose]() closes the server': async (t) => {
    const server = t.watch(t.net.createServer(), 'server');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.name((server.address() as net.AddressInfo).port, 'PORT');
    await (server as unknown as { [Symbol.asyncDispose](): Promise<void> })[Symbol.asyncDispose]();
    t.log('server', `disposed, listening ${server.listening}`);
  },
  'server.close() when not listening: ERR_SERVER_NOT_RUNNING; listen() twice: ERR_SERVER_ALREADY_LISTEN': async (t) => {
    const idle = t.watch(t.net.createServer(), 'idle');
    let done = false;
    idle.close((err) => {
      t.log('idle', `close callback ${t.describe(err)}`);
      done = true;
    });
    await t.until(() => done);
    const server = t.watch(t.net.createServer(), 'server');
    server.listen(0, '127.0.0.1');
    t.attempt('server', 'listen again', () => server.listen(0, '127.0.0.1'));
    await t.settle(50);
    t.name((server.address() as net.AddressInfo).port, 'PORT');
  },
  'an IPv6 client on ::1 to a ::1 server: addresses of both ends': async (t) => {
    const server = t.own(t.net.createServer());
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '::1', () => r()));
    const a = server.address() as net.AddressInfo;
    const port = t.name(a.port, 'PORT');
    t.log('server', `address ${a.address} ${a.family}`);
    const c = t.own(t.net.connect(port, '::1'));
    const s = t.own(await accepted);
    await new Promise<void>((r) => (c.connecting ? c.once('connect', () => r()) : r()));
    t.name(c.localPort ?? 0, 'CPORT');
    const show = (x: net.Socket) => `${x.localAddress} ${x.localFamily} ${x.localPort} -> ${x.remoteAddress} ${x.remoteFamily} ${x.remotePort}`;
    t.log('client', show(c));
    t.log('accepted', show(s));
    t.log('client', `address() ${JSON.stringify(c.address())}`);
  },
  'address() of a socket before connect, while connecting, after close': async (t) => {
    let served = false;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => (served = true)));
    const c = t.own(new t.net.Socket());
    t.log('client', `new: address() ${JSON.stringify(c.address())} remoteAddress ${c.remoteAddress}`);
    c.connect(port, '127.0.0.1');
    t.log('client', `connecting: remoteAddress ${c.remoteAddress} remotePort ${c.remotePort}`);
    await new Promise<void>((r) => c.once('connect', () => r()));
    t.name(c.localPort ?? 0, 'CPORT');
    t.log('client', `connected: address() ${JSON.stringify(c.address())}`);
    c.destroy();
    await new Promise<void>((r) => c.once('close', () => r()));
    t.log('client', `closed: address() ${JSON.stringify(c.address())} remoteAddress ${c.remoteAddress} localPort ${c.localPort}`);
    await t.until(() => served);
  },

  // ---- more of the lifecycle ----
  'write() and end() while connecting: held until connect, then sent': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => (received(t, s, 'srv'), s.on('close', () => closed++)), ['data', 'readable']);
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    t.attempt('client', 'write while connecting', () => c.write('early'));
    c.end('bird', () => t.log('client', 'end callback'));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'connect refused from a bound local port: the error names both ends': async (t) => {
    const lport = await freePort(t, 'LPORT');
    let port = lport;
    // Never the same port twice: from a port to itself TCP connects to itself (a simultaneous open).
    while (port === lport) port = await freePort(t, 'PORT');
    const { closed } = client(t, 'client', t.net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: lport }));
    await t.until(closed);
  },
  'listen on an address not on this host: EADDRNOTAVAIL': async (t) => {
    const server = t.watch(t.net.createServer(), 'server');
    server.listen(0, '10.255.255.1');
    await t.settle(50);
    t.log('server', `listening ${server.listening}`);
  },
  'the peer resets while this end is paused with data unread: the data, then the end (libuv reads the hang-up after a short read as EOF)': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', { pauseOnConnect: true }, (s) => {
      setTimeout(() => s.resume(), 100);
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    c.on('connect', () => {
      c.write('unread', () => setTimeout(() => c.resetAndDestroy(), 20));
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'resetAndDestroy() while connecting waits for connect; without a handle it is ERR_SOCKET_CLOSED': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => closed++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    t.attempt('client', 'resetAndDestroy while connecting', () => c.resetAndDestroy() === c);
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
    const idle = t.watch(new t.net.Socket(), 'idle');
    t.attempt('idle', 'resetAndDestroy without a handle', () => idle.resetAndDestroy() === idle);
    await t.settle(30);
  },
  'the peer ended, allowHalfOpen off: a write once this end has ended too is EPIPE from Node': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.end();
      s.resume();
      s.on('close', () => closed++);
    });
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    // Node ends this side after 'end' (allowHalfOpen off), then answers writes with writeAfterFIN.
    c.on('end', () => setTimeout(() => c.write('late', (err) => t.log('client', `write callback ${t.describe(err)}`)), 10));
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'connect() again on a socket that closed: a second connection on the same Socket': async (t) => {
    let served = 0;
    const port = await serve(t, 'server', {}, (s) => s.on('close', () => served++));
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    let round = 0;
    c.on('connect', () => {
      t.log('client', `round ${++round} readyState ${c.readyState}`);
      c.end();
    });
    c.once('close', () => setTimeout(() => c.connect(port, '127.0.0.1'), 10));
    await t.until(() => served === 2 && c.destroyed);
  },

  'connect to the unspecified address reaches this host (0.0.0.0 as 127.0.0.1, :: as ::1)': async (t) => {
    const server = t.own(t.net.createServer((s) => t.own(s)));
    await new Promise<void>((r) => server.listen(0, '::', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    for (const host of ['0.0.0.0', '::']) {
      const { c, closed } = client(t, host, t.net.connect(port, host));
      c.on('connect', () => {
        t.log(host, `remote ${c.remoteAddress} ${c.remoteFamily} local ${c.localAddress}`);
        c.destroy();
      });
      await t.until(closed);
    }
  },
  'the onread option: reads land in the given buffer, a chunk at most its size': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      s.end('hello world');
      s.on('close', () => closed++);
    });
    const buffer = Buffer.alloc(4);
    const callback = (n: number, buf: Buffer): boolean => {
      t.log('client', `onread ${n} ${buf === buffer} ${buf.subarray(0, n).toString()}`);
      return true;
    };
    const c = t.watch(t.net.connect({ port, host: '127.0.0.1', onread: { buffer, callback } }), 'client');
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
  },
  'writes in every encoding, corked into one writev, and an empty write': async (t) => {
    let closed = 0;
    const port = await serve(t, 'server', {}, (s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => t.log('srv', `received ${Buffer.concat(got).toString('hex')}`));
      s.on('close', () => closed++);
    }, ['data']);
    const c = t.watch(t.net.connect(port, '127.0.0.1'), 'client');
    const done = (what: string) => (err?: Error | null) => t.log('client', `${what} callback ${t.describe(err)}`);
    c.on('connect', () => {
      c.write('', done('empty'));
      c.write('utf8 é ', 'utf8', done('utf8'));
      c.write('6c6174696e31', 'hex', done('hex'));
      c.write('ZsSZ', 'base64', done('base64'));
      c.write('é', 'latin1', done('latin1'));
      c.write('ucs', 'ucs2', done('ucs2'));
      c.write('ascii', 'ascii', done('ascii'));
      c.cork();
      c.write('a', done('corked a'));
      c.write(Buffer.from('b'), done('corked b'));
      c.write('é', 'latin1', done('corked latin1'));
      c.uncork();
      c.end();
    });
    c.on('close', () => closed++);
    await t.until(() => closed === 2);
    t.log('client', `bytesWritten ${c.bytesWritten}`);
  },
  'localAddress and localPort while connecting, before the handshake completes': async (t) => {
    const server = t.own(t.net.createServer((s) => t.own(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = t.name((server.address() as net.AddressInfo).port, 'PORT');
    const c = t.own(t.net.connect(port, '127.0.0.1'));
    await new Promise<void>((r) => process.nextTick(r));
    t.log('client', `connecting ${c.connecting}: local ${c.localAddress} ${c.localPort} remote ${c.remoteAddress}`);
    await new Promise<void>((r) => c.once('connect', () => r()));
    t.name(c.localPort ?? 0, 'CPORT');
    t.log('client', `connected: local ${c.localAddress} ${c.localPort} remote ${c.remoteAddress} ${c.remotePort}`);
  },
  'a local port whose connection waits in TIME-WAIT (this end closed first): connect from it again at once, then listen on it': async (t) => {
    const port = await serve(t, 'server', {}, (s) => {
      s.resume();
      s.on('end', () => s.end());
    });
    const lport = await freePort(t, 'LPORT');
    for (const label of ['first', 'again']) {
      const { c, closed } = client(t, label, t.net.connect({ port, host: '127.0.0.1', localPort: lport }));
      c.on('connect', () => c.end());
      c.resume();
      await t.until(closed);
    }
    const server = t.watch(t.net.createServer(), 'listener');
    server.listen(lport, '127.0.0.1');
    await t.settle(50);
    t.log('listener', `listening ${server.listening}`);
  },
  'listen again on a port whose connections wait in TIME-WAIT': async (t) => {
    const first = t.watch(t.net.createServer((s) => s.end()), 'first');
    await new Promise<void>((r) => first.listen(0, '127.0.0.1', () => r()));
    const port = t.name((first.address() as net.AddressInfo).port, 'PORT');
    const { c, closed } = client(t, 'client', t.net.connect(port, '127.0.0.1'));
    c.resume();
    await t.until(closed);
    await new Promise<void>((r) => first.close(() => r()));
    const second = t.watch(t.net.createServer(), 'second');
    second.listen(port, '127.0.0.1');
    await t.settle(50);
    t.log('second', `listening ${second.listening}`);
  },

  // ---- bad arguments (Node's own checks) ----
  'bad arguments throw: ERR_SOCKET_BAD_PORT, ERR_INVALID_ARG_TYPE, ERR_INVALID_IP_ADDRESS, ERR_MISSING_ARGS': async (t) => {
    const cases: Array<[string, () => unknown]> = [
      ['connect port -1', () => t.own(t.net.connect({ port: -1, host: '127.0.0.1' }))],
      ['connect port 65536', () => t.own(t.net.connect(65536, '127.0.0.1'))],
      ['connect port true', () => t.own(t.net.connect({ port: true as unknown as number, host: '127.0.0.1' }))],
      ['connect no args', () => t.own((t.net.connect as unknown as () => net.Socket)())],
      ['connect localAddress bad', () => t.own(t.net.connect({ port: 80, host: '127.0.0.1', localAddress: 'nope' }))],
      ['connect lookup not a function', () => t.own(t.net.connect({ port: 80, host: 'x.test', lookup: 5 } as unknown as net.NetConnectOpts))],
      ['listen port 70000', () => t.own(t.net.createServer()).listen(70000, '127.0.0.1')],
      ['listen port -1 in options', () => t.own(t.net.createServer()).listen({ port: -1 })],
      ['listen bad options', () => t.own(t.net.createServer()).listen({ host: '127.0.0.1' } as net.ListenOptions)],
      ['createServer(5)', () => t.net.createServer(5 as unknown as net.ServerOpts)],
      ['setTimeout bad', () => t.own(new t.net.Socket()).setTimeout(-1)],
    ];
    for (const [what, fn] of cases) t.attempt('args', what, fn);
    await t.settle(30);
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
