// SPDX-License-Identifier: MIT
/*
 * The training engine: buffers, the forward pass, the loss and the backward
 * pass over the nodes of a float network (the per-op kernels are in
 * tnet_conv.c and tnet_pool.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tnet_ops.h"

static int has_weights(const struct nhot_fnode *nd)
{
	return nd->op == NHOT_FOP_CONV2D || nd->op == NHOT_FOP_FC;
}

static float **ptr_array(uint32_t count)
{
	return calloc(count, sizeof(float *));
}

static void free_array(float **a, uint32_t count)
{
	uint32_t i;

	if (!a)
		return;
	for (i = 0; i < count; i++)
		free(a[i]);
	free(a);
}

void tnet_release(struct tnet *t)
{
	uint32_t count;

	if (!t->net)
		return;
	count = t->net->node_count;
	free_array(t->out, count);
	free_array(t->dout, count);
	free_array(t->dw, count);
	free_array(t->db, count);
	free_array(t->eff_own, count);
	free(t->eff);
	free(t->wt);
	free(t->dwt);
	free(t->cols);
	free(t->dcols);
	memset(t, 0, sizeof(*t));
}

int tnet_init(struct tnet *t, struct nhot_fnet *net, int batch_cap)
{
	const struct nhot_fnode *nd;
	uint32_t i, count;
	size_t elems, s;

	memset(t, 0, sizeof(*t));
	if (nhot_fnet_validate(net) || batch_cap < 1 || batch_cap > NHOT_FNET_MAX_BATCH)
		return -EINVAL;
	count = net->node_count;
	t->net = net;
	t->batch_cap = batch_cap;
	t->out = ptr_array(count);
	t->dout = ptr_array(count);
	t->dw = ptr_array(count);
	t->db = ptr_array(count);
	t->eff_own = ptr_array(count);
	t->eff = ptr_array(count);
	if (!t->out || !t->dout || !t->dw || !t->db || !t->eff_own || !t->eff)
		goto err_nomem;
	for (i = 0; i < count; i++) {
		nd = &net->nodes[i];
		elems = (size_t)batch_cap * nhot_fnode_elems(nd);
		t->out[i] = malloc(elems * sizeof(float));
		t->dout[i] = malloc(elems * sizeof(float));
		if (!t->out[i] || !t->dout[i])
			goto err_nomem;
		if (!has_weights(nd))
			continue;
		t->dw[i] = calloc((size_t)nd->out_c * nd->k, sizeof(float));
		t->db[i] = calloc(nd->out_c, sizeof(float));
		if (!t->dw[i] || !t->db[i])
			goto err_nomem;
		t->eff[i] = nd->weights;
		s = op_conv_cols_floats(nd, &net->nodes[nd->in[0]], batch_cap);
		if (s > t->cols_cap)
			t->cols_cap = s;
		s = op_conv_wt_floats(nd);
		if (s > t->wt_cap)
			t->wt_cap = s;
	}
	t->cols = malloc((t->cols_cap ? t->cols_cap : 1) * sizeof(float));
	t->dcols = malloc((t->cols_cap ? t->cols_cap : 1) * sizeof(float));
	t->wt = malloc((t->wt_cap ? t->wt_cap : 1) * sizeof(float));
	t->dwt = malloc((t->wt_cap ? t->wt_cap : 1) * sizeof(float));
	if (!t->cols || !t->dcols || !t->wt || !t->dwt)
		goto err_nomem;
	return 0;

err_nomem:
	tnet_release(t);
	return -ENOMEM;
}

int tnet_set_wtransform(struct tnet *t, tnet_wtransform_fn fn, void *ctx)
{
	const struct nhot_fnode *nd;
	uint32_t i;

	for (i = 0; i < t->net->node_count; i++) {
		nd = &t->net->nodes[i];
		if (!has_weights(nd))
			continue;
		if (fn && !t->eff_own[i]) {
			t->eff_own[i] = malloc((size_t)nd->out_c * nd->k * sizeof(float));
			if (!t->eff_own[i])
				return -ENOMEM;
		}
		t->eff[i] = fn ? t->eff_own[i] : nd->weights;
	}
	t->wtransform = fn;
	t->wtransform_ctx = ctx;
	return 0;
}

static void activate(float *y, size_t count, uint32_t act)
{
	size_t i;

	if (act == NHOT_FACT_NONE)
		return;
	for (i = 0; i < count; i++) {
		float v = y[i] > 0.0f ? y[i] : 0.0f;

		y[i] = act == NHOT_FACT_RELU6 && v > 6.0f ? 6.0f : v;
	}
}

/* d/d(pre-activation) from d/d(output), using the output: the gradient passes where it is not clamped. */
static void activate_backward(const float *y, float *dy, size_t count, uint32_t act)
{
	size_t i;

	if (act == NHOT_FACT_NONE)
		return;
	for (i = 0; i < count; i++)
		if (y[i] <= 0.0f || (act == NHOT_FACT_RELU6 && y[i] >= 6.0f))
			dy[i] = 0.0f;
}

void tnet_set_atransform(struct tnet *t, tnet_atransform_fn fn, void *ctx)
{
	t->atransform = fn;
	t->atransform_ctx = ctx;
}

