import { describe, expect, it } from 'vitest';
import { Ipv4RoutingTable } from '../../lib/iface/routes';
import type { NetInterface } from '../../lib/iface/interface';
import { isDrop } from '../../lib/wire/drop';
import { arpFrame, ip, mac, parseArp, parseIcmp, pingFrame } from '../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC } from '../helpers/harness';

const eth0 = { name: 'eth0' } as NetInterface;
const eth1 = { name: 'eth1' } as NetInterface;

describe('IPv4 routing table', () => {
  function table() {
    const t = new Ipv4RoutingTable();
    t.add({ destination: '10.0.0.0/24', iface: eth0, origin: 'connected', src: ip('10.0.0.2') });
    t.add({ destination: '10.1.0.0/16', iface: eth1, origin: 'connected', src: ip('10.1.0.2') });
    return t;
  }

  it('picks the longest matching prefix', () => {
    const t = table();
    t.add({ destination: '0.0.0.0/0', iface: eth0, gateway: ip('10.0.0.1') });
    t.add({ destination: '10.1.5.0/24', iface: eth0, gateway: ip('10.0.0.254') });
    expect(t.lookup(ip('10.1.5.9'))?.gateway?.toString()).toBe('10.0.0.254');
    expect(t.lookup(ip('10.1.6.9'))?.iface).toBe(eth1);
    expect(t.lookup(ip('10.0.0.77'))?.gateway).toBeUndefined();
    expect(t.lookup(ip('192.0.2.1'))?.gateway?.toString()).toBe('10.0.0.1');
  });

  it('prefers the lower metric among equal prefixes, whatever the order they came in', () => {
    const t = table();
    t.add({ destination: '0.0.0.0/0', iface: eth0, gateway: ip('10.0.0.1'), metric: 200 });
    t.add({ destination: '0.0.0.0/0', iface: eth1, gateway: ip('10.1.0.1'), metric: 100 });
    expect(t.lookup(ip('192.0.2.1'))?.iface).toBe(eth1);
  });

  it('skips a route whose gateway is not on a connected prefix of its interface', () => {
    const t = table();
    t.add({ destination: '0.0.0.0/0', iface: eth0, gateway: ip('10.1.0.1'), metric: 1 });
    t.add({ destination: '0.0.0.0/0', iface: eth1, gateway: ip('10.1.0.1'), metric: 5 });
    expect(t.lookup(ip('192.0.2.1'))?.iface).toBe(eth1);
    t.remove({ iface: eth1, origin: 'connected' });
    expect(t.lookup(ip('192.0.2.1'))).toBeUndefined();
  });

  it('removes routes by origin, interface and gateway, and replaces an identical route', () => {
    const t = table();
    t.add({ destination: '0.0.0.0/0', iface: eth0, gateway: ip('10.0.0.1'), origin: 'dhcp' });
    t.add({ destination: '0.0.0.0/0', iface: eth0, gateway: ip('10.0.0.1'), origin: 'dhcp' });
    expect(t.list()).toHaveLength(3);
    expect(t.remove({ origin: 'dhcp', iface: eth0 })).toBe(1);
    expect(t.list()).toHaveLength(2);
    expect(t.lookup(ip('192.0.2.1'))).toBeUndefined();
  });

  it('stores destinations in network form', () => {
    const t = new Ipv4RoutingTable();
    const r = t.add({ destination: '10.9.8.7/8', iface: eth0 });
    expect(r.destination.toString()).toBe('10.0.0.0/8');
  });
});

