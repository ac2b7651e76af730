import { describe, expect, it } from 'vitest';
import { copiedOptions, fragmentIpv4 } from '../../lib/iface/ipv4-fragment';
import { Ipv4Reassembler } from '../../lib/iface/ipv4-reassembly';
import { SeededRandom, uniformInt } from '../../lib/random';
import { ProtocolCounters } from '../../lib/stats';
import { Ipv4Address } from '../../lib/wire/address';
import { checksumIsValid } from '../../lib/wire/checksum';
import { isDrop } from '../../lib/wire/drop';
import { Ipv4Packet, Ipv4Repr, type Ipv4ReprFields } from '../../lib/wire/ipv4';

const SRC = Ipv4Address.parse('10.0.0.1');
const DST = Ipv4Address.parse('10.0.0.2');
const LINK = 14;

function patterned(len: number, seed = 1): Uint8Array {
  const random = new SeededRandom(seed);
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) bytes[i] = random.u32() & 0xff;
  return bytes;
}

/** Byte equality without vitest's deep-equal, which is slow on 64 KiB arrays. */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function datagram(payload: Uint8Array, fields: Partial<Ipv4ReprFields> = {}): Ipv4Repr {
  return new Ipv4Repr({ src: SRC, dst: DST, protocol: 17, ident: 0x1234, ttl: 33, dscp: 10, ...fields, payloadLen: payload.length });
}

/** Parses a frame's IP part the way the receive path does, failing the test on a drop. */
function parseFrame(frame: Uint8Array, linkHeaderLen = LINK) {
  const packet = frame.subarray(linkHeaderLen);
  const pkt = Ipv4Packet.checked(packet);
  if (isDrop(pkt)) throw new Error(`fragment does not parse: ${pkt}`);
  const ip = Ipv4Repr.parse(pkt);
  if (isDrop(ip)) throw new Error(`fragment does not parse: ${ip}`);
  return { ip, pkt, packet, payload: pkt.payload };
}

/** Record Route (type 7, not copied) with one slot, Security (type 0x82, copied), a NOP: 19 bytes. */
const RECORD_ROUTE = [0x07, 7, 4, 0, 0, 0, 0];
const SECURITY = [0x82, 11, 0xf1, 0x35, 0, 0, 0, 0, 0, 0, 0];
const OPTIONS = Uint8Array.from([...RECORD_ROUTE, ...SECURITY, 0x01]);

describe('fragmentIpv4', () => {
  it('splits 4000 bytes at MTU 1500 into 3 fragments at 0/1480/2960 with MF on all but the last', () => {
    const payload = patterned(4000);
    const frames = fragmentIpv4(datagram(payload), payload, 1500, LINK);
    expect(frames.map((f) => f.length)).toEqual([LINK + 1500, LINK + 1500, LINK + 20 + 1040]);
    const parsed = frames.map((f) => parseFrame(f));
    expect(parsed.map((p) => p.ip.fragmentOffset)).toEqual([0, 1480, 2960]);
    expect(parsed.map((p) => p.ip.moreFragments)).toEqual([true, true, false]);
    expect(parsed.map((p) => p.ip.payloadLen)).toEqual([1480, 1480, 1040]);
    for (const [i, p] of parsed.entries()) {
      expect(checksumIsValid(p.packet, 0, 20)).toBe(true);
      expect(p.pkt.totalLength).toBe(p.packet.length);
      expect(p.ip).toMatchObject({ ident: 0x1234, ttl: 33, dscp: 10, protocol: 17, dontFragment: false });
      expect(p.ip.src.equals(SRC) && p.ip.dst.equals(DST)).toBe(true);
      expect(p.payload).toEqual(payload.subarray(p.ip.fragmentOffset, p.ip.fragmentOffset + p.ip.payloadLen));
      expect(frames[i].subarray(0, LINK).every((b) => b === 0)).toBe(true);
    }
  });

  it('rounds fragment data down to 8 bytes when the MTU is not 8-aligned after the header', () => {
    const payload = patterned(3000);
    // 1006 - 20 = 986 bytes of room: 984 per fragment.
    const parsed = fragmentIpv4(datagram(payload), payload, 1006, 0).map((f) => parseFrame(f, 0));
    expect(parsed.map((p) => [p.ip.fragmentOffset, p.ip.payloadLen])).toEqual([[0, 984], [984, 984], [1968, 984], [2952, 48]]);
    expect(parsed.every((p) => p.packet.length <= 1006)).toBe(true);
  });

  it('lets the last fragment use the whole room, 8-aligned or not', () => {
    const payload = patterned(984 + 986);
    const parsed = fragmentIpv4(datagram(payload), payload, 1006, 0).map((f) => parseFrame(f, 0));
    expect(parsed.map((p) => [p.ip.fragmentOffset, p.ip.payloadLen, p.ip.moreFragments])).toEqual([[0, 984, true], [984, 986, false]]);
    expect(parsed[1].packet.length).toBe(1006);
  });

  it('keeps every option in the first fragment and only the copied ones after it (RFC 791 §3.1)', () => {
    const payload = patterned(4000);
    const parsed = fragmentIpv4(datagram(payload, { options: OPTIONS }), payload, 1500, LINK).map((f) => parseFrame(f));
    // First header 20 + 20 (19 padded): 1460 of room, 1456 aligned. Later: 20 + 12: 1468, 1464 aligned.
    expect(parsed.map((p) => p.ip.fragmentOffset)).toEqual([0, 1456, 2920]);
    expect(parsed.map((p) => p.pkt.headerLen)).toEqual([40, 32, 32]);
    expect([...parsed[0].ip.options]).toEqual([...OPTIONS, 0]);
    for (const p of parsed.slice(1)) expect([...p.ip.options]).toEqual([...SECURITY, 0]);
    for (const p of parsed) expect(checksumIsValid(p.packet, 0, p.pkt.headerLen)).toBe(true);
  });

  it('re-fragments a fragment relative to its offset, the last piece keeping its MF', () => {
    const payload = patterned(1480);
    const ip = datagram(payload, { fragmentOffset: 1480, moreFragments: true });
    const parsed = fragmentIpv4(ip, payload, 576, 0).map((f) => parseFrame(f, 0));
    expect(parsed.map((p) => [p.ip.fragmentOffset, p.ip.payloadLen, p.ip.moreFragments])).toEqual([
      [1480, 552, true],
      [2032, 552, true],
      [2584, 376, true],
    ]);
  });

  it('returns one unfragmented frame when the datagram fits', () => {
    const payload = patterned(100);
    const [frame, ...rest] = fragmentIpv4(datagram(payload), payload, 1500, LINK);
    expect(rest).toEqual([]);
    const p = parseFrame(frame);
    expect([p.ip.fragmentOffset, p.ip.moreFragments, p.payload]).toEqual([0, false, payload]);
  });

  it('throws on the caller bugs: DF set, a payload of the wrong length, an MTU below header + 8', () => {
    const payload = patterned(2000);
    expect(() => fragmentIpv4(datagram(payload, { dontFragment: true }), payload, 1500, 0)).toThrow(RangeError);
    expect(() => fragmentIpv4(datagram(payload), payload.subarray(1), 1500, 0)).toThrow(RangeError);
    expect(() => fragmentIpv4(datagram(payload), payload, 27, 0)).toThrow(RangeError);
    expect(fragmentIpv4(datagram(payload), payload, 28, 0)).toHaveLength(250);
  });
});

