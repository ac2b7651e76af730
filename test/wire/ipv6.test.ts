/**
 * The IPv6 header (lib/wire/ipv6.ts) against frames the Linux kernel put on a veth, captured
 * on 2026-11-23 (Linux 6.18, iputils ping) with `tcpdump -i vb0 -w` in namespace B of a
 * throwaway lab: namespaces A (va0, 02:00:00:00:00:01, fd00::1/64 nodad) and B (vb0,
 * 02:00:00:00:00:02, fd00::2/64 nodad) joined by a veth pair, while A's link came up (its
 * kernel sent MLDv2 reports) and A ran `ping -6 -c 1 fd00::2` and `ping -6 -c 1 -s 3000 fd00::2`.
 * Each frame is read through the view and the repr, and the repr re-emitted with the captured
 * payload must give the captured bytes exactly.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../lib/random';
import { Ipv6Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { IPV6_HEADER_LEN, Ipv6NextHeader, Ipv6Packet, Ipv6Repr, type Ipv6ReprFields } from '../../lib/wire/ipv6';
import { a5, fromHex, hex, ok } from './fixtures/fields';

const ETH = 14;

const GOLDEN = {
  /** A's kernel, its link up: MLDv2 report for ff02::1:ff00:1 from fe80::ff:fe00:1, behind a Hop-by-Hop Router Alert; hop limit 1. */
  mldReport: fromHex(
    '33330000001602000000000186dd6000000000240001fe80000000000000000000fffe000001ff020000000000000000000000000016' +
      '3a000502000001008f0072070000000104000000ff0200000000000000000001ff000001',
  ),
  /** `ping -6 -c 1 fd00::2`: echo request, flow label 0x92d64, 56 bytes of data. */
  echoRequest: fromHex(
    '02000000000202000000000186dd60092d6400403a40fd000000000000000000000000000001fd000000000000000000000000000002' +
      '800042da17250001d219046b000000009328030000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
  ),
  /** B's kernel answers with its own flow label, 0x3eb72. */
  echoReply: fromHex(
    '02000000000102000000000286dd6003eb7200403a40fd000000000000000000000000000002fd000000000000000000000000000001' +
      '810041da17250001d219046b000000009328030000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
  ),
  /** `ping -6 -c 1 -s 3000 fd00::2`: the last of three fragments (offset 2896, 112 bytes), ident 0x8598590b. */
  lastFragment: fromHex(
    '02000000000202000000000186dd60092d6400782c40fd000000000000000000000000000001fd000000000000000000000000000002' +
      '3a000b508598590b48494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f' +
      '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7',
  ),
};

function fields(v: Ipv6Packet | Ipv6Repr) {
  return {
    trafficClass: v.trafficClass,
    dscp: v.dscp,
    ecn: v.ecn,
    flowLabel: v.flowLabel,
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    src: v.src.toString(),
    dst: v.dst.toString(),
  };
}

describe('golden IPv6 packets', () => {
  it.each([
    ['mldReport', { flowLabel: 0, nextHeader: Ipv6NextHeader.HopByHop, hopLimit: 1, src: 'fe80::ff:fe00:1', dst: 'ff02::16' }, 36],
    ['echoRequest', { flowLabel: 0x92d64, nextHeader: Ipv6NextHeader.Icmpv6, hopLimit: 64, src: 'fd00::1', dst: 'fd00::2' }, 64],
    ['echoReply', { flowLabel: 0x3eb72, nextHeader: Ipv6NextHeader.Icmpv6, hopLimit: 64, src: 'fd00::2', dst: 'fd00::1' }, 64],
    ['lastFragment', { flowLabel: 0x92d64, nextHeader: Ipv6NextHeader.Fragment, hopLimit: 64, src: 'fd00::1', dst: 'fd00::2' }, 120],
  ] as const)('%s: every field, and re-emitted byte-exact', (name, expected, payloadLen) => {
    const frame = GOLDEN[name];
    expect(hex(frame.subarray(12, 14))).toBe('86dd');
    const pkt = ok(Ipv6Packet.checked(frame.subarray(ETH)));
    const repr = ok(Ipv6Repr.parse(pkt));
    const all = { trafficClass: 0, dscp: 0, ecn: 0, ...expected };
    expect(pkt.version).toBe(6);
    expect(fields(pkt)).toEqual(all);
    expect(fields(repr)).toEqual(all);
    expect([pkt.payloadLength, repr.payloadLen, pkt.payload.length]).toEqual([payloadLen, payloadLen, payloadLen]);
    expect(pkt.payload).toEqual(frame.subarray(ETH + IPV6_HEADER_LEN));

    const out = a5(frame.length);
    out.set(frame.subarray(0, ETH));
    repr.emit(out, ETH);
    out.set(pkt.payload, ETH + repr.bufferLen());
    expect(hex(out)).toBe(hex(frame));
  });
});

