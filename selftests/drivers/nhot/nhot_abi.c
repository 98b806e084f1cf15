// SPDX-License-Identifier: GPL-2.0
/*
 * nhot ioctl ABI: every ioctl's success path and every way to get each
 * argument wrong (uapi/linux/nhot.h, docs/uapi.md, docs/arith.md section 3).
 * One FIXTURE_VARIANT per engine kind: "sim" runs on the first simulated
 * device, "pci" on the first PCI engine (skipped in a guest without one).
 */
#include <poll.h>
#include <stddef.h>

#include "nhot_util.h"

FIXTURE(abi) {
	int dev;	/* N of /dev/nhotN */
	int fd;
	struct nhot_info info;
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
	struct nhot_job job;	/* a valid FC job over bos, slot 0 */
};

/* One variant per engine kind, on its first device (nhot_engine.h). */
FIXTURE_VARIANT(abi) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(abi, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(abi, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(abi)
{
	self->fd = -1;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	test_cmd_get_info(self->fd, &self->info);
	nhot_fc_small(&self->fc, 4, 8, 1);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
	nhot_fc_job(&self->fc, &self->bos, 0, &self->job);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Submits one job, expects the submit to fail with errno. */
#define test_err_job(_errno, job) test_err_submit(_errno, self->fd, job, 1)

/* Submits one job, waits, returns its result (released). */
static void run_one(struct __test_metadata *_metadata, int fd, const struct nhot_job *job,
		    struct nhot_job_result *res)
{
	uint64_t id;

	test_cmd_submit(fd, job, 1, &id);
	test_cmd_wait(fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(fd, id, res, NHOT_STATUS_RELEASE));
	ASSERT_EQ(id, res->id);
}

/* ---- success paths --------------------------------------------------- */

TEST_F(abi, get_info_fields)
{
	struct nhot_info *info = &self->info;

	EXPECT_EQ(NHOT_ABI_VERSION, info->abi_version);
	EXPECT_EQ(variant->kind, info->engine_kind);
	EXPECT_EQ(sizeof(*info), info->size);
	EXPECT_EQ(0, info->flags);
	EXPECT_EQ(NHOT_ALL_LAYER_TYPES, info->layer_types);
	EXPECT_EQ(NHOT_ALL_N, info->n_mask);
	EXPECT_EQ(NHOT_ALL_B, info->b_mask);
	EXPECT_EQ(NHOT_DEF_MAX_JOBS_PER_SUBMIT, info->max_jobs_per_submit);
	EXPECT_EQ(NHOT_DEF_MAX_JOBS, info->max_jobs);
	EXPECT_EQ(NHOT_DEF_MAX_BUFFERS, info->max_buffers);
	EXPECT_EQ(NHOT_DEF_MAX_BUFFER_BYTES, info->max_buffer_bytes);
	EXPECT_EQ(NHOT_DEF_MAX_FILE_BYTES, info->max_file_bytes);
	EXPECT_EQ(NHOT_DEF_PE_COUNT, info->pe_count);
	EXPECT_EQ(NHOT_DEF_CLOCK_MHZ, info->clock_mhz);
	EXPECT_LE(info->jobs_completed + info->jobs_failed + info->jobs_timed_out,
		  info->jobs_submitted);
}

TEST_F(abi, get_info_counts_a_job)
{
	struct nhot_info before, after;
	struct nhot_job_result res;

	test_cmd_get_info(self->fd, &before);
	run_one(_metadata, self->fd, &self->job, &res);
	test_cmd_get_info(self->fd, &after);
	/* Other tests may run on this engine at once: at least ours counts. */
	EXPECT_LE(before.jobs_submitted + 1, after.jobs_submitted);
	EXPECT_LE(before.jobs_completed + 1, after.jobs_completed);
	EXPECT_LE(before.macs + self->fc.macs, after.macs);
	EXPECT_LE(before.shift_adds + self->fc.shift_adds, after.shift_adds);
	EXPECT_LE(before.cycles + res.cycles, after.cycles);
}

TEST_F(abi, bo_create_mmap_write_read_destroy)
{
	const uint64_t lens[] = { 1, 4095, 4096, 4097, 65536 + 3 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		uint64_t off, len = lens[i];
		uint32_t handle;
		uint8_t *p;

		test_cmd_bo_create(self->fd, len, &handle, &off);
		EXPECT_NE(0, handle);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
		ASSERT_NE(MAP_FAILED, p);
		/* A new buffer reads as zeros. */
		for (uint64_t j = 0; j < len; j++) {
			ASSERT_EQ(0, p[j]);
		}
		for (uint64_t j = 0; j < len; j++)
			p[j] = (uint8_t)(j * 7 + i);
		ASSERT_EQ(0, munmap(p, len));
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, off);
		ASSERT_NE(MAP_FAILED, p);
		for (uint64_t j = 0; j < len; j++) {
			ASSERT_EQ((uint8_t)(j * 7 + i), p[j]);
		}
		ASSERT_EQ(0, munmap(p, len));
		test_cmd_bo_destroy(self->fd, handle);
		test_err_bo_destroy(ENOENT, self->fd, handle);
	}
}

TEST_F(abi, bo_handles_unique)
{
	uint32_t h[64];
	/* Within max_buffers, next to the fixture's four. */
	int count = self->info.max_buffers - 4 < 64 ? self->info.max_buffers - 4 : 64;

	for (int i = 0; i < count; i++) {
		test_cmd_bo_create(self->fd, 4096, &h[i], NULL);
		ASSERT_NE(0, h[i]);
		EXPECT_NE(self->bos.in, h[i]);
		EXPECT_NE(self->bos.out, h[i]);
		for (int j = 0; j < i; j++) {
			ASSERT_NE(h[j], h[i]);
		}
	}
	for (int i = 0; i < count; i += 2) {
		test_cmd_bo_destroy(self->fd, h[i]);
	}
	for (int i = 1; i < count; i += 2) {
		test_cmd_bo_destroy(self->fd, h[i]);
	}
}

TEST_F(abi, submit_fc_job_done)
{
	struct nhot_job_result res;
	uint64_t t0 = nhot_now_ns();

	run_one(_metadata, self->fd, &self->job, &res);
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_EQ(0, res.error);
	EXPECT_EQ(self->fc.macs, res.macs);
	EXPECT_EQ(self->fc.shift_adds, res.shift_adds);
	EXPECT_LT(0, res.cycles);
	EXPECT_LE(t0, res.queued_ns);
	EXPECT_LE(res.queued_ns, res.start_ns);
	EXPECT_LE(res.start_ns, res.end_ns);
	EXPECT_LE(res.end_ns, (uint64_t)nhot_now_ns());
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 0));
}

