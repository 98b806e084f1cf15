// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated n-hot engine: an ordered workqueue runs the datapath model
 * (model/nhot_model.c) on the job's buffers, then reports the end through an
 * irq_work, in hard-irq context, as a device's completion interrupt would.
 *
 * Hung jobs (debugfs hang_jobs) are modelled by a worker that waits, without
 * touching the job, until the engine is reset: a hung engine ignores cancels.
 */
#include <linux/irq_work.h>
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
 * @hang_wq: a hung job waits here for a reset or a cancel
 * @abort: set during a reset: the worker drops its job without reporting
 * @table: the code table, built per job (worker only)
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

static int nhot_sim_run_model(struct nhot_sim *sim, struct nhot_kjob *job,
			      struct nhot_model_counters *counters)
{
	struct nhot_model_cfg cfg = {
		.pe_count = READ_ONCE(sim->ndev->limits.pe_count),	/* DEV_SET */
		.should_stop = nhot_sim_should_stop,
		.arg = job,
	};
	struct nhot_model_mem mem;

	mem.input = nhot_sim_buf(job, NHOT_BUF_INPUT, &mem.input_len);
	mem.input2 = nhot_sim_buf(job, NHOT_BUF_INPUT2, &mem.input2_len);
	mem.weights = nhot_sim_buf(job, NHOT_BUF_WEIGHTS, &mem.weights_len);
	mem.params = nhot_sim_buf(job, NHOT_BUF_PARAMS, &mem.params_len);
	mem.output = (u8 *)nhot_sim_buf(job, NHOT_BUF_OUTPUT, &mem.output_len);
	return nhot_model_run(&job->layer, &mem, &cfg, &sim->table, counters);
}

static void nhot_sim_run(struct work_struct *work)
{
	struct nhot_sim *sim = container_of(work, struct nhot_sim, run);
	struct nhot_device *ndev = sim->ndev;
	struct nhot_model_counters counters = { 0 };
	struct nhot_kjob *job;
	bool hang;
	int error;

	spin_lock_irq(&ndev->lock);
	job = sim->job;
	hang = sim->hang;
	sim->job = NULL;
	spin_unlock_irq(&ndev->lock);
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

static void nhot_sim_destroy(struct nhot_device *ndev)
{
	struct nhot_sim *sim = ndev->engine;

	nhot_sim_reset(ndev);
	destroy_workqueue(sim->wq);
	kfree(sim);
	ndev->engine = NULL;
}

static const struct nhot_engine_ops nhot_sim_ops = {
	.start = nhot_sim_start,
	.cancel = nhot_sim_cancel,
	.reset = nhot_sim_reset,
	.destroy = nhot_sim_destroy,
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
