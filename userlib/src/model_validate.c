// SPDX-License-Identifier: MIT
/*
 * Consistency of a quantized network (docs/model-format.md "What the loader
 * checks"): every layer valid by docs/arith.md, shapes and zero points
 * chaining from node to node, parameters in range, every weight code valid.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_model.h"
#include "model_err.h"

/** The tensor a node input reads. */
struct tensor_desc {
	uint32_t h, w, c;
	uint32_t zero;
	double scale;
};

static int has_weights(const struct nhot_layer *l)
{
	return l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC;
}

static int source_desc(const struct nhot_qnet *net, uint32_t node, uint32_t src,
		       struct tensor_desc *t)
{
	const struct nhot_qnode *p;

	if (src == NHOT_QNET_SRC_INPUT) {
		t->h = net->in_h;
		t->w = net->in_w;
		t->c = net->in_c;
		t->zero = net->in_zero;
		t->scale = net->in_scale;
		return 0;
	}
	/* Topological order: a node reads only earlier nodes. */
	if (src > node)
		return -EINVAL;
	p = &net->nodes[src - 1];
	t->h = p->shape.out_h;
	t->w = p->shape.out_w;
	t->c = p->shape.out_c;
	t->zero = p->out_zero;
	t->scale = p->out_scale;
	return 0;
}

static int check_source(const struct nhot_qnet *net, uint32_t i, int which,
			const struct nhot_layer *l, uint32_t zero,
			struct tensor_desc *t, char *err, size_t err_len)
{
	uint32_t src = net->nodes[i].src[which];

	if (source_desc(net, i, src, t))
		return model_fail(err, err_len, -EINVAL,
				  "node %u: input %d reads source %u, not an earlier node",
				  i, which, src);
	if (t->h != l->in_h || t->w != l->in_w || t->c != l->in_c)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: input %d is %ux%ux%u but source %u gives %ux%ux%u",
				  i, which, l->in_h, l->in_w, l->in_c, src,
				  t->h, t->w, t->c);
	if (zero != t->zero)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: input %d zero point %u, source %u has %u",
				  i, which, zero, src, t->zero);
	return 0;
}

static int check_params(uint32_t i, const struct nhot_qnode *nd, char *err,
			size_t err_len)
{
	uint32_t c;

	for (c = 0; c < nd->layer.out_c; c++) {
		const struct nhot_chan_params *p = &nd->params[c];

		if (p->bias > NHOT_MAX_BIAS || p->bias < -NHOT_MAX_BIAS)
			return model_fail(err, err_len, -EOVERFLOW,
					  "node %u channel %u: bias %d beyond 2^30",
					  i, c, p->bias);
		if (p->mult > 0x7fffffffU || p->shift < 1 || p->shift > NHOT_MAX_SHIFT)
			return model_fail(err, err_len, -EINVAL,
					  "node %u channel %u: multiplier %u shift %u out of range",
					  i, c, p->mult, p->shift);
		if (!isfinite(nd->w_scales[c]) || nd->w_scales[c] <= 0)
			return model_fail(err, err_len, -EINVAL,
					  "node %u channel %u: weight scale not a positive number",
					  i, c);
	}
	return 0;
}

/* Input channels per tap of a weighted layer (the cg of nhot_tap_digits()). */
static size_t tap_width(const struct nhot_qnode *nd)
{
	const struct nhot_layer *l = &nd->layer;

	return l->type == NHOT_LAYER_CONV2D ? l->in_c / l->groups : nd->shape.k;
}

