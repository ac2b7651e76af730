import { uniform, type Random } from '../random';
import { Ipv4Address, type MacAddress } from '../wire/address';
import { BootpOp, DHCP4_INFINITE_LEASE, Dhcp4MessageType, Dhcp4Option, Dhcp4Repr } from '../wire/dhcp4';
import type { DropReason } from '../wire/drop';

/**
 * The DHCPv4 client (RFC 2131 §4.4, Figure 5), sans-IO: messages go out through the host,
 * come in through `receive`, and every timer is a deadline that `poll(now)` acts on.
 *
 *   init         waiting to (re)start: after a DECLINE, §3.1 step 5 asks for ten seconds
 *   selecting    DISCOVER sent, waiting for the first OFFER
 *   requesting   REQUEST for the offered address sent, waiting for ACK or NAK
 *   checking     ACKed; the host probes the address for conflicts (§2.2, RFC 5227)
 *   bound        the lease is in use until T1
 *   renewing     T1 passed: REQUEST unicast to the server that granted the lease
 *   rebinding    T2 passed: REQUEST broadcast to any server
 *   stopped      released; nothing more until start()
 *
 * Not implemented: INIT-REBOOT (reusing a remembered lease), INFORM, and the random
 * 1–10 s wait before the first DISCOVER (§4.4.1 SHOULD; the caller may delay start()).
 */

export interface Dhcp4Lease {
  address: Ipv4Address;
  prefixLen: number;
  routers: Ipv4Address[];
  dnsServers: Ipv4Address[];
  mtu?: number;
  serverId: Ipv4Address;
  leaseTimeS: number;
  t1S: number;
  t2S: number;
  /** When the REQUEST that got this lease was first sent (§4.4.1: the lease runs from then), ms. */
  obtainedAt: number;
}

export interface Dhcp4ClientHost {
  readonly mac: MacAddress;
  /** Send a DHCP message: from `src` (0.0.0.0 before a lease) to `dst` (255.255.255.255 or the server, unicast). */
  send(message: Dhcp4Repr, src: Ipv4Address, dst: Ipv4Address): void;
  /** An offered address was ACKed: probe it for conflicts (RFC 2131 §2.2, §4.4.1 and RFC 5227) and then call client.checked(address, ok). */
  check(lease: Dhcp4Lease): void;
  /** The lease is usable: configure address, prefix, routes, DNS, MTU (also on renew: updated times/options). */
  bind(lease: Dhcp4Lease): void;
  /** The lease ended (expiry, NAK, release, decline): remove the address and its routes. */
  unbind(lease: Dhcp4Lease, reason: 'expired' | 'nak' | 'released' | 'declined'): void;
}

export interface Dhcp4ClientConfig {
  /** Option 12. */
  hostname?: string;
  /** Option 61 (RFC 2132 §9.14): type octet and identifier; without it servers key on chaddr. */
  clientId?: Uint8Array;
  /** RFC 2131 §4.1: retransmissions wait 4 s, doubling up to this, each ±1 s at random. */
  maxDiscoverIntervalS: number;
  /** RFC 2131 §3.1 step 5: wait at least ten seconds after a DECLINE before starting again. */
  declineBackoffMs: number;
}

export const DEFAULT_DHCP4_CLIENT_CONFIG: Dhcp4ClientConfig = { maxDiscoverIntervalS: 64, declineBackoffMs: 10_000 };

export type Dhcp4State = 'init' | 'selecting' | 'requesting' | 'checking' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

/** §4.4.1 / §4.4.5: what we ask for, in the order we would like it. */
const PARAM_REQUEST_LIST = [
  Dhcp4Option.SubnetMask,
  Dhcp4Option.Router,
  Dhcp4Option.DnsServer,
  Dhcp4Option.InterfaceMtu,
  Dhcp4Option.LeaseTime,
  Dhcp4Option.RenewalTime,
  Dhcp4Option.RebindingTime,
];

const FIRST_INTERVAL_S = 4;
/** §4.4.5: RENEWING and REBINDING retransmit no sooner than 60 s apart. */
const MIN_RENEW_INTERVAL_MS = 60_000;

export class Dhcp4Client {
  private current: Dhcp4State = 'stopped';
  private readonly config: Dhcp4ClientConfig;
  private xid = 0;
  /** When this exchange began (for 'secs', §2) and when its first REQUEST went out. */
  private exchangeStart = 0;
  private requestSentAt = 0;
  private discoverSecs = 0;
  /** The back-off interval of the next retransmission in SELECTING and REQUESTING, s. */
  private intervalS = FIRST_INTERVAL_S;
  private timerAt: number | undefined;
  private offer: { address: Ipv4Address; serverId: Ipv4Address } | undefined;
  private pending: Dhcp4Lease | undefined;
  private bound: Dhcp4Lease | undefined;

