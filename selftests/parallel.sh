#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: exclusive
#   (ftrace counts every namespace's esptun calls, and its busy loops take
#   every CPU but one)
#
# Parallel crypto (parallel.c): one tunnel's packets are encrypted and
# decrypted on every CPU although they all reach esptun on one CPU, and a
# sender that crypto cannot keep up with is held back in the qdisc: the
# device stops its queue (tx.c, backpressure) instead of dropping.
#
# Where work ran is read from ftrace: the function tracer on esptun's entry
# points (esptun_xmit, esptun_rx4), on its crypto (esptun_esp_encrypt,
# esptun_esp_decrypt) and on delivery (esptun_rx_poll, esptun_rx_finish),
# counted per CPU.  Senders are pinned to CPU 0 with
# taskset; without RPS a veth hands packets to the backlog of the CPU that
# sent them, so ESP from the XFRM peer reaches esptun on CPU 0 too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || skip_all "needs 2 CPUs or more"
command -v taskset >/dev/null || skip_all "taskset missing"
T=/sys/kernel/tracing
[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
[ -w $T/set_ftrace_filter ] || skip_all "no function tracer"
# Starting and stopping the function tracer also hooks a scheduler
# tracepoint to record task names, patching kernel text on every CPU; in
# a multi-threaded TCG guest that patching once livelocked (CPU 0 looping
# in exc_int3, a soft lockup in tracing_set_tracer).  The counts need CPU
# and function only, so patch no more than the traced functions.
echo 0 > $T/options/record-cmd

topo_setup 4

# udp NS SRC DST N SIZE [SNDBUF]: send N datagrams of SIZE bytes from CPU 0,
# as fast as the socket takes them; prints how many it sent, and on a
# second line how many the stack refused with ENOBUFS (a qdisc's drop,
# which IP_RECVERR reports).  A big SNDBUF (SO_SNDBUFFORCE) lets the sender
# run ahead of crypto; with UDP_RT set it runs as a real-time task.
udp() {
	ip netns exec "$1" taskset -c 0 ${UDP_RT:+chrt -f 50} python3 -S -c '
import socket, sys
src, dst, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if len(sys.argv) > 5:
    s.setsockopt(socket.SOL_SOCKET, 32, int(sys.argv[5]))  # SO_SNDBUFFORCE
s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
s.bind((src, 0))
data, sent, refused = bytes(size), 0, 0
for _ in range(n):
    try:
        s.sendto(data, (dst, 9))
        sent += 1
    except OSError as e:
        if e.errno == 105:  # ENOBUFS
            refused += 1
print(sent)
print(refused)' "${@:2}"
}

# traced FUNCS... -- CMD...: run CMD with the function tracer on FUNCS;
# then $counts holds "FUNC CPU N" lines, entries per function and CPU.
traced() {
	local funcs=()
	while [ "$1" != -- ]; do funcs+=("$1"); shift; done
	shift
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo nop > $T/current_tracer
	printf '%s\n' "${funcs[@]}" > $T/set_ftrace_filter
	echo function > $T/current_tracer
	echo 1 > $T/tracing_on
	"$@"
	echo 0 > $T/tracing_on
	# "  <task>-<pid> [CPU] flags timestamp: function <-caller"
	counts=$(awk '!/^#/ { for (i = 1; i <= NF; i++) if ($i ~ /^\[[0-9]+\]$/) {
			cpu = substr($i, 2, length($i) - 2) + 0; f = $(i + 3); break }
		c[f " " cpu]++ } END { for (k in c) print k, c[k] }' $T/trace)
	echo nop > $T/current_tracer
	echo > $T/set_ftrace_filter
	[ "$(awk '/^overrun:/ { s += $2 } END { print s + 0 }' $T/per_cpu/cpu*/stats)" = 0 ] ||
		log "the trace buffer overran: counts are low"
}
# calls FUNC CPU: from $counts
calls() { awk -v f="$1" -v c="$2" '$1 == f && $2 == c { print $3 }' <<<"$counts" | grep . || echo 0; }
# spread FUNC TOTAL: does every CPU do at least a quarter of its share?
spread() {
	local cpu n per=() ok=1
	for cpu in $(seq 0 $((ncpu - 1))); do
		n=$(calls "$1" "$cpu")
		per+=("$n")
		[ $((n * ncpu * 4)) -ge "$2" ] || ok=0
	done
	log "$1 per CPU: ${per[*]} (of $2)"
	[ $ok = 1 ]
}

