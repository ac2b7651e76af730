import { createHmac } from 'node:crypto';
import { Ipv4Address } from '../../wire/address';
import type { Random } from '../../random';
import type { IpAddress, TcpFourTuple } from './types';

/** A secret key of `bytes` bytes drawn from the injected source (a seeded source gives the same key). */
export function randomSecret(random: Random, bytes = 16): Buffer {
  const key = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) key.writeUInt32BE(random.u32(), i);
  return key;
}

/**
 * A keyed 32-bit hash of a connection's identity and up to two more numbers: the first
 * 32 bits of HMAC-SHA-256 (RFC 6528 §3 asks for a cryptographic hash; RFC 4987 §3.6 for a
 * keyed one). The family is hashed too, so an IPv4 and an IPv6 tuple never collide by
 * construction.
 */
export function tupleHash(secret: Buffer, tuple: TcpFourTuple, a = 0, b = 0): number {
  const { local, remote } = tuple;
  const v4 = local.address instanceof Ipv4Address;
  const addrLen = v4 ? 4 : 16;
  const input = Buffer.alloc(1 + 2 * addrLen + 4 + 8);
  input[0] = v4 ? 4 : 6;
  writeAddress(input, 1, local.address);
  writeAddress(input, 1 + addrLen, remote.address);
  let at = 1 + 2 * addrLen;
  input.writeUInt16BE(local.port, at);
  input.writeUInt16BE(remote.port, at + 2);
  at += 4;
  input.writeUInt32BE(a >>> 0, at);
  input.writeUInt32BE(b >>> 0, at + 4);
  return createHmac('sha256', secret).update(input).digest().readUInt32BE(0);
}

function writeAddress(buf: Buffer, at: number, address: TcpFourTuple['local']['address']): void {
  if (address instanceof Ipv4Address) address.writeTo(buf, at);
  else buf.set(address.bytes, at);
}

/** RFC 6528 §3: M ticks every 4 µs, 250 ticks per ms of the injected clock, modulo 2^32. */
function fourMicrosecondTimer(now: number): number {
  return Math.floor(now * 250) % 0x1_0000_0000;
}

/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey). The clock M keeps successive incarnations of one connection
 * moving forward (RFC 9293 §3.4.1); the keyed F gives each 4-tuple its own unguessable
 * offset, so an off-path attacker cannot predict the ISN of a connection it cannot see
 * (RFC 6528 §1). The secret is drawn once per stack from the injected random source.
 */
export class IsnGenerator {
  private readonly secret: Buffer;
  private readonly lastTimestampOffset = new LastHash();
  private readonly lastPortOffset = new LastHash();

  constructor(random: Random) {
    this.secret = randomSecret(random);
  }

  next(tuple: TcpFourTuple, now: number): number {
    return (fourMicrosecondTimer(now) + tupleHash(this.secret, tuple)) >>> 0;
  }

  /**
   * The offset of our TSval clock toward one peer (RFC 7323 §5.4 and §7.1: it must not reveal
   * the clock): keyed by the two addresses only, as Linux's secure_tcp_ts_off, so TSvals to a
   * peer keep rising from one connection to the next and a new incarnation's SYN passes the
   * PAWS check of the old one's TIME-WAIT at the peer (RFC 6191 §2).
   */
  timestampOffset(tuple: TcpFourTuple): number {
    return this.lastTimestampOffset.get(tuple.local.address, tuple.remote.address, 0, () => tupleHash(this.secret, addressPair(tuple), TIMESTAMP_OFFSET));
  }

  /**
   * RFC 6056 §3.3.3 (Algorithm 3): F(local address, remote address, remote port, secret), the
   * offset of the ephemeral port search toward one destination.
   */
  portOffset(local: IpAddress, remote: IpAddress, remotePort: number): number {
    return this.lastPortOffset.get(local, remote, remotePort, () => tupleHash(this.secret, { local: { address: local, port: 0 }, remote: { address: remote, port: remotePort } }, PORT_OFFSET));
  }
}

/**
 * The last value of a keyed hash and what it was of: connections come in runs between the
 * same two ends, and each HMAC costs a few microseconds.
 */
class LastHash {
  private local: IpAddress | undefined;
  private remote: IpAddress | undefined;
  private port = -1;
  private value = 0;

  get(local: IpAddress, remote: IpAddress, port: number, compute: () => number): number {
    if (this.port !== port || !sameAddress(this.local, local) || !sameAddress(this.remote, remote)) {
      this.value = compute();
      this.local = local;
      this.remote = remote;
      this.port = port;
    }
    return this.value;
  }
}

function sameAddress(a: IpAddress | undefined, b: IpAddress): boolean {
  if (a instanceof Ipv4Address) return b instanceof Ipv4Address && a.value === b.value;
  return a !== undefined && !(b instanceof Ipv4Address) && a.equals(b);
}

/** Tags that keep the keyed hashes of one secret apart. */
const TIMESTAMP_OFFSET = 1;
const PORT_OFFSET = 2;

function addressPair(tuple: TcpFourTuple): TcpFourTuple {
  return { local: { address: tuple.local.address, port: 0 }, remote: { address: tuple.remote.address, port: 0 } };
}
