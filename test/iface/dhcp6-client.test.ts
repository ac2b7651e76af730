/**
 * The DHCPv6 client state machine (RFC 8415 §15, §18), sans-IO: a recording host, a
 * seeded random source and `now` numbers. Every message the client sends goes through a
 * real emit → parse round trip, so what is asserted is what would be on the wire.
 */
import { describe, expect, it } from 'vitest';
import { Dhcp6Client, type Dhcp6ClientHost, type Dhcp6Lease } from '../../lib/iface/dhcp6-client';
import { SeededRandom } from '../../lib/random';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Dhcp6MessageType as T, Dhcp6Repr, Dhcp6StatusCode as S, duidLl, type Dhcp6IaNa } from '../../lib/wire/dhcp6';

const MAC = MacAddress.parse('02:00:00:00:00:0c');
const CLIENT_ID = duidLl(MAC);
const SERVER_A = Uint8Array.of(0, 3, 0, 1, 2, 0, 0, 0, 0, 0xa);
const SERVER_B = Uint8Array.of(0, 3, 0, 1, 2, 0, 0, 0, 0, 0xb);
const SERVER_ADDRESS = Ipv6Address.parse('fe80::ff:fe00:a');
const ADDRESS = Ipv6Address.parse('fd00:88::18f');
const OTHER_ADDRESS = Ipv6Address.parse('fd00:88::1a0');
const DNS = Ipv6Address.parse('fd00:88::53');

interface Sent {
  at: number;
  message: Dhcp6Repr;
}

/** Records everything the client asks of its host; `now` is the test's clock. */
class RecordingHost implements Dhcp6ClientHost {
  readonly mac = MAC;
  now = 0;
  readonly sent: Sent[] = [];
  readonly events: string[] = [];
  readonly leases: Dhcp6Lease[] = [];

  send(message: Dhcp6Repr): void {
    const wire = new Uint8Array(message.bufferLen());
    message.emit(wire, 0);
    const parsed = Dhcp6Repr.parse(wire);
    if (isDrop(parsed)) throw new Error(`client sent a message that does not parse: ${parsed}`);
    this.sent.push({ at: this.now, message: parsed });
  }
  bind(lease: Dhcp6Lease): void {
    this.events.push(`bind ${lease.address}`);
    this.leases.push(lease);
  }
  unbind(lease: Dhcp6Lease, reason: string): void {
    this.events.push(`unbind ${lease.address} ${reason}`);
  }
  otherConfig(dnsServers: Ipv6Address[]): void {
    this.events.push(`dns ${dnsServers.join(' ')}`);
  }
  get last(): Dhcp6Repr {
    return this.sent[this.sent.length - 1].message;
  }
  types(): number[] {
    return this.sent.map((s) => s.message.messageType);
  }
}

interface Answer {
  preference?: number;
  serverId?: Uint8Array;
  clientId?: Uint8Array;
  transactionId?: number;
  addresses?: Array<[Ipv6Address, number, number]>;
  t1S?: number;
  t2S?: number;
  iaStatus?: number;
  status?: number;
  noIa?: boolean;
}

function answer(messageType: number, to: Dhcp6Repr, a: Answer = {}): Dhcp6Repr {
  const ia: Dhcp6IaNa = {
    iaid: 1, t1S: a.t1S ?? 60, t2S: a.t2S ?? 105,
    addresses: (a.addresses ?? [[ADDRESS, 120, 120]]).map(([address, preferredS, validS]) => ({ address, preferredS, validS })),
    ...(a.iaStatus !== undefined && { status: { code: a.iaStatus, message: '' } }),
  };
  return new Dhcp6Repr({
    messageType, transactionId: a.transactionId ?? to.transactionId, clientId: 'clientId' in a ? a.clientId : CLIENT_ID,
    serverId: 'serverId' in a ? a.serverId : SERVER_A, iaNa: a.noIa ? [] : [ia], preference: a.preference,
    status: a.status !== undefined ? { code: a.status, message: '' } : undefined, dnsServers: [DNS],
  });
}

