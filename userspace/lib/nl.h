/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libesptun internals: libnl-3 plumbing.  Not installed, not exported.
 */
#ifndef LIBESPTUN_NL_H
#define LIBESPTUN_NL_H

#include <stddef.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

/* A negative errno for a libnl error code (negative or positive). */
int etn_nlerr(int nlerr);

/* Connect @sk (allocated by the caller) and resolve the family's id. */
int etn_nl_connect(struct nl_sock *sk, int *family);

/* A request header for @cmd; NULL when out of memory. */
struct nl_msg *etn_nl_msg(int family, int cmd, int flags);

/* Free @msg after zeroising its bytes: requests may carry keys. */
void etn_nl_msg_wipe(struct nl_msg *msg);

/*
 * Send @msg (consumed: wiped and freed) and receive the replies, calling
 * @parse for each.  On failure returns a negative errno and leaves the
 * kernel's extended ACK text, if any, in @errmsg.  A dump interrupted by a
 * concurrent change returns -EINTR: the caller starts it again.
 */
typedef int (*etn_nl_parse_t)(struct nl_msg *msg, void *arg);
int etn_nl_talk(struct nl_sock *sk, struct nl_msg *msg,
		etn_nl_parse_t parse, void *arg, char *errmsg, size_t errlen);

#endif
