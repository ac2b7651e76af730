import { Ipv4Address, Ipv6Address } from '../wire/address';
import { isDrop } from '../wire/drop';
import type { StackContext } from '../iface/context';
import type { NetInterface } from '../iface/interface';
import type { Ipv4Layer } from '../iface/ipv4';
import type { Ipv6Layer } from '../iface/ipv6';
import type { Udp, UdpDatagram, UdpEndpoints, UdpErrorReport } from './udp';

export type IpAddress = Ipv4Address | Ipv6Address;

export interface UdpEndpoint {
  address: IpAddress;
  port: number;
  /**
   * The interface (by name) of an IPv6 link-local or multicast address: its scope zone
   * (RFC 4007 §6, `fe80::1%tap0`). Set on what is received from a link-local source; on a
   * destination, it picks the interface to leave by.
   */
  scope?: string;
}

export interface UdpReceived {
  /** A copy, owned by the caller. */
  payload: Uint8Array;
  from: UdpEndpoint;
  family: 4 | 6;
}

export type UdpBindError = 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL';
export type UdpSendError = 'EMSGSIZE' | 'EDESTADDRREQ' | 'EISCONN' | 'EINVAL' | 'ENETUNREACH' | 'EADDRNOTAVAIL' | 'EADDRINUSE' | 'EIO' | 'EACCES';
export type UdpAddMembershipError = 'EINVAL' | 'EADDRINUSE' | 'ENODEV' | 'ENOBUFS';
export type UdpDropMembershipError = 'EINVAL' | 'EADDRNOTAVAIL';
export type UdpAddSourceMembershipError = 'EINVAL' | 'ENODEV' | 'ENOBUFS' | 'EADDRNOTAVAIL';
export type UdpDropSourceMembershipError = 'EINVAL' | 'ENODEV' | 'EADDRNOTAVAIL' | 'ENOBUFS';

/**
 * Where a membership or the multicasts of a socket go: an IPv4 address of an interface
 * (Linux's imr_interface; 0.0.0.0 is none), or an interface's name (the scope id of an IPv6
 * address, Linux's ifindex); undefined for the interface the route to the group picks.
 */
export type UdpMulticastInterface = Ipv4Address | string | undefined;

export interface UdpSocketOptions {
  /** The ephemeral port range, inclusive: IANA's 49152–65535 (RFC 6335 §6) by default. */
  ephemeralPorts: [number, number];
  /** Receive queue bound in payload bytes: Linux's rmem_default, 212992. */
  recvBufferSize: number;
  /** IPv4 memberships of one socket: Linux's igmp_max_memberships, 20. */
  igmpMaxMemberships: number;
  /** Sources of one IPv4 source-specific membership: Linux's igmp_max_msf, 10. */
  igmpMaxSources: number;
  /** Sources of one IPv6 source-specific membership: Linux's mld_max_msf, 64. */
  mldMaxSources: number;
}

const DEFAULTS: UdpSocketOptions = { ephemeralPorts: [49152, 65535], recvBufferSize: 212_992, igmpMaxMemberships: 20, igmpMaxSources: 10, mldMaxSources: 64 };

/** One (group, interface) a socket joined (RFC 3678 §4.1, as Linux's ip_mc_socklist). */
export interface UdpMembership {
  readonly group: IpAddress;
  readonly iface: NetInterface;
  /** The INCLUDE-mode sources of a source-specific membership (RFC 3678 §4.1.3); undefined for any source. */
  sources: IpAddress[] | undefined;
}

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
  /** Unicast (and broadcast) TTL or hop limit (IP_TTL, IPV6_UNICAST_HOPS); undefined for the stack's default, 64. */
  ttl: number | undefined = undefined;
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS: Linux's default 1 keeps multicasts on the link (RFC 1112 §6.1). */
  multicastTtl = 1;
  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: this host's own sockets hear its multicasts. */
  multicastLoop = true;
  /** SO_BROADCAST: without it a send or connect to a broadcast address is EACCES, as on Linux. */
  broadcast = false;
  /** IP_MULTICAST_IF / IPV6_MULTICAST_IF: where multicasts leave; undefined for the route's choice. */
  multicastInterface: NetInterface | undefined = undefined;
  /** The groups joined, by `group%interface`. */
  readonly memberships = new Map<string, UdpMembership>();
  /**
   * IPV6_V6ONLY. Off (Linux's default, net.ipv6.bindv6only = 0), an IPv6 socket bound to ::
   * or to an IPv4-mapped address also carries IPv4, its peers named ::ffff:a.b.c.d
   * (RFC 4291 §2.5.5.2, RFC 3493 §3.7). Set before bind.
   */
  v6only = false;

  constructor(readonly id: number, readonly family: 4 | 6, recvBufferSize: number) {
    this.recvBufferSize = recvBufferSize;
  }
}

