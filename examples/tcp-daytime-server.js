'use strict';
/**
 * TCP daytime server (RFC 867): sends each new connection the date and time as one
 * human-readable line, then closes it; whatever the client sends is thrown away.
 *
 * It runs on a pytcp stack of its own, started from the PYTCP_* variables (see the README):
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node examples/tcp-daytime-server.js [--port 13] [--host <addr>]
 * (`node --require pytcp/register examples/tcp-daytime-server.js` is the same). Without --host
 * it listens on every IPv4 and IPv6 address of the stack.
 *
 * Until the net shim lands, a TCP program on the stack uses the temporary socket API of
 * lib/tcp-socket.ts (`createTcpServer`, `tcpConnect`) rather than `net`: unlike the UDP
 * examples, this one does not run unchanged on the kernel's sockets.
 */
const { parseArgs } = require('node:util');
const { running } = require('pytcp/register');
const { createTcpServer } = require('pytcp');

const { values } = parseArgs({ options: { port: { type: 'string', default: '13' }, host: { type: 'string' } } });

const server = createTcpServer(running.driver, (socket) => {
  socket.on('error', (err) => console.error(`tcp daytime: ${err.message}`));
  socket.write(Buffer.from(`${new Date().toString()}\r\n`));
  socket.end();
});
server.on('error', (err) => {
  console.error(`tcp daytime: ${err.message}`);
  process.exitCode = 1;
});
server.on('listening', () => {
  const { address, port } = server.address();
  console.log(`tcp daytime listening on ${address}:${port}`);
});
server.listen(Number(values.port), values.host);
