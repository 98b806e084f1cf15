// SPDX-License-Identifier: MIT
/*
 * The number format of docs/arith.md section 1 against second methods:
 * brute-force enumeration of signed-digit representations, a bit-trick NAF,
 * brute-force nearest search, an independent reading of the packed rows.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The harness's own callbacks and TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"

#define FOR_EACH_NB(n, b) \
	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) \
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++)

/* Deterministic xorshift64*: every run tests the same numbers. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * Fewest nonzero digits of any signed-binary representation with `digits`
 * digits in {-1, 0, 1}, for every value in -limit..limit: enumerates all
 * 3^digits digit strings. min_w[v + limit] is -1 for an unreachable v.
 */
static void brute_min_weight(int digits, int limit, int *min_w)
{
	int total = 1, i, code;

	for (i = 0; i < digits; i++)
		total *= 3;
	for (i = 0; i <= 2 * limit; i++)
		min_w[i] = -1;
	for (code = 0; code < total; code++) {
		int c = code, v = 0, w = 0;

		for (i = 0; i < digits; i++, c /= 3) {
			int d = c % 3 - 1;

			v += d * (1 << i);
			w += d != 0;
		}
		if (v < -limit || v > limit)
			continue;
		if (min_w[v + limit] < 0 || w < min_w[v + limit])
			min_w[v + limit] = w;
	}
}

/* NAF weight of q >= 0 by the carry trick: NAF digits are (3q ^ q) >> 1. */
static int naf_weight_bits(uint32_t q)
{
	return __builtin_popcount((3 * q ^ q) >> 1);
}

TEST(design_sizes)
{
	EXPECT_EQ(15, nhot_set_size(1, 8));
	EXPECT_EQ(87, nhot_set_size(2, 8));
	EXPECT_EQ(207, nhot_set_size(3, 8));
	EXPECT_EQ(255, nhot_set_size(4, 8));
	EXPECT_EQ(15, nhot_set_size(2, 4));
	EXPECT_EQ(4, nhot_code_bits(1, 8));
	EXPECT_EQ(7, nhot_code_bits(2, 8));
	EXPECT_EQ(8, nhot_code_bits(3, 8));
	EXPECT_EQ(8, nhot_code_bits(4, 8));
}

TEST(sets_match_brute_force)
{
	static int min_w[2 * 255 + 1];
	int16_t got[NHOT_SET_MAX];
	int n, b, q;

	/* 9 digits reach every |q| <= 255, a superset of every S(n, b). */
	brute_min_weight(9, 255, min_w);
	FOR_EACH_NB(n, b) {
		int qmax = (1 << (b - 1)) - 1, count = 0;
		int size = nhot_set_values(n, b, got, NHOT_SET_MAX);

		ASSERT_GT(size, 0);
		for (q = -qmax; q <= qmax; q++) {
			ASSERT_GE(min_w[q + 255], 0);
			if (min_w[q + 255] > n)
				continue;
			ASSERT_LT(count, size) TH_LOG("n=%d b=%d: set too small", n, b);
			EXPECT_EQ(q, got[count]) TH_LOG("n=%d b=%d index %d", n, b, count);
			count++;
		}
		EXPECT_EQ(count, size) TH_LOG("n=%d b=%d", n, b);
		EXPECT_EQ(size, nhot_set_size(n, b));
	}
}

TEST(naf_weight_is_minimal)
{
	static int min_w[2 * 511 + 1];
	int q;

	brute_min_weight(10, 511, min_w);
	for (q = -511; q <= 511; q++)
		ASSERT_EQ(min_w[q + 511], nhot_naf_weight(q)) TH_LOG("q=%d", q);
}

TEST(naf_weight_whole_range)
{
	int q;

	for (q = 0; q <= 1 << 15; q++) {
		ASSERT_EQ(naf_weight_bits((uint32_t)q), nhot_naf_weight(q)) TH_LOG("q=%d", q);
		ASSERT_EQ(nhot_naf_weight(q), nhot_naf_weight(-q)) TH_LOG("q=%d", q);
	}
	EXPECT_EQ(0, nhot_naf_weight(0));
	EXPECT_EQ(-EINVAL, nhot_naf_weight((1 << 15) + 1));
	EXPECT_EQ(-EINVAL, nhot_naf_weight(-(1 << 15) - 1));
	EXPECT_EQ(-EINVAL, nhot_naf_weight(INT_MIN));
	EXPECT_EQ(-EINVAL, nhot_naf_weight(INT_MAX));
}

