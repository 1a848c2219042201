// SPDX-License-Identifier: GPL-2.0
/*
 * Tunnels: a pair of outer addresses with its SAs.  Created, changed and
 * deleted under the device's lock (device.h); the data path finds them
 * under RCU and pins them with a reference while a packet is in
 * asynchronous crypto.  A tunnel holds its device until freed, so work
 * items holding the tunnel may take the device's lock.
 */
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "device.h"
#include "ecmp.h"
#include "encap.h"
#include "liveness.h"
#include "main.h"
#include "netlink.h"
#include "objects.h"
#include "pin.h"
#include "rx.h"
#include "sa.h"
#include "tunnel.h"
#include "tx.h"

struct esptun_tunnel *esptun_tunnel_find(struct esptun_dev *esp, u32 id)
{
	struct esptun_tunnel *tun;

	lockdep_assert_held(&esp->lock);
	list_for_each_entry(tun, &esp->tunnels, dev_node)
		if (tun->id == id)
			return tun;
	return NULL;
}

/*
 * The namespace's tunnels by outer addresses, through their paths
 * (esptun_net.tun_addr).  Sized to what it holds and seeded at random, as
 * the SPIs': what anyone on the network sends walks short chains.
 */
const struct rhashtable_params esptun_tun_addr_params = {
	.key_len		= sizeof(struct esptun_addrs),
	.key_offset		= offsetof(struct esptun_path, addrs),
	.head_offset		= offsetof(struct esptun_path, addr_node),
	.automatic_shrinking	= true,
};

static void esptun_addrs_set(struct esptun_addrs *a, sa_family_t family,
			     const void *local, const void *remote)
{
	size_t len = family == AF_INET ? sizeof(__be32) :
					 sizeof(struct in6_addr);

	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(&a->local, local, len);
	memcpy(&a->remote, remote, len);
}

/**
 * esptun_tunnel_by_addr() - a tunnel of a transport namespace by addresses
 * @net: the transport namespace
 * @family: AF_INET or AF_INET6
 * @local: the local outer address
 * @remote: the remote outer address
 *
 * For the slow paths (ICMP errors, ESP nobody owns), which anyone on the
 * network can make us take, and for checking that a new tunnel's
 * addresses are free.  Under RCU or esptun_net.lock, which keep the
 * tunnel; the table itself is read under RCU in any case, as it resizes
 * in a work item of its own, freeing old bucket tables after a grace
 * period.
 *
 * Return: the tunnel joining these addresses, not referenced, or NULL.
 */
struct esptun_tunnel *esptun_tunnel_by_addr(struct net *net,
					    sa_family_t family,
					    const void *local,
					    const void *remote)
{
	struct esptun_tunnel *tun = NULL;
	struct esptun_path *path;
	struct esptun_addrs key;

	esptun_addrs_set(&key, family, local, remote);
	rcu_read_lock();
	path = rhashtable_lookup(&esptun_net(net)->tun_addr, &key,
				 esptun_tun_addr_params);
	if (path)
		tun = path->tun;
	rcu_read_unlock();
	return tun;
}

/* Files @path, not yet a reader's, under its addresses; esptun_net.lock. */
static int esptun_path_hash(struct esptun_net *en, struct esptun_path *path,
			    struct netlink_ext_ack *extack)
{
	int ret;

	lockdep_assert_held(&en->lock);
	ret = rhashtable_insert_fast(&en->tun_addr, &path->addr_node,
				     esptun_tun_addr_params);
	if (ret)
		NL_SET_ERR_MSG(extack,
			       "the namespace's table of tunnel addresses could not grow (out of memory or resizing): try again");
	return ret;
}

/* The tunnel is no longer found by @path's addresses; esptun_net.lock. */
static void esptun_path_unhash(struct esptun_net *en,
			       struct esptun_path *path)
{
	lockdep_assert_held(&en->lock);
	/* Removal allocates nothing: only a path not filed fails. */
	WARN_ON_ONCE(rhashtable_remove_fast(&en->tun_addr, &path->addr_node,
					    esptun_tun_addr_params));
}

/* The remote address, for the control path: the tunnel's device locked. */
const union esptun_addr *esptun_tunnel_remote(const struct esptun_tunnel *tun)
{
	return &esptun_dereference(tun->path, tun->esp)->addrs.remote;
}

