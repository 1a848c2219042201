#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A short run of the benchmark (selftests/bench/run, 2 s per measurement):
# it completes and its JSON has every figure, numeric and non-zero (TCP
# retransmits may be zero), the cost of each of esptun's stages (arrival,
# crypto, delivery, both ways, both sizes) included.  No speed threshold:
# under TCG speeds mean nothing, and the benchmark's job is to report them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_module
command -v iperf3 >/dev/null || skip_all "iperf3 missing"

bench=$ESPTUN_REPO/selftests/bench
out=$(mktemp /tmp/bench_smoke.XXXXXX.json)
log=$(mktemp /tmp/bench_smoke.XXXXXX.log)
trap 'rm -f "$out" "$log"; _cleanup' EXIT

start=$SECONDS
if BENCH_TIME=${BENCH_SMOKE_TIME:-2} BENCH_ROUNDS=1 BENCH_FLOWS=4 BENCH_OUT=$out \
   ESPTUN_BENCH_NOVM=1 "$bench/run" > "$log" 2>&1; then
	pass "the benchmark completes ($((SECONDS - start)) s)"
else
	fail "the benchmark failed after $((SECONDS - start)) s"
fi
sed 's/^/# /' "$log"
[ -s "$out" ] || { fail "no JSON written"; finish; }

# One assertion per figure, so that a missing one is named.
while read -r status what; do
	case $status in
	ok) pass "$what" ;;
	*) fail "$what" ;;
	esac
done < <(python3 -S "$bench/bench.py" validate "$out")
if grep -q "esptun -> XFRM" "$log"; then
	pass "the table is printed"
else
	fail "no table in the output"
fi
if grep -q "esptun stage costs" "$log"; then
	pass "the cost table is printed"
else
	fail "no cost table in the output"
fi
# Corruption is never load: ICV failures and malformed packets, at esptun or
# at the XFRM peer decrypting esptun's packets (its SAs' "integrity failed"
# counter), stay zero whatever the speed.  XfrmInStateProtoError is not
# one: it also counts requests AES-NI's cryptd fallback refused with its
# queue full, which a 6.1 kernel under load does (its softirqs cannot use
# the FPU when they interrupt a task that holds it), while no ICV failed.
check_eq "no ICV failures or malformed packets on either side" \
	"$(python3 -S -c 'import json, re, sys
a = json.load(open(sys.argv[1]))["meta"]["anomalies"]
print([x for x in a if re.search(
    "auth_fail|malformed|ICV failed [1-9]", x)])' "$out")" "[]"
finish
