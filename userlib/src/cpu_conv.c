// SPDX-License-Identifier: MIT
/*
 * Shared pieces of the CONV2D/FC kernels of every backend: the im2col row of
 * one output position, and the scalar decoder of packed weight rows (the
 * portable backend's decoder and the other backends' fallback for odd rows).
 */
#include <errno.h>
#include <string.h>

#include "cpu_conv.h"

size_t cpu_im2col_row(const struct cpu_job *job, uint32_t n, uint32_t oy, uint32_t ox,
		      uint32_t g, uint8_t *buf)
{
	const struct nhot_layer *l = job->l;
	const uint8_t *in = job->t->input;
	uint32_t cg = job->cg, ky, kx;
	uint8_t *p = buf;

	if (l->type == NHOT_LAYER_FC)
		return 0;
	for (ky = 0; ky < l->kernel_h; ky++) {
		int64_t iy = (int64_t)oy * l->stride_h - l->pad_top + (int64_t)ky * l->dilation_h;

		for (kx = 0; kx < l->kernel_w; kx++, p += cg) {
			int64_t ix = (int64_t)ox * l->stride_w - l->pad_left +
				     (int64_t)kx * l->dilation_w;

			/* Padding reads as in_zero: it adds (in_zero - in_zero) * w = 0. */
			if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w) {
				memset(p, (int)l->in_zero, cg);
				continue;
			}
			memcpy(p, in + (((size_t)n * l->in_h + (size_t)iy) * l->in_w +
					(size_t)ix) * l->in_c + (size_t)g * cg, cg);
		}
	}
	return (size_t)(p - buf);
}

int cpu_decode_row(const struct cpu_job *job, uint32_t o, int8_t *dst, int32_t *rowsum)
{
	const struct nhot_set_table *set = &job->set;
	size_t row_bytes = (size_t)(job->s.weight_bytes / job->l->out_c);
	const uint8_t *row = job->t->weights + (size_t)o * row_bytes;
	uint32_t k = job->s.k, bits = (uint32_t)set->code_bits, i;
	uint32_t mask = (1u << bits) - 1;
	const uint8_t *terms = job->terms;
	uint64_t window = 0;	/* bits not consumed yet, least significant first */
	uint32_t have = 0;	/* how many bits window holds */
	size_t next = 0;	/* next byte of the row */
	int32_t sum = 0;

	for (i = 0; i < k; i++) {
		unsigned int code;

		while (have < bits) {
			window |= (uint64_t)row[next++] << have;
			have += 8;
		}
		code = (unsigned int)(window & mask);
		window >>= bits;
		have -= bits;
		if (code >= (unsigned int)set->size)
			return -EILSEQ;
		dst[i] = (int8_t)set->value[code];
		sum += set->value[code];
		job->colterms[i] += terms[code];
	}
	*rowsum = sum;
	return 0;
}
