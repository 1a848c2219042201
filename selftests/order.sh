#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Crypto may finish a tunnel's packets out of order (AES-NI runs some at
# once and queues others to cryptd, whose workers run on every CPU); esptun
# hands them on in order.  TCP each way (1 flow, then 8): the ESP sequence
# numbers leave in order, and neither receiver queues a segment out of
# order.  The veths spread flows over CPUs as a NIC does (veth_rss).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
veth_rss gw peer
ofo() { ip netns exec "$1" nstat -az TcpExtTCPOFOQueue | awk '/TcpExtTCPOFOQueue/ { print $2 }'; }

iperf3_server peer
iperf3_server gw -p 5202
# in_order NAME: the ESP packets of $CAP that left gw, in sequence?  At
# least 250 of them, to mean something: 4 s of TCP gave 494 on a host
# running three guests at once, over 1000 on a quiet one.
in_order() {
	local n
	n=$(py 'import json, sys
seqs = [r["seq"] for r in map(json.loads, open(sys.argv[1])) if r["outgoing"]]
print(len(seqs), sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a))' "$CAP")
	rm -f "$CAP"
	log "$1: ESP packets captured leaving gw, and how many went back in sequence: $n"
	if [ "${n% *}" -ge 250 ] && [ "${n#* }" -eq 0 ]; then
		pass "$1: sequence numbers leave in order (${n% *} packets)"
	else
		fail "$1: sequence numbers out of order: $n (captured, backwards)"
	fi
}
seqerr() { ip netns exec peer awk '/XfrmInStateSeqError/ { print $2 }' /proc/net/xfrm_stat; }

peer_ofo=$(ofo peer)
capture_start gw veth0 3000
gw iperf3 -c $PEER4 -t "$(scaled 4)" -l 64K >/dev/null || fail "iperf3 gw -> peer"
capture_wait
in_order "1 flow"
check_eq "the XFRM receiver queued no segment out of order" \
	"$(($(ofo peer) - peer_ofo))" 0
check_eq "and its replay window dropped nothing" "$(seqerr)" 0

# Eight flows at once keep both CPUs and cryptd busy.  The outer packets
# must not carry their inner flow's hash: the receiver's RPS (a NIC's
# queues) would spread one SA over CPUs by inner flow and reorder it.
iperf3_server peer -p 5203
peer_ofo=$(ofo peer)
capture_start gw veth0 3000
gw iperf3 -c $PEER4 -p 5203 -t "$(scaled 4)" -P 8 >/dev/null || fail "iperf3 -P 8 gw -> peer"
capture_wait
in_order "8 flows"
check_eq "8 flows: the XFRM receiver queued no segment out of order" \
	"$(($(ofo peer) - peer_ofo))" 0
check_eq "and its replay window dropped nothing" "$(seqerr)" 0

gw_ofo=$(ofo gw)
peer iperf3 -c $GW4 -p 5202 -t 4 -l 64K >/dev/null || fail "iperf3 peer -> gw"
check_eq "esptun delivered XFRM's segments in order" "$(($(ofo gw) - gw_ofo))" 0
check_eq "and dropped none as replayed" "$(jget 'sa("in", 0x2000)["replay_drops"]')" 0
finish
