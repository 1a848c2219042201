/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ENCAP_H
#define _ESPTUN_ENCAP_H

#include <linux/list.h>
#include <linux/netlink.h>
#include <linux/skbuff.h>
#include <linux/udp.h>

#include "tunnel.h"

#define ESPTUN_ENCAP_PORT	4500

/**
 * struct esptun_encap_sock - a UDP socket esptun holds for ESP in UDP
 * @node: entry in esptun_net(net)->encap_socks, under esptun_net.lock
 * @sock: the kernel socket, bound to @local and @port in the transport
 *	netns, with UDP_ENCAP_ESPINUDP
 * @family: of @local
 * @local: the local address it is bound to
 * @port: the local UDP port it is bound to
 * @users: tunnels using it, under esptun_net.lock; the last one releases it
 */
struct esptun_encap_sock {
	struct list_head node;
	struct socket *sock;
	sa_family_t family;
	union esptun_addr local;
	__be16 port;
	unsigned int users;
};

int esptun_encap_attach(struct esptun_tunnel *tun, int fd,
			struct netlink_ext_ack *extack);
int esptun_encap_handover(struct esptun_tunnel *tun, int fd,
			  struct netlink_ext_ack *extack);
void esptun_encap_detach(struct esptun_tunnel *tun);
void esptun_encap_push(const struct esptun_tunnel *tun,
		       const union esptun_addr *remote, struct sk_buff *skb);
void esptun_encap_follow(struct esptun_tunnel *tun, __be16 port);

/* The overhead of UDP encapsulation on @tun's packets. */
static inline unsigned int esptun_encap_len(const struct esptun_tunnel *tun)
{
	return tun->encap ? sizeof(struct udphdr) : 0;
}

/*
 * ESP that XFRM's UDP decapsulation (UDP_ENCAP_ESPINUDP, no marker) left
 * at skb->data: the UDP header it stripped is right in front of it.
 */
static inline __be16 esptun_encap_rx_sport(const struct sk_buff *skb)
{
	return ((const struct udphdr *)(skb->data - sizeof(struct udphdr)))->source;
}

#endif /* _ESPTUN_ENCAP_H */
