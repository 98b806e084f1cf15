// SPDX-License-Identifier: GPL-2.0
/*
 * nhotctl against nhot.ko: the tool is run as a program (./nhotctl, or
 * $NHOTCTL) and its output, text and JSON, is checked against what the
 * device itself says through NHOT_IOCTL_GET_INFO and against the jobs this
 * program runs: dev show (one and all), dev add -> the /dev node appears ->
 * dev del -> it is gone, dev set -> dev show and GET_INFO show the values,
 * stats after real FC jobs, monitor (device add/change/del, an engine reset
 * and a timed-out job), the errors (no such device, bad key, values the
 * kernel's policy refuses, a PCI engine) and an unprivileged user, who may
 * read but not add, delete, configure or monitor.
 *
 * Not an nhot_*.c program: vm/vmtest.sh does not run it; the
 * scripts/tests.d/nhotctl-vm.sh suite boots a guest with it and nhotctl.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/nhot_netlink.h>

#include "nhot_util.h"
#include "mini_json.h"

#define NOBODY		65534
#define RUN_OUT_MAX	65536
#define RUN_ERR_MAX	4096
#define MAX_ADDED	4

struct run {
	int status;		/* exit code, or 128 + signal */
	char out[RUN_OUT_MAX];
	char err[RUN_ERR_MAX];
};

static const char *nhotctl_path(void)
{
	const char *p = getenv("NHOTCTL");

	return p ? p : "./nhotctl";
}

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n, got = 0;

	lseek(fd, 0, SEEK_SET);
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
}

/* In a child: become uid (and gid) with no supplementary groups. */
static void drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(126);
}

