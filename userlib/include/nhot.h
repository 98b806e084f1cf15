/* SPDX-License-Identifier: MIT */
/*
 * libnhot: n-hot quantization, the weight codec, layer arithmetic on the CPU
 * (reference and fast), and job submission to /dev/nhotN.
 *
 * The arithmetic is specified in docs/arith.md. Every function that can fail
 * returns 0 (or a count) on success and a negative errno on failure; none
 * aborts on bad input.
 */
#ifndef NHOT_H
#define NHOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/nhot.h>	/* struct nhot_layer, struct nhot_chan_params, limits */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The number format (docs/arith.md section 1)                              */

/* Largest |S(n, b)|: every integer of |q| <= 127. */
#define NHOT_SET_MAX	255
/* Most terms a weight has. */
#define NHOT_TERMS_MAX	NHOT_MAX_N

/** One term of a weight's term form: sign * 2^exponent. */
struct nhot_term {
	int8_t sign;		/* +1 or -1 */
	uint8_t exponent;	/* 0..b-1 */
};

/* |S(n, b)|, or -EINVAL when n or b is out of range. */
int nhot_set_size(int n, int b);

/* Writes S(n, b) ascending into values[0..cap); returns |S(n, b)|, -EINVAL, or -ENOSPC if cap is short. */
int nhot_set_values(int n, int b, int16_t *values, size_t cap);

/* Code width k = ceil(log2 |S(n, b)|), or -EINVAL. */
int nhot_code_bits(int n, int b);

/* Number of nonzero NAF digits of q (any int with |q| <= 2^15). */
int nhot_naf_weight(int q);

/* The term form of q (descending exponents); returns the count, -EINVAL if q is not in S(n_max=4, b=8) range. */
int nhot_terms(int q, struct nhot_term terms[NHOT_TERMS_MAX]);

/* Rounds x onto S(n, b) (nearest, ties to smaller magnitude, clamped); -EINVAL for NaN or bad n, b. */
int nhot_round(double x, int n, int b, int *q);

/* Code of q in S(n, b) (its ascending index), -EINVAL if q is not in S(n, b). */
int nhot_encode_value(int q, int n, int b);

/* Value of a code, -EILSEQ if code >= |S(n, b)|, -EINVAL for bad n, b. Result in *q. */
int nhot_decode_value(unsigned int code, int n, int b, int *q);

/* Bytes of one packed row of k_count weights (docs/arith.md 1.4), 0 for bad arguments. */
size_t nhot_row_bytes(int n, int b, size_t k_count);

/*
 * Packs rows x k_count weights (int8 values, each in S(n, b)) into out
 * (rows * nhot_row_bytes() bytes). -EINVAL for a value not in S(n, b),
 * -ENOSPC when out_len is short.
 */
int nhot_pack(int n, int b, const int8_t *q, size_t rows, size_t k_count,
	      uint8_t *out, size_t out_len);

/* Inverse of nhot_pack(); -EILSEQ for an invalid code, -ENOSPC/-EINVAL for bad lengths. */
int nhot_unpack(int n, int b, const uint8_t *packed, size_t packed_len,
		size_t rows, size_t k_count, int8_t *q);

/*
 * Splits a positive real multiplier into M * 2^-s (docs/arith.md 1.5):
 * M in [2^30, 2^31), s in 1..62. real == 0 gives M = 0, s = 1.
 * -ERANGE when the multiplier cannot be represented, -EINVAL for NaN/negative.
 */
int nhot_quantize_multiplier(double real, uint32_t *mult, uint32_t *shift);

/* ------------------------------------------------------------------------ */
/* Layers (docs/arith.md section 2)                                         */

/** Shapes and buffer sizes a valid layer needs. */
struct nhot_layer_shape {
	uint32_t out_n, out_h, out_w, out_c;
	uint32_t k;			/* products per output value (0 for pools, ADD) */
	uint64_t input_bytes;
	uint64_t input2_bytes;		/* ADD only */
	uint64_t weight_bytes;		/* packed codes, CONV2D and FC */
	uint64_t params_bytes;		/* out_c * sizeof(struct nhot_chan_params) */
	uint64_t output_bytes;
	uint64_t macs;			/* multiply-accumulates (CONV2D, FC) */
};

