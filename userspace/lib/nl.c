// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libesptun: libnl-3 plumbing for the esptun family: connect, resolve, send
 * and receive with the kernel's extended ACK text kept for the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/esptun.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int etn_nlerr(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:			return 0;
	case NLE_INTR:		return -EINTR;
	case NLE_BAD_SOCK:	return -EBADF;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_EXIST:		return -EEXIST;
	case NLE_INVAL:		return -EINVAL;
	case NLE_RANGE:		return -ERANGE;
	case NLE_MSGSIZE:	return -EMSGSIZE;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_NOADDR:	return -EADDRNOTAVAIL;
	case NLE_PERM:		return -EPERM;
	case NLE_BUSY:		return -EBUSY;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_NOACCESS:	return -EACCES;
	case NLE_DUMP_INTR:	return -EINTR;
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
	case NLE_PARSE_ERR:	return -EPROTO;
	default:		return -EIO;
	}
}

int etn_nl_connect(struct nl_sock *sk, int *family)
{
	int one = 1, ret;

	ret = genl_connect(sk);
	if (ret)
		return etn_nlerr(ret);
	/* Ask for error text, and for the request not to be echoed back. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	*family = genl_ctrl_resolve(sk, ESPTUN_FAMILY_NAME);
	return *family < 0 ? -ENOENT : 0;
}

struct nl_msg *etn_nl_msg(int family, int cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 flags, cmd, ESPTUN_FAMILY_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

void etn_nl_msg_wipe(struct nl_msg *msg)
{
	if (!msg)
		return;
	explicit_bzero(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);
}

struct talk {
	etn_nl_parse_t parse;
	void *arg;
	int err;
	int done;
	char *errmsg;
	size_t errlen;
};

static int talk_valid(struct nl_msg *msg, void *arg)
{
	struct talk *t = arg;
	int ret;

	if (!t->parse)
		return NL_OK;
	ret = t->parse(msg, t->arg);
	if (ret < 0) {
		t->err = ret;
		return NL_STOP;
	}
	return NL_OK;
}

/* The extended ACK text in the TLVs at @off bytes into @nlh's payload. */
static void talk_ext_ack(struct talk *t, struct nlmsghdr *nlh, int off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len <= 0)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)NLMSG_DATA(nlh) + off), len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(t->errmsg, t->errlen, "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
}

static int talk_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)err - 1;
	struct talk *t = arg;
	int off = sizeof(*err);

	(void)nla;
	t->err = err->error;
	t->done = 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	talk_ext_ack(t, nlh, off);
	return NL_STOP;
}

/* NLMSG_DONE: a dump that failed carries its errno and extended ACK. */
static int talk_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct talk *t = arg;
	int err;

	t->done = 1;
	if (nlh->nlmsg_type == NLMSG_DONE &&
	    nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
		if (err < 0) {
			t->err = err;
			talk_ext_ack(t, nlh, sizeof(int));
		}
	}
	return NL_STOP;
}

int etn_nl_talk(struct nl_sock *sk, struct nl_msg *msg,
		etn_nl_parse_t parse, void *arg, char *errmsg, size_t errlen)
{
	struct talk t = {
		.parse = parse, .arg = arg, .errmsg = errmsg, .errlen = errlen,
	};
	struct nl_cb *cb;
	int ret;

	if (errlen)
		errmsg[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		etn_nl_msg_wipe(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, talk_valid, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, talk_finish, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, talk_finish, &t);
	nl_cb_err(cb, NL_CB_CUSTOM, talk_error, &t);

	/* Dumps end with NLMSG_DONE; other requests with an ACK. */
	if (!(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP))
		nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ACK;
	ret = nl_send_auto(sk, msg);
	/* Requests may carry keys: leave nothing behind in freed memory. */
	etn_nl_msg_wipe(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!t.done && !t.err) {
		ret = nl_recvmsgs(sk, cb);
		if (ret == -NLE_DUMP_INTR) {
			t.err = -EINTR;
			break;
		}
		if (ret < 0 && !t.err) {
			t.err = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return t.err;
}
