// SPDX-License-Identifier: MIT
/*
 * nhotctl monitor: the "monitor" multicast group, one line per
 * notification (text, or one JSON object a line), flushed as it comes,
 * until SIGINT or SIGTERM (exit 0) or until the family goes away (the
 * module was unloaded: exit 1).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/nhot_netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "nhotctl.h"

struct monitor {
	struct nhotctl *ctl;
	bool family_gone;
	bool write_failed;
};

static const struct {
	uint8_t cmd;
	const char *text;	/* first word of the text line */
	const char *json;	/* "event" member */
} dev_events[] = {
	{ NHOT_CMD_DEV_ADD_NTF, "add", "dev_add" },
	{ NHOT_CMD_DEV_DEL_NTF, "del", "dev_del" },
	{ NHOT_CMD_DEV_CHANGE_NTF, "change", "dev_change" },
	{ NHOT_CMD_RESET_NTF, "reset", "reset" },
};

static struct nla_policy event_policy[NHOT_A_EVENT_MAX + 1] = {
	[NHOT_A_EVENT_DEV_ID] = { .type = NLA_U32 },
	[NHOT_A_EVENT_DEV_NAME] = { .type = NLA_STRING, .maxlen = 32 },
	[NHOT_A_EVENT_JOB_ID] = { .type = NLA_U64 },
	[NHOT_A_EVENT_JOB_STATUS] = { .type = NLA_U32 },
	[NHOT_A_EVENT_JOB_ERROR] = { .type = NLA_U32 },
};

static void print_dev_event(struct monitor *m, const char *text, const char *json,
			    const struct dev_info *d)
{
	if (m->ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "event", json);
		dev_info_print_json(&j, d);
		json_obj_end(&j);
		if (!json_end_doc(&j))
			m->write_failed = true;
		return;
	}
	printf("%s ", text);
	dev_info_print_text(d, "", false);
}

static int print_job_event(struct monitor *m, struct nl_msg *msg)
{
	struct nlattr *tb[NHOT_A_EVENT_MAX + 1];
	const char *status = NULL;
	char name[32];
	uint32_t id;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NHOT_A_EVENT_MAX, event_policy) ||
	    !tb[NHOT_A_EVENT_DEV_ID])
		return -EPROTO;
	id = nla_get_u32(tb[NHOT_A_EVENT_DEV_ID]);
	if (tb[NHOT_A_EVENT_DEV_NAME])
		snprintf(name, sizeof(name), "%.*s", nla_len(tb[NHOT_A_EVENT_DEV_NAME]),
			 (const char *)nla_data(tb[NHOT_A_EVENT_DEV_NAME]));
	else
		snprintf(name, sizeof(name), "nhot%u", id);
	if (tb[NHOT_A_EVENT_JOB_STATUS])
		status = job_status_name(nla_get_u32(tb[NHOT_A_EVENT_JOB_STATUS]));

	if (m->ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "event", "job_fail");
		json_kv_u64(&j, "id", id);
		json_kv_str(&j, "name", name);
		if (tb[NHOT_A_EVENT_JOB_ID])
			json_kv_u64(&j, "job_id", nla_get_u64(tb[NHOT_A_EVENT_JOB_ID]));
		if (status)
			json_kv_str(&j, "job_status", status);
		else if (tb[NHOT_A_EVENT_JOB_STATUS])
			json_kv_u64(&j, "job_status", nla_get_u32(tb[NHOT_A_EVENT_JOB_STATUS]));
		if (tb[NHOT_A_EVENT_JOB_ERROR])
			json_kv_s64(&j, "job_error", nla_get_s32(tb[NHOT_A_EVENT_JOB_ERROR]));
		json_obj_end(&j);
		if (!json_end_doc(&j))
			m->write_failed = true;
		return 0;
	}
	printf("job-fail %s:", name);
	if (tb[NHOT_A_EVENT_JOB_ID])
		printf(" job %llu", (unsigned long long)nla_get_u64(tb[NHOT_A_EVENT_JOB_ID]));
	if (status)
		printf(" status %s", status);
	else if (tb[NHOT_A_EVENT_JOB_STATUS])
		printf(" status %u", nla_get_u32(tb[NHOT_A_EVENT_JOB_STATUS]));
	if (tb[NHOT_A_EVENT_JOB_ERROR]) {
		int32_t e = nla_get_s32(tb[NHOT_A_EVENT_JOB_ERROR]);

		printf(" error %d (%s)", e, strerror(e < 0 ? -e : e));
	}
	putchar('\n');
	return 0;
}

/* nlctrl's notify group: did the "nhot" family just go away? */
static bool family_deleted(struct nl_msg *msg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));

	if (g->cmd != CTRL_CMD_DELFAMILY ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL) ||
	    !tb[CTRL_ATTR_FAMILY_NAME])
		return false;
	return !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), NHOT_FAMILY_NAME);
}

