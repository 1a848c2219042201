// SPDX-License-Identifier: GPL-2.0
/*
 * Security associations: keyed AEAD transforms, published to the data path
 * with RCU (outbound through tunnel->tx_sa, inbound through the per-netns
 * SPI table) and changed under the device's lock, the SPI table under its
 * namespace's (device.h).  Packets in asynchronous crypto hold a
 * reference; the last reference frees the SA after a grace period, in
 * process context because freeing a crypto transform may sleep.
 */
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <net/xfrm.h>

#include "device.h"
#include "main.h"
#include "objects.h"
#include "sa.h"
#include "tunnel.h"

/*
 * The namespace's inbound SAs by SPI (esptun_net.sa_in).  A gateway may
 * hold tens of thousands: sized to what it holds, and seeded at random,
 * so that chains stay short on the receive path whatever SPIs peers
 * choose.
 */
const struct rhashtable_params esptun_sa_in_params = {
	.key_len		= sizeof_field(struct esptun_sa, spi),
	.key_offset		= offsetof(struct esptun_sa, spi),
	.head_offset		= offsetof(struct esptun_sa, spi_node),
	.automatic_shrinking	= true,
};

/*
 * Under RCU, even with esptun_net.lock held: the table resizes in a work
 * item of its own, which takes none of our locks, and frees the bucket
 * tables it moved SAs off a grace period later.
 */
static struct esptun_sa *esptun_sa_lookup_in(struct net *net, __be32 spi)
{
	return rhashtable_lookup(&esptun_net(net)->sa_in, &spi,
				 esptun_sa_in_params);
}

/* Whether an inbound SA of @net has @spi; for the control path. */
static bool esptun_sa_spi_taken(struct net *net, __be32 spi)
{
	return !!rhashtable_lookup_fast(&esptun_net(net)->sa_in, &spi,
					esptun_sa_in_params);
}

/*
 * Per-CPU inbound SPI cache, in front of the table: a CPU that receives a
 * tunnel's ESP looks its SA up in memory no other CPU writes.  Entries
 * hold no reference; they are valid while their generation is the current
 * one.  Unpublishing an inbound SA moves the generation on before its
 * last reference can go (esptun_sa_del()), and the SA is freed a grace
 * period after that, so a reader either saw the old generation inside a
 * read-side section that the free waits for, or sees the new one and
 * misses.  64 bits: the generation never comes round again.
 */
#define ESPTUN_SPI_CACHE_SIZE	16

struct esptun_spi_cache_entry {
	const struct net *net;
	struct esptun_sa *sa;
	s64 gen;
	__be32 spi;
};

struct esptun_spi_cache {
	struct esptun_spi_cache_entry e[ESPTUN_SPI_CACHE_SIZE];
};

static DEFINE_PER_CPU(struct esptun_spi_cache, esptun_spi_cache);
/* Starts at 1: a zeroed entry is never current. */
static atomic64_t esptun_spi_gen = ATOMIC64_INIT(1);

/*
 * After the SA left the table.  Namespaces remove SAs concurrently, each
 * under its own lock: the increment is atomic, so every removal moves the
 * generation past every entry cached before it.
 */
static void esptun_spi_cache_invalidate(void)
{
	/* Pairs with the acquire in esptun_sa_lookup_in_cached(): whoever
	 * sees the new generation no longer finds the SA in the table.
	 */
	atomic64_inc_return_release(&esptun_spi_gen);
}

/**
 * esptun_sa_lookup_in_cached() - the inbound SA for an SPI, on the data path
 * @net: the namespace the ESP arrived in
 * @spi: its SPI
 *
 * In softirq, under RCU.  The SA may be unpublished already: take a
 * reference with esptun_sa_get(), which fails then.
 *
 * Return: the SA or NULL.
 */
struct esptun_sa *esptun_sa_lookup_in_cached(struct net *net, __be32 spi)
{
	struct esptun_spi_cache_entry *e;
	struct esptun_sa *sa;
	s64 gen;

