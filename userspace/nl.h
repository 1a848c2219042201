/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ESPTUN_NL_H
#define ESPTUN_NL_H

#include <netlink/genl/genl.h>
#include <netlink/msg.h>

/* A connection to the esptun generic netlink family. */
struct esptun_nl {
	struct nl_sock *sk;
	int family;
};

int esptun_nl_open(struct esptun_nl *nl);
void esptun_nl_close(struct esptun_nl *nl);
struct nl_msg *esptun_nl_msg(struct esptun_nl *nl, int cmd, int flags);

/*
 * Send @msg (consumed) and receive the replies, calling @parse for each.  On
 * failure returns a negative errno and leaves the kernel's extended ACK text,
 * if any, in @errmsg.  A dump interrupted by a concurrent change returns
 * -EINTR: the caller starts it again.
 */
typedef int (*esptun_nl_parse_t)(struct nl_msg *msg, void *arg);
int esptun_nl_talk(struct esptun_nl *nl, struct nl_msg *msg,
		   esptun_nl_parse_t parse, void *arg,
		   char *errmsg, size_t errlen);

#endif
