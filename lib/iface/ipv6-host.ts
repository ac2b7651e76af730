import { uniform } from '../random';
import { Ipv6Address, MacAddress } from '../wire/address';
import { emptyNdpOptions, ndpToIcmp, type NdpMessage } from '../wire/ndp';
import { mldReportToIcmp, type MldQuery } from '../wire/mld';
import type { Icmpv6Repr } from '../wire/icmpv6';
import type { StackContext } from './context';
import { DadClaim, DEFAULT_DAD_CONFIG, type DadConfig, type DadSink } from './ipv6-dad';
import { eui64InterfaceId, inPrefix, linkLocalAddress, stablePrivacyInterfaceId } from './ipv6-iid';
import { Ipv6Autoconf, type AutoconfHost, type RouterAdvert } from './ipv6-autoconf';
import { MldHost } from './mld';
import { DEFAULT_NEIGHBOR_CONFIG, NeighborCache } from './neighbor-cache';

/** Where an IPv6 address came from. */
export type Ipv6Origin = 'link-local' | 'static' | 'slaac' | 'dhcp';

export interface Ipv6Binding {
  readonly address: Ipv6Address;
  readonly prefixLen: number;
  readonly origin: Ipv6Origin;
  readonly dad: DadClaim;
  preferredUntil: number;
  validUntil: number;
  /** Told when DAD finds the address in use (a DHCPv6 lease declines it). */
  readonly onDuplicate?: (now: number) => void;
}

export interface Ipv6HostOptions {
  /** How the link-local (and SLAAC) interface identifier is made: EUI-64 (RFC 4291) or stable privacy (RFC 7217). */
  interfaceIds: 'eui64' | 'stable-privacy';
  /** Secret for RFC 7217; drawn from the stack's random source when not given. */
  secretKey?: Uint8Array;
  static: { address: Ipv6Address; prefixLen: number }[];
  /** Form addresses from Router Advertisements (RFC 4862 §5.5). */
  slaac: boolean;
  dad: Partial<DadConfig>;
}

/** What the IPv6 host machinery asks of the interface and the IP layer. */
export interface Ipv6HostLink {
  readonly name: string;
  readonly mac: MacAddress;
  /** The link MTU for IPv6. */
  readonly mtu: number;
  /** Sends an ICMPv6 message in one IPv6 packet (ND: hop limit 255; MLD: hop limit 1 with a Router Alert). */
  sendIcmpv6(icmp: Icmpv6Repr, src: Ipv6Address, dst: Ipv6Address, opts: { hopLimit: number; routerAlert?: boolean; dstMac?: MacAddress }): void;
  /** Sends frames that waited for `mac` (their Ethernet destination still blank). */
  sendResolved(mac: MacAddress, frames: Uint8Array[]): void;
  /** Frames whose next hop never answered Neighbor Discovery: their senders hear "address unreachable". */
  neighborFailed(frames: Uint8Array[], now: number): void;
  /** Accept or stop accepting frames to a multicast MAC. */
  setMulticastMac(mac: MacAddress, accept: boolean): void;
}

/** RFC 4861 §10: MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL, MAX_RTR_SOLICITATION_DELAY. */
const MAX_RTR_SOLICITATIONS = 3;
const RTR_SOLICITATION_INTERVAL_MS = 4_000;
const MAX_RTR_SOLICITATION_DELAY_MS = 1_000;
/** RFC 3810 §7: MLD reports go to all MLDv2-capable routers. */
const ALL_MLDV2_ROUTERS = Ipv6Address.parse('ff02::16');
const MLD_OWNER = 'stack';

const key = (a: Ipv6Address) => a.key;

/**
 * IPv6 on one Ethernet interface (RFC 4861, RFC 4862, RFC 3810): its addresses with
 * Duplicate Address Detection, Neighbor Discovery (a neighbor cache with the same state
 * machine as ARP), router solicitation and Router Advertisement processing with SLAAC,
 * and the MLDv2 groups it is in (solicited-node groups of its addresses).
 */
