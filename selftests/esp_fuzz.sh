#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ESP on the wire under fuzz (selftests/espfuzz.py): ESPFUZZ_COUNT (3000)
# datagrams from the seed ESPFUZZ_SEED (default 1) to four tunnels of
# esp0 (plain ESP and ESP in UDP, over IPv4 and IPv6, with and without
# ESN, windows of 0 to 1024), sealed with the inbound SAs' keys after
# their plaintext was mutated, with ESP, UDP and outer headers mutated
# too, tiny and jumbo ones in outer fragments.  Every datagram must be
# accounted for as the model in espfuzz.py predicts: delivered, dropped by
# esptun by cause (per tunnel, SA and device, and the link's counters),
# discarded silently as the RFCs want (dummy packets, NAT keepalives:
# counted by SA lifetimes and UdpInDatagrams), left to XFRM or dropped by
# the IP or UDP layer (the namespace's statistics).  Then authentic
# packets while esp0 is down are each dropped and counted once.
#
# esp0 is moved to netns lan, so that the inner packets' fate there does
# not mix with the outer ones' in gw's statistics.
. "$(dirname "$0")/lib.sh"
require_module
python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography missing"

SEED=${ESPFUZZ_SEED:-1}
COUNT=${ESPFUZZ_COUNT:-3000}
ESPFUZZ=$ESPTUN_REPO/selftests/espfuzz.py
log "seed $SEED (ESPFUZZ_SEED), $COUNT datagrams (ESPFUZZ_COUNT)"

# ESP esptun leaves goes to XFRM's handlers: there must be some, as on a
# gateway where XFRM carries other SAs.
modprobe -q esp4 && modprobe -q esp6 || skip_all "no esp4/esp6 modules"

leak_mark
new_netns gw peer lan
# No router solicitations or DAD: the counters see only the fuzz.
ns_quiet gw peer lan
# Every parameter problem the gateway answers counts a drop: no rate limit.
ns_sysctl gw net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0 || fail "gw sysctls"
ip link add veth0 netns gw type veth peer name veth0 netns peer
ip -n gw addr add 10.0.0.1/24 dev veth0
ip -n gw addr add fd00::1/64 dev veth0 nodad
for a in 10.0.0.2/24 10.0.0.3/24; do ip -n peer addr add $a dev veth0; done
for a in fd00::2/64 fd00::3/64; do ip -n peer addr add $a dev veth0 nodad; done
ip -n gw link set veth0 up
ip -n peer link set veth0 up

ip -n gw link add esp0 type esptun
ok=0
while read -r line; do
	# shellcheck disable=SC2086
	ip netns exec gw esptun $line || ok=1
done < <("$ESPFUZZ" setup)
check_eq "esp0's tunnels and SAs" $ok 0
check "esp0 moved to netns lan" ip -n gw link set esp0 netns lan
ip -n lan addr add 172.16.0.1/24 dev esp0
ip -n lan addr add fd16::1/64 dev esp0 nodad
ip -n lan link set esp0 up
ns_sysctl lan net.ipv4.icmp_echo_ignore_all=1 net.ipv6.icmp.echo_ignore_all=1 ||
	fail "no echo in lan"

mac=$(ip netns exec gw cat /sys/class/net/veth0/address)
start=$SECONDS
if ip netns exec peer "$ESPFUZZ" run --seed "$SEED" --count "$COUNT" --iface veth0 \
	--mac "$mac" --gw gw --lan lan --down 20; then
	pass "every datagram accounted for as predicted, and with esp0 down ($((SECONDS - start)) s)"
else
	fail "espfuzz.py's findings above"
fi
ip netns del lan
ip netns del gw
leak_check "every tunnel and SA freed" 9
finish
