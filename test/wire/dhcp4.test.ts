/**
 * DHCPv4 messages (RFC 2131 §2, RFC 2132, RFC 3396): a real exchange with dnsmasq parsed
 * and our client messages re-emitted byte-exact, a round trip of every field, malformed
 * messages with their drop reasons, and 10,000 random and mutated buffers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { Ipv4Address, MacAddress } from '../../lib/wire/address';
import { BootpOp, DHCP4_MIN_LEN, Dhcp4MessageType, Dhcp4Packet, Dhcp4Repr, type Dhcp4ReprFields } from '../../lib/wire/dhcp4';
import { isDrop } from '../../lib/wire/drop';
import { a5, fromHex, hex, ok } from './fixtures/fields';

/**
 * Captured 2026-11-23 (Debian 12, dnsmasq 2.90) in a throwaway lab: namespaces S (vs0,
 * 10.201.0.1/24, 02:00:00:00:00:05, `ethtool -K vs0 tx off` so the kernel fills UDP
 * checksums) and C (vc0, no address, 02:00:00:00:00:0c) on a veth pair, IPv6 off, with
 *   ip netns exec S dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --no-ping
 *     --bind-interfaces --interface=vs0 --dhcp-range=10.201.0.50,10.201.0.99,255.255.255.0,2m
 *     --dhcp-leasefile=/dev/null
 *   ip netns exec C tcpdump -Z root -i vc0 -U -w dhcp.pcap udp
 * while a Python script in C sent a DISCOVER (xid 0x1a2b3c4d, hostname "pytcp", parameter
 * request list 1 3 6 26 51 58 59), then a REQUEST for the offered address, by hand on an
 * AF_PACKET socket, laid out as lib/wire/dhcp4.ts emits. Whole Ethernet frames.
 */
const CAPTURED = {
  discover: fromHex(`
    ffffffffffff02000000000c08004500014800000000401179a600000000ffffffff00440043013420d5010106001a2b3c4d000000000000
    000000000000000000000000000002000000000c000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382
    53633501010c05707974637037070103061a333a3bff00000000000000000000000000000000000000000000000000000000000000000000
    000000000000
  `),
  offer: fromHex(`
    02000000000c020000000005080045c00148951800004011cdf00ac900010ac9004a004300440134eaba020106001a2b3c4d000000000000
    00000ac9004a0ac900010000000002000000000c000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382
    536335010236040ac900013304000000783a040000003c3b04000000690104ffffff001c040ac900ff03040ac90001ff0000000000000000
    000000000000
  `),
  request: fromHex(`
    ffffffffffff02000000000c08004500014800000000401179a600000000ffffffff0044004301343957010106001a2b3c4d000000000000
    000000000000000000000000000002000000000c000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382
    536335010332040ac9004a36040ac900010c05707974637037070103061a333a3bff00000000000000000000000000000000000000000000
    000000000000
  `),
  ack: fromHex(`
    02000000000c020000000005080045c00148951900004011cdef0ac900010ac9004a004300440134e7ba020106001a2b3c4d000000000000
    00000ac9004a0ac900010000000002000000000c000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
    0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006382
    536335010536040ac900013304000000783a040000003c3b04000000690104ffffff001c040ac900ff03040ac90001ff0000000000000000
    000000000000
  `),
};
/** Ethernet 14 + IPv4 20 + UDP 8. */
const DHCP_AT = 42;

const CLIENT_MAC = MacAddress.parse('02:00:00:00:00:0c');
const PRL = [1, 3, 6, 26, 51, 58, 59];

/** Every field of a repr as plain data, so one toEqual asserts them all. */
function fields(r: Dhcp4Repr) {
  const text = (a: Ipv4Address | undefined) => a?.toString();
  return {
    ...r,
    clientMac: r.clientMac.toString(),
    ciaddr: text(r.ciaddr),
    yiaddr: text(r.yiaddr),
    siaddr: text(r.siaddr),
    giaddr: text(r.giaddr),
    serverId: text(r.serverId),
    requestedIp: text(r.requestedIp),
    routers: r.routers.map(text),
    dnsServers: r.dnsServers.map(text),
    clientId: r.clientId && hex(r.clientId),
  };
}

function parse(bytes: Uint8Array): Dhcp4Repr | string {
  const pkt = Dhcp4Packet.checked(bytes);
  return isDrop(pkt) ? pkt : Dhcp4Repr.parse(pkt);
}

function emitted(repr: Dhcp4Repr, offset = 0): Uint8Array {
  const buf = a5(offset + repr.bufferLen() + 2);
  repr.emit(buf, offset);
  expect(hex(buf.subarray(0, offset))).toBe('a5'.repeat(offset));
  expect(hex(buf.subarray(offset + repr.bufferLen()))).toBe('a5a5');
  return buf.subarray(offset, offset + repr.bufferLen());
}

