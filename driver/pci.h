/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PCI n-hot engine backend (docs/hw.md): the engine's state shared by
 * pci.c (probe, rings, interrupts, reset) and pci_dma.c (the DMA mappings of
 * job buffers).
 */
#ifndef _NHOT_PCI_H
#define _NHOT_PCI_H

#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/workqueue.h>

#include "hw/nhot_hw.h"
#include "nhot_drv.h"

/*
 * Ring entries.  The job path runs one job at a time today, so one slot of
 * each ring is in use at a time; a deeper queue is a later optimisation.
 */
#define NHOT_PCI_RING_ENTRIES	64

/* Page lists of up to 32 pages (jobs of small buffers) come from a pool. */
#define NHOT_PCI_POOL_BYTES	(32 * sizeof(__u64))

/* The 4 KiB pages that hold @bytes (> 0) at @offset. */
static inline u32 nhot_pci_slice_pages(u64 offset, u64 bytes)
{
	return ((offset + bytes - 1) >> PAGE_SHIFT) - (offset >> PAGE_SHIFT) + 1;
}

/**
 * struct nhot_pci_map - one job's buffers, as the device reaches them
 * @node: in &nhot_pci.maps from prepare to unprepare
 * @mapped: @sgt are mapped for the device: the job is on it (xfer_lock)
 * @sgt: each buffer slice's bytes in the buffer object's pages (sgl NULL:
 *	the slot is unused), DMA-mapped only while @mapped
 * @hw: each slot as the descriptor names it (its pages set while @mapped)
 * @lists: the page lists of every slot, one after the other (coherent;
 *	NULL once the device is gone)
 * @lists_dma: their DMA address
 * @lists_bytes: their size
 */
struct nhot_pci_map {
	struct list_head node;
	bool mapped;
	struct sg_table sgt[NHOT_BUF_COUNT];
	struct nhot_hw_buf hw[NHOT_BUF_COUNT];
	__u64 *lists;
	dma_addr_t lists_dma;
	size_t lists_bytes;
};

/**
 * struct nhot_pci - one PCI engine
 * @pdev: its PCI function
 * @ndev: its nhot device
 * @ctrl: BAR0, the ivshmem registers (doorbell)
 * @regs: BAR2, the register page
 * @peer_id: the device's ivshmem peer id (the doorbell's target)
 * @doorbells: the device's doorbell vectors (NUM_VECTORS, >= 1)
 * @nvec: MSI-X vectors allocated
 * @sq: submission ring (coherent, managed)
 * @sq_dma: its DMA address
 * @cq: completion ring (coherent, managed)
 * @cq_dma: its DMA address
 * @error_work: handles a fatal error status in process context
 * @lost_count: CQ_TAIL was out of range: error_work resets the device
 * @report: reports a job the device never saw (dead device, withheld hung
 *	job cancelled) through nhot_engine_job_done(), outside the device lock
 * @start_work: maps the started job's buffers and gives it to the device,
 *	in process context (start() runs under the device spinlock)
 * @xfer_lock: protects @xfer_job and the mapping of every job's buffers;
 *	taken before &nhot_device.lock
 * @xfer_job: the job whose buffers are mapped for the device, or NULL
 * @lists_pool: small page lists
 * @maps_lock: protects @maps, @gone and the page lists of every map
 * @maps: every &struct nhot_pci_map that is live
 * @gone: destroyed: no more mappings
 *
 * The fields below are protected by &nhot_device.lock:
 * @sq_tail: descriptors written
 * @cq_head: completions consumed
 * @next_cookie: the last cookie given out
 * @cur_job: the job handed over by start(), until reported or reset
 * @cur_cookie: its cookie
 * @withheld: @cur_job hangs (debugfs hang_jobs): never given to the device
 * @start_job: the job @start_work is to give to the device
 * @given: @cur_job's descriptor is on the submission ring
 * @abort: @cur_job was cancelled before it was given: not given at all
 * @report_job: the job @report reports
 * @report_error: its error
 * @quiesced: a reset or removal is in progress: completions are not read
 * @dead: the device did not acknowledge a reset: no job reaches it again
 */
struct nhot_pci {
	struct pci_dev *pdev;
	struct nhot_device *ndev;
	void __iomem *ctrl;
	void __iomem *regs;
	u32 peer_id;
	u32 doorbells;
	int nvec;
	struct nhot_hw_sqe *sq;
	dma_addr_t sq_dma;
	struct nhot_hw_cqe *cq;
	dma_addr_t cq_dma;
	struct work_struct error_work;
	bool lost_count;
	struct irq_work report;
	struct work_struct start_work;

	struct mutex xfer_lock;	/* protects xfer_job, the job mappings */
	struct nhot_kjob *xfer_job;

	struct dma_pool *lists_pool;
	struct mutex maps_lock;	/* protects maps, gone, the page lists */
	struct list_head maps;
	bool gone;

	/* protected by ndev->lock */
	u32 sq_tail;
	u32 cq_head;
	u64 next_cookie;
	struct nhot_kjob *cur_job;
	u64 cur_cookie;
	bool withheld;
	struct nhot_kjob *start_job;
	bool given;
	bool abort;
	struct nhot_kjob *report_job;
	int report_error;
	bool quiesced;
	bool dead;
};

/* pci_dma.c */
int nhot_pci_dma_init(struct nhot_pci *pe);
int nhot_pci_prepare(struct nhot_device *ndev, struct nhot_kjob *job);
void nhot_pci_unprepare(struct nhot_device *ndev, struct nhot_kjob *job);
void nhot_pci_unmap_all(struct nhot_pci *pe);
int nhot_pci_map_xfer(struct nhot_pci *pe, struct nhot_kjob *job);
void nhot_pci_unmap_xfer(struct nhot_pci *pe, struct nhot_kjob *job);

#endif /* _NHOT_PCI_H */
