// SPDX-License-Identifier: GPL-2.0
/*
 * A module that WARNs when loaded: selftests/vm.sh loads it in the guest to
 * prove that selftests/vm/run fails when the guest kernel splats.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init esptun_warn_init(void)
{
	WARN(1, "esptun_warn: deliberate warning for the test bed\n");
	return 0;
}

static void __exit esptun_warn_exit(void)
{
}

module_init(esptun_warn_init);
module_exit(esptun_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("WARN on load, to test the esptun VM runner");
