import { Ipv4Address, Ipv6Address } from './address';
import { ArpOperation, ArpPacket, ArpRepr } from './arp';
import { isDrop } from './drop';
import { EtherType, EthernetFrame, EthernetRepr } from './ethernet';
import { isAtomic, isChainError, walkIpv6Chain } from './ipv6-ext';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type } from './icmpv4';
import { parseIgmp, type IgmpMessage } from './igmp';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4';
import { TCP_HEADER_LEN, TcpFlag, TcpPacket, flagsText } from './tcp';

/**
 * One line per frame for the packet log, in the spirit of tcpdump's summary line:
 *   02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 10.0.0.1 > 10.0.0.2 ttl 64 id 4711 ICMP echo request id 1 seq 1 len 56
 * It walks the layers the stack parses with the same views and reprs, so a frame the stack
 * would drop prints what was understood up to that layer and then `malformed (<reason>)`,
 * the reason being the drop counter's name. It never throws, whatever the bytes.
 *
 * UDP and IPv6 are read here directly from their fixed headers (ports, lengths) until
 * their own wire modules are wired in.
 */
export function describeFrame(frame: Uint8Array, medium: 'ethernet' | 'ip'): string {
  return medium === 'ethernet' ? describeEthernet(frame) : describeIp(frame);
}

function malformed(reason: string): string {
  return `malformed (${reason})`;
}

function hex16(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0');
}

function describeEthernet(buf: Uint8Array): string {
  const frame = EthernetFrame.checked(buf);
  if (isDrop(frame)) return `Ethernet len ${buf.length} ${malformed(frame)}`;
  const head = `${frame.src} > ${frame.dst}`;
  const repr = EthernetRepr.parse(frame);
  // IEEE 802.3: below 0x0600 the field is the length of an LLC frame.
  if (isDrop(repr)) return `${head} 802.3 len ${frame.ethertype} ${malformed(repr)}`;
  const payload = frame.payload;
  switch (repr.ethertype) {
    case EtherType.Arp:
      return `${head} ${describeArp(payload)}`;
    case EtherType.Ipv4:
      return `${head} ${describeIpv4(payload)}`;
    case EtherType.Ipv6:
      return `${head} ${describeIpv6(payload)}`;
    default:
      return `${head} ethertype ${hex16(repr.ethertype)} len ${payload.length}`;
  }
}

/** A TUN carries bare IP packets; the version nibble tells which. */
function describeIp(buf: Uint8Array): string {
  if (buf.length === 0) return `IP ${malformed('truncated')}`;
  const version = buf[0] >> 4;
  if (version === 4) return describeIpv4(buf);
  if (version === 6) return describeIpv6(buf);
  return `IP version ${version} ${malformed('bad-version')}`;
}

function describeArp(buf: Uint8Array): string {
  const pkt = ArpPacket.checked(buf);
  if (isDrop(pkt)) return `ARP ${malformed(pkt)}`;
  const repr = ArpRepr.parse(pkt);
  if (isDrop(repr)) {
    return `ARP htype ${pkt.hardwareType} ptype ${hex16(pkt.protocolType)} op ${pkt.operation} ${malformed(repr)}`;
  }
  if (repr.operation === ArpOperation.Request) return `ARP request who-has ${repr.targetIp} tell ${repr.senderIp}`;
  return `ARP reply ${repr.senderIp} is-at ${repr.senderMac}`;
}

function describeIpv4(buf: Uint8Array): string {
  const pkt = Ipv4Packet.checked(buf);
  if (isDrop(pkt)) return `IPv4 ${malformed(pkt)}`;
  let head = `IPv4 ${pkt.src} > ${pkt.dst} ttl ${pkt.ttl} id ${pkt.ident}`;
  const tos = (pkt.dscp << 2) | pkt.ecn;
  if (tos !== 0) head += ` tos 0x${tos.toString(16).padStart(2, '0')}`;
  if (pkt.dontFragment) head += ' DF';
  if (pkt.moreFragments) head += ' MF';
  if (pkt.fragmentOffset !== 0) head += ` frag ${pkt.fragmentOffset}`;
  if (pkt.options.length !== 0) head += ` options ${pkt.options.length}`;
  const repr = Ipv4Repr.parse(pkt);
  if (isDrop(repr)) return `${head} ${malformed(repr)}`;
  const payload = pkt.payload;
  // A fragment holds only part of the upper-layer message: name it, do not parse it.
  if (repr.moreFragments || repr.fragmentOffset !== 0) {
    return `${head} ${protocolName(repr.protocol)} fragment len ${payload.length}`;
  }
  return `${head} ${describeUpperLayer(repr.protocol, payload)}`;
}

