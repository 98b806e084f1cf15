// SPDX-License-Identifier: MIT
/*
 * The oneDNN side of `make bench`: int8 matmul and convolution computing the
 * same function as the nhot layer (u8 source with a zero point, s8 weights,
 * s32 bias, per-channel output scales, u8 destination with a zero point).
 * Weights are given oneDNN's preferred layout ("any") once, outside the
 * timed region, as an inference deployment would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bench.h"

#define CHECK(call) do { dnnl_status_t st_ = (call); if (st_ != dnnl_success) { \
	fprintf(stderr, "bench: %s: oneDNN status %d\n", #call, (int)st_); goto fail; } } while (0)

struct onednn_op {
	dnnl_engine_t engine;
	dnnl_stream_t stream;
	dnnl_primitive_t prim;
	dnnl_memory_t src, wei, bias, dst;
	int with_zero_points;
};

static int make_attr(const struct bench_shape *sh, const float *scales, int zp,
		     dnnl_primitive_attr_t *attr)
{
	int32_t in_zero = (int32_t)sh->in_zero, out_zero = (int32_t)sh->out_zero;

	CHECK(dnnl_primitive_attr_create(attr));
	CHECK(dnnl_primitive_attr_set_output_scales(*attr, sh->n, 1 << 1, scales));
	if (zp) {
		CHECK(dnnl_primitive_attr_set_zero_points(*attr, DNNL_ARG_SRC, 1, 0, &in_zero));
		CHECK(dnnl_primitive_attr_set_zero_points(*attr, DNNL_ARG_DST, 1, 0, &out_zero));
	}
	return 0;
fail:
	return -1;
}

/* The op descriptor of the shape: matmul, or convolution for conv/dw. */
static int init_desc(const struct bench_shape *sh, void *desc, dnnl_memory_desc_t *src_md,
		     dnnl_memory_desc_t *wei_md, dnnl_memory_desc_t *wei_plain,
		     dnnl_memory_desc_t *bias_md, dnnl_memory_desc_t *dst_md)
{
	if (sh->kind == BENCH_GEMM) {
		dnnl_dims_t s = { sh->m, sh->k }, w = { sh->k, sh->n }, b = { 1, sh->n },
			    d = { sh->m, sh->n };

		CHECK(dnnl_memory_desc_init_by_tag(src_md, 2, s, dnnl_u8, dnnl_ab));
		CHECK(dnnl_memory_desc_init_by_tag(wei_md, 2, w, dnnl_s8, dnnl_format_tag_any));
		/* Our weights are [N][K]: that is K x N in "ba". */
		CHECK(dnnl_memory_desc_init_by_tag(wei_plain, 2, w, dnnl_s8, dnnl_ba));
		CHECK(dnnl_memory_desc_init_by_tag(bias_md, 2, b, dnnl_s32, dnnl_ab));
		CHECK(dnnl_memory_desc_init_by_tag(dst_md, 2, d, dnnl_u8, dnnl_ab));
		CHECK(dnnl_matmul_desc_init(desc, src_md, wei_md, bias_md, dst_md));
		return 0;
	} else {
		dnnl_dims_t s = { 1, sh->c, sh->h, sh->w }, d = { 1, sh->n, sh->h, sh->w };
		dnnl_dims_t b = { sh->n }, strides = { 1, 1 }, pad = { 1, 1 };

		CHECK(dnnl_memory_desc_init_by_tag(src_md, 4, s, dnnl_u8, dnnl_nhwc));
		CHECK(dnnl_memory_desc_init_by_tag(dst_md, 4, d, dnnl_u8, dnnl_nhwc));
		CHECK(dnnl_memory_desc_init_by_tag(bias_md, 1, b, dnnl_s32, dnnl_a));
		if (sh->kind == BENCH_DW) {
			dnnl_dims_t w = { sh->c, 1, 1, 3, 3 };

			CHECK(dnnl_memory_desc_init_by_tag(wei_md, 5, w, dnnl_s8,
							   dnnl_format_tag_any));
			/* Our rows are [c][ky][kx]: goihw with o = i = 1. */
			CHECK(dnnl_memory_desc_init_by_tag(wei_plain, 5, w, dnnl_s8, dnnl_goihw));
		} else {
			dnnl_dims_t w = { sh->n, sh->c, 3, 3 };

			CHECK(dnnl_memory_desc_init_by_tag(wei_md, 4, w, dnnl_s8,
							   dnnl_format_tag_any));
			/* Our rows are [o][ky][kx][ci]: ohwi. */
			CHECK(dnnl_memory_desc_init_by_tag(wei_plain, 4, w, dnnl_s8, dnnl_ohwi));
		}
		CHECK(dnnl_convolution_forward_desc_init(desc, dnnl_forward_inference,
							 dnnl_convolution_direct, src_md, wei_md,
							 bias_md, dst_md, strides, pad, pad));
		return 0;
	}
fail:
	return -1;
}

