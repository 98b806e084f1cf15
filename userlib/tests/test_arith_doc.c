// SPDX-License-Identifier: MIT
/*
 * The numbers printed in docs/arith.md, sections 1.6 and 4, asserted against
 * the library: the size table, the invalid codes, example sets, codes and term
 * forms, rounding and multiplier examples and the multiplier's exact limits,
 * the errno of a missing buffer, pools and in_zero, and the worked example of every layer type (the
 * packed weight bytes, the outputs and the counters). A change to either the
 * document or the code that makes them disagree fails here.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The harness's own callbacks and TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"


/* 1.6 "Sizes": |S(n, b)| and k, rows n = 1..4, columns b = 2..8. */
static const int doc_sizes[4][7][2] = {
	{ {3, 2}, {5, 3}, {7, 3}, {9, 4}, {11, 4}, {13, 4}, {15, 4} },
	{ {3, 2}, {7, 3}, {15, 4}, {27, 5}, {43, 6}, {63, 6}, {87, 7} },
	{ {3, 2}, {7, 3}, {15, 4}, {31, 5}, {63, 6}, {119, 7}, {207, 8} },
	{ {3, 2}, {7, 3}, {15, 4}, {31, 5}, {63, 6}, {127, 7}, {255, 8} },
};

TEST(size_table)
{
	int n, b;

	for (n = 1; n <= 4; n++) {
		for (b = 2; b <= 8; b++) {
			EXPECT_EQ(doc_sizes[n - 1][b - 2][0], nhot_set_size(n, b))
				TH_LOG("|S(%d, %d)|", n, b);
			EXPECT_EQ(doc_sizes[n - 1][b - 2][1], nhot_code_bits(n, b))
				TH_LOG("k of S(%d, %d)", n, b);
		}
	}
	for (b = 2; b <= 8; b++)
		EXPECT_EQ(2 * b - 1, doc_sizes[0][b - 2][0]) TH_LOG("|S(1, %d)| = 2b - 1", b);
}

static void expect_set(struct __test_metadata *_metadata, int n, int b, const int16_t *want,
		       int count)
{
	int16_t got[NHOT_SET_MAX];

	ASSERT_EQ(count, nhot_set_values(n, b, got, NHOT_SET_MAX));
	EXPECT_EQ(0, memcmp(want, got, (size_t)count * sizeof(*got)));
}

/* Every positive value of S(n, b) is in the list, and nothing else is. */
static void expect_positive_half(struct __test_metadata *_metadata, int n, int b,
				 const int16_t *pos, int count)
{
	int16_t got[NHOT_SET_MAX];
	int size = nhot_set_values(n, b, got, NHOT_SET_MAX);

	ASSERT_EQ(2 * count + 1, size);
	EXPECT_EQ(0, got[count]);
	EXPECT_EQ(0, memcmp(pos, got + count + 1, (size_t)count * sizeof(*got)));
}

TEST(example_sets_and_codes)
{
	static const int16_t s18[] = { -64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32, 64 };
	static const int16_t s14[] = { -4, -2, -1, 0, 1, 2, 4 };
	static const int16_t s25_pos[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15 };
	static const int16_t s28_pos[] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 17, 18, 20, 24, 28, 30, 31, 32,
		33, 34, 36, 40, 48, 56, 60, 62, 63, 64, 65, 66, 68, 72, 80, 96, 112, 120, 124,
		126, 127 };
	static const int s38_missing[] = {
		43, 45, 51, 53, 75, 77, 83, 85, 86, 87, 89, 90, 91, 93, 99, 101, 102, 103, 105,
		106, 107, 109, 115, 117 };
	int16_t s38[NHOT_SET_MAX];
	size_t i;
	int q, j, size;

	expect_set(_metadata, 1, 8, s18, ARRAY_SIZE(s18));
	expect_set(_metadata, 1, 4, s14, ARRAY_SIZE(s14));
	expect_positive_half(_metadata, 2, 5, s25_pos, ARRAY_SIZE(s25_pos));
	expect_positive_half(_metadata, 2, 8, s28_pos, ARRAY_SIZE(s28_pos));
	EXPECT_EQ(-EINVAL, nhot_encode_value(11, 2, 5));
	EXPECT_EQ(-EINVAL, nhot_encode_value(-13, 2, 5));

	/* S(3, 8): the 127 positive values minus exactly the listed 24 */
	size = nhot_set_values(3, 8, s38, NHOT_SET_MAX);
	ASSERT_EQ(2 * (127 - (int)ARRAY_SIZE(s38_missing)) + 1, size);
	for (q = 1, j = size / 2 + 1, i = 0; q <= 127; q++) {
		if (i < ARRAY_SIZE(s38_missing) && s38_missing[i] == q) {
			EXPECT_EQ(-EINVAL, nhot_encode_value(q, 3, 8));
			EXPECT_EQ(4, nhot_naf_weight(q));
			i++;
			continue;
		}
		ASSERT_LT(j, size);
		EXPECT_EQ(q, s38[j++]);
	}

	EXPECT_EQ(0, nhot_encode_value(-127, 2, 8));
	EXPECT_EQ(43, nhot_encode_value(0, 2, 8));
	EXPECT_EQ(86, nhot_encode_value(127, 2, 8));
	EXPECT_EQ(46, nhot_encode_value(3, 2, 8));
	EXPECT_EQ(58, nhot_encode_value(17, 2, 8));
	EXPECT_EQ(81, nhot_encode_value(96, 2, 8));
	EXPECT_EQ(255, nhot_set_size(4, 8));	/* code 255 is the one invalid 8-bit code */
}

