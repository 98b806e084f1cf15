// SPDX-License-Identifier: GPL-2.0
/*
 * Every layer type on /dev/nhotN through libnhot's context API, bit for bit
 * against nhot_ref_run() (the oracle of docs/arith.md) and nhot_cpu_run()
 * (the fast fallback), over many random shapes from layer_gen and explicit
 * boundary cases: outputs, the per-job counters macs and shift_adds, job
 * errors, batches of hundreds of jobs and batches split by the library.
 *
 * The device is $NHOT_DEVICE, else /dev/nhot0; without one every test skips.
 * NHOT_DEVICE=cpu runs the same tests on the CPU backend (a dry run of the
 * test itself on the host; the device-only tests skip).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * The harness's own callbacks and TEST() wrappers leave parameters unused,
 * and its fixture wrapper keeps a pid across setjmp() that gcc cannot prove safe.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"
#include "nhot.h"
#include "nhot_engine.h"

/*
 * The random layer generator is a helper of the host tests; a selftest is
 * built from its one source (selftests/rules.mk), so it is compiled in here.
 */
#include "../../../userlib/tests/layer_gen.c"

/* The device of this test's variant: set by the fixture's setup. */
static char test_path[32] = "/dev/nhot0";

static const char *test_device(void)
{
	return test_path;
}

/* ---------------------------------------------------------------------- */
/* A generated case, on the device                                         */

/**
 * struct dev_case - a layer_gen case copied into device buffers
 * @gen: the case; gen.output holds the reference's output
 * @ref_ret: what nhot_ref_run() returned (0, or the error the job must end with)
 * @ref: the reference's counters
 * @bufs: the device buffers of input, input2, weights, params, output
 * @desc: the job over @bufs
 */
struct dev_case {
	struct layer_gen_case gen;
	int ref_ret;
	struct nhot_counters ref;
	struct nhot_buf *bufs[5];
	struct nhot_job_desc desc;
};

static struct nhot_ref *desc_ref(struct nhot_job_desc *d, int i)
{
	struct nhot_ref *refs[5] = { &d->input, &d->input2, &d->weights, &d->params, &d->output };

	return refs[i];
}

static void dev_case_free(struct dev_case *dc)
{
	for (int i = 0; i < 5; i++)
		nhot_buf_free(dc->bufs[i]);
	layer_gen_free(&dc->gen);
	memset(dc, 0, sizeof(*dc));
}

/*
 * Copies the case into buffers of ctx, most at offset 0 and some at an odd
 * offset with slack behind, and computes the reference output in place.
 */
static int dev_case_load(struct nhot_ctx *ctx, struct layer_gen_rng *rng, struct dev_case *dc)
{
	struct layer_gen_case *c = &dc->gen;
	const void *src[5] = { c->input, c->input2, c->weights, c->params, c->output };
	uint64_t bytes[5] = {
		c->shape.input_bytes, c->shape.input2_bytes, c->shape.weight_bytes,
		c->shape.params_bytes, c->shape.output_bytes,
	};
	int ret;

	for (int i = 0; i < 5; i++) {
		uint64_t off = layer_gen_below(rng, 4) ? 0 : 1 + layer_gen_below(rng, 99);
		uint64_t slack = layer_gen_below(rng, 2) ? 0 : layer_gen_below(rng, 64);
		uint8_t *data;

		if (!src[i])
			continue;
		ret = nhot_buf_alloc(ctx, off + bytes[i] + slack, &dc->bufs[i]);
		if (ret)
			return ret;
		data = nhot_buf_data(dc->bufs[i]);
		/* The output starts as garbage the engine must overwrite. */
		memset(data, 0x5a, off + bytes[i] + slack);
		memcpy(data + off, src[i], bytes[i]);
		desc_ref(&dc->desc, i)->buf = dc->bufs[i];
		desc_ref(&dc->desc, i)->offset = off;
	}
	dc->desc.layer = c->layer;
	memset(&dc->ref, 0, sizeof(dc->ref));
	dc->ref_ret = nhot_ref_run(&c->layer, &c->t, &dc->ref);
	return 0;
}

static int dev_case_make(struct nhot_ctx *ctx, struct layer_gen_rng *rng, uint32_t type,
			 struct dev_case *dc)
{
	int ret;

	memset(dc, 0, sizeof(*dc));
	ret = layer_gen_make(rng, type, &dc->gen);
	if (ret)
		return ret;
	return dev_case_load(ctx, rng, dc);
}

/* The fast fallback on the same case must give the reference's bits too. */
static int cpu_matches_ref(const struct dev_case *dc)
{
	const struct layer_gen_case *c = &dc->gen;
	struct nhot_counters cnt = { 0 };
	struct nhot_tensors t = c->t;
	uint8_t *out = malloc(c->shape.output_bytes);
	int ret, same;

	if (!out)
		return 0;
	memset(out, 0xa5, c->shape.output_bytes);
	t.output = out;
	ret = nhot_cpu_run(&c->layer, &t, &cnt);
	same = ret == dc->ref_ret &&
	       (ret || (cnt.macs == dc->ref.macs && cnt.shift_adds == dc->ref.shift_adds &&
			!memcmp(out, c->output, c->shape.output_bytes)));
	free(out);
	return same;
}

static const uint8_t *dev_output(const struct dev_case *dc)
{
	return (const uint8_t *)nhot_buf_data(dc->desc.output.buf) + dc->desc.output.offset;
}

