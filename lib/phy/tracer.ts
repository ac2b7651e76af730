import type { Clock } from '../clock';
import { describeFrame } from '../wire/describe';
import type { Device, DeviceListener, Medium } from './device';

/**
 * The packet log as a device (smoltcp's Tracer): wraps a device and writes one line per
 * frame in each direction, `<seconds.micros> <device> rx|tx <description>`, through the
 * `write` it was given (a debuglog, a file, a test's array). Frames pass through untouched.
 */
export class TracerDevice implements Device {
  constructor(
    private readonly inner: Device,
    private readonly write: (line: string) => void,
    private readonly clock: Clock,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get medium(): Medium {
    return this.inner.medium;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  receive(): Uint8Array | undefined {
    const frame = this.inner.receive();
    if (frame !== undefined) this.log('rx', frame);
    return frame;
  }

  transmit(frame: Uint8Array): void {
    this.log('tx', frame);
    this.inner.transmit(frame);
  }

  flush(): void {
    this.inner.flush();
  }

  attach(listener: DeviceListener | undefined): void {
    this.inner.attach(listener);
  }

  close(): void {
    this.inner.close();
  }

  pollAt(): number | undefined {
    return this.inner.pollAt?.();
  }

  private log(direction: 'rx' | 'tx', frame: Uint8Array): void {
    const seconds = (this.clock.now() / 1000).toFixed(6);
    this.write(`${seconds} ${this.inner.name} ${direction} ${describeFrame(frame, this.inner.medium)}`);
  }
}
