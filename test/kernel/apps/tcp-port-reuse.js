'use strict';
/**
 * Short connections from one local port to a server that closes first (under the preload):
 *   node tcp-port-reuse.js HOST PORT LOCALPORT ROUNDS
 * Each round connects from LOCALPORT, sends a byte, reads to the server's end, ends and
 * waits for close; the server holds the last round's 4-tuple in TIME-WAIT, which the next
 * round's SYN must get past (RFC 6191: its timestamp is newer). Prints `round N connect MS`
 * per round, `error CODE SYSCALL` on failure, then `done` and exits.
 */
const net = require('node:net');

const [host, port, localPort, rounds] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a)));

function round(n) {
  if (n === rounds) return console.log('done');
  const started = performance.now();
  const socket = net.connect({ host, port, localPort });
  socket.on('connect', () => {
    console.log(`round ${n} connect ${Math.round(performance.now() - started)}`);
    socket.end('x');
  });
  socket.resume();
  socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
  socket.on('close', (hadError) => {
    if (!hadError) round(n + 1);
  });
}
round(0);
