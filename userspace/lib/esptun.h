/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libesptun: program esptun devices (ESP tunnel-mode, AES-GCM) from an IKE
 * daemon by calling functions rather than building netlink messages.
 *
 * Link with `pkg-config --cflags --libs libesptun`.
 *
 * Conventions, for every function below unless it says otherwise:
 *
 * - Functions return 0 (or a non-negative count) on success and a negative
 *   errno on failure.  When the kernel explained a failure (its extended
 *   ACK), esptun_errmsg() returns that text until the next call on the
 *   handle; when the library refused a request itself (e.g. too many pins)
 *   it returns the library's reason.  The library never prints.
 * - DEV (@dev) names the device by ifindex or by name (at most
 *   IF_NAMESIZE - 1 bytes: -EINVAL otherwise), or both, which must then be
 *   the same device: ESPTUN_DEV_INDEX(i) and ESPTUN_DEV_NAME("esp0") make
 *   one.  A device that does not exist fails with -ENODEV ("no such
 *   device"); a device that is not esptun with -EOPNOTSUPP.
 * - A handle is one netlink socket in the network namespace of the thread
 *   that opened it.  It is not thread-safe: use one handle per thread, or
 *   serialise the calls.
 * - Structures passed in (the *_cfg ones) are zero-initialised by the
 *   caller, then filled: zero is "leave the kernel's default" or "not set"
 *   throughout, and the HAS flags say which optional fields are meant.
 * - Structures grow at their end only.  Those the caller passes in or
 *   fills (the *_cfg ones, esptun_sa_get()'s) start with @size, which the
 *   caller sets to sizeof: the library reads or writes no byte past it,
 *   and takes fields a caller built before they existed as zero.  Those
 *   the library allocates (dumps, events) are reached through pointers,
 *   never as arrays, so a caller built against an older header reads the
 *   fields it knows.  (-EINVAL when @size is too small to hold 1.0's.)
 * - Every call needs CAP_NET_ADMIN in the user namespace owning the
 *   handle's network namespace (-EPERM otherwise).
 *
 * Numeric constants (directions, states, causes, limits, encapsulations)
 * are those of <linux/esptun.h>, which this header includes.
 */
#ifndef LIBESPTUN_H
#define LIBESPTUN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/esptun.h>
#include <esptun-tables.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBESPTUN_VERSION_MAJOR 1
#define LIBESPTUN_VERSION_MINOR 0

/* Pinned inner destinations per tunnel: as many as the kernel takes. */
#define ESPTUN_MAX_PINS 16
/* The longest key: AES-256 key then the 4-byte salt. */
#define ESPTUN_MAX_KEY_LEN 36

/* An opaque handle: one netlink socket for requests, one for events. */
struct esptun;

/* A device: by @ifindex (not 0), by @name, or both. */
struct esptun_dev {
	unsigned int ifindex;
	const char *name;
};

#define ESPTUN_DEV_INDEX(i)	(&(const struct esptun_dev){ .ifindex = (i) })
#define ESPTUN_DEV_NAME(n)	(&(const struct esptun_dev){ .name = (n) })

/*
 * esptun_open() - connect to the esptun generic netlink family
 * @hp: where the new handle is stored
 *
 * Return: 0; -ENOENT when the kernel has no "esptun" family (the module is
 * not loaded); -ENOMEM; another negative errno from socket().
 */
int esptun_open(struct esptun **hp);

/* esptun_close() - close the handle's sockets and free it (NULL is fine). */
void esptun_close(struct esptun *h);

/*
 * esptun_errmsg() - why the last call on @h failed, in words
 *
 * Return: the kernel's extended ACK text (e.g. "no tunnel with this id"),
 * or the library's own reason, or "" when there is none.  The string
 * belongs to @h and is valid until the next call on @h.
 */
const char *esptun_errmsg(const struct esptun *h);

/* An IPv4 or IPv6 address: @family is AF_INET or AF_INET6. */
struct esptun_addr {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* ----------------------------------------------------------- tunnels */

/* Which optional fields of struct esptun_tunnel_cfg are set. */
enum {
	ESPTUN_TUNNEL_HAS_WEIGHT	= 1 << 0,
	ESPTUN_TUNNEL_HAS_ADMIN		= 1 << 1,	/* set only */
	ESPTUN_TUNNEL_HAS_PINS		= 1 << 2,	/* npins may be 0 */
	ESPTUN_TUNNEL_HAS_KEEPALIVE	= 1 << 3,
	ESPTUN_TUNNEL_HAS_DEAD_AFTER	= 1 << 4,
	ESPTUN_TUNNEL_HAS_ENCAP		= 1 << 5,	/* add only */
	ESPTUN_TUNNEL_HAS_NAT_KEEPALIVE	= 1 << 6,	/* with ENCAP UDP */
	ESPTUN_TUNNEL_HAS_ENCAP_SPORT	= 1 << 7,	/* add only */
	ESPTUN_TUNNEL_HAS_ENCAP_DPORT	= 1 << 8,	/* with ENCAP UDP */
	ESPTUN_TUNNEL_HAS_REMOTE	= 1 << 9,	/* set only */
	ESPTUN_TUNNEL_HAS_ENCAP_SOCKET	= 1 << 10,	/* with ENCAP UDP; 1.3 */
};

struct esptun_tunnel_cfg {
	size_t size;			/* sizeof(struct esptun_tunnel_cfg) */
	uint32_t id;			/* unique in the device */
	struct esptun_addr local;	/* add only; one family for both */
	struct esptun_addr remote;	/* add, or set with HAS_REMOTE */
	uint32_t flags;			/* ESPTUN_TUNNEL_HAS_* */
	uint8_t weight;			/* 1-255 (default 1) */
	uint8_t admin_state;		/* ESPTUN_TUNNEL_STATE_UP or _DOWN */
	uint16_t keepalive;		/* seconds, 0: off */
	uint16_t dead_after;		/* seconds, 0: off */
	uint16_t nat_keepalive;		/* seconds, 0: off */
	uint8_t encap;			/* ESPTUN_ENCAP_NONE or _UDP */
	uint16_t encap_sport;		/* host order; without HAS: 4500 */
	uint16_t encap_dport;		/* host order; without HAS: 4500 */
	unsigned int npins;
	struct esptun_addr pins[ESPTUN_MAX_PINS];
	/* Since 1.3: */
	int encap_socket;		/* a UDP socket to take the port */
};

/*
 * esptun_tunnel_add() - add a tunnel (a pair of outer addresses) to DEV
 *
 * @cfg->id, ->local and ->remote are required; the other fields as their
 * HAS flags say.  The new tunnel is up (admin) and carries traffic once it
 * has an outbound SA.  ESPTUN_TUNNEL_HAS_ENCAP with ESPTUN_ENCAP_UDP: ESP
 * in UDP (RFC 3948) between the local port encap_sport and the remote
 * port encap_dport (each 4500 without its HAS flag); the kernel refuses
 * port 0, ports without UDP encapsulation, and a local port held by a
 * socket that is not UDP_ENCAP_ESPINUDP (-EADDRINUSE).
 * ESPTUN_TUNNEL_HAS_ENCAP_SOCKET (add or set, with UDP encapsulation;
 * module feature ESPTUN_FEATURE_ENCAP_SOCKET): the IKE daemon's UDP socket
 * @cfg->encap_socket, with UDP_ENCAP_ESPINUDP, bound by the daemon to the
 * tunnel's local port, takes the port: the kernel closes its own socket
 * there (with the module parameter encap_reuseport, a daemon of the same
 * user binds beside it with SO_REUSEPORT first).  The daemon keeps the
 * socket and owns the port.
 *
 * Return: 0; -EEXIST (a tunnel with this id already exists, or one joins
 * these addresses, or a pin is another tunnel's), -EINVAL (addresses of
 * two families, more than ESPTUN_MAX_PINS pins, a bad field: see
 * esptun_errmsg(); also a field the running kernel does not support yet,
 * e.g. UDP encapsulation), -ENOSPC (the device has ESPTUN_MAX_TUNNELS
 * tunnels), -ENODEV,
 * -EOPNOTSUPP (DEV is not esptun).
 */
int esptun_tunnel_add(struct esptun *h, const struct esptun_dev *dev,
		      const struct esptun_tunnel_cfg *cfg);

/*
 * esptun_tunnel_set() - change a tunnel: the fields whose HAS flag is set
 *
 * ESPTUN_TUNNEL_HAS_ADMIN takes the tunnel down (its flows move to the
 * others) or up.  ESPTUN_TUNNEL_HAS_PINS replaces the tunnel's pins (none
 * when npins is 0).  ESPTUN_TUNNEL_HAS_REMOTE moves the remote end to
 * @cfg->remote (of the tunnel's family) and ESPTUN_TUNNEL_HAS_ENCAP_DPORT
 * (UDP encapsulation) its port, keeping the SAs: what an IKE daemon does
 * when MOBIKE or a NAT moves the peer.  The local address and the
 * encapsulation cannot change: add a new tunnel.
 * ESPTUN_TUNNEL_HAS_ENCAP_SOCKET: as for esptun_tunnel_add(), not with
 * HAS_REMOTE.  Return: 0; -ENOENT (no tunnel with this id), -EEXIST
 * (another tunnel joins the new addresses), -EINVAL, -ENODEV, -EBADF,
 * -ENOTSOCK, -EADDRINUSE.
 */
int esptun_tunnel_set(struct esptun *h, const struct esptun_dev *dev,
		      const struct esptun_tunnel_cfg *cfg);

/*
 * esptun_tunnel_del() - delete tunnel @id of DEV and all its SAs
 * Return: 0; -ENOENT (no tunnel with this id), -ENODEV.
 */
int esptun_tunnel_del(struct esptun *h, const struct esptun_dev *dev,
		      uint32_t id);

/* --------------------------------------------------------------- SAs */

/* Lifetime limits of an SA, counted from its addition; 0: none. */
struct esptun_sa_limits {
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_packets, hard_packets;
	uint64_t soft_seconds, hard_seconds;
};

/* Which optional fields of struct esptun_sa_cfg are set. */
enum {
	ESPTUN_SA_HAS_REPLAY_WINDOW	= 1 << 0,
	ESPTUN_SA_HAS_SEQ		= 1 << 1,
	ESPTUN_SA_HAS_ESN		= 1 << 2,
};

struct esptun_sa_cfg {
	size_t size;			/* sizeof(struct esptun_sa_cfg) */
	uint32_t tunnel_id;
	uint8_t dir;			/* ESPTUN_SA_DIR_IN or _OUT */
	uint32_t spi;			/* host order, not 0 */
	const uint8_t *key;		/* AES-GCM key then 4-byte salt */
	size_t key_len;			/* 20, 28 or 36 */
	uint32_t flags;			/* ESPTUN_SA_HAS_* */
	uint32_t replay_window;		/* inbound, 0-4096 (default 1024) */
	uint64_t seq;			/* outbound: the last one used */
	struct esptun_sa_limits limits;	/* all 0: no limits sent */
};

/*
 * esptun_sa_add() - add an SA to a tunnel of DEV, or replace its outbound
 * SA
 *
 * An inbound SA is added next to the tunnel's others (several may be live
 * during a rekey).  An outbound SA replaces the tunnel's current one, if
 * any, atomically: packets go out under the old SA until the new one is
 * in place, never under none.  This is the kernel's semantics; there is
 * no separate replace call.
 *
 * The library copies @cfg->key into the request and zeroises its copy
 * (explicit_bzero) once sent, whatever the outcome; the caller's buffer
 * is the caller's to wipe.  Limits are sent only when one is non-zero, so
 * SAs without limits can be added on kernels that predate them.
 *
 * Return: 0; -ENOENT (no tunnel with this id), -EEXIST (an inbound SA with
 * this SPI exists in the namespace, or another tunnel of the device has
 * an outbound SA with this SPI), -ERANGE (a key shorter than 20 or longer
 * than 36 bytes, SPI 0, a replay window over 4096), -EINVAL (a key of
 * another length, seq on an inbound SA, seq beyond 2^32-1 without ESN, a
 * soft limit above its hard one), -ENODEV.
 */
int esptun_sa_add(struct esptun *h, const struct esptun_dev *dev,
		  const struct esptun_sa_cfg *cfg);

/*
 * esptun_sa_rekey() - the make-before-break step of an IKE rekey
 * @in: the new inbound SA
 * @out: the new outbound SA, of the same tunnel
 *
 * Adds @in, then @out, which replaces the tunnel's outbound SA atomically
 * (packets leave under the old one until the new one is in place, never
 * under none; the old one is gone then).  The old inbound SA stays: the
 * daemon deletes it once the peer has moved to the new one (RFC 7296 1.3
 * and 2.8), since the peer's packets in flight still use it.  If @out is
 * refused, @in is deleted again and the tunnel is as before.  Two round
 * trips; the keys are handled as by esptun_sa_add().
 *
 * Return: as esptun_sa_add(); -EINVAL also when @in is not inbound, @out
 * not outbound, or they name two tunnels.
 */
int esptun_sa_rekey(struct esptun *h, const struct esptun_dev *dev,
		    const struct esptun_sa_cfg *in,
		    const struct esptun_sa_cfg *out);

/*
 * esptun_sa_del() - delete the SA of DEV with this direction and SPI
 * Return: 0; -ENOENT ("no SA with this direction and SPI"), -ENODEV.
 */
int esptun_sa_del(struct esptun *h, const struct esptun_dev *dev,
		  uint8_t dir, uint32_t spi);

/* ------------------------------------------------- state and counters */

/*
 * Counters (the "stats" attribute set).  The kernel reports some always
 * and the others when not zero; absent ones read 0.
 */
struct esptun_stats {
#define ESPTUN_STATS_MEMBER(attr, field) uint64_t field;
	ESPTUN_STATS_FIELDS(ESPTUN_STATS_MEMBER)
#undef ESPTUN_STATS_MEMBER
};

/*
 * Counters added since 1.0 (struct esptun_stats is frozen): at the end of
 * each structure that has counters, as "stats2".
 */
struct esptun_stats2 {
#define ESPTUN_STATS_MEMBER(attr, field) uint64_t field;
	ESPTUN_STATS2_FIELDS(ESPTUN_STATS_MEMBER)
#undef ESPTUN_STATS_MEMBER
};

/*
 * Attributes a reply carried: bit (1 << ESPTUN_A_SA_x) of
 * esptun_sa_info.present, (1 << ESPTUN_A_TUNNEL_x) of
 * esptun_tunnel_info.present.  A field whose attribute was absent is 0:
 * this tells "0" from "the kernel does not report it".
 */
#define ESPTUN_HAS(info, attr) (!!((info)->present & (1u << (attr))))

struct esptun_sa_info {
	size_t size;			/* esptun_sa_get(): set by the caller */
	uint32_t present;		/* ESPTUN_HAS(sa, ESPTUN_A_SA_x) */
	uint32_t tunnel_id;
	uint8_t dir;
	uint32_t spi;
	uint64_t seq;	/* outbound: last sent; inbound: highest received */
	int esn;
	uint32_t replay_window;		/* inbound */
	struct esptun_stats stats;
	struct esptun_sa_limits limits;
	uint64_t bytes, packets;	/* carried so far (inner packets) */
	uint64_t age;			/* seconds since the SA was added */
	uint64_t idle;			/* seconds since it last carried a
					 * packet, when ESPTUN_A_SA_IDLE is
					 * present: its last use */
	uint8_t expire;			/* ESPTUN_EXPIRE_SOFT or _HARD, when
					 * ESPTUN_A_SA_EXPIRE is present */
	/* Since 1.1: filled when @size covers it. */
	struct esptun_stats2 stats2;
};

struct esptun_tunnel_info {
	uint32_t present;		/* ESPTUN_HAS(t, ESPTUN_A_TUNNEL_x) */
	uint32_t id;
	struct esptun_addr local, remote;
	uint8_t state;			/* up when it carries traffic */
	uint8_t admin_state;		/* as set */
	uint8_t weight;
	uint32_t share;			/* of the hashed flows, millionths */
	uint16_t keepalive, dead_after;
	uint8_t liveness;		/* when dead_after is set */
	uint8_t encap;
	uint16_t encap_sport, encap_dport;	/* host order */
	uint16_t nat_keepalive;
	unsigned int npins;
	struct esptun_addr pins[ESPTUN_MAX_PINS];
	struct esptun_stats stats;
	size_t nsas;
	struct esptun_sa_info **sas;	/* the outbound SA first */
	struct esptun_stats2 stats2;	/* since 1.1 */
};

struct esptun_dev_info {
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t features;		/* ESPTUN_FEATURE_*: the module's */
	struct esptun_stats stats;	/* device-wide */
	size_t ntunnels;
	struct esptun_tunnel_info **tunnels;
	struct esptun_stats2 stats2;	/* since 1.1 */
};

struct esptun_dev_list {
	size_t n;
	struct esptun_dev_info **devs;
};

/*
 * esptun_dev_dump() - the state and counters of every esptun device of
 * the handle's namespace, or of DEV only (@dev not NULL); list->devs[i],
 * ->tunnels[j] and ->sas[k] point at each one
 * @list: set to a new list, freed with esptun_dev_list_free()
 *
 * A dump interrupted by a concurrent change is restarted (a few times).
 * Keys are never reported.
 *
 * Return: 0; -ENODEV, -EOPNOTSUPP (DEV is not esptun), -EINTR (the dump
 * kept being interrupted), -ENOMEM, -EPROTO (a malformed reply).
 */
int esptun_dev_dump(struct esptun *h, const struct esptun_dev *dev,
		    struct esptun_dev_list **list);

/* esptun_dev_list_free() - free a list and everything in it (NULL is fine) */
void esptun_dev_list_free(struct esptun_dev_list *list);

/*
 * esptun_sa_get() - one SA of DEV, by direction and SPI, with its tunnel
 * @sa: filled in up to @sa->size, which the caller sets (sa->tunnel_id
 *	says which tunnel it belongs to)
 *
 * Return: 0; -ENOENT (no such SA), -ENODEV, -EOPNOTSUPP (also: a kernel
 * without ESPTUN_CMD_SA_GET).
 */
int esptun_sa_get(struct esptun *h, const struct esptun_dev *dev,
		  uint8_t dir, uint32_t spi, struct esptun_sa_info *sa);

/*
 * esptun_spi_alloc() - reserve a free inbound SPI for DEV (XFRM's ALLOCSPI)
 * @min: the lowest SPI wanted, host order; 0: ESPTUN_SPI_MIN_DEFAULT
 * @max: the highest; 0: 0xffffffff
 * @spi: the SPI, host order
 *
 * The SPI is random in the range and held by no esptun SA, reservation or
 * XFRM state of the namespace DEV sends from.  It stays reserved for an
 * inbound SA of DEV (esptun_sa_add()) for ESPTUN_SPI_RESERVE_SECONDS.
 *
 * Return: 0; -ENOSPC (no free SPI in the range, or the namespace holds too
 * many reservations), -EINVAL (min above max), -ENODEV, -EOPNOTSUPP (also:
 * a kernel without ESPTUN_FEATURE_SPI_ALLOC).
 */
int esptun_spi_alloc(struct esptun *h, const struct esptun_dev *dev,
		     uint32_t min, uint32_t max, uint32_t *spi);

/* ------------------------------------------------------------ events */

enum esptun_event_type {
	ESPTUN_EVENT_TUNNEL_STATE = 1,	/* ESPTUN_CMD_TUNNEL_STATE_NTF */
	ESPTUN_EVENT_SA_EXPIRE,		/* ESPTUN_CMD_SA_EXPIRE_NTF */
};

struct esptun_event {
	enum esptun_event_type type;
	unsigned int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t tunnel_id;
	union {
		struct {
			uint8_t state;	/* ESPTUN_TUNNEL_STATE_* */
			int cause;	/* ESPTUN_STATE_CAUSE_*, -1: none */
		} tunnel;
		struct {
			uint8_t dir;
			uint32_t spi;
			uint8_t expire;	/* ESPTUN_EXPIRE_SOFT or _HARD */
			int limit;	/* ESPTUN_LIMIT_*, -1: none given */
			uint64_t seq, bytes, packets, age;
		} sa;
	};
};

/*
 * esptun_event_subscribe() - join the events group
 *
 * Opens a second, non-blocking socket in @h and joins ESPTUN_MCGRP_EVENTS
 * (events of the devices of the handle's namespace).  Calling it again
 * returns the same descriptor.
 *
 * Return: a file descriptor to poll or epoll for POLLIN (owned by @h:
 * do not close or read it), or -EPERM (joining needs CAP_NET_ADMIN),
 * -ENOENT (no events group), another negative errno.
 */
int esptun_event_subscribe(struct esptun *h);

/*
 * An event callback: @ev is valid during the call only.  Returning
 * non-zero stops esptun_event_read() after this event.
 */
typedef int (*esptun_event_cb)(const struct esptun_event *ev, void *arg);

/*
 * esptun_event_read() - read the pending events, decode, call back
 *
 * Does not block: it reads what is queued on the events socket and calls
 * @cb for each event this library knows (others are skipped).
 *
 * Return: the number of events passed to @cb (0: none pending); -ENOBUFS
 * when events were lost because the socket's buffer overflowed (call
 * again: the next events are read; re-read the state with
 * esptun_dev_dump()); -EBADF before esptun_event_subscribe(); another
 * negative errno.
 */
int esptun_event_read(struct esptun *h, esptun_event_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* LIBESPTUN_H */
