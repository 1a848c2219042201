#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One device, several tunnels: flows spread by hash in proportion to the
# weights, a flow never splits, a tunnel taken down hands over only its own
# flows (and gets them back), the carrier follows the usable tunnels.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
# Three more endpoints on the peer, like AWS's second tunnel and a second
# connection; inbound policies accept any of them.
ip -n peer xfrm policy flush
ip -n peer xfrm policy add src 172.16.1.0/24 dst 172.16.0.0/24 dir out \
	tmpl src $PEER_OUT dst $GW_OUT proto esp mode tunnel
ip -n peer xfrm policy add src 172.16.0.0/24 dst 172.16.1.0/24 dir in \
	tmpl proto esp mode tunnel
for i in 2 3 4; do
	ip -n peer addr add 10.0.0.$((i + 1))/24 dev veth0
	gw esptun tunnel add esp0 id $i local $GW_OUT remote 10.0.0.$((i + 1)) ||
		fail "tunnel add $i"
	gw esptun sa add esp0 tunnel $i dir out spi $((0x1000 + i)) key $KEY_OUT ||
		fail "sa add $i"
	peer_xfrm_state $((0x1000 + i)) $GW_OUT 10.0.0.$((i + 1)) $KEY_OUT
done
check_eq "4 tunnels up, weight 1" \
	"$(jget '[(x["id"], x["state"], x["weight"]) for x in d["tunnels"]]')" \
	"[(1, 'up', 1), (2, 'up', 1), (3, 'up', 1), (4, 'up', 1)]"

cat > /tmp/flows.py <<'PY'
import json, socket, subprocess, sys

