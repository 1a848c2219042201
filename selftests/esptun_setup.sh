#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# esptun-setup, what esptun@NAME.service runs: a configuration file
# becomes a device with its MTU, addresses, tunnels, SAs and routes, and
# stop removes it; a file it cannot read changes nothing, a command the
# kernel refuses leaves no device, keys are never printed, and a device
# of the name that is not esptun is left alone.  ESPTUN_SETUP names the
# helper under test (the packaged one in make check-long's deb.sh).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_module

setup=${ESPTUN_SETUP:-$ESPTUN_REPO/userspace/systemd/esptun-setup}
conf=$(mktemp -d)
trap 'rm -rf "$conf"; _cleanup' EXIT
export ESPTUN_CONFDIR=$conf
new_netns es
in_es() { in_ns es "$@"; }
# The device's tunnels and SAs as "id remote pins | dir spi ...".
state() {
	in_es esptun show "$1" --json | py 'import json, sys
for t in json.load(sys.stdin)[0]["tunnels"]:
    print(t["id"], t["remote"], ",".join(t["pins"]), "|",
          " ".join("%s %#x" % (s["dir"], s["spi"]) for s in t["sas"]))'
}

leak_mark
k_out=$(new_key 36)
k_in=$(new_key 20)
echo "$k_in" > "$conf/lab-in.key"
cat > "$conf/lab.conf" <<EOF
# a lab gateway
device lab0
mtu 1400
address 169.254.10.2/30
address fd00:10::2/64   # inside, IPv6
tunnel id 1 local 192.0.2.1 remote 192.0.2.2 pin 169.254.10.1 keepalive 10
tunnel id 2 local 192.0.2.1 remote 192.0.2.3 weight 2
sa tunnel 1 dir out spi 0x100 key $k_out
sa tunnel 1 dir in spi 0x101 key @$conf/lab-in.key replay-window 64
route 10.20.0.0/16
EOF
chmod 600 "$conf/lab.conf"
ip -n es link add veth0 type veth peer name veth1
ip -n es addr add 192.0.2.1/24 dev veth0
ip -n es link set veth0 up

out=$(in_es "$setup" start lab 2>&1)
check_eq "start succeeds and says so" "$out" "esptun-setup: lab0 up ($conf/lab.conf)"
check "the device is an esptun device" sh -c \
	"ip -n es -o link show type esptun | grep -q ': lab0:'"
check_eq "its MTU" "$(ip -n es -o link show lab0 | grep -o 'mtu [0-9]*')" "mtu 1400"
check "it is up" sh -c "ip -n es -o link show lab0 | grep -q '<[^>]*,UP'"
check_eq "its inside addresses" \
	"$(ip -n es -o addr show dev lab0 scope global | awk '{ print $4 }' | sort | tr '\n' ' ')" \
	"169.254.10.2/30 fd00:10::2/64 "
check_eq "its tunnels and SAs" "$(state lab0)" \
"1 192.0.2.2 169.254.10.1 | out 0x100 in 0x101
2 192.0.2.3  | "
check "the route into it" sh -c \
	"ip -n es route show 10.20.0.0/16 | grep -q '^10.20.0.0/16 dev lab0 '"
check_err "starting again fails: the device exists" "lab0 already exists" \
	in_es "$setup" start lab
check_eq "and leaves it as it was" "$(state lab0)" \
"1 192.0.2.2 169.254.10.1 | out 0x100 in 0x101
2 192.0.2.3  | "
check_eq "stop deletes it" "$(in_es "$setup" stop lab 2>&1)" "esptun-setup: lab0 deleted"
check "it is gone" sh -c "! ip -n es link show lab0 2>/dev/null"
check_eq "stop when it is gone succeeds" "$(in_es "$setup" stop lab 2>&1; echo "rc=$?")" \
	"esptun-setup: lab0 is already gone
rc=0"

# Without a device line the file's name is the device's; a tunnel the
# kernel refuses (two tunnels between one pair of addresses) deletes the
# device again, and the message shows the command without its key (a
# new one: lab0 may have sent under k_out, and a key never sends a
# sequence number twice).
k7=$(new_key 36)
cat > "$conf/esp7.conf" <<EOF
tunnel id 1 local 192.0.2.1 remote 192.0.2.9
sa tunnel 1 dir out spi 0x700 key $k7
tunnel id 2 local 192.0.2.1 remote 192.0.2.9
EOF
chmod 600 "$conf/esp7.conf"
out=$(in_es "$setup" start esp7 2>&1); rc=$?
log "$out"
check_eq "a refused command fails the start" "$rc" 1
check "and names the command" grep -q \
	"failed: esptun tunnel add esp7 id 2 local 192.0.2.1 remote 192.0.2.9" <<<"$out"
check "with the kernel's reason" grep -q "^esptun: tunnel add esp7 id 2" <<<"$out"
check "and leaves no device" sh -c "! ip -n es link show esp7 2>/dev/null"

# The first try sent under k7 (the device was up): the next takes its own.
k7b=$(new_key 36)
sed -i -e "s/$k7/$k7b/" -e 's/^tunnel id 2 .*/sa tunnel 1 dir in spi 0x701 key 0x0102/' \
	"$conf/esp7.conf"
out=$(in_es "$setup" start esp7 2>&1)
log "$out"
check "a refused SA shows its key masked" grep -q \
	"failed: esptun sa add esp7 tunnel 1 dir in spi 0x701 key (key)" <<<"$out"
check_eq "no key is ever printed" \
	"$(grep -Ec "${k7b#0x}|0x0102" <<<"$out")" 0
check "and no device is left" sh -c "! ip -n es link show esp7 2>/dev/null"

printf 'mtu 1400\ntunel id 1 local 192.0.2.1 remote 192.0.2.5\n' > "$conf/esp8.conf"
check_err "an unknown keyword fails with its line" \
	"esp8.conf:2: unknown keyword \"tunel\"" in_es "$setup" start esp8
check "before anything was made" sh -c "! ip -n es link show esp8 2>/dev/null"
check_err "a missing file fails" "esp9.conf: cannot read it" in_es "$setup" start esp9

# stop removes only an esptun device: another of the name stays.
ip -n es link add esp8 type dummy
check_err "stop leaves a device of the name that is not esptun" \
	"esp8 is not an esptun device" in_es "$setup" stop esp8
check "it is still there" ip -n es link show esp8
ip -n es link del esp8
check_err "start refuses the name of an existing device too" \
	"veth0 already exists" sh -c "echo 'device veth0' > '$conf/v.conf'; ip netns exec es '$setup' start v"

ip netns del es
_netns=()
leak_check "every device, tunnel and SA freed" 6
finish
