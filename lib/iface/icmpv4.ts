import type { Ipv4Address } from '../wire/address';
import { isDrop, type DropReason } from '../wire/drop';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type } from '../wire/icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../wire/ipv4';
import type { StackContext } from './context';
import type { NetInterface } from './interface';
import type { Ipv4Arrival, Ipv4ErrorReport, Ipv4Layer } from './ipv4';
import type { ExpiredDatagram } from './ipv4-reassembly';
import { TokenBucket } from './token-bucket';

/** RFC 792 destination unreachable codes a host uses. */
export const UnreachableCode = { Net: 0, Host: 1, Protocol: 2, Port: 3, FragmentationNeeded: 4 } as const;

/** RFC 1812 §4.3.2.3: an error carries as much of the datagram as fits in 576 bytes. */
const MAX_ERROR_DATAGRAM = 576;
const IP_HEADER = 20;
const ICMP_HEADER = 8;

/** ICMP types that are queries, not errors (RFC 792, RFC 1122 §3.2.2): an error may answer these. */
const QUERY_TYPES = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

export interface Icmpv4Options {
  /** ICMP errors sent per second at most, and the burst allowed (Linux: 1000 and 50). */
  errorRatePerSecond: number;
  errorBurst: number;
}

export const DEFAULT_ICMPV4_OPTIONS: Icmpv4Options = { errorRatePerSecond: 1000, errorBurst: 50 };

export interface PingRequest {
  dst: Ipv4Address;
  ident: number;
  seq: number;
  data?: Uint8Array;
  src?: Ipv4Address;
  ttl?: number;
}

/**
 * ICMPv4 for a host (RFC 792, RFC 1122 §3.2.2): answers echo requests, sends echo
 * requests for `ping`, generates errors where a host must (with the RFC 1122 §3.2.2
 * exceptions and a rate limit), and hands received errors, parsed down to the quoted
 * transport header, to the protocol they concern.
 */
export class Icmpv4 {
  private readonly errorBudget: TokenBucket;

  constructor(private readonly ipv4: Ipv4Layer, private readonly ctx: StackContext, opts: Partial<Icmpv4Options> = {}) {
    const o = { ...DEFAULT_ICMPV4_OPTIONS, ...opts };
    this.errorBudget = new TokenBucket(o.errorRatePerSecond, o.errorBurst);
    ipv4.register(IpProtocol.Icmp, {
      receive: (ip, payload, arrival, now) => this.receive(ip, payload, arrival, now),
      error: (report) => this.errorAboutOurs(report),
    });
    // RFC 1122 §3.2.2.1: a host SHOULD say protocol unreachable.
    ipv4.onUnknownProtocol = (ip, arrival, now) => this.sendError(Icmpv4Type.DestUnreachable, UnreachableCode.Protocol, ip, arrival, now);
    ipv4.onReassemblyTimeout = (expired, now) => this.reassemblyTimedOut(expired, now);
    // RFC 792: the pointer is in the first octet after the checksum.
    ipv4.onParameterProblem = (about, pointer, arrival, now) => this.sendError(Icmpv4Type.ParamProblem, 0, about, arrival, now, (pointer << 24) >>> 0);
  }

  /**
   * RFC 792 / RFC 1122 §3.3.2: Time Exceeded (code 1) when a datagram's fragments did not
   * all arrive in time, and only if fragment 0 did (it is what the error quotes).
   */
  private reassemblyTimedOut(expired: ExpiredDatagram, now: number): void {
    if (!expired.firstFragment) return;
    const pkt = Ipv4Packet.quoted(expired.firstFragment);
    if (isDrop(pkt)) return;
    const about = Ipv4Repr.parse(pkt, { verifyChecksum: false });
    if (isDrop(about)) return;
    const path = this.ipv4.route(about.src);
    if (isDrop(path)) return this.ctx.stats.icmpv4.drop(`no-error-${path}`);
    this.sendError(Icmpv4Type.TimeExceeded, 1, about, { iface: path.iface, packet: expired.firstFragment, linkBroadcast: false }, now);
  }

