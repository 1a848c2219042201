#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the esptun selftests.  A test sources this file, calls
# the assertions below and ends with `finish`.  Each assertion prints one
# "# ok"/"# FAIL" line; the test exits 0 (pass), 1 (fail) or 4 (skip),
# following kselftest.
set -u

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

# The tests' own directory: the tree's selftests/, or where `make -C
# selftests install` put them (kselftest's INSTALL_PATH).
SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ESPTUN_REPO=${ESPTUN_REPO:-$(cd "$SELFTESTS/.." && pwd)}
# The module and tool under test: the tree's, unless selftests/vm/run was
# given others (ESPTUN_VM_MODULE, ESPTUN_VM_TOOLS: the packaged ones).
ESPTUN_KO=${ESPTUN_VM_MODULE:-$ESPTUN_REPO/kmod/esptun.ko}
export PATH="${ESPTUN_VM_TOOLS:-$ESPTUN_REPO/userspace}:$PATH"

_failed=0
_checks=0
_netns=()

log() { echo "# $*"; }
pass() { _checks=$((_checks + 1)); echo "# ok: $*"; }
fail() { _checks=$((_checks + 1)); _failed=1; echo "# FAIL: $*"; }

skip_all() {
	echo "# SKIP: $*"
	exit $KSFT_SKIP
}

# check DESC CMD...: CMD succeeds.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc: \`$*\` exited $?: $(tr '\n' ' ' <<<"$out")"
	fi
}

# check_err DESC PATTERN CMD...: CMD fails with status 1 and its output
# matches the extended regular expression PATTERN.
check_err() {
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "$desc: \`$*\` succeeded: $(tr '\n' ' ' <<<"$out")"
	elif ! grep -Eq -- "$pat" <<<"$out"; then
		fail "$desc: \`$*\` exited $rc without /$pat/: $(tr '\n' ' ' <<<"$out")"
	else
		pass "$desc"
	fi
}

# check_eq DESC ACTUAL EXPECTED
check_eq() {
	if [ "$2" == "$3" ]; then
		pass "$1"
	else
		fail "$1: got \"$2\", expected \"$3\""
	fi
}

# new_key [LEN]: a fresh random key of LEN bytes (default 20: AES-128
# and its salt), 0x-prefixed hex.  The kernel refuses an outbound key
# given again from a lower sequence number (the nonce rule, kmod/sa.c):
# a test that adds outbound SAs again takes new keys, as a daemon does.
new_key() { echo "0x$(od -An -tx1 -N"${1:-20}" /dev/urandom | tr -d ' \n')"; }

# scaled SECONDS, scaled_ns SECONDS: SECONDS times ESPTUN_TIMEOUT_SCALE
# (default 1; a debug kernel's checkers make everything two to three times
# slower: `make check-debug`), in whole seconds or in nanoseconds.  Bounds
# on waits scale, and the durations of traffic a test counts; what a test
# asserts does not.
scaled() {
	awk -v s="$1" -v m="${ESPTUN_TIMEOUT_SCALE:-1}" \
		'BEGIN { printf "%d\n", s * m + 0.999 }'
}
scaled_ns() {
	if [ -z "${ESPTUN_TIMEOUT_SCALE:-}" ]; then
		echo $(($1 * 1000000000))
	else
		# %.0f: mawk's %d stops at 2^31 - 1 (2.1 s in nanoseconds).
		awk -v s="$1" -v m="$ESPTUN_TIMEOUT_SCALE" \
			'BEGIN { printf "%.0f\n", s * m * 1000000000 }'
	fi
}

# busywait SECONDS CMD...: run CMD until it succeeds or SECONDS (scaled)
# pass; CMD's last status (net/lib.sh's busywait, in seconds).  Waits on
# a state instead of sleeping for a guess at how long it takes.  Polls
# every 0.1 s at first, then every quarter of the time waited so far, up
# to 1 s: what is polled is often a program or two (`esptun show --json |
# py`), whose CPU a long wait at 0.1 s would take from the tests beside
# it; a state that comes late is seen at most a quarter late.
busywait() {
	local start now deadline pause
	start=${EPOCHREALTIME/[.,]/}
	deadline=$((start + $(scaled_ns "$1") / 1000))
	shift
	while :; do
		"$@" && return 0
		now=${EPOCHREALTIME/[.,]/}
		[ "$now" -lt "$deadline" ] || break
		pause=$(((now - start) / 4))
		[ "$pause" -ge 100000 ] || pause=100000
		[ "$pause" -le 1000000 ] || pause=1000000
		[ "$pause" -le $((deadline - now)) ] || pause=$((deadline - now))
		nap "$pause"
	done
	"$@"
}

