// SPDX-License-Identifier: GPL-2.0
/*
 * Data-plane liveness of a tunnel, both optional:
 *
 *  - keepalive: an ESP dummy packet (next header 59, RFC 4303 2.6) every
 *    so many seconds, which any compliant peer authenticates and discards:
 *    the peer's own liveness check sees traffic on an idle tunnel;
 *  - dead-after: with nothing authentic received for so many seconds the
 *    tunnel stops carrying traffic (its flows fail over) until the next
 *    authentic packet, keepalives included, brings it back.
 *
 * and, for a UDP-encapsulated tunnel, a NAT keepalive (RFC 3948 2.2) every
 * so many seconds, which keeps the mappings of NATs on the way alive.
 *
 * One timer per tunnel does all, in softirq context.  Verdicts change a
 * flag the data path reads; announcing them (event, carrier) needs the
 * device's lock, so the tunnel's state_work does that (esptun_tunnel_kick()).
 */
#include <linux/esptun.h>

#include "device.h"
#include "liveness.h"
#include "tx.h"

/* With only dead-after set and the tunnel dead, the timer has nothing to
 * do until a packet revives it; it still needs a deadline to sleep to.
 */
#define ESPTUN_LIVENESS_IDLE	(3600 * HZ)

/* Sends with @send if @secs passed since *@last; returns when next due. */
static unsigned long esptun_liveness_send(struct esptun_tunnel *tun,
					  unsigned long *last, unsigned int secs,
					  void (*send)(struct esptun_tunnel *tun),
					  unsigned long now)
{
	unsigned long due = *last + secs * HZ;

	if (time_before(now, due))
		return due;
	rcu_read_lock_bh();
	send(tun);
	rcu_read_unlock_bh();
	*last = now;
	return now + secs * HZ;
}

static void esptun_liveness_timer(struct timer_list *t)
{
	struct esptun_tunnel *tun = from_timer(tun, t, timer);
	unsigned int keepalive = READ_ONCE(tun->keepalive);
	unsigned int dead_after = READ_ONCE(tun->dead_after);
	unsigned int nat_keepalive = READ_ONCE(tun->nat_keepalive);
	unsigned long now = jiffies, next = now + ESPTUN_LIVENESS_IDLE, due;

	if (READ_ONCE(tun->dying) || (!keepalive && !dead_after && !nat_keepalive))
		return;
	if (nat_keepalive)
		next = esptun_liveness_send(tun, &tun->last_nat_keepalive,
					    nat_keepalive, esptun_tx_nat_keepalive,
					    now);
	if (keepalive) {
		due = esptun_liveness_send(tun, &tun->last_keepalive, keepalive,
					   esptun_tx_keepalive, now);
		if (!nat_keepalive || time_before(due, next))
			next = due;
	}
	if (dead_after && !test_bit(ESPTUN_TUN_DEAD, &tun->flags)) {
		due = READ_ONCE(tun->last_rx) + dead_after * HZ;
		if (!time_before(now, due)) {
			set_bit(ESPTUN_TUN_DEAD, &tun->flags);
			esptun_tunnel_kick(tun, ESPTUN_STATE_CAUSE_LIVENESS);
		} else if (time_before(due, next)) {
			next = due;
		}
	}
	mod_timer(&tun->timer, next);
}

void esptun_liveness_init(struct esptun_tunnel *tun)
{
	timer_setup(&tun->timer, esptun_liveness_timer, 0);
	tun->last_rx = jiffies;
}

/**
 * esptun_liveness_set() - change a tunnel's keepalives and dead-after
 * @tun: the tunnel, its device locked
 * @keepalive: seconds, 0 for none, -1 to keep
 * @dead_after: seconds, 0 for never, -1 to keep
 * @nat_keepalive: seconds, 0 for none, -1 to keep
 *
 * A new dead-after clears the verdict and starts counting from now.  The
 * caller announces the resulting state.
 */
void esptun_liveness_set(struct esptun_tunnel *tun, int keepalive,
			 int dead_after, int nat_keepalive)
{
	lockdep_assert_held(&tun->esp->lock);
	if (keepalive >= 0) {
		/* The first dummy goes at once. */
		tun->last_keepalive = jiffies - keepalive * HZ;
		WRITE_ONCE(tun->keepalive, keepalive);
	}
	if (dead_after >= 0) {
		WRITE_ONCE(tun->last_rx, jiffies);
		WRITE_ONCE(tun->dead_after, dead_after);
		clear_bit(ESPTUN_TUN_DEAD, &tun->flags);
	}
	if (nat_keepalive >= 0) {
		tun->last_nat_keepalive = jiffies - nat_keepalive * HZ;
		WRITE_ONCE(tun->nat_keepalive, nat_keepalive);
	}
	esptun_liveness_arm(tun);
}

/* Device locked: run the timer soon if there is anything for it to do. */
void esptun_liveness_arm(struct esptun_tunnel *tun)
{
	lockdep_assert_held(&tun->esp->lock);
	if (!tun->dying &&
	    (tun->keepalive || tun->dead_after || tun->nat_keepalive))
		mod_timer(&tun->timer, jiffies + 1);
}

/* Device locked, the tunnel marked dying: no timer runs after this. */
void esptun_liveness_stop(struct esptun_tunnel *tun)
{
	lockdep_assert_held(&tun->esp->lock);
	del_timer_sync(&tun->timer);
}

/* From the data path: the tunnel is alive again. */
void esptun_liveness_revive(struct esptun_tunnel *tun)
{
	if (test_and_clear_bit(ESPTUN_TUN_DEAD, &tun->flags))
		esptun_tunnel_kick(tun, ESPTUN_STATE_CAUSE_LIVENESS);
}
