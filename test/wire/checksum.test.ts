import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt, type Random } from '../../lib/random';
import {
  checksumIsValid,
  fold,
  internetChecksum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sum16,
  updateChecksum,
} from '../../lib/wire/checksum';
import { Ipv4Address, Ipv6Address } from '../../lib/wire/address';
import { fromHex, referenceChecksum } from './fixtures/fields';
import { GOLDEN } from './fixtures/golden';

function randomBytes(random: Random, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = random.u32() & 0xff;
  return b;
}

describe('RFC 1071', () => {
  // RFC 1071 §3, "Numerical Examples": bytes 00 01 f2 03 f4 f5 f6 f7.
  const example = fromHex('0001f203f4f5f6f7');

  it('§3 worked example: the sum is 2ddf0, folded ddf2, so the checksum is 220d', () => {
    // sum16 may fold carries early (to stay exact); it is the same sum modulo 0xffff.
    expect(sum16(example, 0, 8) % 0xffff).toBe(0x2ddf0 % 0xffff);
    expect(fold(sum16(example, 0, 8))).toBe(0xddf2);
    expect(internetChecksum(example, 0, 8)).toBe(0x220d);
  });

  it('§2(B) byte-order independence: swapped bytes sum to the swapped result', () => {
    const swapped = fromHex('0100 03f2 f5f4 f7f6');
    expect(fold(sum16(swapped, 0, 8))).toBe(0xf2dd);
  });

  it('§2 the checksum, stored in the data, makes the whole sum all ones', () => {
    const data = new Uint8Array(10);
    data.set(example);
    data[8] = 0x22;
    data[9] = 0x0d;
    expect(fold(sum16(data, 0, 10))).toBe(0xffff);
    expect(checksumIsValid(data, 0, 10)).toBe(true);
    data[9] ^= 1;
    expect(checksumIsValid(data, 0, 10)).toBe(false);
  });

  it('§4.1 an odd length is padded with a zero byte at the end', () => {
    expect(sum16(fromHex('ab'), 0, 1)).toBe(0xab00);
    expect(sum16(fromHex('abcdef'), 0, 3)).toBe(0xabcd + 0xef00);
    expect(internetChecksum(fromHex('abcdef'), 0, 3)).toBe(~fold(0xabcd + 0xef00) & 0xffff);
    expect(sum16(new Uint8Array(0), 0, 0)).toBe(0);
    expect(internetChecksum(new Uint8Array(0), 0, 0)).toBe(0xffff);
  });

  it('agrees with an independent sum for every length 0..200 at even and odd starts', () => {
    const random = new SeededRandom(1071);
    const buf = randomBytes(random, 260);
    for (let len = 0; len <= 200; len++) {
      for (const start of [0, 1, 7, 50]) {
        expect(internetChecksum(buf, start, start + len)).toBe(referenceChecksum(buf.subarray(start, start + len)));
      }
    }
  });

  it('stays exact over a 300,000-byte range of 0xff (the sum passes 2^32 before folding)', () => {
    const big = new Uint8Array(300_001).fill(0xff);
    expect(internetChecksum(big, 0, big.length)).toBe(referenceChecksum(big));
    expect(fold(sum16(big, 0, 300_000))).toBe(0xffff);
  });

  it("validates the kernel's checksums in the golden frames", () => {
    const frame = GOLDEN.echoRequestRecordRoute;
    expect(checksumIsValid(frame, 14, 14 + 60)).toBe(true);
    expect(checksumIsValid(frame, 74, frame.length)).toBe(true);
    expect(checksumIsValid(GOLDEN.badIpChecksum, 14, 34)).toBe(false);
  });

  it('chains ranges through the accumulator: even-length pieces give the sum of the whole', () => {
    const random = new SeededRandom(7);
    const buf = randomBytes(random, 101);
    const whole = internetChecksum(buf, 0, 101);
    expect(internetChecksum(buf, 40, 101, sum16(buf, 0, 40))).toBe(whole);
    expect(internetChecksum(buf, 60, 101, sum16(buf, 20, 60, sum16(buf, 0, 20)))).toBe(whole);
  });
});

describe('the word-at-a-time sum', () => {
  it('equals the byte-wise RFC 1071 sum for every length, alignment and chained accumulator', () => {
    const random = new SeededRandom(1071);
    for (let t = 0; t < 3000; t++) {
      const length = uniformInt(random, 0, 3000);
      const align = uniformInt(random, 0, 7);
      const buf = new Uint8Array(new ArrayBuffer(length + 8), align, length);
      for (let i = 0; i < length; i++) buf[i] = random.u32() & 0xff;
      const start = Math.min(length, uniformInt(random, 0, 5));
      const end = Math.max(start, length - uniformInt(random, 0, 5));
      expect(internetChecksum(buf, start, end), `length ${length} align ${align} [${start}, ${end})`).toBe(referenceChecksum(buf.subarray(start, end)));
    }
  });
});

