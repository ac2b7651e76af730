/**
 * The dgram shim judged against Node itself: every scenario runs once on Node's real
 * `dgram` over the kernel's loopback and once on the shim over the stack's loopback
 * interface, and both runs must observe the same events, in the same order, with the
 * same errors (code, message, syscall, address, port) and the same thrown exceptions.
 * Ports differ between the two runs, so each scenario names the ports it learns and the
 * log shows names instead of numbers.
 */
import * as dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, waitUntil } from '../helpers/conformance';
import { createStack } from '../../lib/stack';
import { StackDriver } from '../../lib/driver';
import { ShimHost } from '../../shim/host';
import { dgramOver, type ShimDgram } from '../../shim/dgram';

interface Run {
  dgram: ShimDgram;
  /** A line of the observable history. */
  log(line: string): void;
  /** Records every event the socket emits, under `label`. */
  watch(socket: dgram.Socket, label: string): dgram.Socket;
  /** Names a port so the log shows the name. */
  name(port: number, label: string): number;
  /** Runs `fn`, logging what it throws (or that it returned). */
  attempt(what: string, fn: () => unknown): void;
  /** Waits until `pred` holds (bounded), then lets stragglers arrive. */
  until(pred: () => boolean, ms?: number): Promise<void>;
  settle(ms?: number): Promise<void>;
  describe(value: unknown): string;
}

type Scenario = (t: Run) => Promise<void>;

async function record(impl: ShimDgram, scenario: Scenario): Promise<string[]> {
  const lines: string[] = [];
  const ports = new Map<number, string>();
  const sockets: dgram.Socket[] = [];
  // Port numbers become names once the whole run is known (a port may be named after it was logged).
  const scrub = (text: string) => text.replace(/\b\d{2,5}\b/g, (m) => ports.get(Number(m)) ?? m);
  const describe = (value: unknown): string => {
    if (value instanceof Error) return describeError(value as Error & Record<string, unknown>);
    if (Buffer.isBuffer(value)) return value.length > 32 ? `<${value.length} bytes, sum ${value.reduce((a, b) => a + b, 0)}>` : `<${value.toString('hex')}>`;
    return JSON.stringify(value) ?? String(value);
  };
  const t: Run = {
    dgram: impl,
    log: (line) => lines.push(line),
    watch(socket, label) {
      sockets.push(socket);
      // Errors are logged below; without a listener Node would throw them from its callback.
      socket.on('error', () => {});
      const emit = socket.emit;
      socket.emit = function (this: dgram.Socket, event: string, ...args: unknown[]) {
        if (event !== 'newListener' && event !== 'removeListener') lines.push(`${label} ${event} ${args.map(describe).join(' ')}`.trim());
        return (emit as (this: dgram.Socket, event: string, ...a: unknown[]) => boolean).call(this, event, ...args);
      } as typeof socket.emit;
      return socket;
    },
    name(port, label) {
      ports.set(port, label);
      return port;
    },
    attempt(what, fn) {
      try {
        const r = fn();
        lines.push(`${what} -> ${r instanceof dgram.Socket ? 'socket' : describe(r)}`);
      } catch (e) {
        lines.push(`${what} threw ${describe(e)}`);
      }
    },
    until: (pred, ms = 2000) => waitUntil(pred, ms, 20),
    settle: (ms = 60) => new Promise((r) => setTimeout(r, ms)),
    describe,
  };
  try {
    await scenario(t);
  } finally {
    for (const s of sockets) {
      try {
        s.close();
      } catch {
        // already closed by the scenario
      }
    }
    // The close events (emitted on the next tick) belong to this run's history.
    await new Promise((r) => setTimeout(r, 20));
  }
  return lines.map(scrub);
}

