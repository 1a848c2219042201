// SPDX-License-Identifier: GPL-2.0
/*
 * charon's kernel-ipsec backend over libesptun.
 *
 * esptun is route-based: a tunnel is a pair of outer addresses on an
 * esptun device, with its SAs; what enters the device is sent through one
 * of its tunnels (pins, then ECMP).  So the mapping from charon's calls is:
 *
 * - get_spi: the kernel's SPI allocation (random, unique in the netns,
 *   reserved for a while);
 * - add_sa: the tunnel joining the SA's outer addresses, created with the
 *   first SA between them (keyed by address, never by reqid: two AWS
 *   tunnels may share one), then the SA; an outbound SA replaces the
 *   tunnel's current one in the kernel, atomically;
 * - update_sa: the tunnel's remote address or UDP port (NAT rebinding);
 * - query_sa: counters and last use;
 * - del_sa: the SA; a tunnel whose last SA goes is deleted;
 * - policies: nothing (routes to the device decide what is tunnelled; the
 *   plugin installs none, and so never one covering the peer's address);
 * - expire events from the kernel: charon->kernel->expire().
 *
 * Which device a tunnel goes on, its pins, weight and liveness come from
 * strongswan.conf: charon.plugins.kernel-esptun.device, and per peer
 * (matched by remote address) charon.plugins.kernel-esptun.peers.<name>.
 *
 * Locking: charon calls in from many threads; one mutex guards the
 * request handle (libesptun handles are not thread-safe) and the tunnel
 * table.  Events are read on a second handle by the watcher thread alone,
 * and charon->kernel->expire() is called without the mutex held (charon
 * may call back into del_sa).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/udp.h>

#include <esptun.h>

#include <daemon.h>
#include <collections/linked_list.h>
#include <threading/mutex.h>
#include <processing/watcher.h>

#include "kernel_esptun_ipsec.h"

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

#define CONF "%s.plugins.kernel-esptun"

typedef struct private_kernel_esptun_ipsec_t private_kernel_esptun_ipsec_t;
typedef struct tunnel_t tunnel_t;
typedef struct sa_entry_t sa_entry_t;

/* A tunnel this plugin created: keyed by device and outer addresses. */
struct tunnel_t {
	char *dev;
	uint32_t id;
	host_t *local, *remote;		/* ports as last installed */
	bool encap;
	/* sa_entry_t: the SAs charon installed on it, still in the kernel */
	linked_list_t *sas;
};

struct sa_entry_t {
	tunnel_t *tun;
	uint8_t dir;			/* ESPTUN_SA_DIR_* */
	uint32_t spi;			/* host order */
	uint32_t reqid;			/* the CHILD_SA's */
};

struct private_kernel_esptun_ipsec_t {
	kernel_esptun_ipsec_t public;
	/* Guards req and tunnels. */
	mutex_t *mutex;
	struct esptun *req;
	/* Read by the watcher thread only. */
	struct esptun *ev;
	int ev_fd;
	linked_list_t *tunnels;
	uint32_t next_id;
	char *default_dev;
	/* charon's UDP_ENCAP_ESPINUDP sockets (enable_udp_decap), IPv4 and
	 * IPv6, handed to the tunnels on their port; under mutex. */
	int decap_fd[2];
	uint16_t decap_port[2];
	/* Whether the module takes them (ESPTUN_FEATURE_ENCAP_SOCKET). */
	bool encap_socket;
};

static bool host2addr(host_t *host, struct esptun_addr *a)
{
	chunk_t c = host->get_address(host);

	memset(a, 0, sizeof(*a));
	a->family = host->get_family(host);
	if (a->family == AF_INET && c.len == sizeof(a->v4))
		memcpy(&a->v4, c.ptr, c.len);
	else if (a->family == AF_INET6 && c.len == sizeof(a->v6))
		memcpy(&a->v6, c.ptr, c.len);
	else
		return FALSE;
	return TRUE;
}

/* The peers.<name> section whose remote is @remote's address, or NULL. */
static char *peer_section(host_t *remote)
{
	enumerator_t *enumerator;
	char *name, *found = NULL, *str;
	host_t *host;

	enumerator = lib->settings->create_section_enumerator(lib->settings,
						CONF ".peers", lib->ns);
	while (!found && enumerator->enumerate(enumerator, &name))
	{
		str = lib->settings->get_str(lib->settings,
					     CONF ".peers.%s.remote", NULL,
					     lib->ns, name);
		host = str ? host_create_from_string(str, 0) : NULL;
		if (host && host->ip_equals(host, remote))
			found = strdup(name);
		DESTROY_IF(host);
	}
	enumerator->destroy(enumerator);
	return found;
}

/* The device a tunnel to @remote goes on (a new string). */
static char *peer_device(private_kernel_esptun_ipsec_t *this, host_t *remote)
{
	char *peer = peer_section(remote), *dev = NULL;

	if (peer)
		dev = lib->settings->get_str(lib->settings,
					     CONF ".peers.%s.device", NULL,
					     lib->ns, peer);
	dev = strdup(dev ?: this->default_dev);
	free(peer);
	return dev;
}

static void log_fail(private_kernel_esptun_ipsec_t *this, const char *what,
		     int err)
{
	const char *msg = esptun_errmsg(this->req);

	DBG1(DBG_KNL, "esptun: %s failed: %s%s%s", what, strerror(-err),
	     *msg ? ": " : "", msg);
}

