// SPDX-License-Identifier: GPL-2.0
/*
 * The "esptun" generic netlink family (uapi/linux/esptun.h,
 * uapi/esptun.yaml).
 */
#include <linux/esptun.h>
#include <linux/netdevice.h>
#include <net/genetlink.h>

#include "device.h"
#include "netlink.h"

static struct genl_family esptun_genl_family;

static const struct nla_policy esptun_policy[ESPTUN_A_MAX + 1] = {
	[ESPTUN_A_IFINDEX]	= NLA_POLICY_MIN(NLA_U32, 1),
	[ESPTUN_A_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

/**
 * esptun_nl_get_dev() - find the esptun device a request names
 * @net: namespace of the requesting socket
 * @attrs: parsed request attributes
 * @extack: where to say what was wrong
 *
 * Return: the device with a reference held, or an ERR_PTR.
 */
static struct net_device *esptun_nl_get_dev(struct net *net,
					    struct nlattr **attrs,
					    struct netlink_ext_ack *extack)
{
	struct nlattr *ifindex = attrs[ESPTUN_A_IFINDEX];
	struct nlattr *ifname = attrs[ESPTUN_A_IFNAME];
	struct net_device *dev;
	char name[IFNAMSIZ];

	if (ifname)
		nla_strscpy(name, ifname, sizeof(name));
	if (ifindex) {
		dev = dev_get_by_index(net, nla_get_u32(ifindex));
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(extack, ifindex, "no such device");
			return ERR_PTR(-ENODEV);
		}
		if (ifname && strcmp(dev->name, name)) {
			dev_put(dev);
			NL_SET_ERR_MSG_ATTR(extack, ifname,
					    "ifindex and ifname name different devices");
			return ERR_PTR(-EINVAL);
		}
	} else if (ifname) {
		dev = dev_get_by_name(net, name);
		if (!dev) {
			NL_SET_ERR_MSG_ATTR(extack, ifname, "no such device");
			return ERR_PTR(-ENODEV);
		}
	} else {
		NL_SET_ERR_MSG(extack, "a device is required (ifindex or ifname)");
		return ERR_PTR(-EINVAL);
	}
	if (!esptun_is_dev(dev)) {
		dev_put(dev);
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname,
				    "not an esptun device");
		return ERR_PTR(-EOPNOTSUPP);
	}
	return dev;
}

static int esptun_nl_fill_dev(struct sk_buff *skb, struct net_device *dev,
			      struct netlink_callback *cb, u32 portid, u32 seq,
			      int flags)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &esptun_genl_family, flags,
			  ESPTUN_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_u32(skb, ESPTUN_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, ESPTUN_A_IFNAME, dev->name)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int esptun_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net_device *dev;
	struct sk_buff *msg;
	int ret;

	dev = esptun_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	ret = esptun_nl_fill_dev(msg, dev, NULL, info->snd_portid,
				 info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		goto out;
	}
	ret = genlmsg_reply(msg, info);
out:
	dev_put(dev);
	return ret;
}

/* cb->args[0]: esptun devices already dumped; cb->args[1]: filtered dump
 * done.  A concurrent change of the namespace's device list sets
 * NLM_F_DUMP_INTR through cb->seq.
 */
static int esptun_nl_dev_get_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct net *net = sock_net(skb->sk);
	u32 portid = NETLINK_CB(cb->skb).portid;
	u32 seq = cb->nlh->nlmsg_seq;
	struct net_device *dev;
	long idx = 0;
	int ret = 0;

	if (info->attrs[ESPTUN_A_IFINDEX] || info->attrs[ESPTUN_A_IFNAME]) {
		if (cb->args[1])
			return 0;
		dev = esptun_nl_get_dev(net, info->attrs, cb->extack);
		if (IS_ERR(dev))
			return PTR_ERR(dev);
		ret = esptun_nl_fill_dev(skb, dev, cb, portid, seq, NLM_F_MULTI);
		dev_put(dev);
		if (ret)
			return ret;
		cb->args[1] = 1;
		return skb->len;
	}

	rcu_read_lock();
	cb->seq = READ_ONCE(net->dev_base_seq);
	for_each_netdev_rcu(net, dev) {
		if (!esptun_is_dev(dev))
			continue;
		if (idx++ < cb->args[0])
			continue;
		ret = esptun_nl_fill_dev(skb, dev, cb, portid, seq,
					 NLM_F_MULTI);
		if (ret) {
			idx--;
			break;
		}
	}
	rcu_read_unlock();
	cb->args[0] = idx;
	/* A device too big for an empty message would loop forever. */
	if (ret && !skb->len)
		return ret;
	return skb->len;
}

static const struct genl_ops esptun_genl_ops[] = {
	{
		.cmd	= ESPTUN_CMD_DEV_GET,
		.doit	= esptun_nl_dev_get_doit,
		.dumpit	= esptun_nl_dev_get_dumpit,
		.policy	= esptun_policy,
		.maxattr = ESPTUN_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family esptun_genl_family __ro_after_init = {
	.name		= ESPTUN_FAMILY_NAME,
	.version	= ESPTUN_FAMILY_VERSION,
	.maxattr	= ESPTUN_A_MAX,
	.netnsok	= true,
	.parallel_ops	= true,
	.ops		= esptun_genl_ops,
	.n_ops		= ARRAY_SIZE(esptun_genl_ops),
	.module		= THIS_MODULE,
};

int __init esptun_genl_init(void)
{
	return genl_register_family(&esptun_genl_family);
}

void esptun_genl_uninit(void)
{
	genl_unregister_family(&esptun_genl_family);
}
