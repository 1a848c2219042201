/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_OBJECTS_H
#define _ESPTUN_OBJECTS_H

#include <linux/atomic.h>

/*
 * Live objects by kind, in debugfs (esptun/objects): the selftests check
 * that every one is gone once their tests have ended, whatever the kernel
 * log says.
 */
enum esptun_object {
	ESPTUN_OBJ_DEVICE,
	ESPTUN_OBJ_TUNNEL,
	ESPTUN_OBJ_SA,
	ESPTUN_OBJ_SOCKET,
	ESPTUN_OBJ_NUM
};

extern atomic_t esptun_objects[ESPTUN_OBJ_NUM];

static inline void esptun_object_new(enum esptun_object kind)
{
	atomic_inc(&esptun_objects[kind]);
}

static inline void esptun_object_gone(enum esptun_object kind)
{
	atomic_dec(&esptun_objects[kind]);
}

void esptun_objects_init(void);
void esptun_objects_uninit(void);

#endif /* _ESPTUN_OBJECTS_H */
