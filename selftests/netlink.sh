#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The esptun generic netlink family: strict attribute validation with
# extack text, and CAP_NET_ADMIN in the device's namespace for every command.
. "$(dirname "$0")/lib.sh"
require_module
nlraw=$SELFTESTS/nlraw.py

new_netns a
ip -n a link add esp0 type esptun
ip -n a link add esp1 type esptun
ip -n a link add dummy0 type dummy 2>/dev/null || ip -n a link add dummy0 type veth
idx0=$(ip netns exec a cat /sys/class/net/esp0/ifindex)
raw() { pyfile -n a "$nlraw" "$@"; }

check_eq "well-formed get by ifindex" "$(raw dev-get ifindex:u32:"$idx0")" "ok 1"
check_eq "well-formed get by name" "$(raw dev-get ifname:str:esp1)" "ok 1"
check_eq "well-formed dump" "$(raw --dump dev-get)" "ok 2"
check_eq "filtered dump" "$(raw --dump dev-get ifname:str:esp1)" "ok 1"
check_eq "DEV_GET says what the module supports" \
	"$(ip netns exec a esptun show esp0 --json | py 'import json,sys; print(" ".join(json.load(sys.stdin)[0]["features"]))')" \
	"esn lifetime pins liveness udp-encap spi-alloc encap-socket"

expect() { # DESC EXPECTED-REGEX nlraw-args...
	local desc=$1 pat=$2 out
	shift 2
	out=$(raw "$@")
	if grep -Eq -- "$pat" <<<"$out"; then
		pass "$desc ($out)"
	else
		fail "$desc: got \"$out\", expected /$pat/"
	fi
}
expect "ifindex of 2 bytes refused" '^error EINVAL: .+' dev-get ifindex:u16:"$idx0"
expect "ifindex 0 out of range" '^error ERANGE: .+' dev-get ifindex:u32:0
expect "unknown attribute refused (strict)" '^error EINVAL: Unknown attribute type' \
	dev-get ifindex:u32:"$idx0" 200:u32:1
expect "attribute type 0 refused" '^error EINVAL: .+' dev-get 0:u32:1 ifindex:u32:"$idx0"
expect "ifname of 16 bytes refused" '^error EINVAL: .+' dev-get ifname:str:abcdefghijklmnop
expect "ifname without NUL refused" '^error EINVAL: .+' dev-get ifname:raw:esp0
expect "truncated attribute refused" '^error EINVAL' dev-get ifindex:hex:0800
expect "no device named" '^error EINVAL: a device is required' dev-get
check_eq "the missing attribute named" "$(raw dev-get | sed -n 2p)" "missing ifindex"
expect "ifindex and ifname of different devices" \
	'^error EINVAL: ifindex and ifname name different devices' \
	dev-get ifindex:u32:"$idx0" ifname:str:esp1
expect "unknown device" '^error ENODEV: no such device' dev-get ifname:str:nope
expect "not an esptun device" '^error (EOPNOTSUPP|ENOTSUP): not an esptun device' \
	dev-get ifname:str:dummy0
expect "malformed dump filter refused" '^error EINVAL: .+' --dump dev-get ifindex:u16:1
expect "non-zero reserved header field refused" '^error EINVAL' --reserved 1 dev-get ifname:str:esp0
expect "unknown command refused" '^error (EOPNOTSUPP|ENOTSUP)' 99
expect "a notification is not a command" '^error (EOPNOTSUPP|ENOTSUP)' tunnel-state-ntf

# Nested attributes of the configuration commands are just as strict: each
# command's policy (generated from uapi/esptun.yaml) has only what it takes.
expect "a nest without NLA_F_NESTED" '^error EINVAL: NLA_F_NESTED is missing' \
	tunnel-new ifname:str:esp0 tunnel:flatnest:id/u32/1
# The core answers ERANGE for lengths outside a binary policy's bounds.
expect "tunnel with a 15-byte IPv6 address" '^error ERANGE: binary attribute size out of range' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,local-ipv6/hex/$(printf '00%.0s' $(seq 15))
expect "tunnel with an unknown nested attribute" '^error EINVAL: Unknown attribute type' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,30/u32/1
expect "tunnel state is not settable" '^error EINVAL: Unsupported attribute' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,state/u8/1
expect "tunnel without its nest" '^error EINVAL: a tunnel attribute is required' \
	tunnel-new ifname:str:esp0
