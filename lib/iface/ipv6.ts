import { Ipv6Address, type MacAddress } from '../wire/address';
import { isDrop, type DropReason } from '../wire/drop';
import { Ipv6AddressReuse, Ipv6NextHeader, Ipv6Packet, Ipv6Repr, IPV6_HEADER_LEN, ReusableIpv6Repr } from '../wire/ipv6';
import { hopByHopRouterAlert, isAtomic, isChainError, unknownNextHeaderError, walkIpv6Chain, type Ipv6Chain } from '../wire/ipv6-ext';
import type { StackContext } from './context';
import { FrameSlab } from './frame-slab';
import type { NetInterface } from './interface';
import { fragmentIpv6 } from './ipv6-fragment';
import { Ipv6DestinationCache } from './ipv6-destinations';
import { Ipv6RoutingTable, type Ipv6Route } from './ipv6-routes';
import { Ipv6Reassembler, type ExpiredIpv6Datagram } from './ipv6-reassembly';

export interface Ipv6Arrival {
  iface: NetInterface;
  /** The whole IPv6 packet as received, for quoting in ICMPv6 errors. */
  packet: Uint8Array;
  chain: Ipv6Chain;
  /** The device vouched for its transport checksum (Device.receivedChecksumGood): no need to check it again. */
  checksumGood?: boolean;
}

/** An ICMPv6 error about a packet this stack sent (RFC 4443 §2.4 (d): to the protocol that sent it). */
export interface Ipv6ErrorReport {
  kind: string;
  type: number;
  code: number;
  /** The MTU of a Packet Too Big. */
  mtu?: number;
  /** Who reported it; undefined when the stack itself could not deliver (Neighbor Discovery failed). */
  reporter: Ipv6Address | undefined;
  /** Our packet's source and destination, as quoted. */
  src: Ipv6Address;
  dst: Ipv6Address;
  upperProtocol: number;
  /** The quoted bytes of the upper-layer header onwards (ports first for UDP/TCP). */
  transport: Uint8Array;
}

export interface Ipv6Protocol {
  receive(ip: Ipv6Repr, payload: Uint8Array, arrival: Ipv6Arrival, now: number): void;
  error?(report: Ipv6ErrorReport, now: number): void;
}

export interface Ipv6Send {
  src?: Ipv6Address;
  dst: Ipv6Address;
  nextHeader: number;
  hopLimit?: number;
  payloadLen: number;
  writePayload(buf: Uint8Array, offset: number, src: Ipv6Address): void;
  /** Leave by this interface (link-local and multicast destinations need one). */
  iface?: NetInterface;
  /** Send to this MAC without Neighbor Discovery (ND's own messages). */
  dstMac?: MacAddress;
  /** Put a Hop-by-Hop Router Alert (RFC 2711) in front: MLD. */
  routerAlert?: boolean;
  /**
   * A multicast also goes to this host's own listeners when the interface it leaves by is in
   * the group (Linux's IPV6_MULTICAST_LOOP, ip6_finish_output2; RFC 3493 §5.2).
   */
  multicastLoop?: boolean;
}

export interface Ipv6Path {
  iface: NetInterface;
  nextHop: Ipv6Address;
  src: Ipv6Address;
}

/** Where a received packet went wrong in a way the sender should hear about (RFC 4443 §3.4). */
export type Ipv6ProblemReporter = (code: number, pointer: number, ip: Ipv6Repr, arrival: { iface: NetInterface; packet: Uint8Array }, now: number) => void;

/**
 * The IPv6 layer of a host (RFC 8200): validates received packets, walks their
 * extension headers with the option action rules, reassembles fragments and hands the
 * upper-layer payload to ICMPv6 (and later UDP/TCP); routes, frames and fragments sent
 * packets. Routing is on-link (link-local, static prefixes, RA prefixes) or through the
 * default router Router Advertisements chose.
 */
export class Ipv6Layer {
  private readonly protocols = new Map<number, Ipv6Protocol>();
  private readonly reassembler: Ipv6Reassembler;
  /** Path MTUs (RFC 8201) and redirects (RFC 4861 §8) learned per destination. */
  readonly destinations = new Ipv6DestinationCache();
  /** Static routes, consulted after on-link prefixes and before the default router. */
  readonly routes = new Ipv6RoutingTable();
  private ident: number;
  onParameterProblem: Ipv6ProblemReporter | undefined;
  onReassemblyTimeout: ((expired: ExpiredIpv6Datagram, now: number) => void) | undefined;

