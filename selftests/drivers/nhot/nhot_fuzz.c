// SPDX-License-Identifier: GPL-2.0
/*
 * An ioctl fuzzer for nhot.ko: at least 100,000 random and mutated calls per
 * run on every /dev/nhotN of an engine kind (the "sim" and "pci" variants;
 * a kind with no device skips), in two tests of half the calls each.
 *
 * Calls: ioctl numbers of every kind (random ones, nhot's type with wrong
 * numbers, sizes and directions, the six real ones), argument structs with
 * random sizes, flags, pads, handles, offsets, lengths and pointers (NULL,
 * unmapped, kernel addresses), jobs whose layer descriptors are valid ones
 * (all six layer types) with 0..3 fields mutated, buffer references with
 * real and random handles and offsets, mmap with random offsets, lengths,
 * protections and flags (and partial munmap), WAIT with tiny or past
 * deadlines, JOB_STATUS (and RELEASE) of real and random ids, poll. Several
 * threads share the open files, and a closer thread keeps replacing them:
 * it opens a file, dup()s it, closes the original, swaps the dup into a
 * slot and closes the file that was there, while the others use it.
 *
 * Every call must succeed or fail with an errno docs/uapi.md documents for
 * it (EBADF too, for a file closed under a thread); the process must get no
 * signal (a fault in a mapping kills the test); afterwards the module's live
 * objects (debugfs nhot/objects) are back where they were and every device
 * still runs an FC job bit-exactly. vm/ksft-run.sh fails the test on any
 * kernel report in the log, and on the debug kernel on a kmemleak report.
 *
 * Reproducible: NHOT_FUZZ_SEED=N (default: from the clock; printed; the
 * second half runs with N + 1) fixes every thread's sequence of calls (the interleaving of threads is the
 * scheduler's). NHOT_FUZZ_CALLS (default 100000) and NHOT_FUZZ_THREADS
 * (default 3, plus the closer; 1 and no closer with NHOT_FUZZ_THREADS=1)
 * scale the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nhot_util.h"

#define FUZZ_DEF_CALLS		100000
#define FUZZ_DEF_THREADS	3
#define FUZZ_MAX_THREADS	16
#define FUZZ_SLOTS		4
#define FUZZ_MAX_DEVS		64
#define FUZZ_RING		16	/* buffers, ids, mappings each thread remembers */
#define FUZZ_BO_MAX		16384	/* keeps real jobs short under TCG */
#define FUZZ_ARG_BYTES		8192
#define FUZZ_JOBS		1100	/* more than max_jobs_per_submit */
#define PAGE			4096

/* --- documented errnos (docs/uapi.md), as bit masks ------------------------ */

/* errnos are below 128 */
typedef unsigned __int128 errset_t;
#define E(x)			((errset_t)1 << (x))
/*
 * every ioctl: section 1; EBADF: the file was closed under the thread (or,
 * for BO_CREATE, BO_DESTROY, SUBMIT, is not open for writing)
 */
#define ERR_COMMON		(E(EFAULT) | E(EINVAL) | E(E2BIG) | E(EBADF))
#define ERR_GET_INFO		ERR_COMMON
#define ERR_BO_CREATE		(ERR_COMMON | E(EFBIG) | E(EMFILE) | E(EDQUOT) | E(ENOMEM))
#define ERR_BO_DESTROY		(ERR_COMMON | E(ENOENT))
#define ERR_SUBMIT		(ERR_COMMON | E(EOPNOTSUPP) | E(EOVERFLOW) | E(ENOENT) | \
				 E(ERANGE) | E(EBUSY) | E(ENODEV) | E(EINTR))
#define ERR_WAIT		(ERR_COMMON | E(ENOENT) | E(ETIMEDOUT) | E(EINTR))
#define ERR_JOB_STATUS		(ERR_COMMON | E(ENOENT) | E(EINTR))
#define ERR_UNKNOWN_IOCTL	(E(ENOTTY) | E(EBADF))
/* mmap: EINVAL from nhot; ENOMEM, EOVERFLOW from the VM for absurd lengths and offsets */
#define ERR_MMAP		(E(EINVAL) | E(ENOMEM) | E(EOVERFLOW) | E(EBADF))

static const struct {
	unsigned long cmd;
	errset_t errs;
	size_t size;
	const char *name;
} nhot_ioctls[] = {
	{ NHOT_IOCTL_GET_INFO, ERR_GET_INFO, sizeof(struct nhot_info), "GET_INFO" },
	{ NHOT_IOCTL_BO_CREATE, ERR_BO_CREATE, sizeof(struct nhot_bo_create), "BO_CREATE" },
	{ NHOT_IOCTL_BO_DESTROY, ERR_BO_DESTROY, sizeof(struct nhot_bo_destroy), "BO_DESTROY" },
	{ NHOT_IOCTL_SUBMIT, ERR_SUBMIT, sizeof(struct nhot_submit), "SUBMIT" },
	{ NHOT_IOCTL_WAIT, ERR_WAIT, sizeof(struct nhot_wait), "WAIT" },
	{ NHOT_IOCTL_JOB_STATUS, ERR_JOB_STATUS, sizeof(struct nhot_job_status_args),
	  "JOB_STATUS" },
};

