import { describe, expect, it } from 'vitest';
import {
  INFINITE_LIFETIME,
  Ipv6Autoconf,
  MAX_AUTOCONF_ENTRIES,
  MAX_DNS_SERVERS,
  type AutoconfHost,
  type AutoconfOptions,
  type RouterAdvert,
} from '../../lib/iface/ipv6-autoconf';
import { eui64InterfaceId } from '../../lib/iface/ipv6-iid';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import type { NdpPrefixInfo } from '../../lib/wire/ndp';

const ip6 = (s: string) => Ipv6Address.parse(s);
const R1 = ip6('fe80::1');
const R2 = ip6('fe80::2');
const R3 = ip6('fe80::3');
const IID = eui64InterfaceId(MacAddress.parse('52:54:00:12:34:56'));
const HOUR = 3_600_000;

function prefixInfo(prefix: string, over: Partial<NdpPrefixInfo> = {}): NdpPrefixInfo {
  return { prefix: ip6(prefix), prefixLen: 64, onLink: true, autonomous: true, validLifetimeS: 86_400, preferredLifetimeS: 14_400, ...over };
}

function ra(over: Partial<Omit<RouterAdvert, 'options'>> & { options?: Partial<RouterAdvert['options']> } = {}): RouterAdvert {
  const { options, ...fields } = over;
  return {
    type: 'ra',
    curHopLimit: 64,
    managed: false,
    other: false,
    preference: 'medium',
    routerLifetimeS: 1_800,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    ...fields,
    options: { prefixes: [], rdnss: [], ...options },
  };
}

type HostCall =
  | { op: 'add'; address: string; prefixLen: number; preferredUntil: number; validUntil: number }
  | { op: 'update'; address: string; preferredUntil: number; validUntil: number }
  | { op: 'remove'; address: string };

/** A host that records what it is asked; its interface id is EUI-64 unless `ids` supplies a sequence. */
function setup(opts?: AutoconfOptions, ids?: () => Uint8Array) {
  const calls: HostCall[] = [];
  const host: AutoconfHost = {
    addAddress: (a, prefixLen, preferredUntil, validUntil) => calls.push({ op: 'add', address: a.toString(), prefixLen, preferredUntil, validUntil }),
    updateAddress: (a, preferredUntil, validUntil) => calls.push({ op: 'update', address: a.toString(), preferredUntil, validUntil }),
    removeAddress: (a) => calls.push({ op: 'remove', address: a.toString() }),
    interfaceId: () => (ids ? ids() : IID),
  };
  const ac = new Ipv6Autoconf(host, opts);
  const take = () => calls.splice(0);
  return { ac, calls, take };
}

const GLOBAL = '2001:db8:1:0:5054:ff:fe12:3456';

