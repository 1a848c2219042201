#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unloading the module with devices present, in several namespaces and
# moved across them, removes everything; loading it again works.
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

check "rmmod with devices present" rmmod esptun
check_eq "no esptun device left anywhere" \
	"$( (ip -o link show type esptun; ip -n a -o link show type esptun;
	     ip -n b -o link show type esptun) 2>/dev/null | wc -l)" 0
leak_check "every device freed" 4
check_err "the tool says the module is missing" \
	'^esptun: netlink family "esptun" not found: is the esptun module loaded\?$' \
	esptun show
check_err "the link kind is gone" "." ip link add esp0 type esptun

check "insmod again" insmod "$ESPTUN_KO"
check "devices can be created again" ip -n a link add esp0 type esptun
check_eq "and are listed" "$(ip netns exec a esptun show)" "interface: esp0"
check "netns deletion after reload" ip netns del a
_netns=(b)
finish