/** A port on which nothing listens, on the implementation under test. */
async function closedPort(t: Run): Promise<number> {
  const s = t.dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function bound(t: Run, label: string, type: 'udp4' | 'udp6' = 'udp4', address = type === 'udp4' ? '127.0.0.1' : '::1'): Promise<dgram.Socket> {
  const s = t.watch(t.dgram.createSocket(type), label);
  return new Promise((resolve) => s.bind(0, address, () => resolve(s)));
}

const scenarios: Record<string, Scenario> = {
  'bind() with no arguments listens on the wildcard, on an ephemeral port': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    s.bind();
    await t.until(() => { try { return s.address().port > 0; } catch { return false; } });
    const a = s.address();
    t.name(a.port, 'EPH');
    t.log(`address ${a.address} ${a.family} ${a.port} ephemeral=${a.port >= 32768}`);
  },
  'bind(port, address, callback): the callback runs on listening, then events in order': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    const r = s.bind(0, '127.0.0.1', () => t.log('callback'));
    t.log(`returns this: ${r === s}`);
    await t.until(() => false, 50);
    t.log(`address ${s.address().address}`);
  },
  'bind(options, callback) with exclusive and a callback': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    s.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => t.log('callback'));
    await t.settle();
  },
  'bind twice throws ERR_SOCKET_ALREADY_BOUND synchronously': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    s.bind(0, '127.0.0.1');
    t.attempt('bind again', () => s.bind(0));
    await t.settle();
    t.attempt('bind after listening', () => s.bind(0));
  },
  'a second bind to a port in use fails with EADDRINUSE': async (t) => {
    const a = await bound(t, 'a');
    const port = t.name(a.address().port, 'A');
    const b = t.watch(t.dgram.createSocket('udp4'), 'b');
    b.bind(port, '127.0.0.1', () => t.log('b callback (wrong)'));
    await t.settle();
    t.attempt('b.address()', () => b.address());
    t.log(`listeners left on b: error=${b.listenerCount('error')} listening=${b.listenerCount('listening')}`);
  },
  'reuseAddr lets two sockets share a port': async (t) => {
    const a = t.watch(t.dgram.createSocket({ type: 'udp4', reuseAddr: true }), 'a');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const port = t.name(a.address().port, 'A');
    const b = t.watch(t.dgram.createSocket({ type: 'udp4', reuseAddr: true }), 'b');
    b.bind(port, '127.0.0.1');
    await t.settle();
    t.log(`b port ${b.address().port}`);
  },
  'binding an address the host does not hold fails with EADDRNOTAVAIL': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    s.bind(0, '10.99.99.99');
    await t.settle();
  },
  'bind to a name resolves it with the lookup option': async (t) => {
    const calls: string[] = [];
    const lookup = (host: string, family: unknown, cb: (e: Error | null, a: string, f: number) => void) => {
      calls.push(`${host}/${String(family)}`);
      cb(null, '127.0.0.1', 4);
    };
    const s = t.watch(t.dgram.createSocket({ type: 'udp4', lookup: lookup as never }), 's');
    s.bind(0, 'my.host.test');
    await t.settle();
    t.log(`lookup calls ${calls.join(',')} address ${s.address().address}`);
  },
  'a failing lookup is emitted as the error, and the socket can bind again': async (t) => {
    const lookup = (_h: string, _f: unknown, cb: (e: Error | null) => void) => {
      const e = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
      cb(e);
    };
    const s = t.watch(t.dgram.createSocket({ type: 'udp4', lookup: lookup as never }), 's');
    s.bind(0, 'nowhere.test');
    await t.settle();
    t.attempt('bind again', () => s.bind(0, '127.0.0.1'));
    await t.settle();
  },
  'send before bind binds implicitly, queues, and calls back with the byte count': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.send('hello', port, '127.0.0.1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    t.log('send returned');
    await t.until(() => false, 100);
    t.name(c.address().port, 'CLIENT');
    t.log(`client address ${c.address().address}`);
  },
  'every send form delivers the same bytes': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
    t.name(c.address().port, 'CLIENT');
    const cb = (what: string) => (err: Error | null, n?: number) => t.log(`${what} cb ${t.describe(err)} ${n}`);
    c.send(Buffer.from('buffer'), port, '127.0.0.1', cb('buffer'));
    c.send([Buffer.from('ar'), Buffer.from('ray'), 'str'], port, '127.0.0.1', cb('array'));
    c.send(Buffer.from('xxsliceyy'), 2, 5, port, '127.0.0.1', cb('offset'));
    c.send('string', port, '127.0.0.1', cb('string'));
    c.send(new Uint8Array([1, 2, 3]), port, '127.0.0.1', cb('uint8array'));
    c.send(new DataView(new Uint8Array([4, 5]).buffer), port, '127.0.0.1', cb('dataview'));
    c.send(Buffer.alloc(0), port, '127.0.0.1', cb('empty'));
    c.send([], port, '127.0.0.1', cb('empty list'));
    c.send('no callback', port, '127.0.0.1');
    c.send('default address', port, cb('default address'));
    t.attempt('offset on a string', () => c.send('xyz', 1, 1, port, '127.0.0.1', cb('offset on a string')));
    t.attempt('offset beyond the buffer', () => c.send(Buffer.from('ab'), 1, 5, port, '127.0.0.1', cb('offset beyond')));
    await t.until(() => false, 150);
  },
  'invalid send arguments throw Node\'s errors synchronously': async (t) => {
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    t.attempt('port 0', () => c.send('x', 0, '127.0.0.1'));
    t.attempt('port 70000', () => c.send('x', 70000, '127.0.0.1'));
    t.attempt('port string', () => c.send('x', 'abc' as never, '127.0.0.1'));
    t.attempt('no port', () => c.send('x'));
    t.attempt('number payload', () => c.send(42 as never, 9, '127.0.0.1'));
    t.attempt('bad list', () => c.send([1, 2] as never, 9, '127.0.0.1'));
    t.attempt('address number', () => c.send('x', 9, 42 as never));
    await t.settle();
  },
  'connect, send without an address, remoteAddress, disconnect': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.connect(port, '127.0.0.1', () => t.log('connect callback'));
    t.attempt('remoteAddress while connecting', () => c.remoteAddress());
    t.attempt('connect again while connecting', () => c.connect(port, '127.0.0.1'));
    await t.settle();
    t.name(c.address().port, 'CLIENT');
    t.log(`remote ${t.describe(c.remoteAddress())}`);
    c.send('one', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    c.send(Buffer.from('a-two-b'), 2, 3, (err, n) => t.log(`offset send cb ${t.describe(err)} ${n}`));
    t.attempt('send with an address while connected', () => c.send('x', port, '127.0.0.1'));
    t.attempt('connect again', () => c.connect(port, '127.0.0.1'));
    await t.settle();
    t.attempt('disconnect', () => c.disconnect());
    t.attempt('remoteAddress after disconnect', () => c.remoteAddress());
    t.attempt('disconnect again', () => c.disconnect());
    t.attempt('send without address after disconnect', () => c.send('x'));
    await t.settle();
  },
  'connect validates its arguments': async (t) => {
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    t.attempt('port 0', () => c.connect(0, '127.0.0.1'));
    t.attempt('port 65536', () => c.connect(65536, '127.0.0.1'));
    t.attempt('address number', () => c.connect(9, 5 as never));
    await t.settle();
  },
  'connect with only a port goes to the loopback address': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.connect(port);
    await t.settle();
    t.log(`remote ${t.describe(c.remoteAddress())}`);
  },
  'a connected socket hears ECONNREFUSED after sending to a closed port': async (t) => {
    const port = t.name(await closedPort(t), 'CLOSED');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.connect(port, '127.0.0.1');
    await t.settle();
    c.send('anyone?', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 150);
  },
  'an unconnected socket hears nothing about a closed port': async (t) => {
    const port = t.name(await closedPort(t), 'CLOSED');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.send('anyone?', port, '127.0.0.1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 150);
  },
  'an oversized datagram fails with EMSGSIZE in the callback': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.send(Buffer.alloc(65508), port, '127.0.0.1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    c.send(Buffer.alloc(65507), port, '127.0.0.1', (err, n) => t.log(`max send cb ${t.describe(err)} ${n}`));
    c.send(Buffer.alloc(65508), port, '127.0.0.1');
    await t.until(() => false, 150);
    t.name(c.address().port, 'CLIENT');
  },
  'close while bind is pending emits close only': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    s.bind(0, '127.0.0.1', () => t.log('bind callback (wrong)'));
    s.close(() => t.log('close callback'));
    await t.settle();
  },
  'close while sends wait for bind: queued sends are dropped and close follows': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    c.send('queued', port, '127.0.0.1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    c.close(() => t.log('close callback'));
    await t.until(() => false, 100);
  },
  'after close: the methods throw ERR_SOCKET_DGRAM_NOT_RUNNING': async (t) => {
    const s = await bound(t, 's');
    await new Promise<void>((r) => s.close(() => r()));
    t.attempt('close', () => s.close());
    t.attempt('send', () => s.send('x', 9, '127.0.0.1'));
    t.attempt('bind', () => s.bind(0));
    t.attempt('address', () => s.address());
    t.attempt('addMembership', () => s.addMembership('239.1.1.1'));
    t.attempt('ref', () => s.ref());
    t.attempt('unref', () => s.unref());
    await t.settle();
  },
  'socket options before bind fail with EBADF as libuv reports': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    t.attempt('setBroadcast', () => s.setBroadcast(true));
    t.attempt('setTTL', () => s.setTTL(5));
    t.attempt('setMulticastTTL', () => s.setMulticastTTL(5));
    t.attempt('setMulticastLoopback', () => s.setMulticastLoopback(false));
    t.attempt('setMulticastInterface', () => s.setMulticastInterface('127.0.0.1'));
    t.attempt('address', () => s.address());
    t.attempt('remoteAddress', () => s.remoteAddress());
    t.attempt('getRecvBufferSize', () => s.getRecvBufferSize());
    t.attempt('setSendBufferSize', () => s.setSendBufferSize(1000));
    t.attempt('getSendQueueSize', () => s.getSendQueueSize());
    t.attempt('getSendQueueCount', () => s.getSendQueueCount());
    await t.settle();
  },
  'socket options after bind: accepted values and EINVAL': async (t) => {
    const s = await bound(t, 's');
    t.attempt('setBroadcast', () => s.setBroadcast(true));
    t.attempt('setTTL 64', () => s.setTTL(64));
    t.attempt('setTTL 0', () => s.setTTL(0));
    t.attempt('setTTL 256', () => s.setTTL(256));
    t.attempt('setTTL string', () => s.setTTL('1' as never));
    t.attempt('setMulticastTTL 0', () => s.setMulticastTTL(0));
    t.attempt('setMulticastTTL 256', () => s.setMulticastTTL(256));
    t.attempt('setMulticastLoopback', () => s.setMulticastLoopback(false));
    t.attempt('setMulticastInterface unparsable', () => s.setMulticastInterface('xx'));
    t.attempt('setMulticastInterface not local', () => s.setMulticastInterface('10.9.9.9'));
    t.attempt('setMulticastInterface number', () => s.setMulticastInterface(5 as never));
    t.attempt('getSendQueueSize', () => s.getSendQueueSize());
    t.attempt('getSendQueueCount', () => s.getSendQueueCount());
  },
  'buffer sizes follow Linux: doubled, floored, and set from the options at bind': async (t) => {
    const s = await bound(t, 's');
    t.attempt('setRecvBufferSize 10000', () => s.setRecvBufferSize(10000));
    t.attempt('getRecvBufferSize', () => s.getRecvBufferSize());
    t.attempt('setRecvBufferSize 1', () => s.setRecvBufferSize(1));
    t.attempt('getRecvBufferSize', () => s.getRecvBufferSize());
    t.attempt('setSendBufferSize 1', () => s.setSendBufferSize(1));
    t.attempt('getSendBufferSize', () => s.getSendBufferSize());
    t.attempt('setRecvBufferSize -1', () => s.setRecvBufferSize(-1));
    t.attempt('setRecvBufferSize 1.5', () => s.setRecvBufferSize(1.5));
    const o = t.watch(t.dgram.createSocket({ type: 'udp4', recvBufferSize: 20000, sendBufferSize: 30000 }), 'o');
    await new Promise<void>((r) => o.bind(0, '127.0.0.1', () => r()));
    t.log(`from options ${o.getRecvBufferSize()} ${o.getSendBufferSize()}`);
    t.attempt('bad option', () => t.dgram.createSocket({ type: 'udp4', recvBufferSize: -5 }));
  },
  'membership errors are Linux\'s': async (t) => {
    const s = await bound(t, 's');
    t.attempt('addMembership no group', () => s.addMembership(''));
    t.attempt('addMembership unicast', () => s.addMembership('1.2.3.4'));
    t.attempt('addMembership junk', () => s.addMembership('not an address'));
    t.attempt('addMembership foreign interface', () => s.addMembership('239.1.1.1', '10.9.9.9'));
    t.attempt('addMembership bad interface', () => s.addMembership('239.1.1.1', 'xx'));
    t.attempt('dropMembership not joined', () => s.dropMembership('239.1.1.2', '127.0.0.1'));
    t.attempt('addSourceSpecificMembership bad source', () => s.addSourceSpecificMembership('xx', '232.1.1.1'));
    t.attempt('addSourceSpecificMembership source not string', () => s.addSourceSpecificMembership(5 as never, '232.1.1.1'));
  },
  'a multicast group joined on the loopback interface: delivery, EADDRINUSE on a second join, leave': async (t) => {
    const r = t.watch(t.dgram.createSocket({ type: 'udp4', reuseAddr: true }), 'r');
    await new Promise<void>((done) => r.bind(0, () => done()));
    const port = t.name(r.address().port, 'GROUP_PORT');
    t.attempt('join', () => r.addMembership('239.1.2.3', '127.0.0.1'));
    t.attempt('join again', () => r.addMembership('239.1.2.3', '127.0.0.1'));
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    await new Promise<void>((done) => s.bind(0, '127.0.0.1', () => done()));
    t.name(s.address().port, 'SENDER');
    t.attempt('setMulticastInterface', () => s.setMulticastInterface('127.0.0.1'));
    t.attempt('setMulticastTTL', () => s.setMulticastTTL(2));
    s.send('to the group', port, '239.1.2.3', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 100);
    t.attempt('leave', () => r.dropMembership('239.1.2.3', '127.0.0.1'));
    t.attempt('leave again', () => r.dropMembership('239.1.2.3', '127.0.0.1'));
  },
  'a socket without membership does not hear the group': async (t) => {
    const r = t.watch(t.dgram.createSocket({ type: 'udp4', reuseAddr: true }), 'r');
    await new Promise<void>((done) => r.bind(0, () => done()));
    const port = t.name(r.address().port, 'GROUP_PORT');
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    await new Promise<void>((done) => s.bind(0, '127.0.0.1', () => done()));
    t.name(s.address().port, 'SENDER');
    s.setMulticastInterface('127.0.0.1');
    s.send('to the group', port, '239.1.2.4', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 100);
  },
  'broadcast needs setBroadcast: EACCES before, delivered after': async (t) => {
    const s = await bound(t, 's');
    t.name(s.address().port, 'S');
    s.send('x', 9, '255.255.255.255', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.settle();
  },
  'createSocket validates type and options': async (t) => {
    t.attempt('udp5', () => t.dgram.createSocket('udp5' as never));
    t.attempt('no type', () => t.dgram.createSocket({} as never));
    t.attempt('lookup not a function', () => t.dgram.createSocket({ type: 'udp4', lookup: 'x' as never }));
    t.attempt('signal not a signal', () => t.dgram.createSocket({ type: 'udp4', signal: {} as never }));
    const s = t.dgram.createSocket('udp4');
    t.log(`instanceof Socket ${s instanceof dgram.Socket} ${s instanceof t.dgram.Socket} type ${(s as unknown as { type: string }).type}`);
    const n = new (t.dgram.Socket as unknown as new (type: string) => dgram.Socket)('udp6');
    t.log(`new Socket ${n instanceof dgram.Socket} type ${(n as unknown as { type: string }).type}`);
    s.close();
    n.close();
  },
  'an abort signal closes the socket, before or after creation': async (t) => {
    const ac = new AbortController();
    const s = t.watch(t.dgram.createSocket({ type: 'udp4', signal: ac.signal }), 's');
    s.bind(0, '127.0.0.1');
    await t.settle();
    ac.abort();
    await t.settle();
    t.attempt('send after abort', () => s.send('x', 9, '127.0.0.1'));
    const aborted = AbortSignal.abort();
    const p = t.watch(t.dgram.createSocket({ type: 'udp4', signal: aborted }), 'p');
    t.attempt('bind on pre-aborted', () => p.bind(0));
    await t.settle();
  },
  'messages, rinfo and a reply from the listener argument': async (t) => {
    const server = t.watch(
      t.dgram.createSocket('udp4', (msg, rinfo) => {
        t.log(`listener ${msg.toString()} ${t.describe(rinfo)}`);
        server.send(msg.toString().toUpperCase(), rinfo.port, rinfo.address);
      }),
      'server',
    );
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
    t.name(c.address().port, 'CLIENT');
    for (const word of ['one', 'two', 'three']) c.send(word, port, '127.0.0.1');
    await t.until(() => false, 150);
  },
  'udp6 on ::1: bind, send, receive, address families': async (t) => {
    const server = await bound(t, 'server', 'udp6');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket({ type: 'udp6', ipv6Only: true }), 'c');
    await new Promise<void>((r) => c.bind(0, '::1', () => r()));
    t.name(c.address().port, 'CLIENT');
    c.send('six', port, '::1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 100);
    t.log(`server ${t.describe(server.address())}`);
  },
  'a dual-stack udp6 socket on :: hears IPv4 peers as ::ffff:a.b.c.d and answers them': async (t) => {
    const server = t.watch(t.dgram.createSocket('udp6'), 'server');
    server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address, (err, n) => t.log(`reply cb ${t.describe(err)} ${n}`)));
    await new Promise<void>((r) => server.bind(0, '::', () => r()));
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp4'), 'c');
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
    t.name(c.address().port, 'CLIENT');
    c.send('over v4', port, '127.0.0.1');
    await t.until(() => false, 100);
  },
  'udp6 sends to an IPv4-mapped address reach an IPv4 socket; ipv6Only refuses them': async (t) => {
    const server = await bound(t, 'server');
    const port = t.name(server.address().port, 'SERVER');
    const c = t.watch(t.dgram.createSocket('udp6'), 'c');
    await new Promise<void>((r) => c.bind(0, () => r()));
    t.name(c.address().port, 'CLIENT');
    c.send('mapped', port, '::ffff:127.0.0.1', (err, n) => t.log(`send cb ${t.describe(err)} ${n}`));
    const only = t.watch(t.dgram.createSocket({ type: 'udp6', ipv6Only: true }), 'only');
    await new Promise<void>((r) => only.bind(0, () => r()));
    t.name(only.address().port, 'ONLY');
    only.send('mapped', port, '::ffff:127.0.0.1', (err, n) => t.log(`v6only send cb ${t.describe(err)} ${n}`));
    await t.until(() => false, 100);
  },
  'a dual-stack :: takes the IPv4 port too; with ipv6Only both can bind it': async (t) => {
    const six = t.watch(t.dgram.createSocket('udp6'), 'six');
    await new Promise<void>((r) => six.bind(0, '::', () => r()));
    const port = t.name(six.address().port, 'PORT');
    const four = t.watch(t.dgram.createSocket('udp4'), 'four');
    four.bind(port, '0.0.0.0');
    await t.settle();
    const only = t.watch(t.dgram.createSocket({ type: 'udp6', ipv6Only: true }), 'only');
    await new Promise<void>((r) => only.bind(0, '::', () => r()));
    const port2 = t.name(only.address().port, 'PORT2');
    const four2 = t.watch(t.dgram.createSocket('udp4'), 'four2');
    four2.bind(port2, '0.0.0.0');
    await t.settle();
  },
  'udp6 binds an IPv4-mapped address, and ipv6Only refuses it': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp6'), 's');
    await new Promise<void>((r) => s.bind(0, '::ffff:127.0.0.1', () => r()));
    const a = s.address();
    t.name(a.port, 'S');
    t.log(`address ${a.address} ${a.family}`);
    const only = t.watch(t.dgram.createSocket({ type: 'udp6', ipv6Only: true }), 'only');
    only.bind(0, '::ffff:127.0.0.1');
    await t.settle();
  },
  'udp6 connected to a closed port hears ECONNREFUSED': async (t) => {
    const probe = await bound(t, 'probe', 'udp6');
    const port = t.name(probe.address().port, 'CLOSED');
    await new Promise<void>((r) => probe.close(() => r()));
    const c = t.watch(t.dgram.createSocket('udp6'), 'c');
    c.connect(port, '::1');
    await t.settle();
    c.send('anyone?');
    await t.until(() => false, 150);
  },
  'ref and unref return the socket, before and after bind': async (t) => {
    const s = t.watch(t.dgram.createSocket('udp4'), 's');
    t.log(`unref ${s.unref() === s} ref ${s.ref() === s}`);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    t.log(`unref ${s.unref() === s} ref ${s.ref() === s}`);
  },
  'Symbol.asyncDispose closes the socket': async (t) => {
    const s = await bound(t, 's');
    await (s as unknown as { [Symbol.asyncDispose](): Promise<void> })[Symbol.asyncDispose]();
    t.log('disposed');
    await (s as unknown as { [Symbol.asyncDispose](): Promise<void> })[Symbol.asyncDispose]();
    t.log('disposed again');
  },
};

describe('dgram shim conformance: the same scenario on Node\'s dgram and on the shim', () => {
  const stack = createStack({ interfaces: [], loopback: true });
  const driver = new StackDriver(stack).start();
  const shim = dgramOver(new ShimHost(driver));
  const real: ShimDgram = { Socket: dgram.Socket, createSocket: dgram.createSocket };
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
