import { isDrop } from '../wire/drop';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type } from '../wire/icmpv4';
import { IpProtocol, type Ipv4Repr } from '../wire/ipv4';
import type { StackContext } from './context';
import type { NetInterface } from './interface';
import type { Ipv4Layer } from './ipv4';

/**
 * ICMPv4 (RFC 792) for a host: answers echo requests (RFC 1122 §3.2.2.6) and counts
 * the rest. Errors received are handed to the protocols they concern once those exist.
 */
export class Icmpv4 {
  constructor(private readonly ipv4: Ipv4Layer, private readonly ctx: StackContext) {
    ipv4.register(IpProtocol.Icmp, (ip, payload, iface, now) => this.receive(ip, payload, iface, now));
  }

  receive(ip: Ipv4Repr, payload: Uint8Array, iface: NetInterface, now: number): void {
    const stats = this.ctx.stats.icmpv4;
    const pkt = Icmpv4Packet.checked(payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const icmp = Icmpv4Repr.parse(pkt);
    if (isDrop(icmp)) return stats.drop(icmp);
    stats.rx++;
    if (icmp.type !== Icmpv4Type.EchoRequest) return;
    // Linux (icmp_echo_ignore_broadcasts=1) and RFC 1122 §3.2.2.6 allow silence to broadcast pings: avoids smurf amplification.
    if (ip.dst.isMulticast || iface.isBroadcast(ip.dst)) return stats.drop('broadcast-echo');
    const reply = Icmpv4Repr.echoReply(icmp.ident, icmp.seqNo, icmp.payload);
    // The reply leaves from the address the request came to.
    const dropped = this.ipv4.send(
      { src: ip.dst, dst: ip.src, protocol: IpProtocol.Icmp, payloadLen: reply.bufferLen(), writePayload: (buf, off) => reply.emit(buf, off) },
      now,
    );
    if (dropped === undefined) stats.tx++;
  }
}
