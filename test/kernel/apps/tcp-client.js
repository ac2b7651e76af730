'use strict';
/**
 * A stack client for a line exchange (under the preload):
 *   node tcp-client.js HOST PORT TEXT
 * Connects, prints `connected LOCAL:PORT`, sends TEXT and a newline, half-closes, prints
 * everything the peer sent as `received <JSON>` once the peer ended, then
 * `closed hadError=BOOL`, or `error CODE SYSCALL` when it fails, and exits.
 */
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { tcpConnect } = require(path.join(DIST, 'lib/tcp-socket.js'));

const [host, port, text] = process.argv.slice(2);

const socket = tcpConnect(running.driver, { host, port: Number(port) });
const chunks = [];
socket.on('connect', () => {
  console.log(`connected ${socket.localAddress}:${socket.localPort}`);
  socket.write(Buffer.from(`${text}\n`));
  socket.end();
});
socket.on('data', (chunk) => chunks.push(chunk));
socket.on('end', () => console.log(`received ${JSON.stringify(Buffer.concat(chunks).toString())}`));
socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
socket.on('close', (hadError) => {
  console.log(`closed hadError=${hadError}`);
});
