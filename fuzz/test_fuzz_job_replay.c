// SPDX-License-Identifier: MIT
/*
 * Replays the job-validation fuzzer's inputs (fuzz/job/corpus: seeds,
 * fuzz/job/regress: what the fuzzer once found) through its target,
 * fuzz_job_check.c, on every make test: the kernel's validator and datapath
 * and libnhot's must still agree on each (a disagreement aborts). Each
 * input runs in a child of its own, so a failure names the file.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file through the target in a child; its exit status. */
static int replay_file(const char *path)
{
	uint8_t buf[1 << 16];
	size_t n;
	FILE *f;
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		f = fopen(path, "rb");
		if (!f)
			_exit(2);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Every file of dir replays cleanly; returns how many there were. */
static int replay_dir(struct __test_metadata *_metadata, const char *dir)
{
	struct dirent *e;
	char path[4096];
	int count = 0;
	DIR *d = opendir(dir);

	ASSERT_NE(NULL, d) TH_LOG("%s: cannot open", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		EXPECT_EQ(0, replay_file(path)) TH_LOG("%s", path);
		count++;
	}
	closedir(d);
	return count;
}

TEST(seed_corpus_agrees)
{
	/* one seed per layer type at least */
	EXPECT_LE(6, replay_dir(_metadata, FUZZ_JOB_DIR "/corpus"));
}

TEST(regressions_agree)
{
	replay_dir(_metadata, FUZZ_JOB_DIR "/regress");
}

TEST_HARNESS_MAIN
