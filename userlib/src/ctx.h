/* SPDX-License-Identifier: MIT */
/*
 * libnhot contexts, private part: what ctx.c shares with its two backends,
 * ctx_cpu.c (the bit-exact CPU fallback) and ctx_dev.c (/dev/nhotN).
 *
 * ctx.c owns everything the backends have in common: choosing the engine,
 * the list of buffers, argument checks that do not depend on the engine, and
 * the buffer-ownership check of nhot_submit(). A backend only moves bytes and
 * jobs.
 */
#ifndef NHOT_CTX_H
#define NHOT_CTX_H

#include <pthread.h>
#include <stdint.h>

#include "nhot.h"

/* What the CPU backend holds at most, like the driver's default max_jobs. */
#define NHOT_CTX_CPU_MAX_JOBS	4096

/* CPU buffers are aligned like a cache line, so the fast kernels can use aligned loads. */
#define NHOT_CTX_CPU_BUF_ALIGN	64

struct nhot_ctx_backend {
	/* Fills buf->data (length bytes, zeroed) and buf->handle. Called with ctx->lock held. */
	int (*buf_alloc)(struct nhot_ctx *ctx, struct nhot_buf *buf, size_t length);
	/* Releases what buf_alloc took. Called with ctx->lock held. */
	void (*buf_free)(struct nhot_ctx *ctx, struct nhot_buf *buf);
	/*
	 * Queues count >= 1 jobs whose buffers all belong to ctx. Called with
	 * ctx->lock held, so the ids of one call are contiguous.
	 */
	int (*submit)(struct nhot_ctx *ctx, const struct nhot_job_desc *jobs,
		      unsigned int count, uint64_t *first_id);
	/*
	 * Waits (timeout_ns relative, < 0 forever) and releases. Called
	 * WITHOUT ctx->lock: a backend takes it itself where it needs it,
	 * so a thread waiting on a device does not block submissions.
	 */
	int (*wait)(struct nhot_ctx *ctx, const uint64_t *ids, unsigned int count,
		    int64_t timeout_ns, struct nhot_result *results);
	/* Frees the backend's state; every buffer is already freed. */
	void (*close)(struct nhot_ctx *ctx);
};

struct nhot_buf {
	struct nhot_ctx *ctx;		/* owner: a job may only use its own context's buffers */
	struct nhot_buf *prev, *next;	/* in ctx->bufs, under ctx->lock */
	void *data;			/* mapped (device) or allocated (CPU) memory */
	size_t length;			/* bytes asked for */
	uint32_t handle;		/* device: the buffer object's handle; CPU: 0 */
};

struct nhot_ctx {
	const struct nhot_ctx_backend *backend;
	char *device;			/* "cpu" or the device path */
	/*
	 * lock protects bufs (the list), and the backend state in priv
	 * except what a backend documents as its own (see ctx_dev.c).
	 */
	pthread_mutex_t lock;
	struct nhot_buf bufs;		/* circular list head of live buffers */
	void *priv;			/* the backend's state */
};

int nhot_ctx_cpu_init(struct nhot_ctx *ctx);
/* -ENOENT: no such path; -ENOTTY: the file is no nhot engine; -EPROTO: another ABI. */
int nhot_ctx_dev_init(struct nhot_ctx *ctx, const char *path);

/*
 * Checks a job's layer and its five references against docs/uapi.md's
 * contract: nhot_layer_check()'s errors, a missing buffer -ENOENT, a buffer
 * the layer does not use -EINVAL, a reference beyond its buffer -ERANGE.
 */
int nhot_ctx_check_job(const struct nhot_job_desc *job, struct nhot_layer_shape *shape);

/* The five references of a job: input, input2, weights, params, output. */
static inline const struct nhot_ref *nhot_ctx_job_ref(const struct nhot_job_desc *job, int i)
{
	const struct nhot_ref *refs[5] = {
		&job->input, &job->input2, &job->weights, &job->params, &job->output,
	};

	return refs[i];
}

#endif /* NHOT_CTX_H */
