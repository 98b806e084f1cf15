// SPDX-License-Identifier: MIT
/*
 * libnhot contexts on the host: choosing the engine (argument, $NHOT_DEVICE,
 * /dev/nhot0, CPU), clean errors for files that are no engine, buffers, and
 * the CPU backend's job contract, which is the driver's (docs/uapi.md):
 * bad references, held-job limit, unknown ids, failed jobs, and results bit
 * for bit equal to nhot_ref_run().
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The harness's own callbacks and TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "layer_gen.h"
#include "nhot.h"

/* ---------------------------------------------------------------------- */
/* Random jobs with valid data                                            */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: deterministic per seed, so a failure is reproducible. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rng_next(s) % (hi - lo + 1));
}

/* A job with its own buffers: input, input2, weights, params, output. */
struct test_job {
	struct nhot_job_desc desc;
	struct nhot_buf *bufs[5];
	struct nhot_layer_shape shape;
};

static struct nhot_ref *job_ref(struct nhot_job_desc *d, int i)
{
	struct nhot_ref *refs[5] = { &d->input, &d->input2, &d->weights, &d->params, &d->output };

	return refs[i];
}

/* Random packed weights: every code valid. */
static int fill_weights(uint8_t *dst, const struct nhot_layer *l,
			const struct nhot_layer_shape *sh, uint64_t *s)
{
	int16_t set[NHOT_SET_MAX];
	size_t count = (size_t)l->out_c * sh->k;
	int8_t *q = malloc(count);
	int size, ret;

	if (!q)
		return -ENOMEM;
	size = nhot_set_values(l->w_n, l->w_b, set, NHOT_SET_MAX);
	if (size < 0) {
		free(q);
		return size;
	}
	for (size_t i = 0; i < count; i++)
		q[i] = (int8_t)set[rng_next(s) % (uint64_t)size];
	ret = nhot_pack(l->w_n, l->w_b, q, l->out_c, sh->k, dst, sh->weight_bytes);
	free(q);
	return ret;
}

static void fill_params(struct nhot_chan_params *p, uint32_t out_c, uint64_t *s)
{
	for (uint32_t c = 0; c < out_c; c++) {
		p[c].bias = (int32_t)rng_range(s, 0, 200000) - 100000;
		p[c].mult = rng_range(s, 1U << 30, 0x7fffffff);
		p[c].shift = rng_range(s, 30, 44);
	}
}

/*
 * Allocates the buffers of a layer in ctx (each with slack and at an offset,
 * so offsets are exercised) and fills them with valid random data.
 */
static int job_make(struct nhot_ctx *ctx, const struct nhot_layer *layer,
		    uint64_t seed, struct test_job *j)
{
	uint64_t s = seed | 1;
	uint64_t bytes[5];
	int ret;

	memset(j, 0, sizeof(*j));
	j->desc.layer = *layer;
	ret = nhot_layer_check(layer, &j->shape);
	if (ret)
		return ret;
	bytes[0] = j->shape.input_bytes;
	bytes[1] = layer->type == NHOT_LAYER_ADD ? j->shape.input2_bytes : 0;
	bytes[2] = j->shape.weight_bytes;
	bytes[3] = j->shape.params_bytes;
	bytes[4] = j->shape.output_bytes;
	for (int i = 0; i < 5; i++) {
		uint64_t off = i == 3 ? 4 * rng_range(&s, 0, 3) : rng_range(&s, 0, 7);
		uint8_t *data;

		if (!bytes[i])
			continue;
		ret = nhot_buf_alloc(ctx, bytes[i] + off, &j->bufs[i]);
		if (ret)
			return ret;
		job_ref(&j->desc, i)->buf = j->bufs[i];
		job_ref(&j->desc, i)->offset = off;
		data = (uint8_t *)nhot_buf_data(j->bufs[i]) + off;
		if (i == 2)
			ret = fill_weights(data, layer, &j->shape, &s);
		else if (i == 3)
			fill_params((struct nhot_chan_params *)data, layer->out_c, &s);
		else
			for (uint64_t b = 0; b < bytes[i]; b++)
				data[b] = (uint8_t)rng_next(&s);
		if (ret)
			return ret;
	}
	return 0;
}

static void job_free(struct test_job *j)
{
	for (int i = 0; i < 5; i++)
		nhot_buf_free(j->bufs[i]);
	memset(j, 0, sizeof(*j));
}