/* A path from @tun, its family and local address set, to @remote. */
static struct esptun_path *esptun_path_new(struct esptun_tunnel *tun,
					   const union esptun_addr *remote)
{
	struct esptun_path *path;

	path = kzalloc(sizeof(*path), GFP_KERNEL_ACCOUNT);
	if (!path)
		return NULL;
	if (dst_cache_init(&path->dst_cache, GFP_KERNEL_ACCOUNT)) {
		kfree(path);
		return NULL;
	}
	esptun_addrs_set(&path->addrs, tun->family, &tun->local, remote);
	path->tun = tun;
	return path;
}

static void esptun_path_free(struct esptun_path *path)
{
	dst_cache_destroy(&path->dst_cache);
	kfree(path);
}

static void esptun_path_free_work(struct work_struct *work)
{
	esptun_path_free(container_of(to_rcu_work(work), struct esptun_path,
				      free_work));
}

/* A path nobody will find any more: freed after the readers (and in
 * process context, where dst_cache_destroy() belongs).
 */
static void esptun_path_retire(struct esptun_path *path)
{
	INIT_RCU_WORK(&path->free_work, esptun_path_free_work);
	queue_rcu_work(esptun_wq, &path->free_work);
}

/**
 * esptun_tunnel_set_remote() - move a tunnel's remote end, keeping its SAs
 * @tun: the tunnel, its device locked
 * @remote: the new address, of the tunnel's family
 * @extack: where to say why not
 *
 * What an IKE daemon does when MOBIKE or a NAT moves the peer.  The address
 * and a fresh route cache are published as one (struct esptun_path).
 *
 * Return: 0, -EEXIST (another tunnel joins these addresses), -ENOMEM or
 * -EBUSY (tun_addr could not grow).
 */
static int esptun_tunnel_set_remote(struct esptun_tunnel *tun,
				    const union esptun_addr *remote,
				    struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(tun->esp->link_net);
	struct esptun_path *path, *old;
	struct esptun_tunnel *other;
	int ret;

	lockdep_assert_held(&tun->esp->lock);
	path = esptun_path_new(tun, remote);
	if (!path)
		return -ENOMEM;
	mutex_lock(&en->lock);
	other = esptun_tunnel_by_addr(tun->esp->link_net, tun->family,
				      &tun->local, remote);
	if (other && other != tun) {
		NL_SET_ERR_MSG(extack,
			       "a tunnel already joins these local and remote addresses");
		ret = -EEXIST;
		goto err;
	}
	/* In before the old path goes out: readers find the tunnel by one
	 * pair of addresses or the other throughout (by either when the
	 * remote address stays).
	 */
	ret = esptun_path_hash(en, path, extack);
	if (ret)
		goto err;
	old = rcu_replace_pointer(tun->path, path, lockdep_is_held(&en->lock));
	esptun_path_unhash(en, old);
	mutex_unlock(&en->lock);
	esptun_path_retire(old);
	return 0;

err:
	mutex_unlock(&en->lock);
	/* Nobody saw it. */
	esptun_path_free(path);
	return ret;
}

/**
 * esptun_tunnel_usable() - can the tunnel carry traffic now?
 * @tun: the tunnel
 *
 * Usable means administratively up, not found dead by liveness, with an
 * outbound SA whose sequence numbers are not used up and which crossed no
 * hard lifetime limit.
 * Under RCU, RCU-bh (the transmit path: a packet socket's dev_queue_xmit()
 * holds no more) or the device's lock.
 *
 * Return: true if usable.
 */
bool esptun_tunnel_usable(const struct esptun_tunnel *tun)
{
	const struct esptun_sa *sa =
		rcu_dereference_check(tun->tx_sa,
				      lockdep_is_held(&tun->esp->lock) ||
				      rcu_read_lock_bh_held());

	return READ_ONCE(tun->admin_up) &&
	       !test_bit(ESPTUN_TUN_DEAD, &tun->flags) && sa &&
	       esptun_sa_seq(sa) < esptun_sa_seq_max(sa) &&
	       !esptun_sa_expired(sa);
}

/**
 * esptun_tunnel_update() - announce a change of the tunnel's usability
 * @tun: the tunnel, its device locked
 * @cause: enum esptun_state_cause, for the event
 *
 * Sends the state event if the tunnel started or stopped carrying traffic
 * since the last one, and sets the device's carrier.
 */
void esptun_tunnel_update(struct esptun_tunnel *tun, u8 cause)
{
	bool up, changed;

	lockdep_assert_held(&tun->esp->lock);
	up = esptun_tunnel_usable(tun);
	changed = up != tun->up && !tun->dying;
	if (changed)
		tun->up = up;
	/* The carrier first: whoever hears the event finds it set. */
	esptun_device_update_carrier(tun->esp);
	if (changed)
		esptun_nl_tunnel_event(tun, cause);
}

