// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned inner destinations: a BGP session per tunnel (AWS gives each
 * tunnel a 169.254.x.y/30 inside network) must stay on its tunnel, while
 * data flows are hashed over all of them.  Packets to a pinned address go
 * through that tunnel only and are dropped while it is down: failing over
 * would deliver a BGP session to the wrong endpoint.
 *
 * The device keeps every pin in one small hash looked up by the inner
 * destination before flow hashing; a device without pins skips it.  Pins
 * are changed under the device's lock and read under RCU.
 */
#include <linux/hash.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "device.h"
#include "pin.h"

static u32 esptun_pin_key(sa_family_t family, const void *addr)
{
	if (family == AF_INET)
		return hash_32((__force u32)*(const __be32 *)addr,
			       ESPTUN_PIN_HASH_BITS);
	return hash_32(ipv6_addr_hash(addr), ESPTUN_PIN_HASH_BITS);
}

static struct esptun_pin *esptun_pin_find(struct esptun_dev *esp,
					  sa_family_t family, const void *addr)
{
	struct esptun_pin *pin;

	hlist_for_each_entry_rcu(pin, &esp->pins[esptun_pin_key(family, addr)],
				 node, lockdep_is_held(&esp->lock)) {
		if (pin->family == family &&
		    esptun_addr_eq(family, &pin->addr, addr))
			return pin;
	}
	return NULL;
}

/**
 * esptun_pin_check() - may @tun have the pins @pl?
 * @esp: the device, locked
 * @tun: the tunnel, or NULL for one being created
 * @pl: the addresses requested
 * @extack: where to say why not
 *
 * Return: 0, or -EEXIST when an address is pinned to another tunnel.
 */
int esptun_pin_check(struct esptun_dev *esp, const struct esptun_tunnel *tun,
		     const struct esptun_pin_list *pl,
		     struct netlink_ext_ack *extack)
{
	struct esptun_pin *pin;
	unsigned int i;

	lockdep_assert_held(&esp->lock);
	for (i = 0; i < pl->n; i++) {
		pin = esptun_pin_find(esp, pl->family[i], &pl->addr[i]);
		if (pin && pin->tun != tun) {
			NL_SET_ERR_MSG(extack,
				       "an address is already pinned to another tunnel of the device");
			return -EEXIST;
		}
	}
	return 0;
}

/**
 * esptun_pin_alloc() - the pins @pl asks for, not yet the tunnel's
 * @tun: the tunnel, its device locked; esptun_pin_check() passed
 * @pl: the new addresses, none to remove all
 * @new: an empty list that gets them
 *
 * Allocating apart from publishing lets a change that may still fail after
 * this leave the tunnel as it was (esptun_tunnel_set()).
 *
 * Return: 0, or -ENOMEM with @new empty.
 */
int esptun_pin_alloc(struct esptun_tunnel *tun,
		     const struct esptun_pin_list *pl, struct list_head *new)
{
	struct esptun_pin *pin;
	unsigned int i;

	lockdep_assert_held(&tun->esp->lock);
	for (i = 0; i < pl->n; i++) {
		pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
		if (!pin) {
			esptun_pin_free_list(new);
			return -ENOMEM;
		}
		pin->tun = tun;
		pin->family = pl->family[i];
		pin->addr = pl->addr[i];
		list_add_tail(&pin->tun_node, new);
	}
	return 0;
}

/* Pins esptun_pin_alloc() made that are not wanted after all. */
void esptun_pin_free_list(struct list_head *new)
{
	struct esptun_pin *pin, *tmp;

	list_for_each_entry_safe(pin, tmp, new, tun_node)
		kfree(pin);
	INIT_LIST_HEAD(new);
}

/**
 * esptun_pin_swap() - make the pins esptun_pin_alloc() made the tunnel's
 * @tun: the tunnel, its device locked
 * @new: the list esptun_pin_alloc() filled; emptied
 *
 * The new pins are published before the old ones go, so an address in
 * both never falls back to hashing.  Cannot fail.
 */
void esptun_pin_swap(struct esptun_tunnel *tun, struct list_head *new)
{
	struct esptun_dev *esp = tun->esp;
	struct esptun_pin *pin, *tmp;
	unsigned int n = 0;
	LIST_HEAD(old);

	lockdep_assert_held(&esp->lock);
	list_splice_init(&tun->pins, &old);
	list_for_each_entry(pin, new, tun_node) {
		hlist_add_head_rcu(&pin->node,
				   &esp->pins[esptun_pin_key(pin->family, &pin->addr)]);
		n++;
	}
	list_splice_init(new, &tun->pins);
	list_for_each_entry_safe(pin, tmp, &old, tun_node) {
		hlist_del_rcu(&pin->node);
		kfree_rcu(pin, rcu);
	}
	WRITE_ONCE(esp->n_pins, esp->n_pins + n - tun->n_pins);
	tun->n_pins = n;
}

/**
 * esptun_pin_set() - replace the tunnel's pins
 * @tun: the tunnel, its device locked; esptun_pin_check() passed
 * @pl: the new addresses, none to remove all
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
int esptun_pin_set(struct esptun_tunnel *tun, const struct esptun_pin_list *pl)
{
	LIST_HEAD(new);
	int ret;

	ret = esptun_pin_alloc(tun, pl, &new);
	if (!ret)
		esptun_pin_swap(tun, &new);
	return ret;
}

void esptun_pin_del_all(struct esptun_tunnel *tun)
{
	static const struct esptun_pin_list none;

	/* Removing allocates nothing: it cannot fail. */
	esptun_pin_set(tun, &none);
}

/*
 * The pin of an inner packet's source (@src) or destination address, or
 * NULL; a device without pins costs one read.  Under RCU (BH).
 */
static struct esptun_pin *esptun_pin_of(struct esptun_dev *esp,
					struct sk_buff *skb, bool src)
{
	if (likely(!READ_ONCE(esp->n_pins)))
		return NULL;
	if (skb->protocol == htons(ETH_P_IP))
		return esptun_pin_find(esp, AF_INET, src ? &ip_hdr(skb)->saddr :
							   &ip_hdr(skb)->daddr);
	return esptun_pin_find(esp, AF_INET6, src ? &ipv6_hdr(skb)->saddr :
						    &ipv6_hdr(skb)->daddr);
}

/**
 * esptun_pin_lookup() - the tunnel an inner packet is pinned to
 * @esp: the device
 * @skb: the inner packet, its IP header pulled
 *
 * Under RCU (BH).
 *
 * Return: the tunnel, usable or not, or NULL when the destination is not
 * pinned.
 */
struct esptun_tunnel *esptun_pin_lookup(struct esptun_dev *esp,
					struct sk_buff *skb)
{
	struct esptun_pin *pin = esptun_pin_of(esp, skb, false);

	return pin ? pin->tun : NULL;
}

/**
 * esptun_pin_source_ok() - may an inner packet come from @tun?
 * @esp: the device
 * @tun: the tunnel it arrived on, authentic
 * @skb: the inner packet, its IP header pulled
 *
 * A pinned address is one tunnel's peer (its BGP neighbour): a packet
 * from it arriving on another tunnel is that tunnel's peer posing as it.
 * Under RCU (BH).
 *
 * Return: false when the source is pinned to another tunnel.
 */
bool esptun_pin_source_ok(struct esptun_dev *esp,
			  const struct esptun_tunnel *tun, struct sk_buff *skb)
{
	struct esptun_pin *pin = esptun_pin_of(esp, skb, true);

	return !pin || pin->tun == tun;
}
