import { afterEach, describe, expect, it } from 'vitest';
import { StackDriver } from '../../lib/driver';
import { SeededRandom } from '../../lib/random';
import { createStack } from '../../lib/stack';
import { createTcpServer, tcpConnect, type TcpSocket, type TcpSocketError } from '../../lib/tcp-socket';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A stack with only its loopback interface, run by a real driver on the event loop. */
function loopbackDriver(): StackDriver {
  const stack = createStack({ interfaces: [], random: new SeededRandom(5) });
  return new StackDriver(stack).start();
}

function once<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

describe('the minimal TCP socket API over a real driver', () => {
  let driver: StackDriver | undefined;
  afterEach(() => {
    driver?.stop();
    driver = undefined;
  });

  it('echoes: connect, data both ways, end, then end and close on both sides', async () => {
    driver = loopbackDriver();
    const events: string[] = [];
    const server = createTcpServer(driver, (socket) => {
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('end', () => events.push('server end'));
      socket.on('close', (hadError) => events.push(`server close ${hadError}`));
    });
    server.listen(7, '127.0.0.1');
    await once(server, 'listening');
    expect(server.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port: 7 });

    const client = tcpConnect(driver, { host: '127.0.0.1', port: 7 });
    const received: string[] = [];
    client.on('data', (chunk) => received.push(dec(chunk)));
    client.on('end', () => events.push('client end'));
    const closed = once(client, 'close');
    await once(client, 'connect');
    expect([client.remoteAddress, client.remotePort, client.localAddress]).toEqual(['127.0.0.1', 7, '127.0.0.1']);
    expect(client.localPort).toBeGreaterThanOrEqual(49152);
    expect(client.write(enc('hello, '))).toBe(true);
    client.write(enc('world'));
    await waitFor(() => received.join('') === 'hello, world');
    client.end();
    const [hadError] = await closed;
    expect(hadError).toBe(false);
    await waitFor(() => events.includes('server close false'));
    expect(events).toContain('client end');
    expect(events.indexOf('server end')).toBeLessThan(events.indexOf('server close false'));
    server.close();
    await once(server, 'close');
  });

  it('carries a large write with back-pressure and drain', async () => {
    driver = loopbackDriver();
    const chunks: Uint8Array[] = [];
    const server = createTcpServer(driver, (socket) => socket.on('data', (c) => chunks.push(c)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = tcpConnect(driver, { host: '127.0.0.1', port: server.address()!.port });
    await once(client, 'connect');
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i * 7;
    const accepted = client.write(big);
    if (!accepted) await once(client, 'drain');
    await waitFor(() => chunks.reduce((n, c) => n + c.length, 0) === big.length);
    const got = Buffer.concat(chunks);
    expect(got.equals(Buffer.from(big))).toBe(true);
    client.destroy();
    await once(client, 'close');
  });

  it('reports ECONNREFUSED for a closed port, then close with hadError', async () => {
    driver = loopbackDriver();
    const client: TcpSocket = tcpConnect(driver, { host: '127.0.0.1', port: 9 });
    const order: string[] = [];
    client.on('connect', () => order.push('connect'));
    client.on('end', () => order.push('end'));
    client.on('error', (e) => order.push(`error ${e.code}`));
    const closed = once(client, 'close');
    const failed = once(client, 'error');
    const [err] = (await failed) as [TcpSocketError];
    expect(err.message).toBe('connect ECONNREFUSED 127.0.0.1:9');
    expect([err.syscall, err.address, err.port]).toEqual(['connect', '127.0.0.1', 9]);
    const [hadError] = await closed;
    expect(hadError).toBe(true);
    expect(order).toEqual(['error ECONNREFUSED']);
  });

  it('reports EADDRINUSE on a second listen, and a dual-stack server answers on IPv6 too', async () => {
    driver = loopbackDriver();
    const first = createTcpServer(driver, (s) => s.on('data', (c) => s.write(c)));
    first.listen(8080);
    await once(first, 'listening');
    expect(first.address()).toEqual({ address: '::', family: 'IPv6', port: 8080 });
    const second = createTcpServer(driver);
    second.listen(8080);
    const [err] = (await once(second, 'error')) as [TcpSocketError];
    expect(err.code).toBe('EADDRINUSE');
    const client = tcpConnect(driver, { host: '::1', port: 8080 });
    const got: string[] = [];
    client.on('data', (c) => got.push(dec(c)));
    await once(client, 'connect');
    client.write(enc('six'));
    await waitFor(() => got.join('') === 'six');
    client.destroy();
  });

  it('a listening server and an open socket keep the process alive, as Node\'s do; closed, the process ends', async () => {
    const { spawnSync } = await import('node:child_process');
    const { resolve } = await import('node:path');
    const run = (body: string) =>
      spawnSync(process.execPath, ['-e', `
        const { createStack, StackDriver, createTcpServer, tcpConnect } = require('./dist/lib/index.js');
        const driver = new StackDriver(createStack({ interfaces: [] })).start();
        ${body}`], { cwd: resolve(__dirname, '../..'), timeout: 1500, encoding: 'utf8' });
    const listening = run(`createTcpServer(driver).listen(7000);`);
    expect(listening.signal, 'killed at the timeout: still alive').toBe('SIGTERM');
    const closed = run(`const s = createTcpServer(driver).listen(7000); s.on('listening', () => s.close());`);
    expect([closed.signal, closed.status]).toEqual([null, 0]);
    const roundTrip = run(`
      const server = createTcpServer(driver, (c) => c.on('data', (d) => c.write(d)));
      server.listen(7000);
      server.on('listening', () => {
        const c = tcpConnect(driver, { host: '127.0.0.1', port: 7000 });
        c.on('connect', () => c.write(Buffer.from('x')));
        c.on('data', () => { c.end(); server.close(); });
      });`);
    expect([roundTrip.signal, roundTrip.status, roundTrip.stderr]).toEqual([null, 0, '']);
  });
});

function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out'));
      setTimeout(tick, 2);
    };
    tick();
  });
}
