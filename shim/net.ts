/**
 * `net` over the stack. The sockets and servers are Node's own `net.Socket` and
 * `net.Server`: only the handle under each (Node's TCPWrap) is a StackTcpHandle. Argument
 * normalisation, the stream machinery, half-close, timeouts, event order and every error
 * message are therefore Node's code; the handle answers as libuv and Linux would.
 *
 * Node creates a socket's handle in `connect()` only when it has none, and a server's in
 * `_listen2` (setupListenHandle) only when it has none ("have a handle already"); the stack
 * handle is put in place at exactly those two points, and where Happy Eyeballs makes a
 * fresh handle per address (kReinitializeHandle). Pipes (`path`) and `{ fd }` stay Node's:
 * they are not TCP.
 *
 * Two ways in: `netOver(host)` gives subclasses for one stack and leaves `node:net` alone
 * (tests, apps that pick the stack per socket); `routeNetOver(host)` makes Node's own
 * classes use the stack process-wide, which is what the preload does, so that everything
 * built on `net` inside Node (http's Agent, fetch, tls) follows without being named.
 */
import net = require('node:net');
import { getSystemErrorName } from 'node:util';
import { uvExceptionWithHostPort } from './errors';
import type { ShimHost } from './host';
import { StackTcpHandle } from './tcp-handle';

/** Node's own classes and methods, taken before anything replaces them. */
const NodeSocket = net.Socket;
const NodeServer = net.Server;
const normalizeArgs = (net as unknown as { _normalizeArgs(args: unknown[]): NormalizedArgs })._normalizeArgs;
const nodeConnect = NodeSocket.prototype.connect as (this: net.Socket, ...args: unknown[]) => net.Socket;

type Handle = { close(): void };
type Listen2 = (this: net.Server, address: string | null, port: number, addressType: number, backlog: number, fd: number | undefined, flags: number) => void;
type NormalizedArgs = unknown[] & { 0: ConnectOptions };
type LookupFunction = NonNullable<net.TcpSocketConnectOpts['lookup']>;

interface ConnectOptions {
  path?: string;
  host?: string;
  timeout?: number;
  lookup?: LookupFunction;
}

/** net.Socket's private `kReinitializeHandle` method (lib/net.js): installs a handle as connect() would. */
const kReinitializeHandle = (() => {
  const sym = Object.getOwnPropertySymbols(NodeSocket.prototype).find((s) => s.description === 'kReinitializeHandle');
  if (!sym) throw new Error(`pytcp: node:net in Node ${process.version} has no kReinitializeHandle where the shim expects it`);
  return sym;
})();
type Reinitialize = (this: net.Socket, handle: unknown) => void;
const nodeReinitialize = (NodeSocket.prototype as unknown as Record<symbol, Reinitialize>)[kReinitializeHandle];
const nodeListen2 = (NodeServer.prototype as unknown as { _listen2: Listen2 })._listen2;

const DEFAULT_IPV4_ADDR = '0.0.0.0';
const DEFAULT_IPV6_ADDR = '::';

export interface ShimNet {
  Socket: typeof net.Socket;
  Server: typeof net.Server;
  connect: typeof net.connect;
  createConnection: typeof net.createConnection;
  createServer: typeof net.createServer;
}

export interface NetOverOptions {
  /** Resolves names when a connect gives no `lookup` of its own (the stack's resolver); Node's dns.lookup otherwise. */
  lookup?: LookupFunction;
}

/**
 * Node's `resetAndDestroy()` refuses any handle that is not `instanceof TCP`
 * (ERR_INVALID_HANDLE_TYPE): the stack's handle is one for that check, as it is one in
 * every other respect Node looks at. Installed once per process.
 */
function admitStackHandlesAsTcp(): void {
  const { TCP } = (process as unknown as { binding(name: string): { TCP: object } }).binding('tcp_wrap');
  if (Object.prototype.hasOwnProperty.call(TCP, Symbol.hasInstance)) return;
  const nativeCheck = Function.prototype[Symbol.hasInstance];
  Object.defineProperty(TCP, Symbol.hasInstance, {
    value(this: object, value: unknown): boolean {
      return value instanceof StackTcpHandle || nativeCheck.call(this, value);
    },
  });
}

/** What connect() does before Node's own: the stack handle in place of the TCPWrap Node would make, and the default lookup. */
function prepareConnect(host: ShimHost, socket: net.Socket, args: unknown[], lookup: LookupFunction | undefined): NormalizedArgs {
  const normalized = Array.isArray(args[0]) ? (args[0] as NormalizedArgs) : normalizeArgs(args);
  const options = normalized[0];
  if (options.path != null) return normalized;
  const self = socket as unknown as { _handle: unknown; destroyed: boolean };
  // Node makes a TCPWrap here when there is no handle (or the socket was destroyed); a stack handle takes its place.
  if (!self._handle || self.destroyed) nodeReinitialize.call(socket, new StackTcpHandle(host));
  if (lookup && options.lookup === undefined) normalized[0] = { ...options, lookup };
  return normalized;
}

