'use strict';
/**
 * A GET with undici's `request` through an Agent of one's own: when the program runs on a
 * pytcp stack (`node --require pytcp/register`), the Agent connects over it with
 * `connector()` from `require('pytcp')`; otherwise it is undici's default Agent on the
 * kernel's sockets. The same program, unchanged, either way. It prints one line,
 *   `via <pytcp connector|undici default>: status 200, N bytes, sha256 <hex of the body>`
 * and exits 0, or `error <code>: <message>` and exits 1. An https: server is checked
 * against Node's CAs plus NODE_EXTRA_CA_CERTS, as with undici's own connector.
 *
 * On the kernel's sockets:
 *   node examples/fetch-connector.js <url>
 * Unchanged, from a pytcp stack of its own on a TAP device:
 *   PYTCP_TAP=tap0 PYTCP_IPV4=10.0.0.3/24 node --require pytcp/register examples/fetch-connector.js http://10.0.0.2/
 */
const crypto = require('node:crypto');
const { Agent, request } = require('undici');
const { connector, registeredStack } = require('pytcp');

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node fetch-connector.js <url>');
  process.exit(2);
}

const onStack = registeredStack() !== undefined;
const dispatcher = onStack ? new Agent({ connect: connector() }) : new Agent();

async function main() {
  const { statusCode, body } = await request(url, { dispatcher });
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  console.log(`via ${onStack ? 'pytcp connector' : 'undici default'}: status ${statusCode}, ${bytes} bytes, sha256 ${hash.digest('hex')}`);
}

main()
  .catch((err) => {
    console.log(`error ${err.code ?? err.name}: ${err.message}`);
    process.exitCode = 1;
  })
  // Closing the Agent ends its kept-alive connections, so the process exits now.
  .finally(() => dispatcher.close());
