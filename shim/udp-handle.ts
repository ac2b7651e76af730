import { getSystemErrorMap } from 'node:util';
import { Ipv4Address, Ipv6Address } from '../lib/wire/address';
import type { IpAddress, UdpEndpoint, UdpSocket } from '../lib/socket/udp-socket';
import { uvErrno } from './errors';
import { ReferencedHandle } from './handle-ref';
import type { ShimHost } from './host';

/** libuv's flags for uv_udp_bind, as Node passes them for `ipv6Only` and `reuseAddr`. */
const UV_UDP_IPV6ONLY = 1;
const UV_UDP_REUSEADDR = 4;

/** Linux's floors for SO_RCVBUF/SO_SNDBUF (include/net/sock.h: SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF). */
const SOCK_MIN_RCVBUF = 2304;
const SOCK_MIN_SNDBUF = 4608;

const EBADF = uvErrno('EBADF');
const EINVAL = uvErrno('EINVAL');

type Lookup = (address: string, callback: (err: Error | null, ip: string, family?: number) => void) => void;
type OnMessage = (nread: number, handle: StackUdpHandle, buf?: Buffer, rinfo?: { address: string; family: string; port: number }) => void;
type SendList = readonly ArrayBufferView[];

interface AddressOut {
  address?: string;
  family?: string;
  port?: number;
}

/**
 * A stand-in for Node's UDPWrap (the C++ handle under `dgram.Socket`), over a UDP
 * socket of the stack. Node's own `dgram.Socket` drives it, so argument checking, the
 * bind/connect state machines, the send queue and every error message stay Node's; this
 * class answers as libuv and Linux would: negative errno results, EBADF before the
 * socket exists (libuv creates the fd at bind), a synchronous send returning length + 1.
 */
export class StackUdpHandle extends ReferencedHandle {
  /** Node's resolver for this socket (the socket's `lookup` option or dns.lookup), taken from the handle it replaces. */
  lookup: Lookup;
  onmessage: OnMessage | undefined;
  onerror: unknown;
  private readonly socket: UdpSocket;
  private receiving = false;
  private closed = false;
  /**
   * Whether libuv would have created the socket's descriptor by now: at the first bind,
   * connect, send or membership, even one that failed after creating it (bind EADDRINUSE).
   * Before that, socket options fail with EBADF.
   */
  private hasFd = false;
  private sendBufferSize: number;

  constructor(
    host: ShimHost,
    private readonly family: 4 | 6,
    lookup: Lookup,
  ) {
    super(host, 'UDPWRAP');
    this.lookup = lookup;
    this.socket = host.stack.udpSockets.open(family);
    this.socket.recvBufferSize = host.limits.rmemDefault;
    this.sendBufferSize = host.limits.wmemDefault;
    host.attachUdp(this.socket, this);
  }

  /** There is no kernel descriptor behind this handle. */
  get fd(): number {
    return EBADF;
  }

  bind(ip: string, port: number, flags: number): number {
    const address = this.parse(ip);
    if (!address) return EINVAL;
    this.hasFd = true;
    // Node passes UV_UDP_IPV6ONLY for `ipv6Only`; without it a udp6 socket is dual-stack, as on Linux.
    if (this.family === 6) this.socket.v6only = (flags & UV_UDP_IPV6ONLY) !== 0;
    const err = this.host.stack.udpSockets.bind(this.socket, { address, port, reuseAddr: (flags & UV_UDP_REUSEADDR) !== 0 });
    return err ? uvErrno(err) : 0;
  }

  bind6(ip: string, port: number, flags: number): number {
    return this.bind(ip, port, flags);
  }

  connect(ip: string, port: number): number {
    const address = this.parse(ip);
    if (!address) return EINVAL;
    this.hasFd = true;
    const err = this.host.driver.perform((now) => this.host.stack.udpSockets.connect(this.socket, { address, port, scope: scopeOf(ip) }, now));
    return err ? uvErrno(err) : 0;
  }

  connect6(ip: string, port: number): number {
    return this.connect(ip, port);
  }

  disconnect(): number {
    this.host.stack.udpSockets.disconnect(this.socket);
    return 0;
  }

  open(): number {
    // bind({ fd }) adopts a kernel socket, which cannot carry the stack's traffic.
    return uvErrno('ENOTSUP');
  }

