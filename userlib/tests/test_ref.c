// SPDX-License-Identifier: MIT
/*
 * nhot_ref_run(), the oracle: small cases computed by hand, identities
 * between layers that must hold bit for bit (1x1 conv = FC, dilation = a
 * kernel with zeros, groups = separate convolutions, a whole-plane pool =
 * GLOBAL_AVGPOOL, ADD is symmetric), the counters, the extremes of the
 * limits under UBSan, and every error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The harness's own callbacks and TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(uint32_t below)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull >> 32) % below);
}

/** One layer's memory, sized by nhot_layer_check(). */
struct job {
	struct nhot_layer l;
	struct nhot_layer_shape s;
	uint8_t *in, *in2, *w, *out;
	int8_t *q;			/* out_c x k weight values */
	struct nhot_chan_params *p;
	struct nhot_tensors t;
};

static int job_alloc(struct job *j, const struct nhot_layer *l)
{
	int ret;

	memset(j, 0, sizeof(*j));
	j->l = *l;
	ret = nhot_layer_check(l, &j->s);
	if (ret)
		return ret;
	j->in = malloc(j->s.input_bytes);
	j->in2 = malloc(j->s.input2_bytes + 1);
	j->w = malloc(j->s.weight_bytes + 1);
	j->q = malloc((size_t)j->s.out_c * j->s.k + 1);
	j->p = calloc(j->s.out_c, sizeof(*j->p));
	j->out = malloc(j->s.output_bytes);
	if (!j->in || !j->in2 || !j->w || !j->q || !j->p || !j->out)
		return -ENOMEM;
	j->t = (struct nhot_tensors){
		.input = j->in, .input_len = j->s.input_bytes,
		.input2 = j->in2, .input2_len = j->s.input2_bytes,
		.weights = j->w, .weights_len = j->s.weight_bytes,
		.params = j->p, .params_len = j->s.params_bytes,
		.output = j->out, .output_len = j->s.output_bytes,
	};
	return 0;
}

static void job_free(struct job *j)
{
	free(j->in);
	free(j->in2);
	free(j->w);
	free(j->q);
	free(j->p);
	free(j->out);
}

/* Packs j->q into j->w. */
static int job_pack(struct job *j)
{
	return nhot_pack((int)j->l.w_n, (int)j->l.w_b, j->q, j->s.out_c, j->s.k, j->w,
			 j->s.weight_bytes);
}

/* Random inputs, weights from S(n, b), parameters with mult 2^30 * [1, 2). */
static int job_random(struct job *j)
{
	int16_t set[NHOT_SET_MAX];
	int size = 0;
	uint64_t i;

	for (i = 0; i < j->s.input_bytes; i++)
		j->in[i] = (uint8_t)rnd(256);
	for (i = 0; i < j->s.input2_bytes; i++)
		j->in2[i] = (uint8_t)rnd(256);
	if (!j->s.k)
		return 0;
	size = nhot_set_values((int)j->l.w_n, (int)j->l.w_b, set, NHOT_SET_MAX);
	if (size < 0)
		return size;
	for (i = 0; i < (uint64_t)j->s.out_c * j->s.k; i++)
		j->q[i] = (int8_t)set[rnd((uint32_t)size)];
	for (i = 0; i < j->s.out_c; i++) {
		j->p[i].bias = (int32_t)rnd(20001) - 10000;
		j->p[i].mult = (1u << 30) + rnd(1u << 30);
		/* about sqrt(k) * 2^13 typical |acc| lands mid-range, unclamped */
		j->p[i].shift = 37 + (uint32_t)(63 - __builtin_clzll(j->s.k)) / 2 + rnd(3);
	}
	return job_pack(j);
}

static int job_run(struct job *j, struct nhot_counters *c)
{
	return nhot_ref_run(&j->l, &j->t, c);
}

static struct nhot_layer fc_layer(uint32_t batch, uint32_t k, uint32_t out_c, uint32_t n,
				  uint32_t b)
{
	struct nhot_layer l = { .type = NHOT_LAYER_FC, .batch = batch, .in_h = 1, .in_w = 1,
				.in_c = k, .out_c = out_c, .w_n = n, .w_b = b, .act_max = 255 };
	return l;
}

