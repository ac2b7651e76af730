import { Ipv4Cidr, type Ipv4Address } from '../wire/address';
import { DHCP4_CLIENT_PORT, DHCP4_SERVER_PORT, Dhcp4Packet, Dhcp4Repr } from '../wire/dhcp4';
import { isDrop } from '../wire/drop';
import type { Udp, UdpDatagram } from '../socket/udp';
import type { StackContext } from './context';
import { Dhcp4Client, type Dhcp4ClientConfig, type Dhcp4ClientHost, type Dhcp4Lease } from './dhcp4-client';
import type { NetInterface } from './interface';
import type { Ipv4Layer } from './ipv4';

/**
 * DHCPv4 on one interface: carries the client's messages over UDP, probes the leased
 * address with RFC 5227 conflict detection before using it (RFC 2131 §2.2), and applies
 * the lease: the address, a default route through the first router, DNS servers, MTU.
 * Static addresses on the same interface live beside it.
 */
export class Dhcp4Service implements Dhcp4ClientHost {
  readonly client: Dhcp4Client;
  private unlisten: (() => void) | undefined;
  private started = false;
  private bound: Dhcp4Lease | undefined;
  /** The time of the call in progress: the client's host callbacks carry no time of their own. */
  private now = 0;

  constructor(
    private readonly iface: NetInterface,
    private readonly ipv4: Ipv4Layer,
    private readonly udp: Udp,
    private readonly ctx: StackContext,
    config?: Partial<Dhcp4ClientConfig>,
  ) {
    this.client = new Dhcp4Client(this, ctx.random, config);
  }

  get mac() {
    return this.iface.mac;
  }

  poll(now: number): void {
    this.now = now;
    if (!this.started) {
      this.started = true;
      this.unlisten = this.udp.listen(DHCP4_CLIENT_PORT, (d, t) => this.receive(d, t), this.iface);
      this.iface.acceptsDhcpReplies = true;
      this.client.start(now);
    }
    this.client.poll(now);
  }

  pollAt(): number | undefined {
    return this.started ? this.client.pollAt() : 0;
  }

  /** Clean shutdown: RELEASE the lease (RFC 2131 §4.4.6) and stop listening. */
  release(now: number): void {
    if (!this.started) return;
    this.now = now;
    this.client.release(now);
    this.unlisten?.();
    this.unlisten = undefined;
    this.iface.acceptsDhcpReplies = false;
  }

  send(message: Dhcp4Repr, src: Ipv4Address, dst: Ipv4Address): void {
    const payload = new Uint8Array(message.bufferLen());
    message.emit(payload, 0);
    const dropped = this.udp.send(
      { src, dst, srcPort: DHCP4_CLIENT_PORT, dstPort: DHCP4_SERVER_PORT, payload, iface: this.iface },
      this.now,
    );
    if (dropped) this.ctx.stats.dhcp4.drop(`send-${dropped}`);
    else this.ctx.stats.dhcp4.tx++;
  }

  check(lease: Dhcp4Lease): void {
    const cidr = new Ipv4Cidr(lease.address, lease.prefixLen);
    this.iface.removeIpv4(lease.address);
    this.iface.addIpv4(cidr, 'dhcp', (usable, now) => {
      this.now = now;
      // Only the answer to this check counts (the client ignores any other address).
      if (this.client.state !== 'checking') return;
      // A conflicting address is never used: it goes, and the client DECLINEs it.
      if (!usable) this.iface.removeIpv4(lease.address);
      this.client.checked(lease.address, usable, now);
    });
  }

  bind(lease: Dhcp4Lease): void {
    const renewed = this.bound !== undefined && this.bound.address.equals(lease.address);
    this.bound = lease;
    this.iface.acceptsDhcpReplies = false;
    this.ipv4.routes.remove({ iface: this.iface, origin: 'dhcp' });
    // RFC 2132 §3.5: routers in order of preference; the first one is the default gateway.
    if (lease.routers.length > 0) {
      this.ipv4.routes.add({ destination: '0.0.0.0/0', iface: this.iface, gateway: lease.routers[0], origin: 'dhcp' });
    }
    this.iface.dnsServers = lease.dnsServers;
    if (lease.mtu !== undefined) this.iface.setMtu(lease.mtu);
    this.ctx.notify({ type: 'dhcp-bound', interface: this.iface.name, lease, renewed });
  }

  unbind(lease: Dhcp4Lease, reason: 'expired' | 'nak' | 'released' | 'declined'): void {
    this.bound = undefined;
    this.iface.removeIpv4(lease.address);
    this.ipv4.routes.remove({ iface: this.iface, origin: 'dhcp' });
    this.iface.dnsServers = [];
    this.iface.acceptsDhcpReplies = reason !== 'released';
    this.ctx.notify({ type: 'dhcp-unbound', interface: this.iface.name, address: new Ipv4Cidr(lease.address, lease.prefixLen), reason });
  }

  private receive(d: UdpDatagram, now: number): void {
    const stats = this.ctx.stats.dhcp4;
    this.now = now;
    if (d.srcPort !== DHCP4_SERVER_PORT) return stats.drop('not-from-server-port');
    const pkt = Dhcp4Packet.checked(d.payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const message = Dhcp4Repr.parse(pkt);
    if (isDrop(message)) return stats.drop(message);
    const dropped = this.client.receive(message, now);
    if (dropped) return stats.drop(dropped);
    stats.rx++;
  }
}
