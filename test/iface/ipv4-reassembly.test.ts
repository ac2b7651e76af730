import { describe, expect, it } from 'vitest';
import { fragmentIpv4 } from '../../lib/iface/ipv4-fragment';
import { DEFAULT_REASSEMBLY_CONFIG, Ipv4Reassembler, type ReassemblyConfig } from '../../lib/iface/ipv4-reassembly';
import { SeededRandom, uniformInt } from '../../lib/random';
import { ProtocolCounters } from '../../lib/stats';
import { Ipv4Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Ipv4Packet, Ipv4Repr, type Ipv4ReprFields } from '../../lib/wire/ipv4';

const A = Ipv4Address.parse('192.0.2.1');
const B = Ipv4Address.parse('192.0.2.2');
const C = Ipv4Address.parse('198.51.100.7');

interface Piece {
  ip: Ipv4Repr;
  packet: Uint8Array;
  payload: Uint8Array;
}

function bytes(len: number, seed = 1): Uint8Array {
  const random = new SeededRandom(seed);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = random.u32() & 0xff;
  return out;
}

function parse(packet: Uint8Array): Piece {
  const pkt = Ipv4Packet.checked(packet);
  if (isDrop(pkt)) throw new Error(pkt);
  const ip = Ipv4Repr.parse(pkt);
  if (isDrop(ip)) throw new Error(ip);
  return { ip, packet, payload: pkt.payload };
}

/** One hand-made fragment, emitted and parsed back as the receive path would. */
function piece(offset: number, data: Uint8Array, more: boolean, fields: Partial<Ipv4ReprFields> = {}): Piece {
  const ip = new Ipv4Repr({ src: A, dst: B, protocol: 17, ident: 7, ...fields, fragmentOffset: offset, moreFragments: more, payloadLen: data.length });
  const packet = new Uint8Array(ip.bufferLen() + data.length);
  ip.emit(packet);
  packet.set(data, ip.bufferLen());
  return parse(packet);
}

/** A datagram's fragments as the fragmenter makes them. */
function fragmentsOf(payload: Uint8Array, mtu: number, fields: Partial<Ipv4ReprFields> = {}): Piece[] {
  const ip = new Ipv4Repr({ src: A, dst: B, protocol: 17, ident: 7, ...fields, payloadLen: payload.length });
  return fragmentIpv4(ip, payload, mtu, 0).map(parse);
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
  const r = new Ipv4Reassembler(stats, config);
  /** Feeds pieces at `now`; returns what each add returned. */
  const feed = (pieces: Piece[], now = 0) => pieces.map((p) => r.add(p.ip, p.packet, p.payload, now));
  return { stats, r, feed };
}

const PAYLOAD = bytes(20_000);
const FRAGS = fragmentsOf(PAYLOAD, 576); // 37 fragments of 552 bytes, the last 124
const SHUFFLED = shuffled(FRAGS, 42);
/** Duplicates of 17 fragments mixed in before the fragment that completes the datagram. */
const WITH_DUPLICATES = [...shuffled([...SHUFFLED.slice(0, -1), ...SHUFFLED.slice(0, 17)], 7), SHUFFLED.at(-1)!];

