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
 * codes map to -128, which no weight has (|q| <= 127): a running vpminsb
 * finds them, and the job fails with -EILSEQ before any output is written
 * (as nhot_ref_run() does). k = 8 codes are whole bytes: two 128-entry
 * lookups and a blend on the top bit, no extraction. k = 4 codes are nibbles,
 * 128 to a 64-byte load, looked up in place (gemv_nibbles()).
 *
 * in_zero is handled per row: acc = sum(x * w) - in_zero * sum(w), the second
 * sum by one more vpdpbusd against a vector of in_zero bytes; both wrap mod
 * 2^32 harmlessly, the final value fits (docs/arith.md 3).
 *
 * Rows go GEMV_BLOCK at a time, each chunk of x loaded once for all of them:
 * a row alone is a few chains of dependent vpdpbusd (2 x 10 for K = 1280),
 * whose latency, more than the arithmetic or the memory, bounded the old
 * one-row loop (in a model of the loop, 1x1280x1000: 18.2 us a call one row
 * at a time, 15.4 us with 4 rows; 8 rows were no faster and need twice the
 * accumulator registers; the whole library went from 24.4 to 16.2 us). The
 * 4 x 16 lanes of a block fold into one vector (4 rows x 4 partial sums), four blocks
 * into the 16 sums of 16 channels, which the task requantizes itself into a
 * scratch row: no per-row horizontal sums, no serial epilogue after the
 * tasks. The scratch goes to the output only when every code and every
 * channel's parameters proved valid, so a failed job leaves it untouched.
 *
 * A prepared layer (struct cpu_prepared) was checked once and its row sums
 * are known: its loop (PREP) is load, vpermb, vpmultishiftqb, vpermi2b,
 * vpdpbusd, with in_zero * sum(w) folded into the bias, and the tasks write
 * the output itself, reading every row in place. 1x1280x1000, p50 of a call
 * at 1 thread: 16.6 us unprepared, 14.1 us prepared (loaded machine).
 *
 * At 1 thread that loop is near two limits at once: 1x1280x1000 takes
 * 12.1 us run from L1 (every block reading the same 4 rows), a model that
 * only loads the same 1.12 MB and multiplies takes 10.4 us, the real thing
 * 13.6-14.2 us. A layout made at preparation that needs no extraction for
 * 7 of 8 vectors (7-bit codes in the low bits of whole bytes, the eighth
 * vector's codes in their top bits) took 10.5 us from L1, but with the real
 * rows 13.5-15.0 us at 1 thread and 7.6-7.9 against 8.1-8.6 us at 2 (p50,
 * four runs alternating): kept out, not worth a second, bigger copy of
 * every such layer's codes. Neither rows interleaved per block nor
 * prefetching 2 blocks ahead changed the time beyond the noise; skipping
 * the requantization altogether saved nothing at 1 thread, 0.6 us at 2.
 */
#include <errno.h>
#include <immintrin.h>
#include <stdatomic.h>
#include <string.h>

#include "cpu_epi_avx512.h"
#include "cpu_internal.h"

#define GEMV_BLOCK		4	/* rows sharing each chunk of x */
#define GEMV_GROUP		16	/* rows per requantized vector: 4 blocks */
#define INVALID_VALUE		(-128)

struct gemv_tables {
	int bits;
	__m512i gather;		/* byte 8j+m <- byte j*bits + m of the chunk */
	__m512i fields;		/* multishift control: bit m*bits of qword j */
	/* code -> value, see the file comment; -128 if invalid (k = 4: value[0]) */
	__m512i value[4];
	__m512i terms[4];	/* code -> NAF term count */
};

/**
 * struct gemv_plan - one call, shared by its tasks
 * @out_c, @batch, @k, @in_zero, @input, @weights, @params, @rowsum, @prep,
 *     @want_terms: what the tasks read of the job, copied into the plan's
 *     first cache line: a worker then fetches the plan from the caller's
 *     core and nothing behind it (the job and its tensors, rewritten by
 *     every call). Prepared, 2 threads, p50 of a call: 1x1280x128 3.35-3.46
 *     -> 2.99-3.12 us, 1x1280x1000 8.34-8.58 -> 7.94-8.66 us (four runs
 *     alternating)
 * @chunks: steps of the row loop, the last one possibly partial: 64 codes
 *     (8k bytes), or 128 codes (64 bytes) when k = 4 (gemv_block_nibbles())
 * @step_bytes: the codes' bytes of a step
 * @last_valid: the last chunk's codes within K (k = 4: its even codes)
 * @last_odd: k = 4: the last chunk's odd codes within K
 * @xsplit: k = 4: per batch row and chunk, the 64 inputs of the even codes,
 *     then the 64 of the odd ones, zero past K
 * @tail_first, @tail: rows from tail_first on are read from tail, a copy
 *     with 64 bytes of zeros after it: every chunk is one whole 64-byte load
 *     (a masked load cost 32 us a call against 23 us), and the last rows'
 *     loads would run past the caller's buffer
 * @out: [batch][out_c] requantized outputs, copied out when the job succeeds
 * @task_rows: output channels per task (task_rows_of())
 */
struct gemv_plan {
	uint32_t out_c, batch, k;
	uint8_t in_zero;
	uint8_t prep, want_terms;
	const uint8_t *input, *weights;
	const struct nhot_chan_params *params;
	const int32_t *rowsum;
	const struct cpu_job *job;
	struct gemv_tables tb;
	struct epi_consts consts;
	size_t row_bytes;
	uint32_t chunks;
	size_t step_bytes;
	__mmask64 last_valid, last_odd;
	uint8_t *xsplit;
	uint32_t tail_first;
	uint8_t *tail;
	uint8_t *out;
	uint32_t task_rows;
	_Atomic uint64_t terms;
	_Atomic int bad_code;
	_Atomic int bad_param;
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

/*
 * acc + the dot products of x's u8 and v's s8 quadruples. GCC 12 copies the
 * accumulators of _mm512_dpbusd_epi32() from register to register around
 * every use in the unrolled block loop (2 copies a chunk, measured 1x1280x1000
 * 23.7 us a call against 22.6 us with this form, which updates acc in place).
 */
static inline __m512i dpbusd(__m512i acc, __m512i x, __m512i v)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(v));
	return acc;
}

