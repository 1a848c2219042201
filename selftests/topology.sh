#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The two-site test topology, sourced after lib.sh:
#
#   gw (esptun: esp0, tunnel 1)  --veth--  peer (plain Linux XFRM)
#   inner 172.16.0.1/24 fd10::1/64         inner 172.16.1.1/24 fd11::1/64
#   outer 10.0.0.1 / fd00::1               outer 10.0.0.2 / fd00::2
#
# The peer is configured only with `ip xfrm state/policy`, tunnel mode,
# rfc4106(gcm(aes)) with a 128-bit ICV: the way strongSwan programs XFRM.

KEY_OUT=0x0102030405060708090a0b0c0d0e0f1011121314	# gw -> peer
KEY_IN=0x2122232425262728292a2b2c2d2e2f3031323334	# peer -> gw
SPI_OUT=0x1000
SPI_IN=0x2000
GW4=172.16.0.1
PEER4=172.16.1.1
GW6=fd10::1
PEER6=fd11::1
# Sourced without lib.sh too, for the keys and SPIs (bench/host-peer).
ESPTOOL=${SELFTESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}/esptool.py

# ping_ok NS DST N: all N pings answered (pinger.py: exactly N sent,
# every reply waited for up to 5 s after the last, which a TCG guest on a
# loaded host may need; ping(8) waited for only two round trips once a
# reply had come).  A failure shows which ones went missing.
ping_ok() {
	local ns=$1 dst=$2 n=$3 out
	out=$(pyfile -n "$ns" "$SELFTESTS/pinger.py" "$dst" "$n" 2>&1) && return 0
	echo "$out"
	# Where the lost ones went: in every namespace of the test, the
	# counters of its esptun devices and XFRM's errors that are not 0.
	# shellcheck disable=SC2154 # lib.sh's, which the tests source first
	for ns in "${_netns[@]}"; do
		echo "[$ns]"
		esptun -n "$ns" show 2>/dev/null
		ip netns exec "$ns" awk '$2 != 0' /proc/net/xfrm_stat
	done
	return 1
}

gw() { in_ns gw "$@"; }
peer() { in_ns peer "$@"; }

# topo_setup 4|6: namespaces, veth, XFRM peer, esptun gateway.  Extra
# arguments for the peer's XFRM states and the gateway's tunnel (natt.sh's
# encapsulation) in TOPO_XFRM_ARGS and TOPO_TUNNEL_ARGS.
topo_setup() {
	OUTER=$1
	if [ "$OUTER" = 4 ]; then
		GW_OUT=10.0.0.1 PEER_OUT=10.0.0.2 PLEN=24
	else
		GW_OUT=fd00::1 PEER_OUT=fd00::2 PLEN=64
	fi
	new_netns gw peer
	ns_quiet gw peer
	ip link add veth0 netns gw type veth peer name veth0 netns peer
	local nodad=
	[ "$OUTER" = 6 ] && nodad=nodad
	# shellcheck disable=SC2086
	ns_batch peer <<-EOF
	addr add $PEER_OUT/$PLEN dev veth0 $nodad
	link set veth0 up
	$(xfrm_state_cmd $SPI_OUT $GW_OUT $PEER_OUT $KEY_OUT ${TOPO_XFRM_ARGS:-})
	$(xfrm_state_cmd $SPI_IN $PEER_OUT $GW_OUT $KEY_IN ${TOPO_XFRM_ARGS:-})
	link add lan0 type dummy
	addr add $PEER4/24 dev lan0
	addr add $PEER6/64 dev lan0 nodad
	link set lan0 up
	$(xfrm_policy_cmds 172.16.0.0/24 172.16.1.0/24)
	$(xfrm_policy_cmds fd10::/64 fd11::/64)
	route add 172.16.0.0/24 dev veth0 src $PEER4
	route add fd10::/64 dev veth0 src $PEER6
	EOF
	ns_batch gw <<-EOF
	addr add $GW_OUT/$PLEN dev veth0 $nodad
	link set veth0 up
	link add esp0 type esptun
	addr add $GW4/24 dev esp0
	addr add $GW6/64 dev esp0 nodad
	link set esp0 up
	route add 172.16.1.0/24 dev esp0 src $GW4
	route add fd11::/64 dev esp0 src $GW6
	EOF
	# shellcheck disable=SC2086
	gw esptun tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT ${TOPO_TUNNEL_ARGS:-} ||
		fail "tunnel add"
	gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT || fail "sa add out"
	gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN || fail "sa add in"
}

