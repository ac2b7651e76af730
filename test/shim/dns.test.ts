/**
 * The stub resolver on a loopback-only stack, against fake DNS servers written with
 * dns-packet on the stack's own loopback (127.0.0.1 and 127.0.0.2, port 5353). Errors are
 * compared with what Node's own dns.lookup and dns.resolve4 give for a name that does not
 * exist (`nonexistent.invalid`, RFC 6761 §6.4), on this machine's resolver.
 */
import * as dns from 'node:dns';
import type * as dgram from 'node:dgram';
import { promisify } from 'node:util';
import * as packet from 'dns-packet';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createStack } from '../../lib/stack';
import { StackDriver } from '../../lib/driver';
import { Ipv4Address } from '../../lib/wire/address';
import { ShimHost } from '../../shim/host';
import { dgramOver } from '../../shim/dgram';
import { netOver } from '../../shim/net';
import { parseHosts, StackResolver, type StackResolverOptions } from '../../shim/dns';

const PORT = 5353;
const stack = createStack({ interfaces: [], loopback: true });
const driver = new StackDriver(stack).start();
const host = new ShimHost(driver);
const shim = dgramOver(host);
afterAll(() => driver.stop());

type Records = { A?: string[]; AAAA?: string[]; CNAME?: string };
type Zone = Record<string, Records>;

interface Query {
  id: number;
  name: string;
  type: string;
  rd: boolean;
  port: number;
}

/** A response to `query` from `zone`, as a recursive server gives it: CNAMEs followed unless `shallow`. */
function answerFrom(query: packet.DecodedPacket, zone: Zone, shallow = false): Buffer {
  const q = query.questions![0];
  const answers: packet.Answer[] = [];
  let name = q.name.toLowerCase();
  for (let hops = 0; zone[name] && hops < 20; hops++) {
    const records = zone[name];
    if (records.CNAME) {
      answers.push({ type: 'CNAME', name, ttl: 60, class: 'IN', data: records.CNAME });
      if (shallow) break;
      name = records.CNAME;
      continue;
    }
    const type = q.type as 'A' | 'AAAA';
    for (const data of records[type] ?? []) answers.push({ type, name, ttl: 300, class: 'IN', data });
    break;
  }
  const known = zone[q.name.toLowerCase()] !== undefined;
  return response(query, known ? 0 : 3, answers);
}

function response(query: packet.DecodedPacket, rcode: number, answers: packet.Answer[] = [], id = query.id): Buffer {
  return packet.encode({ type: 'response', id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcode, questions: query.questions, answers });
}

type Handler = (query: packet.DecodedPacket, reply: (buf: Buffer) => void, from: dgram.RemoteInfo) => void;

interface FakeServer {
  queries: Query[];
  socket: dgram.Socket;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];

