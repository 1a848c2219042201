# SPDX-License-Identifier: GPL-2.0
#
# make            build kmod/esptun.ko (W=1), userspace/esptun and libesptun
# make check      install what is missing, build, run every test in guests
#                 side by side (ESPTUN_CHECK_GUESTS=, default one per
#                 ESPTUN_VM_SMP host cores)
# make check-long the slow tests: the Debian packages end to end (host, then a
#                 guest), benchmark smoke and demo in a guest
# make check-debug the guest suite on a debug kernel (KASAN, UBSAN, lockdep,
#                 DEBUG_OBJECTS, kmemleak) built once from linux-source-6.1
#                 and cached; TESTS="sa.sh ..." for some tests only
#                 (README.rst, "The debug kernel")
# make demo       the README's AWS example (two tunnels, failover), in a guest
# make bench      esptun vs XFRM vs veth throughput, in a guest (BENCH_OUT=,
#                 BENCH_TIME=); README.rst, "Benchmark"
# make bench-host the same with the peer on this host, not in the guest
#                 (root; libssl-dev); results in selftests/bench/results-host.json
# make sparse     build the module under sparse (C=2)
# make install    install the module (updates/), the tool, libesptun
#                 (header, static and shared library, libesptun.pc), the
#                 man pages, bash completion and esptun@.service;
#                 PREFIX=/usr, DESTDIR=
# make checkpatch run checkpatch.pl --strict on kmod/ and uapi/
# make strongswan the kernel-esptun charon plugin (userspace/strongswan;
#                 the first run fetches and configures strongSwan's source:
#                 root, a few minutes); `make install` then installs it too
# make gen        regenerate the header, policies and tables from
#                 uapi/esptun.yaml (uapi/gen.py; make check fails on a diff)
# make deb        the Debian packages (esptun-dkms, esptun-tools, libesptun1,
#                 libesptun-dev, strongswan-esptun) in build/deb (DEB_DIR=),
#                 built in a copy of the tree, then lintian; README.rst,
#                 "Debian packages"

# The running kernel's headers when it has them, else the newest installed
# (machines whose running kernel is a sandbox without headers).
KVER_RUNNING := $(shell uname -r)
ifneq ($(wildcard /lib/modules/$(KVER_RUNNING)/build),)
KDIR ?= /lib/modules/$(KVER_RUNNING)/build
else
KDIR ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
endif

TOP := $(CURDIR)
KMAKE = $(MAKE) -C $(KDIR) M=$(TOP)

all: module tool

module: check-kdir
	$(KMAKE) W=1 modules

tool:
	$(MAKE) -C userspace

check-kdir:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
	  echo "No kernel headers found: apt-get install linux-headers-amd64, or make KDIR=..." >&2; \
	  exit 1; }

sparse: check-kdir
	$(KMAKE) W=1 C=2 modules

# DESTDIR= stages everything (module included) under a directory;
# PREFIX= (default /usr) places the tool, libesptun and its header.
install: all
	$(KMAKE) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates modules_install
	$(MAKE) -C userspace install
	if [ -f userspace/strongswan/libstrongswan-kernel-esptun.so ]; then \
		$(MAKE) -C userspace/strongswan install; fi
	-$(if $(DESTDIR),depmod -b $(DESTDIR),depmod) -a $(notdir $(patsubst %/build,%,$(KDIR)))

strongswan: tool
	$(MAKE) -C userspace/strongswan

checkpatch:
	selftests/checkpatch

gen:
	uapi/gen.py

# A copy of the tree's files (tracked or new, not ignored) in DEB_DIR: the
# build writes nothing into the tree, whose own build (W=1, sparse) never
# sees the packaging's objects.  prepare runs here, not in debian/rules,
# because its first run needs root and apt (README.rst, "Using esptun
# with strongSwan").
DEB_DIR ?= $(TOP)/build/deb
DEB_VERSION = $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB_SRC = $(DEB_DIR)/esptun-$(DEB_VERSION)
comma := ,
LINTIAN ?= $(if $(shell command -v lintian),lintian --fail-on error$(comma)warning)
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
		tar --null -T - --ignore-failed-read -cf -; \
	else \
		tar --exclude=./build --exclude=./.git -cf - .; \
	fi | tar -xf - -C $(DEB_SRC)
	ss=""; \
	if ! echo " $$DEB_BUILD_PROFILES " | grep -q ' pkg.esptun.nostrongswan '; then \
		ss=$$(userspace/strongswan/prepare) || exit 1; fi; \
	cd $(DEB_SRC) && ESPTUN_SS_TREE=$$ss dpkg-buildpackage -us -uc
	$(if $(LINTIAN),$(LINTIAN) $(DEB_DIR)/esptun_$(DEB_VERSION)_*.changes,\
		@echo "lintian not installed: packages not checked")
	@ls -1 $(DEB_DIR)/*.deb

check:
	selftests/check

check-long:
	selftests/check --long

check-debug:
	selftests/check-debug $(TESTS)

# The README's AWS-shaped example in the test guest, from a fresh machine:
# packages, build, guest.  On a gateway with the module loaded, run
# selftests/demo.sh as root instead.
demo:
	selftests/install-deps
	$(MAKE) all
	selftests/vm/run selftests/demo.sh

# In the guest, or directly as root on a host with the module loaded
# (selftests/bench/run decides).  The table goes to stdout, the figures to
# BENCH_OUT as JSON.
BENCH_OUT ?= selftests/bench/results.json
BENCH_TIME ?= 10
bench: all
	BENCH_OUT=$(BENCH_OUT) BENCH_TIME=$(BENCH_TIME) selftests/bench/run

# The guest as the gateway, the peer in user space on this host, so that the
# gateway's CPUs are its own (selftests/bench/host-peer).
BENCH_HOST_OUT ?= selftests/bench/results-host.json
bench-host: all
	BENCH_OUT=$(BENCH_HOST_OUT) BENCH_TIME=$(BENCH_TIME) selftests/bench/host-peer

clean:
	-test -d "$(KDIR)" && $(KMAKE) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
	rm -rf $(TOP)/build/deb $(TOP)/build/debug-kernel

.PHONY: all module tool check-kdir sparse install checkpatch strongswan gen deb check check-long check-debug demo bench bench-host clean
