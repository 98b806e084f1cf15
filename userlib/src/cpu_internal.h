/* SPDX-License-Identifier: MIT */
/*
 * libnhot private: the fast CPU fallback (nhot_cpu_run()).
 *
 * cpu_dispatch.c validates a job exactly as nhot_ref_run() does and hands it
 * to one backend (portable C, AVX2, AVX-512 VNNI), chosen at run time.
 * A backend decodes the packed weights its own way (it also validates the
 * codes and sums the NAF terms the counters need), then calls
 * cpu_epilogue_prepare() for the per-channel requantization constants and
 * computes. cpu_threads.c runs the tasks of a job on a small thread pool.
 */
#ifndef NHOT_CPU_INTERNAL_H
#define NHOT_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "format_internal.h"

#define CPU_MAX_THREADS		64
#define CPU_ALIGN		64

/**
 * struct cpu_job - one nhot_cpu_run() call, shared by its tasks
 * @l: the descriptor (already checked)
 * @t: the buffers (already checked for presence and length)
 * @s: the shape nhot_layer_check() derived
 * @set: S(w_n, w_b) as tables (CONV2D, FC)
 * @terms: the NAF term count of each code of @set
 * @want_terms: non-zero when the caller wants counters: decoders may skip
 *              the term sums otherwise
 * @threads: threads the job may use
 * @groups, @cg, @og: groups, input and output channels per group (FC: 1, K, out_c)
 * @colterms: [s.k] NAF terms summed over all rows at each code index, filled
 *            by the backend's decoder (CONV2D, FC)
 * @bias_adj: [out_c] bias - in_zero * (sum of the row's weights), mod 2^32:
 *            acc = bias_adj + sum(x * w) is then exact (docs/arith.md 3)
 * @mult, @round, @shift: [out_c] the requantization of docs/arith.md 2.1 as
 *            64-bit lanes: (acc * mult + round) >> shift
 * @lo, @hi: the clamp bounds minus out_zero, so that the clamp can run before
 *            adding the zero point
 * @prep: the layer was prepared (nhot_cpu_layer_prepare()): see struct
 *        cpu_prepared for what a backend may then rely on; NULL for nhot_cpu_run()
 * @prepare_only: build what the backend keeps for @prep's runs, compute nothing
 */
struct cpu_job {
	const struct nhot_layer *l;
	const struct nhot_tensors *t;
	struct cpu_prepared *prep;
	int prepare_only;
	struct nhot_layer_shape s;
	struct nhot_set_table set;
	uint8_t terms[NHOT_SET_MAX];	/* NAF term count of each code */
	int want_terms;			/* the caller asked for counters */
	int threads;
	uint32_t groups, cg, og;
	uint32_t *colterms;
	int32_t *bias_adj;
	int64_t *mult;
	int64_t *round;
	int64_t *shift;
	int32_t lo, hi;
};

/**
 * struct cpu_prepared - a CONV2D or FC layer of nhot_cpu_layer_prepare()
 * @panels: the backend's decoded weights, pinned to this layer (not in the
 *          panel cache's slots, never evicted); made by the preparation and
 *          freed with the layer; under the panel cache's lock
 * @rowsum: [out_c] each row's sum of weight values
 * @colterms: [k] NAF terms summed over all rows at each code index
 *
 * A job with a prep has been checked beyond nhot_cpu_run()'s checks: every
 * code is valid and every channel's params pass cpu_params_check(), so its
 * kernels need not look for -EILSEQ or -EOVERFLOW. Its t->weights is the
 * layer's own immutable copy of the codes, followed by CPU_ALIGN zero bytes
 * (whole-vector loads past the last row stay inside the buffer).
 */
struct cpu_prepared {
	struct cpu_panels *panels;
	int32_t *rowsum;
	uint32_t *colterms;
};

/**
 * struct cpu_backend - the kernels of one instruction set
 * @name: what nhot_cpu_isa() reports
 * @supported: non-zero when this CPU runs the kernels
 * @conv: CONV2D and FC: decode (-EILSEQ), cpu_epilogue_prepare()
 *        (-EOVERFLOW), compute; 0 or a negative errno, output untouched on error
 * @add: ADD
 * @pool: AVGPOOL, GLOBAL_AVGPOOL, MAXPOOL
 * @prepare: optional: builds what @conv keeps for job->prep's runs (called
 *           with job->prepare_only); 0 or -ENOMEM
 */
struct cpu_backend {
	const char *name;
	int (*supported)(void);
	int (*conv)(struct cpu_job *job);
	int (*prepare)(struct cpu_job *job);
	void (*add)(const struct cpu_job *job);
	void (*pool)(const struct cpu_job *job);
};

extern const struct cpu_backend cpu_backend_portable;
extern const struct cpu_backend cpu_backend_avx2;
extern const struct cpu_backend cpu_backend_avx512;

/* The portable ADD and pools, for backends without their own. */
void cpu_add_portable(const struct cpu_job *job);
void cpu_pool_portable(const struct cpu_job *job);
/* FC of a small batch, decoding the codes on the fly (cpu_gemv_avx512.c). */
int cpu_gemv_fc_avx512(struct cpu_job *job);
/* Depthwise CONV2D (cpu_dw_avx512.c). */
int cpu_dw_conv_avx512(struct cpu_job *job);
/* The AVX-512 ADD and pools (cpu_eltwise_avx512.c). */
void cpu_add_avx512(const struct cpu_job *job);
void cpu_pool_avx512(const struct cpu_job *job);

