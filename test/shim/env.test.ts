import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../../shim/env';

const base = { PYTCP_TAP: 'tap0', PYTCP_IPV4: '10.0.0.2/24' };

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    settingsFromEnv(env);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('the preload reads PYTCP_* variables', () => {
  it('takes a TAP, addresses, a gateway, an MTU, DNS servers and the log switch', () => {
    const s = settingsFromEnv({ ...base, PYTCP_IPV4: '10.0.0.2/24, 10.0.1.2/24', PYTCP_GATEWAY: '10.0.0.1', PYTCP_MTU: '1400', PYTCP_DNS: '10.0.0.53,fd00::53', PYTCP_LOG: '1' });
    expect(s.device).toEqual({ kind: 'tap', name: 'tap0' });
    expect(s.ipv4.map(String)).toEqual(['10.0.0.2/24', '10.0.1.2/24']);
    expect(String(s.gateway)).toBe('10.0.0.1');
    expect(s.mtu).toBe(1400);
    expect(s.dns?.map(String)).toEqual(['10.0.0.53', 'fd00::53']);
    expect(s.log).toBe(true);
    expect(s.keepAlive).toBe(false);
    // Addresses in use from the first line, as a kernel's configured before the program ran.
    expect([s.probeIpv4, s.probeIpv6]).toEqual([false, false]);
  });

  it('PYTCP_IPV6: unset keeps the link-local address only; a list, slaac, or off', () => {
    expect(settingsFromEnv(base).ipv6).toEqual({ addresses: [], slaac: false });
    const s = settingsFromEnv({ ...base, PYTCP_IPV6: 'fd00::2/64,slaac' });
    expect(s.ipv6 && s.ipv6.addresses.map((a) => `${a.address}/${a.prefixLen}`)).toEqual(['fd00::2/64']);
    expect(s.ipv6 && s.ipv6.slaac).toBe(true);
    expect(settingsFromEnv({ ...base, PYTCP_IPV6: 'off' }).ipv6).toBe(false);
    // IPv6 alone is enough to run.
    expect(settingsFromEnv({ PYTCP_TAP: 'tap0', PYTCP_IPV6: 'slaac' }).ipv4).toEqual([]);
  });

  it('each mistake is one line naming its variable', () => {
    expect(errorOf({})).toMatch(/^PYTCP_TAP: /);
    expect(errorOf({ PYTCP_TAP: 'tap0' })).toMatch(/^PYTCP_IPV4: /);
    expect(errorOf({ ...base, PYTCP_IPV6: 'fd00::2/200' })).toBe('PYTCP_IPV6: invalid IPv6 address/prefix "fd00::2/200" (expected e.g. fd00::2/64)');
    expect(errorOf({ ...base, PYTCP_IPV6: 'off,slaac' })).toMatch(/^PYTCP_IPV6: `off` cannot be mixed/);
    expect(errorOf({ PYTCP_TUN: 'tun0', PYTCP_IPV4: '10.0.0.2/24', PYTCP_IPV6: 'slaac' })).toMatch(/^PYTCP_IPV6: /);
    expect(errorOf({ ...base, PYTCP_DNS: '10.0.0.1,nope' })).toBe('PYTCP_DNS: invalid DNS server "nope" (expected an IPv4 or IPv6 address)');
    expect(errorOf({ ...base, PYTCP_DNS: '224.0.0.1' })).toBe('PYTCP_DNS: 224.0.0.1 is not a unicast address');
    expect(errorOf({ ...base, PYTCP_GATEWAY: '10.9.0.1' })).toMatch(/^PYTCP_GATEWAY: /);
    expect(errorOf({ ...base, PYTCP_MTU: '20' })).toMatch(/^PYTCP_MTU: /);
    expect(errorOf({ ...base, PYTCP_LOG: 'yes' })).toMatch(/^PYTCP_LOG: /);
  });
});
