/**
 * Emitters write into a buffer pre-filled with 0xa5, at offset 0 and at an odd offset:
 * every byte of the result is asserted, so a byte an emitter forgets (or writes past its
 * end) shows as a stray a5 or a clobbered neighbour.
 */
import { describe, expect, it } from 'vitest';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { ArpOperation, ArpRepr, ARP_PACKET_LEN } from '../../lib/wire/arp';
import { EtherType, EthernetRepr, ETHERNET_HEADER_LEN } from '../../lib/wire/ethernet';
import { Icmpv4Repr, Icmpv4Type, ICMPV4_HEADER_LEN } from '../../lib/wire/icmpv4';
import { IpProtocol, Ipv4Repr, IPV4_HEADER_LEN } from '../../lib/wire/ipv4';
import { a5, hex, referenceChecksum } from './fixtures/fields';

const mac = MacAddress.parse;
const ip = Ipv4Address.parse;

/** Emits at `offset` into 0xa5 with two guard bytes after, and returns the whole buffer as hex. */
function emitted(repr: { bufferLen(): number; emit(buf: Uint8Array, offset?: number): void }, offset: number, extra = 0): string {
  const buf = a5(offset + repr.bufferLen() + extra + 2);
  repr.emit(buf, offset);
  return hex(buf);
}

const guard = (n: number) => 'a5'.repeat(n);

describe.each([0, 3])('emit at offset %i into 0xa5', (offset) => {
  it('Ethernet II header: destination, source, EtherType', () => {
    const eth = new EthernetRepr({ dst: mac('ff:ff:ff:ff:ff:ff'), src: mac('02:12:34:56:78:9a'), ethertype: EtherType.Ipv6 });
    expect(eth.bufferLen()).toBe(ETHERNET_HEADER_LEN);
    expect(emitted(eth, offset)).toBe(guard(offset) + 'ffffffffffff' + '02123456789a' + '86dd' + guard(2));
  });

  it('ARP reply: the fixed Ethernet/IPv4 header and all four addresses', () => {
    const arp = new ArpRepr({
      operation: ArpOperation.Reply,
      senderMac: mac('02:00:00:00:00:02'),
      senderIp: ip('10.200.0.2'),
      targetMac: mac('0a:bb:cc:dd:ee:ff'),
      targetIp: ip('192.168.255.1'),
    });
    expect(arp.bufferLen()).toBe(ARP_PACKET_LEN);
    expect(emitted(arp, offset)).toBe(guard(offset) + '0001' + '0800' + '06' + '04' + '0002' + '020000000002' + '0ac80002' + '0abbccddeeff' + 'c0a8ff01' + guard(2));
  });

  it('IPv4 header with every field set and 3 option bytes padded with one EOL; the payload area is untouched', () => {
    const repr = new Ipv4Repr({
      src: ip('192.0.2.1'),
      dst: ip('198.51.100.7'),
      protocol: IpProtocol.Udp,
      payloadLen: 8,
      ttl: 1,
      dscp: 46,
      ecn: 1,
      ident: 0xbeef,
      moreFragments: true,
      fragmentOffset: 1480,
      options: new Uint8Array([1, 1, 1]),
    });
    expect(repr.bufferLen()).toBe(24);
    // Checksum 0xea2e computed independently (Python, struct + RFC 1071 word sum).
    const header = '46' + 'b9' + '0020' + 'beef' + '20b9' + '01' + '11' + 'ea2e' + 'c0000201' + 'c6336407' + '010101' + '00';
    expect(emitted(repr, offset, 8)).toBe(guard(offset) + header + guard(8 + 2));
  });

  it('IPv4 header from the defaults (ttl 64, tos 0, ident 0, no options) with DF', () => {
    const repr = new Ipv4Repr({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: IpProtocol.Icmp, payloadLen: 11, dontFragment: true });
    expect(repr.bufferLen()).toBe(IPV4_HEADER_LEN);
    expect(emitted(repr, offset)).toBe(guard(offset) + '4500001f00004000400126dc0a0000010a000002' + guard(2));
  });

  it('ICMP echo request with an odd-length payload: the checksum pads it with a zero byte', () => {
    const icmp = Icmpv4Repr.echoRequest(0x1234, 0xabcd, new Uint8Array([1, 2, 3]));
    expect(icmp.bufferLen()).toBe(ICMPV4_HEADER_LEN + 3);
    expect(emitted(icmp, offset)).toBe(guard(offset) + '08' + '00' + '35fc' + '1234' + 'abcd' + '010203' + guard(2));
  });

  it('ICMP destination unreachable, need-frag, next-hop MTU in the second word (RFC 1191 §4)', () => {
    const icmp = new Icmpv4Repr({ type: Icmpv4Type.DestUnreachable, code: 4, restOfHeader: 1400, payload: new Uint8Array([0x45, 0x46, 0x47, 0x48, 0x49]) });
    expect(emitted(icmp, offset)).toBe(guard(offset) + '0304' + '21f5' + '00000578' + '4546474849' + guard(2));
  });
});