def counters():
    out = subprocess.run(["esptun", "show", "esp0", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return {t["id"]: t["tx_packets"] for t in json.loads(out)[0]["tunnels"]}

def send(port, n=1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("172.16.0.1", port))
    for _ in range(n):
        s.sendto(b"x" * 32, ("172.16.1.1", 9))
    s.close()

def spread(nflows):
    before = counters()
    for p in range(20000, 20000 + nflows):
        send(p)
    after = counters()
    total = sum(after[t] - before[t] for t in after)
    print(" ".join("%d:%.3f" % (t, (after[t] - before[t]) / total)
                   for t in sorted(after)))

def mapping(nflows, n=1):
    res = []
    for p in range(30000, 30000 + nflows):
        before = counters()
        send(p, n)
        after = counters()
        moved = [(t, after[t] - before[t]) for t in after if after[t] != before[t]]
        res.append(moved[0][0] if len(moved) == 1 and moved[0][1] == n else -1)
    print(" ".join(map(str, res)))

{"spread": lambda: spread(int(sys.argv[2])),
 "map": lambda: mapping(int(sys.argv[2]), int(sys.argv[3]))}[sys.argv[1]]()
PY
flows() { gw python3 /tmp/flows.py "$@"; }
# share_ok "1:0.49 2:0.51" ID LOW HIGH
share_ok() {
	python3 -c 'import sys
s = dict(x.split(":") for x in sys.argv[1].split())
sys.exit(not float(sys.argv[3]) <= float(s[sys.argv[2]]) <= float(sys.argv[4]))' "$@"
}

gw esptun tunnel set esp0 id 3 down
gw esptun tunnel set esp0 id 4 down
s=$(flows spread 4096)
log "2 tunnels, 4096 flows: $s"
if share_ok "$s" 1 0.4 0.6 && share_ok "$s" 2 0.4 0.6; then
	pass "2 tunnels share the flows within 40/60 ($s)"
else
	fail "2 tunnels do not share within 40/60: $s"
fi

gw esptun tunnel set esp0 id 3 up weight 2
gw esptun tunnel set esp0 id 4 up weight 4
check_eq "weights 1,1,2,4" "$(jget '[x["weight"] for x in d["tunnels"]]')" "[1, 1, 2, 4]"
s=$(flows spread 8192)
log "weights 1,1,2,4, 8192 flows: $s"
ok=1
for w in 1:0.125 2:0.125 3:0.25 4:0.5; do
	share_ok "$s" ${w%:*} $(python3 -c "print(${w#*:} * 0.9, ${w#*:} * 1.1)") || ok=0
done
if [ $ok = 1 ]; then
	pass "each tunnel carries its weight's share within 10% ($s)"
else
	fail "shares off by more than 10%: $s"
fi

m0=$(flows map 48 3)
check_eq "no flow's packets split across tunnels (48 flows, 3 packets each)" \
	"$(tr ' ' '\n' <<<"$m0" | grep -c -- '-1')" 0
m1=$(flows map 48 1)
check_eq "flows stay on their tunnel" "$m1" "$m0"

# Down: only tunnel 4's flows move, and they come back when it is up.
gw esptun tunnel set esp0 id 4 down
m2=$(flows map 48 1)
moved=$(python3 -c 'import sys
a, b = sys.argv[1].split(), sys.argv[2].split()
print(all((x == y) != (x == "4") for x, y in zip(a, b)), "4" in b)' "$m0" "$m2")
check_eq "tunnel 4 down: exactly its flows moved, none to it" "$moved" "True False"
gw esptun tunnel set esp0 id 4 up
check_eq "tunnel 4 up: its flows came back, no other moved" "$(flows map 48 1)" "$m0"

# Failover under a stream of pings: loss bounded by what was in flight.
tid=$(python3 -c 'import sys; print(sys.argv[1].split()[0])' "$m0")
before=$(jget '[x["tx_packets"] for x in d["tunnels"]]')
gw ping -q -c 1 -W 2 $PEER4 >/dev/null
ping_tun=$(python3 -c 'import sys, ast
a, b = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2])
print([i + 1 for i in range(len(a)) if b[i] != a[i]][0])' "$before" "$(jget '[x["tx_packets"] for x in d["tunnels"]]')")
log "the ping flow uses tunnel $ping_tun"
gw ping -q -i 0.005 -c 1000 -W 1 $PEER4 > /tmp/ping.$$ 2>&1 &
pid=$!
sleep 2
gw esptun tunnel set esp0 id $ping_tun down
sleep 2
gw esptun tunnel set esp0 id $ping_tun up
wait $pid
lost=$((1000 - $(grep -o '[0-9]* received' /tmp/ping.$$ | cut -d' ' -f1)))
rm -f /tmp/ping.$$
log "pings lost across down and up of tunnel $ping_tun: $lost of 1000"
if [ "$lost" -le 2 ]; then
	pass "failover and failback lose at most 2 of 1000 pings ($lost)"
else
	fail "failover lost $lost of 1000 pings"
fi

# No usable tunnel: carrier off, nothing leaves; back with the first one.
# (Once the carrier is off the kernel's noop qdisc discards packets before
# esptun sees them: tx_carrier_errors counts only those it did see.)
for i in 1 2 3 4; do gw esptun tunnel set esp0 id $i down; done
check_eq "all tunnels down: no carrier" "$(ip -n gw -o link show esp0 | grep -c NO-CARRIER)" 1
before=$(jget 'sum(x["tx_packets"] for x in d["tunnels"])')
check_err "pings get no answer" "100% packet loss" gw ping -c 3 -i 0.1 -W 1 $PEER4
check_eq "and none was sent" "$(jget 'sum(x["tx_packets"] for x in d["tunnels"])')" "$before"
check_eq "drops seen by esptun are carrier errors" \
	"$(link_stat gw esp0 tx.carrier_errors)" "$(jget 'd["stats"]["tx_no_tunnel"]')"
gw esptun tunnel set esp0 id 2 up
check_eq "one tunnel up: carrier back" "$(ip -n gw -o link show esp0 | grep -c NO-CARRIER)" 0
check "and traffic flows" gw ping -q -c 3 -i 0.1 -W 2 $PEER4
check_err "set without a change" "nothing to set" gw esptun tunnel set esp0 id 2
check_err "weight 0" "weight must be 1-255" gw esptun tunnel set esp0 id 2 weight 0
check_err "addresses cannot change" "unknown argument" \
	gw esptun tunnel set esp0 id 2 remote 10.0.0.9
rm -f /tmp/flows.py
finish
