// SPDX-License-Identifier: MIT
/*
 * Post-training quantization: a float network (nhot_fmodel.h) to a quantized
 * one (nhot_model.h). Float node i (i >= 1) becomes quantized node i - 1, so
 * a float input index k is the quantized source k (0: the network input).
 * The rules are those of docs/model-format.md "Quantization".
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_model.h"
#include "nhot_fmodel.h"
#include "model_err.h"

/* Images per float forward pass while calibrating (bounds the memory). */
#define CALIB_CHUNK	64

/** The real range and the quantization of one float node's output. */
struct act_q {
	float lo, hi;
	double scale;
	uint32_t zero;
};

/* Min/max of every node's output over the calibration images. */
static int calibrate(const struct nhot_fnet *fnet, const float *calib,
		     unsigned int count, struct act_q *aq)
{
	size_t in_elems = nhot_fnode_elems(&fnet->nodes[0]);
	float **outs;
	unsigned int at, chunk;
	uint32_t i;
	size_t j, n;
	int rc = 0;

	outs = calloc(fnet->node_count, sizeof(*outs));
	if (!outs)
		return -ENOMEM;
	for (i = 0; i < fnet->node_count; i++) {
		aq[i].lo = 0;	/* 0 is always in range: zero padding is exact */
		aq[i].hi = 0;
	}
	for (at = 0; at < count; at += chunk) {
		chunk = count - at < CALIB_CHUNK ? count - at : CALIB_CHUNK;
		rc = nhot_fnet_forward(fnet, calib + (size_t)at * in_elems, (int)chunk, outs);
		if (rc)
			break;
		for (i = 1; i < fnet->node_count; i++) {
			n = nhot_fnode_elems(&fnet->nodes[i]) * chunk;
			for (j = 0; j < n; j++) {
				if (outs[i][j] < aq[i].lo)
					aq[i].lo = outs[i][j];
				if (outs[i][j] > aq[i].hi)
					aq[i].hi = outs[i][j];
			}
		}
		nhot_fnet_outputs_free(fnet, outs);
	}
	free(outs);
	return rc;
}

/* Scale and zero point covering [lo, hi] (lo <= 0 <= hi) in 0..255. */
static void act_params(struct act_q *a)
{
	double lo = a->lo, hi = a->hi, z;

	if (hi - lo < 1e-6)
		hi = lo + 1e-6;
	a->scale = (hi - lo) / 255.0;
	z = nearbyint(-lo / a->scale);
	a->zero = z < 0 ? 0 : z > 255 ? 255 : (uint32_t)z;
}

/* The clamp that implements the float node's activation. */
static void act_clamp(const struct nhot_fnode *f, const struct act_q *a,
		      struct nhot_layer *l)
{
	double top;

	l->act_min = 0;
	l->act_max = 255;
	if (f->act == NHOT_FACT_RELU || f->act == NHOT_FACT_RELU6)
		l->act_min = a->zero;
	if (f->act == NHOT_FACT_RELU6) {
		top = a->zero + nearbyint(6.0 / a->scale);
		l->act_max = top > 255 ? 255 : (uint32_t)top;
	}
}

static void geometry(const struct nhot_fnode *f, const struct nhot_fnode *src,
		     struct nhot_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->type = f->op;
	l->batch = 1;
	l->in_h = src->out_h;
	l->in_w = src->out_w;
	l->in_c = src->out_c;
	if (f->op == NHOT_FOP_CONV2D || f->op == NHOT_FOP_FC)
		l->out_c = f->out_c;
	if (f->op == NHOT_FOP_CONV2D || f->op == NHOT_FOP_AVGPOOL || f->op == NHOT_FOP_MAXPOOL) {
		l->kernel_h = f->kernel_h;
		l->kernel_w = f->kernel_w;
		l->stride_h = f->stride_h;
		l->stride_w = f->stride_w;
		l->pad_top = f->pad_top;
		l->pad_bottom = f->pad_bottom;
		l->pad_left = f->pad_left;
		l->pad_right = f->pad_right;
	}
	if (f->op == NHOT_FOP_CONV2D) {
		l->dilation_h = f->dilation_h;
		l->dilation_w = f->dilation_w;
		l->groups = f->groups;
	}
}