/**
 * The UDP sockets of a stack (RFC 768), sans-IO: bind rules and ephemeral ports
 * (RFC 6056 Algorithm 1), Linux's demultiplexing precedence, bounded receive queues and
 * ICMP errors as pending socket errors. Nothing here calls user code: sockets that got a
 * datagram or an error are collected, and the owner drains them with `takeReady()` after
 * `poll` returns (DESIGN.md §1). An IPv6 socket without IPV6_V6ONLY is dual-stack: it
 * carries IPv4 through IPv4-mapped addresses, as on Linux.
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
    // Linux (inet6_bind): a v6-only socket cannot take an IPv4-mapped address.
    if (address && socket.v6only && mappedIpv4(address)) return 'EINVAL';
    const effective = address && (mappedIpv4(address) ?? address);
    if (effective && !effective.isMulticast && !(effective instanceof Ipv4Address && effective.isBroadcast) && !this.isLocal(effective)) return 'EADDRNOTAVAIL';
    const reuseAddr = req.reuseAddr ?? false;
    const covers = coverage(socket, address);
    const port = req.port === 0 ? this.ephemeralPort(covers) : req.port;
    if (port === undefined) return 'EADDRINUSE';
    if (req.port !== 0 && this.conflicts(covers, port, reuseAddr)) return 'EADDRINUSE';
    socket.local = { address, port };
    socket.reuseAddr = reuseAddr;
    socket.bindSeq = ++this.bindCount;
    this.sockets.add(socket);
    return undefined;
  }

  /** Fixes the peer; binds to an ephemeral port first when unbound, and takes the route's source as the local address. */
  connect(socket: UdpSocket, remote: UdpEndpoint, now: number): UdpSendError | undefined {
    if (socket.closed || familyOf(remote.address) !== socket.family || !isPort(remote.port) || remote.port === 0) return 'EINVAL';
    const wire = this.wireAddress(socket, remote.address);
    if (!wire) return 'ENETUNREACH';
    if (!socket.local) {
      const err = this.bind(socket, { port: 0 });
      if (err) return err;
    }
    const local = socket.local!;
    // Linux (ip4_datagram_connect): a broadcast peer needs SO_BROADCAST.
    if (this.needsBroadcastFlag(socket, wire)) return 'EACCES';
    if (local.address === undefined || local.address.isMulticast) {
      const src = this.sourceFor(wire, now);
      if (src === undefined) return 'ENETUNREACH';
      if (local.address === undefined) {
        local.address = socket.family === 6 && src instanceof Ipv4Address ? Ipv6Address.fromIpv4Mapped(src) : src;
        socket.addressFromConnect = true;
      }
    }
    socket.remote = { address: remote.address, port: remote.port, scope: remote.scope };
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
    const wire = this.wireAddress(socket, dst.address);
    if (!wire) return 'ENETUNREACH';
    if (payload.length > MAX_PAYLOAD[familyOf(wire)]) return 'EMSGSIZE';
    if (!socket.local) {
      const err = this.bind(socket, { port: 0 });
      if (err) return err;
    }
    // Linux (udp_sendmsg): a broadcast destination needs SO_BROADCAST.
    if (this.needsBroadcastFlag(socket, wire)) return 'EACCES';
    const local = socket.local!;
    const bound = local.address && (mappedIpv4(local.address) ?? local.address);
    // A socket bound to an address of the other family cannot send this way (Linux: ENETUNREACH / EINVAL).
    if (bound && familyOf(bound) !== familyOf(wire)) return familyOf(wire) === 4 ? 'ENETUNREACH' : 'EINVAL';
    const src = bound && !bound.isMulticast && !(bound instanceof Ipv4Address && bound.isBroadcast) ? bound : undefined;
    const multicast = wire.isMulticast;
    const dropped = this.udp.send(
      {
        src,
        dst: wire,
        srcPort: local.port,
        dstPort: dst.port,
        payload,
        ttl: multicast ? socket.multicastTtl : socket.ttl,
        iface: (dst.scope === undefined ? undefined : this.ipv4.interfaceNamed(dst.scope)) ?? (multicast ? socket.multicastInterface : undefined),
        multicastLoop: multicast && socket.multicastLoop,
      },
      now,
    );
    if (dropped === undefined) return undefined;
    if (dropped === 'no-route') return 'ENETUNREACH';
    if (dropped === 'too-big') return 'EMSGSIZE';
    if (dropped === 'bad-source') return 'EADDRNOTAVAIL';
    return 'EIO';
  }

  /**
   * IP_MULTICAST_IF / IPV6_MULTICAST_IF: multicasts leave by the interface holding this IPv4
   * address, or by the interface of this name; 0.0.0.0, '' or undefined go back to the route's
   * choice. EADDRNOTAVAIL when there is no such interface (or it has no IPv6, for IPv6).
   */
  setMulticastInterface(socket: UdpSocket, iface: UdpMulticastInterface): 'EADDRNOTAVAIL' | undefined {
    if (isDefaultInterface(iface)) {
      socket.multicastInterface = undefined;
      return undefined;
    }
    const found = this.namedInterface(socket.family, iface!);
    if (!found) return 'EADDRNOTAVAIL';
    socket.multicastInterface = found;
    return undefined;
  }

  /**
   * Joins `group` on an interface for any source (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP), with
   * Linux's errors: EINVAL for a group that is not multicast or of the other family,
   * EADDRINUSE for a (group, interface) the socket already joined, ENODEV when the interface
   * does not exist (or no route picks one), ENOBUFS past the host's limits.
   */
  addMembership(socket: UdpSocket, group: IpAddress, iface: UdpMulticastInterface, now: number): UdpAddMembershipError | undefined {
    if (socket.closed || familyOf(group) !== socket.family || !group.isMulticast) return 'EINVAL';
    const on = this.membershipInterface(socket.family, group, iface, now);
    if (!on) return 'ENODEV';
    const key = membershipKey(group, on);
    if (socket.memberships.has(key)) return 'EADDRINUSE';
    if (this.atMembershipLimit(socket)) return 'ENOBUFS';
    const m: UdpMembership = { group, iface: on, sources: undefined };
    const err = this.apply(socket, m, now);
    if (err) return err;
    socket.memberships.set(key, m);
    return undefined;
  }

  /**
   * Leaves `group` (IP_DROP_MEMBERSHIP, IPV6_LEAVE_GROUP), any-source or source-specific; with
   * no interface, the first membership of the group, as Linux does. EADDRNOTAVAIL when the
   * socket has no such membership (Linux says so too for an IPv4 group that is not multicast;
   * IPv6 says EINVAL).
   */
  dropMembership(socket: UdpSocket, group: IpAddress, iface: UdpMulticastInterface, now: number): UdpDropMembershipError | undefined {
    if (socket.closed || familyOf(group) !== socket.family) return 'EINVAL';
    if (!group.isMulticast) return socket.family === 4 ? 'EADDRNOTAVAIL' : 'EINVAL';
    let m: UdpMembership | undefined;
    if (isDefaultInterface(iface)) {
      m = [...socket.memberships.values()].find((x) => sameAddress(x.group, group));
    } else {
      const on = this.namedInterface(socket.family, iface!);
      m = on && socket.memberships.get(membershipKey(group, on));
    }
    if (!m) return 'EADDRNOTAVAIL';
    this.leave(socket, m, now);
    socket.memberships.delete(membershipKey(m.group, m.iface));
    return undefined;
  }

  /**
   * Adds `source` to an INCLUDE-mode membership of `group` (IP_ADD_SOURCE_MEMBERSHIP,
   * MCAST_JOIN_SOURCE_GROUP; RFC 3678 §4.1.3), joining first when needed. As on Linux, an
   * any-source membership becomes include {source}; a source already there is EADDRNOTAVAIL;
   * past igmpMaxSources / mldMaxSources is ENOBUFS.
   */
  addSourceMembership(socket: UdpSocket, source: IpAddress, group: IpAddress, iface: UdpMulticastInterface, now: number): UdpAddSourceMembershipError | undefined {
    if (socket.closed || familyOf(group) !== socket.family || familyOf(source) !== socket.family || !group.isMulticast) return 'EINVAL';
    const on = this.membershipInterface(socket.family, group, iface, now);
    if (!on) return 'ENODEV';
    const key = membershipKey(group, on);
    const existing = socket.memberships.get(key);
    if (!existing) {
      if (this.atMembershipLimit(socket)) return 'ENOBUFS';
      const m: UdpMembership = { group, iface: on, sources: [source] };
      const err = this.apply(socket, m, now);
      if (err) return err;
      socket.memberships.set(key, m);
      return undefined;
    }
    const before = existing.sources;
    const sources = before ?? [];
    if (sources.some((s) => sameAddress(s, source))) return 'EADDRNOTAVAIL';
    if (sources.length >= (socket.family === 4 ? this.options.igmpMaxSources : this.options.mldMaxSources)) return 'ENOBUFS';
    existing.sources = [...sources, source];
    const err = this.apply(socket, existing, now);
    if (err) existing.sources = before;
    return err;
  }

  /**
   * Removes `source` from an INCLUDE-mode membership (IP_DROP_SOURCE_MEMBERSHIP,
   * MCAST_LEAVE_SOURCE_GROUP); the last source's removal leaves the group (RFC 3678 §4.1.3:
   * include {} is no membership). EINVAL without a membership of the group on that interface,
   * EADDRNOTAVAIL when the source is not in its filter, as on Linux.
   */
  dropSourceMembership(socket: UdpSocket, source: IpAddress, group: IpAddress, iface: UdpMulticastInterface, now: number): UdpDropSourceMembershipError | undefined {
    if (socket.closed || familyOf(group) !== socket.family || familyOf(source) !== socket.family || !group.isMulticast) return 'EINVAL';
    const on = this.membershipInterface(socket.family, group, iface, now);
    if (!on) return 'ENODEV';
    const key = membershipKey(group, on);
    const m = socket.memberships.get(key);
    if (!m) return 'EINVAL';
    const before = m.sources;
    if (!before) return 'EADDRNOTAVAIL';
    const left = before.filter((s) => !sameAddress(s, source));
    if (left.length === before.length) return 'EADDRNOTAVAIL';
    if (left.length === 0) {
      this.leave(socket, m, now);
      socket.memberships.delete(key);
      return undefined;
    }
    m.sources = left;
    // Fewer included sources can still grow the interface's merged exclude list past its bound (RFC 3376 §3.2).
    const err = this.apply(socket, m, now);
    if (err) m.sources = before;
    return err;
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

  /** Closes the socket; its memberships are left (the routers hear of it when it was the last member). */
  close(socket: UdpSocket, now: number): void {
    for (const m of socket.memberships.values()) this.leave(socket, m, now);
    socket.memberships.clear();
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
    // What a dual-stack IPv6 socket sees of an IPv4 datagram: both addresses IPv4-mapped.
    const mapped = family === 4 ? { src: Ipv6Address.fromIpv4Mapped(d.src as Ipv4Address), dst: Ipv6Address.fromIpv4Mapped(d.dst as Ipv4Address) } : undefined;
    const group = d.dst.isMulticast || (d.dst instanceof Ipv4Address && (d.dst.isBroadcast || d.iface.isBroadcast(d.dst)));
    let best: UdpSocket | undefined;
    let bestScore = -1;
    const matches: UdpSocket[] = [];
    for (const s of this.sockets) {
      const score = this.score(s, family, d, mapped);
      if (score < 0 || (d.dst.isMulticast && !this.sourceAllowed(s, d))) continue;
      matches.push(s);
      if (score > bestScore || (score === bestScore && s.bindSeq > best!.bindSeq)) {
        best = s;
        bestScore = score;
      }
    }
    if (!best) return false;
    for (const s of group ? matches : [best]) this.enqueue(s, d, s.family === 6 && mapped ? mapped.src : d.src);
    return true;
  }

  error(report: UdpErrorReport): void {
    // Linux reports these only to a connected socket (without IP_RECVERR): an unconnected
    // one cannot tell which of its peers the error was about.
    for (const s of this.sockets) {
      if (!s.remote || !s.local || s.local.port !== report.localPort || s.remote.port !== report.remotePort) continue;
      if (!sameAddress(mappedIpv4(s.remote.address) ?? s.remote.address, report.remote)) continue;
      if (s.local.address && !sameAddress(mappedIpv4(s.local.address) ?? s.local.address, report.local)) continue;
      s.pendingError = report.errno;
      this.ready.add(s);
    }
  }

  /** -1 when `s` does not match; higher is more specific. `mapped`: an IPv4 datagram's addresses as a dual-stack socket sees them. */
  private score(s: UdpSocket, family: 4 | 6, d: UdpDatagram, mapped: { src: Ipv6Address; dst: Ipv6Address } | undefined): number {
    const local = s.local!;
    if (local.port !== d.dstPort) return -1;
    const viaMapping = s.family === 6 && family === 4;
    if (s.family !== family && !(viaMapping && !s.v6only)) return -1;
    const dst = viaMapping ? mapped!.dst : d.dst;
    const src = viaMapping ? mapped!.src : d.src;
    let score = 0;
    if (local.address) {
      if (!sameAddress(local.address, dst)) return -1;
      score += 1;
    }
    if (s.remote) {
      if (s.remote.port !== d.srcPort || !sameAddress(s.remote.address, src)) return -1;
      score += 2;
    }
    // Linux (compute_score): a socket of the datagram's own family wins a tie.
    return score * 2 + (viaMapping ? 0 : 1);
  }

  private enqueue(s: UdpSocket, d: UdpDatagram, from: IpAddress): void {
    if (s.queuedBytes + d.payload.length > s.recvBufferSize) {
      s.drops++;
      this.ctx.stats.udp.drop('receive-buffer-full');
      return;
    }
    const scope = from instanceof Ipv4Address || !from.isLinkLocal ? undefined : d.iface.name;
    s.queue.push({ payload: d.payload.slice(), from: { address: from, port: d.srcPort, scope }, family: s.family });
    s.queuedBytes += d.payload.length;
    this.ready.add(s);
  }

  /**
   * Two sockets may share a port only when what they cover differs (per family, the
   * addresses; a wildcard covers all) or both set reuseAddr. A dual-stack IPv6 wildcard
   * covers IPv4 too (Linux's inet6_bind conflict with 0.0.0.0).
   */
  private conflicts(covers: Coverage, port: number, reuseAddr: boolean): boolean {
    for (const s of this.sockets) {
      if (s.local!.port !== port) continue;
      if (overlaps(covers, coverage(s, s.local!.address)) && !(reuseAddr && s.reuseAddr)) return true;
    }
    return false;
  }

  /** RFC 6056 §3.3.1 Algorithm 1: a random start in the range, then a linear probe; only ports no socket of an overlapping family holds. */
  private ephemeralPort(covers: Coverage): number | undefined {
    const [min, max] = this.options.ephemeralPorts;
    const count = max - min + 1;
    const offset = this.ctx.random.u32() % count;
    const used = new Set<number>();
    for (const s of this.sockets) {
      const other = coverage(s, undefined);
      if ((covers.v4 !== undefined && other.v4 !== undefined) || (covers.v6 !== undefined && other.v6 !== undefined)) used.add(s.local!.port);
    }
    for (let i = 0; i < count; i++) {
      const port = min + ((offset + i) % count);
      if (!used.has(port)) return port;
    }
    return undefined;
  }

  /** Linux's ip_mc_sf_allow / inet6_mc_check: a socket with no membership of the group hears it (mc_all); one with a source-specific membership on the arrival interface only from its sources. */
  private sourceAllowed(s: UdpSocket, d: UdpDatagram): boolean {
    const m = s.memberships.get(membershipKey(d.dst, d.iface));
    return !m?.sources || m.sources.some((src) => sameAddress(src, d.src));
  }

  /** Linux's RTCF_BROADCAST check: the limited or a directed broadcast, without SO_BROADCAST. */
  private needsBroadcastFlag(socket: UdpSocket, dst: IpAddress): boolean {
    return dst instanceof Ipv4Address && !socket.broadcast && this.ipv4.isBroadcast(dst);
  }

  private atMembershipLimit(socket: UdpSocket): boolean {
    return socket.family === 4 && socket.memberships.size >= this.options.igmpMaxMemberships;
  }

  /** The interface for a membership: the one named, or the one the route to the group leaves by (Linux's ip_mc_find_dev, ipv6_sock_mc_join). */
  private membershipInterface(family: 4 | 6, group: IpAddress, iface: UdpMulticastInterface, now: number): NetInterface | undefined {
    if (!isDefaultInterface(iface)) return this.namedInterface(family, iface!);
    const path = group instanceof Ipv4Address ? this.ipv4.route(group) : this.ipv6.route(group, undefined, now);
    return isDrop(path) ? undefined : path.iface;
  }

  /** An IPv4 address of an interface (IPv4 sockets only) or an interface's name. */
  private namedInterface(family: 4 | 6, iface: Ipv4Address | string): NetInterface | undefined {
    const found = iface instanceof Ipv4Address ? (family === 4 ? this.ipv4.ownerOf(iface) : undefined) : this.ipv4.interfaceNamed(iface);
    return family === 6 && !found?.ipv6 ? undefined : found;
  }

  /** Hands the membership's filter to IGMP or MLD on its interface, owned by this socket. */
  private apply(socket: UdpSocket, m: UdpMembership, now: number): 'ENODEV' | 'ENOBUFS' | undefined {
    const owner = ownerOf(socket);
    const mode = m.sources ? 'include' : 'exclude';
    const refused =
      m.group instanceof Ipv4Address
        ? m.iface.joinIpv4Group(m.group, owner, now, { mode, sources: (m.sources ?? []) as Ipv4Address[] })
        : m.iface.joinIpv6Group(m.group, owner, now, { mode, sources: (m.sources ?? []) as Ipv6Address[] });
    if (refused === 'no-igmp' || refused === 'no-ipv6') return 'ENODEV';
    return refused ? 'ENOBUFS' : undefined;
  }

  private leave(socket: UdpSocket, m: UdpMembership, now: number): void {
    if (m.group instanceof Ipv4Address) m.iface.leaveIpv4Group(m.group, ownerOf(socket), now);
    else m.iface.leaveIpv6Group(m.group, ownerOf(socket), now);
  }

  /** The address a datagram to `to` goes to on the wire: an IPv4-mapped one is IPv4, unless the socket is v6-only (Linux: ENETUNREACH). */
  private wireAddress(socket: UdpSocket, to: IpAddress): IpAddress | undefined {
    const v4 = mappedIpv4(to);
    if (!v4) return to;
    return socket.v6only ? undefined : v4;
  }

  private isLocal(address: IpAddress): boolean {
    return address instanceof Ipv4Address ? this.ipv4.isLocal(address) : this.ipv6.isLocal(address);
  }

  private sourceFor(dst: IpAddress, now: number): IpAddress | undefined {
    const path = dst instanceof Ipv4Address ? this.ipv4.route(dst) : this.ipv6.route(dst, undefined, now);
    return isDrop(path) ? undefined : path.src;
  }
}