function setup(seed = 1) {
  const host = new RecordingHost();
  const client = new Dhcp6Client(host, new SeededRandom(seed));
  /** Moves time to `t`, polling at every deadline on the way, as the driver does. */
  const runUntil = (t: number) => {
    for (let guard = 0; guard < 10_000; guard++) {
      const at = client.pollAt();
      if (at === undefined || at > t) break;
      host.now = Math.max(host.now, at);
      client.poll(host.now);
    }
    host.now = t;
    client.poll(t);
  };
  const receive = (type: number, a: Answer = {}, source = SERVER_ADDRESS) => client.receive(answer(type, host.last, a), host.now, source);
  /** SOLICIT, one ADVERTISE, REQUEST, REPLY: bound at `host.now`. */
  const bind = (a: Answer = {}) => {
    client.startStateful(0);
    runUntil(1_000);
    expect(receive(T.Advertise, { ...a, preference: 255 })).toBeUndefined();
    expect(receive(T.Reply, a)).toBeUndefined();
    expect(client.state).toBe('bound');
  };
  return { host, client, runUntil, receive, bind };
}

/** The gaps between consecutive sends of messages of `type`, ms. */
function gaps(host: RecordingHost, type: number): number[] {
  const at = host.sent.filter((s) => s.message.messageType === type).map((s) => s.at);
  return at.slice(1).map((t, i) => t - at[i]);
}

/** §15: each RT is 2·RT' ± 0.1·RT', or MRT ± 0.1·MRT once past MRT. */
function expectBackoff(rts: number[], irt: number, mrt: number, firstRandMin = -0.1) {
  expect(rts[0]).toBeGreaterThan(irt * (1 + firstRandMin) - 1e-6);
  expect(rts[0]).toBeLessThanOrEqual(irt * 1.1 + 1e-6);
  for (let i = 1; i < rts.length; i++) {
    const prev = rts[i - 1];
    if (prev * 1.9 > mrt * 1.1) expect(rts[i]).toBeGreaterThanOrEqual(mrt * 0.9 - 1e-6);
    else expect(rts[i]).toBeGreaterThanOrEqual(Math.min(prev * 1.9, mrt * 0.9) - 1e-6);
    expect(rts[i]).toBeLessThanOrEqual(Math.max(prev * 2.1, mrt * 1.1) + 1e-6);
    expect(rts[i]).toBeLessThanOrEqual(mrt * 1.1 + 1e-6);
  }
}

