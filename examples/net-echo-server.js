'use strict';
/**
 * TCP echo server (RFC 862) on Node's own `net`: sends back every byte a connection brings
 * and half-closes once the client has (allowHalfOpen), so a client that ends its side still
 * reads the whole echo. It prints `net echo listening on <address>:<port>`, then per
 * connection, when it closes:
 *   `echoed N bytes to <address>:<port>, sha256 <hex>`
 * and, with --connections N, stops listening after the N-th and exits once it has closed.
 *
 * On the kernel's sockets:
 *   node examples/net-echo-server.js [--port 7] [--host <addr>] [--connections N]
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node --require pytcp/register examples/net-echo-server.js
 */
const crypto = require('node:crypto');
const net = require('node:net');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: { port: { type: 'string', default: '7' }, host: { type: 'string' }, connections: { type: 'string' } },
});
const limit = values.connections === undefined ? Infinity : Number(values.connections);
let accepted = 0;

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  if (++accepted >= limit) server.close();
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  // pipe() ends our side when the client's data has ended and all of it has been written back.
  socket.pipe(socket);
  socket.on('error', (err) => console.log(`error ${err.code ?? err.name} from ${peer}: ${err.message}`));
  socket.on('close', () => console.log(`echoed ${bytes} bytes to ${peer}, sha256 ${hash.digest('hex')}`));
});
server.on('error', (err) => {
  console.error(`net-echo-server: ${err.message}`);
  process.exitCode = 1;
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`net echo listening on ${address}:${port}`);
});
