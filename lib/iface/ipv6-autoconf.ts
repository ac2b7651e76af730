import type { Ipv6Address } from '../wire/address';
import type { NdpMessage, NdpOptions, NdpPrefixInfo } from '../wire/ndp';
import { addressFromPrefix, IID_LEN, inPrefix, maskPrefix } from './ipv6-iid';

/**
 * What Router Advertisements configure on one interface, sans-IO: the default router list
 * and on-link prefix list (RFC 4861 §6.3.4), router preferences (RFC 4191), addresses
 * formed by stateless autoconfiguration (RFC 4862 §5.5.3) and their lifetimes (§5.5.4),
 * the link MTU, DNS servers (RFC 8106), and the M/O flags that tell a DHCPv6 client what
 * to ask for. Every list is bounded, so a flood of advertisements costs a fixed amount of
 * memory: entries beyond the bound are ignored and counted.
 *
 * Times are ms; lifetimes arrive in seconds, 0xffffffff meaning infinity (RFC 4861 §4.6.2,
 * RFC 8106 §5.1), held as `Infinity`.
 */

export type RouterAdvert = Extract<NdpMessage, { type: 'ra' }>;

export interface AutoconfHost {
  /** Form an address in a /64 prefix with these lifetimes; the host runs DAD and uses it when clear. */
  addAddress(address: Ipv6Address, prefixLen: number, preferredUntil: number, validUntil: number): void;
  /** Lifetimes changed (RA refresh, §5.5.3 e, or the preferred lifetime ran out); deprecated = preferredUntil <= now. */
  updateAddress(address: Ipv6Address, preferredUntil: number, validUntil: number): void;
  /** The valid lifetime ran out (§5.5.4): the address is no longer the interface's. */
  removeAddress(address: Ipv6Address): void;
  /** The interface id for a prefix (EUI-64 or stable privacy, the host chooses). */
  interfaceId(prefix: Ipv6Address, prefixLen: number): Uint8Array;
}

export interface Ipv6Router {
  /** Its link-local address, the source of its advertisements. */
  address: Ipv6Address;
  until: number;
  preference: 'low' | 'medium' | 'high';
}

export interface OnLinkPrefix {
  prefix: Ipv6Address;
  prefixLen: number;
  until: number;
}

export interface AutoconfOptions {
  /** Form addresses from prefixes with the A flag (RFC 4862); default true. */
  slaac?: boolean;
  /** The largest MTU the link allows; an advertised MTU above it is ignored (RFC 4861 §6.3.4). */
  linkMtu?: number;
}

/** Options and entries that were not taken, by cause. */
export interface AutoconfIgnored {
  /** §5.5.3 (c): preferred lifetime greater than valid lifetime. */
  preferredOverValid: number;
  /** §5.5.3 (d): an autonomous prefix whose length plus the 64-bit interface id is not 128. */
  prefixLength: number;
  /** A prefix length over 128. */
  badPrefix: number;
  /** RFC 4861 §6.3.4: an MTU below 1280 or above the link's. */
  mtu: number;
  /** A list at its bound (routers, prefixes, addresses, DNS servers). */
  full: number;
}

export const INFINITE_LIFETIME = 0xffff_ffff;
/** Bound of the router, prefix and address lists, against floods of advertisements. */
export const MAX_AUTOCONF_ENTRIES = 16;
/** RFC 8106 §5.3.1 suggests a small maximum of DNS servers kept; 3, as resolv.conf's MAXNS. */
export const MAX_DNS_SERVERS = 3;
/** RFC 2460 §5 / RFC 8200 §5: the minimum link MTU. */
const IPV6_MIN_MTU = 1280;
/** RFC 4862 §5.5.3 (e): a refresh may not cut a valid lifetime below two hours. */
const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
/** RFC 7217 §6: IDGEN_RETRIES, new addresses tried for a prefix after DAD failures. */
const IDGEN_RETRIES = 3;

const PREFERENCE_RANK = { low: 0, medium: 1, high: 2 } as const;

interface SlaacAddress {
  address: Ipv6Address;
  /** The /64 it was formed from, host bits zero. */
  prefix: Ipv6Address;
  preferredUntil: number;
  validUntil: number;
  /** The host has been told the address is deprecated (or it learns so from the last update). */
  deprecationNoted: boolean;
  /** DAD found it duplicate and no other interface id was available: kept only to stop re-forming it until it expires. */
  failed: boolean;
  retries: number;
}

