// SPDX-License-Identifier: GPL-2.0
/*
 * nhot's PCI engine (docs/hw.md) behind nhot-emu: what only a PCI function
 * has.  The suite's other programs run every ABI, job and layer test on it
 * too (their "pci" variants); here:
 *
 *  - the function in sysfs: bound to nhot, MSI-X vectors, /dev/nhotN's parent;
 *  - DMA through page lists: tensors that start mid-page and span many pages;
 *  - unbind with an open file and jobs in flight, then bind again;
 *  - scenarios that need a special emulator, chosen by $NHOT_PCI_SCENARIO
 *    (vm/vmtest.sh boots them; without it they skip):
 *      faults         nhot-emu --inject-error 2 --stall 4 --fatal 7 --die 10:
 *                     an error status fails its job -EIO and later jobs
 *                     pass; a stalled job times out, the device is reset,
 *                     later jobs pass; a device-level fatal error fails its
 *                     job -EIO at once and the device is reset, later jobs
 *                     pass; the emulator dies mid-job: the job fails within
 *                     the timeout, the device is dead (-ENODEV), it can be
 *                     unbound and the module removed;
 *      bad-signature  nhot-emu --bad-signature: probe refuses the function;
 *      one-vector     nhot-emu --vectors 1: the pci tests with completions,
 *                     errors and reset acknowledgments on one MSI-X vector;
 *      shutdown       nhot-emu --verbose --stall 1: a job is on the device
 *                     when the guest reboots; vm/vmtest.sh checks that
 *                     the driver's .shutdown reset the device without
 *                     ENABLE (the emulator's log);
 *      swiotlb        a guest booted with swiotlb=force (every DMA transfer
 *                     bounced, as in SEV/TDX guests): the pci tests, among
 *                     them the DMA ownership ones below.
 *  - DMA ownership (docs/hw.md 9): a chained batch (each job reads the
 *    previous job's output, compared with libnhot's nhot_ref_run()), and an
 *    output the CPU rewrites after its job completed, which must survive the
 *    job's release and be what the next job reads.  With bounce buffering,
 *    a mapping made at SUBMIT reads stale input and an unmap at release
 *    copies old bytes back: both fail here.
 *    The fault_* tests count the emulator's jobs: run them alone, in order
 *    (ksft-run.sh with KSFT_ONLY), on a fresh emulator.
 */
#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "nhot_util.h"
#include "nhot.h"	/* libnhot: nhot_ref_run() */

#define PCI_DRIVER_DIR	"/sys/bus/pci/drivers/nhot"
/* The engine timeout of the fault tests: short, they wait it out. */
#define FAULT_TIMEOUT_MS	500

/* --- helpers ---------------------------------------------------------- */

static int read_hex(const char *path, unsigned long *val)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	*val = strtoul(buf, NULL, 16);
	return 0;
}

/* The PCI address (0000:00:03.0) of /dev/nhotN's parent; 0 or -errno. */
static int pci_addr_of(int n, char *addr, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t got;

	snprintf(link, sizeof(link), "/sys/class/misc/nhot%d/device", n);
	got = readlink(link, target, sizeof(target) - 1);
	if (got < 0)
		return -errno;
	target[got] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(addr, base, strlen(base) + 1);
	return 0;
}

/* Entries of a sysfs folder, or -errno. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* One FC job at slot of fc's buffers, run to the end; its result. */
static void run_fc(struct __test_metadata *_metadata, int fd, const struct nhot_fc *fc,
		   const struct nhot_fc_bos *bos, unsigned int slot,
		   struct nhot_job_result *res)
{
	struct nhot_job job;
	uint64_t id;

	nhot_fc_job(fc, bos, slot, &job);
	test_cmd_submit(fd, &job, 1, &id);
	ASSERT_EQ(0, _test_cmd_wait(fd, &id, 1, 0, nhot_now_ns() + 30 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_job_result(fd, id, res, NHOT_STATUS_RELEASE));
}

static const char *scenario(void)
{
	const char *s = getenv("NHOT_PCI_SCENARIO");

	return s ? s : "";
}

#define scenario_or_skip(name)                                               \
	do {                                                                 \
		if (strcmp(scenario(), name))                                \
			SKIP(return, "needs NHOT_PCI_SCENARIO=%s (vm/vmtest.sh)", name); \
	} while (0)

/* /dev/kmsg opened at its end: what the kernel logs from now on; or -errno. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* How many records read from fd (to its end) contain text. */
static int kmsg_count(int fd, const char *text)
{
	char rec[1024];
	int found = 0;

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while reading: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		found += strstr(rec, text) != NULL;
	}
	return found;
}

/* --- the function ----------------------------------------------------- */

