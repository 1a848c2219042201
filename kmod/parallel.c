// SPDX-License-Identifier: GPL-2.0
/*
 * Parallel crypto: one tunnel's packets are encrypted and decrypted on
 * every CPU, wherever they came from.
 *
 * ESP from one peer is one outer flow: a NIC's RSS puts all of it on one
 * CPU, and a TCP flow's segments leave from the CPU its sender runs on.
 * Crypto is the cost, so after the data path has given a packet its place
 * in its tunnel's order (order.c), it hands the packet to a CPU chosen in
 * turn, as WireGuard does: each CPU has a work item that encrypts or
 * decrypts, by the SA's direction, what the other CPUs put in its rings.
 * The packets whose turn falls on the CPU they are on are done there at
 * once.  The in-order stage of the tunnel then hands the packets on in
 * order, so no inner flow is reordered and sequence numbers leave in
 * order.
 *
 * Each CPU has one ring that every other CPU fills, under the ring's
 * producer lock, and only the CPU's worker empties, without one: memory
 * in the number of CPUs, where a ring per pair of CPUs would grow with its
 * square.  A full ring means that CPU is behind: the packet is then done
 * at once on the CPU that has it, which slows down whatever feeds that
 * CPU, instead of being dropped.  The data path fills rings with BH
 * disabled, as its workers run, so the lock is never taken from an
 * interrupted holder.
 */
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/ptr_ring.h>
#include <linux/slab.h>

#include "esp.h"
#include "parallel.h"
#include "rx.h"
#include "sa.h"
#include "tx.h"

/* Packets waiting for crypto on one CPU, at most. */
#define ESPTUN_PARALLEL_RING	1024
/* Packets between two looks at the scheduler. */
#define ESPTUN_PARALLEL_BATCH	64

/**
 * struct esptun_worker - one CPU's crypto
 * @work: runs on this CPU (a bound workqueue); a work item never runs on
 *	two CPUs at once, so it is the ring's one consumer, even while its
 *	CPU is offline and its pool's workers run elsewhere
 * @ring: packets from the other CPUs to encrypt or decrypt
 */
struct esptun_worker {
	struct work_struct work;
	struct ptr_ring ring;
};

struct workqueue_struct *esptun_crypt_wq;
static DEFINE_PER_CPU(struct esptun_worker, esptun_worker);
/* The CPU this CPU handed its last packet to: each one goes round alone,
 * so choosing writes no shared cache line.
 */
static DEFINE_PER_CPU(unsigned int, esptun_parallel_last);

/* A packet, or a GSO packet's segments in a list (tx.c): one direction. */
static void esptun_parallel_crypt(struct sk_buff *skb)
{
	bool out = ESPTUN_CB(skb)->sa->dir == ESPTUN_SA_DIR_OUT;
	struct sk_buff *next;

	/* Direct calls: no retpoline per packet. */
	skb_list_walk_safe(skb, skb, next) {
		skb_mark_not_on_list(skb);
		if (out)
			esptun_tx_crypt(skb);
		else
			esptun_rx_crypt(skb);
	}
}

static void esptun_parallel_work(struct work_struct *work)
{
	struct esptun_worker *w = container_of(work, struct esptun_worker, work);
	struct sk_buff *skb;
	unsigned int n = 0;

	/* The data path's context: BH off, as it was where packets came from. */
	local_bh_disable();
	while ((skb = __ptr_ring_consume(&w->ring))) {
		esptun_parallel_crypt(skb);
		if (++n % ESPTUN_PARALLEL_BATCH == 0) {
			local_bh_enable();
			cond_resched();
			local_bh_disable();
		}
	}
	local_bh_enable();
}

/**
 * esptun_parallel_queue() - have a packet encrypted or decrypted
 * @skb: the packet, with its place in its tunnel's order,
 *	ESPTUN_CB(skb)->sa set; or a list of such packets of one direction,
 *	each with its own place, done in turn on one CPU
 *
 * With BH disabled.  esptun_tx_crypt() or esptun_rx_crypt(), by the SA's
 * direction, runs on the next online CPU after the one this CPU chose
 * last: at once when that is this CPU (a hand-off costs a context switch
 * at least) or when that CPU's ring is full, else in that CPU's worker.
 * Consumes @skb.
 */
void esptun_parallel_queue(struct sk_buff *skb)
{
	unsigned int cpu, self = smp_processor_id();
	struct esptun_worker *w;

	lockdep_assert_in_softirq();
	cpu = esptun_cpu_after(__this_cpu_read(esptun_parallel_last));
	__this_cpu_write(esptun_parallel_last, cpu);
	if (cpu == self) {
		esptun_parallel_crypt(skb);
		return;
	}
	w = per_cpu_ptr(&esptun_worker, cpu);
	/* BH is off: the plain spin lock of ptr_ring_produce() is enough. */
	if (unlikely(ptr_ring_produce(&w->ring, skb))) {
		esptun_parallel_crypt(skb);
		return;
	}
	/* A worker that already runs, or is queued, takes it too. */
	queue_work_on(cpu, esptun_crypt_wq, &w->work);
}

static void esptun_parallel_free(void)
{
	struct esptun_worker *w;
	int cpu;

	for_each_possible_cpu(cpu) {
		w = per_cpu_ptr(&esptun_worker, cpu);
		WARN_ON(!__ptr_ring_empty(&w->ring));
		ptr_ring_cleanup(&w->ring, NULL);
	}
}

int __init esptun_parallel_init(void)
{
	struct esptun_worker *w;
	int cpu;

	for_each_possible_cpu(cpu) {
		w = per_cpu_ptr(&esptun_worker, cpu);
		INIT_WORK(&w->work, esptun_parallel_work);
		/* Never initialised, a ring is empty, of size 0, and cleans up. */
		if (ptr_ring_init(&w->ring, ESPTUN_PARALLEL_RING, GFP_KERNEL))
			goto err;
	}
	/* Bound, one worker per CPU; crypto is CPU-intensive and must make
	 * progress under memory pressure, as the packets it holds are memory.
	 */
	esptun_crypt_wq = alloc_workqueue("esptun-crypt",
					  WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM, 0);
	if (!esptun_crypt_wq)
		goto err;
	return 0;

err:
	esptun_parallel_free();
	return -ENOMEM;
}

/* At unload, once every device is gone: no packet is left in a ring. */
void esptun_parallel_uninit(void)
{
	destroy_workqueue(esptun_crypt_wq);
	esptun_parallel_free();
}
