/**
 * TCP segments (RFC 9293 §3.1, options §3.2, RFC 7323, RFC 2018): segments of the Linux
 * kernel parsed field by field and re-emitted byte-exact over IPv4 and IPv6; the option
 * layout Linux uses; malformed segments, each with its drop reason; random headers through
 * emit and parse; mutated segments that must never throw.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt, type Random } from '../../lib/random';
import { Ipv4Address, Ipv6Address } from '../../lib/wire/address';
import { describeFrame } from '../../lib/wire/describe';
import { isDrop } from '../../lib/wire/drop';
import { Ipv4Packet } from '../../lib/wire/ipv4';
import { Ipv6Packet } from '../../lib/wire/ipv6';
import {
  MAX_WINDOW_SCALE, TCP_HEADER_LEN, TcpFlag, TcpPacket, TcpRepr, flagsText, type TcpOptions, type TcpPseudoHeader,
  type TcpReprFields,
} from '../../lib/wire/tcp';
import { a5, fromHex, hex, ok, referenceChecksum } from './fixtures/fields';

/**
 * Captured 2026-11-23 (Debian 12, Linux 6.18, Python sockets) by
 * test/wire/fixtures/tcp/capture.sh with
 *   ip netns exec A tcpdump -Z root -i va0 -U -w tcp.pcap tcp
 * in a lab of namespaces A (va0, 02:00:00:00:00:01, 10.203.0.1, fd00:203::1) and B (vb0,
 * 02:00:00:00:00:02, 10.203.0.2 and .3, fd00:203::2) on a veth pair, `ethtool -K tx off tso
 * off gso off` on both so that the kernel computed every checksum. A connects to B:5000,
 * B sends "hello from B\n", A sends its data and closes, then B. In the SACK session
 * (to 10.203.0.3, TCP_MAXSEG 560) A sends four 548-byte segments in one burst and
 * nftables in B drops the 1st and the 3rd once: B acknowledges the 2nd, then the 4th,
 * with SACK blocks. Whole Ethernet frames.
 */
const FRAMES = {
  /** A's SYN: mss 1460, sackOK, TS val 237991473 ecr 0, nop, wscale 10. */
  synV4: fromHex(`
    02000000000202000000000108004500003c3d6640004006e7bd0acb00010acb0002880c13883eabef2d00000000a002faf0e9a500000204
    05b40402080a0e2f7631000000000103030a
  `),
  /** B's SYN-ACK, the same options echoing A's timestamp. */
  synAckV4: fromHex(`
    02000000000102000000000208004500003c00004000400625240acb00020acb00011388880c89de05fe3eabef2ea012fe8885cf00000204
    05b40402080ae07eefd10e2f76310103030a
  `),
  /** A's ACK completing the handshake: nop, nop, TS. */
  ackV4: fromHex(`
    0200000000020200000000010800450000343d6740004006e7c40acb00010acb0002880c13883eabef2e89de05ff8010003fb2e700000101
    080a0e2f7632e07eefd1
  `),
  /** B's greeting, PSH: 13 bytes, an odd length (RFC 1071 §4.1 pads the sum). */
  dataV4: fromHex(`
    02000000000102000000000208004500004139fd40004006eb210acb00020acb00011388880c89de05ff3eabef2e801800406ebd00000101
    080ae07eefd10e2f763268656c6c6f2066726f6d20420a
  `),
  /** A's FIN after its 13 bytes of data. */
  finV4: fromHex(`
    0200000000020200000000010800450000343d6a40004006e7c10acb00010acb0002880c13883eabef3b89de060c8011003faf4800000101
    080a0e2f78eee07ef099
  `),
  /** B's duplicate ACK for the 2nd segment: nop, nop, TS, nop, nop, sack 1 {549:1097}. */
  sackOne: fromHex(`
    0200000000010200000000020800450000407d7a40004006a7a40acb00030acb00011388a494f060035ddcf726dab0100040f88800000101
    080a1bd466ecaa9447320101050adcf728fedcf72b22
  `),
  /** Then for the 4th: sack 2 {1645:2193}{549:1097}, the latest block first (RFC 2018 §4). */
  sackTwo: fromHex(`
    0200000000010200000000020800450000487d7b40004006a79b0acb00030acb00011388a494f060035ddcf726dad0100040c1d800000101
    080a1bd466ecaa94473201010512dcf72d46dcf72f6adcf728fedcf72b22
  `),
  /** A's SYN over IPv6: mss 1440. */
  synV6: fromHex(`
    02000000000202000000000186dd600fe98500280640fd000203000000000000000000000001fd0002030000000000000000000000029afc
    1388f2152df300000000a002fd20cdd80000020405a00402080a62684e17000000000103030a
  `),
  synAckV6: fromHex(`
    02000000000102000000000286dd6002d80100280640fd000203000000000000000000000002fd0002030000000000000000000000011388
    9afca8931334f2152df4a012fb04955c0000020405a00402080a63821b3d62684e170103030a
  `),
  dataV6: fromHex(`
    02000000000102000000000286dd6002d801002d0640fd000203000000000000000000000002fd0002030000000000000000000000011388
    9afca8931335f2152df48018003f7ab400000101080a63821b3d62684e1768656c6c6f2066726f6d20420a
  `),
  finV6: fromHex(`
    02000000000202000000000186dd600fe98500200640fd000203000000000000000000000001fd0002030000000000000000000000029afc
    1388f2152df4a893134280110040bc1200000101080a626850d363821b3d
  `),
};

