/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_MAIN_H
#define _ESPTUN_MAIN_H

#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

/*
 * The module's workqueue: SA frees and tunnel state changes.  Destroyed at
 * unload after every device is gone, so no work runs module code after.
 */
extern struct workqueue_struct *esptun_wq;

/*
 * For the "created" debug lines the selftests pair with "destroyed" to
 * find leaks: the PID namespace of the task that made the object tells
 * them which of the tests running side by side it belongs to.
 */
static inline unsigned int esptun_creator_pidns(void)
{
	return task_active_pid_ns(current)->ns.inum;
}

#endif /* _ESPTUN_MAIN_H */
