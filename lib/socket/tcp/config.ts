import type { CongestionControlName } from './cc';
import { DEFAULT_RTT_CONFIG, type RttConfig } from './rtt';

/** Every tunable of the TCP, with Linux's defaults where Linux has one. */
export interface TcpConfig {
  /** Maximum Segment Lifetime; TIME-WAIT lasts 2 MSL (RFC 9293 §3.4.2). Linux: TIME-WAIT is 60 s. */
  mslMs: number;
  /** SYN retransmissions before connect fails with ETIMEDOUT. Linux: tcp_syn_retries = 6 (~127 s). */
  synRetries: number;
  /** SYN-ACK retransmissions of a passive open. Linux: tcp_synack_retries = 5. */
  synAckRetries: number;
  /** Data retransmissions before the connection fails with ETIMEDOUT (RFC 1122 §4.2.3.5 R2). Linux: tcp_retries2 = 15. */
  retries2: number;
  /** Send buffer in bytes (what `write` accepts ahead of the peer's ACKs). Linux: tcp_wmem default 16 KiB, autotuned; we start larger. */
  sendBufferSize: number;
  /** Receive buffer in bytes (the most the window ever offers); autotuning grows it up to `maxReceiveBufferSize`. */
  receiveBufferSize: number;
  maxReceiveBufferSize: number;
  /** Delayed ACK timeout (RFC 1122 §4.2.3.2: < 0.5 s). Linux: 40 ms (TCP_DELACK_MIN). */
  delayedAckMs: number;
  /** Segments ACKed at once at connection start (Linux's quick-ACK mode). */
  quickAckSegments: number;
  /** Keepalive (RFC 1122 §4.2.3.6), when enabled per connection. Linux: 7200 s, 75 s, 9 probes. */
  keepAliveIdleMs: number;
  keepAliveIntervalMs: number;
  keepAliveProbes: number;
  congestionControl: CongestionControlName;
  /** Options offered on SYN: RFC 7323 timestamps and window scaling, RFC 2018 SACK-permitted. */
  timestamps: boolean;
  windowScaling: boolean;
  sack: boolean;
  /** Out-of-order bytes kept per connection; beyond, segments are dropped (and SACK reneging is never needed). */
  maxOutOfOrderBytes: number;
  /**
   * The stack-wide budget for all connections' buffers together (memory.ts; Linux: tcp_mem in
   * bytes). Above the pressure threshold receive windows stop growing and out-of-order data is
   * refused; at the limit arriving data is dropped unacknowledged and writes are refused.
   */
  memoryPressureBytes: number;
  memoryLimitBytes: number;
  /** RFC 5961 §7: challenge ACKs sent per second, stack-wide. Linux: tcp_challenge_ack_limit = 1000. */
  challengeAckLimit: number;
  /**
   * Whether connect() may take a 4-tuple from a connection in TIME-WAIT that used timestamps
   * (Linux: tcp_tw_reuse, default 2 = loopback only), once it has waited `timeWaitReuseDelayMs`
   * (Linux: tcp_tw_reuse_delay = 1000 ms). Without it a burst of short connections to one
   * server exhausts the ephemeral ports for 2 MSL.
   */
  timeWaitReuse: 'off' | 'loopback' | 'all';
  timeWaitReuseDelayMs: number;
  /** Persist (zero-window probe) timer bounds; it backs off like the RTO. */
  rtt: RttConfig;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = {
  mslMs: 30_000,
  synRetries: 6,
  synAckRetries: 5,
  retries2: 15,
  sendBufferSize: 256 * 1024,
  receiveBufferSize: 128 * 1024,
  maxReceiveBufferSize: 6 * 1024 * 1024,
  delayedAckMs: 40,
  quickAckSegments: 16,
  keepAliveIdleMs: 7_200_000,
  keepAliveIntervalMs: 75_000,
  keepAliveProbes: 9,
  congestionControl: 'cubic',
  timestamps: true,
  windowScaling: true,
  sack: true,
  maxOutOfOrderBytes: 4 * 1024 * 1024,
  memoryPressureBytes: 64 * 1024 * 1024,
  memoryLimitBytes: 96 * 1024 * 1024,
  challengeAckLimit: 1000,
  timeWaitReuse: 'loopback',
  timeWaitReuseDelayMs: 1000,
  rtt: DEFAULT_RTT_CONFIG,
};
