/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_TUNNEL_H
#define _ESPTUN_TUNNEL_H

#include <linux/in6.h>
#include <linux/netlink.h>
#include <linux/refcount.h>
#include <net/dst_cache.h>
#include <net/ipv6.h>

#include "stats.h"

struct esptun_dev;
struct esptun_sa;

union esptun_addr {
	__be32 v4;
	struct in6_addr v6;
};

/**
 * struct esptun_tunnel - one IPsec tunnel of a device: a pair of outer
 * addresses, one outbound SA and any number of inbound SAs
 * @esp: the device; a reference on its net_device is held
 * @dev_node: entry in esp->tunnels (RCU; RTNL)
 * @net_node: entry in esptun_net(link_net)->tunnels (RCU; RTNL)
 * @id: the tunnel's number in the device, chosen by the user
 * @family: AF_INET or AF_INET6, of both outer addresses
 * @local: outer source address
 * @remote: outer destination address
 * @weight: share of the device's flows, relative to the other tunnels
 * @admin_up: the user wants the tunnel to carry traffic
 * @tx_sa: the outbound SA, or NULL; replaced atomically (RCU; RTNL)
 * @rx_sas: inbound SAs (esptun_sa.tunnel_node), under RTNL
 * @dst_cache: per-CPU cache of the route to @remote
 * @stats: per-tunnel counters
 * @refcnt: held by the device's list and by each SA
 * @rcu: frees the tunnel after readers are done
 */
struct esptun_tunnel {
	struct esptun_dev *esp;
	struct list_head dev_node;
	struct list_head net_node;
	u32 id;
	sa_family_t family;
	union esptun_addr local;
	union esptun_addr remote;
	u8 weight;
	bool admin_up;
	struct esptun_sa __rcu *tx_sa;
	struct list_head rx_sas;
	struct dst_cache dst_cache;
	struct esptun_stats __percpu *stats;
	refcount_t refcnt;
	struct rcu_head rcu;
};

/* @a, of @family, equals the address at @b (a __be32 or an in6_addr). */
static inline bool esptun_addr_eq(sa_family_t family,
				  const union esptun_addr *a, const void *b)
{
	if (family == AF_INET)
		return a->v4 == *(const __be32 *)b;
	return ipv6_addr_equal(&a->v6, b);
}

struct esptun_tunnel *esptun_tunnel_find(struct esptun_dev *esp, u32 id);
int esptun_tunnel_add(struct esptun_dev *esp, u32 id, sa_family_t family,
		      const union esptun_addr *local,
		      const union esptun_addr *remote, u8 weight,
		      struct netlink_ext_ack *extack);
void esptun_tunnel_set(struct esptun_tunnel *tun, int weight, int admin_up);
void esptun_tunnel_del(struct esptun_tunnel *tun);
void esptun_tunnel_del_all(struct esptun_dev *esp);
void esptun_tunnel_put(struct esptun_tunnel *tun);
bool esptun_tunnel_usable(const struct esptun_tunnel *tun);
struct esptun_tunnel *esptun_tunnel_by_addr(struct net *net,
					    sa_family_t family,
					    const void *local,
					    const void *remote);

#endif /* _ESPTUN_TUNNEL_H */