TEST(sets_symmetric_with_zero)
{
	int16_t v[NHOT_SET_MAX];
	int n, b, i;

	FOR_EACH_NB(n, b) {
		int size = nhot_set_values(n, b, v, NHOT_SET_MAX);
		int zeros = 0;

		ASSERT_GT(size, 0);
		ASSERT_EQ(1, size % 2);
		for (i = 0; i < size; i++) {
			EXPECT_EQ(v[i], -v[size - 1 - i]);
			if (i)
				EXPECT_LT(v[i - 1], v[i]);
			zeros += v[i] == 0;
		}
		EXPECT_EQ(1, zeros);
		EXPECT_EQ(0, v[size / 2]);
		/* n >= ceil(b/2): every integer of the range (uniform quantization) */
		if (n >= (b + 1) / 2)
			EXPECT_EQ((1 << b) - 1, size) TH_LOG("n=%d b=%d", n, b);
	}
}

TEST(code_bits)
{
	int n, b;

	FOR_EACH_NB(n, b) {
		int k = nhot_code_bits(n, b), size = nhot_set_size(n, b);

		ASSERT_GE(k, 1);
		EXPECT_LT(1 << (k - 1), size);
		EXPECT_LE(size, 1 << k);
	}
}

TEST(bad_set_arguments)
{
	static const int bad[][2] = { {0, 8}, {5, 8}, {1, 1}, {1, 9}, {-1, 4}, {2, -8},
				      {INT_MAX, 8}, {2, INT_MIN} };
	int16_t v[NHOT_SET_MAX];
	int q, i;
	size_t j;

	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		int n = bad[j][0], b = bad[j][1];

		EXPECT_EQ(-EINVAL, nhot_set_size(n, b));
		EXPECT_EQ(-EINVAL, nhot_set_values(n, b, v, NHOT_SET_MAX));
		EXPECT_EQ(-EINVAL, nhot_code_bits(n, b));
		EXPECT_EQ(-EINVAL, nhot_round(0.5, n, b, &q));
		EXPECT_EQ(-EINVAL, nhot_encode_value(0, n, b));
		EXPECT_EQ(-EINVAL, nhot_decode_value(0, n, b, &q));
		EXPECT_EQ(0u, nhot_row_bytes(n, b, 10));
	}
	EXPECT_EQ(-ENOSPC, nhot_set_values(2, 8, v, 86));
	EXPECT_EQ(-ENOSPC, nhot_set_values(2, 8, NULL, 0));
	EXPECT_EQ(-EINVAL, nhot_set_values(2, 8, NULL, 87));
	for (i = 0; i < NHOT_SET_MAX; i++)
		v[i] = 0x5a5a;
	EXPECT_EQ(87, nhot_set_values(2, 8, v, 87));
	EXPECT_EQ(0x5a5a, v[87]);
}

