/**
 * DHCPv6 messages (RFC 8415 §8, §21; RFC 3646): a real exchange with dnsmasq parsed and
 * re-emitted byte-exact, a round trip of every field, malformed messages with their drop
 * reasons, and 10,000 random and mutated buffers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom, uniformInt } from '../../lib/random';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import { isDrop } from '../../lib/wire/drop';
import {
  ALL_DHCP_RELAY_AGENTS_AND_SERVERS, DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, Dhcp6MessageType as T, Dhcp6Repr, duidLl,
  type Dhcp6ReprFields,
} from '../../lib/wire/dhcp6';
import { a5, fromHex, hex, ok } from './fixtures/fields';

/**
 * Captured 2026-11-23 (Debian 12, dnsmasq 2.90) in a throwaway lab: namespaces S (vs0,
 * 02:00:00:00:00:05, fd00:88::1/64 nodad) and C (vc0, 02:00:00:00:00:0c, link-local
 * fe80::ff:fe00:c, accept_dad 0) on a veth pair, `ethtool -K tx off` on both, with
 *   ip netns exec S dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --enable-ra
 *     --bind-interfaces --interface=vs0 --dhcp-range=fd00:88::100,fd00:88::1ff,64,2m
 *     --dhcp-option=option6:dns-server,[fd00:88::53] --dhcp-leasefile=/dev/null
 *   ip netns exec C tcpdump -Z root -i vc0 -U -w dhcp6.pcap udp
 * while a Node script in C (`node -r test/phy/ts-hook.cjs`) built each client message with
 * lib/wire/dhcp6.ts and sent it from a udp6 socket bound to [fe80::ff:fe00:c%vc0]:546 to
 * [ff02::1:2%vc0]:547, waiting for each answer: SOLICIT, REQUEST, RENEW, REBIND,
 * INFORMATION-REQUEST, RELEASE (xids 0x1a2b3c, 0x2b3c4d, ... , elapsed time 0, IAID 1).
 * The UDP payloads below are those in the pcap (`tshark -T fields -e udp.payload`).
 */
const CAPTURED = {
  solicit: fromHex('011a2b3c0001000a0003000102000000000c0003000c000000010000000000000000000600020017000800020000'),
  advertise: fromHex(`
    021a2b3c0001000a0003000102000000000c0002000e000100013296ddbc02000000000500030028000000010000003c0000006900050018
    fd00008800000000000000000000018f0000007800000078000d0009000073756363657373000700010000170010fd00008800000000000000
    0000000053`),
  request: fromHex(`
    032b3c4d0001000a0003000102000000000c0002000e000100013296ddbc0200000000050003002800000001000000000000000000050018
    fd00008800000000000000000000018f0000000000000000000600020017000800020000`),
  reply: fromHex(`
    072b3c4d0001000a0003000102000000000c0002000e000100013296ddbc02000000000500030028000000010000003c0000006900050018
    fd00008800000000000000000000018f0000007800000078000d000900007375636365737300170010fd00008800000000000000000000005
    3`),
  renew: fromHex(`
    053c4d5e0001000a0003000102000000000c0002000e000100013296ddbc0200000000050003002800000001000000000000000000050018
    fd00008800000000000000000000018f0000000000000000000600020017000800020000`),
  renewReply: fromHex(`
    073c4d5e0001000a0003000102000000000c0002000e000100013296ddbc0200000000050003002800000001000000370000006400050018
    fd00008800000000000000000000018f000000780000007800170010fd000088000000000000000000000053`),
  rebind: fromHex(`
    064d5e6f0001000a0003000102000000000c0003002800000001000000000000000000050018fd00008800000000000000000000018f00000000
    00000000000600020017000800020000`),
  informationRequest: fromHex('0b5e6f700001000a0003000102000000000c000600020017000800020000'),
  informationReply: fromHex(`
    075e6f700001000a0003000102000000000c0002000e000100013296ddbc02000000000500170010fd00008800000000000000000000005300
    20000400000258`),
  release: fromHex(`
    086f70810001000a0003000102000000000c0002000e000100013296ddbc0200000000050003002800000001000000000000000000050018
    fd00008800000000000000000000018f0000000000000000000800020000`),
  releaseReply: fromHex('076f70810001000a0003000102000000000c0002000e000100013296ddbc020000000005000d0012000072656c65617365207265636569766564'),
};

const CLIENT_MAC = MacAddress.parse('02:00:00:00:00:0c');
const CLIENT_ID = duidLl(CLIENT_MAC);
/** dnsmasq's DUID-LLT (type 1, hardware 1, time, its MAC). */
const SERVER_ID = fromHex('000100013296ddbc020000000005');
const LEASED = Ipv6Address.parse('fd00:88::18f');
const DNS = Ipv6Address.parse('fd00:88::53');

