/**
 * connect() taking a 4-tuple from a connection in TIME-WAIT (Linux tcp_tw_reuse and
 * tcp_twsk_unique): only when timestamps were in use, for a port the stack picks only on
 * loopback by default and after a second, for a port the app bound at once. The new
 * incarnation starts its sequence numbers past the old one's (SND.NXT + 65537).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock';
import { SeededRandom } from '../../../lib/random';
import type { TcpConfig } from '../../../lib/socket/tcp/config';
import type { TcpConnection } from '../../../lib/socket/tcp/connection';
import type { TcpListener } from '../../../lib/socket/tcp/listener';
import { TcpState } from '../../../lib/socket/tcp/state';
import { createStack, type Stack } from '../../../lib/stack';
import { Ipv4Address } from '../../../lib/wire/address';

const LO = Ipv4Address.parse('127.0.0.1');
const SERVER_PORT = 80;
/** Ephemeral ports the stack picks from (RFC 6056's 49152-65535). */
const EPHEMERAL_PORTS = 16_384;

function loopback(tcp: Partial<TcpConfig> = {}) {
  const clock = new ManualClock(1_000);
  const stack: Stack = createStack({ interfaces: [], loopback: true, random: new SeededRandom(9), tcp });
  const listener = stack.tcp.listen({ family: 4, port: SERVER_PORT, backlog: 128 }) as TcpListener;
  return { clock, stack, listener };
}

/**
 * One short connection the client closes first, so the client's end is left in TIME-WAIT:
 * the client connection, or the connect error.
 */
function shortConnection(stack: Stack, listener: TcpListener, clock: ManualClock, localPort?: number): TcpConnection | string {
  const now = clock.now();
  const client = stack.tcp.connect({ remote: { address: LO, port: SERVER_PORT }, local: localPort === undefined ? undefined : { port: localPort } }, now);
  if (typeof client === 'string') return client;
  stack.poll(now);
  const server = listener.accept();
  if (!server) throw new Error('no connection to accept');
  client.write(new Uint8Array([1]), now);
  client.close(now);
  stack.poll(now);
  server.read();
  server.close(now);
  stack.poll(now);
  stack.tcp.takeReady();
  return client;
}

describe('connect() and a 4-tuple in TIME-WAIT', () => {
  it('leaves the client that closed first in TIME-WAIT, holding its 4-tuple against a connect from the same bound port without timestamps', () => {
    const { clock, stack, listener } = loopback({ timestamps: false });
    const first = shortConnection(stack, listener, clock, 40_000) as TcpConnection;
    expect(first.state).toBe(TcpState.TimeWait);
    clock.advance(5_000);
    expect(shortConnection(stack, listener, clock, 40_000)).toBe('EADDRINUSE');
  });

  it('gives a bound port\'s 4-tuple to a new connection at once when timestamps were in use, its ISS past the old SND.NXT', () => {
    const { clock, stack, listener } = loopback();
    const first = shortConnection(stack, listener, clock, 40_000) as TcpConnection;
    expect(first.state).toBe(TcpState.TimeWait);
    const oldSndNxt = first.vars.sndNxt;
    const second = stack.tcp.connect({ remote: { address: LO, port: SERVER_PORT }, local: { port: 40_000 } }, clock.now());
    if (typeof second === 'string') throw new Error(second);
    // The SYN is ISS, so SND.NXT is ISS + 1.
    expect(second.vars.sndNxt).toBe((oldSndNxt + 65_537 + 1) >>> 0);
    stack.poll(clock.now());
    expect(second.state).toBe(TcpState.Established);
    expect(first.state).toBe(TcpState.Closed);
    expect(stack.stats.tcp.timeWaitReused).toBe(1);
    const server = listener.accept() as TcpConnection;
    second.write(new Uint8Array([7, 8, 9]), clock.now());
    stack.poll(clock.now());
    expect([...(server.read() as Uint8Array)]).toEqual([7, 8, 9]);
  });

  it("gives a bound port's 4-tuple over whatever timeWaitReuse says (Linux reads tcp_tw_reuse only for a port it picks)", () => {
    const { clock, stack, listener } = loopback({ timeWaitReuse: 'off' });
    shortConnection(stack, listener, clock, 40_000);
    expect(typeof shortConnection(stack, listener, clock, 40_000)).not.toBe('string');
    expect(stack.stats.tcp.timeWaitReused).toBe(1);
  });

  it('runs more short connections to one server than there are ephemeral ports, within 2 MSL, taking ports from TIME-WAIT after a second', () => {
    const { clock, stack, listener } = loopback();
    const total = EPHEMERAL_PORTS + 2_000;
    const errors = new Map<string, number>();
    for (let i = 0; i < total; i++) {
      // 2,000 connections a second of simulated time: the whole run is well within 2 MSL (60 s).
      if (i % 2_000 === 0) clock.advance(1_000);
      const c = shortConnection(stack, listener, clock);
      if (typeof c === 'string') errors.set(c, (errors.get(c) ?? 0) + 1);
    }
    expect(clock.now() - 1_000).toBeLessThan(2 * stack.tcp.config.mslMs);
    expect(errors).toEqual(new Map());
    expect(stack.stats.tcp.timeWaitReused).toBeGreaterThanOrEqual(total - EPHEMERAL_PORTS);
  });

  it('runs out of ephemeral ports within 2 MSL when reuse is off: EADDRNOTAVAIL, as Linux', () => {
    const { clock, stack, listener } = loopback({ timeWaitReuse: 'off' });
    let first: string | undefined;
    for (let i = 0; i < EPHEMERAL_PORTS + 10 && first === undefined; i++) {
      if (i % 2_000 === 0) clock.advance(1_000);
      const c = shortConnection(stack, listener, clock);
      if (typeof c === 'string') first = `${c} after ${i}`;
    }
    expect(first).toBe(`EADDRNOTAVAIL after ${EPHEMERAL_PORTS}`);
  });
});
