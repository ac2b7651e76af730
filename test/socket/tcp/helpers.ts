/**
 * A sans-IO harness for one TCP connection, in the style of smoltcp's and gVisor's TCP tests:
 * a fake TcpLink that turns every segment into real wire bytes (emitted, checksummed, parsed
 * back), a ManualClock, segment templates, factories that bring a connection to each state,
 * and two connections wired back to back through a seeded lossy network.
 */
import { expect } from 'vitest';
import { ManualClock } from '../../../lib/clock';
import { SeededRandom } from '../../../lib/random';
import { Ipv4Address, Ipv6Address } from '../../../lib/wire/address';
import { isDrop } from '../../../lib/wire/drop';
import { TcpFlag, TcpPacket, TcpRepr, flagsText, type TcpOptions, type TcpPseudoHeader } from '../../../lib/wire/tcp';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../../../lib/socket/tcp/config';
import { TcpConnection, type ConnectionOptions } from '../../../lib/socket/tcp/connection';
import { TcpState } from '../../../lib/socket/tcp/state';
import type { TcpFourTuple, TcpLink, TcpNotice, TcpSegmentOut } from '../../../lib/socket/tcp/types';
import type { DropReason } from '../../../lib/wire/drop';

export const { Fin: FIN, Syn: SYN, Rst: RST, Psh: PSH, Ack: ACK } = TcpFlag;

export const LOCAL_PORT = 40000;
export const REMOTE_PORT = 80;
export const TUPLE4: TcpFourTuple = {
  local: { address: Ipv4Address.parse('10.0.0.1'), port: LOCAL_PORT },
  remote: { address: Ipv4Address.parse('10.0.0.2'), port: REMOTE_PORT },
};
export const TUPLE6: TcpFourTuple = {
  local: { address: Ipv6Address.parse('2001:db8::1'), port: LOCAL_PORT },
  remote: { address: Ipv6Address.parse('2001:db8::2'), port: REMOTE_PORT },
};

/** The tuple as the other end sees it. */
export function reversed(t: TcpFourTuple): TcpFourTuple {
  return { local: t.remote, remote: t.local };
}

/** The connection's ISS in most tests, and the peer's. */
export const ISS = 1000;
export const PEER_ISS = 5000;
/** IPv4 over a 1500-byte MTU: 1480 bytes of IP payload, MSS 1460. */
export const MAX_PAYLOAD = 1480;

/** A segment as it left, parsed back from its wire bytes. */
export interface Sent {
  repr: TcpRepr;
  bytes: Uint8Array;
  at: number;
}

/**
 * A TcpLink that serializes each segment into a frame of its own (pre-filled with 0xa5 so a
 * byte left unwritten shows), checks that it parses back with a good checksum, and keeps it.
 */
export class FakeLink implements TcpLink {
  readonly sent: Sent[] = [];
  maxPayloadBytes = MAX_PAYLOAD;
  /** What send() answers (a DropReason simulates a failure after the frame was built). */
  result: DropReason | undefined;
  /** Called with every segment sent (for wiring two connections). */
  onSend: ((s: Sent, tuple: TcpFourTuple) => void) | undefined;

  constructor(private readonly clock: ManualClock) {}

  send(tuple: TcpFourTuple, seg: TcpSegmentOut, now: number): DropReason | undefined {
    const bytes = serialize(tuple, seg);
    const s: Sent = { repr: parse(tuple, bytes), bytes, at: now };
    expect(now).toBe(this.clock.now());
    this.sent.push(s);
    this.onSend?.(s, tuple);
    return this.result;
  }

  maxPayload(): number {
    return this.maxPayloadBytes;
  }

  /** The segments sent since the last call. */
  take(): TcpRepr[] {
    return this.sent.splice(0).map((s) => s.repr);
  }
}

function pseudo(tuple: TcpFourTuple, fromLocal: boolean): TcpPseudoHeader {
  const src = fromLocal ? tuple.local.address : tuple.remote.address;
  const dst = fromLocal ? tuple.remote.address : tuple.local.address;
  return { src, dst } as TcpPseudoHeader;
}

export function serialize(tuple: TcpFourTuple, seg: TcpSegmentOut): Uint8Array {
  const headerLen = seg.repr.headerLen();
  const buf = new Uint8Array(headerLen + seg.repr.payloadLen).fill(0xa5);
  seg.repr.emitHeader(buf, 0);
  seg.writePayload(buf, headerLen);
  seg.repr.fillChecksum(buf, 0, buf.length, pseudo(tuple, true));
  return buf;
}

