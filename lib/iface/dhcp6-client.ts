import { uniform, type Random } from '../random';
import { Ipv6Address, type MacAddress } from '../wire/address';
import { DHCP6_INFINITY, Dhcp6MessageType as T, Dhcp6Option, Dhcp6Repr, Dhcp6StatusCode, duidLl, type Dhcp6IaNa } from '../wire/dhcp6';
import type { DropReason } from '../wire/drop';

/**
 * The DHCPv6 client (RFC 8415 §18), sans-IO: messages go out through the host, come in
 * through `receive`, and every timer is a deadline that `poll(now)` acts on.
 *
 *   idle         nothing asked yet; or stateless and waiting to refresh (§21.23)
 *   soliciting   SOLICIT sent, collecting ADVERTISEs (§18.2.1)
 *   requesting   REQUEST to the chosen server sent, waiting for its REPLY (§18.2.2)
 *   bound        the address is in use until T1
 *   renewing     T1 passed: RENEW to the server that granted it (§18.2.4)
 *   rebinding    T2 passed: REBIND to any server (§18.2.5)
 *   informing    INFORMATION-REQUEST sent (§18.2.6, stateless)
 *   stopped      released; nothing more until a start
 *
 * One IA_NA with one address. Not implemented: Rapid Commit, CONFIRM after a link change,
 * RECONFIGURE, and retransmitting DECLINE and RELEASE (§18.2.7/§18.2.8 ask for it; both
 * go out once, the lease is given up at once, and an unanswered one times out at the server).
 */

export interface Dhcp6Lease {
  address: Ipv6Address;
  preferredS: number;
  validS: number;
  t1S: number;
  t2S: number;
  serverId: Uint8Array;
  serverAddress: Ipv6Address;
  dnsServers: Ipv6Address[];
  /** When the REPLY that granted it arrived; lifetimes, T1 and T2 run from then, ms. */
  obtainedAt: number;
}

export interface Dhcp6ClientHost {
  readonly mac: MacAddress;
  /** Send to ff02::1:2 (All_DHCP_Relay_Agents_and_Servers) from the link-local address, UDP 546 → 547. */
  send(message: Dhcp6Repr): void;
  /** Configure the leased address (as a /128, RFC 8415 §18.2.10.1: prefix length comes from RAs, not DHCPv6) and DNS servers; also on renewal. */
  bind(lease: Dhcp6Lease): void;
  unbind(lease: Dhcp6Lease, reason: 'expired' | 'released' | 'declined' | 'nak'): void;
  /** Stateless (O flag): DNS servers from INFORMATION-REQUEST/REPLY. */
  otherConfig(dnsServers: Ipv6Address[]): void;
}

export interface Dhcp6ClientConfig {
  /** §21.4: identifies our IA_NA; one interface, one IA. */
  iaid: number;
}

export type Dhcp6State = 'idle' | 'soliciting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'informing' | 'stopped';

/** §15 retransmission parameters, ms; 0 means no limit. */
interface Retransmission {
  irt: number;
  mrt: number;
  mrc: number;
}

/** §7.6 transmission and retransmission parameters. */
const SOLICIT: Retransmission = { irt: 1_000, mrt: 3_600_000, mrc: 0 };
const REQUEST: Retransmission = { irt: 1_000, mrt: 30_000, mrc: 10 };
const RENEW: Retransmission = { irt: 10_000, mrt: 600_000, mrc: 0 };
const REBIND: Retransmission = { irt: 10_000, mrt: 600_000, mrc: 0 };
const INFORM: Retransmission = { irt: 1_000, mrt: 3_600_000, mrc: 0 };
/** §7.6 SOL_MAX_DELAY and INF_MAX_DELAY. */
const MAX_START_DELAY_MS = 1_000;
/** §21.23: INFORMATION_REFRESH_TIME when the server sends none (IRT_DEFAULT), ms. */
const INFORMATION_REFRESH_MS = 86_400_000;
/** §21.9: Elapsed Time is 16 bits of hundredths of a second, 0xffff meaning "or longer". */
const MAX_ELAPSED_CS = 0xffff;
/** §18.2.1 / §18.2.6: what we ask for in the Option Request option. */
const ORO = [Dhcp6Option.DnsServers];

