// SPDX-License-Identifier: MIT
/*
 * The AVX-512 VNNI backend (needs F, BW, VL, DQ, VNNI and VBMI).
 *
 * CONV2D and FC are one int8 GEMM per group: C[m][j] = sum_k A[m][k] * B[k][j]
 * with A the im2col rows (u8, read in place for pointwise layers and FC) and
 * B the decoded weights (s8). vpdpbusd multiplies 4 u8 by 4 s8 and adds the
 * four products to an s32 lane, exactly, so
 *     acc = bias - in_zero * rowsum(w) + sum(x * w)        (mod 2^32)
 * equals the reference's accumulator bit for bit (docs/arith.md 3 keeps the
 * final value within int32; every intermediate wraps harmlessly).
 *
 * The weights are decoded with VBMI (vpermb gathers the bytes of 8 codes per
 * qword, vpmultishiftqb extracts them, vpermi2b maps code -> value and code
 * -> NAF term count), 16 rows at a time, and transposed into panels of
 * NB x 16 output channels: per 4 consecutive k, 16 channels x 4 bytes, which
 * is what a vpdpbusd against a broadcast of 4 input bytes needs. The panels
 * are kept for the next call with the same codes (cpu_panel_cache.c). A
 * register tile of R rows x NB*16 channels accumulates over the whole K and
 * is requantized in registers (64-bit lanes, docs/arith.md 2.1).
 *
 * FC with a batch of at most GEMV_MAX_ROWS decodes on the fly instead, from
 * the packed codes (fewer bytes than int8 weights): cpu_gemv_avx512.c. Depthwise
 * layers (one input and one output channel per group) have their own
 * kernel: 16 channels per vpdpwssd, each input widened once per row.
 */
#include <errno.h>
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv.h"
#include "cpu_epi_avx512.h"

/* Bytes of A rows packed per task (im2col), to stay in L2. */
#define A_BLOCK_BYTES	(96 * 1024)
#define R_MAX		16
/*
 * Convolutions with Cg % 4 == 0 and at most this many taps read A in place
 * (one segment per tap, gemm_task()) instead of packing im2col rows.
 */
#define DIRECT_MAX_TAPS	25
/*
 * FC batches up to this decode their weights on the fly (cpu_gemv_fc_avx512()). Larger
 * ones amortise decoded, cached panels better: at batch 4 the panel GEMM
 * took 55 us against 94 us on the fly for 1280 x 1000 here; at batch 1 both
 * took ~60 us, and on the fly reads fewer bytes and keeps nothing.
 */
#define GEMV_MAX_ROWS	1

static int avx512_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
}

static inline int32_t load32(const void *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------------- */
/* Weight decoding                                                        */

/* The decoder's constant vectors for one (n, b). */
struct code_tables {
	int bits;
	__m512i gather;		/* byte j*8+m <- byte j*bits + m of the source */
	__m512i fields;		/* multishift control: bit offset m*bits in qword j */
	__m512i mask;		/* (1 << bits) - 1 per byte */
	__m512i size;		/* |S| per byte (as u8; 255 max) */
	__m512i value[4];	/* value of code 0..255, 64 per vector */
	__m512i terms[4];	/* NAF term count of code 0..255 */
};

static void build_code_tables(const struct cpu_job *job, struct code_tables *ct)
{
	const struct nhot_set_table *set = &job->set;
	int8_t value[256] = { 0 }, terms[256] = { 0 }, gather[64], fields[64];
	int i;

	ct->bits = set->code_bits;
	for (i = 0; i < set->size; i++) {
		value[i] = (int8_t)set->value[i];
		terms[i] = (int8_t)job->terms[i];
	}
	for (i = 0; i < 64; i++) {
		gather[i] = (int8_t)((i / 8) * ct->bits + i % 8);
		fields[i] = (int8_t)((i % 8) * ct->bits);
	}
	ct->gather = _mm512_loadu_si512(gather);
	ct->fields = _mm512_loadu_si512(fields);
	ct->mask = _mm512_set1_epi8((char)((1 << ct->bits) - 1));
	ct->size = _mm512_set1_epi8((char)set->size);
	for (i = 0; i < 4; i++) {
		ct->value[i] = _mm512_loadu_si512(value + 64 * i);
		ct->terms[i] = _mm512_loadu_si512(terms + 64 * i);
	}
}

static inline __m512i lookup256(const __m512i t[4], __m512i codes, int bits)
{
	__m512i lo = _mm512_permutex2var_epi8(t[0], codes, t[1]);
	__m512i hi;

	if (bits < 8)
		return lo;
	hi = _mm512_permutex2var_epi8(t[2], codes, t[3]);
	return _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), lo, hi);
}

/*
 * Codes chunk*64 .. chunk*64 + 63 of a row (lanes beyond k: code 0, flagged
 * invalid-free by valid). Returns the codes; *valid masks the lanes < k.
 */
static inline __m512i load_codes(const uint8_t *row, size_t row_bytes, uint32_t chunk,
				 uint32_t k, const struct code_tables *ct, __mmask64 *valid)
{
	size_t off = (size_t)chunk * 8 * ct->bits;
	size_t avail = row_bytes - off;
	__mmask64 lmask = avail >= 64 ? ~0ULL : ((1ULL << avail) - 1);
	uint32_t left = k - chunk * 64;
	__m512i raw = _mm512_maskz_loadu_epi8(lmask, row + off);

	*valid = left >= 64 ? ~0ULL : ((1ULL << left) - 1);
	raw = _mm512_permutexvar_epi8(ct->gather, raw);
	raw = _mm512_multishift_epi64_epi8(ct->fields, raw);
	return _mm512_and_si512(raw, ct->mask);
}