function describeIpv6(buf: Uint8Array): string {
  if (buf.length < 40) return `IPv6 ${malformed('truncated')}`;
  const src = Ipv6Address.fromBytes(buf, 8);
  const dst = Ipv6Address.fromBytes(buf, 24);
  const payloadLen = (buf[4] << 8) | buf[5];
  const nextHeader = buf[6];
  const head = `IPv6 ${src} > ${dst} hlim ${buf[7]}`;
  if (40 + payloadLen > buf.length) return `${head} ${malformed('truncated')}`;
  const payload = buf.subarray(40, 40 + payloadLen);
  const chain = walkIpv6Chain(nextHeader, payload);
  if (isChainError(chain)) return `${head} ${malformed(chain.reason)}`;
  const ext = chain.headers.filter((h) => h !== 44).map((h) => IPV6_EXT_NAMES[h] ?? `ext ${h}`);
  const f = chain.fragment;
  if (f) {
    ext.push(`frag ${f.offset}${f.moreFragments ? ' MF' : ''} id ${f.ident}`);
    if (!isAtomic(f) && f.offset !== 0) return `${head} ${ext.join(' ')} ${protocolName(chain.upperProtocol)} fragment len ${payload.length - chain.upperOffset}`;
  }
  const prefix = ext.length ? `${ext.join(' ')} ` : '';
  return `${head} ${prefix}${describeUpperLayer(chain.upperProtocol, payload.subarray(chain.upperOffset))}`;
}

const IPV6_EXT_NAMES: Record<number, string> = { 0: 'HBH', 43: 'RH', 60: 'DSTOPT' };

/** RFC 4443, RFC 4861, RFC 3810 message names, as tcpdump prints them. */
const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  130: 'multicast listener query',
  131: 'multicast listener report v1',
  132: 'multicast listener done',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'multicast listener report v2',
};

function describeIcmpv6(buf: Uint8Array): string {
  if (buf.length < 4) return `ICMPv6 ${malformed('truncated')}`;
  const type = buf[0];
  const name = ICMPV6_NAMES[type] ?? `type ${type} code ${buf[1]}`;
  let detail = '';
  if ((type === 128 || type === 129) && buf.length >= 8) detail = ` id ${(buf[4] << 8) | buf[5]} seq ${(buf[6] << 8) | buf[7]}`;
  else if (type === 135 && buf.length >= 24) detail = ` who-has ${Ipv6Address.fromBytes(buf, 8)}`;
  else if (type === 136 && buf.length >= 24) detail = ` tgt is ${Ipv6Address.fromBytes(buf, 8)}`;
  else if (type === 2 && buf.length >= 8) detail = ` mtu ${((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0}`;
  return `ICMPv6 ${name}${detail} len ${buf.length}`;
}

function protocolName(protocol: number): string {
  switch (protocol) {
    case IpProtocol.Icmp:
      return 'ICMP';
    case IpProtocol.Igmp:
      return 'IGMP';
    case IpProtocol.Tcp:
      return 'TCP';
    case IpProtocol.Udp:
      return 'UDP';
    case IpProtocol.Icmpv6:
      return 'ICMPv6';
    default:
      return `proto ${protocol}`;
  }
}

function describeUpperLayer(protocol: number, payload: Uint8Array): string {
  switch (protocol) {
    case IpProtocol.Icmp:
      return describeIcmpv4(payload);
    case IpProtocol.Igmp:
      return describeIgmp(payload);
    case IpProtocol.Tcp:
      return describeTcp(payload);
    case IpProtocol.Udp:
      return describeUdp(payload);
    case IpProtocol.Icmpv6:
      return describeIcmpv6(payload);
    default:
      return `${protocolName(protocol)} len ${payload.length}`;
  }
}

function describeIcmpv4(buf: Uint8Array): string {
  const pkt = Icmpv4Packet.checked(buf);
  if (isDrop(pkt)) return `ICMP ${malformed(pkt)}`;
  const text = icmpv4Text(pkt);
  const repr = Icmpv4Repr.parse(pkt);
  return isDrop(repr) ? `${text} ${malformed(repr)}` : text;
}

