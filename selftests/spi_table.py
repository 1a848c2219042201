#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The namespace's inbound SPI table at scale, from one process: a tool
run per SA would cost half a second each under emulation.

usage: spi_table.py GW PEER DEV OTHER PER_TUNNEL KEEP SEED

DEV, in netns GW, has tunnels 1..N from 10.0.0.1 to 10.9.0.0 + id
(lib.sh's add_tunnels), device OTHER has tunnel 1 (from 10.0.0.1 to
elsewhere), and netns PEER reaches 10.0.0.1.  Adds PER_TUNNEL inbound
SAs to each of DEV's tunnels, SPIs drawn from SEED; checks the dump, the
object counts in debugfs, ESP for SAs added first, in the middle and
last, ESP nobody owns from the first, middle and last tunnels' remote
addresses, that SPIs and pairs of addresses taken are refused, a move
of a remote end; then deletes every SA but KEEP, one request each, and
checks ESP again.  ESP leaves PEER with the tunnel's remote address as
its source.

Prints, one a line, tab-separated: "check", a description, what was
seen and what was expected (for the shell's check_eq); "log" and a
line to show; "end" when it ran to the end.
"""
import errno
import random
import socket
import struct
import sys
import time

import esptun_nl
import nlraw
from espfuzz import SA, attr_list, attrs
from esptool import inner_packet
from netns import in_netns

A, SA_A, TUN_A = (esptun_nl.SETS[s] for s in ("esptun", "sa", "tunnel"))
DIR_IN = esptun_nl.ENUMS["sa-dir"]["in"]
LOCAL = "10.0.0.1"
OBJECTS = "/sys/kernel/debug/esptun/objects"


def out(*fields):
    print("\t".join(str(f) for f in fields), flush=True)


def check(desc, seen, want):
    out("check", desc, seen, want)


def remote_of(tid):
    """Tunnel @tid's remote address, as add_tunnels gave it."""
    return socket.inet_ntoa(struct.pack("!I", 0x0A090000 + tid))


def objects():
    with open(OBJECTS) as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


class Gw:
    """esptun's netlink family in netns GW."""

    def __init__(self, ns, dev):
        self.genl = in_netns(ns, nlraw.Genl)
        self.fam = self.genl.family(esptun_nl.FAMILY)
        self.dev = dev

    def request(self, cmd, body, flags=nlraw.NLM_F_ACK, dev=None):
        ifname = nlraw.attr(A["ifname"][0], (dev or self.dev).encode() + b"\0")
        return self.genl.request(self.fam, esptun_nl.OPS[cmd], ifname + body, flags)

    def sa(self, cmd, spi, extra=b"", dev=None):
        body = (nlraw.attr(SA_A["dir"][0], bytes([DIR_IN])) +
                nlraw.attr(SA_A["spi"][0], struct.pack(">I", spi)) + extra)
        return self.request(cmd, nlraw.attr(A["sa"][0] | nlraw.NLA_F_NESTED, body),
                            dev=dev)

    def sa_new(self, tid, spi, dev=None):
        return self.sa("sa-new", spi,
                       nlraw.attr(SA_A["tunnel-id"][0], struct.pack("=I", tid)) +
                       nlraw.attr(SA_A["key"][0], SA(None, spi).key), dev)

    def tunnel(self, cmd, tid, remote, dev=None):
        """TUNNEL_NEW from LOCAL to @remote, or TUNNEL_SET of the remote."""
        body = nlraw.attr(TUN_A["id"][0], struct.pack("=I", tid))
        if cmd == "tunnel-new":
            body += nlraw.attr(TUN_A["local-ipv4"][0], socket.inet_aton(LOCAL))
        body += nlraw.attr(TUN_A["remote-ipv4"][0], socket.inet_aton(remote))
        return self.request(cmd, nlraw.attr(A["tunnel"][0] | nlraw.NLA_F_NESTED, body),
                            dev=dev)

    def dump(self):
        """DEV's tunnels from a dump, {id: (counters, [(dir, SPI) of each
        SA])}, and whether it was interrupted.  Only what the test reads
        is parsed: all of 10,000 SAs would take seconds under TCG."""
        err, text, replies = self.request("dev-get", b"", nlraw.NLM_F_DUMP)
        if err:
            raise OSError(-err, "dump: " + text)
        tunnels = {}
        for r in replies:
            for atype, t in attr_list(r[4:]):
                if atype != A["tunnel"][0]:
                    continue
                tid, stats, sas = None, {}, []
                for ttype, v in attr_list(t):
                    if ttype == TUN_A["id"][0]:
                        tid = struct.unpack("=I", v)[0]
                    elif ttype == TUN_A["stats"][0]:
                        stats = attrs(v, "stats")
                    elif ttype == TUN_A["sa"][0]:
                        sa = nlraw.parse_attrs(v)
                        sas.append((sa[SA_A["dir"][0]][0],
                                    struct.unpack(">I", sa[SA_A["spi"][0]])[0]))
                # The kernel puts a tunnel whole in one message.
                tunnels[tid] = (stats, sas)
        return tunnels, self.genl.dump_intr

    def rx_packets(self, spi):
        err, _, replies = self.sa("sa-get", spi)
        if err:
            return errno.errorcode.get(-err, err)
        return attrs(replies[0][4:], "esptun")["sa"][0]["stats"].get("rx-packets", 0)


class Peer:
    """Authentic ESP from any tunnel's remote address, over a raw socket
    in netns PEER that writes the IP header itself."""

    def __init__(self, ns):
        self.sock = in_netns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                                       socket.IPPROTO_RAW))
        payload, nh = inner_packet("v4", "172.16.1.1", "172.16.0.1")
        padlen = (4 - (len(payload) + 2) % 4) % 4
        self.plain = payload + bytes(range(1, padlen + 1)) + bytes([padlen, nh])

    def send(self, src, spi, seq):
        esp = SA(None, spi).seal(seq, self.plain)
        # The kernel fills in the length, identification and checksum.
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_ESP,
                          0, socket.inet_aton(src), socket.inet_aton(LOCAL))
        self.sock.sendto(hdr + esp, (LOCAL, 0))