# nap MICROSECONDS: a sleep without starting sleep(1): the read builtin's
# timeout on a pipe that nobody writes (open read-write here, so it never
# ends).
exec {_nap_fd}<> <(:)
nap() {
	local t
	printf -v t '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
	read -r -t "$t" -u "$_nap_fd"
	return 0
}

# wait_eq DESC SECONDS EXPECTED CMD...: check_eq on CMD's output, polled
# until it equals EXPECTED or SECONDS pass (then fails with the last seen).
wait_eq() {
	local desc=$1 secs=$2 want=$3
	shift 3
	busywait "$secs" output_is "$want" "$@"
	check_eq "$desc" "$_last" "$want"
}
# output_is WANT CMD...: CMD prints WANT (for busywait), kept in $_last.
output_is() { local want=$1; shift; _last=$("$@" 2>&1); [ "$_last" = "$want" ]; }

# iperf3_server PREFIX [ARGS...]: a one-shot iperf3 server started through
# the command prefix PREFIX (a netns function such as peer), listening
# when this returns: on the port of ARGS' -p, else 5201.
iperf3_server() {
	local run=$1 port=5201 prev=""
	shift
	for a in "$@"; do
		[ "$prev" = -p ] && port=$a
		prev=$a
	done
	"$run" iperf3 -s -D -1 "$@" >/dev/null 2>&1
	busywait 5 _tcp_listening "$run" "$port" ||
		echo "# iperf3 server through $run not listening on $port"
}
_tcp_listening() { [ -n "$("$1" ss -Htln "sport = :$2")" ]; }

# no_carrier NS DEV: 1 if DEV in NS has no carrier, 0 if it has, and the
# error when it cannot be read (a missing device is neither).  The carrier
# bit the driver sets; `ip link` shows NO-CARRIER from the operational
# state, which linkwatch updates up to a second later.
no_carrier() {
	local c
	c=$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>&1)
	case $c in
	0) echo 1 ;;
	1) echo 0 ;;
	*) echo "unreadable: $c" ;;
	esac
}

# udp_masquerade NS OIF PORTS: NS masquerades UDP leaving OIF to source
# ports PORTS (a range, "10000-10099"), replacing its nftables ruleset;
# with `conntrack -F` after it, a NAT that rebinds to other ports.
udp_masquerade() {
	ip netns exec "$1" nft -f - <<-EOF
	flush ruleset
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "$2" meta l4proto udp masquerade to :$3
		}
	}
	EOF
}

# add_tunnels NS DEV FIRST LAST LOCAL [KEY]: IPv4 tunnels FIRST..LAST on
# DEV in NS, from LOCAL to 10.9.x.y (y = id), with KEY an inbound SA each
# (SPI 0x10000 + id), in one process: hundreds of tool runs would take
# minutes under emulation.
add_tunnels() {
	ip netns exec "$1" python3 -S - "$SELFTESTS" "$2" "$3" "$4" "$5" "${6:-}" <<-'EOF'
	import ipaddress, sys
	sys.path.insert(0, sys.argv[1])
	import esptun_nl, nlraw
	dev, first, last = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	local = int(ipaddress.IPv4Address(sys.argv[5]))
	key = sys.argv[6][2:]
	g = nlraw.Genl()
	fam = g.family(esptun_nl.FAMILY)
	def req(op, what, spec):
	    err, text, _ = g.request(fam, esptun_nl.OPS[op],
	        nlraw.encode("ifname:str:" + dev) + nlraw.encode(spec),
	        nlraw.NLM_F_ACK)
	    if err:
	        sys.exit("%s: %s" % (what, text))
	for i in range(first, last + 1):
	    req("tunnel-new", "tunnel %d" % i,
	        "tunnel:nest:id/u32/%d,local-ipv4/be32/%d,remote-ipv4/be32/%d"
	        % (i, local, 0x0a090000 + i))
	    if key:
	        req("sa-new", "tunnel %d's SA" % i,
	            "sa:nest:tunnel-id/u32/%d,dir/u8/%d,spi/be32/%d,key/hex/%s"
	            % (i, esptun_nl.ENUMS["sa-dir"]["in"], 0x10000 + i, key))
	EOF
}

