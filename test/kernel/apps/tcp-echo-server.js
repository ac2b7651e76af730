'use strict';
/**
 * A TCP echo server on the stack (under the preload), over the minimal socket API:
 *   node tcp-echo-server.js PORT
 * Prints `tcp echo listening on PORT`, then `closed ADDR:PORT hadError=BOOL` as each
 * connection ends. It runs until it is stopped.
 */
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { createTcpServer } = require(path.join(DIST, 'lib/tcp-socket.js'));

const port = Number(process.argv[2]);

const server = createTcpServer(running.driver, (socket) => {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', (err) => console.log(`error ${peer} ${err.code} ${err.syscall}`));
  socket.on('close', (hadError) => console.log(`closed ${peer} hadError=${hadError}`));
});
server.on('error', (err) => {
  console.log(`error ${err.code} ${err.syscall}`);
  process.exit(1);
});
server.on('listening', () => console.log(`tcp echo listening on ${port}`));
server.listen(port, '0.0.0.0');
