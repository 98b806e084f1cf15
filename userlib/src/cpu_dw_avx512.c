// SPDX-License-Identifier: MIT
/*
 * Depthwise convolution on AVX-512 (one input and one output channel per
 * group), called by the AVX-512 backend's conv for such layers.
 *
 * Work goes by 16-channel blocks: per output row, the KH input rows that the
 * window covers are first prepared once per block (padding columns and rows
 * as in_zero) into a small buffer that stays in L1 and serves every output
 * of the row, and of the next rows that share it; then each output vector
 * (16 channels of one position) is a short chain of VNNI dot products from
 * the bias, and the shared requantization epilogue.
 *
 * Two kernels:
 *
 * - 3 taps wide, stride_w = dilation_w = 1 (MobileNet's 3x3; any KH, stride_h
 *   and dilation_h): a prepared row is the input's bytes, 16 per pixel, so
 *   one 64-byte load at pixel ox holds pixels ox..ox+3 of the block, and one
 *   vpermb turns it into the dwords (x[ox], x[ox+1], x[ox+2], x[ox+3]) of each
 *   channel: vpdpbusd (u8 input x s8 weight, four products per dword) then
 *   does a whole kernel row at once, the fourth weight byte 0. Per 16 outputs
 *   of a 3x3: 3 loads, 3 vpermb and 3 vpdpbusd, where the word kernel below
 *   needs 9 vpdpwssd. dw3x3 of make bench (112x112x96): 386 -> 207 us p50 at 1
 *   thread.
 *
 * - every other shape: a prepared row holds each input value widened to 32
 *   bits, and every tap is one vpdpwssd whose weight sits in the low 16 bits
 *   of a dword whose high half meets the input's zero high half (x * w
 *   exactly).
 */
#include <errno.h>
#include <immintrin.h>
#include <stdint.h>

#include "cpu_conv.h"
#include "cpu_epi_avx512.h"

/* Output rows per depthwise task. */
#define DW_BAND		8

struct dw_plan;

/*
 * Prepares input row iy (a padding row when outside the image) of image n,
 * channel block c0 (lanes outside m: any value), into row.
 */
typedef void (*dw_prepare_fn)(const struct dw_plan *dp, uint32_t n, int64_t iy, uint32_t c0,
			      __mmask16 m, void *row);
/* One output row of channel block cb from the KH prepared rows. */
typedef void (*dw_compute_fn)(const struct dw_plan *dp, const void *const *rows, uint32_t cb,
			      __mmask16 m, uint8_t *out);

struct dw_plan {
	const struct cpu_job *job;
	uint32_t cblocks;		/* 16-channel blocks */
	uint32_t span;			/* pad_left + W + pad_right */
	size_t row_bytes;		/* one prepared row, a multiple of 64 */
	dw_prepare_fn prepare;
	dw_compute_fn compute;
	void *w;			/* per channel block, in the kernel's layout */
	size_t w_block_bytes;
	struct epi_block *epi;		/* [cblock] */
	struct epi_consts consts;
	uint8_t *scratch;		/* per worker: KH prepared rows */
};

/* The 16-byte result of one output position, stored under m. */
static inline void dw_store16(uint8_t *dst, __m128i r, __mmask16 m)
{
	if (m == 0xffff)
		_mm_storeu_si128((void *)dst, r);
	else
		_mm_mask_storeu_epi8(dst, m, r);
}

/* --- 3 taps wide, stride 1: bytes and vpdpbusd ---------------------------- */

/*
 * A prepared row: span + 1 pixels of 16 bytes. The last one is read by the
 * 64-byte load of the last output (its fourth pixel, whose weight is 0) and
 * holds in_zero so that every byte read is defined.
 */
static size_t dw3_row_bytes(uint32_t span)
{
	return ((size_t)(span + 1) * 16 + 63) & ~(size_t)63;
}

static void dw3_prepare(const struct dw_plan *dp, uint32_t n, int64_t iy, uint32_t c0,
			__mmask16 m, void *row)
{
	const struct nhot_layer *l = dp->job->l;
	const __m128i zin = _mm_set1_epi8((char)l->in_zero);
	/* Locals: the stores below may alias *l as far as the compiler knows. */
	const uint32_t pad_left = l->pad_left, in_w = l->in_w, C = l->in_c;
	const uint32_t pixels = dp->span + 1;
	__m128i *px16 = row;
	const uint8_t *line;
	uint32_t px;

	if (iy < 0 || iy >= l->in_h) {
		for (px = 0; px < pixels; px++)
			px16[px] = zin;
		return;
	}
	line = dp->job->t->input + (((size_t)n * l->in_h + (size_t)iy) * in_w) * C + c0;
	for (px = 0; px < pad_left; px++)
		px16[px] = zin;
	if (m == 0xffff) {
		for (px = 0; px < in_w; px++)
			px16[pad_left + px] = _mm_loadu_si128((const void *)(line + (size_t)px * C));
	} else {
		for (px = 0; px < in_w; px++)
			px16[pad_left + px] = _mm_maskz_loadu_epi8(m, line + (size_t)px * C);
	}
	for (px = pad_left + in_w; px < pixels; px++)
		px16[px] = zin;
}

