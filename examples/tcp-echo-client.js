'use strict';
/**
 * TCP echo client: connects to an echo server (RFC 862), sends one message, reads the same
 * number of bytes back, prints `reply from <address>:<port>: <text>` and closes; exit 0 on
 * the whole reply, 1 on an error (`connect ECONNREFUSED ...`), on a connection closed early,
 * or after 5 s without the reply.
 *
 * It runs on a pytcp stack of its own, started from the PYTCP_* variables (see the README):
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 node examples/tcp-echo-client.js <host> [port=7] [message=hello]
 * (`node --require pytcp/register examples/tcp-echo-client.js ...` is the same). <host> is an
 * IPv4 or IPv6 address: the temporary API does no DNS.
 *
 * Until the net shim lands, a TCP program on the stack uses the temporary socket API of
 * lib/tcp-socket.ts (`createTcpServer`, `tcpConnect`) rather than `net`: unlike the UDP
 * examples, this one does not run unchanged on the kernel's sockets.
 */
const { running } = require('pytcp/register');
const { tcpConnect } = require('pytcp');

const [host, port = '7', message = 'hello'] = process.argv.slice(2);
if (!host) {
  console.error('usage: node tcp-echo-client.js <host> [port] [message]');
  process.exit(2);
}
const TIMEOUT_MS = 5000;
const sent = Buffer.from(message);

let socket;
try {
  socket = tcpConnect(running.driver, { host, port: Number(port) });
} catch (err) {
  console.error(`tcp echo client: ${err.message}`);
  process.exit(1);
}

let done = false;
function finish(code, line) {
  if (done) return;
  done = true;
  (code === 0 ? console.log : console.error)(line);
  process.exitCode = code;
  if (code === 0) socket.end();
  else socket.destroy();
}

// This timer also keeps the process alive (the stack does not) until the socket has closed.
const timer = setTimeout(() => {
  finish(1, `no reply from ${host}:${port} within ${TIMEOUT_MS / 1000} s`);
  socket.destroy();
}, TIMEOUT_MS);

const chunks = [];
let received = 0;
socket.on('connect', () => socket.write(sent));
socket.on('data', (chunk) => {
  chunks.push(chunk);
  received += chunk.length;
  if (received >= sent.length) finish(0, `reply from ${socket.remoteAddress}:${socket.remotePort}: ${Buffer.concat(chunks).toString()}`);
});
socket.on('error', (err) => finish(1, `tcp echo client: ${err.message}`));
socket.on('close', () => {
  clearTimeout(timer);
  finish(1, `${host}:${port} closed the connection after ${received} of ${sent.length} bytes`);
});
