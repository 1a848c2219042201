#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The AWS-shaped test topology, sourced after lib.sh: one esptun device
# with N tunnels against an "aws" namespace holding N tunnel endpoints, as
# a Site-to-Site VPN connection (or several) presents them.
#
#   lan_gw 172.16.0.10 -- gw: lan0 172.16.0.1, esp0 (tunnels 1..N)
#                             veth0 10.0.0.1
#                               |
#                         aws: veth0 10.0.0.2 .. 10.0.0.N+1
#                              ipsec1..N: xfrm interfaces (if_id i), one
#                              per tunnel, inside 169.254.(9+i).1/30
#                              172.16.0.0/24 multipath over ipsec1..N
#                              lan0 172.16.1.1 -- lan_aws 172.16.1.10
#
# Tunnel i: gw 10.0.0.1 <-> aws 10.0.0.(1+i), SPIs 0x100i out (gw->aws)
# and 0x200i in, AES-128-GCM keys aws_key out|in i.  esp0 holds the gw
# ends of the inside /30s (169.254.(9+i).2), each pinned to its tunnel:
# where a BGP session per tunnel would run.

LAN_GW=172.16.0.10
LAN_AWS=172.16.1.10

gw() { in_ns gw "$@"; }
aws() { in_ns aws "$@"; }
lan_gw() { in_ns lan_gw "$@"; }
lan_aws() { in_ns lan_aws "$@"; }

# aws_key out|in I: the tunnel's key (16-byte key, 4-byte salt).
aws_key() {
	if [ "$1" = out ]; then
		printf '0x0102030405060708090a0b0c0d0e0f10111213%02x\n' "$2"
	else
		printf '0x2122232425262728292a2b2c2d2e2f30313233%02x\n' "$2"
	fi
}

# aws_inside I gw|aws: the tunnel's inside address of that side.
aws_inside() {
	echo "169.254.$((9 + $1)).$([ "$2" = aws ] && echo 1 || echo 2)"
}

# aws_tunnel I: the XFRM endpoint, the esptun tunnel (pinned inside
# address) and both SAs of tunnel I.
aws_tunnel() {
	local i=$1 remote=10.0.0.$((1 + $1)) spi_out=$((0x1000 + $1)) spi_in=$((0x2000 + $1))

	ns_batch aws <<-EOF
	addr add $remote/24 dev veth0
	link add ipsec$i type xfrm dev veth0 if_id $i
	addr add $(aws_inside $i aws)/30 dev ipsec$i
	link set ipsec$i up
	xfrm state add src 10.0.0.1 dst $remote proto esp spi $spi_out mode tunnel \
		aead rfc4106(gcm(aes)) $(aws_key out $i) 128 replay-window 128 if_id $i
	xfrm state add src $remote dst 10.0.0.1 proto esp spi $spi_in mode tunnel \
		aead rfc4106(gcm(aes)) $(aws_key in $i) 128 if_id $i
	xfrm policy add dir out if_id $i \
		tmpl src $remote dst 10.0.0.1 proto esp mode tunnel
	xfrm policy add dir in if_id $i \
		tmpl src 10.0.0.1 dst $remote proto esp mode tunnel
	xfrm policy add dir fwd if_id $i \
		tmpl src 10.0.0.1 dst $remote proto esp mode tunnel
	EOF

	gw esptun tunnel add esp0 id $i local 10.0.0.1 remote $remote \
		pin "$(aws_inside $i aws)" || fail "tunnel add $i"
	gw ip addr add "$(aws_inside $i gw)/30" dev esp0
	gw esptun sa add esp0 tunnel $i dir out spi $spi_out key "$(aws_key out $i)" ||
		fail "sa add out $i"
	gw esptun sa add esp0 tunnel $i dir in spi $spi_in key "$(aws_key in $i)" ||
		fail "sa add in $i"
}

# aws_route: the aws side's route back to the gateway's LAN, multipath over
# the xfrm interfaces of the tunnels given (all by default).
aws_route() {
	local hops=() ids=("$@") i
	[ $# -gt 0 ] || mapfile -t ids < <(seq "$AWS_N")
	for i in "${ids[@]}"; do
		hops+=(nexthop dev ipsec$i)
	done
	aws ip route replace 172.16.0.0/24 "${hops[@]}"
}

# aws_lan ROUTER_NS ROUTER_ADDR HOST_NS HOST_ADDR: a /24 LAN, the router's
# lan0 to the host's eth0, the host's default route through the router.
aws_lan() {
	ip link add lan0 netns "$1" type veth peer name eth0 netns "$3"
	printf '%s\n' "addr add $2/24 dev lan0" "link set lan0 up" | ns_batch "$1"
	printf '%s\n' "addr add $4/24 dev eth0" "link set eth0 up" \
		"route add default via $2" | ns_batch "$3"
}

# aws_setup N: namespaces, veths, N tunnels, routes both ways.
aws_setup() {
	local i
	AWS_N=$1
	new_netns lan_gw gw aws lan_aws
	ns_quiet lan_gw gw aws lan_aws
	ns_sysctl gw net.ipv4.ip_forward=1 || fail "gw forwarding"
	# L4 hashing on the aws side, as ECMP routers do.
	ns_sysctl aws net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 ||
		fail "aws forwarding"

	ip link add veth0 netns gw type veth peer name veth0 netns aws
	ns_batch gw <<-EOF
	addr add 10.0.0.1/24 dev veth0
	link set veth0 up
	link add esp0 type esptun
	link set esp0 up
	EOF
	aws ip link set veth0 up
	aws_lan gw 172.16.0.1 lan_gw $LAN_GW
	aws_lan aws 172.16.1.1 lan_aws $LAN_AWS

	for i in $(seq "$AWS_N"); do
		aws_tunnel "$i"
	done
	gw ip route add 172.16.1.0/24 dev esp0
	aws_route
}

# tjget EXPR: a Python expression on `esptun show esp0 --json` in gw, with
# d the device and t(i) tunnel i.
tjget() {
	gw esptun show esp0 --json | py '
import json, sys
d = json.load(sys.stdin)[0]
def t(i):
    return [x for x in d["tunnels"] if x["id"] == i][0]
print(eval(sys.argv[1]))' "$1"
}
