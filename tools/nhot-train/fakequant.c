// SPDX-License-Identifier: MIT
/*
 * Weight fake quantization. The scale of each output channel is calibrated,
 * not learned: it is the scale nhot_choose_scale() (the function nhot-quant
 * quantize uses) picks for the current master weights. The saved model holds
 * the master weights, so nhot-quant later finds the same scales and codes
 * for them as the last forward pass here did (docs/finetune.md).
 *
 * The scale search costs about a hundred roundings per weight, so it runs
 * every fq->refresh passes; the codes are rounded on every pass, over a
 * sorted copy of S(n, b) (nhot_round() rebuilds the set per call).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "fakequant.h"
#include "nhot_model.h"

static int has_weights(const struct nhot_fnode *nd)
{
	return nd->op == NHOT_FOP_CONV2D || nd->op == NHOT_FOP_FC;
}

void fq_weights_release(struct fq_weights *fq)
{
	uint32_t i;

	if (fq->scales)
		for (i = 0; i < fq->net->node_count; i++)
			free(fq->scales[i]);
	free(fq->scales);
	free(fq->passes);
	fq->scales = NULL;
	fq->passes = NULL;
}

int fq_weights_init(struct fq_weights *fq, const struct nhot_fnet *net, int n, int b,
		    int refresh)
{
	const struct nhot_fnode *nd;
	uint32_t i;

	fq->scales = NULL;
	fq->passes = NULL;
	if (!net || refresh < 1)
		return -EINVAL;
	fq->set_size = nhot_set_values(n, b, fq->set, NHOT_SET_MAX);
	if (fq->set_size < 0)
		return fq->set_size;
	fq->n = n;
	fq->b = b;
	fq->refresh = refresh;
	fq->net = net;
	fq->scales = calloc(net->node_count, sizeof(*fq->scales));
	fq->passes = calloc(net->node_count, sizeof(*fq->passes));
	if (!fq->scales || !fq->passes)
		goto err_nomem;
	for (i = 0; i < net->node_count; i++) {
		nd = &net->nodes[i];
		if (!has_weights(nd))
			continue;
		fq->scales[i] = calloc(nd->out_c, sizeof(double));
		if (!fq->scales[i])
			goto err_nomem;
	}
	return 0;

err_nomem:
	fq_weights_release(fq);
	return -ENOMEM;
}

/* docs/arith.md 1.2 over the sorted set: nearest, ties to the smaller magnitude, clamped. */
static int round_set(const int16_t *v, int size, double x)
{
	int lo = 0, hi = size - 1, mid;
	double twice;

	if (x <= v[0])
		return v[0];
	if (x >= v[hi])
		return v[hi];
	/* v[lo] <= x < v[hi] */
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (v[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	twice = 2.0 * x;
	if (twice != v[lo] + v[hi])
		return twice < v[lo] + v[hi] ? v[lo] : v[hi];
	return abs(v[lo]) < abs(v[hi]) ? v[lo] : v[hi];
}

void fq_weights_codes(const struct fq_weights *fq, const float *w, size_t count,
		      double scale, int8_t *q)
{
	size_t i;

	for (i = 0; i < count; i++)
		q[i] = (int8_t)round_set(fq->set, fq->set_size, (double)w[i] / scale);
}

int fq_weights_transform(const struct nhot_fnode *node, const float *master,
			 float *effective, void *ctx)
{
	struct fq_weights *fq = ctx;
	size_t k = node->k, j;
	uint32_t idx, c;
	int8_t *q;
	int search, rc = 0;

	/* Addresses as integers: a node of another network is no array member here. */
	if ((uintptr_t)node < (uintptr_t)fq->net->nodes ||
	    (uintptr_t)node >= (uintptr_t)(fq->net->nodes + fq->net->node_count))
		return -EINVAL;
	idx = (uint32_t)(((uintptr_t)node - (uintptr_t)fq->net->nodes) / sizeof(*node));
	if (!fq->scales[idx])
		return -EINVAL;
	q = malloc(k ? k : 1);
	if (!q)
		return -ENOMEM;
	search = fq->passes[idx]++ % fq->refresh == 0;
	for (c = 0; c < node->out_c && !rc; c++) {
		const float *w = master + (size_t)c * k;
		float *e = effective + (size_t)c * k;
		double *scale = &fq->scales[idx][c];

		if (search)
			rc = nhot_choose_scale(w, k, fq->n, fq->b, scale, NULL);
		else
			for (j = 0; j < k; j++)
				if (!isfinite(w[j]))
					rc = -EINVAL;
		if (rc)
			break;
		fq_weights_codes(fq, w, k, *scale, q);
		for (j = 0; j < k; j++)
			e[j] = (float)(*scale * q[j]);
	}
	free(q);
	return rc;
}