export function parse(tuple: TcpFourTuple, bytes: Uint8Array): TcpRepr {
  const pkt = TcpPacket.checked(bytes);
  if (isDrop(pkt)) throw new Error(`sent a malformed segment: ${pkt}`);
  const repr = TcpRepr.parse(pkt, pseudo(tuple, true));
  if (isDrop(repr)) throw new Error(`sent a segment that does not parse: ${repr}`);
  return repr;
}

/** The options a Linux peer offers on its SYN. */
export function peerSynOptions(tsval = 7000): TcpOptions {
  return { mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: tsval, echo: 0 } };
}

export interface SegmentFields {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

/** A segment from the peer (remote port to local port). */
export function peerSegment(f: SegmentFields): TcpRepr {
  const payload = f.payload ?? new Uint8Array(0);
  return new TcpRepr({
    srcPort: REMOTE_PORT,
    dstPort: LOCAL_PORT,
    seq: f.seq >>> 0,
    ack: (f.ack ?? 0) >>> 0,
    flags: f.flags,
    window: f.window ?? 0xffff,
    options: f.options,
    payloadLen: payload.length,
    payload,
  });
}

export interface Expected {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  len?: number;
  payload?: Uint8Array;
  tsval?: number;
  tsecr?: number;
  sack?: { left: number; right: number }[];
}

/** gVisor's checker style: the fields given must match. */
export function expectSeg(seg: TcpRepr | undefined, e: Expected): void {
  expect(seg, 'a segment was expected').toBeDefined();
  const s = seg as TcpRepr;
  const got: Expected = {};
  const want: Expected = {};
  for (const k of Object.keys(e) as (keyof Expected)[]) {
    if (e[k] === undefined) continue;
    (want as Record<string, unknown>)[k] = k === 'flags' ? flagsText(e.flags as number) : e[k];
    const value =
      k === 'flags' ? flagsText(s.flags)
      : k === 'len' ? s.payloadLen
      : k === 'payload' ? s.payload
      : k === 'tsval' ? s.options.timestamp?.value
      : k === 'tsecr' ? s.options.timestamp?.echo
      : k === 'sack' ? s.options.sack
      : s[k];
    (got as Record<string, unknown>)[k] = value;
  }
  expect(got).toEqual(want);
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export interface EnvOptions {
  config?: Partial<TcpConfig>;
  tuple?: TcpFourTuple;
  iss?: number;
  seed?: number;
  start?: number;
  challengeAck?: (now: number) => boolean;
}

/** One connection under test, the clock, the link, and what the owner was told. */
export class Env {
  readonly clock: ManualClock;
  readonly link: FakeLink;
  readonly config: TcpConfig;
  readonly tuple: TcpFourTuple;
  readonly notices: TcpNotice[] = [];
  readonly drops: string[] = [];
  conn!: TcpConnection;
  /** What the peer has: its next sequence number, what it acknowledges, its TSval clock. */
  peerNxt = PEER_ISS + 1;
  peerTs = 7000;
  peerWindow = 0xffff;

  constructor(readonly opts: EnvOptions = {}) {
    this.clock = new ManualClock(opts.start ?? 10_000);
    this.link = new FakeLink(this.clock);
    this.config = { ...DEFAULT_TCP_CONFIG, ...opts.config };
    this.tuple = opts.tuple ?? TUPLE4;
  }

  connOptions(iss = this.opts.iss ?? ISS): ConnectionOptions {
    return {
      tuple: this.tuple,
      iss,
      config: this.config,
      link: this.link,
      random: new SeededRandom(this.opts.seed ?? 7),
      now: this.clock.now(),
      notify: (c) => {
        const n = c.takeNotice();
        if (n) this.notices.push(n);
      },
      challengeAck: this.opts.challengeAck,
      drop: (r) => this.drops.push(r),
    };
  }

  get now(): number {
    return this.clock.now();
  }

  /** Delivers a segment now; returns what the connection sent in answer. */
  inject(seg: TcpRepr): TcpRepr[] {
    this.conn.segment(seg, this.now);
    return this.link.take();
  }

  /** Moves time forward by `ms`, polling at each deadline; returns what was sent, in order. */
  advance(ms: number): TcpRepr[] {
    const end = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const at = this.conn.pollAt();
      if (at === undefined || at > end) break;
      this.clock.set(Math.max(at, this.now));
      this.conn.poll(this.now);
    }
    this.clock.set(end);
    return this.link.take();
  }

  /** Polls at the current time (what the layer does after read()). */
  poll(): TcpRepr[] {
    this.conn.poll(this.now);
    return this.link.take();
  }

  /** A segment from the peer with its current sequence number and our SND.NXT acknowledged. */
  peer(f: Partial<SegmentFields> & { payload?: Uint8Array } = {}): TcpRepr {
    return peerSegment({
      seq: f.seq ?? this.peerNxt,
      ack: f.ack ?? this.conn.vars.sndNxt,
      flags: f.flags ?? ACK,
      window: f.window ?? this.peerWindow,
      options: f.options ?? this.peerTsOption(),
      payload: f.payload,
    });
  }

  /** The peer sends data (advancing its sequence number) and returns our answer. */
  sendData(payload: Uint8Array, flags = ACK | PSH): TcpRepr[] {
    const seg = this.peer({ payload, flags });
    this.peerNxt = (this.peerNxt + payload.length + (flags & FIN ? 1 : 0)) >>> 0;
    return this.inject(seg);
  }

  /** Timestamps the peer puts on its segments, when the connection has them. */
  tsOn = false;
  /** The TSval of our last segment, which the peer echoes. */
  lastTsval = 0;

  peerTsOption(): TcpOptions | undefined {
    if (!this.tsOn) return undefined;
    this.peerTs += 1;
    return { timestamp: { value: this.peerTs, echo: this.lastTsval } };
  }

  /** Notes the TSval of what the connection sent (to echo it). */
  saw(segs: TcpRepr[]): TcpRepr[] {
    for (const s of segs) if (s.options.timestamp) this.lastTsval = s.options.timestamp.value;
    return segs;
  }

  get notice(): TcpNotice {
    const all: TcpNotice = { connected: false, readable: false, writable: false, closed: false };
    for (const n of this.notices) for (const k of Object.keys(all) as (keyof TcpNotice)[]) all[k] ||= n[k];
    return all;
  }
}

export interface OpenOptions extends EnvOptions {
  /** What the peer's SYN-ACK (or SYN) carries; undefined for no options at all. */
  peerOptions?: TcpOptions | null;
  peerWindow?: number;
  /** Time between our SYN and the peer's SYN-ACK (the handshake's RTT sample). */
  rtt?: number;
}

/** A connection in SYN-SENT, its SYN taken. */
export function synSent(o: OpenOptions = {}): { env: Env; syn: TcpRepr } {
  const env = new Env(o);
  env.conn = TcpConnection.connect(env.connOptions());
  const [syn] = env.saw(env.link.take());
  expect(env.conn.state).toBe(TcpState.SynSent);
  return { env, syn };
}

/** An active open completed: SYN, SYN-ACK with the peer's options, ACK. */
export function established(o: OpenOptions = {}): Env {
  const { env, syn } = synSent(o);
  const peerOpts = o.peerOptions === null ? undefined : { ...(o.peerOptions ?? peerSynOptions()) };
  env.tsOn = peerOpts?.timestamp !== undefined && syn.options.timestamp !== undefined;
  if (peerOpts?.timestamp) peerOpts.timestamp = { value: env.peerTs, echo: syn.options.timestamp?.value ?? 0 };
  env.peerWindow = o.peerWindow ?? 0xffff;
  env.clock.advance(o.rtt ?? 0);
  const synAck = peerSegment({ seq: PEER_ISS, ack: (env.conn.vars.sndNxt as number) >>> 0, flags: SYN | ACK, window: Math.min(0xffff, env.peerWindow), options: peerOpts });
  const out = env.saw(env.inject(synAck));
  expect(env.conn.state).toBe(TcpState.Established);
  expectSeg(out[0], { flags: ACK, ack: PEER_ISS + 1 });
  env.notices.length = 0;
  return env;
}

/** A passive open: the peer's SYN accepted, the SYN-ACK taken (SYN-RECEIVED). */
export function synReceived(o: OpenOptions = {}): { env: Env; synAck: TcpRepr } {
  const env = new Env(o);
  const peerOpts = o.peerOptions === null ? undefined : (o.peerOptions ?? peerSynOptions(env.peerTs));
  const syn = peerSegment({ seq: PEER_ISS, flags: SYN, window: 0xffff, options: peerOpts });
  env.conn = TcpConnection.accept(env.connOptions(), syn);
  const [synAck] = env.saw(env.link.take());
  env.tsOn = peerOpts?.timestamp !== undefined && synAck.options.timestamp !== undefined;
  env.peerWindow = o.peerWindow ?? 0xffff;
  expect(env.conn.state).toBe(TcpState.SynReceived);
  return { env, synAck };
}

/** A passive open completed by the peer's ACK. */
export function passiveEstablished(o: OpenOptions = {}): Env {
  const { env } = synReceived(o);
  expect(env.inject(env.peer())).toEqual([]);
  expect(env.conn.state).toBe(TcpState.Established);
  env.notices.length = 0;
  return env;
}

/** ESTABLISHED, then our FIN sent (FIN-WAIT-1). */
export function finWait1(o: OpenOptions = {}): { env: Env; fin: TcpRepr } {
  const env = established(o);
  env.conn.shutdown(env.now);
  const [fin] = env.saw(env.link.take());
  expectSeg(fin, { flags: FIN | ACK });
  expect(env.conn.state).toBe(TcpState.FinWait1);
  return { env, fin };
}

/** FIN-WAIT-1, then our FIN acknowledged (FIN-WAIT-2). */
export function finWait2(o: OpenOptions = {}): Env {
  const { env } = finWait1(o);
  expect(env.inject(env.peer())).toEqual([]);
  expect(env.conn.state).toBe(TcpState.FinWait2);
  return env;
}

/** ESTABLISHED, then the peer's FIN (CLOSE-WAIT). */
export function closeWait(o: OpenOptions = {}): Env {
  const env = established(o);
  const out = env.saw(env.sendData(new Uint8Array(0), FIN | ACK));
  expectSeg(out[0], { flags: ACK, ack: env.peerNxt });
  expect(env.conn.state).toBe(TcpState.CloseWait);
  return env;
}

/** CLOSE-WAIT, then our FIN (LAST-ACK). */
export function lastAck(o: OpenOptions = {}): { env: Env; fin: TcpRepr } {
  const env = closeWait(o);
  env.conn.shutdown(env.now);
  const [fin] = env.saw(env.link.take());
  expectSeg(fin, { flags: FIN | ACK });
  expect(env.conn.state).toBe(TcpState.LastAck);
  return { env, fin };
}

/** FIN-WAIT-2, then the peer's FIN (TIME-WAIT). */
export function timeWait(o: OpenOptions = {}): Env {
  const env = finWait2(o);
  const out = env.saw(env.sendData(new Uint8Array(0), FIN | ACK));
  expectSeg(out[0], { flags: ACK, ack: env.peerNxt });
  expect(env.conn.state).toBe(TcpState.TimeWait);
  return env;
}

// ------------------------------------------------------------------ two connections

interface InFlight {
  at: number;
  to: 'a' | 'b';
  bytes: Uint8Array;
}

export interface NetOptions {
  /** One-way delay in ms. */
  delay?: number;
  /** Probability a segment is lost, from the seeded source. */
  loss?: number;
  /** Extra delay, uniform in 0..jitter ms per segment: segments overtake each other. */
  jitter?: number;
  seed?: number;
  config?: Partial<TcpConfig>;
  configB?: Partial<TcpConfig>;
  maxPayload?: number;
}

/**
 * Two connections back to back: A connects, B is accepted from A's SYN; every segment crosses
 * a network with a fixed delay and seeded loss, as wire bytes parsed again on arrival.
 */
export class Pair {
  readonly clock = new ManualClock(1_000);
  readonly linkA = new FakeLink(this.clock);
  readonly linkB = new FakeLink(this.clock);
  a!: TcpConnection;
  b!: TcpConnection;
  readonly delivered = { a: 0, b: 0 };
  lost = 0;
  private readonly queue: InFlight[] = [];
  private readonly random: SeededRandom;
  private readonly delay: number;
  private readonly loss: number;
  private readonly jitter: number;
  /** A time the test wants a step at (a reader that reads on a clock). */
  wake: number | undefined;
  /** Drops a segment when it returns true (after the random loss). */
  filter: ((seg: TcpRepr, to: 'a' | 'b') => boolean) | undefined;

