#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: README.rst's example, played end to end.  An AWS
# Site-to-Site VPN connection is two IPsec tunnels to two endpoints; here
# the "aws" namespace holds both (Linux XFRM, one xfrm interface per tunnel,
# as a strongSwan-based peer would), the gateway "gw" runs esptun with one
# device carrying both tunnels, and a host sits behind each side.  Each
# namespace stands for a machine; the commands are the ones you would type
# on it.  Also run by `make check`: exits 0 when the verdict is OK.
set -u
say() { printf '\n== %s\n' "$*"; }
bad=""
check() { "$@" >/dev/null 2>&1 || bad="${bad:+$bad; }$DESC"; }

for ns in office gw aws vpc; do
	ip netns add $ns
	ip -n $ns link set lo up
	# Quiet interfaces: no IPv6 router solicitations into the tunnels.
	ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
done
trap 'kill $(jobs -p) 2>/dev/null; for ns in office gw aws vpc; do ip netns del $ns; done' EXIT
OFFICE="ip netns exec office" GW="ip netns exec gw" AWS="ip netns exec aws" VPC="ip netns exec vpc"
ip link add eth0 netns office type veth peer name lan0 netns gw
ip link add wan0 netns gw type veth peer name wan0 netns aws
ip link add vpc0 netns aws type veth peer name eth0 netns vpc

# Keys as the IKE daemon would have negotiated them: AES-128 key + salt.
K1_OUT=0x4a6f8e1c2b3d5f7091a2b3c4d5e6f708192a3b4c K1_IN=0x0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4
K2_OUT=0x5b7e9f2d3c4e6a81a2b3c4d5e6f708192a3b4c5d K2_IN=0x1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d

say "the office host 10.1.0.10 and the VPC host 10.2.0.10, each behind its side"
$OFFICE sh -e <<'EOS'
ip addr add 10.1.0.10/24 dev eth0 && ip link set eth0 up
ip route add default via 10.1.0.1
EOS
$VPC sh -e <<'EOS'
ip addr add 10.2.0.10/16 dev eth0 && ip link set eth0 up
ip route add default via 10.2.0.1
EOS

say "AWS: tunnel endpoints 203.0.113.10 and 203.0.113.20, one XFRM interface each, inside 169.254.10.1/30 and 169.254.11.1/30"
$AWS sh -e <<EOS
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
ip addr add 203.0.113.10/24 dev wan0 && ip addr add 203.0.113.20/24 dev wan0
ip link set wan0 up
ip route add 198.51.100.0/24 dev wan0
ip addr add 10.2.0.1/16 dev vpc0 && ip link set vpc0 up
for t in 1 2; do
	[ \$t = 1 ] && { aws=203.0.113.10 kin=$K1_OUT kout=$K1_IN; } ||
		{ aws=203.0.113.20 kin=$K2_OUT kout=$K2_IN; }
	ip link add ipsec\$t type xfrm dev wan0 if_id \$t
	ip addr add 169.254.\$((9 + t)).1/30 dev ipsec\$t && ip link set ipsec\$t up
	ip xfrm state add src 198.51.100.10 dst \$aws proto esp spi 0x\${t}00 if_id \$t \
		mode tunnel aead 'rfc4106(gcm(aes))' \$kin 128
	ip xfrm state add src \$aws dst 198.51.100.10 proto esp spi 0x\${t}01 if_id \$t \
		mode tunnel aead 'rfc4106(gcm(aes))' \$kout 128
	ip xfrm policy add dir out if_id \$t tmpl src \$aws dst 198.51.100.10 proto esp mode tunnel
	for dir in in fwd; do
		ip xfrm policy add dir \$dir if_id \$t tmpl src 198.51.100.10 dst \$aws proto esp mode tunnel
	done
done
# What a Transit Gateway does with two tunnels: ECMP back to the office.
ip route add 10.1.0.0/24 nexthop dev ipsec1 nexthop dev ipsec2
EOS