static tunnel_t *find_tunnel(private_kernel_esptun_ipsec_t *this,
			     const char *dev, host_t *local, host_t *remote)
{
	enumerator_t *enumerator;
	tunnel_t *tun, *found = NULL;

	enumerator = this->tunnels->create_enumerator(this->tunnels);
	while (!found && enumerator->enumerate(enumerator, &tun))
	{
		if (streq(tun->dev, dev) && tun->local->ip_equals(tun->local, local) &&
		    tun->remote->ip_equals(tun->remote, remote))
			found = tun;
	}
	enumerator->destroy(enumerator);
	return found;
}

/* The direction of an SA from @src to @dst on @tun, or 0 if neither. */
static uint8_t sa_dir(tunnel_t *tun, host_t *src, host_t *dst)
{
	if (tun->local->ip_equals(tun->local, src) &&
	    tun->remote->ip_equals(tun->remote, dst))
		return ESPTUN_SA_DIR_OUT;
	if (tun->local->ip_equals(tun->local, dst) &&
	    tun->remote->ip_equals(tun->remote, src))
		return ESPTUN_SA_DIR_IN;
	return 0;
}

/*
 * The SA charon names by @id: its SPI, in the direction the addresses
 * say (charon's src/dst are ours/the peer's for outbound SAs, the
 * reverse for inbound ones).  Right after a NAT rebinding charon may name
 * an SA by the peer's new address: then the only SA with the SPI whose
 * direction our own address (which never moves) fits.
 */
static sa_entry_t *find_sa(private_kernel_esptun_ipsec_t *this,
			   kernel_ipsec_sa_id_t *id)
{
	enumerator_t *te, *se;
	tunnel_t *tun;
	sa_entry_t *sa, *found = NULL, *moved = NULL;
	uint32_t spi = ntohl(id->spi);
	int nmoved = 0;

	te = this->tunnels->create_enumerator(this->tunnels);
	while (!found && te->enumerate(te, &tun))
	{
		se = tun->sas->create_enumerator(tun->sas);
		while (!found && se->enumerate(se, &sa))
		{
			if (sa->spi != spi)
				continue;
			if (sa_dir(tun, id->src, id->dst) == sa->dir)
			{
				found = sa;
			}
			else if (tun->local->ip_equals(tun->local,
				 sa->dir == ESPTUN_SA_DIR_IN ? id->dst : id->src))
			{
				moved = sa;
				nmoved++;
			}
		}
		se->destroy(se);
	}
	te->destroy(te);
	return found ?: (nmoved == 1 ? moved : NULL);
}

static void tunnel_free(tunnel_t *tun)
{
	tun->sas->destroy_function(tun->sas, free);
	tun->local->destroy(tun->local);
	tun->remote->destroy(tun->remote);
	free(tun->dev);
	free(tun);
}

/* Delete @tun in the kernel (with any SA left) and forget it. */
static void tunnel_delete(private_kernel_esptun_ipsec_t *this, tunnel_t *tun)
{
	int err;

	err = esptun_tunnel_del(this->req, ESPTUN_DEV_NAME(tun->dev), tun->id);
	if (err && err != -ENOENT && err != -ENODEV)
		log_fail(this, "deleting a tunnel", err);
	else
		DBG1(DBG_KNL, "esptun: deleted tunnel %u (%H - %H) on %s",
		     tun->id, tun->local, tun->remote, tun->dev);
	this->tunnels->remove(this->tunnels, tun, NULL);
	tunnel_free(tun);
}

/* Read a small unsigned setting of peers.<peer>: -1 when unset or bad. */
static int peer_uint(const char *peer, const char *key, int max)
{
	int v;

	if (!peer)
		return -1;
	v = lib->settings->get_int(lib->settings, CONF ".peers.%s.%s", -1,
				   lib->ns, peer, key);
	if (v < 0 || v > max)
		return -1;
	return v;
}

/* Pins, weight and liveness of the peers.<name> section for @cfg. */
static bool peer_options(const char *peer, struct esptun_tunnel_cfg *cfg)
{
	enumerator_t *enumerator;
	char *pins, *tok;
	host_t *host;
	bool ok = TRUE;
	int v;

	if (!peer)
		return TRUE;
	pins = lib->settings->get_str(lib->settings, CONF ".peers.%s.pins",
				      NULL, lib->ns, peer);
	if (pins)
	{
		cfg->flags |= ESPTUN_TUNNEL_HAS_PINS;
		enumerator = enumerator_create_token(pins, ",", " ");
		while (ok && enumerator->enumerate(enumerator, &tok))
		{
			host = host_create_from_string(tok, 0);
			if (!host || cfg->npins == ESPTUN_MAX_PINS ||
			    !host2addr(host, &cfg->pins[cfg->npins]))
			{
				DBG1(DBG_KNL, "esptun: peers.%s.pins: '%s' is not "
				     "an address, or more than %d pins", peer,
				     tok, ESPTUN_MAX_PINS);
				ok = FALSE;
			}
			else
			{
				cfg->npins++;
			}
			DESTROY_IF(host);
		}
		enumerator->destroy(enumerator);
	}
	v = peer_uint(peer, "weight", 255);
	if (v > 0)
	{
		cfg->flags |= ESPTUN_TUNNEL_HAS_WEIGHT;
		cfg->weight = v;
	}
	v = peer_uint(peer, "keepalive", 65535);
	if (v >= 0)
	{
		cfg->flags |= ESPTUN_TUNNEL_HAS_KEEPALIVE;
		cfg->keepalive = v;
	}
	v = peer_uint(peer, "dead_after", 65535);
	if (v >= 0)
	{
		cfg->flags |= ESPTUN_TUNNEL_HAS_DEAD_AFTER;
		cfg->dead_after = v;
	}
	v = peer_uint(peer, "nat_keepalive", 65535);
	if (v >= 0 && cfg->encap == ESPTUN_ENCAP_UDP)
	{
		cfg->flags |= ESPTUN_TUNNEL_HAS_NAT_KEEPALIVE;
		cfg->nat_keepalive = v;
	}
	return ok;
}

