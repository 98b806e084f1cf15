// SPDX-License-Identifier: GPL-2.0
/*
 * nhot file operations: open, release, the ioctl dispatch table, mmap, poll.
 *
 * Every ioctl argument starts with "__u32 size".  The dispatch reads it,
 * refuses a struct shorter than the first version (-EINVAL), and copies the
 * rest with copy_struct_from_user(): a shorter struct is zero-extended, a
 * longer one must have an all-zero tail (else -E2BIG).  Results are copied
 * back for the _IOWR ioctls, no more bytes than userspace knows.
 */
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "nhot_drv.h"

static int nhot_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data to our miscdevice, under the misc lock */
	struct miscdevice *misc = file->private_data;
	struct nhot_device *ndev = container_of(misc, struct nhot_device, misc);
	struct nhot_file *nf;

	nf = kzalloc(sizeof(*nf), GFP_KERNEL_ACCOUNT);
	if (!nf)
		return -ENOMEM;
	kref_init(&nf->ref);
	kref_get(&ndev->ref);
	nf->ndev = ndev;
	nhot_objects_inc(&ndev->objects, NHOT_OBJ_FILES);
	xa_init_flags(&nf->bos, XA_FLAGS_ALLOC1);
	xa_init(&nf->jobs);
	init_waitqueue_head(&nf->wq);
	atomic_set(&nf->finished, 0);
	mutex_init(&nf->lock);
	nf->next_id = 1;
	file->private_data = nf;
	return nonseekable_open(inode, file);
}

static void nhot_file_free(struct kref *ref)
{
	struct nhot_file *nf = container_of(ref, struct nhot_file, ref);
	struct nhot_device *ndev = nf->ndev;

	xa_destroy(&nf->jobs);
	xa_destroy(&nf->bos);
	mutex_destroy(&nf->lock);
	kfree(nf);
	nhot_objects_dec(&ndev->objects, NHOT_OBJ_FILES);
	nhot_device_put(ndev);
}

/**
 * nhot_file_put() - drop a reference to a file
 * @nf: the file
 *
 * Process context: the last reference frees the file and drops its device
 * reference.
 */
void nhot_file_put(struct nhot_file *nf)
{
	kref_put(&nf->ref, nhot_file_free);
}

static int nhot_release(struct inode *inode, struct file *file)
{
	struct nhot_file *nf = file->private_data;

	/* cancels; a job the engine still holds keeps the file (orphan) */
	nhot_jobs_release_file(nf);
	nhot_bo_release_all(nf);	/* mappings keep their buffers */
	nhot_file_put(nf);
	return 0;
}

static int nhot_get_info(struct nhot_file *nf, void *arg)
{
	struct nhot_info *info = arg;
	struct nhot_device *ndev = nf->ndev;
	const struct nhot_limits *lim = &ndev->limits;
	struct nhot_stats stats;

	if (info->flags) {
		nhot_dbg(ndev, "GET_INFO: flags %#x\n", info->flags);
		return -EINVAL;
	}
	spin_lock_irq(&ndev->lock);
	stats = ndev->stats;
	spin_unlock_irq(&ndev->lock);

	info->abi_version = NHOT_ABI_VERSION;
	info->engine_kind = ndev->engine_kind;
	info->layer_types = GENMASK(NHOT_LAYER_TYPE_MAX, NHOT_LAYER_CONV2D);
	info->n_mask = GENMASK(NHOT_MAX_N, NHOT_MIN_N);
	info->b_mask = GENMASK(NHOT_MAX_B, NHOT_MIN_B);
	info->max_jobs_per_submit = lim->max_jobs_per_submit;
	info->max_buffers = lim->max_buffers;
	info->max_jobs = lim->max_jobs;
	info->max_buffer_bytes = lim->max_buffer_bytes;
	info->max_file_bytes = lim->max_file_bytes;
	info->pe_count = lim->pe_count;
	info->clock_mhz = lim->clock_mhz;
	info->jobs_submitted = stats.jobs_submitted;
	info->jobs_completed = stats.jobs_completed;
	info->jobs_failed = stats.jobs_failed;
	info->jobs_timed_out = stats.jobs_timed_out;
	info->macs = stats.macs;
	info->shift_adds = stats.shift_adds;
	info->cycles = stats.cycles;
	info->resets = stats.resets;
	return 0;
}

