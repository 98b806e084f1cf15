// SPDX-License-Identifier: MIT
/*
 * The training loop (minibatch AdamW, softmax cross-entropy, cosine learning
 * rate) and the evaluation of a saved model. Everything random comes from the
 * seed, and OpenBLAS runs a fixed number of threads, so a seed gives the same
 * model file byte for byte.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "nhot_private.h"

#include "adam.h"
#include "arch.h"
#include "idx.h"
#include "rng.h"
#include "tnet.h"
#include "train.h"

#define NUM_CLASSES	10
#define EVAL_BATCH	250

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The loop of a plain float training run. */
static const struct train_hooks float_training = {
	.who = "nhot-train", .what = "training", .test_label = "test-acc",
};

int train_load_set(const char *who, const char *dir, const char *prefix, struct dataset *ds)
{
	char err[512];
	int ret = dataset_load(dir, prefix, ds, err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s: %s\n", who, err);
	return ret;
}

int train_accuracy(struct tnet *t, const struct dataset *ds, size_t count, size_t *hits)
{
	size_t pix = (size_t)ds->rows * ds->cols, i, j;
	int labels[EVAL_BATCH], ret;

	*hits = 0;
	for (i = 0; i < count; i += EVAL_BATCH) {
		int b = (int)(count - i < EVAL_BATCH ? count - i : EVAL_BATCH);

		ret = tnet_forward(t, ds->images + i * pix, b);
		if (ret)
			return ret;
		tnet_predict(t, labels);
		for (j = 0; j < (size_t)b; j++)
			*hits += labels[j] == ds->labels[i + j];
	}
	return 0;
}

/* The same with libnhot's reference forward pass. */
static int accuracy_reference(const struct nhot_fnet *net, const struct dataset *ds,
			      size_t count, size_t *hits)
{
	size_t pix = (size_t)ds->rows * ds->cols, i, j;
	int labels[EVAL_BATCH], ret;

	*hits = 0;
	for (i = 0; i < count; i += EVAL_BATCH) {
		int b = (int)(count - i < EVAL_BATCH ? count - i : EVAL_BATCH);

		ret = nhot_fnet_classify(net, ds->images + i * pix, b, labels, NULL);
		if (ret)
			return ret;
		for (j = 0; j < (size_t)b; j++)
			*hits += labels[j] == ds->labels[i + j];
	}
	return 0;
}

/* Copies the images of idx[0..b) into x (flipped left-right at random when augmenting). */
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

/** What one run of the epochs works with (owned by train_network()). */
struct train_run {
	struct tnet t;
	struct adam a;
	size_t *idx;
	float *x;
	uint8_t *labels;
	size_t count, test_count;
};

static int refresh_due(const struct train_hooks *h, long step)
{
	return h->refresh && step % h->refresh_steps == 0;
}

/* Runs the epochs. */
static int train_epochs(const struct train_opts *o, const struct train_hooks *h,
			struct train_run *run, const struct dataset *train,
			const struct dataset *test)
{
	long steps_per_epoch = (long)((run->count + o->batch - 1) / o->batch);
	long total = steps_per_epoch * o->epochs, step = 0;
	struct rng r = { o->seed ^ 0x5DEECE66Dull };
	size_t count = run->count, i, hits, test_hits;
	double t0, loss_sum;
	int e, correct, ret;

	for (i = 0; i < count; i++)
		run->idx[i] = i;
	for (e = 0; e < o->epochs; e++) {
		t0 = now();
		shuffle(run->idx, count, &r);
		loss_sum = 0.0;
		hits = 0;
		for (i = 0; i < count; i += o->batch, step++) {
			int b = (int)(count - i < (size_t)o->batch ? count - i : (size_t)o->batch);
			double lr = o->lr * 0.5 * (1.0 + cos(M_PI * step / total));
			double loss;

			if (refresh_due(h, step)) {
				ret = h->refresh(h->refresh_ctx);
				if (ret)
					return ret;
			}
			gather(train, run->idx + i, b, o->augment, &r, run->x, run->labels);
			ret = tnet_forward(&run->t, run->x, b);
			if (ret)
				return ret;
			loss = tnet_softmax_xent(&run->t, run->labels, &correct);
			if (!isfinite(loss)) {
				fprintf(stderr, "%s: %s diverged at epoch %d (loss %g); "
					"try a smaller --lr\n", h->who, h->what, e + 1, loss);
				return -ERANGE;
			}
			loss_sum += loss * b;
			hits += correct;
			tnet_zero_grad(&run->t);
			tnet_backward(&run->t);
			adam_step(&run->a, lr);
		}
		ret = h->refresh ? h->refresh(h->refresh_ctx) : 0;
		if (!ret)
			ret = train_accuracy(&run->t, test, run->test_count, &test_hits);
		if (ret)
			return ret;
		fprintf(stderr, "epoch %d/%d: loss %.4f train-acc %.2f%% %s %.2f%% (%.1f s)\n",
			e + 1, o->epochs, loss_sum / count, 100.0 * hits / count, h->test_label,
			100.0 * test_hits / run->test_count, now() - t0);
	}
	return 0;
}

int train_network(const struct train_opts *o, struct nhot_fnet *net,
		  const struct dataset *train, const struct dataset *test, size_t test_count,
		  const struct train_hooks *hooks)
{
	const struct train_hooks *h = hooks ? hooks : &float_training;
	struct train_run run = { 0 };
	int ret;

	run.count = o->limit && (size_t)o->limit < train->count ? (size_t)o->limit : train->count;
	run.test_count = test_count < test->count ? test_count : test->count;
	run.idx = malloc(run.count * sizeof(*run.idx));
	run.x = malloc((size_t)o->batch * train->rows * train->cols * sizeof(float));
	run.labels = malloc(o->batch);
	ret = tnet_init(&run.t, net, o->batch < EVAL_BATCH ? EVAL_BATCH : o->batch);
	if (!ret && h->wtransform)
		ret = tnet_set_wtransform(&run.t, h->wtransform, h->wtransform_ctx);
	if (!ret && (h->refresh && h->refresh_steps < 1))
		ret = -EINVAL;
	if (!ret)
		ret = adam_init(&run.a, &run.t, o->weight_decay);
	if (!ret && (!run.idx || !run.x || !run.labels))
		ret = -ENOMEM;
	if (ret) {
		fprintf(stderr, "%s: cannot set up %s: %s\n", h->who, h->what, strerror(-ret));
		goto out;
	}
	tnet_set_atransform(&run.t, h->atransform, h->atransform_ctx);
	fprintf(stderr, "%s on %zu images, %d epoch(s), batch %d, seed %llu, %d thread(s)\n",
		h->what, run.count, o->epochs, o->batch, (unsigned long long)o->seed, o->threads);
	ret = train_epochs(o, h, &run, train, test);
	if (ret && ret != -ERANGE)	/* -ERANGE: divergence, already explained */
		fprintf(stderr, "%s: %s failed: %s\n", h->who, h->what, strerror(-ret));
out:
	adam_release(&run.a);
	tnet_release(&run.t);
	free(run.labels);
	free(run.x);
	free(run.idx);
	return ret;
}

int train_run(const struct train_opts *o)
{
	struct dataset train = { 0 }, test = { 0 };
	char err[NHOT_PRIVATE_ERR_LEN];
	struct nhot_fnet *net = NULL;
	double t0 = now();
	int ret, status = 1;

	openblas_set_num_threads(o->threads);
	/* -o /dev/full and the like: refused now, not after the training. */
	if (nhot_file_check_target(o->out_path, err, sizeof(err))) {
		fprintf(stderr, "nhot-train: cannot write %s\n", err);
		return 1;
	}
	if (train_load_set("nhot-train", o->data_dir, "train", &train) ||
	    train_load_set("nhot-train", o->data_dir, "t10k", &test))
		goto out;
	if (train.rows != test.rows || train.cols != test.cols) {
		fprintf(stderr, "nhot-train: training images are %ux%u, test images %ux%u\n",
			train.rows, train.cols, test.rows, test.cols);
		goto out;
	}
	ret = arch_mobilenet_build(train.rows, train.cols, NUM_CLASSES, o->seed, &net);
	if (ret) {
		fprintf(stderr, "nhot-train: cannot build the network: %s\n", strerror(-ret));
		goto out;
	}
	/* The epochs' test runs on as many images as they train on. */
	if (train_network(o, net, &train, &test, o->limit ? (size_t)o->limit : test.count, NULL))
		goto out;
	ret = nhot_fnet_save_err(net, o->out_path, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nhot-train: cannot write %s\n", err);
		goto out;
	}
	fprintf(stderr, "wrote %s (%.1f s in all)\n", o->out_path, now() - t0);
	status = 0;
out:
	nhot_fnet_free(net);
	dataset_free(&test);
	dataset_free(&train);
	return status;
}

int eval_run(const struct eval_opts *o)
{
	struct dataset test = { 0 };
	struct nhot_fnet *net = NULL;
	const struct nhot_fnode *in, *last;
	char err[NHOT_PRIVATE_ERR_LEN];
	struct tnet t = { 0 };
	size_t count, hits = 0;
	int ret, status = 1;

	openblas_set_num_threads(o->threads);
	ret = nhot_fnet_load_err(o->model_path, &net, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nhot-train: cannot load %s\n", err);
		return 1;
	}
	if (train_load_set("nhot-train", o->data_dir, "t10k", &test))
		goto out;
	in = &net->nodes[0];
	last = &net->nodes[net->node_count - 1];
	if (in->out_h != test.rows || in->out_w != test.cols || in->out_c != 1 ||
	    nhot_fnode_elems(last) != NUM_CLASSES) {
		fprintf(stderr, "nhot-train: %s takes %ux%ux%u images to %zu outputs, the data set "
			"has %ux%ux1 images of %d classes\n", o->model_path, in->out_h, in->out_w,
			in->out_c, nhot_fnode_elems(last), test.rows, test.cols, NUM_CLASSES);
		goto out;
	}
	count = o->limit && (size_t)o->limit < test.count ? (size_t)o->limit : test.count;
	if (o->reference) {
		ret = accuracy_reference(net, &test, count, &hits);
	} else {
		ret = tnet_init(&t, net, EVAL_BATCH);
		if (!ret)
			ret = train_accuracy(&t, &test, count, &hits);
	}
	if (ret) {
		fprintf(stderr, "nhot-train: evaluation failed: %s\n", strerror(-ret));
		goto out;
	}
	printf("test accuracy: %.2f%% (%zu/%zu)\n", 100.0 * hits / count, hits, count);
	status = 0;
out:
	tnet_release(&t);
	nhot_fnet_free(net);
	dataset_free(&test);
	return status;
}
