/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The n-hot PCI engine as hardware: register page, doorbells, interrupt
 * vectors, DMA descriptors.  docs/hw.md is the specification; this header is
 * its C form, shared by the driver (driver/pci*.c) and the device emulator
 * (tools/nhot-emu).  Only fixed-width types: it builds in the kernel and in
 * userspace alike.  Everything is little endian.
 */
#ifndef _NHOT_HW_H
#define _NHOT_HW_H

#include <linux/types.h>
#include <linux/nhot.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#else
#include <assert.h>
#endif

/* The PCI function: QEMU's ivshmem-doorbell (docs/hw.md section 1). */
#define NHOT_HW_VENDOR_ID	0x1af4
#define NHOT_HW_DEVICE_ID	0x1110

/* BAR0: ivshmem registers. */
#define NHOT_HW_BAR_CTRL	0
#define NHOT_HW_IVPOSITION	0x08	/* this guest's peer id */
#define NHOT_HW_DOORBELL	0x0c	/* write (peer << 16) | vector */
#define NHOT_HW_DOORBELL_PEER_SHIFT	16

/* BAR2: shared memory; the register page is its first 4 KiB. */
#define NHOT_HW_BAR_REGS	2
#define NHOT_HW_REGS_SIZE	0x1000

/* Doorbell vectors, driver to device. */
#define NHOT_HW_DB_SUBMIT	0	/* the submission ring's tail moved */
#define NHOT_HW_DB_RESET	1	/* RESET_REQ changed */

/* Interrupt vectors, device to driver (folded onto vector 0 if only 1 wired). */
#define NHOT_HW_IRQ_COMPLETION	0	/* CQ_TAIL moved */
#define NHOT_HW_IRQ_ERROR	1	/* STATUS.ERROR set, or a reset acknowledged */
#define NHOT_HW_IRQ_WANTED	2

/* "NHOTENG1" read as a little-endian 64-bit value. */
#define NHOT_HW_SIGNATURE	0x31474e45544f484eULL
#define NHOT_HW_VERSION_MAJOR	1
#define NHOT_HW_VERSION_MINOR	0
#define NHOT_HW_VERSION(major, minor)	(((major) << 16) | (minor))
#define NHOT_HW_VERSION_MAJOR_OF(v)	((v) >> 16)

/*
 * Register page offsets.  RO: written by the device only; RW: written by the
 * driver, read by the device when a doorbell tells it to look.
 */
/* identification and capabilities (RO) */
#define NHOT_HW_REG_SIGNATURE	0x000	/* u64: NHOT_HW_SIGNATURE */
#define NHOT_HW_REG_VERSION	0x008	/* u32: NHOT_HW_VERSION(major, minor) */
#define NHOT_HW_REG_PEER_ID	0x00c	/* u32: the device's ivshmem peer id */
#define NHOT_HW_REG_NUM_VECTORS	0x010	/* u32: MSI-X vectors wired to the guest */
#define NHOT_HW_REG_LAYER_TYPES	0x014	/* u32: bit (1 << type) per layer type */
#define NHOT_HW_REG_N_MASK	0x018	/* u32: bit (1 << n) per supported n */
#define NHOT_HW_REG_B_MASK	0x01c	/* u32: bit (1 << b) per supported b */
#define NHOT_HW_REG_MAX_RING	0x020	/* u32: most entries of a ring */
#define NHOT_HW_REG_PE_COUNT	0x024	/* u32: PE lanes of the cycle model */
#define NHOT_HW_REG_CLOCK_MHZ	0x028	/* u32: clock of the cycle model */

/* ring configuration (RW), read by the device at reset */
#define NHOT_HW_REG_CONTROL	0x040	/* u32: NHOT_HW_CTRL_* */
#define NHOT_HW_REG_SQ_ENTRIES	0x044	/* u32: power of two, 2..MAX_RING */
#define NHOT_HW_REG_CQ_ENTRIES	0x048	/* u32: power of two, 2..MAX_RING */
#define NHOT_HW_REG_SQ_BASE	0x050	/* u64: DMA address, 64-byte aligned */
#define NHOT_HW_REG_CQ_BASE	0x058	/* u64: DMA address, 64-byte aligned */

/* ring indexes: free-running u32 counters, slot = index & (entries - 1) */
#define NHOT_HW_REG_SQ_TAIL	0x080	/* u32 RW: descriptors written */
#define NHOT_HW_REG_SQ_HEAD	0x084	/* u32 RO: descriptors fetched */
#define NHOT_HW_REG_CQ_TAIL	0x088	/* u32 RO: completions written */
#define NHOT_HW_REG_CQ_HEAD	0x08c	/* u32 RW: completions consumed */

/* status, errors, reset, abort */
#define NHOT_HW_REG_STATUS	0x0c0	/* u32 RO: NHOT_HW_STS_* */
#define NHOT_HW_REG_ERROR	0x0c4	/* u32 RO: NHOT_HW_ERR_* while STATUS.ERROR */
#define NHOT_HW_REG_ERROR_INFO	0x0c8	/* u64 RO: the failing index or address */
#define NHOT_HW_REG_RESET_REQ	0x0d0	/* u32 RW: bumped by the driver per reset */
#define NHOT_HW_REG_RESET_ACK	0x0d4	/* u32 RO: the RESET_REQ last carried out */
#define NHOT_HW_REG_ABORT	0x0d8	/* u64 RW: cookie of a job to abort, 0: none */

