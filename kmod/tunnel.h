/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_TUNNEL_H
#define _ESPTUN_TUNNEL_H

#include <linux/cache.h>
#include <linux/in6.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/dst_cache.h>
#include <net/ipv6.h>

#include "order.h"
#include "stats.h"

struct esptun_dev;
struct esptun_encap_sock;
struct esptun_pin_list;
struct esptun_sa;

union esptun_addr {
	__be32 v4;
	struct in6_addr v6;
};

/*
 * A tunnel's outer addresses, the key of its namespace's tun_addr table,
 * which compares keys whole: what an IPv4 address leaves of its union is
 * zero, and there is no padding.
 */
struct esptun_addrs {
	union esptun_addr local;
	union esptun_addr remote;
	u32 family;
};

/**
 * struct esptun_path - where a tunnel sends: its remote address and the
 * route there, and the tunnel's entry in the table of tunnels by addresses
 * @addrs: the tunnel's family and local address, and the outer destination
 * @addr_node: entry in esptun_net(link_net)->tun_addr, from when the tunnel
 *	is published until the path is replaced or the tunnel deleted (RCU;
 *	esptun_net.lock)
 * @tun: the tunnel, for those who find the path in tun_addr
 * @free_work: frees the path a grace period after it was replaced
 *
 * Never changed once published: a new remote address comes as a new path
 * (esptun_tunnel_set_remote()), so a route cached is always the route to
 * the address beside it, no reader sees half an IPv6 address, and a key
 * in tun_addr never changes under the table.
 */
struct esptun_path {
	struct esptun_addrs addrs;
	struct rhash_head addr_node;
	struct esptun_tunnel *tun;
	struct dst_cache dst_cache;
	struct rcu_work free_work;
};

/**
 * struct esptun_tunnel - one IPsec tunnel of a device: a pair of outer
 * addresses, one outbound SA and any number of inbound SAs
 * @esp: the device; a reference on its net_device is held
 * @dev_node: entry in esp->tunnels (RCU; esp->lock)
 * @net_node: entry in esptun_net(link_net)->tunnels (RCU; esptun_net.lock)
 * @id: the tunnel's number in the device, chosen by the user
 * @family: AF_INET or AF_INET6, of both outer addresses
 * @local: outer source address
 * @path: the remote address, the route cache and the tunnel's entry in
 *	tun_addr (RCU; replaced under esp->lock and esptun_net.lock)
 * @weight: share of the device's flows, relative to the other tunnels
 * @admin_up: the user wants the tunnel to carry traffic
 * @up: the state last announced (esptun_tunnel_update()), under esp->lock
 * @dying: unlinked; pending work leaves it alone (esp->lock)
 * @keepalive: seconds between ESP dummy packets, 0 for none
 * @dead_after: seconds of silence after which the tunnel is dead, 0: never
 * @encap: enum esptun_encap, fixed at creation
 * @encap_sport: with UDP encapsulation, the local UDP port
 * @encap_dport: with UDP encapsulation, the remote UDP port; the data path
 *	moves it on NAT rebinding (READ_ONCE/WRITE_ONCE)
 * @nat_keepalive: seconds between NAT keepalives, 0 for none
 * @encap_sock: esptun's UDP socket the tunnel receives on, or NULL when an
 *	IKE daemon's socket decapsulates for it (encap.c), under esptun_net.lock
 * @flags: ESPTUN_TUN_DEAD: liveness says down (atomic bitops)
 * @kick: causes (BIT(enum esptun_state_cause)) for @state_work to apply
 * @last_rx: jiffies of the last authentic packet
 * @last_keepalive: jiffies of the last dummy packet sent (timer only)
 * @last_nat_keepalive: jiffies of the last NAT keepalive sent (timer only)
 * @timer: sends keepalives and notices silence (liveness.c)
 * @state_work: re-evaluates the state under esp->lock for the data path and
 *	the timer, which cannot take it; holds a reference while queued
 * @pins: inner addresses pinned to this tunnel (esptun_pin.tun_node), esp->lock
 * @n_pins: entries in @pins
 * @tx_sa: the outbound SA, or NULL; replaced atomically (RCU; esp->lock)
 * @rx_sas: inbound SAs (esptun_sa.tunnel_node), under esp->lock
 * @tx_order: packets being encrypted, in sequence number order
 * @rx_order: packets being decrypted, in arrival order
 * @napi: delivers @rx_order's packets, in order, with GRO (rx.c); on the
 *	device's NAPI list from creation until the tunnel is freed.  That
 *	list is added to under esp->lock, as tunnels are created, and
 *	deleted from under RTNL and esp->lock: RTNL because the core walks
 *	it under RTNL alone (dev_set_threaded()), and may sleep on an entry;
 *	esp->lock against a concurrent addition.  A walk under RTNL that
 *	misses a NAPI instance being added leaves it unthreaded.
 * @rcu: frees the tunnel a grace period after @napi left the device's list
 * @dst_cache: per-CPU cache of the route to @remote
 * @stats: per-tunnel counters
 * @refcnt: held by the device's list, by each SA and by queued work
 * @free_work: frees the tunnel after readers are done
 */
