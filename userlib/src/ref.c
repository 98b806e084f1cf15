// SPDX-License-Identifier: MIT
/*
 * nhot_ref_run(): the reference implementation, the oracle of every other
 * implementation. It is written straight from docs/arith.md section 2 with
 * no cleverness: one nested loop per output value, each weight code read bit
 * by bit with the addressing of section 1.4, products as integer
 * multiplications (not shift-add: the engine model does that independently).
 *
 * All checks happen before the first output byte is written, so a failed run
 * leaves the output untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

/* Code i of a row: stream bit j is bit j % 8 of byte j / 8 (section 1.4). */
static unsigned int ref_code(const uint8_t *row, size_t i, int k)
{
	unsigned int code = 0;
	int t;

	for (t = 0; t < k; t++) {
		size_t j = i * (size_t)k + (size_t)t;

		code |= (unsigned int)((row[j / 8] >> (j % 8)) & 1) << t;
	}
	return code;
}

/* floor(a / d) for d > 0, without relying on how >> treats negatives. */
static int64_t floor_div(int64_t a, int64_t d)
{
	int64_t q = a / d;

	if (a % d != 0 && a < 0)
		q--;
	return q;
}

/* rq(v, M, s) of section 2.1; the limits keep v * M + 2^(s-1) below 2^63. */
static int64_t rq(int64_t v, int64_t m, uint32_t s)
{
	return floor_div(v * m + ((int64_t)1 << (s - 1)), (int64_t)1 << s);
}

static uint8_t clamp_act(int64_t v, const struct nhot_layer *l)
{
	if (v < l->act_min)
		return (uint8_t)l->act_min;
	if (v > l->act_max)
		return (uint8_t)l->act_max;
	return (uint8_t)v;
}

/* Every code of every row valid (-EILSEQ), every channel's parameters in range (-EOVERFLOW). */
static int check_data(const struct nhot_layer *l, const struct nhot_tensors *t,
		      const struct nhot_layer_shape *s, const struct nhot_set_table *set)
{
	size_t row_bytes = (size_t)(s->weight_bytes / s->out_c);
	uint32_t o, i;

	for (o = 0; o < s->out_c; o++)
		for (i = 0; i < s->k; i++)
			if (ref_code(t->weights + o * row_bytes, i, set->code_bits) >=
			    (unsigned int)set->size)
				return -EILSEQ;
	for (o = 0; o < l->out_c; o++) {
		const struct nhot_chan_params *p = &t->params[o];

		if (p->bias > NHOT_MAX_BIAS || p->bias < -NHOT_MAX_BIAS ||
		    p->mult > INT32_MAX || p->shift < 1 || p->shift > NHOT_MAX_SHIFT)
			return -EOVERFLOW;
	}
	return 0;
}

/* Row o decoded: its values and the NAF term count of each. */
static void decode_row(const struct nhot_tensors *t, const struct nhot_layer_shape *s,
		       const struct nhot_set_table *set, uint32_t o, int *w, int *terms)
{
	size_t row_bytes = (size_t)(s->weight_bytes / s->out_c);
	uint32_t i;

	for (i = 0; i < s->k; i++) {
		w[i] = set->value[ref_code(t->weights + o * row_bytes, i, set->code_bits)];
		terms[i] = nhot_naf_weight(w[i]);
	}
}

static void ref_conv2d(const struct nhot_layer *l, const struct nhot_tensors *t,
		       const struct nhot_layer_shape *s, const struct nhot_set_table *set,
		       int *w, int *terms, struct nhot_counters *c)
{
	uint32_t cg = l->in_c / l->groups, og = l->out_c / l->groups;
	uint32_t o, n, oy, ox, ky, kx, ci;

	for (o = 0; o < l->out_c; o++) {
		const struct nhot_chan_params *p = &t->params[o];
		uint32_t g = o / og;

		decode_row(t, s, set, o, w, terms);
		for (n = 0; n < l->batch; n++)
		for (oy = 0; oy < s->out_h; oy++)
		for (ox = 0; ox < s->out_w; ox++) {
			int64_t acc = p->bias;
			size_t out;

			for (ky = 0; ky < l->kernel_h; ky++)
			for (kx = 0; kx < l->kernel_w; kx++)
			for (ci = 0; ci < cg; ci++) {
				int64_t iy = (int64_t)oy * l->stride_h - l->pad_top +
					     (int64_t)ky * l->dilation_h;
				int64_t ix = (int64_t)ox * l->stride_w - l->pad_left +
					     (int64_t)kx * l->dilation_w;
				size_t widx = ((size_t)ky * l->kernel_w + kx) * cg + ci;
				int64_t xin;

				/*
				 * Padding: xin = in_zero adds 0, and section 2.7
				 * does not count it as a product.
				 */
				if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w)
					continue;
				xin = t->input[(((size_t)n * l->in_h + (size_t)iy) *
						l->in_w + (size_t)ix) * l->in_c +
					       (size_t)g * cg + ci];
				acc += (xin - l->in_zero) * w[widx];
				c->macs++;
				c->shift_adds += (uint64_t)terms[widx];
			}
			out = (((size_t)n * s->out_h + oy) * s->out_w + ox) * l->out_c + o;
			t->output[out] = clamp_act(l->out_zero + rq(acc, p->mult, p->shift), l);
		}
	}
}

