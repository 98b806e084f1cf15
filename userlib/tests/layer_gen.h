/* SPDX-License-Identifier: MIT */
/*
 * Random valid nhot layers for tests: a seeded PRNG, a descriptor generator
 * biased towards boundary shapes, and buffers that match it.
 *
 * Everything is deterministic for a given seed, so a failing case can be
 * replayed from the seed and the case index that a test prints.
 */
#ifndef LAYER_GEN_H
#define LAYER_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "nhot.h"

/** The generator's state: xoshiro256** seeded through splitmix64. */
struct layer_gen_rng {
	uint64_t s[4];
};

void layer_gen_seed(struct layer_gen_rng *rng, uint64_t seed);
uint64_t layer_gen_next(struct layer_gen_rng *rng);
/* Uniform in [0, n); 0 when n is 0. */
uint32_t layer_gen_below(struct layer_gen_rng *rng, uint32_t n);
/* Uniform in [lo, hi] (inclusive). */
int64_t layer_gen_range(struct layer_gen_rng *rng, int64_t lo, int64_t hi);

/**
 * struct layer_gen_case - one generated layer and its buffers
 * @layer: a descriptor that nhot_layer_check() accepts
 * @shape: what nhot_layer_check() derived from it
 * @values: the weights as int8 values of S(w_n, w_b), out_c rows of shape.k
 *          (CONV2D, FC), else NULL
 * @input, @input2, @weights, @params, @output: heap buffers of exactly the
 *          sizes @shape gives (NULL where the layer uses none)
 * @t: the same buffers as the library takes them, lengths exact
 *
 * All buffers are owned by the case; layer_gen_free() releases them.
 */
struct layer_gen_case {
	struct nhot_layer layer;
	struct nhot_layer_shape shape;
	int8_t *values;
	uint8_t *input;
	uint8_t *input2;
	uint8_t *weights;
	struct nhot_chan_params *params;
	uint8_t *output;
	struct nhot_tensors t;
};

/* Budget of multiply-accumulates (or output elements) of an ordinary case. */
#define LAYER_GEN_MAX_WORK	(24u * 1024)

/*
 * Makes a random valid layer of the given type (an enum nhot_layer_type, or 0
 * for a random one) with matching random buffers. Shapes lean to the edges:
 * 1x1 and odd sizes, depthwise and grouped, stride 2, full padding, dilation,
 * K at NHOT_MAX_K, one output channel, zero points 0 and 255, saturating
 * multipliers, biases at +-2^30. Returns 0, -EINVAL for a bad type, -ENOMEM,
 * or the error of nhot_layer_check()/nhot_pack() should they refuse a case
 * (a disagreement with docs/arith.md that the test must report).
 */
int layer_gen_make(struct layer_gen_rng *rng, uint32_t type, struct layer_gen_case *c);

/*
 * The second half of layer_gen_make(), for a descriptor the caller chose in
 * c->layer: checks it and makes every buffer, with the same random contents
 * (everything in c but the layer is overwritten). 0, -ENOMEM or
 * nhot_layer_check()'s error.
 */
int layer_gen_fill(struct layer_gen_rng *rng, struct layer_gen_case *c);

/* Frees the buffers of a case made by layer_gen_make() or layer_gen_fill(); NULL-safe, idempotent. */
void layer_gen_free(struct layer_gen_case *c);

/* One line describing the layer, for failure messages. */
void layer_gen_describe(const struct nhot_layer *l, char *buf, size_t len);

#endif /* LAYER_GEN_H */
