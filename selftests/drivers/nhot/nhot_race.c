// SPDX-License-Identifier: GPL-2.0
/*
 * Weights and channel parameters rewritten by another thread while the jobs
 * that use them run (issue #14 item 6): the engine must compute from one
 * copy that it checked, never from what userspace writes afterwards.
 *
 * A flipper thread rewrites one byte of the weights (two codes of one row:
 * version A, version B, or two invalid codes) and one byte of the
 * parameters (the low byte of one channel's shift: A, B, 0 or 64) in a
 * tight loop, while a batch of jobs runs on those buffers.  Each byte the
 * engine copies is one of its versions, so every job must end either
 * FAILED with -EILSEQ or -EOVERFLOW (an invalid version was copied) or DONE
 * with an output equal, byte for byte, to nhot_ref_run() on one of the four
 * valid combinations.  An engine that checks the shared memory and reads it
 * again later gives outputs that mix versions, or shifts by 0 or 64 (an
 * undefined shift: UBSAN reports it on the debug kernel).
 *
 * Both engines (nhot_engine.h): "sim" and "pci" (nhot-emu).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"
#include "nhot_util.h"
#include "nhot_engine.h"

#define RACE_JOBS	48	/* per batch: one SUBMIT, outputs side by side */
#define RACE_N		1	/* S(1, 8): 15 codes of 4 bits, code 15 invalid */
#define RACE_B		8
#define RACE_CODES	15
#define RACE_CODE_BITS	4
#define RACE_MULT	(1U << 30)
#define RACE_SHIFT	40	/* rq(acc, 2^30, 40) = acc / 1024, rounded */

/* The versions of the byte of weights and of the byte of parameters. */
static const uint8_t w_versions[3] = {
	0xee,	/* A: codes 14, 14: +64, +64 */
	0x00,	/* B: codes 0, 0: -64, -64 */
	0xff,	/* codes 15, 15: invalid, -EILSEQ */
};
static const uint8_t p_versions[4] = {
	RACE_SHIFT,	/* A */
	RACE_SHIFT + 1,	/* B */
	0,		/* out of 1..62: -EOVERFLOW; rq would shift by -1 */
	64,		/* out of 1..62: -EOVERFLOW; rq would shift by 64 */
};

/**
 * struct race_case - a layer, its data and the four valid results
 * @l: the descriptor
 * @in_bytes: bytes of each tensor ...
 * @in: the input
 * @w: the weights, version A
 * @p: the parameters, version A
 * @w_at: the byte of @w that the flipper rewrites
 * @p_at: the byte of @p that the flipper rewrites
 * @ref: nhot_ref_run()'s output for weights version [i], parameters version [j]
 */
struct race_case {
	struct nhot_layer l;
	size_t in_bytes, w_bytes, p_bytes, out_bytes;
	uint8_t *in, *w;
	struct nhot_chan_params *p;
	size_t w_at, p_at;
	uint8_t *ref[2][2];
};

/* The data: random input and codes, the A versions at the rewritten bytes. */
static int race_fill(struct race_case *rc, uint32_t seed)
{
	struct nhot_layer_shape shape;
	uint32_t st = seed;
	size_t row_bytes, i;
	uint32_t o;

	if (nhot_layer_check(&rc->l, &shape))
		return -EINVAL;
	rc->in_bytes = shape.input_bytes;
	rc->w_bytes = shape.weight_bytes;
	rc->p_bytes = shape.params_bytes;
	rc->out_bytes = shape.output_bytes;
	rc->in = malloc(rc->in_bytes);
	rc->w = calloc(1, rc->w_bytes);
	rc->p = calloc(1, rc->p_bytes);
	if (!rc->in || !rc->w || !rc->p)
		return -ENOMEM;
	for (i = 0; i < rc->in_bytes; i++)
		rc->in[i] = nhot_t_rand(&st);
	row_bytes = rc->w_bytes / rc->l.out_c;
	for (o = 0; o < rc->l.out_c; o++) {
		for (i = 0; i < shape.k; i++)
			nhot_t_put_code(rc->w + o * row_bytes, i, RACE_CODE_BITS,
					nhot_t_rand(&st) % RACE_CODES);
		rc->p[o].bias = (int32_t)(nhot_t_rand(&st) % 20001) - 10000;
		rc->p[o].mult = RACE_MULT;
		rc->p[o].shift = RACE_SHIFT;
	}
	/* a weight byte of the last channel, the shift of the first */
	rc->w_at = (rc->l.out_c - 1) * row_bytes + row_bytes / 2;
	rc->p_at = offsetof(struct nhot_chan_params, shift);
	rc->w[rc->w_at] = w_versions[0];
	return 0;
}

