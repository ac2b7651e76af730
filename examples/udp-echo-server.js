'use strict';
/**
 * UDP echo server (RFC 862): every datagram goes back to its sender unchanged.
 *
 * On the kernel's sockets (ports below 1024 need root):
 *   node examples/udp-echo-server.js [--port 7] [--host 0.0.0.0]
 * Unchanged, on a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node --require pytcp/register examples/udp-echo-server.js
 * `--host ::` listens on IPv6 instead.
 */
const dgram = require('node:dgram');
const { parseArgs } = require('node:util');

const { values } = parseArgs({ options: { port: { type: 'string', default: '7' }, host: { type: 'string', default: '0.0.0.0' } } });
const socket = dgram.createSocket(values.host.includes(':') ? 'udp6' : 'udp4');

socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.on('error', (err) => {
  console.error(`udp echo: ${err.message}`);
  process.exitCode = 1;
  socket.close();
});
socket.bind(Number(values.port), values.host, () => {
  const { address, port } = socket.address();
  console.log(`udp echo listening on ${address}:${port}`);
});
