'use strict';
/**
 * The stack as a client sending a bulk stream to a kernel server (under the preload):
 *   node tcp-upload.js HOST PORT BYTES
 * Sends BYTES deterministic bytes (an AES-128-CTR keystream), waiting for 'drain' whenever
 * the socket's queue is full, half-closes, and prints `sent N bytes sha256 H in T ms`; then
 * `closed hadError=BOOL` once the server ended too (or `error CODE SYSCALL`), and exits.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { tcpConnect } = require(path.join(DIST, 'lib/tcp-socket.js'));

const [host, port, bytes] = process.argv.slice(2);
const total = Number(bytes);
const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

const socket = tcpConnect(running.driver, { host, port: Number(port) });
socket.on('connect', () => {
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  const hash = crypto.createHash('sha256');
  const started = performance.now();
  let left = total;
  const pump = () => {
    while (left > 0) {
      const block = cipher.update(left >= BLOCK ? ZEROS : ZEROS.subarray(0, left));
      hash.update(block);
      left -= block.length;
      if (!socket.write(block)) return void socket.once('drain', pump);
    }
    socket.end();
    console.log(`sent ${total} bytes sha256 ${hash.digest('hex')} in ${Math.round(performance.now() - started)} ms`);
  };
  pump();
});
socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
socket.on('close', (hadError) => {
  console.log(`closed hadError=${hadError}`);
});
