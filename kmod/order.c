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
 * queue from before crypto to after it, and hands on every finished packet
 * from the head, one CPU at a time, as WireGuard's per-peer serial stages
 * do.
 *
 * Handing on happens on one CPU per queue: sending (or delivering) from a
 * single CPU keeps the order that a multiqueue NIC (XPS) or the per-CPU
 * GRO cells would otherwise lose.  The receive side's CPU moves off the
 * one its ESP arrives on (esptun_order_avoid()), which the NIC's interrupt
 * and the ESP input already keep busy.  Crypto that finishes on that CPU hands
 * on at once, without a context switch; elsewhere it queues the queue's
 * work item there.  A full queue drops new packets, counted by the caller,
 * rather than growing.
 */
#include "esp.h"
#include "order.h"
#include "parallel.h"

/* Packets the work item hands on between two looks at the scheduler. */
#define ESPTUN_ORDER_BATCH	64
/* How long a queue is empty before its CPU may move. */
#define ESPTUN_ORDER_QUIET	(HZ / 10)

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

/*
 * Hand on finished packets from the head, at most @budget; with BH
 * disabled.  Return: false if stopped at @budget with more to do.
 */
static bool esptun_order_flush(struct esptun_order *o, unsigned int budget)
{
	struct sk_buff *skb;

	for (;;) {
		/* Another context is at it; it looks again before it stops. */
		if (test_and_set_bit_lock(0, &o->flushing))
			return true;
		while (budget && (skb = esptun_order_head(o, true))) {
			o->fn(skb, ESPTUN_CB(skb)->err);
			budget--;
		}
		clear_bit_unlock(0, &o->flushing);
		if (!budget)
			return false;
		/* A packet finished after our last look, while its CPU saw
		 * us flushing: it is ours to hand on.
		 */
		smp_mb__after_atomic();
		if (!esptun_order_head(o, false))
			return true;
	}
}

static void esptun_order_work(struct work_struct *work)
{
	struct esptun_order *o = container_of(work, struct esptun_order, work);
	bool all;

	/* The queue's tunnel outlives this: freeing it waits for the work
	 * (esptun_order_stop()).
	 */
	do {
		local_bh_disable();
		all = esptun_order_flush(o, ESPTUN_ORDER_BATCH);
		local_bh_enable();
		cond_resched();
	} while (!all);
}

void esptun_order_init(struct esptun_order *o, esptun_order_fn fn, int cpu)
{
	skb_queue_head_init(&o->queue);
	INIT_WORK(&o->work, esptun_order_work);
	o->flushing = 0;
	o->fn = fn;
	o->cpu = cpu;
	/* Quiet since long ago: the first packet may move it. */
	o->queued = jiffies - ESPTUN_ORDER_QUIET;
}

/**
 * esptun_order_avoid() - hand packets on from another CPU than @cpu
 * @o: the queue, its lock held, a packet about to be queued
 * @cpu: the CPU to avoid, this one
 *
 * With a NIC's RSS all of a tunnel's ESP arrives on one CPU, which also
 * runs the NIC's interrupt, the ESP input and its share of the crypto:
 * handing the packets on from there as well leaves the other CPUs idle
 * while it saturates.  So the first packet that arrives on @o's CPU moves
 * it to the next online one.  Only while the queue is empty and has been
 * quiet for ESPTUN_ORDER_QUIET: by then what the old CPU handed on has
 * left its GRO cell, so nothing is reordered.  A peer whose ESP arrives on
 * every CPU in turn (RPS on the inner hash) moves it at most that often.
 */
void esptun_order_avoid(struct esptun_order *o, int cpu)
{
	unsigned int next;

	lockdep_assert_held(&o->queue.lock);
	if (!skb_queue_empty(&o->queue) ||
	    time_before(jiffies, o->queued + ESPTUN_ORDER_QUIET))
		return;
	next = cpumask_next(cpu, cpu_online_mask);
	if (next >= nr_cpu_ids)
		next = cpumask_first(cpu_online_mask);
	/* Read locklessly by esptun_order_done(); no packet is in flight. */
	WRITE_ONCE(o->cpu, next);
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
	int cpu = READ_ONCE(o->cpu);

	ESPTUN_CB(skb)->err = err;
	/* Whoever sees done sees err and what crypto wrote. */
	smp_store_release(&ESPTUN_CB(skb)->done, true);
	if (cpu == smp_processor_id()) {
		/* Orders done before the look at flushing, which a failed
		 * test_and_set_bit_lock() need not do: pairs with the
		 * flusher's barrier between clearing it and its last look.
		 */
		smp_mb();
		/* Not bounded here: softirq bounds its own work, and a
		 * crypto worker's batch is bounded (parallel.c).
		 */
		esptun_order_flush(o, UINT_MAX);
		return;
	}
	/* Queueing is a full barrier: either the work is pending and has
	 * yet to look at the queue, or it is queued again.
	 */
	queue_work_on(cpu, esptun_crypt_wq, &o->work);
}

/* Freeing the tunnel, no packet left: wait for the last run of the work. */
void esptun_order_stop(struct esptun_order *o)
{
	cancel_work_sync(&o->work);
	WARN_ON(!skb_queue_empty(&o->queue));
}
