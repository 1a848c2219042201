// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: an inner IPv4/IPv6 packet routed to the device leaves as ESP in
 * tunnel mode towards a tunnel's remote address.
 *
 *   esptun_xmit()         a packet, or a GSO packet (esptun_tx_gso():
 *                         classified once, then segmented, never dropped)
 *   esptun_tx_classify()  tunnel by pinned destination (pin.c) or flow hash
 *                         (ecmp.c), route and path MTU
 *   esptun_tx_packet()    too big: ICMP back with DF, fragmentation before
 *                         encryption without
 *   esptun_tx_prepare()   the SA and its next sequence number, a place in
 *                         the tunnel's in-order queue (order.c); a busy
 *                         tunnel stops the device's queue (backpressure)
 *   esptun_parallel_queue()  on to a CPU's crypto worker (parallel.c), a
 *                         GSO packet's segments as one list; also for
 *                         keepalives (liveness.c)
 *   esptun_tx_crypt()     on that CPU:
 *   esptun_esp_encrypt()  (esp.c) ESP header, trailer, AES-GCM
 *   esptun_tx_finish()    in sequence number order, on the tunnel's CPU:
 *                         UDP header with encap udp (encap.c), outer IP
 *                         header (DSCP/ECN copied, DF as the inner packet's,
 *                         TTL 64), out through the transport netns
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/dst_cache.h>
#include <net/icmp.h>
#include <net/inet_ecn.h>
#include <net/ip6_route.h>
#include <net/ip_tunnels.h>
#include <net/route.h>
#include <net/sch_generic.h>

#include "device.h"
#include "ecmp.h"
#include "encap.h"
#include "esp.h"
#include "parallel.h"
#include "pin.h"
#include "sa.h"
#include "tunnel.h"
#include "tx.h"

#define ESPTUN_TTL	64
/* A dummy packet's trailer: padding, pad length, next header and ICV. */
#define ESPTUN_TX_TAILROOM	(4 + ESPTUN_ICV_LEN)

static struct dst_entry *esptun_tx_route4(struct esptun_tunnel *tun,
					  struct esptun_path *path)
{
	struct flowi4 fl4 = {
		.daddr = path->addrs.remote.v4,
		.saddr = tun->local.v4,
		.flowi4_proto = IPPROTO_ESP,
	};
	struct rtable *rt;
	__be32 saddr;

	rt = dst_cache_get_ip4(&path->dst_cache, &saddr);
	if (rt)
		return &rt->dst;
	rt = ip_route_output_key(tun->esp->link_net, &fl4);
	if (IS_ERR(rt))
		return ERR_CAST(rt);
	if (rt->dst.dev != tun->esp->dev)
		dst_cache_set_ip4(&path->dst_cache, &rt->dst, fl4.saddr);
	return &rt->dst;
}

static struct dst_entry *esptun_tx_route6(struct esptun_tunnel *tun,
					  struct esptun_path *path)
{
	struct flowi6 fl6 = {
		.daddr = path->addrs.remote.v6,
		.saddr = tun->local.v6,
		.flowi6_proto = IPPROTO_ESP,
	};
	struct dst_entry *dst;
	struct in6_addr saddr;

	dst = dst_cache_get_ip6(&path->dst_cache, &saddr);
	if (dst)
		return dst;
	dst = ip6_dst_lookup_flow(tun->esp->link_net, NULL, &fl6, NULL);
	if (!IS_ERR(dst) && dst->dev != tun->esp->dev)
		dst_cache_set_ip6(&path->dst_cache, dst, &fl6.saddr);
	return dst;
}

/* The route to the tunnel's remote end in the transport netns, referenced;
 * never through the device itself.  Under RCU (BH).
 */
static struct dst_entry *esptun_tx_route(struct esptun_tunnel *tun)
{
	struct esptun_path *path = rcu_dereference_bh(tun->path);
	struct dst_entry *dst;

	dst = tun->family == AF_INET ? esptun_tx_route4(tun, path) :
				       esptun_tx_route6(tun, path);
	if (!IS_ERR(dst) && dst->dev == tun->esp->dev) {
		dst_release(dst);
		return ERR_PTR(-ELOOP);
	}
	return dst;
}