/*
 * Whether the CHILD_SA @reqid, from @local to @remote, may go on the
 * existing tunnel @tun: esptun keeps one tunnel per pair of addresses,
 * with one outbound SA, so one CHILD_SA (and its rekeyed successors,
 * which keep the reqid) at a time.
 */
static bool tunnel_fits(tunnel_t *tun, host_t *local, host_t *remote,
			bool encap, uint32_t reqid)
{
	enumerator_t *enumerator;
	sa_entry_t *sa;
	uint32_t other = 0;

	if (tun->encap != encap)
	{
		DBG1(DBG_KNL, "esptun: tunnel %u (%H - %H) is %s UDP "
		     "encapsulation; esptun cannot switch it on a live "
		     "tunnel", tun->id, local, remote,
		     tun->encap ? "with" : "without");
		return FALSE;
	}
	if (encap && remote->get_port(remote) != tun->remote->get_port(tun->remote))
	{
		DBG1(DBG_KNL, "esptun: tunnel %u already joins %H and %#H, "
		     "not %#H: esptun keeps one tunnel per pair of addresses "
		     "(two peers behind one NAT address cannot both connect)",
		     tun->id, local, tun->remote, remote);
		return FALSE;
	}
	enumerator = tun->sas->create_enumerator(tun->sas);
	while (!other && enumerator->enumerate(enumerator, &sa))
	{
		if (sa->reqid != reqid)
			other = sa->reqid;
	}
	enumerator->destroy(enumerator);
	if (other)
	{
		DBG1(DBG_KNL, "esptun: tunnel %u (%H - %H) carries the "
		     "CHILD_SA with reqid %u: esptun carries one CHILD_SA per "
		     "tunnel (route-based, traffic selectors 0.0.0.0/0)",
		     tun->id, local, remote, other);
		return FALSE;
	}
	return TRUE;
}

/*
 * The tunnel between @local and @remote for the CHILD_SA @reqid into
 * @out, created when missing: with UDP encapsulation between the IKE
 * ports when @encap (charon saw a NAT).
 */
static status_t get_tunnel(private_kernel_esptun_ipsec_t *this,
			   host_t *local, host_t *remote, bool encap,
			   uint32_t reqid, tunnel_t **out)
{
	struct esptun_tunnel_cfg cfg = { .size = sizeof(cfg) };
	char *dev, *peer;
	tunnel_t *tun;
	int err, fam;

	dev = peer_device(this, remote);
	tun = find_tunnel(this, dev, local, remote);
	if (tun)
	{
		free(dev);
		if (!tunnel_fits(tun, local, remote, encap, reqid))
			return NOT_SUPPORTED;
		*out = tun;
		return SUCCESS;
	}
	if (!host2addr(local, &cfg.local) || !host2addr(remote, &cfg.remote))
	{
		free(dev);
		return FAILED;
	}
	cfg.id = this->next_id;
	if (encap)
	{
		fam = local->get_family(local) == AF_INET6;
		cfg.encap = ESPTUN_ENCAP_UDP;
		cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP;
		if (local->get_port(local))
		{
			cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_SPORT;
			cfg.encap_sport = local->get_port(local);
		}
		/* The tunnel receives through charon's socket by name, not
		 * through whatever socket holds the port. */
		if (this->encap_socket && this->decap_fd[fam] >= 0 &&
		    this->decap_port[fam] == (cfg.encap_sport ?: 4500))
		{
			cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_SOCKET;
			cfg.encap_socket = this->decap_fd[fam];
		}
		if (remote->get_port(remote))
		{
			cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_DPORT;
			cfg.encap_dport = remote->get_port(remote);
		}
	}
	peer = peer_section(remote);
	if (!peer_options(peer, &cfg))
	{
		free(peer);
		free(dev);
		return FAILED;
	}
	err = esptun_tunnel_add(this->req, ESPTUN_DEV_NAME(dev), &cfg);
	if (err)
	{
		log_fail(this, "adding a tunnel", err);
		free(peer);
		free(dev);
		return FAILED;
	}
	INIT(tun,
		.dev = dev,
		.id = cfg.id,
		.local = local->clone(local),
		.remote = remote->clone(remote),
		.encap = encap,
		.sas = linked_list_create(),
	);
	this->next_id++;
	this->tunnels->insert_last(this->tunnels, tun);
	DBG1(DBG_KNL, "esptun: added tunnel %u (%#H - %#H%s%s%s) on %s",
	     tun->id, local, remote,
	     !encap ? "" : cfg.flags & ESPTUN_TUNNEL_HAS_ENCAP_SOCKET ?
	     ", UDP on charon's socket" : ", UDP",
	     peer ? ", peer " : "", peer ?: "", dev);
	free(peer);
	*out = tun;
	return SUCCESS;
}

