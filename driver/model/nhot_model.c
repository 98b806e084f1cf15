// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot engine datapath model (docs/arith.md, docs/engine.md).
 *
 * The engine's own implementation of the arithmetic: it validates a job
 * descriptor, builds the code -> term table of S(n, b) from the NAF, and
 * computes every product as shift-and-add/subtract of the weight's terms,
 * skipping zero terms.  No kernel and no libc dependency.
 */
#include <linux/errno.h>
#include "nhot_model.h"

#define NHOT_FIELD(f)	(1u << (__builtin_offsetof(struct nhot_layer, f) / 4))
#define NHOT_LAYER_WORDS	(sizeof(struct nhot_layer) / 4)

#define USED_ACT	(NHOT_FIELD(type) | NHOT_FIELD(batch) | NHOT_FIELD(in_h) | \
			 NHOT_FIELD(in_w) | NHOT_FIELD(in_c) | NHOT_FIELD(in_zero) | \
			 NHOT_FIELD(act_min) | NHOT_FIELD(act_max))
#define USED_WINDOW	(NHOT_FIELD(kernel_h) | NHOT_FIELD(kernel_w) | \
			 NHOT_FIELD(stride_h) | NHOT_FIELD(stride_w) | \
			 NHOT_FIELD(pad_top) | NHOT_FIELD(pad_bottom) | \
			 NHOT_FIELD(pad_left) | NHOT_FIELD(pad_right))
#define USED_WEIGHTS	(NHOT_FIELD(out_c) | NHOT_FIELD(w_n) | NHOT_FIELD(w_b) | \
			 NHOT_FIELD(out_zero))

/* The fields each layer type reads; every other field must be 0. */
static const __u32 nhot_used_fields[NHOT_LAYER_TYPE_MAX + 1] = {
	[NHOT_LAYER_CONV2D] = USED_ACT | USED_WINDOW | USED_WEIGHTS |
			      NHOT_FIELD(dilation_h) | NHOT_FIELD(dilation_w) |
			      NHOT_FIELD(groups),
	[NHOT_LAYER_FC] = USED_ACT | USED_WEIGHTS,
	[NHOT_LAYER_ADD] = USED_ACT | NHOT_FIELD(in2_zero) | NHOT_FIELD(out_zero) |
			   NHOT_FIELD(add_mult_a) | NHOT_FIELD(add_mult_b) |
			   NHOT_FIELD(add_shift),
	[NHOT_LAYER_AVGPOOL] = USED_ACT | USED_WINDOW,
	[NHOT_LAYER_GLOBAL_AVGPOOL] = USED_ACT,
	[NHOT_LAYER_MAXPOOL] = USED_ACT | USED_WINDOW,
};

#define NHOT_MAX_MULT	0x7fffffffu
#define NHOT_MAX_GAP_HW	65536u
#define NHOT_PARAM_BYTES	12u	/* struct nhot_chan_params, little endian */

static int nhot_unused_fields_zero(const struct nhot_layer *l)
{
	const __u32 *word = (const __u32 *)l;
	__u32 used = nhot_used_fields[l->type];
	unsigned int i;

	for (i = 0; i < NHOT_LAYER_WORDS; i++)
		if (!(used & (1u << i)) && word[i])
			return 0;
	return 1;
}

static int nhot_in_range(__u32 v, __u32 lo, __u32 hi)
{
	return v >= lo && v <= hi;
}

/* Rows of a window dimension that lie inside the input, summed over outputs. */
static __u64 nhot_inside_sum(__u32 out, __u32 in, __u32 kernel, __u32 stride,
			     __u32 dilation, __u32 pad)
{
	__u64 sum = 0;
	__u32 o, k;

	for (o = 0; o < out; o++) {
		for (k = 0; k < kernel; k++) {
			__s64 pos = (__s64)o * stride - pad + (__s64)k * dilation;

			if (pos >= 0 && pos < in)
				sum++;
		}
	}
	return sum;
}

/* One output dimension of a window layer; 0 when the window does not fit. */
static __u32 nhot_out_dim(__u32 in, __u32 kernel, __u32 stride, __u32 dilation,
			  __u32 pad_lo, __u32 pad_hi)
{
	__u32 extent = (kernel - 1) * dilation + 1;
	__u32 padded = in + pad_lo + pad_hi;

	if (padded < extent)
		return 0;
	return (padded - extent) / stride + 1;
}

