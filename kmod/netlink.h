/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_NETLINK_H
#define _ESPTUN_NETLINK_H

#include <linux/types.h>

struct esptun_sa;
struct esptun_tunnel;

int esptun_genl_init(void);
void esptun_nl_tunnel_event(struct esptun_tunnel *tun, u8 cause);
void esptun_nl_sa_expire_event(struct esptun_sa *sa, int expire, int limit);
void esptun_genl_uninit(void);

#endif /* _ESPTUN_NETLINK_H */
