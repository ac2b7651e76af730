/**
 * `net` over the stack. The sockets and servers are Node's own `net.Socket` and
 * `net.Server`: only the handle under each (Node's TCPWrap) is a StackTcpHandle. Argument
 * normalisation, the stream machinery, half-close, timeouts, event order and every error
 * message are therefore Node's code; the handle answers as libuv and Linux would.
 *
 * Node creates a socket's handle in `connect()` only when it has none, and a server's in
 * `_listen2` (setupListenHandle) only when it has none ("have a handle already"); the
 * classes here put a stack handle in place at exactly those two points. Pipes (`path`) and
 * `{ fd }` stay Node's: they are not TCP.
 */
import net = require('node:net');
import { getSystemErrorName } from 'node:util';
import { uvExceptionWithHostPort } from './errors';
import type { ShimHost } from './host';
import { StackTcpHandle } from './tcp-handle';

/** Node's own classes and helpers, taken before anything replaces the module's exports. */
const NodeSocket = net.Socket;
const NodeServer = net.Server;
const normalizeArgs = (net as unknown as { _normalizeArgs(args: unknown[]): unknown[] & { 0: ConnectOptions } })._normalizeArgs;

type Handle = { close(): void };
type Listen2 = (address: string | null, port: number, addressType: number, backlog: number, fd: number | undefined, flags: number) => void;

interface ConnectOptions {
  path?: string;
  timeout?: number;
}

/** net.Socket's private `kReinitializeHandle` method (lib/net.js): installs a handle as connect() would. */
const kReinitializeHandle = (() => {
  const sym = Object.getOwnPropertySymbols(NodeSocket.prototype).find((s) => s.description === 'kReinitializeHandle');
  if (!sym) throw new Error(`pytcp: node:net in Node ${process.version} has no kReinitializeHandle where the shim expects it`);
  return sym;
})();
const nodeReinitialize = (NodeSocket.prototype as unknown as Record<symbol, (this: net.Socket, handle: unknown) => void>)[kReinitializeHandle];
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

/** `Socket`, `Server` and the factories over `host`'s stack; `instanceof net.Socket` / `net.Server` hold for them. */
export function netOver(host: ShimHost): ShimNet {
  class Socket extends NodeSocket {
    /** A socket a server accepted is Node's own class with a stack handle: it is one of these too. */
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof NodeSocket;
    }

    override connect(...args: unknown[]): this {
      const normalized = Array.isArray(args[0]) ? (args[0] as unknown[] & { 0: ConnectOptions }) : normalizeArgs(args);
      const self = this as unknown as { _handle: unknown; destroyed: boolean };
      // Node makes a TCPWrap here when there is no handle (or the socket was destroyed); a stack handle takes its place.
      if (normalized[0].path == null && (!self._handle || self.destroyed)) nodeReinitialize.call(this, new StackTcpHandle(host));
      return (NodeSocket.prototype.connect as (...a: unknown[]) => this).call(this, normalized);
    }
  }
  // Happy Eyeballs (autoSelectFamily) makes a fresh TCPWrap for each further address: swap in a stack handle.
  Object.defineProperty(Socket.prototype, kReinitializeHandle, {
    value(this: net.Socket, handle: Handle) {
      if (handle instanceof StackTcpHandle) return nodeReinitialize.call(this, handle);
      handle.close();
      nodeReinitialize.call(this, new StackTcpHandle(host));
    },
    configurable: true,
    writable: true,
  });

  class Server extends NodeServer {
    /** setupListenHandle with a stack handle bound as createServerHandle would bind a TCPWrap. */
    _listen2(address: string | null, port: number, addressType: number, backlog: number, fd: number | undefined, flags: number): void {
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
          return this._listen2(DEFAULT_IPV4_ADDR, port, 4, backlog, fd, flags);
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
    }
  }

  function connect(...args: unknown[]): net.Socket {
    const normalized = normalizeArgs(args);
    const options = normalized[0];
    const socket = new Socket(options as net.SocketConstructorOpts);
    if (options.timeout) socket.setTimeout(options.timeout);
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

