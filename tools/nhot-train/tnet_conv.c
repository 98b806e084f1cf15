// SPDX-License-Identifier: MIT
/*
 * Convolution and FC kernels of the training engine.
 *
 * groups == 1 (and FC): a matrix product. The input is unfolded (im2col) into
 * M = batch * OH * OW rows of K = KH * KW * Cin values in (ky, kx, ci) order,
 * the order of a weight row, so Y[M x Cout] = cols * W^T is one sgemm; a 1x1
 * stride-1 unpadded convolution (and FC) needs no unfolding at all: the NHWC
 * input already is that matrix. The backward pass is the two transposed
 * products and col2im.
 *
 * groups > 1 (depthwise above all): a direct loop over output pixels with the
 * weights transposed to [tap][o][ci], so that the depthwise inner loop runs
 * over contiguous channels.
 */
#include <string.h>

#include <cblas.h>

#include "tnet_ops.h"

static int uses_gemm(const struct nhot_fnode *nd)
{
	return nd->op == NHOT_FOP_FC || nd->groups == 1;
}

static int is_pointwise(const struct nhot_fnode *nd)
{
	return nd->op == NHOT_FOP_FC ||
	       (nd->kernel_h == 1 && nd->kernel_w == 1 && nd->stride_h == 1 &&
		nd->stride_w == 1 && !nd->pad_top && !nd->pad_bottom &&
		!nd->pad_left && !nd->pad_right);
}

size_t op_conv_cols_floats(const struct nhot_fnode *nd, const struct nhot_fnode *in, int batch)
{
	(void)in;
	if (!uses_gemm(nd) || is_pointwise(nd))
		return 0;
	return (size_t)batch * nd->out_h * nd->out_w * nd->k;
}

size_t op_conv_wt_floats(const struct nhot_fnode *nd)
{
	return uses_gemm(nd) ? 0 : (size_t)nd->out_c * nd->k;
}

/* Input row of a tap, or -1 in the padding. */
static long tap_y(const struct nhot_fnode *nd, const struct nhot_fnode *in, uint32_t oy,
		  uint32_t ky)
{
	long iy = (long)oy * nd->stride_h - nd->pad_top + (long)ky * nd->dilation_h;

	return iy >= 0 && iy < (long)in->out_h ? iy : -1;
}

static long tap_x(const struct nhot_fnode *nd, const struct nhot_fnode *in, uint32_t ox,
		  uint32_t kx)
{
	long ix = (long)ox * nd->stride_w - nd->pad_left + (long)kx * nd->dilation_w;

	return ix >= 0 && ix < (long)in->out_w ? ix : -1;
}

/* im2col (groups == 1): cols[m][(ky*KW + kx)*Cin + ci]. */
static void im2col(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		   const float *x, float *cols, int batch)
{
	size_t cin = in->out_c, m = 0;
	uint32_t oy, ox, ky, kx;
	int n;

	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++, m++) {
				float *row = cols + m * nd->k;

				for (ky = 0; ky < nd->kernel_h; ky++) {
					long iy = tap_y(nd, in, oy, ky);

					for (kx = 0; kx < nd->kernel_w; kx++, row += cin) {
						long ix = tap_x(nd, in, ox, kx);

						if (iy < 0 || ix < 0)
							memset(row, 0, cin * sizeof(float));
						else
							memcpy(row, xn + ((size_t)iy * in->out_w + ix) * cin,
							       cin * sizeof(float));
					}
				}
			}
		}
	}
}

/* The adjoint of im2col: adds every column value back onto its input position. */
static void col2im_add(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		       const float *cols, float *dx, int batch)
{
	size_t cin = in->out_c, m = 0, c;
	uint32_t oy, ox, ky, kx;
	int n;

	for (n = 0; n < batch; n++) {
		float *dxn = dx + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++, m++) {
				const float *row = cols + m * nd->k;

				for (ky = 0; ky < nd->kernel_h; ky++) {
					long iy = tap_y(nd, in, oy, ky);

					for (kx = 0; kx < nd->kernel_w; kx++, row += cin) {
						long ix = tap_x(nd, in, ox, kx);
						float *d;

						if (iy < 0 || ix < 0)
							continue;
						d = dxn + ((size_t)iy * in->out_w + ix) * cin;
						for (c = 0; c < cin; c++)
							d[c] += row[c];
					}
				}
			}
		}
	}
}

/* w[o][tap][ci] -> wt[tap][o][ci] */
static void transpose_weights(const struct nhot_fnode *nd, const float *w, float *wt)
{
	uint32_t taps = nd->kernel_h * nd->kernel_w, cg = nd->k / taps, o, tap;

	for (o = 0; o < nd->out_c; o++)
		for (tap = 0; tap < taps; tap++)
			memcpy(wt + ((size_t)tap * nd->out_c + o) * cg,
			       w + (size_t)o * nd->k + (size_t)tap * cg, cg * sizeof(float));
}

