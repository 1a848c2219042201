#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU: the default MTU, ICMP "fragmentation needed" / "packet too big"
# back to the sender of a packet too big for the outer path with DF set
# (local or forwarded), fragmentation before encryption without DF.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
# A LAN host behind the gateway, routed through the tunnel.
new_netns lan
ip link add veth1 netns gw type veth peer name veth0 netns lan
ip -n gw addr add 192.168.0.1/24 dev veth1
ip -n gw link set veth1 up
ip -n lan addr add 192.168.0.2/24 dev veth0
ip -n lan link set veth0 up
ip -n lan route add default via 192.168.0.1
ns_sysctl gw net.ipv4.ip_forward=1 || fail "forwarding in gw"
ip -n gw route add 172.16.1.0/24 dev esp0 src $GW4 2>/dev/null
peer_xfrm_policy 192.168.0.0/24 172.16.1.0/24
ip -n peer route add 192.168.0.0/24 dev veth0 src $PEER4
check "the LAN host reaches the peer through the tunnel" \
	ip netns exec lan ping -q -c 2 -i 0.2 -W 2 $PEER4

# Outer path MTU 1300: inner packets up to ((1300-20-32) & ~3) - 2 = 1246.
ip -n gw link set veth0 mtu 1300
ip -n peer link set veth0 mtu 1300

too_big() { jget 't["tx_too_big"]'; }
tx() { jget 't["tx_packets"]'; }

out=$(ip netns exec lan ping -c 1 -W 2 -M do -s 1300 $PEER4 2>&1)
check_eq "a forwarded DF packet too big is not sent" "$(too_big)" 1
case "$out" in
*"Frag needed and DF set (mtu = 1246)"*) pass "its sender gets ICMP fragmentation needed, mtu 1246" ;;
*) fail "no ICMP fragmentation needed with mtu 1246 at the LAN host: $out" ;;
esac
check "the LAN host then fits: 1246-byte DF packets pass" \
	ip netns exec lan ping -q -c 1 -W 2 -M do -s 1218 $PEER4

# The exception is per destination: forget it to try a local sender.
ip -n gw route flush cache
check_eq "the forgotten route has no mtu" \
	"$(ip -n gw route get $PEER4 | grep -c 'mtu')" 0
gw ping -c 1 -W 2 -M do -s 1300 $PEER4 >/dev/null 2>&1
check_eq "a local DF packet too big is not sent either" "$(too_big)" 2
check_eq "the local route learned mtu 1246" \
	"$(ip -n gw route get $PEER4 | grep -o 'mtu [0-9]*')" "mtu 1246"
check "1246-byte DF packets pass" gw ping -q -c 1 -W 2 -M do -s 1218 $PEER4
check_err "1247 bytes with DF do not" "." gw ping -q -c 1 -W 2 -M do -s 1219 $PEER4

# Without DF the packet is fragmented before encryption: two ESP packets.
ip -n gw route flush cache
before=$(tx)
check "a 1378-byte packet without DF gets through" \
	gw ping -q -c 1 -W 3 -M dont -s 1350 $PEER4
check_eq "as two ESP packets (fragmented before encryption)" $(($(tx) - before)) 2
check_eq "no further too-big drop" "$(too_big)" 2

# IPv6 never fragments en route: packet too big, with 1280 at least.
out=$(gw ping -6 -c 1 -W 2 -M do -s 1300 $PEER6 2>&1)
check_eq "an IPv6 packet too big is not sent" "$(too_big)" 3
check_eq "the route learned the IPv6 minimum MTU" \
	"$(ip -n gw -6 route get $PEER6 | grep -o 'mtu [0-9]*')" "mtu 1280"
check "a 1280-byte IPv6 packet still passes (the outer packet is fragmented)" \
	gw ping -6 -q -c 1 -W 3 -s 1232 $PEER6
