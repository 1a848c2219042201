#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# esptun devices: create and delete, in and across network namespaces, and
# cleanup when a namespace goes away.
. "$(dirname "$0")/lib.sh"
require_module
leak_mark

new_netns a b

check "create in a netns" ip -n a link add esp0 type esptun
check_eq "kind is esptun" \
	"$(ip -n a -d -o link show esp0 | grep -o 'esptun ' | head -n1)" "esptun "
check_eq "default MTU leaves room for the worst-case overhead" \
	"$(ip netns exec a cat /sys/class/net/esp0/mtu)" 1418
check "MTU can be raised for IPv4 paths" ip -n a link set esp0 mtu 1446
check_err "MTU below the IPv4 minimum refused" "." ip -n a link set esp0 mtu 67
check "set up" ip -n a link set esp0 up
# The driver's carrier bit: ip's NO-CARRIER follows the operational state,
# which linkwatch sets up to a second later (flaked once device.sh no
# longer ran first in a fresh guest).
check_eq "no carrier without a tunnel" "$(no_carrier a esp0)" 1
check "delete" ip -n a link del esp0
check_err "deleted device is gone" "does not exist" ip -n a link show esp0

for i in $(seq 0 15); do
	ip -n a link add "esp$i" type esptun || fail "create esp$i"
done
check_eq "16 devices in one netns" \
	"$(ip -n a -o link show type esptun | wc -l)" 16
check_eq "the dump lists all 16" \
	"$(ip netns exec a esptun show | grep -c '^interface:')" 16
for i in $(seq 0 15); do
	ip -n a link del "esp$i" || fail "delete esp$i"
done
check_eq "all deleted" "$(ip -n a -o link show type esptun | wc -l)" 0

ok=1
for i in $(seq 25); do
	ip -n a link add esp0 type esptun && ip -n a link set esp0 up &&
		ip -n a link del esp0 || { ok=0; break; }
done
if [ $ok -eq 1 ]; then
	pass "25 create/up/delete cycles"
else
	fail "create/delete cycle $i failed"
fi

# A device moves between namespaces; its transport namespace stays "a".
check "create in a" ip -n a link add esp1 type esptun
check "move a -> b" ip -n a link set esp1 netns b
check "moved device is in b" ip -n b link show esp1
check_err "and no longer in a" "does not exist" ip -n a link show esp1
check_eq "esptun show in b sees it" "$(ip netns exec b esptun show)" "interface: esp1"
check "move back b -> a" ip -n b link set esp1 netns a
check "back in a" ip -n a link show esp1

# Deleting a namespace deletes the devices in it...
check "create in b" ip -n b link add esp2 type esptun
ip netns del b
_netns=(a)
check "netns b with a device deleted" true
# ...and those whose transport lives in it, wherever they were moved.
new_netns c d
check "create esp3 from c, inside d" ip netns exec c ip link add esp3 netns d type esptun
check "esp3 lives in d" ip -n d link show esp3
ip netns del c
_netns=(a d)
gone() { ! ip -n d link show esp3 >/dev/null 2>&1; }
busywait 5 gone
check_err "esp3 deleted with its transport netns c" "does not exist" ip -n d link show esp3

# A namespace with many devices.
new_netns e
for i in $(seq 0 9); do
	ip -n e link add "esp$i" type esptun
	ip -n e link set "esp$i" up
done
ip netns del e
_netns=(a d)
check "netns with 10 devices (up) deleted" true

# netpoll (netconsole) transmits from any context, interrupts off; the
# data path is for BH context only and refuses it.
if modinfo netconsole >/dev/null 2>&1 && ! lsmod | grep -q '^netconsole '; then
	ip -n a link set esp1 up
	check_err "netconsole cannot attach to an esptun device" "could not insert 'netconsole'" \
		ip netns exec a modprobe netconsole netconsole=6665@10.9.9.1/esp1,6666@10.9.9.2/
	check "the kernel said why" sh -c "dmesg | grep -q 'esp1 doesn.t support polling'"
	modprobe -r netconsole 2>/dev/null
else
	log "netconsole not available: netpoll not tested"
fi

ip -n a link del esp1
leak_check "no device leaked" 55
finish