/* Window ranges and padding below the extent: -EOVERFLOW (docs/arith.md 3). */
static int nhot_check_window(const struct nhot_layer *l, __u32 dil_h, __u32 dil_w)
{
	__u32 ext_h, ext_w;

	if (!nhot_in_range(l->kernel_h, 1, NHOT_MAX_KERNEL) ||
	    !nhot_in_range(l->kernel_w, 1, NHOT_MAX_KERNEL) ||
	    !nhot_in_range(l->stride_h, 1, NHOT_MAX_STRIDE) ||
	    !nhot_in_range(l->stride_w, 1, NHOT_MAX_STRIDE) ||
	    !nhot_in_range(dil_h, 1, NHOT_MAX_DILATION) ||
	    !nhot_in_range(dil_w, 1, NHOT_MAX_DILATION))
		return -EOVERFLOW;
	ext_h = (l->kernel_h - 1) * dil_h + 1;
	ext_w = (l->kernel_w - 1) * dil_w + 1;
	if (l->pad_top >= ext_h || l->pad_bottom >= ext_h ||
	    l->pad_left >= ext_w || l->pad_right >= ext_w)
		return -EOVERFLOW;
	return 0;
}

/* Output H and W of a window layer: -EINVAL when the window does not fit. */
static int nhot_window_out(const struct nhot_layer *l, __u32 dil_h, __u32 dil_w,
			   struct nhot_model_shape *s)
{
	s->out_h = nhot_out_dim(l->in_h, l->kernel_h, l->stride_h, dil_h,
				l->pad_top, l->pad_bottom);
	s->out_w = nhot_out_dim(l->in_w, l->kernel_w, l->stride_w, dil_w,
				l->pad_left, l->pad_right);
	if (!s->out_h || !s->out_w)
		return -EINVAL;
	return 0;
}

static int nhot_check_weights(const struct nhot_layer *l, __u64 k,
			      struct nhot_model_shape *s)
{
	__u32 size = 0, bits = 0, q, max_q = (1u << (l->w_b - 1)) - 1;

	if (k < 1 || k > NHOT_MAX_K)
		return -EOVERFLOW;
	/* |S(n, b)| without building the table: count NAF weights <= n. */
	for (q = 0; q <= max_q; q++) {
		__u32 m = q, nnz = 0;

		while (m) {
			if (m & 1) {
				nnz++;
				m = (m & 2) ? m + 1 : m - 1;
			}
			m >>= 1;
		}
		if (nnz <= l->w_n)
			size += q ? 2 : 1;
	}
	while ((1u << bits) < size)
		bits++;
	s->k = (__u32)k;
	s->code_bits = bits;
	s->row_bytes = (k * bits + 7) / 8;
	s->weight_bytes = (__u64)l->out_c * s->row_bytes;
	s->params_bytes = (__u64)l->out_c * NHOT_PARAM_BYTES;
	return 0;
}

