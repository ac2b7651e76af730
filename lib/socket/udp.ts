import { Ipv4Address, type Ipv6Address } from '../wire/address';
import { isDrop, type DropReason } from '../wire/drop';
import { IpProtocol, type Ipv4Repr } from '../wire/ipv4';
import { UdpPacket, UdpRepr, UDP_HEADER_LEN, type UdpPseudoHeader } from '../wire/udp';
import type { StackContext } from '../iface/context';
import { UnreachableCode, type Icmpv4 } from '../iface/icmpv4';
import type { NetInterface } from '../iface/interface';
import type { Ipv4Arrival, Ipv4ErrorReport, Ipv4Layer } from '../iface/ipv4';
import { Icmpv4Type } from '../wire/icmpv4';
import { Icmpv6Repr } from '../wire/icmpv6';
import { Ipv6NextHeader, type Ipv6Repr } from '../wire/ipv6';
import type { Icmpv6 } from '../iface/icmpv6';
import type { Ipv6Arrival, Ipv6Layer } from '../iface/ipv6';

export interface UdpDatagram {
  src: Ipv4Address | Ipv6Address;
  dst: Ipv4Address | Ipv6Address;
  srcPort: number;
  dstPort: number;
  /** A view on the received frame: copy it to keep it past the call. */
  payload: Uint8Array;
  iface: NetInterface;
}

export type UdpListener = (datagram: UdpDatagram, now: number) => void;

/** An ICMP error about a datagram we sent, resolved to its ports and a socket errno. */
export interface UdpErrorReport {
  local: Ipv4Address | Ipv6Address;
  localPort: number;
  remote: Ipv4Address | Ipv6Address;
  remotePort: number;
  errno: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'EMSGSIZE' | 'EACCES';
}

/** The socket table, consulted before the listeners (lib/socket/udp-socket.ts). */
export interface UdpEndpoints {
  /** Whether some socket took the datagram. */
  deliver(datagram: UdpDatagram, now: number): boolean;
  error(report: UdpErrorReport, now: number): void;
}

export interface UdpSend {
  src?: Ipv4Address | Ipv6Address;
  dst: Ipv4Address | Ipv6Address;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** Leave by this interface; with it, a source of 0.0.0.0 to a broadcast is allowed (RFC 1122 §3.2.1.3, DHCP). */
  iface?: NetInterface;
  /** IPv4 TTL or IPv6 hop limit; the layer's default (64) when not given. */
  ttl?: number;
  /** A multicast is also delivered to this host's sockets (Linux's IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP). */
  multicastLoop?: boolean;
}

/**
 * UDP (RFC 768) over IPv4 and IPv6: checksums verified and computed (required over IPv6,
 * RFC 8200 §8.1), datagrams demultiplexed by destination port to the listeners the
 * stack's own services and (later) sockets register, ICMP port unreachable for the rest
 * (RFC 1122 §4.1.3.1, RFC 4443 §3.1 code 4).
 */
export class Udp {
  private readonly listeners = new Map<number, { listener: UdpListener; iface?: NetInterface }[]>();
  private endpoints: UdpEndpoints | undefined;

  constructor(
    private readonly ipv4: Ipv4Layer,
    private readonly icmpv4: Icmpv4,
    private readonly ipv6: Ipv6Layer,
    private readonly icmpv6: Icmpv6,
    private readonly ctx: StackContext,
  ) {
    ipv4.register(IpProtocol.Udp, {
      receive: (ip, payload, arrival, now) => this.receive(ip, payload, arrival, now),
      error: (report, now) => this.error(report.original.src, report.original.dst, report.transport, errnoOf4(report.kind), now),
    });
    ipv6.register(Ipv6NextHeader.Udp, {
      receive: (ip, payload, arrival, now) => this.receive6(ip, payload, arrival, now),
      error: (report, now) => this.error(report.src, report.dst, report.transport, errnoOf6(report.kind, report.code), now),
    });
  }

  /** Sockets get datagrams before the listeners; set once by the socket table. */
  attach(endpoints: UdpEndpoints): void {
    this.endpoints = endpoints;
  }

  /** RFC 1122 §4.1.3.3: UDP passes ICMP errors up; the quote holds at least our ports (RFC 792). */
  private error(local: Ipv4Address | Ipv6Address, remote: Ipv4Address | Ipv6Address, transport: Uint8Array, errno: UdpErrorReport['errno'] | undefined, now: number): void {
    if (errno === undefined || transport.length < 4) return;
    const localPort = (transport[0] << 8) | transport[1];
    const remotePort = (transport[2] << 8) | transport[3];
    this.endpoints?.error({ local, localPort, remote, remotePort, errno }, now);
  }

  /** Delivers datagrams to `port` (on `iface` only, when given) to `listener`; returns the undo. */
  listen(port: number, listener: UdpListener, iface?: NetInterface): () => void {
    const entry = { listener, iface };
    this.listeners.set(port, [...(this.listeners.get(port) ?? []), entry]);
    return () => {
      const left = (this.listeners.get(port) ?? []).filter((e) => e !== entry);
      if (left.length) this.listeners.set(port, left);
      else this.listeners.delete(port);
    };
  }