/*
 * What an ioctl number may fail with: a real one's errnos, else ENOTTY.
 * The module goes by type, number and direction: any encoded size is real.
 */
static errset_t ioctl_errs(unsigned long cmd)
{
	const unsigned long no_size = ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT);

	for (size_t i = 0; i < ARRAY_SIZE(nhot_ioctls); i++)
		if ((nhot_ioctls[i].cmd & no_size) == (cmd & no_size))
			return nhot_ioctls[i].errs;
	return ERR_UNKNOWN_IOCTL;
}

/*
 * Numbers the VFS answers itself before the driver sees them (fs/ioctl.c:
 * FIOCLEX, FIONBIO, FIGETBSZ, FIFREEZE, FICLONE, FS_IOC_FIEMAP, ...), by
 * their type byte: a random number of these types is drawn again.
 */
static bool vfs_ioctl_type(unsigned long cmd)
{
	switch (_IOC_TYPE(cmd)) {
	case 0x00: case 0x15: case 'T': case 'X': case 'f': case 0x94:
		return true;
	}
	return false;
}

/* --- the run --------------------------------------------------------------- */

enum fuzz_op {
	OP_RAW_IOCTL,
	OP_NHOT_NUMBER,
	OP_GET_INFO,
	OP_BO_CREATE,
	OP_BO_DESTROY,
	OP_MMAP,
	OP_MUNMAP,
	OP_SUBMIT,
	OP_WAIT,
	OP_JOB_STATUS,
	OP_POLL,
	OP_COUNT,
};

static const char * const op_names[OP_COUNT] = {
	"random ioctl", "nhot-type ioctl", "GET_INFO", "BO_CREATE", "BO_DESTROY", "mmap",
	"munmap", "SUBMIT", "WAIT", "JOB_STATUS", "poll",
};

/* Relative frequencies of the ops. */
static const unsigned int op_weight[OP_COUNT] = {
	[OP_RAW_IOCTL] = 4, [OP_NHOT_NUMBER] = 6, [OP_GET_INFO] = 4, [OP_BO_CREATE] = 10,
	[OP_BO_DESTROY] = 6, [OP_MMAP] = 8, [OP_MUNMAP] = 4, [OP_SUBMIT] = 24, [OP_WAIT] = 10,
	[OP_JOB_STATUS] = 10, [OP_POLL] = 2,
};

struct fuzz_run {
	int devs[FUZZ_MAX_DEVS];
	int ndevs;
	_Atomic int slot[FUZZ_SLOTS];
	uint64_t seed;
	long target;
	atomic_long calls;
	atomic_long ok[OP_COUNT], failed[OP_COUNT];
	atomic_long by_errno[OP_COUNT][128];
	atomic_long swaps;
	atomic_int stop;
	pthread_mutex_t lock;	/* protects the fields below */
	long violations;
	char first[512];
	uint8_t *noaccess;	/* a PROT_NONE page */
};

struct fuzz_bo {
	int fd;
	uint32_t handle;
	uint64_t offset, length;
};

struct fuzz_id {
	int fd;
	uint64_t id;
};

struct fuzz_map {
	uint8_t *addr;
	size_t len;
};

struct fuzz_thread {
	struct fuzz_run *run;
	int index;
	pthread_t tid;
	uint64_t rng;
	struct fuzz_bo bos[FUZZ_RING];
	unsigned int nbos;
	struct fuzz_id ids[FUZZ_RING];
	unsigned int nids;
	struct fuzz_map maps[FUZZ_RING];
	unsigned int nmaps;
	uint8_t arg[FUZZ_ARG_BYTES];
	struct nhot_job *jobs;
	uint64_t idbuf[64];
	struct nhot_job_result res[8];
};

static uint64_t rnd(struct fuzz_thread *t)
{
	/* xorshift64* */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 2685821657736338717ULL;
}

static uint64_t below(struct fuzz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static bool one_in(struct fuzz_thread *t, unsigned int n)
{
	return below(t, n) == 0;
}

/* Values that sit on edges, for sizes, lengths, offsets and fields. */
static uint64_t edgy(struct fuzz_thread *t)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256,
		4095, 4096, 4097, 8192, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ULL, 0x7fffffffffffffffULL, 0xffffffffffffffffULL,
	};

	switch (below(t, 4)) {
	case 0:
		return edges[below(t, ARRAY_SIZE(edges))];
	case 1:
		return edges[below(t, ARRAY_SIZE(edges))] + below(t, 3) - 1;
	case 2:
		return below(t, 64);
	default:
		return rnd(t);
	}
}

