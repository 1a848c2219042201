/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ESPTUN_STATS_H
#define _ESPTUN_STATS_H

#include <linux/percpu.h>
#include <linux/u64_stats_sync.h>

/*
 * Counters of devices, tunnels and SAs: per-CPU, written without locks from
 * the data path, summed on read.  Each object uses the subset that applies.
 */
enum esptun_ctr {
	ESPTUN_CTR_TX_PACKETS,
	ESPTUN_CTR_TX_BYTES,
	ESPTUN_CTR_RX_PACKETS,
	ESPTUN_CTR_RX_BYTES,
	ESPTUN_CTR_RX_NO_SA,		/* ESP for a tunnel, SPI known to nobody */
	ESPTUN_CTR_RX_REPLAY,		/* replayed or too old */
	ESPTUN_CTR_RX_AUTH_FAIL,	/* ICV did not verify */
	ESPTUN_CTR_RX_MALFORMED,	/* truncated, bad padding, bad next header */
	ESPTUN_CTR_RX_DROPS,		/* out of memory, device gone */
	ESPTUN_CTR_TX_SEQ_EXHAUSTED,	/* the SA's sequence space is used up */
	ESPTUN_CTR_TX_NO_TUNNEL,	/* no tunnel able to carry the packet */
	ESPTUN_CTR_TX_ERRORS,		/* no route, out of memory, crypto error */
	ESPTUN_CTR_TX_TOO_BIG,		/* ICMP "too big" sent back */
	ESPTUN_CTR_TX_SA_EXPIRED,	/* the outbound SA hit a hard limit */
	ESPTUN_CTR_RX_SA_EXPIRED,	/* the inbound SA hit a hard limit */
	ESPTUN_CTR_RX_WRONG_TUNNEL,	/* source pinned to another tunnel */
	ESPTUN_CTR_RX_OVERLOAD,		/* the tunnel's in-order ring full */
	ESPTUN_CTR_TX_OVERLOAD,		/* the same, outbound (noqueue) */
	__ESPTUN_CTR_MAX
};

struct esptun_stats {
	u64_stats_t ctr[__ESPTUN_CTR_MAX];
	struct u64_stats_sync syncp;
};

struct esptun_stats __percpu *esptun_stats_alloc(void);

static inline void esptun_stats_add(struct esptun_stats __percpu *stats,
				    enum esptun_ctr ctr, u64 val)
{
	struct esptun_stats *s = get_cpu_ptr(stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_add(&s->ctr[ctr], val);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(stats);
}

static inline void esptun_stats_inc(struct esptun_stats __percpu *stats,
				    enum esptun_ctr ctr)
{
	esptun_stats_add(stats, ctr, 1);
}

/* Packets and bytes in one update. */
static inline void esptun_stats_pkt(struct esptun_stats __percpu *stats,
				    enum esptun_ctr packets, unsigned int len)
{
	struct esptun_stats *s = get_cpu_ptr(stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_inc(&s->ctr[packets]);
	u64_stats_add(&s->ctr[packets + 1], len);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(stats);
}

void esptun_stats_sum(struct esptun_stats __percpu *stats,
		      u64 sum[__ESPTUN_CTR_MAX]);

#endif /* _ESPTUN_STATS_H */