/* Every (n, b) of the set table, packed by the test from docs/arith.md. */
TEST_F(abi, submit_fc_every_n_b)
{
	for (int n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (int b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
			struct nhot_job_result res;
			struct nhot_fc fc;
			struct nhot_job job;

			nhot_fc_small(&fc, n, b, n * 16 + b);
			nhot_fc_job(&fc, &self->bos, 1, &job);
			run_one(_metadata, self->fd, &job, &res);
			EXPECT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("n=%d b=%d", n, b);
			EXPECT_EQ(fc.shift_adds, res.shift_adds) TH_LOG("n=%d b=%d", n, b);
			EXPECT_TRUE(nhot_fc_output_ok(&fc, &self->bos, 1))
				TH_LOG("n=%d b=%d", n, b);
		}
	}
}

TEST_F(abi, job_ids_start_at_one_and_count_up)
{
	struct nhot_job jobs[3] = { self->job, self->job, self->job };
	uint64_t id, ids[4];

	test_cmd_submit(self->fd, &self->job, 1, &id);
	EXPECT_EQ(1, id);
	test_cmd_submit(self->fd, jobs, 3, &id);
	EXPECT_EQ(2, id);
	for (int i = 0; i < 4; i++)
		ids[i] = i + 1;
	test_cmd_wait(self->fd, ids, 4);
}

TEST_F(abi, job_status_with_and_without_release)
{
	struct nhot_job_result res[2];
	uint64_t id;

	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	/* Without RELEASE: the job stays, twice. */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, _test_job_result(self->fd, id, &res[i], 0));
		EXPECT_EQ(NHOT_JOB_DONE, res[i].status);
	}
	EXPECT_EQ(0, memcmp(&res[0], &res[1], sizeof(res[0])));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res[0], NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res[0].status);
	EXPECT_EQ(0, memcmp(&res[0], &res[1], sizeof(res[0])));
	/* Released: gone. */
	EXPECT_ERRNO(ENOENT, _test_job_result(self->fd, id, &res[0], 0));
	test_err_wait(ENOENT, self->fd, &id, 1, 0, 0);
}

TEST_F(abi, poll_readable_while_a_finished_job_is_held)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLRDNORM };
	struct nhot_job_result res;
	uint64_t id;

	ASSERT_EQ(0, poll(&pfd, 1, 0));
	test_cmd_submit(self->fd, &self->job, 1, &id);
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents & (POLLIN | POLLRDNORM));
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
}

TEST_F(abi, wait_deadline_zero_polls_once)
{
	uint64_t id;

	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	/* A finished job: deadline 0 and a deadline in the past both succeed. */
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, 0));
	ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, NHOT_WAIT_ANY, 1));
}

/* ---- struct sizes (iommufd's cmd_length) ----------------------------- */

/*
 * _min - 1 (the first version's size, minus one) -> EINVAL; size + 1 with
 * a non-zero tail byte -> E2BIG; size + 1 with a zero tail -> the same
 * result as the exact size.
 * PREP re-initialises cmd.cmd before each call (it may create objects),
 * POST looks at the result of the last call.
 */
#define TEST_LENGTH(_struct, _min, _ioctl, PREP, POST)                              \
	do {                                                                  \
		struct {                                                      \
			struct _struct cmd;                                   \
			uint8_t extra;                                        \
		} __attribute__((packed)) cmd;                                \
		int rc, old_errno;                                            \
									      \
		memset(&cmd, 0, sizeof(cmd));                                 \
		PREP;                                                         \
		cmd.cmd.size = (_min) - 1;                                    \
		cmd.extra = 0xff;                                             \
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, _ioctl, &cmd));          \
		memset(&cmd, 0, sizeof(cmd));                                 \
		PREP;                                                         \
		cmd.cmd.size = sizeof(struct _struct) + 1;                    \
		cmd.extra = 0xff;                                             \
		EXPECT_ERRNO(E2BIG, ioctl(self->fd, _ioctl, &cmd));           \
		memset(&cmd, 0, sizeof(cmd));                                 \
		PREP;                                                         \
		cmd.cmd.size = sizeof(struct _struct);                        \
		rc = ioctl(self->fd, _ioctl, &cmd);                           \
		old_errno = errno;                                            \
		memset(&cmd, 0, sizeof(cmd));                                 \
		PREP;                                                         \
		cmd.cmd.size = sizeof(struct _struct) + 1;                    \
		if (rc)                                                       \
			EXPECT_ERRNO(old_errno, ioctl(self->fd, _ioctl, &cmd)); \
		else                                                          \
			ASSERT_EQ(0, ioctl(self->fd, _ioctl, &cmd));          \
		ASSERT_EQ(0, rc) TH_LOG("exact size failed: %s", strerror(old_errno)); \
		POST;                                                         \
	} while (0)

