#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Interop with Linux XFRM: ping both ways, inner IPv4 and IPv6 over outer
# IPv4 and IPv6, with exact packet counts on both sides; the outer header
# on the wire; TCP streams both ways, GSO included.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module
command -v ping >/dev/null || skip_all "ping missing (iputils-ping)"

for outer in 4 6; do
	topo_setup $outer
	log "outer IPv$outer"
	check_eq "outer v$outer: tunnel up" "$(jget 't["state"]')" up
	check_eq "outer v$outer: carrier on with a usable tunnel" \
		"$(no_carrier gw esp0)" 0

	check "outer v$outer: inner v4 ping gw -> peer" ping_ok gw $PEER4 10
	check "outer v$outer: inner v6 ping gw -> peer" ping_ok gw $PEER6 10
	check "outer v$outer: inner v4 ping peer -> gw" ping_ok peer $GW4 10
	check "outer v$outer: inner v6 ping peer -> gw" ping_ok peer $GW6 10
	check_eq "outer v$outer: esptun sent exactly 40 packets" "$(jget 't["tx_packets"]')" 40
	check_eq "outer v$outer: esptun received exactly 40" "$(jget 't["rx_packets"]')" 40
	check_eq "outer v$outer: outbound SA counted 40, seq 40" \
		"$(jget 'sa("out", 0x1000)["packets"], sa("out", 0x1000)["seq"]')" "(40, 40)"
	check_eq "outer v$outer: inbound SA counted 40" \
		"$(jget 'sa("in", 0x2000)["packets"], sa("in", 0x2000)["seq"]')" "(40, 40)"
	check_eq "outer v$outer: XFRM peer decrypted exactly 40" \
		"$(peer_xfrm_packets $SPI_OUT $GW_OUT $PEER_OUT)" 40
	check_eq "outer v$outer: XFRM peer encrypted exactly 40" \
		"$(peer_xfrm_packets $SPI_IN $PEER_OUT $GW_OUT)" 40
	check_eq "outer v$outer: device rx counters" \
		"$(link_stat gw esp0 rx.packets) $(link_stat gw esp0 rx.errors) $(link_stat gw esp0 rx.dropped)" "40 0 0"
	check_eq "outer v$outer: no drops of any cause" \
		"$(jget 'sum(v for k, v in d["stats"].items() if "packets" not in k and "bytes" not in k)')" 0

	# The outer header on the wire: DSCP copied, DF as the inner's, TTL 64.
	capture_start gw veth0 1
	gw ping -q -c 1 -Q 0xb8 -M do $PEER4 >/dev/null 2>&1
	capture_wait
	# 84-byte inner packet + 2 trailer bytes: 2 bytes of padding.
	check_eq "outer v$outer: outer header (tos, df, ttl, spi, seq, len)" \
		"$(py 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["tos"], r["df"], r["ttl"], hex(r["spi"]), r["seq"], r["len"])' "$CAP")" \
		"184 True 64 0x1000 41 $((8 + 8 + 84 + 2 + 2 + 16))"
	rm -f "$CAP"

	topo_tcp "outer v$outer"
	# The device moves to another namespace; its transport stays in gw.
	new_netns inner
	ip -n gw link set esp0 netns inner
	ip -n inner link set esp0 up
	ip -n inner addr add $GW4/24 dev esp0 2>/dev/null
	ip -n inner route add 172.16.1.0/24 dev esp0 src $GW4
	check "outer v$outer: esp0 moved to another netns still carries traffic" \
		ip netns exec inner ping -q -c 3 -i 0.1 -W 2 $PEER4
	check_eq "outer v$outer: and its tunnel counted it" \
		"$(ip netns exec inner esptun show esp0 --json | py 'import json,sys; print(json.load(sys.stdin)[0]["tunnels"][0]["rx_packets"] > 40)')" True
	ip netns del gw
	ip netns del peer
	ip netns del inner
	_netns=()
done
finish