def wait_for(fn, want, seconds=30):
    """fn() polled until it returns want, or the last value after SECONDS."""
    end = time.time() + seconds
    while True:
        seen = fn()
        if seen == want or time.time() > end:
            return seen
        time.sleep(0.2)


def main(argv):
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    gw_ns, peer_ns, dev, other = argv[:4]
    per, keep, seed = (int(a) for a in argv[4:])
    gw, peer = Gw(gw_ns, dev), Peer(peer_ns)
    rng = random.Random(seed)
    tunnels = sorted(gw.dump()[0])
    first, mid, last = tunnels[0], tunnels[len(tunnels) // 2], tunnels[-1]
    remote = {tid: remote_of(tid) for tid in tunnels}
    n = len(tunnels) * per
    spis = rng.sample(range(0x1000, 1 << 32), n)
    tid_of = {spi: tunnels[i // per] for i, spi in enumerate(spis)}
    before = objects()

    def add_or_del(cmd, which):
        errors = {}
        start = time.time()
        for spi in which:
            err, text, _ = (gw.sa_new(tid_of[spi], spi) if cmd == "sa-new" else
                            gw.sa(cmd, spi))
            if err:
                errors[text] = errors.get(text, 0) + 1
        out("log", "%d %s in %.1f s" % (len(which), cmd, time.time() - start))
        return errors

    check("%d inbound SAs added on %d tunnels" % (n, len(tunnels)),
          add_or_del("sa-new", spis), {})
    check("debugfs counts them", objects()["sas"] - before["sas"], n)
    start = time.time()
    dumped, intr = gw.dump()
    out("log", "dump in %.1f s" % (time.time() - start))
    seen = sorted(spi for _, sas in dumped.values() for d, spi in sas if d == DIR_IN)
    check("the dump has every one, once, uninterrupted",
          (len(seen), seen == sorted(spis), intr), (n, True, False))
    check("each on its tunnel",
          all(tid_of.get(spi) == tid for tid, (_, sas) in dumped.items() for _, spi in sas),
          True)

    def send_sample(seq):
        for i in sample:
            peer.send(remote[tid_of[spis[i]]], spis[i], seq)

    def rx_sample():
        return [gw.rx_packets(spis[i]) for i in sample]

    def no_sa():
        t = gw.dump()[0]
        return {tid: t[tid][0]["rx-no-sa"] for tid in sorted(t)
                if t[tid][0].get("rx-no-sa")}

    # The first, middle and last SAs added, and a few drawn at random.
    sample = sorted({0, 1, n // 2 - 1, n // 2, n - 2, n - 1} |
                    set(rng.sample(range(n), 6)))
    send_sample(1)
    check("authentic ESP reaches SAs %s of %d (in the order added)" %
          (",".join(str(i) for i in sample), n),
          wait_for(rx_sample, [1] * len(sample)), [1] * len(sample))
    # ESP nobody owns, from the first, middle and last tunnels' remote
    # ends: found by addresses, counted on the tunnel.
    unknown = 0x101
    for tid in (first, mid, last):
        peer.send(remote[tid], unknown, 1)
    no_sa_want = {first: 1, mid: 1, last: 1}
    check("ESP for an SPI nobody has, from tunnels %d, %d and %d's remote ends, "
          "counts on them" % (first, mid, last), wait_for(no_sa, no_sa_want), no_sa_want)

    # Taken SPIs and pairs of addresses are refused, in the device and
    # beside it.
    taken = spis[n // 2]
    for d, tid in ((dev, first), (other, 1)):
        err, text, _ = gw.sa_new(tid, taken, dev=d)
        check("SPI %#x again, on %s tunnel %d, is refused" % (taken, d, tid),
              (errno.errorcode.get(-err), text),
              ("EEXIST", "an inbound SA with this SPI already exists"))
    pair = ("EEXIST", "a tunnel already joins these local and remote addresses")
    err, text, _ = gw.tunnel("tunnel-new", 2, remote[mid], other)
    check("tunnel %d's pair of addresses again, on %s, is refused" % (mid, other),
          (errno.errorcode.get(-err), text), pair)
    err, text, _ = gw.tunnel("tunnel-set", last, remote[first])
    check("tunnel %d moving onto tunnel %d's pair is refused" % (last, first),
          (errno.errorcode.get(-err), text), pair)
    # A move: found by its new addresses, no longer by the old.
    err, text, _ = gw.tunnel("tunnel-set", last, "10.7.0.1")
    check("tunnel %d moves to 10.7.0.1" % last, (err, text), (0, ""))
    peer.send(remote[last], unknown, 2)
    remote[last] = "10.7.0.1"
    peer.send(remote[last], unknown, 3)
    no_sa_want[last] += 1
    check("ESP nobody owns counts on it from its new address, not the old",
          wait_for(no_sa, no_sa_want), no_sa_want)

    # All but KEEP deleted, spread over the set, each on its own: the
    # table shrinks under the lookups.
    kept = set(spis[::n // keep][:keep])
    gone = [s for s in spis if s not in kept]
    rng.shuffle(gone)
    check("%d of them deleted" % len(gone), add_or_del("sa-del", gone), {})
    check("debugfs counts %d left" % keep,
          wait_for(lambda: objects()["sas"] - before["sas"], keep), keep)
    check("the dump has those",
          sorted(spi for _, sas in gw.dump()[0].values() for _, spi in sas), sorted(kept))
    send_sample(2)
    want = [2 if spis[i] in kept else "ENOENT" for i in sample]
    check("ESP for the sample again: SAs kept take it, those deleted are gone",
          wait_for(rx_sample, want), want)
    for i in sample:
        if spis[i] not in kept:
            no_sa_want[tid_of[spis[i]]] = no_sa_want.get(tid_of[spis[i]], 0) + 1
    no_sa_want = dict(sorted(no_sa_want.items()))
    check("ESP for those deleted, which CPUs had cached, is nobody's: "
          "counted on their tunnels", wait_for(no_sa, no_sa_want), no_sa_want)
    out("end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
