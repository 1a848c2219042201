// SPDX-License-Identifier: GPL-2.0
/*
 * esptun sa add DEV tunnel ID dir in|out spi SPI key KEY [esn]
 *                   [replay-window N] [seq N] [soft-bytes N] [hard-bytes N]
 *                   [soft-packets N] [hard-packets N] [soft-seconds N]
 *                   [hard-seconds N]
 * esptun sa del DEV dir in|out spi SPI
 * esptun sa get DEV dir in|out spi SPI [--json]
 */
#include <inttypes.h>
#include <string.h>
#include <linux/esptun.h>

#include "esptun.h"
#include "json.h"

/* Lifetime limits: the keyword is also the JSON key, with '_' for '-'. */
static const struct {
	const char *name, *json;
	int attr;
} limits[] = {
	{ "soft-bytes", "soft_bytes", ESPTUN_A_SA_SOFT_BYTES },
	{ "hard-bytes", "hard_bytes", ESPTUN_A_SA_HARD_BYTES },
	{ "soft-packets", "soft_packets", ESPTUN_A_SA_SOFT_PACKETS },
	{ "hard-packets", "hard_packets", ESPTUN_A_SA_HARD_PACKETS },
	{ "soft-seconds", "soft_seconds", ESPTUN_A_SA_SOFT_SECONDS },
	{ "hard-seconds", "hard_seconds", ESPTUN_A_SA_HARD_SECONDS },
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

static int limit_index(const char *k)
{
	size_t i;

	for (i = 0; i < NLIMITS; i++)
		if (!strcmp(k, limits[i].name))
			return (int)i;
	return -1;
}

/* The SA of a "sa get" reply, printed as a line or a JSON object. */
static int print_sa(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ESPTUN_A_MAX + 1], *s[ESPTUN_A_SA_MAX + 1];
	const int *json = arg;
	const char *dir;
	struct json j;
	uint64_t v;
	size_t i;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ESPTUN_A_MAX, NULL) ||
	    !tb[ESPTUN_A_IFNAME] || !tb[ESPTUN_A_SA] ||
	    nla_parse_nested(s, ESPTUN_A_SA_MAX, tb[ESPTUN_A_SA], NULL) ||
	    !s[ESPTUN_A_SA_DIR] || !s[ESPTUN_A_SA_SPI] || !s[ESPTUN_A_SA_TUNNEL_ID])
		return NL_SKIP;
	dir = nla_get_u8(s[ESPTUN_A_SA_DIR]) == ESPTUN_SA_DIR_OUT ? "out" : "in";
	if (*json) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "ifname", nla_get_string(tb[ESPTUN_A_IFNAME]));
		json_u64(&j, "tunnel", nla_get_u32(s[ESPTUN_A_SA_TUNNEL_ID]));
		json_str(&j, "dir", dir);
		json_u64(&j, "spi", nla_get_u32(s[ESPTUN_A_SA_SPI]));
		json_u64(&j, "seq", s[ESPTUN_A_SA_SEQ] ? nla_get_u64(s[ESPTUN_A_SA_SEQ]) : 0);
		json_u64(&j, "bytes", s[ESPTUN_A_SA_BYTES] ? nla_get_u64(s[ESPTUN_A_SA_BYTES]) : 0);
		json_u64(&j, "packets", s[ESPTUN_A_SA_PACKETS] ? nla_get_u64(s[ESPTUN_A_SA_PACKETS]) : 0);
		json_u64(&j, "age", s[ESPTUN_A_SA_AGE] ? nla_get_u64(s[ESPTUN_A_SA_AGE]) : 0);
		for (i = 0; i < NLIMITS; i++)
			json_u64(&j, limits[i].json, s[limits[i].attr] ?
				 nla_get_u64(s[limits[i].attr]) : 0);
		json_str(&j, "expired", !s[ESPTUN_A_SA_EXPIRE] ? "no" :
			 nla_get_u8(s[ESPTUN_A_SA_EXPIRE]) == ESPTUN_EXPIRE_HARD ?
			 "hard" : "soft");
		json_close(&j, '}');
		json_end(&j);
		return NL_OK;
	}
	printf("%s: tunnel %u sa %s spi 0x%08x  seq %" PRIu64 "  %" PRIu64
	       " packets  %" PRIu64 " bytes  age %" PRIu64 "s",
	       nla_get_string(tb[ESPTUN_A_IFNAME]),
	       nla_get_u32(s[ESPTUN_A_SA_TUNNEL_ID]), dir,
	       nla_get_u32(s[ESPTUN_A_SA_SPI]),
	       s[ESPTUN_A_SA_SEQ] ? nla_get_u64(s[ESPTUN_A_SA_SEQ]) : 0,
	       s[ESPTUN_A_SA_PACKETS] ? nla_get_u64(s[ESPTUN_A_SA_PACKETS]) : 0,
	       s[ESPTUN_A_SA_BYTES] ? nla_get_u64(s[ESPTUN_A_SA_BYTES]) : 0,
	       s[ESPTUN_A_SA_AGE] ? nla_get_u64(s[ESPTUN_A_SA_AGE]) : 0);
	for (i = 0; i < NLIMITS; i++) {
		if (!s[limits[i].attr])
			continue;
		v = nla_get_u64(s[limits[i].attr]);
		printf("  %s %" PRIu64, limits[i].name, v);
	}
	if (s[ESPTUN_A_SA_EXPIRE])
		printf("  expired (%s)", nla_get_u8(s[ESPTUN_A_SA_EXPIRE]) ==
		       ESPTUN_EXPIRE_HARD ? "hard" : "soft");
	putchar('\n');
	return NL_OK;
}

