// SPDX-License-Identifier: GPL-2.0
/*
 * SA lifetimes, as XFRM has them (RFC 4301 4.4.2.1): soft and hard limits
 * in bytes, packets and seconds since the SA was added, plus the sequence
 * space, whose soft limit comes well before its end.  Crossing a soft
 * limit tells the IKE daemon to rekey; crossing a hard one stops the SA.
 *
 * Counting costs the data path no shared write: each tunnel hands its
 * packets on from one CPU at a time (order.c), and that is where an SA's
 * bytes and packets are added up and compared.  Seconds are a timer's.
 * Crossings set bits from any context; one work item per SA announces them
 * under the device's lock, in a fixed order that puts soft before hard, so that an IKE
 * daemon hears each limit exactly once.
 */
#include <linux/jiffies.h>
#include <linux/mutex.h>

#include "device.h"
#include "lifetime.h"
#include "main.h"
#include "netlink.h"
#include "sa.h"
#include "tunnel.h"

/* Timers further out than this wake up early and look again. */
#define ESPTUN_LIFETIME_MAX_SLEEP	(24 * 3600)

/**
 * esptun_lifetime_check() - are the limits consistent?
 * @cfg: the limits asked for
 * @extack: where to say what is wrong
 *
 * Return: 0, or -EINVAL when a soft limit lies beyond its hard one.
 */
int esptun_lifetime_check(const struct esptun_lifetime_config *cfg,
			  struct netlink_ext_ack *extack)
{
	const u64 *soft = cfg->limit[ESPTUN_EXPIRE_SOFT];
	const u64 *hard = cfg->limit[ESPTUN_EXPIRE_HARD];
	int i;

	for (i = 0; i < ESPTUN_USER_LIMITS; i++) {
		if (!soft[i] || !hard[i] || soft[i] <= hard[i])
			continue;
		/* Extack messages are literals (no formatted ones in 6.1). */
		if (i == ESPTUN_LIMIT_BYTES)
			NL_SET_ERR_MSG(extack, "soft-bytes must not exceed hard-bytes");
		else if (i == ESPTUN_LIMIT_PACKETS)
			NL_SET_ERR_MSG(extack, "soft-packets must not exceed hard-packets");
		else
			NL_SET_ERR_MSG(extack, "soft-seconds must not exceed hard-seconds");
		return -EINVAL;
	}
	return 0;
}

static void esptun_lifetime_fire(struct esptun_sa *sa, int expire, int limit)
{
	struct esptun_lifetime *life = &sa->life;
	int bit = expire * ESPTUN_LIMITS + limit;

	/* Read first: a crossed limit stays crossed for every later packet. */
	if (test_bit(bit, &life->fired) || test_and_set_bit(bit, &life->fired))
		return;
	if (expire == ESPTUN_EXPIRE_HARD) {
		WRITE_ONCE(life->expired, true);
		/* Its tunnel stops carrying traffic: flows move, carrier. */
		if (sa->dir == ESPTUN_SA_DIR_OUT)
			esptun_tunnel_kick(sa->tunnel, ESPTUN_STATE_CAUSE_SA);
	}
	if (!esptun_sa_get(sa))
		return;
	if (!queue_work(esptun_wq, &life->work))
		esptun_sa_put(sa);
}

static void esptun_lifetime_work(struct work_struct *work)
{
	struct esptun_lifetime *life = container_of(work, struct esptun_lifetime,
						    work);
	struct esptun_sa *sa = container_of(life, struct esptun_sa, life);
	struct esptun_dev *esp = sa->tunnel->esp;
	int bit;

	/* The SA holds its tunnel, which holds the device. */
	mutex_lock(&esp->lock);
	for (bit = 0; bit < 2 * ESPTUN_LIMITS; bit++) {
		if (!test_bit(bit, &life->fired) ||
		    test_and_set_bit(bit, &life->sent))
			continue;
		esptun_nl_sa_expire_event(sa, bit / ESPTUN_LIMITS,
					  bit % ESPTUN_LIMITS);
	}
	mutex_unlock(&esp->lock);
	esptun_sa_put(sa);
}

u64 esptun_lifetime_age(const struct esptun_sa *sa)
{
	return div_u64(get_jiffies_64() - sa->life.added, HZ);
}

/* Seconds since the SA last carried a packet into *@secs; false if never. */
bool esptun_lifetime_idle(const struct esptun_sa *sa, u64 *secs)
{
	u64 last = READ_ONCE(sa->life.last);

	if (!last)
		return false;
	*secs = div_u64(get_jiffies_64() - last, HZ);
	return true;
}

