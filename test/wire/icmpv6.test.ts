/**
 * ICMPv6 (RFC 4443): echo and the four error messages, as the Linux kernel and iputils ping
 * put them on a veth, parsed field by field and re-emitted byte-exact, checksums included.
 *
 * Captured on 2026-11-23 (Linux 6.18, iputils 20221126) with
 *   ip netns exec A tcpdump -Z root -i v0 -U -w v0.pcap
 * in a lab of two namespaces joined by a veth pair, IPv6 on: A (v0, 02:00:00:00:00:01,
 * `ip -6 addr add fd00:200::1/64 dev v0`, then fd00:200::ff:fe00:1 by SLAAC from radvd) and
 * B (v1, 02:00:00:00:00:02, fd00:200::2/64 nodad, net.ipv6.conf.all.forwarding=1; a veth
 * d0 of MTU 1280 with `ip -6 route add fd00:300::/64 dev d0`). A routes fd00:300::/64 via
 * fd00:200::2. Each message is the ICMPv6 part of a frame (the IPv6 header stripped), with
 * the addresses its checksum covers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt, type Random } from '../../lib/random';
import { Ipv6Address } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import { ICMPV6_ERROR_MAX_INVOKING, ICMPV6_HEADER_LEN, Icmpv6Packet, Icmpv6Repr, Icmpv6Type } from '../../lib/wire/icmpv6';
import { a5, fromHex, hex, ok, referenceChecksum } from './fixtures/fields';

const A = Ipv6Address.parse('fd00:200::1');
const A_SLAAC = Ipv6Address.parse('fd00:200::ff:fe00:1');
const B = Ipv6Address.parse('fd00:200::2');

/** iputils ping's data: a 16-byte timeval of this run, then 0x10, 0x11, ... to 56 bytes. */
const PING_DATA_TAIL = Array.from({ length: 40 }, (_, i) => (0x10 + i).toString(16)).join('');
/** `ping -6 -s 1300 -p a5 -M do fd00:300::5` from A: the echo request that was too big. */
const BIG_ECHO_REQUEST = '8000ff753e0a0001631b046b000000006630080000000000' + 'a5'.repeat(1284);
const BIG_ECHO_IPV6_HEADER = '600188b1051c3a40fd00020000000000000000fffe000001fd000300000000000000000000000005';

interface Golden {
  command: string;
  src: Ipv6Address;
  dst: Ipv6Address;
  hex: string;
}

const GOLDEN = {
  /** A's echo request: ident 0x3cc9, seq 1, 56 bytes of data. */
  echoRequest: {
    command: 'ip netns exec A ping -6 -c 1 -W 2 fd00:200::2',
    src: A,
    dst: B,
    hex: '8000e7e23cc900015b1b046b00000000377a070000000000' + PING_DATA_TAIL,
  },
  /** B's kernel answers. */
  echoReply: {
    command: 'ip netns exec A ping -6 -c 1 -W 2 fd00:200::2',
    src: B,
    dst: A,
    hex: '8100e6e23cc900015b1b046b00000000377a070000000000' + PING_DATA_TAIL,
  },
  /** 8 bytes of data: no timestamp, 00..07 (sent towards a redirect, see ndp.test.ts). */
  echoRequestShort: {
    command: 'ip netns exec A ping -6 -c 1 -W 1 -s 8 fd00:400::1',
    src: A_SLAAC,
    dst: Ipv6Address.parse('fd00:400::1'),
    hex: '800036343e6c00010001020304050607',
  },
  /** B's kernel: port unreachable, quoting the UDP datagram "x\n" to port 9. */
  portUnreachable: {
    command: 'echo x | ip netns exec A socat - UDP6:[fd00:200::2]:9',
    src: B,
    dst: A_SLAAC,
    hex:
      '0104ff5e00000000600f634d000a1140fd00020000000000000000fffe000001fd000200000000000000000000000002' +
      'bb3a0009000afd1f780a',
  },
  /** B cannot forward 1348 bytes into d0 (MTU 1280): MTU 1280, then 1232 bytes of the packet. */
  packetTooBig: {
    command: 'ip netns exec A ping -6 -c 1 -W 2 -s 1300 -p a5 -M do fd00:300::5',
    src: B,
    dst: A_SLAAC,
    hex: '02005bb700000500' + BIG_ECHO_IPV6_HEADER + BIG_ECHO_REQUEST.slice(0, 2 * (1232 - 40)),
  },
  /** B: hop limit exceeded in transit, quoting the whole echo request (hop limit 1). */
  timeExceeded: {
    command: 'ip netns exec A ping -6 -c 1 -W 2 -t 1 fd00:300::5',
    src: B,
    dst: A_SLAAC,
    hex:
      '0300dcd600000000600188b100403a01fd00020000000000000000fffe000001fd000300000000000000000000000005' +
      '8000068b3e4c0001641b046b000000000d4c080000000000' +
      PING_DATA_TAIL,
  },
  /**
   * B: unrecognized option (code 2), pointer 42, for a packet sent from A through an
   * AF_PACKET socket: a Hop-by-Hop header (next header 59) holding option 0x87 (action
   * 10: discard and send Parameter Problem, RFC 8200 §4.2).
   */
  paramProblem: {
    command: "ip netns exec A python3 -c '<AF_PACKET send: IPv6 fd00:200::1 > fd00:200::2, HBH 3b00870400000000>'",
    src: B,
    dst: A,
    hex:
      '0402dd0a0000002a6000000000080040fd000200000000000000000000000001fd000200000000000000000000000002' +
      '3b00870400000000',
  },
} satisfies Record<string, Golden>;

