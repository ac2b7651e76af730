/**
 * The DHCPv4 client state machine (RFC 2131 §4.4), sans-IO: a recording host, a seeded
 * random source and `now` numbers. Every message the client sends goes through a real
 * emit → parse round trip, so what is asserted is what would be on the wire.
 */
import { describe, expect, it } from 'vitest';
import { Dhcp4Client, type Dhcp4ClientConfig, type Dhcp4ClientHost, type Dhcp4Lease } from '../../lib/iface/dhcp4-client';
import { SeededRandom } from '../../lib/random';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { BootpOp, DHCP4_INFINITE_LEASE, Dhcp4MessageType as T, Dhcp4Packet, Dhcp4Repr, type Dhcp4ReprFields } from '../../lib/wire/dhcp4';

const MAC = MacAddress.parse('02:00:00:00:00:0c');
const SERVER = Ipv4Address.parse('10.201.0.1');
const OTHER_SERVER = Ipv4Address.parse('10.201.0.2');
const ADDRESS = Ipv4Address.parse('10.201.0.74');
const ZERO = '0.0.0.0';
const BROADCAST = '255.255.255.255';
const PRL = [1, 3, 6, 26, 51, 58, 59];

interface Sent {
  at: number;
  message: Dhcp4Repr;
  src: string;
  dst: string;
}

/** Records everything the client asks of its host; `now` is the test's clock. */
class RecordingHost implements Dhcp4ClientHost {
  readonly mac = MAC;
  now = 0;
  readonly sent: Sent[] = [];
  readonly events: string[] = [];
  readonly leases: Dhcp4Lease[] = [];

  send(message: Dhcp4Repr, src: Ipv4Address, dst: Ipv4Address): void {
    const wire = new Uint8Array(message.bufferLen());
    message.emit(wire, 0);
    const pkt = Dhcp4Packet.checked(wire);
    const parsed = isDrop(pkt) ? pkt : Dhcp4Repr.parse(pkt);
    if (isDrop(parsed)) throw new Error(`client sent a message that does not parse: ${parsed}`);
    this.sent.push({ at: this.now, message: parsed, src: src.toString(), dst: dst.toString() });
  }
  check(lease: Dhcp4Lease): void {
    this.events.push(`check ${lease.address}`);
    this.leases.push(lease);
  }
  bind(lease: Dhcp4Lease): void {
    this.events.push(`bind ${lease.address}`);
    this.leases.push(lease);
  }
  unbind(lease: Dhcp4Lease, reason: string): void {
    this.events.push(`unbind ${lease.address} ${reason}`);
  }
  get last(): Sent {
    return this.sent[this.sent.length - 1];
  }
}

function setup(config?: Partial<Dhcp4ClientConfig>, seed = 1) {
  const host = new RecordingHost();
  const client = new Dhcp4Client(host, new SeededRandom(seed), config);
  /** Moves time to `t`, polling at every deadline on the way, as the driver does. */
  const runUntil = (t: number) => {
    for (let guard = 0; guard < 1000; guard++) {
      const at = client.pollAt();
      if (at === undefined || at > t) break;
      host.now = Math.max(host.now, at);
      client.poll(host.now);
    }
    host.now = t;
    client.poll(t);
  };
  const receive = (fields: Partial<Dhcp4ReprFields> & { messageType: number }) =>
    client.receive(reply(host.last.message.xid, fields), host.now);
  return { host, client, runUntil, receive };
}

function reply(xid: number, fields: Partial<Dhcp4ReprFields> & { messageType: number }): Dhcp4Repr {
  return new Dhcp4Repr({
    op: BootpOp.Reply, xid, clientMac: MAC, yiaddr: ADDRESS, serverId: SERVER, leaseTime: 3600, prefixLen: 24,
    routers: [SERVER], dnsServers: [Ipv4Address.parse('9.9.9.9')], interfaceMtu: 1400, ...fields,
  });
}

