/**
 * The extension-header walk (lib/wire/ipv6-ext.ts). Golden: packets A sent to B in the lab of
 * ipv6.test.ts (A's kernel's MLDv2 report, and hand-made packets written by a Python AF_PACKET
 * script on A's va0), captured on B's vb0 together with what B's Linux 6.18 kernel answered: the
 * walk must reach the verdict Linux reached, with the same ICMPv6 code and pointer.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { isDrop } from '../../lib/wire/drop';
import { Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import {
  emitFragmentHeader,
  hopByHopRouterAlert,
  IPV6_FRAGMENT_HEADER_LEN,
  isChainError,
  unknownNextHeaderError,
  walkIpv6Chain,
  type Ipv6Chain,
  type Ipv6ChainError,
} from '../../lib/wire/ipv6-ext';
import { a5, fromHex, hex, ok } from './fixtures/fields';

const A = 'fd000000000000000000000000000001';
const B = 'fd000000000000000000000000000002';
const ALL_NODES = 'ff020000000000000000000000000001';
/** ICMPv6 echo request, ident 0x77, seq n, data "pytcp ipv6 ext!!" (checksum first). */
const echo = (sum: string, seq: string) => `8000${sum}0077${seq}70797463702069707636206578742121`;
/** A's hand-made packets: flow label 0, hop limit 64. */
const fromA = (payloadLen: string, nh: string, rest: string, dst = B) => fromHex(`60000000${payloadLen}${nh}40${A}${dst}${rest}`);
/** B's Parameter Problem (its first 4 header bytes carry its flow label): code, checksum, pointer, then the quoted packet. */
const paramProblem = (first4: string, payloadLen: string, codeSum: string, pointer: string, quoted: Uint8Array) =>
  fromHex(`${first4}${payloadLen}3a40${B}${A}04${codeSum}${pointer}${hex(quoted)}`);

const G = {
  hbhSkip: fromA('0020', '00', `3a001e0400000000${echo('9691', '0001')}`),
  hbhDiscard: fromA('0020', '00', `3a005e0400000000${echo('9690', '0002')}`),
  hbhAction10: fromA('0020', '00', `3a009e0400000000${echo('968f', '0003')}`),
  hbhAction11: fromA('0020', '00', `3a00de0400000000${echo('968e', '0004')}`),
  hbhAction11Multicast: fromA('0020', '00', `3a00de0400000000${echo('948c', '0005')}`, ALL_NODES),
  destAction10: fromA('0020', '3c', `3a00009e03000000${echo('968c', '0006')}`),
  routingType0Left0: fromA('0030', '2b', `3a02000000000000${A}${echo('968b', '0007')}`),
  routingType0Left1: fromA('0030', '2b', `3a02000100000000${A}${echo('968a', '0008')}`),
  routingType200Left1: fromA('0030', '2b', `3a02c80100000000${A}${echo('9689', '0009')}`),
  unknownNextHeader: fromA('0010', 'fd', '00'.repeat(16)),
  unknownAfterDestOpts: fromA('0010', '3c', `fd00010400000000${'00'.repeat(8)}`),
  hbhNotFirst: fromA('0028', '3c', `0000010400000000` + `3a00010400000000${echo('9686', '000c')}`),
  optionPastHeader: fromA('0020', '00', `3a001e0a00000000${echo('9681', '0011')}`),
};

/** What B's kernel sent back for each (captured), or 'reply' for an echo reply, or 'silent'. */
const LINUX: Record<keyof typeof G, Uint8Array | 'reply' | 'silent'> = {
  hbhSkip: 'reply',
  hbhDiscard: 'silent',
  hbhAction10: paramProblem('600d78af', '0050', '02c931', '0000002a', G.hbhAction10),
  hbhAction11: paramProblem('600d78af', '0050', '028931', '0000002a', G.hbhAction11),
  hbhAction11Multicast: 'silent',
  destAction10: paramProblem('600d78af', '0050', '022797', '0000002b', G.destAction10),
  routingType0Left0: 'reply',
  routingType0Left1: paramProblem('600c995b', '0060', '003f13', '0000002a', G.routingType0Left1),
  routingType200Left1: paramProblem('600c995b', '0060', '007712', '0000002a', G.routingType200Left1),
  unknownNextHeader: paramProblem('60063d09', '0040', '01aa23', '00000006', G.unknownNextHeader),
  unknownAfterDestOpts: paramProblem('60063d09', '0040', '016cfd', '00000028', G.unknownAfterDestOpts),
  hbhNotFirst: paramProblem('60063d09', '0058', '012921', '00000028', G.hbhNotFirst),
  optionPastHeader: 'silent',
};

/** The walk of a whole IPv6 packet, as the IP layer makes it. */
function walk(packet: Uint8Array, opts?: { maxHeaders?: number }): Ipv6Chain | Ipv6ChainError {
  const pkt = ok(Ipv6Packet.checked(packet));
  const ip = ok(Ipv6Repr.parse(pkt));
  return walkIpv6Chain(ip.nextHeader, pkt.payload, opts);
}

/** The error the IP layer answers, an unknown upper protocol included (only 58 has a handler in this lab). */
function verdict(packet: Uint8Array) {
  const result = walk(packet);
  if (!isChainError(result)) return result.upperProtocol === 58 ? 'accepted' : unknownNextHeaderError(result);
  return result;
}

describe('golden: the walk agrees with Linux', () => {
  it.each(Object.keys(G) as Array<keyof typeof G>)('%s', (name) => {
    const packet = G[name];
    const linux = LINUX[name];
    const v = verdict(packet);
    const dstIsMulticast = ok(Ipv6Packet.checked(packet)).dst.isMulticast;
    if (linux === 'reply') {
      expect(v).toBe('accepted');
      return;
    }
    expect(v).not.toBe('accepted');
    const error = v as Ipv6ChainError;
    const wouldAnswer = error.icmp !== undefined && !(error.icmpOnlyIfUnicast && dstIsMulticast);
    if (linux === 'silent') {
      // Linux drops an option running past its header silently; we answer it as RFC 4443 §3.4 suggests.
      expect(wouldAnswer).toBe(name === 'optionPastHeader');
      return;
    }
    expect(hex(linux.subarray(48))).toBe(hex(packet));
    expect(error.icmp).toEqual({ code: linux[41], pointer: (linux[44] << 24) | (linux[45] << 16) | (linux[46] << 8) | linux[47] });
    expect(wouldAnswer).toBe(true);
  });

  it('names each drop', () => {
    const reasons = Object.fromEntries((Object.keys(G) as Array<keyof typeof G>).map((n) => [n, (verdict(G[n]) as Ipv6ChainError).reason]));
    expect(reasons).toMatchObject({
      hbhDiscard: 'unknown-option',
      hbhAction10: 'unknown-option',
      hbhAction11: 'unknown-option',
      hbhAction11Multicast: 'unknown-option',
      destAction10: 'unknown-option',
      routingType0Left1: 'routing-type-0',
      routingType200Left1: 'bad-routing',
      unknownNextHeader: 'unknown-next-header',
      unknownAfterDestOpts: 'unknown-next-header',
      hbhNotFirst: 'hbh-not-first',
      optionPastHeader: 'bad-option-length',
    });
  });

  it('reads the accepted chains', () => {
    expect(walk(G.hbhSkip)).toEqual({
      upperProtocol: 58,
      upperOffset: 8,
      nextHeaderPointer: 40,
      hopByHop: [{ type: 0x1e, data: new Uint8Array(4), offset: 42 }],
      routerAlert: undefined,
      fragment: undefined,
      headers: [0],
    });
    expect(walk(G.routingType0Left0)).toMatchObject({ upperProtocol: 58, upperOffset: 24, nextHeaderPointer: 40, headers: [43], hopByHop: undefined });
    expect(walk(G.hbhAction11)).toMatchObject({ icmpOnlyIfUnicast: true });
    expect(walk(G.hbhAction10)).not.toHaveProperty('icmpOnlyIfUnicast');
  });
});

describe('golden: MLD report with a Router Alert', () => {
  // A's kernel, link up: MLDv2 report from fe80::ff:fe00:1 to ff02::16 (Ethernet header removed).
  const report = fromHex(
    '6000000000240001fe80000000000000000000fffe000001ff020000000000000000000000000016' +
      '3a000502000001008f0072070000000104000000ff0200000000000000000001ff000001',
  );

  it('walks to ICMPv6 with Router Alert value 0', () => {
    expect(walk(report)).toEqual({
      upperProtocol: 58,
      upperOffset: 8,
      nextHeaderPointer: 40,
      hopByHop: [{ type: 5, data: new Uint8Array(2), offset: 42 }],
      routerAlert: 0,
      fragment: undefined,
      headers: [0],
    });
  });

  it('hopByHopRouterAlert builds the header byte-exact as Linux does (RA, then PadN of 0 data bytes)', () => {
    expect(hex(hopByHopRouterAlert(58, 0))).toBe(hex(report.subarray(40, 48)));
    expect(walkIpv6Chain(0, Uint8Array.from([...hopByHopRouterAlert(17, 0x1234), ...new Uint8Array(8)]))).toMatchObject({ upperProtocol: 17, routerAlert: 0x1234 });
  });
});

