/**
 * A stand-in for Node's TCPWrap (the C++ handle under `net.Socket` and `net.Server`), over
 * the stack's TCP. Node's own net classes drive it through the stream protocol of
 * lib/internal/stream_base_commons.js: results go back through the shared `streamBaseState`
 * array (bytes read, bytes written, whether a write went async) and the requests'
 * `oncomplete`, exactly where TCPWrap puts them; errors are negative errno as libuv returns
 * them, so every message (`connect ECONNREFUSED 127.0.0.1:80`) is built by Node itself.
 */
import { Ipv4Address, Ipv6Address } from '../lib/wire/address';
import type { TcpConnection } from '../lib/socket/tcp/connection';
import type { TcpListener } from '../lib/socket/tcp/listener';
import { isSynchronized, TcpState } from '../lib/socket/tcp/state';
import type { TcpReady } from '../lib/socket/tcp/tcp';
import type { IpAddress } from '../lib/socket/tcp/types';
import { uvErrno } from './errors';
import { ReferencedHandle } from './handle-ref';
import { TcpOrphans } from './tcp-orphans';
import type { ShimHost } from './host';

interface StreamWrapBinding {
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

/** The very Int32Array Node's stream_base_commons reads after each handle call. */
const streamWrap = (process as unknown as { binding(name: string): StreamWrapBinding }).binding('stream_wrap');
const state = streamWrap.streamBaseState;

/** libuv's UV_TCP_IPV6ONLY, as Node passes it for `ipv6Only`. */
const UV_TCP_IPV6ONLY = 1;
/** libuv's UV_EOF (not an errno: -4095). */
const UV_EOF = -4095;
const UV_ECANCELED = uvErrno('ECANCELED');
const EINVAL = uvErrno('EINVAL');
const ENOTCONN = uvErrno('ENOTCONN');
const EBADF = uvErrno('EBADF');
const EADDRINUSE = uvErrno('EADDRINUSE');
const EADDRNOTAVAIL = uvErrno('EADDRNOTAVAIL');

/** A request object Node made (TCPConnectWrap, WriteWrap, ShutdownWrap): libuv completes it through `oncomplete`. */
interface Req {
  oncomplete: (...args: unknown[]) => void;
}

interface AddressOut {
  address?: string;
  family?: string;
  port?: number;
}

type OnConnection = (err: number, client?: StackTcpHandle) => void;

/**
 * What bind()/bind6() recorded; the core binds when the handle listens or connects. Linux
 * binds at bind(2), and libuv keeps an EADDRINUSE from it as `delayed_error`, which
 * getsockname answers with: `inUse` is that error (listen and connect meet it in the core).
 */
interface BoundAt {
  address: IpAddress;
  port: number;
  v6only: boolean;
  inUse: boolean;
}

/** The handles of one host, and the one 'tcp-ready' listener that serves them all. */
class TcpHub {
  readonly connections = new Map<TcpConnection, StackTcpHandle>();
  readonly listeners = new Map<TcpListener, StackTcpHandle>();
  readonly orphans: TcpOrphans;

  constructor(host: ShimHost) {
    this.orphans = new TcpOrphans(host.driver);
    host.driver.on('tcp-ready', (ready: TcpReady) => {
      for (const l of ready.listeners) this.listeners.get(l)?.acceptAll();
      for (const c of ready.connections) this.connections.get(c)?.service();
    });
  }

  static of(host: ShimHost): TcpHub {
    let hub = hubs.get(host);
    if (!hub) {
      hub = new TcpHub(host);
      hubs.set(host, hub);
    }
    return hub;
  }
}

const hubs = new WeakMap<ShimHost, TcpHub>();

interface QueuedWrite {
  req: Req;
  rest: Uint8Array;
}

export class StackTcpHandle extends ReferencedHandle {
  /** Set by Node: its onStreamRead (the socket) or unused (a server). */
  onread: ((arrayBuffer?: ArrayBuffer) => unknown) | undefined;
  /** Set by Node's setupListenHandle. */
  onconnection: OnConnection | undefined;
  /** Node keeps its own flag here (tryReadStart, onStreamRead). */
  reading = false;
  /** Bytes accepted by write calls but not yet in the connection's send buffer (TCPWrap's writeQueueSize). */
  writeQueueSize = 0;
  bytesRead = 0;
  bytesWritten = 0;

