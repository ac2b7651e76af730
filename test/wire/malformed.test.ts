/**
 * Malformed input, layer by layer: each case is a golden frame cut short or edited in one
 * place (with the IPv4 header checksum fixed up, so the edit is the only fault), and the
 * parser must answer with the named drop reason, never throw.
 */
import { describe, expect, it } from 'vitest';
import { ArpPacket, ArpRepr } from '../../lib/wire/arp';
import { isDrop } from '../../lib/wire/drop';
import { EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN } from '../../lib/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr } from '../../lib/wire/icmpv4';
import { Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { copyOf, fixIpv4Checksum, hex, ok } from './fixtures/fields';
import { GOLDEN } from './fixtures/golden';

/** The drop reason of the first stage (view, then repr) that refuses the bytes, or 'accepted'. */
function verdict<V, R>(checked: (b: Uint8Array) => V | string, parse: (v: V) => R | string, bytes: Uint8Array): string {
  const view = checked(bytes);
  if (isDrop(view)) return view;
  const repr = parse(view);
  return isDrop(repr) ? repr : 'accepted';
}
const ethernetVerdict = (b: Uint8Array) => verdict(EthernetFrame.checked, EthernetRepr.parse, b);
const arpVerdict = (b: Uint8Array) => verdict(ArpPacket.checked, ArpRepr.parse, b);
const ipv4Verdict = (b: Uint8Array) => verdict(Ipv4Packet.checked, (p: Ipv4Packet) => Ipv4Repr.parse(p), b);
const icmpv4Verdict = (b: Uint8Array) => verdict(Icmpv4Packet.checked, (p: Icmpv4Packet) => Icmpv4Repr.parse(p), b);

const L2 = ETHERNET_HEADER_LEN;
const ARP = () => copyOf(GOLDEN.arpingRequest, L2);
/** An ARP packet with Ethernet's minimum padding after it, so a longer announced length still fits. */
const ARP_PADDED = () => {
  const b = new Uint8Array(46);
  b.set(GOLDEN.arpingRequest.subarray(L2));
  return b;
};
const ECHO = () => copyOf(GOLDEN.echoRequest, L2);
const RECORD_ROUTE = () => copyOf(GOLDEN.echoRequestRecordRoute, L2);
const ICMP = () => copyOf(GOLDEN.echoRequest, L2 + 20);

function edit(bytes: Uint8Array, change: (b: Uint8Array) => void): Uint8Array {
  change(bytes);
  return bytes;
}
const setU16 = (b: Uint8Array, at: number, v: number) => {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
};
/** Edits an IPv4 packet and fixes its header checksum, so only the edit is wrong. */
const ipEdit = (bytes: Uint8Array, change: (b: Uint8Array) => void) => fixIpv4Checksum(edit(bytes, change));

/** The golden echo request with `options` inserted after its 20-byte header (a multiple of 4). */
function withOptions(options: number[]): Uint8Array {
  const echo = ECHO();
  const out = new Uint8Array(echo.length + options.length);
  out.set(echo.subarray(0, 20));
  out.set(options, 20);
  out.set(echo.subarray(20), 20 + options.length);
  out[0] = 0x40 | ((20 + options.length) >> 2);
  setU16(out, 2, out.length);
  return fixIpv4Checksum(out);
}

describe('Ethernet II', () => {
  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['1 byte', new Uint8Array(1), 'truncated'],
    ['13 bytes, one short of a header', GOLDEN.echoRequest.subarray(0, 13), 'truncated'],
    ['the header alone', GOLDEN.echoRequest.subarray(0, 14), 'accepted'],
    ['802.3 length field 46 (captured)', GOLDEN.ieee8023, 'length-field'],
    ['802.3 length field 0', edit(copyOf(GOLDEN.echoRequest), (b) => setU16(b, 12, 0)), 'length-field'],
    ['802.3 length field 1500', edit(copyOf(GOLDEN.echoRequest), (b) => setU16(b, 12, 1500)), 'length-field'],
    ['0x05ff, the last value that is not a type', edit(copyOf(GOLDEN.echoRequest), (b) => setU16(b, 12, 0x05ff)), 'length-field'],
    ['0x0600, the first type', edit(copyOf(GOLDEN.echoRequest), (b) => setU16(b, 12, 0x0600)), 'accepted'],
    ['an unknown type stays a number', edit(copyOf(GOLDEN.echoRequest), (b) => setU16(b, 12, 0x88b5)), 'accepted'],
  ])('%s -> %s', (_, bytes, reason) => {
    expect(ethernetVerdict(bytes)).toBe(reason);
  });
});

