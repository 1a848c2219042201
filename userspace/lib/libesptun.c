// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libesptun: the esptun generic netlink family as function calls.  The
 * contract of each public function is in esptun.h.  Never prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "esptun.h"
#include "nl.h"
#include "nl-gen.h"

#define EXPORT __attribute__((visibility("default")))

struct esptun {
	struct nl_sock *sk;	/* requests */
	int family;
	struct nl_sock *ev_sk;	/* events, once subscribed */
	char errmsg[256];
};

/* The library's own reason for refusing a request; returns @err. */
static int lib_err(struct esptun *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int lib_err(struct esptun *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->errmsg, sizeof(h->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

EXPORT int esptun_open(struct esptun **hp)
{
	struct esptun *h;
	int ret;

	*hp = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->sk = nl_socket_alloc();
	if (!h->sk) {
		free(h);
		return -ENOMEM;
	}
	ret = etn_nl_connect(h->sk, &h->family);
	if (ret) {
		nl_socket_free(h->sk);
		free(h);
		return ret;
	}
	*hp = h;
	return 0;
}

EXPORT void esptun_close(struct esptun *h)
{
	if (!h)
		return;
	nl_socket_free(h->sk);
	if (h->ev_sk)
		nl_socket_free(h->ev_sk);
	explicit_bzero(h, sizeof(*h));
	free(h);
}

EXPORT const char *esptun_errmsg(const struct esptun *h)
{
	return h ? h->errmsg : "";
}

/* ---------------------------------------------------------- requests */

/* A request naming DEV (NULL: none); NULL with h->errmsg set on failure. */
static struct nl_msg *dev_msg(struct esptun *h, int cmd, int flags,
			      const struct esptun_dev *dev, int *err)
{
	struct nl_msg *msg;

	h->errmsg[0] = '\0';
	if (dev && !dev->ifindex && !dev->name) {
		*err = lib_err(h, -EINVAL, "a device needs an ifindex or a name");
		return NULL;
	}
	if (dev && dev->name && strlen(dev->name) >= IF_NAMESIZE) {
		*err = lib_err(h, -EINVAL, "device name \"%s\" is too long",
			       dev->name);
		return NULL;
	}
	msg = etn_nl_msg(h->family, cmd, flags);
	if (!msg ||
	    (dev && dev->ifindex &&
	     nla_put_u32(msg, ESPTUN_A_IFINDEX, dev->ifindex)) ||
	    (dev && dev->name && nla_put_string(msg, ESPTUN_A_IFNAME, dev->name))) {
		etn_nl_msg_wipe(msg);
		*err = -ENOMEM;
		return NULL;
	}
	return msg;
}

#define OFFSETOFEND(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* The smallest size each structure a caller fills had in 1.0. */
#define TUNNEL_CFG_1_0	OFFSETOFEND(struct esptun_tunnel_cfg, pins)
#define SA_CFG_1_0	OFFSETOFEND(struct esptun_sa_cfg, limits)
#define SA_INFO_1_0	OFFSETOFEND(struct esptun_sa_info, expire)

/*
 * The caller's structure @src, of @src's size field, into @dst (@dst_size
 * bytes) with what the caller's header predates zeroed; -EINVAL when the
 * size cannot hold what the structure had in 1.0 (@min).
 */
static int sized_in(struct esptun *h, void *dst, size_t dst_size,
		    const void *src, size_t min, const char *what)
{
	size_t n;

	memcpy(&n, src, sizeof(n));
	if (n < min)
		return lib_err(h, -EINVAL,
			       "%s: set size to sizeof(struct %s)", what, what);
	memset(dst, 0, dst_size);
	memcpy(dst, src, n < dst_size ? n : dst_size);
	return 0;
}

static int talk(struct esptun *h, struct nl_msg *msg, etn_nl_parse_t parse,
		void *arg)
{
	return etn_nl_talk(h->sk, msg, parse, arg, h->errmsg, sizeof(h->errmsg));
}

static int put_addr(struct nl_msg *msg, const struct esptun_addr *a,
		    int v4, int v6)
{
	if (a->family == AF_INET)
		return nla_put(msg, v4, 4, &a->v4);
	return nla_put(msg, v6, 16, &a->v6);
}

static int check_addr(struct esptun *h, const char *what,
		      const struct esptun_addr *a)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return lib_err(h, -EINVAL, "%s address: family must be AF_INET or AF_INET6",
			       what);
	return 0;
}

static int put_pins(struct nl_msg *msg, const struct esptun_tunnel_cfg *cfg)
{
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL_PINS);
	if (!nest)
		return -1;
	for (i = 0; i < cfg->npins; i++)
		if (put_addr(msg, &cfg->pins[i], ESPTUN_A_PIN_IPV4,
			     ESPTUN_A_PIN_IPV6))
			return -1;
	/* Empty means "no pins": libnl would otherwise drop the nest. */
	nla_nest_end_keep_empty(msg, nest);
	return 0;
}

static int tunnel_request(struct esptun *h, int cmd,
			  const struct esptun_dev *dev,
			  const struct esptun_tunnel_cfg *user)
{
	const struct esptun_tunnel_cfg *cfg;
	struct esptun_tunnel_cfg c;
	struct nlattr *nest;
	struct nl_msg *msg;
	unsigned int i;
	uint32_t f;
	int ret;

	h->errmsg[0] = '\0';
	ret = sized_in(h, &c, sizeof(c), user, TUNNEL_CFG_1_0,
		       "esptun_tunnel_cfg");
	if (ret)
		return ret;
	cfg = &c;
	f = cfg->flags;
	msg = dev_msg(h, cmd, 0, dev, &ret);
	if (!msg)
		return ret;
	if (cmd == ESPTUN_CMD_TUNNEL_NEW &&
	    ((ret = check_addr(h, "local", &cfg->local)) ||
	     (ret = check_addr(h, "remote", &cfg->remote))))
		goto err;
	if (cmd == ESPTUN_CMD_TUNNEL_SET && (f & ESPTUN_TUNNEL_HAS_REMOTE) &&
	    (ret = check_addr(h, "remote", &cfg->remote)))
		goto err;
	if ((f & ESPTUN_TUNNEL_HAS_ENCAP_SOCKET) && cfg->encap_socket < 0) {
		ret = lib_err(h, -EBADF, "encap_socket: not a file descriptor");
		goto err;
	}
	if (f & ESPTUN_TUNNEL_HAS_PINS) {
		if (cfg->npins > ESPTUN_MAX_PINS) {
			ret = lib_err(h, -EINVAL, "at most %d pinned addresses",
				      ESPTUN_MAX_PINS);
			goto err;
		}
		for (i = 0; i < cfg->npins; i++)
			if ((ret = check_addr(h, "pinned", &cfg->pins[i])))
				goto err;
	}
	ret = -ENOMEM;
	nest = nla_nest_start(msg, ESPTUN_A_TUNNEL);
	if (!nest || nla_put_u32(msg, ESPTUN_A_TUNNEL_ID, cfg->id) ||
	    (cmd == ESPTUN_CMD_TUNNEL_NEW &&
	     put_addr(msg, &cfg->local, ESPTUN_A_TUNNEL_LOCAL_IPV4,
		      ESPTUN_A_TUNNEL_LOCAL_IPV6)) ||
	    ((cmd == ESPTUN_CMD_TUNNEL_NEW || (f & ESPTUN_TUNNEL_HAS_REMOTE)) &&
	     put_addr(msg, &cfg->remote, ESPTUN_A_TUNNEL_REMOTE_IPV4,
		      ESPTUN_A_TUNNEL_REMOTE_IPV6)) ||
	    ((f & ESPTUN_TUNNEL_HAS_WEIGHT) &&
	     nla_put_u8(msg, ESPTUN_A_TUNNEL_WEIGHT, cfg->weight)) ||
	    ((f & ESPTUN_TUNNEL_HAS_ADMIN) &&
	     nla_put_u8(msg, ESPTUN_A_TUNNEL_ADMIN_STATE, cfg->admin_state)) ||
	    ((f & ESPTUN_TUNNEL_HAS_KEEPALIVE) &&
	     nla_put_u16(msg, ESPTUN_A_TUNNEL_KEEPALIVE, cfg->keepalive)) ||
	    ((f & ESPTUN_TUNNEL_HAS_DEAD_AFTER) &&
	     nla_put_u16(msg, ESPTUN_A_TUNNEL_DEAD_AFTER, cfg->dead_after)) ||
	    ((f & ESPTUN_TUNNEL_HAS_PINS) && put_pins(msg, cfg)) ||
	    ((f & ESPTUN_TUNNEL_HAS_ENCAP) &&
	     nla_put_u8(msg, ESPTUN_A_TUNNEL_ENCAP, cfg->encap)) ||
	    ((f & ESPTUN_TUNNEL_HAS_ENCAP_SPORT) &&
	     nla_put_u16(msg, ESPTUN_A_TUNNEL_ENCAP_SPORT, htons(cfg->encap_sport))) ||
	    ((f & ESPTUN_TUNNEL_HAS_ENCAP_DPORT) &&
	     nla_put_u16(msg, ESPTUN_A_TUNNEL_ENCAP_DPORT, htons(cfg->encap_dport))) ||
	    ((f & ESPTUN_TUNNEL_HAS_NAT_KEEPALIVE) &&
	     nla_put_u16(msg, ESPTUN_A_TUNNEL_NAT_KEEPALIVE, cfg->nat_keepalive)) ||
	    ((f & ESPTUN_TUNNEL_HAS_ENCAP_SOCKET) &&
	     nla_put_u32(msg, ESPTUN_A_TUNNEL_ENCAP_SOCKET, cfg->encap_socket)))
		goto err;
	nla_nest_end(msg, nest);
	return talk(h, msg, NULL, NULL);
err:
	etn_nl_msg_wipe(msg);
	return ret;
}

EXPORT int esptun_tunnel_add(struct esptun *h, const struct esptun_dev *dev,
			     const struct esptun_tunnel_cfg *cfg)
{
	return tunnel_request(h, ESPTUN_CMD_TUNNEL_NEW, dev, cfg);
}

EXPORT int esptun_tunnel_set(struct esptun *h, const struct esptun_dev *dev,
			     const struct esptun_tunnel_cfg *cfg)
{
	return tunnel_request(h, ESPTUN_CMD_TUNNEL_SET, dev, cfg);
}

EXPORT int esptun_tunnel_del(struct esptun *h, const struct esptun_dev *dev,
			     uint32_t id)
{
	struct esptun_tunnel_cfg cfg = { .size = sizeof(cfg), .id = id };

	return tunnel_request(h, ESPTUN_CMD_TUNNEL_DEL, dev, &cfg);
}

/* An SA request with its SA nest open, holding DIR and SPI. */
static struct nl_msg *sa_msg(struct esptun *h, int cmd,
			     const struct esptun_dev *dev,
			     uint8_t dir, uint32_t spi, struct nlattr **nest,
			     int *err)
{
	struct nl_msg *msg = dev_msg(h, cmd, 0, dev, err);

	if (!msg)
		return NULL;
	*nest = nla_nest_start(msg, ESPTUN_A_SA);
	if (!*nest || nla_put_u8(msg, ESPTUN_A_SA_DIR, dir) ||
	    nla_put_u32(msg, ESPTUN_A_SA_SPI, htonl(spi))) {
		etn_nl_msg_wipe(msg);
		*err = -ENOMEM;
		return NULL;
	}
	return msg;
}

static int put_limit(struct nl_msg *msg, int attr, uint64_t v)
{
	return v ? nla_put_u64(msg, attr, v) : 0;
}

EXPORT int esptun_sa_add(struct esptun *h, const struct esptun_dev *dev,
			 const struct esptun_sa_cfg *user)
{
	const struct esptun_sa_limits *l;
	const struct esptun_sa_cfg *cfg;
	struct esptun_sa_cfg c;
	struct nlattr *nest;
	struct nl_msg *msg;
	int ret;

	h->errmsg[0] = '\0';
	ret = sized_in(h, &c, sizeof(c), user, SA_CFG_1_0, "esptun_sa_cfg");
	if (ret)
		return ret;
	cfg = &c;
	l = &cfg->limits;

	msg = sa_msg(h, ESPTUN_CMD_SA_NEW, dev, cfg->dir, cfg->spi, &nest, &ret);
	if (!msg)
		return ret;
	if (cfg->key_len > ESPTUN_KEY_LEN_MAX || (cfg->key_len && !cfg->key)) {
		etn_nl_msg_wipe(msg);
		return lib_err(h, -EINVAL,
			       "key must be 20, 28 or 36 bytes: AES-128/192/256 key then 4-byte salt");
	}
	/* The message holds the key from here: it is wiped when freed. */
	if (nla_put_u32(msg, ESPTUN_A_SA_TUNNEL_ID, cfg->tunnel_id) ||
	    nla_put(msg, ESPTUN_A_SA_KEY, (int)cfg->key_len, cfg->key) ||
	    ((cfg->flags & ESPTUN_SA_HAS_ESN) &&
	     nla_put_flag(msg, ESPTUN_A_SA_ESN)) ||
	    ((cfg->flags & ESPTUN_SA_HAS_REPLAY_WINDOW) &&
	     nla_put_u32(msg, ESPTUN_A_SA_REPLAY_WINDOW, cfg->replay_window)) ||
	    ((cfg->flags & ESPTUN_SA_HAS_SEQ) &&
	     nla_put_u64(msg, ESPTUN_A_SA_SEQ, cfg->seq)) ||
	    put_limit(msg, ESPTUN_A_SA_SOFT_BYTES, l->soft_bytes) ||
	    put_limit(msg, ESPTUN_A_SA_HARD_BYTES, l->hard_bytes) ||
	    put_limit(msg, ESPTUN_A_SA_SOFT_PACKETS, l->soft_packets) ||
	    put_limit(msg, ESPTUN_A_SA_HARD_PACKETS, l->hard_packets) ||
	    put_limit(msg, ESPTUN_A_SA_SOFT_SECONDS, l->soft_seconds) ||
	    put_limit(msg, ESPTUN_A_SA_HARD_SECONDS, l->hard_seconds)) {
		etn_nl_msg_wipe(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, nest);
	return talk(h, msg, NULL, NULL);
}

EXPORT int esptun_sa_rekey(struct esptun *h, const struct esptun_dev *dev,
			   const struct esptun_sa_cfg *user_in,
			   const struct esptun_sa_cfg *user_out)
{
	char why[sizeof(h->errmsg)];
	struct esptun_sa_cfg in, out;
	int ret;

	h->errmsg[0] = '\0';
	ret = sized_in(h, &in, sizeof(in), user_in, SA_CFG_1_0, "esptun_sa_cfg");
	if (!ret)
		ret = sized_in(h, &out, sizeof(out), user_out, SA_CFG_1_0,
			       "esptun_sa_cfg");
	if (ret)
		return ret;
	if (in.dir != ESPTUN_SA_DIR_IN || out.dir != ESPTUN_SA_DIR_OUT ||
	    in.tunnel_id != out.tunnel_id)
		return lib_err(h, -EINVAL,
			       "a rekey adds one inbound and one outbound SA to one tunnel");
	/* The copies are whole structures now, whatever the caller's size. */
	in.size = sizeof(in);
	out.size = sizeof(out);
	ret = esptun_sa_add(h, dev, &in);
	if (ret)
		return ret;
	ret = esptun_sa_add(h, dev, &out);
	if (ret) {
		/* Back to how it was, keeping the reason. */
		memcpy(why, h->errmsg, sizeof(why));
		esptun_sa_del(h, dev, ESPTUN_SA_DIR_IN, in.spi);
		memcpy(h->errmsg, why, sizeof(why));
	}
	return ret;
}

EXPORT int esptun_sa_del(struct esptun *h, const struct esptun_dev *dev,
			 uint8_t dir, uint32_t spi)
{
	struct nlattr *nest;
	struct nl_msg *msg;
	int ret;

	msg = sa_msg(h, ESPTUN_CMD_SA_DEL, dev, dir, spi, &nest, &ret);
	if (!msg)
		return ret;
	nla_nest_end(msg, nest);
	return talk(h, msg, NULL, NULL);
}

/* ------------------------------------------------------------ replies */

/* Counters this library does not know (newer kernels) are skipped. */
static int parse_stats(struct nlattr *nest, struct esptun_stats *st,
		       struct esptun_stats2 *st2)
{
	struct nlattr *tb[ESPTUN_A_STATS_MAX + 1];

	if (!nest)
		return 0;
	if (nla_parse_nested(tb, ESPTUN_A_STATS_MAX, nest, etn_stats_policy))
		return -EPROTO;
#define X(attr, field) \
	if (tb[ESPTUN_A_STATS_##attr]) \
		st->field = nla_get_u64(tb[ESPTUN_A_STATS_##attr]);
	ESPTUN_STATS_FIELDS(X)
#undef X
#define X(attr, field) \
	if (tb[ESPTUN_A_STATS_##attr]) \
		st2->field = nla_get_u64(tb[ESPTUN_A_STATS_##attr]);
	ESPTUN_STATS2_FIELDS(X)
#undef X
	return 0;
}

/*
 * A new zeroed element of @size bytes at the end of the pointer array
 * *@arr of *@n: callers reach elements through pointers, so a structure
 * that grows does not move the ones after it (see "Structures grow").
 */
static void *push(void ***arr, size_t *n, size_t size)
{
	void **p = realloc(*arr, (*n + 1) * sizeof(*p));
	void *e;

	if (!p)
		return NULL;
	*arr = p;
	e = calloc(1, size);
	if (e)
		p[(*n)++] = e;
	return e;
}

static int get_addr(struct nlattr *v4, struct nlattr *v6, struct esptun_addr *a)
{
	if (v4 && nla_len(v4) == 4) {
		a->family = AF_INET;
		memcpy(&a->v4, nla_data(v4), 4);
	} else if (v6 && nla_len(v6) == 16) {
		a->family = AF_INET6;
		memcpy(&a->v6, nla_data(v6), 16);
	} else {
		return -EPROTO;
	}
	return 0;
}

/* Attributes present in @tb (types 1..@max, at most 31) as a bitmask. */
static uint32_t present(struct nlattr **tb, int max)
{
	uint32_t p = 0;
	int i;

	for (i = 1; i <= max && i < 32; i++)
		if (tb[i])
			p |= 1u << i;
	return p;
}

static uint64_t u64_or0(struct nlattr *a)
{
	return a && nla_len(a) == 8 ? nla_get_u64(a) : 0;
}

static int parse_sa(struct nlattr *nest, struct esptun_sa_info *sa)
{
	struct nlattr *tb[ESPTUN_A_SA_MAX + 1];

	if (nla_parse_nested(tb, ESPTUN_A_SA_MAX, nest, etn_sa_policy) ||
	    !tb[ESPTUN_A_SA_DIR] || !tb[ESPTUN_A_SA_SPI])
		return -EPROTO;
	sa->present = present(tb, ESPTUN_A_SA_MAX);
	if (tb[ESPTUN_A_SA_TUNNEL_ID])
		sa->tunnel_id = nla_get_u32(tb[ESPTUN_A_SA_TUNNEL_ID]);
	sa->dir = nla_get_u8(tb[ESPTUN_A_SA_DIR]);
	sa->spi = ntohl(nla_get_u32(tb[ESPTUN_A_SA_SPI]));
	sa->seq = u64_or0(tb[ESPTUN_A_SA_SEQ]);
	sa->esn = !!tb[ESPTUN_A_SA_ESN];
	if (tb[ESPTUN_A_SA_REPLAY_WINDOW])
		sa->replay_window = nla_get_u32(tb[ESPTUN_A_SA_REPLAY_WINDOW]);
	if (parse_stats(tb[ESPTUN_A_SA_STATS], &sa->stats, &sa->stats2))
		return -EPROTO;
	sa->limits.soft_bytes = u64_or0(tb[ESPTUN_A_SA_SOFT_BYTES]);
	sa->limits.hard_bytes = u64_or0(tb[ESPTUN_A_SA_HARD_BYTES]);
	sa->limits.soft_packets = u64_or0(tb[ESPTUN_A_SA_SOFT_PACKETS]);
	sa->limits.hard_packets = u64_or0(tb[ESPTUN_A_SA_HARD_PACKETS]);
	sa->limits.soft_seconds = u64_or0(tb[ESPTUN_A_SA_SOFT_SECONDS]);
	sa->limits.hard_seconds = u64_or0(tb[ESPTUN_A_SA_HARD_SECONDS]);
	sa->bytes = u64_or0(tb[ESPTUN_A_SA_BYTES]);
	sa->packets = u64_or0(tb[ESPTUN_A_SA_PACKETS]);
	sa->age = u64_or0(tb[ESPTUN_A_SA_AGE]);
	sa->idle = u64_or0(tb[ESPTUN_A_SA_IDLE]);
	if (tb[ESPTUN_A_SA_EXPIRE])
		sa->expire = nla_get_u8(tb[ESPTUN_A_SA_EXPIRE]);
	return 0;
}

static int parse_tunnel(struct nlattr *nest, struct esptun_dev_info *d)
{
	struct nlattr *tb[ESPTUN_A_TUNNEL_MAX + 1], *a;
	struct esptun_tunnel_info *t;
	struct esptun_sa_info *sa;
	int rem, ret;

	if (nla_parse_nested(tb, ESPTUN_A_TUNNEL_MAX, nest, etn_tunnel_policy) ||
	    !tb[ESPTUN_A_TUNNEL_ID])
		return -EPROTO;
	t = push((void ***)&d->tunnels, &d->ntunnels, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->present = present(tb, ESPTUN_A_TUNNEL_MAX);
	t->id = nla_get_u32(tb[ESPTUN_A_TUNNEL_ID]);
	get_addr(tb[ESPTUN_A_TUNNEL_LOCAL_IPV4], tb[ESPTUN_A_TUNNEL_LOCAL_IPV6],
		 &t->local);
	get_addr(tb[ESPTUN_A_TUNNEL_REMOTE_IPV4], tb[ESPTUN_A_TUNNEL_REMOTE_IPV6],
		 &t->remote);
	if (tb[ESPTUN_A_TUNNEL_STATE])
		t->state = nla_get_u8(tb[ESPTUN_A_TUNNEL_STATE]);
	t->admin_state = tb[ESPTUN_A_TUNNEL_ADMIN_STATE] ?
		nla_get_u8(tb[ESPTUN_A_TUNNEL_ADMIN_STATE]) : ESPTUN_TUNNEL_STATE_UP;
	t->weight = tb[ESPTUN_A_TUNNEL_WEIGHT] ?
		nla_get_u8(tb[ESPTUN_A_TUNNEL_WEIGHT]) : 1;
	if (tb[ESPTUN_A_TUNNEL_SHARE])
		t->share = nla_get_u32(tb[ESPTUN_A_TUNNEL_SHARE]);
	if (tb[ESPTUN_A_TUNNEL_KEEPALIVE])
		t->keepalive = nla_get_u16(tb[ESPTUN_A_TUNNEL_KEEPALIVE]);
	if (tb[ESPTUN_A_TUNNEL_DEAD_AFTER])
		t->dead_after = nla_get_u16(tb[ESPTUN_A_TUNNEL_DEAD_AFTER]);
	if (tb[ESPTUN_A_TUNNEL_LIVENESS])
		t->liveness = nla_get_u8(tb[ESPTUN_A_TUNNEL_LIVENESS]);
	if (tb[ESPTUN_A_TUNNEL_ENCAP])
		t->encap = nla_get_u8(tb[ESPTUN_A_TUNNEL_ENCAP]);
	if (tb[ESPTUN_A_TUNNEL_ENCAP_SPORT])
		t->encap_sport = ntohs(nla_get_u16(tb[ESPTUN_A_TUNNEL_ENCAP_SPORT]));
	if (tb[ESPTUN_A_TUNNEL_ENCAP_DPORT])
		t->encap_dport = ntohs(nla_get_u16(tb[ESPTUN_A_TUNNEL_ENCAP_DPORT]));
	if (tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE])
		t->nat_keepalive = nla_get_u16(tb[ESPTUN_A_TUNNEL_NAT_KEEPALIVE]);
	if (tb[ESPTUN_A_TUNNEL_PINS]) {
		nla_for_each_nested(a, tb[ESPTUN_A_TUNNEL_PINS], rem) {
			if (t->npins == ESPTUN_MAX_PINS)
				break;
			if (!get_addr(nla_type(a) == ESPTUN_A_PIN_IPV4 ? a : NULL,
				      nla_type(a) == ESPTUN_A_PIN_IPV6 ? a : NULL,
				      &t->pins[t->npins]))
				t->npins++;
		}
	}
	ret = parse_stats(tb[ESPTUN_A_TUNNEL_STATS], &t->stats, &t->stats2);
	if (ret)
		return ret;
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != ESPTUN_A_TUNNEL_SA)
			continue;
		sa = push((void ***)&t->sas, &t->nsas, sizeof(*sa));
		if (!sa)
			return -ENOMEM;
		sa->size = sizeof(*sa);
		ret = parse_sa(a, sa);
		if (ret)
			return ret;
		sa->tunnel_id = t->id;
	}
	return 0;
}

/* One message; a device may span several (same ifindex, in a row). */
static int parse_dev(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[ESPTUN_A_MAX + 1], *a;
	struct esptun_dev_list *list = arg;
	struct esptun_dev_info *d;
	unsigned int ifindex;
	int rem, ret;

	if (genlmsg_parse(nlh, 0, tb, ESPTUN_A_MAX, etn_esptun_policy) ||
	    !tb[ESPTUN_A_IFINDEX] || !tb[ESPTUN_A_IFNAME])
		return -EPROTO;
	ifindex = nla_get_u32(tb[ESPTUN_A_IFINDEX]);
	if (list->n && list->devs[list->n - 1]->ifindex == ifindex) {
		d = list->devs[list->n - 1];
	} else {
		d = push((void ***)&list->devs, &list->n, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->ifindex = ifindex;
		snprintf(d->ifname, sizeof(d->ifname), "%s",
			 nla_get_string(tb[ESPTUN_A_IFNAME]));
	}
	if (tb[ESPTUN_A_FEATURES])
		d->features = nla_get_u32(tb[ESPTUN_A_FEATURES]);
	ret = parse_stats(tb[ESPTUN_A_STATS], &d->stats, &d->stats2);
	if (ret)
		return ret;
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != ESPTUN_A_TUNNEL)
			continue;
		ret = parse_tunnel(a, d);
		if (ret)
			return ret;
	}
	return 0;
}

static void dev_list_clear(struct esptun_dev_list *list)
{
	struct esptun_tunnel_info *t;
	struct esptun_dev_info *d;
	size_t i, j, k;

	for (i = 0; i < list->n; i++) {
		d = list->devs[i];
		for (j = 0; j < d->ntunnels; j++) {
			t = d->tunnels[j];
			for (k = 0; k < t->nsas; k++)
				free(t->sas[k]);
			free(t->sas);
			free(t);
		}
		free(d->tunnels);
		free(d);
	}
	free(list->devs);
	list->devs = NULL;
	list->n = 0;
}

EXPORT void esptun_dev_list_free(struct esptun_dev_list *list)
{
	if (!list)
		return;
	dev_list_clear(list);
	free(list);
}

EXPORT int esptun_dev_dump(struct esptun *h, const struct esptun_dev *dev,
			   struct esptun_dev_list **listp)
{
	struct esptun_dev_list *list;
	int ret = -EINTR, tries;

	*listp = NULL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	/* Interrupted by a concurrent change, the dump starts over. */
	for (tries = 0; tries < 10 && ret == -EINTR; tries++) {
		struct nl_msg *msg;

		msg = dev_msg(h, ESPTUN_CMD_DEV_GET, NLM_F_DUMP, dev, &ret);
		if (!msg)
			break;
		dev_list_clear(list);
		ret = talk(h, msg, parse_dev, list);
	}
	if (ret) {
		esptun_dev_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

struct sa_get {
	struct esptun_sa_info *sa;
	int found;
};

static int parse_sa_get(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ESPTUN_A_MAX + 1];
	struct sa_get *g = arg;
	int ret;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ESPTUN_A_MAX,
			  etn_esptun_policy) ||
	    !tb[ESPTUN_A_SA])
		return -EPROTO;
	ret = parse_sa(tb[ESPTUN_A_SA], g->sa);
	if (!ret)
		g->found = 1;
	return ret;
}

EXPORT int esptun_sa_get(struct esptun *h, const struct esptun_dev *dev,
			 uint8_t dir, uint32_t spi, struct esptun_sa_info *sa)
{
	size_t size = sa->size;
	struct esptun_sa_info got;
	struct sa_get g = { .sa = &got };
	struct nlattr *nest;
	struct nl_msg *msg;
	int ret;

	h->errmsg[0] = '\0';
	if (size < SA_INFO_1_0)
		return lib_err(h, -EINVAL,
			       "esptun_sa_info: set size to sizeof(struct esptun_sa_info)");
	memset(&got, 0, sizeof(got));
	msg = sa_msg(h, ESPTUN_CMD_SA_GET, dev, dir, spi, &nest, &ret);
	if (!msg)
		return ret;
	nla_nest_end(msg, nest);
	ret = talk(h, msg, parse_sa_get, &g);
	if (!ret && !g.found)
		ret = -EPROTO;
	/* What the caller's structure holds, and no byte more. */
	got.size = size;
	memcpy(sa, &got, size < sizeof(got) ? size : sizeof(got));
	return ret;
}

static int parse_spi_alloc(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ESPTUN_A_MAX + 1], *s[ESPTUN_A_SA_MAX + 1];
	uint32_t *spi = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ESPTUN_A_MAX,
			  etn_esptun_policy) || !tb[ESPTUN_A_SA] ||
	    nla_parse_nested(s, ESPTUN_A_SA_MAX, tb[ESPTUN_A_SA], etn_sa_policy) ||
	    !s[ESPTUN_A_SA_SPI])
		return -EPROTO;
	*spi = ntohl(nla_get_u32(s[ESPTUN_A_SA_SPI]));
	return 0;
}

EXPORT int esptun_spi_alloc(struct esptun *h, const struct esptun_dev *dev,
			    uint32_t min, uint32_t max, uint32_t *spi)
{
	struct nlattr *nest;
	struct nl_msg *msg;
	int ret;

	*spi = 0;
	msg = dev_msg(h, ESPTUN_CMD_SPI_ALLOC, 0, dev, &ret);
	if (!msg)
		return ret;
	if (min || max) {
		nest = nla_nest_start(msg, ESPTUN_A_SA);
		if (!nest || (min && nla_put_u32(msg, ESPTUN_A_SA_SPI_MIN, htonl(min))) ||
		    (max && nla_put_u32(msg, ESPTUN_A_SA_SPI_MAX, htonl(max)))) {
			etn_nl_msg_wipe(msg);
			return -ENOMEM;
		}
		nla_nest_end(msg, nest);
	}
	ret = talk(h, msg, parse_spi_alloc, spi);
	if (!ret && !*spi)
		ret = -EPROTO;
	return ret;
}

/* ------------------------------------------------------------ events */

EXPORT int esptun_event_subscribe(struct esptun *h)
{
	struct nl_sock *sk;
	int grp, ret;

	h->errmsg[0] = '\0';
	if (h->ev_sk)
		return nl_socket_get_fd(h->ev_sk);
	grp = genl_ctrl_resolve_grp(h->sk, ESPTUN_FAMILY_NAME, ESPTUN_MCGRP_EVENTS);
	if (grp < 0)
		return lib_err(h, -ENOENT, "the esptun family has no \"%s\" group",
			       ESPTUN_MCGRP_EVENTS);
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	/* Events are not replies: no sequence numbers to match. */
	nl_socket_disable_seq_check(sk);
	ret = genl_connect(sk);
	if (!ret)
		ret = nl_socket_add_membership(sk, grp);
	if (!ret)
		ret = nl_socket_set_nonblocking(sk);
	if (ret) {
		nl_socket_free(sk);
		return etn_nlerr(ret);
	}
	h->ev_sk = sk;
	return nl_socket_get_fd(sk);
}

struct ev_read {
	esptun_event_cb cb;
	void *arg;
	int n;
	int stop;
};

static int decode_tunnel_state(struct nlattr **tb, struct esptun_event *ev)
{
	struct nlattr *t[ESPTUN_A_TUNNEL_MAX + 1];

	if (!tb[ESPTUN_A_TUNNEL] ||
	    nla_parse_nested(t, ESPTUN_A_TUNNEL_MAX, tb[ESPTUN_A_TUNNEL],
			     etn_tunnel_policy) ||
	    !t[ESPTUN_A_TUNNEL_ID] || !t[ESPTUN_A_TUNNEL_STATE])
		return -EPROTO;
	ev->type = ESPTUN_EVENT_TUNNEL_STATE;
	ev->tunnel_id = nla_get_u32(t[ESPTUN_A_TUNNEL_ID]);
	ev->tunnel.state = nla_get_u8(t[ESPTUN_A_TUNNEL_STATE]);
	ev->tunnel.cause = t[ESPTUN_A_TUNNEL_CAUSE] ?
		nla_get_u8(t[ESPTUN_A_TUNNEL_CAUSE]) : -1;
	return 0;
}

static int decode_sa_expire(struct nlattr **tb, struct esptun_event *ev)
{
	struct nlattr *s[ESPTUN_A_SA_MAX + 1];

	if (!tb[ESPTUN_A_SA] ||
	    nla_parse_nested(s, ESPTUN_A_SA_MAX, tb[ESPTUN_A_SA], etn_sa_policy) ||
	    !s[ESPTUN_A_SA_DIR] || !s[ESPTUN_A_SA_SPI] || !s[ESPTUN_A_SA_EXPIRE])
		return -EPROTO;
	ev->type = ESPTUN_EVENT_SA_EXPIRE;
	if (s[ESPTUN_A_SA_TUNNEL_ID])
		ev->tunnel_id = nla_get_u32(s[ESPTUN_A_SA_TUNNEL_ID]);
	ev->sa.dir = nla_get_u8(s[ESPTUN_A_SA_DIR]);
	ev->sa.spi = ntohl(nla_get_u32(s[ESPTUN_A_SA_SPI]));
	ev->sa.expire = nla_get_u8(s[ESPTUN_A_SA_EXPIRE]);
	ev->sa.limit = s[ESPTUN_A_SA_LIMIT] ? nla_get_u8(s[ESPTUN_A_SA_LIMIT]) : -1;
	ev->sa.seq = u64_or0(s[ESPTUN_A_SA_SEQ]);
	ev->sa.bytes = u64_or0(s[ESPTUN_A_SA_BYTES]);
	ev->sa.packets = u64_or0(s[ESPTUN_A_SA_PACKETS]);
	ev->sa.age = u64_or0(s[ESPTUN_A_SA_AGE]);
	return 0;
}

static int event_valid(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *tb[ESPTUN_A_MAX + 1];
	struct ev_read *r = arg;
	struct esptun_event ev;
	int ret;

	memset(&ev, 0, sizeof(ev));
	if (genlmsg_parse(nlh, 0, tb, ESPTUN_A_MAX, etn_esptun_policy) || !tb[ESPTUN_A_IFNAME])
		return NL_OK;
	/* Newer kernels may send events this library does not know: skip. */
	if (gnlh->cmd == ESPTUN_CMD_TUNNEL_STATE_NTF)
		ret = decode_tunnel_state(tb, &ev);
	else if (gnlh->cmd == ESPTUN_CMD_SA_EXPIRE_NTF)
		ret = decode_sa_expire(tb, &ev);
	else
		return NL_OK;
	if (ret)
		return NL_OK;
	if (tb[ESPTUN_A_IFINDEX])
		ev.ifindex = nla_get_u32(tb[ESPTUN_A_IFINDEX]);
	snprintf(ev.ifname, sizeof(ev.ifname), "%s",
		 nla_get_string(tb[ESPTUN_A_IFNAME]));
	r->n++;
	if (r->cb(&ev, r->arg)) {
		r->stop = 1;
		return NL_STOP;
	}
	return NL_OK;
}

static int event_seq_ok(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

EXPORT int esptun_event_read(struct esptun *h, esptun_event_cb cb, void *arg)
{
	struct ev_read r = { .cb = cb, .arg = arg };
	struct nl_cb *nlcb;
	int ret;

	h->errmsg[0] = '\0';
	if (!h->ev_sk)
		return lib_err(h, -EBADF, "not subscribed to events");
	nlcb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nlcb)
		return -ENOMEM;
	nl_cb_set(nlcb, NL_CB_VALID, NL_CB_CUSTOM, event_valid, &r);
	nl_cb_set(nlcb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, event_seq_ok, NULL);
	/* Until nothing is pending (-NLE_AGAIN) or the callback says stop. */
	do {
		ret = nl_recvmsgs_report(h->ev_sk, nlcb);
	} while (ret > 0 && !r.stop);
	nl_cb_put(nlcb);
	if (ret == -NLE_AGAIN || ret >= 0)
		return r.n;
	/* ENOBUFS from recvmsg(): the kernel dropped events. */
	if (ret == -NLE_NOMEM)
		return lib_err(h, -ENOBUFS, "events lost (receive buffer full)");
	return etn_nlerr(ret);
}
