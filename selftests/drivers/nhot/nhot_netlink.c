// SPDX-License-Identifier: GPL-2.0
/*
 * The "nhot" generic netlink family (docs/netlink/nhot.yaml): do and dump,
 * DEV_NEW/DEV_DEL/DEV_SET, notifications, strict policies, permissions, a
 * device removed under open files with jobs in flight, and devices added and
 * removed while other threads submit jobs to them.
 *
 * Talks raw generic netlink (nhot_genl.h): one static program, no libnl.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/nhot_netlink.h>

#include "nhot_genl.h"
#include "nhot_util.h"

#define NO_SUCH_ID	99999U

/* --- requests ------------------------------------------------------------ */

static int nl_dev_get(struct nhot_genl *nl, uint32_t id, struct nhot_genl_msg *m)
{
	struct nhot_genl_req req;

	nhot_genl_req_init(&req, nl->family, 0, NHOT_CMD_DEV_GET);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ID, id);
	return nhot_genl_xfer(nl, &req, m, NULL, NULL);
}

static int nl_stats_get(struct nhot_genl *nl, uint32_t id, struct nhot_genl_msg *m)
{
	struct nhot_genl_req req;

	nhot_genl_req_init(&req, nl->family, 0, NHOT_CMD_STATS_GET);
	nhot_genl_put_u32(&req, NHOT_A_STATS_DEV_ID, id);
	return nhot_genl_xfer(nl, &req, m, NULL, NULL);
}

static int nl_dev_set(struct nhot_genl *nl, uint32_t id, uint32_t pe, uint32_t clk,
		      uint32_t tmo)
{
	struct nhot_genl_req req;

	nhot_genl_req_init(&req, nl->family, 0, NHOT_CMD_DEV_SET);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ID, id);
	nhot_genl_put_dev_params(&req, pe, clk, tmo);
	return nhot_genl_xfer(nl, &req, NULL, NULL, NULL);
}

#define MAX_DEVS	256

struct dev_list {
	int count;
	uint32_t id[MAX_DEVS];
	char name[MAX_DEVS][16];
	int bad;	/* messages without an id or a name */
};

static int collect_dev(const struct nhot_genl_msg *m, void *arg)
{
	struct dev_list *l = arg;

	if (m->cmd != NHOT_CMD_DEV_GET || !m->tb[NHOT_A_DEV_ID] || !m->tb[NHOT_A_DEV_NAME] ||
	    l->count == MAX_DEVS) {
		l->bad++;
		return 0;
	}
	l->id[l->count] = nhot_attr_u32(m->tb[NHOT_A_DEV_ID]);
	snprintf(l->name[l->count], sizeof(l->name[0]), "%s", nhot_attr_str(m->tb[NHOT_A_DEV_NAME]));
	l->count++;
	return 0;
}

static int nl_dev_dump(struct nhot_genl *nl, struct dev_list *l)
{
	struct nhot_genl_req req;

	memset(l, 0, sizeof(*l));
	nhot_genl_req_init(&req, nl->family, NLM_F_DUMP, NHOT_CMD_DEV_GET);
	return nhot_genl_xfer(nl, &req, NULL, collect_dev, l);
}

static bool dev_list_has(const struct dev_list *l, uint32_t id)
{
	for (int i = 0; i < l->count; i++)
		if (l->id[i] == id)
			return true;
	return false;
}

/* /dev/nhotN entries */
static int count_dev_nodes(void)
{
	struct dirent *d;
	DIR *dir = opendir("/dev");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "nhot", 4) && d->d_name[4] >= '0' && d->d_name[4] <= '9')
			n++;
	closedir(dir);
	return n;
}

static bool dev_node_exists(uint32_t id)
{
	char path[32];

	nhot_dev_path(path, sizeof(path), id);
	return access(path, F_OK) == 0;
}

/* Reads one "name count" line of the module-wide debugfs objects file. */
static int nhot_objects(const char *kind)
{
	char line[64], name[32];
	FILE *f = fopen("/sys/kernel/debug/nhot/objects", "r");
	int val, found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %d", name, &val) == 2 && !strcmp(name, kind))
			found = val;
	fclose(f);
	return found;
}

/* Runs one small FC job on fd and waits for it; 0 or -errno; the job's result in *res. */
static int run_fc_job(int fd, const struct nhot_fc *fc, struct nhot_fc_bos *bos,
		      struct nhot_job_result *res)
{
	struct nhot_job job;
	uint64_t id;
	int ret;

	nhot_fc_job(fc, bos, 0, &job);
	if (_test_cmd_submit(fd, &job, 1, &id))
		return -errno;
	if (_test_cmd_wait(fd, &id, 1, 0, nhot_now_ns() + 20 * NHOT_SEC_NS))
		return -errno;
	ret = _test_job_result(fd, id, res, NHOT_STATUS_RELEASE);
	return ret ? -errno : 0;
}

static void unmap_bos(struct nhot_fc_bos *bos)
{
	uint8_t *maps[] = { bos->in_map, bos->w_map, bos->params_map, bos->out_map };

	for (unsigned int i = 0; i < 4; i++)
		if (maps[i] && maps[i] != MAP_FAILED)
			munmap(maps[i], NHOT_FC_BO_BYTES);
	memset(bos, 0, sizeof(*bos));
}

/* --- the fixture: a resolved family; devices it creates are removed ---- */

FIXTURE(nl) {
	struct nhot_genl nl;
	struct nhot_genl_msg m;
	uint32_t created[8];
	int ncreated;
};

FIXTURE_SETUP(nl)
{
	int ret;

	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	ASSERT_EQ(0, nhot_genl_socket(&self->nl));
	ret = nhot_genl_resolve(&self->nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR);
	ASSERT_EQ(0, ret) TH_LOG("resolve %s: %s", NHOT_FAMILY_NAME, strerror(-ret));
	self->ncreated = 0;
}

FIXTURE_TEARDOWN(nl)
{
	for (int i = 0; i < self->ncreated; i++)
		nhot_genl_dev_del(&self->nl, self->created[i]);	/* -ENODEV if the test did */
	nhot_genl_close(&self->nl);
}

/* DEV_NEW in a test: remembered for the teardown. */
#define new_dev(pe, clk, tmo, m)                                                     \
	({                                                                           \
		uint32_t __id = 0;                                                    \
		int __ret = nhot_genl_dev_new(&self->nl, pe, clk, tmo, &__id, m);            \
		ASSERT_EQ(0, __ret) TH_LOG("DEV_NEW: %s (%s)", strerror(-__ret),      \
					   self->nl.extack);                          \
		if (self->ncreated < 8)                                               \
			self->created[self->ncreated++] = __id;                       \
		__id;                                                                 \
	})

TEST_F(nl, family_resolves)
{
	EXPECT_NE(0, self->nl.family);
	EXPECT_NE(0, self->nl.monitor_grp);
}

TEST_F(nl, dev_get_do_and_dump_match_dev_nodes)
{
	struct dev_list l;
	int sims = nhot_sim_devices();

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	EXPECT_EQ(0, l.bad);
	ASSERT_LE(1, l.count);
	if (sims >= 0)
		EXPECT_LE(sims, l.count);
	EXPECT_EQ(l.count, count_dev_nodes());

	for (int i = 0; i < l.count; i++) {
		const struct nlattr *const *tb = self->m.tb;
		struct nhot_info info;
		char want[16];
		int fd;

		snprintf(want, sizeof(want), "nhot%u", l.id[i]);
		EXPECT_STREQ(want, l.name[i]);
		EXPECT_TRUE(dev_node_exists(l.id[i]));
		/* ids increase: a dump resumes by id */
		if (i)
			EXPECT_LT(l.id[i - 1], l.id[i]);

		ASSERT_EQ(0, nl_dev_get(&self->nl, l.id[i], &self->m));
		EXPECT_EQ(NHOT_CMD_DEV_GET, self->m.cmd);
		for (int a = NHOT_A_DEV_ID; a <= NHOT_A_DEV_BUS; a++) {
			ASSERT_NE(NULL, tb[a]) TH_LOG("attribute %d missing", a);
		}
		EXPECT_EQ(l.id[i], nhot_attr_u32(tb[NHOT_A_DEV_ID]));
		EXPECT_STREQ(want, nhot_attr_str(tb[NHOT_A_DEV_NAME]));
		EXPECT_EQ(NHOT_DEV_STATE_READY, nhot_attr_u32(tb[NHOT_A_DEV_STATE]));

		fd = nhot_open_dev(l.id[i]);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
		close(fd);
		EXPECT_EQ(info.engine_kind, nhot_attr_u32(tb[NHOT_A_DEV_ENGINE]));
		EXPECT_EQ(info.layer_types, nhot_attr_u32(tb[NHOT_A_DEV_LAYER_TYPES]));
		EXPECT_EQ(info.n_mask, nhot_attr_u32(tb[NHOT_A_DEV_N_MASK]));
		EXPECT_EQ(info.b_mask, nhot_attr_u32(tb[NHOT_A_DEV_B_MASK]));
		EXPECT_EQ(info.pe_count, nhot_attr_u32(tb[NHOT_A_DEV_PE_COUNT]));
		EXPECT_EQ(info.clock_mhz, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
		EXPECT_LE(1, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));
		if (info.engine_kind == NHOT_ENGINE_SIM) {
			EXPECT_STREQ("sim", nhot_attr_str(tb[NHOT_A_DEV_BUS]));
		} else {
			EXPECT_NE(0, strcmp("sim", nhot_attr_str(tb[NHOT_A_DEV_BUS])));
		}
	}
}

