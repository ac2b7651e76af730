import { Ipv4Address, Ipv6Address } from '../../wire/address';
import { isDrop, type DropReason } from '../../wire/drop';
import { IpProtocol, type Ipv4Repr } from '../../wire/ipv4';
import { Ipv6NextHeader, type Ipv6Repr } from '../../wire/ipv6';
import { ReusableTcpRepr, TcpFlag, TcpRepr, type TcpOptions, type TcpPseudoHeader } from '../../wire/tcp';
import { uniformInt } from '../../random';
import type { StackContext } from '../../iface/context';
import type { Ipv4Arrival, Ipv4ErrorReport, Ipv4Layer, Ipv4Send } from '../../iface/ipv4';
import type { Ipv6Arrival, Ipv6ErrorReport, Ipv6Layer, Ipv6Send } from '../../iface/ipv6';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './config';
import { TcpConnection, type ConnectionOptions } from './connection';
import { IsnGenerator } from './isn';
import { TcpMemory } from './memory';
import { TcpListener, type TcpListenerOwner } from './listener';
import { seqAdd, seqGt, seqInWindow, seqSub } from './seq';
import { icmpErrorOf4, icmpErrorOf6 } from './icmp-errors';
import { announcedMss, synAckOptions } from './options';
import { Ipv4PathMtus, plateauBelow } from './path-mtu';
import { cookieTimestamp, SynCookies } from './syn-cookies';
import { TcpState } from './state';
import { TimerQueue } from './timer-queue';
import type { IpAddress, TcpEndpoint, TcpFourTuple, TcpIcmpError, TcpLink, TcpSegmentOut } from './types';

export interface TcpListenRequest {
  /** A local address, or undefined / the unspecified address for all of the family's. */
  address?: IpAddress;
  /** 0 picks an ephemeral port. */
  port: number;
  backlog: number;
  /** An IPv6 listener hears IPv6 only (IPV6_V6ONLY). */
  family: 4 | 6;
  /**
   * Linux's SO_REUSEPORT, in part: listeners that all set it may share a port across
   * overlapping addresses (one on 10.0.0.2 beside one on the wildcard), and a SYN goes to the
   * most specific. The same address and port twice is still EADDRINUSE (no load balancing).
   */
  reusePort?: boolean;
}

export interface TcpConnectRequest {
  remote: TcpEndpoint;
  /** The source address (by default the route's) and port (by default an ephemeral one). */
  local?: { address?: IpAddress; port?: number };
}

export type TcpListenError = 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EINVAL';
export type TcpConnectError = 'EADDRNOTAVAIL' | 'ENETUNREACH' | 'EADDRINUSE' | 'EINVAL';

/** What changed since the owner last looked: connections with notices, listeners with connections to accept. */
export interface TcpReady {
  connections: TcpConnection[];
  listeners: TcpListener[];
}

/** RFC 6335 §6: the IANA dynamic port range, where ephemeral ports come from. */
const EPHEMERAL_MIN = 49152;
const EPHEMERAL_MAX = 65535;

/** RFC 9293 §3.7.1 / RFC 8200 §5: the smallest IP packets every path carries. */
const IPV4_MIN_PATH = 576;
const IPV6_MIN_PATH = 1280;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
/** RFC 791 §3.1 Total Length and RFC 8200 §3 Payload Length are 16 bits: on loopback's 64 KiB MTU these bind first. */
const IPV4_MAX_PACKET = 0xffff;
const IPV6_MAX_PAYLOAD = 0xffff;

const NO_PAYLOAD = (): void => {};

/**
 * TCP's layer between IP and the connections (RFC 9293): checks and parses every segment,
 * finds its connection by 4-tuple, else a listener (a specific address before the wildcard),
 * else answers with a RST (§3.10.7.1); opens connections (ephemeral ports per RFC 6056,
 * ISNs per RFC 6528), answers SYNs with cookies when a listener's backlog is full (RFC 4987),
 * routes ICMP errors to connections (RFC 5927), and is the connections' link to IP: it
 * builds each segment straight into its frame and knows the path MTU.
 *
 * Nothing here runs user code: connections with news are collected and taken with
 * `takeReady()` after `poll` returns (DESIGN.md §1).
 */