type GoldenName = keyof typeof GOLDEN;

function fields(p: Icmpv6Packet | Icmpv6Repr) {
  return { type: p.type, code: p.code, restOfHeader: p.restOfHeader, payload: hex(p.payload) };
}

function emitted(repr: Icmpv6Repr, src: Ipv6Address, dst: Ipv6Address): Uint8Array {
  const out = a5(repr.bufferLen());
  repr.emit(out, 0, src, dst);
  return out;
}

/** An ICMPv6 checksum computed apart from lib/wire/checksum.ts: the RFC 8200 §8.1 pseudo-header, then the message. */
function referenceIcmpv6Checksum(src: Ipv6Address, dst: Ipv6Address, msg: Uint8Array): number {
  const all = new Uint8Array(40 + msg.length);
  all.set(src.bytes, 0);
  all.set(dst.bytes, 16);
  new DataView(all.buffer).setUint32(32, msg.length);
  all[39] = 58;
  all.set(msg, 40);
  all[42] = 0;
  all[43] = 0;
  return referenceChecksum(all);
}

describe('golden ICMPv6 messages', () => {
  const cases: Array<[GoldenName, number, number, number]> = [
    ['echoRequest', Icmpv6Type.EchoRequest, 0, 0x3cc9_0001],
    ['echoReply', Icmpv6Type.EchoReply, 0, 0x3cc9_0001],
    ['echoRequestShort', Icmpv6Type.EchoRequest, 0, 0x3e6c_0001],
    ['portUnreachable', Icmpv6Type.DestUnreachable, 4, 0],
    ['packetTooBig', Icmpv6Type.PacketTooBig, 0, 1280],
    ['timeExceeded', Icmpv6Type.TimeExceeded, 0, 0],
    ['paramProblem', Icmpv6Type.ParamProblem, 2, 42],
  ];

  it.each(cases)('%s: every field, the checksum, and re-emitted byte-exact', (name, type, code, restOfHeader) => {
    const g: Golden = GOLDEN[name];
    const bytes = fromHex(g.hex);
    const pkt = ok(Icmpv6Packet.checked(bytes));
    expect(fields(pkt)).toEqual({ type, code, restOfHeader, payload: g.hex.slice(16) });
    expect(pkt.checksum).toBe(referenceIcmpv6Checksum(g.src, g.dst, bytes));
    expect(hex(pkt.body)).toBe(g.hex.slice(8));
    expect(pkt.checksumIsValid(g.src, g.dst)).toBe(true);
    expect(pkt.checksumIsValid(g.dst, g.src)).toBe(true); // the pseudo-header sum is symmetric
    expect(pkt.checksumIsValid(g.src, Ipv6Address.ALL_NODES)).toBe(false);

    const repr = ok(Icmpv6Repr.parse(pkt, g.src, g.dst));
    expect(fields(repr)).toEqual(fields(pkt));
    expect(repr.isError).toBe(type < 128);
    expect(repr.bufferLen()).toBe(bytes.length);
    expect(hex(emitted(repr, g.src, g.dst))).toBe(g.hex);
  });

  it('echo: ident, sequence number and data; the reply built from the request is the kernel reply', () => {
    const request = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.checked(fromHex(GOLDEN.echoRequest.hex))), A, B));
    expect([request.ident, request.seqNo, request.payload.length]).toEqual([0x3cc9, 1, 56]);
    const reply = Icmpv6Repr.echoReply(request.ident, request.seqNo, request.payload);
    expect(hex(emitted(reply, B, A))).toBe(GOLDEN.echoReply.hex);
    const short = Icmpv6Repr.echoRequest(0x3e6c, 1, fromHex('0001020304050607'));
    expect(hex(emitted(short, A_SLAAC, GOLDEN.echoRequestShort.dst))).toBe(GOLDEN.echoRequestShort.hex);
  });

  it('errors built from the invoking packet match the kernel, cut to 1232 bytes (RFC 4443 §2.4 (c))', () => {
    const tooBig = fromHex(BIG_ECHO_IPV6_HEADER + BIG_ECHO_REQUEST);
    expect(tooBig.length).toBe(1348);
    // The echo request that was too big is a sound message too: its checksum, re-emitted.
    const request = Icmpv6Repr.echoRequest(0x3e0a, 1, fromHex(BIG_ECHO_REQUEST).subarray(8));
    expect(hex(emitted(request, A_SLAAC, Ipv6Address.parse('fd00:300::5')))).toBe(BIG_ECHO_REQUEST);

    const ptb = Icmpv6Repr.packetTooBig(1280, tooBig);
    expect(ICMPV6_ERROR_MAX_INVOKING).toBe(1232);
    expect([ptb.mtu, ptb.payload.length, ptb.bufferLen()]).toEqual([1280, 1232, 1240]);
    expect(hex(emitted(ptb, B, A_SLAAC))).toBe(GOLDEN.packetTooBig.hex);

    const quoted = (g: Golden) => fromHex(g.hex).subarray(ICMPV6_HEADER_LEN);
    const unreachable = Icmpv6Repr.destUnreachable(4, quoted(GOLDEN.portUnreachable));
    expect(hex(emitted(unreachable, B, A_SLAAC))).toBe(GOLDEN.portUnreachable.hex);
    const exceeded = Icmpv6Repr.timeExceeded(0, quoted(GOLDEN.timeExceeded));
    expect(hex(emitted(exceeded, B, A_SLAAC))).toBe(GOLDEN.timeExceeded.hex);
    const problem = Icmpv6Repr.paramProblem(2, 42, quoted(GOLDEN.paramProblem));
    expect(problem.pointer).toBe(42);
    expect(problem.payload[42]).toBe(0x87); // the pointer names the option type octet
    expect(hex(emitted(problem, B, A))).toBe(GOLDEN.paramProblem.hex);
  });
});