  constructor(
    private readonly host: Dhcp4ClientHost,
    private readonly random: Random,
    config?: Partial<Dhcp4ClientConfig>,
  ) {
    this.config = { ...DEFAULT_DHCP4_CLIENT_CONFIG, ...config };
  }

  get state(): Dhcp4State {
    return this.current;
  }

  /** The lease in use (bound, renewing, rebinding); undefined while one is sought or checked. */
  get lease(): Dhcp4Lease | undefined {
    return this.bound;
  }

  start(now: number): void {
    this.discover(now);
  }

  pollAt(): number | undefined {
    return this.timerAt;
  }

  poll(now: number): void {
    if (this.timerAt === undefined || now < this.timerAt) return;
    switch (this.current) {
      case 'init':
        this.discover(now);
        return;
      case 'selecting':
        this.sendDiscover(now);
        this.scheduleBackoff(now);
        return;
      case 'requesting':
        // §3.1 step 5: no ACK or NAK after the whole back-off: start again from INIT.
        if (this.intervalS > this.config.maxDiscoverIntervalS) {
          this.discover(now);
          return;
        }
        this.sendRequest(now);
        this.scheduleBackoff(now);
        return;
      case 'bound':
      case 'renewing':
      case 'rebinding':
        this.leaseTimer(this.bound!, now);
        return;
    }
  }

  receive(message: Dhcp4Repr, now: number): DropReason | undefined {
    if (message.op !== BootpOp.Reply) return 'dhcp-not-reply';
    if (message.xid !== this.xid) return 'dhcp-wrong-xid';
    if (!message.clientMac.equals(this.host.mac)) return 'dhcp-wrong-chaddr';
    const type = message.messageType;
    switch (this.current) {
      case 'selecting':
        if (type === Dhcp4MessageType.Offer) return this.onOffer(message, now);
        break;
      case 'requesting':
        if (type === Dhcp4MessageType.Ack || type === Dhcp4MessageType.Nak) return this.onRequestAnswer(message, now);
        break;
      case 'renewing':
      case 'rebinding':
        if (type === Dhcp4MessageType.Ack || type === Dhcp4MessageType.Nak) return this.onRenewAnswer(message, now);
        break;
    }
    return 'dhcp-unexpected-message';
  }

  checked(address: Ipv4Address, ok: boolean, now: number): void {
    const lease = this.pending;
    if (this.current !== 'checking' || !lease || !lease.address.equals(address)) return;
    this.pending = undefined;
    if (ok) {
      this.bind(lease, now);
      return;
    }
    // §3.1 step 5 / §4.4.1: DECLINE the address (broadcast, Table 5: ciaddr 0, requested IP and
    // server id), then wait at least ten seconds before starting again.
    this.host.send(
      this.message(Dhcp4MessageType.Decline, { requestedIp: lease.address, serverId: lease.serverId, message: 'address in use' }, now),
      Ipv4Address.UNSPECIFIED,
      Ipv4Address.BROADCAST,
    );
    this.host.unbind(lease, 'declined');
    this.current = 'init';
    this.timerAt = now + this.config.declineBackoffMs;
  }

  release(now: number): void {
    const lease = this.bound ?? this.pending;
    if (lease) {
      // §4.4.6 and Table 5: RELEASE unicast to the server, ciaddr set, server id, no requested IP.
      this.xid = this.random.u32();
      this.exchangeStart = now;
      this.host.send(this.message(Dhcp4MessageType.Release, { ciaddr: lease.address, serverId: lease.serverId }, now), lease.address, lease.serverId);
      this.host.unbind(lease, 'released');
    }
    this.current = 'stopped';
    this.timerAt = undefined;
    this.offer = this.pending = this.bound = undefined;
  }

  /** INIT → SELECTING (§4.4.1): a fresh exchange with a new xid. */
  private discover(now: number): void {
    this.current = 'selecting';
    this.xid = this.random.u32();
    this.exchangeStart = now;
    this.intervalS = FIRST_INTERVAL_S;
    this.offer = this.pending = this.bound = undefined;
    this.sendDiscover(now);
    this.scheduleBackoff(now);
  }

