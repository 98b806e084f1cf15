// SPDX-License-Identifier: GPL-2.0
/*
 * nhot jobs, independent of the engine: validation, the device queue,
 * submission, completion, the per-job timeout and reset, cancellation on
 * close, WAIT, JOB_STATUS and the counters.
 *
 * A device runs one job at a time from a FIFO of all its files' jobs, so the
 * jobs of one file run in submission order.  Each job ends exactly once, under
 * the device lock, in one of the final statuses; that is where the counters
 * are summed and the file's waiters are woken.
 */
#include <linux/ktime.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "engine.h"
#include "netlink.h"
#include "nhot_drv.h"
#include "trace.h"

static void nhot_job_timeout_work(struct work_struct *work);
static void nhot_orphan_work(struct work_struct *work);

void nhot_device_jobs_init(struct nhot_device *ndev)
{
	spin_lock_init(&ndev->lock);
	INIT_LIST_HEAD(&ndev->queue);
	INIT_LIST_HEAD(&ndev->orphans);
	init_waitqueue_head(&ndev->idle_wq);
	INIT_DELAYED_WORK(&ndev->timeout_work, nhot_job_timeout_work);
	INIT_WORK(&ndev->orphan_work, nhot_orphan_work);
}

static void nhot_job_free(struct kref *ref)
{
	struct nhot_kjob *job = container_of(ref, struct nhot_kjob, ref);
	struct nhot_device *ndev = job->nfile->ndev;
	int i;

	/* the engine lets go of the pages before they can be freed */
	if (job->engine_data)
		ndev->ops->unprepare(ndev, job);
	for (i = 0; i < NHOT_BUF_COUNT; i++)
		if (job->buf[i].bo)
			nhot_bo_put(job->buf[i].bo);
	/* the file outlives its jobs: an orphan holds a reference to it */
	nhot_objects_dec(&job->nfile->ndev->objects, NHOT_OBJ_JOBS);
	kfree(job);
}

static void nhot_job_put(struct nhot_kjob *job)
{
	kref_put(&job->ref, nhot_job_free);
}

/* ---- the queue and the engine (device lock held) --------------------- */

/* The job ends: status, counters, waiters.  Called once per job. */
static void nhot_job_end(struct nhot_device *ndev, struct nhot_kjob *job,
			 u32 status, int error)
{
	struct nhot_stats *st = &ndev->stats;

	lockdep_assert_held(&ndev->lock);
	job->error = error;
	job->end_ns = ktime_get_ns();
	switch (status) {
	case NHOT_JOB_DONE:
		st->jobs_completed++;
		break;
	case NHOT_JOB_FAILED:
		st->jobs_failed++;
		break;
	case NHOT_JOB_TIMEDOUT:
		st->jobs_timed_out++;
		break;
	}
	st->macs += job->counters.macs;
	st->shift_adds += job->counters.shift_adds;
	st->cycles += job->counters.cycles;
	if (job->start_ns)
		st->busy_ns += job->end_ns - job->start_ns;
	if (status == NHOT_JOB_DONE)
		trace_nhot_job_complete(ndev->id, job->id, job->counters.cycles);
	else
		trace_nhot_job_error(ndev->id, job->id, status, error);
	WRITE_ONCE(job->status, status);
	if (status == NHOT_JOB_FAILED || status == NHOT_JOB_TIMEDOUT)
		nhot_nl_job_failed(ndev, job);
	atomic_inc(&job->nfile->finished);
	wake_up_all(&job->nfile->wq);
	/* the engine let go of a closed file's job: free it in process context */
	if (job->orphan) {
		list_add_tail(&job->node, &ndev->orphans);
		schedule_work(&ndev->orphan_work);
	}
}

/* Drops the references of the orphans that ended: the job's, then its file's. */
static void nhot_orphan_work(struct work_struct *work)
{
	struct nhot_device *ndev = container_of(work, struct nhot_device, orphan_work);
	struct nhot_kjob *job, *tmp;
	LIST_HEAD(ended);

	spin_lock_irq(&ndev->lock);
	list_splice_init(&ndev->orphans, &ended);
	spin_unlock_irq(&ndev->lock);
	list_for_each_entry_safe(job, tmp, &ended, node) {
		struct nhot_file *nf = job->nfile;

		list_del_init(&job->node);
		nhot_job_put(job);
		/* never the device's last reference: see nhot_device_stop_jobs() */
		nhot_file_put(nf);
	}
}