static void transpose16x16(__m512i r[16])
{
	__m512i t[16];
	int i, c;

	for (i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
	for (i = 0; i < 4; i++) {
		r[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i + 0], t[4 * i + 2]);
		r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i + 0], t[4 * i + 2]);
		r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
		r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
	}
	for (c = 0; c < 4; c++) {
		__m512i x0 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x44);
		__m512i x1 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xee);
		__m512i y0 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x44);
		__m512i y1 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xee);

		t[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
		t[4 + c] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
		t[8 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
		t[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
	}
	for (i = 0; i < 16; i++)
		r[i] = t[i];
}

/* The GEMM view of a CONV2D/FC job. */
struct gemm_plan {
	const struct cpu_job *job;
	struct code_tables ct;
	uint32_t nb;		/* 16-channel vectors per panel */
	uint32_t rmax;		/* rows per register tile */
	uint32_t kp;		/* K rounded up to 4 */
	uint32_t kblocks;	/* kp / 4 */
	uint32_t panels;	/* per group */
	uint32_t blk16;		/* 16-channel blocks per group */
	size_t panel_bytes;
	int8_t *b;		/* groups * panels panels */
	int32_t *rowsum;	/* [out_c] */
	struct cpu_panels *cached;	/* owner of b and rowsum, if kept */
	uint32_t **colterms;	/* per worker [k], while decoding */
	const struct epi_block *epi;	/* groups * blk16 (+ 4 zero blocks) */
	struct epi_consts consts;
	void *epi_owned;	/* the buffer of epi unless the panel cache keeps it */
	/* A */
	int direct;		/* A rows read in place */
	size_t lda;
	uint32_t m;		/* output positions */
	uint32_t mc;		/* rows per task */
	uint32_t mblocks;
	uint32_t pchunks;	/* panel ranges per (group, mblock) */
	uint32_t taps;		/* A segments per row: KH * KW for a direct convolution, else 1 */
	uint32_t kpt;		/* k-blocks per segment */
	uint8_t *zrow;		/* direct convolution: Cg bytes of in_zero (padding) */
	ptrdiff_t toff[DIRECT_MAX_TAPS];	/* ... tap t's input offset from tap 0's */
	size_t pix_lda;		/* ... input bytes between neighbouring positions */
	uint8_t *scratch;	/* per worker: mc * kp bytes, or mc * taps segment pointers */
	size_t scratch_bytes;
	_Atomic int bad_code;
};

/* Decode task: 16 output channels (one 16-block of one group). */
static void decode_task(void *arg, size_t task, int worker)
{
	struct gemm_plan *gp = arg;
	const struct cpu_job *job = gp->job;
	const struct code_tables *ct = &gp->ct;
	uint32_t g = (uint32_t)(task / gp->blk16), blk = (uint32_t)(task % gp->blk16);
	uint32_t j0 = blk * 16, k = job->s.k, chunks = (k + 63) / 64, chunk, i;
	size_t row_bytes = (size_t)(job->s.weight_bytes / job->l->out_c);
	uint32_t panel = j0 / (gp->nb * 16), nbi = (j0 % (gp->nb * 16)) / 16;
	int8_t *dst = gp->b + ((size_t)g * gp->panels + panel) * gp->panel_bytes + nbi * 64;
	uint32_t *colterms = gp->colterms[worker];
	const __m512i ones = _mm512_set1_epi8(1);
	__m512i sums[16];
	__mmask64 bad = 0;

	for (i = 0; i < 16; i++)
		sums[i] = _mm512_setzero_si512();
	for (chunk = 0; chunk < chunks; chunk++) {
		__m512i r[16], tsum = _mm512_setzero_si512();
		uint32_t kb0 = chunk * 16, nkb = gp->kblocks - kb0;

		for (i = 0; i < 16; i++) {
			__mmask64 valid;
			__m512i codes;

			if (j0 + i >= job->og) {
				r[i] = _mm512_setzero_si512();
				continue;
			}
			codes = load_codes(job->t->weights + (size_t)(g * job->og + j0 + i) *
					   row_bytes, row_bytes, chunk, k, ct, &valid);
			bad |= _mm512_mask_cmpge_epu8_mask(valid, codes, ct->size);
			r[i] = _mm512_maskz_mov_epi8(valid, lookup256(ct->value, codes, ct->bits));
			tsum = _mm512_add_epi8(tsum, _mm512_maskz_mov_epi8(valid,
						lookup256(ct->terms, codes, ct->bits)));
			sums[i] = _mm512_dpbusd_epi32(sums[i], ones, r[i]);
		}
		/* Term counts of these 64 code indices, summed over the 16 rows (<= 64). */
		{
			uint8_t t8[64];
			uint32_t lim = k - chunk * 64 < 64 ? k - chunk * 64 : 64;

			_mm512_storeu_si512(t8, tsum);
			for (i = 0; i < lim; i++)
				colterms[chunk * 64 + i] += t8[i];
		}
		transpose16x16(r);
		if (nkb > 16)
			nkb = 16;
		for (i = 0; i < nkb; i++)
			_mm512_storeu_si512(dst + ((size_t)(kb0 + i) * gp->nb) * 64, r[i]);
	}
	if (bad)
		atomic_store(&gp->bad_code, 1);
	for (i = 0; i < 16 && j0 + i < job->og; i++)
		gp->rowsum[g * job->og + j0 + i] = _mm512_reduce_add_epi32(sums[i]);
}

/* ---------------------------------------------------------------------- */
/* The register tile                                                      */

/*
 * The epilogue of a whole-panel tile when requant16_hi() is exact: four
 * 16-channel results per pack4_u8() and per store where memory allows
 * (one row's 64 channels; two rows of 32; four rows of 16, one store when
 * they are adjacent). For K = 32 and 16 channels the epilogue cost as much
 * as the products.
 */
static inline __attribute__((always_inline)) void
tile_store_packed(const int R, const int NB, __m512i acc[R_MAX][4], uint8_t *c, size_t ldc,
		  const struct epi_block *epi, const struct epi_consts *ec)
{
	const __m512i none = _mm512_setzero_si512();
	__m512i v[4];
	int r, n;

	if (NB >= 3) {
#pragma GCC unroll 16
		for (r = 0; r < R; r++) {
#pragma GCC unroll 4
			for (n = 0; n < 4; n++)
				v[n] = n < NB ? requant32_hi(acc[r][n], &epi[n], ec) : none;
			v[0] = pack4_u8(v[0], v[1], v[2], v[3], ec);
			if (NB == 4)
				_mm512_storeu_si512(c + r * ldc, v[0]);
			else
				_mm512_mask_storeu_epi8(c + r * ldc, (1ULL << 48) - 1, v[0]);
		}
	} else if (NB == 2) {
#pragma GCC unroll 8
		for (r = 0; r < R; r += 2) {
			v[0] = requant32_hi(acc[r][0], &epi[0], ec);
			v[1] = requant32_hi(acc[r][1], &epi[1], ec);
			v[2] = r + 1 < R ? requant32_hi(acc[r + 1][0], &epi[0], ec) : none;
			v[3] = r + 1 < R ? requant32_hi(acc[r + 1][1], &epi[1], ec) : none;
			v[0] = pack4_u8(v[0], v[1], v[2], v[3], ec);
			_mm256_storeu_si256((void *)(c + r * ldc), _mm512_castsi512_si256(v[0]));
			if (r + 1 < R)
				_mm256_storeu_si256((void *)(c + (r + 1) * ldc),
						    _mm512_extracti64x4_epi64(v[0], 1));
		}
	} else {
#pragma GCC unroll 4
		for (r = 0; r < R; r += 4) {
#pragma GCC unroll 4
			for (n = 0; n < 4; n++)
				v[n] = r + n < R ? requant32_hi(acc[r + n][0], &epi[0], ec) : none;
			v[0] = pack4_u8(v[0], v[1], v[2], v[3], ec);
			if (ldc == 16 && r + 4 <= R) {
				_mm512_storeu_si512(c + r * ldc, v[0]);
				continue;
			}
			_mm_storeu_si128((void *)(c + r * ldc), _mm512_castsi512_si128(v[0]));
			if (r + 1 < R)
				_mm_storeu_si128((void *)(c + (r + 1) * ldc),
						 _mm512_extracti32x4_epi32(v[0], 1));
			if (r + 2 < R)
				_mm_storeu_si128((void *)(c + (r + 2) * ldc),
						 _mm512_extracti32x4_epi32(v[0], 2));
			if (r + 3 < R)
				_mm_storeu_si128((void *)(c + (r + 3) * ldc),
						 _mm512_extracti32x4_epi32(v[0], 3));
		}
	}
}

/*
 * A rows are a0 + r * lda (SEG = 0, taps = 1), or segments (SEG = 1): row r's
 * k-blocks of tap t start at seg[r * taps + t] and run for kpt k-blocks (4
 * bytes each), or evenly spaced per tap (SEG = 2): at a0 + toff[t] + r * lda.
 * The B panel's k-blocks follow the taps in order. A direct convolution gives
 * each row the input pixel of each tap (or a run of in_zero bytes for
 * padding) without copying it; tiles of one output row clear of the padding
 * take SEG = 2, with no pointer table. Evenly spaced rows keep their own
 * form: one base register instead of R pointers matters on thin K.
 */
static inline __attribute__((always_inline)) void
tile(const int R, const int NB, const int SEG, const uint8_t *a0, size_t lda,
     const uint8_t *const *seg, const ptrdiff_t *toff, uint32_t taps, uint32_t kpt,
     const int8_t *b, uint8_t *c, size_t ldc, uint32_t ncols,
     const struct epi_block *epi, const struct epi_consts *ec)
{
	/*
	 * Small tiles (few rows) would wait on vpdpbusd's latency with so few
	 * accumulators: KU sets of them take turns over k and are summed at the end.
	 */
	const int KU = R * NB >= 8 ? 1 : R * NB >= 4 ? 2 : 4;
	__m512i acc[R_MAX][4], part[4][8][4];	/* KU > 1 only when R * NB < 8 */
	const uint8_t *a[R_MAX];
	uint32_t kb, t;
	int r, n, u;

	/* The accumulators start from the bias: the epilogue does not add it. */
#pragma GCC unroll 4
	for (n = 0; n < NB; n++) {
		const __m512i bias = epi[n].bias;

#pragma GCC unroll 16
		for (r = 0; r < R; r++)
			acc[r][n] = bias;
	}
	if (KU > 1) {
#pragma GCC unroll 4
		for (u = 0; u < KU; u++)
#pragma GCC unroll 4
			for (r = 0; r < R && r < 8; r++)
#pragma GCC unroll 4
				for (n = 0; n < NB; n++)
					part[u][r][n] = _mm512_setzero_si512();
	}
	for (t = 0; t < taps; t++, b += (size_t)kpt * NB * 64) {
#pragma GCC unroll 16
		for (r = 0; r < R; r++)
			a[r] = SEG == 1 ? seg[r * taps + t] :
			       SEG == 2 ? a0 + toff[t] + (size_t)r * lda : a0 + (size_t)r * lda;
		kb = 0;
		if (KU > 1) {
			for (; kb + KU <= kpt; kb += KU) {
#pragma GCC unroll 4
				for (u = 0; u < KU; u++) {
#pragma GCC unroll 4
					for (r = 0; r < R && r < 8; r++) {
						__m512i av = _mm512_set1_epi32(load32(a[r] + (kb + u) * 4));

#pragma GCC unroll 4
						for (n = 0; n < NB; n++)
							part[u][r][n] = _mm512_dpbusd_epi32(part[u][r][n], av,
								_mm512_loadu_si512(b + ((size_t)(kb + u) * NB + n) * 64));
					}
				}
			}
		}
		for (; kb < kpt; kb++) {
			__m512i bv[4];

#pragma GCC unroll 4
			for (n = 0; n < NB; n++)
				bv[n] = _mm512_loadu_si512(b + ((size_t)kb * NB + n) * 64);
#pragma GCC unroll 16
			for (r = 0; r < R; r++) {
				__m512i av = _mm512_set1_epi32(load32(a[r] + kb * 4));

#pragma GCC unroll 4
				for (n = 0; n < NB; n++)
					acc[r][n] = _mm512_dpbusd_epi32(acc[r][n], av, bv[n]);
			}
		}
	}
	if (KU > 1) {
#pragma GCC unroll 4
		for (u = 0; u < KU; u++)
#pragma GCC unroll 4
			for (r = 0; r < R && r < 8; r++)
#pragma GCC unroll 4
				for (n = 0; n < NB; n++)
					acc[r][n] = _mm512_add_epi32(acc[r][n], part[u][r][n]);
	}
	if (ec->hi_ok && ncols >= (uint32_t)NB * 16) {
		tile_store_packed(R, NB, acc, c, ldc, epi, ec);
		return;
	}
#pragma GCC unroll 4
	for (n = 0; n < NB; n++) {
		uint32_t cols = ncols > (uint32_t)n * 16 ? ncols - n * 16 : 0;
		__mmask16 m = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);

		if (!m)
			break;
		if (m == 0xffff) {
#pragma GCC unroll 16
			for (r = 0; r < R; r++)
				_mm_storeu_si128((void *)(c + r * ldc + n * 16),
						 requant16_biased(acc[r][n], &epi[n], ec));
			continue;
		}
#pragma GCC unroll 16
		for (r = 0; r < R; r++)
			_mm_mask_storeu_epi8(c + r * ldc + n * 16, m,
					     requant16_biased(acc[r][n], &epi[n], ec));
	}
}