static int nhot_check_shapes(const struct nhot_layer *l, struct nhot_model_shape *s)
{
	__u64 in_elems = (__u64)l->batch * l->in_h * l->in_w * l->in_c;
	int ret = 0;

	s->out_n = l->batch;
	s->out_h = l->in_h;
	s->out_w = l->in_w;
	s->out_c = l->in_c;

	switch (l->type) {
	case NHOT_LAYER_CONV2D:
		if (!nhot_in_range(l->out_c, 1, NHOT_MAX_CHANNELS))
			return -EOVERFLOW;
		ret = nhot_check_window(l, l->dilation_h, l->dilation_w);
		if (ret)
			return ret;
		if (!l->groups || l->in_c % l->groups || l->out_c % l->groups)
			return -EINVAL;
		ret = nhot_window_out(l, l->dilation_h, l->dilation_w, s);
		if (ret)
			return ret;
		s->out_c = l->out_c;
		ret = nhot_check_weights(l, (__u64)l->kernel_h * l->kernel_w *
					 (l->in_c / l->groups), s);
		if (ret)
			return ret;
		s->macs = (__u64)l->batch * l->out_c * (l->in_c / l->groups) *
			nhot_inside_sum(s->out_h, l->in_h, l->kernel_h, l->stride_h,
					l->dilation_h, l->pad_top) *
			nhot_inside_sum(s->out_w, l->in_w, l->kernel_w, l->stride_w,
					l->dilation_w, l->pad_left);
		break;
	case NHOT_LAYER_FC:
		if (!nhot_in_range(l->out_c, 1, NHOT_MAX_CHANNELS))
			return -EOVERFLOW;
		s->out_h = 1;
		s->out_w = 1;
		s->out_c = l->out_c;
		ret = nhot_check_weights(l, (__u64)l->in_h * l->in_w * l->in_c, s);
		if (ret)
			return ret;
		s->macs = (__u64)l->batch * l->out_c * s->k;
		break;
	case NHOT_LAYER_ADD:
		if (l->add_mult_a > NHOT_MAX_MULT || l->add_mult_b > NHOT_MAX_MULT ||
		    !nhot_in_range(l->add_shift, 1, NHOT_MAX_SHIFT))
			return -EOVERFLOW;
		s->input2_bytes = in_elems;
		break;
	case NHOT_LAYER_AVGPOOL:
	case NHOT_LAYER_MAXPOOL:
		ret = nhot_check_window(l, 1, 1);
		if (!ret)
			ret = nhot_window_out(l, 1, 1, s);
		if (ret)
			return ret;
		break;
	case NHOT_LAYER_GLOBAL_AVGPOOL:
		if ((__u64)l->in_h * l->in_w > NHOT_MAX_GAP_HW)
			return -EOVERFLOW;
		s->out_h = 1;
		s->out_w = 1;
		break;
	}
	s->input_bytes = in_elems;
	s->output_bytes = (__u64)s->out_n * s->out_h * s->out_w * s->out_c;
	if (in_elems > NHOT_MAX_ELEMENTS || s->output_bytes > NHOT_MAX_ELEMENTS)
		return -EOVERFLOW;
	return 0;
}

/**
 * nhot_model_check() - validate a descriptor (docs/arith.md section 3)
 * @layer: the descriptor
 * @shape: out: the shapes and buffer sizes it implies (valid on success)
 *
 * Return: 0, -EOPNOTSUPP (unknown type, unsupported n/b), -EINVAL (malformed:
 * flags/reserved/unused field set, bad zero point or clamp, bad groups,
 * output < 1) or -EOVERFLOW (beyond the limits).
 */
int nhot_model_check(const struct nhot_layer *layer, struct nhot_model_shape *shape)
{
	const struct nhot_layer *l = layer;
	struct nhot_model_shape s = { 0 };
	int ret;

	if (l->type < 1 || l->type > NHOT_LAYER_TYPE_MAX)
		return -EOPNOTSUPP;
	if (!nhot_unused_fields_zero(l))
		return -EINVAL;
	if ((l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC) &&
	    (!nhot_in_range(l->w_n, NHOT_MIN_N, NHOT_MAX_N) ||
	     !nhot_in_range(l->w_b, NHOT_MIN_B, NHOT_MAX_B)))
		return -EOPNOTSUPP;
	if (l->in_zero > 255 || l->in2_zero > 255 || l->out_zero > 255 ||
	    l->act_min > 255 || l->act_max > 255 || l->act_min > l->act_max)
		return -EINVAL;
	if (!nhot_in_range(l->batch, 1, NHOT_MAX_BATCH) ||
	    !nhot_in_range(l->in_h, 1, NHOT_MAX_DIM) ||
	    !nhot_in_range(l->in_w, 1, NHOT_MAX_DIM) ||
	    !nhot_in_range(l->in_c, 1, NHOT_MAX_CHANNELS))
		return -EOVERFLOW;
	ret = nhot_check_shapes(l, &s);
	if (ret)
		return ret;
	*shape = s;
	return 0;
}

/**
 * nhot_model_build_table() - build the code table of S(n, b)
 * @n: most nonzero NAF digits, 1..4
 * @b: bit width, 2..8
 * @table: out
 *
 * Code c is the c-th smallest element of S(n, b); its terms are the nonzero
 * digits of its NAF (Reitwiesner), highest exponent first.
 *
 * Return: 0 or -EOPNOTSUPP for n, b outside the supported set.
 */
