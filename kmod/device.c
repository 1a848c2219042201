// SPDX-License-Identifier: GPL-2.0
/*
 * The esptun net_device: rtnl_link_ops, netdev_ops and namespace lifetime.
 */
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/rhashtable.h>
#include <linux/rtnetlink.h>
#include <net/netns/generic.h>
#include <net/pkt_sched.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "ecmp.h"
#include "esp.h"
#include "main.h"
#include "objects.h"
#include "sa.h"
#include "tunnel.h"
#include "tx.h"

static unsigned int esptun_net_id __read_mostly;

static struct rtnl_link_ops esptun_link_ops;

struct esptun_net *esptun_net(const struct net *net)
{
	return net_generic(net, esptun_net_id);
}

bool esptun_is_dev(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &esptun_link_ops;
}

/**
 * esptun_device_update_carrier() - carrier on while a tunnel is usable
 * @esp: the device, locked
 *
 * Routing daemons see a device without a usable tunnel as down.
 */
void esptun_device_update_carrier(struct esptun_dev *esp)
{
	struct esptun_tunnel *tun;

	lockdep_assert_held(&esp->lock);
	list_for_each_entry(tun, &esp->tunnels, dev_node) {
		if (esptun_tunnel_usable(tun)) {
			netif_carrier_on(esp->dev);
			return;
		}
	}
	netif_carrier_off(esp->dev);
}

static int esptun_dev_init(struct net_device *dev)
{
	struct esptun_dev *esp = netdev_priv(dev);

	mutex_init(&esp->lock);
	INIT_LIST_HEAD(&esp->tunnels);
	hash_init(esp->pins);
	/* Charged, as the rest of the device: a namespace's administrator
	 * may be an unprivileged user's, and devices are not counted.
	 */
	dev->tstats = __netdev_alloc_pcpu_stats(struct pcpu_sw_netstats,
						GFP_KERNEL_ACCOUNT);
	if (!dev->tstats)
		return -ENOMEM;
	esp->stats = esptun_stats_alloc();
	if (!esp->stats)
		goto err_tstats;
	return 0;

err_tstats:
	free_percpu(dev->tstats);
	dev->tstats = NULL;
	return -ENOMEM;
}

/* Called on every unregistration path (ip link del, netns exit, module
 * unload) and when register_netdevice() fails after ndo_init, with RTNL held.
 */
static void esptun_dev_uninit(struct net_device *dev)
{
	struct esptun_dev *esp = netdev_priv(dev);

	ASSERT_RTNL();
	/* A command waiting for the lock finds the device dead. */
	mutex_lock(&esp->lock);
	esp->dead = true;
	esptun_sa_unreserve(esp);
	esptun_tunnel_del_all(esp);
	esptun_ecmp_free(esp);
	mutex_unlock(&esp->lock);
	list_del_init(&esp->link_node);
}

static void esptun_destruct(struct net_device *dev)
{
	struct esptun_dev *esp = netdev_priv(dev);

	free_percpu(esp->stats);
	free_percpu(dev->tstats);
	/* The selftests pair this line with "created" to find leaks; %p
	 * (hashed) tells two devices of one name apart.
	 */
	pr_debug("%s %p: destroyed\n", dev->name, dev);
	esptun_object_gone(ESPTUN_OBJ_DEVICE);
}

/* Drops by cause, on top of the packet and byte counts. */
static void esptun_get_stats64(struct net_device *dev,
			       struct rtnl_link_stats64 *s)
{
	struct esptun_dev *esp = netdev_priv(dev);
	u64 c[__ESPTUN_CTR_MAX];

	dev_get_tstats64(dev, s);
	esptun_stats_sum(esp->stats, c);
	s->rx_errors += c[ESPTUN_CTR_RX_AUTH_FAIL] + c[ESPTUN_CTR_RX_MALFORMED] +
			c[ESPTUN_CTR_RX_WRONG_TUNNEL];
	s->rx_dropped += c[ESPTUN_CTR_RX_REPLAY] + c[ESPTUN_CTR_RX_NO_SA] +
			 c[ESPTUN_CTR_RX_DROPS] + c[ESPTUN_CTR_RX_OVERLOAD];
	s->tx_errors += c[ESPTUN_CTR_TX_ERRORS] + c[ESPTUN_CTR_TX_NO_TUNNEL];
	s->tx_carrier_errors += c[ESPTUN_CTR_TX_NO_TUNNEL];
	s->tx_dropped += c[ESPTUN_CTR_TX_SEQ_EXHAUSTED] +
			 c[ESPTUN_CTR_TX_TOO_BIG] + c[ESPTUN_CTR_TX_OVERLOAD];
}

static const struct net_device_ops esptun_netdev_ops = {
	.ndo_init		= esptun_dev_init,
	.ndo_uninit		= esptun_dev_uninit,
	.ndo_start_xmit		= esptun_xmit,
	.ndo_get_stats64	= esptun_get_stats64,
};

/* Checksums and segmentation are done in software, once, before
 * encryption: taking GSO packets saves the stack segmenting them earlier.
 */
#define ESPTUN_FEATURES (NETIF_F_HW_CSUM | NETIF_F_RXCSUM | NETIF_F_SG | \
			 NETIF_F_GSO_SOFTWARE | NETIF_F_HIGHDMA)

static const struct device_type esptun_device_type = {
	.name = KBUILD_MODNAME,
};