TEST(term_form)
{
	struct nhot_term t[NHOT_TERMS_MAX];
	int q, n, b, j;

	for (q = -127; q <= 127; q++) {
		int count = nhot_terms(q, t), sum = 0;

		ASSERT_EQ(nhot_naf_weight(q), count) TH_LOG("q=%d", q);
		ASSERT_LE(count, NHOT_TERMS_MAX);
		for (j = 0; j < count; j++) {
			ASSERT_TRUE(t[j].sign == 1 || t[j].sign == -1);
			ASSERT_LE(t[j].exponent, 7);
			if (j)	/* descending, and no two adjacent (a NAF) */
				ASSERT_GE(t[j - 1].exponent, t[j].exponent + 2) TH_LOG("q=%d", q);
			sum += t[j].sign * (1 << t[j].exponent);
		}
		ASSERT_EQ(q, sum);
		FOR_EACH_NB(n, b) {
			if (nhot_encode_value(q, n, b) < 0)
				continue;
			ASSERT_LE(count, n);
			if (count)
				ASSERT_LE(t[0].exponent, b - 1) TH_LOG("q=%d b=%d", q, b);
		}
	}
	/* The document's examples: 7 = +2^3 - 2^0, -6 = -2^3 + 2^1. */
	ASSERT_EQ(2, nhot_terms(7, t));
	EXPECT_EQ(1, t[0].sign);
	EXPECT_EQ(3, t[0].exponent);
	EXPECT_EQ(-1, t[1].sign);
	EXPECT_EQ(0, t[1].exponent);
	ASSERT_EQ(2, nhot_terms(-6, t));
	EXPECT_EQ(-1, t[0].sign);
	EXPECT_EQ(3, t[0].exponent);
	EXPECT_EQ(1, t[1].sign);
	EXPECT_EQ(1, t[1].exponent);
	EXPECT_EQ(0, nhot_terms(0, t));
	EXPECT_EQ(-EINVAL, nhot_terms(128, t));
	EXPECT_EQ(-EINVAL, nhot_terms(-128, t));
	EXPECT_EQ(-EINVAL, nhot_terms(INT_MIN, t));
	EXPECT_EQ(-EINVAL, nhot_terms(1, NULL));
}

/*
 * Nearest element by exhaustive search in long double. Callers pass only x
 * whose bits span at most 64 binary places with the set's integers, so every
 * distance is exact; ties go to the smaller magnitude.
 */
static int brute_round(long double x, const int16_t *v, int size)
{
	long double best_d = fabsl(x - v[0]);
	int best = v[0], i;

	for (i = 1; i < size; i++) {
		long double d = fabsl(x - v[i]);

		if (d < best_d || (d == best_d && abs(v[i]) < abs(best))) {
			best_d = d;
			best = v[i];
		}
	}
	return best;
}

static int check_round(struct __test_metadata *_metadata, double x, int n, int b,
		       const int16_t *v, int size)
{
	int q = 1000, ret = nhot_round(x, n, b, &q);

	EXPECT_EQ(0, ret) TH_LOG("x=%.17g", x);
	EXPECT_EQ(brute_round(x, v, size), q) TH_LOG("x=%.17g n=%d b=%d", x, n, b);
	return ret == 0 && q == brute_round(x, v, size);
}

TEST(round_matches_brute_force)
{
	int16_t v[NHOT_SET_MAX];
	int n, b, i, q;

	FOR_EACH_NB(n, b) {
		int size = nhot_set_values(n, b, v, NHOT_SET_MAX);

		ASSERT_GT(size, 0);
		/* random dyadic reals: 53 significant bits, lowest 2^-45 */
		for (i = 0; i < 4000; i++) {
			int64_t m = (int64_t)(rnd() % (300ull << 45)) - (150ll << 45);

			if (!check_round(_metadata, ldexp((double)m, -45), n, b, v, size))
				return;
		}
		for (i = 0; i < size; i++) {
			double e = v[i];

			check_round(_metadata, e, n, b, v, size);
			check_round(_metadata, nextafter(e, 1000), n, b, v, size);
			check_round(_metadata, nextafter(e, -1000), n, b, v, size);
			if (i + 1 < size) {	/* the exact tie and both sides of it */
				double mid = (v[i] + v[i + 1]) / 2.0;

				check_round(_metadata, mid, n, b, v, size);
				check_round(_metadata, nextafter(mid, 1000), n, b, v, size);
				check_round(_metadata, nextafter(mid, -1000), n, b, v, size);
			}
		}
		/* clamping */
		check_round(_metadata, 1e6, n, b, v, size);
		check_round(_metadata, -1e6, n, b, v, size);
		check_round(_metadata, v[size - 1] + 0.5, n, b, v, size);
		ASSERT_EQ(0, nhot_round(1e300, n, b, &q));
		EXPECT_EQ(v[size - 1], q);
		ASSERT_EQ(0, nhot_round(INFINITY, n, b, &q));
		EXPECT_EQ(v[size - 1], q);
		ASSERT_EQ(0, nhot_round(-INFINITY, n, b, &q));
		EXPECT_EQ(v[0], q);
		ASSERT_EQ(0, nhot_round(-DBL_MAX, n, b, &q));
		EXPECT_EQ(v[0], q);
		/* tiny and signed zeros go to 0 */
		ASSERT_EQ(0, nhot_round(-0.0, n, b, &q));
		EXPECT_EQ(0, q);
		ASSERT_EQ(0, nhot_round(DBL_MIN, n, b, &q));
		EXPECT_EQ(0, q);
		ASSERT_EQ(0, nhot_round(-4.9e-324, n, b, &q));
		EXPECT_EQ(0, q);
		EXPECT_EQ(-EINVAL, nhot_round(NAN, n, b, &q));
		EXPECT_EQ(-EINVAL, nhot_round(-NAN, n, b, &q));
		EXPECT_EQ(-EINVAL, nhot_round(1.0, n, b, NULL));
	}
}

