// SPDX-License-Identifier: GPL-2.0
/*
 * Parallel crypto: one tunnel's packets are encrypted and decrypted on
 * every CPU, wherever they came from.
 *
 * ESP from one peer is one outer flow: a NIC's RSS puts all of it on one
 * CPU, and a TCP flow's segments leave from the CPU its sender runs on.
 * Crypto is the cost, so after the data path has numbered a packet and
 * queued it in its tunnel's in-order queue (order.c), it hands the packet
 * to a CPU chosen in turn, as WireGuard does: each CPU has a bounded ring
 * and a work item that empties it, encrypting or decrypting by the SA's
 * direction.  The packets whose turn falls on the CPU they are on are
 * done there at once.  The in-order stage of the tunnel then hands the packets on
 * in queue order, so no inner flow is reordered and sequence numbers leave
 * in order.  A full ring drops the packet, counted by the tunnel as a
 * crypto failure, rather than growing.
 */
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/ptr_ring.h>

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
 * @ring: packets to encrypt or decrypt, from any CPU; emptied only by @work
 * @work: runs on this CPU (a bound workqueue)
 */
struct esptun_worker {
	struct ptr_ring ring;
	struct work_struct work;
};

struct workqueue_struct *esptun_crypt_wq;
static struct esptun_worker __percpu *esptun_workers;
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
 * @skb: the packet, in its tunnel's in-order queue, ESPTUN_CB(skb)->sa set
 *
 * With BH disabled.  esptun_tx_crypt() or esptun_rx_crypt(), by the SA's
 * direction, runs on the next online CPU after the one this CPU chose
 * last: at once when that is this CPU (a hand-off costs a context switch
 * at least), else in that CPU's worker.
 *
 * Return: 0, or -ENOBUFS when that CPU's ring is full: the caller still
 * owns @skb.
 */
int esptun_parallel_queue(struct sk_buff *skb)
{
	struct esptun_worker *w;
	unsigned int cpu;

	cpu = cpumask_next(__this_cpu_read(esptun_parallel_last),
			   cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	__this_cpu_write(esptun_parallel_last, cpu);
	if (cpu == smp_processor_id()) {
		esptun_parallel_crypt(skb);
		return 0;
	}
	w = per_cpu_ptr(esptun_workers, cpu);
	if (unlikely(ptr_ring_produce(&w->ring, skb)))
		return -ENOBUFS;
	/* A worker that already runs, or is queued, takes it too. */
	queue_work_on(cpu, esptun_crypt_wq, &w->work);
	return 0;
}

int __init esptun_parallel_init(void)
{
	int cpu, ret;

	esptun_workers = alloc_percpu(struct esptun_worker);
	if (!esptun_workers)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct esptun_worker *w = per_cpu_ptr(esptun_workers, cpu);

		ret = ptr_ring_init(&w->ring, ESPTUN_PARALLEL_RING, GFP_KERNEL);
		if (ret)
			goto err;
		INIT_WORK(&w->work, esptun_parallel_work);
	}
	/* Bound, one worker per CPU; crypto is CPU-intensive and must make
	 * progress under memory pressure, as the packets it holds are memory.
	 */
	esptun_crypt_wq = alloc_workqueue("esptun-crypt",
					  WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM, 0);
	if (!esptun_crypt_wq) {
		ret = -ENOMEM;
		goto err;
	}
	return 0;

err:
	for_each_possible_cpu(cpu)
		ptr_ring_cleanup(&per_cpu_ptr(esptun_workers, cpu)->ring, NULL);
	free_percpu(esptun_workers);
	return ret;
}

/* At unload, once every device is gone: no packet is left in a ring. */
void esptun_parallel_uninit(void)
{
	int cpu;

	destroy_workqueue(esptun_crypt_wq);
	for_each_possible_cpu(cpu) {
		struct esptun_worker *w = per_cpu_ptr(esptun_workers, cpu);

		WARN_ON(!__ptr_ring_empty(&w->ring));
		ptr_ring_cleanup(&w->ring, NULL);
	}
	free_percpu(esptun_workers);
}
