/**
 * Loads the TAP/TUN addon (native/tuntap.c) and describes its contract.
 *
 * The addon is found from the package root, the directory that holds binding.gyp:
 * walking up from this file works both from the sources (lib/phy/, under vitest) and
 * from the compiled output (dist/lib/phy/). node-gyp-build then picks a prebuild or
 * build/Release/.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** An error from the addon, shaped like Node's system errors. */
export interface TunTapError extends Error {
  /** Negative errno, as libuv reports it (-1 for EPERM). */
  errno: number;
  /** 'EPERM', 'EACCES', 'EBADFD', ... */
  code: string;
  /** 'open', 'ioctl', 'setns', 'read', 'write', ... */
  syscall: string;
  /** The interface the call was about. */
  dev?: string;
  /** The file the call was about ('/dev/net/tun', a namespace path). */
  path?: string;
}

/**
 * Called once per wake-up of the device: either `(null, buffer, count)`, where `buffer`
 * holds `count` frames back to back followed by their uint32 end offsets (see
 * `splitBatch`), or `(error)` once, when the device failed and polling stopped.
 */
export type BatchCallback = (err: TunTapError | null, buffer?: ArrayBuffer, count?: number) => void;

/** What `open` returns: the opaque handle for the other calls, with the device's facts. */
export interface NativeHandle {
  readonly fd: number;
  /** The interface name the kernel gave (the requested one, or tapN/tunN for ''). */
  readonly name: string;
  /** The link MTU after setup. */
  readonly mtu: number;
  /** TAP only: the kernel side's own MAC address. */
  readonly mac?: Uint8Array;
}

export interface NativeOpenOptions {
  /** Path of the network namespace to open the device in (e.g. /run/netns/NAME). */
  netns?: string;
  /** MTU to set on the link. */
  mtu?: number;
  /** The virtio-net header with checksum and TCP segmentation offload on receive. */
  offload?: boolean;
}

export interface TunTapAddon {
  /** Opens (creating or attaching to) the device, sets it up and starts polling it. */
  open(name: string, mode: 'tap' | 'tun', opts: NativeOpenOptions, onbatch: BatchCallback): NativeHandle;
  /**
   * Writes each frame with one write(2); returns how many the kernel took. Frames refused
   * for the moment (EAGAIN, ENOBUFS, link down: EIO, malformed: EINVAL) are dropped and
   * not counted; any other error is thrown.
   */
  write(handle: NativeHandle, frames: readonly Uint8Array[]): number;
  /** Stops polling and closes the fd; safe to call twice. */
  close(handle: NativeHandle): void;
  /** Whether the device's poll keeps the event loop (and the handle) alive; ref'ed at open. */
  ref(handle: NativeHandle): void;
  unref(handle: NativeHandle): void;
  /** Fds this addon instance holds open and poll handles not yet fully closed (for leak tests). */
  liveHandles(): { fds: number; polls: number };
}

/** The nearest directory at or above `from` that holds binding.gyp. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`pytcp: no binding.gyp above ${from}`);
  }
}

/** The top bit of an end offset: the device finished or verified the frame's transport checksum. */
const CHECKSUM_GOOD = 0x8000_0000;
const END_MASK = 0x7fff_ffff;

/**
 * Appends the first `take` frames of a batch to `into` as views on its buffer (no copies:
 * the frames keep the buffer alive), and to `good` whether each one's transport checksum
 * is known good (see tuntap.c: CHECKSUM_GOOD).
 */
export function splitBatch(buffer: ArrayBuffer, count: number, into: Array<Uint8Array | undefined>, good: boolean[], take = count): void {
  const ends = new Uint32Array(buffer, buffer.byteLength - 4 * count, count);
  let start = 0;
  for (let i = 0; i < take; i++) {
    const end = ends[i] & END_MASK;
    into.push(new Uint8Array(buffer, start, end - start));
    good.push((ends[i] & CHECKSUM_GOOD) !== 0);
    start = end;
  }
}

// The loaded addon is immutable and process-wide by nature (a shared object is loaded
// once per process), so it is cached instead of walking the file system on every open.
let loaded: TunTapAddon | undefined;

export function loadTunTap(): TunTapAddon {
  if (loaded === undefined) {
    const requireHere = createRequire(__filename);
    const nodeGypBuild = requireHere('node-gyp-build') as (dir: string) => unknown;
    loaded = nodeGypBuild(packageRoot()) as TunTapAddon;
  }
  return loaded;
}
