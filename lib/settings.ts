import { Ipv4Address, Ipv4Cidr, Ipv6Address, MacAddress } from './wire/address';

/**
 * Validation of the settings a user gives a stack, shared by the CLI (`--ipv4`) and
 * the preload (`PYTCP_IPV4`) so both say the same thing about the same mistake. Each
 * error names the setting it concerns.
 */
export class SettingError extends Error {
  constructor(readonly setting: string, detail: string) {
    super(`${setting}: ${detail}`);
    this.name = 'SettingError';
  }
}

export function parseDeviceName(setting: string, text: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(text)) {
    throw new SettingError(setting, `invalid interface name ${JSON.stringify(text)} (1-15 letters, digits, '_', '.', '-')`);
  }
  return text;
}

export function parseMac(setting: string, text: string): MacAddress {
  const mac = MacAddress.tryParse(text);
  if (!mac || !mac.isUnicast) throw new SettingError(setting, `invalid unicast MAC address ${JSON.stringify(text)}`);
  return mac;
}

export function parseHostCidr(setting: string, text: string): Ipv4Cidr {
  const cidr = Ipv4Cidr.tryParse(text);
  if (!cidr) throw new SettingError(setting, `invalid address/prefix ${JSON.stringify(text)} (expected e.g. 10.0.0.2/24)`);
  const a = cidr.address;
  if (a.isMulticast || a.isBroadcast || a.isUnspecified || a.isLoopback || a.isReserved) {
    throw new SettingError(setting, `${text} is not a unicast host address`);
  }
  return cidr;
}

/** `subnets` undefined: the subnet comes later (DHCP), so the gateway cannot be checked yet. */
export function parseGateway(setting: string, text: string, subnets: readonly Ipv4Cidr[] | undefined): Ipv4Address {
  const gateway = Ipv4Address.tryParse(text);
  if (!gateway) throw new SettingError(setting, `invalid IPv4 address ${JSON.stringify(text)}`);
  if (subnets && !subnets.some((c) => c.contains(gateway))) throw new SettingError(setting, `${gateway} is not on a configured subnet`);
  return gateway;
}

/** RFC 791: every host takes 68-byte datagrams; 65535 is the largest an IPv4 header can say. */
export function parseMtu(setting: string, text: string): number {
  const mtu = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(mtu >= 68 && mtu <= 65535)) throw new SettingError(setting, `expected an integer from 68 to 65535, got ${JSON.stringify(text)}`);
  return mtu;
}

/** An IPv6 address with its prefix length (64 when omitted), unicast and not loopback. */
export function parseIpv6Cidr(setting: string, text: string): { address: Ipv6Address; prefixLen: number } {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  const address = m ? Ipv6Address.tryParse(m[1]) : undefined;
  const prefixLen = m?.[2] === undefined ? 64 : Number(m[2]);
  if (!address || prefixLen > 128) throw new SettingError(setting, `invalid IPv6 address/prefix ${JSON.stringify(text)} (expected e.g. fd00::2/64)`);
  if (address.isMulticast || address.isUnspecified || address.isLoopback) throw new SettingError(setting, `${text} is not a unicast host address`);
  return { address, prefixLen };
}

/** A DNS server: an IPv4 or IPv6 unicast address (port 53 is implied). */
export function parseDnsServer(setting: string, text: string): Ipv4Address | Ipv6Address {
  const address = Ipv4Address.tryParse(text) ?? Ipv6Address.tryParse(text);
  if (!address) throw new SettingError(setting, `invalid DNS server ${JSON.stringify(text)} (expected an IPv4 or IPv6 address)`);
  if (address.isMulticast || address.isUnspecified || (address instanceof Ipv4Address && address.isBroadcast)) {
    throw new SettingError(setting, `${text} is not a unicast address`);
  }
  return address;
}
