#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The generic netlink family under fuzz (selftests/nlfuzz.py): every
# command with each attribute missing, mistyped, of the wrong length, out
# of range, duplicated and wrongly nested, then NLFUZZ_COUNT (10000)
# random requests from the seed NLFUZZ_SEED (default 1), mostly almost
# valid, against devices with tunnels and SAs; as root, then as the root of
# an unprivileged user namespace (unshare -Urn) on devices of its own, then
# from there on a device moved in from the initial user namespace, which
# it may read but not change (userns.sh).  Every request is answered, every
# reply is well formed, a request no policy can accept is refused, nothing
# changes on a refusal, and every tunnel and SA created is freed.
. "$(dirname "$0")/lib.sh"
require_module

SEED=${NLFUZZ_SEED:-1}
COUNT=${NLFUZZ_COUNT:-10000}
# The user namespace runs are smaller: the policy and the handlers are the
# same, what differs is who asks.
UCOUNT=${NLFUZZ_USERNS_COUNT:-1000}
NLFUZZ=$ESPTUN_REPO/selftests/nlfuzz.py
log "seed $SEED (NLFUZZ_SEED), $COUNT random requests as root (NLFUZZ_COUNT)"

# dummy0 is the device that is not esptun's, and holds the addresses the
# baseline's UDP-encapsulated tunnel binds.
fuzz_netns_setup() {
	ip link add dummy0 type dummy &&
	ip addr add 10.0.0.1/24 dev dummy0 &&
	ip addr add 10.0.1.1/24 dev dummy0 &&
	ip addr add fd00::1/64 dev dummy0 nodad &&
	ip addr add fd01::1/64 dev dummy0 nodad &&
	ip link set dummy0 up &&
	ip link add esp0 type esptun &&
	ip link add esp1 type esptun
}

leak_mark

new_netns nlf
if ip netns exec nlf bash -c "$(declare -f fuzz_netns_setup); fuzz_netns_setup"; then
	pass "root: a netns with esp0, esp1 and dummy0"
else
	fail "root: netns setup"
fi
start=$SECONDS
if ip netns exec nlf "$NLFUZZ" --seed "$SEED" --random "$COUNT" esp0 esp1; then
	pass "root: $COUNT random requests and the systematic ones, no finding ($((SECONDS - start)) s)"
else
	fail "root: the fuzzer's findings above"
fi
ip netns del nlf

# The root of an unprivileged user namespace, on devices of its own.
start=$SECONDS
if unshare -Urn bash -c "$(declare -f fuzz_netns_setup); fuzz_netns_setup &&
	exec \"$NLFUZZ\" --no-systematic --seed $((SEED + 1)) --random $UCOUNT esp0 esp1"; then
	pass "unprivileged user namespace, own devices: $UCOUNT random requests, no finding ($((SECONDS - start)) s)"
else
	fail "unprivileged user namespace, own devices: the fuzzer's findings above"
fi

# A device created by root in netns host (its tunnels and SAs there),
# moved into the unprivileged netns: from there every change is refused.
new_netns host
ip netns exec host bash -c "$(declare -f fuzz_netns_setup); fuzz_netns_setup" ||
	fail "host netns setup"
ip netns exec host "$NLFUZZ" --setup-only esp0 esp1 ||
	fail "the baseline in netns host"
ready=$(mktemp)
unshare -Urn sh -c "echo \$\$ > $ready; exec sleep 600" &
UNS=$!
busywait 5 test -s "$ready" || fail "unshare -Urn did not start"
rm -f "$ready"
trap 'kill $UNS 2>/dev/null; _cleanup' EXIT
check "esp0 moved into the unprivileged netns" ip -n host link set esp0 netns "$UNS"
inside() { nsenter -t "$UNS" -U -n --preserve-credentials "$@"; }
inside ip link add dummy0 type dummy
start=$SECONDS
if inside "$NLFUZZ" --readonly --seed $((SEED + 2)) --random "$UCOUNT" esp0; then
	pass "unprivileged user namespace, a moved device: $UCOUNT random requests, nothing changed ($((SECONDS - start)) s)"
else
	fail "unprivileged user namespace, a moved device: the fuzzer's findings above"
fi
kill $UNS
wait $UNS 2>/dev/null
ip netns del host

leak_check "every device, tunnel and SA the fuzzers created is freed" 10
finish