int nhot_model_build_table(__u32 n, __u32 b, struct nhot_model_table *table)
{
	__s32 max_q, q;
	__u32 size = 0, bits = 0;

	if (!nhot_in_range(n, NHOT_MIN_N, NHOT_MAX_N) ||
	    !nhot_in_range(b, NHOT_MIN_B, NHOT_MAX_B))
		return -EOPNOTSUPP;
	max_q = (1 << (b - 1)) - 1;
	for (q = -max_q; q <= max_q; q++) {
		__u8 dig_neg[8], dig_exp[8];
		__u32 m = q < 0 ? -q : q, e = 0, nnz = 0, j;

		while (m) {
			if (m & 1) {
				/* digit 2 - (m mod 4): +1 for m = 1 mod 4, -1 for 3 */
				int minus = (m & 2) != 0;

				dig_neg[nnz] = minus ^ (q < 0);
				dig_exp[nnz] = e;
				nnz++;
				m = minus ? m + 1 : m - 1;
			}
			m >>= 1;
			e++;
		}
		if (nnz > n)
			continue;
		table->value[size] = q;
		table->nterms[size] = nnz;
		for (j = 0; j < nnz; j++) {
			table->neg[size][j] = dig_neg[nnz - 1 - j];
			table->shift[size][j] = dig_exp[nnz - 1 - j];
		}
		size++;
	}
	while ((1u << bits) < size)
		bits++;
	table->size = size;
	table->code_bits = bits;
	/*
	 * Codes >= size are refused before any output, but a caller computing
	 * from memory that is rewritten under it could still meet one: it
	 * reads as a zero weight, never as a stale entry of an earlier table.
	 */
	for (; size < NHOT_MODEL_MAX_CODES; size++) {
		table->value[size] = 0;
		table->nterms[size] = 0;
	}
	return 0;
}

static __u32 nhot_get_le32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

/* Code i of a packed row: stream bits i*bits.., least significant first. */
static __u32 nhot_get_code(const __u8 *row, __u32 i, __u32 bits)
{
	__u32 bit = i * bits, sh = bit & 7;
	const __u8 *p = row + (bit >> 3);
	__u32 v = p[0] >> sh;

	if (sh + bits > 8)
		v |= (__u32)p[1] << (8 - sh);
	return v & ((1u << bits) - 1);
}

/* rq(v, M, s) of docs/arith.md 2.1: a rounding arithmetic right shift; s in 1..62. */
static __s64 nhot_rq(__s64 v, __u32 mult, __u32 shift)
{
	return (v * (__s64)mult + ((__s64)1 << (shift - 1))) >> shift;
}

static __u8 nhot_clamp(__s64 v, const struct nhot_layer *l)
{
	if (v < l->act_min)
		return l->act_min;
	if (v > l->act_max)
		return l->act_max;
	return v;
}

/* x * w as the sum of w's terms: (x << e) added or subtracted. */
static __s32 nhot_shift_add(__s32 acc, __s32 x, const struct nhot_model_table *t,
			    __u32 code)
{
	__u32 j;

	for (j = 0; j < t->nterms[code]; j++) {
		__s32 part = (__s32)((__u32)x << t->shift[code][j]);

		acc = t->neg[code][j] ? acc - part : acc + part;
	}
	return acc;
}

/* ops <= 4 * NHOT_MAX_K or the window size: 32-bit division, no helper needed */
static __u32 nhot_op_cycles(__u32 ops, __u32 pe_count)
{
	return (ops + pe_count - 1) / pe_count + NHOT_MODEL_OUT_CYCLES;
}

struct nhot_run {
	const struct nhot_layer *l;
	const struct nhot_model_shape *s;
	const struct nhot_model_mem *m;
	const struct nhot_model_cfg *cfg;
	const struct nhot_model_table *t;
	struct nhot_model_counters *c;
	__u64 work;	/* since the last stop check */
};

/* The stop hook: at the start of every output row ... */
static int nhot_stop(struct nhot_run *r)
{
	r->work = 0;
	return r->cfg->should_stop ? r->cfg->should_stop(r->cfg->arg) : 0;
}

