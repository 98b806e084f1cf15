// SPDX-License-Identifier: MIT
/*
 * nhot_cpu_run() against nhot_ref_run(): the same output bytes, the same
 * counters and the same errno, on 10,000 random layers from layer_gen, for
 * every instruction set this CPU has and for 1 and 2 threads (the 2-thread
 * runs pass no counters, the 1-thread runs compare them).
 *
 * NHOT_TEST_SEED=<n> replays a run; a failure prints the seed, the case
 * index and the descriptor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "layer_gen.h"
#include "nhot.h"

#define RANDOM_CASES	10000

static const char *const all_isas[] = { "portable", "avx2", "avx512vnni" };

static uint64_t test_seed(void)
{
	const char *env = getenv("NHOT_TEST_SEED");

	return env ? strtoull(env, NULL, 0) : 0x6e686f74ull;	/* "nhot" */
}

/* The ISAs this CPU runs; returns how many, names in isas[]. */
static int usable_isas(const char **isas)
{
	int n = 0;
	size_t i;

	for (i = 0; i < sizeof(all_isas) / sizeof(all_isas[0]); i++)
		if (nhot_cpu_set_isa(all_isas[i]) == 0)
			isas[n++] = all_isas[i];
	nhot_cpu_set_isa(NULL);
	return n;
}

/*
 * Runs the case through the reference and through every ISA x {1, 2}
 * threads; returns the number of mismatches (and prints the first ones).
 */
static int compare_case(struct layer_gen_case *c, const char **isas, int nisa,
			uint64_t seed, int index)
{
	struct nhot_counters rc, fc;
	size_t out_len = c->shape.output_bytes;
	uint8_t *ref_out = malloc(out_len), *fast_out = malloc(out_len);
	struct nhot_tensors t = c->t;
	int rret, fret, bad = 0, i, threads;
	char desc[512];

	if (!ref_out || !fast_out) {
		free(ref_out);
		free(fast_out);
		return 1;
	}
	memset(ref_out, 0x5a, out_len);
	t.output = ref_out;
	rret = nhot_ref_run(&c->layer, &t, &rc);
	for (i = 0; i < nisa; i++) {
		nhot_cpu_set_isa(isas[i]);
		for (threads = 1; threads <= 2; threads++) {
			nhot_cpu_set_threads(threads);
			memset(fast_out, 0xc3, out_len);
			memset(&fc, 0xff, sizeof(fc));
			t.output = fast_out;
			/* Two threads without counters: the path that skips the term sums. */
			if (threads == 2) {
				fret = nhot_cpu_run(&c->layer, &t, NULL);
				fc = rc;
			} else {
				fret = nhot_cpu_run(&c->layer, &t, &fc);
			}
			if (fret == rret && fc.macs == rc.macs && fc.shift_adds == rc.shift_adds &&
			    (rret || !memcmp(ref_out, fast_out, out_len)))
				continue;
			if (bad++ < 3) {
				size_t j = 0;

				while (j < out_len && ref_out[j] == fast_out[j])
					j++;
				layer_gen_describe(&c->layer, desc, sizeof(desc));
				fprintf(stderr,
					"# seed %#llx case %d isa %s threads %d: ret %d/%d macs %llu/%llu shift_adds %llu/%llu first diff at %zu (%u/%u)\n#   %s\n",
					(unsigned long long)seed, index, isas[i], threads, rret, fret,
					(unsigned long long)rc.macs, (unsigned long long)fc.macs,
					(unsigned long long)rc.shift_adds,
					(unsigned long long)fc.shift_adds, j,
					j < out_len ? ref_out[j] : 0, j < out_len ? fast_out[j] : 0,
					desc);
			}
		}
	}
	nhot_cpu_set_isa(NULL);
	free(ref_out);
	free(fast_out);
	return bad;
}

/*
 * RANDOM_CASES layers in RANDOM_PARTS tests (each within the harness's
 * timeout, also under ASan on a busy machine), each part its own seed.
 */
#define RANDOM_PARTS	5

static void random_part(struct __test_metadata *_metadata, int part)
{
	const char *isas[3];
	int nisa = usable_isas(isas);
	uint64_t seed = test_seed() + 100 + (uint64_t)part;
	struct layer_gen_rng rng;
	int i, bad = 0, per_type[NHOT_LAYER_TYPE_MAX + 1] = { 0 };

	ASSERT_GE(nisa, 1);
	layer_gen_seed(&rng, seed);
	for (i = 0; i < RANDOM_CASES / RANDOM_PARTS; i++) {
		struct layer_gen_case c;
		int ret = layer_gen_make(&rng, 0, &c);

		ASSERT_EQ(0, ret) TH_LOG("seed %#llx case %d: layer_gen_make %d",
					 (unsigned long long)seed, i, ret);
		per_type[c.layer.type]++;
		bad += compare_case(&c, isas, nisa, seed, i);
		layer_gen_free(&c);
	}
	for (i = 1; i <= NHOT_LAYER_TYPE_MAX; i++)
		EXPECT_GT(per_type[i], 0);
	nhot_cpu_set_threads(2);
	EXPECT_EQ(0, bad);
}

TEST(random_layers_part1) { random_part(_metadata, 1); }
TEST(random_layers_part2) { random_part(_metadata, 2); }
TEST(random_layers_part3) { random_part(_metadata, 3); }
TEST(random_layers_part4) { random_part(_metadata, 4); }
TEST(random_layers_part5) { random_part(_metadata, 5); }

