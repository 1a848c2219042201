// SPDX-License-Identifier: GPL-2.0
/*
 * The "esptun" generic netlink family's handlers.  uapi/esptun.yaml is the
 * ABI; its policies, operations and groups are generated (netlink-gen.c), so
 * a handler sees only attributes its command takes, of the right size and
 * range.  Every command runs under its device's lock (device.h), taken in
 * pre_doit: one daemon's commands on one device neither wait for nor stall
 * RTNL or the other devices.  Every refusal says why in extack.
 */
#include <linux/esptun.h>
#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/ipv6.h>

#include "device.h"
#include "ecmp.h"
#include "netlink.h"
#include "netlink-gen.h"
#include "pin.h"
#include "sa.h"
#include "tunnel.h"

static struct genl_family esptun_genl_family;

/* What this module implements, for daemons to probe (ESPTUN_A_FEATURES). */
#define ESPTUN_NL_FEATURES	(ESPTUN_FEATURE_ESN | ESPTUN_FEATURE_LIFETIME | \
				 ESPTUN_FEATURE_PINS | ESPTUN_FEATURE_LIVENESS | \
				 ESPTUN_FEATURE_UDP_ENCAP | \
				 ESPTUN_FEATURE_SPI_ALLOC | \
				 ESPTUN_FEATURE_ENCAP_SOCKET)

/*
 * Bumped on every tunnel or SA change of a device in the namespace: its
 * dumps see it as NLM_F_DUMP_INTR.  Per namespace, so that one tenant's
 * churn cannot keep another's dumps from completing.
 */
static void esptun_nl_changed(struct esptun_dev *esp)
{
	atomic_inc(&esptun_net(dev_net(esp->dev))->nl_genid);
}

