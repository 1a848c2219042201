/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_PARALLEL_H
#define _ESPTUN_PARALLEL_H

#include <linux/cpumask.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

/*
 * The per-CPU crypto workers, and the per-tunnel in-order stages (order.c)
 * that run on the same workqueue.  Destroyed at unload after every device
 * is gone.
 */
extern struct workqueue_struct *esptun_crypt_wq;

/* The next online CPU after @cpu, round the online ones. */
static inline unsigned int esptun_cpu_after(unsigned int cpu)
{
	unsigned int next = cpumask_next(cpu, cpu_online_mask);

	return next < nr_cpu_ids ? next : cpumask_first(cpu_online_mask);
}

void esptun_parallel_queue(struct sk_buff *skb);
int esptun_parallel_init(void);
void esptun_parallel_uninit(void);

#endif /* _ESPTUN_PARALLEL_H */