/** Options header bytes: next header, length, options padded to a multiple of 8 with PadN/Pad1. */
function optionsHeader(nh: number, options: number[]): number[] {
  const body = [...options];
  const pad = (8 - ((body.length + 2) % 8)) % 8;
  if (pad === 1) body.push(0);
  else if (pad > 1) body.push(1, pad - 2, ...new Array(pad - 2).fill(0));
  return [nh, (body.length + 2) / 8 - 1, ...body];
}
const routing = (nh: number, type: number, segmentsLeft: number) => [nh, 2, type, segmentsLeft, 0, 0, 0, 0, ...new Array(16).fill(0)];
const fragment = (nh: number, offset: number, more: boolean) => [nh, 0, offset >> 8, (offset & 0xf8) | (more ? 1 : 0), 0xde, 0xad, 0xbe, 0xef];
const UDP = new Array(8).fill(0);

type Expect = Partial<Ipv6Chain> | Ipv6ChainError;

describe('walk rules', () => {
  it.each<[string, number, number[], Expect]>([
    // RFC 8200 §4.2 options.
    ['Pad1 and PadN only', 0, [...optionsHeader(17, [0, 0, 1, 1, 0]), ...UDP], { upperProtocol: 17, upperOffset: 8, hopByHop: [], routerAlert: undefined }],
    ['Router Alert (RFC 2711)', 0, [...optionsHeader(58, [5, 2, 0, 1]), ...UDP], { routerAlert: 1, hopByHop: [{ type: 5, data: Uint8Array.from([0, 1]), offset: 42 }] }],
    ['Router Alert with length 3', 0, [...optionsHeader(58, [5, 3, 0, 0, 0])], { reason: 'bad-option-length', icmp: { code: 0, pointer: 43 } }],
    ['Router Alert in Destination Options: unknown there, action 00, skipped', 60, [...optionsHeader(58, [5, 2, 0, 0])], { upperProtocol: 58, routerAlert: undefined }],
    ['action 00 in Destination Options', 60, [...optionsHeader(6, [0x3f, 0])], { upperProtocol: 6, headers: [60] }],
    ['action 01', 0, [...optionsHeader(58, [0, 0x7f, 0])], { reason: 'unknown-option' }],
    ['action 10 after padding', 60, [...optionsHeader(58, [1, 1, 0, 0xbf, 0])], { reason: 'unknown-option', icmp: { code: 2, pointer: 45 } }],
    ['action 11', 0, [...optionsHeader(58, [0xff, 0])], { reason: 'unknown-option', icmp: { code: 2, pointer: 42 }, icmpOnlyIfUnicast: true }],
    ['Jumbo Payload (RFC 2675) is unsupported: action 11', 0, [...optionsHeader(58, [0xc2, 4, 0, 1, 0, 0])], { reason: 'unknown-option', icmp: { code: 2, pointer: 42 }, icmpOnlyIfUnicast: true }],
    ['an unknown option in a later header is pointed at there', 0, [...optionsHeader(60, []), ...optionsHeader(58, [0, 0, 0x80, 0])], { reason: 'unknown-option', icmp: { code: 2, pointer: 52 } }],
    ['option type in the last byte, no length', 0, [58, 0, 1, 3, 0, 0, 0, 0x1e], { reason: 'bad-option-length', icmp: { code: 0, pointer: 47 } }],
    ['option running past its header', 60, [58, 0, 0x1e, 5, 0, 0, 0, 0, ...UDP], { reason: 'bad-option-length', icmp: { code: 0, pointer: 43 } }],
    ['PadN running past its header', 0, [58, 0, 0, 1, 4, 0, 0, 0], { reason: 'bad-option-length', icmp: { code: 0, pointer: 44 } }],
    // RFC 8200 §4.1: Hop-by-Hop first.
    ['Hop-by-Hop after Destination Options', 60, [...optionsHeader(0, []), ...optionsHeader(58, [])], { reason: 'hbh-not-first', icmp: { code: 1, pointer: 40 } }],
    ['Hop-by-Hop twice', 0, [...optionsHeader(0, []), ...optionsHeader(58, [])], { reason: 'hbh-not-first', icmp: { code: 1, pointer: 40 } }],
    ['Hop-by-Hop after Routing', 43, [...routing(0, 0, 0), ...optionsHeader(58, [])], { reason: 'hbh-not-first', icmp: { code: 1, pointer: 40 } }],
    ['Hop-by-Hop after an atomic fragment', 44, [...fragment(0, 0, false), ...optionsHeader(58, [])], { reason: 'hbh-not-first', icmp: { code: 1, pointer: 40 } }],
    // RFC 8200 §4.4, RFC 5095 §3.
    ['Routing type 0, Segments Left 0: ignored', 43, [...routing(17, 0, 0), ...UDP], { upperProtocol: 17, upperOffset: 24, headers: [43] }],
    ['Routing type 0, Segments Left 1', 43, [...routing(17, 0, 1), ...UDP], { reason: 'routing-type-0', icmp: { code: 0, pointer: 42 } }],
    ['Routing type 2 (Mobile IPv6), Segments Left 1', 0, [...optionsHeader(43, []), ...routing(17, 2, 1)], { reason: 'bad-routing', icmp: { code: 0, pointer: 50 } }],
    ['Routing type 4 (SRH), Segments Left 0: ignored', 43, [...routing(58, 4, 0)], { upperProtocol: 58, upperOffset: 24 }],
    // RFC 8200 §4.5 and RFC 6946.
    ['fragment with offset: stops', 44, [...fragment(60, 1448, true), 1, 2, 3], { upperProtocol: 60, upperOffset: 8, headers: [44], fragment: { nextHeader: 60, offset: 1448, moreFragments: true, ident: 0xdeadbeef, headerOffset: 0 } }],
    ['first fragment: stops too (its other headers come after reassembly)', 44, [...fragment(60, 0, true), 60, 9], { upperProtocol: 60, upperOffset: 8, headers: [44] }],
    ['last fragment after Destination Options', 60, [...optionsHeader(44, []), ...fragment(17, 8, false)], { upperProtocol: 17, upperOffset: 16, headers: [60, 44], nextHeaderPointer: 48 }],
    ['atomic fragment: walked through', 44, [...fragment(60, 0, false), ...optionsHeader(6, []), ...UDP], { upperProtocol: 6, upperOffset: 16, headers: [44, 60], fragment: { nextHeader: 60, offset: 0, moreFragments: false, ident: 0xdeadbeef, headerOffset: 0 } }],
    // Upper protocols end the walk; unknown values are the caller's to answer (RFC 8200 §4).
    ['ESP ends the walk', 0, [...optionsHeader(50, []), 1, 2], { upperProtocol: 50, upperOffset: 8 }],
    ['AH ends the walk', 60, [...optionsHeader(51, [])], { upperProtocol: 51, upperOffset: 8 }],
    ['No Next Header', 59, [1, 2, 3], { upperProtocol: 59, upperOffset: 0, nextHeaderPointer: 6 }],
    ['unknown after two headers', 0, [...optionsHeader(60, []), ...optionsHeader(143, [])], { upperProtocol: 143, upperOffset: 16, nextHeaderPointer: 48 }],
    ['empty payload: the upper layer checks its own length', 58, [], { upperProtocol: 58, upperOffset: 0, headers: [] }],
    // Lengths.
    ['no length byte', 0, [58], { reason: 'truncated' }],
    ['header longer than the payload', 60, [58, 1, 1, 4, 0, 0, 0, 0], { reason: 'truncated' }],
    ['fragment header cut', 44, [58, 0, 0, 0, 0, 0, 0], { reason: 'truncated' }],
    ['routing header cut', 43, routing(58, 0, 0).slice(0, 20), { reason: 'truncated' }],
  ])('%s', (_name, first, payload, expected) => {
    const result = walkIpv6Chain(first, Uint8Array.from(payload));
    expect(result).toMatchObject(expected);
    if ('reason' in expected) expect(result).toEqual(expected);
  });

  it('unknownNextHeaderError points at the field that named the protocol', () => {
    const chain = walkIpv6Chain(0, Uint8Array.from([...optionsHeader(60, []), ...optionsHeader(253, [])])) as Ipv6Chain;
    expect(unknownNextHeaderError(chain)).toEqual({ reason: 'unknown-next-header', icmp: { code: 1, pointer: 48 } });
  });

  it.each([
    [16, undefined, false],
    [17, undefined, true],
    [2, 2, false],
    [3, 2, true],
  ])('%i headers with maxHeaders %s: too-many-headers is %s (RFC 8504 §5.3), with no ICMP', (count, maxHeaders, tooMany) => {
    const payload: number[] = [];
    for (let i = 0; i < count; i++) payload.push(...optionsHeader(i === count - 1 ? 59 : 60, []));
    const result = walkIpv6Chain(60, Uint8Array.from(payload), maxHeaders === undefined ? undefined : { maxHeaders });
    expect(result).toEqual(tooMany ? { reason: 'too-many-headers' } : expect.objectContaining({ upperProtocol: 59, upperOffset: 8 * count }));
  });
});