static void expect_stats_eq_info(struct __test_metadata *_metadata,
				 const struct nhot_genl_msg *m, const struct nhot_info *info)
{
	const struct nlattr *const *tb = m->tb;

	for (int a = NHOT_A_STATS_DEV_ID; a <= NHOT_A_STATS_EVENTS_DROPPED; a++) {
		ASSERT_NE(NULL, tb[a]) TH_LOG("stats attribute %d missing", a);
	}
	EXPECT_EQ(info->jobs_submitted, nhot_attr_u64(tb[NHOT_A_STATS_JOBS_SUBMITTED]));
	EXPECT_EQ(info->jobs_completed, nhot_attr_u64(tb[NHOT_A_STATS_JOBS_COMPLETED]));
	EXPECT_EQ(info->jobs_failed, nhot_attr_u64(tb[NHOT_A_STATS_JOBS_FAILED]));
	EXPECT_EQ(info->jobs_timed_out, nhot_attr_u64(tb[NHOT_A_STATS_JOBS_TIMED_OUT]));
	EXPECT_EQ(info->macs, nhot_attr_u64(tb[NHOT_A_STATS_MACS]));
	EXPECT_EQ(info->shift_adds, nhot_attr_u64(tb[NHOT_A_STATS_SHIFT_ADDS]));
	EXPECT_EQ(info->cycles, nhot_attr_u64(tb[NHOT_A_STATS_CYCLES]));
	EXPECT_EQ(info->resets, nhot_attr_u64(tb[NHOT_A_STATS_RESETS]));
}

struct stats_dump {
	uint32_t id;
	int found;
	struct nhot_genl_msg m;
};

static int find_stats(const struct nhot_genl_msg *m, void *arg)
{
	struct stats_dump *d = arg;

	if (m->cmd == NHOT_CMD_STATS_GET && m->tb[NHOT_A_STATS_DEV_ID] &&
	    nhot_attr_u32(m->tb[NHOT_A_STATS_DEV_ID]) == d->id) {
		d->found++;
		/* the copy's attributes sit at the same offsets */
		memcpy(d->m.buf, m->buf, sizeof(m->buf));
		for (int a = 0; a < NHOT_GENL_MAX_ATTR; a++)
			d->m.tb[a] = m->tb[a] ? (const struct nlattr *)(d->m.buf +
					((const char *)m->tb[a] - m->buf)) : NULL;
		d->m.cmd = m->cmd;
	}
	return 0;
}

TEST_F(nl, stats_match_get_info)
{
	static struct stats_dump d;
	struct nhot_job_result res;
	struct nhot_info before, after;
	struct nhot_fc_bos bos;
	struct nhot_genl_req req;
	static struct nhot_fc fc;
	uint64_t busy_ns = 0;
	uint32_t id;
	int fd;

	id = new_dev(0, 0, 0, NULL);
	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &before));
	ASSERT_EQ(0, before.jobs_submitted);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	for (int i = 0; i < 3; i++) {
		nhot_fc_small(&fc, 2, 5, 100 + i);
		ASSERT_EQ(0, run_fc_job(fd, &fc, &bos, &res));
		EXPECT_EQ(NHOT_JOB_DONE, res.status);
		EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos, 0));
		ASSERT_NE(0, res.start_ns);
		ASSERT_LE(res.start_ns, res.end_ns);
		busy_ns += res.end_ns - res.start_ns;
	}
	ASSERT_EQ(0, _test_cmd_get_info(fd, &after));
	EXPECT_EQ(before.jobs_submitted + 3, after.jobs_submitted);
	EXPECT_EQ(before.jobs_completed + 3, after.jobs_completed);

	ASSERT_EQ(0, nl_stats_get(&self->nl, id, &self->m));
	EXPECT_EQ(NHOT_CMD_STATS_GET, self->m.cmd);
	expect_stats_eq_info(_metadata, &self->m, &after);
	EXPECT_EQ(id, nhot_attr_u32(self->m.tb[NHOT_A_STATS_DEV_ID]));
	/*
	 * The device is new, so its busy time is exactly these three jobs'.
	 * Not "> 0": a tiny job can start and end within one tick of a
	 * coarse clocksource (a TCG guest whose TSC was marked unstable).
	 */
	EXPECT_EQ(busy_ns, nhot_attr_u64(self->m.tb[NHOT_A_STATS_BUSY_NS]));
	EXPECT_EQ(0, nhot_attr_u64(self->m.tb[NHOT_A_STATS_EVENTS_DROPPED]));

	/* the dump holds the same counters for this device, once */
	memset(&d, 0, sizeof(d));
	d.id = id;
	nhot_genl_req_init(&req, self->nl.family, NLM_F_DUMP, NHOT_CMD_STATS_GET);
	ASSERT_EQ(0, nhot_genl_xfer(&self->nl, &req, NULL, find_stats, &d));
	ASSERT_EQ(1, d.found);
	expect_stats_eq_info(_metadata, &d.m, &after);

	unmap_bos(&bos);
	close(fd);
}

TEST_F(nl, dev_new_runs_jobs_bit_exactly_and_dev_del_removes_it)
{
	const struct nlattr *const *tb = self->m.tb;
	struct nhot_job_result res_new, res_ref;
	struct nhot_fc_bos bos_new, bos_ref;
	static struct nhot_fc fc;
	struct nhot_info info;
	struct dev_list l;
	char want[16];
	int fd, fd_ref;
	uint32_t id;

	id = new_dev(8, 250, 5000, &self->m);
	snprintf(want, sizeof(want), "nhot%u", id);
	ASSERT_NE(NULL, tb[NHOT_A_DEV_NAME]);
	EXPECT_STREQ(want, nhot_attr_str(tb[NHOT_A_DEV_NAME]));
	EXPECT_EQ(NHOT_ENGINE_SIM, nhot_attr_u32(tb[NHOT_A_DEV_ENGINE]));
	EXPECT_EQ(NHOT_DEV_STATE_READY, nhot_attr_u32(tb[NHOT_A_DEV_STATE]));
	EXPECT_EQ(8, nhot_attr_u32(tb[NHOT_A_DEV_PE_COUNT]));
	EXPECT_EQ(250, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
	EXPECT_EQ(5000, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));
	EXPECT_STREQ("sim", nhot_attr_str(tb[NHOT_A_DEV_BUS]));
	ASSERT_TRUE(dev_node_exists(id));
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	EXPECT_TRUE(dev_list_has(&l, id));

	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	EXPECT_EQ(NHOT_ENGINE_SIM, info.engine_kind);
	EXPECT_EQ(8, info.pe_count);
	EXPECT_EQ(250, info.clock_mhz);

	/* the same job on the new engine and on the first listed one */
	fd_ref = nhot_open_dev(l.id[0] == id ? l.id[1] : l.id[0]);
	ASSERT_LE(0, fd_ref);
	nhot_fc_small(&fc, 3, 6, 7);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos_new));
	ASSERT_EQ(0, nhot_fc_bos_create(fd_ref, &bos_ref));
	ASSERT_EQ(0, run_fc_job(fd, &fc, &bos_new, &res_new));
	ASSERT_EQ(0, run_fc_job(fd_ref, &fc, &bos_ref, &res_ref));
	EXPECT_EQ(NHOT_JOB_DONE, res_new.status);
	EXPECT_EQ(NHOT_JOB_DONE, res_ref.status);
	EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos_new, 0));
	EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos_ref, 0));
	EXPECT_EQ(0, memcmp(bos_new.out_map, bos_ref.out_map, fc.batch * fc.out_c));
	EXPECT_EQ(fc.macs, res_new.macs);
	EXPECT_EQ(fc.shift_adds, res_new.shift_adds);
	/* 8 lanes instead of the reference's pe_count: more cycles */
	ASSERT_EQ(0, _test_cmd_get_info(fd_ref, &info));
	if (info.pe_count > 8)
		EXPECT_LT(res_ref.cycles, res_new.cycles);
	unmap_bos(&bos_new);
	unmap_bos(&bos_ref);
	close(fd_ref);
	close(fd);

	ASSERT_EQ(0, nhot_genl_dev_del(&self->nl, id));
	EXPECT_FALSE(dev_node_exists(id));
	EXPECT_EQ(-ENODEV, nl_dev_get(&self->nl, id, &self->m));
	EXPECT_STREQ("no such device", self->nl.extack);
	EXPECT_EQ(-ENODEV, nhot_genl_dev_del(&self->nl, id));
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	EXPECT_FALSE(dev_list_has(&l, id));
	EXPECT_EQ(l.count, count_dev_nodes());
}