export class Tcp implements TcpListenerOwner {
  readonly config: TcpConfig;
  private readonly connections = new Map<string, TcpConnection>();
  private readonly listeners = new Map<string, TcpListener>();
  /** Listeners by family and port (any address): bind conflicts and ephemeral port choice. */
  private readonly listenersByPort = new Map<number, Set<TcpListener>>();
  /** Connections this host opened, by family and local port: a listener may not take their port. */
  private readonly activeByPort = new Map<number, Set<TcpConnection>>();
  /** Connections not yet accepted, and the listener they wait in. */
  private readonly parents = new Map<TcpConnection, TcpListener>();
  private readonly ready = new Set<TcpConnection>();
  private readonly readyListeners = new Set<TcpListener>();
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  private readonly pathMtus = new Ipv4PathMtus();
  /** RFC 6056 §3.3.3's next_ephemeral: moves on by every port the search for one tried. */
  private nextEphemeral: number;
  /** RFC 5961 §7: the stack-wide challenge ACK budget of the current second. */
  private challengeSecond = -1;
  private challengesLeft = 0;
  private readonly link: TcpLink;
  private readonly notify = (conn: TcpConnection): void => {
    this.ready.add(conn);
  };
  /** The connections' deadlines: a poll looks only at those due (timer-queue.ts). */
  private readonly timerQueue = new TimerQueue<TcpConnection>();
  private readonly timerEarlier = (conn: TcpConnection, at: number): void => this.timerQueue.push(at, conn);
  /** Connections that reached CLOSED and are still in the tables: forgotten once their owner has looked. */
  private readonly closing = new Set<TcpConnection>();
  private readonly closed = (conn: TcpConnection): void => {
    this.closing.add(conn);
  };
  private readonly challengeAck = (now: number): boolean => this.takeChallenge(now);
  private readonly countDrop = (reason: string): void => this.ctx.stats.tcp.drop(reason);
  /** The budget every connection's buffers are charged to (memory.ts; Linux: tcp_mem). */
  readonly memory: TcpMemory;

  constructor(
    private readonly ipv4: Ipv4Layer,
    private readonly ipv6: Ipv6Layer,
    private readonly ctx: StackContext,
    config: Partial<TcpConfig> = {},
  ) {
    this.config = { ...DEFAULT_TCP_CONFIG, ...config };
    this.memory = new TcpMemory(this.config.memoryPressureBytes, this.config.memoryLimitBytes);
    this.isn = new IsnGenerator(ctx.random);
    this.cookies = new SynCookies(ctx.random);
    this.nextEphemeral = ctx.random.u32();
    this.link = { send: (tuple, seg, now) => this.transmit(tuple, seg, now), maxPayload: (tuple, now) => this.maxPayload(tuple, now) };
    ipv4.register(IpProtocol.Tcp, {
      receive: (ip, payload, arrival, now) => this.receive4(ip, payload, arrival, now),
      error: (report, now) => this.error4(report, now),
    });
    ipv6.register(Ipv6NextHeader.Tcp, {
      receive: (ip, payload, arrival, now) => this.receive6(ip, payload, arrival, now),
      error: (report, now) => this.error6(report, now),
    });
  }

  /** A passive open (RFC 9293 §3.10.1) on `port`, or why not, with Linux's errors. */
  listen(req: TcpListenRequest): TcpListener | TcpListenError {
    const { family } = req;
    if ((family !== 4 && family !== 6) || !isPort(req.port) || !Number.isFinite(req.backlog)) return 'EINVAL';
    const address = req.address?.isUnspecified ? undefined : req.address;
    if (address && familyOf(address) !== family) return 'EINVAL';
    if (address && !this.isLocal(address)) return 'EADDRNOTAVAIL';
    let port = req.port;
    if (port === 0) {
      const free = this.freeListenPort(family);
      if (free === undefined) return 'EADDRINUSE';
      port = free;
    } else if (this.portTaken(family, address, port, req.reusePort === true)) {
      return 'EADDRINUSE';
    }
    const listener = new TcpListener(family, address, port, req.backlog, this, req.reusePort === true);
    this.listeners.set(listenerKey(family, address, port), listener);
    setAdd(this.listenersByPort, portKey(family, port), listener);
    return listener;
  }

  /** An active open (RFC 9293 §3.10.1): the connection, already in SYN-SENT, or why not. */
  connect(req: TcpConnectRequest, now: number): TcpConnection | TcpConnectError {
    const remotePort = req.remote.port;
    if (!isPort(remotePort) || remotePort === 0) return 'EINVAL';
    let remote = req.remote.address;
    const family = familyOf(remote);
    // Linux (ip_route_connect): the unspecified address means this host.
    if (remote.isUnspecified) remote = family === 4 ? Ipv4Address.parse('127.0.0.1') : Ipv6Address.LOOPBACK;
    // RFC 1122 §4.2.3.10: a TCP connection is never to a broadcast or multicast address (Linux: ENETUNREACH).
    if (remote.isMulticast || (remote instanceof Ipv4Address && this.ipv4.isBroadcast(remote))) return 'ENETUNREACH';
    const wanted = req.local?.address?.isUnspecified ? undefined : req.local?.address;
    const localPort = req.local?.port ?? 0;
    if (!isPort(localPort) || (wanted && familyOf(wanted) !== family)) return 'EINVAL';
    if (wanted && !this.isLocal(wanted)) return 'EADDRNOTAVAIL';
    const src = this.sourceFor(remote, wanted, now);
    if (src === undefined) return 'ENETUNREACH';
    let port = localPort;
    if (port === 0) {
      const free = this.ephemeralPort(family, src, remote, remotePort, now);
      if (free === undefined) return 'EADDRNOTAVAIL';
      port = free;
    }
    const key = tupleKey(src, port, remote, remotePort);
    if (localPort !== 0 && (this.listenerHolds(family, src, port) || this.held(key, now, false))) return 'EADDRINUSE';
    const tuple: TcpFourTuple = { local: { address: src, port }, remote: { address: remote, port: remotePort } };
    const iss = this.takeOverTimeWait(key, now) ?? this.isn.next(tuple, now);
    const conn = TcpConnection.connect(this.options(tuple, iss, now));
    this.connections.set(key, conn);
    setAdd(this.activeByPort, portKey(family, port), conn);
    this.ctx.stats.tcp.activeOpens++;
    this.settle(conn);
    return conn;
  }

