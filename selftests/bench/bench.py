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
#   bench.py cost RAW ROUND tx|rx SIZE NS DST SECONDS PPS
#       (run in the initial namespace, as root: it drives tracefs) sends
#       UDP of SIZE bytes of payload from namespace NS to DST at PPS
#       packets/s, traces esptun's stages with the function_graph tracer
#       for SECONDS and appends their nanoseconds per packet to RAW.
#   bench.py overhead RAW ROUND
#       the tracer's own cost per traced call, and the time of a loop of
#       1-byte read and write system calls (dd), appended to RAW.
#   bench.py merge RESULTS OTHER
#       adds OTHER's costs (a run with another number of vCPUs) to RESULTS.
#   bench.py project RESULTS [HOST-JSON]
#       the host's AES-GCM speed (openssl speed) and system call loop (dd),
#       measured here unless HOST-JSON has them, and the projection of the
#       costs to this host's CPUs.
import builtins
import json
import os
import re
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
    runs, costs = {}, []
    with open(raw) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                if r.get("kind") in ("cost", "overhead"):
                    costs.append(r)
                    continue
                runs.setdefault((r["variant"], r["test"]), []).append(r)
    if costs:
        res["costs"] = cost_medians(costs, res["meta"].get("vcpus", "?"))
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
    if res.get("costs"):
        print()
        cost_table(res["costs"], print)
    return 0


# Two runs' stages agree when they differ by at most this much, or by at
# most COST_SLACK_NS (the tracer's noise on a stage of a few calls).
COST_TOLERANCE = 0.25
COST_SLACK_NS = 2000


def cost_table(costs, print):
    cols = sorted(costs, key=lambda v: int(v) if v.isdigit() else 0)
    both = len(cols) == 2
    print("esptun stage costs, ns per packet (function_graph, tracer's share"
          " taken off; medians)")
    print("%-22s %s%s" % ("", "".join("%12s" % ("%s vCPU%s" % (
        v, "" if v == "1" else "s")) for v in cols),
        "  difference" if both else ""))
    disagree = []
    for test in ("tx1440", "tx64", "rx1440", "rx64"):
        if not any(test in costs[v] for v in cols):
            continue
        label = "%s %s B" % ("TX" if test.startswith("tx") else "RX", test[2:])
        for stage in STAGE_ORDER:
            vals = [costs[v].get(test, {}).get("ns", {}).get(stage)
                    for v in cols]
            if all(x is None for x in vals):
                continue
            line = "%-8s %-13s %s" % (label, stage if stage != "aes" else
                                      "  of it AES", "".join(
                                          "%12s" % fmt(x, ".0f") for x in vals))
            label = ""
            if both and None not in vals:
                d = vals[1] - vals[0]
                rel = d / vals[0] if vals[0] > 0 else float("inf")
                ok = abs(rel) <= COST_TOLERANCE or abs(d) <= COST_SLACK_NS
                line += "  %+8.0f %+5.0f%%" % (d, 100 * rel) if vals[0] > 0 \
                    else "  %+8.0f" % d
                if stage in ("arrival", "crypto", "delivery") and not ok:
                    disagree.append("%s %s" % (test, stage))
            print(line)
        pps = [costs[v].get(test, {}).get("pps") for v in cols]
        print("%-8s %-13s %s" % ("", "(pkt/s)", "".join(
            "%12s" % fmt(x, ".0f") for x in pps)))
    for v in cols:
        o = costs[v].get("overhead", {})
        if o:
            print("tracer, %s vCPU(s): %s ns per traced call, %s ns of it "
                  "inside the call's time; dd 1-byte read+write %s ns" % (
                      v, fmt(o.get("call_ns"), ".0f"),
                      fmt(o.get("inside_ns"), ".0f"),
                      fmt(o.get("syscall_pair_ns"), ".0f")))
    if both:
        print("agreement (arrival, crypto, delivery within %d%% or %d ns): %s"
              % (100 * COST_TOLERANCE, COST_SLACK_NS,
                 "yes" if not disagree else "no: " + ", ".join(disagree)))


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
    costs = res.get("costs", {}).get(str(m.get("vcpus")), {})
    for test in ("tx1440", "tx64", "rx1440", "rx64"):
        for stage in ("arrival", "crypto", "delivery"):
            check("costs.%s.%s.ns_raw.%s" % (m.get("vcpus"), test, stage),
                  costs.get(test, {}).get("ns_raw", {}).get(stage))
    for k in ("inside_ns", "syscall_pair_ns"):
        check("costs.%s.overhead.%s" % (m.get("vcpus"), k),
              costs.get("overhead", {}).get(k))
    check("meta.vcpus", m.get("vcpus"))
    check("meta.seconds", m.get("seconds"))
    for k in ("date", "kernel", "crypto_driver"):
        ok = isinstance(m.get(k), str) and m[k] != ""
        print("%s meta.%s = %r" % ("ok" if ok else "FAIL", k, m.get(k)))
        bad += not ok
    return 1 if bad else 0


