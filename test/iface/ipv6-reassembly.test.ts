import { describe, expect, it } from 'vitest';
import { fragmentIpv6, lastHeaderOffset } from '../../lib/iface/ipv6-fragment';
import { DEFAULT_IPV6_REASSEMBLY_CONFIG, Ipv6Reassembler, type ReassembledIpv6Packet } from '../../lib/iface/ipv6-reassembly';
import type { ReassemblyConfig } from '../../lib/iface/ipv4-reassembly';
import { SeededRandom, uniformInt } from '../../lib/random';
import { ProtocolCounters } from '../../lib/stats';
import { Ipv6Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Ipv6Packet, Ipv6Repr, type Ipv6ReprFields } from '../../lib/wire/ipv6';
import { emitFragmentHeader, isChainError, walkIpv6Chain, type Ipv6FragmentHeader } from '../../lib/wire/ipv6-ext';
import { fromHex, hex } from '../wire/fixtures/fields';

const A = Ipv6Address.parse('fd00::1');
const B = Ipv6Address.parse('fd00::2');
const C = Ipv6Address.parse('2001:db8::7');

interface Piece {
  ip: Ipv6Repr;
  packet: Uint8Array;
  frag: Ipv6FragmentHeader;
  fragPayload: Uint8Array;
  unfragmentable: Uint8Array;
}

function bytes(len: number, seed = 1): Uint8Array {
  const random = new SeededRandom(seed);
  return Uint8Array.from({ length: len }, () => random.u32() & 0xff);
}

/** What the IP layer hands the reassembler for a received packet. */
function parse(packet: Uint8Array): Piece {
  const pkt = Ipv6Packet.checked(packet);
  if (isDrop(pkt)) throw new Error(pkt);
  const ip = Ipv6Repr.parse(pkt);
  if (isDrop(ip)) throw new Error(ip);
  const chain = walkIpv6Chain(ip.nextHeader, pkt.payload);
  if (isChainError(chain) || !chain.fragment) throw new Error('not a fragment');
  const frag = chain.fragment;
  return { ip, packet, frag, fragPayload: pkt.payload.subarray(frag.headerOffset + 8), unfragmentable: pkt.payload.subarray(0, frag.headerOffset) };
}

interface PieceFields extends Partial<Ipv6ReprFields> {
  ident?: number;
  /** The fragment header's Next Header (17). */
  nextHeader?: number;
  /** A header sequence (its last Next Header is rewritten to 44), the first of type `firstHeader` (60). */
  unfragmentable?: Uint8Array;
  firstHeader?: number;
}

/** One hand-made fragment, parsed back as the receive path would. */
function piece(offset: number, data: Uint8Array, more: boolean, f: PieceFields = {}): Piece {
  const unfrag = f.unfragmentable ?? new Uint8Array(0);
  const last = lastHeaderOffset(unfrag);
  const ip = new Ipv6Repr({ src: A, dst: B, ...f, nextHeader: last === undefined ? 44 : (f.firstHeader ?? 60), payloadLen: unfrag.length + 8 + data.length });
  const packet = new Uint8Array(40 + ip.payloadLen);
  ip.emit(packet);
  packet.set(unfrag, 40);
  if (last !== undefined) packet[40 + last] = 44;
  emitFragmentHeader(packet, 40 + unfrag.length, { nextHeader: f.nextHeader ?? 17, offset, moreFragments: more, ident: f.ident ?? 7 });
  packet.set(data, 48 + unfrag.length);
  return parse(packet);
}