/* Every type on its own, so each gets its share of the odd shapes. */
TEST(each_type_matches_reference)
{
	const char *isas[3];
	int nisa = usable_isas(isas);
	uint64_t seed = test_seed() + 1;
	struct layer_gen_rng rng;
	uint32_t type;
	int i, bad = 0;

	layer_gen_seed(&rng, seed);
	for (type = 1; type <= NHOT_LAYER_TYPE_MAX; type++) {
		for (i = 0; i < 200; i++) {
			struct layer_gen_case c;

			ASSERT_EQ(0, layer_gen_make(&rng, type, &c));
			bad += compare_case(&c, isas, nisa, seed, (int)(type * 1000 + i));
			layer_gen_free(&c);
		}
	}
	EXPECT_EQ(0, bad);
}

/* Both implementations on one (possibly broken) job: same errno, output untouched on error. */
static int same_verdict(const struct nhot_layer *l, const struct nhot_tensors *t,
			size_t out_len, int *err)
{
	struct nhot_counters rc, fc;
	uint8_t *out = t && t->output ? t->output : NULL;
	uint8_t *before = NULL;
	int rret, fret, ok = 1;

	if (out && out_len) {
		before = malloc(out_len);
		if (!before)
			return 0;
		memcpy(before, out, out_len);
	}
	rret = nhot_ref_run(l, t, &rc);
	fret = nhot_cpu_run(l, t, &fc);
	if (rret != fret)
		ok = 0;
	if (!rret && (rc.macs != fc.macs || rc.shift_adds != fc.shift_adds))
		ok = 0;
	if (fret && (fc.macs || fc.shift_adds))
		ok = 0;	/* counters are zero on failure */
	if (fret && before && memcmp(before, out, out_len))
		ok = 0;
	free(before);
	*err = fret;
	return ok;
}

/* Layer fields set to values around and beyond the limits. */
TEST(bad_descriptors_same_errno)
{
	static const uint32_t nasty[] = {
		0, 1, 2, 3, 7, 8, 9, 16, 17, 62, 63, 255, 256, 4096, 4097, 8192, 8193,
		32768, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
	};
	struct layer_gen_rng rng;
	int i, mismatches = 0, errors = 0, err;

	layer_gen_seed(&rng, test_seed() + 2);
	for (i = 0; i < 3000; i++) {
		struct layer_gen_case c;
		uint32_t *fields, field, fcount = sizeof(struct nhot_layer) / sizeof(uint32_t);

		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		fields = (uint32_t *)&c.layer;
		field = layer_gen_below(&rng, fcount);
		fields[field] = nasty[layer_gen_below(&rng, sizeof(nasty) / sizeof(nasty[0]))];
		/* A changed shape may need bigger buffers than the case has: -ERANGE then. */
		if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes, &err)) {
			char desc[512];

			layer_gen_describe(&c.layer, desc, sizeof(desc));
			if (mismatches++ < 5)
				TH_LOG("case %d field %u: %s", i, field, desc);
		}
		errors += err != 0;
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, mismatches);
	EXPECT_GT(errors, 1000);	/* most of those mutations must be rejected */
}

TEST(short_and_missing_buffers)
{
	struct layer_gen_rng rng;
	int i, mismatches = 0, err;

	layer_gen_seed(&rng, test_seed() + 3);
	for (i = 0; i < 600; i++) {
		struct layer_gen_case c;
		struct nhot_tensors t;
		size_t *lens[5];
		const void **ptrs[5];
		int which;

		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		t = c.t;
		lens[0] = &t.input_len;
		lens[1] = &t.input2_len;
		lens[2] = &t.weights_len;
		lens[3] = &t.params_len;
		lens[4] = &t.output_len;
		ptrs[0] = (const void **)&t.input;
		ptrs[1] = (const void **)&t.input2;
		ptrs[2] = (const void **)&t.weights;
		ptrs[3] = (const void **)&t.params;
		ptrs[4] = (const void **)&t.output;
		which = (int)layer_gen_below(&rng, 5);
		if (!*ptrs[which]) {	/* a buffer this layer does not use */
			layer_gen_free(&c);
			continue;
		}
		if (layer_gen_below(&rng, 2)) {
			*lens[which] -= 1 + layer_gen_below(&rng, (uint32_t)*lens[which]);
			if (!same_verdict(&c.layer, &t, c.shape.output_bytes, &err) ||
			    err != -ERANGE)
				mismatches++;
		} else {
			*ptrs[which] = NULL;
			if (!same_verdict(&c.layer, &t, c.shape.output_bytes, &err) ||
			    err != -EINVAL)
				mismatches++;
		}
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, mismatches);
}

/* Sets code i of row o of a packed tensor to code. */
static void poke_code(uint8_t *w, size_t row_bytes, uint32_t o, uint32_t i, int k,
		      unsigned int code)
{
	uint8_t *row = w + (size_t)o * row_bytes;
	int t;

	for (t = 0; t < k; t++) {
		size_t j = (size_t)i * k + t;

		row[j / 8] = (uint8_t)((row[j / 8] & ~(1u << (j % 8))) |
				       (((code >> t) & 1) << (j % 8)));
	}
}