# The cost model: esptun's stages timed per packet with the function_graph
# tracer (Debian's kernel has no function profiler, CONFIG_FUNCTION_PROFILER).
# The tracer times every call of the functions in its filter, inclusive of
# what they call; the parser keeps each call's exclusive time (its duration
# less that of the traced calls nested in it, on its CPU) under its name and
# that of its nearest traced caller, so that work done on another CPU or in
# a worker (esptun_parallel_work, esptun_order_work, cryptd) is found where
# it ran, and nothing is counted twice.
TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
COST_TRACED = [
    "esptun_xmit", "esptun_rx4", "esptun_rx6",
    "esptun_esp_encrypt", "esptun_esp_decrypt",
    "esptun_tx_finish", "esptun_rx_finish", "esptun_rx_poll",
    "esptun_parallel_work", "esptun_order_work",
    # AES-NI's fallback when a softirq finds the FPU taken: the request
    # is done later in cryptd's worker, not in esptun_esp_encrypt().
    "cryptd_aead_encrypt", "cryptd_aead_decrypt",
    # The AES-GCM itself, inside the above: what the projection replaces
    # with the host's speed.
    "gcmaes_crypt_by_sg",
]
# Each stage's functions, "NAME" or "NAME<CALLER" (only where called from
# CALLER): exclusive times added up.  The XFRM peer runs the same AES-GCM
# and cryptd code, in the other direction: only what esptun called is
# esptun's.
COST_STAGES = {
    "tx": [("arrival", ["esptun_xmit"]),
           ("crypto", ["esptun_esp_encrypt", "cryptd_aead_encrypt",
                       "gcmaes_crypt_by_sg<esptun_esp_encrypt",
                       "gcmaes_crypt_by_sg<cryptd_aead_encrypt"]),
           ("aes", ["gcmaes_crypt_by_sg<esptun_esp_encrypt",
                    "gcmaes_crypt_by_sg<cryptd_aead_encrypt"]),
           ("delivery", ["esptun_tx_finish"]),
           ("workers", ["esptun_parallel_work", "esptun_order_work"])],
    "rx": [("arrival", ["esptun_rx4", "esptun_rx6"]),
           ("crypto", ["esptun_esp_decrypt", "cryptd_aead_decrypt",
                       "gcmaes_crypt_by_sg<esptun_esp_decrypt",
                       "gcmaes_crypt_by_sg<cryptd_aead_decrypt"]),
           ("aes", ["gcmaes_crypt_by_sg<esptun_esp_decrypt",
                    "gcmaes_crypt_by_sg<cryptd_aead_decrypt"]),
           ("delivery", ["esptun_rx_finish", "esptun_rx_poll"]),
           ("workers", ["esptun_parallel_work", "esptun_order_work"])],
}
COST_SIZES = {1440: 1412, 64: 64}
STAGE_ORDER = ["arrival", "crypto", "aes", "delivery", "workers"]