/** The TCP segment of a captured frame and its pseudo-header, through the IP views. */
function segmentOf(frame: Uint8Array): { tcp: Uint8Array; pseudo: TcpPseudoHeader } {
  if (((frame[12] << 8) | frame[13]) === 0x0800) {
    const ip = ok(Ipv4Packet.checked(frame.subarray(14)));
    return { tcp: ip.payload, pseudo: { src: ip.src, dst: ip.dst } };
  }
  const ip = ok(Ipv6Packet.checked(frame.subarray(14)));
  return { tcp: ip.payload, pseudo: { src: ip.src, dst: ip.dst } };
}

const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const { Fin, Syn, Rst, Psh, Ack } = TcpFlag;

type Expected = Omit<TcpReprFields, 'payload' | 'payloadLen'> & { dataOffset: number; payload: string; line: string };

/** Every field as tcpdump 4.99 printed it (its relative numbers made absolute). */
const GOLDEN: [keyof typeof FRAMES, Expected][] = [
  ['synV4', {
    srcPort: 34828, dstPort: 5000, seq: 1051455277, ack: 0, flags: Syn, window: 64240, dataOffset: 40, payload: '',
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 237991473, echo: 0 }, windowScale: 10 },
    line: 'TCP 34828 > 5000 [S] seq 1051455277 win 64240 len 0',
  }],
  ['synAckV4', {
    srcPort: 5000, dstPort: 34828, seq: 2313029118, ack: 1051455278, flags: Syn | Ack, window: 65160, dataOffset: 40, payload: '',
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 3766415313, echo: 237991473 }, windowScale: 10 },
    line: 'TCP 5000 > 34828 [S.] seq 2313029118 ack 1051455278 win 65160 len 0',
  }],
  ['ackV4', {
    srcPort: 34828, dstPort: 5000, seq: 1051455278, ack: 2313029119, flags: Ack, window: 63, dataOffset: 32, payload: '',
    options: { timestamp: { value: 237991474, echo: 3766415313 } },
    line: 'TCP 34828 > 5000 [.] seq 1051455278 ack 2313029119 win 63 len 0',
  }],
  ['dataV4', {
    srcPort: 5000, dstPort: 34828, seq: 2313029119, ack: 1051455278, flags: Psh | Ack, window: 64, dataOffset: 32,
    payload: 'hello from B\n', options: { timestamp: { value: 3766415313, echo: 237991474 } },
    line: 'TCP 5000 > 34828 [P.] seq 2313029119 ack 1051455278 win 64 len 13',
  }],
  ['finV4', {
    srcPort: 34828, dstPort: 5000, seq: 1051455291, ack: 2313029132, flags: Fin | Ack, window: 63, dataOffset: 32, payload: '',
    options: { timestamp: { value: 237992174, echo: 3766415513 } },
    line: 'TCP 34828 > 5000 [F.] seq 1051455291 ack 2313029132 win 63 len 0',
  }],
  ['sackOne', {
    srcPort: 5000, dstPort: 42132, seq: 4032824157, ack: 3707184858, flags: Ack, window: 64, dataOffset: 44, payload: '',
    options: { timestamp: { value: 466904812, echo: 2861844274 }, sack: [{ left: 3707185406, right: 3707185954 }] },
    line: 'TCP 5000 > 42132 [.] seq 4032824157 ack 3707184858 win 64 len 0',
  }],
  ['sackTwo', {
    srcPort: 5000, dstPort: 42132, seq: 4032824157, ack: 3707184858, flags: Ack, window: 64, dataOffset: 52, payload: '',
    options: {
      timestamp: { value: 466904812, echo: 2861844274 },
      sack: [{ left: 3707186502, right: 3707187050 }, { left: 3707185406, right: 3707185954 }],
    },
    line: 'TCP 5000 > 42132 [.] seq 4032824157 ack 3707184858 win 64 len 0',
  }],
  ['synV6', {
    srcPort: 39676, dstPort: 5000, seq: 4061474291, ack: 0, flags: Syn, window: 64800, dataOffset: 40, payload: '',
    options: { mss: 1440, sackPermitted: true, timestamp: { value: 1651002903, echo: 0 }, windowScale: 10 },
    line: 'TCP 39676 > 5000 [S] seq 4061474291 win 64800 len 0',
  }],
  ['synAckV6', {
    srcPort: 5000, dstPort: 39676, seq: 2828210996, ack: 4061474292, flags: Syn | Ack, window: 64260, dataOffset: 40, payload: '',
    options: { mss: 1440, sackPermitted: true, timestamp: { value: 1669471037, echo: 1651002903 }, windowScale: 10 },
    line: 'TCP 5000 > 39676 [S.] seq 2828210996 ack 4061474292 win 64260 len 0',
  }],
  ['dataV6', {
    srcPort: 5000, dstPort: 39676, seq: 2828210997, ack: 4061474292, flags: Psh | Ack, window: 63, dataOffset: 32,
    payload: 'hello from B\n', options: { timestamp: { value: 1669471037, echo: 1651002903 } },
    line: 'TCP 5000 > 39676 [P.] seq 2828210997 ack 4061474292 win 63 len 13',
  }],
  ['finV6', {
    srcPort: 39676, dstPort: 5000, seq: 4061474292, ack: 2828211010, flags: Fin | Ack, window: 64, dataOffset: 32, payload: '',
    options: { timestamp: { value: 1651003603, echo: 1669471037 } },
    line: 'TCP 39676 > 5000 [F.] seq 4061474292 ack 2828211010 win 64 len 0',
  }],
];

