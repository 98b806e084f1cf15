// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot-emu: the engine's register page, rings, reset and counters
 * (docs/hw.md).  Single-threaded: everything runs from the main loop when a
 * doorbell rings; a long job polls the reset doorbell through the model's
 * stop hook, so a reset never waits for a job to end.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "device.h"

/* Ring sizes this device accepts (REG_MAX_RING). */
#define EMU_MAX_RING	4096

/* What the engine supports: every layer type, n 1..4, b 2..8. */
#define EMU_LAYER_TYPES	(((1U << (NHOT_LAYER_TYPE_MAX + 1)) - 1) & ~1U)
#define EMU_N_MASK	(((1U << (NHOT_MAX_N + 1)) - 1) & ~((1U << NHOT_MIN_N) - 1))
#define EMU_B_MASK	(((1U << (NHOT_MAX_B + 1)) - 1) & ~((1U << NHOT_MIN_B) - 1))

/*
 * Registers are shared with the guest's CPUs: every access is one atomic
 * load or store; loads acquire (what the driver wrote before its doorbell is
 * visible), stores release (a completion is in memory before CQ_TAIL moves).
 */
static uint32_t rd32(struct emu_device *dev, unsigned int off)
{
	return __atomic_load_n((volatile uint32_t *)(dev->regs + off), __ATOMIC_ACQUIRE);
}

static uint64_t rd64(struct emu_device *dev, unsigned int off)
{
	return __atomic_load_n((volatile uint64_t *)(dev->regs + off), __ATOMIC_ACQUIRE);
}

static void wr32(struct emu_device *dev, unsigned int off, uint32_t v)
{
	__atomic_store_n((volatile uint32_t *)(dev->regs + off), v, __ATOMIC_RELEASE);
}

static void wr64(struct emu_device *dev, unsigned int off, uint64_t v)
{
	__atomic_store_n((volatile uint64_t *)(dev->regs + off), v, __ATOMIC_RELEASE);
}

static void add64(struct emu_device *dev, unsigned int off, uint64_t v)
{
	wr64(dev, off, rd64(dev, off) + v);
}

static void set_status(struct emu_device *dev)
{
	uint32_t sts = NHOT_HW_STS_READY;

	if (dev->enabled)
		sts |= NHOT_HW_STS_ENABLED;
	if (dev->error)
		sts |= NHOT_HW_STS_ERROR;
	if (dev->stalled)
		sts |= NHOT_HW_STS_BUSY;
	wr32(dev, NHOT_HW_REG_STATUS, sts);
}

/* The error vector, or the only one when just one is wired. */
static void raise_error_irq(struct emu_device *dev)
{
	unsigned int v = dev->srv->vectors > NHOT_HW_IRQ_ERROR ?
			 NHOT_HW_IRQ_ERROR : NHOT_HW_IRQ_COMPLETION;

	server_raise(dev->srv, v);
}

/* A fatal error: the device stops until the driver resets it. */
static void fatal(struct emu_device *dev, uint32_t code, uint64_t info)
{
	fprintf(stderr, "nhot-emu: fatal device error %u (info 0x%llx): stopped until reset\n",
		code, (unsigned long long)info);
	dev->error = true;
	wr32(dev, NHOT_HW_REG_ERROR, code);
	wr64(dev, NHOT_HW_REG_ERROR_INFO, info);
	set_status(dev);
	raise_error_irq(dev);
}

/**
 * device_init() - power on: publish identity and capabilities, idle rings
 * @dev: the device
 * @srv: the ivshmem server, BAR2 mapped
 * @dma: guest memory
 * @faults: failures to inject
 * @pe_count: PE lanes of the cycle model (>= 1)
 * @clock_mhz: clock of the cycle model
 * @verbose: log doorbells and jobs
 */