class Tracer:
    """The global trace instance, function_graph on a filter; reset() puts
    back what it found (nop, no filter, the buffer's size)."""

    def __init__(self):
        self.dir = next((d for d in TRACEFS
                         if os.path.exists(d + "/available_tracers")), None)
        if not self.dir:
            raise OSError("no tracefs")
        with open(self.path("available_tracers")) as f:
            if "function_graph" not in f.read().split():
                raise OSError("no function_graph tracer")
        self.kb = self.read("buffer_size_kb").split()[0]

    def path(self, name):
        return "%s/%s" % (self.dir, name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def write(self, name, value, append=False):
        with open(self.path(name), "a" if append else "w") as f:
            f.write(value)

    def start(self, funcs, kb=16384):
        """function_graph on @funcs (those the kernel has), not yet on."""
        self.write("tracing_on", "0")
        self.write("current_tracer", "nop")
        self.write("set_ftrace_filter", "")
        have = []
        for fn in funcs:
            try:
                self.write("set_ftrace_filter", fn, append=True)
                have.append(fn)
            except OSError:
                pass    # not in this kernel (cryptd not loaded, ...)
        if not have:
            raise OSError("none of %s traceable" % funcs)
        self.write("buffer_size_kb", str(kb))
        self.write("current_tracer", "function_graph")
        # Per-CPU files, durations, and the name on each closing brace.
        for opt, v in (("funcgraph-cpu", 0), ("funcgraph-proc", 0),
                       ("funcgraph-abstime", 0), ("funcgraph-overhead", 0),
                       ("funcgraph-duration", 1), ("funcgraph-tail", 1)):
            try:
                self.write("options/" + opt, str(v))
            except OSError:
                pass
        self.write("trace", "")
        return have

    def per_cpu(self):
        cpus = sorted(int(d[3:]) for d in os.listdir(self.path("per_cpu"))
                      if d.startswith("cpu"))
        for c in cpus:
            with open(self.path("per_cpu/cpu%d/trace" % c)) as f:
                yield c, f

    def reset(self):
        for name, v in (("tracing_on", "0"), ("current_tracer", "nop"),
                        ("set_ftrace_filter", ""), ("buffer_size_kb", self.kb),
                        ("tracing_on", "1")):
            try:
                self.write(name, v)
            except OSError:
                pass


GRAPH_LINE = re.compile(r"^\s*(?:[-+!#*@$]\s*)?(?:([\d.]+) us\s+)?\|\s*(.*?)\s*$")


def graph_calls(lines, calls, lost):
    """Add one CPU's function_graph output to @calls: "NAME<CALLER" ->
    [[exclusive ns of each call], traced calls nested in them].  A call
    still open at the end, or whose start was before the trace's, is left
    out (its nested calls are counted)."""
    stack = []    # [name, caller, ns of nested traced calls, their number]

    def done(name, caller, ns, sub_ns, sub_n):
        c = calls.setdefault("%s<%s" % (name, caller), [[], 0])
        c[0].append(ns - sub_ns)
        c[1] += sub_n
        if stack:
            stack[-1][2] += ns
            stack[-1][3] += 1
    for line in lines:
        if "[LOST" in line:
            m = re.search(r"LOST (\d+) EVENTS", line)
            lost[0] += int(m.group(1)) if m else 1
            stack = []
            continue
        m = GRAPH_LINE.match(line)
        if not m:
            continue
        dur, body = m.groups()
        ns = float(dur) * 1000 if dur else 0.0
        if body.endswith("{"):
            name = body.split("(")[0].split(" [")[0].strip()
            stack.append([name, stack[-1][0] if stack else "", 0.0, 0])
        elif body.endswith(");"):
            name = body.split("(")[0].split(" [")[0].strip()
            done(name, stack[-1][0] if stack else "", ns, 0.0, 0)
        elif body.startswith("}"):
            tail = re.search(r"/\*\s*(\S+)", body)
            if not stack or (tail and tail.group(1) != stack[-1][0]):
                stack = []
                continue
            name, caller, sub_ns, sub_n = stack.pop()
            done(name, caller, ns, sub_ns, sub_n)


# Under TCG on a busy host a vCPU is descheduled for milliseconds at a time,
# and the tracer's clock runs on: a call it hit looks hundreds of times
# longer than the others.  Calls longer than this many times their
# function's median are left out, and the others stand for them.
OUTLIER = 10


def summarize(calls):
    """@calls as "NAME<CALLER" -> [calls, exclusive ns (outliers left out,
    the rest scaled to all calls), nested traced calls, outliers]."""
    out = {}
    for key, (xs, sub) in calls.items():
        med = statistics.median(xs)
        kept = [x for x in xs if x <= OUTLIER * max(med, 1.0)]
        out[key] = [len(xs), sum(kept) * len(xs) / len(kept), sub,
                    len(xs) - len(kept)]
    return out


def stage_sum(calls, keys):
    """[calls, exclusive ns, nested traced calls, outliers] of a stage's
    functions, from summarize()."""
    tot = [0, 0.0, 0, 0]
    for key, c in calls.items():
        name, caller = key.split("<")
        if any(k == key or k == name for k in keys):
            tot = [a + b for a, b in zip(tot, c)]
    return tot


def cost(raw, rnd, direction, size, ns, dst, secs, pps):
    size, secs, pps = int(size), int(secs), int(pps)
    rec = {"round": int(rnd), "kind": "cost", "variant": "cost",
           "test": "%s%d" % (direction, size), "ns": ns, "pps_target": pps}
    try:
        tr = Tracer()
    except OSError as e:
        rec["error"] = str(e)
        return record(raw, rec)
    payload = COST_SIZES.get(size, size)
    try:
        rec["traced"] = tr.start(COST_TRACED)
        # A fixed rate well below what the guest carries, so that no queue
        # builds up and each stage is timed doing one packet's work.
        cli = subprocess.Popen(
            ["ip", "netns", "exec", ns, "iperf3", "-c", dst, "-p", "5201",
             "-u", "-l", str(payload), "-b", str(pps * payload * 8),
             "-t", str(secs + 4), "-J"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # iperf3's start-up (its control connection crosses the tunnel too)
        # stays out of the trace, and so does its end.
        time.sleep(2)
        tr.write("tracing_on", "1")
        t0 = time.monotonic()
        time.sleep(secs)
        tr.write("tracing_on", "0")
        window = time.monotonic() - t0
        out, err = cli.communicate(timeout=secs + 60)
        calls, lost = {}, [0]
        for _, f in tr.per_cpu():
            graph_calls(f, calls, lost)
    finally:
        tr.reset()
    calls = summarize(calls)
    try:
        j = json.loads(out)
    except ValueError:
        j = {"error": (err or out or "no output").strip()}
    if "error" in j:
        rec["error"] = j["error"]
        return record(raw, rec)
    rec["lost_pct"] = j["end"]["sum"].get("lost_percent")
    packets = stage_sum(calls, COST_STAGES[direction][0][1])[0]
    rec.update({"packets": packets, "window_s": round(window, 2),
                "pps": round(packets / window, 1), "lost_events": lost[0],
                "calls": {k: [v[0], round(v[1]), v[2], v[3]]
                          for k, v in sorted(calls.items())}})
    if not packets:
        rec["error"] = "no packet traced"
        return record(raw, rec)
    rec["stages"] = {}
    for stage, keys in COST_STAGES[direction]:
        n, excl, sub, odd = stage_sum(calls, keys)
        rec["stages"][stage] = {"ns": round(excl / packets, 1), "calls": n,
                                "nested": sub, "outliers": odd}
    return record(raw, rec)


def dd_min(count, runs=20):
    """Seconds, by dd's own clock (not counting its exec), of @count 1-byte
    reads of /dev/zero and writes to /dev/null: the fastest of @runs short
    runs.  Under TCG on a busy host a vCPU is descheduled for milliseconds
    at a time (on a busy host a process too), and the clock runs on: a run
    of a few milliseconds often escapes that, a long one never does."""
    best = None
    for _ in range(runs):
        p = subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=1",
                            "count=%d" % count], capture_output=True,
                           text=True)
        m = re.search(r"copied, ([\d.e-]+) s", p.stderr)
        if p.returncode or not m:
            raise OSError("dd: %s" % p.stderr.strip())
        best = float(m.group(1)) if best is None else \
            min(best, float(m.group(1)))
    return best


def dd_ns(short=500, long=2500, tries=5):
    """ns per read+write pair: the difference of a short and a long run
    leaves out what dd's clock also counts once per run (its buffer's first
    page faults, the dynamic linker's first calls: milliseconds under
    TCG).  On a loaded host every short run can be slowed more than the
    fastest long one, and the difference come out at zero or below (a CI
    run got -327 ns): measured again, and as the last resort the long
    runs' whole time per pair, an upper bound."""
    for _ in range(tries):
        d = dd_min(long) - dd_min(short)
        if d > 0:
            return 1e9 * d / (long - short)
    return 1e9 * dd_min(long) / long


def overhead(raw, rnd):
    """The tracer's cost per traced call: dd's loop with write_null traced
    against untraced (the hooks' whole cost, as the caller sees it), and
    the median duration the tracer reports for write_null (which does
    nothing: the part of that cost inside a call's own time)."""
    rec = {"round": int(rnd), "kind": "overhead", "variant": "cost",
           "test": "overhead"}
    try:
        tr = Tracer()
    except OSError as e:
        rec["error"] = str(e)
        return record(raw, rec)
    calls, lost = {}, [0]
    try:
        pair = dd_ns()
        plain = dd_min(2500)
        tr.start(["write_null"], kb=4096)
        tr.write("tracing_on", "1")
        traced = dd_min(2500)
        tr.write("tracing_on", "0")
        for _, f in tr.per_cpu():
            graph_calls(f, calls, lost)
    except OSError as e:
        rec["error"] = str(e)
        return record(raw, rec)
    finally:
        tr.reset()
    xs = [x for k, (v, _) in calls.items() if k.startswith("write_null<")
          for x in v]
    rec.update({"syscall_pair_ns": round(pair, 1),
                "call_ns": round(1e9 * (traced - plain) / 2500, 1),
                "inside_ns": round(statistics.median(xs), 1) if xs else None,
                "lost_events": lost[0]})
    return record(raw, rec)


def corrected(stage, ovh, packets):
    """A stage's ns per packet less the tracer's share: each of its calls
    times its own hooks' inner part, and each traced call nested in it the
    rest of that call's hooks."""
    if not ovh or ovh.get("call_ns") is None or ovh.get("inside_ns") is None:
        return None
    a = ovh["inside_ns"]
    o = max(ovh["call_ns"], a)
    return round(stage["ns"] - (a * stage["calls"] + (o - a) * stage["nested"])
                 / packets, 1)


def cost_medians(recs, vcpus):
    """Medians over rounds of the cost records of one run."""
    ovh = {r["round"]: r for r in recs if r.get("kind") == "overhead"
           and "error" not in r}
    out = {}
    if ovh:
        out["overhead"] = {k: round(statistics.median(
            [o[k] for o in ovh.values() if o.get(k) is not None]), 1)
            for k in ("call_ns", "inside_ns", "syscall_pair_ns")
            if any(o.get(k) is not None for o in ovh.values())}
    tests = sorted({r["test"] for r in recs if r.get("kind") == "cost"})
    for test in tests:
        rs = [r for r in recs if r.get("kind") == "cost" and r["test"] == test]
        good = [r for r in rs if "stages" in r]
        fig = {"runs": len(rs)}
        if not good:
            fig["error"] = rs[-1].get("error", "?")
            out[test] = fig
            continue
        for k in ("packets", "pps", "lost_pct", "lost_events"):
            vals = [r[k] for r in good if r.get(k) is not None]
            if vals:
                fig[k] = statistics.median(vals)
        # Calls left out as descheduled (summarize()), in percent.
        fig["outlier_pct"] = round(statistics.median(
            100.0 * sum(c[3] for c in r["calls"].values())
            / max(sum(c[0] for c in r["calls"].values()), 1)
            for r in good), 2)
        fig["ns"], fig["ns_raw"] = {}, {}
        for stage in STAGE_ORDER:
            raws = [r["stages"][stage]["ns"] for r in good
                    if stage in r["stages"]]
            cors = [corrected(r["stages"][stage], ovh.get(r["round"]),
                              r["packets"]) for r in good
                    if stage in r["stages"]]
            if raws:
                fig["ns_raw"][stage] = round(statistics.median(raws), 1)
            cors = [c for c in cors if c is not None]
            if cors:
                fig["ns"][stage] = round(statistics.median(cors), 1)
        out[test] = fig
    return {str(vcpus): out} if out else {}



def merge(path, other):
    """Another run's costs (the other vCPU count) into a results file."""
    with open(path) as f:
        res = json.load(f)
    with open(other) as f:
        add = json.load(f)
    res.setdefault("costs", {}).update(add.get("costs", {}))
    with open(path, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


# The projection: per-tunnel throughput on this host's CPUs.  Bytes of AES-GCM
# per packet: the inner packet, 2 trailer bytes, padded to 4.
PROJ_CORES = (1, 2, 8, 32, 64)
PROJ_BYTES = {1440: 1444, 64: 96}
INNER_LEN = {1440: 1440, 64: 92}
AWS_CAP_GBPS = 1.25


def openssl_speed(nbytes, secs=3, tries=2):
    """AES-128-GCM bytes/s over @nbytes buffers, by openssl speed (its CPU
    time: what a core does, whatever else the host runs); the best of
    @tries."""
    best = 0.0
    for _ in range(tries):
        p = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(secs),
                            "-bytes", str(nbytes), "-evp", "aes-128-gcm"],
                           capture_output=True, text=True)
        m = re.search(r"^\+F:\d+:[^:]+:([\d.]+)", p.stdout, re.M)
        if m:
            best = max(best, float(m.group(1)))
    if not best:
        raise OSError("openssl speed failed")
    return best


