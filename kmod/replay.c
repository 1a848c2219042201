// SPDX-License-Identifier: GPL-2.0
/*
 * Anti-replay, the way XFRM does it: a cheap check before decryption
 * (esptun_replay_check()) and, only once the ICV has verified, a recheck
 * that advances the window (esptun_replay_advance()).  A forged packet
 * therefore never moves the window.  Neither takes a lock: the advance
 * runs in the SA's tunnel's in-order hand-off, which one context at a time
 * runs (order.c), and the check only reads.
 */
#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "replay.h"

struct esptun_replay *esptun_replay_alloc(u32 size, bool esn, gfp_t gfp)
{
	u32 nbits = roundup_pow_of_two(max_t(u32, size, BITS_PER_LONG));
	struct esptun_replay *r;

	r = kzalloc(struct_size(r, bits, BITS_TO_LONGS(nbits)), gfp);
	if (!r)
		return NULL;
	r->size = size;
	r->nbits = nbits;
	r->esn = esn;
	return r;
}

/**
 * esptun_replay_seq() - the full sequence number of a received packet
 * @r: the window
 * @seq_lo: the 32 bits carried in the ESP header
 *
 * Without ESN this is @seq_lo.  With ESN the high half is inferred from the
 * window as in RFC 4303 appendix A2.2: the number closest to the window.
 *
 * Return: the 64-bit sequence number to check and authenticate.
 */
u64 esptun_replay_seq(const struct esptun_replay *r, u32 seq_lo)
{
	u64 top = READ_ONCE(r->top);
	u32 tl = lower_32_bits(top), th = upper_32_bits(top);
	u32 w = max_t(u32, r->size, 1);
	u32 bottom = tl - w + 1;

	if (!r->esn)
		return seq_lo;
	if (tl >= w - 1) {
		/* The window lies within one 2^32 subspace. */
		if (seq_lo < bottom)
			th++;
	} else if (seq_lo >= bottom && th) {
		/* The window straddles two subspaces; seq_lo is below it.
		 * Before the first wrap there is no subspace below.
		 */
		th--;
	}
	return ((u64)th << 32) | seq_lo;
}

static bool esptun_replay_ok(const struct esptun_replay *r, u64 top, u64 seq)
{
	if (!r->size)
		return true;
	if (seq > top)
		return true;
	if (top - seq >= r->size)
		return false;
	return !test_bit(seq & (r->nbits - 1), r->bits);
}

/**
 * esptun_replay_check() - may a packet with this sequence number be new?
 * @r: the window
 * @seq: from esptun_replay_seq()
 *
 * Called before decryption, on any CPU: a stale answer only lets a
 * replay through to esptun_replay_advance(), which rejects it.
 *
 * Return: false for sequence number 0, replays and packets left of the
 * window.
 */
bool esptun_replay_check(const struct esptun_replay *r, u64 seq)
{
	if (unlikely(!seq))
		return false;
	return esptun_replay_ok(r, READ_ONCE(r->top), seq);
}

/**
 * esptun_replay_advance() - record an authenticated sequence number
 * @r: the window
 * @seq: from esptun_replay_seq(), after the ICV verified
 *
 * From the SA's tunnel's in-order hand-off only: that serialises it.
 *
 * Return: false if @seq turned out to be a replay (raced with a twin).
 */
bool esptun_replay_advance(struct esptun_replay *r, u64 seq)
{
	u64 i;
	bool ok;

	if (unlikely(!seq))
		return false;
	ok = esptun_replay_ok(r, r->top, seq);
	if (ok && r->size) {
		if (seq > r->top && seq - r->top >= r->nbits)
			bitmap_zero(r->bits, r->nbits);
		else
			for (i = r->top + 1; i < seq; i++)
				__clear_bit(i & (r->nbits - 1), r->bits);
		__set_bit(seq & (r->nbits - 1), r->bits);
	}
	/* Without a window the top is still kept: ESN infers from it. */
	if (ok && seq > r->top)
		WRITE_ONCE(r->top, seq);
	return ok;
}
