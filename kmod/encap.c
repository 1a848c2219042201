// SPDX-License-Identifier: GPL-2.0
/*
 * UDP encapsulation of ESP (RFC 3948), for tunnels added with encap udp.
 *
 * Receive: ESP in UDP reaches esptun through XFRM's UDP decapsulation,
 * which strips the UDP header and hands the ESP packet to the xfrm
 * protocol handlers' input_handler (rx.c): esptun's comes first, takes the
 * SPIs it owns and passes the others on to XFRM.  Whose UDP socket
 * decapsulates depends on who holds the local port:
 *
 *  - an IKE daemon (charon) with a UDP_ENCAP_ESPINUDP socket: its socket
 *    does, and IKE (non-ESP marker) and NAT keepalives stay with it, so
 *    that the daemon and esptun share port 4500;
 *  - nobody: esptun binds a socket of its own (one per netns, address and
 *    port, shared by the tunnels that use them) which does the same, and
 *    drops and counts what is not ESP: nobody would read it.
 *
 * The choice is made when a tunnel is added, unless the IKE daemon hands
 * esptun its socket (ESPTUN_A_TUNNEL_ENCAP_SOCKET, as ovpn's userspace
 * hands over its socket).  With encap_reuseport, esptun's sockets allow
 * SO_REUSEPORT, so that a daemon started after the tunnels, running as
 * the user who added them, can bind beside esptun's socket and then hand
 * its own over: esptun's closes (esptun_encap_handover()).  esptun keeps
 * no reference to a daemon's socket: the daemon owns the port, as it
 * does for XFRM.
 *
 * Transmit: a UDP header in front of the ESP header, from the tunnel's
 * local port to its remote one; IPv4 without a checksum (RFC 3948 3.1.2
 * allows it), IPv6 with one (RFC 8200 8.1).
 *
 * NAT rebinding: an authentic packet from another UDP port moves the
 * tunnel's remote port there (esptun_encap_follow()).
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <asm/unaligned.h>
#include <net/ip6_checksum.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/xfrm.h>

#include "device.h"
#include "encap.h"
#include "objects.h"
#include "rx.h"

/*
 * Whether esptun's sockets allow SO_REUSEPORT, so that an IKE daemon
 * started after the tunnels can bind beside one and then hand its own
 * over (esptun_encap_handover()).  Off by default: the kernel lets any
 * process of the socket's owner (whoever added the first tunnel on that
 * address and port, root usually) join, capabilities or not, and a
 * reuseport group's members share, or steer with a BPF program, what
 * arrives.  Read when a socket is made.
 */
static bool encap_reuseport;
module_param(encap_reuseport, bool, 0644);
MODULE_PARM_DESC(encap_reuseport,
		 "esptun's ESP-in-UDP sockets allow SO_REUSEPORT, for a late IKE daemon to take the port over (default N)");

/* A tunnel of the socket's netns that @skb, received on it, is for. */
static struct esptun_tunnel *esptun_encap_tunnel(struct sock *sk,
						 struct sk_buff *skb)
{
	struct net *net = sock_net(sk);

	if (skb->protocol == htons(ETH_P_IP))
		return esptun_tunnel_by_addr(net, AF_INET, &ip_hdr(skb)->daddr,
					     &ip_hdr(skb)->saddr);
	return esptun_tunnel_by_addr(net, AF_INET6, &ipv6_hdr(skb)->daddr,
				     &ipv6_hdr(skb)->saddr);
}

static void esptun_encap_drop(struct sock *sk, struct sk_buff *skb,
			      enum esptun_ctr why)
{
	struct esptun_tunnel *tun = esptun_encap_tunnel(sk, skb);

	if (tun) {
		esptun_stats_inc(tun->esp->stats, why);
		esptun_stats_inc(tun->stats, why);
	}
	kfree_skb(skb);
}

/*
 * encap_rcv of esptun's own sockets, under RCU in softirq, with skb->data
 * at a UDP header whose checksum verified.  Always consumes the packet.
 */
