// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on every error path of nhot.ko, in the style of the
 * kernel's iommufd_fail_nth.c: each test repeats one call (open, close,
 * every ioctl, mmap) with /proc/self/task/TID/fail-nth set to 1, 2, 3, ...
 * so that the 1st, 2nd, 3rd ... allocation of the call fails (failslab and
 * fail_page_alloc: kmalloc, kmem_cache, vmalloc and page allocations of this
 * task only), until the call runs through without reaching an injected
 * failure. After every round:
 *
 *  - the call succeeded or failed with ENOMEM (an injected allocation
 *    failure must come back as an error, nothing else); it may also succeed
 *    when the kernel absorbed the failure (kvmalloc falls back to vmalloc,
 *    kmemleak to its pool): those rounds are counted, not failed;
 *  - the module's live objects (debugfs nhot/objects: files, buffers, jobs,
 *    mappings) are back at the values before the round: nothing leaked;
 *  - the device still runs an FC job bit-exactly;
 *  - the kernel log has no report but the allocator's own "page allocation
 *    failure" / "vmalloc error" messages, which an injected page allocation
 *    failure is expected to print (with a stack dump): anything else (WARN,
 *    BUG, KASAN, lockdep, a stack dump of any other kind) fails the test.
 *    The test reads and clears the log itself, for that reason.
 *
 * The generic netlink operations (DEV_NEW, DEV_DEL, DEV_SET, the DEV_GET
 * dump, STATS_GET) get the same treatment, fail-nth armed around the request
 * and its replies: ENOMEM, or ENOBUFS (a reply or ACK the kernel could not
 * allocate; the request may have been carried out, which is checked and
 * undone), and the devices count of debugfs nhot/objects back where it was.
 *
 * The number of failure points of each call is printed ("# ... N failure
 * points"). vm/ksft-run.sh's kmemleak scan after the program covers leaks the
 * counters cannot see. A kernel without fault injection (Debian's) skips
 * every test; the debug kernel (vm/debug-kernel.sh, make vmtest-debug) runs
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/nhot_netlink.h>

#include "nhot_genl.h"
#include "nhot_util.h"

/* An arbitrary bound: a call with more failure points than this is a bug. */
#define NTH_MAX			2000
/* The buffer of BO_CREATE and mmap: several pages, so vmalloc fails page by page. */
#define NTH_BO_BYTES		(8 * 4096)
#define NTH_BATCH		8
/* Seconds per test: hundreds of rounds under KASAN in TCG (ksft-run allows 120). */
#define NTH_TIMEOUT		115

#define FI_DIR			"/sys/kernel/debug"
#define OBJECTS_PATH		"/sys/kernel/debug/nhot/objects"

#define SYSLOG_ACTION_READ_ALL	3
#define SYSLOG_ACTION_CLEAR	5

static bool have_fault_injection;

/*
 * fail-nth fails the nth call of any fault site of this task, but failslab
 * and fail_page_alloc skip sleeping allocations and page allocations below
 * order 1 unless told otherwise; verbose 0 keeps their own stack dumps out
 * of the log. Probability stays 0: nothing fails but what fail-nth asks for.
 */
static __attribute__((constructor)) void setup_fault_injection(void)
{
	static const char * const settings[][2] = {
		{ FI_DIR "/failslab/ignore-gfp-wait", "N" },
		{ FI_DIR "/failslab/verbose", "0" },
		{ FI_DIR "/failslab/task-filter", "Y" },
		{ FI_DIR "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ FI_DIR "/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ FI_DIR "/fail_page_alloc/min-order", "0" },
		{ FI_DIR "/fail_page_alloc/verbose", "0" },
		{ FI_DIR "/fail_page_alloc/task-filter", "Y" },
	};
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	if (access(path, F_OK))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
		if (nhot_write_file(settings[i][0], settings[i][1]))
			return;
	have_fault_injection = true;
}

/* --- live objects ---------------------------------------------------------- */

struct nhot_objs {
	long devices, files, buffers, jobs, mappings;
};

static void read_objects(struct __test_metadata *_metadata, struct nhot_objs *o)
{
	char buf[256], *line, *save = NULL;
	ssize_t n;
	int fd;

	fd = open(OBJECTS_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s (a module without the objects counters?)",
				OBJECTS_PATH, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = 0;
	memset(o, 0, sizeof(*o));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		long v;

		if (sscanf(line, "%31s %ld", name, &v) != 2)
			continue;
		if (!strcmp(name, "devices"))
			o->devices = v;
		else if (!strcmp(name, "files"))
			o->files = v;
		else if (!strcmp(name, "buffers"))
			o->buffers = v;
		else if (!strcmp(name, "jobs"))
			o->jobs = v;
		else if (!strcmp(name, "mappings"))
			o->mappings = v;
	}
}

/* --- the kernel log -------------------------------------------------------- */

/*
 * An injected page allocation failure makes the allocator print a report:
 * a header line, then a stack dump ("Call Trace:"), then the memory state.
 * One "Call Trace:" is expected after each such header; every other line
 * that names a kernel checker or a stack dump is a finding.
 */
static bool alloc_failure_header(const char *line)
{
	return strstr(line, "page allocation failure:") || strstr(line, "vmalloc error:");
}

static bool kernel_bad(const char *line)
{
	static const char * const bad[] = {
		"WARNING:", "BUG:", "BUG ", "Oops", "possible circular locking",
		"possible recursive locking", "lockdep", "hung task",
		"blocked for more than", "kernel BUG", "general protection",
		"UBSAN", "KASAN", "refcount_t", "Call Trace",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (strstr(line, bad[i]))
			return true;
	return false;
}

/* Checks the kernel log since the last call and clears it. */
static void check_kernel_log(struct __test_metadata *_metadata)
{
	static char log[1 << 20];
	char *line, *save = NULL;
	bool trace_expected = false;
	int n;

	n = klogctl(SYSLOG_ACTION_READ_ALL, log, sizeof(log) - 1);
	ASSERT_LE(0, n) TH_LOG("reading the kernel log: %s", strerror(errno));
	log[n] = 0;
	ASSERT_EQ(0, klogctl(SYSLOG_ACTION_CLEAR, NULL, 0));
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (alloc_failure_header(line)) {
			trace_expected = true;
			continue;
		}
		if (trace_expected && strstr(line, "Call Trace:")) {
			trace_expected = false;
			continue;
		}
		/* a debug kernel's banner names a checker without a finding */
		if (strstr(line, "RCU lockdep checking is enabled"))
			continue;
		EXPECT_FALSE(kernel_bad(line)) TH_LOG("kernel log: %s", line);
	}
}

/* --- fail-nth -------------------------------------------------------------- */

struct nth_round {
	int proc_fd;
	unsigned int nth;	/* the allocation to fail, 1-based */
	bool injected;		/* the call reached it */
	int arm_errno;
	bool netlink;		/* ENOBUFS is an allocation failure too */
	struct nhot_genl *nl;
};

/* From here to nth_disarm(), no system call but the one under test. */
static void nth_arm(struct nth_round *r)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", r->nth);

	r->arm_errno = pwrite(r->proc_fd, buf, len, 0) == len ? 0 : errno;
}

/*
 * Reads what is left of the count (0: the failure was injected) and turns
 * fail-nth off. A failure left pending can hit the read or the write here;
 * then the call under test did not reach it, and the write is repeated.
 */
static void nth_disarm(struct __test_metadata *_metadata, struct nth_round *r)
{
	char buf[16] = "";
	ssize_t n;

	n = pread(r->proc_fd, buf, sizeof(buf) - 1, 0);
	r->injected = n == 2 && buf[0] == '0' && buf[1] == '\n';
	if (pwrite(r->proc_fd, "0", 1, 0) != 1) {
		ASSERT_EQ(1, pwrite(r->proc_fd, "0", 1, 0));
	}
	ASSERT_EQ(0, r->arm_errno) TH_LOG("writing fail-nth: %s", strerror(r->arm_errno));
}

/* --- the fixture ----------------------------------------------------------- */

FIXTURE(fail_nth) {
	int dev;
	int proc_fd;
	struct nhot_objs base;
};

FIXTURE_VARIANT(fail_nth) {
	uint32_t engine_kind;
};

FIXTURE_VARIANT_ADD(fail_nth, sim) {
	.engine_kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(fail_nth, pci) {
	.engine_kind = NHOT_ENGINE_PCI,
};

/* N of the first /dev/nhotN of this engine kind, or -1. */
static int find_device(uint32_t kind)
{
	for (int dev = 0; dev < 64; dev++) {
		struct nhot_info info;
		int fd = nhot_open_dev(dev);
		int ret;

		if (fd < 0)
			continue;
		ret = _test_cmd_get_info(fd, &info);
		close(fd);
		if (!ret && info.engine_kind == kind)
			return dev;
	}
	return -1;
}

FIXTURE_SETUP(fail_nth)
{
	char path[64];

	self->proc_fd = -1;
	if (!have_fault_injection)
		SKIP(return, "no fault injection in this kernel (fail-nth, failslab, fail_page_alloc in debugfs): run it on the debug kernel, make vmtest-debug");
	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	self->dev = find_device(variant->engine_kind);
	if (self->dev < 0)
		SKIP(return, "no %s engine", variant->engine_kind == NHOT_ENGINE_PCI ?
		     "PCI" : "simulated");
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	self->proc_fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->proc_fd) TH_LOG("%s: %s", path, strerror(errno));
	read_objects(_metadata, &self->base);
	/* what came before is vm/ksft-run.sh's to judge; from here on it is ours */
	ASSERT_EQ(0, klogctl(SYSLOG_ACTION_CLEAR, NULL, 0));
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->proc_fd >= 0)
		close(self->proc_fd);
}

