// SPDX-License-Identifier: MIT
/*
 * Depthwise convolution on AVX-512 (one input and one output channel per
 * group), called by the AVX-512 backend's conv for such layers.
 *
 * Work goes by 16-channel blocks and bands of output rows. The input rows a
 * window covers are first prepared into a small per-worker buffer (padding
 * columns and rows as in_zero), once per band and block: consecutive output
 * rows share KH - 1 of them. Then each output vector (16 channels of one
 * position) is a short chain of VNNI dot products from the bias, and the
 * shared requantization epilogue. Two kernels:
 *
 * - 3x3, stride_w 1 or 2, dilation 1 (MobileNet's; any stride_h):
 *   bytes and vpdpbusd (u8 input x s8 weight, four products per dword). The
 *   prepared rows form a ring of 4 slots, interleaved per pixel: 64 bytes =
 *   the pixel's 16 channels in each slot. One load and one vpermb give each
 *   channel's dword (x[iy][px], x[iy+1][px], x[iy+2][px], x[unused slot][px])
 *   for one output row: the column of the window at px, which serves the
 *   outputs whose window has it (3 at stride 1, ox = px-2..px), each one
 *   vpdpbusd per kernel column (the fourth weight byte 0). Per 16 outputs at
 *   stride 1: 1 load, 1 vpermb, 3 vpdpbusd (stride 2: 2 loads, 2 vpermb),
 *   where the word kernel needs 9 loads and 9 vpdpwssd.
 *
 * - every other shape: a prepared row holds each input value widened to 32
 *   bits, and every tap is one vpdpwssd whose weight sits in the low 16 bits
 *   of a dword whose high half meets the input's zero high half (x * w
 *   exactly).
 *
 * dw3x3 of make bench (112x112x96, one thread, own harness, fastest decile):
 * word kernel 373 us; bytes with one vpermb per tap and one block per pass
 * over the band 203 us; the column kernel, blocks prepared in groups, 177 us;
 * copying two pixels and computing two outputs a step, 156 us; four blocks'
 * results narrowed together, 150 us. The same layer at stride 2: word
 * kernel 361 us (no row reuse at stride_h 2), column kernel 96 us.
 */
#include <errno.h>
#include <immintrin.h>
#include <stdint.h>

#include "cpu_conv.h"
#include "cpu_epi_avx512.h"

/* Output rows per depthwise task. */
#define DW_BAND		8
/* The 3x3 kernel's ring: the 3 rows of a window and the next one. */
#define DW3_SLOTS	4
/*
 * Ring bytes per worker that the 3x3 kernel aims at: the blocks of a group
 * are prepared together, each input row copied into all of them while it is
 * in L1, and their rings stay in L1 (48 KiB on Zen 5). dw3x3's rings are
 * 7.1 KiB: groups of 4 blocks, 153 us p10 at 1 thread; 48 KiB (6 blocks),
 * 165 us.
 */
#define DW3_RING_BUDGET	(32 * 1024)

struct dw_plan {
	const struct cpu_job *job;
	uint32_t cblocks;		/* 16-channel blocks */
	uint32_t span;			/* pad_left + W + pad_right */
	uint32_t group;			/* 3x3: blocks prepared together */
	size_t ring_bytes;		/* 3x3: one block's ring; else one widened row */
	__m512i *w;			/* per block, in the kernel's layout */
	size_t w_vectors;		/* per block */
	__m512i column[DW3_SLOTS];	/* 3x3: vpermb index per ring rotation */
	struct epi_block *epi;		/* [cblock] */
	struct epi_consts consts;
	uint8_t *scratch;		/* per worker */
	size_t scratch_bytes;		/* per worker */
};

/* Lanes of block cb that hold channels. */
static inline __mmask16 dw_lanes(const struct dw_plan *dp, uint32_t cb)
{
	uint32_t left = dp->job->l->in_c - cb * 16;

	return left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
}

/* The 16-byte result of one output position, stored under m. */
static inline void dw_store16(uint8_t *dst, __m128i r, __mmask16 m)
{
	if (m == 0xffff)
		_mm_storeu_si128((void *)dst, r);
	else
		_mm_mask_storeu_epi8(dst, m, r);
}