static int esptun_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	unsigned int len = skb->len - sizeof(struct udphdr);
	const u8 *data;

	if (!pskb_may_pull(skb, sizeof(struct udphdr) + min(len, 8U))) {
		esptun_encap_drop(sk, skb, ESPTUN_CTR_RX_MALFORMED);
		return 0;
	}
	data = skb->data + sizeof(struct udphdr);
	/* RFC 3948 2.2: a NAT keepalive, which only needs to arrive. */
	if (len == 1 && data[0] == 0xff) {
		consume_skb(skb);
		return 0;
	}
	if (len <= sizeof(struct ip_esp_hdr)) {
		esptun_encap_drop(sk, skb, ESPTUN_CTR_RX_MALFORMED);
		return 0;
	}
	/* A zero SPI is the non-ESP marker: IKE, and no daemon listens. */
	if (!get_unaligned((const u32 *)data)) {
		esptun_encap_drop(sk, skb, ESPTUN_CTR_RX_DROPS);
		return 0;
	}
	/* What XFRM's own decapsulation does, for the handlers after
	 * esptun's: the IP header's length loses the UDP header, which stays
	 * in front of the ESP header.
	 */
	if (skb_unclone(skb, GFP_ATOMIC)) {
		esptun_encap_drop(sk, skb, ESPTUN_CTR_RX_DROPS);
		return 0;
	}
	__skb_pull(skb, sizeof(struct udphdr));
	skb_reset_transport_header(skb);
	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr *iph = ip_hdr(skb);

		iph->tot_len = htons(ntohs(iph->tot_len) - sizeof(struct udphdr));
		return xfrm4_rcv_encap(skb, IPPROTO_ESP, 0, UDP_ENCAP_ESPINUDP);
	}
	ipv6_hdr(skb)->payload_len =
		htons(ntohs(ipv6_hdr(skb)->payload_len) - sizeof(struct udphdr));
	return xfrm6_rcv_encap(skb, IPPROTO_ESP, 0, UDP_ENCAP_ESPINUDP);
}

/*
 * encap_err_lookup of esptun's own sockets: ICMP about a datagram one sent,
 * under RCU in softirq, the network header at the quoted IP header and the
 * transport header at its UDP header.  As for plain ESP (rx.c), it counts
 * only when it quotes the tunnel's outbound SPI: else the UDP layer would
 * let anyone who guesses the addresses and port 4500 lower the tunnel's
 * path MTU or redirect it.  The SPI lies past the 8 bytes RFC 792 has a
 * router quote; routers quote more (RFC 1812 4.3.2.3), and ICMP that does
 * not show it is ignored.  Return: 0 to let the UDP layer act on it.
 */
static int esptun_encap_err_lookup(struct sock *sk, struct sk_buff *skb)
{
	int off = skb_transport_offset(skb) + sizeof(struct udphdr);
	const void *saddr, *daddr;
	__be32 _spi, *spi;

	/* Not pulled: the UDP layer holds pointers into the header. */
	spi = skb_header_pointer(skb, off, sizeof(_spi), &_spi);
	if (!spi)
		return -ENOENT;
	if (sk->sk_family == AF_INET) {
		saddr = &ip_hdr(skb)->saddr;
		daddr = &ip_hdr(skb)->daddr;
	} else {
		saddr = &ipv6_hdr(skb)->saddr;
		daddr = &ipv6_hdr(skb)->daddr;
	}
	if (!esptun_rx_err_ours(sock_net(sk), sk->sk_family, saddr, daddr, *spi))
		return -ENOENT;
	return 0;
}

/*
 * The UDP socket that packets from the tunnel's remote end to its local
 * port would reach, referenced, or NULL.
 */
static struct sock *esptun_encap_holder(const struct esptun_tunnel *tun)
{
	struct net *net = tun->esp->link_net;
	const union esptun_addr *remote;
	struct sock *sk;

	rcu_read_lock();
	remote = &rcu_dereference(tun->path)->addrs.remote;
	if (tun->family == AF_INET)
		sk = udp4_lib_lookup(net, remote->v4, tun->encap_dport,
				     tun->local.v4, tun->encap_sport, 0);
	else
		sk = udp6_lib_lookup(net, &remote->v6, tun->encap_dport,
				     &tun->local.v6, tun->encap_sport, 0);
	rcu_read_unlock();
	return sk;
}

