#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""UDP flows through an esptun gateway, counted per tunnel.

Run in a namespace behind the gateway; the tunnels' packet counters are
read with `esptun -n GWNS show DEV --json`.

  flows.py spread SRC DST N        one packet on each of N flows (source
                                   ports 20000..): "id:share ..." per tunnel
  flows.py map SRC DST N PACKETS   PACKETS packets on each of N flows (source
                                   ports 30000..): the tunnel each flow
                                   arrived on at the far end, -1 if its
                                   packets arrived on several, 0 if none
                                   arrived
  flows.py sink ADDR               discard UDP to ADDR port 9 (no ICMP back)
Environment: GWNS (default gw), DEV (default esp0): the gateway; TAPNS
(default aws): where each tunnel ends on an interface "...N", N its id,
and map counts the packets on a packet socket made there.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import in_netns  # noqa: E402

MARKER = 65000
SO_RCVBUFFORCE = 33  # not in Python's socket module


def counters():
    out = subprocess.run(["esptun", "-n", os.environ.get("GWNS", "gw"),
                          "show", os.environ.get("DEV", "esp0"), "--json"],
                         capture_output=True, text=True, check=True).stdout
    return {t["id"]: t["tx_packets"] for t in json.loads(out)[0]["tunnels"]}


def send(src, dst, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, port))
    for _ in range(n):
        s.sendto(b"x" * 32, (dst, 9))
    s.close()


def spread(src, dst, nflows):
    before = counters()
    for p in range(20000, 20000 + nflows):
        send(src, dst, p, 1)
    after = counters()
    total = sum(after[t] - before[t] for t in after)
    print(" ".join("%d:%.4f" % (t, (after[t] - before[t]) / total)
                   for t in sorted(after)))


def tap():
    """A packet socket in TAPNS, made before the flows' first packet."""
    s = in_netns(os.environ.get("TAPNS", "aws"),
                 lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                       socket.htons(0x0800)))
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    s.settimeout(30)
    return s


def tapped(s):
    """UDP packets to port 9 on tap() @s by "SPORT IFNAME", until the end
    marker (source port MARKER)."""
    seen = {}
    while True:
        pkt, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 28 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
        if dport != 9:
            continue
        if sport == MARKER:
            return seen
        key = "%d %s" % (sport, addr[0])
        seen[key] = seen.get(key, 0) + 1


def mapping(src, dst, nflows, n):
    t = tap()
    for p in range(30000, 30000 + nflows):
        send(src, dst, p, n)
        # A burst of thousands overflows queues in the emulated test bed.
        time.sleep(0.005)
    # Packets of one tunnel arrive in order; the marker may take another.
    time.sleep(0.5)
    send(src, dst, MARKER, 1)
    seen = tapped(t)
    t.close()
    res, lost = [], 0
    for p in range(30000, 30000 + nflows):
        where = [(k.split()[1], c) for k, c in seen.items() if int(k.split()[0]) == p]
        lost += n - sum(c for _, c in where)
        if len(where) == 1:
            res.append(int(re.search(r"(\d+)$", where[0][0]).group(1)))
        else:
            res.append(-1 if where else 0)
    if lost:
        print("flows.py: %d of %d packets did not arrive" % (lost, n * nflows),
              file=sys.stderr)
    print(" ".join(map(str, res)))


def sink(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 9))
    while True:
        s.recv(65535)


def main(argv):
    if len(argv) == 4 and argv[0] == "spread":
        return spread(argv[1], argv[2], int(argv[3]))
    if len(argv) == 5 and argv[0] == "map":
        return mapping(argv[1], argv[2], int(argv[3]), int(argv[4]))
    if len(argv) == 2 and argv[0] == "sink":
        return sink(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