describe('route and source address selection in the stack', () => {
  it('sends from the address on the destination\'s subnet', () => {
    const h = readyHarness({ ipv4: ['10.0.0.2/24', '10.0.1.2/24'] });
    const path = h.stack.ipv4.route(ip('10.0.1.50'));
    expect(!isDrop(path) && path.src.toString()).toBe('10.0.1.2');
    const path0 = h.stack.ipv4.route(ip('10.0.0.50'));
    expect(!isDrop(path0) && path0.src.toString()).toBe('10.0.0.2');
  });

  it('goes through the gateway for other destinations, from the address on the gateway\'s subnet', () => {
    const h = readyHarness({ ipv4: ['10.0.1.2/24', '10.0.0.2/24'], gateway: '10.0.0.1' });
    const path = h.stack.ipv4.route(ip('198.51.100.7'));
    expect(isDrop(path)).toBe(false);
    if (isDrop(path)) return;
    expect(path.nextHop.toString()).toBe('10.0.0.1');
    expect(path.src.toString()).toBe('10.0.0.2');
  });

  it('says no-route without a gateway, and refuses a source that is not ours', () => {
    const h = readyHarness();
    expect(h.stack.ipv4.route(ip('198.51.100.7'))).toBe('no-route');
    expect(h.stack.ipv4.route(ip('10.0.0.9'), ip('10.0.0.3'))).toBe('bad-source');
  });

  it('routes a more specific static route through its own gateway', () => {
    const h = readyHarness({ gateway: '10.0.0.1' });
    const iface = h.stack.interface('pipe0')!;
    h.stack.ipv4.routes.add({ destination: '192.0.2.0/24', iface, gateway: ip('10.0.0.254') });
    const path = h.stack.ipv4.route(ip('192.0.2.9'));
    expect(!isDrop(path) && path.nextHop.toString()).toBe('10.0.0.254');
    const other = h.stack.ipv4.route(ip('198.51.100.9'));
    expect(!isDrop(other) && other.nextHop.toString()).toBe('10.0.0.1');
  });

  it('pings a host beyond the gateway: ARP for the gateway, the echo request to the gateway\'s MAC', () => {
    const h = readyHarness({ gateway: '10.0.0.1' });
    expect(h.stack.icmpv4.ping({ dst: ip('192.0.2.9'), ident: 7, seq: 1 }, h.clock.now())).toBeUndefined();
    h.advance(0);
    const [query] = h.sent().map(parseArp);
    expect(query.arp.targetIp.toString()).toBe('10.0.0.1');
    h.inject(arpFrame({ op: 'reply', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetMac: STACK_MAC, targetIp: ip('10.0.0.2'), dst: STACK_MAC }));
    const [echo] = h.sent().map(parseIcmp);
    expect(echo.eth.dst.equals(PEER_MAC)).toBe(true);
    expect(echo.ip.dst.toString()).toBe('192.0.2.9');
    expect(echo.ip.src.toString()).toBe('10.0.0.2');
    expect(echo.icmp.type).toBe(8);
    // The far host answers through the gateway.
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: ip('192.0.2.9'), dst: ip('10.0.0.2'), ident: 7, seq: 1, ttl: 63, reply: true }));
    expect(h.events.filter((e) => e.type === 'echo-reply')).toEqual([{ type: 'echo-reply', from: ip('192.0.2.9'), ident: 7, seq: 1, ttl: 63, size: 8 }]);
  });

  it('takes an address\'s connected route away when the address is lost to a conflict', () => {
    const h = readyHarness({ acd: { enabled: true }, ipv4: ['10.0.0.2/24'], gateway: '10.0.0.1' });
    h.advance(15_000);
    expect(isDrop(h.stack.ipv4.route(ip('198.51.100.7')))).toBe(false);
    const other = mac('02:00:00:00:00:99');
    for (const wait of [0, 1_000]) {
      h.advance(wait);
      h.inject(arpFrame({ op: 'request', senderMac: other, senderIp: ip('10.0.0.2'), targetIp: ip('10.0.0.2') }));
    }
    expect(h.events.map((e) => e.type)).toContain('address-conflict');
    expect(h.stack.ipv4.route(ip('10.0.0.9'))).toBe('no-route');
    expect(h.stack.ipv4.route(ip('198.51.100.7'))).toBe('no-route');
  });
});
