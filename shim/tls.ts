/**
 * TLS over stack sockets. Node's TLSSocket hands the C++ TLSWrap the raw handle of the
 * socket it wraps (a TCPWrap, a StreamBase in C++); a stack handle is JavaScript, so for
 * it TLS goes through Node's own JSStreamSocket, the adapter Node uses for any JS stream
 * (`tls.connect({ socket: duplex })`). Everything above that (handshake, SNI, ALPN,
 * verification, sessions, every error) is Node's.
 */
import net = require('node:net');
import tls = require('node:tls');
import { PassThrough, type Duplex } from 'node:stream';
import { StackTcpHandle } from './tcp-handle';

type JSStreamSocketClass = new (stream: Duplex) => net.Socket & { _handle: unknown };
type InitSocket = (this: tls.TLSSocket, socket?: net.Socket, wrap?: unknown) => void;
type WrapHandle = (this: tls.TLSSocket, wrap: net.Socket | null, handle: unknown, activeWrite: boolean) => { _parent: unknown; _parentWrap: unknown };

/**
 * Node's JSStreamSocket (lib/internal/js_stream_socket.js) is internal; a TLSSocket made
 * around a plain Duplex builds one and keeps it as its handle's `_parentWrap`.
 */
function findJSStreamSocket(): JSStreamSocketClass {
  const probe = new tls.TLSSocket(new PassThrough());
  const parentWrap = (probe as unknown as { _handle?: { _parentWrap?: object } })._handle?._parentWrap;
  probe.destroy();
  if (!parentWrap || parentWrap.constructor === net.Socket) {
    throw new Error(`pytcp: node:tls in Node ${process.version} does not wrap JS streams where the shim expects (_parentWrap)`);
  }
  return parentWrap.constructor as JSStreamSocketClass;
}

const WRAP_NAME = 'wrapStackHandle';

/**
 * Makes TLSSocket accept sockets on the stack (client `tls.connect({ socket })` and the
 * sockets a tls.Server or https.Server accepts). Installed once per process; handles
 * that are not the stack's take Node's path untouched.
 */
export function acceptStackSocketsInTls(): void {
  const proto = tls.TLSSocket.prototype as unknown as { _wrapHandle: WrapHandle };
  const nodeWrapHandle = proto._wrapHandle;
  if (nodeWrapHandle.name === WRAP_NAME) return;
  let JSStreamSocket: JSStreamSocketClass | undefined;
  proto._wrapHandle = {
    [WRAP_NAME](this: tls.TLSSocket, wrap: net.Socket | null, handle: unknown, activeWrite: boolean) {
      if (!(handle instanceof StackTcpHandle) || !wrap) return nodeWrapHandle.call(this, wrap, handle, activeWrite);
      JSStreamSocket ??= findJSStreamSocket();
      const stream = new JSStreamSocket(wrap);
      // The socket's errors reach the TLSSocket from `wrap` itself (TLSSocket._init listens there); the adapter repeats them.
      stream.on('error', () => {});
      const res = nodeWrapHandle.call(this, stream, stream._handle, activeWrite);
      // As for a socket on a TCPWrap: TLSWrap proxies getpeername, getsockname, setNoDelay, setKeepAlive,
      // ref and unref to `_parent`, and its close() destroys `_parentWrap` when that owns `_parent`
      // (closing the handle behind the socket's back would leave the socket reading a closed handle).
      res._parent = handle;
      res._parentWrap = wrap;
      return res;
    },
  }[WRAP_NAME];

  // Under TLS the socket is transport only, as a TCPWrap under a TLSWrap is: half-close is the
  // TLSSocket's to decide, so the socket must not end itself at EOF while TLS still has records
  // to send. Set after the TLSSocket took the socket's allowHalfOpen as its own (its constructor
  // reads it, then calls _init).
  const protoInit = tls.TLSSocket.prototype as unknown as { _init: InitSocket };
  const nodeInit = protoInit._init;
  protoInit._init = function (this: tls.TLSSocket, socket?: net.Socket, wrap?: unknown) {
    if ((socket as { _handle?: unknown } | undefined)?._handle instanceof StackTcpHandle) socket!.allowHalfOpen = true;
    return nodeInit.call(this, socket, wrap);
  };
}

/** The TCP options of a tls.connect call: those the plain socket under it takes. */
const TCP_OPTIONS = ['host', 'port', 'localAddress', 'localPort', 'family', 'hints', 'lookup', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout'] as const;

type TlsConnect = (...args: unknown[]) => tls.TLSSocket;

/**
 * `tls.connect` for the preload: where Node would open its own TCP handle (no `socket`,
 * no `path`), the TCP connection is made with `connectTcp` (the stack's) and TLS runs over
 * it, as `tls.connect({ socket })` does. The TLSSocket still reports `connecting` and
 * emits 'connect' (TLSSocket forwards them from the socket), then 'secureConnect'.
 */
export function tlsConnectOver(connectTcp: (options: net.TcpNetConnectOpts) => net.Socket): typeof tls.connect {
  const nodeTlsConnect = tls.connect as unknown as TlsConnect;
  const normalizeArgs = (net as unknown as { _normalizeArgs(args: unknown[]): unknown[] })._normalizeArgs;
  function connect(...args: unknown[]): tls.TLSSocket {
    // Node's normalizeConnectArgs (lib/_tls_wrap.js): net's normalisation, then the options object merged in.
    const normalized = normalizeArgs(args);
    const options = normalized[0] as tls.ConnectionOptions & { path?: string };
    const callback = normalized[1];
    if (args[1] !== null && typeof args[1] === 'object') Object.assign(options, args[1]);
    else if (args[2] !== null && typeof args[2] === 'object') Object.assign(options, args[2]);
    if (options.socket || options.path != null) return nodeTlsConnect(...args);
    const tcp: Record<string, unknown> = {};
    for (const key of TCP_OPTIONS) if ((options as Record<string, unknown>)[key] !== undefined) tcp[key] = (options as Record<string, unknown>)[key];
    const socket = connectTcp(tcp as unknown as net.TcpNetConnectOpts);
    const secure = callback === undefined ? nodeTlsConnect({ ...options, socket }) : nodeTlsConnect({ ...options, socket }, callback);
    // Node sets the timeout on the TLSSocket when it made the connection itself; the TCP socket goes with it.
    if (options.timeout) secure.setTimeout(options.timeout);
    secure.once('close', () => socket.destroy());
    return secure;
  }
  return connect as typeof tls.connect;
}