  send(req: UdpSend, now: number): DropReason | undefined {
    const udp = new UdpRepr({ srcPort: req.srcPort, dstPort: req.dstPort, payloadLen: req.payload.length });
    const payloadLen = UDP_HEADER_LEN + req.payload.length;
    let dropped: DropReason | undefined;
    if (req.dst instanceof Ipv4Address) {
      const dst = req.dst;
      if (req.src !== undefined && !(req.src instanceof Ipv4Address)) return 'bad-source';
      const writePayload = (buf: Uint8Array, off: number, src: Ipv4Address) => this.write(buf, off, udp, req.payload, { src, dst });
      dropped = this.ipv4.send({ src: req.src, dst, iface: req.iface, protocol: IpProtocol.Udp, ttl: req.ttl, dontFragment: false, multicastLoop: req.multicastLoop, payloadLen, writePayload }, now);
    } else {
      const dst = req.dst;
      if (req.src instanceof Ipv4Address) return 'bad-source';
      const writePayload = (buf: Uint8Array, off: number, src: Ipv6Address) => this.write(buf, off, udp, req.payload, { src, dst });
      dropped = this.ipv6.send({ src: req.src, dst, iface: req.iface, nextHeader: Ipv6NextHeader.Udp, hopLimit: req.ttl, multicastLoop: req.multicastLoop, payloadLen, writePayload }, now);
    }
    if (dropped === undefined) this.ctx.stats.udp.tx++;
    return dropped;
  }

  /** The datagram in place: payload first, then the header with the checksum over both. */
  private write(buf: Uint8Array, off: number, udp: UdpRepr, payload: Uint8Array, pseudo: UdpPseudoHeader): void {
    buf.set(payload, off + UDP_HEADER_LEN);
    udp.emit(buf, off, pseudo);
  }

  private receive6(ip: Ipv6Repr, payload: Uint8Array, arrival: Ipv6Arrival, now: number): void {
    this.deliver(ip, payload, arrival.iface, now, () => {
      // RFC 4443 §3.1: code 4, port unreachable; never for a multicast destination (§2.4 (e)).
      if (!ip.dst.isMulticast) this.icmpv6.sendErrorAbout(Icmpv6Repr.destUnreachable(4, arrival.packet), ip, arrival.iface, now);
    });
  }

  private receive(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void {
    this.deliver(ip, payload, arrival.iface, now, () => this.icmpv4.sendError(Icmpv4Type.DestUnreachable, UnreachableCode.Port, ip, arrival, now));
  }

  /** Checks a datagram and hands it to the listeners on its port; `unreachable` when there are none. */
  private deliver(ip: UdpPseudoHeader, payload: Uint8Array, iface: NetInterface, now: number, unreachable: () => void): void {
    const stats = this.ctx.stats.udp;
    const pkt = UdpPacket.checked(payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const udp = UdpRepr.parse(pkt, ip);
    if (isDrop(udp)) return stats.drop(udp);
    const datagram: UdpDatagram = { src: ip.src, dst: ip.dst, srcPort: udp.srcPort, dstPort: udp.dstPort, payload: pkt.payload, iface };
    if (this.endpoints?.deliver(datagram, now)) {
      stats.rx++;
      return;
    }
    const entries = (this.listeners.get(udp.dstPort) ?? []).filter((e) => !e.iface || e.iface === iface);
    if (entries.length === 0) {
      stats.drop('port-unreachable');
      return unreachable();
    }
    stats.rx++;
    for (const e of entries) e.listener(datagram, now);
  }
}

/** Linux's icmp_err_convert for the errors a UDP socket hears; the rest are not reported. */
function errnoOf4(kind: Ipv4ErrorReport['kind']): UdpErrorReport['errno'] | undefined {
  switch (kind) {
    case 'port-unreachable':
    case 'protocol-unreachable':
      return 'ECONNREFUSED';
    case 'net-unreachable':
      return 'ENETUNREACH';
    case 'host-unreachable':
    case 'unreachable':
      return 'EHOSTUNREACH';
    case 'frag-needed':
      return 'EMSGSIZE';
    case 'prohibited':
      return 'EACCES';
    default:
      return undefined;
  }
}

/** Linux's icmpv6_err_convert (RFC 4443 §3.1 codes). */
function errnoOf6(kind: string, code: number): UdpErrorReport['errno'] | undefined {
  if (kind === 'packet-too-big') return 'EMSGSIZE';
  if (kind === 'address-unreachable') return 'EHOSTUNREACH';
  if (kind !== 'unreachable') return undefined;
  if (code === 4) return 'ECONNREFUSED';
  if (code === 0) return 'ENETUNREACH';
  if (code === 1) return 'EACCES';
  return 'EHOSTUNREACH';
}
