/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_PIN_H
#define _ESPTUN_PIN_H

#include <linux/esptun.h>
#include <linux/netlink.h>
#include <linux/skbuff.h>

#include "tunnel.h"

struct esptun_dev;

/*
 * ESPTUN_MAX_PINS (the ABI's) per tunnel: enough for a BGP session per
 * address family and spares.
 */

/**
 * struct esptun_pin_list - pinned addresses as a request gives them
 * @n: entries used
 * @family: AF_INET or AF_INET6, per entry
 * @addr: the inner destination addresses
 */
struct esptun_pin_list {
	unsigned int n;
	sa_family_t family[ESPTUN_MAX_PINS];
	union esptun_addr addr[ESPTUN_MAX_PINS];
};

/**
 * struct esptun_pin - an inner destination only one tunnel carries
 * @node: entry in the device's esptun_dev.pins hash (RCU; the device's lock)
 * @tun_node: entry in the tunnel's list, under the device's lock
 * @tun: the tunnel; the pin goes before the tunnel does
 * @family: AF_INET or AF_INET6
 * @addr: the address
 * @rcu: frees the pin after readers are done
 */
struct esptun_pin {
	struct hlist_node node;
	struct list_head tun_node;
	struct esptun_tunnel *tun;
	sa_family_t family;
	union esptun_addr addr;
	struct rcu_head rcu;
};

int esptun_pin_check(struct esptun_dev *esp, const struct esptun_tunnel *tun,
		     const struct esptun_pin_list *pl,
		     struct netlink_ext_ack *extack);
int esptun_pin_alloc(struct esptun_tunnel *tun,
		     const struct esptun_pin_list *pl, struct list_head *new);
void esptun_pin_free_list(struct list_head *new);
void esptun_pin_swap(struct esptun_tunnel *tun, struct list_head *new);
int esptun_pin_set(struct esptun_tunnel *tun, const struct esptun_pin_list *pl);
void esptun_pin_del_all(struct esptun_tunnel *tun);
struct esptun_tunnel *esptun_pin_lookup(struct esptun_dev *esp,
					struct sk_buff *skb);
bool esptun_pin_source_ok(struct esptun_dev *esp,
			  const struct esptun_tunnel *tun, struct sk_buff *skb);

#endif /* _ESPTUN_PIN_H */