function reprFields(r: TcpRepr) {
  return {
    srcPort: r.srcPort, dstPort: r.dstPort, seq: r.seq, ack: r.ack, flags: r.flags, window: r.window,
    urgentPointer: r.urgentPointer, options: r.options, payloadLen: r.payloadLen, payload: hex(r.payload),
  };
}

/** The fields to build a repr with, from the literal expectation only (not from a parse). */
function fieldsOf(e: Expected): TcpReprFields {
  const { dataOffset: _d, payload, line: _l, ...fields } = e;
  return { ...fields, payloadLen: payload.length };
}

describe('TCP: segments of the Linux kernel', () => {
  it.each(GOLDEN)('%s: the view reads every field', (name, e) => {
    const { tcp, pseudo } = segmentOf(FRAMES[name]);
    const pkt = ok(TcpPacket.checked(tcp));
    expect({
      srcPort: pkt.srcPort, dstPort: pkt.dstPort, seq: pkt.seq, ack: pkt.ack, dataOffset: pkt.dataOffset,
      flags: pkt.flags, window: pkt.window, urgentPointer: pkt.urgentPointer, optionsLen: pkt.optionsBytes.length,
      payload: hex(pkt.payload),
    }).toEqual({
      srcPort: e.srcPort, dstPort: e.dstPort, seq: e.seq, ack: e.ack, dataOffset: e.dataOffset, flags: e.flags,
      window: e.window, urgentPointer: 0, optionsLen: e.dataOffset - TCP_HEADER_LEN, payload: hex(text(e.payload)),
    });
    expect(pkt.checksum).toBe((tcp[16] << 8) | tcp[17]);
    expect(pkt.checksumIsValid(pseudo)).toBe(true);
  });

  it.each(GOLDEN)('%s: the repr holds every field and option', (name, e) => {
    const { tcp, pseudo } = segmentOf(FRAMES[name]);
    const repr = ok(TcpRepr.parse(ok(TcpPacket.checked(tcp)), pseudo));
    const { dataOffset: _d, line: _l, ...fields } = e;
    expect(reprFields(repr)).toEqual({ ...fields, urgentPointer: 0, payloadLen: e.payload.length, payload: hex(text(e.payload)) });
    // A view, not a copy: the data is where it arrived.
    expect(repr.payload.buffer).toBe(tcp.buffer);
  });

  it.each(GOLDEN)('%s: a repr built from the fields re-emits it byte-exact, checksum included', (name, e) => {
    const { tcp, pseudo } = segmentOf(FRAMES[name]);
    const repr = new TcpRepr(fieldsOf(e));
    expect(repr.headerLen()).toBe(e.dataOffset);
    const out = a5(tcp.length + 6);
    repr.emit(out, 3, text(e.payload), pseudo);
    expect(hex(out)).toBe('a5a5a5' + hex(tcp) + 'a5a5a5');
  });

  it.each(GOLDEN)('%s: header, data in place, then checksum: the same bytes with no copy', (name, e) => {
    const { tcp, pseudo } = segmentOf(FRAMES[name]);
    const repr = ok(TcpRepr.parse(ok(TcpPacket.checked(tcp)), pseudo));
    const out = a5(tcp.length);
    repr.emitHeader(out, 0);
    out.set(text(e.payload), repr.headerLen());
    repr.fillChecksum(out, 0, tcp.length, pseudo);
    expect(hex(out)).toBe(hex(tcp));
  });

  it.each(GOLDEN)('%s: the packet log line', (name, e) => {
    expect(describeFrame(FRAMES[name], 'ethernet').endsWith(` ${e.line}`)).toBe(true);
  });

  it('the checksum covers the pseudo-header: another address, or the other IP version, breaks it', () => {
    const { tcp, pseudo } = segmentOf(FRAMES.synV4);
    const pkt = ok(TcpPacket.checked(tcp));
    expect(TcpRepr.parse(pkt, { src: pseudo.src as Ipv4Address, dst: Ipv4Address.parse('10.203.0.4') })).toBe('bad-checksum');
    const v6 = segmentOf(FRAMES.synV6);
    expect(TcpRepr.parse(ok(TcpPacket.checked(v6.tcp)), pseudo)).toBe('bad-checksum');
    expect(TcpRepr.parse(pkt, v6.pseudo)).toBe('bad-checksum');
    // A device that verified the checksum lets the stack skip it.
    expect(TcpRepr.parse(pkt, v6.pseudo, { verifyChecksum: false })).toBeInstanceOf(TcpRepr);
  });
});

