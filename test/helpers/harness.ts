/**
 * A stack on a ManualClock behind one end of an in-memory pipe; the test holds the
 * other end and plays the network. No real time, no real I/O.
 */
import { ManualClock } from '../../lib/clock';
import { createPipe, type PipeEnd } from '../../lib/phy/pipe';
import { SeededRandom } from '../../lib/random';
import { createStack, type InterfaceOptions, type Stack, type StackEvent, type StackOptions } from '../../lib/stack';
import { mac } from './frames';

export const STACK_MAC = mac('02:00:00:00:00:02');
export const PEER_MAC = mac('02:00:00:00:00:01');

export interface Harness {
  stack: Stack;
  clock: ManualClock;
  /** The network side of the pipe: transmit to inject, receive to read what the stack sent. */
  wire: PipeEnd;
  events: StackEvent[];
  /** Injects frames and polls once at the current time. */
  inject(...frames: Uint8Array[]): void;
  /** Everything the stack has sent since the last call. */
  sent(): Uint8Array[];
  /** Advances the clock in steps, polling at every timer the stack asks for, up to `ms`. */
  advance(ms: number): void;
}

/** Interface options, plus the seed and the stack-wide options. */
export type HarnessOptions = Partial<InterfaceOptions> & { seed?: number; stack?: Omit<Partial<StackOptions>, 'interfaces' | 'random'> };

export function harness(opts: HarnessOptions = {}): Harness {
  const clock = new ManualClock(1_000);
  const [stackEnd, wire] = createPipe();
  const { seed, stack: stackOptions, ...iface } = opts;
  const stack = createStack({
    ...stackOptions,
    interfaces: [{ device: stackEnd, mac: STACK_MAC, ipv4: ['10.0.0.2/24'], ipv6: false, ...iface }],
    random: new SeededRandom(seed ?? 1),
  });
  const events: StackEvent[] = [];
  const poll = () => {
    stack.poll(clock.now());
    events.push(...stack.takeEvents());
  };
  const h: Harness = {
    stack,
    clock,
    wire,
    events,
    inject(...frames) {
      for (const f of frames) wire.transmit(f);
      wire.flush();
      poll();
    },
    sent() {
      const out: Uint8Array[] = [];
      for (let f = wire.receive(); f; f = wire.receive()) out.push(f);
      return out;
    },
    advance(ms) {
      const end = clock.now() + ms;
      poll();
      for (let i = 0; i < 100_000; i++) {
        const at = stack.pollAt();
        if (at === undefined || at > end) break;
        clock.set(Math.max(at, clock.now()));
        poll();
      }
      clock.set(end);
      poll();
    },
  };
  poll();
  return h;
}

/** A harness whose addresses are usable at once (conflict detection off). */
export function readyHarness(opts: HarnessOptions = {}): Harness {
  const h = harness({ acd: { enabled: false }, ...opts });
  h.sent();
  return h;
}