  /** Stops `listener`; the connections it had not handed out are reset. */
  close(listener: TcpListener, now: number): void {
    if (listener.closed) return;
    listener.closed = true;
    this.listeners.delete(listenerKey(listener.family, listener.address, listener.port));
    setDelete(this.listenersByPort, portKey(listener.family, listener.port), listener);
    this.readyListeners.delete(listener);
    for (const conn of listener.drain()) {
      this.parents.delete(conn);
      conn.abort(now);
      this.settle(conn);
    }
  }

  /** The connections and listeners with news since the last call, each once. */
  takeReady(): TcpReady {
    const connections: TcpConnection[] = [];
    // One not yet accepted is the listener's news; accept() makes it the app's.
    for (const c of this.ready) if (!this.parents.has(c)) connections.push(c);
    const ready: TcpReady = { connections, listeners: [...this.readyListeners] };
    this.ready.clear();
    this.readyListeners.clear();
    return ready;
  }

  /** Fires the due timers, of those connections only, and forgets the connections that are done. */
  poll(now: number): void {
    for (const conn of this.closing) {
      this.settle(conn);
      if (conn.finished) this.closing.delete(conn);
    }
    for (const conn of this.timerQueue.takeDue(now)) {
      if (conn.finished) continue;
      const at = conn.pollAt();
      if (at !== undefined && at <= now) conn.poll(now);
      this.settle(conn);
      // What the poll did not set again (a deadline still ahead, from before) is queued anew.
      if (!conn.finished) conn.deadline.requeue();
    }
    this.timerQueue.compact(this.connections.size);
  }

  pollAt(): number | undefined {
    return this.timerQueue.peek();
  }

  /** A goodbye before the stack stops: listeners close, and every connection is reset (RFC 9293 §3.10.5 ABORT). */
  shutdown(now: number): void {
    for (const listener of [...this.listeners.values()]) this.close(listener, now);
    for (const conn of [...this.connections.values()]) {
      conn.abort(now);
      this.settle(conn);
    }
  }

  /** Live connections, TIME-WAIT included. */
  get connectionCount(): number {
    return this.connections.size;
  }

  accepted(conn: TcpConnection): void {
    this.parents.delete(conn);
    // What happened before accept() is the app's to see now.
    this.ready.add(conn);
  }

  private options(tuple: TcpFourTuple, iss: number, now: number): ConnectionOptions {
    return {
      tuple,
      iss,
      timestampOffset: this.isn.timestampOffset(tuple),
      config: this.config,
      link: this.link,
      random: this.ctx.random,
      now,
      notify: this.notify,
      challengeAck: this.challengeAck,
      drop: this.countDrop,
      memory: this.memory,
      timerEarlier: this.timerEarlier,
      closed: this.closed,
    };
  }

  // ---- receiving ----

