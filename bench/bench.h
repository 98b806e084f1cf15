/* SPDX-License-Identifier: MIT */
/*
 * `make bench`: nhot_cpu_run() against the reference and oneDNN.
 */
#ifndef NHOT_BENCH_H
#define NHOT_BENCH_H

#include <stdint.h>

#include "nhot.h"

enum bench_kind { BENCH_GEMM, BENCH_CONV, BENCH_DW };

/**
 * struct bench_shape - one benchmarked layer
 * @kind: GEMM (MxKxN as FC), 3x3 convolution, or 3x3 depthwise
 * @m, @k, @n: GEMM sizes; for conv/dw, m = h * w output positions,
 *             k = products per output, n = output channels
 * @h, @w, @c: conv/dw input (stride 1, pad 1, so the output is h x w)
 */
struct bench_shape {
	char name[32];
	enum bench_kind kind;
	int64_t m, k, n;
	int64_t h, w, c;
	uint32_t in_zero, out_zero;
};

/** The data both libraries run on. */
struct bench_data {
	struct nhot_layer layer;
	struct nhot_layer_shape shape;
	uint8_t *input;
	int8_t *values;		/* weights as int8, nhot row order */
	uint8_t *packed;	/* weights as nhot codes */
	struct nhot_chan_params *params;
	int32_t *bias;		/* the params' biases, for oneDNN */
	float *scales;		/* mult * 2^-shift per channel, for oneDNN */
	uint8_t *output;
	uint8_t *ref_output;
	struct nhot_cpu_layer *prepared;	/* NULL: time nhot_cpu_run() */
};

struct onednn_op;
struct onednn_op *onednn_create(const struct bench_shape *sh, const struct bench_data *d);
int onednn_run(struct onednn_op *op);
int onednn_has_zero_points(const struct onednn_op *op);
void onednn_destroy(struct onednn_op *op);

#endif /* NHOT_BENCH_H */