/* Decodes every code (catching invalid ones) and counts the NAF digits per tap. */
static int check_weights(uint32_t i, struct nhot_qnode *nd, char *err,
			 size_t err_len)
{
	const struct nhot_layer *l = &nd->layer;
	uint32_t taps = nhot_layer_taps(l), t;
	size_t count = (size_t)l->out_c * nd->shape.k;
	int8_t *q;
	int rc;

	if (nd->weight_bytes != nd->shape.weight_bytes)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: %llu weight bytes, the layer needs %llu",
				  i, (unsigned long long)nd->weight_bytes,
				  (unsigned long long)nd->shape.weight_bytes);
	for (t = 0; t < taps; t++)
		if (nd->u8_tap_digits[t] > 4ULL * l->out_c * tap_width(nd))
			return model_fail(err, err_len, -EINVAL,
					  "node %u tap %u: uniform-8 digit count %llu exceeds 4 per weight",
					  i, t, (unsigned long long)nd->u8_tap_digits[t]);
	free(nd->tap_digits);
	nd->tap_digits = calloc(taps, sizeof(*nd->tap_digits));
	q = malloc(count);
	if (!q || !nd->tap_digits) {
		free(q);
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	}
	rc = nhot_unpack((int)l->w_n, (int)l->w_b, nd->weights, nd->weight_bytes,
			 l->out_c, nd->shape.k, q);
	if (rc < 0) {
		free(q);
		return model_fail(err, err_len, rc, "node %u: weights do not decode (%s)",
				  i, rc == -EILSEQ ? "invalid code" : "bad size");
	}
	nhot_tap_digits(q, l->out_c, nd->shape.k, tap_width(nd), nd->tap_digits);
	free(q);
	return 0;
}

/* What each errno of nhot_layer_check() means, as docs/arith.md section 3's table says. */
static const char *layer_check_meaning(int rc)
{
	switch (rc) {
	case -EOPNOTSUPP:
		return "unknown layer type, or n, b outside 1..4, 2..8 (docs/arith.md 3)";
	case -EOVERFLOW:
		return "a size, kernel, stride, padding or count beyond docs/arith.md 3's limits";
	case -EINVAL:
		return "a zero point, bound, unused field, groups or output size invalid "
		       "(docs/arith.md 3)";
	default:
		return "docs/arith.md section 3";
	}
}

static int check_node(struct nhot_qnet *net, uint32_t i, char *err, size_t err_len)
{
	struct nhot_qnode *nd = &net->nodes[i];
	const struct nhot_layer *l = &nd->layer;
	struct tensor_desc a, b;
	int rc;

	if (l->batch != 1)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: batch %u, a file stores batch 1", i, l->batch);
	rc = nhot_layer_check(l, &nd->shape);
	if (rc)
		return model_fail(err, err_len, rc,
				  "node %u: layer rejected: %s (%s): %s",
				  i, strerrorname_np(-rc) ? strerrorname_np(-rc) : "?",
				  strerror(-rc), layer_check_meaning(rc));
	rc = check_source(net, i, 0, l, l->in_zero, &a, err, err_len);
	if (rc)
		return rc;
	if (l->type == NHOT_LAYER_ADD) {
		rc = check_source(net, i, 1, l, l->in2_zero, &b, err, err_len);
		if (rc)
			return rc;
	} else if (nd->src[1] != NHOT_QNET_SRC_NONE) {
		return model_fail(err, err_len, -EINVAL,
				  "node %u: a one-input layer with a second input", i);
	}
	if (!isfinite(nd->out_scale) || nd->out_scale <= 0)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: output scale not a positive number", i);
	if (l->type == NHOT_LAYER_AVGPOOL || l->type == NHOT_LAYER_GLOBAL_AVGPOOL ||
	    l->type == NHOT_LAYER_MAXPOOL) {
		/* Pools keep the input's quantization (docs/arith.md 2.5). */
		if (nd->out_zero != l->in_zero || nd->out_scale != a.scale)
			return model_fail(err, err_len, -EINVAL,
					  "node %u: a pool's output scale and zero point must be its input's",
					  i);
	} else if (nd->out_zero != l->out_zero) {
		return model_fail(err, err_len, -EINVAL,
				  "node %u: output zero point %u, the layer says %u",
				  i, nd->out_zero, l->out_zero);
	}
	if (!has_weights(l)) {
		if (nd->weight_bytes)
			return model_fail(err, err_len, -EINVAL,
					  "node %u: weights on a layer without weights", i);
		return 0;
	}
	if (!nd->params || !nd->w_scales || !nd->weights || !nd->u8_tap_digits)
		return model_fail(err, err_len, -EINVAL, "node %u: missing arrays", i);
	rc = check_params(i, nd, err, err_len);
	if (rc)
		return rc;
	return check_weights(i, nd, err, err_len);
}

