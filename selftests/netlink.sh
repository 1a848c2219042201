#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The esptun generic netlink family: strict attribute validation with
# extack text, and CAP_NET_ADMIN in the device's namespace for every command.
. "$(dirname "$0")/lib.sh"
require_module
nlraw=$ESPTUN_REPO/selftests/nlraw.py

new_netns a
ip -n a link add esp0 type esptun
ip -n a link add esp1 type esptun
ip -n a link add dummy0 type dummy 2>/dev/null || ip -n a link add dummy0 type veth
idx0=$(ip netns exec a cat /sys/class/net/esp0/ifindex)
raw() { ip netns exec a "$nlraw" "$@"; }

check_eq "well-formed get by ifindex" "$(raw dev-get 1:u32:"$idx0")" "ok 1"
check_eq "well-formed get by name" "$(raw dev-get 2:str:esp1)" "ok 1"
check_eq "well-formed dump" "$(raw --dump dev-get)" "ok 2"
check_eq "filtered dump" "$(raw --dump dev-get 2:str:esp1)" "ok 1"

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
expect "ifindex of 2 bytes refused" '^error EINVAL: .+' dev-get 1:u16:"$idx0"
expect "ifindex 0 out of range" '^error ERANGE: .+' dev-get 1:u32:0
expect "unknown attribute refused (strict)" '^error EINVAL: .+' dev-get 1:u32:"$idx0" 200:u32:1
expect "attribute type 0 refused" '^error EINVAL: .+' dev-get 0:u32:1 1:u32:"$idx0"
expect "ifname of 16 bytes refused" '^error EINVAL: .+' dev-get 2:str:abcdefghijklmnop
expect "ifname without NUL refused" '^error EINVAL: .+' dev-get 2:raw:esp0
expect "truncated attribute refused" '^error EINVAL' dev-get 1:hex:0800
expect "no device named" '^error EINVAL: a device is required' dev-get
expect "ifindex and ifname of different devices" \
	'^error EINVAL: ifindex and ifname name different devices' dev-get 1:u32:"$idx0" 2:str:esp1
expect "unknown device" '^error ENODEV: no such device' dev-get 2:str:nope
expect "not an esptun device" '^error (EOPNOTSUPP|ENOTSUP): not an esptun device' dev-get 2:str:dummy0
expect "malformed dump filter refused" '^error EINVAL: .+' --dump dev-get 1:u16:1
expect "non-zero reserved header field refused" '^error EINVAL' --reserved 1 dev-get 2:str:esp0
expect "unknown command refused" '^error (EOPNOTSUPP|ENOTSUP)' 99

# Without CAP_NET_ADMIN: every command is refused, the dump too.
drop="setpriv --inh-caps=-net_admin --bounding-set=-net_admin"
check_eq "get without CAP_NET_ADMIN refused" \
	"$(ip netns exec a $drop "$nlraw" dev-get 2:str:esp0)" "error EPERM: "
check_eq "dump without CAP_NET_ADMIN refused" \
	"$(ip netns exec a $drop "$nlraw" --dump dev-get)" "error EPERM: "
check_err "the tool says so" "^esptun: show: Operation not permitted$" \
	ip netns exec a $drop esptun show
# An unprivileged user namespace has no CAP_NET_ADMIN over netns a.
check_eq "user namespace without rights over the netns refused" \
	"$(ip netns exec a unshare -U -r "$nlraw" --dump dev-get)" "error EPERM: "
# ...but owns the network namespace it creates: CAP_NET_ADMIN there.
check_eq "owner of a new user+net namespace may create and list" \
	"$(unshare -U -r -n sh -c "ip link add esp9 type esptun && $nlraw --dump dev-get && esptun show")" \
	"ok 1
interface: esp9"
finish
