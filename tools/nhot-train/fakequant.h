/* SPDX-License-Identifier: MIT */
/*
 * Fake quantization of weights for fine-tuning: the weight transform hook
 * (tnet_set_wtransform()) that replaces each output channel's weights by
 * s * q, q in S(n, b), as nhot-quant quantize quantizes them.
 */
#ifndef NHOT_TRAIN_FAKEQUANT_H
#define NHOT_TRAIN_FAKEQUANT_H

#include <stddef.h>
#include <stdint.h>

#include "nhot.h"
#include "nhot_fmodel.h"

/**
 * struct fq_weights - the hook's state
 * @n: terms of the set S(n, b) (uniform b-bit is n = 4, PoT n = 1)
 * @b: bits of the set
 * @refresh: forward passes between two scale searches of a node (1: every
 *	pass); the scales move slowly while the codes follow every step
 * @net: the network the hook serves (not owned)
 * @scales: per node (NULL for nodes without weights), out_c scales
 * @passes: per node, forward passes seen
 * @set: S(n, b) ascending, @set_size values
 */
struct fq_weights {
	int n, b;
	int refresh;
	const struct nhot_fnet *net;
	double **scales;
	long *passes;
	int16_t set[NHOT_SET_MAX];
	int set_size;
};

/* 0, -EINVAL (bad n, b, refresh or network), -ENOMEM. */
int fq_weights_init(struct fq_weights *fq, const struct nhot_fnet *net, int n, int b,
		    int refresh);
void fq_weights_release(struct fq_weights *fq);

/*
 * The codes round_S(w[i] / scale) of docs/arith.md 1.2 (what nhot_round()
 * gives, over the prebuilt set) into q. w finite, scale > 0.
 */
void fq_weights_codes(const struct fq_weights *fq, const float *w, size_t count,
		      double scale, int8_t *q);

/*
 * A tnet_wtransform_fn (ctx: struct fq_weights set up for node's network):
 * per output channel, effective = scale * code with the scale of
 * nhot_choose_scale() (searched again every fq->refresh passes, and on the
 * first) and the codes of the current master weights. 0, -EINVAL
 * (non-finite weights, a node of another network), -ENOMEM.
 */
int fq_weights_transform(const struct nhot_fnode *node, const float *master,
			 float *effective, void *ctx);

#endif
