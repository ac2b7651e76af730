'use strict';
/**
 * UDP echo client: sends one datagram to an echo server (RFC 862) and prints the reply,
 * `reply from <address>:<port>: <text>`; exit 0 on a reply, 1 after 2 s without one or
 * on an error (a closed port answers ECONNREFUSED: the socket is connected).
 *
 * On the kernel's sockets:
 *   node examples/udp-echo-client.js <host> [port=7] [message=hello]
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 node --require pytcp/register examples/udp-echo-client.js 10.0.0.2
 */
const dgram = require('node:dgram');

const [host, port = '7', message = 'hello'] = process.argv.slice(2);
if (!host) {
  console.error('usage: node udp-echo-client.js <host> [port] [message]');
  process.exit(2);
}
const TIMEOUT_MS = 2000;
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');

let done = false;
function finish(code, line) {
  if (done) return;
  done = true;
  clearTimeout(timer);
  (code === 0 ? console.log : console.error)(line);
  process.exitCode = code;
  socket.close();
}

const timer = setTimeout(() => finish(1, `no reply from ${host}:${port} within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

socket.on('message', (msg, rinfo) => finish(0, `reply from ${rinfo.address}:${rinfo.port}: ${msg.toString().replace(/\r?\n$/, '')}`));
socket.on('error', (err) => finish(1, `udp echo client: ${err.message}`));
socket.connect(Number(port), host, () => socket.send(message));