  private sendDiscover(now: number): void {
    // §4.4.1: broadcast flag unset (we accept unicast to our MAC before we have an address).
    const discover = this.message(Dhcp4MessageType.Discover, { paramRequestList: PARAM_REQUEST_LIST }, now);
    this.discoverSecs = discover.secs;
    this.host.send(discover, Ipv4Address.UNSPECIFIED, Ipv4Address.BROADCAST);
  }

  /** §4.1: the next retransmission after 4, 8, 16, 32, 64, 64, ... s, each ±1 s uniformly. */
  private scheduleBackoff(now: number): void {
    const interval = Math.min(this.intervalS, this.config.maxDiscoverIntervalS);
    this.timerAt = now + 1000 * (interval + uniform(this.random, -1, 1));
    this.intervalS *= 2;
  }

  /** SELECTING: the first acceptable OFFER wins (§4.4.1 lets the client pick any). */
  private onOffer(offer: Dhcp4Repr, now: number): DropReason | undefined {
    if (!isUsableAddress(offer.yiaddr)) return 'dhcp-bad-address';
    // §4.3.1 Table 3: the server MUST identify itself in an OFFER; the REQUEST names it.
    if (!offer.serverId) return 'dhcp-no-server-id';
    this.offer = { address: offer.yiaddr, serverId: offer.serverId };
    this.current = 'requesting';
    this.intervalS = FIRST_INTERVAL_S;
    this.requestSentAt = now;
    this.sendRequest(now);
    this.scheduleBackoff(now);
    return undefined;
  }

  /**
   * §4.4.1 and Table 5, REQUEST in SELECTING: broadcast, the OFFER's xid, ciaddr 0, the
   * requested address and server id, and the same 'secs' as the DISCOVER.
   */
  private sendRequest(now: number): void {
    const offer = this.offer!;
    const request = this.message(Dhcp4MessageType.Request, {
      requestedIp: offer.address,
      serverId: offer.serverId,
      paramRequestList: PARAM_REQUEST_LIST,
      secs: this.discoverSecs,
    }, now);
    this.host.send(request, Ipv4Address.UNSPECIFIED, Ipv4Address.BROADCAST);
  }

  private onRequestAnswer(answer: Dhcp4Repr, now: number): DropReason | undefined {
    const offer = this.offer!;
    // Only the selected server answers a REQUEST that names it (§3.1 step 4).
    if (answer.serverId && !answer.serverId.equals(offer.serverId)) return 'dhcp-wrong-server';
    if (answer.messageType === Dhcp4MessageType.Nak) {
      // §3.1 step 5 / §4.4.1: a NAK restarts the configuration from INIT.
      this.discover(now);
      return undefined;
    }
    const lease = leaseFromAck(answer, offer.serverId, this.requestSentAt);
    if (isDropReason(lease)) return lease;
    this.current = 'checking';
    this.pending = lease;
    this.timerAt = undefined;
    this.host.check(lease);
    return undefined;
  }

  private onRenewAnswer(answer: Dhcp4Repr, now: number): DropReason | undefined {
    const lease = this.bound!;
    // RENEWING talks to the server that granted the lease; in REBINDING any server may answer.
    if (this.current === 'renewing' && answer.serverId && !answer.serverId.equals(lease.serverId)) return 'dhcp-wrong-server';
    if (answer.messageType === Dhcp4MessageType.Nak) {
      // §4.4.5: a NAK in RENEWING or REBINDING: stop using the address and restart.
      this.host.unbind(lease, 'nak');
      this.discover(now);
      return undefined;
    }
    const renewed = leaseFromAck(answer, lease.serverId, this.requestSentAt);
    if (isDropReason(renewed)) return renewed;
    // A different address would need a new conflict check: not a renewal of this lease.
    if (!renewed.address.equals(lease.address)) return 'dhcp-wrong-address';
    this.bind(renewed, now);
    return undefined;
  }

  private bind(lease: Dhcp4Lease, now: number): void {
    this.current = 'bound';
    this.bound = lease;
    this.host.bind(lease);
    this.leaseTimer(lease, now);
  }

  /**
   * BOUND, RENEWING and REBINDING: the lease's deadlines, latest first, so a clock that
   * jumped past several of them lands in the right state (§4.4.5).
   */
  private leaseTimer(lease: Dhcp4Lease, now: number): void {
    if (lease.leaseTimeS === DHCP4_INFINITE_LEASE) {
      this.timerAt = undefined;
      return;
    }
    const expiresAt = lease.obtainedAt + 1000 * lease.leaseTimeS;
    const t2At = lease.obtainedAt + 1000 * lease.t2S;
    const t1At = lease.obtainedAt + 1000 * lease.t1S;
    if (now >= expiresAt) {
      this.host.unbind(lease, 'expired');
      this.discover(now);
    } else if (now >= t2At) {
      this.renewOrRebind('rebinding', expiresAt, now);
    } else if (now >= t1At) {
      this.renewOrRebind('renewing', t2At, now);
    } else {
      this.timerAt = t1At;
    }
  }