  /** Sends an echo request; the reply arrives as an 'echo-reply' event. */
  ping(req: PingRequest, now: number): DropReason | undefined {
    const icmp = Icmpv4Repr.echoRequest(req.ident, req.seq, req.data ?? new Uint8Array(56));
    const dropped = this.ipv4.send(
      { src: req.src, dst: req.dst, protocol: IpProtocol.Icmp, ttl: req.ttl, dontFragment: false, payloadLen: icmp.bufferLen(), writePayload: (b, o) => icmp.emit(b, o) },
      now,
    );
    if (dropped === undefined) this.ctx.stats.icmpv4.tx++;
    return dropped;
  }

  receive(ip: Ipv4Repr, payload: Uint8Array, arrival: Ipv4Arrival, now: number): void {
    const stats = this.ctx.stats.icmpv4;
    const pkt = Icmpv4Packet.checked(payload);
    if (isDrop(pkt)) return stats.drop(pkt);
    const icmp = Icmpv4Repr.parse(pkt);
    if (isDrop(icmp)) return stats.drop(icmp);
    stats.rx++;
    switch (icmp.type) {
      case Icmpv4Type.EchoRequest:
        return this.answerEcho(ip, icmp, arrival.iface, now);
      case Icmpv4Type.EchoReply:
        this.ctx.notify({ type: 'echo-reply', from: ip.src, ident: icmp.ident, seq: icmp.seqNo, ttl: ip.ttl, size: icmp.payload.length });
        return;
      case Icmpv4Type.DestUnreachable:
      case Icmpv4Type.TimeExceeded:
      case Icmpv4Type.ParamProblem:
        return this.receiveError(ip, icmp, now);
      default:
        return;
    }
  }

  /**
   * Sends an ICMP error about a received datagram, unless RFC 1122 §3.2.2 forbids it:
   * never about an ICMP error, a datagram to a broadcast or multicast address or sent
   * in a link-layer broadcast, a fragment other than the first, or from a source that
   * is not one host (RFC 1812 §4.3.2.7 adds 0.0.0.0, loopback and class E).
   */
  sendError(type: number, code: number, about: Ipv4Repr, arrival: Ipv4Arrival, now: number, restOfHeader = 0): void {
    const stats = this.ctx.stats.icmpv4;
    const reason = this.errorForbidden(about, arrival);
    if (reason) return stats.drop(`no-error-${reason}`);
    if (!this.errorBudget.take(now)) return stats.drop('error-rate-limited');
    const quoteLen = Math.min(arrival.packet.length, MAX_ERROR_DATAGRAM - IP_HEADER - ICMP_HEADER);
    const icmp = new Icmpv4Repr({ type, code, restOfHeader, payload: arrival.packet.subarray(0, quoteLen) });
    // The error leaves from the address the datagram was sent to when that is ours.
    const src = this.ipv4.isLocal(about.dst) ? about.dst : undefined;
    const dropped = this.ipv4.send(
      { src, dst: about.src, protocol: IpProtocol.Icmp, dontFragment: false, payloadLen: icmp.bufferLen(), writePayload: (b, o) => icmp.emit(b, o) },
      now,
    );
    if (dropped === undefined) stats.tx++;
  }

  /** "Host unreachable" for our own datagrams that ARP could not deliver, told to their protocols (Linux does the same). */
  neighborFailed(iface: NetInterface, frames: Uint8Array[], now: number): void {
    for (const frame of frames) {
      const pkt = Ipv4Packet.checked(frame.subarray(iface.linkHeaderLen));
      if (isDrop(pkt)) continue;
      const original = Ipv4Repr.parse(pkt, { verifyChecksum: false });
      if (isDrop(original)) continue;
      this.ipv4.deliverError(
        { kind: 'host-unreachable', type: Icmpv4Type.DestUnreachable, code: UnreachableCode.Host, reporter: undefined, original, transport: pkt.payload },
        now,
      );
    }
  }

