#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the manual pages render without a groff warning and name what
# the tool, the library and the boot helper take (a keyword added to the
# tool but not to esptun(8) is caught), and README.rst is valid
# reStructuredText.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v man >/dev/null || skip_all "man missing (man-db)"

man_dir=$ESPTUN_REPO/userspace/man
for page in esptun.8 esptun.conf.5 libesptun.3; do
	# man --warnings is groff -ww: any warning is printed on stderr.
	check_eq "$page renders without a warning" \
		"$(MANWIDTH=80 man --warnings -E UTF-8 -l "$man_dir/$page" 2>&1 >/dev/null)" ""
done
# The check is not vacuous: a page with a mistake in it is reported.
bad=$(mktemp)
trap 'rm -f "$bad"; _cleanup' EXIT
printf '.TH X 1\n.SH NAME\nx \\- y\n.BOGUS\n\\fQ\n' > "$bad"
check "a broken page is reported" sh -c \
	"MANWIDTH=80 man --warnings -E UTF-8 -l '$bad' 2>&1 >/dev/null | grep -q ."

# What the tool's usage names, esptun(8) names: every keyword and every
# subcommand of every command.
rendered=$(MANWIDTH=200 man -E UTF-8 -l "$man_dir/esptun.8" 2>/dev/null)
tool=$ESPTUN_REPO/userspace/esptun
if [ -x "$tool" ]; then
	missing=""
	# The syntax lines, not the prose: "esptun ..." and their "[...]"
	# continuations.
	for w in $("$tool" help | grep -E '^ *esptun |^ +\[' |
		   grep -oE '(^|[ [|])(-{0,2}[a-z][a-z-]*)' | tr -d ' [|' | sort -u); do
		grep -qwe "$w" <<<"$rendered" || missing="$missing $w"
	done
	check_eq "esptun(8) names every word of the tool's usage" "$missing" ""
else
	log "userspace/esptun not built: usage comparison skipped"
fi
missing_fn=""
while read -r f; do
	grep -q "^\.BR* $f\b" "$man_dir/libesptun.3" || missing_fn="$missing_fn $f"
done < <(sed -n 's/^[[:space:]]*\(esptun_[a-z_]*\);$/\1/p' \
	"$ESPTUN_REPO/userspace/lib/libesptun.map")
check_eq "libesptun(3) describes every exported function" "$missing_fn" ""
kws=$(sed -n 's/.*unknown keyword.*(\(.*\))".*/\1/p' \
	"$ESPTUN_REPO/userspace/systemd/esptun-setup" | tr -d ',' | sed 's/ or / /')
missing=""
for k in $kws; do
	grep -q "^\.BI* $k\b" "$man_dir/esptun.conf.5" || missing="$missing $k"
done
check_eq "esptun.conf(5) describes every keyword esptun-setup reads ($kws)" "$missing" ""

if python3 -c 'import docutils' 2>/dev/null; then
	# As README.rst's own instructions: errors and warnings fail.
	check "README.rst is valid reStructuredText" python3 -c '
import docutils.core, sys
docutils.core.publish_string(open(sys.argv[1]).read(), writer_name="null",
    settings_overrides={"report_level": 2, "halt_level": 2})' "$ESPTUN_REPO/README.rst"
else
	fail "python3-docutils missing: README.rst not checked"
fi
finish
