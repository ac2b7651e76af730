import { describe, expect, it } from 'vitest';
import { MacAddress, type Ipv4Address } from '../../lib/wire/address';
import { BootpOp, Dhcp4MessageType, Dhcp4Packet, Dhcp4Repr } from '../../lib/wire/dhcp4';
import { isDrop } from '../../lib/wire/drop';
import { EtherType, EthernetFrame, EthernetRepr } from '../../lib/wire/ethernet';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { UdpPacket, UdpRepr } from '../../lib/wire/udp';
import { arpFrame, ethernetFrame, ip, mac, parseArp, parseIcmp, pingFrame } from '../helpers/frames';
import { harness, STACK_MAC } from '../helpers/harness';

const SERVER_MAC = mac('02:00:00:00:00:53');
const SERVER = ip('10.0.0.1');
const LEASED = ip('10.0.0.50');

interface Sent {
  eth: EthernetRepr;
  ip: Ipv4Repr;
  srcPort: number;
  dstPort: number;
  dhcp: Dhcp4Repr;
}

/** The DHCP messages among what the stack sent. */
function dhcpSent(frames: Uint8Array[]): Sent[] {
  const out: Sent[] = [];
  for (const f of frames) {
    const view = EthernetFrame.checked(f);
    if (isDrop(view) || view.ethertype !== EtherType.Ipv4) continue;
    const eth = EthernetRepr.parse(view) as EthernetRepr;
    const ipv = Ipv4Packet.checked(view.payload) as Ipv4Packet;
    const ipr = Ipv4Repr.parse(ipv) as Ipv4Repr;
    if (ipr.protocol !== IpProtocol.Udp) continue;
    const udpv = UdpPacket.checked(ipv.payload) as UdpPacket;
    const udp = UdpRepr.parse(udpv, { src: ipr.src, dst: ipr.dst });
    if (isDrop(udp)) throw new Error(`bad UDP from the stack: ${udp}`);
    const dhcp = Dhcp4Repr.parse(Dhcp4Packet.checked(udpv.payload) as Dhcp4Packet);
    if (isDrop(dhcp)) throw new Error(`bad DHCP from the stack: ${dhcp}`);
    out.push({ eth, ip: ipr, srcPort: udp.srcPort, dstPort: udp.dstPort, dhcp });
  }
  return out;
}

/** A server reply, unicast to the client's MAC and the offered address (broadcast flag clear). */
function reply(type: number, to: Dhcp4Repr, extra: { leaseTime?: number; yiaddr?: Ipv4Address } = {}): Uint8Array {
  const dhcp = new Dhcp4Repr({
    op: BootpOp.Reply,
    xid: to.xid,
    clientMac: to.clientMac,
    messageType: type,
    yiaddr: type === Dhcp4MessageType.Nak ? undefined : (extra.yiaddr ?? LEASED),
    serverId: SERVER,
    leaseTime: extra.leaseTime ?? 120,
    prefixLen: 24,
    routers: [SERVER],
    dnsServers: [ip('10.0.0.53')],
    interfaceMtu: 1400,
  });
  const payload = new Uint8Array(8 + dhcp.bufferLen());
  dhcp.emit(payload, 8);
  const dst = type === Dhcp4MessageType.Nak ? ip('255.255.255.255') : (extra.yiaddr ?? LEASED);
  const udp = new UdpRepr({ srcPort: 67, dstPort: 68, payloadLen: dhcp.bufferLen() });
  udp.emit(payload, 0, { src: SERVER, dst });
  const ipr = new Ipv4Repr({ src: SERVER, dst, protocol: IpProtocol.Udp, payloadLen: payload.length });
  return ethernetFrame(SERVER_MAC, type === Dhcp4MessageType.Nak ? MacAddress.BROADCAST : STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + payload.length, (b, o) => {
    ipr.emit(b, o);
    b.set(payload, o + ipr.bufferLen());
  });
}

/** A stack with DHCP only, taken to BOUND by a scripted server. */
function leased() {
  const h = harness({ ipv4: [], dhcp: true });
  h.advance(0);
  const [discover] = dhcpSent(h.sent());
  h.inject(reply(Dhcp4MessageType.Offer, discover.dhcp));
  const [request] = dhcpSent(h.sent());
  h.inject(reply(Dhcp4MessageType.Ack, request.dhcp));
  h.advance(10_000);
  h.sent();
  return { h, discover, request };
}

