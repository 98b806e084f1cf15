/* SPDX-License-Identifier: MIT */
/*
 * The fine-tuning loop: train_network()'s schedule (AdamW, cosine learning
 * rate, shuffling and flips from the seed) over a forward pass that
 * fake-quantizes weights and activations. train_network() cannot round
 * activations (its passes have a weight hook only), hence this loop.
 */
#ifndef NHOT_TRAIN_FINETUNE_LOOP_H
#define NHOT_TRAIN_FINETUNE_LOOP_H

#include "fakequant.h"
#include "fakequant_act.h"
#include "idx.h"
#include "tnet.h"
#include "train.h"

/*
 * t's forward pass with the weights through t's transform hook (if set) and
 * every node's output rounded onto acts' grids (acts may be NULL: float
 * activations). 0, -EINVAL, or the hook's error.
 */
int ft_forward(struct tnet *t, const float *input, int batch, const struct fq_acts *acts);

/* Correct top-1 answers of ft_forward() over the first count images of ds. */
int ft_accuracy(struct tnet *t, const struct dataset *ds, size_t count,
		const struct fq_acts *acts, size_t *hits);

/*
 * Fine-tunes net in place for o->epochs over the first o->limit (0: all)
 * training images with the weights on fw's set and the activations on acts'
 * grids (recalibrated as the weights move), straight-through gradients,
 * reporting each epoch on stderr with the fake-quantized accuracy on the
 * first test_count images of test. 0 or a negative errno after a message
 * on stderr.
 */
int ft_train(const struct train_opts *o, struct nhot_fnet *net, const struct dataset *train,
	     const struct dataset *test, size_t test_count, struct fq_weights *fw,
	     struct fq_acts *acts);

#endif