check_eq "named as missing" "$(raw tunnel-new ifname:str:esp0 | sed -n 2p)" "missing tunnel"
expect "tunnel without addresses" '^error EINVAL: one local address' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1
check_eq "named as missing in the nest" \
	"$(raw tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1 | sed -n 2p)" "missing tunnel.local-ipv4"
check_eq "a tunnel id named as missing" \
	"$(raw tunnel-del ifname:str:esp0 tunnel:nest: | sed -n 2p)" "missing tunnel.id"
expect "tunnel weight 0" '^error ERANGE: .+' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,weight/u8/0
expect "a new tunnel's admin state" '^error EINVAL: Unsupported attribute' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,local-ipv4/be32/0x0a000001,remote-ipv4/be32/0x0a000002,admin-state/u8/0
expect "an encapsulation beyond udp" '^error ERANGE: .+' \
	tunnel-new ifname:str:esp0 tunnel:nest:id/u32/1,local-ipv4/be32/0x0a000001,remote-ipv4/be32/0x0a000002,encap/u8/2
expect "a tunnel's local address cannot be set" "^error EINVAL: Unsupported attribute" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,local-ipv4/be32/0x0a000002
expect "a remote address, one" "^error EINVAL: one remote address \\(IPv4 or IPv6\\), not two" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,remote-ipv4/be32/0x0a000002,remote-ipv6/hex/$(printf '00%.0s' $(seq 15))01
expect "a tunnel's encapsulation cannot be set" "^error EINVAL: Unsupported attribute" \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,encap/u8/1
expect "deleting takes an id only" '^error EINVAL: Unknown attribute type' \
	tunnel-del ifname:str:esp0 tunnel:nest:id/u32/1,weight/u8/3
expect "setting a missing tunnel" '^error ENOENT: no tunnel with this id' \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/77,weight/u8/3
expect "keepalive of one byte refused" '^error (EINVAL|ERANGE): .+' \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,keepalive/u8/1
expect "pins without NLA_F_NESTED refused" '^error EINVAL: .+' \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,pins/hex/080001000a000001
expect "a tunnel's share is not settable" '^error EINVAL: Unsupported attribute' \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,share/u32/1
expect "nor its liveness" '^error EINVAL: Unsupported attribute' \
	tunnel-set ifname:str:esp0 tunnel:nest:id/u32/1,liveness/u8/1
expect "SA direction out of range" '^error ERANGE: .+' \
	sa-new ifname:str:esp0 sa:nest:tunnel-id/u32/1,dir/u8/2
expect "SA key over 36 bytes" '^error ERANGE: .+' \
	sa-new ifname:str:esp0 sa:nest:key/hex/$(printf '11%.0s' $(seq 37))
expect "SA key under 20 bytes" '^error ERANGE: .+' \
	sa-new ifname:str:esp0 sa:nest:key/hex/$(printf '11%.0s' $(seq 19))
expect "SA replay window over 4096" '^error ERANGE: .+' \
	sa-new ifname:str:esp0 sa:nest:replay-window/u32/4097
expect "SPI 0" '^error ERANGE: .+' \
	sa-new ifname:str:esp0 sa:nest:spi/be32/0
expect "SA stats are not settable" '^error EINVAL: Unsupported attribute' \
	sa-new ifname:str:esp0 sa:nest:stats/u32/1
expect "nor is the pad attribute" '^error EINVAL: Unsupported attribute' \
	sa-new ifname:str:esp0 sa:nest:pad/u32/0
expect "SA without its required attributes" '^error EINVAL: tunnel id, direction, SPI and key' \
	sa-new ifname:str:esp0 sa:nest:tunnel-id/u32/1
check_eq "the first one named" \
	"$(raw sa-new ifname:str:esp0 sa:nest:tunnel-id/u32/1,dir/u8/0 | sed -n 2p)" "missing sa.spi"
expect "deleting an SA takes dir and spi only" '^error EINVAL: Unknown attribute type' \
	sa-del ifname:str:esp0 sa:nest:dir/u8/0,spi/be32/1,key/hex/00
expect "device stats are not settable" '^error EINVAL: .+' \
	sa-new ifname:str:esp0 stats:nest:
expect "a DEV_GET attribute set of its own" '^error EINVAL: .+' \
	dev-get ifname:str:esp0 tunnel:nest:id/u32/1

