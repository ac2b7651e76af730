/**
 * Memory limits (issue 6, item 7): the stack-wide budget of memory.ts (Linux's tcp_mem) across
 * many connections' send buffers, receive buffers and out-of-order data, and the limits each
 * connection has on its own.
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../lib/socket/tcp/connection';
import { FORCED_WRITE_BYTES, TcpMemory } from '../../../lib/socket/tcp/memory';
import { MAX_OUT_OF_ORDER_BLOCKS } from '../../../lib/socket/tcp/recv-buffer';
import { TcpState } from '../../../lib/socket/tcp/state';
import type { TcpConfig } from '../../../lib/socket/tcp/config';
import { Ipv4Repr, IpProtocol } from '../../../lib/wire/ipv4';
import { EtherType } from '../../../lib/wire/ethernet';
import { TcpRepr, type TcpOptions } from '../../../lib/wire/tcp';
import { arpFrame, ethernetFrame, ip } from '../../helpers/frames';
import { PEER_MAC, readyHarness, STACK_MAC } from '../../helpers/harness';
import { ACK, bytes, Env, established, expectSeg, ISS, PEER_ISS, peerSegment, peerSynOptions, RST, SYN } from './helpers';

const SEG = 1000;

/** An active open completed after `rtt` ms, its buffers charged to `memory`. */
function establishedWith(memory: TcpMemory, config: Partial<TcpConfig> = {}, seed = 7, rtt = 0): Env {
  const env = new Env({ config: { quickAckSegments: 0, ...config }, seed });
  env.conn = TcpConnection.connect({ ...env.connOptions(), memory });
  const [syn] = env.saw(env.link.take());
  env.clock.advance(rtt);
  const options: TcpOptions = { ...peerSynOptions(env.peerTs), timestamp: { value: env.peerTs, echo: syn.options.timestamp!.value } };
  env.saw(env.inject(peerSegment({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK, options })));
  env.tsOn = true;
  expect(env.conn.state).toBe(TcpState.Established);
  return env;
}

/** The peer's byte stream on connection `i`, from PEER_ISS + 1. */
const STREAMS = Array.from({ length: 10 }, (_, i) => bytes(200 * SEG, 100 + i));
const stream = (i: number) => STREAMS[i];

/** The peer sends stream bytes [from, from + len) of connection `i`; returns our answer. */
function send(env: Env, i: number, from: number, len = SEG) {
  return env.saw(env.inject(env.peer({ seq: PEER_ISS + 1 + from, payload: stream(i).subarray(from, from + len) })));
}

describe('TcpMemory', () => {
  it('charges within the limit, all or some, forces past it, and knows pressure', () => {
    const m = new TcpMemory(100, 150);
    expect(m.charge(100)).toBe(true);
    expect(m.underPressure).toBe(false);
    expect(m.charge(51)).toBe(false);
    expect(m.allocated).toBe(100);
    expect(m.chargeUpTo(80)).toBe(50);
    expect(m.underPressure).toBe(true);
    expect(m.chargeUpTo(1)).toBe(0);
    m.force(10);
    expect(m.allocated).toBe(160);
    m.release(120);
    expect([m.allocated, m.underPressure]).toEqual([40, false]);
  });
});

