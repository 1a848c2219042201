// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: ESP (IP protocol 50) for an SPI esptun owns is authenticated,
 * decrypted and delivered on the tunnel's device; ESP for any other SPI is
 * left untouched for XFRM.
 *
 * esptun registers xfrm4/xfrm6 protocol handlers with a priority above
 * XFRM's own (0), xfrm interfaces (10) and vti (100), and returns -EINVAL
 * for packets it does not own, which passes them down the chain unharmed.
 * ESP in UDP (RFC 3948) comes the same way, through the input_handler,
 * once a UDP_ENCAP_ESPINUDP socket stripped the UDP header (encap.c).
 *
 *   esptun_rx()           SPI lookup, cheap anti-replay check, into the
 *                         tunnel's in-order queue (order.c) and on to a
 *                         CPU's crypto worker (parallel.c)
 *   esptun_rx_crypt()     on that CPU:
 *   esptun_esp_decrypt()  (esp.c) AES-GCM, in place
 *   esptun_rx_poll()      the tunnel's NAPI poll, on its CPU (not the
 *                         one ESP arrives on), hands on packets in
 *                         arrival order (order.c) to:
 *   esptun_rx_finish()    replay recheck and advance, trailer, inner
 *                         header checks, then GRO in the tunnel's NAPI
 *
 * Every packet esptun takes and drops is counted by cause.
 */
#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/inet_ecn.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/xfrm.h>

#include "device.h"
#include "encap.h"
#include "esp.h"
#include "liveness.h"
#include "parallel.h"
#include "pin.h"
#include "rx.h"
#include "sa.h"
#include "tunnel.h"

#define ESPTUN_XFRM_PRIORITY	200

static void esptun_rx_drop(struct esptun_tunnel *tun, struct esptun_sa *sa,
			   struct sk_buff *skb, enum esptun_ctr why)
{
	esptun_stats_inc(tun->esp->stats, why);
	esptun_stats_inc(tun->stats, why);
	if (sa)
		esptun_stats_inc(sa->stats, why);
	kfree_skb(skb);
}

/* The inner packet's IP header is sane; TFC padding after it is cut. */
static int esptun_rx_inner(struct sk_buff *skb, u8 nexthdr)
{
	unsigned int len;

	skb_reset_network_header(skb);
	if (nexthdr == ESPTUN_NEXTHDR_IPV4) {
		const struct iphdr *iph;

		if (!pskb_may_pull(skb, sizeof(*iph)))
			return -EINVAL;
		iph = ip_hdr(skb);
		len = ntohs(iph->tot_len);
		if (iph->version != 4 || iph->ihl < 5 || len < iph->ihl * 4 ||
		    len > skb->len)
			return -EINVAL;
		skb->protocol = htons(ETH_P_IP);
	} else if (nexthdr == ESPTUN_NEXTHDR_IPV6) {
		if (!pskb_may_pull(skb, sizeof(struct ipv6hdr)))
			return -EINVAL;
		len = ntohs(ipv6_hdr(skb)->payload_len) + sizeof(struct ipv6hdr);
		if (ipv6_hdr(skb)->version != 6 || len > skb->len)
			return -EINVAL;
		skb->protocol = htons(ETH_P_IPV6);
	} else {
		return -EINVAL;
	}
	return pskb_trim(skb, len);
}

