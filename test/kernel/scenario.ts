/**
 * What the kernel tests that run one lab per test share: a `Scenario` (the lab, a scratch
 * directory, the processes and captures it started, the peer's commands), `labRunner` (a lab
 * per test, always destroyed; the scratch directory and the processes' output kept only when
 * the test failed), `exitWithin` and `escape`. Each test file extends `Scenario` with its own
 * launchers and peer helpers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLab, type Capture, type ExecResult, type Lab, type StackProcess } from '../lab/lab.js';

/** Probing (up to 9 s) with room for a busy 2-core machine running the other tests. */
export const READY_MS = 30_000;
export const LINE_MS = 10_000;
export const TEST_MS = 90_000;
/** tcpdump's buffer timeout (1 s) and a margin. */
const CAPTURE_BLOCK_MS = 1_500;

export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One test's lab, the processes it started and a scratch directory for pcaps. */
export class Scenario {
  readonly processes: StackProcess[] = [];
  readonly captures: Capture[] = [];
  /**
   * How long `read` waits after the last packet before stopping tcpdump. lab.capture's tcpdump
   * (without --immediate-mode) takes packets from the kernel in blocks it is handed once a
   * second: stopping it sooner than that after the last packet loses the block.
   */
  protected readonly settleMs: number = CAPTURE_BLOCK_MS;

  constructor(
    readonly lab: Lab,
    readonly dir: string,
  ) {}

  /** The stack's IPv4 address, as the apps and `pytcp up` are given it. */
  get ip(): string {
    return this.lab.stackIpv4(0);
  }

  /** `script` under the preload (or `nodeArgs`) with `env`, stopped with the lab. */
  startApp(script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs?: string[]): StackProcess {
    return this.track(this.lab.startApp(script, args, { env, nodeArgs, timeoutMs: TEST_MS }));
  }

  /** `pytcp up` on the stack's IPv4 address with `args`. */
  stack(args: string[]): StackProcess {
    return this.track(this.lab.startStack(['--ipv4', `${this.ip}/${this.lab.prefixLen}`, ...args], { timeoutMs: TEST_MS }));
  }

  private track(process: StackProcess): StackProcess {
    this.processes.push(process);
    return process;
  }

  /** A command in the kernel peer's namespace; `sh -c` for a pipeline. */
  peer(argv: string[], timeoutMs = 10_000): Promise<ExecResult> {
    return this.lab.exec(this.lab.peerNs, argv, { timeoutMs });
  }

  /** Waits until the kernel peer's ping reaches `ip`: the stack has finished probing and answers ARP/ND. */
  async reachable(ip = this.ip): Promise<void> {
    const end = Date.now() + READY_MS;
    for (;;) {
      const ping = await this.peer(['ping', '-c', '1', '-W', '1', ip]);
      if (ping.code === 0) return;
      if (Date.now() > end) throw new Error(`the peer never reached ${ip} within ${READY_MS} ms:\n${ping.stdout}${ping.stderr}`);
    }
  }

  /** tcpdump on the peer's side of the link into `<dir>/<name>.pcap`; started when this resolves. */
  async capture(name: string): Promise<Capture> {
    const capture = await this.lab.capture(path.join(this.dir, `${name}.pcap`));
    this.captures.push(capture);
    return capture;
  }

  /**
   * Stops `capture` (`settleMs` after the last packet) and returns tcpdump's summaries of it
   * narrowed by `filter`, each continuation line (-v) joined to its packet's.
   */
  async read(capture: Capture, filter: string, flags: string[] = []): Promise<string[]> {
    await new Promise((r) => setTimeout(r, this.settleMs));
    await capture.stop();
    const result = await this.peer(['tcpdump', '-r', capture.file, '-n', ...flags, filter], 30_000);
    if (result.code !== 0) throw new Error(`tcpdump -r ${capture.file} failed: ${result.stderr}`);
    return result.stdout.replace(/\n\s+/g, ' ').split('\n').filter(Boolean);
  }
}

/**
 * A runner for test/kernel/`file`: it runs a body in a lab of its own, with a `Kind` made for
 * it; the lab always goes, the scratch directory and the processes' output stay when it failed.
 */
export function labRunner<S extends Scenario>(file: string, Kind: new (lab: Lab, dir: string) => S): (name: string, body: (s: S) => Promise<void>) => Promise<void> {
  return async (name, body) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pytcp-${file}-${name}-`));
    let scenario: S | undefined;
    try {
      scenario = new Kind(await createLab({ name }), dir);
      await body(scenario);
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      const output = scenario?.processes.map((p) => p.describe()).join('\n') ?? '';
      console.warn(`test/kernel/${file} (${name}) failed; kept ${dir}\n${output}`);
      throw err;
    } finally {
      if (scenario) {
        await Promise.all(scenario.captures.map((c) => c.stop()));
        await scenario.lab.destroy();
      }
    }
  };
}

/** The exit of `process` within `ms`, or a rejection saying it still runs. */
export function exitWithin(process: StackProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running ${ms} ms later\n${process.describe()}`)), ms);
    process.exited.then((exit) => {
      clearTimeout(timer);
      resolve(exit);
    });
  });
}
