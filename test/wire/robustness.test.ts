/**
 * Property-style checks with a seeded generator (the same run every time): random bytes
 * and bit-flipped golden frames go through every `checked`, every getter of an accepted
 * view, every `parse` and `describeFrame`. Nothing may throw, an accepted view never
 * announces more than its buffer holds, and whatever a repr accepts it emits back.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt, type Random } from '../../lib/random';
import { checksumIsValid } from '../../lib/wire/checksum';
import { ArpPacket, ArpRepr } from '../../lib/wire/arp';
import { describeFrame } from '../../lib/wire/describe';
import { isDrop } from '../../lib/wire/drop';
import { EthernetFrame, EthernetRepr } from '../../lib/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr } from '../../lib/wire/icmpv4';
import { Ipv4Packet, Ipv4Repr } from '../../lib/wire/ipv4';
import { arpPacketFields, ethernetFields, hex, icmpv4PacketFields, ipv4PacketFields } from './fixtures/fields';
import { GOLDEN } from './fixtures/golden';

const RUNS = 10_000;

/** What the run saw, so the test can show it exercised the accepting paths too. */
interface Tally {
  accepted: Record<'ethernet' | 'arp' | 'ipv4' | 'icmpv4', number>;
}

function randomBytes(random: Random, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = random.u32() & 0xff;
  return b;
}

/** Emits `repr` into a fresh 0xa5 buffer of its own length. */
function reEmitted(repr: { bufferLen(): number; emit(buf: Uint8Array, offset?: number): void }): Uint8Array {
  const out = new Uint8Array(repr.bufferLen()).fill(0xa5);
  repr.emit(out, 0);
  return out;
}

/** `bytes` without the 16-bit checksum at `at`: 0x0000 and 0xffff are the same one's complement sum. */
function withoutChecksum(bytes: Uint8Array, at: number): string {
  return hex(bytes.subarray(0, at)) + hex(bytes.subarray(at + 2));
}

/** Runs one buffer through every layer's parser as if it were that layer's bytes. */
function exerciseLayers(bytes: Uint8Array, tally: Tally): void {
  const frame = EthernetFrame.checked(bytes);
  if (!isDrop(frame)) {
    ethernetFields(frame);
    expect(frame.payload.length).toBe(bytes.length - 14);
    const eth = EthernetRepr.parse(frame);
    if (!isDrop(eth)) {
      tally.accepted.ethernet++;
      expect(hex(reEmitted(eth))).toBe(hex(bytes.subarray(0, 14)));
    }
  }

  const arpPkt = ArpPacket.checked(bytes);
  if (!isDrop(arpPkt)) {
    arpPacketFields(arpPkt);
    const arp = ArpRepr.parse(arpPkt);
    if (!isDrop(arp)) {
      tally.accepted.arp++;
      expect(hex(reEmitted(arp))).toBe(hex(bytes.subarray(0, 28)));
    }
  }

  const ipPkt = Ipv4Packet.checked(bytes);
  if (!isDrop(ipPkt)) {
    const f = ipv4PacketFields(ipPkt);
    expect(f.headerLen).toBeGreaterThanOrEqual(20);
    expect(f.headerLen).toBeLessThanOrEqual(f.totalLength);
    expect(f.totalLength).toBeLessThanOrEqual(bytes.length);
    expect(f.payloadLen).toBe(f.totalLength - f.headerLen);
    const unverified = Ipv4Repr.parse(ipPkt, { verifyChecksum: false });
    expect(unverified instanceof Ipv4Repr || unverified === 'bad-options').toBe(true);
    const ip = Ipv4Repr.parse(ipPkt);
    if (!isDrop(ip)) {
      tally.accepted.ipv4++;
      const out = reEmitted(ip);
      // The header comes back as received, but for the reserved flag bit, which the repr
      // ignores (RFC 791 "must be zero"), and the checksum, which is recomputed.
      const received = bytes.slice(0, f.headerLen);
      received[6] &= 0x7f;
      expect(checksumIsValid(out, 0, out.length)).toBe(true);
      expect(withoutChecksum(out, 10)).toBe(withoutChecksum(received, 10));
    }
  }

  const icmpPkt = Icmpv4Packet.checked(bytes);
  if (!isDrop(icmpPkt)) {
    icmpv4PacketFields(icmpPkt);
    const icmp = Icmpv4Repr.parse(icmpPkt);
    if (!isDrop(icmp)) {
      tally.accepted.icmpv4++;
      const out = reEmitted(icmp);
      expect(checksumIsValid(out, 0, out.length)).toBe(true);
      expect(withoutChecksum(out, 2)).toBe(withoutChecksum(bytes, 2));
    }
  }
}

/** A buffer as a frame, its Ethernet payload and, inside a sound IPv4 packet, its IP payload. */
function exercise(bytes: Uint8Array, tally: Tally): void {
  exerciseLayers(bytes, tally);
  if (bytes.length > 14) {
    const inner = bytes.subarray(14);
    exerciseLayers(inner, tally);
    const ip = Ipv4Packet.checked(inner);
    if (!isDrop(ip) && !isDrop(Ipv4Repr.parse(ip))) exerciseLayers(ip.payload, tally);
  }
  expect(describeFrame(bytes, 'ethernet')).toBeTypeOf('string');
  expect(describeFrame(bytes, 'ip')).toBeTypeOf('string');
}

function newTally(): Tally {
  return { accepted: { ethernet: 0, arp: 0, ipv4: 0, icmpv4: 0 } };
}

describe('robustness: nothing throws, whatever the bytes', () => {
  it(`${RUNS} random buffers of 0..100 bytes`, () => {
    const random = new SeededRandom(0x5eed);
    const tally = newTally();
    for (let i = 0; i < RUNS; i++) {
      const bytes = randomBytes(random, uniformInt(random, 0, 100));
      try {
        exercise(bytes, tally);
      } catch (err) {
        throw new Error(`run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
    // Random bytes rarely make a sound IPv4 header; Ethernet acceptance shows the checks ran.
    expect(tally.accepted.ethernet).toBeGreaterThan(RUNS / 2);
  });

  it(`${RUNS} golden frames with 1 to 4 bits flipped`, () => {
    const random = new SeededRandom(0xf11b);
    const golden = Object.values(GOLDEN);
    const tally = newTally();
    for (let i = 0; i < RUNS; i++) {
      const bytes = golden[i % golden.length].slice();
      const flips = uniformInt(random, 1, 4);
      for (let k = 0; k < flips; k++) bytes[uniformInt(random, 0, bytes.length - 1)] ^= 1 << uniformInt(random, 0, 7);
      try {
        exercise(bytes, tally);
      } catch (err) {
        throw new Error(`run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
    // Most flips miss a given header: every layer's accepting path ran many times.
    expect(tally.accepted.arp).toBeGreaterThan(RUNS / 20);
    expect(tally.accepted.ipv4).toBeGreaterThan(RUNS / 5);
    expect(tally.accepted.icmpv4).toBeGreaterThan(RUNS / 20);
  });
});