describe('the stack-wide limit across many connections', () => {
  it('out-of-order floods stop at pressure, in-order data at the limit; nothing refused is ACKed; all recover, and memory returns on close', () => {
    const memory = new TcpMemory(200_000, 300_000);
    const envs = Array.from({ length: 10 }, (_, i) => establishedWith(memory, {}, i + 1));
    const dropped = (reason: string) => envs.reduce((n, e) => n + e.drops.filter((d) => d === reason).length, 0);

    // Each peer floods 40 segments past a one-segment hole: 400 kB in all, twice the pressure.
    envs.forEach((env, i) => {
      const refused: number[] = [];
      for (let k = 1; k <= 40; k++) {
        const before = env.drops.length;
        const [ack] = send(env, i, k * SEG);
        if (env.drops.length > before) refused.push(PEER_ISS + 1 + k * SEG);
        // Refused data is never acknowledged, not even in a SACK block: the peer sends it again.
        expect(ack.ack).toBe(PEER_ISS + 1);
        for (const b of ack.options.sack ?? []) expect(refused.filter((seq) => seq >= b.left && seq < b.right)).toEqual([]);
      }
      expect(memory.allocated).toBeLessThanOrEqual(200_000 + SEG);
    });
    expect(dropped('memory-pressure')).toBeGreaterThan(150);
    expect(memory.underPressure).toBe(true);

    // In-order data: each hole filled, then more, with nobody reading. The limit bites: what a
    // connection cannot take is dropped and not acknowledged, while one with nothing to read
    // always takes a segment.
    const acked = envs.map(() => 0);
    const rcvd = (env: Env) => env.conn.vars.rcvNxt - (PEER_ISS + 1);
    envs.forEach((env, i) => {
      for (let k = 0; k <= 60; k++) {
        for (const seg of send(env, i, acked[i])) expect(seg.ack - (PEER_ISS + 1)).toBeLessThanOrEqual(rcvd(env));
        acked[i] = rcvd(env);
        expect(env.conn.readableBytes).toBe(acked[i]);
      }
    });
    expect(dropped('memory-limit')).toBeGreaterThan(0);
    expect(memory.allocated).toBeLessThanOrEqual(300_000 + 10 * SEG);
    expect(acked.some((a) => a < 61 * SEG)).toBe(true);

    // The owners read, memory frees, and every peer's stream arrives whole: nobody is stuck.
    envs.forEach((env, i) => {
      const got: Uint8Array[] = [];
      for (let round = 0; acked[i] < 120 * SEG && round < 1000; round++) {
        const data = env.conn.read();
        if (data) got.push(data);
        send(env, i, acked[i]);
        acked[i] = rcvd(env);
      }
      got.push(env.conn.read() ?? new Uint8Array(0));
      expect(acked[i]).toBe(120 * SEG);
      // Byte-exact (Buffer.equals: toEqual on 120 kB is slow).
      expect(Buffer.concat(got).equals(stream(i).subarray(0, 120 * SEG))).toBe(true);
    });
    expect(memory.allocated).toBe(0);

    // Data held and unread goes back to the stack when a connection ends.
    envs.forEach((env, i) => send(env, i, 130 * SEG));
    envs.forEach((env, i) => send(env, i, acked[i]));
    expect(memory.allocated).toBe(10 * 2 * SEG);
    for (const env of envs.slice(0, 5)) env.inject(env.peer({ seq: env.conn.vars.rcvNxt, flags: RST }));
    for (const env of envs.slice(5)) env.conn.abort(env.now);
    expect(envs.every((e) => e.conn.state === TcpState.Closed)).toBe(true);
    expect(memory.allocated).toBe(0);
    // What was left unread after the peer's reset stays readable.
    expect(envs[0].conn.read()).toEqual(stream(0).subarray(120 * SEG, 121 * SEG));
    expect(memory.allocated).toBe(0);
  });

  it('refuses writes at the limit until memory frees; an idle connection may always write a page', () => {
    const memory = new TcpMemory(20_000, 30_000);
    const a = establishedWith(memory, { sendBufferSize: 100_000 }, 1);
    const b = establishedWith(memory, { sendBufferSize: 100_000 }, 2);
    expect(a.conn.write(bytes(50_000), a.now)).toBe(30_000);
    a.link.take();
    expect(a.conn.write(bytes(10), a.now)).toBe(0);
    // B has nothing queued: one page, forced; then nothing more.
    expect(b.conn.write(bytes(10_000), b.now)).toBe(FORCED_WRITE_BYTES);
    expect(b.conn.write(bytes(10), b.now)).toBe(0);
    b.link.take();
    // A's peer acknowledges the ten segments sent: they leave A's buffer and the budget; A is told, and
    // A may write again (and so may B).
    a.notices.length = 0;
    a.inject(a.peer({ ack: ISS + 1 + 10 * 1448 }));
    expect(a.notice.writable).toBe(true);
    expect(memory.allocated).toBe(30_000 - 10 * 1448 + FORCED_WRITE_BYTES);
    expect(b.conn.write(bytes(5_000), b.now)).toBe(5_000);
    expect(a.conn.write(bytes(20_000), a.now)).toBe(10 * 1448 - FORCED_WRITE_BYTES - 5_000);
    // Closing gives it all back.
    a.conn.abort(a.now);
    b.conn.abort(b.now);
    expect(memory.allocated).toBe(0);
  });

  it('under pressure, receive windows stop growing (autotuning pauses)', () => {
    /** Bulk data read as it comes, a round trip (50 ms) at a time: the window the ACKs offer at the end. */
    const offered = (memory: TcpMemory) => {
      const env = establishedWith(memory, {}, 1, 50);
      const conn = env.conn;
      let window = 0;
      for (let round = 0; round < 20; round++) {
        for (let k = 0; k < 40; k++) {
          const out = env.sendData(bytes(1448, k));
          if (out.length > 0) window = out[out.length - 1].window << 7;
        }
        conn.read();
        env.advance(50);
      }
      return window;
    };
    const calm = offered(new TcpMemory(1 << 30, 1 << 30));
    const pressed = new TcpMemory(0, 1 << 30);
    pressed.force(1);
    expect(calm).toBeGreaterThan(128 * 1024);
    expect(offered(pressed)).toBeLessThanOrEqual(128 * 1024);
  });
});

