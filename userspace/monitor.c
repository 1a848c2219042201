// SPDX-License-Identifier: GPL-2.0
/*
 * esptun monitor [--json]: print the family's events as they come.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/esptun.h>
#include <netlink/genl/ctrl.h>

#include "esptun.h"
#include "json.h"

static const char *const causes[] = {
	[ESPTUN_STATE_CAUSE_ADMIN] = "admin",
	[ESPTUN_STATE_CAUSE_LIVENESS] = "liveness",
	[ESPTUN_STATE_CAUSE_SA] = "sa",
	[ESPTUN_STATE_CAUSE_DELETED] = "deleted",
};

static const char *cause_name(struct nlattr *a)
{
	unsigned int c = a ? nla_get_u8(a) : ~0U;

	return c < sizeof(causes) / sizeof(causes[0]) ? causes[c] : "unknown";
}

static const char *const limit_names[] = {
	[ESPTUN_LIMIT_BYTES] = "bytes",
	[ESPTUN_LIMIT_PACKETS] = "packets",
	[ESPTUN_LIMIT_SECONDS] = "seconds",
	[ESPTUN_LIMIT_SEQ] = "seq",
};

static uint64_t get_u64(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

/* { IFINDEX, IFNAME, SA { TUNNEL_ID, DIR, SPI, EXPIRE, LIMIT, ... } } */
static void print_expire(struct nlattr **tb, int json)
{
	struct nlattr *s[ESPTUN_A_SA_MAX + 1];
	const char *dir, *kind, *limit;
	unsigned int l;
	struct json j;

	if (nla_parse_nested(s, ESPTUN_A_SA_MAX, tb[ESPTUN_A_SA], NULL) ||
	    !s[ESPTUN_A_SA_TUNNEL_ID] || !s[ESPTUN_A_SA_DIR] ||
	    !s[ESPTUN_A_SA_SPI] || !s[ESPTUN_A_SA_EXPIRE] || !s[ESPTUN_A_SA_LIMIT])
		return;
	dir = nla_get_u8(s[ESPTUN_A_SA_DIR]) == ESPTUN_SA_DIR_OUT ? "out" : "in";
	kind = nla_get_u8(s[ESPTUN_A_SA_EXPIRE]) == ESPTUN_EXPIRE_HARD ? "hard" : "soft";
	l = nla_get_u8(s[ESPTUN_A_SA_LIMIT]);
	limit = l < sizeof(limit_names) / sizeof(limit_names[0]) ? limit_names[l] :
								   "unknown";
	if (json) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "event", "sa-expire");
		json_str(&j, "ifname", nla_get_string(tb[ESPTUN_A_IFNAME]));
		if (tb[ESPTUN_A_IFINDEX])
			json_u64(&j, "ifindex", nla_get_u32(tb[ESPTUN_A_IFINDEX]));
		json_u64(&j, "tunnel", nla_get_u32(s[ESPTUN_A_SA_TUNNEL_ID]));
		json_str(&j, "dir", dir);
		json_u64(&j, "spi", nla_get_u32(s[ESPTUN_A_SA_SPI]));
		json_str(&j, "expire", kind);
		json_str(&j, "limit", limit);
		json_u64(&j, "bytes", get_u64(s[ESPTUN_A_SA_BYTES]));
		json_u64(&j, "packets", get_u64(s[ESPTUN_A_SA_PACKETS]));
		json_u64(&j, "age", get_u64(s[ESPTUN_A_SA_AGE]));
		json_u64(&j, "seq", get_u64(s[ESPTUN_A_SA_SEQ]));
		json_close(&j, '}');
		json_end(&j);
	} else {
		printf("%s: tunnel %u sa %s spi 0x%08x expired %s (%s)\n",
		       nla_get_string(tb[ESPTUN_A_IFNAME]),
		       nla_get_u32(s[ESPTUN_A_SA_TUNNEL_ID]), dir,
		       nla_get_u32(s[ESPTUN_A_SA_SPI]), kind, limit);
	}
}

