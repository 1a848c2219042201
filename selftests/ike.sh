#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: beside
#   (it mostly waits on IKE's and BGP's timers: beside the other tests,
#   not in place of one, and at a higher priority, so that the short
#   retransmission and DPD timers set for the test are met)
#
# AWS in a box: stock charon keys esptun through the kernel-esptun plugin
# (userspace/strongswan) against an AWS-shaped peer, with BGP over both
# tunnels.
#
#   lan_gw 172.16.0.10 -- gw: charon + kernel-esptun, bgpd (AS 65000)
#                             esp0: tunnels to 10.0.0.2 and 10.0.0.3,
#                             pinned to 169.254.10.1 and .11.1
#                             veth0 10.0.0.1
#                               |
#                         aws: charon + kernel-netlink (XFRM), bgpd (AS 64512)
#                              veth0 10.0.0.2 and 10.0.0.3 (two endpoints)
#                              ipsec1, ipsec2: xfrm interfaces (if_id 1, 2)
#                              lan0 172.16.1.1 -- lan_aws 172.16.1.10
#
# IKEv2 with a PSK, aes256gcm16 for ESP, AWS's tunnel options (replay
# window 1024, DPD); each charon runs in a mount namespace of its own (a
# private /run, and on gw the plugin added to charon's plugin directory).
#
# IKE_PHASES= (space-separated) runs some phases only, for debugging;
# IKE_REKEYS=N rekeys each CHILD_SA N times under traffic (3; make
# check-long's ike_rekeys.sh does 20); IKE_LOGS=DIR keeps all logs of a
# failed run there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aws.sh"

require_module
PLUGIN=$ESPTUN_REPO/userspace/strongswan/libstrongswan-kernel-esptun.so
[ -x /usr/lib/ipsec/charon ] || skip_all "no charon (apt-get install strongswan-charon strongswan-swanctl)"
[ -x /usr/lib/frr/bgpd ] || skip_all "no FRR (apt-get install frr)"
[ -f "$PLUGIN" ] || skip_all "kernel-esptun plugin not built (make strongswan)"

PSK=0sdGhpcyBpcyBhIHRlc3Qga2V5IG9mIDMyIGJ5dGVzIQ==

