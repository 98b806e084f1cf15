// SPDX-License-Identifier: GPL-2.0
/*
 * nhot buffer memory (docs/uapi.md, BO_CREATE, mmap and section 4):
 *  - a buffer counts against its file's limits until its memory is freed:
 *    destroyed buffers that unreleased jobs or mappings still hold cannot
 *    pin more than max_file_bytes;
 *  - buffers are charged to the creator's memory cgroup: over memory.max
 *    BO_CREATE fails with ENOMEM, and nothing is OOM-killed;
 *  - a mapping behaves like memory: after MADV_DONTNEED, and in a child of
 *    fork(), it shows the buffer's bytes, for userspace and for the engine;
 *  - mappings are never executable (PROT_EXEC: EPERM; mprotect: EACCES);
 *  - max_total_bytes caps the buffers of all files (reloads the module).
 * One variant per engine kind (sim, pci).
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nhot_util.h"

#define PAGE		4096UL
#define CGROUP_ROOT	"/sys/fs/cgroup"

FIXTURE(memory) {
	int dev;
	int fd;
	struct nhot_info info;
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
	char cgroup[64];	/* the memcg test's group, removed in teardown */
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
	if (self->cgroup[0]) {
		/* back to the root group, so that ours can go */
		FILE *f = fopen(CGROUP_ROOT "/cgroup.procs", "w");

		if (f) {
			fprintf(f, "%d\n", getpid());
			fclose(f);
		}
		rmdir(self->cgroup);
	}
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

/* ---- memory cgroups ---------------------------------------------------- */

/* The value of "key N" in a flat-keyed file (memory.events, /proc/vmstat). */
static long long read_key(const char *path, const char *key)
{
	char name[64];
	long long val;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &val) == 2) {
		if (!strcmp(name, key)) {
			fclose(f);
			return val;
		}
	}
	fclose(f);
	return -1;
}

