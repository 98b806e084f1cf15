// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot-emu: one job descriptor through the datapath model.
 *
 * Each buffer is a page list in guest memory (docs/hw.md): the device
 * gathers the input buffers from their pages into its own memory, runs the
 * model (driver/model/nhot_model.c, the simulated engine's source), and
 * scatters the output back into the output's pages.  Every page list and
 * page is bounds-checked against guest RAM first; a bad one fails the job
 * with NHOT_HW_CQE_DMA_FAULT and the slot in the completion's detail.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

enum dir { TO_DEVICE, FROM_DEVICE };

/*
 * Walk a buffer's pages, copying its first @len bytes between them and
 * @local.  Checks the whole list first, so that a bad page never leaves a
 * half-written output.
 */
static uint32_t walk_pages(struct emu_device *dev, const struct nhot_hw_buf *b,
			   uint8_t *local, uint64_t len, enum dir dir)
{
	const uint8_t *list;
	uint64_t done = 0;
	uint32_t i;

	list = dma_ptr(dev->dma, b->pages, (uint64_t)b->nr_pages * sizeof(uint64_t));
	if (!list)
		return NHOT_HW_CQE_DMA_FAULT;
	for (int pass = 0; pass < 2; pass++) {
		done = 0;
		for (i = 0; i < b->nr_pages; i++) {
			uint64_t pa, first = i ? 0 : b->offset;
			uint64_t n = NHOT_HW_PAGE_SIZE - first;
			uint8_t *page;

			memcpy(&pa, list + (uint64_t)i * sizeof(pa), sizeof(pa));
			pa = le64toh(pa);
			page = dma_ptr(dev->dma, pa, NHOT_HW_PAGE_SIZE);
			if (!page || (pa & (NHOT_HW_PAGE_SIZE - 1)))
				return NHOT_HW_CQE_DMA_FAULT;
			if (!pass || done == len)
				continue;
			if (n > len - done)
				n = len - done;
			if (dir == TO_DEVICE)
				memcpy(local + done, page + first, n);
			else
				memcpy(page + first, local + done, n);
			done += n;
		}
	}
	return NHOT_HW_CQE_OK;
}

/*
 * The device's copy of one buffer, its first *@len bytes: what the layer
 * uses, or the whole buffer if that is shorter (the model then refuses it).
 * *@out stays NULL for an unused slot.
 */
static uint32_t gather(struct emu_device *dev, const struct nhot_hw_buf *b,
		       uint8_t **out, uint64_t *len)
{
	uint32_t st;

	*out = NULL;
	if (!b->pages)
		return NHOT_HW_CQE_OK;
	if (!b->length || b->offset >= NHOT_HW_PAGE_SIZE ||
	    b->nr_pages != (b->offset + b->length + NHOT_HW_PAGE_SIZE - 1) / NHOT_HW_PAGE_SIZE)
		return NHOT_HW_CQE_BAD_DESC;
	/* No buffer is larger than the guest's memory. */
	if (b->length > dev->dma->size)
		return NHOT_HW_CQE_DMA_FAULT;
	if (*len > b->length)
		*len = b->length;
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return NHOT_HW_CQE_INTERNAL;
	st = walk_pages(dev, b, *out, *len, TO_DEVICE);
	if (st != NHOT_HW_CQE_OK) {
		free(*out);
		*out = NULL;
	}
	return st;
}

static bool reserved_zero(const struct nhot_hw_sqe *sqe)
{
	if (sqe->flags & ~(uint32_t)NHOT_HW_SQE_FLAGS || sqe->reserved0)
		return false;
	for (size_t i = 0; i < sizeof(sqe->reserved) / sizeof(sqe->reserved[0]); i++)
		if (sqe->reserved[i])
			return false;
	return true;
}

/* What the model's errors are on the wire. */
static uint32_t model_status(int err)
{
	switch (err) {
	case 0:
		return NHOT_HW_CQE_OK;
	case -EILSEQ:
		return NHOT_HW_CQE_BAD_CODE;
	case -EOVERFLOW:	/* the descriptor was checked before: parameters */
		return NHOT_HW_CQE_BAD_PARAMS;
	case -ECANCELED:
		return NHOT_HW_CQE_ABORTED;
	case -ERANGE:
	case -EINVAL:
	case -EOPNOTSUPP:
		return NHOT_HW_CQE_BAD_DESC;
	default:
		return NHOT_HW_CQE_INTERNAL;
	}
}

/**
 * job_run() - run one descriptor and fill its completion
 * @dev: the device
 * @sqe: the descriptor, already copied out of the ring
 * @cqe: out: the completion (cookie, status, counters, detail)
 *
 * Return: 0 with @cqe filled, or -EINTR when a reset or the process's exit
 * stopped the job (no completion is written for it).
 */
int job_run(struct emu_device *dev, const struct nhot_hw_sqe *sqe,
	    struct nhot_hw_cqe *cqe)
{
	struct nhot_model_cfg cfg = {
		.pe_count = dev->pe_count,
		.should_stop = device_should_stop,
		.arg = dev,
	};
	struct nhot_model_counters counters = { 0 };
	struct nhot_model_shape shape;
	struct nhot_model_mem mem = { 0 };
	uint8_t *local[NHOT_HW_BUF_COUNT] = { NULL };
	uint64_t len[NHOT_HW_BUF_COUNT];
	uint32_t st = NHOT_HW_CQE_OK;
	int err = 0, slot;

	memset(cqe, 0, sizeof(*cqe));
	cqe->cookie = sqe->cookie;
	if (!reserved_zero(sqe) || nhot_model_check(&sqe->layer, &shape)) {
		cqe->status = NHOT_HW_CQE_BAD_DESC;
		return 0;
	}
	len[NHOT_HW_BUF_INPUT] = shape.input_bytes;
	len[NHOT_HW_BUF_INPUT2] = shape.input2_bytes;
	len[NHOT_HW_BUF_WEIGHTS] = shape.weight_bytes;
	len[NHOT_HW_BUF_PARAMS] = shape.params_bytes;
	len[NHOT_HW_BUF_OUTPUT] = shape.output_bytes;
	for (slot = 0; slot < NHOT_HW_BUF_COUNT && st == NHOT_HW_CQE_OK; slot++)
		st = gather(dev, &sqe->buf[slot], &local[slot], &len[slot]);
	if (st != NHOT_HW_CQE_OK) {
		cqe->detail = (uint64_t)(slot - 1);
		goto out;
	}
	mem.input = local[NHOT_HW_BUF_INPUT];
	mem.input_len = local[NHOT_HW_BUF_INPUT] ? len[NHOT_HW_BUF_INPUT] : 0;
	mem.input2 = local[NHOT_HW_BUF_INPUT2];
	mem.input2_len = local[NHOT_HW_BUF_INPUT2] ? len[NHOT_HW_BUF_INPUT2] : 0;
	mem.weights = local[NHOT_HW_BUF_WEIGHTS];
	mem.weights_len = local[NHOT_HW_BUF_WEIGHTS] ? len[NHOT_HW_BUF_WEIGHTS] : 0;
	mem.params = local[NHOT_HW_BUF_PARAMS];
	mem.params_len = local[NHOT_HW_BUF_PARAMS] ? len[NHOT_HW_BUF_PARAMS] : 0;
	mem.output = local[NHOT_HW_BUF_OUTPUT];
	mem.output_len = local[NHOT_HW_BUF_OUTPUT] ? len[NHOT_HW_BUF_OUTPUT] : 0;

	err = nhot_model_run(&sqe->layer, &mem, &cfg, &dev->table, &counters);
	if (err == -EINTR)
		goto out;
	st = model_status(err);
	err = 0;
	if (st == NHOT_HW_CQE_OK) {
		st = walk_pages(dev, &sqe->buf[NHOT_HW_BUF_OUTPUT], local[NHOT_HW_BUF_OUTPUT],
				len[NHOT_HW_BUF_OUTPUT], FROM_DEVICE);
		cqe->detail = NHOT_HW_BUF_OUTPUT;
	}
	if (st == NHOT_HW_CQE_OK) {
		cqe->detail = 0;
		cqe->macs = counters.macs;
		cqe->shift_adds = counters.shift_adds;
		cqe->cycles = counters.cycles;
	}
out:
	cqe->status = st;
	for (slot = 0; slot < NHOT_HW_BUF_COUNT; slot++)
		free(local[slot]);
	return err;
}
