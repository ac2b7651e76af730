/**
 * Frames the Linux kernel, arping and ping put on a veth (fixtures/golden.ts, captured by
 * fixtures/capture-golden.sh): every field read through the views and the reprs, then the
 * reprs emitted into one buffer, which must hold the captured bytes exactly: headers,
 * IPv4 options and both checksums as the kernel computed them.
 */
import { describe, expect, it } from 'vitest';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { ArpPacket, ArpRepr } from '../../lib/wire/arp';
import { EtherType, EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN } from '../../lib/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import {
  a5,
  arpFields,
  arpPacketFields,
  copyOf,
  ethernetFields,
  hex,
  icmpv4PacketFields,
  icmpv4ReprFields,
  ipv4PacketFields,
  ipv4ReprFields,
  ok,
} from './fixtures/fields';
import { GOLDEN, type GoldenName } from './fixtures/golden';

const MAC_A = '02:00:00:00:00:01';
const MAC_B = '02:00:00:00:00:02';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const IP_A = '10.200.0.1';
const IP_B = '10.200.0.2';

/** iputils ping's data: a 16-byte struct timeval (little-endian, this run's), then 0x10, 0x11, ... */
function pingData(timeval: string, len = 56): string {
  let text = timeval;
  for (let b = 0x10; text.length < 2 * len; b++) text += b.toString(16).padStart(2, '0');
  return text;
}

describe('golden ARP frames', () => {
  const cases: Array<[GoldenName, { dst: string; src: string }, ReturnType<typeof arpFields>]> = [
    ['arpingRequest', { dst: BROADCAST, src: MAC_A }, { operation: 1, senderMac: MAC_A, senderIp: IP_A, targetMac: BROADCAST, targetIp: IP_B }],
    ['arpingReply', { dst: MAC_A, src: MAC_B }, { operation: 2, senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A }],
    ['kernelArpRequest', { dst: BROADCAST, src: MAC_A }, { operation: 1, senderMac: MAC_A, senderIp: IP_A, targetMac: '00:00:00:00:00:00', targetIp: IP_B }],
    ['kernelArpReply', { dst: MAC_A, src: MAC_B }, { operation: 2, senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A }],
  ];

  it.each(cases)('%s: every field, and re-emitted byte-exact', (name, ethernet, arp) => {
    const bytes = GOLDEN[name];
    const frame = ok(EthernetFrame.checked(bytes));
    const eth = ok(EthernetRepr.parse(frame));
    expect(ethernetFields(frame)).toEqual({ ...ethernet, ethertype: EtherType.Arp });
    expect(ethernetFields(eth)).toEqual({ ...ethernet, ethertype: EtherType.Arp });
    expect(frame.payload.length).toBe(28);

    const pkt = ok(ArpPacket.checked(frame.payload));
    const repr = ok(ArpRepr.parse(pkt));
    expect(arpPacketFields(pkt)).toEqual({ hardwareType: 1, protocolType: 0x0800, hardwareLen: 6, protocolLen: 4, ...arp });
    expect(arpFields(repr)).toEqual(arp);

    const out = a5(eth.bufferLen() + repr.bufferLen());
    eth.emit(out, 0);
    repr.emit(out, eth.bufferLen());
    expect(hex(out)).toBe(hex(bytes));
  });
});

interface IcmpCase {
  ethernet: { dst: string; src: string };
  ipv4: ReturnType<typeof ipv4PacketFields>;
  icmp: ReturnType<typeof icmpv4PacketFields>;
}

const request = { dst: MAC_B, src: MAC_A };
const reply = { dst: MAC_A, src: MAC_B };
const ipv4Defaults = { version: 4, headerLen: 20, dscp: 0, ecn: 0, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 1, options: '', checksumIsValid: true };
const fromA = { src: IP_A, dst: IP_B, dontFragment: true };
const fromB = { src: IP_B, dst: IP_A, dontFragment: false };
const echoDefaults = { code: 0, seqNo: 1, checksumIsValid: true };
/** NOP, then record route (RFC 791 §3.1): length 39, pointer 8, nine slots, the first filled by A. */
const recordRouteOut = '01' + '072708' + '0ac80001' + '00'.repeat(32);
/** B answers: pointer 16, slots A, B, B (B records itself on receipt and on sending), then EOL. */
const recordRouteBack = '072710' + '0ac80001' + '0ac80002' + '0ac80002' + '00'.repeat(24) + '00';
const paramProblemQuote = hex(GOLDEN.optionLengthZero.subarray(ETHERNET_HEADER_LEN));

