/* SPDX-License-Identifier: MIT */
/* The network nhot-train trains: a small MobileNet-v2 for 28 x 28 x 1 images. */
#ifndef NHOT_TRAIN_ARCH_H
#define NHOT_TRAIN_ARCH_H

#include <stdint.h>

#include "nhot_fmodel.h"

/*
 * Builds the network for in_h x in_w x 1 images and classes outputs, with
 * weights drawn from seed (He-normal for layers followed by ReLU6, LeCun-normal
 * for linear ones; biases 0). 0, -EINVAL, -ENOMEM.
 */
int arch_mobilenet_build(uint32_t in_h, uint32_t in_w, uint32_t classes, uint64_t seed,
			 struct nhot_fnet **net);

#endif
