/**
 * The preload: `node --require pytcp/register app.js` (or `--import pytcp/register`).
 *
 * It starts a stack from the environment before the app runs, and routes over it `dgram`,
 * `net` (Node's own net.Socket and net.Server, hence http, https, tls.connect and the global
 * fetch, which are built on them) and `dns.lookup` (the stack's resolver):
 * `require('net')`, `import net from 'node:net'` and named imports alike. Unix-domain
 * paths and `{ fd }` keep the kernel. The
 * variables and their names are fixed (scripts outside the repo rely on them):
 *   PYTCP_TAP or PYTCP_TUN   the device name
 *   PYTCP_MAC                the stack's MAC on a TAP
 *   PYTCP_IPV4               comma-separated addr/len list, or `dhcp` (may be mixed: `dhcp,10.0.0.2/24`)
 *   PYTCP_GATEWAY            the default gateway
 *   PYTCP_IPV6               comma-separated addr/len list, or `slaac` (may be mixed), or `off`;
 *                            unset: the link-local address only (on a TAP)
 *   PYTCP_MTU                the IP MTU
 *   PYTCP_DNS                comma-separated DNS servers
 *   PYTCP_LOG                1 for the packet log on stderr
 * A missing or wrong setting ends the program with one line naming the variable (exit 2).
 * (Read and checked in shim/env.ts.)
 * The stack does not keep the process alive: the app's sockets do, as real ones would,
 * so the process exits when the app is done, as it would without pytcp.
 */
import dgram = require('node:dgram');
import dns = require('node:dns');
import net = require('node:net');
import tls = require('node:tls');
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';
import { launchStack, type HostSettings, type RunningStack } from '../lib/launch';
import { SettingError } from '../lib/settings';
import { settingsFromEnv } from './env';
import { dgramOver } from './dgram';
import { StackResolver } from './dns';
import { ShimHost } from './host';
import { routeNetOver } from './net';
import { acceptStackSocketsInTls, tlsConnectOver } from './tls';

function start(): RunningStack {
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

/** The stack this preload started; the app reaches it as `require('pytcp/register').running`. */
export const running: RunningStack = start();
export const host = ShimHost.for(running.driver);

/**
 * Names resolve through the stack: PYTCP_DNS's servers when set, else those the stack learns
 * (DHCPv4, RA RDNSS, DHCPv6) at each query, with `localhost` and static entries first.
 */
export const resolver = new StackResolver(host, running.settings.dns?.length ? { servers: running.settings.dns } : {});

const shimDgram = dgramOver(host, { lookup: resolver.lookup });
dgram.createSocket = shimDgram.createSocket;
dgram.Socket = shimDgram.Socket;

// net.connect, http's Agent, fetch and listen({ host }) all resolve through dns.lookup at call time.
dns.lookup = resolver.lookup;
dns.promises.lookup = promisify(resolver.lookup) as unknown as typeof dns.promises.lookup;

routeNetOver(host);
acceptStackSocketsInTls();
tls.connect = tlsConnectOver((options) => net.connect(options));

// ESM named imports (`import { createSocket } from 'node:dgram'`) read the module's exports as synced here.
syncBuiltinESMExports();

// A last goodbye on the wire (DHCP RELEASE) as the process ends; stop() is synchronous.
process.once('exit', () => running.stop());