static void esptun_setup(struct net_device *dev)
{
	dev->netdev_ops = &esptun_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	/* The data path runs in BH context and fills per-CPU rings under
	 * spin locks that are not IRQ-safe (parallel.c); netpoll would
	 * transmit from any context, with interrupts off, in the middle of
	 * it.  A qdisc, unlike most tunnels' noqueue: a busy tunnel stops
	 * the queue (tx.c, backpressure), and the qdisc holds what waits.
	 */
	dev->priv_flags |= IFF_DISABLE_NETPOLL;
	/* Zero would make it noqueue (alloc_netdev_mqs()). */
	dev->tx_queue_len = DEFAULT_TX_QUEUE_LEN;
	dev->features |= NETIF_F_LLTX | ESPTUN_FEATURES;
	dev->hw_features |= ESPTUN_FEATURES;
	dev->hw_enc_features |= ESPTUN_FEATURES;
	dev->needed_headroom = ESPTUN_HEADROOM;
	dev->needed_tailroom = 3 + 2 + ESPTUN_ICV_LEN;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->mtu = ESPTUN_DEFAULT_MTU;
	dev->min_mtu = IPV4_MIN_MTU;
	dev->max_mtu = ESPTUN_MAX_MTU;
	dev->needs_free_netdev = true;
	dev->priv_destructor = esptun_destruct;
	netif_keep_dst(dev);
	SET_NETDEV_DEVTYPE(dev, &esptun_device_type);
}

static int esptun_newlink(struct net *src_net, struct net_device *dev,
			  struct nlattr *tb[], struct nlattr *data[],
			  struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(src_net);
	struct esptun_dev *esp = netdev_priv(dev);
	int ret;

	esp->dev = dev;
	esp->link_net = src_net;
	INIT_LIST_HEAD(&esp->link_node);
	ret = register_netdevice(dev);
	if (ret) {
		NL_SET_ERR_MSG(extack, "esptun: cannot register the device");
		return ret;
	}
	list_add(&esp->link_node, &en->devs);
	/* Carrier follows tunnel usability: none yet. */
	netif_carrier_off(dev);
	esptun_object_new(ESPTUN_OBJ_DEVICE);
	pr_debug("%s %p: created in pid:[%u]\n", dev->name, dev,
		 esptun_creator_pidns());
	return 0;
}

static struct net *esptun_get_link_net(const struct net_device *dev)
{
	const struct esptun_dev *esp = netdev_priv(dev);

	return esp->link_net;
}

static struct rtnl_link_ops esptun_link_ops __read_mostly = {
	.kind		= KBUILD_MODNAME,
	.priv_size	= sizeof(struct esptun_dev),
	.setup		= esptun_setup,
	.newlink	= esptun_newlink,
	.get_link_net	= esptun_get_link_net,
};

static int __net_init esptun_net_init(struct net *net)
{
	struct esptun_net *en = esptun_net(net);
	int ret;

	INIT_LIST_HEAD(&en->devs);
	mutex_init(&en->lock);
	INIT_LIST_HEAD(&en->tunnels);
	INIT_LIST_HEAD(&en->encap_socks);
	INIT_LIST_HEAD(&en->spi_reserved);
	ret = rhashtable_init(&en->tun_addr, &esptun_tun_addr_params);
	if (ret)
		return ret;
	ret = rhashtable_init(&en->sa_in, &esptun_sa_in_params);
	if (ret)
		rhashtable_destroy(&en->tun_addr);
	return ret;
}

/* The namespace's devices went, and their tunnels and SAs with them. */
static void esptun_net_table_destroy(struct rhashtable *ht)
{
	WARN_ON_ONCE(atomic_read(&ht->nelems));
	rhashtable_destroy(ht);
}

/* Devices whose transport namespace dies go with it, wherever they were
 * moved, as IP tunnels do.  Those living in a dying namespace are deleted by
 * the core (default_device_exit_batch), which calls ndo_uninit.
 */
static void __net_exit esptun_net_exit_batch(struct list_head *net_list)
{
	struct esptun_dev *esp, *tmp;
	struct esptun_net *en;
	struct net *net;
	LIST_HEAD(kill);

	rtnl_lock();
	list_for_each_entry(net, net_list, exit_list) {
		en = esptun_net(net);
		list_for_each_entry_safe(esp, tmp, &en->devs, link_node)
			unregister_netdevice_queue(esp->dev, &kill);
	}
	unregister_netdevice_many(&kill);
	/* The tunnels, which hold the UDP sockets, went with the devices. */
	list_for_each_entry(net, net_list, exit_list)
		WARN_ON_ONCE(!list_empty(&esptun_net(net)->encap_socks));
	rtnl_unlock();
	/* Here, not in an .exit method: that runs before the devices above
	 * went.
	 */
	list_for_each_entry(net, net_list, exit_list) {
		esptun_net_table_destroy(&esptun_net(net)->sa_in);
		esptun_net_table_destroy(&esptun_net(net)->tun_addr);
	}
}

static struct pernet_operations esptun_net_ops = {
	.init		= esptun_net_init,
	.exit_batch	= esptun_net_exit_batch,
	.id		= &esptun_net_id,
	.size		= sizeof(struct esptun_net),
};

int __init esptun_device_init(void)
{
	int ret;

	ret = register_pernet_device(&esptun_net_ops);
	if (ret)
		return ret;
	ret = rtnl_link_register(&esptun_link_ops);
	if (ret)
		unregister_pernet_device(&esptun_net_ops);
	return ret;
}

void esptun_device_uninit(void)
{
	rtnl_link_unregister(&esptun_link_ops);
	unregister_pernet_device(&esptun_net_ops);
	rcu_barrier();
}