function lifetimeUntil(now: number, lifetimeS: number): number {
  return lifetimeS === INFINITE_LIFETIME ? Infinity : now + lifetimeS * 1000;
}

export class Ipv6Autoconf {
  private readonly slaac: boolean;
  private readonly linkMtu: number | undefined;
  private routerList: Ipv6Router[] = [];
  private prefixList: OnLinkPrefix[] = [];
  private addresses: SlaacAddress[] = [];
  private servers: { address: Ipv6Address; until: number }[] = [];
  private advertisedMtu: number | undefined;
  private managedFlag = false;
  private otherFlag = false;
  private hopLimit: number | undefined;
  private reachableMs: number | undefined;
  private retransMs: number | undefined;
  readonly ignored: AutoconfIgnored = { preferredOverValid: 0, prefixLength: 0, badPrefix: 0, mtu: 0, full: 0 };

  constructor(
    private readonly host: AutoconfHost,
    opts?: AutoconfOptions,
  ) {
    this.slaac = opts?.slaac ?? true;
    this.linkMtu = opts?.linkMtu;
  }

  get routers(): readonly Readonly<Ipv6Router>[] {
    return this.routerList;
  }

  get prefixes(): readonly Readonly<OnLinkPrefix>[] {
    return this.prefixList;
  }

  /** The link MTU advertised (RFC 4861 §4.6.4), once a valid one arrived. */
  get mtu(): number | undefined {
    return this.advertisedMtu;
  }

  /** RDNSS servers (RFC 8106 §5.1) in the order advertised, which is the order of preference. */
  get dnsServers(): Ipv6Address[] {
    return this.servers.map((s) => s.address);
  }

  /** M flag of the last advertisement: addresses are available from DHCPv6 (RFC 4861 §4.2). */
  get managed(): boolean {
    return this.managedFlag;
  }

  /** O flag of the last advertisement: other configuration is available from DHCPv6. */
  get other(): boolean {
    return this.otherFlag;
  }

  get curHopLimit(): number | undefined {
    return this.hopLimit;
  }

  /** BaseReachableTime (RFC 4861 §6.3.2); the neighbour cache draws ReachableTime from it. */
  get reachableTimeMs(): number | undefined {
    return this.reachableMs;
  }

  get retransTimerMs(): number | undefined {
    return this.retransMs;
  }

  /** RFC 4861 §6.1.2 validity is the caller's (hop limit 255, link-local source); this applies §6.3.4 and RFC 4862 §5.5.3. */
  onRouterAdvert(src: Ipv6Address, ra: RouterAdvert, now: number): void {
    // §6.3.4: zero means "unspecified by this router": keep what we had.
    if (ra.curHopLimit !== 0) this.hopLimit = ra.curHopLimit;
    if (ra.reachableTimeMs !== 0) this.reachableMs = ra.reachableTimeMs;
    if (ra.retransTimerMs !== 0) this.retransMs = ra.retransTimerMs;
    this.managedFlag = ra.managed;
    this.otherFlag = ra.other;
    this.updateRouter(src, ra, now);
    if (ra.options.mtu !== undefined) this.updateMtu(ra.options.mtu);
    for (const info of ra.options.prefixes) {
      if (!Number.isInteger(info.prefixLen) || info.prefixLen < 0 || info.prefixLen > 128) {
        this.ignored.badPrefix++;
        continue;
      }
      // The on-link decision (RFC 4861 §6.3.4) and address formation (RFC 4862 §5.5.3)
      // read the same option independently: a /48 with L and A is on-link but forms no address.
      this.updateOnLink(info, now);
      if (this.slaac) this.autoconfigure(info, now);
    }
    for (const rdnss of ra.options.rdnss) this.updateDnsServers(rdnss, now);
  }

  /**
   * The host's DAD found an autoconfigured address duplicate (§5.4.5) and dropped it.
   * RFC 7217 §6: ask for another interface id (the host bumps its DAD counter) and try
   * again, at most IDGEN_RETRIES times; an id that comes back the same (EUI-64) gives up.
   * A given-up address is neither updated nor removed through the host, only remembered
   * until its valid lifetime ends, so that refreshes do not form it again.
   */
  addressDuplicate(address: Ipv6Address, now: number): void {
    const entry = this.addresses.find((a) => !a.failed && a.address.equals(address));
    if (entry === undefined) return;
    if (entry.retries < IDGEN_RETRIES) {
      const next = addressFromPrefix(entry.prefix, 64, this.host.interfaceId(entry.prefix, 64));
      if (!next.equals(address)) {
        entry.address = next;
        entry.retries++;
        entry.deprecationNoted = entry.preferredUntil <= now;
        this.host.addAddress(next, 64, entry.preferredUntil, entry.validUntil);
        return;
      }
    }
    entry.failed = true;
  }

