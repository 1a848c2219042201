#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Per-device locking (device.h): commands on one device run under its own
# lock, not RTNL.  Two devices: SA churn on esp0 while esp1 sees `ip link`
# changes and SA churn of its own, with traffic through both; then esp1 is
# deleted during SA churn.  Nothing stalls or fails, the counters are
# exact, and everything created is freed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

CHURN=$SELFTESTS/churn.py
KEY3=0x4142434445464748494a4b4c4d4e4f5051525354
KEY4=0x6162636465666768696a6b6c6d6e6f7071727374

leak_mark
topo_setup 4
# esp1: a second device in gw, its tunnel from 10.0.0.3 to the same peer,
# inner 172.16.2.0/24 to 172.16.3.1.
ip -n gw addr add 10.0.0.3/24 dev veth0
ip -n peer xfrm state add src 10.0.0.3 dst 10.0.0.2 proto esp spi 0x3000 \
	mode tunnel flag af-unspec aead 'rfc4106(gcm(aes))' $KEY3 128 replay-window 128
ip -n peer xfrm state add src 10.0.0.2 dst 10.0.0.3 proto esp spi 0x4000 \
	mode tunnel flag af-unspec aead 'rfc4106(gcm(aes))' $KEY4 128 replay-window 128
ip -n peer xfrm policy add src 172.16.3.0/24 dst 172.16.2.0/24 dir out \
	tmpl src 10.0.0.2 dst 10.0.0.3 proto esp mode tunnel
ip -n peer xfrm policy add src 172.16.2.0/24 dst 172.16.3.0/24 dir in \
	tmpl src 10.0.0.3 dst 10.0.0.2 proto esp mode tunnel
ip -n peer addr add 172.16.3.1/24 dev lan0
ip -n peer route add 172.16.2.0/24 dev veth0 src 172.16.3.1
ip -n gw link add esp1 type esptun
ip -n gw addr add 172.16.2.1/24 dev esp1
ip -n gw link set esp1 up
ip -n gw route add 172.16.3.0/24 dev esp1 src 172.16.2.1
gw esptun tunnel add esp1 id 1 local 10.0.0.3 remote 10.0.0.2
gw esptun sa add esp1 tunnel 1 dir out spi 0x3000 key $KEY3
gw esptun sa add esp1 tunnel 1 dir in spi 0x4000 key $KEY4
check "esp0 carries traffic" gw ping -c 1 -W 5 $PEER4
check "esp1 carries traffic" gw ping -c 1 -W 5 172.16.3.1

# tx (DEV): tunnel 1's packets sent, from `esptun show`.
tx() {
	gw esptun show "$1" --json | py '
import json, sys; print(json.load(sys.stdin)[0]["tunnels"][0]["tx_packets"])'
}
tx0=$(tx esp0) tx1=$(tx esp1)

N=150
out=$(mktemp -d)
# SA churn on both devices (their own tunnels, SPIs nobody sends to),
# link changes on esp1, pings through both, all at once.
gw "$CHURN" esp0 1 0x10000 $N > "$out/churn0" &
c0=$!
gw "$CHURN" esp1 1 0x20000 $N > "$out/churn1" &
c1=$!
(
	for i in $(seq 30); do
		gw ip link set esp1 mtu $((1300 + i)) || echo "mtu $i failed"
		gw ip link set esp1 alias "churn $i" || echo "alias $i failed"
		gw ip link add dummy$i type dummy && gw ip link del dummy$i ||
			echo "dummy $i failed"
	done > "$out/links" 2>&1
) &
l=$!
gw ping -q -c 100 -i 0.02 -W 2 $PEER4 > "$out/ping0" 2>&1 &
p0=$!
gw ping -q -c 100 -i 0.02 -W 2 172.16.3.1 > "$out/ping1" 2>&1 &
p1=$!
wait $c0 $c1 $l $p0 $p1

check_eq "SA churn on esp0: every add and delete succeeded" "$(cat "$out/churn0")" "done $N"
check_eq "SA churn on esp1 beside link changes: every one succeeded" \
	"$(cat "$out/churn1")" "done $N"
check_eq "link changes on esp1 beside its SA churn: every one succeeded" \
	"$(cat "$out/links")" ""
check_eq "esp0: all 100 pings answered" \
	"$(grep -o '[0-9]* received' "$out/ping0")" "100 received"
check_eq "esp1: all 100 pings answered" \
	"$(grep -o '[0-9]* received' "$out/ping1")" "100 received"
check_eq "esp0 sent exactly the pings" "$(($(tx esp0) - tx0))" 100
check_eq "esp1 sent exactly the pings" "$(($(tx esp1) - tx1))" 100
check_eq "the churned SAs are gone" \
	"$(gw esptun show esp0 --json | py '
import json, sys
print(sorted(hex(s["spi"]) for s in json.load(sys.stdin)[0]["tunnels"][0]["sas"]))')" \
	"['0x1000', '0x2000']"

# Deleting a device in the middle of SA churn on it: the churn sees the
# device go (ENODEV, nothing else), nothing deadlocks, nothing leaks.
gw "$CHURN" esp1 1 0x30000 100000 --until-gone > "$out/gone" &
c1=$!
busywait 60 grep -q started "$out/gone" || fail "the churn did not start"
check "ip link del esp1 during SA churn" gw ip link del esp1
wait $c1
check_eq "the churn saw the device go, and no other error" \
	"$(sed -n 2p "$out/gone" | sed 's/[0-9][0-9]*$/K/')" "gone after K"
check_eq "esp0 is untouched" "$(gw esptun show esp0 --json | py '
import json, sys; print(len(json.load(sys.stdin)[0]["tunnels"][0]["sas"]))')" 2
rm -rf "$out"
gw ip link del esp0
leak_check "devices, tunnels and SAs of the churn" 300
finish
