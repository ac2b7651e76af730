/**
 * `node --import pytcp/register net-esm.mjs <port> <peer> <peerPort> <ipcPath>`: an ES module
 * using node:net every way an app may, all of which must reach the stack, except the
 * Unix-domain path, which must stay on the kernel:
 *   - an echo server from the default import on <port>, one from the named import on <port>+1;
 *   - a named-import connect() to <peer>:<peerPort>, sending one line;
 *   - a server and a client on the Unix-domain socket <ipcPath>, echoing one line.
 *   - the rest of node:net (isIP, BlockList, SocketAddress, ...) answering as Node's own.
 * Each prints one line as it becomes ready or done.
 */
import net from 'node:net';
import { BlockList, connect, createServer, getDefaultAutoSelectFamily, isIP, isIPv4, isIPv6, Socket, SocketAddress } from 'node:net';

const [port, peer, peerPort, ipcPath] = process.argv.slice(2);
const handleOf = (socket) => socket._handle?.constructor.name;

function echo(server, port, via) {
  server.on('connection', (s) => s.pipe(s));
  server.listen(Number(port), () => console.log(`${via} echo on ${server.address().port} handle ${handleOf(server)}`));
}
echo(net.createServer(), port, 'default import');
echo(createServer(), Number(port) + 1, 'named import');

const out = connect({ host: peer, port: Number(peerPort) }, () => {
  console.log(`connected to ${out.remoteAddress}:${out.remotePort} from ${out.localAddress} instanceof Socket ${out instanceof Socket} handle ${handleOf(out)}`);
  out.end('hello from the stack\n');
});
out.on('error', (e) => console.log(`connect error ${e.message}`));

const ipc = net.createServer((s) => s.pipe(s)).listen(ipcPath, () => {
  const c = net.connect(ipcPath, () => c.end('hello over ipc'));
  let got = '';
  c.on('data', (d) => (got += d));
  c.on('close', () => {
    console.log(`ipc echo: ${got} handle ${handleOf(ipc)}`);
    ipc.close();
  });
});

const blocked = new BlockList();
blocked.addSubnet('10.0.0.0', 8);
const where = new SocketAddress({ address: '::1', family: 'ipv6', port: 80 });
console.log(`rest of net: isIP ${isIP('::1')} ${isIP('10.1.2.3')} ${isIP('name')} isIPv4 ${isIPv4('10.1.2.3')} isIPv6 ${isIPv6('::1')} blocked ${blocked.check('10.9.9.9')} ${blocked.check('11.0.0.1')} address ${where.address} ${where.family} ${where.port} autoSelectFamily ${getDefaultAutoSelectFamily()}`);