/* A user pointer: mostly the thread's scratch, else a bad one. */
static uint64_t some_ptr(struct fuzz_thread *t, void *good)
{
	switch (below(t, 24)) {
	case 0:
		return 0;
	case 1:
		return (uintptr_t)t->run->noaccess;
	case 2:
		return 0xffffffff81000000ULL;	/* kernel text */
	case 3:
		return 1 + below(t, 4095);	/* the zero page, misaligned */
	default:
		return (uintptr_t)good;
	}
}

/* The size field: mostly right, else short, zero, long with a zero or non-zero tail. */
static uint32_t some_size(struct fuzz_thread *t, size_t real, uint8_t *arg)
{
	size_t sz;

	switch (below(t, 16)) {
	case 0:
		return below(t, real);
	case 1:
		sz = real + 1 + below(t, 256);
		memset(arg + real, 0, sz - real);
		return sz;
	case 2:
		sz = real + 1 + below(t, 256);
		memset(arg + real, 0, sz - real);
		arg[real + below(t, sz - real)] = 1 + below(t, 255);
		return sz;
	case 3:
		return edgy(t);
	default:
		return real;
	}
}

static void record(struct fuzz_thread *t, enum fuzz_op op, long ret, int err,
		   errset_t allowed, unsigned long cmd, long call)
{
	struct fuzz_run *run = t->run;

	if (ret >= 0) {
		atomic_fetch_add(&run->ok[op], 1);
		return;
	}
	atomic_fetch_add(&run->failed[op], 1);
	if (err > 0 && err < 128)
		atomic_fetch_add(&run->by_errno[op][err], 1);
	if (err >= 0 && err < 128 && (allowed & E(err)))
		return;
	pthread_mutex_lock(&run->lock);
	if (!run->violations++)
		snprintf(run->first, sizeof(run->first),
			 "thread %d call %ld: %s (cmd %#lx) failed with %s (%d), not a documented errno",
			 t->index, call, op_names[op], cmd, strerror(err), err);
	pthread_mutex_unlock(&run->lock);
}

static int pick_fd(struct fuzz_thread *t)
{
	return atomic_load(&t->run->slot[below(t, FUZZ_SLOTS)]);
}

/* --- valid layers, and mutations of them ----------------------------------- */

static void layer_template(struct fuzz_thread *t, struct nhot_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->type = 1 + below(t, NHOT_LAYER_TYPE_MAX);
	l->batch = 1 + below(t, 2);
	l->in_zero = below(t, 256);
	l->act_min = below(t, 16);
	l->act_max = 255 - below(t, 16);
	switch (l->type) {
	case NHOT_LAYER_CONV2D:
		l->in_h = 3 + below(t, 4);
		l->in_w = 3 + below(t, 4);
		l->groups = 1 + below(t, 2);
		l->in_c = 2 * l->groups;
		l->out_c = 2 * l->groups;
		l->kernel_h = 1 + below(t, 3);
		l->kernel_w = 1 + below(t, 3);
		l->stride_h = 1 + below(t, 2);
		l->stride_w = 1 + below(t, 2);
		l->dilation_h = 1;
		l->dilation_w = 1;
		l->pad_top = below(t, 2);
		l->pad_bottom = below(t, 2);
		l->pad_left = below(t, 2);
		l->pad_right = below(t, 2);
		l->w_n = 1 + below(t, NHOT_MAX_N);
		l->w_b = NHOT_MIN_B + below(t, NHOT_MAX_B - NHOT_MIN_B + 1);
		l->out_zero = below(t, 256);
		break;
	case NHOT_LAYER_FC:
		l->in_h = 1;
		l->in_w = 1;
		l->in_c = 1 + below(t, 64);
		l->out_c = 1 + below(t, 16);
		l->w_n = 1 + below(t, NHOT_MAX_N);
		l->w_b = NHOT_MIN_B + below(t, NHOT_MAX_B - NHOT_MIN_B + 1);
		l->out_zero = below(t, 256);
		break;
	case NHOT_LAYER_ADD:
		l->in_h = 1 + below(t, 8);
		l->in_w = 1 + below(t, 8);
		l->in_c = 1 + below(t, 8);
		l->in2_zero = below(t, 256);
		l->out_zero = below(t, 256);
		l->add_mult_a = below(t, 1U << 31);
		l->add_mult_b = below(t, 1U << 31);
		l->add_shift = 1 + below(t, NHOT_MAX_SHIFT);
		break;
	case NHOT_LAYER_GLOBAL_AVGPOOL:
		l->in_h = 1 + below(t, 8);
		l->in_w = 1 + below(t, 8);
		l->in_c = 1 + below(t, 8);
		break;
	default:	/* AVGPOOL, MAXPOOL */
		l->in_h = 2 + below(t, 8);
		l->in_w = 2 + below(t, 8);
		l->in_c = 1 + below(t, 8);
		l->kernel_h = 1 + below(t, 2);
		l->kernel_w = 1 + below(t, 2);
		l->stride_h = 1 + below(t, 2);
		l->stride_w = 1 + below(t, 2);
		l->pad_top = below(t, l->kernel_h);
		l->pad_left = below(t, l->kernel_w);
		break;
	}
}

