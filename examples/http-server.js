'use strict';
/**
 * A small HTTP server on Node's own `http`: `GET /` answers a line of text naming the
 * client's address, `GET /bytes/N` streams N deterministic bytes (the AES-128-CTR keystream
 * of a fixed key, key 16 × 0x07 and a zero IV, the same the lab apps send), anything else is
 * 404. It prints `http listening on <address>:<port>`, then one line per response:
 *   `served GET /bytes/N to <address>: 200, N bytes, sha256 <hex>`
 * and, with --requests N, closes after the N-th response and exits.
 *
 * On the kernel's sockets:
 *   node examples/http-server.js [--port 8080] [--host <addr>] [--requests N]
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.2/24 node --require pytcp/register examples/http-server.js --port 80
 */
const crypto = require('node:crypto');
const http = require('node:http');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8080' }, host: { type: 'string' }, requests: { type: 'string' } },
});
const limit = values.requests === undefined ? Infinity : Number(values.requests);

const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);
/** The deterministic bytes: everyone who knows the key can hash them without a copy. */
function keystream() {
  return crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
}

let served = 0;
function report(req, status, bytes, sha) {
  console.log(`served ${req.method} ${req.url} to ${req.socket.remoteAddress}: ${status}, ${bytes} bytes, sha256 ${sha}`);
  if (++served >= limit) {
    server.close();
    // Keep-alive connections would hold the server open past its last answer.
    server.closeIdleConnections();
  }
}

/** Writes `total` keystream bytes, honouring back-pressure, then ends the response. */
function sendBytes(req, res, total) {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
  const cipher = keystream();
  const hash = crypto.createHash('sha256');
  let left = total;
  const pump = () => {
    while (left > 0) {
      const block = cipher.update(left >= BLOCK ? ZEROS : ZEROS.subarray(0, left));
      hash.update(block);
      left -= block.length;
      if (!res.write(block)) return void res.once('drain', pump);
    }
    res.end(() => report(req, 200, total, hash.digest('hex')));
  };
  res.on('close', () => {
    if (left > 0) console.log(`aborted ${req.method} ${req.url} to ${req.socket.remoteAddress} with ${left} of ${total} bytes unsent`);
  });
  pump();
}

function sendText(req, res, status, text) {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body, () => report(req, status, body.length, crypto.createHash('sha256').update(body).digest('hex')));
}

const server = http.createServer((req, res) => {
  const bytes = /^\/bytes\/(\d+)$/.exec(req.url);
  if (req.method === 'GET' && req.url === '/') sendText(req, res, 200, `hello from http-server, you are ${req.socket.remoteAddress}\n`);
  else if (req.method === 'GET' && bytes) sendBytes(req, res, Number(bytes[1]));
  else sendText(req, res, 404, 'not found\n');
});
server.on('error', (err) => {
  console.error(`http-server: ${err.message}`);
  process.exitCode = 1;
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`http listening on ${address}:${port}`);
});