METHOD(kernel_ipsec_t, get_features, kernel_feature_t,
	private_kernel_esptun_ipsec_t *this)
{
	/* SAs are found by SPI and routes, so an SA update never needs its
	 * policies reinstalled. */
	return KERNEL_NO_POLICY_UPDATES;
}

METHOD(kernel_ipsec_t, get_spi, status_t,
	private_kernel_esptun_ipsec_t *this, host_t *src, host_t *dst,
	uint8_t protocol, uint32_t *spi)
{
	uint32_t min, max, got;
	char *dev;
	int err;

	if (protocol != IPPROTO_ESP)
	{
		DBG1(DBG_KNL, "esptun: no SPI for protocol %u: esptun does "
		     "ESP only", protocol);
		return NOT_SUPPORTED;
	}
	min = lib->settings->get_int(lib->settings, "%s.spi_min",
				     KERNEL_SPI_MIN, lib->ns);
	max = lib->settings->get_int(lib->settings, "%s.spi_max",
				     KERNEL_SPI_MAX, lib->ns);
	/* The SA will be inbound: @src is the peer. */
	dev = peer_device(this, src);
	this->mutex->lock(this->mutex);
	err = esptun_spi_alloc(this->req, ESPTUN_DEV_NAME(dev), min(min, max),
			       max(min, max), &got);
	if (err)
		log_fail(this, "allocating an SPI", err);
	this->mutex->unlock(this->mutex);
	free(dev);
	if (err)
		return FAILED;
	*spi = htonl(got);
	DBG2(DBG_KNL, "esptun: allocated SPI %.8x", got);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, get_cpi, status_t,
	private_kernel_esptun_ipsec_t *this, host_t *src, host_t *dst,
	uint16_t *cpi)
{
	DBG1(DBG_KNL, "esptun: no CPI: esptun has no IPComp");
	return NOT_SUPPORTED;
}

/* Why esptun cannot install this SA, or NULL when it can. */
static const char *sa_unsupported(kernel_ipsec_sa_id_t *id,
				  kernel_ipsec_add_sa_t *data)
{
	if (id->proto != IPPROTO_ESP)
		return "esptun does ESP only";
	if (data->mode != MODE_TUNNEL)
		return "esptun does tunnel mode only";
	if (data->enc_alg != ENCR_AES_GCM_ICV16 || data->int_alg != AUTH_UNDEFINED)
		return "esptun does AES-GCM with a 16-byte ICV only (aes*gcm16)";
	if (data->enc_key.len < ESPTUN_KEY_LEN_MIN ||
	    data->enc_key.len > ESPTUN_KEY_LEN_MAX)
		return "the AES-GCM key and salt are of a length esptun does not take";
	if (data->ipcomp != IPCOMP_NONE)
		return "esptun has no IPComp";
	if (data->tfc)
		return "esptun sends no TFC padding";
	if (data->label)
		return "esptun has no security labels";
	if (data->hw_offload == HW_OFFLOAD_YES)
		return "esptun has no hardware offload";
	if (id->mark.value || data->mark.value)
		return "esptun SAs take no marks (the device is the route)";
	if (id->if_id)
		return "esptun SAs take no interface ID (the device comes "
		       "from charon.plugins.kernel-esptun)";
	if (!data->copy_df)
		return "esptun copies DF to the outer header (copy_df = no)";
	if (!data->copy_ecn)
		return "esptun copies ECN both ways (copy_ecn = no)";
	if (data->copy_dscp != DSCP_COPY_OUT_ONLY)
		return "esptun copies DSCP outward only (copy_dscp = out)";
	if (data->inbound && data->replay_window > ESPTUN_REPLAY_WINDOW_MAX)
		return "the replay window is larger than esptun's largest";
	if (id->src->get_family(id->src) != id->dst->get_family(id->dst))
		return "the outer addresses are of two families";
	return NULL;
}

/* Whether a selector of @list covers every address, protocol and port. */
static bool ts_covers_all(linked_list_t *list, int family)
{
	traffic_selector_t *ts, *all;
	enumerator_t *enumerator;
	bool covers = FALSE;

	if (!list)
		return FALSE;
	all = traffic_selector_create_from_cidr(family == AF_INET ?
					"0.0.0.0/0" : "::/0", 0, 0, 65535);
	if (!all)
		return FALSE;
	enumerator = list->create_enumerator(list);
	while (!covers && enumerator->enumerate(enumerator, &ts))
		covers = all->is_contained_in(all, ts);
	enumerator->destroy(enumerator);
	all->destroy(all);
	return covers;
}

/*
 * esptun is route-based: what the routes send to the device goes out,
 * what a tunnel receives comes in, whatever its inner addresses; the
 * CHILD_SA's selectors are not enforced.  Say so when they are narrower
 * (checked on the inbound SA: once per CHILD_SA).
 */
static void log_narrow_ts(kernel_ipsec_sa_id_t *id,
			  kernel_ipsec_add_sa_t *data)
{
	int family = id->src->get_family(id->src);

	if (!data->inbound || (ts_covers_all(data->src_ts, family) &&
			       ts_covers_all(data->dst_ts, family)))
		return;
	/* Inbound: dst_ts is ours, src_ts the peer's. */
	DBG1(DBG_KNL, "esptun: SA %.8x: traffic selectors %#R === %#R are "
	     "not enforced: routes to the device select what is tunnelled, "
	     "and inbound inner addresses are not checked against them",
	     ntohl(id->spi), data->dst_ts, data->src_ts);
}

