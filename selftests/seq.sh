#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sequence numbers: without ESN an SA stops at 2^32-1 and never wraps; with
# ESN it crosses 2^32, interoperating with XFRM both ways.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
gw esptun sa add esp0 tunnel 1 dir out spi 0x1001 key $KEY_OUT seq 0xfffffff0 ||
	fail "replace the outbound SA, starting at seq 0xfffffff0"
peer_xfrm_state 0x1001 $GW_OUT $PEER_OUT $KEY_OUT
ip -n peer xfrm state del src $GW_OUT dst $PEER_OUT proto esp spi $SPI_OUT
check_eq "the replaced SA is gone, the new one is the tunnel's" \
	"$(jget '[(s["dir"], hex(s["spi"]), s["seq"]) for s in t["sas"]]')" \
	"[('out', '0x1001', 4294967280), ('in', '0x2000', 0)]"
out=$(gw ping -c 20 -i 0.05 -W 1 $PEER4 2>&1)
check_eq "15 packets (seq 0xfffffff1..0xffffffff) get through" \
	"$(grep -o '[0-9]* received' <<<"$out")" "15 received"
check_eq "the SA stops at 2^32-1" "$(jget 'sa("out", 0x1001)["seq"]')" 4294967295
check_eq "the SA sent 15" "$(jget 'sa("out", 0x1001)["packets"]')" 15
check_eq "the peer saw 15 packets, none wrapped to a low seq" \
	"$(peer_xfrm_packets 0x1001 $GW_OUT $PEER_OUT)" 15
# The last number announces the tunnel down at once, and the carrier goes
# with it: the kernel discards the other 5 before esptun sees them, but
# any esptun saw meanwhile is counted, on the device too.
check_eq "the tunnel is down, and the carrier" \
	"$(jget 't["state"]') $(no_carrier gw esp0)" "down 1"
exhausted=$(jget 't["tx_seq_exhausted"]')
check_eq "device tx_dropped counts what esptun saw ($exhausted of 5)" \
	"$(link_stat gw esp0 tx.dropped)" "$exhausted"
check "and no more than the 5" test "$exhausted" -le 5
check_err "seq beyond 2^32-1 without esn is refused" "needs esn" \
	gw esptun sa add esp0 tunnel 1 dir out spi 0x1002 key $KEY_OUT seq 0x100000000

# ESN both ways, starting just below 2^32: with a new key, as 0x1001 sent
# those numbers with the old one.
ip -n peer xfrm state flush
gw esptun sa del esp0 dir in spi $SPI_IN
check_err "the old key again from a lower sequence number is refused" \
	"AES-GCM nonces would repeat" \
	gw esptun sa add esp0 tunnel 1 dir out spi 0x1003 key $KEY_OUT esn seq 0xfffffff0
KEY_OUT=$(new_key)
gw esptun sa add esp0 tunnel 1 dir out spi 0x1003 key $KEY_OUT esn seq 0xfffffff0 ||
	fail "ESN outbound SA"
gw esptun sa add esp0 tunnel 1 dir in spi 0x2003 key $KEY_IN esn || fail "ESN inbound SA"
peer_xfrm_state 0x1003 $GW_OUT $PEER_OUT $KEY_OUT flag esn replay-seq 0xfffffff0
peer_xfrm_state 0x2003 $PEER_OUT $GW_OUT $KEY_IN flag esn replay-oseq 0xfffffff0
check_eq "the tunnel is up again" "$(jget 't["state"]')" up
out=$(gw ping -c 40 -i 0.05 -W 1 $PEER4 2>&1)
check_eq "with ESN, 40 pings cross 2^32 both ways" \
	"$(grep -o '[0-9]* received' <<<"$out")" "40 received"
check_eq "outbound seq is past 2^32" "$(jget 'sa("out", 0x1003)["seq"]')" $((0xfffffff0 + 40))
check_eq "inbound window top is past 2^32" "$(jget 'sa("in", 0x2003)["seq"]')" $((0xfffffff0 + 40))
check_eq "and both are flagged esn" \
	"$(jget 'sa("out", 0x1003)["esn"], sa("in", 0x2003)["esn"]')" "(True, True)"
check_eq "no drops" "$(jget 't["rx_replay"] + t["rx_auth_fail"] + t["rx_malformed"]')" 0

# With ESN the last number is 2^64-1: an SA that starts there has none left,
# and its next would wrap to 0, which must never go out.
gw esptun sa add esp0 tunnel 1 dir out spi 0x1004 key $KEY_OUT esn seq 0xffffffffffffffff ||
	fail "ESN outbound SA at 2^64-1"
peer_xfrm_state 0x1004 $GW_OUT $PEER_OUT $KEY_OUT flag esn
check_eq "at 2^64-1 the tunnel is down at once" "$(jget 't["state"]')" down
# The data path no longer picks the tunnel, but its keepalives still try.
exhausted=$(jget 't["tx_seq_exhausted"]')
gw esptun tunnel set esp0 id 1 keepalive 1 || fail "keepalives every second"
refused() { kept=$(($(jget 't["tx_seq_exhausted"]') - exhausted)); [ "$kept" -ge 2 ]; }
busywait 5 refused
gw esptun tunnel set esp0 id 1 keepalive 0
check "the keepalives were refused for want of numbers ($kept)" test "$kept" -ge 2
check_eq "the SA still ends at 2^64-1" "$(jget 'sa("out", 0x1004)["seq"]')" 18446744073709551615
check_eq "it sent nothing" "$(jget 'sa("out", 0x1004)["packets"]')" 0
check_eq "the peer saw nothing on it" "$(peer_xfrm_packets 0x1004 $GW_OUT $PEER_OUT)" 0
finish
