import { uniform, type Random } from '../random';
import type { Ipv6Address } from '../wire/address';

/**
 * Duplicate Address Detection (RFC 4862 §5.4) for one tentative IPv6 address, with the
 * Nonce option that tells our own looped-back probes from another node's (RFC 7527).
 *
 *   waiting    tentative; a random delay before the first Neighbor Solicitation (§5.4.2)
 *   probing    tentative; DupAddrDetectTransmits solicitations RetransTimer apart, then one
 *              more RetransTimer of silence
 *   done       no duplicate seen: the address is assigned (preferred or deprecated by its
 *              lifetimes, which are not DAD's business)
 *   duplicate  another node holds the address; it MUST NOT be assigned (§5.4.5). If it was a
 *              link-local address formed from the hardware address, the host SHOULD disable
 *              IP on the interface: that is the host's call, made in `sink.duplicate`.
 *
 * While tentative the address is not used: packets to it are dropped, it is not a source,
 * and a Neighbor Solicitation for it is not answered (§5.4, §5.4.3).
 */

export type DadState = 'waiting' | 'probing' | 'done' | 'duplicate';

export interface DadConfig {
  /** DupAddrDetectTransmits (§5.1); 0 turns DAD off. */
  transmits: number;
  /** RetransTimer (RFC 4861 §6.3.2), ms. */
  retransMs: number;
  /** The random delay before the first solicitation is drawn from [0, maxDelayMs) (§5.4.2: MAX_RTR_SOLICITATION_DELAY). */
  maxDelayMs: number;
}

/** RFC 4862 §5.1 and RFC 4861 §10 defaults. */
export const DEFAULT_DAD_CONFIG: DadConfig = { transmits: 1, retransMs: 1_000, maxDelayMs: 1_000 };

/** RFC 7527 §4.1 / RFC 3971 §5.3.2: a nonce of at least 6 bytes; 6 fills the smallest option. */
export const DAD_NONCE_LEN = 6;

export interface DadSink {
  /**
   * Join the solicited-node group of the address (before sending, §5.4.2) and send a
   * Neighbor Solicitation from :: to it, target = address, with this Nonce option (RFC 7527).
   */
  sendProbe(address: Ipv6Address, nonce: Uint8Array): void;
  ready(address: Ipv6Address, now: number): void;
  duplicate(address: Ipv6Address, now: number, how: 'ns' | 'na'): void;
}

export class DadClaim {
  private current: DadState = 'waiting';
  private started = false;
  private timerAt: number | undefined;
  /** The nonces of the solicitations sent, to recognise them looped back (RFC 7527 §4.2). */
  private readonly nonces: Uint8Array[] = [];

  constructor(
    readonly address: Ipv6Address,
    private readonly config: DadConfig,
    private readonly random: Random,
    private readonly sink: DadSink,
  ) {}

  get state(): DadState {
    return this.current;
  }

  /** §5.4: a tentative address is not yet assigned and must not be used. */
  get tentative(): boolean {
    return this.current === 'waiting' || this.current === 'probing';
  }

  /** The next time `poll` has work; 0 (at once) before the first poll starts DAD. */
  pollAt(): number | undefined {
    if (!this.tentative) return undefined;
    return this.started ? this.timerAt : 0;
  }

  poll(now: number): void {
    if (!this.tentative) return;
    if (!this.started) {
      this.started = true;
      if (this.config.transmits <= 0) {
        // §5.4: DupAddrDetectTransmits 0 means no DAD; the address is assigned at once.
        this.finish(now);
        return;
      }
      // §5.4.2: the first solicitation after a random delay, so that hosts starting
      // together (a power failure) do not all probe at once.
      this.timerAt = now + uniform(this.random, 0, this.config.maxDelayMs);
    }
    if (this.timerAt === undefined || now < this.timerAt) return;
    if (this.nonces.length < this.config.transmits) {
      const nonce = this.newNonce();
      this.nonces.push(nonce);
      this.current = 'probing';
      this.sink.sendProbe(this.address, nonce);
      this.timerAt = now + this.config.retransMs;
      return;
    }
    // §5.4.2: RetransTimer after the last solicitation with no sign of a duplicate.
    this.finish(now);
  }

  /**
   * A Neighbor Solicitation whose target is this address arrived (§5.4.3). From :: it is
   * another node's DAD for the same address, unless its nonce is one of ours: our own
   * probe looped back by the link (RFC 7527 §4.2), ignored. From a unicast source it is
   * address resolution or unreachability detection, which a tentative address ignores.
   * Once assigned, answering solicitations is Neighbor Discovery's job, not DAD's.
   */
  observeSolicit(src: Ipv6Address, nonce: Uint8Array | undefined, now: number): void {
    if (!this.tentative || !src.isUnspecified) return;
    if (nonce !== undefined && this.nonces.some((sent) => bytesEqual(sent, nonce))) return;
    this.declareDuplicate(now, 'ns');
  }

  /**
   * A Neighbor Advertisement whose target is this address arrived (§5.4.4): while
   * tentative, someone else already holds it. Once assigned, §5.4.4 leaves it alone.
   */
  observeAdvert(now: number): void {
    if (this.tentative) this.declareDuplicate(now, 'na');
  }

  private newNonce(): Uint8Array {
    const nonce = new Uint8Array(DAD_NONCE_LEN);
    for (let i = 0; i < nonce.length; i += 4) {
      const word = this.random.u32();
      for (let j = 0; j < 4 && i + j < nonce.length; j++) nonce[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return nonce;
  }

  private finish(now: number): void {
    this.current = 'done';
    this.timerAt = undefined;
    this.sink.ready(this.address, now);
  }

  private declareDuplicate(now: number, how: 'ns' | 'na'): void {
    this.current = 'duplicate';
    this.timerAt = undefined;
    this.sink.duplicate(this.address, now, how);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
