import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

describe('the built package', () => {
  it('has been compiled to JavaScript (npm test builds it first)', () => {
    expect(existsSync(resolve(root, 'dist/lib/index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  });

  it('loads from CommonJS with require("pytcp")', () => {
    const out = node(['-e', "const p = require('pytcp'); console.log(typeof p.createStack, typeof p.StackDriver, p.Ipv4Address.parse('10.0.0.1').toString())"]);
    expect(out.trim()).toBe('function function 10.0.0.1');
  });

  it('loads from an ES module with default and named imports', () => {
    const out = node([
      '--input-type=module',
      '-e',
      "import pytcp, { createStack, MacAddress } from 'pytcp'; console.log(typeof pytcp.createStack, typeof createStack, MacAddress.BROADCAST.toString())",
    ]);
    expect(out.trim()).toBe('function function ff:ff:ff:ff:ff:ff');
  });

  it('exposes the CLI, whose --help documents every option', () => {
    const out = node(['bin/pytcp.js', '--help']);
    for (const opt of ['--tap', '--tun', '--mac', '--ipv4', '--gateway', '--mtu', '--log', '--count', '--interval', '--size', '--timeout']) expect(out).toContain(opt);
  });

  it('ends a bad command line with one line on stderr and exit code 2', () => {
    for (const args of [['up', '--tap', 'x', '--ipv4', '10.0.0.300/24'], ['up', '--tap', 'x', '--ipv4', '10.0.0.2/24', '--mtu', 'abc'], ['up', '--frob'], ['up', '--ipv4', '10.0.0.2/24'], ['ping', '--tap', 'x', '--ipv4', '10.0.0.2/24'], ['ping', '--tap', 'x', '--ipv4', '10.0.0.2/24', '-c', '0', '10.0.0.1'], ['ping', '--tap', 'x', '--ipv4', '10.0.0.2/24', 'example.com'], ['frob']]) {
      let status = 0;
      let stderr = '';
      try {
        node(['bin/pytcp.js', ...args]);
      } catch (err) {
        status = (err as { status: number }).status;
        stderr = String((err as { stderr: string }).stderr);
      }
      expect(status, args.join(' ')).toBe(2);
      expect(stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(stderr).toMatch(/^pytcp: /);
    }
  });

  it('documents --service and rejects an unknown service by name, with the ones there are (exit code 2)', () => {
    expect(node(['bin/pytcp.js', '--help'])).toMatch(/--service <name> .*echo[\s\S]*discard[\s\S]*daytime/);
    let status = 0;
    let stderr = '';
    try {
      node(['bin/pytcp.js', 'up', '--tap', 'x', '--ipv4', '10.0.0.2/24', '--service', 'echo', '--service', 'chargen']);
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: string }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toBe('pytcp: --service: unknown service "chargen" (expected one of: echo, discard, daytime)\n');
  });

  it('turns the packet log on with NODE_DEBUG=pytcp, as Node modules read NODE_DEBUG', () => {
    const probe = "console.log(require('./dist/lib/launch.js').packetLogRequested())";
    const run = (nodeDebug: string) =>
      execFileSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_DEBUG: nodeDebug } }).trim();
    expect(run('pytcp')).toBe('true');
    expect(run('net,pytcp')).toBe('true');
    expect(run('net')).toBe('false');
  });

  it('names the variable when the preload is given a bad setting', () => {
    let stderr = '';
    let status = 0;
    try {
      execFileSync(process.execPath, ['--require', 'pytcp/register', '-e', '0'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, PYTCP_TAP: 'pt0', PYTCP_IPV4: '10.1.2.3/33' },
      });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: string }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr.trim()).toBe('pytcp/register: PYTCP_IPV4: invalid address/prefix "10.1.2.3/33" (expected e.g. 10.0.0.2/24)');
  });
});