/* Checks one finished job against its case; returns the number of mismatches. */
static int check_case(struct __test_metadata *_metadata, const char *what, unsigned int idx,
		      const struct dev_case *dc, const struct nhot_result *res)
{
	const struct layer_gen_case *c = &dc->gen;
	char desc[320];
	int bad = 0;

	layer_gen_describe(&c->layer, desc, sizeof(desc));
	if (!cpu_matches_ref(dc)) {
		bad++;
		TH_LOG("%s %u: nhot_cpu_run differs from nhot_ref_run: %s", what, idx, desc);
	}
	if (dc->ref_ret) {
		if (res->status != NHOT_JOB_FAILED || res->error != dc->ref_ret) {
			bad++;
			TH_LOG("%s %u: device status %u error %d, reference error %d: %s",
			       what, idx, res->status, res->error, dc->ref_ret, desc);
		}
		return bad;
	}
	if (res->status != NHOT_JOB_DONE || res->error) {
		TH_LOG("%s %u: device status %u error %d: %s", what, idx, res->status,
		       res->error, desc);
		return bad + 1;
	}
	if (res->macs != dc->ref.macs || res->shift_adds != dc->ref.shift_adds) {
		bad++;
		TH_LOG("%s %u: device counters macs %llu shift_adds %llu, reference %llu %llu: %s",
		       what, idx, (unsigned long long)res->macs,
		       (unsigned long long)res->shift_adds, (unsigned long long)dc->ref.macs,
		       (unsigned long long)dc->ref.shift_adds, desc);
	}
	for (uint64_t i = 0; i < c->shape.output_bytes; i++) {
		if (dev_output(dc)[i] != c->output[i]) {
			bad++;
			TH_LOG("%s %u: output byte %llu of %llu: device %u, reference %u: %s",
			       what, idx, (unsigned long long)i,
			       (unsigned long long)c->shape.output_bytes, dev_output(dc)[i],
			       c->output[i], desc);
			break;
		}
	}
	return bad;
}

/*
 * Submits cases as one batch, waits for all, checks each. Returns the
 * number of mismatching jobs (the test fails on any).
 */
static int run_batch(struct __test_metadata *_metadata, struct nhot_ctx *ctx, const char *what,
		     struct dev_case *dcs, unsigned int count)
{
	struct nhot_job_desc *descs = calloc(count, sizeof(*descs));
	struct nhot_result *res = calloc(count, sizeof(*res));
	uint64_t *ids = calloc(count, sizeof(*ids));
	uint64_t first;
	int bad = 0, ret;

	if (!descs || !res || !ids) {
		bad = 1;
		goto out;
	}
	for (unsigned int i = 0; i < count; i++)
		descs[i] = dcs[i].desc;
	ret = nhot_submit(ctx, descs, count, &first);
	if (ret) {
		TH_LOG("%s: nhot_submit of %u jobs: %d", what, count, ret);
		bad = 1;
		goto out;
	}
	for (unsigned int i = 0; i < count; i++)
		ids[i] = first + i;
	ret = nhot_wait(ctx, ids, count, 60LL * 1000000000, res);
	if (ret) {
		TH_LOG("%s: nhot_wait of %u jobs: %d", what, count, ret);
		bad = 1;
		goto out;
	}
	for (unsigned int i = 0; i < count; i++)
		bad += check_case(_metadata, what, i, &dcs[i], &res[i]) != 0;
out:
	free(descs);
	free(res);
	free(ids);
	return bad;
}

/* ---------------------------------------------------------------------- */

FIXTURE(dev) {
	struct nhot_ctx *ctx;
	struct layer_gen_rng rng;
};

/*
 * One variant per engine kind, on its first device (nhot_engine.h).
 * $NHOT_DEVICE (a path or "cpu") replaces the sim variant's device; the pci
 * variant then skips.
 */
FIXTURE_VARIANT(dev) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(dev, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(dev, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(dev)
{
	const char *env = getenv("NHOT_DEVICE");
	const char *path = test_device();
	const char *seed_env = getenv("NHOT_TEST_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x6e686f74;

	self->ctx = NULL;
	if (env && env[0] && variant->kind != NHOT_ENGINE_SIM)
		SKIP(return, "NHOT_DEVICE=%s chooses the device", env);
	if (env && env[0])
		snprintf(test_path, sizeof(test_path), "%s", env);
	else
		snprintf(test_path, sizeof(test_path), "/dev/nhot%d",
			 nhot_engine_or_skip(variant->kind));
	if (strcmp(path, "cpu") && access(path, F_OK))
		SKIP(return, "%s: no nhot device (module not loaded)", path);
	ASSERT_EQ(0, nhot_open(path, &self->ctx));
	ASSERT_EQ(!!strcmp(path, "cpu"), nhot_ctx_is_device(self->ctx));
	ASSERT_STREQ(path, nhot_ctx_device(self->ctx));
	/* Each test draws its own cases, the same on every run. */
	seed ^= (uint64_t)strlen(_metadata->name) * 0x9e3779b97f4a7c15ull;
	for (const char *p = _metadata->name; *p; p++)
		seed = seed * 31 + (unsigned char)*p;
	layer_gen_seed(&self->rng, seed);
	TH_LOG("seed %#llx", (unsigned long long)seed);
}

FIXTURE_TEARDOWN(dev)
{
	/* Buffers the test did not free are nhot_close()'s. */
	nhot_close(self->ctx);
}

/* cases of one type, in batches of `batch` jobs. */
static void run_type(struct __test_metadata *_metadata, struct nhot_ctx *ctx,
		     struct layer_gen_rng *rng, uint32_t type, unsigned int cases,
		     unsigned int batch)
{
	struct dev_case *dcs = calloc(batch, sizeof(*dcs));
	char what[32];
	int bad = 0;

	ASSERT_NE(NULL, dcs);
	for (unsigned int done = 0; done < cases; done += batch) {
		unsigned int n = cases - done;

		if (n > batch)
			n = batch;
		snprintf(what, sizeof(what), "type %u case %u+", type, done);
		for (unsigned int i = 0; i < n; i++) {
			ASSERT_EQ(0, dev_case_make(ctx, rng, type, &dcs[i]))
				TH_LOG("%s%u", what, i);
		}
		bad += run_batch(_metadata, ctx, what, dcs, n);
		for (unsigned int i = 0; i < n; i++)
			dev_case_free(&dcs[i]);
	}
	free(dcs);
	EXPECT_EQ(0, bad) TH_LOG("%d of %u jobs of type %u differ", bad, cases, type);
}

/*
 * Seconds for a test of many jobs: under TCG with both guests of make
 * vmtest running, the slowest took 13 s; the harness's default is 30 and
 * vm/ksft-run.sh's own limit 120.
 */
#define SLOW_TEST_TIMEOUT	100

#define TYPE_CASES	96
#define TYPE_BATCH	24

TEST_F_TIMEOUT(dev, conv2d, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_CONV2D, 2 * TYPE_CASES, TYPE_BATCH);
}

TEST_F_TIMEOUT(dev, fc, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_FC, TYPE_CASES, TYPE_BATCH);
}

TEST_F_TIMEOUT(dev, add, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_ADD, TYPE_CASES, TYPE_BATCH);
}

TEST_F_TIMEOUT(dev, avgpool, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_AVGPOOL, TYPE_CASES, TYPE_BATCH);
}