describe('RFC 4862 §5.5.3 stateless address autoconfiguration', () => {
  it('forms prefix + interface id with the advertised lifetimes, and makes the prefix on-link', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 1_000);
    expect(take()).toEqual([{ op: 'add', address: GLOBAL, prefixLen: 64, preferredUntil: 1_000 + 14_400_000, validUntil: 1_000 + 86_400_000 }]);
    expect(ac.prefixes).toEqual([{ prefix: ip6('2001:db8:1::'), prefixLen: 64, until: 1_000 + 86_400_000 }]);
    expect(ac.isOnLink(ip6('2001:db8:1::99'))).toBe(true);
    expect(ac.isOnLink(ip6('2001:db8:2::99'))).toBe(false);
    expect(ac.isOnLink(ip6('fe80::abcd'))).toBe(true);
    // The same advertisement again refreshes, it does not add a second address.
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 2_000);
    expect(take()).toEqual([{ op: 'update', address: GLOBAL, preferredUntil: 2_000 + 14_400_000, validUntil: 2_000 + 86_400_000 }]);
  });

  it('ignores the bits of the advertised prefix past its length', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1:0:ffff::1')] } }), 0);
    expect(take()).toMatchObject([{ op: 'add', address: GLOBAL }]);
    expect(ac.prefixes[0].prefix.toString()).toBe('2001:db8:1::');
  });

  it('(a) A flag off: no address; the L flag alone still makes the prefix on-link', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { autonomous: false })] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.isOnLink(ip6('2001:db8:1::5'))).toBe(true);
  });

  it('A without L: an address, but the prefix is not on-link (RFC 5942 §4)', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { onLink: false })] } }), 0);
    expect(calls).toHaveLength(1);
    expect(ac.prefixes).toEqual([]);
    expect(ac.isOnLink(ip6('2001:db8:1::5'))).toBe(false);
  });

  it('(b) the link-local prefix: no address, and never in the on-link list (RFC 4861 §6.3.4)', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('fe80::')] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.prefixes).toEqual([]);
  });

  it('(c) preferred > valid: no address, counted; the on-link part still applies', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { preferredLifetimeS: 600, validLifetimeS: 300 })] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.ignored.preferredOverValid).toBe(1);
    expect(ac.prefixes).toHaveLength(1);
  });

  it('(d) a prefix that is not a /64: on-link only, no address, counted', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { prefixLen: 48 }), prefixInfo('2001:db8:2::', { prefixLen: 96 })] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.ignored.prefixLength).toBe(2);
    expect(ac.prefixes.map((p) => `${p.prefix}/${p.prefixLen}`)).toEqual(['2001:db8:1::/48', '2001:db8:2::/96']);
    expect(ac.isOnLink(ip6('2001:db8:1:ff::1'))).toBe(true);
  });

  it('(d) a new prefix with valid lifetime 0 forms nothing; a prefix length over 128 is dropped whole', () => {
    const { ac, calls } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: 0, preferredLifetimeS: 0 }), prefixInfo('2001:db8:2::', { prefixLen: 200 })] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.prefixes).toEqual([]);
    expect(ac.ignored.badPrefix).toBe(1);
  });

  it('with SLAAC off: on-link prefixes and routers, no addresses', () => {
    const { ac, calls } = setup({ slaac: false });
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 0);
    expect(calls).toEqual([]);
    expect(ac.prefixes).toHaveLength(1);
    expect(ac.routers).toHaveLength(1);
  });

  it('§5.5.4: deprecates when the preferred lifetime ends, removes when the valid lifetime ends', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 0, options: { prefixes: [prefixInfo('2001:db8:1::', { onLink: false, preferredLifetimeS: 100, validLifetimeS: 300 })] } }), 0);
    take();
    expect(ac.pollAt()).toBe(100_000);
    ac.poll(99_999);
    expect(take()).toEqual([]);
    ac.poll(100_000);
    expect(take()).toEqual([{ op: 'update', address: GLOBAL, preferredUntil: 100_000, validUntil: 300_000 }]);
    expect(ac.pollAt()).toBe(300_000);
    ac.poll(200_000);
    expect(take()).toEqual([]);
    ac.poll(300_000);
    expect(take()).toEqual([{ op: 'remove', address: GLOBAL }]);
    expect(ac.pollAt()).toBeUndefined();
    // Gone: the next advertisement forms it anew.
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 400_000);
    expect(take()).toMatchObject([{ op: 'add', address: GLOBAL }]);
  });

  it('a refresh with preferred lifetime 0 deprecates at once; a later one undeprecates', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 0);
    take();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { preferredLifetimeS: 0 })] } }), 10_000);
    expect(take()).toEqual([{ op: 'update', address: GLOBAL, preferredUntil: 10_000, validUntil: 10_000 + 86_400_000 }]);
    ac.poll(20_000); // already told: no second deprecation notice
    expect(take()).toEqual([]);
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 30_000);
    expect(take()).toMatchObject([{ op: 'update', preferredUntil: 30_000 + 14_400_000 }]);
  });

  it('0xffffffff lifetimes are infinite: no deadline', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 0, options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: INFINITE_LIFETIME, preferredLifetimeS: INFINITE_LIFETIME })] } }), 5);
    expect(take()).toEqual([{ op: 'add', address: GLOBAL, prefixLen: 64, preferredUntil: Infinity, validUntil: Infinity }]);
    expect(ac.prefixes[0].until).toBe(Infinity);
    expect(ac.pollAt()).toBeUndefined();
  });
});