/* The attributes of the user's limits: [enum esptun_expire][enum esptun_limit] */
static const u8 esptun_nl_limit_attr[ESPTUN_EXPIRE_HARD + 1][ESPTUN_USER_LIMITS] = {
	[ESPTUN_EXPIRE_SOFT] = {
		[ESPTUN_LIMIT_BYTES]	= ESPTUN_A_SA_SOFT_BYTES,
		[ESPTUN_LIMIT_PACKETS]	= ESPTUN_A_SA_SOFT_PACKETS,
		[ESPTUN_LIMIT_SECONDS]	= ESPTUN_A_SA_SOFT_SECONDS,
	},
	[ESPTUN_EXPIRE_HARD] = {
		[ESPTUN_LIMIT_BYTES]	= ESPTUN_A_SA_HARD_BYTES,
		[ESPTUN_LIMIT_PACKETS]	= ESPTUN_A_SA_HARD_PACKETS,
		[ESPTUN_LIMIT_SECONDS]	= ESPTUN_A_SA_HARD_SECONDS,
	},
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
		NL_SET_ERR_ATTR_MISS(extack, NULL, ESPTUN_A_IFINDEX);
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

/* The counters are the "stats" attributes in order, from the first after pad. */
static_assert(ESPTUN_CTR_TX_PACKETS == 0);
static_assert(ESPTUN_A_STATS_TX_PACKETS + __ESPTUN_CTR_MAX - 1 ==
	      ESPTUN_A_STATS_MAX);

/* Counters: the ones in @always, and any other that is not zero. */
static int esptun_nl_put_stats(struct sk_buff *skb, int attrtype,
			       struct esptun_stats __percpu *stats,
			       unsigned long always)
{
	u64 c[__ESPTUN_CTR_MAX];
	struct nlattr *nest;
	int i;

	esptun_stats_sum(stats, c);
	nest = nla_nest_start(skb, attrtype);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < __ESPTUN_CTR_MAX; i++) {
		if (!c[i] && !(always & BIT(i)))
			continue;
		if (nla_put_u64_64bit(skb, ESPTUN_A_STATS_TX_PACKETS + i, c[i],
				      ESPTUN_A_STATS_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

#define ESPTUN_TX_CTRS	(BIT(ESPTUN_CTR_TX_PACKETS) | BIT(ESPTUN_CTR_TX_BYTES))
#define ESPTUN_RX_CTRS	(BIT(ESPTUN_CTR_RX_PACKETS) | BIT(ESPTUN_CTR_RX_BYTES) | \
			 BIT(ESPTUN_CTR_RX_REPLAY) | BIT(ESPTUN_CTR_RX_AUTH_FAIL))

/*
 * Limits and what counts against them; then, for an event, the limit that
 * fired (@expire, @limit), else the worst kind crossed so far (@expire < 0).
 */
static int esptun_nl_put_lifetime(struct sk_buff *skb,
				  const struct esptun_sa *sa, int expire,
				  int limit)
{
	const struct esptun_lifetime *life = &sa->life;
	int e, i, worst = esptun_lifetime_worst(sa);
	u64 idle;

	for (e = ESPTUN_EXPIRE_SOFT; e <= ESPTUN_EXPIRE_HARD; e++)
		for (i = 0; i < ESPTUN_USER_LIMITS; i++)
			if (life->cfg.limit[e][i] &&
			    nla_put_u64_64bit(skb, esptun_nl_limit_attr[e][i],
					      life->cfg.limit[e][i],
					      ESPTUN_A_SA_PAD))
				return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, ESPTUN_A_SA_BYTES, READ_ONCE(life->bytes),
			      ESPTUN_A_SA_PAD) ||
	    nla_put_u64_64bit(skb, ESPTUN_A_SA_PACKETS, READ_ONCE(life->packets),
			      ESPTUN_A_SA_PAD) ||
	    nla_put_u64_64bit(skb, ESPTUN_A_SA_AGE, esptun_lifetime_age(sa),
			      ESPTUN_A_SA_PAD) ||
	    (esptun_lifetime_idle(sa, &idle) &&
	     nla_put_u64_64bit(skb, ESPTUN_A_SA_IDLE, idle, ESPTUN_A_SA_PAD)) ||
	    (expire < 0 && worst >= 0 &&
	     nla_put_u8(skb, ESPTUN_A_SA_EXPIRE, worst)) ||
	    (expire >= 0 && (nla_put_u8(skb, ESPTUN_A_SA_EXPIRE, expire) ||
			     nla_put_u8(skb, ESPTUN_A_SA_LIMIT, limit))))
		return -EMSGSIZE;
	return 0;
}

/* The last sequence number sent, or the highest received. */
static u64 esptun_nl_sa_seq(const struct esptun_sa *sa)
{
	if (sa->dir == ESPTUN_SA_DIR_OUT)
		return esptun_sa_seq(sa);
	return READ_ONCE(sa->replay->top);
}

/*
 * An SA as a nest of type @attrtype; with its tunnel's id if @tunnel_id;
 * @expire and @limit as for esptun_nl_put_lifetime().
 */
static int esptun_nl_put_sa(struct sk_buff *skb, struct esptun_sa *sa,
			    int attrtype, bool tunnel_id, int expire, int limit)
{
	struct nlattr *nest;
	u64 seq;

	seq = esptun_nl_sa_seq(sa);
	nest = nla_nest_start(skb, attrtype);
	if (!nest)
		return -EMSGSIZE;
	if ((tunnel_id &&
	     nla_put_u32(skb, ESPTUN_A_SA_TUNNEL_ID, sa->tunnel->id)) ||
	    nla_put_u8(skb, ESPTUN_A_SA_DIR, sa->dir) ||
	    nla_put_be32(skb, ESPTUN_A_SA_SPI, sa->spi) ||
	    nla_put_u64_64bit(skb, ESPTUN_A_SA_SEQ, seq, ESPTUN_A_SA_PAD) ||
	    (sa->esn && nla_put_flag(skb, ESPTUN_A_SA_ESN)) ||
	    (sa->replay && nla_put_u32(skb, ESPTUN_A_SA_REPLAY_WINDOW,
				       sa->replay->size)) ||
	    esptun_nl_put_stats(skb, ESPTUN_A_SA_STATS, sa->stats,
				sa->dir == ESPTUN_SA_DIR_OUT ? ESPTUN_TX_CTRS :
							       ESPTUN_RX_CTRS) ||
	    esptun_nl_put_lifetime(skb, sa, expire, limit)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int esptun_nl_put_pins(struct sk_buff *skb,
			      const struct esptun_tunnel *tun)
{
	const struct esptun_pin *pin;
	struct nlattr *nest;
	int ret;

	if (list_empty(&tun->pins))
		return 0;
	nest = nla_nest_start(skb, ESPTUN_A_TUNNEL_PINS);
	if (!nest)
		return -EMSGSIZE;
	list_for_each_entry(pin, &tun->pins, tun_node) {
		if (pin->family == AF_INET)
			ret = nla_put_in_addr(skb, ESPTUN_A_PIN_IPV4, pin->addr.v4);
		else
			ret = nla_put_in6_addr(skb, ESPTUN_A_PIN_IPV6, &pin->addr.v6);
		if (ret) {
			nla_nest_cancel(skb, nest);
			return ret;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int esptun_nl_put_encap(struct sk_buff *skb,
			       const struct esptun_tunnel *tun)
{
	if (!tun->encap)
		return 0;
	if (nla_put_u8(skb, ESPTUN_A_TUNNEL_ENCAP, tun->encap) ||
	    nla_put_be16(skb, ESPTUN_A_TUNNEL_ENCAP_SPORT, tun->encap_sport) ||
	    nla_put_be16(skb, ESPTUN_A_TUNNEL_ENCAP_DPORT,
			 READ_ONCE(tun->encap_dport)) ||
	    (tun->nat_keepalive &&
	     nla_put_u16(skb, ESPTUN_A_TUNNEL_NAT_KEEPALIVE, tun->nat_keepalive)))
		return -EMSGSIZE;
	return 0;
}

static int esptun_nl_put_tunnel(struct sk_buff *skb, struct esptun_tunnel *tun)
{
	struct nlattr *nest;
	struct esptun_sa *sa;
	int ret = -EMSGSIZE;

	nest = nla_nest_start(skb, ESPTUN_A_TUNNEL);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, ESPTUN_A_TUNNEL_ID, tun->id) ||
	    nla_put_u8(skb, ESPTUN_A_TUNNEL_STATE,
		       esptun_tunnel_usable(tun) ? ESPTUN_TUNNEL_STATE_UP :
						   ESPTUN_TUNNEL_STATE_DOWN) ||
	    nla_put_u8(skb, ESPTUN_A_TUNNEL_ADMIN_STATE,
		       tun->admin_up ? ESPTUN_TUNNEL_STATE_UP :
				       ESPTUN_TUNNEL_STATE_DOWN) ||
	    nla_put_u8(skb, ESPTUN_A_TUNNEL_WEIGHT, tun->weight) ||
	    nla_put_u32(skb, ESPTUN_A_TUNNEL_SHARE,
			esptun_ecmp_share(tun->esp, tun)) ||
	    (tun->keepalive &&
	     nla_put_u16(skb, ESPTUN_A_TUNNEL_KEEPALIVE, tun->keepalive)) ||
	    (tun->dead_after &&
	     (nla_put_u16(skb, ESPTUN_A_TUNNEL_DEAD_AFTER, tun->dead_after) ||
	      nla_put_u8(skb, ESPTUN_A_TUNNEL_LIVENESS,
			 test_bit(ESPTUN_TUN_DEAD, &tun->flags) ?
			 ESPTUN_TUNNEL_STATE_DOWN : ESPTUN_TUNNEL_STATE_UP))) ||
	    esptun_nl_put_pins(skb, tun) ||
	    esptun_nl_put_encap(skb, tun))
		goto cancel;
	if (tun->family == AF_INET) {
		if (nla_put_in_addr(skb, ESPTUN_A_TUNNEL_LOCAL_IPV4, tun->local.v4) ||
		    nla_put_in_addr(skb, ESPTUN_A_TUNNEL_REMOTE_IPV4,
				    esptun_tunnel_remote(tun)->v4))
			goto cancel;
	} else {
		if (nla_put_in6_addr(skb, ESPTUN_A_TUNNEL_LOCAL_IPV6, &tun->local.v6) ||
		    nla_put_in6_addr(skb, ESPTUN_A_TUNNEL_REMOTE_IPV6,
				     &esptun_tunnel_remote(tun)->v6))
			goto cancel;
	}
	if (esptun_nl_put_stats(skb, ESPTUN_A_TUNNEL_STATS, tun->stats,
				ESPTUN_TX_CTRS | ESPTUN_RX_CTRS))
		goto cancel;
	sa = esptun_dereference(tun->tx_sa, tun->esp);
	if (sa && esptun_nl_put_sa(skb, sa, ESPTUN_A_TUNNEL_SA, false, -1, 0))
		goto cancel;
	list_for_each_entry(sa, &tun->rx_sas, tunnel_node)
		if (esptun_nl_put_sa(skb, sa, ESPTUN_A_TUNNEL_SA, false, -1, 0))
			goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return ret;
}

/**
 * esptun_nl_fill_dev() - one message about a device, from tunnel *@cursor
 * @skb: the message buffer
 * @dev: the device, locked
 * @cb: the dump, or NULL for a reply
 * @portid: netlink port of the requester
 * @seq: sequence number of the request
 * @cursor: index of the first tunnel to put; advanced past those put
 *
 * Return: 0 when the device is complete, -EMSGSIZE when more messages are
 * needed (the message holds at least one tunnel) or nothing fitted.
 */
static int esptun_nl_fill_dev(struct sk_buff *skb, struct net_device *dev,
			      struct netlink_callback *cb, u32 portid, u32 seq,
			      long *cursor)
{
	struct esptun_dev *esp = netdev_priv(dev);
	struct esptun_tunnel *tun;
	long i = 0;
	int put = 0;
	void *hdr;

	lockdep_assert_held(&esp->lock);
	hdr = genlmsg_put(skb, portid, seq, &esptun_genl_family,
			  cb ? NLM_F_MULTI : 0, ESPTUN_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_u32(skb, ESPTUN_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(skb, ESPTUN_A_IFNAME, dev->name) ||
	    (!*cursor &&
	     (nla_put_u32(skb, ESPTUN_A_FEATURES, ESPTUN_NL_FEATURES) ||
	      esptun_nl_put_stats(skb, ESPTUN_A_STATS, esp->stats, 0))))
		goto cancel;
	list_for_each_entry(tun, &esp->tunnels, dev_node) {
		if (i++ < *cursor)
			continue;
		if (esptun_nl_put_tunnel(skb, tun)) {
			if (!put)
				goto cancel;
			genlmsg_end(skb, hdr);
			return -EMSGSIZE;
		}
		put++;
		(*cursor)++;
	}
	genlmsg_end(skb, hdr);
	*cursor = 0;
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* Commands that create, change or delete state in the device's link_net. */
static bool esptun_nl_cmd_writes(u8 cmd)
{
	return cmd != ESPTUN_CMD_DEV_GET && cmd != ESPTUN_CMD_SA_GET;
}

/*
 * A device moved to another netns keeps its link_net: its tunnels bind
 * UDP ports, claim SPIs and send ESP there.  GENL_UNS_ADMIN_PERM only
 * proves CAP_NET_ADMIN over the netns the request came from, whose
 * owner may be an unprivileged user namespace; so, as WireGuard does for
 * its creating netns, whatever writes needs CAP_NET_ADMIN over link_net
 * too.  link_net never changes, so checking under the device's lock is
 * checking for good.
 */
static bool esptun_nl_may_write_link_net(struct sk_buff *skb,
					 struct esptun_dev *esp,
					 struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&esp->lock);
	if (net_eq(esp->link_net, sock_net(skb->sk)) ||
	    netlink_ns_capable(skb, esp->link_net->user_ns, CAP_NET_ADMIN))
		return true;
	NL_SET_ERR_MSG(extack,
		       "the device sends from another network namespace: changing it needs CAP_NET_ADMIN there");
	return false;
}

/*
 * The key is in the request buffer, in each SA nest the request repeated
 * (the last one counted): leave none there, nor in the copy of the request
 * an error's ACK carries back.
 */
static void esptun_nl_wipe(struct genl_info *info)
{
	memzero_explicit(genlmsg_data(info->genlhdr),
			 genlmsg_len(info->genlhdr));
}

/* @err for a request refused before its handler, SA_NEW's keys wiped. */
static int esptun_nl_refuse(const struct genl_ops *ops, struct genl_info *info,
			    int err)
{
	if (ops->cmd == ESPTUN_CMD_SA_NEW)
		esptun_nl_wipe(info);
	return err;
}

/**
 * esptun_nl_pre_doit() - find, hold and lock the device a command names
 * @ops: the command
 * @skb: the request
 * @info: the request, parsed; info->user_ptr[0] gets the device
 *
 * Every command operates on one device.  A device unregistered while we
 * waited for its lock is gone (esptun_dev.dead).
 *
 * Return: 0 with the device locked, or a negative errno having said why.
 */
static int esptun_nl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			      struct genl_info *info)
{
	struct net_device *dev;
	struct esptun_dev *esp;

	dev = esptun_nl_get_dev(genl_info_net(info), info->attrs, info->extack);
	if (IS_ERR(dev))
		return esptun_nl_refuse(ops, info, PTR_ERR(dev));
	esp = netdev_priv(dev);
	mutex_lock(&esp->lock);
	if (esp->dead) {
		mutex_unlock(&esp->lock);
		dev_put(dev);
		NL_SET_ERR_MSG(info->extack, "no such device");
		return esptun_nl_refuse(ops, info, -ENODEV);
	}
	if (esptun_nl_cmd_writes(ops->cmd) &&
	    !esptun_nl_may_write_link_net(skb, esp, info->extack)) {
		mutex_unlock(&esp->lock);
		dev_put(dev);
		return esptun_nl_refuse(ops, info, -EPERM);
	}
	info->user_ptr[0] = esp;
	return 0;
}

static void esptun_nl_post_doit(const struct genl_ops *ops,
				struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];

	mutex_unlock(&esp->lock);
	dev_put(esp->dev);
}

int esptun_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct sk_buff *msg;
	long cursor = 0;
	int ret;

	msg = genlmsg_new(GENLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = esptun_nl_fill_dev(msg, esp->dev, NULL, info->snd_portid,
				 info->snd_seq, &cursor);
	if (ret) {
		NL_SET_ERR_MSG(info->extack,
			       "the device does not fit one message: dump it");
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * The esptun device of @net with the smallest ifindex from @ifindex on,
 * held, or NULL.  Devices come and go between messages: the dump resumes
 * by ifindex, not by position.
 */
static struct net_device *esptun_nl_next_dev(struct net *net, int ifindex)
{
	struct net_device *dev, *next = NULL;

	rcu_read_lock();
	for_each_netdev_rcu(net, dev)
		if (esptun_is_dev(dev) && dev->ifindex >= ifindex &&
		    (!next || dev->ifindex < next->ifindex))
			next = dev;
	if (next)
		dev_hold(next);
	rcu_read_unlock();
	return next;
}

/*
 * cb->args[0]: the ifindex to resume from; cb->args[1]: tunnels of that
 * device already dumped.  Each device is filled under its lock.
 */
int esptun_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct net *net = sock_net(skb->sk);
	u32 portid = NETLINK_CB(cb->skb).portid;
	u32 seq = cb->nlh->nlmsg_seq;
	struct net_device *dev, *only = NULL;
	struct esptun_dev *esp;
	int ret = 0;

	if (info->attrs[ESPTUN_A_IFINDEX] || info->attrs[ESPTUN_A_IFNAME]) {
		only = esptun_nl_get_dev(net, info->attrs, cb->extack);
		if (IS_ERR(only))
			return PTR_ERR(only);
	}

	cb->seq = READ_ONCE(net->dev_base_seq) +
		  atomic_read(&esptun_net(net)->nl_genid);
	for (;;) {
		if (only) {
			dev = cb->args[0] > only->ifindex ? NULL : only;
			if (dev)
				dev_hold(dev);
		} else {
			dev = esptun_nl_next_dev(net, cb->args[0]);
		}
		if (!dev)
			break;
		if (dev->ifindex != cb->args[0])
			cb->args[1] = 0;
		cb->args[0] = dev->ifindex;
		esp = netdev_priv(dev);
		mutex_lock(&esp->lock);
		if (!esp->dead)
			ret = esptun_nl_fill_dev(skb, dev, cb, portid, seq,
						 &cb->args[1]);
		mutex_unlock(&esp->lock);
		dev_put(dev);
		if (ret)
			break;
		cb->args[0]++;
		cb->args[1] = 0;
	}
	if (only)
		dev_put(only);
	/* Nothing fitted an empty buffer: say so rather than loop. */
	if (ret && !skb->len)
		return ret;
	return skb->len;
}

/*
 * Is one of the required attributes @types (0-terminated) missing from
 * @tb, the request's nest @nest (NULL: the top level)?  The first one is
 * then named in the extended ACK (NLMSGERR_ATTR_MISS_TYPE, _MISS_NEST);
 * the caller adds the text.
 */
static bool esptun_nl_missing(struct genl_info *info, struct nlattr *nest,
			      struct nlattr **tb, const u16 *types)
{
	for (; *types; types++) {
		if (!tb[*types]) {
			NL_SET_ERR_ATTR_MISS(info->extack, nest, *types);
			return true;
		}
	}
	return false;
}

/*
 * Parse the nested @attrtype of a request (required) with the command's
 * generated @policy: the core validated it with the same one.
 */
static int esptun_nl_nested(struct genl_info *info, int attrtype,
			    int maxtype, const struct nla_policy *policy,
			    struct nlattr **tb)
{
	struct nlattr *nest = info->attrs[attrtype];

	if (!nest) {
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, attrtype);
		if (attrtype == ESPTUN_A_TUNNEL)
			NL_SET_ERR_MSG(info->extack, "a tunnel attribute is required");
		else
			NL_SET_ERR_MSG(info->extack, "an SA attribute is required");
		return -EINVAL;
	}
	return nla_parse_nested(tb, maxtype, nest, policy, info->extack);
}

/* The address in @a, of @family, into @addr: false unless unicast. */
static bool esptun_nl_unicast(const struct nlattr *a, sa_family_t family,
			      union esptun_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (family == AF_INET) {
		addr->v4 = nla_get_in_addr(a);
		return !ipv4_is_zeronet(addr->v4) &&
		       !ipv4_is_multicast(addr->v4) &&
		       !ipv4_is_lbcast(addr->v4);
	}
	addr->v6 = nla_get_in6_addr(a);
	return !ipv6_addr_any(&addr->v6) && !ipv6_addr_is_multicast(&addr->v6);
}

/* Exactly one of tb[v4], tb[v6], unicast; -ENOENT when neither or both. */
static int esptun_nl_addr(struct genl_info *info, struct nlattr **tb,
			  int v4, int v6, sa_family_t *family,
			  union esptun_addr *addr)
{
	struct nlattr *a4 = tb[v4], *a6 = tb[v6];

	if (!!a4 == !!a6)
		return -ENOENT;
	*family = a4 ? AF_INET : AF_INET6;
	if (!esptun_nl_unicast(a4 ?: a6, *family, addr)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a4 ?: a6,
				    "outer addresses must be unicast");
		return -EINVAL;
	}
	return 0;
}

/* The request's tunnel nest, which must name a tunnel id. */
static int esptun_nl_tunnel_attrs(struct genl_info *info, int maxtype,
				  const struct nla_policy *policy,
				  struct nlattr **tb)
{
	int ret;

	ret = esptun_nl_nested(info, ESPTUN_A_TUNNEL, maxtype, policy, tb);
	if (ret)
		return ret;
	if (esptun_nl_missing(info, info->attrs[ESPTUN_A_TUNNEL], tb,
			      (const u16[]){ ESPTUN_A_TUNNEL_ID, 0 })) {
		NL_SET_ERR_MSG(info->extack, "a tunnel id is required");
		return -EINVAL;
	}
	return 0;
}

/* The tunnel @id names, @esp locked, or NULL having said so. */
static struct esptun_tunnel *esptun_nl_tunnel(struct esptun_dev *esp,
					      struct nlattr *id,
					      struct netlink_ext_ack *extack)
{
	struct esptun_tunnel *tun = esptun_tunnel_find(esp, nla_get_u32(id));

	if (!tun)
		NL_SET_ERR_MSG_ATTR(extack, id, "no tunnel with this id");
	return tun;
}

/* PINS: every address once, unicast, at most ESPTUN_MAX_PINS. */
static int esptun_nl_pins(struct genl_info *info, struct nlattr *pins,
			  struct esptun_pin_list *pl)
{
	struct nlattr *a;
	unsigned int i;
	int rem;

	pl->n = 0;
	nla_for_each_nested(a, pins, rem) {
		sa_family_t family = nla_type(a) == ESPTUN_A_PIN_IPV4 ? AF_INET :
									AF_INET6;
		union esptun_addr addr;

		if (!esptun_nl_unicast(a, family, &addr)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "pinned addresses must be unicast");
			return -EINVAL;
		}
		for (i = 0; i < pl->n; i++) {
			if (pl->family[i] == family &&
			    esptun_addr_eq(family, &pl->addr[i], &addr)) {
				NL_SET_ERR_MSG_ATTR(info->extack, a,
						    "an address is pinned twice");
				return -EINVAL;
			}
		}
		if (pl->n == ESPTUN_MAX_PINS) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "a tunnel has at most 16 pinned addresses");
			return -E2BIG;
		}
		pl->family[pl->n] = family;
		pl->addr[pl->n++] = addr;
	}
	return 0;
}