# in_ns NS CMD [ARGS...]: CMD in network namespace NS.  esptun and ip
# take the namespace as an option (-n, as iproute2's): one program start
# instead of two, about 50 ms a call under TCG, which the suite pays
# thousands of times.  For the same reason the tests' Python one-liners
# run as `python3 -S` (no site module, so the standard library only):
# 150 to 200 ms less a start.
in_ns() {
	local ns=$1
	shift
	case $1 in
	esptun | ip) "$1" -n "$ns" "${@:2}" ;;
	*) ip netns exec "$ns" "$@" ;;
	esac
}

# Namespaces created with new_netns are deleted at exit.
new_netns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || { fail "ip netns add $ns"; finish; }
		ip -n "$ns" link set lo up
		_netns+=("$ns")
	done
}

# ns_sysctl NS KEY=VALUE...: `sysctl -qw KEY=VALUE...` in network namespace
# NS, by py: no program started (sysctl under ip netns exec is two, 0.15 s
# of a TCG guest's CPU); /proc/sys/net is the namespace of whoever opens
# it.
ns_sysctl() {
	local ns=$1
	shift
	py -n "$ns" 'import sys
for kv in sys.argv[1:]:
    k, v = kv.split("=", 1)
    try:
        with open("/proc/sys/" + k.replace(".", "/"), "w") as f:
            f.write(v)
    except OSError as e:
        sys.exit("sysctl %s: %s" % (kv, e.strerror))' "$@"
}

# ns_quiet NS...: no IPv6 link-local addresses and no router solicitations
# in each NS: no chatter the tests' exact counters would see.
ns_quiet() {
	local ns
	for ns in "$@"; do
		ns_sysctl "$ns" net.ipv6.conf.default.addr_gen_mode=1 \
			net.ipv6.conf.all.addr_gen_mode=1 \
			net.ipv6.conf.default.router_solicitations=0 ||
			fail "sysctls of $ns"
	done
}

# ns_batch NS: the `ip` commands on stdin, one a line (without "ip"), in NS,
# by one `ip -batch`: the test bed's setup ran hundreds of ip programs,
# about 40 ms of a TCG guest's CPU each.  Stops at the first that fails,
# naming its line.
ns_batch() {
	ip -n "$1" -batch - || fail "ip -n $1 -batch: a command failed (above)"
}

# Processes left running in them (sinks, monitors) are killed first: they
# would hold the harness's output pipe open.
# A namespace, and the esptun devices in it, outlives its name until its
# last process has exited, which a killed daemon may take seconds to do
# under TCG: wait for them, so that a test ends with its objects freed
# (a zombie has left its namespace already).  Sockets that outlive their
# process hold it too: see ike.sh's _ike_stop.
_cleanup() {
	local ns pids all=""
	disown -a 2>/dev/null	# no "Terminated" notices for killed jobs
	if [ -n "${_py_dir:-}" ]; then
		kill "$_py_pid" 2>/dev/null
		rm -rf "$_py_dir"
		_py_dir=""
	fi
	for ns in "${_netns[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		all="$all $pids"
	done
	# shellcheck disable=SC2086
	[ -z "${all// }" ] || busywait 30 _left_netns $all || {
		echo "# cleanup: killing what is still in the test's namespaces:$all" >&2
		# shellcheck disable=SC2086
		kill -9 $all 2>/dev/null
	}
}
_left_netns() { # PID...: has every PID left its network namespace?
	local pid
	for pid; do
		[ -e "/proc/$pid/ns/net" ] && return 1
	done
	return 0
}
trap _cleanup EXIT

require_module() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (run through selftests/vm/run)"
	[ -d /sys/module/esptun ] || skip_all "esptun module not loaded (run through selftests/vm/run)"
	py_start
}

