// SPDX-License-Identifier: MIT
/*
 * The fine-tuning loop (finetune_loop.h). The backward pass is the
 * trainer's own: it runs on the stored, rounded outputs, so the rounding is
 * passed straight through (its clamps at 0 and 6 still stop the gradient,
 * as ReLU and ReLU6 do), and on the effective weights, whose gradient goes
 * to the master weights.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adam.h"
#include "finetune_loop.h"
#include "rng.h"
#include "tnet_ops.h"

#define EVAL_BATCH	250
/*
 * Steps between two calibrations of the activation ranges: a calibration is
 * a float forward pass over 1000 images, and the ranges drift slowly.
 */
#define RECALIB_STEPS	200

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The float activation, as the trainer applies it. */
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

int ft_forward(struct tnet *t, const float *input, int batch, const struct fq_acts *acts)
{
	struct nhot_fnet *net = t->net;
	const struct nhot_fnode *nd;
	size_t count, j;
	uint32_t i;
	int ret;

	if (batch < 1 || batch > t->batch_cap || !input)
		return -EINVAL;
	t->batch = batch;
	for (i = 0; t->wtransform && i < net->node_count; i++) {
		nd = &net->nodes[i];
		if (nd->op != NHOT_FOP_CONV2D && nd->op != NHOT_FOP_FC)
			continue;
		ret = t->wtransform(nd, nd->weights, t->eff[i], t->wtransform_ctx);
		if (ret)
			return ret;
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
		if (acts)
			fq_acts_apply(acts, i, t->out[i], count);
	}
	return 0;
}

int ft_accuracy(struct tnet *t, const struct dataset *ds, size_t count,
		const struct fq_acts *acts, size_t *hits)
{
	size_t pix = (size_t)ds->rows * ds->cols, i, j;
	int labels[EVAL_BATCH], ret;

	*hits = 0;
	for (i = 0; i < count; i += EVAL_BATCH) {
		int b = (int)(count - i < EVAL_BATCH ? count - i : EVAL_BATCH);

		ret = ft_forward(t, ds->images + i * pix, b, acts);
		if (ret)
			return ret;
		tnet_predict(t, labels);
		for (j = 0; j < (size_t)b; j++)
			*hits += labels[j] == ds->labels[i + j];
	}
	return 0;
}

/* train.c's gather(): idx[0..b) into x, flipped left-right at random when augmenting. */
static void gather(const struct dataset *ds, const size_t *idx, int b, int augment,
		   struct rng *r, float *x, uint8_t *labels)
{
	size_t pix = (size_t)ds->rows * ds->cols;
	uint32_t y, c;
	int i;

	for (i = 0; i < b; i++) {
		const float *src = ds->images + idx[i] * pix;
		float *dst = x + (size_t)i * pix;

		labels[i] = ds->labels[idx[i]];
		if (!augment || !(rng_next(r) & 1)) {
			memcpy(dst, src, pix * sizeof(float));
			continue;
		}
		for (y = 0; y < ds->rows; y++)
			for (c = 0; c < ds->cols; c++)
				dst[y * ds->cols + c] = src[y * ds->cols + ds->cols - 1 - c];
	}
}

static void shuffle(size_t *idx, size_t count, struct rng *r)
{
	size_t i, j, tmp;

	for (i = count - 1; i > 0; i--) {
		j = rng_below(r, i + 1);
		tmp = idx[i];
		idx[i] = idx[j];
		idx[j] = tmp;
	}
}

/** What one run of the epochs works with (owned by ft_train()). */
struct ft_run {
	struct tnet t;
	struct adam a;
	size_t *idx;
	float *x;
	uint8_t *labels;
	size_t count, test_count;
};

