#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the uapi header agrees with the YAML spec, and the check itself
# notices a header that drifted.
. "$(dirname "$0")/lib.sh"
check_py=$ESPTUN_REPO/selftests/uapi_check.py
spec=$ESPTUN_REPO/uapi/esptun.yaml
hdr=$ESPTUN_REPO/uapi/linux/esptun.h
python3 -c 'import yaml' 2>/dev/null || skip_all "python3-yaml missing"

check "uapi/linux/esptun.h agrees with uapi/esptun.yaml" "$check_py" "$spec" "$hdr"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/linux"
sed 's/ESPTUN_A_IFNAME,/ESPTUN_A_IFNAME = 5,/' "$hdr" > "$tmp/linux/esptun.h"
check_err "a renumbered attribute is caught" "ESPTUN_A_IFNAME is 5, the spec says 2" \
	"$check_py" "$spec" "$tmp/linux/esptun.h"
sed 's/ESPTUN_A_IFNAME,/ESPTUN_A_IFNAME,\n\tESPTUN_A_EXTRA,/' "$hdr" > "$tmp/linux/esptun.h"
check_err "an attribute missing from the spec is caught" "ESPTUN_A_EXTRA is not in" \
	"$check_py" "$spec" "$tmp/linux/esptun.h"
grep -v 'ESPTUN_CMD_DEV_GET' "$hdr" > "$tmp/linux/esptun.h"
check_err "a command missing from the header is caught" "ESPTUN_CMD_DEV_GET \(from the spec\) is missing" \
	"$check_py" "$spec" "$tmp/linux/esptun.h"
finish
