#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libesptun: every public call and its error paths, by libesptun_test
# (selftests/libesptun_test.c, built by `make`), against the module.
. "$(dirname "$0")/lib.sh"
require_module
test=$SELFTESTS/libesptun_test
[ -x "$test" ] || skip_all "$test not built (run make)"

new_netns a
ip -n a link add esp0 type esptun
ip -n a link add dummy0 type dummy 2>/dev/null || ip -n a link add dummy0 type veth
# The local address of the UDP-encapsulated tunnel: esptun binds its port.
ip -n a addr add 192.0.2.1/24 dev dummy0
ip -n a link set dummy0 up
ip netns exec a "$test" esp0 dummy0
rc=$?
# The program's TAP lines are the assertions; its status is the verdict.
case $rc in
0) pass "libesptun_test" ;;
"$KSFT_SKIP") skip_all "every libesptun check skipped" ;;
*) fail "libesptun_test exited $rc" ;;
esac
finish
