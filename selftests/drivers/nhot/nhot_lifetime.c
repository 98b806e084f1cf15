// SPDX-License-Identifier: GPL-2.0
/*
 * nhot job lifetimes (issue #14 items 5, 8, 16): WAIT with deadlines long
 * past, close() while a hung engine holds a job of the file, and the job
 * deadline that grows with the job's modeled time (docs/uapi.md section 3).
 * One variant per engine kind (sim, pci).
 */
#include <limits.h>

#include "nhot_util.h"

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

TEST_HARNESS_MAIN