FIXTURE(pci) {
	int dev;	/* N of /dev/nhotN */
	int fd;
	char addr[32];	/* its PCI function */
};

FIXTURE_SETUP(pci)
{
	self->fd = -1;
	if (scenario()[0] && strcmp(scenario(), "one-vector") && strcmp(scenario(), "swiotlb"))
		SKIP(return, "NHOT_PCI_SCENARIO=%s: the emulator is not a plain one", scenario());
	self->dev = nhot_engine_or_skip(NHOT_ENGINE_PCI);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/nhot%d: %s", self->dev, strerror(errno));
	ASSERT_EQ(0, pci_addr_of(self->dev, self->addr, sizeof(self->addr)));
}

FIXTURE_TEARDOWN(pci)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(pci, function_in_sysfs)
{
	char path[128], iomem[16384];
	int vectors, fd, regions;
	struct nhot_info info;
	unsigned long id;
	const char *p;
	ssize_t n;

	TH_LOG("/dev/nhot%d is %s", self->dev, self->addr);
	snprintf(path, sizeof(path), PCI_DRIVER_DIR "/%s", self->addr);
	EXPECT_EQ(0, access(path, F_OK)) TH_LOG("%s: not bound to nhot", self->addr);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", self->addr);
	ASSERT_EQ(0, read_hex(path, &id));
	EXPECT_EQ(0x1af4, id);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", self->addr);
	ASSERT_EQ(0, read_hex(path, &id));
	EXPECT_EQ(0x1110, id);
	/* vectors=2: completion and error each get one; with one, both share it */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/msi_irqs", self->addr);
	vectors = count_entries(path);
	EXPECT_EQ(strcmp(scenario(), "one-vector") ? 2 : 1, vectors)
		TH_LOG("%s: %d MSI-X vectors", path, vectors);

	/* BARs 0 and 2 requested (and released by devres at unbind) */
	fd = open("/proc/iomem", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	n = read(fd, iomem, sizeof(iomem) - 1);
	close(fd);
	ASSERT_LT(0, n);
	iomem[n] = 0;
	for (p = iomem, regions = 0; (p = strstr(p, " : nhot\n")); p++)
		regions++;
	EXPECT_EQ(2, regions) TH_LOG("/proc/iomem:\n%s", iomem);

	test_cmd_get_info(self->fd, &info);
	EXPECT_EQ(NHOT_ENGINE_PCI, info.engine_kind);
	EXPECT_EQ(NHOT_ALL_LAYER_TYPES, info.layer_types);
	EXPECT_EQ(NHOT_ALL_N, info.n_mask);
	EXPECT_EQ(NHOT_ALL_B, info.b_mask);
}

/*
 * MAXPOOL with a 1 x 1 window copies its input: 256 KiB through page lists
 * of 65 pages, input and output starting mid-page at different offsets.
 * Every byte must arrive where it belongs.
 */
TEST_F(pci, dma_spans_many_pages_at_odd_offsets)
{
	const uint32_t h = 128, w = 128, c = 16;
	const uint64_t bytes = (uint64_t)h * w * c, bo_bytes = bytes + 8192;
	const uint64_t in_off = 123, out_off = 4096 - 7;
	struct nhot_job_result res;
	struct nhot_job job;
	uint32_t in, out, st = 7;
	uint64_t in_mo, out_mo, id;
	uint8_t *in_map, *out_map;

	test_cmd_bo_create(self->fd, bo_bytes, &in, &in_mo);
	test_cmd_bo_create(self->fd, bo_bytes, &out, &out_mo);
	in_map = mmap(NULL, bo_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, in_mo);
	ASSERT_NE(MAP_FAILED, in_map);
	out_map = mmap(NULL, bo_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, out_mo);
	ASSERT_NE(MAP_FAILED, out_map);
	for (uint64_t i = 0; i < bo_bytes; i++)
		in_map[i] = nhot_t_rand(&st);
	memset(out_map, 0x5a, bo_bytes);

	memset(&job, 0, sizeof(job));
	job.layer.type = NHOT_LAYER_MAXPOOL;
	job.layer.batch = 1;
	job.layer.in_h = h;
	job.layer.in_w = w;
	job.layer.in_c = c;
	job.layer.kernel_h = 1;
	job.layer.kernel_w = 1;
	job.layer.stride_h = 1;
	job.layer.stride_w = 1;
	job.layer.act_min = 0;
	job.layer.act_max = 255;
	job.input.handle = in;
	job.input.offset = in_off;
	job.output.handle = out;
	job.output.offset = out_off;
	test_cmd_submit(self->fd, &job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	ASSERT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("error %d", res.error);

	EXPECT_EQ(0, memcmp(in_map + in_off, out_map + out_off, bytes));
	/* Not a byte outside the output. */
	for (uint64_t i = 0; i < out_off; i++) {
		ASSERT_EQ(0x5a, out_map[i]) TH_LOG("byte %llu before the output",
						   (unsigned long long)i);
	}
	for (uint64_t i = out_off + bytes; i < bo_bytes; i++) {
		ASSERT_EQ(0x5a, out_map[i]) TH_LOG("byte %llu after the output",
						   (unsigned long long)i);
	}
	munmap(in_map, bo_bytes);
	munmap(out_map, bo_bytes);
}

/* FC tensors straddling page boundaries in every buffer. */
TEST_F(pci, fc_buffers_straddle_pages)
{
	struct nhot_fc_bos bos;
	struct nhot_fc fc;
	struct nhot_job_result res;

	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &bos));
	/* slot 3 starts at 3 KiB: its 1 KiB of weights end exactly at 4 KiB,
	 * slots 15 and 4 end inside the next page or start mid-page */
	for (unsigned int slot = 3; slot < 16; slot += 4) {
		nhot_fc_small(&fc, 1 + slot % 4, 2 + slot % 7, 300 + slot);
		run_fc(_metadata, self->fd, &fc, &bos, slot, &res);
		ASSERT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("slot %u: error %d", slot, res.error);
		EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos, slot)) TH_LOG("slot %u", slot);
		EXPECT_EQ(fc.macs, res.macs);
		EXPECT_EQ(fc.shift_adds, res.shift_adds);
	}
}

