/**
 * Link and network addresses as small immutable value types.
 *
 * Each type reads from and writes to a caller's buffer at an offset (no intermediate
 * arrays), formats itself the way `ip` and tcpdump print it, and compares by value.
 * `parse` is for trusted configuration and throws a TypeError on bad text; `tryParse`
 * returns undefined. Nothing here throws on bytes read from the wire.
 */

const HEX = '0123456789abcdef';

function hexByte(b: number): string {
  return HEX[b >> 4] + HEX[b & 0xf];
}

/** An IEEE 802 MAC address held as a 48-bit integer (exact in a double). */
export class MacAddress {
  static readonly BROADCAST = new MacAddress(0xffff_ffff_ffff);
  static readonly UNSPECIFIED = new MacAddress(0);

  private constructor(readonly value: number) {}

  static fromNumber(value: number): MacAddress {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff_ffff) {
      throw new TypeError(`MAC address out of range: ${value}`);
    }
    return new MacAddress(value);
  }

  static fromBytes(buf: Uint8Array, offset = 0): MacAddress {
    const hi = (buf[offset] << 8) | buf[offset + 1];
    const lo = ((buf[offset + 2] << 24) | (buf[offset + 3] << 16) | (buf[offset + 4] << 8) | buf[offset + 5]) >>> 0;
    return new MacAddress(hi * 0x1_0000_0000 + lo);
  }

  static tryParse(text: string): MacAddress | undefined {
    const m = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(text);
    if (!m) return undefined;
    let value = 0;
    for (const i of [1, 3, 4, 5, 6, 7]) value = value * 256 + parseInt(m[i], 16);
    return new MacAddress(value);
  }

  static parse(text: string): MacAddress {
    const mac = MacAddress.tryParse(text);
    if (!mac) throw new TypeError(`Invalid MAC address: ${JSON.stringify(text)}`);
    return mac;
  }

  /** RFC 1112 §6.4: 01:00:5e followed by the low 23 bits of the group address. */
  static fromIpv4Multicast(group: Ipv4Address): MacAddress {
    return new MacAddress(0x01005e00_0000 + (group.value & 0x7f_ffff));
  }

  /** RFC 2464 §7: 33:33 followed by the low 32 bits of the group address. */
  static fromIpv6Multicast(group: Ipv6Address): MacAddress {
    const b = group.bytes;
    return new MacAddress(0x3333_0000_0000 + (((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0));
  }

  writeTo(buf: Uint8Array, offset = 0): void {
    const hi = Math.floor(this.value / 0x1_0000_0000);
    const lo = this.value >>> 0;
    buf[offset] = hi >> 8;
    buf[offset + 1] = hi & 0xff;
    buf[offset + 2] = lo >>> 24;
    buf[offset + 3] = (lo >>> 16) & 0xff;
    buf[offset + 4] = (lo >>> 8) & 0xff;
    buf[offset + 5] = lo & 0xff;
  }

  /** The first octet; its low bit is the I/G (group) bit. */
  private get firstOctet(): number {
    return Math.floor(this.value / 0x100_0000_0000);
  }

  get isBroadcast(): boolean {
    return this.value === 0xffff_ffff_ffff;
  }

  /** Group addresses, broadcast included (IEEE 802: I/G bit set). */
  get isMulticast(): boolean {
    return (this.firstOctet & 1) === 1;
  }

  get isUnicast(): boolean {
    return !this.isMulticast && this.value !== 0;
  }

  equals(other: MacAddress): boolean {
    return this.value === other.value;
  }

  toString(): string {
    const parts: string[] = [];
    let v = this.value;
    for (let i = 0; i < 6; i++) {
      parts.unshift(hexByte(v % 256));
      v = Math.floor(v / 256);
    }
    return parts.join(':');
  }
}

/** An IPv4 address held as an unsigned 32-bit integer. */
export class Ipv4Address {
  static readonly UNSPECIFIED = new Ipv4Address(0);
  static readonly BROADCAST = new Ipv4Address(0xffff_ffff);

  private constructor(readonly value: number) {}

  static fromNumber(value: number): Ipv4Address {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new TypeError(`IPv4 address out of range: ${value}`);
    }
    return new Ipv4Address(value);
  }

  static fromBytes(buf: Uint8Array, offset = 0): Ipv4Address {
    return new Ipv4Address(((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0);
  }

  /** Dotted-quad only, each part 0-255 without leading zeros (as Node's net.isIPv4). */
  static tryParse(text: string): Ipv4Address | undefined {
    const parts = text.split('.');
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const p of parts) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
      const n = Number(p);
      if (n > 255) return undefined;
      value = value * 256 + n;
    }
    return new Ipv4Address(value);
  }

  static parse(text: string): Ipv4Address {
    const a = Ipv4Address.tryParse(text);
    if (!a) throw new TypeError(`Invalid IPv4 address: ${JSON.stringify(text)}`);
    return a;
  }

  writeTo(buf: Uint8Array, offset = 0): void {
    const v = this.value;
    buf[offset] = v >>> 24;
    buf[offset + 1] = (v >>> 16) & 0xff;
    buf[offset + 2] = (v >>> 8) & 0xff;
    buf[offset + 3] = v & 0xff;
  }

  get isUnspecified(): boolean {
    return this.value === 0;
  }

  get isBroadcast(): boolean {
    return this.value === 0xffff_ffff;
  }

  /** 224.0.0.0/4 (RFC 5771). */
  get isMulticast(): boolean {
    return this.value >>> 28 === 0xe;
  }

  /** 127.0.0.0/8 (RFC 1122 §3.2.1.3). */
  get isLoopback(): boolean {
    return this.value >>> 24 === 127;
  }

  /** 169.254.0.0/16 (RFC 3927). */
  get isLinkLocal(): boolean {
    return this.value >>> 16 === 0xa9fe;
  }

  /** 240.0.0.0/4, reserved (RFC 1112 §4), broadcast excluded. */
  get isReserved(): boolean {
    return this.value >>> 28 === 0xf && !this.isBroadcast;
  }

  equals(other: Ipv4Address): boolean {
    return this.value === other.value;
  }

  toString(): string {
    const v = this.value;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
}

/** An address with its prefix length, as configured on an interface: 10.0.0.2/24. */
export class Ipv4Cidr {
  readonly mask: number;

  constructor(readonly address: Ipv4Address, readonly prefixLen: number) {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
      throw new TypeError(`IPv4 prefix length out of range: ${prefixLen}`);
    }
    this.mask = prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
  }

  static tryParse(text: string): Ipv4Cidr | undefined {
    const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
    if (!m) return undefined;
    const address = Ipv4Address.tryParse(m[1]);
    const len = Number(m[2]);
    if (!address || len > 32) return undefined;
    return new Ipv4Cidr(address, len);
  }

  static parse(text: string): Ipv4Cidr {
    const c = Ipv4Cidr.tryParse(text);
    if (!c) throw new TypeError(`Invalid IPv4 address/prefix: ${JSON.stringify(text)}`);
    return c;
  }

  get network(): Ipv4Address {
    return Ipv4Address.fromNumber((this.address.value & this.mask) >>> 0);
  }

  /** The directed broadcast of the subnet (RFC 919); none for /31 and /32 (RFC 3021). */
  get broadcast(): Ipv4Address | undefined {
    if (this.prefixLen >= 31) return undefined;
    return Ipv4Address.fromNumber((this.address.value | ~this.mask) >>> 0);
  }

  contains(addr: Ipv4Address): boolean {
    return ((addr.value ^ this.address.value) & this.mask) === 0;
  }

  /** Whether `addr` is this subnet's directed broadcast, without building it (a per-packet check). */
  isDirectedBroadcast(addr: Ipv4Address): boolean {
    return this.prefixLen < 31 && addr.value === (this.address.value | ~this.mask) >>> 0;
  }

  toString(): string {
    return `${this.address}/${this.prefixLen}`;
  }
}

