// SPDX-License-Identifier: GPL-2.0
/*
 * nhot job lifetimes (issue #14 items 5, 8, 16): WAIT with deadlines long
 * past, close() while a hung engine holds a job of the file, and the job
 * deadline that grows with the job's modeled time (docs/uapi.md section 3).
 * One variant per engine kind (sim, pci).
 */
#include <limits.h>
#include <stdio.h>

#include <linux/nhot_netlink.h>

#include "nhot_util.h"
#include "nhot_genl.h"

/* The engine timeout of the tests that wait for a hung job to time out. */
#define SHORT_TIMEOUT_MS	300
/* "At once": far below any engine timeout used here, generous under TCG. */
#define PROMPT_NS		(NHOT_SEC_NS / 2)

FIXTURE(life) {
	int dev;	/* N of /dev/nhotN */
	int fd;
	unsigned long timeout_ms;	/* the engine's, restored in teardown */
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
};

FIXTURE_VARIANT(life) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(life, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(life, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(life)
{
	self->fd = -1;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	ASSERT_EQ(0, nhot_debugfs_read(self->dev, "timeout_ms", &self->timeout_ms));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 0));
	nhot_fc_small(&self->fc, 2, 8, 7);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
}

FIXTURE_TEARDOWN(life)
{
	nhot_debugfs_write(self->dev, "hang_jobs", 0);
	if (self->timeout_ms)
		nhot_debugfs_write(self->dev, "timeout_ms", self->timeout_ms);
	if (self->fd >= 0)
		close(self->fd);
}

static uint32_t job_status(struct __test_metadata *_metadata, int fd, uint64_t id)
{
	struct nhot_job_result res;

	EXPECT_EQ(0, _test_job_result(fd, id, &res, 0)) TH_LOG("job %llu",
								(unsigned long long)id);
	return res.status;
}

/* Submits one small FC job on fd that hangs on the engine; its id. */
static uint64_t submit_hung(struct __test_metadata *_metadata, int dev, int fd,
			    const struct nhot_fc *fc, const struct nhot_fc_bos *bos)
{
	struct nhot_job job;
	uint64_t id = 0;

	EXPECT_EQ(0, nhot_debugfs_write(dev, "hang_jobs", 1));
	nhot_fc_job(fc, bos, 0, &job);
	EXPECT_EQ(0, _test_cmd_submit(fd, &job, 1, &id));
	return id;
}

/* ---- item 5: WAIT with a deadline long past ------------------------------ */

/*
 * Every deadline at or before now returns -ETIMEDOUT at once for a job that
 * does not finish, however far in the past (INT64_MIN used to wrap into a
 * sleep that only the job's end cut short).
 */
TEST_F(life, wait_deadline_in_the_past_returns_at_once)
{
	const int64_t past[] = {
		INT64_MIN, INT64_MIN + 1, -NHOT_SEC_NS, -1, 0, 1,
		nhot_now_ns() - NHOT_SEC_NS, nhot_now_ns() - 1,
	};
	uint64_t id;

	/* long enough that a wrapped sleep shows, short enough to end the test */
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", 5000));
	id = submit_hung(_metadata, self->dev, self->fd, &self->fc, &self->bos);
	ASSERT_NE(0, id);
	EXPECT_EQ(NHOT_JOB_RUNNING, job_status(_metadata, self->fd, id));
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		for (uint32_t flags = 0; flags <= NHOT_WAIT_ANY; flags += NHOT_WAIT_ANY) {
			int64_t t0 = nhot_now_ns();

			EXPECT_EQ(-1, _test_cmd_wait(self->fd, &id, 1, flags, past[i]))
				TH_LOG("deadline %lld flags %u", (long long)past[i], flags);
			EXPECT_EQ(ETIMEDOUT, errno);
			EXPECT_GT(t0 + PROMPT_NS, nhot_now_ns())
				TH_LOG("deadline %lld flags %u: %lld ms", (long long)past[i], flags,
				       (long long)(nhot_now_ns() - t0) / 1000000);
		}
	}
	EXPECT_EQ(NHOT_JOB_RUNNING, job_status(_metadata, self->fd, id));
	/* a deadline in the future still waits for the job (its timeout) */
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, nhot_now_ns() + 60 * NHOT_SEC_NS));
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, job_status(_metadata, self->fd, id));
}