TEST(round_examples)
{
	int q;

	/* S(1, 4) = {-4, -2, -1, 0, 1, 2, 4} */
	ASSERT_EQ(0, nhot_round(3.0, 1, 4, &q));
	EXPECT_EQ(2, q);			/* tie between 2 and 4 */
	ASSERT_EQ(0, nhot_round(-3.0, 1, 4, &q));
	EXPECT_EQ(-2, q);
	ASSERT_EQ(0, nhot_round(3.0000001, 1, 4, &q));
	EXPECT_EQ(4, q);
	ASSERT_EQ(0, nhot_round(0.5, 1, 4, &q));
	EXPECT_EQ(0, q);			/* tie between 0 and 1 */
	ASSERT_EQ(0, nhot_round(-1.5, 1, 4, &q));
	EXPECT_EQ(-1, q);
	ASSERT_EQ(0, nhot_round(9.0, 1, 4, &q));
	EXPECT_EQ(4, q);			/* clamped */
	/* S(2, 8): 11 is not in it (NAF 10-10-1 needs three terms), 10 and 12 are */
	ASSERT_EQ(0, nhot_round(11.0, 2, 8, &q));
	EXPECT_EQ(10, q);
	ASSERT_EQ(0, nhot_round(11.25, 2, 8, &q));
	EXPECT_EQ(12, q);
	ASSERT_EQ(0, nhot_round(127.0, 2, 8, &q));
	EXPECT_EQ(127, q);			/* 127 = 2^7 - 2^0 */
}

TEST(encode_decode_round_trip)
{
	int16_t v[NHOT_SET_MAX];
	int n, b, q, code;

	FOR_EACH_NB(n, b) {
		int size = nhot_set_values(n, b, v, NHOT_SET_MAX);
		int k = nhot_code_bits(n, b);

		for (code = 0; code < size; code++) {
			ASSERT_EQ(0, nhot_decode_value((unsigned int)code, n, b, &q));
			ASSERT_EQ(v[code], q);
			ASSERT_EQ(code, nhot_encode_value(q, n, b));
		}
		for (code = size; code < (1 << k) + 3; code++)
			ASSERT_EQ(-EILSEQ, nhot_decode_value((unsigned int)code, n, b, &q));
		ASSERT_EQ(-EILSEQ, nhot_decode_value(UINT_MAX, n, b, &q));
		ASSERT_EQ(-EINVAL, nhot_decode_value(0, n, b, NULL));
		for (q = -300; q <= 300; q++) {
			int i, found = 0;

			for (i = 0; i < size; i++)
				found |= v[i] == q;
			if (!found)
				ASSERT_EQ(-EINVAL, nhot_encode_value(q, n, b)) TH_LOG("q=%d", q);
		}
		ASSERT_EQ(-EINVAL, nhot_encode_value(INT_MIN, n, b));
		ASSERT_EQ(-EINVAL, nhot_encode_value(INT_MAX, n, b));
	}
}

