import { uniform, type Random } from '../random';
import type { Ipv4Address, MacAddress } from '../wire/address';
import type { ArpRepr } from '../wire/arp';

/**
 * IPv4 Address Conflict Detection (RFC 5227) for one configured address.
 *
 *   probing     3 ARP Probes (sender IP 0.0.0.0), the first after a random delay in
 *               [0, PROBE_WAIT), then every [PROBE_MIN, PROBE_MAX); then ANNOUNCE_WAIT.
 *               The address is not used: no ARP replies, no IP packets to it.
 *   announcing  the address is claimed and in use; ANNOUNCE_NUM announcements
 *               ANNOUNCE_INTERVAL apart.
 *   bound       in use, defended (§2.4 (b): defend once per DEFEND_INTERVAL, give up
 *               on a second conflict within it).
 *   conflict    another host holds the address; it is never used.
 */

export type AcdState = 'probing' | 'announcing' | 'bound' | 'conflict';

export interface AcdConfig {
  /** Off: the address is usable at once (links where nobody else can hold it). */
  enabled: boolean;
  /**
   * Off: no probing (§2.1); the address is usable at once and is announced (§2.3) and
   * defended (§2.4) — what a host that must use its address immediately does, as Linux
   * does by default. The preload runs so: the app starts sending at once.
   */
  probe: boolean;
  probeWaitMs: number;
  probeNum: number;
  probeMinMs: number;
  probeMaxMs: number;
  announceWaitMs: number;
  announceNum: number;
  announceIntervalMs: number;
  defendIntervalMs: number;
}

/** RFC 5227 §1.1 constants. */
export const DEFAULT_ACD_CONFIG: AcdConfig = {
  enabled: true,
  probe: true,
  probeWaitMs: 1_000,
  probeNum: 3,
  probeMinMs: 1_000,
  probeMaxMs: 2_000,
  announceWaitMs: 2_000,
  announceNum: 2,
  announceIntervalMs: 2_000,
  defendIntervalMs: 10_000,
};

/** What the claim asks of its interface. */
export interface AcdSink {
  sendProbe(address: Ipv4Address): void;
  sendAnnouncement(address: Ipv4Address): void;
  ready(address: Ipv4Address, now: number): void;
  /** `wasInUse`: the address had been claimed and used (a defence was lost), not just probed. */
  conflict(address: Ipv4Address, holder: MacAddress, wasInUse: boolean, now: number): void;
}

export class AddressClaim {
  private current: AcdState = 'probing';
  private timerAt: number | undefined;
  private sent = 0;
  private lastDefendAt: number | undefined;
  private started = false;

  constructor(
    readonly address: Ipv4Address,
    private readonly config: AcdConfig,
    private readonly random: Random,
    private readonly sink: AcdSink,
  ) {}

  get state(): AcdState {
    return this.current;
  }

  /** Whether packets may be sent from and accepted for the address. */
  get usable(): boolean {
    return this.current === 'announcing' || this.current === 'bound';
  }

  /** The next time `poll` has work; 0 (at once) before the first poll starts the claim. */
  pollAt(): number | undefined {
    return this.started ? this.timerAt : 0;
  }

  poll(now: number): void {
    if (!this.started) {
      this.started = true;
      if (!this.config.enabled) {
        this.current = 'bound';
        this.sink.ready(this.address, now);
        return;
      }
      if (!this.config.probe) {
        this.current = 'announcing';
        this.sink.ready(this.address, now);
        this.timerAt = now;
        return;
      }
      // §2.1.1: wait a random time in [0, PROBE_WAIT) before the first probe.
      this.timerAt = now + uniform(this.random, 0, this.config.probeWaitMs);
      return;
    }
    if (this.timerAt === undefined || now < this.timerAt) return;
    if (this.current === 'probing') {
      if (this.sent < this.config.probeNum) {
        this.sink.sendProbe(this.address);
        this.sent++;
        this.timerAt =
          this.sent < this.config.probeNum
            ? now + uniform(this.random, this.config.probeMinMs, this.config.probeMaxMs)
            : now + this.config.announceWaitMs;
        return;
      }
      // §2.3: no conflict by ANNOUNCE_WAIT after the last probe: the address is ours.
      this.current = 'announcing';
      this.sent = 0;
      this.sink.ready(this.address, now);
    }
    if (this.current === 'announcing') {
      this.sink.sendAnnouncement(this.address);
      this.sent++;
      if (this.sent < this.config.announceNum) {
        this.timerAt = now + this.config.announceIntervalMs;
      } else {
        this.current = 'bound';
        this.timerAt = undefined;
      }
    }
  }

  /** Looks at every received ARP packet for evidence that another host holds the address. */
  observe(arp: ArpRepr, ourMac: MacAddress, now: number): void {
    if (this.current === 'conflict' || !this.started || arp.senderMac.equals(ourMac)) return;
    const claimsIt = arp.senderIp.equals(this.address);
    if (this.current === 'probing') {
      // §2.1.1: any ARP from the address, or another host's probe for it, is a conflict.
      const probesForIt = arp.senderIp.isUnspecified && arp.targetIp.equals(this.address);
      if (claimsIt || probesForIt) this.giveUp(arp.senderMac, now);
      return;
    }
    if (!claimsIt) return;
    // §2.4 (b): defend with one announcement, unless we already did within DEFEND_INTERVAL.
    if (this.lastDefendAt !== undefined && now - this.lastDefendAt < this.config.defendIntervalMs) {
      this.giveUp(arp.senderMac, now);
      return;
    }
    this.lastDefendAt = now;
    this.sink.sendAnnouncement(this.address);
  }

  private giveUp(holder: MacAddress, now: number): void {
    const wasInUse = this.usable;
    this.current = 'conflict';
    this.timerAt = undefined;
    this.sink.conflict(this.address, holder, wasInUse, now);
  }
}
