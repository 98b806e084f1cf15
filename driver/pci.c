// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI n-hot engine (docs/hw.md): a pci_driver for QEMU's ivshmem-doorbell
 * function behind which tools/nhot-emu serves the engine.
 *
 * The register page lives in BAR2, shared memory whose writes do not trap:
 * the device looks at it when rung through BAR0's doorbell.  Jobs go through a
 * submission ring and come back through a completion ring, both in coherent
 * memory; the job's buffers are reached by DMA through page lists
 * (pci_dma.c), mapped only while their job is on the device.  Interrupts are
 * MSI-X: one threaded handler serves every vector, since a device with one
 * vector folds the error vector onto the completion one; the hard handler
 * only wakes the thread, which unmaps the completed job (syncing its output
 * for the CPU) and reports it.
 *
 * States of an engine:
 *  - UP: probe reset it with ENABLE; jobs run.
 *  - A fatal error status (error_work) or a job timeout: the job path resets
 *    the device (the job ends FAILED -EIO, or TIMEDOUT) and it is UP again.
 *  - DEAD: a reset was not acknowledged in time; bus mastering is off, new
 *    jobs fail -ENODEV.
 *  - remove: jobs cancelled, reset without ENABLE (unless DEAD), irqs,
 *    vectors and mappings freed; the struct itself lives until the last open
 *    file of the nhot device is closed (release).
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "engine.h"
#include "pci.h"

/* Every layer type, n 1..4 and b 2..8: what this driver's job path accepts. */
#define NHOT_PCI_LAYER_TYPES	GENMASK(NHOT_LAYER_TYPE_MAX, NHOT_LAYER_CONV2D)
#define NHOT_PCI_N_MASK		GENMASK(NHOT_MAX_N, NHOT_MIN_N)
#define NHOT_PCI_B_MASK		GENMASK(NHOT_MAX_B, NHOT_MIN_B)

static u32 nhot_pci_rd(struct nhot_pci *pe, u32 reg)
{
	return readl(pe->regs + reg);
}

static void nhot_pci_wr(struct nhot_pci *pe, u32 reg, u32 val)
{
	writel(val, pe->regs + reg);
}

static void nhot_pci_wr64(struct nhot_pci *pe, u32 reg, u64 val)
{
	lo_hi_writeq(val, pe->regs + reg);
}

/* The device has as many doorbells as vectors: with one, it takes them all. */
static void nhot_pci_ring(struct nhot_pci *pe, u32 vector)
{
	writel((pe->peer_id << NHOT_HW_DOORBELL_PEER_SHIFT) |
	       min(vector, pe->doorbells - 1), pe->ctrl + NHOT_HW_DOORBELL);
}

static int nhot_pci_cqe_error(u32 status)
{
	switch (status) {
	case NHOT_HW_CQE_OK:
		return 0;
	case NHOT_HW_CQE_ABORTED:
		return -ECANCELED;
	case NHOT_HW_CQE_BAD_CODE:
		return -EILSEQ;
	case NHOT_HW_CQE_BAD_PARAMS:
		return -EOVERFLOW;
	default:
		return -EIO;
	}
}

/* ---- completions and interrupts -------------------------------------- */

/*
 * Consumes the completion ring.  Returns the running job if its completion
 * was among them, with its result; the caller reports it outside the lock.
 */
static struct nhot_kjob *nhot_pci_drain(struct nhot_pci *pe, int *error,
					struct nhot_model_counters *counters,
					bool *bad)
{
	struct nhot_kjob *done = NULL;
	struct nhot_hw_cqe cqe;
	u32 tail;

	lockdep_assert_held(&pe->ndev->lock);
	*bad = false;
	if (pe->quiesced || pe->dead)
		return NULL;
	tail = nhot_pci_rd(pe, NHOT_HW_REG_CQ_TAIL);
	if (tail - pe->cq_head > NHOT_PCI_RING_ENTRIES) {
		*bad = true;	/* the device lost count: treat as a fatal error */
		return NULL;
	}
	while (pe->cq_head != tail) {
		/* CQ_TAIL was read before the entry it covers */
		dma_rmb();
		cqe = pe->cq[pe->cq_head % NHOT_PCI_RING_ENTRIES];
		pe->cq_head++;
		if (!pe->cur_job || pe->withheld || cqe.cookie != pe->cur_cookie) {
			dev_warn_ratelimited(&pe->pdev->dev,
					     "completion for unknown cookie %llu\n",
					     cqe.cookie);
			continue;
		}
		done = pe->cur_job;
		pe->cur_job = NULL;
		pe->given = false;
		*error = nhot_pci_cqe_error(cqe.status);
		counters->macs = cqe.macs;
		counters->shift_adds = cqe.shift_adds;
		counters->cycles = cqe.cycles;
		if (*error && *error != -ECANCELED)
			dev_dbg(&pe->pdev->dev, "job %llu: device status %u detail %llu\n",
				done->id, cqe.status, cqe.detail);
	}
	nhot_pci_wr(pe, NHOT_HW_REG_CQ_HEAD, pe->cq_head);
	return done;
}

