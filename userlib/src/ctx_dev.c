// SPDX-License-Identifier: MIT
/*
 * The /dev/nhotN backend of a context: buffers are the driver's buffer
 * objects mapped MAP_SHARED, jobs go through NHOT_IOCTL_SUBMIT, and waiting
 * is NHOT_IOCTL_WAIT then NHOT_IOCTL_JOB_STATUS with NHOT_STATUS_RELEASE.
 * The kernel validates every job (docs/uapi.md); this file only translates
 * and splits batches to the limits GET_INFO reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"

/*
 * The &nhot_info.caps bits this backend needs: none yet, it speaks ABI
 * version 1 as first shipped.  A feature it comes to rely on adds its bit.
 */
#define DEV_CAPS_NEEDED	0ULL

/* Set once by nhot_ctx_dev_init(), read-only after: no lock needed. */
struct dev_state {
	int fd;
	struct nhot_info info;
};

static int dev_ioctl(const struct dev_state *st, unsigned long cmd, void *arg)
{
	return ioctl(st->fd, cmd, arg) ? -errno : 0;
}

static int dev_buf_alloc(struct nhot_ctx *ctx, struct nhot_buf *buf, size_t length)
{
	struct dev_state *st = ctx->priv;
	struct nhot_bo_create create = {
		.size = sizeof(create),
		.length = length,
	};
	struct nhot_bo_destroy destroy = { .size = sizeof(destroy) };
	void *data;
	int ret;

	ret = dev_ioctl(st, NHOT_IOCTL_BO_CREATE, &create);
	if (ret)
		return ret;
	data = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, st->fd,
		    (off_t)create.mmap_offset);
	if (data == MAP_FAILED) {
		ret = -errno;
		destroy.handle = create.handle;
		dev_ioctl(st, NHOT_IOCTL_BO_DESTROY, &destroy);
		return ret;
	}
	buf->data = data;
	buf->handle = create.handle;
	return 0;
}

static void dev_buf_free(struct nhot_ctx *ctx, struct nhot_buf *buf)
{
	struct dev_state *st = ctx->priv;
	struct nhot_bo_destroy destroy = {
		.size = sizeof(destroy),
		.handle = buf->handle,
	};

	munmap(buf->data, buf->length);
	/* A job still using the buffer keeps it alive in the kernel. */
	dev_ioctl(st, NHOT_IOCTL_BO_DESTROY, &destroy);
}

static void dev_ref(const struct nhot_ref *ref, struct nhot_bufref *out)
{
	out->handle = ref->buf ? ref->buf->handle : 0;
	out->pad = 0;
	out->offset = ref->offset;
}

static void dev_job(const struct nhot_job_desc *desc, struct nhot_job *job)
{
	memset(job, 0, sizeof(*job));
	job->layer = desc->layer;
	dev_ref(&desc->input, &job->input);
	dev_ref(&desc->input2, &job->input2);
	dev_ref(&desc->weights, &job->weights);
	dev_ref(&desc->params, &job->params);
	dev_ref(&desc->output, &job->output);
}

/* The absolute CLOCK_MONOTONIC deadline NHOT_IOCTL_WAIT takes. */
static int64_t dev_deadline(int64_t timeout_ns)
{
	struct timespec now;
	int64_t now_ns;

	if (timeout_ns < 0)
		return INT64_MAX;
	if (timeout_ns == 0)
		return 0;	/* poll once */
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	return timeout_ns > INT64_MAX - now_ns ? INT64_MAX : now_ns + timeout_ns;
}

/*
 * Every wait below names at most max_jobs ids: WAIT and JOB_STATUS take them
 * in one call each, so an error leaves nothing released.
 */
static int dev_wait_ids(const struct dev_state *st, const uint64_t *ids,
			unsigned int count, int64_t deadline)
{
	struct nhot_wait wait = {
		.size = sizeof(wait),
		.ids_ptr = (uintptr_t)ids,
		.id_count = count,
		.timeout_ns = deadline,
	};

	return dev_ioctl(st, NHOT_IOCTL_WAIT, &wait);
}