#define TILE_CASE(NB, R) case R: \
	if (seg) \
		tile(R, NB, 1, NULL, 0, seg, NULL, taps, kpt, b, c, ldc, ncols, epi, ec); \
	else if (toff) \
		tile(R, NB, 2, a, lda, NULL, toff, taps, kpt, b, c, ldc, ncols, epi, ec); \
	else \
		tile(R, NB, 0, a, lda, NULL, NULL, 1, kpt, b, c, ldc, ncols, epi, ec); \
	break

static void tile_nb1(int rows, const uint8_t *a, size_t lda, const uint8_t *const *seg,
		     const ptrdiff_t *toff, uint32_t taps, uint32_t kpt, const int8_t *b, uint8_t *c, size_t ldc,
		     uint32_t ncols, const struct epi_block *epi, const struct epi_consts *ec)
{
	switch (rows) {
	TILE_CASE(1, 1); TILE_CASE(1, 2); TILE_CASE(1, 3); TILE_CASE(1, 4);
	TILE_CASE(1, 5); TILE_CASE(1, 6); TILE_CASE(1, 7); TILE_CASE(1, 8);
	TILE_CASE(1, 9); TILE_CASE(1, 10); TILE_CASE(1, 11); TILE_CASE(1, 12);
	TILE_CASE(1, 13); TILE_CASE(1, 14); TILE_CASE(1, 15); TILE_CASE(1, 16);
	}
}

