// SPDX-License-Identifier: GPL-2.0
/*
 * nhot ioctl dispatch (docs/uapi.md sections 1 and 2, issue #14 items 3, 4,
 * 10 and 13):
 *  - sizes: size, job_size and result_size above NHOT_MAX_STRUCT_SIZE get
 *    -E2BIG at once, and a task stuck in a huge argument can be killed;
 *  - no side effects: a SUBMIT or BO_CREATE whose results cannot be written
 *    back (-EFAULT) queued no job, used no id, left no buffer; JOB_STATUS
 *    writes nothing into its argument struct;
 *  - write access: a file opened read-only gets -EBADF for BO_CREATE,
 *    BO_DESTROY and SUBMIT, and may still GET_INFO, WAIT and JOB_STATUS;
 *  - growth: the dispatch goes by type, number and direction, so grown
 *    structs under their own numbers, and the numbers of ABI version 1,
 *    both work; GET_INFO reports caps.  nhot_abi_v1.c is the same from a
 *    program built against the frozen version 1 header.
 * One FIXTURE_VARIANT per engine kind (sim, pci), as nhot_abi.c.
 */
#include <signal.h>
#include <sys/wait.h>

#include "nhot_util.h"

#define PAGE		4096
#define ALL_CAPS	(NHOT_CAP_SIZE_FREE_IOCTLS | NHOT_CAP_NO_SIDE_EFFECTS | \
			 NHOT_CAP_WRITE_ACCESS)

FIXTURE(ioctl) {
	int dev;	/* N of /dev/nhotN */
	int fd;
	struct nhot_info info;
	struct nhot_fc fc;
	struct nhot_fc_bos bos;	/* handles 1..4 of a fresh file */
	struct nhot_job job;	/* a valid FC job over bos, slot 0 */
	void *page;		/* one anonymous page for arguments */
};

FIXTURE_VARIANT(ioctl) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(ioctl, sim) {
	.kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(ioctl, pci) {
	.kind = NHOT_ENGINE_PCI,
};

FIXTURE_SETUP(ioctl)
{
	self->fd = -1;
	self->page = MAP_FAILED;
	self->dev = nhot_engine_or_skip(variant->kind);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	/* the number every module answers: each test fails on an old one for its own reason */
	memset(&self->info, 0, sizeof(self->info));
	self->info.size = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &self->info));
	nhot_fc_small(&self->fc, 3, 6, 7);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
	nhot_fc_job(&self->fc, &self->bos, 0, &self->job);
	self->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	ASSERT_NE(MAP_FAILED, self->page);
}

FIXTURE_TEARDOWN(ioctl)
{
	if (self->page != MAP_FAILED)
		munmap(self->page, PAGE);
	if (self->fd >= 0)
		close(self->fd);
}

/* Live objects of /dev/nhotN by name (debugfs nhotN/objects); -1 if unreadable. */
static long dev_objects(int dev, const char *name)
{
	char path[96], key[32];
	long val, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/nhot/nhot%d/objects", dev);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fscanf(f, "%31s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

/* ---- item 3: sizes are capped ------------------------------------------ */

/*
 * Every ioctl: size NHOT_MAX_STRUCT_SIZE + 1 with an all-zero tail, and
 * size 0xffffffff, get -E2BIG before any byte beyond the cap is read.
 */
TEST_F(ioctl, size_above_cap_is_e2big)
{
	static const unsigned long cmds[] = {
		NHOT_IOCTL_GET_INFO, NHOT_IOCTL_BO_CREATE, NHOT_IOCTL_BO_DESTROY,
		NHOT_IOCTL_SUBMIT, NHOT_IOCTL_WAIT, NHOT_IOCTL_JOB_STATUS,
	};
	uint8_t *arg = calloc(1, 2 * PAGE);
	struct nhot_info *info = (void *)arg;

	ASSERT_NE(NULL, arg);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		*(uint32_t *)arg = NHOT_MAX_STRUCT_SIZE + 1;
		EXPECT_ERRNO(E2BIG, ioctl(self->fd, cmds[i], arg));
		*(uint32_t *)arg = UINT32_MAX;
		EXPECT_ERRNO(E2BIG, ioctl(self->fd, cmds[i], arg));
	}
	/* the cap itself is allowed: a zero tail of 4096 - 136 bytes */
	memset(arg, 0, 2 * PAGE);
	info->size = NHOT_MAX_STRUCT_SIZE;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO, info));
	EXPECT_EQ(NHOT_ABI_VERSION, info->abi_version);
	free(arg);
}