static int nhot_ioctl_bo_create(struct nhot_file *nf, void *arg)
{
	return nhot_bo_create(nf, arg);
}

static int nhot_ioctl_bo_destroy(struct nhot_file *nf, void *arg)
{
	return nhot_bo_destroy(nf, arg);
}

static int nhot_ioctl_submit(struct nhot_file *nf, void *arg)
{
	return nhot_submit(nf, arg);
}

static int nhot_ioctl_wait(struct nhot_file *nf, void *arg)
{
	return nhot_wait(nf, arg);
}

static int nhot_ioctl_job_status(struct nhot_file *nf, void *arg)
{
	return nhot_job_status(nf, arg);
}

union nhot_ioctl_buffer {
	struct nhot_info info;
	struct nhot_bo_create bo_create;
	struct nhot_bo_destroy bo_destroy;
	struct nhot_submit submit;
	struct nhot_wait wait;
	struct nhot_job_status_args job_status;
};

struct nhot_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct nhot_file *nf, void *arg);
};

/* min_size: the first version of the struct ends at its last field. */
#define IOCTL_OP(_ioctl, _fn, _struct, _last)				\
	{								\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

static const struct nhot_ioctl_op nhot_ioctl_ops[] = {
	IOCTL_OP(NHOT_IOCTL_GET_INFO, nhot_get_info, struct nhot_info, resets),
	IOCTL_OP(NHOT_IOCTL_BO_CREATE, nhot_ioctl_bo_create, struct nhot_bo_create,
		 mmap_offset),
	IOCTL_OP(NHOT_IOCTL_BO_DESTROY, nhot_ioctl_bo_destroy, struct nhot_bo_destroy,
		 pad),
	IOCTL_OP(NHOT_IOCTL_SUBMIT, nhot_ioctl_submit, struct nhot_submit, first_id),
	IOCTL_OP(NHOT_IOCTL_WAIT, nhot_ioctl_wait, struct nhot_wait, timeout_ns),
	IOCTL_OP(NHOT_IOCTL_JOB_STATUS, nhot_ioctl_job_status,
		 struct nhot_job_status_args, result_size),
};

static long nhot_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct nhot_file *nf = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct nhot_ioctl_op *op = NULL;
	union nhot_ioctl_buffer buf;
	u32 user_size;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(nhot_ioctl_ops); i++)
		if (nhot_ioctl_ops[i].ioctl_num == cmd)
			op = &nhot_ioctl_ops[i];
	if (!op) {
		nhot_dbg(nf->ndev, "unknown ioctl %#x\n", cmd);
		return -ENOTTY;
	}
	if (get_user(user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (user_size < op->min_size) {
		nhot_dbg(nf->ndev, "ioctl %#x: size %u < %u\n", cmd, user_size,
			 op->min_size);
		return -EINVAL;
	}
	ret = copy_struct_from_user(&buf, op->size, uarg, user_size);
	if (ret) {
		nhot_dbg(nf->ndev, "ioctl %#x: copy: %d\n", cmd, ret);
		return ret;
	}
	ret = op->execute(nf, &buf);
	if (ret)
		return ret;
	if ((_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uarg, &buf, min_t(u32, user_size, op->size)))
		return -EFAULT;
	return 0;
}

static int nhot_mmap(struct file *file, struct vm_area_struct *vma)
{
	return nhot_bo_mmap(file->private_data, vma);
}

static __poll_t nhot_poll(struct file *file, poll_table *wait)
{
	struct nhot_file *nf = file->private_data;

	poll_wait(file, &nf->wq, wait);
	return atomic_read(&nf->finished) > 0 ? EPOLLIN | EPOLLRDNORM : 0;
}

const struct file_operations nhot_fops = {
	.owner = THIS_MODULE,
	.open = nhot_open,
	.release = nhot_release,
	.unlocked_ioctl = nhot_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = nhot_mmap,
	.poll = nhot_poll,
};
