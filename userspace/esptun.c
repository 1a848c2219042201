// SPDX-License-Identifier: GPL-2.0
/*
 * esptun: configure and inspect esptun devices.
 */
#define _GNU_SOURCE /* setns() */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/esptun.h>

#include "tool.h"

const char *prog = "esptun";

/* Where a usage text names the program (a byte no text otherwise holds). */
#define PROG "\001"

static const struct esptun_cmd commands[] = {
	{ "show", cmd_show,
	  "show [DEV] [--json]\n"
	  "    Show esptun devices (all of them, or DEV), their tunnels and SAs.\n" },
	{ "tunnel", cmd_tunnel,
	  "tunnel add DEV id ID local ADDR remote ADDR [weight N] [pin ADDR]...\n"
	  "                    [keepalive S] [dead-after S]\n"
	  "                    [encap udp [sport P] [dport P]] [nat-keepalive S]\n"
	  "       " PROG " tunnel set DEV id ID [up|down] [weight N] [pin ADDR|none]...\n"
	  "                    [keepalive S] [dead-after S] [nat-keepalive S]\n"
	  "                    [remote ADDR] [dport P]\n"
	  "       " PROG " tunnel del DEV id ID\n"
	  "    Add, change or delete a tunnel: a pair of outer addresses (IPv4\n"
	  "    or IPv6).  Flows are spread over the usable tunnels by their hash,\n"
	  "    in proportion to the weights (1-255, default 1); a tunnel taken\n"
	  "    down hands its flows to the others until it is up again.\n"
	  "    pin: inner destinations (e.g. a BGP neighbour) sent through this\n"
	  "    tunnel only, dropped while it is down (at most 16; on set they\n"
	  "    replace the tunnel's, \"pin none\" removes them).  keepalive: an\n"
	  "    ESP dummy packet every S seconds.  dead-after: the tunnel is down\n"
	  "    after S seconds without an authentic packet, up with the next.\n"
	  "    0 turns either off.  encap udp: ESP in UDP (RFC 3948, NAT\n"
	  "    traversal) from local port sport to remote port dport (both 4500\n"
	  "    unless given); the remote port follows the peer's NAT.\n"
	  "    nat-keepalive: a one-byte NAT keepalive every S seconds.\n"
	  "    remote, dport on set: the peer moved (MOBIKE, NAT); the SAs stay.\n" },
	{ "sa", cmd_sa,
	  "sa add DEV tunnel ID dir in|out spi SPI key KEY [esn] [replay-window N] [seq N]\n"
	  "              [soft-bytes N] [hard-bytes N] [soft-packets N] [hard-packets N]\n"
	  "              [soft-seconds N] [hard-seconds N]\n"
	  "       " PROG " sa del DEV dir in|out spi SPI\n"
	  "       " PROG " sa get DEV dir in|out spi SPI [--json]\n"
	  "       " PROG " sa alloc-spi DEV [min SPI] [max SPI]\n"
	  "    Add, delete or show an SA; adding an outbound SA replaces the\n"
	  "    tunnel's (make-before-break rekey).  alloc-spi prints a free\n"
	  "    inbound SPI, reserved for an SA of DEV for 30 seconds (default\n"
	  "    range 256 to 0xffffffff).  Limits (0: none) count from\n"
	  "    the SA's addition: crossing a soft one sends an expire event,\n"
	  "    a hard one another, and the SA stops.\n"
	  "    KEY: AES-GCM key then 4-byte salt (20, 28 or 36 bytes), as\n"
	  "    ip xfrm's rfc4106(gcm(aes)) takes it: 0x-prefixed hex, @FILE\n"
	  "    holding the hex, or - (hex on stdin).  SPI: decimal or 0x hex.\n"
	  "    replay-window: 0-4096 packets (default 1024).  seq: the last\n"
	  "    sequence number used (outbound); the next packet carries seq+1.\n" },
	{ "monitor", cmd_monitor,
	  "monitor [--json]\n"
	  "    Print events as they happen, one a line: tunnel state (the\n"
	  "    device, the tunnel, up or down, and why: admin, liveness, sa,\n"
	  "    deleted) and SA expiry (soft or hard, and the limit: bytes,\n"
	  "    packets, seconds or seq).\n" },
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

/* @text with PROG replaced by the program's name: the texts are data, never
 * a format string.
 */
static void put_usage(FILE *out, const char *text)
{
	for (; *text; text++)
		if (*text == PROG[0])
			fputs(prog, out);
		else
			fputc(*text, out);
}

int usage_of(const char *name, int to_stderr)
{
	const struct esptun_cmd *c = find_command(name);
	FILE *out = to_stderr ? stderr : stdout;

	if (c) {
		fprintf(out, "Usage: %s ", prog);
		put_usage(out, c->usage);
	}
	return to_stderr;
}

static int usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s [-n NETNS] COMMAND [ARGS...]\n\n"
		"Configure and inspect esptun (ESP tunnel-mode) devices.\n"
		"Devices are created with `ip link add DEV type esptun`.\n"
		"-n NETNS: in network namespace NETNS (a name from\n"
		"`ip netns`, or a path), as `ip -n` does.\n\n"
		"Commands:\n", prog);
	for (i = 0; i < N_COMMANDS; i++) {
		fprintf(out, "  %s ", prog);
		put_usage(out, commands[i].usage);
	}
	return 0;
}

