// SPDX-License-Identifier: MIT
/*
 * Depthwise convolution on AVX-512 (one input and one output channel per
 * group), called by the AVX-512 backend's conv for such layers.
 *
 * Per output row and 16-channel block, the KH input rows the window covers
 * are widened once into 32-bit lanes (padding columns and rows as in_zero),
 * so each input value is converted once and used by up to KW outputs; then
 * every tap is one vpdpwssd: the weight sits in the low 16 bits of a dword
 * whose high half meets the input's zero high half, giving x * w exactly.
 */
#include <errno.h>
#include <immintrin.h>
#include <stdint.h>

#include "cpu_conv.h"
#include "cpu_epi_avx512.h"

/* Output rows per depthwise task. */
#define DW_BAND		8

struct dw_plan {
	const struct cpu_job *job;
	uint32_t taps;		/* KH * KW */
	uint32_t cblocks;	/* 16-channel blocks */
	uint32_t span;		/* pad_left + W + pad_right */
	int32_t *w;		/* [cblock][tap][16 channels]: (uint16_t)w */
	struct epi_block *epi;	/* [cblock] */
	struct epi_consts consts;
	__m512i *scratch;	/* per worker: KH rows of span vectors */
};

/*
 * One output row of one channel block for the common 3x3, stride 1 kernel:
 * one chain of nine vpdpwssd per output, starting from the bias (the
 * iterations over ox overlap each other's latency).
 */
static void dw_row_3x3(const struct dw_plan *dp, const __m512i *const *rows, const int32_t *wb,
		       uint32_t cb, __mmask16 m, uint8_t *out, uint32_t C)
{
	const __m512i *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
	const __m512i bias = dp->epi[cb].bias;
	__m512i w[9];
	uint32_t ox, t;

	for (t = 0; t < 9; t++)
		w[t] = _mm512_loadu_si512(wb + t * 16);
	for (ox = 0; ox < dp->job->s.out_w; ox++) {
		__m512i a = _mm512_dpwssd_epi32(bias, r0[ox], w[0]);
		__m128i r;

		a = _mm512_dpwssd_epi32(a, r0[ox + 1], w[1]);
		a = _mm512_dpwssd_epi32(a, r0[ox + 2], w[2]);
		a = _mm512_dpwssd_epi32(a, r1[ox], w[3]);
		a = _mm512_dpwssd_epi32(a, r1[ox + 1], w[4]);
		a = _mm512_dpwssd_epi32(a, r1[ox + 2], w[5]);
		a = _mm512_dpwssd_epi32(a, r2[ox], w[6]);
		a = _mm512_dpwssd_epi32(a, r2[ox + 1], w[7]);
		a = _mm512_dpwssd_epi32(a, r2[ox + 2], w[8]);
		r = requant16_biased(a, &dp->epi[cb], &dp->consts);
		if (m == 0xffff)
			_mm_storeu_si128((void *)(out + (size_t)ox * C), r);
		else
			_mm_mask_storeu_epi8(out + (size_t)ox * C, m, r);
	}
}

/* Input row iy (padding rows as in_zero) of channel block c0, widened into row[]. */
static void dw_widen_row(const struct dw_plan *dp, uint32_t n, int64_t iy, uint32_t c0,
			 __mmask16 m, __m512i *row)
{
	const struct nhot_layer *l = dp->job->l;
	const __m512i zin = _mm512_set1_epi32((int)l->in_zero);
	/* Locals: the stores below may alias *l as far as the compiler knows. */
	const uint32_t pad_left = l->pad_left, in_w = l->in_w, span = dp->span, C = l->in_c;
	const uint8_t *line;
	uint32_t px;

	if (iy < 0 || iy >= l->in_h) {
		for (px = 0; px < span; px++)
			row[px] = zin;
		return;
	}
	line = dp->job->t->input + (((size_t)n * l->in_h + (size_t)iy) * in_w) * C + c0;
	for (px = 0; px < pad_left; px++)
		row[px] = zin;
	if (m == 0xffff) {
		for (px = 0; px < in_w; px++)
			row[pad_left + px] = _mm512_cvtepu8_epi32(
				_mm_loadu_si128((const void *)(line + (size_t)px * C)));
	} else {
		for (px = 0; px < in_w; px++)
			row[pad_left + px] = _mm512_cvtepu8_epi32(
				_mm_maskz_loadu_epi8(m, line + (size_t)px * C));
	}
	for (px = pad_left + in_w; px < span; px++)
		row[px] = zin;
}

/*
 * Task: DW_BAND output rows of one image. With stride_h = dilation_h = 1 the
 * windows of consecutive output rows share KH - 1 input rows: widened rows
 * live in slot iy mod KH (distinct within a window) and are widened once per
 * band and channel block, not once per output row.
 */