static void mutate_layer(struct fuzz_thread *t, struct nhot_layer *l)
{
	uint32_t *f = (uint32_t *)l;
	unsigned int fields = sizeof(*l) / sizeof(uint32_t);
	unsigned int n = below(t, 4);

	for (unsigned int i = 0; i < n; i++) {
		uint32_t *p = &f[below(t, fields)];

		switch (below(t, 3)) {
		case 0:
			*p = edgy(t);
			break;
		case 1:
			*p += below(t, 5) - 2;
			break;
		default:
			*p = rnd(t);
			break;
		}
	}
}

/* A bufref: mostly a buffer of this file at offset 0, else anything. */
static void some_bufref(struct fuzz_thread *t, int fd, struct nhot_bufref *r)
{
	unsigned int i, start = below(t, FUZZ_RING);

	memset(r, 0, sizeof(*r));
	if (!one_in(t, 5)) {
		for (i = 0; i < t->nbos; i++) {
			struct fuzz_bo *bo = &t->bos[(start + i) % t->nbos];

			if (bo->fd == fd) {
				r->handle = bo->handle;
				break;
			}
		}
	} else {
		r->handle = one_in(t, 2) ? 0 : edgy(t);
	}
	if (one_in(t, 6))
		r->offset = one_in(t, 2) ? below(t, FUZZ_BO_MAX) : edgy(t);
	if (one_in(t, 40))
		r->pad = 1 + below(t, 7);
}

/* --- the ops --------------------------------------------------------------- */

static long do_raw_ioctl(struct fuzz_thread *t, int fd, unsigned long *cmd)
{
	do {
		*cmd = (uint32_t)rnd(t);
	} while (vfs_ioctl_type(*cmd));
	for (size_t i = 0; i < 64; i++)
		t->arg[i] = rnd(t);
	return ioctl(fd, *cmd, (void *)(uintptr_t)some_ptr(t, t->arg));
}

static long do_nhot_number(struct fuzz_thread *t, int fd, unsigned long *cmd)
{
	unsigned int nr = below(t, 3) ? below(t, ARRAY_SIZE(nhot_ioctls)) : below(t, 256);
	unsigned int dir = below(t, 4);
	unsigned int size = below(t, 2) ? nhot_ioctls[below(t, ARRAY_SIZE(nhot_ioctls))].size :
			    below(t, 1 << 14);

	*cmd = _IOC(dir, NHOT_IOCTL_TYPE, nr, size);
	memset(t->arg, 0, 256);
	*(uint32_t *)t->arg = one_in(t, 2) ? size : edgy(t);
	return ioctl(fd, *cmd, (void *)(uintptr_t)some_ptr(t, t->arg));
}

static long do_get_info(struct fuzz_thread *t, int fd)
{
	struct nhot_info *a = (void *)t->arg;

	memset(t->arg, 0, sizeof(*a));
	a->size = some_size(t, sizeof(*a), t->arg);
	a->flags = one_in(t, 8) ? edgy(t) : 0;
	return ioctl(fd, NHOT_IOCTL_GET_INFO, (void *)(uintptr_t)some_ptr(t, a));
}

static void forget_bo(struct fuzz_thread *t, unsigned int i)
{
	t->bos[i] = t->bos[--t->nbos];
}

static long do_bo_create(struct fuzz_thread *t, int fd)
{
	struct nhot_bo_create *a = (void *)t->arg;
	long ret;

	memset(t->arg, 0, sizeof(*a));
	a->size = some_size(t, sizeof(*a), t->arg);
	a->length = one_in(t, 8) ? edgy(t) : one_in(t, 2) ? FUZZ_BO_MAX : 1 + below(t, FUZZ_BO_MAX);
	if (one_in(t, 20))
		a->flags = edgy(t);
	if (one_in(t, 20))
		a->pad = edgy(t);
	/* a huge size reads past the struct: the kernel checks that tail */
	ret = ioctl(fd, NHOT_IOCTL_BO_CREATE, (void *)(uintptr_t)some_ptr(t, a));
	if (ret == 0 && a->size >= offsetofend(struct nhot_bo_create, mmap_offset) &&
	    a->length <= FUZZ_BO_MAX) {
		if (t->nbos == FUZZ_RING) {
			/* destroy one: a file's memory stays bounded */
			unsigned int i = below(t, t->nbos);
			struct nhot_bo_destroy d = { .size = sizeof(d), .handle = t->bos[i].handle };

			ioctl(t->bos[i].fd, NHOT_IOCTL_BO_DESTROY, &d);
			forget_bo(t, i);
		}
		t->bos[t->nbos++] = (struct fuzz_bo){ fd, a->handle, a->mmap_offset, a->length };
	}
	return ret;
}

