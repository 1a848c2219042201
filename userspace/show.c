// SPDX-License-Identifier: GPL-2.0
/*
 * esptun show [DEV] [--json]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <linux/esptun.h>

#include "esptun.h"
#include "json.h"

#define NSTATS ESPTUN_A_STATS_MAX

/* Counter names, by attribute number - 1: also the JSON keys.  NULL: the
 * pad attribute, no counter.
 */
static const char *const stat_names[NSTATS] = {
	"tx_packets", "tx_bytes", "rx_packets", "rx_bytes", "rx_no_sa",
	"rx_replay", "rx_auth_fail", "rx_malformed", "rx_drops",
	"tx_seq_exhausted", "tx_no_tunnel", "tx_errors", "tx_too_big", NULL,
	"tx_sa_expired", "rx_sa_expired",
};

#define ST(s, name) ((s)[ESPTUN_A_STATS_##name - 1])

struct sa_info {
	uint8_t dir;
	uint32_t spi;
	uint64_t seq;
	int esn;
	int has_window;
	uint32_t window;
	uint64_t st[NSTATS];
};

struct tunnel_info {
	uint32_t id;
	char local[INET6_ADDRSTRLEN];
	char remote[INET6_ADDRSTRLEN];
	int up;
	int admin_up;
	unsigned int weight;
	uint32_t share;		/* millionths of the hashed flows */
	unsigned int keepalive;
	unsigned int dead_after;
	int dead;
	int encap;		/* enum esptun_encap */
	unsigned int sport, dport;
	unsigned int nat_keepalive;
	char pins[ESPTUN_TOOL_MAX_PINS][INET6_ADDRSTRLEN];
	int npins;
	uint64_t st[NSTATS];
	struct sa_info *sas;
	size_t nsas;
};

struct dev_info {
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
	uint64_t st[NSTATS];
	struct tunnel_info *tunnels;
	size_t ntunnels;
};

struct dev_list {
	struct dev_info *devs;
	size_t n;
};

static void *grow(void *arr, size_t n, size_t size)
{
	void *p = realloc(arr, (n + 1) * size);

	if (p)
		memset((char *)p + n * size, 0, size);
	return p;
}

static void parse_stats(struct nlattr *nest, uint64_t *st)
{
	struct nlattr *a;
	int rem;

	if (!nest)
		return;
	nla_for_each_nested(a, nest, rem) {
		int t = nla_type(a);

		if (t >= 1 && t <= NSTATS && nla_len(a) == 8)
			st[t - 1] = nla_get_u64(a);
	}
}

static void addr_str(struct nlattr *v4, struct nlattr *v6, char *out)
{
	if (v4 && nla_len(v4) == 4)
		inet_ntop(AF_INET, nla_data(v4), out, INET6_ADDRSTRLEN);
	else if (v6 && nla_len(v6) == 16)
		inet_ntop(AF_INET6, nla_data(v6), out, INET6_ADDRSTRLEN);
	else
		strcpy(out, "?");
}

static int parse_sa(struct nlattr *nest, struct tunnel_info *t)
{
	struct nlattr *tb[ESPTUN_A_SA_MAX + 1];
	struct sa_info *sa, *sas;

	if (nla_parse_nested(tb, ESPTUN_A_SA_MAX, nest, NULL) ||
	    !tb[ESPTUN_A_SA_DIR] || !tb[ESPTUN_A_SA_SPI])
		return -EPROTO;
	sas = grow(t->sas, t->nsas, sizeof(*sas));
	if (!sas)
		return -ENOMEM;
	t->sas = sas;
	sa = &sas[t->nsas++];
	sa->dir = nla_get_u8(tb[ESPTUN_A_SA_DIR]);
	sa->spi = nla_get_u32(tb[ESPTUN_A_SA_SPI]);
	if (tb[ESPTUN_A_SA_SEQ])
		sa->seq = nla_get_u64(tb[ESPTUN_A_SA_SEQ]);
	sa->esn = !!tb[ESPTUN_A_SA_ESN];
	if (tb[ESPTUN_A_SA_REPLAY_WINDOW]) {
		sa->has_window = 1;
		sa->window = nla_get_u32(tb[ESPTUN_A_SA_REPLAY_WINDOW]);
	}
	parse_stats(tb[ESPTUN_A_SA_STATS], sa->st);
	return 0;
}

