#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The transmit path under fuzz (selftests/txfuzz.py): packets esptun gets
# from where the stack does not build them itself: a PACKET socket with
# PACKET_VNET_HDR (bogus GSO shapes and virtio_net_hdr values) and
# IP_HDRINCL raw sockets (bogus IPv4 and IPv6 headers, sizes the device
# takes but the tunnel's path does not), into esp0 and through devices
# stacked on it (GRE, VLAN); then ESP in ESP (esptun over esptun), a
# tunnel routed through itself and two routed through each other.  Every
# packet a socket took is accounted for, the XFRM peer decrypted every
# packet esptun counted as sent, and loops die out.  TXFUZZ_SEED (1),
# TXFUZZ_COUNT (200 per kind).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

SEED=${TXFUZZ_SEED:-1}
COUNT=${TXFUZZ_COUNT:-200}
TXFUZZ=$ESPTUN_REPO/selftests/txfuzz.py
log "seed $SEED (TXFUZZ_SEED), $COUNT packets per kind (TXFUZZ_COUNT)"

leak_mark
topo_setup 4
# The outer path's MTU below the device's, as in pmtu.sh: esptun
# fragments before encryption (IPv4 without DF) what the device takes.
ip -n gw link set veth0 mtu 1300
ip -n peer link set veth0 mtu 1300
check "traffic through the tunnel" gw ping -q -c 1 -W 2 $PEER4
tx_sent() { jget 't["tx_packets"]'; }
peer0=$(peer_xfrm_packets $SPI_OUT $GW_OUT $PEER_OUT)
tx0=$(tx_sent)

run_txfuzz() { # DESC ARGS...
	local desc=$1 start=$SECONDS
	shift
	if gw "$TXFUZZ" --path-mtu 1246 "$@"; then
		pass "$desc: every packet accounted for ($((SECONDS - start)) s)"
	else
		fail "$desc: txfuzz.py's findings above"
	fi
}
run_txfuzz "PACKET_VNET_HDR and IP_HDRINCL into esp0" --seed "$SEED" --count "$COUNT"

# GRE over esp0: its outer packets are esp0's inner ones.
ip -n gw link add gre1 type gre local $GW4 remote $PEER4 ttl 64
ip -n gw addr add 192.168.77.1/30 dev gre1
ip -n gw link set gre1 up
run_txfuzz "IP_HDRINCL through GRE over esp0" --seed $((SEED + 1)) --count $((COUNT / 2)) \
	--via gre1 --no-vnet

# VLAN over esp0, a device without an Ethernet header: whatever the VLAN
# code makes of it, esptun drops and counts it (not IP).
if out=$(ip -n gw link add link esp0 name esp0.7 type vlan id 7 2>&1); then
	ip -n gw link set esp0.7 up
	run_txfuzz "IP_HDRINCL through VLAN over esp0" --seed $((SEED + 2)) \
		--count $((COUNT / 4)) --via esp0.7 --no-vnet
	ip -n gw link del esp0.7
else
	pass "no VLAN over esp0 ($out)"
fi

check_eq "the XFRM peer decrypted every packet esptun counted as sent" \
	$(($(peer_xfrm_packets $SPI_OUT $GW_OUT $PEER_OUT) - peer0)) $(($(tx_sent) - tx0))

# ESP in ESP: esp1's remote end is behind esp0's tunnel.
ip -n gw addr add 172.16.0.9/32 dev esp0
ip -n gw link add esp1 type esptun
ip -n gw link set esp1 up
ip -n gw addr add 172.16.8.1/24 dev esp1
gw esptun tunnel add esp1 id 1 local 172.16.0.9 remote 172.16.1.9
gw esptun sa add esp1 tunnel 1 dir out spi 0x3000 key "$(new_key)"
ip -n gw route add 172.16.9.0/24 dev esp1
before=$(tx_sent)
gw ping -q -c 3 -i 0.2 -W 1 172.16.9.9 >/dev/null 2>&1
_nested() { echo $(($(tx_sent) - before)); }
wait_eq "ESP in ESP: esp1's 3 packets leave through esp0" 5 3 _nested

# A tunnel whose remote end is routed through its own device: refused as
# a loop (tx_errors), never sent.
ip -n gw route add 172.16.1.9/32 dev esp1
gw ping -q -c 2 -i 0.2 -W 1 172.16.9.9 >/dev/null 2>&1
check_eq "esp1 through itself: counted as errors, nothing sent" \
	"$(gw esptun show esp1 --json | py '
import json, sys
d = json.load(sys.stdin)[0]
print(d["tunnels"][0]["tx_packets"], d["stats"].get("tx_errors", 0) >= 2)')" "3 True"
ip -n gw route del 172.16.1.9/32 dev esp1

# Two tunnels routed through each other: a packet passes round, growing
# and, without DF, fragmented into more every turn.  esptun carries the
# core's transmit nesting depth across encryption, so the core cuts the
# loop at XMIT_RECURSION_LIMIT as for synchronous tunnels: on devices
# without a qdisc, as the README asks of esptun devices stacked on
# esptun.  (A qdisc transmits later, from a context of its own, where
# the depth starts at 0 again: then the loop goes on, as one through any
# tunnels with qdiscs does.)
ip -n gw link add esp2 type esptun
ip -n gw link add esp3 type esptun
for d in esp2 esp3; do
	ip -n gw link set $d up
	gw tc qdisc replace dev $d root noqueue
done
ip -n gw addr add 10.7.0.1/32 dev veth0
gw esptun tunnel add esp2 id 1 local 10.7.0.1 remote 10.7.0.2
gw esptun sa add esp2 tunnel 1 dir out spi 0x3002 key "$(new_key)"
gw esptun tunnel add esp3 id 1 local 10.7.0.1 remote 10.7.0.3
gw esptun sa add esp3 tunnel 1 dir out spi 0x3003 key "$(new_key)"
ip -n gw route add 10.7.0.2/32 dev esp3
ip -n gw route add 10.7.0.3/32 dev esp2
ip -n gw route add 172.16.7.0/24 dev esp2
loop_sent() {
	gw esptun show --json | py '
import json, sys
print(sum(t["tx_packets"] for d in json.load(sys.stdin) if d["ifname"] in ("esp2", "esp3")
          for t in d["tunnels"]))'
}
_loop_settled() {
	local a
	a=$(loop_sent)
	sleep 1	# settled: no change in a second (time is the test)
	[ "$a" = "$(loop_sent)" ]
}
gw ping -q -c 5 -i 0.1 -W 1 -M dont -s 1000 172.16.7.7 >/dev/null 2>&1
if busywait 20 _loop_settled; then
	pass "two tunnels through each other: the loop dies out ($(loop_sent) packets sent)"
else
	fail "two tunnels through each other: still sending after $(scaled 20) s ($(loop_sent))"
fi
for d in esp1 esp2 esp3; do ip -n gw link del $d; done

ip netns del gw
leak_check "every device, tunnel and SA freed" 5
finish
