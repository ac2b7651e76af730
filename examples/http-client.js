'use strict';
/**
 * An HTTP(S) GET with Node's own `http.get` / `https.get`: prints one line,
 *   `status 200, N bytes, sha256 <hex of the body>`
 * and exits 0, or `error <code>: <message>` and exits 1 (no answer, a refused connection,
 * ENOTFOUND, a certificate Node does not trust, or 10 s without a byte).
 * --ca FILE trusts that CA (PEM) for an https: URL instead of Node's default ones.
 *
 * On the kernel's sockets:
 *   node examples/http-client.js <url> [--ca ca.pem]
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 PYTCP_DNS=10.0.0.1 node --require pytcp/register examples/http-client.js http://10.0.0.2/
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { parseArgs } = require('node:util');

const { values, positionals } = parseArgs({ options: { ca: { type: 'string' } }, allowPositionals: true });
const [url] = positionals;
if (!url) {
  console.error('usage: node http-client.js <url> [--ca ca.pem]');
  process.exit(2);
}
const IDLE_MS = 10_000;

function fail(err) {
  console.log(`error ${err.code ?? err.name}: ${err.message}`);
  process.exitCode = 1;
}

const client = new URL(url).protocol === 'https:' ? https : http;
const options = values.ca ? { ca: fs.readFileSync(values.ca) } : {};
const req = client.get(url, options, (res) => {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  res.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  res.on('end', () => console.log(`status ${res.statusCode}, ${bytes} bytes, sha256 ${hash.digest('hex')}`));
  res.on('error', fail);
});
req.setTimeout(IDLE_MS, () => req.destroy(Object.assign(new Error(`no data for ${IDLE_MS / 1000} s`), { code: 'ETIMEDOUT' })));
req.on('error', fail);