TEST_F_TIMEOUT(dev, global_avgpool, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_GLOBAL_AVGPOOL, TYPE_CASES,
		 TYPE_BATCH);
}

TEST_F_TIMEOUT(dev, maxpool, SLOW_TEST_TIMEOUT)
{
	run_type(_metadata, self->ctx, &self->rng, NHOT_LAYER_MAXPOOL, TYPE_CASES, TYPE_BATCH);
}

/* One job at a time through nhot_run(). */
TEST_F(dev, run_one_by_one)
{
	int bad = 0;

	for (unsigned int i = 0; i < 30; i++) {
		struct dev_case dc;
		struct nhot_result res;
		int ret;

		ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, 0, &dc));
		ret = nhot_run(self->ctx, &dc.desc, &res);
		EXPECT_EQ(dc.ref_ret, ret);
		bad += check_case(_metadata, "nhot_run", i, &dc, &res) != 0;
		dev_case_free(&dc);
	}
	EXPECT_EQ(0, bad);
}

/* The engine's own counters, straight from NHOT_IOCTL_GET_INFO. */
static int engine_info(struct nhot_info *info)
{
	int fd = open(test_device(), O_RDWR | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	ret = ioctl(fd, NHOT_IOCTL_GET_INFO, info) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * A few hundred jobs of every type in one nhot_submit(). The engine's
 * counters prove they ran there: it took them all and counted the
 * reference's products.
 */
TEST_F_TIMEOUT(dev, mixed_batch_of_300, SLOW_TEST_TIMEOUT)
{
	const unsigned int count = 300;
	struct dev_case *dcs = calloc(count, sizeof(*dcs));
	struct nhot_info before, after;
	uint64_t macs = 0, shift_adds = 0, failed = 0;
	int is_dev = nhot_ctx_is_device(self->ctx);

	ASSERT_NE(NULL, dcs);
	for (unsigned int i = 0; i < count; i++) {
		ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, 0, &dcs[i])) TH_LOG("case %u", i);
		macs += dcs[i].ref_ret ? 0 : dcs[i].ref.macs;
		shift_adds += dcs[i].ref_ret ? 0 : dcs[i].ref.shift_adds;
		failed += dcs[i].ref_ret != 0;
	}
	if (is_dev)
		ASSERT_EQ(0, engine_info(&before));
	EXPECT_EQ(0, run_batch(_metadata, self->ctx, "mixed", dcs, count));
	if (is_dev) {
		ASSERT_EQ(0, engine_info(&after));
		EXPECT_EQ(count, after.jobs_submitted - before.jobs_submitted);
		EXPECT_EQ(count - failed, after.jobs_completed - before.jobs_completed);
		EXPECT_EQ(macs, after.macs - before.macs);
		EXPECT_EQ(shift_adds, after.shift_adds - before.shift_adds);
		EXPECT_LT(before.cycles, after.cycles);
	}
	/* Half freed here, half left to nhot_close(). */
	for (unsigned int i = 0; i < count; i += 2)
		dev_case_free(&dcs[i]);
	for (unsigned int i = 1; i < count; i += 2)
		layer_gen_free(&dcs[i].gen);
	free(dcs);
}

/* A tiny ADD case whose output fits in 64 bytes. */
static int tiny_case(struct nhot_ctx *ctx, struct layer_gen_rng *rng, struct dev_case *dc)
{
	int ret;

	memset(dc, 0, sizeof(*dc));
	do {
		layer_gen_free(&dc->gen);
		ret = layer_gen_make(rng, NHOT_LAYER_ADD, &dc->gen);
		if (ret)
			return ret;
	} while (dc->gen.shape.output_bytes > 64);
	return dev_case_load(ctx, rng, dc);
}

/*
 * More jobs than one NHOT_IOCTL_SUBMIT takes (max_jobs_per_submit, 1024 by
 * default): the library splits the batch and the ids stay contiguous. The
 * jobs differ in their output offset, so each one's result is checked.
 */
TEST_F(dev, batch_split_by_the_library)
{
	const unsigned int count = 2500;
	struct nhot_job_desc *descs = calloc(count, sizeof(*descs));
	struct nhot_result *res = calloc(2 * count + 1, sizeof(*res));
	uint64_t *ids = calloc(2 * count + 1, sizeof(*ids));
	struct nhot_buf *out;
	struct dev_case dc;
	uint64_t first, out_bytes;
	const uint8_t *o;
	int bad = 0;

	ASSERT_NE(NULL, descs);
	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, tiny_case(self->ctx, &self->rng, &dc));
	out_bytes = dc.gen.shape.output_bytes;
	ASSERT_EQ(0, nhot_buf_alloc(self->ctx, count * out_bytes, &out));
	memset(nhot_buf_data(out), 0x5a, count * out_bytes);
	for (unsigned int i = 0; i < count; i++) {
		descs[i] = dc.desc;
		descs[i].output.buf = out;
		descs[i].output.offset = i * out_bytes;
	}
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, count, &first));
	/*
	 * Every id twice, newest first: more ids than the file may hold, so
	 * the library waits for the distinct ones. With one unknown id more,
	 * nothing is released.
	 */
	for (unsigned int i = 0; i < 2 * count; i++)
		ids[i] = first + count - 1 - i % count;
	ids[2 * count] = first + count;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 2 * count + 1, 60LL * 1000000000, res));
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, 2 * count, 60LL * 1000000000, res));
	o = nhot_buf_data(out);
	for (unsigned int i = 0; i < 2 * count; i++) {
		unsigned int job = count - 1 - i % count;

		if (res[i].status != NHOT_JOB_DONE || res[i].macs != res[i % count].macs ||
		    memcmp(o + job * out_bytes, dc.gen.output, out_bytes)) {
			if (!bad++)
				TH_LOG("job id %llu: status %u error %d or output differs",
				       (unsigned long long)ids[i], res[i].status, res[i].error);
		}
	}
	EXPECT_EQ(0, bad);
	/* Every id was released. */
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &first, 1, 0, NULL));
	dev_case_free(&dc);
	free(descs);
	free(res);
	free(ids);
}

/*
 * The file may hold max_jobs (4096) jobs. A batch that can never fit is
 * refused whole; one that overflows only because of jobs already held is
 * refused too, and the chunks the library had queued before the driver said
 * -EBUSY are run and released, so the failed call leaves nothing behind.
 */
