/**
 * UDP (RFC 768): a datagram the Linux kernel checksummed, re-emitted byte-exact; checksums
 * worked by hand; the zero-checksum rules of IPv4 (RFC 768) and IPv6 (RFC 8200 §8.1);
 * malformed datagrams, each with its drop reason.
 */
import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from '../../lib/wire/address';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr, type UdpPseudoHeader } from '../../lib/wire/udp';
import { a5, fromHex, hex, ok, referenceChecksum } from './fixtures/fields';

/**
 * dnsmasq 2.90's DHCPOFFER, 10.201.0.1:67 → 10.201.0.74:68, captured on the client's veth
 * (tx checksum offload off on the server's side, so the kernel computed the UDP checksum):
 * see test/wire/dhcp4.test.ts for the lab and commands. Ethernet 14 + IPv4 20 + UDP 308.
 */
const DNSMASQ_OFFER = fromHex(`
  02000000000c020000000005080045c00148951800004011cdf00ac900010ac9004a004300440134eaba020106001a2b3c4d000000000000
  00000ac9004a0ac900010000000002000000000c000000000000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
  0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382
  536335010236040ac900013304000000783a040000003c3b04000000690104ffffff001c040ac900ff03040ac90001ff0000000000000000
  000000000000
`);
const OFFER_PSEUDO = { src: Ipv4Address.parse('10.201.0.1'), dst: Ipv4Address.parse('10.201.0.74') };

const V4: UdpPseudoHeader = { src: Ipv4Address.parse('10.0.0.1'), dst: Ipv4Address.parse('10.0.0.2') };
const V6: UdpPseudoHeader = { src: Ipv6Address.parse('fe80::1'), dst: Ipv6Address.parse('fe80::2') };

/** Header (0xa5 until emitted) and payload, with the payload already in place as callers do. */
function datagram(repr: UdpRepr, payload: Uint8Array, pseudo: UdpPseudoHeader, offset = 0): Uint8Array {
  const buf = a5(offset + UDP_HEADER_LEN + payload.length + 3);
  buf.set(payload, offset + UDP_HEADER_LEN);
  repr.emit(buf, offset, pseudo);
  return buf;
}

describe('UDP: a datagram checksummed by the Linux kernel', () => {
  const udp = DNSMASQ_OFFER.subarray(34);

  it('reads every field', () => {
    const pkt = ok(UdpPacket.checked(udp));
    expect([pkt.srcPort, pkt.dstPort, pkt.length, pkt.checksum]).toEqual([67, 68, 308, 0xeaba]);
    expect(pkt.payload.length).toBe(300);
    expect(pkt.checksumIsValid(OFFER_PSEUDO)).toBe(true);
    const repr = ok(UdpRepr.parse(pkt, OFFER_PSEUDO));
    expect({ ...repr }).toEqual({ srcPort: 67, dstPort: 68, payloadLen: 300 });
  });

  it('re-emits the header, checksum included, byte-exact over the payload in place', () => {
    const repr = ok(UdpRepr.parse(ok(UdpPacket.checked(udp)), OFFER_PSEUDO));
    const out = a5(udp.length);
    out.set(udp.subarray(UDP_HEADER_LEN), UDP_HEADER_LEN);
    repr.emit(out, 0, OFFER_PSEUDO);
    expect(hex(out)).toBe(hex(udp));
  });

  it('rejects it under another pseudo-header (the checksum covers the IP addresses)', () => {
    const pkt = ok(UdpPacket.checked(udp));
    expect(UdpRepr.parse(pkt, { ...OFFER_PSEUDO, dst: Ipv4Address.parse('10.201.0.75') })).toBe('bad-checksum');
  });
});