async function fakeServer(address: string, handler: Handler): Promise<FakeServer> {
  const socket = shim.createSocket('udp4');
  const queries: Query[] = [];
  socket.on('message', (msg, rinfo) => {
    const query = packet.decode(msg);
    const q = query.questions![0];
    queries.push({ id: query.id!, name: q.name, type: q.type, rd: query.flag_rd, port: rinfo.port });
    handler(query, (buf) => socket.send(buf, rinfo.port, rinfo.address), rinfo);
  });
  await new Promise<void>((resolve) => socket.bind(PORT, address, () => resolve()));
  const server = { queries, socket, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
  servers.push(server);
  return server;
}

const zoneServer = (address: string, zone: Zone, shallow = false) => fakeServer(address, (q, reply) => reply(answerFrom(q, zone, shallow)));
const silentServer = (address: string) => fakeServer(address, () => {});
/** Answers every query with no records and TC set: the answer did not fit, ask over TCP (RFC 1035 §4.2.1). */
const truncatingServer = (address: string) =>
  fakeServer(address, (q, reply) => {
    const cut = packet.decode(response(q, 0));
    reply(packet.encode({ ...cut, flags: (cut.flags ?? 0) | packet.TRUNCATED_RESPONSE }));
  });

async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

function resolver(opts: StackResolverOptions = {}): StackResolver {
  return new StackResolver(host, { servers: ['127.0.0.1'], port: PORT, timeout: 150, ...opts });
}

type LookupResult = { err: NodeJS.ErrnoException | null; address?: string | dns.LookupAddress[]; family?: number };

function lookup(r: { lookup: typeof dns.lookup }, name: string, options: dns.LookupOptions | number = {}): Promise<LookupResult> {
  return new Promise((resolve) => {
    (r.lookup as (h: string, o: unknown, cb: (err: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void) => void)(name, options, (err, address, family) =>
      resolve({ err, address, family }),
    );
  });
}

function resolve4(r: { resolve4: typeof dns.resolve4 }, name: string): Promise<{ err: NodeJS.ErrnoException | null; addresses?: string[] }> {
  return new Promise((resolve) => r.resolve4(name, (err, addresses) => resolve({ err, addresses })));
}

/** An error as code observes it: message, own enumerable keys in order, their values, its class. */
function shape(err: Error | null): unknown {
  if (!err) return null;
  const e = err as Error & Record<string, unknown>;
  return { message: e.message, name: e.name, constructor: e.constructor.name, keys: Object.keys(e), values: Object.keys(e).map((k) => e[k]), stackHead: e.stack?.split('\n')[0] };
}

const ZONE: Zone = {
  'www.example.test': { A: ['10.1.2.3', '10.1.2.4'], AAAA: ['2001:db8::1'] },
  'v4only.example.test': { A: ['10.5.5.5'] },
  'alias.example.test': { CNAME: 'alias2.example.test' },
  'alias2.example.test': { CNAME: 'www.example.test' },
  'loop1.example.test': { CNAME: 'loop2.example.test' },
  'loop2.example.test': { CNAME: 'loop1.example.test' },
  'host.corp.test': { A: ['10.7.7.7'] },
  'a.b': { A: ['10.8.8.8'] },
  'echo.test': { A: ['127.0.0.1'] },
};

describe('StackResolver.lookup against fake servers on the stack\'s loopback', () => {
  afterEach(closeServers);

  it('answers an A query with the first address, family 4; the query asks for recursion with a fresh ID and port', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(await lookup(r, 'WWW.Example.Test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(server.queries.map((q) => [q.name, q.type, q.rd])).toEqual([
      ['www.example.test', 'A', true],
      ['www.example.test', 'A', true],
    ]);
    // Each try comes from its own socket: an ephemeral port of the stack's range (RFC 6335).
    for (const q of server.queries) expect(q.port).toBeGreaterThanOrEqual(49152);
  });

  it('answers AAAA for family 6 (and for options.family "IPv6")', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    expect(await lookup(r, 'www.example.test', 6)).toEqual({ err: null, address: '2001:db8::1', family: 6 });
    expect(await lookup(r, 'www.example.test', { family: 'IPv6' as unknown as number })).toEqual({ err: null, address: '2001:db8::1', family: 6 });
    expect(server.queries.every((q) => q.type === 'AAAA')).toBe(true);
  });

  it('family 0 with all: every address of both types; order and verbatim sort them as Node does', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    const both = [
      { address: '10.1.2.3', family: 4 },
      { address: '10.1.2.4', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ];
    expect(await lookup(r, 'www.example.test', { all: true })).toEqual({ err: null, address: both, family: undefined });
    expect((await lookup(r, 'www.example.test', { all: true, order: 'ipv6first' } as dns.LookupOptions)).address).toEqual([both[2], both[0], both[1]]);
    expect((await lookup(r, 'www.example.test', { all: true, verbatim: false })).address).toEqual(both);
    expect(await lookup(r, 'www.example.test', { order: 'ipv6first' } as dns.LookupOptions)).toEqual({ err: null, address: '2001:db8::1', family: 6 });
    // A name with only an A record: family 0 still finds it; all with family 6 finds nothing.
    expect(await lookup(r, 'v4only.example.test', { all: true })).toEqual({ err: null, address: [{ address: '10.5.5.5', family: 4 }], family: undefined });
    expect((await lookup(r, 'v4only.example.test', { all: true, family: 6 })).err?.code).toBe('ENOTFOUND');
    expect(new Set(server.queries.map((q) => q.type))).toEqual(new Set(['A', 'AAAA']));
  });

  it('follows a CNAME chain within one response and across queries; a CNAME loop ends, bounded, in ENOTFOUND', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    expect(await lookup(r, 'alias.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(server.queries).toHaveLength(1);
    await closeServers();

    // A server that gives only the first CNAME: the resolver asks for each target in turn.
    const shallow = await zoneServer('127.0.0.1', ZONE, true);
    expect(await lookup(r, 'alias.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(shallow.queries.map((q) => q.name)).toEqual(['alias.example.test', 'alias2.example.test', 'www.example.test']);
    const loop = await lookup(r, 'loop1.example.test', 4);
    expect(loop.err?.code).toBe('ENOTFOUND');
    expect(shallow.queries.length).toBeLessThanOrEqual(3 + 9);
  });

  it('NXDOMAIN is ENOTFOUND, shaped exactly as Node\'s dns.lookup error for a name that does not exist', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const second = await zoneServer('127.0.0.2', ZONE);
    const r = resolver({ servers: ['127.0.0.1', '127.0.0.2'] });
    const real = await lookup({ lookup: dns.lookup }, 'nonexistent.invalid');
    const ours = await lookup(r, 'nonexistent.invalid');
    expect(real.err?.code).toBe('ENOTFOUND');
    expect(shape(ours.err)).toEqual(shape(real.err));
    expect(ours.err).toMatchObject({ errno: -3008, code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nonexistent.invalid' });
    expect(ours).toEqual({ err: ours.err, address: undefined, family: undefined });
    // NXDOMAIN is an answer: the second server is not asked (A and AAAA went to the first only).
    expect(server.queries).toHaveLength(2);
    expect(second.queries).toHaveLength(0);
    const realAll = await lookup({ lookup: dns.lookup }, 'nonexistent.invalid', { all: true });
    expect(shape((await lookup(r, 'nonexistent.invalid', { all: true })).err)).toEqual(shape(realAll.err));
  });

  it('a silent first server: the query times out and the second server answers', async () => {
    const silent = await silentServer('127.0.0.2');
    const good = await zoneServer('127.0.0.1', ZONE);
    const r = resolver({ servers: ['127.0.0.2', '127.0.0.1'], timeout: 200 });
    const start = Date.now();
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
    expect(silent.queries).toHaveLength(1);
    expect(good.queries).toHaveLength(1);
    // A new try is a new query: another ID, another port.
    expect(good.queries[0].port).not.toBe(silent.queries[0].port);
  });

  it('SERVFAIL and REFUSED fail over at once, and those servers are not asked again', async () => {
    const servfail = await fakeServer('127.0.0.2', (q, reply) => reply(response(q, 2)));
    const refused = await fakeServer('127.0.0.3', (q, reply) => reply(response(q, 5)));
    const good = await zoneServer('127.0.0.1', ZONE);
    // 127.0.0.4: nothing listens there, so the stack answers the query with ICMP port unreachable.
    const r = resolver({ servers: ['127.0.0.4', '127.0.0.2', '127.0.0.3', '127.0.0.1'], timeout: 2000 });
    const start = Date.now();
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(Date.now() - start).toBeLessThan(1000);
    expect([servfail.queries.length, refused.queries.length, good.queries.length]).toEqual([1, 1, 1]);
    await good.close();
    servers.splice(servers.indexOf(good), 1);
    // Only failing servers (and one with its port closed: ICMP port unreachable): EAI_AGAIN, each asked once.
    const failed = await lookup(r, 'www.example.test', 4);
    expect(shape(failed.err)).toEqual({
      message: 'getaddrinfo EAI_AGAIN www.example.test',
      name: 'Error',
      constructor: 'Error',
      keys: ['errno', 'code', 'syscall', 'hostname'],
      values: [-3001, 'EAI_AGAIN', 'getaddrinfo', 'www.example.test'],
      stackHead: 'Error: getaddrinfo EAI_AGAIN www.example.test',
    });
    expect([servfail.queries.length, refused.queries.length]).toEqual([2, 2]);
  });

  it('a truncated answer (TC) is asked again over TCP of the same server (RFC 7766), and that answer counts', async () => {
    const udp = await truncatingServer('127.0.0.1');
    const tcpQueries: string[] = [];
    const tcp = netOver(host).createServer((socket) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const query = packet.streamDecode(buf) as packet.DecodedPacket;
        tcpQueries.push(query.questions![0].name);
        socket.end(packet.streamEncode(packet.decode(answerFrom(query, ZONE))));
      });
    });
    await new Promise<void>((r) => tcp.listen(PORT, '127.0.0.1', () => r()));
    try {
      expect(await lookup(resolver(), 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
      expect(udp.queries.map((q) => q.name)).toEqual(['www.example.test']);
      expect(tcpQueries).toEqual(['www.example.test']);
    } finally {
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  });

  it('a truncated answer from a server without DNS over TCP moves on to the next server', async () => {
    await truncatingServer('127.0.0.1');
    const second = await zoneServer('127.0.0.2', ZONE);
    const r = resolver({ servers: ['127.0.0.1', '127.0.0.2'] });
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(second.queries).toHaveLength(1);
  });

  it('only silence: EAI_AGAIN after `attempts` rounds over every server', async () => {
    const a = await silentServer('127.0.0.1');
    const b = await silentServer('127.0.0.2');
    const r = resolver({ servers: ['127.0.0.1', '127.0.0.2'], timeout: 100, attempts: 3 });
    const start = Date.now();
    const result = await lookup(r, 'www.example.test', 4);
    expect(result.err).toMatchObject({ code: 'EAI_AGAIN', errno: -3001, syscall: 'getaddrinfo', hostname: 'www.example.test' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(6 * 95);
    expect([a.queries.length, b.queries.length]).toEqual([3, 3]);
    // Every try had its own random ID.
    expect(new Set([...a.queries, ...b.queries].map((q) => q.id)).size).toBeGreaterThan(1);
  });

  it('rotate starts each query at the next server', async () => {
    const a = await zoneServer('127.0.0.1', ZONE);
    const b = await zoneServer('127.0.0.2', ZONE);
    const r = resolver({ servers: ['127.0.0.1', '127.0.0.2'], rotate: true });
    for (let i = 0; i < 4; i++) expect((await lookup(r, 'www.example.test', 4)).address).toBe('10.1.2.3');
    expect([a.queries.length, b.queries.length]).toEqual([2, 2]);
  });

  it('search domains with ndots: short names try the domains first, dotted names themselves first, absolute names alone', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver({ search: ['corp.test', 'other.test'] });
    expect(await lookup(r, 'host', 4)).toEqual({ err: null, address: '10.7.7.7', family: 4 });
    expect(server.queries.map((q) => q.name)).toEqual(['host.corp.test']);
    server.queries.length = 0;
    expect(await lookup(r, 'a.b', 4)).toEqual({ err: null, address: '10.8.8.8', family: 4 });
    expect(server.queries.map((q) => q.name)).toEqual(['a.b']);
    server.queries.length = 0;
    expect((await lookup(r, 'host.', 4)).err?.code).toBe('ENOTFOUND');
    expect(server.queries.map((q) => q.name)).toEqual(['host']);
    server.queries.length = 0;
    const missing = await lookup(r, 'nothing', 4);
    expect(missing.err).toMatchObject({ code: 'ENOTFOUND', hostname: 'nothing', message: 'getaddrinfo ENOTFOUND nothing' });
    expect(server.queries.map((q) => q.name)).toEqual(['nothing.corp.test', 'nothing.other.test', 'nothing']);
    server.queries.length = 0;
    // ndots 2: `a.b` has one dot, so the search domains come first.
    const r2 = resolver({ search: ['corp.test'], ndots: 2 });
    expect(await lookup(r2, 'a.b', 4)).toEqual({ err: null, address: '10.8.8.8', family: 4 });
    expect(server.queries.map((q) => q.name)).toEqual(['a.b.corp.test', 'a.b']);
  });

  it('the hosts table answers before DNS: localhost by default, given names, /etc/hosts text', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const hosts = parseHosts('# comment\n127.0.0.1\tlocalhost\n10.9.9.9 db.lan db  # trailing\n\nnot-an-ip bogus\nfd00::9 db.lan\n::1 localhost ip6-localhost\n');
    expect(hosts).toEqual({ localhost: ['127.0.0.1', '::1'], 'db.lan': ['10.9.9.9', 'fd00::9'], db: ['10.9.9.9'], 'ip6-localhost': ['::1'] });
    const r = resolver({ hosts: { ...hosts, 'www.example.test': ['10.4.4.4'] } });
    expect(await lookup(r, 'localhost', { all: true })).toEqual({ err: null, address: [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }], family: undefined });
    expect(await lookup(r, 'localhost', 6)).toEqual({ err: null, address: '::1', family: 6 });
    expect(await lookup(r, 'DB.LAN', { all: true, family: 6 })).toEqual({ err: null, address: [{ address: 'fd00::9', family: 6 }], family: undefined });
    expect(await lookup(r, 'www.example.test')).toEqual({ err: null, address: '10.4.4.4', family: 4 });
    expect(await lookup(resolver(), 'localhost', 4)).toEqual({ err: null, address: '127.0.0.1', family: 4 });
    expect(server.queries).toHaveLength(0);
    // A name in the table without an address of the family asked goes on to DNS.
    expect(await lookup(r, 'db', 6)).toMatchObject({ err: { code: 'ENOTFOUND' } });
    expect(server.queries.map((q) => [q.name, q.type])).toEqual([['db', 'AAAA']]);
    expect(() => resolver({ hosts: { bad: ['not-an-ip'] } })).toThrow(TypeError);
  });

  it('IP literals and empty names are answered on the next tick without a query, exactly as Node answers them', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    for (const [name, options] of [['10.0.0.1', {}], ['::1', { all: true }], ['fe80::1', 4], ['127.0.0.1', { family: 6 }], ['', {}], ['', { all: true }]] as const) {
      expect(await lookup(r, name, options)).toEqual(await lookup({ lookup: dns.lookup }, name, options));
    }
    let called = false;
    r.lookup('10.0.0.1', () => (called = true));
    expect(called).toBe(false);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(called).toBe(true);
    expect(server.queries).toHaveLength(0);
  });

  it('throws Node\'s own errors for bad arguments; util.promisify gives { address, family }', async () => {
    const r = resolver();
    const thrown = (fn: () => unknown) => {
      try {
        fn();
        return 'returned';
      } catch (e) {
        return shape(e as Error);
      }
    };
    const cases: [string, (l: (...a: unknown[]) => unknown) => unknown][] = [
      ['not a string', (l) => l(5, () => {})],
      ['no callback', (l) => l('www.example.test')],
      ['options of a bad type', (l) => l('www.example.test', 'x')],
      ['options of a bad type, 3 args', (l) => l('www.example.test', 'x', () => {})],
      ['bad family', (l) => l('www.example.test', 5, () => {})],
      ['bad options.family', (l) => l('www.example.test', { family: 7 }, () => {})],
      ['bad options.all', (l) => l('www.example.test', { all: 'yes' }, () => {})],
      ['bad options.order', (l) => l('www.example.test', { order: 'random' }, () => {})],
    ];
    for (const [, call] of cases) expect(thrown(() => call(r.lookup as never))).toEqual(thrown(() => call(dns.lookup as never)));
    expect(thrown(() => (r.resolve4 as (...a: unknown[]) => unknown)(5, () => {}))).toEqual(thrown(() => (dns.resolve4 as (...a: unknown[]) => unknown)(5, () => {})));
    expect(thrown(() => (r.resolve6 as (...a: unknown[]) => unknown)('x.test'))).toEqual(thrown(() => (dns.resolve6 as (...a: unknown[]) => unknown)('x.test')));

    await zoneServer('127.0.0.1', ZONE);
    expect(await promisify(r.lookup)('www.example.test', { family: 4 })).toEqual({ address: '10.1.2.3', family: 4 });
  });

  it('a name that cannot be put in a query (a 64-byte label, an empty label) is ENOTFOUND without a query', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    expect((await lookup(r, `${'a'.repeat(64)}.test`)).err?.code).toBe('ENOTFOUND');
    expect((await lookup(r, 'a..test')).err?.code).toBe('ENOTFOUND');
    expect(server.queries).toHaveLength(0);
  });

  it('ignores spoofed answers (wrong ID, wrong source port, other question) and uses the real one', async () => {
    const spoofer = shim.createSocket('udp4');
    await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', () => resolve()));
    const bogus = (q: packet.DecodedPacket) => [{ type: 'A' as const, name: q.questions![0].name, ttl: 300, class: 'IN' as const, data: '6.6.6.6' }];
    await fakeServer('127.0.0.1', (q, reply, from) => {
      // From the server's address but another port, with the right ID: the connected socket never sees it.
      spoofer.send(response(q, 0, bogus(q)), from.port, from.address);
      reply(response(q, 0, bogus(q), (q.id! + 1) & 0xffff));
      reply(packet.encode({ type: 'response', id: q.id, flags: 0, questions: [{ type: 'A', name: 'other.test', class: 'IN' }], answers: [] }));
      reply(packet.encode({ type: 'query', id: q.id, flags: 0, questions: q.questions, answers: bogus(q) }));
      setTimeout(() => reply(answerFrom(q, ZONE)), 20);
    });
    const r = resolver({ timeout: 1000 });
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(r.drops).toEqual({ malformed: 0, mismatched: 3 });
    spoofer.close();
  });

  it('ignores malformed responses without a throw; a server that sends only garbage times out', async () => {
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      // A header claiming 65535 questions and answers with nothing after it.
      Buffer.from([0, 0, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
      // A compression pointer that points at itself.
      Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
    ];
    const withId = (buf: Buffer, id: number) => {
      const copy = Buffer.from(buf);
      if (copy.length >= 2) copy.writeUInt16BE(id, 0);
      return copy;
    };
    // A valid response cut short in the middle of its answer.
    const cut = (q: packet.DecodedPacket) => answerFrom(q, ZONE).subarray(0, -3);
    await fakeServer('127.0.0.1', (q, reply) => {
      for (const g of garbage) reply(withId(g, q.id!));
      reply(cut(q));
      setTimeout(() => reply(answerFrom(q, ZONE)), 20);
    });
    const r = resolver({ timeout: 1000 });
    expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    expect(r.drops.malformed).toBe(5);
    await closeServers();

    await fakeServer('127.0.0.1', (q, reply) => {
      for (const g of garbage) reply(withId(g, q.id!));
    });
    const r2 = resolver({ timeout: 100, attempts: 1 });
    expect((await lookup(r2, 'www.example.test', 4)).err?.code).toBe('EAI_AGAIN');
  });

  it('takes the stack\'s learned servers at each query when none are configured', async () => {
    const server = await zoneServer('127.0.0.1', ZONE);
    const r = new StackResolver(host, { port: PORT, timeout: 100, attempts: 1 });
    expect(r.servers).toEqual([]);
    expect((await lookup(r, 'www.example.test', 4)).err?.code).toBe('EAI_AGAIN');
    const lo = stack.interfaces.find((i) => i.isLoopback)!;
    lo.dnsServers = [Ipv4Address.parse('127.0.0.1')];
    try {
      expect(r.servers).toEqual(['127.0.0.1']);
      expect(await lookup(r, 'www.example.test', 4)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
      expect(server.queries).toHaveLength(1);
    } finally {
      lo.dnsServers = [];
    }
  });
});

describe('StackResolver.resolve4 / resolve6', () => {
  afterEach(closeServers);

  it('answers the addresses, with TTLs when asked; CNAMEs followed', async () => {
    await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    expect(await resolve4(r, 'www.example.test')).toEqual({ err: null, addresses: ['10.1.2.3', '10.1.2.4'] });
    expect(await resolve4(r, 'alias.example.test')).toEqual({ err: null, addresses: ['10.1.2.3', '10.1.2.4'] });
    const withTtl = await new Promise((resolve) => r.resolve4('www.example.test', { ttl: true }, (err, addresses) => resolve({ err, addresses })));
    expect(withTtl).toEqual({ err: null, addresses: [{ address: '10.1.2.3', ttl: 300 }, { address: '10.1.2.4', ttl: 300 }] });
    const v6 = await new Promise((resolve) => r.resolve6('www.example.test', (err, addresses) => resolve({ err, addresses })));
    expect(v6).toEqual({ err: null, addresses: ['2001:db8::1'] });
  });

  it('errors as dns.resolve gives them: ENOTFOUND like Node\'s own, ENODATA, ESERVFAIL, ETIMEOUT', async () => {
    await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    const real = await resolve4({ resolve4: dns.resolve4 }, 'nonexistent.invalid');
    expect(real.err?.code).toBe('ENOTFOUND');
    expect(shape((await resolve4(r, 'nonexistent.invalid')).err)).toEqual(shape(real.err));
    // resolve asks the name itself: no search list.
    expect((await resolve4(resolver({ search: ['corp.test'] }), 'host')).err).toMatchObject({ code: 'ENOTFOUND', syscall: 'queryA', message: 'queryA ENOTFOUND host' });
    const nodata = await new Promise<NodeJS.ErrnoException | null>((resolve) => r.resolve6('v4only.example.test', (err) => resolve(err)));
    expect(shape(nodata)).toMatchObject({ message: 'queryAaaa ENODATA v4only.example.test', keys: ['errno', 'code', 'syscall', 'hostname'], values: [undefined, 'ENODATA', 'queryAaaa', 'v4only.example.test'] });
    await closeServers();

    await fakeServer('127.0.0.1', (q, reply) => reply(response(q, 2)));
    expect((await resolve4(r, 'www.example.test')).err).toMatchObject({ code: 'ESERVFAIL', syscall: 'queryA', message: 'queryA ESERVFAIL www.example.test' });
    await closeServers();

    await silentServer('127.0.0.1');
    expect((await resolve4(resolver({ timeout: 100, attempts: 1 }), 'www.example.test')).err).toMatchObject({ code: 'ETIMEOUT', message: 'queryA ETIMEOUT www.example.test' });
  });
});

describe('dgram over the stack with the resolver\'s lookup', () => {
  afterEach(closeServers);

  it('an app sends to a name, binds to a name and connects to a name; its own lookup option still wins', async () => {
    await zoneServer('127.0.0.1', ZONE);
    const r = resolver();
    const appDgram = dgramOver(host, { lookup: r.lookup });
    const receiver = appDgram.createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, 'echo.test', () => resolve()));
    expect(receiver.address().address).toBe('127.0.0.1');
    const got = new Promise<[string, dgram.RemoteInfo]>((resolve) => receiver.once('message', (msg, rinfo) => resolve([msg.toString(), rinfo])));

    const sender = appDgram.createSocket('udp4');
    const sent = await new Promise<Error | null>((resolve) => sender.send('hello', receiver.address().port, 'echo.test', (err) => resolve(err)));
    expect(sent).toBeNull();
    const [text, rinfo] = await got;
    expect(text).toBe('hello');
    expect(rinfo.address).toBe('127.0.0.1');

    const connected = appDgram.createSocket('udp4');
    await new Promise<void>((resolve) => connected.connect(receiver.address().port, 'echo.test', () => resolve()));
    expect(connected.remoteAddress()).toMatchObject({ address: '127.0.0.1', port: receiver.address().port });

    // A name the servers do not know: the send fails with the resolver's ENOTFOUND.
    const failed = await new Promise<Error | null>((resolve) => sender.send('x', 9, 'nowhere.test', (err) => resolve(err)));
    expect(failed).toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nowhere.test' });

    // The app's own lookup option is used instead.
    const asked: string[] = [];
    const own = appDgram.createSocket({
      type: 'udp4',
      lookup: ((name: string, _family: number, cb: (err: Error | null, address: string, family: number) => void) => {
        asked.push(name);
        cb(null, '127.0.0.1', 4);
      }) as unknown as dgram.SocketOptions['lookup'],
    });
    const got2 = new Promise<string>((resolve) => receiver.once('message', (msg) => resolve(msg.toString())));
    own.send('mine', receiver.address().port, 'anything.at.all');
    expect(await got2).toBe('mine');
    // As on Node, the implicit bind before the first send resolves the wildcard address too.
    expect(asked).toEqual(['0.0.0.0', 'anything.at.all']);

    for (const s of [receiver, sender, connected, own]) s.close();
  });
});
