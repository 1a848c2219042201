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
 * order.  A full ring drops the packet, counted by the tunnel as a crypto
 * failure, rather than growing.
 *
 * Each CPU has one ring for every other CPU, which only that CPU fills and
 * only the worker empties: a single producer and a single consumer need
 * no lock (ptr_ring without its locks), where a ring every CPU filled
 * would take one per packet.  The data path fills rings with BH disabled,
 * which keeps one producer at a time on a CPU.
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

/* Packets waiting for crypto on one CPU, at most, shared out among the
 * rings from the other CPUs; each has at least ESPTUN_PARALLEL_RING_MIN.
 */
#define ESPTUN_PARALLEL_RING	1024
#define ESPTUN_PARALLEL_RING_MIN	16
/* Packets between two looks at the scheduler. */
#define ESPTUN_PARALLEL_BATCH	64

/**
 * struct esptun_worker - one CPU's crypto
 * @work: runs on this CPU (a bound workqueue)
 * @rings: @rings[cpu]: packets from @cpu to encrypt or decrypt; filled by
 *	that CPU only, emptied by @work only.  This CPU's own is never used:
 *	its own turns are done at once.
 */
struct esptun_worker {
	struct work_struct work;
	struct ptr_ring rings[];
};

struct workqueue_struct *esptun_crypt_wq;
static DEFINE_PER_CPU(struct esptun_worker *, esptun_worker);
/* The CPU this CPU handed its last packet to: each one goes round alone,
 * so choosing writes no shared cache line.
 */
static DEFINE_PER_CPU(unsigned int, esptun_parallel_last);

static void esptun_parallel_crypt(struct sk_buff *skb)
{
	if (ESPTUN_CB(skb)->sa->dir == ESPTUN_SA_DIR_OUT)
		esptun_tx_crypt(skb);
	else
		esptun_rx_crypt(skb);
}

/* Crypt what @ring holds; with BH disabled.  Return: how many. */
static unsigned int esptun_parallel_drain(struct ptr_ring *ring,
					  unsigned int *n)
{
	struct sk_buff *skb;
	unsigned int got = 0;

	while ((skb = __ptr_ring_consume(ring))) {
		esptun_parallel_crypt(skb);
		got++;
		if (++*n % ESPTUN_PARALLEL_BATCH == 0) {
			local_bh_enable();
			cond_resched();
			local_bh_disable();
		}
	}
	return got;
}

static void esptun_parallel_work(struct work_struct *work)
{
	struct esptun_worker *w = container_of(work, struct esptun_worker, work);
	unsigned int n = 0, got;
	int cpu;

	/* The data path's context: BH off, as it was where packets came from. */
	local_bh_disable();
	do {
		got = 0;
		for_each_possible_cpu(cpu)
			got += esptun_parallel_drain(&w->rings[cpu], &n);
	} while (got);
	local_bh_enable();
}

/**
 * esptun_parallel_queue() - have a packet encrypted or decrypted
 * @skb: the packet, with its place in its tunnel's order,
 *	ESPTUN_CB(skb)->sa set
 *
 * With BH disabled.  esptun_tx_crypt() or esptun_rx_crypt(), by the SA's
 * direction, runs on the next online CPU after the one this CPU chose
 * last: at once when that is this CPU (a hand-off costs a context switch
 * at least), else in that CPU's worker.
 *
 * Return: 0, or -ENOBUFS when that CPU's ring from this one is full: the
 * caller still owns @skb.
 */
int esptun_parallel_queue(struct sk_buff *skb)
{
	unsigned int cpu, self = smp_processor_id();
	struct esptun_worker *w;

	/* The one producer of this CPU's rings (see the top of the file). */
	lockdep_assert_in_softirq();
	cpu = cpumask_next(__this_cpu_read(esptun_parallel_last),
			   cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	__this_cpu_write(esptun_parallel_last, cpu);
	if (cpu == self) {
		esptun_parallel_crypt(skb);
		return 0;
	}
	w = per_cpu(esptun_worker, cpu);
	if (unlikely(__ptr_ring_produce(&w->rings[self], skb)))
		return -ENOBUFS;
	/* A worker that already runs, or is queued, takes it too. */
	queue_work_on(cpu, esptun_crypt_wq, &w->work);
	return 0;
}

static void esptun_parallel_free(void)
{
	struct esptun_worker *w;
	int cpu, from;

	for_each_possible_cpu(cpu) {
		w = per_cpu(esptun_worker, cpu);
		if (!w)
			continue;
		for_each_possible_cpu(from) {
			WARN_ON(!__ptr_ring_empty(&w->rings[from]));
			ptr_ring_cleanup(&w->rings[from], NULL);
		}
		kfree(w);
		per_cpu(esptun_worker, cpu) = NULL;
	}
}

int __init esptun_parallel_init(void)
{
	int size = max(ESPTUN_PARALLEL_RING / nr_cpu_ids,
		       ESPTUN_PARALLEL_RING_MIN);
	struct esptun_worker *w;
	int cpu, from;

	for_each_possible_cpu(cpu) {
		/* Zeroed: the rings not initialised are empty, of size 0. */
		w = kzalloc_node(struct_size(w, rings, nr_cpu_ids), GFP_KERNEL,
				 cpu_to_node(cpu));
		if (!w)
			goto err;
		per_cpu(esptun_worker, cpu) = w;
		INIT_WORK(&w->work, esptun_parallel_work);
		for_each_possible_cpu(from)
			if (from != cpu &&
			    ptr_ring_init(&w->rings[from], size, GFP_KERNEL))
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