/* ... and within a row after every NHOT_MODEL_STOP_WORK units of work. */
static int nhot_work(struct nhot_run *r, __u64 amount)
{
	r->work += amount;
	return r->work >= NHOT_MODEL_STOP_WORK ? nhot_stop(r) : 0;
}

/* One channel's parameters, each read once from the job's memory. */
struct nhot_chan {
	__s32 bias;
	__u32 mult;
	__u32 shift;
};

/*
 * Reads channel @o's parameters into @c and checks them: the values checked
 * are the values used, even if the memory changes afterwards.
 */
static int nhot_read_chan(const struct nhot_run *r, __u32 o, struct nhot_chan *c)
{
	const __u8 *p = r->m->params + (__u64)o * NHOT_PARAM_BYTES;

	c->bias = (__s32)nhot_get_le32(p);
	c->mult = nhot_get_le32(p + 4);
	c->shift = nhot_get_le32(p + 8);
	if (c->bias > NHOT_MAX_BIAS || c->bias < -NHOT_MAX_BIAS ||
	    c->mult > NHOT_MAX_MULT || !nhot_in_range(c->shift, 1, NHOT_MAX_SHIFT))
		return -EOVERFLOW;
	return 0;
}

/* Every code valid and every channel's parameters in range, before any output. */
static int nhot_check_data(const struct nhot_run *r)
{
	struct nhot_chan c;
	__u32 o, i;

	for (o = 0; o < r->s->out_c; o++) {
		const __u8 *row = r->m->weights + (__u64)o * r->s->row_bytes;

		for (i = 0; i < r->s->k; i++)
			if (nhot_get_code(row, i, r->s->code_bits) >= r->t->size)
				return -EILSEQ;
	}
	for (o = 0; o < r->s->out_c; o++)
		if (nhot_read_chan(r, o, &c))
			return -EOVERFLOW;
	return 0;
}

/* Requantize, clamp, count: the tail of every CONV2D and FC output. */
static __u8 nhot_finish(const struct nhot_run *r, const struct nhot_chan *c,
			__s32 acc, __u32 terms)
{
	r->c->shift_adds += terms;
	r->c->cycles += nhot_op_cycles(terms, r->cfg->pe_count);
	return nhot_clamp(r->l->out_zero + nhot_rq(acc, c->mult, c->shift), r->l);
}

/* One CONV2D output value (n, oy, ox, o) into *y; padding positions are skipped. */
static int nhot_conv_output(const struct nhot_run *r, __u32 n, __u32 oy, __u32 ox, __u32 o,
			    __u8 *y)
{
	const struct nhot_layer *l = r->l;
	__u32 cg = l->in_c / l->groups, og = l->out_c / l->groups;
	const __u8 *row = r->m->weights + (__u64)o * r->s->row_bytes;
	struct nhot_chan c;
	__u32 terms = 0;
	__u32 ky, kx, ci;
	__s32 acc;

	if (nhot_read_chan(r, o, &c))
		return -EOVERFLOW;
	acc = c.bias;

	for (ky = 0; ky < l->kernel_h; ky++) {
		__s64 iy = (__s64)oy * l->stride_h - l->pad_top + (__s64)ky * l->dilation_h;

		if (iy < 0 || iy >= l->in_h)
			continue;
		for (kx = 0; kx < l->kernel_w; kx++) {
			__s64 ix = (__s64)ox * l->stride_w - l->pad_left +
				   (__s64)kx * l->dilation_w;
			__u32 base = (ky * l->kernel_w + kx) * cg;
			const __u8 *in;

			if (ix < 0 || ix >= l->in_w)
				continue;
			in = r->m->input + (((__u64)n * l->in_h + iy) * l->in_w + ix) * l->in_c +
			     (o / og) * cg;
			for (ci = 0; ci < cg; ci++) {
				__u32 code = nhot_get_code(row, base + ci, r->s->code_bits);

				acc = nhot_shift_add(acc, (__s32)in[ci] - (__s32)l->in_zero,
						     r->t, code);
				terms += r->t->nterms[code];
			}
			r->c->macs += cg;
		}
	}
	*y = nhot_finish(r, &c, acc, terms);
	return 0;
}

