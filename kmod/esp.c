// SPDX-License-Identifier: GPL-2.0
/*
 * ESP packet format (RFC 4303) with AES-GCM (RFC 4106), bit-compatible with
 * XFRM's rfc4106(gcm(aes)):
 *
 *   | SPI | seq (low 32) | IV (8) | payload | pad | padlen | next | ICV (16) |
 *
 * The AAD is SPI || seq, with the high 32 bits of an extended sequence
 * number in between when ESN is on (RFC 4106 5).  It is built in a buffer
 * of its own, so the ESP header on the wire is never rewritten.  The IV is
 * the 64-bit sequence number: unique per key, as RFC 4106 3.1 requires.
 * Crypto runs in place, synchronously or not: the completion callback gets
 * the skb, and ESPTUN_CB(skb) carries the state.
 */
#include <linux/ip.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <asm/unaligned.h>
#include <net/esp.h>

#include "esp.h"

/* The AAD and IV, then the AEAD request, then the scatterlist. */
struct esptun_crypt {
	u8 aad[12];
	u8 iv[ESPTUN_IV_LEN];
};

static void *esptun_crypt_alloc(struct crypto_aead *aead, int nsg,
				struct aead_request **req,
				struct scatterlist **sg)
{
	unsigned int req_off, sg_off, len;
	void *mem;

	len = ALIGN(sizeof(struct esptun_crypt), crypto_tfm_ctx_alignment());
	req_off = len;
	len += sizeof(struct aead_request) + crypto_aead_reqsize(aead);
	len = ALIGN(len, __alignof__(struct scatterlist));
	sg_off = len;
	len += sizeof(struct scatterlist) * nsg;

	mem = kmalloc(len, GFP_ATOMIC);
	if (!mem)
		return NULL;
	*req = mem + req_off;
	*sg = mem + sg_off;
	aead_request_set_tfm(*req, aead);
	return mem;
}

/* AAD: SPI || [seq high] || seq low.  Returns its length. */
static unsigned int esptun_aad(u8 *aad, const struct esptun_sa *sa, u64 seq)
{
	memcpy(aad, &sa->spi, 4);
	if (sa->esn) {
		put_unaligned_be64(seq, aad + 4);
		return 12;
	}
	put_unaligned_be32(lower_32_bits(seq), aad + 4);
	return 8;
}

/**
 * esptun_esp_encrypt() - turn an inner packet into an ESP packet
 * @skb: the inner packet at skb->data, with ESPTUN_CB(skb)->sa and ->seq
 *	set and ESPTUN_ESP_HLEN bytes of writable headroom
 * @nexthdr: ESPTUN_NEXTHDR_* of the payload
 * @done: completion if the transform is asynchronous
 *
 * Requests are not backlogged (no CRYPTO_TFM_REQ_MAY_BACKLOG): a transform
 * whose queue is full refuses them (-EBUSY, -ENOSPC) and the packet is
 * dropped rather than queued without bound.
 *
 * Return: 0 when encrypted, -EINPROGRESS when @done will be called,
 * another negative errno on failure (the caller drops the packet).
 */
int esptun_esp_encrypt(struct sk_buff *skb, u8 nexthdr,
		       crypto_completion_t done)
{
	struct esptun_skb_cb *cb = ESPTUN_CB(skb);
	struct esptun_sa *sa = cb->sa;
	unsigned int plen = skb->len, padlen, tailen, aadlen, i;
	struct ip_esp_hdr *esph;
	struct esptun_crypt *c;
	struct aead_request *req;
	struct scatterlist *sg;
	struct sk_buff *trailer;
	int nfrags, ret;
	u8 *tail;

	/* Payload, padding and the two trailer bytes end 4-byte aligned. */
	padlen = (4 - ((plen + 2) & 3)) & 3;
	tailen = padlen + 2 + ESPTUN_ICV_LEN;
	nfrags = skb_cow_data(skb, tailen, &trailer);
	if (nfrags < 0)
		return nfrags;
	tail = pskb_put(skb, trailer, tailen);
	for (i = 0; i < padlen; i++)
		tail[i] = i + 1;
	tail[padlen] = padlen;
	tail[padlen + 1] = nexthdr;

	esph = skb_push(skb, ESPTUN_ESP_HLEN);
	esph->spi = sa->spi;
	esph->seq_no = htonl(lower_32_bits(cb->seq));
	put_unaligned_be64(cb->seq, esph->enc_data);

	c = esptun_crypt_alloc(sa->aead, nfrags + 1, &req, &sg);
	if (!c)
		return -ENOMEM;
	cb->crypt = c;
	aadlen = esptun_aad(c->aad, sa, cb->seq);
	memcpy(c->iv, esph->enc_data, ESPTUN_IV_LEN);

	sg_init_table(sg, nfrags + 1);
	sg_set_buf(sg, c->aad, aadlen);
	ret = skb_to_sgvec(skb, sg + 1, sizeof(*esph), skb->len - sizeof(*esph));
	if (unlikely(ret < 0)) {
		esptun_esp_done(skb);
		return ret;
	}
	aead_request_set_callback(req, 0, done, skb);
	/* rfc4106 takes the IV as the last 8 bytes of the associated data. */
	aead_request_set_ad(req, aadlen + ESPTUN_IV_LEN);
	aead_request_set_crypt(req, sg, sg, plen + padlen + 2, c->iv);
	ret = crypto_aead_encrypt(req);
	if (ret != -EINPROGRESS)
		esptun_esp_done(skb);
	return ret;
}

