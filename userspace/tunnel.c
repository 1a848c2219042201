// SPDX-License-Identifier: GPL-2.0
/*
 * esptun tunnel add DEV id ID local ADDR remote ADDR [weight N] [pin ADDR]...
 *                   [keepalive S] [dead-after S]
 *                   [encap udp [sport P] [dport P]] [nat-keepalive S]
 * esptun tunnel set DEV id ID [up|down] [weight N] [pin ADDR|none]...
 *                   [keepalive S] [dead-after S] [nat-keepalive S]
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

enum { ADD, SET, DEL };

struct pins {
	int given;		/* "pin" appeared: replace the tunnel's pins */
	int n;
	int family[ESPTUN_TOOL_MAX_PINS];
	uint8_t addr[ESPTUN_TOOL_MAX_PINS][16];
};

static int parse_pin(struct pins *p, int verb, const char *val)
{
	p->given = 1;
	if (verb == SET && !strcmp(val, "none"))
		return 0;
	if (p->n == ESPTUN_TOOL_MAX_PINS)
		return fail("tunnel: at most %d pinned addresses", ESPTUN_TOOL_MAX_PINS);
	if (parse_addr("pin", val, &p->family[p->n], p->addr[p->n]))
		return 1;
	p->n++;
	return 0;
}

static int put_pins(struct nl_msg *msg, const struct pins *p)
{
	struct nlattr *nest;
	int i;

	if (!p->given)
		return 0;
	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL_PINS);
	if (!nest)
		return -1;
	for (i = 0; i < p->n; i++)
		if (put_addr(msg, p->family[i], p->addr[i], ESPTUN_A_PIN_IPV4,
			     ESPTUN_A_PIN_IPV6))
			return -1;
	/* Empty means "no pins": libnl would otherwise drop the nest. */
	nla_nest_end_keep_empty(msg, nest);
	return 0;
}

static const int cmds[] = {
	[DEL] = ESPTUN_CMD_TUNNEL_DEL,
	[ADD] = ESPTUN_CMD_TUNNEL_NEW,
	[SET] = ESPTUN_CMD_TUNNEL_SET,
};