/* job_size and result_size: the same cap. */
TEST_F(ioctl, element_size_above_cap_is_e2big)
{
	uint8_t *jobs = calloc(1, 2 * PAGE);
	struct nhot_job_result *res = (void *)jobs;
	struct nhot_submit sub = {
		.size = sizeof(sub),
		.jobs_ptr = (uintptr_t)jobs,
		.job_count = 1,
	};
	struct nhot_job_status_args st = {
		.size = sizeof(st),
		.results_ptr = (uintptr_t)res,
		.count = 1,
	};
	struct nhot_info before = { 0 }, after = { 0 };
	uint64_t id;

	ASSERT_NE(NULL, jobs);
	memcpy(jobs, &self->job, sizeof(self->job));
	before.size = sizeof(before);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &before));
	sub.job_size = NHOT_MAX_STRUCT_SIZE + 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	sub.job_size = UINT32_MAX;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	after.size = sizeof(after);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &after));
	EXPECT_EQ(before.jobs_submitted, after.jobs_submitted);
	/* the cap itself: a job with a zero tail up to 4096 bytes */
	sub.job_size = NHOT_MAX_STRUCT_SIZE;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	id = sub.first_id;
	test_cmd_wait(self->fd, &id, 1);

	memset(jobs, 0, 2 * PAGE);
	res->id = id;
	st.result_size = NHOT_MAX_STRUCT_SIZE + 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	st.result_size = UINT32_MAX;
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	st.result_size = NHOT_MAX_STRUCT_SIZE;
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, &st));
	EXPECT_EQ(NHOT_JOB_DONE, res->status);
	free(jobs);
}

/*
 * The largest SUBMIT there is: max_jobs_per_submit jobs, each
 * NHOT_MAX_STRUCT_SIZE bytes apart, all accepted and all run.
 */
TEST_F(ioctl, largest_submit_runs)
{
	uint32_t n = self->info.max_jobs_per_submit;
	size_t bytes = (size_t)n * NHOT_MAX_STRUCT_SIZE;
	struct nhot_job_result *res;
	uint8_t *jobs;
	uint64_t *ids, first;

	jobs = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, jobs);
	ids = calloc(n, sizeof(*ids));
	res = calloc(n, sizeof(*res));
	ASSERT_NE(NULL, ids);
	ASSERT_NE(NULL, res);
	for (uint32_t i = 0; i < n; i++)
		memcpy(jobs + (size_t)i * NHOT_MAX_STRUCT_SIZE, &self->job, sizeof(self->job));
	struct nhot_submit sub = {
		.size = sizeof(sub),
		.jobs_ptr = (uintptr_t)jobs,
		.job_count = n,
		.job_size = NHOT_MAX_STRUCT_SIZE,
	};
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub));
	first = sub.first_id;
	for (uint32_t i = 0; i < n; i++) {
		ids[i] = first + i;
		res[i].id = first + i;
	}
	/* a loaded 2-core TCG guest: a generous deadline */
	ASSERT_EQ(0, _test_cmd_wait(self->fd, ids, n, 0, nhot_now_ns() + 120 * NHOT_SEC_NS));
	test_cmd_job_status(self->fd, res, n, NHOT_STATUS_RELEASE);
	for (uint32_t i = 0; i < n; i++) {
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %u", i);
	}
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 0));
	free(res);
	free(ids);
	munmap(jobs, bytes);
}

/*
 * Eight jobs 0xffffffff bytes apart over 32 GiB of zero pages (the review's
 * case) kept the old module scanning for half a minute, deaf to SIGKILL.  A
 * child submits that in a loop; SIGKILL must end it well within a generous
 * deadline.
 */
