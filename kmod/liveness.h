/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_LIVENESS_H
#define _ESPTUN_LIVENESS_H

#include <linux/jiffies.h>

#include "tunnel.h"

void esptun_liveness_init(struct esptun_tunnel *tun);
void esptun_liveness_set(struct esptun_tunnel *tun, int keepalive,
			 int dead_after, int nat_keepalive);
void esptun_liveness_arm(struct esptun_tunnel *tun);
void esptun_liveness_stop(struct esptun_tunnel *tun);
void esptun_liveness_revive(struct esptun_tunnel *tun);

/*
 * An authentic packet arrived on @tun.  Writes the shared timestamp at most
 * once a jiffy, whichever CPU the packet is on.
 */
static inline void esptun_liveness_rx(struct esptun_tunnel *tun)
{
	unsigned long now = jiffies;

	if (READ_ONCE(tun->last_rx) != now)
		WRITE_ONCE(tun->last_rx, now);
	if (unlikely(test_bit(ESPTUN_TUN_DEAD, &tun->flags)))
		esptun_liveness_revive(tun);
}

#endif /* _ESPTUN_LIVENESS_H */