/* A UDP port, if given: not 0.  *@port stays 0 (the default) if not. */
static int esptun_nl_port(struct genl_info *info, struct nlattr *a,
			  __be16 *port)
{
	*port = 0;
	if (!a)
		return 0;
	*port = nla_get_be16(a);
	if (!*port) {
		NL_SET_ERR_MSG_ATTR(info->extack, a, "UDP port 0 is not valid");
		return -EINVAL;
	}
	return 0;
}

/* UDP encapsulation of a new tunnel: ports and NAT keepalives need it. */
static int esptun_nl_encap_new(struct genl_info *info, struct nlattr **tb,
			       const struct esptun_tunnel_config *cfg)
{
	if (cfg->encap == ESPTUN_ENCAP_UDP)
		return 0;
	if (tb[ESPTUN_A_TUNNEL_ENCAP_SPORT] || tb[ESPTUN_A_TUNNEL_ENCAP_DPORT]) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[ESPTUN_A_TUNNEL_ENCAP_SPORT] ?:
				    tb[ESPTUN_A_TUNNEL_ENCAP_DPORT],
				    "encap ports need encap udp");
		return -EINVAL;
	}
	if (cfg->encap_fd >= 0) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[ESPTUN_A_TUNNEL_ENCAP_SOCKET],
				    "encap-socket needs encap udp");
		return -EINVAL;
	}
	if (cfg->nat_keepalive >= 0) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE],
				    "nat-keepalive needs encap udp");
		return -EINVAL;
	}
	return 0;
}