export class Ipv6Host implements DadSink, AutoconfHost {
  private bindingList: Ipv6Binding[] = [];
  /** Told the M and O flags of every valid Router Advertisement (DHCPv6 follows them). */
  onRouterFlags: ((managed: boolean, other: boolean, now: number) => void) | undefined;
  readonly cache: NeighborCache<string, Uint8Array>;
  readonly mld: MldHost;
  readonly autoconf: Ipv6Autoconf;
  private readonly dadConfig: DadConfig;
  private readonly secret: Uint8Array;
  private rsSent = 0;
  private rsAt: number | undefined;
  private started = false;
  private dadCounter = 0;
  /** The time of the call in progress, for callbacks that carry none (address expiry). */
  private now = 0;

  constructor(private readonly link: Ipv6HostLink, private readonly ctx: StackContext, private readonly opts: Ipv6HostOptions) {
    this.dadConfig = { ...DEFAULT_DAD_CONFIG, ...opts.dad };
    this.secret = opts.secretKey ?? new Uint8Array(16).map(() => ctx.random.u32() & 0xff);
    this.cache = new NeighborCache<string, Uint8Array>(
      {
        solicit: (k, unicast) => this.sendNeighborSolicit(Ipv6Address.fromKey(k), unicast),
        resolved: (_k, mac, frames) => this.link.sendResolved(mac, frames),
        failed: (_k, frames, now) => {
          for (let i = 0; i < frames.length; i++) ctx.stats.ipv6.drop('neighbor-unreachable');
          this.link.neighborFailed(frames, now);
        },
      },
      DEFAULT_NEIGHBOR_CONFIG,
    );
    this.mld = new MldHost(
      { sendReport: (records) => this.sendMldReport(records) },
      ctx.random,
    );
    this.autoconf = new Ipv6Autoconf(this, { slaac: opts.slaac, linkMtu: link.mtu });
    this.link.setMulticastMac(MacAddress.fromIpv6Multicast(Ipv6Address.ALL_NODES), true);
    const iid = this.interfaceId(Ipv6Address.parse('fe80::'), 64);
    this.addBinding(linkLocalAddress(iid), 64, 'link-local', Infinity, Infinity);
    for (const s of opts.static) this.addBinding(s.address, s.prefixLen, 'static', Infinity, Infinity);
  }

  get bindings(): readonly Ipv6Binding[] {
    return this.bindingList;
  }

  /** A usable (DAD-cleared, not expired) address of this interface equal to `addr`. */
  usableBinding(addr: Ipv6Address): Ipv6Binding | undefined {
    return this.bindingList.find((b) => b.dad.state === 'done' && b.address.equals(addr));
  }

  /** Whether `addr` is any address of this interface, tentative ones included (for ND). */
  holds(addr: Ipv6Address): boolean {
    return this.bindingList.some((b) => b.address.equals(addr));
  }

  /** Multicast groups this interface receives. */
  isMember(group: Ipv6Address): boolean {
    return this.mld.isMember(group);
  }

  /** RFC 6724, simplified: a usable address of the destination's scope, preferred over deprecated, longest matching prefix. */
  sourceFor(dst: Ipv6Address, now: number): Ipv6Address | undefined {
    const linkScope = dst.isLinkLocal || (dst.isMulticast && (dst.bytes[1] & 0x0f) <= 2);
    let best: Ipv6Binding | undefined;
    let bestScore = -1;
    for (const b of this.bindingList) {
      if (b.dad.state !== 'done' || b.validUntil <= now) continue;
      const sameScope = b.address.isLinkLocal === linkScope;
      const preferred = b.preferredUntil > now;
      const score = (sameScope ? 1000 : 0) + (preferred ? 500 : 0) + commonPrefixLen(b.address, dst);
      if (score > bestScore) {
        best = b;
        bestScore = score;
      }
    }
    return best?.address;
  }

  /** Whether `dst` is on this link: link-local, a static address's prefix, or an on-link prefix from an RA. */
  isOnLink(dst: Ipv6Address): boolean {
    if (dst.isLinkLocal || this.autoconf.isOnLink(dst)) return true;
    return this.bindingList.some((b) => b.origin === 'static' && inPrefix(b.address, b.prefixLen, dst));
  }

  /** Whether ND currently holds `addr` as reachable (RFC 4861 §6.3.6 prefers such routers). */
  isReachable(addr: Ipv6Address): boolean {
    return this.cache.lookup(key(addr))?.state === 'reachable';
  }

  /** Learns a neighbor's link address from a message that names it (a Redirect's target, RFC 4861 §8.3). */
  learnNeighbor(addr: Ipv6Address, mac: MacAddress, now: number): void {
    this.cache.learn(key(addr), mac, now, true);
  }