/* --- a job that must still run bit-exactly --------------------------------- */

struct fc_ctx {
	int fd;
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
	struct nhot_job job;
};

static void fc_unmap(struct fc_ctx *c)
{
	uint8_t *maps[] = { c->bos.in_map, c->bos.w_map, c->bos.params_map, c->bos.out_map };

	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		if (maps[i] && maps[i] != MAP_FAILED)
			munmap(maps[i], NHOT_FC_BO_BYTES);
	memset(&c->bos, 0, sizeof(c->bos));
}

/* Opens the device, makes the four buffers, writes one FC job (slot 0). */
static void fc_prepare(struct __test_metadata *_metadata, int dev, struct fc_ctx *c,
		       uint32_t seed)
{
	c->fd = nhot_open_dev(dev);
	ASSERT_LE(0, c->fd) TH_LOG("open /dev/nhot%d: %s", dev, strerror(errno));
	nhot_fc_small(&c->fc, 1 + seed % 4, 2 + seed % 7, seed);
	ASSERT_EQ(0, nhot_fc_bos_create(c->fd, &c->bos));
	nhot_fc_job(&c->fc, &c->bos, 0, &c->job);
}

static void fc_close(struct fc_ctx *c)
{
	fc_unmap(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Waits for job id and checks slot 0 against the expected output. */
static void fc_check(struct __test_metadata *_metadata, struct fc_ctx *c, uint64_t id)
{
	struct nhot_job_result res;

	test_cmd_wait(c->fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(c->fd, id, &res, NHOT_STATUS_RELEASE));
	ASSERT_EQ(NHOT_JOB_DONE, res.status);
	ASSERT_TRUE(nhot_fc_output_ok(&c->fc, &c->bos, 0));
}

/* The device still works: one FC job, on a file of its own, bit-exact. */
static void device_still_works(struct __test_metadata *_metadata, int dev, uint32_t seed)
{
	struct fc_ctx c;
	uint64_t id;

	fc_prepare(_metadata, dev, &c, seed);
	test_cmd_submit(c.fd, &c.job, 1, &id);
	fc_check(_metadata, &c, id);
	fc_close(&c);
}

/* --- the loop -------------------------------------------------------------- */

/*
 * One round: prepare without injection, run the call under test between
 * nth_arm() and nth_disarm(), check its result, undo everything (close the
 * file, unmap). Returns 0 when the call succeeded, else its errno.
 */
typedef int (*nth_call_t)(struct __test_metadata *_metadata, int dev, struct nth_round *r);

static void nth_loop(struct __test_metadata *_metadata, FIXTURE_DATA(fail_nth) *self,
		     const char *what, nth_call_t call, struct nhot_genl *nl)
{
	unsigned int errors = 0, absorbed = 0;
	struct nth_round r = { .proc_fd = self->proc_fd, .netlink = nl, .nl = nl };

	for (r.nth = 1;; r.nth++) {
		struct nhot_objs now;
		int err;

		ASSERT_GT(NTH_MAX, r.nth) TH_LOG("%s: more than %d failure points", what, NTH_MAX);
		r.injected = false;
		err = call(_metadata, self->dev, &r);
		if (!r.injected) {
			/* the whole call ran: it must have worked */
			ASSERT_EQ(0, err) TH_LOG("%s failed with %s without an injected failure",
						 what, strerror(err));
			break;
		}
		if (err) {
			if (!(r.netlink && err == ENOBUFS)) {
				ASSERT_EQ(ENOMEM, err) TH_LOG("%s: allocation %u failed: %s, not ENOMEM",
							      what, r.nth, strerror(err));
			}
			errors++;
		} else {
			absorbed++;
		}
		read_objects(_metadata, &now);
		ASSERT_EQ(self->base.devices, now.devices) TH_LOG("%s, allocation %u", what, r.nth);
		ASSERT_EQ(self->base.files, now.files) TH_LOG("%s, allocation %u", what, r.nth);
		ASSERT_EQ(self->base.buffers, now.buffers) TH_LOG("%s, allocation %u", what, r.nth);
		ASSERT_EQ(self->base.jobs, now.jobs) TH_LOG("%s, allocation %u", what, r.nth);
		ASSERT_EQ(self->base.mappings, now.mappings) TH_LOG("%s, allocation %u", what, r.nth);
		device_still_works(_metadata, self->dev, r.nth);
	}
	device_still_works(_metadata, self->dev, 0);
	check_kernel_log(_metadata);
	printf("# %s: %u failure points: %u returned an error, %u absorbed by the kernel\n",
	       what, r.nth - 1, errors, absorbed);
	fflush(stdout);
}

/* --- the calls ------------------------------------------------------------- */

static int call_open(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	char path[32];
	int fd, err;

	nhot_dev_path(path, sizeof(path), dev);
	nth_arm(r);
	fd = open(path, O_RDWR | O_CLOEXEC);
	err = fd < 0 ? errno : 0;
	nth_disarm(_metadata, r);
	if (fd >= 0)
		close(fd);
	return err;
}

static int call_close(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct fc_ctx c;
	int ret, err;

	/* a file holding buffers and a finished, unreleased job */
	fc_prepare(_metadata, dev, &c, r->nth);
	test_cmd_submit(c.fd, &c.job, 1, NULL);
	fc_unmap(&c);
	nth_arm(r);
	ret = close(c.fd);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	return err;
}

static int call_get_info(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nhot_info info;
	int fd = nhot_open_dev(dev), ret, err;

	ASSERT_LE(0, fd);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	nth_arm(r);
	ret = ioctl(fd, NHOT_IOCTL_GET_INFO, &info);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	if (!ret) {
		EXPECT_EQ(NHOT_ABI_VERSION, info.abi_version);
	}
	close(fd);
	return err;
}

static int call_bo_create(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nhot_bo_create cmd = { .size = sizeof(cmd), .length = NTH_BO_BYTES };
	int fd = nhot_open_dev(dev), ret, err;

	ASSERT_LE(0, fd);
	nth_arm(r);
	ret = ioctl(fd, NHOT_IOCTL_BO_CREATE, &cmd);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	if (!ret) {
		/* the buffer is whole: it maps, it is zeroed */
		uint8_t *p = mmap(NULL, NTH_BO_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				  cmd.mmap_offset);

		ASSERT_NE(MAP_FAILED, p);
		for (size_t i = 0; i < NTH_BO_BYTES; i++) {
			ASSERT_EQ(0, p[i]);
		}
		munmap(p, NTH_BO_BYTES);
		test_cmd_bo_destroy(fd, cmd.handle);
	}
	close(fd);
	return err;
}

static int call_bo_destroy(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nhot_bo_destroy cmd = { .size = sizeof(cmd) };
	int fd = nhot_open_dev(dev), ret, err;

	ASSERT_LE(0, fd);
	test_cmd_bo_create(fd, NTH_BO_BYTES, &cmd.handle, NULL);
	nth_arm(r);
	ret = ioctl(fd, NHOT_IOCTL_BO_DESTROY, &cmd);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	if (ret) {
		test_cmd_bo_destroy(fd, cmd.handle);
	} else {
		test_err_bo_destroy(ENOENT, fd, cmd.handle);
	}
	close(fd);
	return err;
}

static int call_mmap(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	int fd = nhot_open_dev(dev), err;
	uint64_t off;
	uint32_t handle;
	uint8_t *p;

	ASSERT_LE(0, fd);
	test_cmd_bo_create(fd, NTH_BO_BYTES, &handle, &off);
	nth_arm(r);
	p = mmap(NULL, NTH_BO_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	err = p == MAP_FAILED ? errno : 0;
	nth_disarm(_metadata, r);
	if (p != MAP_FAILED) {
		p[0] = 1;
		p[NTH_BO_BYTES - 1] = 2;
		munmap(p, NTH_BO_BYTES);
	}
	close(fd);
	return err;
}

/* SUBMIT of count jobs (slots 0..count-1 of one set of buffers). */
static int call_submit_n(struct __test_metadata *_metadata, int dev, struct nth_round *r,
			 unsigned int count)
{
	struct nhot_fc fcs[NTH_BATCH];
	struct nhot_job jobs[NTH_BATCH];
	struct nhot_submit cmd = {
		.size = sizeof(cmd),
		.jobs_ptr = (uintptr_t)jobs,
		.job_count = count,
		.job_size = sizeof(jobs[0]),
	};
	struct fc_ctx c;
	int ret, err;

	fc_prepare(_metadata, dev, &c, r->nth);
	for (unsigned int i = 0; i < count; i++) {
		nhot_fc_small(&fcs[i], 1 + (r->nth + i) % 4, 2 + i % 7, r->nth * 31 + i);
		nhot_fc_job(&fcs[i], &c.bos, i, &jobs[i]);
	}
	nth_arm(r);
	ret = ioctl(c.fd, NHOT_IOCTL_SUBMIT, &cmd);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	if (!ret) {
		for (unsigned int i = 0; i < count; i++) {
			uint64_t id = cmd.first_id + i;
			struct nhot_job_result res;

			test_cmd_wait(c.fd, &id, 1);
			ASSERT_EQ(0, _test_job_result(c.fd, id, &res, NHOT_STATUS_RELEASE));
			ASSERT_EQ(NHOT_JOB_DONE, res.status);
			ASSERT_TRUE(nhot_fc_output_ok(&fcs[i], &c.bos, i));
		}
	}
	fc_close(&c);
	return err;
}

static int call_submit(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	return call_submit_n(_metadata, dev, r, 1);
}

static int call_submit_batch(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	return call_submit_n(_metadata, dev, r, NTH_BATCH);
}

static int call_wait(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct fc_ctx c;
	uint64_t id;
	int ret, err;

	fc_prepare(_metadata, dev, &c, r->nth);
	test_cmd_submit(c.fd, &c.job, 1, &id);
	nth_arm(r);
	ret = _test_cmd_wait(c.fd, &id, 1, 0, nhot_now_ns() + 10 * NHOT_SEC_NS);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	fc_check(_metadata, &c, id);
	fc_close(&c);
	return err;
}

static int call_job_status(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nhot_job_result res;
	struct fc_ctx c;
	uint64_t id;
	int ret, err;

	fc_prepare(_metadata, dev, &c, r->nth);
	test_cmd_submit(c.fd, &c.job, 1, &id);
	test_cmd_wait(c.fd, &id, 1);
	memset(&res, 0, sizeof(res));
	res.id = id;
	nth_arm(r);
	ret = _test_cmd_job_status(c.fd, &res, 1, NHOT_STATUS_RELEASE);
	err = ret ? errno : 0;
	nth_disarm(_metadata, r);
	if (!ret) {
		/* released: the id is gone */
		ASSERT_EQ(NHOT_JOB_DONE, res.status);
		EXPECT_ERRNO(ENOENT, _test_job_result(c.fd, id, &res, 0));
	} else {
		/* on error nothing was released */
		ASSERT_EQ(0, _test_job_result(c.fd, id, &res, NHOT_STATUS_RELEASE));
		ASSERT_EQ(NHOT_JOB_DONE, res.status);
	}
	ASSERT_TRUE(nhot_fc_output_ok(&c.fc, &c.bos, 0));
	fc_close(&c);
	return err;
}

TEST_F_TIMEOUT(fail_nth, open, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "open", call_open, NULL);
}

TEST_F_TIMEOUT(fail_nth, close, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "close", call_close, NULL);
}

TEST_F_TIMEOUT(fail_nth, get_info, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "GET_INFO", call_get_info, NULL);
}