/** An IPv6 address held as its 16 bytes. */
export class Ipv6Address {
  static readonly UNSPECIFIED = new Ipv6Address(new Uint8Array(16));
  static readonly LOOPBACK = Ipv6Address.fromBytes(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
  static readonly ALL_NODES = Ipv6Address.fromBytes(new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
  static readonly ALL_ROUTERS = Ipv6Address.fromBytes(new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));

  private constructor(readonly bytes: Uint8Array) {}

  /** Copies the 16 bytes, so the address outlives the buffer it was read from. */
  static fromBytes(buf: Uint8Array, offset = 0): Ipv6Address {
    return new Ipv6Address(Uint8Array.prototype.slice.call(buf, offset, offset + 16));
  }

  static tryParse(text: string): Ipv6Address | undefined {
    let head = text;
    let v4tail: Ipv4Address | undefined;
    const lastColon = text.lastIndexOf(':');
    if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
      v4tail = Ipv4Address.tryParse(text.slice(lastColon + 1));
      if (!v4tail) return undefined;
      head = text.slice(0, lastColon + 1) + '0:0';
    }
    const halves = head.split('::');
    if (halves.length > 2) return undefined;
    const toGroups = (s: string): number[] | undefined => {
      if (s === '') return [];
      const out: number[] = [];
      for (const g of s.split(':')) {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
      return out;
    };
    const left = toGroups(halves[0]);
    const right = halves.length === 2 ? toGroups(halves[1]) : [];
    if (!left || !right) return undefined;
    let groups: number[];
    if (halves.length === 2) {
      const missing = 8 - left.length - right.length;
      if (missing < 1) return undefined;
      groups = [...left, ...new Array<number>(missing).fill(0), ...right];
    } else {
      groups = left;
    }
    if (groups.length !== 8) return undefined;
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => {
      bytes[2 * i] = g >> 8;
      bytes[2 * i + 1] = g & 0xff;
    });
    if (v4tail) v4tail.writeTo(bytes, 12);
    return new Ipv6Address(bytes);
  }