static int ft_epochs(const struct train_opts *o, struct ft_run *run, const struct dataset *train,
		     const struct dataset *test, struct fq_acts *acts)
{
	long steps_per_epoch = (long)((run->count + o->batch - 1) / o->batch);
	long total = steps_per_epoch * o->epochs, step = 0;
	struct rng r = { o->seed ^ 0x5DEECE66Dull };
	size_t i, hits, test_hits;
	double t0, loss_sum, loss, lr;
	int e, b, correct, ret;

	for (i = 0; i < run->count; i++)
		run->idx[i] = i;
	for (e = 0; e < o->epochs; e++) {
		t0 = now();
		shuffle(run->idx, run->count, &r);
		loss_sum = 0.0;
		hits = 0;
		for (i = 0; i < run->count; i += o->batch, step++) {
			b = (int)(run->count - i < (size_t)o->batch ? run->count - i : (size_t)o->batch);
			lr = o->lr * 0.5 * (1.0 + cos(M_PI * step / total));
			if (step % RECALIB_STEPS == 0) {
				ret = fq_acts_calibrate(acts);
				if (ret)
					return ret;
			}
			gather(train, run->idx + i, b, o->augment, &r, run->x, run->labels);
			ret = ft_forward(&run->t, run->x, b, acts);
			if (ret)
				return ret;
			loss = tnet_softmax_xent(&run->t, run->labels, &correct);
			if (!isfinite(loss)) {
				fprintf(stderr, "nhot-train finetune: diverged at epoch %d (loss %g); "
					"try a smaller --lr\n", e + 1, loss);
				return -ERANGE;
			}
			loss_sum += loss * b;
			hits += correct;
			tnet_zero_grad(&run->t);
			tnet_backward(&run->t);
			adam_step(&run->a, lr);
		}
		ret = fq_acts_calibrate(acts);
		if (!ret)
			ret = ft_accuracy(&run->t, test, run->test_count, acts, &test_hits);
		if (ret)
			return ret;
		fprintf(stderr, "epoch %d/%d: loss %.4f train-acc %.2f%% fake-quant test-acc %.2f%% "
			"(%.1f s)\n", e + 1, o->epochs, loss_sum / run->count,
			100.0 * hits / run->count, 100.0 * test_hits / run->test_count, now() - t0);
	}
	return 0;
}

int ft_train(const struct train_opts *o, struct nhot_fnet *net, const struct dataset *train,
	     const struct dataset *test, size_t test_count, struct fq_weights *fw,
	     struct fq_acts *acts)
{
	struct ft_run run = { 0 };
	int ret;

	run.count = o->limit && (size_t)o->limit < train->count ? (size_t)o->limit : train->count;
	run.test_count = test_count < test->count ? test_count : test->count;
	run.idx = malloc(run.count * sizeof(*run.idx));
	run.x = malloc((size_t)o->batch * train->rows * train->cols * sizeof(float));
	run.labels = malloc(o->batch);
	ret = tnet_init(&run.t, net, o->batch < EVAL_BATCH ? EVAL_BATCH : o->batch);
	if (!ret)
		ret = tnet_set_wtransform(&run.t, fq_weights_transform, fw);
	if (!ret)
		ret = adam_init(&run.a, &run.t, o->weight_decay);
	if (!ret && (!run.idx || !run.x || !run.labels))
		ret = -ENOMEM;
	if (ret) {
		fprintf(stderr, "nhot-train finetune: cannot set up training: %s\n", strerror(-ret));
		goto out;
	}
	fprintf(stderr, "fine-tuning on %zu images, %d epoch(s), batch %d, seed %llu\n",
		run.count, o->epochs, o->batch, (unsigned long long)o->seed);
	ret = ft_epochs(o, &run, train, test, acts);
	if (ret && ret != -ERANGE)	/* -ERANGE: divergence, already explained */
		fprintf(stderr, "nhot-train finetune: fine-tuning failed: %s\n", strerror(-ret));
out:
	adam_release(&run.a);
	tnet_release(&run.t);
	free(run.labels);
	free(run.x);
	free(run.idx);
	return ret;
}
