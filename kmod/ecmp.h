/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ECMP_H
#define _ESPTUN_ECMP_H

#include <linux/esptun.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

struct esptun_dev;
struct esptun_tunnel;

/* A prime, so that every permutation visits every slot. */
#define ESPTUN_ECMP_SLOTS	4093
/*
 * Slots hold a tunnel's index as a u8, so ESPTUN_MAX_TUNNELS (the ABI's,
 * 255) at most; 0xff marks an empty slot.
 */
static_assert(ESPTUN_MAX_TUNNELS <= 255);

/**
 * struct esptun_ecmp - flow hash to tunnel, Maglev style
 * @rcu: frees the table once no reader can see it
 * @n: entries in @tunnels
 * @tunnels: every tunnel of the device, usable or not
 * @slot: index into @tunnels, each tunnel holding a share of the slots
 *	proportional to its weight
 */
struct esptun_ecmp {
	struct rcu_head rcu;
	unsigned int n;
	struct esptun_tunnel *tunnels[ESPTUN_MAX_TUNNELS];
	u8 slot[ESPTUN_ECMP_SLOTS];
};

void esptun_ecmp_rebuild(struct esptun_dev *esp);
void esptun_ecmp_free(struct esptun_dev *esp);
struct esptun_tunnel *esptun_ecmp_pick(struct esptun_dev *esp, u32 hash);
u32 esptun_ecmp_share(struct esptun_dev *esp, const struct esptun_tunnel *tun);

#endif /* _ESPTUN_ECMP_H */