/** RFC 792 message names; RFC 1191 §4 adds the next-hop MTU to "fragmentation needed". */
function icmpv4Text(pkt: Icmpv4Packet): string {
  const len = pkt.payload.length;
  const rest = pkt.restOfHeader;
  switch (pkt.type) {
    case Icmpv4Type.EchoRequest:
      return `ICMP echo request id ${pkt.ident} seq ${pkt.seqNo} len ${len}`;
    case Icmpv4Type.EchoReply:
      return `ICMP echo reply id ${pkt.ident} seq ${pkt.seqNo} len ${len}`;
    case Icmpv4Type.DestUnreachable: {
      const names = ['net', 'host', 'protocol', 'port'];
      if (pkt.code === 4) return `ICMP unreachable need-frag mtu ${rest & 0xffff} len ${len}`;
      const what = pkt.code < names.length ? names[pkt.code] : `code ${pkt.code}`;
      return `ICMP unreachable ${what} len ${len}`;
    }
    case Icmpv4Type.Redirect:
      return `ICMP redirect code ${pkt.code} to ${Ipv4Address.fromNumber(rest)} len ${len}`;
    case Icmpv4Type.TimeExceeded:
      return `ICMP time exceeded ${pkt.code === 0 ? 'in-transit' : pkt.code === 1 ? 'reassembly' : `code ${pkt.code}`} len ${len}`;
    case Icmpv4Type.ParamProblem:
      return `ICMP parameter problem pointer ${rest >>> 24} len ${len}`;
    default:
      return `ICMP type ${pkt.type} code ${pkt.code} len ${len}`;
  }
}

/** RFC 3376 §4.2.12 record types, named as tcpdump does. */
const IGMP_RECORD_NAMES = ['', 'is_in', 'is_ex', 'to_in', 'to_ex', 'allow', 'block'];

function describeIgmp(buf: Uint8Array): string {
  const msg = parseIgmp(buf);
  if (isDrop(msg)) return `IGMP ${malformed(msg)}`;
  return `IGMP ${igmpText(msg)} len ${buf.length}`;
}

function igmpText(msg: IgmpMessage): string {
  switch (msg.type) {
    case 'query': {
      const what = msg.group.isUnspecified ? 'general' : `${msg.group}`;
      const sources = msg.sources.length > 0 ? ` sources ${msg.sources.join(',')}` : '';
      return `v${msg.version} query ${what} mrt ${msg.maxResponseTimeMs}ms${sources}`;
    }
    case 'v3-report': {
      const records = msg.records.map((r) => `${IGMP_RECORD_NAMES[r.type] ?? `type ${r.type}`} ${r.group} {${r.sources.join(',')}}`);
      return `v3 report [${records.join(', ')}]`;
    }
    case 'v1-report':
      return `v1 report ${msg.group}`;
    case 'v2-report':
      return `v2 report ${msg.group}`;
    case 'v2-leave':
      return `v2 leave ${msg.group}`;
  }
}

function describeTcp(buf: Uint8Array): string {
  if (buf.length < TCP_HEADER_LEN) return `TCP ${malformed('truncated')}`;
  const head = `TCP ${(buf[0] << 8) | buf[1]} > ${(buf[2] << 8) | buf[3]}`;
  const pkt = TcpPacket.checked(buf);
  if (isDrop(pkt)) return `${head} ${malformed(pkt)}`;
  const ackText = pkt.flags & TcpFlag.Ack ? ` ack ${pkt.ack}` : '';
  return `${head} [${flagsText(pkt.flags)}] seq ${pkt.seq}${ackText} win ${pkt.window} len ${pkt.payload.length}`;
}

function describeUdp(buf: Uint8Array): string {
  if (buf.length < 8) return `UDP ${malformed('truncated')}`;
  const head = `UDP ${(buf[0] << 8) | buf[1]} > ${(buf[2] << 8) | buf[3]}`;
  const length = (buf[4] << 8) | buf[5];
  // RFC 768: the length counts the 8-byte header and cannot exceed what IP carried.
  if (length < 8 || length > buf.length) return `${head} ${malformed('bad-length')}`;
  return `${head} len ${length - 8}`;
}