static const uint8_t *ref_ptr(const struct nhot_ref *r)
{
	return r->buf ? (const uint8_t *)nhot_buf_data(r->buf) + r->offset : NULL;
}

/* The reference's output and counters for a job, into a fresh out. */
static int job_reference(const struct test_job *j, uint8_t *out, struct nhot_counters *c)
{
	struct nhot_chan_params *params = NULL;
	struct nhot_tensors t = { 0 };
	int ret;

	t.input = ref_ptr(&j->desc.input);
	t.input_len = j->shape.input_bytes;
	t.input2 = ref_ptr(&j->desc.input2);
	t.input2_len = t.input2 ? j->shape.input2_bytes : 0;
	t.weights = ref_ptr(&j->desc.weights);
	t.weights_len = t.weights ? j->shape.weight_bytes : 0;
	if (j->desc.params.buf) {
		params = malloc(j->shape.params_bytes);
		if (!params)
			return -ENOMEM;
		memcpy(params, ref_ptr(&j->desc.params), j->shape.params_bytes);
		t.params = params;
		t.params_len = j->shape.params_bytes;
	}
	t.output = out;
	t.output_len = j->shape.output_bytes;
	ret = nhot_ref_run(&j->desc.layer, &t, c);
	free(params);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Layers of every type                                                    */

static struct nhot_layer layer_conv(uint32_t n, uint32_t h, uint32_t w, uint32_t cin,
				    uint32_t cout, uint32_t k, uint32_t stride, uint32_t pad,
				    uint32_t groups, uint32_t wn, uint32_t wb)
{
	struct nhot_layer l = {
		.type = NHOT_LAYER_CONV2D, .batch = n, .in_h = h, .in_w = w, .in_c = cin,
		.out_c = cout, .kernel_h = k, .kernel_w = k, .stride_h = stride,
		.stride_w = stride, .dilation_h = 1, .dilation_w = 1, .pad_top = pad,
		.pad_bottom = pad, .pad_left = pad, .pad_right = pad, .groups = groups,
		.w_n = wn, .w_b = wb, .in_zero = 7, .out_zero = 100, .act_min = 3,
		.act_max = 250,
	};
	return l;
}

static struct nhot_layer layer_fc(uint32_t n, uint32_t k, uint32_t cout, uint32_t wn, uint32_t wb)
{
	struct nhot_layer l = {
		.type = NHOT_LAYER_FC, .batch = n, .in_h = 1, .in_w = 1, .in_c = k,
		.out_c = cout, .w_n = wn, .w_b = wb, .in_zero = 128, .out_zero = 128,
		.act_min = 0, .act_max = 255,
	};
	return l;
}

static struct nhot_layer layer_add(uint32_t n, uint32_t h, uint32_t w, uint32_t c)
{
	struct nhot_layer l = {
		.type = NHOT_LAYER_ADD, .batch = n, .in_h = h, .in_w = w, .in_c = c,
		.in_zero = 3, .in2_zero = 250, .out_zero = 128, .act_min = 0, .act_max = 255,
		.add_mult_a = 1U << 29, .add_mult_b = 0x5fffffff, .add_shift = 31,
	};
	return l;
}

static struct nhot_layer layer_pool(uint32_t type, uint32_t h, uint32_t w, uint32_t c,
				    uint32_t k, uint32_t stride, uint32_t pad)
{
	struct nhot_layer l = {
		.type = type, .batch = 2, .in_h = h, .in_w = w, .in_c = c,
		.kernel_h = k, .kernel_w = k, .stride_h = stride, .stride_w = stride,
		.pad_top = pad, .pad_bottom = pad, .pad_left = pad, .pad_right = pad,
		.act_min = 10, .act_max = 240,
	};
	if (type == NHOT_LAYER_GLOBAL_AVGPOOL) {
		/* The whole plane is the window: no kernel, stride or padding. */
		l = (struct nhot_layer){
			.type = type, .batch = 2, .in_h = h, .in_w = w, .in_c = c,
			.act_min = 10, .act_max = 240,
		};
	}
	return l;
}

#define MIXED_COUNT 9

static void mixed_layers(struct nhot_layer l[MIXED_COUNT])
{
	l[0] = layer_conv(2, 9, 7, 6, 8, 3, 1, 1, 1, 2, 8);
	l[1] = layer_conv(1, 12, 12, 8, 8, 3, 2, 2, 8, 1, 4);	/* depthwise */
	l[2] = layer_conv(1, 5, 6, 4, 6, 2, 1, 0, 2, 4, 8);	/* grouped, uniform 8 bit */
	l[3] = layer_fc(3, 200, 17, 3, 8);
	l[4] = layer_add(2, 5, 3, 7);
	l[5] = layer_pool(NHOT_LAYER_AVGPOOL, 7, 9, 5, 3, 2, 1);
	l[6] = layer_pool(NHOT_LAYER_GLOBAL_AVGPOOL, 6, 5, 9, 0, 0, 0);
	l[7] = layer_pool(NHOT_LAYER_MAXPOOL, 8, 8, 3, 2, 2, 1);
	l[8] = layer_fc(1, 1, 1, 1, 2);				/* the smallest */
}

/* ---------------------------------------------------------------------- */
/* Choosing the engine                                                     */

TEST(open_cpu_explicit)
{
	struct nhot_ctx *ctx = NULL;

	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	EXPECT_STREQ("cpu", nhot_ctx_device(ctx));
	EXPECT_EQ(0, nhot_ctx_is_device(ctx));
	nhot_close(ctx);
}

TEST(open_env_cpu)
{
	struct nhot_ctx *ctx = NULL;

	ASSERT_EQ(0, setenv("NHOT_DEVICE", "cpu", 1));
	ASSERT_EQ(0, nhot_open(NULL, &ctx));
	EXPECT_STREQ("cpu", nhot_ctx_device(ctx));
	EXPECT_EQ(0, nhot_ctx_is_device(ctx));
	nhot_close(ctx);
}

TEST(open_env_nonexistent)
{
	struct nhot_ctx *ctx = (struct nhot_ctx *)&ctx;

	ASSERT_EQ(0, setenv("NHOT_DEVICE", "/nonexistent", 1));
	EXPECT_EQ(-ENOENT, nhot_open(NULL, &ctx));
	EXPECT_EQ(NULL, ctx);
	/* An explicit argument wins over the environment. */
	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	nhot_close(ctx);
}

TEST(open_path_nonexistent)
{
	struct nhot_ctx *ctx = NULL;

	EXPECT_EQ(-ENOENT, nhot_open("/nonexistent/nhot0", &ctx));
	EXPECT_EQ(NULL, ctx);
}

TEST(open_not_an_engine)
{
	char path[] = "/tmp/test_ctx.XXXXXX";
	struct nhot_ctx *ctx = NULL;
	int fd;

	/* A character device of another driver. */
	EXPECT_EQ(-ENOTTY, nhot_open("/dev/null", &ctx));
	EXPECT_EQ(NULL, ctx);
	ASSERT_EQ(0, setenv("NHOT_DEVICE", "/dev/zero", 1));
	EXPECT_EQ(-ENOTTY, nhot_open(NULL, &ctx));
	/* A regular file and a directory. */
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENOTTY, nhot_open(path, &ctx));
	unlink(path);
	EXPECT_EQ(-EISDIR, nhot_open("/", &ctx));
	EXPECT_EQ(NULL, ctx);
}