describe('RFC 4862 §5.5.3 (e): the two-hours rule on refresh', () => {
  /** An address formed at 0 with the given valid lifetime, refreshed at `now` with `validS`; returns its new validUntil. */
  function refreshed(initialValidS: number, now: number, validS: number, preferredS = Math.min(validS, 60)): number {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: initialValidS, preferredLifetimeS: 60 })] } }), 0);
    take();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: validS, preferredLifetimeS: preferredS })] } }), now);
    const calls = take();
    expect(calls).toHaveLength(1);
    const call = calls[0] as Extract<HostCall, { op: 'update' }>;
    expect(call.op).toBe('update');
    expect(call.preferredUntil).toBe(now + preferredS * 1000); // the preferred lifetime is always reset
    return call.validUntil;
  }

  it('1: an advertised valid lifetime over two hours is taken, even shorter than what remains', () => {
    expect(refreshed(30 * 86_400, 1_000, 3 * 3_600)).toBe(1_000 + 3 * HOUR);
  });

  it('1: an advertised valid lifetime longer than what remains is taken, even under two hours', () => {
    expect(refreshed(3_600, 1_000, 5_400)).toBe(1_000 + 5_400_000);
  });

  it('1: infinity replaces a finite lifetime', () => {
    expect(refreshed(3_600, 1_000, INFINITE_LIFETIME, 60)).toBe(Infinity);
  });

  it('2: two hours or less remaining: a shorter advertised lifetime is ignored, 0 included', () => {
    expect(refreshed(3_600, 1_000, 600)).toBe(3_600_000);
    expect(refreshed(3_600, 1_000, 0, 0)).toBe(3_600_000);
    expect(refreshed(7_200, 0, 600)).toBe(2 * HOUR); // exactly two hours remaining
  });

  it('3: more than two hours remaining: a shorter advertised lifetime cuts it to two hours, no less', () => {
    expect(refreshed(30 * 86_400, 1_000, 3_600)).toBe(1_000 + 2 * HOUR);
    expect(refreshed(30 * 86_400, 1_000, 0, 0)).toBe(1_000 + 2 * HOUR);
    expect(refreshed(INFINITE_LIFETIME, 1_000, 600)).toBe(1_000 + 2 * HOUR);
  });
});

describe('RFC 4861 §6.3.4 default router list and RFC 4191 preferences', () => {
  it('adds, refreshes, removes on lifetime 0, and expires routers', () => {
    const { ac } = setup();
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 1_800 }), 0);
    ac.onRouterAdvert(R2, ra({ routerLifetimeS: 600, preference: 'low' }), 0);
    expect(ac.routers).toEqual([
      { address: R1, until: 1_800_000, preference: 'medium' },
      { address: R2, until: 600_000, preference: 'low' },
    ]);
    ac.onRouterAdvert(R2, ra({ routerLifetimeS: 900, preference: 'high' }), 100_000);
    expect(ac.routers[1]).toEqual({ address: R2, until: 1_000_000, preference: 'high' });
    expect(ac.pollAt()).toBe(1_000_000);
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 0 }), 200_000);
    expect(ac.routers.map((r) => r.address.toString())).toEqual(['fe80::2']);
    ac.onRouterAdvert(R3, ra({ routerLifetimeS: 0 }), 200_000); // unknown and lifetime 0: not added
    expect(ac.routers).toHaveLength(1);
    ac.poll(999_999);
    expect(ac.routers).toHaveLength(1);
    ac.poll(1_000_000);
    expect(ac.routers).toEqual([]);
    expect(ac.selectRouter()).toBeUndefined();
  });

  it('selects by reachability first, then preference, then the first learned', () => {
    const { ac } = setup();
    ac.onRouterAdvert(R1, ra({ preference: 'low' }), 0);
    ac.onRouterAdvert(R2, ra({ preference: 'high' }), 0);
    ac.onRouterAdvert(R3, ra({ preference: 'medium' }), 0);
    expect(ac.selectRouter()).toEqual(R2);
    expect(ac.selectRouter(() => true)).toEqual(R2);
    expect(ac.selectRouter((r) => r.equals(R1))).toEqual(R1); // a reachable low beats an unknown high
    expect(ac.selectRouter((r) => !r.equals(R2))).toEqual(R3);
    expect(ac.selectRouter(() => false)).toEqual(R2);
    const tie = setup().ac;
    tie.onRouterAdvert(R3, ra(), 0);
    tie.onRouterAdvert(R1, ra(), 0);
    expect(tie.selectRouter()).toEqual(R3);
  });
});

