// SPDX-License-Identifier: GPL-2.0
/*
 * nhot jobs: concurrency (threads, several open files), closing with jobs in
 * flight, WAIT deadlines (ALL and ANY), poll() wakeups, batches, buffers
 * destroyed while in use, and an engine hang recovered by a reset (through
 * the debugfs switches hang_jobs and timeout_ms). One variant per engine
 * kind (sim, pci).
 */
#include <poll.h>
#include <pthread.h>

#include "nhot_util.h"

/* Engine timeout for the hang tests: short, so they stay fast. */
#define HANG_TIMEOUT_MS	200

FIXTURE(jobs) {
	int dev;	/* N of /dev/nhotN */
	int fd;
	unsigned long timeout_ms;	/* the engine's, restored in teardown */
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
};

/* One variant per engine kind, on its first device (nhot_engine.h). */
FIXTURE_VARIANT(jobs) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(jobs, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(jobs, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(jobs)
{
	self->fd = -1;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	ASSERT_EQ(0, nhot_debugfs_read(self->dev, "timeout_ms", &self->timeout_ms));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 0));
	nhot_fc_small(&self->fc, 2, 8, 11);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
}

FIXTURE_TEARDOWN(jobs)
{
	nhot_debugfs_write(self->dev, "hang_jobs", 0);
	if (self->timeout_ms)
		nhot_debugfs_write(self->dev, "timeout_ms", self->timeout_ms);
	if (self->fd >= 0)
		close(self->fd);
}

/* Status of one job (kept). */
static uint32_t job_status(struct __test_metadata *_metadata, int fd, uint64_t id,
			   int32_t *error)
{
	struct nhot_job_result res;

	ASSERT_EQ(0, _test_job_result(fd, id, &res, 0)) TH_LOG("job %llu",
								(unsigned long long)id);
	if (error)
		*error = res.error;
	return res.status;
}

/* ---- batches ---------------------------------------------------------- */

/*
 * count jobs in one SUBMIT, each with its own data in one of the 16 slots
 * (slot i % 16; jobs sharing a slot carry the same data, so the last write
 * wins with the same bytes). All end DONE with the expected output.
 */
static void run_batch(struct __test_metadata *_metadata, int fd, struct nhot_fc_bos *bos,
		      uint32_t count)
{
	struct nhot_fc *fcs = calloc(16, sizeof(*fcs));
	struct nhot_job *jobs = calloc(count, sizeof(*jobs));
	struct nhot_job_result *res = calloc(count, sizeof(*res));
	uint64_t *ids = calloc(count, sizeof(*ids));
	uint64_t first;

	ASSERT_NE(NULL, fcs);
	ASSERT_NE(NULL, jobs);
	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	for (uint32_t s = 0; s < 16 && s < count; s++)
		nhot_fc_small(&fcs[s], 1 + s % 4, 2 + s % 7, 100 + s);
	for (uint32_t i = 0; i < count; i++)
		nhot_fc_job(&fcs[i % 16], bos, i % 16, &jobs[i]);
	test_cmd_submit(fd, jobs, count, &first);
	for (uint32_t i = 0; i < count; i++) {
		ids[i] = first + i;
		res[i].id = first + i;
	}
	test_cmd_wait(fd, ids, count);
	test_cmd_job_status(fd, res, count, NHOT_STATUS_RELEASE);
	for (uint32_t i = 0; i < count; i++) {
		ASSERT_EQ(first + i, res[i].id);
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %u of %u", i, count);
		ASSERT_EQ(fcs[i % 16].macs, res[i].macs);
		ASSERT_EQ(fcs[i % 16].shift_adds, res[i].shift_adds);
		/* Jobs of one file run in submission order. */
		if (i) {
			ASSERT_LE(res[i - 1].end_ns, res[i].start_ns);
		}
	}
	for (uint32_t s = 0; s < 16 && s < count; s++) {
		ASSERT_TRUE(nhot_fc_output_ok(&fcs[s], bos, s)) TH_LOG("slot %u", s);
	}
	free(ids);
	free(res);
	free(jobs);
	free(fcs);
}

TEST_F(jobs, batch_of_1)
{
	run_batch(_metadata, self->fd, &self->bos, 1);
}

TEST_F(jobs, batch_of_16)
{
	run_batch(_metadata, self->fd, &self->bos, 16);
}

TEST_F(jobs, batch_of_256)
{
	run_batch(_metadata, self->fd, &self->bos, 256);
}

/* ---- concurrency ------------------------------------------------------- */

#define THREADS		4
#define THREAD_ROUNDS	25