static int parse_tunnel(struct nlattr *nest, struct dev_info *d)
{
	struct nlattr *tb[ESPTUN_A_TUNNEL_MAX + 1], *a;
	struct tunnel_info *t, *tunnels;
	int rem, ret;

	if (nla_parse_nested(tb, ESPTUN_A_TUNNEL_MAX, nest, NULL) ||
	    !tb[ESPTUN_A_TUNNEL_ID])
		return -EPROTO;
	tunnels = grow(d->tunnels, d->ntunnels, sizeof(*tunnels));
	if (!tunnels)
		return -ENOMEM;
	d->tunnels = tunnels;
	t = &tunnels[d->ntunnels++];
	t->id = nla_get_u32(tb[ESPTUN_A_TUNNEL_ID]);
	addr_str(tb[ESPTUN_A_TUNNEL_LOCAL_IPV4], tb[ESPTUN_A_TUNNEL_LOCAL_IPV6],
		   t->local);
	addr_str(tb[ESPTUN_A_TUNNEL_REMOTE_IPV4], tb[ESPTUN_A_TUNNEL_REMOTE_IPV6],
		   t->remote);
	t->up = tb[ESPTUN_A_TUNNEL_STATE] &&
		nla_get_u8(tb[ESPTUN_A_TUNNEL_STATE]) == ESPTUN_TUNNEL_STATE_UP;
	t->admin_up = !tb[ESPTUN_A_TUNNEL_ADMIN_STATE] ||
		      nla_get_u8(tb[ESPTUN_A_TUNNEL_ADMIN_STATE]) == ESPTUN_TUNNEL_STATE_UP;
	t->weight = tb[ESPTUN_A_TUNNEL_WEIGHT] ?
		    nla_get_u8(tb[ESPTUN_A_TUNNEL_WEIGHT]) : 1;
	if (tb[ESPTUN_A_TUNNEL_SHARE])
		t->share = nla_get_u32(tb[ESPTUN_A_TUNNEL_SHARE]);
	if (tb[ESPTUN_A_TUNNEL_KEEPALIVE])
		t->keepalive = nla_get_u16(tb[ESPTUN_A_TUNNEL_KEEPALIVE]);
	if (tb[ESPTUN_A_TUNNEL_DEAD_AFTER])
		t->dead_after = nla_get_u16(tb[ESPTUN_A_TUNNEL_DEAD_AFTER]);
	t->dead = tb[ESPTUN_A_TUNNEL_LIVENESS] &&
		  nla_get_u8(tb[ESPTUN_A_TUNNEL_LIVENESS]) == ESPTUN_TUNNEL_STATE_DOWN;
	if (tb[ESPTUN_A_TUNNEL_ENCAP])
		t->encap = nla_get_u8(tb[ESPTUN_A_TUNNEL_ENCAP]);
	if (tb[ESPTUN_A_TUNNEL_ENCAP_SPORT])
		t->sport = ntohs(nla_get_u16(tb[ESPTUN_A_TUNNEL_ENCAP_SPORT]));
	if (tb[ESPTUN_A_TUNNEL_ENCAP_DPORT])
		t->dport = ntohs(nla_get_u16(tb[ESPTUN_A_TUNNEL_ENCAP_DPORT]));
	if (tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE])
		t->nat_keepalive = nla_get_u16(tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE]);
	if (tb[ESPTUN_A_TUNNEL_PINS]) {
		nla_for_each_nested(a, tb[ESPTUN_A_TUNNEL_PINS], rem) {
			if (t->npins == ESPTUN_TOOL_MAX_PINS)
				break;
			if (nla_type(a) == ESPTUN_A_PIN_IPV4)
				addr_str(a, NULL, t->pins[t->npins++]);
			else if (nla_type(a) == ESPTUN_A_PIN_IPV6)
				addr_str(NULL, a, t->pins[t->npins++]);
		}
	}
	parse_stats(tb[ESPTUN_A_TUNNEL_STATS], t->st);
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != ESPTUN_A_TUNNEL_SA)
			continue;
		ret = parse_sa(a, t);
		if (ret)
			return ret;
	}
	return 0;
}