/* The reference's output for each valid combination; 0 when all differ. */
static int race_refs(struct race_case *rc)
{
	uint8_t *w = malloc(rc->w_bytes), *p = malloc(rc->p_bytes);
	int i, j, ret = 0;

	if (!w || !p) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < 2 && !ret; i++) {
		for (j = 0; j < 2 && !ret; j++) {
			struct nhot_counters c;
			struct nhot_tensors t = {
				.input = rc->in, .input_len = rc->in_bytes,
				.weights = w, .weights_len = rc->w_bytes,
				.params = (const struct nhot_chan_params *)p,
				.params_len = rc->p_bytes,
				.output_len = rc->out_bytes,
			};

			memcpy(w, rc->w, rc->w_bytes);
			memcpy(p, rc->p, rc->p_bytes);
			w[rc->w_at] = w_versions[i];
			p[rc->p_at] = p_versions[j];
			rc->ref[i][j] = malloc(rc->out_bytes);
			t.output = rc->ref[i][j];
			ret = rc->ref[i][j] ? nhot_ref_run(&rc->l, &t, &c) : -ENOMEM;
		}
	}
	/* each combination must be told apart, or the test proves less */
	if (!ret && (!memcmp(rc->ref[0][0], rc->ref[0][1], rc->out_bytes) ||
		     !memcmp(rc->ref[0][0], rc->ref[1][0], rc->out_bytes) ||
		     !memcmp(rc->ref[0][1], rc->ref[1][1], rc->out_bytes) ||
		     !memcmp(rc->ref[1][0], rc->ref[1][1], rc->out_bytes)))
		ret = -EDOM;
out:
	free(w);
	free(p);
	return ret;
}

static void race_free(struct race_case *rc)
{
	free(rc->in);
	free(rc->w);
	free(rc->p);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			free(rc->ref[i][j]);
}

/*
 * The flipper: both bytes through every pair of valid versions until told to
 * stop, with an invalid version now and then.  Invalid versions are written
 * and at once replaced, so that most jobs copy valid ones and end DONE, and
 * their outputs are checked; an engine that reads the memory again after
 * its checks still meets them.
 */
struct flipper {
	volatile uint8_t *w_byte;
	volatile uint8_t *p_byte;
	bool invalid_half;
	atomic_int stop;
	unsigned long flips;
};

/*
 * The other mode: version A half the time, invalid versions the other
 * half, so that an engine that reads the shift again after its check
 * meets 0 or 64 many times in a job.
 */
static void flip_invalid_half(struct flipper *f, unsigned long i)
{
	*f->w_byte = w_versions[i % 4 == 3 ? 2 : 0];
	*f->p_byte = p_versions[i & 1 ? 2 + ((i >> 1) & 1) : 0];
}

static void *flip(void *arg)
{
	struct flipper *f = arg;
	unsigned long i;

	for (i = 0; !atomic_load_explicit(&f->stop, memory_order_relaxed); i++) {
		uint8_t w = w_versions[i & 1], p = p_versions[(i >> 1) & 1];

		if (f->invalid_half) {
			flip_invalid_half(f, i);
			continue;
		}

		if (i % 7 == 0)
			*f->w_byte = w_versions[2];
		*f->w_byte = w;
		if (i % 5 == 0)
			*f->p_byte = p_versions[2 + (i / 5) % 2];
		*f->p_byte = p;
	}
	*f->w_byte = w_versions[0];
	*f->p_byte = p_versions[0];
	f->flips = i;
	return NULL;
}

/* A buffer of @len bytes holding @data (NULL: zeroes), mapped at *@map. */
static int race_bo(int fd, const void *data, size_t len, uint32_t *handle, uint8_t **map)
{
	uint64_t off;

	if (_test_cmd_bo_create(fd, len, handle, &off))
		return -errno;
	*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (*map == MAP_FAILED)
		return -errno;
	if (data)
		memcpy(*map, data, len);
	return 0;
}

FIXTURE(race) {
	int dev;
	int fd;
};

