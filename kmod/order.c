// SPDX-License-Identifier: GPL-2.0
/*
 * In-order completion of a tunnel's packets.
 *
 * Crypto finishes a tunnel's packets out of order: they are spread over
 * every CPU (parallel.c), and asynchronous drivers complete on yet other
 * CPUs.  Left alone, a TCP flow's segments would leave reordered and, on
 * the way out, with sequence numbers so far apart that the peer's replay
 * window drops them.  So each tunnel numbers the packets it sends (in
 * sequence number order) and those it receives (in arrival order) before
 * crypto, and hands on every finished packet in that order, one CPU at a
 * time, as WireGuard's per-peer serial stages do.
 *
 * Without a lock: a packet takes a ticket, the next value of a counter
 * (one compare-and-exchange), and crypto, once done, puts it in the slot
 * of a ring its ticket names.  Whoever hands packets on takes them from
 * the slot of the oldest ticket, while there is a packet there.  Outbound
 * the ticket is the sequence number, offset by the SA's base
 * (esptun_sa_add()), so one atomic operation per packet both numbers it
 * and orders it, and the numbers leave in order.
 *
 * Outbound, handing on happens on one CPU per queue: sending from a single
 * CPU keeps the order that a multiqueue NIC (XPS) would otherwise lose.
 * Crypto that finishes on that CPU hands on at once, without a context
 * switch; elsewhere it queues the queue's work item there.
 *
 * Inbound, a NAPI instance of the tunnel's hands on (@napi), as
 * WireGuard's per-peer NAPI does, but on the queue's CPU: crypto that
 * finishes there schedules it, and elsewhere asks that CPU to, with an
 * IPI, only when it is not scheduled already: a batch costs one IPI at
 * most.  WireGuard schedules it on whichever CPU finished a packet; here
 * the CPU that decrypts packets inline as they arrive would then keep it
 * (a scheduled NAPI instance stays where it is while it has work), and
 * that CPU is the busiest.  A NAPI instance polls on one CPU at a time
 * and flushes its GRO lists before it completes, so the tunnel's packets
 * reach the stack in order wherever it polls, and the queue's CPU may
 * move at any time (esptun_order_avoid()).
 *
 * A full queue drops new packets, counted by the caller, rather than
 * growing: a ticket is only taken while its slot is free.
 */
#include <linux/cpumask.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/slab.h>

#include "esp.h"
#include "order.h"
#include "parallel.h"

/* Packets the work item hands on between two looks at the scheduler. */
#define ESPTUN_ORDER_BATCH	64
#define ESPTUN_ORDER_MASK	(ESPTUN_ORDER_MAX - 1)

/* Hand on finished packets from the oldest ticket on, at most @budget;
 * with BH disabled, by the one context handing on: the holder of
 * @o->flushing, or @o->napi's poll.  Return: packets handed on.
 */
static unsigned int esptun_order_pop(struct esptun_order *o,
				     unsigned int budget)
{
	u64 head = atomic64_read(&o->head);
	struct sk_buff **slot;
	struct sk_buff *skb;
	unsigned int n = 0;

	while (n < budget) {
		slot = &o->slots[head & ESPTUN_ORDER_MASK];
		/* Pairs with the release in esptun_order_done(): what
		 * crypto wrote, and err, are visible.
		 */
		skb = smp_load_acquire(slot);
		if (!skb)
			break;
		WRITE_ONCE(*slot, NULL);
		/* The slot is free before a ticket naming it again can be
		 * taken: pairs with the acquire in esptun_order_reserve().
		 */
		atomic64_set_release(&o->head, ++head);
		o->fn(skb, ESPTUN_CB(skb)->err);
		n++;
	}
	return n;
}

/* Is the oldest ticket's packet finished?  By the last context that held
 * @o->flushing, after it let go.
 */
static bool esptun_order_ready(const struct esptun_order *o)
{
	u64 head = atomic64_read(&o->head);

	/* Only a look: esptun_order_pop() reads it again, with acquire. */
	return READ_ONCE(o->slots[head & ESPTUN_ORDER_MASK]);
}

/*
 * Hand on finished packets from the oldest, at most @budget; with BH
 * disabled.  Return: false if stopped at @budget with more to do.
 */
