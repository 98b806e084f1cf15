// SPDX-License-Identifier: MIT
/*
 * The engine's datapath model (driver/model/nhot_model.c) against libnhot's
 * reference nhot_ref_run(): two independent implementations of docs/arith.md
 * must agree on every output byte, on the macs and shift_adds counters, and
 * on every errno, over thousands of random layers from layer_gen; the
 * model's descriptor check must agree with nhot_layer_check(); its code
 * table with the library's S(n, b); its cycle count with docs/engine.md.
 *
 * NHOT_TEST_SEED=<n> replays a run; a failure prints the case index and the
 * descriptor.
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
#include "nhot_model.h"

#define RANDOM_CASES	4000
#define MUTATED_CASES	20000
#define PE_COUNT	64

static uint64_t test_seed(void)
{
	const char *env = getenv("NHOT_TEST_SEED");

	return env ? strtoull(env, NULL, 0) : 0x6d6f64656cull;	/* "model" */
}

static struct nhot_model_table table;

static struct nhot_model_mem mem_of(const struct nhot_tensors *t)
{
	struct nhot_model_mem m = {
		.input = t->input, .input_len = t->input_len,
		.input2 = t->input2, .input2_len = t->input2_len,
		.weights = t->weights, .weights_len = t->weights_len,
		.params = (const uint8_t *)t->params, .params_len = t->params_len,
		.output = t->output, .output_len = t->output_len,
	};
	return m;
}

static int model_run(const struct nhot_layer *l, const struct nhot_tensors *t,
		     struct nhot_model_counters *c)
{
	struct nhot_model_cfg cfg = { .pe_count = PE_COUNT };
	struct nhot_model_mem m = mem_of(t);

	return nhot_model_run(l, &m, &cfg, &table, c);
}

/*
 * Runs one case through both; 0 when they agree. want_err: the errno both
 * must return (0: success, and then outputs must match too).
 */
static int compare(struct layer_gen_case *c, int index, int want_err)
{
	size_t len = c->shape.output_bytes;
	uint8_t *ref_out = malloc(len), *mod_out = malloc(len);
	struct nhot_model_counters mc;
	struct nhot_counters rc;
	struct nhot_tensors t = c->t;
	int rret, mret, bad = 0;
	char desc[512];

	if (!ref_out || !mod_out) {
		free(ref_out);
		free(mod_out);
		return 1;
	}
	memset(ref_out, 0x5a, len);
	memset(mod_out, 0xa5, len);
	t.output = ref_out;
	rret = nhot_ref_run(&c->layer, &t, &rc);
	t.output = mod_out;
	mret = model_run(&c->layer, &t, &mc);
	if (rret != want_err || mret != want_err)
		bad = 1;
	else if (!want_err && (mc.macs != rc.macs || mc.shift_adds != rc.shift_adds ||
			       memcmp(ref_out, mod_out, len)))
		bad = 1;
	if (bad) {
		layer_gen_describe(&c->layer, desc, sizeof(desc));
		fprintf(stderr, "# case %d: %s\n#   want %d ref %d model %d; macs %llu/%llu shift_adds %llu/%llu\n",
			index, desc, want_err, rret, mret, (unsigned long long)rc.macs,
			(unsigned long long)mc.macs, (unsigned long long)rc.shift_adds,
			(unsigned long long)mc.shift_adds);
	}
	free(ref_out);
	free(mod_out);
	return bad;
}