TEST_F(abi, cmd_length)
{
	uint64_t id, ids[1];
	struct nhot_job_result res[1];
	uint32_t h;

	TEST_LENGTH(nhot_info, NHOT_INFO_SIZE_VER1, NHOT_IOCTL_GET_INFO, (void)0,
		    EXPECT_EQ(NHOT_ABI_VERSION, cmd.cmd.abi_version));
	TEST_LENGTH(nhot_bo_create, sizeof(struct nhot_bo_create), NHOT_IOCTL_BO_CREATE,
		    cmd.cmd.length = 4096, EXPECT_NE(0, cmd.cmd.handle));
	TEST_LENGTH(nhot_bo_destroy, sizeof(struct nhot_bo_destroy), NHOT_IOCTL_BO_DESTROY,
		    ({ test_cmd_bo_create(self->fd, 4096, &h, NULL);
		       cmd.cmd.handle = h; }),
		    test_err_bo_destroy(ENOENT, self->fd, h));
	TEST_LENGTH(nhot_submit, sizeof(struct nhot_submit), NHOT_IOCTL_SUBMIT,
		    ({ cmd.cmd.jobs_ptr = (uintptr_t)&self->job;
		       cmd.cmd.job_count = 1;
		       cmd.cmd.job_size = sizeof(self->job); }),
		    id = cmd.cmd.first_id);
	ids[0] = id;
	test_cmd_wait(self->fd, ids, 1);
	TEST_LENGTH(nhot_wait, sizeof(struct nhot_wait), NHOT_IOCTL_WAIT,
		    ({ cmd.cmd.ids_ptr = (uintptr_t)ids;
		       cmd.cmd.id_count = 1; }),
		    (void)0);
	TEST_LENGTH(nhot_job_status_args, sizeof(struct nhot_job_status_args),
		    NHOT_IOCTL_JOB_STATUS,
		    ({ res[0].id = id;
		       cmd.cmd.results_ptr = (uintptr_t)res;
		       cmd.cmd.count = 1;
		       cmd.cmd.result_size = sizeof(res[0]); }),
		    EXPECT_EQ(NHOT_JOB_DONE, res[0].status));
}

/* nhot_submit.job_size follows the same rules as size. */
TEST_F(abi, submit_job_size)
{
	struct {
		struct nhot_job job;
		uint8_t extra;
	} __attribute__((packed)) big;
	struct nhot_submit cmd = {
		.size = sizeof(cmd),
		.jobs_ptr = (uintptr_t)&big,
		.job_count = 1,
	};
	uint64_t ids[2];

	big.job = self->job;
	big.extra = 1;
	cmd.job_size = sizeof(struct nhot_job) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	cmd.job_size = sizeof(struct nhot_job) + 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	big.extra = 0;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	ids[0] = cmd.first_id;
	cmd.job_size = sizeof(struct nhot_job);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	ids[1] = cmd.first_id;
	test_cmd_wait(self->fd, ids, 2);
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 0));
}

/* Jobs job_size apart: a longer job_size is the stride of the array. */
TEST_F(abi, submit_job_size_is_the_stride)
{
	const size_t stride = sizeof(struct nhot_job) + 8;
	unsigned char *arr = calloc(3, stride);
	struct nhot_fc fcs[3];
	struct nhot_submit cmd = {
		.size = sizeof(cmd),
		.jobs_ptr = (uintptr_t)arr,
		.job_count = 3,
		.job_size = stride,
	};
	uint64_t ids[3];

	ASSERT_NE(NULL, arr);
	for (int i = 0; i < 3; i++) {
		struct nhot_job job;

		nhot_fc_small(&fcs[i], 1 + i, 8, 60 + i);
		nhot_fc_job(&fcs[i], &self->bos, 4 + i, &job);
		memcpy(arr + i * stride, &job, sizeof(job));
	}
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	for (int i = 0; i < 3; i++)
		ids[i] = cmd.first_id + i;
	test_cmd_wait(self->fd, ids, 3);
	for (int i = 0; i < 3; i++) {
		EXPECT_TRUE(nhot_fc_output_ok(&fcs[i], &self->bos, 4 + i)) TH_LOG("job %d", i);
	}
	/* A non-zero byte in the tail of the second job: E2BIG, nothing queued. */
	arr[stride + sizeof(struct nhot_job) + 3] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &cmd));
	free(arr);
}

/* nhot_job_status_args.result_size follows the same rules as size. */
TEST_F(abi, job_status_result_size)
{
	struct {
		struct nhot_job_result r;
		uint8_t extra;
	} __attribute__((packed)) big;
	struct nhot_job_status_args cmd = {
		.size = sizeof(cmd),
		.results_ptr = (uintptr_t)&big,
		.count = 1,
	};
	uint64_t id;

	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	memset(&big, 0, sizeof(big));
	big.r.id = id;
	big.extra = 1;
	cmd.result_size = sizeof(struct nhot_job_result) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &cmd));
	cmd.result_size = sizeof(struct nhot_job_result) + 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &cmd));
	big.extra = 0;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &cmd));
	EXPECT_EQ(NHOT_JOB_DONE, big.r.status);
	EXPECT_EQ(0, big.extra);
}

/* ---- flags, pad and reserved ----------------------------------------- */

TEST_F(abi, nonzero_flags_and_pads)
{
	struct nhot_info info = { .size = sizeof(info), .flags = 1 };
	struct nhot_bo_create bc = { .size = sizeof(bc), .length = 4096 };
	struct nhot_bo_destroy bd = { .size = sizeof(bd), .handle = self->bos.in };
	struct nhot_submit sub = {
		.size = sizeof(sub), .jobs_ptr = (uintptr_t)&self->job,
		.job_count = 1, .job_size = sizeof(struct nhot_job),
	};
	struct nhot_job_result res = { .id = 1 };
	struct nhot_job_status_args st = {
		.size = sizeof(st), .results_ptr = (uintptr_t)&res,
		.count = 1, .result_size = sizeof(res),
	};
	uint64_t id = 1;
	struct nhot_wait wt = {
		.size = sizeof(wt), .ids_ptr = (uintptr_t)&id, .id_count = 1,
	};
	struct nhot_info before, after;

	test_cmd_get_info(self->fd, &before);
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_GET_INFO, &info));
	info.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_GET_INFO, &info));

	bc.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_BO_CREATE, &bc));
	bc.flags = 0;
	bc.pad = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_BO_CREATE, &bc));
	bc.pad = 0;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_BO_CREATE, &bc));

	bd.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_BO_DESTROY, &bd));
	bd.flags = 0;
	bd.pad = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_BO_DESTROY, &bd));

	sub.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));

	/* No job was queued by any of the failures above. */
	test_cmd_get_info(self->fd, &after);
	EXPECT_EQ(before.jobs_submitted, after.jobs_submitted);

	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	wt.flags = 1U << 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt));
	wt.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt));
	wt.flags = 0;
	wt.pad = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt));
	wt.pad = 0;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt));

	res.id = id;
	st.flags = 1U << 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	st.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	st.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
}

