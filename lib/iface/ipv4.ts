import { Ipv4Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import { isDrop } from '../wire/drop';
import { DHCP4_CLIENT_PORT } from '../wire/dhcp4';
import { emitIgmp, igmpLen, parseIgmp, ROUTER_ALERT_OPTION, type IgmpMessage } from '../wire/igmp';
import { badOptionOffset, IpProtocol, Ipv4AddressReuse, IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr, ReusableIpv4Repr } from '../wire/ipv4';
import type { StackContext } from './context';
import type { Ipv4Binding, NetInterface } from './interface';
import { FrameSlab } from './frame-slab';
import { fragmentIpv4 } from './ipv4-fragment';
import { Ipv4Reassembler, type ExpiredDatagram, type ReassemblyConfig } from './ipv4-reassembly';
import { Ipv4RoutingTable, type Ipv4Route } from './routes';

/** What the IP layer knows about how a packet arrived. */
export interface Ipv4Arrival {
  iface: NetInterface;
  /** The whole IP packet as received (header and payload), for quoting in ICMP errors. */
  packet: Uint8Array;
  /** It came in a link-layer broadcast or multicast frame (RFC 1122 §3.2.2: no ICMP errors for those). */
  linkBroadcast: boolean;
  /** The device vouched for its transport checksum (Device.receivedChecksumGood): no need to check it again. */
  checksumGood?: boolean;
}

/** An ICMP error about a datagram this stack sent, or a local failure to send it. */
export interface Ipv4ErrorReport {
  kind: 'net-unreachable' | 'host-unreachable' | 'protocol-unreachable' | 'port-unreachable' | 'frag-needed' | 'prohibited' | 'unreachable' | 'time-exceeded' | 'param-problem';
  type: number;
  code: number;
  /** Next-hop MTU of a "fragmentation needed" (RFC 1191 §4), when given. */
  mtu?: number;
  /** Who reported it; undefined when the stack itself could not deliver (ARP failed). */
  reporter: Ipv4Address | undefined;
  /** The header of the datagram the error is about, as quoted. */
  original: Ipv4Repr;
  /** The quoted bytes after that header: at least the transport ports when the reporter sent them. */
  transport: Uint8Array;
}

/** A protocol above IPv4. */
export interface Ipv4Protocol {
  receive(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void;
  error?(report: Ipv4ErrorReport, now: number): void;
}

/** An IPv4 packet to send; the payload is written straight into the frame. */
export interface Ipv4Send {
  /** Source address; when given it must be a usable address of the stack, and the packet leaves from its interface (a reply leaves from the address the request came to). */
  src?: Ipv4Address;
  dst: Ipv4Address;
  protocol: number;
  ttl?: number;
  /** RFC 2474 Differentiated Services codepoint; 0 by default. */
  dscp?: number;
  dontFragment?: boolean;
  /** IP options as they go on the wire (RFC 791 §3.1), e.g. the Router Alert (RFC 2113). */
  options?: Uint8Array;
  payloadLen: number;
  /** Writes the payload at `offset`; `src` is the source chosen (UDP and TCP checksum it). */
  writePayload(buf: Uint8Array, offset: number, src: Ipv4Address): void;
  /**
   * Leave by this interface. With it, a source of 0.0.0.0 to the limited broadcast is
   * allowed: a host without an address yet (DHCP, RFC 1122 §3.2.1.3 (a)); so is one to a
   * multicast group (IGMP, RFC 3376 §4.2.13).
   */
  iface?: NetInterface;
  /**
   * A multicast also goes to this host's own listeners when the interface it leaves by is in
   * the group (Linux's IP_MULTICAST_LOOP, ip_mc_output; RFC 1112 §6.1).
   */
  multicastLoop?: boolean;
}

export interface Ipv4Path {
  iface: NetInterface;
  nextHop: Ipv4Address;
  src: Ipv4Address;
}

/**
 * The IPv4 layer of a host (RFC 791, RFC 1122 §3.2–3.3): validates received packets
 * and delivers them to the protocol above; routes, frames and sends outgoing ones.
 */
export class Ipv4Layer {
  readonly routes = new Ipv4RoutingTable();
  private readonly protocols = new Map<number, Ipv4Protocol>();
  private ident: number;
  private readonly reassembler: Ipv4Reassembler;
  /** Set by the stack: what to do with a packet for an unknown protocol. */
  onUnknownProtocol: ((ip: Ipv4Repr, arrival: Ipv4Arrival, now: number) => void) | undefined;
  /** Set by the stack: a datagram for us with a malformed option at `pointer` (RFC 792 Parameter Problem). */
  onParameterProblem: ((about: Ipv4Repr, pointer: number, arrival: Ipv4Arrival, now: number) => void) | undefined;
  /** Set by the stack: a datagram whose fragments did not all arrive in time (RFC 792 Time Exceeded, code 1). */
  onReassemblyTimeout: ((expired: ExpiredDatagram, now: number) => void) | undefined;

  constructor(private readonly interfaces: readonly NetInterface[], private readonly ctx: StackContext, reassembly?: Partial<ReassemblyConfig>) {
    // RFC 6864 allows any identification for atomic datagrams; start somewhere unguessable.
    this.ident = ctx.random.u32() & 0xffff;
    this.reassembler = new Ipv4Reassembler(ctx.stats.ipv4, reassembly);
    this.register(IpProtocol.Igmp, { receive: (ip, payload, arrival, now) => this.receiveIgmp(ip, payload, arrival, now) });
  }

  poll(now: number): void {
    for (const expired of this.reassembler.poll(now)) this.onReassemblyTimeout?.(expired, now);
  }

  pollAt(): number | undefined {
    return this.reassembler.pollAt();
  }

  /** Bytes held by incomplete datagrams (bounded by the reassembly cap). */
  get reassemblyBytes(): number {
    return this.reassembler.bytesHeld;
  }

  register(protocol: number, handler: Ipv4Protocol): void {
    this.protocols.set(protocol, handler);
  }

  /** An address became usable: its prefix is on-link from now on. */
  addressUp(iface: NetInterface, b: Ipv4Binding): void {
    this.routes.add({ destination: b.cidr, iface, origin: 'connected', src: b.cidr.address });
  }

  addressDown(iface: NetInterface, b: Ipv4Binding): void {
    this.routes.remove({ iface, origin: 'connected', src: b.cidr.address });
  }

  /** Whether `addr` is a usable address of this stack, on any interface. */
  isLocal(addr: Ipv4Address): boolean {
    return this.ownerOf(addr) !== undefined;
  }

  /** Whether `addr` is the limited broadcast or the directed broadcast of one of our subnets. */
  isBroadcast(addr: Ipv4Address): boolean {
    return this.interfaces.some((i) => i.isBroadcast(addr));
  }

  /** The interface called `name` (the device's name). */
  interfaceNamed(name: string): NetInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  /** Parse options for received packets: a flow's packets share their address objects. */
  private readonly parsing = { addresses: new Ipv4AddressReuse() };

  receive(iface: NetInterface, bytes: Uint8Array, now: number, linkBroadcast: boolean, checksumGood = false): void {
    const stats = this.ctx.stats.ipv4;
    const pkt = Ipv4Packet.checked(bytes);
    if (isDrop(pkt)) return stats.drop(pkt);
    const ip = Ipv4Repr.parse(pkt, this.parsing);
    if (isDrop(ip)) {
      stats.drop(ip);
      if (ip === 'bad-options') this.badOptions(iface, pkt, now, linkBroadcast);
      return;
    }
    // RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded, and
    // 127/8 must never appear on a wire.
    if (ip.src.isBroadcast || ip.src.isMulticast || iface.isBroadcast(ip.src)) return stats.drop('bad-source');
    if (!iface.isLoopback && (ip.src.isLoopback || ip.dst.isLoopback)) return stats.drop('martian-loopback');
    // Linux (ip_check_mc_rcv): IGMP to a group we are in passes whatever its source filter says.
    const filteredSrc = ip.protocol === IpProtocol.Igmp ? undefined : ip.src;
    const accepted = iface.isLoopback ? ip.dst.isLoopback || this.isLocal(ip.dst) || (ip.dst.isMulticast && iface.acceptsIpv4(ip.dst, filteredSrc)) : iface.acceptsIpv4(ip.dst, filteredSrc) || (iface.acceptsDhcpReplies && isDhcpReply(ip, pkt.payload));
    if (!accepted) return stats.drop('not-for-us');
    // Without link padding the packet is the buffer itself: no view of it.
    const packet = bytes.length === pkt.totalLength ? bytes : bytes.subarray(0, pkt.totalLength);
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      const whole = this.reassembler.add(ip, packet, pkt.payload, now);
      if (whole) this.deliver(whole.ip, whole.payload, { iface, packet: quoteOf(whole.ip, whole.payload), linkBroadcast }, now);
      return;
    }
    this.deliver(ip, pkt.payload, { iface, packet, linkBroadcast, checksumGood }, now);
  }

  /**
   * RFC 1122 §3.2.2.5: a host SHOULD send Parameter Problem for a datagram it discards
   * over a bad header field, pointing at the octet; only for datagrams meant for it.
   */
  private badOptions(iface: NetInterface, pkt: Ipv4Packet, now: number, linkBroadcast: boolean): void {
    if (!this.onParameterProblem || !pkt.checksumIsValid() || !iface.acceptsIpv4(pkt.dst)) return;
    const offset = badOptionOffset(pkt.options) ?? 0;
    const about = new Ipv4Repr({ src: pkt.src, dst: pkt.dst, protocol: pkt.protocol, payloadLen: pkt.totalLength - IPV4_HEADER_LEN, fragmentOffset: pkt.fragmentOffset, ttl: pkt.ttl });
    this.onParameterProblem(about, IPV4_HEADER_LEN + offset, { iface, packet: pkt.buffer.subarray(0, pkt.totalLength), linkBroadcast }, now);
  }

  private deliver(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void {
    this.ctx.stats.ipv4.rx++;
    const handler = this.protocols.get(ip.protocol);
    if (!handler) {
      this.ctx.stats.ipv4.drop('unknown-protocol');
      this.onUnknownProtocol?.(ip, arrival, now);
      return;
    }
    handler.receive(ip, payload, arrival, now);
  }

  /** Hands an error about one of our datagrams to the protocol that sent it. */
  deliverError(report: Ipv4ErrorReport, now: number): void {
    this.protocols.get(report.original.protocol)?.error?.(report, now);
  }

  /**
   * The interface, next hop and source for `dst`, or a reason there is none. Our own
   * addresses go through the loopback interface (Linux's local table); a given source
   * pins the interface it is bound to.
   */
  route(dst: Ipv4Address, src?: Ipv4Address): Ipv4Path | DropReason {
    const dropped = this.choosePath(dst, src);
    if (dropped !== undefined) return dropped;
    const { iface, nextHop, src: from } = this.chosen;
    return { iface, nextHop, src: from };
  }

  /** The interface a datagram to `dst` (from `src`) leaves by, as route() chooses it, without building a path. */
  interfaceFor(dst: Ipv4Address, src?: Ipv4Address): NetInterface | DropReason {
    return this.choosePath(dst, src) ?? this.chosen.iface;
  }

  /**
   * The path route() and send() take, written into `chosen` (no object per datagram); read
   * it at once, before anything else may route.
   */
  private readonly chosen: Ipv4Path = { iface: undefined as unknown as NetInterface, nextHop: Ipv4Address.UNSPECIFIED, src: Ipv4Address.UNSPECIFIED };

  private choose(iface: NetInterface, nextHop: Ipv4Address, src: Ipv4Address): undefined {
    const c = this.chosen;
    c.iface = iface;
    c.nextHop = nextHop;
    c.src = src;
    return undefined;
  }

  /** route(), into `chosen`. */
  private choosePath(dst: Ipv4Address, src: Ipv4Address | undefined): DropReason | undefined {
    const owner = src && this.ownerOf(src);
    if (src && !owner) return 'bad-source';
    const lo = this.loopbackInterface();
    if (lo && (dst.isLoopback || this.isLocal(dst))) {
      return this.choose(lo, dst, src ?? (dst.isLoopback ? lo.sourceFor(dst) ?? dst : dst));
    }
    if (dst.isBroadcast || dst.isMulticast) {
      // RFC 1122 §3.3.6: a limited broadcast leaves by the source's interface, else the first one up.
      const iface = owner ?? this.interfaces.find((i) => !i.isLoopback && i.sourceFor(dst) !== undefined);
      if (!iface) return 'no-route';
      return this.choose(iface, dst, src ?? iface.sourceFor(dst)!);
    }
    const route = this.routes.lookup(dst, owner ? this.leavingBy(owner) : undefined);
    if (!route) return 'no-route';
    const nextHop = route.gateway ?? dst;
    const chosen = src ?? (route.src && route.iface.usableBinding(route.src) ? route.src : route.iface.sourceFor(nextHop));
    if (!chosen) return 'no-route';
    return this.choose(route.iface, nextHop, chosen);
  }

  /** The path out of a given interface, into `chosen`: on-link, or through a route of that interface. */
  private choosePathVia(iface: NetInterface, dst: Ipv4Address, src?: Ipv4Address): DropReason | undefined {
    if (src?.isUnspecified) {
      return dst.isBroadcast || dst.isMulticast ? this.choose(iface, dst, src) : 'bad-source';
    }
    if (src && !iface.usableBinding(src)) return 'bad-source';
    if (dst.isBroadcast || dst.isMulticast || iface.isBroadcast(dst)) {
      const chosen = src ?? iface.sourceFor(dst);
      return chosen ? this.choose(iface, dst, chosen) : 'no-route';
    }
    const route = this.routes.lookup(dst, this.leavingBy(iface));
    if (!route) return 'no-route';
    const nextHop = route.gateway ?? dst;
    const chosen = src ?? iface.sourceFor(nextHop);
    return chosen ? this.choose(iface, nextHop, chosen) : 'no-route';
  }

  private loopbackInterface(): NetInterface | undefined {
    for (const iface of this.interfaces) if (iface.isLoopback) return iface;
    return undefined;
  }

  /** Route filters for "leaves by this interface", one per interface, made once. */
  private readonly leavingFilters = new Map<NetInterface, (route: Ipv4Route) => boolean>();

  private leavingBy(iface: NetInterface): (route: Ipv4Route) => boolean {
    let filter = this.leavingFilters.get(iface);
    if (!filter) {
      filter = (r) => r.iface === iface;
      this.leavingFilters.set(iface, filter);
    }
    return filter;
  }

  /** The header of the datagram being sent, rewritten for each one. */
  private readonly header = new ReusableIpv4Repr();
  /** Where frames are built: a backing store per frame was a tenth of bulk sending (frame-slab.ts). */
  private readonly frames = new FrameSlab();

  /** Builds the whole frame in one allocation and sends it; a DropReason when it cannot. */
  send(req: Ipv4Send, now: number): DropReason | undefined {
    const stats = this.ctx.stats.ipv4;
    const dropped = req.iface ? this.choosePathVia(req.iface, req.dst, req.src) : this.choosePath(req.dst, req.src);
    if (dropped !== undefined) {
      stats.drop(dropped);
      return dropped;
    }
    const { iface, nextHop, src } = this.chosen;
    const ip = this.header;
    ip.src = src;
    ip.dst = req.dst;
    ip.protocol = req.protocol;
    ip.payloadLen = req.payloadLen;
    ip.ttl = req.ttl ?? 64;
    ip.dscp = req.dscp ?? 0;
    ip.dontFragment = req.dontFragment ?? true;
    ip.ident = this.nextIdent();
    ip.options = req.options ?? NO_IP_OPTIONS;
    ip.check();
    // Out through loopback, the packet itself comes back: no second copy.
    const loop = req.multicastLoop === true && req.dst.isMulticast && !iface.isLoopback && iface.acceptsIpv4(req.dst, src);
    const headerLen = ip.bufferLen();
    const offset = iface.linkHeaderLen;
    stats.tx++;
    if (headerLen + req.payloadLen <= iface.mtu) {
      const frame = this.frames.alloc(offset + headerLen + req.payloadLen);
      ip.emit(frame, offset);
      req.writePayload(frame, offset + headerLen, src);
      iface.transmitIpv4(frame, nextHop, now);
      if (loop) this.loopBack(iface, frame.slice(offset), now);
      return undefined;
    }
    // RFC 791 §2.3: a datagram marked don't-fragment that does not fit is not sent (the socket hears EMSGSIZE).
    if (ip.dontFragment) {
      stats.tx--;
      stats.drop('too-big');
      return 'too-big';
    }
    const payload = new Uint8Array(req.payloadLen);
    req.writePayload(payload, 0, src);
    const frames = fragmentIpv4(ip, payload, iface.mtu, offset);
    // The looped copy is built before anything is transmitted: the header is reused by any send that follows.
    let whole: Uint8Array | undefined;
    if (loop) {
      whole = new Uint8Array(headerLen + req.payloadLen);
      ip.emit(whole, 0);
      whole.set(payload, headerLen);
    }
    for (const frame of frames) iface.transmitIpv4(frame, nextHop, now);
    if (whole) this.loopBack(iface, whole, now);
    return undefined;
  }

  /**
   * Linux's ip_mc_output: the looped copy of a multicast, whole (before fragmentation), comes
   * in through the normal receive path of the interface it left by. Receiving a multicast
   * never sends one, so this cannot recurse.
   */
  private loopBack(iface: NetInterface, packet: Uint8Array, now: number): void {
    this.receive(iface, packet, now, true);
  }

  /**
   * RFC 3376 §4: IGMP messages carry TTL 1 and the Router Alert; §4.2.13: from 0.0.0.0 while
   * the interface has no address. Linux marks them Internetwork Control (TOS 0xc0, DSCP CS6).
   */
  sendIgmp(iface: NetInterface, message: IgmpMessage, dst: Ipv4Address, now: number): void {
    const src = iface.sourceFor(dst) ?? Ipv4Address.UNSPECIFIED;
    const dropped = this.send(
      {
        src,
        dst,
        iface,
        protocol: IpProtocol.Igmp,
        ttl: 1,
        dscp: DSCP_CS6,
        options: ROUTER_ALERT_OPTION,
        payloadLen: igmpLen(message),
        writePayload: (buf, off) => emitIgmp(message, buf, off),
      },
      now,
    );
    if (dropped === undefined) this.ctx.stats.igmp.tx++;
  }

  /** IGMP (protocol 2) for the interface's host machinery; malformed messages are counted in stats.igmp and dropped. */
  private receiveIgmp(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void {
    const stats = this.ctx.stats.igmp;
    const host = arrival.iface.igmp;
    if (!host) return stats.drop('no-igmp');
    const message = parseIgmp(payload);
    if (isDrop(message)) return stats.drop(message);
    const dropped = host.receive(message, ip.dst, now);
    if (dropped) return stats.drop(dropped);
    stats.rx++;
  }

  /** The interface holding `addr` as a usable address; all of 127/8 belongs to loopback (RFC 1122 §3.2.1.3). */
  ownerOf(addr: Ipv4Address): NetInterface | undefined {
    for (const iface of this.interfaces) {
      if (iface.usableBinding(addr) || (iface.isLoopback && addr.isLoopback)) return iface;
    }
    return undefined;
  }

  private nextIdent(): number {
    this.ident = (this.ident + 1) & 0xffff;
    return this.ident;
  }
}

const NO_IP_OPTIONS = new Uint8Array(0);

/** RFC 2474 Class Selector 6 (the old precedence "internetwork control"). */
const DSCP_CS6 = 48;

/** RFC 1812 §4.3.2.3: an ICMP error quotes at most 576 - 20 - 8 bytes of a datagram. */
const MAX_QUOTE = 548;

/** The first bytes of a reassembled datagram (header and payload), enough to quote in an error. */
function quoteOf(ip: Ipv4Repr, payload: Uint8Array): Uint8Array {
  const headerLen = ip.bufferLen();
  const quote = new Uint8Array(Math.min(MAX_QUOTE, headerLen + payload.length));
  ip.emit(quote, 0);
  quote.set(payload.subarray(0, quote.length - headerLen), headerLen);
  return quote;
}

/** A UDP datagram to the DHCP client port (RFC 2131 §4.1), read without trusting more than its length. */
function isDhcpReply(ip: Ipv4Repr, payload: Uint8Array): boolean {
  return ip.protocol === IpProtocol.Udp && payload.length >= 4 && ((payload[2] << 8) | payload[3]) === DHCP4_CLIENT_PORT;
}