TEST_F_TIMEOUT(fail_nth, bo_create, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "BO_CREATE", call_bo_create, NULL);
}

TEST_F_TIMEOUT(fail_nth, bo_destroy, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "BO_DESTROY", call_bo_destroy, NULL);
}

TEST_F_TIMEOUT(fail_nth, mmap, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "mmap", call_mmap, NULL);
}

TEST_F_TIMEOUT(fail_nth, submit, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "SUBMIT", call_submit, NULL);
}

TEST_F_TIMEOUT(fail_nth, submit_batch, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "SUBMIT of 8", call_submit_batch, NULL);
}

TEST_F_TIMEOUT(fail_nth, wait, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "WAIT", call_wait, NULL);
}

TEST_F_TIMEOUT(fail_nth, job_status, NTH_TIMEOUT)
{
	nth_loop(_metadata, self, "JOB_STATUS", call_job_status, NULL);
}

/* --- generic netlink ------------------------------------------------------- */

/* A netlink socket bound to the nhot family; skips without the family. */
static void nl_open(struct __test_metadata *_metadata, struct nhot_genl *nl)
{
	struct timeval tv = { .tv_sec = 10 };
	int ret;

	ASSERT_EQ(0, nhot_genl_socket(nl));
	ret = nhot_genl_resolve(nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR);
	if (ret == -ENOENT) {
		nhot_genl_close(nl);
		SKIP(return, "no nhot generic netlink family");
	}
	ASSERT_EQ(0, ret);
	/* a lost reply must not hang the test */
	ASSERT_EQ(0, setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
}

#define NL_MAX_DEVS	64

struct nl_devs {
	int count;
	uint32_t id[NL_MAX_DEVS];
};

static int nl_collect(const struct nhot_genl_msg *m, void *arg)
{
	struct nl_devs *d = arg;

	if (m->cmd == NHOT_CMD_DEV_GET && m->tb[NHOT_A_DEV_ID] && d->count < NL_MAX_DEVS)
		d->id[d->count++] = nhot_attr_u32(m->tb[NHOT_A_DEV_ID]);
	return 0;
}

static int nl_dev_dump(struct nhot_genl *nl, struct nl_devs *d)
{
	struct nhot_genl_req req;

	memset(d, 0, sizeof(*d));
	nhot_genl_req_init(&req, nl->family, NLM_F_DUMP, NHOT_CMD_DEV_GET);
	return nhot_genl_xfer(nl, &req, NULL, nl_collect, d);
}

static bool nl_has(const struct nl_devs *d, uint32_t id)
{
	for (int i = 0; i < d->count; i++)
		if (d->id[i] == id)
			return true;
	return false;
}

/*
 * After a lost reply (ENOBUFS) the request may have been carried out: the
 * devices created since before are removed again.
 */
static void nl_undo_new(struct __test_metadata *_metadata, struct nhot_genl *nl,
			const struct nl_devs *before)
{
	struct nl_devs now;

	ASSERT_EQ(0, nl_dev_dump(nl, &now));
	for (int i = 0; i < now.count; i++) {
		if (!nl_has(before, now.id[i])) {
			ASSERT_EQ(0, nhot_genl_dev_del(nl, now.id[i]));
		}
	}
}

/* A netlink call under fail-nth: errno of the request, 0 on success. */
#define NL_CALL(r, expr)			\
	({					\
		int __ret;			\
		nth_arm(r);			\
		__ret = (expr);			\
		nth_disarm(_metadata, r);	\
		-__ret;				\
	})

static int call_nl_dev_new(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nl_devs before;
	uint32_t id = 0;
	int err;

	ASSERT_EQ(0, nl_dev_dump(r->nl, &before));
	err = NL_CALL(r, nhot_genl_dev_new(r->nl, 0, 0, 2000, &id, NULL));
	if (!err) {
		/* a whole device: it runs a job, then goes */
		device_still_works(_metadata, id, r->nth);
		ASSERT_EQ(0, nhot_genl_dev_del(r->nl, id));
	} else {
		nl_undo_new(_metadata, r->nl, &before);
	}
	return err;
}

static int call_nl_dev_del(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nl_devs now;
	uint32_t id;
	int err;

	ASSERT_EQ(0, nhot_genl_dev_new(r->nl, 0, 0, 2000, &id, NULL));
	err = NL_CALL(r, nhot_genl_dev_del(r->nl, id));
	ASSERT_EQ(0, nl_dev_dump(r->nl, &now));
	if (err && nl_has(&now, id)) {
		/* not removed: still whole */
		device_still_works(_metadata, id, r->nth);
		ASSERT_EQ(0, nhot_genl_dev_del(r->nl, id));
	} else {
		ASSERT_FALSE(nl_has(&now, id));
	}
	return err;
}

static int call_nl_dev_set(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nhot_genl_req req;

	nhot_genl_req_init(&req, r->nl->family, 0, NHOT_CMD_DEV_SET);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ID, dev);
	nhot_genl_put_u32(&req, NHOT_A_DEV_TIMEOUT_MS, 2000);
	return NL_CALL(r, nhot_genl_xfer(r->nl, &req, NULL, NULL, NULL));
}

