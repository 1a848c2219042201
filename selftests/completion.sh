#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the bash completion (userspace/completion/esptun) sourced in
# bash, its function called as bash calls it, COMPREPLY compared: commands,
# subcommands, keywords and their values, devices from `ip` and tunnel ids
# and SPIs from `esptun show`, both stubbed with functions.  The keywords
# it offers after DEV are those the tool's own usage names (the tool's
# grammar changing without the completion is caught).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

comp=$ESPTUN_REPO/userspace/completion/esptun
tool=$ESPTUN_REPO/userspace/esptun
check "the completion parses" bash -n "$comp"
check "it registers for esptun" bash -c ". '$comp'; complete -p esptun | grep -q -- '-F _esptun esptun$'"

# complete LINE: what completing at the end of LINE offers, sorted, on one
# line, in a bash with the lookups stubbed: two esptun devices, esp0 with
# tunnels 1 (SAs out 0x100, in 0x101) and 2 (out 0x200).
complete_line() {
	bash -c '
	. "$1"
	# In namespace gw (-n gw), esp0 only; "ip netns list" lists gw and lan.
	ip() {
		case "$*" in
		"netns list") printf "%s\n" "gw (id: 0)" lan; return ;;
		"-n gw "*) echo "7: esp0: <NOARP,UP,LOWER_UP> mtu 1418 qdisc noqueue"; return ;;
		"-n "*) return 1 ;;
		esac
		printf "%s\n" "7: esp0: <NOARP,UP,LOWER_UP> mtu 1418 qdisc noqueue" \
			"9: esp1: <NOARP> mtu 1418 qdisc noop"; }
	esptun() {
		if [ "$1" = -n ]; then
			[ "$2" = gw ] || return 1
			shift 2
		fi
		[ "$2" = esp0 ] || return 1
		printf "%s\n" "interface: esp0" "" \
		"tunnel 1: 192.0.2.1 -> 192.0.2.2  up  weight 1  share 50.0%" \
		"  sa out spi 0x00000100  seq 3           3 packets" \
		"  sa in  spi 0x00000101  seq 3           3 packets  window 1024" \
		"    lifetime: 252 B, 3 packets, age 4s" "" \
		"tunnel 2: 192.0.2.1 -> 192.0.2.3  up  weight 1  share 50.0%" \
		"  sa out spi 0x00000200  seq 0           0 packets"
	}
	COMP_LINE=$2
	COMP_POINT=${#2}
	read -r -a COMP_WORDS <<<"$2"
	COMP_CWORD=${#COMP_WORDS[@]}
	_esptun
	[ ${#COMPREPLY[@]} -eq 0 ] ||
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$comp" "$1"
}
t() { check_eq "completes \"$1\"" "$(complete_line "$1")" "$2"; }

t "esptun " "help monitor sa show tunnel "
t "esptun s" "sa show "
t "esptun -" "--help --netns -n "
t "esptun -n " "gw lan "
t "esptun --netns g" "gw "
t "esptun -n gw " "help monitor sa show tunnel "
t "esptun -n gw show " "--json esp0 "
t "esptun -n lan show " "--json "
t "esptun -n gw sa del esp0 dir out spi " "0x00000100 0x00000200 "
t "esptun -n lan sa del esp0 dir out spi " ""
t "esptun help " "help monitor sa show tunnel "
t "esptun show " "--json esp0 esp1 "
t "esptun show e" "esp0 esp1 "
t "esptun show esp1 " "--json "
t "esptun show --json " "esp0 esp1 "
t "esptun monitor " "--json "
t "esptun monitor --json " ""
t "esptun tunnel " "add del help set "
t "esptun sa " "add alloc-spi del get help "
t "esptun tunnel add " "esp0 esp1 "
t "esptun sa get e" "esp0 esp1 "
t "esptun tunnel set esp0 id " "1 2 "
t "esptun tunnel del esp0 id " "1 2 "
t "esptun tunnel add esp0 id " ""
t "esptun tunnel del esp0 id 1 " ""
t "esptun tunnel set esp0 id 1 down " \
	"dead-after dport keepalive nat-keepalive pin remote weight "
t "esptun tunnel set esp0 id 1 pin " "none "
t "esptun tunnel set esp0 id 1 pin 10.0.0.1 " \
	"dead-after down dport keepalive nat-keepalive pin remote up weight "
t "esptun tunnel add esp0 id 3 encap " "none udp "
t "esptun tunnel add esp0 id 3 local 2001:db8::1 remote " ""
t "esptun tunnel add esp0 id 3 local 2001:db8::1 remote 2001:db8::2 w" "weight "
t "esptun sa add esp0 tunnel " "1 2 "
t "esptun sa add esp0 tunnel 1 dir " "in out "
t "esptun sa add esp0 tunnel 1 dir out esn s" "seq soft-bytes soft-packets soft-seconds spi "
t "esptun sa del esp0 spi " "0x00000100 0x00000101 0x00000200 "
t "esptun sa del esp0 dir out spi " "0x00000100 0x00000200 "
t "esptun sa get esp0 dir in spi 0x00000101 " "--json "
t "esptun sa alloc-spi esp0 min 256 " "max "
t "esptun sa get nosuch dir in spi " ""

# key @FILE completes the file's name; bash puts it after the '@', a word
# break, so the '@' is not in the reply.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; _cleanup' EXIT
touch "$tmp/t1-out.key" "$tmp/t1-in.key" "$tmp/other"
t "esptun sa add esp0 key @$tmp/t1-" "$tmp/t1-in.key $tmp/t1-out.key "
t "esptun sa add esp0 key 0x" ""

# After DEV, each subcommand offers exactly the keywords of its usage line
# in `esptun help` (values such as udp, none, in and out are not keywords).
if [ -x "$tool" ]; then
	for cmd in "tunnel add" "tunnel set" "tunnel del" "sa add" "sa del" \
		   "sa get" "sa alloc-spi"; do
		want=$("$tool" help | awk -v c="$cmd" '
			/^ *(Usage: )?esptun / { on = index($0, "esptun " c " ") > 0 }
			on && /^ *(esptun|\[)/ { print }' |
			grep -oE '(^|[ [|])(-{0,2}[a-z][a-z-]*)' | tr -d ' [|' |
			grep -vxE "esptun|${cmd% *}|${cmd#* }|udp|none|in|out" |
			sort -u | tr '\n' ' ')
		t "esptun $cmd esp0 " "$want"
	done
else
	log "userspace/esptun not built: comparison with its usage skipped"
fi
finish
