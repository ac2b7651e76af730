/**
 * A temporary, minimal socket API over the core's TCP (issue 6, item 9), for examples and
 * tests until the net shim replaces it: Node-like events on a running StackDriver. It
 * drains the driver's 'tcp-ready' after each poll, reads everything a connection has,
 * writes what the app queued as the send buffer frees, and pokes the driver after every
 * app call (driver.perform) so what the call queued goes out.
 */
import { EventEmitter } from 'eventemitter3';
import type { StackDriver } from './driver';
import { ProcessHold } from './process-hold';
import type { TcpConnection } from './socket/tcp/connection';
import type { TcpListener } from './socket/tcp/listener';
import { isSynchronized, TcpState } from './socket/tcp/state';
import type { TcpReady } from './socket/tcp/tcp';
import type { IpAddress } from './socket/tcp/types';
import { Ipv4Address, Ipv6Address } from './wire/address';

/** An error with the errno name as `code`, and where it happened, as Node's system errors carry. */
export interface TcpSocketError extends Error {
  code: string;
  syscall: string;
  address?: string;
  port?: number;
}

export interface TcpSocketEvents {
  connect: () => void;
  /** A copy the listener owns. */
  data: (chunk: Uint8Array) => void;
  /** The peer sent FIN; the socket then ends its own side too (Node's allowHalfOpen: false). */
  end: () => void;
  drain: () => void;
  error: (err: TcpSocketError) => void;
  close: (hadError: boolean) => void;
}

export interface TcpServerEvents {
  connection: (socket: TcpSocket) => void;
  listening: () => void;
  close: () => void;
  error: (err: TcpSocketError) => void;
}

/** Node's default listen backlog. */
const DEFAULT_BACKLOG = 511;

function socketError(code: string, syscall: string, address?: string, port?: number): TcpSocketError {
  const where = address === undefined ? '' : ` ${address}${port ? `:${port}` : ''}`;
  return Object.assign(new Error(`${syscall} ${code}${where}`), { code, syscall, address, port });
}

function parseAddress(host: string): IpAddress {
  const address = host === 'localhost' ? Ipv4Address.parse('127.0.0.1') : (Ipv4Address.tryParse(host) ?? Ipv6Address.tryParse(host));
  if (!address) throw new TypeError(`Not an IP address: ${JSON.stringify(host)} (this minimal API does no DNS)`);
  return address;
}

/** The sockets and servers of one driver, and the one 'tcp-ready' listener that serves them all. */
class TcpSocketHub {
  readonly sockets = new Map<TcpConnection, TcpSocket>();
  readonly servers = new Map<TcpListener, TcpServer>();

  /** Open sockets and listening servers keep the process alive, as Node's do; the stack itself never does. */
  readonly lifetime = new ProcessHold();

  constructor(readonly driver: StackDriver) {
    driver.on('tcp-ready', (ready: TcpReady) => {
      for (const l of ready.listeners) this.servers.get(l)?.acceptAll();
      for (const c of ready.connections) this.sockets.get(c)?.service();
    });
  }

  static of(driver: StackDriver): TcpSocketHub {
    let hub = hubs.get(driver);
    if (!hub) {
      hub = new TcpSocketHub(driver);
      hubs.set(driver, hub);
    }
    return hub;
  }
}

const hubs = new WeakMap<StackDriver, TcpSocketHub>();

export class TcpSocket extends EventEmitter<TcpSocketEvents> {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Bytes the connection's send buffer had no room for yet, in order. */
  private pending: Uint8Array[] = [];
  private connected = false;
  private ending = false;
  private shutdownSent = false;
  private eof = false;
  private needDrain = false;
  private closed = false;

  /** @internal Use tcpConnect or a server's 'connection' event. */
  constructor(private readonly hub: TcpSocketHub, private readonly conn: TcpConnection) {
    super();
    const { local, remote } = conn.tuple;
    this.localAddress = local.address.toString();
    this.localPort = local.port;
    this.remoteAddress = remote.address.toString();
    this.remotePort = remote.port;
    hub.sockets.set(conn, this);
    hub.lifetime.hold(true);
  }

  /** Queues `bytes` (copied when they cannot go into the send buffer at once); false when the app should wait for 'drain'. */
  write(bytes: Uint8Array): boolean {
    if (this.closed || this.ending) {
      const err = socketError('EPIPE', 'write');
      process.nextTick(() => this.emit('error', err));
      return false;
    }
    this.pending.push(bytes);
    this.hub.driver.perform((now) => this.flush(now));
    if (this.pending.length > 0) {
      // What stays queued must survive the caller reusing its buffer.
      this.pending = this.pending.map((b) => (b === bytes ? bytes.slice() : b));
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Half-closes: FIN once everything written has gone into the send buffer. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.hub.driver.perform((now) => this.flush(now));
  }

  /** Closes at once (FIN, or RST when data was left unread, as close(2)); 'close' follows. */
  destroy(): void {
    if (this.closed) return;
    this.hub.driver.perform((now) => this.conn.close(now));
    this.finish(undefined);
  }

  setNoDelay(noDelay = true): this {
    this.conn.setNoDelay(noDelay);
    return this;
  }

  /** @internal The connection has news: connect, read, write what waits, and notice the end. */
  service(): void {
    if (this.closed) return;
    this.conn.takeNotice();
    this.hub.driver.perform((now) => {
      if (!this.connected && isSynchronized(this.conn.state)) {
        this.connected = true;
        this.emit('connect');
      }
      this.readAll();
      if (this.closed) return;
      this.flush(now);
      if (this.needDrain && this.pending.length === 0 && !this.closed) {
        this.needDrain = false;
        this.emit('drain');
      }
      if (this.conn.state === TcpState.Closed || this.conn.finished) this.finish(this.conn.error);
      else if (this.eof && this.shutdownSent) this.finish(undefined);
    });
  }

  private readAll(): void {
    while (!this.closed && !this.eof) {
      const chunk = this.conn.read();
      if (chunk === undefined) return;
      if (chunk === null) {
        // A connection that failed (refused, reset) ends with 'error' and 'close', never 'end' (as Node's).
        if (this.conn.error) return;
        this.eof = true;
        this.emit('end');
        this.end();
        return;
      }
      this.emit('data', chunk);
    }
  }

  private flush(now: number): void {
    if (this.closed || !this.connected) return;
    while (this.pending.length > 0) {
      const head = this.pending[0];
      const n = this.conn.write(head, now);
      // -1: the connection can take no more (it failed, or its write side is shut); its end comes through service().
      if (n < 0) {
        this.pending = [];
        return;
      }
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        return;
      }
      this.pending.shift();
    }
    if (this.ending && !this.shutdownSent) {
      this.shutdownSent = true;
      this.conn.shutdown(now);
    }
  }

