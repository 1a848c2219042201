#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SA lifetimes: soft and hard limits in packets, bytes and seconds, and the
# sequence space.  Each limit fires exactly once, soft before hard, as an
# event `esptun monitor --json` prints; a hard limit stops the SA: outbound,
# the tunnel goes down (one tunnel: traffic stops; two: flows move to the
# other), inbound, what arrives is dropped and counted.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=topology.sh
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
trap 'monitor_stop; _cleanup' EXIT
monitor_start

# sa_get DIR SPI EXPR: a Python expression on `esptun sa get --json`, s.
sa_get() {
	gw esptun sa get esp0 dir "$1" spi "$2" --json | py '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$3"
}

# expires SPI: the SA's expire events so far, "kind/limit" in order.
expires() {
	py '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(" ".join("%s/%s" % (e["expire"], e["limit"]) for e in ev
               if e["event"] == "sa-expire" and e["spi"] == int(sys.argv[2], 0)))' \
		"$MON" "$1"
}

# new_out SPI [ARGS]: replace the outbound SA (a new key), the peer
# learning it first.
new_out() {
	local spi=$1 key
	shift
	key=$(new_key)
	peer_xfrm_state "$spi" $GW_OUT $PEER_OUT "$key"
	gw esptun sa add esp0 tunnel 1 dir out spi "$spi" key "$key" "$@" ||
		fail "outbound SA $spi $*"
}

# Refusals.
check_err "a soft limit beyond its hard one is refused" \
	"soft-bytes must not exceed hard-bytes" \
	gw esptun sa add esp0 tunnel 1 dir out spi 0x1009 key $KEY_OUT \
	soft-bytes 2000 hard-bytes 1000
check_err "for packets too" "soft-packets must not exceed hard-packets" \
	gw esptun sa add esp0 tunnel 1 dir in spi 0x2009 key $KEY_IN \
	soft-packets 3 hard-packets 2
check_err "sa get of an unknown SA names the problem" \
	"no SA with this direction and SPI" gw esptun sa get esp0 dir in spi 0x4242
check_err "sa get needs dir and spi" "dir and spi are required" \
	gw esptun sa get esp0 spi 0x2000

# Outbound packets: soft at 5, hard at 10.  The 10th packet goes, the SA
# stops, the (only) tunnel goes down and nothing more is sent.
new_out 0x1001 soft-packets 5 hard-packets 10
check_eq "sa get shows the limits, nothing crossed" \
	"$(sa_get out 0x1001 '(s["tunnel"], s["limits"]["soft_packets"], s["limits"]["hard_packets"], s["lifetime"]["packets"], s.get("expire", "no"))')" \
	"(1, 5, 10, 0, 'no')"
check_eq "an SA that carried nothing has no last use" "$(sa_get out 0x1001 '"idle" in s')" False
out=$(gw ping -c 16 -i 0.05 -W 1 $PEER4 2>&1)
check_eq "10 pings of 16 get through" "$(grep -o '[0-9]* received' <<<"$out")" "10 received"
check "soft then hard packet events" monitor_wait '"spi":4097,.*"expire":"hard"' 5
check_eq "each fired once, in order" "$(expires 0x1001)" "soft/packets hard/packets"
# What the SA carried when the event went out: at least the limit.
check_eq "the events carry the count" \
	"$(py 'import json,sys
p = [json.loads(l)["packets"] for l in open(sys.argv[1]) if "\"spi\":4097" in l]
print(p[0] >= 5, p[1])' "$MON")" "True 10"
check_eq "the SA sent 10, the peer saw 10" \
	"$(sa_get out 0x1001 's["lifetime"]["packets"]') $(peer_xfrm_packets 0x1001 $GW_OUT $PEER_OUT)" "10 10"
check_eq "sa get says hard-expired" "$(sa_get out 0x1001 's["expire"]')" hard
check_eq "its last use: seconds ago" "$(sa_get out 0x1001 '0 <= s["idle"] < 60')" True
check "the tunnel went down because of its SA" \
	monitor_wait '"event":"tunnel-state".*"tunnel":1,"state":"down","cause":"sa"'
check_eq "and the carrier with it" "$(no_carrier gw esp0)" 1
check_eq "tunnel and SA counters agree on what esptun refused" \
	"$(jget 't["tx_sa_expired"]')" "$(jget 'sa("out", 0x1001)["tx_sa_expired"]')"

# A new outbound SA brings the tunnel back (make-before-break).
new_out 0x1002
check "a new outbound SA: tunnel up" \
	monitor_wait '"tunnel":1,"state":"up","cause":"sa"'