int nhot_qnet_validate(struct nhot_qnet *net, char *err, size_t err_len)
{
	uint32_t i;
	int rc;

	if (!net)
		return model_fail(err, err_len, -EINVAL, "no network");
	if (!net->in_h || !net->in_w || !net->in_c || net->in_h > NHOT_MAX_DIM ||
	    net->in_w > NHOT_MAX_DIM || net->in_c > NHOT_MAX_CHANNELS)
		return model_fail(err, err_len, -EINVAL, "input shape %ux%ux%u out of range",
				  net->in_h, net->in_w, net->in_c);
	if (net->in_zero > 255 || !isfinite(net->in_scale) || net->in_scale <= 0)
		return model_fail(err, err_len, -EINVAL, "input scale or zero point out of range");
	if (!net->node_count || net->node_count > NHOT_QNET_MAX_NODES || !net->nodes)
		return model_fail(err, err_len, -EFBIG, "%u nodes (1..%u)",
				  net->node_count, NHOT_QNET_MAX_NODES);
	for (i = 0; i < net->node_count; i++) {
		rc = check_node(net, i, err, err_len);
		if (rc)
			return rc;
	}
	return 0;
}

uint32_t nhot_qnet_classes(const struct nhot_qnet *net)
{
	const struct nhot_layer_shape *s = &net->nodes[net->node_count - 1].shape;

	return s->out_h * s->out_w * s->out_c;
}

size_t nhot_qnet_input_bytes(const struct nhot_qnet *net)
{
	return (size_t)net->in_h * net->in_w * net->in_c;
}

/* Output positions whose input row (or column) at tap offset t is in bounds. */
static uint64_t valid_positions(uint32_t out, uint32_t stride, uint32_t pad,
				uint32_t dil, uint32_t t, uint32_t in)
{
	uint64_t n = 0;
	uint32_t o;

	for (o = 0; o < out; o++) {
		int64_t at = (int64_t)o * stride - pad + (int64_t)t * dil;

		n += at >= 0 && at < in;
	}
	return n;
}

/*
 * The products of one image per tap, as docs/arith.md 2.7 counts them: a
 * tap whose input position lies in the padding is no product.
 */
static void node_cost(const struct nhot_qnode *nd, struct nhot_qnet_cost *cost)
{
	const struct nhot_layer *l = &nd->layer;
	uint32_t ky, kx, t;
	uint64_t pos;

	cost->weight_bytes += nd->weight_bytes;
	cost->weight_count += (uint64_t)l->out_c * nd->shape.k;
	if (l->type == NHOT_LAYER_FC) {
		cost->macs += (uint64_t)l->out_c * nd->shape.k;
		cost->shift_adds += nd->tap_digits[0];
		cost->u8_zero_skip += nd->u8_tap_digits[0];
		return;
	}
	for (ky = 0; ky < l->kernel_h; ky++) {
		for (kx = 0; kx < l->kernel_w; kx++) {
			t = ky * l->kernel_w + kx;
			pos = valid_positions(nd->shape.out_h, l->stride_h, l->pad_top,
					      l->dilation_h, ky, l->in_h) *
			      valid_positions(nd->shape.out_w, l->stride_w, l->pad_left,
					      l->dilation_w, kx, l->in_w);
			cost->macs += pos * l->out_c * tap_width(nd);
			cost->shift_adds += pos * nd->tap_digits[t];
			cost->u8_zero_skip += pos * nd->u8_tap_digits[t];
		}
	}
}

void nhot_qnet_cost(const struct nhot_qnet *net, struct nhot_qnet_cost *cost)
{
	uint32_t i;

	memset(cost, 0, sizeof(*cost));
	for (i = 0; i < net->node_count; i++)
		/* The digit sums exist once nhot_qnet_validate() has run. */
		if (has_weights(&net->nodes[i].layer) && net->nodes[i].tap_digits &&
		    net->nodes[i].u8_tap_digits)
			node_cost(&net->nodes[i], cost);
}