/** Every field of a repr as plain data, so one toEqual asserts them all. */
function fields(r: Dhcp6Repr) {
  return {
    ...r,
    clientId: r.clientId && hex(r.clientId),
    serverId: r.serverId && hex(r.serverId),
    iaNa: r.iaNa.map((ia) => ({ ...ia, addresses: ia.addresses.map((a) => ({ ...a, address: a.address.toString() })) })),
    dnsServers: r.dnsServers.map(String),
  };
}

function emitted(repr: Dhcp6Repr, offset = 0): Uint8Array {
  const buf = a5(offset + repr.bufferLen() + 2);
  repr.emit(buf, offset);
  expect(hex(buf.subarray(0, offset))).toBe('a5'.repeat(offset));
  expect(hex(buf.subarray(offset + repr.bufferLen()))).toBe('a5a5');
  return buf.subarray(offset, offset + repr.bufferLen());
}

const ia = (addresses: Array<[Ipv6Address, number, number]>, t1S = 0, t2S = 0, status?: { code: number; message: string }) => ({
  iaid: 1, t1S, t2S, addresses: addresses.map(([address, preferredS, validS]) => ({ address, preferredS, validS })), ...(status && { status }),
});
const none = { clientId: undefined, serverId: undefined, iaNa: [], oro: [], elapsedCs: undefined, preference: undefined, status: undefined, dnsServers: [], rapidCommit: false };
const client = (messageType: number, transactionId: number, f: Partial<Dhcp6ReprFields>) =>
  new Dhcp6Repr({ messageType, transactionId, clientId: CLIENT_ID, oro: [23], elapsedCs: 0, ...f });
const success = { code: 0, message: 'success' };

describe('constants', () => {
  it('ports and the multicast group (RFC 8415 §7.1, §7.2)', () => {
    expect([DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT, ALL_DHCP_RELAY_AGENTS_AND_SERVERS.toString()]).toEqual([546, 547, 'ff02::1:2']);
  });
  it('DUID-LL is type 3, hardware type 1, then the MAC (§11.4)', () => {
    expect(hex(duidLl(CLIENT_MAC))).toBe('00030001' + '02000000000c');
  });
});

describe('DHCPv6 with dnsmasq: a captured exchange', () => {
  it.each<[string, Uint8Array, Dhcp6Repr]>([
    ['SOLICIT', CAPTURED.solicit, client(T.Solicit, 0x1a2b3c, { iaNa: [ia([])] })],
    ['REQUEST', CAPTURED.request, client(T.Request, 0x2b3c4d, { serverId: SERVER_ID, iaNa: [ia([[LEASED, 0, 0]])] })],
    ['RENEW', CAPTURED.renew, client(T.Renew, 0x3c4d5e, { serverId: SERVER_ID, iaNa: [ia([[LEASED, 0, 0]])] })],
    ['REBIND (no server id)', CAPTURED.rebind, client(T.Rebind, 0x4d5e6f, { iaNa: [ia([[LEASED, 0, 0]])] })],
    ['INFORMATION-REQUEST', CAPTURED.informationRequest, client(T.InformationRequest, 0x5e6f70, {})],
    ['RELEASE', CAPTURED.release, new Dhcp6Repr({ messageType: T.Release, transactionId: 0x6f7081, clientId: CLIENT_ID, serverId: SERVER_ID, iaNa: [ia([[LEASED, 0, 0]])], elapsedCs: 0 })],
  ])('%s: our emitter produces the bytes dnsmasq answered, and they parse back', (_name, bytes, built) => {
    expect(hex(emitted(built, 3))).toBe(hex(bytes));
    expect(fields(ok(Dhcp6Repr.parse(bytes)))).toEqual(fields(built));
  });

  it('ADVERTISE: the address, T1/T2, a top-level Success, preference 0, the DNS server; re-emitted byte-exact', () => {
    const repr = ok(Dhcp6Repr.parse(CAPTURED.advertise));
    expect(fields(repr)).toEqual({
      ...none, messageType: T.Advertise, transactionId: 0x1a2b3c, clientId: hex(CLIENT_ID), serverId: hex(SERVER_ID),
      iaNa: [{ iaid: 1, t1S: 60, t2S: 105, addresses: [{ address: 'fd00:88::18f', preferredS: 120, validS: 120 }] }],
      status: success, preference: 0, dnsServers: ['fd00:88::53'],
    });
    expect(hex(emitted(repr))).toBe(hex(CAPTURED.advertise));
  });

  it.each([
    ['REPLY to REQUEST', CAPTURED.reply, 0x2b3c4d, 60, 105, success],
    ['REPLY to RENEW (T1/T2 counted down, no status)', CAPTURED.renewReply, 0x3c4d5e, 55, 100, undefined],
  ])('%s: the lease, re-emitted byte-exact', (_name, bytes, transactionId, t1S, t2S, status) => {
    const repr = ok(Dhcp6Repr.parse(bytes));
    expect(fields(repr)).toEqual({
      ...none, messageType: T.Reply, transactionId, clientId: hex(CLIENT_ID), serverId: hex(SERVER_ID),
      iaNa: [{ iaid: 1, t1S, t2S, addresses: [{ address: 'fd00:88::18f', preferredS: 120, validS: 120 }] }],
      status, dnsServers: ['fd00:88::53'],
    });
    expect(hex(emitted(repr))).toBe(hex(bytes));
  });

  it('REPLY to INFORMATION-REQUEST: DNS servers; the refresh time (option 32) is skipped', () => {
    const repr = ok(Dhcp6Repr.parse(CAPTURED.informationReply));
    expect(fields(repr)).toEqual({ ...none, messageType: T.Reply, transactionId: 0x5e6f70, clientId: hex(CLIENT_ID), serverId: hex(SERVER_ID), dnsServers: [DNS.toString()] });
    expect(hex(emitted(repr))).toBe(hex(CAPTURED.informationReply.subarray(0, CAPTURED.informationReply.length - 8)));
  });

  it('REPLY to RELEASE: a top-level status with its message', () => {
    const repr = ok(Dhcp6Repr.parse(CAPTURED.releaseReply));
    expect(repr.status).toEqual({ code: 0, message: 'release received' });
    expect(hex(emitted(repr))).toBe(hex(CAPTURED.releaseReply));
  });
});