  constructor(private readonly interfaces: readonly NetInterface[], private readonly ctx: StackContext) {
    this.reassembler = new Ipv6Reassembler(ctx.stats.ipv6);
    this.ident = ctx.random.u32();
  }

  register(nextHeader: number, handler: Ipv6Protocol): void {
    this.protocols.set(nextHeader, handler);
  }

  /** Hands an error about one of our packets to the protocol that sent it. */
  deliverError(report: Ipv6ErrorReport, now: number): void {
    this.protocols.get(report.upperProtocol)?.error?.(report, now);
  }

  /** Whether `addr` is a usable address of this stack. */
  isLocal(addr: Ipv6Address): boolean {
    return addr.isLoopback || this.interfaces.some((i) => i.ipv6?.usableBinding(addr));
  }

  poll(now: number): void {
    for (const e of this.reassembler.poll(now)) this.onReassemblyTimeout?.(e, now);
  }

  pollAt(): number | undefined {
    return this.reassembler.pollAt();
  }

  /** A flow's received packets share their address objects. */
  private readonly addresses = new Ipv6AddressReuse();

  receive(iface: NetInterface, bytes: Uint8Array, now: number, checksumGood = false): void {
    const stats = this.ctx.stats.ipv6;
    const pkt = Ipv6Packet.checked(bytes);
    if (isDrop(pkt)) return stats.drop(pkt);
    const ip = Ipv6Repr.parse(pkt, this.addresses);
    if (isDrop(ip)) return stats.drop(ip);
    // RFC 4291 §2.7: a multicast address is never a source.
    if (ip.src.isMulticast) return stats.drop('bad-source');
    if (!iface.isLoopback && (ip.src.isLoopback || ip.dst.isLoopback)) return stats.drop('martian-loopback');
    if (!this.accepts(iface, ip.dst)) return stats.drop('not-for-us');
    const length = IPV6_HEADER_LEN + pkt.payloadLength;
    // Without link padding the packet is the buffer itself: no view of it.
    const packet = bytes.length === length ? bytes : bytes.subarray(0, length);
    let payload = pkt.payload;
    let chain = walkIpv6Chain(ip.nextHeader, payload);
    let whole = ip;
    if (isChainError(chain)) {
      stats.drop(chain.reason);
      if (chain.icmp && !(chain.icmpOnlyIfUnicast && ip.dst.isMulticast)) this.onParameterProblem?.(chain.icmp.code, chain.icmp.pointer, ip, { iface, packet }, now);
      return;
    }
    if (chain.fragment && !isAtomic(chain.fragment)) {
      const f = chain.fragment;
      const done = this.reassembler.add(ip, packet, f, payload.subarray(chain.upperOffset), payload.subarray(0, f.headerOffset), now);
      if (!done) return;
      if ('error' in done) {
        stats.drop(done.error);
        if (!ip.dst.isMulticast) this.onParameterProblem?.(done.icmp.code, done.icmp.pointer, ip, { iface, packet }, now);
        return;
      }
      whole = done.ip;
      payload = done.payload;
      chain = walkIpv6Chain(whole.nextHeader, payload);
      if (isChainError(chain)) return stats.drop(chain.reason);
    }
    stats.rx++;
    const handler = this.protocols.get(chain.upperProtocol);
    if (!handler) {
      if (chain.upperProtocol === Ipv6NextHeader.NoNextHeader) return;
      stats.drop('unknown-next-header');
      const err = unknownNextHeaderError(chain);
      if (err.icmp && !ip.dst.isMulticast) this.onParameterProblem?.(err.icmp.code, err.icmp.pointer, ip, { iface, packet }, now);
      return;
    }
    // A reassembled packet is new bytes the device never saw: its checksum is checked.
    handler.receive(whole, payload.subarray(chain.upperOffset), { iface, packet, chain, checksumGood: checksumGood && whole === ip }, now);
  }