TEST_F(nl, dev_new_defaults_are_the_module_parameters)
{
	const struct nlattr *const *tb = self->m.tb;
	unsigned long pe = 0, clk = 0, tmo = 0;
	struct nhot_genl_req req;
	char buf[32];
	FILE *f;

	f = fopen("/sys/module/nhot/parameters/pe_count", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	pe = strtoul(buf, NULL, 0);
	f = fopen("/sys/module/nhot/parameters/clock_mhz", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	clk = strtoul(buf, NULL, 0);
	f = fopen("/sys/module/nhot/parameters/timeout_ms", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	tmo = strtoul(buf, NULL, 0);

	/* ENGINE sim given explicitly, nothing else */
	nhot_genl_req_init(&req, self->nl.family, 0, NHOT_CMD_DEV_NEW);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ENGINE, NHOT_ENGINE_SIM);
	ASSERT_EQ(0, nhot_genl_xfer(&self->nl, &req, &self->m, NULL, NULL));
	ASSERT_NE(NULL, tb[NHOT_A_DEV_ID]);
	self->created[self->ncreated++] = nhot_attr_u32(tb[NHOT_A_DEV_ID]);
	EXPECT_EQ(pe, nhot_attr_u32(tb[NHOT_A_DEV_PE_COUNT]));
	EXPECT_EQ(clk, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
	EXPECT_EQ(tmo, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));
}

TEST_F(nl, dev_set_is_seen_by_dev_get_get_info_and_debugfs)
{
	const struct nlattr *const *tb = self->m.tb;
	struct nhot_info info;
	unsigned long tmo = 0;
	uint32_t id;
	int fd;

	id = new_dev(32, 800, 3000, NULL);
	ASSERT_EQ(0, nl_dev_set(&self->nl, id, 16, 0, 0));
	ASSERT_EQ(0, nl_dev_get(&self->nl, id, &self->m));
	EXPECT_EQ(16, nhot_attr_u32(tb[NHOT_A_DEV_PE_COUNT]));
	EXPECT_EQ(800, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
	EXPECT_EQ(3000, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));

	ASSERT_EQ(0, nl_dev_set(&self->nl, id, 0, 1234, 4321));
	ASSERT_EQ(0, nl_dev_get(&self->nl, id, &self->m));
	EXPECT_EQ(16, nhot_attr_u32(tb[NHOT_A_DEV_PE_COUNT]));
	EXPECT_EQ(1234, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));
	EXPECT_EQ(4321, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));

	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	close(fd);
	EXPECT_EQ(16, info.pe_count);
	EXPECT_EQ(1234, info.clock_mhz);
	if (nhot_debugfs_read(id, "timeout_ms", &tmo) == 0)
		EXPECT_EQ(4321, tmo);

	/* the limits are inclusive */
	EXPECT_EQ(0, nl_dev_set(&self->nl, id, NHOT_MAX_PE_COUNT, NHOT_MAX_CLOCK_MHZ,
				NHOT_MAX_TIMEOUT_MS));
	EXPECT_EQ(0, nl_dev_set(&self->nl, id, 1, 1, 1));
}

TEST_F(nl, notifications_add_change_reset_job_fail_del)
{
	static struct nhot_genl_msg n;
	const struct nlattr *const *tb = n.tb;
	struct nhot_job_result res;
	struct nhot_genl mon;
	struct nhot_fc_bos bos;
	static struct nhot_fc fc;
	struct nhot_job job;
	uint64_t job_id;
	uint32_t id;
	int fd;

	ASSERT_EQ(0, nhot_genl_socket(&mon));
	ASSERT_EQ(0, nhot_genl_resolve(&mon, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR));
	ASSERT_EQ(0, nhot_genl_join(&mon, mon.monitor_grp));

	id = new_dev(0, 0, 0, NULL);
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_ADD_NTF, 5000));
	EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_DEV_ID]));
	EXPECT_EQ(NHOT_DEV_STATE_READY, nhot_attr_u32(tb[NHOT_A_DEV_STATE]));

	ASSERT_EQ(0, nl_dev_set(&self->nl, id, 0, 333, 0));
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_CHANGE_NTF, 5000));
	EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_DEV_ID]));
	EXPECT_EQ(333, nhot_attr_u32(tb[NHOT_A_DEV_CLOCK_MHZ]));

	/* a hung job and a short timeout: a reset and a job-fail event */
	ASSERT_EQ(0, nl_dev_set(&self->nl, id, 0, 0, 200));
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_CHANGE_NTF, 5000));
	EXPECT_EQ(200, nhot_attr_u32(tb[NHOT_A_DEV_TIMEOUT_MS]));
	if (nhot_debugfs_write(id, "hang_jobs", 1))
		SKIP(goto out_del, "no debugfs hang_jobs");
	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 4, 3);
	nhot_fc_job(&fc, &bos, 0, &job);
	ASSERT_EQ(0, _test_cmd_submit(fd, &job, 1, &job_id));
	ASSERT_EQ(0, _test_cmd_wait(fd, &job_id, 1, 0, nhot_now_ns() + 20 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_job_result(fd, job_id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	EXPECT_EQ(-ETIMEDOUT, res.error);

	/* the reset's and the job's, in either order (the job's from a work item) */
	for (int got_reset = 0, got_fail = 0; !got_reset || !got_fail;) {
		ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, 0, 5000))
			TH_LOG("reset seen %d, job-fail seen %d", got_reset, got_fail);
		if (n.cmd == NHOT_CMD_RESET_NTF) {
			EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_DEV_ID]));
			got_reset++;
		} else if (n.cmd == NHOT_CMD_JOB_FAIL_NTF) {
			EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_EVENT_DEV_ID]));
			ASSERT_NE(NULL, tb[NHOT_A_EVENT_DEV_NAME]);
			ASSERT_NE(NULL, tb[NHOT_A_EVENT_JOB_ID]);
			EXPECT_EQ(job_id, nhot_attr_u64(tb[NHOT_A_EVENT_JOB_ID]));
			EXPECT_EQ(NHOT_JOB_TIMEDOUT, nhot_attr_u32(tb[NHOT_A_EVENT_JOB_STATUS]));
			EXPECT_EQ(-ETIMEDOUT, (int32_t)nhot_attr_u32(tb[NHOT_A_EVENT_JOB_ERROR]));
			got_fail++;
		} else {
			TH_LOG("unexpected notification %u", n.cmd);
		}
		ASSERT_GE(1, got_reset);
		ASSERT_GE(1, got_fail);
	}

	ASSERT_EQ(0, nl_stats_get(&self->nl, id, &self->m));
	EXPECT_EQ(1, nhot_attr_u64(self->m.tb[NHOT_A_STATS_RESETS]));
	EXPECT_EQ(1, nhot_attr_u64(self->m.tb[NHOT_A_STATS_JOBS_TIMED_OUT]));

	/* a job that runs to the end sends no job-fail event */
	nhot_fc_job(&fc, &bos, 0, &job);
	ASSERT_EQ(0, run_fc_job(fd, &fc, &bos, &res));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_EQ(-ETIMEDOUT, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_JOB_FAIL_NTF, 300));
	unmap_bos(&bos);
	close(fd);

