/**
 * The layer's timer queue (lib/socket/tcp/timer-queue.ts): a poll looks only at the
 * connections whose deadline has come, and never misses one, however the deadlines move.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../lib/clock';
import { SeededRandom } from '../../../lib/random';
import { TcpConnection } from '../../../lib/socket/tcp/connection';
import { TcpState } from '../../../lib/socket/tcp/state';
import { TimerQueue, type QueuedDeadline } from '../../../lib/socket/tcp/timer-queue';
import { createStack } from '../../../lib/stack';
import { Ipv4Address } from '../../../lib/wire/address';

/** A stand-in for a connection: one deadline, queued as timers.ts queues it. */
class Item implements QueuedDeadline {
  queuedAt: number | undefined;
  readonly deadline = this;
  constructor(
    readonly name: string,
    private readonly queue: TimerQueue<Item>,
    public at: number | undefined,
  ) {
    this.requeue();
  }

  set(at: number | undefined): void {
    this.at = at;
    this.requeue();
  }

  requeue(): void {
    if (this.at === undefined || (this.queuedAt !== undefined && this.queuedAt <= this.at)) return;
    this.queuedAt = this.at;
    this.queue.push(this.at, this);
  }
}

describe('TimerQueue', () => {
  it('hands out what is due by now, earliest first, each once', () => {
    const q = new TimerQueue<Item>();
    const items = [30, 10, 50, 20, 40].map((at) => new Item(`t${at}`, q, at));
    expect(q.peek()).toBe(10);
    expect(q.takeDue(30).map((i) => i.name)).toEqual(['t10', 't20', 't30']);
    expect(q.takeDue(30)).toEqual([]);
    expect(q.peek()).toBe(40);
    expect(items.filter((i) => i.queuedAt === undefined).length).toBe(3);
  });

  it('skips an entry its item no longer has: a deadline moved earlier is taken at the new time only', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a', q, 100);
    a.set(20);
    expect(q.size).toBe(2);
    expect(q.takeDue(50)).toEqual([a]);
    // The entry at 100 is stale (a has nothing queued); it surfaces as nothing.
    expect(q.takeDue(150)).toEqual([]);
    expect(q.peek()).toBeUndefined();
  });

  it('takes an item whose deadline moved later at its old time, and the caller queues it again', () => {
    const q = new TimerQueue<Item>();
    const a = new Item('a', q, 20);
    a.set(80);
    expect(q.takeDue(30)).toEqual([a]);
    a.requeue();
    expect(q.peek()).toBe(80);
    expect(q.takeDue(80)).toEqual([a]);
  });

  it('compacts to the live entries when stale ones pile up, keeping every live one', () => {
    const q = new TimerQueue<Item>();
    const items: Item[] = [];
    for (let i = 0; i < 100; i++) items.push(new Item(`i${i}`, q, 10_000 + i));
    // Each moves earlier 30 times: 3,000 stale entries beside 100 live ones.
    for (let step = 1; step <= 30; step++) for (const item of items) item.set((item.at as number) - 100);
    expect(q.size).toBe(3_100);
    q.compact(items.length);
    expect(q.size).toBe(100);
    const due = q.takeDue(Infinity);
    expect(due.length).toBe(100);
    expect(due.map((i) => i.at)).toEqual([...due.map((i) => i.at)].sort((x, y) => (x as number) - (y as number)));
  });

  it('lets go of released items at the next compaction, long before their deadlines surface', () => {
    const q = new TimerQueue<Item>();
    const items: Item[] = [];
    for (let i = 0; i < 100; i++) items.push(new Item(`i${i}`, q, 3_600_000 + i));
    for (const item of items.slice(0, 60)) q.release(item);
    q.compact(40);
    expect(q.size).toBe(40);
    expect(q.takeDue(Infinity).map((i) => i.name)).toEqual(items.slice(60).map((i) => i.name));
  });
});

describe('TCP polls by deadline', () => {
  afterEach(() => vi.restoreAllMocks());

  function loopbackStack() {
    const clock = new ManualClock(1_000);
    const stack = createStack({ interfaces: [], loopback: true, random: new SeededRandom(3) });
    return { clock, stack };
  }

  it('looks at none of 2,000 idle connections when one has a timer due, and fires that one', () => {
    const { clock, stack } = loopbackStack();
    const tcp = stack.tcp;
    const listener = tcp.listen({ family: 4, port: 80, backlog: 4096 });
    if (typeof listener === 'string') throw new Error(listener);
    const lo = Ipv4Address.parse('127.0.0.1');
    const clients: TcpConnection[] = [];
    for (let i = 0; i < 1_000; i++) {
      const c = tcp.connect({ remote: { address: lo, port: 80 } }, clock.now());
      if (typeof c === 'string') throw new Error(c);
      clients.push(c);
    }
    stack.poll(clock.now());
    for (let c = listener.accept(); c; c = listener.accept());
    expect(clients.every((c) => c.state === TcpState.Established)).toBe(true);
    // Let the handshakes' timers run out: nothing is due any more.
    clock.advance(1_000);
    stack.poll(clock.now());
    expect(stack.pollAt()).toBeUndefined();

    // One connection sends: its retransmission timer is the only deadline.
    clients[7].write(new Uint8Array([1, 2, 3]), clock.now());
    const looked = vi.spyOn(TcpConnection.prototype, 'pollAt');
    const fired = vi.spyOn(TcpConnection.prototype, 'poll');
    stack.poll(clock.now());
    expect(looked.mock.calls.length).toBeLessThan(10);
    // The data is delivered and acknowledged; a deadline since cleared is looked at once more, and then none is left.
    for (let i = 0; i < 10 && stack.pollAt() !== undefined; i++) {
      clock.set(Math.max(clock.now(), stack.pollAt() as number));
      stack.poll(clock.now());
    }
    expect(stack.pollAt()).toBeUndefined();
    expect(looked.mock.calls.length).toBeLessThan(20);
    // Idle again; now one keepalive deadline, set from outside a poll, is found and fired.
    clients[500].setKeepAlive(true, 5_000);
    const at = stack.pollAt() as number;
    expect(at).toBeGreaterThan(clock.now());
    clock.set(at);
    looked.mockClear();
    stack.poll(clock.now());
    expect(fired.mock.contexts).toContain(clients[500]);
    expect(looked.mock.calls.length).toBeLessThan(10);
  });
});
