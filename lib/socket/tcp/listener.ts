import type { TcpConnection } from './connection';
import { isSynchronized } from './state';
import type { IpAddress } from './types';

/** Linux's net.core.somaxconn (4096 since 5.4): the most a backlog may ask for. */
export const SOMAXCONN = 4096;

/** Linux's TCP_SYNCOOKIE_VALID: cookie ACKs are checked only this long after the last cookie went out. */
const COOKIE_WINDOW_MS = 120_000;

/** What a listener needs from the layer that owns it. */
export interface TcpListenerOwner {
  /** The app took `conn`: from now on its notices are the app's. */
  accepted(conn: TcpConnection): void;
  close(listener: TcpListener, now: number): void;
}

/**
 * A passive open (RFC 9293 §3.10.1 OPEN with no foreign socket): the connections it spawned,
 * in two queues as Linux keeps them. The SYN queue holds connections still in SYN-RECEIVED;
 * the accept queue holds those that reached ESTABLISHED (or beyond) and wait for `accept()`.
 * Together they are bounded by the backlog (clamped to SOMAXCONN); past it, the layer answers
 * SYNs with SYN cookies, and once the accept queue alone is full it drops them, as Linux does
 * (a cookie's ACK would find no room either).
 */
export class TcpListener {
  readonly backlog: number;
  private readonly synQueue = new Set<TcpConnection>();
  private readonly acceptQueue: TcpConnection[] = [];
  /** When the layer last answered a SYN with a cookie. */
  private lastCookieAt = -Infinity;
  closed = false;

  constructor(
    readonly family: 4 | 6,
    /** undefined for the wildcard (0.0.0.0 or ::). */
    readonly address: IpAddress | undefined,
    readonly port: number,
    backlog: number,
    private readonly owner: TcpListenerOwner,
    /** Shares its port with listeners of other addresses that also set it (tcp.ts). */
    readonly reusePort = false,
  ) {
    // Linux (__sys_listen): the backlog is clamped to somaxconn; 0 still admits one.
    this.backlog = Math.max(1, Math.min(SOMAXCONN, Math.floor(backlog) || 0));
  }

  /** The oldest established connection not yet taken, or undefined. */
  accept(): TcpConnection | undefined {
    const conn = this.acceptQueue.shift();
    if (conn) this.owner.accepted(conn);
    return conn;
  }

  /** Connections in SYN-RECEIVED. */
  get synReceived(): number {
    return this.synQueue.size;
  }

  /** Connections waiting for accept(). */
  get acceptable(): number {
    return this.acceptQueue.length;
  }

  /** Stops listening: connections not yet accepted are reset (Linux's inet_csk_listen_stop). */
  close(now: number): void {
    this.owner.close(this, now);
  }

  /** The backlog is used up: new SYNs get cookies. */
  get synQueueFull(): boolean {
    return this.synQueue.size + this.acceptQueue.length >= this.backlog;
  }

  /** Linux's sk_acceptq_is_full: not even a cookie's ACK could be queued. */
  get acceptQueueFull(): boolean {
    return this.acceptQueue.length >= this.backlog;
  }

  /** Linux (tcp_synq_no_recent_overflow): a bare ACK is worth checking as a cookie only soon after one was sent. */
  cookiesRecent(now: number): boolean {
    return now - this.lastCookieAt < COOKIE_WINDOW_MS;
  }

  cookieSent(now: number): void {
    this.lastCookieAt = now;
  }

  /** A new connection in SYN-RECEIVED, or (from a cookie) already established; true when it is ready to accept. */
  add(conn: TcpConnection): boolean {
    if (!isSynchronized(conn.state)) {
      this.synQueue.add(conn);
      return false;
    }
    this.acceptQueue.push(conn);
    return true;
  }

  /** Moves `conn` to the accept queue once its handshake completed; true when it moved. */
  promote(conn: TcpConnection): boolean {
    if (!this.synQueue.has(conn) || !isSynchronized(conn.state)) return false;
    this.synQueue.delete(conn);
    this.acceptQueue.push(conn);
    return true;
  }

  /**
   * `conn` closed: one still in the SYN queue (reset, or its SYN-ACKs unanswered) leaves it,
   * and true says so. One already in the accept queue stays there, as on Linux, and accept()
   * hands it out to learn its fate.
   */
  forget(conn: TcpConnection): boolean {
    return this.synQueue.delete(conn);
  }

  /** Every connection not yet accepted, emptying both queues (for close). */
  drain(): TcpConnection[] {
    const all = [...this.synQueue, ...this.acceptQueue];
    this.synQueue.clear();
    this.acceptQueue.length = 0;
    return all;
  }
}