describe('RFC 4861 §6.3.4 on-link prefix list', () => {
  it('refreshes, removes on valid lifetime 0, ignores an unknown prefix with lifetime 0, expires', () => {
    const { ac } = setup({ slaac: false });
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: 100 }), prefixInfo('2001:db8:2::', { validLifetimeS: 100 })] } }), 0);
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: 0, preferredLifetimeS: 0 }), prefixInfo('2001:db8:3::', { validLifetimeS: 0, preferredLifetimeS: 0 }), prefixInfo('2001:db8:2::', { validLifetimeS: 500 })] } }), 50_000);
    expect(ac.prefixes).toEqual([{ prefix: ip6('2001:db8:2::'), prefixLen: 64, until: 550_000 }]);
    expect(ac.isOnLink(ip6('2001:db8:1::1'))).toBe(false);
    ac.poll(550_000);
    expect(ac.prefixes).toEqual([]);
    expect(ac.isOnLink(ip6('2001:db8:2::1'))).toBe(false);
  });

  it('keeps the same prefix at different lengths apart', () => {
    const { ac } = setup({ slaac: false });
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8::', { prefixLen: 32 }), prefixInfo('2001:db8::', { prefixLen: 64 })] } }), 0);
    expect(ac.prefixes).toHaveLength(2);
  });
});

describe('RA parameters: MTU, hop limit, timers, M/O flags', () => {
  it('takes an MTU option within [1280, link MTU] and ignores others', () => {
    const { ac } = setup({ linkMtu: 1500 });
    expect(ac.mtu).toBeUndefined();
    ac.onRouterAdvert(R1, ra({ options: { mtu: 1400 } }), 0);
    expect(ac.mtu).toBe(1400);
    ac.onRouterAdvert(R1, ra({ options: { mtu: 1279 } }), 0);
    ac.onRouterAdvert(R1, ra({ options: { mtu: 9000 } }), 0);
    expect(ac.mtu).toBe(1400);
    expect(ac.ignored.mtu).toBe(2);
    ac.onRouterAdvert(R1, ra({ options: { mtu: 1280 } }), 0);
    expect(ac.mtu).toBe(1280);
    ac.onRouterAdvert(R1, ra({ options: { mtu: 1500 } }), 0);
    expect(ac.mtu).toBe(1500);
    ac.onRouterAdvert(R1, ra(), 0); // no option: unchanged
    expect(ac.mtu).toBe(1500);
    const open = setup().ac; // no link MTU given: no upper bound
    open.onRouterAdvert(R1, ra({ options: { mtu: 9000 } }), 0);
    expect(open.mtu).toBe(9000);
  });

  it('takes hop limit, reachable time and retrans timer, keeping the old value on 0 (unspecified)', () => {
    const { ac } = setup();
    expect([ac.curHopLimit, ac.reachableTimeMs, ac.retransTimerMs]).toEqual([undefined, undefined, undefined]);
    ac.onRouterAdvert(R1, ra({ curHopLimit: 0 }), 0);
    expect(ac.curHopLimit).toBeUndefined();
    ac.onRouterAdvert(R1, ra({ curHopLimit: 128, reachableTimeMs: 30_000, retransTimerMs: 2_000 }), 0);
    expect([ac.curHopLimit, ac.reachableTimeMs, ac.retransTimerMs]).toEqual([128, 30_000, 2_000]);
    ac.onRouterAdvert(R1, ra({ curHopLimit: 0, reachableTimeMs: 0, retransTimerMs: 0 }), 0);
    expect([ac.curHopLimit, ac.reachableTimeMs, ac.retransTimerMs]).toEqual([128, 30_000, 2_000]);
  });

  it('reports the M and O flags of the last advertisement', () => {
    const { ac } = setup();
    expect([ac.managed, ac.other]).toEqual([false, false]);
    ac.onRouterAdvert(R1, ra({ managed: true, other: true }), 0);
    expect([ac.managed, ac.other]).toEqual([true, true]);
    ac.onRouterAdvert(R1, ra({ managed: false, other: true }), 0);
    expect([ac.managed, ac.other]).toEqual([false, true]);
  });
});

