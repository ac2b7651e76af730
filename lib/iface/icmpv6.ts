import type { Ipv6Address } from '../wire/address';
import { isDrop, type DropReason } from '../wire/drop';
import { Icmpv6Packet, Icmpv6Repr, Icmpv6Type } from '../wire/icmpv6';
import { IPV6_HEADER_LEN, Ipv6NextHeader, Ipv6Packet, type Ipv6Repr } from '../wire/ipv6';
import { isChainError, walkIpv6Chain } from '../wire/ipv6-ext';
import { parseMldQuery } from '../wire/mld';
import { parseNdp, type NdpMessage } from '../wire/ndp';
import type { StackContext } from './context';
import type { NetInterface } from './interface';
import type { Ipv6Arrival, Ipv6ErrorReport, Ipv6Layer } from './ipv6';
import { TokenBucket } from './token-bucket';

const ERROR_KINDS: Record<number, string> = { 1: 'unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 4: 'param-problem' };

const ND_TYPES = new Set<number>([Icmpv6Type.RouterSolicit, Icmpv6Type.RouterAdvert, Icmpv6Type.NeighborSolicit, Icmpv6Type.NeighborAdvert, Icmpv6Type.Redirect]);

/**
 * ICMPv6 for a host (RFC 4443): echo, errors sent with the §2.4 (e) exceptions and a
 * rate limit, and the carrier of Neighbor Discovery (RFC 4861: hop limit 255 checked
 * here) and MLD queries (RFC 3810: link-local source, hop limit 1) for the interface.
 */
export class Icmpv6 {
  private readonly errorBudget = new TokenBucket(1000, 50);

  constructor(private readonly ipv6: Ipv6Layer, private readonly ctx: StackContext) {
    ipv6.register(Ipv6NextHeader.Icmpv6, {
      receive: (ip, payload, arrival, now) => this.receive(ip, payload, arrival, now),
      error: (report) => this.errorAboutOurs(report),
    });
    ipv6.onParameterProblem = (code, pointer, ip, arrival, now) =>
      this.sendErrorAbout(Icmpv6Repr.paramProblem(code, pointer, arrival.packet), ip, arrival.iface, now);
    ipv6.onReassemblyTimeout = (expired, now) => {
      if (!expired.firstFragment) return;
      const pkt = Ipv6Packet.quoted(expired.firstFragment);
      if (isDrop(pkt)) return;
      const iface = this.ipv6.route(expired.src, undefined, now);
      if (isDrop(iface)) return;
      // RFC 8200 §4.5: Time Exceeded code 1 when fragment 0 came but not the rest.
      this.sendErrorTo(Icmpv6Repr.timeExceeded(1, expired.firstFragment), expired.src, expired.dst, iface.iface, now);
    };
  }

  /** Sends an echo request; the reply arrives as an 'echo-reply' event. */
  ping(req: { dst: Ipv6Address; ident: number; seq: number; data?: Uint8Array; src?: Ipv6Address; iface?: NetInterface }, now: number): DropReason | undefined {
    const icmp = Icmpv6Repr.echoRequest(req.ident, req.seq, req.data ?? new Uint8Array(56));
    const dropped = this.send(icmp, req.dst, now, { src: req.src, iface: req.iface });
    if (dropped === undefined) this.ctx.stats.icmpv6.tx++;
    return dropped;
  }

  /** Sends an ICMPv6 message; the checksum is computed once the source is chosen. */
  send(icmp: Icmpv6Repr, dst: Ipv6Address, now: number, opts: { src?: Ipv6Address; iface?: NetInterface; hopLimit?: number; routerAlert?: boolean; dstMac?: import('../wire/address').MacAddress } = {}): DropReason | undefined {
    return this.ipv6.send(
      {
        src: opts.src,
        dst,
        iface: opts.iface,
        hopLimit: opts.hopLimit,
        routerAlert: opts.routerAlert,
        dstMac: opts.dstMac,
        nextHeader: Ipv6NextHeader.Icmpv6,
        payloadLen: icmp.bufferLen(),
        writePayload: (buf, off, src) => icmp.emit(buf, off, src, dst),
      },
      now,
    );
  }

  private receive(ip: Ipv6Repr, payload: Uint8Array, arrival: Ipv6Arrival, now: number): void {
    const stats = this.ctx.stats.icmpv6;
    const pkt = Icmpv6Packet.checked(payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const icmp = Icmpv6Repr.parse(pkt, ip.src, ip.dst);
    if (isDrop(icmp)) return stats.drop(icmp);
    stats.rx++;
    const host = arrival.iface.ipv6;
    if (ND_TYPES.has(icmp.type)) {
      // RFC 4861 §6.1, §7.1: ND messages come with hop limit 255, so from this link.
      if (ip.hopLimit !== 255) return stats.drop('nd-hop-limit');
      const msg = parseNdp(icmp);
      if (isDrop(msg)) return stats.drop(msg);
      if (msg.type === 'redirect') return this.receiveRedirect(msg, ip, arrival.iface, now);
      return host?.receiveNdp(msg, ip.src, ip.dst, now);
    }
    if (icmp.type === Icmpv6Type.MldQuery) {
      // RFC 3810 §5.1.14: queries from a link-local source with hop limit 1.
      if (!ip.src.isLinkLocal || ip.hopLimit !== 1) return stats.drop('bad-mld-query');
      const q = parseMldQuery(icmp);
      if (isDrop(q)) return stats.drop(q);
      return host?.onMldQuery(q, now);
    }
    // Everything else needs a usable destination (not a tentative address, RFC 4862 §5.4).
    if (!ip.dst.isMulticast && !this.ipv6.isLocal(ip.dst)) return stats.drop('tentative-destination');
    switch (icmp.type) {
      case Icmpv6Type.EchoRequest: {
        // RFC 4443 §4.2: reply from the unicast address pinged, or a chosen one for a multicast ping.
        const reply = Icmpv6Repr.echoReply(icmp.ident, icmp.seqNo, icmp.payload);
        const dropped = this.send(reply, ip.src, now, { src: ip.dst.isMulticast ? undefined : ip.dst, iface: ip.src.isLinkLocal ? arrival.iface : undefined });
        if (dropped === undefined) stats.tx++;
        return;
      }
      case Icmpv6Type.EchoReply:
        this.ctx.notify({ type: 'echo-reply', from: ip.src, ident: icmp.ident, seq: icmp.seqNo, ttl: ip.hopLimit, size: icmp.payload.length });
        return;
      case Icmpv6Type.DestUnreachable:
      case Icmpv6Type.PacketTooBig:
      case Icmpv6Type.TimeExceeded:
      case Icmpv6Type.ParamProblem:
        return this.receiveError(ip, icmp, now);
      default:
        return;
    }
  }

  /** An error about one of our packets: parsed down to the quoted headers (RFC 4443 §2.4 (d)). */
  private receiveError(ip: Ipv6Repr, icmp: Icmpv6Repr, now: number): void {
    const stats = this.ctx.stats.icmpv6;
    const quoted = Ipv6Packet.quoted(icmp.payload);
    if (isDrop(quoted)) return stats.drop(`bad-quote-${quoted}`);
    const original = { src: quoted.src, dst: quoted.dst };
    // RFC 5927 §4: an error must be about a packet we could have sent.
    if (!this.ipv6.isLocal(original.src)) return stats.drop('error-not-ours');
    if (icmp.type === Icmpv6Type.PacketTooBig) this.ipv6.destinations.lowerPathMtu(original.dst, icmp.mtu, now);
    const chain = walkIpv6Chain(quoted.nextHeader, quoted.buffer.subarray(IPV6_HEADER_LEN));
    if (isChainError(chain)) return stats.drop(`bad-quote-${chain.reason}`);
    this.ipv6.deliverError(
      {
        kind: ERROR_KINDS[icmp.type] ?? 'unreachable',
        type: icmp.type,
        code: icmp.code,
        mtu: icmp.type === Icmpv6Type.PacketTooBig ? icmp.mtu : undefined,
        reporter: ip.src,
        src: original.src,
        dst: original.dst,
        upperProtocol: chain.upperProtocol,
        transport: quoted.buffer.subarray(IPV6_HEADER_LEN + chain.upperOffset),
      },
      now,
    );
  }

  /**
   * RFC 4861 §7.2.2: when address resolution fails, the packets that waited get ICMPv6
   * destination unreachable, code 3 (address unreachable); ours go to their protocol.
   */
  neighborFailed(iface: NetInterface, frames: Uint8Array[], now: number): void {
    for (const frame of frames) {
      const pkt = Ipv6Packet.checked(frame.subarray(iface.linkHeaderLen));
      if (isDrop(pkt)) continue;
      const chain = walkIpv6Chain(pkt.nextHeader, pkt.payload);
      if (isChainError(chain)) continue;
      this.ipv6.deliverError(
        { kind: 'address-unreachable', type: Icmpv6Type.DestUnreachable, code: 3, reporter: undefined, src: pkt.src, dst: pkt.dst, upperProtocol: chain.upperProtocol, transport: pkt.payload.subarray(chain.upperOffset) },
        now,
      );
    }
  }

  /** Errors about our own echo requests, for ping. */
  private errorAboutOurs(report: Ipv6ErrorReport): void {
    const t = report.transport;
    if (t.length < 8 || t[0] !== Icmpv6Type.EchoRequest) return;
    this.ctx.notify({ type: 'echo-error', to: report.dst, ident: (t[4] << 8) | t[5], seq: (t[6] << 8) | t[7], kind: report.kind, reporter: report.reporter });
  }

  /**
   * RFC 4861 §8.1 and §8.3: a Redirect is believed only from the router we use for that
   * destination, with a link-local source; it names a better first hop (the target).
   */
  private receiveRedirect(msg: Extract<NdpMessage, { type: 'redirect' }>, ip: Ipv6Repr, iface: NetInterface, now: number): void {
    const stats = this.ctx.stats.icmpv6;
    if (!ip.src.isLinkLocal) return stats.drop('redirect-not-link-local');
    const current = this.ipv6.route(msg.destination, undefined, now);
    if (isDrop(current) || current.iface !== iface || !current.nextHop.equals(ip.src)) return stats.drop('redirect-not-from-router');
    this.ipv6.destinations.setRedirect(msg.destination, msg.target, iface, now);
    if (msg.options.targetLinkAddr) iface.ipv6?.learnNeighbor(msg.target, msg.options.targetLinkAddr, now);
  }

  /**
   * RFC 4443 §2.4 (e): no error about an error, a packet to a multicast address (but for
   * Packet Too Big and unrecognized options, which callers decide), or from an address
   * that is not one node's; rate-limited (§2.4 (f)).
   */
  sendErrorAbout(icmp: Icmpv6Repr, about: Ipv6Repr, iface: NetInterface, now: number): void {
    this.sendErrorTo(icmp, about.src, about.dst, iface, now);
  }

  private sendErrorTo(icmp: Icmpv6Repr, to: Ipv6Address, from: Ipv6Address, iface: NetInterface, now: number): void {
    const stats = this.ctx.stats.icmpv6;
    if (to.isUnspecified || to.isMulticast) return stats.drop('no-error-bad-source');
    // RFC 4443 §2.4 (e.1): never an error about an ICMPv6 error message.
    if (isAboutIcmpv6Error(icmp.payload)) return stats.drop('no-error-about-error');
    if (!this.errorBudget.take(now)) return stats.drop('error-rate-limited');
    const src = this.ipv6.isLocal(from) ? from : undefined;
    const dropped = this.send(icmp, to, now, { src, iface: to.isLinkLocal ? iface : undefined });
    if (dropped === undefined) stats.tx++;
  }
}

/** Whether an invoking packet (as quoted) carries an ICMPv6 error message, or one too short to tell. */
function isAboutIcmpv6Error(invoking: Uint8Array): boolean {
  const pkt = Ipv6Packet.quoted(invoking);
  if (isDrop(pkt)) return false;
  const chain = walkIpv6Chain(pkt.nextHeader, pkt.buffer.subarray(IPV6_HEADER_LEN));
  if (isChainError(chain) || chain.upperProtocol !== Ipv6NextHeader.Icmpv6) return false;
  const at = IPV6_HEADER_LEN + chain.upperOffset;
  return at >= invoking.length || invoking[at] < 128;
}