  /**
   * `send(req, list, count, port, ip, hasCallback)` unconnected, `send(req, list, count,
   * hasCallback)` connected. Sends complete at once: the result is the length plus one,
   * which Node reads as a synchronous success.
   */
  send(_req: unknown, list: SendList, count: number, ...rest: unknown[]): number {
    let to: UdpEndpoint | undefined;
    if (rest.length === 3) {
      const address = this.parse(rest[1] as string);
      if (!address) return EINVAL;
      to = { address, port: rest[0] as number, scope: scopeOf(rest[1] as string) };
    }
    const payload = concat(list, count);
    this.hasFd = true;
    const err = this.host.driver.perform((now) => this.host.stack.udpSockets.send(this.socket, payload, to, now));
    return err ? uvErrno(err) : payload.length + 1;
  }

  send6(req: unknown, list: SendList, count: number, ...rest: unknown[]): number {
    return this.send(req, list, count, ...rest);
  }

  recvStart(): number {
    this.receiving = true;
    this.updateHold();
    // Datagrams may have arrived between bind and now.
    if (this.socket.queue.length > 0 || this.socket.pendingError) queueMicrotask(() => this.onReady());
    return 0;
  }

  recvStop(): number {
    this.receiving = false;
    this.updateHold();
    return 0;
  }

  /** Delivers what the core queued: a pending error first (as Linux's recvmsg reports sk_err), then the datagrams. */
  onReady(): void {
    const table = this.host.stack.udpSockets;
    if (!this.receiving) return;
    const err = table.takeError(this.socket);
    if (err) this.deliver(uvErrno(err));
    for (let d = table.receive(this.socket); d && this.receiving; d = table.receive(this.socket)) {
      const buf = Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
      this.deliver(buf.length, buf, { address: withScope(d.from), family: d.family === 4 ? 'IPv4' : 'IPv6', port: d.from.port });
    }
  }

  getsockname(out: AddressOut): number {
    if (!this.hasFd) return EBADF;
    const local = this.socket.local;
    out.address = local?.address?.toString() ?? (this.family === 4 ? '0.0.0.0' : '::');
    out.family = this.family === 4 ? 'IPv4' : 'IPv6';
    out.port = local?.port ?? 0;
    return 0;
  }

  getpeername(out: AddressOut): number {
    const remote = this.socket.remote;
    if (!this.hasFd) return EBADF;
    if (!remote) return uvErrno('ENOTCONN');
    out.address = withScope(remote);
    out.family = this.family === 4 ? 'IPv4' : 'IPv6';
    out.port = remote.port;
    return 0;
  }

  setBroadcast(on: number): number {
    if (!this.hasFd) return EBADF;
    this.socket.broadcast = !!on;
    return 0;
  }

  setTTL(ttl: number): number {
    if (!this.hasFd) return EBADF;
    const value = ttl | 0;
    // libuv refuses what Linux would (uv_udp_set_ttl: 1..255).
    if (value < 1 || value > 255) return EINVAL;
    this.socket.ttl = value;
    return 0;
  }

  setMulticastTTL(ttl: number): number {
    if (!this.hasFd) return EBADF;
    const value = ttl | 0;
    if (value < 0 || value > 255) return EINVAL;
    this.socket.multicastTtl = value;
    return 0;
  }

  setMulticastLoopback(on: number): number {
    if (!this.hasFd) return EBADF;
    this.socket.multicastLoop = !!on;
    return 0;
  }

  setMulticastInterface(interfaceAddress: string): number {
    const parsed = parseInterface(interfaceAddress);
    if (parsed === undefined) return EINVAL;
    if (!this.hasFd) return EBADF;
    const err = this.host.stack.udpSockets.setMulticastInterface(this.socket, parsed === null ? undefined : parsed);
    return err ? uvErrno(err) : 0;
  }

  addMembership(group: string, interfaceAddress?: string): number {
    return this.membership(true, undefined, group, interfaceAddress);
  }

  dropMembership(group: string, interfaceAddress?: string): number {
    return this.membership(false, undefined, group, interfaceAddress);
  }

  addSourceSpecificMembership(source: string, group: string, interfaceAddress?: string): number {
    return this.membership(true, source, group, interfaceAddress);
  }

  dropSourceSpecificMembership(source: string, group: string, interfaceAddress?: string): number {
    return this.membership(false, source, group, interfaceAddress);
  }

