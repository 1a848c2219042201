/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_TX_H
#define _ESPTUN_TX_H

#include <linux/netdevice.h>

struct esptun_tunnel;

netdev_tx_t esptun_xmit(struct sk_buff *skb, struct net_device *dev);
void esptun_tx_crypt(struct sk_buff *skb);
void esptun_tx_finish(struct sk_buff *skb, int err);
void esptun_tx_keepalive(struct esptun_tunnel *tun);
void esptun_tx_nat_keepalive(struct esptun_tunnel *tun);

#endif /* _ESPTUN_TX_H */