out_del:
	ASSERT_EQ(0, nhot_genl_dev_del(&self->nl, id));
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_DEL_NTF, 5000));
	EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_DEV_ID]));
	EXPECT_EQ(NHOT_DEV_STATE_REMOVING, nhot_attr_u32(tb[NHOT_A_DEV_STATE]));
	nhot_genl_close(&mon);
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* A PCI engine goes by unbind and comes back by bind: DEL_NTF, ADD_NTF. */
TEST_F(nl, pci_unbind_and_bind_notify)
{
	static struct nhot_genl_msg n;
	const struct nlattr *const *tb = n.tb;
	struct nhot_genl mon;
	struct dev_list l;
	char bus[32] = "";
	uint32_t id = 0, new_id;

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	for (int i = 0; i < l.count && !bus[0]; i++) {
		ASSERT_EQ(0, nl_dev_get(&self->nl, l.id[i], &self->m));
		if (nhot_attr_u32(self->m.tb[NHOT_A_DEV_ENGINE]) == NHOT_ENGINE_PCI) {
			id = l.id[i];
			snprintf(bus, sizeof(bus), "%s", nhot_attr_str(self->m.tb[NHOT_A_DEV_BUS]));
		}
	}
	if (!bus[0])
		SKIP(return, "no PCI engine");

	ASSERT_EQ(0, nhot_genl_socket(&mon));
	ASSERT_EQ(0, nhot_genl_resolve(&mon, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR));
	ASSERT_EQ(0, nhot_genl_join(&mon, mon.monitor_grp));

	ASSERT_EQ(0, write_sysfs("/sys/bus/pci/drivers/nhot/unbind", bus));
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_DEL_NTF, 5000));
	EXPECT_EQ(id, nhot_attr_u32(tb[NHOT_A_DEV_ID]));
	EXPECT_EQ(NHOT_ENGINE_PCI, nhot_attr_u32(tb[NHOT_A_DEV_ENGINE]));
	EXPECT_STREQ(bus, nhot_attr_str(tb[NHOT_A_DEV_BUS]));
	EXPECT_EQ(NHOT_DEV_STATE_REMOVING, nhot_attr_u32(tb[NHOT_A_DEV_STATE]));
	EXPECT_EQ(-ENODEV, nl_dev_get(&self->nl, id, &self->m));

	ASSERT_EQ(0, write_sysfs("/sys/bus/pci/drivers/nhot/bind", bus));
	ASSERT_EQ(0, nhot_genl_next_ntf(&mon, &n, NHOT_CMD_DEV_ADD_NTF, 10000));
	EXPECT_EQ(NHOT_ENGINE_PCI, nhot_attr_u32(tb[NHOT_A_DEV_ENGINE]));
	EXPECT_STREQ(bus, nhot_attr_str(tb[NHOT_A_DEV_BUS]));
	new_id = nhot_attr_u32(tb[NHOT_A_DEV_ID]);
	ASSERT_EQ(0, nl_dev_get(&self->nl, new_id, &self->m));
	EXPECT_STREQ(bus, nhot_attr_str(self->m.tb[NHOT_A_DEV_BUS]));
	EXPECT_TRUE(dev_node_exists(new_id));
	nhot_genl_close(&mon);
}

/*
 * Failing jobs in a burst: each one's JOB_FAIL_NTF is sent or, when too
 * many are pending, counted in EVENTS_DROPPED; never lost silently.
 */
#define FAIL_BURST	64

TEST_F(nl, every_job_failure_is_notified_or_counted)
{
	static struct nhot_genl_msg n;
	static struct nhot_job jobs[FAIL_BURST];
	static uint64_t ids[FAIL_BURST];
	struct nhot_job_result res;
	struct nhot_genl mon;
	struct nhot_fc_bos bos;
	static struct nhot_fc fc;
	uint64_t first, dropped, failed;
	int set[255], code_bits, received = 0;
	uint32_t id;
	int fd;

	ASSERT_EQ(0, nhot_genl_socket(&mon));
	ASSERT_EQ(0, nhot_genl_resolve(&mon, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR));
	ASSERT_EQ(0, nhot_genl_join(&mon, mon.monitor_grp));
	id = new_dev(0, 0, 0, NULL);
	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));

	/* S(1, 2) has 3 values in 2-bit codes: code 3 is invalid (-EILSEQ) */
	nhot_fc_small(&fc, 1, 2, 5);
	code_bits = nhot_t_code_bits(nhot_t_set(1, 2, set));
	ASSERT_LT(nhot_t_set(1, 2, set), 1 << code_bits);
	nhot_fc_job(&fc, &bos, 0, &jobs[0]);
	memset(bos.w_map, 0xff, fc.packed_bytes);
	for (int i = 1; i < FAIL_BURST; i++)
		jobs[i] = jobs[0];
	ASSERT_EQ(0, _test_cmd_submit(fd, jobs, FAIL_BURST, &first));
	for (int i = 0; i < FAIL_BURST; i++)
		ids[i] = first + i;
	ASSERT_EQ(0, _test_cmd_wait(fd, ids, FAIL_BURST, 0, nhot_now_ns() + 30 * NHOT_SEC_NS));
	for (int i = 0; i < FAIL_BURST; i++) {
		ASSERT_EQ(0, _test_job_result(fd, ids[i], &res, NHOT_STATUS_RELEASE));
		ASSERT_EQ(NHOT_JOB_FAILED, res.status);
		ASSERT_EQ(-EILSEQ, res.error);
	}

	while (nhot_genl_next_ntf(&mon, &n, NHOT_CMD_JOB_FAIL_NTF, 1000) == 0) {
		EXPECT_EQ(id, nhot_attr_u32(n.tb[NHOT_A_EVENT_DEV_ID]));
		EXPECT_EQ(NHOT_JOB_FAILED, nhot_attr_u32(n.tb[NHOT_A_EVENT_JOB_STATUS]));
		EXPECT_EQ(-EILSEQ, (int32_t)nhot_attr_u32(n.tb[NHOT_A_EVENT_JOB_ERROR]));
		received++;
	}
	ASSERT_EQ(0, nl_stats_get(&self->nl, id, &self->m));
	failed = nhot_attr_u64(self->m.tb[NHOT_A_STATS_JOBS_FAILED]);
	dropped = nhot_attr_u64(self->m.tb[NHOT_A_STATS_EVENTS_DROPPED]);
	TH_LOG("%d job-fail notifications received, %llu dropped", received,
	       (unsigned long long)dropped);
	EXPECT_EQ(FAIL_BURST, failed);
	EXPECT_LE(1, received);
	EXPECT_EQ(FAIL_BURST, received + dropped);

	unmap_bos(&bos);
	close(fd);
	nhot_genl_close(&mon);
}

/* --- strict policies ------------------------------------------------------ */

struct bad_case {
	const char *what;
	uint8_t cmd;
	int expect;		/* negative errno */
	const char *extack;	/* expected substring of the message, or NULL */
	int miss_type;		/* a missing attribute's type reported, or 0 */
	void (*build)(struct nhot_genl_req *req, uint32_t id);
};

static void b_unknown_attr(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
	nhot_genl_put_u32(r, 30, 1);
}

static void b_attr_of_other_op(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, 8);
}

static void b_id_u16(struct nhot_genl_req *r, uint32_t id)
{
	uint16_t v = id;

	nhot_genl_put(r, NHOT_A_DEV_ID, &v, sizeof(v));
}

static void b_id_u64(struct nhot_genl_req *r, uint32_t id)
{
	uint64_t v = id;

	nhot_genl_put(r, NHOT_A_DEV_ID, &v, sizeof(v));
}

static void b_id_string(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_str(r, NHOT_A_DEV_ID, "nhot0");
}

static void b_none(struct nhot_genl_req *r, uint32_t id)
{
}

static void b_no_such_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, NO_SUCH_ID);
}

static void b_pe_0(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, 0);
}

static void b_pe_big(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, NHOT_MAX_PE_COUNT + 1);
}

static void b_clock_0(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_CLOCK_MHZ, 0);
}

static void b_clock_big(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_CLOCK_MHZ, NHOT_MAX_CLOCK_MHZ + 1);
}

static void b_timeout_0(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_TIMEOUT_MS, 0);
}

static void b_timeout_big(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_TIMEOUT_MS, NHOT_MAX_TIMEOUT_MS + 1);
}

static void b_engine_0(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ENGINE, 0);
}

static void b_engine_3(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ENGINE, 3);
}

static void b_engine_pci(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ENGINE, NHOT_ENGINE_PCI);
}

static void b_new_with_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
}

static void b_new_with_name(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_str(r, NHOT_A_DEV_NAME, "nhot7");
}

static void b_set_only_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
}

static void b_set_no_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, 8);
}

static void b_set_clock_big(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
	nhot_genl_put_u32(r, NHOT_A_DEV_CLOCK_MHZ, NHOT_MAX_CLOCK_MHZ + 1);
}

static void b_set_pe_0(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, id);
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, 0);
}

static void b_set_no_such_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_DEV_ID, NO_SUCH_ID);
	nhot_genl_put_u32(r, NHOT_A_DEV_PE_COUNT, 8);
}

static void b_stats_id(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_STATS_DEV_ID, NO_SUCH_ID);
}