const icmpCases: Array<[GoldenName, IcmpCase]> = [
  ['echoRequest', {
    ethernet: request,
    ipv4: { ...ipv4Defaults, ...fromA, totalLength: 84, ident: 0x11c2, checksum: 0x1355, payloadLen: 64 },
    icmp: { ...echoDefaults, type: 8, checksum: 0xc0d2, restOfHeader: 0x2cfe0001, ident: 11518, payload: pingData('9412046b00000000aadd080000000000') },
  }],
  ['echoReply', {
    ethernet: reply,
    ipv4: { ...ipv4Defaults, ...fromB, totalLength: 84, ident: 0x1061, checksum: 0x54b6, payloadLen: 64 },
    icmp: { ...echoDefaults, type: 0, checksum: 0xc8d2, restOfHeader: 0x2cfe0001, ident: 11518, payload: pingData('9412046b00000000aadd080000000000') },
  }],
  ['echoRequestOneByte', {
    ethernet: request,
    ipv4: { ...ipv4Defaults, ...fromA, totalLength: 29, ident: 0x11c3, checksum: 0x138b, payloadLen: 9 },
    icmp: { ...echoDefaults, type: 8, checksum: 0xcaff, restOfHeader: 0x2cff0001, ident: 11519, payload: '00' },
  }],
  ['echoReplyOneByte', {
    ethernet: reply,
    ipv4: { ...ipv4Defaults, ...fromB, totalLength: 29, ident: 0x1062, checksum: 0x54ec, payloadLen: 9 },
    icmp: { ...echoDefaults, type: 0, checksum: 0xd2ff, restOfHeader: 0x2cff0001, ident: 11519, payload: '00' },
  }],
  ['echoRequestRecordRoute', {
    ethernet: request,
    ipv4: { ...ipv4Defaults, ...fromA, headerLen: 60, totalLength: 124, ident: 0x11c4, checksum: 0xd652, options: recordRouteOut, payloadLen: 64 },
    icmp: { ...echoDefaults, type: 8, checksum: 0xd7b7, restOfHeader: 0x2d000001, ident: 11520, payload: pingData('9412046b0000000093f6080000000000') },
  }],
  ['echoReplyRecordRoute', {
    ethernet: reply,
    ipv4: { ...ipv4Defaults, ...fromB, headerLen: 60, totalLength: 124, ident: 0x1063, checksum: 0xd644, options: recordRouteBack, payloadLen: 64 },
    icmp: { ...echoDefaults, type: 0, checksum: 0xdfb7, restOfHeader: 0x2d000001, ident: 11520, payload: pingData('9412046b0000000093f6080000000000') },
  }],
  ['paddedEchoReply', {
    ethernet: reply,
    ipv4: { ...ipv4Defaults, ...fromB, totalLength: 29, ident: 0x1065, checksum: 0x54e9, payloadLen: 9 },
    icmp: { ...echoDefaults, type: 0, checksum: 0x8785, restOfHeader: 0x00770003, ident: 0x77, seqNo: 3, payload: '78' },
  }],
  ['paramProblem', {
    ethernet: reply,
    // Linux sends ICMP errors with precedence "internetwork control" (tos 0xc0, RFC 1812 §4.3.2.5).
    ipv4: { ...ipv4Defaults, ...fromB, dscp: 48, totalLength: 69, ident: 0x1066, checksum: 0x5400, payloadLen: 49 },
    // RFC 792 parameter problem: the pointer (20) is the first byte of the bad option.
    icmp: { ...echoDefaults, type: 12, checksum: 0xdfff, restOfHeader: 0x14000000, ident: 0x1400, seqNo: 0, payload: paramProblemQuote },
  }],
];

/** The repr carries the view's meaning minus what the emitter derives (lengths, checksum). */
function expectedIpv4Repr(v: IcmpCase['ipv4']): ReturnType<typeof ipv4ReprFields> {
  const { src, dst, protocol, payloadLen, ttl, dscp, ecn, ident, dontFragment, moreFragments, fragmentOffset, options } = v;
  return { src, dst, protocol, payloadLen, ttl, dscp, ecn, ident, dontFragment, moreFragments, fragmentOffset, options };
}

