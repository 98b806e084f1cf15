// SPDX-License-Identifier: MIT
/*
 * nhot_layer_check(): a descriptor against docs/arith.md section 3, in the
 * order that section lists the checks, and the shapes it implies (section 2).
 * All size arithmetic is in uint64_t on factors already bounded by the limits,
 * so no product can wrap.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "format_internal.h"

#define TYPE_BIT(t)	(1u << NHOT_LAYER_##t)
#define CONV		TYPE_BIT(CONV2D)
#define FC		TYPE_BIT(FC)
#define ADD		TYPE_BIT(ADD)
#define AVGP		TYPE_BIT(AVGPOOL)
#define GAVGP		TYPE_BIT(GLOBAL_AVGPOOL)
#define MAXP		TYPE_BIT(MAXPOOL)
#define ALL		(CONV | FC | ADD | AVGP | GAVGP | MAXP)

#define LAYER_FIELD(f, types)	{ offsetof(struct nhot_layer, f), types }

/* Which layer types use each field; every other type needs it to be 0. */
static const struct {
	size_t offset;
	unsigned int used_by;
} layer_fields[] = {
	LAYER_FIELD(flags, 0),
	LAYER_FIELD(batch, ALL),
	LAYER_FIELD(in_h, ALL),
	LAYER_FIELD(in_w, ALL),
	LAYER_FIELD(in_c, ALL),
	LAYER_FIELD(out_c, CONV | FC),
	LAYER_FIELD(kernel_h, CONV | AVGP | MAXP),
	LAYER_FIELD(kernel_w, CONV | AVGP | MAXP),
	LAYER_FIELD(stride_h, CONV | AVGP | MAXP),
	LAYER_FIELD(stride_w, CONV | AVGP | MAXP),
	LAYER_FIELD(dilation_h, CONV),
	LAYER_FIELD(dilation_w, CONV),
	LAYER_FIELD(pad_top, CONV | AVGP | MAXP),
	LAYER_FIELD(pad_bottom, CONV | AVGP | MAXP),
	LAYER_FIELD(pad_left, CONV | AVGP | MAXP),
	LAYER_FIELD(pad_right, CONV | AVGP | MAXP),
	LAYER_FIELD(groups, CONV),
	LAYER_FIELD(w_n, CONV | FC),
	LAYER_FIELD(w_b, CONV | FC),
	LAYER_FIELD(in_zero, ALL),
	LAYER_FIELD(in2_zero, ADD),
	LAYER_FIELD(out_zero, CONV | FC | ADD),
	LAYER_FIELD(act_min, ALL),
	LAYER_FIELD(act_max, ALL),
	LAYER_FIELD(add_mult_a, ADD),
	LAYER_FIELD(add_mult_b, ADD),
	LAYER_FIELD(add_shift, ADD),
	LAYER_FIELD(reserved[0], 0),
	LAYER_FIELD(reserved[1], 0),
	LAYER_FIELD(reserved[2], 0),
	LAYER_FIELD(reserved[3], 0),
};

static int unused_fields_zero(const struct nhot_layer *l)
{
	unsigned int type_bit = 1u << l->type;
	size_t i;

	for (i = 0; i < sizeof(layer_fields) / sizeof(layer_fields[0]); i++) {
		uint32_t v;

		if (layer_fields[i].used_by & type_bit)
			continue;
		memcpy(&v, (const char *)l + layer_fields[i].offset, sizeof(v));
		if (v)
			return 0;
	}
	return 1;
}

