// SPDX-License-Identifier: MIT
/*
 * How libnhot writes and reads model files (issue #14, items 14 and 15):
 * nhot_qnet_save(), nhot_fnet_save() and nhot_file_replace() replace only a
 * regular file, through a temporary file that nothing planted can redirect,
 * report a full disk and leave the old file whole; the loaders refuse a FIFO
 * at once instead of waiting for a writer.
 *
 * Run from the top of the tree (make test does): the .nhq cases load
 * fuzz/corpus/residual-n2b8.nhq. The full-disk case mounts a 64 KiB tmpfs
 * and the device case makes a device node: both need root (make test runs
 * as root in CI) and say SKIP elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot_fmodel.h"
#include "nhot_model.h"
#include "nhot_private.h"

#define SEED_MODEL	"fuzz/corpus/residual-n2b8.nhq"
#define PRECIOUS	"precious bytes that must survive\n"

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The whole file as a string (at most 255 bytes), "" when unreadable. */
static const char *read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* Entries of dir other than . and .. */
static int dir_entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A small valid float network: 4x4x1 input, FC to 3 classes. */
static struct nhot_fnet *small_fnet(void)
{
	struct nhot_fnode fc = { .op = NHOT_FOP_FC, .in = { 0, -1 }, .out_c = 3 };
	struct nhot_fnet *net;

	if (nhot_fnet_create(4, 4, 1, &net))
		return NULL;
	if (nhot_fnet_add(net, &fc) < 0) {
		nhot_fnet_free(net);
		return NULL;
	}
	return net;
}

FIXTURE(writer) {
	char dir[64];
	char path[128];
	char err[NHOT_PRIVATE_ERR_LEN];
	struct nhot_qnet *q;
	struct nhot_fnet *f;
};

FIXTURE_SETUP(writer)
{
	char err[NHOT_QNET_ERR_LEN];

	strcpy(self->dir, "/tmp/nhot-test-write-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/model", self->dir);
	self->q = NULL;
	if (access(SEED_MODEL, R_OK) == 0)
		ASSERT_EQ(0, nhot_qnet_load(SEED_MODEL, &self->q, err, sizeof(err))) {
			TH_LOG("%s", err);
		}
	self->f = small_fnet();
	ASSERT_NE(NULL, self->f);
}

