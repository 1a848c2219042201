// SPDX-License-Identifier: GPL-2.0
/*
 * The esptun net_device: rtnl_link_ops, netdev_ops and namespace lifetime.
 */
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/netns/generic.h>
#include <net/rtnetlink.h>

#include "device.h"

static unsigned int esptun_net_id __read_mostly;

/* Devices whose outer packets live in a namespace, so that they can be
 * deleted with it even when they were moved elsewhere.  Under RTNL.
 */
struct esptun_net {
	struct list_head devs;
};

static struct rtnl_link_ops esptun_link_ops;

bool esptun_is_dev(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &esptun_link_ops;
}

static netdev_tx_t esptun_xmit(struct sk_buff *skb, struct net_device *dev)
{
	/* No tunnel to carry the packet yet. */
	dev->stats.tx_dropped++;
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static int esptun_dev_init(struct net_device *dev)
{
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	return dev->tstats ? 0 : -ENOMEM;
}

/* Called on every unregistration path (ip link del, netns exit, module
 * unload) and when register_netdevice() fails after ndo_init, with RTNL held.
 */
static void esptun_dev_uninit(struct net_device *dev)
{
	struct esptun_dev *esp = netdev_priv(dev);

	ASSERT_RTNL();
	list_del_init(&esp->link_node);
}

static void esptun_destruct(struct net_device *dev)
{
	free_percpu(dev->tstats);
	/* The selftests pair this line with "created" to find leaks. */
	pr_debug("%s: destroyed\n", dev->name);
}

static const struct net_device_ops esptun_netdev_ops = {
	.ndo_init		= esptun_dev_init,
	.ndo_uninit		= esptun_dev_uninit,
	.ndo_start_xmit		= esptun_xmit,
	.ndo_get_stats64	= dev_get_tstats64,
};

static const struct device_type esptun_device_type = {
	.name = KBUILD_MODNAME,
};

static void esptun_setup(struct net_device *dev)
{
	dev->netdev_ops = &esptun_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->features |= NETIF_F_LLTX;
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
	struct esptun_net *en = net_generic(src_net, esptun_net_id);
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
	pr_debug("%s: created\n", dev->name);
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
	struct esptun_net *en = net_generic(net, esptun_net_id);

	INIT_LIST_HEAD(&en->devs);
	return 0;
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
		en = net_generic(net, esptun_net_id);
		list_for_each_entry_safe(esp, tmp, &en->devs, link_node)
			unregister_netdevice_queue(esp->dev, &kill);
	}
	unregister_netdevice_many(&kill);
	rtnl_unlock();
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