function parseIcmpFrame(bytes: Uint8Array, verifyChecksum = true) {
  const frame = ok(EthernetFrame.checked(bytes));
  const eth = ok(EthernetRepr.parse(frame));
  const ipPkt = ok(Ipv4Packet.checked(frame.payload));
  const ip = ok(Ipv4Repr.parse(ipPkt, { verifyChecksum }));
  const icmpPkt = ok(Icmpv4Packet.checked(ipPkt.payload));
  const icmp = ok(Icmpv4Repr.parse(icmpPkt, { verifyChecksum }));
  return { frame, eth, ipPkt, ip, icmpPkt, icmp };
}

function emitIcmpFrame(buf: Uint8Array, eth: EthernetRepr, ip: Ipv4Repr, icmp: Icmpv4Repr): Uint8Array {
  eth.emit(buf, 0);
  ip.emit(buf, eth.bufferLen());
  icmp.emit(buf, eth.bufferLen() + ip.bufferLen());
  return buf;
}

describe('golden IPv4 + ICMP frames', () => {
  it.each(icmpCases)('%s: every field of every layer', (name, expected) => {
    const { frame, eth, ipPkt, ip, icmpPkt, icmp } = parseIcmpFrame(GOLDEN[name]);
    expect(ethernetFields(frame)).toEqual({ ...expected.ethernet, ethertype: EtherType.Ipv4 });
    expect(ethernetFields(eth)).toEqual({ ...expected.ethernet, ethertype: EtherType.Ipv4 });
    expect(ipv4PacketFields(ipPkt)).toEqual(expected.ipv4);
    expect(ipv4ReprFields(ip)).toEqual(expectedIpv4Repr(expected.ipv4));
    expect(icmpv4PacketFields(icmpPkt)).toEqual(expected.icmp);
    const { type, code, restOfHeader, ident, seqNo, payload } = expected.icmp;
    expect(icmpv4ReprFields(icmp)).toEqual({ type, code, restOfHeader, ident, seqNo, payload });
    // No copy: the repr's payload is a window on the received frame.
    expect(icmp.payload.buffer).toBe(GOLDEN[name].buffer);
  });

  it.each(icmpCases)('%s: the reprs emitted into one buffer give the kernel bytes exactly', (name) => {
    const bytes = GOLDEN[name];
    const { eth, ip, icmp } = parseIcmpFrame(bytes);
    expect(eth.bufferLen() + ip.bufferLen() + icmp.bufferLen()).toBe(bytes.length);
    const out = emitIcmpFrame(a5(bytes.length), eth, ip, icmp);
    expect(hex(out)).toBe(hex(bytes));
  });

  it.each(icmpCases)('%s: re-emitted in place over its own buffer (options and payload alias it)', (name) => {
    const bytes = copyOf(GOLDEN[name]);
    const { eth, ip, icmp } = parseIcmpFrame(bytes);
    emitIcmpFrame(bytes, eth, ip, icmp);
    expect(hex(bytes)).toBe(hex(GOLDEN[name]));
  });

  it('an echo request built from values, not parsed, equals the kernel bytes', () => {
    const bytes = GOLDEN.echoRequest;
    const icmp = Icmpv4Repr.echoRequest(11518, 1, bytes.slice(42));
    const ip = new Ipv4Repr({
      src: Ipv4Address.parse(IP_A),
      dst: Ipv4Address.parse(IP_B),
      protocol: IpProtocol.Icmp,
      payloadLen: icmp.bufferLen(),
      ident: 0x11c2,
      dontFragment: true,
    });
    const eth = new EthernetRepr({ dst: MacAddress.parse(MAC_B), src: MacAddress.parse(MAC_A), ethertype: EtherType.Ipv4 });
    expect(hex(emitIcmpFrame(a5(bytes.length), eth, ip, icmp))).toBe(hex(bytes));
  });
});

