import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock';
import { createPipe } from '../../lib/phy/pipe';
import { SeededRandom } from '../../lib/random';
import { createStack } from '../../lib/stack';
import { arpFrame, ip, mac, parseArp, parseIcmp, pingFrame } from '../helpers/frames';

const MAC_A = mac('02:00:00:00:0a:02');
const MAC_B = mac('02:00:00:00:0b:02');
const PEER = mac('02:00:00:00:00:01');

function drain(end: { receive(): Uint8Array | undefined }): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = end.receive(); f; f = end.receive()) out.push(f);
  return out;
}

describe('a stack with two interfaces', () => {
  function twoInterfaces() {
    const clock = new ManualClock(0);
    const [a, wireA] = createPipe({ names: ['eth0', 'wire0'] });
    const [b, wireB] = createPipe({ names: ['eth1', 'wire1'] });
    const stack = createStack({
      interfaces: [
        { device: a, mac: MAC_A, ipv4: ['10.1.0.2/24'], acd: { enabled: false }, ipv6: false },
        { device: b, mac: MAC_B, ipv4: ['10.2.0.2/24', '10.2.0.3/24'], gateway: '10.2.0.1', acd: { enabled: false }, ipv6: false },
      ],
      random: new SeededRandom(9),
    });
    const inject = (wire: typeof wireA, f: Uint8Array) => {
      wire.transmit(f);
      wire.flush();
      stack.poll(clock.now());
    };
    stack.poll(clock.now());
    return { stack, wireA, wireB, inject };
  }

  it('answers ARP on each interface only for that interface\'s addresses', () => {
    const { wireA, wireB, inject } = twoInterfaces();
    inject(wireA, arpFrame({ op: 'request', senderMac: PEER, senderIp: ip('10.1.0.1'), targetIp: ip('10.2.0.2') }));
    expect(drain(wireA)).toEqual([]);
    inject(wireB, arpFrame({ op: 'request', senderMac: PEER, senderIp: ip('10.2.0.1'), targetIp: ip('10.2.0.3') }));
    const [reply] = drain(wireB).map(parseArp);
    expect(reply.eth.src.equals(MAC_B)).toBe(true);
    expect(reply.arp.senderIp.toString()).toBe('10.2.0.3');
    expect(drain(wireA)).toEqual([]);
  });

  it('sends a reply out of the interface whose subnet holds the destination', () => {
    const { wireA, wireB, inject } = twoInterfaces();
    inject(wireA, arpFrame({ op: 'request', senderMac: PEER, senderIp: ip('10.1.0.1'), targetIp: ip('10.1.0.2') }));
    drain(wireA);
    inject(wireA, pingFrame({ srcMac: PEER, dstMac: MAC_A, src: ip('10.1.0.1'), dst: ip('10.1.0.2') }));
    const [reply] = drain(wireA).map(parseIcmp);
    expect(reply.eth.src.equals(MAC_A)).toBe(true);
    expect(reply.ip.src.toString()).toBe('10.1.0.2');
    expect(drain(wireB)).toEqual([]);
  });

  it('sends a reply to an off-link requester through the gateway, resolving the gateway\'s MAC', () => {
    const { wireB, inject } = twoInterfaces();
    const router = mac('02:00:00:00:00:fe');
    inject(wireB, pingFrame({ srcMac: router, dstMac: MAC_B, src: ip('192.0.2.7'), dst: ip('10.2.0.2') }));
    const [query] = drain(wireB).map(parseArp);
    expect(query.arp.targetIp.toString()).toBe('10.2.0.1');
    inject(wireB, arpFrame({ op: 'reply', senderMac: router, senderIp: ip('10.2.0.1'), targetMac: MAC_B, targetIp: ip('10.2.0.2'), dst: MAC_B }));
    const [reply] = drain(wireB).map(parseIcmp);
    expect(reply.eth.dst.equals(router)).toBe(true);
    expect(reply.ip.dst.toString()).toBe('192.0.2.7');
    expect(reply.ip.src.toString()).toBe('10.2.0.2');
  });

  it('counts a reply it cannot route instead of sending it anywhere', () => {
    const { stack, wireA, wireB, inject } = twoInterfaces();
    inject(wireA, pingFrame({ srcMac: PEER, dstMac: MAC_A, src: ip('198.51.100.1'), dst: ip('10.1.0.2') }));
    expect(drain(wireA)).toEqual([]);
    expect(drain(wireB)).toEqual([]);
    expect(stack.stats.ipv4.dropped['no-route']).toBe(1);
  });
});