struct submitter {
	int fd;			/* shared, or the thread's own file */
	int dev;
	bool own_file;
	unsigned int seed;
	int failed;		/* line of the first failed check, 0 when all passed */
	uint64_t ids[THREAD_ROUNDS];
};

#define SUB_CHECK(s, cond) do { if (!(cond) && !(s)->failed) (s)->failed = __LINE__; } while (0)

/* Submits THREAD_ROUNDS jobs one by one, each checked against its own data. */
static void *submit_thread(void *arg)
{
	struct submitter *s = arg;
	struct nhot_fc_bos bos;
	struct nhot_job_result res;
	struct nhot_fc fc;
	struct nhot_job job;

	if (s->own_file) {
		s->fd = nhot_open_dev(s->dev);
		SUB_CHECK(s, s->fd >= 0);
		if (s->fd < 0)
			return NULL;
	}
	SUB_CHECK(s, nhot_fc_bos_create(s->fd, &bos) == 0);
	if (s->failed)
		goto out;
	for (int r = 0; r < THREAD_ROUNDS && !s->failed; r++) {
		nhot_fc_small(&fc, 1 + (s->seed + r) % 4, 8, s->seed * 1000 + r);
		nhot_fc_job(&fc, &bos, r % 16, &job);
		SUB_CHECK(s, _test_cmd_submit(s->fd, &job, 1, &s->ids[r]) == 0);
		SUB_CHECK(s, _test_cmd_wait(s->fd, &s->ids[r], 1, 0,
					    nhot_now_ns() + 10 * NHOT_SEC_NS) == 0);
		SUB_CHECK(s, _test_job_result(s->fd, s->ids[r], &res, NHOT_STATUS_RELEASE) == 0);
		SUB_CHECK(s, res.status == NHOT_JOB_DONE);
		SUB_CHECK(s, nhot_fc_output_ok(&fc, &bos, r % 16));
	}
out:
	if (s->own_file)
		close(s->fd);
	return NULL;
}

static void run_threads(struct __test_metadata *_metadata, int fd, int dev, bool own_file)
{
	struct submitter subs[THREADS];
	pthread_t th[THREADS];

	memset(subs, 0, sizeof(subs));
	for (int i = 0; i < THREADS; i++) {
		subs[i].fd = fd;
		subs[i].dev = dev;
		subs[i].own_file = own_file;
		subs[i].seed = i + 1;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, submit_thread, &subs[i]));
	}
	for (int i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	}
	for (int i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, subs[i].failed) TH_LOG("thread %d failed at line %d", i,
						    subs[i].failed);
	}

	/* Ids: per file, from 1, never reused. */
	for (int i = 0; i < THREADS; i++) {
		for (int r = 0; r < THREAD_ROUNDS; r++) {
			if (own_file) {
				ASSERT_EQ((uint64_t)r + 1, subs[i].ids[r]);
				continue;
			}
			for (int j = 0; j <= i; j++) {
				for (int q = 0; q < (j == i ? r : THREAD_ROUNDS); q++) {
					ASSERT_NE(subs[j].ids[q], subs[i].ids[r]);
				}
			}
		}
	}
}

TEST_F(jobs, threads_share_one_file)
{
	run_threads(_metadata, self->fd, self->dev, false);
}

TEST_F(jobs, threads_with_own_files)
{
	run_threads(_metadata, -1, self->dev, true);
}

/* ---- closing with jobs in flight ----------------------------------------- */

