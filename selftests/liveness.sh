#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Data-plane liveness: keepalives are authentic ESP dummy packets (next
# header 59) the XFRM peer discards; dead-after takes a silent tunnel down
# (its flows fail over, an event says why) and the next authentic packet,
# a peer's dummy included, brings it back.  Forged packets do not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aws.sh"
. "$(dirname "$0")/topology.sh"
require_module
leak_mark

aws_setup 2
monitor_start

# Keepalives: one a second, authentic, next header 59, no payload.
capture_start aws veth0 3
gw esptun tunnel set esp0 id 1 keepalive 1
capture_wait
check_eq "keepalive 1: 3 ESP packets to tunnel 1's end within 15 s" \
	"$(grep -c '"dst": "10.0.0.2"' "$CAP")" 3
ok=1
while read -r line; do
	esp=$(py 'import json, sys; print(json.loads(sys.argv[1])["esp"])' "$line")
	out=$(pyfile "$ESPTOOL" open "$(aws_key out 1)" "$esp") || ok=0
	[ "$out" = '{"next": 59, "pad": 2, "payload": 0}' ] || ok=0
done < "$CAP"
rm -f "$CAP"
check_eq "each authentic, next header 59, empty (independent decryption)" $ok 1
check_eq "the XFRM peer saw no integrity failure" \
	"$(aws ip -s xfrm state get src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 |
	   sed -n 's/.* failed \([0-9]*\)$/\1/p' | head -n 1)" 0
check_eq "show reports it" "$(tjget 't(1)["keepalive"]')" 1
gw esptun tunnel set esp0 id 1 keepalive 0
sleep 1	# a keepalive already on its way was sent before the 0
a1=$(tjget 't(1)["tx_packets"]')
sleep 3	# time is the test: nothing sent in 3 s
check_eq "keepalive 0: none sent in 3 s" "$(tjget 't(1)["tx_packets"]')" "$a1"

# dead-after: tunnel 2 hears nothing (the aws side routes nothing to it).
# 2 s, times ESPTUN_TIMEOUT_SCALE: on the debug kernel (make check-debug)
# a show read right after the set, or one dummy built and sent, takes
# longer than 2 s, and the tunnels died before the test could look.
dead=$(scaled 2)
aws_route 1
gw esptun tunnel set esp0 id 2 dead-after "$dead"
check_eq "dead-after set: still up" "$(tjget '(t(2)["state"], t(2)["liveness"])')" "('up', 'up')"
check "silence takes tunnel 2 down, with an event" \
	monitor_wait '"tunnel":2,"state":"down","cause":"liveness"' 8
check_eq "show says why" "$(tjget '(t(2)["state"], t(2)["liveness"], t(2)["admin"])')" \
	"('down', 'down', 'up')"
check_eq "its share went to tunnel 1" "$(tjget '[t(1)["share"], t(2)["share"]]')" "[1.0, 0.0]"
check_eq "the carrier stays: tunnel 1 is up" "$(no_carrier gw esp0)" 0
a2=$(tjget 't(2)["tx_packets"]')
lan_gw "$SELFTESTS/flows.py" sink $LAN_AWS >/dev/null 2>&1 &
check "LAN traffic still flows" lan_gw ping -q -c 5 -i 0.1 -W 2 $LAN_AWS
check_eq "none of it through dead tunnel 2" "$(tjget 't(2)["tx_packets"]')" "$a2"

# A forged packet on tunnel 2's SPI does not revive it.
forged=$(pyfile "$ESPTOOL" build 0x00000000000000000000000000000000deadbeef 0x2002 7 \
	--inner dummy)
pyfile -n aws "$ESPTOOL" send 10.0.0.1 "$forged"
wait_eq "a forged packet fails authentication and revives nothing" 5 "(1, 'down')" \
	tjget '(t(2)["rx_auth_fail"], t(2)["state"])'

# The aws end speaks on tunnel 2 (its BGP neighbour, say): back up.
check "an authentic packet over tunnel 2 is answered (through tunnel 2)" \
	aws ping -q -c 1 -W 3 "$(aws_inside 2 gw)"
check "and brings the tunnel back, with an event" \
	monitor_wait '"tunnel":2,"state":"up","cause":"liveness"'
# Kept alive while show is read: on a loaded host reading it can take
# longer than dead-after.
# Not through the function aws: $! must be ping itself.
ip netns exec aws ping -q -i 0.5 -W 1 "$(aws_inside 2 gw)" >/dev/null 2>&1 &
pinger=$!
wait_eq "show agrees" 10 "('up', 'up')" tjget '(t(2)["state"], t(2)["liveness"])'
kill "$pinger"
wait "$pinger" 2>/dev/null
check "silence again: down again (a second event)" \
	monitor_wait '"tunnel":2,"state":"down","cause":"liveness"' 8 2

# A peer's keepalive (an authentic dummy) counts as life; 100 more, with
# the next sequence numbers, for later.
mapfile -t more < <(pyfile "$ESPTOOL" build "$(aws_key in 1)" 0x2001 1000 --inner dummy \
	--count 101)
dummy=${more[0]}
more=("${more[@]:1}")
# Counted from here: on a loaded host tunnel 1 may have flapped already,
# and an earlier event must not stand for the one awaited.
t1() { grep -Ec -- "\"tunnel\":1,\"state\":\"$1\",\"cause\":\"liveness\"" "$MON"; }
downs=$(t1 down) ups=$(t1 up)
gw esptun tunnel set esp0 id 1 dead-after "$dead"
check "tunnel 1 dies of silence too" \
	monitor_wait '"tunnel":1,"state":"down","cause":"liveness"' 8 $((downs + 1))
check_eq "with both dead, no carrier" "$(no_carrier gw esp0)" 1
pyfile -n aws "$ESPTOOL" send 10.0.0.1 "$dummy"
check "the peer's dummy packet revives tunnel 1" \
	monitor_wait '"tunnel":1,"state":"up","cause":"liveness"' 5 $((ups + 1))
# Alive only for dead-after (2 s unscaled) after one packet, which a loaded host
# can spend between the event and the read: more dummies meanwhile, each
# with a sequence number of its own (a copy would be a replay).
# One process sends them all, paced: two Python starts a dummy took longer
# than dead-after on a loaded guest.
ip netns exec aws "$ESPTOOL" send 10.0.0.1 "${more[@]}" --every 0.3 >/dev/null 2>&1 &
dummies=$!
wait_eq "and the carrier" 10 0 no_carrier gw esp0
kill "$dummies" 2>/dev/null
wait "$dummies" 2>/dev/null

# Turning dead-after off clears the verdict.
ups2=$(grep -Ec -- '"tunnel":2,"state":"up","cause":"liveness"' "$MON")
gw esptun tunnel set esp0 id 2 dead-after 0
check "dead-after 0: tunnel 2 up at once" \
	monitor_wait '"tunnel":2,"state":"up","cause":"liveness"' 5 $((ups2 + 1))
check_eq "no liveness field without dead-after" "$(tjget '"liveness" in t(2)')" False
check_err "keepalive out of range" "keepalive 65536 is out of range" \
	gw esptun tunnel set esp0 id 1 keepalive 65536
check_err "dead-after needs a number" "dead-after \"soon\" is not a number" \
	gw esptun tunnel set esp0 id 1 dead-after soon
gw esptun tunnel set esp0 id 1 keepalive 1 dead-after 1
monitor_stop

gw ip link del esp0
leak_check "tunnels with running timers are freed with the device" 5
finish