/*
 * Validates a descriptor against docs/arith.md section 3 and fills shape.
 * 0, -EINVAL, -EOPNOTSUPP or -EOVERFLOW exactly as the document says.
 */
int nhot_layer_check(const struct nhot_layer *layer, struct nhot_layer_shape *shape);

/** The memory of one layer run on the CPU. Unused pointers may be NULL. */
struct nhot_tensors {
	const uint8_t *input;
	size_t input_len;
	const uint8_t *input2;
	size_t input2_len;
	const uint8_t *weights;
	size_t weights_len;
	const struct nhot_chan_params *params;
	size_t params_len;	/* bytes */
	uint8_t *output;
	size_t output_len;
};

/** Counters of a layer run: what an engine would count. */
struct nhot_counters {
	uint64_t macs;
	uint64_t shift_adds;	/* nonzero terms summed over all MACs */
};

/*
 * The reference implementation: plain C, straight from the document; the
 * oracle of the tests. -ERANGE when a buffer is shorter than the layer needs,
 * -EILSEQ for an invalid weight code, -EOVERFLOW for a bias beyond 2^30.
 * counters may be NULL.
 */
int nhot_ref_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
		 struct nhot_counters *counters);

/* The fast implementation: same contract and the same bits as nhot_ref_run(). */
int nhot_cpu_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
		 struct nhot_counters *counters);

/*
 * A CONV2D or FC layer prepared once for many runs on the CPU, as an
 * inference runtime runs the layers of a model. nhot_cpu_run() compares the
 * caller's codes with the ones it decoded before, on every call, because
 * they may have changed; a prepared layer copies the descriptor, the codes
 * and the params, checks them once, and keeps what the kernels derive from
 * them (decoded panels, row sums, requantization constants). The caller's
 * buffers may change or go as soon as nhot_cpu_layer_prepare() returns.
 */
struct nhot_cpu_layer;

/*
 * 0 and *out, or what nhot_cpu_run() would return for these weights and
 * params: -EINVAL (a bad descriptor, a NULL pointer, a layer type other
 * than CONV2D and FC), -EOPNOTSUPP, -ERANGE (weights or params shorter than
 * the layer needs), -EILSEQ (an invalid code), -EOVERFLOW (params), or
 * -ENOMEM. *out is NULL on error.
 */
int nhot_cpu_layer_prepare(const struct nhot_layer *layer, const uint8_t *weights,
			   size_t weights_len, const struct nhot_chan_params *params,
			   size_t params_len, struct nhot_cpu_layer **out);

/*
 * Runs a prepared layer: the output bytes and counters nhot_cpu_run() gives
 * for the same descriptor, codes, params and input. -EINVAL for a NULL
 * layer or buffer, -ERANGE for a short input or output (left untouched),
 * -ENOMEM. Several threads may run one prepared layer at the same time.
 */
int nhot_cpu_layer_run(struct nhot_cpu_layer *pl, const uint8_t *input, size_t input_len,
		       uint8_t *output, size_t output_len, struct nhot_counters *counters);

/* Frees a prepared layer (none of its runs may be in progress); NULL is ignored. */
void nhot_cpu_layer_free(struct nhot_cpu_layer *pl);

/* Which fast kernels nhot_cpu_run() uses: "avx512vnni", "avx2" or "portable". */
const char *nhot_cpu_isa(void);

/*
 * Forces the kernels (for tests and benchmarks): "avx512vnni", "avx2",
 * "portable", or NULL for the best the CPU has. -ENOTSUP if the CPU lacks it.
 */
int nhot_cpu_set_isa(const char *isa);

/*
 * Threads nhot_cpu_run() may use (default: online CPUs, or NHOT_THREADS).
 * The library starts threads - 1 workers once; the calling thread is the
 * other. A worker that finds itself on the same CPU as the caller or another
 * worker narrows its own affinity to the other CPUs the process may use
 * (the caller's affinity is never changed).
 */
int nhot_cpu_set_threads(int threads);

/* ------------------------------------------------------------------------ */
/* Contexts: one API over /dev/nhotN or the CPU fallback                    */