describe('Ipv6Repr construction', () => {
  const src = Ipv6Address.parse('2001:db8::1');
  const dst = Ipv6Address.parse('ff02::1:ff00:2');

  it('writes all 40 bytes at an offset and nothing else', () => {
    const repr = new Ipv6Repr({ src, dst, nextHeader: 17, payloadLen: 0x1234, hopLimit: 255, trafficClass: 0xb9, flowLabel: 0xabcde });
    const buf = a5(3 + 40 + 2);
    repr.emit(buf, 3);
    expect(hex(buf)).toBe(
      'a5a5a5' + '6b9abcde' + '1234' + '11' + 'ff' + '20010db8000000000000000000000001' + 'ff0200000000000000000001ff000002' + 'a5a5',
    );
    const back = ok(Ipv6Repr.parse(ok(Ipv6Packet.quoted(buf.subarray(3)))));
    expect(back).toEqual(repr);
    expect([back.dscp, back.ecn]).toEqual([0xb9 >> 2, 1]);
  });

  it('defaults to hop limit 64, traffic class 0, flow label 0', () => {
    const buf = a5(40);
    new Ipv6Repr({ src, dst, nextHeader: 58, payloadLen: 8 }).emit(buf);
    expect(hex(buf.subarray(0, 8))).toBe('6000000000083a40');
  });

  it('round-trips 1,000 random headers through emit and parse', () => {
    const random = new SeededRandom(6);
    const addr = () => Ipv6Address.fromBytes(Uint8Array.from({ length: 16 }, () => random.u32() & 0xff));
    for (let i = 0; i < 1000; i++) {
      const f: Ipv6ReprFields = {
        src: addr(),
        dst: addr(),
        nextHeader: random.u32() & 0xff,
        payloadLen: random.u32() & 0xffff,
        hopLimit: random.u32() & 0xff,
        trafficClass: random.u32() & 0xff,
        flowLabel: random.u32() & 0xfffff,
      };
      const repr = new Ipv6Repr(f);
      const buf = new Uint8Array(40 + f.payloadLen);
      repr.emit(buf);
      const back = Ipv6Repr.parse(ok(Ipv6Packet.checked(buf)));
      if (f.payloadLen === 0 && f.nextHeader === 0) expect(back).toBe('jumbogram');
      else expect(back).toEqual(repr);
    }
  });

  it.each([
    ['payload length over 65535', { payloadLen: 65536 }],
    ['negative payload length', { payloadLen: -1 }],
    ['fractional payload length', { payloadLen: 1.5 }],
    ['flow label over 20 bits', { flowLabel: 0x100000 }],
    ['traffic class over 8 bits', { trafficClass: 256 }],
    ['hop limit over 8 bits', { hopLimit: 256 }],
    ['next header over 8 bits', { nextHeader: 256 }],
    ['NaN hop limit', { hopLimit: NaN }],
  ])('throws a RangeError for %s (a caller bug, not input)', (_name, bad) => {
    expect(() => new Ipv6Repr({ src, dst, nextHeader: 58, payloadLen: 0, ...bad })).toThrow(RangeError);
  });
});

describe('malformed IPv6 packets', () => {
  const good = GOLDEN.echoRequest.subarray(ETH);
  const edit = (len: number, patch: Record<number, number> = {}) => {
    const b = new Uint8Array(len);
    b.set(good.subarray(0, Math.min(len, good.length)));
    for (const [i, v] of Object.entries(patch)) b[Number(i)] = v;
    return b;
  };

  it.each([
    ['empty', new Uint8Array(0), 'truncated'],
    ['39 bytes', edit(39), 'truncated'],
    ['version 4', edit(104, { 0: 0x45 }), 'bad-version'],
    ['version 0', edit(104, { 0: 0x00 }), 'bad-version'],
    ['version 15', edit(104, { 0: 0xf0 }), 'bad-version'],
    ['payload one byte short', edit(103), 'bad-payload-length'],
    ['payload length 0xffff on 104 bytes', edit(104, { 4: 0xff, 5: 0xff }), 'bad-payload-length'],
  ])('%s: %s', (_name, buf, reason) => {
    expect(Ipv6Packet.checked(buf)).toBe(reason);
  });

  it('accepts link padding after the payload and leaves it out of the payload', () => {
    const pkt = ok(Ipv6Packet.checked(edit(130)));
    expect(pkt.payload.length).toBe(64);
  });

  it("answers 'jumbogram' for Payload Length 0 with a Hop-by-Hop header (RFC 2675 §3), and accepts it without", () => {
    expect(Ipv6Repr.parse(ok(Ipv6Packet.checked(edit(40, { 4: 0, 5: 0, 6: 0 }))))).toBe('jumbogram');
    expect(isDrop(Ipv6Repr.parse(ok(Ipv6Packet.checked(edit(40, { 4: 0, 5: 0, 6: 59 })))))).toBe(false);
  });

  it('quoted() accepts a header whose payload was cut, and reads what is there', () => {
    const pkt = ok(Ipv6Packet.quoted(good.subarray(0, 48)));
    expect([pkt.payloadLength, pkt.payload.length]).toEqual([64, 8]);
    expect(Ipv6Packet.quoted(good.subarray(0, 39))).toBe('truncated');
    expect(Ipv6Packet.quoted(edit(48, { 0: 0x45 }))).toBe('bad-version');
  });
});