/* After decryption, in arrival order, in the tunnel's NAPI poll. */
void esptun_rx_finish(struct sk_buff *skb, int err)
{
	struct esptun_skb_cb *cb = ESPTUN_CB(skb);
	struct esptun_sa *sa = cb->sa;
	struct esptun_tunnel *tun = sa->tunnel;
	struct esptun_dev *esp = tun->esp;
	struct net_device *dev = esp->dev;
	unsigned int len;
	u8 nexthdr;

	if (err == -EBADMSG) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_AUTH_FAIL);
		goto out;
	}
	if (unlikely(err)) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_DROPS);
		goto out;
	}
	/* Authentic: only now may the window move. */
	if (!esptun_replay_advance(sa->replay, cb->seq)) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_REPLAY);
		goto out;
	}
	esptun_liveness_rx(tun);
	/* The newest packet so far says where the peer's NAT maps it now. */
	if (cb->encap_port && cb->seq == READ_ONCE(sa->replay->top))
		esptun_encap_follow(tun, cb->encap_port);
	if (esptun_esp_decap(skb, &nexthdr)) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_MALFORMED);
		goto out;
	}
	/* In arrival order, on one CPU: see lifetime.c. */
	esptun_lifetime_count(sa, skb->len);
	if (nexthdr == ESPTUN_NEXTHDR_DUMMY) {
		/* RFC 4303 2.6: dummy packets are discarded silently. */
		consume_skb(skb);
		goto out;
	}
	if (esptun_rx_inner(skb, nexthdr)) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_MALFORMED);
		goto out;
	}
	if (unlikely(!esptun_pin_source_ok(esp, tun, skb))) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_WRONG_TUNNEL);
		goto out;
	}
	if (INET_ECN_is_ce(cb->tos)) {
		if (skb->protocol == htons(ETH_P_IP))
			IP_ECN_set_ce(ip_hdr(skb));
		else
			IP6_ECN_set_ce(skb, ipv6_hdr(skb));
	}

	skb_scrub_packet(skb, !net_eq(esp->link_net, dev_net(dev)));
	/* The outer flow's hash says nothing of the inner flow. */
	skb_clear_hash(skb);
	skb_reset_mac_header(skb);
	skb->dev = dev;
	skb->pkt_type = PACKET_HOST;
	skb->ip_summed = CHECKSUM_NONE;
	/* A device that is down takes no packets, as the core's receive
	 * functions would not.
	 */
	if (unlikely(!netif_running(dev))) {
		esptun_rx_drop(tun, sa, skb, ESPTUN_CTR_RX_DROPS);
		goto out;
	}
	len = skb->len;
	esptun_stats_pkt(sa->stats, ESPTUN_CTR_RX_PACKETS, len);
	esptun_stats_pkt(tun->stats, ESPTUN_CTR_RX_PACKETS, len);
	dev_sw_netstats_rx_add(dev, len);
	/* Straight into the stack from this poll, in the order handed on:
	 * without RPS nothing queues it on another CPU.
	 */
	napi_gro_receive(&tun->napi, skb);
out:
	esptun_sa_put(sa);
}

static void esptun_rx_done(struct crypto_async_request *req, int err)
{
	struct sk_buff *skb = req->data;

	if (err == -EINPROGRESS)
		return;
	esptun_esp_done(skb);
	local_bh_disable();
	esptun_order_done(&ESPTUN_CB(skb)->sa->tunnel->rx_order, skb, err);
	local_bh_enable();
}

/**
 * esptun_rx_poll() - a tunnel's NAPI poll: deliver what was decrypted
 * @napi: the tunnel's
 * @budget: packets at most, of the CPU's NAPI budget
 *
 * Return: packets handed on, dropped ones included.
 */
int esptun_rx_poll(struct napi_struct *napi, int budget)
{
	struct esptun_tunnel *tun = container_of(napi, struct esptun_tunnel,
						 napi);
	unsigned int done;

	/* The tunnel outlives the poll: freeing it disables this first. */
	done = esptun_order_poll(&tun->rx_order, budget);
	if (done < budget)
		napi_complete_done(napi, done);
	return done;
}

/**
 * esptun_rx_crypt() - decrypt a queued packet
 * @skb: a packet esptun_rx() queued, on a crypto worker's CPU
 *
 * With BH disabled; the packet goes on to esptun_rx_finish() in order.
 */
void esptun_rx_crypt(struct sk_buff *skb)
{
	struct esptun_order *o = &ESPTUN_CB(skb)->sa->tunnel->rx_order;
	int ret;

	ret = esptun_esp_decrypt(skb, esptun_rx_done);
	if (ret != -EINPROGRESS)
		esptun_order_done(o, skb, ret);
}

/* Outer addresses of a received packet, as (local, remote). */
static void esptun_rx_addrs(const struct sk_buff *skb, sa_family_t family,
			    const void **local, const void **remote)
{
	if (family == AF_INET) {
		*local = &ip_hdr(skb)->daddr;
		*remote = &ip_hdr(skb)->saddr;
	} else {
		*local = &ipv6_hdr(skb)->daddr;
		*remote = &ipv6_hdr(skb)->saddr;
	}
}

/*
 * ESP whose SPI esptun does not know.  If XFRM knows it, or the packet is
 * not between a tunnel's addresses, it is not ours: pass it on.  Otherwise
 * it was meant for a tunnel but has no SA: count and drop it.
 */
static int esptun_rx_unclaimed(struct sk_buff *skb, sa_family_t family,
			       __be32 spi)
{
	struct net *net = dev_net(skb->dev);
	const void *local, *remote;
	struct esptun_tunnel *tun;
	struct xfrm_state *x;

	esptun_rx_addrs(skb, family, &local, &remote);
	tun = esptun_tunnel_by_addr(net, family, local, remote);
	if (!tun)
		return -EINVAL;
	x = xfrm_state_lookup(net, skb->mark, local, spi, IPPROTO_ESP, family);
	if (x) {
		xfrm_state_put(x);
		return -EINVAL;
	}
	esptun_rx_drop(tun, NULL, skb, ESPTUN_CTR_RX_NO_SA);
	return 0;
}

/*
 * The xfrm protocol handler; runs under RCU in softirq.  @encap_port: the
 * UDP source port of ESP in UDP, 0 for plain ESP.
 */
