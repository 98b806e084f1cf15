/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "nhot" generic netlink family (docs/netlink/nhot.yaml): what the rest
 * of the module calls.  Every call is a no-op while the family is not
 * registered or nobody listens on the "monitor" group.
 */
#ifndef _NHOT_NETLINK_H
#define _NHOT_NETLINK_H

#include <linux/types.h>
#include <linux/nhot_netlink.h>

struct nhot_device;
struct nhot_kjob;

int nhot_netlink_init(void);
void nhot_netlink_exit(void);

/* Per device: the job-fail event queue and its work item. */
void nhot_nl_device_init(struct nhot_device *ndev);
/* Sends what is queued and waits for the work item; may sleep. */
void nhot_nl_device_flush(struct nhot_device *ndev);

/*
 * A DEV_*_NTF or RESET_NTF command (NHOT_CMD_*_NTF) about @ndev to the
 * "monitor" group; process context, no device or file lock held.
 */
void nhot_nl_notify_dev(struct nhot_device *ndev, u8 cmd);

/*
 * @job ended FAILED or TIMEDOUT: queue a JOB_FAIL_NTF.  Called with the
 * device lock held, from any context (the completion path may be a hard
 * irq); the message is built and sent by a work item.
 */
void nhot_nl_job_failed(struct nhot_device *ndev, struct nhot_kjob *job);

#endif /* _NHOT_NETLINK_H */