/* Code i of a row read as the document's first description: bit by bit. */
static unsigned int doc_code(const uint8_t *row, size_t i, int k)
{
	unsigned int code = 0;
	int t;

	for (t = 0; t < k; t++) {
		size_t j = i * (size_t)k + (size_t)t;

		code |= (unsigned int)(row[j / 8] >> (j % 8) & 1) << t;
	}
	return code;
}

static const size_t pack_ks[] = { 1, 2, 3, 7, 8, 9, 10, 31, 32, 33, 63, 64, 65, 100, 127, 128,
				  129, 200, 1000, 1023 };

TEST(pack_unpack_round_trip)
{
	int16_t v[NHOT_SET_MAX];
	int n, b;
	size_t ki, rows, i, r;

	FOR_EACH_NB(n, b) {
		int size = nhot_set_values(n, b, v, NHOT_SET_MAX);
		int k = nhot_code_bits(n, b);

		for (ki = 0; ki < sizeof(pack_ks) / sizeof(pack_ks[0]); ki++) {
			size_t kc = pack_ks[ki];
			size_t rb = nhot_row_bytes(n, b, kc);

			ASSERT_EQ((kc * (size_t)k + 7) / 8, rb);
			for (rows = 1; rows <= 3; rows++) {
				int8_t *q = malloc(rows * kc), *back = malloc(rows * kc);
				uint8_t *p = malloc(rows * rb + 1);

				ASSERT_TRUE(q && back && p);
				for (i = 0; i < rows * kc; i++)
					q[i] = (int8_t)v[rnd() % (uint64_t)size];
				if (kc > 2) {	/* both ends of the set */
					q[0] = (int8_t)v[0];
					q[1] = (int8_t)v[size - 1];
				}
				memset(p, 0xa5, rows * rb + 1);
				ASSERT_EQ(0, nhot_pack(n, b, q, rows, kc, p, rows * rb));
				EXPECT_EQ(0xa5, p[rows * rb]);	/* no write past the tensor */
				for (r = 0; r < rows; r++) {
					const uint8_t *row = p + r * rb;

					for (i = 0; i < kc; i++)
						ASSERT_EQ(nhot_encode_value(q[r * kc + i], n, b),
							  (int)doc_code(row, i, k));
					for (i = kc * (size_t)k; i < rb * 8; i++)	/* padding */
						ASSERT_EQ(0, row[i / 8] >> (i % 8) & 1);
				}
				ASSERT_EQ(0, nhot_unpack(n, b, p, rows * rb, rows, kc, back));
				ASSERT_EQ(0, memcmp(q, back, rows * kc));
				free(q);
				free(back);
				free(p);
			}
		}
	}
}