void onednn_destroy(struct onednn_op *op)
{
	if (!op)
		return;
	if (op->prim)
		dnnl_primitive_destroy(op->prim);
	if (op->src)
		dnnl_memory_destroy(op->src);
	if (op->wei)
		dnnl_memory_destroy(op->wei);
	if (op->bias)
		dnnl_memory_destroy(op->bias);
	if (op->dst)
		dnnl_memory_destroy(op->dst);
	if (op->stream)
		dnnl_stream_destroy(op->stream);
	if (op->engine)
		dnnl_engine_destroy(op->engine);
	free(op);
}

struct onednn_op *onednn_create(const struct bench_shape *sh, const struct bench_data *d)
{
	struct onednn_op *op = calloc(1, sizeof(*op));
	union {
		dnnl_matmul_desc_t mm;
		dnnl_convolution_desc_t conv;
	} desc;
	dnnl_memory_desc_t src_md, wei_md, wei_plain, bias_md, dst_md;
	dnnl_primitive_desc_t pd = NULL, rpd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_primitive_t reorder = NULL;
	dnnl_memory_t plain = NULL;
	int zp;

	if (!op)
		return NULL;
	CHECK(dnnl_engine_create(&op->engine, dnnl_cpu, 0));
	CHECK(dnnl_stream_create(&op->stream, op->engine, dnnl_stream_default_flags));
	if (init_desc(sh, &desc, &src_md, &wei_md, &wei_plain, &bias_md, &dst_md))
		goto fail;
	/* With zero points if this oneDNN supports them for the op, else without. */
	for (zp = 1; zp >= 0; zp--) {
		if (make_attr(sh, d->scales, zp, &attr))
			goto fail;
		if (dnnl_primitive_desc_create(&pd, &desc, attr, op->engine, NULL) == dnnl_success)
			break;
		dnnl_primitive_attr_destroy(attr);
		attr = NULL;
		pd = NULL;
	}
	if (!pd) {
		fprintf(stderr, "bench: oneDNN has no primitive for %s\n", sh->name);
		goto fail;
	}
	op->with_zero_points = zp;
	CHECK(dnnl_primitive_create(&op->prim, pd));
	CHECK(dnnl_memory_create(&op->src, &src_md, op->engine, d->input));
	CHECK(dnnl_memory_create(&op->bias, &bias_md, op->engine, d->bias));
	CHECK(dnnl_memory_create(&op->dst, &dst_md, op->engine, DNNL_MEMORY_ALLOCATE));
	CHECK(dnnl_memory_create(&op->wei, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
				 op->engine, DNNL_MEMORY_ALLOCATE));
	CHECK(dnnl_memory_create(&plain, &wei_plain, op->engine, d->values));
	CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wei_plain, op->engine,
						 dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
						 op->engine, NULL));
	CHECK(dnnl_primitive_create(&reorder, rpd));
	{
		dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, plain }, { DNNL_ARG_TO, op->wei } };

		CHECK(dnnl_primitive_execute(reorder, op->stream, 2, args));
		CHECK(dnnl_stream_wait(op->stream));
	}
	dnnl_primitive_destroy(reorder);
	dnnl_primitive_desc_destroy(rpd);
	dnnl_memory_destroy(plain);
	dnnl_primitive_desc_destroy(pd);
	dnnl_primitive_attr_destroy(attr);
	return op;
fail:
	if (reorder)
		dnnl_primitive_destroy(reorder);
	if (rpd)
		dnnl_primitive_desc_destroy(rpd);
	if (plain)
		dnnl_memory_destroy(plain);
	if (pd)
		dnnl_primitive_desc_destroy(pd);
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	onednn_destroy(op);
	return NULL;
}

int onednn_has_zero_points(const struct onednn_op *op)
{
	return op->with_zero_points;
}

int onednn_run(struct onednn_op *op)
{
	dnnl_exec_arg_t args[4] = {
		{ DNNL_ARG_SRC, op->src }, { DNNL_ARG_WEIGHTS, op->wei },
		{ DNNL_ARG_BIAS, op->bias }, { DNNL_ARG_DST, op->dst },
	};

	if (dnnl_primitive_execute(op->prim, op->stream, 4, args) != dnnl_success ||
	    dnnl_stream_wait(op->stream) != dnnl_success)
		return -1;
	return 0;
}
