#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: uapi/esptun.yaml is the one source of the ABI.  Everything
# generated from it (uapi/gen.py) is committed as generated, a hand edit is
# caught, the header stands alone, and no attribute table or policy exists
# outside the generated files.
. "$(dirname "$0")/lib.sh"
gen=$ESPTUN_REPO/uapi/gen.py
python3 -c 'import yaml' 2>/dev/null || skip_all "python3-yaml missing"

check "the generated files are what uapi/esptun.yaml generates" "$gen" --check

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generated=$(cd "$ESPTUN_REPO" && python3 -c '
import sys; sys.path.insert(0, "uapi"); import gen
print(" ".join(rel for rel, _ in gen.OUTPUTS))')
(cd "$ESPTUN_REPO" && cp --parents $generated "$tmp")
check "a copy of the tree checks clean" "$gen" --check --root "$tmp"
sed -i 's/ESPTUN_A_IFNAME,/ESPTUN_A_IFNAME = 5,/' "$tmp/uapi/linux/esptun.h"
check_err "a hand-edited header is caught" \
	"uapi/linux/esptun.h differs from uapi/esptun.yaml: run make gen" \
	"$gen" --check --root "$tmp"
rm "$tmp/kmod/netlink-gen.c"
check_err "a missing generated file is caught" "kmod/netlink-gen.c differs" \
	"$gen" --check --root "$tmp"

# The ABI header compiles alone, as C and as C++, with every warning.
for lang in c c++; do
	check "the uapi header compiles alone as $lang" \
		sh -c "echo '#include <linux/esptun.h>' | gcc -x $lang -fsyntax-only -Wall -Wextra -Werror -I'$ESPTUN_REPO/uapi' -"
done

# No attribute list outside the generated files: no policy, and no table
# indexed by attribute, anywhere else in C; no attribute number in Python.
others=$(cd "$ESPTUN_REPO" && git ls-files -- '*.c' '*.h' '*.py' | grep -vxF -f <(tr ' ' '\n' <<<"$generated"))
check_eq "no netlink policy outside the generated files" \
	"$(cd "$ESPTUN_REPO" && grep -lE 'struct nla_policy [a-z0-9_]+\[' $others)" ""
check_eq "no table indexed by attribute outside them" \
	"$(cd "$ESPTUN_REPO" && grep -lE '\[ESPTUN_A_[A-Z0-9_]+\][[:space:]]*=' $others)" ""
check_eq "no Python file numbers the family's attributes itself" \
	"$(cd "$ESPTUN_REPO" && grep -lE '^(A|SA|TUNNEL|CMD)_[A-Z_, ]+= *[0-9]' $others)" ""
finish