/**
 * esptun_tx_mtu() - the largest inner packet that fits the outer path
 * @tun: the tunnel
 * @dst: the route to its remote end
 *
 * Return: the outer path MTU minus the outer header, UDP header if any,
 * ESP header, IV and ICV, rounded down to a multiple of 4, minus the 2
 * trailer bytes: the payload then needs no padding.
 */
static int esptun_tx_mtu(const struct esptun_tunnel *tun,
			 const struct dst_entry *dst)
{
	int hlen = (tun->family == AF_INET ? sizeof(struct iphdr) :
					     sizeof(struct ipv6hdr)) +
		   esptun_encap_len(tun);

	return ((int)(dst_mtu(dst) - hlen - ESPTUN_ESP_HLEN - ESPTUN_ICV_LEN) &
		~3) - 2;
}

/*
 * Backpressure.  A tunnel whose packets wait in crypto faster than the
 * CPUs encrypt them stops the device's queue once ESPTUN_TX_STOP of them
 * are between esptun_tx_prepare() and esptun_tx_finish(), and the last of
 * them wakes it at ESPTUN_TX_WAKE, as a NIC's driver does with its
 * descriptor ring: the qdisc holds (or drops, where tc counts it) what
 * comes meanwhile, and TCP backs off, instead of the tunnel's ring
 * refusing packets.  Low enough to bound the latency a flow sees inside
 * esptun, high enough to keep every CPU's crypto worker fed.
 */
#define ESPTUN_TX_STOP	(ESPTUN_ORDER_MAX / 4)
#define ESPTUN_TX_WAKE	(ESPTUN_ORDER_MAX / 8)

/* @tun's packet just took its ticket.  Under RCU (BH). */
static void esptun_tx_maybe_stop(struct esptun_tunnel *tun)
{
	struct net_device *dev = tun->esp->dev;

	if (likely(esptun_order_pending(&tun->tx_order) < ESPTUN_TX_STOP))
		return;
	/* Without a qdisc (noqueue) the core drops, with a complaint, what
	 * a stopped device is given: better the tunnel's ring's count.
	 */
	if (!rcu_dereference_bh(netdev_get_tx_queue(dev, 0)->qdisc)->enqueue)
		return;
	netif_stop_queue(dev);
	/* Pairs with the barrier in esptun_tx_wake(): either it sees the
	 * queue stopped, or this sees the packets it handed on, and wakes
	 * the queue for it.
	 */
	smp_mb__after_atomic();
	if (esptun_order_pending(&tun->tx_order) <= ESPTUN_TX_WAKE)
		netif_wake_queue(dev);
}

/* One of @tun's packets is out of crypto and handed on.  BH disabled. */
static void esptun_tx_wake(struct esptun_tunnel *tun)
{
	struct net_device *dev = tun->esp->dev;

	/* The head moved before this look at the queue's state: pairs with
	 * the barrier in esptun_tx_maybe_stop().
	 */
	smp_mb();
	if (unlikely(netif_queue_stopped(dev)) &&
	    esptun_order_pending(&tun->tx_order) <= ESPTUN_TX_WAKE)
		netif_wake_queue(dev);
}

static void esptun_tx_drop(struct esptun_dev *esp, struct esptun_tunnel *tun,
			   struct sk_buff *skb, enum esptun_ctr why)
{
	esptun_stats_inc(esp->stats, why);
	if (tun)
		esptun_stats_inc(tun->stats, why);
	kfree_skb(skb);
}

/* A packet refused because of its tunnel's outbound SA (past a hard limit,
 * out of sequence numbers) is counted on that SA too, as RX counts its
 * drops: show's tunnel and SA counters then agree.  Under RCU (BH), which
 * keeps @sa's counters.
 */
static void esptun_tx_drop_sa(struct esptun_tunnel *tun, struct esptun_sa *sa,
			      struct sk_buff *skb, enum esptun_ctr why)
{
	esptun_stats_inc(sa->stats, why);
	esptun_tx_drop(tun->esp, tun, skb, why);
}

/* No usable tunnel: say why, an SA at its last sequence number, one past a
 * hard lifetime limit, or none.
 */
