/* SPDX-License-Identifier: MIT */
/*
 * Fake quantization of activations for fine-tuning: every node's output
 * rounded onto the uint8 grid nhot-quant quantize gives it (min/max
 * calibration over the same training images, the same scale, zero point
 * and activation clamp), back in real units.
 */
#ifndef NHOT_TRAIN_FAKEQUANT_ACT_H
#define NHOT_TRAIN_FAKEQUANT_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"
#include "nhot_fmodel.h"
#include "tnet.h"

/* nhot-quant quantize's default: calibration images spread over the training set. */
#define FQ_CALIB_IMAGES	1000

/** One node's output grid: real = (q - zero) * scale, q in qmin..qmax. */
struct fq_act_grid {
	float lo, hi;		/* calibrated range, always holding 0 */
	double scale;
	int zero, qmin, qmax;
};

/**
 * struct fq_acts - the activation grids of a network
 * @net: the network (not owned)
 * @grids: per node; node 0 (the input) is pixel / 255 and never rounded
 * @calib: @calib_count images (NHWC floats), owned
 * @t: the float passes of the calibration (master weights, no hook)
 */
struct fq_acts {
	const struct nhot_fnet *net;
	struct tnet t;
	struct fq_act_grid *grids;
	float *calib;
	unsigned int calib_count;
};

/*
 * Takes nhot-quant's calibration images from train (image i * count /
 * FQ_CALIB_IMAGES, or all when fewer) and calibrates. 0, -EINVAL, -ENOMEM,
 * or the forward pass's error.
 */
int fq_acts_init(struct fq_acts *a, struct nhot_fnet *net, const struct dataset *train);
void fq_acts_release(struct fq_acts *a);

/*
 * The grids for the network's current weights: min/max of each node's
 * float output (no rounding) over the calibration images, as nhot-quant
 * calibrates, pools keeping their input's grid. 0 or -ENOMEM.
 */
int fq_acts_calibrate(struct fq_acts *a);

/* Rounds count outputs of node (after its activation) onto its grid in place. */
void fq_acts_apply(const struct fq_acts *a, uint32_t node, float *y, size_t count);

/* fq_acts_apply() as the trainer's activation hook (tnet_set_atransform(), ctx: the fq_acts). */
void fq_acts_transform(uint32_t node, float *y, size_t count, void *ctx);

/* fq_acts_calibrate() as train_network()'s refresh hook (ctx: the fq_acts). */
int fq_acts_refresh(void *ctx);

#endif