/*
 * Unbinding the driver with jobs in flight: they end (DONE or CANCELLED),
 * the open file keeps its results and gets -ENODEV for new work, the node
 * goes; binding again makes a new, working engine.
 */
TEST_F(pci, unbind_with_jobs_in_flight_then_bind)
{
	enum { JOBS = 64 };
	struct nhot_job_result res[JOBS], r;
	struct nhot_job jobs[JOBS];
	struct nhot_fc_bos bos, bos2;
	struct nhot_fc fc;
	uint64_t first, ids[JOBS];
	char node[32];
	int n, fd2;

	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &bos));
	nhot_fc_small(&fc, 2, 8, 77);
	for (int i = 0; i < JOBS; i++)
		nhot_fc_job(&fc, &bos, i % 16, &jobs[i]);
	test_cmd_submit(self->fd, jobs, JOBS, &first);
	ASSERT_EQ(0, nhot_write_file(PCI_DRIVER_DIR "/unbind", self->addr));

	for (int i = 0; i < JOBS; i++)
		ids[i] = res[i].id = first + i;
	ASSERT_EQ(0, _test_cmd_wait(self->fd, ids, JOBS, 0, nhot_now_ns() + 10 * NHOT_SEC_NS));
	test_cmd_job_status(self->fd, res, JOBS, NHOT_STATUS_RELEASE);
	for (int i = 0; i < JOBS; i++) {
		EXPECT_TRUE(res[i].status == NHOT_JOB_DONE || res[i].status == NHOT_JOB_CANCELLED)
			TH_LOG("job %d: status %u error %d", i, res[i].status, res[i].error);
		if (res[i].status == NHOT_JOB_CANCELLED)
			EXPECT_EQ(-ECANCELED, res[i].error);
	}
	test_err_submit(ENODEV, self->fd, jobs, 1);
	nhot_dev_path(node, sizeof(node), self->dev);
	EXPECT_NE(0, access(node, F_OK)) TH_LOG("%s still there after unbind", node);
	EXPECT_EQ(-ENOENT, nhot_find_engine(NHOT_ENGINE_PCI));

	ASSERT_EQ(0, nhot_write_file(PCI_DRIVER_DIR "/bind", self->addr));
	n = nhot_find_engine(NHOT_ENGINE_PCI);
	ASSERT_LE(0, n) TH_LOG("no PCI engine after bind");
	fd2 = nhot_open_dev(n);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, nhot_fc_bos_create(fd2, &bos2));
	run_fc(_metadata, fd2, &fc, &bos2, 0, &r);
	EXPECT_EQ(NHOT_JOB_DONE, r.status) TH_LOG("error %d", r.error);
	EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos2, 0));
	close(fd2);
}

/* --- DMA ownership: the device owns a job's buffers only while it runs --- */

/* An FC layer whose output can be the next one's input: k == out_c. */
#define CHAIN_K		32
#define CHAIN_BATCH	4
#define CHAIN_BYTES	(CHAIN_BATCH * CHAIN_K)
/* Tensors 1000 bytes apart: some share a page, some straddle a boundary. */
#define CHAIN_STRIDE	1000