const EVERYTHING: Dhcp6ReprFields = {
  messageType: T.Reply, transactionId: 0xfedcba, clientId: CLIENT_ID, serverId: SERVER_ID,
  iaNa: [ia([[LEASED, 100, 200], [Ipv6Address.parse('2001:db8::1'), 0xffffffff, 0xffffffff]], 50, 80, { code: 3, message: 'nö binding' }), { iaid: 0xffffffff, t1S: 1, t2S: 2, addresses: [] }],
  oro: [23, 24, 0xffff], elapsedCs: 0xffff, preference: 255, status: { code: 2, message: '' },
  dnsServers: [DNS, Ipv6Address.parse('2001:4860:4860::8888')], rapidCommit: true,
};

describe('DHCPv6 round trip', () => {
  it('every field survives emit → parse', () => {
    const repr = new Dhcp6Repr(EVERYTHING);
    const bytes = emitted(repr, 5);
    // 4 + client id 14 + server id 18 + IA_NA 4+12+28+28+4+13 + IA_NA 16 + ORO 10 + elapsed 6 + preference 5 + status 6 + rapid 4 + DNS 36.
    expect(bytes.length).toBe(4 + 14 + 18 + 89 + 16 + 10 + 6 + 5 + 6 + 4 + 36);
    expect(hex(bytes.subarray(0, 4))).toBe('07fedcba');
    expect(fields(ok(Dhcp6Repr.parse(bytes)))).toEqual(fields(repr));
  });

  it('the transaction id is 24 bits', () => {
    expect(new Dhcp6Repr({ messageType: 1, transactionId: 0x12345678 }).transactionId).toBe(0x345678);
  });
});

/** A message of type 7, xid 1, with these raw option bytes. */
const msg = (options: string, type = '07') => fromHex(type + '000001' + options);
const iaNa = (inner: string, fixed = '00000001' + '00000000' + '00000000') =>
  '0003' + ((fixed.length + inner.length) / 2).toString(16).padStart(4, '0') + fixed + inner;
const iaAddr = (inner = '', fixed = LEASED_HEX + '00000078' + '00000078') =>
  '0005' + ((fixed.length + inner.length) / 2).toString(16).padStart(4, '0') + fixed + inner;
const LEASED_HEX = 'fd00008800000000000000000000018f';

