/* SPDX-License-Identifier: MIT */
/* Adam with decoupled weight decay (AdamW) over the parameters of a tnet. */
#ifndef NHOT_TRAIN_ADAM_H
#define NHOT_TRAIN_ADAM_H

#include "tnet.h"

struct adam {
	struct tnet *t;
	float **mw, **vw, **mb, **vb;	/* moments per weighted node */
	double beta1, beta2, eps, weight_decay;
	long step;
};

/* 0, -ENOMEM. */
int adam_init(struct adam *a, struct tnet *t, double weight_decay);
void adam_release(struct adam *a);

/* One update of every weight and bias from the gradients in t, learning rate lr. */
void adam_step(struct adam *a, double lr);

#endif
