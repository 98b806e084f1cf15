/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small raw generic netlink client for the nhot selftests, in the manner of
 * the kernel's own netlink selftests: no libnl, so the test is one static
 * program.  Requests are built attribute by attribute (malformed ones too),
 * replies parsed into a table indexed by attribute type.  At the end, the
 * "nhot" family's DEV_NEW, DEV_DEL (and DEV_SET's parameters) that several
 * programs share.
 */
#ifndef __SELFTEST_NHOT_GENL_H
#define __SELFTEST_NHOT_GENL_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/nhot_netlink.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

#define NHOT_GENL_BUF		16384
#define NHOT_GENL_MAX_ATTR	32

struct nhot_genl {
	int fd;
	uint16_t family;	/* 0 until resolved */
	uint32_t monitor_grp;	/* 0 if not found */
	uint32_t seq;
	char extack[256];	/* the last error's extack message, or "" */
};

/* One received generic netlink message, its attributes by type. */
struct nhot_genl_msg {
	uint8_t cmd;
	const struct nlattr *tb[NHOT_GENL_MAX_ATTR];
	char buf[NHOT_GENL_BUF];	/* holds what tb points into */
};

/* A request being built. */
struct nhot_genl_req {
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	};
};

static inline void nhot_genl_req_init(struct nhot_genl_req *req, uint16_t type,
				      uint16_t flags, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req->nlh.nlmsg_type = type;
	req->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	g = NLMSG_DATA(&req->nlh);
	g->cmd = cmd;
	g->version = 1;
}

/* Any attribute: type, payload, length (wrong lengths on purpose too). */
static inline void nhot_genl_put(struct nhot_genl_req *req, uint16_t type,
				 const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(req->buf + NLMSG_ALIGN(req->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	req->nlh.nlmsg_len = NLMSG_ALIGN(req->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static inline void nhot_genl_put_u32(struct nhot_genl_req *req, uint16_t type, uint32_t v)
{
	nhot_genl_put(req, type, &v, sizeof(v));
}

static inline void nhot_genl_put_str(struct nhot_genl_req *req, uint16_t type, const char *s)
{
	nhot_genl_put(req, type, s, strlen(s) + 1);
}

static inline uint32_t nhot_attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return v;
}

static inline uint64_t nhot_attr_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof(v));
	return v;
}

static inline const char *nhot_attr_str(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline int nhot_attr_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

/* Parses the attributes of [start, start + len) into tb (cleared first). */
static inline void nhot_genl_parse(const char *start, int len,
				   const struct nlattr **tb)
{
	const struct nlattr *a = (const struct nlattr *)start;

	memset(tb, 0, sizeof(*tb) * NHOT_GENL_MAX_ATTR);
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		uint16_t type = a->nla_type & NLA_TYPE_MASK;

		if (type < NHOT_GENL_MAX_ATTR)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static inline int nhot_genl_socket(struct nhot_genl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one))) {
		int ret = -errno;

		close(nl->fd);
		nl->fd = -1;
		return ret;
	}
	return 0;
}

static inline void nhot_genl_close(struct nhot_genl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static inline int nhot_genl_send(struct nhot_genl *nl, struct nhot_genl_req *req)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	req->nlh.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, req->buf, req->nlh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != (ssize_t)req->nlh.nlmsg_len)
		return -errno;
	return 0;
}

/* Copies the extack message (NLMSGERR_ATTR_MSG) of an error message, if any. */
static inline void nhot_genl_extack(struct nhot_genl *nl, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct nlattr *tb[NHOT_GENL_MAX_ATTR];
	int off = sizeof(*e);

	nl->extack[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if ((int)h->nlmsg_len < (int)NLMSG_LENGTH(off))
		return;
	nhot_genl_parse((const char *)e + off, h->nlmsg_len - NLMSG_LENGTH(off), tb);
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->extack, sizeof(nl->extack), "%s", nhot_attr_str(tb[NLMSGERR_ATTR_MSG]));
}

/*
 * Sends req and reads until its ACK or error.  Each reply message (a dump
 * gives many) goes to cb with its command and attributes, when cb is set;
 * with cb NULL the last one is left in *out if out is set.
 * Returns 0 or the request's negative errno (nl->extack says why).
 */
static inline int nhot_genl_xfer(struct nhot_genl *nl, struct nhot_genl_req *req,
				 struct nhot_genl_msg *out,
				 int (*cb)(const struct nhot_genl_msg *m, void *arg), void *arg)
{
	static __thread struct nhot_genl_msg m;
	int ret;

	nl->extack[0] = 0;
	ret = nhot_genl_send(nl, req);
	if (ret)
		return ret;
	for (;;) {
		ssize_t n = recv(nl->fd, m.buf, sizeof(m.buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)m.buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				nhot_genl_extack(nl, h);
				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				/* a dump ends; DONE carries its error, no ACK follows */
				int err = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
					memcpy(&err, NLMSG_DATA(h), sizeof(err));
				return err;
			}
			if (h->nlmsg_type == req->nlh.nlmsg_type) {
				const struct genlmsghdr *g = NLMSG_DATA(h);
				struct nhot_genl_msg *dst = cb ? &m : out;

				if (!dst)
					continue;
				if (dst != &m)
					memcpy(dst->buf, m.buf, sizeof(m.buf));
				dst->cmd = g->cmd;
				nhot_genl_parse(dst->buf + ((const char *)g - m.buf) + GENL_HDRLEN,
						h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), dst->tb);
				if (cb) {
					ret = cb(dst, arg);
					if (ret)
						return ret;
				}
			}
		}
	}
}

