// SPDX-License-Identifier: MIT
/*
 * The float forward pass: plain C, straight from docs/float-model-format.md
 * section 1. The quantizer runs it on training images to calibrate every
 * node's activation range, and nhot-train's tests use it as the oracle of
 * the trainer's own (BLAS) forward pass.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_fmodel.h"

static float activate(float v, uint32_t act)
{
	if (act == NHOT_FACT_NONE)
		return v;
	if (v < 0.0f)
		v = 0.0f;
	if (act == NHOT_FACT_RELU6 && v > 6.0f)
		v = 6.0f;
	return v;
}

/*
 * CONV2D. Every output value is bias + the products in (ky, kx, ci) order,
 * as the format document defines; the loops run over output channels
 * innermost (weights transposed to [tap][ci][o]), so the channels' sums are
 * independent chains instead of one long dependent one.
 */
static int conv2d(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		  const float *x, float *y, int batch)
{
	uint32_t taps = nd->kernel_h * nd->kernel_w, cg = in->out_c / nd->groups;
	uint32_t og = nd->out_c / nd->groups, cout = nd->out_c;
	uint32_t oy, ox, o, ky, kx, ci, g, tap;
	float *wt;
	long iy, ix;
	int n;

	wt = malloc((size_t)cout * nd->k * sizeof(float));
	if (!wt)
		return -ENOMEM;
	for (o = 0; o < cout; o++)
		for (tap = 0; tap < taps; tap++)
			for (ci = 0; ci < cg; ci++)
				wt[((size_t)tap * cg + ci) * cout + o] =
					nd->weights[(size_t)o * nd->k + (size_t)tap * cg + ci];

	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++) {
				float *restrict acc = y + (((size_t)n * nd->out_h + oy) * nd->out_w + ox) * cout;

				memcpy(acc, nd->bias, cout * sizeof(float));
				for (ky = 0; ky < nd->kernel_h; ky++) {
					iy = (long)oy * nd->stride_h - nd->pad_top + (long)ky * nd->dilation_h;
					if (iy < 0 || iy >= in->out_h)
						continue;
					for (kx = 0; kx < nd->kernel_w; kx++) {
						const float *restrict xp;
						const float *restrict wp;

						ix = (long)ox * nd->stride_w - nd->pad_left +
						     (long)kx * nd->dilation_w;
						if (ix < 0 || ix >= in->out_w)
							continue;
						xp = xn + ((size_t)iy * in->out_w + ix) * in->out_c;
						wp = wt + (size_t)(ky * nd->kernel_w + kx) * cg * cout;
						if (cg == 1 && og == 1) {	/* depthwise */
							for (o = 0; o < cout; o++)
								acc[o] += xp[o] * wp[o];
							continue;
						}
						for (g = 0; g < nd->groups; g++)
							for (ci = 0; ci < cg; ci++) {
								const float *restrict w = wp + (size_t)ci * cout + g * og;
								float xv = xp[g * cg + ci];

								for (o = 0; o < og; o++)
									acc[g * og + o] += xv * w[o];
							}
					}
				}
				for (o = 0; o < cout; o++)
					acc[o] = activate(acc[o], nd->act);
			}
		}
	}
	free(wt);
	return 0;
}

static void fc(const struct nhot_fnode *nd, const float *x, float *y, int batch)
{
	uint32_t o, k;
	int n;

	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nd->k;

		for (o = 0; o < nd->out_c; o++) {
			const float *w = nd->weights + (size_t)o * nd->k;
			float acc = nd->bias[o];

			for (k = 0; k < nd->k; k++)
				acc += xn[k] * w[k];
			y[(size_t)n * nd->out_c + o] = activate(acc, nd->act);
		}
	}
}

