#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh OUT: the benchmark proper, as root with esptun loaded (in the
# test guest, or on a gateway).  selftests/bench/run is the front end.
#
# Three pairs of namespaces, all alive for the whole run, so that the
# variants are measured one right after the other and share whatever else
# the machine is doing at the time (ratios are what count):
#
#   gw  --veth--  peer     esptun on gw, plain XFRM on peer (topology.sh)
#   xgw --veth--  xpeer    XFRM tunnel mode on both ends
#   vgw --veth--  vpeer    plain routing, no encryption
#
# Every pair has the same addresses: outer 10.0.0.1/10.0.0.2, inner
# 172.16.0.1 (gw side) and 172.16.1.1 (peer side), the same
# rfc4106(gcm(aes)) keys (128-bit AES key + salt, 128-bit ICV) and the same
# inner MTU, 1446: what XFRM computes for ESP over a 1500-byte IPv4 path, so
# every variant carries the same TCP segment sizes.
#
# With BENCH_PEER=host (selftests/bench/host-peer) the peer is not in the
# guest: the guest's NIC leads to the build host, where esppeer.c ends two
# ESP tunnels (in user space, with the host's AES-NI) and the iperf3
# servers run.  Then gw alone holds the gateway side of every variant, each
# with its inner networks:
#
#   esptun: 172.16.0.0/24 -- 172.16.1.0/24, SPIs 0x1000/0x2000
#   XFRM:   172.17.0.0/24 -- 172.17.1.0/24, SPIs 0x3000/0x4000
#   plain:  172.18.0.0/24 -- 172.18.1.0/24, routed
#
# and the receiving direction is iperf3's reverse mode (-R).
#
# Environment: BENCH_TIME (seconds per test, default 10), BENCH_ROUNDS
# (rounds, medians reported, default 1), BENCH_FLOWS (default 8),
# BENCH_ACCEL (recorded only: kvm, tcg or host), BENCH_TESTS (which
# measurements, of "tcp1 tcp8 udp64 ecmp cost", default all: a partial run,
# for trying a change, leaves the other figures out), BENCH_COST_PPS (the
# cost measurement's packet rate, default 1000).
#
# cost: esptun's stages timed per packet by the kernel's function_graph
# tracer (bench.py cost), UDP at a fixed rate of 1412 bytes of payload (a
# 1440-byte inner packet) and of 64, each way between gw and peer, and the
# tracer's own cost per call (bench.py overhead).  Not in the host-peer
# mode.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../topology.sh
. "$ESPTUN_REPO/selftests/topology.sh"

out=${1:?usage: bench.sh OUT}
secs=${BENCH_TIME:-10}
rounds=${BENCH_ROUNDS:-1}
nflows=${BENCH_FLOWS:-8}
tests=${BENCH_TESTS:-tcp1 tcp8 udp64 ecmp cost}
for t in $tests; do
	case $t in tcp1|tcp8|udp64|ecmp|cost) ;; *) echo "bench: unknown test $t in BENCH_TESTS" >&2; exit 2 ;; esac
