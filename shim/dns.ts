/**
 * Name resolution through the stack's own UDP: a stub resolver (RFC 1034 §5.3.1) that asks
 * recursive servers for A and AAAA records (RFC 1035, RFC 3596), with what glibc's
 * resolv.conf offers — timeout, attempts, rotate, several servers, search domains with ndots —
 * and a static hosts table in front, as `hosts: files dns` in nsswitch.conf has it.
 *
 * The wire format is dns-packet's: it is widely used and kept up, handles name compression
 * and every record type, and refuses pointers that do not point backwards (no loops); a
 * decode error is caught here and the response dropped, so hostile bytes never throw.
 *
 * Queries go out on the shim's own dgram sockets (shim/dgram.ts), one per try: the stack
 * picks each a random ephemeral port (RFC 6056), each query gets a random ID (RFC 5452 §9.2),
 * and the socket is connected to the server, so the stack delivers only datagrams from that
 * address and port, as Linux does for glibc's connected sockets; an ICMP port unreachable
 * then fails over at once instead of waiting for the timeout. A pending query holds the
 * process open like Node's getaddrinfo request does.
 *
 * `lookup` has dns.lookup's signature and behaviour, and its errors are Node's, shape for
 * shape; `resolve4`/`resolve6` answer as dns.resolve4/resolve6 do (no hosts table, no search).
 */
import dns = require('node:dns');
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { getSystemErrorMap } from 'node:util';
import * as packet from 'dns-packet';
import type { Ipv4Address, Ipv6Address } from '../lib/wire/address';
import { dgramOver, type ShimDgram } from './dgram';
import type { ShimHost } from './host';
import { netOver, type ShimNet } from './net';

/** Node's own functions, taken before anything may replace the module's exports. */
const nodeLookup = dns.lookup as unknown as (...args: unknown[]) => object;
const nodeResolve4 = dns.Resolver.prototype.resolve4;
const nodeResolve6 = dns.Resolver.prototype.resolve6;

/** glibc's cap on CNAME hops in one lookup is similar; a longer chain is treated as a loop. */
const MAX_CNAME_HOPS = 8;
/** RFC 1035 §2.3.4. */
const MAX_LABEL = 63;
const MAX_NAME = 253;

export interface StackResolverOptions {
  /** Recursive servers, in order of preference; by default those the stack learned (DHCPv4, RA RDNSS, DHCPv6) at each query. */
  servers?: readonly (Ipv4Address | Ipv6Address | string)[];
  /** The servers' port (53); another one lets a test run its own server. */
  port?: number;
  /** resolv.conf `timeout`: how long one try waits for an answer, in ms (5000). */
  timeout?: number;
  /** resolv.conf `attempts`: rounds over the servers (2). */
  attempts?: number;
  /** resolv.conf `rotate`: start each query at the next server instead of the first (off). */
  rotate?: boolean;
  /** resolv.conf `search`: domains appended to a name that is not absolute. */
  search?: readonly string[];
  /** resolv.conf `ndots`: a name with at least this many dots is tried as is before the search domains (1). */
  ndots?: number;
  /** Static entries (name → addresses) answered before DNS; `localhost` is 127.0.0.1 and ::1 unless given here. */
  hosts?: Readonly<Record<string, readonly string[]>>;
}

export interface LookupAddress {
  address: string;
  family: number;
}

interface Server {
  /** As a socket's connect() takes it: `fe80::1%tap0` for a link-local one. */
  address: string;
  family: 4 | 6;
}

type RecordType = 'A' | 'AAAA';

/** Why a question got no usable answer from any server, as c-ares names it. */
type FailureCode = 'ETIMEOUT' | 'ESERVFAIL' | 'EREFUSED' | 'EFORMERR' | 'ENOTIMP' | 'ECONNREFUSED' | 'EBADRESP';

interface Address {
  address: string;
  ttl: number;
}

