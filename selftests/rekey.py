#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Make-before-break rekeying of an esptun tunnel and its XFRM peer in step,
over netlink from one process, so that a round takes milliseconds even in an
emulated guest (the tools would take a second a round there).

usage: rekey.py ROUNDS PERIOD_MS  (run in the gateway's namespace)

Environment: PEER_NS (the XFRM peer's namespace), GW_OUT, PEER_OUT (outer
IPv4 addresses), KEY_OUT, KEY_IN (0x-hex AES-128 key and salt of
generation 0).  Generation g uses SPIs 0x1000 + g (gateway to peer) and
0x2000 + g, and keys whose salt is g; generation 0 is installed already.
Round g:
  1. esptun and XFRM add the new inbound SA;
  2. esptun replaces its outbound SA; XFRM adds a newer outbound state,
     which it sends on from then;
  3. XFRM deletes its previous outbound state; both delete the inbound SA
     of generation g - 2, whose sender stopped a round ago.
Afterwards, one more period, then generation ROUNDS - 1's inbound SAs go.
Prints the round timing; exits 1 on the first refused request.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nlraw import Genl, attr  # noqa: E402
from esptun_nl import ENUMS, FAMILY, OPS, SETS  # noqa: E402
from netns import in_netns  # noqa: E402

NETLINK_XFRM = 6
NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL = 0x4, 0x400, 0x200
XFRM_MSG_NEWSA, XFRM_MSG_DELSA = 0x10, 0x11
XFRMA_ALG_AEAD, XFRMA_SRCADDR = 18, 13
XFRM_MODE_TUNNEL, XFRM_STATE_AF_UNSPEC = 1, 32
XFRM_INF = (1 << 64) - 1
NLA_F_NESTED = 0x8000
# From uapi/esptun.yaml, through the generated esptun_nl.py.
CMD_SA_NEW, CMD_SA_DEL = OPS["sa-new"], OPS["sa-del"]
A_IFNAME, A_SA = SETS[FAMILY]["ifname"][0], SETS[FAMILY]["sa"][0]
SA_TUNNEL_ID, SA_DIR, SA_SPI, SA_KEY = (
    SETS["sa"][a][0] for a in ("tunnel-id", "dir", "spi", "key"))
DIR_IN, DIR_OUT = ENUMS["sa-dir"]["in"], ENUMS["sa-dir"]["out"]


def addr16(a):
    return socket.inet_aton(a) + bytes(12)


def key(base, gen):
    """Generation @gen of a key: the same AES key, the salt is @gen."""
    return bytes.fromhex(base[2:34]) + struct.pack(">I", gen)


class Xfrm:
    """XFRM states in another namespace, as `ip xfrm state` makes them."""

    def __init__(self, netns):
        try:
            self.nl = in_netns(netns, lambda: Genl(NETLINK_XFRM))
        except OSError as e:
            sys.exit("rekey: %s" % e)

    def add(self, spi, src, dst, k):
        # struct xfrm_usersa_info: selector (any), id, saddr, lifetimes
        # (infinite), current lifetime, stats, seq, reqid, family, mode,
        # replay window, flags, padding to 224 bytes.
        info = bytes(56)
        info += addr16(dst) + struct.pack(">I", spi) + bytes([50]) + bytes(3)
        info += addr16(src)
        info += struct.pack("=8Q", *([XFRM_INF] * 4 + [0] * 4))
        info += bytes(32 + 12)
        info += struct.pack("=IIHBBB", 0, 0, socket.AF_INET, XFRM_MODE_TUNNEL,
                            128, XFRM_STATE_AF_UNSPEC)
        info += bytes(224 - len(info))
        aead = b"rfc4106(gcm(aes))".ljust(64, b"\0")
        aead += struct.pack("=II", 8 * len(k), 128) + k
        self.check(self.nl.talk(XFRM_MSG_NEWSA, info + attr(XFRMA_ALG_AEAD, aead),
                                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
                   "xfrm state add spi 0x%x" % spi)

    def delete(self, spi, src, dst):
        # struct xfrm_usersa_id: daddr, spi (network order), family, proto
        sa_id = addr16(dst) + struct.pack(">I", spi)
        sa_id += struct.pack("=HBx", socket.AF_INET, 50)
        self.check(self.nl.talk(XFRM_MSG_DELSA, sa_id + attr(XFRMA_SRCADDR, addr16(src)),
                                NLM_F_ACK), "xfrm state del spi 0x%x" % spi)

    @staticmethod
    def check(answer, what):
        if answer[0]:
            sys.exit("rekey: %s: %s %s" % (what, os.strerror(-answer[0]), answer[1]))


class Esptun:
    def __init__(self, dev):
        self.nl = Genl()
        self.family = self.nl.family(FAMILY)
        self.dev = attr(A_IFNAME, dev.encode() + b"\0")

    def sa(self, cmd, direction, spi, k=None):
        sa = attr(SA_DIR, bytes([direction])) + attr(SA_SPI, struct.pack(">I", spi))
        if k is not None:
            sa += attr(SA_TUNNEL_ID, struct.pack("=I", 1)) + attr(SA_KEY, k)
        err, text, _ = self.nl.request(self.family, cmd,
                                       self.dev + attr(A_SA | NLA_F_NESTED, sa),
                                       NLM_F_ACK)
        if err:
            sys.exit("rekey: esptun sa %s spi 0x%x: %s: %s" %
                     ("add" if k else "del", spi, os.strerror(-err), text))


def main(argv):
    rounds, period = int(argv[1]), int(argv[2]) / 1000
    gw, peer = os.environ["GW_OUT"], os.environ["PEER_OUT"]
    kout, kin = os.environ["KEY_OUT"], os.environ["KEY_IN"]
    esp, xfrm = Esptun(os.environ.get("DEV", "esp0")), Xfrm(os.environ["PEER_NS"])
    start = time.monotonic()
    late = 0
    for g in range(1, rounds + 1):
        out_spi, in_spi = 0x1000 + g, 0x2000 + g
        # 1. New inbound SAs.
        esp.sa(CMD_SA_NEW, DIR_IN, in_spi, key(kin, g))
        xfrm.add(out_spi, gw, peer, key(kout, g))
        # 2. Switch outbound.
        esp.sa(CMD_SA_NEW, DIR_OUT, out_spi, key(kout, g))
        xfrm.add(in_spi, peer, gw, key(kin, g))
        # 3. Old ones.
        xfrm.delete(in_spi - 1, peer, gw)
        if g >= 2:
            esp.sa(CMD_SA_DEL, DIR_IN, in_spi - 2)
            xfrm.delete(out_spi - 2, gw, peer)
        wait = start + g * period - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late += 1
    elapsed = time.monotonic() - start
    time.sleep(period)
    esp.sa(CMD_SA_DEL, DIR_IN, 0x2000 + rounds - 1)
    xfrm.delete(0x1000 + rounds - 1, gw, peer)
    print("%d rounds in %.0f ms (%.0f ms a round, %d late)" %
          (rounds, elapsed * 1000, elapsed * 1000 / rounds, late))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
