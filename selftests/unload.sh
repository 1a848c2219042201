#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: exclusive
#   (unloads the module)
#
# Unloading the module with devices present, in several namespaces and
# moved across them, and a tunnel's UDP socket open, removes everything;
# loading it again works.
. "$(dirname "$0")/lib.sh"
require_module
leak_mark

new_netns a b
ip link add esp0 type esptun
ip link set esp0 up
ip -n a link add esp1 type esptun
ip -n a link add esp2 type esptun
ip -n a link set esp2 netns b
ip -n b link set esp2 up
check_eq "3 devices before unload" \
	"$( (ip -o link show type esptun; ip -n a -o link show type esptun;
	     ip -n b -o link show type esptun) | wc -l)" 3
ip -n b link add esp3 type esptun
# A NAT-T tunnel: its socket goes with the module.
new_netns u
ip -n u link add esp0 type esptun
ip -n u link add d0 type dummy
ip -n u addr add 10.0.0.1/24 dev d0
ip -n u link set d0 up
ip netns exec u esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2 encap udp
socks4500() { ip netns exec u ss -Huan 'sport = :4500' | wc -l; }
check_eq "esptun holds 4500 in u" "$(socks4500)" 1

check "rmmod with devices present" rmmod esptun
check_eq "no esptun device left anywhere" \
	"$( (ip -o link show type esptun; ip -n a -o link show type esptun;
	     ip -n b -o link show type esptun) 2>/dev/null | wc -l)" 0
check_eq "the socket is gone" "$(socks4500)" 0
leak_check "every device and tunnel freed" 6
check_err "the tool says the module is missing" \
	'^esptun: netlink family "esptun" not found: is the esptun module loaded\?$' \
	esptun show
check_err "the link kind is gone" "." ip link add esp0 type esptun

check "insmod again" insmod "$ESPTUN_KO"
check "devices can be created again" ip -n a link add esp0 type esptun
check_eq "and are listed" "$(ip netns exec a esptun show)" "interface: esp0"
check "netns deletion after reload" ip netns del a
_netns=(b u)
finish