TEST(open_default)
{
	struct nhot_ctx *ctx = NULL;

	ASSERT_EQ(0, unsetenv("NHOT_DEVICE"));
	if (access("/dev/nhot0", F_OK) == 0)
		SKIP(return, "/dev/nhot0 exists: the default is the device");
	ASSERT_EQ(0, nhot_open(NULL, &ctx));
	EXPECT_STREQ("cpu", nhot_ctx_device(ctx));
	nhot_close(ctx);
	/* An empty $NHOT_DEVICE is unset. */
	ASSERT_EQ(0, setenv("NHOT_DEVICE", "", 1));
	ASSERT_EQ(0, nhot_open(NULL, &ctx));
	EXPECT_STREQ("cpu", nhot_ctx_device(ctx));
	nhot_close(ctx);
}

TEST(open_bad_arguments)
{
	struct nhot_ctx *ctx = NULL;

	EXPECT_EQ(-EINVAL, nhot_open("cpu", NULL));
	EXPECT_EQ(-EINVAL, nhot_open("", &ctx));
	EXPECT_EQ(NULL, ctx);
	/* NULL is safe wherever a context or buffer is taken. */
	nhot_close(NULL);
	nhot_buf_free(NULL);
	EXPECT_EQ(NULL, nhot_ctx_device(NULL));
	EXPECT_EQ(0, nhot_ctx_is_device(NULL));
	EXPECT_EQ(NULL, nhot_buf_data(NULL));
	EXPECT_EQ(0U, nhot_buf_length(NULL));
}

