// SPDX-License-Identifier: GPL-2.0
/*
 * libesptun_test ESPDEV OTHERDEV: every public call of libesptun and its
 * error paths, against the running module, with the kernel's extended ACK
 * text.  ESPDEV is an esptun device without tunnels, OTHERDEV a device of
 * another type, both in the caller's network namespace (selftests/
 * libesptun.sh sets them up).  Prints TAP; exits 0 (pass), 1 (a check
 * failed) or 4 (everything skipped).
 *
 * Checks of kernel features that are not in every kernel (SA lifetimes,
 * ESPTUN_CMD_SA_GET, SA expire events, UDP encapsulation) skip, with the
 * reason, when the running module refuses them as unknown.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <esptun.h>

static int n_tests, n_failed, n_skipped;

static void report(int good, const char *fmt, va_list ap)
{
	printf("%sok %d - ", good ? "" : "not ", ++n_tests);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	if (!good)
		n_failed++;
}

static int check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int check(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	return cond;
}

static void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	n_skipped++;
}

static struct esptun *h;

/* The call returned @want and, if @msg, the error text contains it. */
static int check_ret(int ret, int want, const char *msg, const char *what)
{
	const char *e = esptun_errmsg(h);

	if (ret == want && (!msg || strstr(e, msg)))
		return check(1, "%s: %s%s%s", what, want ? strerror(-want) : "ok",
			     msg ? ", " : "", msg ? e : "");
	return check(0, "%s: returned %d (%s) \"%s\", expected %d (%s) \"%s\"",
		     what, ret, ret ? strerror(-ret) : "ok", e, want,
		     want ? strerror(-want) : "ok", msg ? msg : "");
}

/* The kernel does not know an attribute or command the call used. */
static int unsupported(int ret)
{
	return ret == -EOPNOTSUPP ||
	       (ret == -EINVAL && (strstr(esptun_errmsg(h), "Unsupported attribute") ||
				   strstr(esptun_errmsg(h), "not supported")));
}

static const char *dev, *other;

static struct esptun_addr v4(const char *s)
{
	struct esptun_addr a = { .family = AF_INET };

	inet_pton(AF_INET, s, &a.v4);
	return a;
}

static struct esptun_addr v6(const char *s)
{
	struct esptun_addr a = { .family = AF_INET6 };

	inet_pton(AF_INET6, s, &a.v6);
	return a;
}

static uint8_t key[36] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
	0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0xde, 0xad, 0xbe, 0xef,
};

/*
 * An SA's config: inbound SAs take @key, each outbound one a key of its
 * own, as the kernel refuses an outbound key given again from a lower
 * sequence number, or the same key both ways (the nonce rule).
 */
static struct esptun_sa_cfg sa_cfg(uint32_t tunnel, uint8_t dir, uint32_t spi)
{
	static uint8_t out_keys[64][sizeof(key)];
	static unsigned int n_out;
	struct esptun_sa_cfg c = {
		.size = sizeof(c), .tunnel_id = tunnel, .dir = dir, .spi = spi,
		.key = key, .key_len = 20,
	};
	uint8_t *k;

	if (dir == ESPTUN_SA_DIR_OUT) {
		k = out_keys[n_out++ % 64];
		memcpy(k, key, sizeof(key));
		k[0] = 0x80 | (n_out & 0x7f);
		c.key = k;
	}
	return c;
}

/* The tunnel @id of @dev from a fresh dump, or NULL; *@list to free. */
static const struct esptun_tunnel_info *dump_tunnel(struct esptun_dev_list **list,
						     uint32_t id)
{
	size_t i;

	if (esptun_dev_dump(h, ESPTUN_DEV_NAME(dev), list) || (*list)->n != 1)
		return NULL;
	for (i = 0; i < (*list)->devs[0]->ntunnels; i++)
		if ((*list)->devs[0]->tunnels[i]->id == id)
			return (*list)->devs[0]->tunnels[i];
	return NULL;
}

/* ----------------------------------------------------------- events */

#define MAX_EVENTS 16
static struct esptun_event events[MAX_EVENTS];
static int n_events;

static int collect(const struct esptun_event *ev, void *arg)
{
	int *stop_after = arg;

	if (n_events < MAX_EVENTS)
		events[n_events++] = *ev;
	return stop_after && n_events >= *stop_after;
}

