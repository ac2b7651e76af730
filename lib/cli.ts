import { parseArgs } from 'node:util';
import { launchStack, type HostSettings, type RunningStack } from './launch';
import { parsePingArgs, PING_OPTIONS, PingUsageError, runPing } from './cli-ping';
import { parseDeviceName, parseGateway, parseHostCidr, parseIpv6Cidr, parseMac, parseMtu, SettingError } from './settings';
import { isServiceName, SERVICE_NAMES, startServices, type ServiceName } from '../shim/services';

const STACK_USAGE = `  --tap <name>           attach to (or create) the TAP device <name>
  --tun <name>           attach to (or create) the TUN device <name>
  --mac <mac>            the stack's MAC address on a TAP (default: random, locally
                         administered; it must differ from the TAP's own kernel MAC)
  --ipv4 <addr>/<len>    an IPv4 address with its prefix length; repeat for more.
                         Each is probed for conflicts first (RFC 5227)
  --dhcp                 get an address by DHCP (RFC 2131), beside any --ipv4; the
                         lease is probed for conflicts before use and released on exit
  --ipv6 <addr>/<len>    a static IPv6 address (probed with DAD first); repeat for more.
                         A link-local address is always formed (EUI-64) on a TAP
  --slaac                follow Router Advertisements: SLAAC addresses (RFC 4862) and,
                         when they set M or O, DHCPv6 (RFC 8415)
  --no-ipv6              no IPv6 at all
  --gateway <addr>       the default gateway (on a configured subnet)
  --mtu <n>              the IP MTU (68-65535) to set on the device
  --log                  one line per packet on stderr (also: NODE_DEBUG=pytcp)`;

const USAGE = `Usage: pytcp up (--tap <name> | --tun <name>) (--ipv4 <addr>/<len> ... | --dhcp | --ipv6 <addr>/<len> ... | --slaac) [options]
       pytcp ping (--tap <name> | --tun <name>) --ipv4 <addr>/<len> [options] [ping options] <destination>

pytcp up starts a user-space TCP/IP stack on a TAP (Ethernet) or TUN (IP) device. It
answers ARP and ping (and runs the --service services) until SIGINT or SIGTERM, then
releases the device and exits 0.
pytcp ping starts the same stack and pings <destination> from it, as ping(8) does.

Options:
${STACK_USAGE}
  -h, --help             print this help

Up options:
  --service <name>       serve echo (port 7, RFC 862), discard (9, RFC 863) or
                         daytime (13, RFC 867) over UDP and TCP on the stack's
                         wildcard addresses; repeat for more

Ping options:
  -c, --count <n>        stop after <n> echo requests (default 5)
  -i, --interval <s>     seconds between requests (default 1, at least 0.01)
  -s, --size <n>         data bytes per request (default 56)
  -W, --timeout <s>      seconds to wait for the last reply (default 2)

Exit codes: up: 0 after SIGINT/SIGTERM, 1 when the device fails, 2 on a bad option;
ping: 0 when a reply came back, 1 when none did or the device failed, 2 on a bad option.`;

const STACK_OPTIONS = {
  tap: { type: 'string' },
  tun: { type: 'string' },
  mac: { type: 'string' },
  ipv4: { type: 'string', multiple: true },
  dhcp: { type: 'boolean' },
  ipv6: { type: 'string', multiple: true },
  slaac: { type: 'boolean' },
  'no-ipv6': { type: 'boolean' },
  gateway: { type: 'string' },
  mtu: { type: 'string' },
  log: { type: 'boolean' },
} as const;

const UP_OPTIONS = {
  service: { type: 'string', multiple: true },
} as const;

/** A bad command line: reported in one line, exit code 2. */
export class UsageError extends Error {}

type StackValues = { tap?: string; tun?: string; mac?: string; ipv4?: string[]; dhcp?: boolean; ipv6?: string[]; slaac?: boolean; 'no-ipv6'?: boolean; gateway?: string; mtu?: string; log?: boolean };

function parseCommand(argv: string[], extra: typeof PING_OPTIONS | typeof UP_OPTIONS, positionals: boolean) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: positionals, options: { ...STACK_OPTIONS, ...extra } });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

/** The stack's settings from the options `up` and `ping` share. */
function stackSettings(v: StackValues, keepAlive: boolean): HostSettings {
  if ((v.tap === undefined) === (v.tun === undefined)) throw new UsageError('give exactly one of --tap <name> or --tun <name>');
  const kind = v.tap !== undefined ? 'tap' : 'tun';
  const name = parseDeviceName(`--${kind}`, (v.tap ?? v.tun)!);
  if (v.mac !== undefined && kind === 'tun') throw new UsageError('--mac applies to a TAP only');
  const mac = v.mac === undefined ? undefined : parseMac('--mac', v.mac);
  const ipv4 = (v.ipv4 ?? []).map((text) => parseHostCidr('--ipv4', text));
  if (v.dhcp && kind === 'tun') throw new UsageError('--dhcp needs a TAP (DHCP runs over Ethernet)');
  const ipv6Addresses = (v.ipv6 ?? []).map((text) => parseIpv6Cidr('--ipv6', text));
  const wantsIpv6 = ipv6Addresses.length > 0 || v.slaac;
  if (v['no-ipv6'] && wantsIpv6) throw new UsageError('--no-ipv6 cannot go with --ipv6 or --slaac');
  if (kind === 'tun' && wantsIpv6) throw new UsageError('IPv6 runs on a TAP only for now (--ipv6/--slaac with --tun)');
  const ipv6 = v['no-ipv6'] || kind === 'tun' ? (false as const) : { addresses: ipv6Addresses, slaac: v.slaac ?? false };
  if (ipv4.length === 0 && !v.dhcp && !wantsIpv6) throw new UsageError('give at least one --ipv4 <addr>/<len>, --dhcp, --ipv6 <addr>/<len> or --slaac');
  const gateway = v.gateway === undefined ? undefined : parseGateway('--gateway', v.gateway, v.dhcp ? undefined : ipv4);
  const mtu = v.mtu === undefined ? undefined : parseMtu('--mtu', v.mtu);
  return { device: { kind, name }, mac, ipv4, dhcp: v.dhcp ?? false, ipv6, gateway, mtu, log: v.log ?? false, keepAlive };
}