/* vpermb index: byte 4c + k <- byte 16k + c, i.e. channel c's pixel k. */
static __m512i dw3_gather_index(void)
{
	int8_t idx[64];
	int c, k;

	for (c = 0; c < 16; c++)
		for (k = 0; k < 4; k++)
			idx[4 * c + k] = (int8_t)(16 * k + c);
	return _mm512_loadu_si512(idx);
}

/* The four pixels ox..ox+3 of a prepared row as each channel's dword. */
static inline __m512i dw3_window(const uint8_t *row, uint32_t ox, __m512i gather)
{
	return _mm512_permutexvar_epi8(gather, _mm512_loadu_si512(row + (size_t)ox * 16));
}

/*
 * The 3x3 case: three vpdpbusd per 16 outputs, all constants in registers
 * (epilogue copies are locals: the byte stores could alias the plan's).
 */
static void dw3_compute_3x3(const struct dw_plan *dp, const void *const *rows, uint32_t cb,
			    __mmask16 m, uint8_t *out)
{
	const uint8_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
	const __m512i *w = (const __m512i *)((const uint8_t *)dp->w + cb * dp->w_block_bytes);
	const __m512i w0 = w[0], w1 = w[1], w2 = w[2], gather = dw3_gather_index();
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = dp->job->l->in_c;
	uint32_t ox;

	for (ox = 0; ox < out_w; ox++) {
		__m512i a = _mm512_dpbusd_epi32(e.bias, dw3_window(r0, ox, gather), w0);

		a = _mm512_dpbusd_epi32(a, dw3_window(r1, ox, gather), w1);
		a = _mm512_dpbusd_epi32(a, dw3_window(r2, ox, gather), w2);
		dw_store16(out + (size_t)ox * C, k.hi_ok ? requant16_hi(a, &e, &k) :
							   requant16_biased(a, &e, &k), m);
	}
}

/* Any KH (3 taps wide): one vpdpbusd per kernel row. */
static void dw3_compute(const struct dw_plan *dp, const void *const *rows, uint32_t cb,
			__mmask16 m, uint8_t *out)
{
	const __m512i *w = (const __m512i *)((const uint8_t *)dp->w + cb * dp->w_block_bytes);
	const __m512i gather = dw3_gather_index();
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = dp->job->l->in_c, KH = dp->job->l->kernel_h;
	uint32_t ox, ky;

	for (ox = 0; ox < out_w; ox++) {
		__m512i a = e.bias;

		for (ky = 0; ky < KH; ky++)
			a = _mm512_dpbusd_epi32(a, dw3_window(rows[ky], ox, gather), w[ky]);
		dw_store16(out + (size_t)ox * C, requant16_biased(a, &e, &k), m);
	}
}

/* Weights: [cblock][ky][16 channels][4 bytes], byte kx = w(c, ky, kx), byte 3 = 0. */
static void dw3_weights(const struct dw_plan *dp, const int8_t *rows, uint32_t taps)
{
	uint32_t C = dp->job->l->in_c, KH = dp->job->l->kernel_h, c, ky, kx;
	int8_t *w = dp->w;

	for (c = 0; c < C; c++)
		for (ky = 0; ky < KH; ky++)
			for (kx = 0; kx < 3; kx++)
				w[(c / 16) * dp->w_block_bytes + (ky * 16 + c % 16) * 4 + kx] =
					rows[(size_t)c * taps + ky * 3 + kx];
}

/* --- every other shape: 32-bit lanes and vpdpwssd -------------------------- */

static void dwx_prepare(const struct dw_plan *dp, uint32_t n, int64_t iy, uint32_t c0,
			__mmask16 m, void *dst)
{
	const struct nhot_layer *l = dp->job->l;
	const __m512i zin = _mm512_set1_epi32((int)l->in_zero);
	const uint32_t pad_left = l->pad_left, in_w = l->in_w, span = dp->span, C = l->in_c;
	__m512i *row = dst;
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
	for (px = 0; px < in_w; px++)
		row[pad_left + px] = _mm512_cvtepu8_epi32(
			_mm_maskz_loadu_epi8(m, line + (size_t)px * C));
	for (px = pad_left + in_w; px < span; px++)
		row[px] = zin;
}

static void dwx_compute(const struct dw_plan *dp, const void *const *rows, uint32_t cb,
			__mmask16 m, uint8_t *out)
{
	const struct nhot_layer *l = dp->job->l;
	const int32_t *wb = (const int32_t *)((const uint8_t *)dp->w + cb * dp->w_block_bytes);
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = l->in_c, KH = l->kernel_h;
	const uint32_t KW = l->kernel_w, stride = l->stride_w, dil = l->dilation_w;
	uint32_t ox, ky, kx;

	for (ox = 0; ox < out_w; ox++) {
		__m512i acc = e.bias;

		for (ky = 0; ky < KH; ky++) {
			const __m512i *row = (const __m512i *)rows[ky] + ox * stride;
			const int32_t *wk = wb + (size_t)ky * KW * 16;

			for (kx = 0; kx < KW; kx++)
				acc = _mm512_dpwssd_epi32(acc, row[kx * dil],
							  _mm512_loadu_si512(wk + kx * 16));
		}
		dw_store16(out + (size_t)ox * C, requant16_biased(acc, &e, &k), m);
	}
}