static int in_range(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

/* Zero points and clamps: -EINVAL when out of range. */
static int check_values(const struct nhot_layer *l)
{
	if (l->in_zero > 255 || l->in2_zero > 255 || l->out_zero > 255)
		return -EINVAL;
	if (l->act_min > 255 || l->act_max > 255 || l->act_min > l->act_max)
		return -EINVAL;
	return 0;
}

/* ADD's requantization, the input's sizes and the window's: -EOVERFLOW. */
static int check_sizes(const struct nhot_layer *l)
{
	int windowed = l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_AVGPOOL ||
		       l->type == NHOT_LAYER_MAXPOOL;
	uint32_t dil_h = 1, dil_w = 1;

	if (l->type == NHOT_LAYER_ADD &&
	    (l->add_mult_a > INT32_MAX || l->add_mult_b > INT32_MAX ||
	     !in_range(l->add_shift, 1, NHOT_MAX_SHIFT)))
		return -EOVERFLOW;
	if (!in_range(l->batch, 1, NHOT_MAX_BATCH) ||
	    !in_range(l->in_h, 1, NHOT_MAX_DIM) || !in_range(l->in_w, 1, NHOT_MAX_DIM) ||
	    !in_range(l->in_c, 1, NHOT_MAX_CHANNELS))
		return -EOVERFLOW;
	if ((l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC) &&
	    !in_range(l->out_c, 1, NHOT_MAX_CHANNELS))
		return -EOVERFLOW;
	if (!windowed)
		return 0;
	if (!in_range(l->kernel_h, 1, NHOT_MAX_KERNEL) ||
	    !in_range(l->kernel_w, 1, NHOT_MAX_KERNEL) ||
	    !in_range(l->stride_h, 1, NHOT_MAX_STRIDE) ||
	    !in_range(l->stride_w, 1, NHOT_MAX_STRIDE))
		return -EOVERFLOW;
	if (l->type == NHOT_LAYER_CONV2D) {
		if (!in_range(l->dilation_h, 1, NHOT_MAX_DILATION) ||
		    !in_range(l->dilation_w, 1, NHOT_MAX_DILATION))
			return -EOVERFLOW;
		dil_h = l->dilation_h;
		dil_w = l->dilation_w;
	}
	/* Padding below the kernel extent: every pooling window meets the input. */
	if (l->pad_top >= (l->kernel_h - 1) * dil_h + 1 ||
	    l->pad_bottom >= (l->kernel_h - 1) * dil_h + 1 ||
	    l->pad_left >= (l->kernel_w - 1) * dil_w + 1 ||
	    l->pad_right >= (l->kernel_w - 1) * dil_w + 1)
		return -EOVERFLOW;
	return 0;
}

/* One output dimension of 2.2; 0 when the padded input is smaller than the extent. */
static uint32_t out_dim(uint32_t in, uint32_t pad_a, uint32_t pad_b, uint32_t kernel,
			uint32_t dilation, uint32_t stride)
{
	uint64_t padded = (uint64_t)in + pad_a + pad_b;
	uint64_t extent = (uint64_t)(kernel - 1) * dilation + 1;

	if (padded < extent)
		return 0;
	return (uint32_t)((padded - extent) / stride + 1);
}

/*
 * Over all outputs of one dimension, how many kernel taps land inside the
 * input: the in-bounds positions that section 2.7 counts as products.
 */
static uint64_t inside_taps(uint32_t out, uint32_t in, uint32_t kernel, uint32_t stride,
			    uint32_t dilation, uint32_t pad)
{
	uint64_t taps = 0;
	uint32_t o, t;

	for (o = 0; o < out; o++) {
		for (t = 0; t < kernel; t++) {
			int64_t pos = (int64_t)o * stride - pad + (int64_t)t * dilation;

			taps += pos >= 0 && pos < in;
		}
	}
	return taps;
}

int nhot_layer_check(const struct nhot_layer *l, struct nhot_layer_shape *shape)
{
	struct nhot_layer_shape s;
	uint64_t in_elems, k = 0, w_elems = 0, out_elems;
	int ret;

	if (!l)
		return -EINVAL;
	if (!in_range(l->type, 1, NHOT_LAYER_TYPE_MAX))
		return -EOPNOTSUPP;
	if (!unused_fields_zero(l))
		return -EINVAL;
	if ((l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC) &&
	    !nhot_nb_valid((int)l->w_n, (int)l->w_b))
		return -EOPNOTSUPP;
	ret = check_values(l);
	if (ret)
		return ret;
	ret = check_sizes(l);
	if (ret)
		return ret;

	memset(&s, 0, sizeof(s));
	s.out_n = l->batch;
	s.out_h = l->in_h;
	s.out_w = l->in_w;
	s.out_c = l->in_c;
	in_elems = (uint64_t)l->batch * l->in_h * l->in_w * l->in_c;

	switch (l->type) {
	case NHOT_LAYER_CONV2D:
		if (l->groups == 0 || l->in_c % l->groups || l->out_c % l->groups)
			return -EINVAL;
		s.out_h = out_dim(l->in_h, l->pad_top, l->pad_bottom, l->kernel_h,
				  l->dilation_h, l->stride_h);
		s.out_w = out_dim(l->in_w, l->pad_left, l->pad_right, l->kernel_w,
				  l->dilation_w, l->stride_w);
		s.out_c = l->out_c;
		k = (uint64_t)l->kernel_h * l->kernel_w * (l->in_c / l->groups);
		break;
	case NHOT_LAYER_FC:
		s.out_h = 1;
		s.out_w = 1;
		s.out_c = l->out_c;
		k = (uint64_t)l->in_h * l->in_w * l->in_c;
		break;
	case NHOT_LAYER_AVGPOOL:
	case NHOT_LAYER_MAXPOOL:
		s.out_h = out_dim(l->in_h, l->pad_top, l->pad_bottom, l->kernel_h, 1,
				  l->stride_h);
		s.out_w = out_dim(l->in_w, l->pad_left, l->pad_right, l->kernel_w, 1,
				  l->stride_w);
		break;
	case NHOT_LAYER_GLOBAL_AVGPOOL:
		s.out_h = 1;
		s.out_w = 1;
		break;
	default:	/* ADD: the output has the input's shape */
		break;
	}
	if (s.out_h < 1 || s.out_w < 1)
		return -EINVAL;
	if (l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC) {
		if (k > NHOT_MAX_K)
			return -EOVERFLOW;
		w_elems = (uint64_t)l->out_c * k;
	}
	if (l->type == NHOT_LAYER_GLOBAL_AVGPOOL &&
	    (uint64_t)l->in_h * l->in_w > NHOT_MAX_GLOBAL_POOL)
		return -EOVERFLOW;
	out_elems = (uint64_t)s.out_n * s.out_h * s.out_w * s.out_c;
	if (in_elems > NHOT_MAX_ELEMENTS || w_elems > NHOT_MAX_ELEMENTS ||
	    out_elems > NHOT_MAX_ELEMENTS)
		return -EOVERFLOW;

	s.k = (uint32_t)k;
	s.input_bytes = in_elems;
	if (l->type == NHOT_LAYER_ADD)
		s.input2_bytes = in_elems;
	if (k) {
		s.weight_bytes = (uint64_t)l->out_c *
				 nhot_row_bytes((int)l->w_n, (int)l->w_b, (size_t)k);
		s.params_bytes = (uint64_t)l->out_c * sizeof(struct nhot_chan_params);
		if (l->type == NHOT_LAYER_FC)
			s.macs = out_elems * k;
		else
			s.macs = (uint64_t)l->batch * l->out_c * (l->in_c / l->groups) *
				 inside_taps(s.out_h, l->in_h, l->kernel_h, l->stride_h,
					     l->dilation_h, l->pad_top) *
				 inside_taps(s.out_w, l->in_w, l->kernel_w, l->stride_w,
					     l->dilation_w, l->pad_left);
	}
	s.output_bytes = out_elems;
	if (shape)
		*shape = s;
	return 0;
}

/* A buffer the layer reads or writes: present (-EINVAL) and long enough (-ERANGE). */
static int check_buffer(const void *p, size_t len, uint64_t need)
{
	if (!p)
		return -EINVAL;
	if (len < need)
		return -ERANGE;
	return 0;
}

int nhot_tensors_check(const struct nhot_layer *l, const struct nhot_tensors *t,
		       const struct nhot_layer_shape *s)
{
	int ret;

	ret = check_buffer(t->input, t->input_len, s->input_bytes);
	if (!ret && l->type == NHOT_LAYER_ADD)
		ret = check_buffer(t->input2, t->input2_len, s->input2_bytes);
	if (!ret && s->k) {
		ret = check_buffer(t->weights, t->weights_len, s->weight_bytes);
		if (!ret)
			ret = check_buffer(t->params, t->params_len, s->params_bytes);
	}
	if (!ret)
		ret = check_buffer(t->output, t->output_len, s->output_bytes);
	return ret;
}