#define HUGE_JOBS	8
TEST_F(ioctl, huge_job_size_is_killable)
{
	const size_t span = (size_t)HUGE_JOBS * UINT32_MAX + PAGE;
	int64_t deadline;
	int status = 0, ready[2];
	pid_t pid, got;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* reads of untouched private anonymous memory map the zero page */
		uint8_t *big = mmap(NULL, span, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct nhot_submit sub = {
			.size = sizeof(sub),
			.job_count = HUGE_JOBS,
			.job_size = UINT32_MAX,
		};

		if (big == MAP_FAILED)
			_exit(3);
		for (size_t i = 0; i < HUGE_JOBS; i++)
			memcpy(big + i * UINT32_MAX, &self->job, sizeof(self->job));
		sub.jobs_ptr = (uintptr_t)big;
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			ioctl(self->fd, NHOT_IOCTL_SUBMIT, &sub);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the child could not map 32 GiB");
	close(ready[0]);
	usleep(200 * 1000);	/* well inside its first SUBMIT */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	deadline = nhot_now_ns() + 20 * NHOT_SEC_NS;
	do {
		got = waitpid(pid, &status, WNOHANG);
		if (!got)
			usleep(20 * 1000);
	} while (!got && nhot_now_ns() < deadline);
	ASSERT_EQ(pid, got) TH_LOG("SIGKILL did not end the submitter within 20 s");
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("child exit %d", WEXITSTATUS(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

/* ---- item 4: a failed call has no effect ------------------------------- */

/* SUBMIT with its argument in a read-only page: -EFAULT, nothing queued. */
TEST_F(ioctl, submit_readonly_arg_queues_nothing)
{
	struct nhot_submit *sub = self->page;
	long jobs_before = dev_objects(self->dev, "jobs");
	struct nhot_info before = { 0 }, after = { 0 };
	struct nhot_job_result res;
	uint64_t id;

	ASSERT_LE(0, jobs_before) TH_LOG("no debugfs nhot%d/objects", self->dev);
	*sub = (struct nhot_submit){
		.size = sizeof(*sub),
		.jobs_ptr = (uintptr_t)&self->job,
		.job_count = 1,
		.job_size = sizeof(self->job),
	};
	before.size = sizeof(before);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &before));
	ASSERT_EQ(0, mprotect(self->page, PAGE, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_SUBMIT, sub));
	after.size = sizeof(after);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &after));
	EXPECT_EQ(before.jobs_submitted, after.jobs_submitted);
	/* the id a fresh file's first job would get was not used */
	memset(&res, 0, sizeof(res));
	res.id = 1;
	test_err_job_status(ENOENT, self->fd, &res, 1, 0);
	EXPECT_EQ(jobs_before, dev_objects(self->dev, "jobs"));

	test_cmd_submit(self->fd, &self->job, 1, &id);
	EXPECT_EQ(1, id);
	test_cmd_wait(self->fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
}

/* first_id in a page not yet touched (not resident) is still written. */
TEST_F(ioctl, submit_first_id_in_fresh_page)
{
	uint8_t *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct nhot_submit *sub;
	uint64_t id;

	ASSERT_NE(MAP_FAILED, two);
	/*
	 * The struct straddles the pages: first_id lies in the second, never
	 * touched here, so the module finds no writable page there (at most
	 * the zero page its own read of the struct mapped).
	 */
	sub = (void *)(two + PAGE - offsetof(struct nhot_submit, first_id));
	sub->size = sizeof(*sub);
	sub->jobs_ptr = (uintptr_t)&self->job;
	sub->job_count = 1;
	sub->job_size = sizeof(self->job);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_SUBMIT, sub));
	EXPECT_EQ(1, sub->first_id);
	id = sub->first_id;
	test_cmd_wait(self->fd, &id, 1);
	munmap(two, 2 * PAGE);
}

/* BO_CREATE with its argument in a read-only page: -EFAULT, no buffer. */
TEST_F(ioctl, bo_create_readonly_arg_leaves_no_buffer)
{
	struct nhot_bo_create *bc = self->page;
	long bos_before = dev_objects(self->dev, "buffers");
	uint32_t h;

	ASSERT_LE(0, bos_before) TH_LOG("no debugfs nhot%d/objects", self->dev);
	*bc = (struct nhot_bo_create){ .size = sizeof(*bc), .length = 3 * PAGE };
	ASSERT_EQ(0, mprotect(self->page, PAGE, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, NHOT_IOCTL_BO_CREATE, bc));
	EXPECT_EQ(bos_before, dev_objects(self->dev, "buffers"));
	/* the fixture holds handles 1..4: the failed call's 5 is gone */
	test_err_bo_destroy(ENOENT, self->fd, 5);
	test_cmd_bo_create(self->fd, PAGE, &h, NULL);
	EXPECT_EQ(bos_before + 1, dev_objects(self->dev, "buffers"));
	test_cmd_bo_destroy(self->fd, h);
}

/*
 * JOB_STATUS's struct has no results: with it read-only the call succeeds
 * (the old module released the jobs, then failed -EFAULT).
 */
TEST_F(ioctl, job_status_readonly_args)
{
	struct nhot_job_status_args *st = self->page;
	struct nhot_job_result res = { 0 };
	uint64_t id;

	test_cmd_submit(self->fd, &self->job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	res.id = id;
	*st = (struct nhot_job_status_args){
		.size = sizeof(*st),
		.flags = NHOT_STATUS_RELEASE,
		.results_ptr = (uintptr_t)&res,
		.count = 1,
		.result_size = sizeof(res),
	};
	ASSERT_EQ(0, mprotect(self->page, PAGE, PROT_READ));
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_JOB_STATUS, st));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	test_err_job_status(ENOENT, self->fd, &res, 1, 0);
}

/* ---- item 10: write access --------------------------------------------- */

