/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_RX_H
#define _ESPTUN_RX_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>

bool esptun_rx_err_ours(struct net *net, sa_family_t family,
			const void *saddr, const void *daddr, __be32 spi);
void esptun_rx_crypt(struct sk_buff *skb);
void esptun_rx_finish(struct sk_buff *skb, int err);
int esptun_rx_poll(struct napi_struct *napi, int budget);
int esptun_rx_init(void);
void esptun_rx_uninit(void);

#endif /* _ESPTUN_RX_H */