static void esptun_tx_no_tunnel(struct esptun_dev *esp, struct sk_buff *skb)
{
	struct esptun_tunnel *tun;
	struct esptun_sa *sa;

	list_for_each_entry_rcu(tun, &esp->tunnels, dev_node) {
		sa = rcu_dereference_bh(tun->tx_sa);
		if (sa && esptun_sa_seq(sa) >= esptun_sa_seq_max(sa)) {
			esptun_tx_drop_sa(tun, sa, skb, ESPTUN_CTR_TX_SEQ_EXHAUSTED);
			return;
		}
		if (sa && esptun_sa_expired(sa)) {
			esptun_tx_drop_sa(tun, sa, skb, ESPTUN_CTR_TX_SA_EXPIRED);
			return;
		}
	}
	esptun_tx_drop(esp, NULL, skb, ESPTUN_CTR_TX_NO_TUNNEL);
}

static void esptun_tx_send4(struct esptun_tunnel *tun,
			    const union esptun_addr *remote, struct sk_buff *skb,
			    struct dst_entry *dst, u8 tos, bool df, bool xnet)
{
	/* iptunnel_xmit() counts from the inner network header: the ESP (or
	 * UDP) one.
	 */
	skb_reset_inner_network_header(skb);
	iptunnel_xmit(NULL, container_of(dst, struct rtable, dst), skb, tun->local.v4,
		      remote->v4, tun->encap ? IPPROTO_UDP : IPPROTO_ESP,
		      tos, ESPTUN_TTL, df ? htons(IP_DF) : 0, xnet);
}

static void esptun_tx_send6(struct esptun_tunnel *tun,
			    const union esptun_addr *remote, struct sk_buff *skb,
			    struct dst_entry *dst, u8 tos, bool df, bool xnet)
{
	struct net_device *dev = skb->dev;
	int len = skb->len, err;
	struct ipv6hdr *ip6h;

	skb_scrub_packet(skb, xnet);
	skb_dst_set(skb, dst);
	ip6h = skb_push(skb, sizeof(*ip6h));
	skb_reset_network_header(skb);
	ip6_flow_hdr(ip6h, tos, 0);
	ip6h->nexthdr = tun->encap ? IPPROTO_UDP : IPPROTO_ESP;
	ip6h->hop_limit = ESPTUN_TTL;
	ip6h->saddr = tun->local.v6;
	ip6h->daddr = remote->v6;
	memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
	skb->protocol = htons(ETH_P_IPV6);
	/* An inner IPv6 packet of the minimum MTU must pass a path that
	 * cannot carry it encapsulated: the outer packet is fragmented.
	 */
	skb->ignore_df = !df;
	err = ip6_local_out(tun->esp->link_net, NULL, skb);
	iptunnel_xmit_stats(dev, net_xmit_eval(err) ? 0 : len);
}

/* The outer headers in front of an ESP packet (or NAT keepalive) and out;
 * consumes @skb and @dst.  Under RCU (BH).
 */
static void esptun_tx_send(struct esptun_tunnel *tun, struct sk_buff *skb,
			   struct dst_entry *dst, u8 tos, bool df)
{
	/* One read: the UDP checksum and the header name one address. */
	const union esptun_addr *remote =
		&rcu_dereference_bh(tun->path)->addrs.remote;
	struct esptun_dev *esp = tun->esp;
	bool xnet = !net_eq(esp->link_net, dev_net(esp->dev));

	if (tun->encap)
		esptun_encap_push(tun, remote, skb);
	if (tun->family == AF_INET)
		esptun_tx_send4(tun, remote, skb, dst, tos, df, xnet);
	else
		esptun_tx_send6(tun, remote, skb, dst, tos, df, xnet);
}

/*
 * Crypto and the in-order hand-off run apart from the transmit that gave
 * esptun the packet, where the core's count of nested transmits
 * (dev_xmit_recursion()) is back at zero: tunnels routed through each
 * other would pass a packet round for ever, growing, fragmented and
 * multiplying.  The outer packet leaves at the depth the inner one came
 * in at (@nest), so that the core cuts such a loop at
 * XMIT_RECURSION_LIMIT as it cuts one of synchronous tunnels.  With BH
 * off: this CPU's count.
 */
