import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import type { DeviceListener } from '../../lib/phy/device';
import { createPipe } from '../../lib/phy/pipe';
import { TracerDevice } from '../../lib/phy/tracer';
import { GOLDEN } from '../wire/fixtures/golden';

const ARP_REQUEST = '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP request who-has 10.200.0.2 tell 10.200.0.1';
const ECHO_REPLY = '02:00:00:00:00:02 > 02:00:00:00:00:01 IPv4 10.200.0.2 > 10.200.0.1 ttl 64 id 4193 ICMP echo reply id 11518 seq 1 len 56';

function traced(opts: Parameters<typeof createPipe>[0] = {}) {
  const [near, far] = createPipe({ names: ['tap7', 'peer7'], mtu: 9000, ...opts });
  const lines: string[] = [];
  const clock = new ManualClock(1234.5678);
  const tracer = new TracerDevice(near, (line) => lines.push(line), clock);
  return { near, far, lines, clock, tracer };
}

describe('TracerDevice', () => {
  it('shows the wrapped device: name, medium, MTU', () => {
    const { tracer } = traced();
    expect([tracer.name, tracer.medium, tracer.mtu]).toEqual(['tap7', 'ethernet', 9000]);
    expect(tracer.pollAt()).toBeUndefined();
  });

  it('logs a tx line and passes the very frame through, unchanged', () => {
    const { far, lines, tracer } = traced();
    const frame = GOLDEN.arpingRequest.slice();
    tracer.transmit(frame);
    expect(lines).toEqual([`1.234568 tap7 tx ${ARP_REQUEST}`]);
    expect(far.receive()).toBeUndefined(); // not sent until flushed
    tracer.flush();
    const got = far.receive();
    expect(got).toBe(frame);
    expect(Buffer.from(got!).equals(Buffer.from(GOLDEN.arpingRequest))).toBe(true);
  });

  it('logs an rx line per received frame, with the clock at the time, and nothing when none waits', () => {
    const { far, lines, clock, tracer } = traced();
    expect(tracer.receive()).toBeUndefined();
    expect(lines).toEqual([]);
    const a = GOLDEN.echoReply.slice();
    const b = GOLDEN.arpingRequest.slice();
    far.transmit(a);
    far.transmit(b);
    far.flush();
    clock.advance(1000.001);
    expect(tracer.receive()).toBe(a);
    clock.advance(0.5);
    expect(tracer.receive()).toBe(b);
    expect(tracer.receive()).toBeUndefined();
    expect(lines).toEqual([`2.234569 tap7 rx ${ECHO_REPLY}`, `2.235069 tap7 rx ${ARP_REQUEST}`]);
    expect(Buffer.from(a).equals(Buffer.from(GOLDEN.echoReply))).toBe(true);
  });

  it('logs malformed frames too, and still passes them on', () => {
    const { far, lines, tracer } = traced();
    const runt = GOLDEN.echoRequest.slice(0, 9);
    tracer.transmit(runt);
    tracer.flush();
    expect(far.receive()).toBe(runt);
    expect(lines).toEqual(['1.234568 tap7 tx Ethernet len 9 malformed (truncated)']);
  });

  it('describes bare IP packets on an ip-medium device', () => {
    const { far, lines, tracer } = traced({ medium: 'ip' });
    far.transmit(GOLDEN.echoReply.slice(14));
    far.flush();
    expect(tracer.receive()).toBeDefined();
    expect(lines).toEqual(['1.234568 tap7 rx IPv4 10.200.0.2 > 10.200.0.1 ttl 64 id 4193 ICMP echo reply id 11518 seq 1 len 56']);
  });

  it('passes attach and close through to the wrapped device', () => {
    const { far, tracer, lines } = traced();
    let readable = 0;
    const listener: DeviceListener = { readable: () => readable++, error: () => {} };
    tracer.attach(listener);
    far.transmit(GOLDEN.arpingReply.slice());
    far.flush();
    expect(readable).toBe(1);
    tracer.close();
    expect(tracer.receive()).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