static int esptun_rx(struct sk_buff *skb, sa_family_t family,
		     __be16 encap_port)
{
	const struct ip_esp_hdr *esph;
	struct esptun_order *o;
	const void *local, *remote;
	struct esptun_skb_cb *cb;
	struct esptun_sa *sa;
	u8 tos;

	if (!pskb_may_pull(skb, sizeof(*esph)))
		return -EINVAL;
	esph = (const struct ip_esp_hdr *)skb->data;
	sa = esptun_sa_lookup_in_cached(dev_net(skb->dev), esph->spi);
	if (!sa)
		return esptun_rx_unclaimed(skb, family, esph->spi);
	esptun_rx_addrs(skb, family, &local, &remote);
	if (sa->tunnel->family != family ||
	    !esptun_addr_eq(family, &sa->tunnel->local, local))
		return -EINVAL;
	if (!esptun_sa_get(sa))
		return esptun_rx_unclaimed(skb, family, esph->spi);

	/* Ours from here on. */
	tos = family == AF_INET ? ipv4_get_dsfield(ip_hdr(skb)) :
				  ipv6_get_dsfield(ipv6_hdr(skb));
	cb = ESPTUN_CB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->sa = sa;
	cb->tos = tos;
	/*
	 * Only the port may float (NAT rebinding, esptun_encap_follow()):
	 * ESP from another address is taken, as XFRM takes it, but a copy
	 * raced from elsewhere must not move the replies.
	 */
	if (encap_port &&
	    esptun_addr_eq(family,
			   &rcu_dereference(sa->tunnel->path)->addrs.remote,
			   remote))
		cb->encap_port = encap_port;
	/* As XFRM: an SA takes ESP in UDP or plain ESP, as its tunnel says. */
	if (!encap_port != !sa->tunnel->encap ||
	    skb->len < ESPTUN_ESP_MIN_LEN ||
	    !pskb_may_pull(skb, ESPTUN_ESP_HLEN)) {
		esptun_rx_drop(sa->tunnel, sa, skb, ESPTUN_CTR_RX_MALFORMED);
		esptun_sa_put(sa);
		return 0;
	}
	if (unlikely(esptun_sa_expired(sa))) {
		esptun_rx_drop(sa->tunnel, sa, skb, ESPTUN_CTR_RX_SA_EXPIRED);
		esptun_sa_put(sa);
		return 0;
	}
	esph = (const struct ip_esp_hdr *)skb->data;
	cb->seq = esptun_replay_seq(sa->replay, ntohl(esph->seq_no));
	if (!esptun_replay_check(sa->replay, cb->seq)) {
		esptun_rx_drop(sa->tunnel, sa, skb, ESPTUN_CTR_RX_REPLAY);
		esptun_sa_put(sa);
		return 0;
	}
	/* From here on the packet waits on other CPUs and in async crypto,
	 * so it keeps nothing it holds no reference on: the input route was
	 * taken without one, and the device it came in on becomes ours,
	 * which its SA holds.
	 */
	skb_dst_drop(skb);
	skb->dev = sa->tunnel->esp->dev;
	/* Delivered in arrival order, whenever decryption finishes. */
	o = &sa->tunnel->rx_order;
	if (unlikely(READ_ONCE(o->cpu) == smp_processor_id()))
		esptun_order_avoid(o, smp_processor_id());
	if (unlikely(esptun_order_reserve(o, skb, 0, U64_MAX, NULL))) {
		esptun_rx_drop(sa->tunnel, sa, skb, ESPTUN_CTR_RX_OVERLOAD);
		esptun_sa_put(sa);
		return 0;
	}
	esptun_parallel_queue(skb);
	return 0;
}

static int esptun_rx4(struct sk_buff *skb)
{
	return esptun_rx(skb, AF_INET, 0);
}

static int esptun_rx6(struct sk_buff *skb)
{
	return esptun_rx(skb, AF_INET6, 0);
}

/*
 * ESP in UDP, the UDP header stripped by a UDP_ENCAP_ESPINUDP socket's
 * decapsulation, the IKE daemon's or esptun's.  Other encapsulations
 * (UDP_ENCAP_ESPINUDP_NON_IKE, TCP) are not esptun's: passed on.
 */
static int esptun_rx4_encap(struct sk_buff *skb, int nexthdr, __be32 spi,
			    int encap_type)
{
	if (encap_type != UDP_ENCAP_ESPINUDP)
		return -EINVAL;
	return esptun_rx(skb, AF_INET, esptun_encap_rx_sport(skb));
}

static int esptun_rx6_encap(struct sk_buff *skb, int nexthdr, __be32 spi,
			    int encap_type)
{
	if (encap_type != UDP_ENCAP_ESPINUDP)
		return -EINVAL;
	return esptun_rx(skb, AF_INET6, esptun_encap_rx_sport(skb));
}

