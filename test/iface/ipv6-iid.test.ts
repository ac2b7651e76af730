import { describe, expect, it } from 'vitest';
import {
  addressFromPrefix,
  eui64InterfaceId,
  inPrefix,
  isReservedInterfaceId,
  linkLocalAddress,
  maskPrefix,
  stablePrivacyInterfaceId,
} from '../../lib/iface/ipv6-iid';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';

const ip6 = (s: string) => Ipv6Address.parse(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/[: ]/g, ''), 'hex'));
const SECRET = bytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const PREFIX = ip6('2001:db8:1:2::');

describe('EUI-64 interface identifiers (RFC 4291 Appendix A)', () => {
  it.each([
    ['52:54:00:12:34:56', '505400fffe123456'],
    ['00:00:00:00:00:00', '020000fffe000000'],
    ['02:00:00:00:00:01', '000000fffe000001'],
    ['ff:ff:ff:ff:ff:ff', 'fdfffffffeffffff'],
  ])('%s → %s (ff:fe inserted, universal/local bit flipped)', (mac, iid) => {
    expect(hex(eui64InterfaceId(MacAddress.parse(mac)))).toBe(iid);
  });

  it('makes the link-local and the global address', () => {
    const iid = eui64InterfaceId(MacAddress.parse('52:54:00:12:34:56'));
    expect(linkLocalAddress(iid).toString()).toBe('fe80::5054:ff:fe12:3456');
    expect(addressFromPrefix(PREFIX, 64, iid).toString()).toBe('2001:db8:1:2:5054:ff:fe12:3456');
    // Bits past the /64 in the advertised prefix are ignored (RFC 4861 §4.6.2).
    expect(addressFromPrefix(ip6('2001:db8:1:2:ffff::1'), 64, iid).toString()).toBe('2001:db8:1:2:5054:ff:fe12:3456');
  });

  it('refuses anything but a /64 and an 8-byte identifier (configuration errors)', () => {
    const iid = eui64InterfaceId(MacAddress.parse('52:54:00:12:34:56'));
    expect(() => addressFromPrefix(PREFIX, 48 as 64, iid)).toThrow(TypeError);
    expect(() => addressFromPrefix(PREFIX, 64, iid.subarray(0, 6))).toThrow(TypeError);
  });
});

describe('reserved interface identifiers (RFC 5453, IANA registry)', () => {
  it.each([
    ['0000000000000000', true], // Subnet-Router anycast, RFC 4291 §2.6.1
    ['02005efffe000000', true], // IANA Ethernet block, first
    ['02005efffe005213', true], // Proxy Mobile IPv6, RFC 6543
    ['02005efffeffffff', true], // IANA Ethernet block, last
    ['fdffffffffffff80', true], // reserved subnet anycast, RFC 2526
    ['fdffffffffffffff', true],
    ['fdffffffffffff7f', false],
    ['02005effff000000', false],
    ['0000000000000001', false],
    ['505400fffe123456', false],
  ])('%s reserved: %s', (iid, reserved) => {
    expect(isReservedInterfaceId(bytes(iid))).toBe(reserved);
  });
});

describe('stable privacy interface identifiers (RFC 7217)', () => {
  const id = (over: Partial<{ prefix: Ipv6Address; len: number; iface: string; net: string; counter: number; secret: Uint8Array }> = {}) =>
    hex(stablePrivacyInterfaceId(over.prefix ?? PREFIX, over.len ?? 64, over.iface ?? 'eth0', over.net ?? '', over.counter ?? 0, over.secret ?? SECRET));

  it('is 64 bits, and the same for the same inputs, across calls and versions', () => {
    expect(id()).toHaveLength(16);
    expect(id()).toBe(id());
    // Pinned: a changed value would renumber every host that upgrades (RFC 7217 §1: stable).
    // Cross-checked with Python: sha256(prefix16 | 64 | u16 len "eth0" | u16 len "" | u32 counter | secret)[-8:].
    expect(id()).toBe('9af564e09747d50f');
  });

  it('depends on every input, and only on the prefix bits within the prefix length', () => {
    const base = id();
    const others = [
      id({ prefix: ip6('2001:db8:1:3::') }),
      id({ iface: 'eth1' }),
      id({ net: 'ssid-home' }),
      id({ counter: 1 }),
      id({ secret: bytes('ff'.repeat(32)) }),
      id({ len: 56 }),
    ];
    for (const o of others) expect(o).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
    expect(id({ prefix: ip6('2001:db8:1:2:dead:beef::') })).toBe(base);
  });

  it('does not let field boundaries blur: ("ab","c") and ("a","bc") differ', () => {
    expect(id({ iface: 'ab', net: 'c' })).not.toBe(id({ iface: 'a', net: 'bc' }));
  });

  it('never yields a reserved identifier, over many DAD counters and prefixes', () => {
    const seen = new Set<string>();
    for (let counter = 0; counter < 500; counter++) {
      const iid = stablePrivacyInterfaceId(PREFIX, 64, 'eth0', '', counter, SECRET);
      expect(isReservedInterfaceId(iid)).toBe(false);
      seen.add(hex(iid));
    }
    expect(seen.size).toBe(500);
  });

  it('forms a link-local address from the link-local prefix (RFC 7217 §5: Prefix)', () => {
    const iid = stablePrivacyInterfaceId(ip6('fe80::'), 64, 'eth0', '', 0, SECRET);
    const ll = linkLocalAddress(iid);
    expect(ll.isLinkLocal).toBe(true);
    expect(hex(ll.bytes.subarray(8))).toBe(hex(iid));
    expect(hex(ll.bytes.subarray(0, 8))).toBe('fe80000000000000');
  });
});

describe('prefix helpers', () => {
  it('masks and matches prefixes of any length', () => {
    expect(maskPrefix(ip6('2001:db8:abcd:1234::1'), 48).toString()).toBe('2001:db8:abcd::');
    expect(maskPrefix(ip6('2001:db8:abcd:1234::1'), 52).toString()).toBe('2001:db8:abcd:1000::');
    expect(maskPrefix(ip6('2001:db8::1'), 0).toString()).toBe('::');
    expect(maskPrefix(ip6('2001:db8::1'), 128).toString()).toBe('2001:db8::1');
    expect(inPrefix(ip6('2001:db8:1::'), 64, ip6('2001:db8:1::99'))).toBe(true);
    expect(inPrefix(ip6('2001:db8:1::'), 64, ip6('2001:db8:1:1::99'))).toBe(false);
    expect(inPrefix(ip6('2001:db8:1::'), 63, ip6('2001:db8:1:1::99'))).toBe(true);
    // Agrees with masking for every length, on addresses that differ in one bit.
    for (let len = 0; len <= 128; len++) {
      for (const bit of [0, 7, 8, 63, 64, 100, 127]) {
        const b = ip6('2001:db8:ffff:0:1234:5678:9abc:def0').bytes.slice();
        b[bit >> 3] ^= 0x80 >> (bit & 7);
        const other = Ipv6Address.fromBytes(b);
        const prefix = ip6('2001:db8:ffff:0:1234:5678:9abc:def0');
        expect(inPrefix(prefix, len, other), `len ${len} bit ${bit}`).toBe(maskPrefix(other, len).equals(maskPrefix(prefix, len)));
      }
    }
  });
});
