// SPDX-License-Identifier: MIT
/*
 * FC with a batch of one or a few rows on AVX-512 VNNI + VBMI: the weights
 * are read once per call, so they are decoded in registers straight from the
 * caller's packed codes (k bits a weight: 7 for S(2, 8), 4 for S(1, 8)) and
 * multiplied at once. Reading the codes instead of int8 weights is what makes
 * this path faster than an int8 GEMV: the layer is bound by the bytes it reads.
 *
 * Per 64 codes of a row (8k bytes) and per row, the hot loop is
 *   load, vpermb (bytes of code j to qword j/8), vpmultishiftqb (code j to
 *   byte j), vpermi2b (code -> value), vpdpbusd x 2, vpminsb
 * with no masks and no AND: vpermi2b reads only the low 7 bits of each index,
 * and the 128-entry table repeats S(n, b) every 2^k entries, so the bits a
 * multishift drags in above a k-bit code select the same value. Invalid
 * codes map to -128, which no weight has (|q| <= 127): a running vpminsb per
 * row finds them, and the job fails with -EILSEQ before any output is written
 * (as nhot_ref_run() does). k = 8 codes are whole bytes: two 128-entry
 * lookups and a blend on the top bit, no extraction.
 *
 * in_zero is handled per row: acc = sum(x * w) - in_zero * sum(w), the second
 * sum by one more vpdpbusd against a vector of in_zero bytes; both wrap mod
 * 2^32 harmlessly, the final value fits (docs/arith.md 3).
 */
#include <errno.h>
#include <immintrin.h>
#include <stdatomic.h>
#include <string.h>

#include "cpu_internal.h"

/* Output channels per task. */
#define GEMV_ROWS_PER_TASK	32
#define INVALID_VALUE		(-128)

struct gemv_tables {
	int bits;
	__m512i gather;		/* byte 8j+m <- byte j*bits + m of the chunk */
	__m512i fields;		/* multishift control: bit m*bits of qword j */
	__m512i value[4];	/* code -> value, see the file comment; -128 if invalid */
	__m512i terms[4];	/* code -> NAF term count */
};

struct gemv_plan {
	const struct cpu_job *job;
	struct gemv_tables tb;
	size_t row_bytes;
	uint32_t body;		/* 64-code chunks whose 64-byte load stays in the row */
	int32_t *acc;		/* [batch][out_c] sum((x - in_zero) * w), mod 2^32 */
	_Atomic uint64_t terms;
	_Atomic int bad_code;
};

static void build_tables(const struct cpu_job *job, struct gemv_tables *tb)
{
	const struct nhot_set_table *set = &job->set;
	int8_t value[256], terms[256], gather[64], fields[64];
	int bits = set->code_bits, entries = bits == 8 ? 256 : 128, i;

	tb->bits = bits;
	for (i = 0; i < entries; i++) {
		int code = i & ((1 << bits) - 1);

		value[i] = (int8_t)(code < set->size ? set->value[code] : INVALID_VALUE);
		terms[i] = (int8_t)(code < set->size ? job->terms[code] : 0);
	}
	for (; i < 256; i++)
		value[i] = terms[i] = 0;
	for (i = 0; i < 64; i++) {
		gather[i] = (int8_t)((i / 8) * bits + i % 8);
		fields[i] = (int8_t)((i % 8) * bits);
	}
	tb->gather = _mm512_loadu_si512(gather);
	tb->fields = _mm512_loadu_si512(fields);
	for (i = 0; i < 4; i++) {
		tb->value[i] = _mm512_loadu_si512(value + 64 * i);
		tb->terms[i] = _mm512_loadu_si512(terms + 64 * i);
	}
}

/* The codes of one chunk as bytes (bits 7.. of a k < 8 code are junk). */
static inline __m512i chunk_codes(const int WIDE, __m512i raw, const struct gemv_tables *tb)
{
	if (WIDE)
		return raw;
	return _mm512_multishift_epi64_epi8(tb->fields, _mm512_permutexvar_epi8(tb->gather, raw));
}

static inline __m512i lookup(const int WIDE, const __m512i t[4], __m512i codes)
{
	__m512i lo = _mm512_permutex2var_epi8(t[0], codes, t[1]);

	if (!WIDE)
		return lo;
	return _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), lo,
				      _mm512_permutex2var_epi8(t[2], codes, t[3]));
}

