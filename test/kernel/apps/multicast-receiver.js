// Joins GROUP on PORT and prints each datagram it receives, as `from <address>: <text>`,
// until it has COUNT of them. A plain dgram program: run it with and without the preload.
//   node multicast-receiver.js GROUP PORT COUNT
const dgram = require('node:dgram');

const [group, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let received = 0;
socket.on('message', (msg, rinfo) => {
  console.log(`from ${rinfo.address}: ${msg.toString()}`);
  if (++received === count) socket.close();
});
socket.bind(port, () => {
  socket.addMembership(group);
  console.log(`joined ${group} on ${port}`);
});