describe('copiedOptions', () => {
  it.each([
    ['Record Route not copied, Security copied, NOP dropped', OPTIONS, SECURITY],
    ['Router Alert (0x94) copied, Timestamp (0x44) not', [0x44, 8, 5, 0, 0, 0, 0, 0, 0x94, 4, 0, 0], [0x94, 4, 0, 0]],
    ['nothing after EOL', [0x82, 3, 1, 0, 0x94, 4, 0, 0], [0x82, 3, 1]],
    ['NOPs only', [1, 1, 1, 1], []],
    ['a truncated option stops the walk', [0x82, 3, 1, 0x94, 9, 0], [0x82, 3, 1]],
    ['no options', [], []],
  ])('%s', (_name, options, expected) => {
    expect([...copiedOptions(Uint8Array.from(options))]).toEqual(expected);
  });
});

describe('fragment and reassemble round trip', () => {
  it('is byte-exact for seeded random sizes, MTUs, options and arrival orders', () => {
    const random = new SeededRandom(0xf4a9);
    for (let round = 0; round < 200; round++) {
      const withOptions = random.u32() % 3 === 0;
      const options = withOptions ? OPTIONS : undefined;
      const headerLen = withOptions ? 40 : 20;
      const size = round % 20 === 0 ? 0xffff - headerLen : uniformInt(random, 1, 20_000);
      const mtu = uniformInt(random, 68, 9000);
      const payload = patterned(size, round + 1);
      const ip = datagram(payload, { options, ident: round, ecn: 2 });
      const frames = fragmentIpv4(ip, payload, mtu, LINK);
      for (let i = frames.length - 1; i > 0; i--) {
        const j = uniformInt(random, 0, i);
        [frames[i], frames[j]] = [frames[j], frames[i]];
      }
      const stats = new ProtocolCounters();
      const reassembler = new Ipv4Reassembler(stats, { maxFragments: 2000, maxBytes: 1 << 28 });
      const results = frames.map((f, i) => {
        const p = parseFrame(f);
        return reassembler.add(p.ip, p.packet, p.payload, i);
      });
      const whole = results.at(-1);
      expect(results.slice(0, -1).every((r) => r === undefined), `round ${round}`).toBe(true);
      expect(sameBytes(whole?.payload, payload), `round ${round}: ${size} bytes at MTU ${mtu}`).toBe(true);
      expect(whole?.ip).toMatchObject({ ident: round, ttl: 33, dscp: 10, ecn: 2, payloadLen: size, moreFragments: false, fragmentOffset: 0 });
      expect([...whole!.ip.options]).toEqual(withOptions ? [...OPTIONS, 0] : []);
      expect(stats.droppedTotal).toBe(0);
      expect([reassembler.bytesHeld, reassembler.datagramsHeld]).toEqual([0, 0]);
    }
  });
});