describe('construction into a buffer of 0xa5', () => {
  it('an echo request at an offset: every byte written, nothing outside it', () => {
    const repr = Icmpv6Repr.echoRequest(0xbeef, 0x1234, fromHex('0a0b0c'));
    const out = a5(3 + repr.bufferLen() + 3);
    repr.emit(out, 3, A, B);
    const msg = out.subarray(3, 3 + repr.bufferLen());
    expect(hex(out.subarray(0, 3)) + hex(out.subarray(out.length - 3))).toBe('a5'.repeat(6));
    const checksum = referenceIcmpv6Checksum(A, B, msg);
    expect(hex(msg)).toBe('8000' + checksum.toString(16).padStart(4, '0') + 'beef1234' + '0a0b0c');
    expect(ok(Icmpv6Packet.checked(msg)).checksumIsValid(A, B)).toBe(true);
  });

  it.each([
    ['destination unreachable', Icmpv6Repr.destUnreachable(3, fromHex('6000')), '0103', '00000000'],
    ['packet too big', Icmpv6Repr.packetTooBig(1500, fromHex('6000')), '0200', '000005dc'],
    ['time exceeded', Icmpv6Repr.timeExceeded(1, fromHex('6000')), '0301', '00000000'],
    ['parameter problem', Icmpv6Repr.paramProblem(0, 0x01020304, fromHex('6000')), '0400', '01020304'],
    ['echo reply', Icmpv6Repr.echoReply(1, 0xffff, fromHex('6000')), '8100', '0001ffff'],
    ['unknown type', new Icmpv6Repr({ type: 200, code: 7, restOfHeader: 0xffffffff, payload: fromHex('6000') }), 'c807', 'ffffffff'],
  ])('%s', (_name, repr, typeCode, rest) => {
    const out = emitted(repr, B, A);
    const checksum = referenceIcmpv6Checksum(B, A, out).toString(16).padStart(4, '0');
    expect(hex(out)).toBe(typeCode + checksum + rest + '6000');
  });

  it('an echo reply built in place over the request it answers', () => {
    const buf = fromHex(GOLDEN.echoRequest.hex);
    const request = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.checked(buf)), A, B));
    Icmpv6Repr.echoReply(request.ident, request.seqNo, request.payload).emit(buf, 0, B, A);
    expect(hex(buf)).toBe(GOLDEN.echoReply.hex);
  });
});