  /** The interface, next hop and source for `dst`, or why there is none. */
  route(dst: Ipv6Address, src: Ipv6Address | undefined, now: number, via?: NetInterface): Ipv6Path | DropReason {
    const dropped = this.choosePath(dst, src, now, via);
    if (dropped !== undefined) return dropped;
    const { iface, nextHop, src: from } = this.chosen;
    return { iface, nextHop, src: from };
  }

  /** The interface a packet to `dst` (from `src`) leaves by, as route() chooses it, without building a path. */
  interfaceFor(dst: Ipv6Address, src: Ipv6Address | undefined, now: number): NetInterface | DropReason {
    return this.choosePath(dst, src, now, undefined) ?? this.chosen.iface;
  }

  /**
   * The path route() and send() take, written into `chosen` (no object per packet); read it
   * at once, before anything else may route.
   */
  private readonly chosen: Ipv6Path = { iface: undefined as unknown as NetInterface, nextHop: Ipv6Address.UNSPECIFIED, src: Ipv6Address.UNSPECIFIED };

  private choose(iface: NetInterface, nextHop: Ipv6Address, src: Ipv6Address): undefined {
    const c = this.chosen;
    c.iface = iface;
    c.nextHop = nextHop;
    c.src = src;
    return undefined;
  }

  /** route(), into `chosen`. The candidates are `via` alone, else every interface with IPv6. */
  private choosePath(dst: Ipv6Address, src: Ipv6Address | undefined, now: number, via: NetInterface | undefined): DropReason | undefined {
    const interfaces = this.interfaces;
    let lo: NetInterface | undefined;
    for (const i of interfaces) {
      if (i.isLoopback) {
        lo = i;
        break;
      }
    }
    if (lo && (dst.isLoopback || this.isLocal(dst))) return this.choose(lo, dst, src ?? dst);
    const count = via ? 1 : interfaces.length;
    if (dst.isMulticast || dst.isLinkLocal) {
      let iface: NetInterface | undefined;
      for (let k = 0; k < count && !iface; k++) if ((via ?? interfaces[k]).ipv6) iface = via ?? interfaces[k];
      const chosen = src ?? iface?.ipv6?.sourceFor(dst, now);
      if (!iface || !chosen) return 'no-route';
      return this.choose(iface, dst, chosen);
    }
    for (let k = 0; k < count; k++) {
      const iface = via ?? interfaces[k];
      const host = iface.ipv6;
      if (!host || (src && !host.usableBinding(src))) continue;
      if (host.isOnLink(dst)) {
        const chosen = src ?? host.sourceFor(dst, now);
        if (chosen) return this.choose(iface, dst, chosen);
      }
    }
    this.filterVia = via;
    this.filterSrc = src;
    const route = this.routes.lookup(dst, this.routeFilter);
    this.filterVia = undefined;
    this.filterSrc = undefined;
    if (route) {
      const chosen = src ?? route.iface.ipv6?.sourceFor(dst, now);
      if (chosen) return this.choose(route.iface, route.gateway ?? dst, chosen);
    }
    // RFC 4861 §8.3: a Redirect names a better first hop for this destination.
    const redirected = this.destinations.redirect(dst, now);
    if (redirected && (!via || via === redirected.iface)) {
      const chosen = src ?? redirected.iface.ipv6?.sourceFor(dst, now);
      if (chosen) return this.choose(redirected.iface, redirected.nextHop, chosen);
    }
    for (let k = 0; k < count; k++) {
      const iface = via ?? interfaces[k];
      const host = iface.ipv6;
      if (!host || (src && !host.usableBinding(src))) continue;
      // RFC 4861 §6.3.6: a router known to be reachable first.
      const router = host.autoconf.selectRouter(this.reachableVia(iface));
      const chosen = src ?? host.sourceFor(dst, now);
      if (router && chosen) return this.choose(iface, router, chosen);
    }
    return 'no-route';
  }

  /** What routeFilter accepts for the lookup in progress: routes out of `filterVia`, from an interface holding `filterSrc`. */
  private filterVia: NetInterface | undefined;
  private filterSrc: Ipv6Address | undefined;
  private readonly routeFilter = (r: Ipv6Route): boolean => {
    const via = this.filterVia;
    const src = this.filterSrc;
    return (!via || r.iface === via) && (!src || r.iface.ipv6?.usableBinding(src) !== undefined);
  };

