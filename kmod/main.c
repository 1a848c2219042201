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
#include "esp.h"
#include "main.h"
#include "netlink.h"
#include "objects.h"
#include "parallel.h"
#include "rx.h"

struct workqueue_struct *esptun_wq;

static int __init esptun_mod_init(void)
{
	int ret;

	esptun_wq = alloc_workqueue("esptun", WQ_UNBOUND, 0);
	if (!esptun_wq)
		return -ENOMEM;
	ret = esptun_parallel_init();
	if (ret)
		goto err_wq;
	ret = esptun_device_init();
	if (ret)
		goto err_parallel;
	ret = esptun_rx_init();
	if (ret)
		goto err_device;
	ret = esptun_genl_init();
	if (ret)
		goto err_rx;
	esptun_objects_init();
	pr_info("loaded, netlink family %s v%d\n", ESPTUN_FAMILY_NAME,
		ESPTUN_FAMILY_VERSION);
	return 0;

err_rx:
	esptun_rx_uninit();
err_device:
	esptun_device_uninit();
err_parallel:
	esptun_parallel_uninit();
err_wq:
	destroy_workqueue(esptun_wq);
	return ret;
}

/* No new packets, no devices (their tunnels and SAs go with them, and
 * unregistering waits for the references that pending work holds, work
 * that may still send events), then no family, the last RCU callbacks and
 * work items.  Requests meanwhile find no device.
 */
static void __exit esptun_mod_exit(void)
{
	esptun_objects_uninit();
	esptun_rx_uninit();
	esptun_device_uninit();
	esptun_genl_uninit();
	esptun_parallel_uninit();
	rcu_barrier();
	destroy_workqueue(esptun_wq);
	esptun_crypt_cache_free();
}

module_init(esptun_mod_init);
module_exit(esptun_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ESP tunnel-mode IPsec virtual network device");
MODULE_AUTHOR("esptun developers");
MODULE_ALIAS_RTNL_LINK("esptun");
MODULE_ALIAS_GENL_FAMILY(ESPTUN_FAMILY_NAME);
