#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pinger.py DST N: N ICMP echo requests to DST, 50 ms apart; every one
must be answered within 5 s (times ESPTUN_TIMEOUT_SCALE) of the last.

ping(8) with -c waits for late replies for only two round trips once one
reply has come: on the debug kernel, under load, natt.sh once had 2 of
10 reported lost, most likely late.  Here the wait is for every
reply, up to the timeout, and exactly N requests leave, so that the
tunnels' packet counts stay exact.  Prints "N sent, M received" and, if
some are missing, their sequence numbers; exit 0 only if all came back.
Run in the test's namespace through `pyfile -n NS` (a raw socket).
"""
import os
import select
import socket
import struct
import sys
import time

INTERVAL = 0.05


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main(argv):
    dst, n = argv[1], int(argv[2])
    timeout = 5 * float(os.environ.get("ESPTUN_TIMEOUT_SCALE") or 1)
    v6 = ":" in dst
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                          socket.IPPROTO_ICMPV6)
        request, reply = 128, 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_ICMP)
        request, reply = 8, 0
    ident = (os.getpid() ^ int(time.monotonic() * 1000)) & 0xFFFF
    payload = b"esptun-selftest".ljust(32, b".")
    missing = set(range(n))
    sent = 0
    now = time.monotonic()
    next_send, deadline = now, None
    try:
        while missing:
            now = time.monotonic()
            if sent < n and now >= next_send:
                hdr = struct.pack("!BBHHH", request, 0, 0, ident, sent)
                if not v6:  # the kernel sums ICMPv6 itself
                    hdr = struct.pack("!BBHHH", request, 0,
                                      checksum(hdr + payload), ident, sent)
                s.sendto(hdr + payload, (dst, 0))
                sent += 1
                next_send = now + INTERVAL
                if sent == n:
                    deadline = now + timeout
                continue
            wait = (next_send if sent < n else deadline) - now
            if wait <= 0:
                break
            if not select.select([s], [], [], wait)[0]:
                continue
            data = s.recv(2048)
            if not v6:
                data = data[(data[0] & 0xF) * 4:]
            if len(data) < 8:
                continue
            typ, _, _, rid, seq = struct.unpack("!BBHHH", data[:8])
            if typ == reply and rid == ident:
                missing.discard(seq)
    except OSError as e:
        print("%d sent: %s" % (sent, e.strerror))
        return 1
    finally:
        s.close()
    print("%d sent, %d received" % (n, n - len(missing)) +
          (" (missing: %s)" % " ".join(map(str, sorted(missing)))
           if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