int open_lib(struct esptun **h)
{
	int ret = esptun_open(h);

	if (ret == -ENOENT)
		return fail("netlink family \"esptun\" not found: is the esptun module loaded?");
	if (ret)
		return fail("cannot open netlink socket: %s", strerror(-ret));
	return 0;
}

int check_lib(struct esptun *h, int ret, const char *what)
{
	if (ret)
		return fail_nl(what, ret, esptun_errmsg(h));
	return 0;
}

int parse_verb(const char *cmd, int argc, char **argv,
	       const char *const *verbs)
{
	char list[64] = "";
	int i;

	for (i = 0; verbs[i]; i++) {
		if (argc >= 2 && !strcmp(argv[1], verbs[i])) {
			if (argc < 3) {
				fail("%s %s: a device is expected", cmd, argv[1]);
				return -1;
			}
			return i;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? (verbs[i + 1] ? ", " : " or ") : "", verbs[i]);
	}
	if (argc < 2)
		fail("%s: %s expected; try \"%s %s help\"", cmd, list, prog, cmd);
	else
		fail("%s: unknown subcommand \"%s\"; %s expected", cmd, shown(argv[1]),
		     list);
	return -1;
}

int parse_u32(const char *what, const char *s, uint32_t max, uint32_t *v)
{
	uint64_t x;

	if (parse_u64(what, s, &x))
		return -1;
	if (x > max) {
		fail("%s %s is out of range (at most %" PRIu32 ")", what, s, max);
		return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

int parse_u64(const char *what, const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s)) {
		fail("%s \"%s\" is not a number", what, shown(s ? s : ""));
		return -1;
	}
	*v = strtoull(s, &end, 0);
	if (errno || *end) {
		fail("%s \"%s\" is not a number", what, shown(s));
		return -1;
	}
	return 0;
}

int parse_addr(const char *what, const char *s, struct esptun_addr *addr)
{
	if (s && inet_pton(AF_INET, s, &addr->v4) == 1) {
		addr->family = AF_INET;
		return 0;
	}
	if (s && inet_pton(AF_INET6, s, &addr->v6) == 1) {
		addr->family = AF_INET6;
		return 0;
	}
	fail("%s \"%s\" is not an IPv4 or IPv6 address", what, shown(s ? s : ""));
	return -1;
}

/*
 * An argument to echo in an error message, unless it may be a key put in
 * the wrong place: a long run of hex digits is not repeated to a terminal
 * or a log.
 */
const char *shown(const char *arg)
{
	const char *p = arg;
	size_t n;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	n = strspn(p, "0123456789abcdefABCDEF");
	if (n >= 16 && !p[n])
		return "(a long hex string, not shown: it may be a key)";
	return arg;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex key from the argument, a file or stdin; the text is wiped after. */
int parse_key(const char *s, uint8_t *key, size_t max, size_t *len)
{
	char buf[512], *p;
	size_t n = 0, i;
	int ret = -1;
	FILE *f = NULL;

	if (!strcmp(s, "-") || s[0] == '@') {
		f = strcmp(s, "-") ? fopen(s + 1, "r") : stdin;
		if (!f) {
			fail("key file %s: %s", s + 1, strerror(errno));
			return -1;
		}
		/* Straight into buf, which is wiped: no stdio buffer keeps a
		 * copy of the key.
		 */
		setvbuf(f, NULL, _IONBF, 0);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		if (f != stdin)
			fclose(f);
	} else {
		n = strlen(s);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, s, n);
	}
	buf[n] = '\0';
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	p = buf;
	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	else if (f == NULL) {
		fail("key must be 0x-prefixed hex, @FILE or -");
		goto out;
	}
	n = strlen(p);
	if (n % 2 || n / 2 > max || !n) {
		fail("key must be 20, 28 or 36 bytes of hex (AES-128/192/256 key then 4-byte salt)");
		goto out;
	}
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fail("key is not hex");
			goto out;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/*
 * -n NETNS, as iproute2's `ip -n`: the netlink sockets are opened after
 * setns(), so they belong to NETNS.  Unlike `ip netns exec`, no mount
 * namespace is made: the tool reads nothing from sysfs.
 */
static int enter_netns(const char *name)
{
	char path[4096];
	int fd, ret;

	if (strchr(name, '/'))
		ret = snprintf(path, sizeof(path), "%s", name);
	else
		ret = snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (ret < 0 || (size_t)ret >= sizeof(path))
		return fail("network namespace \"%s\": name too long", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("network namespace \"%s\": %s", name, strerror(errno));
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	if (ret)
		return fail("network namespace \"%s\": %s", name, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	const struct esptun_cmd *c;

	while (argc > 1 && (!strcmp(argv[1], "-n") || !strcmp(argv[1], "-netns") ||
			    !strcmp(argv[1], "--netns"))) {
		if (argc < 3)
			return fail("%s: a network namespace is expected", argv[1]);
		if (enter_netns(argv[2]))
			return 1;
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return cmd_show(1, (char *[]){ "show", NULL });
	if (is_help(argv[1])) {
		if (argc == 2)
			return usage(stdout);
		if (!find_command(argv[2]))
			return fail("unknown command \"%s\"; try \"%s help\"",
				    shown(argv[2]), prog);
		return usage_of(argv[2], 0);
	}
	c = find_command(argv[1]);
	if (!c)
		return fail("unknown command \"%s\"; try \"%s help\"",
			    shown(argv[1]), prog);
	if (argc > 2 && is_help(argv[2]))
		return usage_of(c->name, 0);
	return c->run(argc - 1, argv + 1);
}