static struct nhot_layer conv_layer(uint32_t h, uint32_t w, uint32_t c, uint32_t out_c,
				    uint32_t kh, uint32_t kw, uint32_t pad)
{
	struct nhot_layer l = { .type = NHOT_LAYER_CONV2D, .batch = 2, .in_h = h, .in_w = w,
				.in_c = c, .out_c = out_c, .kernel_h = kh, .kernel_w = kw,
				.stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
				.pad_top = pad, .pad_bottom = pad, .pad_left = pad,
				.pad_right = pad, .groups = 1, .w_n = 2, .w_b = 8,
				.in_zero = 120, .out_zero = 128, .act_max = 255 };
	return l;
}

TEST(fc_by_hand)
{
	static const int8_t q[] = { 3, -2, 5, -7, 1, 4 };
	struct nhot_counters c;
	struct job j;
	struct nhot_layer l = fc_layer(1, 3, 2, 2, 4);

	l.in_zero = 10;
	l.out_zero = 100;
	ASSERT_EQ(0, job_alloc(&j, &l));
	memcpy(j.q, q, sizeof(q));
	ASSERT_EQ(0, job_pack(&j));
	j.in[0] = 12;			/* x - in_zero = 2, -3, 0 */
	j.in[1] = 7;
	j.in[2] = 10;
	/* acc0 = 5 + 6 + 6 + 0 = 17, acc1 = -4 - 14 - 3 + 0 = -21; M / 2^s = 1/2 */
	j.p[0] = (struct nhot_chan_params){ .bias = 5, .mult = 1u << 30, .shift = 31 };
	j.p[1] = (struct nhot_chan_params){ .bias = -4, .mult = 1u << 30, .shift = 31 };
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(100 + 9, j.out[0]);	/* floor((17 + 1) / 2) */
	EXPECT_EQ(100 - 10, j.out[1]);	/* floor((-21 + 1) / 2) */
	EXPECT_EQ(6u, c.macs);
	/* terms: 3 = 4 - 1, -2, 5 = 4 + 1, -7 = -8 + 1, 1, 4: 2+1+2+2+1+1 */
	EXPECT_EQ(9u, c.shift_adds);
	j.l.act_min = 95;
	j.l.act_max = 105;
	ASSERT_EQ(0, job_run(&j, NULL));
	EXPECT_EQ(105, j.out[0]);
	EXPECT_EQ(95, j.out[1]);
	job_free(&j);
}

TEST(rq_ties_toward_plus_infinity)
{
	static const struct { int32_t bias; int out; } cases[] = {
		{ 1, 51 }, { -1, 50 }, { 3, 52 }, { -3, 49 }, { 0, 50 }, { 2, 51 }, { -2, 49 },
	};
	struct job j;
	struct nhot_layer l = fc_layer(1, 1, 1, 1, 2);
	size_t i;

	l.out_zero = 50;
	ASSERT_EQ(0, job_alloc(&j, &l));
	j.q[0] = 0;
	ASSERT_EQ(0, job_pack(&j));
	j.in[0] = 77;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j.p[0] = (struct nhot_chan_params){ .bias = cases[i].bias, .mult = 1u << 30,
						    .shift = 31 };
		ASSERT_EQ(0, job_run(&j, NULL));
		EXPECT_EQ(cases[i].out, j.out[0]) TH_LOG("bias %d", cases[i].bias);
	}
	job_free(&j);
}