static void tile_nb2(int rows, const uint8_t *a, size_t lda, const uint8_t *const *seg,
		     const ptrdiff_t *toff, uint32_t taps, uint32_t kpt, const int8_t *b, uint8_t *c, size_t ldc,
		     uint32_t ncols, const struct epi_block *epi, const struct epi_consts *ec)
{
	switch (rows) {
	TILE_CASE(2, 1); TILE_CASE(2, 2); TILE_CASE(2, 3); TILE_CASE(2, 4);
	TILE_CASE(2, 5); TILE_CASE(2, 6); TILE_CASE(2, 7); TILE_CASE(2, 8);
	TILE_CASE(2, 9); TILE_CASE(2, 10); TILE_CASE(2, 11); TILE_CASE(2, 12);
	}
}

static void tile_nb3(int rows, const uint8_t *a, size_t lda, const uint8_t *const *seg,
		     const ptrdiff_t *toff, uint32_t taps, uint32_t kpt, const int8_t *b, uint8_t *c, size_t ldc,
		     uint32_t ncols, const struct epi_block *epi, const struct epi_consts *ec)
{
	switch (rows) {
	TILE_CASE(3, 1); TILE_CASE(3, 2); TILE_CASE(3, 3); TILE_CASE(3, 4);
	TILE_CASE(3, 5); TILE_CASE(3, 6); TILE_CASE(3, 7); TILE_CASE(3, 8);
	}
}