describe('malformed DHCPv6', () => {
  it.each<[string, string, Uint8Array]>([
    ['empty', 'truncated', new Uint8Array(0)],
    ['3 bytes', 'truncated', fromHex('070000')],
    ['an option header cut short', 'truncated', msg('0001')],
    ['an option length past the end', 'bad-option-length', msg('0001000a00030001')],
    ['RELAY-FORW', 'relay-unsupported', msg('', '0c')],
    ['RELAY-REPL', 'relay-unsupported', msg('', '0d')],
    ['a client id of 2 bytes', 'bad-option', msg('000100020003')],
    ['a server id of 131 bytes (§11.1)', 'bad-option', msg('00020083' + '00'.repeat(131))],
    ['an IA_NA of 11 bytes', 'bad-option', msg('0003000b' + '00'.repeat(11))],
    ['an IAADDR of 23 bytes', 'bad-option', msg(iaNa('00050017' + '00'.repeat(23)))],
    ['an IAADDR overrunning its IA_NA', 'bad-option-length', msg(iaNa('00050030' + '00'.repeat(24)))],
    ['an option overrunning its IAADDR', 'bad-option-length', msg(iaNa(iaAddr('000d0009' + '0000')))],
    ['a half option header inside an IA_NA', 'truncated', msg(iaNa('00'))],
    ['a status code of 1 byte in an IA_NA', 'bad-option', msg(iaNa('000d000100'))],
    ['an ORO of odd length', 'bad-option', msg('0006000300170a')],
    ['a preference of 2 bytes', 'bad-option', msg('000700020000')],
    ['an elapsed time of 1 byte', 'bad-option', msg('0008000100')],
    ['an empty status code', 'bad-option', msg('000d0000')],
    ['rapid commit with data', 'bad-option', msg('000e000100')],
    ['DNS servers of 17 bytes', 'bad-option', msg('00170011' + '00'.repeat(17))],
    ['two client ids', 'duplicate-option', msg('0001000300030a' + '0001000300030b')],
    ['two preferences', 'duplicate-option', msg('0007000100' + '0007000101')],
  ])('%s → %s', (_name, reason, bytes) => {
    expect(Dhcp6Repr.parse(bytes)).toBe(reason);
  });

  it.each<[string, Uint8Array, Partial<ReturnType<typeof fields>>]>([
    ['no options at all', msg(''), { messageType: 7, transactionId: 1, iaNa: [] }],
    ['an unknown option (skipped, and may repeat)', msg('00ff00020102' + '00ff0000'), { iaNa: [] }],
    ['an unknown message type stays a number', msg('', 'c8'), { messageType: 200 }],
    ['two IA_NAs', msg(iaNa('') + iaNa('', '00000002' + '00'.repeat(8))), { iaNa: [{ iaid: 1, t1S: 0, t2S: 0, addresses: [] }, { iaid: 2, t1S: 0, t2S: 0, addresses: [] }] }],
    ['an IAADDR with a status inside (bounds-checked, skipped)', msg(iaNa(iaAddr('000d00020002'))),
      { iaNa: [{ iaid: 1, t1S: 0, t2S: 0, addresses: [{ address: LEASED.toString(), preferredS: 120, validS: 120 }] }] }],
    ['an IA_NA with an unknown option', msg(iaNa('abcd0000')), { iaNa: [{ iaid: 1, t1S: 0, t2S: 0, addresses: [] }] }],
    ['invalid UTF-8 in a status message is replaced, not thrown', msg('000d00040000c328'), { status: { code: 0, message: '\ufffd(' } }],
    ['an empty DNS server list', msg('00170000'), { dnsServers: [] }],
  ])('%s', (_name, bytes, expected) => {
    expect(fields(ok(Dhcp6Repr.parse(bytes)))).toMatchObject(expected);
  });
});

describe('DHCPv6 robustness', () => {
  it('10,000 random and mutated buffers never throw; whatever parses re-emits to the same meaning', () => {
    const random = new SeededRandom(8415);
    const seeds = [...Object.values(CAPTURED), emitted(new Dhcp6Repr(EVERYTHING))];
    let accepted = 0;
    for (let run = 0; run < 10_000; run++) {
      let bytes: Uint8Array;
      if (run % 4 === 0) {
        bytes = new Uint8Array(uniformInt(random, 0, 120));
        for (let i = 0; i < bytes.length; i++) bytes[i] = random.u32() & 0xff;
        // Mostly plausible option headers, so the walker goes deep.
        if (bytes.length > 8 && run % 8 === 0) bytes.set([0, 3, 0, bytes.length - 8], 4);
      } else {
        const seed = seeds[uniformInt(random, 0, seeds.length - 1)];
        bytes = seed.slice(0, uniformInt(random, 0, 3) === 0 ? uniformInt(random, 0, seed.length) : seed.length);
        const flips = uniformInt(random, 1, 6);
        for (let f = 0; f < flips && bytes.length > 0; f++) bytes[uniformInt(random, 0, bytes.length - 1)] = random.u32() & 0xff;
      }
      const repr = Dhcp6Repr.parse(bytes);
      if (isDrop(repr)) continue;
      accepted++;
      expect(fields(ok(Dhcp6Repr.parse(emitted(repr))))).toEqual(fields(repr));
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
