import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv4Cidr, Ipv6Address, MacAddress } from '../../lib/wire/address';
import { a5, hex } from './fixtures/fields';

describe('MacAddress', () => {
  it.each([
    ['02:00:00:00:00:01', '02:00:00:00:00:01'],
    ['AA:BB:CC:DD:EE:FF', 'aa:bb:cc:dd:ee:ff'],
    ['aa-bb-cc-dd-ee-0f', 'aa:bb:cc:dd:ee:0f'],
    ['2:0:0:0:0:1', '02:00:00:00:00:01'],
    ['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff'],
    ['00:00:00:00:00:00', '00:00:00:00:00:00'],
  ])('parses %s and formats it as %s', (text, formatted) => {
    const mac = MacAddress.parse(text);
    expect(mac.toString()).toBe(formatted);
    expect(MacAddress.parse(formatted).equals(mac)).toBe(true);
  });

  it.each(['', '02:00:00:00:00', '02:00:00:00:00:01:02', '02-00:00:00:00:01', '0g:00:00:00:00:01', '002:00:00:00:00:01', '02:00:00:00:00:01 ', '02000000 0001', '020000000001', '02::00:00:00:01'])(
    'rejects %j',
    (text) => {
      expect(MacAddress.tryParse(text)).toBeUndefined();
      expect(() => MacAddress.parse(text)).toThrow(TypeError);
    },
  );

  it('reads and writes bytes at an offset, and holds 48 bits exactly', () => {
    const buf = a5(10);
    const mac = MacAddress.parse('fe:dc:ba:98:76:54');
    mac.writeTo(buf, 3);
    expect(hex(buf)).toBe('a5a5a5' + 'fedcba987654' + 'a5');
    expect(MacAddress.fromBytes(buf, 3).equals(mac)).toBe(true);
    expect(mac.value).toBe(0xfedcba987654);
    expect(MacAddress.fromNumber(0xfedcba987654).toString()).toBe('fe:dc:ba:98:76:54');
    expect(() => MacAddress.fromNumber(2 ** 48)).toThrow(TypeError);
    expect(() => MacAddress.fromNumber(-1)).toThrow(TypeError);
    expect(() => MacAddress.fromNumber(1.5)).toThrow(TypeError);
  });

  it('classifies: broadcast, group (I/G bit), unicast', () => {
    expect(MacAddress.BROADCAST.isBroadcast && MacAddress.BROADCAST.isMulticast).toBe(true);
    const group = MacAddress.parse('01:00:5e:00:00:01');
    expect([group.isMulticast, group.isBroadcast, group.isUnicast]).toEqual([true, false, false]);
    const unicast = MacAddress.parse('02:00:00:00:00:01');
    expect([unicast.isMulticast, unicast.isUnicast]).toEqual([false, true]);
    expect(MacAddress.UNSPECIFIED.isUnicast).toBe(false);
  });

  it.each([
    ['224.0.0.1', '01:00:5e:00:00:01'],
    ['224.0.0.251', '01:00:5e:00:00:fb'],
    ['239.255.255.250', '01:00:5e:7f:ff:fa'],
    // Only the low 23 bits map: 224.128.0.1 shares 224.0.0.1's MAC.
    ['224.128.0.1', '01:00:5e:00:00:01'],
  ])('RFC 1112 §6.4: %s maps to %s', (group, mac) => {
    expect(MacAddress.fromIpv4Multicast(Ipv4Address.parse(group)).toString()).toBe(mac);
  });

  it.each([
    ['ff02::1', '33:33:00:00:00:01'],
    ['ff02::2', '33:33:00:00:00:02'],
    ['ff02::1:ff00:1', '33:33:ff:00:00:01'],
    ['ff05::1:3', '33:33:00:01:00:03'],
    ['ff02::1:ffbb:ccdd', '33:33:ff:bb:cc:dd'],
  ])('RFC 2464 §7: %s maps to %s', (group, mac) => {
    expect(MacAddress.fromIpv6Multicast(Ipv6Address.parse(group)).toString()).toBe(mac);
  });
});