/* Creates a buffer of len bytes, mapped; its handle. */
static uint8_t *map_new_bo(struct __test_metadata *_metadata, int fd, uint64_t len,
			   uint32_t *handle)
{
	uint64_t mo;
	uint8_t *map;

	test_cmd_bo_create(fd, len, handle, &mo);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, mo);
	EXPECT_NE(MAP_FAILED, map);
	return map == MAP_FAILED ? NULL : map;
}

/* out = fc(in) by libnhot's reference; 0 or its error. */
static int chain_ref(const struct nhot_fc *fc, const uint8_t *in, uint8_t *out)
{
	struct nhot_tensors t = {
		.input = in, .input_len = CHAIN_BYTES,
		.weights = fc->packed, .weights_len = fc->packed_bytes,
		.params = fc->params, .params_len = fc->out_c * sizeof(fc->params[0]),
		.output = out, .output_len = CHAIN_BYTES,
	};
	struct nhot_layer layer;

	nhot_fc_layer(fc, &layer);
	return nhot_ref_run(&layer, &t, NULL);
}

/* The FC job reading act at in_off and writing act at out_off. */
static void chain_job(const struct nhot_fc *fc, uint32_t act, uint64_t in_off,
		      uint64_t out_off, uint32_t w, uint32_t params, struct nhot_job *job)
{
	memset(job, 0, sizeof(*job));
	nhot_fc_layer(fc, &job->layer);
	job->input.handle = act;
	job->input.offset = in_off;
	job->weights.handle = w;
	job->params.handle = params;
	job->output.handle = act;
	job->output.offset = out_off;
}

/*
 * One SUBMIT of JOBS FC jobs where job k reads what job k - 1 wrote: every
 * job must see its predecessor's output, not what the buffer held at SUBMIT.
 */
TEST_F(pci, chained_batch_reads_each_previous_output)
{
	enum { JOBS = 12 };
	const uint64_t act_len = (JOBS + 1) * CHAIN_STRIDE + CHAIN_BYTES;
	struct nhot_job_result res[JOBS];
	uint8_t expect[CHAIN_BYTES], next[CHAIN_BYTES];
	struct nhot_job jobs[JOBS];
	uint32_t act, w, params;
	uint8_t *act_map, *w_map, *params_map;
	struct nhot_fc fc;
	uint64_t first, ids[JOBS];

	memset(&fc, 0, sizeof(fc));
	fc.batch = CHAIN_BATCH;
	fc.k = CHAIN_K;
	fc.out_c = CHAIN_K;
	fc.n = 2;
	fc.b = 6;
	nhot_fc_fill(&fc, 1414);
	act_map = map_new_bo(_metadata, self->fd, act_len, &act);
	w_map = map_new_bo(_metadata, self->fd, 4096, &w);
	params_map = map_new_bo(_metadata, self->fd, 4096, &params);
	ASSERT_TRUE(act_map && w_map && params_map);
	memcpy(w_map, fc.packed, fc.packed_bytes);
	memcpy(params_map, fc.params, fc.out_c * sizeof(fc.params[0]));
	memset(act_map, 0xa5, act_len);
	memcpy(act_map, fc.in, CHAIN_BYTES);

	for (int i = 0; i < JOBS; i++)
		chain_job(&fc, act, (uint64_t)i * CHAIN_STRIDE, (uint64_t)(i + 1) * CHAIN_STRIDE,
			  w, params, &jobs[i]);
	test_cmd_submit(self->fd, jobs, JOBS, &first);
	for (int i = 0; i < JOBS; i++)
		ids[i] = res[i].id = first + i;
	ASSERT_EQ(0, _test_cmd_wait(self->fd, ids, JOBS, 0, nhot_now_ns() + 60 * NHOT_SEC_NS));
	test_cmd_job_status(self->fd, res, JOBS, NHOT_STATUS_RELEASE);

	memcpy(expect, fc.in, CHAIN_BYTES);
	for (int i = 0; i < JOBS; i++) {
		ASSERT_EQ(NHOT_JOB_DONE, res[i].status) TH_LOG("job %d: error %d", i, res[i].error);
		ASSERT_EQ(0, chain_ref(&fc, expect, next));
		memcpy(expect, next, CHAIN_BYTES);
		ASSERT_EQ(0, memcmp(act_map + (uint64_t)(i + 1) * CHAIN_STRIDE, expect,
				    CHAIN_BYTES))
			TH_LOG("job %d's output differs from nhot_ref_run() of its input", i);
	}
	munmap(act_map, act_len);
	munmap(w_map, 4096);
	munmap(params_map, 4096);
}

/*
 * Job A writes its output; after A completed the CPU writes new data over
 * that output, and only then is A released (its buffers put).  The CPU's
 * bytes must stay, and job B, submitted afterwards to read them, must
 * compute from them.
 */
