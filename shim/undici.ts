/**
 * A connector for undici over the stack: `new undici.Agent({ connect: connector() })`
 * (likewise Client and Pool). It does what undici's own buildConnector does (lib/core/
 * connect.js), on the stack's TCP: http: on a stack socket, https: as TLS over one
 * (`tls.connect({ socket })`, SNI and ALPN, a per-host session cache), TCP keep-alive,
 * no Nagle, and undici's connect timeout with undici's ConnectTimeoutError.
 */
import net = require('node:net');
import tls = require('node:tls');
import { errors, type buildConnector } from 'undici';
import type { StackDriver } from '../lib/driver';
import type { RunningStack } from '../lib/launch';
import { StackResolver } from './dns';
import { ShimHost } from './host';
import { netOver, type ShimNet } from './net';
import { acceptStackSocketsInTls } from './tls';

/** What undici hands a connector for each new connection, and the callback it expects. */
export type ConnectParams = buildConnector.Options;
export type Connector = buildConnector.connector;

/** A running stack: what launchStack returns, or a driver and the DNS servers to ask. */
export interface StackToConnectOn {
  driver: StackDriver;
  settings?: { dns?: readonly string[] };
}

export interface ConnectorOptions extends Omit<tls.ConnectionOptions, 'timeout' | 'socket'> {
  /** The stack to connect on; default: the one `pytcp/register` started in this process. */
  stack?: StackToConnectOn;
  /** Connect timeout in ms (undici's default 10 s); 0 for none. */
  timeout?: number;
  /** TCP keep-alive (default on) and its first probe's delay (default 60 s), as undici. */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** TLS sessions kept for resumption, per server name (undici's default 100). */
  maxCachedSessions?: number;
  /** Offer h2 in ALPN (undici's allowH2). */
  allowH2?: boolean;
}

interface StackNet {
  net: ShimNet;
}

interface Registered {
  running: RunningStack;
  host: ShimHost;
  resolver: StackResolver;
}

function registered(): Registered | undefined {
  let path: string;
  try {
    path = require.resolve('./register');
  } catch {
    return undefined; // not built beside this module (run from source): no preload can have loaded it
  }
  return require.cache[path]?.exports as Registered | undefined;
}

/** The stack `pytcp/register` started in this process, if it did (never starts one). */
export function registeredStack(): RunningStack | undefined {
  return registered()?.running;
}

/** The stack the preload started, if this process has one: found in the module cache, never started from here. */
function preloadedStack(): StackNet {
  const preload = registered();
  if (!preload) {
    throw new Error('pytcp: connector() without { stack } needs the stack of `node --require pytcp/register` (or --import), and this process has none');
  }
  return { net: netOver(preload.host, { lookup: preload.resolver.lookup }) };
}

function stackNet(stack: StackToConnectOn): StackNet {
  const host = ShimHost.for(stack.driver);
  const servers = stack.settings?.dns;
  const resolver = new StackResolver(host, servers?.length ? { servers } : {});
  return { net: netOver(host, { lookup: resolver.lookup }) };
}

/** undici's util.getServerName: the SNI name is the host without a port, and none for an IP literal. */
function serverNameOf(host: string | undefined): string | null {
  if (!host) return null;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return net.isIP(name) ? '' : name;
}

/** Server name → the last TLS session, oldest dropped past `max` (undici keeps a similar cache). */
class SessionCache {
  private readonly sessions = new Map<string, Buffer>();
  constructor(private readonly max: number) {}

  get(key: string): Buffer | undefined {
    return this.sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    if (this.max === 0) return;
    this.sessions.delete(key);
    if (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value as string);
    this.sessions.set(key, session);
  }
}

export function connector(options: ConnectorOptions = {}): Connector {
  const { stack, timeout = 10e3, allowH2 = false, maxCachedSessions = 100, ...socketOptions } = options;
  if (!Number.isInteger(maxCachedSessions) || maxCachedSessions < 0) {
    throw new errors.InvalidArgumentError('maxCachedSessions must be a positive integer or zero');
  }
  const { net: stackNetApi } = stack ? stackNet(stack) : preloadedStack();
  acceptStackSocketsInTls();
  const sessions = new SessionCache(maxCachedSessions);

  return function connect({ hostname, host, protocol, port, servername, localAddress, httpSocket }: ConnectParams, callback: buildConnector.Callback): net.Socket {
    const tcpOptions = { highWaterMark: 64 * 1024, ...socketOptions, localAddress: localAddress ?? undefined, host: hostname };
    let socket: net.Socket;
    if (protocol === 'https:') {
      const sni = servername || socketOptions.servername || serverNameOf(host) || undefined;
      const sessionKey = sni || hostname;
      const tcp = httpSocket ?? stackNetApi.connect({ ...tcpOptions, port: Number(port) || 443 } as net.TcpNetConnectOpts);
      const tlsOptions = {
        highWaterMark: 16384,
        ...socketOptions,
        servername: sni,
        session: socketOptions.session ?? sessions.get(sessionKey),
        ALPNProtocols: allowH2 ? ['http/1.1', 'h2'] : ['http/1.1'],
        socket: tcp,
        port: Number(port) || 443,
        host: hostname,
      };
      socket = tls.connect(tlsOptions as tls.ConnectionOptions);
      socket.on('session', (session: Buffer) => sessions.set(sessionKey, session));
      // The TCP socket is ours to end with the TLS one (tls.connect leaves a given socket to its owner).
      if (!httpSocket) socket.once('close', () => tcp.destroy());
    } else {
      if (httpSocket) throw new errors.InvalidArgumentError('httpSocket can only be sent on TLS update');
      socket = stackNetApi.connect({ ...tcpOptions, port: Number(port) || 80 } as net.TcpNetConnectOpts);
    }
    if (socketOptions.keepAlive ?? true) socket.setKeepAlive(true, socketOptions.keepAliveInitialDelay ?? 60e3);

    let done: buildConnector.Callback | null = callback;
    const finish = (...result: [null, net.Socket] | [Error, null]) => {
      clearTimeout(timer);
      const cb = done;
      done = null;
      cb?.(...result);
    };
    const timer = timeout
      ? setTimeout(() => {
          const attempted = (socket as net.Socket & { autoSelectFamilyAttemptedAddresses?: string[] }).autoSelectFamilyAttemptedAddresses;
          const where = Array.isArray(attempted) ? `attempted addresses: ${attempted.join(', ')},` : `attempted address: ${hostname}:${port},`;
          socket.destroy(new errors.ConnectTimeoutError(`Connect Timeout Error (${where} timeout: ${timeout}ms)`));
        }, timeout)
      : undefined;
    socket
      .setNoDelay(true)
      .once(protocol === 'https:' ? 'secureConnect' : 'connect', function (this: net.Socket) {
        finish(null, this);
      })
      .on('error', (err: Error) => finish(err, null));
    return socket;
  };
}
