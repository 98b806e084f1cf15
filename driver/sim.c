// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated n-hot engine: an ordered workqueue runs the datapath model
 * (model/nhot_model.c) on the job's buffers, then reports the end through an
 * irq_work, in hard-irq context, as a device's completion interrupt would.
 *
 * Hung jobs (debugfs hang_jobs) are modelled by a worker that waits, without
 * touching the job, until the engine is reset: a hung engine ignores cancels.
 *
 * Like a device that loads a layer into its own SRAM, the engine copies a
 * job's weights and parameters out of the buffers userspace shares with it
 * into memory of its own before the model checks them, and computes from
 * that copy: what userspace writes there while the job runs cannot reach
 * the job (docs/engine.md).
 */
#include <linux/irq_work.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "engine.h"
#include "nhot_drv.h"

/**
 * struct nhot_sim - the simulated engine of one device
 * @ndev: its device
 * @wq: ordered: the engine runs one job at a time
 * @run: runs the job handed over by start()
 * @done_irq: the completion "interrupt"
 * @hang_wq: a hung job waits here for a reset
 * @abort: set during a reset: the worker drops its job without reporting
 * @table: the code table, built per job (worker only)
 * @sram: the engine's copy of the running job's weights and parameters
 *	(worker only; freed at release)
 * @sram_size: bytes at @sram (worker only)
 * @next_sram: a larger @sram allocated by a SUBMIT, for the worker to take
 *	before its next job (device lock)
 * @next_sram_size: bytes at @next_sram (device lock)
 * @sram_promised: the larger of @sram_size and @next_sram_size: every job
 *	prepared fits (device lock)
 * @job: handed from start() to the worker (device lock)
 * @hang: the job handed over must hang (device lock)
 * @done_job: handed from the worker to @done_irq (device lock)
 * @done_error: its result (device lock)
 * @done_counters: its counters (device lock)
 */
struct nhot_sim {
	struct nhot_device *ndev;
	struct workqueue_struct *wq;
	struct work_struct run;
	struct irq_work done_irq;
	wait_queue_head_t hang_wq;
	atomic_t abort;
	struct nhot_model_table table;
	u8 *sram;
	size_t sram_size;
	u8 *next_sram;
	size_t next_sram_size;
	size_t sram_promised;
	struct nhot_kjob *job;
	bool hang;
	struct nhot_kjob *done_job;
	int done_error;
	struct nhot_model_counters done_counters;
};

static int nhot_sim_should_stop(void *arg)
{
	struct nhot_kjob *job = arg;
	struct nhot_sim *sim = job->nfile->ndev->engine;

	if (atomic_read(&sim->abort))
		return -EIO;
	if (READ_ONCE(job->cancel))
		return -ECANCELED;
	cond_resched();
	return 0;
}

static const u8 *nhot_sim_buf(struct nhot_kjob *job, enum nhot_buf_slot slot, u64 *len)
{
	struct nhot_job_buf *b = &job->buf[slot];

	*len = b->bytes;
	return b->bo ? (const u8 *)b->bo->vaddr + b->offset : NULL;
}

/* Bytes of the engine's copy of a job: its weights, then its parameters. */
static size_t nhot_sim_sram_bytes(const struct nhot_kjob *job)
{
	/* each <= max_buffer_bytes, and the model's limits keep both < 2^29 */
	return job->buf[NHOT_BUF_WEIGHTS].bytes + job->buf[NHOT_BUF_PARAMS].bytes;
}

/*
 * Copies the job's weights and parameters into the engine's memory and
 * points @mem there: the model checks the copy and computes from it, so
 * each byte is read from the shared buffer once.
 */
