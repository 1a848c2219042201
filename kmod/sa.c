// SPDX-License-Identifier: GPL-2.0
/*
 * Security associations: keyed AEAD transforms, published to the data path
 * with RCU (outbound through tunnel->tx_sa, inbound through the per-netns
 * SPI table) and changed under RTNL.  Packets in asynchronous crypto hold a
 * reference; the last reference frees the SA after a grace period, in
 * process context because freeing a crypto transform may sleep.
 */
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "device.h"
#include "main.h"
#include "sa.h"
#include "tunnel.h"

/* Under RCU (data path) or RTNL. */
struct esptun_sa *esptun_sa_lookup_in(struct net *net, __be32 spi)
{
	struct esptun_net *en = esptun_net(net);
	struct esptun_sa *sa;

	hash_for_each_possible_rcu(en->sa_in, sa, spi_node, (__force u32)spi,
				   lockdep_rtnl_is_held())
		if (sa->spi == spi)
			return sa;
	return NULL;
}

/* Under RTNL: the SA of @esp's tunnels with this direction and SPI. */
struct esptun_sa *esptun_sa_find_dev(struct esptun_dev *esp, u8 dir,
				     __be32 spi)
{
	struct esptun_tunnel *tun;
	struct esptun_sa *sa;

	ASSERT_RTNL();
	list_for_each_entry(tun, &esp->tunnels, dev_node) {
		sa = esptun_sa_find(tun, dir, spi);
		if (sa)
			return sa;
	}
	return NULL;
}

/* Under RTNL: the tunnel's SA with this direction and SPI. */
struct esptun_sa *esptun_sa_find(struct esptun_tunnel *tun, u8 dir,
				 __be32 spi)
{
	struct esptun_sa *sa;

	ASSERT_RTNL();
	if (dir == ESPTUN_SA_DIR_OUT) {
		sa = rtnl_dereference(tun->tx_sa);
		return sa && sa->spi == spi ? sa : NULL;
	}
	list_for_each_entry(sa, &tun->rx_sas, tunnel_node)
		if (sa->spi == spi)
			return sa;
	return NULL;
}

static void esptun_sa_free_work(struct work_struct *work)
{
	struct esptun_sa *sa = container_of(to_rcu_work(work), struct esptun_sa,
					    rwork);

	/* crypto_free_aead() zeroises the transform, expanded key included. */
	crypto_free_aead(sa->aead);
	kfree(sa->replay);
	free_percpu(sa->stats);
	esptun_tunnel_put(sa->tunnel);
	/* The selftests pair this line with "created" to find leaks. */
	pr_debug("sa %08x: destroyed\n", ntohl(sa->spi));
	kfree(sa);
}

void esptun_sa_put(struct esptun_sa *sa)
{
	if (!refcount_dec_and_test(&sa->refcnt))
		return;
	INIT_RCU_WORK(&sa->rwork, esptun_sa_free_work);
	queue_rcu_work(esptun_wq, &sa->rwork);
}

static struct crypto_aead *esptun_sa_aead(const u8 *key, unsigned int len,
					  struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;
	int ret;

	aead = crypto_alloc_aead("rfc4106(gcm(aes))", 0, 0);
	if (IS_ERR(aead)) {
		NL_SET_ERR_MSG(extack, "rfc4106(gcm(aes)) is not available");
		return aead;
	}
	ret = crypto_aead_setkey(aead, key, len);
	if (!ret)
		ret = crypto_aead_setauthsize(aead, ESPTUN_ICV_LEN);
	if (ret) {
		NL_SET_ERR_MSG(extack, "the AES-GCM transform refused the key");
		crypto_free_aead(aead);
		return ERR_PTR(ret);
	}
	return aead;
}

static int esptun_sa_check(struct esptun_tunnel *tun,
			   const struct esptun_sa_config *cfg,
			   struct netlink_ext_ack *extack)
{
	struct esptun_sa *other;

