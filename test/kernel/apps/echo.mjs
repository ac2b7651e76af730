/**
 * An ES module echo server over both kinds of import: `node --import pytcp/register
 * echo.mjs <port>` echoes on <port> with a socket from the default import and on
 * <port>+1 with one from the named import; both must be the stack's.
 */
import dgram from 'node:dgram';
import { createSocket } from 'node:dgram';

const port = Number(process.argv[2]);

function echo(socket, port, via) {
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  socket.bind(port, () => console.log(`${via} echo on ${socket.address().port}`));
}

echo(dgram.createSocket('udp4'), port, 'default import');
echo(createSocket('udp4'), port + 1, 'named import');