static int on_notification(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct monitor *m = arg;
	struct genlmsghdr *g;
	struct dev_info d;
	size_t i;

	if (!genlmsg_valid_hdr(nlh, 0))
		return NL_SKIP;
	g = nlmsg_data(nlh);
	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		if (family_deleted(msg)) {
			m->family_gone = true;
			return NL_STOP;
		}
		return NL_SKIP;
	}
	if (nlh->nlmsg_type != m->ctl->family)
		return NL_SKIP;
	if (g->cmd == NHOT_CMD_JOB_FAIL_NTF) {
		if (print_job_event(m, msg))
			fprintf(stderr, "nhotctl: monitor: a malformed job-fail notification\n");
	} else {
		for (i = 0; i < sizeof(dev_events) / sizeof(dev_events[0]); i++)
			if (dev_events[i].cmd == g->cmd)
				break;
		if (i == sizeof(dev_events) / sizeof(dev_events[0]))
			return NL_SKIP;	/* a notification newer than nhotctl */
		if (dev_info_parse(msg, &d))
			fprintf(stderr, "nhotctl: monitor: a malformed %s notification\n",
				dev_events[i].text);
		else
			print_dev_event(m, dev_events[i].text, dev_events[i].json, &d);
	}
	if (fflush(stdout) || ferror(stdout))
		m->write_failed = true;
	return m->write_failed ? NL_STOP : NL_OK;
}

static int subscribe(struct nhotctl *ctl, const char *family, const char *group)
{
	int grp = genl_ctrl_resolve_grp(ctl->sk, family, group);

	if (grp < 0) {
		fprintf(stderr, "nhotctl: monitor: no multicast group \"%s\" in family \"%s\": %s\n",
			group, family, nl_geterror(grp));
		return EXIT_FAILED;
	}
	grp = nl_socket_add_membership(ctl->sk, grp);
	if (grp == -NLE_PERM) {
		/* the kernel's rule: job failures of every user are on this group */
		fprintf(stderr, "nhotctl: monitor: permission denied: joining \"%s\" needs CAP_NET_ADMIN (it reports every user's failing jobs)\n",
			group);
		return EXIT_FAILED;
	}
	if (grp) {
		fprintf(stderr, "nhotctl: monitor: cannot join \"%s\": %s\n", group,
			nl_geterror(grp));
		return EXIT_FAILED;
	}
	return 0;
}

/* Reads notifications until a stop signal; the signals are blocked except
 * inside ppoll(), so none is lost between the check and the wait.
 */
static int listen_loop(struct nhotctl *ctl, struct monitor *m)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(ctl->sk), .events = POLLIN };
	sigset_t block, orig;
	int ret = EXIT_OK;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	while (!stop_requested) {
		int r = ppoll(&pfd, 1, NULL, &orig);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nhotctl: monitor: poll: %s\n", strerror(errno));
			ret = EXIT_FAILED;
			break;
		}
		r = nl_recvmsgs_default(ctl->sk);
		if (m->family_gone) {
			fprintf(stderr, "nhotctl: monitor: the \"%s\" family went away (module unloaded)\n",
				NHOT_FAMILY_NAME);
			ret = EXIT_FAILED;
			break;
		}
		if (m->write_failed) {
			ret = EXIT_FAILED;
			break;
		}
		if (r == -NLE_AGAIN || r >= 0)
			continue;
		if (r == -NLE_NOMEM) {
			/* ENOBUFS: the socket overflowed; say so and go on */
			fprintf(stderr, "nhotctl: monitor: notifications were lost (receive buffer overrun)\n");
			continue;
		}
		fprintf(stderr, "nhotctl: monitor: %s\n", nl_geterror(r));
		ret = EXIT_FAILED;
		break;
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}

int cmd_monitor(struct nhotctl *ctl, int argc, char **argv)
{
	struct monitor m = { .ctl = ctl };
	int ret;

	if (argc > 1)
		return usage_error("monitor: takes no arguments, got '%s'", argv[1]);
	ret = genl_open(ctl);
	if (ret)
		return ret;
	ret = subscribe(ctl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR);
	if (!ret)
		ret = subscribe(ctl, "nlctrl", "notify");
	if (ret)
		goto out;
	nl_socket_disable_seq_check(ctl->sk);
	nl_socket_modify_cb(ctl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_notification, &m);
	nl_socket_set_buffer_size(ctl->sk, 1 << 20, 0);
	if (nl_socket_set_nonblocking(ctl->sk)) {
		fprintf(stderr, "nhotctl: monitor: cannot make the socket non-blocking\n");
		ret = EXIT_FAILED;
		goto out;
	}
	install_stop_handlers();
	ret = listen_loop(ctl, &m);
out:
	genl_close(ctl);
	return ret;
}