#define KEY_MAX 36

static int parse_dir(const char *s, uint8_t *dir)
{
	if (!strcmp(s, "in"))
		*dir = ESPTUN_SA_DIR_IN;
	else if (!strcmp(s, "out"))
		*dir = ESPTUN_SA_DIR_OUT;
	else
		return fail("sa: dir must be in or out, not \"%s\"", s), -1;
	return 0;
}

/* The limits given (not 0): -1 when the message is full. */
static int put_limits(struct nl_msg *msg, const uint64_t *limit)
{
	size_t i;

	for (i = 0; i < NLIMITS; i++)
		if (limit[i] && nla_put_u64(msg, limits[i].attr, limit[i]))
			return -1;
	return 0;
}

int cmd_sa(int argc, char **argv)
{
	int verb, add, get, esn = 0, json = 0, have_tunnel = 0, have_dir = 0;
	int have_spi = 0, have_window = 0, have_seq = 0, i, l, ret = 1;
	uint64_t limit[NLIMITS] = { 0 };
	char errmsg[256];
	uint32_t tunnel = 0, spi = 0, window = 0;
	size_t key_len = 0;
	uint8_t key[KEY_MAX], dir = 0;
	struct esptun_nl nl;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint64_t seq = 0;
	const char *dev;
	char what[80];

	verb = parse_verb("sa", argc, argv,
			  (const char *const[]){ "add", "del", "get", NULL });
	if (verb < 0)
		return 1;
	add = verb == 0;
	get = verb == 2;
	dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (add && !strcmp(k, "esn")) {
			esn = 1;
			continue;
		}
		if (get && !strcmp(k, "--json")) {
			json = 1;
			continue;
		}
		if (!val) {
			fail("sa %s: \"%s\" needs a value", argv[1], k);
			goto out;
		}
		i++;
		if (!strcmp(k, "dir")) {
			if (parse_dir(val, &dir))
				goto out;
			have_dir = 1;
		} else if (!strcmp(k, "spi")) {
			if (parse_u32("spi", val, UINT32_MAX, &spi))
				goto out;
			if (!spi) {
				fail("sa %s: spi 0 is reserved", argv[1]);
				goto out;
			}
			have_spi = 1;
		} else if (add && !strcmp(k, "tunnel")) {
			if (parse_u32("tunnel id", val, UINT32_MAX, &tunnel))
				goto out;
			have_tunnel = 1;
		} else if (add && !strcmp(k, "key")) {
			if (parse_key(val, key, sizeof(key), &key_len))
				goto out;
		} else if (add && !strcmp(k, "replay-window")) {
			if (parse_u32("replay-window", val, 4096, &window))
				goto out;
			have_window = 1;
		} else if (add && !strcmp(k, "seq")) {
			if (parse_u64("seq", val, &seq))
				goto out;
			have_seq = 1;
		} else if (add && (l = limit_index(k)) >= 0) {
			if (parse_u64(k, val, &limit[l]))
				goto out;
		} else {
			fail("sa %s: unknown argument \"%s\"", argv[1], k);
			goto out;
		}
	}
	if (add && (!have_tunnel || !have_dir || !have_spi || !key_len)) {
		fail("sa add: tunnel, dir, spi and key are required");
		goto out;
	}
	if (!add && (!have_dir || !have_spi)) {
		fail("sa %s: dir and spi are required", argv[1]);
		goto out;
	}

	if (open_nl(&nl))
		goto out;
	msg = dev_request(&nl, add ? ESPTUN_CMD_SA_NEW :
			  get ? ESPTUN_CMD_SA_GET : ESPTUN_CMD_SA_DEL, dev);
	if (!msg) {
		esptun_nl_close(&nl);
		goto out;
	}
	nest = nla_nest_start(msg, ESPTUN_A_SA);
	if (!nest || nla_put_u8(msg, ESPTUN_A_SA_DIR, dir) ||
	    nla_put_u32(msg, ESPTUN_A_SA_SPI, spi) ||
	    (add && (nla_put_u32(msg, ESPTUN_A_SA_TUNNEL_ID, tunnel) ||
		     nla_put(msg, ESPTUN_A_SA_KEY, (int)key_len, key) ||
		     (esn && nla_put_flag(msg, ESPTUN_A_SA_ESN)) ||
		     (have_window &&
		      nla_put_u32(msg, ESPTUN_A_SA_REPLAY_WINDOW, window)) ||
		     (have_seq && nla_put_u64(msg, ESPTUN_A_SA_SEQ, seq)))) ||
	    put_limits(msg, limit)) {
		/* The message holds the key: wipe it before freeing. */
		explicit_bzero(nlmsg_data(nlmsg_hdr(msg)), nlmsg_datalen(nlmsg_hdr(msg)));
		nlmsg_free(msg);
		esptun_nl_close(&nl);
		fail("out of memory");
		goto out;
	}
	nla_nest_end(msg, nest);
	snprintf(what, sizeof(what), "sa %s %s dir %s spi 0x%08x", argv[1], dev,
		 dir == ESPTUN_SA_DIR_IN ? "in" : "out", spi);
	if (get) {
		ret = esptun_nl_talk(&nl, msg, print_sa, &json, errmsg,
				     sizeof(errmsg));
		ret = ret ? fail_nl(what, ret, errmsg) : 0;
	} else {
		ret = send_request(&nl, msg, what);
	}
	esptun_nl_close(&nl);
out:
	explicit_bzero(key, sizeof(key));
	return ret;
}
