/**
 * A connection the app closed while the stack still owed the peer data is delivered
 * before the process ends, as the kernel delivers an orphaned socket's data after close(2)
 * (shim/tcp-orphans.ts). In a child process on a loopback-only stack, a client writes 2 MB
 * to a server that is not reading yet and destroys its socket as soon as the write is
 * taken; the server and its socket are unreferenced, so once the client is closed only
 * the orphan can keep the process alive until the server has read it all.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(__dirname, '../..');

const PROGRAM = `
  const { createStack } = require('./dist/lib/stack.js');
  const { StackDriver } = require('./dist/lib/driver.js');
  const { ShimHost } = require('./dist/shim/host.js');
  const { netOver } = require('./dist/shim/net.js');
  const driver = new StackDriver(createStack({ interfaces: [], loopback: true })).start();
  const net = netOver(new ShimHost(driver));
  // Within the client's send buffer (256 KiB: the write completes at once), past the server's receive window (128 KiB).
  const SIZE = 200 * 1024;
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    s.unref();
    let received = 0;
    s.on('data', (d) => (received += d.length));
    s.on('end', () => console.log('received ' + received));
    // The server reads only later: until then the client's data waits in the stack, unacknowledged.
    setTimeout(() => s.resume(), 300).unref();
  });
  server.listen(0, '127.0.0.1', () => {
    server.unref();
    const c = net.connect(server.address().port, '127.0.0.1', () => {
      c.write(Buffer.alloc(SIZE, 7), () => { c.destroy(); console.log('client closed'); });
    });
  });
`;

function run(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['-e', PROGRAM], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

describe('orphaned connections', () => {
  it('data written before close reaches the peer before the process ends, then the process ends by itself', async () => {
    const result = await run();
    expect(result.stderr).toBe('');
    expect(result.signal).toBe(null);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('client closed\nreceived 204800\n');
  });
});