describe("each connection's own limits", () => {
  it('holds at most MAX_OUT_OF_ORDER_BLOCKS holes; the rest is dropped, counted, and arrives once the holes fill', () => {
    const env = established({ config: { quickAckSegments: 0, receiveBufferSize: 4 << 20, maxReceiveBufferSize: 4 << 20 } });
    const base = env.peerNxt;
    const data = bytes(2 * (MAX_OUT_OF_ORDER_BLOCKS + 10), 3);
    // One byte in every two: each is a hole of its own.
    for (let i = 1; i < data.length; i += 2) env.inject(env.peer({ seq: base + i, payload: data.subarray(i, i + 1) }));
    expect(env.drops.filter((d) => d === 'out-of-order-full')).toHaveLength(10);
    // The peer fills the holes in order and sends again what was refused.
    for (let i = 0; i < data.length; i++) {
      if (env.conn.vars.rcvNxt === base + i) env.inject(env.peer({ seq: base + i, payload: data.subarray(i, i + 1) }));
    }
    expect(env.conn.read()).toEqual(data);
  });

  it('a window never offers more than the receive buffer, and data past it is cut off', () => {
    const env = established({ config: { receiveBufferSize: 8192, maxReceiveBufferSize: 8192, timestamps: false } });
    const [ack] = env.inject(env.peer({ payload: bytes(20_000) }));
    expectSeg(ack, { ack: env.peerNxt + 8192, window: 0 });
    expect(env.conn.readableBytes).toBe(8192);
  });
});

describe('the layer charges every connection to one budget (TcpConfig.memoryPressureBytes, memoryLimitBytes)', () => {
  const PEER = ip('10.0.0.1');
  const STACK = ip('10.0.0.2');

  function frame(srcPort: number, seq: number, ack: number, flags: number, payload: Uint8Array = new Uint8Array(0), options?: TcpOptions): Uint8Array {
    const tcp = new TcpRepr({ srcPort, dstPort: 80, seq, ack, flags, window: 0xffff, options, payloadLen: payload.length });
    const seg = new Uint8Array(tcp.headerLen() + payload.length);
    tcp.emit(seg, 0, payload, { src: PEER, dst: STACK });
    const ipr = new Ipv4Repr({ src: PEER, dst: STACK, protocol: IpProtocol.Tcp, payloadLen: seg.length });
    return ethernetFrame(PEER_MAC, STACK_MAC, EtherType.Ipv4, ipr.bufferLen() + seg.length, (b, o) => {
      ipr.emit(b, o);
      b.set(seg, o + ipr.bufferLen());
    });
  }

  it('drops out-of-order data under pressure, counts it, and gives the memory back on close', () => {
    const h = readyHarness({ stack: { tcp: { memoryPressureBytes: 3000, memoryLimitBytes: 6000 } } });
    h.inject(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: PEER, targetIp: STACK }));
    const tcp = h.stack.tcp;
    const l = tcp.listen({ port: 80, backlog: 8, family: 4 });
    if (typeof l === 'string') throw new Error(l);
    const conns: TcpConnection[] = [];
    for (const port of [5001, 5002]) {
      h.sent();
      h.inject(frame(port, 100, 0, SYN, undefined, { mss: 1460 }));
      h.advance(0);
      const synAckFrame = h.sent().pop()!;
      const iss = new DataView(synAckFrame.buffer, synAckFrame.byteOffset + 14 + 20 + 4).getUint32(0);
      h.inject(frame(port, 101, iss + 1, ACK));
      conns.push(l.accept()!);
      // 8 segments of 500 bytes past a hole: 4000 bytes, beyond the pressure.
      for (let k = 1; k <= 8; k++) h.inject(frame(port, 101 + k * 500, iss + 1, ACK, bytes(500, k)));
    }
    expect(tcp.memory.allocated).toBeLessThanOrEqual(3500);
    expect(h.stack.stats.tcp.dropped['memory-pressure']).toBeGreaterThan(8);
    for (const c of conns) c.abort(h.clock.now());
    expect(tcp.memory.allocated).toBe(0);
  });
});
