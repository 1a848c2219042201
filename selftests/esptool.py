#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""ESP packets for the esptun selftests: capture them off an interface, send
raw ones, and build authentic ones (RFC 4303/4106 AES-GCM) with chosen
trailers, the way no correct stack would.

  esptool.py capture IFACE COUNT SECONDS [READY]
      Prints one JSON object per ESP packet seen on IFACE (outer IPv4 or
      IPv6): family, src, dst, tos, df, ttl, spi, seq, len, esp (hex),
      outgoing; creates the file READY once listening.
  esptool.py send DST HEX... [--every SECONDS]
      Sends the ESP payloads HEX (no IP header) to DST over a raw IP
      socket, SECONDS apart (default 0).
  esptool.py build KEY SPI SEQ [--inner v4|v6|dummy] [--pad N] [--bad-pad]
                   [--next N] [--src A --dst B] [--count N]
      Prints the hex of an authentic ESP payload: an ICMP echo from SRC to
      DST (inner), padded with N bytes (default: minimal), with a wrong
      padding byte or next-header value when asked; with --count, N of
      them, a line each, from sequence number SEQ on.
  esptool.py open KEY HEX
      Authenticates and decrypts the ESP payload HEX (no ESN) and prints
      JSON: next (next header), pad (padding length), payload (its length);
      exits 1 if the ICV does not verify.
"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def capture(iface, count, seconds, ready=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    if ready:
        open(ready, "w").close()
    end = time.time() + seconds
    seen = 0
    while seen < count and time.time() < end:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        proto = addr[1]
        pkt = frame[14:] if addr[3] == 1 else frame  # ARPHRD_ETHER: strip
        if proto == 0x0800 and len(pkt) >= 20 and pkt[9] == 50:
            ihl = (pkt[0] & 15) * 4
            rec = {"family": 4, "src": socket.inet_ntop(socket.AF_INET, pkt[12:16]),
                   "dst": socket.inet_ntop(socket.AF_INET, pkt[16:20]),
                   "tos": pkt[1], "df": bool(pkt[6] & 0x40), "ttl": pkt[8]}
            esp = pkt[ihl:struct.unpack("!H", pkt[2:4])[0]]
        elif proto == 0x86DD and len(pkt) >= 40 and pkt[6] == 50:
            tc = ((pkt[0] & 15) << 4) | (pkt[1] >> 4)
            rec = {"family": 6, "src": socket.inet_ntop(socket.AF_INET6, pkt[8:24]),
                   "dst": socket.inet_ntop(socket.AF_INET6, pkt[24:40]),
                   "tos": tc, "df": True, "ttl": pkt[7]}
            esp = pkt[40:40 + struct.unpack("!H", pkt[4:6])[0]]
        else:
            continue
        rec["spi"], rec["seq"] = struct.unpack("!II", esp[:8])
        rec["len"] = len(esp)
        rec["esp"] = esp.hex()
        rec["outgoing"] = addr[2] == socket.PACKET_OUTGOING
        print(json.dumps(rec), flush=True)
        seen += 1
    return 0


def send(dst, argv):
    every = 0.0
    if len(argv) > 2 and argv[-2] == "--every":
        every, argv = float(argv[-1]), argv[:-2]
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_RAW, 50)
    for i, hexdata in enumerate(argv):
        if i and every:
            time.sleep(every)
        s.sendto(bytes.fromhex(hexdata), (dst, 0))
    s.close()
    return 0


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def inner_packet(kind, src, dst):
    if kind == "dummy":
        return b"\0" * 16, 59
    if kind == "v4":
        icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"esptun-selftest!"
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1,
                          0, socket.inet_pton(socket.AF_INET, src),
                          socket.inet_pton(socket.AF_INET, dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + icmp, 4
    s6 = socket.inet_pton(socket.AF_INET6, src)
    d6 = socket.inet_pton(socket.AF_INET6, dst)
    icmp = struct.pack("!BBHHH", 128, 0, 0, 0x4242, 1) + b"esptun-selftest!"
    pseudo = s6 + d6 + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
    hdr = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + s6 + d6
    return hdr + icmp, 41


def build(argv):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = bytes.fromhex(argv[0][2:] if argv[0].startswith("0x") else argv[0])
    spi, seq = int(argv[1], 0), int(argv[2], 0)
    opts = {"--inner": "v4", "--pad": None, "--next": None,
            "--src": "172.16.1.1", "--dst": "172.16.0.1", "--count": "1"}
    bad_pad = False
    rest = argv[3:]
    while rest:
        if rest[0] == "--bad-pad":
            bad_pad = True
            rest = rest[1:]
        else:
            opts[rest[0]] = rest[1]
            rest = rest[2:]
    payload, nexthdr = inner_packet(opts["--inner"], opts["--src"], opts["--dst"])
    if opts["--next"] is not None:
        nexthdr = int(opts["--next"], 0)
    padlen = (4 - (len(payload) + 2) % 4) % 4
    if opts["--pad"] is not None:
        padlen = int(opts["--pad"], 0)
    pad = bytearray(range(1, padlen + 1))
    if bad_pad and padlen:
        pad[-1] ^= 0xFF
    plain = payload + bytes(pad) + bytes([padlen, nexthdr])
    aead = AESGCM(key[:-4])
    for n in range(seq, seq + int(opts["--count"], 0)):
        iv = struct.pack("!Q", n)
        hdr = struct.pack("!II", spi, n & 0xFFFFFFFF)
        # RFC 4106 5: the AAD is SPI || sequence number; the IV is not in it.
        sealed = aead.encrypt(key[-4:] + iv, plain, hdr)
        print((hdr + iv + sealed).hex())
    return 0


def open_esp(key, hexdata):
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = bytes.fromhex(key[2:] if key.startswith("0x") else key)
    esp = bytes.fromhex(hexdata)
    hdr, iv = esp[:8], esp[8:16]
    try:
        plain = AESGCM(key[:-4]).decrypt(key[-4:] + iv, esp[16:], hdr)
    except InvalidTag:
        print("ICV does not verify", file=sys.stderr)
        return 1
    padlen, nexthdr = plain[-2], plain[-1]
    print(json.dumps({"next": nexthdr, "pad": padlen,
                      "payload": len(plain) - 2 - padlen}))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[0] == "capture":
        return capture(argv[1], int(argv[2]), float(argv[3]),
                       argv[4] if len(argv) > 4 else None)
    if len(argv) >= 3 and argv[0] == "send":
        return send(argv[1], argv[2:])
    if len(argv) >= 4 and argv[0] == "build":
        return build(argv[1:])
    if len(argv) == 3 and argv[0] == "open":
        return open_esp(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