  private answerEcho(ip: Ipv4Repr, icmp: Icmpv4Repr, iface: NetInterface, now: number): void {
    const stats = this.ctx.stats.icmpv4;
    // Linux (icmp_echo_ignore_broadcasts=1) and RFC 1122 §3.2.2.6 allow silence to broadcast pings: avoids smurf amplification.
    if (ip.dst.isMulticast || iface.isBroadcast(ip.dst)) return stats.drop('broadcast-echo');
    const reply = Icmpv4Repr.echoReply(icmp.ident, icmp.seqNo, icmp.payload);
    // The reply leaves from the address the request came to.
    const dropped = this.ipv4.send(
      { src: ip.dst, dst: ip.src, protocol: IpProtocol.Icmp, dontFragment: false, payloadLen: reply.bufferLen(), writePayload: (buf, off) => reply.emit(buf, off) },
      now,
    );
    if (dropped === undefined) stats.tx++;
  }

  private receiveError(ip: Ipv4Repr, icmp: Icmpv4Repr, now: number): void {
    const stats = this.ctx.stats.icmpv4;
    const quoted = Ipv4Packet.quoted(icmp.payload);
    if (isDrop(quoted)) return stats.drop(`bad-quote-${quoted}`);
    const original = Ipv4Repr.parse(quoted, { verifyChecksum: false });
    if (isDrop(original)) return stats.drop(`bad-quote-${original}`);
    // RFC 5927 §4: an error must be about a datagram we could have sent.
    if (!this.ipv4.isLocal(original.src)) return stats.drop('error-not-ours');
    this.ipv4.deliverError({ ...classify(icmp), reporter: ip.src, original, transport: quoted.payload }, now);
  }

  /** Errors about our own echo requests, for ping. */
  private errorAboutOurs(report: Ipv4ErrorReport): void {
    const t = report.transport;
    if (t.length < 8 || t[0] !== Icmpv4Type.EchoRequest) return;
    this.ctx.notify({
      type: 'echo-error',
      to: report.original.dst,
      ident: (t[4] << 8) | t[5],
      seq: (t[6] << 8) | t[7],
      kind: report.kind,
      reporter: report.reporter,
    });
  }

  private errorForbidden(about: Ipv4Repr, arrival: Ipv4Arrival): string | undefined {
    const { iface } = arrival;
    if (arrival.linkBroadcast) return 'link-broadcast';
    if (about.dst.isBroadcast || about.dst.isMulticast || iface.isBroadcast(about.dst)) return 'broadcast';
    if (about.fragmentOffset !== 0) return 'fragment';
    const s = about.src;
    if (s.isUnspecified || s.isBroadcast || s.isMulticast || s.isReserved || iface.isBroadcast(s) || (s.isLoopback && !iface.isLoopback)) return 'bad-source';
    if (about.protocol === IpProtocol.Icmp) {
      const p = arrival.packet;
      const headerLen = (p[0] & 0xf) * 4;
      // An ICMP message too short to tell its type counts as an error: say nothing.
      if (p.length <= headerLen || !QUERY_TYPES.has(p[headerLen])) return 'about-error';
    }
    return undefined;
  }
}

function classify(icmp: Icmpv4Repr): Pick<Ipv4ErrorReport, 'kind' | 'type' | 'code' | 'mtu'> {
  const { type, code } = icmp;
  if (type === Icmpv4Type.TimeExceeded) return { kind: 'time-exceeded', type, code };
  if (type === Icmpv4Type.ParamProblem) return { kind: 'param-problem', type, code };
  switch (code) {
    case 0:
    case 6:
    case 9:
      return { kind: 'net-unreachable', type, code };
    case 1:
    case 7:
    case 10:
      return { kind: 'host-unreachable', type, code };
    case 2:
      return { kind: 'protocol-unreachable', type, code };
    case 3:
      return { kind: 'port-unreachable', type, code };
    case 4:
      // RFC 1191 §4: the next-hop MTU is in the low 16 bits; 0 from old routers.
      return { kind: 'frag-needed', type, code, mtu: icmp.restOfHeader & 0xffff || undefined };
    case 13:
      return { kind: 'prohibited', type, code };
    default:
      return { kind: 'unreachable', type, code };
  }
}