TEST_F(abi, nonzero_job_flags_pads_reserved)
{
	const size_t refs[] = {
		offsetof(struct nhot_job, input), offsetof(struct nhot_job, input2),
		offsetof(struct nhot_job, weights), offsetof(struct nhot_job, params),
		offsetof(struct nhot_job, output),
	};
	struct nhot_job job;

	job = self->job;
	job.flags = 1;
	test_err_job(EINVAL, &job);
	job = self->job;
	job.pad = 1;
	test_err_job(EINVAL, &job);
	job = self->job;
	job.layer.flags = 1;
	test_err_job(EINVAL, &job);
	for (int i = 0; i < 4; i++) {
		job = self->job;
		job.layer.reserved[i] = 1U << i;
		test_err_job(EINVAL, &job);
	}
	for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
		job = self->job;
		((struct nhot_bufref *)((char *)&job + refs[i]))->pad = 1;
		test_err_job(EINVAL, &job);
	}
}

/* ---- handles ---------------------------------------------------------- */

TEST_F(abi, unknown_and_missing_handles)
{
	struct nhot_job job;
	uint32_t unknown;

	test_cmd_bo_create(self->fd, 4096, &unknown, NULL);
	test_cmd_bo_destroy(self->fd, unknown);
	test_err_bo_destroy(ENOENT, self->fd, unknown);
	test_err_bo_destroy(ENOENT, self->fd, 0);
	test_err_bo_destroy(ENOENT, self->fd, UINT32_MAX);

	job = self->job;
	job.input.handle = unknown;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.weights.handle = unknown;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.params.handle = unknown;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.output.handle = unknown;
	test_err_job(ENOENT, &job);

	/* 0 where the layer needs a buffer. */
	job = self->job;
	job.input.handle = 0;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.weights.handle = 0;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.params.handle = 0;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.output.handle = 0;
	test_err_job(ENOENT, &job);

	/* A handle where FC uses no buffer (input2), valid or not. */
	job = self->job;
	job.input2.handle = self->bos.in;
	test_err_job(EINVAL, &job);
	job = self->job;
	job.input2.handle = unknown;
	test_err_job(EINVAL, &job);
}

TEST_F(abi, another_files_handle)
{
	uint32_t theirs = 0, mine[4] = { self->bos.in, self->bos.w,
					 self->bos.params, self->bos.out };
	struct nhot_job job;
	int fd2, found = 1;

	fd2 = nhot_open_dev(self->dev);
	ASSERT_LE(0, fd2);
	/* Find a handle of fd2 that this file does not have. */
	for (int i = 0; i < 16; i++) {
		test_cmd_bo_create(fd2, 4096, &theirs, NULL);
		found = 0;
		for (int j = 0; j < 4; j++)
			found |= theirs == mine[j];
		if (!found)
			break;
	}
	ASSERT_EQ(0, found);
	test_err_bo_destroy(ENOENT, self->fd, theirs);
	job = self->job;
	job.input.handle = theirs;
	test_err_job(ENOENT, &job);
	job = self->job;
	job.output.handle = theirs;
	test_err_job(ENOENT, &job);
	close(fd2);
	/* A file without buffers knows none of this file's handles. */
	fd2 = nhot_open_dev(self->dev);
	ASSERT_LE(0, fd2);
	test_err_submit(ENOENT, fd2, &self->job, 1);
	close(fd2);
}

/* ---- ranges ----------------------------------------------------------- */

TEST_F(abi, bufref_offsets_past_the_end)
{
	const uint32_t in_bytes = self->fc.batch * self->fc.k;
	const uint32_t w_bytes = self->fc.packed_bytes;
	const uint32_t p_bytes = self->fc.out_c * sizeof(struct nhot_chan_params);
	const uint32_t o_bytes = self->fc.batch * self->fc.out_c;
	struct nhot_job_result res;
	struct nhot_job job;

	/* Each tensor flush with the end of its buffer: fine. */
	job = self->job;
	job.input.offset = NHOT_FC_BO_BYTES - in_bytes;
	job.weights.offset = NHOT_FC_BO_BYTES - w_bytes;
	job.params.offset = NHOT_FC_BO_BYTES - p_bytes;
	job.output.offset = NHOT_FC_BO_BYTES - o_bytes;
	memcpy(self->bos.in_map + job.input.offset, self->fc.in, in_bytes);
	memcpy(self->bos.w_map + job.weights.offset, self->fc.packed, w_bytes);
	memcpy(self->bos.params_map + job.params.offset, self->fc.params, p_bytes);
	run_one(_metadata, self->fd, &job, &res);
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_EQ(0, memcmp(self->bos.out_map + job.output.offset, self->fc.expect, o_bytes));

	job.input.offset++;
	test_err_job(ERANGE, &job);
	job.input.offset--;
	job.weights.offset++;
	test_err_job(ERANGE, &job);
	job.weights.offset--;
	job.params.offset++;
	test_err_job(ERANGE, &job);
	job.params.offset--;
	job.output.offset++;
	test_err_job(ERANGE, &job);

	/* Offsets whose end wraps around u64. */
	const uint64_t wraps[] = { UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - in_bytes + 2,
				   1ULL << 63, NHOT_FC_BO_BYTES, NHOT_FC_BO_BYTES + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(wraps); i++) {
		job = self->job;
		job.input.offset = wraps[i];
		test_err_job(ERANGE, &job);
		job = self->job;
		job.weights.offset = wraps[i];
		test_err_job(ERANGE, &job);
		job = self->job;
		job.params.offset = wraps[i];
		test_err_job(ERANGE, &job);
		job = self->job;
		job.output.offset = wraps[i];
		test_err_job(ERANGE, &job);
	}
}