/* Wait up to @ms for events until @want were collected (n_events). */
static int wait_events(int fd, int want, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0, t;
	int left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n_events < want && left > 0) {
		if (poll(&pfd, 1, left) > 0)
			esptun_event_read(h, collect, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return n_events;
}

/* The first tunnel-state event collected for @tunnel with @state. */
static const struct esptun_event *find_state(uint32_t tunnel, int state)
{
	int i;

	for (i = 0; i < n_events; i++)
		if (events[i].type == ESPTUN_EVENT_TUNNEL_STATE &&
		    events[i].tunnel_id == tunnel && events[i].tunnel.state == state)
			return &events[i];
	return NULL;
}

/* ------------------------------------------------------------ tests */

static void test_handles(void)
{
	struct esptun *h2;
	int ret;

	check(esptun_open(&h) == 0 && h, "esptun_open");
	check(!strcmp(esptun_errmsg(h), ""), "no error text on a new handle");
	check(!strcmp(esptun_errmsg(NULL), ""), "esptun_errmsg(NULL) is \"\"");
	esptun_close(NULL);
	esptun_dev_list_free(NULL);
	check(1, "esptun_close(NULL), esptun_dev_list_free(NULL)");
	ret = esptun_open(&h2);
	check(ret == 0, "a second handle");
	if (!ret) {
		ret = esptun_event_read(h2, collect, NULL);
		check(ret == -EBADF && strstr(esptun_errmsg(h2), "not subscribed"),
		      "esptun_event_read before subscribing: -EBADF (%d, \"%s\")",
		      ret, esptun_errmsg(h2));
		esptun_close(h2);
	}
}

static void test_dev_errors(void)
{
	struct esptun_tunnel_cfg t = { .size = sizeof(struct esptun_tunnel_cfg), .id = 1, .local = v4("192.0.2.1"),
				       .remote = v4("192.0.2.2") };
	struct esptun_dev_list *list = (void *)1;
	struct esptun_sa_info sa = { .size = sizeof(sa) };

	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME("nope"), &t), -ENODEV, "no such device",
		  "tunnel_add on a missing device");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(other), &t), -EOPNOTSUPP, "not an esptun device",
		  "tunnel_add on a non-esptun device");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME("abcdefghijklmnopq"), &t), -EINVAL, "too long",
		  "tunnel_add with an over-long name");
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME("nope"), &t), -ENODEV, "no such device",
		  "tunnel_set on a missing device");
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME("nope"), 1), -ENODEV, "no such device",
		  "tunnel_del on a missing device");
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME("nope"), &(struct esptun_sa_cfg){
			.size = sizeof(struct esptun_sa_cfg),
			.tunnel_id = 1, .dir = ESPTUN_SA_DIR_IN, .spi = 1,
			.key = key, .key_len = 20 }),
		  -ENODEV, "no such device", "sa_add on a missing device");
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME("nope"), ESPTUN_SA_DIR_IN, 1), -ENODEV,
		  "no such device", "sa_del on a missing device");
	check_ret(esptun_dev_dump(h, ESPTUN_DEV_NAME("nope"), &list), -ENODEV, "no such device",
		  "dev_dump of a missing device");
	check(list == NULL, "a failed dump leaves the list NULL");
	check_ret(esptun_dev_dump(h, ESPTUN_DEV_NAME(other), &list), -EOPNOTSUPP,
		  "not an esptun device", "dev_dump of a non-esptun device");
	check_ret(esptun_sa_get(h, ESPTUN_DEV_NAME("abcdefghijklmnopq"), ESPTUN_SA_DIR_IN, 1, &sa),
		  -EINVAL, "too long", "sa_get with an over-long name");
}

