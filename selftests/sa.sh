#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tunnels and SAs from the tool: grammar, every refusal with its reason,
# key forms and sizes, keys never shown, outbound replacement, and removal
# of SAs, tunnels and devices under traffic without leaks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module
leak_mark

topo_setup 4
ge() { gw esptun "$@"; }

check_err "duplicate tunnel id" "a tunnel with this id already exists \(File exists\)" \
	ge tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.9
check_err "same addresses as another tunnel" "already joins these local and remote addresses" \
	ge tunnel add esp0 id 2 local $GW_OUT remote $PEER_OUT
check_err "mixed address families" "not of one family" \
	ge tunnel add esp0 id 2 local 10.0.0.1 remote fd00::2
check_err "a bad address" 'remote "10.0.0.256" is not an IPv4 or IPv6 address' \
	ge tunnel add esp0 id 2 local 10.0.0.1 remote 10.0.0.256
check_err "a multicast remote" "outer addresses must be unicast" \
	ge tunnel add esp0 id 2 local 10.0.0.1 remote 224.0.0.1
check_err "missing remote" "local and remote are required" \
	ge tunnel add esp0 id 2 local 10.0.0.1
check_err "unknown argument" 'unknown argument "colour"' \
	ge tunnel add esp0 id 2 local 10.0.0.1 remote 10.0.0.3 colour blue
check_err "no such device" "tunnel add nope id 2: no such device" \
	ge tunnel add nope id 2 local 10.0.0.1 remote 10.0.0.3
check_err "deleting a missing tunnel" "no tunnel with this id \(No such file or directory\)" \
	ge tunnel del esp0 id 7

check_err "a key of the wrong size" "key must be 20, 28 or 36 bytes" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222 key 0x0102030405060708090a0b0c0d0e0f10111213141516
check_err "a key without 0x" "key must be 0x-prefixed hex, @FILE or -" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222 key 0102030405060708090a0b0c0d0e0f1011121314
check_err "a key that is not hex" "key is not hex" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222 key 0x0102030405060708090a0b0c0d0e0f10111213zz
check_err "a duplicate inbound SPI" "an inbound SA with this SPI already exists" \
	ge sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN
check_err "seq on an inbound SA" "seq applies to outbound SAs only" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222 key $KEY_IN seq 5
check_err "a replay window over 4096" "replay-window 5000 is out of range" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222 key $KEY_IN replay-window 5000
check_err "a missing tunnel" "no tunnel with this id" \
	ge sa add esp0 tunnel 9 dir in spi 0x2222 key $KEY_IN
check_err "a bad direction" 'dir must be in or out, not "both"' \
	ge sa add esp0 tunnel 1 dir both spi 0x2222 key $KEY_IN
check_err "SPI 0" "spi 0 is reserved" \
	ge sa add esp0 tunnel 1 dir in spi 0 key $KEY_IN
check_err "missing key" "tunnel, dir, spi and key are required" \
	ge sa add esp0 tunnel 1 dir in spi 0x2222
check_err "deleting a missing SA" "no SA with this direction and SPI" \
	ge sa del esp0 dir in spi 0x7777

# Key forms (@FILE and stdin) and sizes (AES-192, AES-256) against XFRM.
key28=0x$(printf '%02x' $(seq 1 28) | tr -d '\n')
key36=0x$(printf '%02x' $(seq 101 136) | tr -d '\n')
echo "$key28" > /tmp/key28.$$
check "an AES-192 key from a file" ge sa add esp0 tunnel 1 dir in spi 0x2192 key @/tmp/key28.$$
check "an AES-256 key from stdin" sh -c "echo $key36 | ip netns exec gw esptun sa add esp0 tunnel 1 dir out spi 0x1256 key -"
rm -f /tmp/key28.$$
peer_xfrm_state 0x1256 $GW_OUT $PEER_OUT $key36
ip -n peer xfrm state del src $PEER_OUT dst $GW_OUT proto esp spi $SPI_IN
peer_xfrm_state 0x2192 $PEER_OUT $GW_OUT $key28
check "AES-256 out, AES-192 in: ping both ways" gw ping -q -c 3 -i 0.1 -W 2 $PEER4
check_eq "the outbound SA was replaced, not added" \
	"$(jget '[hex(s["spi"]) for s in t["sas"] if s["dir"] == "out"]')" "['0x1256']"
