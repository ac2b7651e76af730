'use strict';
/**
 * Connects with node:net on the program's first line (under the preload), as a program on a
 * host whose addresses are already up would:
 *   node connect-at-start.js HOST PORT
 * Prints `connected LOCAL in MS ms` or `error CODE`, sends a line, ends and exits.
 */
const net = require('node:net');

const [host, port] = process.argv.slice(2);
const started = performance.now();
const socket = net.connect({ host, port: Number(port) }, () => {
  console.log(`connected ${socket.localAddress} in ${Math.round(performance.now() - started)} ms`);
  socket.end('hello at start\n');
});
socket.resume();
socket.on('error', (err) => console.log(`error ${err.code}`));