static void direct_forward(struct tnet *t, const struct nhot_fnode *nd,
			   const struct nhot_fnode *in, const float *w, const float *x,
			   float *y, int batch)
{
	uint32_t taps = nd->kernel_h * nd->kernel_w, cg = nd->k / taps;
	uint32_t og = nd->out_c / nd->groups, cin = in->out_c, cout = nd->out_c;
	uint32_t oy, ox, ky, kx, o, ci;
	int n;

	transpose_weights(nd, w, t->wt);
	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++) {
				float *restrict yp = y + (((size_t)n * nd->out_h + oy) * nd->out_w + ox) * cout;

				memcpy(yp, nd->bias, cout * sizeof(float));
				for (ky = 0; ky < nd->kernel_h; ky++) {
					long iy = tap_y(nd, in, oy, ky);

					for (kx = 0; kx < nd->kernel_w; kx++) {
						long ix = tap_x(nd, in, ox, kx);
						const float *restrict xp, *restrict wp;

						if (iy < 0 || ix < 0)
							continue;
						xp = xn + ((size_t)iy * in->out_w + ix) * cin;
						wp = t->wt + (size_t)(ky * nd->kernel_w + kx) * cout * cg;
						if (cg == 1 && og == 1) {
							for (o = 0; o < cout; o++)
								yp[o] += xp[o] * wp[o];
							continue;
						}
						for (o = 0; o < cout; o++) {
							const float *xg = xp + (size_t)(o / og) * cg;
							float acc = 0.0f;

							for (ci = 0; ci < cg; ci++)
								acc += xg[ci] * wp[(size_t)o * cg + ci];
							yp[o] += acc;
						}
					}
				}
			}
		}
	}
}

static void direct_backward(struct tnet *t, const struct nhot_fnode *nd,
			    const struct nhot_fnode *in, const float *w, const float *x,
			    const float *dy, float *dw, float *dx, int batch)
{
	uint32_t taps = nd->kernel_h * nd->kernel_w, cg = nd->k / taps;
	uint32_t og = nd->out_c / nd->groups, cin = in->out_c, cout = nd->out_c;
	uint32_t oy, ox, ky, kx, o, ci, tap;
	int n;

	transpose_weights(nd, w, t->wt);
	memset(t->dwt, 0, (size_t)cout * nd->k * sizeof(float));
	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);
		float *dxn = dx ? dx + (size_t)n * nhot_fnode_elems(in) : NULL;

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++) {
				const float *restrict dyp =
					dy + (((size_t)n * nd->out_h + oy) * nd->out_w + ox) * cout;

				for (ky = 0; ky < nd->kernel_h; ky++) {
					long iy = tap_y(nd, in, oy, ky);

					for (kx = 0; kx < nd->kernel_w; kx++) {
						long ix = tap_x(nd, in, ox, kx);
						size_t toff = (size_t)(ky * nd->kernel_w + kx) * cout * cg;
						const float *restrict wp = t->wt + toff;
						float *restrict dwp = t->dwt + toff;
						const float *restrict xp;
						float *restrict dxp;
						size_t pix;

						if (iy < 0 || ix < 0)
							continue;
						pix = ((size_t)iy * in->out_w + ix) * cin;
						xp = xn + pix;
						dxp = dxn ? dxn + pix : NULL;
						if (cg == 1 && og == 1) {
							for (o = 0; o < cout; o++)
								dwp[o] += dyp[o] * xp[o];
							if (dxp)
								for (o = 0; o < cout; o++)
									dxp[o] += dyp[o] * wp[o];
							continue;
						}
						for (o = 0; o < cout; o++) {
							size_t g0 = (size_t)(o / og) * cg;

							for (ci = 0; ci < cg; ci++) {
								dwp[(size_t)o * cg + ci] += dyp[o] * xp[g0 + ci];
								if (dxp)
									dxp[g0 + ci] += dyp[o] *
										wp[(size_t)o * cg + ci];
							}
						}
					}
				}
			}
		}
	}
	for (o = 0; o < cout; o++)
		for (tap = 0; tap < taps; tap++)
			for (ci = 0; ci < cg; ci++)
				dw[(size_t)o * nd->k + (size_t)tap * cg + ci] +=
					t->dwt[((size_t)tap * cout + o) * cg + ci];
}

void op_conv_forward(struct tnet *t, const struct nhot_fnode *nd, const struct nhot_fnode *in,
		     const float *w, const float *x, float *y, int batch)
{
	size_t m = (size_t)batch * nd->out_h * nd->out_w, i;
	const float *a = x;

	if (!uses_gemm(nd)) {
		direct_forward(t, nd, in, w, x, y, batch);
		return;
	}
	if (!is_pointwise(nd)) {
		im2col(nd, in, x, t->cols, batch);
		a = t->cols;
	}
	for (i = 0; i < m; i++)
		memcpy(y + i * nd->out_c, nd->bias, nd->out_c * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nd->out_c, (int)nd->k,
		    1.0f, a, (int)nd->k, w, (int)nd->k, 1.0f, y, (int)nd->out_c);
}

void op_conv_backward(struct tnet *t, const struct nhot_fnode *nd, const struct nhot_fnode *in,
		      const float *w, const float *x, const float *dy, float *dw, float *db,
		      float *dx, int batch)
{
	size_t m = (size_t)batch * nd->out_h * nd->out_w, i, o;
	const float *a = x;

	for (i = 0; i < m; i++)
		for (o = 0; o < nd->out_c; o++)
			db[o] += dy[i * nd->out_c + o];
	if (!uses_gemm(nd)) {
		direct_backward(t, nd, in, w, x, dy, dw, dx, batch);
		return;
	}
	if (!is_pointwise(nd)) {
		im2col(nd, in, x, t->cols, batch);
		a = t->cols;
	}
	/* dW[Cout x K] += dY^T[Cout x M] * A[M x K] */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nd->out_c, (int)nd->k, (int)m,
		    1.0f, dy, (int)nd->out_c, a, (int)nd->k, 1.0f, dw, (int)nd->k);
	if (!dx)
		return;
	/* dA[M x K] = dY[M x Cout] * W[Cout x K] */
	if (is_pointwise(nd)) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nd->k,
			    (int)nd->out_c, 1.0f, dy, (int)nd->out_c, w, (int)nd->k, 1.0f, dx,
			    (int)nd->k);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nd->k, (int)nd->out_c,
		    1.0f, dy, (int)nd->out_c, w, (int)nd->k, 0.0f, t->dcols, (int)nd->k);
	col2im_add(nd, in, t->dcols, dx, batch);
}