/** Answers the stack's ARP query for the server, as the server would, and returns what then went out. */
function answerArpForServer(h: ReturnType<typeof harness>, frames: Uint8Array[]): Uint8Array[] {
  const query = frames.map((f) => EthernetFrame.checked(f) as EthernetFrame).find((v) => v.ethertype === EtherType.Arp);
  expect(query, 'an ARP query for the server').toBeDefined();
  expect(parseArp(query!.buffer).arp.targetIp.equals(SERVER)).toBe(true);
  h.inject(arpFrame({ op: 'reply', senderMac: SERVER_MAC, senderIp: SERVER, targetMac: STACK_MAC, targetIp: LEASED, dst: STACK_MAC }));
  return h.sent();
}

describe('DHCPv4 in the stack', () => {
  it('broadcasts DISCOVER from 0.0.0.0:68 to 255.255.255.255:67 in a broadcast frame', () => {
    const h = harness({ ipv4: [], dhcp: true });
    h.advance(0);
    const [d] = dhcpSent(h.sent());
    expect(d.eth.dst.isBroadcast).toBe(true);
    expect(d.eth.src.equals(STACK_MAC)).toBe(true);
    expect(d.ip.src.toString()).toBe('0.0.0.0');
    expect(d.ip.dst.toString()).toBe('255.255.255.255');
    expect([d.srcPort, d.dstPort]).toEqual([68, 67]);
    expect(d.dhcp.messageType).toBe(Dhcp4MessageType.Discover);
    expect(d.dhcp.clientMac.equals(STACK_MAC)).toBe(true);
  });

  it('takes an OFFER sent unicast to the offered address, REQUESTs it, probes it after the ACK, then uses it', () => {
    const h = harness({ ipv4: [], dhcp: true });
    h.advance(0);
    const [discover] = dhcpSent(h.sent());
    h.inject(reply(Dhcp4MessageType.Offer, discover.dhcp));
    const [request] = dhcpSent(h.sent());
    expect(request.dhcp.messageType).toBe(Dhcp4MessageType.Request);
    expect(request.dhcp.requestedIp?.equals(LEASED)).toBe(true);
    h.inject(reply(Dhcp4MessageType.Ack, request.dhcp));
    // RFC 2131 §2.2 + RFC 5227: probes for the leased address before it is used.
    h.advance(3_000);
    const probes = h.sent().map(parseArp);
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes.every((p) => p.arp.senderIp.isUnspecified && p.arp.targetIp.equals(LEASED))).toBe(true);
    expect(h.events.map((e) => e.type)).not.toContain('dhcp-bound');
    h.advance(7_000);
    const bound = h.events.find((e) => e.type === 'dhcp-bound');
    expect(bound && bound.type === 'dhcp-bound' && bound.lease.address.toString()).toBe('10.0.0.50');
    const iface = h.stack.interface('pipe0')!;
    expect(iface.usableBinding(LEASED)?.origin).toBe('dhcp');
    expect(iface.dnsServers.map(String)).toEqual(['10.0.0.53']);
    expect(iface.mtu).toBe(1400);
    const path = h.stack.ipv4.route(ip('198.51.100.1'));
    expect(!isDrop(path) && `${path.nextHop} ${path.src}`).toBe('10.0.0.1 10.0.0.50');
    // And it answers on the leased address.
    h.sent();
    h.inject(arpFrame({ op: 'request', senderMac: SERVER_MAC, senderIp: SERVER, targetIp: LEASED }));
    expect(parseArp(h.sent()[0]).arp.senderIp.equals(LEASED)).toBe(true);
    h.inject(pingFrame({ srcMac: SERVER_MAC, dstMac: STACK_MAC, src: SERVER, dst: LEASED }));
    expect(parseIcmp(h.sent()[0]).ip.src.equals(LEASED)).toBe(true);
  });

  it('DECLINEs a leased address another host holds, never uses it, and starts over at least 10 s later', () => {
    const h = harness({ ipv4: [], dhcp: true });
    h.advance(0);
    const [discover] = dhcpSent(h.sent());
    h.inject(reply(Dhcp4MessageType.Offer, discover.dhcp));
    const [request] = dhcpSent(h.sent());
    h.inject(reply(Dhcp4MessageType.Ack, request.dhcp));
    h.advance(1_500);
    h.inject(arpFrame({ op: 'reply', senderMac: mac('02:00:00:00:00:99'), senderIp: LEASED, targetIp: LEASED }));
    const [decline] = dhcpSent(h.sent());
    expect(decline.dhcp.messageType).toBe(Dhcp4MessageType.Decline);
    expect(decline.dhcp.requestedIp?.equals(LEASED)).toBe(true);
    expect(h.stack.interface('pipe0')!.bindings).toEqual([]);
    expect(h.events.map((e) => e.type)).toContain('dhcp-unbound');
    h.advance(9_000);
    expect(dhcpSent(h.sent())).toEqual([]);
    h.advance(3_000);
    expect(dhcpSent(h.sent()).map((s) => s.dhcp.messageType)).toEqual([Dhcp4MessageType.Discover]);
  });

  it('renews at T1 unicast from the leased address to the server', () => {
    const { h } = leased();
    h.advance(50_000);
    const [renew] = dhcpSent(answerArpForServer(h, h.sent()));
    expect(renew.dhcp.messageType).toBe(Dhcp4MessageType.Request);
    expect(renew.ip.src.equals(LEASED)).toBe(true);
    expect(renew.ip.dst.equals(SERVER)).toBe(true);
    expect(renew.eth.dst.equals(SERVER_MAC)).toBe(true);
    expect(renew.dhcp.ciaddr.equals(LEASED)).toBe(true);
    h.inject(reply(Dhcp4MessageType.Ack, renew.dhcp));
    expect(h.events.filter((e) => e.type === 'dhcp-bound').map((e) => e.type === 'dhcp-bound' && e.renewed)).toEqual([false, true]);
  });

  it('removes the address and its routes when the lease expires unanswered, and starts over', () => {
    const { h } = leased();
    h.advance(130_000);
    expect(h.events.find((e) => e.type === 'dhcp-unbound')).toMatchObject({ reason: 'expired' });
    expect(h.stack.interface('pipe0')!.usableBinding(LEASED)).toBeUndefined();
    expect(h.stack.ipv4.route(ip('198.51.100.1'))).toBe('no-route');
    expect(dhcpSent(h.sent()).map((s) => s.dhcp.messageType)).toContain(Dhcp4MessageType.Discover);
  });

  it('RELEASEs the lease on shutdown, unicast to the server', () => {
    const { h } = leased();
    // The server's MAC is known once it has asked for ours, as it does before a unicast.
    h.inject(arpFrame({ op: 'request', senderMac: SERVER_MAC, senderIp: SERVER, targetIp: LEASED }));
    h.sent();
    h.stack.shutdown(h.clock.now());
    h.advance(0);
    const [release] = dhcpSent(h.sent());
    expect(release.dhcp.messageType).toBe(Dhcp4MessageType.Release);
    expect(release.ip.dst.equals(SERVER)).toBe(true);
    expect(release.dhcp.ciaddr.equals(LEASED)).toBe(true);
    expect(h.stack.interface('pipe0')!.bindings).toEqual([]);
  });

  it('keeps static addresses beside the lease', () => {
    const h = harness({ ipv4: ['10.0.0.2/24'], dhcp: true });
    h.advance(0);
    const [discover] = dhcpSent(h.sent());
    h.inject(reply(Dhcp4MessageType.Offer, discover.dhcp));
    const [request] = dhcpSent(h.sent());
    h.inject(reply(Dhcp4MessageType.Ack, request.dhcp));
    h.advance(15_000);
    expect(h.stack.interface('pipe0')!.bindings.filter((b) => b.claim.usable).map((b) => `${b.cidr} ${b.origin}`)).toEqual(['10.0.0.2/24 static', '10.0.0.50/24 dhcp']);
  });

  it('drops replies with a wrong xid and counts them; unicast DHCP replies are not accepted once bound', () => {
    const h = harness({ ipv4: [], dhcp: true });
    h.advance(0);
    const [discover] = dhcpSent(h.sent());
    const wrong = new Dhcp4Repr({ op: BootpOp.Request, xid: discover.dhcp.xid + 1, clientMac: STACK_MAC, messageType: Dhcp4MessageType.Discover });
    h.inject(reply(Dhcp4MessageType.Offer, wrong));
    expect(dhcpSent(h.sent())).toEqual([]);
    expect(Object.keys(h.stack.stats.dhcp4.dropped)).toEqual(['dhcp-wrong-xid']);
  });
});