TEST(conv_padding_and_pools_by_hand)
{
	/* 1x3x3x1 input 1..9, in_zero 1: x - z = 0..8 */
	struct nhot_layer l = conv_layer(3, 3, 1, 1, 3, 3, 1);
	struct nhot_counters c;
	struct job j;
	int i;

	l.batch = 1;
	l.in_zero = 1;
	l.out_zero = 0;
	ASSERT_EQ(0, job_alloc(&j, &l));
	for (i = 0; i < 9; i++) {
		j.in[i] = (uint8_t)(i + 1);
		j.q[i] = 1;		/* box filter */
	}
	ASSERT_EQ(0, job_pack(&j));
	j.p[0] = (struct nhot_chan_params){ .bias = 0, .mult = 1u << 30, .shift = 30 };
	ASSERT_EQ(0, job_run(&j, &c));
	/* sums of (x - 1) over the in-bounds 3x3 neighbourhood */
	EXPECT_EQ(0 + 1 + 3 + 4, j.out[0]);
	EXPECT_EQ(0 + 1 + 2 + 3 + 4 + 5, j.out[1]);
	EXPECT_EQ(36, j.out[4]);
	EXPECT_EQ(4 + 5 + 7 + 8, j.out[8]);
	EXPECT_EQ(49u, c.macs);		/* 7 in-bounds taps per dimension */
	EXPECT_EQ(49u, c.shift_adds);
	job_free(&j);

	/* AVGPOOL 3x3 stride 1 pad 1 on 1..9: padding is not counted */
	l = (struct nhot_layer){ .type = NHOT_LAYER_AVGPOOL, .batch = 1, .in_h = 3, .in_w = 3,
				 .in_c = 1, .kernel_h = 3, .kernel_w = 3, .stride_h = 1,
				 .stride_w = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
				 .pad_right = 1, .in_zero = 200, .act_max = 255 };
	ASSERT_EQ(0, job_alloc(&j, &l));
	for (i = 0; i < 9; i++)
		j.in[i] = (uint8_t)(i + 1);
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(3, j.out[0]);		/* (1+2+4+5 = 12 + 2) / 4 */
	EXPECT_EQ(4, j.out[1]);		/* (1+2+3+4+5+6 = 21 + 3) / 6 */
	EXPECT_EQ(5, j.out[4]);		/* (45 + 4) / 9 */
	EXPECT_EQ(7, j.out[8]);		/* (5+6+8+9 = 28 + 2) / 4 = 7.5 -> 7 */
	EXPECT_EQ(0u, c.macs);
	EXPECT_EQ(0u, c.shift_adds);
	j.l.type = NHOT_LAYER_MAXPOOL;
	ASSERT_EQ(0, job_run(&j, NULL));
	EXPECT_EQ(5, j.out[0]);
	EXPECT_EQ(6, j.out[1]);
	EXPECT_EQ(9, j.out[4]);
	EXPECT_EQ(8, j.out[6]);
	j.l.act_min = 6;
	j.l.act_max = 8;
	ASSERT_EQ(0, job_run(&j, NULL));
	EXPECT_EQ(6, j.out[0]);
	EXPECT_EQ(8, j.out[4]);
	job_free(&j);
}

TEST(conv_1x1_equals_fc)
{
	int trial;

	for (trial = 0; trial < 20; trial++) {
		uint32_t h = 1 + rnd(5), w = 1 + rnd(5), c = 1 + rnd(40), oc = 1 + rnd(9);
		struct nhot_layer lc = conv_layer(h, w, c, oc, 1, 1, 0);
		struct nhot_layer lf = fc_layer(2 * h * w, c, oc, 1 + rnd(4), 2 + rnd(7));
		struct nhot_counters cc, cf;
		struct job jc, jf;

		lc.w_n = lf.w_n;
		lc.w_b = lf.w_b;
		lf.in_zero = lc.in_zero;
		lf.out_zero = lc.out_zero;
		ASSERT_EQ(0, job_alloc(&jc, &lc));
		ASSERT_EQ(0, job_alloc(&jf, &lf));
		ASSERT_EQ(0, job_random(&jc));
		memcpy(jf.in, jc.in, jc.s.input_bytes);
		memcpy(jf.w, jc.w, jc.s.weight_bytes);
		memcpy(jf.p, jc.p, jc.s.params_bytes);
		ASSERT_EQ(0, job_run(&jc, &cc));
		ASSERT_EQ(0, job_run(&jf, &cf));
		ASSERT_EQ(jc.s.output_bytes, jf.s.output_bytes);
		EXPECT_EQ(0, memcmp(jc.out, jf.out, jc.s.output_bytes));
		EXPECT_EQ(cc.macs, cf.macs);
		EXPECT_EQ(cc.shift_adds, cf.shift_adds);
		EXPECT_EQ(jc.s.macs, cc.macs);
		job_free(&jc);
		job_free(&jf);
	}
}

