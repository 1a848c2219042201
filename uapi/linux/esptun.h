/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * esptun: generic netlink ABI.  uapi/esptun.yaml is the specification; this
 * header is kept consistent with it (checked by `make check`).  Changes are
 * additive only: never renumber or remove a command or an attribute.
 *
 * Every command needs CAP_NET_ADMIN in the user namespace that owns the
 * network namespace of the netlink socket; devices are looked up in that
 * network namespace by ESPTUN_A_IFINDEX or ESPTUN_A_IFNAME.
 *
 * ESPTUN_CMD_DEV_GET
 *   do:   request  { IFINDEX | IFNAME }
 *         reply    { IFINDEX, IFNAME }
 *   dump: request  { [IFINDEX | IFNAME] }  (optional filter)
 *         replies, one message per esptun device of the netns:
 *                  { IFINDEX, IFNAME }
 *   A dump interrupted by a concurrent change carries NLM_F_DUMP_INTR;
 *   userspace retries.
 */
#ifndef _UAPI_LINUX_ESPTUN_H
#define _UAPI_LINUX_ESPTUN_H

#define ESPTUN_FAMILY_NAME	"esptun"
#define ESPTUN_FAMILY_VERSION	1

enum {
	ESPTUN_A_IFINDEX = 1,
	ESPTUN_A_IFNAME,

	__ESPTUN_A_MAX,
	ESPTUN_A_MAX = (__ESPTUN_A_MAX - 1)
};

enum {
	ESPTUN_CMD_DEV_GET = 1,

	__ESPTUN_CMD_MAX,
	ESPTUN_CMD_MAX = (__ESPTUN_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_ESPTUN_H */
