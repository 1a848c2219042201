#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# The Python half of the benchmark (standard library only, so that the guest's
# /usr/bin/python3 and a gateway's python3 both run it):
#
#   bench.py measure RAW ROUND VARIANT TEST NS DST FLOWS tcp|udp64 SECONDS [PID]
#       (run in namespace NS, which it only records: one `ip netns exec` for
#       all the clients) runs FLOWS iperf3 clients at once against DST (ports
#       5201..); append one JSON object to RAW and print it: receiver Mbit/s
#       and sender TCP retransmits, or receiver packets/s for 64-byte UDP;
#       with the PID of a process in the receiving namespace, also the XFRM
#       error counters that moved there (/proc/PID/net/xfrm_stat).
#   bench.py share RAW ROUND BEFORE AFTER
#       each tunnel's share of the packets sent between two `esptun show
#       --json` dumps, appended to RAW as the 2-tunnel run's annotation.
#   bench.py anomalies ESPTUN-JSON
#       esptun's non-zero drop counters in a `esptun show --json` dump.
#   bench.py assemble RAW OUT KEY=VALUE...
#       medians of the raw measurements plus the metadata (and the crypto
#       driver that serves rfc4106(gcm(aes)), from /proc/crypto) and the
#       ratios, written to OUT.
#   bench.py table RESULTS
#       the fixed-width table of a results file.
#   bench.py validate RESULTS
#       every figure present, numeric and (but retransmits) non-zero; prints
#       one "ok"/"FAIL" line per figure, exits 1 on any failure.
import builtins
import json
import os
import statistics
import subprocess
import sys
import time

# Variants measured, in table order: (key, label).
VARIANTS = [
    ("esptun_tx", "esptun -> XFRM"),
    ("esptun_rx", "XFRM -> esptun"),
    ("xfrm", "XFRM <-> XFRM"),
    ("veth", "veth, no crypto"),
]
TESTS = ["tcp1", "tcp8", "udp64"]
ECMP = [("esptun_1tun", "esptun 1 tunnel"), ("esptun_2tun", "esptun 2 tunnels")]
# With the peer on the build host (BENCH_PEER=host), XFRM is a gateway too
# and is measured both ways, and the peer is user space on the host.
HOST_VARIANTS = [
    ("esptun_tx", "esptun -> host"),
    ("esptun_rx", "host -> esptun"),
    ("xfrm", "XFRM -> host"),
    ("xfrm_rx", "host -> XFRM"),
    ("veth", "no crypto -> host"),
]
# 64-byte datagrams from the host: its sender would flood the guest far
# beyond what TCG receives, and take a host core from the guest's vCPUs.
HOST_UDP_RATE = "16M"

# Ratios reported: key -> (numerator, denominator, test, metric, target).
# The targets are the issue's; they are printed next to the ratio, not
# enforced: the benchmark reports, it does not judge.
RATIOS = {
    "tcp1_esptun_tx_over_xfrm": ("esptun_tx", "xfrm", "tcp1", "mbps", 1.6),
    "tcp1_esptun_rx_over_xfrm": ("esptun_rx", "xfrm", "tcp1", "mbps", 1.6),
    "tcp8_esptun_tx_over_xfrm": ("esptun_tx", "xfrm", "tcp8", "mbps", None),
    "tcp8_esptun_rx_over_xfrm": ("esptun_rx", "xfrm", "tcp8", "mbps", None),
    "udp64_esptun_tx_over_xfrm": ("esptun_tx", "xfrm", "udp64", "pps", 1.5),
    "udp64_esptun_rx_over_xfrm": ("esptun_rx", "xfrm", "udp64", "pps", 1.5),
    "tcp8_2tun_over_1tun": ("esptun_2tun", "esptun_1tun", "tcp8", "mbps", 1.0),
    "tcp1_xfrm_over_veth": ("xfrm", "veth", "tcp1", "mbps", None),
    "tcp1_esptun_tx_over_veth": ("esptun_tx", "veth", "tcp1", "mbps", None),
}