/* A real multiplier as M * 2^-s; one too small to matter becomes 0. */
static int chan_multiplier(double real, uint32_t *mult, uint32_t *shift)
{
	if (real < ldexp(1.0, -(NHOT_MAX_SHIFT - 31))) {
		*mult = 0;
		*shift = 1;
		return 0;
	}
	return nhot_quantize_multiplier(real, mult, shift);
}

static int quantize_weights(const struct nhot_fnode *f, double in_scale,
			    const struct act_q *out, const struct nhot_quant_opts *o,
			    struct nhot_qnode *nd, char *err, size_t err_len, uint32_t idx)
{
	const struct nhot_layer *l = &nd->layer;
	size_t k = f->k, cg = l->type == NHOT_LAYER_CONV2D ? l->in_c / l->groups : k;
	uint32_t taps = nhot_layer_taps(l), c;
	int8_t *q = NULL, *q8 = NULL;
	double s8, b;
	int rc = -ENOMEM;

	nd->weight_bytes = (uint64_t)l->out_c * nhot_row_bytes(o->n, o->b, k);
	nd->w_scales = calloc(l->out_c, sizeof(*nd->w_scales));
	nd->params = calloc(l->out_c, sizeof(*nd->params));
	nd->u8_tap_digits = calloc(taps, sizeof(*nd->u8_tap_digits));
	nd->weights = calloc(1, nd->weight_bytes ? nd->weight_bytes : 1);
	q = malloc((size_t)l->out_c * k);
	q8 = malloc(k);
	if (!nd->w_scales || !nd->params || !nd->u8_tap_digits || !nd->weights || !q || !q8)
		goto out_free;
	for (c = 0; c < l->out_c; c++) {
		const float *row = f->weights + (size_t)c * k;
		struct nhot_chan_params *p = &nd->params[c];

		rc = nhot_choose_scale(row, k, o->n, o->b, &nd->w_scales[c], q + (size_t)c * k);
		if (!rc)
			rc = nhot_choose_scale(row, k, 4, 8, &s8, q8);
		if (rc) {
			rc = model_fail(err, err_len, rc, "node %u channel %u: weights not finite",
					idx, c);
			goto out_free;
		}
		nhot_tap_digits(q8, 1, k, cg, nd->u8_tap_digits);
		b = nearbyint(f->bias[c] / (in_scale * nd->w_scales[c]));
		p->bias = b > NHOT_MAX_BIAS ? NHOT_MAX_BIAS :
			  b < -NHOT_MAX_BIAS ? -NHOT_MAX_BIAS : (int32_t)b;
		rc = chan_multiplier(in_scale * nd->w_scales[c] / out->scale, &p->mult, &p->shift);
		if (rc) {
			rc = model_fail(err, err_len, rc,
					"node %u channel %u: no multiplier for the scale ratio",
					idx, c);
			goto out_free;
		}
	}
	rc = nhot_pack(o->n, o->b, q, l->out_c, k, nd->weights, nd->weight_bytes);
	if (rc)
		rc = model_fail(err, err_len, rc, "node %u: packing failed", idx);
out_free:
	free(q);
	free(q8);
	if (rc == -ENOMEM)
		model_fail(err, err_len, rc, "out of memory");
	return rc;
}

/* ADD: both inputs rescaled to the output by one shared shift. */
static int add_multipliers(double sa, double sb, double sy, struct nhot_layer *l)
{
	double ra = sa / sy, rb = sb / sy, m = ra > rb ? ra : rb;
	int s = (int)floor(log2(2147483647.0 / m));

	if (s > NHOT_MAX_SHIFT)
		s = NHOT_MAX_SHIFT;
	if (s < 1)
		return -ERANGE;
	l->add_shift = (uint32_t)s;
	l->add_mult_a = (uint32_t)nearbyint(ldexp(ra, s));
	l->add_mult_b = (uint32_t)nearbyint(ldexp(rb, s));
	if (l->add_mult_a > 0x7fffffffU || l->add_mult_b > 0x7fffffffU)
		return -ERANGE;
	return 0;
}