describe('Ipv4Reassembler: arrival orders', () => {
  it.each([
    ['in order', FRAGS],
    ['reversed', [...FRAGS].reverse()],
    ['shuffled', SHUFFLED],
    ['shuffled with duplicates mixed in', WITH_DUPLICATES],
  ])('%s: completes exactly once, byte-exact, and frees everything', (_name, pieces) => {
    const { stats, r, feed } = setup();
    const results = feed(pieces);
    expect(results.slice(0, -1).every((x) => x === undefined)).toBe(true);
    const done = results.at(-1);
    expect(done?.payload).toEqual(PAYLOAD);
    expect(done?.ip).toMatchObject({ payloadLen: 20_000, moreFragments: false, fragmentOffset: 0, ident: 7, protocol: 17 });
    expect(stats.dropped['frag-duplicate'] ?? 0).toBe(pieces.length - FRAGS.length);
    expect([r.bytesHeld, r.datagramsHeld, r.pollAt()]).toEqual([0, 0, undefined]);
  });

  it('treats a duplicate arriving after completion as the start of a new datagram, which times out (as Linux does)', () => {
    const { stats, r, feed } = setup();
    expect(feed([...FRAGS, FRAGS[0]], 0).filter((x) => x !== undefined)).toHaveLength(1);
    expect(r.datagramsHeld).toBe(1);
    expect(r.poll(30_000).map((e) => e.firstFragment)).toEqual([FRAGS[0].packet.subarray(0, 28)]);
    expect(stats.dropped).toEqual({ 'frag-timeout': 1 });
  });

  it('takes header fields and options from fragment 0 even when it comes last', () => {
    const options = Uint8Array.from([0x82, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { feed } = setup();
    const data = bytes(40);
    const results = feed([
      piece(16, data.subarray(16), false, { ttl: 9, dscp: 1 }),
      piece(8, data.subarray(8, 16), true, { ttl: 8 }),
      piece(0, data.subarray(0, 8), true, { ttl: 200, dscp: 46, options }),
    ]);
    const done = results[2]!;
    expect(done.ip).toMatchObject({ ttl: 200, dscp: 46, payloadLen: 40 });
    expect([...done.ip.options]).toEqual([...options, 0]);
    expect(done.payload).toEqual(data);
  });

  it('copies fragments: the received buffers can be reused at once', () => {
    const { feed } = setup();
    const pieces = fragmentsOf(bytes(3000), 1500);
    const copy = bytes(3000);
    feed(pieces.slice(0, 2));
    for (const p of pieces.slice(0, 2)) p.packet.fill(0xa5);
    expect(feed(pieces.slice(2))[0]?.payload).toEqual(copy);
  });

  it('reassembles tiny 8-byte fragments up to maxFragments, and discards a datagram with one more', () => {
    const ok = setup();
    const pieces = fragmentsOf(bytes(64 * 8), 28);
    expect(pieces).toHaveLength(64);
    expect(ok.feed(shuffled(pieces, 3)).at(-1)?.payload).toEqual(bytes(64 * 8));
    const tooMany = setup();
    const results = tooMany.feed(fragmentsOf(bytes(65 * 8), 28));
    expect(results.every((x) => x === undefined)).toBe(true);
    expect(tooMany.stats.dropped['frag-too-many']).toBe(1);
    expect(tooMany.r.bytesHeld).toBe(0);
  });

  it('keeps interleaved datagrams of different idents, sources and protocols apart', () => {
    const kinds: Partial<Ipv4ReprFields>[] = [{ ident: 1 }, { ident: 2 }, { ident: 1, src: C }, { ident: 1, protocol: 6 }, { ident: 1, dst: C }];
    const payloads = kinds.map((_, i) => bytes(5000 + i * 100, i + 10));
    const all = shuffled(kinds.flatMap((k, i) => fragmentsOf(payloads[i], 1006, k)), 99);
    const { stats, feed } = setup();
    const done = feed(all).filter((x) => x !== undefined);
    expect(done).toHaveLength(kinds.length);
    for (const d of done) {
      const i = kinds.findIndex((k) => (k.ident ?? 7) === d!.ip.ident && (k.src ?? A).equals(d!.ip.src) && (k.dst ?? B).equals(d!.ip.dst) && (k.protocol ?? 17) === d!.ip.protocol);
      expect(d!.payload).toEqual(payloads[i]);
    }
    expect(stats.droppedTotal).toBe(0);
  });
});

describe('Ipv4Reassembler: hostile and inconsistent fragments', () => {
  const data = bytes(3000);
  const [f0, f1, f2] = fragmentsOf(data, 1500); // [0,1480) [1480,2960) [2960,3000)

  it.each([
    ['same range, different data', piece(1480, bytes(1480, 9), true)],
    ['partial overlap', piece(1472, data.subarray(1472, 2952), true)],
    ['a second last fragment with a different end', piece(2960, data.subarray(2960, 2992), false)],
    ['data beyond the known end', piece(2960, bytes(48), true)],
    ['a last fragment ending before data already held', piece(1480, data.subarray(1480, 1490), false)],
  ])('%s discards the whole datagram, and its later fragments too', (_name, bad) => {
    const { stats, r, feed } = setup();
    feed([f1, f2, bad, f0]);
    expect(stats.dropped['frag-overlap']).toBe(1);
    expect(stats.dropped['frag-discarded']).toBe(1);
    expect([r.bytesHeld, r.datagramsHeld]).toEqual([0, 1]);
    // The tombstone ends silently at the timeout, then the key is free again.
    expect(r.poll(30_000)).toEqual([]);
    expect(r.datagramsHeld).toBe(0);
    expect(feed([f0, f1, f2], 30_001)[2]?.payload).toEqual(data);
  });

  it('discards the datagram when a last fragment ends before data held while the end is still unknown', () => {
    const { stats, r, feed } = setup();
    feed([f1, piece(0, data.subarray(0, 8), false)]);
    expect(stats.dropped).toEqual({ 'frag-overlap': 1 });
    expect(r.bytesHeld).toBe(0);
  });

  it('drops an exact duplicate alone and goes on', () => {
    const { stats, feed } = setup();
    const results = feed([f1, f1, f0, f0, f2]);
    expect(results[4]?.payload).toEqual(data);
    expect(stats.dropped).toEqual({ 'frag-duplicate': 2 });
  });

  it.each([
    ['a non-final fragment not a multiple of 8', piece(0, bytes(100), true), 'frag-bad-length'],
    ['an empty fragment', piece(8, new Uint8Array(0), true), 'frag-bad-length'],
    ['a fragment reaching past 65535', piece(65528, bytes(16), true), 'frag-too-big'],
  ])('%s is dropped', (_name, bad, reason) => {
    const { stats, r, feed } = setup();
    expect(feed([bad])).toEqual([undefined]);
    expect(stats.dropped).toEqual({ [reason]: 1 });
    expect(r.datagramsHeld).toBe(0);
  });

  it('discards a datagram that would pass 65535 bytes with fragment 0\'s 60-byte header', () => {
    const { stats, feed } = setup();
    const options = new Uint8Array(40).fill(1);
    const results = feed([piece(8, bytes(65_492), false), piece(0, bytes(8), true, { options })]);
    expect(results).toEqual([undefined, undefined]);
    expect(stats.dropped).toEqual({ 'frag-too-big': 1 });
  });

  it('marks the datagram CE when a fragment was CE, and drops Not-ECT mixed with ECT (RFC 3168 §5.3)', () => {
    const marked = setup().feed([piece(0, data.subarray(0, 8), true, { ecn: 2 }), piece(8, data.subarray(8, 16), false, { ecn: 3 })]);
    expect(marked[1]?.ip.ecn).toBe(3);
    const mixed = setup();
    expect(mixed.feed([piece(0, data.subarray(0, 8), true, { ecn: 2 }), piece(8, data.subarray(8, 16), false, { ecn: 0 })])).toEqual([undefined, undefined]);
    expect(mixed.stats.dropped).toEqual({ 'frag-ecn-mismatch': 1 });
  });
});

describe('Ipv4Reassembler: timeouts', () => {
  const data = bytes(3000);
  const [f0, f1, f2] = fragmentsOf(data, 1500);

  it('never completes without the last fragment, and times out 30 s after the first arrival with a quote of fragment 0', () => {
    const { stats, r } = setup();
    r.add(f0.ip, f0.packet, f0.payload, 1_000);
    r.add(f1.ip, f1.packet, f1.payload, 20_000);
    expect(r.pollAt()).toBe(31_000);
    expect(r.poll(30_999)).toEqual([]);
    const [expired, ...rest] = r.poll(31_000);
    expect(rest).toEqual([]);
    expect(expired.firstFragment).toEqual(f0.packet.subarray(0, 28));
    expect(expired.src.equals(A) && expired.dst.equals(B)).toBe(true);
    expect(stats.dropped).toEqual({ 'frag-timeout': 1 });
    expect([r.bytesHeld, r.datagramsHeld, r.pollAt()]).toEqual([0, 0, undefined]);
  });

  it('reports no quote when fragment 0 never came (RFC 1122 §3.3.2)', () => {
    const { r, feed } = setup();
    feed([f2, f1]);
    expect(r.poll(30_000).map((e) => e.firstFragment)).toEqual([undefined]);
  });

  it('quotes the header with its options and 8 bytes of data', () => {
    const { r } = setup();
    const options = Uint8Array.from([0x82, 3, 0, 1]);
    const first = fragmentsOf(data, 1500, { options })[0];
    r.add(first.ip, first.packet, first.payload, 0);
    expect(r.poll(30_000)[0].firstFragment).toEqual(first.packet.subarray(0, 24 + 8));
  });

  it('gives the earliest deadline in pollAt and expires datagrams one by one', () => {
    const { r } = setup();
    expect(r.pollAt()).toBeUndefined();
    r.add(f1.ip, f1.packet, f1.payload, 100);
    const other = piece(0, bytes(8), true, { ident: 8 });
    r.add(other.ip, other.packet, other.payload, 5_000);
    expect(r.pollAt()).toBe(30_100);
    expect(r.poll(30_100)).toHaveLength(1);
    expect(r.pollAt()).toBe(35_000);
    expect(r.poll(35_000)).toHaveLength(1);
    expect(r.pollAt()).toBeUndefined();
  });
});

describe('Ipv4Reassembler: resource caps', () => {
  it('never holds more than maxBytes under a flood of 100,000 distinct fragments, and recovers after it', () => {
    const cap = DEFAULT_REASSEMBLY_CONFIG.maxBytes;
    const { stats, r, feed } = setup({ maxDatagrams: 1_000_000 });
    const data = bytes(1480);
    const packet = new Uint8Array(20 + 1480);
    let peak = 0;
    for (let i = 0; i < 100_000; i++) {
      const ip = new Ipv4Repr({ src: Ipv4Address.fromNumber(0x0a000000 + (i >>> 16)), dst: B, protocol: 17, ident: i & 0xffff, fragmentOffset: 1480 * (i % 7), moreFragments: true, payloadLen: 1480 });
      r.add(ip, packet, data, i);
      peak = Math.max(peak, r.bytesHeld);
    }
    expect(peak).toBeLessThanOrEqual(cap);
    expect(peak).toBeGreaterThan(cap - 1544);
    expect(stats.dropped['frag-evicted']).toBe(100_000 - r.datagramsHeld);
    const legit = bytes(4000);
    expect(feed(shuffled(fragmentsOf(legit, 1500, { src: C }), 5), 100_000).at(-1)?.payload).toEqual(legit);
  });

  it('evicts the oldest datagram first, and drops a fragment that cannot fit even alone', () => {
    const { stats, r, feed } = setup({ maxBytes: 4 * (1480 + 64) });
    const olds = [1, 2, 3].map((ident) => fragmentsOf(bytes(3000), 1500, { ident }));
    feed([olds[0][0], olds[0][1], olds[1][0], olds[2][0]]);
    expect(r.bytesHeld).toBe(4 * 1544);
    feed([olds[1][1]]); // evicts ident 1, the oldest
    expect(stats.dropped['frag-evicted']).toBe(1);
    expect(feed([olds[1][2]])[0]?.payload).toEqual(bytes(3000));
    expect(feed([olds[0][2]])).toEqual([undefined]); // its datagram is gone
    expect(feed([piece(0, bytes(8000), true, { ident: 50 })])).toEqual([undefined]);
    expect(stats.dropped['frag-memory']).toBe(1);
    expect(r.bytesHeld).toBeLessThanOrEqual(4 * 1544);
  });

  it('drops a fragment whose own datagram fills the cap, keeping the datagram', () => {
    const { stats, r, feed } = setup({ maxBytes: 2 * 1544 + 100 });
    const frags = fragmentsOf(bytes(4000), 1500);
    feed([frags[0], frags[1]]);
    feed([frags[2]]); // 1040 + 64 more does not fit, and there is nothing else to evict
    expect(stats.dropped).toEqual({ 'frag-memory': 1 });
    expect(r.bytesHeld).toBe(2 * 1544);
  });

  it('holds at most maxDatagrams, evicting the oldest for a new one', () => {
    const { stats, r, feed } = setup({ maxDatagrams: 3 });
    const frags = [1, 2, 3, 4].map((ident) => fragmentsOf(bytes(3000), 1500, { ident }));
    feed(frags.map((f) => f[0]));
    expect(r.datagramsHeld).toBe(3);
    expect(stats.dropped).toEqual({ 'frag-evicted': 1 });
    expect(feed(frags[1].slice(1)).at(-1)?.payload).toEqual(bytes(3000));
    expect(feed(frags[0].slice(1))).toEqual([undefined, undefined]);
  });

  it('bounds a flood of fragments into one datagram by maxFragments', () => {
    const { stats, r, feed } = setup();
    feed(Array.from({ length: 1000 }, (_, i) => piece(i * 8, bytes(8, i), true)));
    expect(stats.dropped['frag-too-many']).toBe(1);
    expect(stats.dropped['frag-discarded']).toBe(1000 - 65);
    expect(r.bytesHeld).toBe(0);
  });
});