TEST_F_TIMEOUT(dev, batch_beyond_max_jobs, SLOW_TEST_TIMEOUT)
{
	const unsigned int max = 4096, held = 1000;
	struct nhot_job_desc *descs = calloc(max + 1, sizeof(*descs));
	uint64_t *ids = calloc(max, sizeof(*ids));
	struct nhot_result *res = calloc(max, sizeof(*res));
	struct dev_case dc;
	uint64_t first, id;

	ASSERT_NE(NULL, descs);
	ASSERT_NE(NULL, ids);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, tiny_case(self->ctx, &self->rng, &dc));
	for (unsigned int i = 0; i <= max; i++)
		descs[i] = dc.desc;

	EXPECT_EQ(-EBUSY, nhot_submit(self->ctx, descs, max + 1, &id));
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, held, &first));
	EXPECT_EQ(1U, first);
	/* Three chunks of 1024 fit beside the held jobs, the fourth does not. */
	EXPECT_EQ(-EBUSY, nhot_submit(self->ctx, descs, max - held + 500, &id));
	/* The held jobs are intact... */
	for (unsigned int i = 0; i < held; i++)
		ids[i] = first + i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, held, 60LL * 1000000000, res));
	for (unsigned int i = 0; i < held; i++) {
		if (res[i].status != NHOT_JOB_DONE) {
			EXPECT_EQ((uint32_t)NHOT_JOB_DONE, res[i].status) TH_LOG("held job %u", i);
			break;
		}
	}
	/* ...and nothing else is held: a full batch fits again. */
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, max, &first));
	for (unsigned int i = 0; i < max; i++)
		ids[i] = first + i;
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, max, 60LL * 1000000000, res));
	EXPECT_EQ(0, check_case(_metadata, "last", max - 1, &dc, &res[max - 1]));
	dev_case_free(&dc);
	free(descs);
	free(ids);
	free(res);
}

struct thread_arg {
	struct nhot_ctx *ctx;
	struct dev_case *dc;
	int failures;
};

static void *run_loop(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 100; i++) {
		struct nhot_result res;

		if (nhot_run(a->ctx, &a->dc->desc, &res) != a->dc->ref_ret)
			a->failures++;
		else if (!a->dc->ref_ret && memcmp(dev_output(a->dc), a->dc->gen.output,
						   a->dc->gen.shape.output_bytes))
			a->failures++;
	}
	return NULL;
}

/*
 * Threads share one context: one thread blocked in nhot_wait() does not stop
 * the others' submissions, and buffers come and go meanwhile.
 */
TEST_F_TIMEOUT(dev, threads_share_a_context, SLOW_TEST_TIMEOUT)
{
	struct thread_arg args[3];
	struct dev_case dcs[3];
	pthread_t th[3];

	for (int t = 0; t < 3; t++) {
		ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, 0, &dcs[t]));
		args[t] = (struct thread_arg){ .ctx = self->ctx, .dc = &dcs[t] };
	}
	for (int t = 0; t < 3; t++)
		ASSERT_EQ(0, pthread_create(&th[t], NULL, run_loop, &args[t]));
	for (int i = 0; i < 100; i++) {
		struct nhot_buf *b;

		if (nhot_buf_alloc(self->ctx, 1000 + 97 * i, &b) == 0)
			nhot_buf_free(b);
		else
			args[0].failures++;
	}
	for (int t = 0; t < 3; t++) {
		pthread_join(th[t], NULL);
		EXPECT_EQ(0, args[t].failures) TH_LOG("thread %d", t);
		dev_case_free(&dcs[t]);
	}
}

/* ---------------------------------------------------------------------- */
/* Boundaries: the largest accumulator, saturation, the largest windows     */

static struct nhot_layer fc_k_max(uint32_t w_n, uint32_t w_b)
{
	struct nhot_layer l = {
		.type = NHOT_LAYER_FC, .batch = 2, .in_h = 8, .in_w = 8, .in_c = 512,
		.out_c = 3, .w_n = w_n, .w_b = w_b, .act_min = 0, .act_max = 255,
	};
	return l;
}

/* A case from a fixed descriptor, its data drawn by layer_gen's filler. */
static int boundary_case(struct nhot_ctx *ctx, struct layer_gen_rng *rng,
			 const struct nhot_layer *l, struct dev_case *dc)
{
	struct layer_gen_case *c = &dc->gen;
	int ret;

	memset(dc, 0, sizeof(*dc));
	ret = nhot_layer_check(l, &c->shape);
	if (ret)
		return ret;
	c->layer = *l;
	c->input = malloc(c->shape.input_bytes);
	c->input2 = c->shape.input2_bytes ? malloc(c->shape.input2_bytes) : NULL;
	c->weights = c->shape.weight_bytes ? malloc(c->shape.weight_bytes) : NULL;
	c->params = c->shape.params_bytes ? malloc(c->shape.params_bytes) : NULL;
	c->output = malloc(c->shape.output_bytes);
	if (!c->input || !c->output || (c->shape.input2_bytes && !c->input2) ||
	    (c->shape.weight_bytes && !c->weights) || (c->shape.params_bytes && !c->params)) {
		layer_gen_free(c);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < c->shape.input_bytes; i++)
		c->input[i] = (uint8_t)layer_gen_next(rng);
	for (uint64_t i = 0; i < c->shape.input2_bytes; i++)
		c->input2[i] = (uint8_t)layer_gen_next(rng);
	c->t = (struct nhot_tensors) {
		.input = c->input, .input_len = c->shape.input_bytes,
		.input2 = c->input2, .input2_len = c->shape.input2_bytes,
		.weights = c->weights, .weights_len = c->shape.weight_bytes,
		.params = c->params, .params_len = c->shape.params_bytes,
		.output = c->output, .output_len = c->shape.output_bytes,
	};
	return 0;
}

/* All weights q (a value of S), all params the same. */
static int fill_const_weights(struct dev_case *dc, int q, int32_t bias, uint32_t mult,
			      uint32_t shift)
{
	struct layer_gen_case *c = &dc->gen;
	size_t count = (size_t)c->layer.out_c * c->shape.k;
	int8_t *v = malloc(count);
	int ret;

	if (!v)
		return -ENOMEM;
	memset(v, q, count);
	ret = nhot_pack(c->layer.w_n, c->layer.w_b, v, c->layer.out_c, c->shape.k,
			c->weights, c->shape.weight_bytes);
	free(v);
	for (uint32_t o = 0; o < c->layer.out_c; o++) {
		c->params[o].bias = bias;
		c->params[o].mult = mult;
		c->params[o].shift = shift;
	}
	return ret;
}