/*
 * Reports the completions the device wrote.  The job's buffers are unmapped
 * first: that syncs its output for the CPU, which owns it from the report
 * on.  Process context (the interrupt thread, probe).
 */
static void nhot_pci_complete(struct nhot_pci *pe)
{
	struct nhot_device *ndev = pe->ndev;
	struct nhot_model_counters counters = { 0 };
	struct nhot_kjob *job;
	int error = 0;
	bool bad;

	mutex_lock(&pe->xfer_lock);
	spin_lock_irq(&ndev->lock);
	job = nhot_pci_drain(pe, &error, &counters, &bad);
	spin_unlock_irq(&ndev->lock);
	if (bad) {
		WRITE_ONCE(pe->lost_count, true);
		schedule_work(&pe->error_work);
	}
	if (job) {
		if (pe->xfer_job == job) {
			nhot_pci_unmap_xfer(pe, job);
			pe->xfer_job = NULL;
		}
		/*
		 * A reset that begins now waits for this thread
		 * (synchronize_irq) and nhot_engine_job_done() drops a report
		 * made during a reset.
		 */
		nhot_engine_job_done(ndev, job, error, &counters);
	}
	mutex_unlock(&pe->xfer_lock);
}

/* Hard interrupt: nothing to acknowledge (MSI-X edges); the thread works. */
static irqreturn_t nhot_pci_irq(int irq, void *data)
{
	return IRQ_WAKE_THREAD;
}

static irqreturn_t nhot_pci_irq_thread(int irq, void *data)
{
	struct nhot_pci *pe = data;

	if (nhot_pci_rd(pe, NHOT_HW_REG_STATUS) & NHOT_HW_STS_ERROR)
		schedule_work(&pe->error_work);
	nhot_pci_complete(pe);
	return IRQ_HANDLED;
}

/* A fatal error status: the job path resets the device and fails the job. */
static void nhot_pci_error_work(struct work_struct *work)
{
	struct nhot_pci *pe = container_of(work, struct nhot_pci, error_work);
	u32 status = nhot_pci_rd(pe, NHOT_HW_REG_STATUS);
	bool lost = xchg(&pe->lost_count, false);

	/* a reset since the interrupt may have cleared the error */
	if (READ_ONCE(pe->dead) || (!(status & NHOT_HW_STS_ERROR) && !lost))
		return;
	if (lost)
		dev_err_ratelimited(&pe->pdev->dev, "completion index out of range: reset\n");
	else
		dev_err_ratelimited(&pe->pdev->dev,
				    "device error %u (info %#llx, status %#x): reset\n",
				    nhot_pci_rd(pe, NHOT_HW_REG_ERROR),
				    lo_hi_readq(pe->regs + NHOT_HW_REG_ERROR_INFO), status);
	nhot_engine_failed(pe->ndev, -EIO);
}

/* Reports the job the device never saw (dead device, withheld job cancelled). */
static void nhot_pci_report(struct irq_work *work)
{
	struct nhot_pci *pe = container_of(work, struct nhot_pci, report);
	struct nhot_model_counters counters = { 0 };
	struct nhot_device *ndev = pe->ndev;
	struct nhot_kjob *job;
	unsigned long flags;
	int error;

	spin_lock_irqsave(&ndev->lock, flags);
	job = pe->report_job;
	error = pe->report_error;
	pe->report_job = NULL;
	if (job && pe->cur_job == job)
		pe->cur_job = NULL;
	spin_unlock_irqrestore(&ndev->lock, flags);
	if (job)
		nhot_engine_job_done(ndev, job, error, &counters);
}

