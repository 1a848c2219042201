/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_RX_H
#define _ESPTUN_RX_H

int esptun_rx_init(void);
void esptun_rx_uninit(void);

#endif /* _ESPTUN_RX_H */