TEST_F(pci, cpu_writes_after_completion_survive_release)
{
	const uint64_t len = 3 * CHAIN_STRIDE + CHAIN_BYTES;
	const uint64_t a_in = 0, a_out = CHAIN_STRIDE, b_out = 3 * CHAIN_STRIDE;
	uint8_t cpu_data[CHAIN_BYTES], expect[CHAIN_BYTES];
	struct nhot_job_result res;
	struct nhot_job job;
	uint32_t act, w, params;
	uint8_t *act_map, *w_map, *params_map;
	struct nhot_fc fc;
	uint32_t st = 99;
	uint64_t id;

	memset(&fc, 0, sizeof(fc));
	fc.batch = CHAIN_BATCH;
	fc.k = CHAIN_K;
	fc.out_c = CHAIN_K;
	fc.n = 3;
	fc.b = 5;
	nhot_fc_fill(&fc, 2718);
	act_map = map_new_bo(_metadata, self->fd, len, &act);
	w_map = map_new_bo(_metadata, self->fd, 4096, &w);
	params_map = map_new_bo(_metadata, self->fd, 4096, &params);
	ASSERT_TRUE(act_map && w_map && params_map);
	memcpy(w_map, fc.packed, fc.packed_bytes);
	memcpy(params_map, fc.params, fc.out_c * sizeof(fc.params[0]));
	memset(act_map, 0xa5, len);
	memcpy(act_map + a_in, fc.in, CHAIN_BYTES);

	/* A: completes, stays unreleased */
	chain_job(&fc, act, a_in, a_out, w, params, &job);
	test_cmd_submit(self->fd, &job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, 0));
	ASSERT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("error %d", res.error);
	ASSERT_EQ(0, chain_ref(&fc, fc.in, expect));
	ASSERT_EQ(0, memcmp(act_map + a_out, expect, CHAIN_BYTES));

	/* the CPU owns A's output now: new data, then A goes */
	for (int i = 0; i < CHAIN_BYTES; i++)
		cpu_data[i] = nhot_t_rand(&st);
	memcpy(act_map + a_out, cpu_data, CHAIN_BYTES);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(0, memcmp(act_map + a_out, cpu_data, CHAIN_BYTES))
		TH_LOG("releasing job A wrote over what the CPU wrote after A completed");

	/* B reads the CPU's data */
	memcpy(act_map + a_out, cpu_data, CHAIN_BYTES);
	chain_job(&fc, act, a_out, b_out, w, params, &job);
	test_cmd_submit(self->fd, &job, 1, &id);
	test_cmd_wait(self->fd, &id, 1);
	ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
	ASSERT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("error %d", res.error);
	ASSERT_EQ(0, chain_ref(&fc, cpu_data, expect));
	EXPECT_EQ(0, memcmp(act_map + b_out, expect, CHAIN_BYTES))
		TH_LOG("job B did not compute from the CPU's data");
	munmap(act_map, len);
	munmap(w_map, 4096);
	munmap(params_map, 4096);
}

/* The swiotlb scenario proves something only if bounce buffering is on. */
TEST(swiotlb_forced)
{
	char cmdline[4096] = { 0 };
	int fd;

	scenario_or_skip("swiotlb");
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, cmdline, sizeof(cmdline) - 1));
	close(fd);
	EXPECT_NE(NULL, strstr(cmdline, "swiotlb=force")) TH_LOG("/proc/cmdline: %s", cmdline);
}

/* --- memory cgroup charging ------------------------------------------- */

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_TEST		CG_ROOT "/nhot-pci-test"

/* "slab" of the test cgroup's memory.stat in bytes, or -1. */
static long long cg_slab_bytes(void)
{
	char stat[8192], *p;
	int fd = open(CG_TEST "/memory.stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	stat[n] = 0;
	p = strstr(stat, "\nslab ");
	return p ? strtoll(p + 6, NULL, 10) : -1;
}

/*
 * Submits JOBS FC jobs on /dev/nhot<dev> from inside the test cgroup, waits
 * for them (held, not released) and returns how much the cgroup's slab
 * grew meanwhile, at least @want bytes if it gets there within a generous
 * deadline (memory.stat is flushed lazily); then releases the jobs.
 */
static long long cg_jobs_slab(struct __test_metadata *_metadata, int dev, long long want)
{
	enum { JOBS = 1000 };
	static struct nhot_job jobs[JOBS];
	static struct nhot_job_result res[JOBS];
	static uint64_t ids[JOBS];
	struct nhot_fc_bos bos;
	struct nhot_fc fc;
	long long before, grew = 0;
	int64_t deadline;
	uint64_t first = 0;
	int fd;

	fd = nhot_open_dev(dev);
	EXPECT_LE(0, fd);
	if (fd < 0)
		return -1;
	EXPECT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 8, 5);
	for (int i = 0; i < JOBS; i++)
		nhot_fc_job(&fc, &bos, i % 16, &jobs[i]);
	before = cg_slab_bytes();
	EXPECT_LE(0, before);
	EXPECT_EQ(0, _test_cmd_submit(fd, jobs, JOBS, &first));
	for (int i = 0; i < JOBS; i++)
		ids[i] = res[i].id = first + i;
	EXPECT_EQ(0, _test_cmd_wait(fd, ids, JOBS, 0, nhot_now_ns() + 60 * NHOT_SEC_NS));
	deadline = nhot_now_ns() + 10 * NHOT_SEC_NS;
	do {
		grew = cg_slab_bytes() - before;
		if (grew >= want)
			break;
		usleep(200000);
	} while (nhot_now_ns() < deadline);
	EXPECT_EQ(0, _test_cmd_job_status(fd, res, JOBS, NHOT_STATUS_RELEASE));
	close(fd);
	return grew;
}