/*
 * What a job may take on top of the engine's timeout_ms: its work at the rate
 * of the slowest engine it may meet, a software one (the simulated engine or
 * nhot-emu) on a loaded 2-core TCG guest, which ran 7..28 products a
 * microsecond; docs/uapi.md section 3.
 */
#define NHOT_JOB_WORK_NS	1000	/* ns per unit of work */

/*
 * A job's work: its products (CONV2D, FC), the window positions of its
 * outputs (AVGPOOL, MAXPOOL), and every input and output element once.
 */
static u64 nhot_job_work(const struct nhot_layer *layer,
			 const struct nhot_model_shape *shape)
{
	u64 window = 1;

	if (layer->type == NHOT_LAYER_AVGPOOL || layer->type == NHOT_LAYER_MAXPOOL)
		window = (u64)layer->kernel_h * layer->kernel_w;
	return shape->macs + shape->input_bytes + shape->input2_bytes +
	       shape->output_bytes * window;
}

/* start + timeout_ms + the job's work allowance, saturated. */
static u64 nhot_job_deadline(const struct nhot_device *ndev, const struct nhot_kjob *job)
{
	u64 allowance, deadline;

	if (check_mul_overflow(job->work, (u64)NHOT_JOB_WORK_NS,
			       &allowance) ||
	    check_add_overflow(job->start_ns, (u64)ndev->timeout_ms * NSEC_PER_MSEC,
			       &deadline) ||
	    check_add_overflow(deadline, allowance, &deadline))
		return U64_MAX;
	return deadline;
}

/* Fires the timeout work at @deadline_ns, or re-arms it from there. */
static void nhot_arm_timeout(struct nhot_device *ndev, u64 deadline_ns, u64 now)
{
	/* the work re-arms itself for a deadline farther than an hour */
	u64 delay = min_t(u64, deadline_ns - now, 3600ULL * NSEC_PER_SEC);

	mod_delayed_work(system_wq, &ndev->timeout_work, nsecs_to_jiffies(delay) + 1);
}

static void nhot_start_next(struct nhot_device *ndev)
{
	struct nhot_kjob *job;
	bool hang = false;

	lockdep_assert_held(&ndev->lock);
	if (ndev->running || ndev->resetting || ndev->removed)
		return;
	job = list_first_entry_or_null(&ndev->queue, struct nhot_kjob, node);
	if (!job)
		return;
	list_del_init(&job->node);
	ndev->running = job;
	ndev->run_seq++;
	job->start_ns = ktime_get_ns();
	ndev->deadline_ns = nhot_job_deadline(ndev, job);
	WRITE_ONCE(job->status, NHOT_JOB_RUNNING);
	if (ndev->hang_jobs) {
		ndev->hang_jobs--;
		hang = true;
	}
	trace_nhot_job_start(ndev->id, job->id, hang);
	nhot_arm_timeout(ndev, ndev->deadline_ns, job->start_ns);
	ndev->ops->start(ndev, job, hang);
}

static int nhot_job_error_status(int error, u32 *status)
{
	switch (error) {
	case 0:
		*status = NHOT_JOB_DONE;
		return 0;
	case -ECANCELED:
		*status = NHOT_JOB_CANCELLED;
		return error;
	case -EILSEQ:
	case -EOVERFLOW:
	case -ENODEV:
		*status = NHOT_JOB_FAILED;
		return error;
	default:
		*status = NHOT_JOB_FAILED;
		return -EIO;
	}
}

/**
 * nhot_engine_job_done() - the engine reports the end of a job
 * @ndev: the device
 * @job: the job it was given
 * @error: 0, -ECANCELED, or what went wrong
 * @counters: what it did
 *
 * Runs the way an interrupt handler would: any context.  A report for a job
 * that is no longer running (timed out meanwhile) or during a reset is
 * dropped: that job's end belongs to the reset.
 */