static long module_refcnt(void)
{
	char buf[32] = { 0 };
	int fd = open("/sys/module/nhot/refcnt", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/*
 * 4096 jobs submitted and dropped: each is copied, checked and (PCI) given its
 * scatter-gather tables and page lists.  That is ~16 s on the debug kernel
 * (KASAN, DMA_API_DEBUG) and more under swiotlb=force: the harness's 30 s
 * default is not this test's point.
 */
TEST_F_TIMEOUT(jobs, close_with_jobs_in_flight, 100)
{
	struct nhot_job *jobs = calloc(256, sizeof(*jobs));
	struct nhot_info before, after;
	long refs_before, refs;
	uint64_t first;
	int fd2;

	ASSERT_NE(NULL, jobs);
	refs_before = module_refcnt();
	ASSERT_LE(0, refs_before);
	test_cmd_get_info(self->fd, &before);
	for (int round = 0; round < 8; round++) {
		struct nhot_fc_bos bos;

		fd2 = nhot_open_dev(self->dev);
		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, nhot_fc_bos_create(fd2, &bos));
		for (int i = 0; i < 256; i++)
			nhot_fc_job(&self->fc, &bos, i % 16, &jobs[i]);
		test_cmd_submit(fd2, jobs, 256, &first);
		test_cmd_submit(fd2, jobs, 256, &first);
		/* Drop the buffers (the jobs keep them) and the mappings, then close. */
		test_cmd_bo_destroy(fd2, bos.in);
		munmap(bos.in_map, NHOT_FC_BO_BYTES);
		munmap(bos.w_map, NHOT_FC_BO_BYTES);
		munmap(bos.params_map, NHOT_FC_BO_BYTES);
		munmap(bos.out_map, NHOT_FC_BO_BYTES);
		ASSERT_EQ(0, close(fd2));
	}
	/* The engine drains or cancels them; the module's references come back. */
	for (int i = 0; i < 100 && (refs = module_refcnt()) != refs_before; i++)
		usleep(50000);
	EXPECT_EQ(refs_before, refs);
	/* The engine still works, and its counters add up. */
	run_batch(_metadata, self->fd, &self->bos, 16);
	test_cmd_get_info(self->fd, &after);
	EXPECT_LE(before.jobs_submitted + 8 * 512 + 16, after.jobs_submitted);
	EXPECT_LE(before.jobs_completed + 16, after.jobs_completed);
	free(jobs);
}

/* ---- WAIT deadlines, ANY vs ALL, poll ------------------------------------ */

/* Job 1 done, job 2 hung on the engine: ANY returns, ALL times out. */
TEST_F(jobs, wait_any_vs_all)
{
	struct nhot_job job;
	uint64_t ids[2];
	int32_t err;
	int64_t t0;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", HANG_TIMEOUT_MS * 5));
	nhot_fc_job(&self->fc, &self->bos, 0, &job);
	test_cmd_submit(self->fd, &job, 1, &ids[0]);
	test_cmd_wait(self->fd, &ids[0], 1);
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 1));
	test_cmd_submit(self->fd, &job, 1, &ids[1]);

	/* A deadline in the past and 0 (poll once) on the hung job. */
	test_err_wait(ETIMEDOUT, self->fd, &ids[1], 1, 0, 0);
	test_err_wait(ETIMEDOUT, self->fd, &ids[1], 1, 0, 1);
	test_err_wait(ETIMEDOUT, self->fd, &ids[1], 1, 0, nhot_now_ns() - NHOT_SEC_NS);
	test_err_wait(ETIMEDOUT, self->fd, &ids[1], 1, NHOT_WAIT_ANY, 0);
	/* ANY: job 1 is done. ALL: job 2 is not, the wait lasts to the deadline. */
	ASSERT_EQ(0, _test_cmd_wait(self->fd, ids, 2, NHOT_WAIT_ANY,
				    nhot_now_ns() + NHOT_SEC_NS));
	t0 = nhot_now_ns();
	test_err_wait(ETIMEDOUT, self->fd, ids, 2, 0, t0 + 100 * 1000000LL);
	EXPECT_LE(t0 + 100 * 1000000LL, nhot_now_ns());
	EXPECT_EQ(NHOT_JOB_RUNNING, job_status(_metadata, self->fd, ids[1], NULL));
	/* Then the engine timeout ends it. */
	test_cmd_wait(self->fd, ids, 2);
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, job_status(_metadata, self->fd, ids[1], &err));
	EXPECT_EQ(-ETIMEDOUT, err);
}

struct poller {
	int fd;
	int ret;
	short revents;
	int64_t woke_ns;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN | POLLRDNORM };

	p->ret = poll(&pfd, 1, 20000);
	p->revents = pfd.revents;
	p->woke_ns = nhot_now_ns();
	return NULL;
}

/* A poll() that sleeps is woken by a job finishing, hung ones included. */
TEST_F(jobs, poll_wakes_up)
{
	struct nhot_job_result res;
	struct poller p = { .fd = self->fd };
	struct nhot_job job;
	pthread_t th;
	uint64_t id;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", HANG_TIMEOUT_MS));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, poll_thread, &p));
	usleep(50000);
	nhot_fc_job(&self->fc, &self->bos, 0, &job);
	test_cmd_submit(self->fd, &job, 1, &id);
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(1, p.ret);
	EXPECT_EQ(POLLIN | POLLRDNORM, p.revents & (POLLIN | POLLRDNORM));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	EXPECT_LE(res.end_ns, (uint64_t)p.woke_ns);

	/* And by a normal job. */
	p.ret = -1;
	ASSERT_EQ(0, pthread_create(&th, NULL, poll_thread, &p));
	usleep(50000);
	test_cmd_submit(self->fd, &job, 1, &id);
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(1, p.ret);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 0));
}

/* ---- buffers destroyed while in use ------------------------------------ */

