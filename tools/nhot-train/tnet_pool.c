// SPDX-License-Identifier: MIT
/*
 * Pooling kernels of the training engine: AVGPOOL (padding not counted),
 * MAXPOOL (padding ignored; the gradient goes to the first maximum) and
 * GLOBAL_AVGPOOL, which is AVGPOOL with the whole plane as its window.
 */
#include "tnet_ops.h"

struct window {
	uint32_t kh, kw, sh, sw;
};

static struct window window_of(const struct nhot_fnode *nd, const struct nhot_fnode *in)
{
	struct window w = { nd->kernel_h, nd->kernel_w, nd->stride_h, nd->stride_w };

	if (nd->op == NHOT_FOP_GLOBAL_AVGPOOL) {
		w.kh = in->out_h;
		w.kw = in->out_w;
		w.sh = 1;
		w.sw = 1;
	}
	return w;
}

/*
 * Visits one output value's window: returns the number of in-bounds
 * positions and, for MAXPOOL, the offset of the first maximum in *arg; for
 * the averages the sum in *sum.
 */
static uint32_t scan(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		     struct window w, const float *xn, uint32_t oy, uint32_t ox, uint32_t c,
		     float *sum, size_t *arg)
{
	uint32_t ky, kx, cnt = 0;
	float best = 0.0f, acc = 0.0f;

	for (ky = 0; ky < w.kh; ky++) {
		long iy = (long)oy * w.sh - nd->pad_top + ky;

		if (iy < 0 || iy >= (long)in->out_h)
			continue;
		for (kx = 0; kx < w.kw; kx++) {
			long ix = (long)ox * w.sw - nd->pad_left + kx;
			size_t off;

			if (ix < 0 || ix >= (long)in->out_w)
				continue;
			off = ((size_t)iy * in->out_w + ix) * in->out_c + c;
			acc += xn[off];
			if (!cnt || xn[off] > best) {
				best = xn[off];
				*arg = off;
			}
			cnt++;
		}
	}
	*sum = nd->op == NHOT_FOP_MAXPOOL ? best : acc;
	return cnt;
}

/*
 * GLOBAL_AVGPOOL over whole planes, channels innermost: the same sums in the
 * same order as the window scan, so the same bits, without its per-value
 * walk over the plane.
 */
static void global_forward(const struct nhot_fnode *in, const float *x, float *y, int batch)
{
	size_t pixels = (size_t)in->out_h * in->out_w, p, c, C = in->out_c;
	int n;

	for (n = 0; n < batch; n++, y += C) {
		const float *xn = x + (size_t)n * pixels * C;

		for (c = 0; c < C; c++)
			y[c] = 0.0f;
		for (p = 0; p < pixels; p++)
			for (c = 0; c < C; c++)
				y[c] += xn[p * C + c];
		for (c = 0; c < C; c++)
			y[c] /= (float)pixels;
	}
}

static void global_backward(const struct nhot_fnode *in, const float *dy, float *dx, int batch)
{
	size_t pixels = (size_t)in->out_h * in->out_w, p, c, C = in->out_c;
	int n;

	for (n = 0; n < batch; n++, dy += C) {
		float *dxn = dx + (size_t)n * pixels * C;

		for (p = 0; p < pixels; p++)
			for (c = 0; c < C; c++)
				dxn[p * C + c] += dy[c] / (float)pixels;
	}
}

void op_pool_forward(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		     const float *x, float *y, int batch)
{
	struct window w = window_of(nd, in);
	uint32_t oy, ox, c, cnt;
	size_t arg = 0;
	float v;
	int n;

	if (nd->op == NHOT_FOP_GLOBAL_AVGPOOL) {
		global_forward(in, x, y, batch);
		return;
	}
	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++)
			for (ox = 0; ox < nd->out_w; ox++)
				for (c = 0; c < nd->out_c; c++, y++) {
					cnt = scan(nd, in, w, xn, oy, ox, c, &v, &arg);
					*y = nd->op == NHOT_FOP_MAXPOOL ? v : v / (float)cnt;
				}
	}
}

void op_pool_backward(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		      const float *x, const float *dy, float *dx, int batch)
{
	struct window w = window_of(nd, in);
	uint32_t oy, ox, c, ky, kx, cnt;
	size_t arg = 0;
	float v, g;
	int n;

	if (nd->op == NHOT_FOP_GLOBAL_AVGPOOL) {
		global_backward(in, dy, dx, batch);
		return;
	}
	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);
		float *dxn = dx + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++)
			for (ox = 0; ox < nd->out_w; ox++)
				for (c = 0; c < nd->out_c; c++, dy++) {
					cnt = scan(nd, in, w, xn, oy, ox, c, &v, &arg);
					if (nd->op == NHOT_FOP_MAXPOOL) {
						dxn[arg] += *dy;
						continue;
					}
					g = *dy / (float)cnt;
					for (ky = 0; ky < w.kh; ky++) {
						long iy = (long)oy * w.sh - nd->pad_top + ky;

						if (iy < 0 || iy >= (long)in->out_h)
							continue;
						for (kx = 0; kx < w.kw; kx++) {
							long ix = (long)ox * w.sw - nd->pad_left + kx;

							if (ix < 0 || ix >= (long)in->out_w)
								continue;
							dxn[((size_t)iy * in->out_w + ix) * in->out_c + c] += g;
						}
					}
				}
	}
}