/* Reads and releases finished jobs. */
static int dev_release(const struct dev_state *st, const uint64_t *ids,
		       unsigned int count, struct nhot_result *results)
{
	struct nhot_job_result *kres;
	struct nhot_job_status_args args = {
		.size = sizeof(args),
		.flags = NHOT_STATUS_RELEASE,
		.count = count,
		.result_size = sizeof(*kres),
	};
	int ret;

	kres = calloc(count, sizeof(*kres));
	if (!kres)
		return -ENOMEM;
	for (unsigned int i = 0; i < count; i++)
		kres[i].id = ids[i];
	args.results_ptr = (uintptr_t)kres;
	ret = dev_ioctl(st, NHOT_IOCTL_JOB_STATUS, &args);
	for (unsigned int i = 0; !ret && results && i < count; i++) {
		results[i].status = kres[i].status;
		results[i].error = kres[i].error;
		results[i].macs = kres[i].macs;
		results[i].shift_adds = kres[i].shift_adds;
		results[i].cycles = kres[i].cycles;
	}
	free(kres);
	return ret;
}

static int dev_wait_release(const struct dev_state *st, const uint64_t *ids,
			    unsigned int count, int64_t deadline, struct nhot_result *results)
{
	int ret;

	/* Waits before releasing: on -ETIMEDOUT or -EINTR the caller may wait again. */
	ret = dev_wait_ids(st, ids, count, deadline);
	if (ret)
		return ret;
	return dev_release(st, ids, count, results);
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * More ids than the file may hold can only be a list with repeats (or
 * unknown ids): wait for each distinct id once, then give every position
 * its result.
 */
static int dev_wait_distinct(const struct dev_state *st, const uint64_t *ids,
			     unsigned int count, int64_t deadline, struct nhot_result *results)
{
	struct nhot_result *distinct_res = NULL;
	unsigned int n = 0;
	uint64_t *distinct;
	int ret;

	distinct = malloc(count * sizeof(*distinct));
	if (!distinct)
		return -ENOMEM;
	memcpy(distinct, ids, count * sizeof(*distinct));
	qsort(distinct, count, sizeof(*distinct), cmp_id);
	for (unsigned int i = 0; i < count; i++)
		if (i == 0 || distinct[i] != distinct[n - 1])
			distinct[n++] = distinct[i];
	if (n > st->info.max_jobs) {
		ret = -ENOENT;	/* the file cannot hold them all */
		goto out_free;
	}
	distinct_res = calloc(n, sizeof(*distinct_res));
	if (!distinct_res) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = dev_wait_release(st, distinct, n, deadline, distinct_res);
	for (unsigned int i = 0; !ret && results && i < count; i++) {
		const uint64_t *at = bsearch(&ids[i], distinct, n, sizeof(*distinct), cmp_id);

		results[i] = distinct_res[at - distinct];
	}
out_free:
	free(distinct_res);
	free(distinct);
	return ret;
}

static int dev_wait(struct nhot_ctx *ctx, const uint64_t *ids, unsigned int count,
		    int64_t timeout_ns, struct nhot_result *results)
{
	const struct dev_state *st = ctx->priv;
	int64_t deadline = dev_deadline(timeout_ns);

	if (count > st->info.max_jobs)
		return dev_wait_distinct(st, ids, count, deadline, results);
	return dev_wait_release(st, ids, count, deadline, results);
}

/*
 * A later chunk of a split batch failed after earlier ones were queued: let
 * those finish and release them, so a failed nhot_submit() leaves no job
 * held. Their outputs may have been written.
 */
static void dev_abandon(const struct dev_state *st, const uint64_t *ids, unsigned int count)
{
	int ret;

	do
		ret = dev_wait_ids(st, ids, count, INT64_MAX);
	while (ret == -EINTR);
	if (ret == 0)
		dev_release(st, ids, count, NULL);
}

/* Queues one chunk; ids[] gets its ids. */
static int dev_submit_chunk(const struct dev_state *st, struct nhot_job *kjobs,
			    unsigned int n, uint64_t *ids)
{
	struct nhot_submit args = {
		.size = sizeof(args),
		.jobs_ptr = (uintptr_t)kjobs,
		.job_count = n,
		.job_size = sizeof(*kjobs),
	};
	int ret;

	ret = dev_ioctl(st, NHOT_IOCTL_SUBMIT, &args);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < n; i++)
		ids[i] = args.first_id + i;
	return 0;
}