  /** The MAC for `nextHop`, or undefined after queueing the frame while ND resolves it. */
  resolve(nextHop: Ipv6Address, frame: Uint8Array, now: number): MacAddress | undefined {
    this.now = now;
    return this.cache.resolve(key(nextHop), frame, now);
  }

  poll(now: number): void {
    this.now = now;
    if (!this.started) {
      this.started = true;
      // RFC 4861 §6.3.7: solicit routers after a random delay of up to 1 s.
      this.rsAt = now + uniform(this.ctx.random, 0, MAX_RTR_SOLICITATION_DELAY_MS);
    }
    for (const b of this.bindingList) b.dad.poll(now);
    this.cache.poll(now);
    this.mld.poll(now);
    this.autoconf.poll(now);
    if (this.rsAt !== undefined && now >= this.rsAt) this.sendRouterSolicit(now);
  }

  pollAt(): number | undefined {
    if (!this.started) return 0;
    let next = min(this.cache.pollAt(), min(this.mld.pollAt(), min(this.autoconf.pollAt(), this.rsAt)));
    for (const b of this.bindingList) next = min(next, b.dad.pollAt());
    return next;
  }

  /** A Neighbor Discovery message that passed RFC 4861's IP-level checks (hop limit 255). */
  receiveNdp(msg: NdpMessage, src: Ipv6Address, dst: Ipv6Address, now: number): void {
    this.now = now;
    switch (msg.type) {
      case 'ns':
        return this.onNeighborSolicit(msg, src, dst, now);
      case 'na':
        return this.onNeighborAdvert(msg, dst, now);
      case 'ra':
        // RFC 4861 §6.1.2: from a link-local source only.
        if (!src.isLinkLocal) return this.ctx.stats.icmpv6.drop('ra-not-link-local');
        if (msg.options.sourceLinkAddr) this.cache.learn(key(src), msg.options.sourceLinkAddr, now, true);
        this.rsAt = undefined;
        this.autoconf.onRouterAdvert(src, msg as RouterAdvert, now);
        // RFC 4861 §4.2: M asks for DHCPv6 addresses, O for other configuration.
        this.onRouterFlags?.(msg.managed, msg.other, now);
        return;
      default:
        // Router Solicitations are for routers; Redirect is not honoured yet.
        return;
    }
  }

  onMldQuery(query: MldQuery, now: number): void {
    this.mld.onQuery(query, now);
  }

  // AutoconfHost
  addAddress(address: Ipv6Address, prefixLen: number, preferredUntil: number, validUntil: number): void {
    if (this.holds(address)) return;
    this.addBinding(address, prefixLen, 'slaac', preferredUntil, validUntil);
  }

  updateAddress(address: Ipv6Address, preferredUntil: number, validUntil: number): void {
    const b = this.bindingList.find((x) => x.address.equals(address));
    if (!b) return;
    b.preferredUntil = preferredUntil;
    b.validUntil = validUntil;
  }

  removeAddress(address: Ipv6Address): void {
    const b = this.bindingList.find((x) => x.address.equals(address));
    if (!b) return;
    this.bindingList = this.bindingList.filter((x) => x !== b);
    this.leaveSolicitedNode(b.address, this.now);
    this.ctx.notify({ type: 'ipv6-address-removed', interface: this.link.name, address: b.address, prefixLen: b.prefixLen });
  }

  interfaceId(prefix: Ipv6Address, prefixLen: number): Uint8Array {
    if (this.opts.interfaceIds === 'eui64') return eui64InterfaceId(this.link.mac);
    return stablePrivacyInterfaceId(prefix, prefixLen, this.link.name, '', this.dadCounter, this.secret);
  }

  // DadSink
  sendProbe(address: Ipv6Address, nonce: Uint8Array): void {
    const ns: NdpMessage = { type: 'ns', target: address, options: { ...emptyNdpOptions(), nonce } };
    const group = address.solicitedNode();
    // RFC 4862 §5.4.2: from the unspecified address, to the solicited-node group, no SLLA.
    this.link.sendIcmpv6(ndpToIcmp(ns), Ipv6Address.UNSPECIFIED, group, { hopLimit: 255, dstMac: MacAddress.fromIpv6Multicast(group) });
  }

