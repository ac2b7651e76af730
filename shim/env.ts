import type { HostSettings } from '../lib/launch';
import { parseDeviceName, parseDnsServer, parseGateway, parseHostCidr, parseIpv6Cidr, parseMac, parseMtu, SettingError } from '../lib/settings';

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The preload's settings from the PYTCP_* variables (listed in shim/register.ts); a SettingError names the variable at fault. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): HostSettings {
  const tap = env.PYTCP_TAP;
  const tun = env.PYTCP_TUN;
  if (!tap && !tun) throw new SettingError('PYTCP_TAP', 'set PYTCP_TAP (or PYTCP_TUN) to the device the stack runs on');
  if (tap && tun) throw new SettingError('PYTCP_TUN', 'set only one of PYTCP_TAP and PYTCP_TUN');
  const kind = tap ? 'tap' : 'tun';
  const name = parseDeviceName(tap ? 'PYTCP_TAP' : 'PYTCP_TUN', (tap ?? tun)!);
  if (env.PYTCP_MAC && kind === 'tun') throw new SettingError('PYTCP_MAC', 'applies to a TAP only');
  const mac = env.PYTCP_MAC ? parseMac('PYTCP_MAC', env.PYTCP_MAC) : undefined;

  const v4 = list(env.PYTCP_IPV4);
  const dhcp = v4.includes('dhcp');
  if (dhcp && kind === 'tun') throw new SettingError('PYTCP_IPV4', 'dhcp needs a TAP (DHCP runs over Ethernet)');
  const ipv4 = v4.filter((text) => text !== 'dhcp').map((text) => parseHostCidr('PYTCP_IPV4', text));

  const v6 = list(env.PYTCP_IPV6);
  const off = v6.includes('off');
  if (off && v6.length > 1) throw new SettingError('PYTCP_IPV6', '`off` cannot be mixed with addresses or slaac');
  const slaac = v6.includes('slaac');
  const addresses = v6.filter((text) => text !== 'slaac' && text !== 'off').map((text) => parseIpv6Cidr('PYTCP_IPV6', text));
  const wantsIpv6 = slaac || addresses.length > 0;
  if (kind === 'tun' && wantsIpv6) throw new SettingError('PYTCP_IPV6', 'IPv6 runs on a TAP only for now');
  const ipv6 = off || kind === 'tun' ? (false as const) : { addresses, slaac };

  if (ipv4.length === 0 && !dhcp && !wantsIpv6) {
    throw new SettingError('PYTCP_IPV4', 'set it to a comma-separated list of addr/len (e.g. 10.0.0.2/24), or dhcp (or give PYTCP_IPV6 addresses or slaac)');
  }
  const gateway = env.PYTCP_GATEWAY ? parseGateway('PYTCP_GATEWAY', env.PYTCP_GATEWAY, dhcp ? undefined : ipv4) : undefined;
  const mtu = env.PYTCP_MTU ? parseMtu('PYTCP_MTU', env.PYTCP_MTU) : undefined;
  const dns = list(env.PYTCP_DNS).map((text) => parseDnsServer('PYTCP_DNS', text));
  if (env.PYTCP_LOG !== undefined && env.PYTCP_LOG !== '' && env.PYTCP_LOG !== '0' && env.PYTCP_LOG !== '1') {
    throw new SettingError('PYTCP_LOG', `expected 1 or 0, got ${JSON.stringify(env.PYTCP_LOG)}`);
  }
  // The app sends as soon as it starts, as it would from a kernel address configured before
  // it ran: no RFC 5227 probing wait, and no tentative IPv6 address (RFC 4862 §5.4, as `nodad`).
  return { device: { kind, name }, mac, ipv4, probeIpv4: false, probeIpv6: false, dhcp, ipv6, gateway, mtu, dns, log: env.PYTCP_LOG === '1', keepAlive: false };
}