/* Image n and output rows [*oy0, *oy1) of a task. */
static void dw_band(const struct cpu_job *job, size_t task, uint32_t *n, uint32_t *oy0,
		    uint32_t *oy1)
{
	uint32_t bands = (job->s.out_h + DW_BAND - 1) / DW_BAND;

	*n = (uint32_t)(task / bands);
	*oy0 = (uint32_t)(task % bands) * DW_BAND;
	*oy1 = *oy0 + DW_BAND < job->s.out_h ? *oy0 + DW_BAND : job->s.out_h;
}

static size_t dw_tasks(const struct cpu_job *job)
{
	return (size_t)job->s.out_n * ((job->s.out_h + DW_BAND - 1) / DW_BAND);
}

/* --- 3x3, stride_w 1 or 2: columns of bytes and vpdpbusd ------------------- */

/*
 * Input row iy (a padding row outside the image) of image n into ring slot
 * slot of the blocks cb0 .. cb0+g-1, one block after the other (the row's
 * bytes, 10.5 KiB in dw3x3, stay in L1 meanwhile).
 */
static void dw3_prepare(const struct dw_plan *dp, uint8_t *ring, uint32_t n, int64_t iy,
			uint32_t cb0, uint32_t g, uint32_t slot)
{
	const struct nhot_layer *l = dp->job->l;
	const __m128i zin = _mm_set1_epi8((char)l->in_zero);
	/* Locals: the stores below may alias *l as far as the compiler knows. */
	const uint32_t pad_left = l->pad_left, in_w = l->in_w, span = dp->span, C = l->in_c;
	const size_t ring_bytes = dp->ring_bytes;
	const __mmask16 last = dw_lanes(dp, cb0 + g - 1);
	uint8_t *dst = ring + (size_t)slot * 16;
	const uint8_t *line;
	uint32_t px, b;

	if (iy < 0 || iy >= l->in_h) {
		for (b = 0; b < g; b++)
			for (px = 0; px < span; px++)
				_mm_store_si128((void *)(dst + b * ring_bytes + (size_t)px * 64), zin);
		return;
	}
	line = dp->job->t->input + (((size_t)n * l->in_h + (size_t)iy) * in_w) * C + cb0 * 16;
	for (b = 0; b < g; b++) {
		for (px = 0; px < pad_left; px++)
			_mm_store_si128((void *)(dst + b * ring_bytes + (size_t)px * 64), zin);
		for (px = pad_left + in_w; px < span; px++)
			_mm_store_si128((void *)(dst + b * ring_bytes + (size_t)px * 64), zin);
	}
	for (b = 0; b < g; b++) {
		const uint8_t *src = line + b * 16;
		uint8_t *d = dst + b * ring_bytes + (size_t)pad_left * 64;
		const __mmask16 m = b + 1 < g ? 0xffff : last;

		/* Two pixels a step: 173 -> 163 us (dw3x3, p10) over one. */
		for (px = 0; px + 2 <= in_w; px += 2, src += 2 * (size_t)C, d += 128) {
			__m128i x0 = _mm_maskz_loadu_epi8(m, src), x1 = _mm_maskz_loadu_epi8(m, src + C);

			_mm_store_si128((void *)d, x0);
			_mm_store_si128((void *)(d + 64), x1);
		}
		if (px < in_w)
			_mm_store_si128((void *)d, _mm_maskz_loadu_epi8(m, src));
	}
}

/*
 * vpermb index for a window whose first row is in slot r: byte 4c + k <-
 * byte 16 * ((r + k) mod 4) + c, channel c's value in row k of the window
 * (k = 3: the slot outside the window, whose weight is 0).
 */
static __m512i dw3_column_index(uint32_t r)
{
	int8_t idx[64];
	uint32_t c, k;

	for (c = 0; c < 16; c++)
		for (k = 0; k < 4; k++)
			idx[4 * c + k] = (int8_t)(16 * ((r + k) % DW3_SLOTS) + c);
	return _mm512_loadu_si512(idx);
}