static void dw_task(void *arg, size_t task, int worker)
{
	const struct dw_plan *dp = arg;
	const struct cpu_job *job = dp->job;
	const struct nhot_layer *l = job->l;
	uint32_t bands = (job->s.out_h + DW_BAND - 1) / DW_BAND;
	uint32_t n = (uint32_t)(task / bands), oy0 = (uint32_t)(task % bands) * DW_BAND;
	uint32_t oy1 = oy0 + DW_BAND < job->s.out_h ? oy0 + DW_BAND : job->s.out_h;
	uint32_t C = l->in_c, KH = l->kernel_h, ox, cb, ky, kx, oy;
	__m512i *rows = dp->scratch + (size_t)worker * KH * dp->span;
	const int reuse = l->stride_h == 1 && l->dilation_h == 1;
	const int fast3x3 = l->kernel_h == 3 && l->kernel_w == 3 && l->stride_w == 1 &&
			    l->dilation_w == 1;

	for (cb = 0; cb < dp->cblocks; cb++) {
		uint32_t c0 = cb * 16, left = C - c0;
		__mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		const int32_t *wb = dp->w + (size_t)cb * dp->taps * 16;
		int64_t tag[NHOT_MAX_KERNEL];
		const __m512i *rp[NHOT_MAX_KERNEL];

		for (ky = 0; ky < KH; ky++)
			tag[ky] = INT64_MIN;
		for (oy = oy0; oy < oy1; oy++) {
			uint8_t *out = job->t->output +
				       ((size_t)n * job->s.out_h + oy) * job->s.out_w * C + c0;

			for (ky = 0; ky < KH; ky++) {
				int64_t iy = (int64_t)oy * l->stride_h - l->pad_top +
					     (int64_t)ky * l->dilation_h;
				uint32_t slot = reuse ? (uint32_t)(((iy % KH) + KH) % KH) : ky;
				__m512i *row = rows + (size_t)slot * dp->span;

				if (!reuse || tag[slot] != iy) {
					dw_widen_row(dp, n, iy, c0, m, row);
					tag[slot] = iy;
				}
				rp[ky] = row;
			}
			if (fast3x3) {
				dw_row_3x3(dp, rp, wb, cb, m, out, C);
				continue;
			}
			for (ox = 0; ox < job->s.out_w; ox++) {
				__m512i acc = dp->epi[cb].bias;
				__m128i r;

				for (ky = 0; ky < KH; ky++) {
					const __m512i *row = rp[ky] + ox * l->stride_w;
					const int32_t *wk = wb + (size_t)ky * l->kernel_w * 16;

					for (kx = 0; kx < l->kernel_w; kx++)
						acc = _mm512_dpwssd_epi32(acc, row[kx * l->dilation_w],
									  _mm512_loadu_si512(wk + kx * 16));
				}
				r = requant16_biased(acc, &dp->epi[cb], &dp->consts);
				if (m == 0xffff)
					_mm_storeu_si128((void *)(out + (size_t)ox * C), r);
				else
					_mm_mask_storeu_epi8(out + (size_t)ox * C, m, r);
			}
		}
	}
}

int cpu_dw_conv_avx512(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct dw_plan dp = { .job = job };
	uint32_t C = l->in_c, c, t;
	int8_t *rows = NULL;
	int32_t *rowsum = NULL;
	int ret = -ENOMEM;

	dp.taps = l->kernel_h * l->kernel_w;
	dp.cblocks = (C + 15) / 16;
	dp.span = l->pad_left + l->in_w + l->pad_right;
	rows = cpu_alloc((size_t)C * dp.taps);
	rowsum = cpu_alloc(sizeof(*rowsum) * C);
	dp.w = cpu_zalloc(sizeof(int32_t) * dp.cblocks * dp.taps * 16);
	dp.epi = cpu_alloc(sizeof(struct epi_block) * dp.cblocks);
	dp.scratch = cpu_alloc(sizeof(__m512i) * l->kernel_h * dp.span * job->threads);
	if (!rows || !rowsum || !dp.w || !dp.epi || !dp.scratch)
		goto out_free;
	for (c = 0; c < C; c++) {
		ret = cpu_decode_row(job, c, rows + (size_t)c * dp.taps, &rowsum[c]);
		if (ret)
			goto out_free;
	}
	ret = cpu_epilogue_prepare(job, rowsum);
	if (ret)
		goto out_free;
	for (c = 0; c < C; c++)
		for (t = 0; t < dp.taps; t++)
			dp.w[((size_t)(c / 16) * dp.taps + t) * 16 + c % 16] =
				(uint16_t)(int16_t)rows[(size_t)c * dp.taps + t];
	cpu_epi_blocks_build(job, 0, C, dp.epi);
	cpu_epi_consts_init(job, &dp.consts);
	cpu_parallel(job->threads, (size_t)job->s.out_n *
		     ((job->s.out_h + DW_BAND - 1) / DW_BAND), dw_task, &dp);
	ret = 0;
out_free:
	cpu_free(dp.scratch);
	cpu_free(dp.epi);
	cpu_free(dp.w);
	cpu_free(rowsum);
	cpu_free(rows);
	return ret;
}