void device_init(struct emu_device *dev, struct emu_server *srv,
		 struct emu_dma *dma, const struct emu_faults *faults,
		 uint32_t pe_count, uint32_t clock_mhz, bool verbose)
{
	memset(dev, 0, sizeof(*dev));
	dev->srv = srv;
	dev->dma = dma;
	dev->faults = *faults;
	dev->regs = srv->shm;
	dev->pe_count = pe_count;
	dev->clock_mhz = clock_mhz;
	dev->verbose = verbose;

	memset((void *)dev->regs, 0, srv->shm_size);
	wr32(dev, NHOT_HW_REG_VERSION,
	     NHOT_HW_VERSION(NHOT_HW_VERSION_MAJOR, NHOT_HW_VERSION_MINOR));
	wr32(dev, NHOT_HW_REG_PEER_ID, EMU_DEVICE_PEER);
	wr32(dev, NHOT_HW_REG_NUM_VECTORS, srv->vectors);
	wr32(dev, NHOT_HW_REG_LAYER_TYPES, EMU_LAYER_TYPES);
	wr32(dev, NHOT_HW_REG_N_MASK, EMU_N_MASK);
	wr32(dev, NHOT_HW_REG_B_MASK, EMU_B_MASK);
	wr32(dev, NHOT_HW_REG_MAX_RING, EMU_MAX_RING);
	wr32(dev, NHOT_HW_REG_PE_COUNT, pe_count);
	wr32(dev, NHOT_HW_REG_CLOCK_MHZ, clock_mhz);
	set_status(dev);
	/* The signature last: a driver that sees it sees the rest. */
	wr64(dev, NHOT_HW_REG_SIGNATURE,
	     faults->bad_signature ? NHOT_HW_SIGNATURE ^ 0xff : NHOT_HW_SIGNATURE);
}

static bool ring_size_ok(uint32_t entries)
{
	return entries >= NHOT_HW_RING_MIN && entries <= EMU_MAX_RING &&
	       !(entries & (entries - 1));
}

static bool ring_ok(struct emu_device *dev, uint64_t base, uint32_t entries,
		    uint32_t entry_size)
{
	return ring_size_ok(entries) && !(base % NHOT_HW_RING_ALIGN) &&
	       dma_ptr(dev->dma, base, (uint64_t)entries * entry_size);
}

/*
 * Reset: drop whatever ran or stalled, clear the error, take the ring
 * configuration, zero the indexes, acknowledge.  The driver owns SQ_TAIL and
 * CQ_HEAD: it zeroes them before it requests the reset.
 */
static void do_reset(struct emu_device *dev)
{
	uint32_t req = rd32(dev, NHOT_HW_REG_RESET_REQ);
	uint32_t ctrl = rd32(dev, NHOT_HW_REG_CONTROL);

	dev->stalled = false;
	dev->error = false;
	dev->enabled = false;
	dev->sq_head = 0;
	dev->cq_tail = 0;
	dev->cookie = 0;
	wr32(dev, NHOT_HW_REG_SQ_HEAD, 0);
	wr32(dev, NHOT_HW_REG_CQ_TAIL, 0);
	wr32(dev, NHOT_HW_REG_ERROR, NHOT_HW_ERR_NONE);
	wr64(dev, NHOT_HW_REG_ERROR_INFO, 0);

	if (ctrl & NHOT_HW_CTRL_ENABLE) {
		dev->sq_entries = rd32(dev, NHOT_HW_REG_SQ_ENTRIES);
		dev->cq_entries = rd32(dev, NHOT_HW_REG_CQ_ENTRIES);
		dev->sq_base = rd64(dev, NHOT_HW_REG_SQ_BASE);
		dev->cq_base = rd64(dev, NHOT_HW_REG_CQ_BASE);
		if (ring_ok(dev, dev->sq_base, dev->sq_entries, sizeof(struct nhot_hw_sqe)) &&
		    ring_ok(dev, dev->cq_base, dev->cq_entries, sizeof(struct nhot_hw_cqe))) {
			dev->enabled = true;
		} else {
			dev->error = true;
			wr32(dev, NHOT_HW_REG_ERROR, NHOT_HW_ERR_RING_CONFIG);
		}
	}
	add64(dev, NHOT_HW_REG_CNT_RESETS, 1);
	set_status(dev);
	wr32(dev, NHOT_HW_REG_RESET_ACK, req);
	if (dev->verbose)
		fprintf(stderr, "nhot-emu: reset %u: %s\n", req,
			dev->enabled ? "rings enabled" : dev->error ? "bad ring configuration" : "idle");
	raise_error_irq(dev);
}

