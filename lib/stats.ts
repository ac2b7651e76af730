/**
 * Counters over logs: every protocol counts what it received, what it sent, and what it
 * dropped, by reason. A reason is the DropReason a parser or a rule returned.
 */
export class ProtocolCounters {
  rx = 0;
  tx = 0;
  readonly dropped: Record<string, number> = Object.create(null);

  drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  get droppedTotal(): number {
    let n = 0;
    for (const k in this.dropped) n += this.dropped[k];
    return n;
  }
}

/** TCP's counters: the segment counts and drop reasons, and what the layer did beside the connections. */
export class TcpCounters extends ProtocolCounters {
  /** Connections opened by connect (Linux's ActiveOpens) and from a listener (PassiveOpens). */
  activeOpens = 0;
  passiveOpens = 0;
  /** RSTs sent for segments that found no connection (RFC 9293 §3.10.7.1). */
  resetsSent = 0;
  /** SYN cookies (RFC 4987 §3.6): sent, validated by the returning ACK, and refused. */
  synCookiesSent = 0;
  synCookiesValidated = 0;
  synCookiesFailed = 0;
  /** SYNs and cookie ACKs dropped because a listener's accept queue was full (Linux's ListenOverflows). */
  listenOverflows = 0;
  /** Connects that took their 4-tuple from a connection in TIME-WAIT (Linux's TWRecycled). */
  timeWaitReused = 0;
}

export class StackStats {
  readonly ethernet = new ProtocolCounters();
  readonly arp = new ProtocolCounters();
  readonly ipv4 = new ProtocolCounters();
  readonly icmpv4 = new ProtocolCounters();
  readonly igmp = new ProtocolCounters();
  readonly ipv6 = new ProtocolCounters();
  readonly icmpv6 = new ProtocolCounters();
  readonly udp = new ProtocolCounters();
  readonly tcp = new TcpCounters();
  readonly dhcp4 = new ProtocolCounters();
}
