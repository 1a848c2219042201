// SPDX-License-Identifier: GPL-2.0
/*
 * esptun show [DEV] [--json]
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "tool.h"
#include "json.h"

/*
 * Counters, in attribute order: the names are also the JSON keys.  Those
 * since libesptun 1.1 are in struct esptun_stats2 (@two).
 */
static const struct {
	const char *name;
	int two;
	size_t off;
} stats[] = {
#define S(attr, f) { #f, 0, offsetof(struct esptun_stats, f) },
	ESPTUN_STATS_FIELDS(S)
#undef S
#define S(attr, f) { #f, 1, offsetof(struct esptun_stats2, f) },
	ESPTUN_STATS2_FIELDS(S)
#undef S
};

#define NSTATS (sizeof(stats) / sizeof(stats[0]))
/* The drop counters: from rx_no_sa on. */
#define FIRST_DROP 4

static uint64_t stat(const struct esptun_stats *st,
		     const struct esptun_stats2 *st2, size_t i)
{
	const void *base = stats[i].two ? (const void *)st2 : (const void *)st;

	return *(const uint64_t *)((const char *)base + stats[i].off);
}

static const char *addr_str(const struct esptun_addr *a, char *buf)
{
	if (!inet_ntop(a->family, &a->v4, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

/* "rx_replay 3, rx_auth_fail 1" for the drop counters that are not 0. */
static void print_drops(const char *indent, const struct esptun_stats *st,
			const struct esptun_stats2 *st2)
{
	int first = 1;
	size_t i;

	for (i = FIRST_DROP; i < NSTATS; i++) {
		if (!stat(st, st2, i))
			continue;
		printf("%s%s %" PRIu64, first ? indent : ", ", stats[i].name,
		       stat(st, st2, i));
		first = 0;
	}
	if (!first)
		putchar('\n');
}

static int has_lifetime(const struct esptun_sa_info *sa)
{
	return ESPTUN_HAS(sa, ESPTUN_A_SA_BYTES) ||
	       ESPTUN_HAS(sa, ESPTUN_A_SA_PACKETS) ||
	       ESPTUN_HAS(sa, ESPTUN_A_SA_AGE);
}

static int has_limits(const struct esptun_sa_info *sa)
{
	int a;

	for (a = ESPTUN_A_SA_SOFT_BYTES; a <= ESPTUN_A_SA_HARD_SECONDS; a++)
		if (ESPTUN_HAS(sa, a))
			return 1;
	return 0;
}

/*
 * "sa out spi 0x...  seq N  P packets ..." and, when the kernel reports
 * them, a second line: what the SA carried, its age, the limits set and
 * whether one was crossed.
 */
static void print_sa(const struct esptun_sa_info *sa, const char *indent)
{
	int out = sa->dir == ESPTUN_SA_DIR_OUT;
	const char *sep = "";
	int i;

	printf("%ssa %-3s spi 0x%08x  seq %-10" PRIu64 "  %" PRIu64 " packets",
	       indent, out ? "out" : "in", sa->spi, sa->seq,
	       out ? sa->stats.tx_packets : sa->stats.rx_packets);
	if (!out)
		printf("  window %u", sa->replay_window);
	if (sa->esn)
		printf("  esn");
	if (sa->stats.rx_replay)
		printf("  replay %" PRIu64, sa->stats.rx_replay);
	if (sa->stats.rx_auth_fail)
		printf("  auth-fail %" PRIu64, sa->stats.rx_auth_fail);
	putchar('\n');
	if (!has_lifetime(sa) && !has_limits(sa) && !ESPTUN_HAS(sa, ESPTUN_A_SA_EXPIRE))
		return;
	printf("%s  lifetime:", indent);
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_BYTES)) {
		printf("%s %" PRIu64 " B", sep, sa->bytes);
		sep = ",";
	}
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_PACKETS)) {
		printf("%s %" PRIu64 " packets", sep, sa->packets);
		sep = ",";
	}
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_AGE))
		printf("%s age %" PRIu64 "s", sep, sa->age);
	for (i = 0; i < NLIMITS; i++)
		if (LIMIT_OF(&sa->limits, i))
			printf("  %s %" PRIu64, limit_names[i].name, LIMIT_OF(&sa->limits, i));
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_EXPIRE))
		printf("  expired %s", sa->expire == ESPTUN_EXPIRE_HARD ? "hard" : "soft");
	putchar('\n');
}