describe('SOLICIT (RFC 8415 §18.2.1)', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: the first waits [0, 1 s); it carries our DUID, an empty IA_NA, ORO and elapsed 0', (seed) => {
    const { host, client, runUntil } = setup(seed);
    client.startStateful(0);
    expect(client.state).toBe('soliciting');
    expect(host.sent).toHaveLength(0);
    expect(client.pollAt()).toBeGreaterThanOrEqual(0);
    expect(client.pollAt()).toBeLessThan(1_000);
    runUntil(client.pollAt()!);
    expect(host.sent).toHaveLength(1);
    const m = host.last;
    expect([m.messageType, m.clientId, m.serverId, m.oro, m.elapsedCs, m.rapidCommit]).toEqual([T.Solicit, CLIENT_ID, undefined, [23], 0, false]);
    expect(m.iaNa).toEqual([{ iaid: 1, t1S: 0, t2S: 0, addresses: [] }]);
    expect(m.transactionId).toBeLessThan(1 << 24);
  });

  it.each([1, 7, 42])('seed %i: retransmissions back off from 1 s (first RAND > 0) to SOL_MAX_RT 3600 s, same xid, elapsed time capped', (seed) => {
    const { host, client, runUntil } = setup(seed);
    client.startStateful(0);
    runUntil(6 * 3_600_000);
    const rts = gaps(host, T.Solicit);
    expect(rts.length).toBeGreaterThan(15);
    expect(rts[0]).toBeGreaterThan(1_000);
    expectBackoff(rts, 1_000, 3_600_000, 0);
    expect(rts.slice(-3).every((rt) => rt >= 3_240_000)).toBe(true);
    expect(new Set(host.sent.map((s) => s.message.transactionId)).size).toBe(1);
    const first = host.sent[0].at;
    for (const s of host.sent) expect(s.message.elapsedCs).toBe(Math.min(0xffff, Math.floor((s.at - first) / 10)));
    expect(host.last.elapsedCs).toBe(0xffff);
  });

  it('ADVERTISEs of the first RT: the highest preference wins at its end; NoAddrsAvail is ignored', () => {
    const { host, client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(host.sent.length ? 0 : client.pollAt()!);
    const solicitAt = host.now;
    expect(receive(T.Advertise, { preference: 10, serverId: SERVER_B, addresses: [[OTHER_ADDRESS, 120, 120]] })).toBeUndefined();
    expect(receive(T.Advertise, { preference: 200 })).toBeUndefined();
    expect(receive(T.Advertise, { preference: 100, serverId: SERVER_B })).toBeUndefined();
    expect(receive(T.Advertise, { preference: 250, iaStatus: S.NoAddrsAvail, addresses: [] })).toBe('dhcp6-no-addresses');
    expect(receive(T.Advertise, { preference: 250, status: S.NoAddrsAvail })).toBe('dhcp6-no-addresses');
    expect(client.state).toBe('soliciting');
    runUntil(solicitAt + 1_100);
    expect(host.types()).toEqual([T.Solicit, T.Request]);
    const req = host.last;
    expect(host.sent[1].at).toBeGreaterThan(solicitAt + 1_000);
    expect(req.serverId).toEqual(SERVER_A);
    expect(req.transactionId).not.toBe(host.sent[0].message.transactionId);
    expect(req.iaNa).toEqual([{ iaid: 1, t1S: 0, t2S: 0, addresses: [{ address: ADDRESS, preferredS: 0, validS: 0 }] }]);
    expect([req.elapsedCs, req.oro, req.clientId]).toEqual([0, [23], CLIENT_ID]);
  });

  it('preference 255 is taken at once', () => {
    const { host, client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(999);
    expect(receive(T.Advertise, { preference: 255, serverId: SERVER_B })).toBeUndefined();
    expect(host.types()).toEqual([T.Solicit, T.Request]);
    expect(host.last.serverId).toEqual(SERVER_B);
  });

  it('after the first RT the first valid ADVERTISE is taken at once', () => {
    const { host, client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(5_000);
    expect(gaps(host, T.Solicit).length).toBeGreaterThan(0);
    expect(receive(T.Advertise, { preference: 0 })).toBeUndefined();
    expect(client.state).toBe('requesting');
    expect(host.last.messageType).toBe(T.Request);
  });
});

describe('REQUEST and REPLY (§18.2.2, §18.2.10.1)', () => {
  it('retransmits from 1 s up to REQ_MAX_RT 30 s, REQ_MAX_RC 10 times, then solicits again', () => {
    const { host, client, runUntil, receive } = setup(3);
    client.startStateful(0);
    runUntil(1_000);
    receive(T.Advertise, { preference: 255 });
    runUntil(1_000_000);
    const requests = host.sent.filter((s) => s.message.messageType === T.Request);
    expect(requests).toHaveLength(10);
    expectBackoff(gaps(host, T.Request), 1_000, 30_000);
    expect(client.state).toBe('soliciting');
    expect(host.sent[host.sent.indexOf(requests[9]) + 1].message.messageType).toBe(T.Solicit);
  });

  it('a REPLY binds the address: lifetimes, T1/T2, server, DNS', () => {
    const { host, client, runUntil, bind } = setup();
    bind();
    const at = host.now;
    expect(host.events).toEqual([`bind ${ADDRESS}`]);
    expect(client.lease).toEqual({
      address: ADDRESS, preferredS: 120, validS: 120, t1S: 60, t2S: 105, serverId: SERVER_A, serverAddress: SERVER_ADDRESS,
      dnsServers: [DNS], obtainedAt: at,
    });
    expect(client.pollAt()).toBe(at + 60_000);
    const before = host.sent.length;
    runUntil(at + 59_999);
    expect(host.sent).toHaveLength(before);
  });

  it('T1 and T2 of 0 are 0.5 and 0.8 of the shortest preferred lifetime (§21.4)', () => {
    const { client, bind } = setup();
    bind({ t1S: 0, t2S: 0, addresses: [[ADDRESS, 1000, 2000], [OTHER_ADDRESS, 400, 2000]] });
    expect([client.lease!.t1S, client.lease!.t2S]).toEqual([200, 320]);
  });

  it.each<[string, Answer, string]>([
    ['IA_NA with NoAddrsAvail', { iaStatus: S.NoAddrsAvail, addresses: [] }, 'soliciting'],
    ['top-level NotOnLink', { status: S.NotOnLink }, 'soliciting'],
    ['an address with preferred > valid (§21.6)', { addresses: [[ADDRESS, 200, 100]] }, 'soliciting'],
  ])('a REPLY with %s starts over', (_name, a, state) => {
    const { client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(1_000);
    receive(T.Advertise, { preference: 255 });
    expect(receive(T.Reply, a)).toBeUndefined();
    expect(client.state).toBe(state);
  });

  it.each<[string, Answer, string]>([
    ['top-level UnspecFail', { status: S.UnspecFail }, 'dhcp6-server-failed'],
    ['from another server', { serverId: SERVER_B }, 'dhcp6-wrong-server'],
    ['no IA_NA', { noIa: true }, 'dhcp6-no-ia'],
    ['T1 > T2 (§21.4)', { t1S: 100, t2S: 50 }, 'dhcp6-bad-ia'],
  ])('a REPLY with %s is dropped and the REQUEST retransmitted', (_name, a, reason) => {
    const { host, client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(1_000);
    receive(T.Advertise, { preference: 255 });
    expect(receive(T.Reply, a)).toBe(reason);
    expect(client.state).toBe('requesting');
    runUntil(host.now + 1_200);
    expect(host.last.messageType).toBe(T.Request);
  });
});

describe('dropped answers (§16)', () => {
  it.each<[string, number, Answer, string]>([
    ['a wrong transaction id', T.Advertise, { preference: 255, transactionId: 0x1234 }, 'dhcp6-wrong-xid'],
    ['another client id', T.Advertise, { preference: 255, clientId: Uint8Array.of(0, 3, 0, 1, 2, 0, 0, 0, 0, 0xd) }, 'dhcp6-wrong-client-id'],
    ['no client id', T.Advertise, { preference: 255, clientId: undefined }, 'dhcp6-wrong-client-id'],
    ['no server id', T.Advertise, { preference: 255, serverId: undefined }, 'dhcp6-no-server-id'],
    ['a REPLY while soliciting', T.Reply, {}, 'dhcp6-unexpected-message'],
    ['a client message type', T.Request, {}, 'dhcp6-not-for-client'],
  ])('%s', (_name, type, a, reason) => {
    const { client, runUntil, receive } = setup();
    client.startStateful(0);
    runUntil(1_000);
    expect(receive(type, a)).toBe(reason);
    expect(client.state).toBe('soliciting');
  });

  it('an ADVERTISE before the first SOLICIT went out', () => {
    const { host, client } = setup();
    client.startStateful(0);
    expect(client.receive(answer(T.Advertise, new Dhcp6Repr({ messageType: 1, transactionId: 0 }), { preference: 255 }), 0)).toBe('dhcp6-wrong-xid');
    expect(host.sent).toHaveLength(0);
  });
});

describe('lease lifetime (§18.2.4, §18.2.5)', () => {
  it('RENEW at T1 to the same server, retransmitted from 10 s; a REPLY renews the lease', () => {
    const { host, client, runUntil, receive, bind } = setup();
    bind();
    const t0 = host.now;
    runUntil(t0 + 60_000);
    expect(client.state).toBe('renewing');
    const renew = host.last;
    expect([renew.messageType, renew.serverId, renew.elapsedCs, renew.oro]).toEqual([T.Renew, SERVER_A, 0, [23]]);
    expect(renew.iaNa).toEqual([{ iaid: 1, t1S: 0, t2S: 0, addresses: [{ address: ADDRESS, preferredS: 0, validS: 0 }] }]);
    runUntil(t0 + 100_000);
    const rts = gaps(host, T.Renew);
    expect(rts.length).toBe(2);
    expectBackoff(rts, 10_000, 600_000);
    expect(host.last.elapsedCs).toBe(Math.floor((host.sent[host.sent.length - 1].at - (t0 + 60_000)) / 10));
    expect(receive(T.Reply, { serverId: SERVER_B })).toBe('dhcp6-wrong-server');
    expect(receive(T.Reply, { t1S: 55, t2S: 100 })).toBeUndefined();
    expect(client.state).toBe('bound');
    expect(host.events).toEqual([`bind ${ADDRESS}`, `bind ${ADDRESS}`]);
    expect(client.lease).toMatchObject({ t1S: 55, obtainedAt: t0 + 100_000 });
    expect(client.pollAt()).toBe(t0 + 155_000);
  });

  it('REBIND at T2 without a server id, until the valid lifetime ends: then unbind and SOLICIT', () => {
    const { host, client, runUntil, bind } = setup();
    bind();
    const t0 = host.now;
    runUntil(t0 + 104_999);
    expect(client.state).toBe('renewing');
    expect(host.sent.filter((s) => s.at > t0 + 60_000).every((s) => s.message.messageType === T.Renew)).toBe(true);
    runUntil(t0 + 105_000);
    expect(client.state).toBe('rebinding');
    const rebind = host.last;
    expect([rebind.messageType, rebind.serverId, rebind.elapsedCs]).toEqual([T.Rebind, undefined, 0]);
    expect(rebind.transactionId).not.toBe(host.sent.find((s) => s.message.messageType === T.Renew)!.message.transactionId);
    runUntil(t0 + 119_999);
    expect(host.sent.filter((s) => s.message.messageType === T.Rebind).map((s) => s.at - t0)).toEqual([105_000, expect.any(Number)]);
    expect(host.events).toEqual([`bind ${ADDRESS}`]);
    runUntil(t0 + 120_000);
    expect(host.events).toEqual([`bind ${ADDRESS}`, `unbind ${ADDRESS} expired`]);
    expect(client.state).toBe('soliciting');
    expect(client.lease).toBeUndefined();
    expect(host.last.messageType).toBe(T.Solicit);
  });

  it('any server may answer a REBIND', () => {
    const { host, client, runUntil, receive, bind } = setup();
    bind();
    runUntil(host.now + 106_000);
    expect(receive(T.Reply, { serverId: SERVER_B })).toBeUndefined();
    expect(client.lease!.serverId).toEqual(SERVER_B);
  });

  it('NoBinding in the IA_NA of a RENEW reply: unbind and REQUEST again', () => {
    const { host, client, runUntil, receive, bind } = setup();
    bind();
    runUntil(host.now + 60_000);
    expect(receive(T.Reply, { iaStatus: S.NoBinding, addresses: [] })).toBeUndefined();
    expect(host.events).toEqual([`bind ${ADDRESS}`, `unbind ${ADDRESS} nak`]);
    expect(client.state).toBe('requesting');
    expect(host.last.messageType).toBe(T.Request);
    expect(host.last.iaNa[0].addresses.map((a) => a.address)).toEqual([ADDRESS]);
    expect(receive(T.Reply)).toBeUndefined();
    expect(client.state).toBe('bound');
  });

  it('our address with valid lifetime 0 in a RENEW reply is withdrawn', () => {
    const { host, client, runUntil, receive, bind } = setup();
    bind();
    runUntil(host.now + 60_000);
    expect(receive(T.Reply, { addresses: [[ADDRESS, 0, 0]] })).toBeUndefined();
    expect(host.events).toEqual([`bind ${ADDRESS}`, `unbind ${ADDRESS} expired`]);
    expect(client.state).toBe('soliciting');
  });

  it('infinite lifetimes and T1/T2 never expire', () => {
    const { client, bind } = setup();
    bind({ t1S: 0xffffffff, t2S: 0xffffffff, addresses: [[ADDRESS, 0xffffffff, 0xffffffff]] });
    expect(client.pollAt()).toBeUndefined();
  });
});

describe('DECLINE and RELEASE (§18.2.7, §18.2.8)', () => {
  it('a duplicate address is DECLINEd and the client solicits again', () => {
    const { host, client, bind } = setup();
    bind();
    client.declined(OTHER_ADDRESS, host.now);
    expect(client.state).toBe('bound');
    client.declined(ADDRESS, host.now);
    expect(host.types().slice(-2)).toEqual([T.Decline, T.Solicit]);
    const decline = host.sent[host.sent.length - 2].message;
    expect([decline.serverId, decline.elapsedCs, decline.iaNa[0].addresses.map((a) => a.address)]).toEqual([SERVER_A, 0, [ADDRESS]]);
    expect(host.events).toEqual([`bind ${ADDRESS}`, `unbind ${ADDRESS} declined`]);
    expect([client.state, client.lease]).toEqual(['soliciting', undefined]);
    expect(host.last.transactionId).not.toBe(decline.transactionId);
  });

  it('release(): RELEASE to the server, unbind, stop', () => {
    const { host, client, runUntil, bind } = setup();
    bind();
    client.release(host.now);
    const release = host.last;
    expect([release.messageType, release.serverId, release.iaNa[0].addresses.map((a) => a.address)]).toEqual([T.Release, SERVER_A, [ADDRESS]]);
    expect(host.events).toEqual([`bind ${ADDRESS}`, `unbind ${ADDRESS} released`]);
    expect([client.state, client.lease, client.pollAt()]).toEqual(['stopped', undefined, undefined]);
    const count = host.sent.length;
    runUntil(host.now + 10_000_000);
    expect(host.sent).toHaveLength(count);
  });

  it('release() without a lease just stops', () => {
    const { host, client } = setup();
    client.startStateful(0);
    client.release(0);
    expect([client.state, client.pollAt(), host.sent.length]).toEqual(['stopped', undefined, 0]);
  });
});

describe('stateless: INFORMATION-REQUEST (§18.2.6)', () => {
  it('waits [0, 1 s), asks for DNS servers, backs off from 1 s, and hands the REPLY to the host', () => {
    const { host, client, runUntil, receive } = setup(9);
    client.startStateless(0);
    expect(client.state).toBe('informing');
    expect(client.pollAt()).toBeLessThan(1_000);
    runUntil(20_000);
    const m = host.sent[0].message;
    expect([m.messageType, m.clientId, m.serverId, m.iaNa, m.oro, m.elapsedCs]).toEqual([T.InformationRequest, CLIENT_ID, undefined, [], [23], 0]);
    expectBackoff(gaps(host, T.InformationRequest), 1_000, 3_600_000);
    expect(receive(T.Reply, { noIa: true })).toBeUndefined();
    expect(host.events).toEqual([`dns ${DNS}`]);
    expect(client.state).toBe('idle');
    // §21.23: asked again after the default refresh time, 86400 s.
    expect(client.pollAt()).toBe(20_000 + 86_400_000);
    runUntil(20_000 + 86_400_000);
    expect([client.state, host.last.messageType, host.last.elapsedCs]).toEqual(['informing', T.InformationRequest, 0]);
  });

  it('a REPLY with a wrong transaction id is dropped', () => {
    const { client, runUntil, receive } = setup();
    client.startStateless(0);
    runUntil(1_000);
    expect(receive(T.Reply, { transactionId: 7 })).toBe('dhcp6-wrong-xid');
    expect(client.state).toBe('informing');
  });
});