/* Runs nhotctl with argv (NULL-terminated, argv[0] excluded) as uid. */
static int run_argv(struct run *r, uid_t uid, const char *const *args)
{
	const char *argv[24] = { "nhotctl" };
	int out = memfd_create("out", 0), err = memfd_create("err", 0), i, st;
	pid_t pid;

	for (i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (out < 0 || err < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		if (uid)
			drop_to(uid);
		execv(nhotctl_path(), (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	close(out);
	close(err);
	return 0;
}

#define ctl_as(r, uid, ...) run_argv(r, uid, (const char *const[]){ __VA_ARGS__, NULL })
#define ctl(r, ...) ctl_as(r, 0, __VA_ARGS__)

/* Runs nhotctl and asserts its exit code; the output is in *r. */
#define CTL_EXPECT(r, code, ...)                                             \
	do {                                                                 \
		ASSERT_EQ(0, ctl(r, __VA_ARGS__));                           \
		ASSERT_EQ(code, (r)->status)                                 \
			TH_LOG("stdout: %s\nstderr: %s", (r)->out, (r)->err); \
	} while (0)

static int get_info(uint32_t id, struct nhot_info *info)
{
	char path[32];
	int fd, ret;

	snprintf(path, sizeof(path), "/dev/nhot%u", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = _test_cmd_get_info(fd, info);
	close(fd);
	return ret ? -errno : 0;
}

/* The module's initial job timeout, which every device starts with. */
static unsigned int module_timeout_ms(void)
{
	FILE *f = fopen("/sys/module/nhot/parameters/timeout_ms", "r");
	unsigned int v = 0;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* How many /dev/nhotN nodes there are. */
static int count_dev_nodes(void)
{
	DIR *dir = opendir("/dev");
	struct dirent *e;
	int n = 0;
	unsigned int id;
	char c;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (sscanf(e->d_name, "nhot%u%c", &id, &c) == 1)
			n++;
	closedir(dir);
	return n;
}

/* 1234567 -> "1,234,567", written independently of nhotctl's names.c. */
static void grouped(uint64_t v, char *buf, size_t len)
{
	char rev[40];
	int n = 0, i;

	do {
		if (n && n % 4 == 3)
			rev[n++] = ',';
		rev[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (i = 0; i < n && (size_t)i + 1 < len; i++)
		buf[i] = rev[n - 1 - i];
	buf[i] = 0;
}

/* The first line of s, newline excluded, into buf. */
static const char *line_n(const char *s, int n, char *buf, size_t len)
{
	while (n-- > 0 && (s = strchr(s, '\n')))
		s++;
	if (!s)
		s = "";
	snprintf(buf, len, "%.*s", (int)strcspn(s, "\n"), s);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* --- the fixture: devices the test adds are removed again ---------------- */

FIXTURE(ctl) {
	uint32_t added[MAX_ADDED];
	int n_added;
	struct run r;
	struct mj_doc doc;
};

FIXTURE_SETUP(ctl)
{
	if (!nhot_module_loaded())
		SKIP(return, "nhot.ko is not loaded");
	if (access(nhotctl_path(), X_OK))
		SKIP(return, "%s is missing", nhotctl_path());
	if (geteuid())
		SKIP(return, "adding devices needs root");
	self->n_added = 0;
}

FIXTURE_TEARDOWN(ctl)
{
	char id[16];

	for (int i = 0; i < self->n_added; i++) {
		snprintf(id, sizeof(id), "%u", self->added[i]);
		ctl(&self->r, "dev", "del", id);
	}
}

/* nhotctl --json dev add ARGS: the new device's id, remembered for teardown. */
#define ADD_DEV(id_out, ...)                                                 \
	do {                                                                 \
		int _root;                                                   \
		uint64_t _id;                                                \
		CTL_EXPECT(&self->r, 0, "--json", "dev", "add", ##__VA_ARGS__); \
		_root = mj_parse(&self->doc, self->r.out);                   \
		ASSERT_LE(0, _root) TH_LOG("not JSON: %s", self->r.out);     \
		ASSERT_EQ(0, mj_u64(&self->doc, _root, "id", &_id));         \
		ASSERT_GT(MAX_ADDED, self->n_added);                         \
		self->added[self->n_added++] = _id;                          \
		(id_out) = _id;                                              \
	} while (0)

/* Forgets an added device that the test deleted itself. */
static void forget(FIXTURE_DATA(ctl) *self, uint32_t id)
{
	for (int i = 0; i < self->n_added; i++)
		if (self->added[i] == id)
			self->added[i] = self->added[--self->n_added];
}

TEST_F(ctl, version)
{
	char want[96];

	CTL_EXPECT(&self->r, 0, "--version");
	snprintf(want, sizeof(want), " (generic netlink family \"nhot\" version %d)\n",
		 NHOT_FAMILY_VERSION);
	ASSERT_NE(NULL, strstr(self->r.out, want)) TH_LOG("%s", self->r.out);
}

/* dev show nhot0 in text equals what GET_INFO says, in every DEV form. */
TEST_F(ctl, dev_show_text_matches_get_info)
{
	const char *forms[] = { "nhot0", "0", "/dev/nhot0" };
	struct nhot_info info;
	char want[256], line[256];

	ASSERT_EQ(0, get_info(0, &info));
	ASSERT_EQ(NHOT_ENGINE_SIM, info.engine_kind);
	/* the capability line below is written for a full-featured engine */
	ASSERT_EQ(NHOT_ALL_LAYER_TYPES, info.layer_types);
	ASSERT_EQ(NHOT_ALL_N, info.n_mask);
	ASSERT_EQ(NHOT_ALL_B, info.b_mask);
	for (int f = 0; f < 3; f++) {
		CTL_EXPECT(&self->r, 0, "dev", "show", forms[f]);
		EXPECT_STREQ("", self->r.err);
		EXPECT_EQ(2, count_lines(self->r.out));
		snprintf(want, sizeof(want),
			 "nhot0: engine sim state ready bus sim pe_count %u clock_mhz %u timeout_ms %u",
			 info.pe_count, info.clock_mhz, module_timeout_ms());
		EXPECT_STREQ(want, line_n(self->r.out, 0, line, sizeof(line)));
		EXPECT_STREQ("       layers conv2d,fc,add,avgpool,global_avgpool,maxpool n 1-4 b 2-8",
			     line_n(self->r.out, 1, line, sizeof(line)));
	}
}

/* The dump in JSON: one element per /dev/nhotN, each equal to GET_INFO. */
TEST_F(ctl, dev_show_json_matches_get_info)
{
	struct mj_doc *d = &self->doc;
	int root, nodes, i;

	CTL_EXPECT(&self->r, 0, "dev", "show", "--json");
	EXPECT_EQ(1, count_lines(self->r.out));
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root) TH_LOG("not JSON: %s", self->r.out);
	ASSERT_EQ(MJ_ARR, d->n[root].type);
	nodes = count_dev_nodes();
	ASSERT_EQ(nodes, d->n[root].count) TH_LOG("%s", self->r.out);
	for (i = 0; i < d->n[root].count; i++) {
		int o = mj_at(d, root, i);
		struct nhot_info info;
		uint64_t id, v;
		char name[32];

		ASSERT_EQ(0, mj_u64(d, o, "id", &id));
		ASSERT_EQ(0, get_info(id, &info));
		snprintf(name, sizeof(name), "nhot%llu", (unsigned long long)id);
		EXPECT_STREQ(name, mj_str(d, o, "name"));
		EXPECT_STREQ(info.engine_kind == NHOT_ENGINE_SIM ? "sim" : "pci",
			     mj_str(d, o, "engine"));
		EXPECT_STREQ("ready", mj_str(d, o, "state"));
		if (info.engine_kind == NHOT_ENGINE_SIM)
			EXPECT_STREQ("sim", mj_str(d, o, "bus"));
		ASSERT_EQ(0, mj_u64(d, o, "layer_types_mask", &v));
		EXPECT_EQ(info.layer_types, v);
		ASSERT_EQ(0, mj_u64(d, o, "n_mask", &v));
		EXPECT_EQ(info.n_mask, v);
		ASSERT_EQ(0, mj_u64(d, o, "b_mask", &v));
		EXPECT_EQ(info.b_mask, v);
		ASSERT_EQ(0, mj_u64(d, o, "pe_count", &v));
		EXPECT_EQ(info.pe_count, v);
		ASSERT_EQ(0, mj_u64(d, o, "clock_mhz", &v));
		EXPECT_EQ(info.clock_mhz, v);
		ASSERT_EQ(0, mj_u64(d, o, "timeout_ms", &v));
		EXPECT_LT(0, v);
		/* the names follow the mask: one per bit */
		EXPECT_EQ(__builtin_popcount(info.layer_types),
			  d->n[mj_get(d, o, "layer_types")].count);
		EXPECT_EQ(__builtin_popcount(info.n_mask), d->n[mj_get(d, o, "n")].count);
		EXPECT_EQ(__builtin_popcount(info.b_mask), d->n[mj_get(d, o, "b")].count);
	}
	/* one device: an array of one */
	CTL_EXPECT(&self->r, 0, "--json", "dev", "show", "1");
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root);
	ASSERT_EQ(MJ_ARR, d->n[root].type);
	ASSERT_EQ(1, d->n[root].count);
	EXPECT_STREQ("nhot1", mj_str(d, mj_at(d, root, 0), "name"));
}

/* dev add -> /dev/nhotK appears with the values asked for; dev del -> gone. */
TEST_F(ctl, add_then_del)
{
	struct mj_doc *d = &self->doc;
	struct nhot_info info;
	char node[32], name[16], line[256], want[256];
	uint32_t id;
	uint64_t v;
	int root;

	ADD_DEV(id, "sim", "pe_count", "8", "clock_mhz", "500", "timeout_ms", "1234");
	root = mj_parse(d, self->r.out);
	snprintf(name, sizeof(name), "nhot%u", id);
	EXPECT_STREQ(name, mj_str(d, root, "name"));
	EXPECT_STREQ("sim", mj_str(d, root, "engine"));
	EXPECT_STREQ("ready", mj_str(d, root, "state"));
	ASSERT_EQ(0, mj_u64(d, root, "pe_count", &v));
	EXPECT_EQ(8, v);
	ASSERT_EQ(0, mj_u64(d, root, "clock_mhz", &v));
	EXPECT_EQ(500, v);
	ASSERT_EQ(0, mj_u64(d, root, "timeout_ms", &v));
	EXPECT_EQ(1234, v);

	snprintf(node, sizeof(node), "/dev/%s", name);
	ASSERT_EQ(0, access(node, F_OK)) TH_LOG("%s did not appear", node);
	ASSERT_EQ(0, get_info(id, &info));
	EXPECT_EQ(8, info.pe_count);
	EXPECT_EQ(500, info.clock_mhz);
	EXPECT_EQ(0, info.jobs_submitted);

	CTL_EXPECT(&self->r, 0, "dev", "show", name);
	snprintf(want, sizeof(want),
		 "%s: engine sim state ready bus sim pe_count 8 clock_mhz 500 timeout_ms 1234",
		 name);
	EXPECT_STREQ(want, line_n(self->r.out, 0, line, sizeof(line)));

	CTL_EXPECT(&self->r, 0, "dev", "del", node);
	forget(self, id);
	snprintf(want, sizeof(want), "%s deleted\n", name);
	EXPECT_STREQ(want, self->r.out);
	EXPECT_EQ(-1, access(node, F_OK));
	EXPECT_EQ(ENOENT, errno);

	CTL_EXPECT(&self->r, 1, "dev", "show", name);
	snprintf(want, sizeof(want), "nhotctl: %s: no such device\n", name);
	EXPECT_STREQ(want, self->r.err);
	EXPECT_STREQ("", self->r.out);

	/* text form of dev add: the dev show lines of the new device */
	CTL_EXPECT(&self->r, 0, "dev", "add");
	ASSERT_EQ(0, sscanf(self->r.out, "nhot%u:", &id) == 1 ? 0 : -1) TH_LOG("%s", self->r.out);
	self->added[self->n_added++] = id;
	EXPECT_EQ(2, count_lines(self->r.out));
	snprintf(want, sizeof(want), "nhot%u: engine sim state ready bus sim pe_count %u", id,
		 NHOT_DEF_PE_COUNT);
	EXPECT_EQ(0, strncmp(want, self->r.out, strlen(want))) TH_LOG("%s", self->r.out);

	/* --json dev del */
	snprintf(name, sizeof(name), "%u", id);
	CTL_EXPECT(&self->r, 0, "dev", "del", name, "--json");
	forget(self, id);
	snprintf(want, sizeof(want), "{\"id\":%u,\"name\":\"nhot%u\",\"deleted\":true}\n", id, id);
	EXPECT_STREQ(want, self->r.out);
}

/* dev set: the reply, dev show and GET_INFO all show the new values. */
TEST_F(ctl, set_then_show)
{
	struct mj_doc *d = &self->doc;
	struct nhot_info info;
	char name[16], want[256], line[256];
	uint32_t id;
	uint64_t v;
	int root;

	ADD_DEV(id);
	snprintf(name, sizeof(name), "nhot%u", id);
	CTL_EXPECT(&self->r, 0, "dev", "set", name, "pe_count", "16", "clock_mhz", "250",
		   "timeout_ms", "4321");
	snprintf(want, sizeof(want),
		 "%s: engine sim state ready bus sim pe_count 16 clock_mhz 250 timeout_ms 4321",
		 name);
	EXPECT_STREQ(want, line_n(self->r.out, 0, line, sizeof(line)));
	ASSERT_EQ(0, get_info(id, &info));
	EXPECT_EQ(16, info.pe_count);
	EXPECT_EQ(250, info.clock_mhz);

	/* one key alone leaves the others as they were */
	CTL_EXPECT(&self->r, 0, "--json", "dev", "set", name, "timeout_ms", "99");
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root) TH_LOG("not JSON: %s", self->r.out);
	ASSERT_EQ(MJ_OBJ, d->n[root].type);
	ASSERT_EQ(0, mj_u64(d, root, "timeout_ms", &v));
	EXPECT_EQ(99, v);
	ASSERT_EQ(0, mj_u64(d, root, "pe_count", &v));
	EXPECT_EQ(16, v);

	CTL_EXPECT(&self->r, 0, "dev", "show", name, "--json");
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root);
	root = mj_at(d, root, 0);
	ASSERT_EQ(0, mj_u64(d, root, "pe_count", &v));
	EXPECT_EQ(16, v);
	ASSERT_EQ(0, mj_u64(d, root, "clock_mhz", &v));
	EXPECT_EQ(250, v);
	ASSERT_EQ(0, mj_u64(d, root, "timeout_ms", &v));
	EXPECT_EQ(99, v);
}

/* Runs count small FC jobs on the device; sums their counters. */
static void run_jobs(struct __test_metadata *_metadata, uint32_t id, int count,
		     uint64_t *macs, uint64_t *shift_adds)
{
	struct nhot_fc_bos bos;
	struct nhot_fc fc;
	struct nhot_job job;
	uint64_t first;
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/nhot%u", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	*macs = *shift_adds = 0;
	for (int i = 0; i < count; i++) {
		nhot_fc_small(&fc, 1 + i % 4, 8, 500 + i);
		nhot_fc_job(&fc, &bos, 0, &job);
		test_cmd_submit(fd, &job, 1, &first);
		test_cmd_wait(fd, &first, 1);
		ASSERT_TRUE(nhot_fc_output_ok(&fc, &bos, 0));
		*macs += fc.macs;
		*shift_adds += fc.shift_adds;
	}
	close(fd);
}

/* stats after real jobs: the JSON equals GET_INFO and the jobs' sums. */
TEST_F(ctl, stats_after_jobs)
{
	struct mj_doc *d = &self->doc;
	struct nhot_info info;
	uint64_t macs, shift_adds, v;
	char name[16], num[32], line[512];
	uint32_t id;
	int root, o;

	ADD_DEV(id);
	snprintf(name, sizeof(name), "nhot%u", id);
	run_jobs(_metadata, id, 5, &macs, &shift_adds);
	ASSERT_EQ(0, get_info(id, &info));
	ASSERT_EQ(5, info.jobs_submitted);

	CTL_EXPECT(&self->r, 0, "--json", "stats", name);
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root) TH_LOG("not JSON: %s", self->r.out);
	ASSERT_EQ(1, d->n[root].count);
	o = mj_at(d, root, 0);
	EXPECT_STREQ(name, mj_str(d, o, "name"));
	ASSERT_EQ(0, mj_u64(d, o, "jobs_submitted", &v));
	EXPECT_EQ(5, v);
	ASSERT_EQ(0, mj_u64(d, o, "jobs_completed", &v));
	EXPECT_EQ(5, v);
	ASSERT_EQ(0, mj_u64(d, o, "jobs_failed", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, mj_u64(d, o, "jobs_timed_out", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, mj_u64(d, o, "macs", &v));
	EXPECT_EQ(macs, v);
	EXPECT_EQ(info.macs, v);
	ASSERT_EQ(0, mj_u64(d, o, "shift_adds", &v));
	EXPECT_EQ(shift_adds, v);
	EXPECT_EQ(info.shift_adds, v);
	ASSERT_EQ(0, mj_u64(d, o, "cycles", &v));
	EXPECT_EQ(info.cycles, v);
	EXPECT_LT(0, v);
	ASSERT_EQ(0, mj_u64(d, o, "resets", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, mj_u64(d, o, "busy_ns", &v));

	/* the table: a header, one row, the counters grouped by thousands */
	CTL_EXPECT(&self->r, 0, "stats", name);
	EXPECT_EQ(2, count_lines(self->r.out));
	line_n(self->r.out, 0, line, sizeof(line));
	EXPECT_EQ(0, strncmp(line, "DEV ", 4)) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "SUBMITTED"));
	line_n(self->r.out, 1, line, sizeof(line));
	EXPECT_EQ(0, strncmp(line, name, strlen(name))) TH_LOG("%s", line);
	grouped(macs, num, sizeof(num));
	EXPECT_NE(NULL, strstr(line, num)) TH_LOG("no %s in %s", num, line);
	grouped(shift_adds, num, sizeof(num));
	EXPECT_NE(NULL, strstr(line, num)) TH_LOG("no %s in %s", num, line);

	/* the dump holds this device too */
	CTL_EXPECT(&self->r, 0, "stats", "--json");
	root = mj_parse(d, self->r.out);
	ASSERT_LE(0, root);
	EXPECT_EQ(count_dev_nodes(), d->n[root].count);

	/* --watch: one JSON document a line, --count of them */
	CTL_EXPECT(&self->r, 0, "stats", name, "--watch", "0.2", "--count", "3", "--json");
	ASSERT_EQ(3, count_lines(self->r.out)) TH_LOG("%s", self->r.out);
	for (int i = 0; i < 3; i++) {
		char doc[1024];

		line_n(self->r.out, i, doc, sizeof(doc));
		root = mj_parse(d, doc);
		ASSERT_LE(0, root) TH_LOG("line %d not JSON: %s", i, doc);
		ASSERT_EQ(0, mj_u64(d, mj_at(d, root, 0), "macs", &v));
		EXPECT_EQ(macs, v);
	}
}

/* --- monitor --------------------------------------------------------------- */

struct monitor {
	pid_t pid;
	int fd;			/* read end of its stdout */
	int err_fd;		/* its stderr, a memfd */
	char buf[16384];
	size_t len;
};

/* Whether a netlink socket of pid has joined a multicast group. */
static bool subscribed(pid_t pid)
{
	FILE *f = fopen("/proc/net/netlink", "r");
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned int proto, portid, groups;
		char sk[32];

		if (sscanf(line, "%31s %u %u %x", sk, &proto, &portid, &groups) != 4)
			continue;
		/* libnl's port ids are the pid in the low 22 bits */
		if (proto == 16 && (portid & 0x3fffff) == (unsigned int)pid && groups)
			found = true;
	}
	fclose(f);
	return found;
}

/* Starts nhotctl ARGS in the background: stdout to a pipe, stderr to m->err_fd. */
static int spawn(struct monitor *m, const char *const *args)
{
	const char *argv[8] = { "nhotctl" };
	int p[2], i;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	m->len = 0;
	m->err_fd = memfd_create("err", 0);
	if (m->err_fd < 0 || pipe(p))
		return -1;
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		dup2(p[1], 1);
		dup2(m->err_fd, 2);
		close(p[0]);
		execv(nhotctl_path(), (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	m->fd = p[0];
	return 0;
}

static int monitor_start(struct monitor *m, bool json)
{
	const char *args[] = { "monitor", json ? "--json" : NULL, NULL };

	if (spawn(m, args))
		return -1;
	/* it has joined both groups (nlctrl's is the second) when Groups shows */
	for (int i = 0; i < 300 && !subscribed(m->pid); i++)
		usleep(50000);
	return subscribed(m->pid) ? 0 : -1;
}

/* Reads until the output holds n lines or timeout_ms passed; the line count. */
static int monitor_lines(struct monitor *m, int n, int timeout_ms)
{
	int64_t end = nhot_now_ns() + (int64_t)timeout_ms * 1000000;

	m->buf[m->len] = 0;
	while (count_lines(m->buf) < n && nhot_now_ns() < end) {
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
		ssize_t got;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		got = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
		if (got <= 0)
			break;
		m->len += got;
		m->buf[m->len] = 0;
	}
	return count_lines(m->buf);
}

/* Sends sig (0: none, it ends by itself) and reaps; its exit code. */
static int monitor_end(struct monitor *m, int sig, char *err, size_t len)
{
	int st;

	if (sig)
		kill(m->pid, sig);
	waitpid(m->pid, &st, 0);
	close(m->fd);
	if (err)
		slurp(m->err_fd, err, len);
	close(m->err_fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* SIGTERM; its exit code (0: it stopped cleanly). */
static int monitor_stop(struct monitor *m)
{
	return monitor_end(m, SIGTERM, NULL, 0);
}

TEST_F(ctl, monitor_add_change_del)
{
	struct mj_doc *d = &self->doc;
	struct monitor *mj = calloc(1, sizeof(*mj)), *mt = calloc(1, sizeof(*mt));
	const char *events[] = { "dev_add", "dev_change", "dev_del" };
	const char *words[] = { "add", "change", "del" };
	char name[16], id_s[16], line[512], want[128];
	uint32_t id;
	uint64_t v;

	ASSERT_NE(NULL, mj);
	ASSERT_NE(NULL, mt);
	ASSERT_EQ(0, monitor_start(mj, true)) TH_LOG("the JSON monitor did not subscribe");
	ASSERT_EQ(0, monitor_start(mt, false)) TH_LOG("the text monitor did not subscribe");
	ADD_DEV(id);
	snprintf(name, sizeof(name), "nhot%u", id);
	snprintf(id_s, sizeof(id_s), "%u", id);
	CTL_EXPECT(&self->r, 0, "dev", "set", id_s, "pe_count", "7");
	CTL_EXPECT(&self->r, 0, "dev", "del", id_s);
	forget(self, id);

	EXPECT_EQ(3, monitor_lines(mj, 3, 20000)) TH_LOG("%s", mj->buf);
	EXPECT_EQ(3, monitor_lines(mt, 3, 20000)) TH_LOG("%s", mt->buf);
	EXPECT_EQ(0, monitor_stop(mj));
	EXPECT_EQ(0, monitor_stop(mt));
	for (int i = 0; i < 3; i++) {
		int root;

		line_n(mj->buf, i, line, sizeof(line));
		root = mj_parse(d, line);
		ASSERT_LE(0, root) TH_LOG("line %d not JSON: %s", i, line);
		EXPECT_STREQ(events[i], mj_str(d, root, "event"));
		EXPECT_STREQ(name, mj_str(d, root, "name"));
		ASSERT_EQ(0, mj_u64(d, root, "pe_count", &v));
		EXPECT_EQ(i ? 7 : NHOT_DEF_PE_COUNT, v);

		line_n(mt->buf, i, line, sizeof(line));
		snprintf(want, sizeof(want), "%s %s: engine sim state %s bus sim pe_count %u ",
			 words[i], name, i == 2 ? "removing" : "ready",
			 i ? 7 : NHOT_DEF_PE_COUNT);
		EXPECT_EQ(0, strncmp(want, line, strlen(want))) TH_LOG("%s", line);
	}
	free(mj);
	free(mt);
}

/* A job that hangs past its timeout: reset and job-fail events, counters. */
TEST_F(ctl, monitor_job_timeout)
{
	struct mj_doc *d = &self->doc;
	struct monitor *m = calloc(1, sizeof(*m));
	struct nhot_job_result res;
	struct nhot_fc_bos bos;
	struct nhot_job job;
	struct nhot_fc fc;
	char name[16], path[32];
	bool saw_reset = false, saw_fail = false;
	uint64_t first, v;
	uint32_t id;
	int fd, lines;

	ASSERT_NE(NULL, m);
	ADD_DEV(id, "timeout_ms", "100");
	snprintf(name, sizeof(name), "nhot%u", id);
	if (nhot_debugfs_write(id, "hang_jobs", 1))
		SKIP(return, "no debugfs hang_jobs switch");
	ASSERT_EQ(0, monitor_start(m, true));

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
	nhot_fc_small(&fc, 2, 8, 7);
	nhot_fc_job(&fc, &bos, 0, &job);
	test_cmd_submit(fd, &job, 1, &first);
	test_cmd_wait(fd, &first, 1);
	ASSERT_EQ(0, _test_job_result(fd, first, &res, 0));
	ASSERT_EQ(NHOT_JOB_TIMEDOUT, res.status);
	close(fd);

	lines = monitor_lines(m, 2, 20000);
	EXPECT_EQ(0, monitor_stop(m));
	for (int i = 0; i < lines; i++) {
		char line[512];
		const char *ev;
		int root;

		line_n(m->buf, i, line, sizeof(line));
		root = mj_parse(d, line);
		ASSERT_LE(0, root) TH_LOG("line %d not JSON: %s", i, line);
		ev = mj_str(d, root, "event");
		ASSERT_NE(NULL, ev);
		EXPECT_STREQ(name, mj_str(d, root, "name"));
		if (!strcmp(ev, "reset")) {
			saw_reset = true;
		} else if (!strcmp(ev, "job_fail")) {
			saw_fail = true;
			ASSERT_EQ(0, mj_u64(d, root, "job_id", &v));
			EXPECT_EQ(first, v);
			EXPECT_STREQ("timedout", mj_str(d, root, "job_status"));
			EXPECT_EQ(res.error, atoi(d->n[mj_get(d, root, "job_error")].text));
		}
	}
	EXPECT_TRUE(saw_reset) TH_LOG("%s", m->buf);
	EXPECT_TRUE(saw_fail) TH_LOG("%s", m->buf);
	free(m);

	CTL_EXPECT(&self->r, 0, "--json", "stats", name);
	ASSERT_LE(0, mj_parse(d, self->r.out));
	ASSERT_EQ(0, mj_u64(d, mj_at(d, 0, 0), "jobs_timed_out", &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, mj_u64(d, mj_at(d, 0, 0), "resets", &v));
	EXPECT_LE(1, v);
}

/* --watch without --count runs until SIGINT, and then exits 0. */
TEST_F(ctl, stats_watch_until_interrupted)
{
	const char *args[] = { "stats", "nhot0", "--watch", "0.2", NULL };
	struct monitor *m = calloc(1, sizeof(*m));
	char line[512], err[256];
	int samples = 0, n;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, spawn(m, args));
	/* a sample is a header, a row and a blank line between samples */
	n = monitor_lines(m, 8, 20000);
	ASSERT_LE(8, n) TH_LOG("%s", m->buf);
	EXPECT_EQ(0, monitor_end(m, SIGINT, err, sizeof(err)));
	EXPECT_STREQ("", err);
	for (int i = 0; i < 8; i++) {
		line_n(m->buf, i, line, sizeof(line));
		if (i % 3 == 0) {
			EXPECT_EQ(0, strncmp(line, "DEV ", 4)) TH_LOG("line %d: %s", i, line);
			samples++;
		} else if (i % 3 == 1) {
			EXPECT_EQ(0, strncmp(line, "nhot0 ", 6)) TH_LOG("line %d: %s", i, line);
		} else {
			EXPECT_STREQ("", line);
		}
	}
	EXPECT_EQ(3, samples);
	free(m);
}

/* The watched device is deleted: --watch stops with exit 1 and says why. */
TEST_F(ctl, stats_watch_device_removed)
{
	struct monitor *m = calloc(1, sizeof(*m));
	char name[16], want[64], err[256], line[1024];
	const char *args[] = { "stats", name, "--watch", "0.2", "--json", NULL };
	uint32_t id;
	int code, n;

	ASSERT_NE(NULL, m);
	ADD_DEV(id);
	snprintf(name, sizeof(name), "nhot%u", id);
	ASSERT_EQ(0, spawn(m, args));
	ASSERT_LE(2, monitor_lines(m, 2, 20000)) TH_LOG("%s", m->buf);
	CTL_EXPECT(&self->r, 0, "dev", "del", name);
	forget(self, id);
	alarm(20);
	code = monitor_end(m, 0, err, sizeof(err));
	alarm(0);
	EXPECT_EQ(1, code);
	snprintf(want, sizeof(want), "nhotctl: %s: no such device\n", name);
	EXPECT_STREQ(want, err);
	/* every sample it printed before is a whole document */
	n = count_lines(m->buf);
	for (int i = 0; i < n; i++) {
		EXPECT_LE(0, mj_parse(&self->doc, line_n(m->buf, i, line, sizeof(line))))
			TH_LOG("line %d: %s", i, line);
	}
	free(m);
}

static int reload_module(void)
{
	const char *path = getenv("NHOT_MODULE");
	const char *params = getenv("NHOT_MODULE_PARAMS");
	int fd, ret;

	fd = open(path && *path ? path : "/lib/modules/nhot.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	close(fd);
	return ret;
}

/* The module goes away under a running monitor: it says so and exits 1. */
TEST_F(ctl, monitor_sees_module_unload)
{
	struct monitor *m = calloc(1, sizeof(*m));
	char err[512];
	int code;

	ASSERT_NE(NULL, m);
	if (access(getenv("NHOT_MODULE") ? getenv("NHOT_MODULE") : "/lib/modules/nhot.ko",
		   R_OK))
		SKIP(return, "no module file to load it again");
	ASSERT_EQ(0, monitor_start(m, true));
	ASSERT_EQ(0, syscall(SYS_delete_module, "nhot", O_NONBLOCK))
		TH_LOG("rmmod nhot: %s", strerror(errno));
	/* it ends by itself; the alarm only keeps a broken one from hanging */
	alarm(20);
	code = monitor_end(m, 0, err, sizeof(err));
	alarm(0);
	ASSERT_EQ(0, reload_module()) TH_LOG("reloading nhot.ko: %s", strerror(errno));
	EXPECT_EQ(1, code);
	EXPECT_STREQ("nhotctl: monitor: the \"nhot\" family went away (module unloaded)\n", err);
	free(m);

	/* and without the module, the message every command gives */
	ASSERT_EQ(0, syscall(SYS_delete_module, "nhot", O_NONBLOCK));
	ctl(&self->r, "dev", "show");
	ASSERT_EQ(0, reload_module());
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ("nhotctl: the nhot module is not loaded (generic netlink family \"nhot\" not found); load it with 'modprobe nhot'\n",
		     self->r.err);
}

/* --- errors ---------------------------------------------------------------- */

#define EXPECT_ERR_LINE(r, code, text, ...)                                  \
	do {                                                                 \
		CTL_EXPECT(r, code, __VA_ARGS__);                            \
		EXPECT_STREQ("", (r)->out);                                  \
		EXPECT_EQ(1, count_lines((r)->err)) TH_LOG("%s", (r)->err);  \
		EXPECT_NE(NULL, strstr((r)->err, text)) TH_LOG("%s", (r)->err); \
	} while (0)

TEST_F(ctl, errors)
{
	char want[64], value[16];

	/* no such device, for every command that names one */
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: nhot4000: no such device\n",
			"dev", "show", "nhot4000");
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: dev del nhot4000: no such device\n",
			"dev", "del", "4000");
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: dev set nhot4000: no such device\n",
			"dev", "set", "/dev/nhot4000", "pe_count", "2");
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: nhot4000: no such device\n",
			"stats", "nhot4000");
	/* with --json too: the error alone, no half document on stdout */
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: nhot4000: no such device\n",
			"--json", "dev", "show", "4000");
	EXPECT_ERR_LINE(&self->r, 1, "nhotctl: nhot4000: no such device\n",
			"stats", "4000", "--json");
	/* bad keys and values the command line catches: usage, exit 2 */
	EXPECT_ERR_LINE(&self->r, 2, "unknown key 'colour'", "dev", "set", "0", "colour", "3");
	EXPECT_ERR_LINE(&self->r, 2, "pe_count wants a whole number, got 'many'",
			"dev", "set", "0", "pe_count", "many");
	/* values the kernel's policy refuses: exit 1, the attribute and its range */
	snprintf(want, sizeof(want), "(attribute pe_count: 1..%u)", NHOT_MAX_PE_COUNT);
	EXPECT_ERR_LINE(&self->r, 1, want, "dev", "set", "0", "pe_count", "0");
	snprintf(want, sizeof(want), "(attribute clock_mhz: 1..%u)", NHOT_MAX_CLOCK_MHZ);
	snprintf(value, sizeof(value), "%u", NHOT_MAX_CLOCK_MHZ + 1);
	EXPECT_ERR_LINE(&self->r, 1, want, "dev", "set", "0", "clock_mhz", value);
	snprintf(want, sizeof(want), "(attribute timeout_ms: 1..%u)", NHOT_MAX_TIMEOUT_MS);
	snprintf(value, sizeof(value), "%u", NHOT_MAX_TIMEOUT_MS + 1);
	EXPECT_ERR_LINE(&self->r, 1, want, "dev", "add", "timeout_ms", value);
	/* PCI engines come by probe, never by dev add */
	EXPECT_ERR_LINE(&self->r, 1, "(attribute engine)", "dev", "add", "pci");
	EXPECT_NE(NULL, strstr(self->r.err, "nhotctl: dev add: ")) TH_LOG("%s", self->r.err);
	/* nothing of the refused requests stayed behind */
	EXPECT_EQ(0, access("/dev/nhot0", F_OK));
	CTL_EXPECT(&self->r, 0, "--json", "dev", "show");
	ASSERT_LE(0, mj_parse(&self->doc, self->r.out));
	EXPECT_EQ(count_dev_nodes(), self->doc.n[0].count);
}

/* Reads are for everyone; add, del, set and monitor need CAP_NET_ADMIN. */
TEST_F(ctl, unprivileged_user)
{
	struct nhot_info info;
	uint32_t id;
	char id_s[16];

	ADD_DEV(id);
	snprintf(id_s, sizeof(id_s), "%u", id);
	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "dev", "add"));
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ("nhotctl: dev add: permission denied (needs CAP_NET_ADMIN)\n", self->r.err);
	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "dev", "del", id_s));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "permission denied (needs CAP_NET_ADMIN)"));
	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "dev", "set", id_s, "pe_count", "3"));
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "permission denied (needs CAP_NET_ADMIN)"));
	/* refused means refused: the device is there, unchanged */
	ASSERT_EQ(0, get_info(id, &info));
	EXPECT_EQ(NHOT_DEF_PE_COUNT, info.pe_count);

	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "dev", "show", id_s));
	EXPECT_EQ(0, self->r.status) TH_LOG("%s", self->r.err);
	EXPECT_EQ(2, count_lines(self->r.out));
	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "--json", "stats"));
	EXPECT_EQ(0, self->r.status) TH_LOG("%s", self->r.err);
	EXPECT_LE(0, mj_parse(&self->doc, self->r.out));

	/*
	 * monitor shows every user's failing jobs: refused, with one clear
	 * line.  The alarm only keeps a monitor that joined from hanging.
	 */
	alarm(20);
	ASSERT_EQ(0, ctl_as(&self->r, NOBODY, "monitor"));
	alarm(0);
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ("", self->r.out);
	EXPECT_STREQ("nhotctl: monitor: permission denied: joining \"monitor\" needs CAP_NET_ADMIN (it reports every user's failing jobs)\n",
		     self->r.err);
}

TEST_HARNESS_MAIN
