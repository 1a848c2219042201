#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: `harness --claim` splits one list between runs side by side,
# each test run exactly once, as `make check` relies on with its guests; a
# test's failure, skip and timeout are reported as such.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$ESPTUN_REPO/selftests/harness" "$tmp/"
printf 'timeout=2\ntimeout.slow.sh=6\n' > "$tmp/settings"
mkdir "$tmp/queue"
list=""
for i in 1 2 3 4 5 6; do
	# Each test records that it ran, and takes a moment, so that both runs
	# find work.
	printf '#!/bin/sh\necho ran >> %s/t%s.ran\nsleep 0.2\n' "$tmp" "$i" > "$tmp/t$i.sh"
	list="$list t$i.sh"
done
printf '#!/bin/sh\nexit 1\n' > "$tmp/fails.sh"
printf '#!/bin/sh\nexit 4\n' > "$tmp/skips.sh"
printf '#!/bin/sh\nexec sleep 30\n' > "$tmp/hangs.sh"
printf '#!/bin/sh\nexec sleep 3\n' > "$tmp/slow.sh"
chmod +x "$tmp"/*.sh

# shellcheck disable=SC2086
"$tmp/harness" --no-plan --claim "$tmp/queue" $list > "$tmp/a" 2>&1 &
# shellcheck disable=SC2086
"$tmp/harness" --no-plan --claim "$tmp/queue" $list > "$tmp/b" 2>&1
wait
ran=$(cat "$tmp"/t*.ran | wc -l)
check_eq "six tests, each run once by one of two runs" "$ran" 6
check_eq "six results in all" "$(cat "$tmp/a" "$tmp/b" | grep -c '^ok ')" 6
check "both runs took a share" test -s "$tmp/a" -a -s "$tmp/b"

# --jobs 2: the shared tests p1 and p2 run at once (each waits for the
# other to start), the exclusive one alone (nothing starts or ends while it
# runs, though q is free to start).
log=$tmp/jobs.log
for i in 1 2; do
	cat > "$tmp/p$i.sh" <<-EOF
	#!/bin/bash
	echo start p$i >> $log
	for n in \$(seq 100); do
		grep -q 'start p$((3 - i))' $log && break
		sleep 0.1
	done
	grep -q 'start p$((3 - i))' $log || exit 1
	echo end p$i >> $log
	EOF
done
cat > "$tmp/x.sh" <<-EOF
#!/bin/bash
# harness: exclusive
echo start x >> $log
sleep 0.5
echo end x >> $log
EOF
printf '#!/bin/sh\necho start q >> %s\n' "$log" > "$tmp/q.sh"
chmod +x "$tmp"/*.sh
"$tmp/harness" --jobs 2 p1.sh p2.sh x.sh q.sh > "$tmp/j" 2>&1
check "--jobs 2: two shared tests ran at once" \
	grep -q '^4 passed, 0 failed' "$tmp/j"
check_eq "--jobs 2: the exclusive test ran alone" \
	"$(grep -A1 '^start x' "$log" | tail -n 1)" "end x"

# A "beside" test runs beside the --jobs 2, not in place of one of them:
# b ends only once p1 and p2 have both started, which they do only
# together; it runs at nice -5 from the harness's; the exclusive test
# does not run beside it.  (x last: listed first, it would wait for b,
# which waits for p1 and p2, which wait for x.)
: > "$log"
cat > "$tmp/b.sh" <<-EOF
#!/bin/bash
# harness: beside
echo "start b \$(nice)" >> $log
for n in \$(seq 100); do
	grep -q 'start p1' $log && grep -q 'start p2' $log && break
	sleep 0.1
done
grep -q 'start p1' $log && grep -q 'start p2' $log || exit 1
echo end b >> $log
EOF
chmod +x "$tmp/b.sh"
"$tmp/harness" --jobs 2 b.sh p1.sh p2.sh x.sh > "$tmp/j" 2>&1
check "--jobs 2: a beside test ran beside the two jobs" \
	grep -q '^4 passed, 0 failed' "$tmp/j"
check_eq "--jobs 2: the beside test ran at nice -5" \
	"$(sed -n 's/^start b //p' "$log")" "$(($(nice) - 5))"
check "--jobs 2: the exclusive test ran before or after the beside test" \
	awk '/^start b/ { s = NR } /^end b/ { e = NR } /^start x/ { x = NR }
		END { exit !(s && e && x && (x < s || x > e)) }' "$log"

# --isolate: each test's namespace names are its own, and what it leaves
# running dies with it.
if unshare --mount --pid --fork true 2>/dev/null; then
	tag=esptun-harness-$$
	for i in 1 2; do
		printf '#!/bin/sh\nip netns add gw || exit 1\nsleep 3600 %s &\nsleep 0.5\n' \
			"$tag" > "$tmp/ns$i.sh"
	done
	chmod +x "$tmp"/ns*.sh
	"$tmp/harness" --jobs 2 --isolate ns1.sh ns2.sh > "$tmp/i" 2>&1
	check "--isolate: two tests named a netns gw at once" \
		grep -q '^2 passed, 0 failed' "$tmp/i"
	check "--isolate: the name is gone with them" test ! -e /run/netns/gw
	check_eq "--isolate: their processes are gone with them" \
		"$(pgrep -f "sleep 3600 $tag" | wc -l)" 0
else
	log "no mount and PID namespaces here: --isolate untested on this host"
fi

# kselftest's install contract: the tests and what they need, with a
# run_kselftest.sh, in INSTALL_PATH; lib.sh finds its helpers there.
make -s -C "$ESPTUN_REPO/selftests" install INSTALL_PATH="$tmp/inst" >/dev/null 2>&1
missing=""
for f in $(make -s -C "$ESPTUN_REPO/selftests" list) lib.sh harness settings \
	nlraw.py run_kselftest.sh; do
	[ -e "$tmp/inst/$f" ] || missing="$missing $f"
done
check_eq "make install puts the tests and run_kselftest.sh in INSTALL_PATH" "$missing" ""
check_eq "an installed test finds its helpers beside it" \
	"$(bash -c ". $tmp/inst/lib.sh; echo \$SELFTESTS")" "$tmp/inst"

"$tmp/harness" fails.sh skips.sh hangs.sh > "$tmp/c" 2>&1
check_eq "a failing list fails the run" "$?" 1
check "a failure is not ok" grep -q '^not ok 1 selftests: esptun: fails.sh # exit=1' "$tmp/c"
check "exit 4 is a skip" grep -q '^ok 2 selftests: esptun: skips.sh # SKIP' "$tmp/c"
check "the settings timeout applies" grep -q '^not ok 3 .*hangs.sh # TIMEOUT 2 seconds' "$tmp/c"
check "the summary counts them" grep -q '^0 passed, 2 failed, 1 skipped' "$tmp/c"
"$tmp/harness" slow.sh > "$tmp/d" 2>&1
check "a test's own timeout (timeout.NAME) replaces the default" \
	grep -q '^ok 1 selftests: esptun: slow.sh$' "$tmp/d"
# make check-debug's slow kernel: ESPTUN_TIMEOUT_SCALE multiplies the
# timeouts, rounded; lib.sh's scaled multiplies a test's waits, rounded up,
# and leaves them as they are without it.
ESPTUN_TIMEOUT_SCALE=1.5 "$tmp/harness" hangs.sh > "$tmp/e" 2>&1
check "ESPTUN_TIMEOUT_SCALE scales the timeout (2 s by 1.5)" \
	grep -q '^not ok 1 .*hangs.sh # TIMEOUT 3 seconds' "$tmp/e"
check_eq "lib.sh: scaled 4 without ESPTUN_TIMEOUT_SCALE" \
	"$(env -u ESPTUN_TIMEOUT_SCALE bash -c ". $tmp/inst/lib.sh; scaled 4; scaled_ns 4")" \
	"$(printf '4\n4000000000')"
check_eq "lib.sh: scaled 4 with ESPTUN_TIMEOUT_SCALE=2.5" \
	"$(ESPTUN_TIMEOUT_SCALE=2.5 bash -c ". $tmp/inst/lib.sh; scaled 4; scaled_ns 4")" \
	"$(printf '10\n10000000000')"
finish
