import type { Ipv4Address } from '../wire/address';
import type { DropReason } from '../wire/drop';
import { isDrop } from '../wire/drop';
import { Ipv4Packet, Ipv4Repr } from '../wire/ipv4';
import type { StackContext } from './context';
import type { NetInterface } from './interface';

/** A protocol above IPv4: gets each accepted packet's header and payload (a view, no copy). */
export type Ipv4ProtocolHandler = (ip: Ipv4Repr, payload: Uint8Array, iface: NetInterface, now: number) => void;

/** An IPv4 packet to send; the payload is written straight into the frame. */
export interface Ipv4Send {
  /** Source address; when given it must be a usable address of the stack (replies leave from the address the request came to). */
  src?: Ipv4Address;
  dst: Ipv4Address;
  protocol: number;
  ttl?: number;
  dontFragment?: boolean;
  payloadLen: number;
  writePayload(buf: Uint8Array, offset: number): void;
}

export interface Ipv4Route {
  iface: NetInterface;
  nextHop: Ipv4Address;
  src: Ipv4Address;
}

/**
 * The IPv4 layer of a host (RFC 791, RFC 1122 §3.2–3.3): validates and delivers
 * received packets to the protocol above, routes and frames sent ones. The routing
 * here is the connected subnets and a default gateway per interface.
 */
export class Ipv4Layer {
  private readonly protocols = new Map<number, Ipv4ProtocolHandler>();
  private ident: number;

  constructor(private readonly interfaces: readonly NetInterface[], private readonly ctx: StackContext) {
    // RFC 6864 allows any identification for atomic datagrams; start somewhere unguessable.
    this.ident = ctx.random.u32() & 0xffff;
  }

  register(protocol: number, handler: Ipv4ProtocolHandler): void {
    this.protocols.set(protocol, handler);
  }

  receive(iface: NetInterface, bytes: Uint8Array, now: number): void {
    const stats = this.ctx.stats.ipv4;
    const pkt = Ipv4Packet.checked(bytes);
    if (isDrop(pkt)) return stats.drop(pkt);
    const ip = Ipv4Repr.parse(pkt);
    if (isDrop(ip)) return stats.drop(ip);
    // RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded.
    if (ip.src.isBroadcast || ip.src.isMulticast || iface.isBroadcast(ip.src)) return stats.drop('bad-source');
    if (!iface.acceptsIpv4(ip.dst)) return stats.drop('not-for-us');
    if (ip.moreFragments || ip.fragmentOffset !== 0) return stats.drop('fragment');
    stats.rx++;
    const handler = this.protocols.get(ip.protocol);
    if (!handler) return stats.drop('unknown-protocol');
    handler(ip, pkt.payload, iface, now);
  }

  /** The interface, next hop and source address for `dst`, or undefined when none. */
  route(dst: Ipv4Address, src?: Ipv4Address): Ipv4Route | undefined {
    for (const iface of this.interfaces) {
      if (src && !iface.usableBinding(src)) continue;
      for (const b of iface.bindings) {
        if (!b.claim.usable) continue;
        if (b.cidr.contains(dst) || dst.isBroadcast || dst.isMulticast) return { iface, nextHop: dst, src: src ?? iface.sourceFor(dst)! };
      }
    }
    for (const iface of this.interfaces) {
      if (!iface.gateway || (src && !iface.usableBinding(src))) continue;
      const gwSrc = iface.sourceFor(iface.gateway);
      if (gwSrc) return { iface, nextHop: iface.gateway, src: src ?? gwSrc };
    }
    return undefined;
  }

  /** Builds the whole frame in one allocation and sends it; a DropReason when it cannot. */
  send(req: Ipv4Send, now: number): DropReason | undefined {
    const stats = this.ctx.stats.ipv4;
    const route = this.route(req.dst, req.src);
    if (!route) {
      stats.drop('no-route');
      return 'no-route';
    }
    const ip = new Ipv4Repr({
      src: route.src,
      dst: req.dst,
      protocol: req.protocol,
      payloadLen: req.payloadLen,
      ttl: req.ttl ?? 64,
      dontFragment: req.dontFragment ?? true,
      ident: this.nextIdent(),
    });
    const headerLen = ip.bufferLen();
    // Fragmentation comes with the IPv4 issue; until then an oversized packet is refused.
    if (headerLen + req.payloadLen > route.iface.mtu) {
      stats.drop('too-big');
      return 'too-big';
    }
    const offset = route.iface.linkHeaderLen;
    const frame = new Uint8Array(offset + headerLen + req.payloadLen);
    ip.emit(frame, offset);
    req.writePayload(frame, offset + headerLen);
    stats.tx++;
    route.iface.transmitIpv4(frame, route.nextHop, now);
    return undefined;
  }

  private nextIdent(): number {
    this.ident = (this.ident + 1) & 0xffff;
    return this.ident;
  }
}