  static parse(text: string): Ipv6Address {
    const a = Ipv6Address.tryParse(text);
    if (!a) throw new TypeError(`Invalid IPv6 address: ${JSON.stringify(text)}`);
    return a;
  }

  writeTo(buf: Uint8Array, offset = 0): void {
    buf.set(this.bytes, offset);
  }

  get isUnspecified(): boolean {
    return this.bytes.every((b) => b === 0);
  }

  get isLoopback(): boolean {
    return this.equals(Ipv6Address.LOOPBACK);
  }

  /** ff00::/8 (RFC 4291 §2.7). */
  get isMulticast(): boolean {
    return this.bytes[0] === 0xff;
  }

  /** fe80::/10 (RFC 4291 §2.5.6). */
  get isLinkLocal(): boolean {
    return this.bytes[0] === 0xfe && (this.bytes[1] & 0xc0) === 0x80;
  }

  /** RFC 4291 §2.5.5.2: ::ffff:a.b.c.d, how a dual-stack IPv6 socket names an IPv4 peer. */
  static fromIpv4Mapped(v4: Ipv4Address): Ipv6Address {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes[12] = v4.value >>> 24;
    bytes[13] = (v4.value >>> 16) & 0xff;
    bytes[14] = (v4.value >>> 8) & 0xff;
    bytes[15] = v4.value & 0xff;
    return new Ipv6Address(bytes);
  }

  /** The IPv4 address inside an IPv4-mapped address (RFC 4291 §2.5.5.2), else undefined. */
  get ipv4Mapped(): Ipv4Address | undefined {
    return this.isIpv4Mapped ? Ipv4Address.fromBytes(this.bytes, 12) : undefined;
  }

  /** RFC 4291 §2.7.1: ff02::1:ffXX:XXXX from the low 24 bits. */
  solicitedNode(): Ipv6Address {
    const b = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0]);
    b.set(this.bytes.subarray(13, 16), 13);
    return new Ipv6Address(b);
  }

  equals(other: Ipv6Address): boolean {
    for (let i = 0; i < 16; i++) if (this.bytes[i] !== other.bytes[i]) return false;
    return true;
  }

  /**
   * A compact map key (8 UTF-16 units, one per 16-bit group): far cheaper than the RFC
   * 5952 text on hot paths such as neighbor and destination lookups per packet.
   */
  get key(): string {
    const b = this.bytes;
    let k = '';
    for (let i = 0; i < 16; i += 2) k += String.fromCharCode((b[i] << 8) | b[i + 1]);
    return k;
  }

  static fromKey(key: string): Ipv6Address {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 8; i++) {
      const g = key.charCodeAt(i);
      bytes[2 * i] = g >> 8;
      bytes[2 * i + 1] = g & 0xff;
    }
    return new Ipv6Address(bytes);
  }

  /** ::ffff:0:0/96 (RFC 4291 §2.5.5.2): an IPv4 address seen through an IPv6 socket. */
  get isIpv4Mapped(): boolean {
    for (let i = 0; i < 10; i++) if (this.bytes[i] !== 0) return false;
    return this.bytes[10] === 0xff && this.bytes[11] === 0xff;
  }

  /**
   * RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero
   * groups as "::"; an IPv4-mapped address in mixed notation, ::ffff:192.0.2.1 (§5), as
   * inet_ntop and Node's remoteAddress print it.
   */
  toString(): string {
    if (this.isIpv4Mapped) return `::ffff:${Ipv4Address.fromBytes(this.bytes, 12)}`;
    const g: number[] = [];
    for (let i = 0; i < 8; i++) g.push((this.bytes[2 * i] << 8) | this.bytes[2 * i + 1]);
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (g[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
    if (bestStart < 0) return hex(g);
    return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
  }
}