static long do_bo_destroy(struct fuzz_thread *t, int fd)
{
	struct nhot_bo_destroy *a = (void *)t->arg;

	memset(t->arg, 0, sizeof(*a));
	a->size = some_size(t, sizeof(*a), t->arg);
	if (t->nbos && !one_in(t, 4)) {
		unsigned int i = below(t, t->nbos);

		fd = t->bos[i].fd;
		a->handle = t->bos[i].handle;
		forget_bo(t, i);
	} else {
		a->handle = edgy(t);
	}
	if (one_in(t, 20))
		a->flags = edgy(t);
	if (one_in(t, 20))
		a->pad = edgy(t);
	return ioctl(fd, NHOT_IOCTL_BO_DESTROY, (void *)(uintptr_t)some_ptr(t, a));
}

static void unmap_one(struct fuzz_thread *t, unsigned int i)
{
	munmap(t->maps[i].addr, t->maps[i].len);
	t->maps[i] = t->maps[--t->nmaps];
}

static long do_mmap(struct fuzz_thread *t, int fd)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_WRITE, PROT_NONE };
	uint64_t off, len;
	int prot = prots[below(t, 3) ? 0 : below(t, ARRAY_SIZE(prots))];
	int flags = one_in(t, 8) ? MAP_PRIVATE : MAP_SHARED;
	uint8_t *p;

	if (t->nbos && !one_in(t, 4)) {
		struct fuzz_bo *bo = &t->bos[below(t, t->nbos)];

		fd = bo->fd;
		off = bo->offset;
		len = one_in(t, 4) ? edgy(t) : 1 + below(t, (bo->length + PAGE - 1) / PAGE * PAGE);
		if (one_in(t, 8))
			off += PAGE * below(t, 3);
	} else {
		off = one_in(t, 2) ? PAGE * below(t, 64) : edgy(t);
		len = one_in(t, 2) ? 1 + below(t, 4 * PAGE) : edgy(t);
	}
	p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return -1;
	/* touch both ends: a mapping the kernel granted must be backed */
	if (prot & PROT_WRITE) {
		p[0] = rnd(t);
		p[len - 1] = rnd(t);
	}
	if (prot & PROT_READ)
		(void)*(volatile uint8_t *)&p[len / 2];
	if (t->nmaps == FUZZ_RING)
		unmap_one(t, below(t, t->nmaps));
	t->maps[t->nmaps++] = (struct fuzz_map){ p, len };
	return 0;
}

/* munmap of a whole mapping or of its first or last page (splits the VMA). */
static long do_munmap(struct fuzz_thread *t)
{
	unsigned int i;
	struct fuzz_map *m;
	size_t pages;

	if (!t->nmaps)
		return 0;
	i = below(t, t->nmaps);
	m = &t->maps[i];
	pages = (m->len + PAGE - 1) / PAGE;
	if (pages < 2 || one_in(t, 2)) {
		unmap_one(t, i);
		return 0;
	}
	if (one_in(t, 2)) {
		munmap(m->addr, PAGE);
		m->addr += PAGE;
	} else {
		munmap(m->addr + (pages - 1) * PAGE, PAGE);
	}
	m->len = (pages - 1) * PAGE;
	return 0;
}

static void remember_id(struct fuzz_thread *t, int fd, uint64_t id)
{
	unsigned int i = t->nids < FUZZ_RING ? t->nids++ : below(t, FUZZ_RING);

	t->ids[i] = (struct fuzz_id){ fd, id };
}

static long do_submit(struct fuzz_thread *t, int fd)
{
	struct nhot_submit *a = (void *)t->arg;
	unsigned int count = one_in(t, 30) ? edgy(t) : 1 + below(t, 3);
	unsigned int make = count < 8 ? count : 8;
	size_t jsz = sizeof(struct nhot_job);
	uint8_t *jobs = (uint8_t *)t->jobs;
	long ret;

	/* mostly a file this thread made buffers on */
	if (t->nbos && !one_in(t, 4))
		fd = t->bos[below(t, t->nbos)].fd;
	memset(t->arg, 0, sizeof(*a));
	a->size = some_size(t, sizeof(*a), t->arg);
	a->job_count = count;
	a->job_size = jsz;
	if (one_in(t, 15)) {
		/* another stride: short, or long with a zero or non-zero tail */
		a->job_size = one_in(t, 2) ? below(t, jsz) : jsz + 8 * (1 + below(t, 4));
	}
	if (a->job_size > 2 * jsz)
		make = 0;
	memset(jobs, 0, (size_t)make * (a->job_size > jsz ? a->job_size : jsz));
	for (unsigned int i = 0; i < make; i++) {
		struct nhot_job *j = (struct nhot_job *)(jobs + (size_t)i * a->job_size);

		if (a->job_size < sizeof(struct nhot_layer) + 8)
			break;
		layer_template(t, &j->layer);
		if (one_in(t, 2))
			mutate_layer(t, &j->layer);
		some_bufref(t, fd, &j->input);
		if (j->layer.type == NHOT_LAYER_ADD || one_in(t, 20))
			some_bufref(t, fd, &j->input2);
		if (j->layer.type <= NHOT_LAYER_FC || one_in(t, 20)) {
			some_bufref(t, fd, &j->weights);
			some_bufref(t, fd, &j->params);
		}
		if (a->job_size >= jsz) {
			some_bufref(t, fd, &j->output);
			if (a->job_size > jsz && one_in(t, 3))
				((uint8_t *)j)[jsz + below(t, a->job_size - jsz)] = 1;
		}
		if (one_in(t, 30))
			j->flags = edgy(t);
		if (one_in(t, 30))
			j->pad = edgy(t);
	}
	if (one_in(t, 30))
		a->flags = edgy(t);
	a->jobs_ptr = one_in(t, 4) ? some_ptr(t, jobs) : (uintptr_t)jobs;
	ret = ioctl(fd, NHOT_IOCTL_SUBMIT, (void *)(uintptr_t)some_ptr(t, a));
	if (ret == 0 && a->size >= offsetofend(struct nhot_submit, first_id))
		for (unsigned int i = 0; i < count && i < 4; i++)
			remember_id(t, fd, a->first_id + i);
	return ret;
}

