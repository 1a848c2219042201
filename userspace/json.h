/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ESPTUN_JSON_H
#define ESPTUN_JSON_H

#include <stdint.h>
#include <stdio.h>

/*
 * A minimal streaming JSON writer, in the spirit of iproute2's json_writer:
 * the tool only ever emits JSON, never parses it.
 */
struct json {
	FILE *out;
	int depth;
	int first;	/* no member written yet at this depth */
};

void json_init(struct json *j, FILE *out);
void json_open(struct json *j, const char *key, char bracket);
void json_close(struct json *j, char bracket);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_double(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, int val);
void json_end(struct json *j);

#endif
