// SPDX-License-Identifier: MIT
/*
 * Random valid nhot layers with boundary-biased shapes (see layer_gen.h).
 *
 * Shapes are kept small (LAYER_GEN_MAX_WORK products or elements, except
 * the deliberate K = NHOT_MAX_K cases) so that thousands of cases, run
 * through the plain-C reference, take seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_gen.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void layer_gen_seed(struct layer_gen_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t layer_gen_next(struct layer_gen_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t layer_gen_below(struct layer_gen_rng *rng, uint32_t n)
{
	if (!n)
		return 0;
	/* 64-bit product: the bias of the multiply-shift is below 2^-32. */
	return (uint32_t)(((layer_gen_next(rng) >> 32) * (uint64_t)n) >> 32);
}

int64_t layer_gen_range(struct layer_gen_rng *rng, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)(hi - lo) + 1;

	if (span == 0)	/* the whole 64-bit range */
		return (int64_t)layer_gen_next(rng);
	return lo + (int64_t)(layer_gen_next(rng) % span);
}

/* True with probability num/den. */
static int chance(struct layer_gen_rng *rng, uint32_t num, uint32_t den)
{
	return layer_gen_below(rng, den) < num;
}

static uint32_t pick(struct layer_gen_rng *rng, const uint32_t *v, size_t n)
{
	return v[layer_gen_below(rng, (uint32_t)n)];
}

#define PICK(rng, ...) ({ static const uint32_t v_[] = { __VA_ARGS__ }; \
			  pick(rng, v_, sizeof(v_) / sizeof(v_[0])); })

/* A spatial size: mostly the small odd and even edge cases. */
static uint32_t gen_dim(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 2))
		return PICK(rng, 1, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17);
	return 1 + layer_gen_below(rng, 12);
}

/* A channel count: around the 4-, 16- and 64-lane vector widths. */
static uint32_t gen_channels(struct layer_gen_rng *rng)
{
	if (chance(rng, 2, 3))
		return PICK(rng, 1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 17, 24, 31, 32,
			    33, 48, 63, 64, 65, 96, 127, 128, 129);
	return 1 + layer_gen_below(rng, 160);
}

static uint32_t gen_zero_point(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 2))
		return PICK(rng, 0, 0, 255, 128, 1, 254);
	return layer_gen_below(rng, 256);
}

static void gen_clamp(struct layer_gen_rng *rng, uint32_t out_zero, struct nhot_layer *l)
{
	switch (layer_gen_below(rng, 5)) {
	case 0:
	case 1:
		l->act_min = 0;
		l->act_max = 255;
		break;
	case 2:		/* ReLU-like */
		l->act_min = out_zero;
		l->act_max = 255;
		break;
	case 3:		/* a single value */
		l->act_min = l->act_max = layer_gen_below(rng, 256);
		break;
	default:
		l->act_min = layer_gen_below(rng, 256);
		l->act_max = l->act_min + layer_gen_below(rng, 256 - l->act_min);
		break;
	}
}

static uint32_t gen_shift(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 4))
		return PICK(rng, 1, 2, 31, 32, 33, 61, 62);
	if (chance(rng, 2, 3))
		return 30 + layer_gen_below(rng, 14);	/* realistic: ~2^-8 .. 2^-13 */
	return 1 + layer_gen_below(rng, 62);
}

static uint32_t gen_mult(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 5))
		return PICK(rng, 0, 1, 1u << 30, 0x7fffffff, 0x7ffffffe);
	if (chance(rng, 3, 4))
		return (1u << 30) + layer_gen_below(rng, 1u << 30);
	return layer_gen_below(rng, 1u << 31);
}

static int32_t gen_bias(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 6))
		return (int32_t)PICK(rng, 0, 1u << 30, (uint32_t)-(1 << 30), 1,
				     (uint32_t)-1, (1u << 30) - 1);
	if (chance(rng, 3, 4))
		return (int32_t)layer_gen_range(rng, -(1 << 16), 1 << 16);
	return (int32_t)layer_gen_range(rng, -(1 << 30), 1 << 30);
}