static void print_human(const struct esptun_dev_list *list)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t i, j, k;

	for (i = 0; i < list->n; i++) {
		const struct esptun_dev_info *d = list->devs[i];

		if (i)
			putchar('\n');
		printf("interface: %s\n", d->ifname);
		print_drops("  drops: ", &d->stats, &d->stats2);
		for (j = 0; j < d->ntunnels; j++) {
			const struct esptun_tunnel_info *t = d->tunnels[j];
			int dead = ESPTUN_HAS(t, ESPTUN_A_TUNNEL_LIVENESS) &&
				   t->liveness == ESPTUN_TUNNEL_STATE_DOWN;

			printf("\ntunnel %u: %s -> %s  %s%s  weight %u  share %.1f%%\n",
			       t->id, addr_str(&t->local, a), addr_str(&t->remote, b),
			       t->state == ESPTUN_TUNNEL_STATE_UP ? "up" : "down",
			       t->admin_state != ESPTUN_TUNNEL_STATE_UP ? " (admin)" :
			       dead ? " (liveness)" : "",
			       t->weight, t->share / 10000.0);
			if (t->npins) {
				printf("  pinned:");
				for (k = 0; k < t->npins; k++)
					printf("%s %s", k ? "," : "", addr_str(&t->pins[k], a));
				putchar('\n');
			}
			if (t->keepalive || t->dead_after) {
				printf("  liveness:");
				if (t->keepalive)
					printf(" keepalive %us", t->keepalive);
				if (t->dead_after)
					printf(" dead-after %us", t->dead_after);
				putchar('\n');
			}
			if (t->encap == ESPTUN_ENCAP_UDP) {
				printf("  encap: udp sport %u dport %u", t->encap_sport,
				       t->encap_dport);
				if (t->nat_keepalive)
					printf(" nat-keepalive %us", t->nat_keepalive);
				putchar('\n');
			}
			printf("  transfer: %" PRIu64 " packets (%" PRIu64
			       " B) received, %" PRIu64 " packets (%" PRIu64
			       " B) sent\n", t->stats.rx_packets, t->stats.rx_bytes,
			       t->stats.tx_packets, t->stats.tx_bytes);
			print_drops("  drops: ", &t->stats, &t->stats2);
			for (k = 0; k < t->nsas; k++)
				print_sa(t->sas[k], "  ");
		}
	}
}

static void json_stats(struct json *j, const struct esptun_stats *st,
		       const struct esptun_stats2 *st2)
{
	size_t i;

	for (i = 0; i < NSTATS; i++)
		json_u64(j, stats[i].name, stat(st, st2, i));
}

/* An SA as a JSON object: one shape in `show --json` and `sa get --json`. */
void json_sa(struct json *j, const struct esptun_sa_info *sa)
{
	int out = sa->dir == ESPTUN_SA_DIR_OUT;
	int i;

	json_open(j, NULL, '{');
	json_u64(j, "tunnel", sa->tunnel_id);
	json_str(j, "dir", out ? "out" : "in");
	json_u64(j, "spi", sa->spi);
	json_u64(j, "seq", sa->seq);
	json_u64(j, "packets", out ? sa->stats.tx_packets : sa->stats.rx_packets);
	json_u64(j, "bytes", out ? sa->stats.tx_bytes : sa->stats.rx_bytes);
	json_u64(j, "replay_drops", sa->stats.rx_replay);
	json_u64(j, "auth_failures", sa->stats.rx_auth_fail);
	json_u64(j, "malformed", sa->stats.rx_malformed);
	json_u64(j, out ? "tx_sa_expired" : "rx_sa_expired",
		 out ? sa->stats.tx_sa_expired : sa->stats.rx_sa_expired);
	json_bool(j, "esn", sa->esn);
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_REPLAY_WINDOW))
		json_u64(j, "replay_window", sa->replay_window);
	/* What the limits are compared with: inner packets and bytes. */
	if (has_lifetime(sa)) {
		json_open(j, "lifetime", '{');
		json_u64(j, "bytes", sa->bytes);
		json_u64(j, "packets", sa->packets);
		json_u64(j, "age", sa->age);
		json_close(j, '}');
	}
	/* Seconds since the SA last carried a packet: its last use. */
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_IDLE))
		json_u64(j, "idle", sa->idle);
	if (has_limits(sa)) {
		json_open(j, "limits", '{');
		for (i = 0; i < NLIMITS; i++)
			json_u64(j, limit_names[i].json, LIMIT_OF(&sa->limits, i));
		json_close(j, '}');
	}
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_EXPIRE))
		json_str(j, "expire", sa->expire == ESPTUN_EXPIRE_HARD ? "hard" : "soft");
	json_close(j, '}');
}