describe('pseudo-header sums', () => {
  it('IPv4 (RFC 768): a UDP checksum chained from the pseudo-header equals one over explicit bytes', () => {
    const src = Ipv4Address.parse('192.0.2.1');
    const dst = Ipv4Address.parse('198.51.100.250');
    // UDP 5353 -> 53, length 13, checksum 0, data "hello".
    const udp = fromHex('14e9 0035 000d 0000 68656c6c6f');
    const chained = internetChecksum(udp, 0, udp.length, pseudoHeaderSumV4(src.value, dst.value, 17, udp.length));
    const explicit = fromHex('c0000201 c63364fa 00 11 000d' + '14e9 0035 000d 0000 68656c6c6f');
    expect(chained).toBe(referenceChecksum(explicit));
    // With the checksum stored, the whole datagram verifies against the same pseudo-header.
    udp[6] = chained >> 8;
    udp[7] = chained & 0xff;
    expect(checksumIsValid(udp, 0, udp.length, pseudoHeaderSumV4(src.value, dst.value, 17, udp.length))).toBe(true);
  });

  it('IPv4: high addresses (signed 32-bit trouble) sum as unsigned', () => {
    const src = Ipv4Address.parse('255.255.255.255');
    const dst = Ipv4Address.parse('224.0.0.251');
    expect(pseudoHeaderSumV4(src.value, dst.value, 17, 8)).toBe(0xffff + 0xffff + 0xe000 + 0x00fb + 17 + 8);
  });

  it('IPv6 (RFC 8200 §8.1): 32-bit length and next header, chained, equal explicit bytes', () => {
    const src = Ipv6Address.parse('2001:db8::1');
    const dst = Ipv6Address.parse('fe80::abcd:1234');
    const payload = fromHex('80000000 0001 0002 ff');
    const length = 0x1_0009; // past 16 bits (a jumbogram) to exercise the upper half
    const chained = internetChecksum(payload, 0, payload.length, pseudoHeaderSumV6(src.bytes, dst.bytes, 58, length));
    const explicit = new Uint8Array(40 + payload.length);
    explicit.set(src.bytes, 0);
    explicit.set(dst.bytes, 16);
    explicit.set([0x00, 0x01, 0x00, 0x09, 0, 0, 0, 58], 32);
    explicit.set(payload, 40);
    expect(chained).toBe(referenceChecksum(explicit));
  });
});

describe('RFC 1624 incremental update', () => {
  it('§4 example: m 5555 -> 3285 under HC dd2f gives 0000 (eqn. 3, not the ffff of RFC 1141)', () => {
    expect(updateChecksum(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('equals a full recompute for 2,000 random edits of random headers', () => {
    const random = new SeededRandom(1624);
    for (let run = 0; run < 2000; run++) {
      const header = randomBytes(random, 2 * uniformInt(random, 3, 30));
      header[0] |= 1; // never all zero: a sum of zero has no valid checksum to update
      header[2] = header[3] = 0;
      const c = internetChecksum(header, 0, header.length);
      header[2] = c >> 8;
      header[3] = c & 0xff;
      // Change one word other than the checksum, sometimes to 0 or ffff (the edge cases).
      const at = 2 * (2 + uniformInt(random, 0, header.length / 2 - 3));
      const oldWord = (header[at] << 8) | header[at + 1];
      const pick = uniformInt(random, 0, 3);
      const newWord = pick === 0 ? 0 : pick === 1 ? 0xffff : random.u32() & 0xffff;
      header[at] = newWord >> 8;
      header[at + 1] = newWord & 0xff;
      const updated = updateChecksum(c, oldWord, newWord);
      header[2] = header[3] = 0;
      expect(updated).toBe(internetChecksum(header, 0, header.length));
    }
  });

  it('updates a golden IPv4 header whose TTL is decremented (as a router does, RFC 1812 §5.3.1)', () => {
    const header = GOLDEN.echoRequest.slice(14, 34);
    const old = (header[10] << 8) | header[11];
    const oldWord = (header[8] << 8) | header[9];
    header[8] -= 1;
    const updated = updateChecksum(old, oldWord, (header[8] << 8) | header[9]);
    header[10] = updated >> 8;
    header[11] = updated & 0xff;
    expect(checksumIsValid(header, 0, 20)).toBe(true);
    expect(updated).toBe(0x1455);
  });
});