def iperf3(dst, port, mode, secs, pin):
    cmd = ["iperf3", "-c", dst, "-p", str(port), "-t", str(secs), "-J"]
    if mode.endswith("_r"):
        # The server sends: the host-peer mode's receiving direction.
        cmd += ["-R"]
        mode = mode[:-2]
        if mode == "udp64":
            cmd += ["-u", "-l", "64", "-b", HOST_UDP_RATE]
            mode = ""
    if pin:
        # One flow: the sender on the first CPU, the receiver on the last,
        # for every variant alike.  Left to the scheduler, the two ended up
        # on one CPU in some runs and not in others, which moved a
        # variant's figure by up to 2x from one run to the next.
        cmd += ["-A", "0,%d" % (os.cpu_count() - 1)]
    if mode == "udp64":
        # 64-byte payloads as fast as one sender thread can write them.
        cmd += ["-u", "-l", "64", "-b", "0"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def xfrm_stat(pid):
    """A namespace's XFRM MIB, read through a process living in it: no
    `ip netns exec` (an exec costs a tenth of a second under TCG)."""
    if not pid:
        return {}
    try:
        with open("/proc/%s/net/xfrm_stat" % pid) as f:
            return {k: int(v) for k, v in (l.split() for l in f)}
    except OSError:
        return {}


def tcp_ext(path):
    """TcpExt counters from a netstat file: /proc/self/net/netstat is the
    sender's namespace (bench.py runs there), /proc/PID/net/netstat the
    receiver's."""
    try:
        with open(path) as f:
            lines = [l.split() for l in f if l.startswith("TcpExt:")]
        return dict(zip(lines[0][1:], map(int, lines[1][1:])))
    except (OSError, IndexError):
        return {}


# Reordering as TCP sees it: the sender detecting it (SACK, timestamps,
# duplicate ACKs), the receiver queueing segments that arrive out of order.
REORDER = ("TCPSACKReorder", "TCPTSReorder", "TCPRenoReorder")


def softnet_dropped():
    """Packets dropped because a CPU's backlog was full (netif_rx, as veth
    uses): the second column of /proc/net/softnet_stat, all CPUs."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(l.split()[1], 16) for l in f)


def cpu_times():
    """Each CPU's /proc/stat jiffies: user nice system idle iowait irq
    softirq steal ..."""
    with open("/proc/stat") as f:
        return [[int(x) for x in line.split()[1:]] for line in f
                if line.startswith("cpu") and line[3].isdigit()]


def cpu_load(before, after):
    """Per CPU, the share of the time busy (not idle, not waiting for I/O)
    and the share in softirq, in percent: whether a CPU was left to
    spare, and where the packet work ran."""
    busy, soft = [], []
    for b, a in zip(before, after):
        d = [y - x for x, y in zip(b, a)]
        total = sum(d[:8]) or 1
        busy.append(round(100.0 * (total - d[3] - d[4]) / total, 1))
        soft.append(round(100.0 * d[6] / total, 1))
    return busy, soft


def measure(raw, rnd, variant, test, ns, dst, flows, how, secs, pid=""):
    flows, secs = int(flows), int(secs)
    mode = how[:-2] if how.endswith("_r") else how
    rec = {"round": int(rnd), "variant": variant, "test": test, "ns": ns}
    mib = xfrm_stat(pid)
    backlog = softnet_dropped()
    cpus = cpu_times()
    tx_tcp = tcp_ext("/proc/self/net/netstat")
    rx_tcp = tcp_ext("/proc/%s/net/netstat" % pid) if pid else {}
    # iperf3 3.12 (Debian 12) runs all -P streams in one thread, so -P 8
    # would measure one sender CPU: one process per flow instead, each with
    # its own server port.
    for attempt in range(3):
        procs = [iperf3(dst, 5201 + i, how, secs, flows == 1)
                 for i in range(flows)]
        res, busy = [], False
        for p in procs:
            try:
                out, err = p.communicate(timeout=secs + 60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            try:
                j = json.loads(out)
            except ValueError:
                j = {"error": (err or out or "no output").strip()}
            if "error" in j:
                # A server still finishing the previous test refuses.
                busy = busy or "busy" in j["error"]
            res.append(j)
        errors = [r["error"] for r in res if "error" in r]
        if not errors:
            break
        if not busy or attempt == 2:
            rec["error"] = "; ".join(errors)
            return record(raw, rec)
        time.sleep(2)

    out = rec
    out["flows"] = flows
    after = xfrm_stat(pid)
    moved = {k: v - mib.get(k, 0) for k, v in after.items()
             if v != mib.get(k, 0)}
    if moved:
        out["rx_xfrm_errors"] = moved
    out["backlog_drops"] = softnet_dropped() - backlog
    out["cpu_busy_pct"], out["cpu_softirq_pct"] = cpu_load(cpus, cpu_times())
    if mode == "tcp":
        a = tcp_ext("/proc/self/net/netstat")
        out["tcp_reorder_seen"] = sum(a.get(k, 0) - tx_tcp.get(k, 0)
                                      for k in REORDER)
        if pid:
            b = tcp_ext("/proc/%s/net/netstat" % pid)
            out["rx_ofo_segments"] = (b.get("TCPOFOQueue", 0)
                                      - rx_tcp.get("TCPOFOQueue", 0))
    if mode == "udp64":
        rx = [r["end"]["sum_received"] for r in res]
        tx = [r["end"]["sum_sent"] for r in res]
        got = sum(x["packets"] - x["lost_packets"] for x in rx)
        out["pps"] = sum((x["packets"] - x["lost_packets"]) / x["seconds"]
                         for x in rx)
        out["sent_pps"] = sum(x["packets"] / x["seconds"] for x in tx)
        sent = sum(x["packets"] for x in tx)
        out["lost_pct"] = 100.0 * (sent - got) / sent if sent else 0.0
    else:
        out["mbps"] = sum(r["end"]["sum_received"]["bits_per_second"]
                          for r in res) / 1e6
        out["retransmits"] = sum(r["end"]["sum_sent"].get("retransmits", 0)
                                 for r in res)
        out["flow_mbps"] = [round(r["end"]["sum_received"]["bits_per_second"]
                                  / 1e6, 2) for r in res]
    return record(raw, out)


def record(raw, rec):
    line = json.dumps(rec)
    with open(raw, "a") as f:
        f.write(line + "\n")
    print(line)
    return 1 if "error" in rec else 0


def share(raw, rnd, before, after):
    def tx(path):
        with open(path) as f:
            return [t["tx_packets"] for t in json.load(f)[0]["tunnels"]]
    d = [y - x for x, y in zip(tx(before), tx(after))]
    return record(raw, {"round": int(rnd), "variant": "esptun_2tun",
                        "test": "tcp8", "tunnel_share":
                        [round(x / sum(d), 3) if sum(d) else 0 for x in d]})


def anomalies(path):
    with open(path) as f:
        d = json.load(f)[0]
    for k, v in sorted(d["stats"].items()):
        if v and "packets" not in k and "bytes" not in k:
            print("esptun %s %s %d" % (d["ifname"], k, v))
    return 0


def proc_crypto():
    algs, cur = [], {}
    with open("/proc/crypto") as f:
        for line in f:
            if not line.strip():
                if cur:
                    algs.append(cur)
                cur = {}
                continue
            k, _, v = line.partition(":")
            cur[k.strip()] = v.strip()
    if cur:
        algs.append(cur)
    return algs


def crypto():
    """The driver an rfc4106(gcm(aes)) transform gets: the highest priority
    implementation among those in use (refcnt > 1: an SA holds it), else the
    highest priority registered one.  XFRM's outbound SAs wrap it in seqiv
    (XFRM lets the crypto layer make IVs; esptun makes its own)."""
    algs = proc_crypto()

    def best(name):
        c = [a for a in algs if a.get("name") == name]
        used = [a for a in c if int(a.get("refcnt", "1")) > 1]
        c = used or c
        if not c:
            return ""
        return max(c, key=lambda a: int(a.get("priority", "0")))["driver"]
    return {"crypto_driver": best("rfc4106(gcm(aes))"),
            "xfrm_out_driver": best("seqiv(rfc4106(gcm(aes)))")}


def assemble(raw, outpath, *meta):
    res = {"meta": crypto(), "results": {}, "ratios": {}, "targets": {}}
    for kv in meta:
        k, _, v = kv.partition("=")
        try:
            v = json.loads(v)
        except ValueError:
            pass
        res["meta"][k] = v
    runs = {}
    with open(raw) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs.setdefault((r["variant"], r["test"]), []).append(r)
    for (variant, test), rs in runs.items():
        # Records with no figure annotate the measurement (tunnel_share).
        fig = {"runs": len([r for r in rs if "mbps" in r or "pps" in r
                            or "error" in r])}
        for k in ("mbps", "retransmits", "pps", "sent_pps", "lost_pct",
                  "backlog_drops", "tcp_reorder_seen", "rx_ofo_segments"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                m = statistics.median(vals)
                fig[k] = round(m, 2) if isinstance(m, float) else m
        for k in ("cpu_busy_pct", "cpu_softirq_pct"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                fig[k] = [round(statistics.median(c), 1) for c in zip(*vals)]
        errs = {}
        for r in rs:
            for k, v in r.get("rx_xfrm_errors", {}).items():
                errs[k] = errs.get(k, 0) + v
        if errs:
            fig["rx_xfrm_errors"] = errs
        for k in ("flow_mbps", "tunnel_share", "error"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                fig[k] = vals[-1]
        res["results"].setdefault(variant, {})[test] = fig
    for key, (num, den, test, metric, target) in RATIOS.items():
        den = denominator(res["results"], num, den)
        try:
            a = res["results"][num][test][metric]
            b = res["results"][den][test][metric]
            res["ratios"][key] = round(a / b, 3) if b else None
        except KeyError:
            res["ratios"][key] = None
        if target is not None:
            res["targets"][key] = target
    with open(outpath, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def variants(res):
    """The variants a results file has, in table order, with labels."""
    vs = HOST_VARIANTS if res["meta"].get("peer") == "host" else VARIANTS
    return [(k, l) for k, l in vs + ECMP if k in res["results"]]


def denominator(results, num, den):
    """esptun receiving is compared with XFRM receiving where XFRM was
    measured that way (the host-peer mode)."""
    return "xfrm_rx" if num == "esptun_rx" and "xfrm_rx" in results else den


def table(path):
    with open(path) as f:
        res = json.load(f)
    vs = variants(res)

    def print(*a):
        builtins.print(*(x.rstrip() for x in a))
    m, r = res["meta"], res["results"]
    print("esptun benchmark  %s" % m.get("date", "?"))
    print("kernel %s, %s vCPUs, %s, %s s per test, median of %s round(s)"
          % (m.get("kernel", "?"), m.get("vcpus", "?"), m.get("accel", "?"),
             m.get("seconds", "?"), m.get("rounds", "?")))
    print("rfc4106(gcm(aes)) driver: %s (XFRM out: %s)"
          % (m.get("crypto_driver", "?"), m.get("xfrm_out_driver", "?")))
    print()
    print("%-18s %-19s %-19s %-16s" % (
        "", "  1 TCP flow", "  %s TCP flows" % m.get("flows", 8),
        "  64 B UDP"))
    print("%-18s %10s %8s %10s %8s %10s %5s" % (
        "", "Mbit/s", "retrans", "Mbit/s", "retrans", "rx pkt/s", "lost%"))
    for key, label in vs:
        row = r.get(key, {})
        t1, t8, u = row.get("tcp1", {}), row.get("tcp8", {}), row.get("udp64", {})
        print("%-18s %10s %8s %10s %8s %10s %5s" % (
            label, fmt(t1.get("mbps"), ".1f"), fmt(t1.get("retransmits"), "d"),
            fmt(t8.get("mbps"), ".1f"), fmt(t8.get("retransmits"), "d"),
            fmt(u.get("pps"), ".0f"), fmt(u.get("lost_pct"), ".1f")))
    share = r.get("esptun_2tun", {}).get("tcp8", {}).get("tunnel_share")
    if share:
        print("%-18s packets per tunnel: %s" % ("", " / ".join(
            "%.0f%%" % (100 * s) for s in share)))
    print()
    print("TCP reordering: receiver out-of-order segments / "
          "sender-detected reorderings")
    for key, label in vs:
        cells = []
        for test in ("tcp1", "tcp8"):
            fig = r.get(key, {}).get(test, {})
            cells.append("%8s / %-8s" % (fmt(fig.get("rx_ofo_segments"), "d"),
                                         fmt(fig.get("tcp_reorder_seen"), "d")))
        print("%-18s %s    %s" % (label, cells[0], cells[1]))
    print()
    print("CPU busy %, each CPU (of which softirq), medians")
    for key, label in vs:
        cells = []
        for test in TESTS:
            fig = r.get(key, {}).get(test, {})
            busy, soft = fig.get("cpu_busy_pct"), fig.get("cpu_softirq_pct")
            cells.append(" ".join("%3.0f(%2.0f)" % bs for bs in zip(busy, soft))
                         if busy and soft else "-")
        print("%-18s %s" % (label, "  |  ".join(
            "%s %s" % (t, c) for t, c in zip(TESTS, cells) if c != "-")))
    print()
    print("%-46s %7s %7s" % ("ratios", "", "target"))
    for key, (num, den, test, metric, target) in RATIOS.items():
        v = res["ratios"].get(key)
        label = "%s %s / %s" % (
            {"tcp1": "1 flow", "tcp8": "%s flows" % m.get("flows", 8),
             "udp64": "64 B pkt/s"}[test],
            dict(vs).get(num, num),
            dict(vs).get(denominator(r, num, den), den))
        print("%-46s %6sx %7s" % (label, fmt(v, ".2f"),
                                 ">=%.1fx" % target if target else ""))
    for key, label in vs:
        for test in TESTS:
            fig = r.get(key, {}).get(test, {})
            if fig.get("backlog_drops"):
                print("note: %s, %s: %d packets dropped on a full CPU backlog"
                      % (label, test, fig["backlog_drops"]))
            errs = fig.get("rx_xfrm_errors")
            if errs:
                print("note: %s, %s: at the XFRM receiver %s" % (
                    label, test, ", ".join("%s +%d" % kv
                                           for kv in sorted(errs.items()))))
    for note in m.get("anomalies", []):
        print("note: %s" % note)
    return 0


def validate(path):
    with open(path) as f:
        res = json.load(f)
    bad = 0

    def check(desc, v, nonzero=True):
        nonlocal bad
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and \
            v == v and (v > 0 if nonzero else v >= 0)
        print("%s %s = %r" % ("ok" if ok else "FAIL", desc, v))
        bad += not ok
    for key, _ in VARIANTS:
        for test in TESTS:
            fig = res["results"].get(key, {}).get(test, {})
            if test == "udp64":
                check("%s.%s.pps" % (key, test), fig.get("pps"))
            else:
                check("%s.%s.mbps" % (key, test), fig.get("mbps"))
                check("%s.%s.retransmits" % (key, test),
                      fig.get("retransmits"), nonzero=False)
    for key, _ in ECMP:
        fig = res["results"].get(key, {}).get("tcp8", {})
        check("%s.tcp8.mbps" % key, fig.get("mbps"))
        check("%s.tcp8.retransmits" % key, fig.get("retransmits"), False)
    for key in RATIOS:
        check("ratios.%s" % key, res["ratios"].get(key))
    m = res["meta"]
    check("meta.vcpus", m.get("vcpus"))
    check("meta.seconds", m.get("seconds"))
    for k in ("date", "kernel", "crypto_driver"):
        ok = isinstance(m.get(k), str) and m[k] != ""
        print("%s meta.%s = %r" % ("ok" if ok else "FAIL", k, m.get(k)))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    cmds = {"measure": measure, "share": share, "anomalies": anomalies,
            "assemble": assemble, "table": table, "validate": validate}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: bench.py %s ..." % "|".join(cmds))
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
