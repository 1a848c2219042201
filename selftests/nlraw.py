#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one hand-built request to the esptun generic netlink family and print
the kernel's answer, so that tests can send what the esptun tool never would.

usage: nlraw.py [--dump] [--reserved N] [--echo] CMD [TYPE:FORMAT:VALUE ...]

CMD is a command number or name (dev-get, tunnel-new, ...).  TYPE is an
attribute number or its name in the spec (ifname, tunnel; inside a nest,
the nested set's: id, local-ipv4, ...).  FORMAT is u8, u16, u32, u64,
be16, be32, str (NUL-terminated), raw (no NUL), hex, or nest: VALUE is
then a comma-separated list of TYPE/FORMAT/VALUE (flatnest: the same
without NLA_F_NESTED).  Names and numbers come from esptun_nl.py, generated
from uapi/esptun.yaml.  Prints "ok N" (N reply messages)
or "error ERRNO_NAME: EXTACK", followed by "missing [NEST.]ATTR" when the
kernel named a missing attribute, and "echo HEX" (--echo) with the request
as the error's ACK carried it back; exits 0 either way, 2 on usage errors.
"""
import errno
import os
import socket
import struct
import sys

import esptun_nl

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_ACK_TLVS = 0x200
NLM_F_DUMP_INTR = 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MISS_NEST = 1, 5, 6
NLA_F_NESTED = 0x8000


def attr(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def parse_attrs(data):
    attrs = {}
    while len(data) >= 4:
        alen, atype = struct.unpack("=HH", data[:4])
        if alen < 4:
            break
        attrs[atype & 0x3FFF] = data[4:alen]
        data = data[(alen + 3) & ~3:]
    return attrs


class Genl:
    """A netlink socket: generic netlink by default, or @proto."""

    def __init__(self, proto=NETLINK_GENERIC):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1
        self.sent = b""
        # The last error's missing attribute: (type, offset of its nest in
        # the request or None), or None.
        self.missing = None
        # Whether a part of the last dump was flagged NLM_F_DUMP_INTR.
        self.dump_intr = False
        # The request's payload as the last error's ACK carried it back
        # (not capped), or None.
        self.echo = None

    def request(self, family, cmd, payload, flags, reserved=0):
        """A generic netlink request: (errno, extack text, replies)."""
        return self.talk(family, struct.pack("=BBH", cmd, 1, reserved) + payload,
                         flags)

    def talk(self, mtype, body, flags):
        """Send one message of type @mtype, collect the answer."""
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(body), mtype,
                          NLM_F_REQUEST | flags, self.seq, 0)
        self.sent = hdr + body
        self.missing = None
        self.dump_intr = False
        self.echo = None
        self.sock.send(self.sent)
        replies = []
        while True:
            data = self.sock.recv(65536)
            while data:
                mlen, mtype, mflags, _, _ = struct.unpack("=IHHII", data[:16])
                msg = data[16:mlen]
                data = data[(mlen + 3) & ~3:]
                if mflags & NLM_F_DUMP_INTR:
                    self.dump_intr = True
                if mtype == NLMSG_ERROR:
                    err = struct.unpack("=i", msg[:4])[0]
                    text = ""
                    if not mflags & 0x100:
                        orig_len = struct.unpack("=I", msg[4:8])[0]
                        self.echo = msg[4 + 16:4 + orig_len]
                    if mflags & NLM_F_ACK_TLVS:
                        # capped: the original request's header only
                        orig_len = struct.unpack("=I", msg[4:8])[0]
                        off = 4 + 16 if mflags & 0x100 else 4 + orig_len
                        tlv = parse_attrs(msg[off:])
                        if NLMSGERR_ATTR_MSG in tlv:
                            text = tlv[NLMSGERR_ATTR_MSG].rstrip(b"\0").decode()
                        if NLMSGERR_ATTR_MISS_TYPE in tlv:
                            nest = tlv.get(NLMSGERR_ATTR_MISS_NEST)
                            self.missing = (
                                struct.unpack("=I", tlv[NLMSGERR_ATTR_MISS_TYPE])[0],
                                struct.unpack("=I", nest)[0] if nest else None)
                    return err, text, replies
                if mtype == NLMSG_DONE:
                    return 0, "", replies
                replies.append(msg)

    def family(self, name):
        err, text, replies = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
            attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"), NLM_F_ACK)
        if err or not replies:
            sys.exit("nlraw: family %s not found: %s" % (name, os.strerror(-err)))
        return struct.unpack("=H", parse_attrs(replies[0][4:])[CTRL_ATTR_FAMILY_ID][:2])[0]


def attr_type(name, set_name):
    """An attribute number, and its nested set, from a number or a name."""
    try:
        return int(name, 0), None
    except ValueError:
        pass
    attrs = esptun_nl.SETS.get(set_name or "", {})
    if name not in attrs:
        raise ValueError("no attribute %s in set %s" % (name, set_name))
    return attrs[name][0], attrs[name][2]


def encode(spec, set_name=esptun_nl.FAMILY):
    atype, fmt, value = spec.split(":", 2)
    atype, nested = attr_type(atype, set_name)
    packers = {"u8": "=B", "u16": "=H", "u32": "=I", "u64": "=Q",
               "be16": ">H", "be32": ">I"}
    if fmt in packers:
        payload = struct.pack(packers[fmt], int(value, 0))
    elif fmt == "str":
        payload = value.encode() + b"\0"
    elif fmt == "raw":
        payload = value.encode()
    elif fmt == "hex":
        payload = bytes.fromhex(value)
    elif fmt in ("nest", "flatnest"):
        payload = b"".join(encode(a.replace("/", ":", 2), nested)
                           for a in value.split(",") if a)
        if fmt == "nest":
            return attr(atype | NLA_F_NESTED, payload)
    else:
        raise ValueError("unknown format " + fmt)
    return attr(atype, payload)


def missing_name(genl):
    """The missing attribute the kernel named, as NEST.ATTR by the spec."""
    atype, nest_off = genl.missing
    set_name, prefix = esptun_nl.FAMILY, ""
    if nest_off is not None:
        ntype = struct.unpack("=H", genl.sent[nest_off + 2:nest_off + 4])[0] & 0x3FFF
        names = {v[0]: (k, v[2]) for k, v in esptun_nl.SETS[set_name].items()}
        prefix, set_name = names.get(ntype, (str(ntype), None))
        prefix += "."
    names = {v[0]: k for k, v in esptun_nl.SETS.get(set_name, {}).items()}
    return prefix + names.get(atype, str(atype))


def main(argv):
    flags, reserved, echo = NLM_F_ACK, 0, False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--dump":
            flags = NLM_F_DUMP
            argv = argv[1:]
        elif argv[0] == "--echo":
            echo = True
            argv = argv[1:]
        elif argv[0] == "--reserved":
            reserved = int(argv[1], 0)
            argv = argv[2:]
        else:
            break
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmd = esptun_nl.OPS.get(argv[0]) or int(argv[0], 0)
        payload = b"".join(encode(a) for a in argv[1:])
    except ValueError as e:
        print("nlraw: %s" % e, file=sys.stderr)
        return 2
    genl = Genl()
    err, text, replies = genl.request(genl.family(esptun_nl.FAMILY), cmd, payload,
                                      flags, reserved)
    if err:
        print("error %s: %s" % (errno.errorcode.get(-err, str(-err)), text))
        if genl.missing:
            print("missing %s" % missing_name(genl))
        if echo and genl.echo is not None:
            print("echo %s" % genl.echo.hex())
    else:
        print("ok %d" % len(replies))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
