// SPDX-License-Identifier: MIT
/*
 * ADD and the windowed pools for the AVX-512 backend.
 *
 * ADD keeps docs/arith.md 2.4 in 64-bit lanes: (a - za) * ma + (b - zb) * mb
 * (|v| < 2^40), the rounding shift, the clamp, all exact. AVGPOOL sums a
 * window in 16-bit lanes (at most 256 taps x 255 < 2^16) and divides in
 * float, which is exact here: sum + cnt/2 < 2^17 and cnt <= 256, so the
 * quotient is never within 2^-16 (relative) of an integer it is not, far
 * above float's 2^-24. GLOBAL_AVGPOOL (up to 65536 taps) stays portable.
 */
#include <immintrin.h>
#include <string.h>

#include "cpu_internal.h"

#define ADD_CHUNK	(64 * 1024)

/* The low byte of each dword to bytes 0..15 (see requant16 in cpu_gemm_avx512.c). */
static __m512i narrow_dwords(void)
{
	int8_t idx[64];
	int i;

	for (i = 0; i < 64; i++)
		idx[i] = (int8_t)(4 * (i % 16));
	return _mm512_loadu_si512(idx);
}

static void add_task(void *arg, size_t task, int worker)
{
	const struct cpu_job *job = arg;
	const struct nhot_layer *l = job->l;
	const uint8_t *a = job->t->input, *b = job->t->input2;
	uint8_t *out = job->t->output;
	size_t i = task * ADD_CHUNK, end = i + ADD_CHUNK;
	const __m512i za = _mm512_set1_epi32((int)l->in_zero);
	const __m512i zb = _mm512_set1_epi32((int)l->in2_zero);
	const __m512i ma = _mm512_set1_epi64(l->add_mult_a), mb = _mm512_set1_epi64(l->add_mult_b);
	const __m512i round = _mm512_set1_epi64((int64_t)1 << (l->add_shift - 1));
	const __m128i shift = _mm_cvtsi32_si128((int)l->add_shift);
	const __m512i lo = _mm512_set1_epi64((int64_t)l->act_min - l->out_zero);
	const __m512i hi = _mm512_set1_epi64((int64_t)l->act_max - l->out_zero);
	const __m512i zo = _mm512_set1_epi32((int)l->out_zero);
	const __m512i narrow = narrow_dwords();

	(void)worker;
	if (end > job->s.output_bytes)
		end = job->s.output_bytes;
	for (; i < end; i += 16) {
		__mmask16 m = end - i >= 16 ? 0xffff : (__mmask16)((1u << (end - i)) - 1);
		__m512i x = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, a + i)), za);
		__m512i y = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, b + i)), zb);
		/* Even and odd dwords in 64-bit lanes; the multipliers are < 2^31. */
		__m512i ve = _mm512_add_epi64(_mm512_mul_epi32(x, ma), _mm512_mul_epi32(y, mb));
		__m512i vo = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), ma),
					      _mm512_mul_epi32(_mm512_srli_epi64(y, 32), mb));
		__m512i r;

		ve = _mm512_sra_epi64(_mm512_add_epi64(ve, round), shift);
		vo = _mm512_sra_epi64(_mm512_add_epi64(vo, round), shift);
		ve = _mm512_min_epi64(_mm512_max_epi64(ve, lo), hi);
		vo = _mm512_min_epi64(_mm512_max_epi64(vo, lo), hi);
		r = _mm512_mask_shuffle_epi32(ve, 0xAAAA, vo, _MM_PERM_CDAB);
		r = _mm512_permutexvar_epi8(narrow, _mm512_add_epi32(r, zo));
		_mm_mask_storeu_epi8(out + i, m, _mm512_castsi512_si128(r));
	}
}

void cpu_add_avx512(const struct cpu_job *job)
{
	cpu_parallel(job->threads, (job->s.output_bytes + ADD_CHUNK - 1) / ADD_CHUNK, add_task,
		     (void *)job);
}

/* One task per output row (n, oy): every ox, 32 channels at a time. */
static void pool_task(void *arg, size_t task, int worker)
{
	const struct cpu_job *job = arg;
	const struct nhot_layer *l = job->l;
	uint32_t n = (uint32_t)(task / job->s.out_h), oy = (uint32_t)(task % job->s.out_h);
	uint32_t C = l->in_c, ox, c0, ky, kx;
	int maxpool = l->type == NHOT_LAYER_MAXPOOL;
	const __m512i lo = _mm512_set1_epi16((short)l->act_min);
	const __m512i hi = _mm512_set1_epi16((short)l->act_max);
	int64_t y0 = (int64_t)oy * l->stride_h - l->pad_top;
	uint32_t ky0 = y0 < 0 ? (uint32_t)-y0 : 0;
	uint32_t ky1 = y0 + l->kernel_h > l->in_h ? (uint32_t)(l->in_h - y0) : l->kernel_h;

	(void)worker;
	for (ox = 0; ox < job->s.out_w; ox++) {
		int64_t x0 = (int64_t)ox * l->stride_w - l->pad_left;
		uint32_t kx0 = x0 < 0 ? (uint32_t)-x0 : 0;
		uint32_t kx1 = x0 + l->kernel_w > l->in_w ? (uint32_t)(l->in_w - x0) : l->kernel_w;
		uint32_t cnt = (ky1 - ky0) * (kx1 - kx0);	/* >= 1 (section 3) */
		uint8_t *out = job->t->output +
			       (((size_t)n * job->s.out_h + oy) * job->s.out_w + ox) * C;
		const __m512 fcnt = _mm512_set1_ps((float)cnt);
		const __m512i half = _mm512_set1_epi32((int)(cnt / 2));

		for (c0 = 0; c0 < C; c0 += 32) {
			__mmask32 m = C - c0 >= 32 ? 0xffffffffu : (__mmask32)((1u << (C - c0)) - 1);
			__m512i acc = _mm512_setzero_si512();
			__m256i res;

			for (ky = ky0; ky < ky1; ky++) {
				const uint8_t *line = job->t->input +
						      (((size_t)n * l->in_h + (size_t)(y0 + ky)) *
						       l->in_w) * C + c0;

				for (kx = kx0; kx < kx1; kx++) {
					__m512i v = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m,
						line + (size_t)(x0 + kx) * C));

					acc = maxpool ? _mm512_max_epu16(acc, v) : _mm512_add_epi16(acc, v);
				}
			}
			if (!maxpool) {
				/* (sum + cnt / 2) / cnt, 16 lanes at a time, exact (see top). */
				__m512i s0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(acc));
				__m512i s1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(acc, 1));
				__m512 q0 = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, half)), fcnt);
				__m512 q1 = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s1, half)), fcnt);

				acc = _mm512_inserti64x4(_mm512_castsi256_si512(
					_mm512_cvtepi32_epi16(_mm512_cvttps_epi32(q0))),
					_mm512_cvtepi32_epi16(_mm512_cvttps_epi32(q1)), 1);
			}
			acc = _mm512_min_epu16(_mm512_max_epu16(acc, lo), hi);
			res = _mm512_cvtepi16_epi8(acc);
			_mm256_mask_storeu_epi8(out + c0, m, res);
		}
	}
}

void cpu_pool_avx512(const struct cpu_job *job)
{
	if (job->l->type == NHOT_LAYER_GLOBAL_AVGPOOL) {
		cpu_pool_portable(job);
		return;
	}
	cpu_parallel(job->threads, (size_t)job->s.out_n * job->s.out_h, pool_task, (void *)job);
}