  /** The next deadline: a router, prefix, server or address expiring, or an address becoming deprecated. */
  pollAt(): number | undefined {
    let at = Infinity;
    for (const r of this.routerList) at = Math.min(at, r.until);
    for (const p of this.prefixList) at = Math.min(at, p.until);
    for (const s of this.servers) at = Math.min(at, s.until);
    for (const a of this.addresses) {
      at = Math.min(at, a.validUntil);
      if (!a.failed && !a.deprecationNoted) at = Math.min(at, a.preferredUntil);
    }
    return at === Infinity ? undefined : at;
  }

  poll(now: number): void {
    this.routerList = this.routerList.filter((r) => r.until > now);
    this.prefixList = this.prefixList.filter((p) => p.until > now);
    this.servers = this.servers.filter((s) => s.until > now);
    const expired = this.addresses.filter((a) => a.validUntil <= now);
    this.addresses = this.addresses.filter((a) => a.validUntil > now);
    // §5.5.4: a preferred lifetime that ran out deprecates the address: tell the host once.
    const deprecated = this.addresses.filter((a) => !a.failed && !a.deprecationNoted && a.preferredUntil <= now);
    for (const a of deprecated) a.deprecationNoted = true;
    for (const a of expired) if (!a.failed) this.host.removeAddress(a.address);
    for (const a of deprecated) this.host.updateAddress(a.address, a.preferredUntil, a.validUntil);
  }

