import { Ipv4Address, Ipv4Cidr, MacAddress, type Ipv6Address } from '../wire/address';
import type { IgmpMessage } from '../wire/igmp';
import type { Ipv6Host } from './ipv6-host';
import type { MldJoinRefusal } from './mld';
import type { ArpRepr } from '../wire/arp';
import { isDrop } from '../wire/drop';
import { ETHERNET_HEADER_LEN, EtherType, EthernetFrame, EthernetRepr } from '../wire/ethernet';
import type { Device } from '../phy/device';
import { AddressClaim, DEFAULT_ACD_CONFIG, type AcdConfig, type AcdSink } from './acd';
import { Arp, type ArpLink } from './arp';
import type { StackContext } from './context';
import { IgmpHost, type FilterMode, type IgmpJoinRefusal } from './igmp';
import { DEFAULT_NEIGHBOR_CONFIG, type NeighborConfig } from './neighbor-cache';

export interface InterfaceConfig {
  /** The stack's own MAC (TAP only); it must differ from the TAP's kernel-side MAC. */
  mac?: MacAddress;
  ipv4?: Ipv4Cidr[];
  gateway?: Ipv4Address;
  /** IP MTU; at most the device's. */
  mtu?: number;
  /** RFC 5227 conflict detection; `enabled: false` makes addresses usable at once. */
  acd?: Partial<AcdConfig>;
  arp?: Partial<NeighborConfig>;
}

/** Where an address came from. */
export type AddressOrigin = 'static' | 'dhcp' | 'loopback';

/** An IPv4 address configured on an interface, usable once conflict detection clears it. */
export interface Ipv4Binding {
  readonly cidr: Ipv4Cidr;
  readonly claim: AddressClaim;
  readonly origin: AddressOrigin;
  /** Told when the address becomes usable and when it stops being usable (a DHCP lease declines a conflicting address). */
  readonly onUsable?: (usable: boolean, now: number) => void;
}

/** What an interface tells the IP layer about itself. */
export interface InterfaceHooks {
  /** `checksumGood`: the device vouches for the transport checksum (Device.receivedChecksumGood). */
  ipv4Input(iface: NetInterface, packet: Uint8Array, now: number, linkBroadcast: boolean, checksumGood: boolean): void;
  ipv6Input(iface: NetInterface, packet: Uint8Array, now: number, checksumGood: boolean): void;
  /** Packets (IP at `iface.linkHeaderLen`) that could not be sent: the next hop never answered ARP. */
  neighborFailed(iface: NetInterface, frames: Uint8Array[], now: number): void;
  /** An address became usable (its connected route can go in) or stopped being usable. */
  addressUp(iface: NetInterface, binding: Ipv4Binding): void;
  addressDown(iface: NetInterface, binding: Ipv4Binding): void;
  /** Sends an IGMP message out of `iface` to `dst` (RFC 3376 §4: TTL 1, Router Alert). */
  sendIgmp(iface: NetInterface, message: IgmpMessage, dst: Ipv4Address, now: number): void;
}

/** A membership filter (RFC 3376 §3.1, RFC 3810 §4.1): exclude {} is an any-source join. */
export interface MulticastFilter<A> {
  mode: FilterMode;
  sources: A[];
}

/** RFC 1112 §6.4: every host is in 224.0.0.1 and accepts its MAC. */
const ALL_HOSTS_MAC = MacAddress.fromIpv4Multicast(Ipv4Address.parse('224.0.0.1'));
/** What a Version 3 Report carries besides its records: the IPv4 header with the Router Alert (24) and the Report header (8). */
const IGMP_REPORT_OVERHEAD = 32;

/**
 * One network interface: its device, link address, IPv4 addresses, ARP and IGMP. It filters
 * and dispatches what the device receives and frames what the IP layer sends.
 */
export class NetInterface implements ArpLink, AcdSink {
  readonly name: string;
  readonly mac: MacAddress;
  private linkMtu: number;
  /** DNS servers learned on this interface (DHCP option 6). */
  dnsServers: Ipv4Address[] = [];
  /**
   * While a DHCP client has no address yet, replies to it may come unicast to the
   * offered address (RFC 2131 §4.1, broadcast flag clear): accept UDP to port 68 then.
   */
  acceptsDhcpReplies = false;
  /** IPv6 on this interface (addresses, ND, MLD, SLAAC); set by the stack when IPv6 is on. */
  ipv6: Ipv6Host | undefined;
  /** The IPv4 multicast groups this interface is in (IGMPv3, RFC 3376); none on loopback. */
  readonly igmp: IgmpHost;
  private bindingList: Ipv4Binding[] = [];
  private claimList: AddressClaim[] = [];
  private readonly acd: AcdConfig;
  readonly arp: Arp | undefined;
  readonly gateway: Ipv4Address | undefined;
  /** Bytes in front of the IP header in a frame: 14 on Ethernet, none on TUN. */
  readonly linkHeaderLen: number;
  private readonly acceptedMulticast = new Set<number>([ALL_HOSTS_MAC.value]);