TEST(bad_codes_and_params)
{
	struct layer_gen_rng rng;
	int i, mismatches = 0, eilseq = 0, eoverflow = 0, err;

	layer_gen_seed(&rng, test_seed() + 4);
	for (i = 0; i < 600; i++) {
		struct layer_gen_case c;
		uint32_t type = layer_gen_below(&rng, 2) ? NHOT_LAYER_CONV2D : NHOT_LAYER_FC;
		uint32_t o;

		ASSERT_EQ(0, layer_gen_make(&rng, type, &c));
		o = layer_gen_below(&rng, c.layer.out_c);
		if (layer_gen_below(&rng, 2)) {
			int k = nhot_code_bits((int)c.layer.w_n, (int)c.layer.w_b);
			int size = nhot_set_size((int)c.layer.w_n, (int)c.layer.w_b);
			unsigned int code = (unsigned int)size +
					    layer_gen_below(&rng, (1u << k) - (unsigned int)size);

			poke_code(c.weights, c.shape.weight_bytes / c.layer.out_c, o,
				  layer_gen_below(&rng, c.shape.k), k, code);
			if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes, &err) ||
			    err != -EILSEQ)
				mismatches++;
			eilseq++;
		} else {
			switch (layer_gen_below(&rng, 5)) {
			case 0:
				c.params[o].bias = (1 << 30) + 1;
				break;
			case 1:
				c.params[o].bias = -(1 << 30) - 1 - (int32_t)layer_gen_below(&rng, 100);
				break;
			case 2:
				c.params[o].mult = 0x80000000u + layer_gen_below(&rng, 100);
				break;
			case 3:
				c.params[o].shift = 0;
				break;
			default:
				c.params[o].shift = 63 + layer_gen_below(&rng, 1000);
				break;
			}
			if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes, &err) ||
			    err != -EOVERFLOW)
				mismatches++;
			eoverflow++;
		}
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, mismatches);
	EXPECT_GT(eilseq, 100);
	EXPECT_GT(eoverflow, 100);
}

TEST(null_layer_and_tensors)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	struct nhot_counters cnt = { 1, 1 };

	EXPECT_EQ(-EINVAL, nhot_cpu_run(NULL, NULL, NULL));
	layer_gen_seed(&rng, 7);
	ASSERT_EQ(0, layer_gen_make(&rng, NHOT_LAYER_CONV2D, &c));
	EXPECT_EQ(-EINVAL, nhot_cpu_run(&c.layer, NULL, &cnt));
	EXPECT_EQ(0u, cnt.macs);
	EXPECT_EQ(nhot_ref_run(&c.layer, NULL, NULL), nhot_cpu_run(&c.layer, NULL, NULL));
	/* Counters are optional. */
	EXPECT_EQ(0, nhot_cpu_run(&c.layer, &c.t, NULL));
	layer_gen_free(&c);
}

TEST(isa_and_thread_controls)
{
	const char *isas[3];
	int nisa = usable_isas(isas), i;
	const char *best;

	ASSERT_GE(nisa, 1);
	EXPECT_EQ(0, strcmp(isas[0], "portable"));
	best = nhot_cpu_isa();
	/* The default is the best of the usable ones: the last in our order. */
	EXPECT_EQ(0, strcmp(best, isas[nisa - 1]));
	for (i = 0; i < nisa; i++) {
		EXPECT_EQ(0, nhot_cpu_set_isa(isas[i]));
		EXPECT_EQ(0, strcmp(nhot_cpu_isa(), isas[i]));
	}
	EXPECT_EQ(-EINVAL, nhot_cpu_set_isa("sse9"));
	EXPECT_EQ(-EINVAL, nhot_cpu_set_isa(""));
	EXPECT_EQ(0, nhot_cpu_set_isa(NULL));
	EXPECT_EQ(0, strcmp(nhot_cpu_isa(), best));
	EXPECT_EQ(-EINVAL, nhot_cpu_set_threads(0));
	EXPECT_EQ(-EINVAL, nhot_cpu_set_threads(-3));
	EXPECT_EQ(-EINVAL, nhot_cpu_set_threads(100000));
	EXPECT_EQ(0, nhot_cpu_set_threads(1));
	EXPECT_EQ(0, nhot_cpu_set_threads(2));
}

/*
 * The GEMM's packed epilogue (cpu_gemm_avx512.c tile_store_packed()) runs
 * when every channel has shift >= 33: FC layers whose widths give every
 * panel width (16, 32, 48, 64 channels and partial panels) and batches that
 * end tiles on every row count, and random convolutions, all with such
 * shifts, random clamps and zero points; some with one channel below 33
 * (the 64-bit form).
 */
static void hi_shift_params(struct layer_gen_rng *rng, struct layer_gen_case *c, int one_low)
{
	uint32_t o;

	for (o = 0; o < c->layer.out_c; o++) {
		c->params[o].bias = (int32_t)layer_gen_range(rng, -(1 << 20), 1 << 20);
		c->params[o].mult = (1u << 30) + layer_gen_below(rng, 1u << 30);
		c->params[o].shift = 33 + layer_gen_below(rng, 10);
	}
	if (one_low)
		c->params[layer_gen_below(rng, c->layer.out_c)].shift = 20;
}

/*
 * Checks the layer in c->layer and gives it buffers of the sizes it needs:
 * random input, random weights of S(w_n, w_b) (values and packed codes),
 * params and output uninitialised. 0, -EINVAL or -ENOMEM.
 */
