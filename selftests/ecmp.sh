#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One device, several tunnels against XFRM endpoints (the AWS-shaped
# topology of aws.sh): flows spread by hash in proportion to the weights, a
# flow never splits, a tunnel taken down (by the user or by losing its
# outbound SA) hands over only its own flows and gets them back, with an
# event each time; the carrier follows the usable tunnels.
#
# Shares are measured over thousands of flows: with a uniform hash the
# share of 64 flows on one of two tunnels falls outside 40/60 in about 11%
# of runs (binomial, sd 6.25%), a property of hashing, not of esptun.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aws.sh"
require_module
FLOWS=$SELFTESTS/flows.py

aws_setup 4
lan_aws "$FLOWS" sink $LAN_AWS &
check_eq "4 tunnels up, weight 1, each pinned to its inside address" \
	"$(tjget '[(x["id"], x["state"], x["weight"], x["pins"]) for x in d["tunnels"]]')" \
	"[(1, 'up', 1, ['169.254.10.1']), (2, 'up', 1, ['169.254.11.1']), (3, 'up', 1, ['169.254.12.1']), (4, 'up', 1, ['169.254.13.1'])]"
check_eq "equal weights: each tunnel's share is a quarter (show)" \
	"$(tjget '[round(x["share"], 2) for x in d["tunnels"]]')" "[0.25, 0.25, 0.25, 0.25]"
check "LAN to LAN through the tunnels" lan_gw ping -q -c 3 -i 0.2 -W 2 $LAN_AWS
monitor_start

flows() { pyfile -n lan_gw "$FLOWS" "$1" $LAN_GW $LAN_AWS "${@:2}"; }
# share_ok "1:0.49 2:0.51" ID LOW HIGH
share_ok() {
	py 'import sys
s = dict(x.split(":") for x in sys.argv[1].split())
sys.exit(not float(sys.argv[3]) <= float(s[sys.argv[2]]) <= float(sys.argv[4]))' "$@"
}

gw esptun tunnel set esp0 id 3 down
gw esptun tunnel set esp0 id 4 down
check "admin down is announced" monitor_wait '"tunnel":4,"state":"down","cause":"admin"'
s=$(flows spread 4096)
log "2 tunnels, 4096 flows: $s"
if share_ok "$s" 1 0.4 0.6 && share_ok "$s" 2 0.4 0.6; then
	pass "2 tunnels share the flows within 40/60 ($s)"
else
	fail "2 tunnels do not share within 40/60: $s"
fi

gw esptun tunnel set esp0 id 3 up weight 2
gw esptun tunnel set esp0 id 4 up weight 4
check "admin up is announced" monitor_wait '"tunnel":4,"state":"up","cause":"admin"'
check_eq "weights 1,1,2,4" "$(tjget '[x["weight"] for x in d["tunnels"]]')" "[1, 1, 2, 4]"
check_eq "shares in show follow the weights" \
	"$(tjget '[round(x["share"], 3) for x in d["tunnels"]]')" "[0.125, 0.125, 0.25, 0.5]"
s=$(flows spread 8192)
log "weights 1,1,2,4, 8192 flows: $s"
ok=1
for w in 1:0.125 2:0.125 3:0.25 4:0.5; do
	share_ok "$s" ${w%:*} $(py "print(${w#*:} * 0.9, ${w#*:} * 1.1)") || ok=0
done
if [ $ok = 1 ]; then
	pass "each tunnel carries its weight's share within 10% ($s)"
else
	fail "shares off by more than 10%: $s"
fi

m0=$(flows map 64 10)
check_eq "no flow's packets split across tunnels (64 flows, 10 packets each)" \
	"$(tr ' ' '\n' <<<"$m0" | grep -c -- '^-1$')" 0
check_eq "every flow arrived" "$(tr ' ' '\n' <<<"$m0" | grep -c -- '^0$')" 0
check_eq "flows stay on their tunnel" "$(flows map 64 1)" "$m0"

# moved_only BEFORE AFTER ID: exactly tunnel ID's flows moved, none to it.
moved_only() {
	py 'import sys
a, b, t = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3]
print(all((x == y) != (x == t) for x, y in zip(a, b)) and t not in b and t in a)' "$@"
}

# Down: only tunnel 4's flows move, and they come back when it is up.
gw esptun tunnel set esp0 id 4 down
check_eq "tunnel 4 down: its share is 0, the others' grow" \
	"$(tjget '[round(x["share"], 2) for x in d["tunnels"]]')" "[0.25, 0.25, 0.5, 0.0]"
check_eq "tunnel 4 down: exactly its flows moved, none to it" \
	"$(moved_only "$m0" "$(flows map 64 1)" 4)" True
gw esptun tunnel set esp0 id 4 up
check_eq "tunnel 4 up: its flows came back, no other moved" "$(flows map 64 1)" "$m0"

# Losing the outbound SA does the same, with an event saying so.
gw esptun sa del esp0 dir out spi 0x1002
check "SA removal is announced" monitor_wait '"tunnel":2,"state":"down","cause":"sa"'
check_eq "tunnel 2 without outbound SA: exactly its flows moved" \
	"$(moved_only "$m0" "$(flows map 64 1)" 2)" True