  constructor(
    readonly device: Device,
    config: InterfaceConfig,
    private readonly ctx: StackContext,
    private readonly hooks: InterfaceHooks,
    /** The loopback interface accepts packets for every local address (Linux's local table). */
    readonly isLoopback = false,
  ) {
    this.name = device.name;
    this.linkMtu = Math.min(config.mtu ?? device.mtu, device.mtu);
    const ethernet = device.medium === 'ethernet';
    this.linkHeaderLen = ethernet ? ETHERNET_HEADER_LEN : 0;
    this.mac = config.mac ?? MacAddress.UNSPECIFIED;
    if (ethernet && !this.mac.isUnicast) throw new TypeError(`Interface ${this.name} needs a unicast MAC address, got ${this.mac}`);
    // No link layer, no neighbor to conflict with: a TUN address is usable at once.
    this.acd = { ...DEFAULT_ACD_CONFIG, ...config.acd, ...(ethernet ? {} : { enabled: false }) };
    for (const cidr of config.ipv4 ?? []) this.addIpv4(cidr, isLoopback ? 'loopback' : 'static');
    this.gateway = config.gateway;
    this.arp = ethernet ? new Arp(this, ctx, { ...DEFAULT_NEIGHBOR_CONFIG, ...config.arp }) : undefined;
    const iface = this;
    // Loopback keeps memberships (sockets join groups on 127.0.0.1, as on Linux) but reports
    // them to nobody: no router listens there, and Linux sends no IGMP on IFF_LOOPBACK.
    this.igmp = new IgmpHost(
      {
        get recordsBudget() {
          return iface.mtu - IGMP_REPORT_OVERHEAD;
        },
        send: isLoopback ? () => {} : (message, dst, now) => hooks.sendIgmp(iface, message, dst, now),
      },
      ctx.random,
    );
  }

  /** The IP MTU in use. */
  get mtu(): number {
    return this.linkMtu;
  }

  /** Lowers (or restores) the IP MTU, as a DHCP lease may ask (RFC 2132 §5.1); never above the device's or below 68. */
  setMtu(mtu: number): void {
    this.linkMtu = Math.max(68, Math.min(mtu, this.device.mtu));
  }

  get bindings(): readonly Ipv4Binding[] {
    return this.bindingList;
  }

  get claims(): readonly AddressClaim[] {
    return this.claimList;
  }

  /**
   * Configures an address; it is probed first (RFC 5227) unless the link has no
   * neighbors, and used only once clear. Adding an address already present is refused.
   */
  addIpv4(cidr: Ipv4Cidr, origin: AddressOrigin, onUsable?: (usable: boolean, now: number) => void): Ipv4Binding {
    if (this.bindingList.some((b) => b.cidr.address.equals(cidr.address))) throw new TypeError(`${cidr.address} is already configured on ${this.name}`);
    const binding: Ipv4Binding = { cidr, claim: new AddressClaim(cidr.address, this.acd, this.ctx.random, this), origin, onUsable };
    this.bindingList = [...this.bindingList, binding];
    this.claimList = this.bindingList.map((b) => b.claim);
    return binding;
  }

  /** Removes an address (a lease ended); its routes go with it. */
  removeIpv4(address: Ipv4Address): boolean {
    const binding = this.bindingList.find((b) => b.cidr.address.equals(address));
    if (!binding) return false;
    this.bindingList = this.bindingList.filter((b) => b !== binding);
    this.claimList = this.bindingList.map((b) => b.claim);
    if (binding.claim.usable) this.hooks.addressDown(this, binding);
    return true;
  }

  /** The binding of a usable address of this interface equal to `addr`. */
  usableBinding(addr: Ipv4Address): Ipv4Binding | undefined {
    for (const b of this.bindings) if (b.claim.usable && b.cidr.address.equals(addr)) return b;
    return undefined;
  }

  /**
   * Whether an IPv4 packet to `dst` is for this host on this interface (RFC 1122 §3.3.6). A
   * multicast is for us while the interface is in the group (RFC 1112 §6.2), and, given the
   * packet's `src`, when the group's source filter lets it in (RFC 3376 §3.2).
   */
  acceptsIpv4(dst: Ipv4Address, src?: Ipv4Address): boolean {
    if (dst.isBroadcast) return true;
    if (dst.isMulticast) {
      if (!this.igmp) return dst.value === 0xe0000001;
      return src ? this.igmp.isMemberFor(dst, src) : this.igmp.isMember(dst);
    }
    for (const b of this.bindings) {
      if (!b.claim.usable) continue;
      if (b.cidr.address.equals(dst)) return true;
      const bcast = b.cidr.broadcast;
      if (bcast && bcast.equals(dst)) return true;
    }
    return false;
  }

