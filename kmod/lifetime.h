/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_LIFETIME_H
#define _ESPTUN_LIFETIME_H

#include <linux/esptun.h>
#include <linux/netlink.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct esptun_sa;

/* The limits a user sets: bytes, packets and seconds; the sequence space is
 * the fourth, implicit one.
 */
#define ESPTUN_USER_LIMITS	(ESPTUN_LIMIT_SECONDS + 1)
#define ESPTUN_LIMITS		(ESPTUN_LIMIT_SEQ + 1)
/* The soft sequence-number limit: this many numbers left. */
#define ESPTUN_SEQ_SOFT_LEFT	BIT_ULL(28)

/**
 * struct esptun_lifetime_config - soft and hard limits, 0 for none
 * @limit: [enum esptun_expire][enum esptun_limit, user limits only]
 */
struct esptun_lifetime_config {
	u64 limit[ESPTUN_EXPIRE_HARD + 1][ESPTUN_USER_LIMITS];
};

/**
 * struct esptun_lifetime - what an SA carried and which limits it crossed
 * @bytes: inner bytes carried; written only from the SA's tunnel's in-order
 *	hand-off (order.c), which runs on one CPU at a time, so without
 *	atomics; read locklessly for dumps
 * @packets: packets carried, the same way
 * @last: jiffies64 of the last packet carried, the same way; 0 before any
 * @cfg: the limits, fixed once the SA is published
 * @added: jiffies64 when the SA was added
 * @fired: BIT(expire * ESPTUN_LIMITS + limit) once crossed (atomic bitops)
 * @sent: the bits of @fired announced so far, by @work only
 * @expired: a hard limit was crossed: the SA carries nothing more
 * @timer: crosses the seconds limits, in softirq
 * @work: announces @fired in order, soft before hard; holds an SA reference
 *	while queued
 */
struct esptun_lifetime {
	u64 bytes;
	u64 packets;
	u64 last;
	struct esptun_lifetime_config cfg;
	u64 added;
	unsigned long fired;
	unsigned long sent;
	bool expired;
	struct timer_list timer;
	struct work_struct work;
};

int esptun_lifetime_check(const struct esptun_lifetime_config *cfg,
			  struct netlink_ext_ack *extack);
void esptun_lifetime_start(struct esptun_sa *sa,
			   const struct esptun_lifetime_config *cfg);
void esptun_lifetime_stop(struct esptun_sa *sa);
void esptun_lifetime_count(struct esptun_sa *sa, unsigned int len);
void esptun_lifetime_seq(struct esptun_sa *sa, u64 seq);
u64 esptun_lifetime_age(const struct esptun_sa *sa);
bool esptun_lifetime_idle(const struct esptun_sa *sa, u64 *secs);
int esptun_lifetime_worst(const struct esptun_sa *sa);

#endif /* _ESPTUN_LIFETIME_H */