/* Called by XFRM for every packet it decapsulated: never esptun's. */
static int esptun_rx_cb(struct sk_buff *skb, int err)
{
	return 1;
}

/**
 * esptun_rx_err_ours() - is the ESP packet an ICMP error quotes esptun's?
 * @net: the namespace the ICMP arrived in
 * @family: AF_INET or AF_INET6
 * @saddr: the quoted packet's source address
 * @daddr: its destination
 * @spi: its SPI
 *
 * Whether it is one esptun sent: from a tunnel's addresses, under its
 * outbound SA's SPI.  Matching the SPI, as XFRM's esp4_err/esp6_err do,
 * is what keeps a forged ICMP from anyone on the path that does not know
 * the SPI from collapsing the tunnel's MTU, and leaves ICMP about XFRM's
 * SAs between the same addresses to XFRM (the next handler).  ICMP about
 * a packet of an outbound SA a rekey just replaced is ignored: the next
 * one counts.  The caller (ICMP's receive path) holds the RCU read lock.
 *
 * Return: true if esptun sent it.
 */
bool esptun_rx_err_ours(struct net *net, sa_family_t family,
			const void *saddr, const void *daddr, __be32 spi)
{
	struct esptun_tunnel *tun;
	struct esptun_sa *sa;

	tun = esptun_tunnel_by_addr(net, family, saddr, daddr);
	if (!tun)
		return false;
	sa = rcu_dereference(tun->tx_sa);
	return sa && sa->spi == spi;
}

/*
 * ICMP about ESP esptun sent: learn the path MTU to the remote end.  ICMP
 * delivery pulled the quoted IP header and 8 bytes past it: the SPI and
 * sequence number.
 */
static int esptun_err4(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct ip_esp_hdr *esph = (void *)(skb->data + (iph->ihl << 2));
	struct net *net = dev_net(skb->dev);

	if (!esptun_rx_err_ours(net, AF_INET, &iph->saddr, &iph->daddr,
				esph->spi))
		return -ENOENT;
	switch (icmp_hdr(skb)->type) {
	case ICMP_DEST_UNREACH:
		if (icmp_hdr(skb)->code == ICMP_FRAG_NEEDED)
			ipv4_update_pmtu(skb, net, info, 0, IPPROTO_ESP);
		break;
	case ICMP_REDIRECT:
		ipv4_redirect(skb, net, 0, IPPROTO_ESP);
		break;
	}
	return 0;
}

static int esptun_err6(struct sk_buff *skb, struct inet6_skb_parm *opt,
		       u8 type, u8 code, int offset, __be32 info)
{
	const struct ipv6hdr *ip6h = (const struct ipv6hdr *)skb->data;
	const struct ip_esp_hdr *esph = (void *)(skb->data + offset);
	struct net *net = dev_net(skb->dev);

	if (!esptun_rx_err_ours(net, AF_INET6, &ip6h->saddr, &ip6h->daddr,
				esph->spi))
		return -ENOENT;
	if (type == NDISC_REDIRECT)
		ip6_redirect(skb, net, skb->dev->ifindex, 0,
			     sock_net_uid(net, NULL));
	else if (type == ICMPV6_PKT_TOOBIG)
		ip6_update_pmtu(skb, net, info, 0, 0, sock_net_uid(net, NULL));
	return 0;
}

static struct xfrm4_protocol esptun_xfrm4 __read_mostly = {
	.handler	= esptun_rx4,
	.input_handler	= esptun_rx4_encap,
	.cb_handler	= esptun_rx_cb,
	.err_handler	= esptun_err4,
	.priority	= ESPTUN_XFRM_PRIORITY,
};

static struct xfrm6_protocol esptun_xfrm6 __read_mostly = {
	.handler	= esptun_rx6,
	.input_handler	= esptun_rx6_encap,
	.cb_handler	= esptun_rx_cb,
	.err_handler	= esptun_err6,
	.priority	= ESPTUN_XFRM_PRIORITY,
};

int __init esptun_rx_init(void)
{
	int ret;

	ret = xfrm4_protocol_register(&esptun_xfrm4, IPPROTO_ESP);
	if (ret) {
		pr_err("cannot register the IPv4 ESP handler: %d\n", ret);
		return ret;
	}
	ret = xfrm6_protocol_register(&esptun_xfrm6, IPPROTO_ESP);
	if (ret) {
		pr_err("cannot register the IPv6 ESP handler: %d\n", ret);
		xfrm4_protocol_deregister(&esptun_xfrm4, IPPROTO_ESP);
	}
	return ret;
}

void esptun_rx_uninit(void)
{
	xfrm6_protocol_deregister(&esptun_xfrm6, IPPROTO_ESP);
	xfrm4_protocol_deregister(&esptun_xfrm4, IPPROTO_ESP);
}