static void tile_nb4(int rows, const uint8_t *a, size_t lda, const uint8_t *const *seg,
		     const ptrdiff_t *toff, uint32_t taps, uint32_t kpt, const int8_t *b, uint8_t *c, size_t ldc,
		     uint32_t ncols, const struct epi_block *epi, const struct epi_consts *ec)
{
	switch (rows) {
	TILE_CASE(4, 1); TILE_CASE(4, 2); TILE_CASE(4, 3); TILE_CASE(4, 4);
	TILE_CASE(4, 5); TILE_CASE(4, 6);
	}
}

typedef void (*tile_fn)(int rows, const uint8_t *a, size_t lda, const uint8_t *const *seg,
			const ptrdiff_t *toff, uint32_t taps, uint32_t kpt, const int8_t *b, uint8_t *c, size_t ldc,
			uint32_t ncols, const struct epi_block *epi, const struct epi_consts *ec);

static const tile_fn tiles[5] = { NULL, tile_nb1, tile_nb2, tile_nb3, tile_nb4 };
static const uint32_t tile_rows[5] = { 0, 16, 12, 8, 6 };

/* ---------------------------------------------------------------------- */
/* The GEMM driver                                                        */

/* Row m of the im2col matrix of group g into dst (kp bytes, tail zero). */
static void pack_a_row(const struct gemm_plan *gp, uint32_t m, uint32_t g, uint8_t *dst)
{
	const struct cpu_job *job = gp->job;
	const struct nhot_layer *l = job->l;
	uint32_t ow = job->s.out_w, oh = job->s.out_h, k = job->s.k, cg = job->cg;
	uint32_t n = m / (oh * ow), oy = m / ow % oh, ox = m % ow, ky, kx, c;
	const __m512i zin = _mm512_set1_epi8((char)l->in_zero);
	uint8_t *p = dst;

	if (l->type == NHOT_LAYER_FC) {
		memcpy(dst, job->t->input + (size_t)m * k, k);
		memset(dst + k, 0, gp->kp - k);
		return;
	}
	/* cpu_im2col_row() with inline vector copies: rows are short (Cg bytes). */
	for (ky = 0; ky < l->kernel_h; ky++) {
		int64_t iy = (int64_t)oy * l->stride_h - l->pad_top + (int64_t)ky * l->dilation_h;

		for (kx = 0; kx < l->kernel_w; kx++, p += cg) {
			int64_t ix = (int64_t)ox * l->stride_w - l->pad_left +
				     (int64_t)kx * l->dilation_w;
			const uint8_t *src = NULL;

			if (iy >= 0 && iy < l->in_h && ix >= 0 && ix < l->in_w)
				src = job->t->input + (((size_t)n * l->in_h + (size_t)iy) *
						       l->in_w + (size_t)ix) * l->in_c +
				      (size_t)g * cg;
			for (c = 0; c < cg; c += 64) {
				__mmask64 mask = cg - c >= 64 ? ~0ULL : ((1ULL << (cg - c)) - 1);
				/* Padding reads as in_zero: it adds (in_zero - in_zero) * w = 0. */
				__m512i v;

				if (mask == ~0ULL) {	/* plain stores forward to the tile's loads */
					v = src ? _mm512_loadu_si512(src + c) : zin;
					_mm512_storeu_si512(p + c, v);
				} else {
					v = src ? _mm512_maskz_loadu_epi8(mask, src + c) : zin;
					_mm512_mask_storeu_epi8(p + c, mask, v);
				}
			}
		}
	}
	memset(dst + k, 0, gp->kp - k);
}

/*
 * Direct convolution: the A segments of output positions m0 .. m0 + rows - 1
 * of group g, taps per position: the input pixel's Cg channels in place, or
 * gp->zrow (Cg bytes of in_zero, which add (in_zero - in_zero) * w = 0)
 * where the tap is padding. Positions advance without divisions: three
 * divisions per position took 16% of a 3x3 convolution's time.
 */
static void conv_segments(const struct gemm_plan *gp, uint32_t m0, uint32_t rows, uint32_t g,
			  const uint8_t **seg)
{
	const struct cpu_job *job = gp->job;
	const struct nhot_layer *l = job->l;
	const uint32_t ow = job->s.out_w, oh = job->s.out_h, in_h = l->in_h, in_w = l->in_w;
	const size_t pixel = l->in_c, line = (size_t)in_w * pixel;
	const uint8_t *image;
	uint32_t n = m0 / (oh * ow), oy = m0 / ow % oh, ox = m0 % ow, r, ky, kx;

	image = job->t->input + (size_t)n * in_h * line + (size_t)g * job->cg;
	for (r = 0; r < rows; r++) {
		int64_t iy0 = (int64_t)oy * l->stride_h - l->pad_top;
		int64_t ix0 = (int64_t)ox * l->stride_w - l->pad_left;

		for (ky = 0; ky < l->kernel_h; ky++) {
			int64_t iy = iy0 + (int64_t)ky * l->dilation_h;
			const uint8_t *src = iy >= 0 && iy < in_h ? image + (size_t)iy * line : NULL;

			for (kx = 0; kx < l->kernel_w; kx++) {
				int64_t ix = ix0 + (int64_t)kx * l->dilation_w;

				*seg++ = src && ix >= 0 && ix < in_w ? src + (size_t)ix * pixel :
					 gp->zrow;
			}
		}
		if (++ox == ow) {
			ox = 0;
			if (++oy == oh) {
				oy = 0;
				image += (size_t)in_h * line;
			}
		}
	}
}

