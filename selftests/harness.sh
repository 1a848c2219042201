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

"$tmp/harness" fails.sh skips.sh hangs.sh > "$tmp/c" 2>&1
check_eq "a failing list fails the run" "$?" 1
check "a failure is not ok" grep -q '^not ok 1 selftests: esptun: fails.sh # exit=1' "$tmp/c"
check "exit 4 is a skip" grep -q '^ok 2 selftests: esptun: skips.sh # SKIP' "$tmp/c"
check "the settings timeout applies" grep -q '^not ok 3 .*hangs.sh # TIMEOUT 2 seconds' "$tmp/c"
check "the summary counts them" grep -q '^0 passed, 2 failed, 1 skipped' "$tmp/c"
"$tmp/harness" slow.sh > "$tmp/d" 2>&1
check "a test's own timeout (timeout.NAME) replaces the default" \
	grep -q '^ok 1 selftests: esptun: slow.sh$' "$tmp/d"
finish