/* The settings a tunnel request carries; absent ones are -1 or NULL. */
static int esptun_nl_tunnel_config(struct genl_info *info, struct nlattr **tb,
				   struct esptun_tunnel_config *cfg,
				   struct esptun_pin_list *pl)
{
	int ret;

	cfg->weight = tb[ESPTUN_A_TUNNEL_WEIGHT] ?
		      nla_get_u8(tb[ESPTUN_A_TUNNEL_WEIGHT]) : -1;
	cfg->admin_up = tb[ESPTUN_A_TUNNEL_ADMIN_STATE] ?
			nla_get_u8(tb[ESPTUN_A_TUNNEL_ADMIN_STATE]) : -1;
	cfg->keepalive = tb[ESPTUN_A_TUNNEL_KEEPALIVE] ?
			 nla_get_u16(tb[ESPTUN_A_TUNNEL_KEEPALIVE]) : -1;
	cfg->dead_after = tb[ESPTUN_A_TUNNEL_DEAD_AFTER] ?
			  nla_get_u16(tb[ESPTUN_A_TUNNEL_DEAD_AFTER]) : -1;
	cfg->nat_keepalive = tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE] ?
			     nla_get_u16(tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE]) : -1;
	cfg->encap = tb[ESPTUN_A_TUNNEL_ENCAP] ?
		     nla_get_u8(tb[ESPTUN_A_TUNNEL_ENCAP]) : -1;
	cfg->encap_fd = -1;
	if (tb[ESPTUN_A_TUNNEL_ENCAP_SOCKET]) {
		u32 fd = nla_get_u32(tb[ESPTUN_A_TUNNEL_ENCAP_SOCKET]);

		/* NLA_POLICY_MAX takes an s16 in 6.1; the generator makes no
		 * range structures for NLA_POLICY_FULL_RANGE.
		 */
		if (fd > INT_MAX) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    tb[ESPTUN_A_TUNNEL_ENCAP_SOCKET],
					    "encap-socket is not a socket descriptor");
			return -EBADF;
		}
		cfg->encap_fd = fd;
	}
	ret = esptun_nl_port(info, tb[ESPTUN_A_TUNNEL_ENCAP_SPORT],
			     &cfg->encap_sport);
	if (!ret)
		ret = esptun_nl_port(info, tb[ESPTUN_A_TUNNEL_ENCAP_DPORT],
				     &cfg->encap_dport);
	if (ret)
		return ret;
	cfg->pins = NULL;
	cfg->remote = NULL;
	if (tb[ESPTUN_A_TUNNEL_PINS]) {
		ret = esptun_nl_pins(info, tb[ESPTUN_A_TUNNEL_PINS], pl);
		if (ret)
			return ret;
		cfg->pins = pl;
	}
	return 0;
}

