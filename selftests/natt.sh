#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NAT traversal (ESP in UDP, RFC 3948) against Linux XFRM's `encap
# espinudp`: traffic both ways with exact counts, the UDP header on the
# wire, the path MTU with the 8 UDP bytes; sharing port 4500 with an IKE
# daemon's UDP_ENCAP_ESPINUDP socket, or holding it alone; a masquerading
# NAT in front of the XFRM peer whose mapping changes (NAT rebinding); NAT
# keepalives; every refusal's message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module
command -v ping >/dev/null || skip_all "ping missing (iputils-ping)"
command -v nft >/dev/null || skip_all "nft missing (nftables)"
command -v conntrack >/dev/null || skip_all "conntrack missing (conntrack)"
leak_mark
NATT=$SELFTESTS/natt.py

# daemon_start NS ADDR OUT: an IKE-daemon-shaped socket on ADDR:4500.
daemon_start() {
	rm -f "$3" "$3.ready"
	ip netns exec "$1" python3 "$NATT" daemon "$2" 4500 "$3" &
	busywait 10 test -e "$3.ready" || fail "daemon in $1 did not start"
}

# daemon_serves WHAT: the only socket on gw's port 4500 is the daemon's
# (logging to /tmp/natt-gw.$$, empty so far); IKE from peer reaches it,
# ESP reaches esptun's tunnel 1 through it and not the daemon.
daemon_serves() {
	local rx
	check "$1: one socket on 4500, the daemon's" \
		sh -c "ip netns exec gw ss -Hunap 'sport = :4500' | grep -c . | grep -qx 1 &&
			ip netns exec gw ss -Hunap 'sport = :4500' | grep -q python3"
	pyfile -n peer "$NATT" ike $GW_OUT 4500
	wait_eq "$1: IKE (non-ESP marker) reaches the daemon" 5 "[True]" \
		py 'import json,sys; print([json.loads(l)["marker"] for l in open(sys.argv[1])])' /tmp/natt-gw.$$
	rx=$(jget 't["rx_packets"]')
	check "$1: ESP through the daemon's socket reaches tunnel 1" ping_ok peer $GW4 10
	check_eq "$1: esptun counted exactly those" "$(jget 't["rx_packets"]')" $((rx + 10))
	check_eq "$1: and the daemon saw none of it" "$(wc -l < /tmp/natt-gw.$$)" 1
}

# ns_del NS...: delete namespaces, and the daemons in them, which would
# keep them (and the harness's output pipe) alive.
ns_del() {
	local ns pids
	for ns in "$@"; do
		pids=$(ip netns pids "$ns")
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill $pids 2>/dev/null
		ip netns del "$ns"
	done
	_netns=()
}

# socks4500 NS: UDP sockets bound to port 4500 there.
socks4500() {
	ip netns exec "$1" ss -Huan 'sport = :4500' | wc -l
}