done
cost_pps=${BENCH_COST_PPS:-1000}
peer_at=${BENCH_PEER:-guest}
case $peer_at in guest|host) ;; *) echo "bench: BENCH_PEER is guest or host" >&2; exit 2 ;; esac
BENCH_PY=$ESPTUN_REPO/selftests/bench/bench.py
INNER_MTU=1446

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
[ -d /sys/module/esptun ] || { echo "bench: esptun module not loaded" >&2; exit 1; }
for c in iperf3 python3 ss; do
	command -v $c >/dev/null || { echo "bench: $c missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/esptun-bench.XXXXXX)
raw=$work/raw.jsonl
: > "$raw"

# iperf3 servers are daemons: kill the ones we started (by pid file), then
# let lib.sh delete the namespaces.
# shellcheck disable=SC2317 # called by the EXIT trap
bench_cleanup() {
	local f t
	# An interrupted cost measurement leaves the tracer on.
	for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -f "$work/traced" ] && [ -w "$t/current_tracer" ] &&
			echo nop > "$t/current_tracer" && : > "$t/set_ftrace_filter"
	done
	for f in "$work"/*.pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$work"
	_cleanup
}
trap bench_cleanup EXIT

# pair NAME-A NAME-B: namespaces A and B, veth between them with the outer
# addresses, a dummy LAN on each with the inner address, then the rest of
# each end's configuration from stdin: "a: COMMAND" and "b: COMMAND" lines
# for `ip -batch`.  One ip process per namespace: under TCG every exec
# costs a tenth of a second or more.
pair() {
	local a=$1 b=$2 cmds
	cmds=$(cat)
	new_netns "$a" "$b"
	ip link add veth0 netns "$a" type veth peer name veth0 netns "$b"
	ip -n "$a" -batch - <<-EOB || exit 1
		addr add 10.0.0.1/24 dev veth0
		link set veth0 up
		link add lan0 type dummy
		addr add 172.16.0.1/24 dev lan0
		link set lan0 up
		$(sed -n 's/^a: //p' <<<"$cmds")
	EOB
	ip -n "$b" -batch - <<-EOB || exit 1
		addr add 10.0.0.2/24 dev veth0
		link set veth0 up
		link add lan0 type dummy
		addr add 172.16.1.1/24 dev lan0
		link set lan0 up
		$(sed -n 's/^b: //p' <<<"$cmds")
	EOB
}

# xfrm_end LOCAL REMOTE LNET RNET SPI_OUT KEY_OUT SPI_IN KEY_IN: the
# `ip -batch` lines of one end of an XFRM tunnel, states and policies as
# strongSwan would install them (the same as topology.sh's peer).
xfrm_end() {
	local l=$1 r=$2 ln=$3 rn=$4
	cat <<-EOC
		xfrm state add src $l dst $r proto esp spi $5 mode tunnel aead rfc4106(gcm(aes)) $6 128 replay-window 128
		xfrm state add src $r dst $l proto esp spi $7 mode tunnel aead rfc4106(gcm(aes)) $8 128 replay-window 128
		xfrm policy add src $ln dst $rn dir out tmpl src $l dst $r proto esp mode tunnel
		xfrm policy add src $rn dst $ln dir in tmpl src $r dst $l proto esp mode tunnel
	EOC
}

setup() {
	# (a) esptun on gw, XFRM on peer: the test topology, inner MTU as XFRM's.
	topo_setup 4
	ip -n gw link set esp0 mtu $INNER_MTU

	# (b) XFRM on both ends; the route only has to exist, the policy
	# catches the packets.
	{
		xfrm_end 10.0.0.1 10.0.0.2 172.16.0.0/24 172.16.1.0/24 \
			"$SPI_OUT" "$KEY_OUT" "$SPI_IN" "$KEY_IN" | sed 's/^/a: /'
		xfrm_end 10.0.0.2 10.0.0.1 172.16.1.0/24 172.16.0.0/24 \
			"$SPI_IN" "$KEY_IN" "$SPI_OUT" "$KEY_OUT" | sed 's/^/b: /'
		echo "a: route add 172.16.1.0/24 via 10.0.0.2 src 172.16.0.1"
		echo "b: route add 172.16.0.0/24 via 10.0.0.1 src 172.16.1.1"
	} | pair xgw xpeer

	# (c) plain routing; the route MTU gives TCP the same segments.
	pair vgw vpeer <<-EOC
		a: route add 172.16.1.0/24 via 10.0.0.2 src 172.16.0.1 mtu $INNER_MTU
		b: route add 172.16.0.0/24 via 10.0.0.1 src 172.16.1.1 mtu $INNER_MTU
	EOC

	# ECMP: a second outer address on peer, as AWS's second tunnel, and an
	# inbound policy that accepts ESP from either (as ecmp.sh).  esptun's
	# tunnel 2 is only added for the 2-tunnel measurement.
	# Each pair's wire orders packets as a NIC would (topology.sh).
	veth_rss gw peer xgw xpeer vgw vpeer

	ip -n peer -batch - <<-EOB || exit 1
		addr add 10.0.0.3/24 dev veth0
		xfrm policy update src 172.16.0.0/24 dst 172.16.1.0/24 dir in tmpl proto esp mode tunnel
	EOB
}

# The host-peer topology (see the top); the host's side is host-peer's.
setup_host() {
	local nic
	modprobe virtio_net 2>/dev/null
	for _ in $(seq 50); do
		nic=$(ip -o link show | awk -F': ' '$2 != "lo" { print $2; exit }')
		[ -n "$nic" ] && break
		sleep 0.1
	done
	[ -n "$nic" ] || { echo "bench: the guest has no NIC (BENCH_PEER=host needs host-peer)" >&2; exit 1; }
	new_netns gw
	ip link set "$nic" netns gw name eth0 || exit 1
	ip -n gw -batch - <<-EOB || exit 1
		addr add 10.0.0.1/24 dev eth0
		link set eth0 up
		link add lan0 type dummy
		addr add 172.17.0.1/24 dev lan0
		addr add 172.18.0.1/24 dev lan0
		link set lan0 up
		$(xfrm_end 10.0.0.1 10.0.0.2 172.17.0.0/24 172.17.1.0/24 \
			0x3000 "$KEY_OUT" 0x4000 "$KEY_IN")
		route add 172.17.1.0/24 via 10.0.0.2 src 172.17.0.1
		route add 172.18.1.0/24 via 10.0.0.2 src 172.18.0.1 mtu $INNER_MTU
		link add esp0 type esptun
		addr add 172.16.0.1/24 dev esp0
		link set esp0 mtu $INNER_MTU up
		route add 172.16.1.0/24 dev esp0 src 172.16.0.1
	EOB
	if ! gw esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2 ||
	   ! gw esptun sa add esp0 tunnel 1 dir out spi "$SPI_OUT" key "$KEY_OUT" ||
	   ! gw esptun sa add esp0 tunnel 1 dir in spi "$SPI_IN" key "$KEY_IN"; then
		echo "bench: esptun setup failed" >&2
		exit 1
	fi
	# The host answers once its side is up; ARP and the tunnels with it.
	for _ in $(seq 50); do
		ip netns exec gw ping -c 1 -W 1 172.16.1.1 >/dev/null 2>&1 &&
			ip netns exec gw ping -c 1 -W 1 172.17.1.1 >/dev/null 2>&1 &&
			return
	done
	echo "bench: the host's peer does not answer through the tunnels" >&2
	exit 1
}

# servers NS ADDR: iperf3 servers on ports 5201.. bound to the inner
# address, one per flow: an iperf3 3.12 server runs one test at a time.
servers() {
	local ns=$1 addr=$2
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$ns" sh -c 'for p in $(seq 5201 $((5200 + $3))); do
		iperf3 -s -D -B "$2" -p $p --pidfile "$4.$p.pid" >/dev/null 2>&1 || exit 1
	done' - "$ns" "$addr" "$nflows" "$work/$ns" ||
		{ echo "bench: iperf3 servers in $ns failed" >&2; exit 1; }
	for _ in $(seq 100); do
		[ "$(ip netns exec "$ns" ss -Hltn "sport >= :5201 and sport <= :$((5200 + nflows))" |
			wc -l)" -ge "$nflows" ] && return
		sleep 0.2
	done
	echo "bench: iperf3 servers in $ns not listening" >&2
	exit 1
}

# run ROUND VARIANT TEST NS DST FLOWS MODE: one measurement, appended to
# the raw file.  (python3 -S: the guest's site setup costs a second under
# TCG, and the standard library is all bench.py needs.)
# The receiving namespace's XFRM error counters are read through one of
# its iperf3 servers.
run() {
	local res rx pid=
	case $4 in
	gw) rx=peer ;;
	peer) rx=gw ;;
	*) rx=${4%gw}peer ;;
	esac
	[ -f "$work/$rx.5201.pid" ] && pid=$(cat "$work/$rx.5201.pid")
	res=$(ip netns exec "$4" python3 -S "$BENCH_PY" measure "$raw" "$@" "$secs" "$pid")
	local rc=$?
	echo "# $res"
	return $rc
}

# costs ROUND: the tracer's cost per call, then each stage's ns per packet,
# both sizes, both ways.  In this (the initial) namespace: tracefs is not
# in `ip netns exec`'s fresh /sys.
costs() {
	local res rc=0 size
	: > "$work/traced"
	res=$(python3 -S "$BENCH_PY" overhead "$raw" "$1") || rc=1
	echo "# $res"
	for size in 1440 64; do
		res=$(python3 -S "$BENCH_PY" cost "$raw" "$1" tx $size gw 172.16.1.1 "$secs" "$cost_pps") || rc=1
		echo "# $res" | cut -c1-400
		res=$(python3 -S "$BENCH_PY" cost "$raw" "$1" rx $size peer 172.16.0.1 "$secs" "$cost_pps") || rc=1
		echo "# $res" | cut -c1-400
	done
	return $rc
}

if [ "$peer_at" = host ]; then
	setup_host
	tests=${tests/ecmp/}
	tests=${tests/cost/}
else
	setup
	servers peer 172.16.1.1
	servers gw 172.16.0.1
	servers xpeer 172.16.1.1
	servers vpeer 172.16.1.1
fi
echo "# setup done: $(nproc) CPUs, $secs s per test, $rounds round(s)"

errors=0
for r in $(seq "$rounds"); do
	for t in $tests; do
		case $t in
		ecmp) continue ;;
		cost) costs "$r" || errors=$((errors + 1)); continue ;;
		tcp1) n=1 mode=tcp ;;
		tcp8) n=$nflows mode=tcp ;;
		udp64) n=1 mode=udp64 ;;
		esac
		if [ "$peer_at" = host ]; then
			run "$r" esptun_tx "$t" gw 172.16.1.1 "$n" "$mode" || errors=$((errors + 1))
			run "$r" xfrm "$t" gw 172.17.1.1 "$n" "$mode" || errors=$((errors + 1))
			run "$r" veth "$t" gw 172.18.1.1 "$n" "$mode" || errors=$((errors + 1))
			run "$r" esptun_rx "$t" gw 172.16.1.1 "$n" "${mode}_r" || errors=$((errors + 1))
			run "$r" xfrm_rx "$t" gw 172.17.1.1 "$n" "${mode}_r" || errors=$((errors + 1))
			continue
		fi
		run "$r" esptun_tx "$t" gw 172.16.1.1 "$n" "$mode" || errors=$((errors + 1))
		run "$r" xfrm "$t" xgw 172.16.1.1 "$n" "$mode" || errors=$((errors + 1))
		run "$r" veth "$t" vgw 172.16.1.1 "$n" "$mode" || errors=$((errors + 1))
		run "$r" esptun_rx "$t" peer 172.16.0.1 "$n" "$mode" || errors=$((errors + 1))
	done
	case " $tests " in *" ecmp "*) ;; *) continue ;; esac
	# 1 tunnel, then 2: back to back.  A new outbound SPI each round, so
	# that the peer's replay window never sees a sequence number again.
	run "$r" esptun_1tun tcp8 gw 172.16.1.1 "$nflows" tcp || errors=$((errors + 1))
	# A key of its own: one key on two tunnels would repeat nonces
	# (the kernel refuses it).
	spi=$((0x1100 + r))
	k2=$(new_key)
	peer_xfrm_state $spi 10.0.0.1 10.0.0.3 "$k2"
	if ! gw esptun tunnel add esp0 id 2 local 10.0.0.1 remote 10.0.0.3 ||
	   ! gw esptun sa add esp0 tunnel 2 dir out spi $spi key "$k2"; then
		echo "bench: cannot add tunnel 2" >&2
		errors=$((errors + 1))
	fi
	gw esptun show esp0 --json > "$work/before.json"
	run "$r" esptun_2tun tcp8 gw 172.16.1.1 "$nflows" tcp || errors=$((errors + 1))
	gw esptun show esp0 --json > "$work/after.json"
	# Which share of the packets each tunnel carried: the flow hash decides,
	# so 8 flows are not always 4 and 4.
	echo "# $(python3 -S "$BENCH_PY" share "$raw" "$r" "$work/before.json" "$work/after.json")"
	gw esptun tunnel del esp0 id 2
	ip -n peer xfrm state del src 10.0.0.1 dst 10.0.0.3 proto esp spi $spi
done

# Anything that looks wrong: esptun's drop counters; XFRM's error counters
# and its SAs' replay and integrity failures, in every namespace.
gw esptun show esp0 --json > "$work/esptun.json"
anomalies=$(
	python3 -S "$BENCH_PY" anomalies "$work/esptun.json"
	nss="gw peer xgw xpeer"
	[ "$peer_at" = host ] && nss=gw
	for ns in $nss; do
		ip netns exec $ns cat /proc/net/xfrm_stat |
			awk -v ns=$ns '$2 != 0 { print ns " " $1 " " $2 }'
		ip -n $ns -s xfrm state | awk -v ns=$ns '
			/^src/ { sa = $2 " > " $4 }
			/^\tproto esp spi/ { sa = sa " spi " $4 }
			/replay-window .* replay .* failed/ && ($2 != 0 || $4 != 0 || $6 != 0) {
				print ns " SA " sa ": too old " $2 ", replayed " $4 ", ICV failed " $6 }'
	done
)
if [ -n "$anomalies" ]; then
	while read -r line; do echo "# anomaly: $line"; done <<<"$anomalies"
fi

python3 -S "$BENCH_PY" assemble "$raw" "$out" \
	"date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"kernel=$(uname -r)" \
	"vcpus=$(nproc)" \
	"accel=${BENCH_ACCEL:-unknown}" \
	"peer=$peer_at" \
	"seconds=$secs" \
	"rounds=$rounds" \
	"flows=$nflows" \
	"udp_generator=iperf3 -u -l 64 -b 0, one sender" \
	"tcp_generator=iperf3, one process per flow" \
	"anomalies=$(python3 -S -c 'import json, sys; print(json.dumps(sys.argv[1].splitlines()))' "$anomalies")" ||
	exit 1
[ $errors -eq 0 ] || { echo "bench: $errors measurement(s) failed" >&2; exit 1; }
exit 0