/* Ends @job without the device (device lock held). */
static void nhot_pci_report_later(struct nhot_pci *pe, struct nhot_kjob *job, int error)
{
	lockdep_assert_held(&pe->ndev->lock);
	pe->report_job = job;
	pe->report_error = error;
	irq_work_queue(&pe->report);
}

/* The device let go of the mapped job, if any: unmap its buffers. */
static void nhot_pci_end_xfer(struct nhot_pci *pe)
{
	lockdep_assert_held(&pe->xfer_lock);
	if (pe->xfer_job) {
		nhot_pci_unmap_xfer(pe, pe->xfer_job);
		pe->xfer_job = NULL;
	}
}

/* ---- reset ----------------------------------------------------------- */

/*
 * The reset handshake of docs/hw.md section 8.  With @enable the device takes
 * up the rings; without it the device lets go of guest memory.  Sleeps; on
 * a missing acknowledgment the device is marked dead and loses bus
 * mastering, so that it touches no memory of ours again.
 */
static int nhot_pci_hw_reset(struct nhot_pci *pe, bool enable)
{
	struct nhot_device *ndev = pe->ndev;
	u32 seq, ack;
	int ret, i;

	if (READ_ONCE(pe->dead))
		return -ENODEV;
	spin_lock_irq(&ndev->lock);
	pe->quiesced = true;
	spin_unlock_irq(&ndev->lock);

	nhot_pci_wr(pe, NHOT_HW_REG_CONTROL, enable ? NHOT_HW_CTRL_ENABLE : 0);
	nhot_pci_wr(pe, NHOT_HW_REG_SQ_ENTRIES, NHOT_PCI_RING_ENTRIES);
	nhot_pci_wr(pe, NHOT_HW_REG_CQ_ENTRIES, NHOT_PCI_RING_ENTRIES);
	nhot_pci_wr64(pe, NHOT_HW_REG_SQ_BASE, pe->sq_dma);
	nhot_pci_wr64(pe, NHOT_HW_REG_CQ_BASE, pe->cq_dma);
	nhot_pci_wr(pe, NHOT_HW_REG_SQ_TAIL, 0);
	nhot_pci_wr(pe, NHOT_HW_REG_CQ_HEAD, 0);
	nhot_pci_wr64(pe, NHOT_HW_REG_ABORT, 0);
	seq = nhot_pci_rd(pe, NHOT_HW_REG_RESET_ACK) + 1;
	nhot_pci_wr(pe, NHOT_HW_REG_RESET_REQ, seq);
	nhot_pci_ring(pe, NHOT_HW_DB_RESET);

	ret = readl_poll_timeout(pe->regs + NHOT_HW_REG_RESET_ACK, ack, ack == seq,
				 200, NHOT_HW_RESET_TIMEOUT_MS * USEC_PER_MSEC);
	if (ret) {
		dev_err(&pe->pdev->dev, "no reset acknowledgment in %u ms: device dead\n",
			NHOT_HW_RESET_TIMEOUT_MS);
		pci_clear_master(pe->pdev);
	}
	/* a completion handler that read the old rings is finished */
	for (i = 0; i < pe->nvec; i++)
		synchronize_irq(pci_irq_vector(pe->pdev, i));
	irq_work_sync(&pe->report);
	/* so is a start: it saw the reset and did not give its job */
	cancel_work_sync(&pe->start_work);
	/* the device let go (or is dead, without bus mastering): unmap */
	mutex_lock(&pe->xfer_lock);
	nhot_pci_end_xfer(pe);
	mutex_unlock(&pe->xfer_lock);

	spin_lock_irq(&ndev->lock);
	pe->cur_job = NULL;
	pe->start_job = NULL;
	pe->given = false;
	pe->abort = false;
	pe->report_job = NULL;
	pe->withheld = false;
	pe->sq_tail = 0;
	pe->cq_head = 0;
	pe->quiesced = false;
	if (ret)
		pe->dead = true;
	spin_unlock_irq(&ndev->lock);
	if (!ret && enable &&
	    (nhot_pci_rd(pe, NHOT_HW_REG_STATUS) & (NHOT_HW_STS_ENABLED | NHOT_HW_STS_ERROR)) !=
	    NHOT_HW_STS_ENABLED) {
		dev_err(&pe->pdev->dev, "rings refused: error %u\n",
			nhot_pci_rd(pe, NHOT_HW_REG_ERROR));
		return -EIO;
	}
	return ret ? -ENODEV : 0;
}