/*
 * One chunk of one row into acc and rz. Lanes outside valid (past K in the
 * last chunk) hold junk values, from the row's padding bits and whatever
 * bytes follow the row: x is zero there and so is zin (the caller masks
 * both), and the minimum and the term counts skip them. A valid lane's code
 * never reads beyond the row (docs/arith.md 1.4).
 */
static inline __attribute__((always_inline)) void
gemv_chunk(const int WIDE, const int PREP, const int TERMS, const struct gemv_tables *tb,
	   __m512i raw, __m512i x, __m512i zin, __mmask64 valid, __m512i *acc, __m512i *rz,
	   __m512i *mn, __m512i *tsum)
{
	__m512i c = chunk_codes(WIDE, raw, tb);
	__m512i v = lookup(WIDE, tb->value, c);

	*acc = dpbusd(*acc, x, v);
	if (PREP)	/* in_zero is in the bias, the codes and terms were done once */
		return;
	*rz = dpbusd(*rz, zin, v);
	*mn = _mm512_mask_min_epi8(*mn, valid, *mn, v);
	if (TERMS)
		*tsum = _mm512_add_epi64(*tsum, _mm512_sad_epu8(_mm512_maskz_mov_epi8(valid,
					 lookup(WIDE, tb->terms, c)), _mm512_setzero_si512()));
}

/*
 * Four vectors of 16 partial sums (rows r0..r3) folded into one: 128-bit
 * lane L holds r0..r3's sums over their own lane L.
 */
static inline __m512i fold4(const __m512i d[GEMV_BLOCK])
{
	__m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[0], d[1]),
				       _mm512_unpackhi_epi32(d[0], d[1]));
	__m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[2], d[3]),
				       _mm512_unpackhi_epi32(d[2], d[3]));

	return _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
}

/* Four fold4() results (rows 0-3, 4-7, 8-11, 12-15) as the 16 row sums. */
static inline __m512i fold16(const __m512i t[4])
{
	__m512i u01 = _mm512_add_epi32(_mm512_shuffle_i32x4(t[0], t[1], 0x44),
				       _mm512_shuffle_i32x4(t[0], t[1], 0xee));
	__m512i u23 = _mm512_add_epi32(_mm512_shuffle_i32x4(t[2], t[3], 0x44),
				       _mm512_shuffle_i32x4(t[2], t[3], 0xee));

	return _mm512_add_epi32(_mm512_shuffle_i32x4(u01, u23, 0x88),
				_mm512_shuffle_i32x4(u01, u23, 0xdd));
}

/*
 * Rows w[0..3] against the K inputs x: their sums of (x - in_zero) * w,
 * folded (fold4()). The term counts of the first real rows go to *tsum.
 */
