import { describe, expect, it } from 'vitest';
import { Ipv6Address, MacAddress } from '../../lib/wire/address';
import { describeFrame } from '../../lib/wire/describe';
import { Icmpv6Repr } from '../../lib/wire/icmpv6';
import { Ipv6NextHeader, Ipv6Repr } from '../../lib/wire/ipv6';
import { hopByHopRouterAlert } from '../../lib/wire/ipv6-ext';
import { mldReportToIcmp, MldRecordType } from '../../lib/wire/mld';
import { emptyNdpOptions, ndpToIcmp } from '../../lib/wire/ndp';

const A = Ipv6Address.parse('fe80::1');
const B = Ipv6Address.parse('fe80::2');

/** A bare IPv6 packet (TUN medium) carrying `icmp`, after optional extension headers. */
function packet(icmp: Icmpv6Repr, src: Ipv6Address, dst: Ipv6Address, hbh?: Uint8Array): Uint8Array {
  const ext = hbh ?? new Uint8Array(0);
  const ip = new Ipv6Repr({ src, dst, nextHeader: hbh ? Ipv6NextHeader.HopByHop : Ipv6NextHeader.Icmpv6, payloadLen: ext.length + icmp.bufferLen(), hopLimit: hbh ? 1 : 255 });
  const buf = new Uint8Array(40 + ext.length + icmp.bufferLen());
  ip.emit(buf, 0);
  buf.set(ext, 40);
  icmp.emit(buf, 40 + ext.length, src, dst);
  return buf;
}

describe('the packet log line for IPv6', () => {
  it('names Neighbor Discovery messages and their target', () => {
    const ns = ndpToIcmp({ type: 'ns', target: B, options: { ...emptyNdpOptions(), sourceLinkAddr: MacAddress.parse('02:00:00:00:00:01') } });
    expect(describeFrame(packet(ns, A, B.solicitedNode()), 'ip')).toBe('IPv6 fe80::1 > ff02::1:ff00:2 hlim 255 ICMPv6 neighbor solicitation who-has fe80::2 len 32');
    const na = ndpToIcmp({ type: 'na', router: false, solicited: true, override: true, target: B, options: emptyNdpOptions() });
    expect(describeFrame(packet(na, B, A), 'ip')).toBe('IPv6 fe80::2 > fe80::1 hlim 255 ICMPv6 neighbor advertisement tgt is fe80::2 len 24');
  });

  it('walks the Hop-by-Hop header of an MLDv2 report', () => {
    const report = mldReportToIcmp([{ type: MldRecordType.ChangeToExclude, group: B.solicitedNode(), sources: [] }]);
    const line = describeFrame(packet(report, A, Ipv6Address.parse('ff02::16'), hopByHopRouterAlert(Ipv6NextHeader.Icmpv6, 0)), 'ip');
    expect(line).toBe('IPv6 fe80::1 > ff02::16 hlim 1 HBH ICMPv6 multicast listener report v2 len 28');
  });

  it('prints echo identifiers', () => {
    expect(describeFrame(packet(Icmpv6Repr.echoRequest(7, 3, new Uint8Array(4)), A, B), 'ip')).toBe('IPv6 fe80::1 > fe80::2 hlim 255 ICMPv6 echo request id 7 seq 3 len 12');
  });
});