/* A buffer too small for the tensor even at offset 0. */
TEST_F(abi, buffer_too_small)
{
	struct nhot_job job = self->job;
	uint32_t small;

	test_cmd_bo_create(self->fd, 4096, &small, NULL);
	job.layer.batch = 8;		/* 8 x 1024 input bytes: twice the buffer */
	job.layer.in_c = 1024;
	job.input.handle = small;
	job.weights.handle = self->bos.w;
	test_err_job(ERANGE, &job);
}

/* ---- per-file limits (these use the defaults GET_INFO reports) --------- */

TEST_F(abi, bo_create_limits)
{
	const struct nhot_info *info = &self->info;

	test_err_bo_create(EINVAL, self->fd, 0);
	test_err_bo_create(EFBIG, self->fd, info->max_buffer_bytes + 1);
	test_err_bo_create(EFBIG, self->fd, UINT64_MAX);
	test_err_bo_create(EFBIG, self->fd, 1ULL << 63);
}

TEST_F(abi, submit_counts)
{
	uint32_t too_many = self->info.max_jobs_per_submit + 1;
	struct nhot_job *jobs = calloc(too_many, sizeof(*jobs));

	ASSERT_NE(NULL, jobs);
	for (uint32_t i = 0; i < too_many; i++)
		jobs[i] = self->job;
	test_err_submit(EINVAL, self->fd, jobs, 0);
	test_err_submit(EINVAL, self->fd, jobs, too_many);
	test_err_submit(EINVAL, self->fd, jobs, UINT32_MAX);
	free(jobs);
}

TEST_F(abi, wait_and_status_counts_and_ids)
{
	uint32_t too_many = self->info.max_jobs + 1;
	struct nhot_job_result *res = calloc(too_many, sizeof(*res));
	uint64_t *ids = calloc(too_many, sizeof(*ids));
	uint64_t id, pair[2];
	struct nhot_job_result two[2];

	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, ids);
	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	for (uint32_t i = 0; i < too_many; i++) {
		ids[i] = id;
		res[i].id = id;
	}
	test_err_wait(EINVAL, self->fd, ids, 0, 0, 0);
	test_err_wait(EINVAL, self->fd, ids, too_many, 0, 0);
	test_err_job_status(EINVAL, self->fd, res, 0, 0);
	test_err_job_status(EINVAL, self->fd, res, too_many, 0);

	pair[0] = id;
	pair[1] = id + 1;	/* never submitted */
	test_err_wait(ENOENT, self->fd, pair, 2, 0, 0);
	test_err_wait(ENOENT, self->fd, pair, 2, NHOT_WAIT_ANY, 0);
	pair[1] = 0;
	test_err_wait(ENOENT, self->fd, pair, 2, 0, 0);
	pair[1] = UINT64_MAX;
	test_err_wait(ENOENT, self->fd, pair, 2, 0, 0);

	/* An unknown id among known ones: ENOENT, nothing released. */
	memset(two, 0, sizeof(two));
	two[0].id = id;
	two[1].id = id + 1;
	test_err_job_status(ENOENT, self->fd, two, 2, NHOT_STATUS_RELEASE);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &two[0], 0));
	EXPECT_EQ(NHOT_JOB_DONE, two[0].status);
	free(res);
	free(ids);
}

/* A batch with one bad job: nothing of it is queued. */
TEST_F(abi, submit_is_all_or_nothing)
{
	struct nhot_job jobs[3] = { self->job, self->job, self->job };
	struct nhot_info before, after;
	struct nhot_job_result res;
	uint64_t id;

	test_cmd_get_info(self->fd, &before);
	jobs[2].layer.w_n = 5;
	test_err_submit(EOPNOTSUPP, self->fd, jobs, 3);
	jobs[2] = self->job;
	jobs[1].output.offset = UINT64_MAX;
	test_err_submit(ERANGE, self->fd, jobs, 3);
	test_cmd_get_info(self->fd, &after);
	EXPECT_EQ(before.jobs_submitted, after.jobs_submitted);
	EXPECT_ERRNO(ENOENT, _test_job_result(self->fd, 1, &res, 0));
	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
}

/* ---- layer descriptors (docs/arith.md section 3) ---------------------- */

struct bad_layer {
	const char *what;
	int err;
	struct nhot_layer l;
};

/* Tries each descriptor with every buffer reference the FC job has. */
static void try_layers(struct __test_metadata *_metadata, int fd, const struct nhot_job *base,
		       const struct bad_layer *bad, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct nhot_job job = *base;

		job.layer = bad[i].l;
		/* Only the layers that take weights keep weights/params. */
		if (bad[i].l.type != NHOT_LAYER_FC && bad[i].l.type != NHOT_LAYER_CONV2D) {
			memset(&job.weights, 0, sizeof(job.weights));
			memset(&job.params, 0, sizeof(job.params));
		}
		if (bad[i].l.type == NHOT_LAYER_ADD)
			job.input2 = job.input;
		errno = 0;
		EXPECT_EQ(-1, _test_cmd_submit(fd, &job, 1, NULL)) TH_LOG("%s", bad[i].what);
		EXPECT_EQ(bad[i].err, errno) TH_LOG("%s: got %s", bad[i].what, strerror(errno));
	}
}

/*
 * Each bad descriptor is a valid one of its type with one field overridden:
 * a designated initializer given twice, on purpose.
 */
