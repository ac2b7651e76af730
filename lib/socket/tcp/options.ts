/**
 * Option negotiation on the handshake (RFC 9293 §3.7.1 MSS, RFC 7323 window scaling and
 * timestamps, RFC 2018 SACK-permitted): what our SYN or SYN-ACK offers, and what the
 * connection uses once both sides have spoken. An option is in use only when both SYNs
 * carried it; a peer that offers none gets none (and we assume its MSS is the default).
 */
import { Ipv4Address } from '../../wire/address';
import { MAX_WINDOW_SCALE, type TcpOptions } from '../../wire/tcp';
import type { TcpConfig } from './config';
import type { TcpFourTuple } from './types';

/** RFC 9293 §3.7.1 (MUST-15): the send MSS when the peer's SYN had no MSS option, IPv4. */
export const DEFAULT_MSS_V4 = 536;
/** RFC 8200 §5 minimum link MTU 1280, less the IPv6 and TCP headers (RFC 9293 §3.7.1). */
export const DEFAULT_MSS_V6 = 1220;
/**
 * Linux: tcp_min_snd_mss = 48. An MSS option of 0 or 1 would make a peer cost us a segment
 * per byte (CVE-2019-11479); below this the peer's value is raised.
 */
export const MIN_SND_MSS = 48;
/** The TCP header without options (RFC 9293 §3.1). */
export const TCP_BASE_HEADER = 20;
/** NOP NOP TS(10): the timestamp option as every non-SYN segment carries it (RFC 7323 Appendix A). */
export const TIMESTAMP_OPTION_LEN = 12;
/** NOP NOP SACK(2) and 8 bytes per block (RFC 2018 §3, Linux's layout). */
export function sackOptionLen(blocks: number): number {
  return blocks === 0 ? 0 : 4 + 8 * blocks;
}

export function familyOf(tuple: TcpFourTuple): 4 | 6 {
  return tuple.remote.address instanceof Ipv4Address ? 4 : 6;
}

export function ipHeaderLen(family: 4 | 6): number {
  return family === 4 ? 20 : 40;
}

export function defaultMss(family: 4 | 6): number {
  return family === 4 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
}

/**
 * The MSS we announce: the largest IP payload toward the peer less the fixed TCP header.
 * RFC 6691 §3 / RFC 9293 §3.7.1: options are not subtracted here, the sender subtracts the
 * ones it puts on each segment.
 */
export function announcedMss(maxPayload: number): number {
  return Math.max(MIN_SND_MSS, Math.min(0xffff, maxPayload - TCP_BASE_HEADER));
}

/**
 * The shift for our window (RFC 7323 §2.2): the smallest that lets the largest receive
 * buffer we may ever grow to be offered, at most 14 (§2.3). Linux: tcp_select_initial_window()
 * sizes it from the largest buffer autotuning may reach, as here.
 */
export function receiveWindowScale(config: TcpConfig): number {
  const biggest = Math.max(config.receiveBufferSize, config.maxReceiveBufferSize);
  let shift = 0;
  while (shift < MAX_WINDOW_SCALE && biggest >> shift > 0xffff) shift++;
  return shift;
}

/** The options of an active open's SYN: everything the configuration enables. */
export function synOptions(config: TcpConfig, mss: number, tsval: number): TcpOptions {
  const o: TcpOptions = { mss };
  if (config.windowScaling) o.windowScale = receiveWindowScale(config);
  if (config.sack) o.sackPermitted = true;
  if (config.timestamps) o.timestamp = { value: tsval, echo: 0 };
  return o;
}

/**
 * The options of a SYN-ACK: only those the SYN offered (RFC 7323 §2.2 and §3.2: window scale
 * and timestamps MUST NOT be sent in a SYN-ACK unless the SYN had them; RFC 2018 §2 likewise
 * for SACK-permitted). A SYN-cookie layer builds its SYN-ACK with this too, so that the
 * connection it later makes with fromCookie agrees with what was offered.
 */
export function synAckOptions(config: TcpConfig, mss: number, syn: TcpOptions, tsval: number): TcpOptions {
  const o: TcpOptions = { mss };
  if (config.windowScaling && syn.windowScale !== undefined) o.windowScale = receiveWindowScale(config);
  if (config.sack && syn.sackPermitted) o.sackPermitted = true;
  if (config.timestamps && syn.timestamp) o.timestamp = { value: tsval, echo: syn.timestamp.value };
  return o;
}

/** What the handshake settled. */
export interface Negotiated {
  /** The peer's MSS (what it can receive), the default when its SYN had none. */
  peerMss: number;
  /** The shift applied to the peer's windows (0 without scaling). */
  sndShift: number;
  /** The shift applied to our windows (0 without scaling). */
  rcvShift: number;
  sack: boolean;
  timestamps: boolean;
}

/**
 * `ours` is what our SYN or SYN-ACK carried, `peer` what the peer's did. RFC 7323 §2.2:
 * scaling is used only when both SYNs carried the option (and then each side's own shift);
 * §3.2 likewise for timestamps; RFC 2018 §2 for SACK.
 */
export function negotiate(family: 4 | 6, ours: TcpOptions, peer: TcpOptions): Negotiated {
  const scaling = ours.windowScale !== undefined && peer.windowScale !== undefined;
  return {
    peerMss: Math.max(MIN_SND_MSS, peer.mss ?? defaultMss(family)),
    sndShift: scaling ? (peer.windowScale as number) : 0,
    rcvShift: scaling ? (ours.windowScale as number) : 0,
    sack: ours.sackPermitted === true && peer.sackPermitted === true,
    timestamps: ours.timestamp !== undefined && peer.timestamp !== undefined,
  };
}

/**
 * The lowest path MTU a 'too-big' may take us to. IPv6: RFC 8200 §5's 1280, below which
 * RFC 8201 §4 says not to go. IPv4: RFC 1191 §3 would allow 68, but a forged ICMP could then
 * make every segment tiny (RFC 5927 §7.2); like Linux (ip_rt_min_pmtu, 552) we keep a floor,
 * here the 576 of RFC 9293 §3.7.1's default MSS, so the MSS never drops below 536.
 */
export function minPathMtu(family: 4 | 6): number {
  return family === 4 ? 576 : 1280;
}
