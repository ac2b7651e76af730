'use strict';
/**
 * A tiny HTTP/1.1 server on the stack (under the preload), over the minimal socket API:
 *   node tcp-http-server.js PORT
 * GET /bytes/N answers N deterministic bytes (an AES-128-CTR keystream) with a
 * Content-Length; POST or PUT (any path) takes a Content-Length body, after a
 * `100 Continue` when the client asked for one, and answers `N SHA256`. Every response
 * closes the connection. It prints, per request:
 *   `sent N bytes sha256 H in T ms` or `received N bytes sha256 H in T ms`.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const DIST = path.resolve(__dirname, '../../../dist');
const { running } = require(path.join(DIST, 'shim/register.js'));
const { createTcpServer } = require(path.join(DIST, 'lib/tcp-socket.js'));
const { sendKeystream } = require('./keystream');

const port = Number(process.argv[2]);

function respond(socket, status, headers, body) {
  const head = [`HTTP/1.1 ${status}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''].join('\r\n');
  socket.write(Buffer.from(head, 'latin1'));
  if (body !== undefined) {
    socket.write(Buffer.from(body));
    socket.end();
  }
}

/** Streams `total` keystream bytes after the head. */
function download(socket, total) {
  respond(socket, '200 OK', { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
  sendKeystream(socket, total);
}

/** Takes `total` body bytes (`first` already came with the head), then answers with their count and hash. */
function upload(socket, total, first, expectContinue) {
  if (expectContinue) socket.write(Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1'));
  const hash = crypto.createHash('sha256');
  const started = performance.now();
  let got = 0;
  const take = (chunk) => {
    if (got >= total) return;
    hash.update(chunk);
    got += chunk.length;
    if (got < total) return;
    const digest = hash.digest('hex');
    console.log(`received ${got} bytes sha256 ${digest} in ${Math.round(performance.now() - started)} ms`);
    respond(socket, '200 OK', { 'Content-Type': 'text/plain', 'Content-Length': digest.length + String(got).length + 2 }, `${got} ${digest}\n`);
  };
  socket.on('data', take);
  take(first);
}

createTcpServer(running.driver, (socket) => {
  let head = Buffer.alloc(0);
  const onHead = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onHead);
    const [request, ...lines] = head.subarray(0, end).toString('latin1').split('\r\n');
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const [method, target] = request.split(' ');
    const rest = head.subarray(end + 4);
    const bytes = /^\/bytes\/(\d+)$/.exec(target);
    if (method === 'GET' && bytes) download(socket, Number(bytes[1]));
    else if ((method === 'POST' || method === 'PUT') && headers.has('content-length')) upload(socket, Number(headers.get('content-length')), rest, /100-continue/i.test(headers.get('expect') ?? ''));
    else respond(socket, '404 Not Found', { 'Content-Length': 0 }, '');
  };
  socket.on('data', onHead);
  socket.on('error', (err) => console.log(`error ${err.code} ${err.syscall}`));
})
  .on('listening', () => console.log(`http listening on ${port}`))
  .listen(port, '0.0.0.0');
