import { EventEmitter } from 'eventemitter3';
import { MonotonicClock, type Clock } from './clock';
import type { UdpSocket } from './socket/udp-socket';
import type { TcpReady } from './socket/tcp/tcp';
import type { Stack, StackEvent } from './stack';

type EventOf<T extends StackEvent['type']> = Extract<StackEvent, { type: T }>;

export interface DriverEvents {
  'address-ready': (e: EventOf<'address-ready'>) => void;
  'address-conflict': (e: EventOf<'address-conflict'>) => void;
  'neighbor-unreachable': (e: EventOf<'neighbor-unreachable'>) => void;
  'dhcp-bound': (e: EventOf<'dhcp-bound'>) => void;
  'dhcp-unbound': (e: EventOf<'dhcp-unbound'>) => void;
  'ipv6-address-ready': (e: EventOf<'ipv6-address-ready'>) => void;
  'ipv6-address-duplicate': (e: EventOf<'ipv6-address-duplicate'>) => void;
  'ipv6-address-removed': (e: EventOf<'ipv6-address-removed'>) => void;
  'dhcp6-bound': (e: EventOf<'dhcp6-bound'>) => void;
  'dhcp6-unbound': (e: EventOf<'dhcp6-unbound'>) => void;
  'echo-reply': (e: EventOf<'echo-reply'>) => void;
  'echo-error': (e: EventOf<'echo-error'>) => void;
  /** UDP sockets that got datagrams or an error in the last poll: drain them (`stack.udpSockets.receive`/`takeError`). */
  'udp-ready': (sockets: UdpSocket[]) => void;
  /** TCP connections with notices (`conn.takeNotice()`) and listeners with connections to accept, after the last poll. */
  'tcp-ready': (ready: TcpReady) => void;
  /** A device failed (deleted under the stack): the driver has stopped. */
  error: (err: Error) => void;
}

export interface DriverOptions {
  clock?: Clock;
  /** Whether the stack's timer keeps the process alive; off, the app alone decides when to exit. */
  keepAlive?: boolean;
}

/**
 * Runs a sans-IO stack on the Node event loop: the one place that reads the real clock
 * and arms timers. It polls once when a device has frames (coalesced with setImmediate),
 * and arms a single timer for `stack.pollAt()`. Stack events are emitted after `poll`
 * has returned.
 */
export class StackDriver extends EventEmitter<DriverEvents> {
  private readonly clock: Clock;
  private readonly keepAlive: boolean;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private running = false;

  constructor(readonly stack: Stack, opts: DriverOptions = {}) {
    super();
    this.clock = opts.clock ?? new MonotonicClock();
    this.keepAlive = opts.keepAlive ?? false;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    for (const iface of this.stack.interfaces) {
      iface.device.attach({ readable: () => this.wake(), error: (err) => this.fail(err) });
    }
    // A first poll now, so that what needs no waiting (addresses used without probing, a
    // TUN's addresses) is in place before the caller's next line: an app under the preload
    // may send at once. Its events stay queued for the first run, after listeners are set.
    this.stack.poll(this.clock.now());
    this.wake();
    return this;
  }

  /** Between start() and stop(). */
  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Says goodbye (releases DHCP leases), sends what that queued, then detaches from the
   * devices and closes them; idempotent.
   */
  stop(): void {
    if (!this.running) return;
    const now = this.clock.now();
    this.stack.shutdown(now);
    this.stack.poll(now);
    this.emitAfterPoll();
    this.running = false;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = this.timerAt = undefined;
    for (const iface of this.stack.interfaces) iface.device.attach(undefined);
    this.stack.close();
  }

  /**
   * Runs `action` on the stack at the current time (outside `poll`: it may queue
   * packets or change configuration), then polls soon so what it queued goes out.
   */
  perform<T>(action: (now: number) => T): T {
    const result = action(this.clock.now());
    this.wake();
    return result;
  }

  /** The driver's clock reading, for measurements made beside the stack (ping RTTs). */
  now(): number {
    return this.clock.now();
  }

  /** Polls soon, once, however many devices became readable meanwhile. */
  wake(): void {
    if (!this.running || this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.run();
    });
  }

  private run(): void {
    if (!this.running) return;
    this.stack.poll(this.clock.now());
    this.emitAfterPoll();
    if (this.running) this.arm();
  }

  /** What the poll produced, handed out now that the stack is no longer running. */
  private emitAfterPoll(): void {
    for (const e of this.stack.takeEvents()) this.emit(e.type, e as never);
    const ready = this.stack.udpSockets.takeReady();
    if (ready.length > 0) this.emit('udp-ready', ready);
    const tcp = this.stack.tcp.takeReady();
    if (tcp.connections.length > 0 || tcp.listeners.length > 0) this.emit('tcp-ready', tcp);
  }

  private arm(): void {
    const at = this.stack.pollAt();
    if (at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    const delay = Math.max(0, Math.ceil(at - this.clock.now()));
    this.timer = setTimeout(() => {
      this.timer = this.timerAt = undefined;
      this.run();
    }, delay);
    if (!this.keepAlive) this.timer.unref();
  }

  private fail(err: Error): void {
    this.stop();
    this.emit('error', err);
  }
}
