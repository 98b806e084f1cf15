// SPDX-License-Identifier: MIT
/*
 * Prepared layers (nhot_cpu_layer_prepare(), _run(), _free()): the same
 * bits and counters as the reference for every layer and ISA, independence
 * from the caller's buffers after preparation, many layers alive at once
 * next to nhot_cpu_run()'s own cache, concurrent runs, and every error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "layer_gen.h"
#include "nhot.h"

#define RANDOM_PREPARED	1500

static uint64_t test_seed(void)
{
	const char *env = getenv("NHOT_TEST_SEED");

	return env ? strtoull(env, NULL, 0) : 0x6e686f74ull;	/* "nhot" */
}

/* A random CONV2D or FC case; the generator picks the shape. */
static int make_weighted_case(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	uint32_t type = layer_gen_below(rng, 2) ? NHOT_LAYER_FC : NHOT_LAYER_CONV2D;

	return layer_gen_make(rng, type, c);
}

static void random_input(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	size_t i;

	for (i = 0; i < c->shape.input_bytes; i++)
		c->input[i] = (uint8_t)layer_gen_next(rng);
}

/*
 * Runs the prepared layer on c's input and compares with nhot_ref_run() on
 * c's buffers: 0 when output, return value and counters agree.
 */
static int run_matches_ref(struct nhot_cpu_layer *pl, struct layer_gen_case *c, int counters)
{
	size_t len = c->shape.output_bytes;
	uint8_t *want = malloc(len), *got = malloc(len);
	struct nhot_counters rc, pc;
	struct nhot_tensors t = c->t;
	int rret, pret, differ;

	if (!want || !got) {
		free(want);
		free(got);
		return -ENOMEM;
	}
	memset(want, 0x5a, len);
	memset(got, 0xc3, len);
	t.output = want;
	rret = nhot_ref_run(&c->layer, &t, &rc);
	pret = nhot_cpu_layer_run(pl, c->input, c->shape.input_bytes, got, len,
				  counters ? &pc : NULL);
	differ = rret != pret || memcmp(want, got, len) ||
		 (counters && (pc.macs != rc.macs || pc.shift_adds != rc.shift_adds));
	free(want);
	free(got);
	return differ;
}

static const char *const all_isas[] = { "portable", "avx2", "avx512vnni" };

/*
 * Random layers prepared under every ISA this CPU runs, each run twice at
 * 1 and 2 threads (the second run takes what the first one kept) on fresh
 * inputs, with and without counters.
 */
TEST(random_layers_match_reference)
{
	uint64_t seed = test_seed() + 300;
	struct layer_gen_rng rng;
	int i, bad = 0, isas = 0;
	char desc[512];
	size_t s;

	layer_gen_seed(&rng, seed);
	for (s = 0; s < sizeof(all_isas) / sizeof(all_isas[0]); s++) {
		if (nhot_cpu_set_isa(all_isas[s]))
			continue;
		isas++;
		for (i = 0; i < RANDOM_PREPARED; i++) {
			struct nhot_cpu_layer *pl;
			struct layer_gen_case c;
			int run, differ = 0;

			ASSERT_EQ(0, make_weighted_case(&rng, &c));
			ASSERT_EQ(0, nhot_cpu_layer_prepare(&c.layer, c.weights,
							    c.shape.weight_bytes, c.params,
							    c.shape.params_bytes, &pl));
			for (run = 0; run < 4; run++) {
				nhot_cpu_set_threads(1 + run % 2);
				random_input(&rng, &c);
				differ |= run_matches_ref(pl, &c, run < 2);
			}
			if (differ && bad++ < 3) {
				layer_gen_describe(&c.layer, desc, sizeof(desc));
				TH_LOG("seed %#llx isa %s case %d: %s", (unsigned long long)seed,
				       all_isas[s], i, desc);
			}
			nhot_cpu_layer_free(pl);
			layer_gen_free(&c);
		}
	}
	nhot_cpu_set_isa(NULL);
	nhot_cpu_set_threads(2);
	EXPECT_GE(isas, 1);
	EXPECT_EQ(0, bad);
}

/*
 * A layer prepared under one ISA and run under another: the second one
 * finds none of its own panels kept: the AVX-512 GEMM decodes them on the
 * first run and pins them to the layer then.
 */
