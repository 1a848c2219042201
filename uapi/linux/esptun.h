/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * esptun: generic netlink ABI.  uapi/esptun.yaml is the specification; this
 * header is kept consistent with it (checked by `make check`).  Changes are
 * additive only: never renumber or remove a command or an attribute.
 *
 * Every command needs CAP_NET_ADMIN in the user namespace that owns the
 * network namespace of the netlink socket; devices are looked up in that
 * network namespace by ESPTUN_A_IFINDEX or ESPTUN_A_IFNAME (one of them is
 * required, written DEV below).  Errors carry an extended ACK message.
 *
 * ESPTUN_CMD_DEV_GET
 *   do:   request  { DEV }
 *   dump: request  { [DEV] }  (optional filter)
 *   replies: one or more messages per device (a device with many tunnels
 *   continues in the next message, with the same IFINDEX):
 *     IFINDEX: u32, IFNAME: string
 *     STATS: nest (first message of a device only): device-wide counters
 *     TUNNEL: nest, repeated
 *       ID: u32
 *       LOCAL_IPV4: be32 | LOCAL_IPV6: 16 bytes
 *       REMOTE_IPV4: be32 | REMOTE_IPV6: 16 bytes
 *       STATE: u8, enum esptun_tunnel_state: up when it carries traffic
 *       ADMIN_STATE: u8, enum esptun_tunnel_state: as the user set it
 *       WEIGHT: u8
 *       SHARE: u32: the share of hashed flows the tunnel takes now, in
 *              millionths (0 when it is not usable)
 *       PINS: nest of PIN_IPV4/PIN_IPV6, repeated: inner destinations
 *             that only this tunnel carries
 *       KEEPALIVE, DEAD_AFTER: u16 seconds, when set
 *       LIVENESS: u8, enum esptun_tunnel_state, when DEAD_AFTER is set:
 *                 down when nothing authentic arrived for that long
 *       STATS: nest of u64 counters (the "stats" attribute set)
 *       SA: nest, repeated: the outbound SA first, then inbound ones
 *         DIR: u8, enum esptun_sa_dir
 *         SPI: u32
 *         SEQ: u64: outbound, the last sequence number sent; inbound, the
 *              highest one received
 *         ESN: flag
 *         REPLAY_WINDOW: u32
 *         STATS: nest
 *         SOFT_BYTES .. HARD_SECONDS: u64, the limits set (0: none)
 *         BYTES, PACKETS: u64, what the SA carried so far (inner packets;
 *                   what the byte and packet limits are compared with)
 *         AGE: u64, seconds since the SA was added
 *         EXPIRE: u8, enum esptun_expire, once a limit was crossed: the
 *                 most severe one so far
 *       ENCAP: u8, enum esptun_encap; ENCAP_SPORT, ENCAP_DPORT: be16,
 *              with UDP encapsulation (DPORT follows NAT rebinding)
 *       NAT_KEEPALIVE: u16 seconds, when set
 *       (keys are never dumped)
 *   A dump interrupted by a concurrent change carries NLM_F_DUMP_INTR;
 *   userspace retries.
 *
 * ESPTUN_CMD_TUNNEL_NEW
 *   request { DEV, TUNNEL { ID, LOCAL_IPV4|LOCAL_IPV6,
 *                           REMOTE_IPV4|REMOTE_IPV6, [WEIGHT], [PINS],
 *                           [KEEPALIVE], [DEAD_AFTER],
 *                           [ENCAP, [ENCAP_SPORT], [ENCAP_DPORT]],
 *                           [NAT_KEEPALIVE] } }
 *   Both addresses of one family; ID unique in the device; at most 255
 *   tunnels.  WEIGHT (1-255, default 1) is the tunnel's share of the
 *   device's flows relative to the others'.  PINS: inner destination
 *   addresses (IPv4 or IPv6, at most 16 per tunnel, each pinned to one
 *   tunnel of the device) sent through this tunnel only, never failed over:
 *   while the tunnel is down their packets are dropped.  KEEPALIVE: send an
 *   ESP dummy packet (next header 59, RFC 4303 2.6) every so many seconds.
 *   DEAD_AFTER: the tunnel is down (cause LIVENESS) when nothing authentic
 *   arrived on it for so many seconds, and up again with the next
 *   authentic packet.  0 turns either off (the default).
 *   ENCAP UDP: ESP in UDP (RFC 3948), ports 4500 unless given (0 is
 *   refused; ports and NAT_KEEPALIVE need ENCAP UDP).  Inbound,
 *   esptun takes ESP-in-UDP from a UDP_ENCAP_ESPINUDP socket an IKE
 *   daemon holds on the local port, or else from its own socket on it;
 *   non-ESP packets (IKE) are left to the daemon's socket.  A port held
 *   by a socket without UDP_ENCAP_ESPINUDP is refused (EADDRINUSE).  An
 *   SA of the tunnel takes ESP in UDP only, as XFRM's.  Authentic packets
 *   (the newest of their SA) from another remote port move ENCAP_DPORT
 *   there (NAT rebinding); the remote address does not move.
 *   NAT_KEEPALIVE: send a one-byte 0xff UDP packet every so many seconds
 *   (0: off).
 *
 * ESPTUN_CMD_TUNNEL_SET
 *   request { DEV, TUNNEL { ID, [WEIGHT], [ADMIN_STATE], [PINS],
 *                           [KEEPALIVE], [DEAD_AFTER], [NAT_KEEPALIVE] } }
 *   A tunnel taken down carries no traffic: its flows move to the usable
 *   tunnels and come back when it is up again.  PINS replaces the tunnel's
 *   pinned addresses (an empty nest removes them).  Setting DEAD_AFTER
 *   clears a liveness verdict and starts counting afresh.  NAT_KEEPALIVE
 *   needs a tunnel added with ENCAP UDP; ENCAP and its ports cannot change.
 *
 * ESPTUN_CMD_TUNNEL_DEL
 *   request { DEV, TUNNEL { ID } }: deletes the tunnel and its SAs.
 *
 * ESPTUN_CMD_SA_NEW
 *   request { DEV, SA { TUNNEL_ID, DIR, SPI, KEY, [ESN], [REPLAY_WINDOW],
 *                       [SEQ] } }
 *   KEY is the AES-GCM key followed by the 4-byte salt (20, 28 or 36 bytes),
 *   as XFRM's rfc4106(gcm(aes)) takes it; the ICV is 16 bytes.  An outbound
 *   SA replaces the tunnel's current one atomically.  Inbound SPIs are
 *   unique in the network namespace the device sends from; outbound SPIs in
 *   the device.  REPLAY_WINDOW defaults to 1024 (0-4096, 0 disables).  SEQ
 *   (outbound) is the last sequence number used: the first packet carries
 *   SEQ + 1.  Without ESN an SA sends no sequence number beyond 2^32-1.
 *   SOFT_/HARD_ BYTES, PACKETS, SECONDS: lifetime limits (0, the default:
 *   none), counted from the SA's addition.  Crossing a soft limit sends one
 *   ESPTUN_CMD_SA_EXPIRE_NTF; crossing a hard one sends another and stops
 *   the SA: an outbound SA no longer sends (its tunnel is down, cause SA,
 *   until a new outbound SA is added), an inbound one drops what arrives
 *   (counted as rx_sa_expired).  The sequence space is a limit too: soft
 *   when 2^28 sequence numbers are left, hard when none is.
 *
 * ESPTUN_CMD_SA_DEL
 *   request { DEV, SA { DIR, SPI } }
 *
 * ESPTUN_CMD_SA_GET
 *   do: request { DEV, SA { DIR, SPI } }
 *       reply   { IFINDEX, IFNAME, SA { TUNNEL_ID, DIR, SPI, ... } }: the
 *       SA as the device dump has it, with its tunnel's ID
 *
 * ESPTUN_CMD_TUNNEL_STATE_NTF (multicast group ESPTUN_MCGRP_EVENTS)
 *   { IFINDEX, IFNAME, TUNNEL { ID, STATE, CAUSE } }: a tunnel started or
 *   stopped carrying traffic.  CAUSE, enum esptun_state_cause: ADMIN (set
 *   up or down), LIVENESS (DEAD_AFTER expired, or an authentic packet
 *   arrived), SA (its outbound SA was added, deleted or ran out of sequence
 *   numbers), DELETED (the tunnel was deleted while up).  Joining the group
 *   needs CAP_NET_ADMIN; events come from the devices of the socket's
 *   network namespace.
 *
 * ESPTUN_CMD_SA_EXPIRE_NTF (multicast group ESPTUN_MCGRP_EVENTS)
 *   { IFINDEX, IFNAME, SA { TUNNEL_ID, DIR, SPI, EXPIRE, LIMIT, SEQ,
 *                           BYTES, PACKETS, AGE } }: an SA crossed a soft
 *   or hard limit.  Each limit fires once per SA, soft before hard.
 */
