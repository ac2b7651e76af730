import type { Ipv6Address } from '../wire/address';
import { inPrefix, maskPrefix } from './ipv6-iid';
import type { NetInterface } from './interface';

export interface Ipv6Route {
  readonly prefix: Ipv6Address;
  readonly prefixLen: number;
  readonly iface: NetInterface;
  /** The next hop (a link-local router address, RFC 4861 §8); none for an on-link prefix. */
  readonly gateway?: Ipv6Address;
  readonly metric: number;
}

/**
 * Static IPv6 routes, beside what Neighbor Discovery gives (on-link prefixes, default
 * routers, redirects): longest prefix first, then the lowest metric.
 */
export class Ipv6RoutingTable {
  private routes: Ipv6Route[] = [];

  add(r: { prefix: Ipv6Address; prefixLen: number; iface: NetInterface; gateway?: Ipv6Address; metric?: number }): Ipv6Route {
    if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > 128) throw new TypeError(`IPv6 prefix length out of range: ${r.prefixLen}`);
    const route: Ipv6Route = { prefix: maskPrefix(r.prefix, r.prefixLen), prefixLen: r.prefixLen, iface: r.iface, gateway: r.gateway, metric: r.metric ?? 0 };
    this.routes = [...this.routes, route].sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
    return route;
  }

  remove(route: Ipv6Route): boolean {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => r !== route);
    return this.routes.length < before;
  }

  lookup(dst: Ipv6Address, accept?: (r: Ipv6Route) => boolean): Ipv6Route | undefined {
    return this.routes.find((r) => inPrefix(r.prefix, r.prefixLen, dst) && (!accept || accept(r)));
  }

  list(): readonly Ipv6Route[] {
    return this.routes;
  }
}