def host_figures():
    """This machine's AES-GCM speed and 1-byte read+write loop."""
    speed = {str(n): openssl_speed(n) for n in (96, 1024, 16384)}
    return {"openssl_bytes_per_s": speed, "syscall_pair_ns": round(dd_ns(), 1),
            "cpu": cpu_model()}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def aes_ns(speed, nbytes):
    """ns to encrypt @nbytes: measured at 96 bytes for the small packet, else
    the line through the 1024 and 16384-byte speeds (a per-call cost plus a
    per-byte one)."""
    if nbytes <= 96:
        return 1e9 * 96 / speed["96"]
    t1 = 1e9 * 1024 / speed["1024"]
    t2 = 1e9 * 16384 / speed["16384"]
    per_byte = (t2 - t1) / (16384 - 1024)
    return max(t1 - per_byte * 1024, 0.0) + per_byte * nbytes


def project(path, host=None, factor=None):
    with open(path) as f:
        res = json.load(f)
    costs = res.get("costs", {})
    cols = sorted((v for v in costs if v.isdigit()), key=int)
    if not cols:
        sys.exit("bench.py project: no costs in %s" % path)
    h = None
    if host and os.path.exists(host):
        with open(host) as f:
            h = json.load(f)
    if h is None:
        h = host_figures()
        if host:
            with open(host, "w") as f:
                json.dump(h, f, indent=1, sort_keys=True)
    # The guest's system call loop against the host's: how much slower TCG
    # runs kernel code (the crypto aside, which openssl measures itself).
    v = cols[-1]
    guest_dd = costs[v].get("overhead", {}).get("syscall_pair_ns")
    f = float(factor) if factor else guest_dd / h["syscall_pair_ns"]
    proj = {"vcpus_measured": v, "tcg_factor": round(f, 1),
            "tcg_factor_from": "given" if factor else
            "1-byte read+write: guest %.0f ns / host %.0f ns" % (
                guest_dd, h["syscall_pair_ns"]),
            "host": h, "figures": {}}
    for test in ("tx1440", "rx1440", "tx64", "rx64"):
        c = costs[v].get(test, {}).get("ns")
        if not c:
            continue
        size = int(test[2:])
        aes = aes_ns(h["openssl_bytes_per_s"], PROJ_BYTES[size])
        serial = (c["arrival"] + c["delivery"]) / f
        par = (c["crypto"] - c.get("aes", 0) + c.get("workers", 0)) / f + aes
        fig = {"arrival_ns": round(c["arrival"] / f, 1),
               "delivery_ns": round(c["delivery"] / f, 1),
               "crypto_ns": round(par, 1), "aes_ns": round(aes, 1),
               "serial_share": round(serial / (serial + par), 3),
               "cores": {}}
        for n in PROJ_CORES:
            pps = 1e9 / (serial + par / n)
            fig["cores"][str(n)] = {
                "pps": round(pps), "gbps": round(pps * INNER_LEN[size] * 8
                                                 / 1e9, 3),
                "bound": "serial" if serial > par / n else "crypto"}
        proj["figures"][test] = fig
    res["projection"] = proj
    with open(path, "w") as fo:
        json.dump(res, fo, indent=1, sort_keys=True)
        fo.write("\n")
    projection_table(proj, builtins.print)
    return 0


