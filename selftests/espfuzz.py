#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""ESP on the wire under fuzz, keyed: esptun's inbound SAs' keys are known
here, so the mutations are sealed again and reach the parsing behind the
ICV, not just the ICV check.

  espfuzz.py setup
      Prints the esptun commands (one per line, without "esptun") that give
      esp0 the tunnels and SAs below.
  espfuzz.py run --seed N --count N --iface IF --mac MAC --gw NS --lan NS
                 [--down N] [--verbose] [--trace]
      Sends COUNT datagrams from IF (the peer's end of a veth) to MAC (the
      gateway's end, in netns GW, whose esp0 was moved to netns LAN), then
      checks that every one is accounted for.  With --down, then sends N
      authentic packets with esp0 down.  --verbose prints the fates by
      kind; --trace waits for esptun after each datagram and names the
      first one the model is wrong about (slow).

What is sent, drawn from the seed: authentic packets with their inner
packet mutated (IPv4 and IPv6 header fields, lengths, options, extension
headers, truncation, next header values, pad bytes and pad length, TFC
padding), ESP mutated (ICV, ciphertext, truncation, sequence numbers
replayed, zero, old and far ahead, unknown SPIs, ESN high halves), the
outer header (IPv4 options, IPv6 extension headers, fragments, lengths,
checksums, addresses), ESP in UDP (IKE, NAT keepalives, short datagrams,
checksums, ports), tiny and jumbo packets (sent in outer fragments).

Each frame's fate is predicted by a model of the kernel's receive path
and esptun's: delivered, or one of esptun's drop causes on its tunnel,
dropped silently as RFC 4303 and RFC 3948 want (dummy packets, NAT
keepalives), left to XFRM, or dropped by the IP or UDP layer.  Checks,
from the counters: esptun's per tunnel, SA and device, the link's, the
namespace's IP, UDP and XFRM statistics; each must have moved by what the
model says, and what they count together must be every frame sent.
Dummy packets are counted by the SA's lifetime packets, NAT keepalives by
UdpInDatagrams.  Exits 1 on a difference.
"""
import argparse
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

import esptun_nl
import nlraw
from esptool import csum
from netns import in_netns

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
INNER4, INNER6 = "172.16.0.1", "fd16::1"     # esp0's, in netns lan
# What an SA counts (esptun show --json's names) of esptun's causes.
SA_COUNTERS = {"rx_packets": "packets", "rx_replay": "replay_drops",
               "rx_auth_fail": "auth_failures", "rx_malformed": "malformed"}
CAUSES = ["rx_packets", "rx_replay", "rx_auth_fail", "rx_malformed",
          "rx_no_sa", "rx_drops", "rx_wrong_tunnel", "rx_sa_expired",
          "rx_overload"]


def key_of(spi):
    return bytes((spi * 7 + i * 13) & 0xFF for i in range(20))


class SA:
    def __init__(self, tun, spi, esn=False, window=1024):
        self.tun, self.spi, self.esn, self.window = tun, spi, esn, window
        self.key = key_of(spi)
        self.aead = None
        self.salt = self.key[16:]
        self.nbits = 64
        while self.nbits < window:      # roundup_pow_of_two(max(size, 64))
            self.nbits <<= 1
        self.top = 0
        self.bits = 0
        self.next = 1        # the next fresh sequence number
        self.sent = []       # (seq, esp, plaintext) of what esptun authenticated

    # esptun's anti-replay window (kmod/replay.c), for the model.
    def full_seq(self, lo):
        if not self.esn:
            return lo
        tl, th = self.top & 0xFFFFFFFF, self.top >> 32
        w = max(self.window, 1)
        bottom = (tl - w + 1) & 0xFFFFFFFF
        if tl >= w - 1:
            if lo < bottom:
                th += 1
        elif lo >= bottom and th:
            th -= 1
        return (th << 32) | lo

    def ok(self, seq):
        if not self.window or seq > self.top:
            return True
        if self.top - seq >= self.window:
            return False
        return not self.bits >> (seq & (self.nbits - 1)) & 1

    def check(self, seq):
        return seq != 0 and self.ok(seq)

    def advance(self, seq):
        if not seq or not self.ok(seq):
            return False
        if self.window:
            if seq > self.top and seq - self.top >= self.nbits:
                self.bits = 0
            else:
                for i in range(self.top + 1, seq):
                    self.bits &= ~(1 << (i & (self.nbits - 1)))
            self.bits |= 1 << (seq & (self.nbits - 1))
        if seq > self.top:
            self.top = seq
        return True

    def seal(self, seq, plain):
        if self.aead is None:
            # Not at import: txfuzz.py takes this file's packets, not its
            # keys, and python3-cryptography is slow to load emulated.
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            self.aead = AESGCM(self.key[:16])
        hdr = struct.pack("!II", self.spi, seq & 0xFFFFFFFF)
        aad = hdr if not self.esn else struct.pack("!IQ", self.spi, seq)
        iv = struct.pack("!Q", seq)
        return hdr + iv + self.aead.encrypt(self.salt + iv, plain, aad)


class Tunnel:
    def __init__(self, tid, family, local, remote, encap, pins, sas):
        self.id, self.family, self.local, self.remote = tid, family, local, remote
        self.encap, self.pins = encap, pins
        self.sas = [SA(self, *s) for s in sas]
        self.out_spi = 0x1000 + tid


TUNNELS = [
    Tunnel(1, 4, "10.0.0.1", "10.0.0.2", False, ["172.16.1.1"],
           [(0x2001, False, 64), (0x2011, False, 1024)]),
    Tunnel(2, 4, "10.0.0.1", "10.0.0.3", True, ["172.16.2.1"], [(0x2002, True, 1024)]),
    Tunnel(3, 6, "fd00::1", "fd00::2", False, ["fd17:3::1"], [(0x2003, True, 128)]),
    Tunnel(4, 6, "fd00::1", "fd00::3", True, ["fd17:4::1"], [(0x2004, False, 0)]),
]
SAS = {sa.spi: sa for t in TUNNELS for sa in t.sas}
PINS = {p: t for t in TUNNELS for p in t.pins}


def setup():
    for t in TUNNELS:
        line = "tunnel add esp0 id %d local %s remote %s" % (t.id, t.local, t.remote)
        for p in t.pins:
            line += " pin " + p
        if t.encap:
            line += " encap udp"
        print(line)
        # An outbound SA: the tunnel is up, the inner stack's replies leave.
        print("sa add esp0 tunnel %d dir out spi 0x%x key 0x%s" % (
            t.id, t.out_spi, bytes(range(t.id, t.id + 20)).hex()))
        for sa in t.sas:
            print("sa add esp0 tunnel %d dir in spi 0x%x key 0x%s replay-window %d%s" % (
                t.id, sa.spi, sa.key.hex(), sa.window, " esn" if sa.esn else ""))


def ip6(a):
    return socket.inet_pton(socket.AF_INET6, a)


def ip4(a):
    return socket.inet_pton(socket.AF_INET, a)


# Inner packets ---------------------------------------------------------------

def inner4(rng, src, dst, size=None, proto=None, opts=b""):
    n = size if size is not None else rng.choice([0, 8, 30, 100, 500, 1200])
    proto = proto if proto is not None else rng.choice([1, 17, 6, 50, 253])
    if proto == 1:
        body = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + bytes(n)
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    elif proto == 17:
        body = struct.pack("!HHHH", 5000, 9, 8 + n, 0) + bytes(n)
    else:
        body = bytes(rng.getrandbits(8) for _ in range(min(n, 64))) + bytes(max(n - 64, 0))
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(body), 7, 0, 64,
                      proto, 0, ip4(src), ip4(dst)) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return bytearray(hdr + body)


def inner6(rng, src, dst, size=None, nh=None, ext=None):
    """@ext: (the first extension header's type, the headers), ending in
    @nh."""
    n = size if size is not None else rng.choice([0, 8, 30, 100, 500, 1200])
    nh = nh if nh is not None else rng.choice([58, 17, 59])
    body = struct.pack("!BBHHH", 128, 0, 0, 0x4242, 1) + bytes(n) if nh == 58 else bytes(n)
    first, hdrs = ext if ext else (nh, b"")
    hdr = struct.pack("!IHBB", 6 << 28, len(hdrs) + len(body), first, 64)
    return bytearray(hdr + ip6(src) + ip6(dst) + hdrs + body)


def ext6(rng, last_nh):
    """A chain of IPv6 extension headers ending in @last_nh: (the first
    one's type, the headers)."""
    chain = rng.sample([0, 60, 43, 44], rng.randint(1, 3))
    if 0 in chain:                   # hop-by-hop comes first or not at all
        chain.remove(0)
        chain.insert(0, 0)
    out, types = b"", chain + [last_nh]
    for i, t in enumerate(chain):
        nxt = types[i + 1]
        if t in (0, 60):             # options: PadN and a skippable unknown one
            opts = bytes([1, 2, 0, 0, 0x1E, 0])
            out += bytes([nxt, 0]) + opts
        elif t == 43:
            # A routing header with no segment left is skipped (RFC 8200
            # 4.4); type 2 (mobility) would not be, without MIPv6.
            out += bytes([nxt, 0, 0, 0]) + bytes(4)
        else:                        # an atomic fragment
            out += struct.pack("!BBHI", nxt, 0, 0, rng.getrandbits(32))
    return chain[0], out


def inner_any(rng, tun, src_pool=None):
    """A valid inner packet (IPv4 or IPv6) from the tunnel's peer side."""
    if rng.random() < 0.5:
        src = rng.choice(src_pool or ["172.16.%d.5" % tun.id])
        return inner4(rng, src, INNER4), 4
    src = rng.choice(src_pool or ["fd17:%d::5" % tun.id])
    return inner6(rng, src, INNER6), 41


# The model of what esptun does with what arrives ---------------------------------

def inner_verdict(payload, nh, tun):
    """esptun_rx_inner() and the pin check on a decrypted payload."""
    if nh == 4:
        if len(payload) < 20:
            return "rx_malformed"
        ihl, tot = payload[0] & 15, struct.unpack("!H", payload[2:4])[0]
        if payload[0] >> 4 != 4 or ihl < 5 or tot < ihl * 4 or tot > len(payload):
            return "rx_malformed"
        src = socket.inet_ntop(socket.AF_INET, bytes(payload[12:16]))
    elif nh == 41:
        if len(payload) < 40:
            return "rx_malformed"
        if payload[0] >> 4 != 6 or 40 + struct.unpack("!H", payload[4:6])[0] > len(payload):
            return "rx_malformed"
        src = socket.inet_ntop(socket.AF_INET6, bytes(payload[8:24]))
    else:
        return "rx_malformed"
    if src in PINS and PINS[src] is not tun:
        return "rx_wrong_tunnel"
    return "rx_packets"


class Packet:
    """One ESP packet: the tunnel whose addresses it travels between, its
    bytes, what was done to it, the SA it was sealed for and what the
    model needs to judge it when it arrives (Run.esp_arrives())."""

    def __init__(self, tun, esp, label, sa=None):
        self.tun, self.esp, self.label, self.sa = tun, esp, label, sa
        self.model = None
        self.src = None


def esptun_verdict(sa, esp, seq_lo, full, authentic, plain, encap, family, daddr):
    """What esptun_rx() and esptun_rx_finish() do with ESP for @sa's SPI
    (@esp as it arrives, @plain what it seals, @full the sequence number
    it was sealed with); advances the model's window."""
    tun = sa.tun
    if tun.family != family or tun.local != daddr:
        return None, "xfrm:XfrmInNoStates"
    if encap != tun.encap or len(esp) < 34:
        return tun, "rx_malformed"
    seq = sa.full_seq(seq_lo)
    if not sa.check(seq):
        return tun, "rx_replay"
    # The IV comes from the packet; the AAD has the sequence number's high
    # half only with ESN, the one the window implies.
    if not authentic or (sa.esn and seq != full):
        return tun, "rx_auth_fail"
    if not sa.advance(seq):
        return tun, "rx_replay"
    sa.sent.append((seq, esp, plain))
    padlen, nh = plain[-2], plain[-1]
    if padlen + 2 > len(plain):
        return tun, "rx_malformed"
    if plain[-2 - padlen:-2] != bytes(range(1, padlen + 1)):
        return tun, "rx_malformed"
    sa.life += 1
    if nh == 59:
        return tun, "dummy"
    return tun, inner_verdict(plain[:-2 - padlen], nh, tun)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        for sa in SAS.values():
            sa.life = 0

    def fresh(self, sa):
        """The next sequence number, sometimes with a gap."""
        if self.rng.random() < 0.05:
            sa.next += self.rng.choice([2, 10, 100, 5000])
        seq = sa.next
        sa.next += 1
        return seq

    def esp(self, kind=None):
        """An ESP packet (no IP header) for some tunnel; its fate is the
        model's to decide when it arrives (Run.esp_arrives())."""
        rng = self.rng
        tun = rng.choice(TUNNELS)
        sa = rng.choice(tun.sas)
        kind = kind or rng.choices(
            ["valid", "inner", "trailer", "esp", "seq", "spi", "size"],
            [20, 30, 12, 12, 10, 6, 10])[0]
        seq = self.fresh(sa)
        full, authentic = seq, True
        payload, nh = inner_any(rng, tun)
        padlen = (4 - (len(payload) + 2) % 4) % 4
        pad = bytes(range(1, padlen + 1))
        label = kind
        if kind == "valid":
            if rng.random() < 0.15:       # from another tunnel's pinned peer
                other = rng.choice([t for t in TUNNELS if t is not tun])
                if other.family == 4:
                    payload, nh = inner4(rng, other.pins[0], INNER4), 4
                else:
                    payload, nh = inner6(rng, other.pins[0], INNER6), 41
                label = "pinned-elsewhere"
            elif rng.random() < 0.1:
                payload, nh, label = b"", 59, "dummy"
            elif rng.random() < 0.15:       # TFC padding after the packet
                payload += bytes(rng.randint(1, 100))
                label = "tfc"
            padlen = (4 - (len(payload) + 2) % 4) % 4
            pad = bytes(range(1, padlen + 1))
        elif kind == "inner":
            payload, nh, label = self.mutate_inner(tun)
            padlen = (4 - (len(payload) + 2) % 4) % 4
            pad = bytes(range(1, padlen + 1))
        elif kind == "trailer":
            r = rng.random()
            if r < 0.3:
                padlen = rng.choice([0, 4, 17, 200, 255])
                pad = bytes(range(1, padlen + 1))
                label = "pad%d" % padlen
            elif r < 0.55:
                padlen = rng.choice([1, 3, 8, 255])
                pad = bytearray(range(1, padlen + 1))
                pad[rng.randrange(padlen)] ^= rng.choice([1, 0x80, 0xFF])
                pad = bytes(pad)
                label = "bad-pad-byte"
            elif r < 0.75:
                nh = rng.choice([0, 6, 17, 41 if nh == 4 else 4, 50, 59, 255])
                label = "next%d" % nh
            else:
                # A pad length running past the payload: no pad bytes, the
                # trailer claims more.
                pad = b""
                padlen = rng.choice([min(len(payload) + 1, 255), 254, 255])
                label = "padlen-past"
        elif kind == "size":
            if rng.random() < 0.4:
                payload, nh = (bytes(rng.choice([0, 1, 19, 20])), 4) if rng.random() < 0.5 \
                    else (bytes(rng.choice([0, 39, 40])), 41)
                if len(payload) >= 20 and nh == 4:
                    payload = inner4(rng, "172.16.%d.5" % tun.id, INNER4, size=0, proto=253)
                label = "tiny%d" % len(payload)
            else:
                size = rng.choice([1400, 1500, 3000, 9000, 30000, 64000])
                if rng.random() < 0.5:
                    payload, nh = inner4(rng, "172.16.%d.5" % tun.id, INNER4, size=size, proto=17), 4
                else:
                    payload, nh = inner6(rng, "fd17:%d::5" % tun.id, INNER6, size=size, nh=17), 41
                label = "jumbo%d" % len(payload)
            padlen = (4 - (len(payload) + 2) % 4) % 4
            pad = bytes(range(1, padlen + 1))
        plain = bytes(payload) + pad + bytes([padlen, nh])
        if kind == "trailer" and label == "padlen-past":
            plain = bytes(payload) + bytes([padlen & 0xFF, nh])
        if kind == "seq":
            r = rng.random()
            # With ESN, where a sequence number falls decides which high
            # half esptun infers, from the window as the packets before
            # left it: under emulation some of those are still being
            # decrypted, so stay clear of the window's bottom by far more
            # than are ever in flight.
            safe = [x for x in sa.sent[-300:] if not sa.esn or
                    sa.top - x[0] < sa.window // 2 or sa.top - x[0] > sa.window + 1000]
            if r < 0.3 and safe:
                old_seq, old, old_plain = rng.choice(safe)
                return self.verdict(sa, old_seq & 0xFFFFFFFF, old_seq, True, old_plain,
                                    "replay", raw=old)
            if r < 0.45:
                seq = full = 0
                label = "seq0"
            elif r < 0.7:
                below = rng.randint(0, 50) + (1000 if sa.esn else 0)
                seq = full = max(sa.top - sa.window - below, 1) if sa.window else 1
                label = "old"
            elif r < 0.85:
                jump = rng.choice([1000, 100000, 2**31])
                if not sa.esn and sa.next + jump > 2**32 - 10**5:
                    jump = 1000     # a sequence space without ESN ends
                seq = full = sa.next + jump
                sa.next = full + 1
                label = "far"
            elif sa.esn:
                # The high half the window implies, and one it does not.
                full = ((sa.top >> 32) + rng.choice([0, 1, 2])) << 32 | (seq & 0xFFFFFFFF)
                label = "esn-high"
            else:
                label = "fresh"
        esp = sa.seal(full, plain)
        if kind == "esp":
            b = bytearray(esp)
            r = rng.random()
            if r < 0.3:
                b[-1 - rng.randrange(16)] ^= 1 << rng.randrange(8)
                label, authentic = "icv-flip", False
            elif r < 0.55 and len(b) > 32:
                b[16 + rng.randrange(len(b) - 32)] ^= 1 << rng.randrange(8)
                label, authentic = "ciphertext-flip", False
            elif r < 0.7:
                b[8 + rng.randrange(8)] ^= 0x10
                label, authentic = "iv-flip", False
            else:
                cut = rng.choice([8, 9, 16, 20, 33, 34, 40, len(b) - 1])
                b = b[:min(cut, len(b) - 1)]
                label, authentic = "truncated%d" % len(b), False
            esp = bytes(b)
        if kind == "spi":
            r = rng.random()
            spi = rng.choice([0x9999, 0xdead, 0x2001 if tun.id != 1 else 0x2002,
                              0x2003 if tun.id != 3 else 0x2004])
            b = struct.pack("!I", spi) + esp[4:]
            if spi in SAS:
                # Another tunnel's SA: esptun finds it, then the addresses or
                # the ICV (another SPI in the AAD) decide.
                return self.verdict(SAS[spi], seq & 0xFFFFFFFF, -1, False, plain,
                                    "spi-of-%d" % SAS[spi].tun.id, raw=b, via=tun)
            return Packet(tun, b, "spi-unknown")
        return self.verdict(sa, seq & 0xFFFFFFFF, full, authentic, plain, label, raw=esp)

    def verdict(self, sa, seq_lo, full, authentic, plain, label, raw, via=None):
        """A packet whose fate the model decides on arrival, once the
        outer header (chosen later) is known to let it reach esptun."""
        p = Packet(via or sa.tun, raw, label, sa)
        p.model = (seq_lo, full, authentic, plain)
        return p

    def mutate_inner(self, tun):
        rng = self.rng
        src4, src6 = "172.16.%d.5" % tun.id, "fd17:%d::5" % tun.id
        if rng.random() < 0.55:
            opts = b""
            if rng.random() < 0.3:
                opts = rng.choice([bytes([1, 1, 1, 0]), bytes([7, 7, 4]) + bytes(4) + bytes(1),
                                   bytes([68, 12, 5, 0]) + bytes(8), bytes([148, 4, 0, 0]),
                                   bytes([7, 1, 0, 0]), bytes([0x99, 40, 0, 0])])
                opts += bytes((4 - len(opts) % 4) % 4)
            p = inner4(rng, src4, INNER4, opts=opts)
            field = rng.choice(["version", "ihl", "tot_len", "proto", "frag", "ttl",
                                "csum", "src", "truncate", "grow", "opts"])
            if field == "version":
                p[0] = (rng.choice([0, 5, 6, 15]) << 4) | (p[0] & 15)
            elif field == "ihl":
                p[0] = 0x40 | rng.choice([0, 1, 4, 6, 15])
            elif field == "tot_len":
                p[2:4] = struct.pack("!H", rng.choice([0, 19, 20, len(p) - 1, len(p) + 1,
                                                       0xFFFF, (p[0] & 15) * 4 - 1]))
            elif field == "proto":
                p[9] = rng.choice([0, 4, 41, 50, 51, 132, 255])
            elif field == "frag":
                p[6:8] = struct.pack("!H", rng.choice([0x2000, 0x2001, 0x1FFF, 0x4000 | 5]))
            elif field == "ttl":
                p[8] = rng.choice([0, 1])
            elif field == "csum":
                p[10] ^= 0xFF
            elif field == "src":
                p[12:16] = ip4(rng.choice(["0.0.0.0", "255.255.255.255", "224.0.0.1",
                                           "127.0.0.1", INNER4, "172.16.2.1"]))
            elif field == "truncate":
                p = p[:rng.choice([1, 10, 19, 20, 25, max(len(p) - 3, 1)])]
            elif field == "grow":
                p += bytes(rng.randint(1, 64))
            return p, rng.choice([4, 4, 4, 41]) if field != "truncate" else 4, "inner4-" + field
        nh6 = rng.choice([58, 17, 59])
        p = inner6(rng, src6, INNER6, nh=nh6,
                   ext=ext6(rng, nh6) if rng.random() < 0.5 else None)
        field = rng.choice(["version", "plen", "nexthdr", "hop", "truncate", "grow",
                            "src", "ext"])
        if field == "version":
            p[0] = (rng.choice([0, 4, 7, 15]) << 4) | (p[0] & 15)
        elif field == "plen":
            p[4:6] = struct.pack("!H", rng.choice([0, max(len(p) - 41, 0), len(p) - 39, 0xFFFF]))
        elif field == "nexthdr":
            p[6] = rng.choice([0, 4, 41, 43, 44, 50, 59, 60, 135, 255])
        elif field == "hop":
            p[7] = 0
        elif field == "truncate":
            p = p[:rng.choice([1, 20, 39, 40, 45])]
        elif field == "grow":
            p += bytes(rng.randint(1, 64))
        elif field == "src":
            p[8:24] = ip6(rng.choice(["::", "ff02::1", "::1", INNER6, "fd17:3::1"]))
        elif field == "ext" and len(p) > 41:
            p[40 + rng.randrange(min(len(p) - 40, 16))] = rng.getrandbits(8)
        return p, rng.choice([41, 41, 41, 4]), "inner6-" + field


# Outer headers and frames --------------------------------------------------------

def frag_size(rng, n, most):
    """Fragment payloads: multiples of 8, small ones for small datagrams,
    never more than 48 fragments."""
    size = rng.choice([64, 512, most] + ([8] if n < 200 else []))
    while n > 48 * size and size < most:
        size = min(size * 2, most)
    return size


def frame(mac_dst, mac_src, ethertype, data):
    return mac_dst + mac_src + struct.pack("!H", ethertype) + data


class Wire:
    """Outer headers around ESP (or ESP in UDP), as frames, and the
    stack's verdict on them."""

    def __init__(self, rng, mac_dst, mac_src):
        self.rng, self.dst, self.src = rng, mac_dst, mac_src
        self.ident = 1

    def udp(self, family, src, dst, sport, dport, payload, bad_csum=False, zero=False):
        uh = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        if family == 4 and (zero or not bad_csum) and self.rng.random() < 0.5 and not bad_csum:
            return uh        # IPv4 allows no checksum (RFC 3948 allows it)
        if family == 4:
            pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(uh))
        else:
            pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(uh), 17)
        c = csum(pseudo + uh) or 0xFFFF
        if bad_csum:
            c ^= 0x5A5A
        return uh[:6] + struct.pack("!H", c) + uh[8:]

    def ipv4(self, src, dst, proto, payload, opts=b"", tos=0, bad_csum=False,
             claim=None, frag=None):
        ihl = 5 + len(opts) // 4
        tot = 4 * ihl + len(payload) if claim is None else claim
        off = 0 if frag is None else frag
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, tot, self.ident, off, 64,
                          proto, 0, ip4(src), ip4(dst)) + opts
        c = csum(hdr) ^ (0x1234 if bad_csum else 0)
        return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload

    def frames4(self, src, dst, proto, payload, how):
        """Frames for one IPv4 datagram and the stack's verdict on it."""
        rng = self.rng
        self.ident += 1
        e = lambda d: frame(self.dst, self.src, ETH_P_IP, d)
        if how == "plain":
            return [e(self.ipv4(src, dst, proto, payload, tos=rng.choice([0, 0, 3, 0xB8])))], None
        if how == "options":
            opts = rng.choice([bytes([1, 1, 1, 0]), bytes([7, 7, 4]) + bytes(4) + b"\0",
                               bytes([68, 12, 5, 0]) + bytes(8), bytes([148, 4, 0, 0]),
                               bytes([0x99, 4, 1, 2])])
            return [e(self.ipv4(src, dst, proto, payload, opts=opts))], None
        if how == "bad-option":
            return [e(self.ipv4(src, dst, proto, payload, opts=bytes([7, 1, 0, 0])))], \
                ["Ip:InHdrErrors"]
        if how == "bad-csum":
            return [e(self.ipv4(src, dst, proto, payload, bad_csum=True))], \
                ["Ip:InHdrErrors", "IpExt:InCsumErrors"]
        if how == "truncated":
            return [e(self.ipv4(src, dst, proto, payload, claim=20 + len(payload) + 8))], \
                ["IpExt:InTruncatedPkts"]
        if how == "not-local":
            return [e(self.ipv4(src, "10.0.0.77", proto, payload))], ["Ip:InAddrErrors"]
        # Fragments, in some order, each within the path's 1500 bytes.
        size = frag_size(rng, len(payload), 1480)
        pieces, off = [], 0
        while off < len(payload):
            n = min(size, len(payload) - off)
            more = off + n < len(payload)
            pieces.append(e(self.ipv4(src, dst, proto, payload[off:off + n],
                                      frag=(off // 8) | (0x2000 if more else 0))))
            off += n
        if len(pieces) > 1 and rng.random() < 0.3:
            rng.shuffle(pieces)
        return pieces, None

    def ipv6(self, src, dst, nh, payload, ext=b"", claim=None):
        first = nh if not ext else self.ext_first
        plen = len(ext) + len(payload) if claim is None else claim
        # One traffic class for all fragments: mixed ECN fails reassembly.
        return struct.pack("!IHBB", 6 << 28 | self.tclass << 20, plen,
                           first, 64) + ip6(src) + ip6(dst) + ext + payload

    def frames6(self, src, dst, nh, payload, how):
        rng = self.rng
        self.tclass = rng.choice([0, 0, 0x2E])
        e = lambda d: frame(self.dst, self.src, ETH_P_IPV6, d)
        if how == "plain":
            return [e(self.ipv6(src, dst, nh, payload))], None
        if how == "options":
            self.ext_first, ext = ext6(rng, nh)
            return [e(self.ipv6(src, dst, nh, payload, ext=ext))], None
        if how == "bad-option":
            # An unknown option whose type says: drop, send a parameter problem.
            ext = bytes([nh, 0, 0x9E, 4, 0, 0, 0, 0])
            self.ext_first = rng.choice([0, 60])
            return [e(self.ipv6(src, dst, nh, payload, ext=ext))], \
                ["Ip6:InHdrErrors", "Icmp6:OutParmProblems"]
        if how in ("bad-csum", "truncated"):
            return [e(self.ipv6(src, dst, nh, payload, claim=len(payload) + 8))], \
                ["Ip6:InTruncatedPkts"]
        if how == "not-local":
            return [e(self.ipv6(src, "fd00::77", nh, payload))], ["Ip6:InAddrErrors"]
        size = frag_size(rng, len(payload), 1448)
        ident = rng.getrandbits(32)
        pieces, off = [], 0
        while off < len(payload):
            n = min(size, len(payload) - off)
            more = off + n < len(payload)
            fh = struct.pack("!BBHI", nh, 0, off | (1 if more else 0), ident)
            self.ext_first = 44
            pieces.append(e(self.ipv6(src, dst, nh, payload[off:off + n], ext=fh)))
            off += n
        if len(pieces) > 1 and rng.random() < 0.3:
            rng.shuffle(pieces)
        return pieces, None


# Counters -------------------------------------------------------------------------

def snmp(ns):
    """The namespace's IP, ICMP, UDP and XFRM statistics: 'Ip:InHdrErrors'."""
    out = {}
    text = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                          capture_output=True, text=True).stdout.splitlines()
    text += [l for l in subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/netstat"],
                                       capture_output=True, text=True).stdout.splitlines()
             if l.startswith("IpExt:")]
    for names, values in zip(text[0::2], text[1::2]):
        proto = names.split(":")[0]
        for n, v in zip(names.split()[1:], values.split()[1:]):
            out["%s:%s" % (proto, n)] = int(v)
    for f, prefix in (("/proc/net/snmp6", None), ("/proc/net/xfrm_stat", "xfrm")):
        text = subprocess.run(["ip", "netns", "exec", ns, "cat", f],
                              capture_output=True, text=True).stdout.splitlines()
        for line in text:
            parts = line.split()
            if len(parts) != 2:
                continue
            n, v = parts
            if prefix:
                out["xfrm:" + n] = int(v)
            else:
                for p in ("Ip6", "Icmp6", "Udp6"):
                    if n.startswith(p) and not n.startswith(p + "Lite"):
                        out["%s:%s" % (p, n[len(p):])] = int(v)
                        break
    return out


def attrs(data, set_name):
    """A reply's attributes by the spec's names; multi-attributes (tunnel,
    sa) as lists."""
    out = {}
    byname = {v[0]: (k, v[1], v[2]) for k, v in esptun_nl.SETS[set_name].items()}
    for t, v in attr_list(data):
        if t not in byname:
            continue
        name, typ, nested = byname[t]
        if typ == "nest":
            val = attrs(v, nested)
        elif typ in ("u64", "u32", "u16", "u8"):
            val = int.from_bytes(v, sys.byteorder)
        elif typ in ("be32", "be16"):
            val = int.from_bytes(v, "big")
        else:
            val = v
        if name in ("tunnel", "sa"):
            out.setdefault(name, []).append(val)
        else:
            out[name] = val
    return out


def attr_list(data):
    """Attributes' (type, payload) pairs, in order, repeated ones each."""
    while len(data) >= 4:
        alen, atype = struct.unpack("=HH", data[:4])
        if alen < 4:
            return
        yield atype & 0x3FFF, data[4:alen]
        data = data[(alen + 3) & ~3:]


class Counters:
    """esptun's counters for esp0 in netns @lan, over netlink (quick
    enough to poll), and the link's from ip -s."""

    def __init__(self, lan):
        self.lan = lan
        self.genl = in_netns(lan, nlraw.Genl)
        self.fam = self.genl.family(esptun_nl.FAMILY)

    def esptun(self):
        err, _, replies = self.genl.request(
            self.fam, esptun_nl.OPS["dev-get"],
            nlraw.attr(esptun_nl.SETS["esptun"]["ifname"][0], b"esp0\0"), nlraw.NLM_F_ACK)
        if err:
            raise OSError(-err, "DEV_GET esp0")
        dev = attrs(replies[0][4:], "esptun")
        name = lambda k: k.replace("-", "_")
        out = {"dev:" + name(k): v for k, v in dev.get("stats", {}).items()
               if k.startswith("rx-")}
        for t in dev.get("tunnel", []):
            st = t.get("stats", {})
            for c in CAUSES:
                out["t%d:%s" % (t["id"], c)] = st.get(c.replace("_", "-"), 0)
            for sa in t.get("sa", []):
                if sa["dir"] != esptun_nl.ENUMS["sa-dir"]["in"]:
                    continue
                sst = sa.get("stats", {})
                out["sa%x:life" % sa["spi"]] = sa.get("packets", 0)
                for c, j in SA_COUNTERS.items():
                    out["sa%x:%s" % (sa["spi"], j)] = sst.get(c.replace("_", "-"), 0)
        return out

    def all(self):
        out = self.esptun()
        link = json.loads(subprocess.run(["ip", "-n", self.lan, "-s", "-j", "link", "show",
                                          "esp0"], capture_output=True,
                                         text=True).stdout)[0]["stats64"]["rx"]
        out["link:packets"], out["link:dropped"], out["link:errors"] = \
            link["packets"], link["dropped"], link["errors"]
        return out


# Running -------------------------------------------------------------------------

OUTER = ["plain", "plain", "plain", "plain", "options", "fragments", "bad-option",
         "bad-csum", "truncated", "not-local"]
UDP_ODD = ["ike", "keepalive", "short", "bad-csum", "other-port", "other-source-port"]


class Run:
    def __init__(self, args):
        self.args = args
        self.gen = Gen(args.seed)
        self.rng = self.gen.rng
        mac = bytes.fromhex(args.mac.replace(":", ""))
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((args.iface, 0))
        own = self.sock.getsockname()[4]
        self.wire = Wire(self.rng, mac, own)
        self.expect = {}
        self.frames = self.datagrams = 0
        self.labels = {}
        self.counters = Counters(args.lan)

    def want(self, key, n=1):
        self.expect[key] = self.expect.get(key, 0) + n

    def account(self, tun, out, p, how):
        """One datagram's fate: counters that must move."""
        if out.startswith(("xfrm:", "Ip", "Udp", "Icmp")):
            self.want(out)
        elif out in ("dummy", "natka"):
            self.want(out)
        else:
            self.want("t%d:%s" % (tun.id, out))
            if out != "rx_packets":
                self.want("dev:" + out)
            sa = getattr(p, "used_sa", None)
            if sa is not None and out in SA_COUNTERS:
                self.want("sa%x:%s" % (sa.spi, SA_COUNTERS[out]))
        sa = getattr(p, "used_sa", None)
        self.last = "%s %s -> %s%s" % (p.label, how, out, "" if sa is None else
                                       " (SA %x, window top before %d, seq %s)" % (
                                           sa.spi, p.top_before, p.model[:3]))
        k = "%-22s %-10s -> %s" % (p.label, how, out)
        self.labels[k] = self.labels.get(k, 0) + 1

    def esp_arrives(self, p, body, encap, family, daddr):
        """ESP (the UDP header gone, for ESP in UDP) reaches esptun's
        handler: its fate."""
        if len(body) < 8:
            # Not even an SPI: esptun passes it on, XFRM counts it.
            return None, "xfrm:XfrmInHdrError"
        spi = struct.unpack("!I", body[:4])[0]
        sa = SAS.get(spi)
        if sa is None:
            for t in TUNNELS:
                if t.family == family and t.local == daddr and t.remote == p.src:
                    return t, "rx_no_sa"
            return None, "xfrm:XfrmInNoStates"
        seq_lo, full, authentic, plain = p.model
        if body != p.esp:
            authentic = False
        p.used_sa = sa
        p.top_before = sa.top
        return esptun_verdict(sa, body, seq_lo, full, authentic, plain, encap,
                              family, daddr)

    def one(self):
        """Frames for one datagram; its fate into self.expect."""
        rng = self.rng
        p = self.gen.esp()
        sa = p.sa
        self.sensitive = sa is not None and sa.esn and (
            p.label in ("replay", "old", "esn-high", "seq0", "far") or
            p.label.startswith("spi-of"))
        tun = p.tun
        if p.model is None:
            p.model = (0, 0, False, b"")
        fam = tun.family
        p.src, dst = tun.remote, tun.local
        how = rng.choice(OUTER)
        encap = tun.encap if rng.random() > 0.12 else not tun.encap
        odd = rng.choice(UDP_ODD) if encap and rng.random() < 0.15 else None
        body = p.esp
        if encap:
            if odd == "ike":
                body = bytes(4) + p.esp[4:]
            elif odd == "keepalive":
                body = b"\xff"
            elif odd == "short":
                body = p.esp[:rng.choice([0, 2, 4, 8])]
            sport = 14500 if odd == "other-source-port" else 4500
            dport = 4501 if odd == "other-port" else 4500
            payload = self.wire.udp(fam, p.src, dst, sport, dport, body,
                                    bad_csum=odd == "bad-csum")
            proto = 17
        else:
            payload, proto = body, 50
        if len(payload) + 48 > 1500:
            how = "fragments"       # the path's MTU is 1500
        if fam == 4:
            frames, stack = self.wire.frames4(p.src, dst, proto, payload, how)
        else:
            frames, stack = self.wire.frames6(p.src, dst, proto, payload, how)
        self.frames += len(frames)
        self.datagrams += 1
        if odd:
            how += "/udp-" + odd
        elif encap:
            how += "/udp"
        if stack:
            # The IP layer drops it: esptun never sees it.
            for c in stack[1:]:
                self.want(c)
            self.account(tun, stack[0], p, how)
            return frames
        if encap:
            v6 = "Udp6" if fam == 6 else "Udp"
            if odd == "bad-csum":
                self.want(v6 + ":InCsumErrors")
                self.account(tun, v6 + ":InErrors", p, how)
                return frames
            if odd == "other-port":
                self.account(tun, v6 + ":NoPorts", p, how)
                return frames
            # esptun's socket takes every datagram to its port.
            self.want(v6 + ":InDatagrams")
            if len(body) == 1 and body[0] == 0xFF:
                out = (tun, "natka")
            elif len(body) <= 8:
                out = (tun, "rx_malformed")
            elif body[:4] == bytes(4):
                out = (tun, "rx_drops")     # IKE, and no IKE daemon
            else:
                out = self.esp_arrives(p, body, True, fam, dst)
        else:
            out = self.esp_arrives(p, body, False, fam, dst)
        self.account(out[0], out[1], p, how)
        return frames

    def send(self, frames):
        for f in frames:
            self.sock.send(f)

    def trace_one(self, e0):
        """Send one datagram, wait for esptun, compare its counters: names
        the first datagram the model is wrong about."""
        self.send(self.one())
        self.drain(e0, timeout=5)
        e1 = self.counters.esptun()
        for k in sorted(k for k in e1 if k[0] in "ts" and not k.endswith(":life")):
            if e1[k] - e0.get(k, 0) != self.expect.get(k, 0):
                print("# espfuzz: trace: datagram %d, %s moved by %d, expected %d (%s)" % (
                    self.datagrams, k, e1[k] - e0.get(k, 0), self.expect.get(k, 0),
                    self.last), flush=True)
                for k2 in e1:
                    if k2[0] in "ts" and not k2.endswith(":life"):
                        self.expect[k2] = e1[k2] - e0.get(k2, 0)
                break

    def settle(self, before, timeout=60):
        """Counters once esptun has counted what was sent (all of them)."""
        self.drain(before, timeout)
        time.sleep(0.2)
        return self.counters.all()

    def tunnel_total(self):
        return sum(v for k, v in self.expect.items() if k[0] == "t")

    def drain(self, before, timeout=60, want=None):
        """Until esptun's tunnels have counted what the model says they
        will (@want of it): nothing of what was sent is in flight."""
        deadline = time.monotonic() + timeout
        want = self.tunnel_total() if want is None else want
        while True:
            now = self.counters.esptun()
            got = sum(now[k] - before.get(k, 0) for k in now if k[0] == "t")
            if got >= want or time.monotonic() > deadline:
                return
            time.sleep(0.01)


# Stack counters that count a datagram's end, and those that only must not
# move unless the model says so.
ENDS = ["Ip:InHdrErrors", "Ip:InAddrErrors", "IpExt:InTruncatedPkts", "Ip6:InHdrErrors",
        "Ip6:InAddrErrors", "Ip6:InTruncatedPkts",
        "Udp:InErrors", "Udp6:InErrors", "Udp:NoPorts", "Udp6:NoPorts",
        "xfrm:XfrmInNoStates", "xfrm:XfrmInHdrError"]
QUIET = ENDS + ["Ip:InDiscards", "Ip:InUnknownProtos", "Ip:ReasmFails", "IpExt:InCsumErrors",
                "Icmp6:OutParmProblems",
                "Ip6:InDiscards", "Ip6:ReasmFails", "Ip6:InUnknownProtos",
                "Udp:InCsumErrors", "Udp6:InCsumErrors", "Udp:InDatagrams",
                "Udp6:InDatagrams", "Udp:RcvbufErrors", "Udp6:RcvbufErrors", "xfrm:"]


def main(argv):
    if argv and argv[0] == "setup":
        setup()
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--mac", required=True)
    ap.add_argument("--gw", required=True)
    ap.add_argument("--lan", required=True)
    ap.add_argument("--down", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--trace", action="store_true",
                    help="one datagram at a time, the counters checked after each (slow)")
    args = ap.parse_args(argv)
    r = Run(args)
    findings = []
    t0 = time.monotonic()
    s0, e0 = snmp(args.gw), r.counters.all()
    batch = []
    for _ in range(args.count):
        if args.trace:
            r.trace_one(e0)
            continue
        sent_before = r.tunnel_total()
        frames = r.one()
        if r.sensitive:
            # Which high half esptun infers for ESN depends on the window
            # as the packets before left it: those must be done first.
            r.send(batch)
            batch = []
            r.drain(e0, want=sent_before)
            r.send(frames)
            continue
        batch += frames
        if len(batch) >= 32:
            r.send(batch)
            batch = []
            # Never further ahead of esptun than a few hundred: a full
            # ring (1024 a CPU) would drop (rx_drops) what the model
            # cannot predict, on a slow or busy host too.
            if r.datagrams % 256 < 32:
                r.drain(e0)
            else:
                time.sleep(0.01)
    r.send(batch)
    e1 = r.settle(e0)
    s1 = snmp(args.gw)
    dt = time.monotonic() - t0
    life_model = sum(sa.life for sa in SAS.values())

    def d(k):
        a, b = (e0, e1) if k in e1 or k in e0 else (s0, s1)
        return b.get(k, 0) - a.get(k, 0)

    # Every counter the model names, and the quiet ones, moved as it says.
    keys = set(r.expect) | {k for k in e1 if k[0] == "t" or k.startswith("dev:") or
                            k.startswith("sa") and not k.endswith(":life")}
    keys |= {k for k in set(s0) | set(s1) if any(k.startswith(q) for q in QUIET)}
    for k in sorted(keys - {"dummy", "natka"}):
        if d(k) != r.expect.get(k, 0):
            findings.append("%s: moved by %d, expected %d" % (k, d(k), r.expect.get(k, 0)))
    # The link's counters, which the README defines from esptun's.
    link = {
        "link:packets": sum(v for k, v in r.expect.items() if k.endswith(":rx_packets")),
        "link:errors": sum(r.expect.get("dev:" + c, 0) for c in
                           ("rx_auth_fail", "rx_malformed", "rx_wrong_tunnel")),
        "link:dropped": sum(r.expect.get("dev:" + c, 0) for c in
                            ("rx_replay", "rx_no_sa", "rx_drops", "rx_overload")),
    }
    for k, v in link.items():
        if d(k) != v:
            findings.append("%s: moved by %d, expected %d" % (k, d(k), v))
    # Dummies are counted by nothing but the SA's lifetime (authentic,
    # good trailer), NAT keepalives by nothing but UdpInDatagrams: both
    # checked above or here against the model, then in the sum.
    life = sum(d(k) for k in e1 if k.endswith(":life"))
    if life != life_model:
        findings.append("SA lifetimes counted %d packets, expected %d" % (life, life_model))
    esptun_total = sum(d(k) for k in e1 if k[0] == "t")
    stack_total = sum(d(k) for k in ENDS)
    silent = r.expect.get("dummy", 0) + r.expect.get("natka", 0)
    total = esptun_total + stack_total + silent
    print("# espfuzz: seed %d: %d datagrams (%d frames) in %.0f s" % (
        args.seed, r.datagrams, r.frames, dt))
    print("# espfuzz: esptun counted %d: %s" % (esptun_total, ", ".join(
        "%s %d" % (c, sum(d("t%d:%s" % (t.id, c)) for t in TUNNELS)) for c in CAUSES)))
    print("# espfuzz: silent (RFC 4303 2.6, RFC 3948 2.2): %d dummy packets (SA lifetimes: "
          "%d authentic, good trailer), %d NAT keepalives" % (
              r.expect.get("dummy", 0), life, r.expect.get("natka", 0)))
    print("# espfuzz: before esptun, %d: %s" % (stack_total, ", ".join(
        "%s %d" % (k, d(k)) for k in ENDS if d(k))))
    print("# espfuzz: accounted for: %d of %d datagrams sent" % (total, r.datagrams))
    if total != r.datagrams:
        findings.append("%d datagrams sent, %d accounted for" % (r.datagrams, total))
    if args.verbose or findings:
        for k, v in sorted(r.labels.items()):
            print("#   %-60s %d" % (k, v))
    if args.down:
        findings += down_phase(r, args)
    for f in findings:
        print("# espfuzz: FINDING: " + f)
    return 1 if findings else 0


def down_phase(r, args):
    """Authentic packets for a device that is down: esptun drops and counts
    them (rx_drops), once, and its tunnel does not count them delivered."""
    subprocess.run(["ip", "-n", args.lan, "link", "set", "esp0", "down"], check=True)
    e0 = r.counters.all()
    frames = []
    tun = TUNNELS[0]
    sa = tun.sas[1]
    for _ in range(args.down):
        seq = r.gen.fresh(sa)
        payload, nh = inner4(r.rng, "172.16.1.5", INNER4, size=20, proto=17), 4
        padlen = (4 - (len(payload) + 2) % 4) % 4
        esp = sa.seal(seq, bytes(payload) + bytes(range(1, padlen + 1)) + bytes([padlen, nh]))
        sa.advance(seq)
        f, _ = r.wire.frames4(tun.remote, tun.local, 50, esp, "plain")
        frames += f
    r.send(frames)
    time.sleep(1)
    e1 = r.counters.all()
    subprocess.run(["ip", "-n", args.lan, "link", "set", "esp0", "up"], check=True)
    d = lambda k: e1.get(k, 0) - e0.get(k, 0)
    n = args.down
    out = []
    got = (d("t1:rx_packets"), d("t1:rx_drops"), d("dev:rx_drops"), d("link:dropped"),
           d("sa%x:packets" % sa.spi))
    print("# espfuzz: %d authentic packets with esp0 down: tunnel rx_packets %d, rx_drops "
          "%d, device rx_drops %d, link rx_dropped %d, SA packets %d" % ((n,) + got))
    if got != (0, n, n, n, 0):
        out.append("esp0 down: tunnel rx_packets, rx_drops, device rx_drops, link "
                   "rx_dropped, SA packets moved by %s, expected %s" % (got, (0, n, n, n, 0)))
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
