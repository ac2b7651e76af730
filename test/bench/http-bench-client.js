'use strict';
/**
 * The client side of the HTTP part of `npm run bench`: plain Node http and fetch, run as it
 * is on the kernel or under `--require pytcp/register` on the stack, against
 * http-bench-server.js.
 *
 *   node http-bench-client.js rps URL SEC WARM N[,N...]   keep-alive GETs, N in flight, per N
 *   node http-bench-client.js get URL                     one download with http.get
 *   node http-bench-client.js fetch URL                   one download with the global fetch
 *
 * rps: for each N, an `http.Agent({ keepAlive: true, maxSockets: N })` and N loops, each
 * sending its next GET when the previous response ended, for WARM seconds (uncounted, so the
 * JIT has compiled the path and the connections are open) then SEC seconds. Latency is from
 * the request to the end of its response. Downloads are timed from the request to the last
 * byte, connection set-up included, in the process's first request: what a user's one-off
 * download costs. Prints one JSON line and exits.
 */
const http = require('node:http');

/** @param {Error} err */
function fail(err) {
  process.stderr.write(`http-bench-client: ${err.message}\n`);
  process.exit(1);
}

const nowNs = () => process.hrtime.bigint();
const ns = (/** @type {number} */ sec) => BigInt(Math.round(sec * 1e9));

/**
 * @typedef {{ sockets: number; count: number; seconds: number; perSecond: number; p50Us: number; p99Us: number; connections: number; total: number }} RpsFigures
 * @param {string} url @param {number} sockets @param {number} seconds @param {number} warm
 * @returns {Promise<RpsFigures>}
 */
function requestRate(url, sockets, seconds, warm) {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    /** Latencies in µs; a Float64Array so recording one allocates nothing. */
    const latencies = new Float64Array(Math.ceil(seconds * 100_000));
    let count = 0;
    /** Requests sent, the warm-up's too: what a profile of the whole process saw. */
    let total = 0;
    /** Every socket the requests went out on: N when keep-alive held, more when connections closed. */
    const connections = new WeakSet();
    let connectionCount = 0;
    const start = nowNs() + ns(warm);
    const end = start + ns(seconds);
    let lastEnd = start;
    let looping = sockets;
    const finish = () => {
      agent.destroy();
      const elapsed = Number(lastEnd - start) / 1e9;
      const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort();
      const at = (/** @type {number} */ q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      resolve({ sockets, count, seconds: elapsed, perSecond: count / elapsed, p50Us: at(0.5), p99Us: at(0.99), connections: connectionCount, total });
    };
    const loop = () => {
      const sentAt = nowNs();
      total++;
      const req = http.get(url, { agent }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url}: status ${res.statusCode}`));
        res.resume();
        res.once('end', () => {
          const t = nowNs();
          // Counted only when it started inside the measured part.
          if (sentAt >= start) {
            if (count < latencies.length) latencies[count] = Number(t - sentAt) / 1e3;
            count++;
          }
          if (t < end) return loop();
          if (t > lastEnd) lastEnd = t;
          if (--looping === 0) finish();
        });
      });
      req.once('socket', (socket) => {
        if (connections.has(socket)) return;
        connections.add(socket);
        connectionCount++;
      });
      req.once('error', reject);
    };
    for (let i = 0; i < sockets; i++) loop();
  });
}

/**
 * @typedef {{ bytes: number; seconds: number; mbPerSecond: number }} DownloadFigures
 * @param {string} url
 * @returns {Promise<DownloadFigures>}
 */
function downloadWithGet(url) {
  return new Promise((resolve, reject) => {
    const start = nowNs();
    let bytes = 0;
    http
      .get(url, (res) => {
        res.on('data', (/** @type {Buffer} */ chunk) => {
          bytes += chunk.length;
        });
        res.once('end', () => resolve(downloaded(url, Number(res.headers['content-length']), bytes, start)));
        res.once('error', reject);
      })
      .once('error', reject);
  });
}

/** @param {string} url @returns {Promise<DownloadFigures>} */
async function downloadWithFetch(url) {
  const start = nowNs();
  const res = await fetch(url);
  if (!res.body) throw new Error(`fetch ${url}: no body`);
  const reader = res.body.getReader();
  let bytes = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
  return downloaded(url, Number(res.headers.get('content-length')), bytes, start);
}

/** @param {string} url @param {number} expected @param {number} bytes @param {bigint} start @returns {DownloadFigures} */
function downloaded(url, expected, bytes, start) {
  if (bytes !== expected) throw new Error(`${url}: ${bytes} bytes arrived, content-length said ${expected}`);
  const seconds = Number(nowNs() - start) / 1e9;
  return { bytes, seconds, mbPerSecond: bytes / 1e6 / seconds };
}

async function main() {
  const [mode, url, ...rest] = process.argv.slice(2);
  if (mode === 'rps' && rest.length === 3) {
    const [seconds, warm] = [Number(rest[0]), Number(rest[1])];
    const runs = [];
    for (const n of rest[2].split(',').map(Number)) runs.push(await requestRate(url, n, seconds, warm));
    return { mode, runs };
  }
  if (mode === 'get' && rest.length === 0) return { mode, ...(await downloadWithGet(url)) };
  if (mode === 'fetch' && rest.length === 0) return { mode, ...(await downloadWithFetch(url)) };
  throw new Error('usage: http-bench-client.js rps URL SEC WARM N[,N...] | get URL | fetch URL');
}

main().then((figures) => {
  process.stdout.write(JSON.stringify(figures) + '\n');
  // Keep-alive connections (fetch's pool among them) would hold the process open.
  process.exit(0);
}, fail);