TEST(term_forms)
{
	static const struct {
		int q, count;
		struct nhot_term t[NHOT_TERMS_MAX];
	} doc[] = {
		{ 0, 0, { { 0, 0 } } },
		{ 1, 1, { { 1, 0 } } },
		{ 3, 2, { { 1, 2 }, { -1, 0 } } },
		{ 7, 2, { { 1, 3 }, { -1, 0 } } },
		{ -6, 2, { { -1, 3 }, { 1, 1 } } },
		{ 11, 3, { { 1, 4 }, { -1, 2 }, { -1, 0 } } },
		{ 43, 4, { { 1, 6 }, { -1, 4 }, { -1, 2 }, { -1, 0 } } },
		{ 85, 4, { { 1, 6 }, { 1, 4 }, { 1, 2 }, { 1, 0 } } },
		{ 96, 2, { { 1, 7 }, { -1, 5 } } },
		{ -127, 2, { { -1, 7 }, { 1, 0 } } },
	};
	struct nhot_term t[NHOT_TERMS_MAX];
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(doc); i++) {
		ASSERT_EQ(doc[i].count, nhot_terms(doc[i].q, t)) TH_LOG("q = %d", doc[i].q);
		EXPECT_EQ(doc[i].count, nhot_naf_weight(doc[i].q));
		for (j = 0; j < doc[i].count; j++) {
			EXPECT_EQ(doc[i].t[j].sign, t[j].sign) TH_LOG("q = %d term %d", doc[i].q, j);
			EXPECT_EQ(doc[i].t[j].exponent, t[j].exponent)
				TH_LOG("q = %d term %d", doc[i].q, j);
		}
	}
}

TEST(rounding_examples)
{
	static const struct {
		double x;
		int n, b, q;
	} doc[] = {
		{ 3, 1, 4, 2 }, { 3.0000001, 1, 4, 4 }, { -0.5, 1, 4, 0 }, { 1.5, 1, 4, 1 },
		{ 9, 1, 4, 4 }, { -1e300, 1, 4, -4 },
		{ 11, 2, 8, 10 }, { 11.25, 2, 8, 12 }, { 300, 2, 8, 127 },
	};
	size_t i;
	int q;

	for (i = 0; i < ARRAY_SIZE(doc); i++) {
		ASSERT_EQ(0, nhot_round(doc[i].x, doc[i].n, doc[i].b, &q));
		EXPECT_EQ(doc[i].q, q) TH_LOG("round %.8g onto S(%d, %d)", doc[i].x, doc[i].n,
					      doc[i].b);
	}
}

