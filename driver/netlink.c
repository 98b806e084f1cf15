// SPDX-License-Identifier: GPL-2.0
/*
 * The "nhot" generic netlink family: list devices and their counters, add
 * and remove simulated engines, configure an engine, and tell the "monitor"
 * group (CAP_NET_ADMIN only) about devices, resets and failing jobs.
 * docs/netlink/nhot.yaml is the spec, docs/uapi.md ("Netlink") the errors.
 *
 * The ops are struct genl_ops with a strict policy each (split ops need
 * 6.2): 6.1 and 6.12 build the same table.  The family lives in the initial
 * network namespace only (netnsok is false): devices are not per namespace.
 *
 * Notifications are built in process context only.  A job that fails in the
 * completion path (maybe a hard irq, under the device lock) is queued in a
 * small per-device array and sent by a work item; when the array is full
 * the event is dropped and counted (events-dropped).
 */
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "netlink.h"
#include "nhot_drv.h"

enum nhot_nl_groups {
	NHOT_NLGRP_MONITOR,
};

static struct genl_family nhot_nl_family;

/*
 * Protects nhot_nl_registered against unregistration: a notification is
 * sent under the read side, so the family cannot go away under it.
 */
static DECLARE_RWSEM(nhot_nl_sem);
static bool nhot_nl_registered;

/* not const: 6.1's struct nla_policy points to a mutable range */
static struct netlink_range_validation nhot_pe_count_range = {
	.min = 1,
	.max = NHOT_MAX_PE_COUNT,
};

static struct netlink_range_validation nhot_clock_mhz_range = {
	.min = 1,
	.max = NHOT_MAX_CLOCK_MHZ,
};

static struct netlink_range_validation nhot_timeout_ms_range = {
	.min = 1,
	.max = NHOT_MAX_TIMEOUT_MS,
};

/* DEV_GET, DEV_DEL: the id only */
static const struct nla_policy nhot_dev_id_policy[NHOT_A_DEV_ID + 1] = {
	[NHOT_A_DEV_ID] = { .type = NLA_U32 },
};

static const struct nla_policy nhot_dev_new_policy[NHOT_A_DEV_TIMEOUT_MS + 1] = {
	[NHOT_A_DEV_ENGINE] = NLA_POLICY_RANGE(NLA_U32, NHOT_ENGINE_SIM, NHOT_ENGINE_PCI),
	[NHOT_A_DEV_PE_COUNT] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_pe_count_range),
	[NHOT_A_DEV_CLOCK_MHZ] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_clock_mhz_range),
	[NHOT_A_DEV_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_timeout_ms_range),
};

static const struct nla_policy nhot_dev_set_policy[NHOT_A_DEV_TIMEOUT_MS + 1] = {
	[NHOT_A_DEV_ID] = { .type = NLA_U32 },
	[NHOT_A_DEV_PE_COUNT] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_pe_count_range),
	[NHOT_A_DEV_CLOCK_MHZ] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_clock_mhz_range),
	[NHOT_A_DEV_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &nhot_timeout_ms_range),
};

static const struct nla_policy nhot_stats_get_policy[NHOT_A_STATS_DEV_ID + 1] = {
	[NHOT_A_STATS_DEV_ID] = { .type = NLA_U32 },
};

/* What DEV_GET reports, read under the device lock. */
struct nhot_dev_snapshot {
	u32 state;
	u32 pe_count;
	u32 clock_mhz;
	u32 timeout_ms;
};

static void nhot_dev_snapshot(struct nhot_device *ndev, struct nhot_dev_snapshot *s)
{
	spin_lock_irq(&ndev->lock);
	if (ndev->removed)
		s->state = NHOT_DEV_STATE_REMOVING;
	else if (ndev->resetting)
		s->state = NHOT_DEV_STATE_RESETTING;
	else
		s->state = NHOT_DEV_STATE_READY;
	s->pe_count = ndev->limits.pe_count;
	s->clock_mhz = ndev->limits.clock_mhz;
	s->timeout_ms = ndev->timeout_ms;
	spin_unlock_irq(&ndev->lock);
}