describe('Ipv4Address', () => {
  it.each(['10.200.0.1', '0.0.0.0', '255.255.255.255', '192.0.2.1', '1.2.3.4'])('round-trips %s', (text) => {
    expect(Ipv4Address.parse(text).toString()).toBe(text);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', '1..2.3', '0x1.2.3.4', '1e1.0.0.0', '1.2.3.4/24', '::1', '1.2.3.04'])(
    'rejects %j',
    (text) => {
      expect(Ipv4Address.tryParse(text)).toBeUndefined();
      expect(() => Ipv4Address.parse(text)).toThrow(TypeError);
    },
  );

  it('reads and writes bytes at an offset; values are unsigned', () => {
    const buf = a5(7);
    const addr = Ipv4Address.parse('203.0.113.254');
    addr.writeTo(buf, 2);
    expect(hex(buf)).toBe('a5a5cb0071fea5');
    expect(Ipv4Address.fromBytes(buf, 2).equals(addr)).toBe(true);
    expect(addr.value).toBe(0xcb0071fe);
    expect(Ipv4Address.BROADCAST.value).toBe(0xffffffff);
    expect(() => Ipv4Address.fromNumber(2 ** 32)).toThrow(TypeError);
  });

  it.each([
    ['0.0.0.0', { isUnspecified: true, isBroadcast: false, isMulticast: false, isLoopback: false, isLinkLocal: false, isReserved: false }],
    ['255.255.255.255', { isUnspecified: false, isBroadcast: true, isMulticast: false, isLoopback: false, isLinkLocal: false, isReserved: false }],
    ['224.0.0.1', { isUnspecified: false, isBroadcast: false, isMulticast: true, isLoopback: false, isLinkLocal: false, isReserved: false }],
    ['239.255.255.255', { isUnspecified: false, isBroadcast: false, isMulticast: true, isLoopback: false, isLinkLocal: false, isReserved: false }],
    ['127.0.0.1', { isUnspecified: false, isBroadcast: false, isMulticast: false, isLoopback: true, isLinkLocal: false, isReserved: false }],
    ['169.254.1.1', { isUnspecified: false, isBroadcast: false, isMulticast: false, isLoopback: false, isLinkLocal: true, isReserved: false }],
    ['240.0.0.1', { isUnspecified: false, isBroadcast: false, isMulticast: false, isLoopback: false, isLinkLocal: false, isReserved: true }],
    ['10.200.0.1', { isUnspecified: false, isBroadcast: false, isMulticast: false, isLoopback: false, isLinkLocal: false, isReserved: false }],
  ])('classifies %s', (text, flags) => {
    const a = Ipv4Address.parse(text);
    const { isUnspecified, isBroadcast, isMulticast, isLoopback, isLinkLocal, isReserved } = a;
    expect({ isUnspecified, isBroadcast, isMulticast, isLoopback, isLinkLocal, isReserved }).toEqual(flags);
  });
});

describe('Ipv4Cidr', () => {
  it.each([
    ['10.200.0.2/24', '10.200.0.0', '10.200.0.255', 0xffffff00],
    ['192.168.77.130/25', '192.168.77.128', '192.168.77.255', 0xffffff80],
    ['172.31.255.255/12', '172.16.0.0', '172.31.255.255', 0xfff00000],
    ['192.168.1.1/1', '128.0.0.0', '255.255.255.255', 0x80000000],
    ['10.1.2.3/0', '0.0.0.0', '255.255.255.255', 0],
    ['10.0.0.1/30', '10.0.0.0', '10.0.0.3', 0xfffffffc],
    // RFC 3021: a /31 has no broadcast, nor has a /32.
    ['10.0.0.1/31', '10.0.0.0', undefined, 0xfffffffe],
    ['10.0.0.1/32', '10.0.0.1', undefined, 0xffffffff],
  ])('%s: network %s, broadcast %s', (text, network, broadcast, mask) => {
    const cidr = Ipv4Cidr.parse(text);
    expect(cidr.toString()).toBe(text);
    expect(cidr.network.toString()).toBe(network);
    expect(cidr.broadcast?.toString()).toBe(broadcast);
    expect(cidr.isDirectedBroadcast(Ipv4Address.parse(broadcast ?? '255.255.255.255'))).toBe(broadcast !== undefined);
    expect(cidr.mask).toBe(mask);
  });

  it.each([
    ['10.200.0.2/24', '10.200.0.77', true],
    ['10.200.0.2/24', '10.200.0.0', true],
    ['10.200.0.2/24', '10.200.0.255', true],
    ['10.200.0.2/24', '10.200.1.1', false],
    ['10.200.0.2/24', '138.200.0.2', false],
    ['192.168.1.1/1', '255.0.0.1', true],
    ['192.168.1.1/1', '127.0.0.1', false],
    ['10.0.0.1/0', '255.255.255.255', true],
    ['10.0.0.1/32', '10.0.0.1', true],
    ['10.0.0.1/32', '10.0.0.2', false],
  ])('%s contains %s: %s', (cidr, addr, inside) => {
    expect(Ipv4Cidr.parse(cidr).contains(Ipv4Address.parse(addr))).toBe(inside);
  });

  it.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/24/1', '10.0.0.256/24', '/24', '10.0.0.0/2 4', '10.0.0.0/100'])('rejects %j', (text) => {
    expect(Ipv4Cidr.tryParse(text)).toBeUndefined();
    expect(() => Ipv4Cidr.parse(text)).toThrow(TypeError);
  });

  it('throws a TypeError for a prefix length out of range', () => {
    expect(() => new Ipv4Cidr(Ipv4Address.UNSPECIFIED, 33)).toThrow(TypeError);
    expect(() => new Ipv4Cidr(Ipv4Address.UNSPECIFIED, -1)).toThrow(TypeError);
    expect(() => new Ipv4Cidr(Ipv4Address.UNSPECIFIED, 8.5)).toThrow(TypeError);
  });
});