export class Dhcp6Client {
  private current: Dhcp6State = 'idle';
  private readonly iaid: number;
  private readonly clientId: Uint8Array;
  private transactionId = 0;
  /** When the exchange's first message went out (§21.9); undefined before it has. */
  private exchangeStart: number | undefined;
  private params: Retransmission = SOLICIT;
  private transmissions = 0;
  /** The current RT, ms (§15). */
  private rt = 0;
  private timerAt: number | undefined;
  /** SOLICITING: the best ADVERTISE of the first RT; REQUESTING: the server asked. */
  private server: { serverId: Uint8Array; preference: number; addresses: Ipv6Address[] } | undefined;
  private bound: Dhcp6Lease | undefined;

  constructor(
    private readonly host: Dhcp6ClientHost,
    private readonly random: Random,
    config?: Partial<Dhcp6ClientConfig>,
  ) {
    this.iaid = config?.iaid ?? 1;
    this.clientId = duidLl(host.mac);
  }

  get state(): Dhcp6State {
    return this.current;
  }

  /** The lease in use (bound, renewing, rebinding). */
  get lease(): Dhcp6Lease | undefined {
    return this.bound;
  }

  /** §18.2.1: the first SOLICIT waits a random time in [0, SOL_MAX_DELAY). */
  startStateful(now: number): void {
    this.begin('soliciting', SOLICIT, now + uniform(this.random, 0, MAX_START_DELAY_MS));
    this.server = this.bound = undefined;
  }

  /** §18.2.6: the first INFORMATION-REQUEST waits a random time in [0, INF_MAX_DELAY). */
  startStateless(now: number): void {
    this.begin('informing', INFORM, now + uniform(this.random, 0, MAX_START_DELAY_MS));
  }

  pollAt(): number | undefined {
    return this.timerAt;
  }

  poll(now: number): void {
    if (this.timerAt === undefined || now < this.timerAt) return;
    switch (this.current) {
      case 'soliciting':
        // §18.2.1: at the end of the first RT, the best ADVERTISE collected wins.
        if (this.transmissions > 0 && this.server) this.request(this.server, now);
        else this.transmit(now);
        return;
      case 'requesting':
        // §18.2.2: after REQ_MAX_RC tries the exchange failed: find a server again.
        if (this.transmissions >= REQUEST.mrc) this.solicit(now);
        else this.transmit(now);
        return;
      case 'informing':
        this.transmit(now);
        return;
      case 'idle':
        // §21.23: the refresh time passed: ask again.
        this.begin('informing', INFORM, now);
        this.transmit(now);
        return;
      case 'bound':
      case 'renewing':
      case 'rebinding':
        this.leaseTimer(now);
        return;
    }
  }

  /** `source` is the REPLY's IPv6 source, kept as the lease's serverAddress. */
  receive(message: Dhcp6Repr, now: number, source: Ipv6Address = Ipv6Address.UNSPECIFIED): DropReason | undefined {
    if (message.messageType !== T.Advertise && message.messageType !== T.Reply) return 'dhcp6-not-for-client';
    // §16.3 / §16.10: discard what is not the answer to our exchange, from an identified server.
    if (message.transactionId !== this.transactionId || this.exchangeStart === undefined) return 'dhcp6-wrong-xid';
    if (!message.clientId || !bytesEqual(message.clientId, this.clientId)) return 'dhcp6-wrong-client-id';
    if (!message.serverId) return 'dhcp6-no-server-id';
    switch (this.current) {
      case 'soliciting':
        if (message.messageType === T.Advertise) return this.onAdvertise(message, now);
        break;
      case 'requesting':
      case 'renewing':
      case 'rebinding':
        if (message.messageType === T.Reply) return this.onReply(message, source, now);
        break;
      case 'informing':
        if (message.messageType === T.Reply) return this.onInformationReply(message, now);
        break;
    }
    return 'dhcp6-unexpected-message';
  }