/* ---- item 8: close() while a hung engine holds a job of the file ----- */

/* The live objects of a debugfs "objects" file, by kind. */
struct objects {
	long files, buffers, jobs, mappings;
};

static int objects_read(const char *path, struct objects *o)
{
	char name[32];
	long n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	memset(o, 0, sizeof(*o));
	while (fscanf(f, "%31s %ld", name, &n) == 2) {
		if (!strcmp(name, "files"))
			o->files = n;
		else if (!strcmp(name, "buffers"))
			o->buffers = n;
		else if (!strcmp(name, "jobs"))
			o->jobs = n;
		else if (!strcmp(name, "mappings"))
			o->mappings = n;
	}
	fclose(f);
	return 0;
}

static void dev_objects_path(char *buf, size_t len, int dev)
{
	snprintf(buf, len, "/sys/kernel/debug/nhot/nhot%d/objects", dev);
}

/* Whether the objects at path come back to want within 10 s (freed by a work item). */
static bool objects_settle(const char *path, const struct objects *want, struct objects *got)
{
	int64_t t0 = nhot_now_ns();

	do {
		if (objects_read(path, got))
			return false;
		if (!memcmp(got, want, sizeof(*got)))
			return true;
		usleep(20000);
	} while (nhot_now_ns() - t0 < 10 * NHOT_SEC_NS);
	return false;
}

/* Waits until job id of fd runs (the engine took it). */
static void wait_running(struct __test_metadata *_metadata, int fd, uint64_t id)
{
	int64_t t0 = nhot_now_ns();
	uint32_t st;

	do {
		st = job_status(_metadata, fd, id);
	} while (st == NHOT_JOB_QUEUED && nhot_now_ns() - t0 < 10 * NHOT_SEC_NS);
	ASSERT_EQ(NHOT_JOB_RUNNING, st);
}

static void unmap_fc_bos(struct nhot_fc_bos *bos)
{
	munmap(bos->in_map, NHOT_FC_BO_BYTES);
	munmap(bos->w_map, NHOT_FC_BO_BYTES);
	munmap(bos->params_map, NHOT_FC_BO_BYTES);
	munmap(bos->out_map, NHOT_FC_BO_BYTES);
}

/*
 * A file whose job hangs on the engine closes at once; the job lives on,
 * holding the engine until the timeout's reset frees it; then the next
 * job of another file runs, and every object of the closed file is gone.
 */
TEST_F(life, close_with_a_hung_job_returns_at_once)
{
	struct nhot_info before, after;
	struct objects base, got;
	struct nhot_job_result res;
	struct nhot_fc_bos bos2;
	struct nhot_job job;
	char path[96];
	uint64_t id, id2;
	int64_t t0;
	int fd2;

	/* long enough that waiting for it shows, short enough for a test */
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", 4000));
	dev_objects_path(path, sizeof(path), self->dev);
	ASSERT_EQ(0, objects_read(path, &base));
	test_cmd_get_info(self->fd, &before);

	fd2 = nhot_open_dev(self->dev);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, nhot_fc_bos_create(fd2, &bos2));
	id2 = submit_hung(_metadata, self->dev, fd2, &self->fc, &bos2);
	ASSERT_NE(0, id2);
	wait_running(_metadata, fd2, id2);
	unmap_fc_bos(&bos2);

	t0 = nhot_now_ns();
	ASSERT_EQ(0, close(fd2));
	EXPECT_GT(t0 + PROMPT_NS, nhot_now_ns())
		TH_LOG("close took %lld ms", (long long)(nhot_now_ns() - t0) / 1000000);

	/* the engine is still usable: another file's job runs after the hung one */
	nhot_fc_job(&self->fc, &self->bos, 1, &job);
	test_cmd_submit(self->fd, &job, 1, &id);
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, nhot_now_ns() + 60 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 1));
	test_cmd_get_info(self->fd, &after);
	/* sim: the hung job ignored the cancel and timed out; pci: either */
	if (variant->kind == NHOT_ENGINE_SIM) {
		EXPECT_EQ(before.jobs_timed_out + 1, after.jobs_timed_out);
	}

	/* the closed file, its buffers and its job are all freed */
	EXPECT_TRUE(objects_settle(path, &base, &got))
		TH_LOG("files %ld buffers %ld jobs %ld mappings %ld, want %ld %ld %ld %ld",
		       got.files, got.buffers, got.jobs, got.mappings,
		       base.files, base.buffers, base.jobs, base.mappings);
}

