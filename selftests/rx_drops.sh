#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Received ESP that must not get through is dropped and counted by cause:
# replays, forgeries, malformed packets, unknown SPIs; ESP for an SPI that
# XFRM owns on the same host still reaches XFRM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module
python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography missing"

topo_setup 4
send() { pyfile -n peer "$ESPTOOL" send $GW_OUT "$1"; }
build() { pyfile -n peer "$ESPTOOL" build $KEY_IN $SPI_IN "$@"; }
counters() { jget 't["rx_packets"], t["rx_replay"], t["rx_auth_fail"], t["rx_malformed"], t["rx_no_sa"], sa("in", 0x2000)["seq"]'; }

# A genuine packet from the peer, captured on the way in.
capture_start gw veth0 2
gw ping -q -c 1 -W 2 $PEER4 >/dev/null
capture_wait
pkt=$(py 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if not r["outgoing"]: print(r["esp"])' "$CAP")
rm -f "$CAP"
[ -n "$pkt" ] || fail "no packet captured from the peer"
check_eq "start: rx 1, no drops, window top 1" "$(counters)" "(1, 0, 0, 0, 0, 1)"

send "$pkt"
check_eq "a captured packet sent again is a replay" "$(counters)" "(1, 1, 0, 0, 0, 1)"
check_eq "the SA counts it too" "$(jget 'sa("in", 0x2000)["replay_drops"]')" 1

# Same packet, fresh sequence number: the ICV cannot match.
forged=${pkt:0:8}00000065${pkt:16}
send "$forged"
check_eq "a forged packet with a fresh seq fails authentication" \
	"$(counters)" "(1, 1, 1, 0, 0, 1)"
check_eq "and does not move the window" "$(jget 'sa("in", 0x2000)["seq"]')" 1
check_eq "the SA counts the auth failure" "$(jget 'sa("in", 0x2000)["auth_failures"]')" 1

send "$(build 50)"
check_eq "an authentic crafted packet (seq 50) is accepted" "$(counters)" "(2, 1, 1, 0, 0, 50)"
send "$(build 50)"
check_eq "and is a replay the second time" "$(counters)" "(2, 2, 1, 0, 0, 50)"
send "$(build 49)"
check_eq "an older packet inside the window is accepted" "$(counters)" "(3, 2, 1, 0, 0, 50)"
send "$(build 40 --pad 2 --bad-pad)"
check_eq "bad padding bytes are malformed" "$(counters)" "(3, 2, 1, 1, 0, 50)"
send "$(build 41 --next 17)"
check_eq "an unknown next header is malformed" "$(counters)" "(3, 2, 1, 2, 0, 50)"
send "$(build 42 --next 41)"
check_eq "an IPv4 packet labelled IPv6 is malformed" "$(counters)" "(3, 2, 1, 3, 0, 50)"
send "$(build 43 --inner dummy)"
check_eq "a dummy packet (next header 59) is dropped silently" "$(counters)" "(3, 2, 1, 3, 0, 50)"
send "$(build 44 --inner v6 --src $PEER6 --dst $GW6 --pad 250)"
check_eq "long valid padding is fine (inner IPv6)" "$(counters)" "(4, 2, 1, 3, 0, 50)"
send "${pkt:0:8}00000070"
check_eq "a bare ESP header is malformed" "$(counters)" "(4, 2, 1, 4, 0, 50)"
send "${pkt:0:60}"
check_eq "a truncated packet is malformed" "$(counters)" "(4, 2, 1, 5, 0, 50)"
send "${pkt:0:8}00000071$(head -c 100 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check_eq "random bytes with our SPI fail authentication" "$(counters)" "(4, 2, 2, 5, 0, 50)"
send "0000999900000001$(head -c 60 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check_eq "an SPI nobody owns, between the tunnel's addresses, is no-SA" \
	"$(counters)" "(4, 2, 2, 5, 1, 50)"
# Which tunnel an unowned SPI was meant for comes from a hash by outer
# addresses (not a walk of every tunnel per packet): it still finds the
# tunnel among 200 others, and follows a change of its remote address.
gw ip link add esp1 type esptun
add_tunnels gw esp1 1 200 $GW_OUT
check_eq "200 tunnels on another device" "$(gw esptun show esp1 | grep -c '^tunnel')" 200
gw esptun tunnel set esp0 id 1 remote 10.9.9.9
send "0000999900000002$(head -c 60 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check_eq "tunnel 1 moved away: an unowned SPI from its old remote is not its" \
	"$(counters)" "(4, 2, 2, 5, 1, 50)"
gw esptun tunnel set esp0 id 1 remote $PEER_OUT
send "0000999900000003$(head -c 60 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check_eq "and back: it is again" "$(counters)" "(4, 2, 2, 5, 2, 50)"
gw ip link del esp1
check_eq "device rx_errors = auth failures + malformed" "$(link_stat gw esp0 rx.errors)" 7
check_eq "device rx_dropped = replays + no SA" "$(link_stat gw esp0 rx.dropped)" 4
check_eq "device-wide counters agree" \
	"$(jget 'd["stats"]["rx_replay"], d["stats"]["rx_auth_fail"], d["stats"]["rx_malformed"], d["stats"]["rx_no_sa"]')" \
	"(2, 2, 5, 2)"
check "traffic still flows" gw ping -q -c 3 -i 0.1 -W 2 $PEER4

# XFRM on the gateway owns SPIs 0x3000/0x4000 between the same addresses.
ip -n gw xfrm state add src $PEER_OUT dst $GW_OUT proto esp spi 0x3000 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_IN 128
ip -n gw xfrm state add src $GW_OUT dst $PEER_OUT proto esp spi 0x4000 mode tunnel \
	aead 'rfc4106(gcm(aes))' $KEY_OUT 128
peer_xfrm_state 0x3000 $PEER_OUT $GW_OUT $KEY_IN
peer_xfrm_state 0x4000 $GW_OUT $PEER_OUT $KEY_OUT
ip -n gw link add lan1 type dummy
ip -n gw addr add 172.16.3.1/24 dev lan1
ip -n gw link set lan1 up
ip -n peer addr add 172.16.4.1/24 dev lan0
ip -n gw xfrm policy add src 172.16.3.0/24 dst 172.16.4.0/24 dir out \
	tmpl src $GW_OUT dst $PEER_OUT proto esp spi 0x4000 mode tunnel
ip -n gw xfrm policy add src 172.16.4.0/24 dst 172.16.3.0/24 dir in \
	tmpl src $PEER_OUT dst $GW_OUT proto esp mode tunnel
ip -n peer xfrm policy add src 172.16.4.0/24 dst 172.16.3.0/24 dir out \
	tmpl src $PEER_OUT dst $GW_OUT proto esp spi 0x3000 mode tunnel
ip -n peer xfrm policy add src 172.16.3.0/24 dst 172.16.4.0/24 dir in \
	tmpl src $GW_OUT dst $PEER_OUT proto esp mode tunnel
ip -n gw route add 172.16.4.0/24 dev veth0 src 172.16.3.1
ip -n peer route add 172.16.3.0/24 dev veth0 src 172.16.4.1
before=$(counters)
check "XFRM traffic between the same addresses flows" \
	gw ping -q -c 5 -i 0.1 -W 2 -I 172.16.3.1 172.16.4.1
check_eq "the gateway's XFRM SA decrypted all 5" \
	"$(ip -n gw -s xfrm state get src $PEER_OUT dst $GW_OUT proto esp spi 0x3000 |
	   sed -n 's/^.* \([0-9]*\)(packets).*$/\1/p' | head -n 1)" 5
check_eq "esptun took none of them and counted nothing" "$(counters)" "$before"
check_err "an esptun inbound SA with XFRM's inbound SPI is refused" \
	"XFRM has an SA with this SPI to the tunnel's local address" \
	gw esptun sa add esp0 tunnel 1 dir in spi 0x3000 key "$(new_key)"
check "XFRM's SPI to the peer's address is free for esptun" \
	gw esptun sa add esp0 tunnel 1 dir in spi 0x4000 key "$(new_key)"
check "and XFRM still decrypts its own" \
	gw ping -q -c 2 -i 0.1 -W 2 -I 172.16.3.1 172.16.4.1
finish