const V4: TcpPseudoHeader = { src: Ipv4Address.parse('10.0.0.1'), dst: Ipv4Address.parse('10.0.0.2') };
const V6: TcpPseudoHeader = { src: Ipv6Address.parse('fd00::1'), dst: Ipv6Address.parse('fd00::2') };

/** The pseudo-header of RFC 9293 §3.1 / RFC 8200 §8.1 and the segment, as bytes to sum. */
function pseudoBytes(pseudo: TcpPseudoHeader, segment: Uint8Array): Uint8Array {
  const v4 = pseudo.src instanceof Ipv4Address;
  const head = v4 ? new Uint8Array(12) : new Uint8Array(40);
  if (v4) {
    (pseudo.src as Ipv4Address).writeTo(head, 0);
    (pseudo.dst as Ipv4Address).writeTo(head, 4);
    head.set([0, 6, segment.length >> 8, segment.length & 0xff], 8);
  } else {
    head.set((pseudo.src as Ipv6Address).bytes, 0);
    head.set((pseudo.dst as Ipv6Address).bytes, 16);
    head.set([0, 0, segment.length >> 8, segment.length & 0xff, 0, 0, 0, 6], 32);
  }
  return Uint8Array.of(...head, ...segment);
}

/**
 * A 20-byte header (1234 → 80, seq 1, SYN, window 1000) with these option bytes and data,
 * the data offset counting them (or as given), the checksum right, written by hand so the
 * malformed cases do not depend on the emitter under test.
 */