static int quantize_node(const struct nhot_fnet *fnet, uint32_t i, struct act_q *aq,
			 const struct nhot_quant_opts *o, struct nhot_qnet *net,
			 char *err, size_t err_len)
{
	const struct nhot_fnode *f = &fnet->nodes[i];
	struct nhot_qnode *nd = &net->nodes[i - 1];
	struct nhot_layer *l = &nd->layer;
	const struct act_q *a = &aq[f->in[0]];

	if (f->op < NHOT_FOP_CONV2D || f->op > NHOT_FOP_MAXPOOL || f->in[0] < 0 ||
	    (uint32_t)f->in[0] >= i)
		return model_fail(err, err_len, -EINVAL, "float node %u: not a layer", i);
	geometry(f, &fnet->nodes[f->in[0]], l);
	nd->src[0] = (uint32_t)f->in[0];
	nd->src[1] = NHOT_QNET_SRC_NONE;
	l->in_zero = a->zero;
	if (f->op == NHOT_FOP_AVGPOOL || f->op == NHOT_FOP_GLOBAL_AVGPOOL ||
	    f->op == NHOT_FOP_MAXPOOL) {
		/* A pool keeps its input's quantization (docs/arith.md 2.5). */
		aq[i] = *a;
		nd->out_scale = a->scale;
		nd->out_zero = a->zero;
		act_clamp(f, a, l);
		return 0;
	}
	act_params(&aq[i]);
	nd->out_scale = aq[i].scale;
	nd->out_zero = aq[i].zero;
	l->out_zero = aq[i].zero;
	act_clamp(f, &aq[i], l);
	if (f->op == NHOT_FOP_ADD) {
		if (f->in[1] < 0 || (uint32_t)f->in[1] >= i)
			return model_fail(err, err_len, -EINVAL, "float node %u: bad input", i);
		nd->src[1] = (uint32_t)f->in[1];
		l->in2_zero = aq[f->in[1]].zero;
		if (add_multipliers(a->scale, aq[f->in[1]].scale, aq[i].scale, l))
			return model_fail(err, err_len, -ERANGE,
					  "node %u: ADD input scales too far from the output's", i - 1);
		return 0;
	}
	l->w_n = (uint32_t)o->n;
	l->w_b = (uint32_t)o->b;
	return quantize_weights(f, a->scale, &aq[i], o, nd, err, err_len, i - 1);
}

int nhot_qnet_quantize(const struct nhot_fnet *fnet, const float *calib,
		       unsigned int calib_count, const struct nhot_quant_opts *o,
		       struct nhot_qnet **out, char *err, size_t err_len)
{
	struct nhot_qnet *net = NULL;
	struct act_q *aq = NULL;
	uint32_t i;
	int rc;

	if (!fnet || !calib || !calib_count || !o || !out)
		return model_fail(err, err_len, -EINVAL, "missing network, images or options");
	*out = NULL;
	if (nhot_set_size(o->n, o->b) < 0)
		return model_fail(err, err_len, -EINVAL, "n = %d, b = %d: no such set", o->n, o->b);
	if (nhot_fnet_validate(fnet) || fnet->node_count < 2)
		return model_fail(err, err_len, -EINVAL, "invalid float network");
	aq = calloc(fnet->node_count, sizeof(*aq));
	net = calloc(1, sizeof(*net));
	if (!aq || !net) {
		rc = model_fail(err, err_len, -ENOMEM, "out of memory");
		goto err_free;
	}
	net->node_count = fnet->node_count - 1;
	net->nodes = calloc(net->node_count, sizeof(*net->nodes));
	if (!net->nodes) {
		rc = model_fail(err, err_len, -ENOMEM, "out of memory");
		goto err_free;
	}
	rc = calibrate(fnet, calib, calib_count, aq);
	if (rc) {
		model_fail(err, err_len, rc, "calibration forward pass failed");
		goto err_free;
	}
	/* Raw pixel bytes are the input: x = pixel / 255 exactly. */
	net->in_h = fnet->nodes[0].out_h;
	net->in_w = fnet->nodes[0].out_w;
	net->in_c = fnet->nodes[0].out_c;
	net->in_scale = 1.0 / 255.0;
	net->in_zero = 0;
	aq[0].scale = net->in_scale;
	aq[0].zero = 0;
	for (i = 1; i < fnet->node_count; i++) {
		rc = quantize_node(fnet, i, aq, o, net, err, err_len);
		if (rc)
			goto err_free;
		if (o->progress)
			o->progress(o->progress_arg, i, fnet->node_count - 1);
	}
	rc = nhot_qnet_validate(net, err, err_len);
	if (rc)
		goto err_free;
	free(aq);
	*out = net;
	return 0;

err_free:
	free(aq);
	nhot_qnet_free(net);
	return rc;
}