/** start → OFFER at 1 s → ACK at 2 s → checked at 3 s: bound, the lease obtained at 1 s. */
function bound(config?: Partial<Dhcp4ClientConfig>, ack: Partial<Dhcp4ReprFields> = {}) {
  const t = setup(config);
  t.client.start(0);
  t.runUntil(1000);
  expect(t.receive({ messageType: T.Offer })).toBeUndefined();
  t.runUntil(2000);
  expect(t.receive({ messageType: T.Ack, ...ack })).toBeUndefined();
  t.runUntil(3000);
  t.client.checked(ADDRESS, true, 3000);
  expect(t.client.state).toBe('bound');
  t.host.sent.length = 0;
  t.host.events.length = 0;
  return t;
}

const gaps = (sent: Sent[]) => sent.slice(1).map((s, i) => (s.at - sent[i].at) / 1000);

describe('DHCP client: SELECTING', () => {
  it('starts with a broadcast DISCOVER from 0.0.0.0, broadcast flag unset, asking for the lease parameters', () => {
    const { host, client } = setup({ hostname: 'pytcp', clientId: Uint8Array.of(1, 2, 0, 0, 0, 0, 0x0c) });
    client.start(0);
    expect(client.state).toBe('selecting');
    expect(host.sent).toHaveLength(1);
    const { message, src, dst } = host.last;
    expect([src, dst]).toEqual([ZERO, BROADCAST]);
    expect(message).toMatchObject({ op: BootpOp.Request, messageType: T.Discover, broadcast: false, secs: 0, hostname: 'pytcp', paramRequestList: PRL });
    expect(message.clientMac.equals(MAC)).toBe(true);
    expect(message.ciaddr.toString()).toBe(ZERO);
    expect([message.serverId, message.requestedIp]).toEqual([undefined, undefined]);
    expect(Array.from(message.clientId!)).toEqual([1, 2, 0, 0, 0, 0, 0x0c]);
  });

  it('retransmits after 4, 8, 16, 32, 64, 64 s, each ±1 s at random (RFC 2131 §4.1), with the same xid', () => {
    const { host, client, runUntil } = setup();
    client.start(0);
    runUntil(300_000);
    const intervals = gaps(host.sent);
    [4, 8, 16, 32, 64, 64].forEach((base, i) => {
      expect(intervals[i]).toBeGreaterThanOrEqual(base - 1);
      expect(intervals[i]).toBeLessThan(base + 1);
    });
    expect(intervals.some((g, i) => g !== [4, 8, 16, 32, 64, 64][i])).toBe(true);
    expect(new Set(host.sent.map((s) => s.message.xid)).size).toBe(1);
    expect(host.sent.map((s) => s.message.secs)).toEqual(host.sent.map((s) => Math.floor(s.at / 1000)));
    expect(host.sent.every((s) => s.message.messageType === T.Discover)).toBe(true);
  });

  it('draws the jitter and the xid from the injected source: another seed, another run', () => {
    const a = setup(undefined, 1);
    const b = setup(undefined, 2);
    for (const t of [a, b]) {
      t.client.start(0);
      t.runUntil(20_000);
    }
    expect(a.host.sent[0].message.xid).not.toBe(b.host.sent[0].message.xid);
    expect(gaps(a.host.sent)).not.toEqual(gaps(b.host.sent));
  });

  it('takes the first OFFER: REQUEST broadcast with its xid, the server id, the offered address, the DISCOVER secs', () => {
    const { host, client, runUntil, receive } = setup({ hostname: 'pytcp' });
    client.start(0);
    runUntil(6_500); // one retransmission: secs 3, 4 or 5
    const discover = host.last.message;
    host.now = 7_500;
    expect(receive({ messageType: T.Offer })).toBeUndefined();
    expect(client.state).toBe('requesting');
    const { message, src, dst } = host.last;
    expect([src, dst]).toEqual([ZERO, BROADCAST]);
    expect(message).toMatchObject({ messageType: T.Request, xid: discover.xid, secs: discover.secs, hostname: 'pytcp', paramRequestList: PRL });
    expect([message.requestedIp?.toString(), message.serverId?.toString(), message.ciaddr.toString()]).toEqual([ADDRESS.toString(), SERVER.toString(), ZERO]);
  });

  it.each<[string, Partial<Dhcp4ReprFields> & { messageType: number }, string]>([
    ['an OFFER without a server id', { messageType: T.Offer, serverId: undefined }, 'dhcp-no-server-id'],
    ['an OFFER of 0.0.0.0', { messageType: T.Offer, yiaddr: Ipv4Address.UNSPECIFIED }, 'dhcp-bad-address'],
    ['an OFFER of a multicast address', { messageType: T.Offer, yiaddr: Ipv4Address.parse('224.0.0.1') }, 'dhcp-bad-address'],
    ['an OFFER of a loopback address', { messageType: T.Offer, yiaddr: Ipv4Address.parse('127.0.0.2') }, 'dhcp-bad-address'],
    ['an ACK before any REQUEST', { messageType: T.Ack }, 'dhcp-unexpected-message'],
    ['a NAK before any REQUEST', { messageType: T.Nak }, 'dhcp-unexpected-message'],
    ['a wrong xid', { messageType: T.Offer, xid: 0x12345678 }, 'dhcp-wrong-xid'],
    ['another client\'s chaddr', { messageType: T.Offer, clientMac: MacAddress.parse('02:00:00:00:00:0d') }, 'dhcp-wrong-chaddr'],
    ['a BOOTREQUEST (another client\'s DISCOVER)', { messageType: T.Discover, op: BootpOp.Request }, 'dhcp-not-reply'],
  ])('drops %s with %s, and keeps selecting', (_name, fields, reason) => {
    const { host, client, receive } = setup();
    client.start(0);
    expect(receive(fields)).toBe(reason);
    expect(client.state).toBe('selecting');
    expect(host.sent).toHaveLength(1);
  });
});