/*
 * Direct convolution: the input pixel of position m's tap 0 when the tile of
 * positions m .. m + rows - 1 stays in one output row and sees no padding
 * (its rows are then evenly spaced for every tap: SEG = 2), else NULL.
 */
static const uint8_t *conv_tile_origin(const struct gemm_plan *gp, uint32_t m, uint32_t rows,
				       uint32_t g)
{
	const struct cpu_job *job = gp->job;
	const struct nhot_layer *l = job->l;
	uint32_t ow = job->s.out_w, oh = job->s.out_h;
	uint32_t n = m / (oh * ow), oy = m / ow % oh, ox = m % ow;
	int64_t iy = (int64_t)oy * l->stride_h - l->pad_top;
	int64_t ix = (int64_t)ox * l->stride_w - l->pad_left;

	if (ox + rows > ow || iy < 0 || ix < 0 ||
	    iy + (int64_t)(l->kernel_h - 1) * l->dilation_h >= l->in_h ||
	    ix + (int64_t)(rows - 1) * l->stride_w + (int64_t)(l->kernel_w - 1) * l->dilation_w >=
	    l->in_w)
		return NULL;
	return job->t->input + (((size_t)n * l->in_h + (size_t)iy) * l->in_w + (size_t)ix) *
	       l->in_c + (size_t)g * job->cg;
}

/*
 * Rows of the next tile when left rows remain: as many tiles as rmax needs,
 * of even heights (49 rows as 6,6,6,6,5,5,5,5,5 rather than eight of 6 and a
 * 1-row tile, which runs at a fraction of the speed).
 */
static uint32_t tile_height(uint32_t left, uint32_t rmax)
{
	uint32_t ntiles = (left + rmax - 1) / rmax;

	return (left + ntiles - 1) / ntiles;
}

/* Tiles per task: a task has at most 16 * rmax rows (avx512_conv()). */
#define TASK_MAX_TILES	16

static void gemm_task(void *arg, size_t task, int worker)
{
	struct gemm_plan *gp = arg;
	const struct cpu_job *job = gp->job;
	uint32_t pchunk = (uint32_t)(task % gp->pchunks);
	uint32_t mb = (uint32_t)(task / gp->pchunks % gp->mblocks);
	uint32_t g = (uint32_t)(task / gp->pchunks / gp->mblocks);
	uint32_t m0 = mb * gp->mc, mrows = gp->m - m0 < gp->mc ? gp->m - m0 : gp->mc;
	uint32_t p0 = pchunk * gp->panels / gp->pchunks;
	uint32_t p1 = (pchunk + 1) * gp->panels / gp->pchunks, p, r;
	uint32_t out_c = job->l->out_c, pw = gp->nb * 16, taps = gp->taps, rows;
	const uint8_t *origin[TASK_MAX_TILES] = { NULL };
	const uint8_t **seg = NULL;
	const uint8_t *a = NULL;
	size_t lda = 0;
	uint32_t t;

	if (gp->zrow) {		/* direct convolution: pointer tables where needed */
		seg = (const uint8_t **)(void *)(gp->scratch + (size_t)worker * gp->scratch_bytes);
		for (r = 0, t = 0; r < mrows; r += rows, t++) {
			rows = tile_height(mrows - r, gp->rmax);
			origin[t] = conv_tile_origin(gp, m0 + r, rows, g);
			if (!origin[t])
				conv_segments(gp, m0 + r, rows, g, seg + (size_t)r * taps);
		}
	} else if (gp->direct) {
		a = job->t->input + (size_t)m0 * gp->lda;
		lda = gp->lda;
	} else {
		uint8_t *buf = gp->scratch + (size_t)worker * gp->scratch_bytes;

		for (r = 0; r < mrows; r++)
			pack_a_row(gp, m0 + r, g, buf + (size_t)r * gp->kp);
		a = buf;
		lda = gp->kp;
	}
	for (p = p0; p < p1; p++) {
		const int8_t *b = gp->b + ((size_t)g * gp->panels + p) * gp->panel_bytes;
		uint32_t j0 = p * pw, ncols = job->og - j0 < pw ? job->og - j0 : pw;
		const struct epi_block *epi = gp->epi + (size_t)g * gp->blk16 + j0 / 16;
		uint8_t *c = job->t->output + (size_t)m0 * out_c + g * job->og + j0;

		for (r = 0, t = 0; r < mrows; r += rows, t++) {
			rows = tile_height(mrows - r, gp->rmax);
			if (origin[t])
				tiles[gp->nb]((int)rows, origin[t], gp->pix_lda, NULL, gp->toff,
					      taps, gp->kpt, b, c + (size_t)r * out_c, out_c, ncols,
					      epi, &gp->consts);
			else
				tiles[gp->nb]((int)rows, seg ? NULL : a + (size_t)r * lda, lda,
					      seg ? seg + (size_t)r * taps : NULL, NULL, taps,
					      gp->kpt, b, c + (size_t)r * out_c, out_c, ncols, epi,
					      &gp->consts);
		}
	}
}

/* Panel width: the fewest padded columns, then the widest. */
static uint32_t choose_nb(uint32_t og)
{
	uint32_t best = 4, best_cols = UINT32_MAX, nb;

	for (nb = 4; nb >= 1; nb--) {
		uint32_t cols = (og + nb * 16 - 1) / (nb * 16) * nb * 16;

		if (cols < best_cols) {
			best_cols = cols;
			best = nb;
		}
	}
	return best;
}