FIXTURE_TEARDOWN(writer)
{
	char cmd[128];

	nhot_qnet_free(self->q);
	nhot_fnet_free(self->f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Saves with all three writers; each must return want. */
static void save_all(struct __test_metadata *_metadata, FIXTURE_DATA(writer) *self,
		     const char *path, int want)
{
	EXPECT_EQ(want, nhot_file_replace(path, "new", 3, self->err, sizeof(self->err)));
	if (want)
		TH_LOG("nhot_file_replace: %s", self->err);
	EXPECT_EQ(want, nhot_fnet_save(self->f, path));
	if (self->q) {
		EXPECT_EQ(want, nhot_qnet_save(self->q, path, self->err, sizeof(self->err)));
		if (want)
			TH_LOG("nhot_qnet_save: %s", self->err);
	}
}

TEST_F(writer, new_file_round_trips_and_leaves_no_temporary)
{
	struct nhot_fnet *back = NULL;
	struct nhot_qnet *qback = NULL;
	struct stat st;
	mode_t old = umask(022);

	ASSERT_EQ(0, nhot_fnet_save(self->f, self->path));
	ASSERT_EQ(0, nhot_fnet_load(self->path, &back));
	nhot_fnet_free(back);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0644U, st.st_mode & 07777);
	if (self->q) {
		ASSERT_EQ(0, nhot_qnet_save(self->q, self->path, self->err, sizeof(self->err)));
		ASSERT_EQ(0, nhot_qnet_load(self->path, &qback, self->err, sizeof(self->err)));
		nhot_qnet_free(qback);
	}
	umask(old);
	EXPECT_EQ(1, dir_entries(self->dir));
}

/*
 * -o /dev/full: a private node of the same device (char 1:7) in the test's
 * folder, so that a regression replaces that node and not the system's.
 */
TEST_F(writer, device_target_refused_and_left_a_device)
{
	struct stat st;

	if (mknod(self->path, S_IFCHR | 0600, makedev(1, 7)))
		SKIP(return, "cannot make a device node (%s): run as root", strerror(errno));
	save_all(_metadata, self, self->path, -EINVAL);
	EXPECT_NE(NULL, strstr(self->err, "is a character device, not a regular file"));
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(1, dir_entries(self->dir));
}

TEST_F(writer, fifo_and_directory_targets_refused)
{
	struct stat st;

	ASSERT_EQ(0, mkfifo(self->path, 0600));
	save_all(_metadata, self, self->path, -EINVAL);
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_EQ(0, unlink(self->path));
	ASSERT_EQ(0, mkdir(self->path, 0700));
	save_all(_metadata, self, self->path, -EINVAL);
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(1, dir_entries(self->dir));
}

/* The old writers opened PATH.tmp with O_TRUNC: a link planted there redirected the write. */
TEST_F(writer, planted_tmp_symlink_does_not_redirect_the_write)
{
	char victim[160], tmp[160], buf[256];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", self->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", self->path);
	write_text(victim, PRECIOUS);
	ASSERT_EQ(0, symlink(victim, tmp));
	save_all(_metadata, self, self->path, 0);
	EXPECT_STREQ(PRECIOUS, read_text(victim, buf, sizeof(buf)));
	ASSERT_EQ(0, lstat(tmp, &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(3, dir_entries(self->dir));	/* victim, the link, the model */
}

TEST_F(writer, symlink_target_is_followed_and_kept)
{
	char real[160], link[160], buf[256];
	struct stat st;

	snprintf(real, sizeof(real), "%s/real", self->dir);
	snprintf(link, sizeof(link), "%s/link", self->dir);
	write_text(real, PRECIOUS);
	ASSERT_EQ(0, chmod(real, 0600));
	ASSERT_EQ(0, symlink("real", link));
	ASSERT_EQ(0, nhot_file_replace(link, "new", 3, self->err, sizeof(self->err)));
	EXPECT_STREQ("new", read_text(real, buf, sizeof(buf)));
	ASSERT_EQ(0, lstat(link, &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_EQ(0, stat(real, &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);	/* a replaced file keeps its mode */
	EXPECT_EQ(2, dir_entries(self->dir));
	/* A dangling link is refused; nothing is created. */
	ASSERT_EQ(0, unlink(real));
	EXPECT_EQ(-ENOENT, nhot_file_replace(link, "new", 3, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "dangling"));
	EXPECT_EQ(1, dir_entries(self->dir));
}

TEST_F(writer, missing_directory_reported)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/no/such/model", self->dir);
	save_all(_metadata, self, path, -ENOENT);
	EXPECT_NE(NULL, strstr(self->err, "no/such/model"));
}

/* Writes zeros to path until the file system is full; 0 when it got full. */
static int fill_up(const char *path)
{
	static const char zeros[4096];
	FILE *f = fopen(path, "w");
	int full = 0;

	if (!f)
		return -1;
	setvbuf(f, NULL, _IONBF, 0);
	while (!full)
		full = fwrite(zeros, 1, sizeof(zeros), f) != sizeof(zeros);
	fclose(f);
	return errno == ENOSPC ? 0 : -1;
}

/*
 * A real full file system: every writer fails with ENOSPC, says so, and
 * leaves the old file whole and no temporary file behind.
 */
TEST_F(writer, full_disk_reported_and_old_file_kept)
{
	char mnt[160], path[192], filler[192], buf[256];

	snprintf(mnt, sizeof(mnt), "%s/mnt", self->dir);
	ASSERT_EQ(0, mkdir(mnt, 0700));
	if (mount("nhot-test", mnt, "tmpfs", 0, "size=64k"))
		SKIP(return, "cannot mount a small tmpfs (%s): run as root", strerror(errno));
	snprintf(path, sizeof(path), "%s/model", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	write_text(path, PRECIOUS);
	ASSERT_EQ(0, fill_up(filler));
	save_all(_metadata, self, path, -ENOSPC);
	EXPECT_NE(NULL, strstr(self->err, "No space left"));
	EXPECT_STREQ(PRECIOUS, read_text(path, buf, sizeof(buf)));
	EXPECT_EQ(2, dir_entries(mnt));
	EXPECT_EQ(0, umount(mnt));
}

/*
 * A loader that blocks on the FIFO (the old ones waited for a writer) is
 * released after a generous deadline, and the test fails on the flag
 * instead of hanging.
 */
static volatile int fifo_had_to_be_released;

static void *release_blocked_loader(void *path)
{
	int fd;

	sleep(20);
	fd = open(path, O_WRONLY | O_NONBLOCK);
	if (fd >= 0) {
		fifo_had_to_be_released = 1;
		close(fd);
	}
	return NULL;
}

TEST_F(writer, loaders_refuse_a_fifo_at_once)
{
	struct nhot_fnet *f = NULL;
	struct nhot_qnet *q = NULL;
	struct nhot_idx idx = { 0 };
	pthread_t guard;

	ASSERT_EQ(0, mkfifo(self->path, 0600));
	ASSERT_EQ(0, pthread_create(&guard, NULL, release_blocked_loader, self->path));
	EXPECT_EQ(-EINVAL, nhot_qnet_load(self->path, &q, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "not a regular file"));
	EXPECT_EQ(-EINVAL, nhot_fnet_load(self->path, &f));
	/* a dataset given as --data FILE: the same rule */
	EXPECT_EQ(-EINVAL, nhot_idx_load(self->path, &idx, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "not a regular file"));
	EXPECT_EQ(NULL, idx.data);
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(NULL, f);
	EXPECT_EQ(0, fifo_had_to_be_released);
	pthread_cancel(guard);
	pthread_join(guard, NULL);
}

TEST_HARNESS_MAIN