static int nhot_nl_fill_dev(struct sk_buff *skb, struct nhot_device *ndev,
			    u32 portid, u32 seq, int flags, u8 cmd)
{
	struct nhot_dev_snapshot s;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &nhot_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	nhot_dev_snapshot(ndev, &s);
	if (nla_put_u32(skb, NHOT_A_DEV_ID, ndev->id) ||
	    nla_put_string(skb, NHOT_A_DEV_NAME, ndev->name) ||
	    nla_put_u32(skb, NHOT_A_DEV_ENGINE, ndev->engine_kind) ||
	    nla_put_u32(skb, NHOT_A_DEV_STATE, s.state) ||
	    nla_put_u32(skb, NHOT_A_DEV_LAYER_TYPES,
			GENMASK(NHOT_LAYER_TYPE_MAX, NHOT_LAYER_CONV2D)) ||
	    nla_put_u32(skb, NHOT_A_DEV_N_MASK, GENMASK(NHOT_MAX_N, NHOT_MIN_N)) ||
	    nla_put_u32(skb, NHOT_A_DEV_B_MASK, GENMASK(NHOT_MAX_B, NHOT_MIN_B)) ||
	    nla_put_u32(skb, NHOT_A_DEV_PE_COUNT, s.pe_count) ||
	    nla_put_u32(skb, NHOT_A_DEV_CLOCK_MHZ, s.clock_mhz) ||
	    nla_put_u32(skb, NHOT_A_DEV_TIMEOUT_MS, s.timeout_ms) ||
	    nla_put_string(skb, NHOT_A_DEV_BUS, ndev->bus[0] ? ndev->bus : "sim")) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int nhot_nl_fill_stats(struct sk_buff *skb, struct nhot_device *ndev,
			      u32 portid, u32 seq, int flags)
{
	struct nhot_stats st;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &nhot_nl_family, flags, NHOT_CMD_STATS_GET);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_irq(&ndev->lock);
	st = ndev->stats;
	spin_unlock_irq(&ndev->lock);
	if (nla_put_u32(skb, NHOT_A_STATS_DEV_ID, ndev->id) ||
	    nla_put_string(skb, NHOT_A_STATS_DEV_NAME, ndev->name) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_JOBS_SUBMITTED, st.jobs_submitted,
			      NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_JOBS_COMPLETED, st.jobs_completed,
			      NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_JOBS_FAILED, st.jobs_failed,
			      NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_JOBS_TIMED_OUT, st.jobs_timed_out,
			      NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_MACS, st.macs, NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_SHIFT_ADDS, st.shift_adds,
			      NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_CYCLES, st.cycles, NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_BUSY_NS, st.busy_ns, NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_RESETS, st.resets, NHOT_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, NHOT_A_STATS_EVENTS_DROPPED, st.events_dropped,
			      NHOT_A_STATS_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* The device the request's @attr names, referenced; -ENODEV with extack. */
static struct nhot_device *nhot_nl_lookup(struct genl_info *info, int attr)
{
	struct nhot_device *ndev;

	ndev = nhot_device_get_by_id(nla_get_u32(info->attrs[attr]));
	if (!ndev) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[attr], "no such device");
		return ERR_PTR(-ENODEV);
	}
	return ndev;
}

static int nhot_nl_reply_dev(struct genl_info *info, struct nhot_device *ndev, u8 cmd)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = nhot_nl_fill_dev(msg, ndev, info->snd_portid, info->snd_seq, 0, cmd);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int nhot_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nhot_device *ndev;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, NHOT_A_DEV_ID))
		return -EINVAL;
	ndev = nhot_nl_lookup(info, NHOT_A_DEV_ID);
	if (IS_ERR(ndev))
		return PTR_ERR(ndev);
	ret = nhot_nl_reply_dev(info, ndev, NHOT_CMD_DEV_GET);
	nhot_device_put(ndev);
	return ret;
}