int esptun_nl_tunnel_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[ESPTUN_A_TUNNEL_MAX + 1];
	struct esptun_tunnel_config cfg;
	union esptun_addr local, remote;
	struct esptun_dev *esp = info->user_ptr[0];
	struct esptun_pin_list pins;
	sa_family_t lfam, rfam;
	int ret;

	ret = esptun_nl_tunnel_attrs(info,
				     ARRAY_SIZE(esptun_tunnel_new_input_nl_policy) - 1,
				     esptun_tunnel_new_input_nl_policy, tb);
	if (ret)
		return ret;
	ret = esptun_nl_tunnel_config(info, tb, &cfg, &pins);
	if (!ret)
		ret = esptun_nl_encap_new(info, tb, &cfg);
	if (ret)
		return ret;
	ret = esptun_nl_addr(info, tb, ESPTUN_A_TUNNEL_LOCAL_IPV4,
			     ESPTUN_A_TUNNEL_LOCAL_IPV6, &lfam, &local);
	if (ret == -ENOENT) {
		if (!tb[ESPTUN_A_TUNNEL_LOCAL_IPV6])
			NL_SET_ERR_ATTR_MISS(info->extack, info->attrs[ESPTUN_A_TUNNEL],
					     ESPTUN_A_TUNNEL_LOCAL_IPV4);
		NL_SET_ERR_MSG(info->extack,
			       "one local address (IPv4 or IPv6) is required");
	}
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	ret = esptun_nl_addr(info, tb, ESPTUN_A_TUNNEL_REMOTE_IPV4,
			     ESPTUN_A_TUNNEL_REMOTE_IPV6, &rfam, &remote);
	if (ret == -ENOENT) {
		if (!tb[ESPTUN_A_TUNNEL_REMOTE_IPV6])
			NL_SET_ERR_ATTR_MISS(info->extack, info->attrs[ESPTUN_A_TUNNEL],
					     ESPTUN_A_TUNNEL_REMOTE_IPV4);
		NL_SET_ERR_MSG(info->extack,
			       "one remote address (IPv4 or IPv6) is required");
	}
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	if (lfam != rfam) {
		NL_SET_ERR_MSG(info->extack,
			       "local and remote addresses must be of one family");
		return -EINVAL;
	}

	ret = esptun_tunnel_add(esp, nla_get_u32(tb[ESPTUN_A_TUNNEL_ID]), lfam,
				&local, &remote, &cfg, info->extack);
	if (!ret)
		esptun_nl_changed(esp);
	return ret;
}

