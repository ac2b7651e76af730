'use strict';
/**
 * One side of the UDP round-trip benchmark: sends COUNT datagrams of SIZE bytes to
 * HOST:PORT one at a time, each after the previous reply, and prints one JSON line with
 * the round-trip times in ms (min, avg, p50, p99, max) and how many came back. A lost
 * datagram waits 1 s, then the next one goes.
 *   node udp-rtt-client.js HOST PORT COUNT SIZE
 */
const dgram = require('node:dgram');

const [host, port, count, size] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const payload = Buffer.alloc(size, 0x61);
const rtts = [];
let sent = 0;
let timer;
let startedAt = 0n;

function next() {
  if (sent === count) return finish();
  sent++;
  startedAt = process.hrtime.bigint();
  socket.send(payload, port, host);
  timer = setTimeout(next, 1000);
}

function finish() {
  socket.close();
  const sorted = [...rtts].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const avg = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  console.log(JSON.stringify({ sent, received: sorted.length, min: sorted[0], avg, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] }));
}

socket.on('message', () => {
  clearTimeout(timer);
  rtts.push(Number(process.hrtime.bigint() - startedAt) / 1e6);
  next();
});
socket.connect(port, host, next);