  private receive4(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void {
    // RFC 1122 §4.2.3.10: TCP is unicast only; Linux (tcp_v4_rcv) drops anything not sent to this host's own link address.
    if (arrival.linkBroadcast || ip.dst.isBroadcast || ip.dst.isMulticast || arrival.iface.isBroadcast(ip.dst)) return this.ctx.stats.tcp.drop('not-unicast');
    this.segmentIn(ip.src, ip.dst, payload, arrival.checksumGood === true, now);
  }

  private receive6(ip: Ipv6Repr, payload: Uint8Array, arrival: Ipv6Arrival, now: number): void {
    if (ip.dst.isMulticast) return this.ctx.stats.tcp.drop('not-unicast');
    this.segmentIn(ip.src, ip.dst, payload, arrival.checksumGood === true, now);
  }

  /**
   * The segment being read: parsed into the same object every time, so a segment allocates no
   * view, repr or options. Nothing keeps it past segmentIn (what outlives it is copied).
   */
  private readonly rxSeg = new ReusableTcpRepr();
  private readonly rxPseudo = { src: Ipv4Address.UNSPECIFIED as IpAddress, dst: Ipv4Address.UNSPECIFIED as IpAddress };
  /** The connection of the last segment: the next one of the same flow finds it without a map key. */
  private lastConn: TcpConnection | undefined;

  /** `checksumGood`: the device vouched for the checksum (receive offload), so it is not summed again. */
  private segmentIn(src: IpAddress, dst: IpAddress, payload: Uint8Array, checksumGood: boolean, now: number): void {
    const stats = this.ctx.stats.tcp;
    const seg = this.rxSeg;
    const pseudo = this.rxPseudo;
    pseudo.src = src;
    pseudo.dst = dst;
    const bad = seg.parse(payload, pseudo as TcpPseudoHeader, !checksumGood);
    if (bad !== undefined) return stats.drop(bad);
    // Nobody can be answered at the unspecified address.
    if (src.isUnspecified) return stats.drop('bad-source');
    stats.rx++;
    // A live connection is the only one under its key (connect and adopt take a key only
    // when no live connection holds it), so the last one, still live and of this flow, is
    // what the map would give.
    let conn = this.lastConn;
    if (conn === undefined || conn.finished || !isFlowOf(conn.tuple, dst, seg.dstPort, src, seg.srcPort)) {
      conn = this.connections.get(tupleKey(dst, seg.dstPort, src, seg.srcPort));
    }
    // Only a live one is remembered, so no finished connection (and its buffers) is held.
    this.lastConn = undefined;
    if (conn && !conn.finished) {
      const reincarnation = this.reincarnation(conn, seg);
      const l = reincarnation === undefined ? undefined : this.listenerFor(dst, seg.dstPort);
      if (l === undefined) {
        conn.segment(seg, now);
        this.settle(conn);
        if (!conn.finished) this.lastConn = conn;
        return;
      }
      conn.abort(now);
      this.settle(conn);
      return this.toListener(l, src, dst, seg, now, reincarnation);
    }
    const l = this.listenerFor(dst, seg.dstPort);
    if (l) return this.toListener(l, src, dst, seg, now);
    stats.drop('no-connection');
    this.reset(src, dst, seg, now);
  }

  /** The listener on the address the segment came to, else the family's wildcard one (Linux: the most specific wins). */
  private listenerFor(dst: IpAddress, port: number): TcpListener | undefined {
    const family = familyOf(dst);
    return this.listeners.get(listenerKey(family, dst, port)) ?? this.listeners.get(listenerKey(family, undefined, port));
  }

  /**
   * RFC 6191 §2 / Linux (tcp_timewait_state_process, TCP_TW_SYN): a new SYN for a 4-tuple in
   * TIME-WAIT may open a new incarnation at once when its sequence number is beyond the old
   * connection's RCV.NXT (RFC 1122 §4.2.2.13), so no old duplicate can be taken for new data.
   * The new ISS is SND.NXT + 65535 + 2, as Linux picks it, above anything the old one sent.
   * (RFC 6191's timestamp rule needs TS.Recent, which the connection keeps to itself; without
   * it, such a SYN waits for TIME-WAIT to end as RFC 9293 says.) The ISS, or undefined.
   */
  private reincarnation(conn: TcpConnection, seg: TcpRepr): number | undefined {
    if (conn.state !== TcpState.TimeWait || (seg.flags & (TcpFlag.Syn | TcpFlag.Ack | TcpFlag.Rst)) !== TcpFlag.Syn) return undefined;
    const vars = conn.vars;
    if (!seqGt(seg.seq, vars.rcvNxt)) return undefined;
    return seqAdd(vars.sndNxt, 65537);
  }

  /** RFC 9293 §3.10.7.2: a segment for a listener, checked for RST, then ACK, then SYN. */
  private toListener(listener: TcpListener, src: IpAddress, dst: IpAddress, seg: TcpRepr, now: number, iss?: number): void {
    const stats = this.ctx.stats.tcp;
    const flags = seg.flags;
    if (flags & TcpFlag.Rst) return stats.drop('listen-rst');
    const tuple: TcpFourTuple = { local: { address: dst, port: seg.dstPort }, remote: { address: src, port: seg.srcPort } };
    if (flags & TcpFlag.Ack) {
      if (!(flags & TcpFlag.Syn) && listener.cookiesRecent(now)) return this.cookieAck(listener, tuple, seg, now);
      stats.drop('listen-ack');
      return this.reset(src, dst, seg, now);
    }
    if (!(flags & TcpFlag.Syn)) return stats.drop('listen-no-syn');
    // Linux (tcp_rcv_state_process, LISTEN): SYN with FIN is discarded.
    if (flags & TcpFlag.Fin) return stats.drop('syn-fin');
    if (listener.acceptQueueFull) {
      stats.listenOverflows++;
      return stats.drop('listen-overflow');
    }
    if (listener.synQueueFull) return this.sendCookie(listener, tuple, seg, now);
    const conn = TcpConnection.accept(this.options(tuple, iss ?? this.isn.next(tuple, now), now), seg);
    this.adopt(listener, conn, tuple);
  }

  private adopt(listener: TcpListener, conn: TcpConnection, tuple: TcpFourTuple): void {
    this.connections.set(tupleKey(tuple.local.address, tuple.local.port, tuple.remote.address, tuple.remote.port), conn);
    this.parents.set(conn, listener);
    if (listener.add(conn)) this.readyListeners.add(listener);
    this.ctx.stats.tcp.passiveOpens++;
    this.settle(conn);
  }

  /**
   * RFC 4987 §3.6: the backlog is full, so the SYN-ACK carries the connection's state in its
   * sequence number (and, with timestamps, the client's window scale and SACK-permitted in
   * TSval's low bits) and nothing is kept. Linux (tcp_conn_request) offers window scaling and
   * SACK in a cookie SYN-ACK only with timestamps, since only then do they come back.
   */
  private sendCookie(listener: TcpListener, tuple: TcpFourTuple, syn: TcpRepr, now: number): void {
    const stats = this.ctx.stats.tcp;
    const cfg = this.config;
    const { cookie } = this.cookies.make(tuple, syn.seq, syn.options.mss, now);
    const ts = cfg.timestamps ? syn.options.timestamp : undefined;
    const offered: TcpOptions = ts ? syn.options : { mss: syn.options.mss };
    // RFC 7323 §5.4: a random clock offset per connection; the connection made from the
    // cookie continues from the TSval its ACK echoes (TcpConnection.fromCookie).
    const tsval = cookieTimestamp(this.ctx.random.u32(), cfg.windowScaling ? syn.options.windowScale : undefined, cfg.sack && syn.options.sackPermitted === true);
    const repr = new TcpRepr({
      srcPort: tuple.local.port,
      dstPort: tuple.remote.port,
      seq: cookie,
      ack: (syn.seq + 1) >>> 0,
      flags: TcpFlag.Syn | TcpFlag.Ack,
      // RFC 7323 §2.2: the window of a SYN is never scaled.
      window: Math.min(cfg.receiveBufferSize, 0xffff),
      options: synAckOptions(cfg, announcedMss(this.maxPayload(tuple, now)), offered, tsval),
      payloadLen: 0,
    });
    if (this.transmit(tuple, { repr, writePayload: NO_PAYLOAD }, now) !== undefined) return;
    listener.cookieSent(now);
    stats.synCookiesSent++;
  }

  /** A bare ACK to a listener that recently sent cookies: the third step of a cookie handshake, or a RST. */
  private cookieAck(listener: TcpListener, tuple: TcpFourTuple, ack: TcpRepr, now: number): void {
    const stats = this.ctx.stats.tcp;
    const offer = this.cookies.check(tuple, ack, now, this.config.timestamps);
    if (isDrop(offer)) {
      stats.synCookiesFailed++;
      stats.drop(offer);
      return this.reset(tuple.remote.address, tuple.local.address, ack, now);
    }
    stats.synCookiesValidated++;
    if (listener.acceptQueueFull) {
      stats.listenOverflows++;
      return stats.drop('listen-overflow');
    }
    const iss = (ack.ack - 1) >>> 0;
    const conn = TcpConnection.fromCookie(this.options(tuple, iss, now), offer, ack);
    this.adopt(listener, conn, tuple);
  }

  /**
   * RFC 9293 §3.10.7.1: a segment for no connection is answered with a RST the sender will
   * accept: <SEQ=SEG.ACK><CTL=RST> when it carried an ACK, else
   * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Never for a RST.
   */
  private reset(src: IpAddress, dst: IpAddress, seg: TcpRepr, now: number): void {
    if (seg.flags & TcpFlag.Rst) return;
    const hasAck = (seg.flags & TcpFlag.Ack) !== 0;
    const segLen = seg.payloadLen + (seg.flags & TcpFlag.Syn ? 1 : 0) + (seg.flags & TcpFlag.Fin ? 1 : 0);
    const repr = new TcpRepr({
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seq: hasAck ? seg.ack : 0,
      ack: hasAck ? 0 : (seg.seq + segLen) >>> 0,
      flags: hasAck ? TcpFlag.Rst : TcpFlag.Rst | TcpFlag.Ack,
      window: 0,
      payloadLen: 0,
    });
    const tuple: TcpFourTuple = { local: { address: dst, port: seg.dstPort }, remote: { address: src, port: seg.srcPort } };
    if (this.transmit(tuple, { repr, writePayload: NO_PAYLOAD }, now) === undefined) this.ctx.stats.tcp.resetsSent++;
  }

  /**
   * After anything a connection did: a completed handshake moves to the accept queue; a
   * connection that failed in the SYN queue is dropped with its news (nobody will ever read
   * it); a finished one is forgotten.
   */
  private settle(conn: TcpConnection): void {
    const parent = this.parents.get(conn);
    if (parent?.promote(conn)) this.readyListeners.add(parent);
    if (parent && conn.state === TcpState.Closed && parent.forget(conn)) {
      this.parents.delete(conn);
      conn.takeNotice();
    }
    if (!conn.finished) return;
    const { local, remote } = conn.tuple;
    const key = tupleKey(local.address, local.port, remote.address, remote.port);
    if (this.connections.get(key) === conn) this.connections.delete(key);
    setDelete(this.activeByPort, portKey(familyOf(local.address), local.port), conn);
    this.timerQueue.release(conn);
  }

  // ---- ICMP errors ----

  private error4(report: Ipv4ErrorReport, now: number): void {
    const err = icmpErrorOf4(report);
    if (err?.kind === 'too-big' && err.mtu === 0) err.mtu = plateauBelow(report.original.bufferLen() + report.original.payloadLen);
    this.icmpError(report.original.src, report.original.dst, report.transport, err, now);
  }

  private error6(report: Ipv6ErrorReport, now: number): void {
    this.icmpError(report.src, report.dst, report.transport, icmpErrorOf6(report), now);
  }

  /**
   * RFC 5927 §4.1: an ICMP error is believed only when it quotes a segment of a connection
   * we have, with a sequence number in SND.UNA..SND.NXT (sent and not yet acknowledged):
   * a blind attacker must guess it before it can reset or slow a connection. RFC 792
   * guarantees the 8 bytes that hold the ports and the sequence number.
   */
  private icmpError(local: IpAddress, remote: IpAddress, transport: Uint8Array, err: TcpIcmpError | undefined, now: number): void {
    const stats = this.ctx.stats.tcp;
    if (!err) return;
    if (transport.length < 8) return stats.drop('icmp-short-quote');
    const localPort = (transport[0] << 8) | transport[1];
    const remotePort = (transport[2] << 8) | transport[3];
    const seq = ((transport[4] << 24) | (transport[5] << 16) | (transport[6] << 8) | transport[7]) >>> 0;
    const conn = this.connections.get(tupleKey(local, localPort, remote, remotePort));
    if (!conn || conn.finished) return stats.drop('icmp-no-connection');
    const { sndUna, sndNxt } = conn.vars;
    if (!seqInWindow(seq, sndUna, seqSub(sndNxt, sndUna))) return stats.drop('icmp-out-of-window');
    // RFC 1191 §6.3: the IPv4 path MTU is learned here (IPv6's was learned by ICMPv6, RFC 8201).
    if (err.kind === 'too-big' && remote instanceof Ipv4Address) this.pathMtus.lower(remote, err.mtu, now);
    conn.icmpError(err, now);
    this.settle(conn);
  }

  // ---- the link: segments out ----

  /** The segment being written into a frame; one writer serves every send, so a segment allocates only its frame. */
  private outSeg: TcpSegmentOut | undefined;
  private outHeaderLen = 0;
  private outLen = 0;
  private readonly pseudo4 = { src: Ipv4Address.UNSPECIFIED, dst: Ipv4Address.UNSPECIFIED };
  private readonly pseudo6 = { src: Ipv6Address.UNSPECIFIED, dst: Ipv6Address.UNSPECIFIED };
  private readonly send4: Ipv4Send = {
    dst: Ipv4Address.UNSPECIFIED,
    protocol: IpProtocol.Tcp,
    payloadLen: 0,
    writePayload: (buf, off, src) => {
      this.pseudo4.src = src;
      this.writeSegment(buf, off, this.pseudo4);
    },
  };
  private readonly send6: Ipv6Send = {
    dst: Ipv6Address.UNSPECIFIED,
    nextHeader: Ipv6NextHeader.Tcp,
    payloadLen: 0,
    writePayload: (buf, off, src) => {
      this.pseudo6.src = src;
      this.writeSegment(buf, off, this.pseudo6);
    },
  };

  /** Header, then the payload straight from the send buffer, then the checksum over both in place: no copy. */
  private writeSegment(buf: Uint8Array, off: number, pseudo: TcpPseudoHeader): void {
    const seg = this.outSeg!;
    seg.repr.emitHeader(buf, off);
    seg.writePayload(buf, off + this.outHeaderLen);
    seg.repr.fillChecksum(buf, off, this.outLen, pseudo);
  }

  private transmit(tuple: TcpFourTuple, seg: TcpSegmentOut, now: number): DropReason | undefined {
    const headerLen = seg.repr.headerLen();
    const len = headerLen + seg.repr.payloadLen;
    this.outSeg = seg;
    this.outHeaderLen = headerLen;
    this.outLen = len;
    const dst = tuple.remote.address;
    const src = tuple.local.address;
    let dropped: DropReason | undefined;
    if (dst instanceof Ipv4Address) {
      const req = this.send4;
      req.src = src as Ipv4Address;
      req.dst = dst;
      req.payloadLen = len;
      // RFC 1191 §3: DF on every segment, so the path tells us its MTU; Linux clears it
      // once a path claimed an MTU below the floor it accepts (a locked PMTU).
      req.dontFragment = !this.pathMtus.locked(dst, now);
      this.pseudo4.dst = dst;
      dropped = this.ipv4.send(req, now);
    } else {
      const req = this.send6;
      req.src = src as Ipv6Address;
      req.dst = dst;
      req.payloadLen = len;
      this.pseudo6.dst = dst;
      dropped = this.ipv6.send(req, now);
    }
    this.outSeg = undefined;
    if (dropped === undefined) this.ctx.stats.tcp.tx++;
    return dropped;
  }

  /** The largest IP payload toward the peer: the route's interface MTU, lowered by what the path told us. */
  private maxPayload(tuple: TcpFourTuple, now: number): number {
    const dst = tuple.remote.address;
    const src = tuple.local.address;
    if (dst instanceof Ipv4Address) {
      const iface = this.ipv4.interfaceFor(dst, src as Ipv4Address);
      if (isDrop(iface)) return IPV4_MIN_PATH - IPV4_HEADER;
      return Math.min(iface.mtu, this.pathMtus.get(dst, now) ?? Infinity, IPV4_MAX_PACKET) - IPV4_HEADER;
    }
    const iface = this.ipv6.interfaceFor(dst, src as Ipv6Address, now);
    if (isDrop(iface)) return IPV6_MIN_PATH - IPV6_HEADER;
    const mtu = Math.min(iface.mtu, iface.ipv6?.autoconf.mtu ?? Infinity, this.ipv6.destinations.pathMtu(dst, now) ?? Infinity);
    return Math.min(Math.max(IPV6_MIN_PATH, mtu) - IPV6_HEADER, IPV6_MAX_PAYLOAD);
  }

  /** RFC 5961 §7 with Linux's randomized budget (half to 1.5 times the limit each second), so the count leaks nothing. */
  private takeChallenge(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.challengeSecond) {
      const limit = this.config.challengeAckLimit;
      const half = (limit + 1) >> 1;
      this.challengeSecond = second;
      this.challengesLeft = limit > 0 ? uniformInt(this.ctx.random, half, limit + half - 1) : 0;
    }
    if (this.challengesLeft <= 0) return false;
    this.challengesLeft--;
    return true;
  }