int esptun_nl_tunnel_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct nlattr *tb[ESPTUN_A_TUNNEL_MAX + 1];
	struct esptun_tunnel *tun;
	int ret;

	ret = esptun_nl_tunnel_attrs(info,
				     ARRAY_SIZE(esptun_tunnel_del_input_nl_policy) - 1,
				     esptun_tunnel_del_input_nl_policy, tb);
	if (ret)
		return ret;
	tun = esptun_nl_tunnel(esp, tb[ESPTUN_A_TUNNEL_ID], info->extack);
	if (!tun)
		return -ENOENT;
	esptun_tunnel_del(tun);
	esptun_nl_changed(esp);
	return 0;
}

int esptun_nl_tunnel_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct nlattr *tb[ESPTUN_A_TUNNEL_MAX + 1];
	struct esptun_tunnel_config cfg;
	struct esptun_pin_list pins;
	struct esptun_tunnel *tun;
	union esptun_addr remote;
	sa_family_t rfam;
	int ret;

	ret = esptun_nl_tunnel_attrs(info,
				     ARRAY_SIZE(esptun_tunnel_set_input_nl_policy) - 1,
				     esptun_tunnel_set_input_nl_policy, tb);
	if (ret)
		return ret;
	ret = esptun_nl_tunnel_config(info, tb, &cfg, &pins);
	if (ret)
		return ret;
	if (tb[ESPTUN_A_TUNNEL_REMOTE_IPV4] || tb[ESPTUN_A_TUNNEL_REMOTE_IPV6]) {
		ret = esptun_nl_addr(info, tb, ESPTUN_A_TUNNEL_REMOTE_IPV4,
				     ESPTUN_A_TUNNEL_REMOTE_IPV6, &rfam, &remote);
		if (ret == -ENOENT) {
			NL_SET_ERR_MSG(info->extack,
				       "one remote address (IPv4 or IPv6), not two");
			return -EINVAL;
		}
		if (ret)
			return ret;
		cfg.remote = &remote;
		/* Neither could be undone if the other then failed. */
		if (cfg.encap_fd >= 0) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    tb[ESPTUN_A_TUNNEL_ENCAP_SOCKET],
					    "encap-socket and a new remote address need two requests");
			return -EINVAL;
		}
	}
	tun = esptun_nl_tunnel(esp, tb[ESPTUN_A_TUNNEL_ID], info->extack);
	if (!tun)
		return -ENOENT;
	if (cfg.remote && rfam != tun->family) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[ESPTUN_A_TUNNEL_REMOTE_IPV4] ?:
				    tb[ESPTUN_A_TUNNEL_REMOTE_IPV6],
				    "the remote address must be of the tunnel's family");
		return -EINVAL;
	}
	ret = esptun_tunnel_set(tun, &cfg, info->extack);
	if (!ret)
		esptun_nl_changed(esp);
	return ret;
}

