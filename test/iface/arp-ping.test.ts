import { describe, expect, it } from 'vitest';
import { ArpOperation } from '../../lib/wire/arp';
import { MacAddress } from '../../lib/wire/address';
import { Icmpv4Type } from '../../lib/wire/icmpv4';
import { arpFrame, ip, mac, parseArp, parseIcmp, pingFrame } from '../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC } from '../helpers/harness';

const PEER_IP = ip('10.0.0.1');
const STACK_IP = ip('10.0.0.2');

describe('ARP responder and cache (RFC 826)', () => {
  it('answers a request for its address with a unicast reply and learns the asker', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
    const [reply, ...rest] = h.sent().map(parseArp);
    expect(rest).toEqual([]);
    expect(reply.eth.dst.equals(PEER_MAC)).toBe(true);
    expect(reply.eth.src.equals(STACK_MAC)).toBe(true);
    expect(reply.arp.operation).toBe(ArpOperation.Reply);
    expect(reply.arp.senderMac.equals(STACK_MAC)).toBe(true);
    expect(reply.arp.senderIp.equals(STACK_IP)).toBe(true);
    expect(reply.arp.targetMac.equals(PEER_MAC)).toBe(true);
    expect(reply.arp.targetIp.equals(PEER_IP)).toBe(true);
    const entry = h.stack.interfaces[0].arp!.cache.lookup(PEER_IP.value);
    expect(entry?.state).toBe('stale');
    expect(entry?.mac?.equals(PEER_MAC)).toBe(true);
    expect(h.stack.stats.arp.rx).toBe(1);
    expect(h.stack.stats.arp.tx).toBe(1);
  });

  it('stays silent for addresses that are not its own and learns nothing new from them', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: ip('10.0.0.77') }));
    expect(h.sent()).toEqual([]);
    expect(h.stack.interfaces[0].arp!.cache.lookup(PEER_IP.value)).toBeUndefined();
  });

  it('updates a known entry from a gratuitous ARP but never creates one from it (RFC 826 merge)', () => {
    const h = readyHarness();
    const cache = h.stack.interfaces[0].arp!.cache;
    const moved = mac('02:00:00:00:00:42');
    h.inject(arpFrame({ op: 'request', senderMac: moved, senderIp: ip('10.0.0.9'), targetIp: ip('10.0.0.9') }));
    expect(cache.lookup(ip('10.0.0.9').value)).toBeUndefined();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
    h.inject(arpFrame({ op: 'reply', senderMac: moved, senderIp: PEER_IP, targetIp: PEER_IP }));
    expect(cache.lookup(PEER_IP.value)?.mac?.equals(moved)).toBe(true);
  });

  it('answers an RFC 5227 probe for its address, unicast to the prober, without learning 0.0.0.0', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('0.0.0.0'), targetIp: STACK_IP }));
    const [reply] = h.sent().map(parseArp);
    expect(reply.eth.dst.equals(PEER_MAC)).toBe(true);
    expect(reply.arp.operation).toBe(ArpOperation.Reply);
    expect(reply.arp.targetIp.isUnspecified).toBe(true);
    expect(h.stack.interfaces[0].arp!.cache.size).toBe(0);
  });

  it('answers for each of several addresses on one interface', () => {
    const h = readyHarness({ ipv4: ['10.0.0.2/24', '10.0.0.3/24', '192.168.7.2/24'] });
    for (const target of ['10.0.0.2', '10.0.0.3', '192.168.7.2']) {
      h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: ip(target) }));
      const [reply] = h.sent().map(parseArp);
      expect(reply.arp.senderIp.toString()).toBe(target);
    }
  });
});