/** What a question came to. */
type Outcome =
  | { kind: 'found'; addresses: Address[] }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'failed'; code: FailureCode };

/** What one response said about a question, once it passed every check. */
type Reply = Outcome | { kind: 'alias'; target: string; hops: number };

/** One try's end: a reply, or a reason to ask the next server. */
type TryResult = Reply | { kind: 'retry'; code: FailureCode; final: boolean };
/** What one response says: an answer, why to move on, or that it was cut short and TCP must ask again. */
type Checked = TryResult | { kind: 'truncated' };

/** Node's dns errors (lib/internal/errors.js DNSException): `syscall CODE hostname`, keys errno, code, syscall, hostname. */
export interface DnsError extends Error {
  errno: number | undefined;
  code: string;
  syscall: string;
  hostname: string;
}

function dnsException(code: string, errno: number | undefined, syscall: string, hostname: string): DnsError {
  const err = new Error(`${syscall} ${code} ${hostname}`) as DnsError;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  err.hostname = hostname;
  return err;
}

/** libuv's errno for a getaddrinfo error name (EAI_NONAME → -3008), as Node reports it. */
function eaiErrno(name: string): number {
  for (const [errno, [code]] of getSystemErrorMap()) if (code === name) return errno;
  throw new TypeError(`Unknown error name ${name}`);
}

const UV_EAI_NONAME = eaiErrno('EAI_NONAME');
const UV_EAI_AGAIN = eaiErrno('EAI_AGAIN');

/** RFC 4343: DNS names compare without regard to ASCII case; a trailing dot marks the root. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Whether a name can go into a question at all (RFC 1035 §2.3.4): labels of 1–63 bytes, 253 in all. */
function encodable(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) > MAX_NAME) return false;
  return name.split('.').every((label) => label.length > 0 && Buffer.byteLength(label) <= MAX_LABEL);
}

function serverOf(address: Ipv4Address | Ipv6Address | string): Server {
  const text = typeof address === 'string' ? address : address.toString();
  const family = isIP(text.replace(/%.*$/, ''));
  if (family !== 4 && family !== 6) throw new TypeError(`Not a DNS server address: ${JSON.stringify(text)}`);
  return { address: text, family };
}

/**
 * An /etc/hosts-format text as a hosts table: `address name [aliases...]` per line, `#`
 * to the end of a line is a comment, names match without regard to case. Lines whose
 * address is not an IP address are skipped, as glibc skips them.
 */
export function parseHosts(text: string): Record<string, string[]> {
  const table: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0 || !isIP(address.replace(/%.*$/, ''))) continue;
    for (const name of names) {
      const key = canonical(name);
      const list = (table[key] ??= []);
      if (!list.includes(address)) list.push(address);
    }
  }
  return table;
}

function sortByOrder(list: LookupAddress[], order: string): LookupAddress[] {
  if (order === 'verbatim') return list;
  const first = order === 'ipv6first' ? 6 : 4;
  return [...list.filter((a) => a.family === first), ...list.filter((a) => a.family !== first)];
}

/**
 * Hands a result to the app outside the promise chain, so that a throw from its callback is
 * an uncaught exception, as it is from Node's own dns callbacks; a fault of the resolver
 * itself surfaces the same way rather than leaving the callback never called.
 */