TEST_F_TIMEOUT(dev, boundaries, SLOW_TEST_TIMEOUT)
{
	struct dev_case dcs[16];
	unsigned int n = 0;
	struct nhot_layer l;

	/*
	 * FC with K = NHOT_MAX_K, |w| = 127, inputs 0/255 against zero point
	 * 0 or 255 and bias +-2^30: the largest accumulators of both signs
	 * (|acc| = 2^30 + 255 * 127 * 32768 < 2^31), with the largest and the
	 * smallest shift.
	 */
	static const struct { uint32_t zero; uint8_t x; int q; int32_t bias; uint32_t shift; }
	extremes[] = {
		{ 0, 255, 127, 1 << 30, 62 },
		{ 0, 255, -127, -(1 << 30), 62 },
		{ 255, 0, 127, -(1 << 30), 31 },
		{ 255, 0, -127, 1 << 30, 1 },
	};
	for (unsigned int i = 0; i < 4; i++, n++) {
		l = fc_k_max(4, 8);
		l.in_zero = extremes[i].zero;
		l.out_zero = 128;
		ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
		memset(dcs[n].gen.input, extremes[i].x, dcs[n].gen.shape.input_bytes);
		ASSERT_EQ(0, fill_const_weights(&dcs[n], extremes[i].q, extremes[i].bias,
						0x7fffffff, extremes[i].shift));
	}

	/* CONV2D: the largest kernel at the largest dilation, padded to the limit. */
	l = (struct nhot_layer) {
		.type = NHOT_LAYER_CONV2D, .batch = 1, .in_h = 2, .in_w = 3, .in_c = 2,
		.out_c = 2, .kernel_h = 16, .kernel_w = 16, .stride_h = 8, .stride_w = 7,
		.dilation_h = 8, .dilation_w = 8, .pad_top = 120, .pad_bottom = 119,
		.pad_left = 0, .pad_right = 120, .groups = 2, .w_n = 1, .w_b = 2,
		.in_zero = 255, .out_zero = 0, .act_min = 0, .act_max = 255,
	};
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	ASSERT_EQ(0, fill_const_weights(&dcs[n++], -1, 12345, 1U << 30, 8));

	/* Zero multiplier and a clamp to one value. */
	l = fc_k_max(2, 8);
	l.in_c = 1;
	l.in_zero = 17;
	l.out_zero = 255;
	l.act_min = 77;
	l.act_max = 77;
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	ASSERT_EQ(0, fill_const_weights(&dcs[n++], 96, -5, 0, 1));

	/* ADD saturating both ways: the largest multipliers, shift 1 and 62. */
	for (uint32_t shift = 1; shift <= 62; shift += 61, n++) {
		l = (struct nhot_layer) {
			.type = NHOT_LAYER_ADD, .batch = 3, .in_h = 5, .in_w = 1, .in_c = 17,
			.in_zero = 0, .in2_zero = 255, .out_zero = 128, .act_min = 1,
			.act_max = 254, .add_mult_a = 0x7fffffff, .add_mult_b = 0x7fffffff,
			.add_shift = shift,
		};
		ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	}

	/* Pools: the largest window over a 1x1 input (15 rows of padding). */
	for (uint32_t type = NHOT_LAYER_AVGPOOL; type <= NHOT_LAYER_MAXPOOL; type += 2, n++) {
		l = (struct nhot_layer) {
			.type = type, .batch = 1, .in_h = 1, .in_w = 2, .in_c = 3,
			.kernel_h = 16, .kernel_w = 16, .stride_h = 8, .stride_w = 1,
			.pad_top = 15, .pad_bottom = 15, .pad_left = 15, .pad_right = 14,
			.act_min = 0, .act_max = 255,
		};
		ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	}

	/* GLOBAL_AVGPOOL over the largest plane, all 255: the largest sum. */
	l = (struct nhot_layer) {
		.type = NHOT_LAYER_GLOBAL_AVGPOOL, .batch = 1, .in_h = 128, .in_w = 512,
		.in_c = 1, .act_min = 0, .act_max = 255,
	};
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	memset(dcs[n++].gen.input, 255, 65536);

	/* The most channels: FC 1 -> 8192 and a depthwise 1x1 over 8192. */
	l = fc_k_max(1, 8);
	l.in_h = 1;
	l.in_w = 1;
	l.in_c = 1;
	l.out_c = NHOT_MAX_CHANNELS;
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	ASSERT_EQ(0, fill_const_weights(&dcs[n++], -8, 3, 0x40000001, 3));
	l = (struct nhot_layer) {
		.type = NHOT_LAYER_CONV2D, .batch = 1, .in_h = 1, .in_w = 1,
		.in_c = NHOT_MAX_CHANNELS, .out_c = NHOT_MAX_CHANNELS, .kernel_h = 1,
		.kernel_w = 1, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
		.groups = NHOT_MAX_CHANNELS, .w_n = 3, .w_b = 5, .in_zero = 1, .out_zero = 2,
		.act_min = 0, .act_max = 255,
	};
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n]));
	ASSERT_EQ(0, fill_const_weights(&dcs[n++], 11, -7, 0x55555555, 2));

	/* The largest batch. */
	l = (struct nhot_layer) {
		.type = NHOT_LAYER_MAXPOOL, .batch = NHOT_MAX_BATCH, .in_h = 2, .in_w = 1,
		.in_c = 1, .kernel_h = 2, .kernel_w = 1, .stride_h = 1, .stride_w = 1,
		.act_min = 3, .act_max = 200,
	};
	ASSERT_EQ(0, boundary_case(self->ctx, &self->rng, &l, &dcs[n++]));

	for (unsigned int i = 0; i < n; i++) {
		/* The data is in place: copy it to the device and run the reference. */
		struct layer_gen_case gen = dcs[i].gen;

		memset(&dcs[i], 0, sizeof(dcs[i]));
		dcs[i].gen = gen;
		ASSERT_EQ(0, dev_case_load(self->ctx, &self->rng, &dcs[i])) TH_LOG("case %u", i);
	}
	EXPECT_EQ(0, run_batch(_metadata, self->ctx, "boundary", dcs, n));
	for (unsigned int i = 0; i < n; i++)
		dev_case_free(&dcs[i]);
}

