/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_ESP_H
#define _ESPTUN_ESP_H

#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <crypto/aead.h>

#include "sa.h"

/* Fixed part of an ESP packet: header and explicit IV, then the ICV. */
#define ESPTUN_ESP_HLEN		(8 + ESPTUN_IV_LEN)
#define ESPTUN_ESP_MIN_LEN	(ESPTUN_ESP_HLEN + 2 + ESPTUN_ICV_LEN)
/* Room in front of an inner packet for the link, outer IPv6, UDP and ESP. */
#define ESPTUN_HEADROOM		(LL_MAX_HEADER + sizeof(struct ipv6hdr) + \
				 sizeof(struct udphdr) + ESPTUN_ESP_HLEN)

/* Next header values of the inner packet (RFC 4303 2.6). */
#define ESPTUN_NEXTHDR_IPV4	4
#define ESPTUN_NEXTHDR_IPV6	41
#define ESPTUN_NEXTHDR_DUMMY	59

/**
 * struct esptun_skb_cb - esptun's per-packet state while it owns the skb
 * @sa: the SA the packet is processed with, referenced
 * @crypt: the crypto request memory of the packet
 * @dst: sent packets: the referenced route to the tunnel's remote end
 * @seq: its full (64-bit) sequence number
 * @inner_len: sent packets: length of the inner packet
 * @err: the result of crypto
 * @slot: its place in its tunnel's in-order ring (order.c)
 * @tos: sent packets: TOS/traffic class for the outer header; received
 *	packets: that of the outer header
 * @df: sent packets: set DF in the outer IPv4 header
 * @nexthdr: sent packets: ESPTUN_NEXTHDR_* of the payload
 * @nest: sent packets: the core's transmit nesting depth when esptun got
 *	the packet (dev_recursion_level()), for the outer one (tx.c)
 * @encap_port: received packets: the UDP source port of ESP in UDP from
 *	the tunnel's remote address, which NAT rebinding may follow; 0 for
 *	plain ESP or ESP in UDP from another address
 *
 * Ordered so that it fills the 48 bytes of skb->cb without a hole.
 */
struct esptun_skb_cb {
	struct esptun_sa *sa;
	void *crypt;
	struct dst_entry *dst;
	u64 seq;
	u32 inner_len;
	int err;
	u16 slot;
	u8 tos;
	bool df;
	u8 nexthdr;
	u8 nest;
	__be16 encap_port;
};

static inline struct esptun_skb_cb *ESPTUN_CB(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct esptun_skb_cb) > sizeof(skb->cb));
	return (struct esptun_skb_cb *)skb->cb;
}

int esptun_esp_encrypt(struct sk_buff *skb, u8 nexthdr,
		       crypto_completion_t done);
int esptun_esp_decrypt(struct sk_buff *skb, crypto_completion_t done);
int esptun_esp_decap(struct sk_buff *skb, u8 *nexthdr);

void esptun_crypt_put(void *mem);
void esptun_crypt_cache_free(void);

/* The crypto request memory of @skb, once crypto is done with it. */
static inline void esptun_esp_done(struct sk_buff *skb)
{
	esptun_crypt_put(ESPTUN_CB(skb)->crypt);
	ESPTUN_CB(skb)->crypt = NULL;
}

#endif /* _ESPTUN_ESP_H */