/* AVGPOOL, MAXPOOL and GLOBAL_AVGPOOL (a window of the whole plane). */
static void pool(const struct nhot_fnode *nd, const struct nhot_fnode *in,
		 const float *x, float *y, int batch)
{
	int global = nd->op == NHOT_FOP_GLOBAL_AVGPOOL;
	uint32_t kh = global ? in->out_h : nd->kernel_h, kw = global ? in->out_w : nd->kernel_w;
	uint32_t sh = global ? 1 : nd->stride_h, sw = global ? 1 : nd->stride_w;
	uint32_t oy, ox, ky, kx, c, cnt;
	long iy, ix;
	int n;

	for (n = 0; n < batch; n++) {
		const float *xn = x + (size_t)n * nhot_fnode_elems(in);

		for (oy = 0; oy < nd->out_h; oy++) {
			for (ox = 0; ox < nd->out_w; ox++) {
				float *yp = y + (((size_t)n * nd->out_h + oy) * nd->out_w + ox) * nd->out_c;

				for (c = 0; c < nd->out_c; c++) {
					float acc = 0.0f;
					int first = 1;

					cnt = 0;
					for (ky = 0; ky < kh; ky++) {
						iy = (long)oy * sh - nd->pad_top + ky;
						if (iy < 0 || iy >= in->out_h)
							continue;
						for (kx = 0; kx < kw; kx++) {
							float v;

							ix = (long)ox * sw - nd->pad_left + kx;
							if (ix < 0 || ix >= in->out_w)
								continue;
							v = xn[((size_t)iy * in->out_w + ix) * in->out_c + c];
							if (nd->op == NHOT_FOP_MAXPOOL)
								acc = first || v > acc ? v : acc;
							else
								acc += v;
							first = 0;
							cnt++;
						}
					}
					if (nd->op != NHOT_FOP_MAXPOOL)
						acc /= (float)cnt;	/* cnt >= 1: pad < kernel */
					yp[c] = activate(acc, nd->act);
				}
			}
		}
	}
}

static void add(const struct nhot_fnode *nd, const float *a, const float *b, float *y,
		int batch)
{
	size_t i, count = (size_t)batch * nhot_fnode_elems(nd);

	for (i = 0; i < count; i++)
		y[i] = activate(a[i] + b[i], nd->act);
}

void nhot_fnet_outputs_free(const struct nhot_fnet *net, float **node_outputs)
{
	uint32_t i;

	if (!net || !node_outputs)
		return;
	for (i = 0; i < net->node_count; i++) {
		free(node_outputs[i]);
		node_outputs[i] = NULL;
	}
}

int nhot_fnet_forward(const struct nhot_fnet *net, const float *input, int batch,
		      float **node_outputs)
{
	const struct nhot_fnode *nd;
	float **out = node_outputs;
	uint32_t i;

	if (!net || !input || !node_outputs || nhot_fnet_validate(net))
		return -EINVAL;
	memset(out, 0, net->node_count * sizeof(*out));
	if (batch < 1 || batch > NHOT_FNET_MAX_BATCH)
		return -EINVAL;
	for (i = 0; i < net->node_count; i++) {
		nd = &net->nodes[i];
		/* elems <= 2^28 and batch < 2^16: no size_t overflow. */
		out[i] = malloc((size_t)batch * nhot_fnode_elems(nd) * sizeof(float));
		if (!out[i]) {
			nhot_fnet_outputs_free(net, out);
			return -ENOMEM;
		}
		switch (nd->op) {
		case NHOT_FOP_INPUT:
			memcpy(out[i], input, (size_t)batch * nhot_fnode_elems(nd) * sizeof(float));
			break;
		case NHOT_FOP_CONV2D:
			if (conv2d(nd, &net->nodes[nd->in[0]], out[nd->in[0]], out[i], batch)) {
				nhot_fnet_outputs_free(net, out);
				return -ENOMEM;
			}
			break;
		case NHOT_FOP_FC:
			fc(nd, out[nd->in[0]], out[i], batch);
			break;
		case NHOT_FOP_ADD:
			add(nd, out[nd->in[0]], out[nd->in[1]], out[i], batch);
			break;
		default:
			pool(nd, &net->nodes[nd->in[0]], out[nd->in[0]], out[i], batch);
			break;
		}
	}
	return 0;
}

int nhot_fnet_classify(const struct nhot_fnet *net, const float *input, int batch,
		       int *labels, float *logits)
{
	const struct nhot_fnode *last;
	float **outs;
	size_t classes;
	int n, ret;

	if (!net || !labels || !net->nodes || net->node_count < 1 ||
	    net->node_count > NHOT_FNET_MAX_NODES)
		return -EINVAL;
	outs = calloc(net->node_count, sizeof(*outs));
	if (!outs)
		return -ENOMEM;
	ret = nhot_fnet_forward(net, input, batch, outs);
	if (ret)
		goto out_free;
	last = &net->nodes[net->node_count - 1];
	classes = nhot_fnode_elems(last);
	for (n = 0; n < batch; n++) {
		const float *v = outs[net->node_count - 1] + (size_t)n * classes;
		size_t c, best = 0;

		for (c = 1; c < classes; c++)
			if (v[c] > v[best])
				best = c;
		labels[n] = (int)best;
	}
	if (logits)
		memcpy(logits, outs[net->node_count - 1], (size_t)batch * classes * sizeof(float));
	nhot_fnet_outputs_free(net, outs);
out_free:
	free(outs);
	return ret;
}