static void esptun_nl_lifetime_config(struct nlattr **tb,
				      struct esptun_lifetime_config *life)
{
	int e, i;

	for (e = ESPTUN_EXPIRE_SOFT; e <= ESPTUN_EXPIRE_HARD; e++)
		for (i = 0; i < ESPTUN_USER_LIMITS; i++)
			if (tb[esptun_nl_limit_attr[e][i]])
				life->limit[e][i] =
					nla_get_u64(tb[esptun_nl_limit_attr[e][i]]);
}

int esptun_nl_sa_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct nlattr *tb[ESPTUN_A_SA_MAX + 1];
	struct esptun_sa_config cfg = { };
	struct esptun_tunnel *tun;
	int ret;

	ret = esptun_nl_nested(info, ESPTUN_A_SA,
			       ARRAY_SIZE(esptun_sa_new_input_nl_policy) - 1,
			       esptun_sa_new_input_nl_policy, tb);
	if (ret)
		goto wipe;
	if (esptun_nl_missing(info, info->attrs[ESPTUN_A_SA], tb,
			      (const u16[]){ ESPTUN_A_SA_TUNNEL_ID, ESPTUN_A_SA_DIR,
					     ESPTUN_A_SA_SPI, ESPTUN_A_SA_KEY, 0 })) {
		NL_SET_ERR_MSG(info->extack,
			       "tunnel id, direction, SPI and key are required");
		ret = -EINVAL;
		goto wipe;
	}
	cfg.dir = nla_get_u8(tb[ESPTUN_A_SA_DIR]);
	cfg.spi = nla_get_be32(tb[ESPTUN_A_SA_SPI]);
	cfg.key = nla_data(tb[ESPTUN_A_SA_KEY]);
	cfg.key_len = nla_len(tb[ESPTUN_A_SA_KEY]);
	cfg.esn = nla_get_flag(tb[ESPTUN_A_SA_ESN]);
	cfg.replay_window = tb[ESPTUN_A_SA_REPLAY_WINDOW] ?
		nla_get_u32(tb[ESPTUN_A_SA_REPLAY_WINDOW]) : ESPTUN_REPLAY_DEFAULT;
	cfg.seq = tb[ESPTUN_A_SA_SEQ] ? nla_get_u64(tb[ESPTUN_A_SA_SEQ]) : 0;
	esptun_nl_lifetime_config(tb, &cfg.life);

	tun = esptun_nl_tunnel(esp, tb[ESPTUN_A_SA_TUNNEL_ID], info->extack);
	ret = tun ? esptun_sa_add(tun, &cfg, info->extack) : -ENOENT;
	if (!ret)
		esptun_nl_changed(esp);
wipe:
	esptun_nl_wipe(info);
	return ret;
}

/* The SA a request names by direction and SPI, or an ERR_PTR. */
static struct esptun_sa *esptun_nl_find_sa(struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct nlattr *tb[ESPTUN_A_SA_MAX + 1];
	struct esptun_sa *sa;
	int ret;

	ret = esptun_nl_nested(info, ESPTUN_A_SA,
			       ARRAY_SIZE(esptun_sa_id_input_nl_policy) - 1,
			       esptun_sa_id_input_nl_policy, tb);
	if (ret)
		return ERR_PTR(ret);
	if (esptun_nl_missing(info, info->attrs[ESPTUN_A_SA], tb,
			      (const u16[]){ ESPTUN_A_SA_DIR, ESPTUN_A_SA_SPI, 0 })) {
		NL_SET_ERR_MSG(info->extack, "direction and SPI are required");
		return ERR_PTR(-EINVAL);
	}
	sa = esptun_sa_find_dev(esp, nla_get_u8(tb[ESPTUN_A_SA_DIR]),
				nla_get_be32(tb[ESPTUN_A_SA_SPI]));
	if (!sa) {
		NL_SET_ERR_MSG(info->extack, "no SA with this direction and SPI");
		return ERR_PTR(-ENOENT);
	}
	return sa;
}

int esptun_nl_sa_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct esptun_sa *sa;

	sa = esptun_nl_find_sa(info);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	esptun_sa_del(sa);
	esptun_nl_changed(esp);
	return 0;
}

/* { IFINDEX, IFNAME, SA { TUNNEL_ID, ... } }: a reply (@expire < 0) or an
 * expire event.
 */
