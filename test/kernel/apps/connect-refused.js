'use strict';
/**
 * A connected dgram socket meets a closed port: `node connect-refused.js <trigger port> <closed port>`.
 * Waits for one datagram on <trigger port> (the peer's go-ahead, once it can reach us),
 * then connects a new socket to the sender at <closed port>, sends, and prints
 * `error <code>` when the ICMP port unreachable comes back as an error (or `no error`).
 */
const dgram = require('node:dgram');

const [triggerPort, closedPort] = process.argv.slice(2).map(Number);
const trigger = dgram.createSocket('udp4');
trigger.once('message', (_msg, rinfo) => {
  trigger.close();
  const socket = dgram.createSocket('udp4');
  const timer = setTimeout(() => {
    console.log('no error');
    socket.close();
  }, 3000);
  socket.on('error', (err) => {
    clearTimeout(timer);
    console.log(`error ${err.code} ${err.syscall}`);
    socket.close();
  });
  socket.connect(closedPort, rinfo.address, () => socket.send('anyone there?'));
});
trigger.bind(triggerPort, () => console.log(`waiting on ${triggerPort}`));
