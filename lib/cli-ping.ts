import { Ipv4Address } from './wire/address';
import type { RunningStack } from './launch';

/** `pytcp ping`'s own options, beside the stack's. */
export const PING_OPTIONS = {
  count: { type: 'string', short: 'c' },
  interval: { type: 'string', short: 'i' },
  size: { type: 'string', short: 's' },
  timeout: { type: 'string', short: 'W' },
} as const;

export interface PingSettings {
  destination: Ipv4Address;
  count: number;
  intervalMs: number;
  size: number;
  timeoutMs: number;
}

/** A bad ping argument; the CLI reports it in one line with exit code 2. */
export class PingUsageError extends Error {}

function number(option: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const n = integer ? (/^\d+$/.test(text) ? Number(text) : NaN) : /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new PingUsageError(`${option}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

export function parsePingArgs(values: { count?: string; interval?: string; size?: string; timeout?: string }, positionals: string[]): PingSettings {
  if (positionals.length !== 1) throw new PingUsageError('ping needs exactly one destination address');
  const destination = Ipv4Address.tryParse(positionals[0]);
  if (!destination) throw new PingUsageError(`invalid destination ${JSON.stringify(positionals[0])} (an IPv4 address)`);
  return {
    destination,
    count: number('--count', values.count, 5, 1, 100_000, true),
    intervalMs: number('--interval', values.interval, 1, 0.01, 3600, false) * 1000,
    // 65507 = 65535 - 20 (IP) - 8 (ICMP), as ping(8) allows.
    size: number('--size', values.size, 56, 0, 65507, true),
    timeoutMs: number('--timeout', values.timeout, 2, 0.01, 3600, false) * 1000,
  };
}

/**
 * Pings from the stack once its addresses have settled (RFC 5227 probing), printing
 * what ping(8) prints; resolves 0 when a reply came back, 1 when none did.
 */
export async function runPing({ stack, driver }: RunningStack, p: PingSettings, print: (line: string) => void): Promise<number> {
  const configured = stack.interfaces.filter((i) => !i.isLoopback).reduce((n, i) => n + i.bindings.length, 0);
  await new Promise<void>((resolve) => {
    if (configured === 0) return resolve();
    let settled = 0;
    const one = () => ++settled >= configured && resolve();
    driver.on('address-ready', one);
    driver.on('address-conflict', one);
  });
  const ident = process.pid & 0xffff;
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let errors = 0;
  driver.on('echo-reply', (e) => {
    const at = sentAt.get(e.seq);
    if (e.ident !== ident || at === undefined || e.from.toString() !== p.destination.toString()) return;
    sentAt.delete(e.seq);
    const rtt = driver.now() - at;
    rtts.push(rtt);
    print(`${e.size + 8} bytes from ${e.from}: icmp_seq=${e.seq} ttl=${e.ttl} time=${rtt.toFixed(3)} ms`);
  });
  driver.on('echo-error', (e) => {
    if (e.ident !== ident || e.to.toString() !== p.destination.toString()) return;
    errors++;
    print(`From ${e.reporter ?? 'this stack'} icmp_seq=${e.seq} ${e.kind.replace(/-/g, ' ')}`);
  });
  const data = new Uint8Array(p.size).map((_, i) => i & 0xff);
  print(`PING ${p.destination} ${p.size}(${p.size + 28}) bytes of data.`);
  let transmitted = 0;
  for (let seq = 1; seq <= p.count; seq++) {
    const dropped = driver.perform((now) => {
      sentAt.set(seq, driver.now());
      return stack.icmpv4.ping({ dst: p.destination, ident, seq, data }, now);
    });
    if (dropped) print(`ping: icmp_seq=${seq}: ${dropped}`);
    else transmitted++;
    if (seq < p.count) await new Promise((r) => setTimeout(r, p.intervalMs));
  }
  // Wait for the last replies, no longer than the timeout.
  const deadline = Date.now() + p.timeoutMs;
  while (sentAt.size > 0 && rtts.length + errors < transmitted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const received = rtts.length;
  const loss = transmitted === 0 ? 100 : Math.round((100 * (transmitted - received)) / transmitted);
  print('');
  print(`--- ${p.destination} ping statistics ---`);
  print(`${transmitted} packets transmitted, ${received} received${errors ? `, +${errors} errors` : ''}, ${loss}% packet loss`);
  if (received > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    print(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((x) => x.toFixed(3)).join('/')} ms`);
  }
  return received > 0 ? 0 : 1;
}