function parseServices(names: string[] | undefined): ServiceName[] {
  return (names ?? []).map((name) => {
    if (!isServiceName(name)) throw new UsageError(`--service: unknown service ${JSON.stringify(name)} (expected one of: ${SERVICE_NAMES.join(', ')})`);
    return name;
  });
}

/** The shim is loaded only when a service needs it: it reads node:dgram's internals as it loads. */
async function runServices(running: RunningStack, names: ServiceName[]): Promise<{ close(): void }> {
  const [{ dgramOver }, { ShimHost }] = await Promise.all([import('../shim/dgram'), import('../shim/host')]);
  return startServices({ dgram: dgramOver(new ShimHost(running.driver)), driver: running.driver }, names, out);
}

const out = (line: string) => process.stdout.write(`pytcp: ${line}\n`);
const fail = (line: string) => process.stderr.write(`pytcp: ${line}\n`);

/** Runs the CLI; resolves to the exit code once the stack has stopped. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') {
    process.stdout.write(USAGE + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  const command = argv[0];
  if (command !== 'up' && command !== 'ping') {
    fail(`unknown command ${JSON.stringify(command)} (try: pytcp --help)`);
    return 2;
  }
  let settings: HostSettings;
  let ping: ReturnType<typeof parsePingArgs> | undefined;
  let services: ServiceName[] = [];
  try {
    if (command === 'up') {
      const { values } = parseCommand(argv.slice(1), UP_OPTIONS, false);
      settings = stackSettings(values, true);
      services = parseServices((values as { service?: string[] }).service);
    } else {
      const parsed = parseCommand(argv.slice(1), PING_OPTIONS, true);
      settings = stackSettings(parsed.values, true);
      ping = parsePingArgs(parsed.values as Record<string, string | undefined>, parsed.positionals);
    }
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof SettingError || err instanceof PingUsageError)) throw err;
    fail(err.message);
    return 2;
  }
  let running: RunningStack;
  try {
    running = launchStack(settings);
  } catch (err) {
    fail((err as Error).message);
    return 1;
  }
  const { stack, driver } = running;
  const iface = stack.interfaces[0];
  out(`${iface.name} up, ${iface.arp ? `mac ${iface.mac}, ` : ''}mtu ${iface.mtu}`);
  driver.on('address-ready', (e) => out(`ipv4 ${e.address} ready`));
  driver.on('address-conflict', (e) => out(`ipv4 ${e.address} conflict with ${e.holder}, not used`));
  driver.on('dhcp-bound', ({ lease: l, renewed }) => {
    const extras = [l.routers.length ? `router ${l.routers.join(',')}` : '', l.dnsServers.length ? `dns ${l.dnsServers.join(',')}` : '', l.mtu ? `mtu ${l.mtu}` : '', `lease ${l.leaseTimeS} s`];
    out(`dhcp ${renewed ? 'renewed' : 'lease'} ${l.address}/${l.prefixLen} from ${l.serverId}, ${extras.filter(Boolean).join(', ')}`);
  });
  driver.on('ipv6-address-ready', (e) => out(`ipv6 ${e.address}/${e.prefixLen} ready (${e.origin})`));
  driver.on('ipv6-address-duplicate', (e) => out(`ipv6 ${e.address}/${e.prefixLen} duplicate, not used`));
  driver.on('ipv6-address-removed', (e) => out(`ipv6 ${e.address}/${e.prefixLen} removed`));
  driver.on('dhcp6-bound', (e) => out(`dhcp6 lease ${e.address}/128, ${e.dnsServers.length ? `dns ${e.dnsServers.join(',')}, ` : ''}valid ${e.validS} s`));
  driver.on('dhcp6-unbound', (e) => out(`dhcp6 lease ${e.address}/128 ended (${e.reason})`));
  driver.on('dhcp-unbound', (e) => out(`dhcp lease ${e.address} ended (${e.reason})`));
  const serving = services.length > 0 ? await runServices(running, services) : undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: number, last?: string) => {
      if (done) return;
      done = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // The services' sockets and connections first, while the stack can still send their close (FINs).
      serving?.close();
      running.stop();
      if (last) out(last);
      resolve(code);
    };
    const onSignal = () => finish(0, 'down');
    driver.on('error', (err) => {
      fail(`${iface.name} failed: ${err.message}`);
      finish(1);
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (ping) runPing(running, ping, (line) => process.stdout.write(line + '\n')).then((code) => finish(code));
  });
}
