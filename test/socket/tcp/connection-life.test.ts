/**
 * A connection's life beyond the data: keepalive (RFC 1122 §4.2.3.6) and ICMP errors by state
 * (RFC 1122 §4.2.3.9, RFC 5927, Linux's hard and soft errors).
 */
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../lib/socket/tcp/state';
import type { TcpIcmpError } from '../../../lib/socket/tcp/types';
import { ACK, bytes, established, expectSeg, ISS, PEER_ISS, peerSegment, RST, SYN, synReceived, synSent } from './helpers';

describe('keepalive (RFC 1122 §4.2.3.6)', () => {
  it('is off by default', () => {
    const env = established();
    expect(env.conn.pollAt()).toBeUndefined();
  });

  it('probes after the idle time with SND.UNA - 1 and no data, and stays up while answered', () => {
    const env = established();
    const t0 = env.now;
    env.conn.setKeepAlive(true);
    expect(env.conn.pollAt()).toBe(t0 + 7_200_000);
    const [probe] = env.advance(7_200_000);
    expectSeg(probe, { seq: ISS, ack: env.peerNxt, flags: ACK, len: 0 });
    // The peer answers (an ACK for the probe's old sequence number).
    env.inject(env.peer());
    const answered = env.now;
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - answered);
    env.advance(7_200_000);
    expect(times).toEqual([7_200_000]);
    expect(env.conn.state).toBe(TcpState.Established);
  });

  it('idle counts from the last segment received', () => {
    const env = established({ config: { timestamps: false } });
    const t0 = env.now;
    env.conn.setKeepAlive(true, 10_000);
    env.advance(6_000);
    env.sendData(bytes(1));
    const out = env.advance(10_000);
    expect(out.filter((s) => s.payloadLen === 0 && s.seq === ISS)).toHaveLength(1);
    expect(env.link.sent).toEqual([]);
    void t0;
  });

  it('fails with ETIMEDOUT and a RST after keepAliveProbes unanswered probes', () => {
    const env = established();
    const t0 = env.now;
    env.conn.setKeepAlive(true);
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    const out = env.advance(8_000_000);
    expect(times).toEqual([...Array(10).keys()].map((i) => 7_200_000 + i * 75_000));
    expectSeg(out[9], { flags: RST | ACK, seq: ISS + 1 });
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe('ETIMEDOUT');
  });

  it('follows the configured interval and count, and stops when turned off', () => {
    const env = established({ config: { keepAliveIdleMs: 1000, keepAliveIntervalMs: 100, keepAliveProbes: 2 } });
    const t0 = env.now;
    env.conn.setKeepAlive(true);
    const times: number[] = [];
    env.link.onSend = (s) => times.push(s.at - t0);
    env.advance(2000);
    expect(times).toEqual([1000, 1100, 1200]);
    expect(env.conn.error).toBe('ETIMEDOUT');
    const off = established();
    off.conn.setKeepAlive(true, 1000);
    off.conn.setKeepAlive(false);
    expect(off.advance(5000)).toEqual([]);
  });

  it('does not probe while data is outstanding (the retransmission timer watches the peer)', () => {
    const env = established({ config: { keepAliveIdleMs: 1000 } });
    env.conn.setKeepAlive(true);
    env.conn.write(bytes(10), env.now);
    env.link.take();
    const out = env.advance(1000);
    expect(out.every((s) => s.payloadLen === 10)).toBe(true);
  });
});

describe('ICMP errors', () => {
  const errors: [TcpIcmpError, string][] = [
    [{ kind: 'port-unreachable' }, 'ECONNREFUSED'],
    [{ kind: 'host-unreachable' }, 'EHOSTUNREACH'],
    [{ kind: 'net-unreachable' }, 'ENETUNREACH'],
    [{ kind: 'admin-prohibited' }, 'EHOSTUNREACH'],
  ];

  it.each(errors)('in SYN-SENT, %o aborts the connect with %s (Linux)', (err, errno) => {
    const { env } = synSent();
    env.conn.icmpError(err, env.now);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBe(errno);
    expect(env.notice.closed).toBe(true);
    expect(env.link.take()).toEqual([]);
  });

  it.each(errors)('in ESTABLISHED, %o is soft: remembered, nothing else', (err) => {
    const env = established();
    env.conn.icmpError(err, env.now);
    expect(env.conn.state).toBe(TcpState.Established);
    expect(env.conn.error).toBeUndefined();
    expect(env.notices).toEqual([]);
  });

  it('a passive open in SYN-RECEIVED is dropped silently', () => {
    const { env } = synReceived();
    env.conn.icmpError({ kind: 'port-unreachable' }, env.now);
    expect(env.conn.state).toBe(TcpState.Closed);
    expect(env.conn.error).toBeUndefined();
  });

  it("'too-big' before the handshake ends sizes the first data segments", () => {
    const { env, syn } = synSent();
    env.conn.icmpError({ kind: 'too-big', mtu: 1280 }, env.now);
    expect(env.conn.state).toBe(TcpState.SynSent);
    env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, options: { mss: 1460, timestamp: { value: 1, echo: syn.options.timestamp!.value } } }));
    expect(env.conn.vars.mss).toBe(1280 - 40 - 12);
  });

  it('an error for a closed connection is ignored', () => {
    const env = established();
    env.conn.abort(env.now);
    env.conn.icmpError({ kind: 'port-unreachable' }, env.now);
    expect(env.conn.error).toBeUndefined();
  });
});