  constructor(readonly opts: NetOptions = {}) {
    this.random = new SeededRandom(opts.seed ?? 11);
    this.delay = opts.delay ?? 10;
    this.loss = opts.loss ?? 0;
    this.jitter = opts.jitter ?? 0;
    for (const l of [this.linkA, this.linkB]) l.maxPayloadBytes = opts.maxPayload ?? MAX_PAYLOAD;
    this.linkA.onSend = (s) => this.carry(s, 'b');
    this.linkB.onSend = (s) => this.carry(s, 'a');
  }

  configA(): TcpConfig {
    return { ...DEFAULT_TCP_CONFIG, ...this.opts.config };
  }

  configB(): TcpConfig {
    return { ...DEFAULT_TCP_CONFIG, ...this.opts.config, ...this.opts.configB };
  }

  options(side: 'a' | 'b', iss: number): ConnectionOptions {
    const tuple = side === 'a' ? TUPLE4 : reversed(TUPLE4);
    return {
      tuple,
      iss,
      config: side === 'a' ? this.configA() : this.configB(),
      link: side === 'a' ? this.linkA : this.linkB,
      random: new SeededRandom(side === 'a' ? 3 : 4),
      now: this.clock.now(),
      notify: () => {},
    };
  }

  /** A connects; B is made from the first SYN to arrive; runs until both are ESTABLISHED. */
  open(issA = ISS, issB = PEER_ISS): void {
    this.a = TcpConnection.connect(this.options('a', issA));
    const deadline = this.clock.now() + 200_000;
    for (let i = 0; i < 10_000 && this.b === undefined; i++) {
      const first = this.queue.findIndex((f) => f.to === 'b');
      if (first >= 0) {
        const f = this.queue.splice(first, 1)[0];
        this.clock.set(Math.max(f.at, this.clock.now()));
        const syn = parse(reversed(TUPLE4), f.bytes);
        this.b = TcpConnection.accept(this.options('b', issB), syn);
      } else {
        const at = this.a.pollAt();
        if (at === undefined || at > deadline) throw new Error('no SYN');
        this.clock.set(Math.max(at, this.clock.now()));
        this.a.poll(this.clock.now());
      }
    }
    this.runUntil(() => this.a.state === TcpState.Established && this.b.state === TcpState.Established, 60_000);
  }