TEST(multiplier_examples)
{
	uint32_t m, s;

	ASSERT_EQ(0, nhot_quantize_multiplier(3.0 / 64, &m, &s));
	EXPECT_EQ(1610612736u, m);
	EXPECT_EQ(35u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(1.0 / 8, &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(33u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(1.0, &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(30u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(0.0, &m, &s));
	EXPECT_EQ(0u, m);
	EXPECT_EQ(1u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(2147483647.0 / 2, &m, &s));
	EXPECT_EQ(2147483647u, m);
	EXPECT_EQ(1u, s);
	ASSERT_EQ(0, nhot_quantize_multiplier(1.0 / 4294967296.0, &m, &s));
	EXPECT_EQ(1u << 30, m);
	EXPECT_EQ(62u, s);
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(1073741824.0, &m, &s));
	EXPECT_EQ(-ERANGE, nhot_quantize_multiplier(1.0 / 8589934592.0, &m, &s));
}

/* 1.6 "Invalid codes": |S| odd, codes |S| .. 2^k - 1 invalid, exactly one for a full set. */
TEST(invalid_codes_of_every_set)
{
	int n, b, q;

	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
			int size = nhot_set_size(n, b), k = nhot_code_bits(n, b);
			int full = n >= (b + 1) / 2;
			unsigned int code;

			EXPECT_EQ(1, size % 2);
			EXPECT_LT(size, 1 << k);
			EXPECT_EQ(full, size == (1 << b) - 1);
			if (full)
				EXPECT_EQ(b, k);
			for (code = 0; code < 1u << k; code++)
				EXPECT_EQ(code < (unsigned int)size ? 0 : -EILSEQ,
					  nhot_decode_value(code, n, b, &q));
		}
	}
	/* The examples of the text. */
	EXPECT_EQ(-EILSEQ, nhot_decode_value(15, 2, 4, &q));
	EXPECT_EQ(0, nhot_decode_value(14, 2, 4, &q));
	EXPECT_EQ(-EILSEQ, nhot_decode_value(255, 4, 8, &q));
	EXPECT_EQ(-EILSEQ, nhot_decode_value(3, 1, 2, &q));
	EXPECT_EQ(-EILSEQ, nhot_decode_value(15, 1, 8, &q));
	EXPECT_EQ(128 - 87, (1 << nhot_code_bits(2, 8)) - nhot_set_size(2, 8));
	EXPECT_EQ(32 - 27, (1 << nhot_code_bits(2, 5)) - nhot_set_size(2, 5));
}

static void expect_mult(struct __test_metadata *_metadata, double real, int want_rc,
			uint32_t want_m, uint32_t want_s)
{
	uint32_t m = 7, s = 7;

	EXPECT_EQ(want_rc, nhot_quantize_multiplier(real, &m, &s)) {
		TH_LOG("real %a", real);
	}
	EXPECT_EQ(want_rc ? 7u : want_m, m) {
		TH_LOG("real %a", real);
	}
	EXPECT_EQ(want_rc ? 7u : want_s, s) {
		TH_LOG("real %a", real);
	}
}

/* 1.5 and 1.6: the multiplier's rounding (half up) and its exact limits. */
TEST(multiplier_rounding_and_exact_limits)
{
	double top = ldexp(1, 30) - ldexp(1, -2), bottom = ldexp(1, -32) - ldexp(1, -64);
	uint32_t m;

	expect_mult(_metadata, top, -ERANGE, 0, 0);
	expect_mult(_metadata, nextafter(top, 0), 0, 0x7fffffffu, 1);
	expect_mult(_metadata, ldexp(1, 30), -ERANGE, 0, 0);
	expect_mult(_metadata, bottom, 0, 1u << 30, 62);
	expect_mult(_metadata, nextafter(bottom, 0), -ERANGE, 0, 0);
	expect_mult(_metadata, ldexp(1, -33), -ERANGE, 0, 0);
	expect_mult(_metadata, 4.9e-324, -ERANGE, 0, 0);	/* the smallest subnormal */
	expect_mult(_metadata, ldexp((1 << 30) + 0.5, -31), 0, (1u << 30) + 1, 31);
	expect_mult(_metadata, ldexp((1 << 30) + 2.5, -31), 0, (1u << 30) + 3, 31);
	expect_mult(_metadata, -0.0, 0, 0, 1);
	expect_mult(_metadata, INFINITY, -ERANGE, 0, 0);
	expect_mult(_metadata, NAN, -EINVAL, 0, 0);
	expect_mult(_metadata, -1e-9, -EINVAL, 0, 0);
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(1.0, NULL, &m));
	EXPECT_EQ(-EINVAL, nhot_quantize_multiplier(1.0, &m, NULL));
}

