// SPDX-License-Identifier: GPL-2.0
#include <linux/string.h>

#include "stats.h"

struct esptun_stats __percpu *esptun_stats_alloc(void)
{
	struct esptun_stats __percpu *stats;
	int cpu;

	stats = alloc_percpu_gfp(struct esptun_stats, GFP_KERNEL_ACCOUNT);
	if (!stats)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(stats, cpu)->syncp);
	return stats;
}

void esptun_stats_sum(struct esptun_stats __percpu *stats,
		      u64 sum[__ESPTUN_CTR_MAX])
{
	unsigned int start, i;
	int cpu;

	memset(sum, 0, sizeof(u64) * __ESPTUN_CTR_MAX);
	for_each_possible_cpu(cpu) {
		const struct esptun_stats *s = per_cpu_ptr(stats, cpu);
		u64 v[__ESPTUN_CTR_MAX];

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i < __ESPTUN_CTR_MAX; i++)
				v[i] = u64_stats_read(&s->ctr[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < __ESPTUN_CTR_MAX; i++)
			sum[i] += v[i];
	}
}