/*
 * Both engines keep the driver's contract (docs/uapi.md): the same errno for
 * the same bad job, job ids from 1 never reused, at most 4096 jobs held
 * (submitted and not yet released by nhot_wait()), jobs run in submission
 * order. Threads: every call may come from any thread; submissions and
 * buffer allocation of one context are serialised, and a thread blocked in
 * nhot_wait() does not hold them up. nhot_close() must be a context's last
 * call, and a buffer must not be freed while a call that uses it runs.
 */
struct nhot_ctx;
struct nhot_buf;

/*
 * Opens an engine. device: a path like "/dev/nhot0", "cpu" for the fallback,
 * or NULL to honour $NHOT_DEVICE (same values; empty is unset) and else take
 * /dev/nhot0 if it exists, the CPU otherwise. -ENOENT for a path that does
 * not exist, -ENOTTY for a file that is no nhot engine, -EPROTO for a driver
 * whose ABI this library cannot speak (abi_version below its NHOT_ABI_VERSION,
 * or a capability it needs missing from GET_INFO's caps), open(2)'s errors
 * otherwise.
 */
int nhot_open(const char *device, struct nhot_ctx **ctx);
/* Frees the context and every buffer still in it; jobs in flight are cancelled. NULL: no-op. */
void nhot_close(struct nhot_ctx *ctx);

/* "cpu" or the device path. */
const char *nhot_ctx_device(const struct nhot_ctx *ctx);
/* Non-zero when the context runs on a device. */
int nhot_ctx_is_device(const struct nhot_ctx *ctx);

/*
 * A buffer the engine can read and write, mapped into this process, zeroed.
 * -EINVAL for length 0; on a device the driver's -EFBIG, -EMFILE, -EDQUOT.
 */
int nhot_buf_alloc(struct nhot_ctx *ctx, size_t length, struct nhot_buf **buf);
/* NULL is a no-op; a buffer nhot_close() freed must not be freed again. */
void nhot_buf_free(struct nhot_buf *buf);
void *nhot_buf_data(const struct nhot_buf *buf);
size_t nhot_buf_length(const struct nhot_buf *buf);

/** A place in a buffer. */
struct nhot_ref {
	struct nhot_buf *buf;	/* NULL: none */
	uint64_t offset;
};

/** One job of a batch. */
struct nhot_job_desc {
	struct nhot_layer layer;
	struct nhot_ref input, input2, weights, params, output;
};

/** A finished job's outcome. */
struct nhot_result {
	uint32_t status;	/* enum nhot_job_status */
	int32_t error;		/* 0 or negative errno */
	uint64_t macs;
	uint64_t shift_adds;
	uint64_t cycles;	/* 0 on the CPU */
};

/*
 * Queues count jobs; their ids are *first_id .. *first_id + count - 1. All
 * are checked before any is queued: -EINVAL for a buffer of another context
 * or an offset without a buffer, then the driver's errors (-ENOENT missing
 * buffer, -ERANGE reference beyond its buffer, the layer's -EINVAL,
 * -EOPNOTSUPP, -EOVERFLOW, -EBUSY beyond the held-job limit). A batch larger
 * than one NHOT_IOCTL_SUBMIT takes is split; should the driver refuse a
 * later part, the parts already queued are run and released before the error
 * returns (their outputs may have been written).
 */
int nhot_submit(struct nhot_ctx *ctx, const struct nhot_job_desc *jobs,
		unsigned int count, uint64_t *first_id);

/*
 * Waits for all the jobs (timeout_ns: relative, 0 polls, < 0 forever) and
 * releases them, filling results[] when not NULL. 0 when all finished (check
 * each result's status), -ETIMEDOUT, -EINTR, -ENOENT; on an error nothing is
 * released, so the wait can be repeated.
 */
int nhot_wait(struct nhot_ctx *ctx, const uint64_t *ids, unsigned int count,
	      int64_t timeout_ns, struct nhot_result *results);

/* Submit one job and wait for it: 0 when it finished DONE, else its error. */
int nhot_run(struct nhot_ctx *ctx, const struct nhot_job_desc *job,
	     struct nhot_result *result);

#ifdef __cplusplus
}
#endif

#endif /* NHOT_H */