describe('DHCP client: REQUESTING and CHECKING', () => {
  it('ignores a second OFFER while requesting', () => {
    const { host, client, receive } = setup();
    client.start(0);
    receive({ messageType: T.Offer });
    expect(receive({ messageType: T.Offer, serverId: OTHER_SERVER, yiaddr: Ipv4Address.parse('10.201.0.99') })).toBe('dhcp-unexpected-message');
    expect(client.state).toBe('requesting');
    expect(host.sent).toHaveLength(2);
  });

  it('retransmits the REQUEST with the same back-off, then starts over with a new xid (§3.1 step 5)', () => {
    const { host, client, runUntil, receive } = setup();
    client.start(0);
    receive({ messageType: T.Offer });
    runUntil(200_000);
    const requests = host.sent.filter((s) => s.message.messageType === T.Request);
    expect(requests).toHaveLength(5);
    gaps(requests).forEach((g, i) => expect(Math.abs(g - [4, 8, 16, 32][i])).toBeLessThanOrEqual(1));
    const restart = host.sent[6];
    expect(restart.message.messageType).toBe(T.Discover);
    expect(Math.abs((restart.at - requests[4].at) / 1000 - 64)).toBeLessThanOrEqual(1);
    expect(restart.message.xid).not.toBe(requests[0].message.xid);
  });

  it('ACK → check(lease) → checked(ok) → bind(lease); the lease runs from the first REQUEST', () => {
    const { host, client, runUntil, receive } = setup();
    client.start(0);
    host.now = 1000;
    receive({ messageType: T.Offer });
    runUntil(6_500); // one REQUEST retransmission (at 4-6 s): the lease still starts at 1000
    expect(receive({ messageType: T.Ack, renewalTime: 1000, rebindingTime: 2000 })).toBeUndefined();
    expect([client.state, client.lease, client.pollAt()]).toEqual(['checking', undefined, undefined]);
    expect(host.events).toEqual([`check ${ADDRESS}`]);
    const lease = host.leases[0];
    expect({ ...lease, address: lease.address.toString(), serverId: lease.serverId.toString(), routers: lease.routers.map(String), dnsServers: lease.dnsServers.map(String) }).toEqual({
      address: ADDRESS.toString(), prefixLen: 24, routers: [SERVER.toString()], dnsServers: ['9.9.9.9'], mtu: 1400,
      serverId: SERVER.toString(), leaseTimeS: 3600, t1S: 1000, t2S: 2000, obtainedAt: 1000,
    });
    client.checked(Ipv4Address.parse('10.201.0.75'), true, 7000); // not the address being checked: ignored
    expect(client.state).toBe('checking');
    client.checked(ADDRESS, true, 7000);
    expect(client.state).toBe('bound');
    expect(client.lease).toBe(lease);
    expect(host.events).toEqual([`check ${ADDRESS}`, `bind ${ADDRESS}`]);
    expect(client.pollAt()).toBe(1000 + 1000 * 1000);
    client.checked(ADDRESS, false, 8000); // no longer checking: ignored
    expect(client.state).toBe('bound');
  });

  it.each<[string, Partial<Dhcp4ReprFields> & { messageType: number }, string]>([
    ['an ACK without a lease time (§4.3.1)', { messageType: T.Ack, leaseTime: undefined }, 'dhcp-no-lease-time'],
    ['an ACK from a server we did not select', { messageType: T.Ack, serverId: OTHER_SERVER }, 'dhcp-wrong-server'],
    ['a NAK from a server we did not select', { messageType: T.Nak, serverId: OTHER_SERVER }, 'dhcp-wrong-server'],
    ['an ACK of 0.0.0.0', { messageType: T.Ack, yiaddr: Ipv4Address.UNSPECIFIED }, 'dhcp-bad-address'],
  ])('drops %s with %s', (_name, fields, reason) => {
    const { client, receive } = setup();
    client.start(0);
    receive({ messageType: T.Offer });
    expect(receive(fields)).toBe(reason);
    expect(client.state).toBe('requesting');
  });

  it('a NAK while requesting restarts from INIT at once, new xid, nothing to unbind', () => {
    const { host, client, receive } = setup();
    client.start(0);
    receive({ messageType: T.Offer });
    const xid = host.last.message.xid;
    expect(receive({ messageType: T.Nak, yiaddr: Ipv4Address.UNSPECIFIED, leaseTime: undefined })).toBeUndefined();
    expect(client.state).toBe('selecting');
    expect(host.last.message.messageType).toBe(T.Discover);
    expect(host.last.message.xid).not.toBe(xid);
    expect(host.events).toEqual([]);
  });

  it('a conflict: DECLINE broadcast, unbind(declined), a new DISCOVER no sooner than 10 s later (§3.1 step 5)', () => {
    const { host, client, runUntil, receive } = setup();
    client.start(0);
    receive({ messageType: T.Offer });
    receive({ messageType: T.Ack });
    host.now = 5000;
    client.checked(ADDRESS, false, 5000);
    const { message, src, dst, at } = host.last;
    expect([src, dst, at]).toEqual([ZERO, BROADCAST, 5000]);
    expect(message.messageType).toBe(T.Decline);
    expect([message.requestedIp?.toString(), message.serverId?.toString(), message.ciaddr.toString()]).toEqual([ADDRESS.toString(), SERVER.toString(), ZERO]);
    expect(message.paramRequestList).toBeUndefined();
    expect(host.events).toEqual([`check ${ADDRESS}`, `unbind ${ADDRESS} declined`]);
    expect([client.state, client.pollAt()]).toEqual(['init', 15_000]);
    runUntil(14_999);
    expect(host.sent).toHaveLength(3);
    runUntil(15_000);
    expect(host.last).toMatchObject({ at: 15_000, src: ZERO, dst: BROADCAST });
    expect(host.last.message.messageType).toBe(T.Discover);
    expect(host.last.message.xid).not.toBe(message.xid);
    expect(client.state).toBe('selecting');
  });
});