/* Kernel extent, padding of both sides, and an input size that fits them. */
static void gen_window(struct layer_gen_rng *rng, uint32_t kernel, uint32_t dilation,
		       uint32_t *in, uint32_t *pad_a, uint32_t *pad_b)
{
	uint32_t extent = (kernel - 1) * dilation + 1;

	switch (layer_gen_below(rng, 4)) {
	case 0:
		*pad_a = *pad_b = 0;
		break;
	case 1:		/* "same" */
		*pad_a = (extent - 1) / 2;
		*pad_b = extent - 1 - *pad_a;
		break;
	case 2:		/* the most the limits allow */
		*pad_a = *pad_b = extent - 1;
		break;
	default:
		*pad_a = layer_gen_below(rng, extent);
		*pad_b = layer_gen_below(rng, extent);
		break;
	}
	if (*in + *pad_a + *pad_b < extent)
		*in = extent - *pad_a - *pad_b;
}

static uint32_t gen_kernel(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 12))
		return 1 + layer_gen_below(rng, NHOT_MAX_KERNEL);
	return PICK(rng, 1, 1, 2, 3, 3, 3, 5);
}

static uint32_t gen_stride(struct layer_gen_rng *rng)
{
	if (chance(rng, 1, 8))
		return 1 + layer_gen_below(rng, NHOT_MAX_STRIDE);
	return PICK(rng, 1, 1, 2);
}

static uint32_t out_size(uint32_t in, uint32_t pa, uint32_t pb, uint32_t kernel,
			 uint32_t dilation, uint32_t stride)
{
	uint32_t extent = (kernel - 1) * dilation + 1;

	return (in + pa + pb - extent) / stride + 1;
}

static void gen_nb(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	if (chance(rng, 1, 2)) {
		static const uint32_t common[][2] = { {2, 8}, {1, 8}, {4, 8}, {3, 8}, {2, 4} };
		uint32_t i = layer_gen_below(rng, 5);

		l->w_n = common[i][0];
		l->w_b = common[i][1];
	} else {
		l->w_n = NHOT_MIN_N + layer_gen_below(rng, NHOT_MAX_N - NHOT_MIN_N + 1);
		l->w_b = NHOT_MIN_B + layer_gen_below(rng, NHOT_MAX_B - NHOT_MIN_B + 1);
	}
}

/* A CONV2D: pointwise, 3x3, depthwise, grouped, or K at the limit. */
static void gen_conv(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	uint32_t variant = layer_gen_below(rng, 16);
	uint32_t cg, og;

	l->batch = chance(rng, 1, 6) ? 2 + layer_gen_below(rng, 2) : 1;
	l->in_h = gen_dim(rng);
	l->in_w = gen_dim(rng);
	l->stride_h = gen_stride(rng);
	l->stride_w = chance(rng, 3, 4) ? l->stride_h : gen_stride(rng);
	l->dilation_h = l->dilation_w = 1;
	if (chance(rng, 1, 8)) {
		l->dilation_h = 1 + layer_gen_below(rng, NHOT_MAX_DILATION);
		l->dilation_w = 1 + layer_gen_below(rng, 3);
	}
	l->groups = 1;

	if (variant == 0) {
		/* K = NHOT_MAX_K exactly: 2x2 over 8192 channels, one output. */
		l->batch = 1;
		l->in_h = l->in_w = 2;
		l->in_c = NHOT_MAX_CHANNELS;
		l->kernel_h = l->kernel_w = 2;
		l->stride_h = l->stride_w = 1;
		l->dilation_h = l->dilation_w = 1;
		l->out_c = 1 + layer_gen_below(rng, 2);
		return;
	}
	if (variant <= 5) {		/* pointwise */
		l->kernel_h = l->kernel_w = 1;
		l->in_c = gen_channels(rng);
		l->out_c = gen_channels(rng);
	} else if (variant <= 9) {	/* depthwise, multiplier 1 or 2 */
		l->kernel_h = l->kernel_w = chance(rng, 3, 4) ? 3 : gen_kernel(rng);
		l->in_c = gen_channels(rng);
		l->groups = l->in_c;
		l->out_c = l->in_c * (chance(rng, 4, 5) ? 1 : 2);
	} else if (variant <= 11) {	/* grouped */
		cg = 1 + layer_gen_below(rng, 8);
		og = 1 + layer_gen_below(rng, 8);
		l->groups = 2 + layer_gen_below(rng, 4);
		l->in_c = cg * l->groups;
		l->out_c = og * l->groups;
		l->kernel_h = gen_kernel(rng);
		l->kernel_w = gen_kernel(rng);
	} else {			/* general, sometimes one output channel */
		l->kernel_h = gen_kernel(rng);
		l->kernel_w = chance(rng, 2, 3) ? l->kernel_h : gen_kernel(rng);
		l->in_c = gen_channels(rng);
		l->out_c = chance(rng, 1, 4) ? 1 : gen_channels(rng);
	}
	gen_window(rng, l->kernel_h, l->dilation_h, &l->in_h, &l->pad_top, &l->pad_bottom);
	gen_window(rng, l->kernel_w, l->dilation_w, &l->in_w, &l->pad_left, &l->pad_right);
}

