// SPDX-License-Identifier: GPL-2.0
/*
 * A program of ABI version 1 against today's module (issue #14 item 13):
 * built against nhot_abi_v1.h, the frozen copy of the header as version 1
 * shipped, so every command encodes version 1's sizes, exactly as in a
 * binary built back then (libnhot 1.x, nhot-run, ...).  It must find its
 * engine, pass libnhot 1.x's check (abi_version == 1, exactly), and run a
 * job through BO_CREATE, mmap, SUBMIT, WAIT and JOB_STATUS.  nhot_ioctl.c
 * covers the grown structs of newer programs.
 *
 * Self-contained on purpose: nhot_util.h includes today's header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nhot_abi_v1.h"

#include "kselftest_harness.h"

#define PAGE		4096
#define SEC_NS		1000000000LL

/* The GET_INFO of a version 1 program: its size, its number. */
static int v1_get_info(int fd, struct nhot_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, NHOT_IOCTL_GET_INFO, info);
}

/* The first /dev/nhotN of kind, opened; -1 if none answers version 1. */
static int v1_open_engine(uint32_t kind)
{
	for (int n = 0; n < 64; n++) {
		struct nhot_info info;
		char path[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/nhot%d", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!v1_get_info(fd, &info) && info.engine_kind == kind)
			return fd;
		close(fd);
	}
	return -1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

FIXTURE(v1) {
	int fd;
	struct nhot_info info;
};

FIXTURE_VARIANT(v1) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(v1, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(v1, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(v1)
{
	self->fd = v1_open_engine(variant->kind);
	if (self->fd < 0 && access("/sys/module/nhot", F_OK))
		SKIP(return, "nhot module not loaded");
	if (self->fd < 0 && variant->kind == NHOT_ENGINE_PCI)
		SKIP(return, "no PCI engine here (vm/run-in-vm.sh --pci adds one)");
	ASSERT_LE(0, self->fd) TH_LOG("no engine answers a version 1 GET_INFO");
	ASSERT_EQ(0, v1_get_info(self->fd, &self->info));
}

FIXTURE_TEARDOWN(v1)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* What libnhot 1.x's nhot_ctx_dev_init() requires of a module. */
TEST_F(v1, libnhot_1_accepts_the_module)
{
	EXPECT_EQ(1, self->info.abi_version);
	EXPECT_EQ(NHOT_ABI_VERSION, self->info.abi_version);
	EXPECT_EQ(128, sizeof(struct nhot_info));
	EXPECT_EQ(sizeof(struct nhot_info), self->info.size);
	EXPECT_NE(0, self->info.max_jobs_per_submit);
	EXPECT_NE(0, self->info.max_jobs);
	EXPECT_EQ(variant->kind, self->info.engine_kind);
}

/*
 * Version 1's size rules, under version 1's numbers: below the struct is
 * -EINVAL, the struct itself works.  (A byte beyond it is no longer
 * unknown to the module: GET_INFO has grown.)
 */
TEST_F(v1, size_rules)
{
	struct nhot_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info) - 1;
	ASSERT_EQ(-1, ioctl(self->fd, NHOT_IOCTL_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.size = sizeof(info);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO, &info));
	EXPECT_EQ(1, info.abi_version);
}

static uint32_t v1_bo(struct __test_metadata *_metadata, int fd, uint8_t **map)
{
	struct nhot_bo_create bc = { .size = sizeof(bc), .length = PAGE };

	if (ioctl(fd, NHOT_IOCTL_BO_CREATE, &bc)) {
		ASSERT_EQ(0, errno);
	}
	*map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, bc.mmap_offset);
	if (*map == MAP_FAILED) {
		ASSERT_EQ(0, errno);
	}
	return bc.handle;
}

/*
 * A MAXPOOL job (docs/arith.md 2.6) through every ioctl of version 1: the
 * max of a 2 x 2 window of {3, 9, 4, 7} is 9.
 */
TEST_F(v1, maxpool_job_runs)
{
	static const uint8_t input[4] = { 3, 9, 4, 7 };
	struct nhot_job job;
	struct nhot_job_result res;
	struct nhot_submit sub = { .size = sizeof(sub) };
	struct nhot_wait wt = { .size = sizeof(wt) };
	struct nhot_job_status_args st = { .size = sizeof(st) };
	struct nhot_bo_destroy bd = { .size = sizeof(bd) };
	uint8_t *in, *out;
	uint32_t hin, hout;
	uint64_t id;

	hin = v1_bo(_metadata, self->fd, &in);
	hout = v1_bo(_metadata, self->fd, &out);
	memcpy(in, input, sizeof(input));
	out[0] = 0xa5;

	memset(&job, 0, sizeof(job));
	job.layer.type = NHOT_LAYER_MAXPOOL;
	job.layer.batch = 1;
	job.layer.in_h = 2;
	job.layer.in_w = 2;
	job.layer.in_c = 1;
	job.layer.kernel_h = 2;
	job.layer.kernel_w = 2;
	job.layer.stride_h = 1;
	job.layer.stride_w = 1;
	job.layer.act_max = 255;
	job.input.handle = hin;
	job.output.handle = hout;
	sub.jobs_ptr = (uintptr_t)&job;
	sub.job_count = 1;
	sub.job_size = sizeof(job);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub)) TH_LOG("%s", strerror(errno));
	id = sub.first_id;
	EXPECT_EQ(1, id);

	wt.ids_ptr = (uintptr_t)&id;
	wt.id_count = 1;
	wt.timeout_ns = now_ns() + 10 * SEC_NS;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_WAIT, &wt)) TH_LOG("%s", strerror(errno));

	memset(&res, 0, sizeof(res));
	res.id = id;
	st.flags = NHOT_STATUS_RELEASE;
	st.results_ptr = (uintptr_t)&res;
	st.count = 1;
	st.result_size = sizeof(res);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_EQ(0, res.error);
	EXPECT_EQ(9, out[0]);

	bd.handle = hin;
	EXPECT_EQ(0, ioctl(self->fd, NHOT_IOCTL_BO_DESTROY, &bd));
	bd.handle = hout;
	EXPECT_EQ(0, ioctl(self->fd, NHOT_IOCTL_BO_DESTROY, &bd));
	munmap(in, PAGE);
	munmap(out, PAGE);
}

TEST_HARNESS_MAIN