static void test_tunnels(void)
{
	struct esptun_tunnel_cfg t = { .size = sizeof(struct esptun_tunnel_cfg), .id = 1, .local = v4("192.0.2.1"),
				       .remote = v4("192.0.2.2") };
	struct esptun_tunnel_cfg t2 = { .size = sizeof(struct esptun_tunnel_cfg),
		.id = 2, .local = v6("2001:db8::1"), .remote = v6("2001:db8::2"),
		.flags = ESPTUN_TUNNEL_HAS_WEIGHT | ESPTUN_TUNNEL_HAS_PINS |
			 ESPTUN_TUNNEL_HAS_KEEPALIVE | ESPTUN_TUNNEL_HAS_DEAD_AFTER,
		.weight = 3, .keepalive = 7, .dead_after = 30, .npins = 2,
		.pins = { v4("10.9.0.1"), v6("2001:db8:9::1") },
	};
	struct esptun_tunnel_cfg mv = { .size = sizeof(struct esptun_tunnel_cfg), .id = 1, .flags = ESPTUN_TUNNEL_HAS_REMOTE };
	struct esptun_tunnel_cfg bad = t;
	const struct esptun_tunnel_info *ti;
	struct esptun_dev_list *list = NULL;
	char a[INET6_ADDRSTRLEN];

	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &t), 0, NULL, "tunnel_add id 1 (IPv4)");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &t), -EEXIST,
		  "a tunnel with this id already exists", "tunnel_add of a duplicate id");
	check(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 42) == -ENOENT &&
	      esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 1) == -ENOENT &&
	      !strcmp(esptun_errmsg(h), "no SA with this direction and SPI"),
	      "the error text is the last call's");
	check(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t) == 0 && !strcmp(esptun_errmsg(h), ""),
	      "a success clears the error text");
	bad.id = 9;
	bad.remote = v6("2001:db8::2");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &bad), -EINVAL,
		  "local and remote addresses must be of one family",
		  "tunnel_add with addresses of two families");
	bad.remote.family = AF_UNIX;
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &bad), -EINVAL, "family must be AF_INET",
		  "tunnel_add with an address of no family (library)");
	bad = t;
	bad.id = 9;
	bad.flags = ESPTUN_TUNNEL_HAS_PINS;
	bad.npins = ESPTUN_MAX_PINS + 1;
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &bad), -EINVAL, "at most 16 pinned",
		  "tunnel_add with 17 pins (library)");
	bad.flags = ESPTUN_TUNNEL_HAS_ADMIN;
	bad.npins = 0;
	/* TUNNEL_NEW's policy has no admin state: the kernel names it. */
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &bad), -EINVAL,
		  "Unsupported attribute", "tunnel_add with an admin state");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &t2), 0, NULL,
		  "tunnel_add id 2 (IPv6, weight, pins, keepalive, dead-after)");

	ti = dump_tunnel(&list, 2);
	if (list)
		check(list->devs[0]->features == (ESPTUN_FEATURE_ESN |
						 ESPTUN_FEATURE_LIFETIME |
						 ESPTUN_FEATURE_PINS |
						 ESPTUN_FEATURE_LIVENESS |
						 ESPTUN_FEATURE_UDP_ENCAP |
						 ESPTUN_FEATURE_SPI_ALLOC |
						 ESPTUN_FEATURE_ENCAP_SOCKET),
		      "the dump says what the module supports (0x%x)",
		      list->devs[0]->features);
	if (check(ti != NULL, "dev_dump DEV has tunnel 2")) {
		inet_ntop(AF_INET6, &ti->local.v6, a, sizeof(a));
		check(ti->local.family == AF_INET6 && !strcmp(a, "2001:db8::1") &&
		      ti->remote.family == AF_INET6,
		      "tunnel 2's addresses (%s)", a);
		check(ti->weight == 3 && ti->keepalive == 7 && ti->dead_after == 30,
		      "tunnel 2's weight %u, keepalive %u, dead-after %u",
		      ti->weight, ti->keepalive, ti->dead_after);
		check(ti->npins == 2 && ti->pins[0].family == AF_INET &&
		      ti->pins[1].family == AF_INET6, "tunnel 2's pins (%u)", ti->npins);
		check(ti->state == ESPTUN_TUNNEL_STATE_DOWN &&
		      ti->admin_state == ESPTUN_TUNNEL_STATE_UP &&
		      ESPTUN_HAS(ti, ESPTUN_A_TUNNEL_LIVENESS) && ti->nsas == 0,
		      "tunnel 2 is down (no SA), admin up, liveness reported");
		check(!ESPTUN_HAS(ti, ESPTUN_A_TUNNEL_ENCAP),
		      "no encapsulation reported for a plain tunnel");
	}
	esptun_dev_list_free(list);

	/* The peer moves (MOBIKE): the remote end, in place. */
	mv.remote = v4("192.0.2.3");
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &mv), 0, NULL, "tunnel_set of the remote address");
	ti = dump_tunnel(&list, 1);
	check(ti && ti->remote.family == AF_INET &&
	      ti->remote.v4.s_addr == v4("192.0.2.3").v4.s_addr,
	      "the dump has tunnel 1's new remote address");
	esptun_dev_list_free(list);
	list = NULL;
	mv.remote = v6("2001:db8::3");
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &mv), -EINVAL,
		  "the remote address must be of the tunnel's family",
		  "tunnel_set of a remote address of the other family");
	mv.remote = v6("2001:db8::2");
	mv.id = 2;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &mv), 0, NULL,
		  "tunnel_set of the remote address it has");
	mv.id = 1;
	mv.remote.family = 0;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &mv), -EINVAL, "family must be AF_INET",
		  "tunnel_set of a remote address of no family (library)");
	mv.remote = v4("192.0.2.2");
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &mv), 0, NULL, "tunnel_set of the remote back");

	t2.flags = ESPTUN_TUNNEL_HAS_WEIGHT | ESPTUN_TUNNEL_HAS_PINS;
	t2.weight = 5;
	t2.npins = 0;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t2), 0, NULL,
		  "tunnel_set id 2 weight 5, no pins");
	ti = dump_tunnel(&list, 2);
	check(ti && ti->weight == 5 && ti->npins == 0,
	      "the dump shows weight 5 and no pins");
	esptun_dev_list_free(list);
	bad = t2;
	bad.id = 99;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &bad), -ENOENT, "no tunnel with this id",
		  "tunnel_set of a missing tunnel");
	bad = t2;
	bad.flags = 0;
	bad.local = v6("2001:db8::7");
	/* Addresses are only sent by tunnel_add: this set sets nothing. */
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &bad), 0, NULL,
		  "tunnel_set ignores addresses (they are add's)");
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 99), -ENOENT, "no tunnel with this id",
		  "tunnel_del of a missing tunnel");
}