static void esptun_tx_send_nested(struct esptun_tunnel *tun,
				  struct sk_buff *skb, struct dst_entry *dst,
				  u8 tos, bool df, int nest)
{
	int add = nest - dev_recursion_level();

	if (add > 0)
		__this_cpu_add(softnet_data.xmit.recursion, add);
	esptun_tx_send(tun, skb, dst, tos, df);
	if (add > 0)
		__this_cpu_sub(softnet_data.xmit.recursion, add);
}

/* After encryption, in sequence number order, on the tunnel's CPU: the
 * outer header, and out.
 */
void esptun_tx_finish(struct sk_buff *skb, int err)
{
	struct esptun_skb_cb *cb = ESPTUN_CB(skb);
	struct esptun_sa *sa = cb->sa;
	struct esptun_tunnel *tun = sa->tunnel;
	struct esptun_dev *esp = tun->esp;
	struct dst_entry *dst = cb->dst;
	unsigned int inner_len = cb->inner_len;
	u8 tos = cb->tos;
	bool df = cb->df;
	int nest = cb->nest;

	esptun_tx_wake(tun);
	if (unlikely(err)) {
		dst_release(dst);
		esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_ERRORS);
		goto out;
	}
	esptun_stats_pkt(sa->stats, ESPTUN_CTR_TX_PACKETS, inner_len);
	esptun_stats_pkt(tun->stats, ESPTUN_CTR_TX_PACKETS, inner_len);
	/* In sequence number order, on one CPU: see lifetime.c. */
	esptun_lifetime_count(sa, inner_len);
	esptun_lifetime_seq(sa, cb->seq);
	/* The hash was the inner flow's, for picking the tunnel.  The outer
	 * packet is the tunnel's one flow: left alone, a multiqueue NIC (or
	 * the receiver's RPS) would spread one SA's packets over queues by
	 * inner flow and reorder its sequence numbers.
	 */
	skb_clear_hash(skb);
	esptun_tx_send_nested(tun, skb, dst, tos, df, nest);
out:
	esptun_sa_put(sa);
}

static void esptun_tx_done(struct crypto_async_request *req, int err)
{
	struct sk_buff *skb = req->data;

	if (err == -EINPROGRESS)
		return;
	esptun_esp_done(skb);
	/* Crypto drivers complete in softirq or in process context. */
	local_bh_disable();
	esptun_order_done(&ESPTUN_CB(skb)->sa->tunnel->tx_order, skb, err);
	local_bh_enable();
}

/**
 * esptun_tx_crypt() - encrypt a queued packet
 * @skb: a packet esptun_tx_encrypt() queued, on a crypto worker's CPU
 *
 * With BH disabled; the packet goes on to esptun_tx_finish() in order.
 */
void esptun_tx_crypt(struct sk_buff *skb)
{
	struct esptun_order *o = &ESPTUN_CB(skb)->sa->tunnel->tx_order;
	int ret;

	ret = esptun_esp_encrypt(skb, ESPTUN_CB(skb)->nexthdr, esptun_tx_done);
	if (ret != -EINPROGRESS)
		esptun_order_done(o, skb, ret);
}

/**
 * esptun_tx_prepare() - give a packet its SA, sequence number and place
 * @tun: the tunnel
 * @skb: the payload (an inner packet, or nothing for a dummy)
 * @dst: the referenced route to the remote end; the packet keeps it
 * @nexthdr: ESPTUN_NEXTHDR_* of the payload
 * @tos: for the outer header
 * @df: set DF in an outer IPv4 header
 *
 * Under RCU (BH).  Return: 0, the packet ready for esptun_parallel_queue();
 * else it was dropped and counted, and @skb and @dst are consumed.
 */
