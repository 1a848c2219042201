#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: exclusive
#   (compares the module's object counts in debugfs, which every test
#   moves, and its 10,000 SAs would take the CPUs from a test beside it)
#
# The namespace's inbound SPI table at scale: 10,000 inbound SAs (200
# tunnels of 50, max_sas_per_tunnel at its default) added, dumped,
# received on and deleted from one process speaking netlink
# (spi_table.py); ESP for SAs added first, in the middle and last finds
# them, ESP nobody owns finds its tunnel by addresses, and SPIs and pairs
# of addresses taken are refused as ever.
. "$(dirname "$0")/lib.sh"
require_module
python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography missing"
leak_mark

TUNNELS=200
PER_TUNNEL=50
KEEP=100
objects() { tr '\n' ' ' < /sys/kernel/debug/esptun/objects; }
before=$(objects)

new_netns gw peer
ip link add veth0 netns gw type veth peer name veth0 netns peer
ip -n gw addr add 10.0.0.1/24 dev veth0
ip -n peer addr add 10.0.0.2/24 dev veth0
ip -n gw link set veth0 up
ip -n peer link set veth0 up
# ESP comes from each tunnel's remote address, which has no route back.
ns_sysctl gw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth0.rp_filter=0 ||
	fail "rp_filter off in gw"
ip -n gw link add esp0 type esptun
ip -n gw link add esp1 type esptun
ip -n gw addr add 172.16.0.1/24 dev esp0
ip -n gw link set esp0 up
add_tunnels gw esp0 1 $TUNNELS 10.0.0.1 || fail "$TUNNELS tunnels on esp0"
ip netns exec gw esptun tunnel add esp1 id 1 local 10.0.0.1 remote 10.8.0.1 ||
	fail "a tunnel on esp1"

start=$SECONDS
ended=""
while IFS=$'\t' read -r kind desc seen want; do
	case $kind in
	check) check_eq "$desc" "$seen" "$want" ;;
	log) log "$desc" ;;
	end) ended=1 ;;
	esac
done < <(python3 "$SELFTESTS/spi_table.py" gw peer esp0 esp1 $PER_TUNNEL $KEEP \
	"${SPI_TABLE_SEED:-1}")
[ -n "$ended" ] || fail "spi_table.py stopped before the end"
log "spi_table.py took $((SECONDS - start)) s"

# The SAs kept go with their tunnels and devices.
ip -n gw link del esp0
ip -n gw link del esp1
wait_eq "the objects counts in debugfs are back to what they were" 30 \
	"$before" objects
leak_check "every SA, tunnel and device freed" \
	$((TUNNELS * PER_TUNNEL + TUNNELS + 3))
finish
