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

peer iperf3 -s -D -1 >/dev/null
gw iperf3 -s -D -1 -p 5202 >/dev/null
sleep 0.5
peer_ofo=$(ofo peer)
capture_start gw veth0 3000
gw iperf3 -c $PEER4 -t 4 -l 64K >/dev/null || fail "iperf3 gw -> peer"
capture_wait
# Eight flows at once keep both CPUs and cryptd busy.
peer iperf3 -s -D -1 -p 5203 >/dev/null
sleep 0.3
gw iperf3 -c $PEER4 -p 5203 -t 4 -P 8 >/dev/null || fail "iperf3 -P 8 gw -> peer"
n=$(python3 -c 'import json, sys
seqs = [r["seq"] for r in map(json.loads, open(sys.argv[1])) if r["outgoing"]]
print(len(seqs), sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a))' "$CAP")
rm -f "$CAP"
log "ESP packets captured leaving gw, and how many went back in sequence: $n"
if [ "${n% *}" -ge 500 ] && [ "${n#* }" -eq 0 ]; then
	pass "sequence numbers leave in order (${n% *} packets)"
else
	fail "sequence numbers out of order: $n (captured, backwards)"
fi
check_eq "the XFRM receivers queued no segment out of order (1 and 8 flows)" \
	"$(($(ofo peer) - peer_ofo))" 0
check_eq "and its replay window dropped nothing" \
	"$(ip netns exec peer awk '/XfrmInStateSeqError/ { print $2 }' /proc/net/xfrm_stat)" 0

gw_ofo=$(ofo gw)
peer iperf3 -c $GW4 -p 5202 -t 4 -l 64K >/dev/null || fail "iperf3 peer -> gw"
check_eq "esptun delivered XFRM's segments in order" "$(($(ofo gw) - gw_ofo))" 0
check_eq "and dropped none as replayed" "$(jget 'sa("in", 0x2000)["replay_drops"]')" 0
finish
