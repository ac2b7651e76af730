/**
 * The device seam: the only way frames enter or leave a stack.
 *
 * A device is pull-based on receive and batched on transmit, so the sans-IO core can
 * drain everything that is waiting in one `poll(now)` and the TAP driver can cross the
 * JS/C boundary once per batch:
 * - `receive()` hands over the next frame, or undefined when none waits. The frame is
 *   the caller's to keep: devices never reuse its memory.
 * - `transmit(frame)` queues a frame; the device owns it from then on and the caller
 *   must not change it. `flush()` sends what was queued.
 * - `attach(listener)` tells the driver when frames arrive and when the device fails;
 *   listeners are called outside `poll`, never re-entrantly from `transmit`.
 * Wrappers (tracer, fault injection, pcap capture) are devices around a device.
 */

/** What a device carries: Ethernet II frames (TAP) or bare IP packets (TUN). */
export type Medium = 'ethernet' | 'ip';

export interface DeviceListener {
  /** Frames are waiting in `receive()`. */
  readable(): void;
  /** The device failed for good (it was deleted, or a read or write failed). */
  error(err: Error): void;
}

export interface Device {
  readonly name: string;
  readonly medium: Medium;
  /** The largest IP packet the link carries (the Ethernet payload, without its header). */
  readonly mtu: number;
  receive(): Uint8Array | undefined;
  transmit(frame: Uint8Array): void;
  flush(): void;
  attach(listener: DeviceListener | undefined): void;
  close(): void;
  /**
   * When a device holds frames for later (a delay in fault injection), the time at which
   * it next wants `flush()` called; the stack folds it into its own `pollAt()`.
   */
  pollAt?(): number | undefined;
  /**
   * Whether the transport checksum of the frame `receive()` last returned is known good:
   * the device made it whole or had it verified (a TAP with offload). The stack then does
   * not check it again; absent or false, it does.
   */
  receivedChecksumGood?(): boolean;
}

/** Ethernet II header length: what an Ethernet device adds to the MTU in a frame. */
export const ETHERNET_OVERHEAD = 14;