# veth_rss NS...: a veth hands each packet to the backlog of the CPU that
# sent it, so packets sent in order from two CPUs in turn can arrive
# reordered, which a NIC does not do: RPS over every CPU, by flow hash, as
# a NIC's RSS spreads flows over its queues, gives the test bed a NIC's
# ordering.
veth_rss() {
	local ns mask
	mask=$(printf '%x' $(((1 << $(nproc)) - 1)))
	for ns in "$@"; do
		ip netns exec "$ns" sh -c "echo $mask > /sys/class/net/veth0/queues/rx-0/rps_cpus" ||
			fail "RPS on $ns's veth0"
	done
}

# peer_xfrm_state SPI SRC DST KEY [extra ip-xfrm args]
peer_xfrm_state() {
	# shellcheck disable=SC2046
	ip -n peer $(xfrm_state_cmd "$@")
}
# xfrm_state_cmd SPI SRC DST KEY [extra]: its ip command, without "ip" (a
# line of an ns_batch)
xfrm_state_cmd() {
	local spi=$1 src=$2 dst=$3 key=$4
	shift 4
	echo "xfrm state add src $src dst $dst proto esp spi $spi mode tunnel" \
		"flag af-unspec aead rfc4106(gcm(aes)) $key 128 replay-window 128 $*"
}

# peer_xfrm_policy GW_NET PEER_NET: tunnel-mode policies for the peer.
peer_xfrm_policy() {
	xfrm_policy_cmds "$@" | ns_batch peer
}
# xfrm_policy_cmds GW_NET PEER_NET: their ip commands, for ns_batch
xfrm_policy_cmds() {
	echo "xfrm policy add src $2 dst $1 dir out" \
		"tmpl src $PEER_OUT dst $GW_OUT proto esp mode tunnel"
	echo "xfrm policy add src $1 dst $2 dir in" \
		"tmpl src $GW_OUT dst $PEER_OUT proto esp mode tunnel"
}

# jget EXPR: evaluate a Python expression on `esptun show esp0 --json` in
# gw, with d the device, t tunnel 1 and sa(dir, spi) an SA.
jget() {
	gw esptun show esp0 --json | py '
import json, sys
d = json.load(sys.stdin)[0]
t = ([x for x in d["tunnels"] if x["id"] == 1] or [None])[0]
def sa(dir, spi):
    return [s for s in t["sas"] if s["dir"] == dir and s["spi"] == spi][0]
print(eval(sys.argv[1]))' "$1"
}

# peer_xfrm_packets SPI SRC DST: packets the peer's XFRM state counted.
peer_xfrm_packets() {
	ip -n peer -s xfrm state get src $2 dst $3 proto esp spi $1 |
		sed -n 's/^.* \([0-9]*\)(packets).*$/\1/p' | head -n 1
}

# topo_tcp DESC: TCP both ways through the tunnel, GSO included, then no
# authentication, replay or format drops.
topo_tcp() {
	if ! command -v iperf3 >/dev/null; then
		fail "iperf3 missing"
		return
	fi
	iperf3_server peer -B $PEER4
	check "$1: TCP gw -> peer, 64 KiB writes (GSO)" \
		gw timeout 60 iperf3 -c $PEER4 -t 2 -l 64K
	iperf3_server peer -B $PEER6
	check "$1: TCP peer -> gw over inner IPv6 (reverse)" \
		gw timeout 60 iperf3 -c $PEER6 -t 2 -R
	check_eq "$1: no auth/replay/malformed drops after TCP" \
		"$(jget 't["rx_replay"] + t["rx_auth_fail"] + t["rx_malformed"]')" 0
}

# link_stat NS DEV FIELD: a field of the device's stats64 (JSON names).
link_stat() {
	ip -n "$1" -s -j link show "$2" | py '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s[sys.argv[1]][sys.argv[2]])' "${3%%.*}" "${3#*.}"
}

# capture_start NS IFACE COUNT [SECONDS [TOOL]]: ESP capture (or TOOL's:
# natt.py's of UDP) in the background into $CAP, for 15 seconds (scaled)
# unless told; returns once it listens.  capture_wait collects it.
capture_start() {
	local secs=${4:-$(scaled 15)} limit
	limit=$((${secs%.*} + 5))
	[ "$limit" -ge 20 ] || limit=20
	CAP=$(mktemp)
	rm -f "$CAP.ready"
	ip netns exec "$1" timeout "$limit" \
		"${5:-$ESPTOOL}" capture "$2" "$3" "$secs" "$CAP.ready" > "$CAP" &
	CAP_PID=$!
	busywait 10 test -e "$CAP.ready"
}

capture_wait() {
	wait "$CAP_PID"
	rm -f "$CAP.ready"
}
