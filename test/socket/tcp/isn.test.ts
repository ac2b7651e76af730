import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../lib/random';
import { IsnGenerator } from '../../../lib/socket/tcp/isn';
import type { TcpFourTuple } from '../../../lib/socket/tcp/types';
import { Ipv4Address, Ipv6Address } from '../../../lib/wire/address';

const v4 = (a: string) => Ipv4Address.parse(a);

function tuple(localPort = 50000, remotePort = 80, remote = '10.0.0.1'): TcpFourTuple {
  return { local: { address: v4('10.0.0.2'), port: localPort }, remote: { address: v4(remote), port: remotePort } };
}

describe('initial sequence numbers (RFC 6528)', () => {
  it('move forward with a 4 µs clock: 250 per millisecond, for the same 4-tuple', () => {
    const isn = new IsnGenerator(new SeededRandom(1));
    const t = tuple();
    const at0 = isn.next(t, 1_000);
    expect(isn.next(t, 1_000)).toBe(at0);
    expect((isn.next(t, 1_001) - at0) >>> 0).toBe(250);
    expect((isn.next(t, 2_000) - at0) >>> 0).toBe(250_000);
    expect((isn.next(t, 1_000.004) - at0) >>> 0).toBe(1);
  });

  it('wrap modulo 2^32 after about 4.77 hours and stay 32-bit', () => {
    const isn = new IsnGenerator(new SeededRandom(1));
    const t = tuple();
    const wrapMs = 0x1_0000_0000 / 250;
    expect(isn.next(t, 5_000 + wrapMs)).toBe(isn.next(t, 5_000));
    for (const now of [0, 1, 123_456_789.5, 1e12]) {
      const n = isn.next(t, now);
      expect(Number.isInteger(n) && n >= 0 && n < 2 ** 32).toBe(true);
    }
  });

  it('differ per 4-tuple by an offset that depends on the secret, not on the ports alone', () => {
    const a = new IsnGenerator(new SeededRandom(1));
    const b = new IsnGenerator(new SeededRandom(2));
    const values = new Set<number>();
    for (let port = 50000; port < 50100; port++) values.add(a.next(tuple(port), 1_000));
    expect(values.size).toBe(100);
    expect(a.next(tuple(50000, 80, '10.0.0.9'), 1_000)).not.toBe(a.next(tuple(50000, 80, '10.0.0.1'), 1_000));
    expect(a.next(tuple(50000, 443), 1_000)).not.toBe(a.next(tuple(50000, 80), 1_000));
    // Neighbouring ports are not a fixed step apart, and another secret gives other offsets.
    const stepA = (a.next(tuple(50001), 1_000) - a.next(tuple(50000), 1_000)) >>> 0;
    const stepB = (b.next(tuple(50001), 1_000) - b.next(tuple(50000), 1_000)) >>> 0;
    expect(stepA).not.toBe(stepB);
    expect(a.next(tuple(), 1_000)).not.toBe(b.next(tuple(), 1_000));
  });

  it('are reproducible for a seed, for IPv4 and IPv6 alike', () => {
    const six: TcpFourTuple = { local: { address: Ipv6Address.parse('2001:db8::2'), port: 40000 }, remote: { address: Ipv6Address.parse('2001:db8::1'), port: 22 } };
    const first = new IsnGenerator(new SeededRandom(42));
    const again = new IsnGenerator(new SeededRandom(42));
    expect(again.next(tuple(), 7_000)).toBe(first.next(tuple(), 7_000));
    expect(again.next(six, 7_000)).toBe(first.next(six, 7_000));
    expect(first.next(six, 7_000)).not.toBe(first.next(tuple(40000, 22), 7_000));
  });
});

const portOf = (isn: IsnGenerator, t: TcpFourTuple) => isn.portOffset(t.local.address, t.remote.address, t.remote.port);

describe('the keyed offsets beside the ISN', () => {
  it('give one TSval offset per address pair, whatever the ports, and another for another pair', () => {
    const isn = new IsnGenerator(new SeededRandom(1));
    const first = isn.timestampOffset(tuple(50000, 80));
    expect(isn.timestampOffset(tuple(50001, 443))).toBe(first);
    expect(isn.timestampOffset(tuple(50000, 80, '10.0.0.9'))).not.toBe(first);
    // Asked again after another pair, the first pair's offset is the same (the last one is remembered, not kept wrongly).
    expect(isn.timestampOffset(tuple(50002, 81))).toBe(first);
    const v6: TcpFourTuple = { local: { address: Ipv6Address.parse('fd00::2'), port: 50000 }, remote: { address: Ipv6Address.parse('fd00::1'), port: 80 } };
    expect(isn.timestampOffset(v6)).toBe(new IsnGenerator(new SeededRandom(1)).timestampOffset(v6));
  });

  it('give one port offset per destination address and port (RFC 6056 Algorithm 3), whatever the local port', () => {
    const isn = new IsnGenerator(new SeededRandom(1));
    const to80 = portOf(isn, tuple(50000, 80));
    expect(portOf(isn, tuple(50001, 80))).toBe(to80);
    const to443 = portOf(isn, tuple(50000, 443));
    expect(to443).not.toBe(to80);
    expect(portOf(isn, tuple(50003, 80))).toBe(to80);
    expect(portOf(new IsnGenerator(new SeededRandom(2)), tuple(50000, 80))).not.toBe(to80);
  });
});
