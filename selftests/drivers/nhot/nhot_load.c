// SPDX-License-Identifier: GPL-2.0
/*
 * nhot module life cycle: load/unload cycles with a varying number of
 * simulated devices, and unload refused while a file is open.
 *
 * Needs the module file: $NHOT_MODULE (set by the test VM's /init), else
 * /lib/modules/nhot.ko. Leaves the module loaded as it found it, with
 * $NHOT_MODULE_PARAMS, so later tests still find their devices.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include "nhot_util.h"

#define LOAD_CYCLES	50
#define MAX_SIM_DEVICES	4

static bool dev_exists(int dev)
{
	char path[32];

	nhot_dev_path(path, sizeof(path), dev);
	return access(path, F_OK) == 0;
}

/* Whether /dev/nhotN is a simulated engine. */
static bool sim_dev_exists(int dev)
{
	struct nhot_info info;
	int fd = nhot_open_dev(dev);
	bool sim;

	if (fd < 0)
		return false;
	sim = !_test_cmd_get_info(fd, &info) && info.engine_kind == NHOT_ENGINE_SIM;
	close(fd);
	return sim;
}

FIXTURE(load) {
	bool was_loaded;
};

FIXTURE_SETUP(load)
{
	if (access(nhot_module_path(), R_OK))
		SKIP(return, "no module file %s", nhot_module_path());
	self->was_loaded = nhot_module_loaded();
}

/* Back to the state the test found: loaded with the VM's parameters. */
FIXTURE_TEARDOWN(load)
{
	const char *params = getenv("NHOT_MODULE_PARAMS");

	if (self->was_loaded && !nhot_module_loaded())
		nhot_module_load(params ? params : "");
}

TEST_F(load, unload_refused_while_open)
{
	struct nhot_info info;
	uint64_t off;
	uint32_t h;
	void *p;
	int fd;

	if (!nhot_module_loaded()) {
		ASSERT_EQ(0, nhot_module_load(""));
	}
	fd = nhot_open_dev(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, nhot_module_unload());
	EXPECT_TRUE(errno == EBUSY || errno == EAGAIN) TH_LOG("errno %d", errno);
	EXPECT_TRUE(nhot_module_loaded());
	/* The device still answers. */
	test_cmd_get_info(fd, &info);
	EXPECT_EQ(NHOT_ABI_VERSION, info.abi_version);

	/* A mapping holds the file open too. */
	test_cmd_bo_create(fd, 4096, &h, &off);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(-1, nhot_module_unload());
	EXPECT_TRUE(errno == EBUSY || errno == EAGAIN) TH_LOG("errno %d", errno);
	ASSERT_EQ(0, munmap(p, 4096));

	ASSERT_EQ(0, nhot_module_unload()) TH_LOG("unload after close: %s", strerror(errno));
	EXPECT_FALSE(nhot_module_loaded());
	EXPECT_FALSE(dev_exists(0));
}

/*
 * 50 loads, each probing the guest's PCI engine too (a reset handshake with
 * nhot-emu) and each unload resetting it again: 10 s on a quiet machine,
 * past the harness's default 30 s with several guests sharing two cores.
 */
TEST_F_TIMEOUT(load, load_unload_cycles, 100)
{
	char params[32];

	if (nhot_module_loaded()) {
		ASSERT_EQ(0, nhot_module_unload()) TH_LOG("initial unload: %s", strerror(errno));
	}
	for (int i = 0; i < LOAD_CYCLES; i++) {
		int devs = 1 + i % MAX_SIM_DEVICES;

		snprintf(params, sizeof(params), "sim_devices=%d", devs);
		ASSERT_EQ(0, nhot_module_load(params)) TH_LOG("cycle %d: load %s: %s", i, params,
							 strerror(errno));
		/* A second load of the same module is refused. */
		EXPECT_EQ(-1, nhot_module_load(params));
		EXPECT_EQ(EEXIST, errno);
		for (int d = 0; d < devs; d++) {
			struct nhot_info info;
			int fd = nhot_open_dev(d);

			ASSERT_LE(0, fd) TH_LOG("cycle %d: /dev/nhot%d: %s", i, d, strerror(errno));
			test_cmd_get_info(fd, &info);
			EXPECT_EQ(NHOT_ENGINE_SIM, info.engine_kind);
			EXPECT_EQ(0, info.jobs_submitted);
			close(fd);
		}
		/* After the simulated ones: nothing, or a PCI engine (run-in-vm.sh --pci). */
		EXPECT_FALSE(sim_dev_exists(devs)) TH_LOG("cycle %d: /dev/nhot%d", i, devs);
		ASSERT_EQ(0, nhot_module_unload()) TH_LOG("cycle %d: unload: %s", i, strerror(errno));
		EXPECT_FALSE(dev_exists(0));
	}
	/* Unloading what is not loaded. */
	EXPECT_EQ(-1, nhot_module_unload());
	EXPECT_EQ(ENOENT, errno);
}

/* A job in flight when the last file closes, then the module goes. */
TEST_F(load, unload_after_close_with_jobs)
{
	struct nhot_fc_bos bos;
	struct nhot_job jobs[64];
	struct nhot_fc fc;
	uint64_t first;
	int fd;

	if (!nhot_module_loaded()) {
		ASSERT_EQ(0, nhot_module_load("sim_devices=1"));
	}
	fd = nhot_open_dev(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 3, 8, 5);
	for (int i = 0; i < 64; i++)
		nhot_fc_job(&fc, &bos, i % 16, &jobs[i]);
	test_cmd_submit(fd, jobs, 64, &first);
	munmap(bos.in_map, NHOT_FC_BO_BYTES);
	munmap(bos.w_map, NHOT_FC_BO_BYTES);
	munmap(bos.params_map, NHOT_FC_BO_BYTES);
	munmap(bos.out_map, NHOT_FC_BO_BYTES);
	ASSERT_EQ(0, close(fd));
	/* Cancelling or draining may take a moment; it must not take forever. */
	for (int i = 0; i < 100 && nhot_module_unload(); i++) {
		ASSERT_TRUE(errno == EBUSY || errno == EAGAIN) TH_LOG("errno %d", errno);
		usleep(50000);
	}
	EXPECT_FALSE(nhot_module_loaded());
}

TEST_HARNESS_MAIN