/** The owner of a socket's memberships in IGMP and MLD: one per socket. */
function ownerOf(socket: UdpSocket): string {
  return `udp:${socket.id}`;
}

function membershipKey(group: IpAddress, iface: NetInterface): string {
  return `${group}%${iface.name}`;
}

function isDefaultInterface(iface: UdpMulticastInterface): boolean {
  return iface === undefined || iface === '' || (iface instanceof Ipv4Address && iface.isUnspecified);
}

/** What a bound socket takes, per family: undefined when not at all, null for any address, else the address. */
interface Coverage {
  v4: Ipv4Address | null | undefined;
  v6: Ipv6Address | null | undefined;
}

function coverage(s: UdpSocket, address: IpAddress | undefined): Coverage {
  if (s.family === 4) return { v4: (address as Ipv4Address | undefined) ?? null, v6: undefined };
  const v6 = address as Ipv6Address | undefined;
  const v4 = v6 && mappedIpv4(v6);
  if (v4) return { v4, v6: undefined };
  return { v4: v6 || s.v6only ? undefined : null, v6: v6 ?? null };
}

function overlaps(a: Coverage, b: Coverage): boolean {
  const meet = <T extends IpAddress>(x: T | null | undefined, y: T | null | undefined) => x !== undefined && y !== undefined && (x === null || y === null || sameAddress(x, y));
  return meet(a.v4, b.v4) || meet(a.v6, b.v6);
}

/** The IPv4 address in an IPv4-mapped IPv6 address. */
function mappedIpv4(address: IpAddress): Ipv4Address | undefined {
  return address instanceof Ipv4Address ? undefined : address.ipv4Mapped;
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