/* Section 3, "Missing buffers": NULL -EINVAL, short -ERANGE, in the order of the text. */
TEST(missing_and_short_buffers)
{
	static const uint8_t in[4] = { 1, 2, 3, 4 }, codes[1] = { 0x11 };
	static const struct nhot_chan_params params[1] = { { 0, 1u << 30, 30 } };
	const struct nhot_layer fc = { .type = NHOT_LAYER_FC, .batch = 1, .in_h = 1,
				       .in_w = 1, .in_c = 2, .out_c = 1, .w_n = 1, .w_b = 2,
				       .act_max = 255 };
	const struct nhot_layer pool = { .type = NHOT_LAYER_MAXPOOL, .batch = 1, .in_h = 2,
					 .in_w = 2, .in_c = 1, .kernel_h = 2, .kernel_w = 2,
					 .stride_h = 1, .stride_w = 1, .act_max = 255 };
	int (*const run[2])(const struct nhot_layer *, const struct nhot_tensors *,
			    struct nhot_counters *) = { nhot_ref_run, nhot_cpu_run };
	uint8_t out[4];
	int i;

	for (i = 0; i < 2; i++) {
		struct nhot_tensors t = {
			.input = in, .input_len = 2, .weights = codes, .weights_len = 1,
			.params = params, .params_len = sizeof(params),
			.output = out, .output_len = 1,
		};
		struct nhot_tensors p = { .input = in, .input_len = 4, .output = out,
					  .output_len = 1 };

		EXPECT_EQ(0, run[i](&fc, &t, NULL));
		EXPECT_EQ(-EINVAL, run[i](NULL, &t, NULL));
		EXPECT_EQ(-EINVAL, run[i](&fc, NULL, NULL));
		t.output = NULL;		/* the last buffer checked */
		t.weights_len = 0;		/* short, and checked earlier: decides */
		EXPECT_EQ(-ERANGE, run[i](&fc, &t, NULL));
		t.weights = NULL;		/* now missing: -EINVAL */
		EXPECT_EQ(-EINVAL, run[i](&fc, &t, NULL));
		t.weights = codes;
		t.weights_len = 1;
		EXPECT_EQ(-EINVAL, run[i](&fc, &t, NULL));	/* the NULL output */
		t.output = out;
		t.output_len = 0;
		EXPECT_EQ(-ERANGE, run[i](&fc, &t, NULL));
		/* A pool uses neither weights nor params: NULL with any length is fine. */
		p.weights_len = 99;
		p.params_len = 99;
		EXPECT_EQ(0, run[i](&pool, &p, NULL));
		EXPECT_EQ(4, out[0]);
	}
}

/* 2.5: in_zero is checked but takes no part in any pool; out_zero must be 0. */
TEST(pools_ignore_in_zero)
{
	static const uint8_t in[4] = { 10, 20, 30, 41 };
	struct nhot_layer l = { .batch = 1, .in_h = 2, .in_w = 2, .in_c = 1, .act_max = 255 };
	static const uint32_t types[] = { NHOT_LAYER_AVGPOOL, NHOT_LAYER_GLOBAL_AVGPOOL,
					  NHOT_LAYER_MAXPOOL };
	static const uint8_t want[] = { 25, 25, 41 };	/* (101 + 2) / 4 = 25; max 41 */
	uint8_t out;
	struct nhot_tensors t = { .input = in, .input_len = 4, .output = &out, .output_len = 1 };
	unsigned int i, z;

	for (i = 0; i < 3; i++) {
		l.type = types[i];
		l.kernel_h = l.kernel_w = l.stride_h = l.stride_w =
			types[i] == NHOT_LAYER_GLOBAL_AVGPOOL ? 0 : 2;
		for (z = 0; z <= 255; z += 51) {
			l.in_zero = z;
			out = 0;
			EXPECT_EQ(0, nhot_ref_run(&l, &t, NULL));
			EXPECT_EQ(want[i], out);
		}
		l.in_zero = 256;
		EXPECT_EQ(-EINVAL, nhot_ref_run(&l, &t, NULL));
		l.in_zero = 0;
		l.out_zero = 1;
		EXPECT_EQ(-EINVAL, nhot_ref_run(&l, &t, NULL));
		l.out_zero = 0;
	}
}

