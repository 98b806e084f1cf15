/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the nhot selftests, in the style of iommufd_utils.h:
 * _test_cmd_x() returns 0 or -1 with errno set, test_cmd_x() asserts that it
 * succeeds, test_err_x(errno, ...) asserts that it fails with that errno.
 *
 * Also a small FC job builder: a fully connected layer whose input, weights
 * and per-channel parameters are filled from a seed, packed by hand from
 * docs/arith.md (1.1 the set, 1.4 the codes and packing, 2.1 and 2.3 the
 * arithmetic, 2.7 the counters), and whose expected output and counters are
 * computed here, independently of libnhot and of the module.
 *
 * Loops whose body asserts keep their braces even for one statement: the
 * harness's ASSERT_*() ... TH_LOG() is two statements, and without braces
 * the failure handler and the log would run after the loop.
 */
#ifndef __SELFTEST_NHOT_UTIL_H
#define __SELFTEST_NHOT_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/nhot.h>

#include "kselftest_harness.h"
#include "nhot_engine.h"

#ifndef offsetofend
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))
#endif

/* Module defaults (uapi contract); GET_INFO must report them. */
#define NHOT_DEF_MAX_JOBS_PER_SUBMIT	1024
#define NHOT_DEF_MAX_JOBS		4096
#define NHOT_DEF_MAX_BUFFERS		4096
#define NHOT_DEF_MAX_BUFFER_BYTES	(64ULL << 20)
#define NHOT_DEF_MAX_FILE_BYTES		(256ULL << 20)
#define NHOT_DEF_PE_COUNT		64
#define NHOT_DEF_CLOCK_MHZ		1000

#define NHOT_ALL_LAYER_TYPES	0x7eU	/* bits 1..6 */
#define NHOT_ALL_N		0x1eU	/* bits 1..4 */
#define NHOT_ALL_B		0x1fcU	/* bits 2..8 */

#define NHOT_SEC_NS		1000000000LL

#define EXPECT_ERRNO(expected_errno, cmd)            \
	({                                           \
		ASSERT_EQ(-1, cmd);                  \
		EXPECT_EQ(expected_errno, errno);    \
	})

static inline int64_t nhot_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NHOT_SEC_NS + ts.tv_nsec;
}

static inline void nhot_dev_path(char *buf, size_t len, int dev)
{
	snprintf(buf, len, "/dev/nhot%d", dev);
}

/* Whether the module is loaded: without it every test skips. */
static inline bool nhot_module_loaded(void)
{
	return access("/sys/module/nhot", F_OK) == 0;
}