/* Weights: [cblock][tap][16 channels] as (uint16_t)w in an int32. */
static void dwx_weights(const struct dw_plan *dp, const int8_t *rows, uint32_t taps)
{
	uint32_t C = dp->job->l->in_c, c, t;
	int32_t *w = dp->w;

	for (c = 0; c < C; c++)
		for (t = 0; t < taps; t++)
			w[((size_t)(c / 16) * taps + t) * 16 + c % 16] =
				(uint16_t)(int16_t)rows[(size_t)c * taps + t];
}

/* --- the band of rows each task computes ----------------------------------- */

/*
 * Task: DW_BAND output rows of one image. With stride_h = dilation_h = 1 the
 * windows of consecutive output rows share KH - 1 input rows: prepared rows
 * live in slot iy mod KH (distinct within a window) and are prepared once per
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
	uint32_t C = l->in_c, KH = l->kernel_h, cb, ky, oy;
	uint8_t *rows = dp->scratch + (size_t)worker * KH * dp->row_bytes;
	const int reuse = l->stride_h == 1 && l->dilation_h == 1;

	for (cb = 0; cb < dp->cblocks; cb++) {
		uint32_t c0 = cb * 16, left = C - c0;
		__mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		int64_t tag[NHOT_MAX_KERNEL];
		const void *rp[NHOT_MAX_KERNEL];

		for (ky = 0; ky < KH; ky++)
			tag[ky] = INT64_MIN;
		for (oy = oy0; oy < oy1; oy++) {
			for (ky = 0; ky < KH; ky++) {
				int64_t iy = (int64_t)oy * l->stride_h - l->pad_top +
					     (int64_t)ky * l->dilation_h;
				uint32_t slot = reuse ? (uint32_t)(((iy % KH) + KH) % KH) : ky;
				uint8_t *row = rows + (size_t)slot * dp->row_bytes;

				if (!reuse || tag[slot] != iy) {
					dp->prepare(dp, n, iy, c0, m, row);
					tag[slot] = iy;
				}
				rp[ky] = row;
			}
			dp->compute(dp, rp, cb, m, job->t->output +
				    ((size_t)n * job->s.out_h + oy) * job->s.out_w * C + c0);
		}
	}
}

/* Chooses the kernel and fills the sizes that depend on it. */
static void dw_plan_kernel(struct dw_plan *dp)
{
	const struct nhot_layer *l = dp->job->l;

	if (l->kernel_w == 3 && l->stride_w == 1 && l->dilation_w == 1) {
		dp->row_bytes = dw3_row_bytes(dp->span);
		dp->w_block_bytes = (size_t)l->kernel_h * 64;
		dp->prepare = dw3_prepare;
		dp->compute = l->kernel_h == 3 ? dw3_compute_3x3 : dw3_compute;
	} else {
		dp->row_bytes = (size_t)dp->span * sizeof(__m512i);
		dp->w_block_bytes = (size_t)l->kernel_h * l->kernel_w * 64;
		dp->prepare = dwx_prepare;
		dp->compute = dwx_compute;
	}
}

int cpu_dw_conv_avx512(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct dw_plan dp = { .job = job };
	uint32_t C = l->in_c, taps = l->kernel_h * l->kernel_w, c;
	int8_t *rows = NULL;
	int32_t *rowsum = NULL;
	int ret = -ENOMEM;

	dp.cblocks = (C + 15) / 16;
	dp.span = l->pad_left + l->in_w + l->pad_right;
	dw_plan_kernel(&dp);
	rows = cpu_alloc((size_t)C * taps);
	rowsum = cpu_alloc(sizeof(*rowsum) * C);
	dp.w = cpu_zalloc(dp.w_block_bytes * dp.cblocks);
	dp.epi = cpu_alloc(sizeof(struct epi_block) * dp.cblocks);
	dp.scratch = cpu_alloc(dp.row_bytes * l->kernel_h * (size_t)job->threads);
	if (!rows || !rowsum || !dp.w || !dp.epi || !dp.scratch)
		goto out_free;
	for (c = 0; c < C; c++) {
		ret = cpu_decode_row(job, c, rows + (size_t)c * taps, &rowsum[c]);
		if (ret)
			goto out_free;
	}
	ret = cpu_epilogue_prepare(job, rowsum);
	if (ret)
		goto out_free;
	if (dp.prepare == dw3_prepare)
		dw3_weights(&dp, rows, taps);
	else
		dwx_weights(&dp, rows, taps);
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
