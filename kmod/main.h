/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_MAIN_H
#define _ESPTUN_MAIN_H

#include <linux/workqueue.h>

/*
 * The module's workqueue: SA frees and tunnel state changes.  Destroyed at
 * unload after every device is gone, so no work runs module code after.
 */
extern struct workqueue_struct *esptun_wq;

#endif /* _ESPTUN_MAIN_H */
