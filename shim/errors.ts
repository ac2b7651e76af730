/**
 * The ONE place where core errors become Node's errors (DESIGN.md §4), with Node's exact
 * shapes so that code written against `net`/`dgram` cannot tell the difference:
 * - errno-style system errors, as lib/internal/errors.js builds them:
 *   `exceptionWithHostPort` → `connect ECONNREFUSED 10.0.0.1:80` (errno, code, syscall,
 *   address, port), and `uvExceptionWithHostPort` → `listen EADDRINUSE: address already in
 *   use 127.0.0.1:80` (with libuv's description);
 * - `ERR_*` errors: `Error [ERR_SOCKET_DGRAM_NOT_RUNNING]: Not running`, with `code` as
 *   their only own enumerable property.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** The negative errno libuv reports for an errno name (EADDRINUSE → -98 on Linux). */
export function uvErrno(code: string): number {
  const n = (constants.errno as Record<string, number>)[code];
  if (n === undefined) throw new TypeError(`Unknown errno name ${code}`);
  return -n;
}

export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
}

function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '';
  return port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
}

/** Node's `exceptionWithHostPort`: `syscall CODE address:port`, keys errno, code, syscall, address, port. */
export function exceptionWithHostPort(code: string, syscall: string, address?: string, port?: number): SystemError {
  const err = new Error(`${syscall} ${code}${hostPort(address, port)}`) as SystemError;
  err.errno = uvErrno(code);
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined && port > 0) err.port = port;
  return err;
}

/** Node's `uvExceptionWithHostPort`: `syscall CODE: description address:port`, keys code, errno, syscall, address, port. */
export function uvExceptionWithHostPort(code: string, syscall: string, address?: string, port?: number): SystemError {
  const errno = uvErrno(code);
  const description = getSystemErrorMap().get(errno)?.[1] ?? 'unknown error';
  const err = new Error(`${syscall} ${code}: ${description}${hostPort(address, port)}`) as SystemError;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined && port > 0) err.port = port;
  return err;
}

/** An `ERR_*` error shaped like Node's NodeError: own `code`, `Name [CODE]: message` in stack and toString. */
export function nodeError<T extends Error = Error>(code: string, message: string, Base: new (message: string) => T = Error as unknown as new (message: string) => T): T & { code: string } {
  const err = new Base(message) as T & { code: string };
  err.code = code;
  if (err.stack) err.stack = err.stack.replace(/^[^\n]*/, `${err.name} [${code}]: ${message}`);
  Object.defineProperty(err, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return err;
}

/** The dgram and net `ERR_*` errors the shim throws, with Node v20's messages. */
export const NodeErrors = {
  socketDgramNotRunning: () => nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  socketDgramIsConnected: () => nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  socketDgramNotConnected: () => nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  socketAlreadyBound: () => nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  socketClosed: () => nodeError('ERR_SOCKET_CLOSED', 'Socket is closed'),
  streamDestroyed: (method: string) => nodeError('ERR_STREAM_DESTROYED', `Cannot call ${method} after a stream was destroyed`),
  socketBadPort: (name: string, value: unknown, allowZero = true) =>
    nodeError('ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(value)}.`, RangeError),
};

/** Node's "Received ..." suffix (lib/internal/errors.js determineSpecificType), for the common cases. */
function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${(value as { name?: string }).name || '<anonymous>'}`;
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string ('${shown}')`;
  }
  if (typeof value === 'number') return `type number (${Object.is(value, -0) ? '-0' : String(value)})`;
  if (typeof value === 'bigint') return `type bigint (${value}n)`;
  return `type ${typeof value} (${String(value)})`;
}