# The per-CPU inbound SPI cache (sa.c) never serves a deleted SA: the same
# SPI re-added takes the very next packet, and none goes unclaimed.
no_sa=$(jget 't["rx_no_sa"]')
ge sa del esp0 dir in spi 0x2192
ge sa add esp0 tunnel 1 dir in spi 0x2192 key $key28
check "an inbound SA deleted and re-added under its SPI: pings answered" \
	gw ping -q -c 3 -i 0.1 -W 2 $PEER4
check_eq "the new SA took every reply, none counted as no-SA" \
	"$(jget '([s["packets"] for s in t["sas"] if s["spi"] == 0x2192], t["rx_no_sa"])')" \
	"([3], $no_sa)"
all=$(ge show; ge show --json)
for k in $KEY_OUT $KEY_IN $key28 $key36; do
	if grep -qi "${k#0x}" <<<"$all" || grep -qi "${k:2:16}" <<<"$all"; then
		fail "a key appears in esptun show"
	fi
done
pass "no key appears in show or show --json"

# Removal under traffic: SAs replaced and deleted while TCP and pings run.
peer_xfrm_state $SPI_IN $PEER_OUT $GW_OUT $KEY_IN
iperf3_server peer -B $PEER4
gw timeout 30 iperf3 -c $PEER4 -t 6 >/dev/null 2>&1 &
load1=$!
gw ping -q -i 0.01 -c 600 -W 1 $PEER4 >/dev/null 2>&1 &
load2=$!
ok=1
for i in $(seq 30); do
	ge sa add esp0 tunnel 1 dir out spi 0x1256 key "$(new_key 36)" || ok=0
	ge sa del esp0 dir in spi 0x2192 || ok=0
	ge sa add esp0 tunnel 1 dir in spi 0x2192 key $key28 || ok=0
	ge sa del esp0 dir out spi 0x1256 || ok=0
done
wait $load2
wait $load1
check_eq "30 rounds of SA replacement and removal under traffic" $ok 1
# Re-adding an SPI restarts its sequence numbers, which the peer's replay
# window rightly refuses: the daemon's next SA has a new SPI.
key36=$(new_key 36)
peer_xfrm_state 0x1300 $GW_OUT $PEER_OUT $key36
ge sa add esp0 tunnel 1 dir out spi 0x1300 key $key36
check "traffic flows afterwards" gw ping -q -c 3 -i 0.1 -W 2 $PEER4

# A tunnel deleted under traffic, then the device with a tunnel and SAs.
gw ping -q -i 0.01 -c 300 -W 1 $PEER4 >/dev/null 2>&1 &
load2=$!
sleep 0.5	# time is the test: under traffic
check "delete a tunnel under traffic" ge tunnel del esp0 id 1
wait $load2
check_eq "no tunnel left" "$(jget 'len(d["tunnels"])')" 0
check_eq "carrier off without a tunnel" "$(no_carrier gw esp0)" 1
check "a tunnel again" ge tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT
# The nonce rule (AES-GCM's nonce is the salt and the sequence number):
# the deleted tunnel's outbound key, which sent up to some number, cannot
# come back from 0, nor one key go both ways or on two tunnels at once.
check_err "a deleted tunnel's outbound key again from seq 0 is refused" \
	"this key sent before, with higher sequence numbers" \
	ge sa add esp0 tunnel 1 dir out spi $SPI_OUT key $key36
check "from past what it may have sent, it is taken" \
	ge sa add esp0 tunnel 1 dir out spi $SPI_OUT key $key36 seq 100000
k=$(new_key)
check "its SAs" sh -c "ip netns exec gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $k &&
	ip netns exec gw esptun sa add esp0 tunnel 1 dir in spi 0x2192 key $key28"
check_err "the outbound key as an inbound one is refused" "same key both ways" \
	ge sa add esp0 tunnel 1 dir in spi 0x2193 key $k
check "and a second, IPv6, tunnel" ge tunnel add esp0 id 2 local fd00::1 remote fd00::2
check_err "tunnel 1's outbound key on tunnel 2 is refused" \
	"an outbound SA in use has this key" \
	ge sa add esp0 tunnel 2 dir out spi 0x1999 key $k
check "an SA on it" ge sa add esp0 tunnel 2 dir in spi 0x2999 key $KEY_IN
check_eq "show lists both tunnels in id order" "$(jget '[x["id"] for x in d["tunnels"]]')" "[1, 2]"
gw ping -q -i 0.01 -c 300 -W 1 $PEER4 >/dev/null 2>&1 &
load2=$!
sleep 0.5	# time is the test: under traffic
check "delete the device under traffic" ip -n gw link del esp0
wait $load2
leak_check "every device, tunnel and SA freed" 10
finish