static int esptun_tx_prepare(struct esptun_tunnel *tun, struct sk_buff *skb,
			     struct dst_entry *dst, u8 nexthdr, u8 tos, bool df)
{
	struct esptun_dev *esp = tun->esp;
	enum esptun_ctr why = ESPTUN_CTR_TX_ERRORS;
	struct esptun_skb_cb *cb;
	struct esptun_sa *sa;
	u64 ticket, max;
	int ret;

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		goto drop;
	if (skb_cow_head(skb, ESPTUN_HEADROOM))
		goto drop;
	why = ESPTUN_CTR_TX_NO_TUNNEL;
	sa = rcu_dereference_bh(tun->tx_sa);
	if (unlikely(!sa || !esptun_sa_get(sa)))
		goto drop;
	if (unlikely(esptun_sa_expired(sa))) {
		dst_release(dst);
		esptun_tx_drop_sa(tun, sa, skb, ESPTUN_CTR_TX_SA_EXPIRED);
		esptun_sa_put(sa);
		return -1;
	}

	/* The route travels with the packet: looked up once, used after
	 * encryption, released by esptun_tx_finish().
	 */
	cb = ESPTUN_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->sa = sa;
	cb->dst = dst;
	cb->inner_len = skb->len;
	cb->tos = tos;
	cb->df = df;
	cb->nexthdr = nexthdr;
	cb->nest = min(dev_recursion_level(), U8_MAX);
	/* The ticket is the sequence number, so they leave in order; never
	 * past the last one: without ESN, no wrap.
	 */
	max = esptun_sa_seq_max(sa);
	ret = esptun_order_reserve(&tun->tx_order, skb, sa->seq_base, max,
				   &ticket);
	if (unlikely(ret)) {
		dst_release(dst);
		if (ret == -ERANGE)
			esptun_tx_drop_sa(tun, sa, skb,
					  ESPTUN_CTR_TX_SEQ_EXHAUSTED);
		else
			esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_OVERLOAD);
		esptun_sa_put(sa);
		return -1;
	}
	cb->seq = ticket - sa->seq_base;
	/* This packet took the last number: the tunnel is no longer usable;
	 * have that announced.
	 */
	if (unlikely(cb->seq == max))
		esptun_tunnel_kick(tun, ESPTUN_STATE_CAUSE_SA);
	esptun_tx_maybe_stop(tun);
	return 0;

drop:
	dst_release(dst);
	esptun_tx_drop(esp, tun, skb, why);
	return -1;
}

/* esptun_tx_prepare() and into crypto; consumes @skb and @dst. */
static void esptun_tx_encrypt(struct esptun_tunnel *tun, struct sk_buff *skb,
			      struct dst_entry *dst, u8 nexthdr, u8 tos, bool df)
{
	if (!esptun_tx_prepare(tun, skb, dst, nexthdr, tos, df))
		esptun_parallel_queue(skb);
}

/**
 * esptun_tx_keepalive() - send an ESP dummy packet on a tunnel
 * @tun: the tunnel
 *
 * RFC 4303 2.6: next header 59, no payload; the peer authenticates and
 * discards it.  Not sent without an outbound SA or while the tunnel is
 * administratively down.  Under RCU (BH).
 */
void esptun_tx_keepalive(struct esptun_tunnel *tun)
{
	struct esptun_dev *esp = tun->esp;
	struct dst_entry *dst;
	struct sk_buff *skb;

	if (!READ_ONCE(tun->admin_up) || !rcu_access_pointer(tun->tx_sa))
		return;
	skb = alloc_skb(ESPTUN_HEADROOM + ESPTUN_TX_TAILROOM, GFP_ATOMIC);
	if (!skb) {
		esptun_stats_inc(esp->stats, ESPTUN_CTR_TX_ERRORS);
		return;
	}
	skb_reserve(skb, ESPTUN_HEADROOM);
	skb_reset_network_header(skb);
	skb->dev = esp->dev;
	dst = esptun_tx_route(tun);
	if (IS_ERR(dst)) {
		esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_ERRORS);
		return;
	}
	esptun_tx_encrypt(tun, skb, dst, ESPTUN_NEXTHDR_DUMMY, 0, false);
}

/**
 * esptun_tx_nat_keepalive() - send a NAT keepalive on a tunnel
 * @tun: a UDP-encapsulated tunnel
 *
 * RFC 3948 2.2: one 0xff byte in UDP, from the tunnel's ports, which the
 * peer's UDP decapsulation discards.  Not sent while the tunnel is
 * administratively down.  Under RCU (BH).
 */
