'use strict';
/**
 * A connection whose peer vanishes: `node tcp-vanishing-peer.js HOST PORT RETRIES2`, run
 * WITHOUT the preload: it builds its own stack from the same PYTCP_* variables, with
 * `tcp: { retries2: RETRIES2 }` so the data retransmissions give up in seconds, not
 * Linux's ~15 minutes. Prints `connected`, then on SIGUSR1 (the test's cue that the peer
 * is gone) writes a line and prints `wrote`, and prints `error CODE SYSCALL after T ms`
 * (T from the write) when the connection fails, then exits.
 */
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { settingsFromEnv } = require(path.join(DIST, 'shim/env.js'));
const { createStack, MonotonicClock, StackDriver, TapDevice, tcpConnect } = require(path.join(DIST, 'lib/index.js'));

const [host, port, retries2] = process.argv.slice(2);
const settings = settingsFromEnv(process.env);
const device = TapDevice.open({ name: settings.device.name, mtu: settings.mtu });
const stack = createStack({
  interfaces: [{ device, mac: settings.mac, ipv4: settings.ipv4, ipv6: settings.ipv6, acd: { probe: false } }],
  tcp: { retries2: Number(retries2) },
});
const driver = new StackDriver(stack, { clock: new MonotonicClock(), keepAlive: true }).start();

let wroteAt = 0;
const socket = tcpConnect(driver, { host, port: Number(port) });
socket.on('connect', () => console.log('connected'));
process.once('SIGUSR1', () => {
  wroteAt = performance.now();
  socket.write(Buffer.from('are you still there?\n'));
  console.log('wrote');
});
socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall} after ${Math.round(performance.now() - wroteAt)} ms`));
socket.on('close', () => driver.stop());
