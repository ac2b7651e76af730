"""The kernel peer's side of a UDP exchange, on a connected socket (so an ICMP port
unreachable comes back as ECONNREFUSED, RFC 1122 §4.1.3.3).

  udp-peer.py HOST PORT SIZE [WAIT_S]

Sends SIZE bytes of a fixed pattern to HOST:PORT and prints one line: `reply N bytes
same` (or `different`) when a reply came, `error <ERRNO NAME>`, or `timeout` after WAIT_S
seconds (default 2) without either.
"""
import errno
import socket
import sys

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wait = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
payload = bytes((i * 7 + 3) % 251 for i in range(size))

s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(wait)
try:
    # getaddrinfo reads a zone (fe80::1%veth0) into the scope id a link-local address needs.
    s.connect(socket.getaddrinfo(host, port, s.family, socket.SOCK_DGRAM)[0][4])
    s.send(payload)
    reply = s.recv(65535)
    print(f"reply {len(reply)} bytes {'same' if reply == payload else 'different'}")
except socket.timeout:
    print('timeout')
except OSError as err:
    print(f'error {errno.errorcode.get(err.errno, err.errno)}')