/** One worked example of section 4. */
struct doc_example {
	struct nhot_layer layer;
	const uint8_t *input, *input2;
	size_t input_len;
	const int8_t *weights;		/* out_c rows of K values, NULL for no weights */
	const uint8_t *packed;		/* the document's bytes of the packed rows */
	size_t packed_len;
	const struct nhot_chan_params *params;
	const uint8_t *output;
	size_t output_len;
	uint64_t macs, shift_adds;
};

static void run_example(struct __test_metadata *_metadata, const struct doc_example *e)
{
	struct nhot_layer_shape s;
	struct nhot_counters c;
	uint8_t packed[64], out[64];
	struct nhot_tensors t = {
		.input = e->input, .input_len = e->input_len,
		.input2 = e->input2, .input2_len = e->input2 ? e->input_len : 0,
		.params = e->params,
		.output = out, .output_len = sizeof(out),
	};

	ASSERT_EQ(0, nhot_layer_check(&e->layer, &s));
	ASSERT_EQ(e->input_len, s.input_bytes);
	ASSERT_EQ(e->output_len, s.output_bytes);
	if (e->weights) {
		ASSERT_EQ(e->packed_len, s.weight_bytes);
		ASSERT_LE(s.weight_bytes, sizeof(packed));
		memset(packed, 0xcc, sizeof(packed));
		ASSERT_EQ(0, nhot_pack((int)e->layer.w_n, (int)e->layer.w_b, e->weights,
				       s.out_c, s.k, packed, sizeof(packed)));
		EXPECT_EQ(0, memcmp(e->packed, packed, e->packed_len));
		t.weights = packed;
		t.weights_len = s.weight_bytes;
		t.params_len = s.params_bytes;
	}
	memset(out, 0xcc, sizeof(out));
	ASSERT_EQ(0, nhot_ref_run(&e->layer, &t, &c));
	EXPECT_EQ(0, memcmp(e->output, out, e->output_len));
	if (memcmp(e->output, out, e->output_len)) {
		size_t i;

		for (i = 0; i < e->output_len; i++)
			TH_LOG("output[%zu]: document %u, library %u", i, e->output[i], out[i]);
	}
	EXPECT_EQ(0xcc, out[e->output_len]);
	EXPECT_EQ(e->macs, c.macs);
	EXPECT_EQ(e->macs, s.macs);
	EXPECT_EQ(e->shift_adds, c.shift_adds);
}

TEST(example_4_1_conv2d)
{
	static const uint8_t input[] = { 0x82, 0x78, 0x7e, 0x8c, 0x81, 0x80, 0x80, 0x80, 0x83,
					 0x64, 0x7d, 0x96, 0x7f, 0x6e, 0x84, 0x83, 0x85, 0x81 };
	static const int8_t w[] = { 3, -6, 96, -127, 0, 17, -24, 5 };
	static const uint8_t packed[] = { 0xae, 0x52, 0x14, 0x00,
					  0x2b, 0x5d, 0x06, 0x06 };
	static const struct nhot_chan_params p[] = {
		{ .bias = 1000, .mult = 1610612736, .shift = 35 },
		{ .bias = -50, .mult = 1073741824, .shift = 33 },
	};
	static const uint8_t output[] = { 0x82, 0x66, 0x86, 0x1c, 0x92, 0x64, 0x94, 0x5e };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_CONV2D, .batch = 1, .in_h = 3, .in_w = 3,
			   .in_c = 2, .out_c = 2, .kernel_h = 2, .kernel_w = 2, .stride_h = 2,
			   .stride_w = 2, .dilation_h = 1, .dilation_w = 1, .pad_bottom = 1,
			   .pad_right = 1, .groups = 2, .w_n = 2, .w_b = 8, .in_zero = 128,
			   .out_zero = 100, .act_min = 0, .act_max = 255 },
		.input = input, .input_len = sizeof(input),
		.weights = w, .packed = packed, .packed_len = sizeof(packed), .params = p,
		.output = output, .output_len = sizeof(output),
		.macs = 18, .shift_adds = 28,
	};
	static const int codes[] = { 46, 37, 81, 0, 43, 58, 25, 48 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		EXPECT_EQ(codes[i], nhot_encode_value(w[i], 2, 8));
	run_example(_metadata, &e);
}