static inline __attribute__((always_inline)) __m512i
gemv_block(const int WIDE, const int PREP, const int TERMS, const struct gemv_plan *gv,
	   const uint8_t *x,
	   const uint8_t *const w[GEMV_BLOCK], int real, __m512i *mn, __m512i *tsum)
{
	const struct gemv_tables *tb = &gv->tb;
	const size_t chunk_bytes = 8 * (size_t)tb->bits;
	const __m512i zin = _mm512_set1_epi8((char)gv->in_zero);
	const uint32_t last = gv->chunks - 1;
	const __mmask64 valid = gv->last_valid;
	const uint8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
	/* Named, not an array: GCC then keeps them in registers without copies. */
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
	__m512i z0 = a0, z1 = a0, z2 = a0, z3 = a0, xv, zl, d[GEMV_BLOCK];
	const char *next = (const char *)w3 + gv->row_bytes;
	size_t off = 0;
	uint32_t c;

	for (c = 0; c < last; c++, off += chunk_bytes) {
		/*
		 * The next block's codes (the rows after w3), 4 lines a chunk,
		 * at least the GEMV_BLOCK * 8k bytes a chunk consumes: the
		 * hardware prefetcher alone left 1x1280x1000 at 20.5 us a
		 * call, 18.2 us with this (the same hint to L2: 23 us).
		 */
		_mm_prefetch(next + c * 256, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 64, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 128, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 192, _MM_HINT_T0);
		xv = _mm512_loadu_si512(x + (size_t)c * 64);
		gemv_chunk(WIDE, PREP, TERMS && real > 0, tb, _mm512_loadu_si512(w0 + off), xv,
			   zin, ~0ULL, &a0, &z0, mn, tsum);
		gemv_chunk(WIDE, PREP, TERMS && real > 1, tb, _mm512_loadu_si512(w1 + off), xv,
			   zin, ~0ULL, &a1, &z1, mn, tsum);
		gemv_chunk(WIDE, PREP, TERMS && real > 2, tb, _mm512_loadu_si512(w2 + off), xv,
			   zin, ~0ULL, &a2, &z2, mn, tsum);
		gemv_chunk(WIDE, PREP, TERMS && real > 3, tb, _mm512_loadu_si512(w3 + off), xv,
			   zin, ~0ULL, &a3, &z3, mn, tsum);
	}
	xv = _mm512_maskz_loadu_epi8(valid, x + (size_t)last * 64);
	zl = _mm512_maskz_mov_epi8(valid, zin);
	gemv_chunk(WIDE, PREP, TERMS && real > 0, tb, _mm512_loadu_si512(w0 + off), xv, zl,
		   valid, &a0, &z0, mn, tsum);
	gemv_chunk(WIDE, PREP, TERMS && real > 1, tb, _mm512_loadu_si512(w1 + off), xv, zl,
		   valid, &a1, &z1, mn, tsum);
	gemv_chunk(WIDE, PREP, TERMS && real > 2, tb, _mm512_loadu_si512(w2 + off), xv, zl,
		   valid, &a2, &z2, mn, tsum);
	gemv_chunk(WIDE, PREP, TERMS && real > 3, tb, _mm512_loadu_si512(w3 + off), xv, zl,
		   valid, &a3, &z3, mn, tsum);
	d[0] = PREP ? a0 : _mm512_sub_epi32(a0, z0);
	d[1] = PREP ? a1 : _mm512_sub_epi32(a1, z1);
	d[2] = PREP ? a2 : _mm512_sub_epi32(a2, z2);
	d[3] = PREP ? a3 : _mm512_sub_epi32(a3, z3);
	return fold4(d);
}

/*
 * k = 4: a 64-byte load holds 128 codes, code 2j in the low nibble of byte
 * j and code 2j + 1 in the high one. vpermb looks both up (from the 64-entry
 * table, which repeats the 16 codes, so the bits above a nibble select the
 * same value) after one vpsrlw for the high nibbles: 3 operations decode 128
 * codes where the general path takes 6, and the inputs come split the same
 * way (gv->xsplit). Invalid codes and lanes past K as in gemv_chunk().
 * S(1, 8) 1x1280x1000, p50 of a call: 15.1 us with the general path, 13.8 us
 * (the even and the odd codes in accumulators of their own: no faster).
 */
