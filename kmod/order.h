/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ORDER_H
#define _ESPTUN_ORDER_H

#include <linux/skbuff.h>
#include <linux/workqueue.h>

/* Packets of one tunnel and direction in crypto at once, at most. */
#define ESPTUN_ORDER_MAX	2048

struct esptun_tunnel;

typedef void (*esptun_order_fn)(struct sk_buff *skb, int err);

/**
 * struct esptun_order - a tunnel's packets in crypto, in the order they
 * must leave it, and the stage that hands them on in that order
 * @queue: the packets; its lock also orders the sender's sequence numbers
 * @queued: jiffies when the receive side last queued a packet; under
 *          @queue's lock
 * @flushing: bit 0: a context is handing finished packets on
 * @work: hands finished packets on, on @cpu, for crypto finished elsewhere
 * @fn: what is done with each packet, with the crypto result
 * @cpu: where packets are handed on; changed only by esptun_order_avoid()
 */
struct esptun_order {
	struct sk_buff_head queue;
	unsigned long queued;
	unsigned long flushing;
	struct work_struct work;
	esptun_order_fn fn;
	int cpu;
};

void esptun_order_init(struct esptun_order *o, esptun_order_fn fn, int cpu);
void esptun_order_avoid(struct esptun_order *o, int cpu);
void esptun_order_done(struct esptun_order *o, struct sk_buff *skb, int err);
void esptun_order_stop(struct esptun_order *o);

#endif /* _ESPTUN_ORDER_H */
