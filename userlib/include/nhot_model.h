/* SPDX-License-Identifier: MIT */
/*
 * libnhot quantized networks: the .nhq file format (docs/model-format.md),
 * its loader and writer, the post-training quantization helpers, and running
 * a network layer by layer through a context (struct nhot_ctx) or the
 * reference arithmetic.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno on failure. The loader never reads outside the bytes it is
 * given; a rejected file leaves a one-line reason in the caller's buffer.
 */
#ifndef NHOT_MODEL_H
#define NHOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nhot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NHOT_QNET_MAGIC		"NHOTQNET"	/* 8 bytes, no terminator in the file */
#define NHOT_QNET_VERSION	1
#define NHOT_QNET_HEADER_BYTES	64
#define NHOT_QNET_MAX_NODES	1024
#define NHOT_QNET_MAX_FILE_BYTES (256ULL << 20)

/* Source of a node input: the network input, or the output of node s - 1. */
#define NHOT_QNET_SRC_INPUT	0U
#define NHOT_QNET_SRC_NONE	0xffffffffU	/* the second input of a one-input node */

/* Room for a loader message (one line). */
#define NHOT_QNET_ERR_LEN	160

/**
 * struct nhot_qnode - one node: a docs/arith.md layer and its data
 * @layer: the job descriptor with batch = 1 (the runner sets the batch)
 * @src: inputs: NHOT_QNET_SRC_INPUT, node index + 1, or NHOT_QNET_SRC_NONE
 *	for src[1] of every layer but ADD
 * @out_scale: real value of one output step
 * @out_zero: zero point of the output (a pool's is its input's)
 * @w_scales: out_c per-output-channel weight scales (information only)
 * @params: out_c bias, multiplier and shift (CONV2D, FC)
 * @weights: packed n-hot codes, @weight_bytes of them (CONV2D, FC)
 * @weight_bytes: out_c * nhot_row_bytes(w_n, w_b, K)
 * @u8_tap_digits: per kernel tap (ky * KW + kx for CONV2D; one tap for FC;
 *	none for the other layers), the sum over output channels and input
 *	channels of nnz(NAF(q8)), q8 being the weight quantized to uniform
 *	8-bit instead (S(4, 8)): the zero-skipping baseline's cost
 * @shape: derived by nhot_layer_check() (not stored in the file)
 * @tap_digits: the same sums for this node's own weights (derived by
 *	nhot_qnet_validate(), not stored)
 */
struct nhot_qnode {
	struct nhot_layer layer;
	uint32_t src[2];
	double out_scale;
	uint32_t out_zero;
	double *w_scales;
	struct nhot_chan_params *params;
	uint8_t *weights;
	uint64_t weight_bytes;
	uint64_t *u8_tap_digits;
	struct nhot_layer_shape shape;
	uint64_t *tap_digits;
};

/**
 * struct nhot_qnet - a quantized network
 * @in_h: input height of one image
 * @in_w: input width
 * @in_c: input channels
 * @in_scale: real value of one input step (1/255 for raw pixels)
 * @in_zero: zero point of the input
 * @node_count: nodes, in topological order; the last one's output is the result
 * @nodes: the nodes
 */
struct nhot_qnet {
	uint32_t in_h, in_w, in_c;
	double in_scale;
	uint32_t in_zero;
	uint32_t node_count;
	struct nhot_qnode *nodes;
};

/* ------------------------------------------------------------------------ */
/* The file                                                                  */

/*
 * Parses a file image. -EBADMSG for a bad magic, checksum or a malformed
 * record, -EPROTONOSUPPORT for another version, -EFBIG for sizes beyond the
 * limits, -EINVAL/-EOPNOTSUPP/-EOVERFLOW for inconsistent layers,
 * -EILSEQ for an invalid weight code, -ENOMEM. err (may be NULL) gets the
 * reason.
 */
int nhot_qnet_parse(const void *data, size_t len, struct nhot_qnet **net,
		    char *err, size_t err_len);

/*
 * Reads and parses a file; adds -errno of open/read failures and -EINVAL for
 * a path that is not a regular file (a FIFO is refused at once).
 */
int nhot_qnet_load(const char *path, struct nhot_qnet **net,
		   char *err, size_t err_len);

/*
 * Checks a network as the loader would (shapes chain, layers valid, params in
 * range) and fills each node's shape and digits. Used by the writer too.
 */
int nhot_qnet_validate(struct nhot_qnet *net, char *err, size_t err_len);

/* The file image of a network (validated first); free *data with free(). */
int nhot_qnet_serialize(struct nhot_qnet *net, uint8_t **data, size_t *len,
			char *err, size_t err_len);

/*
 * Writes the file atomically (temporary file + rename, docs/model-format.md
 * section 2): -EINVAL for a path that is a device, a FIFO or a directory
 * (left untouched), -ENOSPC and the other -errno of the I/O with the old
 * file intact; err (may be NULL) gets the reason.
 */
int nhot_qnet_save(struct nhot_qnet *net, const char *path,
		   char *err, size_t err_len);

/* Frees a network from the parser or one built with malloc'd arrays. */
void nhot_qnet_free(struct nhot_qnet *net);

/* Classes the network outputs: elements of the last node's output per image. */
uint32_t nhot_qnet_classes(const struct nhot_qnet *net);

/* Bytes of one image's input. */
size_t nhot_qnet_input_bytes(const struct nhot_qnet *net);

/** Static costs of one image (docs/model-format.md "Counting"). */
struct nhot_qnet_cost {
	uint64_t macs;		/* multiply-accumulates */
	uint64_t shift_adds;	/* nonzero n-hot terms used, zero weights skipped */
	uint64_t u8_zero_skip;	/* the same for the uniform-8 counterpart */
	uint64_t weight_bytes;	/* packed weights */
	uint64_t weight_count;	/* weights (= bytes at 8 bits each) */
};
/* Needs a network that passed nhot_qnet_validate() (the loader's always have). */
void nhot_qnet_cost(const struct nhot_qnet *net, struct nhot_qnet_cost *cost);

