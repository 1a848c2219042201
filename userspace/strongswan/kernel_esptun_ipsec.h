/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The esptun kernel-ipsec backend of charon.
 */
#ifndef KERNEL_ESPTUN_IPSEC_H_
#define KERNEL_ESPTUN_IPSEC_H_

#include <kernel/kernel_ipsec.h>

typedef struct kernel_esptun_ipsec_t kernel_esptun_ipsec_t;

struct kernel_esptun_ipsec_t {
	kernel_ipsec_t interface;
};

/*
 * kernel_esptun_ipsec_create() - open libesptun, flush the configured
 * devices' tunnels (the plugin owns them) and watch for expire events
 *
 * Return: the backend, or NULL (the esptun module is not loaded).
 */
kernel_esptun_ipsec_t *kernel_esptun_ipsec_create(void);

#endif
