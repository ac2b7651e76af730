'use strict';
/**
 * One WebSocket exchange with `ws`, a message each way:
 *   node ws-peer.js server PORT   accepts one client, prints `got "<text>" from <address>`,
 *                                 answers `hello from the server`, prints `closed <code>`
 *                                 when the client closes, then stops listening and exits
 *   node ws-peer.js client URL    sends `hello from the client`, prints `got "<text>"`,
 *                                 closes with 1000 and prints `closed <code>` at the end
 * It prints `ws listening on <port>` when the server is up and `error <code>: <message>` on
 * an error (exit 1).
 */
const { WebSocket, WebSocketServer } = require('ws');

const [mode, where] = process.argv.slice(2);

function fail(err) {
  console.log(`error ${err.code ?? err.name}: ${err.message}`);
  process.exitCode = 1;
}

if (mode === 'server') {
  const server = new WebSocketServer({ port: Number(where) }, () => console.log(`ws listening on ${server.address().port}`));
  server.on('error', fail);
  server.once('connection', (socket, req) => {
    socket.on('message', (data) => {
      console.log(`got "${data}" from ${req.socket.remoteAddress}`);
      socket.send('hello from the server');
    });
    socket.on('error', fail);
    socket.on('close', (code) => {
      console.log(`closed ${code}`);
      server.close();
    });
  });
} else {
  const socket = new WebSocket(where);
  socket.on('open', () => socket.send('hello from the client'));
  socket.on('message', (data) => {
    console.log(`got "${data}"`);
    socket.close(1000);
  });
  socket.on('error', fail);
  socket.on('close', (code) => console.log(`closed ${code}`));
}