/* cb->args[0]: the smallest id not dumped yet */
static int nhot_nl_dump(struct sk_buff *skb, struct netlink_callback *cb, bool stats)
{
	u32 portid = NETLINK_CB(cb->skb).portid, seq = cb->nlh->nlmsg_seq;
	struct nhot_device *ndev;
	int ret = 0;

	while ((ndev = nhot_device_get_next(cb->args[0]))) {
		if (stats)
			ret = nhot_nl_fill_stats(skb, ndev, portid, seq, NLM_F_MULTI);
		else
			ret = nhot_nl_fill_dev(skb, ndev, portid, seq, NLM_F_MULTI,
					       NHOT_CMD_DEV_GET);
		if (!ret)
			cb->args[0] = (unsigned long)ndev->id + 1;
		nhot_device_put(ndev);
		if (ret)
			break;
	}
	/* a full message ends this part of the dump; the next continues */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ?: skb->len;
}

static int nhot_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return nhot_nl_dump(skb, cb, false);
}

static int nhot_nl_dev_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nhot_sim_cfg cfg = { 0 };
	struct nlattr **tb = info->attrs;
	struct nhot_device *ndev;
	int ret;

	if (tb[NHOT_A_DEV_ENGINE] && nla_get_u32(tb[NHOT_A_DEV_ENGINE]) != NHOT_ENGINE_SIM) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NHOT_A_DEV_ENGINE],
				    "only simulated engines can be added: PCI engines appear by probe");
		return -EOPNOTSUPP;
	}
	if (tb[NHOT_A_DEV_PE_COUNT])
		cfg.pe_count = nla_get_u32(tb[NHOT_A_DEV_PE_COUNT]);
	if (tb[NHOT_A_DEV_CLOCK_MHZ])
		cfg.clock_mhz = nla_get_u32(tb[NHOT_A_DEV_CLOCK_MHZ]);
	if (tb[NHOT_A_DEV_TIMEOUT_MS])
		cfg.timeout_ms = nla_get_u32(tb[NHOT_A_DEV_TIMEOUT_MS]);

	ndev = nhot_device_create_sim(&cfg);
	if (IS_ERR(ndev)) {
		if (PTR_ERR(ndev) == -ENOSPC)
			NL_SET_ERR_MSG(info->extack,
				       "too many devices: max_devices exist (removed ones with open files count)");
		else
			NL_SET_ERR_MSG(info->extack, "creating the engine failed");
		return PTR_ERR(ndev);
	}
	/*
	 * The device is on the list and may be removed by a DEV_DEL racing
	 * with this reply: it is built from a reference.
	 */
	ret = nhot_nl_reply_dev(info, ndev, NHOT_CMD_DEV_NEW);
	nhot_device_put(ndev);
	return ret;
}

static int nhot_nl_dev_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, NHOT_A_DEV_ID))
		return -EINVAL;
	ret = nhot_device_remove_sim(nla_get_u32(info->attrs[NHOT_A_DEV_ID]));
	if (ret == -ENODEV)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NHOT_A_DEV_ID], "no such device");
	else if (ret == -EOPNOTSUPP)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NHOT_A_DEV_ID],
				    "not a simulated engine: PCI engines go away by unbind");
	return ret;
}

static int nhot_nl_dev_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct nhot_device *ndev;

	if (GENL_REQ_ATTR_CHECK(info, NHOT_A_DEV_ID))
		return -EINVAL;
	if (!tb[NHOT_A_DEV_PE_COUNT] && !tb[NHOT_A_DEV_CLOCK_MHZ] &&
	    !tb[NHOT_A_DEV_TIMEOUT_MS]) {
		NL_SET_ERR_MSG(info->extack,
			       "nothing to set: pe-count, clock-mhz or timeout-ms required");
		return -EINVAL;
	}
	ndev = nhot_nl_lookup(info, NHOT_A_DEV_ID);
	if (IS_ERR(ndev))
		return PTR_ERR(ndev);

	/*
	 * The sim reads pe_count when it runs a job and the job path reads
	 * timeout_ms when it starts one: jobs started from now on see the
	 * new values.
	 */
	spin_lock_irq(&ndev->lock);
	if (tb[NHOT_A_DEV_PE_COUNT])
		WRITE_ONCE(ndev->limits.pe_count, nla_get_u32(tb[NHOT_A_DEV_PE_COUNT]));
	if (tb[NHOT_A_DEV_CLOCK_MHZ])
		WRITE_ONCE(ndev->limits.clock_mhz, nla_get_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
	if (tb[NHOT_A_DEV_TIMEOUT_MS])
		ndev->timeout_ms = nla_get_u32(tb[NHOT_A_DEV_TIMEOUT_MS]);
	spin_unlock_irq(&ndev->lock);

	nhot_nl_notify_dev(ndev, NHOT_CMD_DEV_CHANGE_NTF);
	nhot_device_put(ndev);
	return 0;
}

