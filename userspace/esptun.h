/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ESPTUN_TOOL_H
#define ESPTUN_TOOL_H

#include "nl.h"

struct esptun_cmd {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the command */
	const char *usage;
};

extern const char *prog;

/* One-line error on stderr, "esptun: " prefixed; returns 1 (exit status). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed netlink request: the kernel's text when it gave one. */
int fail_nl(const char *what, int err, const char *errmsg);
int is_help(const char *arg);
int usage_of(const char *cmd, int to_stderr);
int open_nl(struct esptun_nl *nl);

int cmd_show(int argc, char **argv);

#endif
