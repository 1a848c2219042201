#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The tool's SA lifetimes, `sa get` and SA expire events in `monitor`.  What
# the running module does not support yet (lifetimes, ESPTUN_CMD_SA_GET) is
# skipped with a "# SKIP" line; the argument checks always run.
. "$(dirname "$0")/lib.sh"
require_module

new_netns a
a() { in_ns a "$@"; }
a ip link add esp0 type esptun
K=0x00112233445566778899aabbccddeeffdeadbeef
check "tunnel 1" a esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
check "its outbound SA" a esptun sa add esp0 tunnel 1 dir out spi 0x1001 key "$(new_key)"

# Arguments: no kernel needed.
check_err "a limit is a number" '^esptun: soft-bytes "x" is not a number$' \
	a esptun sa add esp0 tunnel 1 dir in spi 0x2001 key $K soft-bytes x
check_err "a limit needs a value" '^esptun: sa add: "hard-seconds" needs a value$' \
	a esptun sa add esp0 tunnel 1 dir in spi 0x2001 key $K hard-seconds
check_err "limits are add's" '^esptun: sa del: unknown argument "soft-bytes"$' \
	a esptun sa del esp0 dir in spi 0x2001 soft-bytes 1
check_err "sa get needs dir and spi" '^esptun: sa get: dir and spi are required$' \
	a esptun sa get esp0 dir in
check_err "sa get takes no key" '^esptun: sa get: unknown argument "key"$' \
	a esptun sa get esp0 dir in spi 1 key $K
check_err "sa get of a missing device" '^esptun: sa get nope dir out spi 0x00001001: ' \
	a esptun sa get nope dir out spi 0x1001
# A key in the wrong place is not repeated in the error: it would reach a
# terminal or a log.
hidden='"\(a long hex string, not shown: it may be a key\)"'
check_err "a misplaced key is not echoed (unknown argument)" \
	"^esptun: sa add: $hidden needs a value\$" \
	a esptun sa add esp0 tunnel 1 dir in spi 0x2001 $K
check_err "a misplaced key is not echoed (a number expected)" \
	"^esptun: spi $hidden is not a number\$" \
	a esptun sa add esp0 tunnel 1 dir in spi $K key $K
check_err "nor as a command" "^esptun: unknown command $hidden; try \"esptun help\"\$" \
	esptun ${K#0x}
check "sa help names get and the limits" sh -c \
	'esptun sa help | grep -q "esptun sa get DEV dir in|out spi SPI \[--json\]" &&
	 esptun sa help | grep -q "\[soft-seconds N\] \[hard-seconds N\]"'

# sa get
out=$(a esptun sa get esp0 dir out spi 0x1001 2>&1)
if grep -q "Operation not supported" <<<"$out"; then
	log "SKIP: sa get: the module has no ESPTUN_CMD_SA_GET yet ($out)"
	sa_get=""
else
	sa_get=1
	check "sa get prints the SA: device, tunnel, counters" grep -Eqx \
		'esp0: tunnel 1 sa out spi 0x00001001  seq 0  0 packets  0 bytes  age [0-9]+s.*' <<<"$out"
	check_eq "sa get --json" \
		"$(a esptun sa get esp0 dir out spi 0x1001 --json |
		   py 'import json,sys; s=json.load(sys.stdin); print(s["tunnel"], s["dir"], s["spi"], s["seq"])')" \
		"1 out 4097 0"
	check_err "sa get of an unknown SPI" \
		'^esptun: sa get esp0 dir in spi 0x00000999: .*No such file or directory' \
		a esptun sa get esp0 dir in spi 0x999
fi

# Lifetimes and expire events.
out=$(a esptun sa add esp0 tunnel 1 dir in spi 0x2001 key $K soft-packets 100 \
	hard-packets 200 2>&1)
if grep -Eq "Unsupported attribute|not supported" <<<"$out"; then
	log "SKIP: SA lifetimes: the module does not support them yet ($out)"
	finish
fi
check_eq "sa add with limits" "$out" ""
check_eq "show --json has the limits and the lifetime" \
	"$(a esptun show esp0 --json | py '
import json, sys
s = [x for x in json.load(sys.stdin)[0]["tunnels"][0]["sas"] if x["spi"] == 0x2001][0]
print(s["limits"]["soft_packets"], s["limits"]["hard_packets"], s["limits"]["hard_bytes"],
      s["lifetime"]["packets"], "expire" in s)')" \
	"100 200 0 0 False"
check "show prints the limits" sh -c \
	"ip netns exec a esptun show esp0 | grep -Eq '^    lifetime: 0 B, 0 packets, age [0-9]+s  soft-packets 100  hard-packets 200$'"

# Each keyword sets its own limit and each is reported under its own name
# (the tool once walked the limits as an array over a struct).
check "an SA with six different limits" a esptun sa add esp0 tunnel 1 dir in spi 0x2006 \
	key $K soft-bytes 11 hard-bytes 12 soft-packets 13 hard-packets 14 \
	soft-seconds 1015 hard-seconds 1016
check_eq "show --json reports each limit under its name" \
	"$(a esptun show esp0 --json | py '
import json, sys
s = [x for x in json.load(sys.stdin)[0]["tunnels"][0]["sas"] if x["spi"] == 0x2006][0]
print(*(s["limits"][k] for k in ("soft_bytes", "hard_bytes", "soft_packets",
                                  "hard_packets", "soft_seconds", "hard_seconds")))')" \
	"11 12 13 14 1015 1016"
check "show prints each limit by its keyword" sh -c \
	"ip netns exec a esptun show esp0 | grep -q 'soft-bytes 11  hard-bytes 12  soft-packets 13  hard-packets 14  soft-seconds 1015  hard-seconds 1016$'"
check "and deleted again" a esptun sa del esp0 dir in spi 0x2006

MON=$(mktemp) HMON=$(mktemp)
a esptun monitor --json > "$MON" 2>&1 &
a esptun monitor > "$HMON" 2>&1 &
monitor_sync a "$MON" "$HMON" || fail "the monitors report no event"
check "outbound SA 0x1002, soft-seconds 1, hard-seconds 2" \
	a esptun sa add esp0 tunnel 1 dir out spi 0x1002 key "$(new_key)" soft-seconds 1 hard-seconds 2
busywait 6 grep -q '"expire":"hard"' "$MON"
check "monitor --json: soft expiry" grep -q \
	'{"event":"sa-expire","ifname":"esp0","ifindex":[0-9]*,"tunnel":1,"dir":"out","spi":4098,"expire":"soft","limit":"seconds"' "$MON"
check "monitor --json: hard expiry" grep -q \
	'"tunnel":1,"dir":"out","spi":4098,"expire":"hard","limit":"seconds"' "$MON"
check "monitor: one line each" grep -qx \
	'esp0: tunnel 1 sa out spi 0x00001002 expired soft (seconds)' "$HMON"
check "monitor: the tunnel went down" grep -qx 'esp0: tunnel 1 down (sa)' "$HMON"
check_eq "show --json says expired hard" \
	"$(a esptun show esp0 --json | py '
import json, sys
print(json.load(sys.stdin)[0]["tunnels"][0]["sas"][0]["expire"])')" "hard"
if [ -n "$sa_get" ]; then
	check "sa get says so" sh -c \
		"ip netns exec a esptun sa get esp0 dir out spi 0x1002 | grep -q 'expired (hard)'"
fi
rm -f "$MON" "$HMON"
finish