/* ---------------------------------------------------------------------- */
/* Errors: the same errno on the device as on the CPU                        */

/*
 * A bad job gets the same error from nhot_submit() on both engines (the
 * CPU backend mirrors the driver's contract, docs/uapi.md), and a batch with
 * one bad job queues none.
 */
TEST_F(dev, bad_jobs_same_errors_as_cpu)
{
	struct nhot_ctx *cpu, *other;
	struct nhot_buf *foreign, *spare[2];
	struct nhot_ctx *ctxs[2];
	struct dev_case conv[2], add[2];
	uint64_t id;

	ASSERT_EQ(0, nhot_open("cpu", &cpu));
	ASSERT_EQ(0, nhot_open(test_device(), &other));
	ASSERT_EQ(0, nhot_buf_alloc(other, 4096, &foreign));
	ctxs[0] = self->ctx;
	ctxs[1] = cpu;
	for (int e = 0; e < 2; e++) {
		struct layer_gen_rng r = self->rng;	/* the same cases on both */

		ASSERT_EQ(0, dev_case_make(ctxs[e], &r, NHOT_LAYER_CONV2D, &conv[e]));
		ASSERT_EQ(0, dev_case_make(ctxs[e], &r, NHOT_LAYER_ADD, &add[e]));
		ASSERT_EQ(0, nhot_buf_alloc(ctxs[e], 1 << 16, &spare[e]));
	}

	for (int c = 0; c < 13; c++) {
		int got[2];

		for (int e = 0; e < 2; e++) {
			struct nhot_job_desc j = c < 7 ? conv[e].desc : add[e].desc;
			struct nhot_job_desc batch[3] = { conv[e].desc, add[e].desc };

			switch (c) {
			case 0:	/* a buffer of another context on the same device */
				j.weights.buf = foreign;
				break;
			case 1:	/* a missing buffer the layer needs */
				j.params.buf = NULL;
				j.params.offset = 0;
				break;
			case 2:	/* a buffer the layer does not use */
				j.input2.buf = spare[e];
				break;
			case 3:	/* one byte beyond the weights' buffer */
				j.weights.offset = nhot_buf_length(j.weights.buf) -
						   conv[e].gen.shape.weight_bytes + 1;
				break;
			case 4:	/* offset + bytes overflowing u64 */
				j.output.offset = UINT64_MAX - 2;
				break;
			case 5:	/* groups not dividing the channels */
				j.layer.groups = j.layer.in_c + 1;
				break;
			case 6:	/* an unknown layer type */
				j.layer.type = NHOT_LAYER_TYPE_MAX + 1;
				break;
			case 7:	/* ADD without its second input */
				j.input2.buf = NULL;
				j.input2.offset = 0;
				break;
			case 8:	/* ADD given weights */
				j.weights.buf = spare[e];
				break;
			case 9:	/* the output one byte short */
				j.output.offset = nhot_buf_length(j.output.buf) -
						  add[e].gen.shape.output_bytes + 1;
				break;
			case 10:	/* beyond the limits */
				j.layer.batch = NHOT_MAX_BATCH + 1;
				break;
			case 11:	/* a reserved field */
				j.layer.reserved[3] = 1;
				break;
			default:	/* a flag */
				j.layer.flags = 1;
				break;
			}
			batch[2] = j;
			got[e] = nhot_submit(ctxs[e], batch, 3, &id);
			EXPECT_GT(0, got[e]) TH_LOG("case %d on %s", c, nhot_ctx_device(ctxs[e]));
			if (got[e] == 0)
				nhot_wait(ctxs[e], &id, 1, -1, NULL);
		}
		EXPECT_EQ(got[1], got[0]) TH_LOG("case %d: device %d, cpu %d", c, got[0], got[1]);
	}

	/* Nothing was queued: the next job is the first. */
	ASSERT_EQ(0, nhot_submit(self->ctx, &add[0].desc, 1, &id));
	EXPECT_EQ(1U, id);
	ASSERT_EQ(0, nhot_wait(self->ctx, &id, 1, -1, NULL));
	for (int e = 0; e < 2; e++) {
		dev_case_free(&conv[e]);
		dev_case_free(&add[e]);
	}
	nhot_close(other);
	nhot_close(cpu);
}

/* Jobs whose data is bad fail on the engine; the jobs behind them still run. */
TEST_F(dev, failing_jobs)
{
	struct dev_case dcs[4];
	struct nhot_chan_params *p;
	uint8_t *w;
	int size, bits;

	/*
	 * An invalid weight code: |S(n, b)| is odd, so the code |S| fits in
	 * the k code bits and names no value. Code 0 is the low k bits of byte 0.
	 */
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_FC, &dcs[0]));
	size = nhot_set_size(dcs[0].gen.layer.w_n, dcs[0].gen.layer.w_b);
	bits = nhot_code_bits(dcs[0].gen.layer.w_n, dcs[0].gen.layer.w_b);
	ASSERT_LT(size, 1 << bits);
	w = (uint8_t *)nhot_buf_data(dcs[0].desc.weights.buf) + dcs[0].desc.weights.offset;
	w[0] = (uint8_t)((w[0] & ~((1U << bits) - 1)) | (unsigned int)size);
	dcs[0].gen.weights[0] = w[0];
	dcs[0].ref_ret = nhot_ref_run(&dcs[0].gen.layer, &dcs[0].gen.t, NULL);
	EXPECT_EQ(-EILSEQ, dcs[0].ref_ret);

	/* A bias beyond 2^30. */
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_CONV2D, &dcs[1]));
	p = (struct nhot_chan_params *)((uint8_t *)nhot_buf_data(dcs[1].desc.params.buf) +
					dcs[1].desc.params.offset);
	p[dcs[1].gen.layer.out_c - 1].bias = -NHOT_MAX_BIAS - 1;
	dcs[1].gen.params[dcs[1].gen.layer.out_c - 1].bias = -NHOT_MAX_BIAS - 1;
	dcs[1].ref_ret = nhot_ref_run(&dcs[1].gen.layer, &dcs[1].gen.t, NULL);
	EXPECT_EQ(-EOVERFLOW, dcs[1].ref_ret);

	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_MAXPOOL, &dcs[2]));
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_FC, &dcs[3]));
	EXPECT_EQ(0, run_batch(_metadata, self->ctx, "failing", dcs, 4));
	EXPECT_EQ(-EILSEQ, nhot_run(self->ctx, &dcs[0].desc, NULL));
	EXPECT_EQ(-EOVERFLOW, nhot_run(self->ctx, &dcs[1].desc, NULL));
	for (int i = 0; i < 4; i++)
		dev_case_free(&dcs[i]);
}