function craft(options: string, o: { dataOffsetWords?: number; payload?: string } = {}): Uint8Array {
  const opts = fromHex(options);
  const payload = fromHex(o.payload ?? '');
  const seg = new Uint8Array(TCP_HEADER_LEN + opts.length + payload.length);
  seg.set(fromHex('04d2' + '0050' + '00000001' + '00000000' + '0002' + '03e8' + '0000' + '0000'), 0);
  seg[12] = (o.dataOffsetWords ?? (TCP_HEADER_LEN + opts.length) / 4) << 4;
  seg.set(opts, TCP_HEADER_LEN);
  seg.set(payload, TCP_HEADER_LEN + opts.length);
  const sum = referenceChecksum(pseudoBytes(V4, seg));
  seg[16] = sum >> 8;
  seg[17] = sum & 0xff;
  return seg;
}

function parse(seg: Uint8Array, pseudo = V4): TcpRepr | string {
  const pkt = TcpPacket.checked(seg);
  return isDrop(pkt) ? pkt : TcpRepr.parse(pkt, pseudo);
}

function optionsOf(options: string): TcpOptions | string {
  const repr = parse(craft(options));
  return isDrop(repr) ? repr : repr.options;
}

describe('TCP options', () => {
  it.each([
    ['RFC 7323 §2.3: a shift of 15 is used as 14, the received value kept to count', '0103030f', { windowScale: 14, windowScaleRaw: 15 }],
    ['a shift of 255 likewise', '010303ff', { windowScale: 14, windowScaleRaw: 255 }],
    ['a shift of 14 is in range', '0103030e', { windowScale: 14 }],
    ['options in any order and packing, SACK-permitted alone', '0402' + '030303' + '02040218' + '000000', { sackPermitted: true, windowScale: 3, mss: 536 }],
    ['EOL ends the list: what follows is padding, even bytes that would be malformed', '020405b4' + '00' + '0200ff', { mss: 1460 }],
    ['NOPs anywhere', '01010101' + '020405b4', { mss: 1460 }],
    ['unknown kinds with a length are skipped (RFC 9293 §3.2 MUST-5): MPTCP, TFO cookie, experimental', '1e040000' + '220a0102030405060708' + 'fe06f989aabb' + '01010101', {}],
    ['the last of a repeated option wins', '02040218' + '020405b4', { mss: 1460 }],
    ['four SACK blocks, the most 40 bytes hold', '0101' + '0522' + '00000001000000020000000300000004' + '00000005000000060000000700000008' + '000000000000', {
      sack: [{ left: 1, right: 2 }, { left: 3, right: 4 }, { left: 5, right: 6 }, { left: 7, right: 8 }],
    }],
    ['edges and timestamps are unsigned', '0101080a' + 'ffffffff' + '80000000' + '0101050a' + 'fffffff0' + '00000010', {
      timestamp: { value: 0xffffffff, echo: 0x80000000 }, sack: [{ left: 0xfffffff0, right: 0x10 }],
    }],
  ])('%s', (_name, options, expected) => {
    expect(optionsOf(options)).toEqual(expected);
  });

  const build = (options: TcpOptions, flags: number = Ack) =>
    new TcpRepr({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags, window: 5, options, payloadLen: 0 });
  const optionBytes = (repr: TcpRepr) => {
    const buf = a5(repr.headerLen());
    repr.emitHeader(buf, 0);
    return hex(buf.subarray(TCP_HEADER_LEN));
  };

  it.each([
    ['a SYN without timestamps: NOP NOP SACK-permitted', { mss: 1460, sackPermitted: true, windowScale: 7 }, '020405b4' + '01010402' + '01030307'],
    ['a SYN without SACK: NOP NOP TS', { mss: 1460, timestamp: { value: 1, echo: 0 }, windowScale: 0 }, '020405b4' + '0101080a0000000100000000' + '01030300'],
    ['SACK blocks without timestamps', { sack: [{ left: 10, right: 20 }] }, '0101050a0000000a00000014'],
    ['nothing', {}, ''],
    ['an empty list of SACK blocks is no option', { sack: [] }, ''],
  ])('emits %s as Linux does', (_name, options, bytes) => {
    const repr = build(options, Syn);
    expect(optionBytes(repr)).toBe(bytes);
    expect(repr.headerLen()).toBe(TCP_HEADER_LEN + bytes.length / 2);
  });

  it('emits a window scale of at most 14, and never the raw received value', () => {
    expect(optionBytes(build({ windowScale: 14, windowScaleRaw: 200 }))).toBe('0103030e');
    expect(() => build({ windowScale: MAX_WINDOW_SCALE + 1 })).toThrow(RangeError);
  });

  it('timestamps leave room for three SACK blocks; a fourth is a RangeError on emit, not on build', () => {
    const block = (n: number) => ({ left: n, right: n + 1 });
    const three = build({ timestamp: { value: 1, echo: 2 }, sack: [block(1), block(3), block(5)] });
    expect(three.headerLen()).toBe(60);
    const four = build({ timestamp: { value: 1, echo: 2 }, sack: [block(1), block(3), block(5), block(7)] });
    expect(() => four.headerLen()).toThrow(RangeError);
    expect(() => four.emit(new Uint8Array(100), 0, new Uint8Array(0), V4)).toThrow(RangeError);
  });

  it('a received set that does not fit Linux layout parses, and only re-emitting it throws', () => {
    // WS 3 + TS 10 + 3 SACK blocks 26 + EOL = 40 bytes as sent; 4 + 12 + 28 = 44 in Linux layout.
    const received = ok(parse(craft('030303' + '080a0000000100000002' + '051a' + '00'.repeat(24) + '00')));
    expect(received.options.sack).toHaveLength(3);
    expect(() => received.headerLen()).toThrow(RangeError);
  });
});