/* One chunk of one row into acc and rz; the minimum of its values into *mn. */
static inline __attribute__((always_inline)) void
gemv_chunk(const int WIDE, const int TERMS, const struct gemv_tables *tb, __m512i raw, __m512i x,
	   __m512i zin, __mmask64 valid, __m512i *acc, __m512i *rz, __m512i *mn, __m512i *tsum)
{
	__m512i c = chunk_codes(WIDE, raw, tb);
	__m512i v = _mm512_maskz_mov_epi8(valid, lookup(WIDE, tb->value, c));

	*acc = _mm512_dpbusd_epi32(*acc, x, v);
	*rz = _mm512_dpbusd_epi32(*rz, zin, v);
	*mn = _mm512_min_epi8(*mn, v);
	if (TERMS)
		*tsum = _mm512_add_epi64(*tsum, _mm512_sad_epu8(_mm512_maskz_mov_epi8(valid,
					 lookup(WIDE, tb->terms, c)), _mm512_setzero_si512()));
}

/*
 * Row o of batch row n: its accumulator into gv->acc. The row's codes are
 * read front to back, and the rows of a task one after the other, so the
 * weights are one sequential stream (the hardware prefetcher's best case);
 * two accumulator pairs take turns over the chunks to overlap vpdpbusd's
 * latency. Returns the running minimum of the values (a byte -128 means an
 * invalid code) and adds the term counts to *tsum when TERMS.
 */
static inline __attribute__((always_inline)) __m512i
gemv_row(const int WIDE, const int TERMS, const struct gemv_plan *gv, uint32_t n, uint32_t o,
	 __m512i mn, __m512i *tsum)
{
	const struct cpu_job *job = gv->job;
	const struct gemv_tables *tb = &gv->tb;
	const uint32_t k = job->s.k, chunks = (k + 63) / 64;
	const size_t row_bytes = gv->row_bytes, chunk_bytes = 8 * (size_t)tb->bits;
	const uint8_t *in = job->t->input + (size_t)n * k;
	const uint8_t *w = job->t->weights + (size_t)o * row_bytes;
	const __m512i zin = _mm512_set1_epi8((char)job->l->in_zero);
	__m512i acc0 = _mm512_setzero_si512(), rz0 = acc0, acc1 = acc0, rz1 = acc0;
	uint32_t chunk = 0;

	for (; chunk + 2 <= gv->body; chunk += 2) {
		/* Some lines ahead of the stream: measured a little faster here. */
		_mm_prefetch((const char *)w + chunk * chunk_bytes + 512, _MM_HINT_T0);
		_mm_prefetch((const char *)w + chunk * chunk_bytes + 576, _MM_HINT_T0);
		gemv_chunk(WIDE, TERMS, tb, _mm512_loadu_si512(w + chunk * chunk_bytes),
			   _mm512_loadu_si512(in + (size_t)chunk * 64), zin, ~0ULL, &acc0, &rz0,
			   &mn, tsum);
		gemv_chunk(WIDE, TERMS, tb, _mm512_loadu_si512(w + (chunk + 1) * chunk_bytes),
			   _mm512_loadu_si512(in + (size_t)(chunk + 1) * 64), zin, ~0ULL, &acc1,
			   &rz1, &mn, tsum);
	}
	/* The rest: loads masked to the row, lanes masked to k. */
	for (; chunk < chunks; chunk++) {
		size_t off = chunk * chunk_bytes, avail = row_bytes - off;
		uint32_t left = k - chunk * 64;
		__mmask64 lmask = avail >= 64 ? ~0ULL : ((1ULL << avail) - 1);
		__mmask64 valid = left >= 64 ? ~0ULL : ((1ULL << left) - 1);

		gemv_chunk(WIDE, TERMS, tb, _mm512_maskz_loadu_epi8(lmask, w + off),
			   _mm512_maskz_loadu_epi8(valid, in + (size_t)chunk * 64), zin, valid,
			   &acc0, &rz0, &mn, tsum);
	}
	acc0 = _mm512_sub_epi32(_mm512_add_epi32(acc0, acc1), _mm512_add_epi32(rz0, rz1));
	gv->acc[(size_t)n * job->l->out_c + o] = _mm512_reduce_add_epi32(acc0);
	return mn;
}

static inline __attribute__((always_inline)) void
gemv_range(const int WIDE, const int TERMS, struct gemv_plan *gv, uint32_t o0, uint32_t o1)
{
	__m512i mn = _mm512_setzero_si512(), tsum = _mm512_setzero_si512();
	uint32_t n, o;

	/* Counters: every batch row multiplies the same weights; count one. */
	for (o = o0; o < o1; o++)
		mn = gemv_row(WIDE, TERMS, gv, 0, o, mn, &tsum);
	for (n = 1; n < gv->job->l->batch; n++)
		for (o = o0; o < o1; o++)
			mn = gemv_row(WIDE, 0, gv, n, o, mn, &tsum);
	if (_mm512_cmpeq_epi8_mask(mn, _mm512_set1_epi8((char)INVALID_VALUE)))
		atomic_store(&gv->bad_code, 1);
	if (TERMS)
		atomic_fetch_add(&gv->terms, (uint64_t)_mm512_reduce_add_epi64(tsum));
}

