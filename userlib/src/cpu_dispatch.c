// SPDX-License-Identifier: MIT
/*
 * nhot_cpu_run(): the fast fallback's entry point. It validates a job in
 * the same order as nhot_ref_run() (so both return the same errno for the
 * same bad job), picks the backend for this CPU, and derives the counters
 * of docs/arith.md 2.7 from the per-code-index term sums the backend's
 * decoder produced.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

static const struct cpu_backend *const backends[] = {
	&cpu_backend_avx512,
	&cpu_backend_avx2,
	&cpu_backend_portable,
};

/* The forced backend, NULL for the best one this CPU runs. */
static _Atomic(const struct cpu_backend *) forced_backend;

static const struct cpu_backend *best_backend(void)
{
	const struct cpu_backend *b = atomic_load(&forced_backend);
	size_t i;

	if (b)
		return b;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->supported())
			return backends[i];
	return &cpu_backend_portable;
}

const char *nhot_cpu_isa(void)
{
	return best_backend()->name;
}

int nhot_cpu_set_isa(const char *isa)
{
	size_t i;

	if (!isa) {
		atomic_store(&forced_backend, NULL);
		return 0;
	}
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(isa, backends[i]->name))
			continue;
		if (!backends[i]->supported())
			return -ENOTSUP;
		atomic_store(&forced_backend, backends[i]);
		return 0;
	}
	return -EINVAL;
}

/*
 * Freed work buffers are kept for the next job: a fresh multi-megabyte
 * allocation is a fresh mmap, and faulting its pages in costs as much as a
 * small layer's arithmetic. Each block has a header with its capacity.
 */
#define CACHE_SLOTS	8
#define CACHE_MAX_BYTES	(64u << 20)	/* bigger blocks go back to libc */

struct cache_block {
	size_t cap;
	char pad[CPU_ALIGN - sizeof(size_t)];
};

/* Protects cache[]: the free blocks, NULL where none. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_block *cache[CACHE_SLOTS];
static int cache_closed;	/* at exit: blocks go straight back to libc */

void *cpu_alloc(size_t n)
{
	struct cache_block *b = NULL;
	int i, best = -1;

	n = (n + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
	if (!n)
		n = CPU_ALIGN;
	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache[i] && cache[i]->cap >= n && (best < 0 || cache[i]->cap < cache[best]->cap))
			best = i;
	if (best >= 0) {
		b = cache[best];
		cache[best] = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	if (!b) {
		if (n > SIZE_MAX - sizeof(*b))
			return NULL;
		b = aligned_alloc(CPU_ALIGN, sizeof(*b) + n);
		if (!b)
			return NULL;
		b->cap = n;
	}
	return b + 1;
}

void cpu_free(void *p)
{
	struct cache_block *b, *victim;
	int i, slot = -1;

	if (!p)
		return;
	b = (struct cache_block *)p - 1;
	if (b->cap > CACHE_MAX_BYTES) {
		free(b);
		return;
	}
	pthread_mutex_lock(&cache_lock);
	if (cache_closed) {
		pthread_mutex_unlock(&cache_lock);
		free(b);
		return;
	}
	/* An empty slot, else the smallest block if it is smaller than this one. */
	for (i = 0; i < CACHE_SLOTS; i++) {
		if (!cache[i]) {
			slot = i;
			break;
		}
		if (cache[i]->cap < b->cap && (slot < 0 || cache[i]->cap < cache[slot]->cap))
			slot = i;
	}
	victim = b;
	if (slot >= 0) {
		victim = cache[slot];
		cache[slot] = b;
	}
	pthread_mutex_unlock(&cache_lock);
	free(victim);
}

/*
 * At exit the cache goes back to libc (and leak checkers see nothing held);
 * it runs after the panel cache's destructor (lower priority runs later).
 */
__attribute__((destructor(200))) static void cpu_cache_exit(void)
{
	int i;

	pthread_mutex_lock(&cache_lock);
	cache_closed = 1;
	for (i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i]);
		cache[i] = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
}

void *cpu_zalloc(size_t n)
{
	void *p = cpu_alloc(n);

	if (p)
		memset(p, 0, n);
	return p;
}