static void esptun_lifetime_timer(struct timer_list *t)
{
	struct esptun_lifetime *life = from_timer(life, t, timer);
	struct esptun_sa *sa = container_of(life, struct esptun_sa, life);
	u64 age = get_jiffies_64() - life->added, next = U64_MAX;
	int e;

	/*
	 * In jiffies of age, never as added + secs * HZ: a limit of any u64
	 * (U64_MAX seconds, say) must not wrap to a time already past.
	 */
	for (e = ESPTUN_EXPIRE_SOFT; e <= ESPTUN_EXPIRE_HARD; e++) {
		u64 secs = life->cfg.limit[e][ESPTUN_LIMIT_SECONDS];
		u64 due = secs > div_u64(U64_MAX, HZ) ? U64_MAX : secs * HZ;

		if (!secs)
			continue;
		if (age >= due)
			esptun_lifetime_fire(sa, e, ESPTUN_LIMIT_SECONDS);
		else
			next = min(next, due - age);
	}
	if (next != U64_MAX)
		mod_timer(&life->timer,
			  jiffies + min_t(u64, next,
					  ESPTUN_LIFETIME_MAX_SLEEP * HZ));
}

/**
 * esptun_lifetime_start() - set an SA's limits and start its clock
 * @sa: the SA, not yet published
 * @cfg: limits checked by esptun_lifetime_check()
 */
void esptun_lifetime_start(struct esptun_sa *sa,
			   const struct esptun_lifetime_config *cfg)
{
	struct esptun_lifetime *life = &sa->life;
	u64 secs;

	life->cfg = *cfg;
	life->added = get_jiffies_64();
	INIT_WORK(&life->work, esptun_lifetime_work);
	timer_setup(&life->timer, esptun_lifetime_timer, 0);
	secs = cfg->limit[ESPTUN_EXPIRE_SOFT][ESPTUN_LIMIT_SECONDS] ?:
	       cfg->limit[ESPTUN_EXPIRE_HARD][ESPTUN_LIMIT_SECONDS];
	if (secs)
		mod_timer(&life->timer,
			  jiffies + min_t(u64, secs, ESPTUN_LIFETIME_MAX_SLEEP) * HZ);
}

/**
 * esptun_lifetime_stop() - stop an SA's clock
 * @sa: the SA, unpublished (its device locked); limits that packets still in
 *	flight cross from now on are not announced (esptun_sa_get() fails):
 *	the daemon has already let the SA go
 */
void esptun_lifetime_stop(struct esptun_sa *sa)
{
	/* The timer re-arms only itself: del_timer_sync() waits that out. */
	del_timer_sync(&sa->life.timer);
}

/**
 * esptun_lifetime_count() - add a packet an SA carried, check the limits
 * @sa: the SA
 * @len: the inner packet's length (0 for a dummy packet)
 *
 * From the tunnel's in-order hand-off only (see struct esptun_lifetime).
 */
void esptun_lifetime_count(struct esptun_sa *sa, unsigned int len)
{
	struct esptun_lifetime *life = &sa->life;
	u64 bytes = life->bytes + len, packets = life->packets + 1;
	int e;

	WRITE_ONCE(life->bytes, bytes);
	WRITE_ONCE(life->packets, packets);
	/* The same cache line, written by the same CPU: no extra cost. */
	WRITE_ONCE(life->last, get_jiffies_64());
	for (e = ESPTUN_EXPIRE_SOFT; e <= ESPTUN_EXPIRE_HARD; e++) {
		u64 *limit = life->cfg.limit[e];

		if (limit[ESPTUN_LIMIT_BYTES] && bytes >= limit[ESPTUN_LIMIT_BYTES])
			esptun_lifetime_fire(sa, e, ESPTUN_LIMIT_BYTES);
		if (limit[ESPTUN_LIMIT_PACKETS] &&
		    packets >= limit[ESPTUN_LIMIT_PACKETS])
			esptun_lifetime_fire(sa, e, ESPTUN_LIMIT_PACKETS);
	}
}

/**
 * esptun_lifetime_seq() - an outbound SA sent sequence number @seq
 * @sa: the SA
 * @seq: the number, from the in-order hand-off (so in increasing order)
 *
 * The sequence space is soft-expired ESPTUN_SEQ_SOFT_LEFT numbers before
 * its end and hard-expired at it.
 */
void esptun_lifetime_seq(struct esptun_sa *sa, u64 seq)
{
	u64 max = esptun_sa_seq_max(sa);

	if (seq >= max - ESPTUN_SEQ_SOFT_LEFT)
		esptun_lifetime_fire(sa, ESPTUN_EXPIRE_SOFT, ESPTUN_LIMIT_SEQ);
	if (seq >= max)
		esptun_lifetime_fire(sa, ESPTUN_EXPIRE_HARD, ESPTUN_LIMIT_SEQ);
}

/* The most severe kind of limit crossed so far, or -1 for none. */
int esptun_lifetime_worst(const struct esptun_sa *sa)
{
	unsigned long fired = READ_ONCE(sa->life.fired);

	if (fired >> (ESPTUN_EXPIRE_HARD * ESPTUN_LIMITS))
		return ESPTUN_EXPIRE_HARD;
	return fired ? ESPTUN_EXPIRE_SOFT : -1;
}
