// SPDX-License-Identifier: GPL-2.0
/*
 * nhot file operations: open, release, the ioctl dispatch table, mmap, poll.
 *
 * An ioctl is found by its type and number (the table is indexed by
 * _IOC_NR) and must have the direction it shipped with; the size encoded in
 * the command is ignored, so a struct that grows keeps its number and the
 * commands of older headers still work (docs/uapi.md section 1).
 *
 * Every ioctl argument starts with "__u32 size".  The dispatch reads it,
 * refuses a struct shorter than the first version (-EINVAL) or larger than
 * NHOT_MAX_STRUCT_SIZE (-E2BIG), and copies the rest with
 * copy_struct_from_user(): a shorter struct is zero-extended, a longer one
 * must have an all-zero tail (else -E2BIG).  Results are copied back for the
 * ops that have them, no more bytes than userspace knows.
 */
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "nhot_drv.h"

/* The &nhot_info.caps this module reports. */
#define NHOT_CAPS	(NHOT_CAP_SIZE_FREE_IOCTLS | NHOT_CAP_NO_SIDE_EFFECTS | \
			 NHOT_CAP_WRITE_ACCESS)

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

static int nhot_get_info(struct nhot_file *nf, void *arg, void __user *uarg)
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
	info->caps = NHOT_CAPS;
	return 0;
}

static int nhot_ioctl_bo_create(struct nhot_file *nf, void *arg, void __user *uarg)
{
	return nhot_bo_create(nf, arg);
}

/* BO_CREATE's results could not be written back: the buffer goes again. */
static void nhot_ioctl_bo_create_undo(struct nhot_file *nf, void *arg)
{
	const struct nhot_bo_create *created = arg;
	struct nhot_bo_destroy destroy = {
		.size = sizeof(destroy),
		.handle = created->handle,
	};

	/* -ENOENT if another thread guessed the handle and destroyed it */
	nhot_bo_destroy(nf, &destroy);
}

static int nhot_ioctl_bo_destroy(struct nhot_file *nf, void *arg, void __user *uarg)
{
	return nhot_bo_destroy(nf, arg);
}

static int nhot_ioctl_submit(struct nhot_file *nf, void *arg, void __user *uarg)
{
	struct nhot_submit __user *usubmit = uarg;

	/* first_id is part of every version of the struct: min_size covers it */
	return nhot_submit(nf, arg, &usubmit->first_id);
}

static int nhot_ioctl_wait(struct nhot_file *nf, void *arg, void __user *uarg)
{
	return nhot_wait(nf, arg);
}

static int nhot_ioctl_job_status(struct nhot_file *nf, void *arg, void __user *uarg)
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

/**
 * struct nhot_ioctl_op - one ioctl of the dispatch table
 * @size: sizeof() the kernel's struct
 * @min_size: the size of the first version of the struct
 * @dir: the _IOC_DIR it shipped with; any other gets -ENOTTY
 * @needs_write: creates or destroys objects: only on a file opened for
 *	writing (-EBADF otherwise, as write(2) on a read-only file)
 * @copy_out: the struct has results for the dispatch to write back after
 *	@execute (SUBMIT writes its one result itself, before it queues)
 * @execute: does the work on the kernel copy of the argument; the user copy
 *	is passed for an op that writes results itself
 * @undo: for an op with @copy_out that leaves something behind: undoes it
 *	when the write-back faults, so that the failed call had no effect
 */
struct nhot_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int dir;
	bool needs_write;
	bool copy_out;
	int (*execute)(struct nhot_file *nf, void *arg, void __user *uarg);
	void (*undo)(struct nhot_file *nf, void *arg);
};

/* min_size: the first version of the struct ends at its last field. */
#define IOCTL_OP(_name, _fn, _struct, _last, _write, _copy_out, _undo)	\
	[_IOC_NR(NHOT_IOCTL_##_name)] = {				\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.dir = _IOC_DIR(NHOT_IOCTL_##_name),			\
		.needs_write = _write,					\
		.copy_out = _copy_out,					\
		.execute = _fn,						\
		.undo = _undo,						\
	}

/* GET_INFO's first version is what NHOT_IOCTL_GET_INFO_V1 encodes. */
static_assert(offsetofend(struct nhot_info, resets) == NHOT_INFO_SIZE_VER1);

/* Indexed by _IOC_NR; a hole (no @execute) is an unknown number. */
static const struct nhot_ioctl_op nhot_ioctl_ops[] = {
	IOCTL_OP(GET_INFO, nhot_get_info, struct nhot_info, resets,
		 false, true, NULL),
	IOCTL_OP(BO_CREATE, nhot_ioctl_bo_create, struct nhot_bo_create,
		 mmap_offset, true, true, nhot_ioctl_bo_create_undo),
	IOCTL_OP(BO_DESTROY, nhot_ioctl_bo_destroy, struct nhot_bo_destroy,
		 pad, true, false, NULL),
	IOCTL_OP(SUBMIT, nhot_ioctl_submit, struct nhot_submit, first_id,
		 true, false, NULL),
	IOCTL_OP(WAIT, nhot_ioctl_wait, struct nhot_wait, timeout_ns,
		 false, false, NULL),
	/* the results go to results_ptr: nothing in the struct itself */
	IOCTL_OP(JOB_STATUS, nhot_ioctl_job_status,
		 struct nhot_job_status_args, result_size, false, false, NULL),
};

/* The op of cmd by type, number and direction, whatever size it encodes. */
static const struct nhot_ioctl_op *nhot_ioctl_find(unsigned int cmd)
{
	const struct nhot_ioctl_op *op;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != NHOT_IOCTL_TYPE || nr >= ARRAY_SIZE(nhot_ioctl_ops))
		return NULL;
	op = &nhot_ioctl_ops[array_index_nospec(nr, ARRAY_SIZE(nhot_ioctl_ops))];
	if (!op->execute || _IOC_DIR(cmd) != op->dir)
		return NULL;
	return op;
}

static long nhot_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct nhot_file *nf = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct nhot_ioctl_op *op;
	union nhot_ioctl_buffer buf;
	u32 user_size;
	int ret;

	op = nhot_ioctl_find(cmd);
	if (!op) {
		nhot_dbg(nf->ndev, "unknown ioctl %#x\n", cmd);
		return -ENOTTY;
	}
	if (op->needs_write && !(file->f_mode & FMODE_WRITE)) {
		nhot_dbg(nf->ndev, "ioctl %#x: file not open for writing\n", cmd);
		return -EBADF;
	}
	if (get_user(user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (user_size < op->min_size) {
		nhot_dbg(nf->ndev, "ioctl %#x: size %u < %u\n", cmd, user_size,
			 op->min_size);
		return -EINVAL;
	}
	if (user_size > NHOT_MAX_STRUCT_SIZE) {
		nhot_dbg(nf->ndev, "ioctl %#x: size %u > %u\n", cmd, user_size,
			 NHOT_MAX_STRUCT_SIZE);
		return -E2BIG;
	}
	ret = copy_struct_from_user(&buf, op->size, uarg, user_size);
	if (ret) {
		nhot_dbg(nf->ndev, "ioctl %#x: copy: %d\n", cmd, ret);
		return ret;
	}
	ret = op->execute(nf, &buf, uarg);
	if (ret)
		return ret;
	if (op->copy_out &&
	    copy_to_user(uarg, &buf, min_t(u32, user_size, op->size))) {
		nhot_dbg(nf->ndev, "ioctl %#x: results not writable\n", cmd);
		if (op->undo)
			op->undo(nf, &buf);
		return -EFAULT;
	}
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