static struct esptun_encap_sock *
esptun_encap_sock_create(struct esptun_tunnel *tun,
			 struct netlink_ext_ack *extack)
{
	struct udp_tunnel_sock_cfg tcfg = {
		.encap_type = UDP_ENCAP_ESPINUDP,
		.encap_rcv = esptun_encap_rcv,
		.encap_err_lookup = esptun_encap_err_lookup,
	};
	struct udp_port_cfg cfg = {
		.family = tun->family,
		.local_udp_port = tun->encap_sport,
	};
	struct net *net = tun->esp->link_net;
	struct esptun_encap_sock *es;
	int ret;

	es = kzalloc(sizeof(*es), GFP_KERNEL_ACCOUNT);
	if (!es)
		return ERR_PTR(-ENOMEM);
	if (tun->family == AF_INET) {
		cfg.local_ip.s_addr = tun->local.v4;
	} else {
		cfg.local_ip6 = tun->local.v6;
		cfg.ipv6_v6only = 1;
		cfg.use_udp6_tx_checksums = 1;
		cfg.use_udp6_rx_checksums = 1;
	}
	ret = udp_sock_create(net, &cfg, &es->sock);
	if (ret) {
		kfree(es);
		if (ret == -EADDRNOTAVAIL)
			NL_SET_ERR_MSG(extack,
				       "cannot bind the UDP port: the local address is not configured");
		else if (ret == -EADDRINUSE)
			NL_SET_ERR_MSG(extack, "the local UDP port is in use");
		else
			NL_SET_ERR_MSG(extack, "cannot create the UDP socket");
		return ERR_PTR(ret);
	}
	if (READ_ONCE(encap_reuseport))
		sock_set_reuseport(es->sock->sk);
	setup_udp_tunnel_sock(net, es->sock, &tcfg);
	esptun_object_new(ESPTUN_OBJ_SOCKET);
	es->family = tun->family;
	es->local = tun->local;
	es->port = tun->encap_sport;
	return es;
}

/* esptun's socket on the tunnel's local address and port, if it has one. */
static struct esptun_encap_sock *
esptun_encap_sock_find(struct esptun_net *en, const struct esptun_tunnel *tun)
{
	struct esptun_encap_sock *es;

	lockdep_assert_held(&en->lock);
	list_for_each_entry(es, &en->encap_socks, node) {
		if (es->family == tun->family && es->port == tun->encap_sport &&
		    esptun_addr_eq(es->family, &es->local, &tun->local))
			return es;
	}
	return NULL;
}

static void esptun_encap_sock_release(struct esptun_encap_sock *es)
{
	list_del(&es->node);
	udp_tunnel_sock_release(es->sock);
	esptun_object_gone(ESPTUN_OBJ_SOCKET);
	kfree(es);
}

/*
 * Whether the caller's socket @sk receives what @tun's remote end sends to
 * its local port: bound there (on its local address or any), to no
 * device, connected to nobody.  Read without the socket's lock, which the
 * caller may hold as long as it likes: a bind or connect racing with the
 * request makes the check fail, or the daemon's own socket change after
 * it, as it may anyway.
 */
static int esptun_encap_user_check(const struct esptun_tunnel *tun,
				   struct sock *sk,
				   struct netlink_ext_ack *extack)
{
	const struct inet_sock *inet = inet_sk(sk);
	bool here;

