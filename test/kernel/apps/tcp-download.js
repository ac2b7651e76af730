'use strict';
/**
 * The stack as a client taking everything a kernel server sends (under the preload):
 *   node tcp-download.js HOST PORT
 * Prints `received N bytes sha256 H in T ms` when the server ends the stream, then
 * `closed hadError=BOOL` (or `error CODE SYSCALL`), and exits.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { tcpConnect } = require(path.join(DIST, 'lib/tcp-socket.js'));

const [host, port] = process.argv.slice(2);

const hash = crypto.createHash('sha256');
let got = 0;
let started = 0;
const socket = tcpConnect(running.driver, { host, port: Number(port) });
socket.on('connect', () => {
  started = performance.now();
  console.log(`connected ${socket.localAddress}:${socket.localPort}`);
});
socket.on('data', (chunk) => {
  hash.update(chunk);
  got += chunk.length;
});
socket.on('end', () => console.log(`received ${got} bytes sha256 ${hash.digest('hex')} in ${Math.round(performance.now() - started)} ms`));
socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
socket.on('close', (hadError) => {
  console.log(`closed hadError=${hadError}`);
});