#ifndef _UAPI_LINUX_ESPTUN_H
#define _UAPI_LINUX_ESPTUN_H

#define ESPTUN_FAMILY_NAME	"esptun"
#define ESPTUN_FAMILY_VERSION	1

enum esptun_sa_dir {
	ESPTUN_SA_DIR_IN,
	ESPTUN_SA_DIR_OUT,
};

enum esptun_tunnel_state {
	ESPTUN_TUNNEL_STATE_DOWN,
	ESPTUN_TUNNEL_STATE_UP,
};

enum esptun_state_cause {
	ESPTUN_STATE_CAUSE_ADMIN,
	ESPTUN_STATE_CAUSE_LIVENESS,
	ESPTUN_STATE_CAUSE_SA,
	ESPTUN_STATE_CAUSE_DELETED,
};

enum esptun_expire {
	ESPTUN_EXPIRE_SOFT,
	ESPTUN_EXPIRE_HARD,
};

enum esptun_limit {
	ESPTUN_LIMIT_BYTES,
	ESPTUN_LIMIT_PACKETS,
	ESPTUN_LIMIT_SECONDS,
	ESPTUN_LIMIT_SEQ,
};

enum esptun_encap {
	ESPTUN_ENCAP_NONE,
	ESPTUN_ENCAP_UDP,
};