describe('a whole frame built in one buffer', () => {
  it('Ethernet + IPv4 + ICMP echo reply: lengths and both checksums agree with an independent sum', () => {
    const data = new Uint8Array(37).map((_, i) => i * 7);
    const icmp = Icmpv4Repr.echoReply(0xffff, 0, data);
    const ipr = new Ipv4Repr({ src: ip('10.200.0.2'), dst: ip('10.200.0.1'), protocol: IpProtocol.Icmp, payloadLen: icmp.bufferLen(), ident: 0x1001 });
    const eth = new EthernetRepr({ dst: mac('02:00:00:00:00:01'), src: mac('02:00:00:00:00:02'), ethertype: EtherType.Ipv4 });
    const len = eth.bufferLen() + ipr.bufferLen() + icmp.bufferLen();
    const buf = a5(len + 5);
    eth.emit(buf, 5);
    ipr.emit(buf, 5 + 14);
    icmp.emit(buf, 5 + 34);
    expect(hex(buf.subarray(0, 5))).toBe(guard(5));
    const frame = buf.subarray(5);
    expect(frame.indexOf(0xa5, 34 + 8 + 37)).toBe(-1);
    expect((frame[16] << 8) | frame[17]).toBe(20 + 8 + 37);
    expect(referenceChecksum(frame.subarray(14, 34))).toBe(0);
    expect(referenceChecksum(frame.subarray(34))).toBe(0);
    expect(hex(frame.subarray(42))).toBe(hex(data));
  });
});

describe('reprs refuse values the header cannot carry (a caller bug, not input)', () => {
  const base = { src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: 17, payloadLen: 0 };
  it.each([
    ['41 bytes of options', { options: new Uint8Array(41) }],
    ['a fragment offset not a multiple of 8', { fragmentOffset: 4 }],
    ['a fragment offset past 13 bits', { fragmentOffset: 0x2000 * 8 }],
    ['a negative payload length', { payloadLen: -1 }],
    ['a NaN payload length', { payloadLen: NaN }],
    ['a total length past 65535', { payloadLen: 65516 }],
  ])('Ipv4Repr throws a RangeError for %s', (_, change) => {
    expect(() => new Ipv4Repr({ ...base, ...change })).toThrow(RangeError);
  });

  it('Ipv4Repr accepts the limits: 40 bytes of options, offset 65528, total 65535', () => {
    expect(new Ipv4Repr({ ...base, options: new Uint8Array(40) }).bufferLen()).toBe(60);
    expect(new Ipv4Repr({ ...base, fragmentOffset: 65528 }).fragmentOffset).toBe(65528);
    expect(new Ipv4Repr({ ...base, payloadLen: 65515 }).payloadLen).toBe(65515);
  });
});
