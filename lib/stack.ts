import { CryptoRandom, type Random } from './random';
import { StackStats } from './stats';
import type { Device } from './phy/device';
import { Ipv4Address, Ipv4Cidr, Ipv6Address, MacAddress } from './wire/address';
import { Icmpv6 } from './iface/icmpv6';
import { Ipv6Layer } from './iface/ipv6';
import { Ipv6Host } from './iface/ipv6-host';
import type { DadConfig } from './iface/ipv6-dad';
import type { AcdConfig } from './iface/acd';
import type { StackContext, StackEvent } from './iface/context';
import { Dhcp4Service } from './iface/dhcp4';
import { Dhcp6Service } from './iface/dhcp6';
import type { Dhcp4ClientConfig } from './iface/dhcp4-client';
import { Icmpv4, type Icmpv4Options } from './iface/icmpv4';
import { Udp } from './socket/udp';
import { UdpSocketTable, type UdpSocketOptions } from './socket/udp-socket';
import { Tcp } from './socket/tcp/tcp';
import type { TcpConfig } from './socket/tcp/config';
import { NetInterface, type InterfaceHooks } from './iface/interface';
import { LoopbackDevice } from './phy/loopback';
import { Ipv4Layer } from './iface/ipv4';
import type { ReassemblyConfig } from './iface/ipv4-reassembly';
import type { NeighborConfig } from './iface/neighbor-cache';

export type { StackEvent } from './iface/context';

export interface InterfaceOptions {
  device: Device;
  /** The stack's MAC on a TAP; by default a random locally administered one. */
  mac?: MacAddress | string;
  /** IPv4 addresses with their prefix length: '10.0.0.2/24'. */
  ipv4?: (Ipv4Cidr | string)[];
  gateway?: Ipv4Address | string;
  mtu?: number;
  acd?: Partial<AcdConfig>;
  arp?: Partial<NeighborConfig>;
  /** Get an address by DHCP (RFC 2131) beside any static ones; `true` or client settings. */
  dhcp?: boolean | Partial<Dhcp4ClientConfig>;
  /** IPv6 (on by default on Ethernet): a link-local address, static addresses, SLAAC; `false` turns it off. */
  ipv6?: false | { addresses?: (string | { address: Ipv6Address; prefixLen: number })[]; slaac?: boolean; interfaceIds?: 'eui64' | 'stable-privacy'; dad?: Partial<DadConfig> };
}

export interface StackOptions {
  interfaces: InterfaceOptions[];
  /** Randomness for protocol choices (probe jitter, identifiers); seed it in tests. */
  random?: Random;
  /** A loopback interface 'lo' with 127.0.0.1/8, through which the stack reaches its own addresses (default on). */
  loopback?: boolean;
  icmpv4?: Partial<Icmpv4Options>;
  /** Limits on IPv4 reassembly (time, memory); defaults are Linux's. */
  reassembly?: Partial<ReassemblyConfig>;
  /** UDP sockets: ephemeral port range, receive buffer size. */
  udpSockets?: Partial<UdpSocketOptions>;
  /** TCP tunables (lib/socket/tcp/config.ts); Linux's defaults where it has them. */
  tcp?: Partial<TcpConfig>;
}

/** Passes of one poll while the loopback device has packets (a handshake takes three). */
const LOOPBACK_PASSES = 8;

/**
 * A TCP/IP stack, sans-IO: it does nothing until `poll(now)`, which drains every
 * device, runs the protocols, fires due timers and flushes what they sent. `pollAt()`
 * says when it next has timed work. Notifications queue up and are taken with
 * `takeEvents()` after `poll` returns, so no user code ever runs inside the stack.
 */
export class Stack {
  readonly stats = new StackStats();
  readonly interfaces: readonly NetInterface[];
  readonly ipv4: Ipv4Layer;
  readonly icmpv4: Icmpv4;
  readonly udp: Udp;
  /** The UDP sockets; `udpSockets.takeReady()` after `poll` says which have data or an error. */
  readonly udpSockets: UdpSocketTable;
  /** TCP: `tcp.listen` / `tcp.connect`; `tcp.takeReady()` after `poll` says which connections and listeners have news. */
  readonly tcp: Tcp;
  readonly ipv6: Ipv6Layer;
  readonly icmpv6: Icmpv6;
  /** The DHCP clients, by interface name. */
  readonly dhcp4 = new Map<string, Dhcp4Service>();
  /** The DHCPv6 clients, by interface name: they start when a Router Advertisement sets M or O. */
  readonly dhcp6 = new Map<string, Dhcp6Service>();
  private events: StackEvent[] = [];
  private readonly loopback: LoopbackDevice | undefined;
  /** The time of the poll in progress, for machinery whose callbacks carry no time. */
  private lastNow = 0;