/*
 * Splits the batch by max_jobs_per_submit. ctx->lock is held, so no other
 * submission of this context comes between two chunks and the ids stay
 * contiguous; they are checked all the same, since the file could be shared.
 */
static int dev_submit(struct nhot_ctx *ctx, const struct nhot_job_desc *jobs,
		      unsigned int count, uint64_t *first_id)
{
	const struct dev_state *st = ctx->priv;
	unsigned int chunk = st->info.max_jobs_per_submit;
	struct nhot_job *kjobs;
	unsigned int done = 0;
	uint64_t *ids;
	int ret = 0;

	/* More than the file may ever hold: refuse before running any. */
	if (count > st->info.max_jobs)
		return -EBUSY;
	if (chunk > count)
		chunk = count;
	ids = calloc(count, sizeof(*ids));
	kjobs = calloc(chunk, sizeof(*kjobs));
	if (!ids || !kjobs) {
		ret = -ENOMEM;
		goto out_free;
	}
	while (done < count) {
		unsigned int n = count - done < chunk ? count - done : chunk;

		for (unsigned int i = 0; i < n; i++)
			dev_job(&jobs[done + i], &kjobs[i]);
		ret = dev_submit_chunk(st, kjobs, n, ids + done);
		if (ret)
			break;
		done += n;
		if (ids[done - n] != ids[0] + (done - n)) {
			ret = -EIO;
			break;
		}
	}
	if (ret && done)
		dev_abandon(st, ids, done);
	else if (!ret)
		*first_id = ids[0];
out_free:
	free(kjobs);
	free(ids);
	return ret;
}

static void dev_close(struct nhot_ctx *ctx)
{
	struct dev_state *st = ctx->priv;

	/* The driver cancels and frees whatever the file still holds. */
	close(st->fd);
	free(st);
}

static const struct nhot_ctx_backend dev_backend = {
	.buf_alloc = dev_buf_alloc,
	.buf_free = dev_buf_free,
	.submit = dev_submit,
	.wait = dev_wait,
	.close = dev_close,
};

int nhot_ctx_dev_init(struct nhot_ctx *ctx, const char *path)
{
	struct dev_state *st;
	int ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* The path may name any file: a terminal must not become ours. */
	st->fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (st->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	/*
	 * Version 1's number, today's size: every module answers it, one that
	 * predates caps leaves them 0 (docs/uapi.md section 1, Growth).
	 */
	st->info.size = sizeof(st->info);
	ret = dev_ioctl(st, NHOT_IOCTL_GET_INFO_V1, &st->info);
	if (ret)
		goto err_close;
	/*
	 * A module speaks every version up to its own: refuse only one older
	 * than ours, one without a capability we use, or one that reports
	 * limits no job fits in.
	 */
	if (st->info.abi_version < NHOT_ABI_VERSION ||
	    (st->info.caps & DEV_CAPS_NEEDED) != DEV_CAPS_NEEDED ||
	    !st->info.max_jobs_per_submit || !st->info.max_jobs) {
		ret = -EPROTO;
		goto err_close;
	}
	ctx->priv = st;
	ctx->backend = &dev_backend;
	return 0;

err_close:
	close(st->fd);
err_free:
	free(st);
	return ret;
}
