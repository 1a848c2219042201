#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: esptun@.service as `make install` writes it passes
# `systemd-analyze verify` (its helper where ExecStart says, ordered before
# the IKE and routing daemons), and the helper reads configuration files
# as esptun.conf(5) says, without root: `esptun-setup check` prints the
# commands start would run, keys masked, and refuses what start would.
# Creating and removing the device is selftests/esptun_setup.sh's, in the
# guest.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || skip_all "systemd-analyze missing (systemd)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; _cleanup' EXIT
# verify in a root of its own: the unit beside a copy of this machine's
# units (systemd's targets), its ExecStart looked up in that root, its
# Documentation= pages where man finds them.
root=$tmp/root
mkdir -p "$root/etc/systemd/system" "$root/lib/systemd" "$tmp/man/man5" "$tmp/man/man8"
cp -a /lib/systemd/system "$root/lib/systemd/"
make -s -C "$ESPTUN_REPO/userspace" install-systemd DESTDIR="$root" PREFIX=/usr ||
	{ fail "make install-systemd"; finish; }
unit=$root/lib/systemd/system/esptun@.service
check "the unit is installed" test -f "$unit"
check "its helper is installed, executable" test -x "$root/usr/libexec/esptun/esptun-setup"
cp "$ESPTUN_REPO/userspace/man/esptun.conf.5" "$tmp/man/man5/"
cp "$ESPTUN_REPO/userspace/man/esptun.8" "$tmp/man/man8/"
verify() { MANPATH=$tmp/man systemd-analyze verify --root="$1" "$2" 2>&1; }
check_eq "systemd-analyze verify esptun@esp0.service is silent" \
	"$(verify "$root" esptun@esp0.service; echo "rc=$?")" "rc=0"
# verify's exit status alone is not enough (it exits 0 on some problems it
# prints), and a check that cannot fail proves nothing: a unit whose
# helper is missing is reported.
mv "$root/usr/libexec/esptun/esptun-setup" "$tmp/"
check "a unit whose helper is missing is reported" sh -c \
	"MANPATH='$tmp/man' systemd-analyze verify --root='$root' esptun@esp0.service 2>&1 |
	 grep -q 'esptun-setup'"
mv "$tmp/esptun-setup" "$root/usr/libexec/esptun/"

props() {
	sed -n "s/^$1=//p" "$unit" | tr ' ' '\n' | sort | tr '\n' ' '
}
check_eq "it starts before the IKE daemon, FRR and network.target" "$(props Before)" \
	"frr.service network.target strongswan-starter.service strongswan.service "
check_eq "it runs the helper with the instance name" \
	"$(sed -n 's/^Exec\(St[a-z]*\)=/\1 /p' "$unit")" \
	"Start /usr/libexec/esptun/esptun-setup start %i
Stop /usr/libexec/esptun/esptun-setup stop %i"
check_eq "a oneshot that stays active until stopped" \
	"$(sed -n 's/^\(Type\|RemainAfterExit\)=//p' "$unit" | tr '\n' ' ')" "oneshot yes "

# The helper's reading of a file.
setup=$ESPTUN_REPO/userspace/systemd/esptun-setup
export ESPTUN_CONFDIR=$tmp/conf
mkdir -p "$ESPTUN_CONFDIR"
c() { printf '%s\n' "$@" > "$ESPTUN_CONFDIR/t.conf"; }
c "# a comment" "" "mtu 1446   # AWS" "address 169.254.10.2/30" \
  "tunnel id 1 local 198.51.100.10 remote 203.0.113.10 pin 169.254.10.1" \
  "address fd00::2/64" "sa tunnel 1 dir out spi 0x100 key 0x0102030405060708090a0b0c0d0e0f1011121314" \
  "sa tunnel 1 dir in spi 0x101 key @/etc/esptun/t1-in.key" "route 10.2.0.0/16 metric 10"
chmod 600 "$ESPTUN_CONFDIR/t.conf"
check_eq "check prints start's commands in order, key masked" "$("$setup" check t 2>&1)" \
"ip link add t type esptun
ip link set t mtu 1446
ip address add 169.254.10.2/30 dev t
ip address add fd00::2/64 dev t
ip link set t up
esptun tunnel add t id 1 local 198.51.100.10 remote 203.0.113.10 pin 169.254.10.1
esptun sa add t tunnel 1 dir out spi 0x100 key (key)
esptun sa add t tunnel 1 dir in spi 0x101 key @/etc/esptun/t1-in.key
ip route add 10.2.0.0/16 metric 10 dev t"
chmod 644 "$ESPTUN_CONFDIR/t.conf"
check_err "a key in a file others can read is warned about" \
	't.conf:7: a key in a file others can read' sh -c "'$setup' check t >/dev/null; exit 1"
c "device esp9" "mtu 1400"
check_eq "device names the device" "$("$setup" check t | head -n 1)" "ip link add esp9 type esptun"
c "tunnel id 1 local 192.0.2.1 remote 192.0.2.2" "device esp9"
check_err "device after what goes on it is refused" 't.conf:2: device must come before' "$setup" check t
c "mtu" "address 10.0.0.1/24"
check_err "a keyword without its value is refused" 't.conf:1: mtu takes one number' "$setup" check t
c "address 10.0.0.1/24 10.0.0.2/24"
check_err "address takes one" 't.conf:1: address takes one' "$setup" check t
c "sa tunnel 1 dir in spi 0x101 key -"
check_err "key - (stdin, which a unit lacks) is refused" 't.conf:1: key - reads stdin' "$setup" check t
c "ipaddress 10.0.0.1/24"
check_err "an unknown keyword is refused with its line" \
	't.conf:1: unknown keyword "ipaddress"' "$setup" check t
c "device esptun-too-long-name"
check_err "a name too long for a device is refused" 'too long' "$setup" check t
check_err "a configuration name with a / is refused" 'is not a configuration name' \
	"$setup" check ../t
check_err "a missing file is reported" 'nope.conf: cannot read it' "$setup" check nope
out=$("$setup" frob t 2>&1); rc=$?
check_eq "an unknown action is a usage error" "$rc:$out" "2:usage: esptun-setup start|stop|check NAME"
finish