/* One message; a device may span several (same ifindex, in a row). */
static int parse_dev(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[ESPTUN_A_MAX + 1], *a;
	struct dev_list *list = arg;
	struct dev_info *d, *devs;
	unsigned int ifindex;
	int rem, ret;

	if (genlmsg_parse(nlh, 0, tb, ESPTUN_A_MAX, NULL))
		return -EPROTO;
	if (!tb[ESPTUN_A_IFINDEX] || !tb[ESPTUN_A_IFNAME])
		return -EPROTO;
	ifindex = nla_get_u32(tb[ESPTUN_A_IFINDEX]);
	if (list->n && list->devs[list->n - 1].ifindex == ifindex) {
		d = &list->devs[list->n - 1];
	} else {
		devs = grow(list->devs, list->n, sizeof(*devs));
		if (!devs)
			return -ENOMEM;
		list->devs = devs;
		d = &devs[list->n++];
		d->ifindex = ifindex;
		snprintf(d->ifname, sizeof(d->ifname), "%s",
			 nla_get_string(tb[ESPTUN_A_IFNAME]));
	}
	parse_stats(tb[ESPTUN_A_STATS], d->st);
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != ESPTUN_A_TUNNEL)
			continue;
		ret = parse_tunnel(a, d);
		if (ret)
			return ret;
	}
	return 0;
}

static void free_list(struct dev_list *list)
{
	size_t i, j;

	for (i = 0; i < list->n; i++) {
		for (j = 0; j < list->devs[i].ntunnels; j++)
			free(list->devs[i].tunnels[j].sas);
		free(list->devs[i].tunnels);
	}
	free(list->devs);
	list->devs = NULL;
	list->n = 0;
}

/* "rx_replay 3, rx_auth_fail 1" for the drop counters that are not 0. */
static void print_drops(const char *indent, const uint64_t *st)
{
	int i, first = 1;

	for (i = ESPTUN_A_STATS_RX_NO_SA - 1; i < NSTATS; i++) {
		if (!st[i] || !stat_names[i])
			continue;
		printf("%s%s %" PRIu64, first ? indent : ", ", stat_names[i], st[i]);
		first = 0;
	}
	if (!first)
		putchar('\n');
}

static void print_human(const struct dev_list *list)
{
	size_t i, j, k;

	for (i = 0; i < list->n; i++) {
		const struct dev_info *d = &list->devs[i];

		if (i)
			putchar('\n');
		printf("interface: %s\n", d->ifname);
		print_drops("  drops: ", d->st);
		for (j = 0; j < d->ntunnels; j++) {
			const struct tunnel_info *t = &d->tunnels[j];

			printf("\ntunnel %u: %s -> %s  %s%s  weight %u  share %.1f%%\n",
			       t->id, t->local, t->remote, t->up ? "up" : "down",
			       !t->admin_up ? " (admin)" : t->dead ? " (liveness)" : "",
			       t->weight, t->share / 10000.0);
			if (t->npins) {
				printf("  pinned:");
				for (k = 0; k < (size_t)t->npins; k++)
					printf("%s %s", k ? "," : "", t->pins[k]);
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
				printf("  encap: udp sport %u dport %u", t->sport,
				       t->dport);
				if (t->nat_keepalive)
					printf(" nat-keepalive %us", t->nat_keepalive);
				putchar('\n');
			}
			printf("  transfer: %" PRIu64 " packets (%" PRIu64
			       " B) received, %" PRIu64 " packets (%" PRIu64
			       " B) sent\n", ST(t->st, RX_PACKETS),
			       ST(t->st, RX_BYTES), ST(t->st, TX_PACKETS),
			       ST(t->st, TX_BYTES));
			print_drops("  drops: ", t->st);
			for (k = 0; k < t->nsas; k++) {
				const struct sa_info *sa = &t->sas[k];
				int out = sa->dir == ESPTUN_SA_DIR_OUT;

				printf("  sa %-3s spi 0x%08x  seq %-10" PRIu64
				       "  %" PRIu64 " packets",
				       out ? "out" : "in", sa->spi, sa->seq,
				       out ? ST(sa->st, TX_PACKETS) :
					     ST(sa->st, RX_PACKETS));
				if (!out)
					printf("  window %u", sa->window);
				if (sa->esn)
					printf("  esn");
				if (ST(sa->st, RX_REPLAY))
					printf("  replay %" PRIu64, ST(sa->st, RX_REPLAY));
				if (ST(sa->st, RX_AUTH_FAIL))
					printf("  auth-fail %" PRIu64,
					       ST(sa->st, RX_AUTH_FAIL));
				putchar('\n');
			}
		}
	}
}

static void json_stats(struct json *j, const uint64_t *st)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		if (stat_names[i])
			json_u64(j, stat_names[i], st[i]);
}