static inline __attribute__((always_inline)) void
gemv_nibbles(const int PREP, const int TERMS, const struct gemv_tables *tb, __m512i raw,
	     const uint8_t *x, __m512i zeven, __m512i zodd, __mmask64 even, __mmask64 odd,
	     __m512i *acc, __m512i *rz, __m512i *mn, __m512i *tsum)
{
	__m512i high = _mm512_srli_epi16(raw, 4);
	__m512i lo = _mm512_permutexvar_epi8(raw, tb->value[0]);
	__m512i hi = _mm512_permutexvar_epi8(high, tb->value[0]);

	*acc = dpbusd(*acc, _mm512_loadu_si512(x), lo);
	*acc = dpbusd(*acc, _mm512_loadu_si512(x + 64), hi);
	if (PREP)	/* as in gemv_chunk() */
		return;
	*rz = dpbusd(*rz, zeven, lo);
	*rz = dpbusd(*rz, zodd, hi);
	*mn = _mm512_mask_min_epi8(*mn, even, *mn, lo);
	*mn = _mm512_mask_min_epi8(*mn, odd, *mn, hi);
	if (TERMS) {
		__m512i t = _mm512_add_epi8(
			_mm512_maskz_permutexvar_epi8(even, raw, tb->terms[0]),
			_mm512_maskz_permutexvar_epi8(odd, high, tb->terms[0]));

		*tsum = _mm512_add_epi64(*tsum, _mm512_sad_epu8(t, _mm512_setzero_si512()));
	}
}

/* gemv_block() for k = 4, x from gv->xsplit. */
static inline __attribute__((always_inline)) __m512i
gemv_block_nibbles(const int PREP, const int TERMS, const struct gemv_plan *gv, const uint8_t *x,
		   const uint8_t *const w[GEMV_BLOCK], int real, __m512i *mn, __m512i *tsum)
{
	const struct gemv_tables *tb = &gv->tb;
	const __m512i zin = _mm512_set1_epi8((char)gv->in_zero);
	const uint32_t last = gv->chunks - 1;
	const __mmask64 even = gv->last_valid, odd = gv->last_odd;
	const uint8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
	const char *next = (const char *)w3 + gv->row_bytes;
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
	__m512i z0 = a0, z1 = a0, z2 = a0, z3 = a0, ze, zo, d[GEMV_BLOCK];
	size_t off = 0;
	uint32_t c;

	for (c = 0; c < last; c++, off += 64, x += 128) {
		/* As in gemv_block(). */
		_mm_prefetch(next + c * 256, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 64, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 128, _MM_HINT_T0);
		_mm_prefetch(next + c * 256 + 192, _MM_HINT_T0);
		gemv_nibbles(PREP, TERMS && real > 0, tb, _mm512_loadu_si512(w0 + off), x, zin, zin,
			     ~0ULL, ~0ULL, &a0, &z0, mn, tsum);
		gemv_nibbles(PREP, TERMS && real > 1, tb, _mm512_loadu_si512(w1 + off), x, zin, zin,
			     ~0ULL, ~0ULL, &a1, &z1, mn, tsum);
		gemv_nibbles(PREP, TERMS && real > 2, tb, _mm512_loadu_si512(w2 + off), x, zin, zin,
			     ~0ULL, ~0ULL, &a2, &z2, mn, tsum);
		gemv_nibbles(PREP, TERMS && real > 3, tb, _mm512_loadu_si512(w3 + off), x, zin, zin,
			     ~0ULL, ~0ULL, &a3, &z3, mn, tsum);
	}
	ze = _mm512_maskz_mov_epi8(even, zin);
	zo = _mm512_maskz_mov_epi8(odd, zin);
	gemv_nibbles(PREP, TERMS && real > 0, tb, _mm512_loadu_si512(w0 + off), x, ze, zo, even, odd,
		     &a0, &z0, mn, tsum);
	gemv_nibbles(PREP, TERMS && real > 1, tb, _mm512_loadu_si512(w1 + off), x, ze, zo, even, odd,
		     &a1, &z1, mn, tsum);
	gemv_nibbles(PREP, TERMS && real > 2, tb, _mm512_loadu_si512(w2 + off), x, ze, zo, even, odd,
		     &a2, &z2, mn, tsum);
	gemv_nibbles(PREP, TERMS && real > 3, tb, _mm512_loadu_si512(w3 + off), x, ze, zo, even, odd,
		     &a3, &z3, mn, tsum);
	d[0] = PREP ? a0 : _mm512_sub_epi32(a0, z0);
	d[1] = PREP ? a1 : _mm512_sub_epi32(a1, z1);
	d[2] = PREP ? a2 : _mm512_sub_epi32(a2, z2);
	d[3] = PREP ? a3 : _mm512_sub_epi32(a3, z3);
	return fold4(d);
}

/* The row loop of each kind of codes. */
enum gemv_kind { GEMV_BITS, GEMV_BYTES, GEMV_NIBBLES };

static enum gemv_kind gemv_kind_of(int bits)
{
	return bits == 8 ? GEMV_BYTES : bits == 4 ? GEMV_NIBBLES : GEMV_BITS;
}