static int nhot_run_conv(struct nhot_run *r)
{
	const struct nhot_layer *l = r->l;
	__u32 row_len = r->s->out_w * l->out_c, n, oy, i;
	__u64 out = 0;
	int ret;

	for (n = 0; n < l->batch; n++) {
		for (oy = 0; oy < r->s->out_h; oy++) {
			ret = nhot_stop(r);
			for (i = 0; !ret && i < row_len; i++) {
				ret = nhot_conv_output(r, n, oy, i / l->out_c, i % l->out_c,
						       &r->m->output[out++]);
				if (!ret)
					ret = nhot_work(r, r->s->k);
			}
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int nhot_run_fc(struct nhot_run *r)
{
	const struct nhot_layer *l = r->l;
	const struct nhot_model_shape *s = r->s;
	__u32 n, o, i;
	int ret;

	for (n = 0; n < l->batch; n++) {
		const __u8 *in = r->m->input + (__u64)n * s->k;

		ret = nhot_stop(r);
		if (ret)
			return ret;
		for (o = 0; o < l->out_c; o++) {
			const __u8 *row = r->m->weights + (__u64)o * s->row_bytes;
			struct nhot_chan c;
			__u32 terms = 0;
			__s32 acc;

			if (nhot_read_chan(r, o, &c))
				return -EOVERFLOW;
			acc = c.bias;
			for (i = 0; i < s->k; i++) {
				__u32 code = nhot_get_code(row, i, s->code_bits);

				acc = nhot_shift_add(acc, (__s32)in[i] - (__s32)l->in_zero,
						     r->t, code);
				terms += r->t->nterms[code];
			}
			r->c->macs += s->k;
			r->m->output[(__u64)n * l->out_c + o] = nhot_finish(r, &c, acc, terms);
			ret = nhot_work(r, s->k);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int nhot_run_add(struct nhot_run *r)
{
	const struct nhot_layer *l = r->l;
	__u64 row_len = (__u64)l->in_w * l->in_c, i, rows, y;
	int ret;

	rows = (__u64)l->batch * l->in_h;
	for (y = 0; y < rows; y++) {
		const __u8 *a = r->m->input + y * row_len;
		const __u8 *b = r->m->input2 + y * row_len;
		__u8 *out = r->m->output + y * row_len;

		ret = nhot_stop(r);
		if (ret)
			return ret;
		for (i = 0; i < row_len; i++) {
			__s64 v = (__s64)((__s32)a[i] - (__s32)l->in_zero) * l->add_mult_a +
				  (__s64)((__s32)b[i] - (__s32)l->in2_zero) * l->add_mult_b;

			out[i] = nhot_clamp(l->out_zero + nhot_rq(v, 1, l->add_shift), l);
			r->c->cycles += nhot_op_cycles(NHOT_MODEL_ADD_OPS, r->cfg->pe_count);
			ret = nhot_work(r, 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

struct nhot_window {
	__u32 kh, kw, sh, sw, pt, pl;
};

/* One pool output value (n, oy, ox, c) over the in-bounds window positions. */
static __u8 nhot_pool_output(const struct nhot_run *r, const struct nhot_window *w,
			     __u32 n, __u32 oy, __u32 ox, __u32 c)
{
	const struct nhot_layer *l = r->l;
	__u32 sum = 0, cnt = 0, max = 0, ky, kx;

	for (ky = 0; ky < w->kh; ky++) {
		__s64 iy = (__s64)oy * w->sh - w->pt + ky;

		if (iy < 0 || iy >= l->in_h)
			continue;
		for (kx = 0; kx < w->kw; kx++) {
			__s64 ix = (__s64)ox * w->sw - w->pl + kx;
			__u8 v;

			if (ix < 0 || ix >= l->in_w)
				continue;
			v = r->m->input[(((__u64)n * l->in_h + iy) * l->in_w + ix) * l->in_c + c];
			sum += v;
			max = v > max ? v : max;
			cnt++;
		}
	}
	r->c->cycles += nhot_op_cycles(cnt, r->cfg->pe_count);
	if (l->type == NHOT_LAYER_MAXPOOL)
		return nhot_clamp(max, l);
	/* cnt >= 1: padding is smaller than the window (docs/arith.md 3) */
	return nhot_clamp((sum + cnt / 2) / cnt, l);
}

static int nhot_run_pool(struct nhot_run *r, const struct nhot_window *w)
{
	const struct nhot_layer *l = r->l;
	__u32 row_len = r->s->out_w * l->in_c, n, oy, i;
	__u64 out = 0;
	int ret;

	for (n = 0; n < l->batch; n++) {
		for (oy = 0; oy < r->s->out_h; oy++) {
			ret = nhot_stop(r);
			for (i = 0; !ret && i < row_len; i++) {
				__u8 y = nhot_pool_output(r, w, n, oy, i / l->in_c, i % l->in_c);

				r->m->output[out++] = y;
				ret = nhot_work(r, w->kh * w->kw);
			}
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int nhot_check_mem(const struct nhot_model_shape *s, const struct nhot_model_mem *m)
{
	if ((s->input_bytes && (!m->input || m->input_len < s->input_bytes)) ||
	    (s->input2_bytes && (!m->input2 || m->input2_len < s->input2_bytes)) ||
	    (s->weight_bytes && (!m->weights || m->weights_len < s->weight_bytes)) ||
	    (s->params_bytes && (!m->params || m->params_len < s->params_bytes)) ||
	    !m->output || m->output_len < s->output_bytes)
		return -ERANGE;
	return 0;
}

/**
 * nhot_model_run() - run one layer job on the model
 * @layer: the descriptor
 * @mem: the job's buffers
 * @cfg: engine configuration and the stop hook
 * @table: workspace for the code table (too big for a kernel stack)
 * @counters: out: the job's counters (also on failure: what was done)
 *
 * Return: 0; a descriptor error of nhot_model_check(); -EINVAL for a zero
 * pe_count; -ERANGE when a buffer is shorter than the layer needs; -EILSEQ
 * for an invalid weight code; -EOVERFLOW for channel parameters beyond the
 * limits (|bias| > 2^30, mult > 2^31-1, shift outside 1..62); or the
 * negative errno the stop hook returned.  The data checks run before any
 * output is written.
 *
 * Memory rewritten while the job runs (a caller computing from memory it
 * does not own) never takes the model out of its defined arithmetic: each
 * value is read once where it is used, and the parameters an output uses are
 * checked again there (-EOVERFLOW, the output so far written); a weight code
 * that became invalid reads as a zero weight.  The result is then a mix of
 * versions: an engine that owes one version's result computes from its own
 * copy of the weights and parameters (docs/engine.md).
 */
int nhot_model_run(const struct nhot_layer *layer, const struct nhot_model_mem *mem,
		   const struct nhot_model_cfg *cfg, struct nhot_model_table *table,
		   struct nhot_model_counters *counters)
{
	struct nhot_model_shape s;
	struct nhot_run r = {
		.l = layer, .s = &s, .m = mem, .cfg = cfg, .t = table, .c = counters,
	};
	struct nhot_window w;
	int ret;

	counters->macs = 0;
	counters->shift_adds = 0;
	counters->cycles = 0;
	ret = nhot_model_check(layer, &s);
	if (ret)
		return ret;
	if (!cfg->pe_count)
		return -EINVAL;
	ret = nhot_check_mem(&s, mem);
	if (ret)
		return ret;
	counters->cycles = NHOT_MODEL_JOB_CYCLES;

	switch (layer->type) {
	case NHOT_LAYER_CONV2D:
	case NHOT_LAYER_FC:
		ret = nhot_model_build_table(layer->w_n, layer->w_b, table);
		if (!ret)
			ret = nhot_check_data(&r);
		if (!ret && layer->type == NHOT_LAYER_CONV2D)
			ret = nhot_run_conv(&r);
		else if (!ret)
			ret = nhot_run_fc(&r);
		break;
	case NHOT_LAYER_ADD:
		ret = nhot_run_add(&r);
		break;
	case NHOT_LAYER_GLOBAL_AVGPOOL:
		w = (struct nhot_window){ layer->in_h, layer->in_w, 1, 1, 0, 0 };
		ret = nhot_run_pool(&r, &w);
		break;
	default:
		w = (struct nhot_window){ layer->kernel_h, layer->kernel_w,
			layer->stride_h, layer->stride_w, layer->pad_top, layer->pad_left };
		ret = nhot_run_pool(&r, &w);
		break;
	}
	return ret;
}