say "the gateway 198.51.100.10: one esptun device, two tunnels, each pinned to its BGP neighbour"
$GW sh -ex <<EOS
sysctl -qw net.ipv4.ip_forward=1
ip addr add 198.51.100.10/24 dev wan0 && ip link set wan0 up
ip route add 203.0.113.0/24 dev wan0
ip addr add 10.1.0.1/24 dev lan0 && ip link set lan0 up
ip link add esp0 type esptun
ip addr add 169.254.10.2/30 dev esp0
ip addr add 169.254.11.2/30 dev esp0
ip link set esp0 up
esptun tunnel add esp0 id 1 local 198.51.100.10 remote 203.0.113.10 pin 169.254.10.1
esptun tunnel add esp0 id 2 local 198.51.100.10 remote 203.0.113.20 pin 169.254.11.1
esptun sa add esp0 tunnel 1 dir out spi 0x100 key $K1_OUT
esptun sa add esp0 tunnel 1 dir in spi 0x101 key $K1_IN
esptun sa add esp0 tunnel 2 dir out spi 0x200 key $K2_OUT
esptun sa add esp0 tunnel 2 dir in spi 0x201 key $K2_IN
ip route add 10.2.0.0/16 dev esp0
EOS

say "esptun monitor prints tunnel events as they happen"
$GW esptun monitor | sed -u 's/^/   [event] /' &
sleep 0.5

say "each BGP neighbour answers over its own tunnel"
DESC="BGP neighbour 169.254.10.1" check $GW ping -c 2 -i 0.2 -W 2 169.254.10.1
DESC="BGP neighbour 169.254.11.1" check $GW ping -c 2 -i 0.2 -W 2 169.254.11.1
$GW esptun show esp0 | grep -E '^tunnel|transfer'

# 16 flows, not 8: the flow hash is seeded at boot, and 8 flows all land on
# one of two tunnels once in 128 boots (16: once in 32768).
say "office to VPC: 16 TCP flows for 4 s, spread over both tunnels by flow hash"
$VPC iperf3 -s -D -1 >/dev/null 2>&1
sleep 0.5
before=$($GW esptun show esp0 --json)
$OFFICE iperf3 -c 10.2.0.10 -P 16 -t 4 2>&1 | grep -E 'SUM.*(sender|receiver)'
$GW esptun show esp0
shares=$(printf '%s\n%s\n' "$before" "$($GW esptun show esp0 --json)" | python3 -S -c '
import json, sys
b, a = (json.loads(l)[0]["tunnels"] for l in sys.stdin)
d = [y["tx_packets"] - x["tx_packets"] for x, y in zip(b, a)]
print(" ".join("%.1f" % (100 * n / max(sum(d), 1)) for n in d))')
echo "packets sent per tunnel: ${shares// /% / }%"
# Sixteen flows outrun crypto under emulation: the device stops its queue
# and the qdisc holds them back (README, "The data path"), so esptun itself
# drops nothing, either way.
DESC="no tx_errors or rx_drops under 16 flows" check python3 -S -c '
import json, sys
b, a = (json.loads(x)[0]["stats"] for x in sys.argv[1:])
sys.exit(any(a.get(k, 0) != b.get(k, 0) for k in ("tx_errors", "rx_drops")))' \
	"$before" "$($GW esptun show esp0 --json)"
# A tunnel carrying at least one of the 16 flows sends well over 1% of the
# packets; the pings and BGP checks before the snapshot are not counted.
DESC="both tunnels carry flows" check python3 -S -c '
import sys
sys.exit(not all(float(s) >= 1 for s in sys.argv[1:]))' $shares

say "AWS takes endpoint 1 down for maintenance: tunnel 1 goes down under 100 pings/s"
$OFFICE ping -q -i 0.01 -c 600 -W 1 10.2.0.10 > /tmp/demo-ping.$$ 2>&1 &
ping_pid=$!
sleep 2
$GW esptun tunnel set esp0 id 1 down
sleep 0.5
$GW esptun show esp0 | grep -E '^tunnel'
DESC="tunnel 1's BGP neighbour is unreachable while it is down (pinned, not rerouted)" \
	check sh -c "! $GW ping -c 2 -i 0.2 -W 1 169.254.10.1"
echo "BGP neighbour 169.254.10.1 unreachable: its session stays on its own tunnel"
sleep 1.5

say "endpoint 1 is back: its flows return"
$GW esptun tunnel set esp0 id 1 up
wait $ping_pid
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/demo-ping.$$)
received=$(grep -o '[0-9]* received' /tmp/demo-ping.$$ | cut -d' ' -f1)
rm -f /tmp/demo-ping.$$
echo "pings across failover and failback: ${received:-0} of ${sent:-0} answered"
DESC="failover lost pings" check test "${received:-0}" -ge $((${sent:-1} - 2))
$GW esptun show esp0 | grep -E '^tunnel'
sleep 0.3

if [ -z "$bad" ]; then
	echo; echo "demo: OK - one esptun device, 2 tunnels to AWS, flows spread, failover lost $((sent - received)) pings"
	exit 0
fi
echo; echo "demo: FAILED - $bad"
exit 1
