/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_REPLAY_H
#define _ESPTUN_REPLAY_H

#include <linux/types.h>

/* At most ESPTUN_REPLAY_WINDOW_MAX (the ABI's) packets. */
#define ESPTUN_REPLAY_DEFAULT	1024

/**
 * struct esptun_replay - anti-replay window of an inbound SA (RFC 4303 3.4.3)
 * @top: highest authenticated sequence number (64 bits, ESN or not);
 *	written by esptun_replay_advance() only, which the SA's tunnel calls
 *	from its in-order hand-off, one context at a time (order.c), so
 *	without a lock; esptun_replay_check() reads @top and @bits from any
 *	CPU, and a stale answer only delays a rejection
 * @size: window size in packets, 0 disables the check
 * @esn: 64-bit sequence numbers, high half inferred (RFC 4303 A2)
 * @nbits: bits in @bits: @size rounded up to a power of two, at least a word
 * @bits: ring of @nbits bits; bit (seq & (nbits - 1)) is set once seq has
 *	been received
 */
struct esptun_replay {
	u64 top;
	u32 size;
	u32 nbits;
	bool esn;
	unsigned long bits[];
};

struct esptun_replay *esptun_replay_alloc(u32 size, bool esn, gfp_t gfp);
u64 esptun_replay_seq(const struct esptun_replay *r, u32 seq_lo);
bool esptun_replay_check(const struct esptun_replay *r, u64 seq);
bool esptun_replay_advance(struct esptun_replay *r, u64 seq);

#endif /* _ESPTUN_REPLAY_H */
