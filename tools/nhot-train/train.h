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

/*
 * Trains net in place on the first o->limit (0: all) images of train with
 * o's epochs, batch, learning rate, weight decay, seed (shuffling and flips)
 * and augmentation, reporting each epoch on stderr with the accuracy on test.
 * hook (may be NULL) is the weight transform of tnet_set_wtransform(): with
 * it the passes see transformed weights and the updates go to the master
 * weights (straight-through), which is how a fake-quantization fine-tuning
 * command reuses this loop on a loaded model. 0, or a negative errno after
 * a message on stderr (-ERANGE: the loss diverged).
 */
int train_network(const struct train_opts *o, struct nhot_fnet *net,
		  const struct dataset *train, const struct dataset *test,
		  tnet_wtransform_fn hook, void *hook_ctx);

/* Both print progress on stderr and return 0, or 1 after printing why they failed. */
int train_run(const struct train_opts *o);
int eval_run(const struct eval_opts *o);

#endif
