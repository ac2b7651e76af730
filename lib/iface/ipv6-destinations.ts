import type { Ipv6Address } from '../wire/address';
import { IPV6_MIN_MTU } from '../wire/ipv6';
import type { NetInterface } from './interface';

/** RFC 8201 §4: a learned path MTU may be raised again after at least 5 minutes; Linux waits 10 (mtu_expires). */
const ENTRY_LIFETIME_MS = 600_000;
/** Entries held at most: a flood of Packet Too Big or Redirects cannot grow memory past this. */
const MAX_ENTRIES = 1024;

interface Entry {
  pmtu?: number;
  redirect?: { nextHop: Ipv6Address; iface: NetInterface };
  expiresAt: number;
}

/**
 * The destination cache of RFC 4861 §5: what the host learned per destination beyond
 * its routes, namely a smaller path MTU from Packet Too Big (RFC 8201) and a better first
 * hop from a Redirect (RFC 4861 §8.3). Entries age out and the table is bounded.
 */
export class Ipv6DestinationCache {
  private readonly entries = new Map<string, Entry>();

  pathMtu(dst: Ipv6Address, now: number): number | undefined {
    return this.live(dst, now)?.pmtu;
  }

  redirect(dst: Ipv6Address, now: number): { nextHop: Ipv6Address; iface: NetInterface } | undefined {
    return this.live(dst, now)?.redirect;
  }

  /** RFC 8201 §4: never below 1280, never raised by a Packet Too Big. */
  lowerPathMtu(dst: Ipv6Address, mtu: number, now: number): void {
    const e = this.entry(dst, now);
    const pmtu = Math.max(IPV6_MIN_MTU, mtu);
    if (e.pmtu === undefined || pmtu < e.pmtu) e.pmtu = pmtu;
  }

  setRedirect(dst: Ipv6Address, nextHop: Ipv6Address, iface: NetInterface, now: number): void {
    this.entry(dst, now).redirect = { nextHop, iface };
  }

  get size(): number {
    return this.entries.size;
  }

  private live(dst: Ipv6Address, now: number): Entry | undefined {
    const k = dst.key;
    const e = this.entries.get(k);
    if (e && e.expiresAt <= now) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  private entry(dst: Ipv6Address, now: number): Entry {
    const k = dst.key;
    let e = this.live(dst, now);
    if (!e) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      e = { expiresAt: now + ENTRY_LIFETIME_MS };
      this.entries.set(k, e);
    }
    return e;
  }
}