  // ---- addresses and ports ----

  private isLocal(address: IpAddress): boolean {
    return address instanceof Ipv4Address ? this.ipv4.isLocal(address) : this.ipv6.isLocal(address);
  }

  private sourceFor(dst: IpAddress, src: IpAddress | undefined, now: number): IpAddress | undefined {
    const path = dst instanceof Ipv4Address ? this.ipv4.route(dst, src as Ipv4Address | undefined) : this.ipv6.route(dst, src as Ipv6Address | undefined, now);
    return isDrop(path) ? undefined : path.src;
  }

  /** A listener on `port` whose address overlaps `address` (either is the wildcard, or they are equal). */
  private listenerHolds(family: 4 | 6, address: IpAddress | undefined, port: number): boolean {
    for (const l of this.listenersByPort.get(portKey(family, port)) ?? []) if (overlaps(l.address, address)) return true;
    return false;
  }

  /**
   * Whether a listener may not take `port`, by Linux's rules (inet_csk_bind_conflict) for a
   * socket with SO_REUSEADDR, which Node sets on every server: connections left over from an
   * old listener (TIME-WAIT) do not block a new one, but another listener on an overlapping
   * address does (unless both set reusePort and the addresses differ), and so does a
   * connection this host opened from the port.
   */
  private portTaken(family: 4 | 6, address: IpAddress | undefined, port: number, reusePort = false): boolean {
    for (const l of this.listenersByPort.get(portKey(family, port)) ?? []) {
      if (!overlaps(l.address, address)) continue;
      const shared = reusePort && l.reusePort && (l.address === undefined) !== (address === undefined);
      if (!shared) return true;
    }
    // Linux (inet_csk_bind_conflict): a TIME-WAIT connection does not hold its port against
    // a bind with SO_REUSEADDR, which libuv sets on every TCP socket.
    for (const c of this.activeByPort.get(portKey(family, port)) ?? []) if (c.state !== TcpState.TimeWait && overlaps(c.tuple.local.address, address)) return true;
    return false;
  }

