// SPDX-License-Identifier: GPL-2.0
/*
 * Tunnels: a pair of outer addresses with its SAs.  Created, changed and
 * deleted under RTNL; the data path finds them under RCU and pins them with
 * a reference while a packet is in asynchronous crypto.
 */
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "device.h"
#include "ecmp.h"
#include "sa.h"
#include "tunnel.h"

/* Under RTNL. */
struct esptun_tunnel *esptun_tunnel_find(struct esptun_dev *esp, u32 id)
{
	struct esptun_tunnel *tun;

	ASSERT_RTNL();
	list_for_each_entry(tun, &esp->tunnels, dev_node)
		if (tun->id == id)
			return tun;
	return NULL;
}

/**
 * esptun_tunnel_by_addr() - a tunnel of a transport namespace by addresses
 * @net: the transport namespace
 * @family: AF_INET or AF_INET6
 * @local: the local outer address
 * @remote: the remote outer address, or NULL for any
 *
 * Only for the slow paths (ICMP errors, ESP nobody owns).  Under RCU.
 *
 * Return: the first matching tunnel, not referenced, or NULL.
 */
struct esptun_tunnel *esptun_tunnel_by_addr(struct net *net,
					    sa_family_t family,
					    const void *local,
					    const void *remote)
{
	struct esptun_net *en = esptun_net(net);
	struct esptun_tunnel *tun;

	list_for_each_entry_rcu(tun, &en->tunnels, net_node) {
		if (tun->family != family)
			continue;
		if (local && !esptun_addr_eq(family, &tun->local, local))
			continue;
		if (remote && !esptun_addr_eq(family, &tun->remote, remote))
			continue;
		return tun;
	}
	return NULL;
}

/**
 * esptun_tunnel_usable() - can the tunnel carry traffic now?
 * @tun: the tunnel
 *
 * Usable means administratively up, with an outbound SA whose sequence
 * numbers are not used up.
 * Under RCU or RTNL.
 *
 * Return: true if usable.
 */
bool esptun_tunnel_usable(const struct esptun_tunnel *tun)
{
	const struct esptun_sa *sa = rcu_dereference_rtnl(tun->tx_sa);

	return READ_ONCE(tun->admin_up) && sa &&
	       atomic64_read(&sa->seq) < esptun_sa_seq_max(sa);
}

int esptun_tunnel_add(struct esptun_dev *esp, u32 id, sa_family_t family,
		      const union esptun_addr *local,
		      const union esptun_addr *remote, u8 weight,
		      struct netlink_ext_ack *extack)
{
	struct esptun_tunnel *tun, *pos;
	struct list_head *where;
	unsigned int n = 0;
	int ret = -ENOMEM;

	ASSERT_RTNL();
	list_for_each_entry(pos, &esp->tunnels, dev_node)
		n++;
	if (n >= ESPTUN_MAX_TUNNELS) {
		NL_SET_ERR_MSG(extack, "a device has at most 255 tunnels");
		return -ENOSPC;
	}
	if (esptun_tunnel_find(esp, id)) {
		NL_SET_ERR_MSG(extack, "a tunnel with this id already exists");
		return -EEXIST;
	}
	rcu_read_lock();
	pos = esptun_tunnel_by_addr(esp->link_net, family, local, remote);
	rcu_read_unlock();
	if (pos) {
		NL_SET_ERR_MSG(extack,
			       "a tunnel already joins these local and remote addresses");
		return -EEXIST;
	}

	tun = kzalloc(sizeof(*tun), GFP_KERNEL);
	if (!tun)
		return -ENOMEM;
	tun->stats = esptun_stats_alloc();
	if (!tun->stats)
		goto err_free;
	ret = dst_cache_init(&tun->dst_cache, GFP_KERNEL);
	if (ret)
		goto err_stats;
	tun->esp = esp;
	tun->id = id;
	tun->family = family;
	tun->local = *local;
	tun->remote = *remote;
	tun->weight = weight;
	tun->admin_up = true;
	INIT_LIST_HEAD(&tun->rx_sas);
	refcount_set(&tun->refcnt, 1);
	dev_hold(esp->dev);

	/* Keep the list ordered by id: show and tunnel choice follow it. */
	where = &esp->tunnels;
	list_for_each_entry(pos, &esp->tunnels, dev_node) {
		if (pos->id > id) {
			where = &pos->dev_node;
			break;
		}
	}
	list_add_tail_rcu(&tun->dev_node, where);
	list_add_tail_rcu(&tun->net_node, &esptun_net(esp->link_net)->tunnels);
	esptun_ecmp_rebuild(esp);
	pr_debug("tunnel %u: created\n", id);
	return 0;

err_stats:
	free_percpu(tun->stats);
err_free:
	kfree(tun);
	return ret;
}

static void esptun_tunnel_free_rcu(struct rcu_head *rcu)
{
	struct esptun_tunnel *tun = container_of(rcu, struct esptun_tunnel, rcu);

	pr_debug("tunnel %u: destroyed\n", tun->id);
	dst_cache_destroy(&tun->dst_cache);
	free_percpu(tun->stats);
	dev_put(tun->esp->dev);
	kfree(tun);
}

void esptun_tunnel_put(struct esptun_tunnel *tun)
{
	if (refcount_dec_and_test(&tun->refcnt))
		call_rcu(&tun->rcu, esptun_tunnel_free_rcu);
}

/**
 * esptun_tunnel_del() - unlink a tunnel and its SAs
 * @tun: the tunnel, under RTNL
 *
 * Readers that found it under RCU may still use it; packets in flight hold
 * references on its SAs, which hold the tunnel.
 */
void esptun_tunnel_del(struct esptun_tunnel *tun)
{
	ASSERT_RTNL();
	esptun_sa_del_all(tun);
	list_del_rcu(&tun->dev_node);
	list_del_rcu(&tun->net_node);
	esptun_ecmp_rebuild(tun->esp);
	esptun_device_update_carrier(tun->esp);
	esptun_tunnel_put(tun);
}

/**
 * esptun_tunnel_set() - change a tunnel's weight or administrative state
 * @tun: the tunnel, under RTNL
 * @weight: the new weight, or -1 to keep it
 * @admin_up: 1 for up, 0 for down, -1 to keep it
 *
 * Taking a tunnel down moves its flows to the others at once; bringing it
 * up brings them back.
 */
void esptun_tunnel_set(struct esptun_tunnel *tun, int weight, int admin_up)
{
	ASSERT_RTNL();
	if (weight >= 0 && weight != tun->weight) {
		tun->weight = weight;
		esptun_ecmp_rebuild(tun->esp);
	}
	if (admin_up >= 0) {
		WRITE_ONCE(tun->admin_up, admin_up);
		esptun_device_update_carrier(tun->esp);
	}
}

void esptun_tunnel_del_all(struct esptun_dev *esp)
{
	struct esptun_tunnel *tun, *tmp;

	ASSERT_RTNL();
	list_for_each_entry_safe(tun, tmp, &esp->tunnels, dev_node)
		esptun_tunnel_del(tun);
}
