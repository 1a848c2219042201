/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_PARALLEL_H
#define _ESPTUN_PARALLEL_H

#include <linux/skbuff.h>
#include <linux/workqueue.h>

/*
 * The per-CPU crypto workers, and the per-tunnel in-order stages (order.c)
 * that run on the same workqueue.  Destroyed at unload after every device
 * is gone.
 */
extern struct workqueue_struct *esptun_crypt_wq;

void esptun_parallel_queue(struct sk_buff *skb);
int esptun_parallel_init(void);
void esptun_parallel_uninit(void);

#endif /* _ESPTUN_PARALLEL_H */
