import { Ipv4Address, MacAddress } from '../wire/address';
import { ArpOperation, ArpPacket, ArpRepr } from '../wire/arp';
import { isDrop } from '../wire/drop';
import { AddressClaim } from './acd';
import type { StackContext } from './context';
import { NeighborCache } from './neighbor-cache';

/** What ARP needs from the Ethernet interface it runs on. */
export interface ArpLink {
  readonly name: string;
  readonly mac: MacAddress;
  /** The interface's IPv4 addresses with their conflict-detection state. */
  readonly claims: readonly AddressClaim[];
  /** The usable address to send from towards `target`: one on its subnet if any. */
  sourceFor(target: Ipv4Address): Ipv4Address | undefined;
  /** Sends an ARP packet in one frame. */
  sendArp(dst: MacAddress, arp: ArpRepr): void;
  /** Frames that waited for a neighbor that never answered: their senders hear "host unreachable". */
  neighborFailed(frames: Uint8Array[], now: number): void;
  /** Sends frames that waited for `mac` (their Ethernet destination still blank). */
  sendResolved(mac: MacAddress, frames: Uint8Array[]): void;
}

/**
 * ARP (RFC 826) for one interface: answers requests for its usable addresses, resolves
 * next hops through a neighbor cache with a pending-packet queue, and feeds every
 * received packet to address conflict detection (RFC 5227).
 */
export class Arp {
  readonly cache: NeighborCache<number, Uint8Array>;

  constructor(private readonly link: ArpLink, private readonly ctx: StackContext, cacheConfig?: NeighborCache<number, Uint8Array>['config']) {
    this.cache = new NeighborCache<number, Uint8Array>(
      {
        solicit: (key, unicast) => this.sendRequest(Ipv4Address.fromNumber(key), unicast),
        resolved: (_key, mac, frames) => this.link.sendResolved(mac, frames),
        failed: (key, frames, now) => {
          for (let i = 0; i < frames.length; i++) ctx.stats.ipv4.drop('neighbor-unreachable');
          ctx.notify({ type: 'neighbor-unreachable', interface: link.name, address: Ipv4Address.fromNumber(key) });
          this.link.neighborFailed(frames, now);
        },
      },
      cacheConfig,
    );
  }

  /** The next hop's MAC, or undefined after queueing the frame while ARP resolves it. */
  resolve(nextHop: Ipv4Address, frame: Uint8Array, now: number): MacAddress | undefined {
    return this.cache.resolve(nextHop.value, frame, now);
  }

  receive(payload: Uint8Array, now: number): void {
    const stats = this.ctx.stats.arp;
    const pkt = ArpPacket.checked(payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const arp = ArpRepr.parse(pkt);
    if (isDrop(arp)) return stats.drop(arp);
    if (!arp.senderMac.isUnicast) return stats.drop('bad-sender-mac');
    if (arp.senderMac.equals(this.link.mac)) return stats.drop('own-frame');
    stats.rx++;

    for (const claim of this.link.claims) claim.observe(arp, this.link.mac, now);

    // A probe (RFC 5227 §2.1.1) says nothing about its sender's address: learn nothing.
    if (arp.senderIp.isUnspecified) {
      const target = this.usableClaim(arp.targetIp);
      // Answering tells the prober the address is taken (RFC 5227 §2.1.1, as Linux does).
      if (target && arp.operation === ArpOperation.Request) this.sendReply(arp, target.address);
      return;
    }

    // A packet claiming one of our own addresses is conflict detection's business
    // (RFC 5227 §2.4): neither cache our address as a neighbor nor answer it.
    if (this.link.claims.some((c) => c.address.equals(arp.senderIp))) return;

    const target = this.usableClaim(arp.targetIp);
    // RFC 826 "merge": update the sender if known; add it only if the packet is for us.
    if (target && arp.operation === ArpOperation.Reply) {
      this.cache.learn(arp.senderIp.value, arp.senderMac, now, true);
      this.cache.confirm(arp.senderIp.value, arp.senderMac, now);
    } else {
      this.cache.learn(arp.senderIp.value, arp.senderMac, now, target !== undefined);
    }
    if (target && arp.operation === ArpOperation.Request) this.sendReply(arp, target.address);
  }

  private usableClaim(ip: Ipv4Address): AddressClaim | undefined {
    for (const c of this.link.claims) if (c.usable && c.address.equals(ip)) return c;
    return undefined;
  }

  private sendReply(request: ArpRepr, ours: Ipv4Address): void {
    this.link.sendArp(
      request.senderMac,
      new ArpRepr({ operation: ArpOperation.Reply, senderMac: this.link.mac, senderIp: ours, targetMac: request.senderMac, targetIp: request.senderIp }),
    );
  }

  private sendRequest(target: Ipv4Address, unicast: MacAddress | undefined): void {
    const source = this.link.sourceFor(target);
    if (!source) return;
    this.link.sendArp(
      unicast ?? MacAddress.BROADCAST,
      new ArpRepr({ operation: ArpOperation.Request, senderMac: this.link.mac, senderIp: source, targetMac: MacAddress.UNSPECIFIED, targetIp: target }),
    );
  }

  /** RFC 5227 §2.1.1: sender IP all zeros, so no one's cache learns an unproven address. */
  sendProbe(address: Ipv4Address): void {
    this.link.sendArp(
      MacAddress.BROADCAST,
      new ArpRepr({ operation: ArpOperation.Request, senderMac: this.link.mac, senderIp: Ipv4Address.UNSPECIFIED, targetMac: MacAddress.UNSPECIFIED, targetIp: address }),
    );
  }

  /** RFC 5227 §2.3: an ARP request with sender and target IP both the claimed address. */
  sendAnnouncement(address: Ipv4Address): void {
    this.link.sendArp(
      MacAddress.BROADCAST,
      new ArpRepr({ operation: ArpOperation.Request, senderMac: this.link.mac, senderIp: address, targetMac: MacAddress.UNSPECIFIED, targetIp: address }),
    );
  }
}