static void gemv_task(void *arg, size_t task, int worker)
{
	struct gemv_plan *gv = arg;
	uint32_t out_c = gv->job->l->out_c, o0 = (uint32_t)task * GEMV_ROWS_PER_TASK;
	uint32_t o1 = o0 + GEMV_ROWS_PER_TASK < out_c ? o0 + GEMV_ROWS_PER_TASK : out_c;
	int wide = gv->tb.bits == 8, terms = gv->job->want_terms;

	(void)worker;
	if (wide && terms)
		gemv_range(1, 1, gv, o0, o1);
	else if (wide)
		gemv_range(1, 0, gv, o0, o1);
	else if (terms)
		gemv_range(0, 1, gv, o0, o1);
	else
		gemv_range(0, 0, gv, o0, o1);
}

/*
 * Requantizes 16 channels o..o+15 (docs/arith.md 2.1, 64-bit lanes) of one
 * batch row: out[i] for i < count.
 */
static void requant_store16(const struct cpu_job *job, const int32_t *acc, uint32_t o,
			    uint32_t count, uint8_t *out)
{
	__mmask16 m = count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1);
	__m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc + o),
				     _mm512_maskz_loadu_epi32(m, job->bias_adj + o));
	const __m512i lo = _mm512_set1_epi64(job->lo), hi = _mm512_set1_epi64(job->hi);
	__m512i half[2];
	int h;

	for (h = 0; h < 2; h++) {
		__m512i x = _mm512_cvtepi32_epi64(h ? _mm512_extracti64x4_epi64(v, 1) :
						  _mm512_castsi512_si256(v));
		/* Padded to 64 channels by cpu_epilogue_prepare(): whole loads. */
		__m512i p = _mm512_mul_epi32(x, _mm512_loadu_si512(job->mult + o + 8 * h));

		p = _mm512_add_epi64(p, _mm512_loadu_si512(job->round + o + 8 * h));
		p = _mm512_srav_epi64(p, _mm512_loadu_si512(job->shift + o + 8 * h));
		half[h] = _mm512_min_epi64(_mm512_max_epi64(p, lo), hi);
	}
	v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(half[0])),
			       _mm512_cvtepi64_epi32(half[1]), 1);
	v = _mm512_add_epi32(v, _mm512_set1_epi32((int)job->l->out_zero));
	_mm_mask_storeu_epi8(out + o, m, _mm512_cvtepi32_epi8(v));
}

int cpu_gemv_fc_avx512(struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	struct gemv_plan *gv = cpu_alloc(sizeof(*gv));
	int32_t *rowsum = NULL;
	uint32_t o, n, chunks;
	int ret = -ENOMEM;

	if (!gv)
		return -ENOMEM;
	memset(gv, 0, sizeof(*gv));
	gv->job = job;
	build_tables(job, &gv->tb);
	gv->row_bytes = (size_t)(job->s.weight_bytes / l->out_c);
	chunks = (job->s.k + 63) / 64;
	/* Chunk c is a body chunk when all 64 codes and 64 loaded bytes are in the row. */
	for (gv->body = 0; gv->body < chunks; gv->body++)
		if ((size_t)gv->body * 8 * gv->tb.bits + 64 > gv->row_bytes ||
		    (gv->body + 1) * 64 > job->s.k)
			break;
	gv->acc = cpu_alloc(sizeof(int32_t) * l->out_c * l->batch);
	/* The accumulators hold sum((x - in_zero) * w) already: rowsum is 0. */
	rowsum = cpu_zalloc(sizeof(int32_t) * l->out_c);
	if (!gv->acc || !rowsum)
		goto out_free;
	cpu_parallel(job->threads, (l->out_c + GEMV_ROWS_PER_TASK - 1) / GEMV_ROWS_PER_TASK,
		     gemv_task, gv);
	ret = -EILSEQ;
	if (atomic_load(&gv->bad_code))
		goto out_free;
	/* FC counts every product: the total suffices (cpu_dispatch sums colterms). */
	job->colterms[0] = (uint32_t)atomic_load(&gv->terms);
	ret = cpu_epilogue_prepare(job, rowsum);
	if (ret)
		goto out_free;
	for (n = 0; n < l->batch; n++)
		for (o = 0; o < l->out_c; o += 16)
			requant_store16(job, gv->acc + (size_t)n * l->out_c, o, l->out_c - o,
					job->t->output + (size_t)n * l->out_c);
out_free:
	cpu_free(rowsum);
	cpu_free(gv->acc);
	cpu_free(gv);
	return ret;
}