  /** Whether `dst` is a broadcast address on this interface (limited or subnet-directed). */
  isBroadcast(dst: Ipv4Address): boolean {
    if (dst.isBroadcast) return true;
    for (const b of this.bindings) if (b.cidr.isDirectedBroadcast(dst)) return true;
    return false;
  }

  sourceFor(target: Ipv4Address): Ipv4Address | undefined {
    let first: Ipv4Address | undefined;
    for (const b of this.bindings) {
      if (!b.claim.usable) continue;
      if (b.cidr.contains(target)) return b.cidr.address;
      first ??= b.cidr.address;
    }
    return first;
  }

  receive(frame: Uint8Array, now: number, checksumGood = false): void {
    if (!this.arp) return this.receiveIp(frame, now, checksumGood);
    const stats = this.ctx.stats.ethernet;
    const eth = EthernetFrame.checked(frame);
    if (isDrop(eth)) return stats.drop(eth);
    const dst = eth.dst;
    if (dst.value !== this.mac.value && !dst.isBroadcast && !(dst.isMulticast && this.acceptedMulticast.has(dst.value))) {
      return stats.drop('not-for-us');
    }
    stats.rx++;
    const type = eth.ethertype;
    if (type === EtherType.Ipv4) this.hooks.ipv4Input(this, eth.payload, now, dst.isMulticast, checksumGood);
    else if (type === EtherType.Arp) this.arp.receive(eth.payload, now);
    else if (type === EtherType.Ipv6) this.hooks.ipv6Input(this, eth.payload, now, checksumGood);
    else if (type < 0x0600) stats.drop('length-field');
    else stats.drop('unknown-ethertype');
  }

  private receiveIp(packet: Uint8Array, now: number, checksumGood: boolean): void {
    const version = packet.length > 0 ? packet[0] >> 4 : 0;
    if (version === 4) this.hooks.ipv4Input(this, packet, now, false, checksumGood);
    else if (version === 6) this.hooks.ipv6Input(this, packet, now, checksumGood);
    else this.ctx.stats.ethernet.drop('bad-ip-version');
  }

  /**
   * Sends a frame whose IP packet starts at `linkHeaderLen` to `nextHop`, resolving its
   * MAC first if needed (the frame then waits in the ARP queue).
   */
  transmitIpv4(frame: Uint8Array, nextHop: Ipv4Address, now: number): void {
    if (!this.arp) return this.transmit(frame);
    let dst: MacAddress | undefined;
    if (this.isBroadcast(nextHop)) dst = MacAddress.BROADCAST;
    else if (nextHop.isMulticast) dst = MacAddress.fromIpv4Multicast(nextHop);
    else dst = this.arp.resolve(nextHop, frame, now);
    this.writeEthernetHeader(frame, EtherType.Ipv4);
    if (dst) {
      dst.writeTo(frame, 0);
      this.transmit(frame);
    }
  }

  /**
   * Sends a frame whose IPv6 packet starts at `linkHeaderLen` to `nextHop`: multicast
   * MACs by RFC 2464 §7, a given MAC as is (ND's own messages), else through Neighbor
   * Discovery.
   */
  transmitIpv6(frame: Uint8Array, nextHop: Ipv6Address, now: number, dstMac?: MacAddress): void {
    if (!this.arp) return this.transmit(frame);
    this.writeEthernetHeader(frame, EtherType.Ipv6);
    const dst = dstMac ?? (nextHop.isMulticast ? MacAddress.fromIpv6Multicast(nextHop) : this.ipv6?.resolve(nextHop, frame, now));
    if (dst) {
      dst.writeTo(frame, 0);
      this.transmit(frame);
    }
  }

  /** Accept (or stop accepting) frames to a multicast MAC: the groups MLD and ND joined. */
  setMulticastMac(mac: MacAddress, accept: boolean): void {
    if (accept) this.acceptedMulticast.add(mac.value);
    else this.acceptedMulticast.delete(mac.value);
  }

  /**
   * `owner` wants IPv4 `group` here through `filter` (any source by default): IGMP reports it,
   * and frames to the group's MAC (RFC 1112 §6.4) come in while the interface is a member.
   */
  joinIpv4Group(group: Ipv4Address, owner: string, now: number, filter?: MulticastFilter<Ipv4Address>): IgmpJoinRefusal | 'no-igmp' | undefined {
    if (!this.igmp) return 'no-igmp';
    const refused = this.igmp.join(group, owner, now, filter);
    if (!refused) this.syncMulticastMac(MacAddress.fromIpv4Multicast(group));
    return refused;
  }

