'use strict';
/**
 * The deterministic bulk data the TCP lab apps send: an AES-128-CTR keystream (fixed key,
 * zero IV), so both ends can hash it without storing it.
 */
const crypto = require('node:crypto');

const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * Writes `total` keystream bytes to `socket`, waiting for 'drain' whenever its queue is
 * full, then ends it and prints `sent N bytes sha256 H in T ms`.
 */
function sendKeystream(socket, total) {
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
}

module.exports = { sendKeystream };