static int nhot_sim_load(struct nhot_sim *sim, struct nhot_kjob *job,
			 struct nhot_model_mem *mem)
{
	if (nhot_sim_sram_bytes(job) > sim->sram_size)
		return -ENOMEM;		/* not reached: prepare() made it fit */
	if (mem->weights) {
		memcpy(sim->sram, mem->weights, mem->weights_len);
		mem->weights = sim->sram;
	}
	if (mem->params) {
		memcpy(sim->sram + mem->weights_len, mem->params, mem->params_len);
		mem->params = sim->sram + mem->weights_len;
	}
	return 0;
}

static int nhot_sim_run_model(struct nhot_sim *sim, struct nhot_kjob *job,
			      struct nhot_model_counters *counters)
{
	struct nhot_model_cfg cfg = {
		.pe_count = READ_ONCE(sim->ndev->limits.pe_count),	/* DEV_SET */
		.should_stop = nhot_sim_should_stop,
		.arg = job,
	};
	struct nhot_model_mem mem;
	int ret;

	mem.input = nhot_sim_buf(job, NHOT_BUF_INPUT, &mem.input_len);
	mem.input2 = nhot_sim_buf(job, NHOT_BUF_INPUT2, &mem.input2_len);
	mem.weights = nhot_sim_buf(job, NHOT_BUF_WEIGHTS, &mem.weights_len);
	mem.params = nhot_sim_buf(job, NHOT_BUF_PARAMS, &mem.params_len);
	mem.output = (u8 *)nhot_sim_buf(job, NHOT_BUF_OUTPUT, &mem.output_len);
	ret = nhot_sim_load(sim, job, &mem);
	if (ret)
		return ret;
	return nhot_model_run(&job->layer, &mem, &cfg, &sim->table, counters);
}

/* The worker: take the larger memory a SUBMIT left, before the next job. */
static void nhot_sim_take_sram(struct nhot_sim *sim, u8 *next, size_t size)
{
	if (!next)
		return;
	kvfree(sim->sram);
	sim->sram = next;
	sim->sram_size = size;
}

static void nhot_sim_run(struct work_struct *work)
{
	struct nhot_sim *sim = container_of(work, struct nhot_sim, run);
	struct nhot_device *ndev = sim->ndev;
	struct nhot_model_counters counters = { 0 };
	struct nhot_kjob *job;
	size_t next_size;
	u8 *next;
	bool hang;
	int error;

	spin_lock_irq(&ndev->lock);
	job = sim->job;
	hang = sim->hang;
	sim->job = NULL;
	next = sim->next_sram;
	next_size = sim->next_sram_size;
	sim->next_sram = NULL;
	spin_unlock_irq(&ndev->lock);
	nhot_sim_take_sram(sim, next, next_size);
	if (!job)
		return;

	if (hang) {
		wait_event(sim->hang_wq, atomic_read(&sim->abort));	/* no cancel */
		error = -ECANCELED;
	} else {
		error = nhot_sim_run_model(sim, job, &counters);
	}
	if (atomic_read(&sim->abort))
		return;		/* reset: the job is no longer ours */

	spin_lock_irq(&ndev->lock);
	sim->done_job = job;
	sim->done_error = error;
	sim->done_counters = counters;
	spin_unlock_irq(&ndev->lock);
	irq_work_queue(&sim->done_irq);
}

static void nhot_sim_done_irq(struct irq_work *work)
{
	struct nhot_sim *sim = container_of(work, struct nhot_sim, done_irq);
	struct nhot_device *ndev = sim->ndev;
	struct nhot_model_counters counters;
	struct nhot_kjob *job;
	unsigned long flags;
	int error;

	spin_lock_irqsave(&ndev->lock, flags);
	job = sim->done_job;
	error = sim->done_error;
	counters = sim->done_counters;
	sim->done_job = NULL;
	spin_unlock_irqrestore(&ndev->lock, flags);
	if (job)
		nhot_engine_job_done(ndev, job, error, &counters);
}

static void nhot_sim_start(struct nhot_device *ndev, struct nhot_kjob *job, bool hang)
{
	struct nhot_sim *sim = ndev->engine;

	lockdep_assert_held(&ndev->lock);
	sim->job = job;
	sim->hang = hang;
	queue_work(sim->wq, &sim->run);
}

