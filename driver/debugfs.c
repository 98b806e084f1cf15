// SPDX-License-Identifier: GPL-2.0
/*
 * nhot debugfs switches, in the manner of netdevsim's failure switches:
 *
 *   /sys/kernel/debug/nhot/nhotN/hang_jobs   the next that many jobs hang
 *   /sys/kernel/debug/nhot/nhotN/timeout_ms  the engine's job timeout
 *
 * Both are read and written under the device lock, which the job path holds
 * when it starts a job.  And the live objects, for leak checks (read only):
 *
 *   /sys/kernel/debug/nhot/objects           module-wide
 *   /sys/kernel/debug/nhot/nhotN/objects     of one device
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "nhot_drv.h"

static struct dentry *nhot_debugfs_root;

struct nhot_objects nhot_objects_total;

static const char *const nhot_object_names[NHOT_OBJ_KINDS] = {
	[NHOT_OBJ_DEVICES] = "devices",
	[NHOT_OBJ_FILES] = "files",
	[NHOT_OBJ_BOS] = "buffers",
	[NHOT_OBJ_JOBS] = "jobs",
	[NHOT_OBJ_MAPPINGS] = "mappings",
};

/* One "name count" line each; a device's set has no devices line. */
static int nhot_objects_show(struct seq_file *m, void *unused)
{
	struct nhot_objects *objs = m->private;
	int kind;

	for (kind = 0; kind < NHOT_OBJ_KINDS; kind++) {
		if (kind == NHOT_OBJ_DEVICES && objs != &nhot_objects_total)
			continue;
		seq_printf(m, "%s %d\n", nhot_object_names[kind],
			   atomic_read(&objs->live[kind]));
	}
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(nhot_objects);

static int nhot_hang_jobs_get(void *data, u64 *val)
{
	struct nhot_device *ndev = data;

	spin_lock_irq(&ndev->lock);
	*val = ndev->hang_jobs;
	spin_unlock_irq(&ndev->lock);
	return 0;
}

static int nhot_hang_jobs_set(void *data, u64 val)
{
	struct nhot_device *ndev = data;

	if (val > U32_MAX)
		return -EINVAL;
	spin_lock_irq(&ndev->lock);
	ndev->hang_jobs = val;
	spin_unlock_irq(&ndev->lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(nhot_hang_jobs_fops, nhot_hang_jobs_get, nhot_hang_jobs_set,
			 "%llu\n");

static int nhot_timeout_ms_get(void *data, u64 *val)
{
	struct nhot_device *ndev = data;

	spin_lock_irq(&ndev->lock);
	*val = ndev->timeout_ms;
	spin_unlock_irq(&ndev->lock);
	return 0;
}

/* Applies to jobs started from now on. */
static int nhot_timeout_ms_set(void *data, u64 val)
{
	struct nhot_device *ndev = data;

	if (!val || val > U32_MAX)
		return -EINVAL;
	spin_lock_irq(&ndev->lock);
	ndev->timeout_ms = val;
	spin_unlock_irq(&ndev->lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(nhot_timeout_ms_fops, nhot_timeout_ms_get, nhot_timeout_ms_set,
			 "%llu\n");

void nhot_debugfs_init(void)
{
	nhot_debugfs_root = debugfs_create_dir("nhot", NULL);
	debugfs_create_file("objects", 0400, nhot_debugfs_root, &nhot_objects_total,
			    &nhot_objects_fops);
}

void nhot_debugfs_exit(void)
{
	debugfs_remove_recursive(nhot_debugfs_root);
}

void nhot_debugfs_add_device(struct nhot_device *ndev)
{
	ndev->debugfs = debugfs_create_dir(ndev->name, nhot_debugfs_root);
	debugfs_create_file_unsafe("hang_jobs", 0600, ndev->debugfs, ndev,
				   &nhot_hang_jobs_fops);
	debugfs_create_file_unsafe("timeout_ms", 0600, ndev->debugfs, ndev,
				   &nhot_timeout_ms_fops);
	debugfs_create_file("objects", 0400, ndev->debugfs, &ndev->objects,
			    &nhot_objects_fops);
}

void nhot_debugfs_remove_device(struct nhot_device *ndev)
{
	debugfs_remove_recursive(ndev->debugfs);
	ndev->debugfs = NULL;
}