int cpu_colterms_alloc(struct cpu_job *job)
{
	job->colterms = cpu_zalloc((size_t)job->s.k * sizeof(*job->colterms));
	return job->colterms ? 0 : -ENOMEM;
}

void cpu_job_release(struct cpu_job *job)
{
	cpu_free(job->colterms);
	cpu_free(job->bias_adj);
	cpu_free(job->mult);
	cpu_free(job->round);
	cpu_free(job->shift);
	job->colterms = NULL;
	job->bias_adj = NULL;
	job->mult = job->round = job->shift = NULL;
}

int cpu_params_check(const struct nhot_layer *l, const struct nhot_chan_params *p)
{
	uint32_t o;

	for (o = 0; o < l->out_c; o++)
		if (p[o].bias > NHOT_MAX_BIAS || p[o].bias < -NHOT_MAX_BIAS ||
		    p[o].mult > INT32_MAX || p[o].shift < 1 || p[o].shift > NHOT_MAX_SHIFT)
			return -EOVERFLOW;
	return 0;
}

int cpu_epilogue_prepare(struct cpu_job *job, const int32_t *rowsum)
{
	const struct nhot_layer *l = job->l;
	const struct nhot_chan_params *p = job->t->params;
	/* Padded to whole 16-lane vectors: kernels load them without tails. */
	size_t n = ((size_t)l->out_c + 63) & ~(size_t)63;
	uint32_t o;

	if (cpu_params_check(l, p))
		return -EOVERFLOW;

	job->bias_adj = cpu_zalloc(n * sizeof(*job->bias_adj));
	job->mult = cpu_zalloc(n * sizeof(*job->mult));
	job->round = cpu_zalloc(n * sizeof(*job->round));
	job->shift = cpu_zalloc(n * sizeof(*job->shift));
	if (!job->bias_adj || !job->mult || !job->round || !job->shift)
		return -ENOMEM;
	for (o = 0; o < l->out_c; o++) {
		/* Wraps mod 2^32 by design: only the final accumulator must fit. */
		uint32_t adj = (uint32_t)p[o].bias - l->in_zero * (uint32_t)rowsum[o];

		job->bias_adj[o] = (int32_t)adj;
		job->mult[o] = p[o].mult;
		job->round[o] = ((int64_t)1 << (p[o].shift - 1));
		job->shift[o] = p[o].shift;
	}
	job->lo = (int32_t)l->act_min - (int32_t)l->out_zero;
	job->hi = (int32_t)l->act_max - (int32_t)l->out_zero;
	return 0;
}

void cpu_tap_counts(uint32_t out, uint32_t in, uint32_t kernel, uint32_t stride,
		    uint32_t dilation, uint32_t pad, uint64_t *cnt)
{
	uint32_t t;

	for (t = 0; t < kernel; t++) {
		/* o * stride - pad + t * dilation in [0, in): an interval of o. */
		int64_t off = (int64_t)t * dilation - pad;
		int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
		int64_t hi = (int64_t)in - 1 - off;	/* o * stride <= hi */

		hi = hi < 0 ? -1 : hi / stride;
		if (hi > (int64_t)out - 1)
			hi = (int64_t)out - 1;
		cnt[t] = hi >= lo ? (uint64_t)(hi - lo + 1) : 0;
	}
}

/* shift_adds of 2.7 from the term sums per code index. */
static uint64_t count_shift_adds(const struct cpu_job *job)
{
	const struct nhot_layer *l = job->l;
	uint64_t cy[NHOT_MAX_KERNEL], cx[NHOT_MAX_KERNEL], total = 0;
	uint32_t ky, kx, ci;

	if (l->type == NHOT_LAYER_FC) {
		for (ci = 0; ci < job->s.k; ci++)
			total += job->colterms[ci];
		return total * l->batch;
	}
	cpu_tap_counts(job->s.out_h, l->in_h, l->kernel_h, l->stride_h, l->dilation_h,
		       l->pad_top, cy);
	cpu_tap_counts(job->s.out_w, l->in_w, l->kernel_w, l->stride_w, l->dilation_w,
		       l->pad_left, cx);
	for (ky = 0; ky < l->kernel_h; ky++) {
		for (kx = 0; kx < l->kernel_w; kx++) {
			const uint32_t *col = job->colterms + (ky * l->kernel_w + kx) * job->cg;
			uint64_t tap = 0;

			for (ci = 0; ci < job->cg; ci++)
				tap += col[ci];
			total += tap * cy[ky] * cx[kx];
		}
	}
	return total * l->batch;
}