struct esptun_tunnel {
	struct esptun_dev *esp;
	struct list_head dev_node;
	struct list_head net_node;
	u32 id;
	sa_family_t family;
	union esptun_addr local;
	struct esptun_path __rcu *path;
	u8 weight;
	bool admin_up;
	bool up;
	bool dying;
	u16 keepalive;
	u16 dead_after;
	u8 encap;
	__be16 encap_sport;
	__be16 encap_dport;
	u16 nat_keepalive;
	struct esptun_encap_sock *encap_sock;
	unsigned long flags;
	unsigned long kick;
	unsigned long last_rx;
	unsigned long last_keepalive;
	unsigned long last_nat_keepalive;
	struct timer_list timer;
	struct work_struct state_work;
	struct list_head pins;
	unsigned int n_pins;
	struct esptun_sa __rcu *tx_sa;
	struct list_head rx_sas;
	struct esptun_stats __percpu *stats;
	refcount_t refcnt;
	struct rcu_work free_work;
	/* Written for every packet, by senders and by the hand-off CPUs:
	 * away from what every CPU reads, and from each other.
	 */
	struct esptun_order tx_order ____cacheline_aligned_in_smp;
	struct esptun_order rx_order ____cacheline_aligned_in_smp;
	struct napi_struct napi;
	struct rcu_head rcu;
};

/* esptun_tunnel.flags */
#define ESPTUN_TUN_DEAD		0

/* @a, of @family, equals the address at @b (a __be32 or an in6_addr). */
static inline bool esptun_addr_eq(sa_family_t family,
				  const union esptun_addr *a, const void *b)
{
	if (family == AF_INET)
		return a->v4 == *(const __be32 *)b;
	return ipv6_addr_equal(&a->v6, b);
}

extern const struct rhashtable_params esptun_tun_addr_params;

struct esptun_tunnel *esptun_tunnel_find(struct esptun_dev *esp, u32 id);
/**
 * struct esptun_tunnel_config - what a request sets; -1 or NULL: unchanged
 * (for a new tunnel: weight 1, up, no keepalive, no dead-after, no pins,
 * no encapsulation)
 * @weight: 1-255
 * @admin_up: 1 up, 0 down
 * @keepalive: seconds between dummy packets, 0 for none
 * @dead_after: seconds of silence before the tunnel is down, 0: never
 * @pins: the pinned addresses, replacing the tunnel's
 * @encap: enum esptun_encap; new tunnels only
 * @encap_sport: local UDP port, network order, 0 for the default; new only
 * @encap_dport: remote UDP port, network order, 0 for the default (new) or
 *	unchanged (set)
 * @nat_keepalive: seconds between NAT keepalives, 0 for none
 * @remote: a new remote address, of the tunnel's family; set only
 * @encap_fd: the caller's descriptor of a UDP socket that takes over the
 *	tunnel's local port (esptun_encap_handover())
 */
struct esptun_tunnel_config {
	int weight;
	int admin_up;
	int keepalive;
	int dead_after;
	const struct esptun_pin_list *pins;
	int encap;
	__be16 encap_sport;
	__be16 encap_dport;
	int nat_keepalive;
	const union esptun_addr *remote;
	int encap_fd;
};

int esptun_tunnel_add(struct esptun_dev *esp, u32 id, sa_family_t family,
		      const union esptun_addr *local,
		      const union esptun_addr *remote,
		      const struct esptun_tunnel_config *cfg,
		      struct netlink_ext_ack *extack);
int esptun_tunnel_set(struct esptun_tunnel *tun,
		      const struct esptun_tunnel_config *cfg,
		      struct netlink_ext_ack *extack);
void esptun_tunnel_update(struct esptun_tunnel *tun, u8 cause);
void esptun_tunnel_kick(struct esptun_tunnel *tun, u8 cause);
void esptun_tunnel_del(struct esptun_tunnel *tun);
void esptun_tunnel_del_all(struct esptun_dev *esp);
void esptun_tunnel_put(struct esptun_tunnel *tun);
bool esptun_tunnel_usable(const struct esptun_tunnel *tun);
const union esptun_addr *esptun_tunnel_remote(const struct esptun_tunnel *tun);
struct esptun_tunnel *esptun_tunnel_by_addr(struct net *net,
					    sa_family_t family,
					    const void *local,
					    const void *remote);

#endif /* _ESPTUN_TUNNEL_H */
