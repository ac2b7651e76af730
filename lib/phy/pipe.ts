import type { Device, DeviceListener, Medium } from './device';

/**
 * A two-ended in-memory link: what one end transmits, the other receives. Frames cross
 * by reference (the sender gives up ownership at `transmit`, as on any device). The
 * receiving end's listener is told once per flush, so a driver wakes once per burst.
 */
export interface PipeOptions {
  medium?: Medium;
  mtu?: number;
  names?: [string, string];
}

export class PipeEnd implements Device {
  readonly medium: Medium;
  readonly mtu: number;
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  private pending: Uint8Array[] = [];
  private listener: DeviceListener | undefined;
  private closed = false;
  /** The other end; set once by `createPipe`. */
  peer!: PipeEnd;

  constructor(readonly name: string, medium: Medium, mtu: number) {
    this.medium = medium;
    this.mtu = mtu;
  }

  receive(): Uint8Array | undefined {
    if (this.head === this.queue.length) return undefined;
    const frame = this.queue[this.head];
    this.queue[this.head++] = undefined as unknown as Uint8Array;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return frame;
  }

  transmit(frame: Uint8Array): void {
    if (!this.closed) this.pending.push(frame);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.peer.deliver(batch);
  }

  attach(listener: DeviceListener | undefined): void {
    this.listener = listener;
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.queue.length = 0;
    this.head = 0;
  }

  /** Frames waiting to be received. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  private deliver(batch: Uint8Array[]): void {
    if (this.closed) return;
    for (const f of batch) this.queue.push(f);
    this.listener?.readable();
  }
}

export function createPipe(opts: PipeOptions = {}): [PipeEnd, PipeEnd] {
  const medium = opts.medium ?? 'ethernet';
  const mtu = opts.mtu ?? 1500;
  const [na, nb] = opts.names ?? ['pipe0', 'pipe1'];
  const a = new PipeEnd(na, medium, mtu);
  const b = new PipeEnd(nb, medium, mtu);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