void nhot_engine_job_done(struct nhot_device *ndev, struct nhot_kjob *job,
			  int error, const struct nhot_model_counters *counters)
{
	unsigned long flags;
	u32 status;

	spin_lock_irqsave(&ndev->lock, flags);
	if (ndev->running == job && !ndev->resetting) {
		job->counters = *counters;
		error = nhot_job_error_status(error, &status);
		ndev->running = NULL;
		nhot_job_end(ndev, job, status, error);
		cancel_delayed_work(&ndev->timeout_work);
		wake_up_all(&ndev->idle_wq);
		nhot_start_next(ndev);
	}
	spin_unlock_irqrestore(&ndev->lock, flags);
}

/*
 * Resets the engine (ndev->resetting set by the caller, dropped here) and
 * ends the job that was running at run_seq @seq, if it still is, with
 * @status and @error; then starts the jobs behind it.  With @notify the
 * monitor hears of it (RESET_NTF); a device's removal resets silently.
 */
static void nhot_reset_engine(struct nhot_device *ndev, u64 seq, u32 status,
			      int error, bool notify)
{
	struct nhot_kjob *job;

	ndev->ops->reset(ndev);

	spin_lock_irq(&ndev->lock);
	ndev->stats.resets++;
	ndev->resetting = false;
	if (ndev->running && ndev->run_seq == seq) {
		job = ndev->running;
		ndev->running = NULL;
		nhot_job_end(ndev, job, status, error);
	}
	wake_up_all(&ndev->idle_wq);
	nhot_start_next(ndev);
	spin_unlock_irq(&ndev->lock);
	if (notify)
		nhot_nl_notify_dev(ndev, NHOT_CMD_RESET_NTF);
}

/*
 * A job ran past its deadline: reset the engine, fail the job TIMEDOUT, and
 * start the jobs behind it.  The timer is re-armed for a job that started
 * after it was set.
 */
static void nhot_job_timeout_work(struct work_struct *work)
{
	struct nhot_device *ndev = container_of(to_delayed_work(work),
						struct nhot_device, timeout_work);
	struct nhot_kjob *job;
	u64 now = ktime_get_ns(), seq;

	spin_lock_irq(&ndev->lock);
	job = ndev->running;
	if (!job || ndev->resetting) {
		spin_unlock_irq(&ndev->lock);
		return;
	}
	if (now < ndev->deadline_ns) {
		nhot_arm_timeout(ndev, ndev->deadline_ns, now);
		spin_unlock_irq(&ndev->lock);
		return;
	}
	seq = ndev->run_seq;
	ndev->resetting = true;
	spin_unlock_irq(&ndev->lock);

	nhot_dbg(ndev, "job %llu timed out: engine reset\n", job->id);
	nhot_reset_engine(ndev, seq, NHOT_JOB_TIMEDOUT, -ETIMEDOUT, true);
}

void nhot_engine_failed(struct nhot_device *ndev, int error)
{
	u64 seq;

	spin_lock_irq(&ndev->lock);
	if (ndev->resetting) {
		spin_unlock_irq(&ndev->lock);
		return;
	}
	/* no job, or a finished one: the reset ends nothing */
	seq = ndev->running ? ndev->run_seq : ndev->run_seq + 1;
	ndev->resetting = true;
	spin_unlock_irq(&ndev->lock);

	nhot_dbg(ndev, "engine failed (%d): engine reset\n", error);
	nhot_reset_engine(ndev, seq, NHOT_JOB_FAILED, error, true);
}

/* ---- SUBMIT ---------------------------------------------------------- */

/*
 * One step of a loop over up to max_jobs user entries: yields the CPU, and
 * stops a task that is being killed (-EINTR; it never sees the errno).
 */
static int nhot_killable_step(void)
{
	if (fatal_signal_pending(current))
		return -EINTR;
	cond_resched();
	return 0;
}

