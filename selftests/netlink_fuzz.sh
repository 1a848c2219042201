#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The generic netlink family under fuzz (selftests/nlfuzz.py): every
# command with each attribute missing, mistyped, of the wrong length, out
# of range, duplicated and wrongly nested, requests a handler must refuse,
# then NLFUZZ_COUNT (10000) random requests from the seed NLFUZZ_SEED
# (default 1), mostly almost valid, against devices with tunnels and SAs:
# as root; as the root of an unprivileged user namespace (unshare -Urn)
# on devices of its own; and from there on a device moved in from the
# initial user namespace, which it may read but not change (userns.sh).
# Every request is answered, every reply is well formed, a request no
# policy can accept is refused, nothing changes on a refusal, and every
# device, tunnel and SA created is freed.
. "$(dirname "$0")/lib.sh"
require_module

SEED=${NLFUZZ_SEED:-1}
COUNT=${NLFUZZ_COUNT:-10000}
# The user namespace runs are smaller: policies and handlers are the same,
# what differs is who asks.  They run beside the root one (a guest has two
# CPUs; the fuzzer, one Python thread, keeps one busy).
UCOUNT=${NLFUZZ_USERNS_COUNT:-1000}
NLFUZZ=$ESPTUN_REPO/selftests/nlfuzz.py
log "seed $SEED (NLFUZZ_SEED); random requests: $COUNT as root (NLFUZZ_COUNT), $UCOUNT in each user namespace (NLFUZZ_USERNS_COUNT)"

# dummy0 is the device that is not esptun's, and holds the addresses the
# baseline's tunnels use (the UDP-encapsulated one binds one).
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
setup="$(declare -f fuzz_netns_setup); fuzz_netns_setup"

leak_mark
out=$(mktemp -d)
trap 'kill $UNS 2>/dev/null; _cleanup; rm -rf "$out"' EXIT

new_netns nlf host
check "root: esp0, esp1 and dummy0 in a netns" ip netns exec nlf bash -c "$setup"

# A device created by root in netns host (its tunnels and SAs there) and
# moved into an unprivileged netns, where every change must be refused.
check "host: esp0, esp1 and dummy0 in a netns" ip netns exec host bash -c "$setup"
check "host: the baseline tunnels and SAs" ip netns exec host "$NLFUZZ" --setup-only esp0 esp1
ready=$(mktemp)
unshare -Urn sh -c "echo \$\$ > $ready; exec sleep 600" &	# holds them until killed
UNS=$!
busywait 5 test -s "$ready" || fail "unshare -Urn did not start"
rm -f "$ready"
check "esp0 moved into the unprivileged netns" ip -n host link set esp0 netns "$UNS"
inside() { nsenter -t "$UNS" -U -n --preserve-credentials "$@"; }
inside ip link add dummy0 type dummy

start=$SECONDS
# The root of an unprivileged user namespace, on devices of its own.
unshare -Urn bash -c "$setup && exec \"$NLFUZZ\" --systematic short \
	--seed $((SEED + 1)) --random $UCOUNT esp0 esp1" > "$out/own" 2>&1 &
own=$!
inside "$NLFUZZ" --readonly --systematic short --seed $((SEED + 2)) \
	--random "$UCOUNT" esp0 > "$out/moved" 2>&1 &
moved=$!
if ip netns exec nlf "$NLFUZZ" --seed "$SEED" --random "$COUNT" esp0 esp1; then
	pass "root: the systematic requests and $COUNT random ones, no finding ($((SECONDS - start)) s)"
else
	fail "root: the fuzzer's findings above"
fi
wait $own
rc=$?
cat "$out/own"
if [ $rc -eq 0 ]; then
	pass "unprivileged user namespace, its own devices: $UCOUNT random requests, no finding"
else
	fail "unprivileged user namespace, its own devices: the fuzzer's findings above"
fi
wait $moved
rc=$?
cat "$out/moved"
if [ $rc -eq 0 ]; then
	pass "unprivileged user namespace, a device moved in: $UCOUNT random requests, nothing changed"
else
	fail "unprivileged user namespace, a device moved in: the fuzzer's findings above"
fi
log "all three: $((SECONDS - start)) s"
kill $UNS
wait $UNS 2>/dev/null
ip netns del nlf
ip netns del host

leak_check "every device, tunnel and SA the fuzzers created is freed" 10
finish