/*
 * What the PCI engine allocates at SUBMIT for a job (its map and its
 * scatter-gather tables, docs/hw.md 9) is charged to the submitter's
 * memory cgroup: 1000 held FC jobs grow the cgroup's slab by at least
 * 1000 x 256 bytes more on the PCI engine than on the simulated one.
 * (The page lists are coherent DMA memory: not chargeable, not counted.)
 */
TEST_F(pci, job_mappings_charged_to_memcg)
{
	const long long per_job = 256, jobs = 1000;
	long long sim_grew, pci_grew;
	char pid[32];
	int sim;

	sim = nhot_find_engine(NHOT_ENGINE_SIM);
	if (sim < 0)
		SKIP(return, "no simulated engine to compare with");
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		SKIP(return, "no cgroup2: %s", strerror(errno));
	if (nhot_write_file(CG_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "no memory controller");
	ASSERT_TRUE(mkdir(CG_TEST, 0755) == 0 || errno == EEXIST);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, nhot_write_file(CG_TEST "/cgroup.procs", pid));

	sim_grew = cg_jobs_slab(_metadata, sim, 0);
	pci_grew = cg_jobs_slab(_metadata, self->dev, sim_grew + per_job * jobs);
	TH_LOG("slab grew %lld bytes with 1000 sim jobs, %lld with 1000 pci jobs",
	       sim_grew, pci_grew);
	EXPECT_LE(sim_grew + per_job * jobs, pci_grew);

	ASSERT_EQ(0, nhot_write_file(CG_ROOT "/cgroup.procs", pid));
	rmdir(CG_TEST);
}

/* --- scenarios with a special emulator -------------------------------- */

FIXTURE(fault) {
	int dev;
	int fd;
	unsigned long timeout_ms;	/* restored in teardown */
	struct nhot_fc fc;
	struct nhot_fc_bos bos;
};

FIXTURE_SETUP(fault)
{
	self->fd = -1;
	self->timeout_ms = 0;
	scenario_or_skip("faults");
	self->dev = nhot_engine_or_skip(NHOT_ENGINE_PCI);
	self->fd = nhot_open_dev(self->dev);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, nhot_debugfs_read(self->dev, "timeout_ms", &self->timeout_ms));
	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", FAULT_TIMEOUT_MS));
	nhot_fc_small(&self->fc, 2, 8, 5);
	ASSERT_EQ(0, nhot_fc_bos_create(self->fd, &self->bos));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->timeout_ms)
		nhot_debugfs_write(self->dev, "timeout_ms", self->timeout_ms);
	if (self->fd >= 0)
		close(self->fd);
}

/* Jobs 1-3 of the emulator: 2 completes with an error status. */
TEST_F(fault, error_status_fails_that_job_only)
{
	struct nhot_job_result res;

	for (int job = 1; job <= 3; job++) {
		run_fc(_metadata, self->fd, &self->fc, &self->bos, job, &res);
		if (job == 2) {
			EXPECT_EQ(NHOT_JOB_FAILED, res.status);
			EXPECT_EQ(-EIO, res.error);
		} else {
			EXPECT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("job %d: error %d", job, res.error);
			EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, job));
		}
	}
}

/* Jobs 4-6: 4 never completes; the timeout resets the device. */
TEST_F(fault, stall_times_out_and_reset_recovers)
{
	struct nhot_info before, after;
	struct nhot_job_result res;
	int64_t t0 = nhot_now_ns();

	test_cmd_get_info(self->fd, &before);
	run_fc(_metadata, self->fd, &self->fc, &self->bos, 4, &res);
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	EXPECT_EQ(-ETIMEDOUT, res.error);
	EXPECT_LE(t0 + FAULT_TIMEOUT_MS * 1000000LL, nhot_now_ns());
	test_cmd_get_info(self->fd, &after);
	EXPECT_LE(before.resets + 1, after.resets);
	EXPECT_EQ(before.jobs_timed_out + 1, after.jobs_timed_out);
	for (int job = 5; job <= 6; job++) {
		run_fc(_metadata, self->fd, &self->fc, &self->bos, job, &res);
		EXPECT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("job %d: error %d", job, res.error);
		EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, job));
	}
}

