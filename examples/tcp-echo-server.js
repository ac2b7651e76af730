'use strict';
/**
 * TCP echo server (RFC 862): sends back every byte a connection brings, until the client
 * closes it.
 *
 * It runs on a pytcp stack of its own, started from the PYTCP_* variables (see the README):
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node examples/tcp-echo-server.js [--port 7] [--host <addr>]
 * (`node --require pytcp/register examples/tcp-echo-server.js` is the same). Without --host it
 * listens on every IPv4 and IPv6 address of the stack.
 *
 * Until the net shim lands, a TCP program on the stack uses the temporary socket API of
 * lib/tcp-socket.ts (`createTcpServer`, `tcpConnect`) rather than `net`: unlike the UDP
 * examples, this one does not run unchanged on the kernel's sockets.
 */
const { parseArgs } = require('node:util');
const { running } = require('pytcp/register');
const { createTcpServer } = require('pytcp');

const { values } = parseArgs({ options: { port: { type: 'string', default: '7' }, host: { type: 'string' } } });

const server = createTcpServer(running.driver, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', (err) => console.error(`tcp echo: ${err.message}`));
});
server.on('error', (err) => {
  console.error(`tcp echo: ${err.message}`);
  process.exitCode = 1;
});
server.on('listening', () => {
  const { address, port } = server.address();
  console.log(`tcp echo listening on ${address}:${port}`);
});
server.listen(Number(values.port), values.host);