static void esptun_tunnel_state_work(struct work_struct *work)
{
	struct esptun_tunnel *tun = container_of(work, struct esptun_tunnel,
						 state_work);
	struct esptun_dev *esp = tun->esp;
	unsigned long causes;

	mutex_lock(&esp->lock);
	causes = xchg(&tun->kick, 0);
	if (!tun->dying) {
		esptun_tunnel_update(tun, causes & BIT(ESPTUN_STATE_CAUSE_LIVENESS) ?
					  ESPTUN_STATE_CAUSE_LIVENESS :
					  ESPTUN_STATE_CAUSE_SA);
		/* Revived: watch for silence again. */
		esptun_liveness_arm(tun);
	}
	mutex_unlock(&esp->lock);
	esptun_tunnel_put(tun);
}

/**
 * esptun_tunnel_kick() - have the tunnel's state announced soon
 * @tun: the tunnel, found under RCU
 * @cause: enum esptun_state_cause
 *
 * For the data path and the liveness timer, which cannot sleep on the
 * device's lock.
 */
void esptun_tunnel_kick(struct esptun_tunnel *tun, u8 cause)
{
	set_bit(cause, &tun->kick);
	/* Being freed: nobody to tell. */
	if (!refcount_inc_not_zero(&tun->refcnt))
		return;
	if (!queue_work(esptun_wq, &tun->state_work))
		esptun_tunnel_put(tun);
}

/*
 * The @n-th online CPU, round the online ones.  Without the hotplug lock
 * (not needed for a hint, and not worth ordering against): a CPU going away
 * meanwhile leaves a valid one.  One that goes offline later still works,
 * its work items running unbound.
 */