check "pings pass again" gw ping -q -c 3 -i 0.1 -W 1 $PEER4

# Inbound bytes: a new inbound SA, which the peer then uses (XFRM picks the
# newest state), soft at 500 and hard at 1000 inner bytes: 128-byte
# replies, so the 4th crosses soft and the 8th hard; the rest are dropped
# and counted.
gw esptun sa add esp0 tunnel 1 dir in spi 0x2001 key $KEY_IN \
	soft-bytes 500 hard-bytes 1000 || fail "inbound SA with byte limits"
peer_xfrm_state 0x2001 $PEER_OUT $GW_OUT $KEY_IN
out=$(gw ping -c 12 -i 0.05 -W 1 -s 100 $PEER4 2>&1)
check_eq "8 replies of 12 pass the inbound SA" \
	"$(grep -o '[0-9]* received' <<<"$out")" "8 received"
check "soft then hard byte events" monitor_wait '"spi":8193,.*"expire":"hard"' 5
check_eq "each once, in order" "$(expires 0x2001)" "soft/bytes hard/bytes"
check_eq "sa get: 8 packets, 1024 bytes, hard-expired" \
	"$(sa_get in 0x2001 '(s["lifetime"]["packets"], s["lifetime"]["bytes"], s["expire"])')" "(8, 1024, 'hard')"
check_eq "the 4 others were dropped as rx_sa_expired" \
	"$(jget 'sa("in", 0x2001)["rx_sa_expired"], t["rx_sa_expired"]')" "(4, 4)"
check_eq "an expired inbound SA does not take the tunnel down" "$(jget 't["state"]')" up

# Seconds: soft at 2, hard at 4, with or without traffic.
gw esptun sa del esp0 dir in spi 0x2001
ip -n peer xfrm state del src $PEER_OUT dst $GW_OUT proto esp spi 0x2001
new_out 0x1003 soft-seconds 2 hard-seconds 4
check "soft-seconds fires" monitor_wait '"spi":4099,.*"expire":"soft","limit":"seconds"' 4
check "hard-seconds fires" monitor_wait '"spi":4099,.*"expire":"hard","limit":"seconds"' 4
check_eq "each once, in order" "$(expires 0x1003)" "soft/seconds hard/seconds"
check_eq "at the ages set (within a second: the event follows the timer)" \
	"$(py 'import json,sys
a = [json.loads(l)["age"] for l in open(sys.argv[1]) if "\"spi\":4099" in l]
print(2 <= a[0] <= 3, 4 <= a[1] <= 5)' "$MON")" "True True"
check_eq "and the tunnel went down with it" "$(jget 't["state"]')" down

# A hard limit of 2^64-1 seconds is as good as none: it must not wrap to a
# time already past when the soft one's timer looks at it.
new_out 0x1006 soft-seconds 1 hard-seconds 18446744073709551615
check "soft-seconds fires" monitor_wait '"spi":4102,.*"expire":"soft","limit":"seconds"' 4
check_eq "the SA is soft-expired only, the tunnel up" \
	"$(sa_get out 0x1006 's["expire"]') $(jget 't["state"]')" "soft up"

# The sequence space: soft with 2^28 numbers left (seq 0xefffffff), hard
# at its end.
new_out 0x1004 seq 0xeffffffc
gw ping -q -c 4 -i 0.05 -W 1 $PEER4 >/dev/null
check "soft at seq 0xefffffff" monitor_wait '"spi":4100,.*"expire":"soft","limit":"seq"'
check_eq "once, and no more" "$(expires 0x1004)" "soft/seq"
check_eq "the SA is soft-expired and still sends" \
	"$(sa_get out 0x1004 '(s["expire"], s["seq"])') $(jget 't["state"]')" \
	"('soft', 4026531840) up"
check_eq "show's SA counters agree with sa get" \
	"$(jget 'sa("out", 0x1004)["packets"]')" "$(sa_get out 0x1004 's["packets"]')"
new_out 0x1005 seq 0xfffffffd
out=$(gw ping -c 3 -i 0.05 -W 1 $PEER4 2>&1)
check_eq "the last two numbers get through" "$(grep -o '[0-9]* received' <<<"$out")" "2 received"
check "and the SA hard-expires at the last" monitor_wait '"spi":4101,.*"expire":"hard","limit":"seq"'
check_eq "soft first (the first packet was past it), then hard" \
	"$(expires 0x1005)" "soft/seq hard/seq"

finish