# SPIs travel big-endian, as XFRM holds them: 0x00001234 added raw is the
# SPI the tool (host order in libesptun's API) finds and prints.
ip netns exec a esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
check_eq "an SA added with a big-endian SPI" \
	"$(raw sa-new ifname:str:esp0 sa:nest:tunnel-id/u32/1,dir/u8/0,spi/be32/0x1234,key/hex/$(printf '11%.0s' $(seq 20)))" \
	"ok 0"
check_eq "is SPI 0x1234 to the tool" \
	"$(ip netns exec a esptun sa get esp0 dir in spi 0x1234 --json | py 'import json,sys; print(hex(json.load(sys.stdin)["spi"]))')" \
	"0x1234"
check_eq "and the byte-swapped SPI is not there" \
	"$(raw sa-get ifname:str:esp0 sa:nest:dir/u8/0,spi/u32/0x1234)" \
	"error ENOENT: no SA with this direction and SPI"
check_eq "SA_GET by the big-endian SPI" \
	"$(raw sa-get ifname:str:esp0 sa:nest:dir/u8/0,spi/be32/0x1234)" "ok 1"
ip netns exec a esptun tunnel del esp0 id 1

# SPI_ALLOC, as XFRM's ALLOCSPI: a free inbound SPI, reserved for the device.
a() { in_ns a "$@"; }
K=0x$(printf '11%.0s' $(seq 20))
a ip xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x5000 mode tunnel \
	aead 'rfc4106(gcm(aes))' $K 128
a esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
a esptun tunnel add esp1 id 1 local 10.0.0.3 remote 10.0.0.4
spi=$(a esptun sa alloc-spi esp0)
check "an SPI from the default range ($spi)" test $((spi)) -ge 256
check "an inbound SA of its device takes it" a esptun sa add esp0 tunnel 1 dir in spi "$spi" key $K
check_err "an SPI an XFRM state holds is never given" "no free SPI in the range" \
	a esptun sa alloc-spi esp0 min 0x5000 max 0x5000
check_eq "a range of one free SPI gives it" "$(a esptun sa alloc-spi esp0 min 0x5001 max 0x5001)" 0x00005001
check_err "and only once" "no free SPI in the range" a esptun sa alloc-spi esp1 min 0x5001 max 0x5001
check_err "another device cannot take it" "the SPI is reserved for another device" \
	a esptun sa add esp1 tunnel 1 dir in spi 0x5001 key $K
check "its own device can" a esptun sa add esp0 tunnel 1 dir in spi 0x5001 key $K
check_err "an SPI an SA holds is never given" "no free SPI in the range" \
	a esptun sa alloc-spi esp0 min 0x5001 max 0x5001
check_err "a range upside down" "spi-min is above spi-max" a esptun sa alloc-spi esp0 min 0x6000 max 0x5000
check_eq "raw: one reply" "$(raw spi-alloc ifname:str:esp0 sa:nest:spi-min/be32/0x5002,spi-max/be32/0x5002)" "ok 1"
expect "SPI_ALLOC takes a range only" '^error EINVAL: (Unknown attribute type|Unsupported attribute)' \
	spi-alloc ifname:str:esp0 sa:nest:spi/be32/5
check_eq "a device's reservation" "$(a esptun sa alloc-spi esp1 min 0x5003 max 0x5003)" 0x00005003
a ip link del esp1
a ip link add esp1 type esptun
check "goes with the device" a esptun sa add esp0 tunnel 1 dir in spi 0x5003 key $K
a esptun tunnel del esp0 id 1
a ip xfrm state flush

# Without CAP_NET_ADMIN: every command is refused, the dump too.
drop="setpriv --inh-caps=-net_admin --bounding-set=-net_admin"
check_eq "get without CAP_NET_ADMIN refused" \
	"$(ip netns exec a $drop "$nlraw" dev-get 2:str:esp0)" "error EPERM: "
check_eq "dump without CAP_NET_ADMIN refused" \
	"$(ip netns exec a $drop "$nlraw" --dump dev-get)" "error EPERM: "
check_err "the tool says so" "^esptun: show: Operation not permitted$" \
	ip netns exec a $drop esptun show
check_err "configuration too" "Operation not permitted" \
	ip netns exec a $drop esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
# (A monitor that joins would wait for events: the timeout says so.)
check_err "nor may it listen to events" "cannot join the events group: Operation not permitted" \
	ip netns exec a $drop timeout 10 esptun monitor