/* Window column px of a ring: channel c's dword holds its 3 rows (see above). */
static inline __m512i dw3_column(const uint8_t *ring, uint32_t px, __m512i idx)
{
	return _mm512_permutexvar_epi8(idx, _mm512_load_si512(ring + (size_t)px * 64));
}

/* The accumulator of one output vector from the 3 columns of its window. */
static inline __m512i dw3_acc(__m512i bias, __m512i c0, __m512i c1, __m512i c2,
			      const __m512i w[3])
{
	__m512i a = _mm512_dpbusd_epi32(bias, c0, w[0]);

	a = _mm512_dpbusd_epi32(a, c1, w[1]);
	return _mm512_dpbusd_epi32(a, c2, w[2]);
}

static inline void dw3_store(uint8_t *dst, __m512i acc, const struct epi_block *e,
			     const struct epi_consts *k, __mmask16 m)
{
	dw_store16(dst, k->hi_ok ? requant16_hi(acc, e, k) : requant16_biased(acc, e, k), m);
}

/*
 * One output row of block cb, window rows from ring slot r on: column px
 * enters the three outputs ox = px-2..px. Two outputs a step, both chains
 * before both epilogues (238 -> 220 us, dw3x3 p10 on a loaded machine).
 * Constants are locals: the byte stores could alias the plan.
 */
static void dw3_row(const struct dw_plan *dp, const uint8_t *ring, uint32_t cb, uint32_t r,
		    uint8_t *out)
{
	const __m512i idx = dp->column[r];
	const __m512i *wb = dp->w + (size_t)cb * dp->w_vectors;
	const __m512i w[3] = { wb[0], wb[1], wb[2] };
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = dp->job->l->in_c;
	const __mmask16 m = dw_lanes(dp, cb);
	__m512i c0 = dw3_column(ring, 0, idx), c1 = dw3_column(ring, 1, idx);
	uint32_t ox;

	for (ox = 0; ox + 2 <= out_w; ox += 2) {
		__m512i c2 = dw3_column(ring, ox + 2, idx), c3 = dw3_column(ring, ox + 3, idx);
		__m512i a0 = dw3_acc(e.bias, c0, c1, c2, w), a1 = dw3_acc(e.bias, c1, c2, c3, w);

		dw3_store(out + (size_t)ox * C, a0, &e, &k, m);
		dw3_store(out + (size_t)(ox + 1) * C, a1, &e, &k, m);
		c0 = c2;
		c1 = c3;
	}
	if (ox < out_w)
		dw3_store(out + (size_t)ox * C,
			  dw3_acc(e.bias, c0, c1, dw3_column(ring, ox + 2, idx), w), &e, &k, m);
}

/* dw3_row() at stride_w 2: output ox has columns 2ox..2ox+2, the first the last one's. */
static void dw3_row_s2(const struct dw_plan *dp, const uint8_t *ring, uint32_t cb, uint32_t r,
		       uint8_t *out)
{
	const __m512i idx = dp->column[r];
	const __m512i *wb = dp->w + (size_t)cb * dp->w_vectors;
	const __m512i w[3] = { wb[0], wb[1], wb[2] };
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = dp->job->l->in_c;
	const __mmask16 m = dw_lanes(dp, cb);
	__m512i c0 = dw3_column(ring, 0, idx);
	uint32_t ox;

	for (ox = 0; ox < out_w; ox++) {
		__m512i c1 = dw3_column(ring, 2 * ox + 1, idx), c2 = dw3_column(ring, 2 * ox + 2, idx);

		dw3_store(out + (size_t)ox * C, dw3_acc(e.bias, c0, c1, c2, w), &e, &k, m);
		c0 = c2;
	}
}

/*
 * Four full blocks of one output row (64 channels, either stride_w) when
 * every channel's shift is >= 33: pack4_u8() narrows the four results at
 * once and one 64-byte store writes them, 1.5 operations per 16 outputs
 * where requant16_hi() takes 3 (dw3x3, 4 of its 6 blocks this way: 157 ->
 * 150 us p10 at 1 thread, 108 -> 97 us at 2).
 */