  private finish(error: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.sockets.delete(this.conn);
    this.hub.lifetime.hold(false);
    // The app is done with it; the core finishes the close (LAST-ACK, TIME-WAIT) on its own.
    if (!error && !this.conn.finished) this.hub.driver.perform((now) => this.conn.close(now));
    const err = error ? socketError(error, this.connected ? 'read' : 'connect', this.remoteAddress, this.remotePort) : undefined;
    process.nextTick(() => {
      if (err) this.emit('error', err);
      this.emit('close', err !== undefined);
    });
  }
}

/**
 * Opens a connection to `host` (an IP address, or 'localhost') and `port`; 'connect' or
 * 'error' follows. What fails before any packet leaves (no route, no free port) throws a
 * TcpSocketError at once.
 */
export function tcpConnect(driver: StackDriver, opts: { host: string; port: number; localAddress?: string }): TcpSocket {
  const hub = TcpSocketHub.of(driver);
  const remote = parseAddress(opts.host);
  const local = opts.localAddress === undefined ? undefined : { address: parseAddress(opts.localAddress) };
  const conn = driver.perform((now) => driver.stack.tcp.connect({ remote: { address: remote, port: opts.port }, local }, now));
  if (typeof conn === 'string') throw socketError(conn, 'connect', opts.host, opts.port);
  return new TcpSocket(hub, conn);
}

export class TcpServer extends EventEmitter<TcpServerEvents> {
  private bound: TcpListener[] = [];

  /** @internal Use createTcpServer. */
  constructor(private readonly hub: TcpSocketHub) {
    super();
  }

  /** Listens on `address`, or on every IPv4 and IPv6 address when none is given; port 0 picks one. */
  listen(port = 0, address?: string): this {
    const tcp = this.hub.driver.stack.tcp;
    const result = this.hub.driver.perform(() => {
      if (address !== undefined) {
        const a = parseAddress(address);
        return [tcp.listen({ address: a, port, backlog: DEFAULT_BACKLOG, family: a instanceof Ipv4Address ? 4 : 6 })];
      }
      const v4 = tcp.listen({ port, backlog: DEFAULT_BACKLOG, family: 4 });
      if (typeof v4 === 'string') return [v4];
      return [v4, tcp.listen({ port: v4.port, backlog: DEFAULT_BACKLOG, family: 6 })];
    });
    const failed = result.find((r): r is Exclude<typeof r, TcpListener> => typeof r === 'string');
    const made = result.filter((r): r is TcpListener => typeof r !== 'string');
    if (failed) {
      for (const l of made) this.hub.driver.perform((now) => l.close(now));
      const err = socketError(failed, 'listen', address ?? '0.0.0.0', port);
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    this.bound = made;
    for (const l of made) this.hub.servers.set(l, this);
    this.hub.lifetime.hold(true);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** Where it listens: the IPv6 wildcard when it listens on both families, as Node reports a dual-stack server. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null {
    const l = this.bound[this.bound.length - 1];
    if (!l) return null;
    const address = l.address?.toString() ?? (l.family === 4 ? '0.0.0.0' : '::');
    return { address, family: l.family === 4 ? 'IPv4' : 'IPv6', port: l.port };
  }

  /** Stops listening; connections already accepted go on. */
  close(): void {
    const listeners = this.bound;
    this.bound = [];
    if (listeners.length > 0) this.hub.lifetime.hold(false);
    for (const l of listeners) this.hub.servers.delete(l);
    this.hub.driver.perform((now) => {
      for (const l of listeners) l.close(now);
    });
    process.nextTick(() => this.emit('close'));
  }

  /** @internal */
  acceptAll(): void {
    for (const l of this.bound) {
      for (let conn = l.accept(); conn; conn = l.accept()) {
        const socket = new TcpSocket(this.hub, conn);
        this.emit('connection', socket);
        // What arrived before accept is delivered once the app had a chance to listen.
        process.nextTick(() => socket.service());
      }
    }
  }
}

/** A server on the driver's stack; `onConnection` is added as a 'connection' listener. */
export function createTcpServer(driver: StackDriver, onConnection?: (socket: TcpSocket) => void): TcpServer {
  const server = new TcpServer(TcpSocketHub.of(driver));
  if (onConnection) server.on('connection', onConnection);
  return server;
}
