'use strict';
/**
 * A GET with Node's global `fetch`, nothing else: prints one line,
 *   `status 200, N bytes, sha256 <hex of the body>`
 * and exits 0, or `error <code>: <message>` (of fetch's cause: the socket's or the lookup's
 * error) and exits 1.
 *
 * On the kernel's sockets:
 *   node examples/fetch-get.js <url>
 * Unchanged, from a pytcp stack of its own on a TAP device (fetch's connections and its
 * name lookups then go over the stack):
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 node --require pytcp/register examples/fetch-get.js http://10.0.0.2/
 */
const crypto = require('node:crypto');

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node fetch-get.js <url>');
  process.exit(2);
}

async function main() {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body ?? []) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  console.log(`status ${response.status}, ${bytes} bytes, sha256 ${hash.digest('hex')}`);
}

main().catch((err) => {
  const cause = err.cause ?? err;
  console.log(`error ${cause.code ?? cause.name}: ${cause.message}`);
  process.exitCode = 1;
});
