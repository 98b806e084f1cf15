/* SPDX-License-Identifier: MIT */
/* The train and eval commands of nhot-train. */
#ifndef NHOT_TRAIN_TRAIN_H
#define NHOT_TRAIN_TRAIN_H

#include <stdint.h>

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

/* Both print progress on stderr and return 0, or 1 after printing why they failed. */
int train_run(const struct train_opts *o);
int eval_run(const struct eval_opts *o);

#endif
