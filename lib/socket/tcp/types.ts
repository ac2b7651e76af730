import type { Ipv4Address, Ipv6Address } from '../../wire/address';
import type { DropReason } from '../../wire/drop';
import type { TcpRepr } from '../../wire/tcp';

export type IpAddress = Ipv4Address | Ipv6Address;

export interface TcpEndpoint {
  address: IpAddress;
  port: number;
}

/** A connection's identity: who we are and who the peer is. */
export interface TcpFourTuple {
  readonly local: TcpEndpoint;
  readonly remote: TcpEndpoint;
}

/**
 * One segment to send: its header (the payload length included) and a writer that copies
 * the payload bytes from the send buffer straight into the frame, so a segment is built
 * in one allocation: the frame itself.
 */
export interface TcpSegmentOut {
  readonly repr: TcpRepr;
  writePayload(buf: Uint8Array, offset: number): void;
}

/** What a connection needs from the layer below it (lib/socket/tcp/tcp.ts over IPv4/IPv6). */
export interface TcpLink {
  /**
   * Sends one segment from `tuple.local` to `tuple.remote`. A DropReason when it could not
   * leave: 'no-route' (the connection treats it as loss and retries on its timer), or
   * 'too-big' (the path MTU shrank: resegment).
   */
  send(tuple: TcpFourTuple, seg: TcpSegmentOut, now: number): DropReason | undefined;
  /** The largest IP payload toward `remote` now: the path MTU minus the IP header (20 or 40). */
  maxPayload(tuple: TcpFourTuple, now: number): number;
}

/** How a connection fails, as the shim will report it (shim/errors.ts maps these to Node's errors). */
export type TcpErrno = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EPIPE' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'ECONNABORTED';

/** An ICMP error about this connection's traffic, already matched to it by the demultiplexer. */
export type TcpIcmpError =
  | { kind: 'port-unreachable' }
  | { kind: 'host-unreachable' }
  | { kind: 'net-unreachable' }
  | { kind: 'admin-prohibited' }
  /** Fragmentation needed (RFC 1191) / Packet Too Big (RFC 8201): the next-hop MTU. */
  | { kind: 'too-big'; mtu: number };

/**
 * What happened to a connection since its owner last looked (drained after each poll, as
 * UDP's takeReady): the owner wakes the app for these.
 */
export interface TcpNotice {
  /** Connected (ESTABLISHED reached). */
  connected: boolean;
  /** New bytes to read, or the peer's FIN (read() then returns EOF). */
  readable: boolean;
  /** Send-buffer space freed after it had been full. */
  writable: boolean;
  /** The connection is gone (closed cleanly, reset, or timed out); `error` says why if not clean. */
  closed: boolean;
}
