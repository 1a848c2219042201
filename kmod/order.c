// SPDX-License-Identifier: GPL-2.0
/*
 * In-order completion of a tunnel's packets.
 *
 * Crypto may finish a tunnel's packets out of order: asynchronous drivers
 * complete them on other CPUs, and the SIMD drivers (AES-NI) run some
 * requests at once and queue others to cryptd when the FPU is not usable.
 * Left alone, a TCP flow's segments leave reordered and, on the way out,
 * with sequence numbers so far apart that the peer's replay window drops
 * them.  So each tunnel keeps the packets it sends (in sequence number
 * order) and those it receives (in arrival order) in a queue from before
 * crypto to after it; whichever CPU finishes the packet at the head hands
 * on every finished packet from the head, one CPU at a time, as WireGuard
 * does with its per-peer queues.  A full queue drops new packets, counted
 * by the caller, rather than growing.
 */
#include "esp.h"
#include "order.h"

void esptun_order_init(struct esptun_order *o)
{
	skb_queue_head_init(&o->queue);
	o->flushing = 0;
}

/* The head if crypto is done with it, unlinked if @pop. */
static struct sk_buff *esptun_order_head(struct esptun_order *o, bool pop)
{
	struct sk_buff *skb;

	spin_lock_bh(&o->queue.lock);
	skb = skb_peek(&o->queue);
	/* Pairs with the release in esptun_order_done(): err is valid. */
	if (skb && !smp_load_acquire(&ESPTUN_CB(skb)->done))
		skb = NULL;
	if (skb && pop)
		__skb_unlink(skb, &o->queue);
	spin_unlock_bh(&o->queue.lock);
	return skb;
}

/**
 * esptun_order_done() - crypto finished a queued packet: hand on what can go
 * @o: the packet's queue
 * @skb: the packet; the caller must not touch it after
 * @err: the crypto result, for @fn
 * @fn: what to do with each packet, in queue order
 *
 * With BH disabled.  The queue's tunnel stays valid meanwhile: it is freed
 * by RCU, and a CPU with BH disabled holds off grace periods.
 */
void esptun_order_done(struct esptun_order *o, struct sk_buff *skb, int err,
		       esptun_order_fn fn)
{
	ESPTUN_CB(skb)->err = err;
	/* Whoever sees done sees err and what crypto wrote. */
	smp_store_release(&ESPTUN_CB(skb)->done, true);
	for (;;) {
		/* Another CPU is at it; it looks again before it stops. */
		if (test_and_set_bit_lock(0, &o->flushing))
			return;
		while ((skb = esptun_order_head(o, true)))
			fn(skb, ESPTUN_CB(skb)->err);
		clear_bit_unlock(0, &o->flushing);
		/* A packet finished after our last look, while its CPU saw
		 * us flushing: it is ours to hand on.
		 */
		smp_mb__after_atomic();
		if (!esptun_order_head(o, false))
			return;
	}
}