describe('ARP', () => {
  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['7 bytes, short of the fixed part', ARP().subarray(0, 7), 'truncated'],
    ['8 bytes: fixed part, no addresses', ARP().subarray(0, 8), 'truncated'],
    ['27 bytes, the target IP cut', ARP().subarray(0, 27), 'truncated'],
    ['28 bytes', ARP(), 'accepted'],
    ['with Ethernet padding after it', ARP_PADDED(), 'accepted'],
    ['hlen 8 announcing more than the 28 bytes held', edit(ARP(), (b) => (b[4] = 8)), 'truncated'],
    ['plen 16 announcing more than the 28 bytes held', edit(ARP(), (b) => (b[5] = 16)), 'truncated'],
    ['htype 6 (IEEE 802)', edit(ARP(), (b) => setU16(b, 0, 6)), 'unsupported-hardware'],
    ['htype 0', edit(ARP(), (b) => setU16(b, 0, 0)), 'unsupported-hardware'],
    ['hlen 8 (EUI-64), padding holding it', edit(ARP_PADDED(), (b) => (b[4] = 8)), 'unsupported-hardware'],
    ['hlen 5', edit(ARP(), (b) => (b[4] = 5)), 'unsupported-hardware'],
    ['ptype 0x86dd', edit(ARP(), (b) => setU16(b, 2, 0x86dd)), 'unsupported-protocol'],
    ['ptype 0x0806', edit(ARP(), (b) => setU16(b, 2, 0x0806)), 'unsupported-protocol'],
    ['plen 6, padding holding it', edit(ARP_PADDED(), (b) => (b[5] = 6)), 'unsupported-protocol'],
    ['plen 3', edit(ARP(), (b) => (b[5] = 3)), 'unsupported-protocol'],
    ['op 0', edit(ARP(), (b) => setU16(b, 6, 0)), 'bad-operation'],
    ['op 3 (RARP request)', edit(ARP(), (b) => setU16(b, 6, 3)), 'bad-operation'],
    ['op 0x0101', edit(ARP(), (b) => setU16(b, 6, 0x0101)), 'bad-operation'],
  ])('%s -> %s', (_, bytes, reason) => {
    expect(arpVerdict(bytes)).toBe(reason);
  });
});