  /** Linux picks a random free port for listen on port 0. */
  private freeListenPort(family: 4 | 6): number | undefined {
    return this.probePorts(this.ctx.random.u32(), (port) => !this.portTaken(family, undefined, port)).port;
  }

  /**
   * RFC 6056 §3.3.3 Algorithm 3 (a keyed offset per destination plus a counter that moves on
   * with every port taken), with Linux's rule for what is free (__inet_hash_connect): a port
   * no listener holds, and that makes a 4-tuple no connection uses, so one port serves many
   * peers. Successive connections to one destination walk the range in turn instead of
   * landing at random on a port whose last connection the peer still holds in TIME-WAIT.
   */
  private ephemeralPort(family: 4 | 6, local: IpAddress, remote: IpAddress, remotePort: number, now: number): number | undefined {
    const offset = this.isn.portOffset(local, remote, remotePort);
    const { port, tried } = this.probePorts(this.nextEphemeral + offset, (p) => !this.listenerHolds(family, local, p) && !this.held(tupleKey(local, p, remote, remotePort), now, true));
    this.nextEphemeral = (this.nextEphemeral + tried) >>> 0;
    return port;
  }

  /**
   * Whether a live connection holds the 4-tuple for a connect(), one in TIME-WAIT that may
   * give it up aside (Linux tcp_twsk_unique, for a connection that used timestamps): a port
   * the app bound takes it at once; one the stack picks, as `timeWaitReuse` says and after
   * `timeWaitReuseDelayMs`.
   */
  private held(key: string, now: number, picked: boolean): boolean {
    const conn = this.connections.get(key);
    if (conn === undefined || conn.finished) return false;
    if (!picked) return !conn.timeWaitReusable(now, 0);
    const reuse = this.config.timeWaitReuse;
    if (reuse === 'off' || !conn.timeWaitReusable(now, this.config.timeWaitReuseDelayMs)) return true;
    const { local, remote } = conn.tuple;
    return reuse === 'loopback' && !local.address.isLoopback && !remote.address.isLoopback;
  }