describe('golden frames the parsers refuse or trim', () => {
  it('a zero-padded 60-byte frame: the IPv4 total length (29) bounds the payload, not the frame', () => {
    const bytes = GOLDEN.paddedEchoRequest;
    const frame = ok(EthernetFrame.checked(bytes));
    expect(frame.payload.length).toBe(46);
    const ipPkt = ok(Ipv4Packet.checked(frame.payload));
    expect(ipv4PacketFields(ipPkt)).toEqual({ ...ipv4Defaults, ...fromA, totalLength: 29, ident: 0x4321, checksum: 0xe22c, payloadLen: 9 });
    const { eth, ip, icmp } = parseIcmpFrame(bytes);
    expect(icmpv4ReprFields(icmp)).toEqual({ type: 8, code: 0, restOfHeader: 0x00770003, ident: 0x77, seqNo: 3, payload: '78' });
    // Re-emitted, it is the frame without its padding: 43 bytes, byte-exact.
    const out = emitIcmpFrame(a5(43), eth, ip, icmp);
    expect(hex(out)).toBe(hex(bytes.subarray(0, 43)));
  });

  it("badIpChecksum: the view reads it, the repr drops it, and B's kernel did not answer", () => {
    const frame = ok(EthernetFrame.checked(GOLDEN.badIpChecksum));
    const pkt = ok(Ipv4Packet.checked(frame.payload));
    expect(ipv4PacketFields(pkt)).toEqual({ ...ipv4Defaults, ...fromA, totalLength: 43, ident: 0x1234, checksum: 0x120d, payloadLen: 23, checksumIsValid: false });
    expect(Ipv4Repr.parse(pkt)).toBe('bad-checksum');
    // Unverified (a device that checked it already), it parses; re-emitted, it gets the valid checksum 0x130c.
    const { eth, ip, icmp } = parseIcmpFrame(GOLDEN.badIpChecksum, false);
    expect(Buffer.from(icmp.payload).toString()).toBe('bad ip checksum');
    const expected = copyOf(GOLDEN.badIpChecksum);
    expected.set([0x13, 0x0c], 24);
    expect(hex(emitIcmpFrame(a5(expected.length), eth, ip, icmp))).toBe(hex(expected));
  });

  it('badIcmpChecksum: a sound IPv4 header around an ICMP message that fails its checksum', () => {
    const frame = ok(EthernetFrame.checked(GOLDEN.badIcmpChecksum));
    const ipPkt = ok(Ipv4Packet.checked(frame.payload));
    expect(Ipv4Repr.parse(ipPkt)).toBeInstanceOf(Ipv4Repr);
    const icmpPkt = ok(Icmpv4Packet.checked(ipPkt.payload));
    expect(icmpv4PacketFields(icmpPkt)).toEqual({ ...echoDefaults, type: 8, checksum: 0x7278, restOfHeader: 0x00770002, ident: 0x77, seqNo: 2, payload: hex(Buffer.from('bad icmp checksum')), checksumIsValid: false });
    expect(Icmpv4Repr.parse(icmpPkt)).toBe('bad-checksum');
    // Re-emitted from the unverified parse, it gets the valid checksum 0x8d87.
    const { eth, ip, icmp } = parseIcmpFrame(GOLDEN.badIcmpChecksum, false);
    const expected = copyOf(GOLDEN.badIcmpChecksum);
    expected.set([0x8d, 0x87], 36);
    expect(hex(emitIcmpFrame(a5(expected.length), eth, ip, icmp))).toBe(hex(expected));
  });

  it('optionLengthZero: checksum sound, option length 0 refused (the kernel answered with a parameter problem)', () => {
    const frame = ok(EthernetFrame.checked(GOLDEN.optionLengthZero));
    const pkt = ok(Ipv4Packet.checked(frame.payload));
    expect(ipv4PacketFields(pkt)).toEqual({ ...ipv4Defaults, ...fromA, headerLen: 24, totalLength: 41, ident: 0x1234, checksum: 0x0b0e, options: '07000000', payloadLen: 17 });
    expect(Ipv4Repr.parse(pkt)).toBe('bad-options');
  });

  it('ieee8023: the Length/Type field holds a length (46), so it is not Ethernet II', () => {
    const frame = ok(EthernetFrame.checked(GOLDEN.ieee8023));
    expect(ethernetFields(frame)).toEqual({ dst: MAC_B, src: MAC_A, ethertype: 46 });
    expect(hex(frame.payload.subarray(0, 8))).toBe('aaaa030000000800');
    expect(EthernetRepr.parse(frame)).toBe('length-field');
  });
});
