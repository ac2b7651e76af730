'use strict';
/**
 * `node receive-once.js <port>`: receives one datagram, closes its socket and does nothing
 * more, so the process must end by itself (exit code 0) as it would on kernel sockets.
 */
const dgram = require('node:dgram');

const socket = dgram.createSocket('udp4');
socket.once('message', (msg, rinfo) => {
  console.log(`got ${msg.length} bytes from ${rinfo.address}`);
  socket.close();
});
socket.bind(Number(process.argv[2]), () => console.log(`bound to ${socket.address().port}`));