/* ---------------------------------------------------------------------- */
/* Buffers                                                                 */

TEST(buffers)
{
	static const size_t lengths[] = { 1, 63, 64, 65, 4096, 4097, 1 << 20 };
	struct nhot_buf *bufs[7], *b = (struct nhot_buf *)&b;
	struct nhot_ctx *ctx;

	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	EXPECT_EQ(-EINVAL, nhot_buf_alloc(ctx, 0, &b));
	EXPECT_EQ(NULL, b);
	EXPECT_EQ(-EINVAL, nhot_buf_alloc(NULL, 16, &b));
	EXPECT_EQ(-EINVAL, nhot_buf_alloc(ctx, 16, NULL));
	EXPECT_EQ(-ENOMEM, nhot_buf_alloc(ctx, SIZE_MAX, &b));
	for (int i = 0; i < 7; i++) {
		uint8_t *d;
		size_t nonzero = 0;

		ASSERT_EQ(0, nhot_buf_alloc(ctx, lengths[i], &bufs[i]));
		d = nhot_buf_data(bufs[i]);
		ASSERT_NE(NULL, d);
		EXPECT_EQ(lengths[i], nhot_buf_length(bufs[i]));
		EXPECT_EQ(0U, (uintptr_t)d % 64);
		for (size_t k = 0; k < lengths[i]; k++)
			nonzero += d[k] != 0;
		EXPECT_EQ(0U, nonzero);
		memset(d, 0xa5, lengths[i]);
	}
	/* Free some in another order; nhot_close() frees the rest (ASan checks). */
	nhot_buf_free(bufs[3]);
	nhot_buf_free(bufs[0]);
	nhot_buf_free(bufs[6]);
	nhot_close(ctx);
}

/* ---------------------------------------------------------------------- */
/* Jobs on the CPU backend                                                 */

FIXTURE(cpu) {
	struct nhot_ctx *ctx;
	struct test_job jobs[MIXED_COUNT];
};

FIXTURE_SETUP(cpu)
{
	struct nhot_layer layers[MIXED_COUNT];

	ASSERT_EQ(0, nhot_open("cpu", &self->ctx));
	mixed_layers(layers);
	for (int i = 0; i < MIXED_COUNT; i++) {
		ASSERT_EQ(0, job_make(self->ctx, &layers[i], 1000 + i, &self->jobs[i]));
	}
}

FIXTURE_TEARDOWN(cpu)
{
	/* Some buffers freed by hand, the rest by nhot_close(). */
	job_free(&self->jobs[0]);
	nhot_close(self->ctx);
}

/* Each output and counter equals the reference's. */
static void check_against_ref(struct __test_metadata *_metadata, struct test_job *jobs,
			      const struct nhot_result *res, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		struct nhot_counters c = { 0 };
		size_t len = jobs[i].shape.output_bytes;
		uint8_t *expect = malloc(len);

		ASSERT_NE(NULL, expect);
		ASSERT_EQ(0, job_reference(&jobs[i], expect, &c));
		EXPECT_EQ((uint32_t)NHOT_JOB_DONE, res[i].status) TH_LOG("job %u", i);
		EXPECT_EQ(0, res[i].error);
		EXPECT_EQ(c.macs, res[i].macs) TH_LOG("job %u", i);
		EXPECT_EQ(c.shift_adds, res[i].shift_adds) TH_LOG("job %u", i);
		EXPECT_EQ(0U, res[i].cycles);
		EXPECT_EQ(0, memcmp(expect, ref_ptr(&jobs[i].desc.output), len))
			TH_LOG("job %u (type %u) differs from nhot_ref_run", i,
			       jobs[i].desc.layer.type);
		free(expect);
	}
}

