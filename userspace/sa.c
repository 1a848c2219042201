// SPDX-License-Identifier: GPL-2.0
/*
 * esptun sa add DEV tunnel ID dir in|out spi SPI key KEY [esn]
 *                   [replay-window N] [seq N]
 * esptun sa del DEV dir in|out spi SPI
 */
#include <string.h>
#include <linux/esptun.h>

#include "esptun.h"

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

int cmd_sa(int argc, char **argv)
{
	int add, esn = 0, have_tunnel = 0, have_dir = 0, have_spi = 0;
	int have_window = 0, have_seq = 0, i, ret = 1;
	uint32_t tunnel = 0, spi = 0, window = 0;
	size_t key_len = 0;
	uint8_t key[KEY_MAX], dir = 0;
	struct esptun_nl nl;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint64_t seq = 0;
	const char *dev;
	char what[80];

	add = parse_verb("sa", argc, argv, (const char *const[]){ "add", "del", NULL });
	if (add < 0)
		return 1;
	add = !add;
	dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (add && !strcmp(k, "esn")) {
			esn = 1;
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
		fail("sa del: dir and spi are required");
		goto out;
	}

	if (open_nl(&nl))
		goto out;
	msg = dev_request(&nl, add ? ESPTUN_CMD_SA_NEW : ESPTUN_CMD_SA_DEL, dev);
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
		     (have_seq && nla_put_u64(msg, ESPTUN_A_SA_SEQ, seq))))) {
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
	ret = send_request(&nl, msg, what);
	esptun_nl_close(&nl);
out:
	explicit_bzero(key, sizeof(key));
	return ret;
}