	if (cfg->key_len != 16 + ESPTUN_SALT_LEN &&
	    cfg->key_len != 24 + ESPTUN_SALT_LEN &&
	    cfg->key_len != 32 + ESPTUN_SALT_LEN) {
		NL_SET_ERR_MSG(extack,
			       "key must be 20, 28 or 36 bytes: AES-128/192/256 key then 4-byte salt");
		return -EINVAL;
	}
	if (cfg->dir == ESPTUN_SA_DIR_IN) {
		if (cfg->seq) {
			NL_SET_ERR_MSG(extack, "seq applies to outbound SAs only");
			return -EINVAL;
		}
		if (esptun_sa_lookup_in(tun->esp->link_net, cfg->spi)) {
			NL_SET_ERR_MSG(extack, "an inbound SA with this SPI already exists");
			return -EEXIST;
		}
		return 0;
	}
	if (!cfg->esn && cfg->seq > U32_MAX) {
		NL_SET_ERR_MSG(extack, "seq beyond 2^32-1 needs esn");
		return -EINVAL;
	}
	other = esptun_sa_find_dev(tun->esp, ESPTUN_SA_DIR_OUT, cfg->spi);
	if (other && other->tunnel != tun) {
		NL_SET_ERR_MSG(extack,
			       "another tunnel of the device has an outbound SA with this SPI");
		return -EEXIST;
	}
	return 0;
}

/**
 * esptun_sa_add() - create an SA and publish it
 * @tun: the tunnel, under RTNL
 * @cfg: what the user asked for (key included; the caller wipes it)
 * @extack: where to say what was wrong
 *
 * An outbound SA replaces the tunnel's current one: every CPU sees either
 * the old or the new one, packets already in flight finish on the old one.
 *
 * Return: 0 or a negative errno.
 */
int esptun_sa_add(struct esptun_tunnel *tun, const struct esptun_sa_config *cfg,
		  struct netlink_ext_ack *extack)
{
	struct esptun_sa *sa, *old;
	int ret;

	ASSERT_RTNL();
	ret = esptun_sa_check(tun, cfg, extack);
	if (!ret)
		ret = esptun_lifetime_check(&cfg->life, extack);
	if (ret)
		return ret;

	sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	if (!sa)
		return -ENOMEM;
	ret = -ENOMEM;
	sa->stats = esptun_stats_alloc();
	if (!sa->stats)
		goto err;
	if (cfg->dir == ESPTUN_SA_DIR_IN) {
		sa->replay = esptun_replay_alloc(cfg->replay_window, cfg->esn,
						 GFP_KERNEL);
		if (!sa->replay)
			goto err;
	}
	sa->aead = esptun_sa_aead(cfg->key, cfg->key_len, extack);
	if (IS_ERR(sa->aead)) {
		ret = PTR_ERR(sa->aead);
		sa->aead = NULL;
		goto err;
	}
	refcount_set(&sa->refcnt, 1);
	sa->spi = cfg->spi;
	sa->dir = cfg->dir;
	sa->esn = cfg->esn;
	atomic64_set(&sa->seq, cfg->seq);
	refcount_inc(&tun->refcnt);
	sa->tunnel = tun;
	esptun_lifetime_start(sa, &cfg->life);

	if (sa->dir == ESPTUN_SA_DIR_IN) {
		list_add_tail(&sa->tunnel_node, &tun->rx_sas);
		hash_add_rcu(esptun_net(tun->esp->link_net)->sa_in,
			     &sa->spi_node, (__force u32)sa->spi);
	} else {
		INIT_LIST_HEAD(&sa->tunnel_node);
		old = rcu_replace_pointer(tun->tx_sa, sa, lockdep_rtnl_is_held());
		if (old) {
			esptun_lifetime_stop(old);
			esptun_sa_put(old);
		}
	}
	esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_SA);
	pr_debug("sa %08x: created\n", ntohl(sa->spi));
	return 0;

err:
	if (sa->aead)
		crypto_free_aead(sa->aead);
	kfree(sa->replay);
	free_percpu(sa->stats);
	kfree(sa);
	return ret;
}

/**
 * esptun_sa_del() - unpublish an SA and drop its table reference
 * @sa: the SA, under RTNL
 */
void esptun_sa_del(struct esptun_sa *sa)
{
	struct esptun_tunnel *tun = sa->tunnel;

	ASSERT_RTNL();
	if (sa->dir == ESPTUN_SA_DIR_IN) {
		hash_del_rcu(&sa->spi_node);
		list_del(&sa->tunnel_node);
	} else if (rtnl_dereference(tun->tx_sa) == sa) {
		RCU_INIT_POINTER(tun->tx_sa, NULL);
	}
	esptun_lifetime_stop(sa);
	esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_SA);
	esptun_sa_put(sa);
}

void esptun_sa_del_all(struct esptun_tunnel *tun)
{
	struct esptun_sa *sa, *tmp;

	ASSERT_RTNL();
	sa = rtnl_dereference(tun->tx_sa);
	if (sa)
		esptun_sa_del(sa);
	list_for_each_entry_safe(sa, tmp, &tun->rx_sas, tunnel_node)
		esptun_sa_del(sa);
}