TEST_F(cpu, mixed_batch_equals_reference)
{
	struct nhot_job_desc descs[MIXED_COUNT];
	struct nhot_result res[MIXED_COUNT];
	uint64_t ids[MIXED_COUNT], first;

	for (int i = 0; i < MIXED_COUNT; i++)
		descs[i] = self->jobs[i].desc;
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, MIXED_COUNT, &first));
	EXPECT_EQ(1U, first);
	/* Wait in another order than submitted. */
	for (int i = 0; i < MIXED_COUNT; i++)
		ids[i] = first + MIXED_COUNT - 1 - i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, MIXED_COUNT, 0, res));
	for (int i = 0; i < MIXED_COUNT / 2; i++) {
		struct nhot_result t = res[i];

		res[i] = res[MIXED_COUNT - 1 - i];
		res[MIXED_COUNT - 1 - i] = t;
	}
	check_against_ref(_metadata, self->jobs, res, MIXED_COUNT);
}

TEST_F(cpu, run_one_by_one)
{
	struct nhot_result res[MIXED_COUNT];

	for (int i = 0; i < MIXED_COUNT; i++) {
		ASSERT_EQ(0, nhot_run(self->ctx, &self->jobs[i].desc, &res[i]));
	}
	check_against_ref(_metadata, self->jobs, res, MIXED_COUNT);
}

TEST_F(cpu, ids_are_never_reused)
{
	struct nhot_job_desc bad = self->jobs[8].desc;
	uint64_t a, b, c, ids[3];

	ASSERT_EQ(0, nhot_submit(self->ctx, &self->jobs[8].desc, 1, &a));
	ASSERT_EQ(0, nhot_wait(self->ctx, &a, 1, -1, NULL));
	ASSERT_EQ(0, nhot_submit(self->ctx, &self->jobs[8].desc, 1, &b));
	EXPECT_EQ(a + 1, b);
	/* A refused batch takes no id. */
	bad.layer.type = 99;
	EXPECT_EQ(-EOPNOTSUPP, nhot_submit(self->ctx, &bad, 1, &c));
	ASSERT_EQ(0, nhot_submit(self->ctx, &self->jobs[8].desc, 1, &c));
	EXPECT_LT(b, c);
	ids[0] = b;
	ids[1] = c;
	ids[2] = b;	/* a repeated id reads the same result */
	EXPECT_EQ(0, nhot_wait(self->ctx, ids, 3, -1, NULL));
	/* Released: unknown from now on. */
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &a, 1, -1, NULL));
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &c, 1, -1, NULL));
}

TEST_F(cpu, wait_unknown_ids)
{
	struct nhot_result res[2];
	uint64_t ids[2], id;

	EXPECT_EQ(-EINVAL, nhot_wait(self->ctx, NULL, 1, -1, NULL));
	EXPECT_EQ(-EINVAL, nhot_wait(self->ctx, &id, 0, -1, NULL));
	EXPECT_EQ(-EINVAL, nhot_wait(NULL, &id, 1, -1, NULL));
	id = 1;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &id, 1, -1, NULL));
	id = 0;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &id, 1, -1, NULL));
	id = UINT64_MAX;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &id, 1, -1, NULL));

	/* One unknown id among known ones: nothing is released. */
	ASSERT_EQ(0, nhot_submit(self->ctx, &self->jobs[4].desc, 1, &ids[0]));
	ids[1] = ids[0] + 1;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 2, -1, res));
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, 1, -1, res));
	check_against_ref(_metadata, &self->jobs[4], res, 1);
}

TEST_F(cpu, submit_bad_arguments)
{
	uint64_t id;

	EXPECT_EQ(-EINVAL, nhot_submit(self->ctx, &self->jobs[1].desc, 0, &id));
	EXPECT_EQ(-EINVAL, nhot_submit(self->ctx, NULL, 1, &id));
	EXPECT_EQ(-EINVAL, nhot_submit(self->ctx, &self->jobs[1].desc, 1, NULL));
	EXPECT_EQ(-EINVAL, nhot_submit(NULL, &self->jobs[1].desc, 1, &id));
	EXPECT_EQ(-EINVAL, nhot_run(self->ctx, NULL, NULL));
}

/*
 * Each case breaks one thing of a valid job; put last in a batch of valid
 * ones, it must refuse the whole batch before any job runs.
 */
