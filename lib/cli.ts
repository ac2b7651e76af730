import { parseArgs } from 'node:util';
import { parseDeviceName, parseGateway, parseHostCidr, parseMac, parseMtu, SettingError } from './settings';
import { launchStack, type HostSettings } from './launch';

const USAGE = `Usage: pytcp up (--tap <name> | --tun <name>) --ipv4 <addr>/<len> [options]

Starts a user-space TCP/IP stack on a TAP (Ethernet) or TUN (IP) device. It answers
ARP and ping until SIGINT or SIGTERM, then releases the device and exits 0.

Options:
  --tap <name>           attach to (or create) the TAP device <name>
  --tun <name>           attach to (or create) the TUN device <name>
  --mac <mac>            the stack's MAC address on a TAP (default: random, locally
                         administered; it must differ from the TAP's own kernel MAC)
  --ipv4 <addr>/<len>    an IPv4 address with its prefix length; repeat for more.
                         Each is probed for conflicts first (RFC 5227)
  --gateway <addr>       the default gateway (on a configured subnet)
  --mtu <n>              the IP MTU (68-65535) to set on the device
  --log                  one line per packet on stderr (also: NODE_DEBUG=pytcp)
  -h, --help             print this help

Exit codes: 0 after SIGINT/SIGTERM, 1 when the device fails, 2 on a bad option.`;

/** A bad command line: reported in one line, exit code 2. */
class UsageError extends Error {}

function parseUp(argv: string[]): HostSettings {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        tap: { type: 'string' },
        tun: { type: 'string' },
        mac: { type: 'string' },
        ipv4: { type: 'string', multiple: true },
        gateway: { type: 'string' },
        mtu: { type: 'string' },
        log: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if ((v.tap === undefined) === (v.tun === undefined)) throw new UsageError('give exactly one of --tap <name> or --tun <name>');
  const kind = v.tap !== undefined ? 'tap' : 'tun';
  const name = parseDeviceName(`--${kind}`, (v.tap ?? v.tun)!);
  if (v.mac !== undefined && kind === 'tun') throw new UsageError('--mac applies to a TAP only');
  const mac = v.mac === undefined ? undefined : parseMac('--mac', v.mac);
  const ipv4 = (v.ipv4 ?? []).map((text) => parseHostCidr('--ipv4', text));
  if (ipv4.length === 0) throw new UsageError('give at least one --ipv4 <addr>/<len>');
  const gateway = v.gateway === undefined ? undefined : parseGateway('--gateway', v.gateway, ipv4);
  const mtu = v.mtu === undefined ? undefined : parseMtu('--mtu', v.mtu);
  return { device: { kind, name }, mac, ipv4, gateway, mtu, log: v.log ?? false, keepAlive: true };
}

/** Runs the CLI; resolves to the exit code once the stack has stopped. */
export function main(argv: string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(`pytcp: ${line}\n`);
  const fail = (line: string) => process.stderr.write(`pytcp: ${line}\n`);
  if (argv.length === 0 || argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') {
    process.stdout.write(USAGE + '\n');
    return Promise.resolve(argv.length === 0 ? 2 : 0);
  }
  if (argv[0] !== 'up') {
    fail(`unknown command ${JSON.stringify(argv[0])} (try: pytcp up --help)`);
    return Promise.resolve(2);
  }
  let settings: HostSettings;
  try {
    settings = parseUp(argv.slice(1));
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof SettingError)) throw err;
    fail(err.message);
    return Promise.resolve(2);
  }
  let running;
  try {
    running = launchStack(settings);
  } catch (err) {
    fail((err as Error).message);
    return Promise.resolve(1);
  }
  const { stack, driver } = running;
  const iface = stack.interfaces[0];
  out(`${iface.name} up, ${iface.arp ? `mac ${iface.mac}, ` : ''}mtu ${iface.mtu}`);
  driver.on('address-ready', (e) => out(`ipv4 ${e.address} ready`));
  driver.on('address-conflict', (e) => out(`ipv4 ${e.address} conflict with ${e.holder}, not used`));
  return new Promise((resolve) => {
    const finish = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      running.stop();
      resolve(code);
    };
    const onSignal = () => {
      finish(0);
      out('down');
    };
    driver.on('error', (err) => {
      fail(`${iface.name} failed: ${err.message}`);
      finish(1);
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