/* The IKE daemon hands tunnel @t (UDP, esptun's socket on 4500) its own. */
static void test_encap_socket(const struct esptun_tunnel_cfg *t)
{
	struct esptun_tunnel_cfg c = { .size = sizeof(c), .id = t->id,
		.flags = ESPTUN_TUNNEL_HAS_ENCAP_SOCKET, .encap_socket = -1 };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, type = UDP_ENCAP_ESPINUDP;

	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &c), -EBADF,
		  "encap_socket: not a file descriptor",
		  "tunnel_set with a negative encap_socket (library)");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!check(fd >= 0 && !setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)),
		   "a UDP socket with UDP_ENCAP_ESPINUDP"))
		return;
	c.encap_socket = fd;
	c.flags |= ESPTUN_TUNNEL_HAS_REMOTE;
	c.remote = v4("198.51.100.4");
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL,
		  "encap-socket and a new remote address need two requests",
		  "tunnel_set with encap_socket and a remote");
	c.flags &= ~ESPTUN_TUNNEL_HAS_REMOTE;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL,
		  "encap-socket is not bound", "tunnel_set with an unbound encap_socket");
	/* Bound by the caller to a port no socket holds: a new tunnel there
	 * receives through it.
	 */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = t->local.v4;
	sin.sin_port = htons(4501);
	c = *t;
	c.id = 4;
	c.remote = v4("198.51.100.4");
	c.encap_sport = 4501;
	c.flags |= ESPTUN_TUNNEL_HAS_ENCAP_SOCKET;
	c.encap_socket = fd;
	if (check(!bind(fd, (struct sockaddr *)&sin, len), "the caller binds it to 4501")) {
		check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL,
			  "tunnel_add names it for the tunnel on 4501");
		check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 4), 0, NULL,
			  "tunnel_del of that tunnel");
	}
	close(fd);
}

static void test_encap(void)
{
	struct esptun_tunnel_cfg t = { .size = sizeof(struct esptun_tunnel_cfg),
		.id = 3, .local = v4("192.0.2.1"), .remote = v4("198.51.100.3"),
		.flags = ESPTUN_TUNNEL_HAS_ENCAP | ESPTUN_TUNNEL_HAS_NAT_KEEPALIVE |
			 ESPTUN_TUNNEL_HAS_ENCAP_SPORT | ESPTUN_TUNNEL_HAS_ENCAP_DPORT,
		.encap = ESPTUN_ENCAP_UDP, .encap_sport = 4500, .encap_dport = 14500,
		.nat_keepalive = 20,
	};
	const struct esptun_tunnel_info *ti;
	struct esptun_dev_list *list = NULL;
	int ret;

	ret = esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev), &t);
	/* A module without it rejects the attribute: "no UDP encapsulation
	 * yet" (NLA_REJECT), or "Unsupported attribute".
	 */
	if (unsupported(ret) ||
	    (ret == -EINVAL && strstr(esptun_errmsg(h), "UDP encapsulation yet"))) {
		skip("UDP encapsulation: the module does not support it yet (\"%s\")",
		     esptun_errmsg(h));
		return;
	}
	if (!check_ret(ret, 0, NULL, "tunnel_add with UDP encapsulation"))
		return;
	ti = dump_tunnel(&list, 3);
	check(ti && ti->encap == ESPTUN_ENCAP_UDP && ti->encap_sport == 4500 &&
	      ti->encap_dport == 14500 && ti->nat_keepalive == 20,
	      "the dump shows encap udp, ports 4500 -> 14500, nat-keepalive 20");
	esptun_dev_list_free(list);
	test_encap_socket(&t);
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 3), 0, NULL, "tunnel_del of the UDP tunnel");
}

