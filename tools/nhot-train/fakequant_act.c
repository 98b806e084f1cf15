// SPDX-License-Identifier: MIT
/*
 * Activation fake quantization with calibrated (not learned) ranges: the
 * integer model's ranges come from nhot-quant's min/max calibration of the
 * float model, so learning others here would not survive quantization.
 * The calibration runs the trainer's float forward pass (master weights, no
 * rounding) over nhot-quant's calibration images: libnhot's plain float
 * pass, which nhot-quant uses, takes ten times longer and sums in another
 * order, so a range may differ from nhot-quant's in its last float bits.
 * The grid of each node follows userlib/src/model_quantize.c: the range
 * [min(0, lo), max(0, hi)] over 255 steps, the zero point rounded, ReLU
 * clamping at the zero point and ReLU6 at zero + round(6 / scale).
 *
 * Where this differs from the integer arithmetic of docs/arith.md: a value
 * is rounded to the nearest grid point from its float value, while the
 * engine rounds the int32 accumulator through a fixed-point multiplier, and
 * the bias is not rounded to its int32 step. Both differ by at most about
 * one grid step on some values (docs/finetune.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakequant_act.h"

/* Images per calibration forward pass. */
#define CALIB_CHUNK	250

void fq_acts_release(struct fq_acts *a)
{
	tnet_release(&a->t);
	free(a->grids);
	free(a->calib);
	a->grids = NULL;
	a->calib = NULL;
}

int fq_acts_init(struct fq_acts *a, struct nhot_fnet *net, const struct dataset *train)
{
	size_t pix, i, src;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!net || !train || !train->count)
		return -EINVAL;
	pix = (size_t)train->rows * train->cols;
	if (nhot_fnode_elems(&net->nodes[0]) != pix)
		return -EINVAL;
	a->net = net;
	a->calib_count = train->count < FQ_CALIB_IMAGES ? (unsigned int)train->count :
			 FQ_CALIB_IMAGES;
	a->grids = calloc(net->node_count, sizeof(*a->grids));
	a->calib = malloc((size_t)a->calib_count * pix * sizeof(float));
	rc = !a->grids || !a->calib ? -ENOMEM : tnet_init(&a->t, net, CALIB_CHUNK);
	if (rc) {
		fq_acts_release(a);
		return rc;
	}
	for (i = 0; i < a->calib_count; i++) {
		src = i * train->count / a->calib_count;
		memcpy(a->calib + i * pix, train->images + src * pix, pix * sizeof(float));
	}
	rc = fq_acts_calibrate(a);
	if (rc)
		fq_acts_release(a);
	return rc;
}

/* nhot-quant's act_clamp(): the codes a node of activation act can output. */
static void grid_clamp(struct fq_act_grid *g, uint32_t act)
{
	double top;

	g->qmin = 0;
	g->qmax = 255;
	if (act == NHOT_FACT_RELU || act == NHOT_FACT_RELU6)
		g->qmin = g->zero;
	if (act == NHOT_FACT_RELU6) {
		top = g->zero + nearbyint(6.0 / g->scale);
		g->qmax = top > 255 ? 255 : (int)top;
	}
}

/* nhot-quant's act_params(): scale and zero point of the calibrated range. */
static void make_grid(struct fq_act_grid *g, uint32_t act)
{
	double lo = g->lo, hi = g->hi, z;

	if (hi - lo < 1e-6)
		hi = lo + 1e-6;
	g->scale = (hi - lo) / 255.0;
	z = nearbyint(-lo / g->scale);
	g->zero = z < 0 ? 0 : z > 255 ? 255 : (int)z;
	grid_clamp(g, act);
}

int fq_acts_calibrate(struct fq_acts *a)
{
	const struct nhot_fnet *net = a->net;
	size_t in_elems = nhot_fnode_elems(&net->nodes[0]), j, n;
	unsigned int at, chunk;
	uint32_t i;
	int rc = 0;

	for (i = 0; i < net->node_count; i++)
		a->grids[i].lo = a->grids[i].hi = 0;	/* 0 is always in range */
	for (at = 0; at < a->calib_count; at += chunk) {
		chunk = a->calib_count - at < CALIB_CHUNK ? a->calib_count - at : CALIB_CHUNK;
		rc = tnet_forward(&a->t, a->calib + (size_t)at * in_elems, (int)chunk);
		if (rc)
			return rc;
		for (i = 1; i < net->node_count; i++) {
			struct fq_act_grid *g = &a->grids[i];

			n = nhot_fnode_elems(&net->nodes[i]) * chunk;
			for (j = 0; j < n; j++) {
				if (a->t.out[i][j] < g->lo)
					g->lo = a->t.out[i][j];
				if (a->t.out[i][j] > g->hi)
					g->hi = a->t.out[i][j];
			}
		}
	}
	a->grids[0].scale = 1.0 / 255.0;
	a->grids[0].zero = 0;
	a->grids[0].qmin = 0;
	a->grids[0].qmax = 255;
	for (i = 1; i < net->node_count; i++) {
		const struct nhot_fnode *nd = &net->nodes[i];

		if (nd->op == NHOT_FOP_AVGPOOL || nd->op == NHOT_FOP_GLOBAL_AVGPOOL ||
		    nd->op == NHOT_FOP_MAXPOOL) {
			/* A pool keeps its input's grid (docs/arith.md 2.5), its own clamp. */
			a->grids[i] = a->grids[nd->in[0]];
			grid_clamp(&a->grids[i], nd->act);
			continue;
		}
		make_grid(&a->grids[i], nd->act);
	}
	return 0;
}

void fq_acts_apply(const struct fq_acts *a, uint32_t node, float *y, size_t count)
{
	const struct fq_act_grid *g = &a->grids[node];
	double inv = 1.0 / g->scale, q;
	size_t j;

	if (!node)
		return;
	for (j = 0; j < count; j++) {
		q = nearbyint(y[j] * inv) + g->zero;
		q = q < g->qmin ? g->qmin : q > g->qmax ? g->qmax : q;
		y[j] = (float)((q - g->zero) * g->scale);
	}
}

void fq_acts_transform(uint32_t node, float *y, size_t count, void *ctx)
{
	fq_acts_apply(ctx, node, y, count);
}

int fq_acts_refresh(void *ctx)
{
	return fq_acts_calibrate(ctx);
}