TEST(dilation_equals_kernel_with_zeros)
{
	int trial;

	for (trial = 0; trial < 20; trial++) {
		uint32_t kh = 1 + rnd(3), kw = 1 + rnd(3), dh = 1 + rnd(3), dw = 1 + rnd(3);
		uint32_t ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
		struct nhot_layer ld = conv_layer(7 + rnd(4), 7 + rnd(4), 1 + rnd(4), 1 + rnd(4),
						  kh, kw, 0);
		struct nhot_layer le;
		struct nhot_counters cd, ce;
		struct job jd, je;
		uint32_t o, y, x, ci, cg;

		ld.dilation_h = dh;
		ld.dilation_w = dw;
		ld.pad_top = rnd(ekh);
		ld.pad_left = rnd(ekw);
		ld.pad_bottom = rnd(ekh);
		ld.pad_right = rnd(ekw);
		ld.stride_h = 1 + rnd(2);
		le = ld;
		le.dilation_h = 1;
		le.dilation_w = 1;
		le.kernel_h = ekh;
		le.kernel_w = ekw;
		ASSERT_EQ(0, job_alloc(&jd, &ld));
		ASSERT_EQ(0, job_alloc(&je, &le));
		ASSERT_EQ(0, job_random(&jd));
		memcpy(je.in, jd.in, jd.s.input_bytes);
		memcpy(je.p, jd.p, jd.s.params_bytes);
		cg = ld.in_c;
		memset(je.q, 0, (size_t)je.s.out_c * je.s.k);
		for (o = 0; o < ld.out_c; o++)
			for (y = 0; y < kh; y++)
				for (x = 0; x < kw; x++)
					for (ci = 0; ci < cg; ci++)
						je.q[o * je.s.k + ((y * dh) * ekw + x * dw) * cg + ci] =
							jd.q[o * jd.s.k + (y * kw + x) * cg + ci];
		ASSERT_EQ(0, job_pack(&je));
		ASSERT_EQ(0, job_run(&jd, &cd));
		ASSERT_EQ(0, job_run(&je, &ce));
		EXPECT_EQ(0, memcmp(jd.out, je.out, jd.s.output_bytes));
		EXPECT_EQ(cd.shift_adds, ce.shift_adds);	/* zero weights cost nothing */
		EXPECT_EQ(jd.s.macs, cd.macs);
		EXPECT_EQ(je.s.macs, ce.macs);
		job_free(&jd);
		job_free(&je);
	}
}

TEST(groups_equal_separate_convolutions)
{
	int trial;

	for (trial = 0; trial < 10; trial++) {
		uint32_t g = 1 + rnd(4), cg = 1 + rnd(3), og = 1 + rnd(3), gi;
		struct nhot_layer lg = conv_layer(5, 4, g * cg, g * og, 3, 2, 1);
		struct job jg;
		uint64_t macs = 0, shift_adds = 0;
		struct nhot_counters c;

		lg.groups = g;
		lg.stride_w = 2;
		ASSERT_EQ(0, job_alloc(&jg, &lg));
		ASSERT_EQ(0, job_random(&jg));
		ASSERT_EQ(0, job_run(&jg, &c));
		for (gi = 0; gi < g; gi++) {
			struct nhot_layer l1 = lg;
			struct nhot_counters c1;
			struct job j1;
			uint64_t px, i;

			l1.groups = 1;
			l1.in_c = cg;
			l1.out_c = og;
			ASSERT_EQ(0, job_alloc(&j1, &l1));
			for (px = 0; px < jg.s.input_bytes / lg.in_c; px++)
				for (i = 0; i < cg; i++)
					j1.in[px * cg + i] = jg.in[px * lg.in_c + gi * cg + i];
			memcpy(j1.q, jg.q + (size_t)gi * og * jg.s.k, (size_t)og * jg.s.k);
			memcpy(j1.p, jg.p + gi * og, og * sizeof(*j1.p));
			ASSERT_EQ(0, job_pack(&j1));
			ASSERT_EQ(0, job_run(&j1, &c1));
			for (px = 0; px < j1.s.output_bytes / og; px++)
				for (i = 0; i < og; i++)
					ASSERT_EQ(j1.out[px * og + i],
						  jg.out[px * lg.out_c + gi * og + i]);
			macs += c1.macs;
			shift_adds += c1.shift_adds;
			job_free(&j1);
		}
		EXPECT_EQ(macs, c.macs);
		EXPECT_EQ(shift_adds, c.shift_adds);
		job_free(&jg);
	}
}