/* Takes the buffer a job slot names, checking handle, pad and range. */
static int nhot_job_take_buf(struct nhot_file *nf, struct nhot_kjob *job,
			     enum nhot_buf_slot slot, const struct nhot_bufref *ref,
			     u64 bytes)
{
	struct nhot_device *ndev = nf->ndev;
	struct nhot_bo *bo;
	u64 end;

	if (ref->pad) {
		nhot_dbg(ndev, "SUBMIT: buffer %d: pad %#x\n", slot, ref->pad);
		return -EINVAL;
	}
	if (!bytes) {
		if (ref->handle || ref->offset) {
			nhot_dbg(ndev, "SUBMIT: buffer %d: set, the layer uses none\n", slot);
			return -EINVAL;
		}
		return 0;
	}
	bo = ref->handle ? nhot_bo_lookup(nf, ref->handle) : NULL;
	if (!bo) {
		nhot_dbg(ndev, "SUBMIT: buffer %d: no handle %u\n", slot, ref->handle);
		return -ENOENT;
	}
	job->buf[slot].bo = bo;		/* put with the job */
	if (check_add_overflow(ref->offset, bytes, &end) || end > bo->length) {
		nhot_dbg(ndev, "SUBMIT: buffer %d: %llu bytes at %llu > length %llu\n",
			 slot, bytes, ref->offset, bo->length);
		return -ERANGE;
	}
	job->buf[slot].offset = ref->offset;
	job->buf[slot].bytes = bytes;
	return 0;
}

/* Copies one job from userspace and validates it completely. */
static int nhot_job_create(struct nhot_file *nf, const void __user *ujob,
			   u32 job_size, struct nhot_kjob **out)
{
	struct nhot_device *ndev = nf->ndev;
	struct nhot_model_shape shape;
	struct nhot_kjob *job;
	struct nhot_job uj;
	int ret;

	ret = copy_struct_from_user(&uj, sizeof(uj), ujob, job_size);
	if (ret) {
		nhot_dbg(ndev, "SUBMIT: job copy: %d\n", ret);
		return ret;
	}
	if (uj.flags || uj.pad) {
		nhot_dbg(ndev, "SUBMIT: job flags %#x pad %#x\n", uj.flags, uj.pad);
		return -EINVAL;
	}
	ret = nhot_model_check(&uj.layer, &shape);
	if (ret) {
		nhot_dbg(ndev, "SUBMIT: layer type %u rejected: %d\n", uj.layer.type, ret);
		return ret;
	}

	job = kzalloc(sizeof(*job), GFP_KERNEL_ACCOUNT);
	if (!job)
		return -ENOMEM;
	kref_init(&job->ref);
	INIT_LIST_HEAD(&job->node);
	job->nfile = nf;
	nhot_objects_inc(&ndev->objects, NHOT_OBJ_JOBS);
	job->layer = uj.layer;
	job->work = nhot_job_work(&uj.layer, &shape);
	job->status = NHOT_JOB_QUEUED;
	ret = nhot_job_take_buf(nf, job, NHOT_BUF_INPUT, &uj.input, shape.input_bytes);
	if (!ret)
		ret = nhot_job_take_buf(nf, job, NHOT_BUF_INPUT2, &uj.input2,
					shape.input2_bytes);
	if (!ret)
		ret = nhot_job_take_buf(nf, job, NHOT_BUF_WEIGHTS, &uj.weights,
					shape.weight_bytes);
	if (!ret)
		ret = nhot_job_take_buf(nf, job, NHOT_BUF_PARAMS, &uj.params,
					shape.params_bytes);
	if (!ret)
		ret = nhot_job_take_buf(nf, job, NHOT_BUF_OUTPUT, &uj.output,
					shape.output_bytes);
	if (!ret && ndev->ops->prepare)
		ret = ndev->ops->prepare(ndev, job);
	if (ret) {
		nhot_job_put(job);
		return ret;
	}
	*out = job;
	return 0;
}

static void nhot_jobs_put(struct nhot_kjob **jobs, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		if (jobs[i])
			nhot_job_put(jobs[i]);
}

/*
 * Writes the first id to userspace, file lock held, before any job is
 * visible.  Page faults are off: a fault takes mmap_lock, which must not
 * nest inside the file lock; -EFAULT here may only mean "not resident", and
 * nhot_jobs_queue() faults the page in without the lock and tries again.
 */