describe('RFC 8106 RDNSS', () => {
  const rdnss = (lifetimeS: number, ...servers: string[]) => ({ lifetimeS, servers: servers.map(ip6) });

  it('adds servers in order with their lifetime, refreshes, removes on lifetime 0, expires', () => {
    const { ac } = setup();
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(600, '2001:db8::53', '2001:db8::54')] } }), 0);
    expect(ac.dnsServers.map(String)).toEqual(['2001:db8::53', '2001:db8::54']);
    expect(ac.pollAt()).toBe(600_000);
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(1_200, '2001:db8::53')] } }), 100_000);
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(0, '2001:db8::99')] } }), 100_000); // unknown, lifetime 0: nothing
    ac.poll(600_000);
    expect(ac.dnsServers.map(String)).toEqual(['2001:db8::53']);
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(0, '2001:db8::53')] } }), 700_000);
    expect(ac.dnsServers).toEqual([]);
  });

  it('keeps infinite servers, and skips multicast, unspecified and loopback addresses', () => {
    const { ac } = setup();
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 0, options: { rdnss: [rdnss(INFINITE_LIFETIME, 'ff02::1', '::', '::1', '2001:db8::53')] } }), 0);
    expect(ac.dnsServers.map(String)).toEqual(['2001:db8::53']);
    expect(ac.pollAt()).toBeUndefined();
  });

  it(`keeps at most ${MAX_DNS_SERVERS}: a newcomer displaces only a server that expires before it`, () => {
    const { ac } = setup();
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(600, '2001:db8::1', '2001:db8::2'), rdnss(300, '2001:db8::3')] } }), 0);
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(200, '2001:db8::4')] } }), 0);
    expect(ac.dnsServers.map(String)).toEqual(['2001:db8::1', '2001:db8::2', '2001:db8::3']);
    expect(ac.ignored.full).toBe(1);
    ac.onRouterAdvert(R1, ra({ options: { rdnss: [rdnss(900, '2001:db8::5')] } }), 0);
    expect(ac.dnsServers.map(String)).toEqual(['2001:db8::1', '2001:db8::2', '2001:db8::5']);
  });
});

describe('bounded against floods of advertisements', () => {
  it(`keeps at most ${MAX_AUTOCONF_ENTRIES} routers, prefixes and addresses, and counts the rest`, () => {
    const { ac, calls } = setup();
    for (let i = 1; i <= 100; i++) ac.onRouterAdvert(ip6(`fe80::${i.toString(16)}`), ra(), 0);
    expect(ac.routers).toHaveLength(MAX_AUTOCONF_ENTRIES);
    const prefixes = Array.from({ length: 100 }, (_, i) => prefixInfo(`2001:db8:${i.toString(16)}::`));
    ac.onRouterAdvert(R1, ra({ options: { prefixes } }), 0);
    expect(ac.prefixes).toHaveLength(MAX_AUTOCONF_ENTRIES);
    expect(calls.filter((c) => c.op === 'add')).toHaveLength(MAX_AUTOCONF_ENTRIES);
    expect(ac.ignored.full).toBe(84 + 84 + 84);
    // A known router still refreshes when the list is full.
    ac.onRouterAdvert(R1, ra({ routerLifetimeS: 9_000 }), 0);
    expect(ac.routers.find((r) => r.address.equals(R1))?.until).toBe(9_000_000);
  });
});

describe('DAD failure of an autoconfigured address (RFC 4862 §5.4.5, RFC 7217 §6)', () => {
  it('asks for another interface id and forms a new address, at most IDGEN_RETRIES times', () => {
    let counter = 0;
    const { ac, take } = setup(undefined, () => new Uint8Array([0x12, 0x34, 0, 0, 0, 0, 0, counter++]));
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 0);
    expect(take()).toMatchObject([{ op: 'add', address: '2001:db8:1:0:1234::' }]);
    for (const n of [1, 2, 3]) {
      ac.addressDuplicate(ip6(`2001:db8:1:0:1234::${n - 1}`), 1_000);
      expect(take()).toEqual([{ op: 'add', address: `2001:db8:1:0:1234::${n}`, prefixLen: 64, preferredUntil: 14_400_000, validUntil: 86_400_000 }]);
    }
    ac.addressDuplicate(ip6('2001:db8:1:0:1234::3'), 1_000);
    expect(take()).toEqual([]);
    // Given up: refreshes neither re-form nor update it; expiry is silent.
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::', { validLifetimeS: 10, preferredLifetimeS: 10 })] } }), 2_000);
    expect(take()).toEqual([]);
    ac.poll(86_400_000);
    expect(take()).toEqual([]);
  });

  it('gives up at once when the id cannot change (EUI-64), and ignores unknown addresses', () => {
    const { ac, take } = setup();
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 0);
    take();
    ac.addressDuplicate(ip6('2001:db8:9::1'), 0);
    ac.addressDuplicate(ip6(GLOBAL), 0);
    ac.onRouterAdvert(R1, ra({ options: { prefixes: [prefixInfo('2001:db8:1::')] } }), 1_000);
    expect(take()).toEqual([]);
  });
});