/* Ids: mostly ones this thread got for this file, else anything. */
static unsigned int some_ids(struct fuzz_thread *t, int *fd, unsigned int max)
{
	unsigned int n = 1 + below(t, max);

	if (t->nids && !one_in(t, 5))
		*fd = t->ids[below(t, t->nids)].fd;
	for (unsigned int i = 0; i < n; i++) {
		if (t->nids && !one_in(t, 5))
			t->idbuf[i] = t->ids[below(t, t->nids)].id;
		else
			t->idbuf[i] = edgy(t);
	}
	return n;
}

static long do_wait(struct fuzz_thread *t, int fd)
{
	struct nhot_wait *a = (void *)t->arg;
	unsigned int n = some_ids(t, &fd, 4);

	memset(t->arg, 0, sizeof(*a));
	a->size = some_size(t, sizeof(*a), t->arg);
	a->id_count = one_in(t, 20) ? edgy(t) : n;
	a->flags = one_in(t, 2) ? NHOT_WAIT_ANY : 0;
	if (one_in(t, 20))
		a->flags = edgy(t);
	if (one_in(t, 20))
		a->pad = edgy(t);
	a->ids_ptr = some_ptr(t, t->idbuf);
	/* never long: 0, the past, or up to 200 us from now */
	switch (below(t, 4)) {
	case 0:
		a->timeout_ns = 0;
		break;
	case 1:
		a->timeout_ns = -(int64_t)below(t, 1000000);
		break;
	default:
		a->timeout_ns = nhot_now_ns() + below(t, 200000);
		break;
	}
	return ioctl(fd, NHOT_IOCTL_WAIT, (void *)(uintptr_t)some_ptr(t, a));
}

static long do_job_status(struct fuzz_thread *t, int fd)
{
	struct nhot_job_status_args *a = (void *)t->arg;
	unsigned int n = some_ids(t, &fd, ARRAY_SIZE(t->res));
	size_t rsz = sizeof(struct nhot_job_result);

	memset(t->arg, 0, sizeof(*a));
	memset(t->res, 0, sizeof(t->res));
	for (unsigned int i = 0; i < n; i++)
		t->res[i].id = t->idbuf[i];
	a->size = some_size(t, sizeof(*a), t->arg);
	a->count = one_in(t, 20) ? edgy(t) : n;
	a->result_size = rsz;
	if (one_in(t, 15)) {
		a->result_size = below(t, rsz + 16);
		if (a->result_size > rsz)
			a->count = 1;
	}
	a->flags = one_in(t, 2) ? NHOT_STATUS_RELEASE : 0;
	if (one_in(t, 20))
		a->flags = edgy(t);
	a->results_ptr = some_ptr(t, t->res);
	return ioctl(fd, NHOT_IOCTL_JOB_STATUS, (void *)(uintptr_t)some_ptr(t, a));
}

static long do_poll(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0);
}

static enum fuzz_op pick_op(struct fuzz_thread *t)
{
	unsigned int total = 0, r;
	int op;

	for (op = 0; op < OP_COUNT; op++)
		total += op_weight[op];
	r = below(t, total);
	for (op = 0; r >= op_weight[op]; op++)
		r -= op_weight[op];
	return op;
}