static void b_stats_extra(struct nhot_genl_req *r, uint32_t id)
{
	nhot_genl_put_u32(r, NHOT_A_STATS_DEV_ID, id);
	nhot_genl_put_str(r, NHOT_A_STATS_DEV_NAME, "nhot0");
}

static void b_stats_u16(struct nhot_genl_req *r, uint32_t id)
{
	uint16_t v = id;

	nhot_genl_put(r, NHOT_A_STATS_DEV_ID, &v, sizeof(v));
}

static const struct bad_case bad_cases[] = {
	{ "DEV_GET unknown attribute", NHOT_CMD_DEV_GET, -EINVAL, "Unknown attribute", 0,
	  b_unknown_attr },
	{ "DEV_GET attribute of another op", NHOT_CMD_DEV_GET, -EINVAL, NULL, 0,
	  b_attr_of_other_op },
	{ "DEV_GET id as u16", NHOT_CMD_DEV_GET, -EINVAL, "length", 0, b_id_u16 },
	{ "DEV_GET id as u64", NHOT_CMD_DEV_GET, -EINVAL, "length", 0, b_id_u64 },
	{ "DEV_GET id as string", NHOT_CMD_DEV_GET, -EINVAL, "length", 0, b_id_string },
	{ "DEV_GET no id", NHOT_CMD_DEV_GET, -EINVAL, NULL, NHOT_A_DEV_ID, b_none },
	{ "DEV_GET no such id", NHOT_CMD_DEV_GET, -ENODEV, "no such device", 0, b_no_such_id },
	{ "DEV_NEW pe-count 0", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_pe_0 },
	{ "DEV_NEW pe-count max+1", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_pe_big },
	{ "DEV_NEW clock-mhz 0", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_clock_0 },
	{ "DEV_NEW clock-mhz max+1", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_clock_big },
	{ "DEV_NEW timeout-ms 0", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_timeout_0 },
	{ "DEV_NEW timeout-ms max+1", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0,
	  b_timeout_big },
	{ "DEV_NEW engine 0", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_engine_0 },
	{ "DEV_NEW engine 3", NHOT_CMD_DEV_NEW, -ERANGE, "out of range", 0, b_engine_3 },
	{ "DEV_NEW engine pci", NHOT_CMD_DEV_NEW, -EOPNOTSUPP, "PCI engines appear by probe", 0,
	  b_engine_pci },
	{ "DEV_NEW with an id", NHOT_CMD_DEV_NEW, -EINVAL, NULL, 0, b_new_with_id },
	{ "DEV_NEW with a name", NHOT_CMD_DEV_NEW, -EINVAL, NULL, 0, b_new_with_name },
	{ "DEV_DEL no id", NHOT_CMD_DEV_DEL, -EINVAL, NULL, NHOT_A_DEV_ID, b_none },
	{ "DEV_DEL no such id", NHOT_CMD_DEV_DEL, -ENODEV, "no such device", 0, b_no_such_id },
	{ "DEV_DEL id as u16", NHOT_CMD_DEV_DEL, -EINVAL, "length", 0, b_id_u16 },
	{ "DEV_DEL unknown attribute", NHOT_CMD_DEV_DEL, -EINVAL, NULL, 0, b_unknown_attr },
	{ "DEV_SET nothing to set", NHOT_CMD_DEV_SET, -EINVAL, "nothing to set", 0,
	  b_set_only_id },
	{ "DEV_SET no id", NHOT_CMD_DEV_SET, -EINVAL, NULL, NHOT_A_DEV_ID, b_set_no_id },
	{ "DEV_SET clock-mhz max+1", NHOT_CMD_DEV_SET, -ERANGE, "out of range", 0,
	  b_set_clock_big },
	{ "DEV_SET pe-count 0", NHOT_CMD_DEV_SET, -ERANGE, "out of range", 0, b_set_pe_0 },
	{ "DEV_SET no such id", NHOT_CMD_DEV_SET, -ENODEV, "no such device", 0,
	  b_set_no_such_id },
	{ "DEV_SET unknown attribute", NHOT_CMD_DEV_SET, -EINVAL, NULL, 0, b_unknown_attr },
	{ "STATS_GET no id", NHOT_CMD_STATS_GET, -EINVAL, NULL, NHOT_A_STATS_DEV_ID, b_none },
	{ "STATS_GET no such id", NHOT_CMD_STATS_GET, -ENODEV, "no such device", 0, b_stats_id },
	{ "STATS_GET extra attribute", NHOT_CMD_STATS_GET, -EINVAL, NULL, 0, b_stats_extra },
	{ "STATS_GET id as u16", NHOT_CMD_STATS_GET, -EINVAL, "length", 0, b_stats_u16 },
	{ "unknown command", 0x7f, -EOPNOTSUPP, NULL, 0, b_none },
	{ "notification command", NHOT_CMD_DEV_ADD_NTF, -EOPNOTSUPP, NULL, 0, b_none },
};

/* The type a missing-attribute error names (NLMSGERR_ATTR_MISS_TYPE), or 0. */
static int last_miss_type;

static int xfer_miss(struct nhot_genl *nl, struct nhot_genl_req *req)
{
	static char buf[NHOT_GENL_BUF];
	const struct nlattr *tb[NHOT_GENL_MAX_ATTR];
	struct nlmsghdr *h;
	ssize_t n;
	int ret;

	last_miss_type = 0;
	nl->extack[0] = 0;
	ret = nhot_genl_send(nl, req);
	if (ret)
		return ret;
	for (;;) {
		n = recv(nl->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			int off = sizeof(*e);

			if (h->nlmsg_seq != nl->seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			nhot_genl_extack(nl, h);
			if ((h->nlmsg_flags & NLM_F_ACK_TLVS)) {
				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - sizeof(e->msg);
				nhot_genl_parse((const char *)e + off,
						h->nlmsg_len - NLMSG_LENGTH(off), tb);
				if (tb[NLMSGERR_ATTR_MISS_TYPE])
					last_miss_type = nhot_attr_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
			}
			return e->error;
		}
	}
}

TEST_F(nl, malformed_requests_rejected)
{
	struct nhot_genl_req req;
	struct dev_list before, after;
	struct genlmsghdr *g;
	uint32_t id;

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &before));
	ASSERT_LE(1, before.count);
	id = before.id[0];

	for (unsigned int i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int ret;

		nhot_genl_req_init(&req, self->nl.family, 0, c->cmd);
		c->build(&req, id);
		ret = xfer_miss(&self->nl, &req);
		EXPECT_EQ(c->expect, ret) TH_LOG("%s: %d (%s)", c->what, ret, self->nl.extack);
		if (c->extack)
			EXPECT_NE(NULL, strstr(self->nl.extack, c->extack))
				TH_LOG("%s: extack \"%s\"", c->what, self->nl.extack);
		if (c->miss_type)
			EXPECT_EQ(c->miss_type, last_miss_type) TH_LOG("%s", c->what);
	}

	/* a non-zero reserved byte in the generic netlink header */
	nhot_genl_req_init(&req, self->nl.family, 0, NHOT_CMD_DEV_GET);
	nhot_genl_put_u32(&req, NHOT_A_DEV_ID, id);
	g = NLMSG_DATA(&req.nlh);
	g->reserved = 1;
	EXPECT_EQ(-EINVAL, xfer_miss(&self->nl, &req));

	/* a PCI engine, when the guest has one, is not removed by DEV_DEL */
	for (int i = 0; i < before.count; i++) {
		ASSERT_EQ(0, nl_dev_get(&self->nl, before.id[i], &self->m));
		if (nhot_attr_u32(self->m.tb[NHOT_A_DEV_ENGINE]) != NHOT_ENGINE_PCI)
			continue;
		EXPECT_EQ(-EOPNOTSUPP, nhot_genl_dev_del(&self->nl, before.id[i]));
		EXPECT_NE(NULL, strstr(self->nl.extack, "unbind")) TH_LOG("%s", self->nl.extack);
	}

	/* nothing was created, removed or changed */
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &after));
	ASSERT_EQ(before.count, after.count);
	for (int i = 0; i < before.count; i++)
		EXPECT_EQ(before.id[i], after.id[i]);
}

/* --- permissions ------------------------------------------------------------ */

