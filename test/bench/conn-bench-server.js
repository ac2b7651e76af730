'use strict';
/**
 * The server side of the connection part of `npm run bench`: a plain Node net server, run as
 * it is on the kernel or under `--require pytcp/register` on the stack.
 *
 *   node conn-bench-server.js PORT
 *
 * The first byte a client sends says what it wants:
 *   SHORT  answer one byte and end first, so TIME-WAIT lands here (RFC 9293 §3.6: the side
 *          that closes first holds it) and the client's ephemeral port is free at once;
 *   ECHO   echo what arrives and keep the connection until the client ends it.
 *
 * Prints `listening` once it accepts. SIGTERM ends the process normally.
 */
const net = require('node:net');

const SHORT = 0x73; // 's'
const ECHO = 0x65; // 'e'
const REPLY = Buffer.from('r');
/** Room for the concurrency run's 500 connections opening at once; the kernel clamps it to somaxconn. */
const BACKLOG = 1024;

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node conn-bench-server.js PORT\n');
  process.exit(2);
}

let resets = 0;
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  // A client that gives up (a timed-out run) resets; that ends this connection, not the server.
  socket.on('error', () => {
    resets++;
  });
  socket.on('data', (/** @type {Buffer} */ chunk) => {
    if (chunk[0] === SHORT) socket.end(REPLY);
    else if (chunk[0] === ECHO) socket.write(chunk);
    else socket.destroy();
  });
});
server.on('error', (err) => {
  process.stderr.write(`conn-bench-server: ${err.message}\n`);
  process.exit(1);
});
server.listen({ port, backlog: BACKLOG }, () => process.stdout.write('listening\n'));
process.once('SIGTERM', () => {
  if (resets > 0) process.stderr.write(`conn-bench-server: ${resets} connections ended in an error\n`);
  process.exit(0);
});