TEST_F(jobs, destroy_buffers_under_queued_jobs)
{
	struct nhot_job *jobs = calloc(256, sizeof(*jobs));
	struct nhot_job_result *res = calloc(256, sizeof(*res));
	uint64_t first, *ids = calloc(256, sizeof(*ids));

	ASSERT_NE(NULL, jobs);
	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	for (int i = 0; i < 256; i++)
		nhot_fc_job(&self->fc, &self->bos, i % 16, &jobs[i]);
	test_cmd_submit(self->fd, jobs, 256, &first);
	/* Every buffer goes; the output stays mapped here. */
	test_cmd_bo_destroy(self->fd, self->bos.in);
	test_cmd_bo_destroy(self->fd, self->bos.w);
	test_cmd_bo_destroy(self->fd, self->bos.params);
	test_cmd_bo_destroy(self->fd, self->bos.out);
	/* New jobs cannot name them. */
	test_err_submit(ENOENT, self->fd, jobs, 1);
	for (int i = 0; i < 256; i++) {
		ids[i] = first + i;
		res[i].id = first + i;
	}
	test_cmd_wait(self->fd, ids, 256);
	test_cmd_job_status(self->fd, res, 256, NHOT_STATUS_RELEASE);
	for (int i = 0; i < 256; i++) {
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %d", i);
	}
	/* The jobs wrote into the destroyed output, seen through the mapping. */
	for (int s = 0; s < 16; s++) {
		ASSERT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, s)) TH_LOG("slot %d", s);
	}
	free(ids);
	free(res);
	free(jobs);
}

TEST_F(jobs, destroy_buffer_under_a_hung_job)
{
	struct nhot_job_result res;
	struct nhot_job job;
	uint64_t ids[2];

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", HANG_TIMEOUT_MS));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 1));
	nhot_fc_job(&self->fc, &self->bos, 0, &job);
	test_cmd_submit(self->fd, &job, 1, &ids[0]);
	nhot_fc_job(&self->fc, &self->bos, 1, &job);
	test_cmd_submit(self->fd, &job, 1, &ids[1]);
	test_cmd_bo_destroy(self->fd, self->bos.out);
	ASSERT_EQ(0, munmap(self->bos.out_map, NHOT_FC_BO_BYTES));
	test_cmd_wait(self->fd, ids, 2);
	ASSERT_EQ(0, _test_job_result(self->fd, ids[0], &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	ASSERT_EQ(0, _test_job_result(self->fd, ids[1], &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
}

/* ---- an engine hang, recovered by a reset ------------------------------ */

TEST_F(jobs, hang_recovered_by_reset)
{
	struct nhot_info before, after;
	struct nhot_job_result res[4];
	struct nhot_fc fcs[4];
	struct nhot_job jobs[4];
	uint64_t first, ids[4];
	int64_t t0;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", HANG_TIMEOUT_MS));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "hang_jobs", 1));
	test_cmd_get_info(self->fd, &before);
	for (int i = 0; i < 4; i++) {
		nhot_fc_small(&fcs[i], 2, 8, 40 + i);
		nhot_fc_job(&fcs[i], &self->bos, i, &jobs[i]);
	}
	t0 = nhot_now_ns();
	test_cmd_submit(self->fd, jobs, 4, &first);
	memset(res, 0, sizeof(res));
	for (int i = 0; i < 4; i++) {
		ids[i] = first + i;
		res[i].id = first + i;
	}
	test_cmd_wait(self->fd, ids, 4);
	test_cmd_job_status(self->fd, res, 4, NHOT_STATUS_RELEASE);

	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res[0].status);
	EXPECT_EQ(-ETIMEDOUT, res[0].error);
	/* It ran at least the engine timeout. */
	EXPECT_LE(res[0].start_ns + HANG_TIMEOUT_MS * 1000000ULL, res[0].end_ns);
	EXPECT_LE(t0 + HANG_TIMEOUT_MS * 1000000LL, nhot_now_ns());
	for (int i = 1; i < 4; i++) {
		EXPECT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %d", i);
		EXPECT_EQ(0, res[i].error);
		EXPECT_TRUE(nhot_fc_output_ok(&fcs[i], &self->bos, i)) TH_LOG("job %d", i);
	}
	test_cmd_get_info(self->fd, &after);
	EXPECT_LE(before.resets + 1, after.resets);
	EXPECT_LE(before.jobs_timed_out + 1, after.jobs_timed_out);
	EXPECT_LE(before.jobs_completed + 3, after.jobs_completed);
	/* The switch counted down: the next job runs normally. */
	run_batch(_metadata, self->fd, &self->bos, 1);
}

TEST_HARNESS_MAIN