static int nhot_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nhot_device *ndev;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, NHOT_A_STATS_DEV_ID))
		return -EINVAL;
	ndev = nhot_nl_lookup(info, NHOT_A_STATS_DEV_ID);
	if (IS_ERR(ndev))
		return PTR_ERR(ndev);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out_put;
	}
	ret = nhot_nl_fill_stats(msg, ndev, info->snd_portid, info->snd_seq, 0);
	if (ret) {
		nlmsg_free(msg);
		goto out_put;
	}
	ret = genlmsg_reply(msg, info);
out_put:
	nhot_device_put(ndev);
	return ret;
}

static int nhot_nl_stats_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return nhot_nl_dump(skb, cb, true);
}

static const struct genl_ops nhot_nl_ops[] = {
	{
		.cmd = NHOT_CMD_DEV_GET,
		.doit = nhot_nl_dev_get_doit,
		.dumpit = nhot_nl_dev_get_dumpit,
		.policy = nhot_dev_id_policy,
		.maxattr = NHOT_A_DEV_ID,
	},
	{
		.cmd = NHOT_CMD_DEV_NEW,
		.doit = nhot_nl_dev_new_doit,
		.policy = nhot_dev_new_policy,
		.maxattr = NHOT_A_DEV_TIMEOUT_MS,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NHOT_CMD_DEV_DEL,
		.doit = nhot_nl_dev_del_doit,
		.policy = nhot_dev_id_policy,
		.maxattr = NHOT_A_DEV_ID,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NHOT_CMD_DEV_SET,
		.doit = nhot_nl_dev_set_doit,
		.policy = nhot_dev_set_policy,
		.maxattr = NHOT_A_DEV_TIMEOUT_MS,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NHOT_CMD_STATS_GET,
		.doit = nhot_nl_stats_get_doit,
		.dumpit = nhot_nl_stats_get_dumpit,
		.policy = nhot_stats_get_policy,
		.maxattr = NHOT_A_STATS_DEV_ID,
	},
};

/*
 * Joining "monitor" needs CAP_NET_ADMIN (checked by genetlink at bind time,
 * 6.1 and 6.12 alike): its job-fail notifications name the jobs of every
 * user's files, and 6.1 cannot filter a multicast message per listener.
 * Everyone may still list devices and read counters (DEV_GET, STATS_GET).
 */
