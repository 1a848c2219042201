#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A device moved into a network namespace owned by an unprivileged user
# namespace (`unshare -Urn`) keeps sending from the netns that created it
# (its link_net).  From inside, CAP_NET_ADMIN over the new netns is not
# enough to add, change or delete its tunnels and SAs or to claim SPIs:
# that would bind UDP ports, claim SPIs and send ESP in the creating
# netns.  Reading stays allowed; a caller privileged over the creating
# netns still configures it from there.
. "$(dirname "$0")/lib.sh"
require_module

new_netns host
ip -n host link add veth0 type veth peer name veth1
ip -n host addr add 10.0.0.1/24 dev veth0
ip -n host link set veth0 up
ip -n host link set veth1 up
ip -n host link add esp0 type esptun

# The unprivileged netns: a user namespace of its own, root mapped to
# root (no capability over anything outside it).
ready=$(mktemp)
unshare -Urn sh -c "echo \$\$ > $ready; exec sleep 600" &	# holds them until killed
UNS=$!
busywait 5 test -s "$ready" || fail "unshare -Urn did not start"
rm -f "$ready"
trap 'kill $UNS 2>/dev/null; _cleanup' EXIT
check "move esp0 into the unprivileged netns" \
	ip -n host link set esp0 netns "$UNS"

inside() { nsenter -t "$UNS" -U -n --preserve-credentials "$@"; }
root_inside() { nsenter -t "$UNS" -n "$@"; }	# init userns: privileged

KEY=0x0102030405060708090a0b0c0d0e0f1011121314
PERM="EPERM|not permitted|another network namespace"

check "inside: esptun show reads the device" inside esptun show esp0
check_err "inside: tunnel add refused" "$PERM" \
	inside esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
check_err "inside: tunnel add says why" "CAP_NET_ADMIN" \
	inside esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2 encap udp
check_eq "inside: nothing was added" \
	"$(root_inside esptun show esp0 --json | py 'import json,sys; print(len(json.load(sys.stdin)[0]["tunnels"]))')" 0
check_eq "inside: no UDP socket bound in the creating netns" \
	"$(ip netns exec host ss -Hunl 'sport = :4500')" ""

check "privileged caller: tunnel add" root_inside esptun tunnel add esp0 \
	id 1 local 10.0.0.1 remote 10.0.0.2
check "privileged caller: sa add" root_inside esptun sa add esp0 tunnel 1 \
	dir in spi 0x101 key $KEY

check_err "inside: tunnel set refused" "$PERM" \
	inside esptun tunnel set esp0 id 1 down
check_err "inside: tunnel del refused" "$PERM" \
	inside esptun tunnel del esp0 id 1
check_err "inside: sa add refused" "$PERM" \
	inside esptun sa add esp0 tunnel 1 dir out spi 0x100 key $KEY
out=$(inside "$SELFTESTS/nlraw.py" --echo sa-new ifname:str:esp0 \
	"sa:nest:tunnel-id/u32/1,dir/u8/1,spi/be32/0x100,key/hex/${KEY#0x}")
check_eq "inside: refused SA's key wiped from the copy the ACK carries back" \
	"$(grep -c -e '^error EPERM' -e '^echo ' <<<"$out") $(grep -ci -e "${KEY#0x}" <<<"$out")" "2 0"
check_err "inside: sa del refused" "$PERM" \
	inside esptun sa del esp0 dir in spi 0x101
check "inside: sa get reads" inside esptun sa get esp0 dir in spi 0x101
check_eq "inside: the tunnel and its SA are as they were" \
	"$(root_inside esptun show esp0 --json | py '
import json, sys
t = json.load(sys.stdin)[0]["tunnels"]
print([(x["id"], x["admin"], [s["spi"] for s in x["sas"]]) for x in t])')" \
	"[(1, 'up', [257])]"

# SPI allocation claims an SPI in the creating netns: the Python client
# sends the raw command (the tool has no verb for it).
check_eq "inside: spi alloc refused" \
	"$(inside "$SELFTESTS/nlraw.py" spi-alloc ifname:str:esp0 | cut -d: -f1)" \
	"error EPERM"
check_eq "privileged caller: spi alloc" \
	"$(root_inside "$SELFTESTS/nlraw.py" spi-alloc ifname:str:esp0)" "ok 1"

check "privileged caller: tunnel del" root_inside esptun tunnel del esp0 id 1
finish
