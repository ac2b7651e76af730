/**
 * TAP and TUN devices over the native addon.
 *
 * Frames arrive in batches (one per wake-up of the fd) and wait in a queue that
 * `receive()` drains; the listener hears `readable()` once per batch. Transmitted frames
 * wait in a list that `flush()` hands to the kernel in one call into C. When the device
 * fails (deleted under us, or a write fails for good) it closes itself and the listener
 * hears `error(err)` once.
 */
import { MacAddress } from '../wire/address';
import type { Device, DeviceListener, Medium } from './device';
import { loadTunTap, splitBatch, type NativeHandle, type TunTapAddon, type TunTapError } from './native';

export interface TunTapOptions {
  /** Interface name, at most 15 bytes; '' lets the kernel choose (tapN/tunN). */
  name: string;
  /** IP MTU to set on the link; default: leave it as it is and read it back. */
  mtu?: number;
  /** Network namespace to open the device in: a name (in /run/netns) or a path. */
  netns?: string;
  /**
   * Offload through the virtio-net header (IFF_VNET_HDR, TUNSETOFFLOAD TSO4/TSO6 and CSUM).
   * Receiving: the kernel hands over TCP super-segments of up to 64 KB instead of MSS-sized
   * ones; the addon finishes the checksums the kernel leaves partial, so received frames are
   * ordinary packets, some larger than the MTU. Sending: consecutive segments of one flow
   * in a flush are written as one super-segment the kernel cuts back into them (GSO).
   * Either way ~40x fewer frames cross the device for bulk data.
   */
  offload?: boolean;
}

export interface TunTapStats {
  rxFrames: number;
  rxBatches: number;
  /** Frames dropped because `receive()` was not keeping up (the queue was full). */
  rxDropped: number;
  txFrames: number;
  txBatches: number;
  /** Frames the kernel refused for the moment (no buffers, link down, malformed). */
  txDropped: number;
}

/** Frames waiting for `receive()` before new ones are dropped: ~6 MB of 1514-byte frames. */
const RX_QUEUE_LIMIT = 4096;
/** Received slots before the queue array is compacted when a consumer never fully drains it. */
const RX_COMPACT_AT = 1024;

/** `ip netns` keeps named namespaces here. */
const NETNS_DIR = '/run/netns/';

function netnsPath(netns: string): string {
  if (netns.includes('/')) return netns;
  if (netns === '' || netns === '.' || netns === '..') throw new TypeError(`Invalid network namespace name: ${JSON.stringify(netns)}`);
  return NETNS_DIR + netns;
}

/** What TAP and TUN share: everything but the medium and the TAP's MAC. */
export abstract class TunTapDevice implements Device {
  abstract readonly medium: Medium;
  readonly name: string;
  readonly mtu: number;
  readonly stats: TunTapStats = { rxFrames: 0, rxBatches: 0, rxDropped: 0, txFrames: 0, txBatches: 0, txDropped: 0 };

  protected readonly handle: NativeHandle;
  private readonly addon: TunTapAddon;
  private isOpen = true;
  private listener: DeviceListener | undefined;
  private rxQueue: Array<Uint8Array | undefined> = [];
  /** Beside rxQueue: whether each frame's transport checksum is known good (offload). */
  private rxChecksumGood: boolean[] = [];
  private lastChecksumGood = false;
  /** The next frame to receive: a head index, because Array.shift is O(n) per frame. */
  private rxHead = 0;
  private txPending: Uint8Array[] = [];

  protected constructor(mode: 'tap' | 'tun', opts: TunTapOptions) {
    this.addon = loadTunTap();
    const nativeOpts = {
      ...(opts.netns !== undefined && { netns: netnsPath(opts.netns) }),
      ...(opts.mtu !== undefined && { mtu: opts.mtu }),
      ...(opts.offload !== undefined && { offload: opts.offload }),
    };
    this.handle = this.addon.open(opts.name, mode, nativeOpts, (err, buffer, count) => this.onBatch(err, buffer, count));
    this.name = this.handle.name;
    this.mtu = this.handle.mtu;
  }

  receive(): Uint8Array | undefined {
    if (this.rxHead === this.rxQueue.length) return undefined;
    const frame = this.rxQueue[this.rxHead];
    this.lastChecksumGood = this.rxChecksumGood[this.rxHead];
    this.rxQueue[this.rxHead++] = undefined; // the caller owns it now; do not pin its batch
    if (this.rxHead === this.rxQueue.length) {
      this.rxQueue.length = 0;
      this.rxChecksumGood.length = 0;
      this.rxHead = 0;
    }
    return frame;
  }

  /** Whether the addon finished, or the kernel verified, the transport checksum of the frame receive() last returned. */
  receivedChecksumGood(): boolean {
    return this.lastChecksumGood;
  }

  transmit(frame: Uint8Array): void {
    if (this.isOpen) this.txPending.push(frame);
  }

  flush(): void {
    if (!this.isOpen || this.txPending.length === 0) return;
    const frames = this.txPending;
    let written: number;
    try {
      written = this.addon.write(this.handle, frames);
    } catch (err) {
      this.shutDown();
      // Listeners are never called from inside the stack's own calls.
      process.nextTick(() => this.listener?.error(err as Error));
      return;
    }
    this.stats.txBatches++;
    this.stats.txFrames += written;
    this.stats.txDropped += frames.length - written;
    frames.length = 0;
  }

  attach(listener: DeviceListener | undefined): void {
    this.listener = listener;
  }

  /** Keep the process alive while the device is open (the default). */
  ref(): void {
    if (this.isOpen) this.addon.ref(this.handle);
  }

  /** Let the process exit even though the device is open. */
  unref(): void {
    if (this.isOpen) this.addon.unref(this.handle);
  }

  close(): void {
    if (this.isOpen) this.shutDown();
  }

  private shutDown(): void {
    this.isOpen = false;
    this.addon.close(this.handle);
    this.rxQueue = [];
    this.rxChecksumGood = [];
    this.rxHead = 0;
    this.txPending = [];
  }

  private onBatch(err: TunTapError | null, buffer?: ArrayBuffer, count?: number): void {
    if (!this.isOpen) return;
    if (err !== null) {
      this.shutDown();
      this.listener?.error(err);
      return;
    }
    if (buffer === undefined || count === undefined) return;
    const queued = this.rxQueue.length - this.rxHead;
    const take = Math.min(count, RX_QUEUE_LIMIT - queued);
    if (this.rxHead >= RX_COMPACT_AT) {
      this.rxQueue.splice(0, this.rxHead);
      this.rxChecksumGood.splice(0, this.rxHead);
      this.rxHead = 0;
    }
    splitBatch(buffer, count, this.rxQueue, this.rxChecksumGood, take);
    this.stats.rxBatches++;
    this.stats.rxFrames += count;
    this.stats.rxDropped += count - take;
    this.listener?.readable();
  }
}

/** A TAP device: Ethernet II frames. */
export class TapDevice extends TunTapDevice {
  readonly medium = 'ethernet' as const;
  /** The TAP's own kernel-side MAC; the stack must use another one on the link. */
  readonly kernelMac: MacAddress;

  private constructor(opts: TunTapOptions) {
    super('tap', opts);
    this.kernelMac = MacAddress.fromBytes(this.handle.mac!);
  }

  static open(opts: TunTapOptions): TapDevice {
    return new TapDevice(opts);
  }
}

/** A TUN device: bare IPv4 and IPv6 packets. */
export class TunDevice extends TunTapDevice {
  readonly medium = 'ip' as const;

  private constructor(opts: TunTapOptions) {
    super('tun', opts);
  }

  static open(opts: TunTapOptions): TunDevice {
    return new TunDevice(opts);
  }
}