TEST(code_table_is_the_librarys_set)
{
	int16_t values[NHOT_SET_MAX];
	struct nhot_term terms[NHOT_TERMS_MAX];
	int n, b, i, j, size;

	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
			ASSERT_EQ(0, nhot_model_build_table(n, b, &table));
			size = nhot_set_values(n, b, values, NHOT_SET_MAX);
			ASSERT_EQ(size, (int)table.size);
			ASSERT_EQ(nhot_code_bits(n, b), (int)table.code_bits);
			for (i = 0; i < size; i++) {
				int count = nhot_terms(values[i], terms), sum = 0;

				ASSERT_EQ(values[i], table.value[i]);
				ASSERT_EQ(count, table.nterms[i]);
				for (j = 0; j < count; j++) {
					ASSERT_EQ(terms[j].sign < 0, table.neg[i][j]);
					ASSERT_EQ(terms[j].exponent, table.shift[i][j]);
					sum += (table.neg[i][j] ? -1 : 1) * (1 << table.shift[i][j]);
				}
				ASSERT_EQ(values[i], sum);
			}
		}
	}
	/* the sizes the format was designed against (docs/arith.md 1.1) */
	nhot_model_build_table(1, 8, &table);
	EXPECT_EQ(15u, table.size);
	nhot_model_build_table(2, 8, &table);
	EXPECT_EQ(87u, table.size);
	nhot_model_build_table(3, 8, &table);
	EXPECT_EQ(207u, table.size);
	nhot_model_build_table(4, 8, &table);
	EXPECT_EQ(255u, table.size);
	nhot_model_build_table(2, 4, &table);
	EXPECT_EQ(15u, table.size);
	EXPECT_EQ(-EOPNOTSUPP, nhot_model_build_table(0, 8, &table));
	EXPECT_EQ(-EOPNOTSUPP, nhot_model_build_table(5, 8, &table));
	EXPECT_EQ(-EOPNOTSUPP, nhot_model_build_table(2, 1, &table));
	EXPECT_EQ(-EOPNOTSUPP, nhot_model_build_table(2, 9, &table));
}

TEST(random_layers_match_the_reference)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i, bad = 0, per_type[NHOT_LAYER_TYPE_MAX + 1] = { 0 };

	layer_gen_seed(&rng, test_seed());
	for (i = 0; i < RANDOM_CASES && bad < 5; i++) {
		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		per_type[c.layer.type]++;
		bad += compare(&c, i, 0);
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
	for (i = 1; i <= NHOT_LAYER_TYPE_MAX; i++)
		EXPECT_LT(0, per_type[i]);	/* every type was exercised */
}

/* The model's own shape agrees with the library's, and its macs with the run. */
TEST(shapes_and_macs_agree)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	struct nhot_model_shape ms;
	struct nhot_counters rc;
	int i;

	layer_gen_seed(&rng, test_seed() + 1);
	for (i = 0; i < RANDOM_CASES / 4; i++) {
		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		ASSERT_EQ(0, nhot_model_check(&c.layer, &ms));
		EXPECT_EQ(c.shape.out_n, ms.out_n);
		EXPECT_EQ(c.shape.out_h, ms.out_h);
		EXPECT_EQ(c.shape.out_w, ms.out_w);
		EXPECT_EQ(c.shape.out_c, ms.out_c);
		EXPECT_EQ(c.shape.k, ms.k);
		EXPECT_EQ(c.shape.input_bytes, ms.input_bytes);
		EXPECT_EQ(c.shape.input2_bytes, ms.input2_bytes);
		EXPECT_EQ(c.shape.weight_bytes, ms.weight_bytes);
		EXPECT_EQ(c.shape.params_bytes, ms.params_bytes);
		EXPECT_EQ(c.shape.output_bytes, ms.output_bytes);
		ASSERT_EQ(0, nhot_ref_run(&c.layer, &c.t, &rc));
		EXPECT_EQ(rc.macs, ms.macs);
		EXPECT_EQ(c.shape.macs, ms.macs);
		layer_gen_free(&c);
	}
}

/* Sets one descriptor field to a value near a boundary, or anything. */
static void mutate(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	static const uint32_t specials[] = {
		0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 62, 63, 255, 256, 4096, 4097, 8192,
		8193, 32768, 65535, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu,
	};
	uint32_t *word = (uint32_t *)l;
	uint32_t field = layer_gen_below(rng, sizeof(*l) / 4);

	if (layer_gen_below(rng, 4))
		word[field] = specials[layer_gen_below(rng, sizeof(specials) / 4)];
	else
		word[field] = (uint32_t)layer_gen_next(rng);
}