TEST(whole_plane_avgpool_equals_global)
{
	int trial;

	for (trial = 0; trial < 10; trial++) {
		uint32_t h = 1 + rnd(16), w = 1 + rnd(16);
		struct nhot_layer la = { .type = NHOT_LAYER_AVGPOOL, .batch = 3, .in_h = h,
					 .in_w = w, .in_c = 1 + rnd(5), .kernel_h = h,
					 .kernel_w = w, .stride_h = 1, .stride_w = 1,
					 .act_min = rnd(10), .act_max = 250 };
		struct nhot_layer lg = la;
		struct job ja, jg;

		lg.type = NHOT_LAYER_GLOBAL_AVGPOOL;
		lg.kernel_h = lg.kernel_w = lg.stride_h = lg.stride_w = 0;
		ASSERT_EQ(0, job_alloc(&ja, &la));
		ASSERT_EQ(0, job_alloc(&jg, &lg));
		ASSERT_EQ(0, job_random(&ja));
		memcpy(jg.in, ja.in, ja.s.input_bytes);
		ASSERT_EQ(0, job_run(&ja, NULL));
		ASSERT_EQ(0, job_run(&jg, NULL));
		ASSERT_EQ(ja.s.output_bytes, jg.s.output_bytes);
		EXPECT_EQ(0, memcmp(ja.out, jg.out, ja.s.output_bytes));
		job_free(&ja);
		job_free(&jg);
	}
}

TEST(add_by_hand_and_symmetric)
{
	struct nhot_layer l = { .type = NHOT_LAYER_ADD, .batch = 1, .in_h = 1, .in_w = 2,
				.in_c = 2, .in_zero = 10, .in2_zero = 20, .out_zero = 30,
				.act_max = 255, .add_mult_a = 3, .add_mult_b = 5, .add_shift = 2 };
	struct nhot_layer swapped = l;
	struct nhot_counters c;
	struct job j, js;

	ASSERT_EQ(0, job_alloc(&j, &l));
	/* v = 3 (a - 10) + 5 (b - 20); y = 30 + floor((v + 2) / 4) */
	j.in[0] = 14; j.in2[0] = 22;	/* v = 12 + 10 = 22 -> 30 + 6 */
	j.in[1] = 10; j.in2[1] = 20;	/* v = 0 -> 30 */
	j.in[2] = 0; j.in2[2] = 0;	/* v = -30 - 100 = -130 -> 30 - 32 */
	j.in[3] = 9; j.in2[3] = 20;	/* v = -3 -> floor(-1 / 4) = -1 -> 29 */
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(36, j.out[0]);
	EXPECT_EQ(30, j.out[1]);
	EXPECT_EQ(0, j.out[2]);		/* -2 clamped */
	EXPECT_EQ(29, j.out[3]);
	EXPECT_EQ(0u, c.macs);
	job_free(&j);

	l.in_c = 37;
	l.add_mult_a = 0x7fffffff;
	l.add_mult_b = 123456789;
	l.add_shift = 33;
	swapped = l;
	swapped.in_zero = l.in2_zero;
	swapped.in2_zero = l.in_zero;
	swapped.add_mult_a = l.add_mult_b;
	swapped.add_mult_b = l.add_mult_a;
	ASSERT_EQ(0, job_alloc(&j, &l));
	ASSERT_EQ(0, job_alloc(&js, &swapped));
	ASSERT_EQ(0, job_random(&j));
	memcpy(js.in, j.in2, j.s.input_bytes);
	memcpy(js.in2, j.in, j.s.input_bytes);
	ASSERT_EQ(0, job_run(&j, NULL));
	ASSERT_EQ(0, job_run(&js, NULL));
	EXPECT_EQ(0, memcmp(j.out, js.out, j.s.output_bytes));
	job_free(&j);
	job_free(&js);
}