/* In a child: drop to nobody with no capabilities; returns failures. */
static int unprivileged_checks(uint32_t id)
{
	static struct nhot_genl_msg m;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = { 0 };
	struct nhot_genl nl;
	struct dev_list l;
	uint32_t new_id;
	int fails = 0, ret;

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		fprintf(stderr, "# dropping privileges: %s\n", strerror(errno));
		return 100;
	}
	/* uid 0 -> non-zero clears the capability sets; make sure */
	if (syscall(SYS_capset, &hdr, caps) && errno != EPERM) {
		fprintf(stderr, "# capset: %s\n", strerror(errno));
		return 100;
	}
	if (syscall(SYS_capget, &hdr, caps) || caps[0].effective || caps[1].effective) {
		fprintf(stderr, "# capabilities left: %#x %#x\n", caps[0].effective,
			caps[1].effective);
		return 100;
	}
	if (nhot_genl_socket(&nl) || nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR))
		return 100;

#define CHECK(expect, call, what) do {                                            \
		ret = (call);                                                     \
		if (ret != (expect)) {                                            \
			fprintf(stderr, "# unprivileged %s: %d, expected %d\n",   \
				what, ret, expect);                               \
			fails++;                                                  \
		}                                                                 \
	} while (0)

	CHECK(0, nl_dev_get(&nl, id, &m), "DEV_GET");
	CHECK(0, nl_dev_dump(&nl, &l), "DEV_GET dump");
	CHECK(0, nl_stats_get(&nl, id, &m), "STATS_GET");
	CHECK(-EPERM, nhot_genl_dev_new(&nl, 0, 0, 0, &new_id, &m), "DEV_NEW");
	CHECK(-EPERM, nhot_genl_dev_del(&nl, id), "DEV_DEL");
	CHECK(-EPERM, nl_dev_set(&nl, id, 1, 0, 0), "DEV_SET");
	CHECK(-EPERM, nhot_genl_dev_del(&nl, NO_SUCH_ID), "DEV_DEL of no device");
	/* job-fail notifications name every user's jobs: no monitor for nobody */
	CHECK(-EPERM, nhot_genl_join(&nl, nl.monitor_grp), "join monitor");
#undef CHECK
	nhot_genl_close(&nl);
	return fails;
}

TEST_F(nl, unprivileged_reads_but_cannot_change)
{
	struct dev_list before, after;
	uint32_t pe_before;
	int status;
	pid_t pid;

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &before));
	ASSERT_LE(1, before.count);
	ASSERT_EQ(0, nl_dev_get(&self->nl, before.id[0], &self->m));
	pe_before = nhot_attr_u32(self->m.tb[NHOT_A_DEV_PE_COUNT]);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(unprivileged_checks(before.id[0]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &after));
	EXPECT_EQ(before.count, after.count);
	ASSERT_EQ(0, nl_dev_get(&self->nl, before.id[0], &self->m));
	EXPECT_EQ(pe_before, nhot_attr_u32(self->m.tb[NHOT_A_DEV_PE_COUNT]));
}

/* --- removal under open files -------------------------------------------- */

TEST_F(nl, dev_del_with_open_files_and_jobs_in_flight)
{
	struct nhot_job_result res[3];
	struct nhot_fc_bos bos;
	static struct nhot_fc fc;
	struct nhot_job jobs[3];
	struct nhot_info info;
	struct dev_list l;
	uint64_t first, ids[3];
	int64_t t0;
	uint32_t id;
	int fd, fd2;

	id = new_dev(0, 0, 60000, NULL);
	if (nhot_debugfs_write(id, "hang_jobs", 1))
		SKIP(return, "no debugfs hang_jobs");
	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	fd2 = nhot_open_dev(id);	/* a second file, no jobs */
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 4, 11);
	for (int i = 0; i < 3; i++)
		nhot_fc_job(&fc, &bos, i, &jobs[i]);
	ASSERT_EQ(0, _test_cmd_submit(fd, jobs, 3, &first));
	for (int i = 0; i < 3; i++)
		ids[i] = first + i;
	/* the first hangs on the engine, the others queue behind it */
	t0 = nhot_now_ns();
	do {
		ASSERT_EQ(0, _test_job_result(fd, ids[0], &res[0], 0));
	} while (res[0].status != NHOT_JOB_RUNNING && nhot_now_ns() - t0 < 5 * NHOT_SEC_NS);
	ASSERT_EQ(NHOT_JOB_RUNNING, res[0].status);

	t0 = nhot_now_ns();
	ASSERT_EQ(0, nhot_genl_dev_del(&self->nl, id));
	EXPECT_GT(5 * NHOT_SEC_NS, nhot_now_ns() - t0);
	EXPECT_FALSE(dev_node_exists(id));

	ASSERT_EQ(0, _test_cmd_wait(fd, ids, 3, 0, nhot_now_ns() + 5 * NHOT_SEC_NS));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, _test_job_result(fd, ids[i], &res[i], NHOT_STATUS_RELEASE));
		EXPECT_EQ(NHOT_JOB_CANCELLED, res[i].status) TH_LOG("job %d", i);
		EXPECT_EQ(-ECANCELED, res[i].error) TH_LOG("job %d", i);
	}
	EXPECT_ERRNO(ENODEV, _test_cmd_submit(fd, jobs, 1, &first));
	EXPECT_ERRNO(ENODEV, _test_cmd_submit(fd2, jobs, 1, &first));
	/* GET_INFO still answers on the file: the device's last state */
	EXPECT_EQ(0, _test_cmd_get_info(fd2, &info));
	EXPECT_EQ(-ENODEV, nl_dev_get(&self->nl, id, &self->m));

	unmap_bos(&bos);
	close(fd);
	close(fd2);

	/* everything of the removed device is gone with its last file */
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	if (nhot_objects("devices") >= 0) {
		EXPECT_EQ(l.count, nhot_objects("devices"));
		EXPECT_EQ(0, nhot_objects("files"));
		EXPECT_EQ(0, nhot_objects("buffers"));
		EXPECT_EQ(0, nhot_objects("jobs"));
		EXPECT_EQ(0, nhot_objects("mappings"));
	}
}

/*
 * Every call on an open file of a removed device, as docs/uapi.md (section
 * 7, DEV_DEL), docs/netlink/nhot.yaml and nhotctl.8 say: SUBMIT gets
 * -ENODEV; GET_INFO, BO_CREATE, BO_DESTROY, mmap, WAIT, JOB_STATUS and poll
 * work as before; close frees everything.
 */
TEST_F(nl, dev_del_file_calls_other_than_submit_still_work)
{
	struct nhot_info info_before, info;
	struct nhot_job_result res;
	struct nhot_fc_bos bos;
	static struct nhot_fc fc;
	struct pollfd pfd;
	struct nhot_job job;
	uint64_t job_id, first, off, old_off;
	uint32_t id, handle, old_handle;
	uint8_t *map;
	int fd;

	id = new_dev(0, 0, 0, NULL);
	fd = nhot_open_dev(id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 4, 17);
	nhot_fc_job(&fc, &bos, 0, &job);
	ASSERT_EQ(0, _test_cmd_submit(fd, &job, 1, &job_id));
	ASSERT_EQ(0, _test_cmd_wait(fd, &job_id, 1, 0, nhot_now_ns() + 20 * NHOT_SEC_NS));
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info_before));
	ASSERT_EQ(0, _test_cmd_bo_create(fd, 4096, &old_handle, &old_off));

	ASSERT_EQ(0, nhot_genl_dev_del(&self->nl, id));
	ASSERT_FALSE(dev_node_exists(id));

	/* SUBMIT: the only call that fails */
	EXPECT_ERRNO(ENODEV, _test_cmd_submit(fd, &job, 1, &first));
	/* GET_INFO: the device's last state */
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	EXPECT_EQ(info_before.jobs_submitted, info.jobs_submitted);
	EXPECT_EQ(info_before.jobs_completed, info.jobs_completed);
	EXPECT_EQ(info_before.pe_count, info.pe_count);
	/* WAIT and JOB_STATUS: the finished job and its result */
	EXPECT_EQ(0, _test_cmd_wait(fd, &job_id, 1, 0, nhot_now_ns() + 5 * NHOT_SEC_NS));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(0, _test_job_result(fd, job_id, &res, NHOT_STATUS_RELEASE));
	EXPECT_EQ(NHOT_JOB_DONE, res.status);
	EXPECT_TRUE(nhot_fc_output_ok(&fc, &bos, 0));
	/* mmap of a buffer created before the removal */
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, old_off);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, map[4095]);
	EXPECT_EQ(0, munmap(map, 4096));
	/* BO_CREATE and mmap: a new buffer, mapped and usable */
	ASSERT_EQ(0, _test_cmd_bo_create(fd, 4096, &handle, &off));
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 0x5a;
	EXPECT_EQ(0x5a, map[0]);
	EXPECT_EQ(0, munmap(map, 4096));
	/* BO_DESTROY: the new one and an old one */
	EXPECT_EQ(0, _test_cmd_bo_destroy(fd, handle));
	EXPECT_EQ(0, _test_cmd_bo_destroy(fd, old_handle));
	EXPECT_EQ(0, _test_cmd_bo_destroy(fd, bos.in));
	EXPECT_ERRNO(ENOENT, _test_cmd_bo_destroy(fd, bos.in));

	unmap_bos(&bos);
	EXPECT_EQ(0, close(fd));
	if (nhot_objects("files") >= 0) {
		EXPECT_EQ(0, nhot_objects("files"));
		EXPECT_EQ(0, nhot_objects("buffers"));
		EXPECT_EQ(0, nhot_objects("jobs"));
		EXPECT_EQ(0, nhot_objects("mappings"));
	}
}