  ready(address: Ipv6Address, now: number): void {
    const b = this.bindingList.find((x) => x.address.equals(address));
    if (!b) return;
    this.ctx.notify({ type: 'ipv6-address-ready', interface: this.link.name, address, prefixLen: b.prefixLen, origin: b.origin });
    // RFC 4861 §6.3.7: with a link-local address, solicit again from it (with SLLA) if no RA came yet.
    if (b.origin === 'link-local' && this.rsSent > 0 && this.rsSent < MAX_RTR_SOLICITATIONS && this.rsAt !== undefined) this.rsAt = now;
  }

  duplicate(address: Ipv6Address, now: number, how: 'ns' | 'na'): void {
    const b = this.bindingList.find((x) => x.address.equals(address));
    if (!b) return;
    this.ctx.stats.icmpv6.drop(`dad-duplicate-${how}`);
    this.ctx.notify({ type: 'ipv6-address-duplicate', interface: this.link.name, address, prefixLen: b.prefixLen, origin: b.origin });
    this.leaveSolicitedNode(address, now);
    b.onDuplicate?.(now);
    if (b.origin === 'dhcp') this.bindingList = this.bindingList.filter((x) => x !== b);
    if (b.origin === 'slaac') {
      this.bindingList = this.bindingList.filter((x) => x !== b);
      this.dadCounter++;
      this.autoconf.addressDuplicate(address, now);
    }
  }

  /** Adds an address from another source (DHCPv6), probed by DAD; or refreshes its lifetimes. */
  configure(address: Ipv6Address, prefixLen: number, origin: Ipv6Origin, preferredUntil: number, validUntil: number, onDuplicate?: (now: number) => void): void {
    if (this.holds(address)) return this.updateAddress(address, preferredUntil, validUntil);
    this.addBinding(address, prefixLen, origin, preferredUntil, validUntil, onDuplicate);
  }

  private addBinding(address: Ipv6Address, prefixLen: number, origin: Ipv6Origin, preferredUntil: number, validUntil: number, onDuplicate?: (now: number) => void): void {
    const dad = new DadClaim(address, this.dadConfig, this.ctx.random, this);
    this.bindingList = [...this.bindingList, { address, prefixLen, origin, dad, preferredUntil, validUntil, onDuplicate }];
    // RFC 4862 §5.4.2: join the solicited-node group before probing.
    const group = address.solicitedNode();
    this.mld.join(group, `${MLD_OWNER}:${key(address)}`, 0);
    this.link.setMulticastMac(MacAddress.fromIpv6Multicast(group), true);
  }

  private leaveSolicitedNode(address: Ipv6Address, now: number): void {
    const group = address.solicitedNode();
    this.mld.leave(group, `${MLD_OWNER}:${key(address)}`, now);
    // RFC 2464 §7: groups with the same low 32 bits share the MAC (a socket may be in
    // ff05::1:ffXX:XXXX), so it stays while any group here maps to it, as NetInterface
    // keeps it on a socket's leave. IPv4 group MACs (01:00:5e, RFC 1112 §6.4) never match.
    const mac = MacAddress.fromIpv6Multicast(group);
    this.link.setMulticastMac(mac, this.mld.groups().some((g) => MacAddress.fromIpv6Multicast(g).value === mac.value));
  }

  private onNeighborSolicit(ns: Extract<NdpMessage, { type: 'ns' }>, src: Ipv6Address, dst: Ipv6Address, now: number): void {
    const target = this.bindingList.find((b) => b.address.equals(ns.target));
    if (!target) return this.ctx.stats.icmpv6.drop('ns-not-for-us');
    // RFC 4861 §7.1.1: from ::, only to a solicited-node group and without SLLA.
    if (src.isUnspecified && (!dst.isMulticast || ns.options.sourceLinkAddr)) return this.ctx.stats.icmpv6.drop('bad-dad-ns');
    if (target.dad.tentative) return target.dad.observeSolicit(src, ns.options.nonce, now);
    if (target.dad.state !== 'done') return;
    if (src.isUnspecified) {
      // §7.2.4: answer another node's DAD to all-nodes, not solicited.
      return this.sendNeighborAdvert(ns.target, Ipv6Address.ALL_NODES, false);
    }
    if (ns.options.sourceLinkAddr) this.cache.learn(key(src), ns.options.sourceLinkAddr, now, true);
    this.sendNeighborAdvert(ns.target, src, true, ns.options.sourceLinkAddr);
  }