# --- Directly connected, both outer families: esptun's own socket. ---
for outer in 4 6; do
	any=0.0.0.0
	[ $outer = 6 ] && any=::
	TOPO_XFRM_ARGS="encap espinudp 4500 4500 $any" TOPO_TUNNEL_ARGS="encap udp" \
		topo_setup $outer
	daemon_start peer $any /tmp/natt-peer.$$
	log "outer IPv$outer, UDP-encapsulated"
	check_eq "v$outer: show reports encap, ports, no NAT keepalive" \
		"$(jget '(t["encap"], t["sport"], t["dport"], t["nat_keepalive"])')" \
		"('udp', 4500, 4500, 0)"
	check_eq "v$outer: esptun holds port 4500 (no daemon)" "$(socks4500 gw)" 1
	check "v$outer: inner v4 ping gw -> peer" ping_ok gw $PEER4 10
	check "v$outer: inner v6 ping gw -> peer" ping_ok gw $PEER6 10
	check "v$outer: inner v4 ping peer -> gw" ping_ok peer $GW4 10
	check "v$outer: inner v6 ping peer -> gw" ping_ok peer $GW6 10
	check_eq "v$outer: esptun sent and received exactly 40" \
		"$(jget '(t["tx_packets"], t["rx_packets"])')" "(40, 40)"
	check_eq "v$outer: XFRM peer decrypted and encrypted exactly 40" \
		"$(peer_xfrm_packets $SPI_OUT $GW_OUT $PEER_OUT) $(peer_xfrm_packets $SPI_IN $PEER_OUT $GW_OUT)" \
		"40 40"
	check_eq "v$outer: nothing reached the peer's daemon socket" \
		"$(cat /tmp/natt-peer.$$ 2>/dev/null | wc -l)" 0

	# On the wire: UDP 4500 -> 4500; IPv4 without checksum, IPv6 with.
	capture_start gw veth0 1 10 "$NATT"
	gw ping -q -c 1 -M do $PEER4 >/dev/null 2>&1
	capture_wait
	want_csum=True
	[ $outer = 4 ] && want_csum=False
	check_eq "v$outer: outer UDP ports, checksum, ESP length" \
		"$(py 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["sport"], r["dport"], r["csum"] != 0, r["plen"], r["payload"][:8])' "$CAP")" \
		"4500 4500 $want_csum $((8 + 8 + 84 + 2 + 2 + 16)) 00001000"
	rm -f "$CAP"

	# The path MTU leaves room for the UDP header: 1300 - IP - 8 - 32,
	# rounded down to 4, minus the 2 trailer bytes.
	ip -n gw link set veth0 mtu 1300
	ip -n peer link set veth0 mtu 1300
	hl=20
	[ $outer = 6 ] && hl=40
	mtu=$((((1300 - hl - 8 - 32) & ~3) - 2))
	check "v$outer: an inner packet of $mtu bytes (DF) passes" \
		gw ping -q -c 1 -W 2 -M do -s $((mtu - 28)) $PEER4
	toobig=$(jget 't["tx_too_big"]')
	gw ping -q -c 1 -W 1 -M do -s $((mtu - 27)) $PEER4 >/dev/null 2>&1
	check_eq "v$outer: one byte more is too big" \
		"$(jget 't["tx_too_big"]')" $((toobig + 1))
	ip -n gw link set veth0 mtu 1500
	ip -n peer link set veth0 mtu 1500

	topo_tcp "v$outer"
	[ $outer = 6 ] && break
	ns_del gw peer
done

# --- Port 4500 shared with an IKE daemon (outer IPv6 topology kept). ---
log "coexistence with an IKE daemon on 4500"
gw esptun tunnel del esp0 id 1
check_eq "the last tunnel's deletion closed esptun's socket" "$(socks4500 gw)" 0
daemon_start gw :: /tmp/natt-gw.$$
gw esptun tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT encap udp
gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT seq 1000000
gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN
daemon_serves "esptun uses the daemon's socket"
gw esptun tunnel del esp0 id 1
pids=$(ip netns pids gw)
# shellcheck disable=SC2086
kill $pids 2>/dev/null
wait_eq "the daemon gone, nothing holds 4500" 5 0 socks4500 gw

# No daemon: esptun's own socket drops what is not ESP, and counts it.
gw esptun tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT encap udp
gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT seq 2000000
gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN
drops=$(jget 't["rx_drops"]')
pyfile -n peer "$NATT" ike $GW_OUT 4500
wait_eq "no daemon: IKE to esptun's socket is dropped and counted" 5 \
	$((drops + 1)) jget 't["rx_drops"]'
check "no daemon: ESP still flows" ping_ok peer $GW4 5
# Sockets are shared by tunnels with the same address and port.
gw esptun tunnel add esp0 id 2 local $GW_OUT remote fd00::3 encap udp
check_eq "a second tunnel shares the socket" "$(socks4500 gw)" 1
gw esptun tunnel del esp0 id 1
check_eq "which outlives the first tunnel" "$(socks4500 gw)" 1
gw esptun tunnel del esp0 id 2
check_eq "and goes with the last" "$(socks4500 gw)" 0

# --- A daemon started after the tunnels takes 4500 (encap-socket). ---
log "an IKE daemon takes port 4500 from esptun"
hexaddr() { py 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).packed.hex())' "$1"; }
GWH=$(hexaddr $GW_OUT)
# bind4500 REUSEPORT PREFIX...: bind [::]:4500 (with SO_REUSEPORT if
# REUSEPORT is 1) as PREFIX runs python3; print "bound" or the error.
bind4500() {
	local reuse=$1
	shift
	"$@" python3 -S -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(sys.argv[1]))
try:
    s.bind(("::", 4500))
    print("bound")
