#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: the two-site example of README.rst, with each site in a
# network namespace joined by a veth pair.  Site A is a gateway running
# esptun; site B is a plain Linux peer configured with `ip xfrm`, as AWS's
# endpoint or strongSwan would be.
set -eu
A="ip netns exec site-a"
B="ip netns exec site-b"
ip netns add site-a
ip netns add site-b
trap 'ip netns del site-a; ip netns del site-b' EXIT
ip link add wan0 netns site-a type veth peer name wan0 netns site-b
$A ip link set lo up
$B ip link set lo up

# Keys: AES-128 key then 4-byte salt, one per direction.
KEY_AB=0x4a6f8e1c2b3d5f7091a2b3c4d5e6f708192a3b4c
KEY_BA=0x0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4

echo "## site A: gateway 198.51.100.1, LAN 10.1.0.0/24, esptun"
$A sh -ex <<EOS
ip addr add 198.51.100.1/24 dev wan0
ip link set wan0 up
ip link add esp0 type esptun
ip addr add 10.1.0.1/24 dev esp0
ip link set esp0 up
ip route add 10.2.0.0/24 dev esp0 src 10.1.0.1
esptun tunnel add esp0 id 1 local 198.51.100.1 remote 198.51.100.2
esptun sa add esp0 tunnel 1 dir out spi 0xc0000001 key $KEY_AB
esptun sa add esp0 tunnel 1 dir in spi 0xc0000002 key $KEY_BA
EOS

echo "## site B: peer 198.51.100.2, LAN 10.2.0.0/24, Linux XFRM"
$B sh -ex <<EOS
ip addr add 198.51.100.2/24 dev wan0
ip link set wan0 up
ip link add lan0 type dummy
ip addr add 10.2.0.1/24 dev lan0
ip link set lan0 up
ip xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0xc0000001 \
	mode tunnel aead 'rfc4106(gcm(aes))' $KEY_AB 128
ip xfrm state add src 198.51.100.2 dst 198.51.100.1 proto esp spi 0xc0000002 \
	mode tunnel aead 'rfc4106(gcm(aes))' $KEY_BA 128
ip xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir out \
	tmpl src 198.51.100.2 dst 198.51.100.1 proto esp mode tunnel
ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir in \
	tmpl src 198.51.100.1 dst 198.51.100.2 proto esp mode tunnel
ip route add 10.1.0.0/24 dev wan0 src 10.2.0.1
EOS

echo "## ping from site A's gateway to site B's LAN"
$A ping -c 3 -i 0.2 10.2.0.1
echo "## esptun show (site A)"
$A esptun show
