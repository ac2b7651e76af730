/**
 * Connections the app has closed while the stack still owes the peer data or a FIN. On
 * Linux close(2) leaves such a connection to the kernel ("orphaned"), which delivers the
 * rest after the process has gone; here the stack lives in the process, so the process
 * stays alive until each orphan's data and FIN are acknowledged (or it closes some other
 * way), for at most ORPHAN_LINGER_MS: Linux gives up on an orphan after
 * tcp_orphan_retries, and on FIN-WAIT-2 after tcp_fin_timeout (60 s).
 */
import type { StackDriver } from '../lib/driver';
import type { TcpConnection } from '../lib/socket/tcp/connection';
import { TcpState } from '../lib/socket/tcp/state';

export const ORPHAN_LINGER_MS = 60_000;
/** How often the orphans are looked at: they send no notices once closed. */
const CHECK_MS = 20;

/** States in which something the app wrote (data or the FIN) is not yet acknowledged. */
function owesThePeer(conn: TcpConnection): boolean {
  const s = conn.state;
  return s === TcpState.FinWait1 || s === TcpState.Closing || s === TcpState.LastAck;
}

export class TcpOrphans {
  /** Each orphan and the driver time at which it is let go. */
  private readonly lingering = new Map<TcpConnection, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly driver: StackDriver) {}

  get size(): number {
    return this.lingering.size;
  }

  /** `conn` was just closed by its app: hold the process while it still owes the peer. */
  adopt(conn: TcpConnection): void {
    if (!owesThePeer(conn)) return;
    this.lingering.set(conn, this.driver.now() + ORPHAN_LINGER_MS);
    // A referenced timer is what keeps Node's event loop, and so the process, alive.
    this.timer ??= setInterval(() => this.check(), CHECK_MS);
  }

  private check(): void {
    const now = this.driver.now();
    for (const [conn, until] of this.lingering) if (!owesThePeer(conn) || now >= until || !this.driver.isRunning) this.lingering.delete(conn);
    if (this.lingering.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
