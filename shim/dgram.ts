/**
 * `dgram` over the stack. The sockets are Node's own `dgram.Socket` objects: only the
 * handle under each one (Node's UDPWrap) is replaced by a StackUdpHandle. Everything
 * Node's tests observe — argument validation, ERR_* errors, the bind and connect state
 * machines, the queue of sends made before bind completes, event order, error messages
 * built from errno — is therefore Node's code, not an imitation of it; the handle answers
 * as libuv and Linux would.
 */
import dgram = require('node:dgram');
import type { ShimHost } from './host';
import { StackUdpHandle } from './udp-handle';

/** Node's own class, taken before anything replaces the module's export. */
const NodeSocket = dgram.Socket as unknown as new (type: unknown, listener?: unknown) => dgram.Socket;

interface DgramInternals {
  /** dgram.Socket's private state (lib/internal/dgram.js kStateSymbol), holding `handle`. */
  state: symbol;
  /** The handle's back-pointer to its socket (owner_symbol), read by onMessage. */
  owner: symbol;
}

/** Finds the two private symbols on a probe socket; fails loudly if a Node version moved them. */
function findInternals(): DgramInternals {
  const probe = new NodeSocket('udp4');
  const state = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'state symbol');
  const handle = state ? (probe as unknown as Record<symbol, { handle?: object }>)[state]?.handle : undefined;
  const owner = handle ? Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol') : undefined;
  probe.close();
  if (!state || !owner) throw new Error(`pytcp: node:dgram in Node ${process.version} does not keep its handle where the shim expects (state symbol, owner_symbol)`);
  return { state, owner };
}

const internals = findInternals();

type HandleLookup = ConstructorParameters<typeof StackUdpHandle>[2];
type NativeHandle = { lookup: HandleLookup; close(): void };

/** A resolver with dns.lookup's signature, for the names the sockets bind, connect and send to. */
export type LookupFunction = (hostname: string, family: number, callback: (err: Error | null, address: string, family?: number) => void) => void;

/** Node's lookup4/lookup6 (lib/internal/dgram.js) over `lookup`: an empty address means the loopback one. */
function handleLookup(lookup: LookupFunction, family: 4 | 6): HandleLookup {
  const loopback = family === 4 ? '127.0.0.1' : '::1';
  return (address, callback) => lookup(address || loopback, family, callback);
}

/**
 * Puts a stack handle under a socket Node just built (before any bind, so its own handle
 * never opened a descriptor); `lookup`, when given, replaces dns.lookup for its names.
 */
function adopt(socket: dgram.Socket, host: ShimHost, lookup: LookupFunction | undefined): void {
  const state = (socket as unknown as Record<symbol, { handle: NativeHandle | null }>)[internals.state];
  const native = state.handle;
  // An already-aborted `signal` option closed the socket inside the constructor.
  if (!native) return;
  const family = (socket as unknown as { type: string }).type === 'udp6' ? 6 : 4;
  const handle = new StackUdpHandle(host, family, lookup ? handleLookup(lookup, family) : native.lookup);
  (handle as unknown as Record<symbol, unknown>)[internals.owner] = socket;
  state.handle = handle as unknown as NativeHandle;
  native.close();
}

export interface ShimDgram {
  Socket: typeof dgram.Socket;
  createSocket: typeof dgram.createSocket;
}

export interface DgramOverOptions {
  /** Resolves names for sockets whose app gave no `lookup` option of its own (else Node's dns.lookup does). */
  lookup?: LookupFunction;
}

/** `Socket` and `createSocket` whose sockets run on `host`'s stack; `instanceof dgram.Socket` holds for them. */
export function dgramOver(host: ShimHost, opts: DgramOverOptions = {}): ShimDgram {
  function Socket(this: unknown, type: unknown, listener?: unknown): dgram.Socket {
    const socket = Reflect.construct(NodeSocket, [type, listener], new.target ?? Socket) as dgram.Socket;
    // Node reads `options.lookup` and falls back to dns.lookup when it is undefined; so does this.
    const own = type !== null && typeof type === 'object' && (type as { lookup?: unknown }).lookup !== undefined;
    adopt(socket, host, own ? undefined : opts.lookup);
    return socket;
  }
  Socket.prototype = NodeSocket.prototype;
  Object.setPrototypeOf(Socket, NodeSocket);
  const ShimSocket = Socket as unknown as typeof dgram.Socket;
  function createSocket(type: unknown, listener?: unknown): dgram.Socket {
    return new (ShimSocket as unknown as new (t: unknown, l: unknown) => dgram.Socket)(type, listener);
  }
  return { Socket: ShimSocket, createSocket: createSocket as typeof dgram.createSocket };
}