TEST(descriptor_checks_agree)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	struct nhot_model_shape ms;
	struct nhot_layer_shape ls;
	int i, m, bad = 0, rejected = 0;
	char desc[512];

	layer_gen_seed(&rng, test_seed() + 2);
	for (i = 0; i < MUTATED_CASES / 4 && bad < 5; i++) {
		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		for (m = 0; m < 4; m++) {
			struct nhot_layer l = c.layer;
			int lret, mret, j, edits = 1 + layer_gen_below(&rng, 2);

			for (j = 0; j < edits; j++)
				mutate(&rng, &l);
			lret = nhot_layer_check(&l, &ls);
			mret = nhot_model_check(&l, &ms);
			rejected += lret != 0;
			if (lret != mret || (!lret && (ls.output_bytes != ms.output_bytes ||
						       ls.weight_bytes != ms.weight_bytes ||
						       ls.input_bytes != ms.input_bytes))) {
				layer_gen_describe(&l, desc, sizeof(desc));
				fprintf(stderr, "# mutant %d.%d: %s: library %d model %d\n",
					i, m, desc, lret, mret);
				bad++;
			}
		}
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
	EXPECT_LT(MUTATED_CASES / 4, rejected);	/* the mutants do break rules */
}

/* Writes code value v at index i of packed row r. */
static void put_code(struct layer_gen_case *c, uint32_t r, uint32_t i, uint32_t v)
{
	uint32_t bits = (uint32_t)nhot_code_bits(c->layer.w_n, c->layer.w_b), j;
	uint8_t *row = c->weights + (size_t)r * (c->shape.weight_bytes / c->shape.out_c);

	for (j = 0; j < bits; j++) {
		size_t bit = (size_t)i * bits + j;

		row[bit / 8] &= (uint8_t)~(1u << (bit % 8));
		row[bit / 8] |= (uint8_t)(((v >> j) & 1) << (bit % 8));
	}
}

TEST(invalid_codes_fail_both_with_eilseq)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i, tried = 0, bad = 0;

	layer_gen_seed(&rng, test_seed() + 3);
	for (i = 0; tried < 500 && i < 20000; i++) {
		uint32_t type = layer_gen_below(&rng, 2) ? NHOT_LAYER_CONV2D : NHOT_LAYER_FC;
		int size, bits;

		ASSERT_EQ(0, layer_gen_make(&rng, type, &c));
		size = nhot_set_size(c.layer.w_n, c.layer.w_b);
		bits = nhot_code_bits(c.layer.w_n, c.layer.w_b);
		if (size < (1 << bits)) {
			put_code(&c, layer_gen_below(&rng, c.shape.out_c),
				 layer_gen_below(&rng, c.shape.k),
				 size + layer_gen_below(&rng, (1 << bits) - size));
			bad += compare(&c, i, -EILSEQ);
			tried++;
		}
		layer_gen_free(&c);
	}
	EXPECT_EQ(500, tried);
	EXPECT_EQ(0, bad);
}

TEST(channel_params_beyond_limits_fail_both_with_eoverflow)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i, bad = 0;

	layer_gen_seed(&rng, test_seed() + 4);
	for (i = 0; i < 400; i++) {
		uint32_t type = i % 2 ? NHOT_LAYER_CONV2D : NHOT_LAYER_FC;
		struct nhot_chan_params *p;

		ASSERT_EQ(0, layer_gen_make(&rng, type, &c));
		p = &c.params[layer_gen_below(&rng, c.layer.out_c)];
		switch (i % 5) {
		case 0:
			p->bias = NHOT_MAX_BIAS + 1;
			break;
		case 1:
			p->bias = -NHOT_MAX_BIAS - 1;
			break;
		case 2:
			p->mult = 0x80000000u;
			break;
		case 3:
			p->shift = 0;
			break;
		default:
			p->shift = NHOT_MAX_SHIFT + 1;
			break;
		}
		bad += compare(&c, i, -EOVERFLOW);
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
}