  private readonly hub: TcpHub;
  private conn: TcpConnection | undefined;
  private listening: TcpListener[] = [];
  private bound: BoundAt | undefined;
  private connectReq: Req | undefined;
  private queue: QueuedWrite[] = [];
  private pendingShutdown: Req | undefined;
  /** A shutdown whose FIN is queued, completing on the next turn or before the peer's next news, whichever is first. */
  private sentShutdown: Req | undefined;
  private userBuffer: Uint8Array | undefined;
  private noDelay = false;
  private eof = false;
  private pumpScheduled = false;
  private closed = false;

  /**
   * `conn` for a connection a listener accepted; `mapped` when that listener was a
   * dual-stack `::` one and the connection is IPv4, which Linux reports as `::ffff:a.b.c.d`.
   */
  constructor(
    host: ShimHost,
    conn?: TcpConnection,
    private readonly mapped = false,
  ) {
    super(host, 'TCPWRAP');
    this.hub = TcpHub.of(host);
    if (conn) this.attach(conn);
  }

  /** There is no kernel descriptor behind this handle (HandleWrap answers -1 when uv_fileno fails). */
  get fd(): number {
    return -1;
  }

  bind(ip: string, port: number): number {
    return this.record(ip, port, 4, false);
  }

  bind6(ip: string, port: number, flags: number): number {
    return this.record(ip, port, 6, (flags & UV_TCP_IPV6ONLY) !== 0);
  }

  connect(req: Req, ip: string, port: number): number {
    return this.dial(req, ip, port, 4);
  }

  connect6(req: Req, ip: string, port: number): number {
    return this.dial(req, ip, port, 6);
  }

  /** `{ fd }` adopts a kernel socket, which cannot carry the stack's traffic. */
  open(): number {
    return uvErrno('ENOTSUP');
  }

  private dial(req: Req, ip: string, port: number, family: 4 | 6): number {
    if (this.closed || this.conn || this.listening.length > 0) return EINVAL;
    const remote = parseIp(ip, family);
    if (!remote) return EINVAL;
    const local = this.bound ? { address: this.bound.address, port: this.bound.port } : undefined;
    const tcp = this.host.stack.tcp;
    const conn = this.host.driver.perform((now) => tcp.connect({ remote: { address: remote, port }, local }, now));
    if (typeof conn === 'string') return uvErrno(conn);
    this.attach(conn);
    this.connectReq = req;
    this.updateHold();
    return 0;
  }

  listen(backlog: number): number {
    if (this.closed || this.conn) return EINVAL;
    if (this.listening.length > 0) return 0;
    const at = this.bound ?? { address: Ipv6Address.UNSPECIFIED, port: 0, v6only: false };
    const tcp = this.host.stack.tcp;
    const six = at.address instanceof Ipv6Address;
    const made: TcpListener[] = [];
    const fail = (err: string): number => {
      this.host.driver.perform((now) => made.forEach((l) => tcp.close(l, now)));
      return uvErrno(err);
    };
    const first = tcp.listen({ address: at.address, port: at.port, backlog, family: six ? 6 : 4 });
    if (typeof first === 'string') return fail(first);
    made.push(first);
    // Linux: `::` without IPV6_V6ONLY hears IPv4 too; the core keeps families apart, so a second listener takes 0.0.0.0 on the same port.
    if (six && at.address.isUnspecified && !at.v6only) {
      const four = tcp.listen({ port: first.port, backlog, family: 4 });
      if (typeof four === 'string') return fail(four);
      made.push(four);
    }
    this.listening = made;
    for (const l of made) this.hub.listeners.set(l, this);
    this.updateHold();
    return 0;
  }

  readStart(): number {
    if (this.closed) return EINVAL;
    if (!this.conn || this.connectReq) return ENOTCONN;
    this.reading = true;
    this.updateHold();
    // What arrived before (or while not reading) is delivered on a later turn, as libuv does from its poll phase.
    this.schedulePump();
    return 0;
  }

  readStop(): number {
    this.reading = false;
    this.updateHold();
    return 0;
  }

  /** Node's `onread: { buffer }` option: reads land in this buffer instead of fresh ones. */
  useUserBuffer(buf: Uint8Array): void {
    this.userBuffer = buf;
  }

  writeBuffer(req: Req, data: Uint8Array): number {
    return this.write(req, data);
  }

