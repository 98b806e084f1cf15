// SPDX-License-Identifier: MIT
/*
 * The portable backend: plain C that any compiler vectorises as far as it
 * can, and the baseline the SIMD backends must match bit for bit. CONV2D and
 * FC decode every row once into int8, then run per output position: gather
 * its im2col row, one dot product per output channel of its group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv.h"

/* Output positions per task: enough work to be worth a hand-off. */
#define POSITIONS_PER_TASK	16

struct portable_conv {
	const struct cpu_job *job;
	const int8_t *w;	/* out_c rows of k values */
	uint8_t *scratch;	/* per worker: one im2col row */
	size_t positions;
};

static int32_t dot_u8s8(const uint8_t *x, const int8_t *w, uint32_t k)
{
	uint32_t i;
	int32_t sum = 0;	/* |sum| <= 255 * 127 * 32768 < 2^31 */

	for (i = 0; i < k; i++)
		sum += (int32_t)x[i] * w[i];
	return sum;
}

static void portable_conv_task(void *arg, size_t task, int worker)
{
	const struct portable_conv *pc = arg;
	const struct cpu_job *job = pc->job;
	const struct nhot_layer *l = job->l;
	uint32_t k = job->s.k, ow = job->s.out_w, oh = job->s.out_h;
	uint8_t *row = pc->scratch + (size_t)worker * k;
	size_t p, end = (task + 1) * POSITIONS_PER_TASK;

	if (end > pc->positions)
		end = pc->positions;
	for (p = task * POSITIONS_PER_TASK; p < end; p++) {
		uint8_t *out = job->t->output + p * l->out_c;
		uint32_t n = (uint32_t)(p / ((size_t)oh * ow));
		uint32_t oy = (uint32_t)(p / ow % oh), ox = (uint32_t)(p % ow), g, j;

		for (g = 0; g < job->groups; g++) {
			const uint8_t *x = row;

			if (l->type == NHOT_LAYER_FC)
				x = job->t->input + p * k;
			else
				cpu_im2col_row(job, n, oy, ox, g, row);
			for (j = 0; j < job->og; j++) {
				uint32_t o = g * job->og + j;
				int32_t dot = dot_u8s8(x, pc->w + (size_t)o * k, k);
				uint32_t acc = (uint32_t)job->bias_adj[o] + (uint32_t)dot;

				out[o] = cpu_requant(job, (int32_t)acc, o);
			}
		}
	}
}

static int portable_conv(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct portable_conv pc = { .job = job };
	size_t k = job->s.k;
	int8_t *w = cpu_alloc((size_t)l->out_c * k);
	int32_t *rowsum = cpu_alloc((size_t)l->out_c * sizeof(*rowsum));
	uint32_t o;
	int ret = -ENOMEM;

	if (!w || !rowsum)
		goto out_free;
	for (o = 0; o < l->out_c; o++) {
		ret = cpu_decode_row(job, o, w + o * k, &rowsum[o]);
		if (ret)
			goto out_free;
	}
	ret = cpu_epilogue_prepare(job, rowsum);
	if (ret)
		goto out_free;
	pc.w = w;
	pc.positions = (size_t)job->s.out_n * job->s.out_h * job->s.out_w;
	pc.scratch = cpu_alloc((size_t)job->threads * k);
	if (!pc.scratch) {
		ret = -ENOMEM;
		goto out_free;
	}
	cpu_parallel(job->threads, (pc.positions + POSITIONS_PER_TASK - 1) / POSITIONS_PER_TASK,
		     portable_conv_task, &pc);
	cpu_free(pc.scratch);
out_free:
	cpu_free(rowsum);
	cpu_free(w);
	return ret;
}

static uint8_t clamp_u8(int64_t v, const struct nhot_layer *l)
{
	if (v < l->act_min)
		return (uint8_t)l->act_min;
	if (v > l->act_max)
		return (uint8_t)l->act_max;
	return (uint8_t)v;
}

/* Elements per ADD task. */
#define ADD_CHUNK	(64 * 1024)

