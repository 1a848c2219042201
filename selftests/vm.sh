#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test of the test bed itself: selftests/vm/run passes the
# command's exit status through and fails when the guest kernel WARNs.
. "$(dirname "$0")/lib.sh"

run=$ESPTUN_REPO/selftests/vm/run
warn_ko=$ESPTUN_REPO/selftests/vm/warn/esptun_warn.ko
[ -x "$(command -v qemu-system-x86_64)" ] || skip_all "qemu-system-x86_64 missing"
[ -f "$warn_ko" ] || skip_all "$warn_ko not built"

# Each boot costs about 11 s of one host CPU under TCG, mostly the
# kernel's own boot on one vCPU: one boot checks several things, and the
# boots all start at once, each into files of its own (out, rc), so that
# two host CPUs take them two at a time; the checks then read them in
# turn.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; _cleanup' EXIT
boot() { # NAME CMD...: CMD (vm/run) in the background, into $tmp/NAME.*
	local name=$1
	shift
	("$@" > "$tmp/$name.out" 2>&1; echo $? > "$tmp/$name.rc") &
}
booted() { # NAME: waits for NAME; its status in rc, its output in out
	while [ ! -e "$tmp/$1.rc" ]; do sleep 0.2; done
	rc=$(cat "$tmp/$1.rc")
	out=$(cat "$tmp/$1.out")
}
boot timeout env ESPTUN_VM_TIMEOUT=10 "$run" sleep 120
boot accel env XDG_CACHE_HOME="$tmp/cache" "$run" --accel
# The command's status (7) comes back as vm/run's: not 126, so the guest
# also left no objects behind and its kernel log is clean.
boot status env -u ESPTUN_VM_APPEND -u ESPTUN_TIMEOUT_SCALE -u ESPTUN_VM_MACHINE ESPTUN_VM_OBJECTS=1 \
	"$run" sh -c 'pwd; echo "$PATH"; cat /proc/cmdline;
	echo "scale=${ESPTUN_TIMEOUT_SCALE-unset}"; cat /sys/class/dmi/id/product_name
	test -d /sys/module/esptun &&
	ip link add esp9 type esptun && ip link del esp9 &&
	! touch .vm-ro-probe 2>/dev/null && touch /tmp/x /run/x && echo "out put" && exit 7'
boot objects env ESPTUN_VM_OBJECTS=1 "$run" ip link add esp9 type esptun
# One boot for six things: the WARN module loaded in esptun's place
# (ESPTUN_VM_MODULE, as make check-long loads the module DKMS built),
# another directory leading PATH (ESPTUN_VM_TOOLS, the packaged tool), the
# WARN failing the run, and make check-debug's ESPTUN_VM_APPEND,
# ESPTUN_TIMEOUT_SCALE and ESPTUN_VM_MACHINE reaching the guest.
boot warn env ESPTUN_VM_MODULE="$warn_ko" ESPTUN_VM_TOOLS=/usr/sbin \
	ESPTUN_VM_APPEND=esptun_vm_sh.append=1 ESPTUN_TIMEOUT_SCALE=3 ESPTUN_VM_MACHINE=q35 \
	"$run" sh -c 'echo "PATH=$PATH"; echo "CMDLINE=$(cat /proc/cmdline)"
		echo "SCALE=$ESPTUN_TIMEOUT_SCALE"
		echo "MACHINE=$(cat /sys/class/dmi/id/product_name)"
		test -d /sys/module/esptun_warn'
