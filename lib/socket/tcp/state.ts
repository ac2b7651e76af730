/**
 * TCP connection states (RFC 9293 §3.3.2), printed with their RFC names.
 *
 * The TCP in this folder follows, and cites at each MUST it implements:
 * - RFC 9293  TCP itself: states, segment arrival (§3.10.7), windows, SWS avoidance (§3.8.6)
 * - RFC 1122  host requirements: delayed ACK, keepalive, Nagle (§4.2.3)
 * - RFC 6298  the retransmission timer (rtt.ts)
 * - RFC 7323  window scaling, timestamps: RTTM and PAWS
 * - RFC 5961  blind in-window attacks: challenge ACKs, ACK validity
 * - RFC 2018  SACK; RFC 6675 SACK-based loss recovery; RFC 5681/6582 NewReno
 * - RFC 8985  RACK-TLP
 * - RFC 9438  CUBIC (cc/); RFC 6928 the initial window; RFC 6528 initial sequence numbers
 * Where Linux's behaviour wins over the RFC text, the code says `// Linux: ...` and why.
 */
export const TcpState = {
  Closed: 'CLOSED',
  Listen: 'LISTEN',
  SynSent: 'SYN-SENT',
  SynReceived: 'SYN-RECEIVED',
  Established: 'ESTABLISHED',
  FinWait1: 'FIN-WAIT-1',
  FinWait2: 'FIN-WAIT-2',
  CloseWait: 'CLOSE-WAIT',
  Closing: 'CLOSING',
  LastAck: 'LAST-ACK',
  TimeWait: 'TIME-WAIT',
} as const;

export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/** §3.3.2: the states in which both sequence spaces are synchronized. */
export function isSynchronized(state: TcpState): boolean {
  return state !== TcpState.Closed && state !== TcpState.Listen && state !== TcpState.SynSent && state !== TcpState.SynReceived;
}

/** The states in which our side may still send data (no FIN queued yet). */
export function canSend(state: TcpState): boolean {
  return state === TcpState.Established || state === TcpState.CloseWait;
}

/** The states in which data from the peer is still accepted (§3.10.7.4, seventh step). */
export function canReceive(state: TcpState): boolean {
  return state === TcpState.Established || state === TcpState.FinWait1 || state === TcpState.FinWait2;
}