TEST_F(cpu, bad_buffers_refuse_the_batch)
{
	struct nhot_ctx *other;
	struct nhot_buf *foreign, *spare;
	struct nhot_job_desc batch[3];
	struct test_job *conv = &self->jobs[0], *add = &self->jobs[4];
	uint8_t *out0 = (uint8_t *)nhot_buf_data(conv->desc.output.buf) + conv->desc.output.offset;
	size_t out0_len = conv->shape.output_bytes;
	uint8_t *before = malloc(out0_len);
	uint64_t id;

	ASSERT_NE(NULL, before);
	memcpy(before, out0, out0_len);
	ASSERT_EQ(0, nhot_open("cpu", &other));
	ASSERT_EQ(0, nhot_buf_alloc(other, 1 << 16, &foreign));
	ASSERT_EQ(0, nhot_buf_alloc(self->ctx, 1 << 16, &spare));

	for (int c = 0; c < 12; c++) {
		struct nhot_job_desc j = c < 6 ? conv->desc : add->desc;
		int expect;

		switch (c) {
		case 0:	/* a buffer of another context */
			j.weights.buf = foreign;
			expect = -EINVAL;
			break;
		case 1:	/* a missing buffer the layer needs */
			j.params.buf = NULL;
			j.params.offset = 0;
			expect = -ENOENT;
			break;
		case 2:	/* a buffer the layer does not use */
			j.input2.buf = spare;
			expect = -EINVAL;
			break;
		case 3:	/* one byte beyond the weights' buffer */
			j.weights.offset = nhot_buf_length(j.weights.buf) -
					   conv->shape.weight_bytes + 1;
			expect = -ERANGE;
			break;
		case 4:	/* offset + bytes overflowing u64 */
			j.output.offset = UINT64_MAX - 2;
			expect = -ERANGE;
			break;
		case 5:	/* a bad descriptor: groups not dividing the channels */
			j.layer.groups = 5;
			expect = -EINVAL;
			break;
		case 6:	/* an offset without a buffer */
			j.weights.offset = 8;
			expect = -EINVAL;
			break;
		case 7:	/* ADD without its second input */
			j.input2.buf = NULL;
			j.input2.offset = 0;
			expect = -ENOENT;
			break;
		case 8:	/* ADD given weights */
			j.weights.buf = spare;
			expect = -EINVAL;
			break;
		case 9:	/* the output at the very end, one byte short */
			j.output.offset = nhot_buf_length(j.output.buf) -
					  add->shape.output_bytes + 1;
			expect = -ERANGE;
			break;
		case 10:	/* an input of another context */
			j.input.buf = foreign;
			j.input.offset = 0;
			expect = -EINVAL;
			break;
		default:	/* beyond the limits */
			j.layer.batch = NHOT_MAX_BATCH + 1;
			expect = -EOVERFLOW;
			break;
		}
		batch[0] = conv->desc;
		batch[1] = add->desc;
		batch[2] = j;
		EXPECT_EQ(expect, nhot_submit(self->ctx, batch, 3, &id)) TH_LOG("case %d", c);
		EXPECT_EQ(expect, nhot_run(self->ctx, &j, NULL)) TH_LOG("case %d", c);
	}
	/* Nothing ran: the first job's output is untouched and no id was taken. */
	EXPECT_EQ(0, memcmp(before, out0, out0_len));
	ASSERT_EQ(0, nhot_submit(self->ctx, &conv->desc, 1, &id));
	EXPECT_EQ(1U, id);
	ASSERT_EQ(0, nhot_wait(self->ctx, &id, 1, -1, NULL));
	nhot_close(other);	/* frees foreign */
	free(before);
}