static void ref_fc(const struct nhot_layer *l, const struct nhot_tensors *t,
		   const struct nhot_layer_shape *s, const struct nhot_set_table *set,
		   int *w, int *terms, struct nhot_counters *c)
{
	uint32_t o, n, k;

	for (o = 0; o < l->out_c; o++) {
		const struct nhot_chan_params *p = &t->params[o];

		decode_row(t, s, set, o, w, terms);
		for (n = 0; n < l->batch; n++) {
			int64_t acc = p->bias;

			for (k = 0; k < s->k; k++) {
				int64_t x = t->input[(size_t)n * s->k + k];

				acc += (x - l->in_zero) * w[k];
				c->macs++;
				c->shift_adds += (uint64_t)terms[k];
			}
			t->output[(size_t)n * l->out_c + o] =
				clamp_act(l->out_zero + rq(acc, p->mult, p->shift), l);
		}
	}
}

static void ref_add(const struct nhot_layer *l, const struct nhot_tensors *t,
		    const struct nhot_layer_shape *s)
{
	uint64_t i;

	for (i = 0; i < s->output_bytes; i++) {
		int64_t a = t->input[i], b = t->input2[i];
		int64_t v = (a - l->in_zero) * (int64_t)l->add_mult_a +
			    (b - l->in2_zero) * (int64_t)l->add_mult_b;

		t->output[i] = clamp_act(l->out_zero + rq(v, 1, l->add_shift), l);
	}
}

/* AVGPOOL, GLOBAL_AVGPOOL (a window of the whole plane) and MAXPOOL. */
static void ref_pool(const struct nhot_layer *l, const struct nhot_tensors *t,
		     const struct nhot_layer_shape *s)
{
	int global = l->type == NHOT_LAYER_GLOBAL_AVGPOOL;
	uint32_t kh = global ? l->in_h : l->kernel_h, kw = global ? l->in_w : l->kernel_w;
	uint32_t sh = global ? 1 : l->stride_h, sw = global ? 1 : l->stride_w;
	uint32_t n, oy, ox, c, ky, kx;

	for (n = 0; n < l->batch; n++)
	for (oy = 0; oy < s->out_h; oy++)
	for (ox = 0; ox < s->out_w; ox++)
	for (c = 0; c < l->in_c; c++) {
		int64_t sum = 0, cnt = 0, max = 0;
		size_t out = (((size_t)n * s->out_h + oy) * s->out_w + ox) * l->in_c + c;

		for (ky = 0; ky < kh; ky++)
		for (kx = 0; kx < kw; kx++) {
			int64_t iy = (int64_t)oy * sh - l->pad_top + ky;
			int64_t ix = (int64_t)ox * sw - l->pad_left + kx;
			int64_t v;

			if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w)
				continue;	/* padding: not counted */
			v = t->input[(((size_t)n * l->in_h + (size_t)iy) * l->in_w +
				      (size_t)ix) * l->in_c + c];
			sum += v;
			if (cnt == 0 || v > max)
				max = v;
			cnt++;
		}
		/* cnt >= 1: padding is below the kernel size (section 3) */
		if (l->type == NHOT_LAYER_MAXPOOL)
			t->output[out] = clamp_act(max, l);
		else
			t->output[out] = clamp_act((sum + cnt / 2) / cnt, l);
	}
}

int nhot_ref_run(const struct nhot_layer *layer, const struct nhot_tensors *t,
		 struct nhot_counters *counters)
{
	struct nhot_counters c = { 0, 0 };
	struct nhot_layer_shape s;
	struct nhot_set_table set;
	int *w = NULL, *terms = NULL;
	int ret;

	if (counters)
		*counters = c;
	ret = nhot_layer_check(layer, &s);
	if (ret)
		return ret;
	if (!t)
		return -EINVAL;
	ret = nhot_tensors_check(layer, t, &s);
	if (ret)
		return ret;
	if (s.k) {
		ret = nhot_set_table_build((int)layer->w_n, (int)layer->w_b, &set);
		if (ret)
			return ret;
		ret = check_data(layer, t, &s, &set);
		if (ret)
			return ret;
		w = malloc(s.k * sizeof(*w));
		terms = malloc(s.k * sizeof(*terms));
		if (!w || !terms) {
			ret = -ENOMEM;
			goto out_free;
		}
	}

	switch (layer->type) {
	case NHOT_LAYER_CONV2D:
		ref_conv2d(layer, t, &s, &set, w, terms, &c);
		break;
	case NHOT_LAYER_FC:
		ref_fc(layer, t, &s, &set, w, terms, &c);
		break;
	case NHOT_LAYER_ADD:
		ref_add(layer, t, &s);
		break;
	default:
		ref_pool(layer, t, &s);
		break;
	}
	if (counters)
		*counters = c;
out_free:
	free(terms);
	free(w);
	return ret;
}
