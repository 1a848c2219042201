// SPDX-License-Identifier: GPL-2.0
/*
 * esptun show [DEV] [--json]
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <linux/esptun.h>

#include "esptun.h"
#include "json.h"

struct dev_info {
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
};

struct dev_list {
	struct dev_info *devs;
	size_t n;
};

static int parse_dev(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ESPTUN_A_MAX + 1];
	struct dev_list *list = arg;
	struct dev_info *d, *devs;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ESPTUN_A_MAX, NULL))
		return -EPROTO;
	if (!tb[ESPTUN_A_IFINDEX] || !tb[ESPTUN_A_IFNAME])
		return -EPROTO;
	devs = realloc(list->devs, (list->n + 1) * sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	list->devs = devs;
	d = &devs[list->n++];
	memset(d, 0, sizeof(*d));
	d->ifindex = nla_get_u32(tb[ESPTUN_A_IFINDEX]);
	snprintf(d->ifname, sizeof(d->ifname), "%s",
		 nla_get_string(tb[ESPTUN_A_IFNAME]));
	return 0;
}

static void print_human(const struct dev_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		if (i)
			putchar('\n');
		printf("interface: %s\n", list->devs[i].ifname);
	}
}

static void print_json(const struct dev_list *list)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_open(&j, NULL, '[');
	for (i = 0; i < list->n; i++) {
		json_open(&j, NULL, '{');
		json_str(&j, "ifname", list->devs[i].ifname);
		json_u64(&j, "ifindex", list->devs[i].ifindex);
		json_open(&j, "tunnels", '[');
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
	for (tries = 0; tries < 10; tries++) {
		struct nl_msg *msg;

		msg = esptun_nl_msg(&nl, ESPTUN_CMD_DEV_GET,
				    dev ? 0 : NLM_F_DUMP);
		if (!msg || (dev && nla_put_string(msg, ESPTUN_A_IFNAME, dev))) {
			ret = -ENOMEM;
			break;
		}
		list.n = 0;
		ret = esptun_nl_talk(&nl, msg, parse_dev, &list, errmsg,
				     sizeof(errmsg));
		if (ret != -EINTR)
			break;
	}
	esptun_nl_close(&nl);
	if (ret) {
		free(list.devs);
		if (dev)
			snprintf(what, sizeof(what), "show %s", dev);
		return fail_nl(dev ? what : "show", ret, errmsg);
	}
	if (json)
		print_json(&list);
	else
		print_human(&list);
	free(list.devs);
	return 0;
}
