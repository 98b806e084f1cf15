/* SPDX-License-Identifier: MIT */
/*
 * The training engine: forward and backward passes over a struct nhot_fnet,
 * batched, with OpenBLAS for the convolutions that are matrix products.
 *
 * The parameters live in the network's nodes (node->weights, node->bias):
 * what is trained is exactly what nhot_fnet_save() writes. Gradients are
 * kept beside them, per node.
 *
 * A weight transform hook lets a later fine-tuning mode (fake quantization)
 * run the passes on transformed weights: before each forward pass the hook
 * maps every weighted node's master weights to its effective weights; the
 * passes use the effective ones, and the weight gradients they produce are
 * applied to the master weights unchanged (the straight-through estimator).
 * An activation transform hook does the same for every node's output.
 */
#ifndef NHOT_TRAIN_TNET_H
#define NHOT_TRAIN_TNET_H

#include <stddef.h>
#include <stdint.h>

#include "nhot_fmodel.h"

/*
 * Maps node's master weights (out_c rows of k) to effective weights (same
 * shape). Returns 0 or a negative errno, which aborts the forward pass.
 */
typedef int (*tnet_wtransform_fn)(const struct nhot_fnode *node, const float *master,
				  float *effective, void *ctx);

/*
 * Rewrites count outputs y of node (after its activation) in place, e.g.
 * rounds them onto a quantization grid. The backward pass treats the
 * rewrite as the identity (straight-through).
 */
typedef void (*tnet_atransform_fn)(uint32_t node, float *y, size_t count, void *ctx);

struct tnet {
	struct nhot_fnet *net;		/* not owned */
	int batch_cap;			/* largest batch of the buffers */
	int batch;			/* batch of the last forward pass */
	float **out;			/* per node: batch_cap * elems outputs */
	float **dout;			/* per node: d loss / d output */
	float **dw;			/* per weighted node: out_c * k */
	float **db;			/* per weighted node: out_c */
	float **eff;			/* per weighted node: effective weights */
	float **eff_own;		/* eff buffers owned when a hook is set */
	float *wt;			/* transposed weights, direct convolutions */
	float *dwt;
	size_t wt_cap;
	float *cols, *dcols;		/* im2col scratch */
	size_t cols_cap;
	tnet_wtransform_fn wtransform;	/* NULL: effective = master */
	void *wtransform_ctx;
	tnet_atransform_fn atransform;	/* NULL: outputs as computed */
	void *atransform_ctx;
};

/* Sets up buffers for batches up to batch_cap. 0, -EINVAL, -ENOMEM. */
int tnet_init(struct tnet *t, struct nhot_fnet *net, int batch_cap);
void tnet_release(struct tnet *t);

/* Installs (or with fn = NULL removes) the weight transform hook. 0 or -ENOMEM. */
int tnet_set_wtransform(struct tnet *t, tnet_wtransform_fn fn, void *ctx);

/* Installs (or with fn = NULL removes) the activation transform hook. */
void tnet_set_atransform(struct tnet *t, tnet_atransform_fn fn, void *ctx);

/* Runs batch images (NHWC floats); outputs in t->out[i]. 0 or the hook's error. */
int tnet_forward(struct tnet *t, const float *input, int batch);

/* Zeroes the weight and bias gradients. */
void tnet_zero_grad(struct tnet *t);

/*
 * Softmax cross-entropy of the last node's output (the logits) against
 * labels, averaged over the batch of the last forward pass. Sets the last
 * node's dout to d loss / d logits; counts correct top-1 answers in *correct
 * (may be NULL). Returns the mean loss.
 */
double tnet_softmax_xent(struct tnet *t, const uint8_t *labels, int *correct);

/*
 * Back-propagates from the last node's dout (set by tnet_softmax_xent() or
 * by the caller) and ADDS the parameter gradients into dw and db.
 */
void tnet_backward(struct tnet *t);

/* Argmax of the last node's output for each image of the last forward pass. */
void tnet_predict(const struct tnet *t, int *labels);

#endif