static void gen_fc(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	l->batch = chance(rng, 1, 2) ? 1 : 1 + layer_gen_below(rng, 9);
	if (chance(rng, 1, 16)) {
		/* K = NHOT_MAX_K: 8 x 8 x 512. */
		l->batch = 1;
		l->in_h = l->in_w = 8;
		l->in_c = 512;
		l->out_c = 1 + layer_gen_below(rng, 2);
		return;
	}
	if (chance(rng, 1, 2)) {
		l->in_h = l->in_w = 1;
	} else {
		l->in_h = 1 + layer_gen_below(rng, 4);
		l->in_w = 1 + layer_gen_below(rng, 4);
	}
	l->in_c = chance(rng, 1, 2) ? gen_channels(rng) : 1 + layer_gen_below(rng, 1300);
	l->out_c = chance(rng, 1, 5) ? 1 : gen_channels(rng);
}

static void gen_pool(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	l->batch = chance(rng, 1, 6) ? 2 : 1;
	l->in_h = gen_dim(rng);
	l->in_w = gen_dim(rng);
	l->in_c = gen_channels(rng);
	if (l->type == NHOT_LAYER_GLOBAL_AVGPOOL) {
		if (chance(rng, 1, 16)) {
			/* The largest plane: 256 x 256 = 65536 positions. */
			l->in_h = l->in_w = 256;
			l->in_c = 1 + layer_gen_below(rng, 2);
		}
		return;
	}
	l->kernel_h = chance(rng, 1, 2) ? 2 + layer_gen_below(rng, 2) : gen_kernel(rng);
	l->kernel_w = chance(rng, 3, 4) ? l->kernel_h : gen_kernel(rng);
	l->stride_h = chance(rng, 1, 2) ? l->kernel_h : gen_stride(rng);
	l->stride_w = chance(rng, 1, 2) ? l->stride_h : gen_stride(rng);
	if (l->stride_h > NHOT_MAX_STRIDE)
		l->stride_h = NHOT_MAX_STRIDE;
	if (l->stride_w > NHOT_MAX_STRIDE)
		l->stride_w = NHOT_MAX_STRIDE;
	gen_window(rng, l->kernel_h, 1, &l->in_h, &l->pad_top, &l->pad_bottom);
	gen_window(rng, l->kernel_w, 1, &l->in_w, &l->pad_left, &l->pad_right);
}

static void gen_add(struct layer_gen_rng *rng, struct nhot_layer *l)
{
	l->batch = chance(rng, 1, 6) ? 2 : 1;
	l->in_h = gen_dim(rng);
	l->in_w = gen_dim(rng);
	l->in_c = gen_channels(rng);
	l->in2_zero = gen_zero_point(rng);
	l->add_mult_a = gen_mult(rng);
	l->add_mult_b = gen_mult(rng);
	l->add_shift = gen_shift(rng);
}

