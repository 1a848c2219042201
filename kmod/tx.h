/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_TX_H
#define _ESPTUN_TX_H

#include <linux/netdevice.h>

netdev_tx_t esptun_xmit(struct sk_buff *skb, struct net_device *dev);

#endif /* _ESPTUN_TX_H */
