/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the engine-independent job path (job.c) and an
 * engine backend (sim.c; a PCI backend later).
 *
 * The job path owns the queue, the timeout and every job's status.  It hands
 * the engine one job at a time; the engine runs it on the job's buffers and
 * reports the end with nhot_engine_job_done(), the way an interrupt handler
 * would: from any context, at most once per started job, and never after a
 * reset() that began before it.
 */
#ifndef _NHOT_ENGINE_H
#define _NHOT_ENGINE_H

#include "nhot_drv.h"

/**
 * struct nhot_engine_ops - what a backend implements
 * @start: start the job; called with the device lock held (atomic context).
 *	With hang set the job must never complete (debugfs hang_jobs), as on
 *	a hung engine: only a reset or a cancel ends it
 * @cancel: make the running job end early with -ECANCELED; called with the
 *	device lock held; the engine still reports it with
 *	nhot_engine_job_done()
 * @reset: abandon the running job; may sleep.  On return the engine touches
 *	no job's memory and will not report the abandoned job
 * @destroy: stop the engine for good and free it; may sleep; no job runs.
 *	Jobs may outlive it (open files): an engine with @unprepare keeps what
 *	@unprepare needs until @release
 * @prepare: optional: make @job's buffers reachable by the engine (DMA
 *	mapping); called at SUBMIT before the job is queued, may sleep; an
 *	error rejects the SUBMIT with it.  Sets &nhot_kjob.engine_data
 * @unprepare: optional: undo @prepare; called when the job is freed, in
 *	process context, before its buffers are put; also after @destroy
 * @release: optional: free what @destroy left; called when the device's
 *	last reference goes, after every job of it was freed
 */
struct nhot_engine_ops {
	void (*start)(struct nhot_device *ndev, struct nhot_kjob *job, bool hang);
	void (*cancel)(struct nhot_device *ndev, struct nhot_kjob *job);
	void (*reset)(struct nhot_device *ndev);
	void (*destroy)(struct nhot_device *ndev);
	int (*prepare)(struct nhot_device *ndev, struct nhot_kjob *job);
	void (*unprepare)(struct nhot_device *ndev, struct nhot_kjob *job);
	void (*release)(struct nhot_device *ndev);
};

/*
 * The engine finished @job: @error is 0, -ECANCELED, or the engine's error;
 * @counters what it did.  Callable from any context.
 */
void nhot_engine_job_done(struct nhot_device *ndev, struct nhot_kjob *job,
			  int error, const struct nhot_model_counters *counters);

/*
 * The engine failed on its own (e.g. a device's error status): reset it and
 * end the running job, if any, FAILED with @error.  Process context; a reset
 * already in progress makes it a no-op.
 */
void nhot_engine_failed(struct nhot_device *ndev, int error);

/* sim.c: attach the simulated engine to a new device. */
int nhot_sim_create(struct nhot_device *ndev);

/* pci.c: the PCI driver of PCI engines (docs/hw.md). */
int nhot_pci_register(void);
void nhot_pci_unregister(void);

#endif /* _NHOT_ENGINE_H */