except OSError as e:
    print(e.strerror)' "$reuse"
}
# daemon_handover SOCK CMD TUNNEL-NEST-ATTRS: natt.py's handover in gw,
# going on as a daemon (pid $ho, log /tmp/natt-gw.$$); its answer in
# /tmp/natt-ho.$$.
daemon_handover() {
	rm -f /tmp/natt-gw.$$ /tmp/natt-gw.$$.ready
	ip netns exec gw python3 "$NATT" handover "$1" /tmp/natt-gw.$$ "$2" \
		ifname:str:esp0 "tunnel:nest:$3" > /tmp/natt-ho.$$ &
	ho=$!
	busywait 10 test -e /tmp/natt-gw.$$.ready || fail "handover $1 $2 did not finish"
}
REUSE=/sys/module/esptun/parameters/encap_reuseport
gw esptun tunnel add esp0 id 2 local $GW_OUT remote fd00::3 encap udp
check_eq "encap_reuseport off (the default): not even root binds beside esptun's socket" \
	"$(cat $REUSE) $(bind4500 1 ip netns exec gw)" "N Address already in use"
gw esptun tunnel del esp0 id 2
echo Y > $REUSE
gw esptun tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT encap udp
gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT seq 3000000
gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN
gw esptun tunnel add esp0 id 2 local $GW_OUT remote fd00::3 encap udp
gw esptun tunnel add esp0 id 3 local $GW_OUT remote fd00::4
check_eq "esptun's socket holds 4500 for tunnels 1 and 2" "$(socks4500 gw)" 1
check_eq "a daemon that binds 4500 now cannot" \
	"$(bind4500 0 ip netns exec gw)" "Address already in use"
check_eq "nor, with encap_reuseport, another user's with SO_REUSEPORT" \
	"$(bind4500 1 ip netns exec gw setpriv --reuid 65534 --regid 65534 --clear-groups)" \
	"Address already in use"
# handover SOCK CMD TUNNEL-NEST-ATTRS: natt.py's answer, in gw.
handover() {
	pyfile -n gw "$NATT" handover "$1" - "$2" ifname:str:esp0 "tunnel:nest:$3"
}
while IFS='|' read -r sock cmd attrs want; do
	check_eq "refused: $want" "$(handover "$sock" "$cmd" "$attrs")" "$want"