  /** uv_recv_buffer_size/uv_send_buffer_size: `size` 0 reads, otherwise sets as Linux's SO_RCVBUF/SO_SNDBUF do (doubled, clamped). */
  bufferSize(size: number, recv: boolean, ctx: Record<string, unknown>): number | undefined {
    if (!this.hasFd) {
      const [code, message] = getSystemErrorMap().get(EBADF) ?? ['EBADF', 'bad file descriptor'];
      Object.assign(ctx, { errno: EBADF, code, message, syscall: recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size' });
      return undefined;
    }
    const limits = this.host.limits;
    if (size === 0) return recv ? this.socket.recvBufferSize : this.sendBufferSize;
    if (recv) this.socket.recvBufferSize = Math.max(Math.min(size, limits.rmemMax) * 2, SOCK_MIN_RCVBUF);
    else this.sendBufferSize = Math.max(Math.min(size, limits.wmemMax) * 2, SOCK_MIN_SNDBUF);
    return size;
  }

  /** Sends never wait in the handle: they reach the stack as they are made. */
  getSendQueueSize(): number {
    return 0;
  }

  getSendQueueCount(): number {
    return 0;
  }

  close(callback?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.receiving = false;
    this.updateHold();
    this.host.driver.perform((now) => this.host.stack.udpSockets.close(this.socket, now));
    this.host.detachUdp(this.socket);
    if (callback) setImmediate(callback);
  }

  private membership(join: boolean, source: string | undefined, groupText: string, interfaceAddress: string | undefined): number {
    const group = parseAny(groupText);
    if (!group) return EINVAL;
    const src = source === undefined ? undefined : parseAny(source);
    if (source !== undefined && !src) return EINVAL;
    let iface: Ipv4Address | string | undefined;
    if (interfaceAddress !== undefined) {
      const parsed = parseInterface(interfaceAddress);
      if (parsed === undefined) return EINVAL;
      iface = parsed === null ? undefined : parsed;
    }
    const table = this.host.stack.udpSockets;
    // libuv binds an unbound socket first (uv__udp_maybe_deferred_bind, with SO_REUSEADDR).
    this.hasFd = true;
    if (!this.socket.local) {
      const err = table.bind(this.socket, { port: 0, reuseAddr: true });
      if (err) return uvErrno(err);
    }
    const err = this.host.driver.perform((now) =>
      src
        ? join
          ? table.addSourceMembership(this.socket, src, group, iface, now)
          : table.dropSourceMembership(this.socket, src, group, iface, now)
        : join
          ? table.addMembership(this.socket, group, iface, now)
          : table.dropMembership(this.socket, group, iface, now),
    );
    return err ? uvErrno(err) : 0;
  }

  /** Calls into the app; a throw is reported as uncaught (as Node does from a libuv callback) without stopping the stack. */
  private deliver(nread: number, buf?: Buffer, rinfo?: { address: string; family: string; port: number }): void {
    try {
      this.onmessage?.(nread, this, buf, rinfo);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  private parse(ip: string): IpAddress | undefined {
    if (typeof ip !== 'string') return undefined;
    return this.family === 4 ? Ipv4Address.tryParse(ip) : Ipv6Address.tryParse(ip.replace(/%.*$/, ''));
  }

  protected get active(): boolean {
    return this.receiving && !this.closed;
  }
}

/** The zone of `fe80::1%tap0` (an interface name), as libuv reads it into sin6_scope_id. */
function scopeOf(text: string): string | undefined {
  const at = text.indexOf('%');
  return at < 0 ? undefined : text.slice(at + 1) || undefined;
}

/** Node writes a link-local address with its zone (`fe80::1%tap0`), as AddressToJS does. */
function withScope(endpoint: UdpEndpoint): string {
  return endpoint.scope === undefined ? endpoint.address.toString() : `${endpoint.address}%${endpoint.scope}`;
}

function parseAny(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  return Ipv4Address.tryParse(text) ?? Ipv6Address.tryParse(text.replace(/%.*$/, ''));
}

/**
 * An interface as libuv reads it: an IPv4 address, or an IPv6 address whose scope
 * (`::%tap0`) names the interface; null for "the default"; undefined when unparsable.
 */
function parseInterface(text: string): Ipv4Address | string | null | undefined {
  const v4 = Ipv4Address.tryParse(text);
  if (v4) return v4;
  const [addr, scope] = text.split('%', 2);
  if (!Ipv6Address.tryParse(addr)) return undefined;
  return scope ? scope : null;
}

function concat(list: SendList, count: number): Uint8Array {
  if (count === 1) return bytesOf(list[0]);
  let total = 0;
  for (let i = 0; i < count; i++) total += list[i].byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    out.set(bytesOf(list[i]), at);
    at += list[i].byteLength;
  }
  return out;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