/* ---- engine ops ------------------------------------------------------ */

/* Puts @job's descriptor on the ring and rings the bell (device lock held). */
static void nhot_pci_give(struct nhot_pci *pe, struct nhot_kjob *job)
{
	struct nhot_pci_map *map = job->engine_data;
	struct nhot_hw_sqe *sqe;

	lockdep_assert_held(&pe->ndev->lock);
	/* one job at a time (job.c): the ring never fills */
	if (WARN_ON_ONCE(pe->sq_tail - pe->cq_head >= NHOT_PCI_RING_ENTRIES)) {
		nhot_pci_report_later(pe, job, -EIO);
		return;
	}
	sqe = &pe->sq[pe->sq_tail % NHOT_PCI_RING_ENTRIES];
	memset(sqe, 0, sizeof(*sqe));
	sqe->cookie = pe->cur_cookie;
	sqe->layer = job->layer;
	memcpy(sqe->buf, map->hw, sizeof(sqe->buf));
	pe->sq_tail++;
	pe->given = true;
	/* writel orders the descriptor before the tail, the tail before the bell */
	nhot_pci_wr64(pe, NHOT_HW_REG_ABORT, 0);
	nhot_pci_wr(pe, NHOT_HW_REG_SQ_TAIL, pe->sq_tail);
	nhot_pci_ring(pe, NHOT_HW_DB_SUBMIT);
}

/*
 * Gives the started job to the device, in process context: its buffers are
 * mapped (synced for the device) first.  A reset that began meanwhile
 * unmaps them (it waits for this work); a job that cannot be mapped, or
 * was cancelled meanwhile, is unmapped and reported here.
 */
static void nhot_pci_start_work(struct work_struct *work)
{
	struct nhot_pci *pe = container_of(work, struct nhot_pci, start_work);
	struct nhot_model_counters counters = { 0 };
	struct nhot_device *ndev = pe->ndev;
	struct nhot_kjob *job;
	int ret, error = 0;

	mutex_lock(&pe->xfer_lock);
	spin_lock_irq(&ndev->lock);
	job = pe->start_job;
	pe->start_job = NULL;
	spin_unlock_irq(&ndev->lock);
	if (!job)
		goto out_unlock;

	ret = nhot_pci_map_xfer(pe, job);
	if (!ret)
		pe->xfer_job = job;
	spin_lock_irq(&ndev->lock);
	if (pe->quiesced || pe->cur_job != job) {
		/* a reset is under way: it ends the job */
	} else if (ret || pe->abort) {
		error = ret ?: -ECANCELED;
		pe->cur_job = NULL;
	} else {
		nhot_pci_give(pe, job);
	}
	spin_unlock_irq(&ndev->lock);
	if (error) {
		nhot_pci_end_xfer(pe);
		nhot_engine_job_done(ndev, job, error, &counters);
	}
out_unlock:
	mutex_unlock(&pe->xfer_lock);
}

static void nhot_pci_start(struct nhot_device *ndev, struct nhot_kjob *job, bool hang)
{
	struct nhot_pci *pe = ndev->engine;

	lockdep_assert_held(&ndev->lock);
	pe->cur_job = job;
	pe->cur_cookie = ++pe->next_cookie;
	pe->withheld = hang;
	pe->given = false;
	pe->abort = false;
	if (pe->dead) {
		nhot_pci_report_later(pe, job, -ENODEV);
		return;
	}
	/* a hung engine, modelled: the device never sees the job */
	if (hang)
		return;
	/* mapping is for process context: this may be a hard interrupt */
	pe->start_job = job;
	queue_work(system_highpri_wq, &pe->start_work);
}

static void nhot_pci_cancel(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_pci *pe = ndev->engine;

	lockdep_assert_held(&ndev->lock);
	if (pe->cur_job != job || pe->report_job == job)
		return;
	if (pe->withheld) {
		nhot_pci_report_later(pe, job, -ECANCELED);
		return;
	}
	/* not on the ring yet: the start work ends it instead of giving it */
	if (!pe->given) {
		pe->abort = true;
		return;
	}
	/* the device completes it ABORTED; if it does not, the timeout resets */
	nhot_pci_wr64(pe, NHOT_HW_REG_ABORT, pe->cur_cookie);
	nhot_pci_ring(pe, NHOT_HW_DB_SUBMIT);
}