int cmd_tunnel(int argc, char **argv)
{
	int verb, lfam = 0, rfam = 0, have_id = 0, weight = -1, admin = -1, i, ret;
	int keepalive = -1, dead_after = -1, nat_keepalive = -1;
	int encap = -1, sport = -1, dport = -1;
	struct pins pins = { 0 };
	uint8_t local[16], remote[16];
	const char *local_s = NULL, *remote_s = NULL, *dev;
	struct esptun_nl nl;
	struct nlattr *nest;
	struct nl_msg *msg;
	uint32_t id = 0;
	char what[64];

	verb = parse_verb("tunnel", argc, argv,
			  (const char *const[]){ "add", "set", "del", NULL });
	if (verb < 0)
		return 1;
	dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *key = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t w, secs;

		if (verb == SET && (!strcmp(key, "up") || !strcmp(key, "down"))) {
			admin = !strcmp(key, "up");
			continue;
		}
		if (!val)
			return fail("tunnel %s: \"%s\" needs a value", argv[1], key);
		if (!strcmp(key, "id")) {
			if (parse_u32("tunnel id", val, UINT32_MAX, &id))
				return 1;
			have_id = 1;
		} else if (verb != DEL && !strcmp(key, "weight")) {
			if (parse_u32("weight", val, 255, &w))
				return 1;
			if (!w)
				return fail("tunnel %s: weight must be 1-255", argv[1]);
			weight = (int)w;
		} else if (verb != DEL && !strcmp(key, "pin")) {
			if (parse_pin(&pins, verb, val))
				return 1;
		} else if (verb != DEL && !strcmp(key, "keepalive")) {
			if (parse_u32("keepalive", val, 65535, &secs))
				return 1;
			keepalive = (int)secs;
		} else if (verb != DEL && !strcmp(key, "dead-after")) {
			if (parse_u32("dead-after", val, 65535, &secs))
				return 1;
			dead_after = (int)secs;
		} else if (verb != DEL && !strcmp(key, "nat-keepalive")) {
			if (parse_u32("nat-keepalive", val, 65535, &secs))
				return 1;
			nat_keepalive = (int)secs;
		} else if (verb == ADD && !strcmp(key, "encap")) {
			if (!strcmp(val, "udp"))
				encap = ESPTUN_ENCAP_UDP;
			else if (!strcmp(val, "none"))
				encap = ESPTUN_ENCAP_NONE;
			else
				return fail("tunnel add: encap is udp or none, not \"%s\"", val);
		} else if (verb == ADD && (!strcmp(key, "sport") || !strcmp(key, "dport"))) {
			/* The module says what is wrong with port 0 or ports
			 * without encap udp.
			 */
			if (parse_u32(key, val, 65535, &w))
				return 1;
			*(key[0] == 's' ? &sport : &dport) = (int)w;
		} else if (verb == ADD && !strcmp(key, "local")) {
			if (parse_addr("local", val, &lfam, local))
				return 1;
			local_s = val;
		} else if (verb == ADD && !strcmp(key, "remote")) {
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
	if (verb == ADD && (!local_s || !remote_s))
		return fail("tunnel add: local and remote are required");
	if (verb == SET && weight < 0 && admin < 0 && !pins.given &&
	    keepalive < 0 && dead_after < 0 && nat_keepalive < 0)
		return fail("tunnel set: nothing to set (up, down, weight, pin, keepalive, dead-after or nat-keepalive)");
	if (verb == ADD && lfam != rfam)
		return fail("tunnel add: local %s and remote %s are not of one family",
			    local_s, remote_s);

	if (open_nl(&nl))
		return 1;
	msg = dev_request(&nl, cmds[verb], dev);
	if (!msg) {
		esptun_nl_close(&nl);
		return 1;
	}
	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL);
	if (!nest || nla_put_u32(msg, ESPTUN_A_TUNNEL_ID, id) ||
	    (verb == ADD && (put_addr(msg, lfam, local, ESPTUN_A_TUNNEL_LOCAL_IPV4,
				      ESPTUN_A_TUNNEL_LOCAL_IPV6) ||
			     put_addr(msg, rfam, remote, ESPTUN_A_TUNNEL_REMOTE_IPV4,
				      ESPTUN_A_TUNNEL_REMOTE_IPV6))) ||
	    (weight >= 0 && nla_put_u8(msg, ESPTUN_A_TUNNEL_WEIGHT, (uint8_t)weight)) ||
	    (admin >= 0 && nla_put_u8(msg, ESPTUN_A_TUNNEL_ADMIN_STATE,
				      admin ? ESPTUN_TUNNEL_STATE_UP :
					      ESPTUN_TUNNEL_STATE_DOWN)) ||
	    (keepalive >= 0 && nla_put_u16(msg, ESPTUN_A_TUNNEL_KEEPALIVE,
					   (uint16_t)keepalive)) ||
	    (dead_after >= 0 && nla_put_u16(msg, ESPTUN_A_TUNNEL_DEAD_AFTER,
					    (uint16_t)dead_after)) ||
	    (nat_keepalive >= 0 && nla_put_u16(msg, ESPTUN_A_TUNNEL_NAT_KEEPALIVE,
					       (uint16_t)nat_keepalive)) ||
	    (encap >= 0 && nla_put_u8(msg, ESPTUN_A_TUNNEL_ENCAP, (uint8_t)encap)) ||
	    (sport >= 0 && nla_put_u16(msg, ESPTUN_A_TUNNEL_ENCAP_SPORT,
				       htons((uint16_t)sport))) ||
	    (dport >= 0 && nla_put_u16(msg, ESPTUN_A_TUNNEL_ENCAP_DPORT,
				       htons((uint16_t)dport))) ||
	    put_pins(msg, &pins)) {
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
