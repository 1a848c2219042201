/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ORDER_H
#define _ESPTUN_ORDER_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/skbuff.h>
#include <linux/smp.h>
#include <linux/workqueue.h>

struct napi_struct;

/* Packets of one tunnel and direction in crypto at once, at most: a power
 * of two, the ring's size.
 */
#define ESPTUN_ORDER_MAX	2048

typedef void (*esptun_order_fn)(struct sk_buff *skb, int err);

/**
 * struct esptun_order - a tunnel's packets in crypto, in the order they
 * must leave it, and the stage that hands them on in that order
 * @tail: the ticket the next packet takes; tickets are taken in the order
 *	packets must leave, and outbound, each is a sequence number
 *	(esptun_order_reserve())
 * @head: the ticket of the next packet to hand on; written by the context
 *	holding @flushing only
 * @flushing: bit 0: a context is handing finished packets on
 * @slots: @slots[ticket % ESPTUN_ORDER_MAX]: the packet with that ticket
 *	once crypto is done with it, else NULL
 * @work: hands finished packets on, on @cpu, for crypto finished elsewhere
 * @fn: what is done with each packet, with the crypto result
 * @cpu: where packets are handed on; moved off an offline one
 *	(esptun_order_done()) and, inbound, off the CPU ESP arrives on
 *	(esptun_order_avoid())
 * @napi: if set, what hands packets on instead of @work: its poll, on
 *	@cpu, calls esptun_order_poll() (the receive side, rx.c)
 * @csd: schedules @napi on @cpu from another CPU
 *
 * Who writes what: @tail whoever queues a packet, @head and @flushing
 * whoever hands them on, each on a line of its own.
 */
struct esptun_order {
	atomic64_t tail;
	atomic64_t head ____cacheline_aligned_in_smp;
	unsigned long flushing;
	struct sk_buff **slots ____cacheline_aligned_in_smp;
	esptun_order_fn fn;
	int cpu;
	struct napi_struct *napi;
	call_single_data_t csd;
	struct work_struct work;
};

int esptun_order_init(struct esptun_order *o, esptun_order_fn fn, int cpu,
		      struct napi_struct *napi);
int esptun_order_reserve(struct esptun_order *o, struct sk_buff *skb, u64 base,
			 u64 max, u64 *ticket);
void esptun_order_avoid(struct esptun_order *o, int cpu);
void esptun_order_done(struct esptun_order *o, struct sk_buff *skb, int err);
unsigned int esptun_order_poll(struct esptun_order *o, unsigned int budget);
void esptun_order_stop(struct esptun_order *o);

/* The ticket the next packet would take. */
static inline u64 esptun_order_next(const struct esptun_order *o)
{
	return atomic64_read(&o->tail);
}

/* Packets with a ticket not yet handed on: in crypto, or finished and
 * waiting for those before them.
 */
static inline u64 esptun_order_pending(const struct esptun_order *o)
{
	return atomic64_read(&o->tail) - atomic64_read(&o->head);
}

#endif /* _ESPTUN_ORDER_H */
