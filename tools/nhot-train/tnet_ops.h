/* SPDX-License-Identifier: MIT */
/* The per-op kernels of the training engine (private to tnet*.c). */
#ifndef NHOT_TRAIN_TNET_OPS_H
#define NHOT_TRAIN_TNET_OPS_H

#include "tnet.h"

/* CONV2D and FC: nd's output for batch images of input node in (x) into y, before activation. */
void op_conv_forward(struct tnet *t, const struct nhot_fnode *nd, const struct nhot_fnode *in,
		     const float *w, const float *x, float *y, int batch);
/*
 * Given dy (d loss / d pre-activation output), adds d/dw into dw, d/dbias
 * into db and d/dx into dx (dx may be NULL: not needed).
 */
void op_conv_backward(struct tnet *t, const struct nhot_fnode *nd, const struct nhot_fnode *in,
		      const float *w, const float *x, const float *dy, float *dw, float *db,
		      float *dx, int batch);

/* AVGPOOL, MAXPOOL, GLOBAL_AVGPOOL. */
void op_pool_forward(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		     const float *x, float *y, int batch);
void op_pool_backward(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		      const float *x, const float *dy, float *dx, int batch);

/* Bytes of scratch the convolution kernels need for nd (floats). */
size_t op_conv_cols_floats(const struct nhot_fnode *nd, const struct nhot_fnode *in, int batch);
size_t op_conv_wt_floats(const struct nhot_fnode *nd);

#endif