TEST(short_buffers_fail_both_with_erange)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i, bad = 0;

	layer_gen_seed(&rng, test_seed() + 5);
	for (i = 0; i < 300; i++) {
		ASSERT_EQ(0, layer_gen_make(&rng, 0, &c));
		switch (layer_gen_below(&rng, 3)) {
		case 0:
			c.t.input_len--;
			break;
		case 1:
			c.t.output_len--;
			break;
		default:
			if (c.t.weights_len)
				c.t.weights_len--;
			else
				c.t.output_len--;
			break;
		}
		bad += compare(&c, i, -ERANGE);
		layer_gen_free(&c);
	}
	EXPECT_EQ(0, bad);
}

/*
 * Memory rewritten after the data checks, as a user thread could rewrite a
 * buffer that an engine computes from: the stop hook's first call comes at
 * the start of the first output row, after nhot_check_data() and before any
 * output value uses a channel.
 */
struct rewrite_state {
	struct layer_gen_case *c;
	uint32_t chan;		/* the channel whose parameters change */
	int kind;		/* which value it gets */
	uint32_t row, index;	/* the weight code that changes */
	uint32_t code;
	int calls;
};

static int rewrite_params(void *arg)
{
	struct rewrite_state *st = arg;
	struct nhot_chan_params *p = &st->c->params[st->chan];

	if (++st->calls != 1)
		return 0;
	switch (st->kind) {
	case 0:
		p->shift = 0;		/* rq: 1 << -1 */
		break;
	case 1:
		p->shift = 64;		/* rq: >> 64 */
		break;
	case 2:
		p->shift = 0xffffffffu;
		break;
	case 3:
		p->bias = NHOT_MAX_BIAS + 1;
		break;
	default:
		p->mult = 0x80000000u;
		break;
	}
	return 0;
}

/* The values an output uses are the values checked: out of range fails the job. */
TEST(params_rewritten_during_run_fail_with_eoverflow)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i;

	layer_gen_seed(&rng, test_seed() + 8);
	for (i = 0; i < 500; i++) {
		struct rewrite_state st = { .c = &c, .kind = i % 5 };
		struct nhot_model_cfg cfg = { PE_COUNT, rewrite_params, &st };
		struct nhot_model_counters mc;
		struct nhot_model_mem m;

		ASSERT_EQ(0, layer_gen_make(&rng, i % 2 ? NHOT_LAYER_CONV2D : NHOT_LAYER_FC,
					    &c));
		st.chan = layer_gen_below(&rng, c.layer.out_c);
		m = mem_of(&c.t);
		EXPECT_EQ(-EOVERFLOW, nhot_model_run(&c.layer, &m, &cfg, &table, &mc)) {
			TH_LOG("case %d: kind %d, channel %u", i, st.kind, st.chan);
		}
		EXPECT_EQ(1, st.calls);
		layer_gen_free(&c);
	}
}

static int rewrite_code(void *arg)
{
	struct rewrite_state *st = arg;

	if (++st->calls == 1)
		put_code(st->c, st->row, st->index, st->code);
	return 0;
}

/*
 * A code made invalid after the checks reads as a zero weight, whatever
 * table the workspace held before: the result is the reference's with that
 * weight 0.
 */