  leaveIpv4Group(group: Ipv4Address, owner: string, now: number): void {
    if (!this.igmp) return;
    this.igmp.leave(group, owner, now);
    this.syncMulticastMac(MacAddress.fromIpv4Multicast(group));
  }

  /** The IPv6 twin of `joinIpv4Group`, through MLD (RFC 3810) and the RFC 2464 §7 MAC. */
  joinIpv6Group(group: Ipv6Address, owner: string, now: number, filter?: MulticastFilter<Ipv6Address>): MldJoinRefusal | 'no-ipv6' | undefined {
    if (!this.ipv6) return 'no-ipv6';
    const refused = this.ipv6.mld.join(group, owner, now, filter);
    if (!refused) this.syncMulticastMac(MacAddress.fromIpv6Multicast(group));
    return refused;
  }

  leaveIpv6Group(group: Ipv6Address, owner: string, now: number): void {
    if (!this.ipv6) return;
    this.ipv6.mld.leave(group, owner, now);
    this.syncMulticastMac(MacAddress.fromIpv6Multicast(group));
  }

  /**
   * Accept `mac` while some group this interface is in maps to it: 32 IPv4 groups share each
   * MAC (RFC 1112 §6.4) and IPv6 groups share the low 32 bits (RFC 2464 §7), so leaving one
   * group must not deafen another.
   */
  private syncMulticastMac(mac: MacAddress): void {
    const macs = [...(this.igmp?.groups() ?? []).map((g) => MacAddress.fromIpv4Multicast(g)), ...(this.ipv6?.mld.groups() ?? []).map((g) => MacAddress.fromIpv6Multicast(g))];
    this.setMulticastMac(mac, macs.some((m) => m.value === mac.value));
  }

  neighborFailed(frames: Uint8Array[], now: number): void {
    this.hooks.neighborFailed(this, frames, now);
  }

  sendResolved(mac: MacAddress, frames: Uint8Array[]): void {
    for (const frame of frames) {
      mac.writeTo(frame, 0);
      this.transmit(frame);
    }
  }

  sendArp(dst: MacAddress, arp: ArpRepr): void {
    const eth = new EthernetRepr({ src: this.mac, dst, ethertype: EtherType.Arp });
    const frame = new Uint8Array(eth.bufferLen() + arp.bufferLen());
    eth.emit(frame, 0);
    arp.emit(frame, eth.bufferLen());
    this.ctx.stats.arp.tx++;
    this.transmit(frame);
  }

  sendProbe(address: Ipv4Address): void {
    this.arp?.sendProbe(address);
  }

  sendAnnouncement(address: Ipv4Address): void {
    this.arp?.sendAnnouncement(address);
  }

  ready(address: Ipv4Address, now: number): void {
    const binding = this.bindingOf(address);
    this.hooks.addressUp(this, binding);
    if (binding.origin !== 'loopback') this.ctx.notify({ type: 'address-ready', interface: this.name, address: binding.cidr, origin: binding.origin });
    binding.onUsable?.(true, now);
  }

  conflict(address: Ipv4Address, holder: MacAddress, wasInUse: boolean, now: number): void {
    const binding = this.bindingOf(address);
    // A conflict after the address was in use (a defence lost) takes its routes away.
    if (wasInUse) this.hooks.addressDown(this, binding);
    this.ctx.notify({ type: 'address-conflict', interface: this.name, address: binding.cidr, holder, origin: binding.origin });
    binding.onUsable?.(false, now);
  }

  poll(now: number): void {
    for (const c of this.claims) c.poll(now);
    this.arp?.cache.poll(now);
    this.igmp?.poll(now);
  }

  pollAt(): number | undefined {
    let next = this.arp?.cache.pollAt();
    const igmpAt = this.igmp?.pollAt();
    if (igmpAt !== undefined && (next === undefined || igmpAt < next)) next = igmpAt;
    for (const c of this.claims) {
      const at = c.pollAt();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  private bindingOf(address: Ipv4Address): Ipv4Binding {
    return this.bindings.find((b) => b.cidr.address.equals(address))!;
  }

  private writeEthernetHeader(frame: Uint8Array, ethertype: number): void {
    this.mac.writeTo(frame, 6);
    frame[12] = ethertype >> 8;
    frame[13] = ethertype & 0xff;
  }

  private transmit(frame: Uint8Array): void {
    this.ctx.stats.ethernet.tx++;
    this.device.transmit(frame);
  }
}
