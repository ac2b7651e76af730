'use strict';
/**
 * UDP daytime server (RFC 867): answers any datagram with the date and time as one
 * human-readable line; what the datagram held does not matter.
 *
 * On the kernel's sockets (ports below 1024 need root):
 *   node examples/udp-daytime-server.js [--port 13] [--host 0.0.0.0]
 * Unchanged, on a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node --require pytcp/register examples/udp-daytime-server.js
 * `--host ::` listens on IPv6 instead.
 */
const dgram = require('node:dgram');
const { parseArgs } = require('node:util');

const { values } = parseArgs({ options: { port: { type: 'string', default: '13' }, host: { type: 'string', default: '0.0.0.0' } } });
const socket = dgram.createSocket(values.host.includes(':') ? 'udp6' : 'udp4');

socket.on('message', (_msg, rinfo) => socket.send(`${new Date().toString()}\r\n`, rinfo.port, rinfo.address));
socket.on('error', (err) => {
  console.error(`udp daytime: ${err.message}`);
  process.exitCode = 1;
  socket.close();
});
socket.bind(Number(values.port), values.host, () => {
  const { address, port } = socket.address();
  console.log(`udp daytime listening on ${address}:${port}`);
});