describe('DHCP client: BOUND, RENEWING, REBINDING', () => {
  // Lease 3600 s obtained at 1 s: T1 at 1801 s, T2 at 3151 s, expiry at 3601 s.
  it('renews at T1 by unicast, rebinds at T2 by broadcast, retransmitting at half the time left (≥ 60 s), and expires', () => {
    const { host, client, runUntil } = bound();
    runUntil(1_800_999);
    expect([client.state, host.sent.length]).toEqual(['bound', 0]);
    runUntil(4_000_000);
    const at = host.sent.map((s) => s.at / 1000);
    // Renewing: 1801, then half of what is left to T2 (3151): 2476, 2813.5, 2982.25, 3066.625,
    // then the 60 s floor: 3126.625; T2 comes first after that.
    expect(at.slice(0, 6)).toEqual([1801, 2476, 2813.5, 2982.25, 3066.625, 3126.625]);
    for (const s of host.sent.slice(0, 6)) {
      expect([s.src, s.dst, s.message.ciaddr.toString()]).toEqual([ADDRESS.toString(), SERVER.toString(), ADDRESS.toString()]);
      expect([s.message.messageType, s.message.serverId, s.message.requestedIp]).toEqual([T.Request, undefined, undefined]);
    }
    // Rebinding: 3151, then half of what is left to expiry (3601): 3376, 3488.5, 3548.5 (floor), then expiry.
    expect(at.slice(6, 10)).toEqual([3151, 3376, 3488.5, 3548.5]);
    for (const s of host.sent.slice(6, 10)) {
      expect([s.src, s.dst, s.message.ciaddr.toString()]).toEqual([ADDRESS.toString(), BROADCAST, ADDRESS.toString()]);
    }
    expect(new Set(host.sent.slice(0, 6).map((s) => s.message.xid)).size).toBe(1);
    expect(host.sent[6].message.xid).not.toBe(host.sent[0].message.xid);
    expect(host.sent[0].message.secs).toBe(0);
    expect(host.sent[1].message.secs).toBe(675);
    // Expiry at exactly obtainedAt + lease: unbind, then a new DISCOVER from 0.0.0.0.
    expect(host.events).toEqual([`unbind ${ADDRESS} expired`]);
    expect(host.sent[10]).toMatchObject({ at: 3_601_000, src: ZERO, dst: BROADCAST });
    expect(host.sent[10].message.messageType).toBe(T.Discover);
    expect(client.lease).toBeUndefined();
  });

  it('an ACK while renewing extends the lease from the renewal REQUEST, with updated options', () => {
    const { host, client, runUntil, receive } = bound();
    runUntil(1_900_000); // REQUEST at 1801 s
    expect(client.state).toBe('renewing');
    expect(receive({ messageType: T.Ack, leaseTime: 7200, dnsServers: [Ipv4Address.parse('1.1.1.1')] })).toBeUndefined();
    expect(client.state).toBe('bound');
    expect(host.events).toEqual([`bind ${ADDRESS}`]);
    const lease = client.lease!;
    expect([lease.obtainedAt, lease.leaseTimeS, lease.t1S, lease.t2S, lease.dnsServers.map(String)]).toEqual([1_801_000, 7200, 3600, 6300, ['1.1.1.1']]);
    expect(client.pollAt()).toBe(1_801_000 + 3_600_000);
  });

  it('an ACK while rebinding may come from another server, which becomes the lease\'s server', () => {
    const { client, runUntil, receive } = bound();
    runUntil(3_200_000);
    expect(client.state).toBe('rebinding');
    expect(receive({ messageType: T.Ack, serverId: OTHER_SERVER })).toBeUndefined();
    expect([client.state, client.lease?.serverId.toString(), client.lease?.obtainedAt]).toEqual(['bound', OTHER_SERVER.toString(), 3_151_000]);
  });

  it.each<[string, Partial<Dhcp4ReprFields> & { messageType: number }, string]>([
    ['an ACK from another server', { messageType: T.Ack, serverId: OTHER_SERVER }, 'dhcp-wrong-server'],
    ['an ACK for another address', { messageType: T.Ack, yiaddr: Ipv4Address.parse('10.201.0.75') }, 'dhcp-wrong-address'],
    ['an ACK without a lease time', { messageType: T.Ack, leaseTime: undefined }, 'dhcp-no-lease-time'],
    ['an OFFER', { messageType: T.Offer }, 'dhcp-unexpected-message'],
  ])('renewing drops %s with %s', (_name, fields, reason) => {
    const { client, runUntil, receive } = bound();
    runUntil(1_900_000);
    expect(receive(fields)).toBe(reason);
    expect(client.state).toBe('renewing');
  });

  it.each([
    ['renewing', 1_900_000],
    ['rebinding', 3_200_000],
  ])('a NAK while %s: unbind(nak) and a new DISCOVER at once', (state, t) => {
    const { host, client, runUntil, receive } = bound();
    runUntil(t);
    expect(client.state).toBe(state);
    expect(receive({ messageType: T.Nak, leaseTime: undefined })).toBeUndefined();
    expect(host.events).toEqual([`unbind ${ADDRESS} nak`]);
    expect([client.state, client.lease, host.last.message.messageType, host.last.dst]).toEqual(['selecting', undefined, T.Discover, BROADCAST]);
  });

  it('a clock that jumps past T2 goes straight to REBINDING; past expiry, straight to unbind', () => {
    const a = bound();
    a.host.now = 3_300_000;
    a.client.poll(3_300_000);
    expect([a.client.state, a.host.sent.length, a.host.last.dst]).toEqual(['rebinding', 1, BROADCAST]);
    const b = bound();
    b.host.now = 5_000_000;
    b.client.poll(5_000_000);
    expect(b.host.events).toEqual([`unbind ${ADDRESS} expired`]);
    expect(b.client.state).toBe('selecting');
  });

  it('an infinite lease (0xffffffff) is never renewed and never expires', () => {
    const { host, client, runUntil } = bound(undefined, { leaseTime: DHCP4_INFINITE_LEASE, renewalTime: 60 });
    expect(client.pollAt()).toBeUndefined();
    runUntil(10 * 365 * 86_400_000);
    expect([client.state, host.sent.length, host.events.length]).toEqual(['bound', 0, 0]);
    expect([client.lease?.t1S, client.lease?.t2S]).toEqual([DHCP4_INFINITE_LEASE, DHCP4_INFINITE_LEASE]);
  });

  it.each<[string, number | undefined, number | undefined, number, number]>([
    ['given and consistent', 100, 200, 100, 200],
    ['missing: 0.5 and 0.875 of the lease', undefined, undefined, 1800, 3150],
    ['only T1 given', 600, undefined, 600, 3150],
    ['T1 after T2: both defaults', 3000, 2000, 1800, 3150],
    ['T1 equal to T2: both defaults', 2000, 2000, 1800, 3150],
    ['T2 at the lease time: both defaults', 100, 3600, 1800, 3150],
    ['T2 given before the default T1: both defaults', undefined, 1000, 1800, 3150],
  ])('T1/T2 %s', (_name, renewalTime, rebindingTime, t1S, t2S) => {
    const { client } = bound(undefined, { renewalTime, rebindingTime });
    expect([client.lease?.t1S, client.lease?.t2S]).toEqual([t1S, t2S]);
  });

  it('without a subnet mask option, the address class decides the prefix', () => {
    const { client } = bound(undefined, { prefixLen: undefined });
    expect(client.lease?.prefixLen).toBe(8);
  });
});

