/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ESPTUN_TOOL_TOOL_H
#define ESPTUN_TOOL_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include <esptun.h>

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
/* @arg, or a placeholder if it may be key material (long hex). */
const char *shown(const char *arg);
int usage_of(const char *cmd, int to_stderr);
/* Open a libesptun handle, or say why not: returns 0 or 1 (exit status). */
int open_lib(struct esptun **h);
/* The outcome of a library call: 0, or 1 after "WHAT: the kernel's text". */
int check_lib(struct esptun *h, int ret, const char *what);

/* Argument parsing; each prints a one-line error and returns -1 on failure. */
/* "CMD VERB DEV ...", argv[0] is CMD: the index of VERB in @verbs. */
int parse_verb(const char *cmd, int argc, char **argv,
	       const char *const *verbs);
int parse_u32(const char *what, const char *s, uint32_t max, uint32_t *v);
int parse_u64(const char *what, const char *s, uint64_t *v);
int parse_addr(const char *what, const char *s, struct esptun_addr *addr);
int parse_key(const char *s, uint8_t *key, size_t max, size_t *len);

/* Lifetime limits: the keyword of "sa add", the JSON key and where the
 * field is in struct esptun_sa_limits, in the order of the SA attributes
 * ESPTUN_A_SA_SOFT_BYTES onwards.
 */
#define NLIMITS 6
extern const struct limit_name {
	const char *name, *json;
	size_t offset;
} limit_names[NLIMITS];
/* Limit @i of @l: a field by its offset, never the struct as an array. */
#define LIMIT(l, i) \
	(*(uint64_t *)((char *)(l) + limit_names[i].offset))
#define LIMIT_OF(l, i) \
	(*(const uint64_t *)((const char *)(l) + limit_names[i].offset))

struct json;
void json_sa(struct json *j, const struct esptun_sa_info *sa);

int cmd_show(int argc, char **argv);
int cmd_tunnel(int argc, char **argv);
int cmd_sa(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif
