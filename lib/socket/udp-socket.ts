import { Ipv4Address, type Ipv6Address } from '../wire/address';
import { isDrop } from '../wire/drop';
import type { StackContext } from '../iface/context';
import type { Ipv4Layer } from '../iface/ipv4';
import type { Ipv6Layer } from '../iface/ipv6';
import type { Udp, UdpDatagram, UdpEndpoints, UdpErrorReport } from './udp';

export type IpAddress = Ipv4Address | Ipv6Address;

export interface UdpEndpoint {
  address: IpAddress;
  port: number;
}

export interface UdpReceived {
  /** A copy, owned by the caller. */
  payload: Uint8Array;
  from: UdpEndpoint;
  family: 4 | 6;
}

export type UdpBindError = 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL';
export type UdpSendError = 'EMSGSIZE' | 'EDESTADDRREQ' | 'EISCONN' | 'EINVAL' | 'ENETUNREACH' | 'EADDRNOTAVAIL' | 'EADDRINUSE' | 'EIO';

export interface UdpSocketOptions {
  /** The ephemeral port range, inclusive: IANA's 49152–65535 (RFC 6335 §6) by default. */
  ephemeralPorts: [number, number];
  /** Receive queue bound in payload bytes: Linux's rmem_default, 212992. */
  recvBufferSize: number;
}

const DEFAULTS: UdpSocketOptions = { ephemeralPorts: [49152, 65535], recvBufferSize: 212_992 };

/** The largest payload: 65535 minus the IPv4 (20) and UDP (8) headers; IPv6's payload length excludes its header. */
const MAX_PAYLOAD = { 4: 65_507, 6: 65_527 } as const;

/** One UDP socket of the core; the table holds its state, the owner holds this handle. */
export class UdpSocket {
  /** Where it is bound; the address is undefined for the wildcard. */
  local: { address: IpAddress | undefined; port: number } | undefined;
  remote: UdpEndpoint | undefined;
  reuseAddr = false;
  recvBufferSize: number;
  /** Datagrams dropped because the receive queue was full. */
  drops = 0;
  /** A local address chosen by connect (not by bind), given back by disconnect, as Linux does. */
  addressFromConnect = false;
  readonly queue: UdpReceived[] = [];
  queuedBytes = 0;
  pendingError: UdpErrorReport['errno'] | undefined;
  /** Bind order: among equal matches, a unicast goes to the most recently bound socket. */
  bindSeq = 0;
  closed = false;

  constructor(readonly id: number, readonly family: 4 | 6, recvBufferSize: number) {
    this.recvBufferSize = recvBufferSize;
  }
}

/**
 * The UDP sockets of a stack (RFC 768), sans-IO: bind rules and ephemeral ports
 * (RFC 6056 Algorithm 1), Linux's demultiplexing precedence, bounded receive queues and
 * ICMP errors as pending socket errors. Nothing here calls user code: sockets that got a
 * datagram or an error are collected, and the owner drains them with `takeReady()` after
 * `poll` returns (DESIGN.md §1). IPv4 and IPv6 sockets are separate tables (an IPv6
 * socket is IPV6_V6ONLY).
 */
export class UdpSocketTable implements UdpEndpoints {
  private readonly sockets = new Set<UdpSocket>();
  private readonly ready = new Set<UdpSocket>();
  private readonly options: UdpSocketOptions;
  private nextId = 1;
  private bindCount = 0;

  constructor(
    private readonly udp: Udp,
    private readonly ipv4: Ipv4Layer,
    private readonly ipv6: Ipv6Layer,
    private readonly ctx: StackContext,
    options: Partial<UdpSocketOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    udp.attach(this);
  }

  open(family: 4 | 6): UdpSocket {
    return new UdpSocket(this.nextId++, family, this.options.recvBufferSize);
  }

  bind(socket: UdpSocket, req: { address?: IpAddress; port: number; reuseAddr?: boolean }): UdpBindError | undefined {
    if (socket.closed || socket.local || !isPort(req.port)) return 'EINVAL';
    const address = req.address?.isUnspecified ? undefined : req.address;
    if (address && familyOf(address) !== socket.family) return 'EINVAL';
    if (address && !address.isMulticast && !(address instanceof Ipv4Address && address.isBroadcast) && !this.isLocal(address)) return 'EADDRNOTAVAIL';
    const reuseAddr = req.reuseAddr ?? false;
    const port = req.port === 0 ? this.ephemeralPort(socket.family) : req.port;
    if (port === undefined) return 'EADDRINUSE';
    if (req.port !== 0 && this.conflicts(socket.family, address, port, reuseAddr)) return 'EADDRINUSE';
    socket.local = { address, port };
    socket.reuseAddr = reuseAddr;
    socket.bindSeq = ++this.bindCount;
    this.sockets.add(socket);
    return undefined;
  }

  /** Fixes the peer; binds to an ephemeral port first when unbound, and takes the route's source as the local address. */
  connect(socket: UdpSocket, remote: UdpEndpoint, now: number): UdpSendError | undefined {
    if (socket.closed || familyOf(remote.address) !== socket.family || !isPort(remote.port) || remote.port === 0) return 'EINVAL';
    if (!socket.local) {
      const err = this.bind(socket, { port: 0 });
      if (err) return err;
    }
    const local = socket.local!;
    if (local.address === undefined || local.address.isMulticast) {
      const src = this.sourceFor(remote.address, now);
      if (src === undefined) return 'ENETUNREACH';
      if (local.address === undefined) {
        local.address = src;
        socket.addressFromConnect = true;
      }
    }
    socket.remote = { address: remote.address, port: remote.port };
    return undefined;
  }

  disconnect(socket: UdpSocket): void {
    socket.remote = undefined;
    if (socket.addressFromConnect && socket.local) socket.local.address = undefined;
    socket.addressFromConnect = false;
  }

  send(socket: UdpSocket, payload: Uint8Array, to: UdpEndpoint | undefined, now: number): UdpSendError | undefined {
    if (socket.closed) return 'EINVAL';
    if (to && socket.remote) return 'EISCONN';
    const dst = to ?? socket.remote;
    if (!dst) return 'EDESTADDRREQ';
    if (familyOf(dst.address) !== socket.family || !isPort(dst.port) || dst.port === 0) return 'EINVAL';
    if (payload.length > MAX_PAYLOAD[socket.family]) return 'EMSGSIZE';
    if (!socket.local) {
      const err = this.bind(socket, { port: 0 });
      if (err) return err;
    }
    const local = socket.local!;
    const src = local.address && !local.address.isMulticast && !(local.address instanceof Ipv4Address && local.address.isBroadcast) ? local.address : undefined;
    const dropped = this.udp.send({ src, dst: dst.address, srcPort: local.port, dstPort: dst.port, payload }, now);
    if (dropped === undefined) return undefined;
    if (dropped === 'no-route') return 'ENETUNREACH';
    if (dropped === 'too-big') return 'EMSGSIZE';
    if (dropped === 'bad-source') return 'EADDRNOTAVAIL';
    return 'EIO';
  }

  /** The next datagram, oldest first. */
  receive(socket: UdpSocket): UdpReceived | undefined {
    const next = socket.queue.shift();
    if (next) socket.queuedBytes -= next.payload.length;
    return next;
  }

  /** The pending error from an ICMP message (Linux's sk_err), cleared as it is read. */
  takeError(socket: UdpSocket): UdpErrorReport['errno'] | undefined {
    const err = socket.pendingError;
    socket.pendingError = undefined;
    return err;
  }

  /** The sockets that got a datagram or an error since the last call, each once. */
  takeReady(): UdpSocket[] {
    const ready = [...this.ready];
    this.ready.clear();
    return ready;
  }

  close(socket: UdpSocket): void {
    socket.closed = true;
    this.sockets.delete(socket);
    this.ready.delete(socket);
    socket.queue.length = 0;
    socket.queuedBytes = 0;
  }

