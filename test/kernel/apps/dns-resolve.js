'use strict';
/**
 * `node --require pytcp/register dns-resolve.js <name> <missing-name> <port>`: once the
 * preload's resolver has a server (PYTCP_DNS, or one learned by DHCP), looks <name> up
 * through it, sends one datagram to <name>:<port> with plain dgram (the name resolved by the
 * shim), then looks up <missing-name>; one line per result, and the process ends by itself.
 */
const dgram = require('node:dgram');
const { resolver } = require('pytcp/register');

const [name, missing, port] = process.argv.slice(2);

function describe(err) {
  return `error ${err.code} ${err.syscall} ${err.errno} ${err.hostname} "${err.message}"`;
}

function run() {
  console.log(`servers ${resolver.servers.join(',')}`);
  resolver.lookup(name, (err, address, family) => {
    console.log(err ? `lookup ${name} ${describe(err)}` : `lookup ${name} ${address} ${family}`);
    const socket = dgram.createSocket('udp4');
    socket.send(`hello ${name}`, Number(port), name, (sendErr) => {
      console.log(sendErr ? `send ${describe(sendErr)}` : `sent to ${name}:${port}`);
      socket.close();
      resolver.lookup(missing, (missErr, missAddress) => {
        console.log(missErr ? `lookup ${missing} ${describe(missErr)}` : `lookup ${missing} ${missAddress}`);
      });
    });
  });
}

// A DHCP lease brings its servers a moment after start; the wait is bounded, and a timer holds the process meanwhile.
const deadline = Date.now() + 20_000;
(function waitForServers() {
  if (resolver.servers.length > 0 || Date.now() > deadline) run();
  else setTimeout(waitForServers, 100);
})();