static void test_sas(void)
{
	struct esptun_sa_cfg c = sa_cfg(1, ESPTUN_SA_DIR_IN, 0x100);
	const struct esptun_tunnel_info *ti;
	struct esptun_dev_list *list = NULL;

	c.key_len = 19;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -ERANGE, "binary attribute size out of range",
		  "sa_add with a 19-byte key (the policy's bounds)");
	c.key_len = 24;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL, "key must be 20, 28 or 36 bytes",
		  "sa_add with a 24-byte key");
	c.key_len = 37;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL, "key must be 20, 28 or 36 bytes",
		  "sa_add with a 37-byte key (library)");
	c.key_len = 20;
	c.tunnel_id = 99;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -ENOENT, "no tunnel with this id",
		  "sa_add to a missing tunnel");
	c.tunnel_id = 1;
	c.flags = ESPTUN_SA_HAS_SEQ;
	c.seq = 5;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL, "seq applies to outbound SAs only",
		  "sa_add inbound with seq");
	c.flags = ESPTUN_SA_HAS_REPLAY_WINDOW;
	c.replay_window = 64;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL, "sa_add in 0x100, window 64");
	check(key[0] == 0x00 && key[19] == 0xef, "the caller's key is left alone");
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EEXIST,
		  "an inbound SA with this SPI already exists", "sa_add of a duplicate SPI");
	c.tunnel_id = 2;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EEXIST,
		  "an inbound SA with this SPI already exists",
		  "sa_add of a duplicate inbound SPI on another tunnel");

	c = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x200);
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL, "sa_add out 0x200 on tunnel 1");
	c.spi = 0x201;
	c.key_len = 36;
	c.flags = ESPTUN_SA_HAS_ESN | ESPTUN_SA_HAS_SEQ;
	c.seq = 1ULL << 33;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL,
		  "sa_add out 0x201 (ESN, seq 2^33, AES-256) replaces it");
	c = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x202);
	c.flags = ESPTUN_SA_HAS_SEQ;
	c.seq = 1ULL << 33;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL, "seq beyond 2^32-1 needs esn",
		  "sa_add out with seq 2^33 without ESN");
	c = sa_cfg(2, ESPTUN_SA_DIR_OUT, 0x201);
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EEXIST,
		  "another tunnel of the device has an outbound SA with this SPI",
		  "sa_add of tunnel 1's outbound SPI on tunnel 2");

	ti = dump_tunnel(&list, 1);
	if (check(ti && ti->nsas == 2, "tunnel 1 has two SAs after the replacement")) {
		check(ti->sas[0]->dir == ESPTUN_SA_DIR_OUT && ti->sas[0]->spi == 0x201 &&
		      ti->sas[0]->esn && ti->sas[0]->seq == 1ULL << 33 &&
		      ti->sas[0]->tunnel_id == 1,
		      "the outbound one is 0x201, ESN, seq 2^33");
		check(ti->sas[1]->dir == ESPTUN_SA_DIR_IN && ti->sas[1]->spi == 0x100 &&
		      ti->sas[1]->replay_window == 64,
		      "the inbound one is 0x100, window 64");
		check(ti->state == ESPTUN_TUNNEL_STATE_UP, "tunnel 1 is up");
		check(ESPTUN_HAS(ti, ESPTUN_A_TUNNEL_STATS) &&
		      ESPTUN_HAS(ti->sas[0], ESPTUN_A_SA_STATS),
		      "tunnel and SA counters reported");
	}
	esptun_dev_list_free(list);

	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x999), -ENOENT,
		  "no SA with this direction and SPI", "sa_del of an unknown SPI");
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x100), -ENOENT,
		  "no SA with this direction and SPI", "sa_del with the wrong direction");
}

static int have_sa_get;

static void test_sa_get(void)
{
	struct esptun_sa_info sa = { .size = sizeof(sa) };
	int ret;

	ret = esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x201, &sa);
	if (ret == -EOPNOTSUPP) {
		skip("sa_get: the module has no ESPTUN_CMD_SA_GET yet (\"%s\")",
		     esptun_errmsg(h));
		return;
	}
	have_sa_get = 1;
	if (check_ret(ret, 0, NULL, "sa_get out 0x201"))
		check(sa.tunnel_id == 1 && sa.dir == ESPTUN_SA_DIR_OUT &&
		      sa.spi == 0x201 && sa.esn && sa.seq == 1ULL << 33,
		      "sa_get: tunnel %u, spi 0x%x, esn, seq", sa.tunnel_id, sa.spi);
	ret = esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x100, &sa);
	if (check_ret(ret, 0, NULL, "sa_get in 0x100"))
		check(sa.tunnel_id == 1 && sa.replay_window == 64,
		      "sa_get: inbound SA of tunnel 1, window 64");
	check_ret(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x999, &sa), -ENOENT,
		  "no SA with this direction and SPI", "sa_get of an unknown SPI");
	check_ret(esptun_sa_get(h, ESPTUN_DEV_NAME("nope"), ESPTUN_SA_DIR_IN, 0x100, &sa), -ENODEV,
		  "no such device", "sa_get on a missing device");
}

/* Devices by ifindex as well as by name; structures that grow. */
static void test_abi(void)
{
	unsigned int idx = if_nametoindex(dev);
	const struct esptun_dev both = { .ifindex = idx, .name = other };
	const struct esptun_dev none = { 0 };
	struct esptun_dev_list *list = NULL;
	struct {
		struct esptun_sa_info sa;
		unsigned char canary[64];
	} old;
	size_t size = offsetof(struct esptun_sa_info, expire) + 1, i;
	int intact = 1;

	check_ret(esptun_dev_dump(h, ESPTUN_DEV_INDEX(idx), &list), 0, NULL,
		  "dev_dump by ifindex");
	check(list && list->n == 1 && !strcmp(list->devs[0]->ifname, dev),
	      "finds the device of that index");
	esptun_dev_list_free(list);
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_INDEX(idx), 99), -ENOENT,
		  "no tunnel with this id", "tunnel_del by ifindex reaches the device");
	check_ret(esptun_dev_dump(h, &both, &list), -EINVAL,
		  "ifindex and ifname name different devices",
		  "an ifindex and a name of two devices");
	check_ret(esptun_tunnel_del(h, &none, 1), -EINVAL,
		  "a device needs an ifindex or a name", "a device named neither way");
	check_ret(esptun_tunnel_add(h, ESPTUN_DEV_NAME(dev),
				    &(struct esptun_tunnel_cfg){ .id = 7 }), -EINVAL,
		  "set size to sizeof(struct esptun_tunnel_cfg)", "a cfg without its size");
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev),
				&(struct esptun_sa_cfg){ .tunnel_id = 1, .spi = 7 }), -EINVAL,
		  "set size to sizeof(struct esptun_sa_cfg)", "an SA cfg without its size");
	check_ret(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x100,
				&(struct esptun_sa_info){ 0 }), -EINVAL,
		  "set size to sizeof(struct esptun_sa_info)", "sa_get without the size");
	/* A caller built when the structure ended at @expire: nothing past it
	 * is written.
	 */
	memset(&old, 0xa5, sizeof(old));
	old.sa.size = size;
	check_ret(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x100,
				&old.sa), 0, NULL, "sa_get into an older, smaller structure");
	for (i = size; i < sizeof(old); i++)
		intact &= ((unsigned char *)&old)[i] == 0xa5;
	check(old.sa.spi == 0x100 && old.sa.size == size && intact,
	      "filled up to its size, and not a byte more");
}

static void test_spi_alloc(void)
{
	struct esptun_sa_cfg c = sa_cfg(1, ESPTUN_SA_DIR_IN, 0);
	struct esptun_sa_info sa = { .size = sizeof(sa) };
	uint32_t spi = 1;

	check(esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), 0, 0, &spi) == 0 && spi >= ESPTUN_SPI_MIN_DEFAULT,
	      "spi_alloc: an SPI of the default range (0x%x)", spi);
	c.spi = spi;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL, "sa_add of the allocated SPI");
	check(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, spi, &sa) == 0 &&
	      !ESPTUN_HAS(&sa, ESPTUN_A_SA_IDLE),
	      "an SA that carried nothing reports no last use");
	check(esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), 0x7000, 0x7000, &spi) == 0 && spi == 0x7000,
	      "spi_alloc of a one-SPI range (0x%x)", spi);
	check_ret(esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), 0x7000, 0x7000, &spi), -ENOSPC,
		  "no free SPI in the range", "spi_alloc of a reserved SPI");
	check(spi == 0, "a failed spi_alloc leaves 0");
	check_ret(esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), 0x7002, 0x7001, &spi), -EINVAL,
		  "spi-min is above spi-max", "spi_alloc of an empty range");
	check_ret(esptun_spi_alloc(h, ESPTUN_DEV_NAME("nope"), 0, 0, &spi), -ENODEV,
		  "no such device", "spi_alloc on a missing device");
	check_ret(esptun_spi_alloc(h, ESPTUN_DEV_NAME(other), 0, 0, &spi), -EOPNOTSUPP,
		  "not an esptun device", "spi_alloc on a non-esptun device");
	c.spi = 0x7000;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL, "sa_add of the reserved SPI");
	check_ret(esptun_spi_alloc(h, ESPTUN_DEV_NAME(dev), 0x7000, 0x7000, &spi), -ENOSPC,
		  "no free SPI in the range", "spi_alloc of an SPI an SA holds");
}

static void test_rekey(void)
{
	struct esptun_sa_cfg in = sa_cfg(1, ESPTUN_SA_DIR_IN, 0x8001);
	struct esptun_sa_cfg out = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x8002);
	struct esptun_sa_info sa = { .size = sizeof(sa) };

	check_ret(esptun_sa_rekey(h, ESPTUN_DEV_NAME(dev), &(struct esptun_sa_cfg){ 0 }, &out),
		  -EINVAL, "set size to sizeof(struct esptun_sa_cfg)",
		  "sa_rekey with an SA cfg without its size");
	check_ret(esptun_sa_rekey(h, ESPTUN_DEV_NAME(dev), &out, &in), -EINVAL,
		  "one inbound and one outbound", "sa_rekey with the directions swapped");
	check_ret(esptun_sa_rekey(h, ESPTUN_DEV_NAME(dev), &in, &out), 0, NULL, "sa_rekey");
	check(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x8001, &sa) == 0 &&
	      esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x8002, &sa) == 0 &&
	      esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x100, &sa) == 0,
	      "the new SAs are in, the old inbound one stays");
	in.spi = 0x8003;
	out.spi = 0x8004;
	out.key_len = 24;
	check_ret(esptun_sa_rekey(h, ESPTUN_DEV_NAME(dev), &in, &out), -EINVAL,
		  "key must be 20, 28 or 36 bytes", "sa_rekey with a bad outbound key");
	check(esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x8003, &sa) == -ENOENT &&
	      esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x8002, &sa) == 0,
	      "a refused rekey leaves the tunnel as it was");
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x8001), 0, NULL,
		  "the rekey's inbound SA deletes");
	/* Tunnel 1's outbound SA as the later tests expect it. */
	out = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x201);
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &out), 0, NULL, "sa_add out 0x201 again");
}