describe('malformed ICMPv6 messages are dropped with a reason', () => {
  const echo = GOLDEN.echoRequest.hex;
  const flip = (text: string, at: number) => {
    const b = fromHex(text);
    b[at] ^= 0x01;
    return hex(b);
  };
  it.each([
    ['empty', 'truncated', '', A, B],
    ['3 bytes', 'truncated', '800000', A, B],
    ['4 bytes: no 32-bit field', 'truncated', '80007fff', A, B],
    ['7 bytes', 'truncated', '8000000000000a', A, B],
    ['checksum off by one bit', 'bad-checksum', flip(echo, 3), A, B],
    ['a data byte changed', 'bad-checksum', flip(echo, 40), A, B],
    ['the last byte cut off', 'bad-checksum', echo.slice(0, -2), A, B],
    ['checked against another source', 'bad-checksum', echo, A_SLAAC, B],
    ['checked against another destination', 'bad-checksum', echo, A, Ipv6Address.ALL_NODES],
  ])('%s → %s', (_name, reason, text, src, dst) => {
    const pkt = Icmpv6Packet.checked(fromHex(text));
    const result = isDrop(pkt) ? pkt : Icmpv6Repr.parse(pkt, src, dst);
    expect(result).toBe(reason);
  });

  it('a 4-byte message is a view with no 32-bit field: restOfHeader 0, empty payload', () => {
    const pkt = ok(Icmpv6Packet.checked(fromHex('80007fff')));
    expect([pkt.type, pkt.code, pkt.checksum, pkt.restOfHeader, pkt.payload.length, pkt.body.length]).toEqual([128, 0, 0x7fff, 0, 0, 0]);
  });

  it('a bad checksum passes when verification is off (checksum offload)', () => {
    const pkt = ok(Icmpv6Packet.checked(fromHex(flip(echo, 3))));
    expect(fields(ok(Icmpv6Repr.parse(pkt, A, B, { verifyChecksum: false })))).toEqual(fields(pkt));
  });
});

describe('robustness: nothing throws, whatever the bytes', () => {
  const RUNS = 10_000;
  const goldens = Object.values(GOLDEN as Record<string, Golden>);

  function randomBytes(random: Random, len: number): Uint8Array {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = random.u32() & 0xff;
    return b;
  }

  /** Every getter, both parses; an accepted message re-emits byte-exact. Returns whether it was accepted. */
  function exercise(bytes: Uint8Array, src: Ipv6Address, dst: Ipv6Address): boolean {
    const pkt = Icmpv6Packet.checked(bytes);
    if (isDrop(pkt)) {
      expect(bytes.length).toBeLessThan(4);
      return false;
    }
    fields(pkt);
    expect(pkt.body.length + 4).toBe(bytes.length);
    const unverified = Icmpv6Repr.parse(pkt, src, dst, { verifyChecksum: false });
    expect(isDrop(unverified)).toBe(bytes.length < ICMPV6_HEADER_LEN);
    const repr = Icmpv6Repr.parse(pkt, src, dst);
    if (isDrop(repr)) return false;
    // Byte-exact but for the checksum: 0x0000 and 0xffff are the same one's complement sum.
    const out = emitted(repr, src, dst);
    expect(hex(out.subarray(0, 2)) + hex(out.subarray(4))).toBe(hex(bytes.subarray(0, 2)) + hex(bytes.subarray(4)));
    expect(ok(Icmpv6Packet.checked(out)).checksumIsValid(src, dst)).toBe(true);
    return true;
  }

  it(`${RUNS} random buffers of 0..80 bytes`, () => {
    const random = new SeededRandom(0x1c6);
    for (let i = 0; i < RUNS; i++) {
      const bytes = randomBytes(random, uniformInt(random, 0, 80));
      try {
        exercise(bytes, A, B);
      } catch (err) {
        throw new Error(`run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
  });

  it(`${RUNS} golden messages with 1 to 4 bits flipped`, () => {
    const random = new SeededRandom(0xf11b6);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const g = goldens[i % goldens.length];
      const bytes = fromHex(g.hex);
      const flips = uniformInt(random, 1, 4);
      for (let f = 0; f < flips; f++) bytes[uniformInt(random, 0, bytes.length - 1)] ^= 1 << uniformInt(random, 0, 7);
      try {
        if (exercise(bytes, g.src, g.dst)) accepted++;
      } catch (err) {
        throw new Error(`run ${i}, bytes ${hex(bytes)}: ${String(err)}`);
      }
    }
    // Flips that cancel out (the same bit twice) leave a sound message: the accepting path ran.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(RUNS / 4);
  });
});