	if (sk->sk_type != SOCK_DGRAM || sk->sk_protocol != IPPROTO_UDP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG(extack, "encap-socket is not a UDP socket");
		return -EINVAL;
	}
	if (sk->sk_family != tun->family) {
		NL_SET_ERR_MSG(extack,
			       "encap-socket is not of the tunnel's address family");
		return -EINVAL;
	}
	if (!net_eq(sock_net(sk), tun->esp->link_net)) {
		NL_SET_ERR_MSG(extack,
			       "encap-socket is not in the tunnel's network namespace");
		return -EINVAL;
	}
	if (READ_ONCE(udp_sk(sk)->encap_type) != UDP_ENCAP_ESPINUDP) {
		NL_SET_ERR_MSG(extack, "encap-socket has no UDP_ENCAP_ESPINUDP");
		return -EINVAL;
	}
	if (!READ_ONCE(inet->inet_num)) {
		NL_SET_ERR_MSG(extack,
			       "encap-socket is not bound (with encap_reuseport, SO_REUSEPORT binds it beside esptun's socket)");
		return -EINVAL;
	}
	if (tun->family == AF_INET) {
		__be32 addr = READ_ONCE(inet->inet_rcv_saddr);

		here = !addr || addr == tun->local.v4;
	} else {
		/* Too wide for READ_ONCE(); torn, it fails the check. */
		struct in6_addr addr = data_race(sk->sk_v6_rcv_saddr);

		here = ipv6_addr_any(&addr) ||
		       ipv6_addr_equal(&addr, &tun->local.v6);
	}
	if (!here || READ_ONCE(inet->inet_sport) != tun->encap_sport) {
		NL_SET_ERR_MSG(extack,
			       "encap-socket is bound to another port or address");
		return -EINVAL;
	}
	if (READ_ONCE(sk->sk_bound_dev_if) || READ_ONCE(inet->inet_dport)) {
		NL_SET_ERR_MSG(extack,
			       "encap-socket is bound to a device or connected");
		return -EINVAL;
	}
	return 0;
}

/**
 * esptun_encap_handover() - the caller's socket takes the tunnel's port
 * @tun: a UDP-encapsulated tunnel, linked or about to be, under
 *	esptun_net.lock
 * @fd: the caller's descriptor of a UDP_ENCAP_ESPINUDP socket (an IKE
 *	daemon's), bound to the tunnel's local port
 * @extack: where to say why not
 *
 * Runs in the caller's process, where @fd means something.  The daemon
 * binds its socket itself, with its own rights (CAP_NET_BIND_SERVICE, its
 * security module's rules); beside esptun's socket if esptun holds the
 * port, which SO_REUSEPORT allows a caller of the same user when
 * encap_reuseport is on.  esptun's socket there then closes, and every
 * tunnel that received through it receives through the daemon's, as
 * XFRM's SAs do: esptun keeps no reference to it.  The socket's lock is
 * never taken: the caller could hold it as long as it likes, and esptun's
 * locks with it.
 *
 * Return: 0 or a negative errno.
 */
int esptun_encap_handover(struct esptun_tunnel *tun, int fd,
			  struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(tun->esp->link_net);
	struct esptun_encap_sock *es;
	struct esptun_tunnel *pos;
	struct socket *sock;
	struct sock *holder;
	int ret;

	lockdep_assert_held(&en->lock);
	sock = sockfd_lookup(fd, &ret);
	if (!sock) {
		NL_SET_ERR_MSG(extack, "encap-socket is not a socket descriptor");
		return ret;
	}
	ret = esptun_encap_user_check(tun, sock->sk, extack);
	es = esptun_encap_sock_find(en, tun);
	/* What the remote end's packets reach now: the caller's socket, or
	 * esptun's (more specific, or in one reuseport group with it); not a
	 * third socket, which closing esptun's would leave them to.
	 */
	if (!ret) {
		holder = esptun_encap_holder(tun);
		if (holder)
			sock_put(holder);
		if (holder != sock->sk && (!es || holder != es->sock->sk)) {
			NL_SET_ERR_MSG(extack,
				       "another socket receives the tunnel's packets on its port");
			ret = -EADDRINUSE;
		}
	}
	sockfd_put(sock);
	if (ret)
		return ret;
	if (es) {
		list_for_each_entry(pos, &en->tunnels, net_node) {
			if (pos->encap_sock == es) {
				pos->encap_sock = NULL;
				es->users--;
			}
		}
		/* A tunnel not on the list would keep a freed socket. */
		if (!WARN_ON_ONCE(es->users))
			esptun_encap_sock_release(es);
	}
	tun->encap_sock = NULL;
	return 0;
}

/**
 * esptun_encap_attach() - give a new UDP-encapsulated tunnel its receiver
 * @tun: the tunnel, not yet linked, with addresses and ports set, under
 *	esptun_net.lock
 * @fd: the caller's socket to hand the port to (esptun_encap_handover()),
 *	or -1
 * @extack: where to say why not
 *
 * Without @fd: shares esptun's socket on the tunnel's local address and
 * port, or uses the IKE daemon's UDP_ENCAP_ESPINUDP socket there, or binds
 * a new one.
 *
 * Return: 0 or a negative errno.
 */
