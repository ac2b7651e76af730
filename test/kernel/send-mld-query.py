#!/usr/bin/python3
"""Send one MLDv2 Query (RFC 3810 section 5.1) as a raw Ethernet frame on an interface.

The frame is built by hand (standard library only): IPv6 with a Hop-by-Hop header holding
a Router Alert option (RFC 3810 section 5, RFC 2711), then the 28-byte Version 2 Query with
no sources, its ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 section 8.1). Sent
through an AF_PACKET socket, so the kernel's own IPv6 rules (hop limit, source) do not
interfere with what the test wants to send.

usage: send-mld-query.py IFACE SRC_MAC SRC_IP6 DST_IP6 GROUP_IP6 HOP_LIMIT MAX_RESP_CODE
GROUP_IP6 is :: for a General Query.
"""
import socket
import struct
import sys

ICMPV6 = 58
HOP_BY_HOP = 0
MLD_QUERY = 130


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def query(src: bytes, dst: bytes, group: bytes, max_resp_code: int) -> bytes:
    # S flag 0, QRV 2, QQIC 125 s, no sources.
    body = struct.pack('!BBHHH16sBBH', MLD_QUERY, 0, 0, max_resp_code, 0, group, 2, 125, 0)
    pseudo = src + dst + struct.pack('!I3xB', len(body), ICMPV6)
    return body[:2] + struct.pack('!H', checksum(pseudo + body)) + body[4:]


def main() -> None:
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    iface, src_mac, src_ip, dst_ip, group_ip, hop_limit, max_resp = sys.argv[1:]
    src = socket.inet_pton(socket.AF_INET6, src_ip)
    dst = socket.inet_pton(socket.AF_INET6, dst_ip)
    group = socket.inet_pton(socket.AF_INET6, group_ip)
    icmp = query(src, dst, group, int(max_resp))
    # Hop-by-Hop: next header ICMPv6, length 0 (8 bytes), Router Alert (type 5, value 0 = MLD), PadN of 2.
    hbh = struct.pack('!BB', ICMPV6, 0) + bytes([5, 2, 0, 0, 1, 0])
    ip = struct.pack('!IHBB16s16s', 6 << 28, len(hbh) + len(icmp), HOP_BY_HOP, int(hop_limit), src, dst)
    # RFC 2464 section 7: multicast 33:33 + the low 32 bits of the destination.
    eth = b'\x33\x33' + dst[12:] + bytes.fromhex(src_mac.replace(':', '')) + struct.pack('!H', 0x86DD)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((iface, 0))
        s.send(eth + ip + hbh + icmp)


if __name__ == '__main__':
    main()