static inline __attribute__((always_inline)) __m512i
gemv_block_of(const enum gemv_kind KIND, const int PREP, const int TERMS,
	      const struct gemv_plan *gv, uint32_t n, const uint8_t *const w[GEMV_BLOCK], int real,
	      __m512i *mn, __m512i *tsum)
{
	if (KIND == GEMV_NIBBLES)
		return gemv_block_nibbles(PREP, TERMS, gv,
					  gv->xsplit + (size_t)n * gv->chunks * 128, w, real, mn,
					  tsum);
	return gemv_block(KIND == GEMV_BYTES, PREP, TERMS, gv,
			  gv->input + (size_t)n * gv->k, w, real, mn, tsum);
}

/*
 * Channels o..o+15 of params as the requantization constants of
 * cpu_epi_avx512.h, built in registers from the 12-byte records (out_c of
 * them: lanes from count on are zero and never stored). Returns the lanes
 * whose parameters nhot_ref_run() refuses (-EOVERFLOW); sets *hi_ok when
 * requant16_hi() is exact for every lane.
 */
static __mmask16 epi_block_load(const struct nhot_chan_params *params, uint32_t count,
				struct epi_block *e, int *hi_ok)
{
	/* Dword 3i + f of the records is field f of channel i. */
	static const int32_t pick[3][16] = {
		{ 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 1, 4, 7, 10, 13 },
		{ 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 2, 5, 8, 11, 14 },
		{ 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 3, 6, 9, 12, 15 },
	};
	/* Lanes whose dword 3i + f lies in the third vector (3i + f >= 32). */
	static const __mmask16 from_third[3] = { 0xf800, 0xf800, 0xfc00 };
	const int32_t *d = (const int32_t *)params;
	uint32_t n = 3 * (count < GEMV_GROUP ? count : GEMV_GROUP);
	__m512i a = _mm512_maskz_loadu_epi32(n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1), d);
	__m512i b = _mm512_maskz_loadu_epi32(n >= 32 ? 0xffff : n <= 16 ? 0 :
					     (__mmask16)((1u << (n - 16)) - 1), d + 16);
	__m512i c = _mm512_maskz_loadu_epi32(n <= 32 ? 0 : (__mmask16)((1u << (n - 32)) - 1),
					     d + 32);
	__m512i f[3], one = _mm512_set1_epi64(1);
	__mmask16 lanes = count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1), bad, hi;
	int i;

	for (i = 0; i < 3; i++) {
		__m512i idx = _mm512_loadu_si512(pick[i]);

		f[i] = _mm512_mask_permutexvar_epi32(_mm512_permutex2var_epi32(a, idx, b),
						     from_third[i], idx, c);
	}
	/* bias in [-2^30, 2^30], mult <= INT32_MAX, shift in [1, NHOT_MAX_SHIFT] */
	bad = _mm512_cmpgt_epi32_mask(f[0], _mm512_set1_epi32(NHOT_MAX_BIAS)) |
	      _mm512_cmplt_epi32_mask(f[0], _mm512_set1_epi32(-NHOT_MAX_BIAS)) |
	      _mm512_cmplt_epi32_mask(f[1], _mm512_setzero_si512()) |
	      _mm512_cmpge_epu32_mask(_mm512_sub_epi32(f[2], _mm512_set1_epi32(1)),
				      _mm512_set1_epi32(NHOT_MAX_SHIFT));
	e->bias = f[0];
	for (i = 0; i < 2; i++) {
		/* Even channels in the low dwords of the 64-bit lanes, odd ones above. */
		__m512i m = i ? _mm512_srli_epi64(f[1], 32) : _mm512_maskz_mov_epi32(0x5555, f[1]);
		__m512i s = i ? _mm512_srli_epi64(f[2], 32) : _mm512_maskz_mov_epi32(0x5555, f[2]);

		e->mult[i] = m;
		e->shift[i] = s;
		e->round[i] = _mm512_sllv_epi64(one, _mm512_sub_epi64(s, one));
	}
	/* requant16_hi(): 2^(s - 33) and s - 32 where s >= 33 and M != 0, else 0 and 1. */
	hi = _mm512_cmpge_epi32_mask(f[2], _mm512_set1_epi32(33)) &
	     _mm512_test_epi32_mask(f[1], f[1]);
	e->round32 = _mm512_maskz_sllv_epi32(hi, _mm512_set1_epi32(1),
					     _mm512_sub_epi32(f[2], _mm512_set1_epi32(33)));
	e->shift32 = _mm512_mask_sub_epi32(_mm512_set1_epi32(1), hi, f[2], _mm512_set1_epi32(32));
	*hi_ok = (__mmask16)(hi | ~_mm512_test_epi32_mask(f[1], f[1])) == 0xffff;
	return bad & lanes;
}

