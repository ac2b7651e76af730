'use strict';
// A udp6 echo on PORT that also prints each sender as Node describes it in rinfo:
// `from <address> <family>`. Run with and without the preload.
//   node echo-rinfo.js PORT
const dgram = require('node:dgram');

const port = Number(process.argv[2]);
const socket = dgram.createSocket('udp6');
socket.on('message', (msg, rinfo) => {
  console.log(`from ${rinfo.address} ${rinfo.family}`);
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind(port, '::', () => console.log(`echo-rinfo on :::${port}`));
