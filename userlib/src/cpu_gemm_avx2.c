// SPDX-License-Identifier: MIT
/*
 * The AVX2 backend: CONV2D and FC as an int16 GEMM per group.
 *
 * vpmaddubsw (u8 x s8) would be the obvious instruction, but it saturates
 * the pairwise 16-bit sum (255 * 127 * 2 > 32767), which would break the
 * bit-exact contract. Instead inputs are widened to u16 and weights to s16,
 * and vpmaddwd forms exact pairwise sums in 32 bits (at most 64770 each):
 * per k pair, a broadcast of two input values against 8 channels x 2 weights.
 * The accumulator is acc = bias - in_zero * rowsum + sum(x * w) (mod 2^32),
 * exactly the reference's value (docs/arith.md 3).
 *
 * Weights are decoded by the portable decoder, then laid out in panels of
 * 24 channels: per k pair, 24 x 2 s16. A 4-row x 24-channel tile keeps 12
 * accumulators in registers; its results are requantized per value.
 * Depthwise layers, with one channel per group, use the portable kernel.
 */
#include <errno.h>
#include <immintrin.h>
#include <string.h>

#include "cpu_conv.h"

#define PANEL_COLS	24	/* 3 vectors of 8 channels */
#define TILE_ROWS	4
#define A_BLOCK_ROWS	64

static int avx2_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

struct avx2_plan {
	const struct cpu_job *job;
	uint32_t kp;		/* K rounded up to 2 */
	uint32_t panels;	/* per group */
	size_t panel_elems;	/* int16 per panel: kp * PANEL_COLS */
	int16_t *b;		/* groups * panels panels */
	uint32_t m;		/* output positions */
	uint32_t mblocks;
	uint16_t *scratch;	/* per worker: A_BLOCK_ROWS * kp */
	uint8_t *row8;		/* per worker: one im2col row of u8 */
	/*
	 * When every channel has M = 0 or shift >= 33: the 32-bit epilogue of
	 * cpu_gemm_avx512.c (its comment has the proof), else NULL.
	 */
	int32_t *mult32, *round32, *shift32;	/* [out_c + 8] */
};

/*
 * Fills the 32-bit epilogue constants when the layer allows them (see above);
 * leaves them NULL otherwise. 0 or -ENOMEM.
 */
static int epilogue32_prepare(struct avx2_plan *ap)
{
	const struct cpu_job *job = ap->job;
	uint32_t o, n = job->l->out_c;

	for (o = 0; o < n; o++)
		if (job->mult[o] && job->shift[o] < 33)
			return 0;
	/* Padded by 8 zero channels: the vector loads of a tail stay inside. */
	ap->mult32 = cpu_zalloc(sizeof(int32_t) * (n + 8));
	ap->round32 = cpu_zalloc(sizeof(int32_t) * (n + 8));
	ap->shift32 = cpu_zalloc(sizeof(int32_t) * (n + 8));
	if (!ap->mult32 || !ap->round32 || !ap->shift32)
		return -ENOMEM;
	for (o = 0; o < n + 8; o++) {
		int64_t m = o < n ? job->mult[o] : 0, sh = o < n ? job->shift[o] : 0;

		ap->mult32[o] = (int32_t)m;
		ap->round32[o] = m ? (int32_t)1 << (sh - 33) : 0;
		ap->shift32[o] = m ? (int32_t)(sh - 32) : 1;
	}
	return 0;
}

/*
 * Output bytes out[0..8) of channels o..o+7 from their accumulators (bias
 * included): rq(v) = (hi32(v * M) + 2^(s-33)) >> (s-32), clamped.
 */
static inline void requant8(const struct avx2_plan *ap, __m256i acc, uint32_t o, uint8_t *out)
{
	const struct nhot_layer *l = ap->job->l;
	__m256i m = _mm256_loadu_si256((const void *)(ap->mult32 + o));
	__m256i pe = _mm256_mul_epi32(acc, m);
	__m256i po = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(m, 32));
	/* The high dwords: pe's moved down into the even lanes, po's in place. */
	__m256i r = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xaa);
	__m128i w;

	r = _mm256_add_epi32(r, _mm256_loadu_si256((const void *)(ap->round32 + o)));
	r = _mm256_srav_epi32(r, _mm256_loadu_si256((const void *)(ap->shift32 + o)));
	r = _mm256_add_epi32(r, _mm256_set1_epi32((int)l->out_zero));
	r = _mm256_max_epi32(r, _mm256_set1_epi32((int)l->act_min));
	r = _mm256_min_epi32(r, _mm256_set1_epi32((int)l->act_max));
	/* 0..255 now: the saturating packs narrow exactly. */
	w = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
	_mm_storel_epi64((void *)out, _mm_packus_epi16(w, w));
}