  /**
   * Linux's rules (udp4_lib_lookup2 scoring): a connected socket whose peer sent it beats a
   * socket bound to the destination address, which beats a wildcard. Multicast and
   * broadcast go to every matching socket (RFC 1122 §3.3.6, Linux's mcast_deliver).
   */
  deliver(d: UdpDatagram): boolean {
    const family = familyOf(d.dst);
    const group = d.dst.isMulticast || (d.dst instanceof Ipv4Address && (d.dst.isBroadcast || d.iface.isBroadcast(d.dst)));
    let best: UdpSocket | undefined;
    let bestScore = -1;
    const matches: UdpSocket[] = [];
    for (const s of this.sockets) {
      const score = this.score(s, family, d);
      if (score < 0) continue;
      matches.push(s);
      if (score > bestScore || (score === bestScore && s.bindSeq > best!.bindSeq)) {
        best = s;
        bestScore = score;
      }
    }
    if (!best) return false;
    for (const s of group ? matches : [best]) this.enqueue(s, d, family);
    return true;
  }

  error(report: UdpErrorReport): void {
    // Linux reports these only to a connected socket (without IP_RECVERR): an unconnected
    // one cannot tell which of its peers the error was about.
    for (const s of this.sockets) {
      if (!s.remote || !s.local || s.local.port !== report.localPort || s.remote.port !== report.remotePort) continue;
      if (!sameAddress(s.remote.address, report.remote)) continue;
      if (s.local.address && !sameAddress(s.local.address, report.local)) continue;
      s.pendingError = report.errno;
      this.ready.add(s);
    }
  }

  /** -1 when `s` does not match; higher is more specific. */
  private score(s: UdpSocket, family: 4 | 6, d: UdpDatagram): number {
    const local = s.local!;
    if (s.family !== family || local.port !== d.dstPort) return -1;
    let score = 0;
    if (local.address) {
      if (!sameAddress(local.address, d.dst)) return -1;
      score += 1;
    }
    if (s.remote) {
      if (s.remote.port !== d.srcPort || !sameAddress(s.remote.address, d.src)) return -1;
      score += 2;
    }
    return score;
  }

  private enqueue(s: UdpSocket, d: UdpDatagram, family: 4 | 6): void {
    if (s.queuedBytes + d.payload.length > s.recvBufferSize) {
      s.drops++;
      this.ctx.stats.udp.drop('receive-buffer-full');
      return;
    }
    s.queue.push({ payload: d.payload.slice(), from: { address: d.src, port: d.srcPort }, family });
    s.queuedBytes += d.payload.length;
    this.ready.add(s);
  }

  /** Two sockets may share a port only when their addresses differ (neither wildcard) or both set reuseAddr. */
  private conflicts(family: 4 | 6, address: IpAddress | undefined, port: number, reuseAddr: boolean): boolean {
    for (const s of this.sockets) {
      if (s.family !== family || s.local!.port !== port) continue;
      const other = s.local!.address;
      const overlap = !address || !other || sameAddress(address, other);
      if (overlap && !(reuseAddr && s.reuseAddr)) return true;
    }
    return false;
  }

  /** RFC 6056 §3.3.1 Algorithm 1: a random start in the range, then a linear probe; only ports no socket holds. */
  private ephemeralPort(family: 4 | 6): number | undefined {
    const [min, max] = this.options.ephemeralPorts;
    const count = max - min + 1;
    const offset = this.ctx.random.u32() % count;
    const used = new Set<number>();
    for (const s of this.sockets) if (s.family === family) used.add(s.local!.port);
    for (let i = 0; i < count; i++) {
      const port = min + ((offset + i) % count);
      if (!used.has(port)) return port;
    }
    return undefined;
  }

  private isLocal(address: IpAddress): boolean {
    return address instanceof Ipv4Address ? this.ipv4.isLocal(address) : this.ipv6.isLocal(address);
  }

  private sourceFor(dst: IpAddress, now: number): IpAddress | undefined {
    const path = dst instanceof Ipv4Address ? this.ipv4.route(dst) : this.ipv6.route(dst, undefined, now);
    return isDrop(path) ? undefined : path.src;
  }
}

function familyOf(address: IpAddress): 4 | 6 {
  return address instanceof Ipv4Address ? 4 : 6;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 0xffff;
}

function sameAddress(a: IpAddress, b: IpAddress): boolean {
  if (a instanceof Ipv4Address) return b instanceof Ipv4Address && a.equals(b);
  return !(b instanceof Ipv4Address) && a.equals(b);
}