function fragmentsOf(payload: Uint8Array, mtu: number, f: Partial<Ipv6ReprFields> & { ident?: number } = {}): Piece[] {
  const ip = new Ipv6Repr({ src: A, dst: B, nextHeader: 44, payloadLen: 0, ...f });
  return fragmentIpv6(ip, new Uint8Array(0), payload, 17, mtu, 0, f.ident ?? 7).map(parse);
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const random = new SeededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = uniformInt(random, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function setup(config?: Partial<ReassemblyConfig>) {
  const stats = new ProtocolCounters();
  const r = new Ipv6Reassembler(stats, config);
  const feed = (pieces: Piece[], now = 0) => pieces.map((p) => r.add(p.ip, p.packet, p.frag, p.fragPayload, p.unfragmentable, now));
  return { stats, r, feed };
}

const done = (x: unknown) => x as ReassembledIpv6Packet;

/**
 * Golden: `ping -6 -c 1 -s 3000 fd00::2` from namespace A (the lab of test/wire/ipv6.test.ts,
 * captured 2026-11-23, Linux 6.18): the three fragments' IPv6 and fragment headers as captured,
 * then their slices of the ICMPv6 message (header and timestamp as captured, then bytes i & 0xff).
 */
const PING = (() => {
  const icmp = new Uint8Array(3008);
  icmp.set(fromHex('8000d68f17240001d219046b00000000d318030000000000'));
  for (let i = 16; i < 3000; i++) icmp[8 + i] = i & 0xff;
  const header = (len: string, frag: string) => `60092d64${len}2c40fd000000000000000000000000000001fd0000000000000000000000000000023a00${frag}8598590b`;
  const frames = [header('05b0', '0001'), header('05b0', '05a9'), header('0078', '0b50')].map((h, i) =>
    Uint8Array.from([...fromHex(h), ...icmp.subarray(1448 * i, Math.min(3008, 1448 * (i + 1)))]),
  );
  return { icmp, pieces: frames.map(parse) };
})();

/** Hand-made fragments A sent in that lab, and the Parameter Problem B's kernel answered (code, pointer), or null for an echo reply. */
const HAND_MADE: Array<[string, string, [number, number] | null]> = [
  ['atomic fragment', '6000000000202c40fd000000000000000000000000000001fd0000000000000000000000000000023a00000000001001800096850077000d70797463702069707636206578742121', null],
  ['first fragment cut inside a Destination Options header', '6000000000102c40fd000000000000000000000000000001fd0000000000000000000000000000023c000001000010023a01010c00000000', [3, 0]],
  ['13 bytes with M set', '6000000000152c40fd000000000000000000000000000001fd0000000000000000000000000000023a0000010000100380009691007700017079746370', [0, 4]],
  ['offset 65528 with 16 bytes', '6000000000182c40fd000000000000000000000000000001fd0000000000000000000000000000023a00fff90000100400000000000000000000000000000000', [0, 42]],
];

describe('Ipv6Reassembler: golden', () => {
  const orders = ['012', '021', '102', '120', '201', '210'];
  it.each(orders)('the kernel\'s three fragments in order %s give its ping message', (text) => {
    const order = [...text].map(Number);
    const { r, feed } = setup();
    const results = feed(order.map((i) => PING.pieces[i]));
    expect(results.slice(0, 2)).toEqual([undefined, undefined]);
    expect(done(results[2]).ip).toMatchObject({ nextHeader: 58, payloadLen: 3008, flowLabel: 0x92d64, hopLimit: 64 });
    expect(hex(done(results[2]).payload)).toBe(hex(PING.icmp));
    expect([r.bytesHeld, r.datagramsHeld]).toEqual([0, 0]);
  });

  it.each(HAND_MADE)('%s: as Linux answered', (_name, text, linux) => {
    const { feed } = setup();
    const [result] = feed([parse(fromHex(text))]);
    if (linux === null) expect(done(result).payload).toEqual(fromHex(text).subarray(48));
    else expect(result).toMatchObject({ icmp: { code: linux[0], pointer: linux[1] } });
  });
});

describe('Ipv6Reassembler: arrival orders', () => {
  const PAYLOAD = bytes(20_000);
  const FRAGS = fragmentsOf(PAYLOAD, 1280); // 17 fragments of 1232 bytes, the last 288
  const SHUFFLED = shuffled(FRAGS, 42);
  const WITH_DUPLICATES = [...shuffled([...SHUFFLED.slice(0, -1), ...SHUFFLED.slice(0, 9)], 7), SHUFFLED.at(-1)!];

  it.each([
    ['in order', FRAGS],
    ['reversed', [...FRAGS].reverse()],
    ['shuffled', SHUFFLED],
    ['shuffled with duplicates mixed in', WITH_DUPLICATES],
  ])('%s: completes exactly once, byte-exact, and frees everything', (_name, pieces) => {
    const { stats, r, feed } = setup();
    const results = feed(pieces);
    expect(results.slice(0, -1).every((x) => x === undefined)).toBe(true);
    expect(done(results.at(-1)).payload).toEqual(PAYLOAD);
    expect(done(results.at(-1)).ip).toMatchObject({ payloadLen: 20_000, nextHeader: 17 });
    expect(stats.dropped['frag-duplicate'] ?? 0).toBe(pieces.length - FRAGS.length);
    expect([r.bytesHeld, r.datagramsHeld, r.pollAt()]).toEqual([0, 0, undefined]);
  });

  it('takes the header and the unfragmentable part from the first fragment, rewriting its last Next Header (RFC 8200 §4.5)', () => {
    const hbh = Uint8Array.from([60, 0, 5, 2, 0, 0, 1, 0]);
    const dest = Uint8Array.from([0, 0, 1, 4, 0, 0, 0, 0]);
    const data = bytes(24);
    const { feed } = setup();
    const results = feed([
      piece(16, data.subarray(16), false, { hopLimit: 9, unfragmentable: dest }),
      piece(0, data.subarray(0, 16), true, { hopLimit: 200, flowLabel: 5, unfragmentable: Uint8Array.from([...hbh, ...dest]), firstHeader: 0 }),
    ]);
    expect(done(results[1]).ip).toMatchObject({ hopLimit: 200, flowLabel: 5, nextHeader: 0, payloadLen: 16 + 24 });
    expect(hex(done(results[1]).payload)).toBe(hex(Uint8Array.from([...hbh, 17, ...dest.subarray(1), ...data])));
  });

  it('handles an atomic fragment at once (RFC 6946 §4), leaving a queued packet of the same ident alone', () => {
    const { stats, r, feed } = setup();
    const data = bytes(3000);
    const [f0, f1, f2] = fragmentsOf(data, 1500);
    expect(feed([f0, f1])).toEqual([undefined, undefined]);
    const atomic = piece(0, bytes(40, 3), false, { unfragmentable: Uint8Array.from([0, 0, 1, 4, 0, 0, 0, 0]) });
    const [whole] = feed([atomic]);
    expect(done(whole).ip).toMatchObject({ nextHeader: 60, payloadLen: 48 });
    expect(hex(done(whole).payload)).toBe(hex(Uint8Array.from([17, 0, 1, 4, 0, 0, 0, 0, ...bytes(40, 3)])));
    expect(r.datagramsHeld).toBe(1);
    expect(done(feed([f2])[0]).payload).toEqual(data);
    expect(stats.droppedTotal).toBe(0);
  });

  it('keeps interleaved packets of different idents, sources and destinations apart', () => {
    const kinds = [{ ident: 1 }, { ident: 2 }, { ident: 1, src: C }, { ident: 1, dst: C }, { ident: 0xffffffff }];
    const payloads = kinds.map((_, i) => bytes(5000 + i * 100, i + 10));
    const { stats, feed } = setup();
    const results = feed(shuffled(kinds.flatMap((k, i) => fragmentsOf(payloads[i], 1400, k)), 99)).filter((x) => x !== undefined);
    expect(results.map((x) => hex(done(x).payload)).sort()).toEqual(payloads.map(hex).sort());
    expect(stats.droppedTotal).toBe(0);
  });
});

describe('Ipv6Reassembler: hostile and inconsistent fragments', () => {
  const data = bytes(3000);
  const [f0, f1, f2] = fragmentsOf(data, 1500); // [0,1448) [1448,2896) [2896,3000)

  it.each([
    ['same range, different data', piece(1448, bytes(1448, 9), true)],
    ['partial overlap', piece(1440, data.subarray(1440, 2888), true)],
    ['a second last fragment with a different end', piece(2896, data.subarray(2896, 2992), false)],
    ['data beyond the known end', piece(2896, bytes(112), true)],
    ['a last fragment ending before data already held', piece(1448, data.subarray(1448, 1456), false)],
  ])('%s discards the whole packet, and its later fragments too (RFC 5722 §4)', (_name, bad) => {
    const { stats, r, feed } = setup();
    expect(feed([f1, f2, bad, f0])).toEqual([undefined, undefined, undefined, undefined]);
    expect(stats.dropped).toEqual({ 'frag-overlap': 1, 'frag-discarded': 1 });
    expect([r.bytesHeld, r.datagramsHeld]).toEqual([0, 1]);
    expect(r.poll(60_000)).toEqual([]); // silently, at the timeout
    expect(done(feed([f0, f1, f2], 60_001)[2]).payload).toEqual(data);
  });

  it('drops an exact duplicate alone and goes on', () => {
    const { stats, feed } = setup();
    expect(done(feed([f1, f1, f0, f0, f2])[4]).payload).toEqual(data);
    expect(stats.dropped).toEqual({ 'frag-duplicate': 2 });
  });

  const unfrag = Uint8Array.from([0, 1, ...new Uint8Array(14)]);
  it.each([
    ['a non-last fragment not a multiple of 8', piece(8, bytes(100), true), 'frag-bad-length', { code: 0, pointer: 4 }],
    ['an empty fragment', piece(8, new Uint8Array(0), true), 'frag-empty', undefined],
    ['a fragment whose packet would pass 65535 bytes', piece(65528, bytes(8), true), 'frag-too-big', { code: 0, pointer: 42 }],
    ['the same, counting the unfragmentable part', piece(65512, bytes(16), true, { unfragmentable: unfrag }), 'frag-too-big', { code: 0, pointer: 58 }],
    ['a first fragment ending inside a Destination Options header', piece(0, Uint8Array.from([6, 1, ...new Uint8Array(6)]), true, { nextHeader: 60 }), 'frag-tiny-first', { code: 3, pointer: 0 }],
    ['a first fragment ending inside the TCP header', piece(0, bytes(16), true, { nextHeader: 6 }), 'frag-tiny-first', { code: 3, pointer: 0 }],
    ['a first fragment ending inside the ICMPv6 header after options', piece(0, Uint8Array.from([58, 0, 1, 4, 0, 0, 0, 0]), true, { nextHeader: 60 }), 'frag-tiny-first', { code: 3, pointer: 0 }],
  ])('%s is dropped', (_name, bad, reason, icmp) => {
    const { stats, r, feed } = setup();
    expect(feed([bad])).toEqual([icmp && { error: reason, icmp }]);
    expect(stats.dropped).toEqual({ [reason]: 1 });
    expect(r.datagramsHeld).toBe(0);
  });

  it.each([
    ['UDP', 17, 8],
    ['ICMPv6', 58, 8],
    ['TCP', 6, 24],
    ['No Next Header', 59, 8],
    ['an unknown protocol', 253, 8],
  ])('accepts a first fragment holding the whole %s header', (_name, nextHeader, len) => {
    const { stats, feed } = setup();
    expect(feed([piece(0, bytes(len), true, { nextHeader })])).toEqual([undefined]);
    expect(stats.droppedTotal).toBe(0);
  });

  it('drops a tiny first fragment alone, as Linux does: the rest waits for a good first fragment', () => {
    const { stats, r, feed } = setup();
    const segment = bytes(48);
    const last = piece(24, segment.subarray(24), false, { nextHeader: 6 });
    const tiny = piece(0, segment.subarray(0, 16), true, { nextHeader: 6 }); // ends inside the 20-byte TCP header
    expect(feed([last, tiny])).toEqual([undefined, { error: 'frag-tiny-first', icmp: { code: 3, pointer: 0 } }]);
    expect(r.datagramsHeld).toBe(1);
    expect(done(feed([piece(0, segment.subarray(0, 24), true, { nextHeader: 6 })])[0]).payload).toEqual(segment);
    expect(stats.dropped).toEqual({ 'frag-tiny-first': 1 });
  });

  it('discards a packet whose first fragment\'s unfragmentable part makes it pass 65535 bytes', () => {
    const { stats, feed } = setup();
    expect(feed([piece(8, bytes(65527), false), piece(0, bytes(8), true, { unfragmentable: Uint8Array.from([0, 0, 1, 4, 0, 0, 0, 0]) })])).toEqual([undefined, undefined]);
    expect(stats.dropped).toEqual({ 'frag-too-big': 1 });
  });

  it('marks the packet CE when a fragment was CE, and drops Not-ECT mixed with ECT (RFC 3168 §5.3)', () => {
    const marked = setup().feed([piece(0, data.subarray(0, 8), true, { trafficClass: 0xb8 | 2 }), piece(8, data.subarray(8, 16), false, { trafficClass: 3 })]);
    expect(done(marked[1]).ip.trafficClass).toBe(0xb8 | 3);
    const mixed = setup();
    expect(mixed.feed([piece(0, data.subarray(0, 8), true, { trafficClass: 2 }), piece(8, data.subarray(8, 16), false)])).toEqual([undefined, undefined]);
    expect(mixed.stats.dropped).toEqual({ 'frag-ecn-mismatch': 1 });
  });
});

describe('Ipv6Reassembler: timeouts (RFC 8200 §4.5)', () => {
  const data = bytes(3000);
  const [f0, f1, f2] = fragmentsOf(data, 1500);

  it('times out 60 s after the first arrival, quoting the first fragment for Time Exceeded', () => {
    const { stats, r } = setup();
    r.add(f1.ip, f1.packet, f1.frag, f1.fragPayload, f1.unfragmentable, 1_000);
    r.add(f0.ip, f0.packet, f0.frag, f0.fragPayload, f0.unfragmentable, 20_000);
    expect(r.pollAt()).toBe(61_000);
    expect(r.poll(60_999)).toEqual([]);
    const expired = r.poll(61_000);
    expect(expired).toHaveLength(1);
    // RFC 4443 §2.4 (c): as much as fits a 1280-byte error: 1232 bytes of the 1496-byte fragment.
    expect(expired[0].firstFragment).toEqual(f0.packet.subarray(0, 1232));
    expect(expired[0].src.equals(A) && expired[0].dst.equals(B)).toBe(true);
    expect(stats.dropped).toEqual({ 'frag-timeout': 1 });
    expect([r.bytesHeld, r.datagramsHeld, r.pollAt()]).toEqual([0, 0, undefined]);
  });

  it('quotes a short first fragment whole, without link padding', () => {
    const { r } = setup();
    const p = piece(0, bytes(16), true);
    const padded = Uint8Array.from([...p.packet, 0, 0, 0]);
    r.add(p.ip, padded, p.frag, p.fragPayload, p.unfragmentable, 0);
    expect(r.poll(60_000)[0].firstFragment).toEqual(p.packet);
  });

  it('reports no quote when the first fragment never came: no Time Exceeded', () => {
    const { r, feed } = setup();
    feed([f2, f1]);
    expect(r.poll(60_000).map((e) => e.firstFragment)).toEqual([undefined]);
  });

  it('gives the earliest deadline in pollAt and expires packets one by one', () => {
    const { r, feed } = setup();
    feed([f1], 100);
    feed([piece(0, bytes(8), true, { ident: 8 })], 5_000);
    expect(r.pollAt()).toBe(60_100);
    expect(r.poll(60_100)).toHaveLength(1);
    expect(r.pollAt()).toBe(65_000);
    expect(r.poll(65_000)).toHaveLength(1);
    expect(r.pollAt()).toBeUndefined();
  });
});

describe('Ipv6Reassembler: resource caps', () => {
  it('never holds more than maxBytes under a flood of 100,000 distinct fragments, and recovers after it', () => {
    const cap = DEFAULT_IPV6_REASSEMBLY_CONFIG.maxBytes;
    const { stats, r, feed } = setup({ maxDatagrams: 1_000_000 });
    const data = bytes(1232);
    const ip = new Ipv6Repr({ src: A, dst: B, nextHeader: 44, payloadLen: 1240 });
    const packet = new Uint8Array(1280);
    let peak = 0;
    for (let i = 0; i < 100_000; i++) {
      const frag = { nextHeader: 17, offset: 1232 * (1 + (i % 7)), moreFragments: true, ident: i, headerOffset: 0 };
      r.add(ip, packet, frag, data, new Uint8Array(0), i);
      peak = Math.max(peak, r.bytesHeld);
    }
    expect(peak).toBeLessThanOrEqual(cap);
    expect(peak).toBeGreaterThan(cap - 1296);
    expect(stats.dropped['frag-evicted']).toBe(100_000 - r.datagramsHeld);
    const legit = bytes(4000);
    expect(done(feed(shuffled(fragmentsOf(legit, 1500, { src: C }), 5), 100_000).at(-1)).payload).toEqual(legit);
  });

  it('evicts the oldest packet first, and drops a fragment that cannot fit even alone', () => {
    const { stats, r, feed } = setup({ maxBytes: 3 * (1448 + 64) });
    const olds = [1, 2, 3].map((ident) => fragmentsOf(bytes(3000), 1500, { ident }));
    feed([olds[0][1], olds[1][1], olds[2][1]]);
    expect(r.bytesHeld).toBe(3 * 1512);
    feed([olds[1][2]]); // evicts ident 1, the oldest
    expect(stats.dropped['frag-evicted']).toBe(1);
    // The first fragment costs its data and its quote: ident 3 goes to make room.
    expect(done(feed([olds[1][0]])[0]).payload).toEqual(bytes(3000));
    expect(stats.dropped['frag-evicted']).toBe(2);
    expect(feed([olds[0][0], olds[0][2]])).toEqual([undefined, undefined]); // ident 1's middle is gone
    expect(feed([piece(8, bytes(8000), true, { ident: 50 })])).toEqual([undefined]);
    expect(stats.dropped['frag-memory']).toBe(1);
    expect(r.bytesHeld).toBeLessThanOrEqual(3 * 1512);
  });

  it('holds at most maxDatagrams, evicting the oldest for a new one', () => {
    const { stats, r, feed } = setup({ maxDatagrams: 3 });
    const frags = [1, 2, 3, 4].map((ident) => fragmentsOf(bytes(3000), 1500, { ident }));
    feed(frags.map((f) => f[0]));
    expect(r.datagramsHeld).toBe(3);
    expect(stats.dropped).toEqual({ 'frag-evicted': 1 });
    expect(done(feed(frags[1].slice(1)).at(-1)).payload).toEqual(bytes(3000));
    expect(feed(frags[0].slice(1))).toEqual([undefined, undefined]);
  });

  it('bounds a flood of fragments into one packet by maxFragments', () => {
    const { stats, r, feed } = setup();
    feed(Array.from({ length: 1000 }, (_, i) => piece(8 + i * 8, bytes(8, i), true)));
    expect(stats.dropped['frag-too-many']).toBe(1);
    expect(stats.dropped['frag-discarded']).toBe(1000 - 65);
    expect(r.bytesHeld).toBe(0);
  });
});

describe('Ipv6Reassembler: robustness', () => {
  it('10,000 random fragments never throw, never pass the cap, and whatever completes is consistent', () => {
    const random = new SeededRandom(99);
    const { r } = setup({ maxBytes: 64 * 1024 });
    let completed = 0;
    for (let n = 0; n < 10_000; n++) {
      const unfragmentable = (random.u32() & 3) === 0 ? Uint8Array.from([0, 0, 1, 4, 0, 0, 0, 0]) : new Uint8Array(0);
      const len = uniformInt(random, 0, 64) * (random.u32() & 1 ? 8 : 1);
      const frag = { nextHeader: random.u32() & 0xff, offset: uniformInt(random, 0, 24) * 8 * (random.u32() & 1 ? 1 : 341), moreFragments: (random.u32() & 3) !== 0, ident: random.u32() & 3, headerOffset: unfragmentable.length };
      const src = random.u32() & 1 ? A : C;
      const ip = new Ipv6Repr({ src, dst: B, nextHeader: unfragmentable.length ? 0 : 44, payloadLen: unfragmentable.length + 8 + len, trafficClass: random.u32() & 3 });
      const result = r.add(ip, new Uint8Array(40), frag, bytes(len, n), unfragmentable, n * 10);
      if (result && 'payload' in result) {
        completed++;
        expect(result.ip.payloadLen).toBe(result.payload.length);
      }
      expect(r.bytesHeld).toBeLessThanOrEqual(64 * 1024);
      if (n % 1000 === 0) r.poll(n * 10);
    }
    expect(completed).toBeGreaterThan(10);
  });
});