static int alloc_case(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;
	int16_t set[NHOT_SET_MAX];
	int size = nhot_set_values((int)l->w_n, (int)l->w_b, set, NHOT_SET_MAX);
	uint64_t i, nw;

	if (size <= 0 || nhot_layer_check(l, &c->shape))
		return -EINVAL;
	nw = (uint64_t)l->out_c * c->shape.k;
	c->values = malloc(nw);
	c->input = malloc(c->shape.input_bytes);
	c->weights = malloc(c->shape.weight_bytes);
	c->params = malloc(c->shape.params_bytes);
	c->output = malloc(c->shape.output_bytes);
	if (!c->values || !c->input || !c->weights || !c->params || !c->output)
		return -ENOMEM;
	for (i = 0; i < c->shape.input_bytes; i++)
		c->input[i] = (uint8_t)layer_gen_below(rng, 256);
	for (i = 0; i < nw; i++)
		c->values[i] = (int8_t)set[layer_gen_below(rng, (uint32_t)size)];
	c->t = (struct nhot_tensors){
		.input = c->input, .input_len = c->shape.input_bytes,
		.weights = c->weights, .weights_len = c->shape.weight_bytes,
		.params = c->params, .params_len = c->shape.params_bytes,
		.output = c->output, .output_len = c->shape.output_bytes,
	};
	return nhot_pack((int)l->w_n, (int)l->w_b, c->values, l->out_c, c->shape.k, c->weights,
			 c->shape.weight_bytes);
}

/* S(2, 8) weights, random zero points and clamp for the layer in c->layer, and its buffers. */
static int fill_case(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;

	l->w_n = 2;
	l->w_b = 8;
	l->in_zero = layer_gen_below(rng, 256);
	l->out_zero = layer_gen_below(rng, 256);
	l->act_min = layer_gen_below(rng, 128);
	l->act_max = l->act_min + layer_gen_below(rng, 256 - l->act_min);
	return alloc_case(rng, c);
}

/* c emptied, with an FC descriptor of that shape and (n, b), zero points 0, no clamp. */
static void fc_descriptor(struct layer_gen_case *c, uint32_t n, uint32_t b, uint32_t batch,
			  uint32_t k, uint32_t out_c)
{
	memset(c, 0, sizeof(*c));
	c->layer.type = NHOT_LAYER_FC;
	c->layer.w_n = n;
	c->layer.w_b = b;
	c->layer.batch = batch;
	c->layer.in_h = c->layer.in_w = 1;
	c->layer.in_c = k;
	c->layer.out_c = out_c;
	c->layer.act_max = 255;
}

/* Scales near 2^-e for K products spread the sums over the output range: a wrong term shows. */
static uint32_t spread_exponent(uint32_t k)
{
	uint32_t e;

	for (e = 6; k >> (2 * (e - 6)) > 1; e++)
		;
	return e;
}

/* Sets the padding bits at the end of every row: the same job for every reader. */
static void set_padding_bits(struct layer_gen_case *c)
{
	const struct nhot_layer *l = &c->layer;
	size_t row_bytes = c->shape.weight_bytes / l->out_c;
	size_t used = (size_t)c->shape.k * (size_t)nhot_code_bits((int)l->w_n, (int)l->w_b);
	uint32_t o;

	if (used % 8)
		for (o = 0; o < l->out_c; o++)
			c->weights[o * row_bytes + row_bytes - 1] |= (uint8_t)(0xff << (used % 8));
}

static int make_fc_case(struct layer_gen_rng *rng, uint32_t batch, uint32_t k, uint32_t out_c,
			struct layer_gen_case *c)
{
	fc_descriptor(c, 2, 8, batch, k, out_c);
	return fill_case(rng, c);
}

