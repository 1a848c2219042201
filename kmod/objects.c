// SPDX-License-Identifier: GPL-2.0
/*
 * Counts of live devices, tunnels, SAs and UDP sockets, for tests: one
 * debugfs file, "KIND COUNT" per line.  Without debugfs, counts only.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "objects.h"

atomic_t esptun_objects[ESPTUN_OBJ_NUM];

static const char *const esptun_object_names[ESPTUN_OBJ_NUM] = {
	[ESPTUN_OBJ_DEVICE] = "devices",
	[ESPTUN_OBJ_TUNNEL] = "tunnels",
	[ESPTUN_OBJ_SA] = "sas",
	[ESPTUN_OBJ_SOCKET] = "sockets",
};

static struct dentry *esptun_debugfs;

static int esptun_objects_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < ESPTUN_OBJ_NUM; i++)
		seq_printf(m, "%s %d\n", esptun_object_names[i],
			   atomic_read(&esptun_objects[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(esptun_objects);

void esptun_objects_init(void)
{
	/* Errors only mean no file: debugfs is for tests, not for use. */
	esptun_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("objects", 0400, esptun_debugfs, NULL,
			    &esptun_objects_fops);
}

void esptun_objects_uninit(void)
{
	debugfs_remove_recursive(esptun_debugfs);
}