  /**
   * Ends the TIME-WAIT connection under `key`, if any, for a new one on the same 4-tuple, and
   * gives that one's ISS: SND.NXT + 65535 + 2, as Linux picks it, above anything the old
   * incarnation sent.
   */
  private takeOverTimeWait(key: string, now: number): number | undefined {
    const old = this.connections.get(key);
    if (old === undefined || old.state !== TcpState.TimeWait) return undefined;
    const iss = seqAdd(old.vars.sndNxt, 65537);
    old.abort(now);
    this.settle(old);
    this.ctx.stats.tcp.timeWaitReused++;
    return iss;
  }

  /** The first port of the range `start` picks and each after it in turn, until one is free; how many it tried. */
  private probePorts(start: number, free: (port: number) => boolean): { port: number | undefined; tried: number } {
    const count = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
    for (let i = 0; i < count; i++) {
      const port = EPHEMERAL_MIN + ((start + i) % count);
      if (free(port)) return { port, tried: i + 1 };
    }
    return { port: undefined, tried: count };
  }
}

/**
 * A cheap map key for a connection: each field as fixed-width UTF-16 units (IPv4 2 units
 * per address, IPv6 8 via Ipv6Address.key, 1 per port), so keys of the two families differ
 * in length and never collide.
 */
function tupleKey(local: IpAddress, localPort: number, remote: IpAddress, remotePort: number): string {
  if (local instanceof Ipv4Address) {
    const r = (remote as Ipv4Address).value;
    return String.fromCharCode(local.value >>> 16, local.value & 0xffff, localPort, r >>> 16, r & 0xffff, remotePort);
  }
  return local.key + String.fromCharCode(localPort) + (remote as Ipv6Address).key + String.fromCharCode(remotePort);
}

