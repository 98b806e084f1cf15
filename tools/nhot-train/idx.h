/* SPDX-License-Identifier: MIT */
/* Reading the gzipped IDX files of MNIST-style data sets. */
#ifndef NHOT_TRAIN_IDX_H
#define NHOT_TRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

/** A labelled image set: count images of rows x cols, pixel / 255, NHWC with C = 1. */
struct dataset {
	size_t count;
	uint32_t rows, cols;
	float *images;		/* count * rows * cols */
	uint8_t *labels;	/* count, each < 10 */
};

/*
 * Loads DIR/PREFIX-images-idx3-ubyte.gz and DIR/PREFIX-labels-idx1-ubyte.gz
 * (prefix "train" or "t10k"). 0, or a negative errno with a message in err
 * (-ENOENT missing file, -EBADMSG malformed or inconsistent file, -ENOMEM).
 */
int dataset_load(const char *dir, const char *prefix, struct dataset *ds,
		 char *err, size_t err_len);
void dataset_free(struct dataset *ds);

#endif