static long long read_number(const char *path)
{
	long long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/* cgroup2 at CGROUP_ROOT with the memory controller for children, or a reason. */
static const char *cgroup2_memory(void)
{
	static char controllers[256];
	FILE *f;

	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK) &&
	    mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
		return "cannot mount cgroup2";
	f = fopen(CGROUP_ROOT "/cgroup.controllers", "r");
	if (!f)
		return "no cgroup.controllers";
	if (!fgets(controllers, sizeof(controllers), f))
		controllers[0] = 0;
	fclose(f);
	if (!strstr(controllers, "memory"))
		return "no memory controller (CONFIG_MEMCG)";
	if (nhot_write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	return NULL;
}

/*
 * In a group with memory.max 16 MiB: a 4 MiB buffer is charged to the group
 * (memory.current grows by it, and shrinks when it is destroyed); a buffer
 * beyond memory.max fails with ENOMEM; the process survives and nothing,
 * in the group or outside, is OOM-killed.
 */
TEST_F(memory, memcg_charged_and_enomem)
{
	const uint64_t big = self->info.max_buffer_bytes;
	const char *why = cgroup2_memory();
	long long oom_kills, before, charged, after;
	char path[128], pid[16];
	uint32_t h;

	if (why)
		SKIP(return, "%s", why);
	if (big <= (32ULL << 20))
		SKIP(return, "max_buffer_bytes %llu: no buffer beyond memory.max",
		     (unsigned long long)big);
	oom_kills = read_key("/proc/vmstat", "oom_kill");
	snprintf(self->cgroup, sizeof(self->cgroup), CGROUP_ROOT "/nhot_memory.%d", getpid());
	ASSERT_EQ(0, mkdir(self->cgroup, 0755)) TH_LOG("%s: %s", self->cgroup, strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.max", self->cgroup);
	ASSERT_EQ(0, nhot_write_file(path, "16777216"));
	snprintf(path, sizeof(path), "%s/cgroup.procs", self->cgroup);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, nhot_write_file(path, pid));

	snprintf(path, sizeof(path), "%s/memory.current", self->cgroup);
	before = read_number(path);
	test_cmd_bo_create(self->fd, 4 << 20, &h, NULL);
	charged = read_number(path);
	ASSERT_LE(before + (3 << 20), charged) TH_LOG("memory.current %lld -> %lld", before,
						      charged);
	test_cmd_bo_destroy(self->fd, h);
	after = read_number(path);
	ASSERT_GE(charged - (3 << 20), after) TH_LOG("memory.current %lld -> %lld", charged,
						     after);

	test_err_bo_create(ENOMEM, self->fd, big);
	/* still alive, and the group still works below its limit */
	test_cmd_bo_create(self->fd, 4 << 20, &h, NULL);
	test_cmd_bo_destroy(self->fd, h);
	snprintf(path, sizeof(path), "%s/memory.events", self->cgroup);
	ASSERT_EQ(0, read_key(path, "oom_kill"));
	ASSERT_EQ(oom_kills, read_key("/proc/vmstat", "oom_kill"));
}

/* ---- mappings behave like memory --------------------------------------- */

/*
 * madvise(MADV_DONTNEED) that must work; SKIP on a kernel built without
 * madvise() (CONFIG_ADVISE_SYSCALLS=n: ENOSYS).
 */
#define dontneed_or_skip(addr, len)                                           \
	({                                                                    \
		if (madvise(addr, len, MADV_DONTNEED)) {                      \
			if (errno == ENOSYS)                                  \
				SKIP(return, "no madvise() (CONFIG_ADVISE_SYSCALLS=n)"); \
			ASSERT_EQ(0, errno) TH_LOG("madvise: %s", strerror(errno)); \
		}                                                             \
	})

/* After MADV_DONTNEED the mapping shows the buffer's bytes again. */
TEST_F(memory, madv_dontneed_keeps_bytes)
{
	const size_t len = 3 * PAGE;
	uint8_t *p, *q;
	uint64_t off;
	uint32_t h;

	test_cmd_bo_create(self->fd, len, &h, &off);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t i = 0; i < len; i++)
		p[i] = i * 7 + 1;
	dontneed_or_skip(p, len);
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ((uint8_t)(i * 7 + 1), p[i]) TH_LOG("byte %zu", i);
	}
	/* a second mapping of the buffer shares the same pages */
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, madvise(p + PAGE, PAGE, MADV_DONTNEED));
	q[PAGE + 5] = 0xee;
	ASSERT_EQ(0xee, p[PAGE + 5]);
	ASSERT_EQ(0, munmap(q, len));
	ASSERT_EQ(0, munmap(p, len));
}

/*
 * The engine and the mapping see the same bytes across MADV_DONTNEED: a job
 * reads what userspace wrote after the pages were dropped, and its output
 * is visible through a mapping whose pages were dropped after it ran.
 */
TEST_F(memory, madv_dontneed_engine_sees_same_bytes)
{
	struct nhot_fc_bos *b = &self->bos;
	uint8_t *maps[] = { b->in_map, b->w_map, b->params_map, b->out_map };
	struct nhot_job job;
	uint64_t id;

	for (int i = 0; i < 4; i++) {
		dontneed_or_skip(maps[i], NHOT_FC_BO_BYTES);
	}
	nhot_fc_job(&self->fc, b, 0, &job);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, madvise(maps[i], NHOT_FC_BO_BYTES, MADV_DONTNEED));
	}
	test_cmd_submit(self->fd, &job, 1, &id);
	release_jobs(_metadata, self->fd, id, 1);
	ASSERT_TRUE(nhot_fc_output_ok(&self->fc, b, 0));
	ASSERT_EQ(0, madvise(b->out_map, NHOT_FC_BO_BYTES, MADV_DONTNEED));
	ASSERT_TRUE(nhot_fc_output_ok(&self->fc, b, 0));
}

