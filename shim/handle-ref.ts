import { AsyncResource } from 'node:async_hooks';
import type { ShimHost } from './host';

/**
 * libuv's ref/unref for the shim's stand-in handles: a handle that is active (listening,
 * reading, with a request in flight) and referenced keeps the process alive, as uv_ref
 * does; each subclass says when it is active and calls `updateHold()` when that changes.
 */
export abstract class ReferencedHandle {
  private referenced = true;
  private holding = false;
  private asyncResource: AsyncResource | undefined;

  /** `provider` is the async_hooks type Node's own handle reports ('TCPWRAP', 'UDPWRAP'). */
  protected constructor(
    protected readonly host: ShimHost,
    private readonly provider: string,
  ) {}

  /**
   * The handle's async id, as AsyncWrap::GetAsyncId answers (http's client reads it for the
   * socket it keeps alive); the async resource is made when first asked for.
   */
  getAsyncId(): number {
    this.asyncResource ??= new AsyncResource(this.provider);
    return this.asyncResource.asyncId();
  }

  /** Whether libuv would count this handle as active now. */
  protected abstract get active(): boolean;

  ref(): void {
    this.referenced = true;
    this.updateHold();
  }

  unref(): void {
    this.referenced = false;
    this.updateHold();
  }

  hasRef(): boolean {
    return this.referenced;
  }

  protected updateHold(): void {
    const hold = this.active && this.referenced;
    if (hold === this.holding) return;
    this.holding = hold;
    this.host.hold(hold);
  }
}