static void print_json(const struct esptun_dev_list *list)
{
	char a[INET6_ADDRSTRLEN];
	struct json j;
	size_t i, k, s;

	json_init(&j, stdout);
	json_open(&j, NULL, '[');
	for (i = 0; i < list->n; i++) {
		const struct esptun_dev_info *d = list->devs[i];

		json_open(&j, NULL, '{');
		json_str(&j, "ifname", d->ifname);
		json_u64(&j, "ifindex", d->ifindex);
		json_open(&j, "features", '[');
#define F(bit, name) \
		if (d->features & ESPTUN_FEATURE_##bit) \
			json_str(&j, NULL, name);
		ESPTUN_FEATURE_NAMES(F)
#undef F
		json_close(&j, ']');
		json_open(&j, "stats", '{');
		json_stats(&j, &d->stats, &d->stats2);
		json_close(&j, '}');
		json_open(&j, "tunnels", '[');
		for (k = 0; k < d->ntunnels; k++) {
			const struct esptun_tunnel_info *t = d->tunnels[k];

			json_open(&j, NULL, '{');
			json_u64(&j, "id", t->id);
			json_str(&j, "local", addr_str(&t->local, a));
			json_str(&j, "remote", addr_str(&t->remote, a));
			json_str(&j, "state", t->state == ESPTUN_TUNNEL_STATE_UP ?
				 "up" : "down");
			json_str(&j, "admin", t->admin_state == ESPTUN_TUNNEL_STATE_UP ?
				 "up" : "down");
			json_u64(&j, "weight", t->weight);
			json_double(&j, "share", t->share / 1e6);
			json_open(&j, "pins", '[');
			for (s = 0; s < t->npins; s++)
				json_str(&j, NULL, addr_str(&t->pins[s], a));
			json_close(&j, ']');
			json_u64(&j, "keepalive", t->keepalive);
			json_u64(&j, "dead_after", t->dead_after);
			if (ESPTUN_HAS(t, ESPTUN_A_TUNNEL_LIVENESS))
				json_str(&j, "liveness", t->liveness == ESPTUN_TUNNEL_STATE_DOWN ?
					 "down" : "up");
			json_str(&j, "encap", t->encap == ESPTUN_ENCAP_UDP ? "udp" : "none");
			if (t->encap == ESPTUN_ENCAP_UDP) {
				json_u64(&j, "sport", t->encap_sport);
				json_u64(&j, "dport", t->encap_dport);
				json_u64(&j, "nat_keepalive", t->nat_keepalive);
			}
			json_stats(&j, &t->stats, &t->stats2);
			json_open(&j, "sas", '[');
			for (s = 0; s < t->nsas; s++)
				json_sa(&j, t->sas[s]);
			json_close(&j, ']');
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_end(&j);
}

int cmd_show(int argc, char **argv)
{
	struct esptun_dev_list *list;
	const char *dev = NULL;
	struct esptun *h;
	int json = 0, i, ret;
	char what[64];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-')
			return fail("show: unknown option \"%s\"", shown(argv[i]));
		else if (!dev)
			dev = argv[i];
		else
			return fail("show: unexpected argument \"%s\"", shown(argv[i]));
	}
	if (dev && strlen(dev) >= IF_NAMESIZE)
		return fail("show: device name \"%s\" is too long", shown(dev));
	if (open_lib(&h))
		return 1;
	/* A dump, filtered to DEV if given. */
	ret = esptun_dev_dump(h, dev ? ESPTUN_DEV_NAME(dev) : NULL, &list);
	if (ret) {
		if (dev)
			snprintf(what, sizeof(what), "show %s", dev);
		ret = check_lib(h, ret, dev ? what : "show");
		esptun_close(h);
		return ret;
	}
	esptun_close(h);
	if (json)
		print_json(list);
	else
		print_human(list);
	esptun_dev_list_free(list);
	return 0;
}