static void nhot_sim_cancel(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_sim *sim = ndev->engine;

	lockdep_assert_held(&ndev->lock);
	WRITE_ONCE(job->cancel, true);
	wake_up_all(&sim->hang_wq);
}

static void nhot_sim_reset(struct nhot_device *ndev)
{
	struct nhot_sim *sim = ndev->engine;

	atomic_set(&sim->abort, 1);
	wake_up_all(&sim->hang_wq);
	flush_workqueue(sim->wq);
	irq_work_sync(&sim->done_irq);
	spin_lock_irq(&ndev->lock);
	sim->job = NULL;
	sim->done_job = NULL;
	spin_unlock_irq(&ndev->lock);
	atomic_set(&sim->abort, 0);
}

/**
 * nhot_sim_prepare() - make sure the engine's memory holds the job's data
 * @ndev: the device
 * @job: a job being submitted
 *
 * The engine keeps one copy buffer, as large as the largest job's weights
 * and parameters so far (at most max_buffer_bytes + 96 KiB), instead of one
 * per queued job: a file may queue max_jobs jobs on the same weights.  It
 * grows here, in the submitter's context, so that the memory is charged to
 * the submitter and a failure is the SUBMIT's -ENOMEM, never a job's; the
 * worker takes the new buffer before its next job.
 *
 * Return: 0 or -ENOMEM.
 */
static int nhot_sim_prepare(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_sim *sim = ndev->engine;
	size_t need = nhot_sim_sram_bytes(job);
	u8 *sram, *unused;
	bool fits;

	spin_lock_irq(&ndev->lock);
	fits = need <= sim->sram_promised;
	spin_unlock_irq(&ndev->lock);
	if (fits)
		return 0;
	sram = kvmalloc(need, GFP_KERNEL_ACCOUNT);
	if (!sram)
		return -ENOMEM;
	unused = sram;
	spin_lock_irq(&ndev->lock);
	if (need > sim->sram_promised) {	/* else another SUBMIT grew it */
		unused = sim->next_sram;
		sim->next_sram = sram;
		sim->next_sram_size = need;
		sim->sram_promised = need;
	}
	spin_unlock_irq(&ndev->lock);
	kvfree(unused);
	return 0;
}

static void nhot_sim_destroy(struct nhot_device *ndev)
{
	struct nhot_sim *sim = ndev->engine;

	nhot_sim_reset(ndev);
	destroy_workqueue(sim->wq);
}

/* A SUBMIT may still prepare a job after destroy(): the memory goes here. */
static void nhot_sim_release(struct nhot_device *ndev)
{
	struct nhot_sim *sim = ndev->engine;

	kvfree(sim->next_sram);
	kvfree(sim->sram);
	kfree(sim);
	ndev->engine = NULL;
}

static const struct nhot_engine_ops nhot_sim_ops = {
	.start = nhot_sim_start,
	.cancel = nhot_sim_cancel,
	.reset = nhot_sim_reset,
	.destroy = nhot_sim_destroy,
	.prepare = nhot_sim_prepare,
	.release = nhot_sim_release,
};

int nhot_sim_create(struct nhot_device *ndev)
{
	struct nhot_sim *sim;

	sim = kzalloc(sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return -ENOMEM;
	sim->ndev = ndev;
	sim->wq = alloc_ordered_workqueue("%s-sim", 0, ndev->name);
	if (!sim->wq) {
		kfree(sim);
		return -ENOMEM;
	}
	INIT_WORK(&sim->run, nhot_sim_run);
	init_irq_work(&sim->done_irq, nhot_sim_done_irq);
	init_waitqueue_head(&sim->hang_wq);
	atomic_set(&sim->abort, 0);
	ndev->engine = sim;
	ndev->ops = &nhot_sim_ops;
	return 0;
}
