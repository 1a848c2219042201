#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side, make check-long: the Debian packages end to end.  make deb
# (from a copy of the tree, lintian clean), each package holding what it
# should, esptun-dkms installed on this machine and built by DKMS for the
# kernel the guest boots, then that module and the packaged tool (unpacked
# into a scratch root) passing interop.sh and esptun_setup.sh in the
# guest.  esptun-dkms is purged again if this test installed it.  Needs
# root (dpkg, dkms) and the network the first time strongswan-esptun's
# strongSwan tree is prepared.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (dpkg -i, dkms)"
[ -z "${ESPTUN_IN_VM:-}" ] || skip_all "runs on the host, not in the guest"
for c in dpkg-buildpackage dh dkms lintian qemu-system-x86_64; do
	command -v "$c" >/dev/null || skip_all "$c missing (selftests/install-deps)"
done

# Under the repository, not /tmp: the guest sees the host's /tmp as an
# empty tmpfs, and the repository has an export of its own.
work=$ESPTUN_REPO/build/deb-check
rm -rf "$work"
mkdir -p "$work"
dkms_was=$(dpkg-query -W -f='${Status}' esptun-dkms 2>/dev/null)
# shellcheck disable=SC2317 # the EXIT trap runs it
cleanup() {
	# Leave the machine as it was: a module this test had DKMS build
	# goes with its package.
	if [ "$dkms_was" != "install ok installed" ] &&
	   dpkg-query -W esptun-dkms >/dev/null 2>&1; then
		dpkg --purge esptun-dkms >/dev/null 2>&1
	fi
	rm -rf "$work"
	_cleanup
}
trap cleanup EXIT

version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$ESPTUN_REPO/debian/changelog")
kdir=$(printf 'include Makefile\nprint-kdir:\n\t@echo $(KDIR)\n' |
	make -s --no-print-directory -C "$ESPTUN_REPO" -f - print-kdir)
kver=$(basename "$(dirname "$kdir")")
log "esptun $version, kernel $kver"

tree_state() {
	git -C "$ESPTUN_REPO" status --porcelain --ignored -- . ':!build' 2>&1
}
before=$(tree_state)
start=$SECONDS
make -C "$ESPTUN_REPO" deb DEB_DIR="$work/deb" > "$work/make.log" 2>&1
rc=$?
check_eq "make deb succeeds, lintian included ($((SECONDS - start)) s)" "$rc" 0
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$work/make.log" | tail -n 40; finish; }
check_eq "lintian says nothing" \
	"$(sed -n '/^lintian /,$p' "$work/make.log" | grep -E '^[EWIPXO]: ')" ""
check_eq "make deb writes nothing into the tree outside build/" "$(tree_state)" "$before"

deb() { echo "$work/deb/$1_${version}_$2.deb"; }
for p in esptun-dkms:all esptun-tools:amd64 libesptun1:amd64 libesptun-dev:amd64 \
	 strongswan-esptun:amd64; do
	check "${p%:*} built" test -f "$(deb "${p%:*}" "${p#*:}")"
done
has() { # PACKAGE ARCH PATH...: the package holds each PATH
	local d p miss=""
	d=$(dpkg-deb -c "$(deb "$1" "$2")" | awk '{ print $6 }')
	for p in "${@:3}"; do
		grep -qxF "./$p" <<<"$d" || miss="$miss $p"
	done
	check_eq "$1 holds ${*:3}" "$miss" ""
}
has esptun-tools amd64 usr/sbin/esptun usr/share/man/man8/esptun.8.gz \
	usr/share/man/man5/esptun.conf.5.gz usr/share/bash-completion/completions/esptun \
	lib/systemd/system/esptun@.service usr/libexec/esptun/esptun-setup
has libesptun1 amd64 usr/lib/x86_64-linux-gnu/libesptun.so.1.3.0
has libesptun-dev amd64 usr/include/esptun.h usr/include/esptun/linux/esptun.h \
	usr/lib/x86_64-linux-gnu/libesptun.a usr/lib/x86_64-linux-gnu/pkgconfig/libesptun.pc \
	usr/share/man/man3/libesptun.3.gz
has strongswan-esptun amd64 usr/lib/ipsec/plugins/libstrongswan-kernel-esptun.so \
	etc/strongswan.d/charon/kernel-esptun.conf
has esptun-dkms all "usr/src/esptun-$version/dkms.conf" "usr/src/esptun-$version/Kbuild" \
	"usr/src/esptun-$version/kmod/main.c" "usr/src/esptun-$version/uapi/linux/esptun.h"
check_eq "dkms.conf carries the changelog's version" \
	"$(dpkg-deb --fsys-tarfile "$(deb esptun-dkms all)" |
	   tar -xOf - "./usr/src/esptun-$version/dkms.conf" | sed -n 's/^PACKAGE_VERSION=//p')" \
	"\"$version\""