# ICMP "fragmentation needed" / "packet too big" about ESP esptun sent
# counts only when it quotes the tunnel's outbound SPI, as XFRM's
# esp4_err/esp6_err do: a forger who does not see the traffic changes
# nothing.  forge_icmp SPI MTU SRC DST [udp [short]]: from the peer, about
# an ESP packet (in UDP from port 4500 to 4500 with udp; with short, a
# quote that stops at the UDP header, as RFC 792 allows) from SRC to DST.
forge_icmp() {
	peer python3 -S - "$@" <<-'EOF'
	import socket, struct, sys
	spi, mtu, src, dst = int(sys.argv[1], 0), int(sys.argv[2]), sys.argv[3], sys.argv[4]
	udp, short = "udp" in sys.argv[5:], "short" in sys.argv[5:]
	def csum(b):
	    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	    s = (s >> 16) + (s & 0xffff)
	    return ~(s + (s >> 16)) & 0xffff
	esp = struct.pack("!II", spi, 7)
	l4 = (struct.pack("!HHHH", 4500, 4500, 1400, 0) + esp) if udp else esp
	if short:
	    l4 = l4[:8]
	if ":" not in src:
	    quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1400, 1, 0x4000, 64,
	                         17 if udp else 50, 0, socket.inet_aton(src),
	                         socket.inet_aton(dst)) + l4
	    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quoted
	    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
	    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
	else:
	    quoted = struct.pack("!IHBB", 6 << 28, 1400, 17 if udp else 50, 64) + \
	        socket.inet_pton(socket.AF_INET6, src) + \
	        socket.inet_pton(socket.AF_INET6, dst) + l4
	    # The kernel fills in an ICMPv6 raw socket's checksum.
	    icmp = struct.pack("!BBHI", 2, 0, 0, mtu) + quoted
	    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
	s.sendto(icmp, (src, 0))
	EOF
}
route_mtu() { ip -n gw route get "$1" | grep -o 'mtu [0-9]*'; }
outer_mtu() { route_mtu $PEER_OUT; }
# A path MTU only goes down: had the forged 1100 been taken, the genuine
# 1200 after it could not show.
ip -n gw route flush cache
forge_icmp 0x4242 1100 $GW_OUT $PEER_OUT
forge_icmp $SPI_OUT 1200 $GW_OUT $PEER_OUT
wait_eq "ICMP quoting the tunnel's SPI sets mtu 1200, one quoting another SPI (1100) none" \
	5 "mtu 1200" outer_mtu

# The same for IPv6 (packet too big, at least 1280) and for ESP in UDP,
# whose ICMP the UDP layer gives to the socket that sent it: esptun's own
# takes it only quoting the SPI, which a quote of just the UDP header does
# not show.  Three more tunnels on the same link.
ip -n gw addr add fd00::1/64 dev veth0 nodad
ip -n peer addr add fd00::2/64 dev veth0 nodad
ip -n peer addr add fd00::3/64 dev veth0 nodad
ip -n peer addr add 10.0.0.3/24 dev veth0
gw esptun tunnel add esp0 id 2 local fd00::1 remote fd00::2
gw esptun sa add esp0 tunnel 2 dir out spi 0x2200 key "$(new_key)"
gw esptun tunnel add esp0 id 3 local $GW_OUT remote 10.0.0.3 encap udp
gw esptun sa add esp0 tunnel 3 dir out spi 0x3300 key "$(new_key)"
gw esptun tunnel add esp0 id 4 local fd00::1 remote fd00::3 encap udp
gw esptun sa add esp0 tunnel 4 dir out spi 0x4400 key "$(new_key)"
forge_icmp 0x4242 1280 fd00::1 fd00::2
forge_icmp 0x2200 1290 fd00::1 fd00::2
wait_eq "IPv6: packet too big quoting the SPI sets mtu 1290, quoting another (1280) none" \
	5 "mtu 1290" route_mtu fd00::2
forge_icmp 0x4242 1280 fd00::1 fd00::3 udp
forge_icmp 0x4400 1285 fd00::1 fd00::3 udp short
forge_icmp 0x4400 1290 fd00::1 fd00::3 udp
wait_eq "ESP in UDP over IPv6: quoting the SPI sets mtu 1290; another SPI, no SPI none" \
	5 "mtu 1290" route_mtu fd00::3
# Over IPv4, Linux 6.1's udp_err() lowers the path MTU for ICMP about any
# UDP datagram before a socket is asked (README, Security): esptun's
# socket refuses the forged ones, but too late.  What is esptun's: the
# genuine one still counts.
forge_icmp 0x3300 1200 $GW_OUT 10.0.0.3 udp
wait_eq "ESP in UDP over IPv4: ICMP quoting the SPI sets mtu 1200" 5 "mtu 1200" \
	route_mtu 10.0.0.3
forge_icmp 0x4242 1100 $GW_OUT 10.0.0.3 udp
sleep 1	# what it does, if anything, is logged: time for it to be done
log "ESP in UDP over IPv4, ICMP quoting another SPI (1100): $(route_mtu 10.0.0.3) (the UDP layer's doing)"
check_eq "no auth/replay/malformed drops" \
	"$(jget 't["rx_replay"] + t["rx_auth_fail"] + t["rx_malformed"]')" 0
finish