describe('malformed TCP: dropped with a reason, never thrown', () => {
  const good = craft('020405b4');

  const malformed: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'truncated'],
    ['19 bytes', good.subarray(0, 19), 'truncated'],
    ['data offset 0', craft('', { dataOffsetWords: 0 }), 'bad-data-offset'],
    ['data offset 4, under the fixed header', craft('', { dataOffsetWords: 4 }), 'bad-data-offset'],
    ['data offset 6 in a 20-byte segment', craft('', { dataOffsetWords: 6 }), 'bad-data-offset'],
    ['data offset 15 in a 56-byte segment', craft('020405b4', { dataOffsetWords: 15, payload: '00'.repeat(32) }), 'bad-data-offset'],
    ['option length 0', craft('02000000'), 'bad-options'],
    ['option length 1', craft('fe010000'), 'bad-options'],
    ['option length 0 of an unknown kind after valid ones', craft('020405b4' + '01' + '1e0000'), 'bad-options'],
    ['a kind without its length at the end of the header', craft('010101' + '02'), 'bad-options'],
    ['an option running past the header', craft('0101' + '080a' + '00000001'), 'bad-options'],
    ['an option running past the header into the data', craft('0101' + '080a' + '00000001', { payload: '0000000000000000' }), 'bad-options'],
    ['MSS of length 3', craft('020305' + '00'), 'bad-options'],
    ['MSS of length 5', craft('0205000000' + '000000'), 'bad-options'],
    ['window scale of length 4', craft('03040700'), 'bad-options'],
    ['SACK-permitted of length 3', craft('040300' + '00'), 'bad-options'],
    ['SACK of length 2, no block', craft('0101' + '0502'), 'bad-options'],
    ['SACK of length 11', craft('050b' + '0000000100000002' + '00' + '00'), 'bad-options'],
    ['timestamps of length 8', craft('0808' + '000000010000'), 'bad-options'],
    ['a bad checksum', ((s) => ((s[17] ^= 0x01), s))(craft('020405b4')), 'bad-checksum'],
  ];

  it.each(malformed.map(([name, seg, reason]): [string, string, Uint8Array] => [name, reason, seg]))('%s → %s', (_name, reason, seg) => {
    expect(parse(seg)).toBe(reason);
  });

  it('the well-formed control parses', () => {
    expect(ok(parse(good)).options).toEqual({ mss: 1460 });
  });

  // The sum covers every byte (RFC 9293 §3.1); the data offset (byte 12) and the option
  // length (byte 21) would break the parse first, as the table above shows.
  it.each([...Array(24).keys()].filter((i) => i !== 12 && i !== 21))('a bit flipped in byte %i breaks the checksum', (at) => {
    const bad = good.slice();
    bad[at] ^= 0x20;
    expect(parse(bad)).toBe('bad-checksum');
    expect(TcpRepr.parse(ok(TcpPacket.checked(bad)), V4, { verifyChecksum: false })).toBeInstanceOf(TcpRepr);
  });

  it('reserved bits are ignored on receipt and zero on emit (RFC 9293 §3.1)', () => {
    const seg = craft('');
    seg[12] |= 0x0f;
    seg[16] = seg[17] = 0;
    const sum = referenceChecksum(pseudoBytes(V4, seg));
    seg[16] = sum >> 8;
    seg[17] = sum & 0xff;
    const repr = ok(parse(seg));
    expect(repr.flags).toBe(Syn);
    const out = a5(20);
    repr.emit(out, 0, new Uint8Array(0), V4);
    expect(out[12]).toBe(0x50);
  });

  it('10,000 random and mutated segments: a repr or a reason, never a throw', () => {
    const random = new SeededRandom(9293);
    const seeds = [...Object.values(FRAMES).map((f) => segmentOf(f).tcp), good];
    for (let n = 0; n < 10_000; n++) {
      const seed = seeds[uniformInt(random, 0, seeds.length - 1)];
      const bytes = seed.slice(0, uniformInt(random, 0, 3) === 0 ? uniformInt(random, 0, seed.length) : seed.length);
      const flips = uniformInt(random, 1, 6);
      for (let f = 0; f < flips && bytes.length > 0; f++) bytes[uniformInt(random, 0, bytes.length - 1)] = random.u32() & 0xff;
      const pkt = TcpPacket.checked(bytes);
      if (isDrop(pkt)) continue;
      const repr = TcpRepr.parse(pkt, V4, { verifyChecksum: false });
      if (!isDrop(repr)) expect(repr.payloadLen).toBe(bytes.length - pkt.dataOffset);
    }
  });
});