  /**
   * §4.4.5: REQUEST with ciaddr set and neither server id nor requested IP (§4.3.2),
   * unicast to the server when renewing, broadcast when rebinding; then again after half
   * the time left until `until` (T2 or expiry), at least 60 s, never past `until`.
   */
  private renewOrRebind(state: 'renewing' | 'rebinding', until: number, now: number): void {
    const lease = this.bound!;
    if (this.current !== state) {
      this.current = state;
      this.xid = this.random.u32();
      this.exchangeStart = now;
      this.requestSentAt = now;
    }
    const request = this.message(Dhcp4MessageType.Request, { ciaddr: lease.address, paramRequestList: PARAM_REQUEST_LIST }, now);
    this.host.send(request, lease.address, state === 'renewing' ? lease.serverId : Ipv4Address.BROADCAST);
    this.timerAt = Math.min(until, now + Math.max(MIN_RENEW_INTERVAL_MS, (until - now) / 2));
  }

  /** A BOOTREQUEST of this exchange with our identity; `secs` counts from the exchange's start (§2). */
  private message(
    messageType: number,
    fields: Partial<Pick<Dhcp4Repr, 'ciaddr' | 'requestedIp' | 'serverId' | 'paramRequestList' | 'message' | 'secs'>>,
    now: number,
  ): Dhcp4Repr {
    const secs = Math.min(0xffff, Math.floor((now - this.exchangeStart) / 1000));
    return new Dhcp4Repr({
      op: BootpOp.Request,
      xid: this.xid,
      clientMac: this.host.mac,
      messageType,
      secs,
      clientId: this.config.clientId,
      // Table 5: no hostname in DECLINE or RELEASE, which carry only what identifies the lease.
      hostname: messageType === Dhcp4MessageType.Decline || messageType === Dhcp4MessageType.Release ? undefined : this.config.hostname,
      ...fields,
    });
  }
}

function isDropReason(x: Dhcp4Lease | DropReason): x is DropReason {
  return typeof x === 'string';
}

/** An address a server may hand out: not 0/8, loopback, multicast, reserved or broadcast. */
function isUsableAddress(a: Ipv4Address): boolean {
  return a.value >>> 24 !== 0 && !a.isLoopback && !a.isMulticast && !a.isReserved && !a.isBroadcast;
}

/** Without option 1, the address's classful mask (RFC 791 §2.3), the historic default. */
function classfulPrefixLen(a: Ipv4Address): number {
  const first = a.value >>> 24;
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

/**
 * The lease an ACK grants. §4.3.1 Table 3: an ACK to a REQUEST carries the lease time.
 * T1 and T2 default to 0.5 and 0.875 of it (§4.4.5); values that break T1 < T2 < lease
 * are replaced by both defaults.
 */
function leaseFromAck(ack: Dhcp4Repr, serverId: Ipv4Address, obtainedAt: number): Dhcp4Lease | DropReason {
  if (!isUsableAddress(ack.yiaddr)) return 'dhcp-bad-address';
  const leaseTimeS = ack.leaseTime;
  if (leaseTimeS === undefined) return 'dhcp-no-lease-time';
  let t1S = ack.renewalTime ?? leaseTimeS * 0.5;
  let t2S = ack.rebindingTime ?? leaseTimeS * 0.875;
  if (leaseTimeS === DHCP4_INFINITE_LEASE) {
    // A lease that never ends is never renewed.
    t1S = t2S = DHCP4_INFINITE_LEASE;
  } else if (!(t1S < t2S && t2S < leaseTimeS)) {
    t1S = leaseTimeS * 0.5;
    t2S = leaseTimeS * 0.875;
  }
  return {
    address: ack.yiaddr,
    prefixLen: ack.prefixLen ?? classfulPrefixLen(ack.yiaddr),
    routers: ack.routers,
    dnsServers: ack.dnsServers,
    mtu: ack.interfaceMtu,
    serverId: ack.serverId ?? serverId,
    leaseTimeS,
    t1S,
    t2S,
    obtainedAt,
  };
}