def projection_table(proj, print):
    h = proj["host"]
    sp = h["openssl_bytes_per_s"]
    print("projection to this host (%s) from the %s-vCPU costs: TCG factor "
          "%.1f (%s); AES-128-GCM %.2f / %.2f / %.2f GB/s at 96 / 1024 / "
          "16384 B" % (
              h.get("cpu", "?"), proj["vcpus_measured"], proj["tcg_factor"],
              proj.get("tcg_factor_from", "?"), sp["96"] / 1e9,
              sp["1024"] / 1e9, sp["16384"] / 1e9))
    print("%-8s %8s %8s %8s %6s  %s" % (
        "", "arrival", "deliver", "crypto", "serial",
        "  ".join("%15s" % ("%d core%s" % (n, "s" if n > 1 else ""))
                  for n in PROJ_CORES)))
    for test, fig in proj["figures"].items():
        print("%-8s %8.0f %8.0f %8.0f %5.0f%%  %s" % (
            test, fig["arrival_ns"], fig["delivery_ns"], fig["crypto_ns"],
            100 * fig["serial_share"], "  ".join(
                "%7.2fG %6.0fk%s" % (c["gbps"], c["pps"] / 1000,
                                     "*" if c["bound"] == "serial" else " ")
                for c in fig["cores"].values())))
    print("(ns per packet on this host; Gbit/s of inner packets and kpkt/s per "
          "tunnel by Amdahl's law; * where the serial stages bound it)")


if __name__ == "__main__":
    cmds = {"measure": measure, "share": share, "anomalies": anomalies,
            "assemble": assemble, "table": table, "validate": validate,
            "cost": cost, "overhead": overhead, "merge": merge,
            "project": project}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: bench.py %s ..." % "|".join(cmds))
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