static const struct genl_multicast_group nhot_nl_mcgrps[] = {
	[NHOT_NLGRP_MONITOR] = {
		.name = NHOT_MCGRP_MONITOR,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family nhot_nl_family __ro_after_init = {
	.name = NHOT_FAMILY_NAME,
	.version = NHOT_FAMILY_VERSION,
	.netnsok = false,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = nhot_nl_ops,
	.n_ops = ARRAY_SIZE(nhot_nl_ops),
	.mcgrps = nhot_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(nhot_nl_mcgrps),
};

/* ---- notifications ---------------------------------------------------- */

/* A hint, good in any context; the sender checks again under nhot_nl_sem. */
static bool nhot_nl_listening(void)
{
	return READ_ONCE(nhot_nl_registered) &&
	       genl_has_listeners(&nhot_nl_family, &init_net, NHOT_NLGRP_MONITOR);
}

/* Takes the read side of nhot_nl_sem; false (and not taken) if nobody listens. */
static bool nhot_nl_notify_begin(void)
{
	down_read(&nhot_nl_sem);
	if (nhot_nl_registered &&
	    genl_has_listeners(&nhot_nl_family, &init_net, NHOT_NLGRP_MONITOR))
		return true;
	up_read(&nhot_nl_sem);
	return false;
}

static void nhot_nl_notify_send(struct sk_buff *msg)
{
	genlmsg_multicast_netns(&nhot_nl_family, &init_net, msg, 0,
				NHOT_NLGRP_MONITOR, GFP_KERNEL);
	up_read(&nhot_nl_sem);
}

void nhot_nl_notify_dev(struct nhot_device *ndev, u8 cmd)
{
	struct sk_buff *msg;

	if (!nhot_nl_notify_begin())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out_unlock;
	if (nhot_nl_fill_dev(msg, ndev, 0, 0, 0, cmd)) {
		nlmsg_free(msg);
		goto out_unlock;
	}
	nhot_nl_notify_send(msg);
	return;

out_unlock:
	up_read(&nhot_nl_sem);
}

static void nhot_nl_send_job_event(struct nhot_device *ndev,
				   const struct nhot_job_event *ev)
{
	struct sk_buff *msg;
	void *hdr;

	if (!nhot_nl_notify_begin())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out_unlock;
	hdr = genlmsg_put(msg, 0, 0, &nhot_nl_family, 0, NHOT_CMD_JOB_FAIL_NTF);
	if (!hdr)
		goto err_free;
	if (nla_put_u32(msg, NHOT_A_EVENT_DEV_ID, ndev->id) ||
	    nla_put_string(msg, NHOT_A_EVENT_DEV_NAME, ndev->name) ||
	    nla_put_u64_64bit(msg, NHOT_A_EVENT_JOB_ID, ev->job_id, NHOT_A_EVENT_PAD) ||
	    nla_put_u32(msg, NHOT_A_EVENT_JOB_STATUS, ev->status) ||
	    nla_put_s32(msg, NHOT_A_EVENT_JOB_ERROR, ev->error))
		goto err_free;
	genlmsg_end(msg, hdr);
	nhot_nl_notify_send(msg);
	return;

err_free:
	nlmsg_free(msg);
out_unlock:
	up_read(&nhot_nl_sem);
}

static void nhot_nl_event_work(struct work_struct *work)
{
	struct nhot_device *ndev = container_of(work, struct nhot_device, event_work);
	struct nhot_job_event evs[NHOT_JOB_EVENTS_MAX];
	u32 i, n;

	spin_lock_irq(&ndev->lock);
	n = ndev->nr_events;
	memcpy(evs, ndev->events, n * sizeof(evs[0]));
	ndev->nr_events = 0;
	spin_unlock_irq(&ndev->lock);

	for (i = 0; i < n; i++)
		nhot_nl_send_job_event(ndev, &evs[i]);
}

void nhot_nl_job_failed(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_job_event *ev;

	lockdep_assert_held(&ndev->lock);
	if (!nhot_nl_listening())
		return;
	if (ndev->nr_events >= NHOT_JOB_EVENTS_MAX) {
		ndev->stats.events_dropped++;
		return;
	}
	ev = &ndev->events[ndev->nr_events++];
	ev->job_id = job->id;
	ev->status = job->status;
	ev->error = job->error;
	queue_work(system_wq, &ndev->event_work);
}

void nhot_nl_device_init(struct nhot_device *ndev)
{
	INIT_WORK(&ndev->event_work, nhot_nl_event_work);
}

void nhot_nl_device_flush(struct nhot_device *ndev)
{
	flush_work(&ndev->event_work);
}

/**
 * nhot_netlink_init() - register the family
 *
 * Called last in module init, once the devices exist: DEV_NEW cannot race
 * the init's own error path.
 *
 * Return: 0 or a negative errno.
 */
int nhot_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&nhot_nl_family);
	if (ret)
		return ret;
	down_write(&nhot_nl_sem);
	nhot_nl_registered = true;
	up_write(&nhot_nl_sem);
	return 0;
}

/**
 * nhot_netlink_exit() - unregister the family
 *
 * Called first in module exit.  genl_unregister_family() waits for the
 * requests being handled, so no DEV_NEW or DEV_DEL runs once it returns and
 * the module can remove the remaining devices alone.
 */
void nhot_netlink_exit(void)
{
	down_write(&nhot_nl_sem);
	nhot_nl_registered = false;
	up_write(&nhot_nl_sem);
	genl_unregister_family(&nhot_nl_family);
}
