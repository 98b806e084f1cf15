// SPDX-License-Identifier: MIT
/*
 * AdamW: the Adam update with bias correction, plus weight decay applied
 * to the weights directly (not to the biases, not through the moments).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"

static void free_moments(float **m, uint32_t count)
{
	uint32_t i;

	if (!m)
		return;
	for (i = 0; i < count; i++)
		free(m[i]);
	free(m);
}

void adam_release(struct adam *a)
{
	uint32_t count = a->t ? a->t->net->node_count : 0;

	free_moments(a->mw, count);
	free_moments(a->vw, count);
	free_moments(a->mb, count);
	free_moments(a->vb, count);
	memset(a, 0, sizeof(*a));
}

int adam_init(struct adam *a, struct tnet *t, double weight_decay)
{
	uint32_t i, count = t->net->node_count;

	memset(a, 0, sizeof(*a));
	a->t = t;
	a->beta1 = 0.9;
	a->beta2 = 0.999;
	a->eps = 1e-8;
	a->weight_decay = weight_decay;
	a->mw = calloc(count, sizeof(float *));
	a->vw = calloc(count, sizeof(float *));
	a->mb = calloc(count, sizeof(float *));
	a->vb = calloc(count, sizeof(float *));
	if (!a->mw || !a->vw || !a->mb || !a->vb)
		goto err_nomem;
	for (i = 0; i < count; i++) {
		const struct nhot_fnode *nd = &t->net->nodes[i];
		size_t nw = (size_t)nd->out_c * nd->k;

		if (!nd->weights)
			continue;
		a->mw[i] = calloc(nw, sizeof(float));
		a->vw[i] = calloc(nw, sizeof(float));
		a->mb[i] = calloc(nd->out_c, sizeof(float));
		a->vb[i] = calloc(nd->out_c, sizeof(float));
		if (!a->mw[i] || !a->vw[i] || !a->mb[i] || !a->vb[i])
			goto err_nomem;
	}
	return 0;

err_nomem:
	adam_release(a);
	return -ENOMEM;
}

static void update(float *p, const float *g, float *m, float *v, size_t count, double lr,
		   double c1, double c2, const struct adam *a, double decay)
{
	size_t i;

	for (i = 0; i < count; i++) {
		m[i] = (float)(a->beta1 * m[i] + (1.0 - a->beta1) * g[i]);
		v[i] = (float)(a->beta2 * v[i] + (1.0 - a->beta2) * (double)g[i] * g[i]);
		p[i] -= (float)(lr * ((m[i] / c1) / (sqrt(v[i] / c2) + a->eps) + decay * p[i]));
	}
}

void adam_step(struct adam *a, double lr)
{
	struct nhot_fnet *net = a->t->net;
	double c1, c2;
	uint32_t i;

	a->step++;
	c1 = 1.0 - pow(a->beta1, (double)a->step);
	c2 = 1.0 - pow(a->beta2, (double)a->step);
	for (i = 0; i < net->node_count; i++) {
		struct nhot_fnode *nd = &net->nodes[i];

		if (!nd->weights)
			continue;
		update(nd->weights, a->t->dw[i], a->mw[i], a->vw[i], (size_t)nd->out_c * nd->k,
		       lr, c1, c2, a, a->weight_decay);
		update(nd->bias, a->t->db[i], a->mb[i], a->vb[i], nd->out_c, lr, c1, c2, a, 0.0);
	}
}
