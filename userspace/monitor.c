// SPDX-License-Identifier: GPL-2.0
/*
 * esptun monitor [--json]: print the family's events as they come.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"
#include "json.h"

static const char *const causes[] = {
	[ESPTUN_STATE_CAUSE_ADMIN] = "admin",
	[ESPTUN_STATE_CAUSE_LIVENESS] = "liveness",
	[ESPTUN_STATE_CAUSE_SA] = "sa",
	[ESPTUN_STATE_CAUSE_DELETED] = "deleted",
};

static const char *const limits[] = {
	[ESPTUN_LIMIT_BYTES] = "bytes",
	[ESPTUN_LIMIT_PACKETS] = "packets",
	[ESPTUN_LIMIT_SECONDS] = "seconds",
	[ESPTUN_LIMIT_SEQ] = "seq",
};

#define NAME(names, i) \
	((i) >= 0 && (size_t)(i) < sizeof(names) / sizeof(names[0]) ? \
	 names[i] : "unknown")

/* {"event":NAME,"ifname":...,"ifindex":...,"tunnel":... (left open) */
static void json_event(struct json *j, const char *name,
		       const struct esptun_event *ev)
{
	json_init(j, stdout);
	json_open(j, NULL, '{');
	json_str(j, "event", name);
	json_str(j, "ifname", ev->ifname);
	if (ev->ifindex)
		json_u64(j, "ifindex", ev->ifindex);
	json_u64(j, "tunnel", ev->tunnel_id);
}

static void print_tunnel_state(const struct esptun_event *ev, int json)
{
	const char *state = ev->tunnel.state == ESPTUN_TUNNEL_STATE_UP ? "up" : "down";
	struct json j;

	if (!json) {
		printf("%s: tunnel %u %s (%s)\n", ev->ifname, ev->tunnel_id, state,
		       NAME(causes, ev->tunnel.cause));
		return;
	}
	json_event(&j, "tunnel-state", ev);
	json_str(&j, "state", state);
	json_str(&j, "cause", NAME(causes, ev->tunnel.cause));
	json_close(&j, '}');
	json_end(&j);
}

static void print_sa_expire(const struct esptun_event *ev, int json)
{
	const char *dir = ev->sa.dir == ESPTUN_SA_DIR_OUT ? "out" : "in";
	const char *sev = ev->sa.expire == ESPTUN_EXPIRE_HARD ? "hard" : "soft";
	struct json j;

	if (!json) {
		printf("%s: tunnel %u sa %s spi 0x%08x expired %s (%s)\n",
		       ev->ifname, ev->tunnel_id, dir, ev->sa.spi, sev,
		       NAME(limits, ev->sa.limit));
		return;
	}
	json_event(&j, "sa-expire", ev);
	json_str(&j, "dir", dir);
	json_u64(&j, "spi", ev->sa.spi);
	json_str(&j, "expire", sev);
	json_str(&j, "limit", NAME(limits, ev->sa.limit));
	json_u64(&j, "bytes", ev->sa.bytes);
	json_u64(&j, "packets", ev->sa.packets);
	json_u64(&j, "age", ev->sa.age);
	json_u64(&j, "seq", ev->sa.seq);
	json_close(&j, '}');
	json_end(&j);
}

static int print_event(const struct esptun_event *ev, void *arg)
{
	const int *json = arg;

	if (ev->type == ESPTUN_EVENT_TUNNEL_STATE)
		print_tunnel_state(ev, *json);
	else if (ev->type == ESPTUN_EVENT_SA_EXPIRE)
		print_sa_expire(ev, *json);
	/* One line per event as it happens, also into a pipe. */
	fflush(stdout);
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct pollfd pfd = { .events = POLLIN };
	struct esptun *h;
	int json = 0, ret, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return fail("monitor: unknown argument \"%s\"", shown(argv[i]));
		json = 1;
	}
	if (open_lib(&h))
		return 1;
	ret = esptun_event_subscribe(h);
	if (ret < 0) {
		if (ret == -ENOENT)
			fail("monitor: the module has no \"%s\" group", ESPTUN_MCGRP_EVENTS);
		else
			fail("monitor: cannot join the events group: %s", strerror(-ret));
		esptun_close(h);
		return 1;
	}
	pfd.fd = ret;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		ret = esptun_event_read(h, print_event, &json);
		/* A burst larger than the socket buffer: say so, go on. */
		if (ret == -ENOBUFS) {
			fprintf(stderr, "%s: monitor: events lost (receive buffer full)\n",
				prog);
			continue;
		}
		if (ret < 0)
			break;
	}
	esptun_close(h);
	return fail("monitor: %s", strerror(-ret));
}