ctr() { jget "t[\"$1\"]"; }
# counted CTR FROM N CMD...: CMD, then wait until the tunnel's CTR is N past
# FROM.  Encryption, decryption and delivery go on after the sender has
# returned, on other CPUs: traced must not stop the tracer before they
# are done (on a loaded guest, it saw 1325 deliveries of 2000).
counted() {
	local c=$1 from=$2 n=$3
	shift 3
	"$@"
	busywait 5 _grown "$c" "$from" "$n"
}
_grown() { [ $(($(ctr "$1") - $2)) -ge "$3" ]; }
gw python3 "$SELFTESTS/flows.py" sink $GW4 &
sink_gw=$!
peer python3 "$SELFTESTS/flows.py" sink $PEER4 &
sink_peer=$!
# Bound, or the first datagrams would meet ICMP port unreachable.
sinks_bound() {
	[ -n "$(gw ss -Huan 'sport = :9')" ] && [ -n "$(peer ss -Huan 'sport = :9')" ]
}
busywait 10 sinks_bound || fail "the UDP sinks did not bind"

# TX: 2000 datagrams from CPU 0, the socket's default buffer pacing them.
tx0=$(ctr tx_packets)
vdrop0=$(link_stat gw veth0 tx.dropped)
traced esptun_xmit esptun_esp_encrypt -- \
	counted tx_packets "$tx0" 2000 udp gw $GW4 $PEER4 2000 1000 >/dev/null
wait_eq "2000 datagrams sent through the tunnel" 5 2000 \
	eval 'echo $(($(ctr tx_packets) - tx0))'
# A burst can overflow the peer's backlog (netdev_max_backlog), which the
# veth counts as its own tx_dropped: that one is not esptun's to count.
vdrop=$(($(link_stat gw veth0 tx.dropped) - vdrop0))
[ "$vdrop" -eq 0 ] || log "the peer's backlog dropped $vdrop of them"
decrypted() {
	got=$(($(peer_xfrm_packets $SPI_OUT $GW_OUT $PEER_OUT) + vdrop))
	[ "$got" -ge 2000 ]
}
busywait 5 decrypted
check_eq "the peer decrypted all the others" "$got" 2000
[ "$got" -eq 2000 ] ||
	log "the peer's XFRM errors: $(peer cat /proc/net/xfrm_stat | awk '$2 != 0' | tr '\n' ' ')"
check_eq "esptun_xmit ran on CPU 0 only" "$(calls esptun_xmit 0)" 2000
if spread esptun_esp_encrypt 2000; then
	pass "encryption of one tunnel ran on every CPU"
else
	fail "encryption of one tunnel did not spread over the CPUs"
fi

# RX: 2000 datagrams from the peer's CPU 0.
rx0=$(ctr rx_packets)
traced esptun_rx4 esptun_esp_decrypt esptun_rx_finish esptun_rx_poll -- \
	counted rx_packets "$rx0" 2000 udp peer $PEER4 $GW4 2000 1000 >/dev/null
wait_eq "2000 datagrams received through the tunnel" 5 2000 \
	eval 'echo $(($(ctr rx_packets) - rx0))'
check_eq "their ESP reached esptun on CPU 0 only" "$(calls esptun_rx4 0)" 2000
# total FUNC: calls on every CPU
total() {
	local cpu n=0
	for cpu in $(seq 0 $((ncpu - 1))); do n=$((n + $(calls "$1" "$cpu"))); done
	echo $n
}
# Delivery is the tunnel's NAPI poll's (order.c), which takes what finished
# meanwhile in one go: fewer polls than packets.  It polls on the tunnel's
# CPU, which is not the arrival CPU: that one is busy enough with the ESP
# input.
polls=$(total esptun_rx_poll)
log "the tunnel's NAPI polled $polls times for 2000 packets"
check_eq "each packet was handed on once" "$(total esptun_rx_finish)" 2000
check "and in batches, fewer polls than packets" test "$polls" -ge 1 -a "$polls" -lt 2000
check_eq "none was handed on to the stack from CPU 0" "$(calls esptun_rx_finish 0)" 0
if spread esptun_esp_decrypt 2000; then
	pass "decryption of one tunnel ran on every CPU"
else
	fail "decryption of one tunnel did not spread over the CPUs"
fi
check_eq "no packet was dropped on the way" \
	"$(jget '(t["tx_errors"], t["rx_drops"], t["rx_replay"])')" "(0, 0, 0)"