static bool reset_requested(struct emu_device *dev)
{
	return rd32(dev, NHOT_HW_REG_RESET_REQ) != rd32(dev, NHOT_HW_REG_RESET_ACK);
}

/**
 * device_should_stop() - the model's stop hook while a job runs
 * @arg: the device
 *
 * The registers are plain shared memory: a reset request or an abort is
 * seen here at once, whether or not its doorbell was taken yet.
 *
 * Return: -EINTR when a reset was requested or the process must exit
 * (the job is dropped), -ECANCELED when ABORT names the running job,
 * else 0.
 */
int device_should_stop(void *arg)
{
	struct emu_device *dev = arg;

	if (emu_exit_requested || reset_requested(dev))
		return -EINTR;
	if (dev->cookie && rd64(dev, NHOT_HW_REG_ABORT) == dev->cookie)
		return -ECANCELED;
	return 0;
}

static void post_completion(struct emu_device *dev, const struct nhot_hw_cqe *cqe)
{
	uint64_t addr = dev->cq_base +
			(uint64_t)(dev->cq_tail & (dev->cq_entries - 1)) * sizeof(*cqe);
	void *slot = dma_ptr(dev->dma, addr, sizeof(*cqe));

	if (!slot) {
		fatal(dev, NHOT_HW_ERR_CQ_DMA, addr);
		return;
	}
	memcpy(slot, cqe, sizeof(*cqe));
	dev->cq_tail++;
	wr32(dev, NHOT_HW_REG_CQ_TAIL, dev->cq_tail);
	add64(dev, NHOT_HW_REG_CNT_JOBS, 1);
	if (cqe->status != NHOT_HW_CQE_OK)
		add64(dev, NHOT_HW_REG_CNT_ERRORS, 1);
	add64(dev, NHOT_HW_REG_CNT_MACS, cqe->macs);
	add64(dev, NHOT_HW_REG_CNT_SHIFT_ADDS, cqe->shift_adds);
	add64(dev, NHOT_HW_REG_CNT_CYCLES, cqe->cycles);
	server_raise(dev->srv, NHOT_HW_IRQ_COMPLETION);
}

/* Fetch one descriptor at SQ_HEAD into @sqe; false after a fatal error. */
static bool fetch(struct emu_device *dev, struct nhot_hw_sqe *sqe)
{
	uint64_t addr = dev->sq_base +
			(uint64_t)(dev->sq_head & (dev->sq_entries - 1)) * sizeof(*sqe);
	const void *slot = dma_ptr(dev->dma, addr, sizeof(*sqe));

	if (!slot) {
		fatal(dev, NHOT_HW_ERR_SQ_DMA, addr);
		return false;
	}
	/* One copy: the job runs on what was read here, whatever the guest does. */
	memcpy(sqe, slot, sizeof(*sqe));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	dev->sq_head++;
	wr32(dev, NHOT_HW_REG_SQ_HEAD, dev->sq_head);
	dev->jobs_fetched++;
	return true;
}