TEST(prepared_under_one_isa_run_under_another)
{
	struct layer_gen_rng rng;
	int i, bad = 0, pairs = 0;
	size_t a, b;

	layer_gen_seed(&rng, test_seed() + 306);
	for (a = 0; a < sizeof(all_isas) / sizeof(all_isas[0]); a++) {
		for (b = 0; b < sizeof(all_isas) / sizeof(all_isas[0]); b++) {
			if (a == b || nhot_cpu_set_isa(all_isas[b]) || nhot_cpu_set_isa(all_isas[a]))
				continue;
			pairs++;
			for (i = 0; i < 150; i++) {
				struct nhot_cpu_layer *pl;
				struct layer_gen_case c;

				nhot_cpu_set_isa(all_isas[a]);
				ASSERT_EQ(0, make_weighted_case(&rng, &c));
				ASSERT_EQ(0, nhot_cpu_layer_prepare(&c.layer, c.weights,
								    c.shape.weight_bytes, c.params,
								    c.shape.params_bytes, &pl));
				nhot_cpu_set_isa(all_isas[b]);
				bad += run_matches_ref(pl, &c, 1) != 0;
				random_input(&rng, &c);
				bad += run_matches_ref(pl, &c, 0) != 0;
				nhot_cpu_layer_free(pl);
				layer_gen_free(&c);
			}
		}
	}
	nhot_cpu_set_isa(NULL);
	if (!pairs)
		SKIP(return, "this CPU runs one ISA only");
	EXPECT_EQ(0, bad);
}

/* An FC layer of the given shape, random (n, b), zero points and clamp, and its buffers. */
static int make_fc(struct layer_gen_rng *rng, uint32_t batch, uint32_t k, uint32_t out_c,
		   struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;

	memset(c, 0, sizeof(*c));
	l->type = NHOT_LAYER_FC;
	l->batch = batch;
	l->in_h = l->in_w = 1;
	l->in_c = k;
	l->out_c = out_c;
	l->w_n = (uint32_t)layer_gen_range(rng, NHOT_MIN_N, NHOT_MAX_N);
	l->w_b = (uint32_t)layer_gen_range(rng, NHOT_MIN_B, NHOT_MAX_B);
	l->in_zero = layer_gen_below(rng, 256);
	l->out_zero = layer_gen_below(rng, 256);
	l->act_min = layer_gen_below(rng, 128);
	l->act_max = l->act_min + layer_gen_below(rng, 256 - l->act_min);
	return layer_gen_fill(rng, c);
}

/*
 * After preparation the layer owns its copies: scribbling over the
 * caller's codes and params changes nothing, and freeing them is safe.
 */
TEST(caller_buffers_may_change_after_prepare)
{
	struct layer_gen_rng rng;
	int i;

	layer_gen_seed(&rng, test_seed() + 301);
	for (i = 0; i < 200; i++) {
		struct layer_gen_case c;
		struct nhot_cpu_layer *pl;
		uint8_t *w = NULL;
		void *p = NULL;

		ASSERT_EQ(0, make_weighted_case(&rng, &c));
		w = malloc(c.shape.weight_bytes);
		p = malloc(c.shape.params_bytes);
		ASSERT_TRUE(w && p);
		memcpy(w, c.weights, c.shape.weight_bytes);
		memcpy(p, c.params, c.shape.params_bytes);
		ASSERT_EQ(0, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, p,
						    c.shape.params_bytes, &pl));
		memset(w, 0xff, c.shape.weight_bytes);	/* invalid codes for most (n, b) */
		memset(p, 0x7f, c.shape.params_bytes);	/* bias beyond 2^30 */
		free(w);
		free(p);
		random_input(&rng, &c);
		EXPECT_EQ(0, run_matches_ref(pl, &c, 1)) TH_LOG("case %d", i);
		nhot_cpu_layer_free(pl);
		layer_gen_free(&c);
	}
}

/*
 * More prepared layers than nhot_cpu_run()'s cache has slots, alive at
 * once and run in turn, interleaved with nhot_cpu_run() on the same codes
 * and on changed params: every run gives its own layer's bits.
 */
#define ALIVE	9