describe('Ipv6Address', () => {
  it.each([
    // RFC 5952 §4: leading zeros dropped (§4.1), "::" for the longest run of zeros (§4.2.1),
    // never for one 16-bit group (§4.2.2), the first of equal runs (§4.2.3), lower case (§4.3).
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:DB8::A:BcDe', '2001:db8::a:bcde'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['fe80::1:2', 'fe80::1:2'],
    ['ff02::1:ff00:1', 'ff02::1:ff00:1'],
    // §5: IPv4-mapped addresses in mixed notation, as inet_ntop and Node print them.
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['0:0:0:0:0:ffff:0.0.0.0', '::ffff:0.0.0.0'],
    // Dotted quads elsewhere are only input syntax.
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::ffff:0:c000:201', '::ffff:0:c000:201'],
  ])('parses %s and formats it as %s (RFC 5952)', (text, formatted) => {
    const a = Ipv6Address.parse(text);
    expect(a.toString()).toBe(formatted);
    expect(Ipv6Address.parse(formatted).equals(a)).toBe(true);
  });

  it('parses to the right bytes', () => {
    expect(hex(Ipv6Address.parse('2001:db8::1').bytes)).toBe('20010db8000000000000000000000001');
    expect(hex(Ipv6Address.parse('::ffff:192.0.2.1').bytes)).toBe('00000000000000000000ffffc0000201');
    expect(hex(Ipv6Address.parse('fe80::a:b').bytes)).toBe('fe80' + '0000'.repeat(5) + '000a000b');
  });

  it.each([
    '',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    ':1::',
    '1::2:',
    ':1:2:3:4:5:6:7:8',
    '::ffff:1.2.3',
    '::ffff:256.0.0.1',
    '::ffff:1.2.3.4:5',
    '::ffff:01.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1.2.3.4',
    'fe80::1%eth0',
    ' ::1',
    '[::1]',
  ])('rejects %j', (text) => {
    expect(Ipv6Address.tryParse(text)).toBeUndefined();
    expect(() => Ipv6Address.parse(text)).toThrow(TypeError);
  });

  it('copies its bytes: the address outlives the buffer it was read from', () => {
    const buf = Ipv6Address.parse('2001:db8::1').bytes.slice();
    const a = Ipv6Address.fromBytes(buf);
    buf[15] = 2;
    expect(a.toString()).toBe('2001:db8::1');
    const out = a5(20);
    a.writeTo(out, 2);
    expect(hex(out)).toBe('a5a5' + '20010db8000000000000000000000001' + 'a5a5');
  });

  it('classifies: unspecified, loopback, multicast, link-local, IPv4-mapped', () => {
    const flags = (t: string) => {
      const a = Ipv6Address.parse(t);
      return [a.isUnspecified, a.isLoopback, a.isMulticast, a.isLinkLocal, a.isIpv4Mapped];
    };
    expect(flags('::')).toEqual([true, false, false, false, false]);
    expect(flags('::1')).toEqual([false, true, false, false, false]);
    expect(flags('ff02::1')).toEqual([false, false, true, false, false]);
    expect(flags('fe80::1')).toEqual([false, false, false, true, false]);
    expect(flags('febf::1')).toEqual([false, false, false, true, false]);
    expect(flags('fec0::1')).toEqual([false, false, false, false, false]);
    expect(flags('::ffff:10.0.0.1')).toEqual([false, false, false, false, true]);
    expect(Ipv6Address.ALL_NODES.toString()).toBe('ff02::1');
    expect(Ipv6Address.ALL_ROUTERS.toString()).toBe('ff02::2');
    expect(Ipv6Address.LOOPBACK.toString()).toBe('::1');
    expect(Ipv6Address.UNSPECIFIED.toString()).toBe('::');
  });

  it.each([
    ['2001:db8::aabb:ccdd', 'ff02::1:ffbb:ccdd'],
    ['fe80::1', 'ff02::1:ff00:1'],
    ['fe80::200:5eff:fe00:5301', 'ff02::1:ff00:5301'],
    ['::', 'ff02::1:ff00:0'],
  ])('RFC 4291 §2.7.1: the solicited-node group of %s is %s', (addr, group) => {
    expect(Ipv6Address.parse(addr).solicitedNode().toString()).toBe(group);
  });
});