int tnet_forward(struct tnet *t, const float *input, int batch)
{
	struct nhot_fnet *net = t->net;
	const struct nhot_fnode *nd;
	size_t count, j;
	uint32_t i;
	int ret;

	if (batch < 1 || batch > t->batch_cap || !input)
		return -EINVAL;
	t->batch = batch;
	if (t->wtransform) {
		for (i = 0; i < net->node_count; i++) {
			nd = &net->nodes[i];
			if (!has_weights(nd))
				continue;
			ret = t->wtransform(nd, nd->weights, t->eff[i], t->wtransform_ctx);
			if (ret)
				return ret;
		}
	}
	for (i = 0; i < net->node_count; i++) {
		nd = &net->nodes[i];
		count = (size_t)batch * nhot_fnode_elems(nd);
		switch (nd->op) {
		case NHOT_FOP_INPUT:
			memcpy(t->out[i], input, count * sizeof(float));
			break;
		case NHOT_FOP_CONV2D:
		case NHOT_FOP_FC:
			op_conv_forward(t, nd, &net->nodes[nd->in[0]], t->eff[i],
					t->out[nd->in[0]], t->out[i], batch);
			break;
		case NHOT_FOP_ADD:
			for (j = 0; j < count; j++)
				t->out[i][j] = t->out[nd->in[0]][j] + t->out[nd->in[1]][j];
			break;
		default:
			op_pool_forward(nd, &net->nodes[nd->in[0]], t->out[nd->in[0]],
					t->out[i], batch);
			break;
		}
		activate(t->out[i], count, nd->act);
		if (t->atransform)
			t->atransform(i, t->out[i], count, t->atransform_ctx);
	}
	return 0;
}

void tnet_zero_grad(struct tnet *t)
{
	const struct nhot_fnode *nd;
	uint32_t i;

	for (i = 0; i < t->net->node_count; i++) {
		nd = &t->net->nodes[i];
		if (!has_weights(nd))
			continue;
		memset(t->dw[i], 0, (size_t)nd->out_c * nd->k * sizeof(float));
		memset(t->db[i], 0, nd->out_c * sizeof(float));
	}
}

double tnet_softmax_xent(struct tnet *t, const uint8_t *labels, int *correct)
{
	uint32_t last = t->net->node_count - 1;
	size_t classes = nhot_fnode_elems(&t->net->nodes[last]), c;
	const float *z = t->out[last];
	float *dz = t->dout[last];
	double loss = 0.0, sum, max;
	int n, hits = 0;

	for (n = 0; n < t->batch; n++, z += classes, dz += classes) {
		size_t best = 0;

		for (c = 1; c < classes; c++)
			if (z[c] > z[best])
				best = c;
		hits += best == labels[n];
		max = z[best];
		sum = 0.0;
		for (c = 0; c < classes; c++)
			sum += exp(z[c] - max);
		loss += log(sum) - (z[labels[n]] - max);
		for (c = 0; c < classes; c++)
			dz[c] = (float)((exp(z[c] - max) / sum - (c == labels[n])) / t->batch);
	}
	if (correct)
		*correct = hits;
	return loss / t->batch;
}

void tnet_backward(struct tnet *t)
{
	struct nhot_fnet *net = t->net;
	const struct nhot_fnode *nd;
	size_t count, j;
	uint32_t i;
	int batch = t->batch;

	/* Every node but the last collects its gradient from its readers. */
	for (i = 0; i + 1 < net->node_count; i++)
		memset(t->dout[i], 0, (size_t)batch * nhot_fnode_elems(&net->nodes[i]) * sizeof(float));
	for (i = net->node_count - 1; i > 0; i--) {
		nd = &net->nodes[i];
		count = (size_t)batch * nhot_fnode_elems(nd);
		activate_backward(t->out[i], t->dout[i], count, nd->act);
		switch (nd->op) {
		case NHOT_FOP_CONV2D:
		case NHOT_FOP_FC:
			/* Nothing needs the gradient of the input image. */
			op_conv_backward(t, nd, &net->nodes[nd->in[0]], t->eff[i],
					 t->out[nd->in[0]], t->dout[i], t->dw[i], t->db[i],
					 nd->in[0] ? t->dout[nd->in[0]] : NULL, batch);
			break;
		case NHOT_FOP_ADD:
			for (j = 0; j < count; j++) {
				t->dout[nd->in[0]][j] += t->dout[i][j];
				t->dout[nd->in[1]][j] += t->dout[i][j];
			}
			break;
		default:
			op_pool_backward(nd, &net->nodes[nd->in[0]], t->out[nd->in[0]],
					 t->dout[i], t->dout[nd->in[0]], batch);
			break;
		}
	}
}

void tnet_predict(const struct tnet *t, int *labels)
{
	uint32_t last = t->net->node_count - 1;
	size_t classes = nhot_fnode_elems(&t->net->nodes[last]), c;
	const float *z = t->out[last];
	int n;

	for (n = 0; n < t->batch; n++, z += classes) {
		size_t best = 0;

		for (c = 1; c < classes; c++)
			if (z[c] > z[best])
				best = c;
		labels[n] = (int)best;
	}
}