void esptun_tx_nat_keepalive(struct esptun_tunnel *tun)
{
	struct esptun_dev *esp = tun->esp;
	struct dst_entry *dst;
	struct sk_buff *skb;

	if (!READ_ONCE(tun->admin_up) || !tun->encap)
		return;
	skb = alloc_skb(ESPTUN_HEADROOM + 1, GFP_ATOMIC);
	if (!skb) {
		esptun_stats_inc(esp->stats, ESPTUN_CTR_TX_ERRORS);
		return;
	}
	skb_reserve(skb, ESPTUN_HEADROOM);
	skb_put_u8(skb, 0xff);
	skb->dev = esp->dev;
	dst = esptun_tx_route(tun);
	if (IS_ERR(dst)) {
		esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_ERRORS);
		return;
	}
	esptun_tx_send(tun, skb, dst, 0, false);
}

static int esptun_tx_frag_out(struct net *net, struct sock *sk,
			      struct sk_buff *skb);

/*
 * Too big for the path: with DF (and always for IPv6) the sender hears it
 * (ICMP fragmentation needed / packet too big) and learns the MTU; without
 * DF, IPv4 is fragmented before encryption.
 * Return: true if @skb was consumed.
 */
static bool esptun_tx_too_big(struct esptun_dev *esp, struct esptun_tunnel *tun,
			      struct sk_buff *skb, int mtu)
{
	if (skb->protocol == htons(ETH_P_IP)) {
		if (!(ip_hdr(skb)->frag_off & htons(IP_DF)) && skb_dst(skb) &&
		    mtu >= IPV4_MIN_MTU) {
			memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
			IPCB(skb)->frag_max_size = mtu;
			ip_do_fragment(dev_net(esp->dev), skb->sk, skb,
				       esptun_tx_frag_out);
			return true;
		}
		mtu = max(mtu, IPV4_MIN_MTU);
		skb_dst_update_pmtu_no_confirm(skb, mtu);
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			      htonl(mtu));
	} else {
		/* Below the IPv6 minimum the outer packet gets fragmented. */
		if (skb->len <= IPV6_MIN_MTU)
			return false;
		mtu = max(mtu, IPV6_MIN_MTU);
		skb_dst_update_pmtu_no_confirm(skb, mtu);
		icmpv6_ndo_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
	}
	esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_TOO_BIG);
	return true;
}

/**
 * struct esptun_tx_flow - where an inner packet goes, and how
 * @tun: the tunnel, by pinned destination or flow hash
 * @dst: the referenced route to its remote end
 * @mtu: the largest inner packet that fits that path (esptun_tx_mtu())
 * @nexthdr: ESPTUN_NEXTHDR_* of the inner packet
 * @tos: for the outer header
 * @df: the inner packet forbids fragmentation
 *
 * The same for every segment of a GSO packet: they share headers and hash.
 */
struct esptun_tx_flow {
	struct esptun_tunnel *tun;
	struct dst_entry *dst;
	int mtu;
	u8 nexthdr;
	u8 tos;
	bool df;
};

/* The inner header, the tunnel and the route; else @skb is dropped, counted,
 * and false returned.  Under RCU (BH).
 */
static bool esptun_tx_classify(struct net_device *dev, struct sk_buff *skb,
			       struct esptun_tx_flow *f)
{
	struct esptun_dev *esp = netdev_priv(dev);
	struct esptun_tunnel *tun;
	struct dst_entry *dst;
	u8 dsfield;

	if (skb->protocol == htons(ETH_P_IP) &&
	    pskb_network_may_pull(skb, sizeof(struct iphdr)) &&
	    ip_hdr(skb)->version == 4) {
		f->nexthdr = ESPTUN_NEXTHDR_IPV4;
		dsfield = ipv4_get_dsfield(ip_hdr(skb));
		f->df = ip_hdr(skb)->frag_off & htons(IP_DF);
	} else if (skb->protocol == htons(ETH_P_IPV6) &&
		   pskb_network_may_pull(skb, sizeof(struct ipv6hdr)) &&
		   ipv6_hdr(skb)->version == 6) {
		f->nexthdr = ESPTUN_NEXTHDR_IPV6;
		dsfield = ipv6_get_dsfield(ipv6_hdr(skb));
		f->df = true;
	} else {
		esptun_tx_drop(esp, NULL, skb, ESPTUN_CTR_TX_ERRORS);
		return false;
	}
	f->tos = INET_ECN_encapsulate(dsfield, dsfield);