enum {
	ESPTUN_A_STATS_TX_PACKETS = 1,
	ESPTUN_A_STATS_TX_BYTES,
	ESPTUN_A_STATS_RX_PACKETS,
	ESPTUN_A_STATS_RX_BYTES,
	ESPTUN_A_STATS_RX_NO_SA,
	ESPTUN_A_STATS_RX_REPLAY,
	ESPTUN_A_STATS_RX_AUTH_FAIL,
	ESPTUN_A_STATS_RX_MALFORMED,
	ESPTUN_A_STATS_RX_DROPS,
	ESPTUN_A_STATS_TX_SEQ_EXHAUSTED,
	ESPTUN_A_STATS_TX_NO_TUNNEL,
	ESPTUN_A_STATS_TX_ERRORS,
	ESPTUN_A_STATS_TX_TOO_BIG,
	ESPTUN_A_STATS_PAD,
	ESPTUN_A_STATS_TX_SA_EXPIRED,
	ESPTUN_A_STATS_RX_SA_EXPIRED,

	__ESPTUN_A_STATS_MAX,
	ESPTUN_A_STATS_MAX = (__ESPTUN_A_STATS_MAX - 1)
};

enum {
	ESPTUN_A_SA_TUNNEL_ID = 1,
	ESPTUN_A_SA_DIR,
	ESPTUN_A_SA_SPI,
	ESPTUN_A_SA_KEY,
	ESPTUN_A_SA_ESN,
	ESPTUN_A_SA_REPLAY_WINDOW,
	ESPTUN_A_SA_SEQ,
	ESPTUN_A_SA_STATS,
	ESPTUN_A_SA_PAD,
	ESPTUN_A_SA_SOFT_BYTES,
	ESPTUN_A_SA_HARD_BYTES,
	ESPTUN_A_SA_SOFT_PACKETS,
	ESPTUN_A_SA_HARD_PACKETS,
	ESPTUN_A_SA_SOFT_SECONDS,
	ESPTUN_A_SA_HARD_SECONDS,
	ESPTUN_A_SA_BYTES,
	ESPTUN_A_SA_PACKETS,
	ESPTUN_A_SA_AGE,
	ESPTUN_A_SA_EXPIRE,
	ESPTUN_A_SA_LIMIT,