  declined(address: Ipv6Address, now: number): void {
    const lease = this.bound;
    if (!lease || !lease.address.equals(address)) return;
    // §18.2.8: DECLINE to the server that granted it, with the address in our IA_NA.
    this.host.unbind(lease, 'declined');
    this.sendOnce(T.Decline, lease, now);
    this.solicit(now);
  }

  release(now: number): void {
    const lease = this.bound;
    if (lease) {
      // §18.2.7: RELEASE names the server and the addresses given up; stop using them first.
      this.host.unbind(lease, 'released');
      this.sendOnce(T.Release, lease, now);
    }
    this.current = 'stopped';
    this.timerAt = undefined;
    this.server = this.bound = undefined;
  }

  /** DECLINE or RELEASE of `lease`: a one-message exchange of its own (see the header). */
  private sendOnce(messageType: number, lease: Dhcp6Lease, now: number): void {
    this.transactionId = this.random.u32() & 0xff_ffff;
    this.exchangeStart = now;
    this.host.send(this.message(messageType, now, { serverId: lease.serverId, iaNa: [this.ia([lease.address])] }));
  }

  /** A new exchange (§15): a fresh transaction id, its first transmission at `firstAt`. */
  private begin(state: Dhcp6State, params: Retransmission, firstAt: number): void {
    this.current = state;
    this.params = params;
    this.transactionId = this.random.u32() & 0xff_ffff;
    this.exchangeStart = undefined;
    this.transmissions = 0;
    this.timerAt = firstAt;
  }

  private solicit(now: number): void {
    this.begin('soliciting', SOLICIT, now);
    this.server = this.bound = undefined;
    this.transmit(now);
  }

  private request(server: NonNullable<Dhcp6Client['server']>, now: number): void {
    this.begin('requesting', REQUEST, now);
    this.server = server;
    this.transmit(now);
  }

  /**
   * Sends the current exchange's message and sets the next RT (§15): IRT·(1 + RAND) first,
   * then 2·RT + RAND·RT, above MRT MRT·(1 + RAND), RAND uniform in [-0.1, 0.1]. §18.2.1:
   * the first RT of a SOLICIT has RAND > 0, so an ADVERTISE at exactly IRT is still awaited.
   * The deadline is capped at `until` (MRD: T2 for RENEW, the valid lifetime for REBIND).
   */
  private transmit(now: number, until = Infinity): void {
    if (this.exchangeStart === undefined) this.exchangeStart = now;
    this.host.send(this.currentMessage(now));
    const { irt, mrt } = this.params;
    const first = this.transmissions === 0;
    const rand = first && this.current === 'soliciting' ? 0.1 - uniform(this.random, 0, 0.1) : uniform(this.random, -0.1, 0.1);
    let rt = first ? irt + rand * irt : 2 * this.rt + rand * this.rt;
    if (mrt > 0 && rt > mrt) rt = mrt + rand * mrt;
    this.rt = rt;
    this.transmissions++;
    this.timerAt = Math.min(now + rt, until);
  }

  private currentMessage(now: number): Dhcp6Repr {
    const lease = this.bound;
    switch (this.current) {
      case 'soliciting':
        return this.message(T.Solicit, now, { iaNa: [this.ia([])], oro: ORO });
      case 'requesting':
        // §18.2.2: the chosen server's id; its addresses as hints in our IA_NA.
        return this.message(T.Request, now, { serverId: this.server!.serverId, iaNa: [this.ia(this.server!.addresses)], oro: ORO });
      case 'renewing':
        return this.message(T.Renew, now, { serverId: lease!.serverId, iaNa: [this.ia([lease!.address])], oro: ORO });
      case 'rebinding':
        // §18.2.5: REBIND goes to any server, so it names none.
        return this.message(T.Rebind, now, { iaNa: [this.ia([lease!.address])], oro: ORO });
      default:
        return this.message(T.InformationRequest, now, { oro: ORO });
    }
  }