check_eq "libesptun1's soname and symbols file" \
	"$(dpkg-deb --ctrl-tarfile "$(deb libesptun1 amd64)" | tar -xOf - ./shlibs)" \
	"libesptun 1 libesptun1 (>= $version)"
check "libesptun1 has a symbols file" sh -c \
	"dpkg-deb --ctrl-tarfile '$(deb libesptun1 amd64)' | tar -xOf - ./symbols | grep -q '^ esptun_sa_rekey@LIBESPTUN_1.0 '"
ss=$(dpkg-query -W -f='${Version}' libstrongswan 2>/dev/null)
check "strongswan-esptun depends on exactly the strongSwan it was built for ($ss)" sh -c \
	"dpkg-deb -f '$(deb strongswan-esptun amd64)' Depends | grep -qF 'libstrongswan (= $ss)'"
# charon loads its plugins after its own libraries: so loaded, the
# packaged plugin (no RUNPATH, Debian's hardening flags) resolves every
# symbol and has its entry point.  ike.sh runs the tree's build of it.
dpkg-deb -x "$(deb strongswan-esptun amd64)" "$work/ss"
check "the packaged plugin loads next to charon's libraries" python3 -c '
import ctypes, sys
for lib in ("libstrongswan.so.0", "libcharon.so.0"):
    ctypes.CDLL("/usr/lib/ipsec/" + lib, mode=ctypes.RTLD_GLOBAL)
assert ctypes.CDLL(sys.argv[1]).kernel_esptun_plugin_create' \
	"$work/ss/usr/lib/ipsec/plugins/libstrongswan-kernel-esptun.so"

# DKMS, on this machine, for the guest's kernel.
start=$SECONDS
dpkg -i "$(deb esptun-dkms all)" > "$work/dpkg.log" 2>&1
rc=$?
check_eq "esptun-dkms installs ($((SECONDS - start)) s)" "$rc" 0
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$work/dpkg.log" | tail -n 40; finish; }
st=$(dkms status "esptun/$version" -k "$kver" 2>&1)
log "dkms status: $st"
check "dkms status: built and installed for $kver" \
	grep -q "^esptun/$version, $kver, [^:]*: installed" <<<"$st"
ko=$(ls "/lib/modules/$kver/updates/dkms/esptun.ko"* 2>/dev/null | head -n 1)
check "the module DKMS built is in place" test -n "$ko"
[ -n "$ko" ] || finish
check_eq "it is built for $kver" "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" "$kver"
differ=""
for f in "/usr/src/esptun-$version"/kmod/* "/usr/src/esptun-$version/uapi/linux/esptun.h"; do
	cmp -s "$f" "$ESPTUN_REPO/${f#/usr/src/esptun-"$version"/}" || differ="$differ $f"
done
check_eq "the source DKMS built is the tree's" "$differ" ""
cp "$ko" "$work/"
ko=$work/$(basename "$ko")

# The tool and the helper as packaged, in a scratch root.
dpkg-deb -x "$(deb esptun-tools amd64)" "$work/root"
check "the packaged tool runs" sh -c "'$work/root/usr/sbin/esptun' help | grep -q '^Usage: esptun'"

start=$SECONDS
out=$(ESPTUN_VM_MODULE=$ko ESPTUN_VM_TOOLS=$work/root/usr/sbin \
	ESPTUN_VM_TIMEOUT=${ESPTUN_VM_TIMEOUT:-1500} "$ESPTUN_REPO/selftests/vm/run" \
	env ESPTUN_SETUP="$work/root/usr/libexec/esptun/esptun-setup" bash -c '
	echo "tool: $(command -v esptun)"
	test -d /sys/module/esptun && echo "module: $ESPTUN_VM_MODULE"
	exec selftests/harness interop.sh esptun_setup.sh' 2>&1)
rc=$?
sed 's/^/  /' <<<"$out"
check_eq "the packaged module and tool pass interop.sh and esptun_setup.sh in the guest ($((SECONDS - start)) s)" \
	"$rc" 0
check_eq "the guest ran the packaged tool" \
	"$(sed -n 's/^tool: //p' <<<"$out" | tr -d '\r')" "$work/root/usr/sbin/esptun"
check_eq "and the module DKMS built" \
	"$(sed -n 's/^module: //p' <<<"$out" | tr -d '\r')" "$ko"

if [ "$dkms_was" != "install ok installed" ]; then
	dpkg --purge esptun-dkms > "$work/dpkg.log" 2>&1
	check_eq "purging esptun-dkms removes the module from DKMS" \
		"$(dkms status esptun 2>&1)" ""
	check "and from /lib/modules" sh -c "! ls /lib/modules/$kver/updates/dkms/esptun.ko* 2>/dev/null"
fi
finish