describe('ICMPv4 echo (ping)', () => {
  it('replies with the same identifier, sequence and data, from the address pinged', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
    h.sent();
    const data = new Uint8Array(56).map((_, i) => i);
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: STACK_IP, ident: 0xbeef, seq: 7, data }));
    const [reply, ...rest] = h.sent().map(parseIcmp);
    expect(rest).toEqual([]);
    expect(reply.eth.dst.equals(PEER_MAC)).toBe(true);
    expect(reply.ip.src.equals(STACK_IP)).toBe(true);
    expect(reply.ip.dst.equals(PEER_IP)).toBe(true);
    expect(reply.ip.ttl).toBe(64);
    expect(reply.icmp.type).toBe(Icmpv4Type.EchoReply);
    expect(reply.icmp.code).toBe(0);
    expect(reply.icmp.ident).toBe(0xbeef);
    expect(reply.icmp.seqNo).toBe(7);
    expect(Array.from(reply.icmp.payload)).toEqual(Array.from(data));
    expect(h.stack.stats.icmpv4.rx).toBe(1);
    expect(h.stack.stats.icmpv4.tx).toBe(1);
  });

  it('answers from the secondary address when the secondary is pinged', () => {
    const h = readyHarness({ ipv4: ['10.0.0.2/24', '10.0.0.3/24'] });
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
    h.sent();
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: ip('10.0.0.3') }));
    expect(parseIcmp(h.sent()[0]).ip.src.toString()).toBe('10.0.0.3');
  });

  it('resolves an unknown requester first, holding the reply until the ARP reply arrives', () => {
    const h = readyHarness();
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: STACK_IP, seq: 1 }));
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: STACK_IP, seq: 2 }));
    const [query, ...rest] = h.sent().map(parseArp);
    expect(rest).toEqual([]);
    expect(query.eth.dst.isBroadcast).toBe(true);
    expect(query.arp.operation).toBe(ArpOperation.Request);
    expect(query.arp.senderIp.equals(STACK_IP)).toBe(true);
    expect(query.arp.targetIp.equals(PEER_IP)).toBe(true);
    expect(query.arp.targetMac.equals(MacAddress.UNSPECIFIED)).toBe(true);
    h.inject(arpFrame({ op: 'reply', senderMac: PEER_MAC, senderIp: PEER_IP, targetMac: STACK_MAC, targetIp: STACK_IP, dst: STACK_MAC }));
    const replies = h.sent().map(parseIcmp);
    expect(replies.map((r) => r.icmp.seqNo)).toEqual([1, 2]);
    expect(replies.every((r) => r.eth.dst.equals(PEER_MAC))).toBe(true);
    expect(h.stack.interfaces[0].arp!.cache.lookup(PEER_IP.value)?.state).toBe('reachable');
  });

  it('retries the ARP query 3 times a second apart, then drops the held packets and reports the neighbor unreachable', () => {
    const h = readyHarness();
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: STACK_IP }));
    h.advance(10_000);
    const queries = h.sent().map(parseArp);
    expect(queries).toHaveLength(3);
    expect(h.stack.stats.ipv4.dropped['neighbor-unreachable']).toBe(1);
    expect(h.events.filter((e) => e.type === 'neighbor-unreachable')).toEqual([expect.objectContaining({ address: PEER_IP })]);
  });

  it('ignores pings to a broadcast address (no smurf amplification)', () => {
    const h = readyHarness();
    for (const dst of ['255.255.255.255', '10.0.0.255']) {
      h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: MacAddress.BROADCAST, src: PEER_IP, dst: ip(dst) }));
    }
    expect(h.sent()).toEqual([]);
    expect(h.stack.stats.icmpv4.dropped['broadcast-echo']).toBe(2);
  });

  it('revalidates a stale neighbor with a unicast query while still sending to it', () => {
    const h = readyHarness();
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER_IP, targetIp: STACK_IP }));
    h.sent();
    h.inject(pingFrame({ srcMac: PEER_MAC, dstMac: STACK_MAC, src: PEER_IP, dst: STACK_IP }));
    expect(parseIcmp(h.sent()[0]).eth.dst.equals(PEER_MAC)).toBe(true);
    h.advance(5_000);
    const [probe] = h.sent().map(parseArp);
    expect(probe.eth.dst.equals(PEER_MAC)).toBe(true);
    expect(probe.arp.targetIp.equals(PEER_IP)).toBe(true);
  });
});

describe('Ethernet filtering', () => {
  it('accepts its unicast MAC, broadcast and all-hosts multicast; drops other unicast and multicast', () => {
    const h = readyHarness();
    const base = { srcMac: PEER_MAC, src: PEER_IP };
    h.inject(pingFrame({ ...base, dstMac: mac('02:00:00:00:00:77'), dst: STACK_IP }));
    h.inject(pingFrame({ ...base, dstMac: mac('01:00:5e:00:00:fb'), dst: ip('224.0.0.251') }));
    expect(h.stack.stats.ethernet.dropped['not-for-us']).toBe(2);
    h.inject(pingFrame({ ...base, dstMac: mac('01:00:5e:00:00:01'), dst: ip('224.0.0.1') }));
    h.inject(pingFrame({ ...base, dstMac: MacAddress.BROADCAST, dst: ip('255.255.255.255') }));
    expect(h.stack.stats.ethernet.rx).toBe(2);
    expect(h.stack.stats.icmpv4.rx).toBe(2);
  });
});