/** Whether `tuple` is the flow of a segment that came from `remote` to `local`. */
function isFlowOf(tuple: TcpFourTuple, local: IpAddress, localPort: number, remote: IpAddress, remotePort: number): boolean {
  if (tuple.local.port !== localPort || tuple.remote.port !== remotePort) return false;
  const l = tuple.local.address;
  const r = tuple.remote.address;
  if (l instanceof Ipv4Address) return local instanceof Ipv4Address && l.value === local.value && (r as Ipv4Address).value === (remote as Ipv4Address).value;
  return local instanceof Ipv6Address && l.equals(local) && (r as Ipv6Address).equals(remote as Ipv6Address);
}

/** A listener's key: a tag for the family and wildcard, then the address and port. */
function listenerKey(family: 4 | 6, address: IpAddress | undefined, port: number): string {
  const p = String.fromCharCode(port);
  if (!address) return (family === 4 ? 'a' : 'b') + p;
  if (address instanceof Ipv4Address) return 'c' + String.fromCharCode(address.value >>> 16, address.value & 0xffff) + p;
  return 'd' + address.key + p;
}

function portKey(family: 4 | 6, port: number): number {
  return family * 0x10000 + port;
}

function setAdd<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function setDelete<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set?.delete(value) || set.size > 0) return;
  map.delete(key);
}

function overlaps(a: IpAddress | undefined, b: IpAddress | undefined): boolean {
  if (!a || !b) return true;
  return familyOf(a) === familyOf(b) && (a instanceof Ipv4Address ? a.equals(b as Ipv4Address) : a.equals(b as Ipv6Address));
}

function familyOf(address: IpAddress): 4 | 6 {
  return address instanceof Ipv4Address ? 4 : 6;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 0xffff;
}