TEST(counters_follow_the_weights)
{
	struct nhot_layer l = conv_layer(7, 5, 3, 4, 3, 3, 2);
	struct nhot_counters c;
	struct job j;
	uint64_t i;

	ASSERT_EQ(0, job_alloc(&j, &l));
	ASSERT_EQ(0, job_random(&j));
	for (i = 0; i < (uint64_t)j.s.out_c * j.s.k; i++)
		j.q[i] = 85;		/* 64 + 16 + 4 + 1: four terms */
	ASSERT_EQ(-EINVAL, job_pack(&j));	/* not in S(2, 8) */
	j.l.w_n = 4;
	ASSERT_EQ(0, nhot_layer_check(&j.l, &j.s));
	j.t.weights_len = j.s.weight_bytes;
	free(j.w);
	j.w = malloc(j.s.weight_bytes);
	j.t.weights = j.w;
	ASSERT_EQ(0, job_pack(&j));
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(j.s.macs, c.macs);
	EXPECT_EQ(4 * c.macs, c.shift_adds);
	memset(j.q, 0, (size_t)j.s.out_c * j.s.k);
	ASSERT_EQ(0, job_pack(&j));
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(j.s.macs, c.macs);	/* zero weights still count as products */
	EXPECT_EQ(0u, c.shift_adds);
	job_free(&j);
}

/* The extremes of section 3: the largest accumulators, run under UBSan. */
TEST(extreme_accumulators)
{
	struct nhot_layer l = fc_layer(2, 32768, 2, 2, 8);
	struct nhot_counters c;
	struct job j;
	uint32_t i;

	l.in_h = 4;			/* K = 4 * 8192 */
	l.in_c = 8192;
	l.in_zero = 0;
	l.out_zero = 100;
	ASSERT_EQ(0, job_alloc(&j, &l));
	for (i = 0; i < 32768; i++) {
		j.in[i] = 255;		/* batch row 0: |x - in_zero| = 255 */
		j.in[32768 + i] = 0;	/* batch row 1: 0 */
		j.q[i] = 127;		/* the largest |w|, 2^7 - 2^0 */
		j.q[32768 + i] = -127;
	}
	ASSERT_EQ(0, job_pack(&j));
	j.p[0] = (struct nhot_chan_params){ .bias = 1 << 30, .mult = 0x7fffffff, .shift = 62 };
	j.p[1] = (struct nhot_chan_params){ .bias = -(1 << 30), .mult = 0x7fffffff,
					    .shift = 62 };
	ASSERT_EQ(0, job_run(&j, &c));
	/*
	 * acc = +-(2^30 + 255 * 127 * 32768) = +-2134933504, just below 2^31;
	 * times (2^31 - 1) / 2^62 that is +-0.99416: +0.5 and floor give 1, -1.
	 */
	EXPECT_EQ(101, j.out[0]);
	EXPECT_EQ(99, j.out[1]);
	/* row 1: acc = +-2^30, so +-(0.5 - 2^-32) + 0.5 floors to 0 both ways */
	EXPECT_EQ(100, j.out[2]);
	EXPECT_EQ(100, j.out[3]);
	j.p[0].shift = 1;
	j.p[1].shift = 1;
	ASSERT_EQ(0, job_run(&j, &c));
	EXPECT_EQ(255, j.out[0]);
	EXPECT_EQ(0, j.out[1]);
	EXPECT_EQ(255, j.out[2]);
	EXPECT_EQ(0, j.out[3]);
	EXPECT_EQ(4u * 32768, c.macs);
	EXPECT_EQ(2u * 4 * 32768, c.shift_adds);
	job_free(&j);
}