/*
 * S(n, b) as tables, with each code's NAF term count, built once for every
 * (n, b): building them costs some hundred NAF computations, which a small
 * layer would otherwise pay on every call.
 */
struct set_entry {
	struct nhot_set_table set;
	uint8_t terms[NHOT_SET_MAX];
	int ret;
};

static struct set_entry set_entries[NHOT_MAX_N + 1][NHOT_MAX_B + 1];
static pthread_once_t set_once = PTHREAD_ONCE_INIT;

static void build_set_entries(void)
{
	int n, b, i;

	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
			struct set_entry *e = &set_entries[n][b];

			e->ret = nhot_set_table_build(n, b, &e->set);
			for (i = 0; !e->ret && i < e->set.size; i++)
				e->terms[i] = (uint8_t)nhot_naf_weight(e->set.value[i]);
		}
	}
}

static int set_tables(int n, int b, struct cpu_job *job)
{
	const struct set_entry *e;

	if (n < NHOT_MIN_N || n > NHOT_MAX_N || b < NHOT_MIN_B || b > NHOT_MAX_B)
		return -EINVAL;	/* nhot_layer_check() already refused these */
	pthread_once(&set_once, build_set_entries);
	e = &set_entries[n][b];
	if (e->ret)
		return e->ret;
	job->set = e->set;
	memcpy(job->terms, e->terms, sizeof(job->terms));
	return 0;
}

int cpu_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
	    struct cpu_prepared *prep, int prepare_only, struct nhot_counters *counters)
{
	const struct cpu_backend *be = best_backend();
	struct cpu_job job;
	int ret;

	if (counters)
		memset(counters, 0, sizeof(*counters));
	memset(&job, 0, sizeof(job));
	ret = nhot_layer_check(layer, &job.s);
	if (ret)
		return ret;
	if (!t)
		return -EINVAL;
	/* A preparation reads only the weights and params, checked by its caller. */
	ret = prepare_only ? 0 : nhot_tensors_check(layer, t, &job.s);
	if (ret)
		return ret;
	job.l = layer;
	job.t = t;
	job.prep = prep;
	job.prepare_only = prepare_only;
	job.want_terms = counters != NULL;
	job.threads = cpu_threads();

	switch (layer->type) {
	case NHOT_LAYER_CONV2D:
	case NHOT_LAYER_FC:
		ret = set_tables((int)layer->w_n, (int)layer->w_b, &job);
		if (ret)
			return ret;
		if (layer->type == NHOT_LAYER_FC) {
			job.groups = 1;
			job.cg = job.s.k;
			job.og = layer->out_c;
		} else {
			job.groups = layer->groups;
			job.cg = layer->in_c / layer->groups;
			job.og = layer->out_c / layer->groups;
		}
		ret = cpu_colterms_alloc(&job);
		if (!ret && prepare_only)
			ret = be->prepare ? be->prepare(&job) : 0;
		else if (!ret)
			ret = be->conv(&job);
		if (!ret && prep && counters)	/* exact, whatever the backend summed */
			memcpy(job.colterms, prep->colterms, job.s.k * sizeof(*job.colterms));
		if (!ret && counters) {
			counters->macs = job.s.macs;
			counters->shift_adds = count_shift_adds(&job);
		}
		cpu_job_release(&job);
		return ret;
	case NHOT_LAYER_ADD:
		be->add(&job);
		return 0;
	default:
		be->pool(&job);
		return 0;
	}
}

int nhot_cpu_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
		 struct nhot_counters *counters)
{
	return cpu_run(layer, t, NULL, 0, counters);
}