/* the device's own counters (RO, u64, since the device started) */
#define NHOT_HW_REG_CNT_JOBS	0x100	/* completions written */
#define NHOT_HW_REG_CNT_ERRORS	0x108	/* completions with a non-OK status */
#define NHOT_HW_REG_CNT_MACS	0x110
#define NHOT_HW_REG_CNT_SHIFT_ADDS	0x118
#define NHOT_HW_REG_CNT_CYCLES	0x120
#define NHOT_HW_REG_CNT_RESETS	0x128	/* resets carried out */
#define NHOT_HW_REG_CNT_DOORBELLS	0x130	/* doorbells received */

/* CONTROL */
#define NHOT_HW_CTRL_ENABLE	0x1	/* at reset: use the rings, else stay idle */

/* STATUS */
#define NHOT_HW_STS_READY	0x1	/* the device runs; register page valid */
#define NHOT_HW_STS_ENABLED	0x2	/* rings accepted at the last reset */
#define NHOT_HW_STS_ERROR	0x4	/* fatal error: stopped until a reset */
#define NHOT_HW_STS_BUSY	0x8	/* a job is being computed */

/* ERROR: the fatal errors */
#define NHOT_HW_ERR_NONE	0
#define NHOT_HW_ERR_RING_CONFIG	1	/* bad entries, alignment or base at reset */
#define NHOT_HW_ERR_SQ_INDEX	2	/* SQ_TAIL - SQ_HEAD > SQ_ENTRIES */
#define NHOT_HW_ERR_SQ_DMA	3	/* a descriptor outside guest memory */
#define NHOT_HW_ERR_CQ_DMA	4	/* a completion slot outside guest memory */
#define NHOT_HW_ERR_CQ_OVERFLOW	5	/* CQ_TAIL - CQ_HEAD would exceed CQ_ENTRIES */
#define NHOT_HW_ERR_INTERNAL	6	/* the device failed itself */

/* Submission queue entry flags */
#define NHOT_HW_SQE_FLAGS	0	/* none defined: must be 0 */

/* Completion status, one per job */
#define NHOT_HW_CQE_OK		0	/* output written, counters valid */
#define NHOT_HW_CQE_ABORTED	1	/* stopped early through REG_ABORT */
#define NHOT_HW_CQE_BAD_CODE	2	/* a weight code >= |S(n, b)| (arith.md) */
#define NHOT_HW_CQE_BAD_PARAMS	3	/* channel parameters out of range */
#define NHOT_HW_CQE_BAD_DESC	4	/* descriptor or buffer sizes invalid */
#define NHOT_HW_CQE_DMA_FAULT	5	/* a page list or page outside guest memory */
#define NHOT_HW_CQE_INTERNAL	6	/* the device failed this job */

/* Buffer page lists: 4 KiB pages */
#define NHOT_HW_PAGE_SHIFT	12
#define NHOT_HW_PAGE_SIZE	4096U

/**
 * struct nhot_hw_buf - one buffer of a job, as a page list
 * @pages: DMA address of an array of @nr_pages __u64 page addresses, each
 *	4 KiB aligned; 0 when the job uses no such buffer
 * @length: bytes of the buffer the job uses
 * @offset: where the buffer starts in the first page, 0..4095
 * @nr_pages: entries of the page list: (offset + length + 4095) / 4096
 */
struct nhot_hw_buf {
	__u64 pages;
	__u64 length;
	__u32 offset;
	__u32 nr_pages;
};

/* Buffer slots of a descriptor, in this order. */
#define NHOT_HW_BUF_INPUT	0
#define NHOT_HW_BUF_INPUT2	1
#define NHOT_HW_BUF_WEIGHTS	2
#define NHOT_HW_BUF_PARAMS	3
#define NHOT_HW_BUF_OUTPUT	4
#define NHOT_HW_BUF_COUNT	5

/**
 * struct nhot_hw_sqe - a submission queue entry: one layer job, 320 bytes
 * @cookie: the driver's name for the job, never 0; returned in the completion
 * @flags: NHOT_HW_SQE_FLAGS (0)
 * @reserved0: 0
 * @layer: the uapi layer descriptor, verbatim
 * @buf: the job's buffers, NHOT_HW_BUF_* order
 * @reserved: 0
 */
struct nhot_hw_sqe {
	__u64 cookie;
	__u32 flags;
	__u32 reserved0;
	struct nhot_layer layer;
	struct nhot_hw_buf buf[NHOT_HW_BUF_COUNT];
	__u64 reserved[7];
};

/**
 * struct nhot_hw_cqe - a completion queue entry, 64 bytes
 * @cookie: the cookie of the job's descriptor
 * @status: NHOT_HW_CQE_*
 * @sq_index: the SQ index the descriptor was fetched from
 * @macs: products summed (0 unless @status is OK)
 * @shift_adds: shift-and-add/subtract operations done
 * @cycles: modelled engine cycles
 * @detail: device-specific detail of a failure (e.g. the faulting slot)
 * @reserved: 0
 */
struct nhot_hw_cqe {
	__u64 cookie;
	__u32 status;
	__u32 sq_index;
	__u64 macs;
	__u64 shift_adds;
	__u64 cycles;
	__u64 detail;
	__u64 reserved[2];
};

/* Ring alignment and size limits */
#define NHOT_HW_RING_ALIGN	64
#define NHOT_HW_RING_MIN	2

/* Reset: the device acknowledges within this time (the driver's wait). */
#define NHOT_HW_RESET_TIMEOUT_MS	1000

static_assert(sizeof(struct nhot_layer) == 128, "nhot_layer is 128 bytes");
static_assert(sizeof(struct nhot_hw_buf) == 24, "nhot_hw_buf is 24 bytes");
static_assert(sizeof(struct nhot_hw_sqe) == 320, "nhot_hw_sqe is 320 bytes");
static_assert(sizeof(struct nhot_hw_cqe) == 64, "nhot_hw_cqe is 64 bytes");

#endif /* _NHOT_HW_H */