TEST(gemm_packed_epilogue)
{
	static const uint32_t widths[] = { 16, 32, 48, 64, 128, 17, 40, 80, 100 };
	static const uint32_t batches[] = { 2, 3, 4, 5, 7, 12, 13, 16, 17, 49 };
	static const uint32_t ks[] = { 32, 4, 36, 30 };
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, index = 0, i;
	uint64_t seed = test_seed() + 7;
	struct layer_gen_rng rng;
	size_t w, b, k;

	layer_gen_seed(&rng, seed);
	for (w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		for (b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
			for (k = 0; k < sizeof(ks) / sizeof(ks[0]); k++, index++) {
				struct layer_gen_case c;

				ASSERT_EQ(0, make_fc_case(&rng, batches[b], ks[k], widths[w], &c));
				hi_shift_params(&rng, &c, index % 5 == 4);
				bad += compare_case(&c, isas, nisa, seed, index);
				layer_gen_free(&c);
			}
		}
	}
	for (i = 0; i < 300; i++, index++) {
		struct layer_gen_case c;

		ASSERT_EQ(0, layer_gen_make(&rng, NHOT_LAYER_CONV2D, &c));
		hi_shift_params(&rng, &c, i % 5 == 4);
		bad += compare_case(&c, isas, nisa, seed, index);
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
}

/*
 * The depthwise kernels of cpu_dw_avx512.c: the byte kernel of 3x3, stride_w
 * 1 or 2, dilation 1 layers (any stride_h) and the word kernel of every
 * other depthwise shape. Each shape runs with every valid (n, b) of S(n, b):
 * channel counts around the 16-lane blocks (1, 15, 16, 17, 33, 96), widths
 * and heights from 1, padding 0 to 2 (the most a 3-tap window allows),
 * outputs across several DW_BAND bands, rows wide enough that the 3x3
 * kernel prepares its blocks in several groups, batch 2; zero points 0 and
 * 255, narrow clamps, and both requantization forms (every shift >= 33, or
 * saturating multipliers with small shifts and biases at +-2^30). With
 * every shift >= 33, 96 and 100 channels take the 3x3 kernel's four-block
 * rows (dw3_row4(), at both strides) and their single-block rest.
 */
struct dw_shape {
	uint32_t in_h, in_w, c, batch;
	uint32_t kh, kw, stride_h, stride_w, dil_h, dil_w;
	uint32_t pad_t, pad_b, pad_l, pad_r;
};

static const struct dw_shape dw_shapes[] = {
	/* the byte kernel */
	{ 5, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 2, 16, 1, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2 },
	{ 7, 17, 17, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 9, 33, 33, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 12, 5, 96, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 11, 9, 15, 1, 3, 3, 2, 1, 1, 1, 0, 2, 2, 0 },
	{ 19, 3, 48, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 21, 20, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 0, 2 },
	/* blocks prepared in groups of 6 then 1 (tail of 4 channels); groups of 1 */
	{ 3, 80, 100, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 2, 600, 20, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	/* ... at stride_w 2, odd and even widths */
	{ 9, 9, 20, 1, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1 },
	{ 13, 15, 96, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
	{ 8, 10, 17, 1, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1 },
	{ 5, 160, 100, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2 },
	/* the word kernel */
	{ 9, 10, 16, 1, 3, 3, 1, 3, 1, 1, 1, 1, 1, 1 },
	{ 8, 7, 17, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2 },
	{ 7, 11, 16, 1, 3, 3, 1, 1, 1, 2, 1, 1, 2, 2 },
	{ 10, 6, 33, 2, 3, 3, 1, 1, 2, 1, 2, 2, 1, 1 },
	{ 6, 8, 18, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1 },
	{ 6, 8, 18, 1, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0 },
};

/* Parameters of variant v: hi-shift channels (v even) or the 64-bit form. */
static void dw_params(struct layer_gen_rng *rng, struct layer_gen_case *c, int v)
{
	static const int32_t biases[] = { 1 << 30, -(1 << 30), 0, 12345 };
	uint32_t o;

	for (o = 0; o < c->layer.out_c; o++) {
		struct nhot_chan_params *p = &c->params[o];

		p->bias = (int32_t)layer_gen_range(rng, -(1 << 14), 1 << 14);
		if (v % 2 == 0) {
			p->mult = o % 7 == 3 ? 0 : (1u << 30) + layer_gen_below(rng, 1u << 30);
			p->shift = 33 + layer_gen_below(rng, 10);
		} else {
			p->mult = o % 2 ? 0x7fffffff : layer_gen_below(rng, 1u << 31);
			p->shift = 1 + layer_gen_below(rng, 40);
			p->bias = biases[o % 4];
		}
	}
}

static int make_dw_case(struct layer_gen_rng *rng, const struct dw_shape *s, uint32_t n,
			uint32_t b, int v, struct layer_gen_case *c)
{
	static const uint32_t zeros[] = { 0, 255, 128 };
	struct nhot_layer *l = &c->layer;
	int16_t set[NHOT_SET_MAX];
	int size = nhot_set_values((int)n, (int)b, set, NHOT_SET_MAX), ret;
	uint64_t i, nw;

	memset(c, 0, sizeof(*c));
	l->type = NHOT_LAYER_CONV2D;
	l->w_n = n;
	l->w_b = b;
	l->batch = s->batch;
	l->in_h = s->in_h;
	l->in_w = s->in_w;
	l->in_c = l->out_c = l->groups = s->c;
	l->kernel_h = s->kh;
	l->kernel_w = s->kw;
	l->stride_h = s->stride_h;
	l->stride_w = s->stride_w;
	l->dilation_h = s->dil_h;
	l->dilation_w = s->dil_w;
	l->pad_top = s->pad_t;
	l->pad_bottom = s->pad_b;
	l->pad_left = s->pad_l;
	l->pad_right = s->pad_r;
	l->in_zero = zeros[v % 3];
	l->out_zero = zeros[(v + 1) % 3];
	l->act_min = v % 4 == 3 ? 40 : 0;
	l->act_max = v % 4 == 3 ? 200 : 255;
	ret = alloc_case(rng, c);
	if (ret)
		return ret;
	dw_params(rng, c, v);
	if (v % 5 != 4)
		return 0;
	/* Extremes: inputs 0 and 255, weights the smallest and largest of S(n, b). */
	nw = (uint64_t)l->out_c * c->shape.k;
	for (i = 0; i < c->shape.input_bytes; i++)
		c->input[i] = (uint8_t)(i % 3 ? 255 : 0);
	for (i = 0; i < nw; i++)
		c->values[i] = (int8_t)set[i % 2 ? (uint32_t)size - 1 : 0];
	return nhot_pack((int)n, (int)b, c->values, l->out_c, c->shape.k, c->weights,
			 c->shape.weight_bytes);
}

TEST(depthwise_kernels)
{
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, index = 0;
	uint64_t seed = test_seed() + 8;
	struct layer_gen_rng rng;
	uint32_t n, b;
	size_t s;

	layer_gen_seed(&rng, seed);
	for (s = 0; s < sizeof(dw_shapes) / sizeof(dw_shapes[0]); s++) {
		for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
			for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++, index++) {
				struct layer_gen_case c;

				if (nhot_set_size((int)n, (int)b) <= 0)
					continue;
				ASSERT_EQ(0, make_dw_case(&rng, &dw_shapes[s], n, b, index, &c));
				/* A valid job: the kernels run, not an early error. */
				ASSERT_EQ(0, nhot_ref_run(&c.layer, &c.t, NULL));
				bad += compare_case(&c, isas, nisa, seed, index);
				layer_gen_free(&c);
			}
		}
	}
	EXPECT_EQ(0, bad);
}

/*
 * The batch-1 FC kernel (cpu_gemv_avx512.c): blocks of 4 rows, groups of 16
 * channels requantized in the task, rows past out_c repeating the last one.
 * Every (n, b); K with and without a partial last chunk (64 codes, 128 for
 * the 4-bit codes of gemv_nibbles()); out_c around the block and group
 * sizes; groups whose channels all take requant16_hi() next to mixed ones
 * (small shifts saturate); padding bits set, which readers ignore; an
 * invalid code in the last code of the last row; a bad parameter in the
 * last channel, alone and with a bad code.
 */
static const uint32_t gemv_ks[] = { 1, 9, 63, 64, 65, 127, 128, 129, 200, 256, 1280 };
static const uint32_t gemv_outs[] = { 1, 3, 4, 5, 15, 16, 17, 33, 47, 64, 100 };

static int make_gemv_case(struct layer_gen_rng *rng, uint32_t n, uint32_t b, uint32_t k,
			  uint32_t out_c, int index, struct layer_gen_case *c)
{
	static const uint32_t zeros[] = { 0, 255, 128 };
	struct nhot_layer *l = &c->layer;
	uint32_t o, e = spread_exponent(k);
	int ret;

	fc_descriptor(c, n, b, 1, k, out_c);
	l->in_zero = zeros[index % 3];
	l->out_zero = zeros[(index + 1) % 3];
	l->act_min = index % 4 == 3 ? 40 : 0;
	l->act_max = index % 4 == 3 ? 200 : 255;
	ret = alloc_case(rng, c);
	if (ret)
		return ret;
	for (o = 0; o < out_c; o++) {
		struct nhot_chan_params *p = &c->params[o];
		uint32_t s;

		p->bias = (int32_t)layer_gen_range(rng, -(1 << 15), 1 << 15);
		if (layer_gen_below(rng, 8) == 0) {
			/* Anything valid: mostly saturated outputs, zero multipliers. */
			p->bias = (int32_t)layer_gen_range(rng, -(1 << 30), 1 << 30);
			p->mult = layer_gen_below(rng, 2) ? (uint32_t)layer_gen_range(rng, 0, INT32_MAX) : 0;
			p->shift = (o / 16) % 2 ? 1 + layer_gen_below(rng, NHOT_MAX_SHIFT) :
						  33 + layer_gen_below(rng, NHOT_MAX_SHIFT - 32);
		} else if ((o / 16) % 2) {
			/* Odd groups of 16: shifts < 33, so requant16() rather than requant16_hi(). */
			s = e + 5 + layer_gen_below(rng, 8);
			p->shift = s;
			p->mult = (1u << (s - e)) + layer_gen_below(rng, 1u << (s - e));
		} else {
			p->shift = e + 30 + layer_gen_below(rng, 2);
			p->mult = (1u << 30) + layer_gen_below(rng, 1u << 30);
		}
	}
	if (index % 2)
		set_padding_bits(c);
	return 0;
}

TEST(gemv_fc_blocks)
{
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, index = 0, err;
	uint64_t seed = test_seed() + 9;
	struct layer_gen_rng rng;
	uint32_t n, b;

	layer_gen_seed(&rng, seed);
	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
			size_t s;

			for (s = 0; s < 3; s++, index++) {
				uint32_t k = gemv_ks[(index + s) % (sizeof(gemv_ks) / sizeof(gemv_ks[0]))];
				uint32_t out_c = gemv_outs[index % (sizeof(gemv_outs) /
								     sizeof(gemv_outs[0]))];
				int kbits = nhot_code_bits((int)n, (int)b);
				int size = nhot_set_size((int)n, (int)b);
				size_t row_bytes;
				struct layer_gen_case c;

				ASSERT_EQ(0, make_gemv_case(&rng, n, b, k, out_c, index, &c));
				ASSERT_EQ(0, nhot_ref_run(&c.layer, &c.t, NULL));
				bad += compare_case(&c, isas, nisa, seed, index);
				row_bytes = c.shape.weight_bytes / out_c;
				/* A bad parameter in the last channel: -EOVERFLOW, output untouched. */
				c.params[out_c - 1].shift = 0;
				if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes, &err) ||
				    err != -EOVERFLOW)
					bad++;
				/* With an invalid last code too: the codes are checked first. */
				if (size < (1 << kbits)) {
					poke_code(c.weights, row_bytes, out_c - 1, k - 1, kbits,
						  (unsigned int)size);
					if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes,
							  &err) || err != -EILSEQ)
						bad++;
					c.params[out_c - 1].shift = 40;
					if (!same_verdict(&c.layer, &c.t, c.shape.output_bytes,
							  &err) || err != -EILSEQ)
						bad++;
				}
				layer_gen_free(&c);
			}
		}
	}
	EXPECT_EQ(0, bad);
}

