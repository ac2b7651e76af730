/**
 * A shim socket keeps the process alive exactly when a real one would: bound and
 * referenced. The stack itself never does. Each case runs in a child process, once with
 * Node's dgram and once with the shim on a loopback-only stack, and both must agree on
 * whether the process ended by itself.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(__dirname, '../..');

const PRELUDE = {
  real: `const dgram = require('node:dgram');`,
  shim: `
    const { createStack } = require('./dist/lib/stack.js');
    const { StackDriver } = require('./dist/lib/driver.js');
    const { ShimHost } = require('./dist/shim/host.js');
    const { dgramOver } = require('./dist/shim/dgram.js');
    const driver = new StackDriver(createStack({ interfaces: [], loopback: true })).start();
    const dgram = dgramOver(new ShimHost(driver));`,
};

/** Whether the program ended by itself within `ms` (it is killed otherwise). */
function endsByItself(body: string, impl: keyof typeof PRELUDE, ms = 1500): Promise<{ ended: boolean; code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['-e', `${PRELUDE[impl]}\n${body}`], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ ended: signal === null, code, stderr });
    });
  });
}

const cases: Record<string, { body: string; ended: boolean }> = {
  'nothing but the stack: the process ends': { body: ``, ended: true },
  'an unbound socket does not hold the process': { body: `dgram.createSocket('udp4');`, ended: true },
  'a bound socket holds the process': { body: `dgram.createSocket('udp4').bind(0, '127.0.0.1');`, ended: false },
  'a bound socket unreferenced does not': { body: `dgram.createSocket('udp4').bind(0, '127.0.0.1').unref();`, ended: true },
  'unref before bind holds across the bind': { body: `const s = dgram.createSocket('udp4'); s.unref(); s.bind(0, '127.0.0.1');`, ended: true },
  'ref after unref holds again': { body: `const s = dgram.createSocket('udp4'); s.bind(0, '127.0.0.1'); s.unref(); s.ref();`, ended: false },
  'a socket closed after a round trip lets the process end': {
    body: `
      const a = dgram.createSocket('udp4');
      a.bind(0, '127.0.0.1', () => {
        const b = dgram.createSocket('udp4');
        b.send('ping', a.address().port, '127.0.0.1');
        a.on('message', () => { a.close(); b.close(); });
      });`,
    ended: true,
  },
};

describe('process lifetime with dgram sockets, shim as Node', () => {
  for (const [title, c] of Object.entries(cases)) {
    it(title, async () => {
      const [real, shim] = await Promise.all([endsByItself(c.body, 'real'), endsByItself(c.body, 'shim')]);
      expect(real.stderr).toBe('');
      expect(shim.stderr).toBe('');
      expect(real.ended).toBe(c.ended);
      expect(shim.ended).toBe(c.ended);
      if (c.ended) expect(shim.code).toBe(0);
    });
  }
});
