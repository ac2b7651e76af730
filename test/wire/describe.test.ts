/**
 * describeFrame: the packet log's one line per frame. Asserted as whole strings over the
 * golden frames (and a few edits of them), so a change in wording is a visible decision.
 */
import { describe, expect, it } from 'vitest';
import { describeFrame } from '../../lib/wire/describe';
import { copyOf, fixIpv4Checksum } from './fixtures/fields';
import { GOLDEN, type GoldenName } from './fixtures/golden';

const A_TO_B = '02:00:00:00:00:01 > 02:00:00:00:00:02';
const B_TO_A = '02:00:00:00:00:02 > 02:00:00:00:00:01';

describe('describeFrame on Ethernet', () => {
  it.each<[GoldenName, string]>([
    ['arpingRequest', '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP request who-has 10.200.0.2 tell 10.200.0.1'],
    ['arpingReply', `${B_TO_A} ARP reply 10.200.0.2 is-at 02:00:00:00:00:02`],
    ['kernelArpRequest', '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP request who-has 10.200.0.2 tell 10.200.0.1'],
    ['echoRequest', `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4546 DF ICMP echo request id 11518 seq 1 len 56`],
    ['echoReply', `${B_TO_A} IPv4 10.200.0.2 > 10.200.0.1 ttl 64 id 4193 ICMP echo reply id 11518 seq 1 len 56`],
    ['echoRequestOneByte', `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4547 DF ICMP echo request id 11519 seq 1 len 1`],
    ['echoRequestRecordRoute', `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4548 DF options 40 ICMP echo request id 11520 seq 1 len 56`],
    ['paddedEchoRequest', `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 17185 DF ICMP echo request id 119 seq 3 len 1`],
    ['paramProblem', `${B_TO_A} IPv4 10.200.0.2 > 10.200.0.1 ttl 64 id 4198 tos 0xc0 ICMP parameter problem pointer 20 len 41`],
  ])('%s', (name, line) => {
    expect(describeFrame(GOLDEN[name], 'ethernet')).toBe(line);
  });

  it.each<[string, Uint8Array, string]>([
    ['bad IPv4 checksum', GOLDEN.badIpChecksum, `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4660 DF malformed (bad-checksum)`],
    ['bad ICMP checksum', GOLDEN.badIcmpChecksum, `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4660 DF ICMP echo request id 119 seq 2 len 17 malformed (bad-checksum)`],
    ['option length 0', GOLDEN.optionLengthZero, `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4660 DF options 4 malformed (bad-options)`],
    ['802.3 length field', GOLDEN.ieee8023, `${A_TO_B} 802.3 len 46 malformed (length-field)`],
    ['a frame shorter than its header', GOLDEN.echoRequest.subarray(0, 10), 'Ethernet len 10 malformed (truncated)'],
    ['ARP cut short', GOLDEN.arpingReply.subarray(0, 30), `${B_TO_A} ARP malformed (truncated)`],
    ['ARP with op 3', (() => {
      const f = copyOf(GOLDEN.arpingRequest);
      f[21] = 3;
      return f;
    })(), '02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ARP htype 1 ptype 0x0800 op 3 malformed (bad-operation)'],
    ['IPv4 cut inside its header', GOLDEN.echoRequest.subarray(0, 30), `${A_TO_B} IPv4 malformed (truncated)`],
    ['ICMP cut by the IPv4 total length', (() => {
      const f = copyOf(GOLDEN.echoRequestOneByte);
      f[17] = 27;
      fixIpv4Checksum(f.subarray(14));
      return f;
    })(), `${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4547 DF ICMP malformed (truncated)`],
  ])('malformed: %s', (_, frame, line) => {
    expect(describeFrame(frame, 'ethernet')).toBe(line);
  });

  it('an unknown EtherType: the type in hex and the payload length', () => {
    const frame = new Uint8Array(14 + 10);
    frame.set(GOLDEN.echoRequest.subarray(0, 12));
    frame[12] = 0x88;
    frame[13] = 0xcc;
    expect(describeFrame(frame, 'ethernet')).toBe(`${A_TO_B} ethertype 0x88cc len 10`);
  });

  it('a fragment is named, not parsed', () => {
    const f = copyOf(GOLDEN.echoRequest);
    f[20] = 0x20; // MF, offset 0
    fixIpv4Checksum(f.subarray(14));
    expect(describeFrame(f, 'ethernet')).toBe(`${A_TO_B} IPv4 10.200.0.1 > 10.200.0.2 ttl 64 id 4546 MF ICMP fragment len 64`);
  });
});

describe('describeFrame on a TUN (bare IP packets)', () => {
  it('an IPv4 packet', () => {
    expect(describeFrame(GOLDEN.echoReply.subarray(14), 'ip')).toBe('IPv4 10.200.0.2 > 10.200.0.1 ttl 64 id 4193 ICMP echo reply id 11518 seq 1 len 56');
  });

  it('an empty packet and an unknown version', () => {
    expect(describeFrame(new Uint8Array(0), 'ip')).toBe('IP malformed (truncated)');
    expect(describeFrame(new Uint8Array([0x55, 0, 0, 20]), 'ip')).toBe('IP version 5 malformed (bad-version)');
  });
});
