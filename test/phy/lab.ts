/**
 * Network namespaces for the TAP/TUN tests: unique per process (the pid is in every name),
 * IPv6 off inside so the kernel sends nothing of its own, always removable.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export const hasTun = fs.existsSync('/dev/net/tun');

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -n NS ...` */
export function ipIn(netns: string, ...args: string[]): string {
  return run('ip', ['-n', netns, ...args]);
}

/** An interface name unique to this process: tt<pid><tag>, at most 15 bytes. */
export function ifName(tag: string): string {
  const name = `tt${process.pid}${tag}`;
  if (name.length > 15) throw new Error(`interface name too long: ${name}`);
  return name;
}

export function createNetns(tag: string): string {
  const name = `pytcp-tuntap-${process.pid}-${tag}`;
  run('ip', ['netns', 'add', name]);
  run('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  return name;
}

export function deleteNetns(name: string): void {
  try {
    run('ip', ['netns', 'del', name]);
  } catch {
    // already gone
  }
}

/** Interfaces in a namespace, by name. */
export function linkNames(netns: string): string[] {
  return ipIn(netns, '-o', 'link', 'show')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(':')[1].trim().split('@')[0]);
}

export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}
