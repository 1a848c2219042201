// SPDX-License-Identifier: GPL-2.0
/*
 * esptun sa add DEV tunnel ID dir in|out spi SPI key KEY [esn]
 *                   [replay-window N] [seq N]
 *                   [soft-bytes N] [hard-bytes N] [soft-packets N]
 *                   [hard-packets N] [soft-seconds N] [hard-seconds N]
 * esptun sa del DEV dir in|out spi SPI
 * esptun sa get DEV dir in|out spi SPI [--json]
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "json.h"

enum { ADD, DEL, GET, ALLOC_SPI };

static int parse_dir(const char *s, uint8_t *dir)
{
	if (!strcmp(s, "in"))
		*dir = ESPTUN_SA_DIR_IN;
	else if (!strcmp(s, "out"))
		*dir = ESPTUN_SA_DIR_OUT;
	else
		return fail("sa: dir must be in or out, not \"%s\"", shown(s)), -1;
	return 0;
}

#define LIMIT_NAME(kw, f) { kw, #f, offsetof(struct esptun_sa_limits, f) }
const struct limit_name limit_names[NLIMITS] = {
	LIMIT_NAME("soft-bytes", soft_bytes),
	LIMIT_NAME("hard-bytes", hard_bytes),
	LIMIT_NAME("soft-packets", soft_packets),
	LIMIT_NAME("hard-packets", hard_packets),
	LIMIT_NAME("soft-seconds", soft_seconds),
	LIMIT_NAME("hard-seconds", hard_seconds),
};

/* The limit the "sa add" keyword @k sets, or NULL. */
static uint64_t *parse_limit(const char *k, struct esptun_sa_limits *l)
{
	size_t i;

	for (i = 0; i < NLIMITS; i++)
		if (!strcmp(k, limit_names[i].name))
			return &LIMIT(l, i);
	return NULL;
}

/* The SA "sa get" found, as a line or as `show --json` has it. */
static void print_sa(const char *dev, const struct esptun_sa_info *sa, int json)
{
	const char *dir = sa->dir == ESPTUN_SA_DIR_OUT ? "out" : "in";
	const char *expired = !ESPTUN_HAS(sa, ESPTUN_A_SA_EXPIRE) ? "no" :
			      sa->expire == ESPTUN_EXPIRE_HARD ? "hard" : "soft";
	struct json j;
	size_t i;

	if (json) {
		json_init(&j, stdout);
		json_sa(&j, sa);
		json_end(&j);
		return;
	}
	printf("%s: tunnel %u sa %s spi 0x%08x  seq %" PRIu64 "  %" PRIu64
	       " packets  %" PRIu64 " bytes  age %" PRIu64 "s", dev,
	       sa->tunnel_id, dir, sa->spi, sa->seq, sa->packets, sa->bytes,
	       sa->age);
	for (i = 0; i < NLIMITS; i++)
		if (ESPTUN_HAS(sa, ESPTUN_A_SA_SOFT_BYTES + (int)i))
			printf("  %s %" PRIu64, limit_names[i].name, LIMIT_OF(&sa->limits, i));
	if (ESPTUN_HAS(sa, ESPTUN_A_SA_EXPIRE))
		printf("  expired (%s)", expired);
	putchar('\n');
}

static int sa_get(struct esptun *h, const char *dev, uint8_t dir,
		  uint32_t spi, int json, const char *what)
{
	struct esptun_sa_info sa = { .size = sizeof(sa) };
	int ret;

	ret = check_lib(h, esptun_sa_get(h, ESPTUN_DEV_NAME(dev), dir, spi, &sa),
			what);
	if (!ret)
		print_sa(dev, &sa, json);
	return ret;
}

/* esptun sa alloc-spi DEV [min SPI] [max SPI]: prints the SPI reserved. */
static int sa_alloc_spi(int argc, char **argv)
{
	uint32_t min = 0, max = 0, spi, *v;
	const char *dev = argv[2];
	struct esptun *h;
	char what[64];
	int i, ret;

	for (i = 3; i < argc; i += 2) {
		if (!strcmp(argv[i], "min"))
			v = &min;
		else if (!strcmp(argv[i], "max"))
			v = &max;
		else
			return fail("sa alloc-spi: unknown argument \"%s\"", shown(argv[i]));
		if (i + 1 == argc)
			return fail("sa alloc-spi: \"%s\" needs a value", shown(argv[i]));
		if (parse_u32(argv[i], argv[i + 1], UINT32_MAX, v))
			return 1;
		if (!*v)
			return fail("sa alloc-spi: spi 0 is reserved");
	}
	if (strlen(dev) >= IF_NAMESIZE)
		return fail("device name \"%s\" is too long", shown(dev));
	if (open_lib(&h))
		return 1;
	snprintf(what, sizeof(what), "sa alloc-spi %s", dev);
	ret = check_lib(h, esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), min, max, &spi), what);
	if (!ret)
		printf("0x%08x\n", spi);
	esptun_close(h);
	return ret;
}

int cmd_sa(int argc, char **argv)
{
	int verb, have_tunnel = 0, have_dir = 0, have_spi = 0, json = 0, i;
	int ret = 1;
	struct esptun_sa_cfg cfg = { .size = sizeof(cfg) };
	uint8_t key[ESPTUN_KEY_LEN_MAX];
	const char *dev;
	struct esptun *h;
	char what[80];
	uint64_t *lim;

	verb = parse_verb("sa", argc, argv,
			  (const char *const[]){ "add", "del", "get", "alloc-spi", NULL });
	if (verb < 0)
		return 1;
	if (verb == ALLOC_SPI)
		return sa_alloc_spi(argc, argv);
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
			fail("sa %s: \"%s\" needs a value", argv[1], shown(k));
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
			fail("sa %s: unknown argument \"%s\"", argv[1], shown(k));
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
		fail("device name \"%s\" is too long", shown(dev));
		goto out;
	}

	if (open_lib(&h))
		goto out;
	snprintf(what, sizeof(what), "sa %s %s dir %s spi 0x%08x", argv[1], dev,
		 cfg.dir == ESPTUN_SA_DIR_IN ? "in" : "out", cfg.spi);
	if (verb == ADD)
		ret = check_lib(h, esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &cfg), what);
	else if (verb == DEL)
		ret = check_lib(h, esptun_sa_del(h, ESPTUN_DEV_NAME(dev),
						 cfg.dir, cfg.spi), what);
	else
		ret = sa_get(h, dev, cfg.dir, cfg.spi, json, what);
	esptun_close(h);
out:
	explicit_bzero(key, sizeof(key));
	return ret;
}