TEST(code_rewritten_invalid_during_run_reads_as_zero)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	int i, tried = 0;

	layer_gen_seed(&rng, test_seed() + 9);
	for (i = 0; tried < 300 && i < 20000; i++) {
		struct rewrite_state st = { .c = &c };
		struct nhot_model_cfg cfg = { PE_COUNT, rewrite_code, &st };
		struct nhot_model_counters mc;
		struct nhot_counters rc;
		struct nhot_model_mem m;
		struct nhot_tensors t;
		uint8_t *want;
		int size, bits;

		ASSERT_EQ(0, layer_gen_make(&rng, i % 2 ? NHOT_LAYER_CONV2D : NHOT_LAYER_FC,
					    &c));
		size = nhot_set_size(c.layer.w_n, c.layer.w_b);
		bits = nhot_code_bits(c.layer.w_n, c.layer.w_b);
		if (size == (1 << bits)) {
			layer_gen_free(&c);
			continue;
		}
		tried++;
		st.row = layer_gen_below(&rng, c.shape.out_c);
		st.index = layer_gen_below(&rng, c.shape.k);
		st.code = size + layer_gen_below(&rng, (1 << bits) - size);
		/* the reference: that weight 0, the middle code of the symmetric set */
		want = malloc(c.shape.output_bytes);
		ASSERT_NE(NULL, want);
		put_code(&c, st.row, st.index, (uint32_t)(size - 1) / 2);
		t = c.t;
		t.output = want;
		ASSERT_EQ(0, nhot_ref_run(&c.layer, &t, &rc));
		/* a workspace full of the largest table's codes */
		ASSERT_EQ(0, nhot_model_build_table(NHOT_MAX_N, NHOT_MAX_B, &table));
		m = mem_of(&c.t);
		EXPECT_EQ(0, nhot_model_run(&c.layer, &m, &cfg, &table, &mc));
		EXPECT_EQ(0, memcmp(want, c.output, c.shape.output_bytes)) {
			TH_LOG("case %d: code %u at row %u index %u", i, st.code, st.row,
			       st.index);
		}
		free(want);
		layer_gen_free(&c);
	}
	EXPECT_EQ(300, tried);
}

/* docs/engine.md: 64 per job, plus per output ceil(ops / pe_count) + 1. */
TEST(cycle_model)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	struct nhot_model_counters mc;
	int i;

	layer_gen_seed(&rng, test_seed() + 6);
	for (i = 0; i < 200; i++) {
		uint64_t want = NHOT_MODEL_JOB_CYCLES, ops;
		uint32_t n, o, k;

		ASSERT_EQ(0, layer_gen_make(&rng, i % 2 ? NHOT_LAYER_FC : NHOT_LAYER_ADD, &c));
		ASSERT_EQ(0, model_run(&c.layer, &c.t, &mc));
		if (c.layer.type == NHOT_LAYER_FC) {
			for (n = 0; n < c.layer.batch; n++) {
				for (o = 0; o < c.layer.out_c; o++) {
					ops = 0;
					for (k = 0; k < c.shape.k; k++)
						ops += nhot_naf_weight(c.values[(size_t)o * c.shape.k + k]);
					want += (ops + PE_COUNT - 1) / PE_COUNT + 1;
				}
			}
		} else {
			want += c.shape.output_bytes * ((NHOT_MODEL_ADD_OPS + PE_COUNT - 1) /
							PE_COUNT + 1);
		}
		EXPECT_EQ(want, mc.cycles);
		layer_gen_free(&c);
	}
}

struct stop_state {
	int calls;
	int stop_at;
};

static int stop_after(void *arg)
{
	struct stop_state *s = arg;

	return ++s->calls == s->stop_at ? -ECANCELED : 0;
}