/* --- two removals of one device; other namespaces ------------------------- */

struct del_race {
	uint32_t id;
	int ret;
	pthread_barrier_t *go;
};

static void *del_racer(void *arg)
{
	struct del_race *r = arg;
	struct nhot_genl nl;

	r->ret = -EPROTO;
	if (nhot_genl_socket(&nl))
		return NULL;
	if (!nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR)) {
		pthread_barrier_wait(r->go);
		r->ret = nhot_genl_dev_del(&nl, r->id);
	}
	nhot_genl_close(&nl);
	return NULL;
}

TEST_F(nl, concurrent_dev_del_removes_once)
{
	for (int round = 0; round < 10; round++) {
		pthread_barrier_t go;
		struct del_race r[2];
		pthread_t t[2];
		uint32_t id;

		self->ncreated = 0;
		id = new_dev(0, 0, 0, NULL);
		ASSERT_EQ(0, pthread_barrier_init(&go, NULL, 2));
		for (int i = 0; i < 2; i++) {
			r[i].id = id;
			r[i].go = &go;
			ASSERT_EQ(0, pthread_create(&t[i], NULL, del_racer, &r[i]));
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		EXPECT_EQ(-ENODEV, r[0].ret + r[1].ret) TH_LOG("round %d: %d and %d", round,
								r[0].ret, r[1].ret);
		EXPECT_TRUE(r[0].ret == 0 || r[1].ret == 0);
		EXPECT_FALSE(dev_node_exists(id));
	}
}

/* The family lives in the initial network namespace only. */
TEST_F(nl, family_absent_in_other_network_namespaces)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nhot_genl nl;
		int ret;

		if (unshare(CLONE_NEWNET))
			_exit(2);
		if (nhot_genl_socket(&nl))
			_exit(3);
		ret = nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR);
		_exit(ret == -ENOENT ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 2)
		SKIP(return, "no network namespaces");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* --- the device cap (max_devices) ------------------------------------------ */

/* The documented default and largest max_devices (docs/uapi.md section 4). */
#define NHOT_MAX_DEVICES_DEFAULT	64

/* A family, and every device the test added, removed by the teardown. */
FIXTURE(cap) {
	struct nhot_genl nl;
	uint32_t added[MAX_DEVS];
	int nadded;
};

FIXTURE_SETUP(cap)
{
	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	ASSERT_EQ(0, nhot_genl_socket(&self->nl));
	ASSERT_EQ(0, nhot_genl_resolve(&self->nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR));
	self->nadded = 0;
}

FIXTURE_TEARDOWN(cap)
{
	for (int i = 0; i < self->nadded; i++)
		nhot_genl_dev_del(&self->nl, self->added[i]);	/* -ENODEV if the test did */
	nhot_genl_close(&self->nl);
}

/* The max_devices parameter; the documented default on a module without it. */
static int max_devices_param(void)
{
	FILE *f = fopen("/sys/module/nhot/parameters/max_devices", "r");
	int v = NHOT_MAX_DEVICES_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* DEV_NEW until max_devices exist; the ids in self->added. */
static int fill_to_cap(FIXTURE_DATA(cap) *self, int cap)
{
	struct dev_list l;
	uint32_t id;
	int ret;

	ret = nl_dev_dump(&self->nl, &l);
	if (ret)
		return ret;
	for (int have = l.count; have < cap; have++) {
		ret = nhot_genl_dev_new(&self->nl, 0, 0, 0, &id, NULL);
		if (ret) {
			fprintf(stderr, "# DEV_NEW of device %d of %d: %s (%s)\n", have + 1, cap,
				strerror(-ret), self->nl.extack);
			return ret;
		}
		self->added[self->nadded++] = id;
	}
	return 0;
}

/*
 * Up to max_devices devices exist at once; one more DEV_NEW gets -ENOSPC
 * with a message, and no kernel trace (6.1 gave the 123rd device -EEXIST
 * and a sysfs "duplicate filename" trace).  A removed device counts until
 * its last file closes.
 */
TEST_F_TIMEOUT(cap, dev_new_beyond_max_devices_is_enospc, 110)
{
	struct dev_list before, l;
	uint32_t id;
	int cap, fd, ret;

	cap = max_devices_param();
	ASSERT_LT(0, cap);
	ASSERT_GE(MAX_DEVS, cap);
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &before));
	ASSERT_GE(cap, before.count);
	ASSERT_EQ(0, fill_to_cap(self, cap));

	for (int i = 0; i < 3; i++) {
		ret = nhot_genl_dev_new(&self->nl, 0, 0, 0, &id, NULL);
		if (!ret)
			self->added[self->nadded++] = id;
		ASSERT_EQ(-ENOSPC, ret) TH_LOG("DEV_NEW %d beyond %d devices", i + 1, cap);
		EXPECT_NE(NULL, strstr(self->nl.extack, "max_devices")) TH_LOG("%s",
									  self->nl.extack);
	}
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	EXPECT_EQ(cap, l.count);
	EXPECT_EQ(cap, count_dev_nodes());

	/* removed with a file open: still counted; the close frees the place */
	if (self->nadded) {
		id = self->added[self->nadded - 1];
		fd = nhot_open_dev(id);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, nhot_genl_dev_del(&self->nl, id));
		EXPECT_EQ(-ENOSPC, nhot_genl_dev_new(&self->nl, 0, 0, 0, &id, NULL));
		close(fd);
		self->nadded--;
		ASSERT_EQ(0, fill_to_cap(self, cap));
	}

	/* all gone again: the devices of the module load are what is left */
	for (int i = 0; i < self->nadded; i++)
		EXPECT_EQ(0, nhot_genl_dev_del(&self->nl, self->added[i]));
	self->nadded = 0;
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &l));
	EXPECT_EQ(before.count, l.count);
	EXPECT_EQ(before.count, count_dev_nodes());
}

/* --- module unload while DEV_NEW and DEV_DEL run --------------------------- */

struct unload_race {
	volatile int stop;
	int bad;		/* an error other than the documented ones */
	unsigned long adds;
	int last_err;
};

static void *unload_racer(void *arg)
{
	struct unload_race *u = arg;
	struct nhot_genl nl;
	uint32_t id;
	int ret;

	if (nhot_genl_socket(&nl) || nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR)) {
		u->bad = 1;
		return NULL;
	}
	while (!u->stop) {
		ret = nhot_genl_dev_new(&nl, 0, 0, 0, &id, NULL);
		if (ret == 0) {
			u->adds++;
			ret = nhot_genl_dev_del(&nl, id);
		}
		/* 0; or the family is gone (ENOENT), or the device went with it */
		if (ret && ret != -ENOENT && ret != -ENODEV) {
			u->bad = 1;
			u->last_err = ret;
			break;
		}
	}
	nhot_genl_close(&nl);
	return NULL;
}

TEST_F(nl, module_unload_while_devices_are_added)
{
	const char *params = getenv("NHOT_MODULE_PARAMS");
	struct dev_list before, after;
	static struct unload_race u;
	struct nhot_genl nl;
	pthread_t t;
	int ret;

	if (access(nhot_module_path(), R_OK))
		SKIP(return, "no module file to load it again");
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &before));
	memset(&u, 0, sizeof(u));
	ASSERT_EQ(0, pthread_create(&t, NULL, unload_racer, &u));
	while (u.adds < 3 && !u.bad)
		usleep(1000);
	ret = nhot_module_unload();
	ret = ret ? -errno : 0;
	usleep(20000);
	u.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("rmmod nhot: %s", strerror(-ret));
	ASSERT_EQ(0, nhot_module_load(params ? params : "")) TH_LOG("reloading nhot.ko");
	EXPECT_EQ(0, u.bad) TH_LOG("DEV_NEW/DEV_DEL: %d", u.last_err);

	/* the module came back with the devices of its load, nothing else */
	ASSERT_EQ(0, nhot_genl_socket(&nl));
	ASSERT_EQ(0, nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR));
	ASSERT_EQ(0, nl_dev_dump(&nl, &after));
	nhot_genl_close(&nl);
	EXPECT_EQ(count_dev_nodes(), after.count);
	if (nhot_sim_devices() >= 0)
		EXPECT_LE(nhot_sim_devices(), after.count);
	EXPECT_GE(before.count, after.count);
}