/* -EOVERFLOW when a channel's params are out of docs/arith.md's limits, else 0. */
int cpu_params_check(const struct nhot_layer *l, const struct nhot_chan_params *p);

/*
 * Validates and runs a job as nhot_cpu_run() does, prepared (prep) or not;
 * with prepare_only, builds what the backend keeps for prep instead.
 */
int cpu_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
	    struct cpu_prepared *prep, int prepare_only, struct nhot_counters *counters);

/*
 * Checks every channel's parameters (-EOVERFLOW as nhot_ref_run()) and fills
 * bias_adj/mult/round/shift/lo/hi from them and rowsum[o] (the sum of row o's
 * weight values). The arrays are freed by cpu_job_release().
 */
int cpu_epilogue_prepare(struct cpu_job *job, const int32_t *rowsum);
void cpu_job_release(struct cpu_job *job);

/* Allocates colterms (zeroed); -ENOMEM. */
int cpu_colterms_alloc(struct cpu_job *job);

/* The requantization of one accumulator, as the output byte. */
static inline uint8_t cpu_requant(const struct cpu_job *job, int32_t acc, uint32_t o)
{
	int64_t v = ((int64_t)acc * job->mult[o] + job->round[o]) >> job->shift[o];

	if (v < job->lo)
		v = job->lo;
	if (v > job->hi)
		v = job->hi;
	return (uint8_t)(v + (int64_t)job->l->out_zero);
}

/*
 * Work buffers, 64-byte aligned, from a small cache of freed ones; NULL on
 * failure. cpu_zalloc() zeroes; cpu_alloc() does not (for buffers every byte
 * of which is written before it is read). Both are released with cpu_free().
 */
void *cpu_alloc(size_t n);
void *cpu_zalloc(size_t n);
void cpu_free(void *p);

/**
 * struct cpu_panels - a layer's weights decoded by a backend, kept between calls
 * @key: (n, b), (out_c, k), (groups, og) and the backend's layout tag
 * @packed, @packed_len: a copy of the codes they were decoded from (NULL
 *            when pinned to a prepared layer, whose codes never change)
 * @b, @b_bytes: the backend's decoded weights
 * @rowsum: [out_c] sum of each row's values
 * @colterms: [k] NAF terms over all rows per code index
 * @epi, @epi_params, @epi_params_len, @epi_zero_clamp: a backend's
 *            requantization constants, and a copy of the params and the
 *            in_zero, out_zero, act_min, act_max they were built from
 *            (cpu_panels_epi()); set at most once, then immutable
 * @refs, @stamp: users and last use (under the cache's lock)
 * @pinned: owned by a prepared layer, freed by cpu_panels_unpin() only
 */
struct cpu_panels {
	uint64_t key[4];
	uint8_t *packed;
	size_t packed_len;
	void *b;
	size_t b_bytes;
	int32_t *rowsum;
	uint32_t *colterms;
	void *epi;
	void *epi_params;
	size_t epi_params_len;
	uint32_t epi_zero_clamp[4];
	int refs;
	uint64_t stamp;
	int pinned;
};

/*
 * The entry whose codes equal job's weights byte for byte, with a reference
 * taken, or NULL. layout tells apart the layouts of different backends.
 * A prepared job's entry is its layer's pinned one (no comparison: the
 * codes are the layer's own copy); cpu_panels_add() then pins the new entry
 * to the layer, whatever its size.
 */
struct cpu_panels *cpu_panels_get(const struct cpu_job *job, uint64_t layout);
/*
 * Keeps b, rowsum and colterms (cpu_alloc'd) for the next call: on success
 * the entry owns them and the caller holds a reference; NULL when not kept
 * (too big, no free slot, no memory), and the caller still owns them.
 */
struct cpu_panels *cpu_panels_add(const struct cpu_job *job, uint64_t layout, void *b,
				  size_t b_bytes, int32_t *rowsum, uint32_t *colterms);
void cpu_panels_put(struct cpu_panels *p);
/* Frees a prepared layer's pinned entry (no run may hold it); NULL is ignored. */
void cpu_panels_unpin(struct cpu_panels *p);

/*
 * The requantization constants of a layer depend on its params, zero points
 * and clamp besides its weights. cpu_panels_epi() gives the constants kept
 * with p when job's are the ones they were built from, else NULL;
 * cpu_panels_set_epi() keeps epi (cpu_alloc'd) with p, with a copy of what
 * it was built from, if p has none yet: 1 when kept (p then owns epi), else 0.
 */
const void *cpu_panels_epi(struct cpu_panels *p, const struct cpu_job *job);
int cpu_panels_set_epi(struct cpu_panels *p, const struct cpu_job *job, void *epi);

/* The pool: fn(arg, task, worker) for task in [0, ntasks), worker < threads. */
typedef void (*cpu_task_fn)(void *arg, size_t task, int worker);
void cpu_parallel(int threads, size_t ntasks, cpu_task_fn fn, void *arg);
/* Threads configured by nhot_cpu_set_threads() or NHOT_THREADS. */
int cpu_threads(void);

/*
 * Output positions of a window per input-bounds tap: cnt[t] = how many of
 * the out outputs see tap t inside [0, in). Used for the counters of 2.7.
 */
void cpu_tap_counts(uint32_t out, uint32_t in, uint32_t kernel, uint32_t stride,
		    uint32_t dilation, uint32_t pad, uint64_t *cnt);

#endif /* NHOT_CPU_INTERNAL_H */
