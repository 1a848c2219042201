#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side, in make check-long: ordering under more parallelism than the
# suite's 2-vCPU guests have.  order.sh (sequence numbers on the wire in
# order, no segment queued out of order by either TCP receiver, nothing
# dropped as replayed) in a guest with 8 vCPUs, more than this host has
# cores: slow, but eight CPUs really do crypto and hand packets on at once
# (parallel.c, order.c).  About 3 minutes here.
. "$(dirname "$0")/lib.sh"

[ -x "$(command -v qemu-system-x86_64)" ] || skip_all "qemu-system-x86_64 missing"
out=$(ESPTUN_VM_SMP=8 "$ESPTUN_REPO/selftests/vm/run" sh -c \
	'echo "vCPUs: $(nproc)"; selftests/harness order.sh' 2>&1)
rc=$?
sed 's/^/# /' <<<"$out"
check_eq "the guest had 8 vCPUs" "$(grep -o 'vCPUs: [0-9]*' <<<"$out")" "vCPUs: 8"
check_eq "order.sh passed with 8 vCPUs, the kernel log clean" "$rc" 0
finish
