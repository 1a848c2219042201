// SPDX-License-Identifier: GPL-2.0
/*
 * esptun: configure and inspect esptun devices.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "esptun.h"

const char *prog = "esptun";

static const struct esptun_cmd commands[] = {
	{ "show", cmd_show,
	  "show [DEV] [--json]\n"
	  "    Show esptun devices (all of them, or DEV).\n" },
	{ "help", NULL,
	  "help [COMMAND]\n"
	  "    Show usage of all commands, or of COMMAND.\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int fail_nl(const char *what, int err, const char *errmsg)
{
	if (errmsg && errmsg[0])
		return fail("%s: %s (%s)", what, errmsg, strerror(-err));
	return fail("%s: %s", what, strerror(-err));
}

int is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "--help") ||
	       !strcmp(arg, "-h");
}

static const struct esptun_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int usage_of(const char *name, int to_stderr)
{
	const struct esptun_cmd *c = find_command(name);
	FILE *out = to_stderr ? stderr : stdout;

	if (c)
		fprintf(out, "Usage: %s %s", prog, c->usage);
	return to_stderr;
}

static int usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s COMMAND [ARGS...]\n\n"
		"Configure and inspect esptun (ESP tunnel-mode) devices.\n"
		"Devices are created with `ip link add DEV type esptun`.\n\n"
		"Commands:\n", prog);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %s %s", prog, commands[i].usage);
	return 0;
}

int open_nl(struct esptun_nl *nl)
{
	int ret = esptun_nl_open(nl);

	if (ret == -ENOENT)
		return fail("netlink family \"esptun\" not found: is the esptun module loaded?");
	if (ret)
		return fail("cannot open netlink socket: %s", strerror(-ret));
	return 0;
}

int main(int argc, char **argv)
{
	const struct esptun_cmd *c;

	if (argc < 2)
		return cmd_show(1, (char *[]){ "show", NULL });
	if (is_help(argv[1])) {
		if (argc == 2)
			return usage(stdout);
		if (!find_command(argv[2]))
			return fail("unknown command \"%s\"; try \"%s help\"",
				    argv[2], prog);
		return usage_of(argv[2], 0);
	}
	c = find_command(argv[1]);
	if (!c)
		return fail("unknown command \"%s\"; try \"%s help\"", argv[1],
			    prog);
	if (argc > 2 && is_help(argv[2]))
		return usage_of(c->name, 0);
	return c->run(argc - 1, argv + 1);
}