static inline __attribute__((always_inline)) void
dw3_row4_at(const struct dw_plan *dp, const uint8_t *ring, uint32_t cb, uint32_t r, uint8_t *out,
	    const uint32_t stride)
{
	const __m512i idx = dp->column[r];
	const __m512i *w = dp->w + (size_t)cb * dp->w_vectors;
	const struct epi_block *e = dp->epi + cb;
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = dp->job->l->in_c;
	const size_t rb = dp->ring_bytes;
	__m512i c0[4], c1[4];
	uint32_t ox, j;

#pragma GCC unroll 4
	for (j = 0; j < 4; j++) {
		c0[j] = dw3_column(ring + j * rb, 0, idx);
		c1[j] = dw3_column(ring + j * rb, 1, idx);
	}
	for (ox = 0; ox < out_w; ox++) {
		__m512i v[4];

#pragma GCC unroll 4
		for (j = 0; j < 4; j++) {
			__m512i c2 = dw3_column(ring + j * rb, stride * ox + 2, idx);

			if (stride == 2 && ox > 0)
				c1[j] = dw3_column(ring + j * rb, 2 * ox + 1, idx);
			v[j] = requant32_hi(dw3_acc(e[j].bias, c0[j], c1[j], c2, w + 3 * j),
					    &e[j], &k);
			/* The next window starts at this one's second column, or third. */
			c0[j] = stride == 1 ? c1[j] : c2;
			c1[j] = c2;
		}
		_mm512_storeu_si512(out + (size_t)ox * C, pack4_u8(v[0], v[1], v[2], v[3], &k));
	}
}

/* dw3_row4_at() with the stride a constant: a run-time one costs 170 -> 184 us in dw3x3. */
static void dw3_row4(const struct dw_plan *dp, const uint8_t *ring, uint32_t cb, uint32_t r,
		     uint8_t *out)
{
	if (dp->job->l->stride_w == 1)
		dw3_row4_at(dp, ring, cb, r, out, 1);
	else
		dw3_row4_at(dp, ring, cb, r, out, 2);
}

/* One output row of the group's blocks cb0 .. cb0+g-1: by four where they qualify. */
static void dw3_group_row(const struct dw_plan *dp, const uint8_t *ring, uint32_t cb0,
			  uint32_t g, uint32_t r, uint8_t *out)
{
	uint32_t cb = 0;

	while (cb < g) {
		const uint8_t *rc = ring + cb * dp->ring_bytes;
		uint8_t *oc = out + (size_t)(cb0 + cb) * 16;

		if (dp->consts.hi_ok && cb + 4 <= g && dw_lanes(dp, cb0 + cb + 3) == 0xffff) {
			dw3_row4(dp, rc, cb0 + cb, r, oc);
			cb += 4;
		} else {
			if (dp->job->l->stride_w == 1)
				dw3_row(dp, rc, cb0 + cb, r, oc);
			else
				dw3_row_s2(dp, rc, cb0 + cb, r, oc);
			cb++;
		}
	}
}

/*
 * Task: a band of output rows, a group of blocks at a time. Slot iy mod 4
 * holds row iy; a window's 3 rows are consecutive, so distinct slots.
 */
static void dw3_task(void *arg, size_t task, int worker)
{
	const struct dw_plan *dp = arg;
	const struct cpu_job *job = dp->job;
	const struct nhot_layer *l = job->l;
	uint8_t *ring = dp->scratch + (size_t)worker * dp->scratch_bytes;
	uint32_t n, oy0, oy1, oy, cb0, ky;

	dw_band(job, task, &n, &oy0, &oy1);
	for (cb0 = 0; cb0 < dp->cblocks; cb0 += dp->group) {
		uint32_t g = dp->cblocks - cb0 < dp->group ? dp->cblocks - cb0 : dp->group;
		int64_t tag[DW3_SLOTS] = { INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN };

		for (oy = oy0; oy < oy1; oy++) {
			int64_t iy0 = (int64_t)oy * l->stride_h - l->pad_top;
			/* iy mod 4 of a negative iy too (two's complement). */
			uint32_t r = (uint32_t)iy0 % DW3_SLOTS;
			uint8_t *out = job->t->output +
				       ((size_t)n * job->s.out_h + oy) * job->s.out_w * l->in_c;

			for (ky = 0; ky < 3; ky++) {
				uint32_t slot = (r + ky) % DW3_SLOTS;

				if (tag[slot] != iy0 + ky) {
					dw3_prepare(dp, ring, n, iy0 + ky, cb0, g, slot);
					tag[slot] = iy0 + ky;
				}
			}
			dw3_group_row(dp, ring, cb0, g, r, out);
		}
	}
}