done <<EOT
udp6,noencap|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket has no UDP_ENCAP_ESPINUDP
tcp6|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is not a UDP socket
udp4|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is not of the tunnel's address family
udp6,netns=peer|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is not in the tunnel's network namespace
udp6|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is not bound (with encap_reuseport, SO_REUSEPORT binds it beside esptun's socket)
udp6,bind=::/4501|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is bound to another port or address
udp6,reuseport,dev=veth0,bind=::/4500|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is bound to a device or connected
udp6,reuseport,bind=::/4500,connect=$PEER_OUT/4500|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EINVAL: encap-socket is bound to a device or connected
file|tunnel-set|id/u32/1,encap-socket/u32/@FD|error ENOTSOCK: encap-socket is not a socket descriptor
closed|tunnel-set|id/u32/1,encap-socket/u32/@FD|error EBADF: encap-socket is not a socket descriptor
udp6|tunnel-set|id/u32/1,encap-socket/u32/4294967295|error EBADF: encap-socket is not a socket descriptor
udp6|tunnel-set|id/u32/1,encap-socket/u32/@FD,remote-ipv6/hex/$(hexaddr fd00::5)|error EINVAL: encap-socket and a new remote address need two requests
udp6|tunnel-set|id/u32/3,encap-socket/u32/@FD|error EINVAL: encap-socket needs a tunnel with encap udp
udp6|tunnel-new|id/u32/4,local-ipv6/hex/$GWH,remote-ipv6/hex/$(hexaddr fd00::6),encap-socket/u32/@FD|error EINVAL: encap-socket needs encap udp
EOT
check "after the refusals, esptun's socket still holds 4500" \
	sh -c "[ \$(ip netns exec gw ss -Hunap 'sport = :4500' | grep -vc python3) = 1 ]"
check_eq "and no tunnel was added" "$(jget 'len(d["tunnels"])')" 3

# The daemon binds beside esptun's socket (SO_REUSEPORT) and hands its
# own over: esptun's closes.
daemon_handover udp6,reuseport,bind=::/4500 tunnel-set id/u32/1,encap-socket/u32/@FD
check_eq "the daemon's socket, bound beside esptun's, is taken" \
	"$(cat /tmp/natt-ho.$$)" "ok 0 bound :: 4500"
daemon_serves "handed over (esptun's socket closed)"
kill $ho 2>/dev/null
wait_eq "the daemon gone, nothing holds 4500" 5 0 socks4500 gw
gw esptun tunnel del esp0 id 2
gw esptun tunnel add esp0 id 2 local $GW_OUT remote fd00::3 encap udp
check_eq "a port left free goes back to esptun at the next tunnel" "$(socks4500 gw)" 1
check "whose socket tunnel 1 then receives through" ping_ok peer $GW4 5
gw esptun tunnel del esp0 id 2
gw esptun tunnel del esp0 id 1
gw esptun tunnel del esp0 id 3
check_eq "with the tunnels gone, so is its socket" "$(socks4500 gw)" 0
echo N > $REUSE

# A third socket, more specific than the daemon's, would receive instead.
check_eq "refused: another socket receives the tunnel's packets" \
	"$(handover "udp6,reuseaddr,bind=::/4500,decoy=$GW_OUT/4500" tunnel-new \
		"id/u32/1,local-ipv6/hex/$GWH,remote-ipv6/hex/$(hexaddr $PEER_OUT),encap/u8/1,encap-socket/u32/@FD")" \
	"error EADDRINUSE: another socket receives the tunnel's packets on its port"
check_eq "and no tunnel was added" "$(jget 'len(d["tunnels"])')" 0

# A daemon that bound the port itself names its socket when adding.
daemon_handover udp6,bind=::/4500 tunnel-new \
	"id/u32/1,local-ipv6/hex/$GWH,remote-ipv6/hex/$(hexaddr $PEER_OUT),encap/u8/1,encap-socket/u32/@FD"
check_eq "a bound socket is taken as it is" "$(cat /tmp/natt-ho.$$)" "ok 0 bound :: 4500"
gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT seq 4000000
gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN
daemon_serves "named at tunnel add"
gw esptun tunnel del esp0 id 1
kill $ho 2>/dev/null
wait_eq "the daemon gone, nothing holds 4500" 5 0 socks4500 gw
rm -f /tmp/natt-gw.$$ /tmp/natt-gw.$$.ready /tmp/natt-ho.$$
gw python3 -S -c 'import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 4500))
time.sleep(30)  # holds the port until killed
' &
# Bound once ss lists it (python starts slowly in an emulated guest).
busywait 5 output_is 1 socks4500 gw
check_err "a port held by a socket without UDP_ENCAP is refused" \
	'^esptun: tunnel add esp0 id 1: the local UDP port is held by a socket without UDP_ENCAP_ESPINUDP \(Address already in use\)$' \
	gw esptun tunnel add esp0 id 1 local $GW_OUT remote $PEER_OUT encap udp
ns_del gw peer

# --- A masquerading NAT in front of the XFRM peer. ---
#   gw 10.0.0.1 -- 10.0.0.254 nat 192.168.0.254 -- 192.168.0.2 peer
# esptun knows the NAT's address; the port is the NAT's choice, and changes.
log "XFRM peer behind a masquerading NAT"
new_netns gw nat peer
# No IPv6 chatter through the tunnel: counts are exact.
ns_sysctl gw net.ipv6.conf.default.disable_ipv6=1 || fail "no IPv6 in gw"
ip link add veth0 netns gw type veth peer name veth0 netns nat
ip link add veth1 netns nat type veth peer name veth0 netns peer
ip -n gw addr add 10.0.0.1/24 dev veth0
ip -n nat addr add 10.0.0.254/24 dev veth0
ip -n nat addr add 192.168.0.254/24 dev veth1
ip -n peer addr add 192.168.0.2/24 dev veth0
for l in "gw veth0" "nat veth0" "nat veth1" "peer veth0"; do
	# shellcheck disable=SC2086
	ip -n ${l% *} link set ${l#* } up
done
ip -n peer route add default via 192.168.0.254
ns_sysctl nat net.ipv4.ip_forward=1 || fail "forwarding in nat"
udp_masquerade nat veth0 10000-10099 || fail "nft masquerade"
GW_OUT=10.0.0.1 PEER_OUT=192.168.0.2
peer_xfrm_state $SPI_OUT $GW_OUT $PEER_OUT $KEY_OUT encap espinudp 4500 4500 0.0.0.0
peer_xfrm_state $SPI_IN $PEER_OUT $GW_OUT $KEY_IN encap espinudp 4500 4500 0.0.0.0
ip -n peer link add lan0 type dummy
ip -n peer addr add $PEER4/24 dev lan0
ip -n peer link set lan0 up
peer_xfrm_policy 172.16.0.0/24 172.16.1.0/24
ip -n peer route add 172.16.0.0/24 via 192.168.0.254 src $PEER4
daemon_start peer 0.0.0.0 /tmp/natt-peer.$$
ip -n gw link add esp0 type esptun
ip -n gw addr add $GW4/24 dev esp0
ip -n gw link set esp0 up
ip -n gw route add 172.16.1.0/24 dev esp0 src $GW4
gw esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.254 encap udp
gw esptun sa add esp0 tunnel 1 dir out spi $SPI_OUT key $KEY_OUT
gw esptun sa add esp0 tunnel 1 dir in spi $SPI_IN key $KEY_IN

check "behind NAT: peer -> gw" ping_ok peer $GW4 5
p1=$(jget 't["dport"]')
check_eq "esptun follows the NAT's port ($p1)" \
	"$(py "print(10000 <= $p1 <= 10099)")" True
check "behind NAT: gw -> peer, replies to the NAT's port" ping_ok gw $PEER4 5
check_eq "exact counts both ways" "$(jget '(t["tx_packets"], t["rx_packets"])')" "(10, 10)"

# A forged packet from another port must not move the tunnel.
fails=$(jget 't["rx_auth_fail"]')
py -n nat '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.254", 30000))
s.sendto(bytes.fromhex("00002000000003e8") + bytes(8 + 40 + 16), ("10.0.0.1", 4500))'
wait_eq "a forged packet from port 30000 fails authentication" 5 \
	$((fails + 1)) jget 't["rx_auth_fail"]'
check_eq "and does not move the remote port" "$(jget 't["dport"]')" "$p1"

# The NAT forgets its mapping and picks another port.
udp_masquerade nat veth0 20000-20099
ip netns exec nat conntrack -F >/dev/null 2>&1
check "after rebinding: peer -> gw" ping_ok peer $GW4 5
p2=$(jget 't["dport"]')
check_eq "show reports the new port ($p2)" \
	"$(py "print(20000 <= $p2 <= 20099)")" True
check "after rebinding: gw -> peer follows" ping_ok gw $PEER4 5
check_eq "no drops on either side" \
	"$(jget '(t["tx_packets"], t["rx_packets"], t["rx_replay"], t["rx_malformed"])')" \
	"(20, 20, 0, 0)"

# An authentic packet from another address (the newest, a dummy): taken,
# but only the port floats (NAT rebinding); a new address is the IKE
# daemon's to set, and a copy raced from elsewhere must not move replies.
ip -n nat addr add 10.0.0.253/24 dev veth0
# Not masqueraded: it must reach gw from 10.0.0.253 itself.
ip netns exec nat nft insert rule ip nat post ip saddr 10.0.0.253 accept
top=$(jget "sa(\"in\", $SPI_IN)[\"seq\"]")
esp=$(pyfile "$ESPTOOL" build $KEY_IN $SPI_IN $((top + 1)) --inner dummy)
py -n nat '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.253", 31000))
s.sendto(bytes.fromhex(sys.argv[1]), ("10.0.0.1", 4500))' "$esp"
wait_eq "from 10.0.0.253:31000, authentic: the inbound window moves to it" 3 \
	"$((top + 1))" jget "sa(\"in\", $SPI_IN)[\"seq\"]"
check_eq "but the remote port stays $p2" "$(jget 't["dport"]')" "$p2"

# NAT keepalives: one 0xff byte from 4500 to the NAT's port, each second.
capture_start gw veth0 3 8 "$NATT"
gw esptun tunnel set esp0 id 1 nat-keepalive 1
capture_wait
check_eq "nat-keepalive 1: three keepalives, one 0xff byte, 4500 -> $p2" \
	"$(py '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
print(len(r), set((x["sport"], x["dport"], x["payload"], x["csum"], x["outgoing"]) for x in r))' "$CAP")" \
	"3 {(4500, $p2, 'ff', 0, True)}"
check_eq "a second apart" \
	"$(py '
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
print(all(0.7 < b - a < 1.5 for a, b in zip(t, t[1:])))' "$CAP")" True
rm -f "$CAP"
check_eq "show reports it" "$(jget 't["nat_keepalive"]')" 1
check "show prints it" sh -c "ip netns exec gw esptun show esp0 | grep -q '^  encap: udp sport 4500 dport $p2 nat-keepalive 1s$'"
gw esptun tunnel set esp0 id 1 nat-keepalive 0
sleep 0.2	# a keepalive already on its way was sent before the 0
capture_start gw veth0 1 2.5 "$NATT"
capture_wait
check_eq "nat-keepalive 0: none in 2.5 s" "$(wc -l < "$CAP")" 0
rm -f "$CAP"
ns_del gw nat peer

# --- Refusals. ---
log "refusals"
new_netns gw
ip -n gw link add esp0 type esptun
ip -n gw link add d0 type dummy
ip -n gw addr add 10.0.0.1/24 dev d0
ip -n gw link set d0 up
add="esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2"
# shellcheck disable=SC2086
{
check_err "ports without encap udp" \
	'^esptun: tunnel add esp0 id 1: encap ports need encap udp \(Invalid argument\)$' gw $add sport 4501
check_err "ports with encap none" \
	'^esptun: tunnel add esp0 id 1: encap ports need encap udp \(Invalid argument\)$' gw $add encap none dport 4501
check_err "port 0" \
	'^esptun: tunnel add esp0 id 1: UDP port 0 is not valid \(Invalid argument\)$' gw $add encap udp sport 0
check_err "nat-keepalive without encap udp" \
	'^esptun: tunnel add esp0 id 1: nat-keepalive needs encap udp \(Invalid argument\)$' gw $add nat-keepalive 20
check_err "an unknown encapsulation (the tool)" \
	'^esptun: tunnel add: encap is udp or none, not "tcp"$' gw $add encap tcp
check_err "a local address not configured" \
	'^esptun: tunnel add esp0 id 1: cannot bind the UDP port: the local address is not configured \(Cannot assign requested address\)$' \
	gw esptun tunnel add esp0 id 1 local 10.9.9.9 remote 10.0.0.2 encap udp
check "a plain tunnel" gw $add
}
check_err "nat-keepalive on a tunnel without encap udp" \
	'^esptun: tunnel set esp0 id 1: nat-keepalive needs a tunnel with encap udp \(Invalid argument\)$' \
	gw esptun tunnel set esp0 id 1 nat-keepalive 20
# raw_expect DESC REGEX nlraw-args...: what the tool never sends.
raw_expect() {
	local desc=$1 pat=$2 out
	shift 2
	out=$(pyfile -n gw "$SELFTESTS/nlraw.py" "$@")
	if grep -Eq -- "$pat" <<<"$out"; then
		pass "$desc ($out)"
	else
		fail "$desc: got \"$out\", expected /$pat/"
	fi
}
raw_expect "changing the encapsulation (raw netlink)" \
	"^error EINVAL: Unsupported attribute$" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,encap/u8/1
raw_expect "changing the local port (raw netlink)" \
	"^error EINVAL: Unsupported attribute$" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,encap-sport/be16/4501
raw_expect "a remote port without encap udp (raw netlink)" \
	"^error EINVAL: encap-dport needs a tunnel with encap udp$" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,encap-dport/be16/4501
raw_expect "an encapsulation beyond udp (raw netlink)" "^error ERANGE: " \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/2,local-ipv4/be32/0x0a000001,remote-ipv4/be32/0x0a000002,encap/u8/2
raw_expect "a port of one byte (raw netlink)" "^error EINVAL: " \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/2,local-ipv4/be32/0x0a000001,remote-ipv4/be32/0x0a000002,encap/u8/1,encap-sport/u8/1
check "encap udp on given ports" gw esptun tunnel add esp0 id 2 local 10.0.0.1 remote 10.0.0.3 \
	encap udp sport 4501 dport 4502 nat-keepalive 30
check_eq "show --json reports them" \
	"$(gw esptun show esp0 --json | py 'import json,sys; t=json.load(sys.stdin)[0]["tunnels"][1]; print(t["encap"], t["sport"], t["dport"], t["nat_keepalive"])')" \
	"udp 4501 4502 30"
check_eq "a plain tunnel reports encap none" \
	"$(gw esptun show esp0 --json | py 'import json,sys; t=json.load(sys.stdin)[0]["tunnels"][0]; print(t["encap"], "sport" in t)')" \
	"none False"
check_eq "esptun holds 10.0.0.1:4501" \
	"$(gw ss -Huan 'sport = :4501' | wc -l)" 1
# The namespace goes with the tunnel and its socket in it.
ns_del gw
rm -f /tmp/natt-peer.$$ /tmp/natt-gw.$$
leak_check "every device and tunnel freed" 10

finish