  writev(req: Req, chunks: readonly unknown[], allBuffers: boolean): number {
    const parts: Uint8Array[] = [];
    if (allBuffers) for (const c of chunks) parts.push(c as Uint8Array);
    else for (let i = 0; i < chunks.length; i += 2) parts.push(toBytes(chunks[i], chunks[i + 1] as BufferEncoding));
    return this.write(req, parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  writeUtf8String(req: Req, s: string): number {
    return this.write(req, Buffer.from(s, 'utf8'));
  }

  writeLatin1String(req: Req, s: string): number {
    return this.write(req, Buffer.from(s, 'latin1'));
  }

  writeAsciiString(req: Req, s: string): number {
    return this.write(req, Buffer.from(s, 'ascii'));
  }

  writeUcs2String(req: Req, s: string): number {
    return this.write(req, Buffer.from(s, 'utf16le'));
  }

  /** FIN once everything written has gone into the send buffer; `req` completes on a later turn. */
  shutdown(req: Req): number {
    if (this.closed) return EINVAL;
    if (!this.conn || this.connectReq) return ENOTCONN;
    if (this.queue.length > 0) this.pendingShutdown = req;
    else this.finishShutdown(req);
    this.updateHold();
    return 0;
  }

  /** Closes as close(2) does (FIN, or RST when data is left unread); requests still queued fail with ECANCELED, as libuv's do. */
  close(callback?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    const conn = this.conn;
    if (conn) {
      this.hub.connections.delete(conn);
      if (!conn.finished) {
        this.host.driver.perform((now) => conn.close(now));
        this.hub.orphans.adopt(conn);
      }
    }
    const listeners = this.listening;
    this.listening = [];
    for (const l of listeners) this.hub.listeners.delete(l);
    if (listeners.length > 0) this.host.driver.perform((now) => listeners.forEach((l) => this.host.stack.tcp.close(l, now)));
    const cancelled = this.queue.map((w) => w.req);
    for (const req of [this.pendingShutdown, this.sentShutdown]) if (req) cancelled.push(req);
    this.queue = [];
    this.pendingShutdown = undefined;
    this.sentShutdown = undefined;
    this.connectReq = undefined;
    this.writeQueueSize = 0;
    this.updateHold();
    setImmediate(() => {
      for (const req of cancelled) this.complete(req, UV_ECANCELED);
      callback?.();
    });
  }

  /** `resetAndDestroy()`: RST now (SO_LINGER 0, as uv_tcp_close_reset), then close. */
  reset(callback?: () => void): number {
    const conn = this.conn;
    if (conn && !this.closed && !conn.finished) {
      this.hub.connections.delete(conn);
      this.host.driver.perform((now) => conn.abort(now));
    }
    this.close(callback);
    return 0;
  }

  getsockname(out: AddressOut): number {
    if (this.conn) return this.describe(out, this.conn.tuple.local.address, this.conn.tuple.local.port);
    const l = this.listening[0];
    if (l) return this.describe(out, l.address ?? (l.family === 4 ? Ipv4Address.UNSPECIFIED : Ipv6Address.UNSPECIFIED), l.port);
    // Bound, not yet connected: where bind(2) put the socket, or the error it kept (Node's checkBindError reads this).
    if (this.bound) return this.bound.inUse ? EADDRINUSE : this.describe(out, this.bound.address, this.bound.port);
    return EBADF;
  }

  getpeername(out: AddressOut): number {
    if (!this.conn || this.connectReq) return ENOTCONN;
    return this.describe(out, this.conn.tuple.remote.address, this.conn.tuple.remote.port);
  }

  setNoDelay(on: boolean): number {
    this.noDelay = !!on;
    this.conn?.setNoDelay(this.noDelay);
    return 0;
  }

  /** `delay` in seconds, as TCPWrap takes it (TCP_KEEPIDLE). */
  setKeepAlive(on: boolean, delay: number): number {
    this.conn?.setKeepAlive(!!on, delay > 0 ? delay * 1000 : undefined);
    return 0;
  }

  /** @internal The connection has news: finish connecting, move queued writes on, deliver reads. */
  service(): void {
    const conn = this.conn;
    if (!conn || this.closed) return;
    conn.takeNotice();
    if (this.sentShutdown) {
      // Node runs the ticks of a completed request ('finish') before the next callback, as after every libuv callback.
      this.completeShutdown();
      process.nextTick(() => this.serviceNow());
    } else {
      this.serviceNow();
    }
  }

  private serviceNow(): void {
    const conn = this.conn;
    if (!conn || this.closed) return;
    this.host.driver.perform((now) => {
      if (this.connectReq) {
        const req = this.connectReq;
        if (isSynchronized(conn.state)) {
          this.connectReq = undefined;
          conn.setNoDelay(this.noDelay);
          this.updateHold();
          this.callConnect(req, 0);
        } else if (conn.state === TcpState.Closed) {
          this.connectReq = undefined;
          this.updateHold();
          this.callConnect(req, uvErrno(conn.error ?? 'ECONNREFUSED'));
          return;
        } else {
          return;
        }
      }
      this.flush(now);
      this.pump();
    });
  }

  /** @internal Hands every connection the listeners have ready to Node's onconnection. */
  acceptAll(): void {
    const dualStack = this.listening.length > 1;
    for (const l of this.listening) {
      for (let conn = l.accept(); conn && !this.closed; conn = l.accept()) {
        const client = new StackTcpHandle(this.host, conn, dualStack && l.family === 4);
        this.call(() => this.onconnection?.(0, client));
      }
    }
  }

  private attach(conn: TcpConnection): void {
    this.conn = conn;
    this.hub.connections.set(conn, this);
  }

  private record(ip: string, port: number, family: 4 | 6, v6only: boolean): number {
    if (this.closed || this.bound || this.conn || this.listening.length > 0) return EINVAL;
    const address = parseIp(ip, family);
    if (!address) return EINVAL;
    // Linux (inet_bind): an address this host does not have fails bind(2) itself, which libuv reports at once.
    if (!address.isUnspecified && !this.isLocal(address)) return EADDRNOTAVAIL;
    this.bound = { address, port, v6only, inUse: port !== 0 && this.portHeld(address, port) };
    return 0;
  }

  private isLocal(address: IpAddress): boolean {
    const stack = this.host.stack;
    return address instanceof Ipv4Address ? stack.ipv4.isLocal(address) : stack.ipv6.isLocal(address);
  }

  /**
   * Whether bind(2) would fail with EADDRINUSE (Linux's inet_csk_bind_conflict, for the
   * SO_REUSEADDR socket libuv makes): a listener holds the port, or a connection this host
   * opened from it. The core answers that only to a listen, so a listener is asked for and
   * given back at once, before any SYN could reach it. Linux lets two sockets that both
   * bound the port explicitly share it; here the second reads as in use.
   */
  private portHeld(address: IpAddress, port: number): boolean {
    const tcp = this.host.stack.tcp;
    const probe = tcp.listen({ address, port, backlog: 1, family: address instanceof Ipv4Address ? 4 : 6 });
    if (typeof probe === 'string') return probe === 'EADDRINUSE';
    tcp.close(probe, this.host.driver.now());
    return false;
  }

  private write(req: Req, data: Uint8Array): number {
    state[streamWrap.kBytesWritten] = data.byteLength;
    state[streamWrap.kLastWriteWasAsync] = 0;
    const conn = this.conn;
    if (this.closed || !conn) return EBADF;
    // Linux reports a pending error (a RST) to the next write before EPIPE.
    if (conn.error) return uvErrno(conn.error);
    this.bytesWritten += data.byteLength;
    let taken = 0;
    if (this.queue.length === 0) {
      taken = this.host.driver.perform((now) => conn.write(bytesOf(data), now));
      if (taken < 0) return uvErrno(conn.error ?? 'EPIPE');
    }
    if (taken === data.byteLength) return 0;
    // Node holds `data` (req.buffer) until the request completes, as libuv holds its uv_buf_t: no copy.
    this.queue.push({ req, rest: bytesOf(data).subarray(taken) });
    this.writeQueueSize += data.byteLength - taken;
    state[streamWrap.kLastWriteWasAsync] = 1;
    this.updateHold();
    return 0;
  }

  /** Moves queued writes into the send buffer as it frees, completing each request whose bytes all went in. */
  private flush(now: number): void {
    const conn = this.conn;
    if (!conn) return;
    const done: Array<[Req, number]> = [];
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const n = conn.error ? -1 : conn.write(head.rest, now);
      if (n < 0) {
        const err = uvErrno(conn.error ?? 'EPIPE');
        for (const w of this.queue) done.push([w.req, err]);
        this.queue = [];
        this.writeQueueSize = 0;
        break;
      }
      this.writeQueueSize -= n;
      if (n < head.rest.length) {
        head.rest = head.rest.subarray(n);
        break;
      }
      this.queue.shift();
      done.push([head.req, 0]);
    }
    if (this.queue.length === 0 && this.pendingShutdown) {
      const req = this.pendingShutdown;
      this.pendingShutdown = undefined;
      this.finishShutdown(req);
    }
    this.updateHold();
    for (const [req, status] of done) if (!this.closed) this.complete(req, status);
  }

  /**
   * Queues the FIN; `req` completes on the next turn, as libuv's does on the next poll. The
   * peer's answer to that FIN can only come after it, so a poll that brings news (the stack
   * may poll from a timer, ahead of this turn's immediates) completes it first.
   */
  private finishShutdown(req: Req): void {
    const conn = this.conn;
    this.sentShutdown = req;
    if (conn) this.host.driver.perform((now) => conn.shutdown(now));
    setImmediate(() => this.completeShutdown());
  }

  private completeShutdown(): void {
    const req = this.sentShutdown;
    if (!req) return;
    this.sentShutdown = undefined;
    if (!this.closed) this.complete(req, 0);
  }

  /**
   * Reads while Node wants them: data, then the end (UV_EOF) or the connection's error
   * (ECONNRESET). libuv (uv__stream_io) reports a hang-up met right after a short read as
   * the end, without reading the socket's error: a connection reset with data still unread
   * gives that data, then UV_EOF; one reset with nothing unread gives the error.
   */
  private pump(): void {
    const conn = this.conn;
    let delivered = false;
    while (conn && this.reading && !this.closed && !this.eof) {
      const chunk = conn.read(this.userBuffer?.length);
      if (chunk === undefined) return;
      if (chunk === null) {
        this.eof = true;
        // EPIPE is a reset after the peer's FIN: reads end there cleanly, as on Linux (SOCK_DONE).
        this.deliver(conn.error && conn.error !== 'EPIPE' && !delivered ? uvErrno(conn.error) : UV_EOF);
        return;
      }
      delivered = true;
      this.bytesRead += chunk.length;
      if (this.userBuffer) {
        this.userBuffer.set(chunk);
        this.deliver(chunk.length, this.userBuffer);
      } else {
        this.deliver(chunk.length, chunk);
      }
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (!this.closed && this.reading) this.host.driver.perform(() => this.pump());
    });
  }

