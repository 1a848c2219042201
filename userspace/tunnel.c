// SPDX-License-Identifier: GPL-2.0
/*
 * esptun tunnel add DEV id ID local ADDR remote ADDR
 * esptun tunnel del DEV id ID
 */
#include <netinet/in.h>
#include <string.h>
#include <linux/esptun.h>

#include "esptun.h"

static int put_addr(struct nl_msg *msg, int family, const void *addr,
		    int v4, int v6)
{
	if (family == AF_INET)
		return nla_put(msg, v4, 4, addr);
	return nla_put(msg, v6, 16, addr);
}

int cmd_tunnel(int argc, char **argv)
{
	int add, lfam = 0, rfam = 0, have_id = 0, i, ret;
	uint8_t local[16], remote[16];
	const char *local_s = NULL, *remote_s = NULL, *dev;
	struct esptun_nl nl;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint32_t id = 0;
	char what[64];

	if (parse_add_del("tunnel", argc, argv, &add))
		return 1;
	dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *key = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return fail("tunnel %s: \"%s\" needs a value", argv[1], key);
		if (!strcmp(key, "id")) {
			if (parse_u32("tunnel id", val, UINT32_MAX, &id))
				return 1;
			have_id = 1;
		} else if (add && !strcmp(key, "local")) {
			if (parse_addr("local", val, &lfam, local))
				return 1;
			local_s = val;
		} else if (add && !strcmp(key, "remote")) {
			if (parse_addr("remote", val, &rfam, remote))
				return 1;
			remote_s = val;
		} else {
			return fail("tunnel %s: unknown argument \"%s\"", argv[1], key);
		}
		i++;
	}
	if (!have_id)
		return fail("tunnel %s: id is required", argv[1]);
	if (add && (!local_s || !remote_s))
		return fail("tunnel add: local and remote are required");
	if (add && lfam != rfam)
		return fail("tunnel add: local %s and remote %s are not of one family",
			    local_s, remote_s);

	if (open_nl(&nl))
		return 1;
	msg = dev_request(&nl, add ? ESPTUN_CMD_TUNNEL_NEW : ESPTUN_CMD_TUNNEL_DEL,
			  dev);
	if (!msg) {
		esptun_nl_close(&nl);
		return 1;
	}
	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL);
	if (!nest || nla_put_u32(msg, ESPTUN_A_TUNNEL_ID, id) ||
	    (add && (put_addr(msg, lfam, local, ESPTUN_A_TUNNEL_LOCAL_IPV4,
			      ESPTUN_A_TUNNEL_LOCAL_IPV6) ||
		     put_addr(msg, rfam, remote, ESPTUN_A_TUNNEL_REMOTE_IPV4,
			      ESPTUN_A_TUNNEL_REMOTE_IPV6)))) {
		nlmsg_free(msg);
		esptun_nl_close(&nl);
		return fail("out of memory");
	}
	nla_nest_end(msg, nest);
	snprintf(what, sizeof(what), "tunnel %s %s id %u", argv[1], dev, id);
	ret = send_request(&nl, msg, what);
	esptun_nl_close(&nl);
	return ret;
}