static bool esptun_order_flush(struct esptun_order *o, unsigned int budget)
{
	for (;;) {
		/* Another context is at it; it looks again before it stops,
		 * and must then see every packet we know finished: the ones
		 * this CPU stored, and those another CPU stored before it
		 * queued the work.  A failed test_and_set_bit_lock() orders
		 * nothing; this barrier pairs with the one between the
		 * flusher's letting go and its last look.
		 */
		smp_mb();
		if (test_and_set_bit_lock(0, &o->flushing))
			return true;
		budget -= esptun_order_pop(o, budget);
		clear_bit_unlock(0, &o->flushing);
		if (!budget)
			return false;
		/* A packet finished after our last look, while its CPU saw
		 * us flushing: it is ours to hand on.
		 */
		smp_mb__after_atomic();
		if (!esptun_order_ready(o))
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

/* On the queue's CPU, in hard interrupt context: esptun_order_kick(). */
static void esptun_order_ipi(void *arg)
{
	struct esptun_order *o = arg;

	__napi_schedule_irqoff(o->napi);
}

int esptun_order_init(struct esptun_order *o, esptun_order_fn fn, int cpu,
		      struct napi_struct *napi)
{
	BUILD_BUG_ON(!is_power_of_2(ESPTUN_ORDER_MAX));
	/* ESPTUN_CB(skb)->slot holds a slot's index. */
	BUILD_BUG_ON(sizeof_field(struct esptun_skb_cb, slot) * BITS_PER_BYTE <
		     ilog2(ESPTUN_ORDER_MAX));
	o->slots = kvcalloc(ESPTUN_ORDER_MAX, sizeof(*o->slots),
			    GFP_KERNEL_ACCOUNT);
	if (!o->slots)
		return -ENOMEM;
	/* From 1: a ticket less a @base of 0 is then a number from 1 on,
	 * as esptun_order_reserve() requires.
	 */
	atomic64_set(&o->tail, 1);
	atomic64_set(&o->head, 1);
	INIT_WORK(&o->work, esptun_order_work);
	o->flushing = 0;
	o->fn = fn;
	o->cpu = cpu;
	o->napi = napi;
	INIT_CSD(&o->csd, esptun_order_ipi, o);
	return 0;
}

/**
 * esptun_order_reserve() - give a packet its place in the order
 * @o: the queue
 * @skb: the packet, about to go into crypto; its ESPTUN_CB() otherwise set
 * @base: subtracted from the ticket to give the packet's number
 * @max: the highest number: outbound, the SA's last sequence number
 * @ticket: the ticket taken, unless NULL
 *
 * Outbound, @base is the SA's (esptun_sa_add()) and the ticket less @base
 * is the packet's sequence number; inbound, @base is 0 and @max U64_MAX.
 * The packet must then be passed to esptun_order_done(), whatever becomes
 * of it: those after it wait for it.
 *
 * Return: 0; -ENOBUFS when ESPTUN_ORDER_MAX packets are in crypto, or
 * -ERANGE when the number would not be from 1 to @max (past @max, or
 * wrapped past 2^64 - 1 to 0): then no ticket is taken.
 */
int esptun_order_reserve(struct esptun_order *o, struct sk_buff *skb, u64 base,
			 u64 max, u64 *ticket)
{
	u64 head, tail;

	for (;;) {
		/* The head first: it never passes the tail, so the
		 * difference cannot go negative.
		 */
		head = atomic64_read_acquire(&o->head);
		tail = atomic64_read(&o->tail);
		if (unlikely(tail - head >= ESPTUN_ORDER_MAX))
			return -ENOBUFS;
		if (unlikely(tail - base - 1 >= max))
			return -ERANGE;
		if (likely(atomic64_cmpxchg(&o->tail, tail, tail + 1) == tail))
			break;
	}
	ESPTUN_CB(skb)->slot = tail & ESPTUN_ORDER_MASK;
	if (ticket)
		*ticket = tail;
	return 0;
}

/*
 * Move @o off @cpu to the next online CPU: where a queue's packets are
 * handed on from when @cpu went offline, or (inbound) is where they
 * arrive.  Work queued on an offline CPU still runs, on whichever CPU its
 * pool's workers go to, so nothing is stranded; but sending from a CPU
 * chosen anew each time would send one tunnel's packets through several
 * CPUs' queues, and the stack may reorder them.  Only the first of
 * several moves off the same CPU counts: the compare-and-exchange.
 * Return: the queue's CPU now.
 */
static int esptun_order_move(struct esptun_order *o, int cpu)
{
	cmpxchg(&o->cpu, cpu, esptun_cpu_after(cpu));
	return READ_ONCE(o->cpu);
}

/**
 * esptun_order_avoid() - hand packets on from another CPU than @cpu
 * @o: the receive side's queue, a packet about to take a ticket
 * @cpu: the CPU to avoid, this one
 *
 * With a NIC's RSS all of a tunnel's ESP arrives on one CPU, which also
 * runs the NIC's interrupt, the ESP input and its share of the crypto:
 * delivering from there as well leaves the other CPUs idle while it
 * saturates.  So a packet that arrives on @o's CPU moves it to the next
 * online one.  The NAPI instance keeps the order across the move.
 */
void esptun_order_avoid(struct esptun_order *o, int cpu)
{
	esptun_order_move(o, cpu);
}

/*
 * Have @o->napi poll on @o's CPU.  Not scheduled yet: this CPU marks it
 * so, and the IPI puts it on that CPU's poll list; already scheduled:
 * napi_schedule_prep() marked it missed, and it polls again.  An IPI
 * that cannot be sent (the CPU went offline since) is done here.
 */
static void esptun_order_kick(struct esptun_order *o)
{
	int cpu = READ_ONCE(o->cpu);

	if (unlikely(!cpu_online(cpu)))
		cpu = esptun_order_move(o, cpu);
	if (cpu == smp_processor_id()) {
		napi_schedule(o->napi);
		return;
	}
	if (!napi_schedule_prep(o->napi))
		return;
	/* The last IPI has been taken: its handler ran before the poll
	 * that let the instance be scheduled again.
	 */
	if (unlikely(smp_call_function_single_async(cpu, &o->csd)))
		__napi_schedule(o->napi);
}

/**
 * esptun_order_done() - crypto finished a packet that took a ticket
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
	int cpu;

	ESPTUN_CB(skb)->err = err;
	/* Whoever finds it there sees err and what crypto wrote. */
	smp_store_release(&o->slots[ESPTUN_CB(skb)->slot], skb);
	if (o->napi) {
		/* Scheduling is a full barrier, and so is a poll's
		 * completion: either the poll is to come and will see the
		 * packet, or it runs and is told it missed one
		 * (NAPI_STATE_MISSED), and polls again.
		 */
		esptun_order_kick(o);
		return;
	}
	cpu = READ_ONCE(o->cpu);
	if (unlikely(!cpu_online(cpu)))
		cpu = esptun_order_move(o, cpu);
	/* A batch at most with BH off here: what the other CPUs keep
	 * finishing meanwhile would otherwise keep this CPU in softirq (or
	 * in a crypto worker's batch) for as long as they do.  The work
	 * item, on this same CPU, hands on the rest in order.
	 */
	if (cpu == smp_processor_id() &&
	    esptun_order_flush(o, ESPTUN_ORDER_BATCH))
		return;
	/* Queueing is a full barrier: either the work is pending and has
	 * yet to look at the queue, or it is queued again.
	 */
	queue_work_on(cpu, esptun_crypt_wq, &o->work);
}

/**
 * esptun_order_poll() - hand on finished packets, from @o->napi's poll
 * @o: a queue with a NAPI instance
 * @budget: packets at most
 *
 * NAPI polls an instance in one context at a time: it is the only one
 * handing on.  Return: packets handed on.
 */
unsigned int esptun_order_poll(struct esptun_order *o, unsigned int budget)
{
	return esptun_order_pop(o, budget);
}

/* Freeing the tunnel, no packet left: wait for the last run of the work. */
void esptun_order_stop(struct esptun_order *o)
{
	cancel_work_sync(&o->work);
	WARN_ON(atomic64_read(&o->head) != atomic64_read(&o->tail));
	kvfree(o->slots);
}