static int nl_open(struct nhot_genl *nl)
{
	int ret = nhot_genl_socket(nl);

	return ret ? ret : nhot_genl_resolve(nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR);
}

/*
 * The hour-long timeout (the largest): close() returns at once, the job
 * outlives its file, and removing the device ends it and frees everything
 * at once; the module-wide objects come back to where they were.
 */
TEST(close_then_remove_with_an_hour_long_timeout)
{
	const char *total = "/sys/kernel/debug/nhot/objects";
	struct objects base, got;
	struct nhot_fc_bos bos;
	struct nhot_genl nl;
	struct nhot_fc fc;
	uint32_t dev;
	uint64_t id;
	int64_t t0;
	int fd;

	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	ASSERT_EQ(0, nl_open(&nl));
	ASSERT_EQ(0, objects_read(total, &base));
	ASSERT_EQ(0, nhot_genl_dev_new(&nl, 0, 0, 3600000, &dev, NULL));
	fd = nhot_open_dev(dev);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 3, 6, 21);
	id = submit_hung(_metadata, dev, fd, &fc, &bos);
	ASSERT_NE(0, id);
	wait_running(_metadata, fd, id);
	unmap_fc_bos(&bos);

	t0 = nhot_now_ns();
	ASSERT_EQ(0, close(fd));
	EXPECT_GT(t0 + PROMPT_NS, nhot_now_ns())
		TH_LOG("close took %lld ms", (long long)(nhot_now_ns() - t0) / 1000000);
	/* the job and its file live on while the engine holds the job */
	ASSERT_EQ(0, objects_read(total, &got));
	EXPECT_EQ(base.files + 1, got.files);
	EXPECT_EQ(base.jobs + 1, got.jobs);

	t0 = nhot_now_ns();
	ASSERT_EQ(0, nhot_genl_dev_del(&nl, dev));
	EXPECT_GT(t0 + 5 * NHOT_SEC_NS, nhot_now_ns());
	/* removal waited for the orphan's end: nothing is left, at once */
	ASSERT_EQ(0, objects_read(total, &got));
	EXPECT_EQ(0, memcmp(&base, &got, sizeof(got)))
		TH_LOG("files %ld buffers %ld jobs %ld mappings %ld, want %ld %ld %ld %ld",
		       got.files, got.buffers, got.jobs, got.mappings,
		       base.files, base.buffers, base.jobs, base.mappings);
	nhot_genl_close(&nl);
}

/* ---- item 16: the deadline grows with the job ---------------------------- */

/* A big FC job: 1 x BIG_K inputs, BIG_OUT channels, n 4 b 8 (one code a byte). */
#define BIG_K		4096
#define BIG_OUT		1024

struct big_job {
	uint32_t in, w, params, out;
	struct nhot_job job;
};

static int big_bo(int fd, uint64_t bytes, uint32_t *handle, uint8_t fill)
{
	uint64_t off;
	void *map;

	if (_test_cmd_bo_create(fd, bytes, handle, &off))
		return -errno;
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (map == MAP_FAILED)
		return -errno;
	memset(map, fill, bytes);
	return munmap(map, bytes) ? -errno : 0;
}

