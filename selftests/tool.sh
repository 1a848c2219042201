#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The esptun tool: help, errors, show and show --json.
. "$(dirname "$0")/lib.sh"
require_module

check "esptun help" sh -c 'esptun help | grep -q "^Usage: esptun \[-n NETNS\] COMMAND"'
check "esptun --help" sh -c 'esptun --help | grep -q "^Usage: esptun \[-n NETNS\] COMMAND"'
check "esptun show help" sh -c 'esptun show help | grep -q "^Usage: esptun show \[DEV\] \[--json\]"'
check "esptun help show" sh -c 'esptun help show | grep -q "^Usage: esptun show"'
check "esptun monitor help" sh -c 'esptun monitor help | grep -q "^Usage: esptun monitor \[--json\]"'
check_err "monitor with a stray argument" '^esptun: monitor: unknown argument "esp0"$' \
	esptun monitor esp0
# The usage texts are data, not printf formats: every line naming the
# program names it, and nothing else is substituted or left behind.
check_eq "usage: the program named on every command line" \
	"$(esptun help | grep -Ec '^ +esptun (show|tunnel|sa|monitor|help) ')" 10
check_eq "usage: no format directive or marker byte left" \
	"$(esptun help | grep -c $'%\\|\001')" 0
check "esptun tunnel help names set" sh -c 'esptun tunnel help | grep -q "esptun tunnel set DEV id ID \[up|down\] \[weight N\]"'
check_err "unknown tunnel subcommand" '^esptun: tunnel: unknown subcommand "frob"; add, set or del expected$' \
	esptun tunnel frob esp0
check_err "sa needs a subcommand" '^esptun: sa: add, del, get or alloc-spi expected; try "esptun sa help"$' esptun sa
check_err "unknown command" '^esptun: unknown command "frob"; try "esptun help"$' esptun frob
check_err "help for an unknown command" '^esptun: unknown command "frob"' esptun help frob
check_err "unknown option" '^esptun: show: unknown option "--yaml"$' esptun show --yaml
check_err "extra argument" '^esptun: show: unexpected argument "b"$' esptun show a b
check_err "over-long device name" '^esptun: show: device name ".*" is too long$' \
	esptun show abcdefghijklmnopq
out=$(esptun frob 2>&1)
check_eq "errors are one line" "$(wc -l <<<"$out")" 1

new_netns a
ip -n a link add dummy0 type dummy 2>/dev/null || ip -n a link add dummy0 type veth
in_a() { in_ns a "$@"; }
check_eq "show with no device prints nothing" "$(in_a esptun show)" ""
check_eq "show --json with no device prints []" "$(in_a esptun show --json)" "[]"
check_err "show of a missing device names the kernel's reason" \
	'^esptun: show nope: no such device \(No such device\)$' in_a esptun show nope
check_err "show of a non-esptun device" \
	'^esptun: show dummy0: not an esptun device' in_a esptun show dummy0

ip -n a link add esp0 type esptun
ip -n a link add 'we"ird\' type esptun
check_eq "show lists devices" "$(in_a esptun show | grep '^interface:')" \
"interface: esp0
interface: we\"ird\\"
check_eq "show DEV" "$(in_a esptun show esp0)" "interface: esp0"
check_eq "no arguments means show" "$(in_a esptun)" "$(in_a esptun show)"
json=$(in_a esptun show --json)
check_eq "show --json is valid JSON naming the devices" \
	"$(py 'import json,sys; print(" ".join(d["ifname"] for d in json.load(sys.stdin)))' <<<"$json")" \
	'esp0 we"ird\'
check_eq "show DEV --json" \
	"$(in_a esptun show esp0 --json | py 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["ifname"], d[0]["tunnels"])')" \
	"1 esp0 []"

# -n NETNS, as ip -n: the command runs in that namespace.
check_eq "-n NETNS shows that namespace's devices" \
	"$(esptun -n a show | grep '^interface:' | head -1)" "interface: esp0"
check_eq "--netns PATH too" "$(esptun --netns /run/netns/a show esp0)" "interface: esp0"
check "-n a: a tunnel added there" \
	esptun -n a tunnel add esp0 id 1 local 192.0.2.1 remote 192.0.2.2
check_eq "is in a's device" "$(in_a esptun show esp0 | grep -c '^tunnel 1:')" 1
check_err "-n of a missing namespace" \
	'^esptun: network namespace "nope": No such file or directory$' esptun -n nope show
check_err "-n without a namespace" '^esptun: -n: a network namespace is expected$' esptun -n
finish
