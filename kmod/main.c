// SPDX-License-Identifier: GPL-2.0
/*
 * esptun: ESP tunnel-mode (RFC 4303, AES-GCM RFC 4106) virtual network device
 * for site-to-site IPsec gateways, programmed over generic netlink.
 */
#include <linux/module.h>
#include <linux/esptun.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "netlink.h"
#include "rx.h"
#include "sa.h"

static int __init esptun_mod_init(void)
{
	int ret;

	ret = esptun_sa_init();
	if (ret)
		return ret;
	ret = esptun_device_init();
	if (ret)
		goto err_sa;
	ret = esptun_rx_init();
	if (ret)
		goto err_device;
	ret = esptun_genl_init();
	if (ret)
		goto err_rx;
	pr_info("loaded, netlink family %s v%d\n", ESPTUN_FAMILY_NAME,
		ESPTUN_FAMILY_VERSION);
	return 0;

err_rx:
	esptun_rx_uninit();
err_device:
	esptun_device_uninit();
err_sa:
	esptun_sa_uninit();
	return ret;
}

/* Reverse order: no new requests, no new packets, no devices (their
 * tunnels and SAs go with them), then wait for the last SA frees.
 */
static void __exit esptun_mod_exit(void)
{
	esptun_genl_uninit();
	esptun_rx_uninit();
	esptun_device_uninit();
	esptun_sa_uninit();
}

module_init(esptun_mod_init);
module_exit(esptun_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ESP tunnel-mode IPsec virtual network device");
MODULE_AUTHOR("esptun developers");
MODULE_ALIAS_RTNL_LINK("esptun");
MODULE_ALIAS_GENL_FAMILY(ESPTUN_FAMILY_NAME);
