// SPDX-License-Identifier: MIT
/*
 * The CPU backend of a context: buffers are plain aligned memory and a job
 * runs inside nhot_submit() on nhot_cpu_run(). Its results are held under
 * their ids until nhot_wait() releases them, as the driver holds a finished
 * job, with the driver's limit and errors, so a program behaves the same on
 * either engine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

/* One finished, unreleased job. */
struct cpu_held_job {
	uint64_t id;
	struct nhot_result result;
};

/* All under ctx->lock. */
struct cpu_state {
	uint64_t next_id;		/* ids start at 1 and are never reused */
	struct cpu_held_job *held;	/* ascending ids */
	size_t held_count;
	size_t held_cap;
};

static int cpu_buf_alloc(struct nhot_ctx *ctx, struct nhot_buf *buf, size_t length)
{
	size_t rounded;

	(void)ctx;
	/* aligned_alloc() wants a multiple of the alignment. */
	if (length > SIZE_MAX - NHOT_CTX_CPU_BUF_ALIGN)
		return -ENOMEM;
	rounded = (length + NHOT_CTX_CPU_BUF_ALIGN - 1) & ~(size_t)(NHOT_CTX_CPU_BUF_ALIGN - 1);
	buf->data = aligned_alloc(NHOT_CTX_CPU_BUF_ALIGN, rounded);
	if (!buf->data)
		return -ENOMEM;
	/* Like a device buffer object, a new buffer reads as zeros. */
	memset(buf->data, 0, rounded);
	return 0;
}

static void cpu_buf_free(struct nhot_ctx *ctx, struct nhot_buf *buf)
{
	(void)ctx;
	free(buf->data);
}

static const uint8_t *cpu_ref_bytes(const struct nhot_ref *ref, size_t *len)
{
	if (!ref->buf) {
		*len = 0;
		return NULL;
	}
	*len = ref->buf->length - ref->offset;
	return (const uint8_t *)ref->buf->data + ref->offset;
}

/*
 * Runs one validated job. The params may sit at any offset; the kernels read
 * them as structs, so an unaligned block is copied first.
 */
static void cpu_run_job(const struct nhot_job_desc *job, struct nhot_result *result)
{
	struct nhot_chan_params *aligned = NULL;
	struct nhot_counters counters = { 0 };
	struct nhot_tensors t;
	const uint8_t *params;
	int ret;

	t.input = cpu_ref_bytes(&job->input, &t.input_len);
	t.input2 = cpu_ref_bytes(&job->input2, &t.input2_len);
	t.weights = cpu_ref_bytes(&job->weights, &t.weights_len);
	params = cpu_ref_bytes(&job->params, &t.params_len);
	t.output = (uint8_t *)cpu_ref_bytes(&job->output, &t.output_len);
	t.params = (const struct nhot_chan_params *)params;
	if (params && (uintptr_t)params % _Alignof(struct nhot_chan_params)) {
		aligned = malloc(t.params_len);
		if (!aligned) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(aligned, params, t.params_len);
		t.params = aligned;
	}
	ret = nhot_cpu_run(&job->layer, &t, &counters);
out:
	free(aligned);
	memset(result, 0, sizeof(*result));
	result->status = ret ? NHOT_JOB_FAILED : NHOT_JOB_DONE;
	result->error = ret;
	result->macs = counters.macs;
	result->shift_adds = counters.shift_adds;
}

static int cpu_submit(struct nhot_ctx *ctx, const struct nhot_job_desc *jobs,
		      unsigned int count, uint64_t *first_id)
{
	struct cpu_state *st = ctx->priv;
	struct nhot_layer_shape shape;
	int ret;

	/* Every job is checked before any runs: on error nothing ran. */
	for (unsigned int i = 0; i < count; i++) {
		ret = nhot_ctx_check_job(&jobs[i], &shape);
		if (ret)
			return ret;
	}
	if (count > NHOT_CTX_CPU_MAX_JOBS - st->held_count)
		return -EBUSY;
	if (st->held_count + count > st->held_cap) {
		size_t cap = st->held_count + count;
		struct cpu_held_job *held;

		if (cap < 2 * st->held_cap)
			cap = 2 * st->held_cap;
		if (cap > NHOT_CTX_CPU_MAX_JOBS)
			cap = NHOT_CTX_CPU_MAX_JOBS;
		held = realloc(st->held, cap * sizeof(*held));
		if (!held)
			return -ENOMEM;
		st->held = held;
		st->held_cap = cap;
	}

	*first_id = st->next_id;
	for (unsigned int i = 0; i < count; i++) {
		struct cpu_held_job *h = &st->held[st->held_count++];

		h->id = st->next_id++;
		cpu_run_job(&jobs[i], &h->result);
	}
	return 0;
}

static struct cpu_held_job *cpu_find(struct cpu_state *st, uint64_t id)
{
	size_t lo = 0, hi = st->held_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->held[mid].id == id)
			return &st->held[mid];
		if (st->held[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Every job finished inside nhot_submit(): waiting is looking up and releasing. */
static int cpu_wait(struct nhot_ctx *ctx, const uint64_t *ids, unsigned int count,
		    int64_t timeout_ns, struct nhot_result *results)
{
	struct cpu_state *st = ctx->priv;
	size_t kept = 0;

	(void)timeout_ns;
	pthread_mutex_lock(&ctx->lock);
	/* An unknown id releases nothing. */
	for (unsigned int i = 0; i < count; i++) {
		if (!cpu_find(st, ids[i])) {
			pthread_mutex_unlock(&ctx->lock);
			return -ENOENT;
		}
	}
	for (unsigned int i = 0; i < count; i++) {
		struct cpu_held_job *h = cpu_find(st, ids[i]);

		/* Released only after all are copied, so a repeated id reads the same result. */
		if (results)
			results[i] = h->result;
	}
	for (unsigned int i = 0; i < count; i++)
		cpu_find(st, ids[i])->result.status = 0;
	for (size_t i = 0; i < st->held_count; i++)
		if (st->held[i].result.status)
			st->held[kept++] = st->held[i];
	st->held_count = kept;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

static void cpu_close(struct nhot_ctx *ctx)
{
	struct cpu_state *st = ctx->priv;

	free(st->held);
	free(st);
}

static const struct nhot_ctx_backend cpu_backend = {
	.buf_alloc = cpu_buf_alloc,
	.buf_free = cpu_buf_free,
	.submit = cpu_submit,
	.wait = cpu_wait,
	.close = cpu_close,
};

int nhot_ctx_cpu_init(struct nhot_ctx *ctx)
{
	struct cpu_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->next_id = 1;
	ctx->priv = st;
	ctx->backend = &cpu_backend;
	return 0;
}