/* Waiting on ids the file does not hold. */
TEST_F(dev, wait_unknown_ids)
{
	struct dev_case dc;
	struct nhot_result res[2];
	uint64_t ids[2];

	ids[0] = 1;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 1, -1, NULL));
	ids[0] = UINT64_MAX;
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 1, 0, NULL));
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_ADD, &dc));
	ASSERT_EQ(0, nhot_submit(self->ctx, &dc.desc, 1, &ids[0]));
	EXPECT_EQ(1U, ids[0]);
	ids[1] = ids[0] + 1;
	/* One unknown id: nothing released, the known job can still be waited for. */
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 2, -1, res));
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, 1, -1, res));
	EXPECT_EQ(0, check_case(_metadata, "add", 0, &dc, &res[0]));
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 1, -1, res));
	/* An id named twice in one wait reads the same result twice. */
	ASSERT_EQ(0, nhot_submit(self->ctx, &dc.desc, 1, &ids[0]));
	ids[1] = ids[0];
	ASSERT_EQ(0, nhot_wait(self->ctx, ids, 2, -1, res));
	EXPECT_EQ(0, check_case(_metadata, "twice", 0, &dc, &res[0]));
	EXPECT_EQ(0, check_case(_metadata, "twice", 1, &dc, &res[1]));
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, ids, 1, 0, res));
	dev_case_free(&dc);
}

/* Device buffers: the driver's limits come back as the documented errors. */
TEST_F(dev, buffers)
{
	struct nhot_buf *b = NULL;

	if (!nhot_ctx_is_device(self->ctx))
		SKIP(return, "the driver's buffer limits");
	EXPECT_EQ(-EINVAL, nhot_buf_alloc(self->ctx, 0, &b));
	EXPECT_EQ(-EFBIG, nhot_buf_alloc(self->ctx, (64 << 20) + 1, &b));
	EXPECT_EQ(NULL, b);
	ASSERT_EQ(0, nhot_buf_alloc(self->ctx, 64 << 20, &b));
	EXPECT_EQ((size_t)64 << 20, nhot_buf_length(b));
	/* Mapped, shared and zeroed. */
	EXPECT_EQ(0, ((uint8_t *)nhot_buf_data(b))[(64 << 20) - 1]);
	((uint8_t *)nhot_buf_data(b))[(64 << 20) - 1] = 1;
	nhot_buf_free(b);
	ASSERT_EQ(0, nhot_buf_alloc(self->ctx, 1, &b));
	EXPECT_EQ(1U, nhot_buf_length(b));
	/* Left for nhot_close(). */
}

/* Closing with jobs in flight and buffers allocated cancels and frees them. */
TEST_F(dev, close_with_jobs_in_flight)
{
	struct nhot_job_desc descs[64];
	struct dev_case dcs[8];
	struct nhot_ctx *ctx;
	uint64_t first;

	for (int round = 0; round < 3; round++) {
		ASSERT_EQ(0, nhot_open(test_device(), &ctx));
		for (int i = 0; i < 8; i++) {
			ASSERT_EQ(0, dev_case_make(ctx, &self->rng, 0, &dcs[i]));
			descs[i] = dcs[i].desc;
		}
		for (int i = 8; i < 64; i++)
			descs[i] = descs[i % 8];
		ASSERT_EQ(0, nhot_submit(ctx, descs, 64, &first));
		nhot_close(ctx);
		for (int i = 0; i < 8; i++)
			layer_gen_free(&dcs[i].gen);
	}
	/* The device still works. */
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_CONV2D, &dcs[0]));
	EXPECT_EQ(0, run_batch(_metadata, self->ctx, "after close", dcs, 1));
	dev_case_free(&dcs[0]);
}

/* ---------------------------------------------------------------------- */
/* Timeouts, through the engine's debugfs switches                          */

static int debugfs_write(const char *path, unsigned int value)
{
	char s[16];
	int fd, len, ret;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(s, sizeof(s), "%u\n", value);
	ret = write(fd, s, len) == len ? 0 : -errno;
	close(fd);
	return ret;
}

static int debugfs_read(const char *path, unsigned int *value)
{
	char s[16] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, s, sizeof(s) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	*value = (unsigned int)strtoul(s, NULL, 0);
	return 0;
}

/*
 * A hung job: nhot_wait() with a short timeout returns -ETIMEDOUT and
 * releases nothing; at the engine's timeout the job ends TIMEDOUT, the
 * engine is reset and the job behind it runs to the right result.
 */
TEST_F(dev, hung_job_times_out)
{
	char dir[64];
	char hang[96], tmo[96];
	struct nhot_result res[2];
	struct nhot_job_desc descs[2];
	struct dev_case dc[2];
	unsigned int old_timeout = 0;
	uint64_t ids[2];

	/* The switches of this variant's device. */
	if (strncmp(test_device(), "/dev/", 5))
		SKIP(return, "%s has no debugfs switches", test_device());
	snprintf(dir, sizeof(dir), "/sys/kernel/debug/nhot/%s", test_device() + 5);
	snprintf(hang, sizeof(hang), "%s/hang_jobs", dir);
	snprintf(tmo, sizeof(tmo), "%s/timeout_ms", dir);
	if (access(hang, W_OK) || debugfs_read(tmo, &old_timeout))
		SKIP(return, "%s: no debugfs failure switches", dir);

	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_FC, &dc[0]));
	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_CONV2D, &dc[1]));
	descs[0] = dc[0].desc;
	descs[1] = dc[1].desc;
	ASSERT_EQ(0, debugfs_write(tmo, 400));
	ASSERT_EQ(0, debugfs_write(hang, 1));
	ASSERT_EQ(0, nhot_submit(self->ctx, descs, 2, &ids[0]));
	ids[1] = ids[0] + 1;
	EXPECT_EQ(-ETIMEDOUT, nhot_wait(self->ctx, ids, 2, 50 * 1000000, res));
	EXPECT_EQ(-ETIMEDOUT, nhot_wait(self->ctx, ids, 1, 0, res));
	EXPECT_EQ(0, nhot_wait(self->ctx, ids, 2, 30LL * 1000000000, res));
	EXPECT_EQ((uint32_t)NHOT_JOB_TIMEDOUT, res[0].status);
	EXPECT_EQ(-ETIMEDOUT, res[0].error);
	EXPECT_EQ(0, check_case(_metadata, "behind the hung job", 1, &dc[1], &res[1]));
	/* nhot_run() reports the job's error. */
	ASSERT_EQ(0, debugfs_write(hang, 1));
	EXPECT_EQ(-ETIMEDOUT, nhot_run(self->ctx, &dc[0].desc, &res[0]));
	EXPECT_EQ((uint32_t)NHOT_JOB_TIMEDOUT, res[0].status);
	EXPECT_EQ(0, debugfs_write(tmo, old_timeout));
	dev_case_free(&dc[0]);
	dev_case_free(&dc[1]);
}

