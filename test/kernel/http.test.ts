/**
 * Unmodified HTTP, HTTPS, fetch and net programs on the stack against real servers and
 * clients of the Linux kernel: the examples (examples/http-*.js, fetch-connector.js,
 * net-echo-*.js, fetch-get.js) run under
 * `node --require <repo>/dist/shim/register.js` in the lab's switch namespace, and talk to
 * nginx, dnsmasq, curl and the same examples on the kernel in the peer's namespace.
 *
 * Each test has its own lab (one process at a time holds its TAP, so the apps of one test run
 * one after another) and the tests run together. Bulk data is the examples' AES-128-CTR
 * keystream (key 16 × 0x07, zero IV): nginx serves a file of it, examples/http-server.js
 * generates it, and a transfer is byte-exact when the SHA-256 a program prints is the
 * keystream's. Certificates are made per test with openssl: a CA, and a server certificate it
 * signs for the peer's address (SAN IP) that nginx sends alone, without the CA.
 *
 * The switch namespace the apps run in has no address of its own: whatever reaches the peer
 * from there went through the stack (nginx's access log shows the stack's address).
 * Programs that run in the peer without the preload show the same program on the kernel's
 * sockets, with the same output.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { prerequisiteProblems, tunAvailable, type ExecResult, type StackProcess } from '../lab/lab.js';
import { escape, exitWithin, labRunner, LINE_MS, Scenario, TEST_MS } from './scenario';
import { until } from './wait';

/** What the peer runs, with the Debian package that brings it (the lab's own list lacks them). */
const PEER_TOOLS: [tool: string, pkg: string][] = [
  ['nginx', 'nginx-light'],
  ['openssl', 'openssl'],
  ['dnsmasq', 'dnsmasq-base'],
  ['curl', 'curl'],
  ['ss', 'iproute2'],
  ['sha256sum', 'coreutils'],
];

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, tool)));
}

const problems = tunAvailable() ? prerequisiteProblems() : ['/dev/net/tun is missing (needs root and the tun module)'];
for (const [tool, pkg] of PEER_TOOLS) if (!onPath(tool)) problems.push(`\`${tool}\` is missing: install it with \`apt-get install -y ${pkg}\``);
if (problems.length > 0) console.warn(`SKIPPING test/kernel/http: ${problems.join('; ')}`);

const REPO = path.resolve(__dirname, '../..');
const EXAMPLES = path.join(REPO, 'examples');
const PRELOAD = ['--require', path.join(REPO, 'dist', 'shim', 'register.js')];
const FETCH_GET = path.join(EXAMPLES, 'fetch-get.js');
const WS_PEER = path.join(__dirname, 'apps', 'ws-peer.js');
/** The file nginx serves for the bulk downloads, and a smaller one for the rest. */
const BULK = 100_000_000;
const MEDIUM = 4_000_000;
/** A program's whole life, bulk transfer included. */
const APP_MS = 60_000;

/** The examples' deterministic bytes: `size` bytes of the AES-128-CTR keystream (key 16 × 0x07, zero IV). */
function keystream(size: number): Buffer {
  return crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16)).update(Buffer.alloc(size));
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** `same`, or where `got` first parts from `expected` (for the failure message). */
function sameBytes(got: Buffer, expected: Buffer): string {
  if (got.equals(expected)) return 'same';
  let at = 0;
  while (at < Math.min(got.length, expected.length) && got[at] === expected[at]) at++;
  return `${got.length} bytes, not ${expected.length}; the first difference at offset ${at}`;
}

/** What http-client.js, fetch-get.js and fetch-connector.js (after `via ...: `) print for a 200 with `sha`. */
function got(bytes: number, sha: string): string {
  return `status 200, ${bytes} bytes, sha256 ${sha}`;
}

/** The files nginx serves (root = dir), made once for all the tests; the namespaces share the file system. */
interface Content {
  dir: string;
  bulk: { name: string; sha: string };
  medium: { name: string; sha: string };
}

