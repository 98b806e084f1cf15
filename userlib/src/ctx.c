// SPDX-License-Identifier: MIT
/*
 * libnhot contexts: one API over /dev/nhotN and the CPU fallback.
 *
 * This file chooses the engine, keeps the list of buffers (so nhot_close()
 * can free what the caller forgot), and makes the checks that do not depend
 * on the engine. The backends are ctx_cpu.c and ctx_dev.c.
 *
 * Threads: every call may be made from any thread. ctx->lock serialises
 * buffer allocation and submission (so the ids of one nhot_submit() are
 * contiguous and jobs run in submission order); a thread blocked in
 * nhot_wait() on a device does not hold it. A buffer must not be freed while
 * another thread passes it to nhot_submit(), and nhot_close() must be the
 * context's last call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"

#define NHOT_CTX_DEFAULT_DEVICE	"/dev/nhot0"

/* "cpu", an explicit path, $NHOT_DEVICE, /dev/nhot0 if present, else the CPU. */
static const char *nhot_ctx_choose(const char *device)
{
	const char *env;

	if (device)
		return device;
	env = getenv("NHOT_DEVICE");
	if (env && env[0])
		return env;
	if (access(NHOT_CTX_DEFAULT_DEVICE, F_OK) == 0)
		return NHOT_CTX_DEFAULT_DEVICE;
	return "cpu";
}

int nhot_open(const char *device, struct nhot_ctx **ctxp)
{
	struct nhot_ctx *ctx;
	const char *chosen;
	int ret;

	if (!ctxp)
		return -EINVAL;
	*ctxp = NULL;
	chosen = nhot_ctx_choose(device);
	if (!chosen[0])
		return -EINVAL;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->device = strdup(chosen);
	if (!ctx->device) {
		ret = -ENOMEM;
		goto err_free_ctx;
	}
	ret = -pthread_mutex_init(&ctx->lock, NULL);
	if (ret)
		goto err_free_device;
	ctx->bufs.next = &ctx->bufs;
	ctx->bufs.prev = &ctx->bufs;

	if (strcmp(chosen, "cpu") == 0)
		ret = nhot_ctx_cpu_init(ctx);
	else
		ret = nhot_ctx_dev_init(ctx, chosen);
	if (ret)
		goto err_destroy_lock;

	*ctxp = ctx;
	return 0;

err_destroy_lock:
	pthread_mutex_destroy(&ctx->lock);
err_free_device:
	free(ctx->device);
err_free_ctx:
	free(ctx);
	return ret;
}

/* Unlinks and frees one buffer; ctx->lock held. */
static void nhot_ctx_buf_destroy(struct nhot_ctx *ctx, struct nhot_buf *buf)
{
	buf->prev->next = buf->next;
	buf->next->prev = buf->prev;
	ctx->backend->buf_free(ctx, buf);
	free(buf);
}

void nhot_close(struct nhot_ctx *ctx)
{
	if (!ctx)
		return;
	pthread_mutex_lock(&ctx->lock);
	while (ctx->bufs.next != &ctx->bufs)
		nhot_ctx_buf_destroy(ctx, ctx->bufs.next);
	pthread_mutex_unlock(&ctx->lock);
	ctx->backend->close(ctx);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->device);
	free(ctx);
}

const char *nhot_ctx_device(const struct nhot_ctx *ctx)
{
	return ctx ? ctx->device : NULL;
}

int nhot_ctx_is_device(const struct nhot_ctx *ctx)
{
	return ctx && strcmp(ctx->device, "cpu") != 0;
}

int nhot_buf_alloc(struct nhot_ctx *ctx, size_t length, struct nhot_buf **bufp)
{
	struct nhot_buf *buf;
	int ret;

	if (!bufp)
		return -EINVAL;
	*bufp = NULL;
	if (!ctx || length == 0)
		return -EINVAL;
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	buf->ctx = ctx;
	buf->length = length;

	pthread_mutex_lock(&ctx->lock);
	ret = ctx->backend->buf_alloc(ctx, buf, length);
	if (ret == 0) {
		buf->next = &ctx->bufs;
		buf->prev = ctx->bufs.prev;
		ctx->bufs.prev->next = buf;
		ctx->bufs.prev = buf;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (ret) {
		free(buf);
		return ret;
	}
	*bufp = buf;
	return 0;
}

void nhot_buf_free(struct nhot_buf *buf)
{
	struct nhot_ctx *ctx;

	if (!buf)
		return;
	ctx = buf->ctx;
	pthread_mutex_lock(&ctx->lock);
	nhot_ctx_buf_destroy(ctx, buf);
	pthread_mutex_unlock(&ctx->lock);
}

void *nhot_buf_data(const struct nhot_buf *buf)
{
	return buf ? buf->data : NULL;
}

size_t nhot_buf_length(const struct nhot_buf *buf)
{
	return buf ? buf->length : 0;
}

/*
 * What no engine can check: every buffer must be this context's (a handle
 * is only meaningful to the file that made it), and a reference without a
 * buffer carries no offset.
 */
static int nhot_ctx_check_owner(const struct nhot_ctx *ctx, const struct nhot_job_desc *job)
{
	for (int i = 0; i < 5; i++) {
		const struct nhot_ref *ref = nhot_ctx_job_ref(job, i);

		if (ref->buf ? ref->buf->ctx != ctx : ref->offset != 0)
			return -EINVAL;
	}
	return 0;
}

int nhot_submit(struct nhot_ctx *ctx, const struct nhot_job_desc *jobs,
		unsigned int count, uint64_t *first_id)
{
	int ret;

	if (!ctx || !jobs || count == 0 || !first_id)
		return -EINVAL;
	for (unsigned int i = 0; i < count; i++) {
		ret = nhot_ctx_check_owner(ctx, &jobs[i]);
		if (ret)
			return ret;
	}
	pthread_mutex_lock(&ctx->lock);
	ret = ctx->backend->submit(ctx, jobs, count, first_id);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int nhot_wait(struct nhot_ctx *ctx, const uint64_t *ids, unsigned int count,
	      int64_t timeout_ns, struct nhot_result *results)
{
	if (!ctx || !ids || count == 0)
		return -EINVAL;
	return ctx->backend->wait(ctx, ids, count, timeout_ns, results);
}

int nhot_run(struct nhot_ctx *ctx, const struct nhot_job_desc *job,
	     struct nhot_result *result)
{
	struct nhot_result res;
	uint64_t id;
	int ret;

	ret = nhot_submit(ctx, job, 1, &id);
	if (ret)
		return ret;
	/* The caller never sees the id: a signal must not leave the job held. */
	do
		ret = nhot_wait(ctx, &id, 1, -1, &res);
	while (ret == -EINTR);
	if (ret)
		return ret;
	if (result)
		*result = res;
	if (res.status == NHOT_JOB_DONE)
		return 0;
	return res.error < 0 ? res.error : -EIO;
}