# Backpressure: crypto is starved (a real-time sender on CPU 0 and a
# real-time busy loop on every other CPU leave the workers, ordinary
# kernel threads, the 5% RT throttling allows) while a sender with a 64 MiB
# socket buffer runs ahead.  Once ESPTUN_TX_STOP (512) of the tunnel's
# packets wait, the device stops its queue: the qdisc holds what comes and
# drops past its limit, where tc counts it and the sender hears ENOBUFS.
# esptun drops nothing: every datagram the stack took leaves, once the
# CPUs are free again.  (Before, its rings dropped, as tx_errors.)
dev0=$(jget 'd["stats"]["tx_errors"]')
qdrops() {
	gw tc -s -j qdisc show dev esp0 | py '
import json, sys
print(sum(q.get("drops", 0) for q in json.load(sys.stdin)))'
}
# What reached gw's veth: sent to the peer, or dropped there for the
# peer's full backlog (veth's tx_dropped).  ARP counts there too: up to 3
# unicast probes when the neighbour entry goes stale during a slow run
# (the debug kernel), so ESP alone is counted as well, where IP hands it
# to the veth (nftables, POSTROUTING).
into_veth() { echo $(($(link_stat gw veth0 tx.packets) + $(link_stat gw veth0 tx.dropped))); }
gw nft -f - <<-EOF || fail "nft: ESP counter on veth0"
	table ip parallel {
		chain post {
			type filter hook postrouting priority 0; policy accept;
			oifname "veth0" ip protocol esp counter
		}
	}