static inline int nhot_open_dev(int dev)
{
	char path[32];

	nhot_dev_path(path, sizeof(path), dev);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* The module's sim_devices parameter, or -1 when it cannot be read. */
static inline int nhot_sim_devices(void)
{
	char buf[16] = { 0 };
	int fd = open("/sys/module/nhot/parameters/sim_devices", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/*
 * Opens /dev/nhotN in a fixture setup: skips when the module is not loaded
 * or was loaded with fewer simulated devices; fails when the device should
 * be there and is not.
 */
#define nhot_open_or_skip(dev)                                              \
	({                                                                  \
		int __fd = nhot_open_dev(dev);                              \
		int __sims = nhot_sim_devices();                            \
		if (__fd < 0 && !nhot_module_loaded())                      \
			SKIP(return, "nhot module not loaded");             \
		if (__fd < 0 && __sims >= 0 && __sims <= (dev))             \
			SKIP(return, "module loaded with sim_devices=%d", __sims); \
		ASSERT_LE(0, __fd)                                          \
			TH_LOG("open /dev/nhot%d: %s", dev, strerror(errno)); \
		__fd;                                                       \
	})

/* --- the module file: unload it and load it again ----------------------- */

/* The module file: $NHOT_MODULE (set by the test VM's /init), else /lib/modules/nhot.ko. */
static inline const char *nhot_module_path(void)
{
	const char *p = getenv("NHOT_MODULE");

	return p && *p ? p : "/lib/modules/nhot.ko";
}

/* finit_module() of nhot_module_path() with params; 0 or -1 with errno set. */
static inline int nhot_module_load(const char *params)
{
	int fd = open(nhot_module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

/* delete_module("nhot", O_NONBLOCK): 0 or -1 with errno set (EBUSY while in use). */
static inline int nhot_module_unload(void)
{
	return syscall(SYS_delete_module, "nhot", O_NONBLOCK);
}

/* --- GET_INFO ----------------------------------------------------------- */

static inline int _test_cmd_get_info(int fd, struct nhot_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, NHOT_IOCTL_GET_INFO, info);
}
#define test_cmd_get_info(fd, info) \
	ASSERT_EQ(0, _test_cmd_get_info(fd, info))

/* --- buffer objects ----------------------------------------------------- */

static inline int _test_cmd_bo_create(int fd, uint64_t length, uint32_t *handle,
				      uint64_t *mmap_offset)
{
	struct nhot_bo_create cmd = {
		.size = sizeof(cmd),
		.length = length,
	};
	int ret;

	ret = ioctl(fd, NHOT_IOCTL_BO_CREATE, &cmd);
	if (ret)
		return ret;
	if (handle)
		*handle = cmd.handle;
	if (mmap_offset)
		*mmap_offset = cmd.mmap_offset;
	return 0;
}
#define test_cmd_bo_create(fd, length, handle, mmap_offset) \
	ASSERT_EQ(0, _test_cmd_bo_create(fd, length, handle, mmap_offset))
#define test_err_bo_create(_errno, fd, length) \
	EXPECT_ERRNO(_errno, _test_cmd_bo_create(fd, length, NULL, NULL))

static inline int _test_cmd_bo_destroy(int fd, uint32_t handle)
{
	struct nhot_bo_destroy cmd = {
		.size = sizeof(cmd),
		.handle = handle,
	};

	return ioctl(fd, NHOT_IOCTL_BO_DESTROY, &cmd);
}
#define test_cmd_bo_destroy(fd, handle) \
	ASSERT_EQ(0, _test_cmd_bo_destroy(fd, handle))
#define test_err_bo_destroy(_errno, fd, handle) \
	EXPECT_ERRNO(_errno, _test_cmd_bo_destroy(fd, handle))

/* --- SUBMIT, WAIT, JOB_STATUS ------------------------------------------- */

static inline int _test_cmd_submit(int fd, const struct nhot_job *jobs,
				   uint32_t count, uint64_t *first_id)
{
	struct nhot_submit cmd = {
		.size = sizeof(cmd),
		.jobs_ptr = (uintptr_t)jobs,
		.job_count = count,
		.job_size = sizeof(*jobs),
	};
	int ret;

	ret = ioctl(fd, NHOT_IOCTL_SUBMIT, &cmd);
	if (!ret && first_id)
		*first_id = cmd.first_id;
	return ret;
}
#define test_cmd_submit(fd, jobs, count, first_id) \
	ASSERT_EQ(0, _test_cmd_submit(fd, jobs, count, first_id))
#define test_err_submit(_errno, fd, jobs, count) \
	EXPECT_ERRNO(_errno, _test_cmd_submit(fd, jobs, count, NULL))

static inline int _test_cmd_wait(int fd, const uint64_t *ids, uint32_t count,
				 uint32_t flags, int64_t deadline_ns)
{
	struct nhot_wait cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ids_ptr = (uintptr_t)ids,
		.id_count = count,
		.timeout_ns = deadline_ns,
	};

	return ioctl(fd, NHOT_IOCTL_WAIT, &cmd);
}
/* Waits for all, at most 10 s: a job that never finishes fails the test. */
#define test_cmd_wait(fd, ids, count) \
	ASSERT_EQ(0, _test_cmd_wait(fd, ids, count, 0, nhot_now_ns() + 10 * NHOT_SEC_NS))
#define test_err_wait(_errno, fd, ids, count, flags, deadline) \
	EXPECT_ERRNO(_errno, _test_cmd_wait(fd, ids, count, flags, deadline))

static inline int _test_cmd_job_status(int fd, struct nhot_job_result *res,
				       uint32_t count, uint32_t flags)
{
	struct nhot_job_status_args cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.results_ptr = (uintptr_t)res,
		.count = count,
		.result_size = sizeof(*res),
	};

	return ioctl(fd, NHOT_IOCTL_JOB_STATUS, &cmd);
}
#define test_cmd_job_status(fd, res, count, flags) \
	ASSERT_EQ(0, _test_cmd_job_status(fd, res, count, flags))
#define test_err_job_status(_errno, fd, res, count, flags) \
	EXPECT_ERRNO(_errno, _test_cmd_job_status(fd, res, count, flags))

/* Status of one job, without releasing it. */
static inline int _test_job_result(int fd, uint64_t id, struct nhot_job_result *res,
				   uint32_t flags)
{
	memset(res, 0, sizeof(*res));
	res->id = id;
	return _test_cmd_job_status(fd, res, 1, flags);
}

/* --- sysfs, debugfs, cgroup files --------------------------------------- */

/* Writes text to the file at path in one write(); 0 or -errno (-EIO if short). */
static inline int nhot_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = strlen(text), n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	n = n == len ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return n;
}

/* --- debugfs switches of the simulated engine --------------------------- */

static inline int nhot_debugfs_read(int dev, const char *name, unsigned long *val)
{
	char path[96], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/nhot/nhot%d/%s", dev, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*val = strtoul(buf, NULL, 0);
	return 0;
}

static inline int nhot_debugfs_write(int dev, const char *name, unsigned long val)
{
	char path[96], buf[32];

	snprintf(path, sizeof(path), "/sys/kernel/debug/nhot/nhot%d/%s", dev, name);
	snprintf(buf, sizeof(buf), "%lu\n", val);
	return nhot_write_file(path, buf);
}

/* --- arithmetic of docs/arith.md, written out independently ------------- */

/* Nonzero digits of the NAF of q (1.1, Reitwiesner). */
static inline int nhot_t_naf_nnz(int q)
{
	int nnz = 0;

	while (q != 0) {
		if (q & 1) {
			int d = 2 - (((q % 4) + 4) % 4);

			q -= d;
			nnz++;
		}
		q /= 2;
	}
	return nnz;
}

/* S(n, b) ascending into set[]; returns |S|. */
static inline int nhot_t_set(int n, int b, int set[255])
{
	int lim = (1 << (b - 1)) - 1, cnt = 0;

	for (int q = -lim; q <= lim; q++)
		if (nhot_t_naf_nnz(q) <= n)
			set[cnt++] = q;
	return cnt;
}

/* Code width: ceil(log2 |S|). */
static inline int nhot_t_code_bits(int set_size)
{
	int k = 0;

	while ((1 << k) < set_size)
		k++;
	return k;
}

static inline size_t nhot_t_row_bytes(int code_bits, size_t kcount)
{
	return (kcount * code_bits + 7) / 8;
}

/* Writes code into the LSB-first bit stream of a row (1.4). */
static inline void nhot_t_put_code(uint8_t *row, size_t i, int code_bits, unsigned int code)
{
	for (int bit = 0; bit < code_bits; bit++) {
		size_t j = i * code_bits + bit;

		if (code & (1U << bit))
			row[j / 8] |= 1U << (j % 8);
	}
}

/* rq of 2.1: a rounding right shift, ties toward plus infinity. */
static inline int64_t nhot_t_rq(int64_t v, uint32_t mult, uint32_t shift)
{
	return (v * (int64_t)mult + (1LL << (shift - 1))) >> shift;
}

static inline uint32_t nhot_t_rand(uint32_t *state)
{
	*state = *state * 1103515245U + 12345U;
	return *state >> 8;
}

/* --- an FC job with its expected result --------------------------------- */

#define NHOT_FC_MAX_BATCH	8
#define NHOT_FC_MAX_K		256
#define NHOT_FC_MAX_OUT		32
#define NHOT_FC_BO_BYTES	16384	/* each tensor has a page-multiple buffer */

struct nhot_fc {
	/* descriptor */
	uint32_t batch, k, out_c;
	int n, b;
	uint32_t in_zero, out_zero, act_min, act_max;
	/* data */
	uint8_t in[NHOT_FC_MAX_BATCH * NHOT_FC_MAX_K];
	int8_t w[NHOT_FC_MAX_OUT * NHOT_FC_MAX_K];
	struct nhot_chan_params params[NHOT_FC_MAX_OUT];
	uint8_t packed[NHOT_FC_MAX_OUT * NHOT_FC_MAX_K];
	size_t packed_bytes;
	/* expected */
	uint8_t expect[NHOT_FC_MAX_BATCH * NHOT_FC_MAX_OUT];
	uint64_t macs, shift_adds;
};

/* Fills fc from a seed; batch, k, out_c, n, b must be set and in range. */
static inline void nhot_fc_fill(struct nhot_fc *fc, uint32_t seed)
{
	int set[255], set_size = nhot_t_set(fc->n, fc->b, set);
	int code_bits = nhot_t_code_bits(set_size);
	size_t row_bytes = nhot_t_row_bytes(code_bits, fc->k);
	uint32_t st = seed * 2654435761U + 1;

	fc->in_zero = nhot_t_rand(&st) % 256;
	fc->out_zero = nhot_t_rand(&st) % 256;
	fc->act_min = nhot_t_rand(&st) % 16;
	fc->act_max = 255 - nhot_t_rand(&st) % 16;
	for (uint32_t i = 0; i < fc->batch * fc->k; i++)
		fc->in[i] = nhot_t_rand(&st);
	memset(fc->packed, 0, sizeof(fc->packed));
	fc->packed_bytes = row_bytes * fc->out_c;
	for (uint32_t o = 0; o < fc->out_c; o++) {
		for (uint32_t i = 0; i < fc->k; i++) {
			int code = nhot_t_rand(&st) % set_size;

			fc->w[o * fc->k + i] = set[code];
			nhot_t_put_code(fc->packed + o * row_bytes, i, code_bits, code);
		}
		fc->params[o].bias = (int32_t)(nhot_t_rand(&st) % 200001) - 100000;
		fc->params[o].mult = (1U << 30) + nhot_t_rand(&st) % (1U << 30);
		fc->params[o].shift = 8 + nhot_t_rand(&st) % 16;
	}

	fc->macs = (uint64_t)fc->batch * fc->out_c * fc->k;
	fc->shift_adds = 0;
	for (uint32_t r = 0; r < fc->batch; r++) {
		for (uint32_t o = 0; o < fc->out_c; o++) {
			int64_t acc = fc->params[o].bias, y;

			for (uint32_t i = 0; i < fc->k; i++) {
				int q = fc->w[o * fc->k + i];

				acc += ((int)fc->in[r * fc->k + i] - (int)fc->in_zero) * q;
				fc->shift_adds += nhot_t_naf_nnz(q);
			}
			y = fc->out_zero + nhot_t_rq(acc, fc->params[o].mult, fc->params[o].shift);
			if (y < fc->act_min)
				y = fc->act_min;
			if (y > fc->act_max)
				y = fc->act_max;
			fc->expect[r * fc->out_c + o] = y;
		}
	}
}

/* The descriptor of fc: an FC layer over an N x 1 x 1 x K input. */
static inline void nhot_fc_layer(const struct nhot_fc *fc, struct nhot_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->type = NHOT_LAYER_FC;
	l->batch = fc->batch;
	l->in_h = 1;
	l->in_w = 1;
	l->in_c = fc->k;
	l->out_c = fc->out_c;
	l->w_n = fc->n;
	l->w_b = fc->b;
	l->in_zero = fc->in_zero;
	l->out_zero = fc->out_zero;
	l->act_min = fc->act_min;
	l->act_max = fc->act_max;
}

/* Four buffers of one file holding an FC job's tensors, mapped. */
struct nhot_fc_bos {
	uint32_t in, w, params, out;
	uint8_t *in_map, *w_map, *params_map, *out_map;
};

static inline int nhot_fc_map(int fd, uint32_t *handle, uint8_t **map)
{
	uint64_t off;

	if (_test_cmd_bo_create(fd, NHOT_FC_BO_BYTES, handle, &off))
		return -errno;
	*map = mmap(NULL, NHOT_FC_BO_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (*map == MAP_FAILED)
		return -errno;
	return 0;
}

/* Creates and maps the four buffers; 0 or -errno. */
static inline int nhot_fc_bos_create(int fd, struct nhot_fc_bos *bos)
{
	int ret;

	memset(bos, 0, sizeof(*bos));
	ret = nhot_fc_map(fd, &bos->in, &bos->in_map);
	if (!ret)
		ret = nhot_fc_map(fd, &bos->w, &bos->w_map);
	if (!ret)
		ret = nhot_fc_map(fd, &bos->params, &bos->params_map);
	if (!ret)
		ret = nhot_fc_map(fd, &bos->out, &bos->out_map);
	return ret;
}

/*
 * Writes fc's tensors into the buffers at slot (each tensor's slot is
 * NHOT_FC_SLOT bytes apart, so several jobs can share the buffers) and
 * fills job to use them. The output slot is filled with a poison byte.
 */
#define NHOT_FC_SLOT	(NHOT_FC_BO_BYTES / 16)
static inline void nhot_fc_job(const struct nhot_fc *fc, const struct nhot_fc_bos *bos,
			       unsigned int slot, struct nhot_job *job)
{
	uint64_t off = (uint64_t)slot * NHOT_FC_SLOT;

	memcpy(bos->in_map + off, fc->in, fc->batch * fc->k);
	memcpy(bos->w_map + off, fc->packed, fc->packed_bytes);
	memcpy(bos->params_map + off, fc->params, fc->out_c * sizeof(fc->params[0]));
	memset(bos->out_map + off, 0xa5, fc->batch * fc->out_c);

	memset(job, 0, sizeof(*job));
	nhot_fc_layer(fc, &job->layer);
	job->input.handle = bos->in;
	job->input.offset = off;
	job->weights.handle = bos->w;
	job->weights.offset = off;
	job->params.handle = bos->params;
	job->params.offset = off;
	job->output.handle = bos->out;
	job->output.offset = off;
}

/* Whether the output slot holds fc's expected result. */
static inline bool nhot_fc_output_ok(const struct nhot_fc *fc, const struct nhot_fc_bos *bos,
				     unsigned int slot)
{
	return !memcmp(bos->out_map + (size_t)slot * NHOT_FC_SLOT, fc->expect,
		       fc->batch * fc->out_c);
}

/* A small FC: every slot fits (4 x 64 input, 16 rows of 64 codes). */
static inline void nhot_fc_small(struct nhot_fc *fc, int n, int b, uint32_t seed)
{
	memset(fc, 0, sizeof(*fc));
	fc->batch = 4;
	fc->k = 64;
	fc->out_c = 16;
	fc->n = n;
	fc->b = b;
	nhot_fc_fill(fc, seed);
}

#endif /* __SELFTEST_NHOT_UTIL_H */