T=$(mktemp -d /tmp/ike.XXXXXX)
chmod 755 "$T"	# FRR's daemons run as its user
# The daemons go, then what they leave behind: BGP's TCP sessions ran
# through the tunnels that charon's end takes down, so a killed bgpd's
# sockets live on as orphans, sending a FIN nobody answers for minutes,
# and each holds its namespace, and the esptun device in it, alive:
# vm/run's objects check found the device 40 s after ike.sh had ended.
# ss -K destroys them (a kernel with INET_DIAG_DESTROY, as Debian's).
_ike_stop() {
	local pids ns
	pids=$(cat "$T"/*/*.pid "$T"/*/frr/*.pid 2>/dev/null)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null
		# shellcheck disable=SC2086
		busywait 15 _left_netns $pids
	fi
	for ns in "${_netns[@]}"; do
		ip netns exec "$ns" ss -K -t > /dev/null 2>&1
	done
	_cleanup
}
_ike_cleanup() {
	_ike_stop
	if [ "$_failed" -ne 0 ]; then
		# IKE_LOGS=DIR keeps every log, e.g. /run/vm-out of the guest.
		[ -z "${IKE_LOGS:-}" ] ||
			(cd "$T" && find . -name '*.log' -exec cp --parents {} "$IKE_LOGS"/ \;)
		for f in "$T"/*/*.log; do
			[ -f "$f" ] || continue
			echo "# ---- $f (last 60 lines)"
			tail -n 60 "$f" | sed 's/^/# /'
		done
	fi
	rm -rf "$T"
}
trap _ike_cleanup EXIT

phase() { [ -z "${IKE_PHASES:-}" ] || [[ " $IKE_PHASES " == *" $1 "* ]]; }

# ------------------------------------------------------------ topology

# topology [nat]: with nat, gw sits behind a NAT namespace that owns
# 10.0.0.1 towards aws (so aws's configuration is the same) and
# masquerades UDP to ports 10000-10099.
topology() {
	local i
	new_netns lan_gw gw aws lan_aws
	for ns in gw aws; do
		ns_sysctl $ns net.ipv4.ip_forward=1 || fail "forwarding in $ns"
	done
	if [ "${1:-}" = nat ]; then
		new_netns nat
		GW_ADDR=10.1.0.1
		ip link add veth0 netns gw type veth peer name veth1 netns nat
		ip link add veth0 netns nat type veth peer name veth0 netns aws
		ip -n nat addr add 10.1.0.254/24 dev veth1
		ip -n nat addr add 10.0.0.1/24 dev veth0
		ip -n nat link set veth0 up
		ip -n nat link set veth1 up
		ns_sysctl nat net.ipv4.ip_forward=1 || fail "forwarding in nat"
		udp_masquerade nat veth0 10000-10099 || fail "nft masquerade"
		gw ip addr add $GW_ADDR/24 dev veth0
		gw ip link set veth0 up
		gw ip route add default via 10.1.0.254
	else
		GW_ADDR=10.0.0.1
		ip link add veth0 netns gw type veth peer name veth0 netns aws
		gw ip addr add $GW_ADDR/24 dev veth0
		gw ip link set veth0 up
	fi
	aws ip addr add 10.0.0.2/24 dev veth0
	aws ip addr add 10.0.0.3/24 dev veth0
	aws ip link set veth0 up
	aws_lan gw 172.16.0.1 lan_gw $LAN_GW
	aws_lan aws 172.16.1.1 lan_aws $LAN_AWS

	gw ip link add esp0 type esptun
	for i in 1 2; do
		gw ip addr add "169.254.$((9 + i)).2/30" dev esp0
		aws ip link add ipsec$i type xfrm dev veth0 if_id $i
		aws ip addr add "169.254.$((9 + i)).1/30" dev ipsec$i
		aws ip link set ipsec$i up
	done
	gw ip link set esp0 up
}

teardown() {
	_ike_stop
	_netns=()
	rm -rf "${T:?}"/gw "${T:?}"/aws
}

# ------------------------------------------------------------- charon

# charon_conf NS LOAD: strongswan.conf for the charon of NS, plugins LOAD
# (the first loaded wins kernel-ipsec: kernel-esptun before
# kernel-netlink on gw).  esptun's liveness (dead_after 6 s) unless
# IKE_LIVENESS is empty: BGP's keepalives are what a healthy tunnel
# receives, and without BGP (the NAT phase) an idle tunnel would rightly
# go down.
charon_conf() {
	local d=$T/$1 dead=
	mkdir -p "$d"
	[ -n "${IKE_LIVENESS-6}" ] && dead="dead_after = ${IKE_LIVENESS-6}"
	cat > "$d/strongswan.conf" <<-EOF
	charon {
		load = $2
		install_routes = no
		install_virtual_ip = no
		retransmit_timeout = 1.0
		retransmit_base = 1.4
		retransmit_tries = 3
		filelog {
			log {
				path = $d/charon.log
				time_format = %T
				flush_line = yes
				default = 1
				knl = 2
			}
		}
		plugins {
			vici {
				socket = unix://$d/charon.vici
			}
			kernel-esptun {
				device = esp0
				peers {
					aws1 {
						remote = 10.0.0.2
						pins = 169.254.10.1
						$dead
					}
					aws2 {
						remote = 10.0.0.3
						pins = 169.254.11.1
						$dead
					}
				}
			}
		}
	}
	swanctl {
		load = pem pkcs1 x509 revocation constraints pubkey openssl random
		socket = unix://$d/charon.vici
	}
	EOF
}

# charon_run NS DIR [MOUNT_CMDS] [ENV]: charon in NS, in a mount namespace
# of its own: /run private (pid file), charon's plugin directory replaced
# by a copy with the plugin added (the guest's root is read-only).
charon_run() {
	local ns=$1 d=$2
	# Copies: links into the directory mounted over would point at
	# themselves.
	mkdir -p "$d/plugins"
	cp /usr/lib/ipsec/plugins/*.so "$PLUGIN" "$d/plugins/"
	ip netns exec "$ns" unshare -m sh -c "
		mount -t tmpfs tmpfs /run &&
		mount --bind $d/plugins /usr/lib/ipsec/plugins && ${3:-}
		${4:-} exec /usr/lib/ipsec/charon
	" > "$d/stdout.log" 2>&1 &
	echo $! > "$d/charon.pid"
}

# charon_start NS: charon_run with the test's strongswan.conf.
charon_start() {
	local d=$T/$1
	rm -f "$d/charon.vici"
	charon_run "$1" "$d" "" "STRONGSWAN_CONF=$d/strongswan.conf"
	busywait 15 test -S "$d/charon.vici" || fail "charon in $1 did not start"
}

charon_stop() {
	local d=$T/$1 pid
	[ -f "$d/charon.pid" ] || return 0
	pid=$(cat "$d/charon.pid")
	kill "$pid" 2>/dev/null
	busywait 15 _dead "$pid" || fail "charon in $1 did not stop"
	rm -f "$d/charon.pid"
}
_dead() { ! kill -0 "$1" 2>/dev/null; }

sw() { # NS ARGS...: swanctl against NS's charon
	local ns=$1
	shift
	STRONGSWAN_CONF=$T/$ns/strongswan.conf ip netns exec "$ns" swanctl "$@"
}

# Children only the unsupported phase initiates, each one esptun must
# refuse: AES-CBC; a second CHILD_SA (its own reqid) on a tunnel that
# carries one; copy_df = no (esptun copies DF).  $1: gw or aws (the
# traffic selectors mirror), $2: per-child lines.
refused_children() {
	local name a b prop l r
	while read -r name a b prop; do
		l=$a r=$b
		[ "$1" = gw ] || { l=$b r=$a; }
		cat <<-EOF
		$name {
			esp_proposals = $prop
			local_ts = $l.0.0/24
			remote_ts = $r.0.0/24
			$2
			$([ "$1:$name" = gw:nodf ] && echo "copy_df = no")
		}
		EOF
	done <<-EOF
	cbc 10.99 10.98 aes256-sha256-ecp256
	second 10.97 10.96 aes256gcm16-ecp256
	nodf 10.95 10.94 aes256gcm16-ecp256
	EOF
}

# conn NAME LOCAL REMOTE LOCAL_ID REMOTE_ID CONN_LINES CHILD_LINES SIDE
#      REFUSED_CHILD_LINES: one AWS tunnel's connection, its CHILD_SA t<N>
# (AWS's ESP options) and the children esptun must refuse.
conn() {
	cat <<-EOF
	connections {
		$1 {
			version = ${IKE_VERSION:-2}
			local_addrs = $2
			remote_addrs = $3
			proposals = aes256-sha256-ecp256
			mobike = no
			$6
			local { auth = psk
				id = $4 }
			remote { auth = psk
				id = $5 }
			children {
				t${1#aws} {
					local_ts = 0.0.0.0/0
					remote_ts = 0.0.0.0/0
					esp_proposals = aes256gcm16-ecp256
					replay_window = 1024
					$7
				}
				$(refused_children "$8" "${9:-}")
			}
		}
	}
	secrets { ike-$1 { id = $5
		secret = $PSK } }
	EOF
}

# swanctl.conf for both sides: two connections, one per AWS endpoint.
# gw initiates, rekeys (REKEY_TIME_<i>, LIFE_TIME_<i>) and restarts after
# DPD; aws answers, each tunnel on its xfrm interface.
swanctl_conf() {
	local i rekey life peer
	for i in 1 2; do
		peer=10.0.0.$((1 + i))
		eval "rekey=\${REKEY_TIME_$i:-3000s} life=\${LIFE_TIME_$i:-3600s}"
		conn aws$i $GW_ADDR $peer 10.0.0.1 $peer "dpd_delay = 10s
			keyingtries = 0" "
			rekey_time = $rekey
			life_time = $life
			rand_time = 0
			start_action = start
			dpd_action = restart" gw >> "$T/gw/swanctl.conf"
		conn aws$i $peer 10.0.0.1 $peer 10.0.0.1 "dpd_delay = 2s" "
			if_id_in = $i
			if_id_out = $i
			rekey_time = 0
			life_time = 0
			dpd_action = clear" aws "
			if_id_in = $i
			if_id_out = $i" >> "$T/aws/swanctl.conf"
	done
}

CHARON_LOAD_BASE="random nonce openssl pem pkcs1 x509 pubkey revocation kdf socket-default vici"

# ike_up [gw]: both charons (or gw's only), connections loaded; both
# CHILD_SAs installed on gw.
ike_up() {
	local ns sides="aws gw"
	[ "${1:-}" = gw ] && sides=gw
	rm -f "$T"/gw/swanctl.conf "$T"/aws/swanctl.conf
	charon_conf aws "$CHARON_LOAD_BASE kernel-netlink"
	charon_conf gw "kernel-esptun $CHARON_LOAD_BASE kernel-netlink"
	swanctl_conf
	for ns in $sides; do
		charon_start $ns
		sw $ns --load-all --file "$T/$ns/swanctl.conf" > "$T/$ns/load.out" 2>&1 ||
			fail "swanctl --load-all on $ns: $(tr '\n' ' ' < "$T/$ns/load.out")"
	done
	busywait 30 _installed 2 ||
		fail "both CHILD_SAs installed on gw: $(sw gw --list-sas 2>&1 | tr '\n' ' ')"
}
_installed() { [ "$(sw gw --list-sas 2>/dev/null | grep -c 'INSTALLED, TUNNEL')" -eq "$1" ]; }

# spis_swanctl NS CHILD: "in out" SPIs of the installed CHILD_SA CHILD.
spis_swanctl() {
	sw "$1" --list-sas 2>/dev/null | awk -v c="$2" '
		$1 == c ":" && /INSTALLED/ { on = 1; next }
		on && $1 == "in" { gsub(",", "", $2); i = $2 }
		on && $1 == "out" { gsub(",", "", $2); o = $2; on = 0 }
		END { print i, o }'
}

# spis_esptun REMOTE: "in out" SPIs of gw's tunnel to REMOTE (all inbound
# ones, sorted, then the outbound one).
spis_esptun() {
	gw esptun show esp0 --json | py '
import json, sys
d = json.load(sys.stdin)[0]
for t in d["tunnels"]:
    if t["remote"] == sys.argv[1]:
        sas = t["sas"]
        ins = sorted("%08x" % s["spi"] for s in sas if s["dir"] == "in")
        outs = ["%08x" % s["spi"] for s in sas if s["dir"] == "out"]
        print(" ".join(ins + outs))' "$1"
}

# spis_xfrm SRC DST: the SPIs of aws's XFRM states from SRC to DST.
spis_xfrm() {
	aws ip xfrm state list src "$1" dst "$2" |
		sed -n 's/.* spi 0x\([0-9a-f]*\) .*/\1/p' | sort | tr '\n' ' ' |
		sed 's/ $//'
}

check_spis() {
	local i s in out
	for i in 1 2; do
		s=$(spis_swanctl gw t$i)
		in=${s% *}
		out=${s#* }
		check_eq "tunnel $i: esptun has charon's SPIs (in $in, out $out)" \
			"$(spis_esptun 10.0.0.$((1 + i)))" "$in $out"
		# A loaded host can make gw give an IKE_SA up and start anew
		# while aws still holds the first: aws's DPD then clears it.
		wait_eq "tunnel $i: aws's XFRM has the same out SPI" 30 "$out" \
			spis_xfrm 10.0.0.1 10.0.0.$((1 + i))
		wait_eq "tunnel $i: aws's XFRM has the same in SPI" 30 "$in" \
			spis_xfrm 10.0.0.$((1 + i)) 10.0.0.1
	done
}

# ---------------------------------------------------------------- BGP

frr_start() { # NS ASN ROUTER_ID NEIGHBOUR_ASN NEIGHBOUR... (with the LAN 172.16.x.0/24)
	local ns=$1 asn=$2 rid=$3 nasn=$4 d=$T/$1/frr n lan
	shift 4
	mkdir -p "$d"
	lan=172.16.0.0/24
	[ "$ns" = aws ] && lan=172.16.1.0/24
	{
		echo "hostname $ns"
		echo "log file $d/frr.log"
		echo "router bgp $asn"
		echo " bgp router-id $rid"
		echo " no bgp ebgp-requires-policy"
		echo " no bgp network import-check"
		for n in "$@"; do
			echo " neighbor $n remote-as $nasn"
			echo " neighbor $n timers 3 9"
			echo " neighbor $n timers connect 2"
		done
		echo " address-family ipv4 unicast"
		echo "  network $lan"
		echo "  maximum-paths 4"
		echo " exit-address-family"
	} > "$d/frr.conf"
	# The daemons run as FRR's user (root is not in its vty group).
	chown -R frr:frr "$d"
	ip netns exec "$ns" /usr/lib/frr/zebra -d -f "$d/frr.conf" \
		-i "$d/zebra.pid" -z "$d/zserv.api" --vty_socket "$d" \
		--log "file:$d/zebra.log" 2>> "$d/zebra.log" || fail "zebra in $ns"
	busywait 10 test -S "$d/zserv.api" || fail "zebra in $ns: no zserv socket"
	ip netns exec "$ns" /usr/lib/frr/bgpd -d -f "$d/frr.conf" \
		-i "$d/bgpd.pid" -z "$d/zserv.api" --vty_socket "$d" \
		--log "file:$d/bgpd.log" || fail "bgpd in $ns"
}

vty() { # NS CMD
	ip netns exec "$1" vtysh --vty_socket "$T/$1/frr" -c "$2"
}

_established() { # NS N
	[ "$(vty "$1" 'show bgp ipv4 unicast summary json' 2>/dev/null |
	     grep -c '"state":"Established"')" -eq "$2" ]
}

bgp_up() {
	frr_start aws 64512 10.0.0.2 65000 169.254.10.2 169.254.11.2
	frr_start gw 65000 10.0.0.1 64512 169.254.10.1 169.254.11.1
	if busywait 60 _established gw 2 && busywait 30 _established aws 2; then
		pass "both BGP sessions Established over their pinned tunnels"
	else
		fail "both BGP sessions Established: $(vty gw 'show bgp summary' 2>&1 | tr '\n' ' ')"
		return
	fi
	if busywait 30 _route_hops gw 172.16.1.0/24 2 &&
	   busywait 30 _route_hops aws 172.16.0.0/24 2; then
		pass "LAN prefixes learned over both tunnels"
	else
		fail "LAN prefixes learned over both tunnels: gw $(gw ip route show 172.16.1.0/24 | tr '\n' ' '), aws $(aws ip route show 172.16.0.0/24 | tr '\n' ' ')"
	fi
}
_route_hops() { # NS PREFIX N: the kernel route has N BGP next hops
	local r
	r=$(ip netns exec "$1" ip route show "$2" proto bgp)
	[ "$(grep -c 'nexthop via\|^'"$2"' via' <<<"$r")" -ge "$3" ] ||
		[ "$3" -eq 1 ] && [ -n "$r" ]
}

# ------------------------------------------------------------- traffic

# tunnel_tx I: packets gw sent over tunnel I (to 10.0.0.(1+I)).
tunnel_tx() {
	gw esptun show esp0 --json | py '
import json, sys
d = json.load(sys.stdin)[0]
print(sum(t["tx_packets"] for t in d["tunnels"]
          if t["remote"] == sys.argv[1]))' "10.0.0.$((1 + $1))"
}

check_pings() {
	local i
	for i in 1 2; do
		check "ping aws's inside address over tunnel $i" \
			gw ping -c 2 -i 0.2 -W 2 169.254.$((9 + i)).1
		check "ping gw's inside address from aws over tunnel $i" \
			aws ping -c 2 -i 0.2 -W 2 169.254.$((9 + i)).2
	done
	check "ping LAN to LAN (gw side to aws side)" \
		lan_gw ping -c 3 -i 0.2 -W 2 $LAN_AWS
	check "ping LAN to LAN (aws side to gw side)" \
		lan_aws ping -c 3 -i 0.2 -W 2 $LAN_GW
}

check_tcp() {
	local port
	for port in 5201 5202; do
		iperf3_server lan_aws -p $port
		check "TCP LAN to LAN (port $port)" \
			lan_gw iperf3 -c $LAN_AWS -p $port -n 200K -M 1000
	done
	iperf3_server lan_gw -p 5203
	check "TCP LAN to LAN, aws side to gw side" \
		lan_aws iperf3 -c $LAN_GW -p 5203 -n 200K
}

# Sixteen UDP flows from the gw LAN: esptun hashes them over both
# tunnels.
check_spread() {
	local a1 a2 b1 b2 p
	a1=$(tunnel_tx 1)
	a2=$(tunnel_tx 2)
	for p in $(seq 6000 6015); do
		lan_gw bash -c "echo x > /dev/udp/$LAN_AWS/$p; echo x > /dev/udp/$LAN_AWS/$p; echo x > /dev/udp/$LAN_AWS/$p"
	done
	b1=$(tunnel_tx 1)
	b2=$(tunnel_tx 2)
	if [ $((b1 - a1)) -gt 0 ] && [ $((b2 - a2)) -gt 0 ] &&
	   [ $((b1 - a1 + b2 - a2)) -ge 48 ]; then
		pass "16 flows spread over both tunnels ($((b1 - a1)) and $((b2 - a2)) packets)"
	else
		fail "16 flows spread over both tunnels: $((b1 - a1)) and $((b2 - a2)) packets"
	fi
}

# ------------------------------------------------------------- rekeys

# rekey_loop N: N rekeys of each CHILD_SA (swanctl --rekey, initiated by
# gw) under a 1 kpps ping from the gw LAN: no loss, and every old SA gone
# from esptun and XFRM.
rekey_loop() {
	local n=$1 i k before pid sent got
	rm -f "$T/ping.out" "$T/ping.stop"
	# Rounds of 1000 pings that each finish (replies in flight are
	# waited for), until the rekeys are done.
	(while [ ! -e "$T/ping.stop" ]; do
		lan_gw ping -q -i 0.001 -c 1000 -W 1 $LAN_AWS
	 done > "$T/ping.out" 2>&1) &
	pid=$!
	for k in $(seq "$n"); do
		for i in 1 2; do
			before=$(spis_swanctl gw t$i)
			sw gw --rekey --child t$i > /dev/null 2>&1 ||
				{ fail "rekey $k of t$i"; break 2; }
			busywait 20 _rekeyed t$i "$before" ||
				{ fail "rekey $k of t$i: SPIs still $before"; break 2; }
		done
	done
	touch "$T/ping.stop"
	wait "$pid"
	sent=$(awk '/packets transmitted/ { s += $1 } END { print s + 0 }' "$T/ping.out")
	got=$(awk '/packets transmitted/ { s += $4 } END { print s + 0 }' "$T/ping.out")
	if [ "$sent" -gt 0 ] && [ "$sent" -eq "$got" ]; then
		pass "$n rekeys of each CHILD_SA under ping -i 0.001: no loss ($sent sent)"
	else
		fail "$n rekeys of each CHILD_SA under ping -i 0.001: $got of $sent answered"
	fi
	busywait 20 _one_sa_pair || true
	for i in 1 2; do
		check_eq "after the rekeys tunnel $i has one SA each way" \
			"$(spis_esptun 10.0.0.$((1 + i)) | wc -w)" 2
	done
	check_spis
}
_rekeyed() { # CHILD OLD: a new CHILD_SA is installed, the old one is gone
	local now
	now=$(spis_swanctl gw "$1")
	[ -n "${now% *}" ] && [ "${now% *}" != "${2% *}" ] &&
		[ "$(sw gw --list-sas 2>/dev/null | grep -c "$1: #.*INSTALLED")" -eq 1 ]
}
_one_sa_pair() {
	[ "$(spis_esptun 10.0.0.2 | wc -w)" -eq 2 ] &&
		[ "$(spis_esptun 10.0.0.3 | wc -w)" -eq 2 ]
}

# A CHILD_SA esptun cannot carry (AES-CBC with HMAC): charon fails it,
# the plugin says why, tunnel 1 and charon carry on.
unsupported() {
	local before
	before=$(spis_esptun 10.0.0.2)
	check_err "a CHILD_SA with AES-CBC fails" "failed|error" \
		sw gw --initiate --child cbc --timeout 15
	[ -z "${IKE_DEBUG:-}" ] || grep -i 'cbc\|esptun\|CHILD' "$T/gw/charon.log" | tail -40
	# swanctl's timeout can end before charon, on a loaded host, gets to
	# the install: the line may come later.
	gw_log "the plugin said why in charon's log" 30 \
		"esptun: cannot install SA .*: esptun does AES-GCM with a 16-byte ICV only"
	check_err "a second CHILD_SA on tunnel 1 fails" "failed|error" \
		sw gw --initiate --child second --timeout 15
	gw_log "the plugin said why: one CHILD_SA per tunnel" 30 \
		"esptun: tunnel [0-9]* (10.0.0.1 - 10.0.0.2) carries the CHILD_SA with reqid [0-9]*: esptun carries one CHILD_SA per tunnel"
	check_err "a CHILD_SA with copy_df = no fails" "failed|error" \
		sw gw --initiate --child nodf --timeout 15
	gw_log "the plugin said why: DF is copied" 30 \
		"esptun: cannot install SA .*: esptun copies DF to the outer header"
	check "narrower traffic selectors are said not to be enforced" grep -q \
		"esptun: SA .*: traffic selectors 10.97.0.0/24 === 10.96.0.0/24 are not enforced" \
		"$T/gw/charon.log"
	# The same as before, or, if a loaded host made gw give the IKE_SA up
	# and start anew meanwhile, charon's new ones: never a mix.
	if busywait 30 _t1_agrees "$before"; then
		pass "tunnel 1's SAs are charon's, as before or anew"
	else
		fail "tunnel 1's SAs: esptun $(spis_esptun 10.0.0.2), charon $(spis_swanctl gw t1), before $before"
	fi
	check_eq "only t1 and t2 are installed on gw" \
		"$(sw gw --list-sas | awk '/INSTALLED, TUNNEL/ { print $1 }' | sort | tr '\n' ' ')" \
		"t1: t2: "
	check "charon still answers" sw gw --stats
}

_t1_agrees() { # BEFORE: esptun's tunnel 1 SAs are BEFORE or charon's t1
	local now
	now=$(spis_esptun 10.0.0.2)
	[ "$now" = "$1" ] || [ "$now" = "$(spis_swanctl gw t1)" ]
}

# ------------------------------------------------------------ failover

_bgp_conns() { # NS NEIGHBOUR: how often the session was established
	vty "$1" "show bgp neighbors $2 json" 2>/dev/null | py '
import json, sys
d = json.load(sys.stdin)
n = list(d.values())[0]
print(n.get("connectionsEstablished", 0), n.get("bgpState"))'
}
_tunnels() { # the remote addresses of gw's tunnels
	gw esptun show esp0 --json | py '
import json, sys
print(" ".join(sorted(t["remote"] for t in json.load(sys.stdin)[0]["tunnels"])))'
}
_tstate() { # REMOTE: "state liveness" of gw's tunnel to REMOTE
	gw esptun show esp0 --json | py '
import json, sys
for t in json.load(sys.stdin)[0]["tunnels"]:
    if t["remote"] == sys.argv[1]:
        print(t["state"], t.get("liveness"))' "$1"
}
_liveness_down() { [ "$(_tstate "$1")" = "down down" ]; }
_tunnels_are() { [ "$(_tunnels)" = "$1" ]; }

# Tunnel 1's peer goes silent (aws drops everything to and from
# 10.0.0.2).  esptun's liveness (dead_after 6 s, fed by BGP's keepalives
# every 3 s) takes tunnel 1 out of service first, so every flow moves to
# tunnel 2; charon's DPD (10 s, AWS's) then restarts the connection,
# which deletes the tunnel; BGP over tunnel 2 stays up throughout; tunnel
# 1 comes back with its peer.
failover() {
	local bgp2
	bgp2=$(_bgp_conns gw 169.254.11.1)
	aws nft -f - <<-EOF
	table ip dead {
		chain in { type filter hook input priority 0; ip daddr 10.0.0.2 drop; }
		chain out { type filter hook output priority 0; ip saddr 10.0.0.2 drop; }
	}
	EOF
	if busywait 15 _liveness_down 10.0.0.2; then
		pass "peer 1 dead: esptun's liveness took tunnel 1 down"
	else
		fail "peer 1 dead: tunnel 1 still $(_tstate 10.0.0.2)"
	fi
	# aws's own route back still has ipsec1 until its BGP hold time
	# (9 s) ends: a flow hashed there waits for that.
	check "peer 1 dead: LAN to LAN over tunnel 2" \
		busywait 15 lan_gw ping -c 2 -i 0.2 -W 1 $LAN_AWS
	if busywait 40 _tunnels_are 10.0.0.3; then
		pass "peer 1 dead: DPD removed tunnel 1 from esp0"
	else
		fail "peer 1 dead: tunnels still $(_tunnels)"
	fi
	check "peer 1 dead: LAN to LAN over tunnel 2, tunnel 1 gone" \
		lan_gw ping -c 3 -i 0.2 -W 2 $LAN_AWS
	check_eq "peer 1 dead: BGP over tunnel 2 stayed up" \
		"$(_bgp_conns gw 169.254.11.1)" "$bgp2"
	aws nft delete table ip dead
	if busywait 60 _tunnels_are "10.0.0.2 10.0.0.3" && busywait 30 _installed 2; then
		pass "peer 1 back: tunnel 1 back on esp0"
	else
		fail "peer 1 back: tunnels $(_tunnels)"
	fi
	if busywait 60 _established gw 2; then
		pass "peer 1 back: BGP over tunnel 1 Established again"
	else
		fail "peer 1 back: BGP $(vty gw 'show bgp summary' 2>&1 | tr '\n' ' ')"
	fi
	check_spis
}

# ------------------------------------------------------------- expires

# gw_log DESC SECONDS PATTERN: wait for PATTERN (grep) in gw's charon log.
gw_log() {
	if busywait "$2" grep -q "$3" "$T/gw/charon.log"; then
		pass "$1"
	else
		fail "$1: no '$3' in charon's log"
	fi
}

# Expire events lost: charon stopped while the events socket overflows
# (tunnel 2's admin state toggled) and tunnel 1's SAs reach their soft
# limit; once charon runs again, the plugin reads the expire back from
# the kernel and charon rekeys.
lost_events() {
	local in1 pid n
	charon_stop gw
	# A long life: the hard limit must not come while charon is stopped.
	REKEY_TIME_1=8s LIFE_TIME_1=600s ike_up gw
	in1=$(spis_swanctl gw t1)
	in1=${in1% *}
	pid=$(cat "$T/gw/charon.pid")
	gw esptun tunnel add esp0 id 99 local 10.0.0.1 remote 10.0.0.99
	gw esptun sa add esp0 tunnel 99 dir out spi 0x99 key "$(new_key)"
	kill -STOP "$pid"
	if n=$(_overflow 2>&1); then
		pass "lost events: charon's socket overflowed after $n toggles"
	else
		fail "lost events: $n"
	fi
	gw esptun tunnel del esp0 id 99
	busywait 20 _expired 10.0.0.2 "0x$in1" soft ||
		fail "tunnel 1's inbound SA did not reach its soft limit"
	kill -CONT "$pid"
	gw_log "lost events: the plugin read tunnel 1's expire back" 10 \
		"events were lost.*[1-9] expired SA(s) read back from the kernel"
	gw_log "lost events: charon rekeyed tunnel 1 all the same" 10 \
		"creating rekey job for CHILD_SA ESP/0x$in1"
	busywait 20 _rekeyed t1 "$in1 x" ||
		fail "tunnel 1 rekeyed: still $(spis_swanctl gw t1)"
}
# _overflow: state events of tunnel 99 (charon has no SA of it: it ignores
# them) until the kernel drops one for a full socket in gw, charon's while
# it is stopped; prints how many down/up toggles that took.  In one
# process: how many it takes depends on the socket's buffer, and the
# tool's start-up under TCG would make it last long enough to reach the
# SAs' limits.
_overflow() {
	gw python3 -S - "$SELFTESTS" <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import esptun_nl, nlraw
	def drops():
	    with open("/proc/net/netlink") as f:
	        return sum(int(line.split()[8]) for line in list(f)[1:])
	g = nlraw.Genl()
	fam = g.family(esptun_nl.FAMILY)
	before = drops()
	for i in range(1, 2001):
	    for state in (0, 1):
	        req = nlraw.encode("ifname:str:esp0") + nlraw.encode(
	            "tunnel:nest:id/u32/99,admin-state/u8/%d" % state)
	        err, text, _ = g.request(fam, esptun_nl.OPS["tunnel-set"], req,
	                                 nlraw.NLM_F_ACK)
	        if err:
	            sys.exit("tunnel set failed: %d %s" % (err, text))
	    if drops() > before:
	        print(i)
	        sys.exit(0)
	sys.exit("no socket in gw overflowed after 2000 toggles")
	EOF
}
_expired() { # REMOTE SPI STATE: gw's SA SPI to REMOTE has expire STATE
	[ "$(gw esptun show esp0 --json | py '
import json, sys
for t in json.load(sys.stdin)[0]["tunnels"]:
    for s in t["sas"]:
        if t["remote"] == sys.argv[1] and s["spi"] == int(sys.argv[2], 16):
            print(s.get("expire"))' "$1" "$2")" = "$3" ]
}

# gw's charon again, with tunnel 1 rekeyed after 5 s (esptun's soft
# expire of the inbound SA) and tunnel 2 without rekeying, living 8 s
# (esptun's hard expire).
expires() {
	local in1 in2
	lost_events
	charon_stop gw
	# No check_spis: with SAs this short-lived, a loaded host's reads of
	# gw and aws can straddle a rekey.
	REKEY_TIME_1=5s LIFE_TIME_1=60s REKEY_TIME_2=0 LIFE_TIME_2=8s ike_up gw
	in1=$(spis_swanctl gw t1)
	in1=${in1% *}
	in2=$(spis_swanctl gw t2)
	in2=${in2% *}
	gw_log "esptun's soft expire of $in1 made charon rekey" 20 \
		"creating rekey job for CHILD_SA ESP/0x$in1"
	busywait 20 _rekeyed t1 "$in1 x" ||
		fail "tunnel 1 rekeyed: still $(spis_swanctl gw t1)"
	gw_log "esptun's hard expire of $in2 made charon delete it" 20 \
		"creating delete job for CHILD_SA ESP/0x$in2"
	# charon then creates the CHILD_SA anew (child_delete.c: "recreate
	# after hard expire").
	if busywait 20 _replaced 10.0.0.3 "$in2"; then
		pass "the expired SAs are gone from esp0, the new CHILD_SA is there"
	else
		fail "after the hard expire, tunnel 2 has $(spis_esptun 10.0.0.3)"
	fi
	charon_stop gw
}

# ----------------------------------------------------------------- NAT

# gw behind a NAT: UDP encapsulation on port 4500, shared by charon's
# socket and esptun; then the NAT maps gw to another port, and the SAs
# carry on.
nat() {
	local sp before
	teardown
	topology nat
	IKE_LIVENESS= ike_up
	check_spis
	check_eq "behind NAT: both tunnels encapsulate, from charon's port 4500" \
		"$(gw esptun show esp0 --json | py 'import json,sys; print(sorted(set((t["encap"], t.get("sport"), t.get("dport")) for t in json.load(sys.stdin)[0]["tunnels"])))')" \
		"[('udp', 4500, 4500)]"
	gw_log "behind NAT: the plugin hands charon's socket to the tunnels" 1 \
		"esptun: added tunnel .*UDP on charon's socket"
	check "behind NAT: ping over tunnel 1" gw ping -c 2 -i 0.2 -W 2 169.254.10.1
	check "behind NAT: ping from aws over tunnel 2" aws ping -c 2 -i 0.2 -W 2 169.254.11.2
	before=$(spis_swanctl gw t1)
	udp_masquerade nat veth0 20000-20099
	ip netns exec nat conntrack -F >/dev/null 2>&1
	# gw's next packets leave from a new port; aws's charon learns it
	# (XFRM's mapping event) and moves its SAs there.
	gw ping -c 3 -i 0.3 -W 1 169.254.10.1 >/dev/null 2>&1
	if busywait 30 _nat_port_moved; then
		pass "NAT rebinding: aws follows gw to port $(_aws_encap_port)"
	else
		fail "NAT rebinding: aws still sends to port $(_aws_encap_port)"
	fi
	check "after rebinding: ping from aws over tunnel 1" \
		aws ping -c 3 -i 0.2 -W 2 169.254.10.2
	check "after rebinding: ping over tunnel 1" gw ping -c 3 -i 0.2 -W 2 169.254.10.1
	check_eq "after rebinding: the same SAs" "$(spis_swanctl gw t1)" "$before"
	charon_stop gw
	charon_stop aws
}
_aws_encap_port() {
	aws ip xfrm state list src 10.0.0.2 dst 10.0.0.1 |
		sed -n 's/.*encap type espinudp sport [0-9]* dport \([0-9]*\).*/\1/p'
}
_replaced() { # REMOTE OLD_IN: OLD_IN is gone, a new pair is there
	local now
	now=$(spis_esptun "$1")
	[ "$(wc -w <<<"$now")" -eq 2 ] && [[ " $now " != *" $2 "* ]]
}
_nat_port_moved() { local p; p=$(_aws_encap_port); [ -n "$p" ] && [ "$p" -ge 20000 ] && [ "$p" -le 20099 ]; }

# --------------------------------------------------------------- IKEv1

ikev1() {
	local before now
	charon_stop aws
	IKE_VERSION=1 ike_up
	check_spis
	check "IKEv1: ping over tunnel 1" gw ping -c 2 -i 0.2 -W 2 169.254.10.1
	check "IKEv1: ping over tunnel 2" aws ping -c 2 -i 0.2 -W 2 169.254.11.2
	before=$(spis_swanctl gw t1)
	sw gw --rekey --child t1 > /dev/null 2>&1 || fail "IKEv1: swanctl --rekey"
	busywait 20 _rekeyed t1 "$before" || fail "IKEv1: t1 still $before"
	# IKEv1 keeps the rekeyed SAs until they expire (charon's
	# delete_rekeyed = no, as on XFRM): esptun has the new inbound SA
	# besides the old, and only the new outbound one.
	now=$(spis_swanctl gw t1)
	check_eq "IKEv1 rekey: esptun sends with the new outbound SA" \
		"$(spis_esptun 10.0.0.2 | awk '{ print $NF }')" "${now#* }"
	check_eq "IKEv1 rekey: esptun has the new inbound SA" \
		"$(spis_esptun 10.0.0.2 | tr ' ' '\n' | grep -c "^${now% *}$")" 1
	check "IKEv1: ping over tunnel 1 after the rekey" gw ping -c 2 -i 0.2 -W 2 169.254.10.1
	charon_stop gw
	charon_stop aws
}

# ------------------------------------------------------------- install

# charon as Debian starts it (its own strongswan.conf, load_modular)
# with what `make install` adds: the plugin and kernel-esptun.conf, whose
# load = 2 puts kernel-esptun ahead of kernel-netlink.
installed() {
	local d=$T/modular
	mkdir -p "$d"
	cp -a /etc/strongswan.d "$d/"
	cp "$ESPTUN_REPO/userspace/strongswan/kernel-esptun.conf" \
		"$d/strongswan.d/charon/"
	printf 'charon {\n filelog {\n log {\n path = %s\n flush_line = yes\n default = 1\n }\n }\n}\n' \
		"$d/charon.log" > "$d/strongswan.d/zz-ike-sh-log.conf"
	charon_run gw "$d" "mount --bind $d/strongswan.d /etc/strongswan.d &&"
	if busywait 15 grep -q 'esptun: kernel-ipsec backend on esp0' "$d/charon.log"; then
		pass "installed: Debian's charon takes kernel-esptun as its kernel-ipsec backend"
	else
		fail "installed: no kernel-esptun backend in $(tr '\n' ' ' < "$d/charon.log")"
	fi
	check_eq "installed: kernel-esptun loads before kernel-netlink" \
		"$(sed -n 's/.*loaded plugins: //p' "$d/charon.log" | tr ' ' '\n' |
		   grep -n '^kernel-esptun$\|^kernel-netlink$' | cut -d: -f2 | tr '\n' ' ')" \
		"kernel-esptun kernel-netlink "
	charon_stop modular
}

# ---------------------------------------------------------------- main

topology
ike_up
check_spis
check_eq "esptun's inbound SAs have AWS's replay window" \
	"$(gw esptun show esp0 --json | py 'import json,sys; print(sorted(set(s.get("replay_window") for t in json.load(sys.stdin)[0]["tunnels"] for s in t["sas"] if s["dir"] == "in")))')" \
	"[1024]"
bgp_up
if phase traffic; then
	check_pings
	check_tcp
	check_spread
fi
phase unsupported && unsupported
phase rekey && rekey_loop "${IKE_REKEYS:-3}"
phase failover && failover
if phase stop; then
	charon_stop gw
	check_eq "charon stopped: no tunnel left on esp0" "$(_tunnels)" ""
	check_eq "charon stopped: no route left in table 220" \
		"$(gw ip route show table 220 2>/dev/null)" ""
	check_eq "charon stopped: no XFRM state or policy on gw" \
		"$(gw ip xfrm state; gw ip xfrm policy)" ""
fi
phase install && installed
phase expire && expires
phase ikev1 && ikev1
phase nat && nat
finish