static void *fuzz_worker(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz_run *run = t->run;
	long call;

	while ((call = atomic_fetch_add(&run->calls, 1)) < run->target) {
		enum fuzz_op op = pick_op(t);
		int fd = pick_fd(t);
		unsigned long cmd = 0;
		errset_t allowed;
		long ret;

		errno = 0;
		switch (op) {
		case OP_RAW_IOCTL:
			ret = do_raw_ioctl(t, fd, &cmd);
			allowed = ioctl_errs(cmd);
			break;
		case OP_NHOT_NUMBER:
			ret = do_nhot_number(t, fd, &cmd);
			allowed = ioctl_errs(cmd);
			break;
		case OP_GET_INFO:
			ret = do_get_info(t, fd);
			allowed = ERR_GET_INFO;
			break;
		case OP_BO_CREATE:
			ret = do_bo_create(t, fd);
			allowed = ERR_BO_CREATE;
			break;
		case OP_BO_DESTROY:
			ret = do_bo_destroy(t, fd);
			allowed = ERR_BO_DESTROY;
			break;
		case OP_MMAP:
			ret = do_mmap(t, fd);
			allowed = ERR_MMAP;
			break;
		case OP_MUNMAP:
			ret = do_munmap(t);
			allowed = 0;
			break;
		case OP_SUBMIT:
			ret = do_submit(t, fd);
			allowed = ERR_SUBMIT;
			break;
		case OP_WAIT:
			ret = do_wait(t, fd);
			allowed = ERR_WAIT;
			break;
		case OP_JOB_STATUS:
			ret = do_job_status(t, fd);
			allowed = ERR_JOB_STATUS;
			break;
		default:
			ret = do_poll(fd);
			allowed = 0;
			break;
		}
		record(t, op, ret, errno, allowed, cmd, call);
	}
	while (t->nmaps)
		unmap_one(t, 0);
	return NULL;
}

/* Opens a file of the slot's device as a dup of a fresh one; -1 on error. */
static int open_dup(struct fuzz_run *run, int slot)
{
	int fd = nhot_open_dev(run->devs[slot % run->ndevs]), dup_fd;

	if (fd < 0)
		return -1;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	close(fd);
	return dup_fd;
}

/* Keeps replacing the files under the workers: a close while they use it. */
static void *fuzz_closer(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz_run *run = t->run;
	struct timespec pause = { 0, 500000 };

	while (!atomic_load(&run->stop)) {
		int slot = below(t, FUZZ_SLOTS);
		int fd = open_dup(run, slot);

		if (fd >= 0)
			close(atomic_exchange(&run->slot[slot], fd));
		atomic_fetch_add(&run->swaps, 1);
		pause.tv_nsec = 1000000 + below(t, 4000000);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* --- the test -------------------------------------------------------------- */

FIXTURE(fuzz) {
	struct fuzz_run run;
	long base[4];
};

FIXTURE_VARIANT(fuzz) {
	uint32_t engine_kind;
};

FIXTURE_VARIANT_ADD(fuzz, sim) {
	.engine_kind = NHOT_ENGINE_SIM,
};

FIXTURE_VARIANT_ADD(fuzz, pci) {
	.engine_kind = NHOT_ENGINE_PCI,
};

/* files, buffers, jobs, mappings of debugfs nhot/objects; false without it */
static bool read_objects(long v[4])
{
	static const char * const names[4] = { "files", "buffers", "jobs", "mappings" };
	char buf[256], name[32];
	FILE *f = fopen("/sys/kernel/debug/nhot/objects", "re");
	long val;

	if (!f)
		return false;
	memset(v, 0, 4 * sizeof(*v));
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "%31s %ld", name, &val) == 2)
			for (int i = 0; i < 4; i++)
				if (!strcmp(name, names[i]))
					v[i] = val;
	fclose(f);
	return true;
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : def;
}

FIXTURE_SETUP(fuzz)
{
	struct fuzz_run *run = &self->run;

	memset(run, 0, sizeof(*run));
	if (!nhot_module_loaded())
		SKIP(return, "nhot module not loaded");
	for (int dev = 0; dev < FUZZ_MAX_DEVS; dev++) {
		struct nhot_info info;
		int fd = nhot_open_dev(dev);

		if (fd < 0)
			continue;
		if (!_test_cmd_get_info(fd, &info) && info.engine_kind == variant->engine_kind)
			run->devs[run->ndevs++] = dev;
		close(fd);
	}
	if (!run->ndevs)
		SKIP(return, "no %s engine", variant->engine_kind == NHOT_ENGINE_PCI ?
		     "PCI" : "simulated");
	ASSERT_TRUE(read_objects(self->base))
		TH_LOG("no /sys/kernel/debug/nhot/objects (debugfs not mounted?)");
	pthread_mutex_init(&run->lock, NULL);
	run->noaccess = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, run->noaccess);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* Every device still runs a job bit-exactly. */
static void devices_still_work(struct __test_metadata *_metadata, struct fuzz_run *run)
{
	for (int i = 0; i < run->ndevs; i++) {
		struct nhot_fc_bos bos;
		struct nhot_job job;
		struct nhot_fc fc;
		uint64_t id;
		int fd = nhot_open_dev(run->devs[i]);

		ASSERT_LE(0, fd);
		nhot_fc_small(&fc, 2, 5, run->seed + i);
		ASSERT_EQ(0, nhot_fc_bos_create(fd, &bos));
		nhot_fc_job(&fc, &bos, 0, &job);
		test_cmd_submit(fd, &job, 1, &id);
		test_cmd_wait(fd, &id, 1);
		ASSERT_TRUE(nhot_fc_output_ok(&fc, &bos, 0))
			TH_LOG("/dev/nhot%d computes wrong after the fuzzing", run->devs[i]);
		munmap(bos.in_map, NHOT_FC_BO_BYTES);
		munmap(bos.w_map, NHOT_FC_BO_BYTES);
		munmap(bos.params_map, NHOT_FC_BO_BYTES);
		munmap(bos.out_map, NHOT_FC_BO_BYTES);
		close(fd);
	}
}