static void set_limits(struct esptun_sa_limits *l, lifetime_cfg_t *lt)
{
	if (!lt)
		return;
	l->soft_seconds = lt->time.rekey;
	l->hard_seconds = lt->time.life;
	l->soft_bytes = lt->bytes.rekey;
	l->hard_bytes = lt->bytes.life;
	l->soft_packets = lt->packets.rekey;
	l->hard_packets = lt->packets.life;
}

METHOD(kernel_ipsec_t, add_sa, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_add_sa_t *data)
{
	struct esptun_sa_cfg cfg = { .size = sizeof(cfg) };
	host_t *local, *remote;
	const char *why;
	sa_entry_t *sa, *old;
	enumerator_t *enumerator;
	tunnel_t *tun;
	status_t st;
	int err;

	why = sa_unsupported(id, data);
	if (why)
	{
		DBG1(DBG_KNL, "esptun: cannot install SA %.8x: %s",
		     ntohl(id->spi), why);
		return NOT_SUPPORTED;
	}
	log_narrow_ts(id, data);
	local = data->inbound ? id->dst : id->src;
	remote = data->inbound ? id->src : id->dst;

	cfg.dir = data->inbound ? ESPTUN_SA_DIR_IN : ESPTUN_SA_DIR_OUT;
	cfg.spi = ntohl(id->spi);
	cfg.key = data->enc_key.ptr;
	cfg.key_len = data->enc_key.len;
	if (data->inbound)
	{
		cfg.flags |= ESPTUN_SA_HAS_REPLAY_WINDOW;
		cfg.replay_window = data->replay_window;
	}
	if (data->esn)
		cfg.flags |= ESPTUN_SA_HAS_ESN;
	set_limits(&cfg.limits, data->lifetime);

	this->mutex->lock(this->mutex);
	st = get_tunnel(this, local, remote, data->encap, data->reqid, &tun);
	if (st != SUCCESS)
	{
		this->mutex->unlock(this->mutex);
		return st;
	}
	cfg.tunnel_id = tun->id;
	err = esptun_sa_add(this->req, ESPTUN_DEV_NAME(tun->dev), &cfg);
	if (err)
	{
		log_fail(this, "adding an SA", err);
		if (tun->sas->get_count(tun->sas) == 0)
			tunnel_delete(this, tun);
		this->mutex->unlock(this->mutex);
		return FAILED;
	}
	if (cfg.dir == ESPTUN_SA_DIR_OUT)
	{
		/* The kernel replaced the tunnel's outbound SA. */
		enumerator = tun->sas->create_enumerator(tun->sas);
		while (enumerator->enumerate(enumerator, &old))
		{
			if (old->dir == ESPTUN_SA_DIR_OUT)
			{
				tun->sas->remove_at(tun->sas, enumerator);
				free(old);
			}
		}
		enumerator->destroy(enumerator);
	}
	INIT(sa,
		.tun = tun,
		.dir = cfg.dir,
		.spi = cfg.spi,
		.reqid = data->reqid,
	);
	tun->sas->insert_last(tun->sas, sa);
	DBG1(DBG_KNL, "esptun: added %s SA %.8x to tunnel %u on %s",
	     data->inbound ? "inbound" : "outbound", cfg.spi, tun->id, tun->dev);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, update_sa, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_update_sa_t *data)
{
	struct esptun_tunnel_cfg cfg = { .size = sizeof(cfg) };
	host_t *local, *remote;
	sa_entry_t *sa;
	tunnel_t *tun;
	status_t st = SUCCESS;
	int err;

	if (data->new_encap != data->encap)
	{
		DBG1(DBG_KNL, "esptun: cannot update SA %.8x: esptun cannot "
		     "switch UDP encapsulation on a live tunnel", ntohl(id->spi));
		return NOT_SUPPORTED;
	}
	this->mutex->lock(this->mutex);
	sa = find_sa(this, id);
	if (!sa)
	{
		this->mutex->unlock(this->mutex);
		DBG1(DBG_KNL, "esptun: cannot update SA %.8x: not installed",
		     ntohl(id->spi));
		return NOT_FOUND;
	}
	tun = sa->tun;
	local = sa->dir == ESPTUN_SA_DIR_IN ? data->new_dst : data->new_src;
	remote = sa->dir == ESPTUN_SA_DIR_IN ? data->new_src : data->new_dst;
	if (!local->ip_equals(local, tun->local))
	{
		DBG1(DBG_KNL, "esptun: cannot move tunnel %u to local address "
		     "%H: the local address of an esptun tunnel is fixed "
		     "(MOBIKE is not supported)", tun->id, local);
		st = NOT_SUPPORTED;
	}
	else if (!remote->equals(remote, tun->remote) &&
		 (!remote->ip_equals(remote, tun->remote) || tun->encap))
	{
		/* A new remote address, or a new UDP port under NAT. */
		host2addr(remote, &cfg.remote);
		cfg.id = tun->id;
		cfg.flags = ESPTUN_TUNNEL_HAS_REMOTE;
		if (tun->encap && remote->get_port(remote))
		{
			cfg.flags |= ESPTUN_TUNNEL_HAS_ENCAP_DPORT;
			cfg.encap_dport = remote->get_port(remote);
		}
		err = esptun_tunnel_set(this->req, ESPTUN_DEV_NAME(tun->dev),
					&cfg);
		if (err)
		{
			/* -EEXIST: another tunnel joins these addresses. */
			log_fail(this, "moving a tunnel's remote end", err);
			st = err == -EEXIST ? NOT_SUPPORTED : FAILED;
		}
		else
		{
			DBG1(DBG_KNL, "esptun: tunnel %u moved from %#H to %#H",
			     tun->id, tun->remote, remote);
			tun->remote->destroy(tun->remote);
			tun->remote = remote->clone(remote);
		}
	}
	this->mutex->unlock(this->mutex);
	return st;
}

