/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ESPTUN_TOOL_H
#define ESPTUN_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "nl.h"

struct esptun_cmd {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the command */
	const char *usage;
};

/* Pinned addresses per tunnel: as many as the kernel takes (kmod/pin.h). */
#define ESPTUN_TOOL_MAX_PINS 16

extern const char *prog;

/* One-line error on stderr, "esptun: " prefixed; returns 1 (exit status). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed netlink request: the kernel's text when it gave one. */
int fail_nl(const char *what, int err, const char *errmsg);
int is_help(const char *arg);
int usage_of(const char *cmd, int to_stderr);
int open_nl(struct esptun_nl *nl);

/* A request for device @dev; NULL (after an error message) on failure. */
struct nl_msg *dev_request(struct esptun_nl *nl, int cmd, const char *dev);
/* Send a request expecting only an ACK; prints the error.  Returns 0/1. */
int send_request(struct esptun_nl *nl, struct nl_msg *msg, const char *what);

/* Argument parsing; each prints a one-line error and returns -1 on failure. */
/* "CMD VERB DEV ...", argv[0] is CMD: the index of VERB in @verbs. */
int parse_verb(const char *cmd, int argc, char **argv,
	       const char *const *verbs);
int parse_u32(const char *what, const char *s, uint32_t max, uint32_t *v);
int parse_u64(const char *what, const char *s, uint64_t *v);
int parse_addr(const char *what, const char *s, int *family, void *addr);
int parse_key(const char *s, uint8_t *key, size_t max, size_t *len);

int cmd_show(int argc, char **argv);
int cmd_tunnel(int argc, char **argv);
int cmd_sa(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif
