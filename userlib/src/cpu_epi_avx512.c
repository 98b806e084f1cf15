// SPDX-License-Identifier: MIT
/*
 * The AVX-512 requantization constants (see cpu_epi_avx512.h).
 */
#include <immintrin.h>

#include "cpu_epi_avx512.h"

/*
 * Fills blocks[b] for channels first + b*16 + lane (lane valid while
 * b*16 + lane < count); zero constants beyond, whose outputs are never stored.
 */
void cpu_epi_blocks_build(const struct cpu_job *job, uint32_t first, uint32_t count,
		      struct epi_block *blocks)
{
	uint32_t nblk = (count + 15) / 16, b, lane;

	for (b = 0; b < nblk; b++) {
		int32_t bias[16] = { 0 };
		int64_t m[2][8] = { { 0 } }, r[2][8] = { { 0 } }, s[2][8] = { { 0 } };

		for (lane = 0; lane < 16 && b * 16 + lane < count; lane++) {
			uint32_t o = first + b * 16 + lane;

			bias[lane] = job->bias_adj[o];
			m[lane & 1][lane / 2] = job->mult[o];
			r[lane & 1][lane / 2] = job->round[o];
			s[lane & 1][lane / 2] = job->shift[o];
		}
		blocks[b].bias = _mm512_loadu_si512(bias);
		{
			int32_t r32[16] = { 0 }, s32[16];

			for (lane = 0; lane < 16; lane++) {
				int64_t sh = s[lane & 1][lane / 2], mu = m[lane & 1][lane / 2];

				/* Channels requant16_hi() cannot take are never used with it. */
				s32[lane] = mu && sh >= 33 ? (int32_t)(sh - 32) : 1;
				if (mu && sh >= 33)
					r32[lane] = (int32_t)1 << (sh - 33);
			}
			blocks[b].round32 = _mm512_loadu_si512(r32);
			blocks[b].shift32 = _mm512_loadu_si512(s32);
		}
		for (lane = 0; lane < 2; lane++) {
			blocks[b].mult[lane] = _mm512_loadu_si512(m[lane]);
			blocks[b].round[lane] = _mm512_loadu_si512(r[lane]);
			blocks[b].shift[lane] = _mm512_loadu_si512(s[lane]);
		}
	}
}

/* The narrowing index of requant16(): byte i <- byte 4i. */
static __m512i narrow_index(void)
{
	int8_t idx[64];
	int i;

	for (i = 0; i < 64; i++)
		idx[i] = (int8_t)(4 * (i % 16));
	return _mm512_loadu_si512(idx);
}

/* pack4_u8()'s dword order: out dword 4V + L <- packed dword 4L + V. */
static __m512i pack_order_index(void)
{
	int32_t idx[16];
	int i;

	for (i = 0; i < 16; i++)
		idx[i] = 4 * (i % 4) + i / 4;
	return _mm512_loadu_si512(idx);
}

/* Non-zero when every channel has M = 0 or s >= 33 (see above). */
static int epi_hi_ok(const struct cpu_job *job)
{
	uint32_t o;

	for (o = 0; o < job->l->out_c; o++)
		if (job->mult[o] && job->shift[o] < 33)
			return 0;
	return 1;
}

void cpu_epi_consts_init(const struct cpu_job *job, struct epi_consts *k)
{
	k->lo = _mm512_set1_epi64(job->lo);
	k->hi = _mm512_set1_epi64(job->hi);
	k->zero = _mm512_set1_epi32((int)job->l->out_zero);
	k->act_min = _mm512_set1_epi32((int)job->l->act_min);
	k->act_max = _mm512_set1_epi32((int)job->l->act_max);
	k->narrow = narrow_index();
	k->pack_order = pack_order_index();
	k->min8 = _mm512_set1_epi8((char)job->l->act_min);
	k->max8 = _mm512_set1_epi8((char)job->l->act_max);
	k->hi_ok = epi_hi_ok(job);
}