TEST_F(ioctl, readonly_file)
{
	char path[32];
	struct nhot_info info = { 0 };
	struct nhot_job_result res = { .id = 1 };
	uint64_t id = 1;
	long jobs_before = dev_objects(self->dev, "jobs");
	int ro;

	nhot_dev_path(path, sizeof(path), self->dev);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	info.size = sizeof(info);
	ASSERT_EQ(0, ioctl(ro, NHOT_IOCTL_GET_INFO_V1, &info));
	EXPECT_EQ(self->info.engine_kind, info.engine_kind);
	test_err_bo_create(EBADF, ro, PAGE);
	test_err_bo_destroy(EBADF, ro, 1);
	test_err_submit(EBADF, ro, &self->job, 1);
	EXPECT_EQ(jobs_before, dev_objects(self->dev, "jobs"));
	/* reading is allowed: it holds no job, so these find none */
	test_err_wait(ENOENT, ro, &id, 1, 0, 0);
	test_err_job_status(ENOENT, ro, &res, 1, 0);
	/* a read-only file cannot map anything writable (the VFS says so) */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, PAGE));
	EXPECT_EQ(EACCES, errno);
	close(ro);
}

/* ---- item 13: the ABI can grow ----------------------------------------- */

TEST_F(ioctl, get_info_caps)
{
	EXPECT_EQ(ALL_CAPS, self->info.caps);
	EXPECT_EQ(sizeof(struct nhot_info), self->info.size);
}

/* GET_INFO under ABI version 1's number, with version 1's size and with today's. */
TEST_F(ioctl, get_info_v1_number)
{
	struct nhot_info info;

	memset(&info, 0, sizeof(info));
	info.size = NHOT_INFO_SIZE_VER1;
	info.caps = 0x5a5a;	/* beyond the caller's size: not written */
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &info));
	EXPECT_EQ(NHOT_ABI_VERSION, info.abi_version);
	EXPECT_EQ(self->info.max_jobs, info.max_jobs);
	EXPECT_EQ(0x5a5a, info.caps);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ASSERT_EQ(0, ioctl(self->fd, NHOT_IOCTL_GET_INFO_V1, &info));
	EXPECT_EQ(ALL_CAPS, info.caps);
	EXPECT_NE(NHOT_IOCTL_GET_INFO_V1, NHOT_IOCTL_GET_INFO);
}

/* Structs grown by a later header, under the numbers their sizes encode. */
TEST_F(ioctl, grown_structs)
{
	struct grown_info {
		struct nhot_info info;
		uint64_t later[3];
	} gi;
	struct grown_submit {
		struct nhot_submit sub;
		uint64_t later;
	} gs;
	struct grown_job {
		struct nhot_job job;
		uint64_t later[2];
	} gj[2];
	const unsigned long get_info = _IOWR(NHOT_IOCTL_TYPE, 0x00, struct grown_info);
	const unsigned long submit = _IOWR(NHOT_IOCTL_TYPE, 0x03, struct grown_submit);
	uint64_t ids[2];

	memset(&gi, 0, sizeof(gi));
	gi.info.size = sizeof(gi);
	ASSERT_EQ(0, ioctl(self->fd, get_info, &gi));
	EXPECT_EQ(NHOT_ABI_VERSION, gi.info.abi_version);
	EXPECT_EQ(ALL_CAPS, gi.info.caps);
	gi.later[1] = 1;	/* a field this module does not know, set */
	EXPECT_ERRNO(E2BIG, ioctl(self->fd, get_info, &gi));

	memset(gj, 0, sizeof(gj));
	gj[0].job = self->job;
	gj[1].job = self->job;
	memset(&gs, 0, sizeof(gs));
	gs.sub.size = sizeof(gs);
	gs.sub.jobs_ptr = (uintptr_t)gj;
	gs.sub.job_count = 2;
	gs.sub.job_size = sizeof(gj[0]);
	ASSERT_EQ(0, ioctl(self->fd, submit, &gs));
	EXPECT_EQ(1, gs.sub.first_id);
	EXPECT_EQ(0, gs.later);
	ids[0] = gs.sub.first_id;
	ids[1] = gs.sub.first_id + 1;
	test_cmd_wait(self->fd, ids, 2);
	EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, 0));
}

/* The direction is part of the number: another one is unknown. */
TEST_F(ioctl, wrong_direction_is_enotty)
{
	struct nhot_info info = { .size = sizeof(info) };
	struct nhot_wait wt = { .size = sizeof(wt) };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOR(NHOT_IOCTL_TYPE, 0x00, struct nhot_info),
				   &info));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOW(NHOT_IOCTL_TYPE, 0x00, struct nhot_info),
				   &info));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(NHOT_IOCTL_TYPE, 0x00)));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(NHOT_IOCTL_TYPE, 0x04, struct nhot_wait),
				   &wt));
	/* any size under the right direction reaches the op (here: too small) */
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE, NHOT_IOCTL_TYPE,
						  0x00, 0), &(uint32_t){ 4 }));
}

TEST_HARNESS_MAIN