static int is_direct(const struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;

	if (job->s.k % 4)
		return 0;
	if (l->type == NHOT_LAYER_FC)
		return 1;
	return l->kernel_h == 1 && l->kernel_w == 1 && l->stride_h == 1 && l->stride_w == 1 &&
	       l->groups == 1;
}

/* Layout tag of this backend's panels in the panel cache. */
#define PANEL_LAYOUT(nb)	((0x5a5aull << 16) | (nb))

/*
 * gp->b and gp->rowsum, from the panel cache when the same codes were
 * decoded before, else decoded now (-EILSEQ for an invalid code) and offered
 * to the cache; job->colterms filled either way.
 */
static int get_panels(struct gemm_plan *gp)
{
	const struct cpu_job *job = gp->job;
	size_t b_bytes = gp->panel_bytes * gp->panels * job->groups;
	size_t k = job->s.k;
	uint32_t *kept, w, i;
	int ret = -ENOMEM;

	gp->cached = cpu_panels_get(job, PANEL_LAYOUT(gp->nb));
	if (gp->cached) {
		gp->b = gp->cached->b;
		gp->rowsum = gp->cached->rowsum;
		memcpy(job->colterms, gp->cached->colterms, k * sizeof(*job->colterms));
		return 0;
	}
	gp->b = cpu_alloc(b_bytes);
	gp->rowsum = cpu_zalloc(sizeof(int32_t) * job->l->out_c);
	gp->colterms = cpu_zalloc((size_t)job->threads * sizeof(*gp->colterms));
	if (!gp->b || !gp->rowsum || !gp->colterms)
		goto out_free;
	for (w = 0; w < (uint32_t)job->threads; w++) {
		gp->colterms[w] = cpu_zalloc(sizeof(uint32_t) * k);
		if (!gp->colterms[w])
			goto out_free;
	}
	cpu_parallel(job->threads, (size_t)job->groups * gp->blk16, decode_task, gp);
	ret = -EILSEQ;
	if (atomic_load(&gp->bad_code))
		goto out_free;
	for (w = 0; w < (uint32_t)job->threads; w++)
		for (i = 0; i < k; i++)
			job->colterms[i] += gp->colterms[w][i];
	ret = 0;
	kept = cpu_alloc(k * sizeof(*kept));
	if (kept) {
		memcpy(kept, job->colterms, k * sizeof(*kept));
		gp->cached = cpu_panels_add(job, PANEL_LAYOUT(gp->nb), gp->b, b_bytes,
					    gp->rowsum, kept);
		if (!gp->cached)
			cpu_free(kept);
	}
out_free:
	if (gp->colterms)
		for (w = 0; w < (uint32_t)job->threads; w++)
			cpu_free(gp->colterms[w]);
	cpu_free(gp->colterms);
	gp->colterms = NULL;
	return ret;
}

/*
 * gp->epi and gp->consts: those kept with the cached panels when this
 * layer's params, zero points and clamp equal the ones they were built for,
 * else built now (-EOVERFLOW for bad params, as nhot_ref_run()) and offered
 * to the cache. Building them took 8% of a 49x320x1280 layer's time.
 */
static int get_epilogue(struct cpu_job *job, struct gemm_plan *gp)
{
	/* Plus a panel of zero blocks: a tile reads the bias of all its NB blocks. */
	size_t nblk = (size_t)gp->blk16 * job->groups + 4;
	struct epi_block *blocks;
	const char *kept;
	char *blob;
	uint32_t g;
	int ret;

	kept = gp->cached ? cpu_panels_epi(gp->cached, job) : NULL;
	if (kept) {
		memcpy(&gp->consts, kept, sizeof(gp->consts));
		gp->epi = (const struct epi_block *)(kept + sizeof(gp->consts));
		return 0;
	}
	/* One buffer: the layer-wide constants, then the blocks (64-byte aligned). */
	blob = cpu_zalloc(sizeof(gp->consts) + sizeof(*blocks) * nblk);
	if (!blob)
		return -ENOMEM;
	blocks = (struct epi_block *)(blob + sizeof(gp->consts));
	ret = cpu_epilogue_prepare(job, gp->rowsum);
	if (ret) {
		cpu_free(blob);
		return ret;
	}
	for (g = 0; g < job->groups; g++)
		cpu_epi_blocks_build(job, g * job->og, job->og, blocks + (size_t)g * gp->blk16);
	cpu_epi_consts_init(job, &gp->consts);
	memcpy(blob, &gp->consts, sizeof(gp->consts));
	gp->epi = blocks;
	gp->epi_owned = blob;
	if (gp->cached && cpu_panels_set_epi(gp->cached, job, blob))
		gp->epi_owned = NULL;	/* the entry we hold a reference on owns it */
	return 0;
}

static int is_depthwise(const struct cpu_job *job)
{
	return job->l->type == NHOT_LAYER_CONV2D && job->cg == 1 && job->og == 1;
}

static int is_gemv(const struct cpu_job *job)
{
	return job->l->type == NHOT_LAYER_FC && job->l->batch <= GEMV_MAX_ROWS;
}