static int call_nl_dev_dump(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	struct nl_devs d;
	int err = NL_CALL(r, nl_dev_dump(r->nl, &d));

	if (!err) {
		ASSERT_TRUE(nl_has(&d, dev));
	} else {
		/* a failed dump leaves no reply behind: the socket works */
		ASSERT_EQ(0, nl_dev_dump(r->nl, &d));
	}
	return err;
}

static int call_nl_stats_get(struct __test_metadata *_metadata, int dev, struct nth_round *r)
{
	static struct nhot_genl_msg m;
	struct nhot_genl_req req;
	int err;

	nhot_genl_req_init(&req, r->nl->family, 0, NHOT_CMD_STATS_GET);
	nhot_genl_put_u32(&req, NHOT_A_STATS_DEV_ID, dev);
	err = NL_CALL(r, nhot_genl_xfer(r->nl, &req, &m, NULL, NULL));
	if (!err) {
		ASSERT_NE(NULL, m.tb[NHOT_A_STATS_JOBS_SUBMITTED]);
	}
	return err;
}

#define TEST_FAIL_NTH_NL(name, what)					\
	TEST_F_TIMEOUT(fail_nth, name, NTH_TIMEOUT)			\
	{								\
		struct nhot_genl nl;					\
									\
		if (variant->engine_kind != NHOT_ENGINE_SIM)		\
			SKIP(return, "netlink: once, with the sim variant"); \
		nl_open(_metadata, &nl);				\
		nth_loop(_metadata, self, what, call_##name, &nl);	\
		nhot_genl_close(&nl);					\
	}

TEST_FAIL_NTH_NL(nl_dev_new, "netlink DEV_NEW")
TEST_FAIL_NTH_NL(nl_dev_del, "netlink DEV_DEL")
TEST_FAIL_NTH_NL(nl_dev_set, "netlink DEV_SET")
TEST_FAIL_NTH_NL(nl_dev_dump, "netlink DEV_GET dump")
TEST_FAIL_NTH_NL(nl_stats_get, "netlink STATS_GET")

TEST_HARNESS_MAIN
