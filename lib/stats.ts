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

export class StackStats {
  readonly ethernet = new ProtocolCounters();
  readonly arp = new ProtocolCounters();
  readonly ipv4 = new ProtocolCounters();
  readonly icmpv4 = new ProtocolCounters();
  readonly igmp = new ProtocolCounters();
  readonly ipv6 = new ProtocolCounters();
  readonly icmpv6 = new ProtocolCounters();
  readonly udp = new ProtocolCounters();
  readonly dhcp4 = new ProtocolCounters();
}