function writeContent(): Content {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-http-data-'));
  const bytes = keystream(BULK);
  const write = (name: string, size: number) => {
    fs.writeFileSync(path.join(dir, name), bytes.subarray(0, size));
    return { name, sha: sha256(bytes.subarray(0, size)) };
  };
  return { dir, bulk: write('bulk.bin', BULK), medium: write('medium.bin', MEDIUM) };
}

/** A CA, a server certificate it signs for `ip`, and another CA that signed nothing here. */
interface Pki {
  ca: string;
  wrongCa: string;
  cert: string;
  key: string;
}

class HttpScenario extends Scenario {
  /** `script` under the preload, IPv4 only, with `env` added; its output is kept with the lab's. */
  app(script: string, args: string[], env: NodeJS.ProcessEnv = {}): StackProcess {
    return this.startApp(script, args, { PYTCP_IPV4: `${this.ip}/${this.lab.prefixLen}`, PYTCP_IPV6: 'off', ...env }, PRELOAD);
  }

  /** Runs a program under the preload to its end; its stdout, after checking it exited 0 (or `code`). */
  async run(script: string, args: string[], env: NodeJS.ProcessEnv = {}, code = 0): Promise<string> {
    const app = this.app(script, args, env);
    const exit = await exitWithin(app, APP_MS);
    if (exit.code !== code) throw new Error(`exited ${exit.code ?? exit.signal}, not ${code}\n${app.describe()}`);
    return app.stdout.trim();
  }

  /** A command in the peer that must succeed; its output. */
  async peerOk(argv: string[], timeoutMs = APP_MS): Promise<ExecResult> {
    const result = await this.peer(argv, timeoutMs);
    if (result.code !== 0) throw new Error(`peer: \`${argv.join(' ')}\` exited ${result.code}: ${result.stdout}${result.stderr}`);
    return result;
  }