  /**
   * RFC 4861 §6.3.6 and RFC 4191 §3.2: routers known reachable (the caller's predicate over
   * its neighbour cache) before the others, then the highest preference, then the first
   * learned. Without a reachable router any router is tried (§6.3.6 round-robin is not done).
   */
  selectRouter(isReachable?: (router: Ipv6Address) => boolean): Ipv6Address | undefined {
    let best: Ipv6Router | undefined;
    let bestScore = -1;
    for (const r of this.routerList) {
      const score = (isReachable?.(r.address) ? 3 : 0) + PREFERENCE_RANK[r.preference];
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    return best?.address;
  }

  /** RFC 4861 §5.2 / RFC 5942: link-local addresses and those in an advertised on-link prefix; nothing else. */
  isOnLink(addr: Ipv6Address): boolean {
    return addr.isLinkLocal || this.prefixList.some((p) => inPrefix(p.prefix, p.prefixLen, addr));
  }

  private updateRouter(src: Ipv6Address, ra: RouterAdvert, now: number): void {
    const i = this.routerList.findIndex((r) => r.address.equals(src));
    // §6.3.4: a router lifetime of 0 times the router out at once.
    if (ra.routerLifetimeS === 0) {
      if (i >= 0) this.routerList.splice(i, 1);
      return;
    }
    const router: Ipv6Router = { address: src, until: now + ra.routerLifetimeS * 1000, preference: ra.preference };
    if (i >= 0) this.routerList[i] = router;
    else if (this.routerList.length < MAX_AUTOCONF_ENTRIES) this.routerList.push(router);
    else this.ignored.full++;
  }

  /** §6.3.4: take the advertised MTU if at least the IPv6 minimum and not above what the link allows. */
  private updateMtu(mtu: number): void {
    if (mtu < IPV6_MIN_MTU || (this.linkMtu !== undefined && mtu > this.linkMtu)) {
      this.ignored.mtu++;
      return;
    }
    this.advertisedMtu = mtu;
  }

  /** RFC 4861 §6.3.4, prefixes with the L flag. */
  private updateOnLink(info: NdpPrefixInfo, now: number): void {
    // The link-local prefix is on-link by definition and never enters the list.
    if (!info.onLink || info.prefix.isLinkLocal) return;
    const prefix = maskPrefix(info.prefix, info.prefixLen);
    const i = this.prefixList.findIndex((p) => p.prefixLen === info.prefixLen && p.prefix.equals(prefix));
    if (info.validLifetimeS === 0) {
      // A known prefix times out at once; an unknown one is not added.
      if (i >= 0) this.prefixList.splice(i, 1);
      return;
    }
    const entry: OnLinkPrefix = { prefix, prefixLen: info.prefixLen, until: lifetimeUntil(now, info.validLifetimeS) };
    if (i >= 0) this.prefixList[i] = entry;
    else if (this.prefixList.length < MAX_AUTOCONF_ENTRIES) this.prefixList.push(entry);
    else this.ignored.full++;
  }

  /** RFC 4862 §5.5.3, prefixes with the A flag. */
  private autoconfigure(info: NdpPrefixInfo, now: number): void {
    if (!info.autonomous) return; // (a)
    if (info.prefix.isLinkLocal) return; // (b)
    // (c): a router that contradicts itself is ignored (only for address configuration:
    // RFC 4861 §6.3.4 still applies the on-link part).
    if (info.preferredLifetimeS > info.validLifetimeS) {
      this.ignored.preferredOverValid++;
      return;
    }
    const prefix = maskPrefix(info.prefix, info.prefixLen);
    const entry = this.addresses.find((a) => info.prefixLen === 64 && a.prefix.equals(prefix));
    if (entry !== undefined) {
      this.refresh(entry, info, now);
      return;
    }
    // (d): a new prefix forms an address if its valid lifetime is not 0 and the prefix
    // length and the interface identifier's length add up to 128.
    if (info.validLifetimeS === 0) return;
    if (info.prefixLen + IID_LEN * 8 !== 128) {
      this.ignored.prefixLength++;
      return;
    }
    if (this.addresses.length >= MAX_AUTOCONF_ENTRIES) {
      this.ignored.full++;
      return;
    }
    const address = addressFromPrefix(prefix, 64, this.host.interfaceId(prefix, 64));
    const preferredUntil = lifetimeUntil(now, info.preferredLifetimeS);
    const validUntil = lifetimeUntil(now, info.validLifetimeS);
    this.addresses.push({ address, prefix, preferredUntil, validUntil, deprecationNoted: preferredUntil <= now, failed: false, retries: 0 });
    this.host.addAddress(address, 64, preferredUntil, validUntil);
  }

  /**
   * §5.5.3 (e): the preferred lifetime is reset to the advertised one; the valid lifetime
   * only within the two-hours rule, so that a forged advertisement cannot end an address
   * sooner than two hours from now (unauthenticated advertisements; no SEND here).
   */
  private refresh(entry: SlaacAddress, info: NdpPrefixInfo, now: number): void {
    const advertisedValidUntil = lifetimeUntil(now, info.validLifetimeS);
    const remainingMs = entry.validUntil - now;
    if (advertisedValidUntil - now > TWO_HOURS_MS || advertisedValidUntil > entry.validUntil) {
      entry.validUntil = advertisedValidUntil; // 1: more than two hours, or longer than what remains
    } else if (remainingMs > TWO_HOURS_MS) {
      entry.validUntil = now + TWO_HOURS_MS; // 3: cut to two hours, no further
    } // 2: two hours or less remain: the advertised valid lifetime is ignored
    entry.preferredUntil = lifetimeUntil(now, info.preferredLifetimeS);
    if (entry.failed) return;
    entry.deprecationNoted = entry.preferredUntil <= now;
    this.host.updateAddress(entry.address, entry.preferredUntil, entry.validUntil);
  }

  /** RFC 8106 §5.1, §5.3.1: each server with the option's lifetime; lifetime 0 removes it. */
  private updateDnsServers(rdnss: NdpOptions['rdnss'][number], now: number): void {
    for (const address of rdnss.servers) {
      // A recursive DNS server is a unicast address; anything else is not usable.
      if (address.isMulticast || address.isUnspecified || address.isLoopback) continue;
      const i = this.servers.findIndex((s) => s.address.equals(address));
      if (rdnss.lifetimeS === 0) {
        if (i >= 0) this.servers.splice(i, 1);
        continue;
      }
      const server = { address, until: lifetimeUntil(now, rdnss.lifetimeS) };
      if (i >= 0) {
        this.servers[i] = server;
      } else if (this.servers.length < MAX_DNS_SERVERS) {
        this.servers.push(server);
      } else {
        // Full: a new server displaces the one that expires first, if it outlives it, so that
        // a renumbered network's servers get in before the old ones run out.
        const soonest = this.servers.reduce((a, b) => (b.until < a.until ? b : a));
        if (soonest.until < server.until) {
          this.servers.splice(this.servers.indexOf(soonest), 1);
          this.servers.push(server);
        } else {
          this.ignored.full++;
        }
      }
    }
  }
}