static int print_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ESPTUN_A_MAX + 1], *t[ESPTUN_A_TUNNEL_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	const int *json = arg;
	const char *state;
	struct json j;

	if (gnlh->cmd == ESPTUN_CMD_SA_EXPIRE_NTF) {
		if (!genlmsg_parse(nlh, 0, tb, ESPTUN_A_MAX, NULL) &&
		    tb[ESPTUN_A_IFNAME] && tb[ESPTUN_A_SA])
			print_expire(tb, *json);
		fflush(stdout);
		return NL_OK;
	}
	/* Newer kernels may send events this tool does not know: skip. */
	if (gnlh->cmd != ESPTUN_CMD_TUNNEL_STATE_NTF)
		return NL_OK;
	if (genlmsg_parse(nlh, 0, tb, ESPTUN_A_MAX, NULL) ||
	    !tb[ESPTUN_A_IFNAME] || !tb[ESPTUN_A_TUNNEL] ||
	    nla_parse_nested(t, ESPTUN_A_TUNNEL_MAX, tb[ESPTUN_A_TUNNEL], NULL) ||
	    !t[ESPTUN_A_TUNNEL_ID] || !t[ESPTUN_A_TUNNEL_STATE])
		return NL_OK;
	state = nla_get_u8(t[ESPTUN_A_TUNNEL_STATE]) == ESPTUN_TUNNEL_STATE_UP ?
		"up" : "down";
	if (*json) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
		json_str(&j, "event", "tunnel-state");
		json_str(&j, "ifname", nla_get_string(tb[ESPTUN_A_IFNAME]));
		if (tb[ESPTUN_A_IFINDEX])
			json_u64(&j, "ifindex", nla_get_u32(tb[ESPTUN_A_IFINDEX]));
		json_u64(&j, "tunnel", nla_get_u32(t[ESPTUN_A_TUNNEL_ID]));
		json_str(&j, "state", state);
		json_str(&j, "cause", cause_name(t[ESPTUN_A_TUNNEL_CAUSE]));
		json_close(&j, '}');
		json_end(&j);
	} else {
		printf("%s: tunnel %u %s (%s)\n", nla_get_string(tb[ESPTUN_A_IFNAME]),
		       nla_get_u32(t[ESPTUN_A_TUNNEL_ID]), state,
		       cause_name(t[ESPTUN_A_TUNNEL_CAUSE]));
	}
	/* One line per event as it happens, also into a pipe. */
	fflush(stdout);
	return NL_OK;
}

int cmd_monitor(int argc, char **argv)
{
	struct esptun_nl nl;
	int json = 0, grp, ret, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return fail("monitor: unknown argument \"%s\"", argv[i]);
		json = 1;
	}
	if (open_nl(&nl))
		return 1;
	grp = genl_ctrl_resolve_grp(nl.sk, ESPTUN_FAMILY_NAME, ESPTUN_MCGRP_EVENTS);
	if (grp < 0) {
		esptun_nl_close(&nl);
		return fail("monitor: the module has no \"%s\" group", ESPTUN_MCGRP_EVENTS);
	}
	ret = nl_socket_add_membership(nl.sk, grp);
	if (ret) {
		esptun_nl_close(&nl);
		return fail("monitor: cannot join the events group: %s",
			    ret == -NLE_PERM ? "Operation not permitted" :
			    nl_geterror(ret));
	}
	/* Events are not replies: no sequence numbers to match. */
	nl_socket_disable_seq_check(nl.sk);
	nl_socket_modify_cb(nl.sk, NL_CB_VALID, NL_CB_CUSTOM, print_event, &json);
	for (;;) {
		ret = nl_recvmsgs_default(nl.sk);
		/* A burst larger than the socket buffer: say so, go on. */
		if (ret == -NLE_NOMEM) {
			fprintf(stderr, "%s: monitor: events lost (receive buffer full)\n",
				prog);
			continue;
		}
		if (ret < 0)
			break;
	}
	esptun_nl_close(&nl);
	return fail("monitor: %s", nl_geterror(ret));
}