/* C[r][0..24) = sum over k of A[r][k] * B[k][c], for rows rows (<= TILE_ROWS). */
static void tile(const struct avx2_plan *ap, const uint16_t *a, const int16_t *b,
		 uint32_t rows, int32_t c[TILE_ROWS][PANEL_COLS])
{
	__m256i acc[TILE_ROWS][3];
	uint32_t kk, r, n;

	for (r = 0; r < TILE_ROWS; r++)
		for (n = 0; n < 3; n++)
			acc[r][n] = _mm256_setzero_si256();
	for (kk = 0; kk < ap->kp; kk += 2) {
		const int16_t *bp = b + (size_t)kk * PANEL_COLS;
		__m256i b0 = _mm256_loadu_si256((const void *)bp);
		__m256i b1 = _mm256_loadu_si256((const void *)(bp + 16));
		__m256i b2 = _mm256_loadu_si256((const void *)(bp + 32));

		for (r = 0; r < TILE_ROWS; r++) {
			int32_t pair;
			__m256i av;

			/* Rows past the end repeat the last one; their sums are not used. */
			memcpy(&pair, a + (size_t)(r < rows ? r : rows - 1) * ap->kp + kk,
			       sizeof(pair));
			av = _mm256_set1_epi32(pair);
			acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
			acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
			acc[r][2] = _mm256_add_epi32(acc[r][2], _mm256_madd_epi16(av, b2));
		}
	}
	for (r = 0; r < rows; r++)
		for (n = 0; n < 3; n++)
			_mm256_storeu_si256((void *)&c[r][n * 8], acc[r][n]);
}

/* Row m of group g's im2col matrix, widened to u16 (tail zero). */
static void pack_a_row(const struct avx2_plan *ap, uint32_t m, uint32_t g, uint8_t *row8,
		       uint16_t *dst)
{
	const struct cpu_job *job = ap->job;
	uint32_t ow = job->s.out_w, oh = job->s.out_h, k = job->s.k, i;
	const uint8_t *src = row8;

	if (job->l->type == NHOT_LAYER_FC)
		src = job->t->input + (size_t)m * k;
	else
		cpu_im2col_row(job, m / (oh * ow), m / ow % oh, m % ow, g, row8);
	for (i = 0; i + 16 <= k; i += 16)
		_mm256_storeu_si256((void *)(dst + i),
				    _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(src + i))));
	for (; i < ap->kp; i++)
		dst[i] = i < k ? src[i] : 0;
}

static void avx2_task(void *arg, size_t task, int worker)
{
	const struct avx2_plan *ap = arg;
	const struct cpu_job *job = ap->job;
	uint32_t g = (uint32_t)(task / ap->mblocks), mb = (uint32_t)(task % ap->mblocks);
	uint32_t m0 = mb * A_BLOCK_ROWS, rows = ap->m - m0 < A_BLOCK_ROWS ? ap->m - m0 : A_BLOCK_ROWS;
	uint16_t *a = ap->scratch + (size_t)worker * A_BLOCK_ROWS * ap->kp;
	uint8_t *row8 = ap->row8 + (size_t)worker * job->s.k;
	uint32_t out_c = job->l->out_c, p, r, i, j;
	int32_t c[TILE_ROWS][PANEL_COLS];

	for (r = 0; r < rows; r++)
		pack_a_row(ap, m0 + r, g, row8, a + (size_t)r * ap->kp);
	for (p = 0; p < ap->panels; p++) {
		const int16_t *b = ap->b + ((size_t)g * ap->panels + p) * ap->panel_elems;
		uint32_t j0 = p * PANEL_COLS;
		uint32_t ncols = job->og - j0 < PANEL_COLS ? job->og - j0 : PANEL_COLS;

		for (r = 0; r < rows; r += TILE_ROWS) {
			uint32_t tr = rows - r < TILE_ROWS ? rows - r : TILE_ROWS;

			tile(ap, a + (size_t)r * ap->kp, b, tr, c);
			for (i = 0; i < tr; i++) {
				uint8_t *out = job->t->output + (size_t)(m0 + r + i) * out_c +
					       g * job->og + j0;

				j = 0;
				if (ap->mult32) {
					for (; j + 8 <= ncols; j += 8) {
						uint32_t o = g * job->og + j0 + j;
						__m256i v = _mm256_add_epi32(
							_mm256_loadu_si256((const void *)&c[i][j]),
							_mm256_loadu_si256((const void *)(job->bias_adj + o)));

						requant8(ap, v, o, out + j);
					}
				}
				for (; j < ncols; j++) {
					uint32_t o = g * job->og + j0 + j;
					uint32_t acc = (uint32_t)job->bias_adj[o] + (uint32_t)c[i][j];

					out[j] = cpu_requant(job, (int32_t)acc, o);
				}
			}
		}
	}
}