/*
 * Jobs 7-9: 7 stops the device with a fatal error (ERROR INTERNAL, the error
 * vector) and no completion.  The driver fails it -EIO at once, not by the
 * job timeout (raised to 10 s here so that the two cannot be confused), logs
 * the error, resets the device; 8 and 9 pass bit for bit.
 */
TEST_F(fault, fatal_error_fails_job_and_reset_recovers)
{
	struct nhot_info before, after;
	struct nhot_job_result res;
	int64_t t0, took_ms;
	int kmsg;

	ASSERT_EQ(0, nhot_debugfs_write(self->dev, "timeout_ms", 10000));
	kmsg = kmsg_open_at_end();
	ASSERT_LE(0, kmsg);
	test_cmd_get_info(self->fd, &before);
	t0 = nhot_now_ns();
	run_fc(_metadata, self->fd, &self->fc, &self->bos, 7, &res);
	took_ms = (nhot_now_ns() - t0) / 1000000;
	EXPECT_EQ(NHOT_JOB_FAILED, res.status);
	EXPECT_EQ(-EIO, res.error);
	/* the error vector, the work item and one reset: far below 10 s */
	EXPECT_GT(3000, took_ms) TH_LOG("the job took %lld ms", (long long)took_ms);
	test_cmd_get_info(self->fd, &after);
	EXPECT_EQ(before.resets + 1, after.resets);
	EXPECT_EQ(before.jobs_failed + 1, after.jobs_failed);
	EXPECT_EQ(before.jobs_timed_out, after.jobs_timed_out);
	for (int job = 8; job <= 9; job++) {
		run_fc(_metadata, self->fd, &self->fc, &self->bos, job, &res);
		EXPECT_EQ(NHOT_JOB_DONE, res.status) TH_LOG("job %d: error %d", job, res.error);
		EXPECT_TRUE(nhot_fc_output_ok(&self->fc, &self->bos, job));
	}
	/* docs/hw.md 2: error 6 is INTERNAL; ksft-run.sh fails the test on a WARN */
	EXPECT_EQ(1, kmsg_count(kmsg, "device error 6 (")) TH_LOG("the driver's error line");
	close(kmsg);
}

/*
 * Job 10: the emulator exits in the middle.  No interrupt ever comes: the job
 * ends by the timeout, the reset is not acknowledged, the device is dead.
 * The driver still unbinds and the module still unloads.
 */
TEST_F(fault, emulator_dies_mid_job)
{
	struct nhot_job_result res;
	struct nhot_job job;
	char addr[32];
	int64_t t0 = nhot_now_ns();
	uint64_t id;
	int ret;

	ASSERT_EQ(0, pci_addr_of(self->dev, addr, sizeof(addr)));
	run_fc(_metadata, self->fd, &self->fc, &self->bos, 10, &res);
	EXPECT_NE(NHOT_JOB_DONE, res.status);
	EXPECT_NE(0, res.error);
	TH_LOG("the job ended with status %u error %d after %lld ms", res.status, res.error,
	       (long long)(nhot_now_ns() - t0) / 1000000);
	/* timeout, then at most NHOT_HW_RESET_TIMEOUT_MS for the reset */
	EXPECT_GT(t0 + 10 * NHOT_SEC_NS, nhot_now_ns());

	/* Dead: new work fails -ENODEV, at submit or as the job's error. */
	nhot_fc_job(&self->fc, &self->bos, 11, &job);
	ret = _test_cmd_submit(self->fd, &job, 1, &id);
	if (ret) {
		EXPECT_EQ(ENODEV, errno);
	} else {
		ASSERT_EQ(0, _test_cmd_wait(self->fd, &id, 1, 0, nhot_now_ns() + 10 * NHOT_SEC_NS));
		ASSERT_EQ(0, _test_job_result(self->fd, id, &res, NHOT_STATUS_RELEASE));
		EXPECT_EQ(NHOT_JOB_FAILED, res.status);
		EXPECT_EQ(-ENODEV, res.error);
	}

	ASSERT_EQ(0, nhot_write_file(PCI_DRIVER_DIR "/unbind", addr));
	EXPECT_EQ(-ENOENT, nhot_find_engine(NHOT_ENGINE_PCI));
	test_err_submit(ENODEV, self->fd, &job, 1);
	munmap(self->bos.in_map, NHOT_FC_BO_BYTES);
	munmap(self->bos.w_map, NHOT_FC_BO_BYTES);
	munmap(self->bos.params_map, NHOT_FC_BO_BYTES);
	munmap(self->bos.out_map, NHOT_FC_BO_BYTES);
	close(self->fd);
	self->fd = -1;
	self->timeout_ms = 0;	/* the device is gone */
	EXPECT_EQ(0, nhot_module_unload()) TH_LOG("rmmod nhot: %s", strerror(errno));
}