FIXTURE_VARIANT(race) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(race, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(race, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(race)
{
	self->fd = -1;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
}

FIXTURE_TEARDOWN(race)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * RACE_JOBS jobs on @rc's buffers while the flipper runs; every result
 * checked as the header says.
 */
static void race_run(struct __test_metadata *_metadata, int fd, struct race_case *rc,
		     bool invalid_half)
{
	uint32_t h_in, h_w, h_p, h_out;
	uint8_t *m_in, *m_w, *m_p, *m_out;
	struct nhot_job jobs[RACE_JOBS];
	struct nhot_job_result res[RACE_JOBS];
	uint64_t ids[RACE_JOBS], first = 0;
	struct flipper f = { 0 };
	unsigned int done = 0, failed = 0, eilseq = 0, mixed = 0;
	pthread_t thread;
	int i, ret;

	ASSERT_EQ(0, race_fill(rc, 0x72616365));	/* "race" */
	ASSERT_EQ(0, race_refs(rc));
	ASSERT_EQ(0, race_bo(fd, rc->in, rc->in_bytes, &h_in, &m_in));
	ASSERT_EQ(0, race_bo(fd, rc->w, rc->w_bytes, &h_w, &m_w));
	ASSERT_EQ(0, race_bo(fd, rc->p, rc->p_bytes, &h_p, &m_p));
	ASSERT_EQ(0, race_bo(fd, NULL, rc->out_bytes * RACE_JOBS, &h_out, &m_out));
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < RACE_JOBS; i++) {
		jobs[i].layer = rc->l;
		jobs[i].input.handle = h_in;
		jobs[i].weights.handle = h_w;
		jobs[i].params.handle = h_p;
		jobs[i].output.handle = h_out;
		jobs[i].output.offset = (uint64_t)i * rc->out_bytes;
	}

	f.invalid_half = invalid_half;
	f.w_byte = m_w + rc->w_at;
	f.p_byte = m_p + rc->p_at;
	ASSERT_EQ(0, pthread_create(&thread, NULL, flip, &f));
	ret = _test_cmd_submit(fd, jobs, RACE_JOBS, &first);
	for (i = 0; i < RACE_JOBS; i++)
		ids[i] = first + i;
	/* generous: a loaded 2-core TCG guest */
	if (!ret)
		ret = _test_cmd_wait(fd, ids, RACE_JOBS, 0, nhot_now_ns() + 300 * NHOT_SEC_NS);
	atomic_store(&f.stop, 1);
	pthread_join(thread, NULL);
	ASSERT_EQ(0, ret) TH_LOG("SUBMIT/WAIT: %s", strerror(errno));

	memset(res, 0, sizeof(res));
	for (i = 0; i < RACE_JOBS; i++)
		res[i].id = ids[i];
	test_cmd_job_status(fd, res, RACE_JOBS, NHOT_STATUS_RELEASE);
	for (i = 0; i < RACE_JOBS; i++) {
		const uint8_t *out = m_out + (size_t)i * rc->out_bytes;
		bool match = false;

		if (res[i].status == NHOT_JOB_FAILED) {
			EXPECT_TRUE(res[i].error == -EILSEQ || res[i].error == -EOVERFLOW)
				TH_LOG("job %d failed with %d", i, res[i].error);
			failed++;
			eilseq += res[i].error == -EILSEQ;
			continue;
		}
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %d", i);
		/* with invalid_half, A is the only valid version of either */
		for (int w = 0; w < (invalid_half ? 1 : 2); w++)
			for (int p = 0; p < (invalid_half ? 1 : 2); p++)
				match |= !memcmp(out, rc->ref[w][p], rc->out_bytes);
		if (!match && !mixed++)
			TH_LOG("job %d: DONE with the output of no single version of the data", i);
		done++;
	}
	TH_LOG("%u jobs done (%u of them mixing versions), %u failed (%u -EILSEQ), %lu rewrites",
	       done, mixed, failed, eilseq, f.flips);
	EXPECT_EQ(0, mixed);
	EXPECT_LT(0UL, f.flips);
	munmap(m_in, rc->in_bytes);
	munmap(m_w, rc->w_bytes);
	munmap(m_p, rc->p_bytes);
	munmap(m_out, rc->out_bytes * RACE_JOBS);
	test_cmd_bo_destroy(fd, h_in);
	test_cmd_bo_destroy(fd, h_w);
	test_cmd_bo_destroy(fd, h_p);
	test_cmd_bo_destroy(fd, h_out);
}

/* FC: 16 rows of K = 256 into 32 channels. */
TEST_F_TIMEOUT(race, fc_params_and_weights_rewritten, 600)
{
	struct race_case rc = {
		.l = {
			.type = NHOT_LAYER_FC, .batch = 16, .in_h = 1, .in_w = 1,
			.in_c = 256, .out_c = 32, .w_n = RACE_N, .w_b = RACE_B,
			.in_zero = 128, .out_zero = 128, .act_max = 255,
		},
	};

	race_run(_metadata, self->fd, &rc, false);
	race_free(&rc);
}

/* CONV2D: 3x3 over 8x8x16, padded, into 16 channels. */
TEST_F_TIMEOUT(race, conv2d_params_and_weights_rewritten, 600)
{
	struct race_case rc = {
		.l = {
			.type = NHOT_LAYER_CONV2D, .batch = 1, .in_h = 8, .in_w = 8,
			.in_c = 16, .out_c = 16, .kernel_h = 3, .kernel_w = 3,
			.stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
			.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1,
			.groups = 1, .w_n = RACE_N, .w_b = RACE_B,
			.in_zero = 128, .out_zero = 128, .act_max = 255,
		},
	};

	race_run(_metadata, self->fd, &rc, false);
	race_free(&rc);
}

/*
 * FC, 64 rows of K = 128 into 16 channels; the shift of channel 0 is
 * 0 or 64 half the time: each job uses it 64 times.  Each job must fail or
 * give version A's output; on an engine that reads the shift after its
 * check, UBSAN (debug kernel) reports the undefined shift.
 */
TEST_F_TIMEOUT(race, fc_shift_rewritten_invalid_half_the_time, 600)
{
	struct race_case rc = {
		.l = {
			.type = NHOT_LAYER_FC, .batch = 64, .in_h = 1, .in_w = 1,
			.in_c = 128, .out_c = 16, .w_n = RACE_N, .w_b = RACE_B,
			.in_zero = 128, .out_zero = 128, .act_max = 255,
		},
	};

	race_run(_metadata, self->fd, &rc, true);
	race_free(&rc);
}

TEST_HARNESS_MAIN