const none = { hops: 0, secs: 0, broadcast: false, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0' };
const noOptions = {
  serverId: undefined, requestedIp: undefined, leaseTime: undefined, renewalTime: undefined, rebindingTime: undefined,
  prefixLen: undefined, routers: [], dnsServers: [], interfaceMtu: undefined, paramRequestList: undefined,
  clientId: undefined, hostname: undefined, maxMessageSize: undefined, message: undefined,
};
const common = { ...none, ...noOptions, xid: 0x1a2b3c4d, clientMac: CLIENT_MAC.toString() };

describe('DHCP with dnsmasq: a captured exchange', () => {
  it('DISCOVER: every field, and our emitter produces the bytes dnsmasq answered', () => {
    const bytes = CAPTURED.discover.subarray(DHCP_AT);
    const repr = ok(parse(bytes));
    const expected = { ...common, op: BootpOp.Request, messageType: Dhcp4MessageType.Discover, hostname: 'pytcp', paramRequestList: PRL };
    expect(fields(repr)).toEqual(expected);
    const built = new Dhcp4Repr({ op: 1, xid: 0x1a2b3c4d, clientMac: CLIENT_MAC, messageType: 1, hostname: 'pytcp', paramRequestList: PRL });
    expect(built.bufferLen()).toBe(DHCP4_MIN_LEN);
    expect(hex(emitted(built, 5))).toBe(hex(bytes));
  });

  it('OFFER: address, server, times, mask, router; the broadcast address option (28) is skipped', () => {
    const repr = ok(parse(CAPTURED.offer.subarray(DHCP_AT)));
    const expected = {
      ...common, op: BootpOp.Reply, messageType: Dhcp4MessageType.Offer, yiaddr: '10.201.0.74', siaddr: '10.201.0.1',
      serverId: '10.201.0.1', leaseTime: 120, renewalTime: 60, rebindingTime: 105, prefixLen: 24, routers: ['10.201.0.1'],
    };
    expect(fields(repr)).toEqual(expected);
    expect(fields(ok(parse(emitted(repr))))).toEqual(expected);
  });

  it('REQUEST: requested address and server id, re-emitted byte-exact', () => {
    const bytes = CAPTURED.request.subarray(DHCP_AT);
    const repr = ok(parse(bytes));
    expect(fields(repr)).toEqual({
      ...common, op: BootpOp.Request, messageType: Dhcp4MessageType.Request, requestedIp: '10.201.0.74',
      serverId: '10.201.0.1', hostname: 'pytcp', paramRequestList: PRL,
    });
    expect(hex(emitted(repr))).toBe(hex(bytes));
  });

  it('ACK: the lease', () => {
    const repr = ok(parse(CAPTURED.ack.subarray(DHCP_AT)));
    expect(fields(repr)).toMatchObject({
      op: BootpOp.Reply, messageType: Dhcp4MessageType.Ack, xid: 0x1a2b3c4d, yiaddr: '10.201.0.74', serverId: '10.201.0.1',
      leaseTime: 120, renewalTime: 60, rebindingTime: 105, prefixLen: 24, routers: ['10.201.0.1'], dnsServers: [],
    });
  });
});

const EVERYTHING: Dhcp4ReprFields = {
  op: BootpOp.Reply, xid: 0xfedcba98, clientMac: MacAddress.parse('02:12:34:56:78:9a'), messageType: Dhcp4MessageType.Ack,
  hops: 2, secs: 0x1234, broadcast: true, ciaddr: Ipv4Address.parse('192.0.2.9'), yiaddr: Ipv4Address.parse('192.0.2.10'),
  siaddr: Ipv4Address.parse('192.0.2.1'), giaddr: Ipv4Address.parse('198.51.100.1'), serverId: Ipv4Address.parse('192.0.2.1'),
  requestedIp: Ipv4Address.parse('192.0.2.10'), leaseTime: 0xffffffff, renewalTime: 1800, rebindingTime: 3150, prefixLen: 27,
  routers: [Ipv4Address.parse('192.0.2.1'), Ipv4Address.parse('192.0.2.2')], dnsServers: [Ipv4Address.parse('9.9.9.9')],
  interfaceMtu: 1492, paramRequestList: [1, 3, 121], clientId: Uint8Array.of(1, 2, 0x12, 0x34, 0x56, 0x78, 0x9a),
  hostname: 'hôte', maxMessageSize: 1500, message: 'all is well',
};

describe('DHCP round trip', () => {
  it('every field survives emit → parse', () => {
    const repr = new Dhcp4Repr(EVERYTHING);
    const bytes = emitted(repr, 3);
    // 240 + options 3+9+6+6+4+7 ('hôte' is 5 bytes of UTF-8)+5+6+6+6+6+10+6+4+13 + END.
    expect(bytes.length).toBe(338);
    // op, htype, hlen, hops, xid, secs, flags: the broadcast bit is the top one (RFC 2131 §2, Figure 2).
    expect(hex(bytes.subarray(0, 12))).toBe('02010602' + 'fedcba98' + '1234' + '8000');
    expect(fields(ok(parse(bytes)))).toEqual(fields(repr));
  });

  it.each([
    [0, 'host'],
    [1, 'a'],
    [24, 'x'.repeat(200)],
    [32, 'y'.repeat(255)],
  ])('prefix /%i and hostname %j', (prefixLen, hostname) => {
    const repr = new Dhcp4Repr({ ...EVERYTHING, prefixLen, hostname });
    const parsed = ok(parse(emitted(repr)));
    expect([parsed.prefixLen, parsed.hostname]).toEqual([prefixLen, hostname]);
  });

  it('an option longer than 255 bytes goes out as several instances and comes back whole (RFC 3396)', () => {
    const dnsServers = Array.from({ length: 70 }, (_, i) => Ipv4Address.fromNumber(0x0a000001 + i));
    const repr = new Dhcp4Repr({ ...EVERYTHING, dnsServers });
    const bytes = emitted(repr);
    expect(bytes.length).toBe(repr.bufferLen());
    expect(bytes.length).toBeGreaterThan(DHCP4_MIN_LEN);
    expect(bytes[bytes.length - 1]).toBe(255);
    expect(ok(parse(bytes)).dnsServers.map(String)).toEqual(dnsServers.map(String));
  });
});

/** A BOOTREPLY with these raw option bytes after the cookie, and optional 'file' and 'sname' contents. */
function message(options: string, extra: { file?: string; sname?: string; patch?: (b: Uint8Array) => void } = {}): Uint8Array {
  const base = emitted(new Dhcp4Repr({ op: 2, xid: 1, clientMac: CLIENT_MAC, messageType: 2 })).subarray(0, 240);
  const opts = fromHex(options);
  const buf = new Uint8Array(240 + opts.length);
  buf.set(base);
  buf.set(opts, 240);
  if (extra.file) buf.set(fromHex(extra.file), 108);
  if (extra.sname) buf.set(fromHex(extra.sname), 44);
  extra.patch?.(buf);
  return buf;
}

describe('malformed DHCP', () => {
  it.each<[string, string, Uint8Array]>([
    ['empty', 'truncated', new Uint8Array(0)],
    ['239 bytes', 'truncated', message('').subarray(0, 239)],
    ['a wrong magic cookie', 'bad-magic-cookie', message('350102ff', { patch: (b) => (b[239] = 0x64) })],
    ['op 3', 'bad-op', message('350102ff', { patch: (b) => (b[0] = 3) })],
    ['htype 6 (IEEE 802)', 'unsupported-hardware', message('350102ff', { patch: (b) => (b[1] = 6) })],
    ['hlen 16', 'unsupported-hardware', message('350102ff', { patch: (b) => (b[2] = 16) })],
    ['a code with no length byte', 'bad-option-length', message('35')],
    ['a length past the end', 'bad-option-length', message('350201')],
    ['a length past the end after PADs', 'bad-option-length', message('000000330400')],
    ['no options at all', 'no-message-type', message('')],
    ['only END', 'no-message-type', message('ff350102')],
    ['message type of 2 bytes', 'bad-option', message('35020201ff')],
    ['message type twice (RFC 3396 concatenates them)', 'bad-option', message('350102350102ff')],
    ['message type of 0 bytes', 'bad-option', message('3500ff')],
    ['lease time of 3 bytes', 'bad-option', message('350102' + '3303000078ff')],
    ['T1 of 5 bytes', 'bad-option', message('350102' + '3a050000003c00ff')],
    ['server id of 5 bytes', 'bad-option', message('350102' + '36050ac9000101ff')],
    ['requested IP of 3 bytes', 'bad-option', message('350102' + '32030ac900ff')],
    ['routers of 6 bytes', 'bad-option', message('350102' + '03060ac900010ac9ff')],
    ['no DNS servers (length 0)', 'bad-option', message('350102' + '0600ff')],
    ['a non-contiguous subnet mask', 'bad-option', message('350102' + '0104ff00ff00ff')],
    ['a subnet mask of 3 bytes', 'bad-option', message('350102' + '0103ffffffff')],
    ['an MTU under 68 (RFC 2132 §5.1)', 'bad-option', message('350102' + '1a020043ff')],
    ['an MTU of 1 byte', 'bad-option', message('350102' + '1a0105ff')],
    ['a max message size under 576 (RFC 2132 §9.10)', 'bad-option', message('350102' + '3902023fff')],
    ['a client id of 1 byte (RFC 2132 §9.14)', 'bad-option', message('350102' + '3d0101ff')],
    ['an empty hostname', 'bad-option', message('350102' + '0c00ff')],
    ['an empty parameter request list', 'bad-option', message('350102' + '3700ff')],
    ['overload value 0', 'bad-overload', message('350102' + '340100ff')],
    ['overload value 4', 'bad-overload', message('350102' + '340104ff')],
    ['overload of 2 bytes', 'bad-overload', message('350102' + '34020101ff')],
    ['overload twice', 'bad-overload', message('350102' + '340101340101ff')],
    ["'file' overloading itself again (a loop)", 'bad-overload', message('340101ff', { file: '350102340101ff' })],
    ["'file' pointing at 'sname' and 'sname' back at 'file'", 'bad-overload', message('340103ff', { file: '340102ff', sname: '340101ff' })],
    ["an option overrunning 'file'", 'bad-option-length', message('340101ff', { file: '00'.repeat(126) + '3505' })],
    ["an option overrunning 'sname'", 'bad-option-length', message('340102ff', { sname: '00'.repeat(63) + '35' })],
    ["message type only in 'sname', which is not overloaded", 'no-message-type', message('ff', { sname: '350102ff' })],
  ])('%s → %s', (_name, reason, bytes) => {
    expect(parse(bytes)).toBe(reason);
  });

  it.each<[string, Uint8Array, Partial<ReturnType<typeof fields>>]>([
    ['END missing at the end of the buffer (tolerated)', message('350102' + '0304c0000201'), { messageType: 2, routers: ['192.0.2.1'] }],
    ['garbage after END (padding, ignored)', message('350102ff' + '3505'), { messageType: 2 }],
    ['an unknown option (skipped)', message('350102' + 'e00401020304' + 'ff'), { messageType: 2 }],
    ['routers in two instances (RFC 3396: concatenated)', message('0304c0000201' + '350102' + '0304c0000202ff'), { routers: ['192.0.2.1', '192.0.2.2'] }],
    ["message type in 'file' (overload 1)", message('340101ff', { file: '350105ff' }), { messageType: 5 }],
    ["options, then 'file', then 'sname' (overload 3, RFC 3396)", message('340103' + '0304c0000201ff', { file: '0304c0000202ff', sname: '350106' + '0304c0000203ff' }),
      { messageType: 6, routers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] }],
    ["'file' without END (its 128 bytes end the list)", message('340101ff', { file: '00'.repeat(125) + '350102' }), { messageType: 2 }],
    ['a mask of 0.0.0.0 is /0', message('350102' + '010400000000ff'), { prefixLen: 0 }],
    ['an MTU of exactly 68', message('350102' + '1a020044ff'), { interfaceMtu: 68 }],
    ['invalid UTF-8 in a hostname is replaced, not thrown', message('350102' + '0c02c328ff'), { hostname: '\ufffd(' }],
  ])('%s', (_name, bytes, expected) => {
    expect(fields(ok(parse(bytes)))).toMatchObject(expected);
  });
});

