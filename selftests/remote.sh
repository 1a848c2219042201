#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Moving a tunnel's remote end in place (TUNNEL_SET remote, dport), as an
# IKE daemon does when MOBIKE or a NAT moves the peer: the SAs stay, their
# sequence numbers go on, and the packets go to the new address at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/topology.sh"
require_module

topo_setup 4
check "traffic to the peer at 10.0.0.2" gw ping -q -c 3 -i 0.1 -W 2 $PEER4
seq0=$(jget 'sa("out", 0x1000)["seq"]')

# The peer moves to 10.0.0.4 with its SAs, as an IKE daemon's MOBIKE
# update moves XFRM's: same SPIs and keys, its outbound sequence numbers
# going on (XFRM keys a state by destination and SPI: the outbound one is
# replaced).
oseq=$(ip -n peer xfrm state get src $PEER_OUT dst $GW_OUT proto esp spi $SPI_IN |
	sed -n 's/.*oseq \(0x[0-9a-f]*\).*/\1/p')
ip -n peer addr add 10.0.0.4/24 dev veth0
ip -n peer xfrm state delete src $PEER_OUT dst $GW_OUT proto esp spi $SPI_IN
peer_xfrm_state $SPI_OUT $GW_OUT 10.0.0.4 $KEY_OUT
peer_xfrm_state $SPI_IN 10.0.0.4 $GW_OUT $KEY_IN replay-oseq "$oseq"
ip -n peer xfrm policy flush
PEER_OUT=10.0.0.4 peer_xfrm_policy 172.16.0.0/24 172.16.1.0/24

check "the tunnel's remote end moves" gw esptun tunnel set esp0 id 1 remote 10.0.0.4
check_eq "show has the new remote" "$(jget 't["remote"]')" 10.0.0.4
check "traffic flows again at once" gw ping -q -c 3 -i 0.1 -W 2 $PEER4
check_eq "through the new address" "$(peer_xfrm_packets $SPI_OUT $GW_OUT 10.0.0.4)" 3
check_eq "the same SAs" \
	"$(jget 'sorted((s["dir"], hex(s["spi"])) for s in t["sas"])')" \
	"[('in', '0x2000'), ('out', '0x1000')]"
check_eq "whose sequence numbers went on" "$(jget 'sa("out", 0x1000)["seq"]')" "$((seq0 + 3))"

# What a move cannot do.
gw esptun tunnel add esp0 id 2 local $GW_OUT remote 10.0.0.5
check_err "onto another tunnel's pair of addresses" \
	"a tunnel already joins these local and remote addresses" \
	gw esptun tunnel set esp0 id 1 remote 10.0.0.5
check_eq "and the failed move changed nothing" "$(jget 't["remote"]')" 10.0.0.4
check_err "to another family" "the remote address must be of the tunnel's family" \
	gw esptun tunnel set esp0 id 1 remote fd00::9
check_err "to an address that is no unicast one" "outer addresses must be unicast" \
	gw esptun tunnel set esp0 id 1 remote 224.0.0.1
check_err "a remote port without encap udp" "encap-dport needs a tunnel with encap udp" \
	gw esptun tunnel set esp0 id 1 dport 4501
gw esptun tunnel del esp0 id 2

# With UDP encapsulation the remote port moves too.
gw esptun tunnel add esp0 id 3 local $GW_OUT remote 10.0.0.6 encap udp
check "remote and port move together" gw esptun tunnel set esp0 id 3 remote 10.0.0.7 dport 4501
check_eq "show has both" \
	"$(gw esptun show esp0 --json | py '
import json, sys
t = [x for x in json.load(sys.stdin)[0]["tunnels"] if x["id"] == 3][0]
print(t["remote"], t["dport"])')" "10.0.0.7 4501"
check_err "port 0" "UDP port 0 is not valid" gw esptun tunnel set esp0 id 3 dport 0
finish
