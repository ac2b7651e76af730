/**
 * The small UDP services of `pytcp up --service`, as inetd ran them: echo (RFC 862),
 * discard (RFC 863) and daytime (RFC 867). They are ordinary dgram programs (the same
 * logic as examples/udp-*-server.js), run over the stack through the shim, so they also
 * exercise it end to end.
 */
import type { Socket } from 'node:dgram';
import type { ShimDgram } from './dgram';

interface UdpService {
  /** The well-known port (RFC 1700). */
  port: number;
  /** The datagram to send back for one received, or none. */
  answer(msg: Buffer): Buffer | string | undefined;
}

const SERVICES = {
  // RFC 862: "send back the data received".
  echo: { port: 7, answer: (msg) => msg },
  // RFC 863: "simply throw away any data it receives".
  discard: { port: 9, answer: () => undefined },
  // RFC 867: any datagram is answered with the date and time as a human-readable line.
  daytime: { port: 13, answer: () => `${new Date().toString()}\r\n` },
} satisfies Record<string, UdpService>;

export type ServiceName = keyof typeof SERVICES;

export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

export function isServiceName(text: string): text is ServiceName {
  return Object.hasOwn(SERVICES, text);
}

/**
 * Runs each named service on its port on the IPv6 wildcard, dual-stack (no ipv6Only):
 * one socket answers IPv4 peers too, as ::ffff:a.b.c.d, as on a Linux host. Logs
 * `udp <name> service on port <n>` once bound, and any socket error.
 */
export function startUdpServices(dgram: ShimDgram, names: ServiceName[], log: (line: string) => void): { close(): void } {
  const sockets: Socket[] = [];
  for (const name of new Set(names)) {
    const { port, answer } = SERVICES[name] as UdpService;
    const socket = dgram.createSocket('udp6');
    sockets.push(socket);
    socket.on('message', (msg, rinfo) => {
      const reply = answer(msg);
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
    });
    socket.on('error', (err) => log(`udp ${name} service: ${err.message}`));
    socket.bind(port, '::', () => log(`udp ${name} service on port ${port}`));
  }
  return {
    close() {
      for (const socket of sockets.splice(0)) socket.close();
    },
  };
}
