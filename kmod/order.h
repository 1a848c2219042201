/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ORDER_H
#define _ESPTUN_ORDER_H

#include <linux/skbuff.h>

/* Packets of one tunnel and direction in crypto at once, at most. */
#define ESPTUN_ORDER_MAX	2048

/**
 * struct esptun_order - a tunnel's packets in crypto, in the order they
 * must leave it
 * @queue: the packets; its lock also orders the sender's sequence numbers
 * @flushing: bit 0: a CPU is handing finished packets on
 */
struct esptun_order {
	struct sk_buff_head queue;
	unsigned long flushing;
};

typedef void (*esptun_order_fn)(struct sk_buff *skb, int err);

void esptun_order_init(struct esptun_order *o);
void esptun_order_done(struct esptun_order *o, struct sk_buff *skb, int err,
		       esptun_order_fn fn);

#endif /* _ESPTUN_ORDER_H */