	tun = esptun_pin_lookup(esp, skb);
	if (unlikely(tun)) {
		/* Pinned: this tunnel or nothing. */
		if (!esptun_tunnel_usable(tun)) {
			esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_NO_TUNNEL);
			return false;
		}
	} else {
		tun = esptun_ecmp_pick(esp, skb_get_hash(skb));
		if (unlikely(!tun)) {
			esptun_tx_no_tunnel(esp, skb);
			return false;
		}
	}
	dst = esptun_tx_route(tun);
	if (IS_ERR(dst)) {
		net_dbg_ratelimited("%s: tunnel %u: no route to the remote end: %ld\n",
				    dev->name, tun->id, PTR_ERR(dst));
		esptun_tx_drop(esp, tun, skb, ESPTUN_CTR_TX_ERRORS);
		return false;
	}
	f->tun = tun;
	f->dst = dst;
	f->mtu = esptun_tx_mtu(tun, dst);
	return true;
}

/* One packet, no longer GSO; consumes @skb. */
static void esptun_tx_packet(struct net_device *dev, struct sk_buff *skb)
{
	struct esptun_tx_flow f;

	if (!esptun_tx_classify(dev, skb, &f))
		return;
	if (unlikely(skb->len > f.mtu)) {
		if (esptun_tx_too_big(netdev_priv(dev), f.tun, skb, f.mtu)) {
			dst_release(f.dst);
			return;
		}
		f.df = false;
	}
	esptun_tx_encrypt(f.tun, skb, f.dst, f.nexthdr, f.tos, f.df);
}

/*
 * A GSO packet: classified, hashed, pinned and routed once, then segmented;
 * its segments, each with its own ticket, go into crypto as one list,
 * through one ring entry to one CPU (parallel.c), as WireGuard hands on a
 * GSO packet's segments.  Consumes @skb.
 */
static void esptun_tx_gso(struct net_device *dev, struct sk_buff *skb)
{
	struct sk_buff *segs, *next, *list = NULL, **tail = &list;
	struct esptun_tx_flow f;

	if (!esptun_tx_classify(dev, skb, &f))
		return;
	segs = skb_gso_segment(skb, 0);
	if (IS_ERR_OR_NULL(segs)) {
		dst_release(f.dst);
		esptun_tx_drop(netdev_priv(dev), f.tun, skb,
			       ESPTUN_CTR_TX_ERRORS);
		return;
	}
	consume_skb(skb);
	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		/* Segments sized for the device's MTU, over a path whose MTU
		 * has since dropped: each one as a packet of its own.
		 */
		if (unlikely(skb->len > f.mtu)) {
			esptun_tx_packet(dev, skb);
			continue;
		}
		if (esptun_tx_prepare(f.tun, skb, dst_clone(f.dst), f.nexthdr,
				      f.tos, f.df))
			continue;
		*tail = skb;
		tail = &skb->next;
	}
	dst_release(f.dst);
	if (list)
		esptun_parallel_queue(list);
}

/* ip_do_fragment() output: each fragment, now small enough. */
static int esptun_tx_frag_out(struct net *net, struct sock *sk,
			      struct sk_buff *skb)
{
	esptun_tx_packet(skb->dev, skb);
	return 0;
}

/**
 * esptun_xmit() - ndo_start_xmit
 * @skb: an inner packet, maybe GSO
 * @dev: the esptun device
 *
 * Return: NETDEV_TX_OK always; drops are counted by cause.
 */
netdev_tx_t esptun_xmit(struct sk_buff *skb, struct net_device *dev)
{
	/* Taken before encryption hides the flow; fragments inherit it. */
	skb_get_hash(skb);
	if (skb_is_gso(skb))
		esptun_tx_gso(dev, skb);
	else
		esptun_tx_packet(dev, skb);
	return NETDEV_TX_OK;
}