static int nhot_put_first_id_nofault(u64 __user *ufirst_id, u64 first_id)
{
	int ret;

	pagefault_disable();
	ret = put_user(first_id, ufirst_id);
	pagefault_enable();
	return ret;
}

/*
 * Gives the jobs their ids, tells userspace the first one, and queues them,
 * in order, all or none: on error no job is visible and nf->next_id is
 * unchanged.  Called with the file lock, held across the queueing so that
 * ids follow the queue order.
 */
static int nhot_jobs_queue_locked(struct nhot_file *nf, struct nhot_kjob **jobs,
				  u32 count, u64 __user *ufirst_id)
{
	struct nhot_device *ndev = nf->ndev;
	u64 now = ktime_get_ns();
	u32 i;
	int ret;

	lockdep_assert_held(&nf->lock);
	if (nf->held_jobs + count > ndev->limits.max_jobs) {
		nhot_dbg(ndev, "SUBMIT: file holds %u jobs, %u more > %u\n",
			 nf->held_jobs, count, ndev->limits.max_jobs);
		return -EBUSY;
	}
	ret = nhot_put_first_id_nofault(ufirst_id, nf->next_id);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		jobs[i]->id = nf->next_id + i;
		jobs[i]->queued_ns = now;
		ret = xa_insert(&nf->jobs, jobs[i]->id, jobs[i], GFP_KERNEL_ACCOUNT);
		if (ret)
			goto err_erase;
	}

	spin_lock_irq(&ndev->lock);
	if (ndev->removed) {
		spin_unlock_irq(&ndev->lock);
		nhot_dbg(ndev, "SUBMIT: device removed\n");
		ret = -ENODEV;
		goto err_erase;
	}
	for (i = 0; i < count; i++) {
		list_add_tail(&jobs[i]->node, &ndev->queue);
		trace_nhot_job_submit(ndev->id, jobs[i]->id, jobs[i]->layer.type);
	}
	ndev->stats.jobs_submitted += count;
	nhot_start_next(ndev);
	spin_unlock_irq(&ndev->lock);

	nf->next_id += count;
	nf->held_jobs += count;
	return 0;

err_erase:
	while (i--)
		xa_erase(&nf->jobs, jobs[i]->id);
	return ret;
}

/*
 * Queues the jobs (nhot_jobs_queue_locked()); the first id must reach
 * userspace first, so a page of *ufirst_id that is not resident is faulted
 * in without the file lock and the queueing tried again.  -EFAULT when it
 * cannot be written: then nothing is queued and no id used.
 */
static int nhot_jobs_queue(struct nhot_file *nf, struct nhot_kjob **jobs, u32 count,
			   u64 __user *ufirst_id)
{
	int ret;

	for (;;) {
		mutex_lock(&nf->lock);
		ret = nhot_jobs_queue_locked(nf, jobs, count, ufirst_id);
		mutex_unlock(&nf->lock);
		if (ret != -EFAULT)
			return ret;
		if (fault_in_writeable((char __user *)ufirst_id, sizeof(*ufirst_id))) {
			nhot_dbg(nf->ndev, "SUBMIT: first_id not writable\n");
			return -EFAULT;
		}
		ret = nhot_killable_step();
		if (ret)
			return ret;
	}
}

/**
 * nhot_submit() - NHOT_IOCTL_SUBMIT
 * @nf: the file
 * @args: the kernel copy of the argument
 * @ufirst_id: where userspace wants the first id (&args->first_id in its
 *	copy): written before the jobs are queued, so that a fault leaves none
 *
 * Return: 0, or a negative errno of docs/uapi.md and nothing queued.
 */