# vm/guest holds the static keys the tests used to flip on (README, the
# static keys note): a ping, an RPS map set and cleared, ESP-in-UDP
# sockets of both families opened and closed, and an nftables NAT chain
# and filter chains in a namespace that then goes, flip none of them,
# which a kprobe on jump_label_update() would see (nf_hooks_needed is an
# array: any of its keys); once the holding ping is gone, the next ping
# flips netstamp_needed_key, so the probe does see flips.
boot keys "$run" bash -c '
	t=/sys/kernel/tracing
	echo "p:jl jump_label_update key=%di" > $t/kprobe_events &&
		echo 1 > $t/events/kprobes/jl/enable || exit 9
	addr() { echo $((16#$(awk -v k="$1" "\$3 == k { print \$1; exit }" /proc/kallsyms))); }
	flips() { # KEY [BYTES]: jump_label_update() calls for KEY (and the
		# BYTES after it) so far
		local a n=0 k
		a=$(addr "$1")
		for k in $(grep -o "key=0x[0-9a-f]*" $t/trace); do
			k=$((16#${k#key=0x}))
			[ $k -ge $a ] && [ $k -lt $((a + ${2:-1})) ] && n=$((n + 1))
		done
		echo $n
	}
	ping -c 1 -q 127.0.0.1 > /dev/null
	ip link add d9 type dummy
	echo 1 > /sys/class/net/d9/queues/rx-0/rps_cpus
	echo 0 > /sys/class/net/d9/queues/rx-0/rps_cpus
	ip link del d9
	python3 -S -c "
import socket
for f in (socket.AF_INET, socket.AF_INET6):
    socket.socket(f, socket.SOCK_DGRAM).setsockopt(socket.IPPROTO_UDP, 100, 2)"
	ip netns add k9
	ip netns exec k9 nft -f - <<-EOF
	table ip nat { chain post { type nat hook postrouting priority srcnat; masquerade; } }
	table ip f { chain in { type filter hook input priority 0; } }
	EOF
	ip netns del k9
	sleep 2 # keys are flipped by work items (netstamp_work, netns cleanup)
	# nf_hooks_needed: 13 families of 8 hooks, 16-byte keys.
	echo "held $(flips netstamp_needed_key) $(flips rps_needed)" \
		"$(flips udp_encap_needed_key) $(flips udpv6_encap_needed_key)" \
		"$(flips nf_hooks_needed $((13 * 8 * 16)))"
	pkill -x ping # the holding one, the only ping left
	ping -c 1 -q 127.0.0.1 > /dev/null
	sleep 1 # the same work item
	echo "released $(flips netstamp_needed_key)"'

booted status
rm -f "$ESPTUN_REPO/.vm-ro-probe"
check_eq "vm/run loads the module and passes the command's exit status through; host root read-only, /tmp and /run writable; a device made and freed leaves no objects" "$rc" 7
check_eq "vm/run passes the command's output" "$(sed -n 6p <<<"$out" | tr -d '\r')" "out put"
check_eq "vm/run runs in the repository root" "$(sed -n 1p <<<"$out")" "$ESPTUN_REPO"
case "$(sed -n 2p <<<"$out")" in
"$ESPTUN_REPO/userspace:"*) pass "userspace/ leads PATH in the guest" ;;
*) fail "userspace/ not first on PATH: $(sed -n 2p <<<"$out")" ;;
esac
# Without the debug kernel's variables the guest is as it was: its command
# line ends with esptun.ver, and the harness sees no timeout scale.
case "$(sed -n 3p <<<"$out" | tr -d '\r')" in
*" esptun.ver=$(modinfo -F vermagic "$ESPTUN_REPO/kmod/esptun.ko" | cut -d' ' -f1)")
	pass "without ESPTUN_VM_APPEND the kernel command line is unchanged" ;;
*) fail "kernel command line: $(sed -n 3p <<<"$out")" ;;
esac
check_eq "without ESPTUN_TIMEOUT_SCALE the guest has none" \
	"$(sed -n 4p <<<"$out" | tr -d '\r')" "scale=unset"
case "$(sed -n 5p <<<"$out")" in
*i440FX*) pass "without ESPTUN_VM_MACHINE the machine is QEMU's default (i440fx)" ;;
*) fail "machine without ESPTUN_VM_MACHINE: $(sed -n 5p <<<"$out")" ;;
esac
booted objects
if [ "$rc" -eq 126 ] && grep -q "objects still alive after the command: devices 1" <<<"$out"; then
	pass "ESPTUN_VM_OBJECTS: a device left behind fails the run"