TEST(example_4_2_fc)
{
	static const uint8_t input[] = { 0x0c, 0x09, 0x0a, 0x1e, 0x00, 0x0a, 0x0e, 0x07, 0x0b,
					 0xff };
	static const int8_t w[] = { 4, -1, 2, 0, -2, 1, -4, 0, 2, -1 };
	static const uint8_t packed[] = { 0x56, 0x17,
					  0xc4, 0x2a };
	static const struct nhot_chan_params p[] = {
		{ .bias = -9, .mult = 1u << 30, .shift = 30 },
		{ .bias = 9, .mult = 1u << 30, .shift = 32 },
	};
	static const uint8_t output[] = { 0x91, 0x90, 0x00, 0x42 };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_FC, .batch = 2, .in_h = 1, .in_w = 1, .in_c = 5,
			   .out_c = 2, .w_n = 1, .w_b = 4, .in_zero = 10, .out_zero = 128,
			   .act_min = 0, .act_max = 145 },
		.input = input, .input_len = sizeof(input),
		.weights = w, .packed = packed, .packed_len = sizeof(packed), .params = p,
		.output = output, .output_len = sizeof(output),
		.macs = 20, .shift_adds = 16,
	};
	static const int codes[] = { 6, 2, 5, 3, 1, 4, 0, 3, 5, 2 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		EXPECT_EQ(codes[i], nhot_encode_value(w[i], 1, 4));
	run_example(_metadata, &e);
}

TEST(example_4_3_add)
{
	static const uint8_t a[] = { 0x64, 0x8c, 0x3c, 0xff };
	static const uint8_t b[] = { 0x32, 0x50, 0x33, 0x00 };
	static const uint8_t output[] = { 0x3c, 0x82, 0x20, 0x65 };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_ADD, .batch = 1, .in_h = 1, .in_w = 2, .in_c = 2,
			   .in_zero = 100, .in2_zero = 50, .out_zero = 60, .act_min = 0,
			   .act_max = 130, .add_mult_a = 786432, .add_mult_b = 1572864,
			   .add_shift = 20 },
		.input = a, .input2 = b, .input_len = sizeof(a),
		.output = output, .output_len = sizeof(output),
	};

	EXPECT_EQ(786432u, (uint32_t)(0.75 * (1 << 20)));
	EXPECT_EQ(1572864u, (uint32_t)(1.5 * (1 << 20)));
	run_example(_metadata, &e);
}

static const uint8_t pool_input[] = { 0x0a, 0x14, 0x1e, 0x28, 0x32, 0x3d, 0x46, 0x50, 0x5b };

TEST(example_4_4_avgpool)
{
	static const uint8_t output[] = { 0x1e, 0x2e, 0x4b, 0x5b };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_AVGPOOL, .batch = 1, .in_h = 3, .in_w = 3,
			   .in_c = 1, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
			   .pad_bottom = 1, .pad_right = 1, .in_zero = 5, .act_min = 0,
			   .act_max = 255 },
		.input = pool_input, .input_len = sizeof(pool_input),
		.output = output, .output_len = sizeof(output),
	};

	run_example(_metadata, &e);
}

TEST(example_4_5_global_avgpool)
{
	static const uint8_t input[] = { 0x01, 0xc8, 0x02, 0xc9, 0x03, 0xca, 0x04, 0xcb,
					 0x05, 0xcc, 0x06, 0xce, 0x00, 0xff, 0x00, 0xff,
					 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x01, 0xff };
	static const uint8_t output[] = { 0x04, 0xcb, 0x00, 0xff };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_GLOBAL_AVGPOOL, .batch = 2, .in_h = 2, .in_w = 3,
			   .in_c = 2, .act_min = 0, .act_max = 255 },
		.input = input, .input_len = sizeof(input),
		.output = output, .output_len = sizeof(output),
	};

	run_example(_metadata, &e);
}

TEST(example_4_6_maxpool)
{
	static const uint8_t output[] = { 0x0f, 0x14, 0x1e, 0x28, 0x32, 0x3d, 0x46, 0x4b, 0x4b };
	struct doc_example e = {
		.layer = { .type = NHOT_LAYER_MAXPOOL, .batch = 1, .in_h = 3, .in_w = 3,
			   .in_c = 1, .kernel_h = 2, .kernel_w = 2, .stride_h = 1, .stride_w = 1,
			   .pad_top = 1, .pad_left = 1, .act_min = 15, .act_max = 75 },
		.input = pool_input, .input_len = sizeof(pool_input),
		.output = output, .output_len = sizeof(output),
	};

	run_example(_metadata, &e);
}

TEST_HARNESS_MAIN
