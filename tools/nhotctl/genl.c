// SPDX-License-Identifier: MIT
/*
 * nhotctl: the generic netlink side: the socket, the "nhot" family, one
 * request and its replies, and the kernel's error (errno and extended ack:
 * message, the offending attribute, a missing attribute) in words.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/nhot_netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "nhotctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

int genl_open(struct nhotctl *ctl)
{
	int one = 1, ret;

	ctl->sk = nl_socket_alloc();
	if (!ctl->sk) {
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	ret = genl_connect(ctl->sk);
	if (ret) {
		fprintf(stderr, "nhotctl: cannot open a generic netlink socket: %s\n",
			nl_geterror(ret));
		goto err_free;
	}
	/*
	 * Extended acks carry the kernel's reason for a refusal; capped acks
	 * leave our request out of them. Kernels without either still work.
	 */
	setsockopt(nl_socket_get_fd(ctl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(ctl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	ret = genl_ctrl_resolve(ctl->sk, NHOT_FAMILY_NAME);
	if (ret < 0) {
		if (ret != -NLE_OBJ_NOTFOUND)
			fprintf(stderr, "nhotctl: cannot look up the generic netlink family \"%s\": %s\n",
				NHOT_FAMILY_NAME, nl_geterror(ret));
		else if (access("/sys/module/nhot", F_OK))
			fprintf(stderr, "nhotctl: the nhot module is not loaded (generic netlink family \"%s\" not found); load it with 'modprobe nhot'\n",
				NHOT_FAMILY_NAME);
		else
			fprintf(stderr, "nhotctl: the nhot module is loaded but has no generic netlink family \"%s\" (a module older than nhotctl?); 'modprobe -r nhot && modprobe nhot' loads the installed one\n",
				NHOT_FAMILY_NAME);
		goto err_free;
	}
	ctl->family = ret;
	return 0;

err_free:
	nl_socket_free(ctl->sk);
	ctl->sk = NULL;
	return EXIT_FAILED;
}

void genl_close(struct nhotctl *ctl)
{
	nl_socket_free(ctl->sk);
	ctl->sk = NULL;
}

struct nl_msg *genl_request(struct nhotctl *ctl, uint8_t cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ctl->family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, NHOT_FAMILY_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct exchange {
	struct nl_msg *req;
	int (*on_reply)(struct nl_msg *msg, void *arg);
	void *arg;
	struct genl_err *err;
	bool done;
	int ret;
};

/* The type of the attribute at byte offset off of our own request. */
static int attr_at(struct nl_msg *req, uint32_t off)
{
	struct nlmsghdr *nlh = nlmsg_hdr(req);
	const struct nlattr *nla;

	if (off < NLMSG_HDRLEN + GENL_HDRLEN || off + NLA_HDRLEN > nlh->nlmsg_len)
		return 0;
	nla = (const struct nlattr *)((const char *)nlh + off);
	return nla_type(nla);
}

/* The unsigned range of the policy the kernel reported for a refused value. */
static void policy_range(struct nlattr *policy, struct genl_err *err)
{
	struct nlattr *tb[NL_POLICY_TYPE_ATTR_MAX + 1];
	struct nlattr *lo, *hi;

	if (nla_parse_nested(tb, NL_POLICY_TYPE_ATTR_MAX, policy, NULL))
		return;
	lo = tb[NL_POLICY_TYPE_ATTR_MIN_VALUE_U];
	hi = tb[NL_POLICY_TYPE_ATTR_MAX_VALUE_U];
	if (!lo || !hi || nla_len(lo) < 8 || nla_len(hi) < 8)
		return;
	err->min = nla_get_u64(lo);
	err->max = nla_get_u64(hi);
	err->has_range = true;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct exchange *x = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t skip, len;

	(void)who;
	x->err->errnum = -e->error;
	x->ret = e->error;
	x->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* The TLVs follow the echoed request: its header only when capped. */
	skip = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		skip += e->msg.nlmsg_len - sizeof(e->msg);
	len = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (NLMSG_ALIGN(skip) > len || nla_parse(tb, NLMSGERR_ATTR_MAX,
				    (struct nlattr *)((char *)e + NLMSG_ALIGN(skip)),
				    (int)(len - NLMSG_ALIGN(skip)), NULL))
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(x->err->msg, sizeof(x->err->msg), "%.*s",
			 nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS] && nla_len(tb[NLMSGERR_ATTR_OFFS]) >= 4)
		x->err->bad_attr = attr_at(x->req, nla_get_u32(tb[NLMSGERR_ATTR_OFFS]));
	if (tb[NLMSGERR_ATTR_POLICY])
		policy_range(tb[NLMSGERR_ATTR_POLICY], x->err);
	if (tb[NLMSGERR_ATTR_MISS_TYPE] && nla_len(tb[NLMSGERR_ATTR_MISS_TYPE]) >= 4)
		x->err->missing_attr = (int)nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;
	int ret;

	if (!x->on_reply)
		return NL_OK;
	ret = x->on_reply(msg, x->arg);
	if (ret) {
		x->ret = ret;
		x->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

static int on_end(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct exchange *x = arg;
	int error;

	x->done = true;
	/* A dump that failed part way ends with NLMSG_DONE holding the error. */
	if (nlh->nlmsg_type == NLMSG_DONE && nlmsg_datalen(nlh) >= (int)sizeof(error)) {
		memcpy(&error, nlmsg_data(nlh), sizeof(error));
		if (error < 0) {
			x->err->errnum = -error;
			x->ret = error;
		}
	}
	return NL_STOP;
}

int genl_exchange(struct nhotctl *ctl, struct nl_msg *req,
		  int (*on_reply)(struct nl_msg *msg, void *arg), void *arg,
		  struct genl_err *err)
{
	struct exchange x = {
		.req = req, .on_reply = on_reply, .arg = arg, .err = err,
	};
	struct nl_cb *cb;
	int ret;

	memset(err, 0, sizeof(*err));
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(req);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_end, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_end, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &x);

	ret = nl_send_auto(ctl->sk, req);
	while (ret >= 0 && !x.done)
		ret = nl_recvmsgs(ctl->sk, cb);
	if (ret < 0 && !x.ret) {
		/* libnl's own trouble (memory, a torn message), not the kernel's */
		snprintf(err->msg, sizeof(err->msg), "netlink: %s", nl_geterror(ret));
		x.ret = -EIO;
	}
	nl_cb_put(cb);
	nlmsg_free(req);
	return x.ret;
}

int report_error(const char *what, const struct genl_err *err,
		 const char *(*attr_name)(int type))
{
	const char *name;

	if (err->errnum == EPERM || err->errnum == EACCES) {
		fprintf(stderr, "nhotctl: %s: permission denied (needs CAP_NET_ADMIN)\n", what);
		return EXIT_FAILED;
	}
	if (err->errnum == ENODEV) {
		fprintf(stderr, "nhotctl: %s: no such device\n", what);
		return EXIT_FAILED;
	}
	fprintf(stderr, "nhotctl: %s: ", what);
	if (err->msg[0])
		fputs(err->msg, stderr);
	else
		fputs(strerror(err->errnum ? err->errnum : EIO), stderr);
	name = err->bad_attr && attr_name ? attr_name(err->bad_attr) : NULL;
	if (name && err->has_range)
		fprintf(stderr, " (attribute %s: %llu..%llu)", name,
			(unsigned long long)err->min, (unsigned long long)err->max);
	else if (name)
		fprintf(stderr, " (attribute %s)", name);
	name = err->missing_attr && attr_name ? attr_name(err->missing_attr) : NULL;
	if (name)
		fprintf(stderr, " (missing attribute %s)", name);
	else if (err->missing_attr)
		fprintf(stderr, " (missing attribute %d)", err->missing_attr);
	if (err->msg[0] && err->errnum)
		fprintf(stderr, " [%s]", strerror(err->errnum));
	fputc('\n', stderr);
	return EXIT_FAILED;
}
