import { describe, expect, it } from 'vitest';
import { fragmentIpv6, lastHeaderOffset } from '../../lib/iface/ipv6-fragment';
import { Ipv6Reassembler } from '../../lib/iface/ipv6-reassembly';
import { SeededRandom, uniformInt } from '../../lib/random';
import { ProtocolCounters } from '../../lib/stats';
import { Ipv6Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { Ipv6NextHeader, Ipv6Packet, Ipv6Repr } from '../../lib/wire/ipv6';
import { hopByHopRouterAlert, isChainError, walkIpv6Chain, type Ipv6Chain } from '../../lib/wire/ipv6-ext';
import { fromHex, hex } from '../wire/fixtures/fields';

const A = Ipv6Address.parse('fd00::1');
const B = Ipv6Address.parse('fd00::2');

/**
 * `ping -6 -c 1 -s 3000 fd00::2` from namespace A to B over a veth of MTU 1500 (the lab of
 * test/wire/ipv6.test.ts, captured 2026-11-23, Linux 6.18): A's kernel sent three fragments and
 * B's kernel answered with three. Each frame is its 62 bytes of Ethernet, IPv6 and fragment
 * headers as captured, then its slice of the ICMPv6 message: the 8-byte header and iputils'
 * 16-byte timestamp as captured, then data bytes i & 0xff (i from 16), which the capture holds.
 */
function pingMessage(head: string): Uint8Array {
  const icmp = new Uint8Array(3008);
  icmp.set(fromHex(head));
  for (let i = 16; i < 3000; i++) icmp[8 + i] = i & 0xff;
  return icmp;
}

const PING_3000 = {
  request: {
    icmp: pingMessage('8000d68f17240001d219046b00000000d318030000000000'),
    ident: 0x8598590b,
    flowLabel: 0x92d64,
    src: A,
    dst: B,
    headers: [
      '02000000000202000000000186dd60092d6405b02c40fd000000000000000000000000000001fd0000000000000000000000000000023a0000018598590b',
      '02000000000202000000000186dd60092d6405b02c40fd000000000000000000000000000001fd0000000000000000000000000000023a0005a98598590b',
      '02000000000202000000000186dd60092d6400782c40fd000000000000000000000000000001fd0000000000000000000000000000023a000b508598590b',
    ],
  },
  reply: {
    icmp: pingMessage('8100d58f17240001d219046b00000000d318030000000000'),
    ident: 0x53dd4ea7,
    flowLabel: 0x3eb72,
    src: B,
    dst: A,
    headers: [
      '02000000000102000000000286dd6003eb7205b02c40fd000000000000000000000000000002fd0000000000000000000000000000013a00000153dd4ea7',
      '02000000000102000000000286dd6003eb7205b02c40fd000000000000000000000000000002fd0000000000000000000000000000013a0005a953dd4ea7',
      '02000000000102000000000286dd6003eb7200782c40fd000000000000000000000000000002fd0000000000000000000000000000013a000b5053dd4ea7',
    ],
  },
};

/** The captured frames: headers, then 1448, 1448 and 112 bytes of the message. */
function capturedFrames(p: (typeof PING_3000)['request']): Uint8Array[] {
  const slices = [[0, 1448], [1448, 2896], [2896, 3008]];
  return p.headers.map((h, i) => Uint8Array.from([...fromHex(h), ...p.icmp.subarray(slices[i][0], slices[i][1])]));
}

function bytes(len: number, seed: number): Uint8Array {
  const random = new SeededRandom(seed);
  return Uint8Array.from({ length: len }, () => random.u32() & 0xff);
}

function chainOf(frame: Uint8Array, linkHeaderLen: number): { pkt: Ipv6Packet; chain: Ipv6Chain } {
  const pkt = Ipv6Packet.checked(frame.subarray(linkHeaderLen));
  if (isDrop(pkt)) throw new Error(pkt);
  const chain = walkIpv6Chain(pkt.nextHeader, pkt.payload);
  if (isChainError(chain)) throw new Error(chain.reason);
  return { pkt, chain };
}

describe('fragmentIpv6: golden, as Linux fragments', () => {
  it.each(['request', 'reply'] as const)('the ping %s of 3008 bytes at MTU 1500 gives the kernel\'s three frames byte-exact', (which) => {
    const p = PING_3000[which];
    const ip = new Ipv6Repr({ src: p.src, dst: p.dst, nextHeader: Ipv6NextHeader.Icmpv6, payloadLen: 3008, flowLabel: p.flowLabel });
    const frames = fragmentIpv6(ip, new Uint8Array(0), p.icmp, Ipv6NextHeader.Icmpv6, 1500, 14, p.ident);
    const captured = capturedFrames(p);
    expect(frames.map((f) => f.length)).toEqual([1510, 1510, 174]);
    frames.forEach((f, i) => {
      expect(hex(f.subarray(0, 14))).toBe('00'.repeat(14)); // the link layer's to fill
      expect(hex(f.subarray(14))).toBe(hex(captured[i].subarray(14)));
    });
  });
});

describe('fragmentIpv6: the unfragmentable part', () => {
  // Hop-by-Hop (Router Alert), Destination Options, Routing with Segments Left 0: RFC 8200 §4.5's unfragmentable part.
  const hbh = hopByHopRouterAlert(Ipv6NextHeader.DestinationOptions, 0);
  const dest = Uint8Array.from([Ipv6NextHeader.Routing, 0, 1, 4, 0, 0, 0, 0]);
  const routing = Uint8Array.from([Ipv6NextHeader.Udp, 2, 0, 0, 0, 0, 0, 0, ...new Uint8Array(16)]);
  const unfragmentable = Uint8Array.from([...hbh, ...dest, ...routing]);
  const data = bytes(4000, 3);
  const ip = new Ipv6Repr({ src: A, dst: B, nextHeader: Ipv6NextHeader.HopByHop, payloadLen: 0, hopLimit: 1, trafficClass: 0xb8 });
  const frames = fragmentIpv6(ip, unfragmentable, data, Ipv6NextHeader.Udp, 1280, 0, 77);

  it('is in every fragment, its last Next Header rewritten to Fragment, and the caller\'s bytes untouched', () => {
    expect(frames).toHaveLength(4);
    for (const f of frames) {
      expect(f.length).toBeLessThanOrEqual(1280);
      const { pkt, chain } = chainOf(f, 0);
      expect([pkt.nextHeader, pkt.hopLimit, pkt.trafficClass]).toEqual([0, 1, 0xb8]);
      expect(chain.headers).toEqual([0, 60, 43, 44]);
      expect(chain.routerAlert).toBe(0);
      expect(pkt.payload.subarray(0, 40)).toEqual(Uint8Array.from([...hbh, ...dest, 44, ...routing.subarray(1)]));
      expect(chain.fragment).toMatchObject({ nextHeader: Ipv6NextHeader.Udp, ident: 77, headerOffset: 40 });
    }
    expect(unfragmentable[16]).toBe(Ipv6NextHeader.Udp);
  });

  it('sends 8-byte multiples but in the last, contiguous, with M on all but the last', () => {
    const pieces = frames.map((f) => chainOf(f, 0));
    expect(pieces.map((p) => [p.chain.fragment!.offset, p.chain.fragment!.moreFragments, p.pkt.payload.length - 48])).toEqual([
      [0, true, 1192], // 1280 - 40 (IPv6) - 40 (unfragmentable) - 8 (fragment header)
      [1192, true, 1192],
      [2384, true, 1192],
      [3576, false, 424],
    ]);
    expect(Uint8Array.from(pieces.flatMap((p) => [...p.pkt.payload.subarray(48)]))).toEqual(data);
  });

  it('names the fragment header in the IPv6 header when there is no unfragmentable part', () => {
    const [f] = fragmentIpv6(ip, new Uint8Array(0), bytes(100, 1), 6, 1280, 4, 1);
    expect(f[4 + 6]).toBe(Ipv6NextHeader.Fragment);
    expect(chainOf(f, 4).chain).toMatchObject({ headers: [44], fragment: { offset: 0, moreFragments: false, nextHeader: 6 } });
  });

  it('carries 65535 bytes of payload at the minimum MTU, the last offset 65528 at most', () => {
    const max = fragmentIpv6(ip, unfragmentable, bytes(65535 - 40, 4), 17, 1280, 0, 9);
    const last = chainOf(max.at(-1)!, 0);
    expect(last.chain.fragment!.offset + last.pkt.payload.length - 48).toBe(65495);
    expect(last.chain.fragment!.offset).toBeLessThanOrEqual(65528);
  });
});

describe('fragmentIpv6: caller bugs throw a RangeError', () => {
  const ip = new Ipv6Repr({ src: A, dst: B, nextHeader: 0, payloadLen: 0 });
  it.each([
    ['an MTU under 1280 (RFC 8201 §4)', new Uint8Array(0), 100, 1279],
    ['a payload over 65535 bytes', new Uint8Array(0), 65536, 1500],
    ['headers that leave no room for 8 bytes', Uint8Array.from({ length: 1232 }, (_, i) => (i % 8 === 1 ? 0 : 60)) /* 154 empty Destination Options headers */, 100, 1280],
    ['unfragmentable bytes that do not end on a header', Uint8Array.from([60, 1, 0, 0, 0, 0, 0, 0]), 100, 1280],
    ['a one-byte unfragmentable part', Uint8Array.from([60]), 100, 1280],
  ])('%s', (_name, unfragmentable, len, mtu) => {
    expect(() => fragmentIpv6(ip, unfragmentable, new Uint8Array(len), 17, mtu, 0, 1)).toThrow(RangeError);
  });

  it('lastHeaderOffset finds the last of a header sequence', () => {
    expect(lastHeaderOffset(new Uint8Array(0))).toBeUndefined();
    expect(lastHeaderOffset(Uint8Array.from([60, 1, ...new Uint8Array(14), 43, 0, 0, 0, 0, 0, 0, 0]))).toBe(16);
  });
});

describe('fragmentIpv6: random round trips through the reassembler', () => {
  it('500 random payloads, MTUs, unfragmentable parts and link headers come back whole', () => {
    const random = new SeededRandom(1280);
    for (let n = 0; n < 500; n++) {
      const headerCount = uniformInt(random, 0, 3);
      const headers: number[][] = [];
      for (let i = 0; i < headerCount; i++) {
        const units = uniformInt(random, 0, 3);
        headers.push([0, units, 1, units * 8 + 4, ...new Uint8Array(units * 8 + 4)]);
      }
      const types = headers.map((_, i) => (i === 0 ? 0 : 60));
      headers.forEach((h, i) => (h[0] = types[i + 1] ?? 44));
      const unfragmentable = Uint8Array.from(headers.flat());
      const data = bytes(uniformInt(random, 0, 65535 - unfragmentable.length), n);
      const mtu = uniformInt(random, 1280, 9000);
      const link = uniformInt(random, 0, 18);
      const ip = new Ipv6Repr({ src: A, dst: B, nextHeader: types[0] ?? 0, payloadLen: 0, flowLabel: n });
      const frames = fragmentIpv6(ip, unfragmentable, data, 17, mtu, link, n);
      const r = new Ipv6Reassembler(new ProtocolCounters(), { maxFragments: 1000 });
      let done;
      for (const f of frames.reverse()) {
        expect(f.length).toBeLessThanOrEqual(link + mtu);
        const { pkt, chain } = chainOf(f, link);
        const frag = chain.fragment!;
        if (frag.moreFragments) expect((pkt.payload.length - frag.headerOffset - 8) % 8).toBe(0);
        const ipf = Ipv6Repr.parse(pkt) as Ipv6Repr;
        done = r.add(ipf, f.subarray(link), frag, pkt.payload.subarray(frag.headerOffset + 8), pkt.payload.subarray(0, frag.headerOffset), 0);
      }
      const expectedUnfrag = Uint8Array.from(unfragmentable);
      if (headerCount > 0) expectedUnfrag[unfragmentable.length - headers.at(-1)!.length] = 17;
      expect(done).toMatchObject({ ip: { nextHeader: types[0] ?? 17, payloadLen: unfragmentable.length + data.length, flowLabel: n } });
      expect(hex((done as { payload: Uint8Array }).payload)).toBe(hex(Uint8Array.from([...expectedUnfrag, ...data])));
      expect(r.bytesHeld).toBe(0);
    }
  });
});