  /**
   * Our IA_NA. §18.2: T1 and T2 SHOULD be 0 from a client (the server decides); §21.6: so
   * should the lifetimes of the addresses listed, which the server ignores.
   */
  private ia(addresses: Ipv6Address[]): Dhcp6IaNa {
    return { iaid: this.iaid, t1S: 0, t2S: 0, addresses: addresses.map((address) => ({ address, preferredS: 0, validS: 0 })) };
  }

  /** Our client id (§18.2: in every message) and the Elapsed Time (§21.9: in every message). */
  private message(messageType: number, now: number, fields: Partial<Pick<Dhcp6Repr, 'serverId' | 'iaNa' | 'oro'>>): Dhcp6Repr {
    const elapsedCs = Math.min(MAX_ELAPSED_CS, Math.floor((now - (this.exchangeStart ?? now)) / 10));
    return new Dhcp6Repr({ messageType, transactionId: this.transactionId, clientId: this.clientId, elapsedCs, ...fields });
  }

  /** Our IA_NA in an answer, if the server sent it. */
  private ourIa(message: Dhcp6Repr): Dhcp6IaNa | undefined {
    return message.iaNa.find((ia) => ia.iaid === this.iaid);
  }

  /**
   * §18.2.1 / §18.2.9: an ADVERTISE without an address for us (NoAddrsAvail) is ignored.
   * Within the first RT the highest preference wins (the first of equals); 255 wins at once,
   * and so does any ADVERTISE after the first RT.
   */
  private onAdvertise(message: Dhcp6Repr, now: number): DropReason | undefined {
    const ia = this.ourIa(message);
    const addresses = ia?.status && ia.status.code !== Dhcp6StatusCode.Success ? [] : usable(ia).map((a) => a.address);
    if (message.status?.code === Dhcp6StatusCode.NoAddrsAvail || addresses.length === 0) return 'dhcp6-no-addresses';
    const preference = message.preference ?? 0;
    if (this.server && this.server.preference >= preference) return undefined;
    this.server = { serverId: message.serverId!, preference, addresses };
    if (preference === 255 || this.transmissions > 1) this.request(this.server, now);
    return undefined;
  }