describe('DHCP client: RELEASE', () => {
  it('release() while bound: RELEASE unicast to the server, unbind(released), stopped', () => {
    const { host, client, runUntil, receive } = bound({ hostname: 'pytcp' });
    host.now = 10_000;
    client.release(10_000);
    const { message, src, dst } = host.last;
    expect([src, dst]).toEqual([ADDRESS.toString(), SERVER.toString()]);
    expect(message.messageType).toBe(T.Release);
    expect([message.ciaddr.toString(), message.serverId?.toString(), message.requestedIp, message.hostname]).toEqual([ADDRESS.toString(), SERVER.toString(), undefined, undefined]);
    expect(host.events).toEqual([`unbind ${ADDRESS} released`]);
    expect([client.state, client.lease, client.pollAt()]).toEqual(['stopped', undefined, undefined]);
    expect(receive({ messageType: T.Ack })).toBe('dhcp-unexpected-message');
    runUntil(10_000_000);
    expect(host.sent).toHaveLength(1);
  });

  it('release() while checking releases the ACKed address; while selecting it only stops', () => {
    const a = setup();
    a.client.start(0);
    a.receive({ messageType: T.Offer });
    a.receive({ messageType: T.Ack });
    a.client.release(1000);
    expect([a.host.last.message.messageType, a.host.last.dst]).toEqual([T.Release, SERVER.toString()]);
    expect(a.host.events).toEqual([`check ${ADDRESS}`, `unbind ${ADDRESS} released`]);
    a.client.checked(ADDRESS, true, 2000); // the probe's late answer changes nothing
    expect(a.client.state).toBe('stopped');

    const b = setup();
    b.client.start(0);
    b.client.release(1000);
    expect([b.client.state, b.host.sent.length, b.host.events.length, b.client.pollAt()]).toEqual(['stopped', 1, 0, undefined]);
  });
});
