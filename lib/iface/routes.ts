import { Ipv4Cidr, type Ipv4Address } from '../wire/address';
import type { NetInterface } from './interface';

/** Where a route came from; a lease or an address takes its own routes with it. */
export type RouteOrigin = 'connected' | 'static' | 'dhcp';

export interface Ipv4Route {
  /** The destination prefix, in network form (host bits zero). */
  readonly destination: Ipv4Cidr;
  readonly iface: NetInterface;
  /** The next hop; none for an on-link (connected) prefix. */
  readonly gateway?: Ipv4Address;
  /** Lower wins among routes of equal prefix length. */
  readonly metric: number;
  readonly origin: RouteOrigin;
  /** The source address to prefer for this route (Linux `src`): set on connected routes. */
  readonly src?: Ipv4Address;
}

export interface RouteSpec {
  destination: Ipv4Cidr | string;
  iface: NetInterface;
  gateway?: Ipv4Address;
  metric?: number;
  origin?: RouteOrigin;
  src?: Ipv4Address;
}

/**
 * The IPv4 routing table of a stack: longest-prefix match, then the lowest metric
 * (RFC 1812 §5.2.4.3, as a host applies it). Routes through a gateway are used only
 * while the gateway is on a connected prefix of the route's interface, so a gateway
 * whose subnet went away (an address lost to a conflict or an expired lease) takes its
 * routes out of use without anyone removing them.
 */
export class Ipv4RoutingTable {
  /** Kept sorted: longest prefix first, then lowest metric, then oldest. */
  private routes: Ipv4Route[] = [];

  add(spec: RouteSpec): Ipv4Route {
    const given = typeof spec.destination === 'string' ? Ipv4Cidr.parse(spec.destination) : spec.destination;
    const route: Ipv4Route = {
      destination: new Ipv4Cidr(given.network, given.prefixLen),
      iface: spec.iface,
      gateway: spec.gateway,
      metric: spec.metric ?? 0,
      origin: spec.origin ?? 'static',
      src: spec.src,
    };
    const existing = this.routes.findIndex((r) => sameRoute(r, route));
    if (existing >= 0) this.routes.splice(existing, 1);
    let at = this.routes.findIndex((r) => r.destination.prefixLen < route.destination.prefixLen || (r.destination.prefixLen === route.destination.prefixLen && r.metric > route.metric));
    if (at < 0) at = this.routes.length;
    this.routes.splice(at, 0, route);
    return route;
  }

  /** Removes every route that matches all the given fields; returns how many went. */
  remove(match: Partial<Pick<Ipv4Route, 'iface' | 'origin' | 'gateway'>> & { destination?: Ipv4Cidr; src?: Ipv4Address }): number {
    const before = this.routes.length;
    this.routes = this.routes.filter(
      (r) =>
        !(
          (match.iface === undefined || r.iface === match.iface) &&
          (match.origin === undefined || r.origin === match.origin) &&
          (match.gateway === undefined || (r.gateway !== undefined && r.gateway.equals(match.gateway))) &&
          (match.src === undefined || (r.src !== undefined && r.src.equals(match.src))) &&
          (match.destination === undefined || (r.destination.prefixLen === match.destination.prefixLen && r.destination.network.equals(match.destination.network)))
        ),
    );
    return before - this.routes.length;
  }

  /**
   * The best usable route to `dst`; `accept` narrows the choice (the interface a reply
   * must leave from, RFC 1122 §3.3.4.2's "same interface" rule for a bound source).
   */
  lookup(dst: Ipv4Address, accept?: (route: Ipv4Route) => boolean): Ipv4Route | undefined {
    for (const r of this.routes) {
      if (!r.destination.contains(dst)) continue;
      if (accept && !accept(r)) continue;
      if (r.gateway && !this.onLink(r.gateway, r.iface)) continue;
      return r;
    }
    return undefined;
  }

  list(): readonly Ipv4Route[] {
    return this.routes;
  }

  /** Whether `addr` is on a connected prefix of `iface`. */
  private onLink(addr: Ipv4Address, iface: NetInterface): boolean {
    return this.routes.some((r) => r.iface === iface && r.origin === 'connected' && r.destination.contains(addr));
  }
}

function sameRoute(a: Ipv4Route, b: Ipv4Route): boolean {
  return (
    a.iface === b.iface &&
    a.origin === b.origin &&
    a.metric === b.metric &&
    a.destination.prefixLen === b.destination.prefixLen &&
    a.destination.network.equals(b.destination.network) &&
    (a.gateway?.value ?? -1) === (b.gateway?.value ?? -1) &&
    (a.src?.value ?? -1) === (b.src?.value ?? -1)
  );
}
