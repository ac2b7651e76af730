import type { Device, DeviceListener } from './device';

/**
 * The loopback device: every packet transmitted comes back as received, so traffic
 * from the stack to its own addresses never touches a real device. It carries bare IP
 * packets; its MTU is Linux's `lo` MTU. Frames sent during a pass of the stack's poll are
 * received in the next pass (the stack runs a few while `lo` holds packets), and past
 * those in the next poll, which `pollAt()` asks for at once.
 */
export const LOOPBACK_MTU = 65536;

export class LoopbackDevice implements Device {
  readonly medium = 'ip' as const;
  readonly mtu = LOOPBACK_MTU;
  private queue: Uint8Array[] = [];
  private head = 0;
  private pending: Uint8Array[] = [];
  private listener: DeviceListener | undefined;

  constructor(readonly name = 'lo') {}

  receive(): Uint8Array | undefined {
    if (this.head === this.queue.length) return undefined;
    const frame = this.queue[this.head++];
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return frame;
  }

  transmit(frame: Uint8Array): void {
    this.pending.push(frame);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    for (const f of this.pending) this.queue.push(f);
    this.pending = [];
    this.listener?.readable();
  }

  /** Whether packets wait to be received. */
  get holdsPackets(): boolean {
    return this.head < this.queue.length;
  }

  /** Due at once while packets wait to be received. */
  pollAt(): number | undefined {
    return this.head < this.queue.length ? 0 : undefined;
  }

  attach(listener: DeviceListener | undefined): void {
    this.listener = listener;
  }

  close(): void {
    this.queue = [];
    this.head = 0;
    this.pending = [];
  }
}