function settle<T>(result: Promise<T>, deliver: (value: T) => void): void {
  result.then(
    (value) => process.nextTick(deliver, value),
    (err: unknown) =>
      process.nextTick(() => {
        throw err;
      }),
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;
type ResolveCallback = (err: NodeJS.ErrnoException | null, addresses?: string[] | { address: string; ttl: number }[]) => void;

/**
 * A stub resolver over one stack. `lookup`, `resolve4` and `resolve6` are bound, so they
 * can be handed around as dns.lookup is (a socket's `lookup` option).
 */
export class StackResolver {
  /** Responses dropped: `malformed` did not decode, `mismatched` answered some other question (ID, name, type, class). */
  readonly drops = { malformed: 0, mismatched: 0 };
  /** dns.lookup(hostname[, options], callback). */
  readonly lookup: typeof dns.lookup;
  /** dns.resolve4(hostname[, options], callback). */
  readonly resolve4: typeof dns.resolve4;
  /** dns.resolve6(hostname[, options], callback). */
  readonly resolve6: typeof dns.resolve6;
  private readonly dgram: ShimDgram;
  private readonly net: ShimNet;
  private readonly fixedServers: Server[] | undefined;
  private readonly port: number;
  private readonly timeout: number;
  private readonly attempts: number;
  private readonly rotate: boolean;
  private readonly search: string[];
  private readonly ndots: number;
  private readonly hosts = new Map<string, LookupAddress[]>();
  /** The server a rotating resolver starts its next query at. */
  private nextServer = 0;

  constructor(
    private readonly host: ShimHost,
    opts: StackResolverOptions = {},
  ) {
    this.dgram = dgramOver(host);
    this.net = netOver(host);
    this.fixedServers = opts.servers?.map(serverOf);
    this.port = opts.port ?? 53;
    this.timeout = opts.timeout ?? 5000;
    this.attempts = Math.max(1, opts.attempts ?? 2);
    this.rotate = opts.rotate ?? false;
    this.search = (opts.search ?? []).map(canonical).filter((d) => d !== '');
    this.ndots = opts.ndots ?? 1;
    const hosts: Record<string, readonly string[]> = { localhost: ['127.0.0.1', '::1'] };
    for (const [name, addresses] of Object.entries(opts.hosts ?? {})) hosts[canonical(name)] = addresses;
    for (const [name, addresses] of Object.entries(hosts)) {
      this.hosts.set(
        name,
        addresses.map((address) => {
          const family = isIP(address.replace(/%.*$/, ''));
          if (family === 0) throw new TypeError(`Not an IP address for ${name} in hosts: ${JSON.stringify(address)}`);
          return { address, family };
        }),
      );
    }
    const lookup = (...args: unknown[]) => this.lookupArgs(args);
    // util.promisify(lookup) resolves to { address, family }, as it does for dns.lookup.
    for (const symbol of Object.getOwnPropertySymbols(nodeLookup)) {
      Object.defineProperty(lookup, symbol, Object.getOwnPropertyDescriptor(nodeLookup, symbol)!);
    }
    this.lookup = lookup as unknown as typeof dns.lookup;
    this.resolve4 = ((...args: unknown[]) => this.resolveArgs('A', args)) as unknown as typeof dns.resolve4;
    this.resolve6 = ((...args: unknown[]) => this.resolveArgs('AAAA', args)) as unknown as typeof dns.resolve6;
  }

  /** The servers a query asks now: the configured ones, else what the stack has learned. */
  get servers(): string[] {
    return this.currentServers().map((s) => s.address);
  }

  private lookupArgs(args: unknown[]): object {
    const [hostname, options] = args;
    // Node's own lookup checks the arguments (throwing its exact errors) and answers what needs
    // no resolver: an empty name, an IP literal (on the next tick). For a name, it checks the
    // options against an IP literal with a callback that does nothing.
    if (!hostname || typeof hostname !== 'string' || isIP(hostname)) return nodeLookup(...args);
    const callback = (typeof options === 'function' ? options : args[2]) as LookupCallback;
    const noop = () => {};
    const probe = args.map((a, i) => (i > 0 && typeof a === 'function' ? noop : i === 0 ? '0.0.0.0' : a));
    nodeLookup(...probe);

    let family = 0;
    let all = false;
    let order = dns.getDefaultResultOrder() as string;
    if (typeof options === 'number') family = options;
    else if (options !== null && typeof options === 'object') {
      const o = options as dns.LookupOptions & { order?: string };
      if (o.family != null) family = o.family === 'IPv4' ? 4 : o.family === 'IPv6' ? 6 : (o.family as number);
      if (o.all != null) all = o.all;
      if (o.verbatim != null) order = o.verbatim ? 'verbatim' : 'ipv4first';
      if (o.order != null) order = o.order;
    }
    settle(this.find(hostname, family as 0 | 4 | 6), (found) => {
      if (!Array.isArray(found)) return callback(found);
      const sorted = sortByOrder(found, order);
      if (all) callback(null, sorted);
      else callback(null, sorted[0].address, sorted[0].family);
    });
    return {};
  }

  /** getaddrinfo's answer: the hosts table, then DNS over the search list; an error shaped as Node's. */
  private async find(hostname: string, family: 0 | 4 | 6): Promise<LookupAddress[] | DnsError> {
    const fromHosts = this.hosts.get(canonical(hostname))?.filter((a) => family === 0 || a.family === family);
    if (fromHosts?.length) return fromHosts;
    const types: RecordType[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
    let sawFailure = false;
    for (const name of this.candidates(hostname)) {
      const outcomes = await Promise.all(types.map((type) => this.query(name, type)));
      const found = outcomes.flatMap((o, i) => (o.kind === 'found' ? o.addresses.map((a) => ({ address: a.address, family: types[i] === 'A' ? 4 : 6 })) : []));
      if (found.length > 0) return found;
      // glibc's res_nsearch: a timeout ends the search; SERVFAIL and the like go on to the
      // next candidate but make the end result "try again" rather than "no such name".
      if (outcomes.some((o) => o.kind === 'failed' && o.code === 'ETIMEOUT')) return dnsException('EAI_AGAIN', UV_EAI_AGAIN, 'getaddrinfo', hostname);
      if (outcomes.some((o) => o.kind === 'failed')) sawFailure = true;
    }
    return sawFailure ? dnsException('EAI_AGAIN', UV_EAI_AGAIN, 'getaddrinfo', hostname) : dnsException('ENOTFOUND', UV_EAI_NONAME, 'getaddrinfo', hostname);
  }

  /** The names to ask, in order (resolv.conf(5) `search` and `ndots`); an absolute name (trailing dot) is asked alone. */
  private candidates(hostname: string): string[] {
    const name = canonical(hostname);
    if (!encodable(name)) return [];
    if (hostname.endsWith('.')) return [name];
    const expanded = this.search.map((domain) => `${name}.${domain}`).filter(encodable);
    const dots = name.split('.').length - 1;
    return dots >= this.ndots ? [name, ...expanded] : [...expanded, name];
  }

  private resolveArgs(type: RecordType, args: unknown[]): object {
    const [name, options] = args;
    const callback = (args.length > 2 ? args[2] : options) as ResolveCallback;
    // Node's own resolve4/resolve6 check the arguments (its exact errors); a handle that does nothing takes the query.
    const bindingName = type === 'A' ? 'queryA' : 'queryAaaa';
    const nodeQuery = (type === 'A' ? nodeResolve4 : nodeResolve6) as (...a: unknown[]) => unknown;
    nodeQuery.call({ _handle: { [bindingName]: () => 0 } }, ...args.map((a) => (typeof a === 'function' ? () => {} : a)));
    const ttl = args.length > 2 && !!(options as { ttl?: boolean } | null)?.ttl;
    const hostname = name as string;
    const question = canonical(hostname);
    const outcome: Promise<Outcome> = encodable(question) ? this.query(question, type) : Promise.resolve({ kind: 'nxdomain' });
    settle(outcome, (o) => {
      if (o.kind === 'found') return callback(null, ttl ? o.addresses.map((a) => ({ ...a })) : o.addresses.map((a) => a.address));
      const code = o.kind === 'nxdomain' ? 'ENOTFOUND' : o.kind === 'nodata' ? 'ENODATA' : o.code;
      callback(dnsException(code, undefined, bindingName, hostname));
    });
    return {};
  }

  /** One name and type, its CNAME chain followed across queries (RFC 1034 §5.3.3). */
  private async query(name: string, type: RecordType): Promise<Outcome> {
    let current = name;
    let hops = 0;
    for (;;) {
      const reply = await this.ask(current, type);
      if (reply.kind !== 'alias') return reply;
      hops += reply.hops;
      if (hops > MAX_CNAME_HOPS) return { kind: 'nodata' };
      current = reply.target;
    }
  }

  /**
   * One question, asked of the servers in turn for `attempts` rounds (resolv.conf(5)). A
   * server that answered with an error is not asked again in later rounds; only silence is
   * worth a second try. NXDOMAIN is an answer: the other servers are not asked.
   */
  private async ask(name: string, type: RecordType): Promise<Reply> {
    const servers = this.currentServers();
    if (servers.length === 0) return { kind: 'failed', code: 'ECONNREFUSED' };
    const start = this.rotate ? this.nextServer++ % servers.length : 0;
    const order = servers.map((_, i) => servers[(start + i) % servers.length]);
    const done = new Set<Server>();
    let last: FailureCode = 'ETIMEOUT';
    for (let round = 0; round < this.attempts; round++) {
      for (const server of order) {
        if (done.has(server)) continue;
        const result = await this.exchange(server, name, type);
        if (result.kind !== 'retry') return result;
        last = result.code;
        if (result.final) done.add(server);
      }
    }
    return { kind: 'failed', code: last };
  }

  /** One query to one server on a fresh socket: its answer, or why to move on. */
  private exchange(server: Server, name: string, type: RecordType): Promise<TryResult> {
    return new Promise((resolve) => {
      const id = randomInt(0x1_0000);
      const query = packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
      const socket = this.dgram.createSocket(server.family === 4 ? 'udp4' : 'udp6');
      let finished = false;
      const finish = (result: TryResult | Promise<TryResult>) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        socket.close();
        resolve(result);
      };
      const timer = setTimeout(() => finish({ kind: 'retry', code: 'ETIMEOUT', final: false }), this.timeout);
      // ICMP unreachable (ECONNREFUSED), no route, no source: this server cannot be reached now.
      const unreachable = () => finish({ kind: 'retry', code: 'ECONNREFUSED', final: true });
      socket.on('error', unreachable);
      socket.on('message', (msg) => {
        const reply = this.check(msg, id, name, type);
        // RFC 1035 §4.2.1, RFC 7766 §5: an answer cut short is asked again over TCP, of the same server.
        if (reply?.kind === 'truncated') finish(this.exchangeTcp(server, name, type));
        else if (reply) finish(reply);
      });
      socket.connect(this.port, server.address, () => {
        socket.send(query, (err) => {
          if (err) unreachable();
        });
      });
    });
  }

  /**
   * One query to one server over TCP on the stack (RFC 7766): the message behind its
   * 2-byte length, one response read back the same way. Over TCP the first response is
   * the answer: one that does not match, does not decode or is still truncated fails this
   * server, as does a connection that ends first.
   */
  private exchangeTcp(server: Server, name: string, type: RecordType): Promise<TryResult> {
    return new Promise((resolve) => {
      const id = randomInt(0x1_0000);
      const query = packet.streamEncode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
      const socket = this.net.connect({ host: server.address, port: this.port });
      let received: Buffer = Buffer.alloc(0);
      let finished = false;
      const finish = (result: TryResult) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => finish({ kind: 'retry', code: 'ETIMEOUT', final: false }), this.timeout);
      const bad: TryResult = { kind: 'retry', code: 'EBADRESP', final: true };
      socket.on('connect', () => socket.write(query));
      socket.on('error', () => finish({ kind: 'retry', code: 'ECONNREFUSED', final: true }));
      socket.on('data', (chunk: Buffer) => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
        const reply = this.check(received.subarray(2, 2 + received.readUInt16BE(0)), id, name, type);
        finish(reply === undefined || reply.kind === 'truncated' ? bad : reply);
      });
      socket.on('end', () => finish(bad));
    });
  }

  /** A response judged against the query (RFC 5452 §9.1); undefined when it is not the answer and the wait goes on. */
  private check(msg: Buffer, id: number, name: string, type: RecordType): Checked | undefined {
    let response: packet.DecodedPacket & { rcode?: string; opcode?: string };
    try {
      response = packet.decode(msg);
    } catch {
      this.drops.malformed++;
      return undefined;
    }
    // dns-packet reads fixed-size records (A, AAAA) without checking the end of the buffer: a
    // response cut short decodes with garbage in its last record, but says it read past the end.
    if (packet.decode.bytes > msg.length) {
      this.drops.malformed++;
      return undefined;
    }
    const q = response.questions;
    if (response.type !== 'response' || response.id !== id || response.opcode !== 'QUERY' || q?.length !== 1 || canonical(q[0].name) !== name || q[0].type !== type || q[0].class !== 'IN') {
      this.drops.mismatched++;
      return undefined;
    }
    if (response.flag_tc) return { kind: 'truncated' };
    switch (response.rcode) {
      case 'NOERROR':
        return answerIn(response.answers ?? [], name, type);
      case 'NXDOMAIN':
        return { kind: 'nxdomain' };
      case 'SERVFAIL':
        return { kind: 'retry', code: 'ESERVFAIL', final: true };
      case 'REFUSED':
        return { kind: 'retry', code: 'EREFUSED', final: true };
      case 'NOTIMP':
        return { kind: 'retry', code: 'ENOTIMP', final: true };
      case 'FORMERR':
        return { kind: 'retry', code: 'EFORMERR', final: true };
      default:
        return { kind: 'retry', code: 'EBADRESP', final: true };
    }
  }

  private currentServers(): Server[] {
    if (this.fixedServers) return this.fixedServers;
    const stack = this.host.stack;
    const servers: Server[] = [];
    const add = (server: Server) => {
      if (!servers.some((s) => s.address === server.address)) servers.push(server);
    };
    for (const iface of stack.interfaces) {
      for (const a of iface.dnsServers) add({ address: a.toString(), family: 4 });
      const v6 = [...(iface.ipv6?.autoconf.dnsServers ?? []), ...(stack.dhcp6.get(iface.name)?.dnsServers ?? [])];
      // A link-local server (RFC 8106 §5.1 allows one) is reached through the interface that advertised it.
      for (const a of v6) add({ address: a.isLinkLocal ? `${a}%${iface.name}` : a.toString(), family: 6 });
    }
    return servers;
  }
}

/**
 * The addresses for `name` in an answer section, following CNAMEs within it (RFC 1034
 * §3.6.2); records for other names or of other classes are not the answer and are ignored,
 * as are address records whose data is not an address of the type.
 */
function answerIn(answers: packet.Answer[], name: string, type: RecordType): Reply {
  const valid = type === 'A' ? 4 : 6;
  let current = name;
  for (let hops = 0; hops <= MAX_CNAME_HOPS; hops++) {
    const owned = answers.filter((a): a is packet.StringAnswer => 'data' in a && a.class === 'IN' && typeof a.data === 'string' && canonical(a.name) === current);
    const addresses = owned.filter((a) => a.type === type && isIP(a.data) === valid).map((a) => ({ address: a.data, ttl: a.ttl ?? 0 }));
    if (addresses.length > 0) return { kind: 'found', addresses };
    const alias = owned.find((a) => a.type === 'CNAME');
    if (!alias) return current === name ? { kind: 'nodata' } : { kind: 'alias', target: current, hops };
    current = canonical(alias.data);
    if (!encodable(current)) return { kind: 'nodata' };
  }
  return { kind: 'nodata' };
}