describe('emitFragmentHeader', () => {
  it('writes 8 bytes at an offset, and the walk reads them back', () => {
    const buf = a5(2 + IPV6_FRAGMENT_HEADER_LEN + 1);
    emitFragmentHeader(buf, 2, { nextHeader: 17, offset: 65528, moreFragments: true, ident: 0x8598590b });
    expect(hex(buf)).toBe('a5a5' + '1100fff98598590b' + 'a5');
    expect(walkIpv6Chain(44, buf.subarray(2, 10))).toMatchObject({
      fragment: { nextHeader: 17, offset: 65528, moreFragments: true, ident: 0x8598590b, headerOffset: 0 },
    });
  });

  it.each([-8, 4, 65536])('throws a RangeError for offset %i', (offset) => {
    expect(() => emitFragmentHeader(new Uint8Array(8), 0, { nextHeader: 17, offset, moreFragments: false, ident: 0 })).toThrow(RangeError);
  });
});

describe('robustness', () => {
  const FIRST = [0, 43, 44, 60, 58, 6, 17, 59, 50, 253];

  it('10,000 random buffers through view, repr and walk never throw', () => {
    const random = new SeededRandom(2025);
    let walked = 0;
    for (let n = 0; n < 10_000; n++) {
      const buf = Uint8Array.from({ length: uniformInt(random, 0, 120) }, () => random.u32() & 0xff);
      if (buf.length > 0 && n % 2 === 0) buf[0] = 0x60 | (buf[0] & 0xf);
      if (buf.length > 6 && n % 4 === 0) buf[6] = FIRST[uniformInt(random, 0, FIRST.length - 1)];
      if (buf.length > 5 && n % 8 === 0) [buf[4], buf[5]] = [0, Math.max(0, buf.length - 40)];
      const pkt = Ipv6Packet.checked(buf);
      if (isDrop(pkt)) continue;
      const ip = Ipv6Repr.parse(pkt);
      if (isDrop(ip)) continue;
      const chain = walkIpv6Chain(ip.nextHeader, pkt.payload, { maxHeaders: uniformInt(random, 0, 20) });
      walked++;
      if (!isChainError(chain)) expect(chain.upperOffset).toBeLessThanOrEqual(pkt.payload.length);
    }
    expect(walked).toBeGreaterThan(800);
  });

  it('10,000 random chains of headers with random options never throw and stay in bounds', () => {
    const random = new SeededRandom(7);
    const randomHeader = (): [number, number[]] => {
      const options = Array.from({ length: uniformInt(random, 0, 12) }, () => random.u32() & 0xff);
      switch (uniformInt(random, 0, 4)) {
        case 0: return [0, optionsHeader(0, options)];
        case 1: return [60, optionsHeader(0, options)];
        case 2: return [43, routing(0, random.u32() & 0xff, random.u32() & 1)];
        case 3: return [44, fragment(0, random.u32() & 0xfff8, (random.u32() & 1) === 1)];
        default: return [random.u32() & 0xff, options];
      }
    };
    for (let n = 0; n < 10_000; n++) {
      const headers = Array.from({ length: uniformInt(random, 0, 5) }, randomHeader);
      // Each header's Next Header names the one after it; the last names a random value.
      headers.forEach(([, bytes], i) => bytes.length > 0 && (bytes[0] = headers[i + 1]?.[0] ?? (random.u32() & 0xff)));
      const payload = Uint8Array.from(headers.flatMap(([, bytes]) => bytes)).subarray(0, uniformInt(random, 0, 200));
      const chain = walkIpv6Chain(headers[0]?.[0] ?? 58, payload);
      if (isChainError(chain)) {
        if (chain.icmp) expect(chain.icmp.pointer).toBeLessThan(40 + Math.max(payload.length, 1));
      } else {
        expect(chain.upperOffset).toBeLessThanOrEqual(payload.length);
        expect(chain.headers.length).toBeLessThanOrEqual(16);
      }
    }
  });
});
