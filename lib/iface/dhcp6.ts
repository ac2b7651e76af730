import type { Ipv6Address } from '../wire/address';
import { ALL_DHCP_RELAY_AGENTS_AND_SERVERS, DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Dhcp6Repr } from '../wire/dhcp6';
import { isDrop } from '../wire/drop';
import type { Udp, UdpDatagram } from '../socket/udp';
import type { StackContext } from './context';
import { Dhcp6Client, type Dhcp6ClientHost, type Dhcp6Lease } from './dhcp6-client';
import type { NetInterface } from './interface';
import type { Ipv6Host } from './ipv6-host';

/**
 * DHCPv6 on one interface, started by Router Advertisements (RFC 4861 §4.2): M asks
 * for stateful addresses, O (without M) for other configuration only. Leased addresses
 * are /128 (RFC 8415 §18.2.10.1: the prefix comes from RAs), probed by DAD before use,
 * declined when duplicate, released on clean shutdown.
 */
export class Dhcp6Service implements Dhcp6ClientHost {
  readonly client: Dhcp6Client;
  private unlisten: (() => void) | undefined;
  private mode: 'none' | 'stateful' | 'stateless' = 'none';
  /** DNS servers learned by DHCPv6 (RFC 3646). */
  dnsServers: Ipv6Address[] = [];
  /** The time of the call in progress: the client's host callbacks carry no time of their own. */
  private now = 0;

  constructor(private readonly iface: NetInterface, private readonly host: Ipv6Host, private readonly udp: Udp, private readonly ctx: StackContext) {
    this.client = new Dhcp6Client(this, ctx.random);
    host.onRouterFlags = (managed, other, now) => this.routerFlags(managed, other, now);
  }

  get mac() {
    return this.iface.mac;
  }

  poll(now: number): void {
    this.now = now;
    if (this.mode !== 'none') this.client.poll(now);
  }

  pollAt(): number | undefined {
    return this.mode === 'none' ? undefined : this.client.pollAt();
  }

  release(now: number): void {
    this.now = now;
    if (this.mode === 'stateful') this.client.release(now);
    this.unlisten?.();
    this.unlisten = undefined;
  }

  send(message: Dhcp6Repr): void {
    const src = this.host.sourceFor(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, this.now);
    if (!src || !src.isLinkLocal) return this.ctx.stats.udp.drop('dhcp6-no-link-local');
    const payload = new Uint8Array(message.bufferLen());
    message.emit(payload, 0);
    this.udp.send({ src, dst: ALL_DHCP_RELAY_AGENTS_AND_SERVERS, srcPort: DHCP6_CLIENT_PORT, dstPort: DHCP6_SERVER_PORT, payload, iface: this.iface, ttl: 1 }, this.now);
  }

  bind(lease: Dhcp6Lease): void {
    const now = this.now;
    this.host.configure(lease.address, 128, 'dhcp', now + lease.preferredS * 1000, now + lease.validS * 1000, (t) => this.client.declined(lease.address, t));
    this.dnsServers = lease.dnsServers;
    this.ctx.notify({ type: 'dhcp6-bound', interface: this.iface.name, address: lease.address, validS: lease.validS, dnsServers: lease.dnsServers });
  }

  unbind(lease: Dhcp6Lease, reason: 'expired' | 'released' | 'declined' | 'nak'): void {
    this.host.removeAddress(lease.address);
    this.ctx.notify({ type: 'dhcp6-unbound', interface: this.iface.name, address: lease.address, reason });
  }

  otherConfig(dnsServers: Ipv6Address[]): void {
    this.dnsServers = dnsServers;
  }

  private routerFlags(managed: boolean, other: boolean, now: number): void {
    this.now = now;
    if (managed && this.mode !== 'stateful') {
      this.listen();
      this.mode = 'stateful';
      this.client.startStateful(now);
    } else if (!managed && other && this.mode === 'none') {
      this.listen();
      this.mode = 'stateless';
      this.client.startStateless(now);
    }
  }

  private listen(): void {
    this.unlisten ??= this.udp.listen(DHCP6_CLIENT_PORT, (d, now) => this.receive(d, now), this.iface);
  }

  private receive(d: UdpDatagram, now: number): void {
    this.now = now;
    const stats = this.ctx.stats.udp;
    if (d.srcPort !== DHCP6_SERVER_PORT) return stats.drop('dhcp6-not-from-server-port');
    const message = Dhcp6Repr.parse(d.payload);
    if (isDrop(message)) return stats.drop(`dhcp6-${message}`);
    const dropped = this.client.receive(message, now, d.src as Ipv6Address);
    if (dropped) stats.drop(dropped);
  }
}
