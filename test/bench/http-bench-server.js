'use strict';
/**
 * The server side of the HTTP part of `npm run bench`: a plain Node http server, run as it
 * is on the kernel or under `--require pytcp/register` on the stack.
 *
 *   node http-bench-server.js PORT
 *
 * GET /            a small fixed response (SMALL_BODY), for request rates
 * GET /bytes/N     N bytes in 64 KiB writes, paced by the socket's backpressure, for downloads
 *
 * Prints `listening` once it accepts. SIGTERM ends the process normally, so a `--cpu-prof`
 * profile is written.
 */
const http = require('node:http');

const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** Small enough that the rate measures per-request cost, not bytes: one segment each way. */
const SMALL_BODY = Buffer.from('hello, world\n');

/** @param {http.ServerResponse} res @param {number} total */
function stream(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      const more = res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (!more && left > 0) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node http-bench-server.js PORT\n');
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const bytes = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
  if (bytes) return stream(res, Number(bytes[1]));
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(SMALL_BODY.length) });
  res.end(SMALL_BODY);
});
// The bench's clients hold their connections for the whole run; Node's 5 s default would
// close an idle one between the warm-up and the measured part of a slow run.
server.keepAliveTimeout = 60_000;
server.on('error', (err) => {
  process.stderr.write(`http-bench-server: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, () => process.stdout.write('listening\n'));
process.once('SIGTERM', () => process.exit(0));