static void on_signal(int sig)
{
	(void)sig;
}

struct kicker {
	pthread_t target;
	unsigned int delay_ms;
};

/* Signals the target thread after a while, as a timer or another thread would. */
static void *kick(void *p)
{
	const struct kicker *k = p;

	usleep(k->delay_ms * 1000);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

/*
 * A signal without SA_RESTART ends nhot_wait() with -EINTR and releases
 * nothing, so the job can be waited for again; nhot_run() (whose caller
 * never sees the id) waits on through the signal.
 */
TEST_F(dev, signal_during_wait)
{
	char dir[64];
	struct sigaction sa = { .sa_handler = on_signal };
	struct kicker k = { .target = pthread_self(), .delay_ms = 100 };
	char hang[96], tmo[96];
	unsigned int old_timeout = 0;
	struct nhot_result res;
	struct dev_case dc;
	pthread_t th;
	uint64_t id;

	/* The switches of this variant's device. */
	if (strncmp(test_device(), "/dev/", 5))
		SKIP(return, "%s has no debugfs switches", test_device());
	snprintf(dir, sizeof(dir), "/sys/kernel/debug/nhot/%s", test_device() + 5);
	snprintf(hang, sizeof(hang), "%s/hang_jobs", dir);
	snprintf(tmo, sizeof(tmo), "%s/timeout_ms", dir);
	if (access(hang, W_OK) || debugfs_read(tmo, &old_timeout))
		SKIP(return, "%s: no debugfs failure switches", dir);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	ASSERT_EQ(0, dev_case_make(self->ctx, &self->rng, NHOT_LAYER_MAXPOOL, &dc));
	ASSERT_EQ(0, debugfs_write(tmo, 1000));
	ASSERT_EQ(0, debugfs_write(hang, 1));
	ASSERT_EQ(0, nhot_submit(self->ctx, &dc.desc, 1, &id));
	ASSERT_EQ(0, pthread_create(&th, NULL, kick, &k));
	EXPECT_EQ(-EINTR, nhot_wait(self->ctx, &id, 1, -1, &res));
	pthread_join(th, NULL);
	ASSERT_EQ(0, nhot_wait(self->ctx, &id, 1, -1, &res));
	EXPECT_EQ((uint32_t)NHOT_JOB_TIMEDOUT, res.status);

	ASSERT_EQ(0, debugfs_write(hang, 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, kick, &k));
	EXPECT_EQ(-ETIMEDOUT, nhot_run(self->ctx, &dc.desc, &res));
	pthread_join(th, NULL);
	/* Nothing was left held: the next job gets the next id and runs. */
	ASSERT_EQ(0, nhot_run(self->ctx, &dc.desc, &res));
	EXPECT_EQ(0, check_case(_metadata, "after the signals", 0, &dc, &res));
	EXPECT_EQ(-ENOENT, nhot_wait(self->ctx, &id, 1, 0, NULL));
	EXPECT_EQ(0, debugfs_write(tmo, old_timeout));
	dev_case_free(&dc);
}

/* nhot_open(NULL): $NHOT_DEVICE first, else /dev/nhot0 when it exists. */
TEST(open_chooses_the_device)
{
	struct nhot_ctx *ctx;

	if (access("/dev/nhot0", F_OK))
		SKIP(return, "no /dev/nhot0");
	ASSERT_EQ(0, unsetenv("NHOT_DEVICE"));
	ASSERT_EQ(0, nhot_open(NULL, &ctx));
	EXPECT_STREQ("/dev/nhot0", nhot_ctx_device(ctx));
	EXPECT_NE(0, nhot_ctx_is_device(ctx));
	nhot_close(ctx);
	ASSERT_EQ(0, setenv("NHOT_DEVICE", "cpu", 1));
	ASSERT_EQ(0, nhot_open(NULL, &ctx));
	EXPECT_EQ(0, nhot_ctx_is_device(ctx));
	nhot_close(ctx);
	if (access("/dev/nhot1", F_OK) == 0) {
		ASSERT_EQ(0, setenv("NHOT_DEVICE", "/dev/nhot1", 1));
		ASSERT_EQ(0, nhot_open(NULL, &ctx));
		EXPECT_STREQ("/dev/nhot1", nhot_ctx_device(ctx));
		nhot_close(ctx);
	}
	ASSERT_EQ(0, setenv("NHOT_DEVICE", "/dev/nhot4095", 1));
	EXPECT_EQ(-ENOENT, nhot_open(NULL, &ctx));
}

/* Every device the module made answers through its own context. */
TEST(every_device)
{
	char path[32];
	int found = 0;

	for (int i = 0; i < 8; i++) {
		struct layer_gen_rng rng;
		struct nhot_result res;
		struct nhot_ctx *ctx;
		struct dev_case dc;

		snprintf(path, sizeof(path), "/dev/nhot%d", i);
		if (access(path, F_OK))
			continue;
		found++;
		layer_gen_seed(&rng, 1000 + i);
		ASSERT_EQ(0, nhot_open(path, &ctx));
		ASSERT_EQ(0, dev_case_make(ctx, &rng, NHOT_LAYER_CONV2D, &dc));
		EXPECT_EQ(dc.ref_ret, nhot_run(ctx, &dc.desc, &res));
		EXPECT_EQ(0, check_case(_metadata, path, 0, &dc, &res));
		dev_case_free(&dc);
		nhot_close(ctx);
	}
	if (!found)
		SKIP(return, "no /dev/nhotN");
}

TEST_HARNESS_MAIN
