// SPDX-License-Identifier: GPL-2.0
/*
 * esptun tunnel add DEV id ID local ADDR remote ADDR [weight N] [pin ADDR]...
 *                   [keepalive S] [dead-after S]
 *                   [encap udp [sport P] [dport P]] [nat-keepalive S]
 * esptun tunnel set DEV id ID [up|down] [weight N] [pin ADDR|none]...
 *                   [keepalive S] [dead-after S] [nat-keepalive S]
 * esptun tunnel del DEV id ID
 */
#include <stdio.h>
#include <string.h>

#include "tool.h"

enum { ADD, SET, DEL };

static int parse_pin(struct esptun_tunnel_cfg *cfg, int verb, const char *val)
{
	cfg->flags |= ESPTUN_TUNNEL_HAS_PINS;
	if (verb == SET && !strcmp(val, "none"))
		return 0;
	if (cfg->npins == ESPTUN_MAX_PINS)
		return fail("tunnel: at most %d pinned addresses", ESPTUN_MAX_PINS);
	if (parse_addr("pin", val, &cfg->pins[cfg->npins]))
		return 1;
	cfg->npins++;
	return 0;
}

int cmd_tunnel(int argc, char **argv)
{
	struct esptun_tunnel_cfg cfg = { .size = sizeof(cfg) };
	const char *local_s = NULL, *remote_s = NULL, *dev;
	int verb, have_id = 0, i, ret;
	struct esptun *h;
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
			cfg.flags |= ESPTUN_TUNNEL_HAS_ADMIN;
			cfg.admin_state = !strcmp(key, "up") ? ESPTUN_TUNNEL_STATE_UP :
							      ESPTUN_TUNNEL_STATE_DOWN;
			continue;
		}
		if (!val)
			return fail("tunnel %s: \"%s\" needs a value", argv[1], shown(key));
		if (!strcmp(key, "id")) {
			if (parse_u32("tunnel id", val, UINT32_MAX, &cfg.id))
				return 1;
			have_id = 1;
		} else if (verb != DEL && !strcmp(key, "weight")) {
			if (parse_u32("weight", val, 255, &w))
				return 1;
			if (!w)
				return fail("tunnel %s: weight must be 1-255", argv[1]);
			cfg.weight = (uint8_t)w;
			cfg.flags |= ESPTUN_TUNNEL_HAS_WEIGHT;
		} else if (verb != DEL && !strcmp(key, "pin")) {
			if (parse_pin(&cfg, verb, val))
				return 1;
		} else if (verb != DEL && !strcmp(key, "keepalive")) {
			if (parse_u32("keepalive", val, 65535, &secs))
				return 1;
			cfg.keepalive = (uint16_t)secs;
			cfg.flags |= ESPTUN_TUNNEL_HAS_KEEPALIVE;
		} else if (verb != DEL && !strcmp(key, "dead-after")) {
			if (parse_u32("dead-after", val, 65535, &secs))
				return 1;
			cfg.dead_after = (uint16_t)secs;
			cfg.flags |= ESPTUN_TUNNEL_HAS_DEAD_AFTER;
		} else if (verb != DEL && !strcmp(key, "nat-keepalive")) {
			if (parse_u32("nat-keepalive", val, 65535, &secs))
				return 1;
			cfg.nat_keepalive = (uint16_t)secs;
			cfg.flags |= ESPTUN_TUNNEL_HAS_NAT_KEEPALIVE;
		} else if (verb == ADD && !strcmp(key, "encap")) {
			if (!strcmp(val, "udp"))
				cfg.encap = ESPTUN_ENCAP_UDP;
			else if (!strcmp(val, "none"))
				cfg.encap = ESPTUN_ENCAP_NONE;
			else
				return fail("tunnel add: encap is udp or none, not \"%s\"", shown(val));
			cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP;
		} else if ((verb == ADD && !strcmp(key, "sport")) ||
			   (verb != DEL && !strcmp(key, "dport"))) {
			/* The module says what is wrong with port 0 or ports
			 * without encap udp.
			 */
			if (parse_u32(key, val, 65535, &w))
				return 1;
			if (key[0] == 's') {
				cfg.encap_sport = (uint16_t)w;
				cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_SPORT;
			} else {
				cfg.encap_dport = (uint16_t)w;
				cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_DPORT;
			}
		} else if (verb == ADD && !strcmp(key, "local")) {
			if (parse_addr("local", val, &cfg.local))
				return 1;
			local_s = val;
		} else if (verb != DEL && !strcmp(key, "remote")) {
			if (parse_addr("remote", val, &cfg.remote))
				return 1;
			remote_s = val;
			if (verb == SET)
				cfg.flags |= ESPTUN_TUNNEL_HAS_REMOTE;
		} else {
			return fail("tunnel %s: unknown argument \"%s\"", argv[1], shown(key));
		}
		i++;
	}
	if (!have_id)
		return fail("tunnel %s: id is required", argv[1]);
	if (verb == ADD && (!local_s || !remote_s))
		return fail("tunnel add: local and remote are required");
	if (verb == SET && !cfg.flags)
		return fail("tunnel set: nothing to set (up, down, weight, pin, keepalive, dead-after, nat-keepalive, remote or dport)");
	if (verb == ADD && cfg.local.family != cfg.remote.family)
		return fail("tunnel add: local %s and remote %s are not of one family",
			    local_s, remote_s);
	if (strlen(dev) >= IF_NAMESIZE)
		return fail("device name \"%s\" is too long", shown(dev));

	if (open_lib(&h))
		return 1;
	if (verb == ADD)
		ret = esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &cfg);
	else if (verb == SET)
		ret = esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &cfg);
	else
		ret = esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), cfg.id);
	snprintf(what, sizeof(what), "tunnel %s %s id %u", argv[1], dev, cfg.id);
	ret = check_lib(h, ret, what);
	esptun_close(h);
	return ret;
}
