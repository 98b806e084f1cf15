/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nhot.ko private definitions: devices, open files, buffer objects, jobs.
 *
 * Lifetimes:
 *  - struct nhot_device is refcounted; every open file holds a reference, so a
 *    device can be removed (engine stopped, /dev node gone) with files open.
 *  - struct nhot_bo is refcounted: the file's handle table, every mapping and
 *    every job that uses it hold a reference.
 *  - struct nhot_file is refcounted: the open file holds one reference until
 *    release(), and a running job whose file was closed (an orphan) holds
 *    one until the engine lets go of it, so that the job's end can still
 *    touch the file's wait queue and counters.  The file holds a device
 *    reference, so the device outlives the orphan too.
 *  - struct nhot_kjob is refcounted: the file's id table holds one reference
 *    until the job is released or the file closes; a waiter holds one while
 *    it sleeps.  release() does not wait for the engine: it cancels the
 *    file's queued jobs, asks the engine to cancel its running one and
 *    hands that job a reference of its own (it becomes an orphan).  The
 *    job's end (completion, cancel, timeout or reset: any context, device
 *    lock held) queues the orphan on &nhot_device.orphans, and
 *    &nhot_device.orphan_work drops both references in process context.
 *    Device removal (nhot_device_stop_jobs()) ends the running job and
 *    flushes that work before the engine is destroyed, and the module
 *    unloads only after every device is removed: no orphan outlives them.
 *
 * Lock order: nhot_devices_lock (dev.c, mutex) -> nhot_file.lock (mutex) ->
 * nhot_device.lock (spinlock, taken with interrupts off: the completion path
 * may run in hard-irq context).  netlink.c's nhot_nl_sem (rwsem) comes after
 * nhot_devices_lock (a device's DEV_ADD_NTF is sent under it) and before
 * nhot_device.lock.
 */
#ifndef _NHOT_DRV_H
#define _NHOT_DRV_H

#include <linux/device.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/nhot.h>

#include "model/nhot_model.h"

struct dentry;
struct nhot_kjob;
struct nhot_engine_ops;

/* Per-file limits and the cycle model; module parameters, shown by GET_INFO. */
struct nhot_limits {
	u32 max_jobs_per_submit;
	u32 max_jobs;
	u32 max_buffers;
	u64 max_buffer_bytes;
	u64 max_file_bytes;
	u32 timeout_ms;
	u32 pe_count;
	u32 clock_mhz;
};

/* Kinds of live objects, counted for leak checks (debugfs "objects"). */
enum nhot_object_kind {
	NHOT_OBJ_DEVICES,	/* module-wide only */
	NHOT_OBJ_FILES,
	NHOT_OBJ_BOS,
	NHOT_OBJ_JOBS,
	NHOT_OBJ_MAPPINGS,	/* VMAs mapping a buffer object */
	NHOT_OBJ_KINDS,
};

/*
 * Live objects of one kind each: allocated and not freed (open and not
 * released).  Atomic: each object's constructor and destructor count it,
 * whatever the locks held there.  Each device has a set; the module has
 * nhot_objects_total, which no device outlives.
 */
struct nhot_objects {
	atomic_t live[NHOT_OBJ_KINDS];
};

extern struct nhot_objects nhot_objects_total;

static inline void nhot_objects_inc(struct nhot_objects *objs, enum nhot_object_kind kind)
{
	atomic_inc(&objs->live[kind]);
	atomic_inc(&nhot_objects_total.live[kind]);
}

static inline void nhot_objects_dec(struct nhot_objects *objs, enum nhot_object_kind kind)
{
	atomic_dec(&objs->live[kind]);
	atomic_dec(&nhot_objects_total.live[kind]);
}

struct nhot_stats {
	u64 jobs_submitted;
	u64 jobs_completed;
	u64 jobs_failed;
	u64 jobs_timed_out;
	u64 macs;
	u64 shift_adds;
	u64 cycles;
	u64 busy_ns;		/* sum of end - start of the jobs that ran */
	u64 resets;
	u64 events_dropped;	/* job-fail notifications dropped (netlink.c) */
};

/* A job-fail notification waiting for nhot_device.event_work (netlink.c). */
struct nhot_job_event {
	u64 job_id;
	u32 status;
	s32 error;
};

/* Most job-fail notifications pending per device; more are dropped. */
#define NHOT_JOB_EVENTS_MAX	16

/**
 * struct nhot_device - one engine and its /dev/nhotN
 * @ref: the device list, every open file
 * @id: N of /dev/nhotN
 * @node: in the list of devices (dev.c)
 * @name: "nhotN"
 * @misc: the character device
 * @dev: its struct device, referenced until the device is freed (messages)
 * @limits: per-file limits, fixed at creation, and the cycle model (pe_count,
 *	clock_mhz: changed by netlink DEV_SET under @lock, read with READ_ONCE)
 * @engine_kind: an &enum nhot_engine_kind
 * @ops: the engine backend
 * @engine: the backend's private data
 * @bus: where the engine sits: dev_name() of its PCI function, "" when simulated
 * @debugfs: the device's debugfs folder
 * @timeout_work: fails a job that runs past its deadline
 * @idle_wq: woken whenever the running job changes
 * @event_work: sends the queued job-fail notifications (netlink.c)
 * @orphan_work: frees the orphans that ended (job.c)
 * @lock: protects the fields below and the status and results of every job
 *	of this device
 * @queue: jobs accepted, not started, in submission order
 * @running: the job on the engine, or NULL
 * @run_seq: incremented at each job start; names the running job
 * @deadline_ns: when the running job times out
 * @removed: the device is gone: no new jobs
 * @resetting: a reset is in progress: no job starts or completes
 * @timeout_ms: job timeout (debugfs, netlink DEV_SET)
 * @hang_jobs: the next that many jobs started hang (debugfs)
 * @stats: counters of GET_INFO
 * @nr_events: job-fail notifications queued in @events
 * @events: job-fail notifications for @event_work to send
 * @orphans: jobs of closed files that ended, for @orphan_work to free
 * @objects: live objects of this device (debugfs "objects")
 */
struct nhot_device {
	struct kref ref;
	int id;
	struct list_head node;
	char name[16];
	struct miscdevice misc;
	struct device *dev;
	struct nhot_limits limits;
	u32 engine_kind;
	const struct nhot_engine_ops *ops;
	void *engine;
	char bus[32];
	struct dentry *debugfs;
	struct delayed_work timeout_work;
	wait_queue_head_t idle_wq;
	struct work_struct event_work;
	struct work_struct orphan_work;

	spinlock_t lock;		/* protects the fields below */
	struct list_head queue;
	struct nhot_kjob *running;
	u64 run_seq;
	u64 deadline_ns;
	bool removed;
	bool resetting;
	u32 timeout_ms;
	u32 hang_jobs;
	struct nhot_stats stats;
	u32 nr_events;
	struct nhot_job_event events[NHOT_JOB_EVENTS_MAX];
	struct list_head orphans;
	struct nhot_objects objects;
};

/**
 * struct nhot_file - one open /dev/nhotN
 * @ref: the open file, an orphaned job (see the top of this file)
 * @ndev: the device (a reference)
 * @bos: handle -> struct nhot_bo; the table holds one reference each
 * @jobs: id -> struct nhot_kjob; the table holds one reference each
 * @wq: woken when one of this file's jobs finishes (WAIT, poll)
 * @finished: jobs finished and not released (poll)
 * @lock: protects the fields below
 * @next_handle: cursor of the cyclic handle allocator
 * @bo_account: what the file's buffers count against its limits (a
 *	reference; NULL until the first BO_CREATE)
 * @next_id: id of the next job
 * @held_jobs: jobs in @jobs
 */
struct nhot_file {
	struct kref ref;
	struct nhot_device *ndev;
	struct xarray bos;
	struct xarray jobs;
	wait_queue_head_t wq;
	atomic_t finished;

	struct mutex lock;	/* protects the fields below */
	u32 next_handle;
	struct nhot_bo_account *bo_account;
	u64 next_id;
	u32 held_jobs;
};

/**
 * struct nhot_bo_account - the buffers of one open file, for its limits
 * @ref: the file (until it closes) and each of its buffers (until freed)
 * @nr_bos: buffers the file created whose memory is not freed yet
 *	(max_buffers)
 * @bytes: the sum of their lengths (max_file_bytes)
 *
 * A buffer outlives its handle (mappings, jobs) and can outlive its file
 * (mappings): it counts here until its last reference is gone.  Atomic:
 * buffers are freed without any lock of the file.
 */
struct nhot_bo_account {
	struct kref ref;
	atomic_t nr_bos;
	atomic64_t bytes;
};

/**
 * struct nhot_bo - a buffer object: zeroed pages shared with userspace
 * @ref: the handle table, mappings, jobs
 * @ndev: the device (a reference; counts the buffer in its objects)
 * @account: its file's account (a reference)
 * @handle: its handle in the file's table; its mmap offset in pages
 * @pages: @nr_pages pages, charged to the creator's memory cgroup
 * @nr_pages: @size in pages
 * @vaddr: kernel address: @pages vmap()ed (vmalloc_to_page() works on it)
 * @length: bytes asked for
 * @size: bytes allocated (whole pages)
 */
struct nhot_bo {
	struct kref ref;
	struct nhot_device *ndev;
	struct nhot_bo_account *account;
	u32 handle;
	struct page **pages;
	unsigned long nr_pages;
	void *vaddr;
	u64 length;
	size_t size;
};

enum nhot_buf_slot {
	NHOT_BUF_INPUT,
	NHOT_BUF_INPUT2,
	NHOT_BUF_WEIGHTS,
	NHOT_BUF_PARAMS,
	NHOT_BUF_OUTPUT,
	NHOT_BUF_COUNT,
};

struct nhot_job_buf {
	struct nhot_bo *bo;	/* a reference, NULL when the layer uses none */
	u64 offset;
	u64 bytes;
};

/**
 * struct nhot_kjob - the kernel object of one job (struct nhot_job is the uapi descriptor)
 * @ref: the file's id table, waiters, the engine once the file is closed
 * @node: in &nhot_device.queue while queued, in &nhot_device.orphans once
 *	an orphan ended
 * @nfile: the file that submitted it
 * @id: its id in that file
 * @layer: the validated descriptor
 * @buf: the buffers it reads and writes
 * @cancel: set (under the device lock) when it should stop early
 * @orphan: its file was closed while it ran (device lock)
 * @status: an &enum nhot_job_status; written under the device lock
 * @error: 0 or a negative errno
 * @counters: what the engine counted
 * @queued_ns: submission time
 * @start_ns: start time, 0 if it never started
 * @end_ns: end time, 0 while not finished
 * @work: the job's work (job.c's deadline), from its shape at SUBMIT
 * @engine_data: the engine's per-job state (&nhot_engine_ops.prepare)
 */
struct nhot_kjob {
	struct kref ref;
	struct list_head node;
	struct nhot_file *nfile;
	u64 id;
	struct nhot_layer layer;
	struct nhot_job_buf buf[NHOT_BUF_COUNT];
	bool cancel;
	bool orphan;
	u32 status;
	s32 error;
	struct nhot_model_counters counters;
	u64 queued_ns;
	u64 start_ns;
	u64 end_ns;
	u64 work;
	void *engine_data;
};

/* Every rejection is logged for dynamic debug, with the device's name. */
#define nhot_dbg(ndev, fmt, ...) dev_dbg((ndev)->dev, fmt, ##__VA_ARGS__)

static inline bool nhot_job_final(u32 status)
{
	return status >= NHOT_JOB_DONE;
}

/* Largest max_devices (main.c): below what 6.1's misc minors can give. */
#define NHOT_MAX_DEVICES	64

/* main.c: module parameters */
void nhot_default_limits(struct nhot_limits *limits);
unsigned int nhot_max_devices(void);
u64 nhot_max_total_bytes(void);

/* dev.c */
struct nhot_device *nhot_device_create(u32 engine_kind);
struct nhot_device *nhot_device_create_engine(u32 engine_kind, struct device *parent,
					      int (*attach)(struct nhot_device *ndev,
							    void *data),
					      void *data);
void nhot_device_remove(struct nhot_device *ndev);

/* A simulated engine's cycle model and timeout; 0: the module parameter. */
struct nhot_sim_cfg {
	u32 pe_count;
	u32 clock_mhz;
	u32 timeout_ms;
};

struct nhot_device *nhot_device_create_sim(const struct nhot_sim_cfg *cfg);
int nhot_device_remove_sim(u32 id);
struct nhot_device *nhot_device_get_by_id(u32 id);
struct nhot_device *nhot_device_get_next(unsigned long id);
void nhot_device_remove_all(void);
void nhot_device_put(struct nhot_device *ndev);

/* file.c */
extern const struct file_operations nhot_fops;
void nhot_file_put(struct nhot_file *nf);

/* bo.c */
int nhot_bo_create(struct nhot_file *nf, struct nhot_bo_create *args);
int nhot_bo_destroy(struct nhot_file *nf, struct nhot_bo_destroy *args);
struct nhot_bo *nhot_bo_lookup(struct nhot_file *nf, u32 handle);
void nhot_bo_put(struct nhot_bo *bo);
int nhot_bo_mmap(struct nhot_file *nf, struct vm_area_struct *vma);
void nhot_bo_release_all(struct nhot_file *nf);

/* job.c */
void nhot_device_jobs_init(struct nhot_device *ndev);
int nhot_submit(struct nhot_file *nf, struct nhot_submit *args, u64 __user *ufirst_id);
int nhot_wait(struct nhot_file *nf, struct nhot_wait *args);
int nhot_job_status(struct nhot_file *nf, struct nhot_job_status_args *args);
void nhot_jobs_release_file(struct nhot_file *nf);
void nhot_device_stop_jobs(struct nhot_device *ndev);

/* debugfs.c */
void nhot_debugfs_init(void);
void nhot_debugfs_exit(void);
void nhot_debugfs_add_device(struct nhot_device *ndev);
void nhot_debugfs_remove_device(struct nhot_device *ndev);

#endif /* _NHOT_DRV_H */