METHOD(kernel_ipsec_t, query_sa, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_query_sa_t *data, uint64_t *bytes, uint64_t *packets,
	time_t *time)
{
	struct esptun_sa_info info = { .size = sizeof(info) };
	sa_entry_t *sa;
	int err;

	this->mutex->lock(this->mutex);
	sa = find_sa(this, id);
	if (!sa)
	{
		this->mutex->unlock(this->mutex);
		return NOT_FOUND;
	}
	err = esptun_sa_get(this->req, ESPTUN_DEV_NAME(sa->tun->dev), sa->dir,
			    sa->spi, &info);
	if (err)
		log_fail(this, "querying an SA", err);
	this->mutex->unlock(this->mutex);
	if (err)
		return err == -ENOENT ? NOT_FOUND : FAILED;
	if (bytes)
		*bytes = info.bytes;
	if (packets)
		*packets = info.packets;
	if (time)
	{
		/* charon wants the monotonic time of the last use; 0: never. */
		*time = 0;
		if (ESPTUN_HAS(&info, ESPTUN_A_SA_IDLE))
			*time = time_monotonic(NULL) - info.idle;
	}
	return SUCCESS;
}

METHOD(kernel_ipsec_t, del_sa, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_del_sa_t *data)
{
	sa_entry_t *sa;
	tunnel_t *tun;
	int err;

	this->mutex->lock(this->mutex);
	sa = find_sa(this, id);
	if (!sa)
	{
		/* An outbound SA a rekey replaced, or an SPI allocated for an
		 * SA that was never installed (its reservation lapses). */
		this->mutex->unlock(this->mutex);
		DBG2(DBG_KNL, "esptun: SA %.8x is not installed (replaced, or "
		     "never added)", ntohl(id->spi));
		return SUCCESS;
	}
	tun = sa->tun;
	err = esptun_sa_del(this->req, ESPTUN_DEV_NAME(tun->dev), sa->dir,
			    sa->spi);
	if (err && err != -ENOENT && err != -ENODEV)
	{
		log_fail(this, "deleting an SA", err);
		this->mutex->unlock(this->mutex);
		return FAILED;
	}
	DBG1(DBG_KNL, "esptun: deleted %s SA %.8x of tunnel %u on %s",
	     sa->dir == ESPTUN_SA_DIR_IN ? "inbound" : "outbound", sa->spi,
	     tun->id, tun->dev);
	tun->sas->remove(tun->sas, sa, NULL);
	free(sa);
	if (tun->sas->get_count(tun->sas) == 0)
		tunnel_delete(this, tun);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

static void flush_tunnels(private_kernel_esptun_ipsec_t *this)
{
	tunnel_t *tun;

	while (this->tunnels->get_first(this->tunnels, (void **)&tun) == SUCCESS)
		tunnel_delete(this, tun);
}

METHOD(kernel_ipsec_t, flush_sas, status_t,
	private_kernel_esptun_ipsec_t *this)
{
	this->mutex->lock(this->mutex);
	flush_tunnels(this);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

/* Route-based: routes to the device select the traffic, not policies. */
METHOD(kernel_ipsec_t, add_policy, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	return SUCCESS;
}

METHOD(kernel_ipsec_t, query_policy, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_query_policy_t *data, time_t *use_time)
{
	/* query_sa reports the last use instead. */
	return NOT_SUPPORTED;
}

METHOD(kernel_ipsec_t, del_policy, status_t,
	private_kernel_esptun_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	return SUCCESS;
}

METHOD(kernel_ipsec_t, flush_policies, status_t,
	private_kernel_esptun_ipsec_t *this)
{
	return SUCCESS;
}

METHOD(kernel_ipsec_t, bypass_socket, bool,
	private_kernel_esptun_ipsec_t *this, int fd, int family)
{
	/* No policies: IKE packets are never caught by esptun. */
	return TRUE;
}

METHOD(kernel_ipsec_t, enable_udp_decap, bool,
	private_kernel_esptun_ipsec_t *this, int fd, int family, uint16_t port)
{
	int type = UDP_ENCAP_ESPINUDP;

	/* esptun's UDP-encapsulated tunnels on this port receive through
	 * charon's socket: it then hands ESP to the kernel, IKE to charon. */
	if (setsockopt(fd, SOL_UDP, UDP_ENCAP, &type, sizeof(type)) < 0)
	{
		DBG1(DBG_KNL, "esptun: UDP_ENCAP_ESPINUDP on port %u failed: %s",
		     port, strerror(errno));
		return FALSE;
	}
	if (family == AF_INET || family == AF_INET6)
	{
		this->mutex->lock(this->mutex);
		this->decap_fd[family == AF_INET6] = fd;
		this->decap_port[family == AF_INET6] = port;
		this->mutex->unlock(this->mutex);
	}
	return TRUE;
}

/* The SA @spi, @dir of @tun, if charon installed it. */
static sa_entry_t *tunnel_sa(tunnel_t *tun, uint32_t spi, uint8_t dir)
{
	enumerator_t *enumerator;
	sa_entry_t *sa, *found = NULL;

	enumerator = tun->sas->create_enumerator(tun->sas);
	while (!found && enumerator->enumerate(enumerator, &sa))
	{
		if (sa->spi == spi && sa->dir == dir)
			found = sa;
	}
	enumerator->destroy(enumerator);
	return found;
}

/* An expire for charon, collected under the mutex, raised without it. */
typedef struct {
	uint32_t spi;			/* host order */
	uint8_t dir;
	bool hard;
	host_t *dst;			/* charon's name for the SA: its SPI
					 * and destination */
} expire_t;

/* A new expire of @sa: the SA's destination is ours when inbound. */
static expire_t *expire_create(sa_entry_t *sa, bool hard)
{
	tunnel_t *tun = sa->tun;
	expire_t *e;

	INIT(e,
		.spi = sa->spi,
		.dir = sa->dir,
		.hard = hard,
		.dst = sa->dir == ESPTUN_SA_DIR_IN ?
		       tun->local->clone(tun->local) :
		       tun->remote->clone(tun->remote),
	);
	return e;
}

/* Hand @e to charon (which may call back into del_sa) and free it. */
static void expire_raise(expire_t *e)
{
	DBG1(DBG_KNL, "esptun: %s expire of %s SA %.8x",
	     e->hard ? "hard" : "soft",
	     e->dir == ESPTUN_SA_DIR_IN ? "inbound" : "outbound", e->spi);
	charon->kernel->expire(charon->kernel, IPPROTO_ESP, htonl(e->spi),
			       e->dst, e->hard);
	e->dst->destroy(e->dst);
	free(e);
}

static int on_event(const struct esptun_event *ev, void *arg)
{
	private_kernel_esptun_ipsec_t *this = arg;
	expire_t *e = NULL;
	enumerator_t *enumerator;
	tunnel_t *tun;
	sa_entry_t *sa;

	if (ev->type == ESPTUN_EVENT_TUNNEL_STATE)
	{
		DBG1(DBG_KNL, "esptun: tunnel %u on %s is %s", ev->tunnel_id,
		     ev->ifname, ev->tunnel.state == ESPTUN_TUNNEL_STATE_UP ?
		     "up" : "down");
		return 0;
	}
	if (ev->type != ESPTUN_EVENT_SA_EXPIRE)
		return 0;
	this->mutex->lock(this->mutex);
	enumerator = this->tunnels->create_enumerator(this->tunnels);
	while (!e && enumerator->enumerate(enumerator, &tun))
	{
		if (tun->id != ev->tunnel_id || !streq(tun->dev, ev->ifname))
			continue;
		sa = tunnel_sa(tun, ev->sa.spi, ev->sa.dir);
		if (sa)
			e = expire_create(sa, ev->sa.expire == ESPTUN_EXPIRE_HARD);
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
	if (e)
		expire_raise(e);
	return 0;
}

/*
 * Expires into @expires for the SAs of @tun that the kernel says have
 * expired (@list: a dump of the namespace's devices).
 */
static void collect_expires(tunnel_t *tun, struct esptun_dev_list *list,
			    linked_list_t *expires)
{
	struct esptun_tunnel_info *t;
	struct esptun_sa_info *si;
	sa_entry_t *sa;
	size_t i, j, k;

	for (i = 0; i < list->n; i++)
	{
		if (!streq(list->devs[i]->ifname, tun->dev))
			continue;
		for (j = 0; j < list->devs[i]->ntunnels; j++)
		{
			t = list->devs[i]->tunnels[j];
			if (t->id != tun->id)
				continue;
			for (k = 0; k < t->nsas; k++)
			{
				si = t->sas[k];
				sa = tunnel_sa(tun, si->spi, si->dir);
				if (sa && ESPTUN_HAS(si, ESPTUN_A_SA_EXPIRE))
					expires->insert_last(expires,
						expire_create(sa,
						si->expire == ESPTUN_EXPIRE_HARD));
			}
		}
	}
}

/*
 * Events were lost: an expire among them would leave an SA to run into
 * its hard limit, or past it, without charon rekeying.  The kernel keeps
 * each SA's expire state, so read it back and raise every expire again;
 * charon ignores one for an SA it is already rekeying or has deleted.
 */
static void resync_expires(private_kernel_esptun_ipsec_t *this)
{
	linked_list_t *expires = linked_list_create();
	struct esptun_dev_list *list = NULL;
	enumerator_t *enumerator;
	tunnel_t *tun;
	expire_t *e;
	int err;

	this->mutex->lock(this->mutex);
	/* One dump of every device: the tunnels may be on several. */
	err = esptun_dev_dump(this->req, NULL, &list);
	if (err)
	{
		log_fail(this, "reading SAs back after lost events", err);
	}
	else
	{
		enumerator = this->tunnels->create_enumerator(this->tunnels);
		while (enumerator->enumerate(enumerator, &tun))
			collect_expires(tun, list, expires);
		enumerator->destroy(enumerator);
	}
	esptun_dev_list_free(list);
	this->mutex->unlock(this->mutex);
	DBG1(DBG_KNL, "esptun: events were lost (socket buffer full); %d "
	     "expired SA(s) read back from the kernel",
	     expires->get_count(expires));
	while (expires->remove_first(expires, (void **)&e) == SUCCESS)
		expire_raise(e);
	expires->destroy(expires);
}

static bool on_readable(void *data, int fd, watcher_event_t event)
{
	private_kernel_esptun_ipsec_t *this = data;
	int n;

	n = esptun_event_read(this->ev, on_event, this);
	if (n == -ENOBUFS)
		resync_expires(this);
	else if (n < 0 && n != -EAGAIN)
		DBG1(DBG_KNL, "esptun: reading events failed: %s",
		     strerror(-n));
	return TRUE;
}

METHOD(kernel_ipsec_t, destroy, void,
	private_kernel_esptun_ipsec_t *this)
{
	if (this->ev_fd >= 0)
		lib->watcher->remove(lib->watcher, this->ev_fd);
	if (this->req)
	{
		this->mutex->lock(this->mutex);
		flush_tunnels(this);
		this->mutex->unlock(this->mutex);
	}
	esptun_close(this->ev);
	esptun_close(this->req);
	this->tunnels->destroy(this->tunnels);
	this->mutex->destroy(this->mutex);
	free(this->default_dev);
	free(this);
}

/*
 * Tunnels left on @dev by an earlier charon (a crash): they would hold
 * their SPIs and, encapsulated, the UDP port charon binds.  With flush
 * (the default) they go; otherwise new ids start above theirs.
 */
static void flush_device(private_kernel_esptun_ipsec_t *this, const char *dev,
			 bool flush)
{
	struct esptun_dev_list *list = NULL;
	struct esptun_tunnel_info *t;
	size_t i, j;
	int err;

	err = esptun_dev_dump(this->req, ESPTUN_DEV_NAME(dev), &list);
	if (err)
	{
		DBG1(DBG_KNL, "esptun: device %s: %s%s%s (tunnels will fail "
		     "until it exists)", dev, strerror(-err),
		     *esptun_errmsg(this->req) ? ": " : "",
		     esptun_errmsg(this->req));
		return;
	}
	for (i = 0; i < list->n; i++)
	{
		if (list->devs[i]->features & ESPTUN_FEATURE_ENCAP_SOCKET)
			this->encap_socket = TRUE;
		for (j = 0; j < list->devs[i]->ntunnels; j++)
		{
			t = list->devs[i]->tunnels[j];
			if (!flush)
			{
				this->next_id = max(this->next_id, t->id + 1);
				continue;
			}
			err = esptun_tunnel_del(this->req, ESPTUN_DEV_NAME(dev),
						t->id);
			if (err)
				log_fail(this, "flushing a tunnel", err);
			else
				DBG1(DBG_KNL, "esptun: flushed tunnel %u left "
				     "on %s", t->id, dev);
		}
	}
	esptun_dev_list_free(list);
}

static void flush_devices(private_kernel_esptun_ipsec_t *this)
{
	bool flush = lib->settings->get_bool(lib->settings, CONF ".flush", TRUE,
					     lib->ns);
	enumerator_t *enumerator;
	char *name, *dev;

	flush_device(this, this->default_dev, flush);
	enumerator = lib->settings->create_section_enumerator(lib->settings,
						CONF ".peers", lib->ns);
	while (enumerator->enumerate(enumerator, &name))
	{
		dev = lib->settings->get_str(lib->settings,
					     CONF ".peers.%s.device", NULL,
					     lib->ns, name);
		if (dev && !streq(dev, this->default_dev))
			flush_device(this, dev, flush);
	}
	enumerator->destroy(enumerator);
}

kernel_esptun_ipsec_t *kernel_esptun_ipsec_create(void)
{
	private_kernel_esptun_ipsec_t *this;
	int err;

	INIT(this,
		.public = {
			.interface = {
				.get_features = _get_features,
				.get_spi = _get_spi,
				.get_cpi = _get_cpi,
				.add_sa = _add_sa,
				.update_sa = _update_sa,
				.query_sa = _query_sa,
				.del_sa = _del_sa,
				.flush_sas = _flush_sas,
				.add_policy = _add_policy,
				.query_policy = _query_policy,
				.del_policy = _del_policy,
				.flush_policies = _flush_policies,
				.bypass_socket = _bypass_socket,
				.enable_udp_decap = _enable_udp_decap,
				.destroy = _destroy,
			},
		},
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
		.tunnels = linked_list_create(),
		.next_id = 1,
		.decap_fd = { -1, -1 },
		.ev_fd = -1,
		.default_dev = strdup(lib->settings->get_str(lib->settings,
					CONF ".device", "esp0", lib->ns)),
	);

	err = esptun_open(&this->req);
	if (!err)
		err = esptun_open(&this->ev);
	if (err)
	{
		DBG1(DBG_KNL, "esptun: cannot reach the esptun module: %s%s",
		     strerror(-err), err == -ENOENT ?
		     " (modprobe esptun before charon starts)" : "");
		destroy(this);
		return NULL;
	}
	flush_devices(this);
	this->ev_fd = esptun_event_subscribe(this->ev);
	if (this->ev_fd < 0)
	{
		DBG1(DBG_KNL, "esptun: cannot subscribe to events: %s",
		     strerror(-this->ev_fd));
		this->ev_fd = -1;
		destroy(this);
		return NULL;
	}
	lib->watcher->add(lib->watcher, this->ev_fd, WATCHER_READ, on_readable,
			  this);
	DBG1(DBG_KNL, "esptun: kernel-ipsec backend on %s", this->default_dev);
	return &this->public;
}