static int avx512_conv(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct gemm_plan *gp;
	uint32_t tasks;
	int ret = -ENOMEM;

	if (is_depthwise(job))
		return cpu_dw_conv_avx512(job);
	if (is_gemv(job))
		return cpu_gemv_fc_avx512(job);

	gp = cpu_alloc(sizeof(*gp));
	if (!gp)
		return -ENOMEM;
	memset(gp, 0, sizeof(*gp));
	gp->job = job;
	build_code_tables(job, &gp->ct);
	gp->nb = choose_nb(job->og);
	gp->rmax = tile_rows[gp->nb];
	gp->kp = (job->s.k + 3) & ~3u;
	gp->kblocks = gp->kp / 4;
	gp->panels = (job->og + gp->nb * 16 - 1) / (gp->nb * 16);
	gp->blk16 = (job->og + 15) / 16;
	/* Whole 64-k chunks: the decoder stores 16 k-blocks at a time. */
	gp->panel_bytes = (size_t)((gp->kblocks + 15) & ~15u) * gp->nb * 64;
	ret = get_panels(gp);
	if (ret)
		goto out_free;
	ret = get_epilogue(job, gp);
	if (ret || job->prepare_only)
		goto out_free;

	gp->m = (uint32_t)(job->s.out_n * job->s.out_h * job->s.out_w);
	gp->direct = is_direct(job);
	gp->lda = job->s.k;
	gp->mc = (uint32_t)(A_BLOCK_BYTES / gp->kp) / gp->rmax * gp->rmax;
	if (gp->mc < gp->rmax)
		gp->mc = gp->rmax;
	if (gp->mc > 16 * gp->rmax)
		gp->mc = 16 * gp->rmax;
	/*
	 * Enough tasks for every thread (4 each, to balance) when there are few
	 * output positions: first split the panels (each task still reads its
	 * B panels once), then the rows (each row block re-reads the panels).
	 */
	gp->mblocks = (gp->m + gp->mc - 1) / gp->mc;
	gp->pchunks = 1;
	if (job->threads > 1) {
		uint32_t want = 4 * (uint32_t)job->threads;

		tasks = job->groups * gp->mblocks;
		if (tasks < want && gp->panels > 1) {
			gp->pchunks = (want + tasks - 1) / tasks;
			if (gp->pchunks > gp->panels)
				gp->pchunks = gp->panels;
		}
		while (gp->mc > gp->rmax && job->groups * gp->pchunks *
		       ((gp->m + gp->mc - 1) / gp->mc) < want)
			gp->mc -= gp->rmax;
		gp->mblocks = (gp->m + gp->mc - 1) / gp->mc;
		/*
		 * Few equal tasks that the threads do not divide leave one
		 * thread idle at the end: 1024^3 made 11 row blocks, 6 + 5 on
		 * 2 threads (8% lost). Split the panels too when that helps.
		 */
		tasks = job->groups * gp->mblocks * gp->pchunks;
		if (tasks % (uint32_t)job->threads && tasks < 16 * (uint32_t)job->threads &&
		    gp->pchunks * (uint32_t)job->threads <= gp->panels)
			gp->pchunks *= (uint32_t)job->threads;
	}
	gp->taps = 1;
	gp->kpt = gp->kblocks;
	if (!gp->direct && l->type == NHOT_LAYER_CONV2D && job->cg % 4 == 0 &&
	    l->kernel_h * l->kernel_w <= DIRECT_MAX_TAPS) {
		uint32_t ky, kx;

		gp->taps = l->kernel_h * l->kernel_w;
		for (ky = 0; ky < l->kernel_h; ky++)
			for (kx = 0; kx < l->kernel_w; kx++)
				gp->toff[ky * l->kernel_w + kx] =
					(ptrdiff_t)(((size_t)ky * l->dilation_h * l->in_w +
						     (size_t)kx * l->dilation_w) * l->in_c);
		gp->pix_lda = (size_t)l->stride_w * l->in_c;
		gp->kpt = job->cg / 4;
		gp->zrow = cpu_alloc(job->cg);
		if (!gp->zrow) {
			ret = -ENOMEM;
			goto out_free;
		}
		memset(gp->zrow, (int)l->in_zero, job->cg);
		gp->scratch_bytes = (size_t)gp->mc * gp->taps * sizeof(const uint8_t *);
		gp->scratch = cpu_alloc(gp->scratch_bytes * job->threads);
		if (!gp->scratch) {
			ret = -ENOMEM;
			goto out_free;
		}
	} else if (!gp->direct) {
		gp->scratch_bytes = (size_t)gp->mc * gp->kp;
		gp->scratch = cpu_alloc(gp->scratch_bytes * job->threads);
		if (!gp->scratch) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	cpu_parallel(job->threads, (size_t)job->groups * gp->mblocks * gp->pchunks, gemm_task, gp);
	ret = 0;

out_free:
	cpu_free(gp->scratch);
	cpu_free(gp->zrow);
	cpu_free(gp->epi_owned);
	if (gp->cached) {
		cpu_panels_put(gp->cached);
	} else {
		cpu_free(gp->rowsum);
		cpu_free(gp->b);
	}
	cpu_free(gp);
	return ret;
}

/* The GEMM keeps its panels and constants; depthwise and GEMV read the codes as they are. */
static int avx512_prepare(struct cpu_job *job)
{
	if (is_depthwise(job) || is_gemv(job))
		return 0;
	return avx512_conv(job);
}

const struct cpu_backend cpu_backend_avx512 = {
	.name = "avx512vnni",
	.supported = avx512_supported,
	.conv = avx512_conv,
	.prepare = avx512_prepare,
	.add = cpu_add_avx512,
	.pool = cpu_pool_avx512,
};