/*
 * One half of the run: the program's calls are split in two tests, so that
 * each stays well inside vm/ksft-run.sh's 120 s per test on the debug
 * kernel (KASAN and lockdep under TCG: about 115 s for all 100,000).
 */
static void fuzz_half(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self, int half)
{
	struct fuzz_run *run = &self->run;
	struct fuzz_thread *threads;
	struct fuzz_thread closer = { .run = run, .index = -1 };
	long threads_n = env_long("NHOT_FUZZ_THREADS", FUZZ_DEF_THREADS);
	long after[4], ok = 0;
	int64_t t0 = nhot_now_ns();

	run->target = (env_long("NHOT_FUZZ_CALLS", FUZZ_DEF_CALLS) + 1 - half) / 2;
	run->seed = env_long("NHOT_FUZZ_SEED", 0);
	if (!run->seed)
		run->seed = (uint64_t)t0 ^ ((uint64_t)getpid() << 32);
	run->seed += half;
	ASSERT_LE(1, threads_n);
	ASSERT_GE(FUZZ_MAX_THREADS, threads_n);
	printf("# seed %llu (NHOT_FUZZ_SEED=%llu reproduces it), %ld calls, %ld threads%s, devices:",
	       (unsigned long long)run->seed, (unsigned long long)(run->seed - half), run->target,
	       threads_n, threads_n > 1 ? " and a closer" : "");
	for (int i = 0; i < run->ndevs; i++)
		printf(" nhot%d", run->devs[i]);
	printf("\n");
	fflush(stdout);

	for (int s = 0; s < FUZZ_SLOTS; s++) {
		int fd = open_dup(run, s);

		ASSERT_LE(0, fd);
		atomic_store(&run->slot[s], fd);
	}
	threads = calloc(threads_n, sizeof(*threads));
	ASSERT_NE(NULL, threads);
	for (long i = 0; i < threads_n; i++) {
		threads[i].run = run;
		threads[i].index = i;
		threads[i].rng = run->seed * 0x9e3779b97f4a7c15ULL + i + 1;
		threads[i].jobs = calloc(FUZZ_JOBS, 2 * sizeof(struct nhot_job));
		ASSERT_NE(NULL, threads[i].jobs);
	}
	closer.rng = run->seed ^ 0xc105e4c105e4ULL;
	if (threads_n > 1)
		ASSERT_EQ(0, pthread_create(&closer.tid, NULL, fuzz_closer, &closer));
	for (long i = 1; i < threads_n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i].tid, NULL, fuzz_worker, &threads[i]));
	fuzz_worker(&threads[0]);
	for (long i = 1; i < threads_n; i++)
		pthread_join(threads[i].tid, NULL);
	atomic_store(&run->stop, 1);
	if (threads_n > 1)
		pthread_join(closer.tid, NULL);
	for (int s = 0; s < FUZZ_SLOTS; s++)
		close(atomic_load(&run->slot[s]));

	for (int op = 0; op < OP_COUNT; op++) {
		long o = atomic_load(&run->ok[op]), f = atomic_load(&run->failed[op]);

		printf("# %-16s %7ld calls, %7ld succeeded", op_names[op], o + f, o);
		for (int e = 1; e < 128; e++) {
			long n = atomic_load(&run->by_errno[op][e]);

			if (n)
				printf(", %s %ld", strerrorname_np(e), n);
		}
		printf("\n");
		ok += o;
	}
	printf("# %ld calls (%ld succeeded), %ld file swaps under the workers, %.1f s\n",
	       run->target, ok, atomic_load(&run->swaps), (nhot_now_ns() - t0) / 1e9);
	fflush(stdout);
	for (long i = 0; i < threads_n; i++)
		free(threads[i].jobs);
	free(threads);

	EXPECT_EQ(0, run->violations) TH_LOG("%ld undocumented errnos; first: %s",
					     run->violations, run->first);
	ASSERT_TRUE(read_objects(after));
	EXPECT_EQ(self->base[0], after[0]) TH_LOG("files leaked");
	EXPECT_EQ(self->base[1], after[1]) TH_LOG("buffers leaked");
	EXPECT_EQ(self->base[2], after[2]) TH_LOG("jobs leaked");
	EXPECT_EQ(self->base[3], after[3]) TH_LOG("mappings leaked");
	devices_still_work(_metadata, run);
}

TEST_F_TIMEOUT(fuzz, calls_first_half, 600)
{
	fuzz_half(_metadata, self, 0);
}

TEST_F_TIMEOUT(fuzz, calls_second_half, 600)
{
	fuzz_half(_metadata, self, 1);
}

TEST_HARNESS_MAIN