/* out_c channels of the big FC; every weight -127 (code 0), every shift 1. */
static int big_job_make(int fd, uint32_t out_c, struct big_job *b)
{
	struct nhot_chan_params *p;
	uint64_t off = 0;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = big_bo(fd, BIG_K, &b->in, 3);
	if (!ret)
		ret = big_bo(fd, (uint64_t)BIG_K * out_c, &b->w, 0);
	if (!ret)
		ret = big_bo(fd, out_c, &b->out, 0);
	if (!ret && _test_cmd_bo_create(fd, out_c * sizeof(*p), &b->params, &off))
		ret = -errno;
	if (ret)
		return ret;
	p = mmap(NULL, out_c * sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		return -errno;
	for (uint32_t o = 0; o < out_c; o++)
		p[o] = (struct nhot_chan_params){ .bias = 0, .mult = 1, .shift = 1 };
	munmap(p, out_c * sizeof(*p));

	b->job.layer.type = NHOT_LAYER_FC;
	b->job.layer.batch = 1;
	b->job.layer.in_h = 1;
	b->job.layer.in_w = 1;
	b->job.layer.in_c = BIG_K;
	b->job.layer.out_c = out_c;
	b->job.layer.w_n = 4;
	b->job.layer.w_b = 8;
	b->job.layer.act_max = 255;
	b->job.input.handle = b->in;
	b->job.weights.handle = b->w;
	b->job.params.handle = b->params;
	b->job.output.handle = b->out;
	return 0;
}

/* docs/uapi.md section 3: the allowance of one unit of a job's work. */
#define WORK_NS		1000ULL

/* The work of the big FC: products + input + output elements. */
static uint64_t big_work(uint32_t out_c)
{
	return (uint64_t)BIG_K * out_c + BIG_K + out_c;
}

/*
 * timeout_ms 1: a job that runs far longer than 1 ms (150..620 ms for these
 * 4 M products under TCG) completes DONE: its deadline includes its work.
 */
TEST_F(life, big_job_outlives_a_short_timeout)
{
	struct nhot_job_result res;
	struct big_job b;
	uint64_t id;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", 1));
	ASSERT_EQ(0, big_job_make(self->fd, BIG_OUT, &b));
	test_cmd_submit(self->fd, &b.job, 1, &id);
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, nhot_now_ns() + 120 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("error %d after %llu us", res.error,
		(unsigned long long)(res.end_ns - res.start_ns) / 1000);
	EXPECT_EQ((uint64_t)BIG_K * BIG_OUT, res.macs);
	/* it did take longer than timeout_ms alone */
	EXPECT_LT(1000000ULL, res.end_ns - res.start_ns);
}

/*
 * A hung job times out at start + timeout_ms + its work allowance: not
 * before, and not long after (the timer's slack under TCG).
 */
TEST_F(life, hung_job_deadline_is_timeout_plus_work)
{
	const uint64_t allowance = big_work(BIG_OUT / 4) * WORK_NS;
	const uint64_t timeout = SHORT_TIMEOUT_MS * 1000000ULL;
	struct nhot_job_result res;
	struct big_job b;
	int64_t t0;
	uint64_t id;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", SHORT_TIMEOUT_MS));
	ASSERT_EQ(0, big_job_make(self->fd, BIG_OUT / 4, &b));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 1));
	t0 = nhot_now_ns();
	test_cmd_submit(self->fd, &b.job, 1, &id);
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, nhot_now_ns() + 60 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	EXPECT_EQ(-ETIMEDOUT, res.error);
	EXPECT_LE(res.start_ns + timeout + allowance, res.end_ns)
		TH_LOG("ran %llu ms, deadline %llu ms",
		       (unsigned long long)(res.end_ns - res.start_ns) / 1000000,
		       (unsigned long long)(timeout + allowance) / 1000000);
	EXPECT_GT(res.start_ns + timeout + allowance + 10 * NHOT_SEC_NS, res.end_ns);
	EXPECT_LE(t0 + (int64_t)(timeout + allowance), nhot_now_ns());
}

TEST_HARNESS_MAIN