/* Resolves a family and its "monitor" group with nlctrl; 0 or -errno. */
static inline int nhot_genl_resolve(struct nhot_genl *nl, const char *name,
				    const char *group)
{
	static __thread struct nhot_genl_msg m;
	struct nhot_genl_req req;
	const struct nlattr *a;
	int ret, rem;

	nhot_genl_req_init(&req, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	nhot_genl_put_str(&req, CTRL_ATTR_FAMILY_NAME, name);
	ret = nhot_genl_xfer(nl, &req, &m, NULL, NULL);
	if (ret)
		return ret;
	if (!m.tb[CTRL_ATTR_FAMILY_ID])
		return -EPROTO;
	memcpy(&nl->family, (const char *)m.tb[CTRL_ATTR_FAMILY_ID] + NLA_HDRLEN, 2);
	if (!m.tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	/* a nest of nests, each with a name and an id */
	a = (const struct nlattr *)((const char *)m.tb[CTRL_ATTR_MCAST_GROUPS] + NLA_HDRLEN);
	rem = nhot_attr_len(m.tb[CTRL_ATTR_MCAST_GROUPS]);
	while (rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem) {
		const struct nlattr *g[NHOT_GENL_MAX_ATTR];

		nhot_genl_parse((const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, g);
		if (g[CTRL_ATTR_MCAST_GRP_NAME] && g[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(nhot_attr_str(g[CTRL_ATTR_MCAST_GRP_NAME]), group))
			nl->monitor_grp = nhot_attr_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
		rem -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

static inline int nhot_genl_join(struct nhot_genl *nl, uint32_t group)
{
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

/*
 * Waits up to timeout_ms for a notification of the family with command cmd
 * (others are skipped; cmd 0 takes any); 0 with *m filled, -ETIMEDOUT, or -errno.
 * Every notification is a datagram of its own.
 */
static inline int nhot_genl_next_ntf(struct nhot_genl *nl, struct nhot_genl_msg *m,
				     uint8_t cmd, int timeout_ms)
{
	int64_t deadline;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 + timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
		struct nlmsghdr *h;
		int64_t now;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, deadline - now) < 0)
			return -errno;
		if (!(pfd.revents & POLLIN))
			continue;
		n = recv(nl->fd, m->buf, sizeof(m->buf), 0);
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)m->buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			const struct genlmsghdr *g = NLMSG_DATA(h);

			if (h->nlmsg_type != nl->family || (cmd && g->cmd != cmd))
				continue;
			m->cmd = g->cmd;
			nhot_genl_parse((const char *)g + GENL_HDRLEN,
					h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), m->tb);
			return 0;
		}
	}
}

/* --- the "nhot" family: add and remove a simulated device --------------- */

/* The device parameters of DEV_NEW and DEV_SET; zero ones are left out. */
static inline void nhot_genl_put_dev_params(struct nhot_genl_req *req, uint32_t pe,
					    uint32_t clk, uint32_t tmo)
{
	if (pe)
		nhot_genl_put_u32(req, NHOT_A_DEV_PE_COUNT, pe);
	if (clk)
		nhot_genl_put_u32(req, NHOT_A_DEV_CLOCK_MHZ, clk);
	if (tmo)
		nhot_genl_put_u32(req, NHOT_A_DEV_TIMEOUT_MS, tmo);
}

/*
 * DEV_NEW of nl's family (resolved); zero parameters are left out.  0 with
 * the new id in *id (and the reply in *m, if m is set), or -errno.
 */
static inline int nhot_genl_dev_new(struct nhot_genl *nl, uint32_t pe, uint32_t clk,
				    uint32_t tmo, uint32_t *id, struct nhot_genl_msg *m)
{
	static __thread struct nhot_genl_msg local;
	struct nhot_genl_req req;
	int ret;

	if (!m)
		m = &local;
	nhot_genl_req_init(&req, nl->family, 0, NHOT_CMD_DEV_NEW);
	nhot_genl_put_dev_params(&req, pe, clk, tmo);
	ret = nhot_genl_xfer(nl, &req, m, NULL, NULL);
	if (ret)
		return ret;
	if (!m->tb[NHOT_A_DEV_ID])
		return -EPROTO;
	*id = nhot_attr_u32(m->tb[NHOT_A_DEV_ID]);
	return 0;
}

/* DEV_DEL of device id; 0 or -errno (-ENODEV: no such device). */
static inline int nhot_genl_dev_del(struct nhot_genl *nl, uint32_t id)
{
	struct nhot_genl_req req;

	nhot_genl_req_init(&req, nl->family, 0, NHOT_CMD_DEV_DEL);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ID, id);
	return nhot_genl_xfer(nl, &req, NULL, NULL, NULL);
}

#endif /* __SELFTEST_NHOT_GENL_H */