else
	fail "ESPTUN_VM_OBJECTS: a device left behind: exit $rc: $out"
fi
booted warn
if [ "$rc" -ne 0 ] && grep -q "guest kernel reported a problem" <<<"$out" &&
   grep -q "deliberate warning" <<<"$out"; then
	pass "a WARN in the guest fails the run (exit $rc) and shows the splat"
else
	fail "a WARN in the guest did not fail the run: exit $rc: $out"
fi
case $(grep -m 1 '^PATH=' <<<"$out" | tr -d '\r') in
PATH=/usr/sbin:*) pass "ESPTUN_VM_TOOLS leads PATH in the guest" ;;
*) fail "ESPTUN_VM_TOOLS does not lead PATH: $out" ;;
esac
case $(grep -m 1 '^CMDLINE=' <<<"$out" | tr -d '\r') in
*" esptun_vm_sh.append=1") pass "ESPTUN_VM_APPEND ends the kernel command line" ;;
*) fail "ESPTUN_VM_APPEND not on the kernel command line: $out" ;;
esac
check_eq "ESPTUN_TIMEOUT_SCALE reaches the guest" \
	"$(grep -m 1 '^SCALE=' <<<"$out" | tr -d '\r')" "SCALE=3"
case $(grep -m 1 '^MACHINE=' <<<"$out") in
*Q35*) pass "ESPTUN_VM_MACHINE=q35 boots a q35" ;;
*) fail "ESPTUN_VM_MACHINE=q35: $out" ;;
esac
booted keys
check_eq "the guest holds netstamp_needed_key, rps_needed, the UDP encap keys and nf_hooks_needed on: what the tests do flips none" \
	"$(grep -m 1 '^held ' <<<"$out" | tr -d '\r')" "held 0 0 0 0 0"
case $(grep -m 1 '^released ' <<<"$out" | tr -d '\r') in
"released "[1-9]*) pass "once the holding ping is gone, a ping flips netstamp_needed_key (the probe sees flips)" ;;
*) fail "no flip seen after the holding ping ended: exit $rc: $out" ;;
esac
out=$(ESPTUN_VM_MODULE=$ESPTUN_REPO/no-such.ko "$run" true 2>&1); rc=$?
check_eq "a missing ESPTUN_VM_MODULE fails before booting" "$rc" 125
out=$(ESPTUN_VM_MODDIR=$ESPTUN_REPO/no-such-dir "$run" true 2>&1); rc=$?
if [ "$rc" -eq 125 ] && grep -q "no-such-dir/lib/modules/.* missing" <<<"$out"; then
	pass "an ESPTUN_VM_MODDIR without the kernel's lib/modules fails before booting"
else
	fail "ESPTUN_VM_MODDIR without lib/modules: exit $rc: $out"
fi
booted timeout
check_eq "a hung guest is killed at the timeout" "$rc" 124
# The benchmark records the accelerator before its first boot: --accel
# must name it even when nothing has been cached yet (a fresh machine).
booted accel
case "$rc $out" in
"0 kvm" | "0 tcg") pass "vm/run --accel names the accelerator on a fresh cache ($out)" ;;
*) fail "vm/run --accel on a fresh cache: exit $rc: $out" ;;
esac
check_eq "vm/run --accel agrees with ESPTUN_VM_ACCEL" \
	"$(ESPTUN_VM_ACCEL=tcg "$run" --accel 2>&1)" tcg
# `make bench-host` is not run by CI (OpenSSL, minutes): its script at
# least gets as far as its own checks, which come after what it sources
# (topology.sh, under set -u, once referred to lib.sh's SELFTESTS).
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$ESPTUN_REPO/selftests/bench/host-peer" 2>&1)
check_eq "bench/host-peer starts, and refuses a user who is not root" \
	"$out" "host-peer: needs root (a namespace, tun and tap devices)"
finish
