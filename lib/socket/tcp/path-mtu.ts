/**
 * What TCP keeps of IPv4 path MTU discovery (RFC 1191): the MTUs learned per destination,
 * and the plateau guess for a report without a next-hop MTU.
 */
import type { Ipv4Address } from '../../wire/address';
import { minPathMtu } from './options';

/** Linux's mtu_expires: a learned path MTU is forgotten after 10 minutes, so a path that grew is found again (RFC 1191 §6.3). */
const PMTU_LIFETIME_MS = 600_000;
/**
 * The floor connections keep (options.ts, like Linux's ip_rt_min_pmtu): a smaller claimed MTU
 * is not believed, and the path is then sent to without DF, as Linux does for a locked PMTU.
 */
const MIN_PMTU = minPathMtu(4);
/** Entries held at most, so a flood of forged errors cannot grow memory. */
const MAX_PMTU_ENTRIES = 1024;

/** IPv4 path MTUs learned from "fragmentation needed" (RFC 1191), per destination; IPv6 keeps its own (RFC 8201). */
export class Ipv4PathMtus {
  private readonly entries = new Map<number, { mtu: number; locked: boolean; expiresAt: number }>();

  get(dst: Ipv4Address, now: number): number | undefined {
    return this.live(dst, now)?.mtu;
  }

  locked(dst: Ipv4Address, now: number): boolean {
    return this.entries.size > 0 && this.live(dst, now)?.locked === true;
  }

  /** RFC 1191 §6.3: only ever lowered by a report; the floor is Linux's. */
  lower(dst: Ipv4Address, mtu: number, now: number): void {
    const current = this.live(dst, now);
    const locked = mtu < MIN_PMTU;
    const next = Math.max(mtu, MIN_PMTU);
    if (current && current.mtu <= next && !(locked && !current.locked)) return;
    if (!current && this.entries.size >= MAX_PMTU_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(dst.value, { mtu: Math.min(next, current?.mtu ?? Infinity), locked: locked || current?.locked === true, expiresAt: now + PMTU_LIFETIME_MS });
  }

  private live(dst: Ipv4Address, now: number) {
    const e = this.entries.get(dst.value);
    if (e && e.expiresAt <= now) {
      this.entries.delete(dst.value);
      return undefined;
    }
    return e;
  }
}

/** RFC 1191 §7: without a next-hop MTU, the plateau below the length of the datagram that did not fit. */
const PLATEAUS = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

export function plateauBelow(length: number): number {
  return PLATEAUS.find((p) => p < length) ?? 68;
}
