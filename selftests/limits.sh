#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: exclusive
#   (changes a module parameter)
#
# What a namespace's administrator (maybe an unprivileged user namespace's)
# can make the kernel hold: 255 tunnels per device, max_sas_per_tunnel
# inbound SAs per tunnel, and the memory charged to the caller's cgroup
# (devices are not counted: the memory they hold is charged too).
# A full device still dumps completely, over several netlink messages.
. "$(dirname "$0")/lib.sh"
require_module
leak_mark

new_netns a
a() { in_ns a "$@"; }
a ip link add esp0 type esptun
a ip link add esp1 type esptun
KEY=$(new_key)
PARAM=/sys/module/esptun/parameters/max_sas_per_tunnel

# 255 tunnels, each with an inbound SA: the ABI's most per device.
add_tunnels a esp0 1 255 10.0.0.1 "$KEY" || fail "255 tunnels with an SA each"
check_eq "255 tunnels with an SA each, and the full device dumps completely, ids in order" \
	"$(a esptun show esp0 --json | py '
import json, sys
t = json.load(sys.stdin)[0]["tunnels"]
print(len(t), sum(len(x["sas"]) for x in t), [x["id"] for x in t] == list(range(1, 256)))')" \
	"255 255 True"
check_err "a 256th tunnel is refused" "at most 255 tunnels" \
	a esptun tunnel add esp0 id 256 local 10.0.0.1 remote 10.2.0.1
check_eq "the dump of every device has both, esp0 in full" \
	"$(a esptun show --json | py '
import json, sys
print(sorted((d["ifname"], len(d["tunnels"])) for d in json.load(sys.stdin)))')" \
	"[('esp0', 255), ('esp1', 0)]"

# Inbound SAs per tunnel: the module parameter, checked as each is added.
old=$(cat $PARAM)
trap 'echo "$old" > $PARAM; _cleanup' EXIT
echo 3 > $PARAM
check "tunnel 1: a second inbound SA" \
	a esptun sa add esp0 tunnel 1 dir in spi 0x20001 key $KEY
check "and a third" a esptun sa add esp0 tunnel 1 dir in spi 0x20002 key $KEY
check_err "a fourth is refused, naming the parameter" \
	"holds max_sas_per_tunnel inbound SAs" \
	a esptun sa add esp0 tunnel 1 dir in spi 0x20003 key $KEY
check "the outbound SA is not counted" \
	a esptun sa add esp0 tunnel 1 dir out spi 0x30001 key "$(new_key)"
echo "$old" > $PARAM
check "with the parameter back, the fourth goes in" \
	a esptun sa add esp0 tunnel 1 dir in spi 0x20003 key $KEY

# Memory: a cgroup's memory.current grows by what its tunnels hold (two
# 2048-slot ordering rings each, besides the tunnel), not the root's.
CG=/sys/fs/cgroup
[ -e $CG/cgroup.controllers ] || mount -t cgroup2 none $CG ||
	fail "cannot mount cgroup2"
grep -qw memory $CG/cgroup.controllers || skip_all "no memory controller"
echo +memory > $CG/cgroup.subtree_control
mkdir -p $CG/esptun-limits
before=$(cat $CG/esptun-limits/memory.current)
sh -c "echo \$\$ > $CG/esptun-limits/cgroup.procs
	for i in \$(seq 1 20); do
		esptun -n a tunnel add esp1 id \$i local 10.0.0.1 \
			remote 10.3.0.\$i || exit 1
	done" || fail "20 tunnels from inside the cgroup"
after=$(cat $CG/esptun-limits/memory.current)
check "20 tunnels are charged to the caller's cgroup ($(( (after - before) / 1024 )) KiB)" \
	test $((after - before)) -ge $((20 * 32 * 1024))
# Devices are not counted, as dummy's and veth's are not: what each one
# holds is charged (the core's net_device, esptun's counters).
mid=$after
sh -c "echo \$\$ > $CG/esptun-limits/cgroup.procs
	for i in \$(seq 2 21); do echo link add esp\$i type esptun; done |
		ip -n a -batch -" || fail "20 devices from inside the cgroup"
after=$(cat $CG/esptun-limits/memory.current)
check "20 devices are charged to the caller's cgroup ($(( (after - mid) / 1024 )) KiB)" \
	test $((after - mid)) -ge $((20 * 10 * 1024))
for i in $(seq 0 21); do
	echo "link del esp$i"
done | ns_batch a
# Freed after a grace period; per-CPU object caches may keep a little.
half=$((before + (after - before) / 2))
busywait 10 sh -c "[ \$(cat $CG/esptun-limits/memory.current) -lt $half ]"
check "and uncharged when they go ($(( ($(cat $CG/esptun-limits/memory.current) - before) / 1024 )) KiB left)" \
	test "$(cat $CG/esptun-limits/memory.current)" -lt $half
rmdir $CG/esptun-limits
leak_check "every device, tunnel and SA freed" 10
finish
