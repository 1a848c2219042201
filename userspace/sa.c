// SPDX-License-Identifier: GPL-2.0
/*
 * esptun sa add DEV tunnel ID dir in|out spi SPI key KEY [esn]
 *                   [replay-window N] [seq N]
 *                   [soft-bytes N] [hard-bytes N] [soft-packets N]
 *                   [hard-packets N] [soft-seconds N] [hard-seconds N]
 * esptun sa del DEV dir in|out spi SPI
 * esptun sa get DEV dir in|out spi SPI [--json]
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "json.h"

enum { ADD, DEL, GET };

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

/* The lifetime keywords, in struct esptun_sa_limits order. */
static uint64_t *parse_limit(const char *k, struct esptun_sa_limits *l)
{
	static const char *const names[] = {
		"soft-bytes", "hard-bytes", "soft-packets", "hard-packets",
		"soft-seconds", "hard-seconds",
	};
	uint64_t *v[] = {
		&l->soft_bytes, &l->hard_bytes, &l->soft_packets,
		&l->hard_packets, &l->soft_seconds, &l->hard_seconds,
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(k, names[i]))
			return v[i];
	return NULL;
}

static int sa_get(struct esptun *h, const char *dev, uint8_t dir,
		  uint32_t spi, int json, const char *what)
{
	struct esptun_sa_info sa;
	struct json j;
	int ret;

	ret = check_lib(h, esptun_sa_get(h, dev, dir, spi, &sa), what);
	if (ret)
		return ret;
	if (json) {
		json_init(&j, stdout);
		json_sa(&j, &sa, 1);
		json_end(&j);
	} else {
		printf("tunnel %u: ", sa.tunnel_id);
		print_sa(&sa, "");
	}
	return 0;
}

int cmd_sa(int argc, char **argv)
{
	int verb, have_tunnel = 0, have_dir = 0, have_spi = 0, json = 0, i;
	int ret = 1;
	struct esptun_sa_cfg cfg = { 0 };
	uint8_t key[ESPTUN_MAX_KEY_LEN];
	const char *dev;
	struct esptun *h;
	char what[80];
	uint64_t *lim;

	verb = parse_verb("sa", argc, argv,
			  (const char *const[]){ "add", "del", "get", NULL });
	if (verb < 0)
		return 1;
	dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (verb == ADD && !strcmp(k, "esn")) {
			cfg.flags |= ESPTUN_SA_HAS_ESN;
			continue;
		}
		if (verb == GET && !strcmp(k, "--json")) {
			json = 1;
			continue;
		}
		if (!val) {
			fail("sa %s: \"%s\" needs a value", argv[1], k);
			goto out;
		}
		i++;
		if (!strcmp(k, "dir")) {
			if (parse_dir(val, &cfg.dir))
				goto out;
			have_dir = 1;
		} else if (!strcmp(k, "spi")) {
			if (parse_u32("spi", val, UINT32_MAX, &cfg.spi))
				goto out;
			if (!cfg.spi) {
				fail("sa %s: spi 0 is reserved", argv[1]);
				goto out;
			}
			have_spi = 1;
		} else if (verb == ADD && !strcmp(k, "tunnel")) {
			if (parse_u32("tunnel id", val, UINT32_MAX, &cfg.tunnel_id))
				goto out;
			have_tunnel = 1;
		} else if (verb == ADD && !strcmp(k, "key")) {
			if (parse_key(val, key, sizeof(key), &cfg.key_len))
				goto out;
			cfg.key = key;
		} else if (verb == ADD && !strcmp(k, "replay-window")) {
			if (parse_u32("replay-window", val, 4096, &cfg.replay_window))
				goto out;
			cfg.flags |= ESPTUN_SA_HAS_REPLAY_WINDOW;
		} else if (verb == ADD && !strcmp(k, "seq")) {
			if (parse_u64("seq", val, &cfg.seq))
				goto out;
			cfg.flags |= ESPTUN_SA_HAS_SEQ;
		} else if (verb == ADD && (lim = parse_limit(k, &cfg.limits))) {
			if (parse_u64(k, val, lim))
				goto out;
		} else {
			fail("sa %s: unknown argument \"%s\"", argv[1], k);
			goto out;
		}
	}
	if (verb == ADD && (!have_tunnel || !have_dir || !have_spi || !cfg.key_len)) {
		fail("sa add: tunnel, dir, spi and key are required");
		goto out;
	}
	if (verb != ADD && (!have_dir || !have_spi)) {
		fail("sa %s: dir and spi are required", argv[1]);
		goto out;
	}
	if (strlen(dev) >= IF_NAMESIZE) {
		fail("device name \"%s\" is too long", dev);
		goto out;
	}

	if (open_lib(&h))
		goto out;
	snprintf(what, sizeof(what), "sa %s %s dir %s spi 0x%08x", argv[1], dev,
		 cfg.dir == ESPTUN_SA_DIR_IN ? "in" : "out", cfg.spi);
	if (verb == ADD)
		ret = check_lib(h, esptun_sa_add(h, dev, &cfg), what);
	else if (verb == DEL)
		ret = check_lib(h, esptun_sa_del(h, dev, cfg.dir, cfg.spi), what);
	else
		ret = sa_get(h, dev, cfg.dir, cfg.spi, json, what);
	esptun_close(h);
out:
	explicit_bzero(key, sizeof(key));
	return ret;
}
