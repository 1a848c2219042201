#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pinned inner destinations, the way a BGP session per tunnel runs over one
# device: packets to a tunnel's pinned address (its AWS inside /30 peer) go
# through that tunnel only, whatever the other tunnels do, and are dropped,
# not rerouted, while it is down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aws.sh"
require_module

aws_setup 2
BGP1=$(aws_inside 1 aws)
BGP2=$(aws_inside 2 aws)
tx() { tjget "t($1)[\"tx_packets\"]"; }

# pinged ID ARGS...: ping (ARGS) from gw, print how many packets each
# tunnel sent meanwhile as "t1 t2".
pinged() {
	local a1 a2
	a1=$(tx 1) a2=$(tx 2)
	gw ping -q "${@:2}" >/dev/null
	echo "$(($(tx 1) - a1)) $(($(tx 2) - a2))"
}

check_eq "20 pings to tunnel 1's BGP peer leave through tunnel 1 only" \
	"$(pinged 1 -c 20 -i 0.05 -W 2 $BGP1)" "20 0"
check_eq "and to tunnel 2's through tunnel 2 only" \
	"$(pinged 2 -c 20 -i 0.05 -W 2 $BGP2)" "0 20"

# A pinned address is one tunnel's peer: arriving on another tunnel, it is
# that tunnel's peer posing as it (a BGP neighbour spoofed), dropped and
# counted on the tunnel it came in on.
check_err "from tunnel 1's BGP address over tunnel 2: no answer" "." \
	aws ping -c 3 -i 0.1 -W 1 -I $BGP1 "$(aws_inside 2 gw)"
check_eq "tunnel 2 dropped the 3 as rx_wrong_tunnel, tunnel 1 none" \
	"$(tjget '(t(2)["rx_wrong_tunnel"], t(1)["rx_wrong_tunnel"])')" "(3, 0)"
check_eq "the device counts them too" "$(gw esptun show esp0 --json |
	py 'import json,sys; print(json.load(sys.stdin)[0]["stats"]["rx_wrong_tunnel"])')" 3
check "over tunnel 2 from its own BGP address: answered" \
	aws ping -q -c 2 -i 0.1 -W 1 -I $BGP2 "$(aws_inside 2 gw)"

# Other tunnels come and go: the pinned session does not notice.
a1=$(tx 1) a2=$(tx 2)
gw ping -q -c 60 -i 0.05 -W 2 $BGP1 > /tmp/pin.$$ 2>&1 &
pid=$!
sleep 0.5	# time is the test: the pings run while tunnels come and go
gw esptun tunnel set esp0 id 2 down
aws_tunnel 3
sleep 0.5	# (as above)
gw esptun tunnel set esp0 id 2 up
gw esptun tunnel del esp0 id 3
wait $pid
check "pings to tunnel 1's peer all answered while tunnels 2 and 3 came and went" \
	grep -q ' 0% packet loss' /tmp/pin.$$
rm -f /tmp/pin.$$
check_eq "and tunnel 1 carried all 60, tunnel 2 none" \
	"$(($(tx 1) - a1)) $(($(tx 2) - a2))" "60 0"

# The pinned tunnel down: dropped and counted, never through tunnel 2.
gw esptun tunnel set esp0 id 1 down
drops=$(tjget 't(1)["tx_no_tunnel"]')
a2=$(tx 2)
check_err "tunnel 1 down: its BGP peer is unreachable" "100% packet loss" \
	gw ping -c 5 -i 0.1 -W 1 $BGP1
check_eq "nothing was rerouted through tunnel 2" "$(tx 2)" "$a2"
check_eq "the 5 packets are counted as dropped on tunnel 1" \
	"$(($(tjget 't(1)["tx_no_tunnel"]') - drops))" 5
check "while hashed traffic fails over to tunnel 2" \
	lan_gw ping -q -c 3 -i 0.2 -W 2 $LAN_AWS
gw esptun tunnel set esp0 id 1 up

# The AWS side opens the session: the reply goes back on its tunnel.
a1=$(tx 1) a2=$(tx 2)
check "the aws end reaches the gateway over tunnel 2's inside network" \
	aws ping -q -c 5 -i 0.1 -W 2 "$(aws_inside 2 gw)"
check_eq "the replies left through tunnel 2" "$(($(tx 1) - a1)) $(($(tx 2) - a2))" "0 5"

# Managing pins.
check "IPv6 and several pins" gw esptun tunnel set esp0 id 2 pin $BGP2 \
	pin 172.16.1.77 pin fd00:a::1
check_eq "show lists them" "$(tjget 't(2)["pins"]')" \
	"['$BGP2', '172.16.1.77', 'fd00:a::1']"
check_eq "a pinned LAN host is reached through tunnel 2 only" \
	"$(pinged 2 -c 5 -i 0.05 -W 1 172.16.1.77 || true)" "0 5"
check_err "an address pinned to another tunnel" \
	"already pinned to another tunnel" gw esptun tunnel set esp0 id 1 pin $BGP2
check_eq "a refused change changes nothing" "$(tjget '[t(1)["pins"], t(2)["pins"]]')" \
	"[['$BGP1'], ['$BGP2', '172.16.1.77', 'fd00:a::1']]"
check_err "a multicast pin" "pinned addresses must be unicast" \
	gw esptun tunnel set esp0 id 1 pin 224.0.0.5
check_err "the same address twice" "pinned twice" \
	gw esptun tunnel set esp0 id 1 pin 10.9.9.9 pin 10.9.9.9
check_err "more than 16" "at most 16 pinned" gw esptun tunnel set esp0 id 1 \
	$(for i in $(seq 17); do echo pin 10.9.9.$i; done)
check_err "a pin that is not an address" "not an IPv4 or IPv6 address" \
	gw esptun tunnel set esp0 id 1 pin bgp-peer
check_err "pin none on add" "not an IPv4 or IPv6 address" \
	gw esptun tunnel add esp0 id 5 local 10.0.0.1 remote 10.0.0.9 pin none
check "pin none removes a tunnel's pins" gw esptun tunnel set esp0 id 2 pin none
check_eq "tunnel 2 has none" "$(tjget 't(2)["pins"]')" "[]"
check "the freed address can be pinned elsewhere" \
	gw esptun tunnel set esp0 id 1 pin $BGP1 pin $BGP2
a1=$(tx 1)
gw ping -q -c 3 -i 0.1 -W 1 $BGP2 >/dev/null
check_eq "tunnel 1 now carries tunnel 2's old pin" "$(($(tx 1) - a1))" 3
check "pins go with their tunnel" gw esptun tunnel del esp0 id 1
check "and the address is free again" gw esptun tunnel set esp0 id 2 pin $BGP1
finish
