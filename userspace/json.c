// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "json.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->first = 1;
}

static void json_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Separator and key of the next member; @key is NULL inside arrays. */
static void json_member(struct json *j, const char *key)
{
	if (!j->first)
		fputc(',', j->out);
	j->first = 0;
	if (key) {
		json_escaped(j->out, key);
		fputc(':', j->out);
	}
}

void json_open(struct json *j, const char *key, char bracket)
{
	json_member(j, key);
	fputc(bracket, j->out);
	j->depth++;
	j->first = 1;
}

void json_close(struct json *j, char bracket)
{
	fputc(bracket, j->out);
	j->depth--;
	j->first = 0;
}

void json_str(struct json *j, const char *key, const char *val)
{
	json_member(j, key);
	json_escaped(j->out, val);
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_member(j, key);
	fprintf(j->out, "%" PRIu64, val);
}

/* Fractions, to 6 decimals (the precision the kernel reports). */
void json_double(struct json *j, const char *key, double val)
{
	json_member(j, key);
	fprintf(j->out, "%.6f", val);
}

void json_bool(struct json *j, const char *key, int val)
{
	json_member(j, key);
	fputs(val ? "true" : "false", j->out);
}

void json_end(struct json *j)
{
	fputc('\n', j->out);
}
