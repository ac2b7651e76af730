import { readFileSync } from 'node:fs';
import type { StackDriver } from '../lib/driver';
import { ProcessHold } from '../lib/process-hold';
import type { UdpSocket } from '../lib/socket/udp-socket';

/** What a socket handle sees of the stack it runs on. */
export interface UdpDispatch {
  /** The socket got datagrams or an error: hand them to the app. */
  onReady(): void;
}

/**
 * Socket buffer limits as Linux applies them to SO_RCVBUF/SO_SNDBUF (net.core sysctls),
 * read from the host so that `getRecvBufferSize()` answers as a kernel socket would here.
 */
export interface BufferLimits {
  rmemDefault: number;
  wmemDefault: number;
  rmemMax: number;
  wmemMax: number;
}

const LINUX_DEFAULT = 212_992;

function sysctl(name: string): number {
  try {
    const value = Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : LINUX_DEFAULT;
  } catch {
    return LINUX_DEFAULT;
  }
}

export function hostBufferLimits(): BufferLimits {
  return { rmemDefault: sysctl('rmem_default'), wmemDefault: sysctl('wmem_default'), rmemMax: sysctl('rmem_max'), wmemMax: sysctl('wmem_max') };
}

/**
 * The shim's side of one running stack: which handle owns which core socket, and
 * whether the app's sockets should keep the process alive. A bound, referenced socket
 * keeps Node's event loop alive as a real one does; the stack itself never does
 * (its device and timers are unreferenced), so the process exits when the app is done.
 */
export class ShimHost {
  private readonly udpHandles = new Map<UdpSocket, UdpDispatch>();
  private readonly lifetime = new ProcessHold();

  constructor(
    readonly driver: StackDriver,
    readonly limits: BufferLimits = hostBufferLimits(),
  ) {
    driver.on('udp-ready', (sockets) => {
      for (const s of sockets) this.udpHandles.get(s)?.onReady();
    });
  }

  /** The one ShimHost of `driver` (a stack's sockets must share one dispatch). */
  static for(driver: StackDriver): ShimHost {
    let host = hostsByDriver.get(driver);
    if (!host) {
      host = new ShimHost(driver);
      hostsByDriver.set(driver, host);
    }
    return host;
  }

  get stack() {
    return this.driver.stack;
  }

  attachUdp(socket: UdpSocket, handle: UdpDispatch): void {
    this.udpHandles.set(socket, handle);
  }

  detachUdp(socket: UdpSocket): void {
    this.udpHandles.delete(socket);
  }

  /** One more (or one fewer) active, referenced handle. */
  hold(on: boolean): void {
    this.lifetime.hold(on);
  }
}

const hostsByDriver = new WeakMap<StackDriver, ShimHost>();
