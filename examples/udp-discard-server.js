'use strict';
/**
 * UDP discard server (RFC 863): receives datagrams and drops them, answering nothing.
 *
 * On the kernel's sockets (ports below 1024 need root):
 *   node examples/udp-discard-server.js [--port 9] [--host 0.0.0.0]
 * Unchanged, on a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node --require pytcp/register examples/udp-discard-server.js
 * `--host ::` listens on IPv6 instead.
 */
const dgram = require('node:dgram');
const { parseArgs } = require('node:util');

const { values } = parseArgs({ options: { port: { type: 'string', default: '9' }, host: { type: 'string', default: '0.0.0.0' } } });
const socket = dgram.createSocket(values.host.includes(':') ? 'udp6' : 'udp4');

// Node reads every datagram once the socket is bound; with no 'message' listener, each is dropped.
socket.on('error', (err) => {
  console.error(`udp discard: ${err.message}`);
  process.exitCode = 1;
  socket.close();
});
socket.bind(Number(values.port), values.host, () => {
  const { address, port } = socket.address();
  console.log(`udp discard listening on ${address}:${port}`);
});