# An unprivileged user namespace has no CAP_NET_ADMIN over netns a.
check_eq "user namespace without rights over the netns refused" \
	"$(ip netns exec a unshare -U -r "$nlraw" --dump dev-get)" "error EPERM: "
# ...but owns the network namespace it creates: CAP_NET_ADMIN there.
check_eq "owner of a new user+net namespace may create and list" \
	"$(unshare -U -r -n sh -c "ip link add esp9 type esptun && $nlraw --dump dev-get && esptun show")" \
	"ok 1
interface: esp9"
# A request's keys do not stay in the kernel's copy of it, in any of the
# SA nests it repeats: the copy an error's ACK carries back shows none.
k1=00112233445566778899aabbccddeeff01020304
k2=ffeeddccbbaa99887766554433221100a0b0c0d0
out=$(raw --echo sa-new ifname:str:esp0 \
	"sa:nest:tunnel-id/u32/77,dir/u8/1,spi/be32/0x7777,key/hex/$k1" \
	"sa:nest:tunnel-id/u32/77,dir/u8/1,spi/be32/0x7778,key/hex/$k2")
check_eq "an SA request naming no tunnel fails, its ACK carrying the request" \
	"$(grep -c -e '^error ENOENT' -e '^echo ' <<<"$out")" 2
check_eq "no key in the request after it, from either SA nest" \
	"$(grep -ci -e "$k1" -e "$k2" <<<"$out")" 0
# Nor when esptun refuses it before its handler (no such device; no
# rights over the device's namespace: userns.sh).
out=$(raw --echo sa-new ifname:str:nosuch0 \
	"sa:nest:tunnel-id/u32/1,dir/u8/1,spi/be32/0x7777,key/hex/$k1")
check_eq "no such device: refused, the ACK carrying the request without the key" \
	"$(grep -c -e '^error ENODEV' -e '^echo ' <<<"$out") $(grep -ci -e "$k1" <<<"$out")" "2 0"

# Dumps in one namespace are not interrupted (NLM_F_DUMP_INTR) by changes
# in another: the generation count is per namespace, or a tenant's churn
# would keep the host's dumps from completing.  In a, a dump of 255
# tunnels (several messages); SA churn in b, then in a itself.
new_netns b
ip -n b link add esp0 type esptun
ip netns exec b esptun tunnel add esp0 id 1 local 10.0.0.1 remote 10.0.0.2
ip netns exec a esptun tunnel add esp1 id 1 local 10.0.0.1 remote 10.0.0.2
add_tunnels a esp1 2 255 10.0.0.1
dumps() { # NS all|first: dumps of esp1 in a while NS churns (all 30, or
	# until the first interrupted one): "DUMPS INTERRUPTED"
	local pid out log=/tmp/netlink-churn.$$
	# --until-gone for its "started": the dumps begin once it churns.
	ip netns exec "$1" python3 "$SELFTESTS/churn.py" esp"$([ "$1" = a ] && echo 1 || echo 0)" \
		1 0x1000 1000000 --until-gone > "$log" &
	pid=$!
	busywait 30 grep -q started "$log" || fail "SA churn in $1 did not start: $(cat "$log")"
	out=$(ip netns exec a python3 -S - "$SELFTESTS" "$2" <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import esptun_nl, nlraw
	g = nlraw.Genl()
	fam = g.family(esptun_nl.FAMILY)
	get = esptun_nl.OPS["dev-get"]
	ifname = nlraw.encode("ifname:str:esp1")
	n = intr = 0
	for n in range(1, 31):
	    err, text, replies = g.request(fam, get, ifname, nlraw.NLM_F_DUMP)
	    if err or len(replies) < 2:
	        sys.exit("dump: error %d %s, %d messages" % (err, text, len(replies)))
	    intr += g.dump_intr
	    if intr and sys.argv[2] == "first":
	        break
	print(n, intr)
	EOF
	)
	kill "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$log"
	echo "$out"
}
out=$(dumps b all)
check_eq "30 dumps in a, none interrupted by SA churn in b" "${out#* }" 0
out=$(dumps a first)
if [ "${out#* }" = 1 ]; then
	pass "SA churn in a itself does interrupt a dump (after ${out% *})"
else
	fail "30 dumps in a, none interrupted by SA churn in a: $out"
fi
finish