	gen = atomic64_read_acquire(&esptun_spi_gen);
	e = &this_cpu_ptr(&esptun_spi_cache)->e[hash_32((__force u32)spi,
						      ilog2(ESPTUN_SPI_CACHE_SIZE))];
	if (e->gen == gen && e->spi == spi && e->net == net)
		return e->sa;
	sa = esptun_sa_lookup_in(net, spi);
	/* Not the SPIs of others (XFRM's): they would evict ours. */
	if (sa) {
		e->net = net;
		e->sa = sa;
		e->spi = spi;
		e->gen = gen;
	}
	return sa;
}

/* The SA of @esp's tunnels with this direction and SPI; @esp locked. */
struct esptun_sa *esptun_sa_find_dev(struct esptun_dev *esp, u8 dir,
				     __be32 spi)
{
	struct esptun_tunnel *tun;
	struct esptun_sa *sa;

	lockdep_assert_held(&esp->lock);
	if (dir == ESPTUN_SA_DIR_IN) {
		/* The SPI table, not a walk of up to 255 * max_sas_per_tunnel
		 * SAs: the device's inbound SAs are in it exactly while they
		 * are in their tunnels' rx_sas, both changed under @esp's
		 * lock.  One of another device's may be going meanwhile:
		 * RCU keeps it, and the tunnel it holds, readable.
		 */
		rcu_read_lock();
		sa = esptun_sa_lookup_in(esp->link_net, spi);
		if (sa && sa->tunnel->esp != esp)
			sa = NULL;
		rcu_read_unlock();
		return sa;
	}
	list_for_each_entry(tun, &esp->tunnels, dev_node) {
		sa = esptun_dereference(tun->tx_sa, esp);
		if (sa && sa->spi == spi)
			return sa;
	}
	return NULL;
}

static void esptun_sa_free_work(struct work_struct *work)
{
	struct esptun_sa *sa = container_of(to_rcu_work(work), struct esptun_sa,
					    rwork);

	/* crypto_free_aead() zeroises the transform, expanded key included. */
	crypto_free_aead(sa->aead);
	percpu_ref_exit(&sa->ref);
	kfree(sa->replay);
	free_percpu(sa->stats);
	esptun_tunnel_put(sa->tunnel);
	/* The selftests pair this line with "created" to find leaks. */
	pr_debug("sa %08x %p: destroyed\n", ntohl(sa->spi), sa);
	esptun_object_gone(ESPTUN_OBJ_SA);
	kfree(sa);
}

/* The last reference went, in any context: free after a grace period, in
 * process context.
 */
static void esptun_sa_release(struct percpu_ref *ref)
{
	struct esptun_sa *sa = container_of(ref, struct esptun_sa, ref);

	INIT_RCU_WORK(&sa->rwork, esptun_sa_free_work);
	queue_rcu_work(esptun_wq, &sa->rwork);
}