static int have_lifetimes;

static void test_lifetimes(void)
{
	struct esptun_sa_cfg c = sa_cfg(2, ESPTUN_SA_DIR_IN, 0x300);
	const struct esptun_tunnel_info *ti;
	struct esptun_dev_list *list = NULL;
	struct esptun_sa_info sa = { .size = sizeof(sa) };
	int ret;

	c.limits = (struct esptun_sa_limits){
		.soft_bytes = 1000000, .hard_bytes = 2000000,
		.soft_packets = 1000, .hard_packets = 2000,
		.soft_seconds = 3600, .hard_seconds = 7200,
	};
	ret = esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c);
	if (unsupported(ret)) {
		skip("SA lifetimes: the module does not support them yet (\"%s\")",
		     esptun_errmsg(h));
		return;
	}
	have_lifetimes = 1;
	if (!check_ret(ret, 0, NULL, "sa_add in 0x300 with all six limits"))
		return;
	c.spi = 0x301;
	c.limits.soft_bytes = c.limits.hard_bytes + 1;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), -EINVAL,
		  "soft-bytes must not exceed hard-bytes", "sa_add with soft-bytes > hard-bytes");
	ti = dump_tunnel(&list, 2);
	if (check(ti && ti->nsas == 1, "tunnel 2 has the SA")) {
		const struct esptun_sa_info *s = ti->sas[0];

		check(s->limits.soft_bytes == 1000000 && s->limits.hard_bytes == 2000000 &&
		      s->limits.soft_packets == 1000 && s->limits.hard_packets == 2000 &&
		      s->limits.soft_seconds == 3600 && s->limits.hard_seconds == 7200,
		      "the dump shows the six limits");
		check(ESPTUN_HAS(s, ESPTUN_A_SA_BYTES) && ESPTUN_HAS(s, ESPTUN_A_SA_PACKETS) &&
		      ESPTUN_HAS(s, ESPTUN_A_SA_AGE) && s->bytes == 0 && s->packets == 0,
		      "the dump shows bytes, packets and age (0, 0, %llu s)",
		      (unsigned long long)s->age);
		check(!ESPTUN_HAS(s, ESPTUN_A_SA_EXPIRE), "no limit crossed yet");
	}
	esptun_dev_list_free(list);
	if (have_sa_get) {
		ret = esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x300, &sa);
		check(ret == 0 && sa.limits.hard_seconds == 7200 && sa.tunnel_id == 2,
		      "sa_get shows the limits");
	}
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x300), 0, NULL,
		  "sa_del in 0x300");
}

static void test_events(void)
{
	struct esptun_tunnel_cfg t = { .size = sizeof(struct esptun_tunnel_cfg), .id = 1, .flags = ESPTUN_TUNNEL_HAS_ADMIN };
	const struct esptun_event *ev;
	int fd, stop = 1, ret;

	fd = esptun_event_subscribe(h);
	if (!check(fd >= 0, "event_subscribe: fd %d", fd))
		return;
	check(esptun_event_subscribe(h) == fd, "subscribing again gives the same fd");
	check_ret(esptun_event_read(h, collect, NULL), 0, NULL,
		  "event_read with nothing pending returns 0 at once");

	t.admin_state = ESPTUN_TUNNEL_STATE_DOWN;
	check_ret(esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t), 0, NULL, "tunnel_set id 1 down");
	wait_events(fd, 1, 2000);
	ev = find_state(1, ESPTUN_TUNNEL_STATE_DOWN);
	check(ev && ev->tunnel.cause == ESPTUN_STATE_CAUSE_ADMIN && !strcmp(ev->ifname, dev) &&
	      ev->ifindex == if_nametoindex(dev),
	      "event: tunnel 1 down, cause admin, on %s", dev);

	/* Two events; a callback that says stop after the first. */
	n_events = 0;
	t.admin_state = ESPTUN_TUNNEL_STATE_UP;
	esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t);
	t.admin_state = ESPTUN_TUNNEL_STATE_DOWN;
	esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t);
	poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 2000);
	ret = esptun_event_read(h, collect, &stop);
	check(ret == 1 && n_events == 1 && events[0].tunnel.state == ESPTUN_TUNNEL_STATE_UP,
	      "a callback returning non-zero stops after one event (%d)", ret);
	wait_events(fd, 2, 2000);
	check(n_events == 2 && events[1].tunnel.state == ESPTUN_TUNNEL_STATE_DOWN,
	      "the next read gets the other one");

	n_events = 0;
	t.admin_state = ESPTUN_TUNNEL_STATE_UP;
	esptun_tunnel_set(h, ESPTUN_DEV_NAME(dev), &t);
	wait_events(fd, 1, 2000);
	n_events = 0;
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x201), 0, NULL,
		  "sa_del out 0x201");
	wait_events(fd, 1, 2000);
	ev = find_state(1, ESPTUN_TUNNEL_STATE_DOWN);
	check(ev && ev->tunnel.cause == ESPTUN_STATE_CAUSE_SA,
	      "event: tunnel 1 down, cause sa");
}

