'use strict';
/**
 * TCP echo client on Node's own `net`: connects to an echo server (RFC 862), sends a message
 * (or, with --bytes N, N deterministic bytes: the AES-128-CTR keystream of key 16 × 0x07 and a
 * zero IV), half-closes, reads the echo to the server's end and prints one line,
 *   `echoed N bytes from <address>:<port>, sha256 <hex>, same`
 * exit 0 when the echo is byte for byte what it sent, else `..., differs` (or
 * `error <code>: <message>`, or 10 s without a byte) and exit 1.
 *
 * On the kernel's sockets:
 *   node examples/net-echo-client.js <host> [port=7] [--bytes N | --message text]
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 node --require pytcp/register examples/net-echo-client.js 10.0.0.2 --bytes 1000000
 */
const crypto = require('node:crypto');
const net = require('node:net');
const { parseArgs } = require('node:util');

const { values, positionals } = parseArgs({
  options: { bytes: { type: 'string' }, message: { type: 'string', default: 'hello' } },
  allowPositionals: true,
});
const [host, port = '7'] = positionals;
if (!host) {
  console.error('usage: node net-echo-client.js <host> [port] [--bytes N | --message text]');
  process.exit(2);
}
const IDLE_MS = 10_000;
const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

const sentHash = crypto.createHash('sha256');
const echoHash = crypto.createHash('sha256');
let received = 0;

/** The bytes to send, in blocks: the message, or the keystream. */
function* payload() {
  if (values.bytes === undefined) {
    yield Buffer.from(values.message);
    return;
  }
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  for (let left = Number(values.bytes); left > 0; left -= BLOCK) yield cipher.update(left >= BLOCK ? ZEROS : ZEROS.subarray(0, left));
}

const socket = net.connect({ host, port: Number(port), allowHalfOpen: true });
const blocks = payload();
let sent = 0;
// next() by hand: leaving a for-of early would close the generator.
const pump = () => {
  for (let next = blocks.next(); !next.done; next = blocks.next()) {
    sentHash.update(next.value);
    sent += next.value.length;
    if (!socket.write(next.value)) return void socket.once('drain', pump);
  }
  socket.end();
};
let peer = `${host}:${port}`;
socket.on('connect', () => {
  peer = `${socket.remoteAddress}:${socket.remotePort}`;
  pump();
});
socket.on('data', (chunk) => {
  echoHash.update(chunk);
  received += chunk.length;
});
socket.setTimeout(IDLE_MS, () => socket.destroy(Object.assign(new Error(`no data for ${IDLE_MS / 1000} s`), { code: 'ETIMEDOUT' })));
socket.on('error', (err) => {
  console.log(`error ${err.code ?? err.name}: ${err.message}`);
  process.exitCode = 1;
});
socket.on('end', () => {
  const sha = echoHash.digest('hex');
  const same = received === sent && sha === sentHash.digest('hex');
  console.log(`echoed ${received} bytes from ${peer}, sha256 ${sha}, ${same ? 'same' : 'differs'}`);
  if (!same) process.exitCode = 1;
});