TEST(buffer_errors)
{
	struct nhot_layer l = conv_layer(4, 4, 2, 3, 3, 3, 1);
	struct nhot_counters c;
	struct job j;
	struct nhot_tensors t;

	ASSERT_EQ(0, job_alloc(&j, &l));
	ASSERT_EQ(0, job_random(&j));
	ASSERT_EQ(0, job_run(&j, &c));
	memset(j.out, 0xee, j.s.output_bytes);
	t = j.t;
	j.t.input_len--;
	EXPECT_EQ(-ERANGE, job_run(&j, &c));
	j.t = t;
	j.t.weights_len--;
	EXPECT_EQ(-ERANGE, job_run(&j, &c));
	j.t = t;
	j.t.params_len = j.s.params_bytes - 1;
	EXPECT_EQ(-ERANGE, job_run(&j, &c));
	j.t = t;
	j.t.output_len--;
	EXPECT_EQ(-ERANGE, job_run(&j, &c));
	j.t = t;
	j.t.input = NULL;
	EXPECT_EQ(-EINVAL, job_run(&j, &c));
	j.t = t;
	j.t.weights = NULL;
	EXPECT_EQ(-EINVAL, job_run(&j, &c));
	j.t = t;
	j.t.params = NULL;
	EXPECT_EQ(-EINVAL, job_run(&j, &c));
	j.t = t;
	j.t.output = NULL;
	EXPECT_EQ(-EINVAL, job_run(&j, &c));
	EXPECT_EQ(-EINVAL, nhot_ref_run(&j.l, NULL, &c));
	EXPECT_EQ(-EINVAL, nhot_ref_run(NULL, &t, &c));
	j.t = t;
	j.l.groups = 0;
	EXPECT_EQ(-EINVAL, job_run(&j, &c));
	j.l.groups = 1;
	j.l.type = 99;
	EXPECT_EQ(-EOPNOTSUPP, job_run(&j, &c));
	j.l.type = NHOT_LAYER_CONV2D;
	EXPECT_EQ(0u, c.macs);		/* cleared on failure */
	EXPECT_EQ(0xee, j.out[0]);	/* and the output untouched */
	/* longer buffers are fine; unused ones may be NULL */
	j.t.input2 = NULL;
	j.t.input2_len = 0;
	j.t.input_len++;
	EXPECT_EQ(0, job_run(&j, &c));
	job_free(&j);

	l = (struct nhot_layer){ .type = NHOT_LAYER_ADD, .batch = 1, .in_h = 2, .in_w = 2,
				 .in_c = 2, .act_max = 255, .add_mult_a = 1, .add_mult_b = 1,
				 .add_shift = 1 };
	ASSERT_EQ(0, job_alloc(&j, &l));
	ASSERT_EQ(0, job_random(&j));
	j.t.input2_len--;
	EXPECT_EQ(-ERANGE, job_run(&j, NULL));
	j.t.input2_len++;
	j.t.input2 = NULL;
	EXPECT_EQ(-EINVAL, job_run(&j, NULL));
	j.t.input2 = j.in2;
	j.t.weights = NULL;
	j.t.params = NULL;
	EXPECT_EQ(0, job_run(&j, NULL));
	job_free(&j);
}

TEST(data_errors)
{
	struct nhot_layer l = fc_layer(1, 70, 3, 4, 8);	/* 255 values, code 255 invalid */
	struct job j;
	struct nhot_counters c;
	uint32_t o;

	ASSERT_EQ(0, job_alloc(&j, &l));
	ASSERT_EQ(0, job_random(&j));
	ASSERT_EQ(0, job_run(&j, &c));
	memset(j.out, 0xee, j.s.output_bytes);
	/* code 9 of row 2 (bits 72..79: byte 9 of the row) becomes 0xff */
	j.w[2 * (j.s.weight_bytes / 3) + 9] = 0xff;
	EXPECT_EQ(-EILSEQ, job_run(&j, &c));
	EXPECT_EQ(0xee, j.out[0]);
	EXPECT_EQ(0u, c.macs);
	ASSERT_EQ(0, job_pack(&j));
	ASSERT_EQ(0, job_run(&j, NULL));
	for (o = 0; o < 3; o++) {
		struct nhot_chan_params keep = j.p[o];

		memset(j.out, 0xee, j.s.output_bytes);
		j.p[o].bias = (1 << 30) + 1;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		j.p[o].bias = -(1 << 30) - 1;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		j.p[o].bias = INT32_MIN;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		j.p[o] = keep;
		j.p[o].mult = 0x80000000u;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		j.p[o] = keep;
		j.p[o].shift = 0;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		j.p[o].shift = 63;
		EXPECT_EQ(-EOVERFLOW, job_run(&j, NULL));
		EXPECT_EQ(0xee, j.out[0]);
		/* the limits themselves are accepted */
		j.p[o] = (struct nhot_chan_params){ .bias = 1 << 30, .mult = 0x7fffffff,
						    .shift = 62 };
		EXPECT_EQ(0, job_run(&j, NULL));
		j.p[o] = (struct nhot_chan_params){ .bias = -(1 << 30), .mult = 0, .shift = 1 };
		EXPECT_EQ(0, job_run(&j, NULL));
		j.p[o] = keep;
	}
	job_free(&j);
}

TEST_HARNESS_MAIN