TEST(many_layers_alive_next_to_the_run_cache)
{
	static const uint32_t shapes[ALIVE][3] = {
		{ 49, 320, 1280 }, { 196, 64, 96 }, { 1, 1280, 1000 }, { 33, 64, 17 },
		{ 49, 320, 1280 }, { 8, 128, 64 }, { 1, 200, 100 }, { 64, 64, 64 },
		{ 49, 320, 1280 },
	};
	struct nhot_cpu_layer *pl[ALIVE];
	struct layer_gen_case c[ALIVE];
	struct layer_gen_rng rng;
	int i, round;

	layer_gen_seed(&rng, test_seed() + 302);
	for (i = 0; i < ALIVE; i++) {
		ASSERT_EQ(0, make_fc(&rng, shapes[i][0], shapes[i][1], shapes[i][2], &c[i]))
			TH_LOG("shape %d", i);
		ASSERT_EQ(0, nhot_cpu_layer_prepare(&c[i].layer, c[i].weights,
						    c[i].shape.weight_bytes, c[i].params,
						    c[i].shape.params_bytes, &pl[i]));
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < ALIVE; i++) {
			struct layer_gen_case *k = &c[i];
			uint8_t *out = malloc(k->shape.output_bytes);

			ASSERT_NE(NULL, out);
			random_input(&rng, k);
			EXPECT_EQ(0, run_matches_ref(pl[i], k, i % 2)) TH_LOG("round %d layer %d",
									     round, i);
			/* The run cache sees the same codes with other params. */
			k->params[0].mult ^= 1;
			k->t.output = out;
			EXPECT_EQ(0, nhot_cpu_run(&k->layer, &k->t, NULL));
			k->params[0].mult ^= 1;
			k->t.output = k->output;
			free(out);
		}
	}
	for (i = 0; i < ALIVE; i++) {
		nhot_cpu_layer_free(pl[i]);
		layer_gen_free(&c[i]);
	}
}

struct runner {
	struct nhot_cpu_layer *pl;
	const uint8_t *input;
	size_t input_len, output_len;
	const uint8_t *want;
	int differ;
};

static void *run_repeatedly(void *arg)
{
	struct runner *r = arg;
	uint8_t *out = malloc(r->output_len);
	int i;

	if (!out) {
		r->differ = 1;
		return NULL;
	}
	for (i = 0; i < 50; i++) {
		memset(out, 0, r->output_len);
		if (nhot_cpu_layer_run(r->pl, r->input, r->input_len, out, r->output_len, NULL) ||
		    memcmp(out, r->want, r->output_len))
			r->differ++;
	}
	free(out);
	return NULL;
}

/* Three threads run one prepared layer at once (the pool serves one of them). */
TEST(concurrent_runs_of_one_layer)
{
	struct nhot_cpu_layer *pl;
	struct layer_gen_case c;
	struct layer_gen_rng rng;
	struct runner r[3];
	pthread_t th[3];
	uint8_t *want;
	int i;

	layer_gen_seed(&rng, test_seed() + 303);
	ASSERT_EQ(0, make_fc(&rng, 49, 320, 1280, &c));
	want = malloc(c.shape.output_bytes);
	ASSERT_NE(NULL, want);
	c.t.output = want;
	ASSERT_EQ(0, nhot_ref_run(&c.layer, &c.t, NULL));
	c.t.output = c.output;
	ASSERT_EQ(0, nhot_cpu_layer_prepare(&c.layer, c.weights, c.shape.weight_bytes, c.params,
					    c.shape.params_bytes, &pl));
	for (i = 0; i < 3; i++) {
		r[i] = (struct runner){ pl, c.input, c.shape.input_bytes, c.shape.output_bytes,
					want, 0 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, run_repeatedly, &r[i]));
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, r[i].differ) TH_LOG("thread %d", i);
	}
	nhot_cpu_layer_free(pl);
	free(want);
	layer_gen_free(&c);
}