/*
 * A child of fork() sees the buffer through the mapping it inherited: its
 * page tables start empty (shared file mappings are not copied), so this
 * too takes the fault handler.
 */
TEST_F(memory, fork_child_sees_bytes)
{
	uint8_t *p;
	uint64_t off;
	uint32_t h;
	pid_t pid;
	int status;

	test_cmd_bo_create(self->fd, 2 * PAGE, &h, &off);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0x11;
	p[PAGE + 1] = 0x22;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* the child writes, the parent reads */
		int ok = p[0] == 0x11 && p[PAGE + 1] == 0x22;

		p[PAGE + 2] = 0x33;
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child: status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0x33, p[PAGE + 2]);
	ASSERT_EQ(0, munmap(p, 2 * PAGE));
}

/* ---- never executable --------------------------------------------------- */

TEST_F(memory, prot_exec_refused)
{
	uint64_t off;
	uint32_t h;
	void *p;

	test_cmd_bo_create(self->fd, PAGE, &h, &off);
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd, off);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EPERM, errno);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, self->fd, off);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EPERM, errno);
	/* mprotect() cannot add it later */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_ERRNO(EACCES, mprotect(p, PAGE, PROT_READ | PROT_EXEC));
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_READ));
	ASSERT_EQ(0, munmap(p, PAGE));
}

/* ---- max_total_bytes: all buffers of all files ------------------------- */

#define PARAM_TOTAL	"/sys/module/nhot/parameters/max_total_bytes"
#define TOTAL_CAP	(12ULL << 20)

FIXTURE(total) {
	int fd[2];
};

FIXTURE_SETUP(total)
{
	self->fd[0] = self->fd[1] = -1;
	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	if (access(nhot_module_path(), R_OK))
		SKIP(return, "no module file %s", nhot_module_path());
}

/* Back to the module as the VM loaded it. */
FIXTURE_TEARDOWN(total)
{
	const char *params = getenv("NHOT_MODULE_PARAMS");

	for (int i = 0; i < 2; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	if (nhot_module_loaded() && nhot_module_unload())
		return;
	nhot_module_load(params ? params : "");
}

/*
 * The default cap is half of the RAM; a module loaded with
 * max_total_bytes=12 MiB refuses (ENOMEM) a buffer of a second file that
 * would pass it, though that file is far below its own limits.
 */
TEST_F(total, max_total_bytes)
{
	const char *vm_params = getenv("NHOT_MODULE_PARAMS");
	long long def = read_number(PARAM_TOTAL);
	char params[256];
	uint32_t h0, h1;

	ASSERT_LT(0, def) TH_LOG("no max_total_bytes parameter");
	ASSERT_GE((long long)(sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / 2), def);

	ASSERT_EQ(0, nhot_module_unload()) TH_LOG("unload: %s", strerror(errno));
	snprintf(params, sizeof(params), "%s max_total_bytes=%llu", vm_params ? vm_params : "",
		 TOTAL_CAP);
	ASSERT_EQ(0, nhot_module_load(params)) TH_LOG("load %s: %s", params, strerror(errno));
	ASSERT_EQ((long long)TOTAL_CAP, read_number(PARAM_TOTAL));

	self->fd[0] = nhot_open_dev(0);
	self->fd[1] = nhot_open_dev(0);
	ASSERT_LE(0, self->fd[0]);
	ASSERT_LE(0, self->fd[1]);
	test_cmd_bo_create(self->fd[0], 8 << 20, &h0, NULL);
	test_err_bo_create(ENOMEM, self->fd[1], 8 << 20);
	test_cmd_bo_create(self->fd[1], 4 << 20, &h1, NULL);
	test_err_bo_create(ENOMEM, self->fd[1], 1);
	/* freed memory is room again */
	test_cmd_bo_destroy(self->fd[0], h0);
	test_cmd_bo_create(self->fd[1], 8 << 20, &h0, NULL);
}

TEST_HARNESS_MAIN