EOF
esp_out() {
	gw nft list chain ip parallel post |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
check "esp0 has a qdisc to hold back packets" \
	eval '! gw tc qdisc show dev esp0 | grep -q noqueue'
# A plain FIFO, so that every drop is the sender's to hear (fq_codel, the
# guest's default, also drops late, at dequeue).
gw tc qdisc replace dev esp0 root pfifo limit 200
tx0=$(ctr tx_packets) err0=$(ctr tx_errors) wire0=$(into_veth) espw0=$(esp_out)
q0=$(qdrops)
hogs=()
for cpu in $(seq 1 $((ncpu - 1))); do
	chrt -f 50 taskset -c "$cpu" sh -c 'while :; do :; done' &
	hogs+=($!)
done
out=$(UDP_RT=1 udp gw $GW4 $PEER4 10000 1200 $((64 << 20)))
kill "${hogs[@]}"
wait "${hogs[@]}" 2>/dev/null
sent=$(sed -n 1p <<<"$out") refused=$(sed -n 2p <<<"$out")
wait_eq "every datagram the stack took was encrypted and sent on" 10 "$sent" \
	eval 'echo $(($(ctr tx_packets) - tx0))'
dtx=$(($(ctr tx_packets) - tx0)) derr=$(($(ctr tx_errors) - err0))
dq=$(($(qdrops) - q0))
log "backpressure: $sent taken, $refused refused, $dtx encrypted and sent on, $derr dropped by esptun, $dq by the qdisc"
check_eq "esptun dropped none" "$derr" 0
check_eq "the device counts no tx_errors" \
	"$(($(jget 'd["stats"]["tx_errors"]') - dev0))" 0
if [ "$dq" -gt 0 ]; then
	pass "the stopped queue left the excess to the qdisc, which dropped $dq"
else
	fail "the qdisc dropped nothing: the queue never stopped, or the sender never ran ahead"
fi
check_eq "the sender heard of each of the qdisc's drops" "$refused" "$dq"
check_eq "every datagram was taken or refused" $((sent + refused)) 10000
# Into the veth, not at the peer: the burst that follows may overflow the
# peer's own backlog, which is not esptun's to count.  ESP exactly; ARP
# probes may go out meanwhile, so the veth's own count is a lower bound.
desp=$(($(esp_out) - espw0)) wire=$(($(into_veth) - wire0))
check_eq "every packet esptun counted as sent left IP for the veth as ESP" "$desp" "$dtx"
if [ "$wire" -ge "$dtx" ]; then
	pass "the veth took them all ($wire packets, ARP included)"
else
	fail "esptun sent on $dtx packets, $wire reached the veth"
fi
gw nft delete table ip parallel
check "the tunnel still carries traffic" gw ping -c 2 -W 5 $PEER4

# starved RT NS SRC DST N: the flood above with crypto starved again, the
# sender real-time if RT is 1; prints what the sender's udp() prints.
starved() {
	local rt=$1 hogs=() cpu out
	shift
	for cpu in $(seq 1 $((ncpu - 1))); do
		chrt -f 50 taskset -c "$cpu" sh -c 'while :; do :; done' &
		hogs+=($!)
	done
	out=$(UDP_RT=${rt#0} udp "$@" 1200 $((64 << 20)))
	kill "${hogs[@]}"
	wait "${hogs[@]}" 2>/dev/null
	echo "$out"
}

# Without a qdisc nothing holds packets back: what the tunnel's in-order
# ring (2048) cannot take is dropped and counted as tx_overload.
gw tc qdisc replace dev esp0 root noqueue
tx0=$(ctr tx_packets) ov0=$(ctr tx_overload) err0=$(ctr tx_errors)
sent=$(starved 1 gw $GW4 $PEER4 6000 | sed -n 1p)
busywait 10 eval '[ $(($(ctr tx_packets) - tx0 + $(ctr tx_overload) - ov0)) -ge "$sent" ]'
dtx=$(($(ctr tx_packets) - tx0)) dov=$(($(ctr tx_overload) - ov0))
log "noqueue: $sent taken, $dtx sent on, $dov dropped as tx_overload"
check_eq "noqueue: every datagram taken was sent on or counted as tx_overload" \
	$((dtx + dov)) "$sent"
if [ "$dov" -gt 0 ]; then
	pass "noqueue: the full ring dropped $dov, counted as tx_overload"
else
	fail "noqueue: the sender never filled the tunnel's ring: nothing tested"
fi
check_eq "noqueue: and nothing as tx_errors" "$(($(ctr tx_errors) - err0))" 0

# Inbound the network cannot be held back: ESP arriving faster than the
# starved CPUs decrypt it overflows the tunnel's ring, counted as
# rx_overload.  Every packet the peer sent reached esptun or was dropped
# by the veth (the gateway's backlog full, the peer's tx_dropped).
rx0=$(ctr rx_packets) rov0=$(ctr rx_overload) rd0=$(ctr rx_drops)
psent0=$(peer_xfrm_packets $SPI_IN $PEER_OUT $GW_OUT)
vd0=$(link_stat peer veth0 tx.dropped)
# The sender is an ordinary task this time: a real-time one would starve
# its CPU's ksoftirqd, and the veth's backlog (1000, not this namespace's
# to change) would overflow before esptun's ring.  And the busy loops get
# all of their CPUs for the burst's few seconds (no RT throttling): the
# sender's CPU, which also encrypts for XFRM and takes the ESP in, is
# slower than the one handing packets on, which the throttling's 5% would
# otherwise let keep up.
rt=$(sysctl -n kernel.sched_rt_runtime_us)
sysctl -qw kernel.sched_rt_runtime_us=-1
starved 0 peer $PEER4 $GW4 6000 >/dev/null
sysctl -qw kernel.sched_rt_runtime_us="$rt"
psent=$(($(peer_xfrm_packets $SPI_IN $PEER_OUT $GW_OUT) - psent0))
_rx_accounted() {
	[ $(($(ctr rx_packets) - rx0 + $(ctr rx_overload) - rov0 + $(ctr rx_drops) - rd0 +
		$(link_stat peer veth0 tx.dropped) - vd0)) -ge "$psent" ]
}
busywait 10 _rx_accounted
drx=$(($(ctr rx_packets) - rx0)) drov=$(($(ctr rx_overload) - rov0))
drd=$(($(ctr rx_drops) - rd0)) dvd=$(($(link_stat peer veth0 tx.dropped) - vd0))
log "inbound: the peer sent $psent, esptun delivered $drx, dropped $drov as rx_overload and $drd as rx_drops, the veth $dvd"
check_eq "inbound: every packet delivered or dropped and counted once" \
	$((drx + drov + drd + dvd)) "$psent"
if [ "$drov" -gt 0 ]; then
	pass "inbound: the full ring dropped $drov, counted as rx_overload"
else
	fail "inbound: the peer never filled the tunnel's ring: nothing tested"
fi
check_eq "inbound: the device counts them in rx_dropped" \
	"$(jget 'd["stats"]["rx_overload"]')" "$drov"

# Every loop with BH off has a budget (order.c, parallel.c): floods with
# crypto starved, both ways, leave no soft lockup, RCU stall or hung task.
check_eq "no soft lockup, RCU stall or hung task in the kernel log" \
	"$(dmesg | grep -cE 'soft lockup|rcu.*stall|blocked for more than')" 0

kill $sink_gw $sink_peer 2>/dev/null
finish