/* Work of a descriptor: products for CONV2D/FC, elements otherwise. */
static uint64_t work_of(const struct nhot_layer *l)
{
	uint64_t oh = 1, ow = 1, k = 1;

	switch (l->type) {
	case NHOT_LAYER_CONV2D:
		oh = out_size(l->in_h, l->pad_top, l->pad_bottom, l->kernel_h,
			      l->dilation_h, l->stride_h);
		ow = out_size(l->in_w, l->pad_left, l->pad_right, l->kernel_w,
			      l->dilation_w, l->stride_w);
		k = (uint64_t)l->kernel_h * l->kernel_w * (l->in_c / l->groups);
		return (uint64_t)l->batch * oh * ow * l->out_c * k;
	case NHOT_LAYER_FC:
		k = (uint64_t)l->in_h * l->in_w * l->in_c;
		return (uint64_t)l->batch * l->out_c * k;
	default:
		return (uint64_t)l->batch * l->in_h * l->in_w * l->in_c;
	}
}

static int is_at_k_limit(const struct nhot_layer *l)
{
	if (l->type == NHOT_LAYER_FC)
		return (uint64_t)l->in_h * l->in_w * l->in_c == NHOT_MAX_K;
	if (l->type == NHOT_LAYER_CONV2D)
		return l->kernel_h * l->kernel_w * (l->in_c / l->groups) == NHOT_MAX_K;
	return 0;
}

static void gen_descriptor(struct layer_gen_rng *rng, uint32_t type, struct nhot_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->type = type;
	switch (type) {
	case NHOT_LAYER_CONV2D:
		gen_conv(rng, l);
		break;
	case NHOT_LAYER_FC:
		gen_fc(rng, l);
		break;
	case NHOT_LAYER_ADD:
		gen_add(rng, l);
		break;
	default:
		gen_pool(rng, l);
		break;
	}
	l->in_zero = gen_zero_point(rng);
	if (type == NHOT_LAYER_CONV2D || type == NHOT_LAYER_FC || type == NHOT_LAYER_ADD)
		l->out_zero = gen_zero_point(rng);
	if (type == NHOT_LAYER_CONV2D || type == NHOT_LAYER_FC)
		gen_nb(rng, l);
	gen_clamp(rng, l->out_zero, l);
}

static void fill_bytes(struct layer_gen_rng *rng, uint8_t *p, uint64_t n, uint32_t zero)
{
	uint32_t mode = layer_gen_below(rng, 8);

	for (uint64_t i = 0; i < n; i++) {
		switch (mode) {
		case 0:		/* all at the zero point: only bias survives */
			p[i] = (uint8_t)zero;
			break;
		case 1:		/* the extremes */
			p[i] = (layer_gen_next(rng) & 1) ? 255 : 0;
			break;
		default:
			p[i] = (uint8_t)layer_gen_next(rng);
			break;
		}
	}
}

static int fill_weights(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	const struct nhot_layer *l = &c->layer;
	int16_t set[NHOT_SET_MAX];
	uint64_t count = (uint64_t)l->out_c * c->shape.k;
	uint32_t mode = layer_gen_below(rng, 6);
	int size = nhot_set_values((int)l->w_n, (int)l->w_b, set, NHOT_SET_MAX);

	if (size < 0)
		return size;
	c->values = malloc(count ? count : 1);
	if (!c->values)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t idx;

		switch (mode) {
		case 0:		/* extremes: the largest magnitude both ways */
			idx = (layer_gen_next(rng) & 1) ? (uint32_t)size - 1 : 0;
			break;
		case 1:		/* sparse: mostly zeros (the middle of S) */
			idx = chance(rng, 3, 4) ? (uint32_t)size / 2
						: layer_gen_below(rng, (uint32_t)size);
			break;
		default:
			idx = layer_gen_below(rng, (uint32_t)size);
			break;
		}
		c->values[i] = (int8_t)set[idx];
	}
	return nhot_pack((int)l->w_n, (int)l->w_b, c->values, l->out_c, c->shape.k,
			 c->weights, c->shape.weight_bytes);
}

static void fill_params(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	int same = chance(rng, 1, 3);	/* per-tensor quantization */

	for (uint32_t o = 0; o < c->layer.out_c; o++) {
		if (same && o > 0) {
			c->params[o] = c->params[0];
			c->params[o].bias = gen_bias(rng);
			continue;
		}
		c->params[o].bias = gen_bias(rng);
		c->params[o].mult = gen_mult(rng);
		c->params[o].shift = gen_shift(rng);
	}
}