  private carry(s: Sent, to: 'a' | 'b'): void {
    if (this.loss > 0 && this.random.u32() / 0x1_0000_0000 < this.loss) {
      this.lost++;
      return;
    }
    if (this.filter?.(s.repr, to)) {
      this.lost++;
      return;
    }
    const jitter = this.jitter > 0 ? Math.floor((this.random.u32() / 0x1_0000_0000) * this.jitter) : 0;
    this.queue.push({ at: s.at + this.delay + jitter, to, bytes: s.bytes });
  }

  /** Advances to the next event (a delivery or a timer) and handles it; false when nothing is left. */
  step(limit: number): boolean {
    let next = this.wake !== undefined && this.wake > this.clock.now() ? this.wake : Infinity;
    for (const f of this.queue) next = Math.min(next, f.at);
    for (const c of [this.a, this.b]) {
      const at = c?.pollAt();
      if (at !== undefined) next = Math.min(next, at);
    }
    if (next === Infinity || next > limit) return false;
    this.clock.set(Math.max(next, this.clock.now()));
    const now = this.clock.now();
    for (let i = 0; i < this.queue.length; ) {
      const f = this.queue[i];
      if (f.at <= now) {
        this.queue.splice(i, 1);
        const conn = f.to === 'a' ? this.a : this.b;
        const tuple = f.to === 'a' ? TUPLE4 : reversed(TUPLE4);
        this.delivered[f.to]++;
        conn.segment(parse(reversed(tuple), f.bytes), now);
      } else i++;
    }
    for (const c of [this.a, this.b]) {
      const at = c.pollAt();
      if (at !== undefined && at <= now) c.poll(now);
    }
    return true;
  }

  /** Steps until `done` or `ms` of simulated time pass; throws if `done` never holds. */
  runUntil(done: () => boolean, ms: number, maxSteps = 2_000_000): void {
    const limit = this.clock.now() + ms;
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return;
      if (!this.step(limit)) break;
    }
    if (!done()) throw new Error(`condition not reached by ${this.clock.now()} (A ${this.a.state}, B ${this.b?.state})`);
  }
}