static int esptun_tunnel_cpu(u32 n)
{
	unsigned int cpu;

	cpu = cpumask_nth(n % num_online_cpus(), cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
}

int esptun_tunnel_add(struct esptun_dev *esp, u32 id, sa_family_t family,
		      const union esptun_addr *local,
		      const union esptun_addr *remote,
		      const struct esptun_tunnel_config *cfg,
		      struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(esp->link_net);
	struct esptun_tunnel *tun, *pos;
	struct esptun_path *path;
	struct list_head *where;
	unsigned int n = 0;
	int ret = -ENOMEM;

	lockdep_assert_held(&esp->lock);
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
	if (cfg->pins) {
		ret = esptun_pin_check(esp, NULL, cfg->pins, extack);
		if (ret)
			return ret;
	}

	ret = -ENOMEM;
	tun = kzalloc(sizeof(*tun), GFP_KERNEL_ACCOUNT);
	if (!tun)
		return -ENOMEM;
	tun->stats = esptun_stats_alloc();
	if (!tun->stats)
		goto err_free;
	tun->family = family;
	tun->local = *local;
	ret = -ENOMEM;
	path = esptun_path_new(tun, remote);
	if (!path)
		goto err_stats;
	RCU_INIT_POINTER(tun->path, path);
	tun->esp = esp;
	tun->id = id;
	tun->weight = cfg->weight > 0 ? cfg->weight : 1;
	tun->admin_up = cfg->admin_up != 0;
	if (cfg->encap == ESPTUN_ENCAP_UDP) {
		tun->encap = ESPTUN_ENCAP_UDP;
		tun->encap_sport = cfg->encap_sport ?: htons(ESPTUN_ENCAP_PORT);
		tun->encap_dport = cfg->encap_dport ?: htons(ESPTUN_ENCAP_PORT);
	}
	INIT_LIST_HEAD(&tun->rx_sas);
	INIT_LIST_HEAD(&tun->pins);
	/* Each direction hands its packets on from one CPU, spread by id;
	 * receiving, through the tunnel's NAPI instance.  Not the CPU the
	 * tunnel's ESP arrives on, whichever it is: a peer that, as XFRM
	 * does, leaves the inner flow's hash on its outer packets has them
	 * spread over CPUs by RPS.  The receive side only moves off the
	 * arrival CPU when they coincide (esptun_order_avoid()).
	 */
	ret = esptun_order_init(&tun->tx_order, esptun_tx_finish,
				esptun_tunnel_cpu(id), NULL);
	if (ret)
		goto err_dst;
	ret = esptun_order_init(&tun->rx_order, esptun_rx_finish,
				esptun_tunnel_cpu(id + 1), &tun->napi);
	if (ret)
		goto err_tx_order;
	/* Under the device's lock only: see esptun_tunnel.napi. */
	netif_napi_add(esp->dev, &tun->napi, esptun_rx_poll);
	napi_enable(&tun->napi);
	INIT_WORK(&tun->state_work, esptun_tunnel_state_work);
	esptun_liveness_init(tun);
	refcount_set(&tun->refcnt, 1);
	dev_hold(esp->dev);
	/* The selftests pair this line with "destroyed" to find leaks. */
	esptun_object_new(ESPTUN_OBJ_TUNNEL);
	pr_debug("tunnel %u %p: created in pid:[%u]\n", id, tun,
		 esptun_creator_pidns());
	/* Published from here on: a failure unpublishes, and the last
	 * reference frees the tunnel a grace period after any reader.
	 */
	ret = -ENOMEM;
	if (cfg->pins && esptun_pin_set(tun, cfg->pins))
		goto err_put;
	/* Free addresses and the insertion, atomically for the namespace. */
	mutex_lock(&en->lock);
	if (esptun_tunnel_by_addr(esp->link_net, family, local, remote)) {
		NL_SET_ERR_MSG(extack,
			       "a tunnel already joins these local and remote addresses");
		ret = -EEXIST;
		goto err_unlock;
	}
	ret = esptun_path_hash(en, path, extack);
	if (ret)
		goto err_unlock;
	/* Last: a socket handed over closes esptun's, not to be undone. */
	if (tun->encap) {
		ret = esptun_encap_attach(tun, cfg->encap_fd, extack);
		if (ret) {
			esptun_path_unhash(en, path);
			goto err_unlock;
		}
	}
	list_add_tail_rcu(&tun->net_node, &en->tunnels);
	mutex_unlock(&en->lock);

	/* Keep the list ordered by id: show and tunnel choice follow it. */
	where = &esp->tunnels;
	list_for_each_entry(pos, &esp->tunnels, dev_node) {
		if (pos->id > id) {
			where = &pos->dev_node;
			break;
		}
	}
	list_add_tail_rcu(&tun->dev_node, where);
	esptun_ecmp_rebuild(esp);
	esptun_liveness_set(tun, cfg->keepalive, cfg->dead_after,
			    cfg->nat_keepalive);
	return 0;

err_unlock:
	mutex_unlock(&en->lock);
	esptun_pin_del_all(tun);
err_put:
	esptun_tunnel_put(tun);
	return ret;

err_tx_order:
	esptun_order_stop(&tun->tx_order);
err_dst:
	esptun_path_free(path);
err_stats:
	free_percpu(tun->stats);
err_free:
	kfree(tun);
	return ret;
}

/* The last reference went, a grace period ago: no reader and no packet. */
static void esptun_tunnel_free_work(struct work_struct *work)
{
	struct esptun_tunnel *tun = container_of(to_rcu_work(work),
						 struct esptun_tunnel, free_work);

	pr_debug("tunnel %u %p: destroyed\n", tun->id, tun);
	esptun_object_gone(ESPTUN_OBJ_TUNNEL);
	/* Waits for a poll that may still run: the one whose last packet
	 * let go of the tunnel, or a repoll after it.
	 */
	napi_disable(&tun->napi);
	/* Off the device's list before the device can go (dev_put()),
	 * under the locks its writers and its walkers hold: see @napi.
	 */
	rtnl_lock();
	mutex_lock(&tun->esp->lock);
	__netif_napi_del(&tun->napi);
	mutex_unlock(&tun->esp->lock);
	rtnl_unlock();
	esptun_order_stop(&tun->tx_order);
	esptun_order_stop(&tun->rx_order);
	esptun_path_retire(rcu_dereference_protected(tun->path, 1));
	free_percpu(tun->stats);
	dev_put(tun->esp->dev);
	/* Who walks the device's NAPI list (or the busy-poll hash) under
	 * RCU may still see @tun->napi: as netif_napi_del(), without
	 * waiting here for each tunnel.
	 */
	kfree_rcu(tun, rcu);
}

/* Any context. */
void esptun_tunnel_put(struct esptun_tunnel *tun)
{
	if (refcount_dec_and_test(&tun->refcnt)) {
		INIT_RCU_WORK(&tun->free_work, esptun_tunnel_free_work);
		queue_rcu_work(esptun_wq, &tun->free_work);
	}
}

/**
 * esptun_tunnel_del() - unlink a tunnel and its SAs
 * @tun: the tunnel, its device locked
 *
 * Readers that found it under RCU may still use it; packets in flight hold
 * references on its SAs, which hold the tunnel.
 */
void esptun_tunnel_del(struct esptun_tunnel *tun)
{
	struct esptun_net *en = esptun_net(tun->esp->link_net);

	lockdep_assert_held(&tun->esp->lock);
	/* Pending state work sees this and leaves; the timer stops here. */
	tun->dying = true;
	esptun_liveness_stop(tun);
	if (tun->up) {
		tun->up = false;
		esptun_nl_tunnel_event(tun, ESPTUN_STATE_CAUSE_DELETED);
	}
	esptun_pin_del_all(tun);
	esptun_sa_del_all(tun);
	list_del_rcu(&tun->dev_node);
	mutex_lock(&en->lock);
	list_del_rcu(&tun->net_node);
	esptun_path_unhash(en, esptun_dereference(tun->path, tun->esp));
	esptun_encap_detach(tun);
	mutex_unlock(&en->lock);
	esptun_ecmp_rebuild(tun->esp);
	esptun_device_update_carrier(tun->esp);
	esptun_tunnel_put(tun);
}

/**
 * esptun_tunnel_set() - change a tunnel's settings
 * @tun: the tunnel, its device locked
 * @cfg: what to change
 * @extack: where to say why not
 *
 * Taking a tunnel down moves its flows to the others at once; bringing it
 * up brings them back.  Nothing changes unless everything can.
 *
 * Return: 0 or a negative errno.
 */
int esptun_tunnel_set(struct esptun_tunnel *tun,
		      const struct esptun_tunnel_config *cfg,
		      struct netlink_ext_ack *extack)
{
	LIST_HEAD(pins);
	int ret;

	lockdep_assert_held(&tun->esp->lock);
	if (cfg->nat_keepalive >= 0 && !tun->encap) {
		NL_SET_ERR_MSG(extack, "nat-keepalive needs a tunnel with encap udp");
		return -EINVAL;
	}
	if (cfg->encap_dport && !tun->encap) {
		NL_SET_ERR_MSG(extack, "encap-dport needs a tunnel with encap udp");
		return -EINVAL;
	}
	if (cfg->encap_fd >= 0 && !tun->encap) {
		NL_SET_ERR_MSG(extack, "encap-socket needs a tunnel with encap udp");
		return -EINVAL;
	}
	/* Pins that another tunnel holds, or no memory for them, must refuse
	 * the request before the remote end moves: all or nothing.
	 */
	if (cfg->pins) {
		ret = esptun_pin_check(tun->esp, tun, cfg->pins, extack);
		if (!ret)
			ret = esptun_pin_alloc(tun, cfg->pins, &pins);
		if (ret)
			return ret;
	}
	/* The last things that can fail: never both in one request. */
	if (cfg->remote) {
		ret = esptun_tunnel_set_remote(tun, cfg->remote, extack);
		if (ret) {
			esptun_pin_free_list(&pins);
			return ret;
		}
	}
	if (cfg->encap_fd >= 0) {
		struct esptun_net *en = esptun_net(tun->esp->link_net);

		mutex_lock(&en->lock);
		ret = esptun_encap_handover(tun, cfg->encap_fd, extack);
		mutex_unlock(&en->lock);
		if (ret) {
			esptun_pin_free_list(&pins);
			return ret;
		}
	}
	/* As NAT rebinding moves it (esptun_encap_follow()). */
	if (cfg->encap_dport)
		WRITE_ONCE(tun->encap_dport, cfg->encap_dport);
	if (cfg->pins)
		esptun_pin_swap(tun, &pins);
	if (cfg->weight > 0 && cfg->weight != tun->weight) {
		tun->weight = cfg->weight;
		esptun_ecmp_rebuild(tun->esp);
	}
	if (cfg->nat_keepalive >= 0)
		esptun_liveness_set(tun, -1, -1, cfg->nat_keepalive);
	if (cfg->keepalive >= 0 || cfg->dead_after >= 0) {
		esptun_liveness_set(tun, cfg->keepalive, cfg->dead_after, -1);
		esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_LIVENESS);
	}
	if (cfg->admin_up >= 0) {
		WRITE_ONCE(tun->admin_up, cfg->admin_up);
		esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_ADMIN);
	}
	return 0;
}

void esptun_tunnel_del_all(struct esptun_dev *esp)
{
	struct esptun_tunnel *tun, *tmp;

	lockdep_assert_held(&esp->lock);
	list_for_each_entry_safe(tun, tmp, &esp->tunnels, dev_node)
		esptun_tunnel_del(tun);
}
