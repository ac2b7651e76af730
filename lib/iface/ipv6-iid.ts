import { createHash } from 'node:crypto';
import { Ipv6Address, type MacAddress } from '../wire/address';

/**
 * IPv6 interface identifiers: the low 64 bits of a unicast address (RFC 4291 §2.5.1), and
 * the addresses made from them.
 *
 *   EUI-64 (RFC 4291 Appendix A)   from the MAC; the same on every network, so it tracks
 *                                  the host across networks (RFC 7721 §3).
 *   stable privacy (RFC 7217)      a hash of prefix, interface, network and a secret: stable
 *                                  on one network, unrelated across networks.
 */

export const IID_LEN = 8;

/** RFC 4291 Appendix A: ff:fe in the middle of the MAC, and the universal/local bit inverted. */
export function eui64InterfaceId(mac: MacAddress): Uint8Array {
  const m = new Uint8Array(6);
  mac.writeTo(m);
  return new Uint8Array([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
}

/**
 * Interface identifiers that must not be formed (RFC 5453 and the IANA "Reserved IPv6
 * Interface Identifiers" registry): the Subnet-Router anycast (all zeros, RFC 4291 §2.6.1),
 * the IANA Ethernet block 0200:5eff:fe00:0000–0200:5eff:feff:ffff (Proxy Mobile IPv6's
 * 0200:5eff:fe00:5213 among them, RFC 6543), and the reserved subnet anycast
 * fdff:ffff:ffff:ff80–fdff:ffff:ffff:ffff (RFC 2526).
 */
export function isReservedInterfaceId(iid: Uint8Array): boolean {
  if (iid.every((b) => b === 0)) return true;
  if (iid[0] === 0x02 && iid[1] === 0x00 && iid[2] === 0x5e && iid[3] === 0xff && iid[4] === 0xfe) return true;
  if (iid[0] === 0xfd && iid.subarray(1, 7).every((b) => b === 0xff) && iid[7] >= 0x80) return true;
  return false;
}

/**
 * RFC 7217 §6: the tries after a reserved identifier before giving up. A SHA-256 output
 * lands in the reserved ranges with probability about 2^-24, so more than one retry is
 * already beyond belief; the bound only keeps the loop finite.
 */
const MAX_RESERVED_RETRIES = 16;

/**
 * RFC 7217 §5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), with F =
 * SHA-256 and the identifier taken from the least significant 64 bits of the digest.
 * Each field is length-delimited so that no two input tuples hash the same bytes; only the
 * first `prefixLen` bits of the prefix count. A reserved result bumps the DAD counter and
 * starts again (§5, item 2). The caller bumps `dadCounter` itself after a DAD failure (§6).
 */
export function stablePrivacyInterfaceId(
  prefix: Ipv6Address,
  prefixLen: number,
  netIface: string,
  networkId: string,
  dadCounter: number,
  secretKey: Uint8Array,
): Uint8Array {
  const prefixBytes = maskPrefix(prefix, prefixLen).bytes;
  for (let counter = dadCounter; counter <= dadCounter + MAX_RESERVED_RETRIES; counter++) {
    const counterBytes = new Uint8Array(4);
    new DataView(counterBytes.buffer).setUint32(0, counter >>> 0);
    const hash = createHash('sha256');
    hash.update(prefixBytes);
    hash.update(new Uint8Array([prefixLen]));
    hash.update(lengthDelimited(netIface));
    hash.update(lengthDelimited(networkId));
    hash.update(counterBytes);
    hash.update(secretKey);
    const digest = new Uint8Array(hash.digest());
    const iid = digest.slice(digest.length - IID_LEN);
    if (!isReservedInterfaceId(iid)) return iid;
  }
  throw new Error('RFC 7217: no unreserved interface identifier found');
}

function lengthDelimited(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  const out = new Uint8Array(2 + utf8.length);
  new DataView(out.buffer).setUint16(0, utf8.length);
  out.set(utf8, 2);
  return out;
}

const LINK_LOCAL_PREFIX = Ipv6Address.parse('fe80::');

/** RFC 4291 §2.5.6: fe80::/64 followed by the interface identifier. */
export function linkLocalAddress(iid: Uint8Array): Ipv6Address {
  return addressFromPrefix(LINK_LOCAL_PREFIX, 64, iid);
}

/** RFC 4862 §5.5.3 (d): the /64 prefix followed by the interface identifier. */
export function addressFromPrefix(prefix: Ipv6Address, prefixLen: 64, iid: Uint8Array): Ipv6Address {
  if (prefixLen !== 64 || iid.length !== IID_LEN) {
    throw new TypeError(`An address needs a /64 prefix and an 8-byte interface identifier (got /${prefixLen}, ${iid.length} bytes)`);
  }
  const bytes = new Uint8Array(16);
  bytes.set(prefix.bytes.subarray(0, 8));
  bytes.set(iid, 8);
  return Ipv6Address.fromBytes(bytes);
}

/** The first `prefixLen` bits of `addr`, the rest zero (RFC 4861 §4.6.2: bits past the length are ignored). */
export function maskPrefix(addr: Ipv6Address, prefixLen: number): Ipv6Address {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - 8 * i));
    bytes[i] = addr.bytes[i] & ((0xff00 >> bits) & 0xff);
  }
  return Ipv6Address.fromBytes(bytes);
}

/** Whether the first `prefixLen` bits of `addr` are those of `prefix`. */
export function inPrefix(prefix: Ipv6Address, prefixLen: number, addr: Ipv6Address): boolean {
  // Compared in place: this runs for every packet sent (on-link checks), so it allocates nothing.
  const a = addr.bytes;
  const p = prefix.bytes;
  const whole = prefixLen >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== p[i]) return false;
  const bits = prefixLen & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[whole] & mask) === (p[whole] & mask);
}
