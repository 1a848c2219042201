// SPDX-License-Identifier: GPL-2.0
/*
 * Spreading flows over a device's tunnels.
 *
 * The table is built, Maglev style, over every tunnel of the device whatever
 * its state, each tunnel taking a share of the slots proportional to its
 * weight.  It changes only when tunnels are added, deleted or reweighted.
 * A flow's slot comes from its hash (taken before encryption); if that
 * slot's tunnel cannot carry traffic, the flow tries further slots chosen
 * by rehashing its hash with the attempt number.  So a tunnel going down
 * moves its own flows only, spread over the usable tunnels in proportion to
 * their weights, and they come back when it does; the flows of the other
 * tunnels never move.
 */
#include <linux/jhash.h>
#include <linux/math64.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "device.h"
#include "ecmp.h"
#include "tunnel.h"

#define ESPTUN_ECMP_EMPTY	0xff
/* Attempts past unusable tunnels before falling back to a scan: with one
 * usable tunnel in eight, 64 fail once in 5,000 flows.
 */
#define ESPTUN_ECMP_PROBES	64
#define ESPTUN_ECMP_SEED	0x6563706d

static void esptun_ecmp_fill(struct esptun_ecmp *t, u32 *next)
{
	unsigned int filled = 0, i, w;

	memset(t->slot, ESPTUN_ECMP_EMPTY, sizeof(t->slot));
	memset(next, 0, t->n * sizeof(*next));
	while (filled < ESPTUN_ECMP_SLOTS) {
		for (i = 0; i < t->n && filled < ESPTUN_ECMP_SLOTS; i++) {
			u32 id = t->tunnels[i]->id;
			u32 offset = jhash_1word(id, 0x65737074) % ESPTUN_ECMP_SLOTS;
			u32 skip = jhash_1word(id, 0x756e6e6c) %
				   (ESPTUN_ECMP_SLOTS - 1) + 1;
			unsigned int weight = t->tunnels[i]->weight;

			for (w = 0; w < weight && filled < ESPTUN_ECMP_SLOTS; w++) {
				u32 c;

				do {
					c = (offset + (u64)next[i]++ * skip) %
					    ESPTUN_ECMP_SLOTS;
				} while (t->slot[c] != ESPTUN_ECMP_EMPTY);
				t->slot[c] = i;
				filled++;
			}
		}
	}
}

/**
 * esptun_ecmp_rebuild() - publish a table for the device's current tunnels
 * @esp: the device, locked
 *
 * Out of memory, the device is left without a table and esptun_ecmp_pick()
 * scans the tunnels instead: slower and less even, never wrong.
 */
void esptun_ecmp_rebuild(struct esptun_dev *esp)
{
	struct esptun_ecmp *t, *old;
	struct esptun_tunnel *tun;
	u32 *next = NULL;

	lockdep_assert_held(&esp->lock);
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (t) {
		list_for_each_entry(tun, &esp->tunnels, dev_node)
			t->tunnels[t->n++] = tun;
		next = kcalloc(max(t->n, 1U), sizeof(*next), GFP_KERNEL_ACCOUNT);
		if (!t->n || !next) {
			kfree(t);
			t = NULL;
		}
	}
	if (t)
		esptun_ecmp_fill(t, next);
	kfree(next);
	old = rcu_replace_pointer(esp->ecmp, t, lockdep_is_held(&esp->lock));
	if (old)
		kfree_rcu(old, rcu);
}

void esptun_ecmp_free(struct esptun_dev *esp)
{
	struct esptun_ecmp *old;

	old = rcu_replace_pointer(esp->ecmp, NULL, lockdep_is_held(&esp->lock));
	if (old)
		kfree_rcu(old, rcu);
}

/**
 * esptun_ecmp_pick() - the tunnel for a flow
 * @esp: the device
 * @hash: the inner flow's hash
 *
 * Under RCU (BH).
 *
 * Return: a usable tunnel, or NULL if there is none.
 */
struct esptun_tunnel *esptun_ecmp_pick(struct esptun_dev *esp, u32 hash)
{
	struct esptun_ecmp *t = rcu_dereference_bh(esp->ecmp);
	struct esptun_tunnel *tun;
	unsigned int i, k;

	if (likely(t)) {
		i = reciprocal_scale(hash, ESPTUN_ECMP_SLOTS);
		for (k = 1; k <= ESPTUN_ECMP_PROBES; k++) {
			tun = t->tunnels[t->slot[i]];
			if (esptun_tunnel_usable(tun))
				return tun;
			i = reciprocal_scale(jhash_2words(hash, k, ESPTUN_ECMP_SEED),
					     ESPTUN_ECMP_SLOTS);
		}
	}
	list_for_each_entry_rcu(tun, &esp->tunnels, dev_node)
		if (esptun_tunnel_usable(tun))
			return tun;
	return NULL;
}

/**
 * esptun_ecmp_share() - the share of hashed flows a tunnel takes now
 * @esp: the device, locked
 * @tun: one of its tunnels
 *
 * A flow whose slot belongs to an unusable tunnel lands on a usable one
 * with a probability proportional to that one's slots, so the expected
 * share is the tunnel's slots over all usable tunnels' slots.
 *
 * Return: the share in millionths; 0 if @tun is not usable.
 */
u32 esptun_ecmp_share(struct esptun_dev *esp, const struct esptun_tunnel *tun)
{
	struct esptun_ecmp *t = esptun_dereference(esp->ecmp, esp);
	bool usable[ESPTUN_MAX_TUNNELS];
	unsigned int i, own = 0, all = 0;
	int me = -1;

	if (!t || !esptun_tunnel_usable(tun))
		return 0;
	for (i = 0; i < t->n; i++) {
		usable[i] = esptun_tunnel_usable(t->tunnels[i]);
		if (t->tunnels[i] == tun)
			me = i;
	}
	for (i = 0; i < ESPTUN_ECMP_SLOTS; i++) {
		if (!usable[t->slot[i]])
			continue;
		all++;
		if (t->slot[i] == me)
			own++;
	}
	return all ? div_u64((u64)own * 1000000, all) : 0;
}