static void nhot_pci_reset(struct nhot_device *ndev)
{
	nhot_pci_hw_reset(ndev->engine, true);
}

static void nhot_pci_free_irqs(struct nhot_pci *pe, int count)
{
	while (count--)
		free_irq(pci_irq_vector(pe->pdev, count), pe);
}

static void nhot_pci_destroy(struct nhot_device *ndev)
{
	struct nhot_pci *pe = ndev->engine;

	/*
	 * No job runs.  Interrupts and the error work go first, so that no
	 * other reset runs; then the device lets go of the rings.
	 */
	nhot_pci_free_irqs(pe, pe->nvec);
	cancel_work_sync(&pe->error_work);
	nhot_pci_hw_reset(pe, false);
	irq_work_sync(&pe->report);
	pci_free_irq_vectors(pe->pdev);
	nhot_pci_unmap_all(pe);
	pci_clear_master(pe->pdev);
}

static void nhot_pci_release(struct nhot_device *ndev)
{
	struct nhot_pci *pe = ndev->engine;

	pci_dev_put(pe->pdev);
	kfree(pe);
	ndev->engine = NULL;
}

static const struct nhot_engine_ops nhot_pci_ops = {
	.start = nhot_pci_start,
	.cancel = nhot_pci_cancel,
	.reset = nhot_pci_reset,
	.destroy = nhot_pci_destroy,
	.prepare = nhot_pci_prepare,
	.unprepare = nhot_pci_unprepare,
	.release = nhot_pci_release,
};

/* ---- probe and remove ------------------------------------------------ */

static int nhot_pci_request_irqs(struct nhot_pci *pe)
{
	struct pci_dev *pdev = pe->pdev;
	int i, ret;

	for (i = 0; i < pe->nvec; i++) {
		ret = request_threaded_irq(pci_irq_vector(pdev, i), nhot_pci_irq,
					   nhot_pci_irq_thread, 0, pe->ndev->name, pe);
		if (ret) {
			nhot_pci_free_irqs(pe, i);
			return ret;
		}
	}
	return 0;
}

/* What probe found and mapped, for nhot_pci_attach(). */
struct nhot_pci_bars {
	struct pci_dev *pdev;
	void __iomem *ctrl;
	void __iomem *regs;
};

