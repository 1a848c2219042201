#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Add and delete inbound SAs on an esptun device as fast as netlink takes
them, without a process per command.

usage: churn.py DEV TUNNEL SPI N [--until-gone]

Adds SA (in, SPI + i) to tunnel TUNNEL of DEV and deletes it again, N
times.  Prints "done N" when every command succeeded.  With --until-gone
the device is expected to disappear meanwhile: prints "started" after the
first round, then "gone after K" (K rounds completed) at the first ENODEV;
any other error is a failure.
Otherwise prints "error ERRNO_NAME: EXTACK (round K)" at the first error.
Exits 0 in every case but a usage error.
"""
import errno
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from esptun_nl import ENUMS, FAMILY, OPS, SETS  # noqa: E402
from nlraw import Genl, attr, NLM_F_ACK, NLA_F_NESTED  # noqa: E402

A, SA = SETS[FAMILY], SETS["sa"]


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    dev, tunnel, spi, n = argv[0], int(argv[1]), int(argv[2], 0), int(argv[3])
    until_gone = argv[4:] == ["--until-gone"]
    genl = Genl()
    family = genl.family(FAMILY)
    ifname = attr(A["ifname"][0], dev.encode() + b"\0")
    key = attr(SA["key"][0], bytes(range(20)))
    for i in range(n):
        sa_id = (attr(SA["dir"][0], bytes([ENUMS["sa-dir"]["in"]])) +
                 attr(SA["spi"][0], struct.pack(">I", spi + i)))
        for cmd, body in (("sa-new", sa_id + attr(SA["tunnel-id"][0],
                                                   struct.pack("=I", tunnel)) + key),
                          ("sa-del", sa_id)):
            err, text, _ = genl.request(family, OPS[cmd],
                                        ifname + attr(A["sa"][0] | NLA_F_NESTED, body),
                                        NLM_F_ACK)
            if err == -errno.ENODEV and until_gone:
                print("gone after %d" % i)
                return 0
            if err:
                print("error %s: %s (round %d)" % (errno.errorcode.get(-err, str(-err)),
                                                   text, i))
                return 0
        if i == 0 and until_gone:
            print("started", flush=True)
    print("done %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