#pragma GCC diagnostic ignored "-Woverride-init"
#define FC(...) { .type = NHOT_LAYER_FC, .batch = 1, .in_h = 1, .in_w = 1, .in_c = 8, \
		  .out_c = 1, .w_n = 2, .w_b = 8, .act_max = 255, __VA_ARGS__ }
#define CONV(...) { .type = NHOT_LAYER_CONV2D, .batch = 1, .in_h = 8, .in_w = 8, .in_c = 2, \
		    .out_c = 2, .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, \
		    .dilation_h = 1, .dilation_w = 1, .groups = 1, .w_n = 2, .w_b = 8, \
		    .act_max = 255, __VA_ARGS__ }
#define ADD(...) { .type = NHOT_LAYER_ADD, .batch = 1, .in_h = 2, .in_w = 2, .in_c = 2, \
		   .act_max = 255, .add_mult_a = 1 << 20, .add_mult_b = 1 << 20, \
		   .add_shift = 20, __VA_ARGS__ }
#define POOL(t, ...) { .type = t, .batch = 1, .in_h = 4, .in_w = 4, .in_c = 2, \
		       .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2, \
		       .act_max = 255, __VA_ARGS__ }
#define GAP(...) { .type = NHOT_LAYER_GLOBAL_AVGPOOL, .batch = 1, .in_h = 4, .in_w = 4, \
		   .in_c = 2, .act_max = 255, __VA_ARGS__ }

TEST_F(abi, layer_type_and_format)
{
	static const struct bad_layer bad[] = {
		{ "type 0", EOPNOTSUPP, FC(.type = 0) },
		{ "type 7", EOPNOTSUPP, FC(.type = NHOT_LAYER_TYPE_MAX + 1) },
		{ "type ~0", EOPNOTSUPP, FC(.type = UINT32_MAX) },
		{ "n 0", EOPNOTSUPP, FC(.w_n = 0) },
		{ "n 5", EOPNOTSUPP, FC(.w_n = 5) },
		{ "b 1", EOPNOTSUPP, FC(.w_b = 1) },
		{ "b 9", EOPNOTSUPP, FC(.w_b = 9) },
		{ "conv n 5", EOPNOTSUPP, CONV(.w_n = 5) },
		{ "conv b 0", EOPNOTSUPP, CONV(.w_b = 0) },
	};

	try_layers(_metadata, self->fd, &self->job, bad, ARRAY_SIZE(bad));
}

TEST_F(abi, layer_invalid)
{
	static const struct bad_layer bad[] = {
		{ "in_zero 256", EINVAL, FC(.in_zero = 256) },
		{ "out_zero 256", EINVAL, FC(.out_zero = 256) },
		{ "act_min > act_max", EINVAL, FC(.act_min = 10, .act_max = 9) },
		{ "act_max 256", EINVAL, FC(.act_max = 256) },
		{ "add in2_zero 256", EINVAL, ADD(.in2_zero = 256) },
		{ "groups 0", EINVAL, CONV(.groups = 0) },
		{ "groups not dividing in_c", EINVAL, CONV(.in_c = 3, .out_c = 4, .groups = 2) },
		{ "groups not dividing out_c", EINVAL, CONV(.in_c = 4, .out_c = 3, .groups = 2) },
		{ "conv OH < 1", EINVAL, CONV(.in_h = 2) },
		{ "conv OW < 1", EINVAL, CONV(.in_w = 1, .kernel_w = 4) },
		{ "pool OH < 1", EINVAL, POOL(NHOT_LAYER_MAXPOOL, .in_h = 1, .kernel_h = 3) },
		/* Fields the type does not use. */
		{ "fc kernel_h", EINVAL, FC(.kernel_h = 1) },
		{ "fc stride_w", EINVAL, FC(.stride_w = 1) },
		{ "fc dilation_h", EINVAL, FC(.dilation_h = 1) },
		{ "fc pad_top", EINVAL, FC(.pad_top = 1) },
		{ "fc groups", EINVAL, FC(.groups = 1) },
		{ "fc in2_zero", EINVAL, FC(.in2_zero = 1) },
		{ "fc add_mult_a", EINVAL, FC(.add_mult_a = 1) },
		{ "fc add_shift", EINVAL, FC(.add_shift = 1) },
		{ "conv add_mult_b", EINVAL, CONV(.add_mult_b = 1) },
		{ "add out_c", EINVAL, ADD(.out_c = 2) },
		{ "add w_n", EINVAL, ADD(.w_n = 2) },
		{ "add kernel_w", EINVAL, ADD(.kernel_w = 1) },
		{ "maxpool out_c", EINVAL, POOL(NHOT_LAYER_MAXPOOL, .out_c = 1) },
		{ "avgpool dilation_w", EINVAL, POOL(NHOT_LAYER_AVGPOOL, .dilation_w = 1) },
		{ "avgpool out_zero", EINVAL, POOL(NHOT_LAYER_AVGPOOL, .out_zero = 1) },
		{ "maxpool w_b", EINVAL, POOL(NHOT_LAYER_MAXPOOL, .w_b = 8) },
		{ "gap kernel_h", EINVAL, GAP(.kernel_h = 4) },
		{ "gap stride_h", EINVAL, GAP(.stride_h = 1) },
		{ "gap in2_zero", EINVAL, GAP(.in2_zero = 1) },
	};

	try_layers(_metadata, self->fd, &self->job, bad, ARRAY_SIZE(bad));
}