/* The ivshmem function is there, unclaimed; the module loaded fine. */
TEST(bad_signature_refused)
{
	char path[300], iomem[16384];
	bool seen = false, found = false;
	unsigned long enabled;
	uint8_t cmd[2];
	ssize_t n;
	DIR *d;
	int fd;
	struct dirent *e;

	scenario_or_skip("bad-signature");
	ASSERT_TRUE(nhot_module_loaded());
	EXPECT_EQ(-ENOENT, nhot_find_engine(NHOT_ENGINE_PCI));
	EXPECT_LE(0, nhot_find_engine(NHOT_ENGINE_SIM));

	d = opendir("/sys/bus/pci/devices");
	ASSERT_NE(NULL, d);
	while ((e = readdir(d))) {
		unsigned long vendor = 0, device = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		read_hex(path, &vendor);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		read_hex(path, &device);
		if (vendor != 0x1af4 || device != 0x1110)
			continue;
		seen = true;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", e->d_name);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s has a driver", e->d_name);
		/* refused before bus mastering, and nothing left enabled */
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(2, pread(fd, cmd, 2, 4));	/* PCI_COMMAND */
		close(fd);
		EXPECT_EQ(0, cmd[0] & 0x04) TH_LOG("%s: bus mastering on", e->d_name);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", e->d_name);
		ASSERT_EQ(0, read_hex(path, &enabled));
		EXPECT_EQ(0, enabled) TH_LOG("%s left enabled", e->d_name);
	}
	/* no region of the function is held */
	fd = open("/proc/iomem", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	n = read(fd, iomem, sizeof(iomem) - 1);
	close(fd);
	ASSERT_LT(0, n);
	iomem[n] = 0;
	EXPECT_EQ(NULL, strstr(iomem, "nhot")) TH_LOG("/proc/iomem names nhot");
	closedir(d);
	EXPECT_TRUE(seen) TH_LOG("no ivshmem function in this guest");

	/*
	 * The one kernel log line of the refusal.  /dev/kmsg, not syslog():
	 * ksft-run.sh clears the syslog buffer (dmesg -c) before every test,
	 * and /dev/kmsg still reads every record from the start.
	 */
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	found = kmsg_count(fd, "not an n-hot engine") > 0;
	close(fd);
	EXPECT_TRUE(found) TH_LOG("no 'not an n-hot engine' line in the kernel log");
}

/*
 * The shutdown scenario (nhot-emu --verbose --stall 1): a job is on the
 * device, never completing, when the guest reboots; a child process keeps
 * the file (and so the job) open past this test.  The driver's .shutdown
 * must stop the device: vm/vmtest.sh checks on the host that the
 * emulator's last reset was without ENABLE ("idle": the device touches no
 * guest memory from then on).  This test only sets the stage.
 */
TEST(shutdown_with_job_on_device)
{
	struct nhot_job_result res;
	struct nhot_fc_bos bos;
	struct nhot_job job;
	struct nhot_fc fc;
	uint64_t id;
	pid_t pid;
	int fd, dev;

	scenario_or_skip("shutdown");
	dev = nhot_engine_or_skip(NHOT_ENGINE_PCI);
	fd = nhot_open_dev(dev);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 8, 31);
	nhot_fc_job(&fc, &bos, 0, &job);
	test_cmd_submit(fd, &job, 1, &id);
	/* the emulator stalls it: it never ends by itself */
	EXPECT_EQ(-1, _test_cmd_wait(fd, &id, 1, 0, nhot_now_ns() + NHOT_SEC_NS / 2));
	EXPECT_EQ(ETIMEDOUT, errno);
	ASSERT_EQ(0, _test_job_result(fd, id, &res, 0));
	ASSERT_EQ(NHOT_JOB_RUNNING, res.status);
	/* a longer timeout than the rest of the guest's life */
	ASSERT_EQ(0, nhot_debugfs_write(dev, "timeout_ms", 600000));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		/* no pipe of the test runner kept open: only the nhot file */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		for (int i = 3; i < 1024; i++)
			if (i != fd)
				close(i);
		setsid();
		for (;;)
			pause();
	}
	close(fd);
}

TEST_HARNESS_MAIN