/* Each error of the header's list, and *out NULL after it. */
TEST(prepare_errors)
{
	struct nhot_cpu_layer *pl = (struct nhot_cpu_layer *)&pl;
	struct layer_gen_case c, add;
	struct layer_gen_rng rng;
	struct nhot_layer bad;
	uint8_t *w;

	layer_gen_seed(&rng, test_seed() + 304);
	ASSERT_EQ(0, make_fc(&rng, 1, 64, 16, &c));
	/* S(2, 8): 87 values in 7-bit codes, so an all-ones code is invalid. */
	c.layer.w_n = 2;
	c.layer.w_b = 8;
	ASSERT_EQ(0, nhot_layer_check(&c.layer, &c.shape));
	w = calloc(1, c.shape.weight_bytes);	/* code 0 is valid in every S(n, b) */
	ASSERT_NE(NULL, w);

	EXPECT_EQ(-EINVAL, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes, NULL));
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_prepare(NULL, w, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes, &pl));
	EXPECT_EQ(NULL, pl);
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_prepare(&c.layer, NULL, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes, &pl));
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, NULL,
						  c.shape.params_bytes, &pl));
	bad = c.layer;
	bad.w_n = 5;
	EXPECT_EQ(nhot_layer_check(&bad, NULL), nhot_cpu_layer_prepare(&bad, w,
		  c.shape.weight_bytes, c.params, c.shape.params_bytes, &pl));
	EXPECT_EQ(-ERANGE, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes - 1, c.params,
						  c.shape.params_bytes, &pl));
	EXPECT_EQ(-ERANGE, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes - 1, &pl));
	/* The codes before the params, as nhot_ref_run() checks them. */
	c.params[3].bias = NHOT_MAX_BIAS + 1;
	EXPECT_EQ(-EOVERFLOW, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, c.params,
						     c.shape.params_bytes, &pl));
	w[c.shape.weight_bytes - 1] = 0xff;
	EXPECT_EQ(-EILSEQ, nhot_cpu_layer_prepare(&c.layer, w, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes, &pl));
	EXPECT_EQ(NULL, pl);

	/* A layer without weights. */
	ASSERT_EQ(0, layer_gen_make(&rng, NHOT_LAYER_ADD, &add));
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_prepare(&add.layer, w, c.shape.weight_bytes, c.params,
						  c.shape.params_bytes, &pl));
	EXPECT_EQ(NULL, pl);
	layer_gen_free(&add);
	nhot_cpu_layer_free(NULL);
	free(w);
	layer_gen_free(&c);
}

/* Run errors leave the output untouched; the layer still runs afterwards. */
TEST(run_errors_leave_output_untouched)
{
	struct nhot_counters cnt;
	struct nhot_cpu_layer *pl;
	struct layer_gen_case c;
	struct layer_gen_rng rng;
	size_t in_len, out_len;
	uint8_t *out;
	size_t i;

	layer_gen_seed(&rng, test_seed() + 305);
	ASSERT_EQ(0, make_fc(&rng, 2, 100, 40, &c));
	in_len = c.shape.input_bytes;
	out_len = c.shape.output_bytes;
	out = malloc(out_len);
	ASSERT_NE(NULL, out);
	memset(out, 0xa5, out_len);
	ASSERT_EQ(0, nhot_cpu_layer_prepare(&c.layer, c.weights, c.shape.weight_bytes, c.params,
					    c.shape.params_bytes, &pl));
	memset(&cnt, 0xff, sizeof(cnt));
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_run(NULL, c.input, in_len, out, out_len, &cnt));
	EXPECT_EQ(0ull, (unsigned long long)cnt.macs);
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_run(pl, NULL, in_len, out, out_len, NULL));
	EXPECT_EQ(-EINVAL, nhot_cpu_layer_run(pl, c.input, in_len, NULL, out_len, NULL));
	EXPECT_EQ(-ERANGE, nhot_cpu_layer_run(pl, c.input, in_len - 1, out, out_len, NULL));
	EXPECT_EQ(-ERANGE, nhot_cpu_layer_run(pl, c.input, in_len, out, out_len - 1, NULL));
	for (i = 0; i < out_len; i++)
		ASSERT_EQ(0xa5, out[i]) TH_LOG("byte %zu written by a failed run", i);
	EXPECT_EQ(0, run_matches_ref(pl, &c, 1));
	nhot_cpu_layer_free(pl);
	free(out);
	layer_gen_free(&c);
}

TEST_HARNESS_MAIN
