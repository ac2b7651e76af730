/**
 * The order of a writer's 'finish' and its 'end' when the peer answers its FIN at once.
 * libuv completes a shutdown on the poll after uv_shutdown, and the peer's FIN can only
 * come on a later one, so Node's socket gives 'finish' first. The driver usually polls
 * from an immediate queued after the shutdown's completion, but it also polls from its
 * timer when a TCP timer is due, and timers run ahead of immediates: such a poll can
 * carry the FIN out and the peer's answer back before the turn the completion waits for.
 * Here the test makes those polls itself, from timers, right after end().
 */
import { afterAll, describe, expect, it } from 'vitest';
import { StackDriver } from '../../lib/driver';
import { createStack } from '../../lib/stack';
import { ShimHost } from '../../shim/host';
import { netOver } from '../../shim/net';

describe('shutdown completion on the shim', () => {
  const driver = new StackDriver(createStack({ interfaces: [], loopback: true })).start();
  const net = netOver(new ShimHost(driver));
  afterAll(() => driver.stop());
  // What the driver's timer does when a TCP timer is due.
  const pollFromTimer = () => setTimeout(() => (driver as unknown as { run(): void }).run(), 0);

  it("gives 'finish' before 'end' even when polls from timers bring the peer's FIN back first", async () => {
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    const events: string[] = [];
    const c = net.connect(port, '127.0.0.1');
    await new Promise<void>((done) => c.once('connect', done));
    for (const e of ['prefinish', 'finish', 'end', 'close']) c.on(e, () => events.push(e));
    c.resume();
    c.end();
    // One poll carries the FIN to the server, whose 'end' ends it in turn; the next brings its FIN back.
    for (let i = 0; i < 4; i++) pollFromTimer();
    // Timers are due only after a millisecond: wait it out here, so they run ahead of this turn's immediates.
    for (const until = performance.now() + 3; performance.now() < until; );
    await new Promise((done) => c.once('close', done));
    server.close();
    expect(events).toEqual(['prefinish', 'finish', 'end', 'close']);
  });
});