/* Run every descriptor between SQ_HEAD and SQ_TAIL, in order. */
static void process_ring(struct emu_device *dev)
{
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;

	while (dev->enabled && !dev->error && !dev->stalled && !reset_requested(dev) &&
	       !emu_exit_requested) {
		uint32_t tail = rd32(dev, NHOT_HW_REG_SQ_TAIL);

		if (tail == dev->sq_head)
			return;
		if (tail - dev->sq_head > dev->sq_entries) {
			fatal(dev, NHOT_HW_ERR_SQ_INDEX, tail);
			return;
		}
		if (dev->cq_tail - rd32(dev, NHOT_HW_REG_CQ_HEAD) >= dev->cq_entries) {
			fatal(dev, NHOT_HW_ERR_CQ_OVERFLOW, dev->cq_tail);
			return;
		}
		if (!fetch(dev, &sqe))
			return;
		if (dev->verbose)
			fprintf(stderr, "nhot-emu: job %llu: cookie 0x%llx, layer type %u\n",
				(unsigned long long)dev->jobs_fetched,
				(unsigned long long)sqe.cookie, sqe.layer.type);
		if (dev->jobs_fetched == dev->faults.die) {
			fprintf(stderr, "nhot-emu: --die %llu: exiting in the middle of the job\n",
				(unsigned long long)dev->faults.die);
			emu_exit_now(0);
		}
		if (dev->jobs_fetched == dev->faults.fatal) {
			fprintf(stderr, "nhot-emu: --fatal %llu: the device fails in the job\n",
				(unsigned long long)dev->faults.fatal);
			/* docs/hw.md 2: ERROR_INFO is the failing ring index */
			fatal(dev, NHOT_HW_ERR_INTERNAL, dev->sq_head - 1);
			return;
		}
		if (dev->jobs_fetched == dev->faults.stall) {
			fprintf(stderr, "nhot-emu: --stall %llu: the job never completes\n",
				(unsigned long long)dev->faults.stall);
			dev->stalled = true;
			dev->cookie = sqe.cookie;
			set_status(dev);
			return;
		}
		wr32(dev, NHOT_HW_REG_STATUS, rd32(dev, NHOT_HW_REG_STATUS) | NHOT_HW_STS_BUSY);
		dev->cookie = sqe.cookie;
		if (rd64(dev, NHOT_HW_REG_ABORT) == sqe.cookie) {
			/* aborted before it started: completes without running */
			memset(&cqe, 0, sizeof(cqe));
			cqe.cookie = sqe.cookie;
			cqe.status = NHOT_HW_CQE_ABORTED;
		} else if (job_run(dev, &sqe, &cqe) < 0) {
			return;		/* reset or exit: no completion */
		}
		dev->cookie = 0;
		cqe.sq_index = dev->sq_head - 1;
		if (dev->jobs_fetched == dev->faults.inject_error) {
			fprintf(stderr, "nhot-emu: --inject-error %llu: completing with an error status\n",
				(unsigned long long)dev->faults.inject_error);
			memset(&cqe, 0, sizeof(cqe));
			cqe.cookie = sqe.cookie;
			cqe.sq_index = dev->sq_head - 1;
			cqe.status = NHOT_HW_CQE_INTERNAL;
		}
		set_status(dev);
		post_completion(dev, &cqe);
	}
}

/**
 * device_doorbell() - the guest rang one of the device's doorbells
 * @dev: the device
 * @vector: the doorbell (NHOT_HW_DB_SUBMIT, NHOT_HW_DB_RESET or another)
 *
 * Doorbells may coalesce: whichever rang, a pending reset is carried out
 * first (RESET_REQ != RESET_ACK), then the submission ring is served.  A
 * reset requested while a job runs stops that job (device_should_stop())
 * and is carried out here before anything else.
 */
void device_doorbell(struct emu_device *dev, unsigned int vector)
{
	add64(dev, NHOT_HW_REG_CNT_DOORBELLS, 1);
	if (dev->verbose)
		fprintf(stderr, "nhot-emu: doorbell %u\n", vector);
	do {
		if (reset_requested(dev))
			do_reset(dev);
		process_ring(dev);
	} while (reset_requested(dev) && !emu_exit_requested);
}