/* The stop hook runs once per output row (and within long rows); its errno ends the job. */
TEST(stop_hook)
{
	struct layer_gen_rng rng;
	struct layer_gen_case c;
	struct nhot_model_counters mc;
	int i, long_rows = 0;

	layer_gen_seed(&rng, test_seed() + 7);
	for (i = 0; i < 100; i++) {
		struct stop_state st = { 0, 0 };
		struct nhot_model_cfg cfg = { PE_COUNT, stop_after, &st };
		struct nhot_model_mem m;
		uint32_t rows;

		ASSERT_EQ(0, layer_gen_make(&rng, 1 + i % NHOT_LAYER_TYPE_MAX, &c));
		m = mem_of(&c.t);
		rows = c.layer.batch * (c.layer.type == NHOT_LAYER_FC ? 1 :
					c.layer.type == NHOT_LAYER_ADD ? c.layer.in_h :
					c.shape.out_h);
		ASSERT_EQ(0, nhot_model_run(&c.layer, &m, &cfg, &table, &mc));
		/* every row, and more often in rows of more than 2^20 products */
		EXPECT_LE((int)rows, st.calls);
		if (c.shape.k && (uint64_t)c.shape.k * c.shape.output_bytes / rows <
				 NHOT_MODEL_STOP_WORK)
			EXPECT_EQ((int)rows, st.calls);
		if (c.layer.type == NHOT_LAYER_FC &&
		    (uint64_t)c.shape.k * c.layer.out_c >= NHOT_MODEL_STOP_WORK) {
			EXPECT_LT((int)rows, st.calls);
			long_rows++;
		}
		rows = st.calls;
		st.calls = 0;
		st.stop_at = 1 + layer_gen_below(&rng, rows);
		EXPECT_EQ(-ECANCELED, nhot_model_run(&c.layer, &m, &cfg, &table, &mc));
		EXPECT_EQ(st.stop_at, st.calls);
		cfg.pe_count = 0;
		EXPECT_EQ(-EINVAL, nhot_model_run(&c.layer, &m, &cfg, &table, &mc));
		layer_gen_free(&c);
	}
	(void)long_rows;	/* the generator rarely makes them: see the next test */
}

/* One FC row of 2^15 x 64 = 2^21 products: the hook runs inside it too. */
TEST(stop_hook_within_long_rows)
{
	struct nhot_layer l = {
		.type = NHOT_LAYER_FC, .batch = 1, .in_h = 4, .in_w = 1, .in_c = NHOT_MAX_K / 4,
		.out_c = 64, .w_n = 1, .w_b = 2, .act_max = 255,
	};
	struct nhot_model_shape ms;
	struct nhot_model_counters mc;
	struct stop_state st = { 0, 0 };
	struct nhot_model_cfg cfg = { PE_COUNT, stop_after, &st };
	struct nhot_model_mem m = { 0 };
	struct nhot_chan_params *p;
	uint32_t o;

	ASSERT_EQ(0, nhot_model_check(&l, &ms));
	m.input = calloc(1, ms.input_bytes);
	m.input_len = ms.input_bytes;
	m.weights = calloc(1, ms.weight_bytes);	/* code 0: -1 */
	m.weights_len = ms.weight_bytes;
	p = calloc(l.out_c, sizeof(*p));
	for (o = 0; o < l.out_c; o++)
		p[o].shift = 1;
	m.params = (const uint8_t *)p;
	m.params_len = ms.params_bytes;
	m.output = calloc(1, ms.output_bytes);
	m.output_len = ms.output_bytes;
	ASSERT_TRUE(m.input && m.weights && m.output);

	ASSERT_EQ(0, nhot_model_run(&l, &m, &cfg, &table, &mc));
	EXPECT_EQ(3, st.calls);		/* row start, after 2^20 and 2^21 products */
	EXPECT_EQ(ms.macs, mc.macs);
	st.calls = 0;
	st.stop_at = 2;
	EXPECT_EQ(-ECANCELED, nhot_model_run(&l, &m, &cfg, &table, &mc));
	EXPECT_EQ((uint64_t)NHOT_MODEL_STOP_WORK, mc.macs);	/* stopped mid-row */
	free((void *)m.input);
	free((void *)m.weights);
	free(p);
	free(m.output);
}

TEST_HARNESS_MAIN