TEST(pack_errors)
{
	int8_t q[130] = { 0 }, back[130];
	uint8_t p[256];
	int n, b;

	FOR_EACH_NB(n, b) {
		size_t rb = nhot_row_bytes(n, b, 130);
		int size = nhot_set_size(n, b), k = nhot_code_bits(n, b);
		int qmax = (1 << (b - 1)) - 1;

		ASSERT_LE(rb, sizeof(p));
		memset(q, 0, sizeof(q));
		EXPECT_EQ(-ENOSPC, nhot_pack(n, b, q, 1, 130, p, rb - 1));
		EXPECT_EQ(-EINVAL, nhot_pack(n, b, NULL, 1, 130, p, rb));
		EXPECT_EQ(-EINVAL, nhot_pack(n, b, q, 1, 130, NULL, rb));
		memset(p, 0x77, sizeof(p));
		q[129] = (int8_t)(qmax + 1);	/* beyond the range */
		EXPECT_EQ(-EINVAL, nhot_pack(n, b, q, 1, 130, p, rb));
		q[129] = INT8_MIN;
		EXPECT_EQ(-EINVAL, nhot_pack(n, b, q, 1, 130, p, rb));
		EXPECT_EQ(0x77, p[0]);		/* untouched on error */
		q[129] = 0;
		ASSERT_EQ(0, nhot_pack(n, b, q, 1, 130, p, rb));
		EXPECT_EQ(-ENOSPC, nhot_unpack(n, b, p, rb - 1, 1, 130, back));
		EXPECT_EQ(-EINVAL, nhot_unpack(n, b, NULL, rb, 1, 130, back));
		EXPECT_EQ(-EINVAL, nhot_unpack(n, b, p, rb, 1, 130, NULL));
		if (size < 1 << k) {
			/* the first invalid code at position 129, straddling or not */
			size_t bit = 129 * (size_t)k, t;

			for (t = 0; t < (size_t)k; t++) {
				p[(bit + t) / 8] &= (uint8_t)~(1u << ((bit + t) % 8));
				if ((unsigned int)size >> t & 1)
					p[(bit + t) / 8] |= (uint8_t)(1u << ((bit + t) % 8));
			}
			EXPECT_EQ((unsigned int)size, doc_code(p, 129, k));
			EXPECT_EQ(-EILSEQ, nhot_unpack(n, b, p, rb, 1, 130, back));
		}
	}
	/* sizes that cannot exist */
	EXPECT_EQ(0u, nhot_row_bytes(4, 8, SIZE_MAX / 4));
	EXPECT_EQ(-EINVAL, nhot_pack(4, 8, q, SIZE_MAX / 8, 130, p, sizeof(p)));
	EXPECT_EQ(-EINVAL, nhot_unpack(4, 8, p, sizeof(p), SIZE_MAX / 8, 130, back));
	EXPECT_EQ(-EINVAL, nhot_pack(0, 8, q, 1, 1, p, sizeof(p)));
	EXPECT_EQ(-EINVAL, nhot_unpack(4, 9, p, sizeof(p), 1, 1, back));
	/* nothing to pack is fine */
	EXPECT_EQ(0, nhot_pack(2, 8, q, 0, 130, p, 0));
	EXPECT_EQ(0, nhot_pack(2, 8, q, 3, 0, p, 0));
	EXPECT_EQ(0u, nhot_row_bytes(2, 8, 0));
}

TEST(quantize_multiplier)
{
	uint32_t m = 0, s = 0;
	int i;

	for (i = 0; i < 100000; i++) {
		/* log-uniform over the representable range [2^-32, 2^30) */
		double real = ldexp(1.0 + (double)(rnd() >> 11) / 9007199254740992.0,
				    (int)(rnd() % 62) - 32);

		ASSERT_EQ(0, nhot_quantize_multiplier(real, &m, &s)) TH_LOG("%.17g", real);
		ASSERT_GE(m, 1u << 30);
		ASSERT_LT(m, 1u << 31);
		ASSERT_GE(s, 1u);
		ASSERT_LE(s, 62u);
		/* within half a unit of M */
		ASSERT_LE(fabs(ldexp((double)m, -(int)s) - real), ldexp(0.5, -(int)s))
			TH_LOG("%.17g -> %u * 2^-%u", real, m, s);
	}
	ASSERT_EQ(0, nhot_quantize_multiplier(0.5, &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(31u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(1.0, &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(30u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(0.75, &m, &s));
	EXPECT_EQ(3u << 29, m);
	EXPECT_EQ(31u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(0.0, &m, &s));
	EXPECT_EQ(0u, m);
	EXPECT_EQ(1u, s);
	/* the ends: (2^31 - 1) * 2^-1 and 2^30 * 2^-62 */
	ASSERT_EQ(0, nhot_quantize_multiplier(ldexp(2147483647.0, -1), &m, &s));
	EXPECT_EQ(2147483647u, m);
	EXPECT_EQ(1u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(ldexp(1.0, -32), &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(62u, s);
	/* just below 2^-32 rounds up to it */
	ASSERT_EQ(0, nhot_quantize_multiplier(nextafter(ldexp(1.0, -32), 0), &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(62u, s);
	/* rounds up to 2^30: not representable */
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(nextafter(ldexp(1.0, 30), 0), &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(ldexp(1.0, 30), &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(ldexp(1.0, -33), &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(4.9e-324, &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(INFINITY, &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(1e300, &m, &s));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(-0.5, &m, &s));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(-INFINITY, &m, &s));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(NAN, &m, &s));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(0.5, NULL, &s));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(0.5, &m, NULL));
}

TEST_HARNESS_MAIN
