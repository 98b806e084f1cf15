/* SPDX-License-Identifier: MIT */
/* The train and eval commands of nhot-train. */
#ifndef NHOT_TRAIN_TRAIN_H
#define NHOT_TRAIN_TRAIN_H

#include <stdint.h>

#include "idx.h"
#include "tnet.h"

struct train_opts {
	const char *data_dir;
	const char *out_path;
	int epochs;
	uint64_t seed;
	int batch;
	double lr;		/* peak learning rate (cosine decay to 0) */
	double weight_decay;
	int threads;		/* OpenBLAS threads; part of what makes a run reproducible */
	long limit;		/* use only the first limit images of each set; 0: all */
	int augment;		/* random horizontal flips */
};

struct eval_opts {
	const char *data_dir;
	const char *model_path;
	int threads;
	long limit;		/* evaluate only the first limit test images; 0: all */
	int reference;		/* run libnhot's plain forward pass instead of the trainer's */
};

/**
 * struct train_hooks - what a caller changes in train_network()'s loop
 * @wtransform: weight transform of the passes (tnet_set_wtransform()), or NULL
 * @wtransform_ctx: its context
 * @atransform: activation transform of the passes (tnet_set_atransform()), or NULL
 * @atransform_ctx: its context
 * @refresh: called before every @refresh_steps-th step (from the first) and
 *	before each epoch's test, e.g. to recalibrate activation grids as the
 *	weights move; 0 or a negative errno, which stops the training. May be NULL.
 * @refresh_ctx: its context
 * @refresh_steps: steps between two calls of @refresh (> 0 when it is set)
 * @who: the prefix of the error messages ("nhot-train finetune")
 * @what: the noun of the progress and error lines ("fine-tuning")
 * @test_label: what the epoch lines call the test accuracy
 */
struct train_hooks {
	tnet_wtransform_fn wtransform;
	void *wtransform_ctx;
	tnet_atransform_fn atransform;
	void *atransform_ctx;
	int (*refresh)(void *ctx);
	void *refresh_ctx;
	long refresh_steps;
	const char *who, *what, *test_label;
};

/*
 * Trains net in place on the first o->limit (0: all) images of train with
 * o's epochs, batch, learning rate, weight decay, seed (shuffling and flips)
 * and augmentation, reporting each epoch on stderr with the accuracy on the
 * first test_count images of test. hooks (NULL: plain float training)
 * transform the passes' weights and activations: the passes see the
 * transformed values and the updates go to the master weights
 * (straight-through), which is how fake-quantization fine-tuning reuses
 * this loop on a loaded model. 0, or a negative errno after a message on
 * stderr (-ERANGE: the loss diverged).
 */
int train_network(const struct train_opts *o, struct nhot_fnet *net,
		  const struct dataset *train, const struct dataset *test, size_t test_count,
		  const struct train_hooks *hooks);

/*
 * Correct top-1 answers of t's forward pass (with t's hooks) over the first
 * count images of ds. 0 or the forward pass's error.
 */
int train_accuracy(struct tnet *t, const struct dataset *ds, size_t count, size_t *hits);

/* Loads the prefix ("train", "t10k") set of dir; 0, or an errno after a "who: why" line on stderr. */
int train_load_set(const char *who, const char *dir, const char *prefix, struct dataset *ds);

/* Both print progress on stderr and return 0, or 1 after printing why they failed. */
int train_run(const struct train_opts *o);
int eval_run(const struct eval_opts *o);

#endif