static void portable_add_task(void *arg, size_t task, int worker)
{
	const struct cpu_job *job = arg;
	const struct nhot_layer *l = job->l;
	const uint8_t *a = job->t->input, *b = job->t->input2;
	int64_t ma = l->add_mult_a, mb = l->add_mult_b;
	int64_t round = (int64_t)1 << (l->add_shift - 1);
	size_t i = task * ADD_CHUNK, end = i + ADD_CHUNK;

	(void)worker;
	if (end > job->s.output_bytes)
		end = job->s.output_bytes;
	for (; i < end; i++) {
		int64_t v = ((int64_t)a[i] - l->in_zero) * ma + ((int64_t)b[i] - l->in2_zero) * mb;

		job->t->output[i] = clamp_u8(l->out_zero + ((v + round) >> l->add_shift), l);
	}
}

void cpu_add_portable(const struct cpu_job *job)
{
	cpu_parallel(job->threads, (job->s.output_bytes + ADD_CHUNK - 1) / ADD_CHUNK,
		     portable_add_task, (void *)job);
}

/* One task per output row (n, oy): every ox and channel of it. */
static void portable_pool_task(void *arg, size_t task, int worker)
{
	const struct cpu_job *job = arg;
	const struct nhot_layer *l = job->l;
	int global = l->type == NHOT_LAYER_GLOBAL_AVGPOOL;
	uint32_t kh = global ? l->in_h : l->kernel_h, kw = global ? l->in_w : l->kernel_w;
	uint32_t sh = global ? 1 : l->stride_h, sw = global ? 1 : l->stride_w;
	uint32_t n = (uint32_t)(task / job->s.out_h), oy = (uint32_t)(task % job->s.out_h);
	uint32_t c, ox, ky, kx, C = l->in_c;
	uint32_t sum[256];

	(void)worker;
	for (ox = 0; ox < job->s.out_w; ox++) {
		uint8_t *out = job->t->output + ((((size_t)n * job->s.out_h + oy) * job->s.out_w +
						  ox) * C);

		for (uint32_t c0 = 0; c0 < C; c0 += 256) {
			uint32_t cn = C - c0 < 256 ? C - c0 : 256, cnt = 0;

			for (c = 0; c < cn; c++)
				sum[c] = 0;
			for (ky = 0; ky < kh; ky++) {
				int64_t iy = (int64_t)oy * sh - l->pad_top + ky;

				if (iy < 0 || iy >= l->in_h)
					continue;
				for (kx = 0; kx < kw; kx++) {
					int64_t ix = (int64_t)ox * sw - l->pad_left + kx;
					const uint8_t *x;

					if (ix < 0 || ix >= l->in_w)
						continue;
					x = job->t->input + (((size_t)n * l->in_h + (size_t)iy) *
							     l->in_w + (size_t)ix) * C + c0;
					if (l->type == NHOT_LAYER_MAXPOOL) {
						for (c = 0; c < cn; c++)
							sum[c] = (cnt == 0 || x[c] > sum[c]) ?
								 x[c] : sum[c];
					} else {
						for (c = 0; c < cn; c++)
							sum[c] += x[c];
					}
					cnt++;
				}
			}
			/* cnt >= 1: padding is below the kernel extent (section 3). */
			for (c = 0; c < cn; c++)
				out[c0 + c] = clamp_u8(l->type == NHOT_LAYER_MAXPOOL ? sum[c] :
						       (sum[c] + cnt / 2) / cnt, l);
		}
	}
}

void cpu_pool_portable(const struct cpu_job *job)
{
	cpu_parallel(job->threads, (size_t)job->s.out_n * job->s.out_h,
		     portable_pool_task, (void *)job);
}

static int portable_supported(void)
{
	return 1;
}

const struct cpu_backend cpu_backend_portable = {
	.name = "portable",
	.supported = portable_supported,
	.conv = portable_conv,
	.add = cpu_add_portable,
	.pool = cpu_pool_portable,
};
