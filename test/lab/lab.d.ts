/** Types for test/lab/lab.js (plain CommonJS, shared with examples/demo.js and test/bench/run.js). */
import type { ChildProcess } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed at its timeout (then `code` is -1 and stderr says so). */
  timedOut: boolean;
}

/** A running `pytcp up` in the switch namespace. */
export interface StackProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The argv after `node`, for messages. */
  readonly argv: string[];
  /** Everything printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  readonly hasExited: boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first matching complete line (stdout, then stderr, unless `stream` says); rejects on timeout or exit. */
  waitForLine(pattern: RegExp | string, timeoutMs?: number, stream?: 'stdout' | 'stderr' | 'any'): Promise<string>;
  /** SIGTERM (or `signal`), SIGKILL after `timeoutMs`; resolves with the exit code (null after a signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Command line and the tail of both outputs, for error messages. */
  describe(): string;
}

/** A Linux host in its own namespace, its veth on the lab's bridge. */
export interface KernelPeer {
  ns: string;
  ifName: string;
  mac: string;
  /** '10.77.0.<k>' */
  ipv4: string;
  /** 'fd00:77::<k>' (nodad) */
  ipv6: string;
  prefixLen: number;
}

/** A Linux host one router hop away: the lab's peer routes between it and the stack's subnet. */
export interface RoutedHost {
  ns: string;
  ifName: string;
  /** '10.78.<k-1>.2' */
  ipv4: string;
  /** 24 */
  prefixLen: number;
  /** The peer's address on the routed link ('10.78.<k-1>.1'), the host's default route. */
  routerIpv4: string;
  /** The peer's address on the stack's subnet (lab.peerIpv4): give it to the stack as `--gateway`. */
  gatewayIpv4: string;
}

export interface Capture {
  readonly file: string;
  stop(): Promise<void>;
}

export interface Lab {
  readonly label: string;
  /** Every namespace of this lab, in creation order. */
  readonly namespaces: string[];
  /** Bridge and the stack's TAP; IPv6 disabled before any device was made. */
  readonly switchNs: string;
  /** The kernel peer; its veth is on the bridge. */
  readonly peerNs: string;
  readonly bridge: string;
  /** Persistent TAP in switchNs, on the bridge, up. */
  readonly tap: string;
  readonly peerIf: string;
  /** The bridge's port (in the switch namespace) toward the first kernel peer. */
  readonly peerSwitchPort: string;
  readonly peerMac: string;
  /** '10.77.0.1' */
  readonly peerIpv4: string;
  /** 'fd00:77::1' (nodad) */
  readonly peerIpv6: string;
  /** 24 */
  readonly prefixLen: number;
  /** '10.77.0.<10+n>', n in 0..240 */
  stackIpv4(n: number): string;
  /** Locally administered, unique per lab; not the TAP's kernel MAC. */
  readonly stackMac: string;
  /** `node bin/pytcp.js up --tap <tap> --mac <stackMac> ...args` in switchNs (pinned with taskset when `cpu` is given). */
  /** Tracked and killed at destroy() like spawn(); `timeoutMs` bounds its life (default 10 min). */
  startStack(args: string[], opts?: { mac?: string; cpu?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number }): StackProcess;
  /**
   * An unmodified Node program over the stack: `node --require pytcp/register script ...args`
   * in switchNs with PYTCP_TAP/PYTCP_MAC set for this lab plus `env`; `nodeArgs` replaces
   * the `--require` part (e.g. `['--import', url]`); `cpu` pins it with taskset. Tracked and killed at destroy().
   */
  startApp(script: string, args: string[], opts?: { mac?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; nodeArgs?: string[]; cpu?: number }): StackProcess;
  /** `ip netns exec <ns> ...argv` in one of this lab's namespaces, bounded (default 10 s); never rejects on a non-zero exit. */
  exec(ns: string, argv: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Tracked, stopped at destroy(); SIGKILL after `timeoutMs` (default 10 min). */
  spawn(ns: string, argv: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Another Linux host on the bridge (the first is the peer): 10.77.0.<k>, at most 9. */
  addKernelPeer(): Promise<KernelPeer>;
  /** A host beyond the peer, which forwards IPv4 (its namespace only): 10.78.<k-1>.2/24, at most 9. */
  addRoutedHost(): Promise<RoutedHost>;
  /** `node bin/pytcp.js ...args` in switchNs to its end, bounded (default 10 s); never rejects on a non-zero exit. */
  runCli(args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** tcpdump on peerIf in peerNs, writing `file`, started when this resolves. */
  capture(file: string): Promise<Capture>;
  /** Stops tracked processes (SIGTERM, then SIGKILL), then deletes the namespaces. Idempotent. */
  destroy(): Promise<void>;
}

export function createLab(opts?: { name?: string }): Promise<Lab>;
/** /dev/net/tun exists. */
export function tunAvailable(): boolean;
/** What stops the lab here (root, /dev/net/tun, `ip`, `sysctl`, and `tools`), each with its fix; createLab rejects with them. */
export function prerequisiteProblems(tools?: string[]): string[];
/** Deletes `pytcp-<pid>-*` namespaces whose process is gone (createLab runs it too); returns their names. */
export function sweepStaleLabs(): string[];
/** The shape of every namespace name the lab makes; group 1 is the creating pid. */
export const NS_NAME: RegExp;
