// SPDX-License-Identifier: GPL-2.0
/*
 * In-order completion of a tunnel's packets.
 *
 * Crypto finishes a tunnel's packets out of order: they are spread over
 * every CPU (parallel.c), and asynchronous drivers complete on yet other
 * CPUs.  Left alone, a TCP flow's segments would leave reordered and, on
 * the way out, with sequence numbers so far apart that the peer's replay
 * window drops them.  So each tunnel keeps the packets it sends (in
 * sequence number order) and those it receives (in arrival order) in a
 * queue from before crypto to after it, and one work item per queue hands
 * on every finished packet from the head, as WireGuard's per-peer serial
 * stages do.  The work item runs on one CPU chosen per tunnel: a work
 * item never runs on two CPUs at once, and sending (or delivering) from a
 * single CPU keeps the order a multiqueue NIC (XPS) or the per-CPU GRO
 * cells would otherwise lose.  A full queue drops new packets, counted by
 * the caller, rather than growing.
 */
#include "esp.h"
#include "order.h"
#include "parallel.h"

/* Packets handed on between two looks at the scheduler. */
#define ESPTUN_ORDER_BATCH	64

/* The head if crypto is done with it, unlinked. */
static struct sk_buff *esptun_order_pop(struct esptun_order *o)
{
	struct sk_buff *skb;

	spin_lock_bh(&o->queue.lock);
	skb = skb_peek(&o->queue);
	/* Pairs with the release in esptun_order_done(): err is valid. */
	if (skb && smp_load_acquire(&ESPTUN_CB(skb)->done))
		__skb_unlink(skb, &o->queue);
	else
		skb = NULL;
	spin_unlock_bh(&o->queue.lock);
	return skb;
}

static void esptun_order_work(struct work_struct *work)
{
	struct esptun_order *o = container_of(work, struct esptun_order, work);
	struct sk_buff *skb;
	unsigned int n;

	/* The queue's tunnel outlives this: freeing it waits for the work
	 * (esptun_order_stop()).
	 */
	do {
		local_bh_disable();
		for (n = 0; n < ESPTUN_ORDER_BATCH; n++) {
			skb = esptun_order_pop(o);
			if (!skb)
				break;
			o->fn(skb, ESPTUN_CB(skb)->err);
		}
		local_bh_enable();
		cond_resched();
	} while (n == ESPTUN_ORDER_BATCH);
}

void esptun_order_init(struct esptun_order *o, esptun_order_fn fn, int cpu)
{
	skb_queue_head_init(&o->queue);
	INIT_WORK(&o->work, esptun_order_work);
	o->fn = fn;
	o->cpu = cpu;
}

/**
 * esptun_order_done() - crypto finished a queued packet
 * @o: the packet's queue
 * @skb: the packet; the caller must not touch it after
 * @err: the crypto result, for @o->fn
 *
 * With BH disabled: the packet holds its SA, which holds the queue's
 * tunnel, and once the packet is handed on the tunnel lasts at least
 * until the next grace period, which BH disabled holds off.
 */
void esptun_order_done(struct esptun_order *o, struct sk_buff *skb, int err)
{
	ESPTUN_CB(skb)->err = err;
	/* Whoever sees done sees err and what crypto wrote.  Queueing the
	 * work is a full barrier: either the work is pending and has yet to
	 * look at the queue, or it is queued again.
	 */
	smp_store_release(&ESPTUN_CB(skb)->done, true);
	queue_work_on(o->cpu, esptun_crypt_wq, &o->work);
}

/* Freeing the tunnel, no packet left: wait for the last run of the work. */
void esptun_order_stop(struct esptun_order *o)
{
	cancel_work_sync(&o->work);
	WARN_ON(!skb_queue_empty(&o->queue));
}