static void test_expire_events(void)
{
	struct esptun_sa_cfg c = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x400);
	const struct esptun_event *soft = NULL, *hard = NULL;
	int fd = esptun_event_subscribe(h), i;

	if (!have_lifetimes) {
		skip("SA expire events: the module has no SA lifetimes yet");
		return;
	}
	n_events = 0;
	c.limits.soft_seconds = 1;
	c.limits.hard_seconds = 2;
	if (!check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL,
		       "sa_add out 0x400, soft-seconds 1, hard-seconds 2"))
		return;
	/* soft, hard, and the tunnel going down (cause sa) */
	wait_events(fd, 4, 5000);
	for (i = 0; i < n_events; i++) {
		if (events[i].type != ESPTUN_EVENT_SA_EXPIRE || events[i].sa.spi != 0x400)
			continue;
		if (events[i].sa.expire == ESPTUN_EXPIRE_SOFT && !soft)
			soft = &events[i];
		else if (events[i].sa.expire == ESPTUN_EXPIRE_HARD && !hard)
			hard = &events[i];
	}
	check(soft && soft->tunnel_id == 1 && soft->sa.dir == ESPTUN_SA_DIR_OUT &&
	      soft->sa.limit == ESPTUN_LIMIT_SECONDS && !strcmp(soft->ifname, dev),
	      "event: SA 0x400 soft expire, limit seconds");
	check(hard && hard->sa.limit == ESPTUN_LIMIT_SECONDS && soft && hard > soft,
	      "event: SA 0x400 hard expire, after the soft one");
	if (have_sa_get) {
		struct esptun_sa_info sa = { .size = sizeof(sa) };

		check(!esptun_sa_get(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x400, &sa) &&
		      ESPTUN_HAS(&sa, ESPTUN_A_SA_EXPIRE) && sa.expire == ESPTUN_EXPIRE_HARD,
		      "sa_get shows the SA expired (hard)");
	}
	esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_OUT, 0x400);
}

static void test_dump_and_delete(void)
{
	struct esptun_dev_list *list = NULL;
	const struct esptun_event *ev;
	struct esptun_sa_cfg c = sa_cfg(1, ESPTUN_SA_DIR_OUT, 0x500);
	size_t i;
	int found = 0, fd = esptun_event_subscribe(h);

	if (check_ret(esptun_dev_dump(h, NULL, &list), 0, NULL, "dev_dump of all devices")) {
		for (i = 0; i < list->n; i++)
			if (!strcmp(list->devs[i]->ifname, dev))
				found = list->devs[i]->ntunnels == 2 &&
					list->devs[i]->ifindex == if_nametoindex(dev);
		check(found, "it has %s with its two tunnels", dev);
		for (i = 0; i < list->n; i++)
			check(strcmp(list->devs[i]->ifname, other), "no %s in it", other);
	}
	esptun_dev_list_free(list);

	n_events = 0;
	check_ret(esptun_sa_add(h, ESPTUN_DEV_NAME(dev), &c), 0, NULL, "sa_add out 0x500: tunnel 1 up");
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 1), 0, NULL, "tunnel_del id 1 (up)");
	wait_events(fd, 2, 2000);
	ev = find_state(1, ESPTUN_TUNNEL_STATE_DOWN);
	check(ev && ev->tunnel.cause == ESPTUN_STATE_CAUSE_DELETED,
	      "event: tunnel 1 down, cause deleted");
	check_ret(esptun_sa_del(h, ESPTUN_DEV_NAME(dev), ESPTUN_SA_DIR_IN, 0x100), -ENOENT, NULL,
		  "its SAs went with it");
	check_ret(esptun_tunnel_del(h, ESPTUN_DEV_NAME(dev), 2), 0, NULL, "tunnel_del id 2");
	if (check_ret(esptun_dev_dump(h, ESPTUN_DEV_NAME(dev), &list), 0, NULL, "dev_dump DEV"))
		check(list->n == 1 && list->devs[0]->ntunnels == 0, "no tunnel left");
	esptun_dev_list_free(list);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ESPDEV OTHERDEV\n", argv[0]);
		return 2;
	}
	dev = argv[1];
	other = argv[2];
	printf("TAP version 13\n");
	test_handles();
	if (!h) {
		printf("1..%d\n", n_tests);
		return 1;
	}
	test_dev_errors();
	test_tunnels();
	test_encap();
	test_sas();
	test_sa_get();
	test_abi();
	test_spi_alloc();
	test_rekey();
	test_lifetimes();
	test_events();
	test_expire_events();
	test_dump_and_delete();
	esptun_close(h);
	printf("1..%d\n", n_tests);
	printf("# %d passed, %d failed, %d skipped\n",
	       n_tests - n_failed - n_skipped, n_failed, n_skipped);
	if (n_failed)
		return 1;
	return n_skipped == n_tests ? 4 : 0;
}