/* Drop the table's reference: no new one can be taken from then on. */
static void esptun_sa_kill(struct esptun_sa *sa)
{
	percpu_ref_kill(&sa->ref);
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

/*
 * The nonce rule.  AES-GCM's nonce is the salt and the 64-bit sequence
 * number (esp.c): a key that sends one sequence number twice reveals the
 * keystream and the GHASH key, i.e. lets anyone on the path forge.  A
 * caller must never give a key twice (uapi); the kernel refuses what it
 * can see: one key on two live outbound SAs of the namespace, one key
 * both ways on a tunnel (both ends count from 1), and a retired outbound
 * key again, unless it resumes past every sequence number it may have
 * sent.  Keys are compared by a keyed hash, so none is kept.
 */
static siphash_key_t esptun_key_id_secret __read_mostly;

static u64 esptun_key_id(const u8 *key, unsigned int len)
{
	net_get_random_once(&esptun_key_id_secret,
			    sizeof(esptun_key_id_secret));
	return siphash(key, len, &esptun_key_id_secret);
}

/*
 * Senders that read the old tx_sa before it was replaced may still take
 * tickets on it (esptun_sa_add()): at most a ring's worth.
 */
#define ESPTUN_SEQ_IN_FLIGHT	ESPTUN_ORDER_MAX

/* The first sequence number a key that sent up to @seq may resume after. */
static u64 esptun_seq_resume(u64 seq)
{
	return seq > U64_MAX - ESPTUN_SEQ_IN_FLIGHT ? U64_MAX :
	       seq + ESPTUN_SEQ_IN_FLIGHT;
}

/* Remember @sa's key as retired: it stops sending now. */
static void esptun_sa_retire_key(struct esptun_sa *sa)
{
	struct esptun_net *en = esptun_net(sa->tunnel->esp->link_net);
	struct esptun_key_used *k;

	mutex_lock(&en->lock);
	k = &en->keys_used[en->keys_used_next++ % ESPTUN_KEYS_USED];
	k->id = sa->key_id;
	k->seq = esptun_seq_resume(esptun_sa_seq(sa));
	mutex_unlock(&en->lock);
}

static int esptun_sa_check_key(struct esptun_tunnel *tun,
			       const struct esptun_sa_config *cfg, u64 key_id,
			       struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(tun->esp->link_net);
	struct esptun_tunnel *t;
	struct esptun_sa *sa;
	unsigned int i;
	int ret = 0;

	lockdep_assert_held(&tun->esp->lock);
	sa = esptun_dereference(tun->tx_sa, tun->esp);
	if (cfg->dir == ESPTUN_SA_DIR_IN) {
		if (sa && sa->key_id == key_id)
			goto both_ways;
		return 0;
	}
	list_for_each_entry(sa, &tun->rx_sas, tunnel_node)
		if (sa->key_id == key_id)
			goto both_ways;

	mutex_lock(&en->lock);
	rcu_read_lock();
	list_for_each_entry_rcu(t, &en->tunnels, net_node,
				lockdep_is_held(&en->lock)) {
		sa = rcu_dereference(t->tx_sa);
		if (!sa || sa->key_id != key_id)
			continue;
		/* The SA it replaces: retired as it goes in. */
		if (t == tun &&
		    cfg->seq >= esptun_seq_resume(esptun_sa_seq(sa)))
			continue;
		if (t == tun) {
			NL_SET_ERR_MSG(extack,
				       "the outbound SA it replaces has this key and sent up to a higher sequence number: AES-GCM nonces would repeat");
			ret = -EINVAL;
		} else {
			NL_SET_ERR_MSG(extack,
				       "an outbound SA in use has this key: AES-GCM nonces would repeat");
			ret = -EEXIST;
		}
		break;
	}
	rcu_read_unlock();
	for (i = 0; !ret && i < ESPTUN_KEYS_USED; i++) {
		if (en->keys_used[i].id == key_id &&
		    cfg->seq < en->keys_used[i].seq) {
			NL_SET_ERR_MSG(extack,
				       "this key sent before, with higher sequence numbers: AES-GCM nonces would repeat (use a new key)");
			ret = -EINVAL;
		}
	}
	mutex_unlock(&en->lock);
	return ret;

both_ways:
	NL_SET_ERR_MSG(extack,
		       "the same key both ways would repeat AES-GCM nonces: each direction needs its own");
	return -EINVAL;
}

/*
 * Inbound SAs per tunnel: the current one and those a rekey overlaps
 * (IKEv1 keeps them until they expire).  With 255 tunnels per device it
 * bounds what a namespace's administrator, maybe an unprivileged user
 * namespace's, makes the kernel hold; memory is charged to the caller's
 * cgroup besides.  Root may change it at run time.
 */
static unsigned int max_sas_per_tunnel = 64;
module_param(max_sas_per_tunnel, uint, 0644);
MODULE_PARM_DESC(max_sas_per_tunnel,
		 "inbound SAs one tunnel may hold (default 64)");

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
		if (list_count_nodes(&tun->rx_sas) >=
		    READ_ONCE(max_sas_per_tunnel)) {
			NL_SET_ERR_MSG(extack,
				       "the tunnel holds max_sas_per_tunnel inbound SAs (module parameter): delete one first");
			return -ENOSPC;
		}
		/* Checked again when it goes in (esptun_sa_publish_in()). */
		if (esptun_sa_spi_taken(tun->esp->link_net, cfg->spi)) {
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

/*
 * SPIs reserved by SPI_ALLOC (XFRM's ALLOCSPI) for an inbound SA of one
 * device: an IKE daemon sends its inbound SPI to the peer before it has
 * the keys.  In the transport namespace's list, under its lock; a
 * reservation goes when an SA of its device takes the SPI, when the device
 * goes, or ESPTUN_SPI_RESERVE_SECONDS after it was made.
 */
struct esptun_spi_resv {
	struct list_head node;
	const struct esptun_dev *owner;
	u64 expires;
	__be32 spi;
};

/* Bounds what one namespace's administrator can make the kernel hold. */
#define ESPTUN_SPI_RESERVED_MAX	4096

static void esptun_spi_resv_free(struct esptun_net *en,
				 struct esptun_spi_resv *r)
{
	list_del(&r->node);
	en->n_reserved--;
	kfree(r);
}

/* The live reservation of @spi, or NULL; expired ones on the way go. */
static struct esptun_spi_resv *esptun_spi_reserved(struct esptun_net *en,
						   __be32 spi)
{
	struct esptun_spi_resv *r, *tmp;
	u64 now = get_jiffies_64();

	lockdep_assert_held(&en->lock);
	list_for_each_entry_safe(r, tmp, &en->spi_reserved, node) {
		if (time_after_eq64(now, r->expires))
			esptun_spi_resv_free(en, r);
		else if (r->spi == spi)
			return r;
	}
	return NULL;
}

/* Nobody holds @spi in @net: no esptun SA or reservation, no XFRM state. */
static bool esptun_spi_free(struct net *net, __be32 spi)
{
	struct esptun_net *en = esptun_net(net);
	struct xfrm_state *x;

	if (esptun_sa_spi_taken(net, spi) || esptun_spi_reserved(en, spi))
		return false;
	x = xfrm_state_lookup_byspi(net, spi, AF_INET) ?:
	    xfrm_state_lookup_byspi(net, spi, AF_INET6);
	if (x) {
		xfrm_state_put(x);
		return false;
	}
	return true;
}

/**
 * esptun_sa_alloc_spi() - reserve a random free inbound SPI for a device
 * @esp: the device, locked
 * @min: the lowest SPI wanted
 * @max: the highest
 * @spi: where the SPI goes
 * @extack: where to say why not
 *
 * Small ranges are searched in full from a random point, large ones tried
 * at random 64 times (a namespace holds far fewer than 2^26 SPIs).
 *
 * Return: 0, -EINVAL (@min above @max), -ENOSPC (no free SPI found, or too
 * many reservations), -ENOMEM.
 */
int esptun_sa_alloc_spi(struct esptun_dev *esp, u32 min, u32 max,
			__be32 *spi, struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(esp->link_net);
	u64 range = (u64)max - min + 1, start = get_random_u32();
	struct esptun_spi_resv *r;
	int ret = -ENOSPC;
	u32 i, v;

	lockdep_assert_held(&esp->lock);
	if (min > max) {
		NL_SET_ERR_MSG(extack, "spi-min is above spi-max");
		return -EINVAL;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	mutex_lock(&en->lock);
	/* SPI 0 is never reserved: this only drops the expired ones. */
	esptun_spi_reserved(en, 0);
	if (en->n_reserved >= ESPTUN_SPI_RESERVED_MAX) {
		NL_SET_ERR_MSG(extack, "too many SPIs reserved in the namespace");
		goto out;
	}
	for (i = 0; i < min_t(u64, range, 64); i++) {
		v = min + (range <= 64 ? (start + i) % range :
			   ((u64)get_random_u32() * range) >> 32);
		if (esptun_spi_free(esp->link_net, htonl(v))) {
			r->spi = htonl(v);
			r->owner = esp;
			r->expires = get_jiffies_64() +
				     ESPTUN_SPI_RESERVE_SECONDS * HZ;
			list_add(&r->node, &en->spi_reserved);
			en->n_reserved++;
			*spi = r->spi;
			r = NULL;
			ret = 0;
			break;
		}
	}
	if (ret)
		NL_SET_ERR_MSG(extack, "no free SPI in the range");
out:
	mutex_unlock(&en->lock);
	kfree(r);
	return ret;
}

/* The device goes: so do its reservations.  @esp locked. */
void esptun_sa_unreserve(struct esptun_dev *esp)
{
	struct esptun_net *en = esptun_net(esp->link_net);
	struct esptun_spi_resv *r, *tmp;

	lockdep_assert_held(&esp->lock);
	mutex_lock(&en->lock);
	list_for_each_entry_safe(r, tmp, &en->spi_reserved, node)
		if (r->owner == esp)
			esptun_spi_resv_free(en, r);
	mutex_unlock(&en->lock);
}

/*
 * Whether XFRM receives ESP for @spi on @tun's local address: esptun's
 * handler runs first and would take XFRM's packets.  (An XFRM SA added
 * later, or one with a mark, is XFRM's user's to avoid.)
 */
static bool esptun_spi_xfrm_owned(const struct esptun_tunnel *tun, __be32 spi)
{
	struct xfrm_state *x;

	x = xfrm_state_lookup(tun->esp->link_net, 0,
			      (const xfrm_address_t *)&tun->local, spi,
			      IPPROTO_ESP, tun->family);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}

/*
 * An inbound SA into its namespace's SPI table, unless another device took
 * the SPI since esptun_sa_check() or reserved it, or XFRM has it; the SA
 * takes its own device's reservation.  The table may fail to make room
 * (-ENOMEM, or -EBUSY while it resizes): the reservation then stays, and
 * nobody saw the SA.
 */
static int esptun_sa_publish_in(struct esptun_sa *sa,
				struct netlink_ext_ack *extack)
{
	struct esptun_dev *esp = sa->tunnel->esp;
	struct esptun_net *en = esptun_net(esp->link_net);
	struct esptun_spi_resv *r;
	int ret;

	mutex_lock(&en->lock);
	r = esptun_spi_reserved(en, sa->spi);
	if (esptun_sa_spi_taken(esp->link_net, sa->spi)) {
		NL_SET_ERR_MSG(extack, "an inbound SA with this SPI already exists");
		ret = -EEXIST;
	} else if (r && r->owner != esp) {
		NL_SET_ERR_MSG(extack, "the SPI is reserved for another device");
		ret = -EEXIST;
	} else if (esptun_spi_xfrm_owned(sa->tunnel, sa->spi)) {
		NL_SET_ERR_MSG(extack,
			       "XFRM has an SA with this SPI to the tunnel's local address");
		ret = -EEXIST;
	} else {
		ret = rhashtable_insert_fast(&en->sa_in, &sa->spi_node,
					     esptun_sa_in_params);
		if (ret)
			NL_SET_ERR_MSG(extack,
				       "the namespace's SPI table could not grow (out of memory or resizing): try again");
		else if (r)
			esptun_spi_resv_free(en, r);
	}
	mutex_unlock(&en->lock);
	return ret;
}

/**
 * esptun_sa_add() - create an SA and publish it
 * @tun: the tunnel, its device locked
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
	u64 key_id;
	int ret;

	lockdep_assert_held(&tun->esp->lock);
	key_id = esptun_key_id(cfg->key, cfg->key_len);
	ret = esptun_sa_check(tun, cfg, extack);
	if (!ret)
		ret = esptun_lifetime_check(&cfg->life, extack);
	if (!ret)
		ret = esptun_sa_check_key(tun, cfg, key_id, extack);
	if (ret)
		return ret;

	sa = kzalloc(sizeof(*sa), GFP_KERNEL_ACCOUNT);
	if (!sa)
		return -ENOMEM;
	sa->key_id = key_id;
	ret = -ENOMEM;
	sa->stats = esptun_stats_alloc();
	if (!sa->stats)
		goto err;
	if (percpu_ref_init(&sa->ref, esptun_sa_release, 0, GFP_KERNEL_ACCOUNT))
		goto err;
	if (cfg->dir == ESPTUN_SA_DIR_IN) {
		sa->replay = esptun_replay_alloc(cfg->replay_window, cfg->esn,
						 GFP_KERNEL_ACCOUNT);
		if (!sa->replay)
			goto err;
	}
	sa->aead = esptun_sa_aead(cfg->key, cfg->key_len, extack);
	if (IS_ERR(sa->aead)) {
		ret = PTR_ERR(sa->aead);
		sa->aead = NULL;
		goto err;
	}
	sa->spi = cfg->spi;
	sa->dir = cfg->dir;
	sa->esn = cfg->esn;
	refcount_inc(&tun->refcnt);
	sa->tunnel = tun;
	esptun_lifetime_start(sa, &cfg->life);
	/* From here on the last reference frees the SA (esptun_sa_release()). */
	esptun_object_new(ESPTUN_OBJ_SA);
	pr_debug("sa %08x %p: created in pid:[%u]\n", ntohl(sa->spi), sa,
		 esptun_creator_pidns());

	if (sa->dir == ESPTUN_SA_DIR_IN) {
		ret = esptun_sa_publish_in(sa, extack);
		if (ret) {
			esptun_lifetime_stop(sa);
			esptun_sa_kill(sa);
			return ret;
		}
		list_add_tail(&sa->tunnel_node, &tun->rx_sas);
	} else {
		INIT_LIST_HEAD(&sa->tunnel_node);
		/* The next ticket is sequence number cfg->seq + 1.  A sender
		 * that sees the SA takes a later ticket: the publication
		 * below orders this read before its own.  One still on the
		 * old SA may take a few tickets first: numbers this SA skips.
		 */
		sa->seq_base = esptun_order_next(&tun->tx_order) - cfg->seq - 1;
		old = rcu_replace_pointer(tun->tx_sa, sa,
					  lockdep_is_held(&tun->esp->lock));
		if (old) {
			esptun_sa_retire_key(old);
			esptun_lifetime_stop(old);
			esptun_sa_kill(old);
		}
	}
	esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_SA);
	return 0;

err:
	if (sa->aead)
		crypto_free_aead(sa->aead);
	/* Safe on a ref never initialised: the SA was zeroed. */
	percpu_ref_exit(&sa->ref);
	kfree(sa->replay);
	free_percpu(sa->stats);
	kfree(sa);
	return ret;
}

/**
 * esptun_sa_seq() - the last sequence number an outbound SA gave out
 * @sa: the tunnel's outbound SA, under RCU or the device's lock
 *
 * Senders number packets with their tunnel's tickets (order.c): the last
 * number is the last ticket less the SA's base, capped at the last number
 * there is (a sender still on the SA before it may take tickets past it).
 *
 * Return: the number, the SA's initial one if it sent nothing.
 */
u64 esptun_sa_seq(const struct esptun_sa *sa)
{
	u64 seq = esptun_order_next(&sa->tunnel->tx_order) - 1 - sa->seq_base;

	return min(seq, esptun_sa_seq_max(sa));
}

/**
 * esptun_sa_del() - unpublish an SA and drop its table reference
 * @sa: the SA, its device locked
 */
void esptun_sa_del(struct esptun_sa *sa)
{
	struct esptun_tunnel *tun = sa->tunnel;
	struct esptun_net *en = esptun_net(tun->esp->link_net);

	lockdep_assert_held(&tun->esp->lock);
	if (sa->dir == ESPTUN_SA_DIR_IN) {
		mutex_lock(&en->lock);
		/* Removal allocates nothing: only a missing SA fails. */
		WARN_ON_ONCE(rhashtable_remove_fast(&en->sa_in, &sa->spi_node,
						    esptun_sa_in_params));
		mutex_unlock(&en->lock);
		list_del(&sa->tunnel_node);
		/* Before the table's reference goes (esptun_sa_kill()). */
		esptun_spi_cache_invalidate();
	} else if (esptun_dereference(tun->tx_sa, tun->esp) == sa) {
		RCU_INIT_POINTER(tun->tx_sa, NULL);
		esptun_sa_retire_key(sa);
	}
	esptun_lifetime_stop(sa);
	esptun_tunnel_update(tun, ESPTUN_STATE_CAUSE_SA);
	esptun_sa_kill(sa);
}

void esptun_sa_del_all(struct esptun_tunnel *tun)
{
	struct esptun_sa *sa, *tmp;

	lockdep_assert_held(&tun->esp->lock);
	sa = esptun_dereference(tun->tx_sa, tun->esp);
	if (sa)
		esptun_sa_del(sa);
	list_for_each_entry_safe(sa, tmp, &tun->rx_sas, tunnel_node)
		esptun_sa_del(sa);
}