/*
 * The 16 sums of channels o.. of batch row n, requantized into gv->out. A
 * prepared layer's sums lack the in_zero * sum(w) term: it goes into the
 * bias, mod 2^32 as in cpu_epilogue_prepare().
 */
static void gemv_store16(const int PREP, struct gemv_plan *gv, __m512i sums, uint32_t n,
			 uint32_t o)
{
	uint32_t out_c = gv->out_c, count = out_c - o < 16 ? out_c - o : 16;
	__mmask16 lanes = count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1);
	struct epi_consts k = gv->consts;
	struct epi_block e;
	__mmask16 bad = epi_block_load(gv->params + o, count, &e, &k.hi_ok);

	if (PREP)
		e.bias = _mm512_sub_epi32(e.bias, _mm512_mullo_epi32(
			_mm512_set1_epi32((int)gv->in_zero),
			_mm512_maskz_loadu_epi32(lanes, gv->rowsum + o)));
	else if (bad)
		atomic_store(&gv->bad_param, 1);
	_mm_mask_storeu_epi8(gv->out + (size_t)n * out_c + o, lanes, requant16(sums, &e, &k));
}

static inline const uint8_t *row_codes(const struct gemv_plan *gv, uint32_t row)
{
	if (row < gv->tail_first)
		return gv->weights + row * gv->row_bytes;
	return gv->tail + (row - gv->tail_first) * gv->row_bytes;
}

/*
 * The GEMV_BLOCK rows from first on. Most blocks are whole and read in
 * place: consecutive rows, found with scalar adds. GCC vectorised the
 * general form (per-row clamp and tail test) into a chain of 64-bit
 * multiplies and extracts that delayed each block's first loads. The
 * simple form took 1x1280x1000 prepared at 1 thread from 15.3-17.6 us to
 * 13.9-16.3 us, p50 of four runs alternating (2 threads: the same).
 */
static inline __attribute__((always_inline)) void
block_rows(const struct gemv_plan *gv, uint32_t first, const uint8_t *w[GEMV_BLOCK])
{
	uint32_t i;

	if (first + GEMV_BLOCK <= gv->tail_first && first + GEMV_BLOCK <= gv->out_c) {
		w[0] = gv->weights + first * gv->row_bytes;
		w[1] = w[0] + gv->row_bytes;
		w[2] = w[1] + gv->row_bytes;
		w[3] = w[2] + gv->row_bytes;
		return;
	}
	for (i = 0; i < GEMV_BLOCK; i++)
		w[i] = row_codes(gv, first + i < gv->out_c ? first + i : gv->out_c - 1);
}

/*
 * Channels o0..o1 (whole groups of 16 but the layer's last), every batch
 * row. Rows past out_c in the last group repeat the last row: they keep the
 * loop free of row checks, are never stored and never counted.
 */
static inline __attribute__((always_inline)) void
gemv_range(const enum gemv_kind KIND, const int PREP, const int TERMS, struct gemv_plan *gv,
	   uint32_t o0, uint32_t o1)
{
	const uint32_t out_c = gv->out_c;
	__m512i mn = _mm512_setzero_si512(), tsum = _mm512_setzero_si512(), t[4];
	const uint8_t *w[GEMV_BLOCK];
	uint32_t n, o, b;

	for (o = o0; o < o1; o += GEMV_GROUP) {
		for (n = 0; n < gv->batch; n++) {
			for (b = 0; b < 4; b++) {
				uint32_t first = o + b * GEMV_BLOCK;
				int real = first >= out_c ? 0 : (int)(out_c - first);

				block_rows(gv, first, w);
				/* Counters: every batch row multiplies the same weights; count one. */
				if (TERMS && n == 0)
					t[b] = gemv_block_of(KIND, PREP, 1, gv, 0, w, real, &mn,
							     &tsum);
				else
					t[b] = gemv_block_of(KIND, PREP, 0, gv, n, w, 0, &mn,
							     &tsum);
			}
			gemv_store16(PREP, gv, fold16(t), n, o);
		}
	}
	if (!PREP && _mm512_cmpeq_epi8_mask(mn, _mm512_set1_epi8((char)INVALID_VALUE)))
		atomic_store(&gv->bad_code, 1);
	if (TERMS)
		atomic_fetch_add(&gv->terms, (uint64_t)_mm512_reduce_add_epi64(tsum));
}

/*
 * gemv_range() for a prepared layer (nothing to check or count: struct
 * cpu_prepared), or with or without the term counts.
 */