  private onReply(message: Dhcp6Repr, source: Ipv6Address, now: number): DropReason | undefined {
    const previous = this.bound;
    // §18.2.10: while renewing, only the server that granted the lease answers.
    if (this.current === 'renewing' && !bytesEqual(message.serverId!, previous!.serverId)) return 'dhcp6-wrong-server';
    if (this.current === 'requesting' && !bytesEqual(message.serverId!, this.server!.serverId)) return 'dhcp6-wrong-server';
    const status = message.status?.code ?? Dhcp6StatusCode.Success;
    if (status === Dhcp6StatusCode.NotOnLink && this.current === 'requesting') {
      // §18.2.10.1: the hinted addresses are not on this link: start again without them.
      this.solicit(now);
      return undefined;
    }
    // §18.2.10: other failures (UnspecFail, UseMulticast) keep the exchange retransmitting.
    if (status !== Dhcp6StatusCode.Success) return 'dhcp6-server-failed';
    const ia = this.ourIa(message);
    if (!ia) return 'dhcp6-no-ia';
    if (ia.status?.code === Dhcp6StatusCode.NoBinding && previous) {
      // §18.2.10.1: the server lost our binding: REQUEST it again from the one that answered.
      this.host.unbind(previous, 'nak');
      this.bound = undefined;
      this.request({ serverId: message.serverId!, preference: 0, addresses: [previous.address] }, now);
      return undefined;
    }
    // §21.4: T1 > T2, both non-zero, discards the IA_NA.
    if (ia.t1S > 0 && ia.t2S > 0 && ia.t1S > ia.t2S) return 'dhcp6-bad-ia';
    // §18.2.10.1: our address with a valid lifetime of 0 has been withdrawn.
    const withdrawn = previous && ia.addresses.find((a) => a.address.equals(previous.address) && a.validS === 0);
    if (previous && withdrawn) return this.expire(previous, now);
    const addresses = usable(ia);
    const address = addresses.find((a) => previous?.address.equals(a.address)) ?? addresses[0];
    if (!address) {
      // No address for us (NoAddrsAvail): a REQUEST starts over; a renewal keeps the lease it has.
      if (this.current !== 'requesting') return 'dhcp6-no-addresses';
      this.solicit(now);
      return undefined;
    }
    // §21.4: T1 and T2 of 0 leave the times to us: 0.5 and 0.8 of the shortest preferred lifetime.
    const shortest = Math.min(...addresses.map((a) => a.preferredS));
    const share = (s: number, f: number) => (s === 0 ? (shortest === DHCP6_INFINITY ? DHCP6_INFINITY : Math.floor(shortest * f)) : s);
    const lease: Dhcp6Lease = {
      ...address,
      t1S: share(ia.t1S, 0.5),
      t2S: share(ia.t2S, 0.8),
      serverId: message.serverId!,
      serverAddress: source,
      dnsServers: message.dnsServers,
      obtainedAt: now,
    };
    if (previous && !previous.address.equals(lease.address)) this.host.unbind(previous, 'expired');
    this.current = 'bound';
    this.bound = lease;
    this.server = undefined;
    this.exchangeStart = undefined;
    this.host.bind(lease);
    this.leaseTimer(now);
    return undefined;
  }

  private onInformationReply(message: Dhcp6Repr, now: number): DropReason | undefined {
    if (message.status && message.status.code !== Dhcp6StatusCode.Success) return 'dhcp6-server-failed';
    this.host.otherConfig(message.dnsServers);
    this.current = 'idle';
    this.exchangeStart = undefined;
    this.timerAt = now + INFORMATION_REFRESH_MS;
    return undefined;
  }

  private expire(lease: Dhcp6Lease, now: number): undefined {
    this.host.unbind(lease, 'expired');
    this.solicit(now);
    return undefined;
  }

  /**
   * BOUND, RENEWING and REBINDING: the lease's deadlines, latest first, so a clock that
   * jumped past several of them lands in the right state. §18.2.4: RENEW until T2;
   * §18.2.5: REBIND until the valid lifetime ends; then the address is gone.
   */
  private leaseTimer(now: number): void {
    const lease = this.bound!;
    const at = (s: number) => (s === DHCP6_INFINITY ? Infinity : lease.obtainedAt + 1000 * s);
    const expiresAt = at(lease.validS);
    const t2At = at(lease.t2S);
    const t1At = at(lease.t1S);
    if (now >= expiresAt) {
      this.expire(lease, now);
    } else if (now >= t2At) {
      if (this.current !== 'rebinding') this.begin('rebinding', REBIND, now);
      this.transmit(now, expiresAt);
    } else if (now >= t1At) {
      if (this.current !== 'renewing') this.begin('renewing', RENEW, now);
      this.transmit(now, t2At);
    } else {
      const next = Math.min(t1At, t2At, expiresAt);
      this.timerAt = Number.isFinite(next) ? next : undefined;
    }
  }
}

/** §21.6: addresses with a valid lifetime, and no preferred lifetime beyond it. */
function usable(ia: Dhcp6IaNa | undefined): Dhcp6IaNa['addresses'] {
  return (ia?.addresses ?? []).filter((a) => a.validS > 0 && a.preferredS <= a.validS && !a.address.isMulticast && !a.address.isUnspecified);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
