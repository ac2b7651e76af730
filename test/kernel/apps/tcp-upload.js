'use strict';
/**
 * The stack as a client sending a bulk stream to a kernel server (under the preload):
 *   node tcp-upload.js HOST PORT BYTES
 * Sends BYTES deterministic bytes (an AES-128-CTR keystream), waiting for 'drain' whenever
 * the socket's queue is full, half-closes, and prints `sent N bytes sha256 H in T ms`; then
 * `closed hadError=BOOL` once the server ended too (or `error CODE SYSCALL`), and exits.
 */
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { tcpConnect } = require(path.join(DIST, 'lib/tcp-socket.js'));
const { sendKeystream } = require('./keystream');

const [host, port, bytes] = process.argv.slice(2);
const total = Number(bytes);

const socket = tcpConnect(running.driver, { host, port: Number(port) });
socket.on('connect', () => sendKeystream(socket, total));
socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
socket.on('close', (hadError) => {
  console.log(`closed hadError=${hadError}`);
});
