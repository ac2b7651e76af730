/**
 * The preload: `node --require pytcp/register app.js` (or `--import pytcp/register`).
 *
 * It starts a stack from the environment before the app runs. The variables and their
 * names are fixed (scripts outside the repo rely on them):
 *   PYTCP_TAP or PYTCP_TUN   the device name
 *   PYTCP_MAC                the stack's MAC on a TAP
 *   PYTCP_IPV4               comma-separated addr/len list, or `dhcp` (may be mixed: `dhcp,10.0.0.2/24`)
 *   PYTCP_GATEWAY            the default gateway
 *   PYTCP_MTU                the IP MTU
 *   PYTCP_LOG                1 for the packet log on stderr
 * The stack does not keep the process alive: when the app is done, the process exits
 * as it would without pytcp. Routing `dgram` and `net` over the stack builds on this.
 */
import { launchStack, type HostSettings, type RunningStack } from '../lib/launch';
import { parseDeviceName, parseGateway, parseHostCidr, parseMac, parseMtu, SettingError } from '../lib/settings';

export function settingsFromEnv(env: NodeJS.ProcessEnv): HostSettings {
  const tap = env.PYTCP_TAP;
  const tun = env.PYTCP_TUN;
  if (!tap && !tun) throw new SettingError('PYTCP_TAP', 'set PYTCP_TAP (or PYTCP_TUN) to the device the stack runs on');
  if (tap && tun) throw new SettingError('PYTCP_TUN', 'set only one of PYTCP_TAP and PYTCP_TUN');
  const kind = tap ? 'tap' : 'tun';
  const name = parseDeviceName(tap ? 'PYTCP_TAP' : 'PYTCP_TUN', (tap ?? tun)!);
  if (env.PYTCP_MAC && kind === 'tun') throw new SettingError('PYTCP_MAC', 'applies to a TAP only');
  const mac = env.PYTCP_MAC ? parseMac('PYTCP_MAC', env.PYTCP_MAC) : undefined;
  const list = (env.PYTCP_IPV4 ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new SettingError('PYTCP_IPV4', 'set it to a comma-separated list of addr/len (e.g. 10.0.0.2/24), or dhcp');
  const dhcp = list.includes('dhcp');
  if (dhcp && kind === 'tun') throw new SettingError('PYTCP_IPV4', 'dhcp needs a TAP (DHCP runs over Ethernet)');
  const ipv4 = list.filter((text) => text !== 'dhcp').map((text) => parseHostCidr('PYTCP_IPV4', text));
  const gateway = env.PYTCP_GATEWAY ? parseGateway('PYTCP_GATEWAY', env.PYTCP_GATEWAY, dhcp ? undefined : ipv4) : undefined;
  const mtu = env.PYTCP_MTU ? parseMtu('PYTCP_MTU', env.PYTCP_MTU) : undefined;
  if (env.PYTCP_LOG !== undefined && env.PYTCP_LOG !== '' && env.PYTCP_LOG !== '0' && env.PYTCP_LOG !== '1') {
    throw new SettingError('PYTCP_LOG', `expected 1 or 0, got ${JSON.stringify(env.PYTCP_LOG)}`);
  }
  return { device: { kind, name }, mac, ipv4, dhcp, gateway, mtu, log: env.PYTCP_LOG === '1', keepAlive: false };
}

function register(): RunningStack {
  let settings: HostSettings;
  try {
    settings = settingsFromEnv(process.env);
  } catch (err) {
    if (!(err instanceof SettingError)) throw err;
    process.stderr.write(`pytcp/register: ${err.message}\n`);
    process.exit(2);
  }
  try {
    return launchStack(settings);
  } catch (err) {
    process.stderr.write(`pytcp/register: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

export const running: RunningStack = register();
