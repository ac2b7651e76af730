/**
 * TLS and undici over stack sockets, in one process on the stack's loopback: Node's own
 * TLSSocket runs over a stack socket (shim/tls.ts hands it Node's JSStreamSocket), a
 * tls.Server and an http(s).Server take connections a stack server accepted, the
 * preload's tls.connect makes its TCP connection on the stack, and undici's Agent, Client
 * and Pool fetch through `connector()`. Certificates come from openssl at test time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Agent, Client, Pool, errors, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackDriver } from '../../lib/driver';
import { createPipe } from '../../lib/phy/pipe';
import { createStack } from '../../lib/stack';
import { ShimHost } from '../../shim/host';
import { netOver } from '../../shim/net';
import { acceptStackSocketsInTls, tlsConnectOver } from '../../shim/tls';
import { connector, registeredStack } from '../../shim/undici';

interface Pki {
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
  otherCa: Buffer;
}

/** A CA, a server certificate it signs for localhost and 127.0.0.1, and an unrelated CA. */
function makePki(dir: string): Pki {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pytcp test CA');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=another CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  const ext = join(dir, 'san.ext');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${ext}`]);
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', ext);
  const read = (f: string) => readFileSync(join(dir, f));
  return { ca: read('ca.pem'), key: read('server.key'), cert: read('server.pem'), otherCa: read('other.pem') };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function pattern(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

describe('TLS and undici over stack sockets', () => {
  const stack = createStack({ interfaces: [], loopback: true });
  const driver = new StackDriver(stack).start();
  const host = ShimHost.for(driver);
  const shim = netOver(host);
  const dir = mkdtempSync(join(tmpdir(), 'pytcp-tls-'));
  let pki: Pki;
  const servers: net.Server[] = [];

  /** A stack server handing each connection to `server` (a tls.Server or http(s).Server), as Node documents for any socket. */
  async function serveOnStack(server: net.Server): Promise<number> {
    const front = shim.createServer((socket) => server.emit('connection', socket));
    servers.push(front);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    return (front.address() as net.AddressInfo).port;
  }

  beforeAll(() => {
    pki = makePki(dir);
    acceptStackSocketsInTls();
  });
  afterAll(() => {
    for (const s of servers) s.close();
    driver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a TLS echo over a stack socket both ways: handshake verified, ALPN, addresses from the stack, 256 KB byte-exact', async () => {
    const tlsServer = tls.createServer({ key: pki.key, cert: pki.cert, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => s.pipe(s));
    const port = await serveOnStack(tlsServer);
    const payload = pattern(256 * 1024);
    const events: string[] = [];
    const tcp = shim.connect(port, '127.0.0.1');
    const client = tls.connect({ socket: tcp, ca: pki.ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.on('secureConnect', () => {
        events.push('secureConnect');
        expect(client.authorized).toBe(true);
        expect(client.alpnProtocol).toBe('http/1.1');
        expect(client.getProtocol()).toBe('TLSv1.3');
        expect(client.remoteAddress).toBe('127.0.0.1');
        expect(client.remotePort).toBe(port);
        expect(client.localAddress).toBe('127.0.0.1');
        client.end(payload);
      });
      client.on('data', (d: Buffer) => received.push(d));
      client.on('end', () => events.push('end'));
      client.on('close', (hadError) => {
        events.push(`close ${hadError}`);
        resolve();
      });
      client.on('error', reject);
    });
    await done;
    expect(events).toEqual(['secureConnect', 'end', 'close false']);
    expect(sha256(Buffer.concat(received))).toBe(sha256(payload));
  });

  it("a certificate from another CA fails the handshake with Node's error, and the stack socket goes with it", async () => {
    const tlsServer = tls.createServer({ key: pki.key, cert: pki.cert }, (s) => s.end());
    const port = await serveOnStack(tlsServer);
    const tcp = shim.connect(port, '127.0.0.1');
    const client = tls.connect({ socket: tcp, ca: pki.otherCa, servername: 'localhost' });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => client.on('error', resolve));
    expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await new Promise<void>((r) => (client.destroyed ? r() : client.on('close', () => r())));
    expect(client.destroyed).toBe(true);
  });

  it("the preload's tls.connect makes the TCP connection on the stack: connecting, then connect and secureConnect in Node's order", async () => {
    const connect = tlsConnectOver((options) => shim.connect(options));
    const tlsServer = tls.createServer({ key: pki.key, cert: pki.cert }, (s) => s.end('hi'));
    const port = await serveOnStack(tlsServer);
    const events: string[] = [];
    const client = connect(port, '127.0.0.1', { ca: pki.ca, servername: 'localhost' }, () => events.push('callback'));
    events.push(`connecting ${client.connecting}`);
    client.on('connect', () => events.push('connect'));
    client.on('secureConnect', () => events.push(`secureConnect ${client.remoteAddress}`));
    client.on('data', (d: Buffer) => events.push(`data ${d.toString()}`));
    await new Promise<void>((r) => client.on('close', () => r()));
    expect(events).toEqual(['connecting true', 'connect', 'callback', 'secureConnect 127.0.0.1', 'data hi']);
  });

  it("the preload's tls.connect to a closed port: Node's ECONNREFUSED error on the TLS socket", async () => {
    const connect = tlsConnectOver((options) => shim.connect(options));
    const probe = shim.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = connect({ port, host: '127.0.0.1', ca: pki.ca });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => client.on('error', resolve));
    expect(err.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('undici Agent, Client and Pool with connector(): http and https (SNI, ALPN http/1.1, the test CA), keep-alive reuses one connection', async () => {
    const seen: string[] = [];
    const handler: http.RequestListener = (req, res) => {
      seen.push(`${req.url} ${req.socket.remotePort}`);
      res.end(`hello ${req.url}`);
    };
    const httpPort = await serveOnStack(http.createServer(handler));
    const httpsServer = https.createServer({ key: pki.key, cert: pki.cert }, handler);
    let sni: string | undefined;
    httpsServer.on('secureConnection', (s: tls.TLSSocket) => (sni = (s as tls.TLSSocket & { servername?: string }).servername || undefined));
    const httpsPort = await serveOnStack(httpsServer);
    const connect = connector({ stack: { driver }, ca: pki.ca });

    const agent = new Agent({ connect });
    for (const path of ['/a1', '/a2', '/a3', '/a4']) {
      const res = await request(`http://127.0.0.1:${httpPort}${path}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe(`hello ${path}`);
    }
    // Keep-alive: connections are reused (undici over kernel sockets uses two for these four requests too).
    expect(new Set(seen.map((line) => line.split(' ')[1])).size).toBeLessThan(4);

    const client = new Client(`https://localhost:${httpsPort}`, { connect });
    const c1 = await client.request({ path: '/c1', method: 'GET' });
    expect(await c1.body.text()).toBe('hello /c1');
    expect(sni).toBe('localhost');

    const pool = new Pool(`https://127.0.0.1:${httpsPort}`, { connect: connector({ stack: { driver }, ca: pki.ca, servername: 'localhost' }) });
    const p1 = await pool.request({ path: '/p1', method: 'GET' });
    expect(await p1.body.text()).toBe('hello /p1');
    await Promise.all([agent.close(), client.close(), pool.close()]);
  });

  it("connector()'s connect timeout: undici's ConnectTimeoutError when the SYN goes unanswered", async () => {
    // A second stack on a link with nobody on the other end: its ARP and SYN go nowhere.
    const [end] = createPipe();
    const lonely = createStack({ interfaces: [{ device: end, mac: '02:00:00:00:00:01', ipv4: ['10.9.0.1/24'], acd: { probe: false } }], loopback: false });
    const lonelyDriver = new StackDriver(lonely).start();
    try {
      const agent = new Agent({ connect: connector({ stack: { driver: lonelyDriver }, timeout: 100 }) });
      const err = await request('http://10.9.0.2:8080/', { dispatcher: agent }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(errors.ConnectTimeoutError);
      expect(err?.message).toBe('Connect Timeout Error (attempted address: 10.9.0.2:8080, timeout: 100ms)');
      await agent.destroy();
    } finally {
      lonelyDriver.stop();
    }
  });

  it('connector() without a stack in a process the preload did not start: a clear error, and registeredStack() is undefined', () => {
    expect(registeredStack()).toBeUndefined();
    expect(() => connector()).toThrow(/needs the stack of `node --require pytcp\/register`/);
  });
});