TEST_F(abi, layer_limits_plus_one)
{
	static const struct bad_layer bad[] = {
		{ "batch 0", EOVERFLOW, FC(.batch = 0) },
		{ "batch max+1", EOVERFLOW, FC(.batch = NHOT_MAX_BATCH + 1) },
		{ "in_h 0", EOVERFLOW, POOL(NHOT_LAYER_MAXPOOL, .in_h = 0) },
		{ "in_h max+1", EOVERFLOW, POOL(NHOT_LAYER_MAXPOOL, .in_h = NHOT_MAX_DIM + 1) },
		{ "in_w max+1", EOVERFLOW, POOL(NHOT_LAYER_AVGPOOL, .in_w = NHOT_MAX_DIM + 1) },
		{ "in_c 0", EOVERFLOW, FC(.in_c = 0) },
		{ "in_c max+1", EOVERFLOW, POOL(NHOT_LAYER_MAXPOOL, .in_c = NHOT_MAX_CHANNELS + 1) },
		{ "out_c 0", EOVERFLOW, FC(.out_c = 0) },
		{ "out_c max+1", EOVERFLOW, FC(.out_c = NHOT_MAX_CHANNELS + 1) },
		{ "kernel_h 0", EOVERFLOW, CONV(.kernel_h = 0) },
		{ "kernel_h max+1", EOVERFLOW,
		  CONV(.in_h = 32, .kernel_h = NHOT_MAX_KERNEL + 1) },
		{ "kernel_w max+1", EOVERFLOW,
		  POOL(NHOT_LAYER_AVGPOOL, .in_w = 32, .kernel_w = NHOT_MAX_KERNEL + 1) },
		{ "stride_h 0", EOVERFLOW, CONV(.stride_h = 0) },
		{ "stride_h max+1", EOVERFLOW, CONV(.stride_h = NHOT_MAX_STRIDE + 1) },
		{ "stride_w max+1", EOVERFLOW,
		  POOL(NHOT_LAYER_MAXPOOL, .stride_w = NHOT_MAX_STRIDE + 1) },
		{ "dilation_w 0", EOVERFLOW, CONV(.dilation_w = 0) },
		{ "dilation_h max+1", EOVERFLOW,
		  CONV(.in_h = 64, .dilation_h = NHOT_MAX_DILATION + 1) },
		/* Padding up to extent - 1; extent = (3 - 1) * 2 + 1 = 5 dilated. */
		{ "pad_top = extent", EOVERFLOW, CONV(.pad_top = 3) },
		{ "pad_left = dilated extent", EOVERFLOW, CONV(.dilation_w = 2, .pad_left = 5) },
		{ "pool pad_bottom = kernel", EOVERFLOW,
		  POOL(NHOT_LAYER_MAXPOOL, .pad_bottom = 2) },
		{ "pool pad_right = kernel", EOVERFLOW,
		  POOL(NHOT_LAYER_AVGPOOL, .pad_right = 2) },
		{ "fc K max+1", EOVERFLOW, FC(.in_h = 5, .in_w = 1, .in_c = 6554) },
		{ "conv K max+1", EOVERFLOW,
		  CONV(.in_h = 16, .in_w = 16, .kernel_h = 16, .kernel_w = 16,
		       .in_c = 129, .out_c = 1) },
		{ "gap H*W max+1", EOVERFLOW, GAP(.in_h = 257, .in_w = 256) },
		{ "elements max+1", EOVERFLOW,
		  POOL(NHOT_LAYER_MAXPOOL, .batch = 1024, .in_h = 512, .in_w = 512,
		       .in_c = 2, .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1) },
		{ "add_mult_a 2^31", EOVERFLOW, ADD(.add_mult_a = 1U << 31) },
		{ "add_mult_b 2^31", EOVERFLOW, ADD(.add_mult_b = 1U << 31) },
		{ "add_shift 0", EOVERFLOW, ADD(.add_shift = 0) },
		{ "add_shift 63", EOVERFLOW, ADD(.add_shift = NHOT_MAX_SHIFT + 1) },
	};

	try_layers(_metadata, self->fd, &self->job, bad, ARRAY_SIZE(bad));
}

/* ---- jobs the engine fails -------------------------------------------- */

TEST_F(abi, engine_rejects_an_invalid_code)
{
	struct nhot_job_result res;
	struct nhot_fc fc;
	struct nhot_job job;

	/* S(1, 8) has 15 values in 4-bit codes: code 15 names none. */
	nhot_fc_small(&fc, 1, 8, 7);
	nhot_fc_job(&fc, &self->bos, 2, &job);
	self->bos.w_map[2 * NHOT_FC_SLOT + 5] |= 0xf0;
	run_one(_metadata, self->fd, &job, &res);
	EXPECT_EQ(NHOT_JOB_FAILED, res.status);
	EXPECT_EQ(-EILSEQ, res.error);
}

TEST_F(abi, engine_rejects_bad_channel_params)
{
	const struct nhot_chan_params bad[] = {
		{ .bias = NHOT_MAX_BIAS + 1, .mult = 1 << 30, .shift = 10 },
		{ .bias = -NHOT_MAX_BIAS - 1, .mult = 1 << 30, .shift = 10 },
		{ .bias = 0, .mult = 1U << 31, .shift = 10 },
		{ .bias = 0, .mult = 1 << 30, .shift = 0 },
		{ .bias = 0, .mult = 1 << 30, .shift = NHOT_MAX_SHIFT + 1 },
	};
	struct nhot_chan_params *p = (void *)(self->bos.params_map + 3 * NHOT_FC_SLOT);
	struct nhot_job_result res;
	struct nhot_job job;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		nhot_fc_job(&self->fc, &self->bos, 3, &job);
		p[self->fc.out_c - 1] = bad[i];
		run_one(_metadata, self->fd, &job, &res);
		EXPECT_EQ(NHOT_JOB_FAILED, res.status) TH_LOG("params %zu", i);
		EXPECT_EQ(-EOVERFLOW, res.error) TH_LOG("params %zu", i);
	}
	/* The limit itself is fine. */
	nhot_fc_job(&self->fc, &self->bos, 3, &job);
	p[0].bias = NHOT_MAX_BIAS;
	run_one(_metadata, self->fd, &job, &res);
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
}

/* ---- bad pointers, unknown ioctls, mmap ------------------------------- */