/**
 * esptun_esp_decrypt() - authenticate and decrypt an ESP packet in place
 * @skb: the ESP packet at skb->data, at least ESPTUN_ESP_MIN_LEN bytes,
 *	with ESPTUN_CB(skb)->sa and ->seq set
 * @done: completion if the transform is asynchronous
 *
 * Return: 0 when authentic and decrypted, -EBADMSG when the ICV does not
 * verify, -EINPROGRESS when @done will be called, another negative errno
 * on failure (-EBUSY or -ENOSPC: the transform's queue is full).
 */
int esptun_esp_decrypt(struct sk_buff *skb, crypto_completion_t done)
{
	struct esptun_skb_cb *cb = ESPTUN_CB(skb);
	struct esptun_sa *sa = cb->sa;
	struct aead_request *req;
	struct esptun_crypt *c;
	struct scatterlist *sg;
	struct sk_buff *trailer;
	unsigned int aadlen;
	int nfrags, ret;

	nfrags = skb_cow_data(skb, 0, &trailer);
	if (nfrags < 0)
		return nfrags;
	c = esptun_crypt_alloc(sa->aead, nfrags + 1, &req, &sg);
	if (!c)
		return -ENOMEM;
	cb->crypt = c;
	aadlen = esptun_aad(c->aad, sa, cb->seq);
	ret = skb_copy_bits(skb, 8, c->iv, ESPTUN_IV_LEN);
	if (ret)
		goto out;

	sg_init_table(sg, nfrags + 1);
	sg_set_buf(sg, c->aad, aadlen);
	ret = skb_to_sgvec(skb, sg + 1, 8, skb->len - 8);
	if (unlikely(ret < 0))
		goto out;
	aead_request_set_callback(req, 0, done, skb);
	aead_request_set_ad(req, aadlen + ESPTUN_IV_LEN);
	aead_request_set_crypt(req, sg, sg, skb->len - ESPTUN_ESP_HLEN, c->iv);
	ret = crypto_aead_decrypt(req);
	if (ret == -EINPROGRESS)
		return ret;
out:
	esptun_esp_done(skb);
	return ret;
}

/**
 * esptun_esp_decap() - strip ESP from a decrypted packet
 * @skb: the packet esptun_esp_decrypt() authenticated, at the ESP header
 * @nexthdr: set to the trailer's next header
 *
 * Checks the trailer (RFC 4303 2.4: padding bytes are 1, 2, 3...), then
 * leaves just the payload in @skb.
 *
 * Return: 0, or -EINVAL for a malformed trailer.
 */
int esptun_esp_decap(struct sk_buff *skb, u8 *nexthdr)
{
	unsigned int plen = skb->len - ESPTUN_ESP_HLEN - ESPTUN_ICV_LEN;
	u8 trl[2], pad[255];
	unsigned int padlen, i;

	if (skb_copy_bits(skb, skb->len - ESPTUN_ICV_LEN - 2, trl, 2))
		return -EINVAL;
	padlen = trl[0];
	*nexthdr = trl[1];
	if (padlen + 2 > plen)
		return -EINVAL;
	if (padlen) {
		if (skb_copy_bits(skb, skb->len - ESPTUN_ICV_LEN - 2 - padlen,
				  pad, padlen))
			return -EINVAL;
		for (i = 0; i < padlen; i++)
			if (pad[i] != i + 1)
				return -EINVAL;
	}
	if (pskb_trim(skb, skb->len - ESPTUN_ICV_LEN - 2 - padlen))
		return -EINVAL;
	__skb_pull(skb, ESPTUN_ESP_HLEN);
	return 0;
}