  private deliver(nread: number, bytes?: Uint8Array): void {
    state[streamWrap.kReadBytesOrError] = nread;
    state[streamWrap.kArrayBufferOffset] = bytes ? bytes.byteOffset : 0;
    this.call(() => this.onread?.(bytes?.buffer as ArrayBuffer | undefined));
  }

  private callConnect(req: Req, status: number): void {
    // TCPWrap::AfterConnect: (status, handle, req, readable, writable).
    this.call(() => req.oncomplete(status, this, req, true, true));
  }

  private complete(req: Req, status: number): void {
    this.call(() => req.oncomplete.call(req, status, this, undefined));
  }

  /** Calls into Node; a throw is reported as uncaught (as from a libuv callback) without stopping the stack. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  private describe(out: AddressOut, address: IpAddress, port: number): number {
    const four = address instanceof Ipv4Address;
    out.address = four && this.mapped ? `::ffff:${address}` : address.toString();
    out.family = four && !this.mapped ? 'IPv4' : 'IPv6';
    out.port = port;
    return 0;
  }

  /** libuv's handle is active while it listens, reads, or has a request in flight. */
  protected get active(): boolean {
    return !this.closed && (this.listening.length > 0 || this.reading || !!this.connectReq || this.queue.length > 0 || !!this.pendingShutdown);
  }
}

function parseIp(ip: string, family: 4 | 6): IpAddress | undefined {
  if (typeof ip !== 'string') return undefined;
  if (family === 4) return Ipv4Address.tryParse(ip);
  const v6 = Ipv6Address.tryParse(ip.replace(/%.*$/, ''));
  if (!v6) return undefined;
  // An IPv4-mapped peer is the IPv4 host (Linux connects a dual-stack socket over IPv4).
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return v4 ? (Ipv4Address.tryParse(v4[1]) ?? v6) : v6;
}

function toBytes(chunk: unknown, encoding: BufferEncoding): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, encoding) : (chunk as Uint8Array);
}

function bytesOf(view: Uint8Array): Uint8Array {
  return view instanceof Buffer ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : view;
}