/* A job whose data is bad fails on the engine, with the documented error. */
TEST_F(cpu, failing_jobs)
{
	struct test_job *fc = &self->jobs[3];
	struct nhot_chan_params *p = (struct nhot_chan_params *)
		((uint8_t *)nhot_buf_data(fc->desc.params.buf) + fc->desc.params.offset);
	uint8_t *w = (uint8_t *)nhot_buf_data(self->jobs[1].desc.weights.buf) +
		     self->jobs[1].desc.weights.offset;
	struct nhot_job_desc batch[3];
	struct nhot_result res[3];
	uint64_t ids[3], first;
	int32_t bias;

	/* Job 1 is n=1, b=4: |S| = 7, 3-bit codes; code 7 is invalid. */
	ASSERT_EQ(7, nhot_set_size(1, 4));
	w[0] |= 7;
	EXPECT_EQ(-EILSEQ, nhot_run(self->ctx, &self->jobs[1].desc, &res[0]));
	EXPECT_EQ((uint32_t)NHOT_JOB_FAILED, res[0].status);
	EXPECT_EQ(-EILSEQ, res[0].error);

	bias = p[0].bias;
	p[0].bias = NHOT_MAX_BIAS + 1;
	EXPECT_EQ(-EOVERFLOW, nhot_run(self->ctx, &fc->desc, &res[0]));
	EXPECT_EQ((uint32_t)NHOT_JOB_FAILED, res[0].status);
	EXPECT_EQ(-EOVERFLOW, res[0].error);

	/* A failed job does not stop the jobs behind it. */
	batch[0] = self->jobs[1].desc;
	batch[1] = self->jobs[4].desc;
	batch[2] = fc->desc;
	ASSERT_EQ(0, nhot_submit(self->ctx, batch, 3, &first));
	for (int i = 0; i < 3; i++)
		ids[i] = first + i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, 3, -1, res));
	EXPECT_EQ((uint32_t)NHOT_JOB_FAILED, res[0].status);
	EXPECT_EQ(-EILSEQ, res[0].error);
	check_against_ref(_metadata, &self->jobs[4], &res[1], 1);
	EXPECT_EQ(-EOVERFLOW, res[2].error);

	p[0].bias = -NHOT_MAX_BIAS;	/* the limit itself is valid */
	ASSERT_EQ(0, nhot_run(self->ctx, &fc->desc, &res[0]));
	check_against_ref(_metadata, fc, res, 1);
	p[0].bias = bias;
}

/* The held-job limit of the driver (max_jobs 4096), and its release. */
TEST_F(cpu, held_job_limit)
{
	const unsigned int max = 4096;
	struct nhot_job_desc *many = calloc(max, sizeof(*many));
	uint64_t *ids = calloc(max, sizeof(*ids));
	uint64_t first, id;

	ASSERT_NE(NULL, many);
	ASSERT_NE(NULL, ids);
	for (unsigned int i = 0; i < max; i++)
		many[i] = self->jobs[8].desc;
	ASSERT_EQ(0, nhot_submit(self->ctx, many, max - 1, &first));
	EXPECT_EQ(-EBUSY, nhot_submit(self->ctx, many, 2, &id));
	ASSERT_EQ(0, nhot_submit(self->ctx, many, 1, &id));
	EXPECT_EQ(first + max - 1, id);
	EXPECT_EQ(-EBUSY, nhot_submit(self->ctx, many, 1, &id));
	for (unsigned int i = 0; i < max; i++)
		ids[i] = first + i;
	/* Releasing half makes room for half. */
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, max / 2, -1, NULL));
	EXPECT_EQ(-EBUSY, nhot_submit(self->ctx, many, max / 2 + 1, &id));
	ASSERT_EQ(0, nhot_submit(self->ctx, many, max / 2, &id));
	ASSERT_EQ(0, nhot_wait(self->ctx, ids + max / 2, max / 2, -1, NULL));
	for (unsigned int i = 0; i < max / 2; i++)
		ids[i] = id + i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, max / 2, -1, NULL));
	free(many);
	free(ids);
}

/* The params of a job may sit at any byte offset. */
TEST_F(cpu, unaligned_params)
{
	struct test_job *conv = &self->jobs[0];
	struct nhot_buf *moved;
	struct nhot_result res;
	uint8_t *src = (uint8_t *)nhot_buf_data(conv->desc.params.buf) + conv->desc.params.offset;

	ASSERT_EQ(0, nhot_buf_alloc(self->ctx, conv->shape.params_bytes + 3, &moved));
	memcpy((uint8_t *)nhot_buf_data(moved) + 3, src, conv->shape.params_bytes);
	nhot_buf_free(conv->desc.params.buf);
	conv->bufs[3] = moved;
	conv->desc.params.buf = moved;
	conv->desc.params.offset = 3;
	ASSERT_EQ(0, nhot_run(self->ctx, &conv->desc, &res));
	check_against_ref(_metadata, conv, &res, 1);
}

/*
 * Random layers of every type (layer_gen), copied into context buffers at
 * odd offsets, as one batch: each output and counter equals the reference's
 * on the generator's own buffers.
 */