  /** Waits until a kernel socket in the peer listens on TCP `port`. */
  async listening(port: number): Promise<void> {
    const end = Date.now() + LINE_MS;
    while (!(await this.peerOk(['ss', '-Hltn', `sport = :${port}`])).stdout.trim()) {
      if (Date.now() > end) throw new Error(`nothing listens on the peer's port ${port} after ${LINE_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Makes the test's certificates with openssl in the scratch directory. */
  async pki(): Promise<Pki> {
    const file = (name: string) => path.join(this.dir, name);
    const ec = ['-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-days', '2'];
    for (const argv of [
      ['openssl', 'req', '-x509', '-new', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=pytcp test CA'],
      ['openssl', 'req', '-x509', '-new', ...ec, '-keyout', file('wrong-ca.key'), '-out', file('wrong-ca.pem'), '-subj', '/CN=pytcp wrong CA'],
      // A leaf for the peer's address (Node matches an IP host against SAN IP entries only).
      ['openssl', 'req', '-x509', '-new', ...ec, '-keyout', file('server.key'), '-out', file('server.pem'), '-subj', `/CN=${this.lab.peerIpv4}`,
        '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-addext', `subjectAltName=IP:${this.lab.peerIpv4}`, '-addext', 'basicConstraints=critical,CA:FALSE'],
    ]) {
      await this.peerOk(argv);
    }
    return { ca: file('ca.pem'), wrongCa: file('wrong-ca.pem'), cert: file('server.pem'), key: file('server.key') };
  }

  /**
   * nginx in the peer, one process (no daemon, no master), serving `root` on the peer's port
   * 80 and, with `pki`, 443 with TLS; logs and temporary files in the scratch directory.
   */
  async nginx(root: string, pki?: Pki): Promise<void> {
    const file = (name: string) => path.join(this.dir, name);
    const conf = [
      'daemon off;',
      'master_process off;',
      `pid ${file('nginx.pid')};`,
      `error_log ${file('nginx-error.log')} info;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${file('nginx-access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${file(`nginx-${kind}`)};`),
      '  default_type application/octet-stream;',
      '  sendfile on;',
      '  server {',
      `    listen ${this.lab.peerIpv4}:80;`,
      ...(pki ? [`    listen ${this.lab.peerIpv4}:443 ssl;`, `    ssl_certificate ${pki.cert};`, `    ssl_certificate_key ${pki.key};`] : []),
      `    root ${root};`,
      '  }',
      '}',
      '',
    ].join('\n');
    fs.writeFileSync(file('nginx.conf'), conf);
    // -e: the error log before the configuration is read (else /var/log/nginx).
    // Without a master process nginx stays root (no worker to hand to its user), so it reads
    // the 0700 temporary directories.
    const nginx = this.lab.spawn(this.lab.peerNs, ['nginx', '-c', file('nginx.conf'), '-e', file('nginx-error.log'), '-p', this.dir], { timeoutMs: TEST_MS });
    nginx.stdout?.resume();
    nginx.stderr?.resume();
    await this.listening(80);
    if (pki) await this.listening(443);
  }

  /** dnsmasq in the peer, on its interface only: `names` → the peer's address, authoritative for `.lab` (other names there are NXDOMAIN). */
  async dnsmasq(names: string[]): Promise<void> {
    const log = path.join(this.dir, 'dnsmasq.log');
    const records = names.map((name) => `--host-record=${name},${this.lab.peerIpv4}`);
    const dnsmasq = this.lab.spawn(this.lab.peerNs, [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--local=/lab/', ...records,
      '--bind-interfaces', `--interface=${this.lab.peerIf}`, `--pid-file=${path.join(this.dir, 'dnsmasq.pid')}`, '--log-queries', `--log-facility=${log}`,
    ], { timeoutMs: TEST_MS });
    dnsmasq.stdout?.resume();
    dnsmasq.stderr?.resume();
    await until(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('started, version'), LINE_MS, () => 'dnsmasq did not start');
  }
}

const inLab = labRunner('http', HttpScenario);

/** Runs `fn` and returns its result with the milliseconds it took. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

function logTransfer(what: string, bytes: number, ms: number): void {
  console.log(`http kernel: ${what}: ${(bytes / 1e6).toFixed(0)} MB in ${Math.round(ms)} ms, ${(bytes / 1e3 / ms).toFixed(1)} MB/s`);
}

describe.skipIf(problems.length > 0).concurrent('unmodified HTTP, HTTPS, fetch and net programs on the stack against the Linux kernel', () => {
  let content: Content;
  beforeAll(() => {
    content = writeContent();
  });
  afterAll(() => {
    if (content) fs.rmSync(content.dir, { recursive: true, force: true });
  });

  it('http.get (examples/http-client.js) and the global fetch download 100 MB from nginx, byte-exact', async ({ expect }) => {
    await inLab('nginx-bulk', async (s) => {
      await s.nginx(content.dir);
      const url = `http://${s.lab.peerIpv4}/${content.bulk.name}`;
      const [client, clientMs] = await timed(() => s.run(path.join(EXAMPLES, 'http-client.js'), [url]));
      expect(client).toBe(got(BULK, content.bulk.sha));
      logTransfer('http.get from nginx', BULK, clientMs);
      const [fetched, fetchMs] = await timed(() => s.run(FETCH_GET, [url]));
      expect(fetched).toBe(got(BULK, content.bulk.sha));
      logTransfer('global fetch from nginx', BULK, fetchMs);
      // Both came from the stack's address, each a 200 of the whole file.
      const access = fs.readFileSync(path.join(s.dir, 'nginx-access.log'), 'utf8').trim().split('\n');
      expect(access.map((line) => line.split(' ')[0])).toEqual([s.ip, s.ip]);
      expect(access.every((line) => line.includes(`"GET /${content.bulk.name} HTTP/1.1" 200 ${BULK} `))).toBe(true);
    });
  }, TEST_MS);

  it('the same example programs run as they are on the kernel (no preload): http.get and fetch from nginx, curl from http-server.js', async ({ expect }) => {
    await inLab('kernel-examples', async (s) => {
      await s.nginx(content.dir);
      const url = `http://${s.lab.peerIpv4}/${content.medium.name}`;
      for (const script of [path.join(EXAMPLES, 'http-client.js'), FETCH_GET]) {
        const run = await s.peerOk([process.execPath, script, url]);
        expect(run.stdout.trim()).toBe(got(MEDIUM, content.medium.sha));
      }
      const server = s.peer([process.execPath, path.join(EXAMPLES, 'http-server.js'), '--host', s.lab.peerIpv4, '--port', '8080', '--requests', '1'], APP_MS);
      await s.listening(8080);
      const curl = await s.peerOk(['curl', '-sS', '--fail', `http://${s.lab.peerIpv4}:8080/`]);
      expect(curl.stdout).toBe(`hello from http-server, you are ${s.lab.peerIpv4}\n`);
      expect((await server).code).toBe(0);
    });
  }, TEST_MS);

  it('examples/http-server.js on the stack answers curl in the peer: a text body, then /bytes/N byte-exact read slowly; it exits after them and the tail still arrives', async ({ expect }) => {
    await inLab('stack-server', async (s) => {
      const app = s.app(path.join(EXAMPLES, 'http-server.js'), ['--port', '80', '--requests', '2']);
      // Without a host Node listens on `::`, and Linux hands such a socket IPv4 clients as
      // IPv4-mapped addresses (RFC 4291 §2.5.5.2): the stack does the same.
      await app.waitForLine('http listening on :::80', LINE_MS, 'stdout');
      const text = await s.peerOk(['curl', '-sS', '--fail', `http://${s.ip}/`]);
      expect(text.stdout).toBe(`hello from http-server, you are ::ffff:${s.lab.peerIpv4}\n`);
      // The long answer last, read at 2 MB/s: the server closes and exits as soon as the last
      // of it is in the send buffer; the process stays until the orphaned connection has
      // delivered the rest (shim/tcp-orphans.ts), as a kernel socket delivers after exit.
      const download = path.join(s.dir, 'bytes.bin');
      const [, ms] = await timed(() => s.peerOk(['curl', '-sS', '--fail', '--limit-rate', '2M', '-o', download, `http://${s.ip}/bytes/${MEDIUM}`]));
      expect(sameBytes(fs.readFileSync(download), keystream(MEDIUM))).toBe('same');
      logTransfer('curl (2 MB/s) from examples/http-server.js on the stack', MEDIUM, ms);
      expect(await exitWithin(app, LINE_MS)).toEqual({ code: 0, signal: null });
      const served = new RegExp(`^served GET (\\S+) to ::ffff:${escape(s.lab.peerIpv4)}: 200, (\\d+) bytes, sha256 ([0-9a-f]{64})$`);
      const lines = app.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^http listening on /);
      expect(lines.slice(1).map((line) => served.exec(line)?.slice(1))).toEqual([
        ['/', String(text.stdout.length), sha256(Buffer.from(text.stdout))],
        [`/bytes/${MEDIUM}`, String(MEDIUM), content.medium.sha],
      ]);
    });
  }, TEST_MS);

  it("https.get with the test CA (and fetch with it in NODE_EXTRA_CA_CERTS) gets nginx's file; with another CA it fails with Node's own error, the same as on the kernel", async ({ expect }) => {
    await inLab('https-ca', async (s) => {
      const pki = await s.pki();
      await s.nginx(content.dir, pki);
      const client = path.join(EXAMPLES, 'http-client.js');
      const url = `https://${s.lab.peerIpv4}/${content.medium.name}`;
      expect(await s.run(client, [url, '--ca', pki.ca])).toBe(got(MEDIUM, content.medium.sha));
      // The global fetch's TLS (tls.connect over the stack) takes Node's CAs and NODE_EXTRA_CA_CERTS.
      expect(await s.run(FETCH_GET, [url], { NODE_EXTRA_CA_CERTS: pki.ca })).toBe(got(MEDIUM, content.medium.sha));

      // nginx sends the leaf alone: Node finds no issuer for it among the CAs it was given.
      const refused = 'error UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate';
      expect(await s.run(client, [url, '--ca', pki.wrongCa], {}, 1)).toBe(refused);
      const kernel = await s.peer([process.execPath, client, url, '--ca', pki.wrongCa]);
      expect({ code: kernel.code, out: kernel.stdout.trim() }, kernel.stderr).toEqual({ code: 1, out: refused });
      // Without any CA of its own, Node trusts only its bundled roots.
      expect(await s.run(client, [url], {}, 1)).toBe(refused);
    });
  }, TEST_MS);

  it('examples/fetch-connector.js fetches from nginx over http and https through the pytcp connector, and the same bytes through undici on the kernel', async ({ expect }) => {
    await inLab('connector', async (s) => {
      const pki = await s.pki();
      await s.nginx(content.dir, pki);
      const example = path.join(EXAMPLES, 'fetch-connector.js');
      const extraCa = { NODE_EXTRA_CA_CERTS: pki.ca };
      const http = `http://${s.lab.peerIpv4}/${content.bulk.name}`;
      const https = `https://${s.lab.peerIpv4}/${content.medium.name}`;
      const [plain, ms] = await timed(() => s.run(example, [http]));
      expect(plain).toBe(`via pytcp connector: ${got(BULK, content.bulk.sha)}`);
      logTransfer('undici request with connector() from nginx', BULK, ms);
      expect(await s.run(example, [https], extraCa)).toBe(`via pytcp connector: ${got(MEDIUM, content.medium.sha)}`);
      // The CA comes from NODE_EXTRA_CA_CERTS alone: without it the connector's TLS refuses nginx.
      expect(await s.run(example, [https], {}, 1)).toBe('error UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate');

      const kernel = await s.peerOk(['env', `NODE_EXTRA_CA_CERTS=${pki.ca}`, process.execPath, example, https]);
      expect(kernel.stdout.trim()).toBe(`via undici default: ${got(MEDIUM, content.medium.sha)}`);
    });
  }, TEST_MS);

  it('http.get and fetch reach nginx by a name dnsmasq in the peer resolves (PYTCP_DNS); an unknown name fails with ENOTFOUND as Node reports it', async ({ expect }) => {
    await inLab('dns-name', async (s) => {
      await s.nginx(content.dir);
      await s.dnsmasq(['web.lab']);
      const dns = { PYTCP_DNS: s.lab.peerIpv4 };
      const client = path.join(EXAMPLES, 'http-client.js');
      expect(await s.run(client, [`http://web.lab/${content.medium.name}`], dns)).toBe(got(MEDIUM, content.medium.sha));
      expect(await s.run(FETCH_GET, [`http://web.lab/${content.medium.name}`], dns)).toBe(got(MEDIUM, content.medium.sha));
      const notFound = 'error ENOTFOUND: getaddrinfo ENOTFOUND nowhere.lab';
      expect(await s.run(client, ['http://nowhere.lab/'], dns, 1)).toBe(notFound);
      expect(await s.run(FETCH_GET, ['http://nowhere.lab/'], dns, 1)).toBe(notFound);
      const log = fs.readFileSync(path.join(s.dir, 'dnsmasq.log'), 'utf8');
      expect(log).toMatch(new RegExp(`query\\[A\\] web\\.lab from ${escape(s.ip)}`));
      expect(log).toMatch(new RegExp(`query\\[A\\] nowhere\\.lab from ${escape(s.ip)}`));
    });
  }, TEST_MS);

  it('examples/net-echo-client.js ↔ net-echo-server.js, byte-exact: the client on the stack to the server on the kernel, then the server on the stack', async ({ expect }) => {
    await inLab('net-echo', async (s) => {
      const client = path.join(EXAMPLES, 'net-echo-client.js');
      const server = path.join(EXAMPLES, 'net-echo-server.js');
      const size = String(MEDIUM);
      const echoed = (from: string) => new RegExp(`^echoed ${MEDIUM} bytes ${from}, sha256 ${content.medium.sha}`);

      // s.peer, not s.peerOk: it never rejects, so a test failing before the await leaves no stray rejection.
      const kernelServer = s.peer([process.execPath, server, '--host', s.lab.peerIpv4, '--port', '7', '--connections', '1'], APP_MS);
      await s.listening(7);
      expect(await s.run(client, [s.lab.peerIpv4, '7', '--bytes', size])).toMatch(echoed(`from ${escape(s.lab.peerIpv4)}:7`));
      const served = await kernelServer;
      expect(served.code, served.stderr).toBe(0);
      expect(served.stdout.trim().split('\n')[1]).toMatch(echoed(`to ${escape(s.ip)}:\\d+`));

      // The long echo last: the server exits after it, while the tail may still be in its send
      // buffer; the orphaned connection delivers it before the process ends.
      const stackServer = s.app(server, ['--port', '7', '--connections', '2']);
      await stackServer.waitForLine('net echo listening on :::7', LINE_MS, 'stdout');
      const hello = await s.peerOk([process.execPath, client, s.ip, '7', '--message', 'hello from the kernel']);
      expect(hello.stdout.trim()).toBe(`echoed 21 bytes from ${s.ip}:7, sha256 ${sha256(Buffer.from('hello from the kernel'))}, same`);
      const kernelClient = await s.peerOk([process.execPath, client, s.ip, '7', '--bytes', size]);
      expect(kernelClient.stdout.trim()).toMatch(echoed(`from ${escape(s.ip)}:7`));
      expect(kernelClient.stdout.trim()).toMatch(/, same$/);
      expect(await exitWithin(stackServer, LINE_MS)).toEqual({ code: 0, signal: null });
      const lines = stackServer.stdout.trim().split('\n');
      expect(lines[1]).toMatch(new RegExp(`^echoed 21 bytes to ::ffff:${escape(s.lab.peerIpv4)}:\\d+, sha256 `));
      expect(lines[2]).toMatch(echoed(`to ::ffff:${escape(s.lab.peerIpv4)}:\\d+`));
    });
  }, TEST_MS);

  it('a WebSocket (ws) exchange, a message each way: the server on the stack with the client on the kernel, then the reverse', async ({ expect }) => {
    await inLab('websocket', async (s) => {
      const stackServer = s.app(WS_PEER, ['server', '8080']);
      await stackServer.waitForLine('ws listening on 8080', LINE_MS, 'stdout');
      const kernelClient = await s.peerOk([process.execPath, WS_PEER, 'client', `ws://${s.ip}:8080/`]);
      expect(kernelClient.stdout.trim().split('\n')).toEqual(['got "hello from the server"', 'closed 1000']);
      expect(await exitWithin(stackServer, LINE_MS)).toEqual({ code: 0, signal: null });
      expect(stackServer.stdout.trim().split('\n')).toEqual(['ws listening on 8080', `got "hello from the client" from ::ffff:${s.lab.peerIpv4}`, 'closed 1000']);

      const kernelServer = s.peer([process.execPath, WS_PEER, 'server', '8081'], APP_MS);
      await s.listening(8081);
      expect((await s.run(WS_PEER, ['client', `ws://${s.lab.peerIpv4}:8081/`])).split('\n')).toEqual(['got "hello from the server"', 'closed 1000']);
      const served = await kernelServer;
      expect(served.code, served.stderr).toBe(0);
      expect(served.stdout.trim().split('\n')).toEqual(['ws listening on 8081', `got "hello from the client" from ::ffff:${s.ip}`, 'closed 1000']);
    });
  }, TEST_MS);
});
