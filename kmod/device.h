/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_DEVICE_H
#define _ESPTUN_DEVICE_H

#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rhashtable-types.h>
#include <net/ip.h>
#include <net/net_namespace.h>

#include "stats.h"

/*
 * Worst-case encapsulation overhead: an outer IPv6 header (40), UDP
 * encapsulation (8, RFC 3948), ESP header (8), the explicit IV (8), at most
 * 3 bytes of padding, the ESP trailer (2) and the ICV (16).
 */
#define ESPTUN_MAX_OVERHEAD	85
/*
 * Default MTU: a 1500-byte outer path minus ESPTUN_MAX_OVERHEAD leaves 1415;
 * 1418 needs no padding (1418 + 2 is a multiple of 4), so it fits as well.
 * Over IPv4 without NAT-T, 1446 fits (AWS's figure for AES-GCM).
 */
#define ESPTUN_DEFAULT_MTU	1418
/* The largest inner packet whose ESP packet still fits an IP datagram. */
#define ESPTUN_MAX_MTU		(IP_MAX_MTU - ESPTUN_MAX_OVERHEAD)

#define ESPTUN_PIN_HASH_BITS	4

/*
 * Locking.  The data path takes no lock: it reads tunnels, SAs, pins and
 * the ECMP table under RCU.  Changes are serialised per device by
 * esptun_dev.lock (netlink commands, the state and lifetime work items,
 * teardown), so that one daemon rekeying one device neither waits for nor
 * stalls RTNL and the other devices.  What the devices of a transport
 * namespace share (its tunnel list, inbound SPI table and UDP sockets) is
 * guarded by esptun_net.lock, held briefly.  Order: RTNL (teardown only),
 * then esptun_dev.lock, then esptun_net.lock.  Memory and crypto
 * transforms are allocated before esptun_net.lock is taken.
 */

/**
 * struct esptun_dev - private part of an esptun net_device
 * @dev: the net_device
 * @link_net: namespace the outer (ESP) packets live in: the one the device
 *	was created from.  The device may move; its transport does not.  A
 *	reference is not held: the device is deleted before @link_net dies
 *	(see esptun_net_exit_batch()).
 * @link_node: entry in the per-@link_net list of devices, under RTNL
 * @lock: serialises changes to everything below, and events
 * @dead: being unregistered: no more commands, no events (under @lock)
 * @tunnels: the device's tunnels, ordered by id; RCU for the data path,
 *	changed under @lock
 * @stats: device-wide drop counters by cause (rx_errors/rx_dropped sum them)
 * @ecmp: flow hash to tunnel (RCU; rebuilt under @lock)
 * @pins: pinned inner destinations (esptun_pin.node), RCU; @lock (pin.c)
 * @n_pins: how many; 0 spares the data path the lookup
 */
struct esptun_dev {
	struct net_device *dev;
	struct net *link_net;
	struct list_head link_node;
	struct mutex lock;		/* the device's changes; see above */
	bool dead;
	struct list_head tunnels;
	struct esptun_stats __percpu *stats;
	struct esptun_ecmp __rcu *ecmp;
	DECLARE_HASHTABLE(pins, ESPTUN_PIN_HASH_BITS);
	unsigned int n_pins;
};

/*
 * An outbound key retired, by its fingerprint: sequence numbers below
 * @seq may have been sent with it (sa.c, nonce rule).
 */
struct esptun_key_used {
	u64 id;
	u64 seq;
};

#define ESPTUN_KEYS_USED	64

/**
 * struct esptun_net - esptun's state in a network namespace
 * @devs: devices whose transport (@link_net) is this namespace, under RTNL
 * @lock: guards what says so below, shared by the devices of the namespace
 * @tunnels: their tunnels, for ICMP errors and unclaimed ESP; RCU, @lock
 * @sa_in: inbound SAs by SPI (sa.c); changed under @lock, read under RCU,
 *	also by @lock's holders: it resizes in a work item of its own
 * @encap_socks: esptun's UDP sockets in this namespace (encap.c), @lock
 * @spi_reserved: SPIs reserved by SPI_ALLOC (sa.c), @lock
 * @n_reserved: how many
 * @keys_used: the last ESPTUN_KEYS_USED outbound SAs' keys, retired (sa.c),
 *	@lock
 * @keys_used_next: the slot the next one takes, @lock
 */
struct esptun_net {
	struct list_head devs;
	struct mutex lock;		/* shared by the namespace's devices */
	struct list_head tunnels;
	struct rhashtable sa_in;
	/* Tunnels by outer addresses (their paths: esptun_path.addr_node):
	 * ESP that nobody owns and ICMP errors look here, from the network,
	 * so it is a hash and not a walk of @tunnels.  As @sa_in.
	 */
	struct rhashtable tun_addr;
	struct list_head encap_socks;
	struct list_head spi_reserved;
	unsigned int n_reserved;
	struct esptun_key_used keys_used[ESPTUN_KEYS_USED];
	unsigned int keys_used_next;
	atomic_t nl_genid;		/* netlink.c: dump consistency */
};

/* A pointer the device's lock guards, read by its holder. */
#define esptun_dereference(p, esp) \
	rcu_dereference_protected(p, lockdep_is_held(&(esp)->lock))

int esptun_device_init(void);
void esptun_device_uninit(void);
bool esptun_is_dev(const struct net_device *dev);
struct esptun_net *esptun_net(const struct net *net);
void esptun_device_update_carrier(struct esptun_dev *esp);

#endif /* _ESPTUN_DEVICE_H */