/* Builds the engine of a new nhot device (nhot_device_create_engine()). */
static int nhot_pci_attach(struct nhot_device *ndev, void *data)
{
	const struct nhot_pci_bars *bars = data;
	struct pci_dev *pdev = bars->pdev;
	struct device *dev = &pdev->dev;
	struct nhot_pci *pe;
	u32 wired;
	int ret;

	pe = kzalloc(sizeof(*pe), GFP_KERNEL);
	if (!pe)
		return -ENOMEM;
	pe->pdev = pci_dev_get(pdev);
	pe->ndev = ndev;
	pe->ctrl = bars->ctrl;
	pe->regs = bars->regs;
	pe->peer_id = nhot_pci_rd(pe, NHOT_HW_REG_PEER_ID);
	INIT_WORK(&pe->error_work, nhot_pci_error_work);
	init_irq_work(&pe->report, nhot_pci_report);
	INIT_WORK(&pe->start_work, nhot_pci_start_work);
	mutex_init(&pe->xfer_lock);
	mutex_init(&pe->maps_lock);
	INIT_LIST_HEAD(&pe->maps);

	/* rings: managed, freed after remove() when the device let go */
	pe->sq = dmam_alloc_coherent(dev, NHOT_PCI_RING_ENTRIES * sizeof(*pe->sq),
				     &pe->sq_dma, GFP_KERNEL);
	pe->cq = dmam_alloc_coherent(dev, NHOT_PCI_RING_ENTRIES * sizeof(*pe->cq),
				     &pe->cq_dma, GFP_KERNEL);
	if (!pe->sq || !pe->cq) {
		ret = -ENOMEM;
		goto err_free;
	}

	ret = nhot_pci_dma_init(pe);
	if (ret)
		goto err_free;

	wired = nhot_pci_rd(pe, NHOT_HW_REG_NUM_VECTORS);
	pe->doorbells = wired;
	ret = pci_alloc_irq_vectors(pdev, 1, min_t(u32, wired, NHOT_HW_IRQ_WANTED),
				    PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(dev, "no MSI-X vectors (%u wired): %d\n", wired, ret);
		goto err_pool;
	}
	pe->nvec = ret;
	ndev->engine = pe;
	ndev->ops = &nhot_pci_ops;
	ret = nhot_pci_request_irqs(pe);
	if (ret)
		goto err_vectors;

	/* the cycle model of this device (GET_INFO) */
	ndev->limits.pe_count = nhot_pci_rd(pe, NHOT_HW_REG_PE_COUNT) ?: ndev->limits.pe_count;
	ndev->limits.clock_mhz = nhot_pci_rd(pe, NHOT_HW_REG_CLOCK_MHZ) ?: ndev->limits.clock_mhz;

	ret = nhot_pci_hw_reset(pe, true);
	if (ret)
		goto err_irqs;
	/* an interrupt raised before ours were enabled is lost: look now */
	nhot_pci_irq_thread(0, pe);
	dev_info(dev, "%s: n-hot engine %u.%u, peer %u, %d MSI-X vectors\n", ndev->name,
		 NHOT_HW_VERSION_MAJOR_OF(nhot_pci_rd(pe, NHOT_HW_REG_VERSION)),
		 nhot_pci_rd(pe, NHOT_HW_REG_VERSION) & 0xffff, pe->peer_id, pe->nvec);
	return 0;

err_irqs:
	nhot_pci_free_irqs(pe, pe->nvec);
	cancel_work_sync(&pe->error_work);
	irq_work_sync(&pe->report);
err_vectors:
	pci_free_irq_vectors(pdev);
	ndev->engine = NULL;
	ndev->ops = NULL;
err_pool:
	dma_pool_destroy(pe->lists_pool);
err_free:
	pci_dev_put(pe->pdev);
	kfree(pe);
	return ret;
}

/* Is BAR2 an n-hot engine's register page that this driver understands? */
static int nhot_pci_check_device(struct pci_dev *pdev, void __iomem *regs)
{
	u64 sig = lo_hi_readq(regs + NHOT_HW_REG_SIGNATURE);
	u32 version = readl(regs + NHOT_HW_REG_VERSION);

	if (sig != NHOT_HW_SIGNATURE) {
		dev_info(&pdev->dev, "not an n-hot engine (signature %#llx)\n", sig);
		return -ENODEV;
	}
	if (NHOT_HW_VERSION_MAJOR_OF(version) != NHOT_HW_VERSION_MAJOR) {
		dev_info(&pdev->dev, "n-hot engine version %#x unsupported\n", version);
		return -ENODEV;
	}
	if ((readl(regs + NHOT_HW_REG_LAYER_TYPES) & NHOT_PCI_LAYER_TYPES) !=
	    NHOT_PCI_LAYER_TYPES ||
	    (readl(regs + NHOT_HW_REG_N_MASK) & NHOT_PCI_N_MASK) != NHOT_PCI_N_MASK ||
	    (readl(regs + NHOT_HW_REG_B_MASK) & NHOT_PCI_B_MASK) != NHOT_PCI_B_MASK ||
	    readl(regs + NHOT_HW_REG_MAX_RING) < NHOT_PCI_RING_ENTRIES ||
	    !readl(regs + NHOT_HW_REG_NUM_VECTORS)) {
		dev_info(&pdev->dev, "n-hot engine lacks capabilities this driver needs\n");
		return -ENODEV;
	}
	return 0;
}

/*
 * Is the function an n-hot engine?  QEMU gives every ivshmem function
 * (doorbell or plain, whoever serves it) this vendor and device id, so
 * nothing else may be done to it before this answers: BAR2's register page
 * is mapped just for the check (memory decoding is on, the only thing
 * pcim_enable_device() did) and unmapped again; no region is requested and
 * bus mastering stays off.
 */
