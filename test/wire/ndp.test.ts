/**
 * Neighbor Discovery (RFC 4861 §4): messages the Linux kernel, ndisc6's rdisc6 and radvd
 * put on a veth, parsed field by field and rebuilt byte-exact through ndpToIcmp, checksums
 * included; then construction, malformed messages and random bytes.
 *
 * Captured on 2026-11-23 (Linux 6.18, radvd 2.19, ndisc6 1.0) with
 *   ip netns exec A tcpdump -Z root -i v0 -U -w v0.pcap
 * in a lab of two namespaces joined by a veth pair, IPv6 on: A (v0, 02:00:00:00:00:01, a
 * host) and B (v1, 02:00:00:00:00:02, fd00:200::2/64 nodad, net.ipv6.conf.all.forwarding=1,
 * radvd with AdvOtherConfigFlag on, AdvDefaultPreference high, AdvLinkMTU 1400,
 * AdvCurHopLimit 64, AdvReachableTime 30000, AdvRetransTimer 1000, AdvDefaultLifetime 1800,
 * prefix fd00:200::/64 { AdvValidLifetime 86400; AdvPreferredLifetime 14400 } and
 * RDNSS fd00:200::53 fd00:200::54 { AdvRDNSSLifetime 600 }). Each message is the ICMPv6
 * part of a frame (the IPv6 header stripped), with the addresses its checksum covers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Icmpv6Packet, Icmpv6Repr } from '../../lib/wire/icmpv6';
import { emptyNdpOptions, ndpToIcmp, parseNdp, type NdpMessage } from '../../lib/wire/ndp';
import { a5, fromHex, hex, ok } from './fixtures/fields';

const ip = (text: string) => Ipv6Address.parse(text);
const mac = (text: string) => MacAddress.parse(text);
const LL_A = 'fe80::ff:fe00:1';
const LL_B = 'fe80::ff:fe00:2';
const MAC_A = '02:00:00:00:00:01';
const MAC_B = '02:00:00:00:00:02';

const RA_BODY =
  '4048070800007530000003e8' +
  '030440c0000151800000384000000000fd000200000000000000000000000000' +
  '1905000000000258fd000200000000000000000000000053fd000200000000000000000000000054' +
  '05010000000005780101020000000002';

/** A message as plain data: addresses as text, bytes as hex, so one toEqual reads every field. */
function plain(x: unknown): unknown {
  if (x instanceof Ipv6Address || x instanceof MacAddress) return x.toString();
  if (x instanceof Uint8Array) return hex(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

const noOptions = { prefixes: [], rdnss: [] };
const RA_FIELDS = {
  type: 'ra',
  curHopLimit: 64,
  managed: false,
  other: true,
  preference: 'high',
  routerLifetimeS: 1800,
  reachableTimeMs: 30000,
  retransTimerMs: 1000,
  options: {
    prefixes: [{ prefix: 'fd00:200::', prefixLen: 64, onLink: true, autonomous: true, validLifetimeS: 86400, preferredLifetimeS: 14400 }],
    rdnss: [{ lifetimeS: 600, servers: ['fd00:200::53', 'fd00:200::54'] }],
    mtu: 1400,
    sourceLinkAddr: MAC_B,
  },
};

const GOLDEN: Array<{ name: string; command: string; src: string; dst: string; hex: string; fields: unknown }> = [
  {
    name: 'DAD probe with a nonce (RFC 7527 enhanced DAD)',
    command: 'ip netns exec A ip -6 addr add fd00:200::1/64 dev v0',
    src: '::',
    dst: 'ff02::1:ff00:1',
    hex: '8700f8f300000000fd0002000000000000000000000000010e01a620a81f2668',
    fields: { type: 'ns', target: 'fd00:200::1', options: { ...noOptions, nonce: 'a620a81f2668' } },
  },
  {
    name: "A's kernel resolves B: multicast NS with SLLA",
    command: 'ip netns exec A ping -6 -c 1 -W 2 fd00:200::2',
    src: 'fd00:200::1',
    dst: 'ff02::1:ff00:2',
    hex: '8700799700000000fd0002000000000000000000000000020101020000000001',
    fields: { type: 'ns', target: 'fd00:200::2', options: { ...noOptions, sourceLinkAddr: MAC_A } },
  },
  {
    name: "B's NA: router (forwarding on), solicited, override, TLLA",
    command: 'ip netns exec A ping -6 -c 1 -W 2 fd00:200::2',
    src: 'fd00:200::2',
    dst: 'fd00:200::1',
    hex: '88009699e0000000fd0002000000000000000000000000020201020000000002',
    fields: { type: 'na', router: true, solicited: true, override: true, target: 'fd00:200::2', options: { ...noOptions, targetLinkAddr: MAC_B } },
  },
  {
    name: 'ndisc6 from the link-local address',
    command: 'ip netns exec A ndisc6 -1 fd00:200::2 v0',
    src: LL_A,
    dst: 'ff02::1:ff00:2',
    hex: '87007b1700000000fd0002000000000000000000000000020101020000000001',
    fields: { type: 'ns', target: 'fd00:200::2', options: { ...noOptions, sourceLinkAddr: MAC_A } },
  },
  {
    name: "B's unicast NUD probe of A",
    command: "(B's kernel, after ndisc6 and rdisc6)",
    src: LL_B,
    dst: 'fd00:200::1',
    hex: '87007a1b00000000fd0002000000000000000000000000010101020000000002',
    fields: { type: 'ns', target: 'fd00:200::1', options: { ...noOptions, sourceLinkAddr: MAC_B } },
  },
  {
    name: "A's answer to a unicast probe: solicited only, no TLLA",
    command: "(A's kernel)",
    src: 'fd00:200::1',
    dst: LL_B,
    hex: '88003c2640000000fd000200000000000000000000000001',
    fields: { type: 'na', router: false, solicited: true, override: false, target: 'fd00:200::1', options: noOptions },
  },
  {
    name: "A's answer for its SLAAC address: solicited, override, TLLA",
    command: 'echo x | ip netns exec A socat - UDP6:[fd00:200::2]:9',
    src: 'fd00:200::ff:fe00:1',
    dst: 'fd00:200::2',
    hex: '8800189c60000000fd00020000000000000000fffe0000010201020000000001',
    fields: { type: 'na', router: false, solicited: true, override: true, target: 'fd00:200::ff:fe00:1', options: { ...noOptions, targetLinkAddr: MAC_A } },
  },
  {
    name: "A's kernel RS with SLLA",
    command: 'ip -n B link set v1 up',
    src: LL_A,
    dst: 'ff02::2',
    hex: '85007b2c000000000101020000000001',
    fields: { type: 'rs', options: { ...noOptions, sourceLinkAddr: MAC_A } },
  },
  {
    name: "rdisc6's RS, no options",
    command: 'ip netns exec A rdisc6 -1 v0',
    src: LL_A,
    dst: 'ff02::2',
    hex: '85007e3600000000',
    fields: { type: 'rs', options: noOptions },
  },
  {
    name: "radvd's answer to rdisc6: PIO, RDNSS, MTU, SLLA",
    command: 'ip netns exec A rdisc6 -1 v0',
    src: LL_B,
    dst: LL_A,
    hex: '8600c9e6' + RA_BODY,
    fields: RA_FIELDS,
  },
  {
    name: "radvd's unsolicited RA",
    command: 'ip netns exec B radvd -n -m stderr -C radvd.conf -p radvd.pid',
    src: LL_B,
    dst: 'ff02::1',
    hex: '8600c864' + RA_BODY,
    fields: RA_FIELDS,
  },
  {
    name: "B's Redirect to fe80::3, TLLA and the redirected echo request",
    command:
      'ip -n B -6 neigh add fe80::3 lladdr 02:00:00:00:00:03 dev v1 nud permanent; ip -n B -6 route add fd00:400::/64 via fe80::3 dev v1; ' +
      'ip -n A -6 route add fd00:400::/64 via fd00:200::2; ip netns exec A ping -6 -c 1 -W 1 -s 8 fd00:400::1',
    src: LL_B,
    dst: 'fd00:200::ff:fe00:1',
    hex:
      '89002f6e00000000fe800000000000000000000000000003fd000400000000000000000000000001' +
      '0201020000000003' +
      '0408000000000000' +
      '6000a9c900103a40fd00020000000000000000fffe000001fd000400000000000000000000000001800036343e6c00010001020304050607',
    fields: {
      type: 'redirect',
      target: 'fe80::3',
      destination: 'fd00:400::1',
      options: {
        ...noOptions,
        targetLinkAddr: '02:00:00:00:00:03',
        // The packet B forwarded: hop limit 64 as A sent it, the echo request of icmpv6.test.ts.
        redirectedHeader: '6000a9c900103a40fd00020000000000000000fffe000001fd000400000000000000000000000001800036343e6c00010001020304050607',
      },
    },
  },
];

function icmpOf(text: string, src: string, dst: string, verifyChecksum = true): Icmpv6Repr | string {
  const pkt = Icmpv6Packet.checked(fromHex(text));
  return isDrop(pkt) ? pkt : Icmpv6Repr.parse(pkt, ip(src), ip(dst), { verifyChecksum });
}

function emitted(repr: Icmpv6Repr, src: string, dst: string): string {
  const out = a5(repr.bufferLen());
  repr.emit(out, 0, ip(src), ip(dst));
  return hex(out);
}

describe('golden NDP messages', () => {
  it.each(GOLDEN)('$name: every field, and rebuilt byte-exact', (g) => {
    const msg = ok(parseNdp(ok(icmpOf(g.hex, g.src, g.dst))));
    expect(plain(msg)).toEqual(g.fields);
    expect(emitted(ndpToIcmp(msg), g.src, g.dst)).toBe(g.hex);
  });
});

describe('construction into a buffer of 0xa5', () => {
  const opts = emptyNdpOptions;
  /** The message without its checksum (checked apart), as hex. */
  function built(msg: NdpMessage): string {
    const repr = ndpToIcmp(msg);
    const out = a5(2 + repr.bufferLen());
    repr.emit(out, 2, ip(LL_A), ip('ff02::2'));
    expect(hex(out.subarray(0, 2))).toBe('a5a5');
    expect(ok(Icmpv6Packet.checked(out.subarray(2))).checksumIsValid(ip(LL_A), ip('ff02::2'))).toBe(true);
    return hex(out.subarray(2, 4)) + hex(out.subarray(6));
  }

  it.each<[string, NdpMessage, string]>([
    ['RS with SLLA', { type: 'rs', options: { ...opts(), sourceLinkAddr: mac('02:11:22:33:44:55') } }, '8500' + '00000000' + '0101021122334455'],
    [
      'RA, M flag, low preference, every option',
      {
        type: 'ra', curHopLimit: 255, managed: true, other: false, preference: 'low', routerLifetimeS: 0xfffe, reachableTimeMs: 0xfffffffe, retransTimerMs: 7,
        options: {
          ...opts(),
          prefixes: [{ prefix: ip('2001:db8:1::'), prefixLen: 48, onLink: false, autonomous: true, validLifetimeS: 0xffffffff, preferredLifetimeS: 0 }],
          rdnss: [{ lifetimeS: 1, servers: [ip('2001:db8::53')] }],
          mtu: 9000,
          sourceLinkAddr: mac('02:00:00:00:00:09'),
        },
      },
      '8600' + 'ff98fffe' + 'fffffffe' + '00000007' +
        '03043040' + 'ffffffff' + '00000000' + '00000000' + '20010db8000100000000000000000000' +
        '1903' + '0000' + '00000001' + '20010db8000000000000000000000053' +
        '0501' + '0000' + '00002328' +
        '0101' + '020000000009',
    ],
    ['RA, medium preference, no options', { type: 'ra', curHopLimit: 0, managed: false, other: false, preference: 'medium', routerLifetimeS: 0, reachableTimeMs: 0, retransTimerMs: 0, options: opts() }, '8600' + '00000000' + '0000000000000000'],
    [
      'NS with SLLA and a nonce',
      { type: 'ns', target: ip('fe80::1'), options: { ...opts(), sourceLinkAddr: mac('02:00:00:00:00:01'), nonce: fromHex('010203040506') } },
      '8700' + '00000000' + 'fe800000000000000000000000000001' + '0101020000000001' + '0e01010203040506',
    ],
    ['NA, router only', { type: 'na', router: true, solicited: false, override: false, target: ip('fe80::1'), options: opts() }, '8800' + '80000000' + 'fe800000000000000000000000000001'],
    [
      'NA, override with TLLA',
      { type: 'na', router: false, solicited: false, override: true, target: ip('2001:db8::1'), options: { ...opts(), targetLinkAddr: mac('0a:0b:0c:0d:0e:0f') } },
      '8800' + '20000000' + '20010db8000000000000000000000001' + '02010a0b0c0d0e0f',
    ],
    [
      'Redirect to the destination itself, its header padded to 8 bytes',
      { type: 'redirect', target: ip('2001:db8::9'), destination: ip('2001:db8::9'), options: { ...opts(), redirectedHeader: fromHex('600000000000') } },
      '8900' + '00000000' + '20010db8000000000000000000000009'.repeat(2) + '0402000000000000' + '6000000000000000',
    ],
  ])('%s', (_name, msg, expected) => {
    expect(built(msg)).toBe(expected);
    expect(parseNdp(ndpToIcmp(msg))).toEqual(msg.type === 'redirect' ? { ...msg, options: { ...msg.options, redirectedHeader: fromHex('6000000000000000') } } : msg);
  });

  it('a Redirect quotes no more of the packet than keeps it within 1280 bytes (RFC 4861 §4.6.3)', () => {
    const packet = new Uint8Array(2000).fill(0x66);
    const msg: NdpMessage = { type: 'redirect', target: ip('fe80::1'), destination: ip('2001:db8::1'), options: { ...opts(), targetLinkAddr: mac(MAC_A), redirectedHeader: packet } };
    const repr = ndpToIcmp(msg);
    expect(repr.bufferLen()).toBe(1280 - 40);
    const back = ok(parseNdp(repr)) as Extract<NdpMessage, { type: 'redirect' }>;
    expect(back.options.redirectedHeader).toEqual(packet.subarray(0, 1240 - 8 - 32 - 8 - 8));
  });
});

describe('router preference (RFC 4191 §2.2)', () => {
  it.each([
    [0x00, 'medium'],
    [0x08, 'high'],
    [0x18, 'low'],
    [0x10, 'medium'], // 10 is reserved: treated as 00
    [0xff, 'low'],
  ])('flags byte %i → %s', (flags, preference) => {
    const ra = new Icmpv6Repr({ type: 134, code: 0, restOfHeader: 0x40000708 | (flags << 16), payload: new Uint8Array(8) });
    expect(ok(parseNdp(ra))).toMatchObject({ preference, managed: flags >= 0x80, other: (flags & 0x40) !== 0 });
  });
});

describe('options', () => {
  const rs = (optionsHex: string) => ok(parseNdp(new Icmpv6Repr({ type: 133, code: 0, restOfHeader: 0, payload: fromHex(optionsHex) })));
  const pio = (flags: string, prefixLen: string, prefix: string) => '0304' + prefixLen + flags + '0000000a00000005' + 'ffffffff' + prefix;
  it.each([
    ['unknown option skipped', 'c8010000000000000101020000000001', { sourceLinkAddr: MAC_A }],
    ['SLLA of 16 bytes (not Ethernet) ignored', '0102' + '020000000001' + '0000000000000000', {}],
    ['the first SLLA wins', '01010200000000010101020000000002', { sourceLinkAddr: MAC_A }],
    ['MTU of length 2 ignored', '05020000000005dc0000000000000000', {}],
    ['RDNSS of even length ignored', '1904000000000258' + '00'.repeat(24), {}],
    ['RDNSS of length 1 ignored', '1901000000000258', {}],
    ['PIO of length 3 ignored', '0303400000000000' + '00'.repeat(16), {}],
    ['PIO of prefix length 129 ignored', pio('c0', '81', '20010db8000000000000000000000000'), {}],
    [
      'PIO: reserved flag bits and field ignored, bits past the prefix length cleared',
      pio('ff', '2d', '20010db8ffffffffffffffffffffffff'),
      { prefixes: [{ prefix: '2001:db8:fff8::', prefixLen: 45, onLink: true, autonomous: true, validLifetimeS: 10, preferredLifetimeS: 5 }] },
    ],
    [
      'PIOs and RDNSS repeat',
      pio('00', '40', '20010db8000000010000000000000000') + pio('80', '00', 'ff'.repeat(16)) + '1903000000000001' + 'fe80' + '00'.repeat(13) + '01' + '1903000000000002' + 'fe80' + '00'.repeat(13) + '02',
      {
        prefixes: [
          { prefix: '2001:db8:0:1::', prefixLen: 64, onLink: false, autonomous: false, validLifetimeS: 10, preferredLifetimeS: 5 },
          { prefix: '::', prefixLen: 0, onLink: true, autonomous: false, validLifetimeS: 10, preferredLifetimeS: 5 },
        ],
        rdnss: [
          { lifetimeS: 1, servers: ['fe80::1'] },
          { lifetimeS: 2, servers: ['fe80::2'] },
        ],
      },
    ],
  ])('%s', (_name, optionsHex, expected) => {
    expect(plain(rs(optionsHex))).toEqual({ type: 'rs', options: { ...noOptions, ...expected } });
  });
});

describe('malformed NDP messages are dropped with a reason', () => {
  const target = 'fe800000000000000000000000000001';
  const icmp = (type: number, code: number, payloadHex: string) => new Icmpv6Repr({ type, code, restOfHeader: 0, payload: fromHex(payloadHex) });
  it.each([
    ['an echo request', 'not-ndp', icmp(128, 0, '')],
    ['RS of code 1', 'bad-code', icmp(133, 1, '')],
    ['NA of code 255', 'bad-code', icmp(136, 255, target)],
    ['RA of 15 bytes', 'truncated', icmp(134, 0, '00000000000000')],
    ['NS of 23 bytes', 'truncated', icmp(135, 0, target.slice(0, -2))],
    ['NA of 8 bytes', 'truncated', icmp(136, 0, '')],
    ['Redirect of 39 bytes', 'truncated', icmp(137, 0, target + target.slice(0, -2))],
    ['RS with an option of length 0', 'bad-option-length', icmp(133, 0, '0100020000000001')],
    ['NS with an option of length 0 after a sound one', 'bad-option-length', icmp(135, 0, target + '0101020000000001' + 'c800000000000000')],
    ['RA with a PIO of length 0', 'bad-option-length', icmp(134, 0, '0000000000000000' + '0300')],
    ['RS with an option past the end', 'truncated', icmp(133, 0, '0102020000000001')],
    ['RS with one byte of option', 'truncated', icmp(133, 0, '01')],
    ['NA with a sound option and one byte more', 'truncated', icmp(136, 0, target + '0201020000000001' + '02')],
    ['NS for a multicast target', 'multicast-target', icmp(135, 0, 'ff020000000000000000000000000001')],
    ['NA for a multicast target', 'multicast-target', icmp(136, 0, 'ff020000000000000000000000000001')],
    ['Redirect to a multicast destination', 'multicast-destination', icmp(137, 0, target + 'ff050000000000000000000000000002')],
    ['Redirect to a global target that is not the destination', 'bad-redirect-target', icmp(137, 0, '20010db8000000000000000000000001' + '20010db8000000000000000000000002')],
  ])('%s → %s', (_name, reason, repr) => {
    expect(parseNdp(repr)).toBe(reason);
  });

  it('a golden NA with a bit flipped fails its checksum', () => {
    const g = GOLDEN[2];
    const bytes = fromHex(g.hex);
    bytes[20] ^= 0x10;
    expect(icmpOf(hex(bytes), g.src, g.dst)).toBe('bad-checksum');
  });
});

describe('robustness: nothing throws, whatever the bytes', () => {
  const RUNS = 10_000;

  /** Parses as NDP; an accepted message survives a rebuild unchanged. */
  function exercise(bytes: Uint8Array): boolean {
    const icmp = icmpOf(hex(bytes), LL_A, LL_B, false);
    if (isDrop(icmp)) return false;
    const msg = parseNdp(icmp);
    if (isDrop(msg)) return false;
    expect(parseNdp(ndpToIcmp(msg))).toEqual(msg);
    return true;
  }

  function run(name: string, make: (random: SeededRandom, i: number) => Uint8Array): number {
    const random = new SeededRandom(name.length * 7919);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const bytes = make(random, i);
      try {
        if (exercise(bytes)) accepted++;
      } catch (err) {
        throw new Error(`${name} run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
    return accepted;
  }

  it(`${RUNS} random messages of 0..120 bytes, most with an NDP type and code 0`, () => {
    const accepted = run('random', (random) => {
      const b = new Uint8Array(uniformInt(random, 0, 120));
      for (let i = 0; i < b.length; i++) b[i] = random.u32() & 0xff;
      if (b.length < 8 || random.u32() % 8 === 0) return b;
      b[0] = uniformInt(random, 133, 137);
      b[1] = 0;
      const fixed = 8 + [0, 8, 16, 16, 32][b[0] - 133];
      if (b[0] === 137 && b.length >= 10) b.set([0xfe, 0x80], 8); // a link-local Redirect target
      // Option headers of the known types and others, each fitting the message but now and then.
      const types = [1, 2, 3, 4, 5, 14, 25, 0, 200];
      let at = fixed;
      while (at + 8 <= b.length) {
        b[at] = types[uniformInt(random, 0, types.length - 1)];
        b[at + 1] = Math.min(uniformInt(random, random.u32() % 32 === 0 ? 0 : 1, 5), random.u32() % 32 === 0 ? 5 : (b.length - at) >> 3);
        at += 8 * b[at + 1] || 8;
      }
      return random.u32() % 4 === 0 ? b : b.subarray(0, Math.min(at, b.length));
    });
    expect(accepted).toBeGreaterThan(RUNS / 10);
  });

  it(`${RUNS} golden messages with 1 to 4 bits flipped`, () => {
    const accepted = run('bit-flipped', (random, i) => {
      const b = fromHex(GOLDEN[i % GOLDEN.length].hex);
      const flips = uniformInt(random, 1, 4);
      for (let f = 0; f < flips; f++) b[uniformInt(random, 0, b.length - 1)] ^= 1 << uniformInt(random, 0, 7);
      return b;
    });
    expect(accepted).toBeGreaterThan(RUNS / 4);
  });
});
