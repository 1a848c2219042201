/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_SA_H
#define _ESPTUN_SA_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/esptun.h>
#include <linux/netlink.h>
#include <linux/percpu-refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/workqueue.h>
#include <crypto/aead.h>

#include "lifetime.h"
#include "replay.h"
#include "stats.h"

struct esptun_dev;
struct esptun_tunnel;

/**
 * struct esptun_sa - a security association of a tunnel
 * @ref: one for the tunnel/SPI table that publishes it (dropped by killing
 *	the ref when the SA is unpublished), one for each packet in flight and
 *	each queued work item; per-CPU while published, so that taking one
 *	per packet touches no shared cache line
 * @rwork: frees the SA once no reader can see it (may sleep: a workqueue)
 * @spi_node: inbound: entry in esptun_net(link_net)->sa_in, keyed by @spi
 *	(RCU; esptun_net.lock)
 * @tunnel_node: inbound: entry in tunnel->rx_sas (the device's lock)
 * @tunnel: the owning tunnel, referenced
 * @aead: rfc4106(gcm(aes)) keyed with key || salt; freed (and so zeroised)
 *	with the SA
 * @spi: SPI, network order
 * @dir: ESPTUN_SA_DIR_IN or ESPTUN_SA_DIR_OUT
 * @esn: 64-bit extended sequence numbers (RFC 4303 2.2.1)
 * @seq_base: outbound: what a packet's ticket in its tunnel's tx_order
 *	exceeds its sequence number by (order.c); fixed before the SA is
 *	published
 * @replay: inbound: the anti-replay window
 * @stats: per-SA counters
 * @life: lifetime limits and what counts against them
 */
struct esptun_sa {
	struct percpu_ref ref;
	struct rcu_work rwork;
	struct rhash_head spi_node;
	struct list_head tunnel_node;
	struct esptun_tunnel *tunnel;
	struct crypto_aead *aead;
	__be32 spi;
	u8 dir;
	bool esn;
	struct esptun_replay *replay;
	struct esptun_stats __percpu *stats;
	u64 seq_base;
	u64 key_id;		/* the key's fingerprint (sa.c, nonce rule) */
	/* Written for every packet by the tunnel's hand-off CPU: on a line
	 * of its own, away from what the lookup and every CPU read.
	 */
	struct esptun_lifetime life ____cacheline_aligned_in_smp;
};

/* Key material: AES key then the 4-byte salt, as XFRM's rfc4106 takes it. */
#define ESPTUN_SALT_LEN		4
#define ESPTUN_ICV_LEN		16
#define ESPTUN_IV_LEN		8

struct esptun_sa_config {
	u8 dir;
	__be32 spi;
	const u8 *key;
	unsigned int key_len;
	bool esn;
	u32 replay_window;
	u64 seq;
	struct esptun_lifetime_config life;
};

extern const struct rhashtable_params esptun_sa_in_params;

int esptun_sa_add(struct esptun_tunnel *tun, const struct esptun_sa_config *cfg,
		  struct netlink_ext_ack *extack);
struct esptun_sa *esptun_sa_find_dev(struct esptun_dev *esp, u8 dir,
				     __be32 spi);
void esptun_sa_del(struct esptun_sa *sa);
void esptun_sa_del_all(struct esptun_tunnel *tun);
int esptun_sa_alloc_spi(struct esptun_dev *esp, u32 min, u32 max,
			__be32 *spi, struct netlink_ext_ack *extack);
void esptun_sa_unreserve(struct esptun_dev *esp);
struct esptun_sa *esptun_sa_lookup_in_cached(struct net *net, __be32 spi);
u64 esptun_sa_seq(const struct esptun_sa *sa);

/* A reference, unless the SA is unpublished: found under RCU, it may be. */
static inline bool esptun_sa_get(struct esptun_sa *sa)
{
	return percpu_ref_tryget_live(&sa->ref);
}

static inline void esptun_sa_put(struct esptun_sa *sa)
{
	percpu_ref_put(&sa->ref);
}

/* A hard lifetime limit was crossed: the SA carries nothing more. */
static inline bool esptun_sa_expired(const struct esptun_sa *sa)
{
	return READ_ONCE(sa->life.expired);
}

/* The highest sequence number an SA may send: 2^32-1 without ESN. */
static inline u64 esptun_sa_seq_max(const struct esptun_sa *sa)
{
	return sa->esn ? U64_MAX : U32_MAX;
}

#endif /* _ESPTUN_SA_H */