# Each new outbound SA takes a new key: the old one's numbers are spent.
k=$(new_key)
gw esptun sa add esp0 tunnel 2 dir out spi 0x1012 key "$k"
aws ip xfrm state del src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1002
aws ip xfrm state add src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1012 \
	mode tunnel aead 'rfc4106(gcm(aes))' "$k" 128 if_id 2
check "a new SA is announced" monitor_wait '"tunnel":2,"state":"up","cause":"sa"'
check_eq "tunnel 2 with a new SA: its flows came back" "$(flows map 64 1)" "$m0"

# A hard lifetime limit on the outbound SA does the same (lifetime.sh has
# the limits themselves): a new SA allowed 10 packets, and 640 packets over
# 64 flows, about 80 of them through tunnel 2.
k=$(new_key)
aws ip xfrm state add src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1022 \
	mode tunnel aead 'rfc4106(gcm(aes))' "$k" 128 if_id 2
gw esptun sa add esp0 tunnel 2 dir out spi 0x1022 key "$k" hard-packets 10
flows map 64 10 >/dev/null
check "hard expiry is announced, and takes the tunnel down" \
	monitor_wait '"tunnel":2,"state":"down","cause":"sa"' 5 2
check_eq "tunnel 2 past its hard limit: exactly its flows moved" \
	"$(moved_only "$m0" "$(flows map 64 1)" 2)" True
k=$(new_key)
gw esptun sa add esp0 tunnel 2 dir out spi 0x1032 key "$k"
aws ip xfrm state add src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x1032 \
	mode tunnel aead 'rfc4106(gcm(aes))' "$k" 128 if_id 2
check_eq "a new SA brings them back" "$(flows map 64 1)" "$m0"

# Failover under 1,000 pings a second for 10 s: the loss is what was in
# flight on the tunnel when it went down.
before=$(tjget '[x["tx_packets"] for x in d["tunnels"]]')
lan_gw ping -q -c 1 -W 2 $LAN_AWS >/dev/null
ping_tun=$(py 'import sys, ast
a, b = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2])
print([i + 1 for i in range(len(a)) if b[i] != a[i]][0])' "$before" \
	"$(tjget '[x["tx_packets"] for x in d["tunnels"]]')")
log "the ping flow uses tunnel $ping_tun"
out=$(mktemp)
lan_gw ping -q -i 0.001 -c 10000 -W 1 $LAN_AWS > "$out" 2>&1 &
pid=$!
sleep 3	# time is the test: traffic before, during and after the failover
gw esptun tunnel set esp0 id "$ping_tun" down
sleep 3	# (as above)
gw esptun tunnel set esp0 id "$ping_tun" up
wait $pid
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
received=$(grep -o '[0-9]* received' "$out" | cut -d' ' -f1)
rm -f "$out"
lost=$((sent - received))
log "pings lost across down and up of tunnel $ping_tun: $lost of $sent"
if [ "$sent" -ge 9000 ] && [ "$lost" -le 5 ]; then
	pass "failover and failback under 1,000 pings/s lose at most 5 ($lost of $sent)"
else
	fail "failover lost $lost of $sent pings"
fi

# Eight tunnels (two AWS connections' worth and more), equal weights.
for i in 1 2 3 4; do gw esptun tunnel set esp0 id $i weight 1; done
for i in 5 6 7 8; do aws_tunnel $i; done
aws_route
s=$(flows spread 8192)
log "8 tunnels, 8192 flows: $s"
ok=1
for i in $(seq 8); do share_ok "$s" $i 0.106 0.144 || ok=0; done
if [ $ok = 1 ]; then
	pass "8 tunnels each carry 1/8 within 15% ($s)"
else
	fail "8 tunnels: shares off by more than 15%: $s"
fi
m8=$(flows map 64 1)
gw esptun tunnel set esp0 id 7 down
check_eq "of 8, tunnel 7 down: exactly its flows moved" \
	"$(moved_only "$m8" "$(flows map 64 1)" 7)" True
gw esptun tunnel set esp0 id 7 up
for i in 5 6 7 8; do gw esptun tunnel del esp0 id $i; done
aws_route 1 2 3 4

# No usable tunnel: carrier off, nothing leaves; back with the first one.
# (Once the carrier is off the kernel's noop qdisc discards packets before
# esptun sees them: tx_carrier_errors counts only those it did see.)
for i in 1 2 3 4; do gw esptun tunnel set esp0 id $i down; done
check_eq "all tunnels down: no carrier" "$(no_carrier gw esp0)" 1
before=$(tjget 'sum(x["tx_packets"] for x in d["tunnels"])')
check_err "pings get no answer" "100% packet loss" lan_gw ping -c 3 -i 0.1 -W 1 $LAN_AWS
check_eq "and none was sent" "$(tjget 'sum(x["tx_packets"] for x in d["tunnels"])')" "$before"
gw esptun tunnel set esp0 id 2 up
check_eq "one tunnel up: carrier back" "$(no_carrier gw esp0)" 0
check "and traffic flows" lan_gw ping -q -c 3 -i 0.1 -W 2 $LAN_AWS
check_err "set without a change" "nothing to set" gw esptun tunnel set esp0 id 2
check_err "weight 0" "weight must be 1-255" gw esptun tunnel set esp0 id 2 weight 0
check_err "the local address cannot change" "unknown argument" \
	gw esptun tunnel set esp0 id 2 local 10.0.0.9
monitor_stop

finish