static int esptun_nl_fill_sa(struct sk_buff *msg, struct esptun_sa *sa,
			     int expire, int limit)
{
	struct net_device *dev = sa->tunnel->esp->dev;

	if (nla_put_u32(msg, ESPTUN_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(msg, ESPTUN_A_IFNAME, dev->name) ||
	    esptun_nl_put_sa(msg, sa, ESPTUN_A_SA, true, expire, limit))
		return -EMSGSIZE;
	return 0;
}

int esptun_nl_sa_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_sa *sa;
	struct sk_buff *msg;
	void *hdr;

	sa = esptun_nl_find_sa(info);
	if (IS_ERR(sa))
		return PTR_ERR(sa);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &esptun_genl_family, 0,
				ESPTUN_CMD_SA_GET);
	if (!hdr || esptun_nl_fill_sa(msg, sa, -1, 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

int esptun_nl_spi_alloc_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct esptun_dev *esp = info->user_ptr[0];
	struct nlattr *tb[ESPTUN_A_SA_MAX + 1] = { };
	u32 min = ESPTUN_SPI_MIN_DEFAULT, max = U32_MAX;
	struct sk_buff *msg;
	struct nlattr *nest;
	__be32 spi;
	void *hdr;
	int ret;

	if (info->attrs[ESPTUN_A_SA]) {
		ret = esptun_nl_nested(info, ESPTUN_A_SA,
				       ARRAY_SIZE(esptun_sa_spi_alloc_input_nl_policy) - 1,
				       esptun_sa_spi_alloc_input_nl_policy, tb);
		if (ret)
			return ret;
	}
	if (tb[ESPTUN_A_SA_SPI_MIN])
		min = ntohl(nla_get_be32(tb[ESPTUN_A_SA_SPI_MIN]));
	if (tb[ESPTUN_A_SA_SPI_MAX])
		max = ntohl(nla_get_be32(tb[ESPTUN_A_SA_SPI_MAX]));
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = esptun_sa_alloc_spi(esp, min, max, &spi, info->extack);
	if (ret)
		goto err;
	/* Unanswered, the reservation lapses like any other. */
	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(msg, info, &esptun_genl_family, 0,
				ESPTUN_CMD_SPI_ALLOC);
	if (!hdr || nla_put_u32(msg, ESPTUN_A_IFINDEX, esp->dev->ifindex) ||
	    nla_put_string(msg, ESPTUN_A_IFNAME, esp->dev->name))
		goto err;
	nest = nla_nest_start(msg, ESPTUN_A_SA);
	if (!nest || nla_put_u8(msg, ESPTUN_A_SA_DIR, ESPTUN_SA_DIR_IN) ||
	    nla_put_be32(msg, ESPTUN_A_SA_SPI, spi))
		goto err;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/*
 * An event about @dev, command @cmd, for its namespace, the device locked;
 * NULL when nobody listens there or the device is being unregistered (that
 * has its own announcement).
 */
static struct sk_buff *esptun_nl_event_new(struct net_device *dev, u8 cmd,
					   void **hdr)
{
	struct esptun_dev *esp = netdev_priv(dev);
	struct sk_buff *msg;

	lockdep_assert_held(&esp->lock);
	if (esp->dead ||
	    !genl_has_listeners(&esptun_genl_family, dev_net(dev),
				ESPTUN_NLGRP_EVENTS))
		return NULL;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &esptun_genl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void esptun_nl_event_send(struct net_device *dev, struct sk_buff *msg,
				 void *hdr)
{
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&esptun_genl_family, dev_net(dev), msg, 0,
				ESPTUN_NLGRP_EVENTS, GFP_KERNEL);
}

/**
 * esptun_nl_tunnel_event() - multicast a tunnel's new state
 * @tun: the tunnel, its device locked
 * @cause: enum esptun_state_cause
 *
 * To the namespace the device is in, where its administrator is.  Nothing
 * while the device is being unregistered: that has its own announcement.
 */
void esptun_nl_tunnel_event(struct esptun_tunnel *tun, u8 cause)
{
	struct net_device *dev = tun->esp->dev;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	msg = esptun_nl_event_new(dev, ESPTUN_CMD_TUNNEL_STATE_NTF, &hdr);
	if (!msg)
		return;
	if (nla_put_u32(msg, ESPTUN_A_IFINDEX, dev->ifindex) ||
	    nla_put_string(msg, ESPTUN_A_IFNAME, dev->name))
		goto err;
	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL);
	if (!nest ||
	    nla_put_u32(msg, ESPTUN_A_TUNNEL_ID, tun->id) ||
	    nla_put_u8(msg, ESPTUN_A_TUNNEL_STATE,
		       tun->up ? ESPTUN_TUNNEL_STATE_UP : ESPTUN_TUNNEL_STATE_DOWN) ||
	    nla_put_u8(msg, ESPTUN_A_TUNNEL_CAUSE, cause))
		goto err;
	nla_nest_end(msg, nest);
	esptun_nl_event_send(dev, msg, hdr);
	return;
err:
	nlmsg_free(msg);
}

/**
 * esptun_nl_sa_expire_event() - multicast that an SA crossed a limit
 * @sa: the SA, its device locked
 * @expire: enum esptun_expire
 * @limit: enum esptun_limit
 *
 * To the namespace the device is in, as tunnel events.
 */
void esptun_nl_sa_expire_event(struct esptun_sa *sa, int expire, int limit)
{
	struct net_device *dev = sa->tunnel->esp->dev;
	struct sk_buff *msg;
	void *hdr;

	msg = esptun_nl_event_new(dev, ESPTUN_CMD_SA_EXPIRE_NTF, &hdr);
	if (!msg)
		return;
	if (esptun_nl_fill_sa(msg, sa, expire, limit)) {
		nlmsg_free(msg);
		return;
	}
	esptun_nl_event_send(dev, msg, hdr);
}

static struct genl_family esptun_genl_family __ro_after_init = {
	.name		= ESPTUN_FAMILY_NAME,
	.version	= ESPTUN_FAMILY_VERSION,
	.maxattr	= ESPTUN_A_MAX,
	.netnsok	= true,
	.parallel_ops	= true,
	.pre_doit	= esptun_nl_pre_doit,
	.post_doit	= esptun_nl_post_doit,
	.ops		= esptun_nl_ops,
	.n_ops		= ARRAY_SIZE(esptun_nl_ops),
	.mcgrps		= esptun_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(esptun_nl_mcgrps),
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