static void json_sa(struct json *j, const struct sa_info *sa)
{
	int out = sa->dir == ESPTUN_SA_DIR_OUT;

	json_open(j, NULL, '{');
	json_str(j, "dir", out ? "out" : "in");
	json_u64(j, "spi", sa->spi);
	json_u64(j, "seq", sa->seq);
	json_u64(j, "packets", out ? ST(sa->st, TX_PACKETS) : ST(sa->st, RX_PACKETS));
	json_u64(j, "bytes", out ? ST(sa->st, TX_BYTES) : ST(sa->st, RX_BYTES));
	json_u64(j, "replay_drops", ST(sa->st, RX_REPLAY));
	json_u64(j, "auth_failures", ST(sa->st, RX_AUTH_FAIL));
	json_u64(j, "malformed", ST(sa->st, RX_MALFORMED));
	json_u64(j, out ? "tx_sa_expired" : "rx_sa_expired",
		 out ? ST(sa->st, TX_SA_EXPIRED) : ST(sa->st, RX_SA_EXPIRED));
	json_bool(j, "esn", sa->esn);
	if (sa->has_window)
		json_u64(j, "replay_window", sa->window);
	json_close(j, '}');
}

static void print_json(const struct dev_list *list)
{
	struct json j;
	size_t i, k, s;

	json_init(&j, stdout);
	json_open(&j, NULL, '[');
	for (i = 0; i < list->n; i++) {
		const struct dev_info *d = &list->devs[i];

		json_open(&j, NULL, '{');
		json_str(&j, "ifname", d->ifname);
		json_u64(&j, "ifindex", d->ifindex);
		json_open(&j, "stats", '{');
		json_stats(&j, d->st);
		json_close(&j, '}');
		json_open(&j, "tunnels", '[');
		for (k = 0; k < d->ntunnels; k++) {
			const struct tunnel_info *t = &d->tunnels[k];

			json_open(&j, NULL, '{');
			json_u64(&j, "id", t->id);
			json_str(&j, "local", t->local);
			json_str(&j, "remote", t->remote);
			json_str(&j, "state", t->up ? "up" : "down");
			json_str(&j, "admin", t->admin_up ? "up" : "down");
			json_u64(&j, "weight", t->weight);
			json_double(&j, "share", t->share / 1e6);
			json_open(&j, "pins", '[');
			for (s = 0; s < (size_t)t->npins; s++)
				json_str(&j, NULL, t->pins[s]);
			json_close(&j, ']');
			json_u64(&j, "keepalive", t->keepalive);
			json_u64(&j, "dead_after", t->dead_after);
			if (t->dead_after)
				json_str(&j, "liveness", t->dead ? "down" : "up");
			json_str(&j, "encap", t->encap == ESPTUN_ENCAP_UDP ? "udp" : "none");
			if (t->encap == ESPTUN_ENCAP_UDP) {
				json_u64(&j, "sport", t->sport);
				json_u64(&j, "dport", t->dport);
				json_u64(&j, "nat_keepalive", t->nat_keepalive);
			}
			json_stats(&j, t->st);
			json_open(&j, "sas", '[');
			for (s = 0; s < t->nsas; s++)
				json_sa(&j, &t->sas[s]);
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
	char errmsg[256], what[64];
	struct dev_list list = { 0 };
	const char *dev = NULL;
	struct esptun_nl nl;
	int json = 0, i, ret, tries;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-')
			return fail("show: unknown option \"%s\"", argv[i]);
		else if (!dev)
			dev = argv[i];
		else
			return fail("show: unexpected argument \"%s\"", argv[i]);
	}
	if (dev && strlen(dev) >= IF_NAMESIZE)
		return fail("show: device name \"%s\" is too long", dev);
	if (open_nl(&nl))
		return 1;
	/* A dump, filtered to DEV if given: a device may take several
	 * messages.  Interrupted by a concurrent change, it starts over.
	 */
	for (tries = 0; tries < 10; tries++) {
		struct nl_msg *msg;

		msg = esptun_nl_msg(&nl, ESPTUN_CMD_DEV_GET, NLM_F_DUMP);
		if (!msg || (dev && nla_put_string(msg, ESPTUN_A_IFNAME, dev))) {
			nlmsg_free(msg);
			ret = -ENOMEM;
			break;
		}
		free_list(&list);
		ret = esptun_nl_talk(&nl, msg, parse_dev, &list, errmsg,
				     sizeof(errmsg));
		if (ret != -EINTR)
			break;
	}
	esptun_nl_close(&nl);
	if (ret) {
		free_list(&list);
		if (dev)
			snprintf(what, sizeof(what), "show %s", dev);
		return fail_nl(dev ? what : "show", ret, errmsg);
	}
	if (json)
		print_json(&list);
	else
		print_human(&list);
	free_list(&list);
	return 0;
}