/** Happy Eyeballs (autoSelectFamily) makes a fresh TCPWrap for each further address: a stack handle goes in instead. */
function reinitializeOverStack(host: ShimHost): Reinitialize {
  return function (this: net.Socket, handle: unknown) {
    if (handle instanceof StackTcpHandle) return nodeReinitialize.call(this, handle);
    (handle as Handle).close();
    nodeReinitialize.call(this, new StackTcpHandle(host));
  };
}

/** setupListenHandle with a stack handle bound as createServerHandle would bind a TCPWrap. */
function listen2OverStack(host: ShimHost): Listen2 {
  return function listen2(this: net.Server, address, port, addressType, backlog, fd, flags) {
    const self = this as unknown as { _handle: unknown };
    // A handle from the cluster primary, a pipe (port -1) or an fd: Node's own path.
    if (self._handle || typeof fd === 'number' || (port === -1 && addressType === -1)) {
      nodeListen2.call(this, address, port, addressType, backlog, fd, flags);
      return;
    }
    const handle = new StackTcpHandle(host);
    let err: number;
    if (!address) {
      // Node tries the IPv6 wildcard first, then IPv4's.
      err = handle.bind6(DEFAULT_IPV6_ADDR, port, flags);
      address = DEFAULT_IPV6_ADDR;
      addressType = 6;
      if (err) {
        handle.close();
        listen2.call(this, DEFAULT_IPV4_ADDR, port, 4, backlog, fd, flags);
        return;
      }
    } else {
      err = addressType === 6 ? handle.bind6(address, port, flags) : handle.bind(address, port);
    }
    if (err) {
      handle.close();
      const error = uvExceptionWithHostPort(getSystemErrorName(err), 'listen', address, port);
      process.nextTick(() => this.emit('error', error));
      return;
    }
    self._handle = handle;
    nodeListen2.call(this, address, port, addressType, backlog, fd, flags);
  };
}

/** `Socket`, `Server` and the factories over `host`'s stack; `instanceof net.Socket` / `net.Server` hold for them. */
export function netOver(host: ShimHost, options: NetOverOptions = {}): ShimNet {
  admitStackHandlesAsTcp();
  const { lookup } = options;
  class Socket extends NodeSocket {
    /** A socket a server accepted is Node's own class with a stack handle: it is one of these too. */
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof NodeSocket;
    }

    override connect(...args: unknown[]): this {
      return nodeConnect.call(this, prepareConnect(host, this, args, lookup)) as this;
    }
  }
  Object.defineProperty(Socket.prototype, kReinitializeHandle, { value: reinitializeOverStack(host), configurable: true, writable: true });

  class Server extends NodeServer {}
  Object.defineProperty(Server.prototype, '_listen2', { value: listen2OverStack(host), configurable: true, writable: true });

  function connect(...args: unknown[]): net.Socket {
    const normalized = normalizeArgs(args);
    const socket = new Socket(normalized[0] as net.SocketConstructorOpts);
    if (normalized[0].timeout) socket.setTimeout(normalized[0].timeout);
    return socket.connect(normalized as unknown as net.SocketConnectOpts);
  }

  function createServer(...args: unknown[]): net.Server {
    return new (Server as unknown as new (...a: unknown[]) => net.Server)(...args);
  }

  return {
    Socket: Socket as unknown as typeof net.Socket,
    Server: Server as unknown as typeof net.Server,
    connect: connect as typeof net.connect,
    createConnection: connect as typeof net.createConnection,
    createServer: createServer as typeof net.createServer,
  };
}

/**
 * Node's own `net.Socket` and `net.Server` over `host`'s stack, for the whole process
 * (the preload). Every TCP socket and server made after this, by the app or by Node's
 * http/https/fetch, runs on the stack; pipes and `{ fd }` keep the kernel. Names resolve
 * through `dns.lookup`, which the preload points at the stack's resolver.
 */
export function routeNetOver(host: ShimHost): void {
  admitStackHandlesAsTcp();
  const proto = NodeSocket.prototype as unknown as Record<PropertyKey, unknown>;
  proto.connect = function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    return nodeConnect.call(this, prepareConnect(host, this, args, undefined));
  };
  proto[kReinitializeHandle] = reinitializeOverStack(host);
  (NodeServer.prototype as unknown as { _listen2: Listen2 })._listen2 = listen2OverStack(host);
}