  constructor(opts: StackOptions) {
    const random = opts.random ?? new CryptoRandom();
    const ctx: StackContext = { stats: this.stats, random, notify: (e) => this.events.push(e) };
    const interfaces: NetInterface[] = [];
    this.interfaces = interfaces;
    this.ipv4 = new Ipv4Layer(interfaces, ctx, opts.reassembly);
    this.icmpv4 = new Icmpv4(this.ipv4, ctx, opts.icmpv4);
    this.ipv6 = new Ipv6Layer(interfaces, ctx);
    this.icmpv6 = new Icmpv6(this.ipv6, ctx);
    this.udp = new Udp(this.ipv4, this.icmpv4, this.ipv6, this.icmpv6, ctx);
    this.udpSockets = new UdpSocketTable(this.udp, this.ipv4, this.ipv6, ctx, opts.udpSockets);
    this.tcp = new Tcp(this.ipv4, this.ipv6, ctx, opts.tcp);
    const hooks: InterfaceHooks = {
      ipv4Input: (iface, packet, now, linkBroadcast, checksumGood) => this.ipv4.receive(iface, packet, now, linkBroadcast, checksumGood),
      ipv6Input: (iface, packet, now, checksumGood) => this.ipv6.receive(iface, packet, now, checksumGood),
      neighborFailed: (iface, frames, now) => this.icmpv4.neighborFailed(iface, frames, now),
      addressUp: (iface, binding) => this.ipv4.addressUp(iface, binding),
      addressDown: (iface, binding) => this.ipv4.addressDown(iface, binding),
      sendIgmp: (iface, message, dst, now) => this.ipv4.sendIgmp(iface, message, dst, now),
    };
    for (const o of opts.interfaces) {
      const iface = new NetInterface(
        o.device,
        {
          mac: typeof o.mac === 'string' ? MacAddress.parse(o.mac) : (o.mac ?? (o.device.medium === 'ethernet' ? randomMac(random) : undefined)),
          ipv4: (o.ipv4 ?? []).map((c) => (typeof c === 'string' ? Ipv4Cidr.parse(c) : c)),
          gateway: typeof o.gateway === 'string' ? Ipv4Address.parse(o.gateway) : o.gateway,
          mtu: o.mtu,
          acd: o.acd,
          arp: o.arp,
        },
        ctx,
        hooks,
      );
      interfaces.push(iface);
      // The default route through the gateway; used while the gateway is on a connected prefix.
      if (iface.gateway) this.ipv4.routes.add({ destination: '0.0.0.0/0', iface, gateway: iface.gateway, origin: 'static' });
      if (iface.arp && o.ipv6 !== false) {
        const host = this.ipv6Host(iface, ctx, o.ipv6 ?? {});
        iface.ipv6 = host;
        // RFC 4862 §5.5 / RFC 8415: with SLAAC on, the RA's M and O flags also start DHCPv6.
        if (o.ipv6?.slaac ?? true) this.dhcp6.set(iface.name, new Dhcp6Service(iface, host, this.udp, ctx));
      }
      if (o.dhcp) {
        if (!iface.arp) throw new TypeError(`DHCP needs an Ethernet interface; ${iface.name} is not`);
        this.dhcp4.set(iface.name, new Dhcp4Service(iface, this.ipv4, this.udp, ctx, o.dhcp === true ? undefined : o.dhcp));
      }
    }
    if (opts.loopback ?? true) {
      this.loopback = new LoopbackDevice();
      interfaces.push(new NetInterface(this.loopback, { ipv4: [Ipv4Cidr.parse('127.0.0.1/8')] }, ctx, hooks, true));
    }
    const names = new Set(interfaces.map((i) => i.name));
    if (names.size !== interfaces.length) throw new TypeError('Two interfaces of a stack share a device name');
  }