/* --- devices added and removed while others submit ------------------------ */

#define CHURN_SECONDS	3
#define CHURN_SUBMITTERS	2
#define CHURN_SLOTS	4
#define CHURN_EMPTY	UINT32_MAX

struct churn {
	pthread_mutex_t lock;	/* protects ids */
	uint32_t ids[CHURN_SLOTS];	/* CHURN_EMPTY: no device */
	volatile int stop;
	int64_t deadline;
	/* results, each written by one thread */
	int adder_fail;
	char adder_msg[384];
	int sub_fail[CHURN_SUBMITTERS];
	char sub_msg[CHURN_SUBMITTERS][128];
	unsigned long jobs_done[CHURN_SUBMITTERS], jobs_cancelled[CHURN_SUBMITTERS];
	unsigned long adds, dels;
};

static bool churn_errno_ok(int err)
{
	/* the node vanished, or the device is being / was removed */
	return err == ENOENT || err == ENODEV || err == ENXIO;
}

static void *churn_adder(void *arg)
{
	struct churn *c = arg;
	struct nhot_genl nl;
	unsigned int slot = 0;
	uint32_t id;
	int ret;

	if (nhot_genl_socket(&nl) || nhot_genl_resolve(&nl, NHOT_FAMILY_NAME, NHOT_MCGRP_MONITOR)) {
		c->adder_fail = 1;
		snprintf(c->adder_msg, sizeof(c->adder_msg), "no netlink");
		return NULL;
	}
	while (nhot_now_ns() < c->deadline) {
		uint32_t old;

		ret = nhot_genl_dev_new(&nl, 0, 0, 0, &id, NULL);
		if (ret) {
			c->adder_fail = 1;
			snprintf(c->adder_msg, sizeof(c->adder_msg), "DEV_NEW: %d (%s)", ret,
				 nl.extack);
			break;
		}
		c->adds++;
		/* every other device hangs its first job: DEV_DEL must cancel it */
		if (c->adds % 2)
			nhot_debugfs_write(id, "hang_jobs", 1);
		pthread_mutex_lock(&c->lock);
		old = c->ids[slot];
		c->ids[slot] = id;
		pthread_mutex_unlock(&c->lock);
		slot = (slot + 1) % CHURN_SLOTS;
		if (old != CHURN_EMPTY) {
			usleep(5000);
			ret = nhot_genl_dev_del(&nl, old);
			if (ret) {
				c->adder_fail = 1;
				snprintf(c->adder_msg, sizeof(c->adder_msg), "DEV_DEL %u: %d (%s)",
					 old, ret, nl.extack);
				break;
			}
			c->dels++;
		}
	}
	/* remove what is left */
	for (unsigned int i = 0; i < CHURN_SLOTS; i++) {
		pthread_mutex_lock(&c->lock);
		id = c->ids[i];
		c->ids[i] = CHURN_EMPTY;
		pthread_mutex_unlock(&c->lock);
		if (id != CHURN_EMPTY && nhot_genl_dev_del(&nl, id) == 0)
			c->dels++;
	}
	nhot_genl_close(&nl);
	return NULL;
}

struct churn_arg {
	struct churn *c;
	int n;
};

/* One open/submit/wait/status/close round on a device that may vanish. */
static int churn_round(struct churn *c, int n, uint32_t id, struct nhot_fc *fc)
{
	struct nhot_job_result res;
	struct nhot_fc_bos bos = { 0 };
	struct nhot_job job;
	uint64_t jid;
	int fd, err = 0;

	fd = nhot_open_dev(id);
	if (fd < 0)
		return churn_errno_ok(errno) ? 0 : errno;
	if (nhot_fc_bos_create(fd, &bos)) {
		err = errno;
		goto out;
	}
	nhot_fc_job(fc, &bos, 0, &job);
	if (_test_cmd_submit(fd, &job, 1, &jid)) {
		err = errno;
		goto out;
	}
	if (_test_cmd_wait(fd, &jid, 1, 0, nhot_now_ns() + 20 * NHOT_SEC_NS)) {
		err = errno ? errno : EIO;
		goto out;
	}
	if (_test_job_result(fd, jid, &res, NHOT_STATUS_RELEASE)) {
		err = errno;
		goto out;
	}
	if (res.status == NHOT_JOB_DONE && nhot_fc_output_ok(fc, &bos, 0)) {
		c->jobs_done[n]++;
	} else if (res.status == NHOT_JOB_CANCELLED && res.error == -ECANCELED) {
		c->jobs_cancelled[n]++;
	} else {
		snprintf(c->sub_msg[n], sizeof(c->sub_msg[n]), "job on nhot%u: status %u error %d",
			 id, res.status, res.error);
		err = -1;
	}
out:
	unmap_bos(&bos);
	close(fd);
	if (err > 0 && churn_errno_ok(err))
		err = 0;
	return err;
}

static void *churn_submitter(void *arg)
{
	struct churn_arg *a = arg;
	struct churn *c = a->c;
	uint32_t st = 12345 + a->n, id;
	struct nhot_fc *fc = malloc(sizeof(*fc));
	int err;

	if (!fc) {
		c->sub_fail[a->n] = 1;
		return NULL;
	}
	nhot_fc_small(fc, 2, 5, 40 + a->n);
	while (!c->stop) {
		pthread_mutex_lock(&c->lock);
		id = c->ids[nhot_t_rand(&st) % CHURN_SLOTS];
		pthread_mutex_unlock(&c->lock);
		if (id == CHURN_EMPTY) {
			usleep(500);
			continue;
		}
		err = churn_round(c, a->n, id, fc);
		if (err) {
			c->sub_fail[a->n] = 1;
			if (err > 0)
				snprintf(c->sub_msg[a->n], sizeof(c->sub_msg[a->n]), "nhot%u: %s",
					 id, strerror(err));
			break;
		}
	}
	free(fc);
	return NULL;
}

TEST_F(nl, devices_added_and_removed_while_others_submit)
{
	pthread_t adder, subs[CHURN_SUBMITTERS];
	struct churn_arg args[CHURN_SUBMITTERS];
	struct dev_list before, after;
	static struct churn c;
	unsigned long done = 0, cancelled = 0;

	ASSERT_EQ(0, nl_dev_dump(&self->nl, &before));
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	for (int i = 0; i < CHURN_SLOTS; i++)
		c.ids[i] = CHURN_EMPTY;
	c.deadline = nhot_now_ns() + CHURN_SECONDS * NHOT_SEC_NS;

	ASSERT_EQ(0, pthread_create(&adder, NULL, churn_adder, &c));
	for (int i = 0; i < CHURN_SUBMITTERS; i++) {
		args[i].c = &c;
		args[i].n = i;
		ASSERT_EQ(0, pthread_create(&subs[i], NULL, churn_submitter, &args[i]));
	}
	pthread_join(adder, NULL);
	c.stop = 1;
	for (int i = 0; i < CHURN_SUBMITTERS; i++)
		pthread_join(subs[i], NULL);

	EXPECT_EQ(0, c.adder_fail) TH_LOG("%s", c.adder_msg);
	for (int i = 0; i < CHURN_SUBMITTERS; i++) {
		EXPECT_EQ(0, c.sub_fail[i]) TH_LOG("submitter %d: %s", i, c.sub_msg[i]);
		done += c.jobs_done[i];
		cancelled += c.jobs_cancelled[i];
	}
	TH_LOG("%lu devices added, %lu removed; %lu jobs done, %lu cancelled",
	       c.adds, c.dels, done, cancelled);
	EXPECT_LE(4, c.adds);
	EXPECT_EQ(c.adds, c.dels);
	EXPECT_LT(0, done);
	EXPECT_LT(0, cancelled);

	/* back to the devices of before */
	ASSERT_EQ(0, nl_dev_dump(&self->nl, &after));
	ASSERT_EQ(before.count, after.count);
	for (int i = 0; i < before.count; i++)
		EXPECT_EQ(before.id[i], after.id[i]);
	EXPECT_EQ(after.count, count_dev_nodes());
	if (nhot_objects("files") >= 0) {
		EXPECT_EQ(0, nhot_objects("files"));
		EXPECT_EQ(0, nhot_objects("jobs"));
		EXPECT_EQ(after.count, nhot_objects("devices"));
	}
}

TEST_HARNESS_MAIN
