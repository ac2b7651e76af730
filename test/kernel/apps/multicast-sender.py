"""Sends TEXT to GROUP:PORT from the kernel peer, out of the interface holding SOURCE.

  multicast-sender.py SOURCE GROUP PORT TEXT
"""
import socket
import sys

source, group, port, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(text.encode(), (group, port))