static inline __attribute__((always_inline)) void
gemv_range_of(const enum gemv_kind KIND, struct gemv_plan *gv, uint32_t o0, uint32_t o1)
{
	if (gv->prep)
		gemv_range(KIND, 1, 0, gv, o0, o1);
	else if (gv->want_terms)
		gemv_range(KIND, 0, 1, gv, o0, o1);
	else
		gemv_range(KIND, 0, 0, gv, o0, o1);
}

static void gemv_task(void *arg, size_t task, int worker)
{
	struct gemv_plan *gv = arg;
	const uint32_t rows = gv->task_rows, out_c = gv->out_c;
	uint32_t o0 = (uint32_t)task * rows, o1 = o0 + rows < out_c ? o0 + rows : out_c;
	enum gemv_kind kind = gemv_kind_of(gv->tb.bits);

	(void)worker;
	if (kind == GEMV_BYTES)
		gemv_range_of(GEMV_BYTES, gv, o0, o1);
	else if (kind == GEMV_NIBBLES)
		gemv_range_of(GEMV_NIBBLES, gv, o0, o1);
	else
		gemv_range_of(GEMV_BITS, gv, o0, o1);
}

static __mmask64 low_bytes(size_t n)
{
	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

/*
 * k = 4: each batch row's inputs split per 128 into those of the even codes
 * and those of the odd ones (see gemv_nibbles()), zero past K.
 */
static void split_inputs(struct gemv_plan *gv)
{
	const struct cpu_job *job = gv->job;
	const uint32_t k = job->s.k;
	__m512i even, odd;
	int8_t idx[64];
	uint32_t n, c;
	int i;

	for (i = 0; i < 64; i++)
		idx[i] = (int8_t)(2 * i);
	even = _mm512_loadu_si512(idx);
	odd = _mm512_add_epi8(even, _mm512_set1_epi8(1));
	for (n = 0; n < job->l->batch; n++) {
		const uint8_t *x = job->t->input + (size_t)n * k;
		uint8_t *dst = gv->xsplit + (size_t)n * gv->chunks * 128;

		for (c = 0; c < gv->chunks; c++, x += 128, dst += 128) {
			uint32_t left = k - c * 128;
			__m512i lo = _mm512_maskz_loadu_epi8(low_bytes(left), x);
			__m512i hi = _mm512_maskz_loadu_epi8(left > 64 ? low_bytes(left - 64) : 0,
							     x + 64);

			_mm512_storeu_si512(dst, _mm512_permutex2var_epi8(lo, even, hi));
			_mm512_storeu_si512(dst + 64, _mm512_permutex2var_epi8(lo, odd, hi));
		}
	}
}

static void consts_init(const struct cpu_job *job, struct epi_consts *k)
{
	const struct nhot_layer *l = job->l;
	int8_t narrow[64];
	int i;

	memset(k, 0, sizeof(*k));	/* what requant16() does not read */
	/* requant16()'s narrowing: byte i <- byte 4i (the low byte of dword i). */
	for (i = 0; i < 64; i++)
		narrow[i] = (int8_t)(4 * (i % 16));
	k->narrow = _mm512_loadu_si512(narrow);
	k->lo = _mm512_set1_epi64((int64_t)l->act_min - (int64_t)l->out_zero);
	k->hi = _mm512_set1_epi64((int64_t)l->act_max - (int64_t)l->out_zero);
	k->zero = _mm512_set1_epi32((int)l->out_zero);
	k->act_min = _mm512_set1_epi32((int)l->act_min);
	k->act_max = _mm512_set1_epi32((int)l->act_max);
	/* hi_ok stays 0 here: gemv_store16() decides it per group of 16 channels. */
}

/* The row loop's steps: 64 codes, or 128 nibbles with the inputs split for them. */
static int plan_chunks(struct gemv_plan *gv)
{
	const struct cpu_job *job = gv->job;
	uint32_t codes;

	gv->row_bytes = (size_t)(job->s.weight_bytes / job->l->out_c);
	if (gemv_kind_of(gv->tb.bits) != GEMV_NIBBLES) {
		gv->chunks = (job->s.k + 63) / 64;
		gv->step_bytes = 8 * (size_t)gv->tb.bits;
		gv->last_valid = low_bytes(job->s.k - (gv->chunks - 1) * 64);
		return 0;
	}
	gv->chunks = (job->s.k + 127) / 128;
	gv->step_bytes = 64;
	codes = job->s.k - (gv->chunks - 1) * 128;	/* in the last chunk */
	gv->last_valid = low_bytes((codes + 1) / 2);
	gv->last_odd = low_bytes(codes / 2);
	gv->xsplit = cpu_alloc((size_t)job->l->batch * gv->chunks * 128);
	if (!gv->xsplit)
		return -ENOMEM;
	split_inputs(gv);
	return 0;
}

/* nhot_cpu_run(): the tasks check as they go, into a scratch output. */
static int run_checked(struct gemv_plan *gv, size_t tasks)
{
	const struct cpu_job *job = gv->job;
	const struct nhot_layer *l = job->l;
	/* Row r's loads end at r * row_bytes + reach: the first rows that pass the end. */
	size_t reach = (gv->chunks - 1) * gv->step_bytes + 64, tail_bytes;
	int ret = -ENOMEM;

	gv->tail_first = reach > job->s.weight_bytes ? 0 :
			 (uint32_t)((job->s.weight_bytes - reach) / gv->row_bytes + 1);
	if (gv->tail_first > l->out_c)
		gv->tail_first = l->out_c;
	tail_bytes = (l->out_c - gv->tail_first) * gv->row_bytes;
	gv->tail = cpu_zalloc(tail_bytes + 64);
	gv->out = cpu_alloc((size_t)l->out_c * l->batch);
	if (!gv->tail || !gv->out)
		goto out_free;
	memcpy(gv->tail, job->t->weights + gv->tail_first * gv->row_bytes, tail_bytes);
	cpu_parallel(job->threads, tasks, gemv_task, gv);
	/* nhot_ref_run()'s order: the codes first, then the parameters. */
	ret = -EILSEQ;
	if (atomic_load(&gv->bad_code))
		goto out_free;
	ret = -EOVERFLOW;
	if (atomic_load(&gv->bad_param))
		goto out_free;
	/* FC counts every product: the total suffices (cpu_dispatch sums colterms). */
	job->colterms[0] = (uint32_t)atomic_load(&gv->terms);
	memcpy(job->t->output, gv->out, (size_t)l->out_c * l->batch);
	ret = 0;
out_free:
	cpu_free(gv->out);
	cpu_free(gv->tail);
	return ret;
}

/*
 * A prepared layer (struct cpu_prepared): nothing can fail once the tasks
 * start, so they write the output itself; every row is read in place, the
 * codes being followed by 64 zero bytes; the counters come from the
 * preparation's colterms.
 */
static void run_prepared(struct gemv_plan *gv, size_t tasks)
{
	gv->tail_first = gv->job->l->out_c;
	gv->out = gv->job->t->output;
	cpu_parallel(gv->job->threads, tasks, gemv_task, gv);
}

/*
 * One task a thread, whole groups of GEMV_GROUP rows each: a thread streams
 * one run of contiguous rows, which gemv_block()'s prefetches follow, and
 * the pool's per-task bookkeeping (a ticket and a shared counter, whose
 * cache line the threads pass between their cores) is paid once a thread.
 * 1x1280x1000 at 2 threads, p50 of a call: 16.9 us with 16-row tasks, 14.2
 * with 32, 12.8 with 64, 11.5 with 128 (an older loop); prepared, 9.3-10.4
 * us with 256-row tasks, 9.2-9.8 with 512 (five runs alternating, load
 * 0.8). A worker that starts late leaves its task to the caller, which then
 * runs alone.
 */
static uint32_t task_rows_of(const struct cpu_job *job)
{
	uint32_t threads = job->threads > 1 ? (uint32_t)job->threads : 1;
	uint32_t rows = (job->l->out_c + threads - 1) / threads;

	return (rows + GEMV_GROUP - 1) / GEMV_GROUP * GEMV_GROUP;
}

int cpu_gemv_fc_avx512(struct cpu_job *job)
{
	const uint32_t rows = task_rows_of(job);
	const size_t tasks = (job->l->out_c + rows - 1) / rows;
	struct gemv_plan *gv = cpu_alloc(sizeof(*gv));
	int ret;

	if (!gv)
		return -ENOMEM;
	memset(gv, 0, sizeof(*gv));
	gv->out_c = job->l->out_c;
	gv->batch = job->l->batch;
	gv->k = job->s.k;
	gv->in_zero = (uint8_t)job->l->in_zero;
	gv->prep = job->prep != NULL;
	gv->want_terms = job->want_terms != 0;
	gv->input = job->t->input;
	gv->weights = job->t->weights;
	gv->params = job->t->params;
	gv->rowsum = job->prep ? job->prep->rowsum : NULL;
	gv->job = job;
	gv->task_rows = rows;
	build_tables(job, &gv->tb);
	consts_init(job, &gv->consts);
	ret = plan_chunks(gv);
	if (!ret && job->prep)
		run_prepared(gv, tasks);
	else if (!ret)
		ret = run_checked(gv, tasks);
	cpu_free(gv->xsplit);
	cpu_free(gv);
	return ret;
}