TEST_F(abi, bad_user_pointers)
{
	struct nhot_submit sub = {
		.size = sizeof(sub), .jobs_ptr = 8, .job_count = 1,
		.job_size = sizeof(struct nhot_job),
	};
	struct nhot_wait wt = { .size = sizeof(wt), .ids_ptr = 8, .id_count = 1 };
	struct nhot_job_status_args st = {
		.size = sizeof(st), .results_ptr = 8, .count = 1,
		.result_size = sizeof(struct nhot_job_result),
	};

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_GET_INFO, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_BO_CREATE, (void *)8));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_BO_DESTROY, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_SUBMIT, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_WAIT, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	sub.jobs_ptr = UINT64_MAX - 16;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
}

TEST_F(abi, unknown_ioctls)
{
	char buf[256] = { 0 };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(NHOT_IOCTL_TYPE, 0x06)));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(NHOT_IOCTL_TYPE, 0x06, buf)));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(NHOT_IOCTL_TYPE, 0xff, buf)));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(NHOT_IOCTL_TYPE + 1, 0x00, buf)));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR('T', 0x00, buf)));
}

TEST_F(abi, mmap_rejects)
{
	uint64_t off, off2;
	uint32_t h, h2;
	void *p;

	test_cmd_bo_create(self->fd, 8192, &h, &off);
	test_cmd_bo_create(self->fd, 4096, &h2, &off2);
	/* Length beyond the buffer. */
	p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* A private mapping. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, off);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, self->fd, off);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Offsets naming no buffer. */
	test_cmd_bo_destroy(self->fd, h2);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, off2);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, off + (1ULL << 40));
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* The whole buffer, and its first page, map. */
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, 8192);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, 4096);
}

/* A mapping keeps a destroyed buffer alive, on this file only. */
TEST_F(abi, mmap_outlives_destroy)
{
	uint64_t off;
	uint32_t h;
	uint8_t *p;

	test_cmd_bo_create(self->fd, 4096, &h, &off);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x3c, 4096);
	test_cmd_bo_destroy(self->fd, h);
	for (int i = 0; i < 4096; i++) {
		ASSERT_EQ(0x3c, p[i]);
	}
	p[17] = 1;
	ASSERT_EQ(0, munmap(p, 4096));
}

/* ---- limits of one file: every buffer and job it may hold ------------- */

FIXTURE(file_limits) {
	int fd;
	struct nhot_info info;
};

FIXTURE_SETUP(file_limits)
{
	self->fd = nhot_open_or_skip(0);
	test_cmd_get_info(self->fd, &self->info);
}

FIXTURE_TEARDOWN(file_limits)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(file_limits, max_buffers)
{
	uint32_t h, first = 0;

	for (uint32_t i = 0; i < self->info.max_buffers; i++) {
		ASSERT_EQ(0, _test_cmd_bo_create(self->fd, 1, &h, NULL)) TH_LOG("buffer %u", i);
		if (!first)
			first = h;
	}
	test_err_bo_create(EMFILE, self->fd, 1);
	test_cmd_bo_destroy(self->fd, first);
	test_cmd_bo_create(self->fd, 1, &h, NULL);
	test_err_bo_create(EMFILE, self->fd, 1);
}

TEST_F(file_limits, max_file_bytes)
{
	uint64_t chunk = self->info.max_buffer_bytes, held = 0;
	uint32_t h, last = 0;

	/* Fill the quota with the largest buffers, the rest with one more. */
	while (held + chunk <= self->info.max_file_bytes) {
		test_cmd_bo_create(self->fd, chunk, &h, NULL);
		held += chunk;
		last = h;
	}
	if (held < self->info.max_file_bytes) {
		test_cmd_bo_create(self->fd, self->info.max_file_bytes - held, &h, NULL);
		held = self->info.max_file_bytes;
	}
	test_err_bo_create(EDQUOT, self->fd, 1);
	test_err_bo_create(EDQUOT, self->fd, chunk);
	ASSERT_NE(0, last);
	test_cmd_bo_destroy(self->fd, last);
	test_cmd_bo_create(self->fd, chunk, &h, NULL);
	test_err_bo_create(EDQUOT, self->fd, 1);
}

TEST_F(file_limits, max_jobs_held)
{
	uint32_t per = self->info.max_jobs_per_submit;
	struct nhot_job *jobs = calloc(per, sizeof(*jobs));
	struct nhot_job_result res;
	struct nhot_fc_bos bos;
	struct nhot_fc fc;
	uint64_t id, last = 0;

	ASSERT_NE(NULL, jobs);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &bos));
	/* The smallest FC: the point is the count, not the work. */
	memset(&fc, 0, sizeof(fc));
	fc.batch = 1;
	fc.k = 1;
	fc.out_c = 1;
	fc.n = 1;
	fc.b = 2;
	nhot_fc_fill(&fc, 3);
	nhot_fc_job(&fc, &bos, 0, &jobs[0]);
	for (uint32_t i = 1; i < per; i++)
		jobs[i] = jobs[0];

	for (uint32_t held = 0; held < self->info.max_jobs;) {
		uint32_t n = self->info.max_jobs - held < per ? self->info.max_jobs - held : per;

		ASSERT_EQ(0, _test_cmd_submit(self->fd, jobs, n, &id)) TH_LOG("held %u", held);
		held += n;
		last = id + n - 1;
	}
	test_err_submit(EBUSY, self->fd, jobs, 1);
	/* Finished but unreleased jobs still count. */
	test_cmd_wait(self->fd, &last, 1);
	test_err_submit(EBUSY, self->fd, jobs, 1);
	ASSERT_EQ(0, _test_job_result(self->fd, last, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	test_cmd_submit(self->fd, jobs, 1, &id);
	EXPECT_EQ(last + 1, id);
	test_err_submit(EBUSY, self->fd, jobs, 1);
	free(jobs);
}

TEST_HARNESS_MAIN
