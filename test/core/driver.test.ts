import { describe, expect, it } from 'vitest';
import { StackDriver } from '../../lib/driver';
import { createPipe } from '../../lib/phy/pipe';
import { SeededRandom } from '../../lib/random';
import { createStack } from '../../lib/stack';
import { arpFrame, ip, parseArp } from '../helpers/frames';
import { PEER_MAC, STACK_MAC } from '../helpers/harness';

function waitFor<T>(get: () => T | undefined, ms = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() - start > ms) return reject(new Error('timed out'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('driver on the Node event loop', () => {
  it('polls when frames arrive, emits stack events after poll, and answers on the wire', async () => {
    const [stackEnd, wire] = createPipe();
    const stack = createStack({
      interfaces: [{ device: stackEnd, mac: STACK_MAC, ipv4: ['10.0.0.2/24'], acd: { enabled: false }, ipv6: false }],
      random: new SeededRandom(1),
    });
    const driver = new StackDriver(stack);
    const ready: string[] = [];
    driver.on('address-ready', (e) => ready.push(e.address.toString()));
    driver.start();
    await waitFor(() => (ready.length ? true : undefined));
    expect(ready).toEqual(['10.0.0.2/24']);
    wire.transmit(arpFrame({ op: 'request', senderMac: PEER_MAC, senderIp: ip('10.0.0.1'), targetIp: ip('10.0.0.2') }));
    wire.flush();
    const reply = parseArp(await waitFor(() => wire.receive()));
    expect(reply.arp.senderIp.toString()).toBe('10.0.0.2');
    driver.stop();
  });

  it('runs timers from pollAt: conflict detection probes go out on the real clock', async () => {
    const [stackEnd, wire] = createPipe();
    const stack = createStack({
      interfaces: [{ device: stackEnd, mac: STACK_MAC, ipv4: ['10.0.0.2/24'], acd: { probeWaitMs: 20, probeMinMs: 10, probeMaxMs: 20, announceWaitMs: 10, announceIntervalMs: 10 }, ipv6: false }],
    });
    const driver = new StackDriver(stack);
    const ready = new Promise((resolve) => driver.on('address-ready', resolve));
    driver.start();
    await ready;
    const sent: Uint8Array[] = [];
    await waitFor(() => {
      for (let f = wire.receive(); f; f = wire.receive()) sent.push(f);
      return sent.length >= 5 ? true : undefined;
    });
    const kinds = sent.map((f) => (parseArp(f).arp.senderIp.isUnspecified ? 'probe' : 'announce'));
    expect(kinds).toEqual(['probe', 'probe', 'probe', 'announce', 'announce']);
    driver.stop();
  });

  it('stops and reports when the device fails', () => {
    const [stackEnd] = createPipe();
    const stack = createStack({ interfaces: [{ device: stackEnd, mac: STACK_MAC, ipv4: ['10.0.0.2/24'] }] });
    let listener: Parameters<typeof stackEnd.attach>[0];
    const attach = stackEnd.attach.bind(stackEnd);
    stackEnd.attach = (l) => {
      listener = l ?? listener;
      attach(l);
    };
    const driver = new StackDriver(stack).start();
    const errors: Error[] = [];
    driver.on('error', (e) => errors.push(e));
    listener!.error(Object.assign(new Error('read ENODEV'), { code: 'ENODEV' }));
    expect(errors.map((e) => e.message)).toEqual(['read ENODEV']);
    expect(() => driver.stop()).not.toThrow();
  });
});