describe('DHCP robustness', () => {
  it('10,000 random and mutated buffers never throw; whatever parses re-emits to the same meaning', () => {
    const random = new SeededRandom(2131);
    const seeds = [...Object.values(CAPTURED).map((f) => f.subarray(DHCP_AT)), emitted(new Dhcp4Repr(EVERYTHING)),
      message('340103ff', { file: '350105' + '0304c0000201ff', sname: '0604c0000202ff' })];
    let accepted = 0;
    for (let run = 0; run < 10_000; run++) {
      let bytes: Uint8Array;
      if (run % 4 === 0) {
        // Random bytes behind a valid fixed part and cookie, so the option walker sees them.
        bytes = seeds[0].slice(0, uniformInt(random, 240, 400));
        for (let i = 240; i < bytes.length; i++) bytes[i] = random.u32() & 0xff;
      } else {
        const seed = seeds[uniformInt(random, 0, seeds.length - 1)];
        bytes = seed.slice(0, uniformInt(random, 0, 3) === 0 ? uniformInt(random, 0, seed.length) : seed.length);
        const flips = uniformInt(random, 1, 8);
        for (let f = 0; f < flips && bytes.length > 0; f++) {
          const at = run % 2 ? uniformInt(random, 236, bytes.length - 1) : uniformInt(random, 0, bytes.length - 1);
          bytes[at] = random.u32() & 0xff;
        }
      }
      const repr = parse(bytes);
      if (isDrop(repr)) continue;
      accepted++;
      const again = ok(parse(emitted(repr)));
      // An out-of-range message type or an odd xid still round-trips; only the options we know are kept.
      expect(fields(again)).toEqual(fields(repr));
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