# py [-n NS] CODE [ARGS...]: `python3 -S -c CODE ARGS...` (the standard
# library only), with the same standard streams and exit status, run by
# the test's one Python process (py_server.py) once py_start has started
# it: under TCG each Python start costs 250 to 600 ms of the guest's CPU,
# and the tests' one-liners (`esptun show --json | py ...`) ran by the
# hundred.  With -n NS, as `ip netns exec NS python3 ...`: the server
# enters NS for the call (its network, not the /sys that ip netns exec
# remounts; the environment is the test's when it started the server).
# One call at a time: not from two background jobs at once, nor for what
# runs until killed (a sink, a capture).
py() { _py c "$@"; }

# pyfile [-n NS] FILE [ARGS...]: `python3 FILE ARGS...` the same way: the
# tests' own scripts (with site-packages, FILE's directory first on
# sys.path; what they import stays loaded for the next call).
pyfile() { _py f "$@"; }

_py() {
	local kind=$1 pid rc len=0 a i o e ns=""
	shift
	if [ "$1" = -n ]; then
		ns=$2
		shift 2
	fi
	for a in "$ns" "$@"; do len=$((len + ${#a} + 1)); done
	# A Python of its own for a request over PIPE_BUF (one write each),
	# and for output to a regular file: the server's writes could not
	# move this process's file offset.
	if [ -z "${_py_dir:-}" ] || [ "$len" -gt 3800 ] ||
	   ! { [ -p /dev/fd/1 ] || [ -c /dev/fd/1 ]; } ||
	   ! { [ -p /dev/fd/2 ] || [ -c /dev/fd/2 ]; }; then
		local cmd=(python3 -S -c)
		[ "$kind" = f ] && cmd=(python3)
		[ -z "$ns" ] || cmd=(ip netns exec "$ns" "${cmd[@]}")
		"${cmd[@]}" "$@"
		return
	fi
	# The server opens the code's standard streams from /proc as copies
	# made here: printf's redirection below makes fd 1 the FIFO until
	# printf returns, by when the server may be opening it.
	exec {i}<&0 {o}>&1 {e}>&2
	printf '%s\0' "$BASHPID" "$i" "$o" "$e" "$ns" "$kind" "$(($# - 1))" "$@" \
		>&"$_py_req"
	if ! read -r -t "$_py_wait" -u "$_py_rep" pid rc; then
		echo "py: no answer from py_server.py (pid $_py_pid)" >&2
		rc=125
	elif [ "$pid" != "$BASHPID" ]; then
		echo "py: the answer to $pid reached $BASHPID: py called from two processes at once" >&2
		rc=125
	fi
	exec {i}<&- {o}>&- {e}>&-
	return "$rc"
}

# py_start: py's Python, for this shell and its subshells, until the test
# ends.  Both FIFOs stay open read-write here, so no open blocks; the
# server holds no writer of req, so it sees EOF once the test is gone.
py_start() {
	[ -z "${_py_dir:-}" ] || return 0
	[ "$BASHPID" = "$$" ] || return 0	# subshells' descriptors die with them
	_py_dir=$(mktemp -d /tmp/esptun-py.XXXXXX) &&
		mkfifo "$_py_dir/req" "$_py_dir/rep" || { _py_dir=""; return; }
	exec {_py_req}<>"$_py_dir/req" {_py_rep}<>"$_py_dir/rep"
	python3 -S "$SELFTESTS/py_server.py" "$_py_dir" {_py_req}>&- {_py_rep}>&- &
	_py_pid=$!
	_py_wait=$(scaled 120)
}

# Devices, tunnels and SAs created and destroyed since the kernel log mark
# set by leak_mark, from the module's debug messages.
leak_mark() {
	echo "module esptun +p" > /sys/kernel/debug/dynamic_debug/control ||
		fail "cannot enable esptun debug messages"
	_mark="esptun-selftest-mark-$RANDOM$RANDOM"
	echo "$_mark" > /dev/kmsg
}

# leak_check DESC MIN: at least MIN objects (devices, tunnels, SAs) were
# created since leak_mark and every one of them has been freed.  Only
# objects created from this test's PID namespace count (the harness's
# --isolate gives each test its own: tests side by side); each
# "destroyed" finds its "created" by the object's hashed address.
leak_check() {
	local pidns created left
	pidns=$(readlink /proc/self/ns/pid)
	# Freeing is asynchronous (RCU, work items): poll for it, for 10 s
	# (scaled: a debug kernel frees a namespace's devices much later).
	busywait 10 _leak_count "$pidns"
	case $_leak in
	nomark)
		fail "$1: the kernel log no longer has the mark" ;;
	ptrval)
		fail "$1: the kernel hashed no pointer yet (crng not ready): objects cannot be paired" ;;
	*)
		created=${_leak% *}
		left=${_leak#* }
		if [ "$created" -lt "$2" ]; then
			fail "$1: only $created objects created, expected at least $2"
		elif [ "$left" -eq 0 ]; then
			pass "$1 ($created objects created, all freed)"
		else
			fail "$1: $created objects created, $left not freed"
		fi ;;
	esac
}

# _leak_count PIDNS: $_leak is "CREATED LEFT" for the objects created from
# PIDNS since the mark, or why they cannot be counted (then true: no
# use waiting).  One read of the kernel log a poll: with the module's
# debug messages on, it is large, and dmesg takes most of a second of a
# loaded TCG guest's CPU.
_leak_count() {
	_leak=$(dmesg | awk -v mark="$_mark" -v ns="$1" '
		index($0, mark) { on = 1; next }
		!on { next }
		{ k = $0; sub(/.*esptun: /, "", k) }
		# Objects are paired by their hashed pointers, which a kernel
		# whose crng is not ready yet prints as "(____ptrval____)".
		k ~ /\(____ptrval____\): created/ { ptrval = 1 }
		k ~ /: created in / && $NF == ns {
			sub(/: created in .*/, "", k); sub(/.* /, "", k)
			live[k]++; n++ }
		k ~ /: destroyed$/ {
			sub(/: destroyed$/, "", k); sub(/.* /, "", k)
			if (live[k] > 0) live[k]-- }
		END {
			if (!on) { print "nomark"; exit }
			if (ptrval) { print "ptrval"; exit }
			for (k in live) left += live[k]
			print n + 0, left + 0 }')
	case $_leak in
	nomark | ptrval | *" 0") return 0 ;;
	esac
	return 1
}

finish() {
	if [ $_failed -ne 0 ]; then
		exit $KSFT_FAIL
	fi
	[ $_checks -gt 0 ] || { echo "# FAIL: no assertion ran"; exit $KSFT_FAIL; }
	exit $KSFT_PASS
}

# monitor_start: `esptun monitor --json` in netns gw (with a device esp0
# that has no tunnel 999) into $MON, subscribed when this returns (a
# throwaway tunnel's event proves it).
monitor_start() {
	MON=$(mktemp)
	esptun -n gw monitor --json >> "$MON" 2>&1 &
	MON_PID=$!
	monitor_sync gw "$MON" || fail "esptun monitor does not report events"
	: > "$MON"
}

# monitor_sync NS FILE...: the monitors writing FILEs (esptun monitor, in
# NS, --json or not) report events: a throwaway tunnel 999 on NS's esp0
# comes and goes until each FILE has it, for 5 s.
monitor_sync() {
	busywait 5 _monitors_see "$@"
}
_monitors_see() {
	local ns=$1 f
	shift
	esptun -n "$ns" tunnel add esp0 id 999 local 10.0.0.1 remote 10.0.0.254
	esptun -n "$ns" sa add esp0 tunnel 999 dir out spi 0x999 \
		key 0x0102030405060708090a0b0c0d0e0f1011121399
	esptun -n "$ns" tunnel del esp0 id 999
	for f in "$@"; do
		grep -Eq '"tunnel":999|tunnel 999 ' "$f" || return 1
	done
}

monitor_stop() {
	kill "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
	rm -f "$MON"
}

# monitor_wait PATTERN [SECONDS [N]]: N lines (default 1) of $MON match
# PATTERN (ERE) within SECONDS (default 5).
monitor_wait() {
	busywait "${2:-5}" _monitor_has "$1" "${3:-1}"
}
_monitor_has() { [ "$(grep -Ec -- "$1" "$MON")" -ge "$2" ]; }