/* Weights: [block][kx][16 channels][4 bytes], byte ky = w(c, ky, kx), byte 3 = 0. */
static void dw3_weights(const struct dw_plan *dp, const int8_t *rows)
{
	int8_t *w = (int8_t *)dp->w;
	uint32_t c, ky, kx;

	for (c = 0; c < dp->job->l->in_c; c++)
		for (kx = 0; kx < 3; kx++)
			for (ky = 0; ky < 3; ky++)
				w[((size_t)(c / 16) * 3 + kx) * 64 + (c % 16) * 4 + ky] =
					rows[(size_t)c * 9 + ky * 3 + kx];
}

/* --- every other shape: 32-bit lanes and vpdpwssd -------------------------- */

static void dwx_prepare(const struct dw_plan *dp, uint32_t n, int64_t iy, uint32_t c0,
			__mmask16 m, __m512i *row)
{
	const struct nhot_layer *l = dp->job->l;
	const __m512i zin = _mm512_set1_epi32((int)l->in_zero);
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
	for (px = 0; px < in_w; px++)
		row[pad_left + px] = _mm512_cvtepu8_epi32(
			_mm_maskz_loadu_epi8(m, line + (size_t)px * C));
	for (px = pad_left + in_w; px < span; px++)
		row[px] = zin;
}

static void dwx_row(const struct dw_plan *dp, const __m512i *const *rows, uint32_t cb,
		    uint8_t *out)
{
	const struct nhot_layer *l = dp->job->l;
	const int32_t *wb = (const int32_t *)(dp->w + (size_t)cb * dp->w_vectors);
	const struct epi_block e = dp->epi[cb];
	const struct epi_consts k = dp->consts;
	const uint32_t out_w = dp->job->s.out_w, C = l->in_c, KH = l->kernel_h;
	const uint32_t KW = l->kernel_w, stride = l->stride_w, dil = l->dilation_w;
	const __mmask16 m = dw_lanes(dp, cb);
	uint32_t ox, ky, kx;

	for (ox = 0; ox < out_w; ox++) {
		__m512i acc = e.bias;

		for (ky = 0; ky < KH; ky++) {
			const __m512i *row = rows[ky] + ox * stride;
			const int32_t *wk = wb + (size_t)ky * KW * 16;

			for (kx = 0; kx < KW; kx++)
				acc = _mm512_dpwssd_epi32(acc, row[kx * dil],
							  _mm512_loadu_si512(wk + kx * 16));
		}
		dw_store16(out + (size_t)ox * C, requant16_biased(acc, &e, &k), m);
	}
}

/*
 * Task: a band of output rows, one block at a time. With stride_h =
 * dilation_h = 1 the widened rows live in slot iy mod KH (distinct within a
 * window) and are widened once per band and block, not once per output row.
 */
static void dwx_task(void *arg, size_t task, int worker)
{
	const struct dw_plan *dp = arg;
	const struct cpu_job *job = dp->job;
	const struct nhot_layer *l = job->l;
	const uint32_t KH = l->kernel_h;
	const int reuse = l->stride_h == 1 && l->dilation_h == 1;
	__m512i *rows = (__m512i *)(dp->scratch + (size_t)worker * dp->scratch_bytes);
	uint32_t n, oy0, oy1, oy, cb, ky;

	dw_band(job, task, &n, &oy0, &oy1);
	for (cb = 0; cb < dp->cblocks; cb++) {
		int64_t tag[NHOT_MAX_KERNEL];
		const __m512i *rp[NHOT_MAX_KERNEL];

		for (ky = 0; ky < KH; ky++)
			tag[ky] = INT64_MIN;
		for (oy = oy0; oy < oy1; oy++) {
			for (ky = 0; ky < KH; ky++) {
				int64_t iy = (int64_t)oy * l->stride_h - l->pad_top +
					     (int64_t)ky * l->dilation_h;
				uint32_t slot = reuse ? (uint32_t)(((iy % KH) + KH) % KH) : ky;
				__m512i *row = rows + (size_t)slot * dp->span;

				if (!reuse || tag[slot] != iy) {
					dwx_prepare(dp, n, iy, cb * 16, dw_lanes(dp, cb), row);
					tag[slot] = iy;
				}
				rp[ky] = row;
			}
			dwx_row(dp, rp, cb, job->t->output +
				((size_t)n * job->s.out_h + oy) * job->s.out_w * l->in_c + cb * 16);
		}
	}
}