  /** "ND holds this router as reachable" for each interface, made once. */
  private readonly reachableFilters = new Map<NetInterface, (router: Ipv6Address) => boolean>();

  private reachableVia(iface: NetInterface): (router: Ipv6Address) => boolean {
    let filter = this.reachableFilters.get(iface);
    if (!filter) {
      const host = iface.ipv6!;
      filter = (r) => host.isReachable(r);
      this.reachableFilters.set(iface, filter);
    }
    return filter;
  }

  /** The header of the packet being sent, rewritten for each one. */
  private readonly header = new ReusableIpv6Repr();
  /** Where frames are built: a backing store per frame was a tenth of bulk sending (frame-slab.ts). */
  private readonly frames = new FrameSlab();

  send(req: Ipv6Send, now: number): DropReason | undefined {
    const stats = this.ctx.stats.ipv6;
    const dropped = req.src?.isUnspecified && req.iface ? this.choose(req.iface, req.dst, req.src) : this.choosePath(req.dst, req.src, now, req.iface);
    if (dropped !== undefined) {
      stats.drop(dropped);
      return dropped;
    }
    const { iface, nextHop, src } = this.chosen;
    const hbh = req.routerAlert ? hopByHopRouterAlert(req.nextHeader, 0) : undefined;
    const extLen = hbh?.length ?? 0;
    const ip = this.header;
    ip.src = src;
    ip.dst = req.dst;
    ip.nextHeader = hbh ? Ipv6NextHeader.HopByHop : req.nextHeader;
    ip.payloadLen = extLen + req.payloadLen;
    ip.hopLimit = req.hopLimit ?? 64;
    ip.check();
    const offset = iface.linkHeaderLen;
    const loop = req.multicastLoop === true && req.dst.isMulticast && iface.ipv6?.isMember(req.dst) === true;
    // The link MTU, lowered by a Router Advertisement's MTU option (RFC 4861 §6.3.4) and by Packet Too Big (RFC 8201).
    const mtu = Math.min(iface.mtu, iface.ipv6?.autoconf.mtu ?? Infinity, this.destinations.pathMtu(req.dst, now) ?? Infinity);
    stats.tx++;
    if (IPV6_HEADER_LEN + extLen + req.payloadLen <= mtu) {
      const frame = this.frames.alloc(offset + IPV6_HEADER_LEN + extLen + req.payloadLen);
      ip.emit(frame, offset);
      if (hbh) frame.set(hbh, offset + IPV6_HEADER_LEN);
      req.writePayload(frame, offset + IPV6_HEADER_LEN + extLen, src);
      iface.transmitIpv6(frame, nextHop, now, req.dstMac);
      if (loop) this.receive(iface, frame.slice(offset), now);
      return undefined;
    }
    // RFC 8200 §5: the source fragments what does not fit the path MTU (at least 1280).
    const data = new Uint8Array(req.payloadLen);
    req.writePayload(data, 0, src);
    this.ident = (this.ident + 1) >>> 0;
    const frames = fragmentIpv6(ip, hbh ?? new Uint8Array(0), data, req.nextHeader, Math.max(1280, mtu), offset, this.ident);
    // The looped copy is whole, as Linux loops before fragmenting; receiving a multicast never
    // sends one. Built before anything is transmitted: Neighbor Discovery may send (and reuse
    // the header) from within transmitIpv6.
    let whole: Uint8Array | undefined;
    if (loop) {
      whole = new Uint8Array(IPV6_HEADER_LEN + extLen + req.payloadLen);
      ip.emit(whole, 0);
      if (hbh) whole.set(hbh, IPV6_HEADER_LEN);
      whole.set(data, IPV6_HEADER_LEN + extLen);
    }
    for (const f of frames) iface.transmitIpv6(f, nextHop, now, req.dstMac);
    if (whole) this.receive(iface, whole, now);
    return undefined;
  }

  private accepts(iface: NetInterface, dst: Ipv6Address): boolean {
    if (iface.isLoopback) return dst.isLoopback || this.isLocal(dst);
    const host = iface.ipv6;
    if (!host) return false;
    // Tentative addresses too: Neighbor Discovery and DAD must see packets to them; ICMPv6 sorts them out.
    return dst.isMulticast ? host.isMember(dst) : host.holds(dst);
  }
}