static int nhot_pci_identify(struct pci_dev *pdev)
{
	void __iomem *regs;
	int ret;

	if (!(pci_resource_flags(pdev, NHOT_HW_BAR_REGS) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, NHOT_HW_BAR_REGS) < NHOT_HW_REGS_SIZE ||
	    !(pci_resource_flags(pdev, NHOT_HW_BAR_CTRL) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, NHOT_HW_BAR_CTRL) < NHOT_HW_DOORBELL + sizeof(u32)) {
		dev_info(&pdev->dev, "not an n-hot engine (BARs 0 and 2)\n");
		return -ENODEV;
	}
	regs = pci_iomap_range(pdev, NHOT_HW_BAR_REGS, 0, NHOT_HW_REGS_SIZE);
	if (!regs)
		return -ENOMEM;
	ret = nhot_pci_check_device(pdev, regs);
	pci_iounmap(pdev, regs);
	return ret;
}

/* Requests and maps a whole BAR, both released by devres. */
static void __iomem *nhot_pci_iomap_region(struct pci_dev *pdev, int bar)
{
#ifdef NHOT_HAVE_PCIM_IOMAP_REGION
	return pcim_iomap_region(pdev, bar, KBUILD_MODNAME);
#else
	/* before 6.11: a region requested after pcim_enable_device() is managed */
	void __iomem *addr;
	int ret;

	ret = pci_request_region(pdev, bar, KBUILD_MODNAME);
	if (ret)
		return IOMEM_ERR_PTR(ret);
	addr = pcim_iomap(pdev, bar, 0);
	return addr ?: IOMEM_ERR_PTR(-ENOMEM);
#endif
}

static int nhot_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct nhot_pci_bars bars = { .pdev = pdev };
	struct nhot_device *ndev;
	int ret;

	BUILD_BUG_ON(IS_ENABLED(CONFIG_CPU_BIG_ENDIAN));	/* docs/hw.md */
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = nhot_pci_identify(pdev);
	if (ret)
		return ret;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		dev_err(&pdev->dev, "no 64-bit DMA: %d\n", ret);
		return ret;
	}
	/* a bounced slice keeps its offset in the page: page lists need it */
	dma_set_min_align_mask(&pdev->dev, NHOT_HW_PAGE_SIZE - 1);
	bars.ctrl = nhot_pci_iomap_region(pdev, NHOT_HW_BAR_CTRL);
	if (IS_ERR(bars.ctrl))
		return PTR_ERR(bars.ctrl);
	bars.regs = nhot_pci_iomap_region(pdev, NHOT_HW_BAR_REGS);
	if (IS_ERR(bars.regs))
		return PTR_ERR(bars.regs);
	pci_set_master(pdev);

	ndev = nhot_device_create_engine(NHOT_ENGINE_PCI, &pdev->dev, nhot_pci_attach, &bars);
	if (IS_ERR(ndev)) {
		pci_clear_master(pdev);
		return PTR_ERR(ndev);
	}
	pci_set_drvdata(pdev, ndev);
	return 0;
}

static void nhot_pci_remove(struct pci_dev *pdev)
{
	struct nhot_device *ndev = pci_get_drvdata(pdev);

	/* jobs end, the engine is destroyed; open files keep the nhot device */
	if (ndev)
		nhot_device_remove(ndev);
	pci_set_drvdata(pdev, NULL);
}

/*
 * Reboot, power-off, kexec: the device must stop using guest memory before
 * the next kernel owns it.  The job on the device is not waited for (its
 * timeout may be an hour): a reset ends it FAILED -EIO.  Then the same as
 * remove (the other jobs end, the device is reset without ENABLE, bus
 * mastering off): processes may still submit while the system goes down,
 * and a half-stopped engine would be reset with ENABLE by a job timeout.
 */
static void nhot_pci_shutdown(struct pci_dev *pdev)
{
	struct nhot_device *ndev = pci_get_drvdata(pdev);

	if (ndev)
		nhot_engine_failed(ndev, -EIO);
	nhot_pci_remove(pdev);
	pci_clear_master(pdev);
}

static const struct pci_device_id nhot_pci_ids[] = {
	{ PCI_DEVICE(NHOT_HW_VENDOR_ID, NHOT_HW_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, nhot_pci_ids);

static struct pci_driver nhot_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = nhot_pci_ids,
	.probe = nhot_pci_probe,
	.remove = nhot_pci_remove,
	.shutdown = nhot_pci_shutdown,
};

int nhot_pci_register(void)
{
	return pci_register_driver(&nhot_pci_driver);
}

void nhot_pci_unregister(void)
{
	pci_unregister_driver(&nhot_pci_driver);
}
