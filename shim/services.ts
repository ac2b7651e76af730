/**
 * The small services of `pytcp up --service`, as inetd ran them, each on UDP and TCP:
 * echo (RFC 862), discard (RFC 863) and daytime (RFC 867). The UDP side is an ordinary
 * dgram program run through the shim (the same logic as examples/udp-*-server.js); the
 * TCP side runs on the temporary socket API in lib/tcp-socket.ts (as examples/tcp-*.js
 * do) until the net shim replaces it. Both exercise the stack end to end.
 */
import type { Socket } from 'node:dgram';
import type { StackDriver } from '../lib/driver';
import { createTcpServer, type TcpServer, type TcpSocket } from '../lib/tcp-socket';
import type { ShimDgram } from './dgram';

interface Service {
  /** The well-known port (RFC 1700), the same for UDP and TCP. */
  port: number;
  /** The datagram to send back for one received, or none. */
  answer(msg: Buffer): Buffer | string | undefined;
  /** What the service does with one TCP connection. */
  serve(socket: TcpSocket): void;
}

const daytimeLine = () => `${new Date().toString()}\r\n`;

const SERVICES = {
  // RFC 862: "send back the data received", on UDP per datagram, on TCP "until the calling user terminates".
  echo: { port: 7, answer: (msg) => msg, serve: (socket) => socket.on('data', (chunk) => socket.write(chunk)) },
  // RFC 863: "simply throw away any data it receives"; the socket still reads, so the window stays open.
  discard: { port: 9, answer: () => undefined, serve: () => {} },
  // RFC 867: the date and time as a human-readable line; on TCP, sent once, then "the service closes the connection".
  daytime: {
    port: 13,
    answer: daytimeLine,
    serve: (socket) => {
      socket.write(Buffer.from(daytimeLine()));
      socket.end();
    },
  },
} satisfies Record<string, Service>;

export type ServiceName = keyof typeof SERVICES;

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

export function isServiceName(text: string): text is ServiceName {
  return Object.hasOwn(SERVICES, text);
}

/** What the services run over: the shim's dgram and the driver the TCP socket API uses, on one stack. */
export interface ServiceStack {
  dgram: ShimDgram;
  driver: StackDriver;
}

/**
 * Runs each named service on its port, on UDP and TCP, on every address of both families:
 * UDP on the IPv6 wildcard, dual-stack (no ipv6Only), so one socket answers IPv4 peers too
 * as ::ffff:a.b.c.d, as on a Linux host; TCP on a server listening on both wildcards.
 * Logs `udp <name> service on port <n>` and `tcp <name> service on port <n>` once each
 * listens, and any socket or server error (not a connection's own: a peer's RST is
 * ordinary). close() stops the listeners and ends every TCP connection still open.
 */
export function startServices({ dgram, driver }: ServiceStack, names: ServiceName[], log: (line: string) => void): { close(): void } {
  const sockets: Socket[] = [];
  const servers: TcpServer[] = [];
  const connections = new Set<TcpSocket>();
  for (const name of new Set(names)) {
    const { port, answer, serve } = SERVICES[name] as Service;

    const socket = dgram.createSocket('udp6');
    sockets.push(socket);
    socket.on('message', (msg, rinfo) => {
      const reply = answer(msg);
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
    });
    socket.on('error', (err) => log(`udp ${name} service: ${err.message}`));
    socket.bind(port, '::', () => log(`udp ${name} service on port ${port}`));

    const server = createTcpServer(driver, (conn) => {
      connections.add(conn);
      conn.on('close', () => connections.delete(conn));
      serve(conn);
    });
    servers.push(server);
    server.on('error', (err) => log(`tcp ${name} service: ${err.message}`));
    server.on('listening', () => log(`tcp ${name} service on port ${port}`));
    server.listen(port);
  }
  return {
    close() {
      for (const socket of sockets.splice(0)) socket.close();
      for (const server of servers.splice(0)) server.close();
      for (const conn of connections) conn.destroy();
      connections.clear();
    },
  };
}