describe('building TCP headers', () => {
  it('refuses values the header cannot carry', () => {
    const f: TcpReprFields = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: Ack, window: 0, payloadLen: 0 };
    expect(() => new TcpRepr({ ...f, srcPort: 65536 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, dstPort: -1 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, seq: 2 ** 32 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, ack: 1.5 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, flags: 0x100 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, window: 65536 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, urgentPointer: 65536 })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, options: { mss: 65536 } })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, options: { timestamp: { value: -1, echo: 0 } } })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, options: { sack: [{ left: 0, right: 2 ** 32 }] } })).toThrow(RangeError);
    expect(() => new TcpRepr({ ...f, payloadLen: 2, payload: new Uint8Array(3) })).toThrow(RangeError);
    expect(() => new TcpRepr(f).emit(new Uint8Array(40), 0, new Uint8Array(1), V4)).toThrow(RangeError);
    expect(new TcpRepr({ ...f, seq: 2 ** 32 - 1, window: 65535, urgentPointer: 65535 }).headerLen()).toBe(20);
  });

  it('IPv6 uses the RFC 8200 §8.1 pseudo-header (checked against an independent sum)', () => {
    const repr = new TcpRepr({ srcPort: 443, dstPort: 50000, seq: 7, ack: 9, flags: Psh | Ack, window: 512, payloadLen: 5 });
    const out = a5(25);
    repr.emit(out, 0, text('hello'), V6);
    const seg = out.slice();
    seg[16] = seg[17] = 0;
    expect((out[16] << 8) | out[17]).toBe(referenceChecksum(pseudoBytes(V6, seg)));
    expect(parse(out, V6)).toBeInstanceOf(TcpRepr);
    expect(parse(out, V4)).toBe('bad-checksum');
  });

  it('prints the flags as tcpdump does', () => {
    expect([Syn, Syn | Ack, Psh | Ack, Fin | Ack, Rst, Ack, Rst | Ack, 0, 0xff].map(flagsText)).toEqual(
      ['S', 'S.', 'P.', 'F.', 'R', '.', 'R.', 'none', 'FSRP.UEW'],
    );
  });
});