describe('UDP checksums worked by hand', () => {
  // Pseudo-header 0a00+0001+0a00+0002+0011+000a = 141e; header 04d2+0035+000a = 0511;
  // data 6869 ("hi"): 141e+0511+6869 = 8198, complement 7e67.
  it('10.0.0.1:1234 → 10.0.0.2:53 "hi" has checksum 0x7e67', () => {
    const buf = datagram(new UdpRepr({ srcPort: 1234, dstPort: 53, payloadLen: 2 }), Uint8Array.of(0x68, 0x69), V4, 3);
    expect(hex(buf)).toBe('a5a5a5' + '04d20035000a7e67' + '6869' + 'a5a5a5');
  });

  // Odd length: the last byte is padded with zero (RFC 1071 §4.1): "abc" = 6162 6300, length 11:
  // 0a00+0001+0a00+0002+0011+000b = 141f; 04d2+0035+000b = 0512; 141f+0512+6162+6300 = dd93 → 226c.
  it('odd-length data is padded with a zero byte for the sum only', () => {
    const buf = datagram(new UdpRepr({ srcPort: 1234, dstPort: 53, payloadLen: 3 }), Uint8Array.of(0x61, 0x62, 0x63), V4);
    expect(hex(buf)).toBe('04d20035000b226c' + '616263' + 'a5a5a5');
    expect(ok(UdpRepr.parse(ok(UdpPacket.checked(buf.subarray(0, 11))), V4)).payloadLen).toBe(3);
  });

  // 141e + 0511 = 192f; data ffff-192f = e6d0 makes the sum ffff, whose complement is 0:
  // RFC 768 sends that as ffff, and the receiver's sum (ffff+ffff → ffff) is still valid.
  it('a computed checksum of 0 goes out as 0xffff, and is accepted', () => {
    const buf = datagram(new UdpRepr({ srcPort: 1234, dstPort: 53, payloadLen: 2 }), Uint8Array.of(0xe6, 0xd0), V4);
    expect(hex(buf.subarray(0, 10))).toBe('04d20035000affff' + 'e6d0');
    expect(UdpRepr.parse(ok(UdpPacket.checked(buf.subarray(0, 10))), V4)).toBeInstanceOf(UdpRepr);
  });

  it('IPv6 uses the RFC 8200 §8.1 pseudo-header (checked against an independent sum)', () => {
    const payload = Uint8Array.from('hello, v6', (c) => c.charCodeAt(0));
    const buf = datagram(new UdpRepr({ srcPort: 546, dstPort: 547, payloadLen: payload.length }), payload, V6).subarray(0, 17);
    const pseudo = new Uint8Array(40 + 17);
    pseudo.set((V6.src as Ipv6Address).bytes, 0);
    pseudo.set((V6.dst as Ipv6Address).bytes, 16);
    pseudo.set([0, 0, 0, 17, 0, 0, 0, 17], 32);
    pseudo.set(buf, 40);
    pseudo[46] = pseudo[47] = 0;
    expect((buf[6] << 8) | buf[7]).toBe(referenceChecksum(pseudo));
    expect(UdpRepr.parse(ok(UdpPacket.checked(buf)), V6)).toBeInstanceOf(UdpRepr);
    expect(UdpRepr.parse(ok(UdpPacket.checked(buf)), V4)).toBe('bad-checksum');
  });
});

describe('UDP zero checksum', () => {
  const noChecksum = fromHex('04d20035000a0000' + '1234');

  it('means "none" over IPv4 (RFC 768): accepted whatever the data', () => {
    expect(UdpRepr.parse(ok(UdpPacket.checked(noChecksum)), V4)).toBeInstanceOf(UdpRepr);
  });

  it('is forbidden over IPv6 (RFC 8200 §8.1), even when the device verified checksums', () => {
    const pkt = ok(UdpPacket.checked(noChecksum));
    expect(UdpRepr.parse(pkt, V6)).toBe('zero-checksum');
    expect(UdpRepr.parse(pkt, V6, { verifyChecksum: false })).toBe('zero-checksum');
  });
});

describe('malformed UDP', () => {
  const good = datagram(new UdpRepr({ srcPort: 1234, dstPort: 53, payloadLen: 2 }), Uint8Array.of(0x68, 0x69), V4).subarray(0, 10);

  it.each([
    ['empty', '', 'truncated'],
    ['7 bytes', '04d20035000a7e', 'truncated'],
    ['length 0', '04d2003500007e67', 'bad-length'],
    ['length 7, under the header', '04d2003500077e67', 'bad-length'],
    ['length 11, past a 10-byte buffer', '04d20035000b7e676869', 'bad-length'],
    ['length 65535 in 8 bytes', '04d20035ffff7e67', 'bad-length'],
  ])('%s → %s', (_name, bytes, reason) => {
    expect(UdpPacket.checked(fromHex(bytes))).toBe(reason);
  });

  // Every byte but the length field (bytes 4-5: the table above).
  it.each([0, 1, 2, 3, 6, 7, 8, 9])('a bit flipped in byte %i breaks the checksum', (at) => {
    const bad = good.slice();
    bad[at] ^= 0x10;
    const pkt = ok(UdpPacket.checked(bad));
    expect(UdpRepr.parse(pkt, V4)).toBe('bad-checksum');
    expect(UdpRepr.parse(pkt, V4, { verifyChecksum: false })).toBeInstanceOf(UdpRepr);
  });

  it('bytes after the length field are not payload and not summed', () => {
    const longer = Uint8Array.of(...good, 0xde, 0xad, 0xbe);
    const pkt = ok(UdpPacket.checked(longer));
    expect(hex(pkt.payload)).toBe('6869');
    expect(UdpRepr.parse(pkt, V4)).toBeInstanceOf(UdpRepr);
  });

  it('refuses to build a header it cannot carry', () => {
    expect(() => new UdpRepr({ srcPort: 65536, dstPort: 1, payloadLen: 0 })).toThrow(RangeError);
    expect(() => new UdpRepr({ srcPort: 1, dstPort: -1, payloadLen: 0 })).toThrow(RangeError);
    expect(() => new UdpRepr({ srcPort: 1, dstPort: 1, payloadLen: 65528 })).toThrow(RangeError);
    expect(new UdpRepr({ srcPort: 1, dstPort: 1, payloadLen: 65527 }).bufferLen()).toBe(8);
  });
});
