/**
 * ICMP errors (RFC 5927) as the kinds a TCP connection understands, the way Linux maps them;
 * the layer (tcp.ts) has already matched each to its connection.
 */
import type { Ipv4ErrorReport } from '../../iface/ipv4';
import type { Ipv6ErrorReport } from '../../iface/ipv6';
import type { TcpIcmpError } from './types';

/** Linux's icmp_err_convert, as the kinds a connection understands; the rest say nothing to TCP. */
export function icmpErrorOf4(report: Ipv4ErrorReport): TcpIcmpError | undefined {
  switch (report.kind) {
    case 'port-unreachable':
    case 'protocol-unreachable':
      return { kind: 'port-unreachable' };
    case 'net-unreachable':
      return { kind: 'net-unreachable' };
    case 'host-unreachable':
    case 'unreachable':
    case 'time-exceeded':
      return { kind: 'host-unreachable' };
    case 'prohibited':
      return { kind: 'admin-prohibited' };
    case 'frag-needed':
      return { kind: 'too-big', mtu: report.mtu ?? 0 };
    default:
      return undefined;
  }
}

/** Linux's icmpv6_err_convert (RFC 4443 §3.1 codes) and Packet Too Big (RFC 8201). */
export function icmpErrorOf6(report: Ipv6ErrorReport): TcpIcmpError | undefined {
  switch (report.kind) {
    case 'packet-too-big':
      return report.mtu === undefined ? undefined : { kind: 'too-big', mtu: report.mtu };
    case 'address-unreachable':
    case 'time-exceeded':
      return { kind: 'host-unreachable' };
    case 'unreachable':
      if (report.code === 4) return { kind: 'port-unreachable' };
      if (report.code === 0) return { kind: 'net-unreachable' };
      if (report.code === 1) return { kind: 'admin-prohibited' };
      return { kind: 'host-unreachable' };
    default:
      return undefined;
  }
}