describe('IPv4', () => {
  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['19 bytes, short of the fixed header', ECHO().subarray(0, 19), 'truncated'],
    ['ihl 15 in a 40-byte buffer', RECORD_ROUTE().subarray(0, 40), 'truncated'],
    ['ihl 15 in a 59-byte buffer', RECORD_ROUTE().subarray(0, 59), 'truncated'],
    ['the last byte of the payload cut', ECHO().subarray(0, 83), 'truncated'],
    ['total length 85 > the 84 bytes held', ipEdit(ECHO(), (b) => setU16(b, 2, 85)), 'truncated'],
    ['total length 65535', ipEdit(ECHO(), (b) => setU16(b, 2, 0xffff)), 'truncated'],
    ['version 6', ipEdit(ECHO(), (b) => (b[0] = 0x65)), 'bad-version'],
    ['version 0', ipEdit(ECHO(), (b) => (b[0] = 0x05)), 'bad-version'],
    ['version 15', ipEdit(ECHO(), (b) => (b[0] = 0xf5)), 'bad-version'],
    ['ihl 0', ipEdit(ECHO(), (b) => (b[0] = 0x40)), 'bad-header-length'],
    ['ihl 4', ipEdit(ECHO(), (b) => (b[0] = 0x44)), 'bad-header-length'],
    ['total length 19 < header 20', ipEdit(ECHO(), (b) => setU16(b, 2, 19)), 'bad-total-length'],
    ['total length 0', ipEdit(ECHO(), (b) => setU16(b, 2, 0)), 'bad-total-length'],
    ['total length 59 < header 60', ipEdit(RECORD_ROUTE(), (b) => setU16(b, 2, 59)), 'bad-total-length'],
    ['total length = header: an empty payload', ipEdit(ECHO(), (b) => setU16(b, 2, 20)), 'accepted'],
    ['bad header checksum (captured)', copyOf(GOLDEN.badIpChecksum, L2), 'bad-checksum'],
    ['one bit of the TTL flipped, checksum not fixed', edit(ECHO(), (b) => (b[8] ^= 0x01)), 'bad-checksum'],
    ['checksum zeroed', edit(ECHO(), (b) => setU16(b, 10, 0)), 'bad-checksum'],
    ['a bit flipped in an option, checksum not fixed', edit(RECORD_ROUTE(), (b) => (b[30] ^= 0x80)), 'bad-checksum'],
    ['option length 0 (captured)', copyOf(GOLDEN.optionLengthZero, L2), 'bad-options'],
    ['option length 0', withOptions([0x07, 0, 0, 0]), 'bad-options'],
    ['option length 1', withOptions([0x07, 1, 0, 0]), 'bad-options'],
    ['option length 5 past a 4-byte option area', withOptions([0x07, 5, 4, 0]), 'bad-options'],
    ['record route length 40 after a NOP, past the 40-byte area', ipEdit(RECORD_ROUTE(), (b) => (b[22] = 40)), 'bad-options'],
    ['an option type in the last byte with no length byte', withOptions([1, 1, 1, 0x07]), 'bad-options'],
    ['a length past the area after NOPs', withOptions([1, 1, 0x44, 3]), 'bad-options'],
    ['option length 4 filling the area exactly', withOptions([0x07, 4, 4, 0]), 'accepted'],
    ['NOPs only', withOptions([1, 1, 1, 1]), 'accepted'],
    ['EOL, then anything: the rest is padding', withOptions([0, 0x07, 0, 0xff]), 'accepted'],
    ['router alert (RFC 2113)', withOptions([0x94, 4, 0, 0]), 'accepted'],
  ])('%s -> %s', (_, bytes, reason) => {
    expect(ipv4Verdict(bytes)).toBe(reason);
  });

  it('bytes after the total length (Ethernet padding) are not payload', () => {
    const padded = new Uint8Array(GOLDEN.echoRequestOneByte.length - L2 + 17).fill(0xa5);
    padded.set(GOLDEN.echoRequestOneByte.subarray(L2));
    const pkt = ok(Ipv4Packet.checked(padded));
    expect(pkt.payload.length).toBe(9);
    expect(ok(Ipv4Repr.parse(pkt)).payloadLen).toBe(9);
  });
});

describe('ICMPv4', () => {
  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['7 bytes, short of the header', ICMP().subarray(0, 7), 'truncated'],
    ['8 bytes: the checksum covers what is not there', ICMP().subarray(0, 8), 'bad-checksum'],
    ['bad checksum (captured)', copyOf(GOLDEN.badIcmpChecksum, L2 + 20), 'bad-checksum'],
    ['one payload bit flipped', edit(ICMP(), (b) => (b[40] ^= 0x10)), 'bad-checksum'],
    ['the last byte cut', ICMP().subarray(0, 63), 'bad-checksum'],
    ['one byte of zeros appended (zeros do not change the sum)', (() => {
      const b = new Uint8Array(65);
      b.set(ICMP());
      return b;
    })(), 'accepted'],
    ['the golden message', ICMP(), 'accepted'],
  ])('%s -> %s', (_, bytes, reason) => {
    expect(icmpv4Verdict(bytes)).toBe(reason);
  });

  it('an IPv4 total length that leaves 7 bytes for ICMP: IPv4 accepts, ICMP is truncated', () => {
    const pkt = ok(Ipv4Packet.checked(ipEdit(copyOf(GOLDEN.echoRequestOneByte, L2), (b) => setU16(b, 2, 27))));
    expect(ok(Ipv4Repr.parse(pkt)).payloadLen).toBe(7);
    expect(icmpv4Verdict(pkt.payload)).toBe('truncated');
  });

  it('Ethernet padding after the IPv4 total length is not ICMP payload, whatever its bytes', () => {
    const frame = edit(copyOf(GOLDEN.paddedEchoRequest), (b) => b.fill(0xa5, 43));
    const eth = ok(EthernetFrame.checked(frame));
    const ipPkt = ok(Ipv4Packet.checked(eth.payload));
    expect(eth.payload.length).toBe(46);
    expect(ipPkt.payload.length).toBe(9);
    const icmp = ok(Icmpv4Repr.parse(ok(Icmpv4Packet.checked(ipPkt.payload))));
    expect(hex(icmp.payload)).toBe('78');
  });
});
