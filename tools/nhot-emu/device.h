/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * nhot-emu: the n-hot PCI engine of docs/hw.md, behind the ivshmem server.
 *
 * The register page is the start of BAR2 (shared memory).  Writes there do
 * not trap: the device looks at the driver's registers only when a doorbell
 * rings (NHOT_HW_DB_SUBMIT: the submission ring's tail moved; NHOT_HW_DB_RESET:
 * a reset was requested).  Jobs run one at a time, in ring order, through the
 * same datapath model as the driver's simulated engine
 * (driver/model/nhot_model.c).
 */
#ifndef NHOT_EMU_DEVICE_H
#define NHOT_EMU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "dma.h"
#include "server.h"
#include "nhot_model.h"
#include "hw/nhot_hw.h"

/**
 * struct emu_faults - failures the test suite asks for (0: off)
 * @inject_error: this job (1-based, counting every descriptor fetched since
 *	start) completes with status NHOT_HW_CQE_INTERNAL
 * @stall: this job is fetched and never completed; the device answers
 *	nothing but a reset until then
 * @die: the process exits while running this job, without a completion
 * @fatal: while running this job the device fails (fatal error INTERNAL,
 *	ERROR_INFO its ring index, the error vector): no completion, nothing
 *	more fetched until a reset
 * @bad_signature: publish a wrong signature (the driver must refuse it)
 */
struct emu_faults {
	uint64_t inject_error;
	uint64_t stall;
	uint64_t die;
	uint64_t fatal;
	bool bad_signature;
};

/**
 * struct emu_device - the engine's state
 * @srv: the ivshmem server (BAR2 and the eventfds)
 * @dma: guest memory
 * @faults: the failures to inject
 * @regs: BAR2, the register page
 * @pe_count: PE lanes of the cycle model
 * @clock_mhz: clock of the cycle model
 * @enabled: the rings accepted at the last reset are in use
 * @stalled: a job is held forever (--stall) until the next reset
 * @error: a fatal error stopped the device until the next reset
 * @sq_entries: submission ring size (power of two)
 * @cq_entries: completion ring size (power of two)
 * @sq_base: DMA address of the submission ring
 * @cq_base: DMA address of the completion ring
 * @sq_head: descriptors fetched (free running)
 * @cq_tail: completions written (free running)
 * @jobs_fetched: descriptors fetched since start (the fault options' count)
 * @cookie: the running job's cookie (for REG_ABORT)
 * @table: the model's code table workspace
 * @verbose: log every doorbell and job on stderr
 */
struct emu_device {
	struct emu_server *srv;
	struct emu_dma *dma;
	struct emu_faults faults;
	volatile uint8_t *regs;
	uint32_t pe_count;
	uint32_t clock_mhz;
	bool enabled;
	bool stalled;
	bool error;
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint64_t sq_base;
	uint64_t cq_base;
	uint32_t sq_head;
	uint32_t cq_tail;
	uint64_t jobs_fetched;
	uint64_t cookie;
	struct nhot_model_table table;
	bool verbose;
};

void device_init(struct emu_device *dev, struct emu_server *srv,
		 struct emu_dma *dma, const struct emu_faults *faults,
		 uint32_t pe_count, uint32_t clock_mhz, bool verbose);
void device_doorbell(struct emu_device *dev, unsigned int vector);
int device_should_stop(void *arg);

/* job.c: one descriptor through the model; 0, or -EINTR (reset or exit) */
int job_run(struct emu_device *dev, const struct nhot_hw_sqe *sqe,
	    struct nhot_hw_cqe *cqe);

/* main.c: remove the socket and the RAM file, then exit (--die, fatal) */
void emu_exit_now(int status) __attribute__((noreturn));

/* Set by the signal handler: the process is asked to exit. */
extern volatile int emu_exit_requested;

#endif /* NHOT_EMU_DEVICE_H */
