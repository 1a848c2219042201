/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel-esptun: a charon plugin that keys esptun devices.
 *
 * charon's kernel-ipsec backend (SAs; policies are route-based here) over
 * libesptun; kernel-netlink still provides kernel-net (addresses, routes,
 * the IKE socket), so this plugin loads before it.
 */
#ifndef KERNEL_ESPTUN_PLUGIN_H_
#define KERNEL_ESPTUN_PLUGIN_H_

#include <plugins/plugin.h>

typedef struct kernel_esptun_plugin_t kernel_esptun_plugin_t;

struct kernel_esptun_plugin_t {
	plugin_t plugin;
};

#endif