static void *alloc_or_null(uint64_t bytes, int *err)
{
	void *p;

	if (!bytes)
		return NULL;
	p = malloc(bytes);
	if (!p)
		*err = -ENOMEM;
	return p;
}

int layer_gen_make(struct layer_gen_rng *rng, uint32_t type, struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;

	memset(c, 0, sizeof(*c));
	if (type > NHOT_LAYER_TYPE_MAX)
		return -EINVAL;
	if (!type)
		type = PICK(rng, NHOT_LAYER_CONV2D, NHOT_LAYER_CONV2D, NHOT_LAYER_CONV2D,
			    NHOT_LAYER_FC, NHOT_LAYER_FC, NHOT_LAYER_ADD,
			    NHOT_LAYER_AVGPOOL, NHOT_LAYER_GLOBAL_AVGPOOL,
			    NHOT_LAYER_MAXPOOL);
	/* Redraw until the case is within budget (the K-limit ones always are). */
	do
		gen_descriptor(rng, type, l);
	while (work_of(l) > LAYER_GEN_MAX_WORK && !is_at_k_limit(l) &&
	       !(l->type == NHOT_LAYER_GLOBAL_AVGPOOL && l->in_h == 256));
	return layer_gen_fill(rng, c);
}

int layer_gen_fill(struct layer_gen_rng *rng, struct layer_gen_case *c)
{
	struct nhot_layer *l = &c->layer;
	int err;

	memset(&c->shape, 0, sizeof(*c) - offsetof(struct layer_gen_case, shape));
	err = nhot_layer_check(l, &c->shape);
	if (err)
		return err;

	c->input = alloc_or_null(c->shape.input_bytes, &err);
	c->input2 = alloc_or_null(c->shape.input2_bytes, &err);
	c->weights = alloc_or_null(c->shape.weight_bytes, &err);
	c->params = alloc_or_null(c->shape.params_bytes, &err);
	c->output = alloc_or_null(c->shape.output_bytes, &err);
	if (err)
		goto err_free;

	fill_bytes(rng, c->input, c->shape.input_bytes, l->in_zero);
	if (c->input2)
		fill_bytes(rng, c->input2, c->shape.input2_bytes, l->in2_zero);
	if (c->weights) {
		err = fill_weights(rng, c);
		if (err)
			goto err_free;
	}
	if (c->params)
		fill_params(rng, c);
	memset(c->output, 0xa5, c->shape.output_bytes);

	c->t = (struct nhot_tensors) {
		.input = c->input, .input_len = c->shape.input_bytes,
		.input2 = c->input2, .input2_len = c->shape.input2_bytes,
		.weights = c->weights, .weights_len = c->shape.weight_bytes,
		.params = c->params, .params_len = c->shape.params_bytes,
		.output = c->output, .output_len = c->shape.output_bytes,
	};
	return 0;

err_free:
	layer_gen_free(c);
	return err;
}

void layer_gen_free(struct layer_gen_case *c)
{
	if (!c)
		return;
	free(c->values);
	free(c->input);
	free(c->input2);
	free(c->weights);
	free(c->params);
	free(c->output);
	c->values = NULL;
	c->input = c->input2 = c->weights = c->output = NULL;
	c->params = NULL;
	memset(&c->t, 0, sizeof(c->t));
}

void layer_gen_describe(const struct nhot_layer *l, char *buf, size_t len)
{
	snprintf(buf, len,
		 "type=%u N=%u H=%u W=%u C=%u O=%u k=%ux%u s=%ux%u d=%ux%u pad=%u,%u,%u,%u "
		 "g=%u n=%u b=%u zin=%u zin2=%u zout=%u act=%u..%u add=%u,%u>>%u",
		 l->type, l->batch, l->in_h, l->in_w, l->in_c, l->out_c,
		 l->kernel_h, l->kernel_w, l->stride_h, l->stride_w,
		 l->dilation_h, l->dilation_w, l->pad_top, l->pad_bottom,
		 l->pad_left, l->pad_right, l->groups, l->w_n, l->w_b,
		 l->in_zero, l->in2_zero, l->out_zero, l->act_min, l->act_max,
		 l->add_mult_a, l->add_mult_b, l->add_shift);
}
