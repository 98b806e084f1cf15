/* SPDX-License-Identifier: MIT */
/*
 * libnhot private: the AVX-512 requantization epilogue (docs/arith.md 2.1)
 * that the GEMM, depthwise and elementwise kernels share: per-channel
 * constants as ready vectors, and 16 accumulators to 16 output bytes.
 * Include only from *_avx512.c files.
 */
#ifndef NHOT_CPU_EPI_AVX512_H
#define NHOT_CPU_EPI_AVX512_H

#include <immintrin.h>

#include "cpu_internal.h"

/*
 * The requantization of docs/arith.md 2.1, rq(v) = floor((v*M + 2^(s-1)) / 2^s),
 * has two exact forms here. Both start from P = v*M, exact in 64 bits
 * (|v| < 2^31, M < 2^31, so |P| < 2^62), from vpmuldq.
 *
 * requant16() adds 2^(s-1) and shifts in 64-bit lanes, clamps in 64-bit
 * lanes (the result may be far outside int32 when M * 2^-s is large) and
 * narrows: valid for every M and s.
 *
 * requant16_hi() needs s >= 33 (or M = 0) on every channel of the layer,
 * i.e. a multiplier M * 2^-s below 2^-2, which is every real layer's case.
 * Then 2^(s-1) = 2^32 * 2^(s-33) and, since floor(floor(x / a) / b) =
 * floor(x / (a*b)) for integers x and a, b > 0,
 *     rq(v) = floor((floor(P / 2^32) + 2^(s-33)) / 2^(s-32)).
 * floor(P / 2^32) is the high dword of P, which vpmuldq leaves in the odd
 * dword of each lane, so one shuffle gathers the 16 of them; |P / 2^32| <
 * 2^30 and 2^(s-33) <= 2^29, so the sum cannot overflow int32, nor can
 * adding out_zero (<= 255) to the result (|rq| < 2^30). The clamp and the
 * addition of out_zero then run in 32-bit lanes: 10 vector operations per 16
 * outputs against 15. M = 0 gives P = 0, rq = 0 with round32 0, shift32 1.
 * Whether every channel qualifies is decided once per layer (epi_hi_ok()).
 */

/* Per 16 output channels: the epilogue constants as ready vectors. */
struct epi_block {
	__m512i bias;		/* 16 x s32 bias_adj */
	__m512i mult[2];	/* even / odd channels, 8 x s64 each */
	__m512i round[2];
	__m512i shift[2];
	__m512i round32;	/* 16 x s32: 2^(shift-33), see requant16_hi() */
	__m512i shift32;	/* 16 x s32: shift - 32 */
};

struct epi_consts {
	__m512i lo, hi;		/* 64-bit lanes: clamp bounds minus out_zero */
	__m512i zero;		/* 32-bit lanes: out_zero */
	__m512i act_min, act_max;	/* 32-bit lanes */
	__m512i narrow;		/* see narrow_index() */
	__m512i pack_order;	/* see pack4_u8() */
	__m512i min8, max8;	/* 64 x u8: act_min, act_max */
	int hi_ok;		/* requant16_hi() is exact for every channel */
};

/*
 * Fills blocks[b] for channels first + b*16 + lane (lane valid while
 * b*16 + lane < count); zero constants beyond, whose outputs are never stored.
 */
void cpu_epi_blocks_build(const struct cpu_job *job, uint32_t first, uint32_t count,
		      struct epi_block *blocks);
/* The layer-wide constants; hi_ok tells whether requant16_hi() is exact. */
void cpu_epi_consts_init(const struct cpu_job *job, struct epi_consts *k);

/*
 * requant16_hi() before the clamp: rq + out_zero per dword (|rq| < 2^30, see
 * above), for pack4_u8() to clamp and narrow four of them at once.
 */
static inline __m512i requant32_hi(__m512i acc, const struct epi_block *e,
				   const struct epi_consts *k)
{
	__m512i pe = _mm512_mul_epi32(acc, e->mult[0]);
	__m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), e->mult[1]);
	/* Even dwords from pe's high halves, odd ones are po's high halves. */
	__m512i r = _mm512_mask_shuffle_epi32(po, 0x5555, pe, _MM_PERM_CDAB);

	r = _mm512_srav_epi32(_mm512_add_epi32(r, e->round32), e->shift32);
	return _mm512_add_epi32(r, k->zero);
}

static inline __m128i requant16_hi(__m512i acc, const struct epi_block *e,
				   const struct epi_consts *k)
{
	__m512i r = requant32_hi(acc, e, k);

	r = _mm512_min_epi32(_mm512_max_epi32(r, k->act_min), k->act_max);
	return _mm512_castsi512_si128(_mm512_permutexvar_epi8(k->narrow, r));
}

/*
 * Four vectors of 16 output values (int32, any value) as 64 output bytes:
 * a's 16, then b's, c's and d's, each clamped to [act_min, act_max].
 * vpackssdw saturates to int16 and vpackuswb to 0..255 (so values outside
 * int16 still land on the right side), which with the byte clamp after
 * equals clamping first: [act_min, act_max] is inside 0..255. The packs
 * work per 128-bit lane, leaving dword 4L+V = vector V's dword L; one
 * vpermd puts them in order. 5 operations per 64 outputs instead of 12.
 */
static inline __m512i pack4_u8(__m512i a, __m512i b, __m512i c, __m512i d,
			       const struct epi_consts *k)
{
	__m512i ab = _mm512_packs_epi32(a, b), cd = _mm512_packs_epi32(c, d);
	__m512i v = _mm512_permutexvar_epi32(k->pack_order, _mm512_packus_epi16(ab, cd));

	return _mm512_min_epu8(_mm512_max_epu8(v, k->min8), k->max8);
}

/* requant16() of an accumulator that already holds the bias. */
static inline __m128i requant16_biased(__m512i acc, const struct epi_block *e,
				       const struct epi_consts *k)
{
	__m512i pe, po, r;

	if (k->hi_ok)
		return requant16_hi(acc, e, k);
	pe = _mm512_mul_epi32(acc, e->mult[0]);
	po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), e->mult[1]);
	pe = _mm512_srav_epi64(_mm512_add_epi64(pe, e->round[0]), e->shift[0]);
	po = _mm512_srav_epi64(_mm512_add_epi64(po, e->round[1]), e->shift[1]);
	pe = _mm512_min_epi64(_mm512_max_epi64(pe, k->lo), k->hi);
	po = _mm512_min_epi64(_mm512_max_epi64(po, k->lo), k->hi);
	/* Odd dwords from po's low halves. */
	r = _mm512_mask_shuffle_epi32(pe, 0xAAAA, po, _MM_PERM_CDAB);
	r = _mm512_add_epi32(r, k->zero);
	/*
	 * The low byte of each dword (0..255 after the clamp) to bytes 0..15.
	 * Not vpmovdb: the compiler folds it into its store form, which is
	 * slow on AMD cores.
	 */
	return _mm512_castsi512_si128(_mm512_permutexvar_epi8(k->narrow, r));
}

static inline __m128i requant16(__m512i acc, const struct epi_block *e,
				const struct epi_consts *k)
{
	return requant16_biased(_mm512_add_epi32(acc, e->bias), e, k);
}

#endif /* NHOT_CPU_EPI_AVX512_H */
