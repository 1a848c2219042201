#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fuzz the esptun generic netlink family.

usage: nlfuzz.py [--seed N] [--random N] [--systematic full|short|none]
                 [--readonly] [--setup-only]
                 [--verbose] DEV...

Sends requests to the esptun family in this network namespace, aimed at the
esptun devices DEV... (and at the namespace's dummy0, which is not one):

- systematic: for every command, a request the kernel accepts, then the
  same with each attribute (at every depth) missing, of the wrong type or
  length, out of range, duplicated, nested wrongly, with a lying length,
  and with every attribute the command's policy has not (the policies come
  from esptun_nl.py, generated from the spec the kernel's come from);
- random: N requests from a generator seeded with N (--seed), biased
  towards almost valid ones (existing devices, tunnels and SPIs, values at
  the edges of their ranges, then 0 to 3 mutations) so that they get past
  the policy into the handlers.

Asserts, per message: an answer within 5 seconds (an error, or replies then
an acknowledgement or the end of a dump), every reply well formed (its
attributes those of the spec's sets, of their types' sizes, nests flagged,
strings terminated; an extended ACK's offsets inside the request); a
request that no policy can accept refused; and the devices' tunnels and SAs
(a dump, counters and ages left out) the same after every refused request.
A request accepted that changed them is counted and the state reset to the
baseline.  Unless --readonly, the devices are first given the baseline
tunnels and SAs (the namespace needs dummy0 with 10.0.0.1/24, 10.0.1.1/24,
fd00::1/64 and fd01::1/64 for them); with --readonly they are someone
else's and every request that would change them must be refused.

Prints one line per finding and a summary: messages, accepted, refused by
errno.  Exits 1 on any finding.
"""
import argparse
import copy
import errno
import hashlib
import random
import select
import socket
import struct
import sys
import time

import esptun_nl as spec
import nlraw

NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_ECHO, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x8, 0x10, 0x300
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
NLMSGERR_ATTR_POLICY, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MISS_NEST = 4, 5, 6
RTM_NEWLINK, RTM_GETLINK = 16, 18
TIMEOUT = 5.0
BATCH = 64

PACK = {"u8": "=B", "u16": "=H", "u32": "=I", "u64": "=Q",
        "be16": ">H", "be32": ">I"}
SIZE = {t: struct.calcsize(f) for t, f in PACK.items()}
READS = {"dev-get", "sa-get"}
FAMILY_SET = spec.FAMILY
# What changes by itself or with traffic: left out of the state compared.
VOLATILE = {"stats", "age", "idle", "bytes", "packets"}

# The baseline each run starts from and returns to: device -> tunnels,
# each (id, attributes, SAs).  Outbound keys are fresh at every reset: the
# kernel refuses a retired outbound key from seq 0 (the nonce rule).
BASE = {
    0: [
        (1, dict(local="10.0.0.1", remote="10.0.0.2", weight=2,
                 pins=["169.254.10.1"]),
         [("out", 0x1001, {}), ("in", 0x1101, {}),
          ("in", 0x1102, {"esn": True, "replay-window": 64})]),
        (2, dict(local="fd00::1", remote="fd00::2", pins=["fd10::1"]),
         [("out", 0x1002, {}), ("in", 0x1201, {})]),
        (3, dict(local="10.0.0.1", remote="10.0.0.3", encap=1,
                 **{"encap-sport": 4500, "encap-dport": 4501}),
         [("out", 0x1003, {}),
          ("in", 0x1301, {"soft-bytes": 10**9, "hard-bytes": 2 * 10**9})]),
        (4, dict(local="fd01::1", remote="fd01::4"), []),
    ],
    1: [
        (1, dict(local="10.0.1.1", remote="10.0.1.2"),
         [("out", 0x2001, {}), ("in", 0x2101, {})]),
    ],
}


def ip_bytes(a):
    return socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)


class Attr:
    """An attribute: bytes, or a list of Attr for a nest.  @length, when
    set, is what the header claims instead of the truth."""

    def __init__(self, atype, val, flags=0, name=None, rset=None, length=None):
        self.atype, self.val, self.flags = atype, val, flags
        self.name, self.rset, self.length = name, rset, length

    def nest(self):
        return isinstance(self.val, list)

    def clone(self):
        return Attr(self.atype, [a.clone() for a in self.val] if self.nest() else self.val,
                    self.flags, self.name, self.rset, self.length)

    def encode(self):
        payload = (b"".join(a.encode() for a in self.val) if self.nest()
                   else self.val)
        data = nlraw.attr(self.atype | self.flags, payload)
        if self.length is not None:
            data = struct.pack("=H", self.length & 0xFFFF) + data[2:]
        return data


class Msg:
    def __init__(self, op, attrs, flags=NLM_F_ACK):
        self.op = op
        self.cmd = spec.OPS.get(op, 0)
        self.version, self.reserved, self.flags = spec.VERSION, 0, flags
        self.attrs, self.tail = attrs, b""
        self.rset = spec.REQUESTS[op][0] if op in spec.REQUESTS else None
        self.label = op
        self.short = False      # a genl header cut short
        self.refuse = False     # a handler must refuse it
        self.cache = None

    def body(self):
        if self.cache is not None:
            return self.cache
        hdr = struct.pack("=BBH", self.cmd, self.version, self.reserved)
        if self.short:
            return hdr[:2]
        return hdr + b"".join(a.encode() for a in self.attrs) + self.tail

    def freeze(self):
        """Done changing: encode once."""
        self.cache = None
        self.cache = self.body()

    def clone(self):
        m = copy.copy(self)
        m.attrs = [a.clone() for a in self.attrs]
        m.cache = None
        return m

    def writes(self):
        return self.op not in READS


def leaf(rset, name, value):
    """An attribute of a request set from a Python value."""
    num, typ, nested, _ = spec.POLICIES[rset][name]
    if typ in PACK:
        payload = struct.pack(PACK[typ], value)
    elif typ == "string":
        payload = value.encode() + b"\0"
    elif typ == "flag":
        payload = b""
    elif typ == "nest":
        return Attr(num, value, NLA_F_NESTED, name, nested)
    else:
        payload = ip_bytes(value) if isinstance(value, str) else value
    return Attr(num, payload, 0, name, None)


def attr_of(rset, name, value):
    """leaf(), with IPv4 addresses (be32 in the spec) from strings."""
    _, typ, _, _ = spec.POLICIES[rset][name]
    if typ == "be32" and isinstance(value, str):
        value = struct.unpack(">I", ip_bytes(value))[0]
    return leaf(rset, name, value)


# Replies ---------------------------------------------------------------------

def parse(data, set_name, where, problems):
    """A reply's attributes of @set_name as a dict (multi-attrs as lists),
    each checked against the spec; what is wrong goes to @problems."""
    out = {}
    byname = {v[0]: (k, v[1], v[2]) for k, v in spec.SETS[set_name].items()}
    multi = {"tunnel", "sa", "ipv4", "ipv6"}
    while len(data) >= 4:
        alen, atype = struct.unpack("=HH", data[:4])
        if alen < 4 or alen > len(data):
            problems.append("%s: attribute length %d of %d bytes" % (where, alen, len(data)))
            return out
        payload, data = data[4:alen], data[(alen + 3) & ~3:]
        num = atype & 0x3FFF
        if num not in byname:
            problems.append("%s: attribute %d not in set %s" % (where, num, set_name))
            continue
        name, typ, nested = byname[num]
        path = "%s.%s" % (where, name)
        if typ == "nest":
            if not atype & NLA_F_NESTED:
                problems.append(path + ": a nest without NLA_F_NESTED")
            val = parse(payload, nested, path, problems)
        elif typ in PACK:
            if len(payload) != SIZE[typ]:
                problems.append("%s: %s of %d bytes" % (path, typ, len(payload)))
                continue
            val = struct.unpack(PACK[typ], payload)[0]
        elif typ == "string":
            if not payload.endswith(b"\0") or b"\0" in payload[:-1]:
                problems.append(path + ": string not NUL-terminated")
            val = payload.rstrip(b"\0").decode(errors="replace")
        elif typ == "pad":
            continue
        elif typ == "flag":
            if payload:
                problems.append(path + ": flag with a payload")
            val = True
        else:
            if name.endswith("ipv6") and len(payload) != 16:
                problems.append("%s: IPv6 address of %d bytes" % (path, len(payload)))
            if name == "key":
                problems.append(path + ": a key in a reply")
            val = payload.hex()
        if name in multi:
            out.setdefault(name, []).append(val)
        elif name in out:
            problems.append(path + ": twice")
        else:
            out[name] = val
    if data:
        problems.append("%s: %d bytes after the last attribute" % (where, len(data)))
    return out


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.genl = nlraw.Genl()
        self.sock = self.genl.sock
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[0]
        self.fam = self.genl.family(spec.FAMILY)
        self.seq = 1000
        self.devs = args.devs
        self.counts = {}
        self.per_op = {}
        self.last_raw = self.last_state = None
        self.findings = []
        self.sent = 0
        self.changed = 0
        self.resets = 0
        self.keyno = 0
        self.ifindex = {n: self.link_index(n) for n in self.devs + ["dummy0"]}
        self.known_keys = []

    # The socket ----------------------------------------------------------
    def finding(self, what, msg=None):
        if msg is not None:
            what += " [%s: %s]" % (msg.label, msg.body().hex())
        self.findings.append(what)
        if len(self.findings) <= 30:
            print("# nlfuzz: FINDING: " + what, flush=True)

    def link_index(self, name):
        try:
            return socket.if_nametoindex(name)
        except OSError:
            return 0

    def exchange(self, msg_type, body, flags):
        """Send one message, collect the answer: (errno, extack text,
        replies as (type, flags, payload), problems)."""
        self.seq += 1
        seq = self.seq
        data = struct.pack("=IHHII", 16 + len(body), msg_type,
                           NLM_F_REQUEST | flags, seq, 0) + body
        self.sock.send(data)
        self.sent += 1
        replies, problems = [], []
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                problems.append("no answer within %d s" % TIMEOUT)
                return None, "", replies, problems
            buf = self.sock.recv(1 << 20)
            while buf:
                if len(buf) < 16:
                    problems.append("a message of %d bytes" % len(buf))
                    return None, "", replies, problems
                mlen, mtype, mflags, mseq, mpid = struct.unpack("=IHHII", buf[:16])
                if mlen < 16 or mlen > len(buf):
                    problems.append("nlmsg_len %d of %d bytes" % (mlen, len(buf)))
                    return None, "", replies, problems
                if mseq != seq or mpid != self.port:
                    problems.append("seq %d pid %d, expected %d %d" % (
                        mseq, mpid, seq, self.port))
                payload, buf = buf[16:mlen], buf[(mlen + 3) & ~3:]
                if mtype == NLMSG_ERROR or mtype == NLMSG_DONE:
                    err, text = self.ack(mtype, mflags, payload, data, problems)
                    return err, text, replies, problems
                replies.append((mtype, mflags, payload))

    def ack(self, mtype, mflags, payload, request, problems):
        if len(payload) < 4:
            problems.append("an acknowledgement of %d bytes" % len(payload))
            return None, ""
        err = struct.unpack("=i", payload[:4])[0]
        if err > 0 or (err and -err not in errno.errorcode):
            problems.append("error %d" % err)
        if mtype == NLMSG_DONE:
            tlv_off = 4
        else:
            if len(payload) < 20 or payload[4:20] != request[:16]:
                problems.append("the acknowledgement does not quote the request")
            tlv_off = 20 if mflags & NLM_F_CAPPED else 4 + len(request)
        text = ""
        if mflags & NLM_F_ACK_TLVS:
            tlv = nlraw.parse_attrs(payload[tlv_off:])
            if NLMSGERR_ATTR_MSG in tlv:
                raw = tlv[NLMSGERR_ATTR_MSG]
                if not raw.endswith(b"\0"):
                    problems.append("extack text not terminated")
                text = raw.rstrip(b"\0").decode(errors="replace")
            for a in (NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_MISS_NEST):
                if a in tlv:
                    off = struct.unpack("=I", tlv[a][:4])[0]
                    if off < 16 or off >= len(request):
                        problems.append("extack offset %d outside the %d-byte request"
                                        % (off, len(request)))
        return err, text

    def dump_replies(self):
        """DEV_GET's dump of every device: its reply payloads."""
        body = struct.pack("=BBH", spec.OPS["dev-get"], spec.VERSION, 0)
        for _ in range(10):
            err, _, replies, problems = self.exchange(self.fam, body, NLM_F_DUMP)
            if not any(f & NLM_F_DUMP_INTR for _, f, _ in replies):
                break
        if err:
            problems.append("dump failed: %s" % err)
        for p in problems:
            self.finding("dump: " + p)
        return replies

    def quick_state(self):
        """The dump with what changes by itself cut out, as bytes.  Only
        the SAs' ages change without traffic, once a second: a dump the
        same as the last one needs no cutting."""
        raw = [p for _, _, p in self.dump_replies()]
        if raw == self.last_raw:
            return self.last_state
        self.last_raw = raw
        self.last_state = b"".join(strip(p[4:], STRIP_TOP) for p in raw)
        return self.last_state

    def dump(self):
        """The devices as the dump has them, checked: ifindex -> dict."""
        devs, problems = {}, []
        for mtype, mflags, payload in self.dump_replies():
            d = self.reply(mtype, mflags, payload, "dev-get", problems)
            if "ifindex" not in d:
                problems.append("a device without ifindex")
                continue
            dev = devs.setdefault(d["ifindex"], {"tunnel": []})
            for k, v in d.items():
                if k == "tunnel":
                    dev["tunnel"] += v
                else:
                    dev[k] = v
        for p in problems:
            self.finding("dump: " + p)
        return devs

    def reply(self, mtype, mflags, payload, op, problems):
        if mtype != self.fam:
            problems.append("reply of type %d" % mtype)
            return {}
        if len(payload) < 4:
            problems.append("reply without a genl header")
            return {}
        cmd, version = payload[0], payload[1]
        if cmd != spec.OPS[op] or version != spec.VERSION:
            problems.append("reply cmd %d version %d to %s" % (cmd, version, op))
        return parse(payload[4:], FAMILY_SET, op, problems)

    def send(self, msg, count=True):
        """One request: errno or 0 (None: no answer); checks the answer."""
        err, text, replies, problems = self.exchange(self.fam, msg.body(), msg.flags)
        op = {v: k for k, v in spec.OPS.items()}.get(msg.cmd)
        for mtype, mflags, payload in replies:
            if op in ("dev-get", "sa-get", "spi-alloc"):
                self.reply(mtype, mflags, payload, op, problems)
            else:
                problems.append("a reply to %s" % msg.label)
        if count:
            if err is None:
                name = "no answer"
            else:
                name = errno.errorcode.get(-err, str(-err)) if err else "accepted"
            self.counts[name] = self.counts.get(name, 0) + 1
            per = self.per_op.setdefault(op or "cmd %d" % msg.cmd, {})
            per[name] = per.get(name, 0) + 1
        for p in problems:
            self.finding(p, msg)
        if self.args.verbose and err is not None:
            print("# %s: %s %s" % (msg.label, errno.errorcode.get(-err, err), text))
        self.text = text
        return err

    # The baseline --------------------------------------------------------
    def new_key(self, n=20):
        self.keyno += 1
        return hashlib.sha256(b"nlfuzz-%d-%d" % (self.args.seed, self.keyno)).digest()[:n]

    def setup_request(self, op, dev, nest_name, fields):
        rset = spec.REQUESTS[op][0]
        nested = spec.POLICIES[rset][nest_name][2]
        inner = [attr_of(nested, k, v) for k, v in fields]
        msg = Msg(op, [attr_of(rset, "ifname", dev), leaf(rset, nest_name, inner)])
        err = self.err = self.send(msg, count=False)
        if err and not (op == "tunnel-set" and err == -errno.EEXIST):
            self.finding("baseline %s %s %r refused: %s %s" % (
                dev, op, fields, errno.errorcode.get(-err, err), self.text))

    def add_tunnel(self, dev, tid, t):
        v6 = ":" in t["local"]
        fields = [("id", tid), ("local-ipv6" if v6 else "local-ipv4", t["local"]),
                  ("remote-ipv6" if v6 else "remote-ipv4", t["remote"])]
        pins = [attr_of("pin", "ipv6" if ":" in p else "ipv4", p)
                for p in t.get("pins", [])]
        if pins:
            fields.append(("pins", pins))
        for k in ("weight", "encap", "encap-sport", "encap-dport"):
            if k in t:
                fields.append((k, t[k]))
        self.setup_request("tunnel-new", dev, "tunnel", fields)

    def add_sa(self, dev, tid, d, spi, extra):
        # Outbound keys fresh every time: the kernel refuses a retired one
        # from seq 0 (the nonce rule).
        key = self.new_key() if d == "out" else hashlib.sha256(b"in-%d" % spi).digest()[:20]
        self.known_keys.append(key)
        fields = [("tunnel-id", tid), ("dir", spec.ENUMS["sa-dir"][d]),
                  ("spi", spi), ("key", key)]
        fields += [(k, v) for k, v in extra.items()]
        self.setup_request("sa-new", dev, "sa", fields)

    def baseline(self):
        for i, dev in enumerate(self.devs):
            for tid, t, sas in BASE.get(i, []):
                self.add_tunnel(dev, tid, t)
                for d, spi, extra in sas:
                    self.add_sa(dev, tid, d, spi, extra)

    def reset(self):
        """Back to the baseline, undoing only what differs from it: an
        accepted request changes one tunnel or SA, and tunnels and SAs are
        slow to make under emulation."""
        self.resets += 1
        cur = layout(self.last_raw)
        for i, dev in enumerate(self.devs):
            want = {tid: (t, sas) for tid, t, sas in BASE.get(i, [])}
            have = cur.get(dev, {})
            base = self.base_layout.get(dev, {})
            for tid, (settings, sas) in list(have.items()):
                if tid in want and settings != base[tid][0]:
                    # Every setting TUNNEL_SET can change, as the baseline
                    # has it: cheaper than the tunnel and its SAs again.
                    self.setup_request("tunnel-set", dev, "tunnel",
                                       restore(tid, want[tid][0]))
                    if self.err:
                        del have[tid]
                if tid not in want or tid not in have:
                    self.setup_request("tunnel-del", dev, "tunnel", [("id", tid)])
                    continue
                bsas = base[tid][1]
                for k, x in sas.items():
                    # A new outbound SA replaces the old: no need to delete.
                    if k not in bsas or (x != bsas[k] and k[0] == 0):
                        self.setup_request("sa-del", dev, "sa",
                                           [("dir", k[0]), ("spi", k[1])])
                for d, spi, extra in want[tid][1]:
                    k = (spec.ENUMS["sa-dir"][d], spi)
                    if sas.get(k) != bsas[k]:
                        self.add_sa(dev, tid, d, spi, extra)
            for tid, t, sas in BASE.get(i, []):
                if tid not in have:
                    self.add_tunnel(dev, tid, t)
                    for d, spi, extra in sas:
                        self.add_sa(dev, tid, d, spi, extra)
        self.finish_reset()

    def finish_reset(self):
        self.cstate = self.quick_state()
        if self.cstate != self.base_state:
            # What the undo missed: everything from scratch.
            for d in self.dump().values():
                if d.get("ifname") in self.devs:
                    for t in d["tunnel"]:
                        self.setup_request("tunnel-del", d["ifname"], "tunnel",
                                           [("id", t["id"])])
            self.baseline()
            self.cstate = self.quick_state()
            if self.cstate != self.base_state:
                self.finding("the reset did not restore the baseline")
                self.base_state = self.cstate

    # Running -------------------------------------------------------------
    #
    # Refused requests are checked in batches: a dump every BATCH of them
    # and after every accepted one.  An accepted request that changed the
    # state is undone; the refused ones before it are then sent again from
    # the baseline, and if those change anything, again one by one with a
    # dump after each, which names the culprit.
    def run(self, msg):
        msg.freeze()
        why = policy_violation(msg)
        err = self.send(msg)
        if err is None:
            return
        if why and not err:
            self.finding("accepted, though the policy refuses it: %s" % why, msg)
        if msg.refuse and not err:
            self.finding("accepted, though it must be refused", msg)
        if self.args.readonly and not err and msg.writes():
            self.finding("a change accepted from the device's new namespace", msg)
        if err:
            # Only those that reached a handler are worth sending again.
            self.unchecked.append((msg, err, self.text, not why))
            if len(self.unchecked) >= BATCH:
                self.check_batch()
            return
        after = self.quick_state()
        if after == self.cstate:
            self.unchecked = []
            return
        self.changed += 1
        batch, self.unchecked = self.unchecked, []
        if self.args.readonly:
            self.finding("the state changed", msg)
            self.cstate = after
            return
        self.reset()
        self.replay(batch)

    def check_batch(self):
        batch, self.unchecked = self.unchecked, []
        if self.quick_state() == self.cstate:
            return
        self.finding("%d refused requests in a row changed the state" % len(batch))
        if self.args.readonly:
            self.cstate = self.quick_state()
            return
        self.reset()
        self.replay(batch)

    def replay(self, batch):
        """Refused requests again, from the baseline: one dump for all,
        then, if they changed it, one after each."""
        for m, _, _, handled in batch:
            if handled:
                self.send(m, count=False)
        if self.quick_state() == self.cstate:
            return
        self.reset()
        for m, err, text, _ in batch:
            self.send(m, count=False)
            if self.quick_state() != self.cstate:
                self.finding("refused (%s: %s) but the state changed" % (
                    errno.errorcode.get(-err, err), text), m)
                self.reset()

    def start(self):
        self.unchecked = []
        state = self.dump()
        if not self.args.readonly:
            if any(d["tunnel"] for d in state.values()):
                self.finding("the devices have tunnels already")
            self.baseline()
            state = self.dump()
        self.quick_state()
        self.base_layout = layout(self.last_raw)
        self.state = state
        self.base_state = self.cstate = self.quick_state()
        if not any(d["tunnel"] for d in state.values()):
            self.finding("no tunnel to fuzz against")

    def finish(self):
        if self.unchecked:
            self.check_batch()


def rule(set_name, volatile):
    """strip()'s rule for a set: attribute number -> None (cut) or the
    nested set's rule."""
    out = {}
    for name, (num, typ, nested) in spec.SETS[set_name].items():
        if name in volatile or typ == "pad":
            out[num] = None
        elif typ == "nest":
            out[num] = rule(nested, volatile)
    return out


STRIP_TOP = rule(FAMILY_SET, VOLATILE)


def strip(data, rules):
    """Attributes as bytes, those @rules cut left out (recursively)."""
    out, i, n = [], 0, len(data)
    while i + 4 <= n:
        alen, atype = struct.unpack_from("=HH", data, i)
        if alen < 4:
            break
        r = rules.get(atype & 0x3FFF, 0)
        if r == 0:
            out.append(data[i:i + alen])
        elif r is not None:
            out.append(data[i:i + 4] + strip(data[i + 4:i + alen], r))
        i += (alen + 3) & ~3
    return b"".join(out)


def restore(tid, t):
    """TUNNEL_SET's fields that give tunnel @tid of BASE back its settings."""
    v6 = ":" in t["local"]
    pins = [attr_of("pin", "ipv6" if ":" in p else "ipv4", p) for p in t.get("pins", [])]
    out = [("id", tid), ("weight", t.get("weight", 1)), ("admin-state", 1),
           ("pins", pins), ("keepalive", 0), ("dead-after", 0),
           ("remote-ipv6" if v6 else "remote-ipv4", t["remote"])]
    if t.get("encap"):
        out += [("nat-keepalive", 0), ("encap-dport", t["encap-dport"])]
    return out


def num(set_name, name):
    return spec.SETS[set_name][name][0]


# A tunnel's own settings: not its SAs, nor what they make of it.
SETTINGS = rule("tunnel", VOLATILE | {"sa", "state", "share"})
SA_STRIP = rule("sa", VOLATILE)
A_IFNAME, A_TUNNEL = num(FAMILY_SET, "ifname"), num(FAMILY_SET, "tunnel")
T_ID, T_SA = num("tunnel", "id"), num("tunnel", "sa")
SA_DIR, SA_SPI = num("sa", "dir"), num("sa", "spi")


def attrs_of(data):
    i, n = 0, len(data)
    while i + 4 <= n:
        alen, atype = struct.unpack_from("=HH", data, i)
        if alen < 4:
            return
        yield atype & 0x3FFF, data[i + 4:i + alen]
        i += (alen + 3) & ~3


def layout(payloads):
    """ifname -> tunnel id -> (its settings as bytes, (dir, spi) -> the SA
    as bytes), from a dump's replies: what reset() compares, without a
    full parse."""
    out = {}
    for payload in payloads:
        name, tunnels = None, []
        for t, v in attrs_of(payload[4:]):
            if t == A_IFNAME:
                name = v.rstrip(b"\0").decode()
            elif t == A_TUNNEL:
                tunnels.append(v)
        dev = out.setdefault(name, {})
        for tdata in tunnels:
            tid, sas = None, {}
            for t, v in attrs_of(tdata):
                if t == T_ID:
                    tid = struct.unpack("=I", v)[0]
                elif t == T_SA:
                    a = dict(attrs_of(v))
                    key = (a[SA_DIR][0], struct.unpack(">I", a[SA_SPI])[0])
                    sas[key] = strip(v, SA_STRIP)
            dev[tid] = (strip(tdata, SETTINGS), sas)
    return out


# Building requests -------------------------------------------------------------

def dev_selector(f, rng, rset, msg_dev=None):
    """ifindex and/or ifname: mostly the fuzzed devices, sometimes another."""
    names = f.devs
    r = rng.random()
    if msg_dev is not None:
        name = msg_dev
    elif r < 0.85:
        name = rng.choice(names) if rng.random() < 0.8 else names[0]
    elif r < 0.92:
        name = "dummy0"
    else:
        name = rng.choice(["nope0", "", "esp9", "x" * 15, "lo"])
    idx = f.ifindex.get(name) or rng.choice([1, 999, 0x7FFFFFFF, 2**32 - 1])
    r = rng.random()
    out = []
    if r < 0.45:
        out.append(attr_of(rset, "ifindex", idx))
    elif r < 0.8:
        out.append(attr_of(rset, "ifname", name))
    elif r < 0.95:
        other = rng.choice(names + ["dummy0"]) if rng.random() < 0.2 else name
        out += [attr_of(rset, "ifindex", idx), attr_of(rset, "ifname", other)]
    return out, name


def device_state(f, name):
    for d in f.state.values():
        if d.get("ifname") == name:
            return d
    return {"tunnel": []}


V4_LOCAL = ["10.0.0.1", "10.0.1.1"]
V4_REMOTE = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.1.2", "10.0.1.9"]
V4_ODD = ["0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1", "10.0.0.1"]
V6_LOCAL = ["fd00::1", "fd01::1"]
V6_REMOTE = ["fd00::2", "fd00::3", "fd01::4", "fd01::5"]
V6_ODD = ["::", "ff02::1", "::1", "fe80::1", "::ffff:10.0.0.2"]
PINS4 = ["169.254.10.1", "169.254.11.1", "169.254.12.1", "0.0.0.0", "224.0.0.5"]
PINS6 = ["fd10::1", "fd10::2", "ff02::2", "::"]


def edge(rng, typ, rules=None):
    """A value of an integer type, mostly at an edge of its range."""
    bits = SIZE[typ] * 8
    top = 2 ** bits - 1
    rules = rules or {}
    lo, hi = rules.get("min", 0), rules.get("max", top)
    pool = [0, 1, 2, lo, hi, min(hi + 1, top), max(lo - 1, 0), top, top - 1,
            2 ** (bits - 1), 64, 1024, 4500]
    if rng.random() < 0.3:
        return rng.randint(0, top)
    return rng.choice(pool) & top


def address(rng, v6, local):
    if rng.random() < 0.12:
        return rng.choice(V6_ODD if v6 else V4_ODD)
    if v6:
        return rng.choice(V6_LOCAL if local else V6_REMOTE)
    return rng.choice(V4_LOCAL if local else V4_REMOTE)


def pins_nest(rng):
    n = rng.choice([0, 1, 1, 2, 3, 17])
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            out.append(attr_of("pin", "ipv4", rng.choice(PINS4) if n < 17 else
                               "169.254.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254))))
        else:
            out.append(attr_of("pin", "ipv6", rng.choice(PINS6)))
    return out


def pick_tunnel(rng, dev, p=0.8):
    ts = dev["tunnel"]
    if ts and rng.random() < p:
        return rng.choice(ts)
    return {"id": rng.choice([0, 5, 255, 256, 2**32 - 1, rng.randint(0, 2**32 - 1)])}


def pick_sa(rng, dev, p=0.75):
    sas = [s for t in dev["tunnel"] for s in t.get("sa", [])]
    if sas and rng.random() < p:
        s = rng.choice(sas)
        return s["dir"], s["spi"]
    return rng.randint(0, 1), rng.choice([1, 0x1000, 0x1100, 0x2100, 2**32 - 1,
                                          rng.randint(1, 2**32 - 1)])


def tunnel_fields(f, rng, rset, dev, new):
    """The settings of a TUNNEL_NEW or TUNNEL_SET nest."""
    pol = spec.POLICIES[rset]
    # Most new tunnels collide with one there is: refusals are where a
    # handler may leave something half done, and successes cost a reset.
    t = pick_tunnel(rng, dev) if not new or rng.random() < 0.5 else \
        {"id": rng.choice([5, 6, 7, rng.randint(0, 2**32 - 1)])}
    out = [attr_of(rset, "id", t["id"])]
    v6 = ("local-ipv6" in t) if "local-ipv6" in t or "local-ipv4" in t else rng.random() < 0.3
    if rng.random() < 0.1:
        v6 = not v6
    if new:
        out.append(attr_of(rset, "local-ipv6" if v6 else "local-ipv4", address(rng, v6, True)))
        out.append(attr_of(rset, "remote-ipv6" if v6 else "remote-ipv4", address(rng, v6, False)))
    optional = [n for n in pol if n not in ("id", "local-ipv4", "local-ipv6",
                                            "remote-ipv4", "remote-ipv6")]
    if not new:
        optional += ["remote-ipv4", "remote-ipv6"]
    for name in optional:
        if rng.random() > (0.25 if new else 0.3):
            continue
        typ, rules = pol[name][1], pol[name][3]
        if name == "pins":
            out.append(leaf(rset, "pins", pins_nest(rng)))
        elif name.startswith("remote-"):
            out.append(attr_of(rset, name, address(rng, name.endswith("6"), False)))
        elif name == "encap":
            out.append(attr_of(rset, name, 1 if rng.random() < 0.8 else rng.randint(0, 1)))
        elif name in ("keepalive", "dead-after", "nat-keepalive"):
            out.append(attr_of(rset, name, rng.choice([0, 0, 1, 30, 65535])))
        elif name == "admin-state":
            out.append(attr_of(rset, name, rng.randint(0, 1)))
        elif name == "weight":
            out.append(attr_of(rset, name, rng.choice([1, 2, 3, 255])))
        else:
            out.append(attr_of(rset, name, edge(rng, typ, rules)))
    return out


def sa_new_fields(f, rng, rset, dev):
    t = pick_tunnel(rng, dev)
    d = rng.randint(0, 1)
    out = [attr_of(rset, "tunnel-id", t["id"]), attr_of(rset, "dir", d)]
    sas = t.get("sa", [])
    if sas and rng.random() < 0.3:
        spi = rng.choice(sas)["spi"]
    else:
        spi = rng.choice([0x3000 + rng.randint(0, 50), 0x1101, 0x2101,
                          rng.randint(1, 2**32 - 1)])
    out.append(attr_of(rset, "spi", spi))
    r = rng.random()
    if r < 0.7:
        key = bytes(rng.getrandbits(8) for _ in range(rng.choice([20, 28, 36])))
    elif r < 0.85 and f.known_keys:
        key = rng.choice(f.known_keys)
    else:
        key = bytes(rng.getrandbits(8) for _ in range(rng.choice([24, 32, 21])))
    out.append(attr_of(rset, "key", key))
    if rng.random() < 0.25:
        out.append(attr_of(rset, "esn", None))
    if rng.random() < 0.25:
        out.append(attr_of(rset, "replay-window", rng.choice([0, 1, 32, 64, 1024, 4096])))
    if rng.random() < 0.2:
        out.append(attr_of(rset, "seq", rng.choice([0, 1, 2**32 - 1, 2**32, 2**64 - 1])))
    for lim in ("bytes", "packets", "seconds"):
        for kind in ("soft", "hard"):
            if rng.random() < 0.08:
                out.append(attr_of(rset, "%s-%s" % (kind, lim),
                                   rng.choice([0, 1, 100, 10**6, 2**64 - 1])))
    rng.shuffle(out)
    return out


def random_request(f, rng):
    """A plausible request: a command, a device, then values drawn from the
    state, then rarely a wrong command number."""
    ops = list(spec.REQUESTS)
    weights = {"dev-get": 1, "tunnel-new": 3, "tunnel-del": 1, "sa-new": 3,
               "sa-del": 1, "tunnel-set": 3, "sa-get": 1, "spi-alloc": 1}
    op = rng.choices(ops, [weights[o] for o in ops])[0]
    rset = spec.REQUESTS[op][0]
    sel, name = dev_selector(f, rng, rset)
    dev = device_state(f, name)
    attrs = list(sel)
    flags = NLM_F_ACK
    if op == "dev-get":
        if rng.random() < 0.5:
            flags = NLM_F_DUMP
    elif op in ("tunnel-new", "tunnel-set"):
        attrs.append(leaf(rset, "tunnel", tunnel_fields(f, rng, spec.POLICIES[rset]["tunnel"][2],
                                                        dev, op == "tunnel-new")))
    elif op == "tunnel-del":
        attrs.append(leaf(rset, "tunnel", [attr_of("tunnel-del-input", "id",
                                                   pick_tunnel(rng, dev, 0.35)["id"])]))
    elif op == "sa-new":
        attrs.append(leaf(rset, "sa", sa_new_fields(f, rng, "sa-new-input", dev)))
    elif op in ("sa-del", "sa-get"):
        d, spi = pick_sa(rng, dev, 0.75 if op == "sa-get" else 0.35)
        attrs.append(leaf(rset, "sa", [attr_of("sa-id-input", "dir", d),
                                       attr_of("sa-id-input", "spi", spi)]))
    elif op == "spi-alloc" and rng.random() < 0.7:
        lo = rng.choice([1, 256, 0x1000, 0x1101, 0x5000, 2**32 - 1, rng.randint(1, 2**32 - 1)])
        hi = rng.choice([lo, lo + 1, lo + 63, lo + 64, 2**32 - 1, max(lo - 1, 1)])
        inner = []
        if rng.random() < 0.8:
            inner.append(attr_of("sa-spi-alloc-input", "spi-min", lo))
        if rng.random() < 0.8:
            inner.append(attr_of("sa-spi-alloc-input", "spi-max", min(hi, 2**32 - 1)))
        attrs.append(leaf(rset, "sa", inner))
    if rng.random() < 0.3:
        rng.shuffle(attrs)
    msg = Msg(op, attrs, flags)
    return msg


# What the kernel's strict validation refuses ------------------------------------
#
# A model of genetlink's checks and of nla_validate()'s, written from their
# documented rules and the spec's policies: a request it finds wrong must be
# refused, whatever the handler would do with it.

GOOD_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO


def string_bad(b, maxlen):
    """NLA_NUL_STRING: a NUL within maxlen + 1 bytes, and no longer than
    maxlen without the final NUL."""
    m = min(len(b), maxlen + 1)
    if not m or b"\0" not in b[:m]:
        return True
    return len(b) - (1 if b.endswith(b"\0") else 0) > maxlen


def raw_attrs(data):
    """Bytes as the kernel's nla_for_each_attr sees them, or None when
    something is left over (a strict parse refuses that)."""
    out = []
    while len(data) >= 4:
        alen, atype = struct.unpack("=HH", data[:4])
        if alen < 4 or alen > len(data):
            return None
        flags = atype & (NLA_F_NESTED | NLA_F_NET_BYTEORDER)
        out.append(Attr(atype & 0x3FFF, data[4:alen], flags))
        data = data[(alen + 3) & ~3:]
    return None if data else out


def payload_of(a):
    return b"".join(x.encode() for x in a.val) if a.nest() else a.val


def level_violation(attrs, rset):
    pol = spec.POLICIES[rset]
    bynum = {v[0]: (k,) + v[1:] for k, v in pol.items()}
    for a in attrs:
        if a.length is not None and a.length != 4 + len(payload_of(a)):
            return "an attribute's length lies"
        if a.atype == 0 or a.atype > max(bynum):
            return "attribute type %d unknown in %s" % (a.atype, rset)
        if a.atype not in bynum:
            return "attribute %d not in %s's policy" % (a.atype, rset)
        name, typ, nested, rules = bynum[a.atype]
        data = payload_of(a)
        if typ == "nest":
            if not a.flags & NLA_F_NESTED:
                return name + " without NLA_F_NESTED"
            inner = a.val if a.nest() else raw_attrs(data)
            if inner is None:
                return "bytes left over in " + name
            why = level_violation(inner, nested)
            if why:
                return why
            continue
        if a.flags & NLA_F_NESTED:
            return "NLA_F_NESTED on " + name
        if typ in PACK:
            if len(data) != SIZE[typ]:
                return "%s %s of %d bytes" % (typ, name, len(data))
            v = struct.unpack(PACK[typ], data)[0]
            if v < rules.get("min", 0) or v > rules.get("max", v):
                return "%s=%d out of range" % (name, v)
        elif typ == "flag":
            if data:
                return "flag %s with a payload" % name
        elif typ == "string":
            if string_bad(data, rules["max-len"]):
                return "string %s unterminated or too long" % name
        elif typ == "binary":
            lo = rules.get("exact-len", rules.get("min-len", 0))
            hi = rules.get("exact-len", rules.get("max-len", 1 << 16))
            if not lo <= len(data) <= hi:
                return "binary %s of %d bytes" % (name, len(data))
    return None


def policy_violation(msg):
    """Why genetlink or the command's policy refuses @msg, or None."""
    if msg.short:
        return "a genl header cut short"
    if msg.reserved:
        return "the reserved field not zero"
    flags = msg.flags & ~NLM_F_DUMP if msg.flags & NLM_F_DUMP == NLM_F_DUMP else msg.flags
    if flags & ~GOOD_FLAGS:
        return "flags 0x%x" % msg.flags
    ops = {v: k for k, v in spec.OPS.items() if k in spec.REQUESTS}
    if msg.cmd not in ops:
        return "command %d" % msg.cmd
    rset, do, dump = spec.REQUESTS[ops[msg.cmd]]
    if msg.flags & NLM_F_DUMP == NLM_F_DUMP and not dump:
        return "a dump of a command without one"
    if msg.tail:
        return "bytes after the last attribute"
    return level_violation(msg.attrs, rset)


# Mutations -----------------------------------------------------------------
#
# Each takes a message and a path to one of its attributes (indexes from
# the top) and changes it in place; policy_violation() then says whether
# it may still be accepted.

def paths(attrs, prefix=()):
    for i, a in enumerate(attrs):
        yield prefix + (i,)
        if a.nest():
            yield from paths(a.val, prefix + (i,))


def at(msg, path):
    """(the list holding the attribute, its index, that list's set)."""
    lst, rset = msg.attrs, msg.rset
    for i in path[:-1]:
        a = lst[i]
        lst, rset = a.val, a.rset
    return lst, path[-1], rset


def label(a):
    return a.name or str(a.atype)


def mut_drop(msg, path, rng=None):
    lst, i, _ = at(msg, path)
    msg.label += " drop:" + label(lst[i])
    del lst[i]


def mut_dup(msg, path, rng=None):
    lst, i, _ = at(msg, path)
    lst.insert(i + 1, lst[i].clone())
    msg.label += " dup:" + label(lst[i])


def mut_size(msg, path, rng, size=None):
    """A payload of another size: a wrong type or length.  A nest becomes
    raw bytes (random ones, or 0x11s whose lengths never fit)."""
    lst, i, _ = at(msg, path)
    a = lst[i]
    if size is None:
        size = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 17, 40, 300])
    if a.nest():
        a.val = (bytes(rng.getrandbits(8) for _ in range(size)) if rng
                 else b"\x11" * size)
    else:
        old = a.val or b"\x01"
        a.val = (old * (size // len(old) + 1))[:size]
    msg.label += " size%d:%s" % (size, label(a))


def mut_range(msg, path, rng, which=None):
    """An integer just outside its policy's range, or at the type's end."""
    lst, i, rset = at(msg, path)
    a = lst[i]
    if rset is None or a.name not in spec.POLICIES[rset] or a.nest():
        return mut_value(msg, path, rng or random.Random(0))
    typ, rules = spec.POLICIES[rset][a.name][1], spec.POLICIES[rset][a.name][3]
    if typ not in PACK:
        return mut_size(msg, path, rng, [0, 1, 17][(which or 0) % 3])
    top = 2 ** (8 * SIZE[typ]) - 1
    cands = [top]
    if rules.get("min", 0) > 0:
        cands.append(rules["min"] - 1)
    if rules.get("max", top) < top:
        cands.append(rules["max"] + 1)
    cands.append(0)
    v = cands[which % len(cands)] if which is not None else rng.choice(cands)
    a.val = struct.pack(PACK[typ], v)
    msg.label += " value:%s=%d" % (a.name, v)


def mut_value(msg, path, rng):
    lst, i, rset = at(msg, path)
    a = lst[i]
    typ = spec.POLICIES[rset][a.name][1] if rset and a.name in spec.POLICIES[rset] else None
    if typ in PACK and not a.nest():
        a.val = struct.pack(PACK[typ], edge(rng, typ, spec.POLICIES[rset][a.name][3]))
    elif not a.nest() and a.val:
        b = bytearray(a.val)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        a.val = bytes(b)
    msg.label += " flip:" + label(a)


def mut_flag(msg, path, rng=None):
    """NLA_F_NESTED taken off a nest, or put on what is not one."""
    lst, i, _ = at(msg, path)
    lst[i].flags ^= NLA_F_NESTED
    msg.label += " nested-flag:" + label(lst[i])


def mut_byteorder(msg, path, rng=None):
    lst, i, _ = at(msg, path)
    lst[i].flags ^= NLA_F_NET_BYTEORDER
    msg.label += " byteorder:" + label(lst[i])


def mut_wrap(msg, path, rng=None):
    """The attribute one level deeper, in a nest of its own type."""
    lst, i, _ = at(msg, path)
    a = lst[i]
    lst[i] = Attr(a.atype, [a], NLA_F_NESTED, a.name, a.rset)
    msg.label += " wrapped:" + label(a)


def mut_lie(msg, path, rng=None):
    """A length running past the end of what holds the attribute."""
    lst, i, _ = at(msg, path)
    a = lst[i]
    a.length = sum(len(x.encode()) for x in lst[i:]) + 4
    msg.label += " lie:" + label(a)


def mut_alien(msg, path, rng, atype=None):
    """An attribute this level's policy does not have, before @path."""
    lst, i, rset = at(msg, path)
    nums = {v[0] for v in spec.POLICIES[rset].values()} if rset else set()
    if atype is None:
        atype = rng.choice([0, max(nums or {0}) + 1, 0x3FFF, rng.randint(1, 40)])
    lst.insert(i, Attr(atype, struct.pack("=I", 1)))
    msg.label += " alien:%d" % atype


def mut_foreign(msg, path, rng):
    """One of another set's attributes in a nest."""
    lst, i, rset = at(msg, path)
    a = lst[i]
    if not a.nest():
        return mut_wrap(msg, path, rng)
    other = rng.choice([s for s in spec.POLICIES if s != a.rset])
    name = rng.choice(list(spec.POLICIES[other]))
    num, typ, nested, rules = spec.POLICIES[other][name]
    if typ == "nest":
        inner = Attr(num, [], NLA_F_NESTED)
    elif typ == "string":
        inner = Attr(num, b"esp0\0")
    else:
        inner = Attr(num, b"\x01" * SIZE.get(typ, rules.get("exact-len", 4)))
    a.val.insert(rng.randrange(len(a.val) + 1), inner)
    msg.label += " foreign:%s.%s" % (other, name)


MUTATIONS = [mut_drop, mut_dup, mut_size, mut_range, mut_value, mut_flag,
             mut_byteorder, mut_wrap, mut_lie, mut_alien, mut_foreign]


def mutate_header(msg, rng):
    r = rng.random()
    if r < 0.3:
        msg.cmd = rng.choice([0, 7, 9, 11, 99, 255])
        msg.label += " cmd%d" % msg.cmd
    elif r < 0.4:
        msg.reserved = rng.choice([1, 0x8000, 0xFFFF])
        msg.label += " reserved"
    elif r < 0.5:
        msg.version = rng.choice([0, 2, 255])
        msg.label += " version%d" % msg.version
    elif r < 0.6:
        msg.flags |= rng.choice([0x10, 0x20, 0x100, 0x200, 0x400, 0x800, NLM_F_ECHO])
        msg.label += " flags%x" % msg.flags
    elif r < 0.8:
        other = rng.choice([o for o in spec.OPS if o != msg.op])
        msg.cmd = spec.OPS[other]
        msg.label += " as:" + other
        msg.op = other
        msg.rset = spec.REQUESTS.get(other, (None,))[0]
    elif r < 0.9:
        msg.flags = NLM_F_DUMP
        msg.label += " dump"
    else:
        msg.tail = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3)))
        msg.label += " tail%d" % len(msg.tail)


def random_message(f, rng):
    msg = random_request(f, rng)
    n = rng.choices([0, 1, 2, 3], [40, 35, 15, 10])[0]
    for _ in range(n):
        ps = list(paths(msg.attrs))
        if rng.random() < 0.12 or not ps:
            mutate_header(msg, rng)
            continue
        rng.choice(MUTATIONS)(msg, rng.choice(ps), rng)
    return msg


# The systematic part -------------------------------------------------------

def valid_requests(f):
    """For each command, a request the kernel accepts, with every attribute
    of its policy that can go together: what the variants start from."""
    dev0 = f.devs[0]
    idx = f.ifindex[dev0]
    key = hashlib.sha256(b"nlfuzz-systematic").digest()[:36]

    def top(op, nest=None, attrs=(), flags=NLM_F_ACK):
        rset = spec.REQUESTS[op][0]
        out = [attr_of(rset, "ifindex", idx), attr_of(rset, "ifname", dev0)]
        if nest:
            nrset = spec.POLICIES[rset][nest][2]
            out.append(leaf(rset, nest, [attr_of(nrset, k, v) for k, v in attrs]))
        return Msg(op, out, flags)

    pins = [attr_of("pin", "ipv4", "169.254.20.1"), attr_of("pin", "ipv6", "fd20::1")]
    return [
        top("dev-get"),
        top("dev-get", flags=NLM_F_DUMP),
        top("tunnel-new", "tunnel", [
            ("id", 9), ("local-ipv4", "10.0.0.1"), ("remote-ipv4", "10.0.0.9"),
            ("weight", 3), ("pins", pins), ("keepalive", 0), ("dead-after", 0),
            ("encap", 1), ("encap-sport", 4500), ("encap-dport", 4509),
            ("nat-keepalive", 0)]),
        top("tunnel-new", "tunnel", [
            ("id", 10), ("local-ipv6", "fd00::1"), ("remote-ipv6", "fd00::10")]),
        top("tunnel-set", "tunnel", [
            ("id", 3), ("weight", 4), ("admin-state", 1), ("pins", pins),
            ("keepalive", 0), ("dead-after", 0), ("nat-keepalive", 0),
            ("remote-ipv4", "10.0.0.8"), ("encap-dport", 4502)]),
        top("tunnel-set", "tunnel", [("id", 2), ("remote-ipv6", "fd00::7")]),
        top("tunnel-del", "tunnel", [("id", 4)]),
        top("sa-new", "sa", [
            ("tunnel-id", 1), ("dir", 0), ("spi", 0x1105), ("key", key),
            ("esn", None), ("replay-window", 128), ("seq", 0),
            ("soft-bytes", 100), ("hard-bytes", 200), ("soft-packets", 10),
            ("hard-packets", 20), ("soft-seconds", 100), ("hard-seconds", 200)]),
        top("sa-del", "sa", [("dir", 0), ("spi", 0x1102)]),
        top("sa-get", "sa", [("dir", 1), ("spi", 0x1001)]),
        top("spi-alloc", "sa", [("spi-min", 0x7000), ("spi-max", 0x70FF)]),
    ]


def refusals(f):
    """Requests the policy takes and a handler must refuse, each for one
    reason, late in the handler: where a refusal may leave something half
    done.  The state is compared after each as after any refusal."""
    dev0 = f.devs[0]
    pin1 = [attr_of("pin", "ipv4", "169.254.10.1")]      # tunnel 1's

    def req(op, nest, attrs):
        rset = spec.REQUESTS[op][0]
        nrset = spec.POLICIES[rset][nest][2]
        m = Msg(op, [attr_of(rset, "ifname", dev0),
                     leaf(rset, nest, [attr_of(nrset, k, v) for k, v in attrs])])
        m.label += " must-refuse"
        m.refuse = True
        return m

    key = hashlib.sha256(b"nlfuzz-refusals").digest()[:20]
    return [
        # Another tunnel's pin, after a new remote end or UDP port.
        req("tunnel-set", "tunnel", [("id", 3), ("remote-ipv4", "10.0.0.8"), ("pins", pin1)]),
        req("tunnel-set", "tunnel", [("id", 3), ("encap-dport", 4600), ("pins", pin1)]),
        req("tunnel-set", "tunnel", [("id", 2), ("remote-ipv6", "fd00::7"),
                                     ("pins", [attr_of("pin", "ipv4", "169.254.10.1")])]),
        req("tunnel-set", "tunnel", [("id", 3), ("weight", 9), ("admin-state", 0),
                                     ("keepalive", 5), ("pins", pin1)]),
        # Another tunnel's pair of addresses, with settings before it.
        req("tunnel-set", "tunnel", [("id", 1), ("weight", 9), ("remote-ipv4", "10.0.0.3")]),
        req("tunnel-set", "tunnel", [("id", 3), ("encap-dport", 4600),
                                     ("remote-ipv4", "10.0.0.2")]),
        req("tunnel-set", "tunnel", [("id", 1), ("nat-keepalive", 5), ("weight", 9)]),
        req("tunnel-new", "tunnel", [("id", 9), ("local-ipv4", "10.0.0.1"),
                                     ("remote-ipv4", "10.0.0.9"), ("pins", pin1)]),
        req("tunnel-new", "tunnel", [("id", 9), ("local-ipv4", "10.0.0.1"),
                                     ("remote-ipv4", "10.0.0.3"), ("encap", 1)]),
        req("tunnel-new", "tunnel", [("id", 9), ("local-ipv4", "10.0.0.1"),
                                     ("remote-ipv4", "10.0.0.9"), ("encap", 1),
                                     ("encap-sport", 4500), ("remote-ipv6", "fd00::9")]),
        req("sa-new", "sa", [("tunnel-id", 2), ("dir", 0), ("spi", 0x1101), ("key", key)]),
        req("sa-new", "sa", [("tunnel-id", 2), ("dir", 1), ("spi", 0x1001), ("key", key)]),
        req("sa-new", "sa", [("tunnel-id", 1), ("dir", 1), ("spi", 0x1009),
                             ("key", hashlib.sha256(b"in-%d" % 0x1101).digest()[:20])]),
        req("sa-new", "sa", [("tunnel-id", 1), ("dir", 1), ("spi", 0x1009), ("key", key),
                             ("seq", 2**32)]),
        req("sa-new", "sa", [("tunnel-id", 1), ("dir", 0), ("spi", 0x1109), ("key", key),
                             ("soft-packets", 5), ("hard-packets", 4)]),
        req("sa-new", "sa", [("tunnel-id", 1), ("dir", 0), ("spi", 0x1109), ("key", key[:19] + b"\0" * 5)]),
        req("spi-alloc", "sa", [("spi-min", 0x1101), ("spi-max", 0x1101)]),
        req("spi-alloc", "sa", [("spi-min", 0x7001), ("spi-max", 0x7000)]),
    ]


def root_of(rset):
    """The full attribute set a request set is a subset of."""
    pol = spec.POLICIES[rset]
    for s, attrs in spec.SETS.items():
        if all(n in attrs and attrs[n][0] == pol[n][0] for n in pol):
            return s
    return rset


def wrong_sizes(typ, rules):
    """Payload sizes of other types and lengths off by one, for @typ."""
    if typ in SIZE:
        n = SIZE[typ]
        return sorted({0, 1, 2, 4, 8, n + 1, 300} - {n})
    if typ == "flag":
        return [1, 4]
    if typ == "string":
        return [0, rules["max-len"] + 2, 300]
    if typ == "binary":
        lo = rules.get("exact-len", rules.get("min-len", 0))
        hi = rules.get("exact-len", rules.get("max-len", 300))
        return sorted({0, 4, lo - 1, hi + 1, 300} - {-1})
    return [3, 8, 300]      # a nest as raw bytes


def attr_variants(typ, rules):
    """What is done to an attribute of a valid request, one at a time."""
    vs = [mut_drop, mut_dup, mut_flag, mut_byteorder, mut_wrap, mut_lie,
          lambda m, p: mut_alien(m, p, None, 0)]
    for size in wrong_sizes(typ, rules):
        vs.append(lambda m, p, s=size: mut_size(m, p, None, s))
    if typ in SIZE:
        for w in range(4):
            vs.append(lambda m, p, w=w: mut_range(m, p, None, w))

    def dup_bad(m, p):
        # The second copy wrong: the first must not hide it.
        mut_dup(m, p)
        mut_size(m, p[:-1] + (p[-1] + 1,), None, 300)
    vs.append(dup_bad)
    return vs


def systematic(f, full=True):
    """Every single mutation of every attribute of every valid request,
    every attribute each level's policy lacks, and the header's faults."""
    yield from refusals(f)
    for base in valid_requests(f):
        yield base.clone()
        if not full:
            continue
        for path in list(paths(base.attrs)):
            lst, i, rset = at(base, path)
            _, typ, _, rules = spec.POLICIES[rset][lst[i].name]
            seen = set()
            for v in attr_variants(typ, rules):
                m = base.clone()
                v(m, path)
                body = m.body()
                if body not in seen:
                    seen.add(body)
                    yield m
        levels = [((0,), base.rset)]
        for p in paths(base.attrs):
            a = at(base, p)[0][p[-1]]
            if a.nest() and a.val:
                levels.append((p + (0,), a.rset))
        for p, rset in levels:
            known = {v[0] for v in spec.POLICIES[rset].values()}
            full = {v[0] for v in spec.SETS[root_of(rset)].values()}
            for n in sorted(full - known) + [0, max(known) + 1, 0x3FFF]:
                m = base.clone()
                mut_alien(m, p, None, n)
                yield m
        for n, p in enumerate(paths(base.attrs)):
            if at(base, p)[0][p[-1]].nest():
                for k in range(3):
                    m = base.clone()
                    mut_foreign(m, p, random.Random(n * 3 + k))
                    yield m
        for change in ("cmd0", "cmd7", "cmd9", "cmd11", "cmd255", "reserved",
                       "short", "tail", "dump", "flags100", "flags400", "echo",
                       "version0", "version2"):
            m = base.clone()
            m.label += " " + change
            if change.startswith("cmd"):
                m.cmd = int(change[3:])
            elif change.startswith("flags"):
                m.flags |= int(change[5:], 16)
            elif change.startswith("version"):
                m.version = int(change[7:])
            elif change == "reserved":
                m.reserved = 1
            elif change == "short":
                m.short = True
            elif change == "tail":
                m.tail = b"\x01\x02"
            elif change == "dump":
                m.flags = NLM_F_DUMP
            elif change == "echo":
                m.flags |= NLM_F_ECHO
            yield m


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=10000)
    ap.add_argument("--systematic", choices=("full", "short", "none"), default="full",
                    help="short: the valid requests and the refusals only")
    ap.add_argument("--readonly", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--setup-only", action="store_true",
                    help="give the devices the baseline and exit")
    ap.add_argument("devs", nargs="+")
    args = ap.parse_args(argv)
    f = Fuzzer(args)
    t0 = time.monotonic()
    f.start()
    if args.setup_only:
        return 1 if f.findings else 0
    nsys = 0
    if args.systematic != "none":
        for msg in systematic(f, args.systematic == "full"):
            f.run(msg)
            nsys += 1
    tsys = time.monotonic() - t0
    rng = random.Random(args.seed)
    for _ in range(args.random):
        f.run(random_message(f, rng))
    f.finish()
    dt = time.monotonic() - t0
    total = nsys + args.random
    print("# nlfuzz: seed %d%s: %d requests (%d systematic in %.0f s, %d random), "
          "%d netlink messages in all, %.0f s" % (
              args.seed, " (read-only)" if args.readonly else "", total, nsys,
              tsys, args.random, f.sent, dt))
    for op in sorted(f.per_op):
        c = f.per_op[op]
        print("# nlfuzz:   %-18s %s" % (op, ", ".join(
            "%s %d" % kv for kv in sorted(c.items(), key=lambda kv: -kv[1]))))
    acc = f.counts.get("accepted", 0)
    print("# nlfuzz: accepted %d (%d changed the state: %d resets), refused %d: %s" % (
        acc, f.changed, f.resets, total - acc - f.counts.get("no answer", 0),
        ", ".join("%s %d" % (k, v) for k, v in sorted(f.counts.items(), key=lambda kv: -kv[1])
                  if k != "accepted")))
    if f.findings:
        print("# nlfuzz: %d findings" % len(f.findings))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