	__ESPTUN_A_SA_MAX,
	ESPTUN_A_SA_MAX = (__ESPTUN_A_SA_MAX - 1)
};

enum {
	ESPTUN_A_TUNNEL_ID = 1,
	ESPTUN_A_TUNNEL_LOCAL_IPV4,
	ESPTUN_A_TUNNEL_LOCAL_IPV6,
	ESPTUN_A_TUNNEL_REMOTE_IPV4,
	ESPTUN_A_TUNNEL_REMOTE_IPV6,
	ESPTUN_A_TUNNEL_STATE,
	ESPTUN_A_TUNNEL_STATS,
	ESPTUN_A_TUNNEL_SA,
	ESPTUN_A_TUNNEL_WEIGHT,
	ESPTUN_A_TUNNEL_ADMIN_STATE,
	ESPTUN_A_TUNNEL_PINS,
	ESPTUN_A_TUNNEL_KEEPALIVE,
	ESPTUN_A_TUNNEL_DEAD_AFTER,
	ESPTUN_A_TUNNEL_LIVENESS,
	ESPTUN_A_TUNNEL_SHARE,
	ESPTUN_A_TUNNEL_CAUSE,
	ESPTUN_A_TUNNEL_ENCAP,
	ESPTUN_A_TUNNEL_ENCAP_SPORT,
	ESPTUN_A_TUNNEL_ENCAP_DPORT,
	ESPTUN_A_TUNNEL_NAT_KEEPALIVE,

	__ESPTUN_A_TUNNEL_MAX,
	ESPTUN_A_TUNNEL_MAX = (__ESPTUN_A_TUNNEL_MAX - 1)
};

enum {
	ESPTUN_A_PIN_IPV4 = 1,
	ESPTUN_A_PIN_IPV6,

	__ESPTUN_A_PIN_MAX,
	ESPTUN_A_PIN_MAX = (__ESPTUN_A_PIN_MAX - 1)
};

enum {
	ESPTUN_A_IFINDEX = 1,
	ESPTUN_A_IFNAME,
	ESPTUN_A_TUNNEL,
	ESPTUN_A_SA,
	ESPTUN_A_STATS,

	__ESPTUN_A_MAX,
	ESPTUN_A_MAX = (__ESPTUN_A_MAX - 1)
};

enum {
	ESPTUN_CMD_DEV_GET = 1,
	ESPTUN_CMD_TUNNEL_NEW,
	ESPTUN_CMD_TUNNEL_DEL,
	ESPTUN_CMD_SA_NEW,
	ESPTUN_CMD_SA_DEL,
	ESPTUN_CMD_TUNNEL_SET,
	ESPTUN_CMD_TUNNEL_STATE_NTF,
	ESPTUN_CMD_SA_GET,
	ESPTUN_CMD_SA_EXPIRE_NTF,

	__ESPTUN_CMD_MAX,
	ESPTUN_CMD_MAX = (__ESPTUN_CMD_MAX - 1)
};

#define ESPTUN_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_ESPTUN_H */
