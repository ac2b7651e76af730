import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { resolve } from 'node:path';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { exceptionWithHostPort, NodeErrors, uvExceptionWithHostPort } from '../../shim/errors';

/** Everything a program can observe of an error. */
function shape(e: Error & Record<string, unknown>) {
  return { name: e.name, message: e.message, keys: Object.keys(e), props: Object.fromEntries(Object.keys(e).map((k) => [k, e[k]])), string: String(e), ctor: e.constructor.name };
}

function throwsSync(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('did not throw');
}

describe('errors shaped exactly as Node v20 makes them (compared with real ones, live)', () => {
  it('connect ECONNREFUSED, as net reports a refused connection', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const real = await new Promise<Error & Record<string, unknown>>((resolve) => net.connect(port, '127.0.0.1').on('error', (e) => resolve(e as never)));
    expect(shape(exceptionWithHostPort('ECONNREFUSED', 'connect', '127.0.0.1', port) as never)).toEqual(shape(real));
  });

  it('listen EADDRINUSE with its description, as net.Server reports it', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    const real = await new Promise<Error & Record<string, unknown>>((resolve) => net.createServer().on('error', (e) => resolve(e as never)).listen(port, '127.0.0.1'));
    srv.close();
    expect(shape(uvExceptionWithHostPort('EADDRINUSE', 'listen', '127.0.0.1', port) as never)).toEqual(shape(real));
  });

  it('bind EADDRINUSE, as dgram reports it', async () => {
    const a = dgram.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const port = a.address().port;
    const b = dgram.createSocket('udp4');
    const real = await new Promise<Error & Record<string, unknown>>((resolve) => b.on('error', (e) => resolve(e as never)).bind(port, '127.0.0.1'));
    a.close();
    b.close();
    expect(shape(exceptionWithHostPort('EADDRINUSE', 'bind', '127.0.0.1', port) as never)).toEqual(shape(real));
  });

  it('ERR_SOCKET_DGRAM_NOT_RUNNING and ERR_SOCKET_BAD_PORT, as dgram throws them', () => {
    const closed = dgram.createSocket('udp4');
    closed.close();
    const real = throwsSync(() => closed.send('x', 1, '127.0.0.1'));
    expect(shape(NodeErrors.socketDgramNotRunning() as never)).toEqual(shape(real));
    for (const bad of [70000, -1, 'abc', 1.5]) {
      const s = dgram.createSocket('udp4');
      const realPort = throwsSync(() => s.send('x', bad as number, '127.0.0.1'));
      s.close();
      expect(shape(NodeErrors.socketBadPort('Port', bad, false) as never)).toEqual(shape(realPort));
    }
  });

  it('ERR_SOCKET_DGRAM_IS_CONNECTED and NOT_CONNECTED, as dgram throws them', async () => {
    const s = dgram.createSocket('udp4');
    expect(shape(NodeErrors.socketDgramNotConnected() as never)).toEqual(shape(throwsSync(() => s.disconnect())));
    await new Promise<void>((r) => s.connect(9, '127.0.0.1', () => r()));
    const real = await new Promise<Error & Record<string, unknown>>((resolve) => {
      try {
        s.connect(9, '127.0.0.1');
      } catch (e) {
        resolve(e as never);
      }
    });
    s.close();
    expect(shape(NodeErrors.socketDgramIsConnected() as never)).toEqual(shape(real));
  });
});

describe('stack headers outside the test runner (vitest formats stacks its own way)', () => {
  it('match Node\'s: "Error [CODE]: message" for ERR_* errors', () => {
    const script = `
      const dgram = require('node:dgram');
      const { NodeErrors } = require('./dist/shim/errors.js');
      const s = dgram.createSocket('udp4'); s.close();
      let real; try { s.send('x', 1, '127.0.0.1'); } catch (e) { real = e; }
      console.log(JSON.stringify([real.stack.split('\\n')[0], NodeErrors.socketDgramNotRunning().stack.split('\\n')[0]]));`;
    const [real, ours] = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: resolve(__dirname, '../..'), encoding: 'utf8', timeout: 20_000 }));
    expect(ours).toBe(real);
    expect(real).toBe('Error [ERR_SOCKET_DGRAM_NOT_RUNNING]: Not running');
  });
});