  private ipv6Host(iface: NetInterface, ctx: StackContext, o: Exclude<InterfaceOptions['ipv6'], false | undefined>): Ipv6Host {
    const addresses = (o.addresses ?? []).map((a) => {
      if (typeof a !== 'string') return a;
      const [addr, len] = a.split('/');
      return { address: Ipv6Address.parse(addr), prefixLen: len === undefined ? 64 : Number(len) };
    });
    return new Ipv6Host(
      {
        name: iface.name,
        mac: iface.mac,
        mtu: iface.mtu,
        sendIcmpv6: (icmp, src, dst, opts) => this.icmpv6.send(icmp, dst, this.lastNow, { src, iface, ...opts }),
        sendResolved: (mac, frames) => iface.sendResolved(mac, frames),
        neighborFailed: (frames, now) => this.icmpv6.neighborFailed(iface, frames, now),
        setMulticastMac: (mac, accept) => iface.setMulticastMac(mac, accept),
      },
      ctx,
      { interfaceIds: o.interfaceIds ?? 'eui64', static: addresses, slaac: o.slaac ?? true, dad: o.dad ?? {} },
    );
  }

  /** The interface on `name`, loopback included ('lo'). */
  interface(name: string): NetInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  poll(now: number): void {
    this.pass(now);
    // Linux hands a loopback packet to the receiving side within the sending call: a connect
    // to a local listener is established, and the listener holds the connection, before
    // connect() returns. Passes go on while `lo` holds packets, a bounded number of times.
    for (let pass = 1; pass < LOOPBACK_PASSES && this.loopback?.holdsPackets; pass++) this.pass(now);
  }

  private pass(now: number): void {
    this.lastNow = now;
    for (const iface of this.interfaces) {
      const device = iface.device;
      for (let frame = device.receive(); frame !== undefined; frame = device.receive()) iface.receive(frame, now, device.receivedChecksumGood?.() === true);
    }
    for (const iface of this.interfaces) iface.poll(now);
    this.ipv4.poll(now);
    for (const dhcp of this.dhcp4.values()) dhcp.poll(now);
    for (const dhcp of this.dhcp6.values()) dhcp.poll(now);
    for (const iface of this.interfaces) iface.ipv6?.poll(now);
    this.ipv6.poll(now);
    this.tcp.poll(now);
    for (const iface of this.interfaces) iface.device.flush();
  }

  pollAt(): number | undefined {
    let next = this.ipv4.pollAt();
    const ipv6At = this.ipv6.pollAt();
    if (ipv6At !== undefined && (next === undefined || ipv6At < next)) next = ipv6At;
    const tcpAt = this.tcp.pollAt();
    if (tcpAt !== undefined && (next === undefined || tcpAt < next)) next = tcpAt;
    for (const dhcp of this.dhcp4.values()) {
      const at = dhcp.pollAt();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    for (const dhcp of this.dhcp6.values()) {
      const at = dhcp.pollAt();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    for (const iface of this.interfaces) {
      const at = iface.pollAt();
      if (at !== undefined && (next === undefined || at < next)) next = at;
      const deviceAt = iface.device.pollAt?.();
      if (deviceAt !== undefined && (next === undefined || deviceAt < next)) next = deviceAt;
      const hostAt = iface.ipv6?.pollAt();
      if (hostAt !== undefined && (next === undefined || hostAt < next)) next = hostAt;
    }
    return next;
  }

  /** The notifications queued since the last call, oldest first. */
  takeEvents(): StackEvent[] {
    const taken = this.events;
    this.events = [];
    return taken;
  }

  /**
   * A clean goodbye before the devices close: TCP connections are reset, so no peer waits on
   * a connection that is gone, and DHCP leases are released (RFC 2131 §4.4.6).
   */
  shutdown(now: number): void {
    this.tcp.shutdown(now);
    for (const dhcp of this.dhcp4.values()) dhcp.release(now);
    for (const dhcp of this.dhcp6.values()) dhcp.release(now);
  }

  close(): void {
    for (const iface of this.interfaces) iface.device.close();
  }
}

export function createStack(opts: StackOptions): Stack {
  return new Stack(opts);
}

/** A random unicast, locally administered MAC (IEEE 802: U/L bit set, I/G bit clear). */
function randomMac(random: Random): MacAddress {
  const hi = (random.u32() & 0xfeff) | 0x0200;
  return MacAddress.fromNumber(hi * 0x1_0000_0000 + random.u32());
}
