#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Packets into esptun's transmit path from where the stack does not
build them itself, in the gateway's netns (topology.sh's gw).

  txfuzz.py --seed N --count N [--via DEV] [--no-vnet] [--no-hdrincl]

- a PACKET socket on esp0 with PACKET_VNET_HDR: inner IPv4 and IPv6
  packets, valid and mutated, behind virtio_net_hdr values of every kind
  (GSO TCPv4, TCPv6, UDP, ECN, sizes from 1 up, header lengths,
  checksum starts and offsets, or none), some with PACKET_QDISC_BYPASS;
- IP_HDRINCL raw sockets, IPv4 and IPv6, to the peer's inner addresses:
  headers with every IHL (0 to 15, so options too), version, protocol,
  fragment fields, DF or not, lengths beyond the tunnel's path MTU (esptun
  then fragments them) and up to the device's MTU;
- with --via DEV, the same raw packets to an address routed through DEV,
  a device stacked on esp0 (GRE, VLAN): what DEV makes of them reaches
  esptun.

For every packet the socket took, esptun must account for it: its
tunnels' tx_packets plus its drop causes (device-wide: tx_errors,
tx_no_tunnel, tx_too_big, tx_seq_exhausted, tx_sa_expired) plus the core's
own drops before esptun (the link's tx_dropped beyond esptun's) move by 1,
or for GSO and what esptun fragments, by 1 to the number of segments it
can make.  A packet the socket refused moves nothing.  Prints the counts
and exits 1 on a difference.
"""
import argparse
import errno
import random
import socket
import struct
import sys
import time

import esptun_nl
import nlraw
from espfuzz import inner4

PACKET_VNET_HDR, PACKET_QDISC_BYPASS = 15, 20
SOL_PACKET = 263
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
RTM_GETLINK, IFLA_STATS64 = 18, 23
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_ECN = 0, 1, 3, 4, 0x80
SRC4, DST4, SRC6, DST6 = "172.16.0.1", "172.16.1.1", "fd10::1", "fd11::1"
TX_DROPS = ["tx-errors", "tx-no-tunnel", "tx-too-big", "tx-seq-exhausted", "tx-sa-expired"]


def parse(data, set_name):
    out = {}
    byname = {v[0]: (k, v[1], v[2]) for k, v in esptun_nl.SETS[set_name].items()}
    while len(data) >= 4:
        alen, atype = struct.unpack("=HH", data[:4])
        if alen < 4:
            break
        t, v = atype & 0x3FFF, data[4:alen]
        data = data[(alen + 3) & ~3:]
        if t not in byname:
            continue
        name, typ, nested = byname[t]
        val = parse(v, nested) if typ == "nest" else \
            int.from_bytes(v, sys.byteorder) if typ in ("u64", "u32", "u16", "u8") else v
        if name in ("tunnel", "sa"):
            out.setdefault(name, []).append(val)
        else:
            out[name] = val
    return out


class Counters:
    """What esptun counted of what it was given, and what the core
    dropped before it, for one device, over netlink."""

    def __init__(self, dev, via=None):
        self.dev = dev
        self.ifindex = socket.if_nametoindex(dev)
        self.via = socket.if_nametoindex(via) if via else None
        self.genl = nlraw.Genl()
        self.fam = self.genl.family(esptun_nl.FAMILY)
        self.rt = nlraw.Genl(0)

    def read(self):
        err, _, replies = self.genl.request(
            self.fam, esptun_nl.OPS["dev-get"],
            nlraw.attr(esptun_nl.SETS["esptun"]["ifindex"][0],
                       struct.pack("=I", self.ifindex)), nlraw.NLM_F_ACK)
        if err:
            raise OSError(-err, "DEV_GET")
        d = parse(replies[0][4:], "esptun")
        st = d.get("stats", {})
        out = {c: st.get(c, 0) for c in TX_DROPS}
        out["tx-packets"] = sum(t.get("stats", {}).get("tx-packets", 0)
                                for t in d.get("tunnel", []))
        # The link's tx_dropped has esptun's too-big and sequence drops.
        out["core-dropped"] = self.link(self.ifindex)[7] - out["tx-too-big"] - \
            out["tx-seq-exhausted"]
        if self.via:
            # What the stacked device dropped or failed never reaches esptun.
            s64 = self.link(self.via)
            out["via-dropped"], out["via-errors"] = s64[7], s64[5]
        return out

    def link(self, ifindex):
        """The device's rtnl_link_stats64, as a tuple."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, ifindex, 0, 0)
        err, _, replies = self.rt.talk(RTM_GETLINK, body, nlraw.NLM_F_ACK)
        if err:
            raise OSError(-err, "RTM_GETLINK")
        attrs = nlraw.parse_attrs(replies[0][16:])
        return struct.unpack("=%dQ" % (len(attrs[IFLA_STATS64]) // 8), attrs[IFLA_STATS64])


def total(c):
    return sum(c.values())


# Packets ---------------------------------------------------------------------

def mutate4(rng, p):
    field = rng.choice(["none", "none", "version", "ihl", "tot_len", "proto", "frag",
                        "ttl", "csum", "truncate", "options"])
    if field == "version":
        p[0] = (rng.choice([0, 6, 15]) << 4) | (p[0] & 15)
    elif field == "ihl":
        p[0] = 0x40 | rng.choice([0, 1, 4, 6, 15])
    elif field == "tot_len":
        p[2:4] = struct.pack("!H", rng.choice([0, 19, len(p) + 100, 0xFFFF]))
    elif field == "proto":
        p[9] = rng.choice([0, 4, 41, 50, 255])
    elif field == "frag":
        p[6:8] = struct.pack("!H", rng.choice([0x2000, 0x1FFF, 0x4000, 0x6001]))
    elif field == "ttl":
        p[8] = 0
    elif field == "csum":
        p[10] ^= 0xFF
    elif field == "truncate":
        p = p[:rng.choice([1, 10, 19, 20, 30])]
    return p, field


def mutate6(rng, p):
    field = rng.choice(["none", "none", "version", "plen", "nexthdr", "truncate"])
    if field == "version":
        p[0] = (rng.choice([0, 4, 15]) << 4) | (p[0] & 15)
    elif field == "plen":
        p[4:6] = struct.pack("!H", rng.choice([0, 1, 0xFFFF]))
    elif field == "nexthdr":
        p[6] = rng.choice([0, 43, 44, 59, 60, 255])
    elif field == "truncate":
        p = p[:rng.choice([1, 20, 39, 40])]
    return p, field


def tcp(sport, dport, n):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + bytes(n)


def udp(sport, dport, n):
    return struct.pack("!HHHH", sport, dport, 8 + n, 0) + bytes(n)


def ip4(proto, body, df=False):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0x4000 if df else 0,
                      64, proto, 0, socket.inet_aton(SRC4), socket.inet_aton(DST4))
    return bytearray(hdr + body)


def ip6(nh, body):
    return bytearray(struct.pack("!IHBB", 6 << 28, len(body), nh, 64) +
                     socket.inet_pton(socket.AF_INET6, SRC6) +
                     socket.inet_pton(socket.AF_INET6, DST6) + body)


def vnet_packet(rng):
    """(protocol, virtio_net_hdr, packet, the most segments esptun may
    make of it) for a PACKET_VNET_HDR socket."""
    v6 = rng.random() < 0.4
    kind = rng.choice(["tcp", "tcp", "udp", "other"])
    r = rng.random()
    size = rng.choice([8, 100, 536, 1200, 1400, 1500, 9000]) if r < 0.4 else \
        rng.choice([0, 1, 7, 8, 1400, 65535])
    # At most a few dozen segments: each is encrypted under emulation.
    n = min(rng.choice([0, 1, 100, 1000, 1400, 3000, 9000, 30000]), max(size, 1) * 40)
    body = tcp(40000, 5201, n) if kind == "tcp" else udp(40000, 5201, n) if kind == "udp" \
        else bytes(n)
    proto = {"tcp": 6, "udp": 17, "other": 253}[kind]
    p = ip6(proto, body) if v6 else ip4(proto, body, df=rng.random() < 0.5)
    hlen = 40 if v6 else 20
    mutated = "none"
    if rng.random() < 0.25:
        p, mutated = mutate6(rng, p) if v6 else mutate4(rng, p)
    flags = gso = start = off = hdr_len = 0
    if r < 0.4:
        # A GSO shape a guest could give: the right type, a segment size,
        # the checksum where it belongs.
        gso = (GSO_TCPV6 if v6 else GSO_TCPV4) if kind == "tcp" else GSO_UDP if kind == "udp" \
            else rng.choice([GSO_TCPV4, GSO_UDP])
        if rng.random() < 0.1:
            gso |= GSO_ECN
        flags = VIRTIO_NET_HDR_F_NEEDS_CSUM if rng.random() < 0.8 else 0
        start, off = hlen, 16 if kind == "tcp" else 6
        hdr_len = hlen + (20 if kind == "tcp" else 8)
    elif r < 0.7:
        # Anything.
        gso = rng.choice([GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP, 5, 0x81, 0xFF])
        flags = rng.choice([0, 1, 2, 0xFF])
        start = rng.choice([0, 1, hlen, hlen + 20, len(p) - 1, len(p), 65535])
        off = rng.choice([0, 6, 16, 17, 255, 65535])
        hdr_len = rng.choice([0, 14, hlen, len(p), len(p) + 1, 65535])
    elif r < 0.85:
        flags, start, off = VIRTIO_NET_HDR_F_NEEDS_CSUM, hlen, 16 if kind == "tcp" else 6
        size = 0
    else:
        size = 0
    vh = struct.pack("<BBHHHH", flags, gso, hdr_len, size, start, off)
    segs = 1
    if gso and size:
        segs = max(1, len(p) // max(size, 1) + 2)
    return (ETH_P_IPV6 if v6 else ETH_P_IP), vh, bytes(p), segs, \
        "v%d/%s/gso%x/%s" % (6 if v6 else 4, kind, gso, mutated)


def hdrincl_packet(rng, mtu_path, mtu_dev):
    """(family, packet, the most pieces esptun may make of it, label) for
    an IP_HDRINCL socket; sizes up to the device's MTU, some beyond the
    tunnel's path MTU."""
    v6 = rng.random() < 0.3
    n = rng.choice([0, 8, 100, 1000, mtu_path - 40, mtu_path + 30, mtu_dev - 60])
    if v6:
        p, field = mutate6(rng, ip6(17, udp(40000, 9, n)))
        return socket.AF_INET6, bytes(p), 1, "v6/" + field
    opts = rng.choice([b"", b"", bytes([1, 1, 1, 0]), bytes([7, 7, 4]) + bytes(5),
                       bytes(rng.getrandbits(8) for _ in range(40))])
    p = inner4(rng, SRC4, DST4, size=max(n - len(opts), 0), proto=17, opts=opts)
    p[6:8] = struct.pack("!H", 0x4000 if rng.random() < 0.3 else 0)
    p, field = mutate4(rng, p)
    if field == "truncate":
        field = "none"          # the socket refuses a header cut short
        p = bytearray(p) + bytes(20)
    # esptun fragments what is too big for the tunnel without DF.
    pieces = max(1, len(p) // 64 + 2)
    return socket.AF_INET, bytes(p), pieces, "v4/ihl%d/%s" % (p[0] & 15, field)


class Fuzz:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.c = Counters(args.dev, args.via)
        self.findings = []
        self.stats = {}

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def measure(self, send, hi, label):
        """Send one packet; esptun and the core account for it by 1 to
        @hi, or by nothing if the socket refused it."""
        before = self.c.read()
        try:
            send()
        except OSError as e:
            self.count("refused: " + errno.errorcode.get(e.errno, str(e.errno)))
            # Refused before any device saw it, or the core's transmit
            # dropped it (and counted it: the link's tx_dropped), never
            # esptun, which takes whatever it is given.
            after = self.c.read()
            d = total(after) - total(before)
            if d and (d != 1 or after["core-dropped"] == before["core-dropped"]):
                self.finding("refused by the socket, yet counted", label, before, after)
            return
        deadline = time.monotonic() + 5
        after, stable = self.c.read(), 0
        while time.monotonic() < deadline:
            time.sleep(0.002)
            now = self.c.read()
            if now == after and total(now) > total(before):
                stable += 1
                if stable >= 2:
                    break
            else:
                stable = 0
            after = now
        d = total(after) - total(before)
        for k in after:
            if after[k] != before[k]:
                self.count(k)
        if not 1 <= d <= hi:
            self.finding("accounted %d times (1 to %d expected)" % (d, hi), label,
                         before, after)

    def finding(self, what, label, before, after):
        diff = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        self.findings.append("%s: %s %s" % (label, what, diff))

    def vnet(self, n):
        # SOCK_RAW (what PACKET_VNET_HDR takes): esp0 has no link header.
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        q = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        q.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        q.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        for _ in range(n):
            proto, vh, p, segs, label = vnet_packet(self.rng)
            sock = q if self.rng.random() < 0.2 else s
            self.measure(lambda: sock.sendto(vh + p, (self.args.dev, proto)), segs,
                         "vnet " + label)

    def hdrincl(self, n, dev):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for s in (s4, s6):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
        for _ in range(n):
            fam, p, pieces, label = hdrincl_packet(self.rng, self.args.path_mtu,
                                                   self.args.dev_mtu)
            s, dst = (s6, (DST6, 0)) if fam == socket.AF_INET6 else (s4, (DST4, 0))
            self.measure(lambda: s.sendto(p, dst), pieces, "hdrincl via %s %s" % (dev, label))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--dev", default="esp0")
    ap.add_argument("--via", help="a device stacked on esp0 to send the raw packets through")
    ap.add_argument("--no-vnet", action="store_true")
    ap.add_argument("--path-mtu", type=int, default=1246)
    ap.add_argument("--dev-mtu", type=int, default=1418)
    args = ap.parse_args(argv)
    f = Fuzz(args)
    t0 = time.monotonic()
    if not args.no_vnet:
        f.vnet(args.count)
    f.hdrincl(args.count, args.via or args.dev)
    print("# txfuzz: seed %d: %d packets %s in %.0f s: %s" % (
        args.seed, args.count * (1 if args.no_vnet else 2),
        "through " + args.via if args.via else "into " + args.dev, time.monotonic() - t0,
        ", ".join("%s %d" % kv for kv in sorted(f.stats.items()))))
    for x in f.findings[:20]:
        print("# txfuzz: FINDING: " + x)
    return 1 if f.findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