/*
 * The decoded weights and their requantization constants are kept between
 * calls (cpu_panel_cache.c): a layer run again with the same codes but new
 * params, zero points or clamp, or with one code changed in place, must
 * still match the reference.
 */
TEST(cached_weights_changed_params)
{
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, i, step;
	uint64_t seed = test_seed() + 11;
	struct layer_gen_rng rng;

	layer_gen_seed(&rng, seed);
	for (i = 0; i < 60; i++) {
		struct layer_gen_case c;
		struct nhot_layer first;
		uint32_t o;

		if (i % 2) {
			ASSERT_EQ(0, layer_gen_make(&rng, NHOT_LAYER_CONV2D, &c));
		} else {
			ASSERT_EQ(0, make_fc_case(&rng, 1 + layer_gen_below(&rng, 40),
						  4 * (1 + layer_gen_below(&rng, 100)),
						  16 * (1 + layer_gen_below(&rng, 8)), &c));
		}
		hi_shift_params(&rng, &c, 0);
		first = c.layer;
		/* Each step differs from the first run in one thing only. */
		for (step = 0; step < 4; step++) {
			bad += compare_case(&c, isas, nisa, seed, i * 10 + step);
			if (step == 0) {		/* new zero points and clamp */
				c.layer.in_zero = layer_gen_below(&rng, 256);
				c.layer.out_zero = layer_gen_below(&rng, 256);
				c.layer.act_min = layer_gen_below(&rng, 100);
				c.layer.act_max = 155 + layer_gen_below(&rng, 101);
			} else if (step == 1) {	/* the first zero points, new params */
				c.layer = first;
				hi_shift_params(&rng, &c, i % 3 == 0);
			} else if (step == 2) {	/* one weight changed in place */
				int16_t set[256];
				int size = nhot_set_values((int)c.layer.w_n, (int)c.layer.w_b, set, 256);
				uint64_t n = (uint64_t)c.layer.out_c * c.shape.k;
				uint64_t at = layer_gen_below(&rng, (uint32_t)n);

				ASSERT_GT(size, 1);
				o = 0;
				while (set[o] == c.values[at])
					o++;
				c.values[at] = (int8_t)set[o];
				ASSERT_EQ(0, nhot_pack((int)c.layer.w_n, (int)c.layer.w_b, c.values,
						       c.layer.out_c, c.shape.k, c.weights,
						       c.shape.weight_bytes));
			}
		}
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
}

/*
 * Direct convolutions (Cg % 4 == 0) on images wide enough that most tiles
 * stay inside one output row and clear of the padding, so they read the
 * input through tap offsets (SEG = 2 in cpu_gemm_avx512.c) while the tiles
 * at the edges use pointer tables: kernels 1x1 to 5x5, strides and
 * dilations 1 and 2, padding 0 to 2, groups 1 and 2, batch 1 and 2.
 */
#define MIN_U32(a, b)	((uint32_t)(a) < (uint32_t)(b) ? (uint32_t)(a) : (uint32_t)(b))

TEST(direct_conv_tile_forms)
{
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, i;
	uint64_t seed = test_seed() + 10;
	struct layer_gen_rng rng;

	layer_gen_seed(&rng, seed);
	for (i = 0; i < 120; i++) {
		struct layer_gen_case c;
		struct nhot_layer *l = &c.layer;
		uint32_t groups = 1 + layer_gen_below(&rng, 2);

		memset(&c, 0, sizeof(c));
		l->type = NHOT_LAYER_CONV2D;
		l->batch = 1 + layer_gen_below(&rng, 2);
		l->kernel_h = 1 + layer_gen_below(&rng, 5);
		l->kernel_w = 1 + layer_gen_below(&rng, 5);
		l->stride_h = 1 + layer_gen_below(&rng, 2);
		l->stride_w = 1 + layer_gen_below(&rng, 2);
		l->dilation_h = 1 + layer_gen_below(&rng, 2);
		l->dilation_w = 1 + layer_gen_below(&rng, 2);
		/* Padding below the extent (docs/arith.md 3), at most 2. */
		l->pad_top = layer_gen_below(&rng, 1 + MIN_U32(2, (l->kernel_h - 1) * l->dilation_h));
		l->pad_bottom = layer_gen_below(&rng, 1 + MIN_U32(2, (l->kernel_h - 1) * l->dilation_h));
		l->pad_left = layer_gen_below(&rng, 1 + MIN_U32(2, (l->kernel_w - 1) * l->dilation_w));
		l->pad_right = layer_gen_below(&rng, 1 + MIN_U32(2, (l->kernel_w - 1) * l->dilation_w));
		l->in_h = 10 + layer_gen_below(&rng, 8);
		l->in_w = 20 + layer_gen_below(&rng, 40);
		l->groups = groups;
		l->in_c = groups * 4 * (1 + layer_gen_below(&rng, 6));
		l->out_c = groups * (1 + layer_gen_below(&rng, 80));
		ASSERT_EQ(0, fill_case(&rng, &c));
		if (i % 2)
			hi_shift_params(&rng, &c, i % 6 == 5);
		else
			for (uint32_t o = 0; o < l->out_c; o++)
				c.params[o] = (struct nhot_chan_params){
					.bias = (int32_t)layer_gen_range(&rng, -5000, 5000),
					.mult = (1u << 30) + layer_gen_below(&rng, 1u << 30),
					.shift = 20 + layer_gen_below(&rng, 30) };
		bad += compare_case(&c, isas, nisa, seed, i);
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
}

/*
 * Prepared FC layers of small batches, which cpu_gemv_avx512.c runs without
 * checks: in_zero * sum(w) in the bias, the output written in place, rows
 * read up to the 64 zero bytes after the layer's copy of the codes. Every
 * (n, b); K and out_c at the edges of its chunks (64 codes, 128 nibbles),
 * blocks (4 rows) and groups (16 channels), batch 1 to 4; zero points 0 and
 * 255, clamps that saturate, shifts below and from 33 in groups of 16,
 * saturating and zero multipliers, padding bits set. Each ISA at 1 and 2
 * threads against nhot_ref_run(): the output bytes and the counters, with
 * the caller's codes and params overwritten once the layer is prepared.
 */
static const uint32_t prep_sizes[] = { 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1280 };
#define PREP_SIZES	(sizeof(prep_sizes) / sizeof(prep_sizes[0]))

static int make_prepared_case(struct layer_gen_rng *rng, uint32_t n, uint32_t b, uint32_t batch,
			      uint32_t k, uint32_t out_c, int index, struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;
	uint32_t o, e = spread_exponent(k);
	int ret;

	fc_descriptor(c, n, b, batch, k, out_c);
	/* Moduli prime to the batch's 4: every batch meets every variant. */
	l->in_zero = index % 3 ? 255 : 0;
	l->out_zero = index % 5 < 2 ? 255 : 0;
	l->act_min = index % 7 < 3 ? 50 : 0;
	l->act_max = index % 7 < 3 ? 180 : 255;
	ret = alloc_case(rng, c);
	if (ret)
		return ret;
	for (o = 0; o < out_c; o++) {
		struct nhot_chan_params *p = &c->params[o];
		uint32_t s = e + 5 + layer_gen_below(rng, 8);

		p->bias = (int32_t)layer_gen_range(rng, -(1 << 15), 1 << 15);
		if (layer_gen_below(rng, 8) == 0) {
			p->bias = (int32_t)layer_gen_range(rng, -NHOT_MAX_BIAS, NHOT_MAX_BIAS);
			p->mult = layer_gen_below(rng, 2) ? (uint32_t)INT32_MAX : 0;
			p->shift = 1 + layer_gen_below(rng, NHOT_MAX_SHIFT);
		} else if ((o / 16 + (uint32_t)index) % 2) {	/* requant16() */
			p->shift = s;
			p->mult = (1u << (s - e)) + layer_gen_below(rng, 1u << (s - e));
		} else {					/* requant16_hi() */
			p->shift = e + 30 + layer_gen_below(rng, 2);
			p->mult = (1u << 30) + layer_gen_below(rng, 1u << 30);
		}
	}
	if (index % 3 != 1)
		set_padding_bits(c);
	return 0;
}

/* Prepares c's layer for the current ISA and runs it at 1 and 2 threads; mismatches. */
static int compare_prepared(struct layer_gen_case *c, const uint8_t *ref,
			    const struct nhot_counters *rc)
{
	const struct nhot_layer_shape *sh = &c->shape;
	struct nhot_cpu_layer *pl;
	struct nhot_counters fc;
	int threads, bad = 0;

	if (nhot_cpu_layer_prepare(&c->layer, c->weights, sh->weight_bytes, c->params,
				   sh->params_bytes, &pl))
		return 1;
	/* The layer keeps its own copies. */
	memset(c->weights, 0xff, sh->weight_bytes);
	memset(c->params, 0xff, sh->params_bytes);
	for (threads = 1; threads <= 2; threads++) {
		nhot_cpu_set_threads(threads);
		memset(c->output, 0xc3, sh->output_bytes);
		memset(&fc, 0xff, sizeof(fc));
		if (nhot_cpu_layer_run(pl, c->input, sh->input_bytes, c->output, sh->output_bytes,
				       &fc) ||
		    memcmp(ref, c->output, sh->output_bytes) || fc.macs != rc->macs ||
		    fc.shift_adds != rc->shift_adds)
			bad++;
	}
	nhot_cpu_layer_free(pl);
	return bad;
}

TEST(gemv_prepared_blocks)
{
	const char *isas[3];
	int nisa = usable_isas(isas), bad = 0, index = 0, pair = 0, i;
	uint64_t seed = test_seed() + 12;
	struct layer_gen_rng rng;
	uint32_t n, b, s;

	ASSERT_GE(nisa, 1);
	layer_gen_seed(&rng, seed);
	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++, pair++) {
			for (s = 0; s < PREP_SIZES; s++, index++) {
				uint32_t k = prep_sizes[s];
				uint32_t out_c = prep_sizes[(s + (uint32_t)pair) % PREP_SIZES];
				struct layer_gen_case c;
				struct nhot_counters rc;
				uint8_t *ref, *weights, *params;

				ASSERT_EQ(0, make_prepared_case(&rng, n, b, 1 + (uint32_t)index % 4, k,
								out_c, index, &c));
				ref = malloc(c.shape.output_bytes);
				weights = malloc(c.shape.weight_bytes);
				params = malloc(c.shape.params_bytes);
				ASSERT_TRUE(ref && weights && params);
				c.t.output = ref;
				ASSERT_EQ(0, nhot_ref_run(&c.layer, &c.t, &rc));
				memcpy(weights, c.weights, c.shape.weight_bytes);
				memcpy(params, c.params, c.shape.params_bytes);
				for (i = 0; i < nisa; i++) {
					int fails;

					nhot_cpu_set_isa(isas[i]);
					fails = compare_prepared(&c, ref, &rc);
					if (fails && bad < 3)
						TH_LOG("seed %#llx case %d isa %s: S(%u, %u) batch %u K %u out_c %u",
						       (unsigned long long)seed, index, isas[i], n, b,
						       c.layer.batch, k, out_c);
					bad += fails;
					memcpy(c.weights, weights, c.shape.weight_bytes);
					memcpy(c.params, params, c.shape.params_bytes);
				}
				nhot_cpu_set_isa(NULL);
				free(ref);
				free(weights);
				free(params);
				layer_gen_free(&c);
			}
		}
	}
	nhot_cpu_set_threads(2);
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