/* Decodes every row and lays the weights out as int16 panels. */
static int decode_panels(struct avx2_plan *ap, int32_t *rowsum)
{
	const struct cpu_job *job = ap->job;
	uint32_t k = job->s.k, o, i;
	int8_t *row = cpu_alloc(k);
	int ret = 0;

	if (!row)
		return -ENOMEM;
	for (o = 0; o < job->l->out_c && !ret; o++) {
		uint32_t g = o / job->og, j = o % job->og;
		int16_t *panel = ap->b + ((size_t)g * ap->panels + j / PANEL_COLS) * ap->panel_elems;
		uint32_t col = j % PANEL_COLS;

		ret = cpu_decode_row(job, o, row, &rowsum[o]);
		for (i = 0; i < k && !ret; i++)
			panel[(size_t)(i / 2) * PANEL_COLS * 2 + col * 2 + i % 2] = row[i];
	}
	cpu_free(row);
	return ret;
}

static int avx2_conv(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct avx2_plan ap = { .job = job };
	int32_t *rowsum;
	int ret = -ENOMEM;

	/* One channel per group: a GEMM of width 1 is the portable kernel's job. */
	if (l->type == NHOT_LAYER_CONV2D && job->cg == 1 && job->og == 1)
		return cpu_backend_portable.conv(job);

	ap.kp = (job->s.k + 1) & ~1u;
	ap.panels = (job->og + PANEL_COLS - 1) / PANEL_COLS;
	ap.panel_elems = (size_t)ap.kp * PANEL_COLS;
	ap.m = (uint32_t)(job->s.out_n * job->s.out_h * job->s.out_w);
	ap.mblocks = (ap.m + A_BLOCK_ROWS - 1) / A_BLOCK_ROWS;
	rowsum = cpu_alloc(sizeof(*rowsum) * l->out_c);
	/* Zeroed: the padding channels and the odd k of a pair have weight 0. */
	ap.b = cpu_zalloc(sizeof(int16_t) * ap.panel_elems * ap.panels * job->groups);
	ap.scratch = cpu_alloc(sizeof(uint16_t) * A_BLOCK_ROWS * ap.kp * job->threads);
	ap.row8 = cpu_alloc((size_t)job->s.k * job->threads);
	if (!rowsum || !ap.b || !ap.scratch || !ap.row8)
		goto out_free;
	ret = decode_panels(&ap, rowsum);
	if (!ret)
		ret = cpu_epilogue_prepare(job, rowsum);
	if (!ret)
		ret = epilogue32_prepare(&ap);
	if (!ret)
		cpu_parallel(job->threads, (size_t)job->groups * ap.mblocks, avx2_task, &ap);
out_free:
	cpu_free(ap.shift32);
	cpu_free(ap.round32);
	cpu_free(ap.mult32);
	cpu_free(ap.row8);
	cpu_free(ap.scratch);
	cpu_free(ap.b);
	cpu_free(rowsum);
	return ret;
}

const struct cpu_backend cpu_backend_avx2 = {
	.name = "avx2",
	.supported = avx2_supported,
	.conv = avx2_conv,
	.add = cpu_add_portable,
	.pool = cpu_pool_portable,
};