/* Weights: [block][tap][16 channels] as (uint16_t)w in an int32. */
static void dwx_weights(const struct dw_plan *dp, const int8_t *rows, uint32_t taps)
{
	int32_t *w = (int32_t *)dp->w;
	uint32_t c, t;

	for (c = 0; c < dp->job->l->in_c; c++)
		for (t = 0; t < taps; t++)
			w[((size_t)(c / 16) * taps + t) * 16 + c % 16] =
				(uint16_t)(int16_t)rows[(size_t)c * taps + t];
}

/* --------------------------------------------------------------------------- */

static int dw_is_3x3(const struct nhot_layer *l)
{
	return l->kernel_h == 3 && l->kernel_w == 3 && l->stride_w <= 2 &&
	       l->dilation_h == 1 && l->dilation_w == 1;
}

/* Sizes of the chosen kernel's weights and per-worker buffers. */
static void dw_plan_sizes(struct dw_plan *dp)
{
	const struct nhot_layer *l = dp->job->l;
	uint32_t r;

	if (dw_is_3x3(l)) {
		dp->ring_bytes = (size_t)dp->span * 64;
		dp->group = (uint32_t)(DW3_RING_BUDGET / dp->ring_bytes);
		dp->group = dp->group < 1 ? 1 : dp->group > dp->cblocks ? dp->cblocks : dp->group;
		dp->scratch_bytes = dp->ring_bytes * dp->group;
		dp->w_vectors = 3;
		for (r = 0; r < DW3_SLOTS; r++)
			dp->column[r] = dw3_column_index(r);
	} else {
		dp->ring_bytes = (size_t)dp->span * sizeof(__m512i);
		dp->scratch_bytes = dp->ring_bytes * l->kernel_h;
		dp->w_vectors = (size_t)l->kernel_h * l->kernel_w;
	}
}

int cpu_dw_conv_avx512(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct dw_plan dp = { .job = job };
	uint32_t C = l->in_c, taps = l->kernel_h * l->kernel_w, c;
	const int is3x3 = dw_is_3x3(l);
	int8_t *rows = NULL;
	int32_t *rowsum = NULL;
	int ret = -ENOMEM;

	dp.cblocks = (C + 15) / 16;
	dp.span = l->pad_left + l->in_w + l->pad_right;
	dw_plan_sizes(&dp);
	rows = cpu_alloc((size_t)C * taps);
	rowsum = cpu_alloc(sizeof(*rowsum) * C);
	dp.w = cpu_zalloc(sizeof(__m512i) * dp.w_vectors * dp.cblocks);
	dp.epi = cpu_alloc(sizeof(struct epi_block) * dp.cblocks);
	dp.scratch = cpu_alloc(dp.scratch_bytes * (size_t)job->threads);
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
	if (is3x3)
		dw3_weights(&dp, rows);
	else
		dwx_weights(&dp, rows, taps);
	cpu_epi_blocks_build(job, 0, C, dp.epi);
	cpu_epi_consts_init(job, &dp.consts);
	cpu_parallel(job->threads, dw_tasks(job), is3x3 ? dw3_task : dwx_task, &dp);
	ret = 0;
out_free:
	cpu_free(dp.scratch);
	cpu_free(dp.epi);
	cpu_free(dp.w);
	cpu_free(rowsum);
	cpu_free(rows);
	return ret;
}