describe('TCP headers: random fields through emit and parse', () => {
  function randomOptions(random: Random): TcpOptions {
    const coin = () => (random.u32() & 1) === 1;
    const o: TcpOptions = {};
    if (coin()) o.mss = uniformInt(random, 0, 0xffff);
    if (coin()) o.windowScale = uniformInt(random, 0, MAX_WINDOW_SCALE);
    if (coin()) o.sackPermitted = true;
    if (coin()) o.timestamp = { value: random.u32(), echo: random.u32() };
    const used = (o.mss !== undefined ? 4 : 0) + (o.timestamp ? 12 : o.sackPermitted ? 4 : 0) + (o.windowScale !== undefined ? 4 : 0);
    const blocks = uniformInt(random, 0, Math.min(4, Math.floor((40 - used - 4) / 8)));
    if (blocks > 0) o.sack = Array.from({ length: blocks }, () => ({ left: random.u32(), right: random.u32() }));
    return o;
  }

  it('2,000 seeded headers over IPv4 and IPv6 come back field for field', () => {
    const random = new SeededRandom(7323);
    for (let n = 0; n < 2000; n++) {
      const payload = Uint8Array.from({ length: uniformInt(random, 0, 64) }, () => random.u32() & 0xff);
      const fields: TcpReprFields = {
        srcPort: uniformInt(random, 0, 0xffff),
        dstPort: uniformInt(random, 0, 0xffff),
        seq: random.u32(),
        ack: random.u32(),
        flags: random.u32() & 0xff,
        window: uniformInt(random, 0, 0xffff),
        urgentPointer: uniformInt(random, 0, 0xffff),
        options: randomOptions(random),
        payloadLen: payload.length,
      };
      const pseudo = (random.u32() & 1) === 1 ? V4 : V6;
      const repr = new TcpRepr(fields);
      const offset = uniformInt(random, 0, 7);
      const segmentLen = repr.headerLen() + payload.length;
      const buf = a5(offset + segmentLen + 4);
      repr.emit(buf, offset, payload, pseudo);
      expect(hex(buf.subarray(0, offset)) + hex(buf.subarray(offset + segmentLen))).toBe('a5'.repeat(offset + 4));
      const parsed = ok(TcpRepr.parse(ok(TcpPacket.checked(buf.subarray(offset, offset + segmentLen))), pseudo));
      expect(reprFields(parsed)).toEqual({ ...fields, payload: hex(payload) });
    }
  });
});
