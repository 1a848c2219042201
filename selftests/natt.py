#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""UDP-encapsulated ESP (RFC 3948) helpers for selftests/natt.sh.

  natt.py daemon ADDR PORT OUT
      Holds a UDP socket bound to ADDR:PORT with UDP_ENCAP_ESPINUDP, as an
      IKE daemon (charon) does, and appends one JSON line to OUT per
      datagram it receives (what XFRM's decapsulation leaves to it: IKE):
      src, sport, len, marker (the first 4 bytes are zero).  Creates
      OUT.ready once bound.  Runs until killed.
  natt.py handover SOCK OUT CMD ATTR...
      Creates the socket SOCK and sends the esptun request CMD ATTR... as
      nlraw.py does, "@FD" in ATTR standing for the socket's descriptor, so
      that the kernel finds it in this process.  SOCK: udp4 or udp6 (with
      UDP_ENCAP_ESPINUDP, not bound), followed by any of ",noencap",
      ",netns=NAME" (made in /run/netns/NAME), ",reuseport", ",reuseaddr",
      ",dev=IFACE" (SO_BINDTODEVICE), ",bind=ADDR/PORT",
      ",connect=ADDR/PORT", ",decoy=ADDR/PORT" (a second socket, with
      SO_REUSEADDR, bound there for the request's time); tcp6;
      file (/dev/null); closed (a descriptor not open).  Prints nlraw.py's
      answer, with "bound ADDR PORT" after "ok N"; then, with OUT not "-"
      and the request done, goes on as the daemon command with the socket.
  natt.py ike DST PORT
      Sends an IKE-shaped datagram to DST:PORT: the non-ESP marker (4 zero
      bytes) and an IKE_SA_INIT header (RFC 7296 3.1).
  natt.py capture IFACE COUNT SECONDS READY
      Prints one JSON object per UDP datagram seen on IFACE (outer IPv4 or
      IPv6): family, src, dst, sport, dport, csum, payload (hex, at most 16
      bytes), plen, t (seconds since start), outgoing; creates READY once
      listening.
"""
import ctypes
import errno
import json
import os
import socket
import struct
import sys
import time

UDP_ENCAP = 100
UDP_ENCAP_ESPINUDP = 2
ETH_P_ALL = 0x0003
CLONE_NEWNET = 0x40000000
# Sockets handover() keeps open beside its own while the request runs.
DECOYS = []


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def daemon(addr, port, out, s=None):
    if s is None:
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        s.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    open(out + ".ready", "w").close()
    while True:
        data, peer = s.recvfrom(65535)
        with open(out, "a") as f:
            f.write(json.dumps({"src": peer[0], "sport": peer[1],
                                "len": len(data),
                                "marker": data[:4] == b"\0\0\0\0"}) + "\n")


def handover_sock(spec):
    kind, *opts = spec.split(",")
    if kind == "file":
        return open(os.devnull, "rb")
    if kind == "closed":
        return None
    if kind == "tcp6":
        return socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    netns = [o[6:] for o in opts if o.startswith("netns=")]
    if netns:
        # Made in another namespace, then back to this one.
        libc = ctypes.CDLL(None, use_errno=True)
        here = os.open("/proc/self/ns/net", os.O_RDONLY)
        there = os.open("/run/netns/" + netns[0], os.O_RDONLY)
        if libc.setns(there, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns")
    s = socket.socket(socket.AF_INET6 if kind == "udp6" else socket.AF_INET,
                      socket.SOCK_DGRAM)
    if netns:
        if libc.setns(here, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns")
        os.close(here)
        os.close(there)
    if "noencap" not in opts:
        s.setsockopt(socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
    if "reuseport" in opts:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if "reuseaddr" in opts:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for o in opts:
        if o.startswith("dev="):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, o[4:].encode())
    for verb in ("bind=", "connect="):
        for o in opts:
            if o.startswith(verb):
                addr, port = o[len(verb):].rsplit("/", 1)
                getattr(s, verb[:-1])((addr, int(port)))
    for o in opts:
        if o.startswith("decoy="):
            addr, port = o[6:].rsplit("/", 1)
            d = socket.socket(s.family, socket.SOCK_DGRAM)
            d.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            d.bind((addr, int(port)))
            DECOYS.append(d)
    return s


def handover(spec, out, cmd, *attrs):
    import nlraw
    import esptun_nl
    s = handover_sock(spec)
    fd = s.fileno() if s is not None else 1000
    payload = b"".join(nlraw.encode(a.replace("@FD", str(fd))) for a in attrs)
    genl = nlraw.Genl()
    err, text, replies = genl.request(genl.family(esptun_nl.FAMILY),
                                      esptun_nl.OPS[cmd], payload, nlraw.NLM_F_ACK)
    del DECOYS[:]
    if err:
        print("error %s: %s" % (errno.errorcode.get(-err, str(-err)), text),
              flush=True)
        return 0
    where = s.getsockname() if isinstance(s, socket.socket) else ("-", 0)
    print("ok %d bound %s %d" % (len(replies), where[0], where[1]), flush=True)
    if out != "-":
        daemon(None, None, out, s)
    return 0


def ike(dst, port):
    hdr = os.urandom(8) + bytes(8) + struct.pack("!BBBBII", 33, 0x20, 34,
                                                   0x08, 0, 28)
    s = socket.socket(family_of(dst), socket.SOCK_DGRAM)
    s.sendto(bytes(4) + hdr, (dst, int(port)))
    return 0


def capture(iface, count, seconds, ready):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    open(ready, "w").close()
    start = time.time()
    seen = 0
    while seen < count and time.time() < start + seconds:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        pkt = frame[14:] if addr[3] == 1 else frame
        if addr[1] == 0x0800 and len(pkt) >= 28 and pkt[9] == 17:
            ihl = (pkt[0] & 15) * 4
            fam, af, src, dst = 4, socket.AF_INET, pkt[12:16], pkt[16:20]
            udp = pkt[ihl:struct.unpack("!H", pkt[2:4])[0]]
        elif addr[1] == 0x86DD and len(pkt) >= 48 and pkt[6] == 17:
            fam, af, src, dst = 6, socket.AF_INET6, pkt[8:24], pkt[24:40]
            udp = pkt[40:40 + struct.unpack("!H", pkt[4:6])[0]]
        else:
            continue
        sport, dport, ulen, csum = struct.unpack("!HHHH", udp[:8])
        payload = udp[8:ulen]
        print(json.dumps({"family": fam, "src": socket.inet_ntop(af, src),
                          "dst": socket.inet_ntop(af, dst), "sport": sport,
                          "dport": dport, "csum": csum,
                          "payload": payload[:16].hex(), "plen": len(payload),
                          "t": round(time.time() - start, 3),
                          "outgoing": addr[2] == socket.PACKET_OUTGOING}),
              flush=True)
        seen += 1
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "daemon":
        return daemon(*argv[1:])
    if len(argv) >= 4 and argv[0] == "handover":
        return handover(*argv[1:])
    if len(argv) == 3 and argv[0] == "ike":
        return ike(*argv[1:])
    if len(argv) == 5 and argv[0] == "capture":
        return capture(argv[1], int(argv[2]), float(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