int nhot_submit(struct nhot_file *nf, struct nhot_submit *args, u64 __user *ufirst_id)
{
	struct nhot_device *ndev = nf->ndev;
	const u8 __user *ujobs = u64_to_user_ptr(args->jobs_ptr);
	struct nhot_kjob **jobs;
	u32 i;
	int ret;

	if (args->flags) {
		nhot_dbg(ndev, "SUBMIT: flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (!args->job_count || args->job_count > ndev->limits.max_jobs_per_submit) {
		nhot_dbg(ndev, "SUBMIT: job_count %u\n", args->job_count);
		return -EINVAL;
	}
	if (args->job_size < offsetofend(struct nhot_job, output)) {
		nhot_dbg(ndev, "SUBMIT: job_size %u\n", args->job_size);
		return -EINVAL;
	}
	if (args->job_size > NHOT_MAX_STRUCT_SIZE) {
		nhot_dbg(ndev, "SUBMIT: job_size %u > %u\n", args->job_size,
			 NHOT_MAX_STRUCT_SIZE);
		return -E2BIG;
	}
	if (READ_ONCE(ndev->removed)) {
		nhot_dbg(ndev, "SUBMIT: device removed\n");
		return -ENODEV;
	}

	jobs = kvcalloc(args->job_count, sizeof(*jobs), GFP_KERNEL_ACCOUNT);
	if (!jobs)
		return -ENOMEM;
	for (i = 0; i < args->job_count; i++) {
		ret = nhot_killable_step();
		if (ret)
			goto out_put;
		ret = nhot_job_create(nf, ujobs + (u64)i * args->job_size,
				      args->job_size, &jobs[i]);
		if (ret) {
			nhot_dbg(ndev, "SUBMIT: job %u of %u rejected\n", i, args->job_count);
			goto out_put;
		}
	}
	ret = nhot_jobs_queue(nf, jobs, args->job_count, ufirst_id);
	if (!ret) {
		kvfree(jobs);	/* the id table owns the references now */
		return 0;
	}
out_put:
	nhot_jobs_put(jobs, args->job_count);
	kvfree(jobs);
	return ret;
}

/* ---- WAIT and JOB_STATUS --------------------------------------------- */

static struct nhot_kjob *nhot_job_lookup(struct nhot_file *nf, u64 id)
{
	struct nhot_kjob *job;

	if (id > ULONG_MAX)
		return NULL;
	xa_lock(&nf->jobs);
	job = xa_load(&nf->jobs, id);
	if (job)
		kref_get(&job->ref);
	xa_unlock(&nf->jobs);
	return job;
}

/* Looks up count ids; -ENOENT (and no reference kept) if one is unknown. */
static int nhot_jobs_lookup(struct nhot_file *nf, const u64 *ids, u32 count,
			    struct nhot_kjob **jobs)
{
	u32 i;

	for (i = 0; i < count; i++) {
		jobs[i] = nhot_job_lookup(nf, ids[i]);
		if (!jobs[i]) {
			nhot_dbg(nf->ndev, "no job %llu\n", ids[i]);
			nhot_jobs_put(jobs, i);
			return -ENOENT;
		}
	}
	return 0;
}

static bool nhot_jobs_finished(struct nhot_kjob **jobs, u32 count, bool any)
{
	u32 i;

	for (i = 0; i < count; i++) {
		bool final = nhot_job_final(READ_ONCE(jobs[i]->status));

		if (any && final)
			return true;
		if (!any && !final)
			return false;
	}
	return !any;
}

int nhot_wait(struct nhot_file *nf, struct nhot_wait *args)
{
	struct nhot_device *ndev = nf->ndev;
	bool any = args->flags & NHOT_WAIT_ANY;
	struct nhot_kjob **jobs;
	u64 *ids;
	s64 now;
	long ret;

	if ((args->flags & ~NHOT_WAIT_FLAGS) || args->pad) {
		nhot_dbg(ndev, "WAIT: flags %#x pad %#x\n", args->flags, args->pad);
		return -EINVAL;
	}
	if (!args->id_count || args->id_count > ndev->limits.max_jobs) {
		nhot_dbg(ndev, "WAIT: id_count %u\n", args->id_count);
		return -EINVAL;
	}
	/* charged to the caller like every other copy (vmemdup_user() is not) */
	ids = kvmalloc_array(args->id_count, sizeof(*ids), GFP_KERNEL_ACCOUNT);
	if (!ids)
		return -ENOMEM;
	if (copy_from_user(ids, u64_to_user_ptr(args->ids_ptr),
			   array_size(args->id_count, sizeof(*ids)))) {
		ret = -EFAULT;
		goto out_free_ids;
	}
	jobs = kvcalloc(args->id_count, sizeof(*jobs), GFP_KERNEL_ACCOUNT);
	if (!jobs) {
		ret = -ENOMEM;
		goto out_free_ids;
	}
	ret = nhot_jobs_lookup(nf, ids, args->id_count, jobs);
	if (ret)
		goto out_free_jobs;

	/*
	 * Compared before subtracting: a deadline long past (INT64_MIN, say)
	 * minus now would wrap to a sleep of centuries.
	 */
	now = ktime_get_ns();
	if (nhot_jobs_finished(jobs, args->id_count, any))
		ret = 0;
	else if (args->timeout_ns <= now)
		ret = -ETIMEDOUT;
	else
		ret = wait_event_interruptible_hrtimeout(nf->wq,
							 nhot_jobs_finished(jobs, args->id_count,
									    any),
							 ns_to_ktime(args->timeout_ns - now));
	if (ret == -ETIME)
		ret = -ETIMEDOUT;
	/* the deadline is absolute: a restarted call waits no longer */
	nhot_jobs_put(jobs, args->id_count);
out_free_jobs:
	kvfree(jobs);
out_free_ids:
	kvfree(ids);
	return ret;
}

static void nhot_job_result(struct nhot_kjob *job, struct nhot_job_result *r)
{
	r->status = job->status;
	r->error = job->error;
	r->macs = job->counters.macs;
	r->shift_adds = job->counters.shift_adds;
	r->cycles = job->counters.cycles;
	r->queued_ns = job->queued_ns;
	r->start_ns = job->start_ns;
	r->end_ns = job->end_ns;
}

/* Forgets finished jobs whose results were copied out. */
static void nhot_jobs_release(struct nhot_file *nf, struct nhot_kjob **jobs,
			      const struct nhot_job_result *res, u32 count)
{
	u32 i;

	mutex_lock(&nf->lock);
	for (i = 0; i < count; i++) {
		if (!nhot_job_final(res[i].status))
			continue;
		/* a repeated id was released already: erase only once */
		if (xa_cmpxchg(&nf->jobs, jobs[i]->id, jobs[i], NULL, 0) != jobs[i])
			continue;
		nf->held_jobs--;
		atomic_dec(&nf->finished);
		nhot_job_put(jobs[i]);
	}
	mutex_unlock(&nf->lock);
}

int nhot_job_status(struct nhot_file *nf, struct nhot_job_status_args *args)
{
	struct nhot_device *ndev = nf->ndev;
	u8 __user *ures = u64_to_user_ptr(args->results_ptr);
	u32 rsize = args->result_size, count = args->count, i;
	struct nhot_job_result *res;
	struct nhot_kjob **jobs;
	u64 *ids;
	int ret;

	if (args->flags & ~NHOT_STATUS_FLAGS) {
		nhot_dbg(ndev, "JOB_STATUS: flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (!count || count > ndev->limits.max_jobs) {
		nhot_dbg(ndev, "JOB_STATUS: count %u\n", count);
		return -EINVAL;
	}
	if (rsize < offsetofend(struct nhot_job_result, end_ns)) {
		nhot_dbg(ndev, "JOB_STATUS: result_size %u\n", rsize);
		return -EINVAL;
	}
	if (rsize > NHOT_MAX_STRUCT_SIZE) {
		nhot_dbg(ndev, "JOB_STATUS: result_size %u > %u\n", rsize,
			 NHOT_MAX_STRUCT_SIZE);
		return -E2BIG;
	}
	res = kvcalloc(count, sizeof(*res), GFP_KERNEL_ACCOUNT);
	jobs = kvcalloc(count, sizeof(*jobs), GFP_KERNEL_ACCOUNT);
	ids = kvcalloc(count, sizeof(*ids), GFP_KERNEL_ACCOUNT);
	if (!res || !jobs || !ids) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < count; i++) {
		ret = nhot_killable_step();
		if (ret)
			goto out_free;
		ret = copy_struct_from_user(&res[i], sizeof(res[i]),
					    ures + (u64)i * rsize, rsize);
		if (ret) {
			nhot_dbg(ndev, "JOB_STATUS: result %u copy: %d\n", i, ret);
			goto out_free;
		}
		ids[i] = res[i].id;
	}
	ret = nhot_jobs_lookup(nf, ids, count, jobs);
	if (ret)
		goto out_free;

	spin_lock_irq(&ndev->lock);
	for (i = 0; i < count; i++)
		nhot_job_result(jobs[i], &res[i]);
	spin_unlock_irq(&ndev->lock);
	for (i = 0; i < count; i++) {
		if (copy_to_user(ures + (u64)i * rsize, &res[i],
				 min_t(u32, rsize, sizeof(res[i])))) {
			ret = -EFAULT;
			goto out_put;
		}
	}
	if (args->flags & NHOT_STATUS_RELEASE)
		nhot_jobs_release(nf, jobs, res, count);
out_put:
	nhot_jobs_put(jobs, count);
out_free:
	kvfree(ids);
	kvfree(jobs);
	kvfree(res);
	return ret;
}

/* ---- close and removal ----------------------------------------------- */

/* Ends every queued job of nf (or of every file, nf NULL) CANCELLED. */
static void nhot_cancel_queued(struct nhot_device *ndev, struct nhot_file *nf)
{
	struct nhot_kjob *job, *tmp;

	lockdep_assert_held(&ndev->lock);
	list_for_each_entry_safe(job, tmp, &ndev->queue, node) {
		if (nf && job->nfile != nf)
			continue;
		list_del_init(&job->node);
		nhot_job_end(ndev, job, NHOT_JOB_CANCELLED, -ECANCELED);
	}
}

/**
 * nhot_jobs_release_file() - the file is closing: cancel and free its jobs
 * @nf: the file
 *
 * Queued jobs end CANCELLED; the engine is asked to cancel the running one,
 * which is not waited for: it takes a reference to itself and to @nf (it
 * becomes an orphan) and is freed when the engine lets go of it (its
 * completion, the cancel, the timeout's reset or the device's removal).
 * Every other job is freed here with its buffer references.
 */
void nhot_jobs_release_file(struct nhot_file *nf)
{
	struct nhot_device *ndev = nf->ndev;
	struct nhot_kjob *job;
	unsigned long id;

	spin_lock_irq(&ndev->lock);
	nhot_cancel_queued(ndev, nf);
	job = ndev->running;
	if (job && job->nfile == nf) {
		kref_get(&job->ref);
		kref_get(&nf->ref);
		job->orphan = true;
		/* a hung engine may ignore it: then the timeout ends the job */
		ndev->ops->cancel(ndev, job);
	}
	spin_unlock_irq(&ndev->lock);

	xa_for_each(&nf->jobs, id, job) {
		xa_erase(&nf->jobs, id);
		nhot_job_put(job);
	}
	nf->held_jobs = 0;
}

/**
 * nhot_device_stop_jobs() - the device is going: no new job, none left
 * @ndev: the device
 *
 * Every queued job of every file ends CANCELLED, and so does the running
 * one, through an engine reset (a hung engine may ignore a cancel).  The
 * files keep their results.  On return no job runs, no timeout is pending
 * and every orphan is freed; the caller still holds a device reference,
 * which the orphans' file references therefore never were the last of.
 */
void nhot_device_stop_jobs(struct nhot_device *ndev)
{
	u64 seq;

	spin_lock_irq(&ndev->lock);
	ndev->removed = true;
	nhot_cancel_queued(ndev, NULL);
	/* a reset in progress (timeout, engine failure) ends its job first */
	while (ndev->resetting) {
		spin_unlock_irq(&ndev->lock);
		wait_event(ndev->idle_wq, !READ_ONCE(ndev->resetting));
		spin_lock_irq(&ndev->lock);
	}
	if (ndev->running) {
		/* removed: nothing starts after this reset */
		seq = ndev->run_seq;
		ndev->resetting = true;
		spin_unlock_irq(&ndev->lock);
		nhot_reset_engine(ndev, seq, NHOT_JOB_CANCELLED, -ECANCELED, false);
	} else {
		spin_unlock_irq(&ndev->lock);
	}
	cancel_delayed_work_sync(&ndev->timeout_work);
	flush_work(&ndev->orphan_work);
}