TEST_F(cpu, random_batch_equals_reference)
{
	enum { COUNT = 200 };
	struct layer_gen_case *cases = calloc(COUNT, sizeof(*cases));
	struct nhot_job_desc *descs = calloc(COUNT, sizeof(*descs));
	struct nhot_result *res = calloc(COUNT, sizeof(*res));
	uint64_t *ids = calloc(COUNT, sizeof(*ids));
	struct layer_gen_rng rng;
	uint64_t first;
	int bad = 0;

	ASSERT_NE(NULL, cases);
	ASSERT_NE(NULL, descs);
	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	layer_gen_seed(&rng, 0x63747874);
	for (unsigned int i = 0; i < COUNT; i++) {
		struct layer_gen_case *c = &cases[i];
		const void *src[5];
		uint64_t bytes[5];

		ASSERT_EQ(0, layer_gen_make(&rng, 0, c));
		src[0] = c->input;
		src[1] = c->input2;
		src[2] = c->weights;
		src[3] = c->params;
		src[4] = c->output;
		bytes[0] = c->shape.input_bytes;
		bytes[1] = c->shape.input2_bytes;
		bytes[2] = c->shape.weight_bytes;
		bytes[3] = c->shape.params_bytes;
		bytes[4] = c->shape.output_bytes;
		descs[i].layer = c->layer;
		for (int k = 0; k < 5; k++) {
			uint64_t off = layer_gen_below(&rng, 3) ? 0 : layer_gen_below(&rng, 65);
			struct nhot_buf *b;

			if (!src[k])
				continue;
			ASSERT_EQ(0, nhot_buf_alloc(self->ctx, off + bytes[k], &b));
			memcpy((uint8_t *)nhot_buf_data(b) + off, src[k], bytes[k]);
			job_ref(&descs[i], k)->buf = b;
			job_ref(&descs[i], k)->offset = off;
		}
	}
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, COUNT, &first));
	for (unsigned int i = 0; i < COUNT; i++)
		ids[i] = first + i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, COUNT, -1, res));
	for (unsigned int i = 0; i < COUNT; i++) {
		struct layer_gen_case *c = &cases[i];
		struct nhot_counters cnt = { 0 };
		int ret = nhot_ref_run(&c->layer, &c->t, &cnt);
		char desc[320];

		layer_gen_describe(&c->layer, desc, sizeof(desc));
		if (ret) {
			if (res[i].status != NHOT_JOB_FAILED || res[i].error != ret) {
				bad++;
				TH_LOG("case %u: reference %d, context %u/%d: %s", i, ret,
				       res[i].status, res[i].error, desc);
			}
		} else if (res[i].status != NHOT_JOB_DONE || res[i].macs != cnt.macs ||
			   res[i].shift_adds != cnt.shift_adds ||
			   memcmp(ref_ptr(&descs[i].output), c->output, c->shape.output_bytes)) {
			bad++;
			TH_LOG("case %u differs from nhot_ref_run: %s", i, desc);
		}
		/* The buffers are left to nhot_close(). */
		layer_gen_free(c);
	}
	EXPECT_EQ(0, bad);
	free(cases);
	free(descs);
	free(res);
	free(ids);
}

struct thread_arg {
	struct nhot_ctx *ctx;
	struct test_job *job;
	int failures;
};

static void *submit_wait_loop(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 200; i++) {
		struct nhot_result res;

		if (nhot_run(a->ctx, &a->job->desc, &res) || res.status != NHOT_JOB_DONE)
			a->failures++;
	}
	return NULL;
}

/* Threads sharing one context: buffers and jobs stay consistent. */
TEST_F(cpu, threads_share_a_context)
{
	struct thread_arg args[3];
	pthread_t th[3];
	struct nhot_result res;

	for (int t = 0; t < 3; t++) {
		args[t].ctx = self->ctx;
		args[t].job = &self->jobs[4 + t];
		args[t].failures = 0;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, submit_wait_loop, &args[t]));
	}
	for (int i = 0; i < 50; i++) {
		struct nhot_buf *b;

		ASSERT_EQ(0, nhot_buf_alloc(self->ctx, 100 + i, &b));
		nhot_buf_free(b);
	}
	for (int t = 0; t < 3; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, args[t].failures);
	}
	for (int t = 0; t < 3; t++) {
		ASSERT_EQ(0, nhot_run(self->ctx, &self->jobs[4 + t].desc, &res));
		check_against_ref(_metadata, &self->jobs[4 + t], &res, 1);
	}
}

TEST_HARNESS_MAIN