int esptun_encap_attach(struct esptun_tunnel *tun, int fd,
			struct netlink_ext_ack *extack)
{
	struct esptun_net *en = esptun_net(tun->esp->link_net);
	struct esptun_encap_sock *es;
	struct sock *holder;
	int type = -1;

	lockdep_assert_held(&en->lock);
	if (fd >= 0)
		return esptun_encap_handover(tun, fd, extack);
	es = esptun_encap_sock_find(en, tun);
	if (es) {
		es->users++;
		tun->encap_sock = es;
		return 0;
	}
	holder = esptun_encap_holder(tun);
	if (holder) {
		type = READ_ONCE(udp_sk(holder)->encap_type);
		sock_put(holder);
	}
	if (type == UDP_ENCAP_ESPINUDP) {
		/* The daemon's socket decapsulates for esptun. */
		tun->encap_sock = NULL;
		return 0;
	}
	if (holder) {
		NL_SET_ERR_MSG(extack,
			       "the local UDP port is held by a socket without UDP_ENCAP_ESPINUDP");
		return -EADDRINUSE;
	}
	es = esptun_encap_sock_create(tun, extack);
	if (IS_ERR(es))
		return PTR_ERR(es);
	es->users = 1;
	list_add(&es->node, &en->encap_socks);
	tun->encap_sock = es;
	return 0;
}

/**
 * esptun_encap_detach() - the tunnel no longer receives through its socket
 * @tun: the tunnel, unlinked, under esptun_net.lock
 *
 * The last tunnel of an esptun socket closes it.  A packet that found the
 * socket before may still be in esptun_encap_rcv(): the socket itself is
 * freed after an RCU grace period (SOCK_RCU_FREE), and esptun_encap_rcv()
 * needs nothing else.
 */
void esptun_encap_detach(struct esptun_tunnel *tun)
{
	struct esptun_encap_sock *es = tun->encap_sock;

	lockdep_assert_held(&esptun_net(tun->esp->link_net)->lock);
	tun->encap_sock = NULL;
	if (!es || --es->users)
		return;
	esptun_encap_sock_release(es);
}

/**
 * esptun_encap_push() - put the UDP header in front of an ESP packet
 * @tun: its UDP-encapsulated tunnel
 * @remote: the remote address the packet goes to (for the IPv6 checksum)
 * @skb: the ESP packet (or a NAT keepalive's one byte) at skb->data, not
 *	CHECKSUM_PARTIAL, with room for the header
 */
void esptun_encap_push(const struct esptun_tunnel *tun,
		       const union esptun_addr *remote, struct sk_buff *skb)
{
	struct udphdr *uh;
	__wsum csum;

	uh = skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh->source = tun->encap_sport;
	uh->dest = READ_ONCE(tun->encap_dport);
	uh->len = htons(skb->len);
	uh->check = 0;
	if (tun->family == AF_INET)
		return;
	csum = skb_checksum(skb, 0, skb->len, 0);
	uh->check = csum_ipv6_magic(&tun->local.v6, &remote->v6, skb->len,
				    IPPROTO_UDP, csum);
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
	skb->ip_summed = CHECKSUM_NONE;
}

/**
 * esptun_encap_follow() - NAT rebinding
 * @tun: a UDP-encapsulated tunnel
 * @port: the UDP source port of an authentic packet on it, the newest one
 *	of its SA so far (a late packet through the old mapping does not
 *	move the port back)
 *
 * Replies go to the port the peer's packets come from now.  The remote
 * address is not followed: it names the peer (or its NAT) and is the
 * tunnel's identity in the transport netns; a new one is the IKE daemon's
 * business (MOBIKE), which sets it (esptun_tunnel_set_remote()).
 */
void esptun_encap_follow(struct esptun_tunnel *tun, __be16 port)
{
	__be16 old = READ_ONCE(tun->encap_dport);

	if (likely(port == old))
		return;
	WRITE_ONCE(tun->encap_dport, port);
	net_info_ratelimited("%s: tunnel %u: remote UDP port %u -> %u (NAT rebinding)\n",
			     tun->esp->dev->name, tun->id, ntohs(old),
			     ntohs(port));
}
