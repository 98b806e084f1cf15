// SPDX-License-Identifier: GPL-2.0
/*
 * nhot buffer memory (docs/uapi.md, BO_CREATE, mmap and section 4):
 *  - a buffer counts against its file's limits until its memory is freed:
 *    destroyed buffers that unreleased jobs or mappings still hold cannot
 *    pin more than max_file_bytes.
 * One variant per engine kind (sim, pci).
 */
#include "nhot_util.h"

#define PAGE		4096UL

FIXTURE(memory) {
	int dev;
	int fd;
	struct nhot_info info;
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
};

FIXTURE_VARIANT(memory) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(memory, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(memory, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(memory)
{
	self->fd = -1;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	test_cmd_get_info(self->fd, &self->info);
	nhot_fc_small(&self->fc, 2, 8, 23);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
}

FIXTURE_TEARDOWN(memory)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Submits one FC job whose output is the first bytes of buffer @out. */
static uint64_t submit_writing(struct __test_metadata *_metadata, FIXTURE_DATA(memory) *self,
			       uint32_t out)
{
	struct nhot_job job;
	uint64_t id;

	nhot_fc_job(&self->fc, &self->bos, 0, &job);
	job.output.handle = out;
	job.output.offset = 0;
	test_cmd_submit(self->fd, &job, 1, &id);
	return id;
}

/* Releases jobs first .. first + count - 1; all must have ended DONE. */
static void release_jobs(struct __test_metadata *_metadata, int fd, uint64_t first,
			 uint32_t count)
{
	struct nhot_job_result *res = calloc(count, sizeof(*res));
	uint64_t *ids = calloc(count, sizeof(*ids));

	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	for (uint32_t i = 0; i < count; i++) {
		ids[i] = first + i;
		res[i].id = first + i;
	}
	test_cmd_wait(fd, ids, count);
	test_cmd_job_status(fd, res, count, NHOT_STATUS_RELEASE);
	for (uint32_t i = 0; i < count; i++) {
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %u", i);
	}
	free(res);
	free(ids);
}

/* ---- limits count a buffer until its memory is freed ------------------- */

/*
 * The loop of issue #14: create the largest buffer, submit a job writing it,
 * destroy it, again; jobs never released.  The held jobs keep the buffers,
 * so they keep counting: the file never holds more than max_file_bytes
 * (before the fix every round succeeded, without bound).
 */
TEST_F(memory, destroyed_buffers_held_by_jobs_count)
{
	const uint64_t chunk = self->info.max_buffer_bytes;
	/* the fixture's four FC buffers count too */
	const uint64_t fits = (self->info.max_file_bytes - 4 * NHOT_FC_BO_BYTES) / chunk;
	uint64_t first = 0, id;
	uint32_t h, created = 0;
	int ret;

	for (uint64_t round = 0; round <= fits + 1; round++) {
		ret = _test_cmd_bo_create(self->fd, chunk, &h, NULL);
		if (ret)
			break;
		id = submit_writing(_metadata, self, h);
		if (!first)
			first = id;
		test_cmd_bo_destroy(self->fd, h);
		created++;
	}
	ASSERT_EQ(-1, ret) TH_LOG("%u buffers of %llu bytes destroyed while held, limit %llu",
				  created, (unsigned long long)chunk,
				  (unsigned long long)self->info.max_file_bytes);
	ASSERT_EQ(EDQUOT, errno);
	ASSERT_EQ(fits, created);

	/* Once the jobs are released, the buffers are freed and the room is back. */
	release_jobs(_metadata, self->fd, first, created);
	test_cmd_bo_create(self->fd, chunk, &h, NULL);
	test_cmd_bo_destroy(self->fd, h);
}

/* The same with mappings: a mapped destroyed buffer counts until munmap. */
TEST_F(memory, destroyed_buffers_held_by_mappings_count)
{
	const uint64_t chunk = self->info.max_buffer_bytes;
	const uint64_t fits = (self->info.max_file_bytes - 4 * NHOT_FC_BO_BYTES) / chunk;
	uint8_t *maps[64];
	uint32_t h, created = 0;
	uint64_t off;
	int ret;

	ASSERT_GT(64, fits + 1);
	for (uint64_t round = 0; round <= fits + 1; round++) {
		ret = _test_cmd_bo_create(self->fd, chunk, &h, &off);
		if (ret)
			break;
		maps[created] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
		ASSERT_NE(MAP_FAILED, maps[created]);
		test_cmd_bo_destroy(self->fd, h);
		maps[created][0] = created;
		created++;
	}
	ASSERT_EQ(-1, ret) TH_LOG("%u mapped buffers of %llu bytes destroyed, limit %llu",
				  created, (unsigned long long)chunk,
				  (unsigned long long)self->info.max_file_bytes);
	ASSERT_EQ(EDQUOT, errno);
	ASSERT_EQ(fits, created);
	/* One buffer of them unmapped: room for one. */
	ASSERT_EQ(0, munmap(maps[--created], PAGE));
	test_cmd_bo_create(self->fd, chunk, &h, NULL);
	test_err_bo_create(EDQUOT, self->fd, chunk);
	for (uint32_t i = 0; i < created; i++) {
		ASSERT_EQ((uint8_t)i, maps[i][0]);
		ASSERT_EQ(0, munmap(maps[i], PAGE));
	}
}

/*
 * A mapping outlives its file and keeps counting against that file's
 * limits, not the next file's: a new file gets its whole quota.
 */
TEST_F(memory, mapping_outlives_file)
{
	uint64_t off;
	uint32_t h;
	uint8_t *p;
	int fd2;

	test_cmd_bo_create(self->fd, self->info.max_buffer_bytes, &h, &off);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0x5a;
	close(self->fd);
	self->fd = -1;
	fd2 = nhot_open_dev(self->dev);
	ASSERT_LE(0, fd2);
	test_cmd_bo_create(fd2, self->info.max_buffer_bytes, &h, NULL);
	ASSERT_EQ(0x5a, p[0]);
	ASSERT_EQ(0, munmap(p, PAGE));
	close(fd2);
}

TEST_HARNESS_MAIN