/* ------------------------------------------------------------------------ */
/* Quantization helpers (nhot-quant quantize)                               */

/*
 * The scale s minimising sum_i (w[i] - s * round_S(w[i] / s))^2 over a grid
 * of candidates around max|w| / max S(n, b); the rounded codes go to q
 * (may be NULL). All-zero weights give s = 1, q = 0. -EINVAL for bad n, b or
 * non-finite weights.
 */
int nhot_choose_scale(const float *w, size_t count, int n, int b,
		      double *scale, int8_t *q);

/* Kernel taps of a layer: KH * KW for CONV2D, 1 for FC, else 0. */
uint32_t nhot_layer_taps(const struct nhot_layer *l);

/*
 * Adds nnz(NAF(q)) of rows x k weights into taps[j / cg] (j: index in the
 * row; cg: input channels per group for CONV2D, k for FC).
 */
void nhot_tap_digits(const int8_t *q, size_t rows, size_t k, size_t cg,
		     uint64_t *taps);

struct nhot_fnet;	/* nhot_fmodel.h */

/** How nhot_qnet_quantize() quantizes. */
struct nhot_quant_opts {
	int n, b;		/* the weights' S(n, b); uniform b-bit is n = 4 */
	/* Called after each node (may be NULL): done of total nodes. */
	void (*progress)(void *arg, uint32_t done, uint32_t total);
	void *progress_arg;
};

/*
 * Post-training quantization of a float network (docs/model-format.md
 * "Quantization"): per-output-channel weight scales by nhot_choose_scale(),
 * activation ranges from the min/max of the float forward pass over the
 * calib_count calibration images (calib: floats, pixel / 255, NHWC), input
 * scale 1/255 and zero point 0, int32 biases, multipliers by
 * nhot_quantize_multiplier(). -EINVAL for bad options or a network the
 * engine cannot run, -ERANGE for a scale ratio no multiplier can hold,
 * -ENOMEM.
 */
int nhot_qnet_quantize(const struct nhot_fnet *fnet, const float *calib,
		       unsigned int calib_count, const struct nhot_quant_opts *opts,
		       struct nhot_qnet **out, char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* Running                                                                  */

struct nhot_qnet_runner;

/** What one run did. */
struct nhot_qnet_stats {
	uint64_t macs;		/* as the engine counted */
	uint64_t shift_adds;	/* as the engine counted */
	uint64_t cycles;	/* modelled cycles (0 on the CPU) */
	uint64_t jobs;
};

/*
 * Allocates the buffers of a network in ctx once (weights and params are
 * uploaded here) for batches of up to max_batch images. -EINVAL,
 * -EOVERFLOW when a batch would break docs/arith.md's limits, -ENOMEM, or the
 * context's errors.
 */
int nhot_qnet_runner_create(struct nhot_ctx *ctx, const struct nhot_qnet *net,
			    unsigned int max_batch, struct nhot_qnet_runner **r);
void nhot_qnet_runner_free(struct nhot_qnet_runner *r);

/*
 * Runs count images (count * nhot_qnet_input_bytes() bytes) as one submission
 * of the network's jobs (batch = count). logits (may be NULL) gets count *
 * classes bytes, classes (may be NULL) the argmax of each image (first
 * maximum wins). stats (may be NULL) is added to. A job that ends other than
 * DONE gives its error (or -EIO).
 */
int nhot_qnet_runner_run(struct nhot_qnet_runner *r, const uint8_t *images,
			 unsigned int count, uint8_t *logits, int *classes,
			 struct nhot_qnet_stats *stats);

/* Node i's output of the last run (count images), and its length. */
const uint8_t *nhot_qnet_runner_output(const struct nhot_qnet_runner *r,
				       uint32_t node, size_t *len);

/*
 * The oracle: runs count images through nhot_ref_run() alone, into outputs[i]
 * (node i's output, malloc'd here; free each and the array with
 * nhot_qnet_outputs_free()).
 */
int nhot_qnet_ref_run(const struct nhot_qnet *net, const uint8_t *images,
		      unsigned int count, uint8_t ***outputs);
void nhot_qnet_outputs_free(const struct nhot_qnet *net, uint8_t **outputs);

/*
 * 0 when every node stays within docs/arith.md's limits at batch max_batch,
 * else nhot_layer_check()'s errno (-EOVERFLOW beyond NHOT_MAX_BATCH).
 */
int nhot_qnet_check_batch(const struct nhot_qnet *net, unsigned int max_batch);

/* Index of the first maximum of n bytes. */
int nhot_argmax_u8(const uint8_t *v, size_t n);

/* ------------------------------------------------------------------------ */
/* Fashion-MNIST style IDX files (gzipped or not)                           */

/** An IDX image or label file in memory. */
struct nhot_idx {
	uint32_t count;		/* items */
	uint32_t rows, cols;	/* 0 for labels */
	uint8_t *data;		/* count * rows * cols (or count) bytes */
};

/*
 * Reads an idx3-ubyte (images) or idx1-ubyte (labels) file, gzipped or
 * plain. -EINVAL for a path that is not a regular file (a FIFO is refused at
 * once, never waited on), -EBADMSG for a malformed file, -EFBIG beyond 2^20
 * items or 2^30 bytes.
 */
int nhot_idx_load(const char *path, struct nhot_idx *idx, char *err, size_t err_len);
void nhot_idx_free(struct nhot_idx *idx);

#ifdef __cplusplus
}
#endif

#endif /* NHOT_MODEL_H */