  private onNeighborAdvert(na: Extract<NdpMessage, { type: 'na' }>, dst: Ipv6Address, now: number): void {
    // RFC 4861 §7.1.2: an NA to a multicast address must not claim to be solicited.
    if (dst.isMulticast && na.solicited) return this.ctx.stats.icmpv6.drop('bad-na');
    const ours = this.bindingList.find((b) => b.address.equals(na.target));
    if (ours) {
      if (ours.dad.tentative) ours.dad.observeAdvert(now);
      return;
    }
    const k = key(na.target);
    const entry = this.cache.lookup(k);
    if (!entry) return;
    const lla = na.options.targetLinkAddr;
    // RFC 4861 §7.2.5: solicited confirms reachability; an override with a new address updates it.
    if (na.solicited) {
      if (lla) this.cache.confirm(k, lla, now);
      else if (entry.mac) this.cache.confirmReachability(k, now);
    } else if (lla && (na.override || entry.state === 'incomplete')) {
      this.cache.learn(k, lla, now, false);
    }
  }

  private sendNeighborSolicit(target: Ipv6Address, unicast: MacAddress | undefined): void {
    const src = this.sourceFor(target, this.now);
    if (!src) return;
    const ns: NdpMessage = { type: 'ns', target, options: { ...emptyNdpOptions(), sourceLinkAddr: this.link.mac } };
    // RFC 4861 §7.2.2: multicast to the solicited-node group; unicast when revalidating.
    const dst = unicast ? target : target.solicitedNode();
    this.link.sendIcmpv6(ndpToIcmp(ns), src, dst, { hopLimit: 255, dstMac: unicast ?? MacAddress.fromIpv6Multicast(dst) });
  }

  private sendNeighborAdvert(target: Ipv6Address, to: Ipv6Address, solicited: boolean, toMac?: MacAddress): void {
    const na: NdpMessage = { type: 'na', router: false, solicited, override: true, target, options: { ...emptyNdpOptions(), targetLinkAddr: this.link.mac } };
    this.link.sendIcmpv6(ndpToIcmp(na), target, to, { hopLimit: 255, dstMac: to.isMulticast ? MacAddress.fromIpv6Multicast(to) : toMac });
  }

  private sendRouterSolicit(now: number): void {
    if (this.rsSent >= MAX_RTR_SOLICITATIONS) {
      this.rsAt = undefined;
      return;
    }
    const linkLocal = this.bindingList.find((b) => b.origin === 'link-local' && b.dad.state === 'done');
    // RFC 4861 §6.3.7: from the link-local address with SLLA, or from :: without it.
    const src = linkLocal?.address ?? Ipv6Address.UNSPECIFIED;
    const rs: NdpMessage = { type: 'rs', options: { ...emptyNdpOptions(), sourceLinkAddr: linkLocal ? this.link.mac : undefined } };
    this.link.sendIcmpv6(ndpToIcmp(rs), src, Ipv6Address.ALL_ROUTERS, { hopLimit: 255, dstMac: MacAddress.fromIpv6Multicast(Ipv6Address.ALL_ROUTERS) });
    this.rsSent++;
    this.rsAt = this.rsSent < MAX_RTR_SOLICITATIONS ? now + RTR_SOLICITATION_INTERVAL_MS : undefined;
  }

  private sendMldReport(records: Parameters<typeof mldReportToIcmp>[0]): void {
    const linkLocal = this.bindingList.find((b) => b.origin === 'link-local' && b.dad.state === 'done');
    // RFC 3810 §5.2.13: from a link-local address, or :: while there is none yet.
    const src = linkLocal?.address ?? Ipv6Address.UNSPECIFIED;
    this.link.sendIcmpv6(mldReportToIcmp(records), src, ALL_MLDV2_ROUTERS, { hopLimit: 1, routerAlert: true, dstMac: MacAddress.fromIpv6Multicast(ALL_MLDV2_ROUTERS) });
  }
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

function commonPrefixLen(a: Ipv6Address, b: Ipv6Address): number {
  let n = 0;
  for (let i = 0; i < 16; i++) {
    const x = a.bytes[i] ^ b.bytes[i];
    if (x === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(x) - 24;
  }
  return n;
}
